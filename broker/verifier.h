/*
 * verifier.h — checks the signed envelopes of a poll batch on two threads:
 * the broker loop's own and one worker's. The signature check is the one
 * cost per alert the broker cannot avoid; sharing a batch's checks with the
 * second core takes about half of it off the loop.
 *
 * Owns: the worker thread (joined by vgb_verifier_destroy).
 * Never does: it does not touch the store or any socket; it only calls
 * vg_envelope_verify_claimed, which reads the network document and nothing
 * else.
 * Thread rules: vgb_verifier_run, _start and _wait are called by one thread
 * (the loop); the document must not change while a run is in progress.
 */
#ifndef VIGIL_BROKER_VERIFIER_H
#define VIGIL_BROKER_VERIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/envelope.h"
#include "vigil/err.h"
#include "vigil/netdoc.h"

/* One envelope to check: bytes in; env, rc, why and claimed out (as from
 * vg_envelope_verify_claimed; env is the caller's to destroy). */
typedef struct vgb_verify_job {
    const uint8_t *bytes;               /* the signed envelope */
    size_t len;                         /* its length */
    vg_envelope *env;                   /* verified and parsed, or NULL */
    vg_err rc;                          /* VG_OK or why not */
    vg_reason why;                      /* the reason when not */
    char claimed[VG_AGENCY_ID_MAX + 1]; /* the signer it names, verified or not ("" none) */
} vgb_verify_job;

typedef struct vgb_verifier vgb_verifier;

/* Starts the worker. VG_ERR_NOMEM, or VG_ERR_INTERNAL when no thread can be
 * made (then the caller checks on its own thread: vgb_verifier_run on NULL). */
vg_err vgb_verifier_new(vgb_verifier **out) VG_MUST_USE;

/* Checks jobs[0..n) and returns when every one is done: the caller's thread
 * takes jobs too, so a small batch never waits for the worker to wake. v may
 * be NULL (everything on the caller's thread). */
void vgb_verifier_run(vgb_verifier *v, const vg_netdoc *doc, vgb_verify_job *jobs, size_t n);

/* Starts checking jobs[0..n) on the worker alone and returns at once, so
 * the caller can do other work meanwhile; vgb_verifier_wait returns when
 * they are done. One run at a time: wait before the next start or run. v
 * NULL: they are checked here and now. */
void vgb_verifier_start(vgb_verifier *v, const vg_netdoc *doc, vgb_verify_job *jobs, size_t n);

/* Waits for the run vgb_verifier_start began (returns at once if none). */
void vgb_verifier_wait(vgb_verifier *v);

/* Stops and joins the worker; NULL-safe. */
void vgb_verifier_destroy(vgb_verifier **v);

#endif
