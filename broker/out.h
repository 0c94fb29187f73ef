/*
 * broker/out.h — where the broker's frames go: to its connections over the
 * ROUTER, or, in tests that run the broker in-process, to a function of the
 * test's (vgb_broker_set_sender). Every frame to a connection (replies,
 * deliveries, events, query answers) leaves through here, without blocking.
 *
 * Binds the ROUTER (CurveZMQ server, ZAP domain enforced, the broker's
 * limits) and binds it again when the broker's transport key changes
 * (bkeys.h).
 *
 * Owns: the ROUTER. Thread rules: the loop's thread only.
 */
#ifndef VIGIL_BROKER_OUT_H
#define VIGIL_BROKER_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "vigil/err.h"

#define VGB_RID_MAX 256 /* ZeroMQ routing ids are at most 255 bytes */

/* A test's sender: returns VG_OK, VG_ERR_NOT_FOUND (the peer is gone) or
 * VG_ERR_TIMEOUT (its queue is full), as the ROUTER would. */
typedef vg_err (*vgb_send_fn)(void *ctx, const uint8_t *rid, size_t rid_len, const uint8_t *frame,
                              size_t len);

/* Embedded in the broker. */
typedef struct vgb_out {
    void *router;       /* the ROUTER (ZMQ_ROUTER_MANDATORY), or NULL before it is bound */
    vgb_send_fn fn;     /* when not NULL, frames go here instead */
    void *ctx;          /* fn's context */
    char endpoint[256]; /* where the ROUTER is bound (ZMQ_LAST_ENDPOINT) */
    int handshake_ms;   /* a handshake not done by then closes the connection */
} vgb_out;

/* Creates the ROUTER in zmq_ctx, presenting the CurveZMQ secret key
 * curve_sk (VG_CURVE_KEY_LEN), and binds it to endpoint. VG_ERR_IO with
 * why. */
vg_err vgb_out_bind(vgb_out *o, void *zmq_ctx, const char *endpoint, const uint8_t *curve_sk,
                    int handshake_ms, vg_reason *why) VG_MUST_USE;

/* Closes the ROUTER (its connections close; clients reconnect) and binds a
 * new one to the same endpoint presenting curve_sk, trying for up to 2 s
 * while the port is still held. VG_ERR_IO with why: then there is no
 * ROUTER, and the broker must stop. */
vg_err vgb_out_rebind(vgb_out *o, void *zmq_ctx, const uint8_t *curve_sk,
                      vg_reason *why) VG_MUST_USE;

/* Closes the ROUTER; NULL-safe. */
void vgb_out_close(vgb_out *o);

/* Sends a packed frame to a routing id without blocking. VG_ERR_NOT_FOUND
 * when the peer is gone, VG_ERR_TIMEOUT when its queue is full. */
vg_err vgb_out_send(const vgb_out *o, const uint8_t *rid, size_t rid_len, const uint8_t *frame,
                    size_t len) VG_MUST_USE;

/* The same for a frame the caller holds as ZeroMQ messages (sent without a
 * copy; the caller closes them either way). */
vg_err vgb_out_send_msg(const vgb_out *o, zmq_msg_t *rid, zmq_msg_t *frame) VG_MUST_USE;

#endif
