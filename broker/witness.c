/* witness.c — a checkpoint short of the cosignatures the network document
 * requires raises an alarm to oversight (witness.h). */
#include "witness.h"

#include <stdlib.h>
#include <string.h>

#include "store_witness.h"
#include "vigil/log.h"
#include "vigil/util.h"

/* A checkpoint seen, by its size and when it was signed (wall ms). */
typedef struct s_seen {
    uint64_t size;
    int64_t signed_ms;
} s_seen;

struct vgb_witness {
    vgb_store *store;                    /* borrowed */
    vgb_record *record;                  /* borrowed */
    const vg_clock *clock;               /* borrowed */
    s_seen watch[VGB_WITNESS_WATCH_MAX]; /* awaiting judgement, oldest first */
    size_t n;                            /* how many */
    uint64_t last_size;                  /* the largest checkpoint seen (watched or judged) */
    uint64_t alarmed;                    /* checkpoints up to this size are covered by an alarm */
    uint64_t alarmed_committed;          /* ... as of the last commit */
};

vg_err
vgb_witness_new(vgb_witness **out, vgb_store *store, vgb_record *record, const vg_clock *clock)
{
    vgb_witness *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return VG_ERR_NOMEM;
    }
    *w = (vgb_witness){.store = store, .record = record, .clock = clock};
    *out = w;
    return VG_OK;
}

void
vgb_witness_destroy(vgb_witness **w_p)
{
    if (w_p != NULL) {
        free(*w_p);
        *w_p = NULL;
    }
}

static void
s_take_latest(void *ctx, const vgb_checkpoint_row *row)
{
    *(s_seen *)ctx = (s_seen){.size = row->size, .signed_ms = row->signed_ms};
}

/* Watches the store's latest checkpoint when it is new. */
static void
s_watch_latest(vgb_witness *w)
{
    s_seen cp = {0};
    bool found = false;
    if (vgb_store_audit_latest_checkpoint(w->store, s_take_latest, &cp, &found) != VG_OK ||
        !found || cp.size <= w->last_size) {
        return;
    }
    if (w->n == VGB_WITNESS_WATCH_MAX) { /* the newest one due is judged anyway */
        memmove(w->watch, w->watch + 1, (w->n - 1) * sizeof *w->watch);
        w->n--;
    }
    w->watch[w->n++] = cp;
    w->last_size = cp.size;
}

/* Agencies that cosigned a checkpoint of size >= the one asked about. */
typedef struct s_count {
    vg_strlist agencies;
    bool failed;
} s_count;

static void
s_count_one(void *ctx, const vgb_cosign_row *row)
{
    s_count *c = ctx;
    c->failed |= vg_strlist_add_unique(&c->agencies, row->agency) != VG_OK;
}

void
vgb_witness_check(vgb_witness *w, const vg_netdoc *doc)
{
    vg_witnessing rule = vg_netdoc_witnessing(doc);
    if (rule.cosignatures == 0) {
        w->n = 0;
        return;
    }
    s_watch_latest(w);
    int64_t due_before = vg_clock_wall_ms(w->clock) - (int64_t)rule.within_ms;
    size_t due = 0;
    while (due < w->n && w->watch[due].signed_ms <= due_before) {
        due++;
    }
    if (due == 0) {
        return;
    }
    s_seen judged = w->watch[due - 1]; /* the newest whose time is up */
    memmove(w->watch, w->watch + due, (w->n - due) * sizeof *w->watch);
    w->n -= due;
    if (judged.size <= w->alarmed) {
        return;
    }
    s_count c = {0};
    vg_err rc = vgb_store_cosignatures(w->store, judged.size, s_count_one, &c);
    size_t n = c.agencies.n;
    vg_strlist_fini(&c.agencies);
    if (rc != VG_OK || c.failed || n >= rule.cosignatures) {
        return;
    }
    vg_log(VG_LOG_WARN, "broker", "audit.unwitnessed",
           "size=%llu cosigned=%zu required=%u within_ms=%llu", (unsigned long long)judged.size, n,
           rule.cosignatures, (unsigned long long)rule.within_ms);
    if (vgb_record_unwitnessed(w->record, judged.size, n, rule.cosignatures, rule.within_ms,
                               vg_netdoc_version(doc)) == VG_OK) {
        w->alarmed = w->last_size; /* one alarm for every checkpoint signed until now */
    }
}

void
vgb_witness_after_commit(vgb_witness *w, bool committed)
{
    if (committed) {
        w->alarmed_committed = w->alarmed;
    } else {
        w->alarmed = w->alarmed_committed;
    }
}
