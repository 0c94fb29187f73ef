/* audit_stream.c — every agency's event stream, read a slice at a time in
 * step with the leaf pass (audit_state.h, vgb_av_streams): each event a
 * fact wrote (record.c, streams.c) against the stream of every agency that
 * heard it, contiguous from 1, as stored (runs of events that differ only
 * in their alert). */
#include "audit_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "vigil.pb-c.h"
#include "vigil/wire.h"

#define S_SLICE 64 /* stream rows read at a time */

/* ---- a stream, read a slice at a time ----------------------------------------------- */

typedef struct s_run {
    vgb_event_run r;      /* as stored; the pointers below are owned */
    char *about, *detail; /* copies */
    uint8_t *receipt;     /* copy, or NULL */
    uint64_t *more;       /* copy */
} s_run;

typedef struct s_cursor {
    char agency[VG_AGENCY_ID_MAX + 1]; /* whose stream */
    s_run *runs;                       /* rows read: runs[head..n) not consumed yet */
    size_t n, cap, head;               /* count, allocated, first not consumed */
    uint64_t k;                        /* events of runs[head] consumed */
    uint64_t next;                     /* the event number expected next */
    uint64_t fetched;                  /* the last row read's first event number */
    bool eof;                          /* the store has no more */
    uint64_t n_events, n_rows;         /* consumed */
    uint64_t mark_leaf;                /* the leaf the mark is for (+1; 0 none) */
    size_t m_head;                     /* the mark: where this leaf's events began */
    uint64_t m_k, m_next, m_events, m_rows;
    vg_err rc; /* a read's failure */
} s_cursor;

/* One document, as the streams saw it. */
typedef struct s_docview {
    const vg_netdoc *doc;   /* the document */
    size_t n;               /* its agencies */
    s_cursor **cur;         /* agency i's stream */
    bool *oversight;        /* agency i is an oversight agency */
    vg_oversight_view view; /* what those see */
} s_docview;

struct vgb_av_streams {
    vgb_av_check *c;                         /* the check */
    s_cursor *cur;                           /* every agency's stream (any document's) */
    size_t n_cur;                            /* count */
    s_docview *views;                        /* per document, by version */
    size_t view;                             /* the one in force */
    s_cursor **touched;                      /* streams with a mark in this leaf */
    size_t n_touched;                        /* count */
    const vgb_av_event *ev;                  /* the leaf's events (during vgb_av_streams_send) */
    size_t n_ev;                             /* count */
    const char (*aud)[VG_AGENCY_ID_MAX + 1]; /* their audiences */
    bool *has_time;                          /* per event: a stream's row began with it, */
    int64_t *time_ms;                        /* ... at this time (every such row must agree) */
    size_t cap_ev;                           /* allocated */
};

static void
s_run_free(s_run *r)
{
    free(r->about);
    free(r->detail);
    free(r->receipt);
    free(r->more);
}

static void
s_take_run(void *ctx, const vgb_event_run *r)
{
    s_cursor *cu = ctx;
    if (cu->rc != VG_OK) {
        return;
    }
    if (cu->n == cu->cap) {
        size_t cap = cu->cap ? 2 * cu->cap : S_SLICE;
        s_run *grown = realloc(cu->runs, cap * sizeof *grown);
        if (grown == NULL) {
            cu->rc = VG_ERR_NOMEM;
            return;
        }
        cu->runs = grown;
        cu->cap = cap;
    }
    s_run *x = &cu->runs[cu->n];
    *x = (s_run){.r = *r,
                 .about = vg_strdup(r->about),
                 .detail = vg_strdup(r->detail),
                 .receipt = r->receipt ? malloc(r->receipt_len ? r->receipt_len : 1) : NULL,
                 .more = malloc(r->n_more ? r->n_more * sizeof *x->more : 1)};
    if (x->about == NULL || x->detail == NULL || x->more == NULL ||
        (r->receipt != NULL && x->receipt == NULL)) {
        s_run_free(x);
        cu->rc = VG_ERR_NOMEM;
        return;
    }
    if (r->receipt != NULL) {
        memcpy(x->receipt, r->receipt, r->receipt_len);
    }
    if (r->n_more > 0) { /* a single event has no `more` (NULL) */
        memcpy(x->more, r->more, r->n_more * sizeof *x->more);
    }
    x->r.about = x->about;
    x->r.detail = x->detail;
    x->r.receipt = x->receipt;
    x->r.more = x->more;
    cu->fetched = r->seq;
    cu->n++;
}

/* The row holding the next event (read more if need be), or NULL at the end. */
static const s_run *
s_peek(vgb_av_check *c, s_cursor *cu)
{
    if (cu->head == cu->n && !cu->eof && cu->rc == VG_OK) {
        size_t before = cu->n;
        vg_err rc =
            vgb_store_event_runs(c->store, cu->agency, cu->fetched, S_SLICE, s_take_run, cu);
        cu->rc = cu->rc != VG_OK ? cu->rc : rc;
        cu->eof = cu->n - before < S_SLICE;
    }
    return cu->head < cu->n ? &cu->runs[cu->head] : NULL;
}

static void
s_consume(s_cursor *cu)
{
    cu->k++;
    cu->next++;
    cu->n_events++;
    if ((int64_t)cu->k >= cu->runs[cu->head].r.n) {
        cu->head++;
        cu->k = 0;
        cu->n_rows++;
    }
}

/* Drops the rows consumed before the mark. */
static void
s_compact(s_cursor *cu)
{
    if (cu->head < S_SLICE) {
        return;
    }
    for (size_t i = 0; i < cu->head; i++) {
        s_run_free(&cu->runs[i]);
    }
    memmove(cu->runs, cu->runs + cu->head, (cu->n - cu->head) * sizeof *cu->runs);
    cu->n -= cu->head;
    cu->head = 0;
}

/* Notes where this leaf's events begin in cu, once per leaf. */
static void
s_mark(vgb_av_streams *ps, s_cursor *cu, uint64_t leaf)
{
    if (cu->mark_leaf == leaf + 1) {
        return;
    }
    s_compact(cu);
    cu->mark_leaf = leaf + 1;
    cu->m_head = cu->head;
    cu->m_k = cu->k;
    cu->m_next = cu->next;
    cu->m_events = cu->n_events;
    cu->m_rows = cu->n_rows;
    ps->touched[ps->n_touched++] = cu;
}

static void
s_rewind(vgb_av_streams *ps)
{
    for (size_t i = 0; i < ps->n_touched; i++) {
        s_cursor *cu = ps->touched[i];
        cu->head = cu->m_head;
        cu->k = cu->m_k;
        cu->next = cu->m_next;
        cu->n_events = cu->m_events;
        cu->n_rows = cu->m_rows;
        cu->mark_leaf = 0;
    }
    ps->n_touched = 0;
}

/* ---- one event against one stream --------------------------------------------------- */

static vg_err
s_event_fault(vgb_av_streams *ps, const s_cursor *cu, uint64_t seq, uint64_t leaf, const char *what)
{
    char row[VGB_AUDIT_ROW_MAX];
    snprintf(row, sizeof row, "agency=%s seq=%llu", cu->agency, (unsigned long long)seq);
    return vgb_av_fault(ps->c, "events", row, leaf, "%s", what);
}

/* A stored row's own form: its number follows the last, its runs hold n. */
static vg_err
s_check_run(vgb_av_streams *ps, const s_cursor *cu, const s_run *x, uint64_t leaf)
{
    const vgb_event_run *r = &x->r;
    char what[160];
    if (r->seq != cu->next) {
        snprintf(what, sizeof what, "the event is missing (the stream's next row is event %llu)",
                 (unsigned long long)r->seq);
        return s_event_fault(ps, cu, cu->next, leaf, what);
    }
    bool run_ok = r->more_ok && r->n >= 1 && (uint64_t)r->n == r->n_more + 1 &&
                  (r->n == 1 || ((r->kind == VIGIL__EVENT_KIND__EVENT_ACCEPTED ||
                                  r->kind == VIGIL__EVENT_KIND__EVENT_DELIVERED) &&
                                 r->receipt == NULL));
    if (!run_ok) {
        return s_event_fault(ps, cu, r->seq, leaf,
                             "the row's n and more do not hold a run of events");
    }
    return VG_OK;
}

static bool
s_bytes_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0) && (a == NULL) == (b == NULL);
}

/* Whether detail is what vgb_record_notified wrote for leaf n: "TARGET
 * CHANNEL TO OUTCOME[:CODE]", TO being the address whose hash the leaf
 * holds ("-" when it holds none); `seen` (oversight without officers'
 * names): TO is always "-". */
static bool
s_notified_detail_ok(const char *detail, const vg_audit_event *n, bool seen)
{
    char head[2 * VG_AUDIT_NAME_MAX + 4], tail[2 * VG_AUDIT_NAME_MAX + 4];
    snprintf(head, sizeof head, "%s %s ", n->target, n->channel[0] ? n->channel : "-");
    bool failed = strcmp(n->outcome, "sent") != 0;
    snprintf(tail, sizeof tail, " %s%s%s", n->outcome, failed ? ":" : "", failed ? n->code : "");
    size_t len = strlen(detail), lh = strlen(head), lt = strlen(tail);
    if (len < lh + lt + 1 || strncmp(detail, head, lh) != 0 ||
        strcmp(detail + len - lt, tail) != 0) {
        return false;
    }
    const char *to = detail + lh;
    size_t to_len = len - lh - lt;
    if (seen || !n->has_hash) {
        return to_len == 1 && to[0] == '-';
    }
    uint8_t h[VG_HASH_LEN];
    crypto_generichash(h, sizeof h, (const uint8_t *)to, to_len, NULL, 0);
    return sodium_memcmp(h, n->hash, sizeof h) == 0;
}

/* The next event of cu must be e (as an oversight agency sees it when
 * `oversight`), written at leaf ev. */
static vg_err
s_match(vgb_av_streams *ps, s_cursor *cu, size_t k, bool oversight, const vg_audit_event *ev)
{
    const s_docview *v = &ps->views[ps->view];
    const vgb_av_event *e = &ps->ev[k];
    s_mark(ps, cu, ev->index);
    const s_run *x = s_peek(ps->c, cu);
    if (cu->rc != VG_OK) {
        return cu->rc;
    }
    if (x == NULL) {
        char msg[160];
        snprintf(msg, sizeof msg, "the %s leaf's event is missing: the stream ends before it",
                 vg_audit_kind_name(ev->kind));
        return s_event_fault(ps, cu, cu->next, ev->index, msg);
    }
    vg_err rc = cu->k == 0 ? s_check_run(ps, cu, x, ev->index) : VG_OK;
    if (rc != VG_OK) {
        return rc;
    }
    const vgb_event_run *r = &x->r;
    bool names = e->kind == VIGIL__EVENT_KIND__EVENT_ACKNOWLEDGED;
    bool text = e->kind == VIGIL__EVENT_KIND__EVENT_IN_PROGRESS ||
                e->kind == VIGIL__EVENT_KIND__EVENT_DECLINED;
    const char *detail =
        oversight && ((names && !v->view.officer_names) || (text && !v->view.notes)) ? ""
                                                                                     : e->detail;
    bool hide = oversight && (!v->view.officer_names || !v->view.notes);
    const uint8_t *receipt = hide ? NULL : e->receipt;
    size_t receipt_len = hide ? 0 : e->receipt_len;
    uint64_t alert = cu->k == 0 ? r->alert_seq : r->more[cu->k - 1];
    bool detail_ok = e->notified != NULL ? s_notified_detail_ok(r->detail, e->notified,
                                                                oversight && !v->view.officer_names)
                                         : strcmp(r->detail, detail) == 0;
    const char *what = r->kind != e->kind                ? "kind"
                       : alert != e->alert_seq           ? "alert_seq (or more)"
                       : strcmp(r->about, e->about) != 0 ? "about"
                       : !detail_ok                      ? "detail"
                       : r->count != e->count            ? "count"
                       : r->level != e->level            ? "level"
                       : !s_bytes_eq(r->receipt, r->receipt_len, receipt, receipt_len) ? "receipt"
                       : cu->k == 0 && !vgb_av_near(r->time_ms, ev->time_ms)
                           ? "time_ms (far from its leaf's time)"
                       : cu->k == 0 && ps->has_time[k] && r->time_ms != ps->time_ms[k]
                           ? "time_ms (another stream's copy of the event has another)"
                           : NULL;
    if (what != NULL) {
        char msg[200];
        snprintf(msg, sizeof msg, "column %s differs from the event the %s leaf records", what,
                 vg_audit_kind_name(ev->kind));
        return s_event_fault(ps, cu, cu->next, ev->index, msg);
    }
    if (cu->k == 0 && !ps->has_time[k]) {
        ps->has_time[k] = true;
        ps->time_ms[k] = r->time_ms;
    }
    s_consume(cu);
    return VG_OK;
}

/* ---- who hears an event (streams.c vgb_streams_emit) ---------------------------------- */

static bool
s_in_audience(const vgb_av_streams *ps, const vgb_av_event *e, const char *id)
{
    for (size_t i = 0; i < e->n_aud; i++) {
        if (strcmp(ps->aud[e->aud + i], id) == 0) {
            return true;
        }
    }
    return false;
}

static bool
s_hears(const vgb_av_streams *ps, const vgb_av_event *e, const vg_agency *ag)
{
    return e->everyone || strcmp(ag->role, VG_ROLE_OVERSIGHT) == 0 ||
           (e->about[0] != '\0' && strcmp(e->about, ag->id) == 0) ||
           (e->extra_agency != NULL && strcmp(e->extra_agency, ag->id) == 0) ||
           (e->extra_role != NULL && strcmp(e->extra_role, ag->role) == 0) ||
           s_in_audience(ps, e, ag->id);
}

/* Every event of the leaf against the stream of every agency that heard it,
 * under the document in force. */
static vg_err
s_send(vgb_av_streams *ps, const vg_audit_event *ev)
{
    const s_docview *v = &ps->views[ps->view];
    vg_err rc = VG_OK;
    for (size_t k = 0; k < ps->n_ev && rc == VG_OK; k++) {
        ps->has_time[k] = false;
        for (size_t i = 0; i < v->n && rc == VG_OK; i++) {
            vg_agency ag;
            vg_netdoc_agency_at(v->doc, i, &ag);
            if (s_hears(ps, &ps->ev[k], &ag)) {
                rc = s_match(ps, v->cur[i], k, v->oversight[i], ev);
            }
        }
    }
    return rc;
}

/* s_send; when the events do not match, under a later document (a broker
 * started on a newer document writes no leaf: the switch is found where the
 * events need it). */
vg_err
vgb_av_streams_send(vgb_av_streams *ps, const vgb_av_event *events, size_t n_events,
                    const char (*aud)[VG_AGENCY_ID_MAX + 1], const vg_audit_event *ev)
{
    if (n_events > ps->cap_ev) {
        bool *h = realloc(ps->has_time, n_events * sizeof *h);
        ps->has_time = h != NULL ? h : ps->has_time;
        int64_t *t = h != NULL ? realloc(ps->time_ms, n_events * sizeof *t) : NULL;
        ps->time_ms = t != NULL ? t : ps->time_ms;
        if (t == NULL) {
            return VG_ERR_NOMEM;
        }
        ps->cap_ev = n_events;
    }
    ps->ev = events;
    ps->n_ev = n_events;
    ps->aud = aud;
    vg_err rc = s_send(ps, ev);
    if (rc != VG_ERR_CONFLICT || ps->view + 1 >= ps->c->docs.n) {
        ps->n_touched = 0;
        return rc;
    }
    vgb_audit_report first = *ps->c->rep;
    size_t was = ps->view;
    for (size_t j = was + 1; j < ps->c->docs.n && rc == VG_ERR_CONFLICT; j++) {
        s_rewind(ps);
        ps->view = j;
        rc = s_send(ps, ev);
    }
    if (rc == VG_ERR_CONFLICT) {
        *ps->c->rep = first;
        ps->view = was;
    } else if (rc == VG_OK) {
        memset(ps->c->rep, 0, sizeof *ps->c->rep);
        ps->c->rep->first_bad_index = VGB_AUDIT_NO_INDEX;
    }
    ps->n_touched = 0;
    return rc;
}

void
vgb_av_streams_switch(vgb_av_streams *ps, uint64_t version)
{
    for (size_t i = 0; i < ps->c->docs.n; i++) {
        if (vg_netdoc_version(ps->views[i].doc) == version) {
            ps->view = i;
        }
    }
}

/* ---- every agency's stream ------------------------------------------------------------------ */

static s_cursor *
s_cursor_of(vgb_av_streams *ps, const char *agency)
{
    for (size_t i = 0; i < ps->n_cur; i++) {
        if (strcmp(ps->cur[i].agency, agency) == 0) {
            return &ps->cur[i];
        }
    }
    s_cursor *cu = &ps->cur[ps->n_cur++];
    *cu = (s_cursor){.next = 1};
    snprintf(cu->agency, sizeof cu->agency, "%s", agency);
    return cu;
}

vg_err
vgb_av_streams_new(vgb_av_streams **out, vgb_av_check *c)
{
    vgb_av_streams *ps = calloc(1, sizeof *ps);
    size_t most = 0;
    for (size_t i = 0; i < c->docs.n; i++) {
        most += vg_netdoc_n_agencies(c->docs.doc[i]);
    }
    if (ps == NULL || (ps->views = calloc(c->docs.n + 1, sizeof *ps->views)) == NULL ||
        (ps->cur = calloc(most + 1, sizeof *ps->cur)) == NULL ||
        (ps->touched = calloc(most + 1, sizeof *ps->touched)) == NULL) {
        vgb_av_streams_destroy(&ps);
        return VG_ERR_NOMEM;
    }
    ps->c = c;
    for (size_t d = 0; d < c->docs.n; d++) {
        s_docview *v = &ps->views[d];
        v->doc = c->docs.doc[d];
        v->n = vg_netdoc_n_agencies(v->doc);
        v->view = vg_netdoc_oversight(v->doc);
        v->cur = calloc(v->n + 1, sizeof *v->cur);
        v->oversight = calloc(v->n + 1, sizeof *v->oversight);
        if (v->cur == NULL || v->oversight == NULL) {
            vgb_av_streams_destroy(&ps);
            return VG_ERR_NOMEM;
        }
        for (size_t i = 0; i < v->n; i++) {
            vg_agency ag;
            vg_netdoc_agency_at(v->doc, i, &ag);
            v->cur[i] = s_cursor_of(ps, ag.id);
            v->oversight[i] = vg_netdoc_is_oversight(v->doc, ag.id);
        }
    }
    *out = ps;
    return VG_OK;
}

vg_err
vgb_av_streams_finish(vgb_av_streams *ps)
{
    for (size_t i = 0; i < ps->n_cur; i++) {
        s_cursor *cu = &ps->cur[i];
        const s_run *x = s_peek(ps->c, cu);
        if (cu->rc != VG_OK) {
            return cu->rc;
        }
        if (x != NULL) {
            return s_event_fault(ps, cu, cu->next, VGB_AUDIT_NO_INDEX,
                                 "no leaf records this event (the stream goes on past the last "
                                 "event the log accounts for)");
        }
        ps->c->n_events += cu->n_events;
        ps->c->n_event_rows += cu->n_rows;
    }
    return VG_OK;
}

void
vgb_av_streams_destroy(vgb_av_streams **ps_p)
{
    if (ps_p == NULL || *ps_p == NULL) {
        return;
    }
    vgb_av_streams *ps = *ps_p;
    for (size_t i = 0; ps->cur != NULL && i < ps->n_cur; i++) {
        for (size_t k = 0; k < ps->cur[i].n; k++) {
            s_run_free(&ps->cur[i].runs[k]);
        }
        free(ps->cur[i].runs);
    }
    for (size_t d = 0; ps->views != NULL && ps->c != NULL && d < ps->c->docs.n; d++) {
        free(ps->views[d].cur);
        free(ps->views[d].oversight);
    }
    free(ps->views);
    free(ps->cur);
    free(ps->touched);
    free(ps->has_time);
    free(ps->time_ms);
    free(ps);
    *ps_p = NULL;
}
