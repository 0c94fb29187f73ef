/* store-tamper: rewrites a scratch store with SQL, as an insider, to check offline verification */
/* test_audit.c — broker/audit.h: appends, proofs, checkpoints and offline
 * verification against a tampered store, on a scratch store. The tampering
 * is SQL on the SQLite file (an insider with the database in hand): the one
 * kind of SQL a test may hold (docs/testing.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "audit.h"
#include "store.h"
#include "vigil/keys.h"
#include "vt.h"

#define ORIGIN "vigil-test"
#define BIG 1000

typedef struct fixture {
    char *dir;        /* temp dir */
    vgb_store *store; /* the store in dir */
    sqlite3 *db;      /* dir/vigil.db, a second connection: the insider's */
    vg_keyset *ks;    /* the broker key */
    vgb_audit *audit; /* the module under test */
} fixture;

/* Runs the insider's SQL on the store (every use is a named s_tamper_*). */
static void
s_tamper_sql(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fail_msg("%s: %s", sql, err);
    }
}

/* Deletes leaf idx. */
static void
s_tamper_delete_leaf(fixture *f, uint64_t idx)
{
    char sql[128];
    snprintf(sql, sizeof sql, "DELETE FROM audit_leaves WHERE idx = %llu", (unsigned long long)idx);
    s_tamper_sql(f->db, sql);
}

/* "licensing" -> "licensinG" in leaf idx's bytes; its leaf hash is left as stored. */
static void
s_tamper_alter_leaf(fixture *f, uint64_t idx)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE audit_leaves SET leaf = CAST(replace(CAST(leaf AS TEXT), 'licensing',"
             " 'licensinG') AS BLOB) WHERE idx = %llu",
             (unsigned long long)idx);
    s_tamper_sql(f->db, sql);
}

/* Swaps leaves i and j, each with its hash. */
static void
s_tamper_swap_leaves(fixture *f, uint64_t i, uint64_t j)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE audit_leaves SET idx = -1 WHERE idx = %llu;"
             "UPDATE audit_leaves SET idx = %llu WHERE idx = %llu;"
             "UPDATE audit_leaves SET idx = %llu WHERE idx = -1;",
             (unsigned long long)i, (unsigned long long)i, (unsigned long long)j,
             (unsigned long long)j);
    s_tamper_sql(f->db, sql);
}

/* Deletes leaf idx and renumbers the ones after it to close the gap. */
static void
s_tamper_delete_and_renumber(fixture *f, uint64_t idx)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "DELETE FROM audit_leaves WHERE idx = %llu;"
             "UPDATE audit_leaves SET idx = -idx WHERE idx > %llu;"
             "UPDATE audit_leaves SET idx = -idx - 1 WHERE idx < 0;",
             (unsigned long long)idx, (unsigned long long)idx);
    s_tamper_sql(f->db, sql);
}

/* Deletes the leaves from idx on, and only them. */
static void
s_tamper_truncate_leaves(fixture *f, uint64_t idx)
{
    char sql[128];
    snprintf(sql, sizeof sql, "DELETE FROM audit_leaves WHERE idx >= %llu",
             (unsigned long long)idx);
    s_tamper_sql(f->db, sql);
}

/* Truncates the log consistently at size: the leaves from there on, the
 * subtrees over them and the checkpoints of larger trees. */
static void
s_tamper_truncate_log(fixture *f, uint64_t size)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "DELETE FROM audit_leaves WHERE idx >= %llu;"
             "DELETE FROM audit_nodes WHERE ((idx + 1) << level) > %llu;"
             "DELETE FROM audit_checkpoints WHERE size > %llu;",
             (unsigned long long)size, (unsigned long long)size, (unsigned long long)size);
    s_tamper_sql(f->db, sql);
}

/* Replaces the note of the stored checkpoint of this size. */
static void
s_tamper_checkpoint_note(fixture *f, uint64_t size, const char *note)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->db,
                                        "UPDATE audit_checkpoints SET note = ?1"
                                        " WHERE size = ?2",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, note, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)size);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    assert_int_equal(sqlite3_changes(f->db), 1);
    sqlite3_finalize(st);
}

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = vt_tmpdir_new();
    char *path = vt_path(f->dir, "vigil.db");
    assert_int_equal(vgb_store_open(&f->store, f->dir, NULL), VG_OK);
    assert_int_equal(sqlite3_open(path, &f->db), SQLITE_OK);
    free(path);
    assert_int_equal(vg_keyset_generate(&f->ks, VG_KEY_SIGN), VG_OK);
    assert_int_equal(vgb_audit_open(&f->audit, f->store, ORIGIN, f->ks, NULL), VG_OK);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    vgb_audit_destroy(&f->audit);
    assert_null(f->audit);
    assert_int_equal(sqlite3_close(f->db), SQLITE_OK);
    vgb_store_destroy(&f->store);
    vg_keyset_destroy(&f->ks);
    vt_tmpdir_destroy(&f->dir);
    free(f);
    return 0;
}

/* Event i: alternately accepted and delivered. */
static void
s_event(vg_audit_event *ev, uint64_t i)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = i % 2 ? VG_AUDIT_DELIVERED : VG_AUDIT_ACCEPTED;
    ev->time_ms = UINT64_C(1796000000000) + i;
    ev->has_alert_id = true;
    memcpy(ev->alert_id, &i, sizeof i);
    memcpy(ev->hash, &i, sizeof i);
    strcpy(ev->sender, "police");
    strcpy(ev->agency, "licensing");
    ev->version = 1;
    assert_int_equal(vg_strlist_add(&ev->agencies, "licensing"), VG_OK);
    if (ev->kind == VG_AUDIT_DELIVERED) { /* a receipt's leaf lists its alerts */
        ev->alerts = calloc(1, sizeof *ev->alerts);
        assert_non_null(ev->alerts);
        memcpy(ev->alerts[0], &i, sizeof i);
        ev->n_alerts = 1;
    }
}

/* Appends leaves [from, to) in one transaction; roots[s] gets each root. */
static void
s_append(fixture *f, uint64_t from, uint64_t to, vg_merkle_hash *roots)
{
    assert_int_equal(vgb_store_begin(f->store, NULL), VG_OK);
    for (uint64_t i = from; i < to; i++) {
        vg_audit_event ev;
        s_event(&ev, i);
        uint64_t index = 0;
        assert_int_equal(vgb_audit_append(f->audit, &ev, &index, NULL), VG_OK);
        assert_int_equal(index, i);
        vg_audit_event_fini(&ev);
        if (roots != NULL) {
            uint64_t size = 0;
            assert_int_equal(vgb_audit_head(f->audit, &size, roots[i + 1], NULL), VG_OK);
            assert_int_equal(size, i + 1);
        }
    }
    assert_int_equal(vgb_store_commit(f->store, NULL), VG_OK);
}

static void
s_sign(fixture *f, int64_t ms)
{
    assert_int_equal(vgb_store_begin(f->store, NULL), VG_OK);
    assert_int_equal(vgb_audit_checkpoint_sign(f->audit, ms, NULL, NULL), VG_OK);
    assert_int_equal(vgb_store_commit(f->store, NULL), VG_OK);
}

static vg_err
s_verify(fixture *f, vgb_audit_report *rep, const char *note)
{
    size_t len = note ? strlen(note) : 0;
    vgb_audit_verify_params p = {.origin = ORIGIN,
                                 .broker_pk = vg_keyset_sign_pk(f->ks),
                                 .notes = note ? &note : NULL,
                                 .note_lens = note ? &len : NULL,
                                 .n_notes = note ? 1 : 0};
    vg_reason why = {""};
    vg_err rc = vgb_audit_verify(f->store, &p, rep, &why);
    if (rc != VG_OK) {
        print_message("verify: %s\n", why.text);
    }
    return rc;
}

static void
s_expect_fault(fixture *f, vgb_audit_fault fault, uint64_t first_bad, const char *note)
{
    vgb_audit_report rep;
    assert_int_equal(s_verify(f, &rep, note), VG_ERR_CONFLICT);
    assert_int_equal(rep.fault, fault);
    assert_int_equal(rep.first_bad_index, first_bad);
}

/* Leaf hashes of all stored leaves, for the independent recomputation. */
static void
s_leaf_hash(fixture *f, uint64_t i, uint8_t out[32])
{
    uint8_t *leaf = NULL;
    size_t len = 0;
    assert_int_equal(vgb_audit_leaf(f->audit, i, &leaf, &len, NULL), VG_OK);
    vg_merkle_leaf_hash(out, leaf, len);
    free(leaf);
}

static void
append_1000_and_serve_proofs(void **state)
{
    fixture *f = *state;
    static vg_merkle_hash roots[BIG + 1];
    vg_merkle_empty_root(roots[0]);
    for (uint64_t from = 0; from < BIG; from += 100) {
        s_append(f, from, from + 100, roots);
    }
    static vg_merkle_hash leaves[BIG];
    for (uint64_t i = 0; i < BIG; i++) {
        s_leaf_hash(f, i, leaves[i]);
    }
    static const uint64_t sizes[] = {1, 2, 3, 7, 8, 9, 63, 64, 65, 100, 511, 512, 513, 999, 1000};
    const size_t n_sizes = sizeof sizes / sizeof sizes[0];
    for (size_t s = 0; s < n_sizes; s++) {
        uint64_t size = sizes[s];
        uint8_t root[32];
        vg_merkle_root(root, leaves, size);
        assert_memory_equal(root, roots[size], 32);
        assert_int_equal(vgb_audit_root_at(f->audit, size, root, NULL), VG_OK);
        assert_memory_equal(root, roots[size], 32);
        const uint64_t idx[] = {0, size / 3, size / 2, size - 1};
        for (size_t k = 0; k < 4; k++) {
            vg_merkle_hash p[VG_MERKLE_PROOF_MAX];
            size_t n = 0;
            assert_int_equal(vgb_audit_inclusion_proof(f->audit, idx[k], size, p, &n, NULL), VG_OK);
            assert_int_equal(
                vg_merkle_verify_inclusion(leaves[idx[k]], idx[k], size, p, n, roots[size], NULL),
                VG_OK);
        }
        for (size_t o = 0; o <= s; o++) {
            vg_merkle_hash p[VG_MERKLE_PROOF_MAX];
            size_t n = 0;
            assert_int_equal(vgb_audit_consistency_proof(f->audit, sizes[o], size, p, &n, NULL),
                             VG_OK);
            assert_int_equal(vg_merkle_verify_consistency(sizes[o], size, p, n, roots[sizes[o]],
                                                          roots[size], NULL),
                             VG_OK);
        }
    }
    vg_merkle_hash p[VG_MERKLE_PROOF_MAX];
    size_t n = 0;
    assert_int_equal(vgb_audit_inclusion_proof(f->audit, 5, BIG + 1, p, &n, NULL),
                     VG_ERR_NOT_FOUND);
    assert_int_equal(vgb_audit_inclusion_proof(f->audit, 5, 5, p, &n, NULL), VG_ERR_INVALID);
    assert_int_equal(vgb_audit_consistency_proof(f->audit, 6, 5, p, &n, NULL), VG_ERR_INVALID);
    vgb_audit_report rep;
    assert_int_equal(s_verify(f, &rep, NULL), VG_OK);
    assert_int_equal(rep.n_leaves, BIG);
    assert_int_equal(rep.fault, VGB_AUDIT_FAULT_NONE);
}

/* Leaves commit with the state they describe: never outside a transaction. */
static void
append_outside_transaction_is_refused(void **state)
{
    fixture *f = *state;
    vg_audit_event ev;
    s_event(&ev, 0);
    vg_reason why = {""};
    assert_int_equal(vgb_audit_append(f->audit, &ev, NULL, &why), VG_ERR_INTERNAL);
    assert_true(vt_reason_has(&why, "transaction"));
    vg_audit_event_fini(&ev);
}

/* A rolled-back batch leaves no trace, and the next append continues right. */
static void
rollback_resyncs_the_cached_range(void **state)
{
    fixture *f = *state;
    s_append(f, 0, 10, NULL);
    assert_int_equal(vgb_store_begin(f->store, NULL), VG_OK);
    for (uint64_t i = 10; i < 15; i++) {
        vg_audit_event ev;
        s_event(&ev, 100 + i);
        assert_int_equal(vgb_audit_append(f->audit, &ev, NULL, NULL), VG_OK);
        vg_audit_event_fini(&ev);
    }
    vgb_store_rollback(f->store);
    uint64_t size = 0;
    uint8_t root[32];
    assert_int_equal(vgb_audit_head(f->audit, &size, root, NULL), VG_OK);
    assert_int_equal(size, 10);
    s_append(f, 10, 20, NULL);
    vgb_audit_report rep;
    assert_int_equal(s_verify(f, &rep, NULL), VG_OK);
    assert_int_equal(rep.n_leaves, 20);
}

/* A failed append (an event the encoder refuses) changes nothing. */
static void
invalid_event_is_refused_without_trace(void **state)
{
    fixture *f = *state;
    s_append(f, 0, 3, NULL);
    vg_audit_event ev;
    s_event(&ev, 3);
    ev.agency[0] = '\0';
    ev.kind = VG_AUDIT_DELIVERED;
    assert_int_equal(vgb_store_begin(f->store, NULL), VG_OK);
    assert_int_equal(vgb_audit_append(f->audit, &ev, NULL, NULL), VG_ERR_INVALID);
    assert_int_equal(vgb_store_commit(f->store, NULL), VG_OK);
    vg_audit_event_fini(&ev);
    s_append(f, 3, 5, NULL);
    vgb_audit_report rep;
    assert_int_equal(s_verify(f, &rep, NULL), VG_OK);
    assert_int_equal(rep.n_leaves, 5);
}

static void
checkpoints_sign_store_and_verify(void **state)
{
    fixture *f = *state;
    s_sign(f, 1000); /* the empty tree */
    s_append(f, 0, 37, NULL);
    assert_int_equal(vgb_store_begin(f->store, NULL), VG_OK);
    vg_checkpoint *cp = NULL;
    assert_int_equal(vgb_audit_checkpoint_sign(f->audit, 2000, &cp, NULL), VG_OK);
    assert_int_equal(vgb_audit_checkpoint_sign(f->audit, 2001, NULL, NULL), VG_ERR_DUPLICATE);
    assert_int_equal(vgb_store_commit(f->store, NULL), VG_OK);
    assert_int_equal(vg_checkpoint_size(cp), 37);
    uint8_t root[32];
    assert_int_equal(vgb_audit_root_at(f->audit, 37, root, NULL), VG_OK);
    assert_memory_equal(vg_checkpoint_root(cp), root, 32);
    char *note = NULL;
    size_t len = 0;
    uint64_t size = 0;
    int64_t ms = 0;
    assert_int_equal(vgb_audit_checkpoint_latest(f->audit, &note, &len, &size, &ms, NULL), VG_OK);
    assert_string_equal(note, vg_checkpoint_note(cp));
    assert_int_equal(size, 37);
    assert_int_equal(ms, 2000);
    vg_checkpoint *back = NULL;
    assert_int_equal(vg_checkpoint_verify(&back, note, len, ORIGIN, vg_keyset_sign_pk(f->ks), NULL),
                     VG_OK);
    vg_checkpoint_destroy(&back);
    vgb_audit_report rep;
    assert_int_equal(s_verify(f, &rep, note), VG_OK); /* also as an agency's checkpoint */
    assert_int_equal(rep.n_checkpoints, 3);
    free(note);
    vg_checkpoint_destroy(&cp);
}

static void
no_checkpoint_is_not_found(void **state)
{
    fixture *f = *state;
    char *note = NULL;
    assert_int_equal(vgb_audit_checkpoint_latest(f->audit, &note, NULL, NULL, NULL, NULL),
                     VG_ERR_NOT_FOUND);
    assert_null(note);
}

/* ---- tampering between runs -------------------------------------------------------- */

/* 100 leaves, checkpoints at 50 and 100. */
static void
s_history(fixture *f)
{
    s_append(f, 0, 50, NULL);
    s_sign(f, 1000);
    s_append(f, 50, 100, NULL);
    s_sign(f, 2000);
    vgb_audit_report rep;
    assert_int_equal(s_verify(f, &rep, NULL), VG_OK);
    assert_int_equal(rep.n_checkpoints, 2);
}

static void
deleted_leaf_is_named(void **state)
{
    fixture *f = *state;
    s_history(f);
    s_tamper_delete_leaf(f, 37);
    s_expect_fault(f, VGB_AUDIT_FAULT_DELETED, 37, NULL);
}

static void
altered_byte_is_named(void **state)
{
    fixture *f = *state;
    s_history(f);
    s_tamper_alter_leaf(f, 42); /* its hash left as stored */
    s_expect_fault(f, VGB_AUDIT_FAULT_ALTERED, 42, NULL);
}

static void
swapped_leaves_are_named(void **state)
{
    fixture *f = *state;
    s_history(f);
    s_tamper_swap_leaves(f, 10, 20);
    s_expect_fault(f, VGB_AUDIT_FAULT_REORDERED, 10, NULL);
}

static void
deleted_and_renumbered_is_named(void **state)
{
    fixture *f = *state;
    s_history(f);
    s_tamper_delete_and_renumber(f, 60);
    s_expect_fault(f, VGB_AUDIT_FAULT_REORDERED, 60, NULL);
}

static void
truncated_log_is_named(void **state)
{
    fixture *f = *state;
    s_history(f);
    s_tamper_truncate_leaves(f, 80);
    s_expect_fault(f, VGB_AUDIT_FAULT_TRUNCATED, 80, NULL);
}

/* Truncating leaves, subtrees and checkpoints alike leaves a valid shorter
 * log: only a checkpoint held elsewhere (an agency's) can tell. */
static void
thorough_truncation_needs_an_agency_checkpoint(void **state)
{
    fixture *f = *state;
    s_history(f);
    char *agency_note = NULL;
    assert_int_equal(vgb_audit_checkpoint_latest(f->audit, &agency_note, NULL, NULL, NULL, NULL),
                     VG_OK);
    s_tamper_truncate_log(f, 64);
    vgb_audit_report rep;
    assert_int_equal(s_verify(f, &rep, NULL), VG_OK);
    s_expect_fault(f, VGB_AUDIT_FAULT_TRUNCATED, 64, agency_note);
    free(agency_note);
}

/* Alters leaf idx ("licensing" -> "licensinG") and stores its new leaf hash. */
static void
s_tamper_rewrite_leaf(fixture *f, uint64_t idx)
{
    s_tamper_alter_leaf(f, idx);
    uint8_t h[32];
    s_leaf_hash(f, idx, h);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->db,
                                        "UPDATE audit_leaves SET leaf_hash = ?1 WHERE idx = ?2", -1,
                                        &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_blob(st, 1, h, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)idx);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

/* Leaf rewritten with a matching leaf hash: the stored subtrees disagree. */
static void
rewritten_leaf_is_caught_by_subtrees(void **state)
{
    fixture *f = *state;
    s_history(f);
    s_tamper_rewrite_leaf(f, 60);
    s_expect_fault(f, VGB_AUDIT_FAULT_SUBTREE, 60, NULL);
}

/* Rebuilds the stored subtrees from the stored leaf hashes, as a thorough forger would. */
static void
s_tamper_rebuild_nodes(fixture *f, uint64_t n)
{
    s_tamper_sql(f->db, "DELETE FROM audit_nodes");
    vg_merkle_range r;
    vg_merkle_range_init(&r);
    sqlite3_stmt *ins = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(f->db, "INSERT INTO audit_nodes VALUES (?1, ?2, ?3)", -1, &ins, NULL),
        SQLITE_OK);
    for (uint64_t i = 0; i < n; i++) {
        uint8_t h[32];
        s_leaf_hash(f, i, h);
        vg_merkle_node nodes[VG_MERKLE_LEVELS_MAX];
        size_t k = 0;
        assert_int_equal(vg_merkle_range_append(&r, h, nodes, &k), VG_OK);
        for (size_t j = 1; j < k; j++) {
            sqlite3_bind_int(ins, 1, (int)nodes[j].level);
            sqlite3_bind_int64(ins, 2, (sqlite3_int64)nodes[j].index);
            sqlite3_bind_blob(ins, 3, nodes[j].hash, 32, SQLITE_TRANSIENT);
            assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
            sqlite3_reset(ins);
        }
    }
    sqlite3_finalize(ins);
}

/* A consistent rewrite of leaf 70 (bytes, hash, subtrees): only the signed
 * checkpoint at 100 shows it; the broker then refuses to sign on top. */
static void
consistent_rewrite_is_caught_by_checkpoints(void **state)
{
    fixture *f = *state;
    s_history(f);
    s_tamper_rewrite_leaf(f, 70);
    s_tamper_rebuild_nodes(f, 100);
    vgb_audit_report rep;
    assert_int_equal(s_verify(f, &rep, NULL), VG_ERR_CONFLICT);
    assert_int_equal(rep.fault, VGB_AUDIT_FAULT_ROOT);
    assert_int_equal(rep.first_bad_index, 50); /* after the last checkpoint that held */
    assert_int_equal(rep.checkpoint_size, 100);
    /* A fresh broker over this store will not sign a contradicting history. */
    vgb_audit_destroy(&f->audit);
    assert_int_equal(vgb_audit_open(&f->audit, f->store, ORIGIN, f->ks, NULL), VG_OK);
    s_append(f, 100, 101, NULL);
    assert_int_equal(vgb_store_begin(f->store, NULL), VG_OK);
    vg_reason why = {""};
    assert_int_equal(vgb_audit_checkpoint_sign(f->audit, 3000, NULL, &why), VG_ERR_CONFLICT);
    assert_true(vt_reason_has(&why, "refusing to sign"));
    vgb_store_rollback(f->store);
}

/* A checkpoint under another key, or a row that contradicts its note. */
static void
bad_stored_checkpoints_are_named(void **state)
{
    fixture *f = *state;
    s_history(f);
    vg_keyset *other = NULL;
    assert_int_equal(vg_keyset_generate(&other, VG_KEY_SIGN), VG_OK);
    uint8_t root[32];
    assert_int_equal(vgb_audit_root_at(f->audit, 50, root, NULL), VG_OK);
    vg_checkpoint *cp = NULL;
    assert_int_equal(vg_checkpoint_sign(&cp, ORIGIN, 50, root, other, NULL), VG_OK);
    s_tamper_checkpoint_note(f, 50, vg_checkpoint_note(cp));
    vgb_audit_report rep;
    assert_int_equal(s_verify(f, &rep, NULL), VG_ERR_CONFLICT);
    assert_int_equal(rep.fault, VGB_AUDIT_FAULT_CHECKPOINT);
    assert_int_equal(rep.checkpoint_size, 50);
    assert_non_null(strstr(rep.detail, "unknown_sender"));
    vg_checkpoint_destroy(&cp);
    vg_keyset_destroy(&other);
}

/* An agency holds a checkpoint of a different history at the same size:
 * the broker equivocated (or the store was rewritten and re-signed). */
static void
forked_agency_checkpoint_is_caught(void **state)
{
    fixture *f = *state;
    s_history(f);
    uint8_t fake[32] = {1, 2, 3};
    vg_checkpoint *cp = NULL;
    assert_int_equal(vg_checkpoint_sign(&cp, ORIGIN, 75, fake, f->ks, NULL), VG_OK);
    vgb_audit_report rep;
    assert_int_equal(s_verify(f, &rep, vg_checkpoint_note(cp)), VG_ERR_CONFLICT);
    assert_int_equal(rep.fault, VGB_AUDIT_FAULT_ROOT);
    assert_int_equal(rep.first_bad_index, 50);
    assert_int_equal(rep.checkpoint_size, 75);
    vg_checkpoint_destroy(&cp);
    /* And one that does not verify at all. */
    assert_int_equal(s_verify(f, &rep, "not a checkpoint\n"), VG_ERR_CONFLICT);
    assert_int_equal(rep.fault, VGB_AUDIT_FAULT_CHECKPOINT);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(append_1000_and_serve_proofs),
        T(append_outside_transaction_is_refused),
        T(rollback_resyncs_the_cached_range),
        T(invalid_event_is_refused_without_trace),
        T(checkpoints_sign_store_and_verify),
        T(no_checkpoint_is_not_found),
        T(deleted_leaf_is_named),
        T(altered_byte_is_named),
        T(swapped_leaves_are_named),
        T(deleted_and_renumbered_is_named),
        T(truncated_log_is_named),
        T(thorough_truncation_needs_an_agency_checkpoint),
        T(rewritten_leaf_is_caught_by_subtrees),
        T(consistent_rewrite_is_caught_by_checkpoints),
        T(bad_stored_checkpoints_are_named),
        T(forked_agency_checkpoint_is_caught),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
