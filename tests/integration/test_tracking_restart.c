/*
 * test_tracking_restart.c — deadlines survive the real broker binary, end to
 * end: an alert that became overdue while the broker was down is escalated
 * right after the restart, and a SIGKILL and restart before the next step
 * takes none again.
 *
 * The network is made with --deadline high=2s,low=500ms (see
 * test_tracking.c: the low deadline only shortens the escalation steps to
 * +0 redeliver, +1 s contact, +4 s oversight). The steps are counted in the
 * store's event stream of the sender, one row per step taken.
 *
 * The rest is tested on a fake clock, exactly and without sleeping
 * (tests/unit/broker/test_deadlines.c): the last step on time after the
 * restarts and nothing again after a clean restart, a restart before the
 * deadline (and after a reboot), wall-clock steps while the broker runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unistd.h>

#include "broker_harness.h"
#include "itest.h"
#include "rawclient.h"
#include "vigil/agent.h"
#include "vigil/netdoc.h"
#include "vigil/util.h"

#define T_AGENCIES "police,licensing,childrens-services,home-office"
#define T_DEADLINES "high=2s,low=500ms"
#define T_REPLY_MS 5000 /* longest wait for a confirm, a delivery or an answer */
#define T_STEP_MS 3000  /* longest a due step may take to be recorded */
#define T_QUIET_MS 700  /* how long "nothing more is recorded" is watched */
#define T_EV_OVERDUE 8  /* events.kind (the wire's EventKind) */
#define T_EV_ESCALATED 9

/* The network of these tests: deadlines of seconds. */
static const char *const s_init_opts[] = {"--agencies", T_AGENCIES, "--deadline", T_DEADLINES,
                                          NULL};

static int
s_teardown(void **state)
{
    bh_destroy((bh_broker **)state);
    return 0;
}

static vga_agent *
s_open(const bh_broker *b, const char *agency, bool receive, bool events)
{
    char *conf = bh_agent_conf(b, agency);
    vga_options opts = {.receive = receive, .events = events, .software = "vigil-itest"};
    vga_agent *a = NULL;
    vg_reason why = {{0}};
    vg_err rc = vga_agent_open(&a, conf, &opts, &why);
    free(conf);
    if (rc != VG_OK) {
        fail_msg("vga_agent_open %s: %s: %s", agency, vg_err_code(rc), why.text);
    }
    return a;
}

/* home-office publishes a high taxi alert; all three receive it; police and
 * childrens-services acknowledge; licensing does not. */
static void
s_publish_and_half_ack(const bh_broker *b, uint8_t id[VG_ALERT_ID_LEN])
{
    vga_agent *tx = s_open(b, "home-office", false, false);
    vg_alert alert;
    bh_alert_init(&alert, "Taxi drivers linked to child sexual exploitation", "see report", "taxi",
                  "");
    vga_confirm res;
    vg_reason why = {{0}};
    vg_err rc = vga_publish(tx, &alert, T_REPLY_MS, &res, &why);
    if (rc != VG_OK) {
        fail_msg("publish: %s: %s", vg_err_code(rc), why.text);
    }
    memcpy(id, res.alert_id, VG_ALERT_ID_LEN);
    vga_confirm_fini(&res);
    bh_alert_fini(&alert);
    vga_agent_destroy(&tx);
    const char *rx[] = {"police", "childrens-services", "licensing"};
    for (size_t i = 0; i < 3; i++) {
        vga_agent *a = s_open(b, rx[i], true, false);
        vg_alert got;
        memset(&got, 0, sizeof got);
        assert_int_equal(vga_receive(a, T_REPLY_MS, &got, &why), VG_OK);
        assert_memory_equal(got.id, id, VG_ALERT_ID_LEN);
        vg_alert_fini(&got);
        if (i < 2) {
            rc = vga_ack(a, id, "Duty officer", NULL, T_REPLY_MS, &res, &why);
            if (rc != VG_OK) {
                fail_msg("ack by %s: %s: %s", rx[i], vg_err_code(rc), why.text);
            }
            vga_confirm_fini(&res);
        }
        vga_agent_destroy(&a);
    }
}

/* licensing's recipient row of the alert (it must have one). */
static vgb_rrow
s_licensing(const bh_broker *b, const uint8_t id[VG_ALERT_ID_LEN])
{
    vgb_rrow r;
    assert_true(bh_store_recipient(b, id, "licensing", &r));
    return r;
}

/* The OVERDUE and ESCALATED events about licensing and one alert in the
 * sender's stream, counted per escalation level. */
typedef struct s_step_count {
    uint64_t seq;      /* the alert */
    int64_t all;       /* every step */
    int64_t level[64]; /* per level (higher levels are counted in the last) */
} s_step_count;

static void
s_step_event(void *ctx, const vgb_event_row *ev)
{
    s_step_count *c = ctx;
    if (ev->alert_seq == c->seq && strcmp(ev->about, "licensing") == 0 &&
        (ev->kind == VIGIL__EVENT_KIND__EVENT_OVERDUE ||
         ev->kind == VIGIL__EVENT_KIND__EVENT_ESCALATED)) {
        c->all++;
        c->level[ev->level < 63 ? ev->level : 63]++;
    }
}

/* Steps recorded about licensing in the sender's stream: all of them, and
 * the most times any one level was recorded. */
static int64_t
s_steps(const bh_broker *b, const uint8_t id[VG_ALERT_ID_LEN], bool most_per_level)
{
    vgb_alert_meta m;
    assert_true(bh_store_alert(b, id, &m));
    s_step_count c = {.seq = m.seq};
    bh_store_each_event(b, "home-office", s_step_event, &c);
    int64_t most = 0;
    for (size_t i = 0; i < sizeof c.level / sizeof c.level[0]; i++) {
        most = c.level[i] > most ? c.level[i] : most;
    }
    return most_per_level ? most : c.all;
}

/* Waits (at most ms) until licensing's escalation level is at least level. */
static void
s_wait_level(const bh_broker *b, const uint8_t id[VG_ALERT_ID_LEN], int64_t level, int64_t ms)
{
    int64_t deadline = bh_now_ms() + ms;
    while ((int64_t)s_licensing(b, id).esc_level < level) {
        if (bh_now_ms() >= deadline) {
            fail_msg("escalation level %lld not reached within %lld ms (at %lld)", (long long)level,
                     (long long)ms, (long long)s_licensing(b, id).esc_level);
        }
        bh_sleep_ms(20);
    }
}

/* Sleeps until the wall clock reaches wall_ms. */
static void
s_sleep_until_wall(int64_t wall_ms)
{
    int64_t left = wall_ms - rc_wall_ms();
    if (left > 0) {
        bh_sleep_ms(left);
    }
}

static void
test_overdue_while_down_escalates_at_start_and_never_twice(void **state)
{
    bh_broker *b = bh_new_init(s_init_opts, NULL);
    *state = b;
    bh_start(b);
    uint8_t id[VG_ALERT_ID_LEN];
    s_publish_and_half_ack(b, id);
    int64_t deadline = s_licensing(b, id).deadline_ms;
    assert_true(deadline > 0);
    bh_stop(b);
    assert_int_equal(s_licensing(b, id).esc_level, 0);

    vga_identity *ident = bh_identity(b, "home-office");
    const vg_netdoc *doc = vga_identity_doc(ident);
    size_t n_steps = vg_netdoc_n_escalation(doc);
    assert_true(n_steps >= 3);
    vg_escalation_step contact, last;
    vg_netdoc_escalation_at(doc, 1, &contact);
    vg_netdoc_escalation_at(doc, n_steps - 1, &last);
    int64_t last_due = deadline + (int64_t)last.after_ms;
    vga_identity_destroy(&ident);

    /* Down across the deadline and the contact step. */
    s_sleep_until_wall(deadline + (int64_t)contact.after_ms + 200);
    int64_t restarted = rc_wall_ms();
    bh_start(b);
    s_wait_level(b, id, 3, T_STEP_MS); /* overdue, redeliver, contact */
    assert_true(s_licensing(b, id).overdue_ms >= restarted);
    assert_true(bh_log_count(b, "alert.overdue", "agency=licensing") == 1);

    /* The sender sees the steps taken at start in its stream. */
    vga_agent *ho = s_open(b, "home-office", false, true);
    vga_event *ev = NULL;
    size_t n_ev = 0;
    vg_reason why = {{0}};
    assert_int_equal(vga_events_since(ho, 0, T_REPLY_MS, &ev, &n_ev, &why), VG_OK);
    size_t n_overdue = 0, n_escalated = 0;
    for (size_t i = 0; i < n_ev; i++) {
        bool ours = ev[i].has_alert && memcmp(ev[i].alert_id, id, VG_ALERT_ID_LEN) == 0 &&
                    strcmp(ev[i].agency, "licensing") == 0;
        n_overdue += ours && ev[i].kind == VGA_EV_OVERDUE;
        n_escalated += ours && ev[i].kind == VGA_EV_ESCALATED;
        if (ours && ev[i].kind == VGA_EV_ESCALATED && ev[i].level == 2) {
            assert_string_equal(ev[i].detail, "redeliver");
        }
    }
    free(ev);
    vga_agent_destroy(&ho);
    assert_int_equal(n_overdue, 1);
    assert_true(n_escalated >= 2);

    /* A crash and a restart before the last step is due: nothing again. */
    int64_t steps = s_steps(b, id, false);
    int64_t level = s_licensing(b, id).esc_level;
    bh_kill(b);
    bh_start(b);
    bh_sleep_ms(T_QUIET_MS);
    if (rc_wall_ms() < last_due - 100) { /* otherwise the last step may rightly be there */
        assert_int_equal(s_steps(b, id, false), steps);
        assert_int_equal(s_licensing(b, id).esc_level, level);
    }
    assert_int_equal(s_steps(b, id, true), 1);
    assert_int_equal(bh_log_count(b, "alert.overdue", "agency=licensing"), 1);
    bh_stop(b);
    bh_pass(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_overdue_while_down_escalates_at_start_and_never_twice,
                                  s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
