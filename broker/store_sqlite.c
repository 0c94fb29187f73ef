/* store_sqlite.c — the SQLite back end of the store: opening, schema and
 * migrations, transactions, and its table of operations (see store.h,
 * store_sqlite.h). Alerts and deliveries are in store_sqlite_alerts.c. */
#include "store_sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "vigil.pb-c.h"
#include "vigil/log.h"

/* 2: acknowledgement tracking and the audit log. 3: event runs. 4: delivery
 * retries in the store (recipients.next_try_ms, tries) and every network
 * document served. 5: out-of-hours cover (recipients.cover_for). 6: the
 * link-tag index (link_tags). 7: witness cosignatures (cosignatures). 8:
 * retention (purges, legal_holds). Versions before 3 existed only in
 * development builds and are not migrated; 3 to 7 are migrated in place
 * (s_migrations). */
#define S_SCHEMA_VERSION 8
_Static_assert(S_SCHEMA_VERSION == VGB_STORE_SCHEMA_VERSION, "one schema numbering");
#define S_SCHEMA_OLDEST 3 /* the oldest schema this broker migrates */
#define S_STR(x) #x
#define S_XSTR(x) S_STR(x)

/* Version 7: witness cosignatures of checkpoints (store_witness.h). One
 * statement, the migration's and the new store's alike. */
#define S_COSIGNATURES_TABLE                                                                       \
    "CREATE TABLE IF NOT EXISTS cosignatures("                                                     \
    " size INTEGER NOT NULL,"                                                                      \
    " agency TEXT NOT NULL,"                                                                       \
    " line TEXT NOT NULL,"                                                                         \
    " time_s INTEGER NOT NULL,"                                                                    \
    " received_ms INTEGER NOT NULL,"                                                               \
    " PRIMARY KEY(size, agency)) WITHOUT ROWID;"

static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS alerts("
    " seq INTEGER PRIMARY KEY,"
    " alert_id BLOB NOT NULL UNIQUE,"
    " sender TEXT NOT NULL,"
    " sender_seq INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " accepted_ms INTEGER NOT NULL,"
    " status INTEGER NOT NULL,"
    " msg_type INTEGER NOT NULL,"
    " severity INTEGER NOT NULL,"
    " urgency INTEGER NOT NULL,"
    " categories TEXT NOT NULL,"
    " network_version INTEGER NOT NULL,"
    " envelope_hash BLOB NOT NULL,"
    " envelope BLOB NOT NULL,"
    " complete_ms INTEGER);"
    "CREATE TABLE IF NOT EXISTS recipients("
    " alert_seq INTEGER NOT NULL REFERENCES alerts(seq),"
    " agency TEXT NOT NULL,"
    " required INTEGER NOT NULL,"
    " state INTEGER NOT NULL,"
    " delivered_ms INTEGER,"
    " deadline_ms INTEGER NOT NULL DEFAULT 0,"
    " state_ms INTEGER,"
    " acked_ms INTEGER,"
    " officer TEXT,"
    " note TEXT,"
    " reason TEXT,"
    " progress_used INTEGER NOT NULL DEFAULT 0,"
    " esc_level INTEGER NOT NULL DEFAULT 0,"
    " overdue_ms INTEGER,"
    " shared_by TEXT,"
    " next_try_ms INTEGER NOT NULL DEFAULT 0," /* a delivery that went unreceipted waits */
    " tries INTEGER NOT NULL DEFAULT 0,"       /* ... this many times so far */
    " cover_for TEXT,"                         /* out-of-hours cover for that agency */
    " PRIMARY KEY(alert_seq, agency));"
    /* Deliveries to make: fresh ones (next_try_ms 0) in acceptance order,
     * then the retries that are due (vgb_store_pending). */
    "CREATE INDEX IF NOT EXISTS recipients_todo ON recipients(agency, next_try_ms, alert_seq)"
    " WHERE state = 1;"
    "CREATE INDEX IF NOT EXISTS recipients_open ON recipients(agency, alert_seq)"
    " WHERE required = 1 AND state <> 3;"
    /* The tracker's timers beyond its watermark wait here (vgb_store_open_rows);
     * esc_level in the index skips finished rows without reading them. */
    "CREATE INDEX IF NOT EXISTS recipients_deadline ON recipients(deadline_ms, esc_level)"
    " WHERE required = 1 AND state <> 3 AND deadline_ms > 0;"
    "CREATE TABLE IF NOT EXISTS shares("
    " id INTEGER PRIMARY KEY,"
    " alert_seq INTEGER NOT NULL REFERENCES alerts(seq),"
    " sharer TEXT NOT NULL,"
    " to_agency TEXT NOT NULL,"
    " received_ms INTEGER NOT NULL,"
    " share_hash BLOB NOT NULL UNIQUE,"
    " share BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS shares_to ON shares(alert_seq, to_agency);"
    /* A row is a run of n consecutive events of one agency's stream that
     * differ only in their alert: seq and alert_seq are the first's, `more`
     * holds the other n - 1 alert seqs (8-byte little-endian each). */
    "CREATE TABLE IF NOT EXISTS events("
    " id INTEGER PRIMARY KEY,"
    " agency TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " n INTEGER NOT NULL DEFAULT 1,"
    " time_ms INTEGER NOT NULL,"
    " kind INTEGER NOT NULL,"
    " alert_seq INTEGER,"
    " about TEXT NOT NULL,"
    " detail TEXT NOT NULL,"
    " count INTEGER NOT NULL,"
    " level INTEGER NOT NULL,"
    " receipt BLOB,"
    " more BLOB,"
    " UNIQUE(agency, seq));"
    "CREATE TABLE IF NOT EXISTS receipts("
    " id INTEGER PRIMARY KEY,"
    " agency TEXT NOT NULL,"
    " kind INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " received_ms INTEGER NOT NULL,"
    " receipt_hash BLOB NOT NULL UNIQUE,"
    " receipt BLOB NOT NULL,"
    " leaf_idx INTEGER);" /* a DELIVERED receipt's audit leaf, naming its receipt_items */
    /* Columns in primary-key order: SQLite 3.40's quick_check misreports
     * NOT NULL in a WITHOUT ROWID table whose key is in another order. */
    "CREATE TABLE IF NOT EXISTS receipt_items("
    " alert_seq INTEGER NOT NULL REFERENCES alerts(seq),"
    " receipt_id INTEGER NOT NULL REFERENCES receipts(id),"
    " PRIMARY KEY(alert_seq, receipt_id)) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX IF NOT EXISTS alerts_sender_seq ON alerts(sender, sender_seq);"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    /* Every network document this store was served with, exactly as signed:
     * which versions an envelope may still be sealed under (netdocs.h). */
    "CREATE TABLE IF NOT EXISTS network_documents("
    " version INTEGER PRIMARY KEY, document BLOB NOT NULL);"
    /* Link tags (keyed hashes, never a reference in clear): which alerts
     * share a subject (docs/network.md "Link tags"). */
    "CREATE TABLE IF NOT EXISTS link_tags("
    " tag BLOB NOT NULL,"
    " alert_seq INTEGER NOT NULL REFERENCES alerts(seq),"
    " PRIMARY KEY(tag, alert_seq)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS link_tags_alert ON link_tags(alert_seq, tag);"
    "CREATE TABLE IF NOT EXISTS rejections("
    " id INTEGER PRIMARY KEY,"
    " at_ms INTEGER NOT NULL,"
    " agency TEXT NOT NULL,"
    " alert_id BLOB,"
    " code TEXT NOT NULL,"
    " reason TEXT NOT NULL);" S_COSIGNATURES_TABLE
    /* Retention (store_retain.h): what of an alert was purged, and when;
     * the legal holds that keep an alert from it. */
    "CREATE TABLE IF NOT EXISTS purges("
    " alert_seq INTEGER PRIMARY KEY REFERENCES alerts(seq),"
    " content_ms INTEGER,"
    " tags_ms INTEGER);"
    "CREATE TABLE IF NOT EXISTS legal_holds("
    " alert_id BLOB PRIMARY KEY,"
    " held_ms INTEGER NOT NULL,"
    " held_by TEXT NOT NULL,"
    " reason TEXT NOT NULL);";

/* s_migrations[v] takes a store from schema v to v + 1, inside the same
 * transaction as the CREATE ... IF NOT EXISTS of s_schema that follows it
 * (which adds the new tables). */
static const char *const s_migrations[S_SCHEMA_VERSION] = {
    [3] = "ALTER TABLE recipients ADD COLUMN next_try_ms INTEGER NOT NULL DEFAULT 0;"
          "ALTER TABLE recipients ADD COLUMN tries INTEGER NOT NULL DEFAULT 0;"
          "DROP INDEX IF EXISTS recipients_pending;",
    [4] = "ALTER TABLE recipients ADD COLUMN cover_for TEXT;",
    [5] = "", /* link_tags is a new table: s_schema makes it */
    [6] = S_COSIGNATURES_TABLE,
    [7] = "", /* purges and legal_holds are new tables: s_schema makes them */
};

sqlite3_stmt *
vgb_sqlite_stmt(vgb_sqlite *s, const char *sql)
{
    vgb_stmt_cache *c = &s->cache;
    for (size_t i = 0; i < c->n; i++) {
        if (c->sql[i] == sql) {
            sqlite3_reset(c->stmt[i]);
            sqlite3_clear_bindings(c->stmt[i]);
            return c->stmt[i];
        }
    }
    sqlite3_stmt *st = NULL;
    if (c->n == VGB_STMT_CACHE_MAX ||
        sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        vg_log(VG_LOG_ERROR, "broker", "store.error", "op=prepare msg=\"%s\"",
               sqlite3_errmsg(s->db));
        return NULL;
    }
    c->sql[c->n] = sql;
    c->stmt[c->n++] = st;
    return st;
}

vg_err
vgb_sqlite_fail(vgb_sqlite *s, int rc, const char *what)
{
    return vgb_sqlite_fail_why(s, rc, what, NULL);
}

vg_err
vgb_sqlite_err(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return VG_OK;
    case SQLITE_FULL:
        return VG_ERR_STORAGE_FULL;
    case SQLITE_NOMEM:
        return VG_ERR_NOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return VG_ERR_MALFORMED;
    case SQLITE_CONSTRAINT:
        return VG_ERR_CONFLICT;
    default:
        return VG_ERR_IO;
    }
}

vg_err
vgb_sqlite_fail_why(vgb_sqlite *s, int rc, const char *what, vg_reason *why)
{
    vg_err err = vgb_sqlite_err(rc);
    vg_log(VG_LOG_ERROR, "broker", "store.error", "op=%s sqlite=%d msg=\"%s\"", what, rc,
           sqlite3_errmsg(s->db));
    return vg_reason_set(why, err, "store %s: %s failed: %s", s->path, what, sqlite3_errmsg(s->db));
}

/* Steps a statement that returns no rows. */
vg_err
vgb_sqlite_exec_why(vgb_sqlite *s, sqlite3_stmt *st, const char *what, vg_reason *why)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail_why(s, rc, what, why);
}

/* Waits for a lock held by another connection in 100 us steps. SQLite's
 * sqlite3_busy_timeout sleeps 1, 2, 5, 10 ... ms between tries, which would
 * turn the checkpointer's RESTART (it holds the write lock for a millisecond
 * or two) into a stall of the loop several times that long. Counted in calls,
 * not read from a clock: the broker's clock may be a test's, and the sleeps
 * only ever make the wait longer. */
static int
s_busy(void *ctx, int n_calls)
{
    (void)ctx;
    if ((int64_t)n_calls >= (int64_t)VGB_STORE_BUSY_MS * 10) {
        return 0;
    }
    struct timespec step = {0, 100 * 1000};
    nanosleep(&step, NULL);
    return 1;
}

/* After each commit that wrote frames: how many the WAL holds now. */
static int
s_wal_hook(void *ctx, sqlite3 *db, const char *name, int n_frames)
{
    (void)db;
    (void)name;
    vgb_sqlite *s = ctx;
    s->wal_frames = n_frames > 0 ? (uint32_t)n_frames : 0;
    return SQLITE_OK;
}

/* PRAGMA quick_check: the b-trees and their pages are sound (O(size), run once at start). */
static vg_err
s_quick_check(vgb_sqlite *s, vg_reason *why)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL);
    const char *res = NULL;
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        res = (const char *)sqlite3_column_text(st, 0);
    }
    vg_err err = VG_OK;
    if (res == NULL || strcmp(res, "ok") != 0) {
        vg_log(VG_LOG_ERROR, "broker", "store.damaged", "path=%s detail=\"%s\"", s->path,
               res ? res : sqlite3_errmsg(s->db));
        err = vg_reason_set(why, VG_ERR_MALFORMED,
                            "store %s is damaged (%s): restore it from a backup; the broker will "
                            "not serve it and has changed nothing",
                            s->path, res ? res : sqlite3_errmsg(s->db));
    }
    sqlite3_finalize(st);
    return err;
}

/* The schema version of an open database (PRAGMA user_version), or -1. */
static int
s_schema_version(vgb_sqlite *s, int *rc_out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
    int version =
        (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    *rc_out = rc;
    return version;
}

static vg_err
s_check_version(vgb_sqlite *s, int version, vg_reason *why)
{
    if (version != 0 && version < S_SCHEMA_OLDEST) {
        return vg_reason_set(why, VG_ERR_IO,
                             "store %s has schema version %d, from a development build this "
                             "broker cannot migrate; move the store directory away (the broker "
                             "never deletes one) and start again",
                             s->path, version);
    }
    if (version > S_SCHEMA_VERSION) {
        return vg_reason_set(why, VG_ERR_IO,
                             "store %s has schema version %d; this program knows up to %d: run a "
                             "newer one",
                             s->path, version, S_SCHEMA_VERSION);
    }
    return VG_OK;
}

/* The owner's connection: WAL, checks, schema (made or migrated). */
static vg_err
s_setup(vgb_sqlite *s, vg_reason *why)
{
    /* wal_autocheckpoint=0: no checkpoint inside COMMIT (see store_sqlite.h). */
    static const char pragmas[] = "PRAGMA journal_mode=WAL;"
                                  "PRAGMA synchronous=FULL;"
                                  "PRAGMA foreign_keys=ON;"
                                  "PRAGMA secure_delete=ON;" /* a purge leaves no bytes */
                                  "PRAGMA wal_autocheckpoint=0;";
    sqlite3_busy_handler(s->db, s_busy, s);
    int rc = sqlite3_exec(s->db, pragmas, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        return vgb_sqlite_fail_why(s, rc, "setup", why);
    }
    sqlite3_wal_hook(s->db, s_wal_hook, s); /* after the pragma, which sets the hook too */
    int version = s_schema_version(s, &rc);
    if (version < 0) {
        return vgb_sqlite_fail_why(s, rc == SQLITE_OK ? SQLITE_CORRUPT : rc, "read schema version",
                                   why);
    }
    if (version != 0) { /* an existing store: refuse a damaged one rather than serve it */
        vg_err err = s_quick_check(s, why);
        if (err != VG_OK) {
            return err;
        }
    }
    vg_err err = s_check_version(s, version, why);
    if (err != VG_OK) {
        return err;
    }
    rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    for (int v = version; rc == SQLITE_OK && v != 0 && v < S_SCHEMA_VERSION; v++) {
        vg_log(VG_LOG_INFO, "broker", "store.migrate", "path=%s from=%d to=%d", s->path, v, v + 1);
        rc = sqlite3_exec(s->db, s_migrations[v], NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(s->db, s_schema, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(s->db, vgb_sqlite_audit_schema, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(s->db, "PRAGMA user_version=" S_XSTR(S_SCHEMA_VERSION) "; COMMIT", NULL,
                          NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        err = vgb_sqlite_fail_why(s, rc, "create schema", why);
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return err;
    }
    return vgb_sqlite_prepare_fixed(s, why);
}

/* A read-only connection: nothing made, nothing written, nothing compacted. */
static vg_err
s_setup_reader(vgb_sqlite *s, bool check_version, vg_reason *why)
{
    s->read_only = true;
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
    sqlite3_busy_handler(s->db, s_busy, s);
    int rc = SQLITE_OK;
    int version = check_version ? s_schema_version(s, &rc) : S_SCHEMA_VERSION;
    if (version < 0) {
        return vgb_sqlite_fail_why(s, rc == SQLITE_OK ? SQLITE_CORRUPT : rc, "read schema version",
                                   why);
    }
    if (version == 0) {
        return vg_reason_set(why, VG_ERR_NOT_FOUND, "%s is not a vigil store (no schema)", s->path);
    }
    vg_err err = s_check_version(s, version, why);
    if (err == VG_OK && version < S_SCHEMA_VERSION) {
        err = vg_reason_set(why, VG_ERR_IO,
                            "store %s has schema version %d: start the broker on it once to "
                            "migrate it to %d, then read it",
                            s->path, version, S_SCHEMA_VERSION);
    }
    return err == VG_OK ? vgb_sqlite_prepare_fixed(s, why) : err;
}

static const vgb_store_ops s_ops;

static vgb_sqlite *
s_new(const char *path)
{
    vgb_sqlite *s = calloc(1, sizeof *s);
    if (s == NULL || (s->path = vg_strdup(path)) == NULL) {
        free(s);
        return NULL;
    }
    s->base.ops = &s_ops;
    return s;
}

vg_err
vgb_sqlite_open(vgb_store **out, const char *dir, bool read_only, vg_reason *why)
{
    vg_err err = read_only ? VG_OK : vg_mkdir_p(dir, 0700, why);
    if (err != VG_OK) {
        return err;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/vigil.db", dir);
    vgb_sqlite *s = s_new(path);
    if (s == NULL) {
        return VG_ERR_NOMEM;
    }
    int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(s->path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        err = vg_reason_set(why, rc == SQLITE_CANTOPEN ? VG_ERR_NOT_FOUND : VG_ERR_IO,
                            "cannot open store %s: %s", s->path,
                            s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    } else if (read_only) {
        err = s_setup_reader(s, true, why);
    } else {
        /* Until the owner says the store is sound (vgb_store_mark_sound),
         * closing it must not change it: no checkpoint of a WAL into a
         * damaged database, no WAL deleted. */
        sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
        int persist = 1; /* the WAL file is never removed by the broker */
        sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
        err = s_setup(s, why);
    }
    vgb_store *base = &s->base;
    if (err != VG_OK) {
        vgb_store_destroy(&base);
        return err;
    }
    *out = base;
    return VG_OK;
}

static vg_err
s_open_reader(vgb_store **out, const vgb_store *owner_base, vg_reason *why)
{
    const vgb_sqlite *owner = (const vgb_sqlite *)owner_base;
    vgb_sqlite *s = s_new(owner->path);
    if (s == NULL) {
        return VG_ERR_NOMEM;
    }
    int rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    vg_err err = rc == SQLITE_OK
                     ? s_setup_reader(s, false, why)
                     : vg_reason_set(why, VG_ERR_IO, "cannot open store %s for reading: %s",
                                     s->path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    vgb_store *base = &s->base;
    if (err != VG_OK) {
        vgb_store_destroy(&base);
        return err;
    }
    *out = base;
    return VG_OK;
}

static vg_err
s_read_begin(vgb_store *base, vg_reason *why)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    /* A deferred BEGIN takes its snapshot at the first read, not here: read
     * now, so that the transaction sees what was committed before
     * vgb_store_read_begin and nothing after (store.h). */
    int rc = sqlite3_exec(s->db, "BEGIN; SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        vg_err err = vgb_sqlite_fail_why(s, rc, "begin read", why);
        vgb_store_rollback(base);
        return err;
    }
    return VG_OK;
}

static void
s_read_end(vgb_store *base)
{
    vgb_store_rollback(base); /* nothing was written: ending it is all */
}

static void
s_mark_sound(vgb_store *base)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, (int *)NULL);
}

static const char *
s_path(const vgb_store *base)
{
    return ((const vgb_sqlite *)base)->path;
}

static vg_err
s_start_background(vgb_store *base, const vgb_store_background *bg, vg_reason *why)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    if (s->read_only || s->ckpt != NULL) {
        return VG_OK;
    }
    return vgb_ckpt_new(&s->ckpt, bg->zmq_ctx, s->path, bg->wal_checkpoint_pages, why);
}

static void
s_after_commit(vgb_store *base)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    if (s->ckpt != NULL) { /* asks the checkpointer, never waits for it */
        vgb_ckpt_after_commit(s->ckpt, s->wal_frames);
    }
}

static void
s_stop_background(vgb_store *base)
{
    vgb_ckpt_destroy(&((vgb_sqlite *)base)->ckpt);
}

static void
s_destroy(vgb_store *base)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    vgb_ckpt_destroy(&s->ckpt); /* before this connection closes, which checkpoints last */
    if (s->db != NULL && !sqlite3_get_autocommit(s->db)) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    for (int i = 0; i < VGB_SQLITE_FIXED_STMTS; i++) {
        sqlite3_finalize(s->stmt[i]); /* NULL (never prepared) is a no-op */
    }
    for (size_t i = 0; i < s->cache.n; i++) {
        sqlite3_finalize(s->cache.stmt[i]);
    }
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

static vg_err
s_begin(vgb_store *base, vg_reason *why)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    if (s->read_only) {
        vg_log(VG_LOG_ERROR, "broker", "store.error", "op=begin detail=read_only path=%s", s->path);
        return vg_reason_set(why, VG_ERR_INTERNAL, "store %s is open read-only", s->path);
    }
    int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    return rc == SQLITE_OK ? VG_OK : vgb_sqlite_fail_why(s, rc, "begin", why);
}

static vg_err
s_commit(vgb_store *base, vg_reason *why)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    int rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        return VG_OK;
    }
    vg_err err = vgb_sqlite_fail_why(s, rc, "commit", why);
    vgb_store_rollback(base);
    return err;
}

static void
s_rollback(vgb_store *base)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    if (!sqlite3_get_autocommit(s->db)) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
}

static bool
s_in_transaction(const vgb_store *base)
{
    return !sqlite3_get_autocommit(((const vgb_sqlite *)base)->db);
}

static const vgb_store_ops s_ops = {
    .destroy = s_destroy,
    .open_reader = s_open_reader,
    .read_begin = s_read_begin,
    .read_end = s_read_end,
    .mark_sound = s_mark_sound,
    .path = s_path,
    .start_background = s_start_background,
    .after_commit = s_after_commit,
    .stop_background = s_stop_background,
    .network_version = vgb_sqlite_network_version,
    .set_network_version = vgb_sqlite_set_network_version,
    .add_network_document = vgb_sqlite_add_network_document,
    .network_documents = vgb_sqlite_network_documents,
    .begin = s_begin,
    .commit = s_commit,
    .rollback = s_rollback,
    .in_transaction = s_in_transaction,
    .find_alert = vgb_sqlite_find_alert,
    .same_envelope = vgb_sqlite_same_envelope,
    .sequence_used = vgb_sqlite_sequence_used,
    .insert_alert = vgb_sqlite_insert_alert,
    .find_alert_for = vgb_sqlite_find_alert_for,
    .mark_delivered = vgb_sqlite_mark_delivered,
    .insert_receipt = vgb_sqlite_insert_receipt,
    .receipt_leaf = vgb_sqlite_receipt_leaf,
    .insert_rejection = vgb_sqlite_insert_rejection,
    .pending = vgb_sqlite_pending,
    .park = vgb_sqlite_park,
    .next_try = vgb_sqlite_next_try,
    .count_pending = vgb_sqlite_count_pending,
    .envelope = vgb_sqlite_envelope,
    .sender_bytes = vgb_sqlite_sender_bytes,
    .count_alerts = vgb_sqlite_count_alerts,
    .alert_meta = vgb_sqlite_alert_meta,
    .rrow = vgb_sqlite_rrow,
    .recipients_of = vgb_sqlite_recipients_of,
    .open_rows = vgb_sqlite_open_rows,
    .apply_receipt = vgb_sqlite_apply_receipt,
    .set_escalation = vgb_sqlite_set_escalation,
    .add_recipient = vgb_sqlite_add_recipient,
    .insert_share = vgb_sqlite_insert_share,
    .shares_to = vgb_sqlite_shares_to,
    .check_complete = vgb_sqlite_check_complete,
    .insert_events = vgb_sqlite_insert_events,
    .last_event = vgb_sqlite_last_event,
    .events_after = vgb_sqlite_events_after,
    .outstanding = vgb_sqlite_outstanding,
    .alert_leaves = vgb_sqlite_alert_leaves,
    .count_waiting = vgb_sqlite_count_waiting,
    .shift_times = vgb_sqlite_shift_times,
    .audit_size = vgb_sqlite_audit_size,
    .audit_node = vgb_sqlite_audit_node,
    .audit_leaf = vgb_sqlite_audit_leaf,
    .audit_append = vgb_sqlite_audit_append,
    .audit_add_checkpoint = vgb_sqlite_audit_add_checkpoint,
    .audit_latest_checkpoint = vgb_sqlite_audit_latest_checkpoint,
    .audit_checkpoints = vgb_sqlite_audit_checkpoints,
    .audit_checkpoint_at = vgb_sqlite_audit_checkpoint_at,
    .add_cosignature = vgb_sqlite_add_cosignature,
    .cosignatures = vgb_sqlite_cosignatures,
    .audit_leaves = vgb_sqlite_audit_leaves,
    .audit_nodes_beyond = vgb_sqlite_audit_nodes_beyond,
    .link_leaf = vgb_sqlite_link_leaf,
    .alert_ids = vgb_sqlite_alert_ids,
    .add_link_tags = vgb_sqlite_add_link_tags,
    .retain_candidates = vgb_sqlite_retain_candidates,
    .retain_state = vgb_sqlite_retain_state,
    .purge = vgb_sqlite_purge,
    .scrub = vgb_sqlite_scrub,
    .hold_add = vgb_sqlite_hold_add,
    .hold_remove = vgb_sqlite_hold_remove,
    .holds = vgb_sqlite_holds,
    .linked_earlier = vgb_sqlite_linked_earlier,
    .link_pairs = vgb_sqlite_link_pairs,
    .link_tags_of = vgb_sqlite_link_tags_of,
    .tagged = vgb_sqlite_tagged,
    .alert_by_id = vgb_sqlite_alert_by_id,
    .receipt_names = vgb_sqlite_receipt_names,
    .share_exists = vgb_sqlite_share_exists,
    .required_rows = vgb_sqlite_required_rows,
    .count = vgb_sqlite_count,
    .alerts_after = vgb_sqlite_alerts_after,
    .receipts_of = vgb_sqlite_receipts_of,
    .receipt_by_hash = vgb_sqlite_receipt_by_hash,
    .shares_of = vgb_sqlite_shares_of,
    .alert_leaf_links = vgb_sqlite_alert_leaf_links,
    .rejections_after = vgb_sqlite_rejections_after,
    .event_runs = vgb_sqlite_event_runs,
};
