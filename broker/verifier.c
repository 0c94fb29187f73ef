/* verifier.c — a batch's envelope checks shared with one worker thread
 * (see verifier.h). Jobs are taken from a shared ticket, so each is checked
 * exactly once, by whichever thread gets to it first; the loop never waits
 * for a worker that has not started (it takes every job itself then). */
#include "verifier.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

/* Below this many jobs the loop checks them alone: waking the worker costs
 * more than it saves. */
#define S_MIN_SHARED 4

struct vgb_verifier {
    pthread_t thread;        /* the worker */
    pthread_mutex_t lock;    /* guards doc, jobs, n, run, stop; with done */
    pthread_cond_t work;     /* a new run, or stop */
    pthread_cond_t done;     /* the worker finished a job */
    const vg_netdoc *doc;    /* of the current run */
    vgb_verify_job *jobs;    /* of the current run */
    size_t n;                /* its size */
    uint64_t run;            /* runs started */
    bool stop;               /* the worker is to exit */
    bool started;            /* a run from vgb_verifier_start not yet waited for */
    _Atomic uint64_t ticket; /* run << 32 | the next job to take */
    atomic_size_t finished;  /* jobs of the current run done */
};

/* Takes and checks jobs of run `run` until none is left. A job is taken by
 * advancing the ticket only while it still names this run, so a thread that
 * comes late never touches the jobs of a run that has ended. */
static void
s_take(vgb_verifier *v, uint64_t run, const vg_netdoc *doc, vgb_verify_job *jobs, size_t n)
{
    uint64_t t = atomic_load(&v->ticket);
    while ((t >> 32) == (run & 0xffffffffu) && (t & 0xffffffffu) < n) {
        if (!atomic_compare_exchange_weak(&v->ticket, &t, t + 1)) {
            continue; /* t was reloaded */
        }
        vgb_verify_job *j = &jobs[t & 0xffffffffu];
        j->env = NULL;
        j->rc = vg_envelope_verify_claimed(&j->env, j->bytes, j->len, doc, j->claimed, &j->why);
        atomic_fetch_add(&v->finished, 1);
        t = atomic_load(&v->ticket);
    }
}

static void
s_inline(const vg_netdoc *doc, vgb_verify_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        jobs[i].env = NULL;
        jobs[i].rc = vg_envelope_verify_claimed(&jobs[i].env, jobs[i].bytes, jobs[i].len, doc,
                                                jobs[i].claimed, &jobs[i].why);
    }
}

static void *
s_worker(void *arg)
{
    vgb_verifier *v = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&v->lock);
    for (;;) {
        while (!v->stop && v->run == seen) {
            pthread_cond_wait(&v->work, &v->lock);
        }
        if (v->stop) {
            break;
        }
        seen = v->run;
        const vg_netdoc *doc = v->doc;
        vgb_verify_job *jobs = v->jobs;
        size_t n = v->n;
        pthread_mutex_unlock(&v->lock);
        s_take(v, seen, doc, jobs, n);
        pthread_mutex_lock(&v->lock);
        pthread_cond_signal(&v->done);
    }
    pthread_mutex_unlock(&v->lock);
    return NULL;
}

vg_err
vgb_verifier_new(vgb_verifier **out)
{
    *out = NULL;
    vgb_verifier *v = calloc(1, sizeof *v);
    if (v == NULL) {
        return VG_ERR_NOMEM;
    }
    atomic_init(&v->ticket, 0);
    atomic_init(&v->finished, 0);
    if (pthread_mutex_init(&v->lock, NULL) != 0) {
        free(v);
        return VG_ERR_INTERNAL;
    }
    bool cond_ok = pthread_cond_init(&v->work, NULL) == 0;
    bool done_ok = cond_ok && pthread_cond_init(&v->done, NULL) == 0;
    if (!done_ok || pthread_create(&v->thread, NULL, s_worker, v) != 0) {
        if (done_ok) {
            pthread_cond_destroy(&v->done);
        }
        if (cond_ok) {
            pthread_cond_destroy(&v->work);
        }
        pthread_mutex_destroy(&v->lock);
        free(v);
        return VG_ERR_INTERNAL;
    }
    *out = v;
    return VG_OK;
}

/* Publishes a new run to the worker. */
static uint64_t
s_publish_run(vgb_verifier *v, const vg_netdoc *doc, vgb_verify_job *jobs, size_t n)
{
    pthread_mutex_lock(&v->lock);
    v->doc = doc;
    v->jobs = jobs;
    v->n = n;
    uint64_t run = ++v->run;
    atomic_store(&v->finished, 0);
    atomic_store(&v->ticket, (run & 0xffffffffu) << 32);
    pthread_cond_signal(&v->work);
    pthread_mutex_unlock(&v->lock);
    return run;
}

/* Waits until every job of the current run (n of them) is done. */
static void
s_wait_all(vgb_verifier *v, size_t n)
{
    pthread_mutex_lock(&v->lock);
    while (atomic_load(&v->finished) < n) {
        pthread_cond_wait(&v->done, &v->lock);
    }
    pthread_mutex_unlock(&v->lock);
}

void
vgb_verifier_run(vgb_verifier *v, const vg_netdoc *doc, vgb_verify_job *jobs, size_t n)
{
    if (v == NULL || n < S_MIN_SHARED) {
        s_inline(doc, jobs, n);
        return;
    }
    uint64_t run = s_publish_run(v, doc, jobs, n);
    s_take(v, run, doc, jobs, n);
    /* Only a job the worker has taken can still be running: wait for that one. */
    s_wait_all(v, n);
}

void
vgb_verifier_start(vgb_verifier *v, const vg_netdoc *doc, vgb_verify_job *jobs, size_t n)
{
    if (v == NULL || n == 0) {
        s_inline(doc, jobs, n);
        return;
    }
    (void)s_publish_run(v, doc, jobs, n);
    v->started = true;
}

void
vgb_verifier_wait(vgb_verifier *v)
{
    if (v != NULL && v->started) {
        s_wait_all(v, v->n); /* n is only written by this (the loop's) thread */
        v->started = false;
    }
}

void
vgb_verifier_destroy(vgb_verifier **v_p)
{
    vgb_verifier *v = v_p ? *v_p : NULL;
    if (v == NULL) {
        return;
    }
    pthread_mutex_lock(&v->lock);
    v->stop = true;
    pthread_cond_signal(&v->work);
    pthread_mutex_unlock(&v->lock);
    pthread_join(v->thread, NULL);
    pthread_cond_destroy(&v->done);
    pthread_cond_destroy(&v->work);
    pthread_mutex_destroy(&v->lock);
    free(v);
    *v_p = NULL;
}
