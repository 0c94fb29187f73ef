/*
 * broker/out.h — where the broker's frames go: to its connections over the
 * ROUTER, or, in tests that run the broker in-process, to a function of the
 * test's (vgb_broker_set_sender). Every frame to a connection (replies,
 * deliveries, events, query answers) leaves through here, without blocking.
 *
 * Owns: nothing (the ROUTER is the broker's).
 * Thread rules: the loop's thread only.
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

/* Embedded in the broker (it is two pointers and a hook). */
typedef struct vgb_out {
    void *router;   /* the ROUTER (ZMQ_ROUTER_MANDATORY), or NULL before it is bound */
    vgb_send_fn fn; /* when not NULL, frames go here instead */
    void *ctx;      /* fn's context */
} vgb_out;

/* Sends a packed frame to a routing id without blocking. VG_ERR_NOT_FOUND
 * when the peer is gone, VG_ERR_TIMEOUT when its queue is full. */
vg_err vgb_out_send(const vgb_out *o, const uint8_t *rid, size_t rid_len, const uint8_t *frame,
                    size_t len) VG_MUST_USE;

/* The same for a frame the caller holds as ZeroMQ messages (sent without a
 * copy; the caller closes them either way). */
vg_err vgb_out_send_msg(const vgb_out *o, zmq_msg_t *rid, zmq_msg_t *frame) VG_MUST_USE;

#endif
