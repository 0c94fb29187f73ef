/*
 * test_clock_skew.c — issue 7 item 7: clocks that disagree, under
 * libfaketime (Debian package `faketime`; the test fails, naming the
 * package, where it is missing).
 *
 * 1. Agents whose wall clock is 50 s ahead or behind a broker with
 *    max_clock_skew = 1m are accepted; 3 minutes ahead or behind, rejected
 *    with clock_skew (`faketime -f '±Ns' vigil-agent ... publish`).
 * 2. The broker's wall clock jumps a day forward mid-run (libfaketime
 *    preloaded into the broker with FAKETIME_TIMESTAMP_FILE,
 *    FAKETIME_NO_CACHE and FAKETIME_DONT_FAKE_MONOTONIC: an NTP-style step
 *    of CLOCK_REALTIME only). Its deadlines run on the monotonic clock, so
 *    only the deadline that really passed (a 3 s critical one) makes its
 *    alert OVERDUE; the five 1 h deadlines stay as they were (esc_level 0,
 *    no overdue time) and a receiving raw client gets no Deliver frame for
 *    them in the seconds after the jump. The jump is shown to have happened:
 *    an envelope created at the real time is now a day behind and rejected
 *    with clock_skew, one created a day ahead is accepted.
 */
#define _GNU_SOURCE

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "broker_harness.h"
#include "fault_util.h"
#include "itest.h"
#include "rawclient.h"
#include "vigil/util.h"

#define T_FAKETIME_BIN "/usr/bin/faketime"
#define T_FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
#define T_REPLY_MS 5000
#define T_AGENT_MS 20000 /* longest a vigil-agent publish may take */
#define T_DAY_MS (86400 * INT64_C(1000))
#define T_N_HIGH 5 /* alerts with a 1 h deadline */
#define T_CRITICAL_DEADLINE "3s"
#define T_OVERDUE_WAIT_MS 15000 /* the 3 s deadline fires within this */
#define T_QUIET_MS 3000         /* Deliver frames counted this long after the jump */

static int
s_teardown(void **state)
{
    bh_destroy((bh_broker **)state);
    return 0;
}

static void
s_need_faketime(void)
{
    if (access(T_FAKETIME_BIN, X_OK) != 0 || access(T_FAKETIME_LIB, R_OK) != 0) {
        fail_msg("libfaketime is missing (%s, %s): install the Debian package `faketime` "
                 "(add it to deploy/deps.sh)",
                 T_FAKETIME_BIN, T_FAKETIME_LIB);
    }
    /* libfaketime is preloaded before the ASan runtime in sanitizer builds. */
    char opts[512];
    const char *old = getenv("ASAN_OPTIONS");
    snprintf(opts, sizeof opts, "%s%sverify_asan_link_order=0", old ? old : "",
             old && old[0] ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
}

/* ---- 1. agents with skewed clocks ------------------------------------------------ */

/* Runs `faketime -f OFFSET vigil-agent -c CONF publish ...` and returns its
 * exit status; its output goes to out_path. */
static int
s_publish_skewed(const bh_broker *b, const char *agency, const char *offset, const char *out_path)
{
    char *conf = bh_agent_conf(b, agency);
    char *agent = it_path(b->bin_dir, "vigil-agent");
    char headline[64];
    snprintf(headline, sizeof headline, "clock %s", offset);
    char *argv[] = {
        T_FAKETIME_BIN, "-f",         (char *)offset, agent,        "-c",    conf,
        "publish",      "--severity", "medium",       "--category", "other", "--headline",
        headline,       "--to",       "home-office",  "--timeout",  "10s",   NULL};
    pid_t pid = fu_spawn(argv, out_path, NULL);
    int st = fu_wait(pid, T_AGENT_MS);
    if (st == -1) {
        fu_kill(pid);
        fail_msg("vigil-agent publish under faketime %s did not finish in %d ms", offset,
                 T_AGENT_MS);
    }
    free(agent);
    free(conf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void
test_agent_clock_within_window_accepted_outside_rejected(void **state)
{
    s_need_faketime();
    const char *set[] = {"max_clock_skew=1m", NULL};
    bh_broker *b = bh_new(set);
    *state = b;
    bh_start(b);
    static const struct {
        const char *agency;
        const char *offset;
        bool accepted;
    } cases[] = {
        {"police", "+50s", true},
        {"licensing", "-50s", true},
        {"childrens-services", "+3m", false},
        {"home-office", "-3m", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = it_path(b->tmp, "agent.out");
        unlink(out);
        int st = s_publish_skewed(b, cases[i].agency, cases[i].offset, out);
        uint8_t *text = NULL;
        size_t len = 0;
        vg_reason why = {{0}};
        if (vg_file_read(&text, &len, out, 1 << 20, &why) != VG_OK) {
            text = (uint8_t *)strdup("");
        }
        int64_t stored = bh_store_count(b, VGB_COUNT_ALERTS, cases[i].agency);
        int64_t skew_rej = bh_store_count_rejections(b, cases[i].agency, "clock_skew");
        printf("clock: agent %s at %s: exit %d, stored %lld, clock_skew rejections %lld\n",
               cases[i].agency, cases[i].offset, st, (long long)stored, (long long)skew_rej);
        if (cases[i].accepted && (st != 0 || stored != 1 || skew_rej != 0)) {
            fail_msg("%s at %s should be accepted; output:\n%s", cases[i].agency, cases[i].offset,
                     (char *)text);
        }
        if (!cases[i].accepted && (st == 0 || stored != 0 || skew_rej < 1 ||
                                   strstr((char *)text, "clock_skew") == NULL)) {
            fail_msg("%s at %s should be rejected with clock_skew; output:\n%s", cases[i].agency,
                     cases[i].offset, (char *)text);
        }
        free(text);
        free(out);
    }
    assert_true(bh_log_count(b, "env.reject", "code=clock_skew") >= 2);
    bh_stop(b);
    bh_pass(b);
}

/* ---- 2. the broker's wall clock jumps a day -------------------------------------------- */

static void
s_short_critical_deadline(const bh_broker *b)
{
    char *p = it_path(b->net, "network/network.json");
    json_error_t jerr;
    json_t *root = json_load_file(p, 0, &jerr);
    assert_non_null(root);
    json_t *d = json_object_get(root, "deadlines");
    assert_non_null(d);
    json_object_set_new(d, "critical", json_string(T_CRITICAL_DEADLINE));
    assert_int_equal(json_dump_file(root, p, JSON_INDENT(2)), 0);
    json_decref(root);
    free(p);
    it_run run;
    it_vigilctl(&run, "network", "sign", "--dir", b->net);
    it_assert_ok(&run);
    it_run_fini(&run);
}

static void
s_write_offset(const char *path, const char *offset)
{
    vg_reason why = {{0}};
    assert_int_equal(vg_file_write_atomic(path, offset, strlen(offset), 0644, &why), VG_OK);
}

/* Starts the broker with libfaketime preloaded, its offset read from
 * offset_path on every clock call; the monotonic clock is left real. */
static void
s_start_faked(bh_broker *b, const char *offset_path)
{
    setenv("LD_PRELOAD", T_FAKETIME_LIB, 1);
    setenv("FAKETIME_TIMESTAMP_FILE", offset_path, 1);
    setenv("FAKETIME_NO_CACHE", "1", 1);
    setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1);
    char *log = NULL;
    fu_start res = fu_try_start(b, &log);
    unsetenv("LD_PRELOAD");
    unsetenv("FAKETIME_TIMESTAMP_FILE");
    unsetenv("FAKETIME_NO_CACHE");
    unsetenv("FAKETIME_DONT_FAKE_MONOTONIC");
    if (res != FU_STARTED) {
        fail_msg("the broker under libfaketime did not start (%d):\n%s", (int)res, log);
    }
    free(log);
}

static const char *const s_required[] = {"licensing", "police", "childrens-services"};

typedef struct s_sent {
    uint8_t *env;                /* the envelope published */
    size_t len;                  /* its length */
    uint8_t id[VG_ALERT_ID_LEN]; /* its alert id */
} s_sent;

/* A taxi alert: licensing, police and childrens-services are required
 * recipients, so each has a deadline. */
static void
s_publish_to_licensing(rc_client *police_raw, const vga_identity *police, s_sent *s,
                       vg_severity sev, uint64_t seq)
{
    rc_seal_spec spec = {.recipients = s_required,
                         .n_recipients = 3,
                         .category = "taxi",
                         .severity = sev,
                         .sequence = seq};
    s->env = rc_seal(&s->len, s->id, police, &spec);
    Vigil__BrokerFrame *f =
        rc_expect_confirm(police_raw, rc_publish(police_raw, s->env, s->len), T_REPLY_MS);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    rc_frame_free(f);
}

/* Reads Deliver frames for ms; receipts each (DELIVERED); returns how many
 * were copies of sent[from..to). */
static size_t
s_drain(rc_client *lic_raw, const vga_identity *lic, const s_sent *sent, size_t from, size_t to,
        int64_t ms, size_t *n_all)
{
    size_t n = 0;
    int64_t end = bh_now_ms() + ms;
    for (int64_t left = ms; left > 0; left = end - bh_now_ms()) {
        Vigil__BrokerFrame *f = rc_recv(lic_raw, left);
        if (f == NULL) {
            break;
        }
        if (f->kind_case == VIGIL__BROKER_FRAME__KIND_DELIVER) {
            (*n_all)++;
            const ProtobufCBinaryData *e = &f->deliver->signed_envelope;
            for (size_t i = 0; i < to; i++) {
                if (e->len == sent[i].len && memcmp(e->data, sent[i].env, e->len) == 0) {
                    n += i >= from;
                    vg_envelope *ve = NULL;
                    vg_reason why = {{0}};
                    assert_int_equal(vg_envelope_verify(&ve, sent[i].env, sent[i].len,
                                                        vga_identity_doc(lic), &why),
                                     VG_OK);
                    (void)rc_receipt_delivered(lic_raw, "licensing", vga_identity_keys(lic),
                                               sent[i].id, vg_envelope_hash(ve));
                    vg_envelope_destroy(&ve);
                }
            }
        }
        rc_frame_free(f);
    }
    return n;
}

static void
s_count_overdue(void *ctx, const vgb_rrow *r)
{
    *(int64_t *)ctx += r->overdue_ms != 0 || r->esc_level > 0;
}

/* The alert's recipient rows that went overdue or were escalated. */
static int64_t
s_overdue(const bh_broker *b, const uint8_t *id)
{
    int64_t n = 0;
    bh_store_each_recipient(b, id, s_count_overdue, &n);
    return n;
}

static void
test_broker_wall_clock_jump_neither_expires_nor_redelivers(void **state)
{
    s_need_faketime();
    const char *set[] = {"max_clock_skew=1m", NULL};
    bh_broker *b = bh_new(set);
    *state = b;
    s_short_critical_deadline(b);
    char *offset_path = it_path(b->tmp, "faketime.offset");
    s_write_offset(offset_path, "+0");
    s_start_faked(b, offset_path);

    char *police_conf = bh_agent_conf(b, "home-office");
    char *lic_conf = bh_agent_conf(b, "licensing");
    vga_identity *police = bh_identity(b, "home-office"); /* the sender */
    vga_identity *lic = bh_identity(b, "licensing");
    rc_client *police_raw = rc_new_agency(police_conf);
    rc_client *lic_raw = rc_new_agency(lic_conf);
    rc_hello(lic_raw, true);

    /* One critical alert (3 s deadline) and five high ones (1 h). */
    s_sent sent[1 + T_N_HIGH + 1];
    memset(sent, 0, sizeof sent);
    s_publish_to_licensing(police_raw, police, &sent[0], VG_SEV_CRITICAL, 1);
    for (size_t i = 1; i <= T_N_HIGH; i++) {
        s_publish_to_licensing(police_raw, police, &sent[i], VG_SEV_HIGH, 1 + i);
    }
    size_t n_all = 0;
    (void)s_drain(lic_raw, lic, sent, 0, 1 + T_N_HIGH, 1500, &n_all);
    assert_true(n_all >= 1 + T_N_HIGH);
    /* The deadline that really passes: the critical alert goes OVERDUE. */
    int64_t end = bh_now_ms() + T_OVERDUE_WAIT_MS;
    while (s_overdue(b, sent[0].id) == 0 && bh_now_ms() < end) {
        (void)s_drain(lic_raw, lic, sent, 0, 1 + T_N_HIGH, 200, &n_all);
    }
    assert_int_equal(s_overdue(b, sent[0].id), 3);
    (void)s_drain(lic_raw, lic, sent, 0, 1 + T_N_HIGH, 1000, &n_all);

    /* A day forward, wall clock only. */
    s_write_offset(offset_path, "+1d");
    size_t before_all = n_all;
    size_t high = s_drain(lic_raw, lic, sent, 1, 1 + T_N_HIGH, T_QUIET_MS, &n_all);
    printf("clock: after a +1d wall-clock jump: %zu Deliver frames in %d ms (%zu of the 1 h "
           "alerts)\n",
           n_all - before_all, T_QUIET_MS, high);
    assert_int_equal(high, 0);
    assert_true(n_all - before_all <= 1); /* at most the critical alert's own redelivery */
    for (size_t i = 1; i <= T_N_HIGH; i++) {
        assert_int_equal(s_overdue(b, sent[i].id), 0);
    }
    assert_int_equal(bh_store_count(b, VGB_COUNT_OVERDUE, NULL), 3);

    /* The jump took: real-time envelopes are now a day behind the broker. */
    const char *to[] = {"licensing"};
    rc_seal_spec spec = {.recipients = to, .n_recipients = 1, .category = "other", .sequence = 20};
    /* (sent by home-office, whose sequence numbers 1..6 are used) */
    size_t len = 0;
    uint8_t id[VG_ALERT_ID_LEN];
    uint8_t *env = rc_seal(&len, id, police, &spec);
    Vigil__BrokerFrame *f =
        rc_expect_confirm(police_raw, rc_publish(police_raw, env, len), T_REPLY_MS);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED);
    assert_int_equal(f->confirm->code, VIGIL__REJECT_CODE__REJECT_CLOCK_SKEW);
    rc_frame_free(f);
    free(env);
    spec.sequence = 21;
    spec.created_ms = rc_wall_ms() + T_DAY_MS;
    env = rc_seal(&len, id, police, &spec);
    f = rc_expect_confirm(police_raw, rc_publish(police_raw, env, len), T_REPLY_MS);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    rc_frame_free(f);
    free(env);

    for (size_t i = 0; i <= T_N_HIGH; i++) {
        free(sent[i].env);
    }
    rc_destroy(&police_raw);
    rc_destroy(&lic_raw);
    vga_identity_destroy(&police);
    vga_identity_destroy(&lic);
    free(police_conf);
    free(lic_conf);
    free(offset_path);
    bh_stop(b);
    bh_pass(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_agent_clock_within_window_accepted_outside_rejected,
                                  s_teardown),
        cmocka_unit_test_teardown(test_broker_wall_clock_jump_neither_expires_nor_redelivers,
                                  s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
