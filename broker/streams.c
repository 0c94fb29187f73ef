/* streams.c — the per-agency event streams (streams.h). */
#include "streams.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/util.h"
#include "vigil/wire.h"

/* A connection that asked for the agency's event stream (Hello.console). */
typedef struct s_subscriber {
    uint8_t rid[VGB_RID_MAX]; /* routing id */
    size_t rid_len;           /* 0 = free slot */
    int64_t last_seen_mono;   /* keepalive */
} s_subscriber;

/* One agency's stream. */
typedef struct s_stream {
    const char *id;                         /* the agency (borrowed from the document) */
    bool oversight;                         /* sees what oversight may see */
    s_subscriber subs[VGB_SUBSCRIBERS_MAX]; /* event-stream connections */
    uint64_t ev_seq;                        /* its last event number */
    uint64_t ev_seq_committed;              /* ... as of the last commit */
    long ev_run;                            /* its open run in this batch, or -1 */
} s_stream;

/* An event waiting for the batch's commit, then for its subscribers. */
typedef struct s_pending {
    size_t agency;  /* whose stream */
    uint8_t *frame; /* packed BrokerFrame */
    size_t len;     /* its length */
} s_pending;

/* Consecutive events of one agency's stream from this batch that differ
 * only in their alert, written as one row before the commit
 * (vgb_store_insert_events). */
typedef struct s_run {
    size_t agency;       /* whose stream */
    vgb_event_row first; /* its about, detail and receipt are owned copies */
    uint64_t *more;      /* the alerts of the events after the first */
    size_t n_more, cap_more;
} s_run;

/* What an event needs about its alert, kept for recent alerts (a slot per
 * seq modulo S_HINTS) so that each event does not read the store again. */
#define S_HINTS 4096
#define S_HINT_AGENCIES 64 /* the audience is a bit mask: more agencies, no hints */
typedef struct s_hint {
    uint64_t seq;          /* 0: empty */
    vgb_alert_brief brief; /* id, sender, severity */
    uint64_t audience;     /* bit i: agency i sent or receives it */
} s_hint;

struct vgb_streams {
    vgb_store *store;      /* borrowed */
    const vg_netdoc *doc;  /* borrowed */
    const vgb_out *out;    /* borrowed */
    const vg_clock *clock; /* borrowed */
    s_stream *st;          /* one per agency of doc */
    size_t n;              /* agencies */
    s_pending *events;     /* this batch's events, for subscribers */
    size_t n_events, cap_events;
    s_run *runs; /* this batch's events, for the store */
    size_t n_runs, cap_runs;
    s_hint *hints; /* S_HINTS slots; NULL when more than S_HINT_AGENCIES agencies */
};

vg_err
vgb_streams_new(vgb_streams **out, vgb_store *store, const vg_netdoc *doc, const vgb_out *o,
                const vg_clock *clock)
{
    vgb_streams *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return VG_ERR_NOMEM;
    }
    *s = (vgb_streams){.store = store, .doc = doc, .out = o, .clock = clock};
    s->n = vg_netdoc_n_agencies(doc);
    s->st = calloc(s->n ? s->n : 1, sizeof *s->st);
    vg_err rc = s->st != NULL ? VG_OK : VG_ERR_NOMEM;
    for (size_t i = 0; i < s->n && rc == VG_OK; i++) {
        vg_agency ag;
        vg_netdoc_agency_at(doc, i, &ag);
        s->st[i].id = ag.id;
        s->st[i].oversight = vg_netdoc_is_oversight(doc, ag.id);
        s->st[i].ev_run = -1;
        rc = vgb_store_last_event(store, ag.id, &s->st[i].ev_seq);
        s->st[i].ev_seq_committed = s->st[i].ev_seq;
    }
    if (rc == VG_OK && s->n <= S_HINT_AGENCIES) {
        s->hints = calloc(S_HINTS, sizeof *s->hints); /* NULL: every event reads the store */
    }
    if (rc != VG_OK) {
        vgb_streams_destroy(&s);
        return rc;
    }
    *out = s;
    return VG_OK;
}

/* ---- who hears of an event --------------------------------------------------- */

/* Who hears about an alert: its sender, every recipient, oversight. */
typedef struct s_audience {
    bool *to; /* per agency index */
    size_t n; /* agencies */
} s_audience;

static void
s_hear(s_audience *au, const vgb_streams *s, const char *agency)
{
    int i = vg_netdoc_index(s->doc, agency);
    if (i >= 0) {
        au->to[i] = true;
    }
}

static void
s_hear_role(s_audience *au, const vgb_streams *s, const char *role)
{
    for (size_t i = 0; i < s->n; i++) {
        vg_agency ag;
        vg_netdoc_agency_at(s->doc, i, &ag);
        if (strcmp(ag.role, role) == 0) {
            au->to[i] = true;
        }
    }
}

typedef struct s_rows_ctx {
    s_audience au;        /* who hears */
    const vgb_streams *s; /* the streams */
} s_rows_ctx;

static void
s_hear_row(void *ctx, const vgb_rrow *r, const char *officer, const char *note, const char *reason)
{
    (void)officer, (void)note, (void)reason;
    s_rows_ctx *c = ctx;
    s_hear(&c->au, c->s, r->agency);
}

/* The alert's id, sender and severity in *h, and its sender and recipients
 * marked in au: from the hint when the alert is recent, else from the store
 * (and kept as its hint). */
static vg_err
s_alert_audience(vgb_streams *s, uint64_t seq, vgb_alert_brief *brief, s_audience *au)
{
    s_hint *slot = s->hints != NULL ? &s->hints[seq % S_HINTS] : NULL;
    if (slot != NULL && slot->seq == seq) {
        *brief = slot->brief;
        for (size_t i = 0; i < s->n; i++) {
            au->to[i] = au->to[i] || (slot->audience >> i & 1u);
        }
        return VG_OK;
    }
    vgb_alert_meta m;
    vg_err rc = vgb_store_alert_meta(s->store, seq, &m);
    if (rc != VG_OK) {
        return rc;
    }
    s_rows_ctx rows = {{calloc(s->n ? s->n : 1, sizeof(bool)), s->n}, s};
    if (rows.au.to == NULL) {
        return VG_ERR_NOMEM;
    }
    s_hear(&rows.au, s, m.sender);
    rc = vgb_store_recipients_of(s->store, seq, s_hear_row, &rows);
    s_hint h = {.seq = seq, .brief = {.severity = m.severity, .status = m.status}};
    memcpy(h.brief.id, m.id, VG_ALERT_ID_LEN);
    snprintf(h.brief.sender, sizeof h.brief.sender, "%s", m.sender);
    for (size_t i = 0; i < s->n; i++) {
        au->to[i] = au->to[i] || rows.au.to[i];
        h.audience |= rows.au.to[i] && i < 64 ? (uint64_t)1 << i : 0;
    }
    free(rows.au.to);
    *brief = h.brief;
    if (rc == VG_OK && slot != NULL) {
        *slot = h;
    }
    return rc;
}

void
vgb_streams_alert_accepted(vgb_streams *s, uint64_t seq, const vg_envelope *env)
{
    if (s->hints == NULL) {
        return;
    }
    s_hint *h = &s->hints[seq % S_HINTS];
    *h = (s_hint){.seq = seq,
                  .brief = {.severity = (int)vg_envelope_severity(env),
                            .status = (int)vg_envelope_status(env)}};
    memcpy(h->brief.id, vg_envelope_id(env), VG_ALERT_ID_LEN);
    snprintf(h->brief.sender, sizeof h->brief.sender, "%s", vg_envelope_sender(env));
    int i = vg_netdoc_index(s->doc, vg_envelope_sender(env));
    h->audience = i >= 0 ? (uint64_t)1 << i : 0;
    const vg_strlist *rcpts = vg_envelope_recipients(env);
    for (size_t k = 0; k < rcpts->n; k++) {
        i = vg_netdoc_index(s->doc, rcpts->items[k]);
        h->audience |= i >= 0 ? (uint64_t)1 << i : 0;
    }
}

void
vgb_streams_audience_changed(vgb_streams *s, uint64_t seq)
{
    if (s->hints != NULL && s->hints[seq % S_HINTS].seq == seq) {
        s->hints[seq % S_HINTS].seq = 0;
    }
}

/* ---- this batch's events ---------------------------------------------------------- */

/* Packs the event for the agency's subscribers, sent after the commit. */
static void
s_queue_event(vgb_streams *s, size_t agency, const vgb_event_row *row, const vgb_alert_brief *m)
{
    bool subscribed = false;
    for (size_t j = 0; j < VGB_SUBSCRIBERS_MAX; j++) {
        subscribed = subscribed || s->st[agency].subs[j].rid_len != 0;
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
        e.status = (Vigil__Status)m->status;
    }
    if (row->receipt != NULL) {
        e.signed_receipt.data = (uint8_t *)row->receipt;
        e.signed_receipt.len = row->receipt_len;
    }
    Vigil__BrokerFrame f = VIGIL__BROKER_FRAME__INIT;
    f.kind_case = VIGIL__BROKER_FRAME__KIND_EVENT;
    f.event = &e;
    if (s->n_events == s->cap_events) {
        size_t cap = s->cap_events ? s->cap_events * 2 : 64;
        s_pending *n = realloc(s->events, cap * sizeof *n);
        if (n == NULL) {
            return; /* stored; subscribers see the gap and catch up */
        }
        s->events = n;
        s->cap_events = cap;
    }
    s_pending *pe = &s->events[s->n_events];
    pe->len = vigil__broker_frame__get_packed_size(&f);
    pe->frame = malloc(pe->len);
    if (pe->frame != NULL) {
        vigil__broker_frame__pack(&f, pe->frame);
        pe->agency = agency;
        s->n_events++;
    }
}

static void
s_run_free(s_run *r)
{
    free((char *)r->first.about);
    free((char *)r->first.detail);
    free((uint8_t *)r->first.receipt);
    free(r->more);
}

/* Only the high-volume kinds share a row; the others stay one row each. */
static bool
s_run_takes(const s_run *r, const vgb_event_row *row)
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
s_run_add(vgb_streams *s, size_t agency, const vgb_event_row *row)
{
    s_stream *a = &s->st[agency];
    if (a->ev_run >= 0 && s_run_takes(&s->runs[a->ev_run], row)) {
        s_run *r = &s->runs[a->ev_run];
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
    if (s->n_runs == s->cap_runs) {
        size_t cap = s->cap_runs ? 2 * s->cap_runs : 64;
        s_run *n = realloc(s->runs, cap * sizeof *n);
        if (n == NULL) {
            return VG_ERR_NOMEM;
        }
        s->runs = n;
        s->cap_runs = cap;
    }
    s_run *r = &s->runs[s->n_runs];
    *r = (s_run){.agency = agency, .first = *row};
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
    a->ev_run = (long)s->n_runs++;
    return VG_OK;
}

/* The event as an oversight agency's stream carries it: metadata, and the
 * officer's name and the free text (notes, reasons) only as far as the
 * network document's "oversight" allows; the signed receipt (which holds
 * both) only when it allows both. */
static vgb_event_row
s_oversight_row(const vgb_streams *s, const vgb_event_row *row)
{
    vg_oversight_view v = vg_netdoc_oversight(s->doc);
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

vg_err
vgb_streams_emit(vgb_streams *s, const vgb_event *ev, vgb_alert_brief *alert, bool *has_alert)
{
    *has_alert = false;
    s_audience au = {calloc(s->n ? s->n : 1, sizeof(bool)), s->n};
    if (au.to == NULL) {
        return VG_ERR_NOMEM;
    }
    vg_err rc = VG_OK;
    if (ev->everyone) {
        memset(au.to, 1, s->n * sizeof(bool));
    }
    if (ev->seq != 0) {
        s_audience alert_au = au;
        if (ev->named_only && (alert_au.to = calloc(s->n ? s->n : 1, sizeof(bool))) == NULL) {
            free(au.to);
            return VG_ERR_NOMEM;
        }
        rc = s_alert_audience(s, ev->seq, alert, &alert_au);
        if (ev->named_only) {
            free(alert_au.to); /* its brief only: the alert's parties do not hear */
        }
        *has_alert = rc == VG_OK;
        rc = rc == VG_ERR_NOT_FOUND ? VG_OK : rc;
    }
    s_hear_role(&au, s, "oversight");
    if (ev->about != NULL) {
        s_hear(&au, s, ev->about);
    }
    if (ev->extra_agency != NULL) {
        s_hear(&au, s, ev->extra_agency);
    }
    if (ev->extra_role != NULL) {
        s_hear_role(&au, s, ev->extra_role);
    }
    vgb_event_row row = {.time_ms = vg_clock_wall_ms(s->clock),
                         .kind = (int)ev->kind,
                         .alert_seq = ev->seq,
                         .about = ev->about ? ev->about : "",
                         .detail = ev->detail ? ev->detail : "",
                         .count = ev->count,
                         .level = ev->level,
                         .receipt = ev->receipt,
                         .receipt_len = ev->receipt_len};
    vgb_event_row seen = s_oversight_row(s, &row); /* what oversight may see of it */
    if (ev->oversight_detail != NULL && !vg_netdoc_oversight(s->doc).officer_names) {
        seen.detail = ev->oversight_detail;
    }
    for (size_t i = 0; i < s->n && rc == VG_OK; i++) {
        if (au.to[i]) {
            vgb_event_row *r = s->st[i].oversight ? &seen : &row;
            r->seq = s->st[i].ev_seq + 1;
            rc = s_run_add(s, i, r);
            if (rc == VG_OK) {
                s->st[i].ev_seq = r->seq;
                s_queue_event(s, i, r, *has_alert ? alert : NULL);
            }
        }
    }
    free(au.to);
    return rc;
}

static void
s_runs_clear(vgb_streams *s)
{
    for (size_t i = 0; i < s->n_runs; i++) {
        s_run_free(&s->runs[i]);
    }
    s->n_runs = 0;
    for (size_t i = 0; i < s->n; i++) {
        s->st[i].ev_run = -1;
    }
}

bool
vgb_streams_unwritten(const vgb_streams *s)
{
    return s->n_runs > 0;
}

vg_err
vgb_streams_write(vgb_streams *s)
{
    vg_err rc = VG_OK;
    for (size_t i = 0; i < s->n_runs && rc == VG_OK; i++) {
        const s_run *r = &s->runs[i];
        rc = vgb_store_insert_events(s->store, s->st[r->agency].id, &r->first, r->more, r->n_more);
    }
    s_runs_clear(s);
    return rc;
}

void
vgb_streams_flush(vgb_streams *s, bool committed)
{
    s_runs_clear(s);
    for (size_t i = 0; i < s->n; i++) {
        s_stream *a = &s->st[i];
        if (committed) {
            a->ev_seq_committed = a->ev_seq;
        } else {
            a->ev_seq = a->ev_seq_committed; /* the batch's numbers are free again */
        }
    }
    if (!committed && s->hints != NULL) {
        memset(s->hints, 0, S_HINTS * sizeof *s->hints); /* seqs and shares rolled back */
    }
    for (size_t i = 0; i < s->n_events; i++) {
        s_pending *pe = &s->events[i];
        s_stream *a = &s->st[pe->agency];
        for (size_t j = 0; committed && j < VGB_SUBSCRIBERS_MAX; j++) {
            s_subscriber *sub = &a->subs[j];
            if (sub->rid_len != 0 && vgb_out_send(s->out, sub->rid, sub->rid_len, pe->frame,
                                                  pe->len) == VG_ERR_NOT_FOUND) {
                sub->rid_len = 0; /* gone */
            }
        }
        free(pe->frame);
    }
    s->n_events = 0;
}

void
vgb_streams_destroy(vgb_streams **s_p)
{
    if (s_p == NULL || *s_p == NULL) {
        return;
    }
    vgb_streams *s = *s_p;
    if (s->st != NULL) {
        vgb_streams_flush(s, false);
    }
    free(s->events);
    free(s->runs);
    free(s->hints);
    free(s->st);
    free(s);
    *s_p = NULL;
}

/* ---- subscribers -------------------------------------------------------------------- */

static s_subscriber *
s_find_sub(s_stream *a, const uint8_t *rid, size_t rid_len)
{
    for (size_t i = 0; i < VGB_SUBSCRIBERS_MAX; i++) {
        s_subscriber *sub = &a->subs[i];
        if (sub->rid_len == rid_len && rid_len != 0 && memcmp(sub->rid, rid, rid_len) == 0) {
            return sub;
        }
    }
    return NULL;
}

void
vgb_streams_subscribe(vgb_streams *s, size_t agency, const uint8_t *rid, size_t rid_len)
{
    s_stream *a = &s->st[agency];
    s_subscriber *sub = s_find_sub(a, rid, rid_len);
    for (size_t i = 0; sub == NULL && i < VGB_SUBSCRIBERS_MAX; i++) {
        if (a->subs[i].rid_len == 0) {
            sub = &a->subs[i];
        }
    }
    if (sub == NULL) { /* full: the oldest-seen slot goes */
        sub = &a->subs[0];
        for (size_t i = 1; i < VGB_SUBSCRIBERS_MAX; i++) {
            sub = a->subs[i].last_seen_mono < sub->last_seen_mono ? &a->subs[i] : sub;
        }
    }
    memcpy(sub->rid, rid, rid_len);
    sub->rid_len = rid_len;
    sub->last_seen_mono = vg_clock_mono_ms(s->clock);
}

void
vgb_streams_seen(vgb_streams *s, size_t agency, const uint8_t *rid, size_t rid_len)
{
    s_subscriber *sub = s_find_sub(&s->st[agency], rid, rid_len);
    if (sub != NULL) {
        sub->last_seen_mono = vg_clock_mono_ms(s->clock);
    }
}

void
vgb_streams_expire(vgb_streams *s)
{
    int64_t now = vg_clock_mono_ms(s->clock);
    for (size_t i = 0; i < s->n; i++) {
        for (size_t j = 0; j < VGB_SUBSCRIBERS_MAX; j++) {
            s_subscriber *sub = &s->st[i].subs[j];
            if (sub->rid_len != 0 && now - sub->last_seen_mono > 3 * VG_KEEPALIVE_MS) {
                sub->rid_len = 0;
            }
        }
    }
}

vg_err
vgb_streams_renew(vgb_streams *s, const vg_netdoc *doc)
{
    size_t n = vg_netdoc_n_agencies(doc);
    if (n > s->n) {
        s_stream *st = realloc(s->st, n * sizeof *st);
        if (st == NULL) {
            return VG_ERR_NOMEM;
        }
        s->st = st;
        for (size_t i = s->n; i < n; i++) {
            vg_agency ag;
            vg_netdoc_agency_at(doc, i, &ag);
            st[i] = (s_stream){.id = ag.id, .ev_run = -1};
            vg_err rc = vgb_store_last_event(s->store, ag.id, &st[i].ev_seq);
            if (rc != VG_OK) {
                return rc; /* the new ones past s->n are not counted yet */
            }
            st[i].ev_seq_committed = st[i].ev_seq;
        }
        s->n = n;
    }
    for (size_t i = 0; i < n; i++) {
        vg_agency ag;
        vg_netdoc_agency_at(doc, i, &ag);
        s->st[i].id = ag.id;
        s->st[i].oversight = vg_netdoc_is_oversight(doc, ag.id);
    }
    if (s->hints != NULL && n > S_HINT_AGENCIES) { /* the audience mask is too small now */
        free(s->hints);
        s->hints = NULL;
    } else if (s->hints != NULL) {
        memset(s->hints, 0, S_HINTS * sizeof *s->hints); /* oversight may have changed */
    }
    s->doc = doc;
    return VG_OK;
}
