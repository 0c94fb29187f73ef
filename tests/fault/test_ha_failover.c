/*
 * test_ha_failover.c — several brokers on one PostgreSQL store, exactly one
 * leading (docs/ha.md, issue 14 item 3), driven through real processes: a
 * PostgreSQL server started by the test (tests/support/vt_pg.h), two
 * vigil-broker processes on their own endpoints sharing it, raw protocol
 * clients (rawclient.h) speaking to each endpoint, and vigilctl.
 *
 *   - the standby answers not_leader naming the leader, stores nothing; the
 *     leader confirms; SIGKILL the leader: the standby takes over (timed:
 *     kill -> first confirm by the new leader), the old one restarted is a
 *     standby, and `vigilctl audit verify` passes;
 *   - a paused leader (SIGSTOP past its lease) is replaced; after SIGCONT it
 *     confirms nothing that reached it while paused, logs that it lost the
 *     lead, and serves as a standby;
 *   - a takeover loop: the leader SIGKILLed at seeded moments while a raw
 *     publisher follows the leader; every confirmed alert is in the store
 *     exactly once and the audit log verifies after every takeover.
 *
 *   - the synchronous standby stops: nothing is confirmed (commits wait
 *     [store] commit_wait, are cancelled and in doubt, the leader steps
 *     down); the operator drops synchronous replication and the alert sent
 *     again is a duplicate of the in-doubt commit, never lost;
 *   - the database fails over: the primary is killed, its synchronous
 *     standby promoted; the brokers find it through the multi-host DSN,
 *     every alert confirmed before is on it, and audit verify passes.
 *
 * store-server: the last two configure the PostgreSQL servers themselves
 * (synchronous_standby_names, pg_promote) as an operator or Patroni would;
 * the store is read only through store.h.
 *
 * VG_SEED repeats a run; VG_FAULT_LONG=1 (ctest label "long") kills more.
 */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "broker_harness.h"
#include "fault_util.h"
#include "ha_util.h"
#include "itest.h"
#include "rawclient.h"
#include "vigil/util.h"
#include "vt_pg.h"

#define T_CONFIRM_MS 5000      /* longest wait for a confirm */
#define T_TAKEOVER_MAX_MS 5000 /* the issue's aim: kill -> first confirm by the new leader */

static const char *const s_required[] = {"licensing", "police", "childrens-services"};

static int
s_teardown(void **state)
{
    ha_destroy((ha_pair **)state);
    return 0;
}

/* A raw client of home-office at broker i's endpoint. */
static rc_client *
s_client(const ha_pair *ha, int i)
{
    const vga_config *cfg = vga_identity_config(ha->pub);
    const vg_keyset *ks = vga_identity_keys(ha->pub);
    return rc_new(ha->endpoint[i], cfg->broker_pk, vg_keyset_curve_pk(ks), vg_keyset_curve_sk(ks));
}

/* A fresh alert of home-office to the three required recipients. */
static uint8_t *
s_seal(ha_pair *ha, size_t *len, uint8_t id[VG_ALERT_ID_LEN])
{
    rc_seal_spec spec = {.recipients = s_required,
                         .n_recipients = 3,
                         .category = "taxi",
                         .sequence = ha->seq++,
                         .headline = "ha failover test"};
    return rc_seal(len, id, ha->pub, &spec);
}

/* The store, read through its interface (store.h) as vigil_audit. */
static vgb_store *
s_store(const ha_pair *ha)
{
    vgb_store *st = NULL;
    vg_reason why = {{0}};
    if (vgb_store_open_readonly_dsn(&st, ha->audit_dsn, &why) != VG_OK) {
        fail_msg("open the store: %s", why.text);
    }
    return st;
}

/* Whether the store holds the alert (alert ids are unique: once at most). */
static bool
s_stored(const ha_pair *ha, const uint8_t id[VG_ALERT_ID_LEN])
{
    vgb_store *st = s_store(ha);
    vgb_alert_row row;
    vg_err rc = vgb_store_find_alert(st, id, &row);
    vgb_store_destroy(&st);
    assert_true(rc == VG_OK || rc == VG_ERR_NOT_FOUND);
    return rc == VG_OK;
}

static uint64_t
s_n_alerts(const ha_pair *ha)
{
    vgb_store *st = s_store(ha);
    uint64_t n = 0;
    assert_int_equal(vgb_store_count_alerts(st, &n), VG_OK);
    vgb_store_destroy(&st);
    return n;
}

/* The epoch `vigilctl broker status` of broker i reports. */
static long long
s_epoch(const ha_pair *ha, int i)
{
    char *st = ha_status(ha, i);
    const char *e = strstr(st, "epoch=");
    long long n = e != NULL ? strtoll(e + 6, NULL, 10) : -1;
    free(st);
    return n;
}

/* Sends the alert to broker i and returns the answer (NULL: none in ms). */
static Vigil__BrokerFrame *
s_publish(rc_client *c, const uint8_t *env, size_t len, int64_t ms)
{
    uint64_t req = rc_publish(c, env, len);
    return rc_recv_reply(c, req, ms);
}

static bool
s_accepted(const Vigil__BrokerFrame *f)
{
    return f != NULL && f->kind_case == VIGIL__BROKER_FRAME__KIND_CONFIRM &&
           (f->confirm->status == VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED ||
            f->confirm->status == VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE);
}

/* ---- the standby refuses, the leader confirms, a takeover ----------------- */

static void
test_standby_refuses_and_takes_over(void **state)
{
    ha_pair *ha = *state = ha_new(NULL);
    ha_start_pair(ha);

    char *st = ha_status(ha, 0);
    assert_true(it_contains(st, "role=leader"));
    assert_true(it_contains(st, "epoch=1 "));
    free(st);
    st = ha_status(ha, 1);
    char want[128];
    snprintf(want, sizeof want, "leader=%s", ha->endpoint[0]);
    assert_true(it_contains(st, "role=standby"));
    assert_true(it_contains(st, want));
    free(st);

    /* The standby handles nothing: not_leader, naming the leader. */
    rc_client *cb = s_client(ha, 1);
    rc_hello(cb, false);
    uint8_t id1[VG_ALERT_ID_LEN];
    size_t len1 = 0;
    uint8_t *env1 = s_seal(ha, &len1, id1);
    Vigil__BrokerFrame *f = s_publish(cb, env1, len1, T_CONFIRM_MS);
    assert_non_null(f);
    assert_int_equal(f->kind_case, VIGIL__BROKER_FRAME__KIND_ERROR);
    assert_int_equal(f->error->code, VIGIL__REJECT_CODE__REJECT_NOT_LEADER);
    assert_string_equal(f->error->leader, ha->endpoint[0]);
    rc_frame_free(f);
    assert_false(s_stored(ha, id1));

    /* The leader confirms it. */
    rc_client *ca = s_client(ha, 0);
    rc_hello(ca, false);
    f = s_publish(ca, env1, len1, T_CONFIRM_MS);
    assert_true(s_accepted(f));
    rc_frame_free(f);
    assert_true(s_stored(ha, id1));

    /* SIGKILL the leader: B takes over. The clock runs from the kill to
     * the first confirm by B of an alert sent to it after the kill. */
    size_t leads_b = ha_count(ha->log[1], "ha.leader", NULL);
    uint8_t id2[VG_ALERT_ID_LEN];
    size_t len2 = 0;
    uint8_t *env2 = s_seal(ha, &len2, id2);
    int64_t t0 = bh_now_ms();
    ha_kill(ha, 0);
    int64_t confirmed_ms = -1;
    while (bh_now_ms() - t0 < HA_ROLE_MS) {
        f = s_publish(cb, env2, len2, 200);
        bool ok = s_accepted(f);
        rc_frame_free(f);
        if (ok) {
            confirmed_ms = bh_now_ms() - t0;
            break;
        }
        bh_sleep_ms(20);
    }
    if (confirmed_ms < 0) {
        ha_print_logs(ha);
        fail_msg("the standby did not take over");
    }
    print_message("ha: takeover kill -> first confirm by the new leader: %lld ms (lease " HA_LEASE
                  ", poll " HA_POLL ")\n",
                  (long long)confirmed_ms);
    assert_true(confirmed_ms <= T_TAKEOVER_MAX_MS);
    assert_true(ha_count(ha->log[1], "ha.leader", NULL) == leads_b + 1);
    assert_true(s_stored(ha, id2));
    /* The alert A confirmed is B's too: sent again, a duplicate, not a second copy. */
    f = s_publish(cb, env1, len1, T_CONFIRM_MS);
    assert_non_null(f);
    assert_int_equal(f->kind_case, VIGIL__BROKER_FRAME__KIND_CONFIRM);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE);
    rc_frame_free(f);
    assert_true(s_stored(ha, id1));

    /* A comes back as a standby of B, at the next epoch. */
    size_t sb_a = ha_count(ha->log[0], "ha.standby", NULL);
    ha_start(ha, 0);
    assert_true(ha_wait_log(ha->log[0], "ha.standby", sb_a, HA_ROLE_MS));
    st = ha_status(ha, 0);
    snprintf(want, sizeof want, "leader=%s", ha->endpoint[1]);
    assert_true(it_contains(st, "role=standby"));
    assert_true(it_contains(st, want));
    assert_true(it_contains(st, "epoch=2 "));
    free(st);
    rc_destroy(&ca);
    ca = s_client(ha, 0);
    f = s_publish(ca, env2, len2, T_CONFIRM_MS);
    assert_non_null(f);
    assert_int_equal(f->kind_case, VIGIL__BROKER_FRAME__KIND_ERROR);
    assert_int_equal(f->error->code, VIGIL__REJECT_CODE__REJECT_NOT_LEADER);
    assert_string_equal(f->error->leader, ha->endpoint[1]);
    rc_frame_free(f);

    ha_audit_verify(ha, 1);
    ha_audit_verify(ha, 0);
    rc_destroy(&ca);
    rc_destroy(&cb);
    free(env1);
    free(env2);
}

/* ---- a paused leader ----------------------------------------------------------- */

static void
test_paused_leader_is_fenced(void **state)
{
    ha_pair *ha = *state = ha_new(NULL);
    ha_start_pair(ha);
    rc_client *ca = s_client(ha, 0);
    rc_hello(ca, false);
    uint8_t id1[VG_ALERT_ID_LEN];
    size_t len1 = 0;
    uint8_t *env1 = s_seal(ha, &len1, id1);
    Vigil__BrokerFrame *f = s_publish(ca, env1, len1, T_CONFIRM_MS);
    assert_true(s_accepted(f));
    rc_frame_free(f);

    /* Paused past its lease, with a publish waiting in its socket. */
    size_t leads_b = ha_count(ha->log[1], "ha.leader", NULL);
    assert_int_equal(kill(ha->pid[0], SIGSTOP), 0);
    int64_t t0 = bh_now_ms();
    uint8_t id2[VG_ALERT_ID_LEN];
    size_t len2 = 0;
    uint8_t *env2 = s_seal(ha, &len2, id2);
    uint64_t req2 = rc_publish(ca, env2, len2);
    if (!ha_wait_log(ha->log[1], "ha.leader", leads_b, HA_ROLE_MS)) {
        kill(ha->pid[0], SIGCONT);
        ha_print_logs(ha);
        fail_msg("the standby did not take over from a paused leader");
    }
    print_message("ha: a leader paused at t=0 was replaced at t=%lld ms (lease " HA_LEASE ")\n",
                  (long long)(bh_now_ms() - t0));
    /* B leads: a third alert is confirmed by it. */
    rc_client *cb = s_client(ha, 1);
    rc_hello(cb, false);
    uint8_t id3[VG_ALERT_ID_LEN];
    size_t len3 = 0;
    uint8_t *env3 = s_seal(ha, &len3, id3);
    f = s_publish(cb, env3, len3, T_CONFIRM_MS);
    assert_true(s_accepted(f));
    rc_frame_free(f);

    /* A wakes up: the publish that waited for it is not confirmed, A says it
     * lost the lead and stands by. */
    size_t sb_a = ha_count(ha->log[0], "ha.standby", NULL);
    assert_int_equal(kill(ha->pid[0], SIGCONT), 0);
    f = rc_recv_reply(ca, req2, T_CONFIRM_MS);
    assert_false(s_accepted(f)); /* no answer, not_leader, or "not recorded" */
    rc_frame_free(f);
    if (!ha_wait_log(ha->log[0], "ha.standby", sb_a, HA_ROLE_MS)) {
        ha_print_logs(ha);
        fail_msg("the paused leader did not step down");
    }
    assert_true(
        ha_count(ha->log[0], "ha.fenced", NULL) + ha_count(ha->log[0], "ha.lease_lost", NULL) >= 1);
    assert_int_equal(ha_count(ha->log[0], "ha.step_down", NULL), 1);
    assert_false(s_stored(ha, id2)); /* nobody stored it: it stays the sender's */
    char *st = ha_status(ha, 0);
    assert_true(it_contains(st, "role=fenced") || it_contains(st, "role=standby"));
    free(st);
    /* Sent to the new leader it is stored once. */
    f = s_publish(cb, env2, len2, T_CONFIRM_MS);
    assert_true(s_accepted(f));
    rc_frame_free(f);
    assert_true(s_stored(ha, id2));
    assert_int_equal(s_epoch(ha, 1), 2);
    ha_audit_verify(ha, 1);
    rc_destroy(&ca);
    rc_destroy(&cb);
    free(env1);
    free(env2);
    free(env3);
}

/* ---- a takeover loop ---------------------------------------------------------------- */

static void
test_takeover_loop(void **state)
{
    ha_pair *ha = *state = ha_new(NULL);
    uint64_t seed = fu_seed("test_takeover_loop");
    fu_rng rng;
    fu_rng_init(&rng, seed);
    ha_start_pair(ha);
    int n_kills = fu_long() ? 30 : 10;
    int leader = 0;
    size_t confirmed = 0;
    enum { S_MAX = 4096 };
    uint8_t(*ids)[VG_ALERT_ID_LEN] = calloc(S_MAX, VG_ALERT_ID_LEN);
    assert_non_null(ids);
    int64_t worst_ms = 0, total_ms = 0;
    for (int k = 0; k < n_kills; k++) {
        /* Publish to the leader for a seeded while; pending ones are kept
         * and sent again (same bytes) to the next leader. */
        rc_client *c = s_client(ha, leader);
        rc_hello(c, false);
        int64_t until = bh_now_ms() + fu_range(&rng, 50, 600);
        uint8_t id[VG_ALERT_ID_LEN];
        size_t len = 0;
        uint8_t *env = NULL;
        while (bh_now_ms() < until && confirmed < S_MAX) {
            env = s_seal(ha, &len, id);
            Vigil__BrokerFrame *f = s_publish(c, env, len, T_CONFIRM_MS);
            if (!s_accepted(f)) {
                rc_frame_free(f);
                break;
            }
            rc_frame_free(f);
            memcpy(ids[confirmed++], id, VG_ALERT_ID_LEN);
            free(env);
            env = NULL;
        }
        /* One more in flight at the kill: indeterminate. */
        uint8_t *flight = env != NULL ? env : s_seal(ha, &len, id);
        (void)rc_publish(c, flight, len);
        bh_sleep_ms(fu_range(&rng, 0, 5));
        int64_t t0 = bh_now_ms();
        ha_kill(ha, leader);
        int next = 1 - leader;
        rc_client *cn = s_client(ha, next);
        rc_hello(cn, false);
        int64_t took = -1;
        while (bh_now_ms() - t0 < HA_ROLE_MS) {
            Vigil__BrokerFrame *f = s_publish(cn, flight, len, 200);
            bool ok = s_accepted(f);
            rc_frame_free(f);
            if (ok) {
                took = bh_now_ms() - t0;
                break;
            }
            bh_sleep_ms(20);
        }
        if (took < 0) {
            ha_print_logs(ha);
            fail_msg("takeover %d: broker %c did not take over (seed %llu)", k + 1, 'A' + next,
                     (unsigned long long)seed);
        }
        memcpy(ids[confirmed++], id, VG_ALERT_ID_LEN);
        free(flight);
        worst_ms = took > worst_ms ? took : worst_ms;
        total_ms += took;
        rc_destroy(&c);
        rc_destroy(&cn);
        ha_audit_verify(ha, next);
        /* The killed one comes back as a standby. */
        size_t sb = ha_count(ha->log[leader], "ha.standby", NULL);
        ha_start(ha, leader);
        if (!ha_wait_log(ha->log[leader], "ha.standby", sb, HA_ROLE_MS)) {
            ha_print_logs(ha);
            fail_msg("takeover %d: the old leader did not come back as a standby", k + 1);
        }
        leader = next;
    }
    /* Every confirmed alert stored exactly once; nothing else stored. */
    size_t lost = 0;
    for (size_t i = 0; i < confirmed; i++) {
        lost += !s_stored(ha, ids[i]);
    }
    int64_t stored = (int64_t)s_n_alerts(ha);
    long long epoch = s_epoch(ha, leader);
    print_message("ha: seed=%llu takeovers=%d confirmed=%zu stored=%lld lost=%zu "
                  "takeover_ms mean=%lld worst=%lld epoch=%lld\n",
                  (unsigned long long)seed, n_kills, confirmed, (long long)stored, lost,
                  (long long)(total_ms / n_kills), (long long)worst_ms, epoch);
    assert_int_equal(lost, 0);
    assert_int_equal(stored, (int64_t)confirmed);
    assert_int_equal(epoch, n_kills + 1); /* one epoch per takeover */
    assert_true(worst_ms <= T_TAKEOVER_MAX_MS);
    free(ids);
}

/* ---- replication -------------------------------------------------------------- */

/* Runs sql as the superuser on pg and returns the first column of the
 * first row as a number (0 when no row). */
static long long
s_super(const vt_pg *pg, const char *sql)
{
    PGconn *c = vt_pg_connect(pg, "postgres", NULL);
    PGresult *r = vt_pg_query(c, sql);
    long long n = PQntuples(r) > 0 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    PQfinish(c);
    return n;
}

/* Makes standby (application_name name) the primary's synchronous one and
 * waits until it streams as such. */
static void
s_make_sync(const vt_pg *primary, const char *name)
{
    char sql[128];
    snprintf(sql, sizeof sql, "ALTER SYSTEM SET synchronous_standby_names = '%s'", name);
    vt_pg_exec(primary, "postgres", sql);
    vt_pg_exec(primary, "postgres", "SELECT pg_reload_conf()");
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_stat_replication WHERE application_name = '%s'"
             " AND sync_state = 'sync'",
             name);
    for (int i = 0; s_super(primary, sql) != 1; i++) {
        assert_true(i < 500);
        bh_sleep_ms(20);
    }
}

/* Rewrites a line of both brokers' broker.conf: the one starting with
 * `starts` becomes `line` (or line is added after "backend = postgresql"
 * when starts is NULL). */
static void
s_conf_line(ha_pair *ha, const char *starts, const char *line)
{
    for (int i = 0; i < 2; i++) {
        char *text = ha_read(ha->conf[i]);
        assert_non_null(text);
        const char *key = starts != NULL ? starts : "backend = postgresql\n";
        char *at = strstr(text, key);
        assert_non_null(at);
        char *end = starts != NULL ? strchr(at, '\n') : at + strlen(key);
        assert_non_null(end);
        size_t cap = strlen(text) + strlen(line) + 8;
        char *out = calloc(1, cap);
        assert_non_null(out);
        if (starts != NULL) {
            snprintf(out, cap, "%.*s%s%s", (int)(at - text), text, line, end);
        } else {
            snprintf(out, cap, "%.*s%s\n%s", (int)(end - text), text, line, end);
        }
        vg_reason why = {{0}};
        assert_int_equal(vg_file_write_atomic(ha->conf[i], out, strlen(out), 0600, &why), VG_OK);
        free(out);
        free(text);
    }
}

static void
test_sync_standby_stall_confirms_nothing(void **state)
{
    ha_pair *ha = *state = ha_new(NULL);
    vt_pg *standby = ha->standby = vt_pg_start_standby(ha->pg, "db2");
    s_make_sync(ha->pg, "db2");
    s_conf_line(ha, NULL, "commit_wait = 1s");
    ha_start(ha, 0);
    if (!ha_wait_log(ha->log[0], "broker.ready", 0, HA_ROLE_MS)) {
        ha_print_logs(ha);
        fail_msg("broker A did not lead");
    }
    rc_client *c = s_client(ha, 0);
    rc_hello(c, false);
    uint8_t id1[VG_ALERT_ID_LEN], id2[VG_ALERT_ID_LEN];
    size_t len1 = 0, len2 = 0;
    uint8_t *env1 = s_seal(ha, &len1, id1);
    Vigil__BrokerFrame *f = s_publish(c, env1, len1, T_CONFIRM_MS);
    assert_true(s_accepted(f)); /* on the standby too */
    rc_frame_free(f);

    /* The standby stops: for as long as it is gone, nothing is confirmed. */
    vt_pg_kill(standby);
    uint8_t *env2 = s_seal(ha, &len2, id2);
    int64_t end = bh_now_ms() + 5000;
    size_t answers = 0;
    while (bh_now_ms() < end) {
        f = s_publish(c, env2, len2, 1500);
        if (s_accepted(f)) {
            ha_print_logs(ha);
            fail_msg("confirmed while the synchronous standby was gone");
        }
        answers += f != NULL;
        rc_frame_free(f);
    }
    print_message("ha: standby gone 5 s: %zu answers to the publish, none a confirm\n", answers);
    assert_true(ha_count(ha->log[0], "store.commit_wait_cancelled", NULL) >= 1);
    assert_true(ha_count(ha->log[0], "ha.lease_lost", "commit_in_doubt") >= 1);

    /* The operator drops synchronous replication (docs/ha.md): the broker
     * leads again and the alert, committed locally by the cancelled wait,
     * is a duplicate: it was in doubt, never confirmed and never lost. */
    vt_pg_exec(ha->pg, "postgres", "ALTER SYSTEM RESET synchronous_standby_names");
    vt_pg_exec(ha->pg, "postgres", "SELECT pg_reload_conf()");
    int64_t confirmed = -1, t0 = bh_now_ms();
    while (bh_now_ms() - t0 < HA_ROLE_MS && confirmed < 0) {
        rc_destroy(&c);
        c = s_client(ha, 0);
        f = s_publish(c, env2, len2, 1000);
        if (s_accepted(f)) {
            confirmed = f->confirm->status;
        }
        rc_frame_free(f);
    }
    if (confirmed < 0) {
        ha_print_logs(ha);
        fail_msg("no confirm after synchronous replication was dropped");
    }
    assert_true(s_stored(ha, id1));
    assert_true(s_stored(ha, id2));
    assert_int_equal(s_n_alerts(ha), 2);
    ha_audit_verify(ha, 0);
    rc_destroy(&c);
    free(env1);
    free(env2);
}

static void
test_database_failover_keeps_every_confirmed_alert(void **state)
{
    ha_pair *ha = *state = ha_new(NULL);
    vt_pg *standby = ha->standby = vt_pg_start_standby(ha->pg, "db2");
    s_make_sync(ha->pg, "db2");
    /* Both servers, the primary first; libpq skips the one that is not
     * read-write. */
    char dsn[512], line[600];
    snprintf(dsn, sizeof dsn,
             "host=127.0.0.1,127.0.0.1 port=%d,%d dbname=vigil user=vigil_broker "
             "target_session_attrs=read-write connect_timeout=2",
             ha->pg->port, standby->port);
    snprintf(line, sizeof line, "dsn = %s", dsn);
    s_conf_line(ha, "dsn = ", line);
    free(ha->audit_dsn);
    char audit[512];
    snprintf(audit, sizeof audit,
             "host=127.0.0.1,127.0.0.1 port=%d,%d dbname=vigil user=vigil_audit "
             "target_session_attrs=read-write connect_timeout=2",
             ha->pg->port, standby->port);
    ha->audit_dsn = vg_strdup(audit);
    ha_start_pair(ha);
    enum { S_N = 20 };
    uint8_t ids[S_N + 1][VG_ALERT_ID_LEN];
    rc_client *c = s_client(ha, 0);
    rc_hello(c, false);
    for (int i = 0; i < S_N; i++) {
        size_t len = 0;
        uint8_t *env = s_seal(ha, &len, ids[i]);
        Vigil__BrokerFrame *f = s_publish(c, env, len, T_CONFIRM_MS);
        assert_true(s_accepted(f));
        rc_frame_free(f);
        free(env);
    }
    rc_destroy(&c);

    /* kill -9 the primary; promote the standby (Patroni's job). */
    int64_t t0 = bh_now_ms();
    vt_pg_kill(ha->pg);
    assert_int_equal(s_super(standby, "SELECT pg_promote()::int"), 1);
    size_t len = 0;
    uint8_t *env = s_seal(ha, &len, ids[S_N]);
    int64_t took = -1;
    for (int turn = 0; bh_now_ms() - t0 < 30000 && took < 0; turn ^= 1) {
        c = s_client(ha, turn);
        Vigil__BrokerFrame *f = s_publish(c, env, len, 500);
        if (s_accepted(f)) {
            took = bh_now_ms() - t0;
        }
        rc_frame_free(f);
        rc_destroy(&c);
    }
    if (took < 0) {
        ha_print_logs(ha);
        fail_msg("no broker confirmed on the promoted standby");
    }
    print_message("ha: database failover: primary killed -> first confirm on the promoted "
                  "standby %lld ms\n",
                  (long long)took);
    for (int i = 0; i <= S_N; i++) {
        assert_true(s_stored(ha, ids[i]));
    }
    assert_int_equal(s_n_alerts(ha), S_N + 1);
    int leader = ha_count(ha->log[0], "ha.leader", NULL) >= 2 ? 0 : 1;
    ha_audit_verify(ha, leader);
    free(env);
}

/* ---- agents leave a paused leader ------------------------------------------------ */

/* The leader hangs (SIGSTOP, never resumed while it matters): its TCP port
 * still accepts connections but nothing answers. An agent connected to it
 * moves on and its publish is confirmed by the new leader. */
static void
test_agent_leaves_a_paused_leader(void **state)
{
    ha_pair *ha = *state = ha_new(NULL);
    ha_agents_follow(ha);
    ha_start_pair(ha);
    char *conf = bh_agent_conf(ha->h, "home-office");
    vga_options opts = {.software = "vigil-ha-test"};
    vga_agent *a = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vga_agent_open(&a, conf, &opts, &why), VG_OK);
    vg_alert alert = {0};
    alert.severity = VG_SEV_HIGH;
    alert.headline = "before the pause";
    assert_int_equal(vg_strlist_add(&alert.categories, "taxi"), VG_OK);
    vga_confirm res;
    assert_int_equal(vga_publish(a, &alert, T_CONFIRM_MS, &res, &why), VG_OK);
    vga_confirm_fini(&res);
    assert_string_equal(vga_agent_broker(a), ha->endpoint[0]);

    assert_int_equal(kill(ha->pid[0], SIGSTOP), 0);
    int64_t t0 = bh_now_ms();
    alert.headline = "during the pause";
    vg_err rc = VG_ERR_TIMEOUT;
    while (rc != VG_OK && bh_now_ms() - t0 < 40000) {
        rc = vga_publish(a, &alert, 2000, &res, &why);
        vga_confirm_fini(&res);
        if (rc == VG_ERR_TIMEOUT) { /* in the outbox: flush it until a broker confirms */
            size_t left = 1;
            rc = vga_flush_outbox(a, 2000, &left, &why) == VG_OK && left == 0 ? VG_OK : rc;
        }
    }
    int64_t took = bh_now_ms() - t0;
    const char *live = vga_agent_broker(a);
    bool moved = strcmp(live, ha->endpoint[1]) == 0;
    kill(ha->pid[0], SIGCONT);
    if (rc != VG_OK || !moved) {
        ha_print_logs(ha);
        fail_msg("the agent stayed with the paused leader (%s: %s)", vg_err_code(rc), why.text);
    }
    print_message("ha: an agent left a paused leader: confirmed by %s %lld ms after SIGSTOP\n",
                  live, (long long)took);
    vg_strlist_fini(&alert.categories);
    vga_agent_destroy(&a);
    free(conf);
}

/* ---- the console follows the leader ----------------------------------------------- */

/* Lines of the console's --plain output holding needle. */
static size_t
s_lines(const char *path, const char *needle)
{
    char *text = ha_read(path);
    size_t n = 0;
    for (const char *p = text; p != NULL && (p = strstr(p, needle)) != NULL; p++) {
        n++;
    }
    free(text);
    return n;
}

static bool
s_wait_lines(const char *path, const char *needle, size_t n, int64_t ms)
{
    int64_t end = bh_now_ms() + ms;
    while (s_lines(path, needle) < n) {
        if (bh_now_ms() >= end) {
            return false;
        }
        bh_sleep_ms(50);
    }
    return true;
}

/* `vigil-console --plain` for licensing with both endpoints: the leader is
 * killed, the console moves to the new one, says so, and its event stream
 * goes on without a gap or a repeat (EVENT #n, n consecutive). */
static void
test_console_follows_the_leader(void **state)
{
    ha_pair *ha = *state = ha_new(NULL);
    ha_agents_follow(ha);
    ha_start_pair(ha);
    char *conf = bh_agent_conf(ha->h, "licensing");
    char *out = it_path(ha->h->tmp, "console.out");
    char bin[4096];
    snprintf(bin, sizeof bin, "%s/vigil-console", VG_BIN_DIR);
    char *argv[] = {bin, "-c", conf, "--plain", NULL};
    pid_t console = fu_spawn(argv, out, NULL);
    bool ok = s_wait_lines(out, "SYNC LIVE", 1, HA_ROLE_MS);
    rc_client *c = ok ? s_client(ha, 0) : NULL;
    size_t len = 0;
    uint8_t id[VG_ALERT_ID_LEN];
    uint8_t *env = NULL;
    if (ok) {
        rc_hello(c, false);
        env = s_seal(ha, &len, id);
        Vigil__BrokerFrame *f = s_publish(c, env, len, T_CONFIRM_MS);
        ok = s_accepted(f) && s_wait_lines(out, " new severity=", 1, HA_ROLE_MS);
        rc_frame_free(f);
        free(env);
        rc_destroy(&c);
    }
    if (ok) {
        ha_kill(ha, 0);
        c = s_client(ha, 1);
        env = s_seal(ha, &len, id);
        bool confirmed = false;
        for (int64_t t0 = bh_now_ms(); !confirmed && bh_now_ms() - t0 < HA_ROLE_MS;) {
            Vigil__BrokerFrame *f = s_publish(c, env, len, 300);
            confirmed = s_accepted(f);
            rc_frame_free(f);
        }
        char moved[128];
        snprintf(moved, sizeof moved, "now with the broker at %s", ha->endpoint[1]);
        ok = confirmed && s_wait_lines(out, moved, 1, HA_ROLE_MS) &&
             s_wait_lines(out, " new severity=", 2, HA_ROLE_MS);
        free(env);
        rc_destroy(&c);
    }
    kill(console, SIGTERM);
    if (fu_wait(console, 5000) == -1) {
        fu_kill(console);
    }
    char *text = ha_read(out);
    if (!ok) {
        print_error("---- console output ----\n%s---- end ----\n", text ? text : "");
        ha_print_logs(ha);
        fail_msg("the console did not follow the leader");
    }
    /* Its event stream: consecutive numbers, none twice, across the move. */
    long long last = 0;
    size_t n_events = 0;
    for (const char *p = text; (p = strstr(p, " EVENT #")) != NULL; p += 8) {
        long long seq = strtoll(p + 8, NULL, 10);
        if (last != 0 && seq != last + 1) {
            print_error("%s", text);
            fail_msg("event #%lld after #%lld", seq, last);
        }
        last = seq;
        n_events++;
    }
    print_message("ha: console moved to %s; %zu events, #1..#%lld, no gap, no repeat\n",
                  ha->endpoint[1], n_events, last);
    assert_true(n_events >= 2);
    free(text);
    free(out);
    free(conf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_standby_refuses_and_takes_over, s_teardown),
        cmocka_unit_test_teardown(test_paused_leader_is_fenced, s_teardown),
        cmocka_unit_test_teardown(test_takeover_loop, s_teardown),
        cmocka_unit_test_teardown(test_sync_standby_stall_confirms_nothing, s_teardown),
        cmocka_unit_test_teardown(test_database_failover_keeps_every_confirmed_alert, s_teardown),
        cmocka_unit_test_teardown(test_console_follows_the_leader, s_teardown),
        cmocka_unit_test_teardown(test_agent_leaves_a_paused_leader, s_teardown),
    };
    if (getenv("VG_TEST_FILTER") != NULL) { /* e.g. VG_TEST_FILTER='*paused*' */
        cmocka_set_test_filter(getenv("VG_TEST_FILTER"));
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
