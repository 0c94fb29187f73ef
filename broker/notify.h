/*
 * broker/notify.h — reaching a person, not just a screen. At an escalation
 * step whose target is people (officer-on-duty, out-of-hours-team, manager,
 * oversight: vg_escalation_target_notifies), the agencies' duty rotas say
 * who is on duty and how to reach them; a message goes to each of their
 * contact points, and every attempt's outcome is recorded (record.h: an
 * event and an audit leaf). A step whose every attempt failed, or that
 * found nobody to tell, has the next escalation step taken at once.
 *
 * Who: officer-on-duty is the late agency's officer on duty (its
 * out-of-hours team when no officer is); out-of-hours-team is its
 * out-of-hours team (else its cover agency's officer on duty); manager its
 * manager; oversight each oversight agency's officer on duty.
 *
 * Rotas: one file per agency, <[notify] rotas>/<agency>.json (vigil/rota.h;
 * docs/network.md "Duty rotas and notifications"), read at start and again
 * whenever it changes (looked at every [notify] rota_check): a change takes
 * effect without a restart; a file that does not parse is refused loudly
 * (ERROR rota.refused) and the rota in force stays.
 *
 * Messages carry metadata only — that an alert of this severity and
 * category awaits, and a link to the console — never content (the broker
 * has none). They are sent by the worker (notify_send.h) after the batch
 * that took the step commits: a step rolled back notified nobody. At most
 * [notify] queue messages are out with the worker at once; one more fails
 * as queue_full (recorded like any failure).
 *
 * What is not kept across a restart: messages not yet sent or answered
 * when the broker stops (their step's leaf is there, their outcome is not).
 *
 * Owns: the rotas in force, the worker and its socket, the messages and
 * steps in flight, the outcomes not yet recorded.
 * Thread rules: the loop's thread only (the worker owns its own state).
 */
#ifndef VIGIL_BROKER_NOTIFY_H
#define VIGIL_BROKER_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "record.h"
#include "store.h"
#include "vigil/broker_config.h"
#include "vigil/clock.h"
#include "vigil/err.h"
#include "vigil/netdoc.h"

typedef struct vgb_notify vgb_notify;

/* A step notified nobody: every attempt failed (called after their
 * outcomes committed). */
typedef void (*vgb_unreached_fn)(void *ctx, uint64_t seq, const char *agency, uint32_t level);

/* What notifications work with; every pointer is borrowed and outlives it. */
typedef struct vgb_notify_params {
    void *zmq_ctx;               /* the worker's socket */
    const vg_broker_config *cfg; /* [notify] */
    const vg_netdoc *doc;        /* agencies, hours, covers, oversight */
    const vg_clock *clock;       /* who is on duty now */
    vgb_store *store;            /* the alerts' metadata, the rows' deadlines */
    vgb_record *record;          /* every outcome */
    vgb_batch *batch;            /* the transaction outcomes are recorded in */
    vgb_unreached_fn unreached;  /* a step that reached nobody */
    void *unreached_ctx;         /* its context */
} vgb_notify_params;

/* Reads the rotas there are and starts the worker. VG_ERR_IO (with why)
 * when the worker cannot start. Free with vgb_notify_destroy. */
vg_err vgb_notify_new(vgb_notify **out, const vgb_notify_params *p, vg_reason *why) VG_MUST_USE;

/* Stops the worker (a message under way finishes or times out) and frees
 * everything; NULL-safe; sets *n_p = NULL. */
void vgb_notify_destroy(vgb_notify **n_p);

/* The network document changed (agencies only appended): new agencies'
 * rotas are looked for. doc is borrowed and outlives it. VG_ERR_NOMEM. */
vg_err vgb_notify_renew(vgb_notify *n, const vg_netdoc *doc) VG_MUST_USE;

/* The socket the loop polls: outcomes come back on it. */
void *vgb_notify_socket(const vgb_notify *n);

/* Takes the outcomes that came back and records them (in the batch), and
 * looks at the rota files when it is time. Returns the ms until it wants to
 * look again. */
long vgb_notify_service(vgb_notify *n);

/* Escalation step `level` of agency's row of alert seq targets people
 * (target): messages to everyone on duty for it, sent after the batch
 * commits. *tried is how many; 0 when nobody could be found (recorded as a
 * failed notification, in the batch: the caller takes the next step). An
 * error failed the batch. n may be NULL (no notifications): *tried = 0 and
 * nothing is recorded. */
vg_err vgb_notify_step(vgb_notify *n, uint64_t seq, const char *agency, uint32_t level,
                       vg_escalation_target target, size_t *tried) VG_MUST_USE;

/* After the batch: its messages go to the worker and its recorded outcomes
 * count (committed), or both are forgotten and the outcomes recorded again
 * (rolled back). NULL-safe. */
void vgb_notify_after_commit(vgb_notify *n, bool committed);

#endif
