/*
 * broker/witness.h — the network document's witnessing rule
 * (docs/audit.md "Cosignatures", docs/network.md "witnessing"): every audit
 * checkpoint needs k agencies' cosignatures (of it or of a later one: a
 * cosignature of a later checkpoint vouches for every prefix the agency
 * held) within a time after it was signed; a checkpoint still short of
 * them then raises an `unwitnessed` alarm to oversight (record.h).
 *
 * It watches the checkpoints the store's latest one shows, as tracking
 * looks at it once a second, and judges the newest one whose time is up.
 * One alarm covers every checkpoint signed until it was raised: while the
 * agencies stay silent, oversight hears once per `within`, not once per
 * checkpoint. What it watches is in memory: a restarted broker judges the
 * checkpoints it sees from its start (an earlier alarm is in the log).
 *
 * Owns: the checkpoints awaiting judgement. Thread rules: the loop's thread
 * only (tracking owns it).
 */
#ifndef VIGIL_BROKER_WITNESS_H
#define VIGIL_BROKER_WITNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "record.h"
#include "store.h"
#include "vigil/clock.h"
#include "vigil/err.h"
#include "vigil/netdoc.h"

#define VGB_WITNESS_WATCH_MAX 64 /* checkpoints awaiting judgement (older ones are folded in) */

typedef struct vgb_witness vgb_witness;

/* store, record and clock are borrowed and outlive it. Free with
 * vgb_witness_destroy. */
vg_err vgb_witness_new(vgb_witness **out, vgb_store *store, vgb_record *record,
                       const vg_clock *clock) VG_MUST_USE;

/* NULL-safe; sets *w_p = NULL. */
void vgb_witness_destroy(vgb_witness **w_p);

/* Looks at the store's latest checkpoint and judges the newest watched one
 * whose time under doc's witnessing is up: when fewer than k agencies
 * cosigned it or a later one, records the alarm in the batch (a record
 * error fails the batch: judged again after it) and logs WARN broker
 * audit.unwitnessed. Nothing when doc requires no cosignatures. */
void vgb_witness_check(vgb_witness *w, const vg_netdoc *doc);

/* After the batch: an alarm that did not commit is raised again. */
void vgb_witness_after_commit(vgb_witness *w, bool committed);

#endif
