/* test_ledger.c — broker/ledger.h from outside: leaves appended in the
 * batch's transaction with consecutive indices and their links to alerts,
 * checkpoints signed when due and published only after a commit, and the
 * high-water mark that refuses a store which lost committed history. A real
 * store in a temp directory, a real network document, a fake clock. The
 * tamper cases work on the mark file's bytes (copied from another store,
 * torn, flipped), never on the database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "ledger.h"
#include "modkit.h"
#include "vigil/checkpoint.h"

typedef struct fixture {
    mk_world *w;   /* store, document, clock */
    vgb_ledger *l; /* the module under test */
} fixture;

static vg_err
s_open(mk_world *w, vgb_ledger **out, vg_reason *why)
{
    return vgb_ledger_open(out, w->store, VT_NETWORK_NAME, w->net->broker, &w->cfg, &w->clk.clock,
                           why);
}

static vgb_ledger *
s_open_ok(mk_world *w)
{
    vgb_ledger *l = NULL;
    vg_reason why = {{0}};
    vg_err rc = s_open(w, &l, &why);
    if (rc != VG_OK) {
        fail_msg("vgb_ledger_open: %s: %s", vg_err_code(rc), why.text);
    }
    return l;
}

static int
setup(void **state)
{
    mk_log_capture();
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->w = mk_world_new(NULL);
    f->l = s_open_ok(f->w);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    vgb_ledger_destroy(&f->l);
    assert_null(f->l);
    mk_world_destroy(&f->w);
    free(f);
    mk_log_release();
    return 0;
}

/* An agency_online leaf: its bytes depend only on the clock. */
static uint64_t
s_online(vgb_ledger *l, const uint64_t *seqs, size_t n_seqs)
{
    vg_audit_event ev = {.kind = VG_AUDIT_AGENCY_ONLINE};
    snprintf(ev.agency, sizeof ev.agency, "police");
    uint64_t idx = UINT64_MAX;
    assert_int_equal(vgb_ledger_append(l, seqs, n_seqs, &ev, &idx), VG_OK);
    vg_audit_event_fini(&ev);
    return idx;
}

/* n leaves in one committed batch, the batch ended. */
static void
s_commit_leaves(mk_world *w, vgb_ledger *l, size_t n)
{
    mk_begin(w->store);
    for (size_t i = 0; i < n; i++) {
        (void)s_online(l, NULL, 0);
    }
    mk_commit(w->store);
    vgb_ledger_after_commit(l, true);
    vgb_ledger_after_replies(l); /* the high-water mark */
}

/* An accepted leaf for alert a. */
static uint64_t
s_accepted(vgb_ledger *l, const mk_alert *a)
{
    vg_audit_event ev = {.kind = VG_AUDIT_ACCEPTED, .has_alert_id = true, .version = 1};
    memcpy(ev.alert_id, a->id, VG_ALERT_ID_LEN);
    memcpy(ev.hash, vg_envelope_hash(a->env), VG_HASH_LEN);
    snprintf(ev.sender, sizeof ev.sender, "%s", vg_envelope_sender(a->env));
    const vg_strlist *r = vg_envelope_recipients(a->env);
    for (size_t i = 0; i < r->n; i++) {
        assert_int_equal(vg_strlist_add(&ev.agencies, r->items[i]), VG_OK);
    }
    uint64_t idx = UINT64_MAX;
    assert_int_equal(vgb_ledger_append(l, &a->seq, 1, &ev, &idx), VG_OK);
    vg_audit_event_fini(&ev);
    return idx;
}

typedef struct s_idx {
    uint64_t v[16];
    size_t n;
} s_idx;

static void
s_take_idx(void *ctx, uint64_t idx)
{
    s_idx *x = ctx;
    assert_true(x->n < 16);
    x->v[x->n++] = idx;
}

static s_idx
s_leaves_of(mk_world *w, uint64_t seq)
{
    s_idx x = {{0}, 0};
    assert_int_equal(vgb_store_alert_leaves(w->store, seq, s_take_idx, &x), VG_OK);
    return x;
}

static uint64_t
s_count(vgb_store *s, vgb_count_what what)
{
    uint64_t n = UINT64_MAX;
    assert_int_equal(vgb_store_count(s, what, NULL, &n), VG_OK);
    return n;
}

/* The size a published checkpoint signs, after checking its signature. */
static uint64_t
s_note_size(mk_world *w, const char *note)
{
    assert_non_null(note);
    vg_checkpoint *cp = NULL;
    vg_reason why = {{0}};
    vg_err rc = vg_checkpoint_verify(&cp, note, strlen(note), VT_NETWORK_NAME,
                                     vg_netdoc_broker_sign_pk(w->doc), &why);
    if (rc != VG_OK) {
        fail_msg("the published checkpoint does not verify: %s: %s", vg_err_code(rc), why.text);
    }
    uint64_t size = vg_checkpoint_size(cp);
    vg_checkpoint_destroy(&cp);
    return size;
}

/* ---- the mark file ------------------------------------------------------------ */

static char *
s_mark_path(const mk_world *w)
{
    return vt_path(w->dir, "highwater");
}

static uint8_t *
s_mark_read(const mk_world *w, size_t *len)
{
    char *p = s_mark_path(w);
    uint8_t *b = vt_read_file(p, len);
    free(p);
    return b;
}

static void
s_mark_write(const mk_world *w, const uint8_t *bytes, size_t len)
{
    char *p = s_mark_path(w);
    vt_write_file(p, bytes, len, 0600);
    free(p);
}

/* ---- leaves ------------------------------------------------------------------------ */

static void
test_append_consecutive_and_linked(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    mk_alert *a1 = mk_seal(w, "police", NULL, VG_SEV_HIGH);
    mk_alert *a2 = mk_seal(w, "home-office", NULL, VG_SEV_HIGH);
    mk_begin(w->store);
    (void)mk_insert(w, a1, 0);
    (void)mk_insert(w, a2, 0);
    assert_int_equal(vgb_ledger_size(f->l), 0);
    int64_t t0 = w->clk.wall;
    assert_int_equal(s_accepted(f->l, a1), 0);
    mk_advance(&w->clk, 7);
    assert_int_equal(s_accepted(f->l, a2), 1);
    uint64_t both[2] = {a1->seq, a2->seq};
    assert_int_equal(s_online(f->l, both, 2), 2);
    assert_int_equal(vgb_ledger_size(f->l), 3);
    mk_commit(w->store);
    vgb_ledger_after_commit(f->l, true);
    vgb_ledger_after_replies(f->l); /* the high-water mark */

    s_idx x1 = s_leaves_of(w, a1->seq), x2 = s_leaves_of(w, a2->seq);
    assert_int_equal(x1.n, 2);
    assert_int_equal(x1.v[0], 0);
    assert_int_equal(x1.v[1], 2);
    assert_int_equal(x2.n, 2);
    assert_int_equal(x2.v[0], 1);
    assert_int_equal(x2.v[1], 2);

    /* Each leaf carries its own index and the time it was appended. */
    uint8_t *leaf = NULL;
    size_t len = 0;
    assert_int_equal(vgb_store_audit_leaf(w->store, 1, &leaf, &len), VG_OK);
    vg_audit_event ev;
    vg_reason why = {{0}};
    assert_int_equal(vg_audit_leaf_parse(&ev, leaf, len, &why), VG_OK);
    assert_int_equal(ev.index, 1);
    assert_int_equal(ev.time_ms, (uint64_t)(t0 + 7));
    assert_int_equal(ev.kind, VG_AUDIT_ACCEPTED);
    assert_memory_equal(ev.alert_id, a2->id, VG_ALERT_ID_LEN);
    vg_audit_event_fini(&ev);
    free(leaf);

    /* A later batch goes on from there, and a leaf written before can be
     * linked to one more alert. idx_out may be NULL. */
    mk_begin(w->store);
    assert_int_equal(vgb_ledger_link(f->l, &a2->seq, 1, 0), VG_OK);
    vg_audit_event on = {.kind = VG_AUDIT_AGENCY_ONLINE};
    snprintf(on.agency, sizeof on.agency, "licensing");
    assert_int_equal(vgb_ledger_append(f->l, NULL, 0, &on, NULL), VG_OK);
    assert_int_equal(s_online(f->l, NULL, 0), 4);
    mk_commit(w->store);
    vgb_ledger_after_commit(f->l, true);
    vgb_ledger_after_replies(f->l); /* the high-water mark */
    x2 = s_leaves_of(w, a2->seq);
    assert_int_equal(x2.n, 3);
    assert_int_equal(x2.v[0], 0);
    assert_int_equal(x2.v[1], 1);
    assert_int_equal(x2.v[2], 2);
    assert_int_equal(vgb_ledger_size(f->l), 5);
    assert_int_equal(s_count(w->store, VGB_COUNT_LEAVES), 5);
    mk_alert_free(&a1);
    mk_alert_free(&a2);
}

static void
test_rollback_frees_indices(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    mk_alert *a = mk_seal(w, "police", NULL, VG_SEV_HIGH);
    (void)mk_insert_committed(w, a, 0);
    s_commit_leaves(w, f->l, 2);
    mk_begin(w->store);
    assert_int_equal(s_accepted(f->l, a), 2);
    assert_int_equal(s_online(f->l, &a->seq, 1), 3);
    vgb_store_rollback(w->store);
    vgb_ledger_after_commit(f->l, false);
    assert_int_equal(vgb_ledger_size(f->l), 2);
    assert_int_equal(s_leaves_of(w, a->seq).n, 0); /* the links went with the leaves */
    mk_begin(w->store);
    assert_int_equal(s_accepted(f->l, a), 2); /* the index is free again */
    mk_commit(w->store);
    vgb_ledger_after_commit(f->l, true);
    vgb_ledger_after_replies(f->l); /* the high-water mark */
    s_idx x = s_leaves_of(w, a->seq);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.v[0], 2);
    mk_alert_free(&a);
}

static void
test_append_outside_transaction_refused(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    assert_false(vgb_store_in_transaction(w->store));
    vg_audit_event ev = {.kind = VG_AUDIT_AGENCY_ONLINE};
    snprintf(ev.agency, sizeof ev.agency, "police");
    size_t logged = mk_log_count("audit.append", NULL);
    uint64_t idx = 12345;
    assert_int_not_equal(vgb_ledger_append(f->l, NULL, 0, &ev, &idx), VG_OK);
    assert_int_equal(idx, 12345); /* no index handed out */
    assert_true(mk_log_count("audit.append", NULL) > logged);
    assert_int_equal(vgb_ledger_size(f->l), 0);
    assert_int_equal(s_count(w->store, VGB_COUNT_LEAVES), 0);
    assert_false(vgb_store_in_transaction(w->store)); /* it opened none of its own */
}

/* ---- checkpoints -------------------------------------------------------------------- */

static void
s_reopen(fixture *f)
{
    vgb_ledger_destroy(&f->l);
    f->l = s_open_ok(f->w);
}

static void
test_checkpoint_every_n_leaves(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    w->cfg.checkpoint_leaves = 4;
    w->cfg.checkpoint_interval_ms = 600000;
    s_reopen(f);
    assert_int_equal(vgb_ledger_next_ms(f->l), -1); /* nothing to sign */
    assert_null(vgb_ledger_checkpoint(f->l));

    mk_begin(w->store);
    for (int i = 0; i < 3; i++) {
        (void)s_online(f->l, NULL, 0);
    }
    vgb_ledger_service(f->l); /* 3 < 4 leaves, interval not passed */
    mk_commit(w->store);
    vgb_ledger_after_commit(f->l, true);
    vgb_ledger_after_replies(f->l); /* the high-water mark */
    assert_null(vgb_ledger_checkpoint(f->l));
    assert_int_equal(s_count(w->store, VGB_COUNT_CHECKPOINTS), 0);
    long next = vgb_ledger_next_ms(f->l);
    assert_true(next > 0 && next <= 600000);

    mk_begin(w->store);
    (void)s_online(f->l, NULL, 0);
    vgb_ledger_service(f->l);                 /* the 4th leaf: due */
    assert_null(vgb_ledger_checkpoint(f->l)); /* signed, not published */
    mk_commit(w->store);
    assert_null(vgb_ledger_checkpoint(f->l)); /* still not: the batch has not ended */
    vgb_ledger_after_commit(f->l, true);
    vgb_ledger_after_replies(f->l); /* the high-water mark */
    assert_int_equal(s_note_size(w, vgb_ledger_checkpoint(f->l)), 4);
    assert_int_equal(s_count(w->store, VGB_COUNT_CHECKPOINTS), 1);
    assert_int_equal(vgb_ledger_next_ms(f->l), -1); /* the log has not grown since */

    /* The next one counts from there: four more leaves, not one. */
    s_commit_leaves(w, f->l, 1);
    mk_begin(w->store);
    vgb_ledger_service(f->l);
    mk_commit(w->store);
    vgb_ledger_after_commit(f->l, true);
    vgb_ledger_after_replies(f->l); /* the high-water mark */
    assert_int_equal(s_note_size(w, vgb_ledger_checkpoint(f->l)), 4);
    s_commit_leaves(w, f->l, 3);
    mk_begin(w->store);
    vgb_ledger_service(f->l);
    mk_commit(w->store);
    vgb_ledger_after_commit(f->l, true);
    vgb_ledger_after_replies(f->l); /* the high-water mark */
    assert_int_equal(s_note_size(w, vgb_ledger_checkpoint(f->l)), 8);
}

static void
test_checkpoint_after_interval(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    w->cfg.checkpoint_leaves = 256;
    w->cfg.checkpoint_interval_ms = 10000;
    s_reopen(f);
    s_commit_leaves(w, f->l, 1);
    long next = vgb_ledger_next_ms(f->l);
    assert_true(next > 0 && next <= 10000);

    vgb_ledger_service(f->l); /* not due: it opens nothing */
    assert_false(vgb_store_in_transaction(w->store));
    mk_advance(&w->clk, next - 1);
    assert_int_equal(vgb_ledger_next_ms(f->l), 1);
    vgb_ledger_service(f->l);
    assert_false(vgb_store_in_transaction(w->store));
    assert_null(vgb_ledger_checkpoint(f->l));

    mk_advance(&w->clk, 1);
    assert_int_equal(vgb_ledger_next_ms(f->l), 0);
    vgb_ledger_service(f->l); /* due: signed in a transaction it opened, not committed */
    assert_true(vgb_store_in_transaction(w->store));
    assert_null(vgb_ledger_checkpoint(f->l));
    mk_commit(w->store);
    vgb_ledger_after_commit(f->l, true);
    vgb_ledger_after_replies(f->l); /* the high-water mark */
    assert_int_equal(s_note_size(w, vgb_ledger_checkpoint(f->l)), 1);
    assert_int_equal(vgb_ledger_next_ms(f->l), -1);

    /* An idle interval with no new leaf signs nothing. */
    mk_advance(&w->clk, 60000);
    assert_int_equal(vgb_ledger_next_ms(f->l), -1);
    vgb_ledger_service(f->l);
    assert_false(vgb_store_in_transaction(w->store));
    assert_int_equal(s_count(w->store, VGB_COUNT_CHECKPOINTS), 1);
}

static void
test_checkpoint_forgotten_on_rollback(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    w->cfg.checkpoint_leaves = 2;
    w->cfg.checkpoint_interval_ms = 600000;
    s_reopen(f);

    /* None published yet: a rolled-back one leaves none. */
    s_commit_leaves(w, f->l, 2);
    vgb_ledger_service(f->l);
    assert_true(vgb_store_in_transaction(w->store));
    vgb_store_rollback(w->store);
    vgb_ledger_after_commit(f->l, false);
    assert_null(vgb_ledger_checkpoint(f->l));
    assert_int_equal(s_count(w->store, VGB_COUNT_CHECKPOINTS), 0);

    /* Still due (by leaves): the next batch signs it and publishes it. */
    vgb_ledger_service(f->l);
    mk_commit(w->store);
    vgb_ledger_after_commit(f->l, true);
    vgb_ledger_after_replies(f->l); /* the high-water mark */
    const char *note = vgb_ledger_checkpoint(f->l);
    assert_int_equal(s_note_size(w, note), 2);
    char *old = strdup(note);
    assert_non_null(old);

    /* One published: a rolled-back one leaves the old one. */
    s_commit_leaves(w, f->l, 2);
    vgb_ledger_service(f->l);
    vgb_store_rollback(w->store);
    vgb_ledger_after_commit(f->l, false);
    assert_string_equal(vgb_ledger_checkpoint(f->l), old);
    assert_int_equal(s_count(w->store, VGB_COUNT_CHECKPOINTS), 1);
    free(old);
}

static void
test_checkpoint_due_again_after_rollback(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    w->cfg.checkpoint_leaves = 256;
    w->cfg.checkpoint_interval_ms = 10000;
    s_reopen(f);
    s_commit_leaves(w, f->l, 1);
    mk_advance(&w->clk, 10000);
    assert_int_equal(vgb_ledger_next_ms(f->l), 0);
    vgb_ledger_service(f->l);
    vgb_store_rollback(w->store);
    vgb_ledger_after_commit(f->l, false);
    assert_null(vgb_ledger_checkpoint(f->l));
    /* The committed log grew and no checkpoint of it was committed for a
     * whole interval: it is still due. */
    /* (It waited a whole interval more before the fix.) */
    assert_int_equal(vgb_ledger_next_ms(f->l), 0);
    vgb_ledger_service(f->l);
    mk_commit(w->store);
    vgb_ledger_after_commit(f->l, true);
    vgb_ledger_after_replies(f->l); /* the high-water mark */
    assert_int_equal(s_note_size(w, vgb_ledger_checkpoint(f->l)), 1);
}

static void
test_checkpoint_survives_reopen(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    w->cfg.checkpoint_leaves = 3;
    s_reopen(f);
    s_commit_leaves(w, f->l, 3);
    vgb_ledger_service(f->l);
    mk_commit(w->store);
    vgb_ledger_after_commit(f->l, true);
    vgb_ledger_after_replies(f->l); /* the high-water mark */
    char *note = strdup(vgb_ledger_checkpoint(f->l));
    assert_non_null(note);
    s_reopen(f);
    assert_non_null(vgb_ledger_checkpoint(f->l));
    assert_string_equal(vgb_ledger_checkpoint(f->l), note);
    assert_int_equal(vgb_ledger_size(f->l), 3);
    assert_int_equal(vgb_ledger_next_ms(f->l), -1);
    free(note);
}

/* ---- the high-water mark -------------------------------------------------------------- */

static void
test_highwater_reopen(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    s_commit_leaves(w, f->l, 3);
    s_commit_leaves(w, f->l, 2);
    size_t len = 0;
    uint8_t *mark = s_mark_read(w, &len);
    assert_true(len > 0);
    free(mark);
    vgb_ledger_destroy(&f->l);
    vgb_store_destroy(&w->store);
    w->store = mk_store_open(w->dir);
    f->l = s_open_ok(w);
    assert_int_equal(vgb_ledger_size(f->l), 5);
    s_commit_leaves(w, f->l, 1);
    s_reopen(f);
    assert_int_equal(vgb_ledger_size(f->l), 6);
}

/* A second world whose log starts like f's (same leaves at the same times). */
static mk_world *
s_twin(size_t n_leaves, int64_t skew_ms)
{
    mk_world *t = mk_world_new(NULL);
    mk_advance(&t->clk, skew_ms);
    vgb_ledger *l = s_open_ok(t);
    s_commit_leaves(t, l, n_leaves);
    vgb_ledger_destroy(&l);
    return t;
}

/* Opening t's ledger with mark as its high-water mark: the result. */
static vg_err
s_open_with_mark(mk_world *t, const uint8_t *mark, size_t len, vg_reason *why)
{
    s_mark_write(t, mark, len);
    vgb_ledger *l = NULL;
    vg_err rc = s_open(t, &l, why);
    if (rc == VG_OK) {
        assert_non_null(l);
    } else {
        assert_null(l);
    }
    vgb_ledger_destroy(&l);
    return rc;
}

static void
test_highwater_refuses_lost_history(void **state)
{
    fixture *f = *state;
    s_commit_leaves(f->w, f->l, 5);
    size_t len = 0;
    uint8_t *mark5 = s_mark_read(f->w, &len);

    /* Shorter than what was committed. */
    mk_world *shorter = s_twin(2, 0);
    vg_reason why = {{0}};
    assert_int_equal(s_open_with_mark(shorter, mark5, len, &why), VG_ERR_MALFORMED);
    assert_true(why.text[0] != '\0');
    /* Refused, and changed nothing: the mark still says so, the log is as it was. */
    size_t now_len = 0;
    uint8_t *now = s_mark_read(shorter, &now_len);
    assert_int_equal(now_len, len);
    assert_memory_equal(now, mark5, len);
    free(now);
    uint64_t size = 0;
    assert_int_equal(vgb_store_audit_size(shorter->store, &size), VG_OK);
    assert_int_equal(size, 2);
    vgb_ledger *l = NULL;
    assert_int_equal(s_open(shorter, &l, NULL), VG_ERR_MALFORMED); /* and again */
    assert_null(l);
    mk_world_destroy(&shorter);

    /* Nothing at all: the database was lost and made again beside its mark. */
    mk_world *empty = s_twin(0, 0);
    assert_int_equal(s_open_with_mark(empty, mark5, len, NULL), VG_ERR_MALFORMED);
    mk_world_destroy(&empty);

    /* As long, but not the same leaves. */
    mk_world *other = s_twin(5, 1);
    assert_int_equal(s_open_with_mark(other, mark5, len, &why), VG_ERR_MALFORMED);
    mk_world_destroy(&other);

    /* The same five and more: the log only grew. */
    mk_world *longer = s_twin(7, 0);
    why = (vg_reason){{0}};
    vg_err rc = s_open_with_mark(longer, mark5, len, &why);
    if (rc != VG_OK) {
        fail_msg("a log that grew past the mark was refused: %s", why.text);
    }
    mk_world_destroy(&longer);

    /* Exactly the same five. */
    mk_world *same = s_twin(5, 0);
    assert_int_equal(s_open_with_mark(same, mark5, len, NULL), VG_OK);
    mk_world_destroy(&same);
    free(mark5);
}

static void
test_highwater_follows_commits(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    s_commit_leaves(w, f->l, 2);
    size_t len2 = 0, len5 = 0, len = 0;
    uint8_t *mark2 = s_mark_read(w, &len2);
    s_commit_leaves(w, f->l, 3);
    uint8_t *mark5 = s_mark_read(w, &len5);
    assert_false(len2 == len5 && memcmp(mark2, mark5, len2) == 0);

    /* A rolled-back batch does not move it. */
    mk_begin(w->store);
    (void)s_online(f->l, NULL, 0);
    (void)s_online(f->l, NULL, 0);
    vgb_store_rollback(w->store);
    vgb_ledger_after_commit(f->l, false);
    uint8_t *now = s_mark_read(w, &len);
    assert_int_equal(len, len5);
    assert_memory_equal(now, mark5, len5);
    free(now);

    /* What each mark claims: a log of three is refused by the second and
     * accepted by the first. */
    mk_world *three = s_twin(3, 0);
    assert_int_equal(s_open_with_mark(three, mark5, len5, NULL), VG_ERR_MALFORMED);
    assert_int_equal(s_open_with_mark(three, mark2, len2, NULL), VG_OK);
    mk_world_destroy(&three);
    free(mark2);
    free(mark5);
}

static void
test_highwater_torn_mark_ignored(void **state)
{
    fixture *f = *state;
    s_commit_leaves(f->w, f->l, 5);
    size_t len = 0;
    uint8_t *mark5 = s_mark_read(f->w, &len);
    assert_true(len > 8);

    /* A mark torn by a crash, one with a flipped byte (it claims another
     * size), and noise: each is ignored with a warning, never a refusal. */
    uint8_t *flipped = malloc(len);
    assert_non_null(flipped);
    memcpy(flipped, mark5, len);
    char *digit = strstr((char *)flipped, " 5 ");
    assert_non_null(digit); /* the size, as the mark writes it */
    digit[1] = '9';
    const uint8_t noise[] = {0xff, 0x00, 0x13, 0x37, 'v', 'i', 'g'};
    struct {
        const uint8_t *b;
        size_t len;
    } bad[] = {{mark5, len / 2}, {flipped, len}, {noise, sizeof noise}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mk_world *t = s_twin(2, 0);
        size_t warned = mk_log_count("store.highwater", NULL);
        vg_reason why = {{0}};
        vg_err rc = s_open_with_mark(t, bad[i].b, bad[i].len, &why);
        if (rc != VG_OK) {
            fail_msg("damaged mark %zu refused the store: %s: %s", i, vg_err_code(rc), why.text);
        }
        assert_true(mk_log_count("store.highwater", NULL) > warned);
        /* The open wrote a sound mark again: it protects from then on. */
        size_t fresh_len = 0;
        uint8_t *fresh = s_mark_read(t, &fresh_len);
        mk_world *one = s_twin(1, 0);
        assert_int_equal(s_open_with_mark(one, fresh, fresh_len, NULL), VG_ERR_MALFORMED);
        mk_world_destroy(&one);
        free(fresh);
        mk_world_destroy(&t);
    }
    free(flipped);
    free(mark5);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_consecutive_and_linked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_frees_indices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_outside_transaction_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_every_n_leaves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_after_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_forgotten_on_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_due_again_after_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_highwater_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_highwater_refuses_lost_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_highwater_follows_commits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_highwater_torn_mark_ignored, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
