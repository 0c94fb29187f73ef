/* control.c — the control socket (control.h). */
#include "control.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <zmq.h>

#include "vigil/log.h"

#define S_COMMAND_MAX 32

struct vgb_control {
    void *rep;       /* the REP socket */
    char path[4096]; /* the ipc file */
};

vg_err
vgb_control_new(vgb_control **out, void *zmq_ctx, const char *dir, vg_reason *why)
{
    vgb_control *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return VG_ERR_NOMEM;
    }
    struct sockaddr_un un;
    int n = snprintf(c->path, sizeof c->path, "%s/%s", dir, VGB_CONTROL_NAME);
    if (n < 0 || (size_t)n >= sizeof un.sun_path) {
        free(c);
        return vg_reason_set(why, VG_ERR_IO,
                             "the control socket %s/%s is longer than a socket path may be (%zu): "
                             "run without one (reload with SIGHUP) or move the store",
                             dir, VGB_CONTROL_NAME, sizeof un.sun_path - 1);
    }
    char endpoint[sizeof c->path + 8];
    snprintf(endpoint, sizeof endpoint, "ipc://%s", c->path);
    int linger = 0;
    c->rep = zmq_socket(zmq_ctx, ZMQ_REP);
    if (c->rep == NULL || zmq_setsockopt(c->rep, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(c->rep, endpoint) != 0) {
        vg_reason_set(why, VG_ERR_IO, "cannot bind the control socket %s: %s", endpoint,
                      zmq_strerror(zmq_errno()));
        vgb_control_destroy(&c);
        return VG_ERR_IO;
    }
    *out = c;
    return VG_OK;
}

void
vgb_control_destroy(vgb_control **c_p)
{
    if (c_p == NULL || *c_p == NULL) {
        return;
    }
    vgb_control *c = *c_p;
    if (c->rep != NULL) {
        zmq_close(c->rep);
        unlink(c->path);
    }
    free(c);
    *c_p = NULL;
}

void *
vgb_control_socket(vgb_control *c)
{
    return c->rep;
}

void
vgb_control_handle(vgb_control *c, vgb_control_fn fn, void *ctx)
{
    zmq_msg_t cmd, body;
    zmq_msg_init(&cmd);
    if (zmq_msg_recv(&cmd, c->rep, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&cmd);
        return;
    }
    zmq_msg_init(&body);
    bool two = zmq_msg_more(&cmd) && zmq_msg_recv(&body, c->rep, 0) >= 0;
    bool more = two && zmq_msg_more(&body);
    while (more) { /* a well-behaved client sends two frames: the rest is read and refused */
        zmq_msg_t junk;
        zmq_msg_init(&junk);
        more = zmq_msg_recv(&junk, c->rep, 0) >= 0 && zmq_msg_more(&junk);
        zmq_msg_close(&junk);
        two = false;
    }
    char reply[VGB_CONTROL_REPLY_MAX] = "";
    char command[S_COMMAND_MAX] = "";
    if (!two || zmq_msg_size(&cmd) >= sizeof command) {
        snprintf(reply, sizeof reply,
                 "refused: a request is two frames, a command (push, status, purge, hold) and "
                 "its body");
    } else {
        memcpy(command, zmq_msg_data(&cmd), zmq_msg_size(&cmd));
        fn(ctx, command, zmq_msg_data(&body), zmq_msg_size(&body), reply, sizeof reply);
    }
    if (zmq_send(c->rep, reply, strlen(reply), 0) < 0) {
        vg_log(VG_LOG_WARN, "broker", "control.reply", "msg=\"%s\"", zmq_strerror(zmq_errno()));
    }
    zmq_msg_close(&cmd);
    zmq_msg_close(&body);
}
