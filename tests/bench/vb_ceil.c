/* store-tamper: measures SQLite's own write ceiling on a scratch database, never the store */
/*
 * vb_ceil.c — see vb_ceil.h.
 */
#define _GNU_SOURCE

#include "vb_ceil.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>
#include <zmq.h>

#include "vb_net.h"
#include "vigil/wire.h"

#define S_ROUTER_WINDOW 1000 /* frames the producer keeps unanswered */
#define S_FANOUT_MAX 8

double
vb_ceil_verify(const vg_keyset *keys, const uint8_t *msg, size_t len, int64_t ms)
{
    uint8_t sig[VG_SIGNATURE_LEN];
    if (vg_sign(sig, keys, VG_DOMAIN_ENVELOPE, msg, len) != VG_OK) {
        return 0;
    }
    const uint8_t *pk = vg_keyset_sign_pk(keys);
    int64_t start = vb_mono_ns(), end = start + ms * 1000000;
    size_t n = 0;
    int64_t now = start;
    while (now < end) {
        for (int i = 0; i < 200; i++) {
            if (vg_verify(sig, pk, VG_DOMAIN_ENVELOPE, msg, len) == VG_OK) {
                n++;
            }
        }
        now = vb_mono_ns();
    }
    return (double)n * 1e9 / (double)(now - start);
}

static int
s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static bool
s_exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
}

vb_sqlite_ceil
vb_ceil_sqlite(const char *dir, size_t row_bytes, int per_commit, int64_t ms)
{
    vb_sqlite_ceil r = {0};
    char path[VB_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/ceiling.db", dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL;
    size_t cap = 1 << 16, n_commits = 0, rows = 0;
    int64_t *lat = calloc(cap, sizeof *lat);
    uint8_t *blob = malloc(row_bytes);
    if (lat == NULL || blob == NULL || sqlite3_open(path, &db) != SQLITE_OK ||
        !s_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                    "CREATE TABLE t(id INTEGER PRIMARY KEY, k BLOB NOT NULL UNIQUE, v BLOB)") ||
        sqlite3_prepare_v2(db, "INSERT INTO t(k, v) VALUES(?1, ?2)", -1, &ins, NULL) != SQLITE_OK) {
        goto out;
    }
    randombytes_buf(blob, row_bytes);
    int64_t start = vb_mono_ns(), end = start + ms * 1000000, now = start;
    while (now < end && n_commits < cap) {
        s_exec(db, "BEGIN");
        for (int i = 0; i < per_commit; i++) {
            uint8_t key[VG_ALERT_ID_LEN];
            randombytes_buf(key, sizeof key);
            sqlite3_bind_blob(ins, 1, key, sizeof key, SQLITE_STATIC);
            sqlite3_bind_blob(ins, 2, blob, (int)row_bytes, SQLITE_STATIC);
            if (sqlite3_step(ins) == SQLITE_DONE) {
                rows++;
            }
            sqlite3_reset(ins);
        }
        int64_t c0 = vb_mono_ns();
        s_exec(db, "COMMIT");
        now = vb_mono_ns();
        lat[n_commits++] = now - c0;
    }
    r.rows_per_s = (double)rows * 1e9 / (double)(now - start);
    qsort(lat, n_commits, sizeof *lat, s_cmp_i64);
    r.commit_p99_ms = n_commits ? (double)lat[n_commits * 99 / 100] / 1e6 : 0;
    r.commit_max_ms = n_commits ? (double)lat[n_commits - 1] / 1e6 : 0;
out:
    sqlite3_finalize(ins);
    sqlite3_close(db);
    free(lat);
    free(blob);
    unlink(path);
    snprintf(path, sizeof path, "%s/ceiling.db-wal", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/ceiling.db-shm", dir);
    unlink(path);
    return r;
}

/* ---- the ZeroMQ ROUTER hop ---------------------------------------------------------- */

typedef struct s_hop {
    char endpoint[64];                    /* where the ROUTER listens */
    uint8_t server_pk[32], server_sk[32]; /* its CurveZMQ pair */
    int fanout;                           /* receivers */
    size_t frame_bytes;                   /* payload size */
    size_t n;                             /* frames to send */
    int64_t deadline_ns;                  /* nothing runs past this */
    int64_t t_first, t_last;              /* first inbound frame, last ack (router clock) */
    size_t acks;                          /* acks the router saw */
} s_hop;

typedef struct s_consumer {
    s_hop *hop; /* the shared run description (read-only here) */
    int idx;    /* routing id is "c<idx>" */
} s_consumer;

static void *
s_client_socket(void *ctx, const s_hop *h, const char *id)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    uint8_t pk[32], sk[32];
    int zero = 0;
    crypto_box_keypair(pk, sk); /* CurveZMQ keys are X25519 pairs */
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, h->server_pk, 32);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pk, 32);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sk, 32);
    zmq_setsockopt(s, ZMQ_ROUTING_ID, id, strlen(id));
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_connect(s, h->endpoint);
    return s;
}

/* One frame, or false at the deadline. */
static bool
s_recv_until(void *sock, zmq_msg_t *m, int64_t deadline_ns)
{
    while (vb_mono_ns() < deadline_ns) {
        if (zmq_msg_recv(m, sock, ZMQ_DONTWAIT) >= 0) {
            return true;
        }
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
        zmq_poll(&it, 1, 50);
    }
    return false;
}

static void *
s_hop_consumer(void *arg)
{
    const s_consumer *c = arg;
    const s_hop *h = c->hop;
    void *ctx = zmq_ctx_new();
    char id[16];
    snprintf(id, sizeof id, "c%d", c->idx);
    void *s = s_client_socket(ctx, h, id);
    zmq_send(s, "hi", 2, 0);
    zmq_msg_t m;
    zmq_msg_init(&m);
    for (size_t got = 0; got < h->n && s_recv_until(s, &m, h->deadline_ns); got++) {
        zmq_send(s, "a", 1, 0);
    }
    zmq_msg_close(&m);
    /* The last acks may still be queued in ZeroMQ: with LINGER 0 the close
     * dropped them, and the router waited for them until its deadline (the
     * "acks lost" runs). Give them until the deadline to leave. */
    int64_t left_ms = (h->deadline_ns - vb_mono_ns()) / 1000000;
    int linger = left_ms > 0 ? (int)left_ms : 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return NULL;
}

static void *
s_hop_producer(void *arg)
{
    s_hop *h = arg;
    void *ctx = zmq_ctx_new();
    void *s = s_client_socket(ctx, h, "p");
    uint8_t *frame = malloc(h->frame_bytes);
    memset(frame, 'x', h->frame_bytes);
    zmq_msg_t m;
    zmq_msg_init(&m);
    zmq_send(s, "hi", 2, 0);
    s_recv_until(s, &m, h->deadline_ns); /* "go": every consumer is attached */
    size_t sent = 0, answered = 0;
    while (answered < h->n && vb_mono_ns() < h->deadline_ns) {
        while (sent < h->n && sent - answered < S_ROUTER_WINDOW) {
            zmq_send(s, frame, h->frame_bytes, 0);
            sent++;
        }
        if (s_recv_until(s, &m, h->deadline_ns)) {
            answered++;
        }
    }
    zmq_msg_close(&m);
    free(frame);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return NULL;
}

/* Forwards [p][frame] to every consumer and answers p; counts acks. */
static void
s_hop_route(s_hop *h, void *r)
{
    int hellos = 0;
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    zmq_msg_init(&body);
    while (h->acks < h->n * (size_t)h->fanout && s_recv_until(r, &id, h->deadline_ns)) {
        zmq_msg_recv(&body, r, 0);
        const char *who = zmq_msg_data(&id);
        bool hello = zmq_msg_size(&body) == 2 && memcmp(zmq_msg_data(&body), "hi", 2) == 0;
        if (hello && ++hellos == h->fanout + 1) {
            zmq_send(r, "p", 1, ZMQ_SNDMORE);
            zmq_send(r, "go", 2, 0);
        } else if (!hello && who[0] == 'p') {
            h->t_first = h->t_first ? h->t_first : vb_mono_ns();
            for (int c = 0; c < h->fanout; c++) {
                char cid[16];
                snprintf(cid, sizeof cid, "c%d", c);
                zmq_msg_t copy;
                zmq_msg_init(&copy);
                zmq_msg_copy(&copy, &body);
                zmq_send(r, cid, strlen(cid), ZMQ_SNDMORE);
                zmq_msg_send(&copy, r, 0);
            }
            zmq_send(r, "p", 1, ZMQ_SNDMORE);
            zmq_send(r, "ok", 2, 0);
        } else if (!hello) {
            h->acks++;
            h->t_last = vb_mono_ns();
        }
    }
    zmq_msg_close(&id);
    zmq_msg_close(&body);
}

double
vb_ceil_router(int fanout, size_t frame_bytes, size_t n, int64_t ms)
{
    s_hop h = {.fanout = fanout > S_FANOUT_MAX ? S_FANOUT_MAX : fanout,
               .frame_bytes = frame_bytes,
               .n = n,
               .deadline_ns = vb_mono_ns() + ms * 1000000};
    crypto_box_keypair(h.server_pk, h.server_sk);
    void *ctx = zmq_ctx_new();
    void *r = zmq_socket(ctx, ZMQ_ROUTER);
    int one = 1, zero = 0;
    zmq_setsockopt(r, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt(r, ZMQ_CURVE_SECRETKEY, h.server_sk, 32);
    zmq_setsockopt(r, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(r, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(r, ZMQ_RCVHWM, &zero, sizeof zero);
    size_t elen = sizeof h.endpoint;
    if (zmq_bind(r, "tcp://127.0.0.1:*") != 0 ||
        zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, h.endpoint, &elen) != 0) {
        zmq_close(r);
        zmq_ctx_term(ctx);
        return 0;
    }
    pthread_t th[S_FANOUT_MAX + 1];
    s_consumer cons[S_FANOUT_MAX];
    for (int c = 0; c < h.fanout; c++) {
        cons[c] = (s_consumer){&h, c};
        pthread_create(&th[c], NULL, s_hop_consumer, &cons[c]);
    }
    pthread_create(&th[h.fanout], NULL, s_hop_producer, &h);
    s_hop_route(&h, r);
    for (int c = 0; c <= h.fanout; c++) {
        pthread_join(th[c], NULL);
    }
    zmq_close(r);
    zmq_ctx_term(ctx);
    if (h.acks < n * (size_t)h.fanout || h.t_last <= h.t_first) {
        fprintf(stderr, "vb_ceil_router: %zu of %zu acks within %lld ms; no figure\n", h.acks,
                n * (size_t)h.fanout, (long long)ms);
        return 0;
    }
    return (double)n * 1e9 / (double)(h.t_last - h.t_first);
}
