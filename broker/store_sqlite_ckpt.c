/* checkpointer.c — WAL checkpoints on a worker thread (see checkpointer.h). */
#include "store_sqlite_ckpt.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include <sqlite3.h>
#include <zmq.h>

#include "vigil/log.h"

#define S_ENDPOINT_FMT "inproc://vigil-checkpointer-%p"
#define S_OP_PASSIVE 'P' /* loop -> worker: a PASSIVE checkpoint */
#define S_OP_REWIND 'W'  /* loop -> worker: PASSIVE, then one RESTART attempt */
#define S_OP_RESTART 'R' /* loop -> worker: one RESTART attempt */
#define S_OP_STOP 'S'    /* loop -> worker: close and exit */

/* The worker's answer to one request. */
typedef struct s_answer {
    int rc;       /* SQLite result of the checkpoint */
    int n_log;    /* frames in the WAL, -1 when unknown */
    int n_copied; /* of those, copied into the database file, -1 when unknown */
} s_answer;

/* The worker's own state: between pthread_create and pthread_join only the
 * worker thread touches it. */
typedef struct s_worker {
    sqlite3 *db;              /* its connection to the store's database */
    void *pair;               /* its end of the PAIR (connected) */
    uint32_t pages;           /* the threshold (for the RESTART and warning bounds) */
    int failing_rc;           /* SQLite code of the current run of failures, 0 when none */
    uint64_t n_failed;        /* checkpoints failed in that run */
    int64_t failing_since_us; /* when that run began */
    bool warned_large;        /* store.wal_large logged, the WAL not yet small again */
} s_worker;

struct vgb_ckpt {
    void *pair;            /* the loop's end of the PAIR (bound) */
    pthread_t thread;      /* the worker */
    bool running;          /* started and not yet joined */
    uint32_t pages;        /* frames committed since the last checkpoint that ask for one */
    char asked;            /* the request out (its answer not read yet), 0 when none */
    uint32_t n_missed;     /* REWIND attempts in a row that did not get the write lock */
    uint32_t frames;       /* WAL frames after the last commit */
    uint32_t copied;       /* frames of the current WAL known to be in the database file */
    uint32_t n_failing;    /* requests in a row that failed (not OK, not BUSY) */
    int64_t not_before_us; /* after a failure: no request before this (monotonic) */
    s_worker w;            /* the worker's state (see s_worker) */
};

/* ---- the worker ------------------------------------------------------------------- */

static int64_t
s_mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* Logs the first failure of a run and the recovery after it; a run of the
 * same failure (a full disk retried at every request) is one line. */
static void
s_note(s_worker *w, const char *mode, int rc)
{
    if (rc == SQLITE_OK || rc == SQLITE_BUSY) { /* BUSY: a lock was taken; try later */
        if (w->failing_rc != 0) {
            vg_log(VG_LOG_INFO, "broker", "store.checkpoint",
                   "result=recovered failed=%llu over_ms=%lld", (unsigned long long)w->n_failed,
                   (long long)((s_mono_us() - w->failing_since_us) / 1000));
        }
        w->failing_rc = 0;
        w->n_failed = 0;
        return;
    }
    if (w->n_failed++ == 0) {
        w->failing_since_us = s_mono_us();
    }
    if (rc != w->failing_rc) {
        vg_log(VG_LOG_ERROR, "broker", "store.checkpoint",
               "result=failed mode=%s sqlite=%d msg=\"%s\" detail=\"nothing committed is lost "
               "(the WAL keeps it); tried again after a backoff\"",
               mode, rc, sqlite3_errmsg(w->db));
        w->failing_rc = rc;
    }
}

/* Logs the WAL reaching VGB_CKPT_WARN_FACTOR * pages, once until it is
 * short again. */
static void
s_watch_size(s_worker *w, const s_answer *a)
{
    int64_t large = (int64_t)w->pages * VGB_CKPT_WARN_FACTOR;
    if (!w->warned_large && a->n_log >= large) {
        vg_log(VG_LOG_WARN, "broker", "store.wal_large",
               "wal_frames=%d copied=%d detail=\"checkpoints cannot empty the WAL: a reader "
               "may hold an old snapshot, or the disk fails\"",
               a->n_log, a->n_copied);
        w->warned_large = true;
    } else if (w->warned_large && a->n_log >= 0 && a->n_log < large / 2) {
        w->warned_large = false;
    }
}

/* One request. PASSIVE copies what was committed before it started, without
 * the write lock. RESTART (the connection has no busy handler: it tries
 * each lock once) either gets the write lock, copies what is left, syncs and
 * lets go, so that the loop's next transaction writes the WAL from its
 * beginning; or, the loop being in a transaction, copies what it can like
 * PASSIVE and says SQLITE_BUSY. REWIND runs a PASSIVE pass first, so that a
 * RESTART which gets the lock mostly finds nothing left to copy and holds
 * it for microseconds, not for the two syncs of a copy. */
static s_answer
s_checkpoint(s_worker *w, char op)
{
    int64_t t0 = s_mono_us();
    const char *mode = op == S_OP_PASSIVE ? "passive" : op == S_OP_REWIND ? "rewind" : "restart";
    s_answer a = {SQLITE_OK, -1, -1};
    if (op != S_OP_RESTART) {
        a.rc = sqlite3_wal_checkpoint_v2(w->db, "main", SQLITE_CHECKPOINT_PASSIVE, &a.n_log,
                                         &a.n_copied);
    }
    if (op != S_OP_PASSIVE && (a.rc == SQLITE_OK || a.rc == SQLITE_BUSY)) {
        a.rc = sqlite3_wal_checkpoint_v2(w->db, "main", SQLITE_CHECKPOINT_RESTART, &a.n_log,
                                         &a.n_copied);
    }
    s_note(w, mode, a.rc);
    if (a.rc == SQLITE_OK || a.rc == SQLITE_BUSY) {
        vg_log(VG_LOG_DEBUG, "broker", "store.checkpoint",
               "result=%s mode=%s wal_frames=%d copied=%d us=%lld",
               a.rc == SQLITE_OK ? "ok" : "busy", mode, a.n_log, a.n_copied,
               (long long)(s_mono_us() - t0));
    }
    s_watch_size(w, &a);
    return a;
}

static void *
s_run(void *arg)
{
    s_worker *w = arg;
    prctl(PR_SET_NAME, VGB_CKPT_THREAD_NAME, 0, 0, 0);
    for (;;) {
        char op = 0;
        if (zmq_recv(w->pair, &op, 1, 0) < 0) {
            if (zmq_errno() == EINTR) {
                continue;
            }
            break; /* ETERM: the context is ending */
        }
        if (op != S_OP_PASSIVE && op != S_OP_REWIND && op != S_OP_RESTART) {
            break;
        }
        s_answer a = s_checkpoint(w, op);
        if (zmq_send(w->pair, &a, sizeof a, 0) < 0 && zmq_errno() == ETERM) {
            break;
        }
    }
    zmq_close(w->pair);
    w->pair = NULL;
    sqlite3_close(w->db); /* NO_CKPT_ON_CLOSE: changes nothing */
    w->db = NULL;
    return NULL;
}

/* ---- the loop's side -------------------------------------------------------------- */

/* The worker's connection: never checkpoints on close, never removes the
 * WAL, syncs what it copies (synchronous=FULL: the WAL before a checkpoint,
 * the database after). No busy handler: RESTART tries the lock once. */
static vg_err
s_open_db(s_worker *w, const char *path, vg_reason *why)
{
    int rc = sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_db_config(w->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
        int persist = 1;
        sqlite3_file_control(w->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
        rc = sqlite3_exec(w->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        return vg_reason_set(why, VG_ERR_IO, "checkpointer: cannot open %s: %s", path,
                             w->db ? sqlite3_errmsg(w->db) : sqlite3_errstr(rc));
    }
    return VG_OK;
}

static vg_err
s_open_pair(vgb_ckpt *c, void *zmq_ctx, vg_reason *why)
{
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, S_ENDPOINT_FMT, (void *)c);
    int linger = 0;
    c->pair = zmq_socket(zmq_ctx, ZMQ_PAIR);
    c->w.pair = zmq_socket(zmq_ctx, ZMQ_PAIR);
    if (c->pair == NULL || c->w.pair == NULL ||
        zmq_setsockopt(c->pair, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(c->w.pair, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(c->pair, endpoint) != 0 || zmq_connect(c->w.pair, endpoint) != 0) {
        return vg_reason_set(why, VG_ERR_IO, "checkpointer: cannot make its sockets: %s",
                             zmq_strerror(zmq_errno()));
    }
    return VG_OK;
}

/* Starts the worker with every signal blocked: signals are the loop's. */
static vg_err
s_start(vgb_ckpt *c, vg_reason *why)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int err = pthread_create(&c->thread, NULL, s_run, &c->w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        return vg_reason_set(why, VG_ERR_IO, "checkpointer: cannot start its thread: %s",
                             strerror(err));
    }
    c->running = true;
    return VG_OK;
}

vg_err
vgb_ckpt_new(vgb_ckpt **out, void *zmq_ctx, const char *db_path, uint32_t pages, vg_reason *why)
{
    vgb_ckpt *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return VG_ERR_NOMEM;
    }
    c->pages = pages > 0 ? pages : 1;
    c->w.pages = c->pages;
    vg_err rc = s_open_db(&c->w, db_path, why);
    if (rc == VG_OK) {
        rc = s_open_pair(c, zmq_ctx, why);
    }
    if (rc == VG_OK) {
        rc = s_start(c, why);
    }
    if (rc != VG_OK) {
        vgb_ckpt_destroy(&c);
        return rc;
    }
    *out = c;
    return VG_OK;
}

/* What to ask for after a commit, if anything. Sent right after a commit,
 * so that a RESTART attempt finds the loop between transactions; only once
 * the WAL is long and little of it is left to copy. */
static char
s_next_op(const vgb_ckpt *c)
{
    if (c->n_failing > 0 && s_mono_us() < c->not_before_us) {
        return 0; /* failing (a full disk, an I/O error): not after every commit */
    }
    uint64_t left = c->frames - c->copied;
    if (c->frames >= (uint64_t)c->pages * VGB_CKPT_RESTART_FACTOR && left < c->pages) {
        return c->n_missed < VGB_CKPT_REWIND_TRIES ? S_OP_REWIND : S_OP_RESTART;
    }
    return left >= c->pages ? S_OP_PASSIVE : 0;
}

void
vgb_ckpt_after_commit(vgb_ckpt *c, uint32_t wal_frames)
{
    if (wal_frames < c->frames) {
        c->copied = 0; /* SQLite started the WAL again from its beginning */
        c->n_missed = 0;
    }
    c->frames = wal_frames;
    s_answer a;
    while (zmq_recv(c->pair, &a, sizeof a, ZMQ_DONTWAIT) == (int)sizeof a) {
        if (c->asked == S_OP_REWIND) {
            c->n_missed = a.rc == SQLITE_BUSY ? c->n_missed + 1 : 0;
        } else if (c->asked == S_OP_RESTART) {
            c->n_missed = 0; /* back to cheap attempts */
        }
        c->asked = 0;
        if (a.rc != SQLITE_OK && a.rc != SQLITE_BUSY) { /* back off: 100 ms, doubling to 10 s */
            uint32_t shift = c->n_failing < 7 ? c->n_failing : 7;
            int64_t wait_us = (int64_t)VGB_CKPT_RETRY_MS * 1000 << shift;
            int64_t max_us = (int64_t)VGB_CKPT_RETRY_MAX_MS * 1000;
            c->not_before_us = s_mono_us() + (wait_us < max_us ? wait_us : max_us);
            c->n_failing++;
        } else {
            c->n_failing = 0;
        }
        /* an answer about frames beyond the WAL's current end is about the
         * WAL before it started again */
        if (a.n_copied >= 0 && (uint32_t)a.n_copied <= c->frames) {
            c->copied = (uint32_t)a.n_copied;
        }
    }
    char op = c->asked == 0 ? s_next_op(c) : 0;
    if (op != 0 && zmq_send(c->pair, &op, 1, ZMQ_DONTWAIT) == 1) {
        c->asked = op;
    }
}

void
vgb_ckpt_destroy(vgb_ckpt **c_p)
{
    if (c_p == NULL || *c_p == NULL) {
        return;
    }
    vgb_ckpt *c = *c_p;
    if (c->running) {
        char op = S_OP_STOP;
        if (zmq_send(c->pair, &op, 1, 0) != 1) {
            vg_log(VG_LOG_ERROR, "broker", "store.checkpoint", "result=stop_failed msg=\"%s\"",
                   zmq_strerror(zmq_errno()));
        }
        pthread_join(c->thread, NULL); /* the worker closes its socket and connection */
    } else {
        if (c->w.pair != NULL) {
            zmq_close(c->w.pair);
        }
        sqlite3_close(c->w.db);
    }
    if (c->pair != NULL) {
        zmq_close(c->pair);
    }
    free(c);
    *c_p = NULL;
}
