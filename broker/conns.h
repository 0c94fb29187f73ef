/*
 * broker/conns.h — what one agency's connections may cost the broker.
 *
 * ZeroMQ keeps, per connection, the frames the broker has handed it that
 * the kernel has not taken yet (up to ZMQ_SNDHWM frames: VGB_SNDHWM), and
 * the kernel keeps what the peer has not read (its socket send queue). A
 * client that asks and never reads would otherwise grow the broker's memory
 * with every answer: ZeroMQ's queue only grows once the kernel's is full.
 * So, per agency and per connection (a ROUTER routing id):
 *
 *  - at most `max` connections of an agency are open at once (a connection
 *    is open from its first frame until it has been silent for three
 *    keepalives, or until its descriptor is found closed or reused: when
 *    all slots look open, one whose socket no longer has its peer is
 *    taken); a frame on a connection beyond that is refused as
 *    rate_limited and handled no further;
 *  - before a query is answered, the bytes the connection has not read are
 *    looked at (its TCP socket's send queue, SIOCOUTQ, on the descriptor its
 *    frames came on: ZMQ_SRCFD): over `unread_bytes` (broker.conf), the peer
 *    is not reading what it asked for, and it is cut off: logged
 *    (conn.cutoff), its socket shut down (ZeroMQ then drops the connection
 *    and frees what it queued for it: the client sees a disconnection and
 *    may connect again), and a query still in hand is refused as
 *    rate_limited. So one connection holds at most about unread_bytes plus
 *    one answer (at most a frame) in the broker, and the kernel's buffer;
 *  - a connection whose ZeroMQ queue is full (a frame was refused) is cut
 *    off the same way;
 *  - so is one that goes on asking after it was told rate_limited: more than
 *    VGB_CONN_REFUSED_MAX refusals within a second. A flood then costs the
 *    broker a reconnection and a handshake every VGB_CONN_REFUSED_MAX
 *    frames, instead of a reply to every frame.
 *
 * ZeroMQ has no call to close one peer of a ROUTER; shutdown(2) on the
 * descriptor its frames came on does it, and only after checking that the
 * descriptor still has the peer address it had then (a descriptor closed
 * and reused for another connection is left alone).
 *
 * Deliveries and events are not counted here: the delivery window and the
 * event stream bound those, and a full queue only defers them.
 *
 * Owns its table: per agency, slots for the connections it has had (at most
 * max; none for an agency that never connected). Thread rules: one owner
 * (the loop).
 */
#ifndef VIGIL_BROKER_CONNS_H
#define VIGIL_BROKER_CONNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

#define VGB_SNDHWM 1000         /* frames queued per connection (ZMQ_SNDHWM) */
#define VGB_CONN_CUTOFF_MS 5000 /* a connection that does not read is cut off this long */
#define VGB_CONN_RID_MAX 256    /* ZeroMQ routing ids are at most 255 bytes */
#define VGB_CONN_REFUSED_MAX 64 /* rate_limited refusals a second before a cut-off */

typedef struct vgb_conns vgb_conns;

/* A table for n_agencies agencies, max connections each, a connection cut
 * off when it has more than unread_bytes not read. Free with
 * vgb_conns_destroy. */
vg_err vgb_conns_new(vgb_conns **out, size_t n_agencies, uint32_t max, uint64_t unread_bytes,
                     int64_t silent_ms) VG_MUST_USE;

/* NULL-safe; sets *c_p = NULL. */
void vgb_conns_destroy(vgb_conns **c_p);

/* A frame came on rid from agency idx (id `agency`, for the log) at now
 * (monotonic ms), over the socket descriptor fd (ZMQ_SRCFD; -1: unknown).
 * VG_OK, or VG_ERR_RATE_LIMITED with why when rid is a new connection and
 * the agency has max open already. */
vg_err vgb_conns_seen(vgb_conns *c, size_t idx, const char *agency, const uint8_t *rid,
                      size_t rid_len, int fd, int64_t now, vg_reason *why) VG_MUST_USE;

/* The transport key rid authenticated with (Z85; may be NULL) is trusted
 * until until_ms (wall; INT64_MAX: no end): vgb_conns_close_expired closes
 * it then. */
void vgb_conns_key(vgb_conns *c, size_t idx, const uint8_t *rid, size_t rid_len, const char *key,
                   int64_t until_ms);

/* rid said (in its Hello) that it holds network version `have`; the broker
 * runs `current`. True when it holds an older one (not none: 0) and has not
 * been sent `current` unasked yet: the caller sends it the document now
 * (once per connection and version, so a client that refuses the document
 * is not sent it with every keepalive). */
bool vgb_conns_doc_due(vgb_conns *c, size_t idx, const uint8_t *rid, size_t rid_len, uint64_t have,
                       uint64_t current);

/* rid was sent network version `version` unasked. */
void vgb_conns_doc_sent(vgb_conns *c, size_t idx, const uint8_t *rid, size_t rid_len,
                        uint64_t version);

/* Calls fn for every open connection (agency index and routing id). */
void vgb_conns_each(vgb_conns *c, int64_t now,
                    void (*fn)(void *ctx, size_t idx, const uint8_t *rid, size_t rid_len),
                    void *ctx);

/* Closes every connection whose key is no longer trusted at now_wall (a
 * previous key's overlap ended, or it was marked compromised); how many. */
size_t vgb_conns_close_expired(vgb_conns *c, int64_t now_wall,
                               const char *(*name)(void *ctx, size_t idx), void *ctx);

/* After a reload: asks fn, for every open connection with a known key,
 * until when its key is trusted now (< 0: not at all) and closes or
 * re-times it. */
void vgb_conns_recheck(vgb_conns *c, int64_t (*fn)(void *ctx, size_t idx, const char *key),
                       void *ctx);

/* May rid ask a query, or be sent an answer, now? VG_OK, or
 * VG_ERR_RATE_LIMITED with why: it is cut off, or it has more than
 * unread_bytes not read (then it is cut off now, logged once). The loop asks
 * both when a query comes and before its answer is sent. */
vg_err vgb_conns_may_ask(vgb_conns *c, size_t idx, const char *agency, const uint8_t *rid,
                         size_t rid_len, int64_t now, vg_reason *why) VG_MUST_USE;

/* A request from rid was refused as rate_limited: too many of those within a
 * second cut it off (logged once). */
void vgb_conns_refused(vgb_conns *c, size_t idx, const char *agency, const uint8_t *rid,
                       size_t rid_len, int64_t now);

/* An answer was refused by ZeroMQ because rid's queue is full: rid is cut
 * off (logged once). */
void vgb_conns_full(vgb_conns *c, size_t idx, const char *agency, const uint8_t *rid,
                    size_t rid_len, int64_t now);

/* The network grew to n_agencies (agencies are only ever appended): their
 * slots are added, every open connection kept. VG_ERR_NOMEM. */
vg_err vgb_conns_grow(vgb_conns *c, size_t n_agencies) VG_MUST_USE;

/* Closes every connection of agency idx now (revoked: its socket is shut
 * down and ZeroMQ drops it; the ZAP handler refuses it from then on);
 * logged with reason. How many were closed. */
size_t vgb_conns_close_agency(vgb_conns *c, size_t idx, const char *agency, const char *reason,
                              int64_t now);

/* Open connections of agency idx (for tests and logs). */
size_t vgb_conns_open(const vgb_conns *c, size_t idx, int64_t now);

#endif
