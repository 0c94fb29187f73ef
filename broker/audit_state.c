/* audit_state.c — every row of the store against the leaves that record
 * it (audit.h, vgb_audit_check_state): the network documents and meta,
 * then the per-alert pass (audit_alerts.c), the leaf pass (audit_leaves.c,
 * audit_stream.c) and the tables' row counts. Reads only, through the
 * store interface. */
#include "audit_state.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/wire.h"

/* ---- what the files share ----------------------------------------------------------- */

vg_err
vgb_av_fault(vgb_av_check *c, const char *table, const char *row, uint64_t leaf, const char *fmt,
             ...)
{
    vgb_audit_report *rep = c->rep;
    rep->fault = VGB_AUDIT_FAULT_STATE;
    rep->table = table;
    rep->first_bad_index = leaf;
    snprintf(rep->row, sizeof rep->row, "%s", row != NULL ? row : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->detail, sizeof rep->detail, fmt, ap);
    va_end(ap);
    return VG_ERR_CONFLICT;
}

void
vgb_av_alert_name(char *out, size_t len, const uint8_t id[VG_ALERT_ID_LEN])
{
    char hex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(hex, id);
    snprintf(out, len, "alert=%s", hex);
}

bool
vgb_av_near(int64_t row_ms, uint64_t leaf_ms)
{
    int64_t d = row_ms - (int64_t)leaf_ms;
    return d >= -VGB_AUDIT_CLOCK_SLACK_MS && d <= VGB_AUDIT_CLOCK_SLACK_MS;
}

const vg_netdoc *
vgb_av_doc(const vgb_av_docs *d, uint64_t version)
{
    for (size_t i = 0; i < d->n; i++) {
        if (vg_netdoc_version(d->doc[i]) == version) {
            return d->doc[i];
        }
    }
    return NULL;
}

vg_err
vgb_av_read_leaf(vgb_av_check *c, uint64_t idx, vg_audit_event *ev, const char *table,
                 const char *row)
{
    uint8_t *leaf = NULL;
    size_t len = 0;
    vg_err rc = vgb_store_audit_leaf(c->store, idx, &leaf, &len);
    if (rc == VG_ERR_NOT_FOUND) {
        return vgb_av_fault(c, table, row, idx, "links to leaf %llu, past the end of the log",
                            (unsigned long long)idx);
    }
    if (rc == VG_OK && vg_audit_leaf_parse(ev, leaf, len, NULL) != VG_OK) {
        rc = vgb_av_fault(c, "audit_leaves", NULL, idx, "leaf does not parse");
    }
    free(leaf);
    return rc;
}

/* ---- the network documents ------------------------------------------------------------ */

typedef struct s_docs_ctx {
    vgb_av_check *c; /* the check */
    vg_err rc;       /* the first fault or failure */
} s_docs_ctx;

static void
s_take_doc(void *ctx, uint64_t version, const uint8_t *bytes, size_t len)
{
    s_docs_ctx *d = ctx;
    vgb_av_check *c = d->c;
    if (d->rc != VG_OK) {
        return;
    }
    char row[64];
    snprintf(row, sizeof row, "version=%llu", (unsigned long long)version);
    vg_netdoc *doc = NULL;
    vg_reason why = {{0}};
    if (vg_netdoc_verify(&doc, bytes, len, c->p->admin_pk, 0, &why) != VG_OK) {
        d->rc = vgb_av_fault(c, "network_documents", row, VGB_AUDIT_NO_INDEX,
                             "the document does not verify under the administrator's key: %s",
                             why.text);
        return;
    }
    if (vg_netdoc_version(doc) != version) {
        vg_netdoc_destroy(&doc);
        d->rc = vgb_av_fault(c, "network_documents", row, VGB_AUDIT_NO_INDEX,
                             "the row's version is not its document's");
        return;
    }
    vg_netdoc **grown = realloc(c->docs.doc, (c->docs.n + 1) * sizeof *grown);
    if (grown == NULL) {
        vg_netdoc_destroy(&doc);
        d->rc = VG_ERR_NOMEM;
        return;
    }
    c->docs.doc = grown;
    c->docs.doc[c->docs.n++] = doc; /* in version order: the store reads them so */
}

/* Every stored document verifies; meta's network_version is the newest
 * (or, after a crash between the two commits of a start on a newer
 * document, the document the broker is served). */
static vg_err
s_check_docs(vgb_av_check *c)
{
    s_docs_ctx d = {c, VG_OK};
    vg_err rc = vgb_store_network_documents(c->store, s_take_doc, &d);
    rc = rc == VG_OK ? d.rc : rc;
    uint64_t meta = 0;
    rc = rc == VG_OK ? vgb_store_network_version(c->store, &meta) : rc;
    if (rc != VG_OK) {
        return rc;
    }
    uint64_t newest = c->docs.n > 0 ? vg_netdoc_version(c->docs.doc[c->docs.n - 1]) : 0;
    if (meta != newest && !(meta > newest && meta == c->p->current_version)) {
        return vgb_av_fault(c, "meta", "key=network_version", VGB_AUDIT_NO_INDEX,
                            "the highest document version served is %llu, but the newest the "
                            "store holds is %llu",
                            (unsigned long long)meta, (unsigned long long)newest);
    }
    return VG_OK;
}

/* ---- leaves the index lost ------------------------------------------------------------- */

typedef struct s_lost {
    vgb_av_check *c;         /* the check */
    const uint8_t *id;       /* the alert (NULL: any) */
    uint64_t seq;            /* its seq */
    uint64_t *idx;           /* its linked leaves, ascending */
    size_t n, cap;           /* count, allocated */
    bool has_receipt;        /* the lost leaf's receipt row: */
    vgb_receipt_row receipt; /* (its id and leaf_idx) */
    vg_err rc;               /* the fault, or a failure */
} s_lost;

static void
s_take_link(void *ctx, uint64_t idx, uint64_t receipt_id)
{
    (void)receipt_id;
    s_lost *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        uint64_t *grown = realloc(l->idx, cap * sizeof *grown);
        if (grown == NULL) {
            l->rc = VG_ERR_NOMEM;
            return;
        }
        l->idx = grown;
        l->cap = cap;
    }
    l->idx[l->n++] = idx;
}

static bool
s_linked(const s_lost *l, uint64_t idx)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->idx[i] == idx) {
            return true;
        }
    }
    return false;
}

static void
s_take_receipt(void *ctx, const vgb_receipt_row *r)
{
    s_lost *l = ctx;
    l->receipt = *r;
    l->receipt.agency = NULL;
    l->receipt.bytes = NULL;
}

/* Leaf ev names the alert but the index does not give it: which table
 * lost the link (a delivered leaf's is its receipt's leaf_idx and item). */
static vg_err
s_lost_fault(s_lost *l, const vg_audit_event *ev)
{
    char row[VGB_AUDIT_ROW_MAX], name[64];
    vgb_av_alert_name(name, sizeof name, l->id);
    snprintf(row, sizeof row, "%s leaf_idx=%llu", name, (unsigned long long)ev->index);
    const char *table = "audit_alert_leaves";
    bool found = false;
    if (ev->kind == VG_AUDIT_DELIVERED) {
        vg_err rc = vgb_store_receipt_by_hash(l->c->store, ev->hash, s_take_receipt, l, &found);
        if (rc != VG_OK) {
            return rc;
        }
        bool first = found && l->receipt.has_leaf && l->receipt.leaf_idx == ev->index;
        bool direct = found && !first && l->receipt.has_leaf && l->receipt.leaf_idx < ev->index;
        if (direct) { /* a resend's leaf, if the receipt's leaf_idx is its first leaf */
            vg_audit_event at;
            rc = vgb_av_read_leaf(l->c, l->receipt.leaf_idx, &at, "receipts", NULL);
            if (rc != VG_OK) {
                return rc;
            }
            direct = at.kind == VG_AUDIT_DELIVERED && memcmp(at.hash, ev->hash, VG_HASH_LEN) == 0;
            vg_audit_event_fini(&at);
        }
        table = !found ? "receipts" : first ? "receipt_items" : direct ? table : "receipts";
        if (found && !direct) {
            snprintf(row, sizeof row, "%s receipt_id=%llu", name,
                     (unsigned long long)l->receipt.id);
        }
    }
    return vgb_av_fault(l->c, table, row, ev->index,
                        "the %s leaf names this alert but the alert -> leaf index does not link "
                        "it (through audit_alert_leaves, or its receipt's leaf_idx and item)",
                        vg_audit_kind_name(ev->kind));
}

static bool
s_on_leaf(void *ctx, uint64_t idx, const uint8_t *leaf, size_t len, const uint8_t *hash,
          bool hash_ok)
{
    (void)hash, (void)hash_ok;
    s_lost *l = ctx;
    vg_audit_event ev;
    if (vg_audit_leaf_parse(&ev, leaf, len, NULL) != VG_OK) {
        return true; /* vgb_audit_verify says so */
    }
    ev.index = idx;
    if (vgb_av_names(&ev, l->id) && !s_linked(l, idx)) {
        l->rc = s_lost_fault(l, &ev);
    }
    vg_audit_event_fini(&ev);
    return l->rc == VG_OK;
}

vg_err
vgb_av_find_unlinked(vgb_av_check *c, uint64_t seq, const uint8_t id[VG_ALERT_ID_LEN])
{
    s_lost l = {.c = c, .id = id, .seq = seq};
    vg_err rc = vgb_store_alert_leaf_links(c->store, seq, s_take_link, &l);
    rc = rc == VG_OK ? l.rc : rc;
    rc = rc == VG_OK ? vgb_store_audit_leaves(c->store, s_on_leaf, &l) : rc;
    rc = rc == VG_OK ? l.rc : rc;
    free(l.idx);
    return rc;
}

/* The first (alert, leaf naming it) pair the index does not give, over
 * every alert: when the counts say one is missing. */
static bool
s_on_any_leaf(void *ctx, uint64_t idx, const uint8_t *leaf, size_t len, const uint8_t *hash,
              bool hash_ok)
{
    (void)hash, (void)hash_ok;
    s_lost *l = ctx;
    vg_audit_event ev;
    if (vg_audit_leaf_parse(&ev, leaf, len, NULL) != VG_OK) {
        return true;
    }
    ev.index = idx;
    size_t n = ev.kind == VG_AUDIT_DELIVERED ? ev.n_alerts : ev.has_alert_id ? 1 : 0;
    for (size_t i = 0; i < n && ev.kind != VG_AUDIT_REJECTED && l->rc == VG_OK; i++) {
        const uint8_t *id = ev.kind == VG_AUDIT_DELIVERED ? ev.alerts[i] : ev.alert_id;
        vgb_alert_meta m;
        uint8_t h[VG_HASH_LEN];
        uint64_t version = 0;
        l->n = 0;
        l->id = id;
        l->rc = vgb_store_alert_by_id(l->c->store, id, &m, h, &version);
        l->rc =
            l->rc == VG_OK ? vgb_store_alert_leaf_links(l->c->store, m.seq, s_take_link, l) : l->rc;
        if (l->rc == VG_OK && !s_linked(l, idx)) {
            l->rc = s_lost_fault(l, &ev);
        }
    }
    vg_audit_event_fini(&ev);
    return l->rc == VG_OK;
}

/* ---- the tables' row counts ------------------------------------------------------------- */

static vg_err
s_count(vgb_av_check *c, vgb_count_what what, const char *table, uint64_t want, const char *whose)
{
    uint64_t n = 0;
    vg_err rc = vgb_store_count(c->store, what, NULL, &n);
    if (rc == VG_OK && n != want) {
        return vgb_av_fault(c, table, NULL, VGB_AUDIT_NO_INDEX,
                            "the table holds %llu rows but the log accounts for %llu (%s): %s",
                            (unsigned long long)n, (unsigned long long)want, whose,
                            n > want ? "rows were added outside the log" : "rows are missing");
    }
    return rc;
}

/* Rows no leaf records: each table holds exactly the rows the passes
 * matched with leaves. */
static vg_err
s_check_counts(vgb_av_check *c)
{
    vg_err rc = VG_OK;
    if (c->n_pairs_named != c->n_pairs_linked) {
        s_lost l = {.c = c};
        rc = vgb_store_audit_leaves(c->store, s_on_any_leaf, &l);
        rc = rc == VG_OK ? l.rc : rc;
        free(l.idx);
        if (rc == VG_OK) { /* more links than leaves name: a per-alert fault said so already */
            rc = vgb_av_fault(c, "audit_alert_leaves", NULL, VGB_AUDIT_NO_INDEX,
                              "the index gives %llu (alert, leaf) pairs, the leaves name %llu",
                              (unsigned long long)c->n_pairs_linked,
                              (unsigned long long)c->n_pairs_named);
        }
    }
    rc =
        rc == VG_OK ? s_count(c, VGB_COUNT_ALERTS, "alerts", c->n_accepted, "accepted leaves") : rc;
    rc = rc == VG_OK ? s_count(c, VGB_COUNT_RECIPIENTS, "recipients", c->n_recipients,
                               "recipients of the alerts")
                     : rc;
    rc = rc == VG_OK ? s_count(c, VGB_COUNT_RECEIPT_ITEMS, "receipt_items", c->n_items,
                               "items of the alerts' receipts")
                     : rc;
    rc = rc == VG_OK ? s_count(c, VGB_COUNT_RECEIPTS, "receipts", c->n_receipts,
                               "receipts the alerts' leaves name")
                     : rc;
    rc = rc == VG_OK ? s_count(c, VGB_COUNT_SHARES, "shares", c->n_shares, "shared leaves") : rc;
    rc = rc == VG_OK ? s_count(c, VGB_COUNT_LEAF_LINKS, "audit_alert_leaves", c->n_direct_links,
                               "links of the alerts")
                     : rc;
    rc = rc == VG_OK ? s_count(c, VGB_COUNT_LINK_TAGS, "link_tags", c->n_link_tags,
                               "the link tags of the alerts' signed envelopes")
                     : rc;
    rc = rc == VG_OK ? s_count(c, VGB_COUNT_EVENTS, "events", c->n_events,
                               "events the facts wrote to the streams of the documents' agencies")
                     : rc;
    rc = rc == VG_OK ? s_count(c, VGB_COUNT_EVENT_RUNS, "events", c->n_event_rows,
                               "rows holding those events")
                     : rc;
    return rc;
}

/* ---- the check ---------------------------------------------------------------------------- */

vg_err
vgb_audit_check_state(vgb_store *store, const vgb_audit_state_params *p, vgb_audit_report *report,
                      vg_reason *why)
{
    if (store == NULL || p == NULL || p->admin_pk == NULL || report == NULL) {
        return vg_reason_set(why, VG_ERR_INVALID, "audit check: missing parameters");
    }
    memset(report, 0, sizeof *report);
    report->first_bad_index = VGB_AUDIT_NO_INDEX;
    vgb_av_check c = {.store = store, .p = p, .rep = report};
    vg_err rc = s_check_docs(&c);
    rc = rc == VG_OK ? vgb_store_audit_size(store, &c.n_leaves) : rc;
    rc = rc == VG_OK ? vgb_av_check_alerts(&c) : rc;
    rc = rc == VG_OK ? vgb_av_check_leaves(&c) : rc;
    rc = rc == VG_OK ? s_check_counts(&c) : rc;
    rc = rc == VG_OK ? vgb_av_retain_counts(&c) : rc;
    for (size_t i = 0; i < c.docs.n; i++) {
        vg_netdoc_destroy(&c.docs.doc[i]);
    }
    free(c.docs.doc);
    if (rc == VG_ERR_CONFLICT) {
        return vg_reason_set(why, rc, "audit log: table %s%s%s: %s", report->table,
                             report->row[0] ? " " : "", report->row, report->detail);
    }
    return rc == VG_OK ? VG_OK
                       : vg_reason_set(why, rc, "cannot read the store: %s", vg_strerror(rc));
}
