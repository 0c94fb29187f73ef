/* out.c — frames to connections, over the ROUTER or to a test's sender. */
#include "out.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conns.h"
#include "vigil/keys.h"
#include "vigil/wire.h"
#include "zap.h"

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93 /* draft in zmq.h, supported by libzmq >= 4.3 */
#endif

#define VGB_BACKLOG 128 /* connections the kernel queues before the broker accepts them */
#define S_REBIND_TRIES 40
#define S_REBIND_PAUSE_MS 50

static vg_err
s_bind(vgb_out *o, void *zmq_ctx, const char *endpoint, const uint8_t *curve_sk, vg_reason *why)
{
    int one = 1, linger = 0, server = 1, sndhwm = VGB_SNDHWM, backlog = VGB_BACKLOG;
    int handshake = o->handshake_ms;
    int64_t maxmsg = VG_FRAME_MAX_BYTES;
    int hb_ivl = 2000, hb_timeout = 10000;
    void *r = zmq_socket(zmq_ctx, ZMQ_ROUTER);
    if (r == NULL || zmq_setsockopt(r, ZMQ_CURVE_SERVER, &server, sizeof server) != 0 ||
        zmq_setsockopt(r, ZMQ_CURVE_SECRETKEY, curve_sk, VG_CURVE_KEY_LEN) != 0 ||
        zmq_setsockopt(r, ZMQ_ZAP_DOMAIN, VGB_ZAP_DOMAIN, strlen(VGB_ZAP_DOMAIN)) != 0 ||
        zmq_setsockopt(r, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0 ||
        zmq_setsockopt(r, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(r, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0 ||
        zmq_setsockopt(r, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl) != 0 ||
        zmq_setsockopt(r, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout) != 0 ||
        zmq_setsockopt(r, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm) != 0 ||
        zmq_setsockopt(r, ZMQ_HANDSHAKE_IVL, &handshake, sizeof handshake) != 0 ||
        zmq_setsockopt(r, ZMQ_BACKLOG, &backlog, sizeof backlog) != 0 ||
        zmq_setsockopt(r, ZMQ_LINGER, &linger, sizeof linger) != 0) {
        vg_reason_set(why, VG_ERR_IO, "cannot set up the broker socket: %s",
                      zmq_strerror(zmq_errno()));
        if (r != NULL) {
            zmq_close(r);
        }
        return VG_ERR_IO;
    }
    if (zmq_bind(r, endpoint) != 0) {
        vg_reason_set(why, VG_ERR_IO, "cannot bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
        zmq_close(r);
        return VG_ERR_IO;
    }
    o->router = r;
    size_t elen = sizeof o->endpoint;
    zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, o->endpoint, &elen);
    return VG_OK;
}

vg_err
vgb_out_bind(vgb_out *o, void *zmq_ctx, const char *endpoint, const uint8_t *curve_sk,
             int handshake_ms, vg_reason *why)
{
    o->handshake_ms = handshake_ms;
    return s_bind(o, zmq_ctx, endpoint, curve_sk, why);
}

vg_err
vgb_out_rebind(vgb_out *o, void *zmq_ctx, const uint8_t *curve_sk, vg_reason *why)
{
    char endpoint[sizeof o->endpoint];
    snprintf(endpoint, sizeof endpoint, "%s", o->endpoint);
    vgb_out_close(o);
    vg_err rc = VG_ERR_IO;
    for (int i = 0; i < S_REBIND_TRIES && rc != VG_OK; i++) {
        if (i > 0) { /* the old listener's port is released by ZeroMQ's I/O thread */
            struct timespec ts = {0, S_REBIND_PAUSE_MS * 1000000L};
            nanosleep(&ts, NULL);
        }
        rc = s_bind(o, zmq_ctx, endpoint, curve_sk, why);
    }
    return rc;
}

void
vgb_out_close(vgb_out *o)
{
    if (o->router != NULL) {
        zmq_close(o->router);
        o->router = NULL;
    }
}

vg_err
vgb_out_send(const vgb_out *o, const uint8_t *rid, size_t rid_len, const uint8_t *frame, size_t len)
{
    if (o->fn != NULL) {
        return o->fn(o->ctx, rid, rid_len, frame, len);
    }
    if (zmq_send(o->router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        return errno == EHOSTUNREACH ? VG_ERR_NOT_FOUND : VG_ERR_TIMEOUT;
    }
    if (zmq_send(o->router, frame, len, ZMQ_DONTWAIT) < 0) {
        return VG_ERR_TIMEOUT;
    }
    return VG_OK;
}

vg_err
vgb_out_send_msg(const vgb_out *o, zmq_msg_t *rid, zmq_msg_t *frame)
{
    if (o->fn != NULL) {
        return o->fn(o->ctx, zmq_msg_data(rid), zmq_msg_size(rid), zmq_msg_data(frame),
                     zmq_msg_size(frame));
    }
    if (zmq_msg_send(rid, o->router, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        return zmq_errno() == EHOSTUNREACH ? VG_ERR_NOT_FOUND : VG_ERR_TIMEOUT;
    }
    if (zmq_msg_send(frame, o->router, ZMQ_DONTWAIT) < 0) {
        return VG_ERR_TIMEOUT;
    }
    return VG_OK;
}
