/*
 * broker/control.h — the broker's control socket, for its administrator on
 * the same machine: `vigilctl network push` hands it a new signed network
 * document (reload.h), `vigilctl broker status` asks what it is doing,
 * `vigilctl purge` and `vigilctl hold` manage retention (retain.h).
 *
 * A ZeroMQ REP socket at ipc://STORE/control (STORE: broker.conf's store
 * directory, which only the broker's user may enter: the file system is
 * the access control; every document is verified against the admin key
 * anyway). A request is two frames: the command ("push", "status", and
 * retention's "purge" and "hold": retain.h) and its body (the signed
 * document for push, empty for status); the reply is one
 * frame of text: "ok ..." or "refused: reason". Requests are answered one at
 * a time, between two batches.
 *
 * Owns: the socket (and the ipc file, removed at stop).
 * Thread rules: the loop's thread only.
 */
#ifndef VIGIL_BROKER_CONTROL_H
#define VIGIL_BROKER_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

#define VGB_CONTROL_NAME "control" /* the ipc file in the store directory */
#define VGB_CONTROL_REPLY_MAX 4096 /* a reply's text, at most */

typedef struct vgb_control vgb_control;

/* Binds ipc://dir/control in zmq_ctx. VG_ERR_IO with why when it cannot
 * (a path too long for a socket: the broker runs without one, reloads by
 * SIGHUP still work). Free with vgb_control_destroy. */
vg_err vgb_control_new(vgb_control **out, void *zmq_ctx, const char *dir,
                       vg_reason *why) VG_MUST_USE;

/* NULL-safe; sets *c_p = NULL. */
void vgb_control_destroy(vgb_control **c_p);

/* The socket to poll (ZMQ_POLLIN: a request waits). */
void *vgb_control_socket(vgb_control *c);

/* Answers a request: fn(ctx, command, body, len, reply, reply_len) writes
 * the reply text (NUL-terminated, at most reply_len bytes). Never blocks on
 * a request that is not there. */
typedef void (*vgb_control_fn)(void *ctx, const char *command, const uint8_t *body, size_t len,
                               char *reply, size_t reply_len);
void vgb_control_handle(vgb_control *c, vgb_control_fn fn, void *ctx);

#endif
