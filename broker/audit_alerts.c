/* audit_alerts.c — the per-alert pass of audit verify (audit_state.h): for
 * each alerts row, in seq order, its signed envelope and accepted leaf, its
 * leaves found through the alert -> leaf index, its receipts with their
 * items and its shares, and its recipients rows against the state its
 * leaves replay to. Memory: one alert's rows at a time. */
#include "audit_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/wire.h"

#define S_SLICE 64 /* alerts rows read at a time */

/* A stored recipients row with its texts. */
typedef struct s_stored {
    vgb_rrow r;                    /* the row */
    char *officer, *note, *reason; /* malloc'ed */
} s_stored;

/* A receipt the alert is an item of. */
typedef struct s_rc {
    vgb_receipt_row row;               /* as stored (texts and bytes not kept) */
    char agency[VG_AGENCY_ID_MAX + 2]; /* its agency column (one more: too long shows) */
    vgb_av_receipt body;               /* its signed body, parsed */
    vg_err parsed;                     /* VG_OK, or why not */
    bool sig_ok;                       /* --signatures: it verifies */
    bool named;                        /* a leaf of the alert names it */
    uint64_t first_leaf;               /* the first such */
    int64_t first_leaf_ms;             /* its time */
    bool counted;                      /* the alert counts the receipt (once a receipt) */
} s_rc;

/* A share of the alert. */
typedef struct s_sh {
    vgb_share_row row; /* as stored (texts and bytes not kept) */
    char sharer[VG_AGENCY_ID_MAX + 2], to[VG_AGENCY_ID_MAX + 2]; /* its columns */
    vgb_av_share body;                                           /* its signed body, parsed */
    vg_err parsed;                                               /* VG_OK, or why not */
    bool sig_ok;                                                 /* --signatures: it verifies */
    bool named; /* a shared leaf of the alert names it */
} s_sh;

typedef struct s_link {
    uint64_t idx;        /* the leaf */
    uint64_t receipt_id; /* through this receipt's leaf_idx, or 0: audit_alert_leaves */
} s_link;

/* An alerts row as read, and everything of the alert being checked. */
typedef struct s_alert {
    vgb_alert_full a;                  /* the row (texts and bytes point below) */
    char sender[VG_AGENCY_ID_MAX + 2]; /* its sender column */
    char *categories;                  /* its categories column */
    vg_err env_rc;                     /* its envelope column parsed (env), or why not: */
    char env_why[VG_REASON_MAX];       /* ... */
    bool env_sig_ok;                   /* --signatures: its signature verifies */
    char name[64];                     /* "alert=<hex>" */
    vgb_av_envelope env;               /* the envelope, parsed (purged: a stand-in) */
    vgb_av_retain retain;              /* what its retention leaves say */
    vgb_av_life life;                  /* the replayed state, over the stored rows */
    s_stored *rows;                    /* the stored rows, as life.rows */
    size_t n_rows, cap_rows;           /* count, allocated */
    s_rc *rcs;                         /* its receipts */
    size_t n_rcs, cap_rcs;             /* count, allocated */
    s_sh *shs;                         /* its shares */
    size_t n_shs, cap_shs;             /* count, allocated */
    bool shs_read;                     /* read (at its first shared leaf: most have none;
                                          a share of an alert without one is counted) */
    s_link *links;                     /* its leaves, through the index */
    size_t n_links, cap_links;         /* count, allocated */
    int complete_rc;                   /* the receipt that completed it, -1 none */
    vg_err rc;                         /* a callback's failure */
    vgb_av_check *c;                   /* the check */
} s_alert;

/* p with room for n + 1 elements of size (reallocated as needed), or NULL
 * (p is still valid then). */
static void *
s_grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) {
        return p;
    }
    size_t want = *cap ? 2 * *cap : 8;
    void *grown = realloc(p, want * size);
    if (grown != NULL) {
        *cap = want;
    }
    return grown;
}

/* ---- reading the alert's rows --------------------------------------------------------- */

static void
s_take_rrow(void *ctx, const vgb_rrow *r, const char *officer, const char *note, const char *reason)
{
    s_alert *al = ctx;
    if (al->rc != VG_OK) {
        return;
    }
    void *g = s_grow(al->rows, &al->cap_rows, al->n_rows, sizeof *al->rows);
    if (g == NULL || vgb_av_life_add(&al->life, r) != VG_OK) {
        al->rc = VG_ERR_NOMEM;
        return;
    }
    al->rows = g;
    s_stored *s = &al->rows[al->n_rows++]; /* rows[i] is life.rows[i] as stored */
    *s = (s_stored){.r = *r,
                    .officer = vg_strdup(officer),
                    .note = vg_strdup(note),
                    .reason = vg_strdup(reason)};
    if (s->officer == NULL || s->note == NULL || s->reason == NULL) {
        al->rc = VG_ERR_NOMEM;
    }
}

static void
s_take_receipt(void *ctx, const vgb_receipt_row *r)
{
    s_alert *al = ctx;
    void *g = al->rc == VG_OK ? s_grow(al->rcs, &al->cap_rcs, al->n_rcs, sizeof *al->rcs) : NULL;
    if (g == NULL) {
        al->rc = al->rc != VG_OK ? al->rc : VG_ERR_NOMEM;
        return;
    }
    al->rcs = g;
    s_rc *x = &al->rcs[al->n_rcs++];
    *x = (s_rc){.row = *r, .parsed = VG_ERR_MALFORMED};
    x->row.bytes = NULL;
    x->row.agency = x->agency;
    if (!r->found) {
        return;
    }
    snprintf(x->agency, sizeof x->agency, "%s", r->agency);
    x->parsed = vgb_av_parse_receipt(&x->body, r->bytes, r->len, NULL);
    x->sig_ok =
        !al->c->p->signatures || vgb_av_signed(&al->c->docs, VGB_AV_RECEIPT, r->bytes, r->len);
}

static void
s_take_share(void *ctx, const vgb_share_row *r)
{
    s_alert *al = ctx;
    void *g = al->rc == VG_OK ? s_grow(al->shs, &al->cap_shs, al->n_shs, sizeof *al->shs) : NULL;
    if (g == NULL) {
        al->rc = al->rc != VG_OK ? al->rc : VG_ERR_NOMEM;
        return;
    }
    al->shs = g;
    s_sh *x = &al->shs[al->n_shs++];
    *x = (s_sh){.row = *r};
    snprintf(x->sharer, sizeof x->sharer, "%s", r->sharer);
    snprintf(x->to, sizeof x->to, "%s", r->to);
    x->row.sharer = x->sharer;
    x->row.to = x->to;
    x->row.bytes = NULL;
    x->parsed = vgb_av_parse_share(&x->body, r->bytes, r->len, NULL);
    x->sig_ok =
        !al->c->p->signatures || vgb_av_signed(&al->c->docs, VGB_AV_SHARE, r->bytes, r->len);
}

static void
s_take_link(void *ctx, uint64_t idx, uint64_t receipt_id)
{
    s_alert *al = ctx;
    void *g =
        al->rc == VG_OK ? s_grow(al->links, &al->cap_links, al->n_links, sizeof *al->links) : NULL;
    if (g == NULL) {
        al->rc = al->rc != VG_OK ? al->rc : VG_ERR_NOMEM;
        return;
    }
    al->links = g;
    al->links[al->n_links++] = (s_link){idx, receipt_id};
}

static vg_err
s_read_rows(s_alert *al)
{
    vgb_store *st = al->c->store;
    uint64_t seq = al->a.seq;
    vgb_av_life_init(&al->life, seq, al->a.id, al->sender);
    vg_err rc = vgb_store_recipients_of(st, seq, s_take_rrow, al);
    rc = rc == VG_OK ? al->rc : rc;
    rc = rc == VG_OK ? vgb_store_receipts_of(st, seq, s_take_receipt, al) : rc;
    rc = rc == VG_OK ? al->rc : rc;
    rc = rc == VG_OK ? vgb_store_alert_leaf_links(st, seq, s_take_link, al) : rc;
    return rc == VG_OK ? al->rc : rc;
}

static void
s_alert_fini(s_alert *al)
{
    for (size_t i = 0; i < al->n_rows; i++) {
        free(al->rows[i].officer);
        free(al->rows[i].note);
        free(al->rows[i].reason);
    }
    for (size_t i = 0; i < al->n_rcs; i++) {
        vgb_av_receipt_fini(&al->rcs[i].body);
    }
    free(al->rows);
    free(al->rcs);
    free(al->shs);
    free(al->links);
    free(al->categories);
    vgb_av_envelope_fini(&al->env);
    vgb_av_life_fini(&al->life);
}

/* ---- the alerts row and its envelope ---------------------------------------------------- */

static vg_err
s_fault_alert(s_alert *al, uint64_t leaf, const char *what)
{
    return vgb_av_fault(al->c, "alerts", al->name, leaf, "%s", what);
}

static vg_err
s_check_row(s_alert *al)
{
    const vgb_alert_full *a = &al->a;
    uint64_t leaf = al->n_links > 0 ? al->links[0].idx : VGB_AUDIT_NO_INDEX; /* its accepted */
    if (!a->id_ok || !a->hash_ok) {
        return s_fault_alert(al, leaf, "its alert_id or envelope_hash is no id");
    }
    if (al->env_rc != VG_OK) {
        return vgb_av_fault(al->c, "alerts", al->name, leaf,
                            "the stored envelope is not the signed envelope: %s", al->env_why);
    }
    const vgb_av_envelope *e = &al->env;
    char cats[VG_CATEGORIES_MAX * 64];
    vg_strlist_join(cats, sizeof cats, &e->categories, ",");
    const char *differs = memcmp(e->hash, a->envelope_hash, VG_HASH_LEN) != 0
                              ? "envelope (its body's hash)"
                          : memcmp(e->id, a->id, VG_ALERT_ID_LEN) != 0 ? "alert_id"
                          : strcmp(e->sender, a->sender) != 0          ? "sender"
                          : e->sequence != a->sender_seq               ? "sender_seq"
                          : e->created_ms != a->created_ms             ? "created_ms"
                          : e->status != a->status                     ? "status"
                          : e->msg_type != a->msg_type                 ? "msg_type"
                          : e->severity != a->severity                 ? "severity"
                          : e->urgency != a->urgency                   ? "urgency"
                          : strcmp(cats, a->categories) != 0           ? "categories"
                          : e->version != a->network_version           ? "network_version"
                                                                       : NULL;
    if (differs != NULL) {
        return vgb_av_fault(al->c, "alerts", al->name, leaf,
                            "column %s differs from the signed envelope stored with it "
                            "(whose body hash is envelope_hash)",
                            differs);
    }
    if (!al->env_sig_ok) {
        return s_fault_alert(al, leaf,
                             "the stored envelope's signature does not verify under any stored "
                             "network document");
    }
    return VG_OK;
}

/* ---- the leaves, replayed ------------------------------------------------------------- */

static s_rc *
s_rc_by_hash(s_alert *al, const uint8_t hash[VG_HASH_LEN])
{
    for (size_t i = 0; i < al->n_rcs; i++) {
        if (al->rcs[i].row.found && memcmp(al->rcs[i].row.hash, hash, VG_HASH_LEN) == 0) {
            return &al->rcs[i];
        }
    }
    return NULL;
}

static s_rc *
s_rc_by_id(s_alert *al, uint64_t id)
{
    for (size_t i = 0; i < al->n_rcs; i++) {
        if (al->rcs[i].row.id == id) {
            return &al->rcs[i];
        }
    }
    return NULL;
}

/* The stored kind of a receipt with this leaf kind (the wire's ReceiptKind). */
static int64_t
s_receipt_kind(vg_audit_kind k)
{
    return k == VG_AUDIT_DELIVERED      ? 1
           : k == VG_AUDIT_ACKNOWLEDGED ? 2
           : k == VG_AUDIT_IN_PROGRESS  ? 3
           : k == VG_AUDIT_DECLINED     ? 4
           : k == VG_AUDIT_UNOPENABLE   ? 5
                                        : 0;
}

static vg_err
s_row_missing(s_alert *al, const vg_audit_event *ev, const char *agency)
{
    char row[VGB_AUDIT_ROW_MAX];
    snprintf(row, sizeof row, "%s agency=%s", al->name, agency);
    return vgb_av_fault(al->c, "recipients", row, ev->index,
                        "the %s leaf names this recipient but there is no recipients row",
                        vg_audit_kind_name(ev->kind));
}

static vg_err
s_leaf_accepted(s_alert *al, const vg_audit_event *ev)
{
    const vgb_alert_full *a = &al->a;
    if (strcmp(ev->sender, a->sender) != 0 || memcmp(ev->hash, a->envelope_hash, VG_HASH_LEN) ||
        ev->version != a->network_version) {
        return s_fault_alert(al, ev->index,
                             "sender, envelope_hash or network_version differs from its "
                             "accepted leaf");
    }
    if (!vgb_av_near(a->accepted_ms, ev->time_ms)) {
        return s_fault_alert(al, ev->index, "accepted_ms is far from its accepted leaf's time");
    }
    for (size_t i = 0; a->envelope_len == 0 && i < ev->agencies.n; i++) { /* purged */
        if (vg_strlist_add(&al->env.recipients, ev->agencies.items[i]) != VG_OK) {
            return VG_ERR_NOMEM;
        }
    }
    for (size_t i = 0; i < ev->agencies.n; i++) {
        if (!vg_strlist_contains(&al->env.recipients, ev->agencies.items[i])) {
            return s_fault_alert(al, ev->index, "the envelope lacks a recipient the leaf lists");
        }
        if (vgb_av_life_row(&al->life, ev->agencies.items[i]) == NULL) {
            return s_row_missing(al, ev, ev->agencies.items[i]);
        }
    }
    if (ev->agencies.n != al->env.recipients.n) {
        return s_fault_alert(al, ev->index, "the envelope has recipients the leaf does not list");
    }
    return VG_OK;
}

static vg_err
s_leaf_shared(s_alert *al, const vg_audit_event *ev)
{
    if (!al->shs_read) {
        al->shs_read = true;
        vg_err rc = vgb_store_shares_of(al->c->store, al->a.seq, s_take_share, al);
        rc = rc == VG_OK ? al->rc : rc;
        if (rc != VG_OK) {
            return rc;
        }
    }
    const char *to = ev->agencies.n > 0 ? ev->agencies.items[0] : "";
    if (vgb_av_life_row(&al->life, to) == NULL) {
        return s_row_missing(al, ev, to);
    }
    for (size_t i = 0; i < al->n_shs; i++) {
        s_sh *x = &al->shs[i];
        if (x->row.hash_ok && memcmp(x->row.hash, ev->hash, VG_HASH_LEN) == 0) {
            char row[VGB_AUDIT_ROW_MAX];
            snprintf(row, sizeof row, "id=%llu %s", (unsigned long long)x->row.id, al->name);
            if (strcmp(x->sharer, ev->agency) != 0 || strcmp(x->to, to) != 0) {
                return vgb_av_fault(al->c, "shares", row, ev->index,
                                    "sharer or to_agency differs from its shared leaf");
            }
            if (!vgb_av_near(x->row.received_ms, ev->time_ms)) {
                return vgb_av_fault(al->c, "shares", row, ev->index,
                                    "received_ms is far from its shared leaf's time");
            }
            x->named = true;
            return VG_OK;
        }
    }
    return vgb_av_fault(al->c, "shares", al->name, ev->index,
                        "no shares row of this alert has the leaf's share_hash");
}

/* A receipt's leaf (delivered for this alert, or a person's): its receipt
 * is one this alert is an item of, of that kind and agency. */
static vg_err
s_leaf_receipt(s_alert *al, const vg_audit_event *ev, const vgb_av_effect *eff)
{
    s_rc *x = s_rc_by_hash(al, ev->hash);
    if (x == NULL) {
        return vgb_av_fault(al->c, "receipt_items", al->name, ev->index,
                            "the %s leaf's receipt is not an item of this alert (or no receipts "
                            "row has its receipt_hash)",
                            vg_audit_kind_name(ev->kind));
    }
    char row[VGB_AUDIT_ROW_MAX];
    snprintf(row, sizeof row, "id=%llu", (unsigned long long)x->row.id);
    if (x->row.kind != s_receipt_kind(ev->kind) || strcmp(x->agency, ev->agency) != 0) {
        return vgb_av_fault(al->c, "receipts", row, ev->index,
                            "kind or agency differs from the %s leaf that names it",
                            vg_audit_kind_name(ev->kind));
    }
    if (!x->named) {
        x->named = true;
        x->first_leaf = ev->index;
        x->first_leaf_ms = (int64_t)ev->time_ms;
    }
    vgb_av_row *r = eff->row;
    if (ev->kind == VG_AUDIT_DELIVERED || r == NULL || x->parsed != VG_OK) {
        return VG_OK; /* the receipt's own faults are found with the receipts */
    }
    int i = (int)(x - al->rcs);
    r->last_person = i;
    r->ack = ev->kind == VG_AUDIT_ACKNOWLEDGED ? i : r->ack;
    r->officer_from = x->body.officer[0] ? i : r->officer_from;
    r->note_from = x->body.note[0] ? i : r->note_from;
    r->reason_from = ev->kind == VG_AUDIT_UNOPENABLE || x->body.reason[0] ? i : r->reason_from;
    if (eff->completes) {
        al->complete_rc = i;
    }
    return VG_OK;
}

/* One leaf the index gives the alert: it names it (or is the first leaf of
 * a receipt whose later leaf does), then it is applied. */
static vg_err
s_leaf(s_alert *al, const s_link *lk, const vg_audit_event *ev)
{
    char row[VGB_AUDIT_ROW_MAX];
    if (lk->receipt_id != 0) {
        s_rc *x = s_rc_by_id(al, lk->receipt_id);
        if (x == NULL || ev->kind != VG_AUDIT_DELIVERED || !x->row.found ||
            memcmp(ev->hash, x->row.hash, VG_HASH_LEN) != 0) {
            snprintf(row, sizeof row, "id=%llu", (unsigned long long)lk->receipt_id);
            return vgb_av_fault(al->c, "receipts", row, lk->idx,
                                "its leaf_idx is not a delivered leaf of this receipt");
        }
        /* counted once: by the first alert its first leaf lists (all linked to it) */
        x->counted = ev->n_alerts > 0 && memcmp(ev->alerts[0], al->a.id, VG_ALERT_ID_LEN) == 0;
    }
    if (!vgb_av_names(ev, al->a.id)) {
        if (lk->receipt_id != 0) {
            return VG_OK; /* a resend recorded this alert in a later leaf: checked after */
        }
        snprintf(row, sizeof row, "%s leaf_idx=%llu", al->name, (unsigned long long)lk->idx);
        return vgb_av_fault(al->c, "audit_alert_leaves", row, lk->idx,
                            "the index links leaf %llu (%s) to this alert but it does not name it",
                            (unsigned long long)lk->idx, vg_audit_kind_name(ev->kind));
    }
    bool first = !al->life.accepted;
    if ((ev->kind == VG_AUDIT_ACCEPTED) != first) {
        return s_fault_alert(al, ev->index,
                             first ? "the first leaf the index gives it is not its accepted leaf"
                                   : "a second accepted leaf names it");
    }
    if (ev->kind == VG_AUDIT_PURGED || ev->kind == VG_AUDIT_HELD || ev->kind == VG_AUDIT_RELEASED) {
        return vgb_av_retain_leaf(al->c, &al->retain, al->name, al->a.envelope_hash, ev);
    }
    vgb_av_effect eff;
    vgb_av_life_apply(&al->life, ev, &eff);
    if (ev->kind == VG_AUDIT_ACCEPTED) {
        return s_leaf_accepted(al, ev);
    }
    if (ev->kind == VG_AUDIT_SHARED) {
        return s_leaf_shared(al, ev);
    }
    if (eff.row == NULL && ev->agency[0] != '\0') {
        return s_row_missing(al, ev, ev->agency);
    }
    if (ev->kind == VG_AUDIT_REASSIGNED && ev->target[0] != '\0' &&
        vgb_av_life_row(&al->life, ev->target) == NULL) {
        return s_row_missing(al, ev, ev->target); /* the successor inherits it */
    }
    return s_receipt_kind(ev->kind) != 0 ? s_leaf_receipt(al, ev, &eff) : VG_OK;
}

static vg_err
s_replay(s_alert *al)
{
    vg_err rc = VG_OK;
    for (size_t i = 0; i < al->n_links && rc == VG_OK; i++) {
        const s_link *lk = &al->links[i];
        if (i > 0 && al->links[i - 1].idx == lk->idx) {
            char row[VGB_AUDIT_ROW_MAX];
            snprintf(row, sizeof row, "%s leaf_idx=%llu", al->name, (unsigned long long)lk->idx);
            return vgb_av_fault(al->c, "audit_alert_leaves", row, lk->idx,
                                "leaf %llu is linked to this alert twice (directly and through "
                                "its receipt's leaf_idx)",
                                (unsigned long long)lk->idx);
        }
        vg_audit_event ev;
        rc = vgb_av_read_leaf(al->c, lk->idx, &ev,
                              lk->receipt_id ? "receipts" : "audit_alert_leaves", al->name);
        if (rc != VG_OK) {
            break;
        }
        rc = s_leaf(al, lk, &ev);
        if (rc == VG_OK && vgb_av_names(&ev, al->a.id)) {
            al->c->n_pairs_linked++;
        }
        vg_audit_event_fini(&ev);
    }
    if (rc == VG_OK && !al->life.accepted) {
        return s_fault_alert(al, VGB_AUDIT_NO_INDEX,
                             "no accepted leaf names it: the row was added outside the log");
    }
    return rc;
}

/* ---- its receipts and shares ---------------------------------------------------------- */

static bool
s_items_name(const vgb_av_receipt *r, const uint8_t id[VG_ALERT_ID_LEN],
             const uint8_t env_hash[VG_HASH_LEN])
{
    for (size_t i = 0; i < r->n_items; i++) {
        if (memcmp(r->ids[i], id, VG_ALERT_ID_LEN) == 0) {
            return memcmp(r->env_hashes[i], env_hash, VG_HASH_LEN) == 0;
        }
    }
    return false;
}

/* The receipts row against its signed body, and against its leaves. */
static vg_err
s_check_receipt(s_alert *al, s_rc *x)
{
    char row[VGB_AUDIT_ROW_MAX];
    snprintf(row, sizeof row, "id=%llu", (unsigned long long)x->row.id);
    if (!x->row.found) {
        snprintf(row, sizeof row, "%s receipt_id=%llu", al->name, (unsigned long long)x->row.id);
        return vgb_av_fault(al->c, "receipt_items", row, VGB_AUDIT_NO_INDEX,
                            "the item names no receipts row");
    }
    const vgb_av_receipt *b = &x->body;
    const char *differs = x->parsed != VG_OK || !x->row.hash_ok ? "receipt (it does not parse)"
                          : memcmp(b->hash, x->row.hash, VG_HASH_LEN)
                              ? "receipt (its body's hash is not receipt_hash)"
                          : strcmp(b->agency, x->agency) != 0  ? "agency"
                          : b->kind != x->row.kind             ? "kind"
                          : b->created_ms != x->row.created_ms ? "created_ms"
                          : !s_items_name(b, al->a.id, al->a.envelope_hash)
                              ? "receipt (no item names this "
                                "alert's envelope)"
                          : !x->sig_ok ? "receipt (its signature does not verify)"
                                       : NULL;
    if (differs != NULL) {
        return vgb_av_fault(al->c, "receipts", row, x->named ? x->first_leaf : VGB_AUDIT_NO_INDEX,
                            "column %s differs from the signed receipt stored with it", differs);
    }
    if (!x->named) {
        snprintf(row, sizeof row, "%s receipt_id=%llu", al->name, (unsigned long long)x->row.id);
        return vgb_av_fault(al->c, "receipt_items", row, VGB_AUDIT_NO_INDEX,
                            "no leaf of this alert names the receipt it links");
    }
    bool delivered = x->row.kind == 1;
    if (delivered != x->row.has_leaf || (delivered && x->row.leaf_idx > x->first_leaf)) {
        return vgb_av_fault(al->c, "receipts", row, x->first_leaf,
                            delivered ? "leaf_idx is not its first delivered leaf"
                                      : "leaf_idx is set on a receipt that is not DELIVERED");
    }
    if (!vgb_av_near(x->row.received_ms, (uint64_t)x->first_leaf_ms)) {
        return vgb_av_fault(al->c, "receipts", row, x->first_leaf,
                            "received_ms is far from its leaf's time");
    }
    al->c->n_receipts += delivered ? x->counted : 1; /* a person's receipt has one item */
    return VG_OK;
}

static vg_err
s_check_share(s_alert *al, const s_sh *x)
{
    char row[VGB_AUDIT_ROW_MAX];
    snprintf(row, sizeof row, "id=%llu %s", (unsigned long long)x->row.id, al->name);
    const vgb_av_share *b = &x->body;
    bool purged = x->row.len == 0 && al->retain.content_leaf != VGB_AUDIT_NO_INDEX;
    const char *differs =
        purged                                      ? NULL /* its shared leaf holds its hash */
        : x->parsed != VG_OK || !x->row.hash_ok     ? "share (it does not parse)"
        : memcmp(b->hash, x->row.hash, VG_HASH_LEN) ? "share (its body's hash is not share_hash)"
        : memcmp(b->id, al->a.id, VG_ALERT_ID_LEN)  ? "alert_seq (the share is of another alert)"
        : memcmp(b->env_hash, al->a.envelope_hash, VG_HASH_LEN) ? "share (another envelope)"
        : strcmp(b->sharer, x->sharer) != 0                     ? "sharer"
        : strcmp(b->to, x->to) != 0                             ? "to_agency"
        : !x->sig_ok ? "share (its signature does not verify)"
                     : NULL;
    if (differs != NULL) {
        return vgb_av_fault(al->c, "shares", row, VGB_AUDIT_NO_INDEX,
                            "column %s differs from the signed share stored with it", differs);
    }
    if (!x->named) {
        return vgb_av_fault(al->c, "shares", row, VGB_AUDIT_NO_INDEX,
                            "no shared leaf of this alert records it");
    }
    return VG_OK;
}

/* ---- its recipients rows ------------------------------------------------------------------ */

static const char *
s_text_of(const s_alert *al, int from, int which)
{
    if (from < 0) {
        return "";
    }
    const vgb_av_receipt *b = &al->rcs[from].body;
    return which == 0 ? b->officer : which == 1 ? b->note : b->reason;
}

/* What differs between the stored row s and the replayed row r, or NULL. */
static const char *
s_row_differs(const s_alert *al, const s_stored *s, const vgb_av_row *r, char *buf, size_t len)
{
    const vgb_rrow *st = &s->r;
    int64_t state_ms = r->last_person >= 0 ? al->rcs[r->last_person].row.received_ms : 0;
    int64_t acked_ms = r->ack >= 0 ? al->rcs[r->ack].row.received_ms : 0;
    const char *reason = s_text_of(al, r->reason_from, 2);
    if (r->reason_from >= 0 && al->rcs[r->reason_from].row.kind == 5) {
        vgb_av_unopenable_text(buf, len, &al->rcs[r->reason_from].body);
        reason = buf;
    }
    return !r->present ? "the row (no leaf adds it)"
           : (st->shared_by[0] != '\0') != (r->sharer[0] != '\0') ||
                   strcmp(st->shared_by, r->sharer) != 0
               ? "shared_by"
           : r->shared && !st->required              ? "required"
           : st->state != r->state                   ? "state"
           : (st->delivered_ms != 0) != r->delivered ? "delivered_ms"
           : r->delivered && !vgb_av_near(st->delivered_ms, (uint64_t)r->delivered_leaf_ms)
               ? "delivered_ms (far from its delivered leaf's time)"
           : st->state_ms != state_ms                                   ? "state_ms"
           : st->acked_ms != acked_ms                                   ? "acked_ms"
           : strcmp(s->officer, s_text_of(al, r->officer_from, 0)) != 0 ? "officer"
           : strcmp(s->note, s_text_of(al, r->note_from, 1)) != 0       ? "note"
           : strcmp(s->reason, reason) != 0                             ? "reason"
           : st->progress_used != r->progress_used                      ? "progress_used"
           : st->esc_level != r->esc_level                              ? "esc_level"
           : (st->overdue_ms != 0) != r->stepped                        ? "overdue_ms"
           : r->stepped && !vgb_av_near(st->overdue_ms, (uint64_t)r->first_step_ms)
               ? "overdue_ms (far from its first overdue leaf's time)"
           : (st->deadline_ms > 0) != st->required ? "deadline_ms"
                                                   : NULL;
}

static vg_err
s_check_rows(s_alert *al)
{
    uint64_t accepted = al->n_links > 0 ? al->links[0].idx : VGB_AUDIT_NO_INDEX;
    vg_err rc = vgb_av_check_required(al->c, &al->env, &al->life, al->name, accepted);
    for (size_t i = 0; i < al->n_rows && rc == VG_OK; i++) {
        const vgb_av_row *r = &al->life.rows[i];
        char buf[VG_SHORT_TEXT_MAX + 64];
        const char *what = s_row_differs(al, &al->rows[i], r, buf, sizeof buf);
        if (what != NULL) {
            char row[VGB_AUDIT_ROW_MAX];
            snprintf(row, sizeof row, "%s agency=%s", al->name, r->agency);
            return vgb_av_fault(al->c, "recipients", row,
                                r->present ? r->last_leaf : VGB_AUDIT_NO_INDEX,
                                "column %s differs from what its leaves record", what);
        }
    }
    int64_t complete = al->complete_rc >= 0 ? al->rcs[al->complete_rc].row.received_ms : 0;
    if (rc == VG_OK && al->a.complete_ms != complete) {
        rc = s_fault_alert(al, al->life.complete ? al->life.complete_leaf : VGB_AUDIT_NO_INDEX,
                           "complete_ms is not the time of the acknowledgement that completed it");
    }
    return rc;
}

/* ---- one alert ------------------------------------------------------------------------- */

static vg_err
s_check_tags(s_alert *al)
{
    uint64_t *leaves = calloc(al->n_links ? al->n_links : 1, sizeof *leaves);
    if (leaves == NULL) {
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < al->n_links; i++) {
        leaves[i] = al->links[i].idx;
    }
    vg_err rc =
        vgb_av_check_tags(al->c, al->a.seq, &al->env, al->name, leaves, al->n_links, &al->retain);
    free(leaves);
    return rc;
}

static vg_err
s_check_alert(s_alert *al)
{
    vg_err rc = s_read_rows(al);
    rc = rc == VG_OK ? s_check_row(al) : rc;
    if (rc != VG_OK) {
        return rc;
    }
    al->complete_rc = -1;
    rc = s_replay(al);
    rc = rc == VG_OK ? vgb_av_retain_check(al->c, &al->retain, &al->a, al->name) : rc;
    for (size_t i = 0; i < al->n_rcs && rc == VG_OK; i++) {
        rc = s_check_receipt(al, &al->rcs[i]);
    }
    for (size_t i = 0; i < al->n_shs && rc == VG_OK; i++) {
        rc = s_check_share(al, &al->shs[i]);
    }
    rc = rc == VG_OK ? s_check_rows(al) : rc;
    rc = rc == VG_OK ? s_check_tags(al) : rc;
    if (rc == VG_ERR_CONFLICT) { /* a leaf the index lost explains it better */
        vg_err lost = vgb_av_find_unlinked(al->c, al->a.seq, al->a.id);
        rc = lost != VG_OK ? lost : rc;
    }
    vgb_av_check *c = al->c;
    c->n_alerts++;
    c->n_recipients += al->n_rows;
    c->n_items += al->n_rcs;
    c->n_shares += al->n_shs;
    for (size_t i = 0; i < al->n_links; i++) {
        c->n_direct_links += al->links[i].receipt_id == 0;
    }
    return rc;
}

/* ---- the pass -------------------------------------------------------------------------- */

typedef struct s_slice {
    vgb_av_check *c; /* the check */
    s_alert *al;     /* S_SLICE of them */
    size_t n;        /* read */
    vg_err rc;       /* no memory */
} s_slice;

/* Keeps the row and its envelope parsed (not its bytes: up to 960 KiB each). */
static void
s_take_alert(void *ctx, const vgb_alert_full *a)
{
    s_slice *sl = ctx;
    s_alert *al = &sl->al[sl->n];
    memset(al, 0, sizeof *al);
    al->a = *a;
    snprintf(al->sender, sizeof al->sender, "%s", a->sender);
    al->categories = vg_strdup(a->categories);
    if (al->categories == NULL) {
        sl->rc = VG_ERR_NOMEM;
        return;
    }
    al->a.sender = al->sender;
    al->a.categories = al->categories;
    al->a.envelope = NULL;
    vg_reason why = {{0}};
    vgb_av_retain_init(&al->retain);
    if (a->envelope_len == 0) { /* purged, or missing: its leaves say which */
        al->env_rc = vgb_av_retain_stand_in(&al->env, a);
        al->env_sig_ok = true;
        sl->rc = al->env_rc == VG_ERR_NOMEM ? VG_ERR_NOMEM : sl->rc;
    } else {
        al->env_rc = vgb_av_parse_envelope(&al->env, a->envelope, a->envelope_len, &why);
        al->env_sig_ok = !sl->c->p->signatures ||
                         vgb_av_signed(&sl->c->docs, VGB_AV_ENVELOPE, a->envelope, a->envelope_len);
    }
    snprintf(al->env_why, sizeof al->env_why, "%s", why.text);
    vgb_av_alert_name(al->name, sizeof al->name, a->id);
    sl->n++;
}

vg_err
vgb_av_check_alerts(vgb_av_check *c)
{
    s_slice sl = {.c = c, .al = calloc(S_SLICE, sizeof(s_alert))};
    if (sl.al == NULL) {
        return VG_ERR_NOMEM;
    }
    vg_err rc = VG_OK;
    uint64_t after = 0;
    do {
        sl.n = 0;
        rc = vgb_store_alerts_after(c->store, after, S_SLICE, s_take_alert, &sl);
        rc = rc == VG_OK ? sl.rc : rc;
        for (size_t i = 0; i < sl.n; i++) {
            sl.al[i].c = c;
            if (rc == VG_OK) {
                rc = s_check_alert(&sl.al[i]);
            }
            after = sl.al[i].a.seq;
            s_alert_fini(&sl.al[i]);
        }
    } while (rc == VG_OK && sl.n == S_SLICE);
    free(sl.al);
    return rc;
}
