/* timers.c — the bounded heap of the rows' next steps (timers.h). */
#include "timers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/log.h"

struct vgb_timers {
    vgb_store *store;      /* borrowed */
    const vg_netdoc *doc;  /* borrowed */
    const vg_clock *clock; /* borrowed */
    size_t k;              /* the heap's size between loads (broker.conf timers) */
    vgb_timer *timers;     /* min-heap on due_mono */
    size_t n_timers, cap_timers;
    int64_t wm_ms;      /* watermark: open rows with deadline_ms <= it are in the heap */
    int64_t wm_mono;    /* when the wall clock reaches it (INT64_MAX: never) */
    size_t trim_at;     /* a heap this big is trimmed */
    int64_t retry_mono; /* a load failed: not again before this */
};

/* ---- the heap ------------------------------------------------------------------- */

static bool
s_timer_less(const vgb_timer *x, const vgb_timer *y)
{
    return x->due_mono < y->due_mono;
}

static void
s_timer_push(vgb_timers *h, vgb_timer t)
{
    if (h->n_timers == h->cap_timers) {
        size_t cap = h->cap_timers ? h->cap_timers * 2 : 64;
        vgb_timer *n = realloc(h->timers, cap * sizeof *n);
        if (n == NULL) {
            vg_log(VG_LOG_ERROR, "broker", "timer.nomem", "seq=%llu", (unsigned long long)t.seq);
            return; /* rebuilt from the store at the next start */
        }
        h->timers = n;
        h->cap_timers = cap;
    }
    size_t i = h->n_timers++;
    while (i > 0 && s_timer_less(&t, &h->timers[(i - 1) / 2])) {
        h->timers[i] = h->timers[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->timers[i] = t;
}

/* Puts t into the hole at i, moving smaller children up. */
static void
s_timer_sift_down(vgb_timers *h, size_t i, vgb_timer t)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n_timers) {
            break;
        }
        if (c + 1 < h->n_timers && s_timer_less(&h->timers[c + 1], &h->timers[c])) {
            c++;
        }
        if (!s_timer_less(&h->timers[c], &t)) {
            break;
        }
        h->timers[i] = h->timers[c];
        i = c;
    }
    h->timers[i] = t;
}

static vgb_timer
s_timer_pop(vgb_timers *h)
{
    vgb_timer top = h->timers[0];
    vgb_timer last = h->timers[--h->n_timers];
    if (h->n_timers > 0) {
        s_timer_sift_down(h, 0, last);
    }
    return top;
}

#define S_TIMERS_MIN 8         /* smallest K (broker.conf bounds it too) */
#define S_WM_ALL INT64_MAX     /* watermark once every open row is loaded */
#define S_NO_AGENCY UINT32_MAX /* a row read that makes no timer */
#define S_REFILLS_PER_PASS 8   /* refills in one service pass, at most */
#define S_REFILL_RETRY_MS 1000 /* after a store error */

static size_t
s_timers_k(const vgb_timers *h)
{
    return h->k > S_TIMERS_MIN ? h->k : S_TIMERS_MIN;
}

/* When the row's next step is due (wall clock), or 0 when it has none. */
static int64_t
s_next_due_wall(const vgb_timers *h, const vgb_rrow *r)
{
    size_t n_steps = vg_netdoc_n_escalation(h->doc);
    if (!r->required || r->state == VGB_ACKNOWLEDGED || r->deadline_ms <= 0 ||
        r->esc_level > n_steps) {
        return 0;
    }
    if (r->esc_level == 0) {
        return r->deadline_ms;
    }
    vg_escalation_step step;
    vg_netdoc_escalation_at(h->doc, r->esc_level - 1, &step);
    return r->deadline_ms + (int64_t)step.after_ms;
}

/* The row's next step as a timer; agency S_NO_AGENCY when it has none. */
static vgb_timer
s_timer_of(const vgb_timers *h, const vgb_rrow *r)
{
    vgb_timer t = {
        .seq = r->seq, .agency = S_NO_AGENCY, .level = r->esc_level, .deadline_ms = r->deadline_ms};
    int64_t due_wall = s_next_due_wall(h, r);
    int idx = vg_netdoc_index(h->doc, r->agency);
    if (due_wall != 0 && idx >= 0) {
        int64_t in_ms = due_wall - vg_clock_wall_ms(h->clock);
        t.due_mono = vg_clock_mono_ms(h->clock) + (in_ms > 0 ? in_ms : 0);
        t.agency = (uint32_t)idx;
    }
    return t;
}

static void
s_set_watermark(vgb_timers *h, int64_t wm_ms)
{
    h->wm_ms = wm_ms;
    h->wm_mono = INT64_MAX;
    if (wm_ms != S_WM_ALL) {
        int64_t in_ms = wm_ms - vg_clock_wall_ms(h->clock);
        h->wm_mono = vg_clock_mono_ms(h->clock) + (in_ms > 0 ? in_ms : 0);
    }
}

static int
s_cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, c = *(const int64_t *)y;
    return a < c ? -1 : a > c;
}

/* The heap size that makes the next trim: 2K, or twice a long run of one
 * deadline held whole (so that it is not cut again at every push). */
static size_t
s_trim_at(size_t k, size_t n)
{
    return n > k + k / 2 ? 2 * n : 2 * k;
}

/* Cuts the heap back to the K earliest deadlines (a whole run of equal
 * deadlines stays or goes together), lowers the watermark to the last
 * deadline kept and rebuilds the heap. */
static void
s_trim(vgb_timers *h)
{
    size_t k = s_timers_k(h), n = h->n_timers;
    int64_t *d = malloc(n * sizeof *d);
    if (d == NULL) {
        h->trim_at = 2 * n; /* try again when it has doubled */
        return;
    }
    for (size_t i = 0; i < n; i++) {
        d[i] = h->timers[i].deadline_ms;
    }
    qsort(d, n, sizeof *d, s_cmp_i64);
    int64_t wm = d[k - 1];
    size_t first = k - 1; /* where the run of d[k - 1] starts */
    while (first > 0 && d[first - 1] == wm) {
        first--;
    }
    if (d[k] == wm && first > 0) {
        wm--; /* the run goes on past K: leave it all in the store */
    }
    free(d);
    wm = wm < h->wm_ms ? wm : h->wm_ms;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (h->timers[i].deadline_ms <= wm) {
            h->timers[kept++] = h->timers[i];
        }
    }
    h->n_timers = kept;
    for (size_t i = kept / 2; i-- > 0;) {
        s_timer_sift_down(h, i, h->timers[i]);
    }
    s_set_watermark(h, wm);
    h->trim_at = s_trim_at(k, kept);
    vg_log(VG_LOG_DEBUG, "broker", "timer.trim", "kept=%zu dropped=%zu watermark=%lld", kept,
           n - kept, (long long)wm);
}

static void
s_schedule(vgb_timers *h, const vgb_rrow *r)
{
    if (r->deadline_ms > h->wm_ms) {
        return; /* beyond the watermark: loaded from the store in its turn */
    }
    vgb_timer t = s_timer_of(h, r);
    if (t.agency == S_NO_AGENCY) {
        return;
    }
    s_timer_push(h, t);
    if (h->n_timers > h->trim_at) {
        s_trim(h);
    }
}

/* Rows read by a refill, in deadline order. */
typedef struct s_slice {
    vgb_timers *h;  /* the heap */
    vgb_timer *buf; /* timers of the rows read (S_NO_AGENCY: none) */
    size_t n, cap;  /* read, room */
    bool direct;    /* push each row's timer at once (a run loaded whole) */
} s_slice;

static void
s_slice_row(void *ctx, const vgb_rrow *r, const char *officer, const char *note, const char *reason)
{
    (void)officer, (void)note, (void)reason;
    s_slice *sl = ctx;
    vgb_timer t = s_timer_of(sl->h, r);
    if (sl->direct) {
        if (t.agency != S_NO_AGENCY) {
            s_timer_push(sl->h, t);
        }
    } else if (sl->n < sl->cap) { /* the query's LIMIT is cap */
        sl->buf[sl->n++] = t;
    }
}

/* Loads the next K rows beyond the watermark and moves it up. */
static vg_err
s_refill(vgb_timers *h)
{
    size_t k = s_timers_k(h);
    uint32_t max_level = (uint32_t)vg_netdoc_n_escalation(h->doc);
    s_slice sl = {.h = h, .cap = k + 1}; /* one more tells whether the last run goes on */
    sl.buf = malloc(sl.cap * sizeof *sl.buf);
    if (sl.buf == NULL) {
        return VG_ERR_NOMEM;
    }
    vg_err rc = vgb_store_open_rows(h->store, max_level, h->wm_ms, INT64_MAX, (int64_t)sl.cap,
                                    s_slice_row, &sl);
    size_t keep = sl.n;
    int64_t wm = S_WM_ALL, run = 0;
    if (rc == VG_OK && sl.n == sl.cap) { /* more beyond: stop at a whole deadline */
        keep = k;
        wm = sl.buf[k - 1].deadline_ms;
        if (sl.buf[k].deadline_ms == wm) {
            while (keep > 0 && sl.buf[keep - 1].deadline_ms == wm) {
                keep--;
            }
            run = keep == 0 ? wm : 0; /* one deadline fills K: load its whole run */
            wm = keep == 0 ? wm : wm - 1;
        }
    }
    for (size_t i = 0; rc == VG_OK && i < keep; i++) {
        if (sl.buf[i].agency != S_NO_AGENCY) {
            s_timer_push(h, sl.buf[i]);
        }
    }
    if (rc == VG_OK && run != 0) {
        sl.direct = true;
        /* On an error part of the run may be in: loaded again next time, it
         * still acts once. */
        rc = vgb_store_open_rows(h->store, max_level, run - 1, run, -1, s_slice_row, &sl);
    }
    free(sl.buf);
    if (rc != VG_OK) {
        return rc;
    }
    s_set_watermark(h, wm);
    h->trim_at = s_trim_at(k, h->n_timers);
    vg_log(VG_LOG_DEBUG, "broker", "timer.refill", "timers=%zu watermark=%lld", h->n_timers,
           (long long)wm);
    return VG_OK;
}

/* The rows beyond the watermark are due after timers_wm_mono: they must be
 * in the heap by then, unless what the heap holds is due first (after an
 * outage, loading more before those fired would only grow the heap). */
static bool
s_refill_due(const vgb_timers *h, int64_t now)
{
    if (h->wm_ms == S_WM_ALL || now < h->retry_mono) {
        return false;
    }
    return h->n_timers < s_timers_k(h) / 2 || (now >= h->wm_mono && h->timers[0].due_mono > now);
}

/* Refills while the heap is short or the clock has reached the watermark;
 * a store error waits S_REFILL_RETRY_MS before the next try. */
static void
s_refill_while_due(vgb_timers *h, int64_t now)
{
    for (int i = 0; i < S_REFILLS_PER_PASS && s_refill_due(h, now); i++) {
        vg_err rc = s_refill(h);
        if (rc != VG_OK) {
            vg_log(VG_LOG_ERROR, "broker", "timer.refill_failed", "code=%s", vg_err_code(rc));
            h->retry_mono = now + S_REFILL_RETRY_MS;
        }
    }
}

/* ---- the interface ---------------------------------------------------------------- */

vg_err
vgb_timers_new(vgb_timers **out, vgb_store *store, const vg_netdoc *doc, const vg_clock *clock,
               size_t k)
{
    vgb_timers *h = calloc(1, sizeof *h);
    if (h == NULL) {
        return VG_ERR_NOMEM;
    }
    *h = (vgb_timers){.store = store, .doc = doc, .clock = clock, .k = k};
    s_set_watermark(h, 0); /* nothing loaded: every row with a deadline is beyond */
    h->trim_at = s_trim_at(s_timers_k(h), 0);
    vg_err rc = s_refill(h);
    if (rc != VG_OK) {
        vgb_timers_destroy(&h);
        return rc;
    }
    vg_log(VG_LOG_INFO, "broker", "track.start", "timers=%zu watermark=%lld", h->n_timers,
           (long long)h->wm_ms);
    *out = h;
    return VG_OK;
}

void
vgb_timers_destroy(vgb_timers **t_p)
{
    if (t_p == NULL || *t_p == NULL) {
        return;
    }
    free((*t_p)->timers);
    free(*t_p);
    *t_p = NULL;
}

int64_t
vgb_timers_next_step_ms(const vgb_timers *h, const vgb_rrow *r)
{
    return s_next_due_wall(h, r);
}

bool
vgb_timers_current(const vgb_timers *h, const vgb_timer *tm, const vgb_rrow *r)
{
    return r->esc_level == tm->level && r->deadline_ms == tm->deadline_ms &&
           s_next_due_wall(h, r) != 0;
}

void
vgb_timers_schedule(vgb_timers *h, const vgb_rrow *r)
{
    s_schedule(h, r);
}

void
vgb_timers_retry(vgb_timers *h, const vgb_timer *tm, int64_t in_ms)
{
    vgb_timer t = *tm;
    t.due_mono = vg_clock_mono_ms(h->clock) + in_ms;
    s_timer_push(h, t);
}

bool
vgb_timers_pop_due(vgb_timers *h, int64_t now, vgb_timer *out)
{
    s_refill_while_due(h, now);
    if (h->n_timers == 0 || h->timers[0].due_mono > now) {
        return false;
    }
    *out = s_timer_pop(h);
    return true;
}

int64_t
vgb_timers_wake(const vgb_timers *h)
{
    int64_t now = vg_clock_mono_ms(h->clock);
    if (s_refill_due(h, now)) {
        return now;
    }
    int64_t next = h->n_timers > 0 ? h->timers[0].due_mono : INT64_MAX;
    int64_t refill = h->wm_mono > h->retry_mono ? h->wm_mono : h->retry_mono;
    return refill < next ? refill : next; /* the clock reaches the watermark: load more */
}

void
vgb_timers_clock_stepped(vgb_timers *h, int64_t delta_ms)
{
    for (size_t i = 0; i < h->n_timers; i++) {
        h->timers[i].deadline_ms += delta_ms;
    }
    if (h->wm_ms != S_WM_ALL) {
        h->wm_ms += delta_ms; /* wm_mono stays: the rows beyond it did not move either */
    }
}

size_t
vgb_timers_count(const vgb_timers *h)
{
    return h->n_timers;
}

void
vgb_timers_renew(vgb_timers *h, const vg_netdoc *doc)
{
    h->doc = doc;
}
