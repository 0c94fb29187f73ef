/*
 * test_gateway_delivery.c — what a client can rely on when things fail:
 * 202 with Location while the broker is down (the alert is in the outbox
 * and reaches the broker once it is back, once), 201 once confirmed; an
 * Idempotency-Key gives the same alert for a repeated request, across a
 * gateway restart, and refuses a different request; /v1/events resumed with
 * Last-Event-ID across a gateway restart has no gap and no repeat.
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
#include <curl/curl.h>

#include "gw_harness.h"
#include "vigil/util.h"

typedef struct fixture {
    bh_broker *b;       /* broker and network */
    gh_gateway *police; /* publishes */
    gh_gateway *lic;    /* receives */
} fixture;

static int
s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->b = bh_new(NULL);
    bh_start(f->b);
    f->police = gh_new(f->b, "police", (const char *const[]){"confirm_timeout=1s", NULL});
    f->lic = gh_new(f->b, "licensing", NULL);
    gh_start(f->police);
    gh_start(f->lic);
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

/* POST /v1/alerts with an optional Idempotency-Key; the id into idhex. */
static long
s_post(const gh_gateway *g, const char *headline, const char *key, char idhex[33], bool *replayed)
{
    char body[256], header[128];
    snprintf(body, sizeof body,
             "{\"severity\":\"medium\",\"categories\":[\"other\"],\"to\":[\"licensing\"],"
             "\"headline\":\"%s\"}",
             headline);
    snprintf(header, sizeof header, "Idempotency-Key: %s", key ? key : "");
    gh_resp r;
    gh_http(&r, g, "POST", "/v1/alerts", g->token, "application/json", body, strlen(body),
            key ? (const char *const[]){header, NULL} : NULL);
    long status = r.status;
    if (status == 201 || status == 202) {
        json_t *doc = gh_json(&r);
        snprintf(idhex, 33, "%s", json_string_value(json_object_get(doc, "id")));
        assert_string_equal(json_string_value(json_object_get(doc, "state")),
                            status == 201 ? "confirmed" : "queued");
        json_decref(doc);
        char loc[96], want[96], rep[16] = "";
        snprintf(want, sizeof want, "/v1/alerts/%s", idhex);
        assert_true(gh_resp_header(&r, "Location", loc, sizeof loc));
        assert_string_equal(loc, want);
        assert_true(gh_resp_header(&r, "Idempotent-Replayed", rep, sizeof rep));
        if (replayed != NULL) {
            *replayed = strcmp(rep, "true") == 0;
        }
    }
    gh_resp_fini(&r);
    return status;
}

static int64_t
s_alerts_with_id(const fixture *f, const char *idhex)
{
    uint8_t id[VG_ALERT_ID_LEN];
    assert_int_equal(vg_alert_id_parse(id, idhex, NULL), VG_OK);
    return bh_store_has_alert(f->b, id) ? 1 : 0;
}

static bool
s_wait_status_200(const gh_gateway *g, const char *idhex, int64_t ms)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/alerts/%s", idhex);
    int64_t deadline = bh_now_ms() + ms;
    for (;;) {
        gh_resp r;
        gh_http(&r, g, "GET", path, g->token, NULL, NULL, 0, NULL);
        long st = r.status;
        gh_resp_fini(&r);
        if (st == 200) {
            return true;
        }
        if (bh_now_ms() >= deadline) {
            return false;
        }
        bh_sleep_ms(100);
    }
}

static void
test_202_while_the_broker_is_down_then_once(void **state)
{
    fixture *f = *state;
    bh_stop(f->b);
    char queued[33], keyed[33], again[33];
    bool replayed = true;
    assert_int_equal(s_post(f->police, "while the broker is down", NULL, queued, &replayed), 202);
    assert_false(replayed);
    assert_int_equal(s_post(f->police, "keyed while down", "key-1", keyed, NULL), 202);
    /* health says so */
    gh_resp r;
    int64_t deadline = bh_now_ms() + 8000;
    bool down = false;
    while (!down && bh_now_ms() < deadline) {
        gh_http(&r, f->police, "GET", "/v1/health", f->police->token, NULL, NULL, 0, NULL);
        json_t *doc = gh_json(&r);
        down = json_is_false(json_object_get(json_object_get(doc, "broker"), "reachable")) &&
               json_integer_value(json_object_get(json_object_get(doc, "outbox"), "depth")) == 2;
        json_decref(doc);
        gh_resp_fini(&r);
        bh_sleep_ms(down ? 0 : 200);
    }
    assert_true(down);
    bh_start(f->b);
    /* the link sends the outbox again: each alert reaches the broker once */
    assert_true(s_wait_status_200(f->police, queued, 20000));
    assert_true(s_wait_status_200(f->police, keyed, 20000));
    assert_int_equal(s_alerts_with_id(f, queued), 1);
    /* the same key: the same alert, confirmed now (a duplicate at the broker) */
    assert_int_equal(s_post(f->police, "keyed while down", "key-1", again, &replayed), 201);
    assert_true(replayed);
    assert_string_equal(again, keyed);
    assert_int_equal(s_alerts_with_id(f, keyed), 1);
    /* 201 for a new one */
    assert_int_equal(s_post(f->police, "with the broker up", NULL, again, NULL), 201);
    gh_stop(f->police); /* a clean stop: ASan/LSan would fail it */
    gh_stop(f->lic);    /* a clean stop: ASan/LSan would fail it */
    bh_pass(f->b);
}

static void
test_idempotency_key_survives_a_restart(void **state)
{
    fixture *f = *state;
    char first[33], second[33], other[33];
    bool replayed = false;
    assert_int_equal(s_post(f->police, "once only", "order-17", first, &replayed), 201);
    assert_false(replayed);
    assert_int_equal(s_post(f->police, "once only", "order-17", second, &replayed), 201);
    assert_true(replayed);
    assert_string_equal(first, second);
    gh_stop(f->police);
    gh_start(f->police);
    assert_int_equal(s_post(f->police, "once only", "order-17", second, &replayed), 201);
    assert_true(replayed);
    assert_string_equal(first, second);
    assert_int_equal(s_alerts_with_id(f, first), 1);
    /* the same key for another request: refused, nothing sent */
    int64_t before = bh_store_count_alerts(f->b);
    gh_resp r;
    const char body[] = "{\"severity\":\"high\",\"categories\":[\"other\"],\"to\":[\"licensing\"],"
                        "\"headline\":\"something else\"}";
    gh_http(&r, f->police, "POST", "/v1/alerts", f->police->token, "application/json", body,
            strlen(body), (const char *const[]){"Idempotency-Key: order-17", NULL});
    json_t *doc = NULL;
    assert_string_equal(gh_assert_problem(&r, 422, &doc), "idempotency_key_reused");
    json_decref(doc);
    gh_resp_fini(&r);
    assert_int_equal(bh_store_count_alerts(f->b), before);
    /* another token has its own keys */
    char tok[GH_TOKEN_MAX], hdr[64];
    gh_token_add(f->police, "other", "publish", tok);
    snprintf(hdr, sizeof hdr, "Idempotency-Key: order-17");
    gh_http(&r, f->police, "POST", "/v1/alerts", tok, "application/json", body, strlen(body),
            (const char *const[]){hdr, NULL});
    assert_int_equal(r.status, 201);
    doc = gh_json(&r);
    snprintf(other, sizeof other, "%s", json_string_value(json_object_get(doc, "id")));
    assert_string_not_equal(other, first);
    json_decref(doc);
    gh_resp_fini(&r);
    gh_stop(f->police); /* a clean stop: ASan/LSan would fail it */
    gh_stop(f->lic);    /* a clean stop: ASan/LSan would fail it */
    bh_pass(f->b);
}

/* ---- Server-Sent Events ------------------------------------------------------------------- */

typedef struct s_sse {
    char *text;        /* received so far */
    size_t len;        /* its length */
    uint64_t ids[512]; /* event ids, in order */
    size_t n;          /* count */
    size_t want;       /* stop after this many */
} s_sse;

static size_t
s_sse_write(char *data, size_t size, size_t n, void *ctx)
{
    s_sse *s = ctx;
    size_t add = size * n;
    s->text = realloc(s->text, s->len + add + 1);
    memcpy(s->text + s->len, data, add);
    s->len += add;
    s->text[s->len] = '\0';
    s->n = 0;
    for (const char *p = strstr(s->text, "id: "); p && s->n < 512; p = strstr(p + 1, "\nid: ")) {
        const char *num = p[0] == '\n' ? p + 5 : p + 4;
        s->ids[s->n++] = strtoull(num, NULL, 10);
    }
    return s->n >= s->want ? 0 : add; /* 0 ends the transfer */
}

/* Reads events of g's stream after `after` until `want` arrived (at most ms). */
static void
s_sse_read(s_sse *s, const gh_gateway *g, uint64_t after, size_t want, int64_t ms)
{
    memset(s, 0, sizeof *s);
    s->want = want;
    char url[256], auth[128], last[64];
    snprintf(url, sizeof url, "%s/v1/events", g->url);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", g->token);
    snprintf(last, sizeof last, "Last-Event-ID: %llu", (unsigned long long)after);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, last);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_sse_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    (void)curl_easy_perform(c);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static uint64_t
s_head(const gh_gateway *g)
{
    gh_resp r;
    gh_http(&r, g, "GET", "/v1/health", g->token, NULL, NULL, 0, NULL);
    json_t *doc = gh_json(&r);
    uint64_t head =
        (uint64_t)json_integer_value(json_object_get(json_object_get(doc, "events"), "head"));
    json_decref(doc);
    gh_resp_fini(&r);
    return head;
}

static void
s_ack(const fixture *f, const char *idhex)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/alerts/%s/ack", idhex);
    const char body[] = "{\"officer\":\"PC Ahmed\"}";
    gh_resp r;
    gh_http(&r, f->lic, "POST", path, f->lic->token, "application/json", body, strlen(body), NULL);
    assert_int_equal(r.status, 200);
    gh_resp_fini(&r);
}

static void
test_events_resume_across_a_restart(void **state)
{
    fixture *f = *state;
    char a1[33], a2[33], a3[33];
    assert_int_equal(s_post(f->police, "first", NULL, a1, NULL), 201);
    assert_int_equal(s_post(f->police, "second", NULL, a2, NULL), 201);
    assert_true(gh_wait_state(f->police, a2, "licensing", "delivered", 10000));
    uint64_t head = 0;
    for (int64_t deadline = bh_now_ms() + 5000;
         (head = s_head(f->police)) < 4 && bh_now_ms() < deadline;) {
        bh_sleep_ms(100);
    }
    assert_true(head >= 4); /* accepted and delivered, twice */
    s_sse first;
    s_sse_read(&first, f->police, 0, (size_t)head, 10000);
    assert_int_equal(first.n, head);
    for (size_t i = 0; i < first.n; i++) {
        assert_int_equal(first.ids[i], i + 1);
    }
    /* the gateway goes away; the stream moves on without it */
    gh_stop(f->police);
    s_ack(f, a1);
    s_ack(f, a2);
    gh_start(f->police);
    assert_true(gh_wait_state(f->police, a2, "licensing", "acknowledged", 10000));
    assert_int_equal(s_post(f->police, "third", NULL, a3, NULL), 201);
    uint64_t head2 = 0;
    for (int64_t deadline = bh_now_ms() + 8000;
         (head2 = s_head(f->police)) < head + 5 && bh_now_ms() < deadline;) {
        bh_sleep_ms(100);
    }
    if (head2 < head + 5) { /* two acks, two completes, accepted, delivered */
        s_sse all;
        s_sse_read(&all, f->police, 0, 100, 2000);
        fail_msg("head %llu then %llu:\n%s", (unsigned long long)head, (unsigned long long)head2,
                 all.text);
    }
    s_sse second;
    s_sse_read(&second, f->police, first.ids[first.n - 1], (size_t)(head2 - head), 10000);
    assert_int_equal(second.n, head2 - head);
    for (size_t i = 0; i < second.n; i++) {
        assert_int_equal(second.ids[i], head + 1 + i); /* no gap, no repeat */
    }
    assert_non_null(strstr(second.text, "event: acknowledged"));
    free(first.text);
    free(second.text);
    gh_stop(f->police); /* a clean stop: ASan/LSan would fail it */
    gh_stop(f->lic);    /* a clean stop: ASan/LSan would fail it */
    bh_pass(f->b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_202_while_the_broker_is_down_then_once, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_key_survives_a_restart, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_events_resume_across_a_restart, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
