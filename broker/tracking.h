/*
 * broker/tracking.h — acknowledgement tracking over time: the deadline of
 * each required recipient, the steps taken when it passes (overdue, then
 * the network document's escalation steps, each at its time), and the
 * offline alarm for an agency that is away while alerts wait for it.
 *
 * Every step taken is written with its record (record.h) in the batch
 * transaction, so a restart neither skips nor repeats one; a step whose
 * batch does not commit is taken again a second later. Deadlines are wall
 * clock times in the store and monotonic timers in memory (timers.h); when
 * the wall clock steps while the broker runs (an NTP step), the stored
 * times move with it (vgb_store_shift_times), so no deadline moves on the
 * monotonic clock and each still reads right on the new wall clock.
 *
 * Steps that target people go to the notifier (notify.h), which tracking
 * starts, services, renews and stops with itself.
 *
 * Owns: the timers, the per-agency presence and alarm state, the steps
 * taken in the current batch, the clock offset last seen, the notifier.
 * Thread rules: the loop's thread only.
 */
#ifndef VIGIL_BROKER_TRACKING_H
#define VIGIL_BROKER_TRACKING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "delivery.h"
#include "notify.h"
#include "record.h"
#include "store.h"
#include "vigil/audit_leaf.h"
#include "vigil/broker_config.h"
#include "vigil/clock.h"
#include "vigil/envelope.h"
#include "vigil/err.h"
#include "vigil/netdoc.h"

typedef struct vgb_tracking vgb_tracking;

/* What tracking works with; every pointer is borrowed and outlives it. */
typedef struct vgb_tracking_params {
    vgb_store *store;            /* the rows */
    const vg_netdoc *doc;        /* deadlines, escalation steps, contacts */
    const vg_broker_config *cfg; /* timers, offline_alarm */
    const vg_clock *clock;       /* both clocks */
    vgb_record *record;          /* where each step is recorded */
    vgb_batch *batch;            /* the batch transaction */
    vgb_delivery *delivery;      /* escalation step "redeliver" */
    void *zmq_ctx;               /* for the notification worker (notify.h) that tracking
                                    starts and owns; NULL: no notifications */
} vgb_tracking_params;

/* Loads the first timers from the store (the rest as they come due).
 * VG_ERR_IO (with why) when the store cannot be read. Free with
 * vgb_tracking_destroy. */
vg_err vgb_tracking_new(vgb_tracking **out, const vgb_tracking_params *p,
                        vg_reason *why) VG_MUST_USE;

/* NULL-safe; sets *t_p = NULL. */
void vgb_tracking_destroy(vgb_tracking **t_p);

/* The network document changed (agencies only appended): deadlines and
 * escalation steps taken from now on are the new document's (those already
 * set stay); new agencies are away until they connect. doc is borrowed and
 * outlives tracking. VG_ERR_NOMEM. */
vg_err vgb_tracking_renew(vgb_tracking *t, const vg_netdoc *doc) VG_MUST_USE;

/* The notification worker's socket, for the loop to poll (NULL without
 * notifications): vgb_tracking_service records what came back. */
void *vgb_tracking_notify_socket(const vgb_tracking *t);

/* What a deadline depends on, of an alert. */
typedef struct vgb_terms {
    vg_severity severity;          /* its severity */
    vg_urgency urgency;            /* its urgency */
    const char *const *categories; /* its categories (borrowed) */
    size_t n_categories;           /* how many */
    bool repeat; /* the recipient is warned again (links.h vgb_links_repeats): its deadline is
                    vg_netdoc_deadline_repeat_at's */
} vgb_terms;

/* The deadline of recipient `agency` asked to act from from_ms (wall clock)
 * on an alert with these terms: vg_netdoc_deadline_at under doc (NULL: the
 * document in force), with the agency's calendar and hours, as its audit
 * leaf records it (*out; cover_for ""). A fallback is never silent: each is
 * logged (WARN deadline.fallback), and a calendar past its valid_until also
 * raises a network warning (vgb_record_network_warning: an event to every
 * agency and a leaf) once per calendar and document while the broker runs.
 * VG_ERR_INVALID when no deadline can be computed (from_ms outside
 * 1970..2199); an error that failed the batch otherwise. */
vg_err vgb_tracking_deadline(vgb_tracking *t, const vg_netdoc *doc, vg_audit_deadline *out,
                             const char *agency, const vgb_terms *terms,
                             int64_t from_ms) VG_MUST_USE;

/* vgb_tracking_deadline for a stored alert (its severity, urgency and
 * categories). */
vg_err vgb_tracking_deadline_meta(vgb_tracking *t, const vg_netdoc *doc, vg_audit_deadline *out,
                                  const char *agency, const vgb_alert_meta *m,
                                  int64_t from_ms) VG_MUST_USE;

/* The escalation step of agency's row of alert seq after `level` is taken
 * at once rather than at its time (the step at `level` notified nobody). A
 * row that moved on since (acknowledged, another level) is left alone. */
void vgb_tracking_step_now(vgb_tracking *t, uint64_t seq, const char *agency, uint32_t level);

/* Watches the row's next step (a new row, or one a receipt changed). */
void vgb_tracking_watch(vgb_tracking *t, const vgb_rrow *r);

/* Agency (an index) got or lost its receiving connection: an agency that
 * comes back after an offline alarm is announced (in the batch). */
void vgb_tracking_presence(vgb_tracking *t, size_t agency, bool online);

/* Notices a wall-clock step since the last look and moves the stored and
 * in-memory times with it, in a transaction of its own (call it when no
 * batch is open; retried at the next call if it cannot commit). */
void vgb_tracking_check_clock(vgb_tracking *t);

/* Takes the steps that are due and raises the alarms that are due, in the
 * batch; returns the ms until the next is due. */
long vgb_tracking_service(vgb_tracking *t);

/* After the batch: the steps it took stand (committed), or are taken again
 * a second later (rolled back). */
void vgb_tracking_after_commit(vgb_tracking *t, bool committed);

#endif
