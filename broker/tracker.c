/* tracker.c — acknowledgement tracking: who must still acknowledge what,
 * deadlines and escalation on the monotonic clock, onward sharing, the
 * per-agency event streams and the status queries.
 *
 * Deadlines are stored as wall-clock times (the only clock that survives a
 * restart) and turned into monotonic timers once, when scheduled: a wall
 * clock that jumps while the broker runs moves no timer. Every step taken
 * (overdue, each escalation) is written with its event in the batch
 * transaction, so a restart neither skips nor repeats one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_internal.h"
#include "vigil/log.h"
#include "vigil/share.h"

/* ---- timer heap ------------------------------------------------------------ */

static bool
s_timer_less(const vgb_timer *x, const vgb_timer *y)
{
    return x->due_mono < y->due_mono;
}

static void
s_timer_push(vgb_broker *b, vgb_timer t)
{
    if (b->n_timers == b->cap_timers) {
        size_t cap = b->cap_timers ? b->cap_timers * 2 : 64;
        vgb_timer *n = realloc(b->timers, cap * sizeof *n);
        if (n == NULL) {
            vg_log(VG_LOG_ERROR, "broker", "timer.nomem", "seq=%llu", (unsigned long long)t.seq);
            return; /* rebuilt from the store at the next start */
        }
        b->timers = n;
        b->cap_timers = cap;
    }
    size_t i = b->n_timers++;
    while (i > 0 && s_timer_less(&t, &b->timers[(i - 1) / 2])) {
        b->timers[i] = b->timers[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    b->timers[i] = t;
}

/* Puts t into the hole at i, moving smaller children up. */
static void
s_timer_sift_down(vgb_broker *b, size_t i, vgb_timer t)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= b->n_timers) {
            break;
        }
        if (c + 1 < b->n_timers && s_timer_less(&b->timers[c + 1], &b->timers[c])) {
            c++;
        }
        if (!s_timer_less(&b->timers[c], &t)) {
            break;
        }
        b->timers[i] = b->timers[c];
        i = c;
    }
    b->timers[i] = t;
}

static vgb_timer
s_timer_pop(vgb_broker *b)
{
    vgb_timer top = b->timers[0];
    vgb_timer last = b->timers[--b->n_timers];
    if (b->n_timers > 0) {
        s_timer_sift_down(b, 0, last);
    }
    return top;
}

/* ---- what is in the heap ------------------------------------------------------ *
 *
 * Every unacknowledged required row has a timer, and a million stored alerts
 * would make a heap of tens of MiB. So the heap holds about K timers
 * (broker.conf `timers`): every open row whose deadline_ms is at most the
 * watermark W has its timer there; the rows beyond W wait in the store's
 * deadline index. A row is scheduled only when its deadline is at most W;
 * escalation steps of a row in the heap always are (a step is due at or after
 * the deadline). When the heap falls below K/2 timers, or the clock reaches
 * W and nothing in the heap is due, the next K rows beyond W are loaded and
 * W moves up to the last deadline loaded in full; fewer than asked for means
 * all are loaded (W = +inf). A
 * heap grown past 2K (new alerts while W is high) is cut back to the K
 * earliest deadlines and W lowered to match; the timers cut (moot ones too)
 * are in the store. Deadlines are milliseconds and alerts of one batch share
 * theirs, so W never splits a run of equal deadlines: the run is left
 * wholly beyond W, or, when it alone fills K, loaded whole.
 *
 * Rows are turned into monotonic timers when they are loaded, as when they
 * are scheduled: the clock reaching W is watched on the monotonic clock, so
 * a wall-clock step moves no timer and makes no refill by itself. A row
 * still in the store when the wall clock steps is converted with the new
 * clock when it is loaded, as at a restart. */

#define S_TIMERS_MIN 8         /* smallest K (broker.conf bounds it too) */
#define S_WM_ALL INT64_MAX     /* watermark once every open row is loaded */
#define S_NO_AGENCY UINT32_MAX /* a row read that makes no timer */
#define S_REFILLS_PER_PASS 8   /* refills in one service pass, at most */
#define S_REFILL_RETRY_MS 1000 /* after a store error */

static size_t
s_timers_k(const vgb_broker *b)
{
    return b->cfg->timers > S_TIMERS_MIN ? (size_t)b->cfg->timers : S_TIMERS_MIN;
}

/* When the row's next step is due (wall clock), or 0 when it has none. */
static int64_t
s_next_due_wall(const vgb_broker *b, const vgb_rrow *r)
{
    size_t n_steps = vg_netdoc_n_escalation(b->doc);
    if (!r->required || r->state == VGB_ACKNOWLEDGED || r->deadline_ms <= 0 ||
        r->esc_level > n_steps) {
        return 0;
    }
    if (r->esc_level == 0) {
        return r->deadline_ms;
    }
    vg_escalation_step step;
    vg_netdoc_escalation_at(b->doc, r->esc_level - 1, &step);
    return r->deadline_ms + (int64_t)step.after_ms;
}

/* The row's next step as a timer; agency S_NO_AGENCY when it has none. */
static vgb_timer
s_timer_of(const vgb_broker *b, const vgb_rrow *r)
{
    vgb_timer t = {
        .seq = r->seq, .agency = S_NO_AGENCY, .level = r->esc_level, .deadline_ms = r->deadline_ms};
    int64_t due_wall = s_next_due_wall(b, r);
    int idx = vgb_agency_index(b, r->agency);
    if (due_wall != 0 && idx >= 0) {
        int64_t in_ms = due_wall - vg_clock_wall_ms(b->clock);
        t.due_mono = vg_clock_mono_ms(b->clock) + (in_ms > 0 ? in_ms : 0);
        t.agency = (uint32_t)idx;
    }
    return t;
}

static void
s_set_watermark(vgb_broker *b, int64_t wm_ms)
{
    b->timers_wm_ms = wm_ms;
    b->timers_wm_mono = INT64_MAX;
    if (wm_ms != S_WM_ALL) {
        int64_t in_ms = wm_ms - vg_clock_wall_ms(b->clock);
        b->timers_wm_mono = vg_clock_mono_ms(b->clock) + (in_ms > 0 ? in_ms : 0);
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
s_trim(vgb_broker *b)
{
    size_t k = s_timers_k(b), n = b->n_timers;
    int64_t *d = malloc(n * sizeof *d);
    if (d == NULL) {
        b->timers_trim_at = 2 * n; /* try again when it has doubled */
        return;
    }
    for (size_t i = 0; i < n; i++) {
        d[i] = b->timers[i].deadline_ms;
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
    wm = wm < b->timers_wm_ms ? wm : b->timers_wm_ms;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (b->timers[i].deadline_ms <= wm) {
            b->timers[kept++] = b->timers[i];
        }
    }
    b->n_timers = kept;
    for (size_t i = kept / 2; i-- > 0;) {
        s_timer_sift_down(b, i, b->timers[i]);
    }
    s_set_watermark(b, wm);
    b->timers_trim_at = s_trim_at(k, kept);
    vg_log(VG_LOG_DEBUG, "broker", "timer.trim", "kept=%zu dropped=%zu watermark=%lld", kept,
           n - kept, (long long)wm);
}

static void
s_schedule(vgb_broker *b, const vgb_rrow *r)
{
    if (r->deadline_ms > b->timers_wm_ms) {
        return; /* beyond the watermark: loaded from the store in its turn */
    }
    vgb_timer t = s_timer_of(b, r);
    if (t.agency == S_NO_AGENCY) {
        return;
    }
    s_timer_push(b, t);
    if (b->n_timers > b->timers_trim_at) {
        s_trim(b);
    }
}

/* Rows read by a refill, in deadline order. */
typedef struct s_slice {
    vgb_broker *b;  /* the broker */
    vgb_timer *buf; /* timers of the rows read (S_NO_AGENCY: none) */
    size_t n, cap;  /* read, room */
    bool direct;    /* push each row's timer at once (a run loaded whole) */
} s_slice;

static void
s_slice_row(void *ctx, const vgb_rrow *r, const char *officer, const char *note, const char *reason)
{
    (void)officer, (void)note, (void)reason;
    s_slice *sl = ctx;
    vgb_timer t = s_timer_of(sl->b, r);
    if (sl->direct) {
        if (t.agency != S_NO_AGENCY) {
            s_timer_push(sl->b, t);
        }
    } else if (sl->n < sl->cap) { /* the query's LIMIT is cap */
        sl->buf[sl->n++] = t;
    }
}

/* Loads the next K rows beyond the watermark and moves it up. */
static vg_err
s_refill(vgb_broker *b)
{
    size_t k = s_timers_k(b);
    uint32_t max_level = (uint32_t)vg_netdoc_n_escalation(b->doc);
    s_slice sl = {.b = b, .cap = k + 1}; /* one more tells whether the last run goes on */
    sl.buf = malloc(sl.cap * sizeof *sl.buf);
    if (sl.buf == NULL) {
        return VG_ERR_NOMEM;
    }
    vg_err rc = vgb_store_open_rows(b->store, max_level, b->timers_wm_ms, INT64_MAX,
                                    (int64_t)sl.cap, s_slice_row, &sl);
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
            s_timer_push(b, sl.buf[i]);
        }
    }
    if (rc == VG_OK && run != 0) {
        sl.direct = true;
        /* On an error part of the run may be in: loaded again next time, it
         * still acts once. */
        rc = vgb_store_open_rows(b->store, max_level, run - 1, run, -1, s_slice_row, &sl);
    }
    free(sl.buf);
    if (rc != VG_OK) {
        return rc;
    }
    s_set_watermark(b, wm);
    b->timers_trim_at = s_trim_at(k, b->n_timers);
    vg_log(VG_LOG_DEBUG, "broker", "timer.refill", "timers=%zu watermark=%lld", b->n_timers,
           (long long)wm);
    return VG_OK;
}

/* The rows beyond the watermark are due after timers_wm_mono: they must be
 * in the heap by then, unless what the heap holds is due first (after an
 * outage, loading more before those fired would only grow the heap). */
static bool
s_refill_due(const vgb_broker *b, int64_t now)
{
    if (b->timers_wm_ms == S_WM_ALL || now < b->timers_retry_mono) {
        return false;
    }
    return b->n_timers < s_timers_k(b) / 2 ||
           (now >= b->timers_wm_mono && b->timers[0].due_mono > now);
}

/* Refills while the heap is short or the clock has reached the watermark;
 * a store error waits S_REFILL_RETRY_MS before the next try. */
static void
s_refill_while_due(vgb_broker *b, int64_t now)
{
    for (int i = 0; i < S_REFILLS_PER_PASS && s_refill_due(b, now); i++) {
        vg_err rc = s_refill(b);
        if (rc != VG_OK) {
            vg_log(VG_LOG_ERROR, "broker", "timer.refill_failed", "code=%s", vg_err_code(rc));
            b->timers_retry_mono = now + S_REFILL_RETRY_MS;
        }
    }
}

vg_err
vgb_track_start(vgb_broker *b)
{
    int64_t now = vg_clock_mono_ms(b->clock);
    vg_err rc = VG_OK;
    for (size_t i = 0; i < b->n_agencies && rc == VG_OK; i++) {
        vgb_agency *a = &b->agencies[i];
        a->away_since_mono = now;
        a->wake_mono = INT64_MAX;
        a->ev_run = -1;
        rc = vgb_store_last_event(b->store, a->id, &a->ev_seq);
        a->ev_seq_committed = a->ev_seq;
    }
    if (b->n_agencies <= 64) {
        b->hints = calloc(VGB_HINTS, sizeof *b->hints); /* NULL: every event reads the store */
    }
    s_set_watermark(b, 0); /* nothing loaded: every row with a deadline is beyond */
    b->timers_trim_at = s_trim_at(s_timers_k(b), 0);
    b->timers_retry_mono = 0;
    rc = rc != VG_OK ? rc : s_refill(b);
    vg_log(VG_LOG_INFO, "broker", "track.start", "timers=%zu watermark=%lld", b->n_timers,
           (long long)b->timers_wm_ms);
    return rc;
}

void
vgb_track_fini(vgb_broker *b)
{
    free(b->timers);
    b->timers = NULL;
    b->n_timers = b->cap_timers = 0;
    vgb_track_flush_events(b, false);
    free(b->events);
    b->events = NULL;
    b->cap_events = 0;
    free(b->runs);
    b->runs = NULL;
    b->cap_runs = 0;
    free(b->hints);
    b->hints = NULL;
}

/* ---- events ------------------------------------------------------------------- */

/* Who hears about an alert: its sender, every recipient, oversight. */
typedef struct s_audience {
    bool *to; /* per agency index */
    size_t n; /* agencies */
} s_audience;

static void
s_hear(s_audience *au, const vgb_broker *b, const char *agency)
{
    int i = vgb_agency_index(b, agency);
    if (i >= 0) {
        au->to[i] = true;
    }
}

static void
s_hear_role(s_audience *au, const vgb_broker *b, const char *role)
{
    for (size_t i = 0; i < b->n_agencies; i++) {
        vg_agency ag;
        vg_netdoc_agency_at(b->doc, i, &ag);
        if (strcmp(ag.role, role) == 0) {
            au->to[i] = true;
        }
    }
}

typedef struct s_rows_ctx {
    s_audience au; /* who hears */
    vgb_broker *b; /* the broker */
} s_rows_ctx;

static void
s_hear_row(void *ctx, const vgb_rrow *r, const char *officer, const char *note, const char *reason)
{
    (void)officer, (void)note, (void)reason;
    s_rows_ctx *c = ctx;
    s_hear(&c->au, c->b, r->agency);
}

/* The alert's id, sender and severity in *h, and its sender and recipients
 * marked in au: from the hint when the alert is recent, else from the store
 * (and kept as its hint). */
static vg_err
s_alert_audience(vgb_broker *b, uint64_t seq, vgb_alert_hint *h, s_audience *au)
{
    vgb_alert_hint *slot = b->hints != NULL ? &b->hints[seq % VGB_HINTS] : NULL;
    if (slot != NULL && slot->seq == seq) {
        *h = *slot;
        for (size_t i = 0; i < b->n_agencies; i++) {
            au->to[i] = au->to[i] || (h->audience >> i & 1u);
        }
        return VG_OK;
    }
    vgb_alert_meta m;
    vg_err rc = vgb_store_alert_meta(b->store, seq, &m);
    if (rc != VG_OK) {
        return rc;
    }
    s_rows_ctx rows = {{calloc(b->n_agencies, sizeof(bool)), b->n_agencies}, b};
    if (rows.au.to == NULL) {
        return VG_ERR_NOMEM;
    }
    s_hear(&rows.au, b, m.sender);
    rc = vgb_store_recipients_of(b->store, seq, s_hear_row, &rows);
    *h = (vgb_alert_hint){.seq = seq, .severity = m.severity};
    memcpy(h->id, m.id, VG_ALERT_ID_LEN);
    snprintf(h->sender, sizeof h->sender, "%s", m.sender);
    for (size_t i = 0; i < b->n_agencies; i++) {
        au->to[i] = au->to[i] || rows.au.to[i];
        h->audience |= rows.au.to[i] && i < 64 ? (uint64_t)1 << i : 0;
    }
    free(rows.au.to);
    if (rc == VG_OK && slot != NULL) {
        *slot = *h;
    }
    return rc;
}

/* Forgets the hint of an alert whose audience changed (a share). */
static void
s_hint_forget(vgb_broker *b, uint64_t seq)
{
    if (b->hints != NULL && b->hints[seq % VGB_HINTS].seq == seq) {
        b->hints[seq % VGB_HINTS].seq = 0;
    }
}

typedef struct s_event {
    Vigil__EventKind kind;    /* what happened */
    uint64_t seq;             /* alert, 0 for agency events */
    const char *about;        /* the agency concerned */
    const char *detail;       /* e.g. "contact:home-office" */
    uint32_t level;           /* escalation level */
    uint32_t count;           /* alerts waiting */
    const uint8_t *receipt;   /* forwarded signed receipt */
    size_t receipt_len;       /* its length */
    const char *extra_agency; /* also told (escalation contact) */
    const char *extra_role;   /* also told (escalation role) */
    bool everyone;            /* agency events: the whole network */
    const uint8_t *hash;      /* audit: receipt or share hash */
    int64_t deadline_ms;      /* audit: the deadline that passed */
    const char *target;       /* audit: who an escalation went to */
    const char *failure;      /* audit: why an alert could not be opened */
    bool no_leaf;             /* audit: the leaf is written by the caller */
} s_event;

/* The audit leaf of an event (ACCEPTED and COMPLETE have none here: the
 * first is written where the envelope is at hand, the second is implied). */
static void
s_audit(vgb_broker *b, const s_event *ev, const vgb_alert_hint *m)
{
    static const vg_audit_kind kinds[] = {
        [VIGIL__EVENT_KIND__EVENT_DELIVERED] = VG_AUDIT_DELIVERED,
        [VIGIL__EVENT_KIND__EVENT_ACKNOWLEDGED] = VG_AUDIT_ACKNOWLEDGED,
        [VIGIL__EVENT_KIND__EVENT_IN_PROGRESS] = VG_AUDIT_IN_PROGRESS,
        [VIGIL__EVENT_KIND__EVENT_DECLINED] = VG_AUDIT_DECLINED,
        [VIGIL__EVENT_KIND__EVENT_SHARED] = VG_AUDIT_SHARED,
        [VIGIL__EVENT_KIND__EVENT_OVERDUE] = VG_AUDIT_OVERDUE,
        [VIGIL__EVENT_KIND__EVENT_ESCALATED] = VG_AUDIT_ESCALATED,
        [VIGIL__EVENT_KIND__EVENT_AGENCY_OFFLINE] = VG_AUDIT_AGENCY_OFFLINE,
        [VIGIL__EVENT_KIND__EVENT_AGENCY_ONLINE] = VG_AUDIT_AGENCY_ONLINE,
        [VIGIL__EVENT_KIND__EVENT_UNOPENABLE] = VG_AUDIT_UNOPENABLE,
    };
    if (ev->no_leaf || (size_t)ev->kind >= sizeof kinds / sizeof kinds[0] || kinds[ev->kind] == 0) {
        return;
    }
    vg_audit_event a = {.kind = kinds[ev->kind],
                        .has_alert_id = m != NULL,
                        .deadline_ms = (uint64_t)ev->deadline_ms,
                        .level = ev->level,
                        .pending = ev->count};
    if (m != NULL) {
        memcpy(a.alert_id, m->id, VG_ALERT_ID_LEN);
    }
    if (ev->hash != NULL) {
        memcpy(a.hash, ev->hash, VG_HASH_LEN);
    }
    /* shared: the leaf's agency is the sharer, its list the new recipient */
    const char *agency = ev->kind == VIGIL__EVENT_KIND__EVENT_SHARED ? ev->detail : ev->about;
    snprintf(a.agency, sizeof a.agency, "%s", agency ? agency : "");
    snprintf(a.target, sizeof a.target, "%s", ev->target ? ev->target : "");
    snprintf(a.code, sizeof a.code, "%s", ev->failure ? ev->failure : "");
    if (ev->kind == VIGIL__EVENT_KIND__EVENT_SHARED &&
        vg_strlist_add(&a.agencies, ev->about) != VG_OK) {
        b->batch_failed = true;
    }
    vgb_ledger_append(b, ev->seq, &a);
    vg_strlist_fini(&a.agencies);
}

/* Packs the event for the agency's subscribers, sent after the commit. */
static void
s_queue_event(vgb_broker *b, size_t agency, const vgb_event_row *row, const vgb_alert_hint *m)
{
    bool subscribed = false;
    for (size_t j = 0; j < VGB_SUBSCRIBERS_MAX; j++) {
        subscribed = subscribed || b->agencies[agency].subs[j].rid_len != 0;
    }
    if (!subscribed) {
        return; /* a subscriber that comes later asks for what it missed */
    }
    Vigil__Event e = VIGIL__EVENT__INIT;
    e.seq = row->seq;
    e.time_ms = (uint64_t)row->time_ms;
    e.kind = (Vigil__EventKind)row->kind;
    e.agency = (char *)row->about;
    e.detail = (char *)row->detail;
    e.count = row->count;
    e.escalation_level = row->level;
    if (m != NULL) {
        e.alert_id.data = (uint8_t *)m->id;
        e.alert_id.len = VG_ALERT_ID_LEN;
        e.sender = (char *)m->sender;
        e.severity = (Vigil__Severity)m->severity;
    }
    if (row->receipt != NULL) {
        e.signed_receipt.data = (uint8_t *)row->receipt;
        e.signed_receipt.len = row->receipt_len;
    }
    Vigil__BrokerFrame f = VIGIL__BROKER_FRAME__INIT;
    f.kind_case = VIGIL__BROKER_FRAME__KIND_EVENT;
    f.event = &e;
    if (b->n_events == b->cap_events) {
        size_t cap = b->cap_events ? b->cap_events * 2 : 64;
        vgb_pending_event *n = realloc(b->events, cap * sizeof *n);
        if (n == NULL) {
            return; /* stored; subscribers see the gap and catch up */
        }
        b->events = n;
        b->cap_events = cap;
    }
    vgb_pending_event *pe = &b->events[b->n_events];
    pe->len = vigil__broker_frame__get_packed_size(&f);
    pe->frame = malloc(pe->len);
    if (pe->frame != NULL) {
        vigil__broker_frame__pack(&f, pe->frame);
        pe->agency = agency;
        b->n_events++;
    }
}

static void
s_run_free(vgb_event_run *r)
{
    free((char *)r->first.about);
    free((char *)r->first.detail);
    free((uint8_t *)r->first.receipt);
    free(r->more);
}

/* Only the high-volume kinds share a row; the others stay one row each. */
static bool
s_run_takes(const vgb_event_run *r, const vgb_event_row *row)
{
    return (row->kind == VIGIL__EVENT_KIND__EVENT_ACCEPTED ||
            row->kind == VIGIL__EVENT_KIND__EVENT_DELIVERED) &&
           r->first.kind == row->kind && row->alert_seq != 0 && row->receipt == NULL &&
           r->first.receipt == NULL && r->first.count == row->count &&
           r->first.level == row->level && strcmp(r->first.about, row->about) == 0 &&
           strcmp(r->first.detail, row->detail) == 0;
}

/* Adds the (numbered) event to the agency's rows of this batch: to its open
 * run when it differs only in the alert, else as a new run. */
static vg_err
s_run_add(vgb_broker *b, size_t agency, const vgb_event_row *row)
{
    vgb_agency *a = &b->agencies[agency];
    if (a->ev_run >= 0 && s_run_takes(&b->runs[a->ev_run], row)) {
        vgb_event_run *r = &b->runs[a->ev_run];
        if (r->n_more == r->cap_more) {
            size_t cap = r->cap_more ? 2 * r->cap_more : 16;
            uint64_t *n = realloc(r->more, cap * sizeof *n);
            if (n == NULL) {
                return VG_ERR_NOMEM;
            }
            r->more = n;
            r->cap_more = cap;
        }
        r->more[r->n_more++] = row->alert_seq;
        return VG_OK;
    }
    if (b->n_runs == b->cap_runs) {
        size_t cap = b->cap_runs ? 2 * b->cap_runs : 64;
        vgb_event_run *n = realloc(b->runs, cap * sizeof *n);
        if (n == NULL) {
            return VG_ERR_NOMEM;
        }
        b->runs = n;
        b->cap_runs = cap;
    }
    vgb_event_run *r = &b->runs[b->n_runs];
    *r = (vgb_event_run){.agency = agency, .first = *row};
    r->first.about = vg_strdup(row->about);
    r->first.detail = vg_strdup(row->detail);
    r->first.receipt = NULL;
    if (row->receipt != NULL && (r->first.receipt = malloc(row->receipt_len)) != NULL) {
        memcpy((uint8_t *)r->first.receipt, row->receipt, row->receipt_len);
    }
    if (r->first.about == NULL || r->first.detail == NULL ||
        (row->receipt != NULL && r->first.receipt == NULL)) {
        s_run_free(r);
        return VG_ERR_NOMEM;
    }
    a->ev_run = (long)b->n_runs++;
    return VG_OK;
}

/* The event as an oversight agency's stream carries it: metadata, and the
 * officer's name and the free text (notes, reasons) only as far as the
 * network document's "oversight" allows; the signed receipt (which holds
 * both) only when it allows both. */
static vgb_event_row
s_oversight_row(const vgb_broker *b, const vgb_event_row *row)
{
    vg_oversight_view v = vg_netdoc_oversight(b->doc);
    vgb_event_row seen = *row;
    bool names = row->kind == VIGIL__EVENT_KIND__EVENT_ACKNOWLEDGED;
    bool text = row->kind == VIGIL__EVENT_KIND__EVENT_IN_PROGRESS ||
                row->kind == VIGIL__EVENT_KIND__EVENT_DECLINED;
    if ((names && !v.officer_names) || (text && !v.notes)) {
        seen.detail = "";
    }
    if (!v.officer_names || !v.notes) {
        seen.receipt = NULL;
        seen.receipt_len = 0;
    }
    return seen;
}

/* Records ev in the stream of everyone who must hear of it (written before
 * the commit, sent after it). Returns the error that fails the batch. */
static vg_err
s_emit(vgb_broker *b, const s_event *ev)
{
    vgb_alert_hint meta;
    s_audience au = {calloc(b->n_agencies, sizeof(bool)), b->n_agencies};
    if (au.to == NULL) {
        return VG_ERR_NOMEM;
    }
    vg_err rc = VG_OK;
    bool has_meta = false;
    if (ev->everyone) {
        memset(au.to, 1, b->n_agencies * sizeof(bool));
    }
    if (ev->seq != 0) {
        rc = s_alert_audience(b, ev->seq, &meta, &au);
        has_meta = rc == VG_OK;
        rc = rc == VG_ERR_NOT_FOUND ? VG_OK : rc;
    }
    s_hear_role(&au, b, "oversight");
    if (ev->about != NULL) {
        s_hear(&au, b, ev->about);
    }
    if (ev->extra_agency != NULL) {
        s_hear(&au, b, ev->extra_agency);
    }
    if (ev->extra_role != NULL) {
        s_hear_role(&au, b, ev->extra_role);
    }
    s_audit(b, ev, has_meta ? &meta : NULL);
    vgb_event_row row = {.time_ms = vg_clock_wall_ms(b->clock),
                         .kind = (int)ev->kind,
                         .alert_seq = ev->seq,
                         .about = ev->about ? ev->about : "",
                         .detail = ev->detail ? ev->detail : "",
                         .count = ev->count,
                         .level = ev->level,
                         .receipt = ev->receipt,
                         .receipt_len = ev->receipt_len};
    vgb_event_row seen = s_oversight_row(b, &row); /* what oversight may see of it */
    for (size_t i = 0; i < b->n_agencies && rc == VG_OK; i++) {
        if (au.to[i]) {
            vgb_event_row *r = vg_netdoc_is_oversight(b->doc, b->agencies[i].id) ? &seen : &row;
            r->seq = b->agencies[i].ev_seq + 1;
            rc = s_run_add(b, i, r);
            if (rc == VG_OK) {
                b->agencies[i].ev_seq = r->seq;
                s_queue_event(b, i, r, has_meta ? &meta : NULL);
            }
        }
    }
    free(au.to);
    if (rc != VG_OK) {
        b->batch_failed = true; /* a stream must not lose an event */
    }
    return rc;
}

static void
s_runs_clear(vgb_broker *b)
{
    for (size_t i = 0; i < b->n_runs; i++) {
        s_run_free(&b->runs[i]);
    }
    b->n_runs = 0;
    for (size_t i = 0; i < b->n_agencies; i++) {
        b->agencies[i].ev_run = -1;
    }
}

vg_err
vgb_track_write_events(vgb_broker *b)
{
    vg_err rc = VG_OK;
    for (size_t i = 0; i < b->n_runs && rc == VG_OK; i++) {
        const vgb_event_run *r = &b->runs[i];
        rc = vgb_store_insert_events(b->store, b->agencies[r->agency].id, &r->first, r->more,
                                     r->n_more);
    }
    s_runs_clear(b);
    return rc;
}

void
vgb_track_flush_events(vgb_broker *b, bool committed)
{
    s_runs_clear(b);
    for (size_t i = 0; i < b->n_agencies; i++) {
        vgb_agency *a = &b->agencies[i];
        if (committed) {
            a->ev_seq_committed = a->ev_seq;
        } else {
            a->ev_seq = a->ev_seq_committed; /* the batch's numbers are free again */
        }
    }
    if (!committed && b->hints != NULL) {
        memset(b->hints, 0, VGB_HINTS * sizeof *b->hints); /* seqs and shares rolled back */
    }
    for (size_t i = 0; i < b->n_events; i++) {
        vgb_pending_event *pe = &b->events[i];
        vgb_agency *a = &b->agencies[pe->agency];
        for (size_t j = 0; committed && j < VGB_SUBSCRIBERS_MAX; j++) {
            vgb_subscriber *sub = &a->subs[j];
            if (sub->rid_len != 0 &&
                vgb_send(b, sub->rid, sub->rid_len, pe->frame, pe->len) == VG_ERR_NOT_FOUND) {
                sub->rid_len = 0; /* gone */
            }
        }
        free(pe->frame);
    }
    b->n_events = 0;
}

/* ---- new alerts and receipts ---------------------------------------------------- */

int64_t
vgb_track_deadline(vgb_broker *b, const vg_envelope *env)
{
    uint64_t dur =
        vg_netdoc_deadline_ms(b->doc, vg_envelope_severity(env), vg_envelope_urgency(env));
    return vg_clock_wall_ms(b->clock) + (int64_t)dur;
}

vg_err
vgb_track_accepted(vgb_broker *b, uint64_t seq, const vg_envelope *env, const vg_strlist *required,
                   int64_t deadline)
{
    vg_err rc = VG_OK;
    const vg_strlist *rcpts = vg_envelope_recipients(env);
    for (size_t i = 0; i < rcpts->n; i++) {
        if (vg_strlist_contains(required, rcpts->items[i])) {
            vgb_rrow row = {
                .seq = seq, .required = true, .state = VGB_PENDING, .deadline_ms = deadline};
            snprintf(row.agency, sizeof row.agency, "%s", rcpts->items[i]);
            s_schedule(b, &row);
        }
    }
    if (rc == VG_OK) {
        vg_audit_event a = {.kind = VG_AUDIT_ACCEPTED,
                            .has_alert_id = true,
                            .version = vg_envelope_network_version(env)};
        memcpy(a.alert_id, vg_envelope_id(env), VG_ALERT_ID_LEN);
        memcpy(a.hash, vg_envelope_hash(env), VG_HASH_LEN);
        snprintf(a.sender, sizeof a.sender, "%s", vg_envelope_sender(env));
        const vg_strlist *r = vg_envelope_recipients(env);
        for (size_t i = 0; i < r->n && rc == VG_OK; i++) {
            rc = vg_strlist_add(&a.agencies, r->items[i]);
        }
        if (rc == VG_OK) {
            vgb_ledger_append(b, seq, &a);
        }
        vg_strlist_fini(&a.agencies);
    }
    if (rc == VG_OK && b->hints != NULL) { /* its events need not read it back */
        vgb_alert_hint *h = &b->hints[seq % VGB_HINTS];
        *h = (vgb_alert_hint){.seq = seq, .severity = (int)vg_envelope_severity(env)};
        memcpy(h->id, vg_envelope_id(env), VG_ALERT_ID_LEN);
        snprintf(h->sender, sizeof h->sender, "%s", vg_envelope_sender(env));
        int i = vgb_agency_index(b, vg_envelope_sender(env));
        h->audience = i >= 0 ? (uint64_t)1 << i : 0;
        for (size_t k = 0; k < rcpts->n; k++) {
            i = vgb_agency_index(b, rcpts->items[k]);
            h->audience |= i >= 0 ? (uint64_t)1 << i : 0;
        }
    }
    if (rc == VG_OK) {
        s_event ev = {.kind = VIGIL__EVENT_KIND__EVENT_ACCEPTED,
                      .seq = seq,
                      .about = vg_envelope_sender(env)};
        rc = s_emit(b, &ev);
    }
    return rc;
}

void
vgb_track_delivered(vgb_broker *b, uint64_t seq, const char *agency)
{
    /* the receipt's one leaf is written by the caller (vgb_ledger_append_alerts) */
    s_event ev = {
        .kind = VIGIL__EVENT_KIND__EVENT_DELIVERED, .seq = seq, .about = agency, .no_leaf = true};
    (void)s_emit(b, &ev); /* a failed store write fails the batch's commit too */
}

static vgb_rstate
s_state_of(vg_receipt_kind k)
{
    return k == VG_RECEIPT_ACKNOWLEDGED  ? VGB_ACKNOWLEDGED
           : k == VG_RECEIPT_IN_PROGRESS ? VGB_IN_PROGRESS
           : k == VG_RECEIPT_DECLINED    ? VGB_DECLINED
                                         : VGB_UNOPENABLE;
}

static Vigil__EventKind
s_event_of(vg_receipt_kind k)
{
    return k == VG_RECEIPT_ACKNOWLEDGED  ? VIGIL__EVENT_KIND__EVENT_ACKNOWLEDGED
           : k == VG_RECEIPT_IN_PROGRESS ? VIGIL__EVENT_KIND__EVENT_IN_PROGRESS
           : k == VG_RECEIPT_DECLINED    ? VIGIL__EVENT_KIND__EVENT_DECLINED
                                         : VIGIL__EVENT_KIND__EVENT_UNOPENABLE;
}

/* Checks that the receipt is for an alert delivered to the agency (an
 * UNOPENABLE one: sent to it and not yet receipted). */
static vg_err
s_receipt_target(vgb_broker *b, const vgb_from *from, const vg_receipt *r, vgb_alert_row *alert,
                 vgb_rrow *row, vg_reason *why)
{
    const vg_receipt_item *it = vg_receipt_item_at(r, 0);
    vg_err rc = vgb_store_find_alert(b->store, it->alert_id, alert);
    if (rc == VG_OK) {
        rc = vgb_store_rrow(b->store, alert->seq, from->agency, row);
    }
    if (rc == VG_ERR_NOT_FOUND) { /* not its alert looks exactly like no such alert */
        return vgb_unknown_alert(why, from->agency);
    }
    if (rc == VG_OK && vg_receipt_kind_of(r) == VG_RECEIPT_UNOPENABLE &&
        row->state != VGB_PENDING && row->state != VGB_UNOPENABLE) {
        return vg_reason_set(why, VG_ERR_CONFLICT,
                             "%s already receipted this alert as delivered (its software opened "
                             "it): it cannot be unopenable now",
                             from->agency);
    }
    if (rc == VG_OK && row->state == VGB_UNOPENABLE &&
        vg_receipt_kind_of(r) != VG_RECEIPT_UNOPENABLE) {
        return vg_reason_set(why, VG_ERR_NOT_RECIPIENT,
                             "%s said it cannot open this alert: it never received its content; "
                             "the sender must send it again",
                             from->agency);
    }
    if (rc == VG_OK && row->state == VGB_PENDING &&
        vg_receipt_kind_of(r) != VG_RECEIPT_UNOPENABLE) {
        return vg_reason_set(why, VG_ERR_NOT_RECIPIENT,
                             "this alert has not been delivered to %s yet: receive it first "
                             "(vigil-agent listen)",
                             from->agency);
    }
    if (rc == VG_OK && memcmp(alert->envelope_hash, it->envelope_hash, VG_HASH_LEN) != 0) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "the receipt names a different envelope than the one stored");
    }
    return rc == VG_OK ? VG_OK : vg_reason_set(why, rc, "store error; send it again later");
}

/* The deadline after this receipt: IN_PROGRESS extends it once, from now;
 * DECLINED brings it forward to now (it escalates like an overdue alert). */
static int64_t
s_new_deadline(vgb_broker *b, uint64_t seq, const vgb_rrow *row, vg_receipt_kind kind,
               bool *extended)
{
    int64_t now = vg_clock_wall_ms(b->clock);
    *extended = false;
    if (kind == VG_RECEIPT_DECLINED || kind == VG_RECEIPT_UNOPENABLE) {
        return row->deadline_ms > 0 && row->deadline_ms < now ? row->deadline_ms : now;
    }
    if (kind == VG_RECEIPT_IN_PROGRESS && !row->progress_used) {
        vgb_alert_meta m;
        if (vgb_store_alert_meta(b->store, seq, &m) == VG_OK) {
            *extended = true;
            return now + (int64_t)vg_netdoc_deadline_ms(b->doc, (vg_severity)m.severity,
                                                        (vg_urgency)m.urgency);
        }
    }
    return row->deadline_ms;
}

static vg_err
s_apply(vgb_broker *b, const vgb_from *from, const vg_receipt *r, const vgb_alert_row *alert,
        vgb_rrow *row, bool *extended)
{
    vg_receipt_kind kind = vg_receipt_kind_of(r);
    int64_t now = vg_clock_wall_ms(b->clock);
    int64_t deadline = s_new_deadline(b, alert->seq, row, kind, extended);
    uint64_t seq = alert->seq;
    char failure[VG_SHORT_TEXT_MAX + 64] = ""; /* the row's reason: "bad_key: share by police" */
    if (kind == VG_RECEIPT_UNOPENABLE) {
        snprintf(failure, sizeof failure, "%s%s%s", vg_open_failure_name(vg_receipt_failure(r)),
                 vg_receipt_reason(r)[0] ? ": " : "", vg_receipt_reason(r));
    }
    vg_err rc = vgb_store_apply_receipt(
        b->store, seq, from->agency, s_state_of(kind), now, vg_receipt_officer(r),
        vg_receipt_note(r), kind == VG_RECEIPT_UNOPENABLE ? failure : vg_receipt_reason(r),
        deadline);
    if (rc == VG_OK && *extended) { /* a new deadline: escalation starts again from it */
        rc = vgb_store_set_escalation(b->store, seq, from->agency, 0, now);
    }
    if (rc == VG_OK) {
        rc = vgb_store_insert_receipt(b->store, r, &seq, 1, now);
    }
    if (rc == VG_OK) {
        size_t len = 0;
        const uint8_t *bytes = vg_receipt_bytes(r, &len);
        s_event ev = {.kind = s_event_of(kind),
                      .seq = seq,
                      .about = from->agency,
                      .detail = kind == VG_RECEIPT_ACKNOWLEDGED  ? vg_receipt_officer(r)
                                : kind == VG_RECEIPT_UNOPENABLE ? vg_open_failure_name(
                                                                      vg_receipt_failure(r))
                                                                : vg_receipt_reason(r),
                      .receipt = bytes,
                      .receipt_len = len,
                      .hash = vg_receipt_hash(r),
                      .failure = kind == VG_RECEIPT_UNOPENABLE
                                     ? vg_open_failure_name(vg_receipt_failure(r))
                                     : NULL};
        rc = s_emit(b, &ev);
    }
    bool complete = false;
    if (rc == VG_OK && kind == VG_RECEIPT_ACKNOWLEDGED) {
        rc = vgb_store_check_complete(b->store, seq, now, &complete);
    }
    if (rc == VG_OK && complete) {
        s_event ev = {.kind = VIGIL__EVENT_KIND__EVENT_COMPLETE, .seq = seq};
        rc = s_emit(b, &ev);
    }
    if (rc == VG_OK && kind != VG_RECEIPT_ACKNOWLEDGED &&
        vgb_store_rrow(b->store, seq, from->agency, row) == VG_OK) {
        s_schedule(b, row); /* the new deadline, or escalation of a decline */
    }
    if (rc == VG_OK && kind == VG_RECEIPT_UNOPENABLE && from->agency_idx >= 0) {
        vgb_after_add(b, (size_t)from->agency_idx, seq); /* its delivery slot is free */
    }
    return rc;
}

void
vgb_track_receipt(vgb_broker *b, const vgb_from *from, const vg_receipt *r)
{
    vg_reason why = {{0}};
    vgb_alert_row alert;
    vgb_rrow row;
    const uint8_t *id = vg_receipt_item_at(r, 0)->alert_id;
    vg_err rc = vgb_txn(b) ? VG_OK : vg_reason_set(&why, VG_ERR_INTERNAL, "store unavailable");
    if (rc == VG_OK) {
        rc = s_receipt_target(b, from, r, &alert, &row, &why);
    }
    if (rc != VG_OK) {
        vgb_reply_reject(b, from, id, rc, why.text, NULL, "receipt.reject");
        return;
    }
    if (row.state == VGB_UNOPENABLE) { /* said before: its slot, if any, is free again */
        if (from->agency_idx >= 0) {
            vgb_after_add(b, (size_t)from->agency_idx, alert.seq);
        }
        vgb_reply_confirm(b, from, id, VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE, 0,
                          "already recorded as unopenable; nothing changed", NULL);
        return;
    }
    if (row.state == VGB_ACKNOWLEDGED) {
        char when[VG_TIME_STR_LEN];
        vg_time_format(when, sizeof when, row.acked_ms);
        snprintf(why.text, sizeof why.text, "already acknowledged by %s at %s; nothing changed",
                 from->agency, when);
        vgb_reply_confirm(b, from, id, VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE, 0, why.text, NULL);
        return;
    }
    bool extended = false;
    rc = s_apply(b, from, r, &alert, &row, &extended);
    if (rc != VG_OK) {
        vgb_reply_reject(b, from, id, VG_ERR_INTERNAL, "store error; send it again later", NULL,
                         "receipt.reject");
        return;
    }
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, id);
    vg_log(VG_LOG_INFO, "broker", "receipt.accept", "agency=%s alert=%s kind=%s", from->agency,
           idhex, vg_receipt_kind_name(vg_receipt_kind_of(r)));
    const char *note = vg_receipt_kind_of(r) != VG_RECEIPT_IN_PROGRESS ? ""
                       : extended                                      ? "deadline extended once"
                                  : "recorded; the deadline was already extended once and is "
                                    "not extended again";
    vgb_reply_confirm(b, from, id, VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED, 0, note, NULL);
}

/* ---- sharing ------------------------------------------------------------------------ */

/* Checks that need nothing but the share and the document: who sent it,
 * when, to whom, and under which document its key was sealed. */
static vg_err
s_share_form(vgb_broker *b, const vgb_from *from, const vg_share *sh, vg_reason *why)
{
    const char *to = vg_share_to(sh);
    if (strcmp(vg_share_sharer(sh), from->agency) != 0) {
        return vg_reason_set(why, VG_ERR_SENDER_MISMATCH,
                             "share by '%s' arrived on the connection of '%s'", vg_share_sharer(sh),
                             from->agency);
    }
    vg_err rc = vgb_check_skew(b, vg_share_created_ms(sh), "share", why);
    if (rc == VG_OK && vg_netdoc_is_oversight(b->doc, to)) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED,
                           "cannot share with '%s': an oversight agency sees every alert's "
                           "metadata and never its content",
                           to);
    }
    if (rc == VG_OK) { /* the key is sealed to `to`'s box key in that document */
        rc = vgb_netdocs_check_sealed(b->netdocs, vg_share_network_version(sh), &to, 1, why);
    }
    return rc;
}

static vg_err
s_share_checks(vgb_broker *b, const vgb_from *from, const vg_share *sh, vgb_alert_row *alert,
               vg_reason *why)
{
    vgb_rrow row;
    vg_err rc = s_share_form(b, from, sh, why);
    if (rc != VG_OK) {
        return rc;
    }
    vgb_alert_meta m;
    rc = vgb_store_find_alert(b->store, vg_share_alert_id(sh), alert);
    rc = rc == VG_OK ? vgb_store_alert_meta(b->store, alert->seq, &m) : rc;
    bool sender = rc == VG_OK && strcmp(m.sender, from->agency) == 0;
    rc = rc == VG_OK ? vgb_store_rrow(b->store, alert->seq, from->agency, &row) : rc;
    if (rc == VG_ERR_NOT_FOUND && !sender) { /* not its alert: as if there were none */
        return vgb_unknown_alert(why, from->agency);
    }
    if (rc == VG_ERR_NOT_FOUND ||
        (rc == VG_OK && (row.state == VGB_PENDING || row.state == VGB_UNOPENABLE))) {
        return vg_reason_set(why, VG_ERR_NOT_RECIPIENT,
                             "only an agency that received this alert can share it%s",
                             sender ? " (its sender adds recipients to a new alert)" : "");
    }
    if (rc == VG_OK && memcmp(alert->envelope_hash, vg_share_envelope_hash(sh), VG_HASH_LEN)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "the share names a different envelope");
    }
    if (rc == VG_OK && strcmp(m.sender, vg_share_to(sh)) == 0) {
        return vg_reason_set(why, VG_ERR_DUPLICATE, "%s sent this alert: it has it already",
                             vg_share_to(sh));
    }
    rc = rc == VG_OK ? vgb_store_rrow(b->store, alert->seq, vg_share_to(sh), &row) : rc;
    if (rc == VG_OK) {
        return vg_reason_set(why, VG_ERR_DUPLICATE, "%s already receives this alert",
                             vg_share_to(sh));
    }
    return rc == VG_ERR_NOT_FOUND ? VG_OK : vg_reason_set(why, rc, "store error");
}

void
vgb_track_share(vgb_broker *b, const vgb_from *from, const ProtobufCBinaryData *bytes)
{
    vg_share *sh = NULL;
    vg_reason why = {{0}};
    vgb_alert_row alert;
    vg_err rc = vg_share_verify(&sh, bytes->data, bytes->len, b->doc, &why);
    if (rc == VG_OK && !vgb_txn(b)) {
        rc = vg_reason_set(&why, VG_ERR_INTERNAL, "store unavailable; send it again later");
    }
    if (rc == VG_OK) {
        rc = s_share_checks(b, from, sh, &alert, &why);
    }
    const uint8_t *id = sh ? vg_share_alert_id(sh) : NULL;
    if (rc == VG_ERR_DUPLICATE) {
        vgb_reply_confirm(b, from, id, VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE, 0, why.text, NULL);
        vg_share_destroy(&sh);
        return;
    }
    vgb_alert_meta m;
    if (rc == VG_OK && (rc = vgb_store_alert_meta(b->store, alert.seq, &m)) == VG_OK) {
        int64_t now = vg_clock_wall_ms(b->clock);
        int64_t deadline = now + (int64_t)vg_netdoc_deadline_ms(b->doc, (vg_severity)m.severity,
                                                                (vg_urgency)m.urgency);
        rc = vgb_store_add_recipient(b->store, alert.seq, vg_share_to(sh), from->agency, deadline);
        rc = rc ? rc
                : vgb_store_insert_share(b->store, alert.seq, from->agency, vg_share_to(sh),
                                         vg_share_hash(sh), bytes->data, bytes->len, now);
        s_hint_forget(b, alert.seq);       /* one more agency hears of it */
        vgb_delivery_forget(b, alert.seq); /* its deliveries carry share records now */
        s_event ev = {.kind = VIGIL__EVENT_KIND__EVENT_SHARED,
                      .seq = alert.seq,
                      .about = vg_share_to(sh),
                      .detail = from->agency,
                      .hash = vg_share_hash(sh)};
        rc = rc ? rc : s_emit(b, &ev);
        vgb_rrow row = {
            .seq = alert.seq, .required = true, .state = VGB_PENDING, .deadline_ms = deadline};
        snprintf(row.agency, sizeof row.agency, "%s", vg_share_to(sh));
        if (rc == VG_OK) {
            s_schedule(b, &row);
            int idx = vgb_agency_index(b, vg_share_to(sh));
            vgb_after_add(b, (size_t)(idx >= 0 ? idx : 0), 0);
        }
        if (rc != VG_OK) {
            vg_reason_set(&why, rc, "store error; send it again later");
        }
    }
    if (rc != VG_OK) {
        vgb_reply_reject(b, from, id, rc, why.text, NULL, "share.reject");
    } else {
        vg_log(VG_LOG_INFO, "broker", "share.accept", "agency=%s to=%s", from->agency,
               vg_share_to(sh));
        vgb_reply_confirm(b, from, id, VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED, 0, NULL, NULL);
    }
    vg_share_destroy(&sh);
}

/* ---- subscriptions and presence ------------------------------------------------------ */

static vgb_subscriber *
s_find_sub(vgb_agency *a, const vgb_from *from)
{
    for (size_t i = 0; i < VGB_SUBSCRIBERS_MAX; i++) {
        vgb_subscriber *s = &a->subs[i];
        if (s->rid_len == from->rid_len && s->rid_len != 0 &&
            memcmp(s->rid, from->rid, s->rid_len) == 0) {
            return s;
        }
    }
    return NULL;
}

void
vgb_track_subscribe(vgb_broker *b, const vgb_from *from)
{
    if (from->agency_idx < 0) {
        return;
    }
    vgb_agency *a = &b->agencies[from->agency_idx];
    vgb_subscriber *s = s_find_sub(a, from);
    for (size_t i = 0; s == NULL && i < VGB_SUBSCRIBERS_MAX; i++) {
        if (a->subs[i].rid_len == 0) {
            s = &a->subs[i];
        }
    }
    if (s == NULL) { /* full: the oldest-seen slot goes */
        s = &a->subs[0];
        for (size_t i = 1; i < VGB_SUBSCRIBERS_MAX; i++) {
            s = a->subs[i].last_seen_mono < s->last_seen_mono ? &a->subs[i] : s;
        }
    }
    memcpy(s->rid, from->rid, from->rid_len);
    s->rid_len = from->rid_len;
    s->last_seen_mono = vg_clock_mono_ms(b->clock);
}

void
vgb_track_seen(vgb_broker *b, const vgb_from *from)
{
    if (from->agency_idx >= 0) {
        vgb_subscriber *s = s_find_sub(&b->agencies[from->agency_idx], from);
        if (s != NULL) {
            s->last_seen_mono = vg_clock_mono_ms(b->clock);
        }
    }
}

void
vgb_track_presence(vgb_broker *b, vgb_agency *a, bool online)
{
    if (!online) {
        a->away_since_mono = vg_clock_mono_ms(b->clock);
        return;
    }
    if (a->alarmed && vgb_txn(b)) {
        a->alarmed = false;
        s_event ev = {
            .kind = VIGIL__EVENT_KIND__EVENT_AGENCY_ONLINE, .about = a->id, .everyone = true};
        (void)s_emit(b, &ev);
    }
}

/* ---- timers and alarms ------------------------------------------------------------------ */

/* Takes the row's next step: overdue at level 0, escalation step after. */
static vg_err
s_step(vgb_broker *b, const vgb_rrow *r, vgb_agency *a)
{
    int64_t now = vg_clock_wall_ms(b->clock);
    s_event ev = {.seq = r->seq,
                  .about = r->agency,
                  .level = r->esc_level + 1,
                  .deadline_ms = r->deadline_ms};
    char detail[128];
    if (r->esc_level == 0) {
        ev.kind = VIGIL__EVENT_KIND__EVENT_OVERDUE;
        ev.detail = r->state == VGB_DECLINED     ? "declined"
                    : r->state == VGB_UNOPENABLE ? "cannot open"
                                                 : "deadline passed";
    } else {
        vg_escalation_step st;
        vg_netdoc_escalation_at(b->doc, r->esc_level - 1, &st);
        vg_agency ag;
        ev.kind = VIGIL__EVENT_KIND__EVENT_ESCALATED;
        if (st.target == VG_ESC_REDELIVER) {
            snprintf(detail, sizeof detail, "redeliver");
            vgb_delivery_redeliver(b, a, r->seq); /* with its share records */
        } else if (st.target == VG_ESC_CONTACT && vg_netdoc_find(b->doc, r->agency, &ag) == VG_OK &&
                   ag.escalation_contact[0] != '\0') {
            snprintf(detail, sizeof detail, "contact:%s", ag.escalation_contact);
            ev.extra_agency = ag.escalation_contact;
        } else if (st.target == VG_ESC_ROLE) {
            snprintf(detail, sizeof detail, "role:%s", st.role);
            ev.extra_role = st.role;
        } else {
            snprintf(detail, sizeof detail, "contact:none");
        }
        ev.detail = detail;
        ev.target = detail;
    }
    vg_err rc = vgb_store_set_escalation(b->store, r->seq, r->agency, r->esc_level + 1, now);
    rc = rc == VG_OK ? s_emit(b, &ev) : rc;
    char idhex[VG_ALERT_ID_HEX_LEN + 1] = "-";
    vgb_alert_meta m;
    if (vgb_store_alert_meta(b->store, r->seq, &m) == VG_OK) {
        vg_alert_id_hex(idhex, m.id);
    }
    vg_log(VG_LOG_WARN, "broker", r->esc_level == 0 ? "alert.overdue" : "alert.escalate",
           "alert=%s agency=%s level=%u detail=%s", idhex, r->agency, r->esc_level + 1, ev.detail);
    vgb_rrow next = *r;
    next.esc_level++;
    if (rc == VG_OK) {
        s_schedule(b, &next);
    }
    return rc;
}

static void
s_fire(vgb_broker *b, const vgb_timer *t)
{
    vgb_agency *a = &b->agencies[t->agency];
    vgb_rrow r;
    if (vgb_store_rrow(b->store, t->seq, a->id, &r) != VG_OK || r.esc_level != t->level ||
        r.deadline_ms != t->deadline_ms || s_next_due_wall(b, &r) == 0) {
        return; /* acknowledged, extended or already stepped: a newer timer exists */
    }
    if (!vgb_txn(b) || s_step(b, &r, a) != VG_OK) {
        s_schedule(b, &r); /* try again: the step is recorded only when it commits */
    }
}

static void
s_check_alarms(vgb_broker *b, int64_t now)
{
    for (size_t i = 0; i < b->n_agencies; i++) {
        vgb_agency *a = &b->agencies[i];
        uint64_t waiting = 0;
        if (a->rid_len != 0 || a->alarmed ||
            now - a->away_since_mono < (int64_t)b->cfg->offline_alarm_ms ||
            vgb_store_count_waiting(b->store, a->id, &waiting) != VG_OK || waiting == 0 ||
            !vgb_txn(b)) {
            continue;
        }
        a->alarmed = true;
        s_event ev = {.kind = VIGIL__EVENT_KIND__EVENT_AGENCY_OFFLINE,
                      .about = a->id,
                      .count = (uint32_t)waiting,
                      .everyone = true};
        (void)s_emit(b, &ev);
        vg_log(VG_LOG_WARN, "broker", "agency.alarm", "agency=%s waiting=%llu", a->id,
               (unsigned long long)waiting);
    }
}

long
vgb_track_service(vgb_broker *b)
{
    int64_t now = vg_clock_mono_ms(b->clock);
    s_refill_while_due(b, now);
    size_t fired = 0;
    /* A bounded number per pass keeps the loop responsive after a long outage. */
    while (b->n_timers > 0 && b->timers[0].due_mono <= now && fired < 256) {
        vgb_timer t = s_timer_pop(b);
        s_fire(b, &t);
        fired++;
    }
    for (size_t i = 0; i < b->n_agencies; i++) {
        vgb_agency *a = &b->agencies[i];
        for (size_t j = 0; j < VGB_SUBSCRIBERS_MAX; j++) {
            if (a->subs[j].rid_len != 0 && now - a->subs[j].last_seen_mono > 3 * VG_KEEPALIVE_MS) {
                a->subs[j].rid_len = 0;
            }
        }
    }
    if (now >= b->next_alarm_check_mono) {
        b->next_alarm_check_mono = now + 1000;
        s_check_alarms(b, now);
    }
    if ((b->n_timers > 0 && b->timers[0].due_mono <= now) || s_refill_due(b, now)) {
        return 0;
    }
    int64_t next = b->next_alarm_check_mono;
    if (b->n_timers > 0 && b->timers[0].due_mono < next) {
        next = b->timers[0].due_mono;
    }
    int64_t refill =
        b->timers_wm_mono > b->timers_retry_mono ? b->timers_wm_mono : b->timers_retry_mono;
    if (refill < next) {
        next = refill; /* the clock reaches the watermark: refill */
    }
    return next > now ? (long)(next - now) : 0;
}
