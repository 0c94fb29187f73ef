/* contract.c — the store contract suite (see contract.h): every store.h
 * operation's contract, run against each back end. */
#include "contract.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/envelope.h"
#include "vigil/receipt.h"
#include "store_witness.h"
#include "vt.h"

#define T0 INT64_C(1796000001000) /* accepted times start here */
#define N_MAX 64                  /* items a collector keeps */

/* The back end under test and the network the envelopes are sealed in: one
 * per run (test state is per test, in fx). */
static const vsc_backend *s_b;
static vt_net *s_net;

typedef struct fx {
    vgb_store *s;             /* the owner's store */
    uint64_t next_sender_seq; /* per-sender sequence numbers for new envelopes */
} fx;

/* ---- fixtures -------------------------------------------------------------- */

static int
s_group_setup(void **state)
{
    (void)state;
    s_net = vt_net_new(4); /* police, licensing, childrens-services, home-office */
    return 0;
}

static int
s_group_teardown(void **state)
{
    (void)state;
    vt_net_destroy(&s_net);
    return 0;
}

static void
s_open(vgb_store **out)
{
    vg_reason why = {{0}};
    vg_err err = s_b->open(s_b->ctx, out, &why);
    if (err != VG_OK) {
        fail_msg("%s: open: %s: %s", s_b->name, vg_err_code(err), why.text);
    }
}

static int
s_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->next_sender_seq = 1;
    s_b->fresh(s_b->ctx, false);
    s_open(&f->s);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fx *f = *state;
    vgb_store_destroy(&f->s);
    s_b->drop(s_b->ctx);
    free(f);
    return 0;
}

static void
s_ok(vg_err err, const vg_reason *why, const char *what)
{
    if (err != VG_OK) {
        fail_msg("%s: %s: %s: %s", s_b->name, what, vg_err_code(err), why ? why->text : "");
    }
}

static void
s_begin(vgb_store *s)
{
    vg_reason why = {{0}};
    s_ok(vgb_store_begin(s, &why), &why, "begin");
}

static void
s_commit(vgb_store *s)
{
    vg_reason why = {{0}};
    s_ok(vgb_store_commit(s, &why), &why, "commit");
}

/* ---- envelopes and alerts ------------------------------------------------------ */

/* A verified envelope from sender to rcpts (sender sequence seq). */
static vg_envelope *
s_seal(const char *sender, uint64_t seq, const char *const *rcpts, size_t n)
{
    vg_alert a;
    vt_alert_sample(&a, rcpts, n);
    vg_seal_params p = vt_seal_params(s_net, sender);
    p.sequence = seq;
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    s_ok(vg_envelope_seal(&bytes, &len, NULL, &a, &p, &why), &why, "seal");
    vt_alert_fini(&a);
    vg_envelope *env = NULL;
    s_ok(vg_envelope_verify(&env, bytes, len, s_net->doc, &why), &why, "verify");
    free(bytes);
    return env;
}

/* Inserts an alert (inside the caller's transaction): sender to rcpts, the
 * first n_req of them required, with deadline_ms; its seq. */
static uint64_t
s_insert(fx *f, vg_envelope **env_out, const char *sender, const char *const *rcpts, size_t n,
         size_t n_req, int64_t accepted_ms, int64_t deadline_ms)
{
    vg_envelope *env = s_seal(sender, f->next_sender_seq++, rcpts, n);
    vg_strlist req = {0};
    for (size_t i = 0; i < n_req; i++) {
        assert_int_equal(vg_strlist_add(&req, rcpts[i]), VG_OK);
    }
    uint64_t seq = 0;
    vg_reason why = {{0}};
    s_ok(vgb_store_insert_alert(f->s, env, accepted_ms, &req, deadline_ms, &seq, &why), &why,
         "insert alert");
    vg_strlist_fini(&req);
    if (env_out != NULL) {
        *env_out = env;
    } else {
        vg_envelope_destroy(&env);
    }
    return seq;
}

static const char *const s_lic[] = {"licensing"};
static const char *const s_lic_chs[] = {"licensing", "childrens-services"};

/* One alert police -> licensing (required), in a transaction of its own. */
static uint64_t
s_add(fx *f, int64_t accepted_ms)
{
    s_begin(f->s);
    uint64_t seq = s_insert(f, NULL, "police", s_lic, 1, 1, accepted_ms, accepted_ms + 1000);
    s_commit(f->s);
    return seq;
}

static uint64_t
s_count(vgb_store *s, vgb_count_what what, const char *filter)
{
    uint64_t n = 0;
    s_ok(vgb_store_count(s, what, filter, &n), NULL, "count");
    return n;
}

static uint64_t
s_alerts(vgb_store *s)
{
    uint64_t n = 0;
    s_ok(vgb_store_count_alerts(s, &n), NULL, "count alerts");
    return n;
}

/* ---- collectors ------------------------------------------------------------------ */

typedef struct s_seqs {
    uint64_t v[N_MAX]; /* what came */
    size_t n;          /* how many */
    size_t stop_after; /* 0: never stop */
} s_seqs;

static bool
s_take_seq(void *ctx, uint64_t seq)
{
    s_seqs *c = ctx;
    if (c->n < N_MAX) {
        c->v[c->n] = seq;
    }
    c->n++;
    return c->stop_after == 0 || c->n < c->stop_after;
}

static bool
s_take_pair(void *ctx, uint64_t later, uint64_t earlier)
{
    return s_take_seq(ctx, later) && s_take_seq(ctx, earlier);
}

static void
s_take_index(void *ctx, uint64_t idx)
{
    (void)s_take_seq(ctx, idx);
}

static void
s_seqs_are(const s_seqs *c, const uint64_t *want, size_t n)
{
    assert_int_equal(c->n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(c->v[i], want[i]);
    }
}

#define S_SEQS_ARE(c, ...)                                                                         \
    do {                                                                                           \
        const uint64_t w_[] = {__VA_ARGS__};                                                       \
        s_seqs_are((c), w_, sizeof w_ / sizeof w_[0]);                                             \
    } while (0)

typedef struct s_rows {
    vgb_rrow r[N_MAX];       /* rows */
    char officer[N_MAX][64]; /* their texts */
    char note[N_MAX][64];    /* ... */
    char reason[N_MAX][64];  /* ... */
    size_t n;                /* how many */
} s_rows;

static void
s_take_row(void *ctx, const vgb_rrow *r, const char *officer, const char *note, const char *reason)
{
    s_rows *c = ctx;
    if (c->n < N_MAX) {
        c->r[c->n] = *r;
        snprintf(c->officer[c->n], 64, "%s", officer ? officer : "");
        snprintf(c->note[c->n], 64, "%s", note ? note : "");
        snprintf(c->reason[c->n], 64, "%s", reason ? reason : "");
    }
    c->n++;
}

/* ---- opening and the schema ---------------------------------------------------- */

static void
test_open_empty(void **state)
{
    fx *f = *state;
    uint64_t v = 99;
    assert_int_equal(s_alerts(f->s), 0);
    assert_int_equal(vgb_store_network_version(f->s, &v), VG_OK);
    assert_int_equal(v, 0);
    assert_int_equal(vgb_store_audit_size(f->s, &v), VG_OK);
    assert_int_equal(v, 0);
    assert_int_equal(vgb_store_last_event(f->s, "police", &v), VG_OK);
    assert_int_equal(v, 0);
    int64_t next = 99;
    assert_int_equal(vgb_store_next_try(f->s, "licensing", 0, &next), VG_OK);
    assert_int_equal(next, 0);
    bool found = true, any = true;
    assert_int_equal(vgb_store_audit_latest_checkpoint(f->s, NULL, NULL, &found), VG_OK);
    assert_false(found);
    assert_int_equal(vgb_store_audit_nodes_beyond(f->s, 0, &any), VG_OK);
    assert_false(any);
    assert_false(vgb_store_in_transaction(f->s));
    assert_false(vgb_store_commit_in_doubt(f->s));
    assert_non_null(vgb_store_path(f->s));
}

static void
test_reopen_keeps_what_was_committed(void **state)
{
    fx *f = *state;
    s_begin(f->s);
    vg_envelope *env = NULL;
    uint64_t seq = s_insert(f, &env, "police", s_lic, 1, 1, T0, T0 + 1000);
    s_commit(f->s);
    vgb_store_destroy(&f->s);
    s_open(&f->s);
    vgb_alert_row row;
    assert_int_equal(vgb_store_find_alert(f->s, vg_envelope_id(env), &row), VG_OK);
    assert_int_equal(row.seq, seq);
    assert_memory_equal(row.envelope_hash, vg_envelope_hash(env), VG_HASH_LEN);
    vg_envelope_destroy(&env);
}

static void
test_readonly_refuses_a_place_without_a_store(void **state)
{
    fx *f = *state;
    vgb_store_destroy(&f->s);
    s_b->drop(s_b->ctx);
    s_b->fresh(s_b->ctx, true);
    vgb_store *ro = NULL;
    vg_reason why = {{0}};
    assert_int_equal(s_b->open_readonly(s_b->ctx, &ro, &why), VG_ERR_NOT_FOUND);
    assert_null(ro);
    assert_true(why.text[0] != '\0');
}

static void
test_newer_schema_is_refused_and_left_alone(void **state)
{
    fx *f = *state;
    (void)s_add(f, T0);
    vgb_store_destroy(&f->s);
    s_b->set_schema_version(s_b->ctx, 99);
    vgb_store *s = NULL;
    vg_reason why = {{0}};
    assert_int_not_equal(s_b->open(s_b->ctx, &s, &why), VG_OK);
    assert_null(s);
    assert_true(vt_reason_has(&why, "99"));
    memset(&why, 0, sizeof why);
    assert_int_not_equal(s_b->open_readonly(s_b->ctx, &s, &why), VG_OK);
    assert_null(s);
    assert_true(vt_reason_has(&why, "99"));
    /* Nothing was changed: with its version back it opens, alert and all. */
    s_b->set_schema_version(s_b->ctx, VGB_STORE_SCHEMA_VERSION);
    s_open(&f->s);
    assert_int_equal(s_alerts(f->s), 1);
}

static void
test_readonly_reads_and_refuses_writes(void **state)
{
    fx *f = *state;
    (void)s_add(f, T0);
    vgb_store *ro = NULL;
    vg_reason why = {{0}};
    s_ok(s_b->open_readonly(s_b->ctx, &ro, &why), &why, "open read-only");
    assert_int_equal(s_alerts(ro), 1);
    assert_int_equal(vgb_store_begin(ro, &why), VG_ERR_INTERNAL);
    assert_false(vgb_store_in_transaction(ro));
    assert_int_equal(vgb_store_insert_rejection(ro, T0, "police", NULL, "malformed", "x"),
                     VG_ERR_INTERNAL);
    s_ok(vgb_store_read_begin(ro, &why), &why, "read begin");
    assert_int_equal(s_alerts(ro), 1);
    vgb_store_read_end(ro);
    vgb_store_destroy(&ro);
    assert_int_equal(s_count(f->s, VGB_COUNT_REJECTIONS, NULL), 0);
}

/* ---- transactions -------------------------------------------------------------- */

static void
test_rollback_leaves_nothing_and_seqs_stay_gapless(void **state)
{
    fx *f = *state;
    s_begin(f->s);
    assert_true(vgb_store_in_transaction(f->s));
    uint64_t seq = s_insert(f, NULL, "police", s_lic, 1, 1, T0, T0 + 1000);
    assert_int_equal(seq, 1);
    assert_int_equal(vgb_store_insert_rejection(f->s, T0, "police", NULL, "malformed", "r"), VG_OK);
    vgb_store_rollback(f->s);
    assert_false(vgb_store_in_transaction(f->s));
    assert_int_equal(s_alerts(f->s), 0);
    assert_int_equal(s_count(f->s, VGB_COUNT_REJECTIONS, NULL), 0);
    assert_int_equal(s_count(f->s, VGB_COUNT_RECIPIENTS, NULL), 0);
    /* Acceptance order from 1, without the gap a sequence would leave. */
    assert_int_equal(s_add(f, T0), 1);
    assert_int_equal(s_add(f, T0), 2);
}

static void
test_destroy_rolls_back_an_open_transaction(void **state)
{
    fx *f = *state;
    s_begin(f->s);
    (void)s_insert(f, NULL, "police", s_lic, 1, 1, T0, T0 + 1000);
    vgb_store_destroy(&f->s);
    s_open(&f->s);
    assert_int_equal(s_alerts(f->s), 0);
}

static void
test_commit_needs_a_transaction_and_begin_does_not_nest(void **state)
{
    fx *f = *state;
    vg_reason why = {{0}};
    assert_int_not_equal(vgb_store_commit(f->s, &why), VG_OK);
    s_begin(f->s);
    (void)s_insert(f, NULL, "police", s_lic, 1, 1, T0, T0 + 1000);
    assert_int_not_equal(vgb_store_begin(f->s, &why), VG_OK);
    assert_true(vgb_store_in_transaction(f->s)); /* the open one goes on */
    s_commit(f->s);
    assert_false(vgb_store_in_transaction(f->s));
    assert_int_equal(s_alerts(f->s), 1);
}

/* store.h: "Changes outside a transaction are refused (VG_ERR_INTERNAL)". */
static void
test_changes_outside_a_transaction_are_refused(void **state)
{
    fx *f = *state;
    uint64_t seq = s_add(f, T0);
    vg_envelope *env = s_seal("police", 99, s_lic, 1);
    vg_strlist req = {0};
    uint64_t out = 0;
    bool b = false;
    int64_t next = 0;
    uint8_t h[VG_HASH_LEN] = {1};
    vgb_event_row ev = {.seq = 1, .time_ms = T0, .kind = 1, .about = "police", .detail = ""};
    assert_int_equal(vgb_store_insert_alert(f->s, env, T0, &req, 0, &out, NULL), VG_ERR_INTERNAL);
    assert_int_equal(vgb_store_set_network_version(f->s, 3, NULL), VG_ERR_INTERNAL);
    assert_int_equal(vgb_store_add_network_document(f->s, 3, h, 1, NULL), VG_ERR_INTERNAL);
    assert_int_equal(vgb_store_mark_delivered(f->s, seq, "licensing", T0, &b), VG_ERR_INTERNAL);
    assert_int_equal(vgb_store_receipt_leaf(f->s, h, 1, &b), VG_ERR_INTERNAL);
    assert_int_equal(vgb_store_insert_rejection(f->s, T0, "police", NULL, "malformed", "x"),
                     VG_ERR_INTERNAL);
    assert_int_equal(vgb_store_park(f->s, seq, "licensing", T0, 10, 100, &next), VG_ERR_INTERNAL);
    assert_int_equal(
        vgb_store_apply_receipt(f->s, seq, "licensing", VGB_ACKNOWLEDGED, T0, "o", NULL, NULL, 0),
        VG_ERR_INTERNAL);
    assert_int_equal(vgb_store_set_escalation(f->s, seq, "licensing", 1, T0), VG_ERR_INTERNAL);
    assert_int_equal(vgb_store_add_recipient(f->s, seq, "home-office", "licensing", T0),
                     VG_ERR_INTERNAL);
    assert_int_equal(vgb_store_insert_share(f->s, seq, "licensing", "home-office", h, h, 1, T0),
                     VG_ERR_INTERNAL);
    assert_int_equal(vgb_store_check_complete(f->s, seq, T0, &b), VG_ERR_INTERNAL);
    assert_int_equal(vgb_store_insert_events(f->s, "police", &ev, NULL, 0), VG_ERR_INTERNAL);
    assert_int_equal(vgb_store_audit_append(f->s, 0, h, 1, h, NULL, NULL, NULL, 0),
                     VG_ERR_INTERNAL);
    assert_int_equal(vgb_store_audit_add_checkpoint(f->s, 1, h, "n", 1, T0), VG_ERR_INTERNAL);
    assert_int_equal(vgb_store_link_leaf(f->s, seq, 0), VG_ERR_INTERNAL);
    vg_envelope_destroy(&env);
    /* ... and nothing of them is stored. */
    assert_int_equal(s_alerts(f->s), 1);
    uint64_t v = 1;
    assert_int_equal(vgb_store_network_version(f->s, &v), VG_OK);
    assert_int_equal(v, 0);
    assert_int_equal(s_count(f->s, VGB_COUNT_REJECTIONS, NULL), 0);
    assert_int_equal(s_count(f->s, VGB_COUNT_DELIVERED, NULL), 0);
    assert_int_equal(s_count(f->s, VGB_COUNT_RECIPIENTS, NULL), 1);
    assert_int_equal(s_count(f->s, VGB_COUNT_EVENTS, NULL), 0);
    assert_int_equal(s_count(f->s, VGB_COUNT_LEAVES, NULL), 0);
}

static void
test_a_transaction_reads_its_own_changes(void **state)
{
    fx *f = *state;
    s_begin(f->s);
    vg_envelope *env = NULL;
    uint64_t seq = s_insert(f, &env, "police", s_lic_chs, 2, 1, T0, T0 + 1000);
    vgb_alert_row row;
    assert_int_equal(vgb_store_find_alert(f->s, vg_envelope_id(env), &row), VG_OK);
    assert_int_equal(row.seq, seq);
    vgb_rrow rr;
    assert_int_equal(vgb_store_rrow(f->s, seq, "childrens-services", &rr), VG_OK);
    assert_int_equal(s_alerts(f->s), 1);
    bool changed = false;
    assert_int_equal(vgb_store_mark_delivered(f->s, seq, "licensing", T0 + 5, &changed), VG_OK);
    assert_true(changed);
    assert_int_equal(vgb_store_rrow(f->s, seq, "licensing", &rr), VG_OK);
    assert_int_equal(rr.state, VGB_DELIVERED);
    s_commit(f->s);
    vg_envelope_destroy(&env);
}

static void
test_readers_see_committed_state_only(void **state)
{
    fx *f = *state;
    vgb_store *rd = NULL;
    vg_reason why = {{0}};
    s_ok(vgb_store_open_reader(&rd, f->s, &why), &why, "open reader");
    s_begin(f->s);
    (void)s_insert(f, NULL, "police", s_lic, 1, 1, T0, T0 + 1000);
    assert_int_equal(s_alerts(rd), 0);
    s_commit(f->s);
    assert_int_equal(s_alerts(rd), 1);
    assert_int_equal(vgb_store_begin(rd, &why), VG_ERR_INTERNAL); /* never writes */
    vgb_store_destroy(&rd);
}

/* store.h: read_begin "BEGIN a read transaction: what was committed before
 * it, nothing after" — even when its first read comes after a commit. */
static void
test_a_read_transaction_is_one_snapshot(void **state)
{
    fx *f = *state;
    (void)s_add(f, T0);
    vgb_store *rd = NULL;
    vg_reason why = {{0}};
    s_ok(vgb_store_open_reader(&rd, f->s, &why), &why, "open reader");
    s_ok(vgb_store_read_begin(rd, &why), &why, "read begin");
    (void)s_add(f, T0); /* committed after read_begin, before the first read */
    assert_int_equal(s_alerts(rd), 1);
    (void)s_add(f, T0);
    assert_int_equal(s_alerts(rd), 1);
    vgb_store_read_end(rd);
    assert_int_equal(s_alerts(rd), 3);
    vgb_store_destroy(&rd);
}

/* ---- the network documents ---------------------------------------------------- */

static void
test_network_version_only_rises(void **state)
{
    fx *f = *state;
    s_begin(f->s);
    s_ok(vgb_store_set_network_version(f->s, 5, NULL), NULL, "set 5");
    s_ok(vgb_store_set_network_version(f->s, 3, NULL), NULL, "set 3");
    s_commit(f->s);
    uint64_t v = 0;
    assert_int_equal(vgb_store_network_version(f->s, &v), VG_OK);
    assert_int_equal(v, 5);
}

typedef struct s_docs {
    uint64_t version[8]; /* versions, in order */
    char text[8][8];     /* their bytes */
    size_t n;            /* count */
} s_docs;

static void
s_take_doc(void *ctx, uint64_t version, const uint8_t *bytes, size_t len)
{
    s_docs *d = ctx;
    if (d->n < 8) {
        d->version[d->n] = version;
        snprintf(d->text[d->n], 8, "%.*s", (int)len, (const char *)bytes);
    }
    d->n++;
}

static void
test_network_documents_are_kept_once_in_version_order(void **state)
{
    fx *f = *state;
    s_begin(f->s);
    s_ok(vgb_store_add_network_document(f->s, 2, (const uint8_t *)"two", 3, NULL), NULL, "add 2");
    s_ok(vgb_store_add_network_document(f->s, 1, (const uint8_t *)"one", 3, NULL), NULL, "add 1");
    s_ok(vgb_store_add_network_document(f->s, 2, (const uint8_t *)"dup", 3, NULL), NULL,
         "add 2 again");
    s_commit(f->s);
    s_docs d = {0};
    assert_int_equal(vgb_store_network_documents(f->s, s_take_doc, &d), VG_OK);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.version[0], 1);
    assert_string_equal(d.text[0], "one");
    assert_int_equal(d.version[1], 2);
    assert_string_equal(d.text[1], "two");
}

/* ---- alerts ---------------------------------------------------------------------- */

static void
test_an_alert_reads_back_as_stored(void **state)
{
    fx *f = *state;
    s_begin(f->s);
    vg_envelope *env = NULL;
    uint64_t seq = s_insert(f, &env, "police", s_lic_chs, 2, 1, T0 + 7, T0 + 1000);
    s_commit(f->s);
    vgb_alert_row row;
    assert_int_equal(vgb_store_find_alert(f->s, vg_envelope_id(env), &row), VG_OK);
    assert_int_equal(row.seq, seq);
    assert_memory_equal(row.envelope_hash, vg_envelope_hash(env), VG_HASH_LEN);
    size_t len = 0;
    const uint8_t *bytes = vg_envelope_bytes(env, &len);
    uint8_t *stored = NULL;
    size_t stored_len = 0;
    assert_int_equal(vgb_store_envelope(f->s, seq, &stored, &stored_len), VG_OK);
    assert_int_equal(stored_len, len);
    assert_memory_equal(stored, bytes, len);
    free(stored);
    bool same = false;
    assert_int_equal(vgb_store_same_envelope(f->s, seq, bytes, len, &same), VG_OK);
    assert_true(same);
    assert_int_equal(vgb_store_same_envelope(f->s, seq, bytes, len - 1, &same), VG_OK);
    assert_false(same);
    bool used = false;
    assert_int_equal(vgb_store_sequence_used(f->s, "police", vg_envelope_sequence(env), &used),
                     VG_OK);
    assert_true(used);
    assert_int_equal(vgb_store_sequence_used(f->s, "police", 1000, &used), VG_OK);
    assert_false(used);
    assert_int_equal(vgb_store_sequence_used(f->s, "licensing", vg_envelope_sequence(env), &used),
                     VG_OK);
    assert_false(used);
    vgb_alert_meta m;
    assert_int_equal(vgb_store_alert_meta(f->s, seq, &m), VG_OK);
    assert_int_equal(m.seq, seq);
    assert_memory_equal(m.id, vg_envelope_id(env), VG_ALERT_ID_LEN);
    assert_string_equal(m.sender, "police");
    assert_int_equal(m.created_ms, vg_envelope_created_ms(env));
    assert_int_equal(m.accepted_ms, T0 + 7);
    assert_int_equal(m.severity, (int)vg_envelope_severity(env));
    assert_int_equal(m.urgency, (int)vg_envelope_urgency(env));
    assert_int_equal(m.status, (int)vg_envelope_status(env));
    assert_int_equal(m.msg_type, (int)vg_envelope_msg_type(env));
    assert_string_equal(m.categories, "taxi,cse");
    assert_int_equal(m.complete_ms, 0);
    assert_int_equal(s_count(f->s, VGB_COUNT_ALERTS, "police"), 1);
    assert_int_equal(s_count(f->s, VGB_COUNT_ALERTS, "licensing"), 0);
    vg_envelope_destroy(&env);
}

static void
test_absent_alerts_are_not_found(void **state)
{
    fx *f = *state;
    uint64_t seq = s_add(f, T0);
    uint8_t id[VG_ALERT_ID_LEN] = {0xee};
    vgb_alert_row row;
    bool rcpt = false;
    assert_int_equal(vgb_store_find_alert(f->s, id, &row), VG_ERR_NOT_FOUND);
    assert_int_equal(vgb_store_find_alert_for(f->s, id, "licensing", &row, &rcpt),
                     VG_ERR_NOT_FOUND);
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(vgb_store_envelope(f->s, seq + 1, &bytes, &len), VG_ERR_NOT_FOUND);
    vgb_alert_meta m;
    assert_int_equal(vgb_store_alert_meta(f->s, seq + 1, &m), VG_ERR_NOT_FOUND);
    uint8_t h[VG_HASH_LEN];
    uint64_t version = 0;
    assert_int_equal(vgb_store_alert_by_id(f->s, id, &m, h, &version), VG_ERR_NOT_FOUND);
    vgb_rrow r;
    assert_int_equal(vgb_store_rrow(f->s, seq, "home-office", &r), VG_ERR_NOT_FOUND);
    assert_int_equal(vgb_store_rrow(f->s, seq + 1, "licensing", &r), VG_ERR_NOT_FOUND);
}

static void
test_recipient_rows_of_a_new_alert(void **state)
{
    fx *f = *state;
    s_begin(f->s);
    vg_envelope *env = NULL;
    uint64_t seq = s_insert(f, &env, "police", s_lic_chs, 2, 1, T0, T0 + 900);
    s_commit(f->s);
    s_rows rows = {0};
    assert_int_equal(vgb_store_recipients_of(f->s, seq, s_take_row, &rows), VG_OK);
    assert_int_equal(rows.n, 2); /* in the envelope's order */
    assert_string_equal(rows.r[0].agency, "licensing");
    assert_true(rows.r[0].required);
    assert_int_equal(rows.r[0].deadline_ms, T0 + 900);
    assert_string_equal(rows.r[1].agency, "childrens-services");
    assert_false(rows.r[1].required);
    assert_int_equal(rows.r[1].deadline_ms, 0);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(rows.r[i].seq, seq);
        assert_int_equal(rows.r[i].state, VGB_PENDING);
        assert_int_equal(rows.r[i].delivered_ms, 0);
        assert_int_equal(rows.r[i].acked_ms, 0);
        assert_int_equal(rows.r[i].overdue_ms, 0);
        assert_int_equal(rows.r[i].esc_level, 0);
        assert_false(rows.r[i].progress_used);
        assert_string_equal(rows.r[i].shared_by, "");
        assert_string_equal(rows.officer[i], "");
    }
    vgb_alert_row row;
    bool rcpt = false;
    assert_int_equal(
        vgb_store_find_alert_for(f->s, vg_envelope_id(env), "childrens-services", &row, &rcpt),
        VG_OK);
    assert_true(rcpt);
    assert_int_equal(row.seq, seq);
    assert_memory_equal(row.envelope_hash, vg_envelope_hash(env), VG_HASH_LEN);
    assert_int_equal(
        vgb_store_find_alert_for(f->s, vg_envelope_id(env), "home-office", &row, &rcpt), VG_OK);
    assert_false(rcpt);
    uint64_t n = 9;
    assert_int_equal(vgb_store_count_waiting(f->s, "licensing", 0, &n), VG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(vgb_store_count_waiting(f->s, "childrens-services", 0, &n), VG_OK);
    assert_int_equal(n, 0); /* not required */
    assert_int_equal(vgb_store_count_pending(f->s, "childrens-services", &n), VG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(s_count(f->s, VGB_COUNT_RECIPIENTS, "licensing"), 1);
    assert_int_equal(s_count(f->s, VGB_COUNT_RECIPIENTS, NULL), 2);
    vg_envelope_destroy(&env);
}

/* A change that breaks a uniqueness rule is never committed: the call or the
 * commit fails (PostgreSQL may tell only at the commit), and what was stored
 * stays as it was. */
static void
test_a_known_alert_id_is_not_stored_twice(void **state)
{
    fx *f = *state;
    s_begin(f->s);
    vg_envelope *env = NULL;
    (void)s_insert(f, &env, "police", s_lic, 1, 1, T0, T0 + 1000);
    s_commit(f->s);
    s_begin(f->s);
    vg_strlist req = {0};
    uint64_t seq = 0;
    vg_err rc1 = vgb_store_insert_alert(f->s, env, T0 + 5, &req, 0, &seq, NULL);
    vg_err rc2 = vgb_store_commit(f->s, NULL);
    vgb_store_rollback(f->s);
    assert_true(rc1 != VG_OK || rc2 != VG_OK);
    assert_int_equal(s_alerts(f->s), 1);
    vgb_alert_meta m;
    assert_int_equal(vgb_store_alert_meta(f->s, 1, &m), VG_OK);
    assert_int_equal(m.accepted_ms, T0);
    vg_envelope_destroy(&env);
}

static void
test_a_used_sender_sequence_is_not_stored_twice(void **state)
{
    fx *f = *state;
    (void)s_add(f, T0); /* police, sequence 1 */
    vg_envelope *env = s_seal("police", 1, s_lic, 1);
    vg_strlist req = {0};
    uint64_t seq = 0;
    s_begin(f->s);
    vg_err rc1 = vgb_store_insert_alert(f->s, env, T0, &req, 0, &seq, NULL);
    vg_err rc2 = vgb_store_commit(f->s, NULL);
    vgb_store_rollback(f->s);
    assert_true(rc1 != VG_OK || rc2 != VG_OK);
    assert_int_equal(s_alerts(f->s), 1);
    vg_envelope_destroy(&env);
}

/* ---- deliveries ------------------------------------------------------------------- */

static void
test_mark_delivered_changes_a_pending_row_once(void **state)
{
    fx *f = *state;
    uint64_t seq = s_add(f, T0);
    bool changed = false;
    s_begin(f->s);
    assert_int_equal(vgb_store_mark_delivered(f->s, seq, "licensing", T0 + 10, &changed), VG_OK);
    assert_true(changed);
    assert_int_equal(vgb_store_mark_delivered(f->s, seq, "licensing", T0 + 20, &changed), VG_OK);
    assert_false(changed);
    assert_int_equal(vgb_store_mark_delivered(f->s, seq, "home-office", T0 + 20, &changed), VG_OK);
    assert_false(changed); /* not a recipient */
    s_commit(f->s);
    vgb_rrow r;
    assert_int_equal(vgb_store_rrow(f->s, seq, "licensing", &r), VG_OK);
    assert_int_equal(r.state, VGB_DELIVERED);
    assert_int_equal(r.delivered_ms, T0 + 10);
    uint64_t n = 9;
    assert_int_equal(vgb_store_count_pending(f->s, "licensing", &n), VG_OK);
    assert_int_equal(n, 0);
    assert_int_equal(s_count(f->s, VGB_COUNT_DELIVERED, "licensing"), 1);
    assert_int_equal(s_count(f->s, VGB_COUNT_DELIVERED, "police"), 0);
}

static int64_t
s_park(fx *f, uint64_t seq, const char *agency, int64_t now, int64_t first, int64_t max)
{
    int64_t next = -1;
    s_begin(f->s);
    s_ok(vgb_store_park(f->s, seq, agency, now, first, max, &next), NULL, "park");
    s_commit(f->s);
    return next;
}

static s_seqs
s_pending(fx *f, const char *agency, int64_t now, size_t limit, size_t stop_after)
{
    s_seqs c = {.stop_after = stop_after};
    s_ok(vgb_store_pending(f->s, agency, now, limit, s_take_seq, &c), NULL, "pending");
    return c;
}

static void
test_pending_gives_fresh_rows_first_then_due_retries(void **state)
{
    fx *f = *state;
    for (int i = 0; i < 4; i++) {
        (void)s_add(f, T0 + i);
    }
    assert_int_equal(s_park(f, 1, "licensing", 1000, 100, 10000), 1100);
    assert_int_equal(s_park(f, 2, "licensing", 1000, 50, 10000), 1050);
    s_seqs c = s_pending(f, "licensing", 1000, 10, 0);
    S_SEQS_ARE(&c, 3, 4);
    c = s_pending(f, "licensing", 1060, 10, 0);
    S_SEQS_ARE(&c, 3, 4, 2);
    c = s_pending(f, "licensing", 5000, 10, 0);
    S_SEQS_ARE(&c, 3, 4, 2, 1);
    c = s_pending(f, "licensing", 5000, 3, 0);
    S_SEQS_ARE(&c, 3, 4, 2);
    c = s_pending(f, "licensing", 5000, 10, 1); /* fn stops it */
    S_SEQS_ARE(&c, 3);
    c = s_pending(f, "police", 5000, 10, 0);
    assert_int_equal(c.n, 0);
    /* A row that became PENDING late (a share of an old alert) is fresh too. */
    s_begin(f->s);
    assert_int_equal(vgb_store_add_recipient(f->s, 2, "home-office", "licensing", T0 + 99), VG_OK);
    vgb_store_rollback(f->s);
    s_begin(f->s);
    assert_int_equal(vgb_store_add_recipient(f->s, 3, "home-office", "licensing", T0 + 99), VG_OK);
    static const char *const ho[] = {"home-office"};
    (void)s_insert(f, NULL, "police", ho, 1, 1, T0 + 50, T0 + 100);
    assert_int_equal(vgb_store_add_recipient(f->s, 1, "home-office", "licensing", T0 + 99), VG_OK);
    s_commit(f->s);
    c = s_pending(f, "home-office", 5000, 10, 0);
    S_SEQS_ARE(&c, 1, 3, 5);
    /* A delivered row is no longer pending. */
    bool changed = false;
    s_begin(f->s);
    assert_int_equal(vgb_store_mark_delivered(f->s, 3, "licensing", T0, &changed), VG_OK);
    s_commit(f->s);
    c = s_pending(f, "licensing", 5000, 10, 0);
    S_SEQS_ARE(&c, 4, 2, 1);
}

static void
test_park_backs_off_and_only_pending_rows(void **state)
{
    fx *f = *state;
    uint64_t seq = s_add(f, T0);
    const int64_t want[] = {100, 200, 400, 800, 1000, 1000};
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(s_park(f, seq, "licensing", 10000, 100, 1000), 10000 + want[i]);
    }
    int64_t next = -1;
    assert_int_equal(vgb_store_next_try(f->s, "licensing", 10000, &next), VG_OK);
    assert_int_equal(next, 11000);
    assert_int_equal(vgb_store_next_try(f->s, "licensing", 11000, &next), VG_OK);
    assert_int_equal(next, 0); /* due now: not after */
    bool changed = false;
    s_begin(f->s);
    assert_int_equal(vgb_store_mark_delivered(f->s, seq, "licensing", T0, &changed), VG_OK);
    assert_int_equal(vgb_store_park(f->s, seq, "licensing", 20000, 100, 1000, &next), VG_OK);
    assert_int_equal(next, 0);
    assert_int_equal(vgb_store_park(f->s, seq, "licensing", 20000, 100, 1000, NULL), VG_OK);
    s_commit(f->s);
    assert_int_equal(vgb_store_next_try(f->s, "licensing", 0, &next), VG_OK);
    assert_int_equal(next, 0); /* delivered rows wait for nothing */
}

static void
test_next_try_is_the_earliest_parked_row_after_now(void **state)
{
    fx *f = *state;
    (void)s_add(f, T0);
    (void)s_add(f, T0);
    (void)s_add(f, T0);
    assert_int_equal(s_park(f, 1, "licensing", 1000, 500, 5000), 1500);
    assert_int_equal(s_park(f, 2, "licensing", 1000, 300, 5000), 1300);
    int64_t next = -1;
    assert_int_equal(vgb_store_next_try(f->s, "licensing", 1000, &next), VG_OK);
    assert_int_equal(next, 1300);
    assert_int_equal(vgb_store_next_try(f->s, "licensing", 1300, &next), VG_OK);
    assert_int_equal(next, 1500);
    assert_int_equal(vgb_store_next_try(f->s, "police", 0, &next), VG_OK);
    assert_int_equal(next, 0);
}

typedef struct s_periods {
    int64_t period[8]; /* periods */
    uint64_t bytes[8]; /* their bytes */
    size_t n;          /* count */
} s_periods;

static void
s_take_period(void *ctx, int64_t period, uint64_t bytes)
{
    s_periods *p = ctx;
    if (p->n < 8) {
        p->period[p->n] = period;
        p->bytes[p->n] = bytes;
    }
    p->n++;
}

static void
test_sender_bytes_per_period(void **state)
{
    fx *f = *state;
    vg_envelope *e[3];
    s_begin(f->s);
    (void)s_insert(f, &e[0], "police", s_lic, 1, 1, 10000, 0);
    (void)s_insert(f, &e[1], "police", s_lic, 1, 1, 10500, 0);
    (void)s_insert(f, &e[2], "police", s_lic, 1, 1, 11500, 0);
    (void)s_insert(f, NULL, "licensing", (const char *const[]){"police"}, 1, 1, 10600, 0);
    s_commit(f->s);
    size_t len[3];
    for (int i = 0; i < 3; i++) {
        (void)vg_envelope_bytes(e[i], &len[i]);
        vg_envelope_destroy(&e[i]);
    }
    s_periods p = {0};
    assert_int_equal(vgb_store_sender_bytes(f->s, "police", 10000, 1000, s_take_period, &p), VG_OK);
    assert_int_equal(p.n, 2); /* accepted after since_ms only */
    int64_t got10 = 0, got11 = 0;
    for (size_t i = 0; i < p.n; i++) {
        got10 += p.period[i] == 10 ? (int64_t)p.bytes[i] : 0;
        got11 += p.period[i] == 11 ? (int64_t)p.bytes[i] : 0;
    }
    assert_int_equal(got10, (int64_t)len[1]);
    assert_int_equal(got11, (int64_t)len[2]);
}

/* ---- receipts and rejections ---------------------------------------------------- */

static vg_receipt *
s_receipt(const vg_envelope *const *envs, size_t n, vg_receipt_kind kind, const char *agency)
{
    vg_receipt_item items[4];
    for (size_t i = 0; i < n; i++) {
        memcpy(items[i].alert_id, vg_envelope_id(envs[i]), VG_ALERT_ID_LEN);
        memcpy(items[i].envelope_hash, vg_envelope_hash(envs[i]), VG_HASH_LEN);
    }
    vg_receipt_spec spec = {.agency = agency,
                            .kind = kind,
                            .created_ms = VT_ISSUED_MS + 2000,
                            .items = items,
                            .n_items = n,
                            .officer = kind == VG_RECEIPT_ACKNOWLEDGED ? "Sgt A. Example" : NULL,
                            .network_version = 1};
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    s_ok(vg_receipt_sign(&bytes, &len, &spec, vt_net_keys(s_net, agency), &why), &why, "sign");
    vg_receipt *r = NULL;
    s_ok(vg_receipt_verify(&r, bytes, len, s_net->doc, &why), &why, "verify receipt");
    free(bytes);
    return r;
}

static void
test_a_receipt_is_stored_once_and_linked_to_its_alerts(void **state)
{
    fx *f = *state;
    vg_envelope *e[3];
    s_begin(f->s);
    uint64_t s1 = s_insert(f, &e[0], "police", s_lic, 1, 1, T0, 0);
    uint64_t s2 = s_insert(f, &e[1], "police", s_lic, 1, 1, T0, 0);
    uint64_t s3 = s_insert(f, &e[2], "police", s_lic, 1, 1, T0, 0);
    s_commit(f->s);
    vg_receipt *r = s_receipt((const vg_envelope *const *)e, 2, VG_RECEIPT_DELIVERED, "licensing");
    uint64_t seqs[] = {s1, s2};
    bool set = false;
    s_begin(f->s);
    assert_int_equal(vgb_store_insert_receipt(f->s, r, seqs, 2, T0 + 5), VG_OK);
    assert_int_equal(vgb_store_insert_receipt(f->s, r, seqs, 2, T0 + 6), VG_OK); /* again */
    assert_int_equal(vgb_store_receipt_leaf(f->s, vg_receipt_hash(r), 7, &set), VG_OK);
    assert_true(set);
    assert_int_equal(vgb_store_receipt_leaf(f->s, vg_receipt_hash(r), 8, &set), VG_OK);
    assert_false(set); /* it has one already */
    s_commit(f->s);
    assert_int_equal(s_count(f->s, VGB_COUNT_RECEIPTS, NULL), 1);
    assert_int_equal(s_count(f->s, VGB_COUNT_RECEIPTS, "licensing"), 1);
    assert_int_equal(s_count(f->s, VGB_COUNT_RECEIPTS, "police"), 0);
    bool named = false;
    assert_int_equal(vgb_store_receipt_names(f->s, vg_receipt_hash(r), "licensing", s1, &named),
                     VG_OK);
    assert_true(named);
    assert_int_equal(vgb_store_receipt_names(f->s, vg_receipt_hash(r), "licensing", s3, &named),
                     VG_OK);
    assert_false(named);
    assert_int_equal(vgb_store_receipt_names(f->s, vg_receipt_hash(r), "police", s1, &named),
                     VG_OK);
    assert_false(named);
    s_seqs c = {0};
    assert_int_equal(vgb_store_alert_leaves(f->s, s2, s_take_index, &c), VG_OK);
    S_SEQS_ARE(&c, 7);
    s_begin(f->s); /* a second link of a receipt: the same leaf for the new item */
    uint64_t more[] = {s3};
    assert_int_equal(vgb_store_insert_receipt(f->s, r, more, 1, T0 + 7), VG_OK);
    s_commit(f->s);
    assert_int_equal(vgb_store_receipt_names(f->s, vg_receipt_hash(r), "licensing", s3, &named),
                     VG_OK);
    assert_true(named);
    vg_receipt_destroy(&r);
    for (int i = 0; i < 3; i++) {
        vg_envelope_destroy(&e[i]);
    }
}

static void
test_rejections_are_counted_by_agency_and_code(void **state)
{
    fx *f = *state;
    uint8_t id[VG_ALERT_ID_LEN] = {7};
    s_begin(f->s);
    assert_int_equal(vgb_store_insert_rejection(f->s, T0, "police", id, "clock_skew", "late"),
                     VG_OK);
    assert_int_equal(vgb_store_insert_rejection(f->s, T0, "police", NULL, "malformed", "bad"),
                     VG_OK);
    assert_int_equal(vgb_store_insert_rejection(f->s, T0, "licensing", NULL, "clock_skew", "x"),
                     VG_OK);
    s_commit(f->s);
    assert_int_equal(s_count(f->s, VGB_COUNT_REJECTIONS, NULL), 3);
    assert_int_equal(s_count(f->s, VGB_COUNT_REJECTIONS, "police"), 2);
    assert_int_equal(s_count(f->s, VGB_COUNT_REJECTION_CODE, "clock_skew"), 2);
    assert_int_equal(s_count(f->s, VGB_COUNT_REJECTION_CODE, "replay"), 0);
}

/* ---- acknowledgement tracking --------------------------------------------------- */

static void
test_apply_receipt_records_state_times_and_texts(void **state)
{
    fx *f = *state;
    s_begin(f->s);
    uint64_t seq = s_insert(f, NULL, "police", s_lic_chs, 2, 2, T0, T0 + 1000);
    assert_int_equal(vgb_store_apply_receipt(f->s, seq, "licensing", VGB_ACKNOWLEDGED, T0 + 10,
                                             "Sgt A", "seen it", NULL, T0 + 1000),
                     VG_OK);
    assert_int_equal(vgb_store_apply_receipt(f->s, seq, "childrens-services", VGB_IN_PROGRESS,
                                             T0 + 20, "", NULL, "on it", T0 + 5000),
                     VG_OK);
    s_commit(f->s);
    s_rows rows = {0};
    assert_int_equal(vgb_store_recipients_of(f->s, seq, s_take_row, &rows), VG_OK);
    assert_int_equal(rows.n, 2);
    assert_int_equal(rows.r[0].state, VGB_ACKNOWLEDGED);
    assert_int_equal(rows.r[0].acked_ms, T0 + 10);
    assert_int_equal(rows.r[0].delivered_ms, T0 + 10); /* an acknowledgement is a delivery */
    assert_int_equal(rows.r[0].state_ms, T0 + 10);
    assert_string_equal(rows.officer[0], "Sgt A");
    assert_string_equal(rows.note[0], "seen it");
    assert_int_equal(rows.r[1].state, VGB_IN_PROGRESS);
    assert_int_equal(rows.r[1].acked_ms, 0);
    assert_int_equal(rows.r[1].deadline_ms, T0 + 5000);
    assert_true(rows.r[1].progress_used);
    assert_string_equal(rows.officer[1], "");
    assert_string_equal(rows.reason[1], "on it");
    /* An empty text keeps what was there; UNOPENABLE is no delivery. */
    s_begin(f->s);
    assert_int_equal(vgb_store_apply_receipt(f->s, seq, "childrens-services", VGB_DECLINED, T0 + 30,
                                             NULL, NULL, "", T0 + 5000),
                     VG_OK);
    uint64_t s2 = s_insert(f, NULL, "police", s_lic, 1, 1, T0, T0 + 1000);
    assert_int_equal(vgb_store_apply_receipt(f->s, s2, "licensing", VGB_UNOPENABLE, T0 + 40, NULL,
                                             NULL, "cannot open", T0 + 1000),
                     VG_OK);
    s_commit(f->s);
    vgb_rrow r;
    memset(&rows, 0, sizeof rows);
    assert_int_equal(vgb_store_recipients_of(f->s, seq, s_take_row, &rows), VG_OK);
    assert_int_equal(rows.r[1].state, VGB_DECLINED);
    assert_string_equal(rows.reason[1], "on it");
    assert_true(rows.r[1].progress_used);
    assert_int_equal(vgb_store_rrow(f->s, s2, "licensing", &r), VG_OK);
    assert_int_equal(r.state, VGB_UNOPENABLE);
    assert_int_equal(r.delivered_ms, 0);
    assert_int_equal(s_count(f->s, VGB_COUNT_ACKNOWLEDGED, NULL), 1);
    assert_int_equal(s_count(f->s, VGB_COUNT_ACKNOWLEDGED, "childrens-services"), 0);
}

/* One agency's odd bytes in a text must not fail anybody's batch. */
static void
test_texts_that_are_not_utf8_do_not_fail_the_batch(void **state)
{
    fx *f = *state;
    uint64_t seq = s_add(f, T0);
    s_begin(f->s);
    assert_int_equal(vgb_store_apply_receipt(f->s, seq, "licensing", VGB_ACKNOWLEDGED, T0 + 1,
                                             "Sgt \xff\xfe", "note \xc3", "\xed\xa0\x80", 0),
                     VG_OK);
    assert_int_equal(
        vgb_store_insert_rejection(f->s, T0, "police", NULL, "malformed", "claimed '\xc0\xaf'"),
        VG_OK);
    uint64_t s2 = s_insert(f, NULL, "police", s_lic, 1, 1, T0, T0 + 1000);
    s_commit(f->s);
    assert_int_equal(s2, seq + 1);
    assert_int_equal(s_count(f->s, VGB_COUNT_ACKNOWLEDGED, NULL), 1);
    assert_int_equal(s_count(f->s, VGB_COUNT_REJECTIONS, NULL), 1);
    s_rows rows = {0};
    assert_int_equal(vgb_store_recipients_of(f->s, seq, s_take_row, &rows), VG_OK);
    assert_int_equal(strncmp(rows.officer[0], "Sgt ", 4), 0);
}

static void
test_escalation_sets_overdue_once(void **state)
{
    fx *f = *state;
    uint64_t seq = s_add(f, T0);
    s_begin(f->s);
    assert_int_equal(vgb_store_set_escalation(f->s, seq, "licensing", 1, T0 + 500), VG_OK);
    assert_int_equal(vgb_store_set_escalation(f->s, seq, "licensing", 2, T0 + 900), VG_OK);
    s_commit(f->s);
    vgb_rrow r;
    assert_int_equal(vgb_store_rrow(f->s, seq, "licensing", &r), VG_OK);
    assert_int_equal(r.esc_level, 2);
    assert_int_equal(r.overdue_ms, T0 + 500);
    assert_int_equal(s_count(f->s, VGB_COUNT_OVERDUE, "licensing"), 1);
    assert_int_equal(s_count(f->s, VGB_COUNT_OVERDUE, "police"), 0);
}

static s_rows
s_open_rows(fx *f, uint32_t max_level, int64_t after, int64_t upto, int64_t limit)
{
    s_rows rows = {0};
    s_ok(vgb_store_open_rows(f->s, max_level, after, upto, limit, s_take_row, &rows), NULL,
         "open rows");
    return rows;
}

static void
test_open_rows_by_deadline(void **state)
{
    fx *f = *state;
    s_begin(f->s);
    uint64_t a = s_insert(f, NULL, "police", s_lic, 1, 1, T0, 300);
    uint64_t b = s_insert(f, NULL, "police", s_lic, 1, 1, T0, 100);
    uint64_t c = s_insert(f, NULL, "police", s_lic_chs, 2, 2, T0, 200);
    uint64_t d = s_insert(f, NULL, "police", s_lic, 1, 1, T0, 150);
    (void)s_insert(f, NULL, "police", s_lic, 1, 1, T0, 0);   /* no deadline */
    (void)s_insert(f, NULL, "police", s_lic, 1, 0, T0, 120); /* not required */
    assert_int_equal(
        vgb_store_apply_receipt(f->s, d, "licensing", VGB_ACKNOWLEDGED, T0, "o", NULL, NULL, 150),
        VG_OK);
    assert_int_equal(vgb_store_set_escalation(f->s, a, "licensing", 3, T0), VG_OK);
    s_commit(f->s);
    s_rows r = s_open_rows(f, 5, 0, 1000, -1);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.r[0].deadline_ms, 100);
    assert_int_equal(r.r[0].seq, b);
    assert_int_equal(r.r[1].deadline_ms, 200);
    assert_int_equal(r.r[1].seq, c);
    assert_int_equal(r.r[2].deadline_ms, 200);
    assert_int_equal(r.r[2].seq, c);
    assert_int_equal(r.r[3].seq, a);
    r = s_open_rows(f, 5, 100, 200, -1); /* (after, upto] */
    assert_int_equal(r.n, 2);
    r = s_open_rows(f, 5, 0, 1000, 2);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.r[0].deadline_ms, 100);
    r = s_open_rows(f, 2, 0, 1000, -1); /* a's escalation is past level 2 */
    assert_int_equal(r.n, 3);
    assert_int_equal(r.r[2].deadline_ms, 200);
}

typedef struct s_blobs {
    char v[4][16]; /* bytes as text */
    size_t n;      /* count */
} s_blobs;

static void
s_take_blob(void *ctx, const uint8_t *bytes, size_t len)
{
    s_blobs *b = ctx;
    if (b->n < 4) {
        snprintf(b->v[b->n], 16, "%.*s", (int)len, (const char *)bytes);
    }
    b->n++;
}

static void
test_onward_sharing_adds_a_required_pending_recipient(void **state)
{
    fx *f = *state;
    uint64_t seq = s_add(f, T0);
    uint8_t hash[VG_HASH_LEN] = {0x5a};
    s_begin(f->s);
    assert_int_equal(vgb_store_add_recipient(f->s, seq, "home-office", "licensing", T0 + 777),
                     VG_OK);
    assert_int_equal(vgb_store_insert_share(f->s, seq, "licensing", "home-office", hash,
                                            (const uint8_t *)"share-bytes", 11, T0 + 50),
                     VG_OK);
    /* Again: a recipient already, a share stored already. The transaction goes on. */
    assert_int_equal(vgb_store_add_recipient(f->s, seq, "home-office", "licensing", T0 + 777),
                     VG_ERR_CONFLICT);
    assert_int_equal(vgb_store_insert_share(f->s, seq, "licensing", "home-office", hash,
                                            (const uint8_t *)"other", 5, T0 + 60),
                     VG_ERR_CONFLICT);
    assert_int_equal(vgb_store_add_recipient(f->s, seq + 5, "home-office", "licensing", T0),
                     VG_ERR_CONFLICT); /* no such alert */
    s_commit(f->s);
    s_rows rows = {0};
    assert_int_equal(vgb_store_recipients_of(f->s, seq, s_take_row, &rows), VG_OK);
    assert_int_equal(rows.n, 2);
    assert_string_equal(rows.r[1].agency, "home-office");
    assert_true(rows.r[1].required);
    assert_int_equal(rows.r[1].state, VGB_PENDING);
    assert_int_equal(rows.r[1].deadline_ms, T0 + 777);
    assert_string_equal(rows.r[1].shared_by, "licensing");
    s_blobs b = {0};
    assert_int_equal(vgb_store_shares_to(f->s, seq, "home-office", s_take_blob, &b), VG_OK);
    assert_int_equal(b.n, 1);
    assert_string_equal(b.v[0], "share-bytes");
    bool exists = false;
    assert_int_equal(vgb_store_share_exists(f->s, seq, hash, "licensing", &exists), VG_OK);
    assert_true(exists);
    assert_int_equal(vgb_store_share_exists(f->s, seq, hash, "police", &exists), VG_OK);
    assert_false(exists);
    assert_int_equal(s_count(f->s, VGB_COUNT_SHARES, "licensing"), 1);
    assert_int_equal(s_count(f->s, VGB_COUNT_SHARES, NULL), 1);
}

static void
test_shares_to_an_agency_in_order(void **state)
{
    fx *f = *state;
    uint64_t seq = s_add(f, T0);
    uint8_t h1[VG_HASH_LEN] = {1}, h2[VG_HASH_LEN] = {2}, h3[VG_HASH_LEN] = {3};
    s_begin(f->s);
    assert_int_equal(vgb_store_insert_share(f->s, seq, "licensing", "home-office", h1,
                                            (const uint8_t *)"first", 5, T0),
                     VG_OK);
    assert_int_equal(vgb_store_insert_share(f->s, seq, "licensing", "police", h2,
                                            (const uint8_t *)"other", 5, T0),
                     VG_OK);
    assert_int_equal(vgb_store_insert_share(f->s, seq, "childrens-services", "home-office", h3,
                                            (const uint8_t *)"second", 6, T0),
                     VG_OK);
    s_commit(f->s);
    s_blobs b = {0};
    assert_int_equal(vgb_store_shares_to(f->s, seq, "home-office", s_take_blob, &b), VG_OK);
    assert_int_equal(b.n, 2);
    assert_string_equal(b.v[0], "first");
    assert_string_equal(b.v[1], "second");
}

static void
test_an_alert_completes_once_when_every_required_row_is_acknowledged(void **state)
{
    fx *f = *state;
    bool done = true;
    s_begin(f->s);
    uint64_t seq = s_insert(f, NULL, "police", s_lic_chs, 2, 2, T0, T0 + 1000);
    assert_int_equal(vgb_store_check_complete(f->s, seq, T0 + 1, &done), VG_OK);
    assert_false(done);
    assert_int_equal(vgb_store_apply_receipt(f->s, seq, "licensing", VGB_ACKNOWLEDGED, T0 + 2, "o",
                                             NULL, NULL, T0 + 1000),
                     VG_OK);
    assert_int_equal(vgb_store_check_complete(f->s, seq, T0 + 3, &done), VG_OK);
    assert_false(done);
    assert_int_equal(vgb_store_apply_receipt(f->s, seq, "childrens-services", VGB_ACKNOWLEDGED,
                                             T0 + 4, "o", NULL, NULL, T0 + 1000),
                     VG_OK);
    assert_int_equal(vgb_store_check_complete(f->s, seq, T0 + 5, &done), VG_OK);
    assert_true(done);
    assert_int_equal(vgb_store_check_complete(f->s, seq, T0 + 6, &done), VG_OK);
    assert_false(done); /* complete already */
    s_commit(f->s);
    vgb_alert_meta m;
    assert_int_equal(vgb_store_alert_meta(f->s, seq, &m), VG_OK);
    assert_int_equal(m.complete_ms, T0 + 5);
}

/* ---- event streams ------------------------------------------------------------------ */

typedef struct s_events {
    uint64_t seq[N_MAX];       /* event numbers */
    uint64_t alert[N_MAX];     /* their alerts */
    int kind[N_MAX];           /* kinds */
    char detail[N_MAX][16];    /* details */
    size_t receipt_len[N_MAX]; /* forwarded receipt sizes */
    size_t n;                  /* count */
} s_events;

static void
s_take_event(void *ctx, const vgb_event_row *ev)
{
    s_events *e = ctx;
    if (e->n < N_MAX) {
        e->seq[e->n] = ev->seq;
        e->alert[e->n] = ev->alert_seq;
        e->kind[e->n] = ev->kind;
        snprintf(e->detail[e->n], 16, "%s", ev->detail);
        e->receipt_len[e->n] = ev->receipt != NULL ? ev->receipt_len : 0;
    }
    e->n++;
}

static s_events
s_events_after(fx *f, const char *agency, uint64_t after, size_t limit)
{
    s_events e = {0};
    s_ok(vgb_store_events_after(f->s, agency, after, limit, s_take_event, &e), NULL, "events");
    return e;
}

static void
test_event_runs_expand_in_order(void **state)
{
    fx *f = *state;
    vgb_event_row run = {.seq = 1,
                         .time_ms = T0,
                         .kind = 3,
                         .alert_seq = 10,
                         .about = "licensing",
                         .detail = "run",
                         .count = 0,
                         .level = 0};
    const uint64_t more[] = {11, 12};
    vgb_event_row one = {.seq = 4,
                         .time_ms = T0 + 1,
                         .kind = 5,
                         .alert_seq = 0,
                         .about = "police",
                         .detail = "one",
                         .count = 3,
                         .level = 2,
                         .receipt = (const uint8_t *)"rcpt",
                         .receipt_len = 4};
    vgb_event_row other = {.seq = 1, .time_ms = T0, .kind = 1, .about = "x", .detail = "o"};
    s_begin(f->s);
    assert_int_equal(vgb_store_insert_events(f->s, "police", &run, more, 2), VG_OK);
    assert_int_equal(vgb_store_insert_events(f->s, "police", &one, NULL, 0), VG_OK);
    assert_int_equal(vgb_store_insert_events(f->s, "licensing", &other, NULL, 0), VG_OK);
    s_commit(f->s);
    uint64_t last = 0;
    assert_int_equal(vgb_store_last_event(f->s, "police", &last), VG_OK);
    assert_int_equal(last, 4);
    assert_int_equal(vgb_store_last_event(f->s, "licensing", &last), VG_OK);
    assert_int_equal(last, 1);
    s_events e = s_events_after(f, "police", 0, 100);
    assert_int_equal(e.n, 4);
    const uint64_t alerts[] = {10, 11, 12, 0};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(e.seq[i], i + 1);
        assert_int_equal(e.alert[i], alerts[i]);
    }
    assert_int_equal(e.kind[1], 3);
    assert_string_equal(e.detail[2], "run");
    assert_int_equal(e.receipt_len[0], 0);
    assert_int_equal(e.receipt_len[3], 4);
    e = s_events_after(f, "police", 1, 100); /* from the middle of a run */
    assert_int_equal(e.n, 3);
    assert_int_equal(e.seq[0], 2);
    assert_int_equal(e.alert[0], 11);
    e = s_events_after(f, "police", 2, 1);
    assert_int_equal(e.n, 1);
    assert_int_equal(e.seq[0], 3);
    e = s_events_after(f, "police", 1, 2);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.seq[1], 3);
    e = s_events_after(f, "police", 4, 100);
    assert_int_equal(e.n, 0);
    e = s_events_after(f, "home-office", 0, 100);
    assert_int_equal(e.n, 0);
    assert_int_equal(s_count(f->s, VGB_COUNT_EVENTS, "police"), 4);
    assert_int_equal(s_count(f->s, VGB_COUNT_EVENTS, NULL), 5);
}

static void
test_an_event_number_is_not_stored_twice(void **state)
{
    fx *f = *state;
    vgb_event_row ev = {.seq = 1, .time_ms = T0, .kind = 1, .about = "a", .detail = "first"};
    s_begin(f->s);
    assert_int_equal(vgb_store_insert_events(f->s, "police", &ev, NULL, 0), VG_OK);
    s_commit(f->s);
    ev.detail = "second";
    s_begin(f->s);
    vg_err rc1 = vgb_store_insert_events(f->s, "police", &ev, NULL, 0);
    vg_err rc2 = vgb_store_commit(f->s, NULL);
    vgb_store_rollback(f->s);
    assert_true(rc1 != VG_OK || rc2 != VG_OK);
    s_events e = s_events_after(f, "police", 0, 10);
    assert_int_equal(e.n, 1);
    assert_string_equal(e.detail[0], "first");
}

/* ---- outstanding alerts ----------------------------------------------------------- */

static s_seqs
s_outstanding(fx *f, const char *agency, uint64_t after, size_t limit, size_t stop_after)
{
    s_seqs c = {.stop_after = stop_after};
    s_ok(vgb_store_outstanding(f->s, agency, after, limit, s_take_seq, &c), NULL, "outstanding");
    return c;
}

static void
test_outstanding_pages_by_sender_or_required_recipient(void **state)
{
    fx *f = *state;
    static const char *const to_police[] = {"police"};
    static const char *const to_chs[] = {"childrens-services"};
    bool done = false;
    s_begin(f->s);
    (void)s_insert(f, NULL, "police", s_lic, 1, 1, T0, T0 + 10);        /* 1 */
    (void)s_insert(f, NULL, "licensing", to_police, 1, 1, T0, T0 + 10); /* 2 */
    (void)s_insert(f, NULL, "home-office", to_chs, 1, 1, T0, T0 + 10);  /* 3 */
    (void)s_insert(f, NULL, "home-office", to_police, 1, 0, T0, 0);     /* 4: police optional */
    (void)s_insert(f, NULL, "licensing", to_police, 1, 1, T0, T0 + 10); /* 5: completes */
    assert_int_equal(
        vgb_store_apply_receipt(f->s, 5, "police", VGB_ACKNOWLEDGED, T0, "o", NULL, NULL, T0 + 10),
        VG_OK);
    assert_int_equal(vgb_store_check_complete(f->s, 5, T0, &done), VG_OK);
    assert_true(done);
    s_commit(f->s);
    s_seqs c = s_outstanding(f, NULL, 0, 100, 0);
    S_SEQS_ARE(&c, 1, 2, 3, 4);
    c = s_outstanding(f, "police", 0, 100, 0);
    S_SEQS_ARE(&c, 1, 2);
    c = s_outstanding(f, "childrens-services", 0, 100, 0);
    S_SEQS_ARE(&c, 3);
    c = s_outstanding(f, "home-office", 0, 100, 0);
    S_SEQS_ARE(&c, 3, 4);
    c = s_outstanding(f, NULL, 1, 2, 0);
    S_SEQS_ARE(&c, 2, 3);
    c = s_outstanding(f, NULL, 2, 100, 1);
    S_SEQS_ARE(&c, 3);
    c = s_outstanding(f, NULL, 4, 100, 0);
    assert_int_equal(c.n, 0);
}

/* ---- what offline tools read -------------------------------------------------------- */

typedef struct s_ids {
    uint64_t seq[N_MAX];                /* seqs */
    uint8_t id[N_MAX][VG_ALERT_ID_LEN]; /* ids */
    size_t n;                           /* count */
    size_t stop_after;                  /* 0: never */
} s_ids;

static bool
s_take_id(void *ctx, uint64_t seq, const uint8_t id[VG_ALERT_ID_LEN])
{
    s_ids *c = ctx;
    if (c->n < N_MAX) {
        c->seq[c->n] = seq;
        memcpy(c->id[c->n], id, VG_ALERT_ID_LEN);
    }
    c->n++;
    return c->stop_after == 0 || c->n < c->stop_after;
}

static void
test_alert_ids_and_alerts_by_id(void **state)
{
    fx *f = *state;
    vg_envelope *e[3];
    s_begin(f->s);
    for (int i = 0; i < 3; i++) {
        (void)s_insert(f, &e[i], "police", s_lic, 1, 1, T0 + i, T0 + 100);
    }
    s_commit(f->s);
    s_ids c = {0};
    assert_int_equal(vgb_store_alert_ids(f->s, s_take_id, &c), VG_OK);
    assert_int_equal(c.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(c.seq[i], i + 1);
        assert_memory_equal(c.id[i], vg_envelope_id(e[i]), VG_ALERT_ID_LEN);
    }
    s_ids stop = {.stop_after = 2};
    assert_int_equal(vgb_store_alert_ids(f->s, s_take_id, &stop), VG_OK);
    assert_int_equal(stop.n, 2);
    vgb_alert_meta m;
    uint8_t h[VG_HASH_LEN];
    uint64_t version = 0;
    assert_int_equal(vgb_store_alert_by_id(f->s, vg_envelope_id(e[1]), &m, h, &version), VG_OK);
    assert_int_equal(m.seq, 2);
    assert_int_equal(m.accepted_ms, T0 + 1);
    assert_memory_equal(h, vg_envelope_hash(e[1]), VG_HASH_LEN);
    assert_int_equal(version, vg_envelope_network_version(e[1]));
    for (int i = 0; i < 3; i++) {
        vg_envelope_destroy(&e[i]);
    }
}

typedef struct s_report {
    uint64_t seq[N_MAX];       /* alert */
    char agency[N_MAX][64];    /* recipient */
    int64_t asked[N_MAX];      /* asked_ms */
    char officer[N_MAX][16];   /* officer */
    char cover_for[N_MAX][64]; /* out-of-hours cover for */
    size_t n;                  /* count */
} s_report;

static void
s_take_report(void *ctx, const vgb_report_row *r)
{
    s_report *c = ctx;
    if (c->n < N_MAX) {
        c->seq[c->n] = r->alert->seq;
        snprintf(c->agency[c->n], 64, "%s", r->row->agency);
        c->asked[c->n] = r->asked_ms;
        snprintf(c->officer[c->n], 16, "%s", r->officer);
        snprintf(c->cover_for[c->n], 64, "%s", r->row->cover_for);
    }
    c->n++;
}

/* police -> licensing, childrens-services, home-office: licensing and
 * childrens-services required, each with its own deadline; childrens-services
 * out-of-hours cover for licensing. In a transaction of its own. */
static uint64_t
s_insert_with_cover(fx *f, int64_t accepted_ms)
{
    static const char *const rcpts[] = {"licensing", "childrens-services", "home-office"};
    vg_envelope *env = s_seal("police", f->next_sender_seq++, rcpts, 3);
    vgb_required req[] = {{.agency = "childrens-services",
                           .deadline_ms = accepted_ms + 900000,
                           .cover_for = "licensing"},
                          {.agency = "licensing", .deadline_ms = accepted_ms + 86400000}};
    uint64_t seq = 0;
    vg_reason why = {{0}};
    s_begin(f->s);
    s_ok(vgb_store_insert_alert_rows(f->s, env, accepted_ms, req, 2, &seq, &why), &why,
         "insert alert rows");
    s_commit(f->s);
    vg_envelope_destroy(&env);
    return seq;
}

static void
s_check_cover_rows(vgb_store *s, uint64_t seq, int64_t accepted_ms)
{
    s_rows rows = {0};
    assert_int_equal(vgb_store_recipients_of(s, seq, s_take_row, &rows), VG_OK);
    assert_int_equal(rows.n, 3);
    assert_string_equal(rows.r[0].agency, "licensing");
    assert_true(rows.r[0].required);
    assert_int_equal(rows.r[0].deadline_ms, accepted_ms + 86400000);
    assert_string_equal(rows.r[0].cover_for, "");
    assert_string_equal(rows.r[1].agency, "childrens-services");
    assert_true(rows.r[1].required);
    assert_int_equal(rows.r[1].deadline_ms, accepted_ms + 900000);
    assert_string_equal(rows.r[1].cover_for, "licensing");
    assert_string_equal(rows.r[2].agency, "home-office");
    assert_false(rows.r[2].required);
    assert_int_equal(rows.r[2].deadline_ms, 0);
    vgb_rrow one;
    assert_int_equal(vgb_store_rrow(s, seq, "childrens-services", &one), VG_OK);
    assert_string_equal(one.cover_for, "licensing");
}

static void
test_required_rows_have_their_own_deadlines_and_cover(void **state)
{
    fx *f = *state;
    uint64_t seq = s_insert_with_cover(f, T0);
    s_check_cover_rows(f->s, seq, T0);
    /* The tracker's slice comes in deadline order: the cover's first. */
    s_rows open = {0};
    assert_int_equal(vgb_store_open_rows(f->s, 9, 0, INT64_MAX, -1, s_take_row, &open), VG_OK);
    assert_int_equal(open.n, 2);
    assert_string_equal(open.r[0].agency, "childrens-services");
    assert_string_equal(open.r[0].cover_for, "licensing");
    assert_string_equal(open.r[1].agency, "licensing");
    /* The report reads them too. */
    s_report c = {0};
    assert_int_equal(vgb_store_required_rows(f->s, T0, s_take_report, &c), VG_OK);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.agency[0], "licensing");
    assert_string_equal(c.cover_for[0], "");
    assert_string_equal(c.agency[1], "childrens-services");
    assert_string_equal(c.cover_for[1], "licensing");
}

/* A store made before recipients had cover_for (schema 4) is migrated when
 * its owner opens it: its rows are all there, none a cover, and new ones
 * carry theirs. */
/* Cosignatures as stored, collected (store_witness.h). */
typedef struct s_cosigs {
    size_t n;             /* how many */
    uint64_t size[N_MAX]; /* their checkpoints */
    char agency[N_MAX][64];
    char line[N_MAX][128];
    int64_t time_s[N_MAX];
    int64_t received_ms[N_MAX];
} s_cosigs;

static void
s_take_cosig(void *ctx, const vgb_cosign_row *r)
{
    s_cosigs *c = ctx;
    if (c->n < N_MAX) {
        c->size[c->n] = r->size;
        snprintf(c->agency[c->n], sizeof c->agency[0], "%s", r->agency);
        snprintf(c->line[c->n], sizeof c->line[0], "%.*s", (int)r->line_len, r->line);
        c->time_s[c->n] = r->time_s;
        c->received_ms[c->n] = r->received_ms;
    }
    c->n++;
}

static s_cosigs
s_cosigs_from(vgb_store *s, uint64_t min_size)
{
    s_cosigs c = {0};
    s_ok(vgb_store_cosignatures(s, min_size, s_take_cosig, &c), NULL, "cosignatures");
    return c;
}

static void
test_a_version_4_store_is_migrated(void **state)
{
    fx *f = *state;
    uint64_t old = s_add(f, T0);
    vgb_store_destroy(&f->s);
    s_b->to_schema_4(s_b->ctx);
    vgb_store *ro = NULL;
    vg_reason why = {{0}};
    assert_int_not_equal(s_b->open_readonly(s_b->ctx, &ro, &why), VG_OK); /* owner first */
    assert_null(ro);
    s_b->migrate(s_b->ctx);
    s_open(&f->s);
    vgb_rrow r;
    assert_int_equal(vgb_store_rrow(f->s, old, "licensing", &r), VG_OK);
    assert_int_equal(r.deadline_ms, T0 + 1000);
    assert_string_equal(r.cover_for, "");
    uint64_t seq = s_insert_with_cover(f, T0 + 5);
    s_check_cover_rows(f->s, seq, T0 + 5);
    bool added = false; /* version 7's cosignatures, made by the migration */
    s_begin(f->s);
    s_ok(vgb_store_add_cosignature(f->s, 1, "police", "line", 4, 1, T0, &added), NULL,
         "a cosignature after the migration");
    s_commit(f->s);
    assert_true(added);
    s_ok(s_b->open_readonly(s_b->ctx, &ro, &why), &why, "open read-only after the migration");
    s_check_cover_rows(ro, seq, T0 + 5);
    assert_int_equal(s_cosigs_from(ro, 0).n, 1);
    vgb_store_destroy(&ro);
}

static void
test_required_rows_for_the_report(void **state)
{
    fx *f = *state;
    uint8_t hash[VG_HASH_LEN] = {9};
    s_begin(f->s);
    (void)s_insert(f, NULL, "police", s_lic_chs, 2, 2, T0 + 20, T0 + 100); /* 1 */
    (void)s_insert(f, NULL, "police", s_lic_chs, 2, 1, T0 + 10, T0 + 100); /* 2: earlier */
    (void)s_insert(f, NULL, "police", s_lic, 1, 1, T0 - 5, T0 + 100);      /* 3: before since */
    assert_int_equal(vgb_store_add_recipient(f->s, 1, "home-office", "licensing", T0 + 900), VG_OK);
    assert_int_equal(vgb_store_insert_share(f->s, 1, "licensing", "home-office", hash,
                                            (const uint8_t *)"s", 1, T0 + 60),
                     VG_OK);
    assert_int_equal(vgb_store_apply_receipt(f->s, 1, "licensing", VGB_ACKNOWLEDGED, T0 + 30,
                                             "Sgt B", NULL, NULL, T0 + 100),
                     VG_OK);
    s_commit(f->s);
    s_report c = {0};
    assert_int_equal(vgb_store_required_rows(f->s, T0, s_take_report, &c), VG_OK);
    assert_int_equal(c.n, 4); /* 2: licensing; 1: licensing, childrens, home-office */
    assert_int_equal(c.seq[0], 2);
    assert_string_equal(c.agency[0], "licensing");
    assert_int_equal(c.asked[0], T0 + 10);
    assert_int_equal(c.seq[1], 1);
    assert_string_equal(c.agency[1], "licensing");
    assert_string_equal(c.officer[1], "Sgt B");
    assert_string_equal(c.agency[2], "childrens-services");
    assert_string_equal(c.agency[3], "home-office");
    assert_int_equal(c.asked[3], T0 + 60); /* asked when the share came */
}

static void
test_count_refuses_what_it_does_not_know(void **state)
{
    fx *f = *state;
    uint64_t n = 0;
    assert_int_equal(vgb_store_count(f->s, (vgb_count_what)0, NULL, &n), VG_ERR_INVALID);
    assert_int_equal(vgb_store_count(f->s, (vgb_count_what)999, NULL, &n), VG_ERR_INVALID);
    assert_int_equal(vgb_store_count(f->s, VGB_COUNT_CHECKPOINTS, NULL, &n), VG_OK);
    assert_int_equal(n, 0);
}

/* ---- the audit log ------------------------------------------------------------------ */

static void
s_hash_of(uint8_t out[VG_HASH_LEN], uint64_t level, uint64_t index)
{
    memset(out, 0, VG_HASH_LEN);
    out[0] = (uint8_t)level;
    memcpy(out + 1, &index, sizeof index);
}

/* Appends leaf index ("leaf-<index>") with the subtrees (levels[i], nodes[i]). */
static vg_err
s_append(fx *f, uint64_t index, const unsigned *levels, const uint64_t *nodes, size_t n)
{
    char leaf[32];
    int len = snprintf(leaf, sizeof leaf, "leaf-%llu", (unsigned long long)index);
    uint8_t lh[VG_HASH_LEN], hashes[8][VG_HASH_LEN];
    s_hash_of(lh, 0, index);
    for (size_t i = 0; i < n; i++) {
        s_hash_of(hashes[i], levels[i], nodes[i]);
    }
    return vgb_store_audit_append(f->s, index, (const uint8_t *)leaf, (size_t)len, lh, levels,
                                  nodes, (const uint8_t(*)[VG_HASH_LEN])hashes, n);
}

typedef struct s_leaves {
    uint64_t index[N_MAX]; /* indices */
    char leaf[N_MAX][16];  /* bytes */
    bool hash_ok[N_MAX];   /* hash column sound */
    size_t n;              /* count */
    size_t stop_after;     /* 0: never */
} s_leaves;

static bool
s_take_leaf(void *ctx, uint64_t index, const uint8_t *leaf, size_t len, const uint8_t *hash,
            bool hash_ok)
{
    (void)hash;
    s_leaves *c = ctx;
    if (c->n < N_MAX) {
        c->index[c->n] = index;
        snprintf(c->leaf[c->n], 16, "%.*s", (int)len, (const char *)leaf);
        c->hash_ok[c->n] = hash_ok;
    }
    c->n++;
    return c->stop_after == 0 || c->n < c->stop_after;
}

static void
test_audit_leaves_and_subtrees_read_back(void **state)
{
    fx *f = *state;
    const unsigned l1[] = {1};
    const uint64_t n0[] = {0};
    s_begin(f->s);
    assert_int_equal(s_append(f, 0, NULL, NULL, 0), VG_OK);
    assert_int_equal(s_append(f, 1, l1, n0, 1), VG_OK);
    s_commit(f->s);
    uint64_t size = 0;
    assert_int_equal(vgb_store_audit_size(f->s, &size), VG_OK);
    assert_int_equal(size, 2);
    uint8_t h[VG_HASH_LEN], want[VG_HASH_LEN];
    assert_int_equal(vgb_store_audit_node(f->s, 0, 1, h), VG_OK);
    s_hash_of(want, 0, 1);
    assert_memory_equal(h, want, VG_HASH_LEN);
    assert_int_equal(vgb_store_audit_node(f->s, 1, 0, h), VG_OK);
    s_hash_of(want, 1, 0);
    assert_memory_equal(h, want, VG_HASH_LEN);
    assert_int_equal(vgb_store_audit_node(f->s, 1, 1, h), VG_ERR_NOT_FOUND);
    assert_int_equal(vgb_store_audit_node(f->s, 0, 2, h), VG_ERR_NOT_FOUND);
    uint8_t *leaf = NULL;
    size_t len = 0;
    assert_int_equal(vgb_store_audit_leaf(f->s, 1, &leaf, &len), VG_OK);
    assert_int_equal(len, 6);
    assert_memory_equal(leaf, "leaf-1", 6);
    free(leaf);
    assert_int_equal(vgb_store_audit_leaf(f->s, 2, &leaf, &len), VG_ERR_NOT_FOUND);
    s_leaves c = {0};
    assert_int_equal(vgb_store_audit_leaves(f->s, s_take_leaf, &c), VG_OK);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.index[1], 1);
    assert_string_equal(c.leaf[1], "leaf-1");
    assert_true(c.hash_ok[0]);
    s_leaves stop = {.stop_after = 1};
    assert_int_equal(vgb_store_audit_leaves(f->s, s_take_leaf, &stop), VG_OK);
    assert_int_equal(stop.n, 1);
    bool any = false;
    assert_int_equal(vgb_store_audit_nodes_beyond(f->s, 2, &any), VG_OK);
    assert_false(any);
    assert_int_equal(vgb_store_audit_nodes_beyond(f->s, 1, &any), VG_OK);
    assert_true(any); /* subtree (1, 0) covers leaf 1 */
    assert_int_equal(s_count(f->s, VGB_COUNT_LEAVES, NULL), 2);
    assert_int_equal(s_count(f->s, VGB_COUNT_LEAVES, "leaf-1"), 1);
    assert_int_equal(s_count(f->s, VGB_COUNT_LEAVES, "nothing"), 0);
}

static void
test_an_audit_append_is_all_or_none(void **state)
{
    fx *f = *state;
    const unsigned l1[] = {1};
    const uint64_t n0[] = {0};
    s_begin(f->s);
    assert_int_equal(s_append(f, 0, NULL, NULL, 0), VG_OK);
    assert_int_equal(s_append(f, 1, l1, n0, 1), VG_OK);
    s_commit(f->s);
    /* Leaf 2 with a subtree that is stored already: neither may stay. */
    s_begin(f->s);
    vg_err rc1 = s_append(f, 2, l1, n0, 1);
    vg_err rc2 = vgb_store_commit(f->s, NULL);
    vgb_store_rollback(f->s);
    assert_true(rc1 != VG_OK || rc2 != VG_OK);
    uint64_t size = 0;
    assert_int_equal(vgb_store_audit_size(f->s, &size), VG_OK);
    assert_int_equal(size, 2);
    uint8_t *leaf = NULL;
    size_t len = 0;
    assert_int_equal(vgb_store_audit_leaf(f->s, 2, &leaf, &len), VG_ERR_NOT_FOUND);
    /* An index stored already. */
    s_begin(f->s);
    rc1 = s_append(f, 1, NULL, NULL, 0);
    rc2 = vgb_store_commit(f->s, NULL);
    vgb_store_rollback(f->s);
    assert_true(rc1 != VG_OK || rc2 != VG_OK);
    assert_int_equal(s_count(f->s, VGB_COUNT_LEAVES, NULL), 2);
}

typedef struct s_cps {
    uint64_t size[N_MAX];     /* sizes */
    char note[N_MAX][32];     /* notes */
    bool root_ok[N_MAX];      /* root column sound */
    int64_t signed_ms[N_MAX]; /* times */
    size_t n;                 /* count */
} s_cps;

static void
s_take_cp(void *ctx, const vgb_checkpoint_row *row)
{
    s_cps *c = ctx;
    if (c->n < N_MAX) {
        c->size[c->n] = row->size;
        snprintf(c->note[c->n], 32, "%.*s", (int)row->note_len, row->note);
        c->root_ok[c->n] = row->root_ok;
        c->signed_ms[c->n] = row->signed_ms;
    }
    c->n++;
}

static void
test_checkpoints_by_size(void **state)
{
    fx *f = *state;
    uint8_t root[VG_HASH_LEN] = {4};
    s_begin(f->s);
    assert_int_equal(vgb_store_audit_add_checkpoint(f->s, 2, root, "note two\n", 9, T0 + 2), VG_OK);
    assert_int_equal(vgb_store_audit_add_checkpoint(f->s, 5, root, "note five\n", 10, T0 + 5),
                     VG_OK);
    assert_int_equal(vgb_store_audit_add_checkpoint(f->s, 3, root, "note three\n", 11, T0 + 3),
                     VG_OK);
    s_commit(f->s);
    s_cps latest = {0};
    bool found = false;
    assert_int_equal(vgb_store_audit_latest_checkpoint(f->s, s_take_cp, &latest, &found), VG_OK);
    assert_true(found);
    assert_int_equal(latest.n, 1);
    assert_int_equal(latest.size[0], 5);
    assert_string_equal(latest.note[0], "note five\n");
    assert_true(latest.root_ok[0]);
    assert_int_equal(latest.signed_ms[0], T0 + 5);
    s_cps all = {0};
    assert_int_equal(vgb_store_audit_checkpoints(f->s, s_take_cp, &all), VG_OK);
    assert_int_equal(all.n, 3);
    assert_int_equal(all.size[0], 2);
    assert_int_equal(all.size[1], 3);
    assert_int_equal(all.size[2], 5);
    assert_int_equal(s_count(f->s, VGB_COUNT_CHECKPOINTS, NULL), 3);
    assert_int_equal(s_count(f->s, VGB_COUNT_CHECKPOINTS, "x"), 0);
    /* A size signed already is not stored twice. */
    s_begin(f->s);
    vg_err rc1 = vgb_store_audit_add_checkpoint(f->s, 5, root, "again", 5, T0 + 9);
    vg_err rc2 = vgb_store_commit(f->s, NULL);
    vgb_store_rollback(f->s);
    assert_true(rc1 != VG_OK || rc2 != VG_OK);
    assert_int_equal(s_count(f->s, VGB_COUNT_CHECKPOINTS, NULL), 3);
}

static void
test_cosignatures_by_checkpoint(void **state)
{
    fx *f = *state;
    uint8_t root[VG_HASH_LEN] = {4};
    bool added = false;
    assert_int_equal(vgb_store_add_cosignature(f->s, 5, "police", "p", 1, 7, T0, &added),
                     VG_ERR_INTERNAL);
    s_begin(f->s);
    assert_int_equal(vgb_store_audit_add_checkpoint(f->s, 3, root, "note three\n", 11, T0 + 3),
                     VG_OK);
    assert_int_equal(vgb_store_audit_add_checkpoint(f->s, 5, root, "note five\n", 10, T0 + 5),
                     VG_OK);
    assert_int_equal(
        vgb_store_add_cosignature(f->s, 5, "police", "line p5", 7, 1796000006, T0 + 6, &added),
        VG_OK);
    assert_true(added);
    assert_int_equal(
        vgb_store_add_cosignature(f->s, 3, "licensing", "line l3", 7, 1796000004, T0 + 4, &added),
        VG_OK);
    assert_true(added);
    assert_int_equal(
        vgb_store_add_cosignature(f->s, 5, "licensing", "line l5", 7, 1796000007, T0 + 7, &added),
        VG_OK);
    assert_true(added);
    /* the agency's cosignature of that checkpoint is kept once: the first */
    assert_int_equal(
        vgb_store_add_cosignature(f->s, 5, "police", "other", 5, 1796000009, T0 + 9, &added),
        VG_OK);
    assert_false(added);
    s_commit(f->s);
    s_cosigs all = s_cosigs_from(f->s, 0);
    assert_int_equal(all.n, 3);
    assert_int_equal(all.size[0], 3);
    assert_string_equal(all.agency[0], "licensing");
    assert_int_equal(all.size[1], 5);
    assert_string_equal(all.agency[1], "licensing");
    assert_int_equal(all.size[2], 5);
    assert_string_equal(all.agency[2], "police");
    assert_string_equal(all.line[2], "line p5");
    assert_int_equal(all.time_s[2], 1796000006);
    assert_int_equal(all.received_ms[2], T0 + 6);
    assert_int_equal(s_cosigs_from(f->s, 4).n, 2);
    assert_int_equal(s_cosigs_from(f->s, 5).n, 2);
    assert_int_equal(s_cosigs_from(f->s, 6).n, 0);
    s_cps at = {0};
    bool found = false;
    assert_int_equal(vgb_store_audit_checkpoint_at(f->s, 5, s_take_cp, &at, &found), VG_OK);
    assert_true(found);
    assert_int_equal(at.n, 1);
    assert_string_equal(at.note[0], "note five\n");
    assert_int_equal(at.signed_ms[0], T0 + 5);
    assert_int_equal(vgb_store_audit_checkpoint_at(f->s, 4, s_take_cp, &at, &found), VG_OK);
    assert_false(found);
    assert_int_equal(at.n, 1);
    /* a rolled-back cosignature is not kept; vigilctl reads them read-only */
    s_begin(f->s);
    assert_int_equal(vgb_store_add_cosignature(f->s, 3, "police", "line p3", 7, 1, T0, &added),
                     VG_OK);
    vgb_store_rollback(f->s);
    vgb_store *ro = NULL;
    vg_reason why = {{0}};
    s_ok(s_b->open_readonly(s_b->ctx, &ro, &why), &why, "open read-only");
    assert_int_equal(s_cosigs_from(ro, 0).n, 3);
    vgb_store_destroy(&ro);
}

static void
test_alert_leaves_are_linked_ones_and_their_receipts(void **state)
{
    fx *f = *state;
    vg_envelope *env = NULL;
    s_begin(f->s);
    uint64_t seq = s_insert(f, &env, "police", s_lic, 1, 1, T0, 0);
    assert_int_equal(vgb_store_link_leaf(f->s, seq, 3), VG_OK);
    assert_int_equal(vgb_store_link_leaf(f->s, seq, 1), VG_OK);
    assert_int_equal(vgb_store_link_leaf(f->s, seq, 3), VG_OK); /* once */
    vg_receipt *r =
        s_receipt((const vg_envelope *const *)&env, 1, VG_RECEIPT_DELIVERED, "licensing");
    bool set = false;
    assert_int_equal(vgb_store_insert_receipt(f->s, r, &seq, 1, T0), VG_OK);
    assert_int_equal(vgb_store_receipt_leaf(f->s, vg_receipt_hash(r), 2, &set), VG_OK);
    s_commit(f->s);
    s_seqs c = {0};
    assert_int_equal(vgb_store_alert_leaves(f->s, seq, s_take_index, &c), VG_OK);
    S_SEQS_ARE(&c, 1, 2, 3);
    vg_receipt_destroy(&r);
    vg_envelope_destroy(&env);
}

/* More rows than a back end fetches at once (PostgreSQL pages by 1024). */
static void
test_long_iterations_see_every_row_once(void **state)
{
    fx *f = *state;
    enum { LEAVES = 2600, CPS = 1100 };
    uint8_t root[VG_HASH_LEN] = {1};
    s_begin(f->s);
    for (uint64_t i = 0; i < LEAVES; i++) {
        assert_int_equal(s_append(f, i, NULL, NULL, 0), VG_OK);
    }
    for (uint64_t i = 1; i <= CPS; i++) {
        assert_int_equal(vgb_store_audit_add_checkpoint(f->s, i, root, "n", 1, T0), VG_OK);
    }
    s_commit(f->s);
    s_leaves c = {0};
    assert_int_equal(vgb_store_audit_leaves(f->s, s_take_leaf, &c), VG_OK);
    assert_int_equal(c.n, LEAVES);
    s_leaves stop = {.stop_after = 1500};
    assert_int_equal(vgb_store_audit_leaves(f->s, s_take_leaf, &stop), VG_OK);
    assert_int_equal(stop.n, 1500);
    s_cps cps = {0};
    assert_int_equal(vgb_store_audit_checkpoints(f->s, s_take_cp, &cps), VG_OK);
    assert_int_equal(cps.n, CPS);
    assert_int_equal(cps.size[N_MAX - 1], N_MAX);
}

static void
test_long_alert_iterations_see_every_row_once(void **state)
{
    fx *f = *state;
    enum { ALERTS = 1100 };
    s_begin(f->s);
    for (int i = 0; i < ALERTS; i++) {
        (void)s_insert(f, NULL, "police", s_lic, 1, 1, T0 + i / 3, T0 + 10000);
    }
    s_commit(f->s);
    s_ids ids = {0};
    assert_int_equal(vgb_store_alert_ids(f->s, s_take_id, &ids), VG_OK);
    assert_int_equal(ids.n, ALERTS);
    s_report rep = {0};
    assert_int_equal(vgb_store_required_rows(f->s, 0, s_take_report, &rep), VG_OK);
    assert_int_equal(rep.n, ALERTS);
    assert_int_equal(rep.seq[N_MAX - 1], N_MAX);
}

/* Link tags: an alert finds the earlier alerts sharing any of its tags,
 * each once, in acceptance order, never later ones; a repeated tag is
 * stored once; pairs list every link; outside a transaction it is refused. */
static void
test_link_tags_find_earlier_alerts_once(void **state)
{
    fx *f = *state;
    uint8_t tags[3][VG_HASH_LEN];
    memset(tags, 0, sizeof tags);
    tags[0][0] = 1; /* a licence */
    tags[1][0] = 2; /* a vehicle */
    tags[2][0] = 3; /* unrelated */
    s_begin(f->s);
    uint64_t a = s_insert(f, NULL, "police", s_lic, 1, 1, 1000, 2000);
    uint64_t b = s_insert(f, NULL, "police", s_lic, 1, 1, 1100, 2100);
    uint64_t c = s_insert(f, NULL, "police", s_lic, 1, 1, 1200, 2200);
    uint64_t d = s_insert(f, NULL, "police", s_lic, 1, 1, 1300, 2300);
    s_ok(vgb_store_add_link_tags(f->s, a, (const uint8_t(*)[VG_HASH_LEN])tags[0], 1), NULL, "a");
    s_ok(vgb_store_add_link_tags(f->s, b, (const uint8_t(*)[VG_HASH_LEN])tags[2], 1), NULL, "b");
    s_ok(vgb_store_add_link_tags(f->s, c, (const uint8_t(*)[VG_HASH_LEN])tags[1], 1), NULL, "c");
    s_ok(vgb_store_add_link_tags(f->s, c, (const uint8_t(*)[VG_HASH_LEN])tags[1], 1), NULL, "c2");
    /* d shares a's tag and c's: both once, b never */
    s_ok(vgb_store_add_link_tags(f->s, d, (const uint8_t(*)[VG_HASH_LEN])tags, 2), NULL, "d");
    s_commit(f->s);
    s_seqs got;
    memset(&got, 0, sizeof got);
    s_ok(vgb_store_linked_earlier(f->s, d, 10, s_take_seq, &got), NULL, "linked d");
    assert_int_equal(got.n, 2);
    assert_int_equal(got.v[0], a);
    assert_int_equal(got.v[1], c);
    memset(&got, 0, sizeof got);
    s_ok(vgb_store_linked_earlier(f->s, a, 10, s_take_seq, &got), NULL, "linked a");
    assert_int_equal(got.n, 0); /* later alerts are not "earlier" */
    memset(&got, 0, sizeof got);
    s_ok(vgb_store_linked_earlier(f->s, d, 1, s_take_seq, &got), NULL, "limit");
    assert_int_equal(got.n, 1);
    s_seqs pairs;
    memset(&pairs, 0, sizeof pairs);
    s_ok(vgb_store_link_pairs(f->s, s_take_pair, &pairs), NULL, "pairs");
    assert_int_equal(pairs.n, 4); /* (d, a) and (d, c), two numbers each */
    assert_int_equal(pairs.v[0], d);
    assert_int_equal(pairs.v[1], a);
    assert_int_equal(pairs.v[2], d);
    assert_int_equal(pairs.v[3], c);
    assert_int_not_equal(vgb_store_add_link_tags(f->s, a, (const uint8_t(*)[VG_HASH_LEN])tags, 1),
                         VG_OK);
}

typedef struct s_tags {
    uint8_t tag[4][VG_HASH_LEN];
    size_t len[4];
    size_t n;
} s_tags;

static void
s_take_tag(void *ctx, const uint8_t *tag, size_t len)
{
    s_tags *x = ctx;
    assert_true(x->n < 4);
    x->len[x->n] = len;
    memcpy(x->tag[x->n++], tag, len < VG_HASH_LEN ? len : VG_HASH_LEN);
}

/* What audit verify reads of the index: an alert's rows, each once, by
 * tag; none for an alert without; the count of every row. */
static void
test_link_tags_of_an_alert_are_its_rows(void **state)
{
    fx *f = *state;
    uint8_t tags[3][VG_HASH_LEN];
    memset(tags, 0, sizeof tags);
    tags[0][0] = 9;
    tags[1][0] = 4;
    tags[2][0] = 4;
    tags[2][31] = 1;
    s_begin(f->s);
    uint64_t a = s_insert(f, NULL, "police", s_lic, 1, 1, 1000, 2000);
    uint64_t b = s_insert(f, NULL, "police", s_lic, 1, 1, 1100, 2100);
    s_ok(vgb_store_add_link_tags(f->s, a, (const uint8_t(*)[VG_HASH_LEN])tags, 3), NULL, "a");
    s_ok(vgb_store_add_link_tags(f->s, a, (const uint8_t(*)[VG_HASH_LEN])tags, 1), NULL, "again");
    s_commit(f->s);
    s_tags got = {0};
    s_ok(vgb_store_link_tags_of(f->s, a, s_take_tag, &got), NULL, "tags of a");
    assert_int_equal(got.n, 3);
    assert_int_equal(got.len[0], VG_HASH_LEN);
    assert_memory_equal(got.tag[0], tags[1], VG_HASH_LEN); /* by tag */
    assert_memory_equal(got.tag[1], tags[2], VG_HASH_LEN);
    assert_memory_equal(got.tag[2], tags[0], VG_HASH_LEN);
    memset(&got, 0, sizeof got);
    s_ok(vgb_store_link_tags_of(f->s, b, s_take_tag, &got), NULL, "tags of b");
    assert_int_equal(got.n, 0);
    uint64_t n = 0;
    s_ok(vgb_store_count(f->s, VGB_COUNT_LINK_TAGS, NULL, &n), NULL, "count");
    assert_int_equal(n, 3);
}

/* The alerts under any of some tags (an alert not yet stored asks): each
 * once, in acceptance order, the limit oldest; none for unknown tags. */
static void
test_tagged_finds_alerts_by_tag(void **state)
{
    fx *f = *state;
    uint8_t tags[3][VG_HASH_LEN];
    memset(tags, 0, sizeof tags);
    tags[0][0] = 1;
    tags[1][0] = 2;
    tags[2][0] = 3; /* nobody's */
    s_begin(f->s);
    uint64_t a = s_insert(f, NULL, "police", s_lic, 1, 1, 1000, 2000);
    uint64_t b = s_insert(f, NULL, "police", s_lic, 1, 1, 1100, 2100);
    uint64_t c = s_insert(f, NULL, "police", s_lic, 1, 1, 1200, 2200);
    s_ok(vgb_store_add_link_tags(f->s, c, (const uint8_t(*)[VG_HASH_LEN])tags, 2), NULL, "c");
    s_ok(vgb_store_add_link_tags(f->s, a, (const uint8_t(*)[VG_HASH_LEN])tags[1], 1), NULL, "a");
    s_ok(vgb_store_add_link_tags(f->s, b, (const uint8_t(*)[VG_HASH_LEN])tags[0], 1), NULL, "b");
    s_commit(f->s);
    s_seqs got;
    memset(&got, 0, sizeof got);
    s_ok(vgb_store_tagged(f->s, (const uint8_t(*)[VG_HASH_LEN])tags, 3, 10, s_take_seq, &got), NULL,
         "tagged");
    assert_int_equal(got.n, 3);
    assert_int_equal(got.v[0], a);
    assert_int_equal(got.v[1], b);
    assert_int_equal(got.v[2], c);
    memset(&got, 0, sizeof got);
    s_ok(vgb_store_tagged(f->s, (const uint8_t(*)[VG_HASH_LEN])tags, 2, 2, s_take_seq, &got), NULL,
         "limit");
    assert_int_equal(got.n, 2);
    assert_int_equal(got.v[0], a);
    assert_int_equal(got.v[1], b);
    memset(&got, 0, sizeof got);
    s_ok(vgb_store_tagged(f->s, (const uint8_t(*)[VG_HASH_LEN])tags[2], 1, 10, s_take_seq, &got),
         NULL, "unknown");
    assert_int_equal(got.n, 0);
    s_ok(vgb_store_tagged(f->s, (const uint8_t(*)[VG_HASH_LEN])tags, 0, 10, s_take_seq, &got), NULL,
         "none");
    assert_int_equal(got.n, 0);
}

/* ---- what audit verify reads ----------------------------------------------------------- */

typedef struct s_fulls {
    uint64_t seq[8];
    char sender[8][64];
    bool id_ok[8], hash_ok[8];
    size_t envelope_len[8];
    int64_t complete_ms[8];
    size_t n;
} s_fulls;

static void
s_take_full(void *ctx, const vgb_alert_full *a)
{
    s_fulls *x = ctx;
    assert_true(x->n < 8);
    x->seq[x->n] = a->seq;
    snprintf(x->sender[x->n], 64, "%s", a->sender);
    x->id_ok[x->n] = a->id_ok;
    x->hash_ok[x->n] = a->hash_ok;
    x->envelope_len[x->n] = a->envelope_len;
    x->complete_ms[x->n] = a->complete_ms;
    x->n++;
}

static void
test_verify_reads_alerts_in_slices(void **state)
{
    fx *f = *state;
    uint64_t seq[3];
    for (size_t i = 0; i < 3; i++) {
        seq[i] = s_add(f, T0 + (int64_t)i);
    }
    s_fulls x = {0};
    s_ok(vgb_store_alerts_after(f->s, 0, 2, s_take_full, &x), NULL, "alerts after");
    assert_int_equal(x.n, 2);
    s_ok(vgb_store_alerts_after(f->s, x.seq[1], 2, s_take_full, &x), NULL, "alerts after");
    assert_int_equal(x.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(x.seq[i], seq[i]);
        assert_string_equal(x.sender[i], "police");
        assert_true(x.id_ok[i] && x.hash_ok[i]);
        assert_true(x.envelope_len[i] > 0);
        assert_int_equal(x.complete_ms[i], 0); /* NULL */
    }
    x.n = 0;
    s_ok(vgb_store_alerts_after(f->s, seq[2], 2, s_take_full, &x), NULL, "alerts after");
    assert_int_equal(x.n, 0);
}

typedef struct s_rcs {
    uint64_t id[8];
    bool found[8], has_leaf[8];
    uint64_t leaf_idx[8];
    int64_t kind[8], received_ms[8];
    size_t n;
} s_rcs;

static void
s_take_rc(void *ctx, const vgb_receipt_row *r)
{
    s_rcs *x = ctx;
    assert_true(x->n < 8);
    x->id[x->n] = r->id;
    x->found[x->n] = r->found;
    x->has_leaf[x->n] = r->has_leaf;
    x->leaf_idx[x->n] = r->leaf_idx;
    x->kind[x->n] = r->kind;
    x->received_ms[x->n] = r->received_ms;
    assert_true(!r->found || (r->hash_ok && r->len > 0));
    x->n++;
}

typedef struct s_links {
    uint64_t idx[8], receipt_id[8];
    size_t n;
} s_links;

static void
s_take_link(void *ctx, uint64_t idx, uint64_t receipt_id)
{
    s_links *x = ctx;
    assert_true(x->n < 8);
    x->idx[x->n] = idx;
    x->receipt_id[x->n++] = receipt_id;
}

/* A DELIVERED receipt of two alerts (leaf 5) and a person's receipt of the
 * first: each alert's receipts, by item, in id order; its links, not
 * merged, in leaf order. */
static void
test_verify_reads_receipts_and_links(void **state)
{
    fx *f = *state;
    vg_envelope *env[2];
    s_begin(f->s);
    uint64_t seq[2];
    for (size_t i = 0; i < 2; i++) {
        seq[i] = s_insert(f, &env[i], "police", s_lic, 1, 1, T0, T0 + 1000);
    }
    s_commit(f->s);
    const vg_envelope *two[2] = {env[0], env[1]};
    vg_receipt *d = s_receipt(two, 2, VG_RECEIPT_DELIVERED, "licensing");
    vg_receipt *k = s_receipt(two, 1, VG_RECEIPT_ACKNOWLEDGED, "licensing");
    bool set = false;
    s_begin(f->s);
    s_ok(vgb_store_insert_receipt(f->s, d, seq, 2, T0 + 1), NULL, "insert receipt");
    s_ok(vgb_store_receipt_leaf(f->s, vg_receipt_hash(d), 5, &set), NULL, "receipt leaf");
    s_ok(vgb_store_insert_receipt(f->s, k, seq, 1, T0 + 2), NULL, "insert receipt");
    s_ok(vgb_store_link_leaf(f->s, seq[0], 3), NULL, "link");
    s_ok(vgb_store_link_leaf(f->s, seq[0], 7), NULL, "link");
    s_commit(f->s);

    s_rcs x = {0};
    s_ok(vgb_store_receipts_of(f->s, seq[0], s_take_rc, &x), NULL, "receipts of");
    assert_int_equal(x.n, 2);
    assert_true(x.found[0] && x.found[1] && x.id[0] < x.id[1]);
    assert_int_equal(x.kind[0], VG_RECEIPT_DELIVERED);
    assert_true(x.has_leaf[0]);
    assert_int_equal(x.leaf_idx[0], 5);
    assert_int_equal(x.received_ms[0], T0 + 1);
    assert_int_equal(x.kind[1], VG_RECEIPT_ACKNOWLEDGED);
    assert_false(x.has_leaf[1]);
    s_rcs y = {0};
    s_ok(vgb_store_receipts_of(f->s, seq[1], s_take_rc, &y), NULL, "receipts of");
    assert_int_equal(y.n, 1);
    assert_int_equal(y.id[0], x.id[0]);
    s_rcs z = {0};
    bool found = false;
    s_ok(vgb_store_receipt_by_hash(f->s, vg_receipt_hash(k), s_take_rc, &z, &found), NULL,
         "receipt by hash");
    assert_true(found);
    assert_int_equal(z.n, 1);
    assert_int_equal(z.id[0], x.id[1]);
    uint8_t none[VG_HASH_LEN] = {0};
    s_ok(vgb_store_receipt_by_hash(f->s, none, s_take_rc, &z, &found), NULL, "receipt by hash");
    assert_false(found);

    s_links l = {0};
    s_ok(vgb_store_alert_leaf_links(f->s, seq[0], s_take_link, &l), NULL, "links");
    assert_int_equal(l.n, 3); /* 3 and 7 directly, 5 through the receipt */
    assert_int_equal(l.idx[0], 3);
    assert_int_equal(l.receipt_id[0], 0);
    assert_int_equal(l.idx[1], 5);
    assert_int_equal(l.receipt_id[1], x.id[0]);
    assert_int_equal(l.idx[2], 7);
    assert_int_equal(l.receipt_id[2], 0);
    vg_receipt_destroy(&d);
    vg_receipt_destroy(&k);
    vg_envelope_destroy(&env[0]);
    vg_envelope_destroy(&env[1]);
}

typedef struct s_rejs {
    uint64_t id[8];
    bool has_alert_id[8];
    char code[8][32];
    size_t n;
} s_rejs;

static void
s_take_rej(void *ctx, const vgb_rejection_row *r)
{
    s_rejs *x = ctx;
    assert_true(x->n < 8);
    x->id[x->n] = r->id;
    x->has_alert_id[x->n] = r->has_alert_id && r->alert_id_ok;
    snprintf(x->code[x->n], 32, "%s", r->code);
    x->n++;
}

typedef struct s_shs {
    char sharer[8][64], to[8][64];
    bool hash_ok[8];
    size_t len[8];
    size_t n;
} s_shs;

static void
s_take_sh(void *ctx, const vgb_share_row *r)
{
    s_shs *x = ctx;
    assert_true(x->n < 8);
    snprintf(x->sharer[x->n], 64, "%s", r->sharer);
    snprintf(x->to[x->n], 64, "%s", r->to);
    x->hash_ok[x->n] = r->hash_ok;
    x->len[x->n++] = r->len;
}

static void
test_verify_reads_shares_and_rejections(void **state)
{
    fx *f = *state;
    uint8_t id[VG_ALERT_ID_LEN] = {7};
    uint8_t hash[VG_HASH_LEN] = {9};
    static const uint8_t share[] = "a signed share";
    s_begin(f->s);
    uint64_t seq = s_insert(f, NULL, "police", s_lic, 1, 1, T0, T0 + 1000);
    s_ok(vgb_store_add_recipient(f->s, seq, "home-office", "licensing", T0 + 2000), NULL,
         "add recipient");
    s_ok(vgb_store_insert_share(f->s, seq, "licensing", "home-office", hash, share, sizeof share,
                                T0 + 5),
         NULL, "insert share");
    s_ok(vgb_store_insert_rejection(f->s, T0, "police", id, "replay", "r1"), NULL, "reject");
    s_ok(vgb_store_insert_rejection(f->s, T0, "police", NULL, "malformed", "r2"), NULL, "reject");
    s_ok(vgb_store_insert_rejection(f->s, T0, "x", id, "clock_skew", "r3"), NULL, "reject");
    s_commit(f->s);
    s_shs sh = {0};
    s_ok(vgb_store_shares_of(f->s, seq, s_take_sh, &sh), NULL, "shares of");
    assert_int_equal(sh.n, 1);
    assert_string_equal(sh.sharer[0], "licensing");
    assert_string_equal(sh.to[0], "home-office");
    assert_true(sh.hash_ok[0]);
    assert_int_equal(sh.len[0], sizeof share);
    s_rejs x = {0};
    s_ok(vgb_store_rejections_after(f->s, 0, 2, s_take_rej, &x), NULL, "rejections");
    assert_int_equal(x.n, 2);
    s_ok(vgb_store_rejections_after(f->s, x.id[1], 2, s_take_rej, &x), NULL, "rejections");
    assert_int_equal(x.n, 3);
    assert_true(x.has_alert_id[0] && !x.has_alert_id[1] && x.has_alert_id[2]);
    assert_string_equal(x.code[0], "replay");
    assert_string_equal(x.code[1], "malformed");
    assert_string_equal(x.code[2], "clock_skew");
}

typedef struct s_runs {
    uint64_t seq[8], alert_seq[8], more[8][4];
    int64_t n[8];
    size_t n_more[8];
    bool more_ok[8];
    size_t count;
} s_runs;

static void
s_take_run(void *ctx, const vgb_event_run *r)
{
    s_runs *x = ctx;
    size_t i = x->count++;
    assert_true(i < 8 && r->n_more <= 4);
    x->seq[i] = r->seq;
    x->alert_seq[i] = r->alert_seq;
    x->n[i] = r->n;
    x->n_more[i] = r->n_more;
    x->more_ok[i] = r->more_ok;
    if (r->n_more > 0) {
        memcpy(x->more[i], r->more, r->n_more * sizeof *r->more);
    }
}

/* Rows as stored: one event, a run of four, one event; in slices. */
static void
test_verify_reads_event_runs(void **state)
{
    fx *f = *state;
    s_begin(f->s);
    vgb_event_row e1 = {.seq = 1, .time_ms = T0, .kind = 1, .alert_seq = 20, .about = "police"};
    s_ok(vgb_store_insert_events(f->s, "licensing", &e1, NULL, 0), NULL, "events");
    vgb_event_row r = {
        .seq = 2, .time_ms = T0 + 1, .kind = 3, .alert_seq = 21, .about = "licensing"};
    s_ok(vgb_store_insert_events(f->s, "licensing", &r, (uint64_t[]){22, 23, 24}, 3), NULL,
         "events");
    vgb_event_row e5 = {.seq = 5, .time_ms = T0 + 2, .kind = 10, .about = "x", .count = 3};
    s_ok(vgb_store_insert_events(f->s, "licensing", &e5, NULL, 0), NULL, "events");
    s_commit(f->s);
    s_runs x = {0};
    s_ok(vgb_store_event_runs(f->s, "licensing", 0, 2, s_take_run, &x), NULL, "runs");
    assert_int_equal(x.count, 2);
    s_ok(vgb_store_event_runs(f->s, "licensing", x.seq[1], 2, s_take_run, &x), NULL, "runs");
    assert_int_equal(x.count, 3);
    assert_int_equal(x.seq[0], 1);
    assert_int_equal(x.n[0], 1);
    assert_int_equal(x.n_more[0], 0);
    assert_int_equal(x.seq[1], 2);
    assert_int_equal(x.n[1], 4);
    assert_true(x.more_ok[1]);
    assert_int_equal(x.n_more[1], 3);
    assert_int_equal(x.alert_seq[1], 21);
    assert_int_equal(x.more[1][0], 22);
    assert_int_equal(x.more[1][2], 24);
    assert_int_equal(x.seq[2], 5);
    assert_int_equal(x.alert_seq[2], 0);
    x.count = 0;
    s_ok(vgb_store_event_runs(f->s, "police", 0, 8, s_take_run, &x), NULL, "runs");
    assert_int_equal(x.count, 0);
}

int
vsc_run(const vsc_backend *b)
{
    s_b = b;
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
        T(test_open_empty),
        T(test_reopen_keeps_what_was_committed),
        T(test_readonly_refuses_a_place_without_a_store),
        T(test_newer_schema_is_refused_and_left_alone),
        T(test_readonly_reads_and_refuses_writes),
        T(test_rollback_leaves_nothing_and_seqs_stay_gapless),
        T(test_destroy_rolls_back_an_open_transaction),
        T(test_commit_needs_a_transaction_and_begin_does_not_nest),
        T(test_changes_outside_a_transaction_are_refused),
        T(test_a_transaction_reads_its_own_changes),
        T(test_readers_see_committed_state_only),
        T(test_a_read_transaction_is_one_snapshot),
        T(test_network_version_only_rises),
        T(test_network_documents_are_kept_once_in_version_order),
        T(test_an_alert_reads_back_as_stored),
        T(test_absent_alerts_are_not_found),
        T(test_recipient_rows_of_a_new_alert),
        T(test_a_known_alert_id_is_not_stored_twice),
        T(test_a_used_sender_sequence_is_not_stored_twice),
        T(test_mark_delivered_changes_a_pending_row_once),
        T(test_pending_gives_fresh_rows_first_then_due_retries),
        T(test_park_backs_off_and_only_pending_rows),
        T(test_next_try_is_the_earliest_parked_row_after_now),
        T(test_sender_bytes_per_period),
        T(test_a_receipt_is_stored_once_and_linked_to_its_alerts),
        T(test_rejections_are_counted_by_agency_and_code),
        T(test_apply_receipt_records_state_times_and_texts),
        T(test_texts_that_are_not_utf8_do_not_fail_the_batch),
        T(test_escalation_sets_overdue_once),
        T(test_open_rows_by_deadline),
        T(test_onward_sharing_adds_a_required_pending_recipient),
        T(test_shares_to_an_agency_in_order),
        T(test_an_alert_completes_once_when_every_required_row_is_acknowledged),
        T(test_event_runs_expand_in_order),
        T(test_an_event_number_is_not_stored_twice),
        T(test_outstanding_pages_by_sender_or_required_recipient),
        T(test_alert_ids_and_alerts_by_id),
        T(test_required_rows_for_the_report),
        T(test_required_rows_have_their_own_deadlines_and_cover),
        T(test_a_version_4_store_is_migrated),
        T(test_count_refuses_what_it_does_not_know),
        T(test_audit_leaves_and_subtrees_read_back),
        T(test_an_audit_append_is_all_or_none),
        T(test_checkpoints_by_size),
        T(test_cosignatures_by_checkpoint),
        T(test_alert_leaves_are_linked_ones_and_their_receipts),
        T(test_long_iterations_see_every_row_once),
        T(test_long_alert_iterations_see_every_row_once),
        T(test_link_tags_find_earlier_alerts_once),
        T(test_link_tags_of_an_alert_are_its_rows),
        T(test_tagged_finds_alerts_by_tag),
        T(test_verify_reads_alerts_in_slices),
        T(test_verify_reads_receipts_and_links),
        T(test_verify_reads_shares_and_rejections),
        T(test_verify_reads_event_runs),
#undef T
    };
    return _cmocka_run_group_tests(b->name, tests, sizeof tests / sizeof tests[0], s_group_setup,
                                   s_group_teardown);
}
