/* store-tamper: cuts and flips bytes of the store's SQLite files (page and WAL frame offsets) */
/*
 * test_corrupt_store.c — a broker started on a damaged store. The store is
 * made by the real broker (alerts checkpointed into vigil.db by a clean
 * stop, more alerts and receipts left in vigil.db-wal by a SIGKILL) and
 * copied as the reference. Then, case by case: truncate the database and the
 * WAL at many offsets (headers, frame boundaries ±1, seeded random ones),
 * flip seeded random bytes in either, delete the WAL. For each the broker
 * must either start and serve exactly the committed alerts (same ids, same
 * envelope bytes) or refuse to start with a non-zero exit and a store.error
 * or broker.start log line. Never a signal or a sanitizer report, never a
 * hang, never a file deleted by the broker.
 *
 * Two tests over the same cases: the first asserts the safety properties
 * (no crash, nothing deleted, nothing served that was never committed or
 * with other bytes); the second asserts that no committed alert goes
 * missing without the broker saying so.
 */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker_harness.h"
#include "fault_util.h"
#include "itest.h"
#include "vigil/agent.h"
#include "vigil/util.h"

#define T_N_CHECKPOINTED 20 /* alerts in vigil.db after a clean stop */
#define T_N_IN_WAL 15       /* alerts only in the WAL when the broker is killed */
#define T_N_RECEIPTED 10    /* of those, delivered and receipted */
#define T_REPLY_MS 5000
#define T_CASES_MAX 128

typedef struct s_blob {
    uint8_t *data; /* file contents, NULL when absent */
    size_t len;    /* length */
} s_blob;

typedef struct s_alert {
    uint8_t id[VG_ALERT_ID_LEN]; /* committed alert */
    uint8_t *env;                /* its stored envelope bytes */
    size_t env_len;              /* length */
} s_alert;

typedef struct s_case {
    char what[96];  /* e.g. "truncate wal at 4152" */
    bool wal;       /* mutate the WAL (else the database) */
    bool remove;    /* delete the file */
    int64_t cut;    /* truncate at this offset (-1: no) */
    size_t n_flips; /* bytes to flip */
    uint64_t seed;  /* where */
} s_case;

typedef struct s_tally {
    size_t cases, exact, refused, silent_loss, damaged, crashed, deleted, unclear;
} s_tally;

typedef struct s_fixture {
    bh_broker *b;
    char *db, *wal, *shm; /* store files */
    s_blob pristine_db;   /* the reference store */
    s_blob pristine_wal;
    s_alert *ref; /* its alerts */
    size_t n_ref;
    s_case cases[T_CASES_MAX];
    size_t n_cases;
    s_tally tally; /* results over every case */
} s_fixture;

static s_fixture *s_fx; /* built once for both tests (cmocka group state) */

static s_blob
s_read(const char *path)
{
    s_blob bl = {0};
    vg_reason why = {{0}};
    if (vg_file_read(&bl.data, &bl.len, path, 256 * 1024 * 1024, &why) != VG_OK) {
        bl.data = NULL;
        bl.len = 0;
    }
    return bl;
}

static void
s_write(const char *path, const s_blob *bl)
{
    unlink(path);
    if (bl->data == NULL) {
        return;
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bl->data, 1, bl->len, f), bl->len);
    assert_int_equal(fclose(f), 0);
}

static void
s_publish_n(bh_broker *b, size_t n, const char *tag)
{
    vga_agent *tx = bh_agent_open(b, "home-office", false);
    for (size_t i = 0; i < n; i++) {
        char headline[64];
        snprintf(headline, sizeof headline, "%s %zu", tag, i + 1);
        vg_alert alert;
        bh_alert_init(&alert, headline, "committed before the damage", "taxi", "");
        vga_confirm res;
        vg_reason why = {{0}};
        vg_err rc = vga_publish(tx, &alert, T_REPLY_MS, &res, &why);
        vga_confirm_fini(&res);
        bh_alert_fini(&alert);
        if (rc != VG_OK) {
            fail_msg("publish: %s: %s", vg_err_code(rc), why.text);
        }
    }
    vga_agent_destroy(&tx);
}

/* Reading every alert of a store (vgb_store_alert_ids): its id, and its
 * envelope bytes as the store hands them out (vgb_store_envelope). */
typedef void (*s_alert_fn)(void *ctx, const uint8_t id[VG_ALERT_ID_LEN], vg_err rc,
                           const uint8_t *env, size_t len);
typedef struct s_reading {
    vgb_store *store; /* open, read-only */
    s_alert_fn fn;    /* called for each alert */
    void *ctx;        /* its context */
} s_reading;

static bool
s_read_one(void *ctx, uint64_t seq, const uint8_t id[VG_ALERT_ID_LEN])
{
    s_reading *r = ctx;
    uint8_t *env = NULL;
    size_t len = 0;
    vg_err rc = vgb_store_envelope(r->store, seq, &env, &len);
    r->fn(r->ctx, id, rc, env, len);
    free(env);
    return true;
}

/* Opens the store read-only (*opened: whether it could) and calls fn for
 * every alert in acceptance order: VG_OK, or why the store or its alerts
 * could not be read. */
static vg_err
s_read_alerts(const bh_broker *b, s_alert_fn fn, void *ctx, bool *opened)
{
    s_reading r = {NULL, fn, ctx};
    vg_reason why = {{0}};
    vg_err rc = bh_store_open(b, &r.store, &why);
    *opened = rc == VG_OK;
    if (rc == VG_OK && (rc = vgb_store_read_begin(r.store, &why)) == VG_OK) {
        rc = vgb_store_alert_ids(r.store, s_read_one, &r);
        vgb_store_read_end(r.store);
    }
    vgb_store_destroy(&r.store);
    return rc;
}

static void
s_add_ref(void *ctx, const uint8_t id[VG_ALERT_ID_LEN], vg_err rc, const uint8_t *env, size_t len)
{
    s_fixture *fx = ctx;
    assert_int_equal(rc, VG_OK);
    assert_true(fx->n_ref < T_N_CHECKPOINTED + T_N_IN_WAL);
    s_alert *a = &fx->ref[fx->n_ref++];
    memcpy(a->id, id, VG_ALERT_ID_LEN);
    a->env_len = len;
    a->env = malloc(len);
    assert_non_null(a->env);
    memcpy(a->env, env, len);
}

/* The committed state, read from a store with the broker down. */
static void
s_read_reference(s_fixture *fx)
{
    fx->ref = calloc(T_N_CHECKPOINTED + T_N_IN_WAL, sizeof *fx->ref);
    assert_non_null(fx->ref);
    bool opened = false;
    assert_int_equal(s_read_alerts(fx->b, s_add_ref, fx, &opened), VG_OK);
}

static void
s_add(s_fixture *fx, s_case c)
{
    assert_true(fx->n_cases < T_CASES_MAX);
    fx->cases[fx->n_cases++] = c;
}

static void
s_cut(s_fixture *fx, bool wal, int64_t at)
{
    const s_blob *bl = wal ? &fx->pristine_wal : &fx->pristine_db;
    if (at < 0 || (size_t)at >= bl->len) {
        return;
    }
    s_case c = {.wal = wal, .cut = at};
    snprintf(c.what, sizeof c.what, "truncate %s at %lld of %zu", wal ? "wal" : "db", (long long)at,
             bl->len);
    s_add(fx, c);
}

/* Every case, from the reference files and the seed. */
static void
s_plan(s_fixture *fx, fu_rng *rng)
{
    const uint8_t *h = fx->pristine_db.data;
    int64_t page = fx->pristine_db.len >= 100 ? (h[16] << 8 | h[17]) : 4096;
    page = page == 1 ? 65536 : page;
    int64_t frame = 24 + page, wal_len = (int64_t)fx->pristine_wal.len;
    int64_t db_len = (int64_t)fx->pristine_db.len;
    int64_t wal_cuts[] = {0,
                          16,
                          31,
                          32,
                          33,
                          32 + frame - 1,
                          32 + frame,
                          32 + frame + 1,
                          32 + 2 * frame,
                          32 + 3 * frame - 1,
                          wal_len / 2,
                          wal_len - frame,
                          wal_len - frame + 24,
                          wal_len - 1};
    for (size_t i = 0; i < sizeof wal_cuts / sizeof wal_cuts[0]; i++) {
        s_cut(fx, true, wal_cuts[i]);
    }
    for (int i = 0; i < 4; i++) {
        int64_t k = fu_range(rng, 1, wal_len / frame);
        s_cut(fx, true, 32 + k * frame + fu_range(rng, -1, 1));
    }
    int64_t db_cuts[] = {0,    50,       99,         100,           page - 1,
                         page, 2 * page, db_len / 2, db_len - page, db_len - 1};
    for (size_t i = 0; i < sizeof db_cuts / sizeof db_cuts[0]; i++) {
        s_cut(fx, false, db_cuts[i]);
    }
    s_add(fx, (s_case){.what = "delete the wal", .wal = true, .remove = true, .cut = -1});
    for (int i = 0; i < 12; i++) {
        s_case c = {.wal = i % 2 == 0,
                    .cut = -1,
                    .n_flips = (size_t)fu_range(rng, 1, 4),
                    .seed = fu_rand(rng)};
        snprintf(c.what, sizeof c.what, "flip %zu random bytes of the %s (seed %llu)", c.n_flips,
                 c.wal ? "wal" : "db", (unsigned long long)c.seed);
        s_add(fx, c);
    }
}

static int
s_setup(void **state)
{
    (void)state;
    fu_rng rng;
    fu_rng_init(&rng, fu_seed("corrupt_store"));
    s_fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    s_fx = fx;
    fx->b = bh_new(NULL);
    bh_broker *b = fx->b;
    fx->db = vg_strdup(b->db_path);
    fx->wal = it_path(b->net, "broker/store/vigil.db-wal");
    fx->shm = it_path(b->net, "broker/store/vigil.db-shm");
    bh_start(b);
    s_publish_n(b, T_N_CHECKPOINTED, "checkpointed");
    bh_stop(b); /* a clean close checkpoints them into vigil.db */
    bh_start(b);
    s_publish_n(b, T_N_IN_WAL, "in the wal");
    vga_agent *rx = bh_agent_open(b, "licensing", true);
    for (size_t i = 0; i < T_N_RECEIPTED; i++) {
        vg_alert got = {0};
        assert_int_equal(vga_receive(rx, T_REPLY_MS, &got, NULL), VG_OK);
        vg_alert_fini(&got);
    }
    vga_poll(rx, 500); /* the last receipt reaches the broker */
    vga_agent_destroy(&rx);
    bh_kill(b); /* the WAL stays as it is */
    fx->pristine_db = s_read(fx->db);
    fx->pristine_wal = s_read(fx->wal);
    assert_non_null(fx->pristine_wal.data);
    unlink(fx->shm);
    s_read_reference(fx);
    s_write(fx->db, &fx->pristine_db); /* the read above may have touched nothing, but be sure */
    s_write(fx->wal, &fx->pristine_wal);
    assert_int_equal(fx->n_ref, T_N_CHECKPOINTED + T_N_IN_WAL);
    s_plan(fx, &rng);
    printf("fault: corrupt_store: db=%zu bytes wal=%zu bytes alerts=%zu cases=%zu\n",
           fx->pristine_db.len, fx->pristine_wal.len, fx->n_ref, fx->n_cases);
    return 0;
}

static void
s_apply(s_fixture *fx, const s_case *c)
{
    s_write(fx->db, &fx->pristine_db);
    s_write(fx->wal, &fx->pristine_wal);
    unlink(fx->shm);
    const char *path = c->wal ? fx->wal : fx->db;
    if (c->remove) {
        assert_int_equal(unlink(path), 0);
    } else if (c->cut >= 0) {
        assert_int_equal(truncate(path, (off_t)c->cut), 0);
    } else {
        s_blob bl = s_read(path);
        assert_true(bl.len > 0);
        fu_rng rng;
        fu_rng_init(&rng, c->seed);
        for (size_t i = 0; i < c->n_flips; i++) {
            bl.data[fu_rand(&rng) % bl.len] ^= (uint8_t)fu_range(&rng, 1, 255);
        }
        s_write(path, &bl);
        free(bl.data);
    }
}

static bool
s_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static const s_alert *
s_find_ref(const s_fixture *fx, const uint8_t *id)
{
    for (size_t i = 0; i < fx->n_ref; i++) {
        if (memcmp(fx->ref[i].id, id, VG_ALERT_ID_LEN) == 0) {
            return &fx->ref[i];
        }
    }
    return NULL;
}

typedef struct s_served {
    const s_fixture *fx; /* the reference */
    size_t found, bad;   /* alerts as committed; others, or unreadable */
} s_served;

static void
s_judge_one(void *ctx, const uint8_t id[VG_ALERT_ID_LEN], vg_err rc, const uint8_t *env, size_t len)
{
    s_served *v = ctx;
    const s_alert *ref = s_find_ref(v->fx, id);
    if (rc != VG_OK || ref == NULL || ref->env_len != len || memcmp(ref->env, env, len) != 0) {
        v->bad++;
    } else {
        v->found++;
    }
}

/* What the running broker serves, against the reference. */
static const char *
s_judge_served(s_fixture *fx)
{
    s_served v = {fx, 0, 0};
    bool opened = false;
    vg_err rc = s_read_alerts(fx->b, s_judge_one, &v, &opened);
    if (!opened) {
        fx->tally.unclear++;
        return "started, but its store cannot be opened to read its alerts";
    }
    static char what[128];
    if (rc != VG_OK || v.bad > 0) {
        fx->tally.damaged++;
        snprintf(what, sizeof what, "STARTED SERVING DAMAGED DATA (%zu bad rows%s)", v.bad,
                 rc != VG_OK ? ", read error" : "");
    } else if (v.found < fx->n_ref) {
        fx->tally.silent_loss++;
        snprintf(what, sizeof what, "STARTED WITH %zu OF %zu COMMITTED ALERTS, SILENTLY", v.found,
                 fx->n_ref);
    } else {
        fx->tally.exact++;
        snprintf(what, sizeof what, "started with exactly the committed state");
    }
    return what;
}

static void
s_run_case(s_fixture *fx, const s_case *c)
{
    bh_broker *b = fx->b;
    s_apply(fx, c);
    bool had_db = s_exists(fx->db), had_wal = s_exists(fx->wal);
    char *log = NULL;
    fu_start st = fu_try_start(b, &log);
    const char *verdict = "";
    if (st == FU_STARTED) {
        verdict = s_judge_served(fx);
        bh_kill(b);
    } else if (st == FU_REFUSED) {
        bool clear = strstr(log, " store.error ") != NULL || strstr(log, " broker.start ") != NULL;
        fx->tally.refused += clear;
        fx->tally.unclear += !clear;
        verdict = clear ? "refused to start, saying why" : "REFUSED WITHOUT A CLEAR MESSAGE";
    } else {
        fx->tally.crashed++;
        verdict = st == FU_CRASHED ? "CRASHED" : st == FU_HUNG ? "HUNG" : "EXITED 0 UNREADY";
    }
    bool deleted = (had_db && !s_exists(fx->db)) || (had_wal && !s_exists(fx->wal));
    fx->tally.deleted += deleted;
    fx->tally.cases++;
    printf("fault:   %-52s -> %s%s\n", c->what, verdict, deleted ? "; DELETED A STORE FILE" : "");
    if (st == FU_CRASHED || st == FU_HUNG) {
        printf("%s\n", log);
    }
    free(log);
}

static void
s_run_all(s_fixture *fx)
{
    if (fx->tally.cases > 0) {
        return;
    }
    int64_t t0 = bh_now_ms();
    for (size_t i = 0; i < fx->n_cases; i++) {
        s_run_case(fx, &fx->cases[i]);
    }
    const s_tally *t = &fx->tally;
    printf("fault: corrupt_store: cases=%zu exact=%zu refused=%zu silent_loss=%zu damaged=%zu "
           "crashed=%zu deleted=%zu unclear=%zu wall=%lld ms\n",
           t->cases, t->exact, t->refused, t->silent_loss, t->damaged, t->crashed, t->deleted,
           t->unclear, (long long)(bh_now_ms() - t0));
    fflush(stdout);
}

static void
test_damaged_store_never_crashes_deletes_or_serves_bad_data(void **state)
{
    (void)state;
    s_run_all(s_fx);
    const s_tally *t = &s_fx->tally;
    assert_int_equal(t->crashed, 0);
    assert_int_equal(t->deleted, 0);
    assert_int_equal(t->damaged, 0);
    assert_int_equal(t->unclear, 0);
}

static void
test_damaged_store_never_loses_committed_alerts_silently(void **state)
{
    (void)state;
    s_run_all(s_fx);
    if (s_fx->tally.silent_loss > 0) {
        fail_msg("%zu of %zu damaged stores started with committed alerts missing and no "
                 "message (see the cases marked SILENTLY above)",
                 s_fx->tally.silent_loss, s_fx->tally.cases);
    }
    bh_pass(s_fx->b);
}

static int
s_teardown(void **state)
{
    (void)state;
    s_fixture *fx = s_fx;
    if (fx == NULL) {
        return 0;
    }
    bh_destroy(&fx->b);
    for (size_t i = 0; i < fx->n_ref; i++) {
        free(fx->ref[i].env);
    }
    free(fx->ref);
    free(fx->pristine_db.data);
    free(fx->pristine_wal.data);
    free(fx->db);
    free(fx->wal);
    free(fx->shm);
    free(fx);
    s_fx = NULL;
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_damaged_store_never_crashes_deletes_or_serves_bad_data),
        cmocka_unit_test(test_damaged_store_never_loses_committed_alerts_silently),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
