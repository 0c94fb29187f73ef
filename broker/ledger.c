/* ledger.c — the audit log's leaves, checkpoints and high-water mark (ledger.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"

#include "audit.h"
#include "highwater.h"
#include "vigil/log.h"
#include "vigil/util.h"

struct vgb_ledger {
    vgb_store *store;            /* borrowed */
    const vg_broker_config *cfg; /* borrowed */
    const vg_clock *clock;       /* borrowed */
    vgb_audit *audit;            /* the Merkle log, in the store's transactions */
    char *cp_note;               /* latest committed checkpoint (signed note) */
    uint64_t cp_size;            /* its tree size */
    int64_t cp_mono;             /* when it was signed */
    char *cp_pending;            /* signed in this batch, published after the commit */
    int64_t cp_mono_committed;   /* cp_mono as of the last commit (a rollback restores it) */
    uint64_t cp_pending_size;    /* its tree size */
    vgb_highwater hw;            /* store/highwater: the log size last committed */
    bool urgent;                 /* this batch holds a fact agencies must hold proof of soon */
    bool relay;                  /* the store is shared: record the durable size in it */
    uint64_t durable;            /* the log size after the last commit that returned VG_OK */
    uint64_t durable_recorded;   /* ... the largest the store holds */
    uint64_t durable_pending;    /* ... written in this batch, not yet committed */
};

/* The high-water mark (highwater.h): checked when the log is opened,
 * raised after every commit that grew it. With a store several brokers
 * share, the leader also records in the store the size it knows durable
 * (the size after its last commit that returned VG_OK), in its next
 * batch's transaction, for the standbys' marks (ha.h). */

static void
s_hw_write(vgb_ledger *l)
{
    uint64_t size = 0;
    uint8_t root[VG_MERKLE_HASH_LEN];
    if (vgb_audit_head(l->audit, &size, root, NULL) == VG_OK) {
        vgb_highwater_raise(&l->hw, size, root);
    }
}

vg_err
vgb_ledger_open(vgb_ledger **out, vgb_store *store, const char *network, const vg_keyset *keys,
                const vg_broker_config *cfg, const vg_clock *clock, vg_reason *why)
{
    vgb_ledger *l = calloc(1, sizeof *l);
    if (l == NULL) {
        return VG_ERR_NOMEM;
    }
    *l = (vgb_ledger){.store = store, .cfg = cfg, .clock = clock};
    l->hw.fd = -1;
    l->relay = vgb_store_lead_supported(store);
    vg_err rc = vgb_audit_open(&l->audit, store, network, keys, why);
    char *note = NULL;
    uint64_t size = 0;
    if (rc == VG_OK &&
        vgb_audit_checkpoint_latest(l->audit, &note, NULL, &size, NULL, NULL) == VG_OK) {
        l->cp_note = note;
        l->cp_size = size;
    }
    l->cp_mono = l->cp_mono_committed = vg_clock_mono_ms(clock);
    rc = rc == VG_OK ? vgb_highwater_open(&l->hw, cfg->store_path, why) : rc;
    rc = rc == VG_OK ? vgb_highwater_check(&l->hw, l->audit, cfg->store_path, why) : rc;
    if (rc == VG_OK) {
        s_hw_write(l);
        l->durable = vgb_ledger_size(l); /* read after a durable epoch: durable */
    }
    if (rc != VG_OK) {
        vgb_ledger_destroy(&l);
        return rc;
    }
    *out = l;
    return VG_OK;
}

void
vgb_ledger_destroy(vgb_ledger **l_p)
{
    if (l_p == NULL || *l_p == NULL) {
        return;
    }
    vgb_ledger *l = *l_p;
    vgb_highwater_close(&l->hw);
    vgb_audit_destroy(&l->audit);
    free(l->cp_note);
    free(l->cp_pending);
    free(l);
    *l_p = NULL;
}

vg_err
vgb_ledger_link(vgb_ledger *l, const uint64_t *seqs, size_t n_seqs, uint64_t idx)
{
    vg_err rc = VG_OK;
    for (size_t i = 0; i < n_seqs && rc == VG_OK; i++) {
        rc = vgb_store_link_leaf(l->store, seqs[i], idx);
    }
    if (rc != VG_OK) {
        vg_log(VG_LOG_ERROR, "broker", "audit.link", "code=%s", vg_err_code(rc));
    }
    return rc;
}

vg_err
vgb_ledger_append(vgb_ledger *l, const uint64_t *seqs, size_t n_seqs, vg_audit_event *ev,
                  uint64_t *idx_out)
{
    vg_reason why = {{0}};
    uint64_t idx = 0;
    ev->time_ms = (uint64_t)vg_clock_wall_ms(l->clock);
    vg_err rc = vgb_audit_append(l->audit, ev, &idx, &why);
    if (rc != VG_OK) {
        vg_log(VG_LOG_ERROR, "broker", "audit.append", "kind=%s code=%s reason=\"%s\"",
               vg_audit_kind_name(ev->kind), vg_err_code(rc), why.text);
        return rc;
    }
    if (idx_out != NULL) {
        *idx_out = idx;
    }
    return vgb_ledger_link(l, seqs, n_seqs, idx);
}

const char *
vgb_ledger_checkpoint(const vgb_ledger *l)
{
    return l->cp_note;
}

uint64_t
vgb_ledger_size(vgb_ledger *l)
{
    uint64_t size = 0;
    return vgb_audit_size(l->audit, &size, NULL) == VG_OK ? size : 0;
}

long
vgb_ledger_next_ms(vgb_ledger *l)
{
    if (vgb_ledger_size(l) <= l->cp_size) {
        return -1;
    }
    int64_t left =
        l->cp_mono + (int64_t)l->cfg->checkpoint_interval_ms - vg_clock_mono_ms(l->clock);
    return left > 0 ? (long)left : 0;
}

/* Signs a checkpoint of the log as it is now, inside the batch's
 * transaction (opened if need be); published when the batch commits. */
static void
s_sign(vgb_ledger *l, int64_t now)
{
    if (!vgb_store_txn(l->store)) {
        return;
    }
    vg_checkpoint *cp = NULL;
    vg_reason why = {{0}};
    vg_err rc = vgb_audit_checkpoint_sign(l->audit, vg_clock_wall_ms(l->clock), &cp, &why);
    if (rc == VG_OK) {
        free(l->cp_pending);
        l->cp_pending = vg_strdup(vg_checkpoint_note(cp));
        l->cp_pending_size = vg_checkpoint_size(cp);
    } else if (rc != VG_ERR_DUPLICATE) {
        vg_log(VG_LOG_ERROR, "broker", "audit.checkpoint", "code=%s reason=\"%s\"", vg_err_code(rc),
               why.text);
    }
    l->cp_mono = now;
    vg_checkpoint_destroy(&cp);
}

void
vgb_ledger_service(vgb_ledger *l)
{
    uint64_t size = vgb_ledger_size(l);
    int64_t now = vg_clock_mono_ms(l->clock);
    bool due = size > l->cp_size && (size - l->cp_size >= (uint64_t)l->cfg->checkpoint_leaves ||
                                     now - l->cp_mono >= (int64_t)l->cfg->checkpoint_interval_ms);
    if (due && l->cp_pending == NULL) {
        s_sign(l, now);
    }
}

void
vgb_ledger_urgent(vgb_ledger *l)
{
    l->urgent = true;
}

void
vgb_ledger_before_commit(vgb_ledger *l, bool stopping)
{
    uint64_t size = vgb_ledger_size(l);
    uint64_t covered = l->cp_pending != NULL ? l->cp_pending_size : l->cp_size;
    if ((l->urgent || stopping) && size > covered) {
        s_sign(l, vg_clock_mono_ms(l->clock));
    }
    l->urgent = false;
    if (l->relay && l->durable > l->durable_recorded && vgb_store_in_transaction(l->store) &&
        vgb_store_set_audit_durable(l->store, l->durable) == VG_OK) {
        l->durable_pending = l->durable; /* for the standbys' marks */
    }
}

void
vgb_ledger_after_commit(vgb_ledger *l, bool committed)
{
    l->urgent = false;
    if (l->relay && committed) {
        l->durable_recorded =
            l->durable_pending > l->durable_recorded ? l->durable_pending : l->durable_recorded;
        l->durable = vgb_ledger_size(l);
    }
    l->durable_pending = 0;
    if (l->cp_pending == NULL) {
        return;
    }
    if (committed) {
        free(l->cp_note);
        l->cp_note = l->cp_pending;
        l->cp_size = l->cp_pending_size;
        l->cp_mono_committed = l->cp_mono;
        vg_log(VG_LOG_DEBUG, "broker", "audit.checkpoint", "size=%llu",
               (unsigned long long)l->cp_size);
    } else {
        free(l->cp_pending);
        l->cp_mono = l->cp_mono_committed; /* not signed after all: still due */
    }
    l->cp_pending = NULL;
}

void
vgb_ledger_after_replies(vgb_ledger *l)
{
    s_hw_write(l); /* a sync: after the replies, off their path */
}
