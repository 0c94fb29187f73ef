/*
 * bench_gateway.c — alerts per second published through vigil-gateway
 * (HTTP POST /v1/alerts, vigil JSON, through libcurl with keep-alive)
 * against vga_publish library calls, in the same run, on the same broker,
 * one client and several at once. Each publish waits for the broker's
 * confirm (durable: fsync'd) either way, so the difference is what the
 * gateway costs: HTTP, the token check, JSON, the pool hand-over.
 *
 *     ctest --test-dir build/release -R bench_gateway -V
 *     (or: build/release/bin/bench_gateway [ALERTS] [CLIENTS])
 *
 * Label "bench": not in the default suite.
 */
#define _XOPEN_SOURCE 700

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "gw_harness.h"

static int s_alerts = 600; /* per measurement */
static int s_clients = 4;  /* in the concurrent runs */

static const char s_body[] = "{\"severity\":\"low\",\"categories\":[\"other\"],"
                             "\"to\":[\"licensing\"],\"headline\":\"bench\",\"description\":"
                             "\"a benchmark alert of ordinary size, sealed to one agency\"}";

static double
s_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct s_job {
    bh_broker *b;  /* network */
    gh_gateway *g; /* gateway (HTTP runs) */
    int n;         /* alerts to publish */
    bool http;     /* through the gateway, else the library */
    int failed;    /* publishes not confirmed */
} s_job;

static size_t
s_discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

static void *
s_run(void *arg)
{
    s_job *j = arg;
    if (j->http) {
        CURL *c = curl_easy_init();
        char url[256], auth[128];
        snprintf(url, sizeof url, "%s/v1/alerts", j->g->url);
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", j->g->token);
        struct curl_slist *h = curl_slist_append(NULL, auth);
        h = curl_slist_append(h, "Content-Type: application/json");
        h = curl_slist_append(h, "Expect:");
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, s_body);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_discard);
        for (int i = 0; i < j->n; i++) {
            long status = 0;
            if (curl_easy_perform(c) == CURLE_OK) {
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
            }
            j->failed += status != 201;
        }
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        return NULL;
    }
    vga_agent *a = bh_agent_open(j->b, "police", false);
    vg_alert alert = {0};
    bh_alert_init(&alert, "bench", "a benchmark alert of ordinary size, sealed to one agency",
                  "other", "licensing");
    alert.severity = VG_SEV_LOW;
    for (int i = 0; i < j->n; i++) {
        vga_confirm res;
        vg_reason why = {{0}};
        j->failed += vga_publish(a, &alert, 10000, &res, &why) != VG_OK;
        vga_confirm_fini(&res);
    }
    bh_alert_fini(&alert);
    vga_agent_destroy(&a);
    return NULL;
}

/* Alerts per second with `clients` clients publishing s_alerts in all. */
static double
s_measure(bh_broker *b, gh_gateway *g, bool http, int clients)
{
    s_job jobs[16];
    pthread_t th[16];
    double start = s_now_s();
    for (int i = 0; i < clients; i++) {
        jobs[i] = (s_job){b, g, s_alerts / clients, http, 0};
        assert_int_equal(pthread_create(&th[i], NULL, s_run, &jobs[i]), 0);
    }
    int failed = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        failed += jobs[i].failed;
    }
    double secs = s_now_s() - start;
    assert_int_equal(failed, 0);
    return (double)(s_alerts / clients * clients) / secs;
}

static void
test_gateway_against_the_library(void **state)
{
    (void)state;
    bh_broker *b = bh_new(NULL);
    bh_start(b);
    gh_gateway *g = gh_new(b, "police",
                           (const char *const[]){"rate=100000", "burst=100000", "workers=8", NULL});
    gh_start(g);
    (void)s_measure(b, g, true, 1); /* warm up both paths */
    (void)s_measure(b, g, false, 1);
    double lib1 = s_measure(b, g, false, 1);
    double gw1 = s_measure(b, g, true, 1);
    double libn = s_measure(b, g, false, s_clients);
    double gwn = s_measure(b, g, true, s_clients);
    print_message("bench_gateway: %d alerts per run, each confirmed by the broker (fsync'd)\n"
                  "  clients  vga_publish (alerts/s)  gateway POST /v1/alerts (alerts/s)  ratio\n"
                  "  %7d  %22.0f  %34.0f  %5.2f\n"
                  "  %7d  %22.0f  %34.0f  %5.2f\n",
                  s_alerts, 1, lib1, gw1, gw1 / lib1, s_clients, libn, gwn, gwn / libn);
    bh_pass(b);
    bh_destroy(&b);
}

int
main(int argc, char **argv)
{
    if (argc > 1) {
        s_alerts = atoi(argv[1]);
    }
    if (argc > 2) {
        s_clients = atoi(argv[2]) > 0 && atoi(argv[2]) <= 16 ? atoi(argv[2]) : 4;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_gateway_against_the_library)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
