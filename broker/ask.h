/*
 * broker/ask.h — a Query frame on the loop: admitted (the connection reads
 * what it is sent, the agency has not used up its share) and queued for the
 * query thread (reader.h), or refused at once as rate_limited; and, when
 * the thread has answered, the answer sent, or the connection cut off when
 * it does not read (conns.h).
 *
 * Owns: nothing (the reader and the connection table are the broker's).
 * Thread rules: the loop's thread only.
 */
#ifndef VIGIL_BROKER_ASK_H
#define VIGIL_BROKER_ASK_H

#include <stddef.h>
#include <zmq.h>

#include "batch.h"
#include "conns.h"
#include "out.h"
#include "reader.h"
#include "vigil.pb-c.h"
#include "vigil/clock.h"
#include "vigil/netdoc.h"

/* What queries go through (all borrowed from the broker). */
typedef struct vgb_asking {
    const vg_netdoc *doc;  /* agency ids by index */
    const vg_clock *clock; /* the monotonic clock */
    vgb_conns *conns;      /* what each connection may cost */
    vgb_reader *reader;    /* the query thread */
    vgb_batch *batch;      /* refusals are replies of the batch */
    const vgb_out *out;    /* where answers go */
} vgb_asking;

/* A Query from `from`: queued, or refused with an ErrorReply in the batch. */
void vgb_ask(const vgb_asking *k, const vgb_from *from, const Vigil__Query *q);

/* Sends the answers the query thread has ready (a vgb_reader_deliver_fn
 * with ctx a vgb_asking); returns what vgb_reader_service returns. */
long vgb_ask_answers(const vgb_asking *k);

#endif
