/* store-tamper: sets a store's schema version by hand, to check what a newer one gets */
/* test_store_pg.c — the PostgreSQL back end: the store contract suite
 * (contract.h) with and without pipelining, then what only PostgreSQL has:
 * the schema made by the owner role and refused to the broker's, the grants
 * that keep the audit tables append-only, multi-host DSNs, a standby, the
 * commit whose wait for the synchronous standby was cancelled, connections
 * that break, a failed statement failing its transaction, and the epoch
 * check. One server for the executable (vt_pg.h); a database per test, a
 * copy of "vigil", which deploy/postgres/create.sql made and
 * vigil-pg-migrate's code migrated as vigil_owner. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "contract.h"
#include "store_pg.h"
#include "vt.h"
#include "vt_pg.h"

typedef struct s_ctx {
    vt_pg *srv;      /* the server */
    int n;           /* databases made so far */
    char db[32];     /* the test's database */
    bool pipelining; /* the broker's store queues changes */
} s_ctx;

static s_ctx s_pg;       /* one server for the executable */
static vt_pg *s_standby; /* a standby of it, while a test has one */

static void
s_sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* ---- the contract suite's back end ---------------------------------------------- */

static void
s_fresh(void *ctx, bool empty)
{
    s_ctx *c = ctx;
    snprintf(c->db, sizeof c->db, "t%d", ++c->n);
    vt_pg_createdb(c->srv, c->db, empty ? NULL : "vigil");
}

static void
s_drop(void *ctx)
{
    s_ctx *c = ctx;
    char sql[96];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", c->db);
    vt_pg_exec(c->srv, "postgres", sql);
}

static vg_err
s_open_as(s_ctx *c, const char *user, vgb_store **out, vg_reason *why)
{
    char *dsn = vt_pg_dsn(c->srv, c->db, user);
    vg_err err = vgb_store_open_dsn(out, dsn, why);
    free(dsn);
    if (err == VG_OK && !c->pipelining) {
        assert_int_equal(vgb_pg_set_pipelining(*out, false), VG_OK);
    }
    return err;
}

static vg_err
s_open(void *ctx, vgb_store **out, vg_reason *why)
{
    return s_open_as(ctx, "vigil_broker", out, why);
}

static vg_err
s_open_readonly(void *ctx, vgb_store **out, vg_reason *why)
{
    s_ctx *c = ctx;
    char *dsn = vt_pg_dsn(c->srv, c->db, "vigil_audit");
    vg_err err = vgb_store_open_readonly_dsn(out, dsn, why);
    free(dsn);
    return err;
}

static void
s_set_schema_version(void *ctx, int version)
{
    s_ctx *c = ctx;
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE vigil.meta SET value = %d WHERE key = 'schema_version'",
             version);
    vt_pg_exec(c->srv, c->db, sql);
}

static void
s_to_schema_4(void *ctx)
{
    s_ctx *c = ctx;
    vt_pg_exec(c->srv, c->db, "ALTER TABLE vigil.recipients DROP COLUMN cover_for");
    vt_pg_exec(c->srv, c->db, "DROP TABLE vigil.cosignatures");
    vt_pg_exec(c->srv, c->db, "UPDATE vigil.meta SET value = 4 WHERE key = 'schema_version'");
}

static void
s_migrate(void *ctx)
{
    vgb_store *s = NULL;
    vg_reason why = {{0}};
    if (s_open_as(ctx, "vigil_owner", &s, &why) != VG_OK) {
        fail_msg("migrate as vigil_owner: %s", why.text);
    }
    vgb_store_destroy(&s);
}

/* ---- PostgreSQL only -------------------------------------------------------------- */

static int
s_setup(void **state)
{
    (void)state;
    s_pg.pipelining = true;
    s_fresh(&s_pg, false);
    return 0;
}

static int
s_teardown(void **state)
{
    (void)state;
    if (s_standby != NULL) { /* a test that failed half way: no commit may wait for it */
        vt_pg_stop(&s_standby);
        vt_pg_exec(s_pg.srv, "postgres", "ALTER SYSTEM RESET synchronous_standby_names");
        vt_pg_exec(s_pg.srv, "postgres", "SELECT pg_reload_conf()");
    }
    s_drop(&s_pg);
    return 0;
}

static vgb_store *
s_broker(void)
{
    vgb_store *s = NULL;
    vg_reason why = {{0}};
    vg_err err = s_open_as(&s_pg, "vigil_broker", &s, &why);
    if (err != VG_OK) {
        fail_msg("open: %s: %s", vg_err_code(err), why.text);
    }
    return s;
}

/* An alert police -> licensing, sender sequence seq. */
static vg_envelope *
s_env(vt_net *net, uint64_t seq)
{
    static const char *const rcpts[] = {"licensing"};
    vg_alert a;
    vt_alert_sample(&a, rcpts, 1);
    vg_seal_params p = vt_seal_params(net, "police");
    p.sequence = seq;
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(vg_envelope_seal(&bytes, &len, NULL, &a, &p, NULL), VG_OK);
    vt_alert_fini(&a);
    vg_envelope *env = NULL;
    assert_int_equal(vg_envelope_verify(&env, bytes, len, net->doc, NULL), VG_OK);
    free(bytes);
    return env;
}

static vg_err
s_insert(vgb_store *s, const vg_envelope *env)
{
    vg_strlist req = {0};
    uint64_t seq = 0;
    return vgb_store_insert_alert(s, env, VT_ISSUED_MS, &req, 0, &seq, NULL);
}

static uint64_t
s_alerts(vgb_store *s)
{
    uint64_t n = 0;
    assert_int_equal(vgb_store_count_alerts(s, &n), VG_OK);
    return n;
}

/* The first column of the first row of sql, run by the superuser in db. */
static long long
s_scalar(const char *db, const char *sql)
{
    PGconn *c = vt_pg_connect(s_pg.srv, db, NULL);
    PGresult *r = vt_pg_query(c, sql);
    long long v = PQntuples(r) > 0 ? atoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    PQfinish(c);
    return v;
}

static void
test_sqlstates_map_to_vg_errors(void **state)
{
    (void)state;
    assert_int_equal(vgb_pg_err_of("53100"), VG_ERR_STORAGE_FULL);
    assert_int_equal(vgb_pg_err_of("23505"), VG_ERR_CONFLICT);
    assert_int_equal(vgb_pg_err_of("23503"), VG_ERR_CONFLICT);
    assert_int_equal(vgb_pg_err_of("XX001"), VG_ERR_MALFORMED);
    assert_int_equal(vgb_pg_err_of("40001"), VG_ERR_IO);
    assert_int_equal(vgb_pg_err_of("08006"), VG_ERR_IO);
    assert_int_equal(vgb_pg_err_of("42501"), VG_ERR_IO);
    assert_int_equal(vgb_pg_err_of(NULL), VG_ERR_IO);
}

/* The schema is the owner role's to make; the broker's role is told how. */
static void
test_the_owner_makes_the_schema_and_the_broker_role_may_not(void **state)
{
    (void)state;
    s_drop(&s_pg);
    s_fresh(&s_pg, true);
    char sql[96];
    snprintf(sql, sizeof sql, "ALTER DATABASE %s OWNER TO vigil_owner", s_pg.db);
    vt_pg_exec(s_pg.srv, "postgres", sql);
    vgb_store *s = NULL;
    vg_reason why = {{0}};
    assert_int_equal(s_open_as(&s_pg, "vigil_broker", &s, &why), VG_ERR_IO);
    assert_null(s);
    assert_true(vt_reason_has(&why, "vigil-pg-migrate"));
    assert_int_equal(s_open_as(&s_pg, "vigil_owner", &s, &why), VG_OK);
    vgb_store_destroy(&s);
    assert_int_equal(s_scalar(s_pg.db, "SELECT value FROM vigil.meta WHERE key = 'schema_version'"),
                     VGB_PG_SCHEMA_VERSION);
    s = s_broker(); /* now it may work in it */
    vt_net *net = vt_net_new(4);
    vg_envelope *env = s_env(net, 1);
    assert_int_equal(vgb_store_begin(s, NULL), VG_OK);
    assert_int_equal(s_insert(s, env), VG_OK);
    assert_int_equal(vgb_store_commit(s, NULL), VG_OK);
    assert_int_equal(s_alerts(s), 1);
    vgb_store_destroy(&s);
    vg_envelope_destroy(&env);
    vt_net_destroy(&net);
}

/* SQLSTATE of sql run as user in the test's database (inside a transaction
 * that is rolled back): "" when it succeeded. */
static void
s_state_as(char out[6], const char *user, const char *sql)
{
    PGconn *c = vt_pg_connect(s_pg.srv, s_pg.db, user);
    PQclear(vt_pg_query(c, "BEGIN"));
    PGresult *r = PQexec(c, sql);
    const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    snprintf(out, 6, "%s", st ? st : "");
    PQclear(r);
    PQclear(PQexec(c, "ROLLBACK"));
    PQfinish(c);
}

#define S_REFUSED(user, sql)                                                                       \
    do {                                                                                           \
        char st_[6];                                                                               \
        s_state_as(st_, (user), (sql));                                                            \
        if (strcmp(st_, "42501") != 0) {                                                           \
            fail_msg("%s: '%s' gave SQLSTATE '%s', not 42501", (user), (sql), st_);                \
        }                                                                                          \
    } while (0)

#define S_ALLOWED(user, sql)                                                                       \
    do {                                                                                           \
        char st_[6];                                                                               \
        s_state_as(st_, (user), (sql));                                                            \
        if (st_[0] != '\0') {                                                                      \
            fail_msg("%s: '%s' gave SQLSTATE '%s'", (user), (sql), st_);                           \
        }                                                                                          \
    } while (0)

/* Least privilege (issue 14): the broker's role adds audit rows and never
 * changes or removes one; the database refuses it, whatever the broker runs. */
static void
test_the_broker_role_cannot_change_or_delete_audit_rows(void **state)
{
    (void)state;
    vgb_store *s = s_broker();
    vt_net *net = vt_net_new(4);
    vg_envelope *env = s_env(net, 1);
    uint8_t h[VG_HASH_LEN] = {1};
    const unsigned lv[] = {1};
    const uint64_t ix[] = {0};
    assert_int_equal(vgb_store_begin(s, NULL), VG_OK);
    assert_int_equal(s_insert(s, env), VG_OK);
    assert_int_equal(vgb_store_audit_append(s, 0, h, 1, h, NULL, NULL, NULL, 0), VG_OK);
    assert_int_equal(
        vgb_store_audit_append(s, 1, h, 1, h, lv, ix, (const uint8_t(*)[VG_HASH_LEN])h, 1), VG_OK);
    assert_int_equal(vgb_store_audit_add_checkpoint(s, 2, h, "n", 1, 1), VG_OK);
    assert_int_equal(vgb_store_link_leaf(s, 1, 0), VG_OK);
    assert_int_equal(vgb_store_commit(s, NULL), VG_OK);
    vgb_store_destroy(&s);
    static const char *const audit[] = {"audit_leaves", "audit_nodes", "audit_checkpoints",
                                        "audit_alert_leaves"};
    static const char *const col[] = {"leaf_hash", "hash", "note", "leaf_idx"};
    for (size_t i = 0; i < 4; i++) {
        char sql[160];
        snprintf(sql, sizeof sql, "UPDATE vigil.%s SET %s = %s", audit[i], col[i], col[i]);
        S_REFUSED("vigil_broker", sql);
        snprintf(sql, sizeof sql, "DELETE FROM vigil.%s", audit[i]);
        S_REFUSED("vigil_broker", sql);
        snprintf(sql, sizeof sql, "TRUNCATE vigil.%s", audit[i]);
        S_REFUSED("vigil_broker", sql);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM vigil.%s", audit[i]);
        S_ALLOWED("vigil_broker", sql);
        S_ALLOWED("vigil_audit", sql);
    }
    S_ALLOWED("vigil_broker", "INSERT INTO vigil.audit_leaves VALUES (9, 'x', 'y')");
    /* The rest: only the columns the broker changes, and no other deletes. */
    S_ALLOWED("vigil_broker", "UPDATE vigil.alerts SET complete_ms = 1");
    S_REFUSED("vigil_broker", "UPDATE vigil.alerts SET envelope = 'x'");
    S_REFUSED("vigil_broker", "UPDATE vigil.shares SET share = 'x'");
    /* Retention: sealed content erased, never rewritten; link tags and
     * holds deleted, purges recorded (store_retain.h). */
    S_ALLOWED("vigil_broker", "SELECT vigil.purge_content(1)");
    S_REFUSED("vigil_audit", "SELECT vigil.purge_content(1)");
    S_ALLOWED("vigil_broker", "DELETE FROM vigil.link_tags");
    S_ALLOWED("vigil_broker", "DELETE FROM vigil.legal_holds");
    S_REFUSED("vigil_broker", "DELETE FROM vigil.purges");
    S_REFUSED("vigil_broker", "DELETE FROM vigil.alerts");
    S_REFUSED("vigil_broker", "DELETE FROM vigil.recipients");
    S_REFUSED("vigil_broker", "UPDATE vigil.recipients SET agency = 'x'");
    S_ALLOWED("vigil_broker", "UPDATE vigil.recipients SET state = 2");
    S_REFUSED("vigil_broker", "UPDATE vigil.receipts SET receipt = 'x'");
    S_REFUSED("vigil_broker", "CREATE TABLE vigil.mine(x int)");
    S_REFUSED("vigil_broker", "DROP TABLE vigil.audit_leaves");
    /* The readers' role reads only. */
    S_REFUSED("vigil_audit", "INSERT INTO vigil.audit_leaves VALUES (9, 'x', 'y')");
    S_REFUSED("vigil_audit", "UPDATE vigil.alerts SET complete_ms = 1");
    vg_envelope_destroy(&env);
    vt_net_destroy(&net);
}

static void
test_a_multi_host_dsn_skips_a_host_that_is_down(void **state)
{
    (void)state;
    int dead = vt_pg_free_port();
    char dsn[256];
    snprintf(dsn, sizeof dsn,
             "host=127.0.0.1,127.0.0.1 port=%d,%d dbname=%s user=vigil_broker "
             "target_session_attrs=read-write connect_timeout=2",
             dead, s_pg.srv->port, s_pg.db);
    vgb_store *s = NULL;
    vg_reason why = {{0}};
    vg_err err = vgb_store_open_dsn(&s, dsn, &why);
    if (err != VG_OK) {
        fail_msg("open: %s", why.text);
    }
    char want[32];
    snprintf(want, sizeof want, ":%d/", s_pg.srv->port);
    assert_non_null(strstr(vgb_store_path(s), want));
    assert_int_equal(s_alerts(s), 0);
    vgb_store_destroy(&s);
    snprintf(dsn, sizeof dsn,
             "host=127.0.0.1 port=%d dbname=%s user=vigil_broker connect_timeout=2", dead, s_pg.db);
    assert_int_equal(vgb_store_open_dsn(&s, dsn, &why), VG_ERR_IO);
    assert_null(s);
}

/* A failed change fails its transaction: nothing of it is committed, not
 * even the changes before it, and the next transaction starts clean. */
static void
test_a_failed_change_fails_the_whole_transaction(void **state)
{
    (void)state;
    vgb_store *s = s_broker();
    vt_net *net = vt_net_new(4);
    vg_envelope *e1 = s_env(net, 1), *e2 = s_env(net, 2);
    assert_int_equal(vgb_store_begin(s, NULL), VG_OK);
    assert_int_equal(s_insert(s, e1), VG_OK);
    assert_int_equal(vgb_store_commit(s, NULL), VG_OK);
    assert_int_equal(vgb_store_begin(s, NULL), VG_OK);
    assert_int_equal(s_insert(s, e2), VG_OK);
    assert_int_equal(vgb_store_insert_rejection(s, 1, "police", NULL, "malformed", "x"), VG_OK);
    assert_int_equal(s_insert(s, e1), VG_OK); /* queued: the conflict comes with the commit */
    vg_reason why = {{0}};
    assert_int_equal(vgb_store_commit(s, &why), VG_ERR_CONFLICT);
    assert_false(vgb_store_in_transaction(s));
    assert_false(vgb_store_commit_in_doubt(s));
    assert_int_equal(s_alerts(s), 1);
    uint64_t n = 9;
    assert_int_equal(vgb_store_count(s, VGB_COUNT_REJECTIONS, NULL, &n), VG_OK);
    assert_int_equal(n, 0);
    /* A call that waits in the failed transaction fails too. */
    assert_int_equal(vgb_store_begin(s, NULL), VG_OK);
    assert_int_equal(s_insert(s, e2), VG_OK);
    assert_int_equal(s_insert(s, e1), VG_OK); /* queued */
    assert_int_not_equal(vgb_store_count_alerts(s, &n), VG_OK);
    assert_int_not_equal(vgb_store_insert_rejection(s, 1, "police", NULL, "malformed", "x"), VG_OK);
    assert_int_not_equal(vgb_store_commit(s, NULL), VG_OK);
    /* And the next one works. */
    assert_int_equal(vgb_store_begin(s, NULL), VG_OK);
    assert_int_equal(s_insert(s, e2), VG_OK);
    assert_int_equal(vgb_store_commit(s, NULL), VG_OK);
    assert_int_equal(s_alerts(s), 2);
    vgb_store_destroy(&s);
    vg_envelope_destroy(&e1);
    vg_envelope_destroy(&e2);
    vt_net_destroy(&net);
}

/* The backend pid of the broker's connection to the test's database. */
static long long
s_broker_pid(void)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT pid FROM pg_stat_activity WHERE datname = '%s'"
             " AND application_name = 'vigil-broker'",
             s_pg.db);
    return s_scalar("postgres", sql);
}

static void
s_terminate(long long pid)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%lld, 5000)", pid);
    vt_pg_exec(s_pg.srv, "postgres", sql);
}

static void
test_a_broken_connection_is_replaced_between_transactions(void **state)
{
    (void)state;
    vgb_store *s = s_broker();
    vt_net *net = vt_net_new(4);
    vg_envelope *e1 = s_env(net, 1), *e2 = s_env(net, 2);
    long long pid = s_broker_pid();
    assert_true(pid > 0);
    s_terminate(pid); /* idle: between transactions */
    assert_int_equal(vgb_store_begin(s, NULL), VG_OK);
    assert_int_equal(s_insert(s, e1), VG_OK);
    assert_int_equal(vgb_store_commit(s, NULL), VG_OK);
    assert_true(s_broker_pid() != pid);
    /* Broken inside a transaction: that one fails, the next one works. */
    assert_int_equal(vgb_store_begin(s, NULL), VG_OK);
    assert_int_equal(s_insert(s, e2), VG_OK);
    s_terminate(s_broker_pid());
    assert_int_not_equal(vgb_store_commit(s, NULL), VG_OK);
    assert_false(vgb_store_in_transaction(s));
    assert_int_equal(vgb_store_begin(s, NULL), VG_OK);
    assert_int_equal(s_insert(s, e2), VG_OK);
    assert_int_equal(vgb_store_commit(s, NULL), VG_OK);
    assert_int_equal(s_alerts(s), 2);
    /* Reads outside a transaction reconnect too. */
    s_terminate(s_broker_pid());
    assert_int_equal(s_alerts(s), 2);
    vgb_store_destroy(&s);
    vg_envelope_destroy(&e1);
    vg_envelope_destroy(&e2);
    vt_net_destroy(&net);
}

/* The hook for several brokers on one database (docs/ha.md): a write
 * transaction of a broker whose epoch is not the epoch row's fails. */
static void
test_a_write_from_a_stale_epoch_is_refused(void **state)
{
    (void)state;
    vgb_store *s = s_broker();
    vt_net *net = vt_net_new(4);
    vg_envelope *e1 = s_env(net, 1), *e2 = s_env(net, 2);
    vgb_pg_set_epoch(s, 7);
    assert_int_equal(vgb_store_begin(s, NULL), VG_OK);
    vg_err rc1 = s_insert(s, e1); /* the check's answer comes with the first wait, */
    vg_err rc2 = vgb_store_commit(s, NULL);
    vgb_store_rollback(s);
    (void)rc1; /* it may tell already */
    assert_int_not_equal(rc2, VG_OK);
    assert_int_equal(s_alerts(s), 0);
    vt_pg_exec(s_pg.srv, s_pg.db, "UPDATE vigil.meta SET value = 7 WHERE key = 'epoch'");
    assert_int_equal(vgb_store_begin(s, NULL), VG_OK);
    assert_int_equal(s_insert(s, e1), VG_OK);
    assert_int_equal(vgb_store_commit(s, NULL), VG_OK);
    vt_pg_exec(s_pg.srv, s_pg.db, "UPDATE vigil.meta SET value = 8 WHERE key = 'epoch'");
    assert_int_equal(vgb_store_begin(s, NULL), VG_OK);
    rc1 = s_insert(s, e2);
    rc2 = vgb_store_commit(s, NULL);
    vgb_store_rollback(s);
    (void)rc1; /* it may tell already */
    assert_int_not_equal(rc2, VG_OK);
    assert_int_equal(s_alerts(s), 1);
    vgb_store_destroy(&s);
    vg_envelope_destroy(&e1);
    vg_envelope_destroy(&e2);
    vt_net_destroy(&net);
}

typedef struct s_committer {
    vgb_store *s;  /* the store, this thread's while it runs */
    vg_err err;    /* what the commit said */
    vg_reason why; /* ... */
} s_committer;

static void *
s_commit_thread(void *arg)
{
    s_committer *c = arg;
    c->err = vgb_store_commit(c->s, &c->why);
    return NULL;
}

static void
s_reload(void)
{
    vt_pg_exec(s_pg.srv, "postgres", "SELECT pg_reload_conf()");
    s_sleep_ms(200); /* the postmaster rereads; backends on their next command */
}

/* Waits until a backend of the test's database waits for a synchronous
 * standby; its pid. */
static long long
s_wait_syncrep(void)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(max(pid), 0) FROM pg_stat_activity WHERE datname = '%s'"
             " AND wait_event = 'SyncRep'",
             s_pg.db);
    for (int i = 0; i < 500; i++) {
        long long pid = s_scalar("postgres", sql);
        if (pid > 0) {
            return pid;
        }
        s_sleep_ms(20);
    }
    fail_msg("no backend waited for the synchronous standby");
    return 0;
}

/* Synchronous replication with a real standby: a commit it has is durable;
 * with the standby gone the COMMIT waits, and when that wait is cancelled
 * PostgreSQL answers COMMIT with a WARNING: committed here, maybe not there.
 * The store says that commit failed, in doubt, and starts the next one on a
 * new connection. Multi-host DSNs find the primary past the standby. */
static void
test_durable_means_on_the_synchronous_standby(void **state)
{
    (void)state;
    vt_pg *standby = s_standby = vt_pg_start_standby(s_pg.srv, "vt_standby");
    vt_pg_exec(s_pg.srv, "postgres", "ALTER SYSTEM SET synchronous_standby_names = 'vt_standby'");
    s_reload();
    for (int i = 0; s_scalar("postgres", "SELECT count(*) FROM pg_stat_replication"
                                         " WHERE application_name = 'vt_standby'"
                                         " AND sync_state = 'sync'") != 1;
         i++) {
        assert_true(i < 500);
        s_sleep_ms(20);
    }
    char dsn[320];
    /* The standby first: target_session_attrs=read-write passes it over. */
    snprintf(dsn, sizeof dsn,
             "host=127.0.0.1,127.0.0.1 port=%d,%d dbname=%s user=vigil_broker "
             "target_session_attrs=read-write",
             standby->port, s_pg.srv->port, s_pg.db);
    vgb_store *s = NULL;
    vg_reason why = {{0}};
    if (vgb_store_open_dsn(&s, dsn, &why) != VG_OK) {
        fail_msg("open: %s", why.text);
    }
    char want[32];
    snprintf(want, sizeof want, ":%d/", s_pg.srv->port);
    assert_non_null(strstr(vgb_store_path(s), want));
    /* The standby alone is no place for the broker, but one to read from. */
    char *sdsn = vt_pg_dsn(standby, s_pg.db, "vigil_broker");
    vgb_store *no = NULL;
    assert_int_equal(vgb_store_open_dsn(&no, sdsn, &why), VG_ERR_IO);
    assert_true(vt_reason_has(&why, "standby"));
    free(sdsn);
    sdsn = vt_pg_dsn(standby, s_pg.db, "vigil_audit");
    assert_int_equal(vgb_store_open_readonly_dsn(&no, sdsn, &why), VG_OK);
    vgb_store_destroy(&no);
    free(sdsn);
    vt_net *net = vt_net_new(4);
    vg_envelope *e1 = s_env(net, 1), *e2 = s_env(net, 2), *e3 = s_env(net, 3);
    /* With the standby streaming: durable. */
    assert_int_equal(vgb_store_begin(s, NULL), VG_OK);
    assert_int_equal(s_insert(s, e1), VG_OK);
    assert_int_equal(vgb_store_commit(s, NULL), VG_OK);
    assert_false(vgb_store_commit_in_doubt(s));
    /* The standby goes away; the commit waits until it is cancelled. */
    vt_pg_stop(&s_standby);
    assert_int_equal(vgb_store_begin(s, NULL), VG_OK);
    assert_int_equal(s_insert(s, e2), VG_OK);
    s_committer c = {.s = s};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, s_commit_thread, &c), 0);
    long long pid = s_wait_syncrep();
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT pg_cancel_backend(%lld)", pid);
    vt_pg_exec(s_pg.srv, "postgres", sql);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(c.err, VG_ERR_IO);
    assert_true(vt_reason_has(&c.why, "durable"));
    assert_true(vgb_store_commit_in_doubt(s));
    /* It did commit on the primary: that is why it is "in doubt", not "failed". */
    assert_int_equal(s_scalar(s_pg.db, "SELECT count(*) FROM vigil.alerts"), 2);
    /* Replication off again: the next transaction is on a new connection. */
    vt_pg_exec(s_pg.srv, "postgres", "ALTER SYSTEM RESET synchronous_standby_names");
    s_reload();
    assert_int_equal(vgb_store_begin(s, NULL), VG_OK);
    assert_false(vgb_store_commit_in_doubt(s));
    assert_int_equal(s_insert(s, e3), VG_OK);
    assert_int_equal(vgb_store_commit(s, NULL), VG_OK);
    assert_true(s_broker_pid() != pid);
    assert_int_equal(s_alerts(s), 3);
    vgb_store_destroy(&s);
    vg_envelope_destroy(&e1);
    vg_envelope_destroy(&e2);
    vg_envelope_destroy(&e3);
    vt_net_destroy(&net);
}

/* broker.conf's [store] opens the database it names, and makes the local
 * directory the broker keeps its high-water mark in. */
static void
test_broker_conf_opens_the_postgresql_store(void **state)
{
    (void)state;
    char *dir = vt_tmpdir_new();
    char *conf = vt_path(dir, "broker.conf");
    char *dsn = vt_pg_dsn(s_pg.srv, s_pg.db, "vigil_broker");
    char text[768];
    int len = snprintf(text, sizeof text,
                       "[broker]\nbind = tcp://127.0.0.1:*\nstore = local\n"
                       "[store]\nbackend = postgresql\ndsn = %s\n"
                       "[network]\nadmin_key = %064d\n",
                       dsn, 0);
    vt_write_file(conf, text, (size_t)len, 0600);
    vg_broker_config *cfg = NULL;
    vg_reason why = {{0}};
    if (vg_broker_config_load(&cfg, conf, &why) != VG_OK) {
        fail_msg("config: %s", why.text);
    }
    assert_int_equal(cfg->store_backend, VG_STORE_POSTGRESQL);
    vgb_store *s = NULL;
    assert_int_equal(vgb_store_open_config(&s, cfg, &why), VG_OK);
    assert_int_equal(s_alerts(s), 0);
    assert_non_null(strstr(vgb_store_path(s), "postgresql://vigil_broker@"));
    vgb_store_destroy(&s);
    assert_int_equal(vgb_store_open_readonly_config(&s, cfg, &why), VG_OK);
    vgb_store_destroy(&s);
    char *local = vt_path(dir, "local");
    assert_int_equal(access(local, W_OK), 0);
    free(local);
    vg_broker_config_destroy(&cfg);
    free(dsn);
    free(conf);
    vt_tmpdir_destroy(&dir);
}

static int
s_run_pg_only(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlstates_map_to_vg_errors),
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
        T(test_the_owner_makes_the_schema_and_the_broker_role_may_not),
        T(test_the_broker_role_cannot_change_or_delete_audit_rows),
        T(test_a_multi_host_dsn_skips_a_host_that_is_down),
        T(test_a_failed_change_fails_the_whole_transaction),
        T(test_a_broken_connection_is_replaced_between_transactions),
        T(test_a_write_from_a_stale_epoch_is_refused),
        T(test_durable_means_on_the_synchronous_standby),
        T(test_broker_conf_opens_the_postgresql_store),
#undef T
    };
    return cmocka_run_group_tests_name("store: postgresql only", tests, NULL, NULL);
}

int
main(void)
{
    s_pg.srv = vt_pg_start(NULL);
    /* The template every test's database copies: made as the owner role. */
    char *dsn = vt_pg_dsn(s_pg.srv, "vigil", "vigil_owner");
    vgb_store *s = NULL;
    vg_reason why = {{0}};
    if (vgb_pg_open(&s, dsn, VGB_PG_MIGRATE, &why) != VG_OK) {
        vt_pg_print_log(s_pg.srv, 8192);
        fprintf(stderr, "migrate: %s\n", why.text);
        vt_pg_stop(&s_pg.srv);
        return 1;
    }
    vgb_store_destroy(&s);
    free(dsn);
    vsc_backend b = {.name = "store contract: postgresql",
                     .ctx = &s_pg,
                     .fresh = s_fresh,
                     .drop = s_drop,
                     .open = s_open,
                     .open_readonly = s_open_readonly,
                     .set_schema_version = s_set_schema_version,
                     .to_schema_4 = s_to_schema_4,
                     .migrate = s_migrate};
    s_pg.pipelining = true;
    int failed = vsc_run(&b);
    b.name = "store contract: postgresql without pipelining";
    s_pg.pipelining = false;
    failed += vsc_run(&b);
    failed += s_run_pg_only();
    vt_pg_stop(&s_pg.srv);
    return failed;
}
