/* ctl_report_why.c — a deadline's reason from the audit leaves (ctl_report_why.h). */
#include "ctl_report_why.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "vigil/audit_leaf.h"
#include "vigil/calendar.h"
#include "vigil/tz.h"
#include "vigil/util.h"

/* The alert's leaves, collected by index. */
typedef struct s_idx {
    uint64_t *v; /* malloc'ed */
    size_t n;    /* how many */
    size_t cap;  /* allocated */
} s_idx;

static void
s_take(void *ctx, uint64_t idx)
{
    s_idx *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (l->v == NULL) {
            ctl_out_of_memory();
        }
    }
    l->v[l->n++] = idx;
}

static char *
s_words(const vg_audit_deadline *d)
{
    char from[32], cal[160] = "", warn[96] = "", cover[96] = "";
    vg_utc_format(from, sizeof from, (int64_t)d->from_ms);
    if (d->calendar[0] != '\0') {
        char hex[17];
        vg_hex_encode(hex, sizeof hex, d->calendar_version, 8);
        snprintf(cal, sizeof cal, ", calendar %s@%s", d->calendar, hex);
    }
    static const struct {
        unsigned bit;
        const char *name;
    } flags[] = {{VG_DLW_PAST_VALID_UNTIL, "past_valid_until"},
                 {VG_DLW_NO_CALENDAR, "no_calendar"},
                 {VG_DLW_NO_HOURS, "no_hours"}};
    size_t w = 0;
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        if (d->warnings & flags[i].bit) {
            w += (size_t)snprintf(warn + w, sizeof warn - w, " WARNING=%s", flags[i].name);
        }
    }
    if (d->cover_for[0] != '\0') {
        snprintf(cover, sizeof cover, ", out-of-hours cover for %s", d->cover_for);
    }
    char *out = malloc(512);
    if (out == NULL) {
        ctl_out_of_memory();
    }
    snprintf(out, 512, "%s from %s (network %llu, deadline rule %llu)%s%s%s", d->rule, from,
             (unsigned long long)d->network_version, (unsigned long long)d->rule_no, cal, cover,
             warn);
    return out;
}

char *
ctl_deadline_why(vgb_store *store, const uint8_t id[VG_ALERT_ID_LEN], const char *agency)
{
    vgb_alert_meta m;
    uint8_t hash[VG_HASH_LEN];
    uint64_t version = 0;
    s_idx idx = {0};
    char *out = NULL;
    if (vgb_store_alert_by_id(store, id, &m, hash, &version) == VG_OK &&
        vgb_store_alert_leaves(store, m.seq, s_take, &idx) == VG_OK) {
        for (size_t i = idx.n; i-- > 0 && out == NULL;) { /* the latest first */
            uint8_t *leaf = NULL;
            size_t len = 0;
            vg_audit_event ev;
            if (vgb_store_audit_leaf(store, idx.v[i], &leaf, &len) != VG_OK) {
                continue;
            }
            if (vg_audit_leaf_parse(&ev, leaf, len, NULL) == VG_OK) {
                const vg_audit_deadline *d = vg_audit_event_deadline(&ev, agency);
                out = d != NULL ? s_words(d) : NULL;
                vg_audit_event_fini(&ev);
            }
            free(leaf);
        }
    }
    free(idx.v);
    if (out == NULL && (out = vg_strdup("")) == NULL) {
        ctl_out_of_memory();
    }
    return out;
}
