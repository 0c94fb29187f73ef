/* agent_store.c — the agency's local outbox and inbox (see agent_store.h). */
#include "agent_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "vigil/log.h"
#include "vigil/util.h"

static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS outbox("
    " alert_id BLOB PRIMARY KEY, seq INTEGER NOT NULL, envelope BLOB NOT NULL,"
    " queued_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS sent("
    " alert_id BLOB PRIMARY KEY, outcome TEXT NOT NULL, reason TEXT NOT NULL,"
    " at_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS inbox("
    " id INTEGER PRIMARY KEY, alert_id BLOB NOT NULL UNIQUE, sender TEXT NOT NULL,"
    " envelope_hash BLOB NOT NULL, envelope BLOB NOT NULL, share BLOB,"
    " received_ms INTEGER NOT NULL, surfaced INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS inbox_unsurfaced ON inbox(id) WHERE surfaced = 0;"
    "CREATE TABLE IF NOT EXISTS checkpoints("
    " size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL,"
    " received_ms INTEGER NOT NULL, checked INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_faults("
    " id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, kind TEXT NOT NULL,"
    " reason TEXT NOT NULL, held_note TEXT, bad_note TEXT);";

/* Version 2 (issue 13): the inbox records what was handed to an
 * acknowledging program and how each hand-over ended, for at-least-once
 * `listen --exec`. ALTER TABLE ADD COLUMN keeps existing rows and is
 * invisible to older code (its INSERTs get the defaults), so a store is
 * migrated in place the first time a newer agent opens it. */
#define S_SCHEMA_VERSION 3
static const char s_migrate_v2[] =
    "ALTER TABLE inbox ADD COLUMN handover TEXT;"
    "ALTER TABLE inbox ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE inbox ADD COLUMN retry_ms INTEGER;"
    "CREATE INDEX inbox_handover_due ON inbox(retry_ms) WHERE handover = 'failed';"
    "CREATE TABLE handovers("
    " id INTEGER PRIMARY KEY, inbox_id INTEGER NOT NULL, handed_ms INTEGER NOT NULL,"
    " ended_ms INTEGER, outcome TEXT);"
    "CREATE INDEX handovers_by_inbox ON handovers(inbox_id);"
    "PRAGMA user_version = 2;";

/* Version 3 (issue 16): the broker signing keys this agency trusts as a
 * witness, and how it came to trust each (the first one it saw, or a
 * key-transition note signed by one it trusted), so that a checkpoint by a
 * new key is accepted only after a hand-over signed by the old one. A new
 * table: older code never sees it. */
static const char s_migrate_v3[] =
    "CREATE TABLE broker_keys("
    " sign_key BLOB PRIMARY KEY, trusted_ms INTEGER NOT NULL, how TEXT NOT NULL, note TEXT);"
    "PRAGMA user_version = 3;";

struct vga_store {
    sqlite3 *db; /* the connection */
    char *path;  /* for messages */
};

static vg_err
s_fail(vga_store *s, int rc, const char *what, vg_reason *why)
{
    vg_log(VG_LOG_ERROR, "agent", "store.error", "op=%s sqlite=%d msg=\"%s\"", what, rc,
           sqlite3_errmsg(s->db));
    return vg_reason_set(why, (rc & 0xff) == SQLITE_FULL ? VG_ERR_STORAGE_FULL : VG_ERR_IO,
                         "local store %s: %s failed: %s", s->path, what, sqlite3_errmsg(s->db));
}

/* Prepares, binds with the callback and steps one statement that returns no row. */
static sqlite3_stmt *
s_prep(vga_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        return NULL;
    }
    return st;
}

static vg_err
s_done(vga_store *s, sqlite3_stmt *st, const char *what, vg_reason *why)
{
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? VG_OK : s_fail(s, rc, what, why);
}

/* Brings the schema up to S_SCHEMA_VERSION inside the open transaction
 * (BEGIN IMMEDIATE: two processes opening an old store migrate it once). */
static int
s_migrate(vga_store *s)
{
    sqlite3_stmt *st = s_prep(s, "PRAGMA user_version");
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    int version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (version < 0) {
        return rc == SQLITE_ROW ? SQLITE_ERROR : rc;
    }
    rc = SQLITE_OK;
    if (version < 2) {
        rc = sqlite3_exec(s->db, s_migrate_v2, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK && version < 3) {
        rc = sqlite3_exec(s->db, s_migrate_v3, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK && version < S_SCHEMA_VERSION) {
        vg_log(VG_LOG_INFO, "agent", "store.migrated", "path=%s from=%d to=%d", s->path, version,
               S_SCHEMA_VERSION);
    }
    return rc;
}

vg_err
vga_store_open(vga_store **out, const char *dir, vg_reason *why)
{
    vg_err err = vg_mkdir_p(dir, 0700, why);
    if (err != VG_OK) {
        return err;
    }
    vga_store *s = calloc(1, sizeof *s);
    size_t n = strlen(dir) + sizeof "/agent.db";
    if (s == NULL || (s->path = malloc(n)) == NULL) {
        free(s);
        return VG_ERR_NOMEM;
    }
    snprintf(s->path, n, "%s/agent.db", dir);
    int rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(s->db, 10000);
        rc = sqlite3_exec(s->db,
                          "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                          "BEGIN IMMEDIATE;",
                          NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(s->db, s_schema, NULL, NULL, NULL);
        rc = rc == SQLITE_OK ? s_migrate(s) : rc;
        rc = rc == SQLITE_OK ? sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) : rc;
    }
    if (rc != SQLITE_OK) {
        err = vg_reason_set(why, VG_ERR_IO, "cannot open local store %s: %s", s->path,
                            s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        vga_store_destroy(&s);
        return err;
    }
    *out = s;
    return VG_OK;
}

void
vga_store_destroy(vga_store **s_p)
{
    if (s_p == NULL || *s_p == NULL) {
        return;
    }
    vga_store *s = *s_p;
    if (s->db != NULL && !sqlite3_get_autocommit(s->db)) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_close(s->db);
    free(s->path);
    free(s);
    *s_p = NULL;
}

vg_err
vga_store_begin(vga_store *s, vg_reason *why)
{
    int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    return rc == SQLITE_OK ? VG_OK : s_fail(s, rc, "begin", why);
}

vg_err
vga_store_commit(vga_store *s, vg_reason *why)
{
    int rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        return VG_OK;
    }
    vg_err err = s_fail(s, rc, "commit", why);
    vga_store_rollback(s);
    return err;
}

void
vga_store_rollback(vga_store *s)
{
    if (!sqlite3_get_autocommit(s->db)) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
}

vg_err
vga_store_next_seq(vga_store *s, int64_t now_ms, uint64_t *out)
{
    sqlite3_stmt *st = s_prep(s, "SELECT value FROM meta WHERE key = 'last_seq'");
    uint64_t last = 0;
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    if (rc == SQLITE_ROW) {
        last = (uint64_t)sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return s_fail(s, rc, "read sequence", NULL);
    }
    uint64_t next = last + 1 > (uint64_t)now_ms ? last + 1 : (uint64_t)now_ms;
    st = s_prep(s, "INSERT INTO meta(key, value) VALUES ('last_seq', ?1)"
                   " ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)next);
    }
    vg_err err = s_done(s, st, "record sequence", NULL);
    if (err == VG_OK) {
        *out = next;
    }
    return err;
}

vg_err
vga_store_outbox_add(vga_store *s, const uint8_t id[VG_ALERT_ID_LEN], uint64_t seq,
                     const uint8_t *env, size_t len, int64_t now_ms)
{
    if (vga_store_outbox_has(s, id)) {
        return VG_ERR_DUPLICATE;
    }
    sqlite3_stmt *st = s_prep(s, "INSERT INTO outbox(alert_id, seq, envelope, queued_ms)"
                                 " VALUES (?1, ?2, ?3, ?4)");
    if (st != NULL) {
        sqlite3_bind_blob(st, 1, id, VG_ALERT_ID_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
        sqlite3_bind_blob(st, 3, env, (int)len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now_ms);
    }
    return s_done(s, st, "queue in outbox", NULL);
}

vg_err
vga_store_outbox_each(vga_store *s, vga_outbox_fn fn, void *ctx)
{
    sqlite3_stmt *st = s_prep(s, "SELECT alert_id, envelope FROM outbox ORDER BY seq");
    int rc = st ? SQLITE_OK : SQLITE_ERROR;
    while (st != NULL && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) == VG_ALERT_ID_LEN) {
            fn(ctx, sqlite3_column_blob(st, 0), sqlite3_column_blob(st, 1),
               (size_t)sqlite3_column_bytes(st, 1));
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? VG_OK : s_fail(s, rc, "read outbox", NULL);
}

vg_err
vga_store_outbox_count(vga_store *s, size_t *out)
{
    sqlite3_stmt *st = s_prep(s, "SELECT count(*) FROM outbox");
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    if (rc == SQLITE_ROW) {
        *out = (size_t)sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? VG_OK : s_fail(s, rc, "count outbox", NULL);
}

bool
vga_store_outbox_has(vga_store *s, const uint8_t id[VG_ALERT_ID_LEN])
{
    sqlite3_stmt *st = s_prep(s, "SELECT 1 FROM outbox WHERE alert_id = ?1");
    if (st == NULL) {
        return false;
    }
    sqlite3_bind_blob(st, 1, id, VG_ALERT_ID_LEN, SQLITE_STATIC);
    bool has = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return has;
}

vg_err
vga_store_outbox_done(vga_store *s, const uint8_t id[VG_ALERT_ID_LEN], const char *outcome,
                      const char *reason, int64_t now_ms)
{
    vg_err err = vga_store_begin(s, NULL);
    if (err != VG_OK) {
        return err;
    }
    if (vga_store_outbox_has(s, id)) {
        sqlite3_stmt *st = s_prep(s, "INSERT OR REPLACE INTO sent(alert_id, outcome, reason, at_ms)"
                                     " VALUES (?1, ?2, ?3, ?4)");
        if (st != NULL) {
            sqlite3_bind_blob(st, 1, id, VG_ALERT_ID_LEN, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, outcome, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, reason ? reason : "", -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 4, now_ms);
        }
        err = s_done(s, st, "record sent", NULL);
        if (err == VG_OK) {
            st = s_prep(s, "DELETE FROM outbox WHERE alert_id = ?1");
            if (st != NULL) {
                sqlite3_bind_blob(st, 1, id, VG_ALERT_ID_LEN, SQLITE_STATIC);
            }
            err = s_done(s, st, "leave outbox", NULL);
        }
    }
    if (err != VG_OK) {
        vga_store_rollback(s);
        return err;
    }
    return vga_store_commit(s, NULL);
}

vg_err
vga_store_inbox_find(vga_store *s, const uint8_t id[VG_ALERT_ID_LEN], bool *found,
                     uint8_t hash_out[VG_HASH_LEN])
{
    sqlite3_stmt *st = s_prep(s, "SELECT envelope_hash FROM inbox WHERE alert_id = ?1");
    if (st == NULL) {
        return s_fail(s, SQLITE_ERROR, "read inbox", NULL);
    }
    sqlite3_bind_blob(st, 1, id, VG_ALERT_ID_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == VG_HASH_LEN;
    if (*found) {
        memcpy(hash_out, sqlite3_column_blob(st, 0), VG_HASH_LEN);
    }
    sqlite3_finalize(st);
    return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? VG_OK : s_fail(s, rc, "read inbox", NULL);
}

vg_err
vga_store_inbox_add(vga_store *s, const uint8_t id[VG_ALERT_ID_LEN], const char *sender,
                    const uint8_t hash[VG_HASH_LEN], const uint8_t *env, size_t len,
                    const uint8_t *share, size_t share_len, int64_t now_ms, bool surfaced,
                    int64_t *row_out)
{
    sqlite3_stmt *st = s_prep(s, "INSERT INTO inbox(alert_id, sender, envelope_hash, envelope,"
                                 " share, received_ms, surfaced)"
                                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (st != NULL) {
        sqlite3_bind_blob(st, 1, id, VG_ALERT_ID_LEN, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, sender, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, hash, VG_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_blob(st, 4, env, (int)len, SQLITE_STATIC);
        if (share != NULL) {
            sqlite3_bind_blob(st, 5, share, (int)share_len, SQLITE_STATIC);
        }
        sqlite3_bind_int64(st, 6, now_ms);
        sqlite3_bind_int(st, 7, surfaced);
    }
    vg_err err = s_done(s, st, "store in inbox", NULL);
    if (err == VG_OK && row_out != NULL) {
        *row_out = sqlite3_last_insert_rowid(s->db);
    }
    return err;
}

static uint8_t *
s_copy_blob(sqlite3_stmt *st, int col, size_t *len, bool *failed)
{
    *len = (size_t)sqlite3_column_bytes(st, col);
    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        return NULL;
    }
    uint8_t *p = malloc(*len ? *len : 1);
    if (p == NULL) {
        *failed = true;
        return NULL;
    }
    memcpy(p, sqlite3_column_blob(st, col), *len);
    return p;
}

/* Reads envelope, share and row id from a SELECT envelope, share, id. */
static vg_err
s_read_inbox(vga_store *s, sqlite3_stmt *st, vga_inbox_entry *out)
{
    memset(out, 0, sizeof *out);
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    vg_err err = VG_OK;
    if (rc == SQLITE_ROW) {
        bool failed = false;
        out->envelope = s_copy_blob(st, 0, &out->envelope_len, &failed);
        out->share = s_copy_blob(st, 1, &out->share_len, &failed);
        out->row = sqlite3_column_int64(st, 2);
        if (failed) {
            vga_inbox_entry_fini(out);
            err = VG_ERR_NOMEM;
        }
    } else if (rc != SQLITE_DONE) {
        err = s_fail(s, rc, "read inbox", NULL);
    }
    sqlite3_finalize(st);
    return err;
}

void
vga_inbox_entry_fini(vga_inbox_entry *e)
{
    free(e->envelope);
    free(e->share);
    memset(e, 0, sizeof *e);
}

vg_err
vga_store_inbox_next_unsurfaced(vga_store *s, vga_inbox_entry *out)
{
    return s_read_inbox(s,
                        s_prep(s, "SELECT envelope, share, id FROM inbox WHERE surfaced = 0"
                                  " ORDER BY id LIMIT 1"),
                        out);
}

vg_err
vga_store_inbox_get(vga_store *s, const uint8_t id[VG_ALERT_ID_LEN], vga_inbox_entry *out)
{
    sqlite3_stmt *st = s_prep(s, "SELECT envelope, share, id FROM inbox WHERE alert_id = ?1");
    if (st != NULL) {
        sqlite3_bind_blob(st, 1, id, VG_ALERT_ID_LEN, SQLITE_STATIC);
    }
    return s_read_inbox(s, st, out);
}

vg_err
vga_store_inbox_after(vga_store *s, int64_t after_row, vga_inbox_entry *out)
{
    sqlite3_stmt *st =
        s_prep(s, "SELECT envelope, share, id FROM inbox WHERE id > ?1 ORDER BY id LIMIT 1");
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, after_row);
    }
    return s_read_inbox(s, st, out);
}

vg_err
vga_store_inbox_mark_surfaced(vga_store *s, int64_t row)
{
    sqlite3_stmt *st = s_prep(s, "UPDATE inbox SET surfaced = 1 WHERE id = ?1");
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, row);
    }
    return s_done(s, st, "mark surfaced", NULL);
}

/* ---- hand-over to an acknowledging program ----------------------------------------- */

vg_err
vga_store_handover_begin(vga_store *s, int64_t row, int64_t now_ms, uint32_t *attempt)
{
    sqlite3_stmt *st = s_prep(s, "UPDATE inbox SET surfaced = 1, handover = 'handed',"
                                 " retry_ms = NULL WHERE id = ?1");
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, row);
    }
    vg_err err = s_done(s, st, "hand over", NULL);
    if (err == VG_OK) {
        st = s_prep(s, "INSERT INTO handovers(inbox_id, handed_ms) VALUES (?1, ?2)");
        if (st != NULL) {
            sqlite3_bind_int64(st, 1, row);
            sqlite3_bind_int64(st, 2, now_ms);
        }
        err = s_done(s, st, "record hand-over", NULL);
    }
    if (err != VG_OK) {
        return err;
    }
    st = s_prep(s, "SELECT count(*) FROM handovers WHERE inbox_id = ?1");
    int rc = st ? sqlite3_bind_int64(st, 1, row) : SQLITE_ERROR;
    rc = rc == SQLITE_OK ? sqlite3_step(st) : rc;
    if (rc == SQLITE_ROW) {
        *attempt = (uint32_t)sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? VG_OK : s_fail(s, rc, "count hand-overs", NULL);
}

vg_err
vga_store_handover_find(vga_store *s, const uint8_t id[VG_ALERT_ID_LEN], vga_store_handover *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = s_prep(s, "SELECT id, coalesce(handover, ''), failures,"
                                 " coalesce(retry_ms, 0) FROM inbox WHERE alert_id = ?1");
    int rc = st ? sqlite3_bind_blob(st, 1, id, VG_ALERT_ID_LEN, SQLITE_STATIC) : SQLITE_ERROR;
    rc = rc == SQLITE_OK ? sqlite3_step(st) : rc;
    if (rc == SQLITE_ROW) {
        out->row = sqlite3_column_int64(st, 0);
        snprintf(out->state, sizeof out->state, "%s", (const char *)sqlite3_column_text(st, 1));
        out->failures = (uint32_t)sqlite3_column_int64(st, 2);
        out->retry_ms = sqlite3_column_int64(st, 3);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? VG_OK : s_fail(s, rc, "read hand-over", NULL);
}

vg_err
vga_store_handover_end(vga_store *s, int64_t row, int64_t now_ms, const char *outcome,
                       const char *state, int64_t retry_ms)
{
    vg_err err = vga_store_begin(s, NULL);
    if (err != VG_OK) {
        return err;
    }
    sqlite3_stmt *st = s_prep(s, "UPDATE handovers SET ended_ms = ?2, outcome = ?3"
                                 " WHERE inbox_id = ?1 AND ended_ms IS NULL");
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, row);
        sqlite3_bind_int64(st, 2, now_ms);
        sqlite3_bind_text(st, 3, outcome, -1, SQLITE_STATIC);
    }
    err = s_done(s, st, "end hand-over", NULL);
    if (err == VG_OK) {
        bool handled = strcmp(state, VGA_HO_HANDLED) == 0;
        st = s_prep(s, "UPDATE inbox SET handover = ?2, failures = failures + ?3,"
                       " retry_ms = ?4 WHERE id = ?1 AND handover = 'handed'");
        if (st != NULL) {
            sqlite3_bind_int64(st, 1, row);
            sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
            sqlite3_bind_int(st, 3, handled ? 0 : 1);
            if (retry_ms > 0) {
                sqlite3_bind_int64(st, 4, retry_ms);
            }
        }
        err = s_done(s, st, "record hand-over outcome", NULL);
    }
    if (err != VG_OK) {
        vga_store_rollback(s);
        return err;
    }
    return vga_store_commit(s, NULL);
}

vg_err
vga_store_handover_recover(vga_store *s, int64_t now_ms, uint32_t failures_max, vga_handover_fn fn,
                           void *ctx)
{
    vg_err err = vga_store_begin(s, NULL);
    if (err != VG_OK) {
        return err;
    }
    sqlite3_stmt *st = s_prep(s, "SELECT alert_id, failures + 1 FROM inbox"
                                 " WHERE handover = 'handed' ORDER BY id");
    int rc = st ? SQLITE_OK : SQLITE_ERROR;
    while (st != NULL && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint32_t failures = (uint32_t)sqlite3_column_int64(st, 1);
        if (fn != NULL && sqlite3_column_bytes(st, 0) == VG_ALERT_ID_LEN) {
            fn(ctx, sqlite3_column_blob(st, 0), failures, failures >= failures_max);
        }
    }
    sqlite3_finalize(st);
    err = rc == SQLITE_DONE ? VG_OK : s_fail(s, rc, "read interrupted hand-overs", NULL);
    if (err == VG_OK) {
        st = s_prep(s, "UPDATE handovers SET ended_ms = ?1, outcome = 'interrupted'"
                       " WHERE ended_ms IS NULL");
        if (st != NULL) {
            sqlite3_bind_int64(st, 1, now_ms);
        }
        err = s_done(s, st, "end interrupted hand-overs", NULL);
    }
    if (err == VG_OK) {
        st = s_prep(s, "UPDATE inbox SET failures = failures + 1, retry_ms = ?1,"
                       " handover = CASE WHEN failures + 1 >= ?2 THEN 'parked' ELSE 'failed' END"
                       " WHERE handover = 'handed'");
        if (st != NULL) {
            sqlite3_bind_int64(st, 1, now_ms);
            sqlite3_bind_int64(st, 2, failures_max);
        }
        err = s_done(s, st, "retry interrupted hand-overs", NULL);
    }
    if (err != VG_OK) {
        vga_store_rollback(s);
        return err;
    }
    return vga_store_commit(s, NULL);
}

vg_err
vga_store_handover_next_due(vga_store *s, int64_t now_ms, vga_inbox_entry *out,
                            int64_t *next_retry_ms)
{
    sqlite3_stmt *st = s_prep(s, "SELECT min(retry_ms) FROM inbox WHERE handover = 'failed'");
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    *next_retry_ms = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        return s_fail(s, rc, "read hand-overs due", NULL);
    }
    st = s_prep(s, "SELECT envelope, share, id FROM inbox WHERE handover = 'failed'"
                   " AND retry_ms <= ?1 ORDER BY retry_ms, id LIMIT 1");
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, now_ms);
    }
    return s_read_inbox(s, st, out);
}

vg_err
vga_store_handover_rearm(vga_store *s, int64_t now_ms, size_t *n_out)
{
    sqlite3_stmt *st = s_prep(s, "UPDATE inbox SET handover = 'failed', failures = 0,"
                                 " retry_ms = ?1 WHERE handover = 'parked'");
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, now_ms);
    }
    vg_err err = s_done(s, st, "re-arm parked hand-overs", NULL);
    if (err == VG_OK) {
        *n_out = (size_t)sqlite3_changes(s->db);
    }
    return err;
}

vg_err
vga_store_handover_parked(vga_store *s, uint8_t (*ids)[VG_ALERT_ID_LEN], size_t max, size_t *n_out)
{
    *n_out = 0;
    sqlite3_stmt *st = s_prep(s, "SELECT alert_id FROM inbox WHERE handover = 'parked'"
                                 " ORDER BY id");
    int rc = st ? SQLITE_OK : SQLITE_ERROR;
    while (st != NULL && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n_out < max && sqlite3_column_bytes(st, 0) == VG_ALERT_ID_LEN) {
            memcpy(ids[*n_out], sqlite3_column_blob(st, 0), VG_ALERT_ID_LEN);
        }
        (*n_out)++;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? VG_OK : s_fail(s, rc, "read parked hand-overs", NULL);
}

/* ---- audit checkpoints ------------------------------------------------------------ */

void
vga_store_cp_fini(vga_store_cp *cp)
{
    if (cp != NULL) {
        free(cp->note);
        memset(cp, 0, sizeof *cp);
    }
}

vg_err
vga_store_cp_get(vga_store *s, vga_store_cp_which which, uint64_t size, vga_store_cp *out,
                 bool *found)
{
    static const char *const sql[] = {
        [VGA_CP_SIZE] = "SELECT size, root, note, received_ms, checked FROM checkpoints"
                        " WHERE size = ?1",
        [VGA_CP_LATEST_CHECKED] = "SELECT size, root, note, received_ms, checked FROM checkpoints"
                                  " WHERE checked = 1 ORDER BY size DESC LIMIT 1",
        [VGA_CP_FIRST_UNCHECKED] = "SELECT size, root, note, received_ms, checked FROM"
                                   " checkpoints WHERE checked = 0 ORDER BY size LIMIT 1",
        [VGA_CP_LARGEST] = "SELECT size, root, note, received_ms, checked FROM checkpoints"
                           " ORDER BY size DESC LIMIT 1",
    };
    *found = false;
    sqlite3_stmt *st = s_prep(s, sql[which]);
    if (st != NULL && which == VGA_CP_SIZE) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
    }
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    vg_err err = VG_OK;
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 1) == VG_MERKLE_HASH_LEN) {
        vga_store_cp cp = {0};
        cp.size = (uint64_t)sqlite3_column_int64(st, 0);
        memcpy(cp.root, sqlite3_column_blob(st, 1), VG_MERKLE_HASH_LEN);
        const char *note = (const char *)sqlite3_column_text(st, 2);
        cp.note = vg_strdup(note ? note : "");
        cp.note_len = cp.note ? strlen(cp.note) : 0;
        cp.received_ms = sqlite3_column_int64(st, 3);
        cp.checked = sqlite3_column_int(st, 4) != 0;
        if (cp.note == NULL) {
            err = VG_ERR_NOMEM;
        } else {
            *out = cp;
            *found = true;
        }
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        err = s_fail(s, rc, "read checkpoints", NULL);
    }
    sqlite3_finalize(st);
    return err;
}

vg_err
vga_store_cp_add(vga_store *s, uint64_t size, const uint8_t root[VG_MERKLE_HASH_LEN],
                 const char *note, size_t note_len, int64_t now_ms, bool checked)
{
    sqlite3_stmt *st = s_prep(s, "INSERT OR IGNORE INTO checkpoints(size, root, note,"
                                 " received_ms, checked) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
        sqlite3_bind_blob(st, 2, root, VG_MERKLE_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, note, (int)note_len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now_ms);
        sqlite3_bind_int(st, 5, checked);
    }
    return s_done(s, st, "keep checkpoint", NULL);
}

static vg_err
s_cp_by_size(vga_store *s, const char *sql, uint64_t size, const char *what)
{
    sqlite3_stmt *st = s_prep(s, sql);
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
    }
    return s_done(s, st, what, NULL);
}

vg_err
vga_store_cp_mark_checked(vga_store *s, uint64_t size)
{
    return s_cp_by_size(s, "UPDATE checkpoints SET checked = 1 WHERE size = ?1", size,
                        "mark checkpoint checked");
}

vg_err
vga_store_cp_delete(vga_store *s, uint64_t size)
{
    return s_cp_by_size(s, "DELETE FROM checkpoints WHERE size = ?1 AND checked = 0", size,
                        "drop checkpoint");
}

vg_err
vga_store_fault_add(vga_store *s, int64_t now_ms, const char *kind, const char *reason,
                    const char *held_note, const char *bad_note)
{
    sqlite3_stmt *st = s_prep(s, "INSERT INTO audit_faults(at_ms, kind, reason, held_note,"
                                 " bad_note) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, now_ms);
        sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
        if (held_note != NULL) {
            sqlite3_bind_text(st, 4, held_note, -1, SQLITE_STATIC);
        }
        if (bad_note != NULL) {
            sqlite3_bind_text(st, 5, bad_note, -1, SQLITE_STATIC);
        }
    }
    return s_done(s, st, "record audit fault", NULL);
}

vg_err
vga_store_fault_last(vga_store *s, bool *found, char *kind, size_t kind_len, char *reason,
                     size_t reason_len)
{
    sqlite3_stmt *st = s_prep(s, "SELECT kind, reason FROM audit_faults ORDER BY id DESC LIMIT 1");
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    *found = rc == SQLITE_ROW;
    if (*found) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        const char *r = (const char *)sqlite3_column_text(st, 1);
        snprintf(kind, kind_len, "%s", k ? k : "");
        snprintf(reason, reason_len, "%s", r ? r : "");
    }
    sqlite3_finalize(st);
    return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? VG_OK
                                                   : s_fail(s, rc, "read audit faults", NULL);
}

vg_err
vga_store_broker_key_get(vga_store *s, const uint8_t key[VG_SIGN_PK_LEN], bool *trusted, bool *any)
{
    sqlite3_stmt *st = s_prep(s, "SELECT (SELECT count(*) FROM broker_keys WHERE sign_key = ?1),"
                                 " (SELECT count(*) FROM broker_keys)");
    if (st != NULL) {
        sqlite3_bind_blob(st, 1, key, VG_SIGN_PK_LEN, SQLITE_STATIC);
    }
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    if (rc == SQLITE_ROW) {
        *trusted = sqlite3_column_int(st, 0) > 0;
        *any = sqlite3_column_int(st, 1) > 0;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? VG_OK : s_fail(s, rc, "read trusted broker keys", NULL);
}

vg_err
vga_store_broker_key_add(vga_store *s, const uint8_t key[VG_SIGN_PK_LEN], int64_t now_ms,
                         const char *how, const char *note)
{
    sqlite3_stmt *st = s_prep(s, "INSERT OR IGNORE INTO broker_keys(sign_key, trusted_ms, how,"
                                 " note) VALUES (?1, ?2, ?3, ?4)");
    if (st != NULL) {
        sqlite3_bind_blob(st, 1, key, VG_SIGN_PK_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now_ms);
        sqlite3_bind_text(st, 3, how, -1, SQLITE_STATIC);
        if (note != NULL) {
            sqlite3_bind_text(st, 4, note, -1, SQLITE_STATIC);
        }
    }
    return s_done(s, st, "trust broker key", NULL);
}
