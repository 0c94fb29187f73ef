/* lease.c — the leader's heartbeat and its reasons to step down (lease.h). */
#include "lease.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/log.h"

struct vgb_lease {
    vgb_store *store;      /* borrowed: the owner's connection holds the lock */
    const vg_clock *clock; /* borrowed */
    int64_t epoch;         /* this term's */
    bool elects;           /* the store elects (else: inert) */
    long every_ms;         /* heartbeat interval */
    int64_t next_mono;     /* when the next one is due */
    const char *lost;      /* why the term ended, or NULL */
};

vg_err
vgb_lease_new(vgb_lease **out, vgb_store *store, const vg_broker_config *cfg, const vg_clock *clock,
              int64_t epoch)
{
    vgb_lease *l = calloc(1, sizeof *l);
    if (l == NULL) {
        return VG_ERR_NOMEM;
    }
    l->store = store;
    l->clock = clock;
    l->epoch = epoch;
    l->elects = vgb_store_lead_supported(store);
    l->every_ms = (long)(cfg->ha_lease_ms / VGB_LEASE_BEATS);
    l->next_mono = vg_clock_mono_ms(clock) + l->every_ms;
    *out = l;
    return VG_OK;
}

void
vgb_lease_destroy(vgb_lease **l_p)
{
    if (l_p != NULL) {
        free(*l_p);
        *l_p = NULL;
    }
}

/* Asks the store; records why the term ended. */
static void
s_check(vgb_lease *l)
{
    vg_reason why = {{0}};
    vg_err rc = vgb_store_lead_check(l->store, &why);
    l->next_mono = vg_clock_mono_ms(l->clock) + l->every_ms;
    if (rc == VG_OK || l->lost != NULL) {
        return;
    }
    bool fenced = rc == VG_ERR_NOT_LEADER;
    l->lost = !fenced ? "store_unreachable" : strstr(why.text, "fenced") ? "fenced" : "lock_lost";
    vg_log(VG_LOG_ERROR, "broker", fenced ? "ha.fenced" : "ha.lease_lost",
           "epoch=%" PRId64 " reason=%s detail=\"%s\" confirms=none", l->epoch, l->lost, why.text);
}

/* The ms until the next heartbeat, after one when it is due; -1: none. */
static long
s_service(vgb_lease *l)
{
    if (l == NULL || !l->elects || l->lost != NULL) {
        return -1;
    }
    int64_t left = l->next_mono - vg_clock_mono_ms(l->clock);
    if (left > 0) {
        return (long)left;
    }
    s_check(l);
    return l->lost != NULL ? -1 : l->every_ms;
}

long
vgb_lease_service(vgb_lease *l, long timeout_ms)
{
    long beat = s_service(l);
    return beat >= 0 && (timeout_ms < 0 || beat < timeout_ms) ? beat : timeout_ms;
}

void
vgb_lease_after_commit(vgb_lease *l, bool committed)
{
    if (l == NULL || !l->elects || committed || l->lost != NULL) {
        return;
    }
    if (vgb_store_commit_in_doubt(l->store)) {
        l->lost = "commit_in_doubt";
        vg_log(VG_LOG_ERROR, "broker", "ha.lease_lost",
               "epoch=%" PRId64 " reason=commit_in_doubt detail=\"no confirm sent; the store is "
               "read again before anything more is written\"",
               l->epoch);
        return;
    }
    s_check(l); /* a batch refused as fenced: step down now, not at the next beat */
}

const char *
vgb_lease_lost(const vgb_lease *l)
{
    return l != NULL ? l->lost : NULL;
}

int64_t
vgb_lease_epoch(const vgb_lease *l)
{
    return l != NULL ? l->epoch : 0;
}
