/* test_store.c — the store contract (broker/store.h) for what the other
 * module tests do not cover: transactions (invisible to a reader until the
 * commit, nothing left by a rollback, changes outside one refused), finding
 * alerts and their exact envelopes, sender sequence numbers, deliveries
 * (mark_delivered, the pending queue, parking with backoff, next tries,
 * counts of what waits), wall-clock shifts, the tracker's open rows,
 * receipts applied, completion, event paging, and the counts.
 *
 * Written against store.h only, so that another back end can run it: the
 * back-end-specific part is the block just below (how a store is opened,
 * reopened and read beside its owner). Everything else goes through
 * vgb_store_*. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "modkit.h"
#include "store.h"

/* ---- the back end ----------------------------------------------------------------
 * SQLite: the store is dir/vigil.db. A PostgreSQL back end replaces these
 * three (and its fixture cleans its database in s_backend_close). */

static vgb_store *
s_backend_open(const char *dir)
{
    return mk_store_open(dir);
}

static vgb_store *
s_backend_reader(const vgb_store *owner)
{
    vgb_store *r = NULL;
    vg_reason why = {{0}};
    vg_err rc = vgb_store_open_reader(&r, owner, &why);
    if (rc != VG_OK) {
        fail_msg("vgb_store_open_reader: %s: %s", vg_err_code(rc), why.text);
    }
    return r;
}

static void
s_backend_close(vgb_store **s)
{
    vgb_store_destroy(s);
    assert_null(*s);
}

/* ---- fixture ---------------------------------------------------------------------- */

typedef struct fixture {
    mk_world *w; /* document, clock, and the store under test (w->store) */
} fixture;

static int
setup(void **state)
{
    mk_log_capture();
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    mk_world_opts o = {.open_store = s_backend_open};
    f->w = mk_world_new(&o);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    mk_world_destroy(&f->w);
    free(f);
    mk_log_release();
    return 0;
}

/* Closes and opens the store again (a restart). */
static void
s_reopen(mk_world *w)
{
    s_backend_close(&w->store);
    w->store = s_backend_open(w->dir);
}

#define T0 MK_WALL0_MS

static uint64_t
s_count(vgb_store *s, vgb_count_what what, const char *filter)
{
    uint64_t n = UINT64_MAX;
    assert_int_equal(vgb_store_count(s, what, filter, &n), VG_OK);
    return n;
}

static uint64_t
s_alerts_n(vgb_store *s)
{
    uint64_t n = UINT64_MAX;
    assert_int_equal(vgb_store_count_alerts(s, &n), VG_OK);
    return n;
}

static vgb_rrow
s_row(mk_world *w, const mk_alert *a, const char *agency)
{
    vgb_rrow r;
    memset(&r, 0xa5, sizeof r);
    vg_err rc = vgb_store_rrow(w->store, a->seq, agency, &r);
    if (rc != VG_OK) {
        fail_msg("no row of %s for alert %llu: %s", agency, (unsigned long long)a->seq,
                 vg_err_code(rc));
    }
    assert_int_equal(r.seq, a->seq);
    assert_string_equal(r.agency, agency);
    return r;
}

/* A list of seqs a callback gave. */
typedef struct s_seqs {
    uint64_t v[64];
    size_t n;
    size_t stop_after; /* 0: never stop */
} s_seqs;

static bool
s_take_seq(void *ctx, uint64_t seq)
{
    s_seqs *x = ctx;
    assert_true(x->n < 64);
    x->v[x->n++] = seq;
    return x->stop_after == 0 || x->n < x->stop_after;
}

static void
s_take_idx(void *ctx, uint64_t idx)
{
    (void)s_take_seq(ctx, idx);
}

static s_seqs
s_pending(mk_world *w, const char *agency, int64_t now, size_t limit)
{
    s_seqs x = {{0}, 0, 0};
    assert_int_equal(vgb_store_pending(w->store, agency, now, limit, s_take_seq, &x), VG_OK);
    return x;
}

static void
s_expect_seqs(const s_seqs *x, const uint64_t *want, size_t n)
{
    if (x->n != n || memcmp(x->v, want, n * sizeof *want) != 0) {
        print_message("got %zu:", x->n);
        for (size_t i = 0; i < x->n; i++) {
            print_message(" %llu", (unsigned long long)x->v[i]);
        }
        print_message("; expected %zu:", n);
        for (size_t i = 0; i < n; i++) {
            print_message(" %llu", (unsigned long long)want[i]);
        }
        print_message("\n");
        fail();
    }
}

/* Seals and inserts n alerts from sender in the open transaction. */
static void
s_insert_n(mk_world *w, mk_alert **out, size_t n, const char *sender, const char *const *also,
           int64_t deadline_ms)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = mk_seal(w, sender, also, VG_SEV_HIGH);
        (void)mk_insert(w, out[i], deadline_ms);
    }
}

static void
s_free_n(mk_alert **a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mk_alert_free(&a[i]);
    }
}

/* ---- transactions ------------------------------------------------------------------- */

static void
test_transactions_invisible_until_commit(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    vgb_store *rd = s_backend_reader(w->store);
    mk_alert *a = mk_seal(w, "police", NULL, VG_SEV_HIGH);
    vgb_alert_row row;

    assert_false(vgb_store_in_transaction(w->store));
    mk_begin(w->store);
    assert_true(vgb_store_in_transaction(w->store));
    (void)mk_insert(w, a, T0 + 1000);
    /* The owner reads its own changes inside the transaction ... */
    assert_int_equal(vgb_store_find_alert(w->store, a->id, &row), VG_OK);
    assert_int_equal(row.seq, a->seq);
    assert_int_equal(s_alerts_n(w->store), 1);
    /* ... nobody else does. */
    assert_int_equal(vgb_store_read_begin(rd, NULL), VG_OK);
    assert_int_equal(vgb_store_find_alert(rd, a->id, &row), VG_ERR_NOT_FOUND);
    assert_int_equal(s_alerts_n(rd), 0);
    assert_int_equal(s_count(rd, VGB_COUNT_RECIPIENTS, NULL), 0);
    vgb_store_read_end(rd);
    mk_commit(w->store);
    assert_false(vgb_store_in_transaction(w->store));
    assert_int_equal(vgb_store_read_begin(rd, NULL), VG_OK);
    assert_int_equal(vgb_store_find_alert(rd, a->id, &row), VG_OK);
    assert_int_equal(row.seq, a->seq);
    assert_int_equal(s_count(rd, VGB_COUNT_RECIPIENTS, NULL), a->required.n);

    /* One read transaction is one committed state: a commit made during it
     * is seen only by the next. */
    mk_alert *b = mk_seal(w, "police", NULL, VG_SEV_HIGH);
    (void)mk_insert_committed(w, b, 0);
    assert_int_equal(vgb_store_find_alert(rd, b->id, &row), VG_ERR_NOT_FOUND);
    assert_int_equal(s_alerts_n(rd), 1);
    vgb_store_read_end(rd);
    assert_int_equal(vgb_store_read_begin(rd, NULL), VG_OK);
    assert_int_equal(vgb_store_find_alert(rd, b->id, &row), VG_OK);
    assert_int_equal(s_alerts_n(rd), 2);
    vgb_store_read_end(rd);

    /* A reader never writes. */
    vg_reason why = {{0}};
    assert_int_not_equal(vgb_store_begin(rd, &why), VG_OK);
    assert_false(vgb_store_in_transaction(rd));
    assert_false(vgb_store_txn(rd));
    s_backend_close(&rd);
    mk_alert_free(&a);
    mk_alert_free(&b);
}

static void
test_rollback_leaves_nothing(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    mk_alert *a = mk_seal(w, "police", NULL, VG_SEV_HIGH);
    mk_begin(w->store);
    (void)mk_insert(w, a, T0 + 5000);
    bool changed = false;
    assert_int_equal(vgb_store_mark_delivered(w->store, a->seq, "licensing", T0, &changed), VG_OK);
    assert_true(changed);
    int64_t next = 0;
    assert_int_equal(vgb_store_park(w->store, a->seq, "childrens-services", T0, 1000, 5000, &next),
                     VG_OK);
    vgb_event_row ev = {
        .seq = 1, .time_ms = T0, .kind = 1, .alert_seq = a->seq, .about = "police", .detail = ""};
    assert_int_equal(vgb_store_insert_events(w->store, "police", &ev, NULL, 0), VG_OK);
    assert_int_equal(vgb_store_insert_rejection(w->store, T0, "police", a->id, "replay", "r"),
                     VG_OK);
    mk_share(w, a, "licensing", "education", T0 + 5000, NULL, NULL, NULL);
    vgb_store_rollback(w->store);
    assert_false(vgb_store_in_transaction(w->store));

    vgb_alert_row row;
    assert_int_equal(vgb_store_find_alert(w->store, a->id, &row), VG_ERR_NOT_FOUND);
    assert_int_equal(s_alerts_n(w->store), 0);
    bool used = true;
    assert_int_equal(vgb_store_sequence_used(w->store, "police", 1, &used), VG_OK);
    assert_false(used);
    static const vgb_count_what kinds[] = {
        VGB_COUNT_ALERTS,     VGB_COUNT_RECIPIENTS, VGB_COUNT_DELIVERED, VGB_COUNT_SHARES,
        VGB_COUNT_REJECTIONS, VGB_COUNT_EVENTS,     VGB_COUNT_LEAVES};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        assert_int_equal(s_count(w->store, kinds[i], NULL), 0);
    }
    uint64_t last = 99, pending = 99;
    assert_int_equal(vgb_store_last_event(w->store, "police", &last), VG_OK);
    assert_int_equal(last, 0);
    assert_int_equal(vgb_store_count_pending(w->store, "licensing", &pending), VG_OK);
    assert_int_equal(pending, 0);

    /* A transaction open when the store is closed is rolled back too. */
    mk_begin(w->store);
    (void)mk_insert(w, a, 0);
    s_reopen(w);
    assert_int_equal(s_alerts_n(w->store), 0);

    /* What was committed is there after a restart. */
    (void)mk_insert_committed(w, a, T0 + 5000);
    s_reopen(w);
    assert_int_equal(vgb_store_find_alert(w->store, a->id, &row), VG_OK);
    assert_int_equal(row.seq, a->seq);
    assert_int_equal(s_row(w, a, "licensing").deadline_ms, T0 + 5000);
    mk_alert_free(&a);
}

/* Each change, made with no transaction open. */
typedef struct s_outside {
    const char *what;
    vg_err rc;
} s_outside;

static void
test_changes_outside_transaction_refused(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    mk_alert *a = mk_seal(w, "police", NULL, VG_SEV_HIGH);
    mk_alert *b = mk_seal(w, "police", NULL, VG_SEV_HIGH);
    (void)mk_insert_committed(w, a, T0 + 1000);
    assert_false(vgb_store_in_transaction(w->store));
    uint64_t before_alerts = s_alerts_n(w->store);

    s_outside r[8];
    size_t n = 0;
    uint64_t seq = 0;
    bool changed = false;
    int64_t next = 0;
    vg_reason why = {{0}};
    r[n++] = (s_outside){"insert_alert",
                         vgb_store_insert_alert(w->store, b->env, T0, &b->required, 0, &seq, &why)};
    r[n++] = (s_outside){"mark_delivered",
                         vgb_store_mark_delivered(w->store, a->seq, "licensing", T0, &changed)};
    r[n++] = (s_outside){
        "park", vgb_store_park(w->store, a->seq, "childrens-services", T0, 1000, 5000, &next)};
    vgb_event_row ev = {.seq = 1, .time_ms = T0, .kind = 11, .about = "police", .detail = ""};
    r[n++] =
        (s_outside){"insert_events", vgb_store_insert_events(w->store, "police", &ev, NULL, 0)};
    r[n++] = (s_outside){"shift_times", vgb_store_shift_times(w->store, 60000)};
    r[n++] = (s_outside){"apply_receipt",
                         vgb_store_apply_receipt(w->store, a->seq, "licensing", VGB_ACKNOWLEDGED,
                                                 T0, "x", NULL, NULL, 0)};
    r[n++] = (s_outside){"insert_rejection", vgb_store_insert_rejection(w->store, T0, "police",
                                                                        NULL, "malformed", "x")};
    uint8_t leaf[] = "leaf", hash[VG_HASH_LEN] = {1};
    r[n++] = (s_outside){"audit_append", vgb_store_audit_append(w->store, 0, leaf, sizeof leaf,
                                                                hash, NULL, NULL, NULL, 0)};
    assert_false(vgb_store_in_transaction(w->store)); /* none of them opened one */

    char accepted[256] = "";
    for (size_t i = 0; i < n; i++) {
        if (r[i].rc != VG_ERR_INTERNAL) {
            size_t len = strlen(accepted);
            snprintf(accepted + len, sizeof accepted - len, "%s%s=%s", len ? " " : "", r[i].what,
                     vg_err_code(r[i].rc));
        }
    }
    if (accepted[0] != '\0') { /* (the SQLite back end autocommitted them before the fix) */
        fail_msg("accepted outside a transaction: %s (alerts %llu -> %llu)", accepted,
                 (unsigned long long)before_alerts, (unsigned long long)s_alerts_n(w->store));
    }
    assert_int_equal(s_alerts_n(w->store), before_alerts);
    assert_int_equal(s_row(w, a, "licensing").state, VGB_PENDING);
    assert_int_equal(s_row(w, a, "licensing").deadline_ms, T0 + 1000);
    mk_alert_free(&a);
    mk_alert_free(&b);
}

/* ---- alerts ------------------------------------------------------------------------------- */

static void
test_find_alert_and_same_envelope(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    mk_alert *a = mk_seal(w, "police", NULL, VG_SEV_HIGH);
    mk_alert *b = mk_seal(w, "home-office", NULL, VG_SEV_HIGH);
    mk_begin(w->store);
    (void)mk_insert(w, a, 0);
    (void)mk_insert(w, b, 0);
    mk_commit(w->store);
    assert_true(b->seq > a->seq); /* acceptance order */

    vgb_alert_row row;
    assert_int_equal(vgb_store_find_alert(w->store, b->id, &row), VG_OK);
    assert_int_equal(row.seq, b->seq);
    assert_memory_equal(row.envelope_hash, vg_envelope_hash(b->env), VG_HASH_LEN);
    uint8_t unknown[VG_ALERT_ID_LEN];
    memcpy(unknown, a->id, VG_ALERT_ID_LEN);
    unknown[VG_ALERT_ID_LEN - 1] ^= 1;
    assert_int_equal(vgb_store_find_alert(w->store, unknown, &row), VG_ERR_NOT_FOUND);

    /* find_alert_for: the alert and whether the agency is a recipient. */
    bool is = false;
    assert_int_equal(vgb_store_find_alert_for(w->store, a->id, "licensing", &row, &is), VG_OK);
    assert_int_equal(row.seq, a->seq);
    assert_true(is);
    assert_int_equal(vgb_store_find_alert_for(w->store, a->id, "education", &row, &is), VG_OK);
    assert_false(is);
    assert_int_equal(vgb_store_find_alert_for(w->store, unknown, "licensing", &row, &is),
                     VG_ERR_NOT_FOUND);

    /* The exact bytes. */
    uint8_t *env = NULL;
    size_t len = 0;
    assert_int_equal(vgb_store_envelope(w->store, a->seq, &env, &len), VG_OK);
    assert_int_equal(len, a->len);
    assert_memory_equal(env, a->bytes, len);
    free(env);
    assert_int_equal(vgb_store_envelope(w->store, b->seq + 100, &env, &len), VG_ERR_NOT_FOUND);

    bool same = false;
    assert_int_equal(vgb_store_same_envelope(w->store, a->seq, a->bytes, a->len, &same), VG_OK);
    assert_true(same);
    uint8_t *other = malloc(a->len);
    assert_non_null(other);
    memcpy(other, a->bytes, a->len);
    other[a->len - 1] ^= 0x40; /* one bit of the signature */
    same = true;
    assert_int_equal(vgb_store_same_envelope(w->store, a->seq, other, a->len, &same), VG_OK);
    assert_false(same);
    same = true;
    assert_int_equal(vgb_store_same_envelope(w->store, a->seq, a->bytes, a->len - 1, &same), VG_OK);
    assert_false(same);
    same = true;
    assert_int_equal(vgb_store_same_envelope(w->store, a->seq, b->bytes, b->len, &same), VG_OK);
    assert_false(same);
    assert_int_equal(vgb_store_same_envelope(w->store, b->seq + 100, a->bytes, a->len, &same),
                     VG_ERR_NOT_FOUND);
    free(other);

    /* Its metadata, by seq and by id. */
    vgb_alert_meta m;
    assert_int_equal(vgb_store_alert_meta(w->store, a->seq, &m), VG_OK);
    assert_memory_equal(m.id, a->id, VG_ALERT_ID_LEN);
    assert_string_equal(m.sender, "police");
    assert_int_equal(m.accepted_ms, T0);
    assert_int_equal(m.severity, VG_SEV_HIGH);
    assert_int_equal(m.complete_ms, 0);
    assert_string_equal(m.categories, "taxi");
    assert_int_equal(vgb_store_alert_meta(w->store, b->seq + 100, &m), VG_ERR_NOT_FOUND);
    uint8_t hash[VG_HASH_LEN];
    uint64_t version = 0;
    assert_int_equal(vgb_store_alert_by_id(w->store, b->id, &m, hash, &version), VG_OK);
    assert_int_equal(m.seq, b->seq);
    assert_memory_equal(hash, vg_envelope_hash(b->env), VG_HASH_LEN);
    assert_int_equal(version, vg_netdoc_version(w->doc));
    assert_int_equal(vgb_store_alert_by_id(w->store, unknown, &m, hash, &version),
                     VG_ERR_NOT_FOUND);
    mk_alert_free(&a);
    mk_alert_free(&b);
}

static void
test_sequence_used(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    /* police's sequence numbers 1..3 sealed; 3 accepted before 1 (two
     * processes of one agency publish at once). */
    mk_alert *p1 = mk_seal(w, "police", NULL, VG_SEV_HIGH);
    mk_alert *p2 = mk_seal(w, "police", NULL, VG_SEV_HIGH);
    mk_alert *p3 = mk_seal(w, "police", NULL, VG_SEV_HIGH);
    mk_alert *h1 = mk_seal(w, "home-office", NULL, VG_SEV_HIGH);
    mk_begin(w->store);
    (void)mk_insert(w, p3, 0);
    (void)mk_insert(w, p1, 0);
    (void)mk_insert(w, h1, 0);
    mk_commit(w->store);
    static const struct {
        const char *sender;
        uint64_t seq;
        bool used;
    } want[] = {{"police", 1, true},    {"police", 2, false},     {"police", 3, true},
                {"police", 4, false},   {"home-office", 1, true}, {"home-office", 3, false},
                {"licensing", 1, false}};
    for (int round = 0; round < 2; round++) { /* and after a restart */
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            bool used = !want[i].used;
            assert_int_equal(vgb_store_sequence_used(w->store, want[i].sender, want[i].seq, &used),
                             VG_OK);
            if (used != want[i].used) {
                fail_msg("sequence_used(%s, %llu) = %d", want[i].sender,
                         (unsigned long long)want[i].seq, used);
            }
        }
        s_reopen(w);
    }
    /* A second alert with a used number is refused and nothing of it stays. */
    vg_seal_params p = {.doc = w->doc,
                        .sender = "police",
                        .keys = vt_net_keys(w->net, "police"),
                        .sequence = 3,
                        .created_ms = w->clk.wall};
    vg_alert al;
    memset(&al, 0, sizeof al);
    al.severity = VG_SEV_HIGH;
    assert_int_equal(vg_strlist_add(&al.categories, "taxi"), VG_OK);
    for (size_t i = 0; i < p2->required.n; i++) {
        assert_int_equal(vg_strlist_add(&al.recipients, p2->required.items[i]), VG_OK);
    }
    al.headline = "again";
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    assert_int_equal(vg_envelope_seal(&bytes, &len, NULL, &al, &p, &why), VG_OK);
    al.headline = NULL;
    vg_strlist_fini(&al.categories);
    vg_strlist_fini(&al.recipients);
    vg_envelope *env = NULL;
    assert_int_equal(vg_envelope_verify(&env, bytes, len, w->doc, &why), VG_OK);
    uint64_t recipients = s_count(w->store, VGB_COUNT_RECIPIENTS, NULL);
    mk_begin(w->store);
    uint64_t seq = 0;
    assert_int_not_equal(vgb_store_insert_alert(w->store, env, T0, &p2->required, 0, &seq, &why),
                         VG_OK);
    mk_commit(w->store);
    assert_int_equal(s_alerts_n(w->store), 3);
    assert_int_equal(s_count(w->store, VGB_COUNT_RECIPIENTS, NULL), recipients);
    vg_envelope_destroy(&env);
    free(bytes);
    mk_alert_free(&p1);
    mk_alert_free(&p2);
    mk_alert_free(&p3);
    mk_alert_free(&h1);
}

static void
test_recipient_rows_as_inserted(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    static const char *const also[] = {"education", NULL};
    mk_alert *a = mk_seal(w, "police", also, VG_SEV_HIGH);
    (void)mk_insert_committed(w, a, T0 + 7000);
    vgb_rrow r = s_row(w, a, "licensing");
    assert_true(r.required);
    assert_int_equal(r.state, VGB_PENDING);
    assert_int_equal(r.deadline_ms, T0 + 7000);
    assert_int_equal(r.delivered_ms, 0);
    assert_int_equal(r.acked_ms, 0);
    assert_int_equal(r.esc_level, 0);
    assert_int_equal(r.tries, 0);
    assert_string_equal(r.shared_by, "");
    r = s_row(w, a, "education"); /* addressed, not required by the policy */
    assert_false(r.required);
    assert_int_equal(r.state, VGB_PENDING);
    assert_int_equal(r.deadline_ms, 0);
    vgb_rrow none;
    assert_int_equal(vgb_store_rrow(w->store, a->seq, "council", &none), VG_ERR_NOT_FOUND);
    assert_int_equal(vgb_store_rrow(w->store, a->seq, "police", &none), VG_ERR_NOT_FOUND);
    assert_int_equal(s_count(w->store, VGB_COUNT_RECIPIENTS, NULL), 3);
    mk_alert_free(&a);
}

/* ---- deliveries ------------------------------------------------------------------------------ */

static void
test_mark_delivered_once(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    mk_alert *a = mk_seal(w, "police", NULL, VG_SEV_HIGH);
    (void)mk_insert_committed(w, a, T0 + 60000);
    mk_begin(w->store);
    bool changed = false;
    assert_int_equal(vgb_store_mark_delivered(w->store, a->seq, "licensing", T0 + 5, &changed),
                     VG_OK);
    assert_true(changed);
    assert_int_equal(s_row(w, a, "licensing").state, VGB_DELIVERED);
    assert_int_equal(s_row(w, a, "licensing").delivered_ms, T0 + 5);
    changed = true;
    assert_int_equal(vgb_store_mark_delivered(w->store, a->seq, "licensing", T0 + 9, &changed),
                     VG_OK);
    assert_false(changed);
    assert_int_equal(s_row(w, a, "licensing").delivered_ms, T0 + 5); /* the first time stays */

    /* Past DELIVERED: nothing changes. */
    assert_int_equal(vgb_store_apply_receipt(w->store, a->seq, "childrens-services",
                                             VGB_ACKNOWLEDGED, T0 + 20, "Sgt B", NULL, NULL,
                                             T0 + 60000),
                     VG_OK);
    changed = true;
    assert_int_equal(
        vgb_store_mark_delivered(w->store, a->seq, "childrens-services", T0 + 30, &changed), VG_OK);
    assert_false(changed);
    assert_int_equal(s_row(w, a, "childrens-services").state, VGB_ACKNOWLEDGED);
    /* Not a recipient: nothing, and no row made. */
    changed = true;
    assert_int_equal(vgb_store_mark_delivered(w->store, a->seq, "education", T0, &changed), VG_OK);
    assert_false(changed);
    vgb_rrow none;
    assert_int_equal(vgb_store_rrow(w->store, a->seq, "education", &none), VG_ERR_NOT_FOUND);
    mk_commit(w->store);
    assert_int_equal(s_count(w->store, VGB_COUNT_DELIVERED, "licensing"), 1);
    mk_alert_free(&a);
}

static void
test_pending_order(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    mk_alert *a[6];
    static const char *const also[] = {"education", NULL};
    mk_begin(w->store);
    s_insert_n(w, a, 5, "police", NULL, 0);
    a[5] = mk_seal(w, "police", also, VG_SEV_HIGH);
    (void)mk_insert(w, a[5], 0);
    /* a[1] and a[3] went unreceipted: parked, for 1 s and 5 s. */
    int64_t next = 0;
    assert_int_equal(vgb_store_park(w->store, a[1]->seq, "licensing", T0, 1000, 60000, &next),
                     VG_OK);
    assert_int_equal(next, T0 + 1000);
    assert_int_equal(vgb_store_park(w->store, a[3]->seq, "licensing", T0, 5000, 60000, &next),
                     VG_OK);
    assert_int_equal(next, T0 + 5000);
    /* a[0] is shared with education after a[5] was addressed to it. */
    mk_share(w, a[0], "licensing", "education", 0, NULL, NULL, NULL);
    mk_commit(w->store);

    uint64_t fresh[] = {a[0]->seq, a[2]->seq, a[4]->seq, a[5]->seq};
    s_seqs x = s_pending(w, "licensing", T0, 100);
    s_expect_seqs(&x, fresh, 4);
    x = s_pending(w, "licensing", T0 + 999, 100);
    s_expect_seqs(&x, fresh, 4);
    x = s_pending(w, "licensing", T0 + 1000, 100); /* a[1]'s time has come */
    uint64_t with1[] = {a[0]->seq, a[2]->seq, a[4]->seq, a[5]->seq, a[1]->seq};
    s_expect_seqs(&x, with1, 5);
    x = s_pending(w, "licensing", T0 + 60000, 100); /* fresh first, then the due retries */
    assert_int_equal(x.n, 6);
    s_expect_seqs(&(s_seqs){{x.v[0], x.v[1], x.v[2], x.v[3]}, 4, 0}, fresh, 4);
    assert_true((x.v[4] == a[1]->seq && x.v[5] == a[3]->seq) ||
                (x.v[4] == a[3]->seq && x.v[5] == a[1]->seq));

    /* At most limit; fn stops it early. */
    x = s_pending(w, "licensing", T0 + 60000, 2);
    s_expect_seqs(&x, fresh, 2);
    x = (s_seqs){{0}, 0, 3};
    assert_int_equal(vgb_store_pending(w->store, "licensing", T0 + 60000, 100, s_take_seq, &x),
                     VG_OK);
    s_expect_seqs(&x, fresh, 3);

    /* Another agency's queue is its own. */
    x = s_pending(w, "childrens-services", T0, 100);
    uint64_t all[] = {a[0]->seq, a[1]->seq, a[2]->seq, a[3]->seq, a[4]->seq, a[5]->seq};
    s_expect_seqs(&x, all, 6);
    /* A row that became pending late (a share of an old alert) comes in
     * acceptance order, like a new one. */
    x = s_pending(w, "education", T0, 100);
    uint64_t edu[] = {a[0]->seq, a[5]->seq};
    s_expect_seqs(&x, edu, 2);

    /* Delivered rows are not pending, fresh or parked. */
    mk_begin(w->store);
    bool changed = false;
    assert_int_equal(vgb_store_mark_delivered(w->store, a[2]->seq, "licensing", T0, &changed),
                     VG_OK);
    assert_int_equal(vgb_store_mark_delivered(w->store, a[1]->seq, "licensing", T0, &changed),
                     VG_OK);
    mk_commit(w->store);
    x = s_pending(w, "licensing", T0 + 60000, 100);
    uint64_t left[] = {a[0]->seq, a[4]->seq, a[5]->seq, a[3]->seq};
    s_expect_seqs(&x, left, 4);
    x = s_pending(w, "council", T0, 100);
    assert_int_equal(x.n, 0);
    s_free_n(a, 6);
}

static void
test_park_backoff(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    mk_alert *a = mk_seal(w, "police", NULL, VG_SEV_HIGH);
    (void)mk_insert_committed(w, a, 0);
    mk_begin(w->store);
    static const int64_t waits[] = {1000, 2000, 4000, 5000, 5000};
    for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
        int64_t next = 0, now = T0 + 100000 * (int64_t)i;
        assert_int_equal(vgb_store_park(w->store, a->seq, "licensing", now, 1000, 5000, &next),
                         VG_OK);
        if (next != now + waits[i]) {
            fail_msg("park %zu: next try in %lld ms, expected %lld", i + 1, (long long)(next - now),
                     (long long)waits[i]);
        }
        assert_int_equal(s_row(w, a, "licensing").tries, i + 1);
    }
    /* However often: capped, never overflowing. */
    for (int i = 0; i < 70; i++) {
        assert_int_equal(vgb_store_park(w->store, a->seq, "licensing", T0, 1000, 5000, NULL),
                         VG_OK);
    }
    int64_t next = 0;
    assert_int_equal(vgb_store_park(w->store, a->seq, "licensing", T0, 1000, 5000, &next), VG_OK);
    assert_int_equal(next, T0 + 5000);
    assert_int_equal(s_row(w, a, "licensing").tries, 76);
    assert_int_equal(s_row(w, a, "licensing").state, VGB_PENDING);
    int64_t big = 0;
    assert_int_equal(
        vgb_store_park(w->store, a->seq, "licensing", T0, 1000, INT64_C(1) << 50, &big), VG_OK);
    assert_true(big > T0); /* no wrap to the past */

    /* Not PENDING: 0 and nothing changes. */
    bool changed = false;
    assert_int_equal(vgb_store_mark_delivered(w->store, a->seq, "childrens-services", T0, &changed),
                     VG_OK);
    next = 1;
    assert_int_equal(vgb_store_park(w->store, a->seq, "childrens-services", T0, 1000, 5000, &next),
                     VG_OK);
    assert_int_equal(next, 0);
    assert_int_equal(s_row(w, a, "childrens-services").tries, 0);
    next = 1;
    assert_int_equal(vgb_store_park(w->store, a->seq, "education", T0, 1000, 5000, &next), VG_OK);
    assert_int_equal(next, 0);
    mk_commit(w->store);
    mk_alert_free(&a);
}

static void
test_next_try(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    mk_alert *a[2];
    mk_begin(w->store);
    s_insert_n(w, a, 2, "police", NULL, 0);
    int64_t out = -1;
    assert_int_equal(vgb_store_next_try(w->store, "licensing", T0, &out), VG_OK);
    assert_int_equal(out, 0); /* nothing parked */
    assert_int_equal(vgb_store_park(w->store, a[0]->seq, "licensing", T0, 1000, 60000, NULL),
                     VG_OK);
    assert_int_equal(vgb_store_park(w->store, a[1]->seq, "licensing", T0, 3000, 60000, NULL),
                     VG_OK);
    assert_int_equal(
        vgb_store_park(w->store, a[1]->seq, "childrens-services", T0, 500, 60000, NULL), VG_OK);
    mk_commit(w->store);
    assert_int_equal(vgb_store_next_try(w->store, "licensing", T0, &out), VG_OK);
    assert_int_equal(out, T0 + 1000);
    assert_int_equal(vgb_store_next_try(w->store, "licensing", T0 + 999, &out), VG_OK);
    assert_int_equal(out, T0 + 1000);
    assert_int_equal(vgb_store_next_try(w->store, "licensing", T0 + 1000, &out), VG_OK);
    assert_int_equal(out, T0 + 3000); /* after now_ms */
    assert_int_equal(vgb_store_next_try(w->store, "licensing", T0 + 3000, &out), VG_OK);
    assert_int_equal(out, 0);
    assert_int_equal(vgb_store_next_try(w->store, "childrens-services", T0, &out), VG_OK);
    assert_int_equal(out, T0 + 500);
    mk_begin(w->store);
    bool changed = false;
    assert_int_equal(vgb_store_mark_delivered(w->store, a[0]->seq, "licensing", T0, &changed),
                     VG_OK);
    mk_commit(w->store);
    assert_int_equal(vgb_store_next_try(w->store, "licensing", T0, &out), VG_OK);
    assert_int_equal(out, T0 + 3000);
    s_free_n(a, 2);
}

static void
test_count_waiting_and_pending(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    mk_alert *a[7];
    mk_begin(w->store);
    s_insert_n(w, a, 5, "police", NULL, T0 + 1000); /* licensing required */
    /* Two more addressed to licensing but not required of it. */
    vg_strlist only_cs = {0};
    assert_int_equal(vg_strlist_add(&only_cs, "childrens-services"), VG_OK);
    for (size_t i = 5; i < 7; i++) {
        a[i] = mk_seal(w, "police", NULL, VG_SEV_HIGH);
        uint64_t seq = 0;
        assert_int_equal(
            vgb_store_insert_alert(w->store, a[i]->env, T0, &only_cs, T0 + 1000, &seq, NULL),
            VG_OK);
        a[i]->seq = seq;
    }
    vg_strlist_fini(&only_cs);
    mk_commit(w->store);
    assert_false(s_row(w, a[6], "licensing").required);

    static const struct {
        uint64_t limit, want;
    } cases[] = {{0, 5}, {1, 1}, {3, 3}, {5, 5}, {10, 5}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t n = 99;
        assert_int_equal(vgb_store_count_waiting(w->store, "licensing", cases[i].limit, &n), VG_OK);
        if (n != cases[i].want) {
            fail_msg("count_waiting(limit %llu) = %llu, expected %llu",
                     (unsigned long long)cases[i].limit, (unsigned long long)n,
                     (unsigned long long)cases[i].want);
        }
    }
    uint64_t n = 99;
    assert_int_equal(vgb_store_count_pending(w->store, "licensing", &n), VG_OK);
    assert_int_equal(n, 7); /* every PENDING row, required or not */
    mk_begin(w->store);
    bool changed = false;
    assert_int_equal(vgb_store_mark_delivered(w->store, a[2]->seq, "licensing", T0, &changed),
                     VG_OK);
    assert_int_equal(vgb_store_mark_delivered(w->store, a[6]->seq, "licensing", T0, &changed),
                     VG_OK);
    /* Parked is still waiting. */
    assert_int_equal(vgb_store_park(w->store, a[3]->seq, "licensing", T0, 1000, 5000, NULL), VG_OK);
    mk_commit(w->store);
    assert_int_equal(vgb_store_count_waiting(w->store, "licensing", 0, &n), VG_OK);
    assert_int_equal(n, 4);
    assert_int_equal(vgb_store_count_pending(w->store, "licensing", &n), VG_OK);
    assert_int_equal(n, 5);
    assert_int_equal(vgb_store_count_waiting(w->store, "education", 0, &n), VG_OK);
    assert_int_equal(n, 0);
    assert_int_equal(vgb_store_count_waiting(w->store, "childrens-services", 0, &n), VG_OK);
    assert_int_equal(n, 7);
    s_free_n(a, 7);
}

/* ---- times --------------------------------------------------------------------------------- */

typedef struct s_rows {
    vgb_rrow r[64];
    size_t n;
} s_rows;

static void
s_take_row(void *ctx, const vgb_rrow *r, const char *officer, const char *note, const char *reason)
{
    (void)officer, (void)note, (void)reason;
    s_rows *x = ctx;
    assert_true(x->n < 64);
    x->r[x->n++] = *r;
}

static s_rows
s_open_rows(mk_world *w, uint32_t max_level, int64_t after, int64_t upto, int64_t limit)
{
    s_rows x;
    x.n = 0;
    assert_int_equal(vgb_store_open_rows(w->store, max_level, after, upto, limit, s_take_row, &x),
                     VG_OK);
    for (size_t i = 1; i < x.n; i++) {
        assert_true(x.r[i - 1].deadline_ms <= x.r[i].deadline_ms); /* deadline order */
    }
    for (size_t i = 0; i < x.n; i++) {
        assert_true(x.r[i].required);
        assert_int_not_equal(x.r[i].state, VGB_ACKNOWLEDGED);
        assert_true(x.r[i].esc_level <= max_level);
        assert_true(x.r[i].deadline_ms > after && x.r[i].deadline_ms <= upto);
    }
    return x;
}

static bool
s_has_row(const s_rows *x, uint64_t seq, const char *agency)
{
    for (size_t i = 0; i < x->n; i++) {
        if (x->r[i].seq == seq && strcmp(x->r[i].agency, agency) == 0) {
            return true;
        }
    }
    return false;
}

static void
test_open_rows(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    static const char *const also[] = {"education", NULL};
    mk_alert *a[5];
    mk_begin(w->store);
    for (size_t i = 0; i < 4; i++) { /* deadlines T0+100 .. T0+400; education not required */
        a[i] = mk_seal(w, "police", also, VG_SEV_HIGH);
        (void)mk_insert(w, a[i], T0 + 100 * (int64_t)(i + 1));
    }
    a[4] = mk_seal(w, "police", NULL, VG_SEV_HIGH);
    (void)mk_insert(w, a[4], 0); /* no deadline */
    assert_int_equal(vgb_store_apply_receipt(w->store, a[1]->seq, "childrens-services",
                                             VGB_ACKNOWLEDGED, T0, "Sgt C", NULL, NULL, T0 + 200),
                     VG_OK);
    assert_int_equal(vgb_store_set_escalation(w->store, a[2]->seq, "licensing", 3, T0), VG_OK);
    assert_int_equal(vgb_store_apply_receipt(w->store, a[3]->seq, "childrens-services",
                                             VGB_DECLINED, T0, NULL, NULL, "not ours", T0 + 400),
                     VG_OK);
    mk_commit(w->store);

    s_rows x = s_open_rows(w, 2, T0 + 100, T0 + 400, -1);
    /* (T0+100, T0+400]: a[1] licensing, a[2] childrens-services, a[3] both
     * (declined is still open). */
    assert_int_equal(x.n, 4);
    assert_true(s_has_row(&x, a[1]->seq, "licensing"));
    assert_true(s_has_row(&x, a[2]->seq, "childrens-services"));
    assert_true(s_has_row(&x, a[3]->seq, "licensing"));
    assert_true(s_has_row(&x, a[3]->seq, "childrens-services"));
    assert_int_equal(x.r[0].seq, a[1]->seq);
    assert_int_equal(x.r[0].deadline_ms, T0 + 200);

    x = s_open_rows(w, 2, T0 + 100, T0 + 400, 2);
    assert_int_equal(x.n, 2);
    assert_int_equal(x.r[0].deadline_ms, T0 + 200);
    assert_int_equal(x.r[1].deadline_ms, T0 + 300);
    x = s_open_rows(w, 2, T0 + 100, T0 + 400, 0);
    assert_int_equal(x.n, 0);
    x = s_open_rows(w, 3, T0 + 100, T0 + 400, -1); /* the finished step counts again */
    assert_int_equal(x.n, 5);
    assert_true(s_has_row(&x, a[2]->seq, "licensing"));
    x = s_open_rows(w, 2, T0, T0 + 100, -1); /* inclusive upper bound */
    assert_int_equal(x.n, 2);
    assert_true(s_has_row(&x, a[0]->seq, "licensing"));
    x = s_open_rows(w, 2, T0 + 400, INT64_MAX, -1);
    assert_int_equal(x.n, 0);
    x = s_open_rows(w, 2, 0, INT64_MAX, -1); /* never a row without a deadline */
    assert_int_equal(x.n, 6);
    s_free_n(a, 5);
}

static void
test_shift_times(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    static const char *const also[] = {"education", NULL};
    mk_alert *a = mk_seal(w, "police", also, VG_SEV_HIGH);
    mk_alert *b = mk_seal(w, "police", NULL, VG_SEV_HIGH);
    mk_begin(w->store);
    (void)mk_insert(w, a, T0 + 60000);
    (void)mk_insert(w, b, T0 + 90000);
    /* a: licensing open, childrens-services acknowledged, education not
     * required; b: licensing parked, childrens-services declined, and b's
     * licensing row delivered-and-parked is impossible: parked is PENDING. */
    assert_int_equal(vgb_store_apply_receipt(w->store, a->seq, "childrens-services",
                                             VGB_ACKNOWLEDGED, T0, "Sgt D", NULL, NULL, T0 + 60000),
                     VG_OK);
    assert_int_equal(vgb_store_park(w->store, b->seq, "licensing", T0, 1000, 5000, NULL), VG_OK);
    assert_int_equal(vgb_store_apply_receipt(w->store, b->seq, "childrens-services", VGB_DECLINED,
                                             T0, NULL, NULL, "no", T0 + 90000),
                     VG_OK);
    mk_commit(w->store);

    for (int k = 0; k < 3; k++) {
        /* +1 min, then back, then a rolled-back shift. */
        int64_t delta = k == 0 ? 60000 : -60000;
        int64_t shifted = k == 0 ? 60000 : 0;
        mk_begin(w->store);
        assert_int_equal(vgb_store_shift_times(w->store, delta), VG_OK);
        if (k == 2) {
            vgb_store_rollback(w->store);
        } else {
            mk_commit(w->store);
        }
        assert_int_equal(s_row(w, a, "licensing").deadline_ms, T0 + 60000 + shifted);
        assert_int_equal(s_row(w, a, "childrens-services").deadline_ms, T0 + 60000); /* done */
        assert_int_equal(s_row(w, a, "education").deadline_ms, 0);
        assert_int_equal(s_row(w, b, "licensing").deadline_ms, T0 + 90000 + shifted);
        assert_int_equal(s_row(w, b, "childrens-services").deadline_ms, T0 + 90000 + shifted);
        int64_t next = 0;
        assert_int_equal(vgb_store_next_try(w->store, "licensing", T0, &next), VG_OK);
        assert_int_equal(next, T0 + 1000 + shifted);
        s_rows x = s_open_rows(w, 0, T0 + 60000 + shifted - 1, T0 + 60000 + shifted, -1);
        assert_int_equal(x.n, 1);
        assert_int_equal(x.r[0].seq, a->seq);
    }
    mk_alert_free(&a);
    mk_alert_free(&b);
}

/* ---- receipts and completion ------------------------------------------------------------------
 */

typedef struct s_texts {
    char agency[8][64], officer[8][64], note[8][64], reason[8][64];
    vgb_rrow r[8];
    size_t n;
} s_texts;

static void
s_take_texts(void *ctx, const vgb_rrow *r, const char *officer, const char *note,
             const char *reason)
{
    s_texts *x = ctx;
    assert_true(x->n < 8);
    x->r[x->n] = *r;
    snprintf(x->agency[x->n], 64, "%s", r->agency);
    snprintf(x->officer[x->n], 64, "%s", officer ? officer : "");
    snprintf(x->note[x->n], 64, "%s", note ? note : "");
    snprintf(x->reason[x->n], 64, "%s", reason ? reason : "");
    x->n++;
}

static size_t
s_text_of(const s_texts *x, const char *agency)
{
    for (size_t i = 0; i < x->n; i++) {
        if (strcmp(x->agency[i], agency) == 0) {
            return i;
        }
    }
    fail_msg("no row of %s", agency);
    return 0;
}

static void
test_apply_receipt(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    static const char *const also[] = {"education", NULL};
    mk_alert *a = mk_seal(w, "police", also, VG_SEV_HIGH);
    (void)mk_insert_committed(w, a, T0 + 60000);
    mk_begin(w->store);
    assert_int_equal(vgb_store_apply_receipt(w->store, a->seq, "licensing", VGB_ACKNOWLEDGED,
                                             T0 + 10, "Sgt E", "seen it", NULL, T0 + 60000),
                     VG_OK);
    assert_int_equal(vgb_store_apply_receipt(w->store, a->seq, "childrens-services",
                                             VGB_IN_PROGRESS, T0 + 20, NULL, NULL, "visiting",
                                             T0 + 120000),
                     VG_OK);
    assert_int_equal(vgb_store_apply_receipt(w->store, a->seq, "education", VGB_DECLINED, T0 + 30,
                                             NULL, NULL, "not ours", 0),
                     VG_OK);
    mk_commit(w->store);

    vgb_rrow r = s_row(w, a, "licensing");
    assert_int_equal(r.state, VGB_ACKNOWLEDGED);
    assert_int_equal(r.acked_ms, T0 + 10);
    assert_int_equal(r.state_ms, T0 + 10);
    assert_int_equal(r.deadline_ms, T0 + 60000);
    assert_false(r.progress_used);
    r = s_row(w, a, "childrens-services");
    assert_int_equal(r.state, VGB_IN_PROGRESS);
    assert_int_equal(r.state_ms, T0 + 20);
    assert_int_equal(r.acked_ms, 0);
    assert_int_equal(r.deadline_ms, T0 + 120000); /* extended */
    assert_true(r.progress_used);
    r = s_row(w, a, "education");
    assert_int_equal(r.state, VGB_DECLINED);
    assert_int_equal(r.acked_ms, 0);

    s_texts x;
    x.n = 0;
    assert_int_equal(vgb_store_recipients_of(w->store, a->seq, s_take_texts, &x), VG_OK);
    assert_int_equal(x.n, 3);
    size_t i = s_text_of(&x, "licensing");
    assert_string_equal(x.officer[i], "Sgt E");
    assert_string_equal(x.note[i], "seen it");
    i = s_text_of(&x, "childrens-services");
    assert_string_equal(x.reason[i], "visiting");
    assert_string_equal(x.officer[i], "");
    i = s_text_of(&x, "education");
    assert_string_equal(x.reason[i], "not ours");
    assert_int_equal(s_count(w->store, VGB_COUNT_ACKNOWLEDGED, NULL), 1);
    assert_int_equal(s_count(w->store, VGB_COUNT_ACKNOWLEDGED, "licensing"), 1);
    assert_int_equal(s_count(w->store, VGB_COUNT_ACKNOWLEDGED, "education"), 0);

    /* Escalation progress and when it went overdue. */
    mk_begin(w->store);
    assert_int_equal(vgb_store_set_escalation(w->store, a->seq, "childrens-services", 1, T0 + 500),
                     VG_OK);
    assert_int_equal(vgb_store_set_escalation(w->store, a->seq, "childrens-services", 2, T0 + 900),
                     VG_OK);
    mk_commit(w->store);
    r = s_row(w, a, "childrens-services");
    assert_int_equal(r.esc_level, 2);
    assert_int_equal(r.overdue_ms, T0 + 500);
    assert_int_equal(s_count(w->store, VGB_COUNT_OVERDUE, "childrens-services"), 1);
    assert_int_equal(s_count(w->store, VGB_COUNT_OVERDUE, "licensing"), 0);
    mk_alert_free(&a);
}

static void
test_check_complete(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    static const char *const also[] = {"education", NULL};
    mk_alert *a = mk_seal(w, "police", also, VG_SEV_HIGH);
    (void)mk_insert_committed(w, a, T0 + 60000);
    vgb_alert_meta m;
    bool now = true;
    mk_begin(w->store);
    assert_int_equal(vgb_store_check_complete(w->store, a->seq, T0 + 1, &now), VG_OK);
    assert_false(now);
    assert_int_equal(vgb_store_apply_receipt(w->store, a->seq, "licensing", VGB_ACKNOWLEDGED, T0,
                                             "Sgt F", NULL, NULL, T0 + 60000),
                     VG_OK);
    now = true;
    assert_int_equal(vgb_store_check_complete(w->store, a->seq, T0 + 2, &now), VG_OK);
    assert_false(now);
    assert_int_equal(vgb_store_apply_receipt(w->store, a->seq, "childrens-services", VGB_DECLINED,
                                             T0, NULL, NULL, "no", T0 + 60000),
                     VG_OK);
    now = true;
    assert_int_equal(vgb_store_check_complete(w->store, a->seq, T0 + 3, &now), VG_OK);
    assert_false(now); /* declined is not acknowledged */
    assert_int_equal(vgb_store_alert_meta(w->store, a->seq, &m), VG_OK);
    assert_int_equal(m.complete_ms, 0);
    assert_int_equal(vgb_store_apply_receipt(w->store, a->seq, "childrens-services",
                                             VGB_ACKNOWLEDGED, T0 + 4, "Sgt G", NULL, NULL,
                                             T0 + 60000),
                     VG_OK);
    now = false;
    assert_int_equal(vgb_store_check_complete(w->store, a->seq, T0 + 5, &now), VG_OK);
    assert_true(now); /* education was never required */
    now = true;
    assert_int_equal(vgb_store_check_complete(w->store, a->seq, T0 + 6, &now), VG_OK);
    assert_false(now); /* completed once */
    mk_commit(w->store);
    assert_int_equal(vgb_store_alert_meta(w->store, a->seq, &m), VG_OK);
    assert_int_equal(m.complete_ms, T0 + 5);

    /* Not outstanding any more. */
    s_seqs x = {{0}, 0, 0};
    assert_int_equal(vgb_store_outstanding(w->store, NULL, 0, 100, s_take_seq, &x), VG_OK);
    assert_int_equal(x.n, 0);
    mk_alert_free(&a);
}

static void
test_outstanding(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    mk_alert *a[4];
    mk_begin(w->store);
    s_insert_n(w, a, 3, "police", NULL, T0 + 1000);
    a[3] = mk_seal(w, "home-office", NULL, VG_SEV_HIGH);
    (void)mk_insert(w, a[3], T0 + 1000);
    /* licensing acknowledged a[1]: no longer its to acknowledge. */
    assert_int_equal(vgb_store_apply_receipt(w->store, a[1]->seq, "licensing", VGB_ACKNOWLEDGED, T0,
                                             "Sgt H", NULL, NULL, T0 + 1000),
                     VG_OK);
    mk_commit(w->store);
    s_seqs x = {{0}, 0, 0};
    assert_int_equal(vgb_store_outstanding(w->store, "licensing", 0, 100, s_take_seq, &x), VG_OK);
    uint64_t lic[] = {a[0]->seq, a[2]->seq, a[3]->seq};
    s_expect_seqs(&x, lic, 3);
    x = (s_seqs){{0}, 0, 0};
    assert_int_equal(vgb_store_outstanding(w->store, "police", 0, 100, s_take_seq, &x), VG_OK);
    uint64_t pol[] = {a[0]->seq, a[1]->seq, a[2]->seq, a[3]->seq}; /* sent, or must ack a[3] */
    s_expect_seqs(&x, pol, 4);
    x = (s_seqs){{0}, 0, 0};
    assert_int_equal(vgb_store_outstanding(w->store, NULL, a[0]->seq, 2, s_take_seq, &x), VG_OK);
    uint64_t page[] = {a[1]->seq, a[2]->seq};
    s_expect_seqs(&x, page, 2);
    x = (s_seqs){{0}, 0, 0};
    assert_int_equal(vgb_store_outstanding(w->store, "education", 0, 100, s_take_seq, &x), VG_OK);
    assert_int_equal(x.n, 0);
    s_free_n(a, 4);
}

static void
test_receipts_stored_once(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    mk_alert *a[3];
    mk_begin(w->store);
    s_insert_n(w, a, 3, "police", NULL, 0);
    mk_commit(w->store);
    const mk_alert *two[2] = {a[0], a[1]};
    vg_receipt *r = mk_receipt(w, "licensing", VG_RECEIPT_DELIVERED, two, 2, NULL);
    uint64_t seqs[2] = {a[0]->seq, a[1]->seq};
    mk_begin(w->store);
    assert_int_equal(vgb_store_insert_receipt(w->store, r, seqs, 2, T0), VG_OK);
    assert_int_equal(vgb_store_insert_receipt(w->store, r, seqs, 2, T0 + 1), VG_OK); /* again */
    bool set = false;
    assert_int_equal(vgb_store_receipt_leaf(w->store, vg_receipt_hash(r), 5, &set), VG_OK);
    assert_true(set);
    assert_int_equal(vgb_store_receipt_leaf(w->store, vg_receipt_hash(r), 6, &set), VG_OK);
    assert_false(set);
    mk_commit(w->store);
    assert_int_equal(s_count(w->store, VGB_COUNT_RECEIPTS, NULL), 1);
    assert_int_equal(s_count(w->store, VGB_COUNT_RECEIPTS, "licensing"), 1);
    assert_int_equal(s_count(w->store, VGB_COUNT_RECEIPTS, "police"), 0);
    bool names = false;
    assert_int_equal(
        vgb_store_receipt_names(w->store, vg_receipt_hash(r), "licensing", a[1]->seq, &names),
        VG_OK);
    assert_true(names);
    assert_int_equal(
        vgb_store_receipt_names(w->store, vg_receipt_hash(r), "licensing", a[2]->seq, &names),
        VG_OK);
    assert_false(names);
    assert_int_equal(vgb_store_receipt_names(w->store, vg_receipt_hash(r), "childrens-services",
                                             a[1]->seq, &names),
                     VG_OK);
    assert_false(names);
    /* The DELIVERED receipt's leaf is found from each alert it named. */
    for (size_t i = 0; i < 3; i++) {
        s_seqs x = {{0}, 0, 0};
        assert_int_equal(vgb_store_alert_leaves(w->store, a[i]->seq, s_take_idx, &x), VG_OK);
        if (i < 2) {
            assert_int_equal(x.n, 1);
            assert_int_equal(x.v[0], 5);
        } else {
            assert_int_equal(x.n, 0);
        }
    }
    vg_receipt_destroy(&r);
    s_free_n(a, 3);
}

/* ---- events -------------------------------------------------------------------------------------
 */

typedef struct s_evs {
    vgb_event_row e[64];
    char about[64][64], detail[64][64];
    size_t receipt_len[64];
    size_t n;
} s_evs;

static void
s_take_ev(void *ctx, const vgb_event_row *ev)
{
    s_evs *x = ctx;
    assert_true(x->n < 64);
    x->e[x->n] = *ev;
    snprintf(x->about[x->n], 64, "%s", ev->about ? ev->about : "");
    snprintf(x->detail[x->n], 64, "%s", ev->detail ? ev->detail : "");
    x->receipt_len[x->n] = ev->receipt != NULL ? ev->receipt_len : 0;
    x->e[x->n].about = x->e[x->n].detail = NULL;
    x->e[x->n].receipt = NULL;
    x->n++;
}

static s_evs *
s_events(mk_world *w, const char *agency, uint64_t after, size_t limit)
{
    s_evs *x = calloc(1, sizeof *x);
    assert_non_null(x);
    assert_int_equal(vgb_store_events_after(w->store, agency, after, limit, s_take_ev, x), VG_OK);
    return x;
}

static void
test_events_after_paging(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    static const uint8_t receipt[] = "forwarded receipt";
    /* licensing: 1, a run 2..6, 7, a run 8..10. */
    uint64_t alert_of[11] = {0, 0, 21, 22, 23, 24, 25, 0, 31, 32, 33};
    mk_begin(w->store);
    vgb_event_row e1 = {.seq = 1,
                        .time_ms = T0 + 1,
                        .kind = 4,
                        .alert_seq = 20,
                        .about = "licensing",
                        .detail = "Sgt I",
                        .receipt = receipt,
                        .receipt_len = sizeof receipt};
    assert_int_equal(vgb_store_insert_events(w->store, "licensing", &e1, NULL, 0), VG_OK);
    alert_of[1] = 20;
    vgb_event_row r1 = {
        .seq = 2, .time_ms = T0 + 2, .kind = 1, .alert_seq = 21, .about = "police", .detail = ""};
    assert_int_equal(
        vgb_store_insert_events(w->store, "licensing", &r1, (uint64_t[]){22, 23, 24, 25}, 4),
        VG_OK);
    vgb_event_row e7 = {
        .seq = 7, .time_ms = T0 + 7, .kind = 10, .about = "council", .detail = "", .count = 9};
    assert_int_equal(vgb_store_insert_events(w->store, "licensing", &e7, NULL, 0), VG_OK);
    vgb_event_row r2 = {.seq = 8,
                        .time_ms = T0 + 8,
                        .kind = 9,
                        .alert_seq = 31,
                        .about = "education",
                        .detail = "role:oversight",
                        .level = 3};
    assert_int_equal(vgb_store_insert_events(w->store, "licensing", &r2, (uint64_t[]){32, 33}, 2),
                     VG_OK);
    mk_commit(w->store);

    uint64_t last = 0;
    assert_int_equal(vgb_store_last_event(w->store, "licensing", &last), VG_OK);
    assert_int_equal(last, 10);
    assert_int_equal(vgb_store_last_event(w->store, "police", &last), VG_OK);
    assert_int_equal(last, 0);

    s_evs *x = s_events(w, "licensing", 0, 100);
    assert_int_equal(x->n, 10);
    for (size_t i = 0; i < 10; i++) {
        uint64_t seq = i + 1;
        assert_int_equal(x->e[i].seq, seq);
        assert_int_equal(x->e[i].alert_seq, alert_of[seq]);
    }
    assert_int_equal(x->receipt_len[0], sizeof receipt);
    assert_string_equal(x->detail[0], "Sgt I");
    for (size_t i = 1; i < 6; i++) { /* the run: all the first's but the alert */
        assert_int_equal(x->e[i].kind, 1);
        assert_string_equal(x->about[i], "police");
        assert_int_equal(x->e[i].time_ms, T0 + 2);
        assert_int_equal(x->receipt_len[i], 0);
    }
    assert_int_equal(x->e[6].count, 9);
    assert_string_equal(x->about[6], "council");
    for (size_t i = 7; i < 10; i++) {
        assert_int_equal(x->e[i].level, 3);
        assert_string_equal(x->detail[i], "role:oversight");
    }
    free(x);

    static const struct {
        uint64_t after;
        size_t limit, n;
        uint64_t first;
    } pages[] = {{3, 2, 2, 4},   {6, 3, 3, 7},   {1, 5, 5, 2},     {5, 1, 1, 6},
                 {9, 10, 1, 10}, {10, 10, 0, 0}, {1000, 10, 0, 0}, {0, 0, 0, 0}};
    for (size_t p = 0; p < sizeof pages / sizeof pages[0]; p++) {
        x = s_events(w, "licensing", pages[p].after, pages[p].limit);
        if (x->n != pages[p].n) {
            fail_msg("events after %llu, limit %zu: %zu events, expected %zu",
                     (unsigned long long)pages[p].after, pages[p].limit, x->n, pages[p].n);
        }
        for (size_t i = 0; i < x->n; i++) {
            assert_int_equal(x->e[i].seq, pages[p].first + i);
            assert_int_equal(x->e[i].alert_seq, alert_of[pages[p].first + i]);
        }
        free(x);
    }
    /* Page by page, one at a time: each once. */
    uint64_t after = 0;
    for (;;) {
        x = s_events(w, "licensing", after, 1);
        if (x->n == 0) {
            free(x);
            break;
        }
        assert_int_equal(x->e[0].seq, after + 1);
        after = x->e[0].seq;
        free(x);
    }
    assert_int_equal(after, 10);
    x = s_events(w, "police", 0, 100);
    assert_int_equal(x->n, 0);
    free(x);
    assert_int_equal(s_count(w->store, VGB_COUNT_EVENTS, "licensing"), 10);
    assert_int_equal(s_count(w->store, VGB_COUNT_EVENTS, "police"), 0);
    assert_int_equal(s_count(w->store, VGB_COUNT_EVENTS, NULL), 10);
}

/* ---- counts
 * ---------------------------------------------------------------------------------------- */

static void
test_counts(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    mk_alert *a[3];
    mk_begin(w->store);
    s_insert_n(w, a, 2, "police", NULL, T0 + 1000);
    a[2] = mk_seal(w, "home-office", NULL, VG_SEV_HIGH);
    (void)mk_insert(w, a[2], T0 + 1000);
    bool changed = false;
    assert_int_equal(vgb_store_mark_delivered(w->store, a[0]->seq, "licensing", T0, &changed),
                     VG_OK);
    assert_int_equal(
        vgb_store_mark_delivered(w->store, a[1]->seq, "childrens-services", T0, &changed), VG_OK);
    assert_int_equal(vgb_store_apply_receipt(w->store, a[1]->seq, "childrens-services",
                                             VGB_ACKNOWLEDGED, T0, "Sgt J", NULL, NULL, T0 + 1000),
                     VG_OK);
    assert_int_equal(vgb_store_set_escalation(w->store, a[1]->seq, "licensing", 1, T0), VG_OK);
    mk_share(w, a[0], "licensing", "education", T0 + 1000, NULL, NULL, NULL);
    mk_share(w, a[1], "childrens-services", "education", T0 + 1000, NULL, NULL, NULL);
    assert_int_equal(vgb_store_insert_rejection(w->store, T0, "police", NULL, "replay", "x"),
                     VG_OK);
    assert_int_equal(
        vgb_store_insert_rejection(w->store, T0, "police", a[0]->id, "clock_skew", "y"), VG_OK);
    assert_int_equal(vgb_store_insert_rejection(w->store, T0, "council", NULL, "clock_skew", "z"),
                     VG_OK);
    uint8_t h[VG_HASH_LEN] = {7};
    static const char l0[] = "kind=agency_online\nagency=police\n";
    static const char l1[] = "kind=agency_online\nagency=council\n";
    assert_int_equal(vgb_store_audit_append(w->store, 0, (const uint8_t *)l0, strlen(l0), h, NULL,
                                            NULL, NULL, 0),
                     VG_OK);
    unsigned lv = 1;
    uint64_t node = 0;
    uint8_t nh[1][VG_HASH_LEN] = {{8}};
    assert_int_equal(vgb_store_audit_append(w->store, 1, (const uint8_t *)l1, strlen(l1), h, &lv,
                                            &node, (const uint8_t(*)[VG_HASH_LEN])nh, 1),
                     VG_OK);
    assert_int_equal(vgb_store_audit_add_checkpoint(w->store, 2, h, "note", 4, T0), VG_OK);
    vgb_event_row ev = {.seq = 1,
                        .time_ms = T0,
                        .kind = 1,
                        .alert_seq = a[0]->seq,
                        .about = "police",
                        .detail = ""};
    assert_int_equal(vgb_store_insert_events(w->store, "oversight", &ev, (uint64_t[]){2, 3}, 2),
                     VG_OK);
    mk_commit(w->store);

    static const struct {
        vgb_count_what what;
        const char *filter;
        uint64_t want;
    } cases[] = {
        {VGB_COUNT_ALERTS, NULL, 3},
        {VGB_COUNT_ALERTS, "police", 2},
        {VGB_COUNT_ALERTS, "licensing", 0},
        {VGB_COUNT_RECIPIENTS, NULL, 9}, /* 2 + 2 + 3 (police too) + 2 shares */
        {VGB_COUNT_RECIPIENTS, "education", 2},
        {VGB_COUNT_RECIPIENTS, "police", 1}, /* of home-office's alert */
        {VGB_COUNT_DELIVERED, NULL, 2},
        {VGB_COUNT_DELIVERED, "licensing", 1},
        {VGB_COUNT_ACKNOWLEDGED, NULL, 1},
        {VGB_COUNT_ACKNOWLEDGED, "childrens-services", 1},
        {VGB_COUNT_OVERDUE, NULL, 1},
        {VGB_COUNT_OVERDUE, "licensing", 1},
        {VGB_COUNT_RECEIPTS, NULL, 0},
        {VGB_COUNT_SHARES, NULL, 2},
        {VGB_COUNT_SHARES, "licensing", 1},
        {VGB_COUNT_SHARES, "education", 0},
        {VGB_COUNT_REJECTIONS, NULL, 3},
        {VGB_COUNT_REJECTIONS, "police", 2},
        {VGB_COUNT_REJECTION_CODE, "clock_skew", 2},
        {VGB_COUNT_REJECTION_CODE, "replay", 1},
        {VGB_COUNT_REJECTION_CODE, "malformed", 0},
        {VGB_COUNT_EVENTS, NULL, 3},
        {VGB_COUNT_EVENTS, "oversight", 3},
        {VGB_COUNT_LEAVES, NULL, 2},
        {VGB_COUNT_LEAVES, "council", 1},
        {VGB_COUNT_LEAVES, "agency_online", 2},
        {VGB_COUNT_LEAVES, "education", 0},
        {VGB_COUNT_CHECKPOINTS, NULL, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t got = s_count(w->store, cases[i].what, cases[i].filter);
        if (got != cases[i].want) {
            fail_msg("count(%d, %s) = %llu, expected %llu", (int)cases[i].what,
                     cases[i].filter ? cases[i].filter : "NULL", (unsigned long long)got,
                     (unsigned long long)cases[i].want);
        }
    }
    uint64_t n = 0;
    assert_int_not_equal(vgb_store_count(w->store, (vgb_count_what)0, NULL, &n), VG_OK);
    assert_int_not_equal(vgb_store_count(w->store, (vgb_count_what)99, NULL, &n), VG_OK);
    s_free_n(a, 3);
}

static void
test_failures_logged_once(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    mk_alert *a = mk_seal(w, "police", NULL, VG_SEV_HIGH);
    (void)mk_insert_committed(w, a, 0);
    /* An absent row is an answer, not a failure. */
    size_t before = mk_log_count("store.error", NULL);
    vgb_alert_row row;
    uint8_t unknown[VG_ALERT_ID_LEN] = {0};
    assert_int_equal(vgb_store_find_alert(w->store, unknown, &row), VG_ERR_NOT_FOUND);
    vgb_rrow r;
    assert_int_equal(vgb_store_rrow(w->store, a->seq, "council", &r), VG_ERR_NOT_FOUND);
    assert_int_equal(mk_log_count("store.error", NULL), before);
    /* A refused change is logged once. */
    mk_begin(w->store);
    uint64_t seq = 0;
    assert_int_not_equal(vgb_store_insert_alert(w->store, a->env, T0, &a->required, 0, &seq, NULL),
                         VG_OK); /* the same alert again */
    mk_commit(w->store);
    assert_int_equal(mk_log_count("store.error", NULL), before + 1);
    /* A transaction that cannot be begun: vgb_store_txn says it is logged. */
    vgb_store *rd = s_backend_reader(w->store);
    before = mk_log_count("store.error", NULL);
    bool began = vgb_store_txn(rd);
    size_t logged = mk_log_count("store.error", NULL) - before;
    s_backend_close(&rd);
    mk_alert_free(&a);
    assert_false(began);
    assert_int_equal(logged, 1); /* (not logged at all before the fix) */
}

static void
test_network_version_only_rises(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    uint64_t v = 99;
    assert_int_equal(vgb_store_network_version(w->store, &v), VG_OK);
    assert_int_equal(v, 0);
    mk_begin(w->store);
    assert_int_equal(vgb_store_set_network_version(w->store, 5, NULL), VG_OK);
    assert_int_equal(vgb_store_set_network_version(w->store, 3, NULL), VG_OK);
    mk_commit(w->store);
    s_reopen(w);
    assert_int_equal(vgb_store_network_version(w->store, &v), VG_OK);
    assert_int_equal(v, 5);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_transactions_invisible_until_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changes_outside_transaction_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_alert_and_same_envelope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequence_used, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recipient_rows_as_inserted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mark_delivered_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_park_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_try, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_waiting_and_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shift_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_receipt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_complete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outstanding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receipts_stored_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_after_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_logged_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_network_version_only_rises, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
