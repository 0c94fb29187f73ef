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
    const char *id;            /* the agency (borrowed from the document) */
    bool oversight;            /* sees what oversight may see */
    s_subscriber *subs;        /* VGB_SUBSCRIBERS_MAX, from its first subscriber on; or NULL */
    uint64_t ev_seq;           /* its last event number */
    uint64_t ev_seq_committed; /* ... as of the last commit */
    long ev_run;               /* its open run in this batch, or -1 */
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
 * seq modulo S_HINTS) so that each event does not read the store again:
 * its parties (sender and recipients, as agency indices) unless it is wide. */
#define S_HINTS 4096
#define S_HINT_PARTIES (VGB_PEER_EVENTS_MAX + 1)
typedef struct s_hint {
    uint64_t seq;                   /* 0: empty */
    vgb_alert_brief brief;          /* id, sender, severity */
    bool wide;                      /* more than VGB_PEER_EVENTS_MAX recipients */
    uint16_t n;                     /* parties (not kept when wide) */
    uint16_t party[S_HINT_PARTIES]; /* agency indices */
} s_hint;

/* Who hears of an event: agency indices, sorted and unique before use. */
typedef struct s_audience {
    uint32_t *to;  /* malloc'ed */
    size_t n, cap; /* used, allocated */
} s_audience;

struct vgb_streams {
    vgb_store *store;      /* borrowed */
    const vg_netdoc *doc;  /* borrowed */
    const vgb_out *out;    /* borrowed */
    const vg_clock *clock; /* borrowed */
    s_stream *st;          /* one per agency of doc */
    size_t n;              /* agencies */
    uint32_t *oversight;   /* indices of the oversight agencies */
    size_t n_oversight;    /* how many */
    s_audience au;         /* the event being emitted's, reused */
    s_audience accepted;   /* the parties of the alert accepted last (for a wide one) */
    uint64_t accepted_seq; /* ... which alert (0: none) */
    s_pending *events;     /* this batch's events, for subscribers */
    size_t n_events, cap_events;
    s_run *runs; /* this batch's events, for the store */
    size_t n_runs, cap_runs;
    s_hint *hints; /* S_HINTS slots */
};

/* The oversight agencies of doc, listed once so that events need not look
 * at every card. */
static vg_err
s_list_oversight(vgb_streams *s, const vg_netdoc *doc)
{
    free(s->oversight);
    s->n_oversight = 0;
    s->oversight = malloc((s->n ? s->n : 1) * sizeof *s->oversight);
    if (s->oversight == NULL) {
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < s->n; i++) {
        s->st[i].oversight = vg_netdoc_is_oversight(doc, s->st[i].id);
        if (s->st[i].oversight) {
            s->oversight[s->n_oversight++] = (uint32_t)i;
        }
    }
    return VG_OK;
}

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
    s->hints = calloc(S_HINTS, sizeof *s->hints);
    vg_err rc = s->st != NULL && s->hints != NULL ? VG_OK : VG_ERR_NOMEM;
    for (size_t i = 0; i < s->n && rc == VG_OK; i++) {
        vg_agency ag;
        vg_netdoc_agency_at(doc, i, &ag);
        s->st[i].id = ag.id;
        s->st[i].ev_run = -1;
        rc = vgb_store_last_event(store, ag.id, &s->st[i].ev_seq);
        s->st[i].ev_seq_committed = s->st[i].ev_seq;
    }
    rc = rc == VG_OK ? s_list_oversight(s, doc) : rc;
    if (rc != VG_OK) {
        vgb_streams_destroy(&s);
        return rc;
    }
    *out = s;
    return VG_OK;
}

/* ---- who hears of an event --------------------------------------------------- */

static vg_err
s_push(s_audience *au, uint32_t i)
{
    if (au->n == au->cap) {
        size_t cap = au->cap ? 2 * au->cap : 64;
        uint32_t *to = realloc(au->to, cap * sizeof *to);
        if (to == NULL) {
            return VG_ERR_NOMEM;
        }
        au->to = to;
        au->cap = cap;
    }
    au->to[au->n++] = i;
    return VG_OK;
}

static vg_err
s_hear(s_audience *au, const vgb_streams *s, const char *agency)
{
    int i = vg_netdoc_index(s->doc, agency);
    return i >= 0 && (size_t)i < s->n ? s_push(au, (uint32_t)i) : VG_OK;
}

/* Every agency with the role: the cards are looked at (escalation steps
 * only; oversight has its list). */
static vg_err
s_hear_role(s_audience *au, const vgb_streams *s, const char *role)
{
    vg_err rc = VG_OK;
    for (size_t i = 0; i < s->n && rc == VG_OK; i++) {
        vg_agency ag;
        vg_netdoc_agency_at(s->doc, i, &ag);
        rc = strcmp(ag.role, role) == 0 ? s_push(au, (uint32_t)i) : VG_OK;
    }
    return rc;
}

static int
s_u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Sorted (streams are numbered in document order, as before) and unique. */
static void
s_settle(s_audience *au)
{
    qsort(au->to, au->n, sizeof *au->to, s_u32_cmp);
    size_t k = 0;
    for (size_t i = 0; i < au->n; i++) {
        if (k == 0 || au->to[k - 1] != au->to[i]) {
            au->to[k++] = au->to[i];
        }
    }
    au->n = k;
}

typedef struct s_rows_ctx {
    s_audience *au;       /* who hears */
    const vgb_streams *s; /* the streams */
    size_t n_rows;        /* recipient rows seen */
    vg_err rc;            /* the first failure */
} s_rows_ctx;

static void
s_hear_row(void *ctx, const vgb_rrow *r, const char *officer, const char *note, const char *reason)
{
    (void)officer, (void)note, (void)reason;
    s_rows_ctx *c = ctx;
    c->n_rows++;
    c->rc = c->rc == VG_OK ? s_hear(c->au, c->s, r->agency) : c->rc;
}

/* Keeps the parties just added to au (from `from` on) in hint h, or marks
 * it wide. */
static void
s_hint_parties(s_hint *h, const s_audience *au, size_t from, size_t n_recipients)
{
    h->wide = n_recipients > VGB_PEER_EVENTS_MAX || au->n - from > S_HINT_PARTIES;
    h->n = 0;
    for (size_t i = from; !h->wide && i < au->n; i++) {
        h->party[h->n++] = (uint16_t)au->to[i];
    }
}

/* The alert's brief, whether it is wide, and (when all must hear, or it is
 * not wide) its parties added to au: from the hint when the alert is
 * recent, else from the store (and kept as its hint). */
static vg_err
s_alert_audience(vgb_streams *s, uint64_t seq, bool all, vgb_alert_brief *brief, bool *wide,
                 s_audience *au)
{
    s_hint *slot = &s->hints[seq % S_HINTS];
    vg_err rc = VG_OK;
    if (slot->seq == seq && (!slot->wide || !all || s->accepted_seq == seq)) {
        *brief = slot->brief;
        *wide = slot->wide;
        if (slot->wide && !all) { /* a recipient's event: its sender alone */
            return s_hear(au, s, slot->brief.sender);
        }
        const s_audience *wide_parties = slot->wide ? &s->accepted : NULL;
        for (size_t i = 0; wide_parties != NULL && i < wide_parties->n && rc == VG_OK; i++) {
            rc = s_push(au, wide_parties->to[i]);
        }
        for (size_t i = 0; !slot->wide && i < slot->n && rc == VG_OK; i++) {
            rc = s_push(au, slot->party[i]);
        }
        return rc;
    }
    vgb_alert_meta m;
    rc = vgb_store_alert_meta(s->store, seq, &m);
    if (rc != VG_OK) {
        return rc;
    }
    size_t from = au->n;
    s_rows_ctx rows = {au, s, 0, VG_OK};
    rc = s_hear(au, s, m.sender);
    rc = rc == VG_OK ? vgb_store_recipients_of(s->store, seq, s_hear_row, &rows) : rc;
    rc = rc == VG_OK ? rows.rc : rc;
    s_hint h = {.seq = seq, .brief = {.severity = m.severity, .status = m.status}};
    memcpy(h.brief.id, m.id, VG_ALERT_ID_LEN);
    snprintf(h.brief.sender, sizeof h.brief.sender, "%s", m.sender);
    s_hint_parties(&h, au, from, rows.n_rows);
    *brief = h.brief;
    *wide = h.wide;
    if (rc == VG_OK) {
        *slot = h;
    }
    if (rc == VG_OK && h.wide && !all) { /* a recipient's event: its sender alone */
        au->n = from;
        rc = s_hear(au, s, m.sender);
    }
    return rc;
}

void
vgb_streams_alert_accepted(vgb_streams *s, uint64_t seq, const vg_envelope *env)
{
    s_hint *h = &s->hints[seq % S_HINTS];
    *h = (s_hint){.seq = seq,
                  .brief = {.severity = (int)vg_envelope_severity(env),
                            .status = (int)vg_envelope_status(env)}};
    memcpy(h->brief.id, vg_envelope_id(env), VG_ALERT_ID_LEN);
    snprintf(h->brief.sender, sizeof h->brief.sender, "%s", vg_envelope_sender(env));
    /* Its parties, for its ACCEPTED event (emitted next) and, unless it is
     * wide, for its later events. */
    const vg_strlist *rcpts = vg_envelope_recipients(env);
    s->accepted.n = 0;
    s->accepted_seq = seq;
    vg_err rc = s_hear(&s->accepted, s, vg_envelope_sender(env));
    for (size_t k = 0; k < rcpts->n && rc == VG_OK; k++) {
        rc = s_hear(&s->accepted, s, rcpts->items[k]);
    }
    if (rc != VG_OK) {
        h->seq = 0; /* read back from the store instead */
        s->accepted_seq = 0;
        return;
    }
    s_hint_parties(h, &s->accepted, 0, rcpts->n);
}

void
vgb_streams_audience_changed(vgb_streams *s, uint64_t seq)
{
    if (s->hints[seq % S_HINTS].seq == seq) {
        s->hints[seq % S_HINTS].seq = 0;
    }
    if (s->accepted_seq == seq) {
        s->accepted_seq = 0;
    }
}

/* ---- this batch's events ---------------------------------------------------------- */

/* Packs the event for the agency's subscribers, sent after the commit. */
static void
s_queue_event(vgb_streams *s, size_t agency, const vgb_event_row *row, const vgb_alert_brief *m)
{
    bool subscribed = false;
    for (size_t j = 0; s->st[agency].subs != NULL && j < VGB_SUBSCRIBERS_MAX; j++) {
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

/* Kinds about one recipient's state: of a wide alert, only its sender,
 * that recipient and oversight hear of them (streams.h). */
static bool
s_per_recipient(Vigil__EventKind k)
{
    switch (k) {
    case VIGIL__EVENT_KIND__EVENT_DELIVERED:
    case VIGIL__EVENT_KIND__EVENT_ACKNOWLEDGED:
    case VIGIL__EVENT_KIND__EVENT_IN_PROGRESS:
    case VIGIL__EVENT_KIND__EVENT_DECLINED:
    case VIGIL__EVENT_KIND__EVENT_UNOPENABLE:
    case VIGIL__EVENT_KIND__EVENT_OVERDUE:
    case VIGIL__EVENT_KIND__EVENT_ESCALATED:
        return true;
    default:
        return false;
    }
}

/* Who hears of ev, in s->au (sorted, unique). */
static vg_err
s_audience_of(vgb_streams *s, const vgb_event *ev, vgb_alert_brief *alert, bool *has_alert)
{
    s_audience *au = &s->au;
    au->n = 0;
    vg_err rc = VG_OK;
    for (size_t i = 0; ev->everyone && i < s->n && rc == VG_OK; i++) {
        rc = s_push(au, (uint32_t)i);
    }
    if (ev->seq != 0 && rc == VG_OK) {
        bool wide = false;
        size_t from = au->n;
        rc = s_alert_audience(s, ev->seq, !ev->named_only && !s_per_recipient(ev->kind), alert,
                              &wide, au);
        if (ev->named_only) {
            au->n = from; /* its brief only: the alert's parties do not hear */
        }
        *has_alert = rc == VG_OK;
        rc = rc == VG_ERR_NOT_FOUND ? VG_OK : rc;
    }
    for (size_t i = 0; i < s->n_oversight && rc == VG_OK; i++) {
        rc = s_push(au, s->oversight[i]);
    }
    rc = rc == VG_OK && ev->about != NULL ? s_hear(au, s, ev->about) : rc;
    rc = rc == VG_OK && ev->extra_agency != NULL ? s_hear(au, s, ev->extra_agency) : rc;
    rc = rc == VG_OK && ev->extra_role != NULL ? s_hear_role(au, s, ev->extra_role) : rc;
    s_settle(au);
    return rc;
}

vg_err
vgb_streams_emit(vgb_streams *s, const vgb_event *ev, vgb_alert_brief *alert, bool *has_alert)
{
    *has_alert = false;
    vg_err rc = s_audience_of(s, ev, alert, has_alert);
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
    for (size_t k = 0; k < s->au.n && rc == VG_OK; k++) {
        size_t i = s->au.to[k];
        vgb_event_row *r = s->st[i].oversight ? &seen : &row;
        r->seq = s->st[i].ev_seq + 1;
        rc = s_run_add(s, i, r);
        if (rc == VG_OK) {
            s->st[i].ev_seq = r->seq;
            s_queue_event(s, i, r, *has_alert ? alert : NULL);
        }
    }
    return rc;
}

static void
s_runs_clear(vgb_streams *s)
{
    for (size_t i = 0; i < s->n_runs; i++) {
        s->st[s->runs[i].agency].ev_run = -1; /* only streams with a run have one open */
        s_run_free(&s->runs[i]);
    }
    s->n_runs = 0;
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
    if (!committed) {
        memset(s->hints, 0, S_HINTS * sizeof *s->hints); /* seqs and shares rolled back */
        s->accepted_seq = 0;
    }
    for (size_t i = 0; i < s->n_events; i++) {
        s_pending *pe = &s->events[i];
        s_stream *a = &s->st[pe->agency];
        for (size_t j = 0; committed && a->subs != NULL && j < VGB_SUBSCRIBERS_MAX; j++) {
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
    for (size_t i = 0; s->st != NULL && i < s->n; i++) {
        free(s->st[i].subs);
    }
    free(s->events);
    free(s->runs);
    free(s->hints);
    free(s->oversight);
    free(s->au.to);
    free(s->accepted.to);
    free(s->st);
    free(s);
    *s_p = NULL;
}

/* ---- subscribers -------------------------------------------------------------------- */

static s_subscriber *
s_find_sub(s_stream *a, const uint8_t *rid, size_t rid_len)
{
    for (size_t i = 0; a->subs != NULL && i < VGB_SUBSCRIBERS_MAX; i++) {
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
    if (a->subs == NULL && (a->subs = calloc(VGB_SUBSCRIBERS_MAX, sizeof *a->subs)) == NULL) {
        return; /* no room: it catches up by asking (QUERY_EVENTS) */
    }
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
        for (size_t j = 0; s->st[i].subs != NULL && j < VGB_SUBSCRIBERS_MAX; j++) {
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
    }
    memset(s->hints, 0, S_HINTS * sizeof *s->hints); /* oversight or agencies may have changed */
    s->accepted_seq = 0;
    s->doc = doc;
    return s_list_oversight(s, doc);
}
