/*
 * test_gateway_webhooks.c — webhooks as an agency's system receives them:
 * every alert delivered to licensing (vigil JSON, or CAP 1.2 that validates)
 * and every event, signed with HMAC-SHA256 over the timestamp and body that
 * the receiver verifies; a receiver that is down for a while, with the
 * gateway killed -9 meanwhile, then gets every alert exactly once; a
 * webhook failing for long raises the alarm on /v1/health, /metrics, the
 * log and the live event stream, and clears it when deliveries succeed.
 */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "gw_harness.h"

typedef struct fixture {
    bh_broker *b;       /* broker and network */
    gh_gateway *police; /* publishes */
    gh_gateway *lic;    /* receives, with webhooks */
} fixture;

static int
s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->b = bh_new(NULL);
    bh_start(f->b);
    f->police = gh_new(f->b, "police", NULL);
    f->lic = gh_new(f->b, "licensing",
                    (const char *const[]){"webhook_backoff_max=400ms", "webhook_alarm=1500ms",
                                          "webhook_timeout=2s", NULL});
    gh_start(f->police);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture *f = *state;
    bh_destroy(&f->b);
    free(f);
    return 0;
}

/* `webhook add NAME URL [flags]`; sets the receiver's secret. */
static void
s_add_webhook(fixture *f, gh_hook *h, const char *name, const char *flag1, const char *flag2)
{
    char url[64], *out = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", gh_hook_port(h));
    const char *args[] = {"webhook", "add", name, url, flag1, flag2, NULL};
    assert_int_equal(gh_cli(f->lic, &out, args), 0);
    out[strcspn(out, "\n")] = '\0';
    assert_int_equal(strlen(out), 64);
    gh_hook_secret(h, out);
    free(out);
}

static void
s_publish(fixture *f, const char *headline, char idhex[33])
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"severity\":\"medium\",\"categories\":[\"other\"],\"to\":[\"licensing\"],"
             "\"headline\":\"%s\"}",
             headline);
    gh_resp r;
    gh_http(&r, f->police, "POST", "/v1/alerts", f->police->token, "application/json", body,
            strlen(body), NULL);
    assert_int_equal(r.status, 201);
    json_t *doc = gh_json(&r);
    snprintf(idhex, 33, "%s", json_string_value(json_object_get(doc, "id")));
    json_decref(doc);
    gh_resp_fini(&r);
}

static void
test_signed_deliveries_of_alerts_and_events(void **state)
{
    fixture *f = *state;
    gh_hook *json_hook = gh_hook_start(f->b, 0);
    gh_hook *cap_hook = gh_hook_start(f->b, 0);
    s_add_webhook(f, json_hook, "erp", "--events", NULL);
    s_add_webhook(f, cap_hook, "cad", "--cap", NULL);
    gh_start(f->lic);
    char ids[2][33];
    s_publish(f, "first for the webhooks", ids[0]);
    s_publish(f, "second for the webhooks", ids[1]);
    assert_true(gh_hook_wait(json_hook, "alert", 2, 15000));
    assert_true(gh_hook_wait(cap_hook, "alert", 2, 15000));
    assert_true(gh_hook_wait(json_hook, "delivered", 2, 15000)); /* licensing's events */
    for (size_t i = 0; i < 2; i++) {
        gh_hook_req r;
        gh_hook_get(json_hook, "alert", i, &r);
        assert_true(r.signature_ok);
        assert_string_equal(r.ctype, "application/json");
        assert_string_equal(r.alert_id, ids[i]); /* in delivery order */
        json_error_t err;
        json_t *doc = json_loadb(r.body, r.len, 0, &err);
        assert_non_null(doc);
        assert_string_equal(json_string_value(json_object_get(doc, "id")), ids[i]);
        assert_string_equal(json_string_value(json_object_get(doc, "sender")), "police");
        json_decref(doc);
        /* the signature covers the body: one byte changed, it no longer verifies */
        uint8_t mac[crypto_auth_hmacsha256_BYTES];
        r.body[0] ^= 1;
        char hex[65];
        crypto_auth_hmacsha256_state st;
        uint8_t key[32] = {0};
        crypto_auth_hmacsha256_init(&st, key, sizeof key);
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)r.body, r.len);
        crypto_auth_hmacsha256_final(&st, mac);
        sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
        assert_null(strstr(r.signature, hex));
        gh_hook_req_fini(&r);
        gh_hook_get(cap_hook, "alert", i, &r);
        assert_true(r.signature_ok);
        assert_string_equal(r.ctype, "application/cap+xml");
        char *lint = NULL;
        if (!gh_xsd_valid(r.body, r.len, &lint)) {
            fail_msg("webhook CAP does not validate: %s\n%s", lint, r.body);
        }
        free(lint);
        assert_non_null(strstr(r.body, ids[i]));
        gh_hook_req_fini(&r);
    }
    gh_hook_req ev;
    gh_hook_get(json_hook, "delivered", 0, &ev);
    assert_true(ev.signature_ok);
    assert_non_null(strstr(ev.body, "\"kind\":\"delivered\""));
    gh_hook_req_fini(&ev);
    assert_int_equal(gh_hook_count(cap_hook, "delivered"), 0); /* no --events */
    gh_stop(f->lic);    /* a clean stop: ASan/LSan would fail it */
    gh_stop(f->police); /* a clean stop: ASan/LSan would fail it */
    bh_pass(f->b);
}

static void
test_receiver_down_then_back_gets_each_alert_once(void **state)
{
    fixture *f = *state;
    gh_hook *h = gh_hook_start(f->b, 0);
    s_add_webhook(f, h, "erp", NULL, NULL);
    gh_hook_stop(h); /* down: connections are refused */
    gh_start(f->lic);
    char ids[5][33];
    for (int i = 0; i < 3; i++) {
        char headline[64];
        snprintf(headline, sizeof headline, "while the receiver is down %d", i);
        s_publish(f, headline, ids[i]);
    }
    int64_t deadline = bh_now_ms() + 10000;
    while (gh_log_count(f->lic, "webhook.failed", NULL) < 2 && bh_now_ms() < deadline) {
        bh_sleep_ms(50);
    }
    assert_true(gh_log_count(f->lic, "webhook.failed", NULL) >= 2);
    gh_kill(f->lic); /* kill -9, with deliveries pending */
    for (int i = 3; i < 5; i++) {
        s_publish(f, "while the gateway is dead", ids[i]);
    }
    gh_start(f->lic);
    gh_hook_restart(h);
    assert_true(gh_hook_wait(h, "alert", 5, 20000));
    bh_sleep_ms(1500); /* and no more come */
    assert_int_equal(gh_hook_count(h, "alert"), 5);
    for (int i = 0; i < 5; i++) {
        gh_hook_req r;
        gh_hook_get(h, "alert", (size_t)i, &r);
        assert_true(r.signature_ok);
        assert_string_equal(r.alert_id, ids[i]); /* each once, in order */
        gh_hook_req_fini(&r);
    }
    gh_stop(f->lic);    /* a clean stop: ASan/LSan would fail it */
    gh_stop(f->police); /* a clean stop: ASan/LSan would fail it */
    bh_pass(f->b);
}

static bool
s_health_alarm(const gh_gateway *g, bool *alarm)
{
    gh_resp r;
    gh_http(&r, g, "GET", "/v1/health", g->token, NULL, NULL, 0, NULL);
    json_t *doc = gh_json(&r);
    json_t *hook = json_array_get(json_object_get(doc, "webhooks"), 0);
    *alarm = json_is_true(json_object_get(hook, "alarm"));
    bool degraded = strcmp(json_string_value(json_object_get(doc, "status")), "degraded") == 0;
    json_decref(doc);
    gh_resp_fini(&r);
    return degraded;
}

static void
test_failing_webhook_raises_and_clears_the_alarm(void **state)
{
    fixture *f = *state;
    gh_hook *h = gh_hook_start(f->b, 0);
    s_add_webhook(f, h, "erp", NULL, NULL);
    gh_hook_answer(h, 500);
    gh_start(f->lic);
    char id[33];
    s_publish(f, "to a failing webhook", id);
    bool alarm = false;
    int64_t deadline = bh_now_ms() + 15000;
    while (!alarm && bh_now_ms() < deadline) {
        (void)s_health_alarm(f->lic, &alarm);
        bh_sleep_ms(alarm ? 0 : 100);
    }
    assert_true(alarm);
    bool degraded = s_health_alarm(f->lic, &alarm);
    assert_true(degraded);
    gh_resp r;
    gh_http(&r, f->lic, "GET", "/metrics", f->lic->token, NULL, NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "vigil_gateway_webhook_alarm{webhook=\"erp\"} 1"));
    assert_non_null(strstr(r.body, "# TYPE vigil_gateway_webhook_failures_total counter"));
    gh_resp_fini(&r);
    deadline = bh_now_ms() + 5000;
    while (gh_log_count(f->lic, "webhook.alarm", "webhook=erp") == 0 && bh_now_ms() < deadline) {
        bh_sleep_ms(50);
    }
    assert_int_equal(gh_log_count(f->lic, "webhook.alarm", "webhook=erp"), 1);
    /* it comes back */
    gh_hook_answer(h, 204);
    assert_true(gh_hook_wait(h, "alert", 1, 10000));
    deadline = bh_now_ms() + 5000;
    while (alarm && bh_now_ms() < deadline) {
        (void)s_health_alarm(f->lic, &alarm);
        bh_sleep_ms(alarm ? 100 : 0);
    }
    assert_false(alarm);
    deadline = bh_now_ms() + 5000;
    while (gh_log_count(f->lic, "webhook.recovered", "webhook=erp") == 0 &&
           bh_now_ms() < deadline) {
        bh_sleep_ms(50);
    }
    assert_int_equal(gh_log_count(f->lic, "webhook.recovered", "webhook=erp"), 1);
    /* webhook list says how it went */
    char *out = NULL;
    assert_int_equal(gh_cli(f->lic, &out, (const char *const[]){"webhook", "list", NULL}), 0);
    assert_non_null(strstr(out, "delivered 1"));
    free(out);
    gh_stop(f->lic);    /* a clean stop: ASan/LSan would fail it */
    gh_stop(f->police); /* a clean stop: ASan/LSan would fail it */
    bh_pass(f->b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_signed_deliveries_of_alerts_and_events, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_receiver_down_then_back_gets_each_alert_once, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_failing_webhook_raises_and_clears_the_alarm, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
