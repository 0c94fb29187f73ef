/*
 * broker/ledger.h — the broker's use of its audit log (audit.h): a leaf for
 * every fact, appended in the same store transaction as the state it
 * describes; signed checkpoints every N leaves or T seconds, at once for a
 * batch that holds a person's receipt, an escalation or a rejection, and at
 * a clean stop, each published only once the batch that signed it
 * committed (so a batch's replies carry a checkpoint covering it); and the
 * high-water mark beside the store (highwater.h: a file outside the
 * database, raised after every commit that grew the log), so that a
 * database that lost committed history is refused at start instead of
 * served. With a store several brokers share (store.h, "leadership") it
 * also records in the store, in each batch, the log size its last commit
 * made durable, from which the standbys keep their own marks (ha.h).
 *
 * Owns: the audit handle, the latest committed checkpoint, the mark's file.
 * Never does: begin or commit a transaction of its own (checkpoints are
 * signed inside the batch's, opened with vgb_store_txn); it writes leaves
 * only when record.h asks.
 * Thread rules: the loop's thread only.
 */
#ifndef VIGIL_BROKER_LEDGER_H
#define VIGIL_BROKER_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "vigil/audit_leaf.h"
#include "vigil/broker_config.h"
#include "vigil/clock.h"
#include "vigil/err.h"
#include "vigil/keys.h"

typedef struct vgb_ledger vgb_ledger;

/* Opens the log over store (creating its tables) for network `network`,
 * signing with keys (borrowed); checks the high-water mark in
 * cfg->store_path and refuses (VG_ERR_MALFORMED, with why) a log shorter
 * than, or different from, what was committed before. cfg, clock, store and
 * keys are borrowed and outlive the ledger. Free with vgb_ledger_destroy. */
vg_err vgb_ledger_open(vgb_ledger **out, vgb_store *store, const char *network,
                       const vg_keyset *keys, const vg_broker_config *cfg, const vg_clock *clock,
                       vg_reason *why) VG_MUST_USE;

/* NULL-safe; sets *l_p = NULL. */
void vgb_ledger_destroy(vgb_ledger **l_p);

/* Appends ev (time set to now) as the next leaf, linked to the alerts seqs
 * (for proofs by alert id), inside the open transaction; its index in
 * *idx_out (may be NULL). An error is logged; the caller must not commit
 * the state the leaf describes. */
vg_err vgb_ledger_append(vgb_ledger *l, const uint64_t *seqs, size_t n_seqs, vg_audit_event *ev,
                         uint64_t *idx_out) VG_MUST_USE;

/* Links alerts seqs to leaf idx (a leaf written before, e.g. a receipt's). */
vg_err vgb_ledger_link(vgb_ledger *l, const uint64_t *seqs, size_t n_seqs,
                       uint64_t idx) VG_MUST_USE;

/* Current tree size (0 when unknown). */
uint64_t vgb_ledger_size(vgb_ledger *l);

/* The latest committed checkpoint (a signed note, borrowed until the next
 * vgb_ledger_after_commit), or NULL when none was signed yet. */
const char *vgb_ledger_checkpoint(const vgb_ledger *l);

/* Signs a checkpoint when one is due (every checkpoint_leaves leaves or
 * checkpoint_interval), inside the batch transaction (opened if need be). */
void vgb_ledger_service(vgb_ledger *l);

/* The batch holds a fact agencies must be able to prove at once (a
 * person's receipt, an escalation step, a rejection): it gets a checkpoint
 * of its own (vgb_ledger_before_commit), so its replies carry one covering
 * it. */
void vgb_ledger_urgent(vgb_ledger *l);

/* Just before the batch commits: signs a checkpoint covering the whole log
 * when the batch was marked urgent, or when the broker is stopping
 * (stopping: a clean stop leaves no leaf without a checkpoint), and the log
 * grew past the last one. */
void vgb_ledger_before_commit(vgb_ledger *l, bool stopping);

/* Milliseconds until a checkpoint is due (the log grew), or -1 when none is. */
long vgb_ledger_next_ms(vgb_ledger *l);

/* After the batch, before its replies go: publishes (committed) or forgets
 * the checkpoint signed in it, so that the replies carry it. */
void vgb_ledger_after_commit(vgb_ledger *l, bool committed);

/* After the replies of a committed batch: rewrites the high-water mark when
 * the log grew (a file sync, kept off the replies' path). */
void vgb_ledger_after_replies(vgb_ledger *l);

#endif
