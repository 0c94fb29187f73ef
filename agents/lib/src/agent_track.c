/* agent_track.c — receipts from people, onward sharing, status queries and
 * the event stream (see vigil/agent.h, "acknowledgement tracking"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_internal.h"
#include "vigil/log.h"
#include "vigil/receipt.h"
#include "vigil/share.h"

/* Every way a recipient's state is written (see vga_state_name). */
typedef struct s_state_text {
    const char *name;  /* machine-readable */
    const char *token; /* ack-matrix token */
    const char *words; /* for people */
} s_state_text;

static const s_state_text *
s_state_text_of(vga_state s)
{
    static const s_state_text texts[] = {
        {"unknown", "UNKNOWN", "unknown"},
        [VGA_PENDING] = {"pending", "PENDING", "pending"},
        [VGA_DELIVERED] = {"delivered", "DELIVERED", "delivered"},
        [VGA_ACKNOWLEDGED] = {"acknowledged", "ACK", "acknowledged"},
        [VGA_IN_PROGRESS] = {"in_progress", "IN_PROGRESS", "in progress"},
        [VGA_DECLINED] = {"declined", "DECLINED", "declined"},
        [VGA_UNOPENABLE] = {"unopenable", "UNOPENABLE", "cannot open"},
    };
    return &texts[(unsigned)s < sizeof texts / sizeof texts[0] ? (unsigned)s : 0];
}

const char *
vga_state_name(vga_state s)
{
    return s_state_text_of(s)->name;
}

const char *
vga_state_token(vga_state s)
{
    return s_state_text_of(s)->token;
}

const char *
vga_state_words(vga_state s)
{
    return s_state_text_of(s)->words;
}

const char *
vga_status_mark(vg_status s)
{
    switch (s) {
    case VG_STATUS_EXERCISE:
        return "EXERCISE";
    case VG_STATUS_TEST:
        return "TEST";
    case VG_STATUS_SYSTEM:
        return "SYSTEM";
    case VG_STATUS_DRAFT:
        return "DRAFT";
    default:
        return NULL; /* actual, unspecified (the envelope's default) or unknown */
    }
}

bool
vga_status_is_actual(vg_status s)
{
    return vga_status_mark(s) == NULL;
}

const char *
vga_event_kind_name(vga_event_kind k)
{
    static const char *const names[] = {
        "unknown",        "accepted",      "rejected",        "delivered",       "acknowledged",
        "in_progress",    "declined",      "shared",          "overdue",         "escalated",
        "agency_offline", "agency_online", "complete",        "network_changed", "unopenable",
        "reassigned",     "notified",      "network_warning", "linked",          "repeat_warning",
        "unwitnessed"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "unknown";
}

/* ---- receipts from people and shares ------------------------------------------ */

/* The verified envelope of an alert in our inbox. */
static vg_err
s_received(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], vg_envelope **env, bool *via_share,
           vg_reason *why)
{
    vga_inbox_entry e;
    vg_err rc = vga_store_inbox_get(a->store, id, &e);
    if (rc == VG_OK && e.envelope == NULL) {
        char idhex[VG_ALERT_ID_HEX_LEN + 1];
        vg_alert_id_hex(idhex, id);
        rc = vg_reason_set(why, VG_ERR_NOT_RECIPIENT,
                           "alert %s is not in %s's inbox: an agency can only receipt or share "
                           "alerts it received (run 'vigil-agent listen' to receive it)",
                           idhex, vga_agent_agency(a));
    } else if (rc == VG_OK) {
        *via_share = e.share != NULL;
        rc = vg_envelope_verify(env, e.envelope, e.envelope_len, vga_agent_doc(a), why);
    }
    vga_inbox_entry_fini(&e);
    return rc;
}

static vg_err
s_send_receipt(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], vg_receipt_kind kind,
               const char *officer, const char *note, const char *reason, int64_t timeout_ms,
               vga_confirm *res, vg_reason *why)
{
    memset(res, 0, sizeof *res);
    memcpy(res->alert_id, id, VG_ALERT_ID_LEN);
    vg_envelope *env = NULL;
    bool via_share = false;
    vg_err rc = s_received(a, id, &env, &via_share, why);
    if (rc != VG_OK) {
        return rc;
    }
    vg_receipt_item item;
    memcpy(item.alert_id, id, VG_ALERT_ID_LEN);
    memcpy(item.envelope_hash, vg_envelope_hash(env), VG_HASH_LEN);
    vg_envelope_destroy(&env);
    vg_receipt_spec spec = {.agency = vga_agent_agency(a),
                            .kind = kind,
                            .created_ms = vg_clock_wall_ms(a->clock),
                            .items = &item,
                            .n_items = 1,
                            .officer = officer,
                            .note = note,
                            .reason = reason,
                            .network_version = vg_netdoc_version(vga_agent_doc(a))};
    uint8_t *bytes = NULL;
    size_t len = 0;
    rc = vg_receipt_sign(&bytes, &len, &spec, vga_identity_keys(a->id), why);
    if (rc != VG_OK) {
        return rc;
    }
    Vigil__SubmitReceipt r = VIGIL__SUBMIT_RECEIPT__INIT;
    r.signed_receipt.data = bytes;
    r.signed_receipt.len = len;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = vga_conn_next_req(a) | VGA_REQ_NOT_OUTBOX;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_RECEIPT;
    f.receipt = &r;
    rc = vga_conn_send(a, &f);
    free(bytes);
    if (rc != VG_OK) {
        return vg_reason_set(why, rc, "cannot send to the broker");
    }
    return vga_conn_wait_confirm(a, f.request_id, timeout_ms, res, why);
}

vg_err
vga_ack(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], const char *officer, const char *note,
        int64_t timeout_ms, vga_confirm *res, vg_reason *why)
{
    return s_send_receipt(a, id, VG_RECEIPT_ACKNOWLEDGED, officer, note, NULL, timeout_ms, res,
                          why);
}

vg_err
vga_progress(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], const char *reason,
             int64_t timeout_ms, vga_confirm *res, vg_reason *why)
{
    return s_send_receipt(a, id, VG_RECEIPT_IN_PROGRESS, NULL, NULL, reason, timeout_ms, res, why);
}

vg_err
vga_decline(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], const char *reason, int64_t timeout_ms,
            vga_confirm *res, vg_reason *why)
{
    return s_send_receipt(a, id, VG_RECEIPT_DECLINED, NULL, NULL, reason, timeout_ms, res, why);
}

vg_err
vga_share(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], const char *to, const char *reason,
          int64_t timeout_ms, vga_confirm *res, vg_reason *why)
{
    memset(res, 0, sizeof *res);
    memcpy(res->alert_id, id, VG_ALERT_ID_LEN);
    vg_envelope *env = NULL;
    bool via_share = false;
    vg_err rc = s_received(a, id, &env, &via_share, why);
    if (rc == VG_OK && via_share) {
        rc = vg_reason_set(why, VG_ERR_INVALID,
                           "this alert reached %s through a share; ask the agency that shared "
                           "it, or its sender, to share it further",
                           vga_agent_agency(a));
    }
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (rc == VG_OK) {
        rc = vg_share_create_ring(&bytes, &len, env, vga_agent_agency(a),
                                  vga_identity_keyring(a->id), to, reason,
                                  vg_clock_wall_ms(a->clock), vga_agent_doc(a), why);
    }
    vg_envelope_destroy(&env);
    if (rc != VG_OK) {
        return rc;
    }
    Vigil__SubmitShare sh = VIGIL__SUBMIT_SHARE__INIT;
    sh.signed_share.data = bytes;
    sh.signed_share.len = len;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = vga_conn_next_req(a) | VGA_REQ_NOT_OUTBOX;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_SHARE;
    f.share = &sh;
    rc = vga_conn_send(a, &f);
    free(bytes);
    if (rc != VG_OK) {
        return vg_reason_set(why, rc, "cannot send to the broker");
    }
    return vga_conn_wait_confirm(a, f.request_id, timeout_ms, res, why);
}

/* ---- status -------------------------------------------------------------------------- */

void
vga_alert_status_fini(vga_alert_status *st)
{
    if (st == NULL) {
        return;
    }
    vg_strlist_fini(&st->categories);
    for (size_t i = 0; i < st->n_recipients; i++) {
        free(st->recipients[i].officer);
        free(st->recipients[i].note);
        free(st->recipients[i].reason);
    }
    free(st->recipients);
    free(st->envelope);
    for (size_t i = 0; i < st->n_shares; i++) {
        free(st->shares[i]);
    }
    free(st->shares);
    free(st->share_lens);
    for (size_t i = 0; i < st->n_linked; i++) {
        free(st->linked[i].outcomes);
    }
    free(st->linked);
    memset(st, 0, sizeof *st);
}

void
vga_status_list_fini(vga_status_list *l)
{
    if (l == NULL) {
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        vga_alert_status_fini(&l->items[i]);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}

static uint8_t *
s_dup_bytes(const ProtobufCBinaryData *b, bool *ok)
{
    uint8_t *p = malloc(b->len ? b->len : 1);
    *ok &= p != NULL;
    if (p != NULL && b->len > 0) {
        memcpy(p, b->data, b->len);
    }
    return p;
}

static bool
s_fill_recipient(vga_recipient_status *r, const Vigil__RecipientState *rs)
{
    snprintf(r->agency, sizeof r->agency, "%s", rs->agency);
    r->state = (vga_state)rs->state;
    r->required = rs->required;
    r->overdue = rs->overdue;
    r->deadline_ms = (int64_t)rs->deadline_ms;
    r->delivered_ms = (int64_t)rs->delivered_ms;
    r->acknowledged_ms = (int64_t)rs->acknowledged_ms;
    r->officer = vg_strdup(rs->officer);
    r->note = vg_strdup(rs->note);
    r->reason = vg_strdup(rs->reason);
    r->escalation_level = rs->escalation_level;
    snprintf(r->shared_by, sizeof r->shared_by, "%s", rs->shared_by);
    snprintf(r->cover_for, sizeof r->cover_for, "%s", rs->cover_for);
    return r->officer && r->note && r->reason;
}

const char *
vga_link_outcome_name(vga_link_outcome o)
{
    static const char *const names[] = {"unknown", "acknowledged", "late", "never", "open"};
    return (unsigned)o < sizeof names / sizeof names[0] ? names[o] : "unknown";
}

/* The summary's linked earlier alerts; false when out of memory. */
static bool
s_fill_linked(vga_alert_status *st, const Vigil__AlertSummary *s)
{
    st->linked = calloc(s->n_linked + 1, sizeof *st->linked);
    if (st->linked == NULL) {
        return false;
    }
    for (size_t i = 0; i < s->n_linked; i++) {
        const Vigil__LinkedAlert *l = s->linked[i];
        vga_linked *v = &st->linked[i];
        st->n_linked = i + 1;
        v->known = l->alert_id.len == VG_ALERT_ID_LEN;
        if (v->known) {
            memcpy(v->id, l->alert_id.data, VG_ALERT_ID_LEN);
            v->accepted_ms = (int64_t)l->accepted_ms;
        }
        v->outcomes = calloc(l->n_outcomes + 1, sizeof *v->outcomes);
        if (v->outcomes == NULL) {
            return false;
        }
        for (size_t k = 0; k < l->n_outcomes; k++) {
            snprintf(v->outcomes[k].agency, sizeof v->outcomes[k].agency, "%s",
                     l->outcomes[k]->agency);
            v->outcomes[k].outcome = (vga_link_outcome)l->outcomes[k]->outcome;
            v->n_outcomes = k + 1;
        }
    }
    return true;
}

/* Copies a summary; false when out of memory (st is then partly filled:
 * vga_alert_status_fini releases it). */
static bool
s_fill_status(vga_alert_status *st, const Vigil__AlertSummary *s)
{
    memset(st, 0, sizeof *st);
    bool ok = s->alert_id.len == VG_ALERT_ID_LEN;
    if (ok) {
        memcpy(st->id, s->alert_id.data, VG_ALERT_ID_LEN);
    }
    snprintf(st->sender, sizeof st->sender, "%s", s->sender);
    st->created_ms = (int64_t)s->created_ms;
    st->accepted_ms = (int64_t)s->accepted_ms;
    st->severity = (vg_severity)s->severity;
    st->urgency = (vg_urgency)s->urgency;
    st->status = (vg_status)s->status;
    st->msg_type = (vg_msg_type)s->msg_type;
    st->complete = s->complete;
    st->purged_ms = (int64_t)s->purged_ms;
    st->held = s->held;
    for (size_t i = 0; ok && i < s->n_categories; i++) {
        ok = vg_strlist_add(&st->categories, s->categories[i]) == VG_OK;
    }
    st->recipients = calloc(s->n_recipients ? s->n_recipients : 1, sizeof *st->recipients);
    ok &= st->recipients != NULL;
    for (size_t i = 0; ok && i < s->n_recipients; i++) {
        st->n_recipients = i + 1;
        ok = s_fill_recipient(&st->recipients[i], s->recipients[i]);
    }
    if (ok && s->signed_envelope.len > 0) {
        st->envelope = s_dup_bytes(&s->signed_envelope, &ok);
        st->envelope_len = s->signed_envelope.len;
    }
    st->shares = calloc(s->n_signed_shares + 1, sizeof *st->shares);
    st->share_lens = calloc(s->n_signed_shares + 1, sizeof *st->share_lens);
    ok &= st->shares != NULL && st->share_lens != NULL;
    for (size_t i = 0; ok && i < s->n_signed_shares; i++) {
        st->shares[i] = s_dup_bytes(&s->signed_shares[i], &ok);
        st->share_lens[i] = s->signed_shares[i].len;
        st->n_shares = i + 1;
    }
    return ok && s_fill_linked(st, s);
}

typedef struct s_result {
    vga_status_list *list; /* where summaries go (appended: a snapshot comes in pages) */
    vga_event **events;    /* where events go (vga_events_since) */
    size_t n_events;       /* count */
    bool failed;           /* out of memory */
    bool more;             /* the snapshot goes on after cursor */
    uint64_t cursor;       /* where its next page starts */
} s_result;

static void s_copy_event(vga_event *out, const Vigil__Event *e);

static bool
s_on_result(void *ctx, const Vigil__QueryResult *r)
{
    s_result *res = ctx;
    res->more = r->more;
    res->cursor = r->cursor;
    if (res->list != NULL) {
        vga_status_list *l = res->list;
        if (l->items == NULL) { /* the first page: events after it bring it up to date */
            l->last_event_seq = r->last_event_seq;
        }
        vga_alert_status *grown = realloc(l->items, (l->n + r->n_alerts + 1) * sizeof *l->items);
        res->failed |= grown == NULL;
        l->items = grown != NULL ? grown : l->items;
        for (size_t i = 0; !res->failed && i < r->n_alerts; i++) {
            l->n++;
            res->failed = !s_fill_status(&l->items[l->n - 1], r->alerts[i]);
        }
    }
    if (res->events != NULL) {
        *res->events = calloc(r->n_events ? r->n_events : 1, sizeof **res->events);
        res->failed |= *res->events == NULL;
        for (size_t i = 0; !res->failed && i < r->n_events; i++) {
            s_copy_event(&(*res->events)[i], r->events[i]);
            res->n_events = i + 1;
        }
    }
    return !res->failed;
}

vg_err
vga_status(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], int64_t timeout_ms,
           vga_alert_status *out, vg_reason *why)
{
    memset(out, 0, sizeof *out);
    Vigil__Query q = VIGIL__QUERY__INIT;
    q.kind = VIGIL__QUERY_KIND__QUERY_ALERT;
    q.alert_id.data = (uint8_t *)id;
    q.alert_id.len = VG_ALERT_ID_LEN;
    vga_status_list l = {0};
    s_result res = {.list = &l};
    vg_err rc = vga_conn_query(a, &q, timeout_ms, s_on_result, &res, why);
    if (rc == VG_OK && l.n != 1) {
        rc = vg_reason_set(why, VG_ERR_INTERNAL, "the broker answered with %zu alerts", l.n);
    }
    if (rc == VG_OK) {
        *out = l.items[0];
        memset(&l.items[0], 0, sizeof l.items[0]);
    }
    vga_status_list_fini(&l);
    return rc;
}

vg_err
vga_outstanding(vga_agent *a, int64_t timeout_ms, vga_status_list *out, vg_reason *why)
{
    memset(out, 0, sizeof *out);
    Vigil__Query q = VIGIL__QUERY__INIT;
    q.kind = VIGIL__QUERY_KIND__QUERY_SNAPSHOT;
    s_result res = {.list = out};
    vg_err rc = VG_OK;
    do { /* a large snapshot comes in pages, each a bounded reply */
        q.after_seq = res.cursor;
        res.more = false;
        rc = vga_conn_query(a, &q, timeout_ms, s_on_result, &res, why);
    } while (rc == VG_OK && res.more && res.cursor > q.after_seq);
    if (rc != VG_OK) {
        vga_status_list_fini(out);
    }
    return rc;
}

vg_err
vga_status_open(vga_agent *a, const vga_alert_status *st, vg_alert *out, vg_reason *why)
{
    if (st->envelope == NULL) {
        return vg_reason_set(why, VG_ERR_NOT_RECIPIENT,
                             "%s may see this alert's tracking but not its content",
                             vga_agent_agency(a));
    }
    vga_inbox_entry e = {.envelope = st->envelope, .envelope_len = st->envelope_len};
    vg_envelope *env = NULL;
    vg_err rc = vg_envelope_verify(&env, st->envelope, st->envelope_len, vga_agent_doc(a), why);
    bool listed = rc == VG_OK && vg_envelope_has_recipient(env, vga_agent_agency(a));
    vg_envelope_destroy(&env);
    if (rc != VG_OK) {
        return rc;
    }
    if (!listed && st->n_shares > 0) {
        e.share = st->shares[0];
        e.share_len = st->share_lens[0];
    }
    return vga_inbox_open(a, &e, out, NULL, why);
}

/* ---- events ----------------------------------------------------------------------------- */

static void
s_copy_event(vga_event *out, const Vigil__Event *e)
{
    memset(out, 0, sizeof *out);
    out->seq = e->seq;
    out->time_ms = (int64_t)e->time_ms;
    out->kind = (vga_event_kind)e->kind;
    out->has_alert = e->alert_id.len == VG_ALERT_ID_LEN;
    if (out->has_alert) {
        memcpy(out->alert_id, e->alert_id.data, VG_ALERT_ID_LEN);
    }
    snprintf(out->sender, sizeof out->sender, "%s", e->sender);
    out->severity = (vg_severity)e->severity;
    out->status = (vg_status)e->status;
    snprintf(out->agency, sizeof out->agency, "%s", e->agency);
    snprintf(out->detail, sizeof out->detail, "%s", e->detail);
    out->count = e->count;
    out->level = e->escalation_level;
}

void
vga_events_push(vga_agent *a, const Vigil__Event *e)
{
    if (a->ring == NULL) {
        return; /* not subscribed: the broker sends none */
    }
    if (a->ring_n == VGA_EVENT_RING) { /* the reader sees the gap in seq */
        a->ring_head = (a->ring_head + 1) % VGA_EVENT_RING;
        a->ring_n--;
    }
    s_copy_event(&a->ring[(a->ring_head + a->ring_n) % VGA_EVENT_RING], e);
    a->ring_n++;
}

vg_err
vga_next_event(vga_agent *a, int64_t timeout_ms, vga_event *out)
{
    if (a->ring == NULL) {
        return VG_ERR_INVALID;
    }
    if (a->ring_n == 0) {
        vga_wait w = {.want_event = true};
        vga_conn_serve(a, timeout_ms, &w, vga_done_reply);
    }
    if (a->ring_n == 0) {
        return VG_ERR_TIMEOUT;
    }
    *out = a->ring[a->ring_head];
    a->ring_head = (a->ring_head + 1) % VGA_EVENT_RING;
    a->ring_n--;
    return VG_OK;
}

vg_err
vga_events_since(vga_agent *a, uint64_t after, int64_t timeout_ms, vga_event **out, size_t *n_out,
                 vg_reason *why)
{
    *out = NULL;
    *n_out = 0;
    Vigil__Query q = VIGIL__QUERY__INIT;
    q.kind = VIGIL__QUERY_KIND__QUERY_EVENTS;
    q.after_seq = after;
    s_result res = {.events = out};
    vg_err rc = vga_conn_query(a, &q, timeout_ms, s_on_result, &res, why);
    if (rc != VG_OK) {
        free(*out);
        *out = NULL;
        return rc;
    }
    *n_out = res.n_events;
    return VG_OK;
}
