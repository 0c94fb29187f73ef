/*
 * test_broker_durability.c — nothing confirmed is lost and nothing is made
 * twice: an offline recipient gets its alerts in order when it connects; a
 * broker killed with SIGKILL still delivers every alert it confirmed; an
 * agent that crashed before its confirm resends from its outbox and the
 * broker keeps one alert (ACCEPTED or DUPLICATE, never two).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker_harness.h"
#include "rawclient.h"
#include "vigil/agent.h"
#include "vigil/envelope.h"

#define T_REPLY_MS 5000      /* longest wait for a confirm or a delivery */
#define T_UNREACHABLE_MS 300 /* publish timeout while the broker is down */
#define T_N_OFFLINE 5        /* alerts published while licensing is away */
#define T_N_BURST 200        /* pipelined publishes raced against SIGKILL */
#define T_BURST_CONFIRMS 10  /* confirms to see before the kill */

static int
s_teardown(void **state)
{
    bh_destroy((bh_broker **)state);
    return 0;
}

static void
s_publish_ok(vga_agent *a, const vg_alert *alert, uint8_t id_out[VG_ALERT_ID_LEN])
{
    vga_confirm res;
    vg_reason why = {{0}};
    vg_err rc = vga_publish(a, alert, T_REPLY_MS, &res, &why);
    if (rc != VG_OK) {
        fail_msg("publish: %s: %s", vg_err_code(rc), why.text);
    }
    memcpy(id_out, res.alert_id, VG_ALERT_ID_LEN);
    vga_confirm_fini(&res);
}

/* Receives the next alert (asserting one comes); *out owns it. */
static void
s_receive(vga_agent *a, vg_alert *out)
{
    memset(out, 0, sizeof *out);
    vg_reason why = {{0}};
    vg_err rc = vga_receive(a, T_REPLY_MS, out, &why);
    if (rc != VG_OK) {
        fail_msg("%s received nothing: %s: %s", vga_agent_agency(a), vg_err_code(rc), why.text);
    }
}

static void
s_expect_nothing(vga_agent *a, int64_t ms)
{
    vg_alert got;
    memset(&got, 0, sizeof got);
    vg_err rc = vga_receive(a, ms, &got, NULL);
    if (rc == VG_OK) {
        char hex[VG_ALERT_ID_HEX_LEN + 1];
        vg_alert_id_hex(hex, got.id);
        vg_alert_fini(&got);
        fail_msg("%s received alert %s once too often", vga_agent_agency(a), hex);
    }
    assert_int_equal(rc, VG_ERR_TIMEOUT);
}

static size_t
s_outbox(vga_agent *a)
{
    size_t n = 0;
    assert_int_equal(vga_outbox_count(a, &n), VG_OK);
    return n;
}

/* ---- offline recipient ------------------------------------------------------ */

static void
test_offline_recipient_gets_alerts_in_publish_order(void **state)
{
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    vga_agent *tx = bh_agent_open(b, "home-office", false);
    uint8_t ids[T_N_OFFLINE][VG_ALERT_ID_LEN];
    char headlines[T_N_OFFLINE][32];
    for (size_t i = 0; i < T_N_OFFLINE; i++) {
        vg_alert alert;
        snprintf(headlines[i], sizeof headlines[i], "offline alert %zu", i + 1);
        bh_alert_init(&alert, headlines[i], "published while licensing was away", "taxi", "");
        s_publish_ok(tx, &alert, ids[i]);
        bh_alert_fini(&alert);
    }
    assert_int_equal(bh_store_count(b, VGB_COUNT_PENDING, "licensing"), T_N_OFFLINE);
    vga_agent *licensing = bh_agent_open(b, "licensing", true);
    for (size_t i = 0; i < T_N_OFFLINE; i++) {
        vg_alert got;
        s_receive(licensing, &got);
        char want[VG_ALERT_ID_HEX_LEN + 1], have[VG_ALERT_ID_HEX_LEN + 1];
        vg_alert_id_hex(want, ids[i]);
        vg_alert_id_hex(have, got.id);
        if (strcmp(want, have) != 0) {
            vg_alert_fini(&got);
            fail_msg("delivery %zu is %s, expected %s (publish order)", i + 1, have, want);
        }
        assert_string_equal(got.headline, headlines[i]);
        vg_alert_fini(&got);
    }
    s_expect_nothing(licensing, 300);
    vga_agent_destroy(&licensing);
    vga_agent_destroy(&tx);
    bh_stop(b);
    bh_pass(b);
}

/* ---- SIGKILL of the broker ------------------------------------------------ */

typedef struct s_burst {
    uint8_t ids[T_N_BURST][VG_ALERT_ID_LEN]; /* what was sent, in order */
    bool confirmed[T_N_BURST];               /* ACCEPTED came back before the kill */
    size_t n_confirmed;                      /* count of those */
} s_burst;

/* Records a confirm for one of the burst's alerts. */
static void
s_burst_note(s_burst *bu, const Vigil__BrokerFrame *f)
{
    if (f->kind_case != VIGIL__BROKER_FRAME__KIND_CONFIRM) {
        return;
    }
    const Vigil__Confirm *c = f->confirm;
    assert_int_equal(c->status, VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    for (size_t i = 0; i < T_N_BURST; i++) {
        if (c->alert_id.len == VG_ALERT_ID_LEN &&
            memcmp(c->alert_id.data, bu->ids[i], VG_ALERT_ID_LEN) == 0 && !bu->confirmed[i]) {
            bu->confirmed[i] = true;
            bu->n_confirmed++;
        }
    }
}

/* Pipelines T_N_BURST publishes from police and SIGKILLs the broker once
 * T_BURST_CONFIRMS confirms are back, while the rest may be in flight. */
static void
s_burst_then_kill(bh_broker *b, s_burst *bu)
{
    vga_identity *police = bh_identity(b, "police");
    char *conf = bh_agent_conf(b, "police");
    rc_client *raw = rc_new_agency(conf);
    const char *to[] = {"licensing"};
    uint8_t *envs[T_N_BURST];
    size_t lens[T_N_BURST];
    for (size_t i = 0; i < T_N_BURST; i++) {
        rc_seal_spec spec = {.recipients = to,
                             .n_recipients = 1,
                             .category = "other",
                             .sequence = i + 1,
                             .headline = "burst"};
        envs[i] = rc_seal(&lens[i], bu->ids[i], police, &spec);
    }
    for (size_t i = 0; i < T_N_BURST; i++) {
        (void)rc_publish(raw, envs[i], lens[i]);
    }
    int64_t end = bh_now_ms() + T_REPLY_MS;
    while (bu->n_confirmed < T_BURST_CONFIRMS && bh_now_ms() < end) {
        Vigil__BrokerFrame *f = rc_recv(raw, end - bh_now_ms());
        if (f != NULL) {
            s_burst_note(bu, f);
        }
        rc_frame_free(f);
    }
    bh_kill(b);
    /* Confirms that reached us before the kill count as confirmed too. */
    for (Vigil__BrokerFrame *f; (f = rc_recv(raw, 100)) != NULL; rc_frame_free(f)) {
        s_burst_note(bu, f);
    }
    assert_true(bu->n_confirmed >= T_BURST_CONFIRMS);
    for (size_t i = 0; i < T_N_BURST; i++) {
        free(envs[i]);
    }
    rc_destroy(&raw);
    free(conf);
    vga_identity_destroy(&police);
}

static void
test_confirmed_alerts_survive_sigkill(void **state)
{
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    s_burst *bu = calloc(1, sizeof *bu);
    assert_non_null(bu);
    s_burst_then_kill(b, bu);

    /* While the broker is down, a publish is never reported as sent. */
    vga_agent *tx = bh_agent_open(b, "home-office", false);
    vg_alert alert;
    bh_alert_init(&alert, "sent while the broker was down", "kept in the outbox", "taxi", "");
    vga_confirm res;
    vg_reason why = {{0}};
    assert_int_equal(vga_publish(tx, &alert, T_UNREACHABLE_MS, &res, &why), VG_ERR_TIMEOUT);
    uint8_t pending_id[VG_ALERT_ID_LEN];
    memcpy(pending_id, res.alert_id, VG_ALERT_ID_LEN);
    vga_confirm_fini(&res);
    assert_int_equal(s_outbox(tx), 1);
    vga_agent_destroy(&tx);

    bh_start(b);
    assert_false(bh_store_has_alert(b, pending_id));
    int64_t stored = bh_store_count_alerts(b);
    assert_true(stored >= (int64_t)bu->n_confirmed);
    for (size_t i = 0; i < T_N_BURST; i++) {
        if (bu->confirmed[i] && !bh_store_has_alert(b, bu->ids[i])) {
            fail_msg("burst alert %zu was confirmed but is not in the store after SIGKILL", i + 1);
        }
    }
    /* Every stored alert (each confirmed one among them) reaches licensing,
     * in police's sequence order. */
    vga_agent *licensing = bh_agent_open(b, "licensing", true);
    bool got[T_N_BURST] = {false};
    uint64_t last_seq = 0;
    for (int64_t n = 0; n < stored; n++) {
        vg_alert a;
        s_receive(licensing, &a);
        assert_string_equal(a.sender, "police");
        assert_true(a.sequence > last_seq);
        last_seq = a.sequence;
        assert_true(a.sequence >= 1 && a.sequence <= T_N_BURST);
        assert_memory_equal(a.id, bu->ids[a.sequence - 1], VG_ALERT_ID_LEN);
        got[a.sequence - 1] = true;
        vg_alert_fini(&a);
    }
    for (size_t i = 0; i < T_N_BURST; i++) {
        if (bu->confirmed[i] && !got[i]) {
            fail_msg("confirmed burst alert %zu was not delivered after the restart", i + 1);
        }
    }
    /* The alert left in the outbox goes out with the next agent process. */
    tx = bh_agent_open(b, "home-office", false);
    size_t left = 99;
    assert_int_equal(vga_flush_outbox(tx, T_REPLY_MS, &left, &why), VG_OK);
    assert_int_equal(left, 0);
    assert_true(bh_store_has_alert(b, pending_id));
    vg_alert a;
    s_receive(licensing, &a);
    assert_memory_equal(a.id, pending_id, VG_ALERT_ID_LEN);
    vg_alert_fini(&a);
    s_expect_nothing(licensing, 300);

    bh_alert_fini(&alert);
    vga_agent_destroy(&tx);
    vga_agent_destroy(&licensing);
    free(bu);
    bh_stop(b);
    bh_pass(b);
}

/* ---- agent crash before the confirm ---------------------------------------- */

static void
test_outbox_resend_after_agent_crash_makes_one_alert(void **state)
{
    bh_broker *b = bh_new(NULL); /* not started yet: the broker is down */
    *state = b;
    vga_agent *tx = bh_agent_open(b, "home-office", false);
    vg_alert alert;
    bh_alert_init(&alert, "published before a crash", "the outbox keeps it", "taxi", "");
    vga_confirm res;
    vg_reason why = {{0}};
    assert_int_equal(vga_publish(tx, &alert, T_UNREACHABLE_MS, &res, &why), VG_ERR_TIMEOUT);
    uint8_t id[VG_ALERT_ID_LEN];
    memcpy(id, res.alert_id, VG_ALERT_ID_LEN);
    vga_confirm_fini(&res);
    assert_int_equal(s_outbox(tx), 1);
    vga_agent_destroy(&tx); /* the agent process is gone */

    bh_start(b);
    vga_agent *licensing = bh_agent_open(b, "licensing", true);
    tx = bh_agent_open(b, "home-office", false); /* resends its outbox on open */
    size_t left = 99;
    assert_int_equal(vga_flush_outbox(tx, T_REPLY_MS, &left, &why), VG_OK);
    assert_int_equal(left, 0);
    assert_int_equal(bh_store_count_alerts(b), 1);
    assert_true(bh_store_has_alert(b, id));
    assert_int_equal(bh_log_count(b, "env.accept", NULL), 1);
    vg_alert got;
    s_receive(licensing, &got);
    assert_memory_equal(got.id, id, VG_ALERT_ID_LEN);
    assert_string_equal(got.headline, "published before a crash");
    vg_alert_fini(&got);
    s_expect_nothing(licensing, 500);

    bh_alert_fini(&alert);
    vga_agent_destroy(&tx);
    vga_agent_destroy(&licensing);
    bh_stop(b);
    bh_pass(b);
}

static void
s_edit_severity(Vigil__EnvelopeBody *body, void *ctx)
{
    (void)ctx;
    body->severity = VIGIL__SEVERITY__SEVERITY_LOW;
}

static void
test_resend_after_lost_confirm_is_duplicate(void **state)
{
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    vga_identity *ho = bh_identity(b, "home-office");
    char *conf = bh_agent_conf(b, "home-office");
    const char *to[] = {"licensing"};
    rc_seal_spec spec = {.recipients = to, .n_recipients = 1, .category = "other", .sequence = 7};
    size_t len = 0;
    uint8_t id[VG_ALERT_ID_LEN];
    uint8_t *env = rc_seal(&len, id, ho, &spec);

    /* The broker accepts; the "agent" dies before it reads the confirm. */
    rc_client *raw = rc_new_agency(conf);
    Vigil__BrokerFrame *f = rc_expect_confirm(raw, rc_publish(raw, env, len), T_REPLY_MS);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    rc_frame_free(f);
    rc_destroy(&raw);

    /* Its next life resends the same bytes: DUPLICATE, still one alert. */
    raw = rc_new_agency(conf);
    f = rc_expect_confirm(raw, rc_publish(raw, env, len), T_REPLY_MS);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE);
    assert_memory_equal(f->confirm->alert_id.data, id, VG_ALERT_ID_LEN);
    rc_frame_free(f);
    /* The library reports such a resend as a duplicate success. */
    vga_agent *tx = bh_agent_open(b, "home-office", false);
    vga_confirm res;
    vg_reason why = {{0}};
    assert_int_equal(vga_publish_sealed(tx, env, len, T_REPLY_MS, &res, &why), VG_OK);
    assert_true(res.duplicate);
    vga_confirm_fini(&res);
    assert_int_equal(s_outbox(tx), 0);
    /* Same id with other bytes is a conflict, not a second alert. */
    size_t other_len = 0;
    uint8_t *other = rc_envelope_resign(&other_len, env, len, s_edit_severity, NULL,
                                        vga_identity_keys(ho), NULL);
    f = rc_expect_confirm(raw, rc_publish(raw, other, other_len), T_REPLY_MS);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED);
    assert_int_equal(f->confirm->code, VIGIL__REJECT_CODE__REJECT_CONFLICT);
    rc_frame_free(f);
    assert_int_equal(bh_store_count_alerts(b), 1);
    assert_int_equal(bh_log_count(b, "env.accept", NULL), 1);

    vga_agent *licensing = bh_agent_open(b, "licensing", true);
    vg_alert got;
    s_receive(licensing, &got);
    assert_memory_equal(got.id, id, VG_ALERT_ID_LEN);
    vg_alert_fini(&got);
    s_expect_nothing(licensing, 500);

    free(other);
    free(env);
    free(conf);
    rc_destroy(&raw);
    vga_agent_destroy(&tx);
    vga_agent_destroy(&licensing);
    vga_identity_destroy(&ho);
    bh_stop(b);
    bh_pass(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_offline_recipient_gets_alerts_in_publish_order, s_teardown),
        cmocka_unit_test_teardown(test_confirmed_alerts_survive_sigkill, s_teardown),
        cmocka_unit_test_teardown(test_outbox_resend_after_agent_crash_makes_one_alert, s_teardown),
        cmocka_unit_test_teardown(test_resend_after_lost_confirm_is_duplicate, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
