/*
 * broker/reader.h — queries answered on a thread of their own, fairly, from
 * committed state, so that no agency's queries delay anybody's publish.
 *
 * Before, a query ran on the loop inside the batch, and every Confirm of
 * that batch waited for it: one agency's flood of snapshots moved another's
 * publish-to-confirm from 2 ms to 1 s. Now the loop only queues a query
 * (vgb_reader_submit) and goes on; a worker thread with its own read
 * connection to the store answers it (query.h) inside a read transaction,
 * so an answer is one consistent committed state (what a batch has not
 * committed yet is not in it), and hands the packed answer back to the loop,
 * which sends it.
 *
 * Fairness and limits, per agency:
 *  - at most queue_max queries wait; another is refused at once as
 *    rate_limited (a clear ErrorReply), never queued without bound;
 *  - the worker takes them round robin across the agencies that have some,
 *    so a flood from one agency delays another's query by one answer at most;
 *  - each agency has a budget of worker time (CPU time the worker spent on
 *    its answers): 2 * time_ms_per_s at once, time_ms_per_s per second after;
 *    an agency over budget waits (its queue fills, then it is refused), so
 *    one agency cannot take more than its share of the worker thread.
 *
 * Thread rules: every function here runs on the loop thread; the loop and the
 * worker talk over an inproc ZeroMQ PAIR only. The worker owns its
 * connection and audit handle; it reads the network document handed over
 * with each query and the broker keys, which are immutable and outlive it
 * (a document replaced by a reload stays alive until the broker stops). It blocks signals and is
 * named VGB_READER_THREAD_NAME.
 */
#ifndef VIGIL_BROKER_READER_H
#define VIGIL_BROKER_READER_H

#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include "store.h"
#include "vigil.pb-c.h"
#include "vigil/err.h"
#include "vigil/keys.h"
#include "vigil/netdoc.h"

#define VGB_READER_THREAD_NAME "vigil-query"
#define VGB_READER_INFLIGHT 2 /* queries handed to the worker at once */

typedef struct vgb_reader vgb_reader;

typedef struct vgb_reader_params {
    void *zmq_ctx;          /* for the inproc pair; outlives the reader */
    const vgb_store *store; /* the owner's store: the worker opens a reader of it */
    const vg_netdoc *doc;   /* borrowed, immutable; outlives the reader */
    const vg_keyset *keys;  /* borrowed (the audit module's handle wants them) */
    size_t n_agencies;      /* agency indices are below this */
    uint32_t queue_max;     /* queries waiting per agency */
    uint32_t time_ms_per_s; /* worker time per agency per second */
} vgb_reader_params;

/* Opens the worker's read connection and starts it. VG_ERR_IO (with why)
 * when the connection, the sockets or the thread cannot be made. Free with
 * vgb_reader_destroy. */
vg_err vgb_reader_new(vgb_reader **out, const vgb_reader_params *p, vg_reason *why) VG_MUST_USE;

/* Stops the worker (an answer in progress is finished and dropped), joins it;
 * queued queries are dropped (their clients time out and ask again).
 * NULL-safe; sets *r_p = NULL. */
void vgb_reader_destroy(vgb_reader **r_p);

/* Queues q (copied) from agency idx, whose id is `agency` (borrowed: an id
 * of the network document), to be answered to rid with request_id.
 * VG_ERR_RATE_LIMITED with why when the agency has queue_max waiting;
 * VG_ERR_NOMEM. */
vg_err vgb_reader_submit(vgb_reader *r, size_t idx, const char *agency, const uint8_t *rid,
                         size_t rid_len, uint64_t request_id, const Vigil__Query *q,
                         vg_reason *why) VG_MUST_USE;

/* The network document changed (agencies only appended): queries handed
 * over from now on are answered under doc; those with the worker already
 * finish under the one they were handed over with (every document stays
 * alive until the broker stops). doc is borrowed. VG_ERR_NOMEM. */
vg_err vgb_reader_renew(vgb_reader *r, const vg_netdoc *doc) VG_MUST_USE;

/* The socket to poll (ZMQ_POLLIN: answers are ready). */
void *vgb_reader_socket(vgb_reader *r);

/* An answer for the loop to send: rid and frame are zmq messages it may send
 * (zmq_msg_send moves them) or close; either way the callback leaves them
 * closed or sent. */
typedef void (*vgb_reader_deliver_fn)(void *ctx, size_t idx, zmq_msg_t *rid, zmq_msg_t *frame);

/* Hands every ready answer to deliver, then gives the worker the next
 * queued queries (round robin, within budgets). Returns the ms until a
 * budget refills enough to hand over a waiting query, or -1 when nothing
 * waits for that. Never blocks. */
long vgb_reader_service(vgb_reader *r, int64_t now_mono, vgb_reader_deliver_fn deliver, void *ctx);

#endif
