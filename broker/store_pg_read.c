/* store_pg_read.c — what offline tools (vigilctl report, audit verify) and
 * tests read from the PostgreSQL back end (see store.h, "what offline tools
 * and tests read"). Reads only; long iterations go a page at a time. */
#include <limits.h>
#include <string.h>

#include "store_pg.h"

vg_err
vgb_pg_alert_ids(vgb_store *base, vgb_id_fn fn, void *ctx)
{
    vg_err err = VG_OK;
    int64_t after = 0;
    for (;;) {
        vgb_pg_params p = {0};
        vgb_pg_p_i64(&p, after);
        vgb_pg_p_i64(&p, VGB_PG_PAGE_ROWS);
        PGresult *r = vgb_pg_query((vgb_pg *)base, VGB_PG_Q_ALERT_IDS, &p, "read alert ids", &err);
        int n = r != NULL ? PQntuples(r) : 0;
        bool go = true;
        for (int i = 0; i < n && go; i++) {
            uint8_t id[VG_ALERT_ID_LEN] = {0};
            size_t len = 0;
            const uint8_t *b = vgb_pg_r_bytes(r, i, 1, &len);
            if (b != NULL && len == VG_ALERT_ID_LEN) {
                memcpy(id, b, VG_ALERT_ID_LEN);
            }
            after = vgb_pg_r_i64(r, i, 0);
            go = fn(ctx, (uint64_t)after, id);
        }
        PQclear(r);
        if (err != VG_OK || !go || n < VGB_PG_PAGE_ROWS) {
            return err;
        }
    }
}

vg_err
vgb_pg_alert_by_id(vgb_store *base, const uint8_t id[VG_ALERT_ID_LEN], vgb_alert_meta *out,
                   uint8_t envelope_hash[VG_HASH_LEN], uint64_t *network_version)
{
    vgb_pg_params p = {0};
    vgb_pg_p_bytea(&p, id, VG_ALERT_ID_LEN);
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query((vgb_pg *)base, VGB_PG_Q_ALERT_BY_ID, &p, "read alert", &err);
    uint64_t seq = 0;
    if (r != NULL) {
        err = VG_ERR_NOT_FOUND;
    }
    if (r != NULL && PQntuples(r) > 0) {
        err = vgb_pg_r_hash(r, 0, 1, envelope_hash) ? VG_OK : VG_ERR_MALFORMED;
        seq = (uint64_t)vgb_pg_r_i64(r, 0, 0);
        *network_version = (uint64_t)vgb_pg_r_i64(r, 0, 2);
    }
    PQclear(r);
    return err == VG_OK ? vgb_pg_alert_meta(base, seq, out) : err;
}

vg_err
vgb_pg_receipt_names(vgb_store *base, const uint8_t hash[VG_HASH_LEN], const char *agency,
                     uint64_t seq, bool *out)
{
    vgb_pg_params p = {0};
    vgb_pg_p_bytea(&p, hash, VG_HASH_LEN);
    vgb_pg_p_text(&p, agency);
    vgb_pg_p_i64(&p, (int64_t)seq);
    uint64_t n = 0;
    vg_err err = vgb_pg_u64((vgb_pg *)base, VGB_PG_Q_RECEIPT_NAMES, &p, "read receipt", &n);
    *out = n > 0;
    return err;
}

vg_err
vgb_pg_share_exists(vgb_store *base, uint64_t seq, const uint8_t hash[VG_HASH_LEN],
                    const char *sharer, bool *out)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    vgb_pg_p_bytea(&p, hash, VG_HASH_LEN);
    vgb_pg_p_text(&p, sharer);
    uint64_t n = 0;
    vg_err err = vgb_pg_u64((vgb_pg *)base, VGB_PG_Q_SHARE_EXISTS, &p, "read share", &n);
    *out = n > 0;
    return err;
}

/* Row i of VGB_PG_Q_REQUIRED_ROWS to fn. */
static void
s_report_row(const PGresult *r, int i, vgb_report_fn fn, void *ctx)
{
    vgb_alert_meta m = {.seq = (uint64_t)vgb_pg_r_i64(r, i, 0)};
    size_t len = 0;
    const uint8_t *id = vgb_pg_r_bytes(r, i, 1, &len);
    if (id != NULL && len == VG_ALERT_ID_LEN) {
        memcpy(m.id, id, VG_ALERT_ID_LEN);
    }
    vgb_pg_r_copy(m.sender, sizeof m.sender, r, i, 2);
    m.created_ms = vgb_pg_r_i64(r, i, 3);
    m.accepted_ms = vgb_pg_r_i64(r, i, 4);
    m.severity = (int)vgb_pg_r_i64(r, i, 5);
    m.urgency = (int)vgb_pg_r_i64(r, i, 6);
    m.status = (int)vgb_pg_r_i64(r, i, 7);
    m.msg_type = (int)vgb_pg_r_i64(r, i, 8);
    vgb_pg_r_copy(m.categories, sizeof m.categories, r, i, 9);
    m.complete_ms = vgb_pg_r_i64(r, i, 10);
    vgb_rrow row = {.seq = m.seq, .required = true};
    vgb_pg_r_copy(row.agency, sizeof row.agency, r, i, 11);
    row.state = (vgb_rstate)vgb_pg_r_i64(r, i, 12);
    row.deadline_ms = vgb_pg_r_i64(r, i, 13);
    row.delivered_ms = vgb_pg_r_i64(r, i, 14);
    row.acked_ms = vgb_pg_r_i64(r, i, 15);
    row.state_ms = vgb_pg_r_i64(r, i, 16);
    row.overdue_ms = vgb_pg_r_i64(r, i, 17);
    row.progress_used = vgb_pg_r_bool(r, i, 18);
    row.esc_level = (uint32_t)vgb_pg_r_i64(r, i, 19);
    vgb_pg_r_copy(row.shared_by, sizeof row.shared_by, r, i, 20);
    vgb_pg_r_copy(row.cover_for, sizeof row.cover_for, r, i, 25);
    vgb_report_row out = {.alert = &m,
                          .row = &row,
                          .asked_ms = vgb_pg_r_i64(r, i, 23),
                          .officer = vgb_pg_r_text(r, i, 21),
                          .reason = vgb_pg_r_text(r, i, 22)};
    fn(ctx, &out);
}

vg_err
vgb_pg_required_rows(vgb_store *base, int64_t since_ms, vgb_report_fn fn, void *ctx)
{
    vg_err err = VG_OK;
    int64_t k_ms = since_ms, k_seq = INT64_MIN; /* the key after which the next page starts */
    int32_t k_pos = INT32_MIN;
    for (;;) {
        vgb_pg_params p = {0};
        vgb_pg_p_i64(&p, since_ms);
        vgb_pg_p_i64(&p, k_ms);
        vgb_pg_p_i64(&p, k_seq);
        vgb_pg_p_i32(&p, k_pos);
        vgb_pg_p_i64(&p, VGB_PG_PAGE_ROWS);
        PGresult *r =
            vgb_pg_query((vgb_pg *)base, VGB_PG_Q_REQUIRED_ROWS, &p, "read required rows", &err);
        int n = r != NULL ? PQntuples(r) : 0;
        for (int i = 0; i < n; i++) {
            s_report_row(r, i, fn, ctx);
            k_ms = vgb_pg_r_i64(r, i, 4);
            k_seq = vgb_pg_r_i64(r, i, 0);
            k_pos = (int32_t)vgb_pg_r_i64(r, i, 24);
        }
        PQclear(r);
        if (err != VG_OK || n < VGB_PG_PAGE_ROWS) {
            return err;
        }
    }
}

vg_err
vgb_pg_count(vgb_store *base, vgb_count_what what, const char *filter, uint64_t *out)
{
    static const vgb_pg_q q[] = {
        [VGB_COUNT_ALERTS] = VGB_PG_Q_COUNT_ALERTS_BY,
        [VGB_COUNT_RECIPIENTS] = VGB_PG_Q_COUNT_RECIPIENTS,
        [VGB_COUNT_DELIVERED] = VGB_PG_Q_COUNT_DELIVERED,
        [VGB_COUNT_ACKNOWLEDGED] = VGB_PG_Q_COUNT_ACKNOWLEDGED,
        [VGB_COUNT_OVERDUE] = VGB_PG_Q_COUNT_OVERDUE,
        [VGB_COUNT_RECEIPTS] = VGB_PG_Q_COUNT_RECEIPTS,
        [VGB_COUNT_SHARES] = VGB_PG_Q_COUNT_SHARES,
        [VGB_COUNT_REJECTIONS] = VGB_PG_Q_COUNT_REJECTIONS,
        [VGB_COUNT_REJECTION_CODE] = VGB_PG_Q_COUNT_REJECTION_CODE,
        [VGB_COUNT_EVENTS] = VGB_PG_Q_COUNT_EVENTS,
        [VGB_COUNT_LEAVES] = VGB_PG_Q_COUNT_LEAVES,
        [VGB_COUNT_CHECKPOINTS] = VGB_PG_Q_COUNT_CHECKPOINTS,
        [VGB_COUNT_PENDING] = VGB_PG_Q_COUNT_PENDING_ANY,
        [VGB_COUNT_EVENT_RUNS] = VGB_PG_Q_COUNT_EVENT_RUNS,
        [VGB_COUNT_REJECTIONS_OF] = VGB_PG_Q_COUNT_REJECTIONS_OF,
        [VGB_COUNT_RECEIPT_ITEMS] = VGB_PG_Q_COUNT_RECEIPT_ITEMS,
        [VGB_COUNT_LEAF_LINKS] = VGB_PG_Q_COUNT_LEAF_LINKS,
        [VGB_COUNT_NODES] = VGB_PG_Q_COUNT_NODES,
        [VGB_COUNT_LINK_TAGS] = VGB_PG_Q_COUNT_LINK_TAGS,
        [VGB_COUNT_PURGES] = VGB_PG_Q_COUNT_PURGES,
        [VGB_COUNT_HOLDS] = VGB_PG_Q_COUNT_HOLDS,
    };
    if ((unsigned)what >= sizeof q / sizeof q[0] || what == 0) {
        return VG_ERR_INVALID;
    }
    vgb_pg_params p = {0};
    vgb_pg_p_text(&p, filter);
    return vgb_pg_u64((vgb_pg *)base, q[what], &p, "count", out);
}
