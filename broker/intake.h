/*
 * broker/intake.h — messages taken from the ROUTER together (one poll
 * batch), unpacked, with the list of their envelopes' signature checks for
 * the verifier (verifier.h). A message is [routing id][one frame]; one of
 * another shape is kept as malformed (its sender is told), never handled.
 *
 * Owns: the messages it holds (closed by vgb_intake_clear or _destroy).
 * Thread rules: the loop's thread (the verifier reads the jobs while a run
 * is in progress: verifier.h).
 */
#ifndef VIGIL_BROKER_INTAKE_H
#define VIGIL_BROKER_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "verifier.h"
#include "vigil.pb-c.h"
#include "vigil/err.h"

/* One message, between its receipt and its handling. */
typedef struct vgb_inmsg {
    zmq_msg_t rid, payload; /* routing id and the frame */
    bool ok;                /* well-formed and authenticated */
    bool extra;             /* came with more than one frame */
    const char *user;       /* ZAP User-Id (in payload's metadata) */
    const char *key;        /* its transport key, Z85 (metadata; NULL: unknown) */
    int64_t key_until_ms;   /* the key is trusted until then (INT64_MAX: no end) */
    Vigil__ClientFrame *cf; /* unpacked, or NULL (the handler takes it) */
    vgb_verify_job *job;    /* its envelope's check, or NULL */
} vgb_inmsg;

/* Up to `max` messages and their checks. */
typedef struct vgb_intake {
    vgb_inmsg *in;        /* max slots */
    vgb_verify_job *jobs; /* max slots */
    size_t n, n_jobs;     /* used */
    size_t max;           /* slots */
} vgb_intake;

/* Allocates max slots (broker.conf batch). VG_ERR_NOMEM. */
vg_err vgb_intake_init(vgb_intake *x, size_t max) VG_MUST_USE;

/* Closes what it holds (messages taken, never handled) and frees it. */
void vgb_intake_fini(vgb_intake *x);

/* Takes what the router holds, up to max, and lists the publishes' checks
 * (not yet done). */
void vgb_intake_take(vgb_intake *x, void *router);

/* Closes message i after its handling (its cf and job env, if still there). */
void vgb_intake_close(vgb_inmsg *m);

/* The request id of a frame that may not parse as a whole: ClientFrame's
 * field 1 is written first, as tag 0x08 and a varint. 0 when unreadable. */
uint64_t vgb_peek_request_id(const uint8_t *data, size_t len);

#endif
