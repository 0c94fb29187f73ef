/* store_sqlite_verify.c — what audit verify reads from the SQLite back end:
 * every row as stored, in key order, through an index (see store.h, "what
 * audit verify reads"). Reads only. */
#include <stdlib.h>
#include <string.h>

#include "store_sqlite.h"

static const char *
s_ctext(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : "";
}

/* Copies a blob column of exactly len bytes; false (out zeroed) otherwise. */
static bool
s_fixed(sqlite3_stmt *st, int col, uint8_t *out, size_t len)
{
    if (sqlite3_column_type(st, col) != SQLITE_BLOB ||
        (size_t)sqlite3_column_bytes(st, col) != len) {
        memset(out, 0, len);
        return false;
    }
    memcpy(out, sqlite3_column_blob(st, col), len);
    return true;
}

/* Steps st to the end, calling row(st, ctx) for each row. */
static vg_err
s_each(vgb_sqlite *s, sqlite3_stmt *st, void (*row)(sqlite3_stmt *, void *), void *ctx,
       const char *what)
{
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row(st, ctx);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail(s, rc, what);
}

/* ---- alerts -------------------------------------------------------------------- */

typedef struct s_alert_ctx {
    vgb_alert_full_fn fn;
    void *ctx;
} s_alert_ctx;

static void
s_alert_row(sqlite3_stmt *st, void *ctx)
{
    s_alert_ctx *c = ctx;
    vgb_alert_full a = {
        .seq = (uint64_t)sqlite3_column_int64(st, 0),
        .sender = s_ctext(st, 2),
        .sender_seq = (uint64_t)sqlite3_column_int64(st, 3),
        .created_ms = sqlite3_column_int64(st, 4),
        .accepted_ms = sqlite3_column_int64(st, 5),
        .status = sqlite3_column_int64(st, 6),
        .msg_type = sqlite3_column_int64(st, 7),
        .severity = sqlite3_column_int64(st, 8),
        .urgency = sqlite3_column_int64(st, 9),
        .categories = s_ctext(st, 10),
        .network_version = (uint64_t)sqlite3_column_int64(st, 11),
        .complete_ms = sqlite3_column_int64(st, 14),
    };
    a.id_ok = s_fixed(st, 1, a.id, VG_ALERT_ID_LEN);
    a.hash_ok = s_fixed(st, 12, a.envelope_hash, VG_HASH_LEN);
    a.envelope = sqlite3_column_blob(st, 13);
    a.envelope_len = (size_t)sqlite3_column_bytes(st, 13);
    c->fn(c->ctx, &a);
}

vg_err
vgb_sqlite_alerts_after(vgb_store *base, uint64_t after_seq, size_t limit, vgb_alert_full_fn fn,
                        void *ctx)
{
    static const char sql[] =
        "SELECT seq, alert_id, sender, sender_seq, created_ms, accepted_ms, status, msg_type,"
        " severity, urgency, categories, network_version, envelope_hash, envelope,"
        " coalesce(complete_ms, 0) FROM alerts WHERE seq > ?1 ORDER BY seq LIMIT ?2";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)after_seq);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
    }
    s_alert_ctx c = {fn, ctx};
    return s_each(s, st, s_alert_row, &c, "read alerts");
}

/* ---- receipts ------------------------------------------------------------------ */

typedef struct s_receipt_ctx {
    vgb_receipt_row_fn fn;
    void *ctx;
    bool found;
} s_receipt_ctx;

/* Columns: receipt id (from the item), then the receipts row (NULL when
 * the item names none). */
#define S_RECEIPT_COLS                                                                             \
    "r.agency, r.kind, r.created_ms, r.received_ms, r.receipt_hash, r.receipt, r.leaf_idx, r.id"

static void
s_receipt_row(sqlite3_stmt *st, void *ctx)
{
    s_receipt_ctx *c = ctx;
    vgb_receipt_row r = {.id = (uint64_t)sqlite3_column_int64(st, 0),
                         .found = sqlite3_column_type(st, 8) != SQLITE_NULL};
    if (r.found) {
        r.agency = s_ctext(st, 1);
        r.kind = sqlite3_column_int64(st, 2);
        r.created_ms = sqlite3_column_int64(st, 3);
        r.received_ms = sqlite3_column_int64(st, 4);
        r.hash_ok = s_fixed(st, 5, r.hash, VG_HASH_LEN);
        r.bytes = sqlite3_column_blob(st, 6);
        r.len = (size_t)sqlite3_column_bytes(st, 6);
        r.has_leaf = sqlite3_column_type(st, 7) != SQLITE_NULL;
        r.leaf_idx = r.has_leaf ? (uint64_t)sqlite3_column_int64(st, 7) : 0;
    }
    c->found = true;
    c->fn(c->ctx, &r);
}

vg_err
vgb_sqlite_receipts_of(vgb_store *base, uint64_t seq, vgb_receipt_row_fn fn, void *ctx)
{
    static const char sql[] = "SELECT i.receipt_id, " S_RECEIPT_COLS " FROM receipt_items i"
                              " LEFT JOIN receipts r ON r.id = i.receipt_id"
                              " WHERE i.alert_seq = ?1 ORDER BY i.receipt_id";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    }
    s_receipt_ctx c = {fn, ctx, false};
    return s_each(s, st, s_receipt_row, &c, "read receipts of an alert");
}

vg_err
vgb_sqlite_receipt_by_hash(vgb_store *base, const uint8_t hash[VG_HASH_LEN], vgb_receipt_row_fn fn,
                           void *ctx, bool *found)
{
    static const char sql[] =
        "SELECT r.id, " S_RECEIPT_COLS " FROM receipts r WHERE r.receipt_hash = ?1";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st != NULL) {
        sqlite3_bind_blob(st, 1, hash, VG_HASH_LEN, SQLITE_STATIC);
    }
    s_receipt_ctx c = {fn, ctx, false};
    vg_err rc = s_each(s, st, s_receipt_row, &c, "read receipt");
    *found = c.found;
    return rc;
}

/* ---- shares -------------------------------------------------------------------- */

typedef struct s_share_ctx {
    vgb_share_row_fn fn;
    void *ctx;
} s_share_ctx;

static void
s_share_row(sqlite3_stmt *st, void *ctx)
{
    s_share_ctx *c = ctx;
    vgb_share_row r = {.id = (uint64_t)sqlite3_column_int64(st, 0),
                       .sharer = s_ctext(st, 1),
                       .to = s_ctext(st, 2),
                       .received_ms = sqlite3_column_int64(st, 3),
                       .bytes = sqlite3_column_blob(st, 5),
                       .len = (size_t)sqlite3_column_bytes(st, 5)};
    r.hash_ok = s_fixed(st, 4, r.hash, VG_HASH_LEN);
    c->fn(c->ctx, &r);
}

vg_err
vgb_sqlite_shares_of(vgb_store *base, uint64_t seq, vgb_share_row_fn fn, void *ctx)
{
    /* shares_to (alert_seq, to_agency) is the index */
    static const char sql[] = "SELECT id, sharer, to_agency, received_ms, share_hash, share"
                              " FROM shares WHERE alert_seq = ?1 ORDER BY id";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    }
    s_share_ctx c = {fn, ctx};
    return s_each(s, st, s_share_row, &c, "read shares of an alert");
}

/* ---- the alert -> leaf index ------------------------------------------------------- */

typedef struct s_link_ctx {
    vgb_link_fn fn;
    void *ctx;
} s_link_ctx;

static void
s_link_row(sqlite3_stmt *st, void *ctx)
{
    s_link_ctx *c = ctx;
    c->fn(c->ctx, (uint64_t)sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1));
}

vg_err
vgb_sqlite_alert_leaf_links(vgb_store *base, uint64_t seq, vgb_link_fn fn, void *ctx)
{
    static const char sql[] =
        "SELECT leaf_idx, 0 FROM audit_alert_leaves WHERE alert_seq = ?1 UNION ALL"
        " SELECT r.leaf_idx, r.id FROM receipt_items i JOIN receipts r ON r.id = i.receipt_id"
        " WHERE i.alert_seq = ?1 AND r.leaf_idx IS NOT NULL ORDER BY 1, 2";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    }
    s_link_ctx c = {fn, ctx};
    return s_each(s, st, s_link_row, &c, "read alert leaf links");
}

/* ---- rejections ---------------------------------------------------------------------- */

typedef struct s_rejection_ctx {
    vgb_rejection_fn fn;
    void *ctx;
} s_rejection_ctx;

static void
s_rejection_row(sqlite3_stmt *st, void *ctx)
{
    s_rejection_ctx *c = ctx;
    vgb_rejection_row r = {.id = (uint64_t)sqlite3_column_int64(st, 0),
                           .at_ms = sqlite3_column_int64(st, 1),
                           .agency = s_ctext(st, 2),
                           .has_alert_id = sqlite3_column_type(st, 3) != SQLITE_NULL,
                           .code = s_ctext(st, 4),
                           .reason = s_ctext(st, 5)};
    r.alert_id_ok = r.has_alert_id && s_fixed(st, 3, r.alert_id, VG_ALERT_ID_LEN);
    c->fn(c->ctx, &r);
}

vg_err
vgb_sqlite_rejections_after(vgb_store *base, uint64_t after_id, size_t limit, vgb_rejection_fn fn,
                            void *ctx)
{
    static const char sql[] = "SELECT id, at_ms, agency, alert_id, code, reason FROM rejections"
                              " WHERE id > ?1 ORDER BY id LIMIT ?2";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)after_id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
    }
    s_rejection_ctx c = {fn, ctx};
    return s_each(s, st, s_rejection_row, &c, "read rejections");
}

/* ---- event streams -------------------------------------------------------------------- */

typedef struct s_run_ctx {
    vgb_event_run_fn fn;
    void *ctx;
    uint64_t *more; /* decoded `more` of the row in hand */
    size_t cap;     /* allocated */
    bool nomem;     /* a row could not be decoded */
} s_run_ctx;

static void
s_run_row(sqlite3_stmt *st, void *ctx)
{
    s_run_ctx *c = ctx;
    vgb_event_run r = {.seq = (uint64_t)sqlite3_column_int64(st, 0),
                       .n = sqlite3_column_int64(st, 1),
                       .time_ms = sqlite3_column_int64(st, 2),
                       .kind = sqlite3_column_int64(st, 3),
                       .alert_seq = (uint64_t)sqlite3_column_int64(st, 4),
                       .about = s_ctext(st, 5),
                       .detail = s_ctext(st, 6),
                       .count = sqlite3_column_int64(st, 7),
                       .level = sqlite3_column_int64(st, 8),
                       .receipt = sqlite3_column_blob(st, 9),
                       .receipt_len = (size_t)sqlite3_column_bytes(st, 9),
                       .more = c->more};
    /* the other events' alerts: 8 bytes little-endian each */
    const uint8_t *more = sqlite3_column_blob(st, 10);
    size_t len = (size_t)sqlite3_column_bytes(st, 10);
    r.more_ok = len % 8 == 0;
    r.n_more = len / 8;
    if (r.n_more > c->cap) {
        uint64_t *grown = realloc(c->more, r.n_more * sizeof *grown);
        if (grown == NULL) {
            c->nomem = true;
            return;
        }
        c->more = grown;
        c->cap = r.n_more;
    }
    for (size_t i = 0; i < r.n_more; i++) {
        uint64_t v = 0;
        for (int b = 0; b < 8; b++) {
            v |= (uint64_t)more[8 * i + (size_t)b] << (8 * b);
        }
        c->more[i] = v;
    }
    r.more = c->more;
    c->fn(c->ctx, &r);
}

vg_err
vgb_sqlite_event_runs(vgb_store *base, const char *agency, uint64_t after, size_t limit,
                      vgb_event_run_fn fn, void *ctx)
{
    static const char sql[] =
        "SELECT seq, n, time_ms, kind, coalesce(alert_seq, 0), about, detail, count, level,"
        " receipt, more FROM events WHERE agency = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st != NULL) {
        sqlite3_bind_text(st, 1, agency, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)after);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
    }
    s_run_ctx c = {fn, ctx, NULL, 0, false};
    vg_err rc = s_each(s, st, s_run_row, &c, "read event stream");
    free(c.more);
    return rc == VG_OK && c.nomem ? VG_ERR_NOMEM : rc;
}
