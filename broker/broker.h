/*
 * broker/broker.h — the broker: one zmq_poll loop over the ROUTER, the ZAP
 * handler and a timer, with the SQLite store as the queue.
 *
 * Per poll batch: every waiting frame is handled inside one store
 * transaction; confirms are sent only after the commit returns. Publishes
 * are verified (signature over the received bytes, sender = transport
 * identity, sequence, clock skew, mandatory recipients) before anything is
 * stored. Deliveries go to each agency's receiving connection in acceptance
 * order within a per-agency in-flight window, and are redelivered with
 * backoff until a verified DELIVERED receipt arrives. Memory is bounded by
 * agencies × window, never by history.
 *
 * Owns its sockets, store, keys and network document, and the modules
 * docs/broker.md maps. The loop runs on the caller's thread; beside it run
 * the envelope verifier (verifier.h), the query thread (reader.h), the
 * store's background work (SQLite: the WAL checkpointer) and ZeroMQ's I/O
 * thread, none of which touches the loop's state. Every function here is
 * for the loop's thread.
 */
#ifndef VIGIL_BROKER_BROKER_H
#define VIGIL_BROKER_BROKER_H

#include <signal.h>
#include <stdint.h>

#include "out.h"
#include "store.h"
#include "vigil/broker_config.h"
#include "vigil/clock.h"
#include "vigil/err.h"

typedef struct vgb_broker vgb_broker;

/* Loads keys and network document, opens the store, binds the ZAP handler
 * and then the ROUTER. cfg and clock are borrowed and must outlive the
 * broker. Logs "broker.ready endpoint=..." once it accepts connections. */
vg_err vgb_broker_new(vgb_broker **out, const vg_broker_config *cfg, const vg_clock *clock,
                      vg_reason *why) VG_MUST_USE;

/* vgb_broker_new on a store already open (store_p: takes ownership, on
 * failure too; NULL: opened here as vgb_broker_new does) that this broker
 * leads at epoch (ha.h took the lead: store.h, "leadership"). Everything
 * else is made as at a restart: the timers rebuilt from the store, the
 * newest network document the store was served with put in force when it
 * is newer than broker.conf's (a standby's file may predate a push to the
 * leader before it). */
vg_err vgb_broker_new_on(vgb_broker **out, const vg_broker_config *cfg, const vg_clock *clock,
                         vgb_store **store_p, int64_t epoch, vg_reason *why) VG_MUST_USE;

/* Serves until *stop becomes non-zero (set it from a signal handler); the
 * batch in hand is finished and committed first. When *reload (may be
 * NULL) becomes non-zero (SIGHUP), the document at broker.conf's [network]
 * document is put in force between two batches (reload.h) and *reload is
 * cleared; so is one pushed on the control socket (control.h). */
vg_err vgb_broker_run(vgb_broker *b, volatile sig_atomic_t *stop,
                      volatile sig_atomic_t *reload) VG_MUST_USE;
/* ... or until its lease is lost (lease.h: fenced, the lock gone, the store
 * unreachable, a commit in doubt): then it returns VG_ERR_NOT_LEADER having
 * confirmed nothing more, logs ha.step_down, and vgb_broker_destroy writes
 * nothing. The caller goes back to being a standby (ha.h). */

/* Why the broker's term as leader ended (lease.h: "fenced", "lock_lost",
 * "store_unreachable", "commit_in_doubt"), or NULL while it leads. */
const char *vgb_broker_lost(const vgb_broker *b);

/* Handles one frame as if it had arrived from `agency` (an authenticated
 * ZAP User-Id) on connection `rid`, inside the current batch, then commits
 * the batch and sends its replies, exactly as the poll loop does. For
 * fuzzing and tests that drive the broker without a client socket. */
void vgb_broker_handle_frame(vgb_broker *b, const char *agency, const uint8_t *rid, size_t rid_len,
                             const uint8_t *data, size_t len);

/* Where the broker's frames go. Every frame it would send to a connection
 * (replies, query answers, deliveries, events) is handed to fn(ctx, rid,
 * rid_len, frame, len) instead of the ROUTER; fn returns VG_OK,
 * VG_ERR_NOT_FOUND (the peer is gone) or VG_ERR_TIMEOUT (its queue is full),
 * as the ROUTER would. For tests that drive the broker in-process on an
 * injected clock (fn NULL: the ROUTER again). */
void vgb_broker_set_sender(vgb_broker *b, vgb_send_fn fn, void *ctx);

/* One pass of the loop without reading the socket: due timers (deadlines,
 * escalation steps, offline alarms), checkpoints, deliveries and the query
 * answers that are ready, each batch committed before anything is sent, as
 * vgb_broker_run does between two polls. Returns the ms until something is
 * due (the poll timeout the loop would use). With an injected clock, a test
 * advances the clock and calls it instead of sleeping. Query answers come
 * from the query thread: one asked just before may need a few more calls. */
long vgb_broker_step(vgb_broker *b);

/* Closes sockets and store; NULL-safe; sets *b_p = NULL. */
void vgb_broker_destroy(vgb_broker **b_p);

#endif
