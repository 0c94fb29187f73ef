/* audit.c — the broker's Merkle audit log in SQLite (see audit.h). */
#include "audit.h"
#include "store_internal.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static const char s_schema[] = "CREATE TABLE IF NOT EXISTS audit_leaves("
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
                               " signed_ms INTEGER NOT NULL);";

enum {
    S_SIZE,
    S_LEAF_HASH,
    S_NODE,
    S_LEAF,
    S_INSERT_LEAF,
    S_INSERT_NODE,
    S_LATEST,
    S_INSERT_CHECKPOINT,
    S_N_STMTS
};

static const char *const s_sql[S_N_STMTS] = {
    [S_SIZE] = "SELECT idx FROM audit_leaves ORDER BY idx DESC LIMIT 1",
    [S_LEAF_HASH] = "SELECT leaf_hash FROM audit_leaves WHERE idx = ?1",
    [S_NODE] = "SELECT hash FROM audit_nodes WHERE level = ?1 AND idx = ?2",
    [S_LEAF] = "SELECT leaf FROM audit_leaves WHERE idx = ?1",
    [S_INSERT_LEAF] = "INSERT INTO audit_leaves(idx, leaf, leaf_hash) VALUES (?1, ?2, ?3)",
    [S_INSERT_NODE] = "INSERT INTO audit_nodes(level, idx, hash) VALUES (?1, ?2, ?3)",
    [S_LATEST] = "SELECT size, root, note, signed_ms FROM audit_checkpoints"
                 " ORDER BY size DESC LIMIT 1",
    [S_INSERT_CHECKPOINT] = "INSERT INTO audit_checkpoints(size, root, note, signed_ms)"
                            " VALUES (?1, ?2, ?3, ?4)",
};

struct vgb_audit {
    sqlite3 *db;                   /* borrowed: the store's connection */
    sqlite3_stmt *stmt[S_N_STMTS]; /* prepared once, reset after each use */
    char *origin;                  /* network name: checkpoint origin and key name */
    const vg_keyset *keys;         /* borrowed: the broker's signing key */
    vg_merkle_range range;         /* cached compact range; valid while its size is stored */
};

static vg_err
s_fail(sqlite3 *db, int rc, const char *what, vg_reason *why)
{
    return vg_reason_set(why, vgb_sqlite_err(rc), "audit log: %s failed: %s", what,
                         sqlite3_errmsg(db));
}

static sqlite3_stmt *
s_stmt(vgb_audit *a, int which)
{
    sqlite3_stmt *st = a->stmt[which];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

/* Copies a 32-byte hash column; false when the column is not 32 bytes. */
static bool
s_column_hash(sqlite3_stmt *st, int col, uint8_t out[VG_MERKLE_HASH_LEN])
{
    if (sqlite3_column_type(st, col) != SQLITE_BLOB ||
        sqlite3_column_bytes(st, col) != VG_MERKLE_HASH_LEN) {
        return false;
    }
    memcpy(out, sqlite3_column_blob(st, col), VG_MERKLE_HASH_LEN);
    return true;
}

vg_err
vgb_audit_create_tables(sqlite3 *db, vg_reason *why)
{
    int rc = sqlite3_exec(db, s_schema, NULL, NULL, NULL);
    return rc == SQLITE_OK ? VG_OK : s_fail(db, rc, "create tables", why);
}

vg_err
vgb_audit_open(vgb_audit **out, sqlite3 *db, const char *origin, const vg_keyset *keys,
               vg_reason *why)
{
    if (db == NULL || origin == NULL || keys == NULL || vg_keyset_sign_sk(keys) == NULL) {
        return vg_reason_set(why, VG_ERR_INVALID,
                             "audit log needs a connection, an origin and a signing key");
    }
    vgb_audit *a = calloc(1, sizeof *a);
    if (a == NULL || (a->origin = vg_strdup(origin)) == NULL) {
        free(a);
        return VG_ERR_NOMEM;
    }
    a->db = db;
    a->keys = keys;
    vg_merkle_range_init(&a->range);
    a->range.size = UINT64_MAX; /* not loaded: never equal to a stored size */
    for (int i = 0; i < S_N_STMTS; i++) {
        int rc = sqlite3_prepare_v3(db, s_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &a->stmt[i], NULL);
        if (rc != SQLITE_OK) {
            vg_err err = s_fail(db, rc, "prepare", why);
            vgb_audit_destroy(&a);
            return err;
        }
    }
    *out = a;
    return VG_OK;
}

void
vgb_audit_destroy(vgb_audit **audit_p)
{
    if (audit_p == NULL || *audit_p == NULL) {
        return;
    }
    vgb_audit *a = *audit_p;
    for (int i = 0; i < S_N_STMTS; i++) {
        sqlite3_finalize(a->stmt[i]);
    }
    free(a->origin);
    free(a);
    *audit_p = NULL;
}

/* ---- stored hashes ---------------------------------------------------------------- */

/* vg_merkle_node_fn over the tables: level 0 from audit_leaves. */
static vg_err
s_node(void *ctx, unsigned level, uint64_t index, uint8_t out[VG_MERKLE_HASH_LEN])
{
    vgb_audit *a = ctx;
    sqlite3_stmt *st = s_stmt(a, level == 0 ? S_LEAF_HASH : S_NODE);
    if (level == 0) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)index);
    } else {
        sqlite3_bind_int(st, 1, (int)level);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)index);
    }
    int rc = sqlite3_step(st);
    bool ok = rc == SQLITE_ROW && s_column_hash(st, 0, out);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return vgb_sqlite_err(rc);
    }
    return ok ? VG_OK : VG_ERR_MALFORMED;
}

/* vg_merkle_subtree_fn over the stored complete subtrees. */
static vg_err
s_subtree(void *ctx, uint64_t start, uint64_t end, uint8_t out[VG_MERKLE_HASH_LEN])
{
    return vg_merkle_subtree_from_nodes(out, start, end, s_node, ctx);
}

static vg_err
s_damaged(vg_err err, vg_reason *why)
{
    if (err == VG_ERR_MALFORMED) {
        return vg_reason_set(why, err,
                             "audit log: a stored subtree hash is missing or damaged; run "
                             "'vigilctl audit verify'");
    }
    return vg_reason_set(why, err, "audit log: reading stored hashes failed: %s", vg_strerror(err));
}

/* The stored tree size: the last leaf index plus one. */
static vg_err
s_stored_size(vgb_audit *a, uint64_t *out, vg_reason *why)
{
    sqlite3_stmt *st = s_stmt(a, S_SIZE);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = (uint64_t)sqlite3_column_int64(st, 0) + 1;
    } else if (rc == SQLITE_DONE) {
        *out = 0;
    }
    sqlite3_reset(st);
    return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? VG_OK : s_fail(a->db, rc, "read size", why);
}

/* Makes a->range the compact range of the stored leaves, reloading it
 * (O(log n) lookups) when the cached one is not of the stored size. */
static vg_err
s_sync(vgb_audit *a, vg_reason *why)
{
    uint64_t size = 0;
    vg_err rc = s_stored_size(a, &size, why);
    if (rc != VG_OK || size == a->range.size) {
        return rc;
    }
    rc = vg_merkle_range_load(&a->range, size, s_node, a);
    if (rc != VG_OK) {
        a->range.size = UINT64_MAX;
        return s_damaged(rc, why);
    }
    return VG_OK;
}

vg_err
vgb_audit_size(vgb_audit *a, uint64_t *size_out, vg_reason *why)
{
    vg_err rc = s_sync(a, why);
    *size_out = rc == VG_OK ? a->range.size : 0;
    return rc;
}

vg_err
vgb_audit_head(vgb_audit *a, uint64_t *size_out, uint8_t root_out[VG_MERKLE_HASH_LEN],
               vg_reason *why)
{
    vg_err rc = s_sync(a, why);
    if (rc != VG_OK) {
        return rc;
    }
    *size_out = a->range.size;
    vg_merkle_range_root(&a->range, root_out);
    return VG_OK;
}

vg_err
vgb_audit_root_at(vgb_audit *a, uint64_t size, uint8_t out[VG_MERKLE_HASH_LEN], vg_reason *why)
{
    vg_err rc = s_sync(a, why);
    if (rc != VG_OK) {
        return rc;
    }
    if (size > a->range.size) {
        return vg_reason_set(why, VG_ERR_NOT_FOUND, "audit log has %llu leaves, not %llu",
                             (unsigned long long)a->range.size, (unsigned long long)size);
    }
    if (size == 0) {
        vg_merkle_empty_root(out);
        return VG_OK;
    }
    rc = s_subtree(a, 0, size, out);
    return rc == VG_OK ? VG_OK : s_damaged(rc, why);
}

vg_err
vgb_audit_leaf(vgb_audit *a, uint64_t index, uint8_t **out, size_t *out_len, vg_reason *why)
{
    sqlite3_stmt *st = s_stmt(a, S_LEAF);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)index);
    int rc = sqlite3_step(st);
    vg_err err = VG_OK;
    if (rc == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        uint8_t *copy = malloc(n > 0 ? n : 1);
        if (copy == NULL) {
            err = VG_ERR_NOMEM;
        } else {
            memcpy(copy, sqlite3_column_blob(st, 0), n);
            *out = copy;
            *out_len = n;
        }
    } else if (rc == SQLITE_DONE) {
        err = vg_reason_set(why, VG_ERR_NOT_FOUND, "audit log has no leaf %llu",
                            (unsigned long long)index);
    } else {
        err = s_fail(a->db, rc, "read leaf", why);
    }
    sqlite3_reset(st);
    return err;
}

/* ---- appending ---------------------------------------------------------------------- */

static vg_err
s_insert_hash_row(vgb_audit *a, int which, int64_t k1, int64_t k2, const void *blob,
                  size_t blob_len, const uint8_t hash[VG_MERKLE_HASH_LEN], vg_reason *why)
{
    sqlite3_stmt *st = s_stmt(a, which);
    sqlite3_bind_int64(st, 1, k1);
    if (which == S_INSERT_LEAF) {
        sqlite3_bind_blob(st, 2, blob, (int)blob_len, SQLITE_STATIC);
    } else {
        sqlite3_bind_int64(st, 2, k2);
    }
    sqlite3_bind_blob(st, 3, hash, VG_MERKLE_HASH_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st); /* drop the SQLITE_STATIC pointers */
    return rc == SQLITE_DONE ? VG_OK : s_fail(a->db, rc, "append", why);
}

/* Inserts the leaf row and the subtree rows (level >= 1) that end at it. */
static vg_err
s_insert_leaf(vgb_audit *a, uint64_t index, const uint8_t *leaf, size_t len,
              const vg_merkle_node *nodes, size_t n_nodes, vg_reason *why)
{
    vg_err rc =
        s_insert_hash_row(a, S_INSERT_LEAF, (int64_t)index, 0, leaf, len, nodes[0].hash, why);
    for (size_t i = 1; i < n_nodes && rc == VG_OK; i++) {
        rc = s_insert_hash_row(a, S_INSERT_NODE, (int64_t)nodes[i].level, (int64_t)nodes[i].index,
                               NULL, 0, nodes[i].hash, why);
    }
    return rc;
}

/* Runs the inserts inside a savepoint so that a failure undoes all of them. */
static vg_err
s_insert_atomically(vgb_audit *a, uint64_t index, const uint8_t *leaf, size_t len,
                    const vg_merkle_node *nodes, size_t n_nodes, vg_reason *why)
{
    int src = sqlite3_exec(a->db, "SAVEPOINT vgb_audit_append", NULL, NULL, NULL);
    if (src != SQLITE_OK) {
        return s_fail(a->db, src, "savepoint", why);
    }
    vg_err rc = s_insert_leaf(a, index, leaf, len, nodes, n_nodes, why);
    if (rc != VG_OK) {
        sqlite3_exec(a->db, "ROLLBACK TO vgb_audit_append", NULL, NULL, NULL);
    }
    src = sqlite3_exec(a->db, "RELEASE vgb_audit_append", NULL, NULL, NULL);
    if (rc == VG_OK && src != SQLITE_OK) {
        rc = s_fail(a->db, src, "release savepoint", why);
    }
    return rc;
}

vg_err
vgb_audit_append(vgb_audit *a, const vg_audit_event *ev, uint64_t *index_out, vg_reason *why)
{
    if (sqlite3_get_autocommit(a->db)) {
        return vg_reason_set(why, VG_ERR_INTERNAL,
                             "audit leaves are appended inside the store's transaction");
    }
    vg_err rc = s_sync(a, why);
    if (rc != VG_OK) {
        return rc;
    }
    vg_audit_event e = *ev; /* shallow: only index changes, the lists are borrowed */
    e.index = a->range.size;
    uint8_t *leaf = NULL;
    size_t len = 0;
    rc = vg_audit_leaf_encode(&leaf, &len, &e, why);
    if (rc != VG_OK) {
        return rc;
    }
    uint8_t leaf_hash[VG_MERKLE_HASH_LEN];
    vg_merkle_leaf_hash(leaf_hash, leaf, len);
    vg_merkle_range next = a->range;
    vg_merkle_node nodes[VG_MERKLE_LEVELS_MAX];
    size_t n_nodes = 0;
    rc = vg_merkle_range_append(&next, leaf_hash, nodes, &n_nodes);
    if (rc == VG_OK) {
        rc = s_insert_atomically(a, e.index, leaf, len, nodes, n_nodes, why);
    } else {
        rc = vg_reason_set(why, rc, "audit log is full");
    }
    free(leaf);
    if (rc != VG_OK) {
        return rc;
    }
    a->range = next;
    if (index_out != NULL) {
        *index_out = e.index;
    }
    return VG_OK;
}

/* ---- proofs ------------------------------------------------------------------------ */

vg_err
vgb_audit_inclusion_proof(vgb_audit *a, uint64_t index, uint64_t size,
                          vg_merkle_hash out[VG_MERKLE_PROOF_MAX], size_t *n_out, vg_reason *why)
{
    vg_err rc = s_sync(a, why);
    if (rc != VG_OK) {
        return rc;
    }
    if (size > a->range.size) {
        return vg_reason_set(why, VG_ERR_NOT_FOUND, "audit log has %llu leaves, not %llu",
                             (unsigned long long)a->range.size, (unsigned long long)size);
    }
    if (index >= size) {
        return vg_reason_set(why, VG_ERR_INVALID, "leaf %llu is not in a tree of %llu leaves",
                             (unsigned long long)index, (unsigned long long)size);
    }
    rc = vg_merkle_inclusion_proof(out, n_out, index, size, s_subtree, a);
    return rc == VG_OK ? VG_OK : s_damaged(rc, why);
}

vg_err
vgb_audit_consistency_proof(vgb_audit *a, uint64_t old_size, uint64_t new_size,
                            vg_merkle_hash out[VG_MERKLE_PROOF_MAX], size_t *n_out, vg_reason *why)
{
    vg_err rc = s_sync(a, why);
    if (rc != VG_OK) {
        return rc;
    }
    if (new_size > a->range.size) {
        return vg_reason_set(why, VG_ERR_NOT_FOUND, "audit log has %llu leaves, not %llu",
                             (unsigned long long)a->range.size, (unsigned long long)new_size);
    }
    if (old_size > new_size) {
        return vg_reason_set(why, VG_ERR_INVALID, "no consistency proof from %llu down to %llu",
                             (unsigned long long)old_size, (unsigned long long)new_size);
    }
    rc = vg_merkle_consistency_proof(out, n_out, old_size, new_size, s_subtree, a);
    return rc == VG_OK ? VG_OK : s_damaged(rc, why);
}

/* ---- checkpoints ------------------------------------------------------------------- */

/* The latest stored checkpoint row. *found false when there is none. note
 * (may be NULL) receives a malloc'ed copy of the note. */
typedef struct s_cp_row {
    bool found;                       /* a row exists */
    uint64_t size;                    /* its tree size */
    uint8_t root[VG_MERKLE_HASH_LEN]; /* its root column */
    char *note;                       /* malloc'ed note text, or NULL */
    size_t note_len;                  /* its length */
    int64_t signed_ms;                /* when it was signed */
} s_cp_row;

static vg_err
s_latest(vgb_audit *a, s_cp_row *row, bool want_note, vg_reason *why)
{
    memset(row, 0, sizeof *row);
    sqlite3_stmt *st = s_stmt(a, S_LATEST);
    int rc = sqlite3_step(st);
    vg_err err = VG_OK;
    if (rc == SQLITE_ROW) {
        row->found = true;
        row->size = (uint64_t)sqlite3_column_int64(st, 0);
        row->signed_ms = sqlite3_column_int64(st, 3);
        row->note_len = (size_t)sqlite3_column_bytes(st, 2);
        if (!s_column_hash(st, 1, row->root)) {
            err = s_damaged(VG_ERR_MALFORMED, why);
        } else if (want_note && (row->note = malloc(row->note_len + 1)) == NULL) {
            err = VG_ERR_NOMEM;
        } else if (want_note) {
            memcpy(row->note, sqlite3_column_text(st, 2), row->note_len);
            row->note[row->note_len] = '\0';
        }
    } else if (rc != SQLITE_DONE) {
        err = s_fail(a->db, rc, "read checkpoint", why);
    }
    sqlite3_reset(st);
    return err;
}

vg_err
vgb_audit_checkpoint_latest(vgb_audit *a, char **note, size_t *note_len, uint64_t *size,
                            int64_t *signed_ms, vg_reason *why)
{
    s_cp_row row;
    vg_err rc = s_latest(a, &row, note != NULL, why);
    if (rc == VG_OK && !row.found) {
        rc = vg_reason_set(why, VG_ERR_NOT_FOUND, "no audit checkpoint signed yet");
    }
    if (rc != VG_OK) {
        free(row.note);
        return rc;
    }
    if (note != NULL) {
        *note = row.note;
    }
    if (note_len != NULL) {
        *note_len = row.note_len;
    }
    if (size != NULL) {
        *size = row.size;
    }
    if (signed_ms != NULL) {
        *signed_ms = row.signed_ms;
    }
    return VG_OK;
}

static vg_err
s_store_checkpoint(vgb_audit *a, const vg_checkpoint *cp, int64_t signed_ms, vg_reason *why)
{
    sqlite3_stmt *st = s_stmt(a, S_INSERT_CHECKPOINT);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)vg_checkpoint_size(cp));
    sqlite3_bind_blob(st, 2, vg_checkpoint_root(cp), VG_MERKLE_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, vg_checkpoint_note(cp), (int)vg_checkpoint_note_len(cp),
                      SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, signed_ms);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? VG_OK : s_fail(a->db, rc, "store checkpoint", why);
}

vg_err
vgb_audit_checkpoint_sign(vgb_audit *a, int64_t signed_ms, vg_checkpoint **out, vg_reason *why)
{
    uint64_t size = 0;
    uint8_t root[VG_MERKLE_HASH_LEN];
    s_cp_row last;
    vg_err rc = vgb_audit_head(a, &size, root, why);
    if (rc == VG_OK) {
        rc = s_latest(a, &last, false, why);
    }
    if (rc != VG_OK) {
        return rc;
    }
    if (last.found && last.size == size) {
        return vg_reason_set(why, VG_ERR_DUPLICATE, "checkpoint at size %llu already signed",
                             (unsigned long long)size);
    }
    uint8_t then[VG_MERKLE_HASH_LEN];
    if (last.found && (last.size > size || vgb_audit_root_at(a, last.size, then, why) != VG_OK ||
                       sodium_memcmp(then, last.root, sizeof then) != 0)) {
        return vg_reason_set(why, VG_ERR_CONFLICT,
                             "audit log no longer matches its checkpoint at size %llu: refusing "
                             "to sign; run 'vigilctl audit verify'",
                             (unsigned long long)last.size);
    }
    vg_checkpoint *cp = NULL;
    rc = vg_checkpoint_sign(&cp, a->origin, size, root, a->keys, why);
    if (rc == VG_OK) {
        rc = s_store_checkpoint(a, cp, signed_ms, why);
    }
    if (rc == VG_OK && out != NULL) {
        *out = cp;
        cp = NULL;
    }
    vg_checkpoint_destroy(&cp);
    return rc;
}

/* ---- offline verification ------------------------------------------------------------ */

/* A checkpoint given by the caller, verified. */
typedef struct s_given {
    uint64_t size;                    /* its tree size */
    uint8_t root[VG_MERKLE_HASH_LEN]; /* its root */
} s_given;

typedef struct s_verifier {
    sqlite3 *db;                      /* read only */
    const vgb_audit_verify_params *p; /* what to trust */
    vgb_audit_report *rep;            /* what was found */
    vg_merkle_range range;            /* recomputed from the leaves read so far */
    sqlite3_stmt *leaves;             /* all leaves in index order */
    sqlite3_stmt *node;               /* one stored subtree */
    sqlite3_stmt *cps;                /* stored checkpoints by size */
    sqlite3_stmt *beyond;             /* a subtree past the last leaf */
    int cps_rc;                       /* last step of cps: SQLITE_ROW when on a row */
    s_given *given;                   /* the caller's checkpoints, by size */
    size_t n_given;                   /* how many */
    size_t next_given;                /* the first not yet checked */
    uint64_t good_size;               /* largest checkpoint size verified so far */
} s_verifier;

static vg_err VG_PRINTF(5, 6) s_fault(s_verifier *v, vgb_audit_fault fault, uint64_t index,
                                      uint64_t cp_size, const char *fmt, ...)
{
    v->rep->fault = fault;
    v->rep->first_bad_index = index;
    v->rep->checkpoint_size = cp_size;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->rep->detail, sizeof v->rep->detail, fmt, ap);
    va_end(ap);
    return VG_ERR_CONFLICT;
}

static int
s_cmp_given(const void *a, const void *b)
{
    uint64_t x = ((const s_given *)a)->size;
    uint64_t y = ((const s_given *)b)->size;
    return x < y ? -1 : x > y;
}

/* Verifies the caller's checkpoints up front and sorts them by size. */
static vg_err
s_load_given(s_verifier *v)
{
    if (v->p->n_notes == 0) {
        return VG_OK;
    }
    v->given = calloc(v->p->n_notes, sizeof *v->given);
    if (v->given == NULL) {
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < v->p->n_notes; i++) {
        vg_checkpoint *cp = NULL;
        vg_reason r = {""};
        vg_err rc = vg_checkpoint_verify(&cp, v->p->notes[i], v->p->note_lens[i], v->p->origin,
                                         v->p->broker_pk, &r);
        if (rc != VG_OK) {
            return s_fault(v, VGB_AUDIT_FAULT_CHECKPOINT, VGB_AUDIT_NO_INDEX, 0,
                           "given checkpoint %zu does not verify (%s): %s", i + 1, vg_err_code(rc),
                           r.text);
        }
        v->given[i].size = vg_checkpoint_size(cp);
        memcpy(v->given[i].root, vg_checkpoint_root(cp), VG_MERKLE_HASH_LEN);
        vg_checkpoint_destroy(&cp);
    }
    v->n_given = v->p->n_notes;
    qsort(v->given, v->n_given, sizeof *v->given, s_cmp_given);
    return VG_OK;
}

static vg_err
s_root_fault(s_verifier *v, uint64_t size, const char *whose)
{
    if (size == 0) {
        return s_fault(v, VGB_AUDIT_FAULT_CHECKPOINT, VGB_AUDIT_NO_INDEX, 0,
                       "the %s checkpoint at size 0 does not have the empty root", whose);
    }
    return s_fault(v, VGB_AUDIT_FAULT_ROOT, v->good_size, size,
                   "the leaves do not give the root of the %s checkpoint at size %llu: leaves "
                   "%llu..%llu were altered after it was signed",
                   whose, (unsigned long long)size, (unsigned long long)v->good_size,
                   (unsigned long long)(size - 1));
}

/* Checks the current stored checkpoint row (of size `size`) against its note
 * and the recomputed root, and steps to the next row. */
static vg_err
s_check_stored(s_verifier *v, uint64_t size, const uint8_t root[VG_MERKLE_HASH_LEN])
{
    uint8_t row_root[VG_MERKLE_HASH_LEN];
    const char *note = (const char *)sqlite3_column_text(v->cps, 2);
    size_t note_len = (size_t)sqlite3_column_bytes(v->cps, 2);
    vg_checkpoint *cp = NULL;
    vg_reason r = {""};
    vg_err rc = note == NULL
                    ? VG_ERR_MALFORMED
                    : vg_checkpoint_verify(&cp, note, note_len, v->p->origin, v->p->broker_pk, &r);
    if (rc != VG_OK) {
        return s_fault(v, VGB_AUDIT_FAULT_CHECKPOINT, VGB_AUDIT_NO_INDEX, size,
                       "stored checkpoint at size %llu does not verify (%s): %s",
                       (unsigned long long)size, vg_err_code(rc), r.text);
    }
    bool row_ok = s_column_hash(v->cps, 1, row_root) && vg_checkpoint_size(cp) == size &&
                  memcmp(vg_checkpoint_root(cp), row_root, sizeof row_root) == 0;
    bool root_ok = memcmp(vg_checkpoint_root(cp), root, VG_MERKLE_HASH_LEN) == 0;
    vg_checkpoint_destroy(&cp);
    if (!row_ok) {
        return s_fault(v, VGB_AUDIT_FAULT_CHECKPOINT, VGB_AUDIT_NO_INDEX, size,
                       "stored checkpoint row at size %llu disagrees with its signed note",
                       (unsigned long long)size);
    }
    if (!root_ok) {
        return s_root_fault(v, size, "stored");
    }
    v->rep->n_checkpoints++;
    v->cps_rc = sqlite3_step(v->cps);
    return VG_OK;
}

/* Checks every checkpoint (stored and given) of the current size. */
static vg_err
s_check_at_size(s_verifier *v)
{
    uint64_t size = v->range.size;
    uint8_t root[VG_MERKLE_HASH_LEN];
    vg_merkle_range_root(&v->range, root);
    bool any = false;
    while (v->cps_rc == SQLITE_ROW && (uint64_t)sqlite3_column_int64(v->cps, 0) == size) {
        vg_err rc = s_check_stored(v, size, root);
        if (rc != VG_OK) {
            return rc;
        }
        any = true;
    }
    for (; v->next_given < v->n_given && v->given[v->next_given].size == size; v->next_given++) {
        if (memcmp(v->given[v->next_given].root, root, sizeof root) != 0) {
            return s_root_fault(v, size, "given");
        }
        v->rep->n_checkpoints++;
        any = true;
    }
    if (any) {
        v->good_size = size;
    }
    return VG_OK;
}

/* Compares the subtrees completed by the last leaf with the stored ones. */
static vg_err
s_check_nodes(s_verifier *v, const vg_merkle_node *nodes, size_t n_nodes)
{
    for (size_t i = 1; i < n_nodes; i++) {
        uint8_t stored[VG_MERKLE_HASH_LEN];
        sqlite3_reset(v->node);
        sqlite3_bind_int(v->node, 1, (int)nodes[i].level);
        sqlite3_bind_int64(v->node, 2, (sqlite3_int64)nodes[i].index);
        int rc = sqlite3_step(v->node);
        bool same = rc == SQLITE_ROW && s_column_hash(v->node, 0, stored) &&
                    memcmp(stored, nodes[i].hash, sizeof stored) == 0;
        sqlite3_reset(v->node);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            return s_fail(v->db, rc, "read subtree", NULL);
        }
        if (!same) {
            uint64_t start = nodes[i].index << nodes[i].level;
            uint64_t end = start + (UINT64_C(1) << nodes[i].level);
            return s_fault(
                v, VGB_AUDIT_FAULT_SUBTREE, start > v->good_size ? start : v->good_size, 0,
                "stored subtree hash (level %u, index %llu) over leaves %llu..%llu is "
                "%s: those leaves or that hash were altered",
                nodes[i].level, (unsigned long long)nodes[i].index, (unsigned long long)start,
                (unsigned long long)(end - 1), rc == SQLITE_ROW ? "different" : "missing");
        }
    }
    return VG_OK;
}

/* Checks the current leaf row and adds it to the recomputed tree. */
static vg_err
s_check_leaf(s_verifier *v)
{
    uint64_t want = v->range.size;
    uint64_t idx = (uint64_t)sqlite3_column_int64(v->leaves, 0);
    if (idx != want) {
        return s_fault(v, VGB_AUDIT_FAULT_DELETED, want, 0,
                       "leaf %llu is missing (deleted); the next stored leaf is %llu",
                       (unsigned long long)want, (unsigned long long)idx);
    }
    const uint8_t *leaf = sqlite3_column_blob(v->leaves, 1);
    size_t len = (size_t)sqlite3_column_bytes(v->leaves, 1);
    uint8_t stored[VG_MERKLE_HASH_LEN];
    uint8_t h[VG_MERKLE_HASH_LEN];
    vg_merkle_leaf_hash(h, leaf, len);
    if (!s_column_hash(v->leaves, 2, stored) || memcmp(stored, h, sizeof h) != 0) {
        return s_fault(v, VGB_AUDIT_FAULT_ALTERED, idx, 0,
                       "leaf %llu was altered: its bytes do not match its stored leaf hash",
                       (unsigned long long)idx);
    }
    vg_audit_event ev;
    vg_reason r = {""};
    if (vg_audit_leaf_parse(&ev, leaf, len, &r) != VG_OK) {
        return s_fault(v, VGB_AUDIT_FAULT_MALFORMED, idx, 0, "leaf %llu does not parse: %s",
                       (unsigned long long)idx, r.text);
    }
    uint64_t says = ev.index;
    vg_audit_event_fini(&ev);
    if (says != idx) {
        return s_fault(v, VGB_AUDIT_FAULT_REORDERED, idx, 0,
                       "leaf at index %llu says it is leaf %llu: leaves were reordered, or one "
                       "was deleted and the rest renumbered",
                       (unsigned long long)idx, (unsigned long long)says);
    }
    vg_merkle_node nodes[VG_MERKLE_LEVELS_MAX];
    size_t n_nodes = 0;
    if (vg_merkle_range_append(&v->range, h, nodes, &n_nodes) != VG_OK) {
        return s_fault(v, VGB_AUDIT_FAULT_MALFORMED, idx, 0, "log over the size limit");
    }
    v->rep->n_leaves++;
    return s_check_nodes(v, nodes, n_nodes);
}

/* After the last leaf: nothing may cover leaves that are not there. */
static vg_err
s_check_tail(s_verifier *v)
{
    uint64_t n = v->range.size;
    if (v->cps_rc == SQLITE_ROW) {
        uint64_t size = (uint64_t)sqlite3_column_int64(v->cps, 0);
        return s_fault(v, VGB_AUDIT_FAULT_TRUNCATED, n, size,
                       "the log has %llu leaves but a stored checkpoint covers %llu: leaves "
                       "from %llu on were removed",
                       (unsigned long long)n, (unsigned long long)size, (unsigned long long)n);
    }
    if (v->next_given < v->n_given) {
        uint64_t size = v->given[v->next_given].size;
        return s_fault(v, VGB_AUDIT_FAULT_TRUNCATED, n, size,
                       "the log has %llu leaves but a given checkpoint covers %llu: leaves "
                       "from %llu on were removed",
                       (unsigned long long)n, (unsigned long long)size, (unsigned long long)n);
    }
    sqlite3_bind_int64(v->beyond, 1, (sqlite3_int64)n);
    int rc = sqlite3_step(v->beyond);
    if (rc == SQLITE_ROW) {
        return s_fault(v, VGB_AUDIT_FAULT_TRUNCATED, n, 0,
                       "the log has %llu leaves but subtree hashes exist past its end: leaves "
                       "from %llu on were removed",
                       (unsigned long long)n, (unsigned long long)n);
    }
    return rc == SQLITE_DONE ? VG_OK : s_fail(v->db, rc, "read subtrees", NULL);
}

static vg_err
s_verify_prepare(s_verifier *v, vg_reason *why)
{
    static const char *const sql[4] = {
        "SELECT idx, leaf, leaf_hash FROM audit_leaves ORDER BY idx",
        "SELECT hash FROM audit_nodes WHERE level = ?1 AND idx = ?2",
        "SELECT size, root, note FROM audit_checkpoints ORDER BY size",
        "SELECT level, idx FROM audit_nodes WHERE ((idx + 1) << level) > ?1 LIMIT 1",
    };
    sqlite3_stmt **st[4] = {&v->leaves, &v->node, &v->cps, &v->beyond};
    for (int i = 0; i < 4; i++) {
        int rc = sqlite3_prepare_v2(v->db, sql[i], -1, st[i], NULL);
        if (rc != SQLITE_OK) {
            return s_fail(v->db, rc, "prepare verify", why);
        }
    }
    v->cps_rc = sqlite3_step(v->cps);
    return v->cps_rc == SQLITE_ROW || v->cps_rc == SQLITE_DONE
               ? VG_OK
               : s_fail(v->db, v->cps_rc, "read checkpoints", why);
}

/* The walk: checkpoints at size 0, then each leaf and the checkpoints after it. */
static vg_err
s_verify_walk(s_verifier *v, vg_reason *why)
{
    vg_err rc = s_check_at_size(v);
    int src = SQLITE_DONE;
    while (rc == VG_OK && (src = sqlite3_step(v->leaves)) == SQLITE_ROW) {
        rc = s_check_leaf(v);
        if (rc == VG_OK) {
            rc = s_check_at_size(v);
        }
        if (rc == VG_OK && v->cps_rc != SQLITE_ROW && v->cps_rc != SQLITE_DONE) {
            return s_fail(v->db, v->cps_rc, "read checkpoints", why);
        }
    }
    if (rc == VG_OK && src != SQLITE_DONE) {
        return s_fail(v->db, src, "read leaves", why);
    }
    return rc == VG_OK ? s_check_tail(v) : rc;
}

vg_err
vgb_audit_verify(sqlite3 *db, const vgb_audit_verify_params *p, vgb_audit_report *report,
                 vg_reason *why)
{
    if (db == NULL || p == NULL || p->origin == NULL || p->broker_pk == NULL || report == NULL ||
        (p->n_notes > 0 && (p->notes == NULL || p->note_lens == NULL))) {
        return vg_reason_set(why, VG_ERR_INVALID, "audit verify: missing parameters");
    }
    memset(report, 0, sizeof *report);
    report->first_bad_index = VGB_AUDIT_NO_INDEX;
    s_verifier v = {.db = db, .p = p, .rep = report};
    vg_merkle_range_init(&v.range);
    vg_err rc = s_load_given(&v);
    if (rc == VG_OK) {
        rc = s_verify_prepare(&v, why);
    }
    if (rc == VG_OK) {
        rc = s_verify_walk(&v, why);
    }
    if (rc == VG_ERR_CONFLICT) {
        vg_reason_set(why, rc, "audit log: %s", report->detail);
    }
    sqlite3_finalize(v.leaves);
    sqlite3_finalize(v.node);
    sqlite3_finalize(v.cps);
    sqlite3_finalize(v.beyond);
    free(v.given);
    return rc;
}
