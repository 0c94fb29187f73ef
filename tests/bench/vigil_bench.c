/*
 * vigil-bench — the broker against its ceilings (issue 8).
 *
 * Sets up a throw-away network on 127.0.0.1 (vigilctl init, a free port),
 * starts the real vigil-broker and drives it with raw ZeroMQ DEALER clients
 * speaking the protocol directly over CurveZMQ with the agencies' keys: one
 * sender agency publishing pre-sealed 1 KiB alerts (2-4 categories, 4
 * recipient agencies), four recipient agencies checking each delivery and
 * sending pre-signed DELIVERED receipts, batched or one per alert. In the
 * same run it measures the ceilings (Ed25519 verify on one core, SQLite
 * group commit with synchronous=FULL on the store's disk, a ZeroMQ ROUTER
 * hop over CurveZMQ) and prints the results beside them as markdown.
 *
 *   vigil-bench [--bin DIR] [--alerts N] [--reps R] [--batch B] [--inflight W]
 *               [--offline N] [--scale N,N,...] [--tmp DIR] [--only-full]
 *               [--log-level LEVEL]   (broker.conf; default info, what vigilctl writes)
 *               [--network N [--wide R] [--connected C] [--wide-alerts W] [--wide-rate A]]
 *               [--store sqlite|postgresql]
 *
 * --network N adds the scaling row (issue 20): the same full-load phase in
 * the five-agency network and in one of N agencies with C of them connected,
 * then W alerts (A a second) that the policy sends to the R agencies of one
 * role, C of them connected; and what each per-agency cost is in both
 * networks (document, its verification, ZAP admission, policy, sealing).
 * --network-only runs only that. The row is run --reps times (medians).
 *
 * --store postgresql also runs the full-load and 50%-load phases with the
 * broker's store on PostgreSQL 15 (a primary with fsync on and a
 * synchronous standby streaming from it, both on loopback, started by the
 * bench as tests/support/vt_pg.h does), beside the SQLite figures of the
 * same run (docs/ha.md, docs/performance.md). store-server: it configures
 * those servers (synchronous_standby_names) as an operator would; the
 * store itself is read only through store.h.
 *
 * Progress goes to stderr; the report (markdown) to stdout, and one line
 * "RESULT full_alerts_per_s X" to stderr for scripts.
 */
#define _GNU_SOURCE

#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "vb_ceil.h"
#include "vb_load.h"
#include "vb_net.h"
#include "vb_wide.h"
#include "store.h"
#include "vigil/log.h"
#include "vt_pg.h"

#define S_REPS_MAX 9
#define S_SCALE_MAX 4
#define S_PHASE_TIMEOUT_MS 240000
#define S_FILL_CHUNK 50000 /* history alerts made and sent per fill step */

typedef struct s_opts {
    char bin[VB_PATH_MAX];     /* vigil-broker and vigilctl */
    const char *tmp;           /* scratch parent, NULL: $TMPDIR or /tmp */
    size_t alerts;             /* alerts per measured phase */
    int reps;                  /* repetitions (medians) */
    size_t batch;              /* alerts per batched DELIVERED receipt */
    int inflight;              /* broker.conf inflight */
    size_t offline;            /* alerts published with one agency offline (0: skip) */
    size_t scale[S_SCALE_MAX]; /* stored history sizes for the scaling run */
    size_t n_scale;            /* how many */
    bool only_full;            /* just the full-load phase (for the peer script) */
    const char *log_level;     /* broker.conf log_level */
    const char *perf_file;     /* perf record the broker in the first full-load phase */
    size_t network;            /* agencies in the scaling row's network (0: no row) */
    size_t wide;               /* agencies of the role a wide alert must reach */
    size_t connected;          /* agencies connected in the big network */
    size_t wide_alerts;        /* wide alerts sent */
    double wide_rate;          /* wide alerts offered per second */
    bool network_only;         /* only the scaling row */
    bool postgresql;           /* --store postgresql: the PostgreSQL phases too */
} s_opts;

/* One repetition on PostgreSQL. */
typedef struct s_pgrep {
    vb_result full;  /* full load, batched receipts */
    vb_result paced; /* 50% of its full load */
} s_pgrep;

typedef struct s_rep {
    double verify_per_s;      /* Ed25519 verifications/s, one core */
    vb_sqlite_ceil sql;       /* SQLite group commit, 1 KiB rows */
    vb_sqlite_ceil sql_small; /* ... 64-byte rows */
    vb_sqlite_ceil sql_batch; /* ... 64-byte rows, 1000 per commit */
    double router_per_s;      /* ZeroMQ ROUTER hop, inbound frames/s */
    vb_result full;           /* full load, batched receipts */
    vb_result paced;          /* 50% of full, batched receipts */
    vb_result single;         /* full load, one receipt per alert */
    vb_result open;           /* full load, receivers verify + open */
    double rows_per_alert;    /* store rows written per alert */
    char rows_by_table[1024]; /* rows per alert, by kind of row */
    size_t envelope_bytes;    /* one signed envelope */
} s_rep;

static void
s_usage(void)
{
    fprintf(stderr, "usage: vigil-bench [--bin DIR] [--alerts N] [--reps R] [--batch B]\n"
                    "       [--inflight W] [--offline N] [--scale N,N,...] [--tmp DIR]"
                    " [--only-full]\n       [--log-level info|warn] [--store sqlite|postgresql]"
                    "\n       [--network N [--wide R] [--connected C] [--wide-alerts W]"
                    " [--wide-rate A] [--network-only]]\n");
}

static bool
s_parse_scale(s_opts *o, const char *text)
{
    char *copy = strdup(text), *save = NULL;
    o->n_scale = 0;
    for (char *t = strtok_r(copy, ",", &save); t != NULL && o->n_scale < S_SCALE_MAX;
         t = strtok_r(NULL, ",", &save)) {
        o->scale[o->n_scale++] = strtoull(t, NULL, 10);
    }
    free(copy);
    return true;
}

static bool
s_parse(s_opts *o, int argc, char **argv)
{
    static const struct option longs[] = {{"bin", 1, 0, 'b'},
                                          {"alerts", 1, 0, 'n'},
                                          {"reps", 1, 0, 'r'},
                                          {"batch", 1, 0, 'B'},
                                          {"inflight", 1, 0, 'w'},
                                          {"offline", 1, 0, 'o'},
                                          {"scale", 1, 0, 's'},
                                          {"tmp", 1, 0, 't'},
                                          {"only-full", 0, 0, 'f'},
                                          {"log-level", 1, 0, 'l'},
                                          {"perf", 1, 0, 'p'},
                                          {"network", 1, 0, 'N'},
                                          {"wide", 1, 0, 'W'},
                                          {"connected", 1, 0, 'C'},
                                          {"wide-alerts", 1, 0, 'a'},
                                          {"wide-rate", 1, 0, 'R'},
                                          {"network-only", 0, 0, 'O'},
                                          {"store", 1, 0, 'S'},
                                          {0, 0, 0, 0}};
    char self[VB_PATH_MAX];
    snprintf(self, sizeof self, "%s", argv[0]);
    *o = (s_opts){.alerts = 20000,
                  .reps = 3,
                  .batch = 128,
                  .inflight = 1024,
                  .offline = 100000,
                  .log_level = "info",
                  .wide = 500,
                  .connected = 200,
                  .wide_alerts = 200,
                  .wide_rate = 5};
    snprintf(o->bin, sizeof o->bin, "%s", dirname(self));
    s_parse_scale(o, "10000,100000");
    for (int c; (c = getopt_long(argc, argv, "", longs, NULL)) != -1;) {
        switch (c) {
        case 'b':
            snprintf(o->bin, sizeof o->bin, "%s", optarg);
            break;
        case 'n':
            o->alerts = strtoull(optarg, NULL, 10);
            break;
        case 'r':
            o->reps = atoi(optarg);
            break;
        case 'B':
            o->batch = strtoull(optarg, NULL, 10);
            break;
        case 'w':
            o->inflight = atoi(optarg);
            break;
        case 'o':
            o->offline = strtoull(optarg, NULL, 10);
            break;
        case 's':
            s_parse_scale(o, optarg);
            break;
        case 't':
            o->tmp = optarg;
            break;
        case 'f':
            o->only_full = true;
            break;
        case 'l':
            o->log_level = optarg;
            break;
        case 'p':
            o->perf_file = optarg;
            break;
        case 'N':
            o->network = strtoull(optarg, NULL, 10);
            break;
        case 'W':
            o->wide = strtoull(optarg, NULL, 10);
            break;
        case 'C':
            o->connected = strtoull(optarg, NULL, 10);
            break;
        case 'a':
            o->wide_alerts = strtoull(optarg, NULL, 10);
            break;
        case 'R':
            o->wide_rate = strtod(optarg, NULL);
            break;
        case 'O':
            o->network_only = true;
            break;
        case 'S':
            if (strcmp(optarg, "postgresql") != 0 && strcmp(optarg, "sqlite") != 0) {
                return false;
            }
            o->postgresql = strcmp(optarg, "postgresql") == 0;
            break;
        default:
            return false;
        }
    }
    if (optind != argc || o->alerts < 100 || o->reps < 1 || o->reps > S_REPS_MAX || o->batch < 1) {
        return false;
    }
    if (o->network != 0 && (o->network < 16 || o->wide < 2 || o->wide + 8 > o->network ||
                            o->connected < VB_RECIPIENTS + 1 || o->connected > o->wide ||
                            o->wide_alerts < 1 || o->wide_rate <= 0)) {
        fprintf(stderr, "vigil-bench: --network N needs 4 < C <= R and R + 8 <= N\n");
        return false;
    }
    return true;
}

/* A fresh network with the bench's broker.conf, broker started. */
static vg_err
s_net_up(vb_net **out, const s_opts *o, vg_reason *why)
{
    char inflight[64], level[64];
    snprintf(inflight, sizeof inflight, "inflight = %d", o->inflight);
    snprintf(level, sizeof level, "log_level = %s", o->log_level);
    const char *conf[] = {level, inflight, NULL};
    vg_err rc = vb_net_new(out, o->bin, o->tmp, conf, why);
    if (rc == VG_OK) {
        rc = vb_net_start(*out, why);
        if (rc != VG_OK) {
            vb_net_destroy(out, true);
        }
    }
    return rc;
}

/* Makes a set and its receipts, runs one phase, frees them. */
static vg_err
s_phase(vb_result *res, vb_net *net, const char *name, size_t n, bool sealed, size_t batch,
        double rate, bool open, int offline_idx, size_t *envelope_bytes, vg_reason *why)
{
    vb_set *set = NULL;
    vb_receipts *rc[VB_RECIPIENTS] = {0};
    fprintf(stderr, "  %-28s %zu alerts (%s), receipts of %zu...", name, n,
            sealed ? "sealed" : "re-signed copies", batch);
    vg_err err = vb_set_new(&set, net, n, sealed, 2, why);
    if (err == VG_OK) {
        err = vb_receipts_new(rc, net, set, batch, why);
    }
    if (err == VG_OK) {
        vb_phase_spec spec = {.name = name,
                              .set = set,
                              .receipts = rc,
                              .online = {true, true, true, true},
                              .open = open,
                              .rate = rate,
                              .window = 2000,
                              .timeout_ms = S_PHASE_TIMEOUT_MS};
        if (offline_idx >= 0) {
            spec.online[offline_idx] = false;
        }
        err = vb_phase_run(res, net, &spec, why);
    }
    if (err == VG_OK && envelope_bytes != NULL) {
        *envelope_bytes = set->envelope_bytes;
    }
    if (err == VG_OK) {
        fprintf(stderr, " %.0f alerts/s%s (confirm p99 %.2f ms, delivered p99 %.2f ms)\n",
                res->alerts_per_s, res->complete ? "" : " INCOMPLETE", res->confirm.p99,
                res->delivered.p99);
    }
    vb_receipts_destroy(rc);
    vb_set_destroy(&set);
    return err;
}

static void
s_ceilings(s_rep *r, const vb_net *net)
{
    uint8_t msg[1600];
    randombytes_buf(msg, sizeof msg);
    r->verify_per_s = vb_ceil_verify(net->sender_keys, msg,
                                     r->envelope_bytes ? r->envelope_bytes : sizeof msg, 1500);
    char dir[VB_PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/broker/store", net->net);
    r->sql = vb_ceil_sqlite(dir, 1024, 100, 2000);
    r->sql_small = vb_ceil_sqlite(dir, 64, 100, 2000);
    r->sql_batch = vb_ceil_sqlite(dir, 64, 1000, 2000);
    /* now and then a run loses frames and gives no figure (it says so): try again */
    r->router_per_s = 0;
    for (int t = 0; t < 3 && r->router_per_s == 0; t++) {
        r->router_per_s = vb_ceil_router(VB_RECIPIENTS, 1024, 100000, 30000);
    }
    fprintf(stderr,
            "  ceilings: verify %.0f/s, sqlite %.0f rows/s (commit p99 %.2f ms), "
            "router %.0f frames/s\n",
            r->verify_per_s, r->sql.rows_per_s, r->sql.commit_p99_ms, r->router_per_s);
}

/* One repetition: a fresh network, the ceilings, the four phases. */
static vg_err
s_one_rep(s_rep *r, const s_opts *o, vb_result *offline, const char *perf_file, vg_reason *why)
{
    vb_net *net = NULL;
    vb_result warm;
    vg_err rc = s_net_up(&net, o, why);
    if (rc == VG_OK) {
        rc = s_phase(&warm, net, "warm-up", 2000, false, o->batch, 0, false, -1, NULL, why);
    }
    vb_rows rows_before, rows_after;
    if (rc == VG_OK) {
        vb_store_rows(net, &rows_before);
    }
    pid_t perf = rc == VG_OK && perf_file != NULL ? vb_perf_start(net->pid, perf_file) : 0;
    if (rc == VG_OK) {
        rc = s_phase(&r->full, net, "full load", o->alerts, true, o->batch, 0, false, -1,
                     &r->envelope_bytes, why);
    }
    vb_perf_stop(perf);
    if (rc == VG_OK) { /* what the full-load phase wrote, per alert */
        vb_store_rows(net, &rows_after);
        r->rows_per_alert =
            vb_rows_per_alert(&rows_before, &rows_after, r->rows_by_table, sizeof r->rows_by_table);
    }
    if (rc == VG_OK && !o->only_full) {
        double rate = r->full.alerts_per_s * 0.5;
        rc = s_phase(&r->paced, net, "50% load", o->alerts / 2, true, o->batch, rate, false, -1,
                     NULL, why);
    }
    if (rc == VG_OK && !o->only_full) {
        rc = s_phase(&r->single, net, "one receipt per alert", o->alerts, false, 1, 0, false, -1,
                     NULL, why);
    }
    if (rc == VG_OK && !o->only_full) {
        rc = s_phase(&r->open, net, "receivers verify+open", o->alerts / 2, true, o->batch, 0, true,
                     -1, NULL, why);
    }
    if (rc == VG_OK) {
        s_ceilings(r, net);
    }
    if (rc == VG_OK && offline != NULL) {
        rc = s_phase(offline, net, "home-office offline", o->offline, false, o->batch, 0, false, 2,
                     NULL, why);
    }
    vb_net_destroy(&net, rc != VG_OK);
    return rc;
}

/* ---- PostgreSQL ------------------------------------------------------------------ */

/* A primary (fsync on) and a synchronous standby "db2" streaming from it. */
static void
s_pg_up(vt_pg **primary, vt_pg **standby)
{
    vt_pg_opts po = {.fsync = true};
    *primary = vt_pg_start(&po);
    *standby = vt_pg_start_standby(*primary, "db2");
    vt_pg_exec(*primary, "postgres", "ALTER SYSTEM SET synchronous_standby_names = 'db2'");
    vt_pg_exec(*primary, "postgres", "SELECT pg_reload_conf()");
    PGconn *c = vt_pg_connect(*primary, "postgres", NULL);
    for (int i = 0; i < 500; i++) { /* until db2 streams as the synchronous standby */
        PGresult *r = vt_pg_query(c, "SELECT count(*) FROM pg_stat_replication"
                                     " WHERE application_name = 'db2' AND sync_state = 'sync'");
        bool sync = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "1") == 0;
        PQclear(r);
        if (sync) {
            break;
        }
        vb_sleep_ms(20);
    }
    PQfinish(c);
}

/* One repetition with the store on PostgreSQL: warm-up, full, 50%. */
static vg_err
s_pg_rep(s_pgrep *r, const s_opts *o, vg_reason *why)
{
    vt_pg *primary = NULL, *standby = NULL;
    s_pg_up(&primary, &standby);
    char *owner = vt_pg_dsn(primary, "vigil", "vigil_owner");
    char *dsn = vt_pg_dsn(primary, "vigil", "vigil_broker");
    vgb_store *schema = NULL;
    vg_err rc = vgb_store_open_dsn(&schema, owner, why); /* as vigil-pg-migrate */
    vgb_store_destroy(&schema);
    char inflight[64], level[64];
    snprintf(inflight, sizeof inflight, "inflight = %d", o->inflight);
    snprintf(level, sizeof level, "log_level = %s", o->log_level);
    const char *conf[] = {level, inflight, NULL};
    vb_net *net = NULL;
    rc = rc == VG_OK ? vb_net_new(&net, o->bin, o->tmp, conf, why) : rc;
    rc = rc == VG_OK ? vb_net_use_postgresql(net, dsn, why) : rc;
    rc = rc == VG_OK ? vb_net_start(net, why) : rc;
    vb_result warm;
    if (rc == VG_OK) {
        rc = s_phase(&warm, net, "pg warm-up", 2000, false, o->batch, 0, false, -1, NULL, why);
    }
    if (rc == VG_OK) {
        rc = s_phase(&r->full, net, "pg full load", o->alerts, true, o->batch, 0, false, -1, NULL,
                     why);
    }
    if (rc == VG_OK) {
        rc = s_phase(&r->paced, net, "pg 50% load", o->alerts / 2, true, o->batch,
                     r->full.alerts_per_s * 0.5, false, -1, NULL, why);
    }
    vb_net_destroy(&net, rc != VG_OK);
    vt_pg_stop(&standby);
    vt_pg_stop(&primary);
    free(owner);
    free(dsn);
    return rc;
}

static double s_median(double *v, int n);

static void
s_print_pg(const s_rep *reps, const s_pgrep *pg, int n, const s_opts *o)
{
    double sq[S_REPS_MAX], pq[S_REPS_MAX], sq99[S_REPS_MAX], pq99[S_REPS_MAX], pq50[S_REPS_MAX];
    double pd99[S_REPS_MAX];
    for (int i = 0; i < n; i++) {
        sq[i] = reps[i].full.alerts_per_s;
        pq[i] = pg[i].full.alerts_per_s;
        sq99[i] = reps[i].paced.confirm.p99;
        pq99[i] = pg[i].paced.confirm.p99;
        pq50[i] = pg[i].paced.confirm.p50;
        pd99[i] = pg[i].paced.delivered.p99;
    }
    double s_full = s_median(sq, n), p_full = s_median(pq, n);
    double s_p99 = s_median(sq99, n), p_p99 = s_median(pq99, n);
    printf("### PostgreSQL back end (issue 14; same run, median of %d)\n\n", n);
    printf("PostgreSQL 15 on loopback: a primary with fsync on and a synchronous standby "
           "(`synchronous_standby_names = 'db2'`, fsync off on the standby: it runs on the same "
           "disk); the broker leads it alone (`[store] backend = postgresql`). %zu alerts per "
           "phase.\n\n",
           o->alerts);
    printf("| store | full load, alerts/s | 50%% load: confirm p50 / p99 ms | 50%% load: "
           "delivered p99 ms |\n|---|---:|---:|---:|\n");
    printf("| SQLite (WAL, synchronous=FULL) | %.0f | - / %.2f | - |\n", s_full, s_p99);
    printf("| PostgreSQL, primary + synchronous standby | %.0f | %.2f / %.2f | %.2f |\n\n", p_full,
           s_median(pq50, n), p_p99, s_median(pd99, n));
    printf("Issue 14 aims: PostgreSQL >= 50%% of SQLite's throughput: %.0f / %.0f = **%.0f%%** "
           "(%s); p99 publish -> confirm at half load <= 20 ms: **%.2f ms** (%s). Takeover time "
           "is measured by the failover tests, not here (docs/ha.md).\n\n",
           p_full, s_full, 100.0 * p_full / s_full, p_full >= 0.5 * s_full ? "met" : "not met",
           p_p99, p_p99 <= 20.0 ? "met" : "not met");
}

/* Stored history grows; a measured phase at each size. */
static vg_err
s_scaling(vb_result *res, int64_t *stored, const s_opts *o, vg_reason *why)
{
    vb_net *net = NULL;
    vg_err rc = s_net_up(&net, o, why);
    for (size_t k = 0; rc == VG_OK && k < o->n_scale; k++) {
        int64_t have = vb_store_alerts(net);
        while (rc == VG_OK && have < (int64_t)o->scale[k]) {
            size_t step = o->scale[k] - (size_t)have;
            step = step > S_FILL_CHUNK ? S_FILL_CHUNK : step;
            vb_result fill;
            rc =
                s_phase(&fill, net, "history fill", step, false, o->batch, 0, false, -1, NULL, why);
            have = vb_store_alerts(net);
        }
        stored[k] = have;
        size_t n = o->alerts < 10000 ? o->alerts : 10000;
        if (rc == VG_OK) {
            rc = s_phase(&res[k], net, "measured on history", n, false, o->batch, 0, false, -1,
                         NULL, why);
        }
    }
    vb_net_destroy(&net, rc != VG_OK);
    return rc;
}

/* ---- the scaling row: a national network ------------------------------------------------ */

/* One network's side of the scaling row. */
typedef struct s_netside {
    size_t agencies;       /* cards in the document */
    size_t doc_bytes;      /* the signed document */
    double verify_ms;      /* vg_netdoc_verify (parse, check, index), median of 5 */
    double admit_us;       /* vg_netdoc_admit_transport, mean over every card's key */
    double required_us;    /* vg_netdoc_required for a 4-recipient alert's categories */
    double seal_ms;        /* vg_envelope_seal of a 4-recipient alert, mean */
    long idle_rss_kib;     /* broker VmRSS, started, no client */
    long conn_rss_kib;     /* ... with its agencies connected */
    size_t connected;      /* agencies connected during the full-load phase */
    vb_result full;        /* the 4-recipient full-load phase */
    double rows_per_alert; /* store rows per alert in it */
} s_netside;

static int s_cmp_d(const void *x, const void *y);

/* What the document costs a holder, measured in this process. */
static vg_err
s_lib_costs(s_netside *out, const vb_net *net, vg_reason *why)
{
    char path[VB_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/admin/admin.key", net->net);
    vg_keyset *admin = NULL;
    vg_err rc = vg_keyset_load(&admin, path, why);
    if (rc != VG_OK) {
        return rc;
    }
    size_t len = 0;
    const uint8_t *bytes = vg_netdoc_signed_bytes(net->doc, &len);
    out->doc_bytes = len;
    out->agencies = vg_netdoc_n_agencies(net->doc);
    double t[5];
    for (int k = 0; k < 5 && rc == VG_OK; k++) {
        vg_netdoc *d = NULL;
        int64_t t0 = vb_mono_ns();
        rc = vg_netdoc_verify(&d, bytes, len, vg_keyset_sign_pk(admin), 0, why);
        t[k] = (double)(vb_mono_ns() - t0) / 1e6;
        vg_netdoc_destroy(&d);
    }
    vg_keyset_destroy(&admin);
    qsort(t, 5, sizeof t[0], s_cmp_d);
    out->verify_ms = t[2];
    int64_t t0 = vb_mono_ns();
    for (size_t i = 0; rc == VG_OK && i < out->agencies; i++) {
        vg_agency ag;
        vg_key_match m;
        vg_netdoc_agency_at(net->doc, i, &ag);
        rc = vg_netdoc_admit_transport(&m, net->doc, ag.transport_pk, vb_wall_ms(), why);
    }
    out->admit_us = (double)(vb_mono_ns() - t0) / 1e3 / (double)out->agencies;
    const char *cats[] = {"taxi", "cse"};
    t0 = vb_mono_ns();
    for (int k = 0; k < 1000 && rc == VG_OK; k++) {
        vg_strlist req = {0};
        rc = vg_netdoc_required(net->doc, cats, 2, VG_SEV_HIGH, vb_sender, &req);
        vg_strlist_fini(&req);
    }
    out->required_us = (double)(vb_mono_ns() - t0) / 1e3 / 1000.0;
    return rc;
}

static long
s_rss_kib(pid_t pid)
{
    vb_proc p = {0};
    return vb_proc_read(pid, &p) ? p.rss_kib : 0;
}

/* One network: its costs, the broker idle, connected, and under full load. */
static vg_err
s_netside_run(s_netside *out, vb_net *net, const s_opts *o, size_t n_idle, vg_reason *why)
{
    vb_result warm;
    vb_idle *idle = NULL;
    vg_err rc = s_lib_costs(out, net, why);
    if (rc == VG_OK) {
        vb_sleep_ms(1000);
        out->idle_rss_kib = s_rss_kib(net->pid);
        rc = n_idle > 0 ? vb_idle_start(&idle, net, 1, n_idle, why) : VG_OK;
    }
    out->connected = VB_RECIPIENTS + 1 + n_idle; /* the sender too */
    if (rc == VG_OK) {
        vb_sleep_ms(2000); /* every connection admitted and said Hello */
        out->conn_rss_kib = s_rss_kib(net->pid);
        rc = s_phase(&warm, net, "warm-up", 2000, false, o->batch, 0, false, -1, NULL, why);
    }
    vb_rows before, after;
    vb_store_rows(net, &before);
    size_t env_bytes = 0;
    int64_t t0 = vb_mono_ns();
    vb_set *sealed = NULL;
    if (rc == VG_OK) { /* the sealing cost, on one thread: 200 alerts */
        rc = vb_set_new(&sealed, net, 200, true, 1, why);
        out->seal_ms = (double)(vb_mono_ns() - t0) / 1e6 / 200.0;
        vb_set_destroy(&sealed);
    }
    if (rc == VG_OK) {
        rc = s_phase(&out->full, net, "full load (4 recipients)", o->alerts, true, o->batch, 0,
                     false, -1, &env_bytes, why);
        vb_store_rows(net, &after);
        char by[512];
        out->rows_per_alert = vb_rows_per_alert(&before, &after, by, sizeof by);
    }
    vb_idle_stop(&idle);
    return rc;
}

typedef struct s_scaling_row {
    s_netside small, big;    /* the five-agency network, the national one */
    vb_wide_result wide;     /* the wide alerts in the national one */
    double wide_rows_events; /* event rows per wide alert */
} s_scaling_row;

static vg_err
s_network_row(s_scaling_row *row, const s_opts *o, vg_reason *why)
{
    char inflight[64], level[64];
    snprintf(inflight, sizeof inflight, "inflight = %d", o->inflight);
    snprintf(level, sizeof level, "log_level = %s", o->log_level);
    const char *conf[] = {level, inflight, NULL};
    fprintf(stderr, "scaling row: 5 agencies\n");
    vb_net *net = NULL;
    vg_err rc = s_net_up(&net, o, why);
    rc = rc == VG_OK ? s_netside_run(&row->small, net, o, 0, why) : rc;
    vb_net_destroy(&net, rc != VG_OK);
    if (rc != VG_OK) {
        return rc;
    }
    fprintf(stderr, "scaling row: %zu agencies, %zu of one role, %zu connected\n", o->network,
            o->wide, o->connected);
    rc = vb_net_new_national(&net, o->bin, o->tmp, conf, o->network, o->wide, why);
    if (rc == VG_OK && (rc = vb_net_start(net, why)) != VG_OK) {
        vb_net_destroy(&net, true);
        return rc;
    }
    /* Full load with the sender, 4 receivers and connected - 5 idle agencies. */
    rc = rc == VG_OK ? s_netside_run(&row->big, net, o, o->connected - VB_RECIPIENTS - 1, why) : rc;
    if (rc == VG_OK) {
        vb_wide_spec spec = {.n_alerts = o->wide_alerts,
                             .n_role = o->wide,
                             .n_connected = o->connected,
                             .rate = o->wide_rate,
                             .timeout_ms = S_PHASE_TIMEOUT_MS};
        fprintf(stderr, "  wide alerts: %zu to %zu agencies, %zu connected, %.1f/s...",
                o->wide_alerts, o->wide, o->connected, o->wide_rate);
        pid_t perf = o->perf_file != NULL && o->network_only
                         ? vb_perf_start(net->pid, o->perf_file)
                         : 0; /* --network-only --perf F: the wide phase is profiled */
        rc = vb_wide_phase(&row->wide, net, &spec, why);
        vb_perf_stop(perf);
        if (rc == VG_OK) {
            fprintf(stderr, " delivered p99 %.1f ms%s\n", row->wide.delivered.p99,
                    row->wide.complete ? "" : " INCOMPLETE");
        }
    }
    vb_net_destroy(&net, rc != VG_OK);
    return rc;
}

/* ---- report ---------------------------------------------------------------------------- */

static int
s_cmp_d(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static double
s_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, s_cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median of one field over the repetitions. */
#define S_MED(reps, n, expr)                                                                       \
    ({                                                                                             \
        double v_[S_REPS_MAX];                                                                     \
        for (int i_ = 0; i_ < (n); i_++) {                                                         \
            const s_rep *r_ = &(reps)[i_];                                                         \
            v_[i_] = (double)(expr);                                                               \
        }                                                                                          \
        s_median(v_, (n));                                                                         \
    })

static void
s_print_ceilings(const s_rep *reps, int n, const s_opts *o)
{
    double ver = S_MED(reps, n, r_->verify_per_s);
    double rows = S_MED(reps, n, r_->sql.rows_per_s);
    double p99 = S_MED(reps, n, r_->sql.commit_p99_ms);
    double cmax = S_MED(reps, n, r_->sql.commit_max_ms);
    double hop = S_MED(reps, n, r_->router_per_s);
    double rpa = S_MED(reps, n, r_->rows_per_alert);
    double small = S_MED(reps, n, r_->sql_small.rows_per_s);
    double batch = S_MED(reps, n, r_->sql_batch.rows_per_s);
    /* The broker commits a poll batch (up to 256 frames: hundreds to thousands of rows) at
     * once, so its store ceiling is the small-row rate at that commit size per row it writes. */
    double sql_alerts = batch / rpa;
    double tput = S_MED(reps, n, r_->full.alerts_per_s);
    double per_alert = 1.0 + (double)VB_RECIPIENTS / (double)o->batch;
    printf("### Ceilings (same run, median of %d)\n\n", n);
    printf("| ceiling | rate | alerts/s it allows | vigil full load as a fraction |\n");
    printf("|---|---:|---:|---:|\n");
    printf("| Ed25519 verify, one core (libsodium, %zu-byte envelope) | %.0f /s | %.0f "
           "(%.3f verifications per alert: 1 + 4/%zu) | %.2f |\n",
           reps[0].envelope_bytes, ver, ver / per_alert, per_alert, o->batch,
           tput / (ver / per_alert));
    printf("| SQLite WAL synchronous=FULL, store's disk | 100 rows/commit: 1 KiB rows %.0f "
           "rows/s (commit p99 %.2f ms, max %.2f ms), 64 B rows %.0f rows/s; 1000 rows/commit "
           "of 64 B: %.0f rows/s | %.0f (%.1f rows per alert, counted in the store, at 1000 "
           "rows/commit) | %.2f |\n",
           rows, p99, cmax, small, batch, sql_alerts, rpa, tput / sql_alerts);
    printf("| ZeroMQ ROUTER hop, CurveZMQ, 1 KiB to 4 DEALERs with acks | %.0f frames in/s "
           "(%.0f out/s) | %.0f | %.2f |\n\n",
           hop, hop * VB_RECIPIENTS, hop, tput / hop);
    printf("Store rows written per alert during the full-load phase, by kind (first "
           "repetition): %s.\n\n",
           reps[0].rows_by_table);
    printf("Issue 8 target: throughput >= 80%% of one core's verification rate: %.0f / %.0f = "
           "**%.0f%%** (%s).\n\n",
           tput, ver, 100.0 * tput / ver, tput >= 0.8 * ver ? "met" : "not met");
}

static void
s_print_row(const char *name, const vb_result *r, bool lat)
{
    printf("| %s | %.0f | ", name, r->alerts_per_s);
    if (lat) {
        printf("%.2f / %.2f / %.2f / %.2f | %.2f / %.2f / %.2f / %.2f | ", r->confirm.p50,
               r->confirm.p99, r->confirm.p999, r->confirm.max, r->delivered.p50, r->delivered.p99,
               r->delivered.p999, r->delivered.max);
    } else {
        printf("- | - | ");
    }
    printf("%.3f | %.1f | %s%s |\n", r->cpu_per_1k, (double)r->hwm_kib / 1024.0,
           r->complete ? "complete" : "INCOMPLETE",
           r->rejected || r->bad_deliveries ? " (errors)" : "");
}

/* The repetition whose full-load throughput is the median: its rows are shown. */
static const s_rep *
s_median_rep(const s_rep *reps, int n, double (*key)(const s_rep *))
{
    double med = S_MED(reps, n, key(r_));
    const s_rep *best = &reps[0];
    for (int i = 0; i < n; i++) {
        double d = key(&reps[i]) - med, bd = key(best) - med;
        best = (d < 0 ? -d : d) < (bd < 0 ? -bd : bd) ? &reps[i] : best;
    }
    return best;
}

static double
s_key_full(const s_rep *r)
{
    return r->full.alerts_per_s;
}
static double
s_key_paced(const s_rep *r)
{
    return r->paced.delivered.p99;
}
static double
s_key_single(const s_rep *r)
{
    return r->single.alerts_per_s;
}
static double
s_key_open(const s_rep *r)
{
    return r->open.alerts_per_s;
}

/* Where the machine's CPU went in the full-load phase. */
static void
s_print_cpu(const vb_result *full)
{
    printf("CPU in the full-load row: the machine's %ld cores were busy %.2f cores on average; "
           "per 1000 alerts the broker (all its threads) used %.3f s and the clients (the "
           "sender, 4 receivers and their ZeroMQ I/O threads, in vigil-bench) %.3f s.\n\n",
           sysconf(_SC_NPROCESSORS_ONLN), full->machine_cores, full->cpu_per_1k,
           full->clients_per_1k);
}

static void
s_print_results(const s_rep *reps, int n, const s_opts *o)
{
    printf("### Delivery (%zu alerts per phase; each row is the median run of %d)\n\n", o->alerts,
           n);
    printf("| phase | alerts/s (all 4 delivered + receipts confirmed) | publish->confirm ms "
           "p50 / p99 / p99.9 / max | publish->delivered (all 4) ms p50 / p99 / p99.9 / max | "
           "broker CPU s / 1000 alerts | broker peak RSS MiB | check |\n");
    printf("|---|---:|---|---|---:|---:|---|\n");
    char name[128];
    snprintf(name, sizeof name, "full load, receipts of %zu", o->batch);
    const vb_result *full = &s_median_rep(reps, n, s_key_full)->full;
    s_print_row(name, full, true);
    if (o->only_full) {
        printf("\n");
        s_print_cpu(full);
        return;
    }
    const s_rep *pr = s_median_rep(reps, n, s_key_paced);
    snprintf(name, sizeof name, "paced at 50%% (%.0f/s offered)", pr->full.alerts_per_s * 0.5);
    s_print_row(name, &pr->paced, true);
    s_print_row("full load, one receipt per alert", &s_median_rep(reps, n, s_key_single)->single,
                true);
    s_print_row("full load, receivers verify + open each delivery",
                &s_median_rep(reps, n, s_key_open)->open, true);
    printf("\n");
    s_print_cpu(full);
    printf("All figures by phase and repetition: alerts/s");
    for (int i = 0; i < n; i++) {
        printf(" | rep %d: full %.0f, 50%% p99 confirm %.2f ms / delivered %.2f ms, one-receipt "
               "%.0f, open %.0f",
               i + 1, reps[i].full.alerts_per_s, reps[i].paced.confirm.p99,
               reps[i].paced.delivered.p99, reps[i].single.alerts_per_s, reps[i].open.alerts_per_s);
    }
    printf("\n\n");
}

static void
s_print_offline(const vb_result *r, size_t n)
{
    printf("### One recipient agency offline (home-office; %zu alerts, its backlog grows in the "
           "store)\n\n",
           n);
    printf("| alerts/s (3 online agencies) | backlog in store after (pending rows) | broker RSS "
           "before -> after MiB | peak RSS MiB | CPU s / 1000 |\n|---:|---:|---|---:|---:|\n");
    printf("| %.0f | %lld | %.1f -> %.1f | %.1f | %.3f |\n\n", r->alerts_per_s,
           (long long)r->store_pending, (double)r->rss_start_kib / 1024.0,
           (double)r->rss_end_kib / 1024.0, (double)r->hwm_kib / 1024.0, r->cpu_per_1k);
}

static void
s_print_scaling(const vb_result *res, const int64_t *stored, size_t k)
{
    printf("### Scaling with stored history\n\n| alerts already stored | alerts/s | "
           "publish->delivered p99 ms | broker RSS after MiB | peak RSS MiB | CPU s / 1000 "
           "|\n|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < k; i++) {
        printf("| %lld | %.0f | %.2f | %.1f | %.1f | %.3f |\n", (long long)stored[i],
               res[i].alerts_per_s, res[i].delivered.p99, (double)res[i].rss_end_kib / 1024.0,
               (double)res[i].hwm_kib / 1024.0, res[i].cpu_per_1k);
    }
    if (k >= 2 && res[0].alerts_per_s > 0) {
        printf("\nThroughput at %lld stored vs %lld: %.0f%%; peak RSS %.0f%%.\n",
               (long long)stored[k - 1], (long long)stored[0],
               100.0 * res[k - 1].alerts_per_s / res[0].alerts_per_s,
               100.0 * (double)res[k - 1].hwm_kib / (double)res[0].hwm_kib);
    }
    printf("\n");
}

static bool
s_ok(const vb_result *r)
{
    return r->complete && r->rejected == 0 && r->bad_deliveries == 0;
}

/* Every phase that ran delivered, receipted and confirmed everything. */
static bool
s_all_ok(const s_rep *reps, int n, const vb_result *off, const vb_result *scale, const s_opts *o)
{
    bool ok = true;
    for (int i = 0; i < n; i++) {
        ok = ok && s_ok(&reps[i].full);
        ok = ok && (o->only_full ||
                    (s_ok(&reps[i].paced) && s_ok(&reps[i].single) && s_ok(&reps[i].open)));
    }
    ok = ok && (o->only_full || o->offline == 0 || (off->complete && off->rejected == 0));
    for (size_t k = 0; !o->only_full && k < o->n_scale; k++) {
        ok = ok && s_ok(&scale[k]);
    }
    return ok;
}

static const char *
s_met(bool ok)
{
    return ok ? "**met**" : "**not met**";
}

/* Issue 8's targets against the medians, with the ratios. */
static void
s_print_targets(const s_rep *reps, int n, const vb_result *off, const vb_result *scale,
                const int64_t *stored, const s_opts *o)
{
    double ver = S_MED(reps, n, r_->verify_per_s);
    double tput = S_MED(reps, n, r_->full.alerts_per_s);
    double cp99 = S_MED(reps, n, r_->paced.confirm.p99);
    double dp99 = S_MED(reps, n, r_->paced.delivered.p99);
    printf("### Issue 8 targets (medians of %d)\n\n| target | measured | ratio | |\n"
           "|---|---|---:|---|\n",
           n);
    printf("| throughput >= 80%% of one core's Ed25519 verify rate | %.0f alerts/s vs %.0f "
           "verify/s | %.1f%% of verify rate (needs 80%%; %.1fx short) | %s |\n",
           tput, ver, 100.0 * tput / ver, 0.8 * ver / tput, s_met(tput >= 0.8 * ver));
    printf("| p99 publish->confirm <= 5 ms at 50%% load | %.2f ms | %.2fx the target | %s |\n",
           cp99, cp99 / 5.0, s_met(cp99 <= 5.0));
    printf("| p99 publish->delivered <= 10 ms at 50%% load | %.2f ms | %.2fx the target | %s |\n",
           dp99, dp99 / 10.0, s_met(dp99 <= 10.0));
    if (o->offline > 0) {
        double g = (double)off->hwm_kib / (double)(off->rss_start_kib ? off->rss_start_kib : 1);
        printf("| RSS flat (within 10%%) with a %zu-alert backlog for an offline agency | %.1f -> "
               "peak %.1f MiB | %.2f | %s |\n",
               o->offline, (double)off->rss_start_kib / 1024.0, (double)off->hwm_kib / 1024.0, g,
               s_met(g <= 1.10));
    }
    if (o->n_scale >= 2) {
        size_t k = o->n_scale - 1;
        double rr = (double)scale[k].hwm_kib / (double)(scale[0].hwm_kib ? scale[0].hwm_kib : 1);
        double tr = scale[k].alerts_per_s / (scale[0].alerts_per_s > 0 ? scale[0].alerts_per_s : 1);
        printf("| RSS flat (within 10%%) from %lld to %lld stored alerts | peak %.1f -> %.1f MiB "
               "| %.2f | %s |\n",
               (long long)stored[0], (long long)stored[k], (double)scale[0].hwm_kib / 1024.0,
               (double)scale[k].hwm_kib / 1024.0, rr, s_met(rr <= 1.10));
        printf(
            "| throughput falls <= 10%% from %lld to %lld stored | %.0f -> %.0f alerts/s (broker "
            "CPU per 1000 alerts %.3f -> %.3f s) | %.2f | %s |\n",
            (long long)stored[0], (long long)stored[k], scale[0].alerts_per_s,
            scale[k].alerts_per_s, scale[0].cpu_per_1k, scale[k].cpu_per_1k, tr, s_met(tr >= 0.90));
    }
    printf("\n");
}

static double
s_ratio(double big, double small)
{
    return small > 0 ? big / small : 0;
}

/* The ratios issue 20 sets targets on, for one run of the scaling row. */
static double
s_net_rss(const s_scaling_row *r)
{
    return s_ratio((double)r->big.full.hwm_kib, (double)r->small.full.hwm_kib);
}
static double
s_net_conn_rss(const s_scaling_row *r)
{
    return s_ratio((double)r->big.conn_rss_kib, (double)r->small.conn_rss_kib);
}
static double
s_net_cpu(const s_scaling_row *r)
{
    return s_ratio(r->big.full.cpu_per_1k, r->small.full.cpu_per_1k);
}
static double
s_net_wide_p99(const s_scaling_row *r)
{
    return r->wide.complete ? r->wide.delivered.p99 : 1e12;
}

/* Median over n runs of the scaling row of key(row). */
static double
s_net_median(const s_scaling_row *rows, int n, double (*key)(const s_scaling_row *))
{
    double v[S_REPS_MAX];
    for (int i = 0; i < n; i++) {
        v[i] = key(&rows[i]);
    }
    return s_median(v, n);
}

static void
s_print_network(const s_scaling_row *rows, int n, const s_opts *o)
{
    /* The tables show the run whose wide alerts' p99 is the median; the targets are the
     * medians of each ratio over all runs. */
    double mid = s_net_median(rows, n, s_net_wide_p99);
    const s_scaling_row *r = &rows[0];
    for (int i = 0; i < n; i++) {
        r = s_net_wide_p99(&rows[i]) == mid ? &rows[i] : r;
    }
    const s_netside *a = &r->small, *b = &r->big;
    const vb_wide_result *w = &r->wide;
    printf("### Scaling with the network: %zu agencies (issue 20)\n\n", o->network);
    printf(
        "%d runs, each a fresh pair of networks; the tables are the run with the median wide-alert "
        "p99, the targets below are medians over the runs. ",
        n);
    printf("Both columns in the same run. The full-load phase is the same in both (%zu alerts "
           "from police to 4 agencies, receipts of %zu); in the national network %zu agencies "
           "are connected meanwhile (the sender, the 4 recipients, %zu agencies that only keep "
           "their connection).\n\n",
           o->alerts, o->batch, b->connected, b->connected - VB_RECIPIENTS - 1);
    printf("| per-agency cost | five agencies (+ oversight: %zu cards) | %zu agencies | ratio "
           "|\n|---|---:|---:|---:|\n",
           a->agencies, b->agencies);
    printf("| signed network document, bytes | %zu | %zu | %.0f |\n", a->doc_bytes, b->doc_bytes,
           s_ratio((double)b->doc_bytes, (double)a->doc_bytes));
    printf("| its verification (signature, parse, checks, indexes), ms | %.2f | %.2f | %.0f |\n",
           a->verify_ms, b->verify_ms, s_ratio(b->verify_ms, a->verify_ms));
    printf("| ZAP admission of one transport key (vg_netdoc_admit_transport), µs | %.2f | %.2f | "
           "%.2f |\n",
           a->admit_us, b->admit_us, s_ratio(b->admit_us, a->admit_us));
    printf("| policy evaluation of a 4-recipient alert (vg_netdoc_required), µs | %.2f | %.2f | "
           "%.2f |\n",
           a->required_us, b->required_us, s_ratio(b->required_us, a->required_us));
    printf("| sealing a 4-recipient alert on the sender, ms | %.3f | %.3f | %.2f |\n", a->seal_ms,
           b->seal_ms, s_ratio(b->seal_ms, a->seal_ms));
    printf("| broker RSS, started, nobody connected, MiB | %.1f | %.1f | %.2f |\n",
           (double)a->idle_rss_kib / 1024, (double)b->idle_rss_kib / 1024,
           s_ratio((double)b->idle_rss_kib, (double)a->idle_rss_kib));
    printf("| broker RSS, %zu vs %zu agencies connected, MiB | %.1f | %.1f | %.2f |\n",
           a->connected, b->connected, (double)a->conn_rss_kib / 1024,
           (double)b->conn_rss_kib / 1024,
           s_ratio((double)b->conn_rss_kib, (double)a->conn_rss_kib));
    printf("| full load: alerts/s | %.0f | %.0f | %.2f |\n", a->full.alerts_per_s,
           b->full.alerts_per_s, s_ratio(b->full.alerts_per_s, a->full.alerts_per_s));
    printf("| full load: broker CPU s / 1000 alerts | %.3f | %.3f | %.2f |\n", a->full.cpu_per_1k,
           b->full.cpu_per_1k, s_ratio(b->full.cpu_per_1k, a->full.cpu_per_1k));
    printf("| full load: broker peak RSS, MiB | %.1f | %.1f | %.2f |\n",
           (double)a->full.hwm_kib / 1024, (double)b->full.hwm_kib / 1024,
           s_ratio((double)b->full.hwm_kib, (double)a->full.hwm_kib));
    printf("| full load: publish->delivered p99, ms | %.2f | %.2f | %.2f |\n",
           a->full.delivered.p99, b->full.delivered.p99,
           s_ratio(b->full.delivered.p99, a->full.delivered.p99));
    printf("| full load: store rows per alert | %.1f | %.1f | %.2f |\n\n", a->rows_per_alert,
           b->rows_per_alert, s_ratio(b->rows_per_alert, a->rows_per_alert));
    printf("**Wide alerts**: %zu alerts that the policy sends to every agency of one role (%zu "
           "recipients, each alert sealed to all: %zu-byte envelope, %.1f ms to seal on the "
           "sender), offered at %.1f/s, %zu of the recipients connected and receipting each "
           "delivery:\n\n",
           o->wide_alerts, w->recipients, w->envelope_bytes, w->seal_ms, o->wide_rate,
           o->connected);
    printf("| publish->confirm ms p50 / p99 / max | publish->delivered to all %zu connected, ms "
           "p50 / p99 / max | broker CPU ms per alert (per recipient) | broker peak RSS MiB | "
           "store rows per alert | check |\n|---|---|---:|---:|---:|---|\n",
           o->connected);
    printf("| %.2f / %.2f / %.2f | %.2f / %.2f / %.2f | %.2f (%.4f) | %.1f | %.0f | %s%s |\n\n",
           w->confirm.p50, w->confirm.p99, w->confirm.max, w->delivered.p50, w->delivered.p99,
           w->delivered.max, w->cpu_per_alert_ms,
           w->recipients ? w->cpu_per_alert_ms / (double)w->recipients : 0,
           (double)w->hwm_kib / 1024, w->rows_per_alert, w->complete ? "complete" : "INCOMPLETE",
           w->rejected || w->bad ? " (errors)" : "");
    printf("Store rows per wide alert, by kind: %s.\n\n", w->rows_by_kind);
    double rss = s_net_median(rows, n, s_net_rss);
    double crss = s_net_median(rows, n, s_net_conn_rss);
    double cpu = s_net_median(rows, n, s_net_cpu);
    bool all = true;
    for (int i = 0; i < n; i++) {
        all = all && rows[i].wide.complete && rows[i].wide.rejected == 0 && rows[i].wide.bad == 0;
    }
    printf("| issue 20 target (medians of %d) | measured | |\n|---|---|---|\n", n);
    printf("| broker RSS within 2x of the 5-agency figure: peak under full load | %.2fx | %s |\n",
           rss, s_met(rss <= 2.0));
    printf("| ... and with %zu vs %zu agencies connected, idle (every connection's CurveZMQ "
           "session and buffers) | %.2fx | %s |\n",
           b->connected, a->connected, crss, s_met(crss <= 2.0));
    printf("| per-alert broker CPU within 2x of the 5-agency figure | %.2fx | %s |\n", cpu,
           s_met(cpu <= 2.0));
    printf("| a %zu-recipient alert confirmed and delivered to all %zu connected, p99 "
           "publish->delivered <= 1 s | %.1f ms%s | %s |\n\n",
           w->recipients, o->connected, mid, all ? "" : " (a run INCOMPLETE or with errors)",
           s_met(all && mid <= 1000.0));
    printf("Every run: ");
    for (int i = 0; i < n; i++) {
        printf("%srun %d: peak RSS %.2fx, connected RSS %.2fx, CPU / alert %.2fx (%.3f vs %.3f "
               "s / 1000), wide p99 delivered %.1f ms%s",
               i ? "; " : "", i + 1, s_net_rss(&rows[i]), s_net_conn_rss(&rows[i]),
               s_net_cpu(&rows[i]), rows[i].big.full.cpu_per_1k, rows[i].small.full.cpu_per_1k,
               rows[i].wide.delivered.p99, rows[i].wide.complete ? "" : " INCOMPLETE");
    }
    printf(".\n\n");
}

int
main(int argc, char **argv)
{
    s_opts o;
    if (!s_parse(&o, argc, argv)) {
        s_usage();
        return 2;
    }
    if (sodium_init() < 0) {
        return 1;
    }
    static s_rep reps[S_REPS_MAX];
    static s_pgrep pgreps[S_REPS_MAX];
    vb_result offline = {0}, scale[S_SCALE_MAX] = {{0}};
    int64_t stored[S_SCALE_MAX] = {0};
    vg_reason why = {{0}};
    vg_err rc = VG_OK;
    static s_scaling_row rows[S_REPS_MAX];
    bool net_ok = true;
    for (int i = 0; rc == VG_OK && o.network > 0 && i < o.reps; i++) {
        fprintf(stderr, "scaling row %d/%d\n", i + 1, o.reps);
        rc = s_network_row(&rows[i], &o, &why);
        net_ok = net_ok && s_ok(&rows[i].small.full) && s_ok(&rows[i].big.full) &&
                 rows[i].wide.complete && rows[i].wide.rejected == 0 && rows[i].wide.bad == 0;
    }
    if (rc == VG_OK && o.network > 0 && o.network_only) {
        s_print_network(rows, o.reps, &o);
        return net_ok ? 0 : 1;
    }
    for (int i = 0; rc == VG_OK && i < o.reps; i++) {
        fprintf(stderr, "repetition %d/%d\n", i + 1, o.reps);
        rc = s_one_rep(&reps[i], &o, i == 0 && o.offline > 0 && !o.only_full ? &offline : NULL,
                       i == 0 ? o.perf_file : NULL, &why);
    }
    for (int i = 0; rc == VG_OK && o.postgresql && !o.only_full && i < o.reps; i++) {
        fprintf(stderr, "postgresql repetition %d/%d\n", i + 1, o.reps);
        rc = s_pg_rep(&pgreps[i], &o, &why);
    }
    if (rc == VG_OK && o.n_scale > 0 && !o.only_full) {
        fprintf(stderr, "scaling run\n");
        rc = s_scaling(scale, stored, &o, &why);
    }
    if (rc != VG_OK) {
        fprintf(stderr, "vigil-bench: %s: %s\n", vg_err_code(rc), why.text);
        return 1;
    }
    fprintf(stderr, "RESULT full_alerts_per_s %.0f\n", S_MED(reps, o.reps, r_->full.alerts_per_s));
    s_print_results(reps, o.reps, &o);
    s_print_ceilings(reps, o.reps, &o);
    if (!o.only_full && o.offline > 0) {
        s_print_offline(&offline, o.offline);
    }
    if (!o.only_full && o.n_scale > 0) {
        s_print_scaling(scale, stored, o.n_scale);
    }
    if (!o.only_full) {
        s_print_targets(reps, o.reps, &offline, scale, stored, &o);
    }
    if (o.network > 0) {
        s_print_network(rows, o.reps, &o);
    }
    if (!o.only_full && o.postgresql) {
        s_print_pg(reps, pgreps, o.reps, &o);
    }
    if (!net_ok || !s_all_ok(reps, o.reps, &offline, scale, &o)) {
        fprintf(stderr, "vigil-bench: a phase did not complete or saw errors (see the tables)\n");
        return 1;
    }
    return 0;
}
