/* store_sqlite_read.c — what offline tools (vigilctl report, audit verify)
 * and tests read from the SQLite back end (see store.h, "what offline tools
 * and tests read"). Reads only. */
#include <stdio.h>
#include <string.h>

#include "store_sqlite.h"

static void
s_text(char *out, size_t len, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(out, len, "%s", t ? (const char *)t : "");
}

static const char *
s_ctext(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : "";
}

vg_err
vgb_sqlite_alert_ids(vgb_store *base, vgb_id_fn fn, void *ctx)
{
    static const char sql[] = "SELECT seq, alert_id FROM alerts ORDER BY seq";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint8_t id[VG_ALERT_ID_LEN] = {0};
        if (sqlite3_column_bytes(st, 1) == VG_ALERT_ID_LEN) {
            memcpy(id, sqlite3_column_blob(st, 1), VG_ALERT_ID_LEN);
        }
        if (!fn(ctx, (uint64_t)sqlite3_column_int64(st, 0), id)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail(s, rc, "read alert ids");
}

vg_err
vgb_sqlite_alert_by_id(vgb_store *base, const uint8_t id[VG_ALERT_ID_LEN], vgb_alert_meta *out,
                       uint8_t envelope_hash[VG_HASH_LEN], uint64_t *network_version)
{
    static const char sql[] = "SELECT seq, envelope_hash, network_version FROM alerts"
                              " WHERE alert_id = ?1";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_blob(st, 1, id, VG_ALERT_ID_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    uint64_t seq = 0;
    vg_err err = VG_ERR_NOT_FOUND;
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 1) == VG_HASH_LEN) {
        seq = (uint64_t)sqlite3_column_int64(st, 0);
        memcpy(envelope_hash, sqlite3_column_blob(st, 1), VG_HASH_LEN);
        *network_version = (uint64_t)sqlite3_column_int64(st, 2);
        err = VG_OK;
    } else if (rc == SQLITE_ROW) {
        err = VG_ERR_MALFORMED;
    } else if (rc != SQLITE_DONE) {
        err = vgb_sqlite_fail(s, rc, "read alert");
    }
    sqlite3_reset(st);
    return err == VG_OK ? vgb_store_alert_meta(base, seq, out) : err;
}

vg_err
vgb_sqlite_receipt_names(vgb_store *base, const uint8_t hash[VG_HASH_LEN], const char *agency,
                         uint64_t seq, bool *out)
{
    static const char sql[] = "SELECT count(*) FROM receipts r JOIN receipt_items i"
                              " ON i.receipt_id = r.id WHERE r.receipt_hash = ?1"
                              " AND r.agency = ?2 AND i.alert_seq = ?3";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_blob(st, 1, hash, VG_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, agency, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)seq);
    uint64_t n = 0;
    vg_err err = vgb_sqlite_u64(s, st, &n, "read receipt");
    *out = n > 0;
    return err;
}

vg_err
vgb_sqlite_share_exists(vgb_store *base, uint64_t seq, const uint8_t hash[VG_HASH_LEN],
                        const char *sharer, bool *out)
{
    static const char sql[] = "SELECT count(*) FROM shares WHERE alert_seq = ?1"
                              " AND share_hash = ?2 AND sharer = ?3";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    sqlite3_bind_blob(st, 2, hash, VG_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, sharer, -1, SQLITE_STATIC);
    uint64_t n = 0;
    vg_err err = vgb_sqlite_u64(s, st, &n, "read share");
    *out = n > 0;
    return err;
}

vg_err
vgb_sqlite_required_rows(vgb_store *base, int64_t since_ms, vgb_report_fn fn, void *ctx)
{
    static const char sql[] =
        "SELECT a.seq, a.alert_id, a.sender, a.created_ms, a.accepted_ms, a.severity, a.urgency,"
        " a.status, a.msg_type, a.categories, coalesce(a.complete_ms, 0),"
        " r.agency, r.state, r.deadline_ms, coalesce(r.delivered_ms, 0), coalesce(r.acked_ms, 0),"
        " coalesce(r.state_ms, 0), coalesce(r.overdue_ms, 0), r.progress_used, r.esc_level,"
        " coalesce(r.shared_by, ''), coalesce(r.officer, ''), coalesce(r.reason, ''),"
        " CASE WHEN r.shared_by IS NULL THEN a.accepted_ms ELSE coalesce((SELECT"
        " min(s.received_ms) FROM shares s WHERE s.alert_seq = r.alert_seq"
        " AND s.to_agency = r.agency), a.accepted_ms) END, coalesce(r.cover_for, '')"
        " FROM recipients r JOIN alerts a ON a.seq = r.alert_seq"
        " WHERE r.required = 1 AND a.accepted_ms >= ?1 ORDER BY a.accepted_ms, a.seq, r.rowid";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, since_ms);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        vgb_alert_meta m = {.seq = (uint64_t)sqlite3_column_int64(st, 0)};
        if (sqlite3_column_bytes(st, 1) == VG_ALERT_ID_LEN) {
            memcpy(m.id, sqlite3_column_blob(st, 1), VG_ALERT_ID_LEN);
        }
        s_text(m.sender, sizeof m.sender, st, 2);
        m.created_ms = sqlite3_column_int64(st, 3);
        m.accepted_ms = sqlite3_column_int64(st, 4);
        m.severity = sqlite3_column_int(st, 5);
        m.urgency = sqlite3_column_int(st, 6);
        m.status = sqlite3_column_int(st, 7);
        m.msg_type = sqlite3_column_int(st, 8);
        s_text(m.categories, sizeof m.categories, st, 9);
        m.complete_ms = sqlite3_column_int64(st, 10);
        vgb_rrow r = {.seq = m.seq, .required = true};
        s_text(r.agency, sizeof r.agency, st, 11);
        r.state = (vgb_rstate)sqlite3_column_int(st, 12);
        r.deadline_ms = sqlite3_column_int64(st, 13);
        r.delivered_ms = sqlite3_column_int64(st, 14);
        r.acked_ms = sqlite3_column_int64(st, 15);
        r.state_ms = sqlite3_column_int64(st, 16);
        r.overdue_ms = sqlite3_column_int64(st, 17);
        r.progress_used = sqlite3_column_int(st, 18) != 0;
        r.esc_level = (uint32_t)sqlite3_column_int(st, 19);
        s_text(r.shared_by, sizeof r.shared_by, st, 20);
        s_text(r.cover_for, sizeof r.cover_for, st, 24);
        vgb_report_row row = {.alert = &m,
                              .row = &r,
                              .asked_ms = sqlite3_column_int64(st, 23),
                              .officer = s_ctext(st, 21),
                              .reason = s_ctext(st, 22)};
        fn(ctx, &row);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail(s, rc, "read required rows");
}

vg_err
vgb_sqlite_count(vgb_store *base, vgb_count_what what, const char *filter, uint64_t *out)
{
    /* Each query counts all rows when ?1 is NULL, else those the filter names. */
    static const char *const sql[] = {
        [VGB_COUNT_ALERTS] = "SELECT count(*) FROM alerts WHERE ?1 IS NULL OR sender = ?1",
        [VGB_COUNT_RECIPIENTS] = "SELECT count(*) FROM recipients WHERE ?1 IS NULL OR agency = ?1",
        [VGB_COUNT_DELIVERED] = "SELECT count(*) FROM recipients WHERE delivered_ms IS NOT NULL"
                                " AND (?1 IS NULL OR agency = ?1)",
        [VGB_COUNT_ACKNOWLEDGED] = "SELECT count(*) FROM recipients WHERE state = 3"
                                   " AND (?1 IS NULL OR agency = ?1)",
        [VGB_COUNT_OVERDUE] = "SELECT count(*) FROM recipients WHERE overdue_ms IS NOT NULL"
                              " AND (?1 IS NULL OR agency = ?1)",
        [VGB_COUNT_RECEIPTS] = "SELECT count(*) FROM receipts WHERE ?1 IS NULL OR agency = ?1",
        [VGB_COUNT_SHARES] = "SELECT count(*) FROM shares WHERE ?1 IS NULL OR sharer = ?1",
        [VGB_COUNT_REJECTIONS] = "SELECT count(*) FROM rejections WHERE ?1 IS NULL OR agency = ?1",
        [VGB_COUNT_REJECTION_CODE] = "SELECT count(*) FROM rejections WHERE ?1 IS NULL"
                                     " OR code = ?1",
        [VGB_COUNT_EVENTS] = "SELECT coalesce(sum(n), 0) FROM events WHERE ?1 IS NULL"
                             " OR agency = ?1",
        [VGB_COUNT_LEAVES] = "SELECT count(*) FROM audit_leaves WHERE ?1 IS NULL"
                             " OR instr(CAST(leaf AS TEXT), ?1) > 0",
        [VGB_COUNT_CHECKPOINTS] = "SELECT count(*) FROM audit_checkpoints WHERE ?1 IS NULL",
        [VGB_COUNT_PENDING] = "SELECT count(*) FROM recipients WHERE state = 1"
                              " AND (?1 IS NULL OR agency = ?1)",
        [VGB_COUNT_EVENT_RUNS] = "SELECT count(*) FROM events WHERE ?1 IS NULL OR agency = ?1",
        [VGB_COUNT_REJECTIONS_OF] = "SELECT count(*) FROM rejections WHERE ?1 IS NULL"
                                    " OR agency || '/' || code = ?1",
        [VGB_COUNT_RECEIPT_ITEMS] = "SELECT count(*) FROM receipt_items WHERE ?1 IS NULL",
        [VGB_COUNT_LEAF_LINKS] = "SELECT count(*) FROM audit_alert_leaves WHERE ?1 IS NULL",
        [VGB_COUNT_NODES] = "SELECT count(*) FROM audit_nodes WHERE ?1 IS NULL",
        [VGB_COUNT_LINK_TAGS] = "SELECT count(*) FROM link_tags WHERE ?1 IS NULL",
        [VGB_COUNT_PURGES] = "SELECT count(*) FROM purges WHERE ?1 IS NULL",
        [VGB_COUNT_HOLDS] = "SELECT count(*) FROM legal_holds WHERE ?1 IS NULL",
    };
    if ((unsigned)what >= sizeof sql / sizeof sql[0] || sql[what] == NULL) {
        return VG_ERR_INVALID;
    }
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql[what]);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    if (filter != NULL) {
        sqlite3_bind_text(st, 1, filter, -1, SQLITE_STATIC);
    }
    return vgb_sqlite_u64(s, st, out, "count");
}
