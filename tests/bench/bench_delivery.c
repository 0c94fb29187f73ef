/*
 * bench_delivery — a quick end-to-end measurement through the real broker:
 * P publisher threads of one agency publish N alerts (each waits for its
 * confirm, as `vigil-agent publish` does), four recipient agencies receive,
 * store and receipt them. Prints throughput (alerts/s fully delivered to all
 * four) and publish→confirm and publish→delivered-to-all percentiles.
 *
 * usage: bench_delivery NETDIR N P   (the broker of NETDIR must be running;
 * tests/bench/run-quick.sh sets everything up)
 *
 * Senders seal inside the timed publish (the agent library's real path), so
 * this measures the whole system, not the broker alone: tests/bench is where
 * the broker-only benchmark of issue 8 will live beside it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/agent.h"
#include "vigil/clock.h"

#define S_RECIPIENTS 4

static const char *const s_recipients[S_RECIPIENTS] = {"police", "licensing", "childrens-services",
                                                       "education"};

typedef struct s_bench {
    const char *net;        /* network folder */
    int n;                  /* alerts */
    int p;                  /* publisher threads */
    atomic_int next;        /* next alert index to publish */
    int64_t *t_publish;     /* per alert: publish start, mono ms */
    int64_t *t_confirm;     /* per alert: confirm, mono ms */
    int64_t *t_recv;        /* per alert × recipient: receive, mono ms */
    atomic_int failures;    /* publishes not accepted */
    char description[1024]; /* 1 KiB of text */
} s_bench;

static void
s_conf(char *out, size_t len, const char *net, const char *agency)
{
    snprintf(out, len, "%s/agents/%s/agent.conf", net, agency);
}

static void *
s_publisher(void *arg)
{
    s_bench *b = arg;
    char conf[512];
    s_conf(conf, sizeof conf, b->net, "home-office");
    vga_agent *a = NULL;
    vg_reason why = {{0}};
    if (vga_agent_open(&a, conf, NULL, &why) != VG_OK) {
        fprintf(stderr, "bench: publisher: %s\n", why.text);
        atomic_fetch_add(&b->failures, b->n);
        return NULL;
    }
    for (int i; (i = atomic_fetch_add(&b->next, 1)) < b->n;) {
        char headline[64];
        snprintf(headline, sizeof headline, "bench %d", i);
        vg_alert al = {0};
        al.severity = VG_SEV_HIGH;
        al.headline = headline;
        al.description = b->description;
        int ok = vg_strlist_add(&al.categories, "cse") == VG_OK &&
                 vg_strlist_add(&al.categories, "taxi") == VG_OK &&
                 vg_strlist_add(&al.categories, "exploitation") == VG_OK;
        for (int r = 0; ok && r < S_RECIPIENTS; r++) {
            ok = vg_strlist_add(&al.recipients, s_recipients[r]) == VG_OK;
        }
        vga_confirm c;
        b->t_publish[i] = vg_clock_mono_ms(vg_clock_system());
        vg_err rc = ok ? vga_publish(a, &al, 30000, &c, &why) : VG_ERR_NOMEM;
        b->t_confirm[i] = vg_clock_mono_ms(vg_clock_system());
        if (rc != VG_OK) {
            fprintf(stderr, "bench: publish %d: %s %s\n", i, vg_err_code(rc), why.text);
            atomic_fetch_add(&b->failures, 1);
        }
        if (ok) {
            vga_confirm_fini(&c);
        }
        vg_strlist_fini(&al.categories);
        vg_strlist_fini(&al.recipients);
    }
    vga_agent_destroy(&a);
    return NULL;
}

typedef struct s_receiver {
    s_bench *b; /* the run */
    int r;      /* recipient index */
    int got;    /* alerts received */
} s_receiver;

static void *
s_receive(void *arg)
{
    s_receiver *rv = arg;
    s_bench *b = rv->b;
    char conf[512];
    s_conf(conf, sizeof conf, b->net, s_recipients[rv->r]);
    vga_agent *a = NULL;
    vg_reason why = {{0}};
    vga_options o = {.receive = true, .software = "bench"};
    if (vga_agent_open(&a, conf, &o, &why) != VG_OK) {
        fprintf(stderr, "bench: %s: %s\n", s_recipients[rv->r], why.text);
        return NULL;
    }
    while (rv->got < b->n) {
        vg_alert al;
        if (vga_receive(a, 30000, &al, &why) != VG_OK) {
            fprintf(stderr, "bench: %s: no alert for 30 s after %d\n", s_recipients[rv->r],
                    rv->got);
            break;
        }
        int i = -1;
        if (sscanf(al.headline, "bench %d", &i) == 1 && i >= 0 && i < b->n) {
            b->t_recv[(size_t)i * S_RECIPIENTS + (size_t)rv->r] =
                vg_clock_mono_ms(vg_clock_system());
            rv->got++;
        }
        vg_alert_fini(&al);
    }
    vga_poll(a, 1500); /* let the last receipts go out */
    vga_agent_destroy(&a);
    return NULL;
}

static int
s_cmp(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static void
s_percentiles(const char *what, int64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, s_cmp);
    printf("%-28s p50 %5lld ms  p99 %5lld ms  p99.9 %5lld ms  max %5lld ms\n", what,
           (long long)v[n / 2], (long long)v[(n * 99) / 100], (long long)v[(n * 999) / 1000],
           (long long)v[n - 1]);
}

int
main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_delivery NETDIR N PUBLISHERS\n");
        return 2;
    }
    s_bench b = {.net = argv[1], .n = atoi(argv[2]), .p = atoi(argv[3])};
    if (b.n <= 0 || b.p <= 0 || b.p > 64) {
        fprintf(stderr, "bench: N and PUBLISHERS must be positive (PUBLISHERS <= 64)\n");
        return 2;
    }
    memset(b.description, 'x', sizeof b.description - 1);
    b.t_publish = calloc((size_t)b.n, sizeof(int64_t));
    b.t_confirm = calloc((size_t)b.n, sizeof(int64_t));
    b.t_recv = calloc((size_t)b.n * S_RECIPIENTS, sizeof(int64_t));
    s_receiver rv[S_RECIPIENTS];
    pthread_t rt[S_RECIPIENTS], pt[64];
    for (int r = 0; r < S_RECIPIENTS; r++) {
        rv[r] = (s_receiver){&b, r, 0};
        pthread_create(&rt[r], NULL, s_receive, &rv[r]);
    }
    int64_t start = vg_clock_mono_ms(vg_clock_system());
    for (int i = 0; i < b.p; i++) {
        pthread_create(&pt[i], NULL, s_publisher, &b);
    }
    for (int i = 0; i < b.p; i++) {
        pthread_join(pt[i], NULL);
    }
    for (int r = 0; r < S_RECIPIENTS; r++) {
        pthread_join(rt[r], NULL);
    }
    int64_t *confirm = calloc((size_t)b.n, sizeof(int64_t));
    int64_t *delivered = calloc((size_t)b.n, sizeof(int64_t));
    int64_t last = start;
    int complete = 0;
    for (int i = 0; i < b.n; i++) {
        int64_t all = 0;
        int seen = 0;
        for (int r = 0; r < S_RECIPIENTS; r++) {
            int64_t t = b.t_recv[(size_t)i * S_RECIPIENTS + (size_t)r];
            seen += t != 0;
            all = t > all ? t : all;
        }
        confirm[i] = b.t_confirm[i] - b.t_publish[i];
        if (seen == S_RECIPIENTS) {
            delivered[complete++] = all - b.t_publish[i];
            last = all > last ? all : last;
        }
    }
    double secs = (double)(last - start) / 1000.0;
    printf("alerts %d, publishers %d, recipients %d, 1 KiB description, 3 categories\n", b.n, b.p,
           S_RECIPIENTS);
    printf("delivered to all %d/%d; publish failures %d\n", complete, b.n,
           atomic_load(&b.failures));
    printf("throughput %.0f alerts/s fully delivered (%.2f s)\n", secs > 0 ? complete / secs : 0.0,
           secs);
    s_percentiles("publish->confirm", confirm, b.n);
    if (complete > 0) {
        s_percentiles("publish->delivered (all 4)", delivered, complete);
    }
    free(confirm);
    free(delivered);
    free(b.t_publish);
    free(b.t_confirm);
    free(b.t_recv);
    return complete == b.n && atomic_load(&b.failures) == 0 ? 0 : 1;
}
