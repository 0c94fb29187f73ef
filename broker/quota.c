/* quota.c — publish rate and storage quota per agency (see quota.h). */
#include "quota.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/log.h"

#define S_HOUR_MS 3600000

typedef struct s_agency {
    const char *id;                  /* borrowed from the document */
    vg_limits lim;                   /* its limits */
    int64_t tokens_milli;            /* publishes it may make now, x1000 */
    int64_t refilled;                /* when tokens were topped up (monotonic ms) */
    int64_t hour[VGB_QUOTA_HOURS];   /* the hour each slot counts (wall ms / 1h) */
    uint64_t bytes[VGB_QUOTA_HOURS]; /* envelope bytes accepted in that hour */
} s_agency;

struct vgb_quota {
    s_agency *a; /* one per agency */
    size_t n;    /* count */
};

static void
s_add_bytes(s_agency *a, int64_t hour, uint64_t bytes)
{
    s_agency *x = a;
    size_t slot = (size_t)(hour % VGB_QUOTA_HOURS);
    if (x->hour[slot] != hour) { /* a slot of an hour 24 hours ago: starts again */
        x->hour[slot] = hour;
        x->bytes[slot] = 0;
    }
    x->bytes[slot] += bytes;
}

static void
s_load_hour(void *ctx, int64_t hour, uint64_t bytes)
{
    s_add_bytes(ctx, hour, bytes);
}

vg_err
vgb_quota_new(vgb_quota **out, vgb_store *store, const vg_netdoc *doc, int64_t now_wall,
              int64_t now_mono, vg_reason *why)
{
    vgb_quota *q = calloc(1, sizeof *q);
    size_t n = vg_netdoc_n_agencies(doc);
    if (q == NULL || (q->a = calloc(n + 1, sizeof *q->a)) == NULL) {
        free(q);
        return VG_ERR_NOMEM;
    }
    q->n = n;
    vg_err rc = VG_OK;
    for (size_t i = 0; i < n && rc == VG_OK; i++) {
        vg_agency ag;
        vg_netdoc_agency_at(doc, i, &ag);
        s_agency *a = &q->a[i];
        a->id = ag.id;
        a->lim = vg_netdoc_limits(doc, ag.id);
        a->tokens_milli = (int64_t)a->lim.publish_burst * 1000;
        a->refilled = now_mono;
        for (size_t h = 0; h < VGB_QUOTA_HOURS; h++) {
            a->hour[h] = -1;
        }
        rc = vgb_store_sender_bytes(store, ag.id, now_wall - (int64_t)VGB_QUOTA_HOURS * S_HOUR_MS,
                                    S_HOUR_MS, s_load_hour, a);
    }
    if (rc != VG_OK) {
        vgb_quota_destroy(&q);
        return vg_reason_set(why, rc, "cannot read what each agency has stored");
    }
    *out = q;
    return VG_OK;
}

void
vgb_quota_destroy(vgb_quota **q_p)
{
    if (q_p == NULL || *q_p == NULL) {
        return;
    }
    free((*q_p)->a);
    free(*q_p);
    *q_p = NULL;
}

/* Envelope bytes of the last 24 hours (the current hour included). */
static uint64_t
s_day_bytes(const s_agency *a, int64_t now_hour)
{
    uint64_t sum = 0;
    for (size_t h = 0; h < VGB_QUOTA_HOURS; h++) {
        if (a->hour[h] > now_hour - VGB_QUOTA_HOURS && a->hour[h] <= now_hour) {
            sum += a->bytes[h];
        }
    }
    return sum;
}

vg_err
vgb_quota_take(vgb_quota *q, size_t idx, size_t bytes, int64_t now_wall, int64_t now_mono,
               vg_reason *why)
{
    if (idx >= q->n) {
        return VG_OK;
    }
    s_agency *a = &q->a[idx];
    int64_t per_min = a->lim.publish_per_minute, burst = (int64_t)a->lim.publish_burst * 1000;
    int64_t grown = (now_mono - a->refilled) * per_min / 60; /* milli-publishes */
    if (grown > 0) {
        a->tokens_milli = a->tokens_milli + grown > burst ? burst : a->tokens_milli + grown;
        a->refilled = now_mono;
    }
    if (a->tokens_milli < 1000) {
        int64_t wait_ms = per_min > 0 ? (1000 - a->tokens_milli) * 60 / per_min + 1 : 60000;
        return vg_reason_set(why, VG_ERR_RATE_LIMITED,
                             "%s publishes faster than the network allows (%u a minute, %u at "
                             "once): the alert stays in the outbox and is sent again; next "
                             "accepted in about %lld ms",
                             a->id, a->lim.publish_per_minute, a->lim.publish_burst,
                             (long long)wait_ms);
    }
    int64_t hour = now_wall / S_HOUR_MS;
    uint64_t day = s_day_bytes(a, hour);
    if (day + bytes > a->lim.stored_bytes_per_day) {
        char lim[32];
        vg_size_format(lim, sizeof lim, a->lim.stored_bytes_per_day);
        vg_log(VG_LOG_WARN, "broker", "quota.exceeded", "agency=%s stored_24h=%llu limit=%llu",
               a->id, (unsigned long long)day, (unsigned long long)a->lim.stored_bytes_per_day);
        return vg_reason_set(why, VG_ERR_QUOTA_EXCEEDED,
                             "%s has had %llu bytes of alerts stored in the last 24 hours and "
                             "the network allows %s: the alert stays in the outbox and is sent "
                             "again as the window moves; ask the administrator if the limit is "
                             "too low",
                             a->id, (unsigned long long)day, lim);
    }
    a->tokens_milli -= 1000;
    s_add_bytes(a, hour, bytes);
    return VG_OK;
}

vg_err
vgb_quota_renew(vgb_quota *q, const vg_netdoc *doc, int64_t now_mono)
{
    size_t n = vg_netdoc_n_agencies(doc);
    if (n > q->n) {
        s_agency *a = realloc(q->a, (n + 1) * sizeof *a);
        if (a == NULL) {
            return VG_ERR_NOMEM;
        }
        memset(&a[q->n], 0, (n + 1 - q->n) * sizeof *a);
        for (size_t i = q->n; i < n; i++) {
            a[i].refilled = now_mono;
            a[i].tokens_milli = -1; /* full: set below */
            for (size_t h = 0; h < VGB_QUOTA_HOURS; h++) {
                a[i].hour[h] = -1;
            }
        }
        q->a = a;
        q->n = n;
    }
    for (size_t i = 0; i < n; i++) {
        vg_agency ag;
        vg_netdoc_agency_at(doc, i, &ag);
        s_agency *a = &q->a[i];
        a->id = ag.id;
        a->lim = vg_netdoc_limits(doc, ag.id);
        int64_t burst = (int64_t)a->lim.publish_burst * 1000;
        if (a->tokens_milli < 0 || a->tokens_milli > burst) {
            a->tokens_milli = burst;
        }
    }
    return VG_OK;
}
