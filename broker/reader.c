/* reader.c — the query thread and its fair queue (see reader.h). */
#include "reader.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "audit.h"
#include "query.h"
#include "store.h"
#include "vigil/clock.h"
#include "vigil/log.h"

#define S_ENDPOINT_FMT "inproc://vigil-reader-%p"

/* The header of a query handed to the worker, and of its answer. */
typedef struct s_hdr {
    uint32_t idx;         /* the agency */
    uint64_t request_id;  /* query: echoed in the answer */
    int64_t cost_us;      /* answer: worker CPU time it took */
    const vg_netdoc *doc; /* query: the document in force when it was handed over */
} s_hdr;

/* The worker's own state: between pthread_create and pthread_join only the
 * worker touches it. */
typedef struct s_worker {
    void *pair;       /* its end of the pair */
    vgb_store *store; /* its read connection */
    vgb_audit *audit; /* the audit log on it */
} s_worker;

typedef struct s_job {
    uint8_t rid[256];    /* answer to */
    size_t rid_len;      /* routing id length */
    uint64_t request_id; /* echoed */
    uint8_t *query;      /* packed Query, malloc'ed */
    size_t query_len;    /* its length */
} s_job;

/* One agency's waiting queries and its budget of worker time. */
typedef struct s_queue {
    const char *id;    /* agency id, borrowed */
    s_job *ring;       /* queue_max slots, allocated at its first query */
    uint32_t head, n;  /* oldest, count */
    int64_t budget_us; /* worker time it may still use (may go below 0) */
    int64_t refilled;  /* when it was last topped up (monotonic ms) */
} s_queue;

struct vgb_reader {
    void *pair;           /* the loop's end */
    pthread_t thread;     /* the worker */
    bool running;         /* the thread was started */
    s_worker w;           /* the worker's state */
    const vg_netdoc *doc; /* the document in force: handed over with each query */
    s_queue *queues;      /* one per agency */
    size_t n_agencies;    /* count */
    uint32_t queue_max;   /* slots per queue */
    int64_t rate_us;      /* budget per second */
    int64_t burst_us;     /* budget at most */
    size_t next;          /* round robin: the agency to look at first */
    unsigned inflight;    /* queries with the worker */
};

/* ---- the worker ---------------------------------------------------------------- */

static int64_t
s_thread_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Receives one more part into m; false when the message had no more. */
static bool
s_recv_part(void *sock, zmq_msg_t *m)
{
    zmq_msg_init(m);
    return zmq_msg_recv(m, sock, 0) >= 0;
}

/* Answers one query message (hdr already read, more parts to come) and
 * sends the answer. False when the pair is gone (stop). */
static bool
s_serve_one(s_worker *w, s_hdr hdr)
{
    zmq_msg_t rid, agency, query;
    bool ok =
        s_recv_part(w->pair, &rid) && s_recv_part(w->pair, &agency) && s_recv_part(w->pair, &query);
    if (!ok) {
        return false;
    }
    int64_t t0 = s_thread_cpu_us();
    char id[VG_AGENCY_ID_MAX + 1];
    snprintf(id, sizeof id, "%.*s", (int)zmq_msg_size(&agency),
             (const char *)zmq_msg_data(&agency));
    Vigil__Query *q = vigil__query__unpack(NULL, zmq_msg_size(&query), zmq_msg_data(&query));
    uint8_t *frame = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    vgb_query_src src = {w->store, w->audit, hdr.doc, vg_clock_wall_ms(vg_clock_system())};
    vg_err rc = q != NULL ? vgb_store_read_begin(w->store, &why) : VG_ERR_MALFORMED;
    if (rc == VG_OK) {
        rc = vgb_query_answer(&src, id, hdr.request_id, q, &frame, &len);
        vgb_store_read_end(w->store);
    }
    if (rc != VG_OK) {
        vg_log(VG_LOG_ERROR, "broker", "query.fail", "agency=%s code=%s reason=\"%s\"", id,
               vg_err_code(rc), why.text);
    }
    if (q != NULL) {
        vigil__query__free_unpacked(q, NULL);
    }
    hdr.cost_us = s_thread_cpu_us() - t0;
    ok = zmq_send(w->pair, &hdr, sizeof hdr, ZMQ_SNDMORE) >= 0 &&
         zmq_msg_send(&rid, w->pair, ZMQ_SNDMORE) >= 0 &&
         zmq_send(w->pair, frame ? frame : (uint8_t *)"", len, 0) >= 0;
    free(frame);
    zmq_msg_close(&rid);
    zmq_msg_close(&agency);
    zmq_msg_close(&query);
    return ok || zmq_errno() != ETERM;
}

static void *
s_run(void *arg)
{
    s_worker *w = arg;
    prctl(PR_SET_NAME, VGB_READER_THREAD_NAME, 0, 0, 0);
    for (;;) {
        s_hdr hdr;
        int n = zmq_recv(w->pair, &hdr, sizeof hdr, 0);
        if (n < 0 && zmq_errno() == EINTR) {
            continue;
        }
        if (n != (int)sizeof hdr || !s_serve_one(w, hdr)) {
            break; /* the stop message (empty), or the context is ending */
        }
    }
    zmq_close(w->pair);
    w->pair = NULL;
    vgb_audit_destroy(&w->audit);
    vgb_store_destroy(&w->store);
    return NULL;
}

/* ---- the loop's side ------------------------------------------------------------- */

static vg_err
s_open_pair(vgb_reader *r, void *zmq_ctx, vg_reason *why)
{
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, S_ENDPOINT_FMT, (void *)r);
    int linger = 0, hwm = 0; /* the loop bounds what it hands over */
    r->pair = zmq_socket(zmq_ctx, ZMQ_PAIR);
    r->w.pair = zmq_socket(zmq_ctx, ZMQ_PAIR);
    if (r->pair == NULL || r->w.pair == NULL ||
        zmq_setsockopt(r->pair, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(r->w.pair, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(r->pair, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_bind(r->pair, endpoint) != 0 || zmq_connect(r->w.pair, endpoint) != 0) {
        return vg_reason_set(why, VG_ERR_IO, "query thread: cannot make its sockets: %s",
                             zmq_strerror(zmq_errno()));
    }
    return VG_OK;
}

vg_err
vgb_reader_new(vgb_reader **out, const vgb_reader_params *p, vg_reason *why)
{
    vgb_reader *r = calloc(1, sizeof *r);
    if (r == NULL || (r->queues = calloc(p->n_agencies + 1, sizeof *r->queues)) == NULL) {
        free(r);
        return VG_ERR_NOMEM;
    }
    r->n_agencies = p->n_agencies;
    r->queue_max = p->queue_max > 0 ? p->queue_max : 1;
    r->rate_us = (int64_t)p->time_ms_per_s * 1000;
    r->burst_us = 2 * r->rate_us;
    for (size_t i = 0; i < p->n_agencies; i++) {
        r->queues[i].budget_us = r->burst_us;
    }
    r->doc = p->doc;
    vg_err rc = vgb_store_open_reader(&r->w.store, p->store, why);
    if (rc == VG_OK) { /* the worker reads the log; it never signs */
        rc = vgb_audit_open(&r->w.audit, r->w.store, vg_netdoc_network(p->doc), NULL, why);
    }
    if (rc == VG_OK) {
        rc = s_open_pair(r, p->zmq_ctx, why);
    }
    if (rc == VG_OK) {
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        int err = pthread_create(&r->thread, NULL, s_run, &r->w);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        r->running = err == 0;
        if (err != 0) {
            rc = vg_reason_set(why, VG_ERR_IO, "query thread: cannot start: %s", strerror(err));
        }
    }
    if (rc != VG_OK) {
        vgb_reader_destroy(&r);
        return rc;
    }
    *out = r;
    return VG_OK;
}

void
vgb_reader_destroy(vgb_reader **r_p)
{
    if (r_p == NULL || *r_p == NULL) {
        return;
    }
    vgb_reader *r = *r_p;
    if (r->running) {
        if (zmq_send(r->pair, "", 0, 0) != 0) { /* stop */
            vg_log(VG_LOG_ERROR, "broker", "query.stop", "msg=\"%s\"", zmq_strerror(zmq_errno()));
        }
        pthread_join(r->thread, NULL); /* the worker closes its end and its connection */
    } else {
        if (r->w.pair != NULL) {
            zmq_close(r->w.pair);
        }
        vgb_audit_destroy(&r->w.audit);
        vgb_store_destroy(&r->w.store);
    }
    if (r->pair != NULL) {
        zmq_close(r->pair);
    }
    for (size_t i = 0; i < r->n_agencies; i++) {
        s_queue *q = &r->queues[i];
        for (uint32_t k = 0; q->ring != NULL && k < q->n; k++) {
            free(q->ring[(q->head + k) % r->queue_max].query);
        }
        free(q->ring);
    }
    free(r->queues);
    free(r);
    *r_p = NULL;
}

void *
vgb_reader_socket(vgb_reader *r)
{
    return r->pair;
}

vg_err
vgb_reader_submit(vgb_reader *r, size_t idx, const char *agency, const uint8_t *rid, size_t rid_len,
                  uint64_t request_id, const Vigil__Query *query, vg_reason *why)
{
    if (idx >= r->n_agencies || rid_len > sizeof r->queues[0].ring[0].rid) {
        return vg_reason_set(why, VG_ERR_INVALID, "not an agency's connection");
    }
    s_queue *q = &r->queues[idx];
    q->id = agency;
    if (q->n == r->queue_max) {
        return vg_reason_set(why, VG_ERR_RATE_LIMITED,
                             "%s has %u queries waiting, the most the broker queues per agency "
                             "(broker.conf queries_queued): wait for their answers, then ask "
                             "again",
                             agency, r->queue_max);
    }
    if (q->ring == NULL && (q->ring = calloc(r->queue_max, sizeof *q->ring)) == NULL) {
        return VG_ERR_NOMEM;
    }
    s_job *j = &q->ring[(q->head + q->n) % r->queue_max];
    j->query_len = vigil__query__get_packed_size(query);
    if ((j->query = malloc(j->query_len ? j->query_len : 1)) == NULL) {
        return VG_ERR_NOMEM;
    }
    vigil__query__pack(query, j->query);
    memcpy(j->rid, rid, rid_len);
    j->rid_len = rid_len;
    j->request_id = request_id;
    q->n++;
    return VG_OK;
}

/* Takes the answers the worker has ready. */
static void
s_take_answers(vgb_reader *r, vgb_reader_deliver_fn deliver, void *ctx)
{
    for (;;) {
        s_hdr hdr;
        if (zmq_recv(r->pair, &hdr, sizeof hdr, ZMQ_DONTWAIT) != (int)sizeof hdr) {
            return;
        }
        zmq_msg_t rid, frame;
        bool ok = s_recv_part(r->pair, &rid) && s_recv_part(r->pair, &frame);
        r->inflight -= r->inflight > 0;
        if (hdr.idx < r->n_agencies) {
            r->queues[hdr.idx].budget_us -= hdr.cost_us;
        }
        if (ok && zmq_msg_size(&frame) > 0 && hdr.idx < r->n_agencies) {
            deliver(ctx, hdr.idx, &rid, &frame);
        }
        zmq_msg_close(&rid);
        zmq_msg_close(&frame);
    }
}

/* Hands agency i's oldest query to the worker. */
static bool
s_hand_over(vgb_reader *r, size_t i)
{
    s_queue *q = &r->queues[i];
    s_job *j = &q->ring[q->head];
    s_hdr hdr = {.idx = (uint32_t)i, .request_id = j->request_id, .doc = r->doc};
    bool ok = zmq_send(r->pair, &hdr, sizeof hdr, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
              zmq_send(r->pair, j->rid, j->rid_len, ZMQ_SNDMORE) >= 0 &&
              zmq_send(r->pair, q->id, strlen(q->id), ZMQ_SNDMORE) >= 0 &&
              zmq_send(r->pair, j->query, j->query_len, 0) >= 0;
    if (!ok) {
        return false; /* stays queued: tried again on the next pass */
    }
    free(j->query);
    j->query = NULL;
    q->head = (q->head + 1) % r->queue_max;
    q->n--;
    r->inflight++;
    return true;
}

long
vgb_reader_service(vgb_reader *r, int64_t now, vgb_reader_deliver_fn deliver, void *ctx)
{
    s_take_answers(r, deliver, ctx);
    int64_t wait_ms = -1;
    for (size_t k = 0; k < r->n_agencies; k++) { /* top up every budget */
        s_queue *q = &r->queues[k];
        int64_t grown = (now - q->refilled) * r->rate_us / 1000;
        if (grown > 0 || q->refilled == 0) {
            q->budget_us = q->budget_us + grown > r->burst_us ? r->burst_us : q->budget_us + grown;
            q->refilled = now;
        }
    }
    size_t looked = 0;
    while (r->inflight < VGB_READER_INFLIGHT && looked < r->n_agencies) {
        size_t i = (r->next + looked) % r->n_agencies;
        s_queue *q = &r->queues[i];
        looked++;
        if (q->n == 0) {
            continue;
        }
        if (q->budget_us <= 0) { /* it waits for its budget */
            int64_t need = r->rate_us > 0 ? (1 - q->budget_us) * 1000 / r->rate_us + 1 : 1000;
            wait_ms = wait_ms < 0 || need < wait_ms ? need : wait_ms;
            continue;
        }
        if (!s_hand_over(r, i)) {
            break;
        }
        r->next = (i + 1) % r->n_agencies;
        looked = 0;
    }
    return wait_ms < 0 ? -1 : (long)wait_ms;
}

vg_err
vgb_reader_renew(vgb_reader *r, const vg_netdoc *doc)
{
    size_t n = vg_netdoc_n_agencies(doc);
    if (n > r->n_agencies) {
        s_queue *q = realloc(r->queues, (n + 1) * sizeof *q);
        if (q == NULL) {
            return VG_ERR_NOMEM;
        }
        memset(&q[r->n_agencies], 0, (n + 1 - r->n_agencies) * sizeof *q);
        for (size_t i = r->n_agencies; i < n; i++) {
            q[i].budget_us = r->burst_us;
        }
        r->queues = q;
        r->n_agencies = n;
    }
    for (size_t i = 0; i < n; i++) { /* queued jobs name their agency by the new document */
        vg_agency ag;
        vg_netdoc_agency_at(doc, i, &ag);
        r->queues[i].id = r->queues[i].id != NULL ? ag.id : NULL;
    }
    r->doc = doc;
    return VG_OK;
}
