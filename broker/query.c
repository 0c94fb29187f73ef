/* query.c — answers to Query frames, as the requester may see them (see query.h). */
#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "links.h"
#include "store_witness.h"
#include "store_retain.h"
#include "vigil/audit_leaf.h"
#include "vigil/clock.h"
#include "vigil/log.h"

/* ---- an arena for the result ----------------------------------------------------- */

/* Everything a query result points into, freed in one go after packing. */
typedef struct s_arena {
    void **blocks; /* malloc'ed */
    size_t n, cap; /* used, allocated */
    bool failed;   /* an allocation failed */
} s_arena;

/* The store's states are the wire's AlertState values (store.h): answers
 * pass them through. */
_Static_assert((int)VGB_PENDING == VIGIL__ALERT_STATE__STATE_PENDING, "state");
_Static_assert((int)VGB_DELIVERED == VIGIL__ALERT_STATE__STATE_DELIVERED, "state");
_Static_assert((int)VGB_ACKNOWLEDGED == VIGIL__ALERT_STATE__STATE_ACKNOWLEDGED, "state");
_Static_assert((int)VGB_IN_PROGRESS == VIGIL__ALERT_STATE__STATE_IN_PROGRESS, "state");
_Static_assert((int)VGB_DECLINED == VIGIL__ALERT_STATE__STATE_DECLINED, "state");
_Static_assert((int)VGB_UNOPENABLE == VIGIL__ALERT_STATE__STATE_UNOPENABLE, "state");

static void *
s_alloc(s_arena *ar, size_t size)
{
    if (ar->n == ar->cap) {
        size_t cap = ar->cap ? ar->cap * 2 : 32;
        void **nb = realloc(ar->blocks, cap * sizeof *nb);
        if (nb == NULL) {
            ar->failed = true;
            return NULL;
        }
        ar->blocks = nb;
        ar->cap = cap;
    }
    void *p = calloc(1, size ? size : 1);
    if (p == NULL) {
        ar->failed = true;
        return NULL;
    }
    ar->blocks[ar->n++] = p;
    return p;
}

static char *
s_strdup(s_arena *ar, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = s_alloc(ar, n);
    if (d != NULL) {
        memcpy(d, s, n);
    }
    return d ? d : (char *)"";
}

static uint8_t *
s_memdup(s_arena *ar, const void *p, size_t len)
{
    uint8_t *d = s_alloc(ar, len);
    if (d != NULL && len > 0) {
        memcpy(d, p, len);
    }
    return d;
}

static void
s_arena_fini(s_arena *ar)
{
    for (size_t i = 0; i < ar->n; i++) {
        free(ar->blocks[i]);
    }
    free(ar->blocks);
}

/* ---- who may see what -------------------------------------------------------------- */

vg_err
vgb_unknown_alert(vg_reason *why, const char *agency)
{
    return vg_reason_set(why, VG_ERR_UNKNOWN_ALERT,
                         "no alert with this id is known to %s: check the id (vigil-agent "
                         "outstanding lists yours)",
                         agency);
}

typedef struct s_ctx {
    const vgb_query_src *src; /* where answers come from */
    const char *requester;    /* who asks */
    bool oversight;           /* the requester has the oversight role */
    vg_oversight_view view;   /* what oversight may see beyond metadata */
    s_arena ar;               /* the result's memory */
    Vigil__QueryResult *res;  /* being filled */
    size_t cap;               /* alerts, events or cosignatures slots */
    size_t page_bytes;        /* a snapshot page stops growing past this */
    size_t bytes;             /* packed size of the alerts so far */
} s_ctx;

/* Whether agency is party to alert seq: its sender or a recipient. */
static vg_err
s_is_party(const vgb_query_src *src, uint64_t seq, const char *agency, bool *out)
{
    vgb_alert_meta m;
    vg_err rc = vgb_store_alert_meta(src->store, seq, &m);
    if (rc != VG_OK) {
        return rc;
    }
    if (strcmp(m.sender, agency) == 0) {
        *out = true;
        return VG_OK;
    }
    vgb_rrow row;
    rc = vgb_store_rrow(src->store, seq, agency, &row);
    *out = rc == VG_OK;
    return rc == VG_ERR_NOT_FOUND ? VG_OK : rc;
}

/* The alert with this id that the requester may see (party or oversight);
 * otherwise the answer for an unknown alert. */
static vg_err
s_visible_alert(s_ctx *c, const ProtobufCBinaryData *id, uint64_t *seq, vg_reason *why)
{
    vgb_alert_row row;
    bool party = false;
    vg_err rc = id->len == VG_ALERT_ID_LEN ? vgb_store_find_alert(c->src->store, id->data, &row)
                                           : VG_ERR_NOT_FOUND;
    if (rc == VG_OK && !c->oversight) {
        rc = s_is_party(c->src, row.seq, c->requester, &party);
        rc = rc == VG_OK && !party ? VG_ERR_NOT_FOUND : rc;
    }
    if (rc == VG_ERR_NOT_FOUND) {
        return vgb_unknown_alert(why, c->requester);
    }
    if (rc != VG_OK) {
        return vg_reason_set(why, rc, "store error; ask again");
    }
    *seq = row.seq;
    return VG_OK;
}

/* ---- alert summaries ------------------------------------------------------------------- */

typedef struct s_sum {
    s_ctx *c;                 /* the query */
    Vigil__AlertSummary *sum; /* being filled */
    bool listed;              /* the requester is a recipient */
} s_sum;

static void
s_sum_row(void *ctx, const vgb_rrow *r, const char *officer, const char *note, const char *reason)
{
    s_sum *s = ctx;
    s_ctx *c = s->c;
    Vigil__RecipientState *rs = s_alloc(&c->ar, sizeof *rs);
    Vigil__RecipientState **arr =
        s_alloc(&c->ar, (s->sum->n_recipients + 1) * sizeof *s->sum->recipients);
    if (rs == NULL || arr == NULL) {
        return;
    }
    bool names = !c->oversight || c->view.officer_names, notes = !c->oversight || c->view.notes;
    vigil__recipient_state__init(rs);
    rs->agency = s_strdup(&c->ar, r->agency);
    rs->state = (Vigil__AlertState)r->state;
    rs->required = r->required;
    rs->overdue = r->overdue_ms != 0 || r->esc_level > 0;
    rs->deadline_ms = (uint64_t)r->deadline_ms;
    rs->delivered_ms = (uint64_t)r->delivered_ms;
    rs->acknowledged_ms = (uint64_t)r->acked_ms;
    rs->officer = s_strdup(&c->ar, names ? officer : "");
    rs->note = s_strdup(&c->ar, notes ? note : "");
    /* an unopenable row's reason is the failure code, which is metadata */
    rs->reason = s_strdup(&c->ar, notes || r->state == VGB_UNOPENABLE ? reason : "");
    rs->escalation_level = r->esc_level;
    rs->shared_by = s_strdup(&c->ar, r->shared_by);
    rs->cover_for = s_strdup(&c->ar, r->cover_for);
    if (s->sum->n_recipients > 0) {
        memcpy(arr, s->sum->recipients, s->sum->n_recipients * sizeof *arr);
    }
    arr[s->sum->n_recipients++] = rs;
    s->sum->recipients = arr;
    s->listed |= strcmp(r->agency, c->requester) == 0;
}

static void
s_sum_share(void *ctx, const uint8_t *bytes, size_t len)
{
    s_sum *s = ctx;
    Vigil__AlertSummary *sum = s->sum;
    uint8_t *copy = s_memdup(&s->c->ar, bytes, len);
    ProtobufCBinaryData *arr =
        s_alloc(&s->c->ar, (sum->n_signed_shares + 1) * sizeof *sum->signed_shares);
    if (copy == NULL || arr == NULL) {
        return;
    }
    if (sum->n_signed_shares > 0) {
        memcpy(arr, sum->signed_shares, sum->n_signed_shares * sizeof *arr);
    }
    arr[sum->n_signed_shares].data = copy;
    arr[sum->n_signed_shares++].len = len;
    sum->signed_shares = arr;
}

static void
s_sum_categories(s_arena *ar, Vigil__AlertSummary *sum, const char *cats)
{
    vg_strlist l = {0};
    if (cats[0] != '\0' && vg_strlist_split(&l, cats, NULL) == VG_OK) {
        sum->categories = s_alloc(ar, l.n * sizeof *sum->categories);
        for (size_t i = 0; sum->categories != NULL && i < l.n; i++) {
            sum->categories[i] = s_strdup(ar, l.items[i]);
        }
        sum->n_categories = sum->categories ? l.n : 0;
    }
    vg_strlist_fini(&l);
}

/* The envelope and the shares naming the requester: only for those who can
 * open it (its sender and its recipients; never oversight). */
static void
s_sum_content(s_ctx *c, s_sum *s, uint64_t seq)
{
    uint8_t *env = NULL;
    size_t len = 0;
    if (vgb_store_envelope(c->src->store, seq, &env, &len) == VG_OK) {
        s->sum->signed_envelope.data = s_memdup(&c->ar, env, len);
        s->sum->signed_envelope.len = s->sum->signed_envelope.data != NULL ? len : 0;
        free(env);
    }
    if (vgb_store_shares_to(c->src->store, seq, c->requester, s_sum_share, s) != VG_OK) {
        c->ar.failed = true;
    }
}

/* Warning memory: the earlier alerts linked to seq, as the requester may
 * know them (links.h), copied into the answer's arena. */
static void
s_sum_linked(s_ctx *c, Vigil__AlertSummary *sum, uint64_t seq)
{
    vgb_linkview v;
    int64_t now = c->src->now_ms ? c->src->now_ms : vg_clock_wall_ms(vg_clock_system());
    if (vgb_links_view(&v, c->src->store, c->src->doc, seq, c->requester, now) != VG_OK) {
        c->ar.failed = true;
        return;
    }
    sum->linked = s_alloc(&c->ar, (v.n ? v.n : 1) * sizeof *sum->linked);
    for (size_t i = 0; sum->linked != NULL && i < v.n; i++) {
        const Vigil__LinkedAlert *in = v.items[i];
        Vigil__LinkedAlert *l = s_alloc(&c->ar, sizeof *l);
        Vigil__LinkOutcome **outs = s_alloc(&c->ar, (in->n_outcomes + 1) * sizeof *outs);
        if (l == NULL || outs == NULL) {
            break;
        }
        vigil__linked_alert__init(l);
        l->alert_id.data =
            in->alert_id.len ? s_memdup(&c->ar, in->alert_id.data, in->alert_id.len) : NULL;
        l->alert_id.len = l->alert_id.data ? in->alert_id.len : 0;
        l->accepted_ms = in->accepted_ms;
        for (size_t k = 0; k < in->n_outcomes; k++) {
            outs[k] = s_alloc(&c->ar, sizeof *outs[k]);
            if (outs[k] == NULL) {
                break;
            }
            vigil__link_outcome__init(outs[k]);
            outs[k]->agency = s_strdup(&c->ar, in->outcomes[k]->agency);
            outs[k]->outcome = in->outcomes[k]->outcome;
            l->n_outcomes = k + 1;
        }
        l->outcomes = outs;
        sum->linked[i] = l;
        sum->n_linked = i + 1;
    }
    vgb_linkview_fini(&v);
}

/* The summary of alert seq as the requester may see it; NULL when it may
 * not (neither party nor oversight) or the store failed. */
static Vigil__AlertSummary *
s_summary(s_ctx *c, uint64_t seq)
{
    vgb_alert_meta m;
    Vigil__AlertSummary *sum = s_alloc(&c->ar, sizeof *sum);
    if (sum == NULL || vgb_store_alert_meta(c->src->store, seq, &m) != VG_OK) {
        return NULL;
    }
    vigil__alert_summary__init(sum);
    sum->alert_id.data = s_memdup(&c->ar, m.id, VG_ALERT_ID_LEN);
    sum->alert_id.len = sum->alert_id.data ? VG_ALERT_ID_LEN : 0;
    sum->sender = s_strdup(&c->ar, m.sender);
    sum->created_ms = (uint64_t)m.created_ms;
    sum->accepted_ms = (uint64_t)m.accepted_ms;
    sum->severity = (Vigil__Severity)m.severity;
    sum->urgency = (Vigil__Urgency)m.urgency;
    sum->status = (Vigil__Status)m.status;
    sum->msg_type = (Vigil__MsgType)m.msg_type;
    sum->complete = m.complete_ms != 0;
    s_sum_categories(&c->ar, sum, m.categories);
    s_sum s = {c, sum, false};
    if (vgb_store_recipients_of(c->src->store, seq, s_sum_row, &s) != VG_OK) {
        return NULL;
    }
    bool is_sender = strcmp(m.sender, c->requester) == 0;
    if (!is_sender && !s.listed && !c->oversight) {
        return NULL;
    }
    vgb_retain_row rr;
    if (vgb_store_retain_state(c->src->store, seq, &rr) == VG_OK) {
        sum->purged_ms = (uint64_t)rr.content_gone_ms;
        sum->held = rr.held;
    }
    if ((is_sender || s.listed) && sum->purged_ms == 0) { /* purged: nothing sealed is left */
        s_sum_content(c, &s, seq);
    }
    s_sum_linked(c, sum, seq);
    return sum;
}

/* Adds alert seq to the result, unless the page is full: false then. */
static bool
s_list_alert(void *ctx, uint64_t seq)
{
    s_ctx *c = ctx;
    if (c->res->n_alerts >= c->cap || (c->res->n_alerts > 0 && c->bytes >= c->page_bytes)) {
        c->res->more = true;
        return false;
    }
    Vigil__AlertSummary *sum = s_summary(c, seq);
    if (sum != NULL) {
        c->res->alerts[c->res->n_alerts++] = sum;
        c->bytes += vigil__alert_summary__get_packed_size(sum) + 8;
        c->res->cursor = seq;
    }
    return true;
}

/* ---- events ----------------------------------------------------------------------- */

static void
s_list_event(void *ctx, const vgb_event_row *ev)
{
    s_ctx *c = ctx;
    Vigil__Event *e = s_alloc(&c->ar, sizeof *e);
    if (e == NULL || c->res->n_events >= c->cap) {
        return;
    }
    vigil__event__init(e);
    e->seq = ev->seq;
    e->time_ms = (uint64_t)ev->time_ms;
    e->kind = (Vigil__EventKind)ev->kind;
    e->agency = s_strdup(&c->ar, ev->about);
    e->detail = s_strdup(&c->ar, ev->detail);
    e->count = ev->count;
    e->escalation_level = ev->level;
    vgb_alert_meta m;
    if (ev->alert_seq != 0 && vgb_store_alert_meta(c->src->store, ev->alert_seq, &m) == VG_OK) {
        e->alert_id.data = s_memdup(&c->ar, m.id, VG_ALERT_ID_LEN);
        e->alert_id.len = e->alert_id.data ? VG_ALERT_ID_LEN : 0;
        e->sender = s_strdup(&c->ar, m.sender);
        e->severity = (Vigil__Severity)m.severity;
        e->status = (Vigil__Status)m.status;
    }
    if (ev->receipt != NULL && ev->receipt_len > 0) {
        e->signed_receipt.data = s_memdup(&c->ar, ev->receipt, ev->receipt_len);
        e->signed_receipt.len = e->signed_receipt.data ? ev->receipt_len : 0;
    }
    c->res->events[c->res->n_events++] = e;
}

/* ---- the audit log ------------------------------------------------------------------ */

/* Whether the requester may have this leaf (see query.h). */
static vg_err
s_may_see_leaf(s_ctx *c, const vg_audit_event *ev, bool *out)
{
    const char *me = c->requester;
    *out = true;
    switch (ev->kind) {
    case VG_AUDIT_AGENCY_OFFLINE:
    case VG_AUDIT_AGENCY_ONLINE:
    case VG_AUDIT_NETWORK_CHANGED:
        return VG_OK; /* everyone hears of these */
    case VG_AUDIT_REJECTED:
        *out = strcmp(ev->transport, me) == 0 || strcmp(ev->sender, me) == 0;
        return VG_OK;
    case VG_AUDIT_ACCEPTED:
        *out = strcmp(ev->sender, me) == 0 || vg_strlist_contains(&ev->agencies, me);
        return VG_OK;
    default:
        break;
    }
    /* the agency it is about (the sharer of a share), those a share reached */
    if (strcmp(ev->agency, me) == 0 || vg_strlist_contains(&ev->agencies, me)) {
        return VG_OK;
    }
    vg_agency ag; /* an escalation's target heard of it */
    char role[VG_AUDIT_NAME_MAX + 8], contact[VG_AUDIT_NAME_MAX + 8];
    snprintf(contact, sizeof contact, "contact:%s", me);
    snprintf(role, sizeof role, "role:%s",
             vg_netdoc_find(c->src->doc, me, &ag) == VG_OK ? ag.role : "");
    if (ev->kind == VG_AUDIT_ESCALATED &&
        (strcmp(ev->target, contact) == 0 || strcmp(ev->target, role) == 0)) {
        return VG_OK;
    }
    *out = false; /* otherwise: party to an alert it names */
    size_t n = ev->has_alert_id ? 1 : ev->n_alerts;
    for (size_t i = 0; i < n && !*out; i++) {
        const uint8_t *id = ev->has_alert_id ? ev->alert_id : ev->alerts[i];
        vgb_alert_row row;
        vg_err rc = vgb_store_find_alert(c->src->store, id, &row);
        rc = rc == VG_OK ? s_is_party(c->src, row.seq, me, out) : rc;
        if (rc != VG_OK && rc != VG_ERR_NOT_FOUND) {
            return rc;
        }
    }
    return VG_OK;
}

static void
s_result_proof(s_ctx *c, const vg_merkle_hash *hashes, size_t n)
{
    ProtobufCBinaryData *bin = s_alloc(&c->ar, (n ? n : 1) * sizeof *bin);
    for (size_t i = 0; bin != NULL && i < n; i++) {
        bin[i].data = s_memdup(&c->ar, hashes[i], VG_MERKLE_HASH_LEN);
        bin[i].len = VG_MERKLE_HASH_LEN;
    }
    c->res->proof = bin;
    c->res->n_proof = bin != NULL ? n : 0;
}

typedef struct s_leaves {
    s_ctx *c;   /* the query */
    size_t cap; /* slots in leaf_indices */
} s_leaves;

static void
s_add_leaf_index(void *ctx, uint64_t idx)
{
    s_leaves *l = ctx;
    Vigil__QueryResult *res = l->c->res;
    if (res->n_leaf_indices == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        uint64_t *grown = s_alloc(&l->c->ar, cap * sizeof *grown);
        if (grown == NULL) {
            return;
        }
        if (res->n_leaf_indices > 0) {
            memcpy(grown, res->leaf_indices, res->n_leaf_indices * sizeof *grown);
        }
        res->leaf_indices = grown;
        l->cap = cap;
    }
    res->leaf_indices[res->n_leaf_indices++] = idx;
}

/* QUERY_INCLUSION by index: the leaf and its proof, to those who may see it. */
static vg_err
s_inclusion(s_ctx *c, const Vigil__Query *q, vg_reason *why)
{
    uint8_t *leaf = NULL;
    size_t len = 0;
    vg_merkle_hash hashes[VG_MERKLE_PROOF_MAX];
    size_t n = 0;
    vg_audit_event ev = {0};
    bool may = false;
    vg_err rc =
        vgb_audit_inclusion_proof(c->src->audit, q->leaf_index, q->tree_size, hashes, &n, why);
    rc = rc == VG_OK ? vgb_audit_leaf(c->src->audit, q->leaf_index, &leaf, &len, why) : rc;
    if (rc == VG_OK && vg_audit_leaf_parse(&ev, leaf, len, NULL) == VG_OK) {
        rc = c->oversight ? (may = true, VG_OK) : s_may_see_leaf(c, &ev, &may);
    }
    if ((rc == VG_OK && !may) || rc == VG_ERR_INVALID || rc == VG_ERR_NOT_FOUND) {
        /* Not the requester's reads exactly as past the end of the log. */
        rc = vg_reason_set(why, VG_ERR_NOT_FOUND,
                           "no leaf %llu in a tree of %llu that you may see: ask for the leaves "
                           "of your own alerts by alert id",
                           (unsigned long long)q->leaf_index, (unsigned long long)q->tree_size);
    }
    if (rc == VG_OK) {
        s_result_proof(c, hashes, n);
        c->res->leaf.data = s_memdup(&c->ar, leaf, len);
        c->res->leaf.len = c->res->leaf.data ? len : 0;
        c->res->leaf_index = q->leaf_index;
        c->res->tree_size = q->tree_size;
    }
    vg_audit_event_fini(&ev);
    free(leaf);
    return rc;
}

/* Every answer about the log carries the latest committed checkpoint. */
static vg_err
s_checkpoint(s_ctx *c, vg_reason *why)
{
    char *note = NULL;
    size_t len = 0;
    uint64_t size = 0;
    vg_err rc = vgb_audit_checkpoint_latest(c->src->audit, &note, &len, &size, NULL, why);
    if (rc == VG_ERR_NOT_FOUND) {
        return VG_OK; /* none signed yet */
    }
    if (rc == VG_OK) {
        c->res->checkpoint.data = s_memdup(&c->ar, note, len);
        c->res->checkpoint.len = c->res->checkpoint.data ? len : 0;
        c->res->tree_size = size;
    }
    free(note);
    return rc;
}

/* The cosignatures of the checkpoint answered (QUERY_CHECKPOINT): at most
 * one per agency, so bounded by the document. */
static void
s_take_cosig(void *ctx, const vgb_cosign_row *row)
{
    s_ctx *c = ctx;
    Vigil__QueryResult *r = c->res;
    if (row->size != r->tree_size || r->n_cosignatures >= c->cap) {
        return;
    }
    char *line = (char *)s_memdup(&c->ar, row->line, row->line_len + 1);
    if (line != NULL) {
        line[row->line_len] = '\0';
        r->cosignatures[r->n_cosignatures++] = line;
    }
}

static vg_err
s_cosignatures(s_ctx *c, vg_reason *why)
{
    if (c->res->checkpoint.len == 0) {
        return VG_OK;
    }
    c->cap = vg_netdoc_n_agencies(c->src->doc);
    c->res->cosignatures = s_alloc(&c->ar, c->cap * sizeof *c->res->cosignatures);
    if (c->res->cosignatures == NULL) {
        return VG_ERR_NOMEM;
    }
    vg_err rc = vgb_store_cosignatures(c->src->store, c->res->tree_size, s_take_cosig, c);
    return rc == VG_OK ? VG_OK : vg_reason_set(why, rc, "cannot read the cosignatures");
}

static vg_err
s_audit_query(s_ctx *c, const Vigil__Query *q, vg_reason *why)
{
    vg_err rc = s_checkpoint(c, why);
    if (rc == VG_OK && q->kind == VIGIL__QUERY_KIND__QUERY_CHECKPOINT) {
        rc = s_cosignatures(c, why);
    }
    if (rc != VG_OK || q->kind == VIGIL__QUERY_KIND__QUERY_CHECKPOINT) {
        return rc;
    }
    if (q->kind == VIGIL__QUERY_KIND__QUERY_CONSISTENCY) {
        vg_merkle_hash hashes[VG_MERKLE_PROOF_MAX];
        size_t n = 0;
        rc = vgb_audit_consistency_proof(c->src->audit, q->old_size, q->tree_size, hashes, &n, why);
        if (rc == VG_OK) {
            s_result_proof(c, hashes, n);
            c->res->tree_size = q->tree_size;
        }
        return rc;
    }
    if (q->alert_id.len == 0) {
        return s_inclusion(c, q, why);
    }
    uint64_t seq = 0;
    rc = s_visible_alert(c, &q->alert_id, &seq, why);
    s_leaves l = {c, 0};
    return rc == VG_OK ? vgb_store_alert_leaves(c->src->store, seq, s_add_leaf_index, &l) : rc;
}

/* ---- the answer ----------------------------------------------------------------------- */

static vg_err
s_answer(s_ctx *c, const Vigil__Query *q, vg_reason *why)
{
    uint64_t last = 0;
    vg_err rc = vgb_store_last_event(c->src->store, c->requester, &last);
    c->res->last_event_seq = last;
    c->res->alerts = s_alloc(&c->ar, c->cap * sizeof *c->res->alerts);
    c->res->events = s_alloc(&c->ar, c->cap * sizeof *c->res->events);
    if (c->res->alerts == NULL || c->res->events == NULL) {
        return VG_ERR_NOMEM;
    }
    if (rc != VG_OK) {
        return vg_reason_set(why, rc, "store error; ask again");
    }
    uint64_t seq = 0;
    switch (q->kind) {
    case VIGIL__QUERY_KIND__QUERY_ALERT:
        rc = s_visible_alert(c, &q->alert_id, &seq, why);
        if (rc == VG_OK) {
            (void)s_list_alert(c, seq);
            rc = c->res->n_alerts == 1 ? VG_OK : vg_reason_set(why, VG_ERR_IO, "store error");
        }
        return rc;
    case VIGIL__QUERY_KIND__QUERY_SNAPSHOT:
        return vgb_store_outstanding(c->src->store, c->oversight ? NULL : c->requester,
                                     q->after_seq, c->cap, s_list_alert, c);
    case VIGIL__QUERY_KIND__QUERY_EVENTS:
        return vgb_store_events_after(c->src->store, c->requester, q->after_seq, c->cap,
                                      s_list_event, c);
    case VIGIL__QUERY_KIND__QUERY_CHECKPOINT:
    case VIGIL__QUERY_KIND__QUERY_INCLUSION:
    case VIGIL__QUERY_KIND__QUERY_CONSISTENCY:
        return s_audit_query(c, q, why);
    default:
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "this broker version does not answer that query");
    }
}

/* Packs f with request_id into *frame. */
static vg_err
s_pack(Vigil__BrokerFrame *f, uint64_t request_id, uint8_t **frame, size_t *len)
{
    f->request_id = request_id;
    *len = vigil__broker_frame__get_packed_size(f);
    *frame = malloc(*len ? *len : 1);
    if (*frame == NULL) {
        return VG_ERR_NOMEM;
    }
    vigil__broker_frame__pack(f, *frame);
    return VG_OK;
}

vg_err
vgb_query_answer(const vgb_query_src *src, const char *requester, uint64_t request_id,
                 const Vigil__Query *q, uint8_t **frame, size_t *len)
{
    Vigil__QueryResult res = VIGIL__QUERY_RESULT__INIT;
    s_ctx c = {.src = src,
               .requester = requester,
               .oversight = vg_netdoc_is_oversight(src->doc, requester),
               .view = vg_netdoc_oversight(src->doc),
               .res = &res,
               .cap =
                   q->limit > 0 && q->limit < VGB_QUERY_LIMIT_MAX ? q->limit : VGB_QUERY_LIMIT_MAX,
               .page_bytes = VGB_QUERY_PAGE_BYTES};
    vg_reason why = {{0}};
    vg_err rc = s_answer(&c, q, &why);
    if (rc == VG_OK && c.ar.failed) {
        rc = vg_reason_set(&why, VG_ERR_NOMEM, "the broker is short of memory; ask again");
    }
    Vigil__BrokerFrame f = VIGIL__BROKER_FRAME__INIT;
    Vigil__ErrorReply e = VIGIL__ERROR_REPLY__INIT;
    if (rc == VG_OK) {
        f.kind_case = VIGIL__BROKER_FRAME__KIND_RESULT;
        f.result = &res;
    } else {
        e.code = (Vigil__RejectCode)vg_reject_code(rc);
        e.reason = why.text;
        f.kind_case = VIGIL__BROKER_FRAME__KIND_ERROR;
        f.error = &e;
    }
    rc = s_pack(&f, request_id, frame, len);
    s_arena_fini(&c.ar);
    return rc;
}
