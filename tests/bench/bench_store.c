/*
 * bench_store — what a batch of alerts costs each store back end (issue 14):
 * SQLite (WAL, synchronous=FULL) against PostgreSQL 15 (a local test
 * server with fsync on, synchronous_commit on, no standby), the latter with
 * its pipeline (changes queued, collected with the next wait) and without
 * (every statement waits for its answer, as plain PQexecPrepared would).
 *
 * A run stores S_ALERTS alerts in transactions of `batch` alerts each, on a
 * fresh store. Per alert, "writes" is what the broker writes for a publish:
 * the alert with its two recipient rows, its audit leaf and the alert ->
 * leaf link; "publish" adds the two lookups the broker makes first
 * (find_alert, sequence_used), which must wait for their answers; "linked"
 * adds warning memory (issue 21): two link tags indexed per alert, one of
 * them shared with every 8th alert before it, and the lookup of the earlier
 * alerts sharing one (vgb_store_linked_earlier). Envelopes
 * are sealed before the clock starts. Prints microseconds per alert and per
 * transaction (commit included), the best of S_ROUNDS rounds. Label
 * "bench": outside the default run (ctest -L bench).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "store.h"
#include "store_pg.h"
#include "vt.h"
#include "vt_pg.h"

#define S_ALERTS 1024 /* alerts per run */
#define S_ROUNDS 5    /* runs per cell; the best counts */

typedef enum s_backend { S_SQLITE, S_PG_PIPELINE, S_PG_PLAIN, S_N_BACKENDS } s_backend;
static const char *const s_backend_name[] = {"sqlite", "pg pipelined", "pg unpipelined"};

typedef struct s_bench {
    vt_pg *srv;                 /* fsync on */
    vt_net *net;                /* the agencies */
    vg_envelope *env[S_ALERTS]; /* sealed beforehand */
    int n_db;                   /* databases made */
} s_bench;

static double
s_now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* A fresh store of backend; *dir_out for SQLite. */
static vgb_store *
s_fresh(s_bench *b, s_backend be, char **dir_out)
{
    vgb_store *s = NULL;
    vg_reason why = {{0}};
    if (be == S_SQLITE) {
        *dir_out = vt_tmpdir_new();
        assert_int_equal(vgb_store_open(&s, *dir_out, &why), VG_OK);
        return s;
    }
    char db[32];
    snprintf(db, sizeof db, "b%d", ++b->n_db);
    vt_pg_createdb(b->srv, db, "vigil");
    char *dsn = vt_pg_dsn(b->srv, db, "vigil_broker");
    assert_int_equal(vgb_store_open_dsn(&s, dsn, &why), VG_OK);
    free(dsn);
    assert_int_equal(vgb_pg_set_pipelining(s, be == S_PG_PIPELINE), VG_OK);
    return s;
}

static bool
s_count_seq(void *ctx, uint64_t seq)
{
    (void)seq;
    (*(size_t *)ctx)++;
    return true;
}

/* Warning memory for alert i (seq): two tags, the first shared by every
 * alert whose index is i modulo 8, and the earlier alerts sharing one. */
static void
s_link(vgb_store *s, size_t i, uint64_t seq)
{
    uint8_t tags[2][VG_HASH_LEN];
    memset(tags, 0, sizeof tags);
    tags[0][0] = (uint8_t)(i % 8);
    tags[1][0] = 0xff;
    memcpy(&tags[1][1], &i, sizeof i); /* unique */
    assert_int_equal(vgb_store_add_link_tags(s, seq, (const uint8_t(*)[VG_HASH_LEN])tags, 2),
                     VG_OK);
    size_t n = 0;
    assert_int_equal(vgb_store_linked_earlier(s, seq, 256, s_count_seq, &n), VG_OK);
    assert_int_equal(n, i / 8 < 256 ? i / 8 : 256);
}

/* One run: microseconds for S_ALERTS alerts in transactions of batch;
 * lookups: 0 writes only, 1 publish, 2 publish with link tags. */
static double
s_run(s_bench *b, s_backend be, size_t batch, int lookups)
{
    char *dir = NULL;
    vgb_store *s = s_fresh(b, be, &dir);
    vg_strlist req = {0};
    assert_int_equal(vg_strlist_add(&req, "licensing"), VG_OK);
    uint8_t h[VG_HASH_LEN] = {7};
    const char leaf[] = "{\"kind\":\"accepted\",\"padding\":\"a leaf is about this long.........."
                        "...................................................................\"}";
    double t0 = s_now_us();
    for (size_t i = 0; i < S_ALERTS;) {
        assert_int_equal(vgb_store_begin(s, NULL), VG_OK);
        for (size_t k = 0; k < batch && i < S_ALERTS; k++, i++) {
            const vg_envelope *env = b->env[i];
            if (lookups) {
                vgb_alert_row row;
                bool used = true;
                assert_int_equal(vgb_store_find_alert(s, vg_envelope_id(env), &row),
                                 VG_ERR_NOT_FOUND);
                assert_int_equal(
                    vgb_store_sequence_used(s, "police", vg_envelope_sequence(env), &used), VG_OK);
                assert_false(used);
            }
            uint64_t seq = 0;
            assert_int_equal(vgb_store_insert_alert(s, env, 1, &req, 1000, &seq, NULL), VG_OK);
            assert_int_equal(vgb_store_audit_append(s, i, (const uint8_t *)leaf, sizeof leaf - 1, h,
                                                    NULL, NULL, NULL, 0),
                             VG_OK);
            assert_int_equal(vgb_store_link_leaf(s, seq, i), VG_OK);
            if (lookups == 2) {
                s_link(s, i, seq);
            }
        }
        vg_reason why = {{0}};
        vg_err err = vgb_store_commit(s, &why);
        if (err != VG_OK) {
            fail_msg("%s: commit: %s", s_backend_name[be], why.text);
        }
    }
    double us = s_now_us() - t0;
    uint64_t n = 0;
    assert_int_equal(vgb_store_count_alerts(s, &n), VG_OK);
    assert_int_equal(n, S_ALERTS);
    vgb_store_destroy(&s);
    vg_strlist_fini(&req);
    if (dir != NULL) {
        vt_tmpdir_destroy(&dir);
    }
    return us;
}

static void
store_batches(void **state)
{
    (void)state;
    s_bench b = {0};
    b.srv = vt_pg_start(&(vt_pg_opts){.fsync = true});
    char *owner = vt_pg_dsn(b.srv, "vigil", "vigil_owner");
    vgb_store *s = NULL;
    assert_int_equal(vgb_store_open_dsn(&s, owner, NULL), VG_OK);
    vgb_store_destroy(&s);
    free(owner);
    b.net = vt_net_new(4);
    static const char *const rcpts[] = {"licensing", "childrens-services"};
    for (size_t i = 0; i < S_ALERTS; i++) {
        vg_alert a;
        vt_alert_sample(&a, rcpts, 2);
        vg_seal_params p = vt_seal_params(b.net, "police");
        p.sequence = i + 1;
        uint8_t *bytes = NULL;
        size_t len = 0;
        assert_int_equal(vg_envelope_seal(&bytes, &len, NULL, &a, &p, NULL), VG_OK);
        assert_int_equal(vg_envelope_verify(&b.env[i], bytes, len, b.net->doc, NULL), VG_OK);
        vt_alert_fini(&a);
        free(bytes);
    }
    static const size_t batches[] = {1, 16, 256};
    printf("bench_store: %d alerts a run, best of %d; microseconds per alert "
           "(per transaction)\n",
           S_ALERTS, S_ROUNDS);
    printf("%-8s %6s", "work", "batch");
    for (int be = 0; be < S_N_BACKENDS; be++) {
        printf(" %24s", s_backend_name[be]);
    }
    printf("\n");
    static const char *const modes[] = {"writes", "publish", "linked"};
    for (int lookups = 0; lookups < 3; lookups++) {
        for (size_t bi = 0; bi < 3; bi++) {
            printf("%-8s %6zu", modes[lookups], batches[bi]);
            for (int be = 0; be < S_N_BACKENDS; be++) {
                double best = 1e18;
                for (int r = 0; r < S_ROUNDS; r++) {
                    double us = s_run(&b, (s_backend)be, batches[bi], lookups);
                    best = us < best ? us : best;
                }
                double per_alert = best / S_ALERTS;
                char cell[32];
                snprintf(cell, sizeof cell, "%.1f (%.0f)", per_alert,
                         per_alert * (double)batches[bi]);
                printf(" %24s", cell);
            }
            printf("\n");
            fflush(stdout);
        }
    }
    for (size_t i = 0; i < S_ALERTS; i++) {
        vg_envelope_destroy(&b.env[i]);
    }
    vt_net_destroy(&b.net);
    vt_pg_stop(&b.srv);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(store_batches)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
