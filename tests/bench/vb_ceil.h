/*
 * vb_ceil.h — the ceilings vigil-bench measures beside the broker, in the
 * same run on the same machine: what one core verifies (Ed25519, libsodium
 * through vg_verify, the broker's own call), what SQLite group-commits with
 * synchronous=FULL on the store's disk, and what a plain ZeroMQ ROUTER hop
 * forwards over CurveZMQ. Each runs for a bounded time and returns a rate.
 * Single-threaded callers; the ZeroMQ ceiling starts and joins its own
 * threads.
 */
#ifndef VIGIL_TESTS_BENCH_VB_CEIL_H
#define VIGIL_TESTS_BENCH_VB_CEIL_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/keys.h"

/* Ed25519 verifications per second of msg (signed with keys under
 * VG_DOMAIN_ENVELOPE) on this thread, over about ms milliseconds. */
double vb_ceil_verify(const vg_keyset *keys, const uint8_t *msg, size_t len, int64_t ms);

typedef struct vb_sqlite_ceil {
    double rows_per_s;    /* rows committed per second */
    double commit_p99_ms; /* 99th percentile of one COMMIT */
    double commit_max_ms; /* slowest COMMIT */
} vb_sqlite_ceil;

/* Inserts rows of row_bytes (a blob) in transactions of per_commit rows into
 * a fresh WAL database dir/ceiling.db with synchronous=FULL, for about ms
 * milliseconds; removes the database after. */
vb_sqlite_ceil vb_ceil_sqlite(const char *dir, size_t row_bytes, int per_commit, int64_t ms);

/* A ROUTER on tcp://127.0.0.1 (CurveZMQ) that forwards each 1 KiB frame from
 * one DEALER to fanout DEALERs and answers the sender, while the receivers
 * answer each frame back (an ack): inbound frames per second with every
 * forward acknowledged, for n frames (bounded by ms). */
double vb_ceil_router(int fanout, size_t frame_bytes, size_t n, int64_t ms);

#endif
