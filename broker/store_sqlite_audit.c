/* store_sqlite_audit.c — the audit log's tables in the SQLite back end: leaves,
 * complete subtree hashes, checkpoints and the alert → leaf index (see
 * store.h; audit.h does the hashing). */
#include <stdlib.h>
#include <string.h>

#include "store_sqlite.h"

const char vgb_sqlite_audit_schema[] = "CREATE TABLE IF NOT EXISTS audit_leaves("
                                       " idx INTEGER PRIMARY KEY,"
                                       " leaf BLOB NOT NULL,"
                                       " leaf_hash BLOB NOT NULL);"
                                       "CREATE TABLE IF NOT EXISTS audit_nodes("
                                       " level INTEGER NOT NULL,"
                                       " idx INTEGER NOT NULL,"
                                       " hash BLOB NOT NULL,"
                                       " PRIMARY KEY(level, idx)) WITHOUT ROWID;"
                                       "CREATE TABLE IF NOT EXISTS audit_checkpoints("
                                       " size INTEGER PRIMARY KEY,"
                                       " root BLOB NOT NULL,"
                                       " note TEXT NOT NULL,"
                                       " signed_ms INTEGER NOT NULL);"
                                       "CREATE TABLE IF NOT EXISTS audit_alert_leaves("
                                       " alert_seq INTEGER NOT NULL, leaf_idx INTEGER NOT NULL,"
                                       " PRIMARY KEY(alert_seq, leaf_idx)) WITHOUT ROWID;";

/* Copies a 32-byte hash column; false when the column is not 32 bytes. */
static bool
s_hash(sqlite3_stmt *st, int col, uint8_t out[VG_HASH_LEN])
{
    if (sqlite3_column_type(st, col) != SQLITE_BLOB ||
        sqlite3_column_bytes(st, col) != VG_HASH_LEN) {
        return false;
    }
    memcpy(out, sqlite3_column_blob(st, col), VG_HASH_LEN);
    return true;
}

vg_err
vgb_sqlite_audit_size(vgb_store *base, uint64_t *out)
{
    static const char sql[] = "SELECT idx + 1 FROM audit_leaves ORDER BY idx DESC LIMIT 1";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    return st == NULL ? VG_ERR_INTERNAL : vgb_sqlite_u64(s, st, out, "read audit size");
}

vg_err
vgb_sqlite_audit_node(vgb_store *base, unsigned level, uint64_t index, uint8_t out[VG_HASH_LEN])
{
    static const char leaf_sql[] = "SELECT leaf_hash FROM audit_leaves WHERE idx = ?1";
    static const char node_sql[] = "SELECT hash FROM audit_nodes WHERE level = ?2 AND idx = ?1";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, level == 0 ? leaf_sql : node_sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)index);
    if (level > 0) {
        sqlite3_bind_int(st, 2, (int)level);
    }
    int rc = sqlite3_step(st);
    bool ok = rc == SQLITE_ROW && s_hash(st, 0, out);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return vgb_sqlite_fail(s, rc, "read audit hash");
    }
    return ok ? VG_OK : rc == SQLITE_DONE ? VG_ERR_NOT_FOUND : VG_ERR_MALFORMED;
}

vg_err
vgb_sqlite_audit_leaf(vgb_store *base, uint64_t index, uint8_t **out, size_t *out_len)
{
    static const char sql[] = "SELECT leaf FROM audit_leaves WHERE idx = ?1";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)index);
    int rc = sqlite3_step(st);
    vg_err err = VG_ERR_NOT_FOUND;
    if (rc == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        uint8_t *copy = malloc(n > 0 ? n : 1);
        err = copy == NULL ? VG_ERR_NOMEM : VG_OK;
        if (copy != NULL) {
            memcpy(copy, sqlite3_column_blob(st, 0), n);
            *out = copy;
            *out_len = n;
        }
    } else if (rc != SQLITE_DONE) {
        err = vgb_sqlite_fail(s, rc, "read audit leaf");
    }
    sqlite3_reset(st);
    return err;
}

static vg_err
s_insert_hash(vgb_sqlite *s, const char *sql, int64_t k1, int64_t k2, const void *blob,
              size_t blob_len, const uint8_t hash[VG_HASH_LEN])
{
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, k1);
    if (blob != NULL) {
        sqlite3_bind_blob(st, 2, blob, (int)blob_len, SQLITE_STATIC);
    } else {
        sqlite3_bind_int64(st, 2, k2);
    }
    sqlite3_bind_blob(st, 3, hash, VG_HASH_LEN, SQLITE_STATIC);
    vg_err err = vgb_sqlite_exec_why(s, st, "append audit leaf", NULL);
    sqlite3_clear_bindings(st); /* drop the SQLITE_STATIC pointers */
    return err;
}

vg_err
vgb_sqlite_audit_append(vgb_store *base, uint64_t index, const uint8_t *leaf, size_t len,
                        const uint8_t leaf_hash[VG_HASH_LEN], const unsigned *levels,
                        const uint64_t *nodes, const uint8_t (*hashes)[VG_HASH_LEN], size_t n_nodes)
{
    static const char leaf_sql[] =
        "INSERT INTO audit_leaves(idx, leaf, leaf_hash) VALUES (?1, ?2, ?3)";
    static const char node_sql[] = "INSERT INTO audit_nodes(level, idx, hash) VALUES (?1, ?2, ?3)";
    vgb_sqlite *s = (vgb_sqlite *)base;
    if (sqlite3_get_autocommit(s->db)) {
        return VG_ERR_INTERNAL; /* leaves are appended inside the batch's transaction */
    }
    int src = sqlite3_exec(s->db, "SAVEPOINT vgb_audit_append", NULL, NULL, NULL);
    if (src != SQLITE_OK) {
        return vgb_sqlite_fail(s, src, "savepoint");
    }
    vg_err rc = s_insert_hash(s, leaf_sql, (int64_t)index, 0, leaf, len, leaf_hash);
    for (size_t i = 0; i < n_nodes && rc == VG_OK; i++) {
        rc = s_insert_hash(s, node_sql, (int64_t)levels[i], (int64_t)nodes[i], NULL, 0, hashes[i]);
    }
    if (rc != VG_OK) { /* all or none */
        sqlite3_exec(s->db, "ROLLBACK TO vgb_audit_append", NULL, NULL, NULL);
    }
    src = sqlite3_exec(s->db, "RELEASE vgb_audit_append", NULL, NULL, NULL);
    return rc == VG_OK && src != SQLITE_OK ? vgb_sqlite_fail(s, src, "release savepoint") : rc;
}

vg_err
vgb_sqlite_audit_add_checkpoint(vgb_store *base, uint64_t size, const uint8_t root[VG_HASH_LEN],
                                const char *note, size_t note_len, int64_t signed_ms)
{
    static const char sql[] =
        "INSERT INTO audit_checkpoints(size, root, note, signed_ms) VALUES (?1, ?2, ?3, ?4)";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
    sqlite3_bind_blob(st, 2, root, VG_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, note, (int)note_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, signed_ms);
    vg_err err = vgb_sqlite_exec_why(s, st, "store checkpoint", NULL);
    sqlite3_clear_bindings(st);
    return err;
}

/* Calls fn for each checkpoint row st returns (size, root, note, signed_ms). */
static vg_err
s_each_checkpoint(vgb_sqlite *s, sqlite3_stmt *st, vgb_checkpoint_fn fn, void *ctx, bool *found)
{
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        vgb_checkpoint_row row = {
            .size = (uint64_t)sqlite3_column_int64(st, 0),
            .note = (const char *)sqlite3_column_text(st, 2),
            .note_len = (size_t)sqlite3_column_bytes(st, 2),
            .signed_ms = sqlite3_column_int64(st, 3),
        };
        row.root_ok = s_hash(st, 1, row.root);
        row.note = row.note != NULL ? row.note : "";
        if (found != NULL) {
            *found = true;
        }
        fn(ctx, &row);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail(s, rc, "read checkpoints");
}

vg_err
vgb_sqlite_audit_latest_checkpoint(vgb_store *base, vgb_checkpoint_fn fn, void *ctx, bool *found)
{
    static const char sql[] = "SELECT size, root, note, signed_ms FROM audit_checkpoints"
                              " ORDER BY size DESC LIMIT 1";
    vgb_sqlite *s = (vgb_sqlite *)base;
    *found = false;
    return s_each_checkpoint(s, vgb_sqlite_stmt(s, sql), fn, ctx, found);
}

vg_err
vgb_sqlite_audit_checkpoints(vgb_store *base, vgb_checkpoint_fn fn, void *ctx)
{
    static const char sql[] =
        "SELECT size, root, note, signed_ms FROM audit_checkpoints ORDER BY size";
    vgb_sqlite *s = (vgb_sqlite *)base;
    return s_each_checkpoint(s, vgb_sqlite_stmt(s, sql), fn, ctx, NULL);
}

vg_err
vgb_sqlite_audit_checkpoint_at(vgb_store *base, uint64_t size, vgb_checkpoint_fn fn, void *ctx,
                               bool *found)
{
    static const char sql[] =
        "SELECT size, root, note, signed_ms FROM audit_checkpoints WHERE size = ?1";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    *found = false;
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
    }
    return s_each_checkpoint(s, st, fn, ctx, found);
}

/* ---- witness cosignatures (store_witness.h) ------------------------------------- */

vg_err
vgb_sqlite_add_cosignature(vgb_store *base, uint64_t size, const char *agency, const char *line,
                           size_t line_len, int64_t time_s, int64_t received_ms, bool *added)
{
    static const char sql[] = "INSERT OR IGNORE INTO cosignatures(size, agency, line, time_s,"
                              " received_ms) VALUES (?1, ?2, ?3, ?4, ?5)";
    vgb_sqlite *s = (vgb_sqlite *)base;
    if (sqlite3_get_autocommit(s->db)) {
        return VG_ERR_INTERNAL; /* inside the batch's transaction only */
    }
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
    sqlite3_bind_text(st, 2, agency, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, line, (int)line_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, time_s);
    sqlite3_bind_int64(st, 5, received_ms);
    vg_err err = vgb_sqlite_exec_why(s, st, "store cosignature", NULL);
    sqlite3_clear_bindings(st);
    *added = err == VG_OK && sqlite3_changes(s->db) > 0;
    return err;
}

vg_err
vgb_sqlite_cosignatures(vgb_store *base, uint64_t min_size, vgb_cosign_fn fn, void *ctx)
{
    static const char sql[] = "SELECT size, agency, line, time_s, received_ms FROM cosignatures"
                              " WHERE size >= ?1 ORDER BY size, agency";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)min_size);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *agency = (const char *)sqlite3_column_text(st, 1);
        const char *line = (const char *)sqlite3_column_text(st, 2);
        vgb_cosign_row row = {
            .size = (uint64_t)sqlite3_column_int64(st, 0),
            .agency = agency != NULL ? agency : "",
            .line = line != NULL ? line : "",
            .line_len = line != NULL ? (size_t)sqlite3_column_bytes(st, 2) : 0,
            .time_s = sqlite3_column_int64(st, 3),
            .received_ms = sqlite3_column_int64(st, 4),
        };
        fn(ctx, &row);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail(s, rc, "read cosignatures");
}

vg_err
vgb_sqlite_audit_leaves(vgb_store *base, vgb_leaf_fn fn, void *ctx)
{
    static const char sql[] = "SELECT idx, leaf, leaf_hash FROM audit_leaves ORDER BY idx";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint8_t h[VG_HASH_LEN];
        bool hash_ok = s_hash(st, 2, h);
        const uint8_t *leaf = sqlite3_column_blob(st, 1);
        if (!fn(ctx, (uint64_t)sqlite3_column_int64(st, 0), leaf ? leaf : (const uint8_t *)"",
                (size_t)sqlite3_column_bytes(st, 1), h, hash_ok)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail(s, rc, "read audit leaves");
}

vg_err
vgb_sqlite_audit_nodes_beyond(vgb_store *base, uint64_t size, bool *any)
{
    static const char sql[] =
        "SELECT count(*) FROM (SELECT 1 FROM audit_nodes WHERE ((idx + 1) << level) > ?1 LIMIT 1)";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
    uint64_t n = 0;
    vg_err err = vgb_sqlite_u64(s, st, &n, "read audit subtrees");
    *any = n > 0;
    return err;
}

vg_err
vgb_sqlite_link_leaf(vgb_store *base, uint64_t seq, uint64_t idx)
{
    static const char sql[] =
        "INSERT OR IGNORE INTO audit_alert_leaves(alert_seq, leaf_idx) VALUES (?1, ?2)";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)idx);
    return vgb_sqlite_exec_why(s, st, "link audit leaf", NULL);
}
