/* gw_db.c — the gateway's SQLite store (see gw_db.h). */
#include "gw_db.h"
#include "gw_db_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "vigil/util.h"

static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS tokens(name TEXT NOT NULL, hash BLOB NOT NULL UNIQUE,"
    " scopes INTEGER NOT NULL, created_ms INTEGER NOT NULL, revoked_ms INTEGER);"
    "CREATE UNIQUE INDEX IF NOT EXISTS tokens_active ON tokens(name) WHERE revoked_ms IS NULL;"
    "CREATE TABLE IF NOT EXISTS idempotency(token TEXT NOT NULL, key TEXT NOT NULL,"
    " request_hash BLOB NOT NULL, alert_id BLOB NOT NULL, envelope BLOB NOT NULL,"
    " created_ms INTEGER NOT NULL, PRIMARY KEY(token, key));"
    "CREATE TABLE IF NOT EXISTS cap_refs(ref TEXT PRIMARY KEY, alert_id BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS webhooks(name TEXT PRIMARY KEY, url TEXT NOT NULL,"
    " secret BLOB NOT NULL, cap INTEGER NOT NULL, events INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS deliveries(id INTEGER PRIMARY KEY, webhook TEXT NOT NULL,"
    " is_event INTEGER NOT NULL, alert_id BLOB, kind TEXT NOT NULL, seq INTEGER,"
    " event_json TEXT, created_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " next_ms INTEGER NOT NULL, first_failure_ms INTEGER, delivered_ms INTEGER,"
    " last_status INTEGER, last_error TEXT);"
    "CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries(webhook, id)"
    " WHERE delivered_ms IS NULL;"
    "CREATE TABLE IF NOT EXISTS attempts(delivery INTEGER NOT NULL, webhook TEXT NOT NULL,"
    " at_ms INTEGER NOT NULL, ok INTEGER NOT NULL, status INTEGER, error TEXT,"
    " took_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS cursors(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS officers(name TEXT PRIMARY KEY, role TEXT NOT NULL,"
    " pwhash TEXT NOT NULL, generation INTEGER NOT NULL, created_ms INTEGER NOT NULL,"
    " changed_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS links(key TEXT NOT NULL, alert_id BLOB NOT NULL,"
    " at_ms INTEGER NOT NULL, PRIMARY KEY(key, alert_id)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS links_alert ON links(alert_id);";

vg_err
gw_dbi_fail(gw_db *db, const char *what, vg_reason *why)
{
    return vg_reason_set(why, VG_ERR_IO, "gateway store %s: %s: %s", db->path, what,
                         sqlite3_errmsg(db->db));
}

bool
gw_name_is_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= GW_NAME_MAX || name[0] == '-') {
        return false;
    }
    return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

vg_err
gw_db_open(gw_db **out, const char *store_dir, vg_reason *why)
{
    vg_err err = vg_mkdir_p(store_dir, 0700, why);
    if (err != VG_OK) {
        return err;
    }
    gw_db *db = calloc(1, sizeof *db);
    size_t n = strlen(store_dir) + sizeof "/gateway.db";
    if (db == NULL || (db->path = malloc(n)) == NULL) {
        free(db);
        return VG_ERR_NOMEM;
    }
    snprintf(db->path, n, "%s/gateway.db", store_dir);
    pthread_mutex_init(&db->lock, NULL);
    int rc = sqlite3_open_v2(
        db->path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db->db, 10000);
        rc = sqlite3_exec(db->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
                          NULL);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(db->db, "BEGIN IMMEDIATE;", NULL, NULL, NULL);
        rc = rc == SQLITE_OK ? sqlite3_exec(db->db, s_schema, NULL, NULL, NULL) : rc;
        rc = rc == SQLITE_OK ? sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) : rc;
    }
    if (rc != SQLITE_OK) {
        err = vg_reason_set(why, VG_ERR_IO, "cannot open the gateway store %s: %s", db->path,
                            db->db ? sqlite3_errmsg(db->db) : sqlite3_errstr(rc));
        gw_db_destroy(&db);
        return err;
    }
    (void)gw_db_changed(db); /* remember the current version */
    *out = db;
    return VG_OK;
}

void
gw_db_destroy(gw_db **db_p)
{
    if (db_p == NULL || *db_p == NULL) {
        return;
    }
    gw_db *db = *db_p;
    sqlite3_close(db->db);
    pthread_mutex_destroy(&db->lock);
    free(db->path);
    free(db);
    *db_p = NULL;
}

/* ---- small helpers (gw_db_internal.h; called with the lock held) ----------------------- */

sqlite3_stmt *
gw_dbi_prep(gw_db *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    return sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) == SQLITE_OK ? st : NULL;
}

/* Steps a statement that returns no rows, then finalizes it. */
int
gw_dbi_run(sqlite3_stmt *st)
{
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    sqlite3_finalize(st);
    return rc;
}

bool
gw_dbi_exec(gw_db *db, const char *sql)
{
    return sqlite3_exec(db->db, sql, NULL, NULL, NULL) == SQLITE_OK;
}

void
gw_dbi_rollback(gw_db *db)
{
    if (!sqlite3_get_autocommit(db->db)) {
        gw_dbi_exec(db, "ROLLBACK");
    }
}

void
gw_dbi_col_text(char *out, size_t out_len, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(out, out_len, "%s", t ? (const char *)t : "");
}

void
gw_dbi_col_blob(uint8_t *out, size_t len, sqlite3_stmt *st, int col)
{
    memset(out, 0, len);
    if ((size_t)sqlite3_column_bytes(st, col) == len) {
        memcpy(out, sqlite3_column_blob(st, col), len);
    }
}

/* ---- tokens -------------------------------------------------------------------------- */

vg_err
gw_db_token_add(gw_db *db, const char *name, const uint8_t hash[GW_TOKEN_HASH_LEN], unsigned scopes,
                int64_t now_ms, vg_reason *why)
{
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = gw_dbi_prep(
        db, "INSERT INTO tokens(name, hash, scopes, created_ms) VALUES(?1, ?2, ?3, ?4)");
    if (st != NULL) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, hash, GW_TOKEN_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, scopes);
        sqlite3_bind_int64(st, 4, now_ms);
    }
    int rc = gw_dbi_run(st);
    vg_err err = VG_OK;
    if (rc == SQLITE_CONSTRAINT) {
        err = vg_reason_set(why, VG_ERR_DUPLICATE,
                            "a token named '%s' exists: revoke it first, or choose another name",
                            name);
    } else if (rc != SQLITE_DONE) {
        err = gw_dbi_fail(db, "add token", why);
    }
    pthread_mutex_unlock(&db->lock);
    return err;
}

vg_err
gw_db_token_revoke(gw_db *db, const char *name, int64_t now_ms, vg_reason *why)
{
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st =
        gw_dbi_prep(db, "UPDATE tokens SET revoked_ms = ?2 WHERE name = ?1 AND revoked_ms IS NULL");
    if (st != NULL) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now_ms);
    }
    int rc = gw_dbi_run(st);
    vg_err err = VG_OK;
    if (rc != SQLITE_DONE) {
        err = gw_dbi_fail(db, "revoke token", why);
    } else if (sqlite3_changes(db->db) == 0) {
        err = vg_reason_set(why, VG_ERR_NOT_FOUND, "no active token is named '%s'", name);
    }
    pthread_mutex_unlock(&db->lock);
    return err;
}

vg_err
gw_db_tokens(gw_db *db, bool all, gw_token_row **out, size_t *n_out)
{
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st =
        gw_dbi_prep(db, all ? "SELECT name, hash, scopes, created_ms, revoked_ms FROM "
                              "tokens ORDER BY created_ms, name"
                            : "SELECT name, hash, scopes, created_ms, revoked_ms FROM "
                              "tokens WHERE revoked_ms IS NULL ORDER BY name");
    gw_token_row *rows = NULL;
    size_t n = 0;
    vg_err err = st ? VG_OK : VG_ERR_IO;
    while (err == VG_OK && sqlite3_step(st) == SQLITE_ROW) {
        gw_token_row *grown = realloc(rows, (n + 1) * sizeof *rows);
        if (grown == NULL) {
            err = VG_ERR_NOMEM;
            break;
        }
        rows = grown;
        gw_token_row *r = &rows[n++];
        gw_dbi_col_text(r->name, sizeof r->name, st, 0);
        gw_dbi_col_blob(r->hash, sizeof r->hash, st, 1);
        r->scopes = (unsigned)sqlite3_column_int64(st, 2);
        r->created_ms = sqlite3_column_int64(st, 3);
        r->revoked_ms = sqlite3_column_int64(st, 4);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->lock);
    if (err != VG_OK) {
        free(rows);
        return err;
    }
    *out = rows;
    *n_out = n;
    return VG_OK;
}

bool
gw_db_changed(gw_db *db)
{
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = gw_dbi_prep(db, "PRAGMA data_version");
    int64_t v = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    bool changed = v != db->data_version;
    db->data_version = v;
    pthread_mutex_unlock(&db->lock);
    return changed;
}

/* ---- idempotency ------------------------------------------------------------------------ */

void
gw_idem_fini(gw_idem *i)
{
    if (i != NULL) {
        free(i->envelope);
        i->envelope = NULL;
    }
}

vg_err
gw_db_idem_get(gw_db *db, const char *token, const char *key, gw_idem *out, bool *found)
{
    *found = false;
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = gw_dbi_prep(db, "SELECT request_hash, alert_id, envelope FROM idempotency "
                                       "WHERE token = ?1 AND key = ?2");
    vg_err err = st ? VG_OK : VG_ERR_IO;
    if (st != NULL) {
        sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    }
    if (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        gw_dbi_col_blob(out->request_hash, sizeof out->request_hash, st, 0);
        gw_dbi_col_blob(out->alert_id, sizeof out->alert_id, st, 1);
        out->envelope_len = (size_t)sqlite3_column_bytes(st, 2);
        out->envelope = malloc(out->envelope_len ? out->envelope_len : 1);
        if (out->envelope == NULL) {
            err = VG_ERR_NOMEM;
        } else {
            memcpy(out->envelope, sqlite3_column_blob(st, 2), out->envelope_len);
            *found = true;
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->lock);
    return err;
}

vg_err
gw_db_idem_put(gw_db *db, const char *token, const char *key, const gw_idem *idem, int64_t now_ms)
{
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st =
        gw_dbi_prep(db, "INSERT INTO idempotency(token, key, request_hash, alert_id, envelope, "
                        "created_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    if (st != NULL) {
        sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, idem->request_hash, VG_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_blob(st, 4, idem->alert_id, VG_ALERT_ID_LEN, SQLITE_STATIC);
        sqlite3_bind_blob(st, 5, idem->envelope, (int)idem->envelope_len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, now_ms);
    }
    int rc = gw_dbi_run(st);
    pthread_mutex_unlock(&db->lock);
    return rc == SQLITE_DONE ? VG_OK : rc == SQLITE_CONSTRAINT ? VG_ERR_DUPLICATE : VG_ERR_IO;
}

/* ---- CAP references ------------------------------------------------------------------------ */

vg_err
gw_db_cap_ref_put(gw_db *db, const char *triple, const uint8_t id[VG_ALERT_ID_LEN])
{
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st =
        gw_dbi_prep(db, "INSERT OR IGNORE INTO cap_refs(ref, alert_id) VALUES(?1, ?2)");
    if (st != NULL) {
        sqlite3_bind_text(st, 1, triple, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, id, VG_ALERT_ID_LEN, SQLITE_STATIC);
    }
    int rc = gw_dbi_run(st);
    pthread_mutex_unlock(&db->lock);
    return rc == SQLITE_DONE ? VG_OK : VG_ERR_IO;
}

bool
gw_db_cap_ref_find(gw_db *db, const char *triple, uint8_t id[VG_ALERT_ID_LEN])
{
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = gw_dbi_prep(db, "SELECT alert_id FROM cap_refs WHERE ref = ?1");
    bool found = false;
    if (st != NULL) {
        sqlite3_bind_text(st, 1, triple, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == VG_ALERT_ID_LEN) {
            memcpy(id, sqlite3_column_blob(st, 0), VG_ALERT_ID_LEN);
            found = true;
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->lock);
    return found;
}

/* ---- webhooks -------------------------------------------------------------------------------- */

void
gw_webhook_rows_free(gw_webhook_row *rows, size_t n)
{
    for (size_t i = 0; rows != NULL && i < n; i++) {
        free(rows[i].url);
    }
    free(rows);
}

vg_err
gw_db_webhook_add(gw_db *db, const gw_webhook_row *w, vg_reason *why)
{
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = gw_dbi_prep(db, "INSERT INTO webhooks(name, url, secret, cap, events, "
                                       "created_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    if (st != NULL) {
        sqlite3_bind_text(st, 1, w->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, w->url, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, w->secret, GW_WEBHOOK_SECRET_LEN, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, w->cap);
        sqlite3_bind_int(st, 5, w->events);
        sqlite3_bind_int64(st, 6, w->created_ms);
    }
    int rc = gw_dbi_run(st);
    vg_err err = VG_OK;
    if (rc == SQLITE_CONSTRAINT) {
        err = vg_reason_set(why, VG_ERR_DUPLICATE, "a webhook named '%s' exists", w->name);
    } else if (rc != SQLITE_DONE) {
        err = gw_dbi_fail(db, "add webhook", why);
    }
    pthread_mutex_unlock(&db->lock);
    return err;
}

vg_err
gw_db_webhook_remove(gw_db *db, const char *name, vg_reason *why)
{
    pthread_mutex_lock(&db->lock);
    vg_err err = VG_OK;
    if (!gw_dbi_exec(db, "BEGIN IMMEDIATE")) {
        err = gw_dbi_fail(db, "remove webhook", why);
    }
    sqlite3_stmt *st =
        err == VG_OK ? gw_dbi_prep(db, "DELETE FROM webhooks WHERE name = ?1") : NULL;
    if (st != NULL) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    }
    if (err == VG_OK && gw_dbi_run(st) != SQLITE_DONE) {
        err = gw_dbi_fail(db, "remove webhook", why);
    } else if (err == VG_OK && sqlite3_changes(db->db) == 0) {
        err = vg_reason_set(why, VG_ERR_NOT_FOUND, "no webhook is named '%s'", name);
    }
    st = err == VG_OK
             ? gw_dbi_prep(db, "DELETE FROM deliveries WHERE webhook = ?1 AND delivered_ms "
                               "IS NULL")
             : NULL;
    if (st != NULL) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    }
    if (err == VG_OK && (gw_dbi_run(st) != SQLITE_DONE || !gw_dbi_exec(db, "COMMIT"))) {
        err = gw_dbi_fail(db, "remove webhook", why);
    }
    gw_dbi_rollback(db);
    pthread_mutex_unlock(&db->lock);
    return err;
}

vg_err
gw_db_webhooks(gw_db *db, gw_webhook_row **out, size_t *n_out)
{
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = gw_dbi_prep(
        db, "SELECT name, url, secret, cap, events, created_ms FROM webhooks ORDER BY name");
    gw_webhook_row *rows = NULL;
    size_t n = 0;
    vg_err err = st ? VG_OK : VG_ERR_IO;
    while (err == VG_OK && sqlite3_step(st) == SQLITE_ROW) {
        gw_webhook_row *grown = realloc(rows, (n + 1) * sizeof *rows);
        if (grown == NULL) {
            err = VG_ERR_NOMEM;
            break;
        }
        rows = grown;
        gw_webhook_row *w = &rows[n++];
        memset(w, 0, sizeof *w);
        gw_dbi_col_text(w->name, sizeof w->name, st, 0);
        w->url = vg_strdup((const char *)sqlite3_column_text(st, 1));
        gw_dbi_col_blob(w->secret, sizeof w->secret, st, 2);
        w->cap = sqlite3_column_int(st, 3) != 0;
        w->events = sqlite3_column_int(st, 4) != 0;
        w->created_ms = sqlite3_column_int64(st, 5);
        err = w->url ? VG_OK : VG_ERR_NOMEM;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->lock);
    if (err != VG_OK) {
        gw_webhook_rows_free(rows, n);
        return err;
    }
    *out = rows;
    *n_out = n;
    return VG_OK;
}

/* ---- cursors and deliveries ----------------------------------------------------------------- */

static vg_err
s_cursor(gw_db *db, const char *name, int64_t *out, bool *found)
{
    sqlite3_stmt *st = gw_dbi_prep(db, "SELECT value FROM cursors WHERE name = ?1");
    *found = false;
    if (st == NULL) {
        return VG_ERR_IO;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        *found = true;
    }
    sqlite3_finalize(st);
    return VG_OK;
}

bool
gw_dbi_cursor_set(gw_db *db, const char *name, int64_t value)
{
    sqlite3_stmt *st = gw_dbi_prep(db, "INSERT INTO cursors(name, value) VALUES(?1, ?2) "
                                       "ON CONFLICT(name) DO UPDATE SET value = ?2");
    if (st != NULL) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, value);
    }
    return gw_dbi_run(st) == SQLITE_DONE;
}

vg_err
gw_db_cursor(gw_db *db, const char *name, int64_t *out, bool *found)
{
    pthread_mutex_lock(&db->lock);
    vg_err err = s_cursor(db, name, out, found);
    pthread_mutex_unlock(&db->lock);
    return err;
}

vg_err
gw_db_cursor_set(gw_db *db, const char *name, int64_t value)
{
    pthread_mutex_lock(&db->lock);
    bool ok = gw_dbi_cursor_set(db, name, value);
    pthread_mutex_unlock(&db->lock);
    return ok ? VG_OK : VG_ERR_IO;
}

/* Inserts a delivery for every webhook (only those taking events when
 * is_event), then moves the cursor; one transaction. */
static vg_err
s_queue(gw_db *db, bool is_event, const uint8_t *id, const char *kind, int64_t seq,
        const char *json, const char *cursor, int64_t cursor_value, int64_t now_ms)
{
    pthread_mutex_lock(&db->lock);
    bool ok = gw_dbi_exec(db, "BEGIN IMMEDIATE");
    sqlite3_stmt *st =
        ok ? gw_dbi_prep(db,
                         "INSERT INTO deliveries(webhook, is_event, alert_id, kind, seq, "
                         "event_json, created_ms, next_ms) SELECT name, ?1, ?2, ?3, ?4, ?5, ?6, ?6 "
                         "FROM webhooks WHERE ?1 = 0 OR events != 0")
           : NULL;
    if (st != NULL) {
        sqlite3_bind_int(st, 1, is_event);
        if (id != NULL) {
            sqlite3_bind_blob(st, 2, id, VG_ALERT_ID_LEN, SQLITE_STATIC);
        }
        sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, seq);
        if (json != NULL) {
            sqlite3_bind_text(st, 5, json, -1, SQLITE_STATIC);
        }
        sqlite3_bind_int64(st, 6, now_ms);
    }
    ok = ok && gw_dbi_run(st) == SQLITE_DONE && gw_dbi_cursor_set(db, cursor, cursor_value) &&
         gw_dbi_exec(db, "COMMIT");
    gw_dbi_rollback(db);
    pthread_mutex_unlock(&db->lock);
    return ok ? VG_OK : VG_ERR_IO;
}

vg_err
gw_db_queue_alert(gw_db *db, int64_t row, const uint8_t id[VG_ALERT_ID_LEN], int64_t now_ms)
{
    return s_queue(db, false, id, "alert", 0, NULL, "inbox_row", row, now_ms);
}

vg_err
gw_db_queue_event(gw_db *db, uint64_t seq, const char *kind, const char *json, int64_t now_ms)
{
    return s_queue(db, true, NULL, kind, (int64_t)seq, json, "event_seq", (int64_t)seq, now_ms);
}

void
gw_delivery_fini(gw_delivery *d)
{
    if (d != NULL) {
        free(d->event_json);
        d->event_json = NULL;
    }
}

vg_err
gw_db_next_due(gw_db *db, int64_t now_ms, gw_delivery *out, bool *found, int64_t *next_due_ms)
{
    *found = false;
    *next_due_ms = 0;
    pthread_mutex_lock(&db->lock);
    /* The head of each webhook (its oldest pending delivery), soonest first. */
    sqlite3_stmt *st = gw_dbi_prep(
        db, "SELECT d.id, d.webhook, d.is_event, d.alert_id, d.kind, d.seq, d.event_json, "
            "d.attempts, d.first_failure_ms, d.next_ms FROM deliveries d "
            "JOIN (SELECT webhook, min(id) AS head FROM deliveries WHERE delivered_ms IS NULL "
            "GROUP BY webhook) h ON d.id = h.head ORDER BY d.next_ms, d.id LIMIT 1");
    vg_err err = st ? VG_OK : VG_ERR_IO;
    if (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
        int64_t next = sqlite3_column_int64(st, 9);
        if (next > now_ms) {
            *next_due_ms = next;
        } else {
            memset(out, 0, sizeof *out);
            out->id = sqlite3_column_int64(st, 0);
            gw_dbi_col_text(out->webhook, sizeof out->webhook, st, 1);
            out->is_event = sqlite3_column_int(st, 2) != 0;
            gw_dbi_col_blob(out->alert_id, sizeof out->alert_id, st, 3);
            gw_dbi_col_text(out->kind, sizeof out->kind, st, 4);
            out->seq = (uint64_t)sqlite3_column_int64(st, 5);
            if (sqlite3_column_type(st, 6) != SQLITE_NULL) {
                out->event_json = vg_strdup((const char *)sqlite3_column_text(st, 6));
                err = out->event_json ? VG_OK : VG_ERR_NOMEM;
            }
            out->attempts = sqlite3_column_int64(st, 7);
            out->first_failure_ms = sqlite3_column_int64(st, 8);
            *found = err == VG_OK;
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->lock);
    return err;
}

vg_err
gw_db_attempt(gw_db *db, const gw_delivery *d, bool delivered, long status, const char *error,
              int64_t now_ms, int64_t took_ms, int64_t next_ms)
{
    pthread_mutex_lock(&db->lock);
    bool ok = gw_dbi_exec(db, "BEGIN IMMEDIATE");
    sqlite3_stmt *st =
        ok ? gw_dbi_prep(db, "INSERT INTO attempts(delivery, webhook, at_ms, ok, status, "
                             "error, took_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)")
           : NULL;
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, d->id);
        sqlite3_bind_text(st, 2, d->webhook, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now_ms);
        sqlite3_bind_int(st, 4, delivered);
        sqlite3_bind_int64(st, 5, status);
        if (error != NULL) {
            sqlite3_bind_text(st, 6, error, -1, SQLITE_STATIC);
        }
        sqlite3_bind_int64(st, 7, took_ms);
    }
    ok = ok && gw_dbi_run(st) == SQLITE_DONE;
    st = !ok ? NULL
         : delivered
             ? gw_dbi_prep(db, "UPDATE deliveries SET attempts = attempts + 1, delivered_ms = ?2, "
                               "last_status = ?3, last_error = NULL WHERE id = ?1")
             : gw_dbi_prep(db, "UPDATE deliveries SET attempts = attempts + 1, next_ms = ?4, "
                               "last_status = ?3, last_error = ?5, first_failure_ms = "
                               "coalesce(first_failure_ms, ?2) WHERE id = ?1");
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, d->id);
        sqlite3_bind_int64(st, 2, now_ms);
        sqlite3_bind_int64(st, 3, status);
        if (!delivered) {
            sqlite3_bind_int64(st, 4, next_ms);
            if (error != NULL) {
                sqlite3_bind_text(st, 5, error, -1, SQLITE_STATIC);
            }
        }
    }
    ok = ok && gw_dbi_run(st) == SQLITE_DONE && gw_dbi_exec(db, "COMMIT");
    gw_dbi_rollback(db);
    pthread_mutex_unlock(&db->lock);
    return ok ? VG_OK : VG_ERR_IO;
}

static int64_t
s_count(gw_db *db, const char *sql, const char *name)
{
    sqlite3_stmt *st = gw_dbi_prep(db, sql);
    int64_t v = 0;
    if (st != NULL) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            v = sqlite3_column_int64(st, 0);
        }
    }
    sqlite3_finalize(st);
    return v;
}

void
gw_db_webhook_stats(gw_db *db, const char *name, gw_webhook_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&db->lock);
    out->pending = s_count(
        db, "SELECT count(*) FROM deliveries WHERE webhook = ?1 AND delivered_ms IS NULL", name);
    out->delivered = s_count(
        db, "SELECT count(*) FROM deliveries WHERE webhook = ?1 AND delivered_ms IS NOT NULL",
        name);
    out->failures =
        s_count(db, "SELECT count(*) FROM attempts WHERE webhook = ?1 AND ok = 0", name);
    out->failing_since_ms =
        s_count(db,
                "SELECT coalesce(first_failure_ms, 0) FROM deliveries WHERE webhook = ?1 AND "
                "delivered_ms IS NULL ORDER BY id LIMIT 1",
                name);
    sqlite3_stmt *st = gw_dbi_prep(db, "SELECT error FROM attempts WHERE webhook = ?1 AND ok = 0 "
                                       "ORDER BY rowid DESC LIMIT 1");
    if (st != NULL) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            gw_dbi_col_text(out->last_error, sizeof out->last_error, st, 0);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->lock);
}
