/*
 * broker/lease.h — the leader's side of leadership (docs/ha.md): while the
 * broker leads a store that several brokers share (PostgreSQL), its lease
 * is heartbeaten on a timer, and after every batch the lease says whether
 * the broker must step down: another broker raised the epoch (fenced), the
 * lock went with a replaced connection, the store cannot be reached, or a
 * commit is in doubt (its outcome is unknown, so everything the loop
 * caches, next event numbers and the audit frontier among it, must be read
 * again from the store before anything more is written: the broker steps
 * down and takes over again, as a restart does).
 *
 * On a store only one broker can use (SQLite) the lease is inert: the
 * broker always leads and nothing is checked.
 *
 * Owns: its timer and the reason it was lost. Never does: take the lead
 * (ha.h does) or write anything to the store but the heartbeat.
 * Thread rules: the loop's thread only.
 */
#ifndef VIGIL_BROKER_LEASE_H
#define VIGIL_BROKER_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"
#include "vigil/broker_config.h"
#include "vigil/clock.h"
#include "vigil/err.h"

#define VGB_LEASE_BEATS 4 /* heartbeats per lease: three may go missing before it ends */

typedef struct vgb_lease vgb_lease;

/* The lease of a broker that leads store at epoch (0: a store that does not
 * elect). store, cfg and clock are borrowed and outlive the lease. Free
 * with vgb_lease_destroy. */
vg_err vgb_lease_new(vgb_lease **out, vgb_store *store, const vg_broker_config *cfg,
                     const vg_clock *clock, int64_t epoch) VG_MUST_USE;

/* NULL-safe; sets *l_p = NULL. */
void vgb_lease_destroy(vgb_lease **l_p);

/* Heartbeats when one is due (between batches); returns timeout_ms (the
 * loop's poll timeout, -1: none) shortened to the ms until the next one
 * (unchanged when there is none: a lease lost, or none to keep). */
long vgb_lease_service(vgb_lease *l, long timeout_ms);

/* After a batch's commit (committed: it returned VG_OK): a failed commit is
 * looked at at once, a commit in doubt ends the term (no confirm for that
 * batch was sent, and the loop's view of the store must be read again). */
void vgb_lease_after_commit(vgb_lease *l, bool committed);

/* Why the broker must step down ("fenced", "lock_lost", "store_unreachable",
 * "commit_in_doubt"), or NULL while it leads. Logged once (ha.fenced or
 * ha.lease_lost) when it happens. */
const char *vgb_lease_lost(const vgb_lease *l);

/* The epoch this broker leads at (0: a store that does not elect). */
int64_t vgb_lease_epoch(const vgb_lease *l);

#endif
