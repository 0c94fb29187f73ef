/*
 * broker/delivery.h — getting every alert to each recipient's receiving
 * connection: per-agency in-flight windows and redelivery with backoff.
 *
 * The store is the queue: an agency's window holds at most cfg->inflight
 * alert numbers; the envelopes are read from the store when sent (or taken
 * from the frames of recent alerts, packed once), with the share records the
 * agency needs to open them. A window fills from every PENDING row of the
 * agency, whenever it became pending (a share of an old alert is found like a
 * new alert): fresh ones in acceptance order first, then retries that are
 * due. So each sender's alerts reach an agency for the first time in the
 * order they were accepted, across reconnects, parking and restarts;
 * retries (and an escalation's "redeliver") may come in any order.
 *
 * Nothing an agency is sent can hold its window for ever: a delivery sent
 * VGB_PARK_AFTER_SENDS times without a receipt (counted across reconnects:
 * the window outlives its connection) leaves the window and waits in
 * the store (vgb_store_park) for its next try, with the backoff doubling up
 * to redeliver_max, so fresh alerts always find room. (The agent receipts an
 * alert it cannot open as UNOPENABLE, which frees its slot at once; this is
 * for whatever is left: a client that crashes on one alert, or does not
 * receipt at all.) An agency that is slow or absent costs nothing but its
 * rows on disk.
 *
 * Owns: each agency's receiving connection, its window and its wake time;
 * the packed frames of recent alerts.
 * Thread rules: the loop's thread only.
 */
#ifndef VIGIL_BROKER_DELIVERY_H
#define VIGIL_BROKER_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "out.h"
#include "store.h"
#include "vigil/broker_config.h"
#include "vigil/clock.h"
#include "vigil/err.h"
#include "vigil/netdoc.h"

#define VGB_PARK_AFTER_SENDS 2 /* sends without a receipt before a delivery leaves the window */

typedef struct vgb_delivery vgb_delivery;

/* Told when an agency (an index) gets or loses its receiving connection. */
typedef void (*vgb_presence_fn)(void *ctx, size_t agency, bool online);

/* One window per agency of doc (cfg->inflight slots, made when the agency
 * first connects to receive). Every pointer is
 * borrowed and outlives the delivery. Free with vgb_delivery_destroy. */
vg_err vgb_delivery_new(vgb_delivery **out, vgb_store *store, const vg_netdoc *doc,
                        const vg_broker_config *cfg, const vg_clock *clock, const vgb_out *o,
                        vgb_presence_fn presence, void *presence_ctx) VG_MUST_USE;

/* NULL-safe; sets *d_p = NULL. */
void vgb_delivery_destroy(vgb_delivery **d_p);

/* The network document changed (agencies only appended): new agencies get
 * a window; a revoked agency loses its receiving connection and is sent
 * nothing more. doc is borrowed and outlives the delivery. VG_ERR_NOMEM. */
vg_err vgb_delivery_renew(vgb_delivery *d, const vg_netdoc *doc) VG_MUST_USE;

/* Makes rid the agency's receiving connection: what was in flight is sent
 * again at once (its sends still counted), then the rest in order; a parked
 * delivery at its next try. The same rid again only keeps it alive. */
void vgb_delivery_attach(vgb_delivery *d, size_t agency, const uint8_t *rid, size_t rid_len);

/* A frame came from rid of agency: the receiving connection stays alive. */
void vgb_delivery_seen(vgb_delivery *d, size_t agency, const uint8_t *rid, size_t rid_len);

/* True while the agency has a receiving connection. */
bool vgb_delivery_online(const vgb_delivery *d, size_t agency);

/* After a commit: the agency's queue in the store has new work. */
void vgb_delivery_dirty(vgb_delivery *d, size_t agency);

/* After a commit: seq was receipted by the agency (it leaves the window). */
void vgb_delivery_receipted(vgb_delivery *d, size_t agency, uint64_t seq);

/* Keeps alert seq's Deliver frame (just accepted: no shares) for sending. */
void vgb_delivery_remember(vgb_delivery *d, uint64_t seq, const uint8_t *env, size_t len);

/* Forgets seq's frame (it got a share record), or every frame (seq 0: the
 * batch was rolled back, its seqs are free again). */
void vgb_delivery_forget(vgb_delivery *d, uint64_t seq);

/* Sends what is due (new work within the windows, redeliveries); parking
 * writes in the batch transaction. Returns the ms until the next is due. */
long vgb_delivery_service(vgb_delivery *d);

/* An escalation step "redeliver": sends alert seq to the agency's
 * connection now, with the share records it needs, when it was sent before
 * (it is in the window, or sent_before: it was receipted as delivered, or
 * set aside unreceipted). An alert never sent yet is left where it is: next
 * in line, in acceptance order.
 * Nothing happens while the agency is away (it gets everything when it
 * connects). */
void vgb_delivery_redeliver(vgb_delivery *d, size_t agency, uint64_t seq, bool sent_before);

#endif
