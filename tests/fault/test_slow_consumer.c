/*
 * test_slow_consumer.c — a stopped consumer costs the broker no memory and
 * the others no latency; an agency away through restarts misses nothing.
 *
 * Stopped consumer: licensing listens in a `vigil-agent listen --json`
 * process that is SIGSTOPped while two agencies publish (a few thousand
 * alerts; tens of thousands with VG_FAULT_LONG=1) to licensing, police
 * (listening in this process, its latency measured) and childrens-services
 * (never connected: a dead consumer). The broker's VmRSS is sampled all
 * along and must stay under T_RSS_MAX_KIB and grow less than
 * T_RSS_GROWTH_KIB after warm-up; police's publish-to-receive latency must
 * stay under T_LATENCY_MAX_MS; after SIGCONT licensing gets every alert once.
 *
 * Away through restarts: alerts published before, between and after two
 * broker restarts (one clean, one SIGKILL) reach licensing in publish order
 * when it finally connects.
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
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "broker_harness.h"
#include "fault_util.h"
#include "itest.h"
#include "vigil/agent.h"
#include "vigil/util.h"

#ifdef VG_FAULT_SANITIZED
/* ASan's shadow memory and allocator caches: a larger, still flat, bound.
 * Its quarantine (256 MiB by default) would grow with every free, so the
 * broker runs with a small one (s_small_quarantine). */
#define T_RSS_MAX_KIB (256 * 1024)
#define T_RSS_GROWTH_KIB (48 * 1024)
#else
#define T_RSS_MAX_KIB (64 * 1024)
#define T_RSS_GROWTH_KIB (8 * 1024)
#endif
#define T_LATENCY_MAX_MS 5000
#define T_PUBLISH_MS 5000
#define T_CATCH_UP_MS 120000

static int
s_teardown(void **state)
{
    bh_destroy((bh_broker **)state);
    return 0;
}

static int64_t
s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct s_flow {
    bh_broker *b;             /* the broker */
    size_t per_publisher;     /* alerts each publisher sends */
    volatile int stop;        /* listeners: stop */
    volatile size_t received; /* police's count */
    int64_t max_latency_ms;   /* police's worst */
    char error[1024];         /* a thread's local failure */
} s_flow;

typedef struct s_pub {
    s_flow *flow;       /* shared */
    const char *agency; /* publisher */
    pthread_t thread;   /* its thread */
    size_t n_ok;        /* confirmed */
} s_pub;

static vga_agent *
s_open(s_flow *f, const char *agency, bool receive)
{
    char *conf = bh_agent_conf(f->b, agency);
    vga_options opts = {.receive = receive, .software = "vigil-fault"};
    vga_agent *a = NULL;
    vg_reason why = {{0}};
    vg_err rc = vga_agent_open(&a, conf, &opts, &why);
    free(conf);
    if (rc != VG_OK) {
        snprintf(f->error, sizeof f->error, "open %s: %s", agency, why.text);
    }
    return a;
}

static void *
s_publisher(void *arg)
{
    s_pub *p = arg;
    vga_agent *a = s_open(p->flow, p->agency, false);
    for (size_t i = 0; a != NULL && i < p->flow->per_publisher; i++) {
        char headline[64];
        snprintf(headline, sizeof headline, "flow %s %zu", p->agency, i + 1);
        vg_alert alert = {0};
        alert.severity = VG_SEV_HIGH;
        alert.headline = headline;
        if (vg_strlist_add(&alert.categories, "taxi") != VG_OK) {
            break;
        }
        vga_confirm res;
        vg_reason why = {{0}};
        vg_err rc = vga_publish(a, &alert, T_PUBLISH_MS, &res, &why);
        vga_confirm_fini(&res);
        vg_strlist_fini(&alert.categories);
        if (rc != VG_OK) {
            snprintf(p->flow->error, sizeof p->flow->error, "publish %s: %s", p->agency, why.text);
            break;
        }
        p->n_ok++;
    }
    vga_agent_destroy(&a);
    return NULL;
}

static void *
s_police(void *arg)
{
    s_flow *f = arg;
    vga_agent *a = s_open(f, "police", true);
    while (a != NULL && !f->stop) {
        vg_alert got = {0};
        if (vga_receive(a, 100, &got, NULL) == VG_OK) {
            int64_t lat = s_wall_ms() - got.created_ms;
            f->max_latency_ms = lat > f->max_latency_ms ? lat : f->max_latency_ms;
            f->received++;
            vg_alert_fini(&got);
        }
    }
    vga_agent_destroy(&a);
    return NULL;
}

/* Lines (alerts) and distinct ids in listen --json output. */
static void
s_count_output(const char *path, size_t *lines, size_t *distinct)
{
    uint8_t *data = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    *lines = *distinct = 0;
    if (vg_file_read(&data, &len, path, 256 * 1024 * 1024, &why) != VG_OK) {
        return;
    }
    size_t cap = 1024, n = 0;
    char(*ids)[VG_ALERT_ID_HEX_LEN + 1] = malloc(cap * sizeof *ids);
    for (char *line = strtok((char *)data, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        const char *p = strstr(line, "\"id\":\"");
        if (p == NULL) {
            continue;
        }
        ++*lines;
        if (n == cap) {
            cap *= 2;
            ids = realloc(ids, cap * sizeof *ids);
        }
        snprintf(ids[n++], VG_ALERT_ID_HEX_LEN + 1, "%s", p + 6);
    }
    qsort(ids, n, sizeof *ids, (int (*)(const void *, const void *))strcmp);
    for (size_t i = 0; i < n; i++) {
        *distinct += i == 0 || strcmp(ids[i], ids[i - 1]) != 0;
    }
    free(ids);
    free(data);
}

/* Children inherit it; this process's own ASan read its options at start. */
static void
s_small_quarantine(void)
{
#ifdef VG_FAULT_SANITIZED
    const char *old = getenv("ASAN_OPTIONS");
    char opts[1024];
    snprintf(opts, sizeof opts, "%s%squarantine_size_mb=16", old ? old : "",
             old && *old ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
#endif
}

/* The long variant publishes 50,000 alerts as fast as the broker takes
 * them, past the network's default publish rate (6,000 a minute): the
 * document lifts it, as a network expecting such load would. */
static void
s_lift_publish_limits(bh_broker *b)
{
    char *path = it_path(b->net, "network/network.json");
    json_t *root = json_load_file(path, 0, NULL);
    assert_non_null(root);
    json_object_set_new(
        root, "limits",
        json_pack("{s:i, s:i}", "publish_per_minute", 1000000, "publish_burst", 100000));
    assert_int_equal(json_dump_file(root, path, JSON_INDENT(2)), 0);
    json_decref(root);
    free(path);
    it_run r;
    it_vigilctl(&r, "network", "sign", "--dir", b->net);
    it_assert_ok(&r);
    it_run_fini(&r);
}

static void
test_stopped_consumer_costs_no_memory_and_no_latency(void **state)
{
    int64_t t0 = bh_now_ms();
    s_small_quarantine();
    const char *conf[] = {"redeliver=1s", "redeliver_max=5s", NULL};
    bh_broker *b = bh_new(conf);
    *state = b;
    s_lift_publish_limits(b);
    bh_start(b);
    s_flow f = {.b = b, .per_publisher = fu_long() ? 25000 : 3000};
    size_t total = 2 * f.per_publisher;
    char *out = it_path(b->tmp, "licensing.jsonl");
    char *bin = it_path(b->bin_dir, "vigil-agent");
    char *lconf = bh_agent_conf(b, "licensing");
    char *argv[] = {bin, "-c", lconf, "listen", "--json", NULL};
    pid_t listener = fu_spawn(argv, out, NULL);
    for (int64_t end = bh_now_ms() + 10000;
         bh_log_count(b, "agency.online", "agency=licensing") == 0 && bh_now_ms() < end;) {
        bh_sleep_ms(20);
    }
    assert_int_equal(kill(listener, SIGSTOP), 0);
    pthread_t police;
    assert_int_equal(pthread_create(&police, NULL, s_police, &f), 0);
    s_pub pubs[2] = {{&f, "home-office", 0, 0}, {&f, "oversight", 0, 0}};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(pthread_create(&pubs[i].thread, NULL, s_publisher, &pubs[i]), 0);
    }
    int64_t baseline = -1, peak = 0;
    while (pubs[0].n_ok + pubs[1].n_ok < total && f.error[0] == '\0') {
        int64_t rss = fu_rss_kib(b->pid);
        if (baseline < 0 && pubs[0].n_ok + pubs[1].n_ok >= total / 10) {
            baseline = rss;
        }
        peak = rss > peak ? rss : peak;
        bh_sleep_ms(100);
    }
    for (size_t i = 0; i < 2; i++) {
        pthread_join(pubs[i].thread, NULL);
    }
    int64_t end = bh_now_ms() + T_CATCH_UP_MS;
    while (f.received < total && bh_now_ms() < end) {
        bh_sleep_ms(50);
    }
    f.stop = 1;
    pthread_join(police, NULL);
    int64_t publish_ms = bh_now_ms() - t0;
    assert_int_equal(kill(listener, SIGCONT), 0);
    size_t lines = 0, distinct = 0;
    while (distinct < total && bh_now_ms() < end) {
        bh_sleep_ms(200);
        s_count_output(out, &lines, &distinct);
    }
    kill(listener, SIGTERM);
    assert_true(fu_wait(listener, 10000) != -1);
    s_count_output(out, &lines, &distinct);
    printf("fault: stopped_consumer: alerts=%zu rss_baseline=%lld KiB rss_peak=%lld KiB "
           "(bound %d KiB, growth bound %d KiB) police_received=%zu police_max_latency=%lld ms "
           "licensing_lines=%zu distinct=%zu publish_phase=%lld ms wall=%lld ms\n",
           total, (long long)baseline, (long long)peak, T_RSS_MAX_KIB, T_RSS_GROWTH_KIB,
           (size_t)f.received, (long long)f.max_latency_ms, lines, distinct, (long long)publish_ms,
           (long long)(bh_now_ms() - t0));
    if (f.error[0] != '\0') {
        fail_msg("%s", f.error);
    }
    assert_true(baseline > 0);
    assert_true(peak < T_RSS_MAX_KIB);
    assert_true(peak - baseline < T_RSS_GROWTH_KIB);
    assert_int_equal(f.received, total);
    assert_true(f.max_latency_ms < T_LATENCY_MAX_MS);
    assert_int_equal(distinct, total);
    assert_int_equal(lines, total);
    free(lconf);
    free(bin);
    free(out);
    bh_stop(b);
    bh_pass(b);
}

static void
s_publish_batch(bh_broker *b, uint8_t (*ids)[VG_ALERT_ID_LEN], size_t n, size_t first)
{
    vga_agent *tx = bh_agent_open(b, "home-office", false);
    for (size_t i = 0; i < n; i++) {
        char headline[64];
        snprintf(headline, sizeof headline, "away %zu", first + i + 1);
        vg_alert alert;
        bh_alert_init(&alert, headline, "published while licensing was away", "taxi", "");
        vga_confirm res;
        vg_reason why = {{0}};
        vg_err rc = vga_publish(tx, &alert, T_PUBLISH_MS, &res, &why);
        memcpy(ids[first + i], res.alert_id, VG_ALERT_ID_LEN);
        vga_confirm_fini(&res);
        bh_alert_fini(&alert);
        if (rc != VG_OK) {
            fail_msg("publish: %s: %s", vg_err_code(rc), why.text);
        }
    }
    vga_agent_destroy(&tx);
}

static void
test_agency_away_through_two_restarts_gets_everything_in_order(void **state)
{
    enum { N = 10 };
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    uint8_t ids[3 * N][VG_ALERT_ID_LEN];
    s_publish_batch(b, ids, N, 0);
    bh_stop(b);
    bh_start(b);
    s_publish_batch(b, ids, N, N);
    bh_kill(b);
    bh_start(b);
    s_publish_batch(b, ids, N, 2 * N);
    vga_agent *rx = bh_agent_open(b, "licensing", true);
    for (size_t i = 0; i < 3 * N; i++) {
        vg_alert got = {0};
        vg_reason why = {{0}};
        vg_err rc = vga_receive(rx, T_PUBLISH_MS, &got, &why);
        if (rc != VG_OK) {
            fail_msg("alert %zu of %d never came: %s", i + 1, 3 * N, vg_err_code(rc));
        }
        bool same = memcmp(got.id, ids[i], VG_ALERT_ID_LEN) == 0;
        vg_alert_fini(&got);
        if (!same) {
            fail_msg("delivery %zu is not the alert published %zu-th (order lost)", i + 1, i + 1);
        }
    }
    vg_alert extra = {0};
    assert_int_equal(vga_receive(rx, 500, &extra, NULL), VG_ERR_TIMEOUT);
    vga_agent_destroy(&rx);
    bh_stop(b);
    bh_pass(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_stopped_consumer_costs_no_memory_and_no_latency, s_teardown),
        cmocka_unit_test_teardown(test_agency_away_through_two_restarts_gets_everything_in_order,
                                  s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
