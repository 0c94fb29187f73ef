/*
 * test_gateway_limits.c — the gateway's limits as clients meet them: a token
 * over its rate gets 429 with Retry-After while another token goes on
 * unhindered; connections beyond max_connections are turned away and the
 * gateway serves again once they close; and a flood of bad requests
 * (no token, wrong tokens, oversized and malformed bodies, on several
 * connections at once) does not slow a good client's publishes measurably:
 * its median latency under the flood stays within 2x (+5 ms) of its median
 * without it (4x + 10 ms under the sanitizers).
 */
#define _GNU_SOURCE /* syscall(SYS_gettid) */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "gw_harness.h"

#define S_SAMPLES 40 /* publishes per measurement */
#define S_FLOODERS 3 /* connections flooding at once */

typedef struct fixture {
    bh_broker *b;       /* broker and network */
    gh_gateway *police; /* the gateway */
} fixture;

static int
s_setup_with(void **state, const char *const *conf)
{
    fixture *f = calloc(1, sizeof *f);
    f->b = bh_new(NULL);
    bh_start(f->b);
    f->police = gh_new(f->b, "police", conf);
    gh_start(f->police);
    *state = f;
    return 0;
}

static int
s_setup_slow(void **state)
{
    return s_setup_with(state, (const char *const[]){"rate=5", "burst=5", NULL});
}

static int
s_setup(void **state)
{
    return s_setup_with(state, (const char *const[]){"rate=1000", "burst=1000",
                                                     "max_connections=16", "max_body=65536", NULL});
}

static int
s_teardown(void **state)
{
    fixture *f = *state;
    bh_destroy(&f->b);
    free(f);
    return 0;
}

static void
test_rate_per_token(void **state)
{
    fixture *f = *state;
    char greedy[GH_TOKEN_MAX], calm[GH_TOKEN_MAX];
    gh_token_add(f->police, "greedy", "read", greedy);
    gh_token_add(f->police, "calm", "read", calm);
    int n429 = 0;
    for (int i = 0; i < 12; i++) {
        gh_resp r;
        gh_http(&r, f->police, "GET", "/v1/health", greedy, NULL, NULL, 0, NULL);
        if (r.status == 429) {
            char after[16];
            assert_true(gh_resp_header(&r, "Retry-After", after, sizeof after));
            assert_true(atoi(after) >= 1);
            json_t *doc = NULL;
            assert_string_equal(gh_assert_problem(&r, 429, &doc), "rate_limited");
            json_decref(doc);
            n429++;
        } else {
            assert_int_equal(r.status, 200);
        }
        gh_resp_fini(&r);
    }
    assert_true(n429 >= 5); /* a burst of 5, then about 5 a second */
    gh_resp r;
    gh_http(&r, f->police, "GET", "/v1/health", calm, NULL, NULL, 0, NULL);
    assert_int_equal(r.status, 200); /* the other token is not affected */
    gh_resp_fini(&r);
    gh_stop(f->police); /* a clean stop: ASan/LSan would fail it */
    bh_pass(f->b);
}

static int
s_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static void
test_connection_limit(void **state)
{
    fixture *f = *state;
    int port = atoi(strrchr(f->police->url, ':') + 1);
    int fds[16];
    for (int i = 0; i < 16; i++) {
        fds[i] = s_connect(port); /* idle connections, up to max_connections */
    }
    bh_sleep_ms(200);
    gh_resp r;
    gh_http(&r, f->police, "GET", "/v1/health", f->police->token, NULL, NULL, 0, NULL);
    assert_int_equal(r.status, 0); /* turned away */
    gh_resp_fini(&r);
    for (int i = 0; i < 16; i++) {
        close(fds[i]);
    }
    bh_sleep_ms(200);
    gh_http(&r, f->police, "GET", "/v1/health", f->police->token, NULL, NULL, 0, NULL);
    assert_int_equal(r.status, 200); /* served again */
    gh_resp_fini(&r);
    gh_stop(f->police); /* a clean stop: ASan/LSan would fail it */
    bh_pass(f->b);
}

/* ---- the flood ------------------------------------------------------------------------------ */

typedef struct s_flood {
    const gh_gateway *g; /* target */
    atomic_bool stop;    /* stop flooding */
    atomic_long refused; /* 4xx answers got */
    atomic_long other;   /* anything else */
} s_flood;

static size_t
s_discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

static void *
s_flooder(void *arg)
{
    s_flood *fl = arg;
    /* The flood's client runs in this process on the same cores: it yields
     * to the good client and to the gateway, so what is measured is what
     * the gateway's handling of the flood costs the good client. (Linux:
     * a thread's nice value is its own.) */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    CURL *c = curl_easy_init();
    char url[256];
    static const char *const auths[] = {
        NULL, "Authorization: Bearer vgt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "Authorization: Basic dXNlcjpwYXNz", "Authorization: Bearer nonsense"};
    char *big = malloc(70000);
    memset(big, 'x', 70000);
    for (unsigned i = 0; !atomic_load(&fl->stop); i++) {
        struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
        h = curl_slist_append(h, "Expect:");
        if (auths[i % 4] != NULL) {
            h = curl_slist_append(h, auths[i % 4]);
        }
        snprintf(url, sizeof url, "%s%s", fl->g->url, i % 3 ? "/v1/alerts" : "/v1/nothing");
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_discard);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, big);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(i % 2 ? 70000 : 9));
        long status = 0;
        if (curl_easy_perform(c) == CURLE_OK) {
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        }
        atomic_fetch_add(status >= 400 && status < 500 ? &fl->refused : &fl->other, 1);
        curl_slist_free_all(h);
    }
    free(big);
    curl_easy_cleanup(c);
    return NULL;
}

static int
s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median latency of S_SAMPLES publishes by the good client, in ms. */
static double
s_median_publish_ms(const fixture *f, const char *token)
{
    double ms[S_SAMPLES];
    const char body[] = "{\"severity\":\"low\",\"categories\":[\"other\"],\"to\":[\"licensing\"],"
                        "\"headline\":\"a good client\"}";
    for (int i = 0; i < S_SAMPLES; i++) {
        gh_resp r;
        gh_http(&r, f->police, "POST", "/v1/alerts", token, "application/json", body, strlen(body),
                NULL);
        assert_int_equal(r.status, 201);
        ms[i] = r.secs * 1000.0;
        gh_resp_fini(&r);
    }
    qsort(ms, S_SAMPLES, sizeof ms[0], s_cmp);
    return ms[S_SAMPLES / 2];
}

static void
test_flood_does_not_slow_a_good_client(void **state)
{
    fixture *f = *state;
    char good[GH_TOKEN_MAX];
    gh_token_add(f->police, "good", "publish", good);
    (void)s_median_publish_ms(f, good); /* warm up */
    double before = s_median_publish_ms(f, good);
    s_flood fl = {.g = f->police};
    pthread_t th[S_FLOODERS];
    for (int i = 0; i < S_FLOODERS; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, s_flooder, &fl), 0);
    }
    bh_sleep_ms(300);
    long refused_before = atomic_load(&fl.refused);
    int64_t t0 = bh_now_ms();
    double during = s_median_publish_ms(f, good);
    int64_t took_ms = bh_now_ms() - t0;
    long refused = atomic_load(&fl.refused) - refused_before;
    atomic_store(&fl.stop, true);
    for (int i = 0; i < S_FLOODERS; i++) {
        pthread_join(th[i], NULL);
    }
    print_message("good client median publish: %.2f ms alone, %.2f ms under a flood of %ld "
                  "refused requests in %lld ms (%.0f/s; %ld other answers)\n",
                  before, during, refused, (long long)took_ms,
                  (double)refused * 1000.0 / (double)(took_ms ? took_ms : 1),
                  atomic_load(&fl.other));
    assert_true(refused > 100); /* it was a flood, and it was refused */
    /* and the good client hardly noticed (sanitizers make every request
     * several times dearer, the flood's included) */
#if defined(__SANITIZE_ADDRESS__)
    assert_true(during <= 4.0 * before + 10.0);
#else
    assert_true(during <= 2.0 * before + 5.0);
#endif
    gh_stop(f->police); /* a clean stop: ASan/LSan would fail it */
    bh_pass(f->b);
}

int
main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rate_per_token, s_setup_slow, s_teardown),
        cmocka_unit_test_setup_teardown(test_connection_limit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_flood_does_not_slow_a_good_client, s_setup,
                                        s_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
