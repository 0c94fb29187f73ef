/* store_sqlite_track.c — the SQLite back end's acknowledgement-tracking rows: recipient
 * states, deadlines, escalation levels, shares, completion and the
 * per-agency event streams (see store.h). */
#include <stdio.h>
#include <stdlib.h>
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

/* Steps a statement that returns no row. */
static vg_err
s_exec(vgb_sqlite *s, sqlite3_stmt *st, const char *what)
{
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail(s, rc, what);
}

static void
s_bind_text_or_null(sqlite3_stmt *st, int i, const char *t)
{
    if (t != NULL && t[0] != '\0') {
        sqlite3_bind_text(st, i, t, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_null(st, i);
    }
}

#define S_RROW_COLS                                                                                \
    "alert_seq, agency, required, state, deadline_ms, coalesce(delivered_ms, 0),"                  \
    " coalesce(acked_ms, 0), coalesce(state_ms, 0), coalesce(overdue_ms, 0), progress_used,"       \
    " esc_level, coalesce(shared_by, ''), officer, note, reason, tries, coalesce(cover_for, '')"

static void
s_read_rrow(sqlite3_stmt *st, vgb_rrow *r)
{
    r->seq = (uint64_t)sqlite3_column_int64(st, 0);
    s_text(r->agency, sizeof r->agency, st, 1);
    r->required = sqlite3_column_int(st, 2) != 0;
    r->state = (vgb_rstate)sqlite3_column_int(st, 3);
    r->deadline_ms = sqlite3_column_int64(st, 4);
    r->delivered_ms = sqlite3_column_int64(st, 5);
    r->acked_ms = sqlite3_column_int64(st, 6);
    r->state_ms = sqlite3_column_int64(st, 7);
    r->overdue_ms = sqlite3_column_int64(st, 8);
    r->progress_used = sqlite3_column_int(st, 9) != 0;
    r->esc_level = (uint32_t)sqlite3_column_int(st, 10);
    s_text(r->shared_by, sizeof r->shared_by, st, 11);
    r->tries = (uint32_t)sqlite3_column_int(st, 15);
    s_text(r->cover_for, sizeof r->cover_for, st, 16);
}

/* Runs a row query and calls fn for each recipient row. */
static vg_err
s_each_rrow(vgb_sqlite *s, sqlite3_stmt *st, vgb_rrow_fn fn, void *ctx)
{
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        vgb_rrow r;
        s_read_rrow(st, &r);
        fn(ctx, &r, s_ctext(st, 12), s_ctext(st, 13), s_ctext(st, 14));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail(s, rc, "read recipients");
}

vg_err
vgb_sqlite_alert_meta(vgb_store *base, uint64_t seq, vgb_alert_meta *out)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    static const char sql[] =
        "SELECT seq, alert_id, sender, created_ms, accepted_ms, severity, urgency, status,"
        " msg_type, categories, coalesce(complete_ms, 0) FROM alerts WHERE seq = ?1";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    int rc = sqlite3_step(st);
    vg_err err = VG_ERR_NOT_FOUND;
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 1) == VG_ALERT_ID_LEN) {
        out->seq = (uint64_t)sqlite3_column_int64(st, 0);
        memcpy(out->id, sqlite3_column_blob(st, 1), VG_ALERT_ID_LEN);
        s_text(out->sender, sizeof out->sender, st, 2);
        out->created_ms = sqlite3_column_int64(st, 3);
        out->accepted_ms = sqlite3_column_int64(st, 4);
        out->severity = sqlite3_column_int(st, 5);
        out->urgency = sqlite3_column_int(st, 6);
        out->status = sqlite3_column_int(st, 7);
        out->msg_type = sqlite3_column_int(st, 8);
        s_text(out->categories, sizeof out->categories, st, 9);
        out->complete_ms = sqlite3_column_int64(st, 10);
        err = VG_OK;
    } else if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        err = vgb_sqlite_fail(s, rc, "read alert");
    }
    sqlite3_reset(st);
    return err;
}

typedef struct s_one {
    vgb_rrow *out; /* where the row goes */
    bool found;    /* a row came */
} s_one;

static void
s_one_row(void *ctx, const vgb_rrow *r, const char *officer, const char *note, const char *reason)
{
    (void)officer, (void)note, (void)reason;
    s_one *o = ctx;
    *o->out = *r;
    o->found = true;
}

vg_err
vgb_sqlite_rrow(vgb_store *base, uint64_t seq, const char *agency, vgb_rrow *out)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    static const char sql[] =
        "SELECT " S_RROW_COLS " FROM recipients WHERE alert_seq = ?1 AND agency = ?2";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    sqlite3_bind_text(st, 2, agency, -1, SQLITE_STATIC);
    s_one o = {out, false};
    vg_err err = s_each_rrow(s, st, s_one_row, &o);
    return err != VG_OK ? err : o.found ? VG_OK : VG_ERR_NOT_FOUND;
}

vg_err
vgb_sqlite_recipients_of(vgb_store *base, uint64_t seq, vgb_rrow_fn fn, void *ctx)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    static const char sql[] =
        "SELECT " S_RROW_COLS " FROM recipients WHERE alert_seq = ?1 ORDER BY rowid";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    }
    return s_each_rrow(s, st, fn, ctx);
}

vg_err
vgb_sqlite_open_rows(vgb_store *base, uint32_t max_level, int64_t after_ms, int64_t upto_ms,
                     int64_t limit, vgb_rrow_fn fn, void *ctx)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    /* The first three terms are the partial index recipients_deadline's own,
     * so the range and the order come from it. */
    static const char sql[] = "SELECT " S_RROW_COLS " FROM recipients"
                              " WHERE required = 1 AND state <> 3 AND deadline_ms > 0"
                              " AND deadline_ms > ?2 AND deadline_ms <= ?3 AND esc_level <= ?1"
                              " ORDER BY deadline_ms LIMIT ?4";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, max_level);
        sqlite3_bind_int64(st, 2, after_ms);
        sqlite3_bind_int64(st, 3, upto_ms);
        sqlite3_bind_int64(st, 4, limit < 0 ? -1 : limit);
    }
    return s_each_rrow(s, st, fn, ctx);
}

vg_err
vgb_sqlite_apply_receipt(vgb_store *base, uint64_t seq, const char *agency, vgb_rstate state,
                         int64_t now_ms, const char *officer, const char *note, const char *reason,
                         int64_t deadline_ms)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    static const char sql[] = "UPDATE recipients SET state = ?3, state_ms = ?4,"
                              " acked_ms = CASE WHEN ?3 = 3 THEN ?4 ELSE acked_ms END,"
                              " delivered_ms = CASE WHEN ?3 = 6 THEN delivered_ms"
                              " ELSE coalesce(delivered_ms, ?4) END,"
                              " officer = coalesce(?5, officer), note = coalesce(?6, note),"
                              " reason = coalesce(?7, reason),"
                              " progress_used = progress_used OR ?3 = 4,"
                              " deadline_ms = ?8"
                              " WHERE alert_seq = ?1 AND agency = ?2";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
        sqlite3_bind_text(st, 2, agency, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, (int)state);
        sqlite3_bind_int64(st, 4, now_ms);
        s_bind_text_or_null(st, 5, officer);
        s_bind_text_or_null(st, 6, note);
        s_bind_text_or_null(st, 7, reason);
        sqlite3_bind_int64(st, 8, deadline_ms);
    }
    return s_exec(s, st, "apply receipt");
}

vg_err
vgb_sqlite_set_escalation(vgb_store *base, uint64_t seq, const char *agency, uint32_t level,
                          int64_t now_ms)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    static const char sql[] =
        "UPDATE recipients SET esc_level = ?3,"
        " overdue_ms = CASE WHEN ?3 >= 1 AND overdue_ms IS NULL THEN ?4 ELSE overdue_ms END"
        " WHERE alert_seq = ?1 AND agency = ?2";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
        sqlite3_bind_text(st, 2, agency, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, level);
        sqlite3_bind_int64(st, 4, now_ms);
    }
    return s_exec(s, st, "set escalation");
}

vg_err
vgb_sqlite_add_recipient(vgb_store *base, uint64_t seq, const char *agency, const char *shared_by,
                         int64_t deadline_ms)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    static const char sql[] =
        "INSERT INTO recipients(alert_seq, agency, required, state, deadline_ms, shared_by)"
        " VALUES (?1, ?2, 1, 1, ?3, ?4)";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
        sqlite3_bind_text(st, 2, agency, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, deadline_ms);
        sqlite3_bind_text(st, 4, shared_by, -1, SQLITE_STATIC);
    }
    return s_exec(s, st, "add recipient");
}

vg_err
vgb_sqlite_insert_share(vgb_store *base, uint64_t seq, const char *sharer, const char *to,
                        const uint8_t hash[VG_HASH_LEN], const uint8_t *bytes, size_t len,
                        int64_t received_ms)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    static const char sql[] =
        "INSERT INTO shares(alert_seq, sharer, to_agency, received_ms, share_hash, share)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
        sqlite3_bind_text(st, 2, sharer, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, received_ms);
        sqlite3_bind_blob(st, 5, hash, VG_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_blob(st, 6, bytes, (int)len, SQLITE_STATIC);
    }
    return s_exec(s, st, "insert share");
}

vg_err
vgb_sqlite_shares_to(vgb_store *base, uint64_t seq, const char *to, vgb_bytes_fn fn, void *ctx)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    static const char sql[] =
        "SELECT share FROM shares WHERE alert_seq = ?1 AND to_agency = ?2 ORDER BY id";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        fn(ctx, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail(s, rc, "read shares");
}

vg_err
vgb_sqlite_check_complete(vgb_store *base, uint64_t seq, int64_t ms, bool *now_complete)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    static const char sql[] =
        "UPDATE alerts SET complete_ms = ?2 WHERE seq = ?1 AND complete_ms IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM recipients WHERE alert_seq = ?1 AND required = 1"
        " AND state <> 3)";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
        sqlite3_bind_int64(st, 2, ms);
    }
    vg_err err = s_exec(s, st, "check complete");
    *now_complete = err == VG_OK && sqlite3_changes(s->db) > 0;
    return err;
}

/* The alert seqs of an event run's `more` column: 8 bytes little-endian. */
static void
s_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint64_t
s_get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

vg_err
vgb_sqlite_last_event(vgb_store *base, const char *agency, uint64_t *out)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    static const char sql[] =
        "SELECT seq + n - 1 FROM events WHERE agency = ?1 ORDER BY seq DESC LIMIT 1";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_text(st, 1, agency, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? VG_OK
                                                 : vgb_sqlite_fail(s, rc, "read event number");
}

vg_err
vgb_sqlite_insert_events(vgb_store *base, const char *agency, const vgb_event_row *first,
                         const uint64_t *more, size_t n_more)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    static const char sql[] =
        "INSERT INTO events(agency, seq, n, time_ms, kind, alert_seq, about, detail, count, level,"
        " receipt, more) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    uint8_t *packed = NULL;
    if (n_more > 0 && (packed = malloc(n_more * 8)) == NULL) {
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < n_more; i++) {
        s_put_le64(packed + 8 * i, more[i]);
    }
    sqlite3_bind_text(st, 1, agency, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)first->seq);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)(1 + n_more));
    sqlite3_bind_int64(st, 4, first->time_ms);
    sqlite3_bind_int(st, 5, first->kind);
    if (first->alert_seq != 0) {
        sqlite3_bind_int64(st, 6, (sqlite3_int64)first->alert_seq);
    }
    sqlite3_bind_text(st, 7, first->about ? first->about : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, first->detail ? first->detail : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, first->count);
    sqlite3_bind_int64(st, 10, first->level);
    if (first->receipt != NULL) {
        sqlite3_bind_blob(st, 11, first->receipt, (int)first->receipt_len, SQLITE_STATIC);
    }
    if (packed != NULL) {
        sqlite3_bind_blob(st, 12, packed, (int)(n_more * 8), SQLITE_STATIC);
    }
    vg_err err = s_exec(s, st, "insert event");
    free(packed);
    return err;
}

vg_err
vgb_sqlite_events_after(vgb_store *base, const char *agency, uint64_t after, size_t limit,
                        vgb_event_fn fn, void *ctx)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    /* From the run that holds event after + 1 on; rows hold one event or more. */
    static const char sql[] =
        "SELECT seq, n, time_ms, kind, coalesce(alert_seq, 0), about, detail, count, level,"
        " receipt, more FROM events WHERE agency = ?1 AND seq >= (SELECT coalesce(max(seq), 0)"
        " FROM events WHERE agency = ?1 AND seq <= ?2 + 1) ORDER BY seq LIMIT ?3";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_text(st, 1, agency, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)after);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
    int rc;
    size_t given = 0;
    while (given < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t n = (uint64_t)sqlite3_column_int64(st, 1);
        const uint8_t *more = sqlite3_column_blob(st, 10);
        if (n < 1 || (uint64_t)sqlite3_column_bytes(st, 10) != (n - 1) * 8) {
            rc = SQLITE_CORRUPT;
            break;
        }
        vgb_event_row ev = {
            .seq = (uint64_t)sqlite3_column_int64(st, 0),
            .time_ms = sqlite3_column_int64(st, 2),
            .kind = sqlite3_column_int(st, 3),
            .alert_seq = (uint64_t)sqlite3_column_int64(st, 4),
            .about = s_ctext(st, 5),
            .detail = s_ctext(st, 6),
            .count = (uint32_t)sqlite3_column_int64(st, 7),
            .level = (uint32_t)sqlite3_column_int64(st, 8),
            .receipt = sqlite3_column_blob(st, 9),
            .receipt_len = (size_t)sqlite3_column_bytes(st, 9),
        };
        for (uint64_t k = 0; k < n && given < limit; k++, ev.seq++) {
            if (k > 0) {
                ev.alert_seq = s_get_le64(more + 8 * (k - 1));
            }
            if (ev.seq > after) {
                fn(ctx, &ev);
                given++;
            }
        }
    }
    if (given == limit) {
        rc = SQLITE_DONE;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail(s, rc, "read events");
}

vg_err
vgb_sqlite_outstanding(vgb_store *base, const char *agency, uint64_t after_seq, size_t limit,
                       vgb_seq_fn fn, void *ctx)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    static const char sql_all[] =
        "SELECT seq FROM alerts WHERE complete_ms IS NULL AND seq > ?3 ORDER BY seq LIMIT ?2";
    static const char sql_agency[] =
        "SELECT seq FROM alerts WHERE complete_ms IS NULL AND seq > ?3 AND (sender = ?1 OR seq IN"
        " (SELECT alert_seq FROM recipients WHERE agency = ?1 AND required = 1 AND state <> 3))"
        " ORDER BY seq LIMIT ?2";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, agency ? sql_agency : sql_all);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    if (agency != NULL) {
        sqlite3_bind_text(st, 1, agency, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)after_seq);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!fn(ctx, (uint64_t)sqlite3_column_int64(st, 0))) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail(s, rc, "list outstanding");
}

vg_err
vgb_sqlite_alert_leaves(vgb_store *base, uint64_t seq, vgb_index_fn fn, void *ctx)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    /* A DELIVERED receipt's leaf is found through the receipt (receipts.leaf_idx). */
    static const char sql[] =
        "SELECT leaf_idx FROM audit_alert_leaves WHERE alert_seq = ?1 UNION"
        " SELECT r.leaf_idx FROM receipt_items i JOIN receipts r ON r.id = i.receipt_id"
        " WHERE i.alert_seq = ?1 AND r.leaf_idx IS NOT NULL ORDER BY 1";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        fn(ctx, (uint64_t)sqlite3_column_int64(st, 0));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail(s, rc, "read alert leaves");
}

vg_err
vgb_sqlite_count_waiting(vgb_store *base, const char *agency, uint64_t limit, uint64_t *out)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    static const char sql[] = "SELECT count(*) FROM (SELECT 1 FROM recipients"
                              " WHERE agency = ?1 AND state = 1 AND required = 1 LIMIT ?2)";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_text(st, 1, agency, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, limit == 0 ? -1 : (sqlite3_int64)limit);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = (uint64_t)sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? VG_OK : vgb_sqlite_fail(s, rc, "count waiting");
}

vg_err
vgb_sqlite_shift_times(vgb_store *base, int64_t delta_ms)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    /* The deadlines: the rows recipients_deadline indexes (open_rows'). */
    static const char deadlines[] = "UPDATE recipients SET deadline_ms = deadline_ms + ?1"
                                    " WHERE required = 1 AND state <> 3 AND deadline_ms > 0";
    static const char tries[] = "UPDATE recipients SET next_try_ms = next_try_ms + ?1"
                                " WHERE state = 1 AND next_try_ms > 0";
    const char *sqls[] = {deadlines, tries};
    for (size_t i = 0; i < 2; i++) {
        sqlite3_stmt *st = vgb_sqlite_stmt(s, sqls[i]);
        if (st == NULL) {
            return VG_ERR_INTERNAL;
        }
        sqlite3_bind_int64(st, 1, delta_ms);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            return vgb_sqlite_fail(s, rc, "shift times");
        }
    }
    return VG_OK;
}
