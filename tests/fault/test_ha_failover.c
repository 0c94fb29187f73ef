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
#include "itest.h"
#include "rawclient.h"
#include "vigil/util.h"
#include "vt_pg.h"

#define T_LEASE "2s"           /* [ha] lease: SIGSTOP past it */
#define T_LEASE_MS 2000        /* ... the same */
#define T_POLL "100ms"         /* [ha] poll */
#define T_ROLE_MS 15000        /* longest wait for a role change */
#define T_CONFIRM_MS 5000      /* longest wait for a confirm */
#define T_TAKEOVER_MAX_MS 5000 /* the aim: kill -> first confirm by the new leader */

static const char *const s_required[] = {"licensing", "police", "childrens-services"};

/* Two brokers, A (the harness's) and B (a copy of A's directory with its
 * own endpoint and local files), on one database. */
typedef struct s_ha {
    vt_pg *pg;
    char *dsn;       /* vigil_broker's */
    char *audit_dsn; /* vigil_audit's */
    bh_broker *h;    /* the network and broker A's directory */
    char *conf[2];   /* broker.conf of A and B */
    char *log[2];    /* their logs */
    char endpoint[2][BH_ENDPOINT_MAX];
    pid_t pid[2];      /* running, or 0 */
    vga_identity *pub; /* home-office, the publisher */
    uint64_t seq;      /* its next sender sequence */
} s_ha;

static char *
s_read(const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    return vg_file_read(&data, &len, path, 64u << 20, NULL) == VG_OK ? (char *)data : NULL;
}

static void
s_append(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Lines of the log holding " id " (a message id) and needle (NULL: any). */
static size_t
s_count(const char *log, const char *id, const char *needle)
{
    char *text = s_read(log);
    char key[96];
    snprintf(key, sizeof key, " %s ", id);
    size_t n = 0;
    for (char *line = text; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }
        n += strstr(line, key) != NULL && (needle == NULL || strstr(line, needle) != NULL);
        line = nl != NULL ? nl + 1 : NULL;
    }
    free(text);
    return n;
}

/* Waits until the log has more than `had` lines of id; false after ms. */
static bool
s_wait_log(const char *log, const char *id, size_t had, int64_t ms)
{
    int64_t end = bh_now_ms() + ms;
    while (s_count(log, id, NULL) <= had) {
        if (bh_now_ms() >= end) {
            return false;
        }
        bh_sleep_ms(20);
    }
    return true;
}

static void
s_print_logs(const s_ha *ha)
{
    for (int i = 0; i < 2; i++) {
        char *t = s_read(ha->log[i]);
        print_error("---- broker %c log ----\n", 'A' + i);
        for (char *line = t; line != NULL && *line != '\0';) { /* cmocka's buffer is bounded */
            char *nl = strchr(line, '\n');
            int len = nl ? (int)(nl - line) : (int)strlen(line);
            print_error("%.*s\n", len, line);
            line = nl ? nl + 1 : NULL;
        }
        print_error("---- end of broker %c log ----\n", 'A' + i);
        free(t);
    }
    vt_pg_print_log(ha->pg, 8192);
}

static void
s_start(s_ha *ha, int i)
{
    char bin[4096];
    snprintf(bin, sizeof bin, "%s/vigil-broker", VG_BIN_DIR);
    char *argv[] = {bin, "-c", ha->conf[i], NULL};
    ha->pid[i] = fu_spawn(argv, ha->log[i], NULL);
}

static void
s_kill(s_ha *ha, int i)
{
    fu_kill(ha->pid[i]);
    ha->pid[i] = 0;
}

/* `vigilctl broker status -c conf[i]`: its output (free it). */
static char *
s_status(const s_ha *ha, int i)
{
    it_run r;
    it_vigilctl(&r, "broker", "status", "-c", ha->conf[i]);
    char *out = vg_strdup(r.out ? r.out : "");
    it_run_fini(&r);
    return out;
}

static void
s_audit_verify(const s_ha *ha, int i)
{
    it_run r;
    it_vigilctl(&r, "audit", "verify", "-c", ha->conf[i]);
    if (r.status != 0) {
        s_print_logs(ha);
    }
    it_assert_ok(&r);
    it_run_fini(&r);
}

static s_ha *
s_ha_new(void)
{
    s_ha *ha = calloc(1, sizeof *ha);
    assert_non_null(ha);
    ha->pg = vt_pg_start(NULL);
    char *owner = vt_pg_dsn(ha->pg, "vigil", "vigil_owner");
    vgb_store *s = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vgb_store_open_dsn(&s, owner, &why), VG_OK); /* the schema, as migrate */
    vgb_store_destroy(&s);
    free(owner);
    ha->dsn = vt_pg_dsn(ha->pg, "vigil", "vigil_broker");
    ha->audit_dsn = vt_pg_dsn(ha->pg, "vigil", "vigil_audit");
    ha->h = bh_new(NULL);
    snprintf(ha->endpoint[0], BH_ENDPOINT_MAX, "%s", ha->h->endpoint);
    snprintf(ha->endpoint[1], BH_ENDPOINT_MAX, "tcp://127.0.0.1:%d", vt_pg_free_port());
    ha->conf[0] = vg_strdup(ha->h->conf);
    ha->log[0] = vg_strdup(ha->h->log_path);
    ha->log[1] = it_path(ha->h->tmp, "broker-b.log");
    /* B: the same keys and document, its own endpoint and local files. */
    char *dir_b = it_path(ha->h->net, "broker-b");
    assert_int_equal(mkdir(dir_b, 0700), 0);
    ha->conf[1] = it_path(dir_b, "broker.conf");
    const char *files[] = {"broker.key", "network.signed"};
    for (size_t f = 0; f < 2; f++) {
        char src[4096], dst[4096];
        snprintf(src, sizeof src, "%s/broker/%s", ha->h->net, files[f]);
        snprintf(dst, sizeof dst, "%s/%s", dir_b, files[f]);
        uint8_t *data = NULL;
        size_t len = 0;
        assert_int_equal(vg_file_read(&data, &len, src, 1u << 20, NULL), VG_OK);
        assert_int_equal(vg_file_write_atomic(dst, data, len, 0600, &why), VG_OK);
        free(data);
    }
    char *text = s_read(ha->conf[0]);
    assert_non_null(text);
    char *bind = strstr(text, ha->endpoint[0]);
    assert_non_null(bind);
    size_t cap = strlen(text) + 64;
    char *text_b = calloc(1, cap);
    snprintf(text_b, cap, "%.*s%s%s", (int)(bind - text), text, ha->endpoint[1],
             bind + strlen(ha->endpoint[0]));
    assert_int_equal(vg_file_write_atomic(ha->conf[1], text_b, strlen(text_b), 0600, &why), VG_OK);
    free(text_b);
    free(text);
    for (int i = 0; i < 2; i++) {
        char extra[2048];
        snprintf(extra, sizeof extra,
                 "\n[store]\nbackend = postgresql\ndsn = %s\n\n[ha]\nadvertise = %s\n"
                 "lease = " T_LEASE "\npoll = " T_POLL "\n",
                 ha->dsn, ha->endpoint[i]);
        s_append(ha->conf[i], extra);
    }
    free(dir_b);
    ha->pub = bh_identity(ha->h, "home-office");
    ha->seq = 1;
    return ha;
}

static int
s_teardown(void **state)
{
    s_ha *ha = *state;
    if (ha == NULL) {
        return 0;
    }
    for (int i = 0; i < 2; i++) {
        if (ha->pid[i] > 0) {
            kill(ha->pid[i], SIGCONT);
            fu_kill(ha->pid[i]);
        }
        free(ha->conf[i]);
        free(ha->log[i]);
    }
    vga_identity_destroy(&ha->pub);
    bh_pass(ha->h); /* the logs of both were printed where a check failed */
    bh_destroy(&ha->h);
    vt_pg_stop(&ha->pg);
    free(ha->dsn);
    free(ha->audit_dsn);
    free(ha);
    *state = NULL;
    return 0;
}

/* A raw client of home-office at broker i's endpoint. */
static rc_client *
s_client(const s_ha *ha, int i)
{
    const vga_config *cfg = vga_identity_config(ha->pub);
    const vg_keyset *ks = vga_identity_keys(ha->pub);
    return rc_new(ha->endpoint[i], cfg->broker_pk, vg_keyset_curve_pk(ks), vg_keyset_curve_sk(ks));
}

/* A fresh alert of home-office to the three required recipients. */
static uint8_t *
s_seal(s_ha *ha, size_t *len, uint8_t id[VG_ALERT_ID_LEN])
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
s_store(const s_ha *ha)
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
s_stored(const s_ha *ha, const uint8_t id[VG_ALERT_ID_LEN])
{
    vgb_store *st = s_store(ha);
    vgb_alert_row row;
    vg_err rc = vgb_store_find_alert(st, id, &row);
    vgb_store_destroy(&st);
    assert_true(rc == VG_OK || rc == VG_ERR_NOT_FOUND);
    return rc == VG_OK;
}

static uint64_t
s_n_alerts(const s_ha *ha)
{
    vgb_store *st = s_store(ha);
    uint64_t n = 0;
    assert_int_equal(vgb_store_count_alerts(st, &n), VG_OK);
    vgb_store_destroy(&st);
    return n;
}

/* The epoch `vigilctl broker status` of broker i reports. */
static long long
s_epoch(const s_ha *ha, int i)
{
    char *st = s_status(ha, i);
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

/* Starts A, waits for it to lead; starts B, waits for it to stand by. */
static void
s_start_pair(s_ha *ha)
{
    s_start(ha, 0);
    if (!s_wait_log(ha->log[0], "broker.ready", 0, T_ROLE_MS)) {
        s_print_logs(ha);
        fail_msg("broker A did not lead");
    }
    s_start(ha, 1);
    if (!s_wait_log(ha->log[1], "ha.standby", 0, T_ROLE_MS)) {
        s_print_logs(ha);
        fail_msg("broker B did not stand by");
    }
}

/* ---- the standby refuses, the leader confirms, a takeover ----------------- */

static void
test_standby_refuses_and_takes_over(void **state)
{
    s_ha *ha = *state = s_ha_new();
    s_start_pair(ha);

    char *st = s_status(ha, 0);
    assert_true(it_contains(st, "role=leader"));
    assert_true(it_contains(st, "epoch=1 "));
    free(st);
    st = s_status(ha, 1);
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
    size_t leads_b = s_count(ha->log[1], "ha.leader", NULL);
    uint8_t id2[VG_ALERT_ID_LEN];
    size_t len2 = 0;
    uint8_t *env2 = s_seal(ha, &len2, id2);
    int64_t t0 = bh_now_ms();
    s_kill(ha, 0);
    int64_t confirmed_ms = -1;
    while (bh_now_ms() - t0 < T_ROLE_MS) {
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
        s_print_logs(ha);
        fail_msg("the standby did not take over");
    }
    print_message("ha: takeover kill -> first confirm by the new leader: %lld ms (lease " T_LEASE
                  ", poll " T_POLL ")\n",
                  (long long)confirmed_ms);
    assert_true(confirmed_ms <= T_TAKEOVER_MAX_MS);
    assert_true(s_count(ha->log[1], "ha.leader", NULL) == leads_b + 1);
    assert_true(s_stored(ha, id2));
    /* The alert A confirmed is B's too: sent again, a duplicate, not a second copy. */
    f = s_publish(cb, env1, len1, T_CONFIRM_MS);
    assert_non_null(f);
    assert_int_equal(f->kind_case, VIGIL__BROKER_FRAME__KIND_CONFIRM);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE);
    rc_frame_free(f);
    assert_true(s_stored(ha, id1));

    /* A comes back as a standby of B, at the next epoch. */
    size_t sb_a = s_count(ha->log[0], "ha.standby", NULL);
    s_start(ha, 0);
    assert_true(s_wait_log(ha->log[0], "ha.standby", sb_a, T_ROLE_MS));
    st = s_status(ha, 0);
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

    s_audit_verify(ha, 1);
    s_audit_verify(ha, 0);
    rc_destroy(&ca);
    rc_destroy(&cb);
    free(env1);
    free(env2);
}

/* ---- a paused leader ----------------------------------------------------------- */

static void
test_paused_leader_is_fenced(void **state)
{
    s_ha *ha = *state = s_ha_new();
    s_start_pair(ha);
    rc_client *ca = s_client(ha, 0);
    rc_hello(ca, false);
    uint8_t id1[VG_ALERT_ID_LEN];
    size_t len1 = 0;
    uint8_t *env1 = s_seal(ha, &len1, id1);
    Vigil__BrokerFrame *f = s_publish(ca, env1, len1, T_CONFIRM_MS);
    assert_true(s_accepted(f));
    rc_frame_free(f);

    /* Paused past its lease, with a publish waiting in its socket. */
    size_t leads_b = s_count(ha->log[1], "ha.leader", NULL);
    assert_int_equal(kill(ha->pid[0], SIGSTOP), 0);
    int64_t t0 = bh_now_ms();
    uint8_t id2[VG_ALERT_ID_LEN];
    size_t len2 = 0;
    uint8_t *env2 = s_seal(ha, &len2, id2);
    uint64_t req2 = rc_publish(ca, env2, len2);
    if (!s_wait_log(ha->log[1], "ha.leader", leads_b, T_ROLE_MS)) {
        kill(ha->pid[0], SIGCONT);
        s_print_logs(ha);
        fail_msg("the standby did not take over from a paused leader");
    }
    print_message("ha: a leader paused at t=0 was replaced at t=%lld ms (lease " T_LEASE ")\n",
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
    size_t sb_a = s_count(ha->log[0], "ha.standby", NULL);
    assert_int_equal(kill(ha->pid[0], SIGCONT), 0);
    f = rc_recv_reply(ca, req2, T_CONFIRM_MS);
    assert_false(s_accepted(f)); /* no answer, not_leader, or "not recorded" */
    rc_frame_free(f);
    if (!s_wait_log(ha->log[0], "ha.standby", sb_a, T_ROLE_MS)) {
        s_print_logs(ha);
        fail_msg("the paused leader did not step down");
    }
    assert_true(
        s_count(ha->log[0], "ha.fenced", NULL) + s_count(ha->log[0], "ha.lease_lost", NULL) >= 1);
    assert_int_equal(s_count(ha->log[0], "ha.step_down", NULL), 1);
    assert_false(s_stored(ha, id2)); /* nobody stored it: it stays the sender's */
    char *st = s_status(ha, 0);
    assert_true(it_contains(st, "role=fenced") || it_contains(st, "role=standby"));
    free(st);
    /* Sent to the new leader it is stored once. */
    f = s_publish(cb, env2, len2, T_CONFIRM_MS);
    assert_true(s_accepted(f));
    rc_frame_free(f);
    assert_true(s_stored(ha, id2));
    assert_int_equal(s_epoch(ha, 1), 2);
    s_audit_verify(ha, 1);
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
    s_ha *ha = *state = s_ha_new();
    uint64_t seed = fu_seed("test_takeover_loop");
    fu_rng rng;
    fu_rng_init(&rng, seed);
    s_start_pair(ha);
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
        s_kill(ha, leader);
        int next = 1 - leader;
        rc_client *cn = s_client(ha, next);
        rc_hello(cn, false);
        int64_t took = -1;
        while (bh_now_ms() - t0 < T_ROLE_MS) {
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
            s_print_logs(ha);
            fail_msg("takeover %d: broker %c did not take over (seed %llu)", k + 1, 'A' + next,
                     (unsigned long long)seed);
        }
        memcpy(ids[confirmed++], id, VG_ALERT_ID_LEN);
        free(flight);
        worst_ms = took > worst_ms ? took : worst_ms;
        total_ms += took;
        rc_destroy(&c);
        rc_destroy(&cn);
        s_audit_verify(ha, next);
        /* The killed one comes back as a standby. */
        size_t sb = s_count(ha->log[leader], "ha.standby", NULL);
        s_start(ha, leader);
        if (!s_wait_log(ha->log[leader], "ha.standby", sb, T_ROLE_MS)) {
            s_print_logs(ha);
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_standby_refuses_and_takes_over, s_teardown),
        cmocka_unit_test_teardown(test_paused_leader_is_fenced, s_teardown),
        cmocka_unit_test_teardown(test_takeover_loop, s_teardown),
    };
    if (getenv("VG_TEST_FILTER") != NULL) { /* e.g. VG_TEST_FILTER='*paused*' */
        cmocka_set_test_filter(getenv("VG_TEST_FILTER"));
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
