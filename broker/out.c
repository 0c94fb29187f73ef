/* out.c — frames to connections, over the ROUTER or to a test's sender. */
#include "out.h"

#include <errno.h>

vg_err
vgb_out_send(const vgb_out *o, const uint8_t *rid, size_t rid_len, const uint8_t *frame,
             size_t len)
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
