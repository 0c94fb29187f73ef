/* agent-store: checks the agent library's own store file against what its API wrote */
/*
 * test_agent_store.c — the agency's local store (agents/lib/src/agent_store.h,
 * internal to libvigil-agent): outbox, sent record, sequence, inbox, the
 * hand-over record of listen --exec (state machine, recovery after a crash,
 * due retries, parking and re-arming), audit checkpoints and faults, and the
 * in-place migration of a version-1 store written by an older agent.
 *
 * Each test opens a store in a fresh directory; the database is checked
 * with SQLite directly where the header promises something about it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "agent_store.h"
#include "vigil/util.h"
#include "vt.h"

#define T_NOW INT64_C(1796000000000)

typedef struct t_store {
    char *dir;    /* scratch directory */
    vga_store *s; /* the store in it */
} t_store;

static int
s_setup(void **state)
{
    t_store *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->dir = vt_tmpdir_new();
    vg_reason why = {{0}};
    vg_err rc = vga_store_open(&t->s, t->dir, &why);
    if (rc != VG_OK) {
        fail_msg("open: %s", why.text);
    }
    *state = t;
    return 0;
}

static int
s_teardown(void **state)
{
    t_store *t = *state;
    vga_store_destroy(&t->s);
    vt_tmpdir_destroy(&t->dir);
    free(t);
    return 0;
}

static void
s_id(uint8_t id[VG_ALERT_ID_LEN], int n)
{
    memset(id, 0, VG_ALERT_ID_LEN);
    id[0] = (uint8_t)n;
    id[15] = 0x5a;
}

/* One integer from the store's file, read with SQLite directly. */
static int64_t
s_sql_int(const char *dir, const char *sql)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/agent.db", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    }
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Adds alert n to the inbox (unsurfaced unless surfaced); returns its row. */
static int64_t
s_inbox_add(vga_store *s, int n, bool surfaced)
{
    uint8_t id[VG_ALERT_ID_LEN], hash[VG_HASH_LEN];
    s_id(id, n);
    memset(hash, n, sizeof hash);
    uint8_t env[8] = {'e', 'n', 'v', (uint8_t)n};
    int64_t row = 0;
    assert_int_equal(
        vga_store_inbox_add(s, id, "police", hash, env, sizeof env, NULL, 0, T_NOW, surfaced, &row),
        VG_OK);
    assert_true(row > 0);
    return row;
}

/* Hands row over in one transaction, as the library does; its attempt. */
static uint32_t
s_hand(vga_store *s, int64_t row, int64_t now)
{
    uint32_t attempt = 0;
    assert_int_equal(vga_store_begin(s, NULL), VG_OK);
    assert_int_equal(vga_store_handover_begin(s, row, now, &attempt), VG_OK);
    assert_int_equal(vga_store_commit(s, NULL), VG_OK);
    return attempt;
}

static void
s_expect_state(vga_store *s, int n, const char *state, uint32_t failures)
{
    uint8_t id[VG_ALERT_ID_LEN];
    s_id(id, n);
    vga_store_handover h;
    assert_int_equal(vga_store_handover_find(s, id, &h), VG_OK);
    assert_true(h.row > 0);
    assert_string_equal(h.state, state);
    assert_int_equal(h.failures, failures);
}

/* ---- schema ----------------------------------------------------------------------------- */

static void
new_store_is_version_3(void **state)
{
    t_store *t = *state;
    assert_int_equal(s_sql_int(t->dir, "PRAGMA user_version"), 3);
    assert_int_equal(s_sql_int(t->dir, "SELECT count(*) FROM handovers"), 0);
    /* opening again changes nothing */
    vga_store *again = NULL;
    assert_int_equal(vga_store_open(&again, t->dir, NULL), VG_OK);
    vga_store_destroy(&again);
    assert_null(again);
    assert_int_equal(s_sql_int(t->dir, "PRAGMA user_version"), 3);
}

/* A store as an agent before issue 13 wrote it: version 0 (never set),
 * the inbox without hand-over columns. Opening it migrates it in place and
 * keeps every row; an unsurfaced alert is then handed over like any other. */
static void
version_1_store_is_migrated_in_place(void **state)
{
    (void)state;
    char *dir = vt_tmpdir_new();
    char path[4096];
    snprintf(path, sizeof path, "%s/agent.db", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    const char *v1 =
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "CREATE TABLE outbox(alert_id BLOB PRIMARY KEY, seq INTEGER NOT NULL,"
        " envelope BLOB NOT NULL, queued_ms INTEGER NOT NULL);"
        "CREATE TABLE sent(alert_id BLOB PRIMARY KEY, outcome TEXT NOT NULL,"
        " reason TEXT NOT NULL, at_ms INTEGER NOT NULL);"
        "CREATE TABLE inbox(id INTEGER PRIMARY KEY, alert_id BLOB NOT NULL UNIQUE,"
        " sender TEXT NOT NULL, envelope_hash BLOB NOT NULL, envelope BLOB NOT NULL, share BLOB,"
        " received_ms INTEGER NOT NULL, surfaced INTEGER NOT NULL);"
        "CREATE INDEX inbox_unsurfaced ON inbox(id) WHERE surfaced = 0;"
        "CREATE TABLE checkpoints(size INTEGER PRIMARY KEY, root BLOB NOT NULL,"
        " note TEXT NOT NULL, received_ms INTEGER NOT NULL, checked INTEGER NOT NULL);"
        "CREATE TABLE audit_faults(id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL,"
        " kind TEXT NOT NULL, reason TEXT NOT NULL, held_note TEXT, bad_note TEXT);"
        "INSERT INTO meta VALUES ('last_seq', 7);"
        "INSERT INTO inbox VALUES (1, x'0100000000000000000000000000005a', 'police',"
        " zeroblob(32), x'656e76', NULL, 1, 1);"
        "INSERT INTO inbox VALUES (2, x'0200000000000000000000000000005a', 'police',"
        " zeroblob(32), x'656e76', NULL, 2, 0);";
    char *err = NULL;
    if (sqlite3_exec(db, v1, NULL, NULL, &err) != SQLITE_OK) {
        fail_msg("v1 schema: %s", err);
    }
    sqlite3_close(db);

    vga_store *s = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vga_store_open(&s, dir, &why), VG_OK);
    assert_int_equal(s_sql_int(dir, "PRAGMA user_version"), 3);
    assert_int_equal(s_sql_int(dir, "SELECT count(*) FROM inbox"), 2);
    assert_int_equal(s_sql_int(dir, "SELECT count(*) FROM inbox WHERE handover IS NULL"
                                    " AND failures = 0 AND retry_ms IS NULL"),
                     2);
    uint64_t seq = 0;
    assert_int_equal(vga_store_next_seq(s, 5, &seq), VG_OK); /* the old rows are still read */
    assert_int_equal(seq, 8);
    vga_inbox_entry e;
    assert_int_equal(vga_store_inbox_next_unsurfaced(s, &e), VG_OK);
    assert_int_equal(e.row, 2);
    assert_int_equal(s_hand(s, e.row, T_NOW), 1);
    vga_inbox_entry_fini(&e);
    s_expect_state(s, 2, VGA_HO_HANDED, 0);
    s_expect_state(s, 1, "", 0); /* printed by an old listen: never handed over */
    vga_store_destroy(&s);
    vt_tmpdir_destroy(&dir);
}

/* A version 2 store (issue 13) gains the trusted broker keys (issue 16),
 * empty: the witness fills it from the checkpoints it holds. */
static void
version_2_store_gains_broker_keys(void **state)
{
    t_store *t = *state;
    vga_store_destroy(&t->s);
    char path[4096];
    snprintf(path, sizeof path, "%s/agent.db", t->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "DROP TABLE broker_keys; PRAGMA user_version = 2;", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(vga_store_open(&t->s, t->dir, NULL), VG_OK);
    assert_int_equal(s_sql_int(t->dir, "PRAGMA user_version"), 3);
    assert_int_equal(s_sql_int(t->dir, "SELECT count(*) FROM broker_keys"), 0);
}

static void
trusted_broker_keys(void **state)
{
    t_store *t = *state;
    uint8_t k1[VG_SIGN_PK_LEN], k2[VG_SIGN_PK_LEN];
    memset(k1, 1, sizeof k1);
    memset(k2, 2, sizeof k2);
    bool trusted = true, any = true;
    assert_int_equal(vga_store_broker_key_get(t->s, k1, &trusted, &any), VG_OK);
    assert_false(trusted);
    assert_false(any);
    assert_int_equal(vga_store_broker_key_add(t->s, k1, T_NOW, "first", NULL), VG_OK);
    assert_int_equal(vga_store_broker_key_get(t->s, k1, &trusted, &any), VG_OK);
    assert_true(trusted && any);
    assert_int_equal(vga_store_broker_key_get(t->s, k2, &trusted, &any), VG_OK);
    assert_false(trusted);
    assert_true(any);
    assert_int_equal(vga_store_broker_key_add(t->s, k2, T_NOW, "transition", "note"), VG_OK);
    assert_int_equal(vga_store_broker_key_add(t->s, k2, T_NOW + 1, "first", NULL), VG_OK);
    assert_int_equal(s_sql_int(t->dir, "SELECT count(*) FROM broker_keys WHERE how ="
                                       " 'transition' AND note = 'note'"),
                     1); /* already trusted: unchanged */
}

static void
a_file_that_is_not_a_store_is_refused(void **state)
{
    (void)state;
    char *dir = vt_tmpdir_new();
    char path[4096];
    snprintf(path, sizeof path, "%s/agent.db", dir);
    const char junk[] = "this is not an SQLite database, not even close........";
    assert_int_equal(vg_file_write_atomic(path, junk, sizeof junk, 0600, NULL), VG_OK);
    vga_store *s = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vga_store_open(&s, dir, &why), VG_ERR_IO);
    assert_null(s);
    assert_non_null(strstr(why.text, "agent.db"));
    vt_tmpdir_destroy(&dir);
}

/* ---- outbox, sent, sequence ------------------------------------------------------------- */

typedef struct t_seen {
    uint8_t first[4]; /* first byte of each id, in order */
    size_t n;         /* how many */
} t_seen;

static void
s_collect(void *ctx, const uint8_t *id, const uint8_t *env, size_t len)
{
    t_seen *seen = ctx;
    (void)env;
    assert_int_equal(len, 4);
    if (seen->n < 4) {
        seen->first[seen->n++] = id[0];
    }
}

static void
outbox_in_sequence_order_until_done(void **state)
{
    t_store *t = *state;
    uint8_t a[VG_ALERT_ID_LEN], b[VG_ALERT_ID_LEN];
    s_id(a, 1);
    s_id(b, 2);
    const uint8_t env[4] = {1, 2, 3, 4};
    assert_int_equal(vga_store_outbox_add(t->s, b, 20, env, 4, T_NOW), VG_OK);
    assert_int_equal(vga_store_outbox_add(t->s, a, 10, env, 4, T_NOW), VG_OK);
    assert_int_equal(vga_store_outbox_add(t->s, a, 30, env, 4, T_NOW), VG_ERR_DUPLICATE);
    size_t n = 0;
    assert_int_equal(vga_store_outbox_count(t->s, &n), VG_OK);
    assert_int_equal(n, 2);
    t_seen seen = {{0}, 0};
    assert_int_equal(vga_store_outbox_each(t->s, s_collect, &seen), VG_OK);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.first[0], 1); /* seq 10 first */
    assert_int_equal(seen.first[1], 2);
    assert_int_equal(vga_store_outbox_done(t->s, a, "accepted", NULL, T_NOW), VG_OK);
    assert_false(vga_store_outbox_has(t->s, a));
    assert_true(vga_store_outbox_has(t->s, b));
    assert_int_equal(vga_store_outbox_done(t->s, a, "accepted", NULL, T_NOW), VG_OK); /* no-op */
    assert_int_equal(s_sql_int(t->dir, "SELECT count(*) FROM sent WHERE outcome = 'accepted'"), 1);
}

static void
sequence_never_goes_back(void **state)
{
    t_store *t = *state;
    uint64_t seq = 0;
    assert_int_equal(vga_store_next_seq(t->s, 1000, &seq), VG_OK);
    assert_int_equal(seq, 1000);
    assert_int_equal(vga_store_next_seq(t->s, 1000, &seq), VG_OK);
    assert_int_equal(seq, 1001); /* same clock: one more */
    assert_int_equal(vga_store_next_seq(t->s, 500, &seq), VG_OK);
    assert_int_equal(seq, 1002); /* the clock went back: still one more */
    assert_int_equal(vga_store_next_seq(t->s, 5000, &seq), VG_OK);
    assert_int_equal(seq, 5000);
}

/* ---- inbox --------------------------------------------------------------------------------- */

static void
inbox_find_get_and_surface(void **state)
{
    t_store *t = *state;
    int64_t r1 = s_inbox_add(t->s, 1, false);
    int64_t r2 = s_inbox_add(t->s, 2, false);
    s_inbox_add(t->s, 3, true);
    uint8_t id[VG_ALERT_ID_LEN], hash[VG_HASH_LEN];
    s_id(id, 2);
    bool found = false;
    assert_int_equal(vga_store_inbox_find(t->s, id, &found, hash), VG_OK);
    assert_true(found);
    assert_int_equal(hash[0], 2);
    uint8_t hash2[VG_HASH_LEN];
    assert_int_equal(vga_store_inbox_add(t->s, id, "police", hash2, (const uint8_t *)"x", 1, NULL,
                                         0, T_NOW, false, NULL),
                     VG_ERR_IO); /* one row per alert */
    vga_inbox_entry e;
    assert_int_equal(vga_store_inbox_get(t->s, id, &e), VG_OK);
    assert_int_equal(e.row, r2);
    assert_int_equal(e.envelope_len, 8);
    assert_null(e.share);
    vga_inbox_entry_fini(&e);
    assert_int_equal(vga_store_inbox_next_unsurfaced(t->s, &e), VG_OK);
    assert_int_equal(e.row, r1); /* the oldest first */
    vga_inbox_entry_fini(&e);
    assert_int_equal(vga_store_inbox_mark_surfaced(t->s, r1), VG_OK);
    assert_int_equal(vga_store_inbox_next_unsurfaced(t->s, &e), VG_OK);
    assert_int_equal(e.row, r2);
    vga_inbox_entry_fini(&e);
    assert_int_equal(vga_store_inbox_mark_surfaced(t->s, r2), VG_OK);
    assert_int_equal(vga_store_inbox_next_unsurfaced(t->s, &e), VG_OK);
    assert_null(e.envelope); /* none left */
    s_id(id, 9);
    assert_int_equal(vga_store_inbox_find(t->s, id, &found, hash), VG_OK);
    assert_false(found);
}

/* ---- hand-over ----------------------------------------------------------------------------- */

static void
handover_handed_then_handled(void **state)
{
    t_store *t = *state;
    int64_t row = s_inbox_add(t->s, 1, false);
    s_expect_state(t->s, 1, "", 0);
    assert_int_equal(s_hand(t->s, row, T_NOW), 1);
    s_expect_state(t->s, 1, VGA_HO_HANDED, 0);
    vga_inbox_entry e;
    assert_int_equal(vga_store_inbox_next_unsurfaced(t->s, &e), VG_OK);
    assert_null(e.envelope); /* handed is surfaced */
    assert_int_equal(vga_store_handover_end(t->s, row, T_NOW + 5, "handled", VGA_HO_HANDLED, 0),
                     VG_OK);
    s_expect_state(t->s, 1, VGA_HO_HANDLED, 0);
    /* ending it again changes nothing: handled stays handled, once */
    assert_int_equal(vga_store_handover_end(t->s, row, T_NOW + 9, "exit 1", VGA_HO_FAILED, 1),
                     VG_OK);
    s_expect_state(t->s, 1, VGA_HO_HANDLED, 0);
    assert_int_equal(s_sql_int(t->dir, "SELECT count(*) FROM handovers WHERE outcome = 'handled'"
                                       " AND handed_ms = 1796000000000 AND ended_ms = "
                                       "1796000000005"),
                     1);
    assert_int_equal(s_sql_int(t->dir, "SELECT count(*) FROM handovers"), 1);
}

static void
handover_failures_count_and_come_due(void **state)
{
    t_store *t = *state;
    int64_t r1 = s_inbox_add(t->s, 1, false);
    int64_t r2 = s_inbox_add(t->s, 2, false);
    assert_int_equal(s_hand(t->s, r1, T_NOW), 1);
    assert_int_equal(vga_store_handover_end(t->s, r1, T_NOW, "exit 1", VGA_HO_FAILED, T_NOW + 100),
                     VG_OK);
    s_expect_state(t->s, 1, VGA_HO_FAILED, 1);
    assert_int_equal(s_hand(t->s, r2, T_NOW), 1);
    assert_int_equal(vga_store_handover_end(t->s, r2, T_NOW, "signal 9", VGA_HO_FAILED, T_NOW + 50),
                     VG_OK);
    vga_inbox_entry e;
    int64_t next = 0;
    assert_int_equal(vga_store_handover_next_due(t->s, T_NOW + 10, &e, &next), VG_OK);
    assert_null(e.envelope); /* none due yet */
    assert_int_equal(next, T_NOW + 50);
    assert_int_equal(vga_store_handover_next_due(t->s, T_NOW + 100, &e, &next), VG_OK);
    assert_int_equal(e.row, r2); /* the one due first */
    vga_inbox_entry_fini(&e);
    assert_int_equal(s_hand(t->s, r2, T_NOW + 100), 2);
    assert_int_equal(vga_store_handover_next_due(t->s, T_NOW + 100, &e, &next), VG_OK);
    assert_int_equal(e.row, r1);
    vga_inbox_entry_fini(&e);
    assert_int_equal(next, T_NOW + 100);
    assert_int_equal(vga_store_handover_end(t->s, r2, T_NOW + 101, "handled", VGA_HO_HANDLED, 0),
                     VG_OK);
    s_expect_state(t->s, 2, VGA_HO_HANDLED, 1);
    assert_int_equal(s_sql_int(t->dir, "SELECT count(*) FROM handovers WHERE inbox_id = 2"), 2);
}

typedef struct t_recovered {
    int n;           /* rows seen */
    int parked;      /* of which parked */
    uint32_t failed; /* failures of the last one */
} t_recovered;

static void
s_on_recovered(void *ctx, const uint8_t *id, uint32_t failures, bool parked)
{
    t_recovered *r = ctx;
    (void)id;
    r->n++;
    r->parked += parked;
    r->failed = failures;
}

/* A crash leaves rows handed: recovery ends their attempts as
 * "interrupted", counts a failure, makes them due at once, or parks them. */
static void
handover_recovery_after_a_crash(void **state)
{
    t_store *t = *state;
    int64_t r1 = s_inbox_add(t->s, 1, false);
    int64_t r2 = s_inbox_add(t->s, 2, false);
    assert_int_equal(s_hand(t->s, r1, T_NOW), 1);
    assert_int_equal(vga_store_handover_end(t->s, r1, T_NOW, "exit 1", VGA_HO_FAILED, T_NOW),
                     VG_OK);
    assert_int_equal(s_hand(t->s, r1, T_NOW + 1), 2); /* its second attempt: the crash */
    assert_int_equal(s_hand(t->s, r2, T_NOW + 2), 1);
    t_recovered rec = {0, 0, 0};
    assert_int_equal(vga_store_handover_recover(t->s, T_NOW + 1000, 2, s_on_recovered, &rec),
                     VG_OK);
    assert_int_equal(rec.n, 2);
    assert_int_equal(rec.parked, 1); /* r1: its second failure, max 2 */
    s_expect_state(t->s, 1, VGA_HO_PARKED, 2);
    s_expect_state(t->s, 2, VGA_HO_FAILED, 1);
    assert_int_equal(s_sql_int(t->dir, "SELECT count(*) FROM handovers WHERE outcome ="
                                       " 'interrupted' AND ended_ms = 1796000001000"),
                     2);
    assert_int_equal(s_sql_int(t->dir, "SELECT count(*) FROM handovers WHERE ended_ms IS NULL"), 0);
    vga_inbox_entry e;
    int64_t next = 0;
    assert_int_equal(vga_store_handover_next_due(t->s, T_NOW + 1000, &e, &next), VG_OK);
    assert_int_equal(e.row, r2); /* due at once; the parked one is not */
    vga_inbox_entry_fini(&e);
    /* nothing handed: recovering again does nothing */
    rec.n = 0;
    assert_int_equal(vga_store_handover_recover(t->s, T_NOW + 2000, 2, s_on_recovered, &rec),
                     VG_OK);
    assert_int_equal(rec.n, 0);
}

static void
handover_parked_until_rearmed(void **state)
{
    t_store *t = *state;
    int64_t r1 = s_inbox_add(t->s, 1, false);
    int64_t r2 = s_inbox_add(t->s, 2, false);
    assert_int_equal(s_hand(t->s, r1, T_NOW), 1);
    assert_int_equal(vga_store_handover_end(t->s, r1, T_NOW, "exit 3", VGA_HO_PARKED, 0), VG_OK);
    assert_int_equal(s_hand(t->s, r2, T_NOW), 1);
    assert_int_equal(vga_store_handover_end(t->s, r2, T_NOW, "exit 3", VGA_HO_PARKED, 0), VG_OK);
    uint8_t ids[1][VG_ALERT_ID_LEN];
    size_t n = 0;
    assert_int_equal(vga_store_handover_parked(t->s, ids, 1, &n), VG_OK);
    assert_int_equal(n, 2); /* counted past max */
    assert_int_equal(ids[0][0], 1);
    vga_inbox_entry e;
    int64_t next = 0;
    assert_int_equal(vga_store_handover_next_due(t->s, T_NOW + 86400000, &e, &next), VG_OK);
    assert_null(e.envelope); /* parked is never due */
    assert_int_equal(next, 0);
    assert_int_equal(vga_store_handover_rearm(t->s, T_NOW + 5, &n), VG_OK);
    assert_int_equal(n, 2);
    s_expect_state(t->s, 1, VGA_HO_FAILED, 0);
    assert_int_equal(vga_store_handover_next_due(t->s, T_NOW + 5, &e, &next), VG_OK);
    assert_int_equal(e.row, r1);
    vga_inbox_entry_fini(&e);
    assert_int_equal(vga_store_handover_parked(t->s, NULL, 0, &n), VG_OK);
    assert_int_equal(n, 0);
}

/* ---- audit checkpoints and faults -------------------------------------------------------- */

static void
checkpoints_and_faults(void **state)
{
    t_store *t = *state;
    uint8_t root[VG_MERKLE_HASH_LEN];
    memset(root, 7, sizeof root);
    assert_int_equal(vga_store_cp_add(t->s, 10, root, "note10", 6, T_NOW, true), VG_OK);
    assert_int_equal(vga_store_cp_add(t->s, 20, root, "note20", 6, T_NOW + 1, false), VG_OK);
    assert_int_equal(vga_store_cp_add(t->s, 20, root, "other", 5, T_NOW + 2, true), VG_OK);
    vga_store_cp cp;
    bool found = false;
    assert_int_equal(vga_store_cp_get(t->s, VGA_CP_SIZE, 20, &cp, &found), VG_OK);
    assert_true(found);
    assert_string_equal(cp.note, "note20"); /* a size already held is left as it is */
    assert_false(cp.checked);
    vga_store_cp_fini(&cp);
    assert_int_equal(vga_store_cp_get(t->s, VGA_CP_LATEST_CHECKED, 0, &cp, &found), VG_OK);
    assert_int_equal(cp.size, 10);
    vga_store_cp_fini(&cp);
    assert_int_equal(vga_store_cp_get(t->s, VGA_CP_FIRST_UNCHECKED, 0, &cp, &found), VG_OK);
    assert_int_equal(cp.size, 20);
    vga_store_cp_fini(&cp);
    assert_int_equal(vga_store_cp_mark_checked(t->s, 20), VG_OK);
    assert_int_equal(vga_store_cp_get(t->s, VGA_CP_FIRST_UNCHECKED, 0, &cp, &found), VG_OK);
    assert_false(found);
    assert_int_equal(vga_store_cp_delete(t->s, 20), VG_OK); /* only unchecked ones go */
    assert_int_equal(vga_store_cp_get(t->s, VGA_CP_SIZE, 20, &cp, &found), VG_OK);
    assert_true(found);
    vga_store_cp_fini(&cp);
    char kind[16], reason[8];
    assert_int_equal(vga_store_fault_last(t->s, &found, kind, sizeof kind, reason, sizeof reason),
                     VG_OK);
    assert_false(found);
    assert_int_equal(vga_store_fault_add(t->s, T_NOW, "fork", "two roots for size 20", "a", NULL),
                     VG_OK);
    assert_int_equal(vga_store_fault_last(t->s, &found, kind, sizeof kind, reason, sizeof reason),
                     VG_OK);
    assert_true(found);
    assert_string_equal(kind, "fork");
    assert_string_equal(reason, "two roo"); /* truncated to fit */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(new_store_is_version_3, s_setup, s_teardown),
        cmocka_unit_test(version_1_store_is_migrated_in_place),
        cmocka_unit_test(a_file_that_is_not_a_store_is_refused),
        cmocka_unit_test_setup_teardown(outbox_in_sequence_order_until_done, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(sequence_never_goes_back, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(inbox_find_get_and_surface, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(handover_handed_then_handled, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(handover_failures_count_and_come_due, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(handover_recovery_after_a_crash, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(handover_parked_until_rearmed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(checkpoints_and_faults, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(version_2_store_gains_broker_keys, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(trusted_broker_keys, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
