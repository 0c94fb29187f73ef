/* store_pg_verify.c — what audit verify reads from the PostgreSQL back end:
 * every row as stored, in key order, through an index (see store.h, "what
 * audit verify reads"; store_sqlite_verify.c is the same for SQLite).
 * Reads only; each call is one statement. */
#include <stdlib.h>
#include <string.h>

#include "store_pg.h"

/* Copies a bytea column of exactly len bytes; false (out zeroed) otherwise. */
static bool
s_fixed(const PGresult *r, int row, int col, uint8_t *out, size_t len)
{
    size_t n = 0;
    const uint8_t *b = vgb_pg_r_bytes(r, row, col, &n);
    if (b == NULL || n != len) {
        memset(out, 0, len);
        return false;
    }
    memcpy(out, b, len);
    return true;
}

static bool
s_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) != 0;
}

vg_err
vgb_pg_alerts_after(vgb_store *base, uint64_t after_seq, size_t limit, vgb_alert_full_fn fn,
                    void *ctx)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)after_seq);
    vgb_pg_p_limit(&p, limit);
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query((vgb_pg *)base, VGB_PG_Q_ALERTS_AFTER, &p, "read alerts", &err);
    for (int i = 0; r != NULL && i < PQntuples(r); i++) {
        vgb_alert_full a = {.seq = (uint64_t)vgb_pg_r_i64(r, i, 0),
                            .sender = vgb_pg_r_text(r, i, 2),
                            .sender_seq = (uint64_t)vgb_pg_r_i64(r, i, 3),
                            .created_ms = vgb_pg_r_i64(r, i, 4),
                            .accepted_ms = vgb_pg_r_i64(r, i, 5),
                            .status = vgb_pg_r_i64(r, i, 6),
                            .msg_type = vgb_pg_r_i64(r, i, 7),
                            .severity = vgb_pg_r_i64(r, i, 8),
                            .urgency = vgb_pg_r_i64(r, i, 9),
                            .categories = vgb_pg_r_text(r, i, 10),
                            .network_version = (uint64_t)vgb_pg_r_i64(r, i, 11),
                            .complete_ms = vgb_pg_r_i64(r, i, 14)};
        a.id_ok = s_fixed(r, i, 1, a.id, VG_ALERT_ID_LEN);
        a.hash_ok = s_fixed(r, i, 12, a.envelope_hash, VG_HASH_LEN);
        a.envelope = vgb_pg_r_bytes(r, i, 13, &a.envelope_len);
        fn(ctx, &a);
    }
    PQclear(r);
    return err;
}

/* Row i: column 0 the receipt id, then S_RECEIPT_COLS (store_pg_sql.c). */
static void
s_receipt_row(const PGresult *r, int i, vgb_receipt_row_fn fn, void *ctx)
{
    vgb_receipt_row x = {.id = (uint64_t)vgb_pg_r_i64(r, i, 0), .found = !s_null(r, i, 8)};
    if (x.found) {
        x.agency = vgb_pg_r_text(r, i, 1);
        x.kind = vgb_pg_r_i64(r, i, 2);
        x.created_ms = vgb_pg_r_i64(r, i, 3);
        x.received_ms = vgb_pg_r_i64(r, i, 4);
        x.hash_ok = s_fixed(r, i, 5, x.hash, VG_HASH_LEN);
        x.bytes = vgb_pg_r_bytes(r, i, 6, &x.len);
        x.has_leaf = !s_null(r, i, 7);
        x.leaf_idx = x.has_leaf ? (uint64_t)vgb_pg_r_i64(r, i, 7) : 0;
    }
    fn(ctx, &x);
}

vg_err
vgb_pg_receipts_of(vgb_store *base, uint64_t seq, vgb_receipt_row_fn fn, void *ctx)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    vg_err err = VG_OK;
    PGresult *r =
        vgb_pg_query((vgb_pg *)base, VGB_PG_Q_RECEIPTS_OF, &p, "read receipts of an alert", &err);
    for (int i = 0; r != NULL && i < PQntuples(r); i++) {
        s_receipt_row(r, i, fn, ctx);
    }
    PQclear(r);
    return err;
}

vg_err
vgb_pg_receipt_by_hash(vgb_store *base, const uint8_t hash[VG_HASH_LEN], vgb_receipt_row_fn fn,
                       void *ctx, bool *found)
{
    vgb_pg_params p = {0};
    vgb_pg_p_bytea(&p, hash, VG_HASH_LEN);
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query((vgb_pg *)base, VGB_PG_Q_RECEIPT_BY_HASH, &p, "read receipt", &err);
    *found = r != NULL && PQntuples(r) > 0;
    if (*found) {
        s_receipt_row(r, 0, fn, ctx);
    }
    PQclear(r);
    return err;
}

vg_err
vgb_pg_shares_of(vgb_store *base, uint64_t seq, vgb_share_row_fn fn, void *ctx)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    vg_err err = VG_OK;
    PGresult *r =
        vgb_pg_query((vgb_pg *)base, VGB_PG_Q_SHARES_OF, &p, "read shares of an alert", &err);
    for (int i = 0; r != NULL && i < PQntuples(r); i++) {
        vgb_share_row x = {.id = (uint64_t)vgb_pg_r_i64(r, i, 0),
                           .sharer = vgb_pg_r_text(r, i, 1),
                           .to = vgb_pg_r_text(r, i, 2),
                           .received_ms = vgb_pg_r_i64(r, i, 3)};
        x.hash_ok = s_fixed(r, i, 4, x.hash, VG_HASH_LEN);
        x.bytes = vgb_pg_r_bytes(r, i, 5, &x.len);
        fn(ctx, &x);
    }
    PQclear(r);
    return err;
}

vg_err
vgb_pg_alert_leaf_links(vgb_store *base, uint64_t seq, vgb_link_fn fn, void *ctx)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    vg_err err = VG_OK;
    PGresult *r =
        vgb_pg_query((vgb_pg *)base, VGB_PG_Q_ALERT_LEAF_LINKS, &p, "read alert leaf links", &err);
    for (int i = 0; r != NULL && i < PQntuples(r); i++) {
        fn(ctx, (uint64_t)vgb_pg_r_i64(r, i, 0), (uint64_t)vgb_pg_r_i64(r, i, 1));
    }
    PQclear(r);
    return err;
}

vg_err
vgb_pg_rejections_after(vgb_store *base, uint64_t after_id, size_t limit, vgb_rejection_fn fn,
                        void *ctx)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)after_id);
    vgb_pg_p_limit(&p, limit);
    vg_err err = VG_OK;
    PGresult *r =
        vgb_pg_query((vgb_pg *)base, VGB_PG_Q_REJECTIONS_AFTER, &p, "read rejections", &err);
    for (int i = 0; r != NULL && i < PQntuples(r); i++) {
        vgb_rejection_row x = {.id = (uint64_t)vgb_pg_r_i64(r, i, 0),
                               .at_ms = vgb_pg_r_i64(r, i, 1),
                               .agency = vgb_pg_r_text(r, i, 2),
                               .has_alert_id = !s_null(r, i, 3),
                               .code = vgb_pg_r_text(r, i, 4),
                               .reason = vgb_pg_r_text(r, i, 5)};
        x.alert_id_ok = x.has_alert_id && s_fixed(r, i, 3, x.alert_id, VG_ALERT_ID_LEN);
        fn(ctx, &x);
    }
    PQclear(r);
    return err;
}

vg_err
vgb_pg_event_runs(vgb_store *base, const char *agency, uint64_t after, size_t limit,
                  vgb_event_run_fn fn, void *ctx)
{
    vgb_pg_params p = {0};
    vgb_pg_p_text(&p, agency);
    vgb_pg_p_i64(&p, (int64_t)after);
    vgb_pg_p_limit(&p, limit);
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query((vgb_pg *)base, VGB_PG_Q_EVENT_RUNS, &p, "read event stream", &err);
    uint64_t *more = NULL;
    size_t cap = 0;
    for (int i = 0; r != NULL && i < PQntuples(r) && err == VG_OK; i++) {
        vgb_event_run x = {.seq = (uint64_t)vgb_pg_r_i64(r, i, 0),
                           .n = vgb_pg_r_i64(r, i, 1),
                           .time_ms = vgb_pg_r_i64(r, i, 2),
                           .kind = vgb_pg_r_i64(r, i, 3),
                           .alert_seq = (uint64_t)vgb_pg_r_i64(r, i, 4),
                           .about = vgb_pg_r_text(r, i, 5),
                           .detail = vgb_pg_r_text(r, i, 6),
                           .count = vgb_pg_r_i64(r, i, 7),
                           .level = vgb_pg_r_i64(r, i, 8)};
        x.receipt = vgb_pg_r_bytes(r, i, 9, &x.receipt_len);
        size_t len = 0;
        const uint8_t *b = vgb_pg_r_bytes(r, i, 10, &len); /* 8 bytes little-endian each */
        x.more_ok = len % 8 == 0;
        x.n_more = len / 8;
        if (x.n_more > cap) {
            uint64_t *grown = realloc(more, x.n_more * sizeof *grown);
            if (grown == NULL) {
                err = VG_ERR_NOMEM;
                break;
            }
            more = grown;
            cap = x.n_more;
        }
        for (size_t k = 0; k < x.n_more; k++) {
            uint64_t v = 0;
            for (int j = 0; j < 8; j++) {
                v |= (uint64_t)b[8 * k + (size_t)j] << (8 * j);
            }
            more[k] = v;
        }
        x.more = more;
        fn(ctx, &x);
    }
    free(more);
    PQclear(r);
    return err;
}
