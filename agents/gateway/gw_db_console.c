/* gw_db_console.c — the web console's part of gateway.db: officers and the
 * link index (see gw_db.h). */
#include "gw_db.h"
#include "gw_db_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/util.h"

/* ---- officers ---------------------------------------------------------------------------- */

vg_err
gw_db_officer_add(gw_db *db, const gw_officer_row *o, int64_t now_ms, vg_reason *why)
{
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = gw_dbi_prep(db, "INSERT INTO officers(name, role, pwhash, generation, "
                                       "created_ms, changed_ms) VALUES(?1, ?2, ?3, 1, ?4, ?4)");
    if (st != NULL) {
        sqlite3_bind_text(st, 1, o->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, o->role, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, o->pwhash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now_ms);
    }
    int rc = gw_dbi_run(st);
    vg_err err = VG_OK;
    if (rc == SQLITE_CONSTRAINT) {
        err = vg_reason_set(why, VG_ERR_DUPLICATE,
                            "an officer named '%s' exists: remove it first, or change its "
                            "password or role with 'officer passwd' / 'officer role'",
                            o->name);
    } else if (rc != SQLITE_DONE) {
        err = gw_dbi_fail(db, "add officer", why);
    }
    pthread_mutex_unlock(&db->lock);
    return err;
}

vg_err
gw_db_officer_set(gw_db *db, const char *name, const char *role, const char *pwhash, int64_t now_ms,
                  vg_reason *why)
{
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = gw_dbi_prep(
        db, "UPDATE officers SET role = coalesce(?2, role), pwhash = coalesce(?3, pwhash), "
            "generation = generation + 1, changed_ms = ?4 WHERE name = ?1");
    if (st != NULL) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (role != NULL) {
            sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
        }
        if (pwhash != NULL) {
            sqlite3_bind_text(st, 3, pwhash, -1, SQLITE_STATIC);
        }
        sqlite3_bind_int64(st, 4, now_ms);
    }
    int rc = gw_dbi_run(st);
    vg_err err = VG_OK;
    if (rc != SQLITE_DONE) {
        err = gw_dbi_fail(db, "change officer", why);
    } else if (sqlite3_changes(db->db) == 0) {
        err = vg_reason_set(why, VG_ERR_NOT_FOUND, "no officer is named '%s'", name);
    }
    pthread_mutex_unlock(&db->lock);
    return err;
}

vg_err
gw_db_officer_remove(gw_db *db, const char *name, vg_reason *why)
{
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = gw_dbi_prep(db, "DELETE FROM officers WHERE name = ?1");
    if (st != NULL) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    }
    int rc = gw_dbi_run(st);
    vg_err err = VG_OK;
    if (rc != SQLITE_DONE) {
        err = gw_dbi_fail(db, "remove officer", why);
    } else if (sqlite3_changes(db->db) == 0) {
        err = vg_reason_set(why, VG_ERR_NOT_FOUND, "no officer is named '%s'", name);
    }
    pthread_mutex_unlock(&db->lock);
    return err;
}

vg_err
gw_db_officers(gw_db *db, gw_officer_row **out, size_t *n_out)
{
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = gw_dbi_prep(db, "SELECT name, role, pwhash, generation, created_ms, "
                                       "changed_ms FROM officers ORDER BY name");
    gw_officer_row *rows = NULL;
    size_t n = 0;
    vg_err err = st ? VG_OK : VG_ERR_IO;
    while (err == VG_OK && sqlite3_step(st) == SQLITE_ROW) {
        gw_officer_row *grown = realloc(rows, (n + 1) * sizeof *rows);
        if (grown == NULL) {
            err = VG_ERR_NOMEM;
            break;
        }
        rows = grown;
        gw_officer_row *o = &rows[n++];
        gw_dbi_col_text(o->name, sizeof o->name, st, 0);
        gw_dbi_col_text(o->role, sizeof o->role, st, 1);
        gw_dbi_col_text(o->pwhash, sizeof o->pwhash, st, 2);
        o->generation = sqlite3_column_int64(st, 3);
        o->created_ms = sqlite3_column_int64(st, 4);
        o->changed_ms = sqlite3_column_int64(st, 5);
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

/* ---- the link index ------------------------------------------------------------------------ */

vg_err
gw_db_links_put(gw_db *db, int64_t at_ms, const uint8_t id[VG_ALERT_ID_LEN],
                const char *const *keys, size_t n_keys, const char *cursor, int64_t cursor_value)
{
    pthread_mutex_lock(&db->lock);
    bool ok = gw_dbi_exec(db, "BEGIN IMMEDIATE");
    for (size_t i = 0; ok && i < n_keys; i++) {
        sqlite3_stmt *st =
            gw_dbi_prep(db, "INSERT OR IGNORE INTO links(key, alert_id, at_ms) VALUES(?1, ?2, ?3)");
        if (st != NULL) {
            sqlite3_bind_text(st, 1, keys[i], -1, SQLITE_STATIC);
            sqlite3_bind_blob(st, 2, id, VG_ALERT_ID_LEN, SQLITE_STATIC);
            sqlite3_bind_int64(st, 3, at_ms);
        }
        ok = gw_dbi_run(st) == SQLITE_DONE;
    }
    if (ok && cursor != NULL) {
        ok = gw_dbi_cursor_set(db, cursor, cursor_value);
    }
    ok = ok && gw_dbi_exec(db, "COMMIT");
    gw_dbi_rollback(db);
    pthread_mutex_unlock(&db->lock);
    return ok ? VG_OK : VG_ERR_IO;
}

/* Adds (id, at_ms, key) to the hits: a new hit, or one more key of a known one. */
static bool
s_hit_add(gw_link_hit **hits, size_t *n, size_t *cap, const uint8_t *id, int64_t at_ms,
          const char *key)
{
    for (size_t i = 0; i < *n; i++) {
        gw_link_hit *h = &(*hits)[i];
        if (memcmp(h->id, id, VG_ALERT_ID_LEN) == 0) {
            if (h->n_keys < GW_LINK_KEYS_HIT) {
                snprintf(h->keys[h->n_keys++], GW_LINK_KEY_MAX, "%s", key);
            }
            h->at_ms = at_ms > h->at_ms ? at_ms : h->at_ms;
            return true;
        }
    }
    if (*n == *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 16;
        gw_link_hit *grown = realloc(*hits, grown_cap * sizeof *grown);
        if (grown == NULL) {
            return false;
        }
        *hits = grown;
        *cap = grown_cap;
    }
    gw_link_hit *h = &(*hits)[(*n)++];
    memset(h, 0, sizeof *h);
    memcpy(h->id, id, VG_ALERT_ID_LEN);
    h->at_ms = at_ms;
    snprintf(h->keys[h->n_keys++], GW_LINK_KEY_MAX, "%s", key);
    return true;
}

static int
s_hit_cmp(const void *x, const void *y)
{
    const gw_link_hit *a = x, *b = y;
    return (a->at_ms < b->at_ms) - (a->at_ms > b->at_ms); /* newest first */
}

vg_err
gw_db_links_find(gw_db *db, const uint8_t id[VG_ALERT_ID_LEN], const char *const *keys,
                 size_t n_keys, size_t max, gw_link_hit **out, size_t *n_out)
{
    gw_link_hit *hits = NULL;
    size_t n = 0, cap = 0;
    vg_err err = VG_OK;
    pthread_mutex_lock(&db->lock);
    for (size_t k = 0; err == VG_OK && k < n_keys; k++) {
        /* Each key contributes its newest alerts; a very common key (one
         * incident named by thousands of alerts) cannot crowd out the rest
         * beyond max. */
        sqlite3_stmt *st = gw_dbi_prep(db, "SELECT alert_id, at_ms FROM links WHERE key = ?1 AND "
                                           "alert_id != ?2 ORDER BY at_ms DESC LIMIT ?3");
        if (st == NULL) {
            err = VG_ERR_IO;
            break;
        }
        sqlite3_bind_text(st, 1, keys[k], -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, id, VG_ALERT_ID_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
        while (err == VG_OK && sqlite3_step(st) == SQLITE_ROW) {
            if (sqlite3_column_bytes(st, 0) != VG_ALERT_ID_LEN) {
                continue;
            }
            if (!s_hit_add(&hits, &n, &cap, sqlite3_column_blob(st, 0), sqlite3_column_int64(st, 1),
                           keys[k])) {
                err = VG_ERR_NOMEM;
            }
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&db->lock);
    if (err != VG_OK) {
        free(hits);
        return err;
    }
    if (n > 1) {
        qsort(hits, n, sizeof *hits, s_hit_cmp);
    }
    *out = hits;
    *n_out = n < max ? n : max;
    return VG_OK;
}
