/* store_sqlite_retain.c — retention in the SQLite back end (store_retain.h):
 * the purges and legal_holds tables, and the purge itself. The owner's
 * connection runs with secure_delete on (store_sqlite.c), so the space a
 * purge frees is zeroed in every page it is written to; vgb_sqlite_scrub
 * then copies those pages into the database file and empties the WAL. */
#include <string.h>

#include "store_sqlite.h"
#include "vigil/log.h"

/* The retention columns of an alert, after its seq, id, status, categories
 * and accepted_ms. */
#define S_RETAIN_COLS                                                                              \
    "a.seq, a.alert_id, a.status, a.categories, a.accepted_ms,"                                    \
    " coalesce(p.content_ms, 0), coalesce(p.tags_ms, 0),"                                          \
    " EXISTS (SELECT 1 FROM legal_holds h WHERE h.alert_id = a.alert_id),"                         \
    " EXISTS (SELECT 1 FROM recipients r WHERE r.alert_seq = a.seq AND r.state = 1)"

static void
s_retain_row(sqlite3_stmt *st, vgb_retain_row *out)
{
    *out = (vgb_retain_row){.seq = (uint64_t)sqlite3_column_int64(st, 0),
                            .status = sqlite3_column_int(st, 2),
                            .categories = (const char *)sqlite3_column_text(st, 3),
                            .accepted_ms = sqlite3_column_int64(st, 4),
                            .content_gone_ms = sqlite3_column_int64(st, 5),
                            .tags_gone_ms = sqlite3_column_int64(st, 6),
                            .held = sqlite3_column_int(st, 7) != 0,
                            .pending = sqlite3_column_int(st, 8) != 0};
    if (sqlite3_column_bytes(st, 1) == VG_ALERT_ID_LEN) {
        memcpy(out->id, sqlite3_column_blob(st, 1), VG_ALERT_ID_LEN);
    }
    if (out->categories == NULL) {
        out->categories = "";
    }
}

vg_err
vgb_sqlite_retain_candidates(vgb_store *base, int64_t before_ms, uint64_t after_seq, size_t limit,
                             vgb_retain_fn fn, void *ctx)
{
    static const char sql[] = "SELECT " S_RETAIN_COLS " FROM alerts a"
                              " LEFT JOIN purges p ON p.alert_seq = a.seq"
                              " WHERE a.seq > ?1 AND a.accepted_ms < ?2"
                              " AND (p.content_ms IS NULL OR p.tags_ms IS NULL)"
                              " ORDER BY a.seq LIMIT ?3";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)after_seq);
    sqlite3_bind_int64(st, 2, before_ms);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        vgb_retain_row r;
        s_retain_row(st, &r);
        if (!fn(ctx, &r)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail(s, rc, "read retention candidates");
}

vg_err
vgb_sqlite_retain_state(vgb_store *base, uint64_t seq, vgb_retain_row *out)
{
    static const char sql[] = "SELECT " S_RETAIN_COLS " FROM alerts a"
                              " LEFT JOIN purges p ON p.alert_seq = a.seq WHERE a.seq = ?1";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    int rc = sqlite3_step(st);
    vg_err err = VG_ERR_NOT_FOUND;
    if (rc == SQLITE_ROW) {
        s_retain_row(st, out);
        out->categories = NULL;
        err = VG_OK;
    } else if (rc != SQLITE_DONE) {
        err = vgb_sqlite_fail(s, rc, "read retention state");
    }
    sqlite3_reset(st);
    return err;
}

static vg_err
s_exec_seq(vgb_sqlite *s, const char *sql, uint64_t seq, int64_t ms, const char *what)
{
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    if (ms != 0) {
        sqlite3_bind_int64(st, 2, ms);
    }
    return vgb_sqlite_exec_why(s, st, what, NULL);
}

vg_err
vgb_sqlite_purge(vgb_store *base, uint64_t seq, bool content, bool tags, int64_t now_ms)
{
    static const char envelope[] = "UPDATE alerts SET envelope = X'' WHERE seq = ?1";
    static const char shares[] = "UPDATE shares SET share = X'' WHERE alert_seq = ?1";
    static const char link_tags[] = "DELETE FROM link_tags WHERE alert_seq = ?1";
    static const char row[] = "INSERT OR IGNORE INTO purges(alert_seq) VALUES (?1)";
    static const char content_at[] =
        "UPDATE purges SET content_ms = ?2 WHERE alert_seq = ?1 AND content_ms IS NULL";
    static const char tags_at[] =
        "UPDATE purges SET tags_ms = ?2 WHERE alert_seq = ?1 AND tags_ms IS NULL";
    vgb_sqlite *s = (vgb_sqlite *)base;
    vg_err err = s_exec_seq(s, row, seq, 0, "purge");
    if (err == VG_OK && content) {
        err = s_exec_seq(s, envelope, seq, 0, "purge envelope");
        err = err == VG_OK ? s_exec_seq(s, shares, seq, 0, "purge shares") : err;
        err = err == VG_OK ? s_exec_seq(s, content_at, seq, now_ms, "purge") : err;
    }
    if (err == VG_OK && tags) {
        err = s_exec_seq(s, link_tags, seq, 0, "purge link tags");
        err = err == VG_OK ? s_exec_seq(s, tags_at, seq, now_ms, "purge") : err;
    }
    return err;
}

vg_err
vgb_sqlite_scrub(vgb_store *base, vg_reason *why)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    int busy = 0, log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
    if (rc == SQLITE_BUSY) {
        busy = 1;
    } else if (rc != SQLITE_OK) {
        return vgb_sqlite_fail_why(s, rc, "checkpoint after purge", why);
    }
    if (busy) {
        vg_log(VG_LOG_WARN, "broker", "purge.scrub_busy", "path=%s wal_frames=%d copied=%d",
               s->path, log, done);
        return vg_reason_set(why, VG_ERR_IO,
                             "the WAL of %s could not be emptied now (a reader holds it): the "
                             "purged bytes leave it at the next checkpoint",
                             s->path);
    }
    s->wal_frames = 0;
    return VG_OK;
}

vg_err
vgb_sqlite_hold_add(vgb_store *base, const vgb_hold_row *h)
{
    static const char sql[] =
        "INSERT INTO legal_holds(alert_id, held_ms, held_by, reason) VALUES (?1, ?2, ?3, ?4)";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_blob(st, 1, h->id, VG_ALERT_ID_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, h->held_ms);
    sqlite3_bind_text(st, 3, h->by, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, h->reason, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        return VG_ERR_CONFLICT; /* held already: not a store failure */
    }
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail(s, rc, "add legal hold");
}

/* Calls fn for the holds the statement returns. */
static vg_err
s_holds(vgb_sqlite *s, sqlite3_stmt *st, vgb_hold_fn fn, void *ctx, bool *any)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        vgb_hold_row h = {.held_ms = sqlite3_column_int64(st, 1),
                          .by = (const char *)sqlite3_column_text(st, 2),
                          .reason = (const char *)sqlite3_column_text(st, 3)};
        if (sqlite3_column_bytes(st, 0) == VG_ALERT_ID_LEN) {
            memcpy(h.id, sqlite3_column_blob(st, 0), VG_ALERT_ID_LEN);
        }
        h.by = h.by ? h.by : "";
        h.reason = h.reason ? h.reason : "";
        *any = true;
        if (fn != NULL) {
            fn(ctx, &h);
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail(s, rc, "read legal holds");
}

vg_err
vgb_sqlite_hold_remove(vgb_store *base, const uint8_t id[VG_ALERT_ID_LEN], vgb_hold_fn fn,
                       void *ctx)
{
    static const char get[] =
        "SELECT alert_id, held_ms, held_by, reason FROM legal_holds WHERE alert_id = ?1";
    static const char del[] = "DELETE FROM legal_holds WHERE alert_id = ?1";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, get);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_blob(st, 1, id, VG_ALERT_ID_LEN, SQLITE_STATIC);
    bool any = false;
    vg_err err = s_holds(s, st, fn, ctx, &any);
    if (err != VG_OK || !any) {
        return err != VG_OK ? err : VG_ERR_NOT_FOUND;
    }
    if ((st = vgb_sqlite_stmt(s, del)) == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_blob(st, 1, id, VG_ALERT_ID_LEN, SQLITE_STATIC);
    return vgb_sqlite_exec_why(s, st, "lift legal hold", NULL);
}

vg_err
vgb_sqlite_holds(vgb_store *base, vgb_hold_fn fn, void *ctx)
{
    static const char sql[] =
        "SELECT alert_id, held_ms, held_by, reason FROM legal_holds ORDER BY alert_id";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    bool any = false;
    return s_holds(s, st, fn, ctx, &any);
}
