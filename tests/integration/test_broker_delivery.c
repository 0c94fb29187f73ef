/*
 * test_broker_delivery.c — the real broker routes a published alert to every
 * recipient, confirms only what it committed, enforces mandatory recipients,
 * and redelivers until a DELIVERED receipt arrives.
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

#define T_REPLY_MS 5000 /* longest wait for a confirm or a delivery */
#define T_QUIET_MS 1200 /* how long "nothing more arrives" is watched */
#define T_REDELIVER "200ms"

static int
s_teardown(void **state)
{
    bh_destroy((bh_broker **)state);
    return 0;
}

/* Publishes through the agent library and asserts it was accepted. */
static void
s_publish_ok(vga_agent *a, const vg_alert *alert, uint8_t id_out[VG_ALERT_ID_LEN])
{
    vga_confirm res;
    vg_reason why = {{0}};
    vg_err rc = vga_publish(a, alert, T_REPLY_MS, &res, &why);
    if (rc != VG_OK) {
        fail_msg("publish: %s: %s", vg_err_code(rc), why.text);
    }
    assert_false(res.duplicate);
    memcpy(id_out, res.alert_id, VG_ALERT_ID_LEN);
    vga_confirm_fini(&res);
}

/* Receives the next alert and asserts it is id with this content. */
static void
s_expect_alert(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], const vg_alert *sent,
               const char *sender)
{
    vg_alert got;
    memset(&got, 0, sizeof got);
    vg_reason why = {{0}};
    vg_err rc = vga_receive(a, T_REPLY_MS, &got, &why);
    if (rc != VG_OK) {
        fail_msg("%s received nothing: %s: %s", vga_agent_agency(a), vg_err_code(rc), why.text);
    }
    assert_memory_equal(got.id, id, VG_ALERT_ID_LEN);
    assert_string_equal(got.sender, sender);
    assert_string_equal(got.headline, sent->headline);
    assert_string_equal(got.description, sent->description);
    assert_int_equal(got.severity, sent->severity);
    assert_int_equal(got.categories.n, sent->categories.n);
    assert_string_equal(got.categories.items[0], sent->categories.items[0]);
    vg_alert_fini(&got);
}

static void
s_expect_nothing(vga_agent *a, int64_t ms)
{
    vg_alert got;
    memset(&got, 0, sizeof got);
    vg_err rc = vga_receive(a, ms, &got, NULL);
    if (rc == VG_OK) {
        vg_alert_fini(&got);
        fail_msg("%s received an alert it should not have", vga_agent_agency(a));
    }
    assert_int_equal(rc, VG_ERR_TIMEOUT);
}

/* agency's state for the alert as stored, -1 when it has no row. */
static int64_t
s_recipient_state(const bh_broker *b, const uint8_t id[VG_ALERT_ID_LEN], const char *agency)
{
    vgb_rrow r;
    return bh_store_recipient(b, id, agency, &r) ? (int64_t)r.state : -1;
}

/* The sender's sequence number in the stored envelope of the alert, once
 * the store also holds it as used by the sender; 0 otherwise. */
static uint64_t
s_stored_sequence(const bh_broker *b, const uint8_t id[VG_ALERT_ID_LEN], const char *sender)
{
    size_t len = 0;
    uint8_t *bytes = bh_store_envelope(b, id, &len);
    assert_non_null(bytes);
    vga_identity *ident = bh_identity(b, sender);
    vg_envelope *env = NULL;
    vg_reason why = {{0}};
    vg_err rc = vg_envelope_verify(&env, bytes, len, vga_identity_doc(ident), &why);
    free(bytes);
    vga_identity_destroy(&ident);
    if (rc != VG_OK) {
        fail_msg("the stored envelope does not verify: %s: %s", vg_err_code(rc), why.text);
    }
    uint64_t seq = vg_envelope_sequence(env);
    bool same_sender = strcmp(vg_envelope_sender(env), sender) == 0;
    vg_envelope_destroy(&env);
    return same_sender && bh_store_sequence_used(b, sender, seq) ? seq : 0;
}

/* ---- publish → every recipient, confirm after commit ---------------------- */

static void
test_publish_reaches_every_recipient_after_commit(void **state)
{
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    const char *receivers[] = {"police", "licensing", "childrens-services"};
    vga_agent *rx[3];
    for (size_t i = 0; i < 3; i++) {
        rx[i] = bh_agent_open(b, receivers[i], true);
    }
    vga_agent *tx = bh_agent_open(b, "home-office", false);
    vg_alert alert;
    bh_alert_init(&alert, "Taxi drivers linked to child sexual exploitation",
                  "Three reports name drivers licensed by the council; see attached.", "taxi",
                  "police,licensing,childrens-services");
    uint8_t id[VG_ALERT_ID_LEN];
    s_publish_ok(tx, &alert, id);

    /* The confirm is back: another connection must already see the commit. */
    assert_true(bh_store_has_alert(b, id));
    assert_int_equal(bh_store_each_recipient(b, id, NULL, NULL), 3);
    assert_true(s_stored_sequence(b, id, "home-office") > 0);
    for (size_t i = 0; i < 3; i++) {
        s_expect_alert(rx[i], id, &alert, "home-office");
    }
    assert_int_equal(bh_store_count_alerts(b), 1);
    assert_int_equal(bh_log_count(b, "env.accept", "agency=home-office"), 1);
    bh_alert_fini(&alert);
    vga_agent_destroy(&tx);
    for (size_t i = 0; i < 3; i++) {
        vga_agent_destroy(&rx[i]);
    }
    bh_stop(b);
    bh_pass(b);
}

/* ---- mandatory recipients ----------------------------------------------- */

static void
test_taxi_alert_reaches_licensing_when_not_addressed(void **state)
{
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    vga_agent *licensing = bh_agent_open(b, "licensing", true);
    vga_agent *tx = bh_agent_open(b, "home-office", false);
    vg_alert alert;
    bh_alert_init(&alert, "Taxi firm under investigation", "Addressed to police only.", "taxi",
                  "police");
    uint8_t id[VG_ALERT_ID_LEN];
    s_publish_ok(tx, &alert, id);
    assert_int_equal(s_recipient_state(b, id, "licensing"), 1);
    vgb_rrow row;
    assert_true(bh_store_recipient(b, id, "licensing", &row));
    assert_true(row.required);
    s_expect_alert(licensing, id, &alert, "home-office");
    bh_alert_fini(&alert);
    vga_agent_destroy(&tx);
    vga_agent_destroy(&licensing);
    bh_stop(b);
    bh_pass(b);
}

static bool
s_has(const char *const *items, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(items[i], s) == 0) {
            return true;
        }
    }
    return false;
}

static void
test_envelope_without_licensing_is_rejected_naming_it(void **state)
{
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    vga_agent *licensing = bh_agent_open(b, "licensing", true);
    vga_identity *ho = bh_identity(b, "home-office");
    const char *to[] = {"police"};
    rc_seal_spec spec = {.recipients = to, .n_recipients = 1, .category = "taxi", .sequence = 1};
    size_t len = 0;
    uint8_t id[VG_ALERT_ID_LEN];
    uint8_t *env = rc_seal(&len, id, ho, &spec);

    /* On the wire: REJECTED, missing_recipients, licensing named. */
    char *conf = bh_agent_conf(b, "home-office");
    rc_client *raw = rc_new_agency(conf);
    Vigil__BrokerFrame *f = rc_expect_confirm(raw, rc_publish(raw, env, len), T_REPLY_MS);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED);
    assert_int_equal(f->confirm->code, VIGIL__REJECT_CODE__REJECT_MISSING_RECIPIENTS);
    assert_int_equal(f->confirm->alert_id.len, VG_ALERT_ID_LEN);
    assert_memory_equal(f->confirm->alert_id.data, id, VG_ALERT_ID_LEN);
    assert_true(
        s_has((const char *const *)f->confirm->missing, f->confirm->n_missing, "licensing"));
    assert_false(s_has((const char *const *)f->confirm->missing, f->confirm->n_missing, "police"));
    assert_non_null(strstr(f->confirm->reason, "licensing"));
    rc_frame_free(f);
    rc_destroy(&raw);

    /* Through the library: the same rejection, reported to the caller. */
    vga_agent *tx = bh_agent_open(b, "home-office", false);
    vga_confirm res;
    vg_reason why = {{0}};
    assert_int_equal(vga_publish_sealed(tx, env, len, T_REPLY_MS, &res, &why),
                     VG_ERR_MISSING_RECIPIENTS);
    assert_true(vg_strlist_contains(&res.missing, "licensing"));
    vga_confirm_fini(&res);

    assert_int_equal(bh_store_count_alerts(b), 0);
    assert_false(bh_store_has_alert(b, id));
    assert_true(bh_store_count_rejections(b, "home-office", "missing_recipients") >= 1);
    assert_true(bh_log_count(b, "env.reject", "code=missing_recipients") >= 1);
    s_expect_nothing(licensing, 500);
    free(env);
    free(conf);
    vga_identity_destroy(&ho);
    vga_agent_destroy(&tx);
    vga_agent_destroy(&licensing);
    bh_stop(b);
    bh_pass(b);
}

/* ---- receipts stop redelivery ---------------------------------------------- */

/* Reads the next Deliver (asserting one comes) and returns its envelope. */
static vg_envelope *
s_next_delivery(rc_client *c, const vga_identity *id, int64_t timeout_ms)
{
    for (;;) {
        Vigil__BrokerFrame *f = rc_recv(c, timeout_ms);
        if (f == NULL) {
            fail_msg("no delivery to %s within %lld ms", vga_identity_agency(id),
                     (long long)timeout_ms);
        }
        if (f->kind_case == VIGIL__BROKER_FRAME__KIND_DELIVER) {
            vg_envelope *env = NULL;
            vg_reason why = {{0}};
            vg_err rc =
                vg_envelope_verify(&env, f->deliver->signed_envelope.data,
                                   f->deliver->signed_envelope.len, vga_identity_doc(id), &why);
            rc_frame_free(f);
            if (rc != VG_OK) {
                fail_msg("delivered envelope does not verify: %s", why.text);
            }
            return env;
        }
        rc_frame_free(f);
    }
}

/* Counts Deliver frames of alert id arriving within ms. */
static size_t
s_count_deliveries(rc_client *c, const uint8_t id[VG_ALERT_ID_LEN], int64_t ms)
{
    size_t n = 0;
    int64_t end = bh_now_ms() + ms;
    for (int64_t left = ms; left > 0; left = end - bh_now_ms()) {
        Vigil__BrokerFrame *f = rc_recv(c, left);
        if (f == NULL) {
            break;
        }
        if (f->kind_case == VIGIL__BROKER_FRAME__KIND_DELIVER) {
            Vigil__SignedEnvelope *se = vigil__signed_envelope__unpack(
                NULL, f->deliver->signed_envelope.len, f->deliver->signed_envelope.data);
            assert_non_null(se);
            Vigil__EnvelopeBody *body =
                vigil__envelope_body__unpack(NULL, se->body.len, se->body.data);
            assert_non_null(body);
            n += body->alert_id.len == VG_ALERT_ID_LEN &&
                 memcmp(body->alert_id.data, id, VG_ALERT_ID_LEN) == 0;
            vigil__envelope_body__free_unpacked(body, NULL);
            vigil__signed_envelope__free_unpacked(se, NULL);
        }
        rc_frame_free(f);
    }
    return n;
}

static void
test_delivered_receipt_stops_redelivery(void **state)
{
    const char *conf_set[] = {"redeliver=" T_REDELIVER, NULL};
    bh_broker *b = bh_new(conf_set);
    *state = b;
    bh_start(b);
    char *lic_conf = bh_agent_conf(b, "licensing");
    char *cs_conf = bh_agent_conf(b, "childrens-services");
    vga_identity *lic = bh_identity(b, "licensing");
    vga_identity *cs = bh_identity(b, "childrens-services");
    rc_client *lic_raw = rc_new_agency(lic_conf); /* receipts what it gets */
    rc_client *cs_raw = rc_new_agency(cs_conf);   /* never receipts */
    rc_hello(lic_raw, true);
    rc_hello(cs_raw, true);
    vga_agent *police = bh_agent_open(b, "police", true); /* the library receipts */
    vga_agent *tx = bh_agent_open(b, "home-office", false);
    vg_alert alert;
    bh_alert_init(&alert, "Redelivery check", "Who receipts stops getting it.", "taxi", "");
    uint8_t id[VG_ALERT_ID_LEN];
    s_publish_ok(tx, &alert, id);

    vg_envelope *env = s_next_delivery(lic_raw, lic, T_REPLY_MS);
    assert_memory_equal(vg_envelope_id(env), id, VG_ALERT_ID_LEN);
    uint64_t req = rc_receipt_delivered(lic_raw, "licensing", vga_identity_keys(lic), id,
                                        vg_envelope_hash(env));
    Vigil__BrokerFrame *f = rc_expect_confirm(lic_raw, req, T_REPLY_MS);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    rc_frame_free(f);
    vg_envelope_destroy(&env);
    s_expect_alert(police, id, &alert, "home-office");

    /* From the receipt's confirm on, licensing gets nothing more. */
    assert_int_equal(s_count_deliveries(lic_raw, id, T_QUIET_MS), 0);
    assert_int_equal(s_recipient_state(b, id, "licensing"), 2);
    /* The library agent returned it once and receipted it. */
    s_expect_nothing(police, 200);
    assert_int_equal(s_recipient_state(b, id, "police"), 2);
    /* childrens-services never receipted: the first delivery, then again and
     * again after 200 ms, 400 ms, ... (all within T_QUIET_MS + T_REPLY_MS). */
    assert_true(s_count_deliveries(cs_raw, id, T_QUIET_MS) >= 2);
    assert_int_equal(s_recipient_state(b, id, "childrens-services"), 1);

    bh_alert_fini(&alert);
    vga_agent_destroy(&tx);
    vga_agent_destroy(&police);
    rc_destroy(&lic_raw);
    rc_destroy(&cs_raw);
    vga_identity_destroy(&lic);
    vga_identity_destroy(&cs);
    free(lic_conf);
    free(cs_conf);
    bh_stop(b);
    bh_pass(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_publish_reaches_every_recipient_after_commit, s_teardown),
        cmocka_unit_test_teardown(test_taxi_alert_reaches_licensing_when_not_addressed, s_teardown),
        cmocka_unit_test_teardown(test_envelope_without_licensing_is_rejected_naming_it,
                                  s_teardown),
        cmocka_unit_test_teardown(test_delivered_receipt_stops_redelivery, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
