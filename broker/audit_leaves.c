/* audit_leaves.c — the leaf pass of audit verify (audit_state.h): every
 * leaf in index order; the alert it names exists (and counts towards the
 * check of the alert -> leaf index); a rejected leaf against the next
 * rejections row; a network_changed leaf against its document; and the
 * events each fact wrote, derived from the leaf and its alert's state
 * then, handed to the streams (audit_stream.c). An alert's state between
 * its leaves is kept in a cache of S_CACHE alerts (rebuilt from its rows
 * and earlier leaves when it was evicted). */
#include "audit_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil.pb-c.h"
#include "vigil/wire.h"

#define S_CACHE 4096                           /* alerts whose state is kept between their leaves */
#define S_SLICE 64                             /* rejections read at a time */
#define S_EVENTS_MAX (VG_AUDIT_ALERTS_MAX + 1) /* a leaf's events */

typedef struct s_pass {
    vgb_av_check *c;                   /* the check */
    vgb_av_streams *streams;           /* every agency's */
    vgb_av_life *cache;                /* S_CACHE alerts' states */
    bool *cached;                      /* slot in use */
    vgb_av_event ev[S_EVENTS_MAX];     /* the leaf's events */
    size_t n_ev;                       /* count */
    char (*aud)[VG_AGENCY_ID_MAX + 1]; /* the events' alerts' audiences */
    size_t n_aud, cap_aud;             /* count, allocated */
    char text[VG_SHORT_TEXT_MAX + 64]; /* a detail the events point to */
    vgb_av_receipt rcpt;               /* a receipt leaf's receipt, parsed */
    uint8_t *rcpt_bytes;               /* its bytes */
    size_t rcpt_len;                   /* their length */
    vgb_rejection_row rej[S_SLICE];    /* rejections read (texts copied below) */
    char rej_text[S_SLICE][2][80];     /* agency, code (longer: not a leaf's, and cut) */
    size_t n_rej, rej_head;            /* read, consumed */
    uint64_t rej_after;                /* the last id read */
    bool rej_eof;                      /* no more */
    uint64_t switch_to;                /* a new document's version: in force after its leaves */
    vg_err rc;                         /* a callback's failure */
    char rep_about[VG_RECIPIENTS_MAX][VG_AGENCY_ID_MAX + 1]; /* a linked leaf's repeat warnings */
    char rep_detail[VG_RECIPIENTS_MAX][96];                  /* their details */
    uint32_t rep_count[VG_RECIPIENTS_MAX];                   /* their counts */
    char rep_sender[VG_AGENCY_ID_MAX + 1];                   /* the new alert's sender */
} s_pass;

/* ---- the alerts' states ------------------------------------------------------------------ */

/* Alert id's state just before leaf ev: cached, or read from its rows and
 * earlier leaves. A missing alert is a fault. */
static vg_err
s_life(s_pass *ps, const uint8_t id[VG_ALERT_ID_LEN], const vg_audit_event *ev, vgb_av_life **out)
{
    size_t slot = ((size_t)id[0] | (size_t)id[1] << 8) % S_CACHE;
    vgb_av_life *l = &ps->cache[slot];
    *out = l;
    if (ps->cached[slot] && memcmp(l->id, id, VG_ALERT_ID_LEN) == 0) {
        return VG_OK;
    }
    /* an accepted leaf names the sender: one lookup; else the row gives it */
    vgb_alert_meta m = {.seq = 0};
    vgb_alert_row found;
    uint8_t hash[VG_HASH_LEN];
    uint64_t version = 0;
    vg_err rc = ev->kind == VG_AUDIT_ACCEPTED
                    ? vgb_store_find_alert(ps->c->store, id, &found)
                    : vgb_store_alert_by_id(ps->c->store, id, &m, hash, &version);
    if (rc == VG_OK && ev->kind == VG_AUDIT_ACCEPTED) {
        m.seq = found.seq;
        snprintf(m.sender, sizeof m.sender, "%s", ev->sender);
    }
    if (rc == VG_ERR_NOT_FOUND) {
        char row[64];
        vgb_av_alert_name(row, sizeof row, id);
        return vgb_av_fault(ps->c, "alerts", row, ev->index,
                            "the %s leaf names this alert but there is no alerts row",
                            vg_audit_kind_name(ev->kind));
    }
    if (ps->cached[slot]) {
        vgb_av_life_fini(l);
        ps->cached[slot] = false;
    }
    rc = rc == VG_OK ? vgb_av_life_load(l, ps->c->store, m.seq, id, m.sender) : rc;
    ps->cached[slot] = rc == VG_OK;
    if (rc == VG_OK && ev->kind != VG_AUDIT_ACCEPTED) { /* evicted since: replayed */
        rc = vgb_av_life_replay(ps->c, l, ev->index);
    }
    return rc;
}

/* streams.c's rule (s_alert_audience): an alert with more recipients than
 * VGB_PEER_EVENTS_MAX (streams.h) is wide, and one recipient's event about a
 * wide alert is heard by its sender, not by the other recipients. */
#define S_PEER_EVENTS_MAX 64

/* The kinds that are about one recipient's state (streams.c s_per_recipient). */
static bool
s_per_recipient(int64_t kind)
{
    switch (kind) {
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

/* A new event of the leaf, heard by life's sender and recipients (life may
 * be NULL); by its sender alone when the event is one recipient's and the
 * alert is wide. */
static vgb_av_event *
s_push(s_pass *ps, int64_t kind, const vgb_av_life *life, const char *about, const char *detail)
{
    vgb_av_event *e = &ps->ev[ps->n_ev++];
    *e = (vgb_av_event){.kind = kind, .about = about, .detail = detail, .aud = ps->n_aud};
    if (life == NULL) {
        return e;
    }
    e->alert_seq = life->seq;
    size_t need = ps->n_aud + 1 + life->n;
    if (need > ps->cap_aud) {
        size_t cap = need * 2;
        void *grown = realloc(ps->aud, cap * sizeof *ps->aud);
        if (grown == NULL) {
            ps->rc = VG_ERR_NOMEM;
            return e;
        }
        ps->aud = grown;
        ps->cap_aud = cap;
    }
    snprintf(ps->aud[ps->n_aud++], sizeof ps->aud[0], "%s", life->sender);
    size_t present = 0;
    for (size_t i = 0; i < life->n; i++) {
        present += life->rows[i].present;
    }
    bool sender_only = s_per_recipient(kind) && present > S_PEER_EVENTS_MAX;
    for (size_t i = 0; !sender_only && i < life->n; i++) {
        if (life->rows[i].present) {
            snprintf(ps->aud[ps->n_aud++], sizeof ps->aud[0], "%s", life->rows[i].agency);
        }
    }
    e->n_aud = ps->n_aud - e->aud;
    return e;
}

/* ---- receipts ---------------------------------------------------------------------------- */

static void
s_take_receipt(void *ctx, const vgb_receipt_row *r)
{
    s_pass *ps = ctx;
    free(ps->rcpt_bytes);
    ps->rcpt_len = r->len;
    ps->rcpt_bytes = malloc(r->len ? r->len : 1);
    if (ps->rcpt_bytes == NULL) {
        ps->rc = VG_ERR_NOMEM;
        return;
    }
    memcpy(ps->rcpt_bytes, r->bytes, r->len);
}

/* The leaf's receipt (the per-alert pass checked it), parsed. */
static vg_err
s_receipt(s_pass *ps, const vg_audit_event *ev)
{
    vgb_av_receipt_fini(&ps->rcpt);
    bool found = false;
    vg_err rc = vgb_store_receipt_by_hash(ps->c->store, ev->hash, s_take_receipt, ps, &found);
    rc = rc == VG_OK ? ps->rc : rc;
    if (rc == VG_OK &&
        (!found || vgb_av_parse_receipt(&ps->rcpt, ps->rcpt_bytes, ps->rcpt_len, NULL) != VG_OK)) {
        return vgb_av_fault(ps->c, "receipts", NULL, ev->index,
                            "the %s leaf's receipt is not stored, or does not parse",
                            vg_audit_kind_name(ev->kind));
    }
    return rc;
}

/* ---- each kind's events (record.c) -------------------------------------------------------- */

/* The delivered leaf's alerts in the order of its receipt's items (the
 * order their events were written in); *ids points to them. */
static vg_err
s_delivered_order(s_pass *ps, const vg_audit_event *ev, const uint8_t (**ids)[VG_ALERT_ID_LEN],
                  size_t *n)
{
    *ids = (const uint8_t(*)[VG_ALERT_ID_LEN])ev->alerts;
    *n = ev->n_alerts;
    if (ev->n_alerts == 1) {
        return VG_OK; /* no order to find */
    }
    vg_err rc = s_receipt(ps, ev);
    if (rc != VG_OK) {
        return rc;
    }
    size_t k = 0; /* the receipt's items that the leaf lists, moved to the front */
    for (size_t i = 0; i < ps->rcpt.n_items; i++) {
        for (size_t j = 0; j < ev->n_alerts; j++) {
            if (memcmp(ps->rcpt.ids[i], ev->alerts[j], VG_ALERT_ID_LEN) == 0) {
                memmove(ps->rcpt.ids[k++], ps->rcpt.ids[i], VG_ALERT_ID_LEN);
                break;
            }
        }
    }
    if (k != ev->n_alerts) {
        return vgb_av_fault(ps->c, "receipts", NULL, ev->index,
                            "the delivered leaf lists alerts its receipt has no item for");
    }
    *ids = (const uint8_t(*)[VG_ALERT_ID_LEN])ps->rcpt.ids;
    return VG_OK;
}

static vg_err
s_gen_delivered(s_pass *ps, const vg_audit_event *ev)
{
    const uint8_t(*ids)[VG_ALERT_ID_LEN] = NULL;
    size_t n = 0;
    vg_err rc = s_delivered_order(ps, ev, &ids, &n);
    for (size_t i = 0; i < n && rc == VG_OK; i++) {
        vgb_av_life *l = NULL;
        vgb_av_effect eff;
        rc = s_life(ps, ids[i], ev, &l);
        if (rc == VG_OK) {
            vgb_av_life_apply(l, ev, &eff);
            s_push(ps, VIGIL__EVENT_KIND__EVENT_DELIVERED, l, ev->agency, "");
        }
    }
    ps->c->n_pairs_named += n;
    return rc;
}

/* A person's receipt, or an unopenable one: the event forwards it. */
static vg_err
s_gen_receipt(s_pass *ps, const vg_audit_event *ev, vgb_av_life *l, const vgb_av_effect *eff)
{
    vg_err rc = s_receipt(ps, ev);
    if (rc != VG_OK) {
        return rc;
    }
    const char *detail = ev->kind == VG_AUDIT_ACKNOWLEDGED ? ps->rcpt.officer
                         : ev->kind == VG_AUDIT_UNOPENABLE
                             ? vg_open_failure_name((vg_open_failure)ps->rcpt.failure)
                             : ps->rcpt.reason;
    vgb_av_event *e = s_push(ps, (int64_t)ev->kind, l, ev->agency, detail);
    e->receipt = ps->rcpt_bytes;
    e->receipt_len = ps->rcpt_len;
    if (eff->completes) {
        s_push(ps, VIGIL__EVENT_KIND__EVENT_COMPLETE, l, "", "");
    }
    return VG_OK;
}

/* An escalation step's extra audience, from its target ("contact:X",
 * "role:Y", "redeliver", "contact:none"). */
static void
s_target(vgb_av_event *e, const char *target)
{
    if (strncmp(target, "contact:", 8) == 0 && strcmp(target, "contact:none") != 0) {
        e->extra_agency = target + 8;
    } else if (strncmp(target, "role:", 5) == 0) {
        e->extra_role = target + 5;
    }
}

/* A leaf about one alert: the rows it changed, then its events. */
static vg_err
s_gen_alert(s_pass *ps, const vg_audit_event *ev)
{
    vgb_av_life *l = NULL;
    vg_err rc = s_life(ps, ev->alert_id, ev, &l);
    if (rc != VG_OK) {
        return rc;
    }
    vgb_av_effect eff;
    vgb_av_life_apply(l, ev, &eff);
    ps->c->n_pairs_named++;
    vgb_av_event *e = NULL;
    switch (ev->kind) {
    case VG_AUDIT_ACCEPTED:
        s_push(ps, VIGIL__EVENT_KIND__EVENT_ACCEPTED, l, ev->sender, "");
        ps->c->n_accepted++;
        break;
    case VG_AUDIT_SHARED:
        s_push(ps, VIGIL__EVENT_KIND__EVENT_SHARED, l, ev->agencies.n ? ev->agencies.items[0] : "",
               ev->agency);
        break;
    case VG_AUDIT_OVERDUE: /* tracking.c s_step: why, from the row's state */
        e = s_push(ps, VIGIL__EVENT_KIND__EVENT_OVERDUE, l, ev->agency,
                   eff.before == VGB_DECLINED     ? "declined"
                   : eff.before == VGB_UNOPENABLE ? "cannot open"
                                                  : "deadline passed");
        e->level = 1;
        break;
    case VG_AUDIT_ESCALATED:
        e = s_push(ps, VIGIL__EVENT_KIND__EVENT_ESCALATED, l, ev->agency, ev->target);
        e->level = (int64_t)ev->level;
        s_target(e, ev->target);
        break;
    case VG_AUDIT_REASSIGNED:
        snprintf(ps->text, sizeof ps->text, "%s%s", ev->target[0] ? "successor:" : "no successor",
                 ev->target);
        e = s_push(ps, VIGIL__EVENT_KIND__EVENT_REASSIGNED, l, ev->agency, ps->text);
        e->extra_agency = ev->target[0] ? ev->target : NULL;
        break;
    case VG_AUDIT_NOTIFIED: /* record.c vgb_record_notified: not the alert's parties */
        e = s_push(ps, VIGIL__EVENT_KIND__EVENT_NOTIFIED, NULL, ev->agency, "");
        e->alert_seq = l->seq;
        e->level = (int64_t)ev->level;
        e->extra_agency = ev->sender[0] ? ev->sender : NULL;
        e->notified = ev;
        break;
    case VG_AUDIT_PURGED: /* retain.c: a leaf without an event */
    case VG_AUDIT_HELD:
    case VG_AUDIT_RELEASED:
        break;
    default: /* acknowledged, in_progress, declined, unopenable */
        rc = s_gen_receipt(ps, ev, l, &eff);
        break;
    }
    return rc;
}

/* ---- warning memory (links.c) ------------------------------------------------------------- */

/* Whether a required row missed its alert as the log says by now: not
 * acknowledged, and overdue (a step was written), declined or unopenable —
 * links.c's rule for counting a repeat warning. */
static bool
s_missed(const vgb_av_row *r)
{
    return r->present && r->required && r->state != VGB_ACKNOWLEDGED &&
           (r->esc_level > 0 || r->stepped || r->state == VGB_DECLINED ||
            r->state == VGB_UNOPENABLE);
}

/* A linked leaf: for each required recipient of the new alert (in row
 * order) that missed some of the earlier alerts it names, a REPEAT_WARNING
 * heard by that agency, the new alert's sender and oversight only. */
static vg_err
s_gen_linked(s_pass *ps, const vg_audit_event *ev)
{
    vgb_av_life *l = NULL;
    vg_err rc = s_life(ps, ev->alert_id, ev, &l);
    if (rc != VG_OK) {
        return rc;
    }
    vgb_av_effect eff;
    vgb_av_life_apply(l, ev, &eff);
    ps->c->n_pairs_named++;
    uint64_t seq = l->seq;
    snprintf(ps->rep_sender, sizeof ps->rep_sender, "%s", l->sender);
    size_t n = 0;
    for (size_t i = 0; i < l->n && n < VG_RECIPIENTS_MAX; i++) {
        if (l->rows[i].present && l->rows[i].required) {
            snprintf(ps->rep_about[n], sizeof ps->rep_about[n], "%s", l->rows[i].agency);
            ps->rep_count[n++] = 0;
        }
    }
    for (size_t k = 0; k < ev->n_alerts && rc == VG_OK; k++) {
        vgb_av_life *e = NULL; /* may evict l: only copies of it are used below */
        rc = s_life(ps, ev->alerts[k], ev, &e);
        for (size_t i = 0; rc == VG_OK && i < e->n; i++) {
            for (size_t q = 0; s_missed(&e->rows[i]) && q < n; q++) {
                ps->rep_count[q] += strcmp(ps->rep_about[q], e->rows[i].agency) == 0;
            }
        }
    }
    for (size_t q = 0; q < n && rc == VG_OK; q++) {
        if (ps->rep_count[q] == 0) {
            continue;
        }
        snprintf(ps->rep_detail[q], sizeof ps->rep_detail[q],
                 "repeat warning: you did not acknowledge %u earlier warning%s about this subject",
                 ps->rep_count[q], ps->rep_count[q] == 1 ? "" : "s");
        vgb_av_event *e = s_push(ps, VIGIL__EVENT_KIND__EVENT_REPEAT_WARNING, NULL,
                                 ps->rep_about[q], ps->rep_detail[q]);
        e->alert_seq = seq;
        e->count = ps->rep_count[q];
        if (ps->n_aud + 1 > ps->cap_aud) {
            size_t cap = (ps->n_aud + 1) * 2;
            void *grown = realloc(ps->aud, cap * sizeof *ps->aud);
            if (grown == NULL) {
                return VG_ERR_NOMEM;
            }
            ps->aud = grown;
            ps->cap_aud = cap;
        }
        e->aud = ps->n_aud;
        snprintf(ps->aud[ps->n_aud++], sizeof ps->aud[0], "%s", ps->rep_sender);
        e->n_aud = 1;
    }
    return rc;
}

/* ---- rejections ---------------------------------------------------------------------------- */

static void
s_take_rejection(void *ctx, const vgb_rejection_row *r)
{
    s_pass *ps = ctx;
    size_t i = ps->n_rej++;
    ps->rej[i] = *r;
    snprintf(ps->rej_text[i][0], sizeof ps->rej_text[i][0], "%s", r->agency);
    snprintf(ps->rej_text[i][1], sizeof ps->rej_text[i][1], "%s", r->code);
    ps->rej[i].agency = ps->rej_text[i][0];
    ps->rej[i].code = ps->rej_text[i][1];
    ps->rej[i].reason = "";
    ps->rej_after = r->id;
}

/* The next rejections row, or NULL. */
static const vgb_rejection_row *
s_next_rejection(s_pass *ps, vg_err *rc)
{
    if (ps->rej_head == ps->n_rej && !ps->rej_eof) {
        ps->n_rej = ps->rej_head = 0;
        *rc =
            vgb_store_rejections_after(ps->c->store, ps->rej_after, S_SLICE, s_take_rejection, ps);
        ps->rej_eof = ps->n_rej < S_SLICE;
    }
    return ps->rej_head < ps->n_rej ? &ps->rej[ps->rej_head] : NULL;
}

/* The rejected leaf's row: the next in id order (record.c writes it with
 * the leaf). */
static vg_err
s_check_rejected(s_pass *ps, const vg_audit_event *ev)
{
    vg_err rc = VG_OK;
    const vgb_rejection_row *r = s_next_rejection(ps, &rc);
    if (rc != VG_OK) {
        return rc;
    }
    if (r == NULL) {
        return vgb_av_fault(ps->c, "rejections", NULL, ev->index,
                            "no rejections row records this rejected leaf");
    }
    char row[VGB_AUDIT_ROW_MAX];
    snprintf(row, sizeof row, "id=%llu", (unsigned long long)r->id);
    const char *what =
        strcmp(r->agency, ev->transport) != 0 ? "agency"
        : r->has_alert_id != ev->has_alert_id ||
                (r->has_alert_id &&
                 (!r->alert_id_ok || memcmp(r->alert_id, ev->alert_id, VG_ALERT_ID_LEN) != 0))
            ? "alert_id"
        : strcmp(r->code, ev->code) != 0      ? "code"
        : !vgb_av_near(r->at_ms, ev->time_ms) ? "at_ms (far from its leaf's time)"
                                              : NULL;
    if (what != NULL) {
        return vgb_av_fault(ps->c, "rejections", row, ev->index,
                            "column %s differs from the rejected leaf", what);
    }
    ps->rej_head++;
    return VG_OK;
}

/* ---- one leaf -----------------------------------------------------------------------------------
 */

static vg_err
s_check_document(s_pass *ps, const vg_audit_event *ev)
{
    const vg_netdoc *doc = vgb_av_doc(&ps->c->docs, ev->version);
    char row[64];
    snprintf(row, sizeof row, "version=%llu", (unsigned long long)ev->version);
    if (doc == NULL) {
        return vgb_av_fault(ps->c, "network_documents", row, ev->index,
                            "the network_changed leaf names this document; the store lacks it");
    }
    size_t len = 0;
    const uint8_t *bytes = vg_netdoc_signed_bytes(doc, &len);
    uint8_t hash[VG_HASH_LEN];
    vg_hash(hash, bytes, len);
    if (memcmp(hash, ev->hash, VG_HASH_LEN) != 0) {
        return vgb_av_fault(ps->c, "network_documents", row, ev->index,
                            "the document's hash is not the leaf's document_hash");
    }
    return VG_OK;
}

static vg_err
s_gen(s_pass *ps, const vg_audit_event *ev)
{
    vgb_av_event *e = NULL;
    switch (ev->kind) {
    case VG_AUDIT_REJECTED:
        return s_check_rejected(ps, ev);
    case VG_AUDIT_DELIVERED:
        return s_gen_delivered(ps, ev);
    case VG_AUDIT_AGENCY_OFFLINE:
    case VG_AUDIT_AGENCY_ONLINE:
        e = s_push(ps, (int64_t)ev->kind, NULL, ev->agency, "");
        e->count = (int64_t)(ev->pending > UINT32_MAX ? UINT32_MAX : ev->pending);
        e->everyone = true;
        return VG_OK;
    case VG_AUDIT_LINKED:
        return s_gen_linked(ps, ev);
    case VG_AUDIT_NETWORK_WARNING: { /* tracking.c: its text from the document it names */
        const vg_netdoc *doc = vgb_av_doc(&ps->c->docs, ev->version);
        if (doc == NULL) {
            return vgb_av_fault(ps->c, "audit_leaves", NULL, ev->index,
                                "the network_warning leaf names a document that is not stored");
        }
        vg_netdoc_calendar_warning(ps->text, sizeof ps->text, doc, ev->target);
        s_push(ps, VIGIL__EVENT_KIND__EVENT_NETWORK_WARNING, NULL, "", ps->text)->everyone = true;
        return VG_OK;
    }
    case VG_AUDIT_UNWITNESSED: /* record.c: to oversight only */
        vg_audit_unwitnessed_detail(ps->text, sizeof ps->text, ev);
        s_push(ps, VIGIL__EVENT_KIND__EVENT_UNWITNESSED, NULL, "", ps->text);
        return VG_OK;
    case VG_AUDIT_NETWORK_CHANGED:
        snprintf(ps->text, sizeof ps->text, "version:%llu", (unsigned long long)ev->version);
        s_push(ps, VIGIL__EVENT_KIND__EVENT_NETWORK_CHANGED, NULL, "", ps->text)->everyone = true;
        return s_check_document(ps, ev);
    default:
        return s_gen_alert(ps, ev);
    }
}

static bool
s_on_leaf(void *ctx, uint64_t idx, const uint8_t *leaf, size_t len, const uint8_t *hash,
          bool hash_ok)
{
    (void)hash, (void)hash_ok;
    s_pass *ps = ctx;
    vg_audit_event ev;
    if (vg_audit_leaf_parse(&ev, leaf, len, NULL) != VG_OK) { /* vgb_audit_verify passed */
        ps->rc = vgb_av_fault(ps->c, "audit_leaves", NULL, idx, "leaf does not parse");
        return false;
    }
    /* reload.c: a new document's leaf, then its reassignments, all under the
     * old one (the broker switches after the commit) */
    if (ps->switch_to != 0 && !(ev.kind == VG_AUDIT_REASSIGNED && ev.version == ps->switch_to)) {
        vgb_av_streams_switch(ps->streams, ps->switch_to);
        ps->switch_to = 0;
    }
    ps->n_ev = 0;
    ps->n_aud = 0;
    vg_err rc = s_gen(ps, &ev);
    rc = rc == VG_OK ? ps->rc : rc;
    rc = rc == VG_OK ? vgb_av_streams_send(ps->streams, ps->ev, ps->n_ev,
                                           (const char(*)[VG_AGENCY_ID_MAX + 1]) ps->aud, &ev)
                     : rc;
    if (rc == VG_OK && ev.kind == VG_AUDIT_NETWORK_CHANGED) {
        ps->switch_to = ev.version;
    }
    vg_audit_event_fini(&ev);
    ps->rc = rc;
    return rc == VG_OK;
}

/* ---- the pass ------------------------------------------------------------------------------- */

vg_err
vgb_av_check_leaves(vgb_av_check *c)
{
    s_pass *ps = calloc(1, sizeof *ps);
    if (ps == NULL) {
        return VG_ERR_NOMEM;
    }
    ps->c = c;
    ps->cache = calloc(S_CACHE, sizeof *ps->cache);
    ps->cached = calloc(S_CACHE, sizeof *ps->cached);
    vg_err rc = ps->cache != NULL && ps->cached != NULL ? VG_OK : VG_ERR_NOMEM;
    rc = rc == VG_OK ? vgb_av_streams_new(&ps->streams, c) : rc;
    if (rc == VG_OK) {
        rc = vgb_store_audit_leaves(c->store, s_on_leaf, ps);
        rc = rc == VG_OK ? ps->rc : rc;
    }
    const vgb_rejection_row *left = rc == VG_OK ? s_next_rejection(ps, &rc) : NULL;
    if (rc == VG_OK && left != NULL) {
        char row[64];
        snprintf(row, sizeof row, "id=%llu", (unsigned long long)left->id);
        rc = vgb_av_fault(c, "rejections", row, VGB_AUDIT_NO_INDEX,
                          "no rejected leaf records this row");
    }
    rc = rc == VG_OK ? vgb_av_streams_finish(ps->streams) : rc;
    vgb_av_streams_destroy(&ps->streams);
    for (size_t i = 0; ps->cache != NULL && ps->cached != NULL && i < S_CACHE; i++) {
        if (ps->cached[i]) {
            vgb_av_life_fini(&ps->cache[i]);
        }
    }
    free(ps->cache);
    free(ps->cached);
    free(ps->aud);
    free(ps->rcpt_bytes);
    vgb_av_receipt_fini(&ps->rcpt);
    free(ps);
    return rc;
}
