/* test_batch.c — broker/batch.h from outside: replies leave only at
 * vgb_batch_end; a confirm that needed the commit becomes "nothing was
 * recorded" (REJECTED storage_full or internal, same request id and alert id)
 * when the batch did not commit; a frame without a request id gets no reply
 * (a Deliver excepted); post-commit work reaches its callback only when
 * committed; the failed flag; and a peer that is gone or full does not stop
 * the other replies. The ledger behind the confirms is real (its tree size
 * and checkpoint are what a Confirm carries). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "batch.h"
#include "ledger.h"
#include "modkit.h"

#define K_CONFIRM VIGIL__BROKER_FRAME__KIND_CONFIRM
#define K_ERROR VIGIL__BROKER_FRAME__KIND_ERROR
#define K_DELIVER VIGIL__BROKER_FRAME__KIND_DELIVER
#define ST_ACCEPTED VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED
#define ST_DUPLICATE VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE
#define ST_REJECTED VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED

typedef struct fixture {
    mk_world *w;                   /* store, document, clock, sink */
    vgb_ledger *l;                 /* what the confirms report */
    vgb_batch *x;                  /* the module under test */
    uint8_t rid[MK_N][MK_RID_LEN]; /* one connection per agency */
} fixture;

static int
setup(void **state)
{
    mk_log_capture();
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->w = mk_world_new(NULL);
    vg_reason why = {{0}};
    assert_int_equal(vgb_ledger_open(&f->l, f->w->store, VT_NETWORK_NAME, f->w->net->broker,
                                     &f->w->cfg, &f->w->clk.clock, &why),
                     VG_OK);
    assert_int_equal(vgb_batch_new(&f->x, f->w->store, f->l, &f->w->sink.out), VG_OK);
    for (uint32_t i = 0; i < MK_N; i++) {
        mk_rid(f->rid[i], 100 + i);
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    vgb_batch_destroy(&f->x);
    assert_null(f->x);
    vgb_batch_destroy(&f->x); /* NULL-safe */
    vgb_ledger_destroy(&f->l);
    mk_world_destroy(&f->w);
    free(f);
    mk_log_release();
    return 0;
}

static vgb_from
s_from(fixture *f, size_t who, uint64_t request_id)
{
    vgb_from from = {.rid_len = MK_RID_LEN,
                     .agency = mk_id(who),
                     .agency_idx = (int)who,
                     .request_id = request_id,
                     .fd = -1};
    memcpy(from.rid, f->rid[who], MK_RID_LEN);
    return from;
}

static void
s_id(uint8_t id[VG_ALERT_ID_LEN], uint8_t v)
{
    memset(id, v, VG_ALERT_ID_LEN);
}

/* post-commit work received */
typedef struct s_after_log {
    size_t agency[64];
    uint64_t seq[64];
    size_t n;
} s_after_log;

static void
s_after(void *ctx, size_t agency, uint64_t seq)
{
    s_after_log *a = ctx;
    assert_true(a->n < 64);
    a->agency[a->n] = agency;
    a->seq[a->n++] = seq;
}

static const Vigil__Confirm *
s_confirm_to(fixture *f, size_t who, size_t i)
{
    const Vigil__BrokerFrame *bf = mk_sink_nth(&f->w->sink, f->rid[who], MK_RID_LEN, K_CONFIRM, i);
    assert_non_null(bf);
    return bf->confirm;
}

static uint64_t
s_request_of(fixture *f, size_t who, int kind, size_t i)
{
    const Vigil__BrokerFrame *bf = mk_sink_nth(&f->w->sink, f->rid[who], MK_RID_LEN, kind, i);
    assert_non_null(bf);
    return bf->request_id;
}

/* ---- replies ------------------------------------------------------------------ */

static void
test_replies_only_at_end(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    uint8_t id[VG_ALERT_ID_LEN];
    s_id(id, 0xa1);
    vgb_from a = s_from(f, MK_POLICE, 7), b = s_from(f, MK_LICENSING, 8);

    /* The leaf of what is confirmed is in the batch: the confirm says so. */
    assert_true(vgb_batch_txn(f->x));
    assert_true(vgb_store_in_transaction(w->store));
    vg_audit_event ev = {.kind = VG_AUDIT_AGENCY_ONLINE};
    snprintf(ev.agency, sizeof ev.agency, "police");
    assert_int_equal(vgb_ledger_append(f->l, NULL, 0, &ev, NULL), VG_OK);
    vgb_batch_confirm(f->x, &a, id, ST_ACCEPTED, VIGIL__REJECT_CODE__REJECT_UNSPECIFIED, NULL,
                      NULL);
    vgb_batch_error(f->x, &b, VIGIL__REJECT_CODE__REJECT_MALFORMED, "that was not a frame");
    assert_int_equal(w->sink.attempts, 0);
    assert_false(vgb_batch_failed(f->x));
    mk_commit(w->store);
    assert_int_equal(w->sink.attempts, 0); /* not even after the commit: at the end */
    s_after_log al = {{0}, {0}, 0};
    vgb_batch_end(f->x, true, VG_OK, s_after, &al);
    assert_int_equal(w->sink.n, 2);
    assert_int_equal(mk_sink_count(&w->sink, f->rid[MK_POLICE], MK_RID_LEN, K_CONFIRM), 1);
    const Vigil__Confirm *c = s_confirm_to(f, MK_POLICE, 0);
    assert_int_equal(s_request_of(f, MK_POLICE, K_CONFIRM, 0), 7);
    assert_int_equal(c->status, ST_ACCEPTED);
    assert_int_equal(c->alert_id.len, VG_ALERT_ID_LEN);
    assert_memory_equal(c->alert_id.data, id, VG_ALERT_ID_LEN);
    assert_int_equal(c->tree_size, 1);
    assert_int_equal(c->checkpoint.len, 0); /* none signed yet */
    const Vigil__BrokerFrame *e =
        mk_sink_nth(&w->sink, f->rid[MK_LICENSING], MK_RID_LEN, K_ERROR, 0);
    assert_non_null(e);
    assert_int_equal(e->request_id, 8);
    assert_int_equal(e->error->code, VIGIL__REJECT_CODE__REJECT_MALFORMED);
    assert_string_equal(e->error->reason, "that was not a frame");
    assert_int_equal(al.n, 0);

    /* Sent once: ending the next (empty) batch sends nothing again. */
    vgb_batch_end(f->x, true, VG_OK, s_after, &al);
    assert_int_equal(w->sink.attempts, 2);
}

static void
test_confirm_carries_checkpoint_and_missing(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    w->cfg.checkpoint_leaves = 1;
    assert_true(vgb_batch_txn(f->x));
    vg_audit_event ev = {.kind = VG_AUDIT_AGENCY_ONLINE};
    snprintf(ev.agency, sizeof ev.agency, "police");
    assert_int_equal(vgb_ledger_append(f->l, NULL, 0, &ev, NULL), VG_OK);
    vgb_ledger_service(f->l);
    mk_commit(w->store);
    vgb_ledger_after_commit(f->l, true);
    const char *note = vgb_ledger_checkpoint(f->l);
    assert_non_null(note);

    vg_strlist missing = {0};
    assert_int_equal(vg_strlist_add(&missing, "licensing"), VG_OK);
    assert_int_equal(vg_strlist_add(&missing, "childrens-services"), VG_OK);
    uint8_t id[VG_ALERT_ID_LEN];
    s_id(id, 0x5c);
    vgb_from a = s_from(f, MK_POLICE, 41);
    vgb_batch_confirm(f->x, &a, id, ST_REJECTED, VIGIL__REJECT_CODE__REJECT_MISSING_RECIPIENTS,
                      "policy", &missing);
    vg_strlist_fini(&missing);
    /* A rejection needs no commit: it goes out as it is after a rollback. */
    vgb_batch_end(f->x, false, VG_ERR_IO, NULL, NULL);
    const Vigil__Confirm *c = s_confirm_to(f, MK_POLICE, 0);
    assert_int_equal(c->status, ST_REJECTED);
    assert_int_equal(c->code, VIGIL__REJECT_CODE__REJECT_MISSING_RECIPIENTS);
    assert_string_equal(c->reason, "policy");
    assert_int_equal(c->n_missing, 2);
    assert_string_equal(c->missing[0], "licensing");
    assert_string_equal(c->missing[1], "childrens-services");
    assert_int_equal(c->tree_size, 1);
    assert_int_equal(c->checkpoint.len, strlen(note));
    assert_memory_equal(c->checkpoint.data, note, strlen(note));
}

/* The client is told nothing was recorded: code, same request and alert. */
static void
s_expect_void(const Vigil__Confirm *c, const uint8_t *id, Vigil__RejectCode code)
{
    assert_int_equal(c->status, ST_REJECTED);
    assert_int_equal(c->code, code);
    assert_int_equal(c->alert_id.len, VG_ALERT_ID_LEN);
    assert_memory_equal(c->alert_id.data, id, VG_ALERT_ID_LEN);
    assert_true(c->reason != NULL && c->reason[0] != '\0');
}

static void
test_confirms_voided_when_not_committed(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    static const struct {
        vg_err rc;
        Vigil__RejectCode code;
    } cases[] = {
        {VG_ERR_STORAGE_FULL, VIGIL__REJECT_CODE__REJECT_STORAGE_FULL},
        {VG_ERR_IO, VIGIL__REJECT_CODE__REJECT_INTERNAL},
        {VG_ERR_INTERNAL, VIGIL__REJECT_CODE__REJECT_INTERNAL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        mk_sink_clear(&w->sink);
        uint8_t acc[VG_ALERT_ID_LEN], dup[VG_ALERT_ID_LEN], rej[VG_ALERT_ID_LEN];
        s_id(acc, 0x11);
        s_id(dup, 0x22);
        s_id(rej, 0x33);
        vgb_from a = s_from(f, MK_POLICE, 1001), b = s_from(f, MK_POLICE, 1002),
                 c = s_from(f, MK_HOME, 1003), d = s_from(f, MK_HOME, 1004);
        vgb_batch_confirm(f->x, &a, acc, ST_ACCEPTED, 0, NULL, NULL);
        vgb_batch_confirm(f->x, &b, dup, ST_DUPLICATE, 0, "already have it", NULL);
        vgb_batch_confirm(f->x, &c, rej, ST_REJECTED, VIGIL__REJECT_CODE__REJECT_REPLAY, "seq",
                          NULL);
        vgb_batch_error(f->x, &d, VIGIL__REJECT_CODE__REJECT_RATE_LIMITED, "slow down");
        vgb_batch_fail(f->x);
        vgb_batch_end(f->x, false, cases[k].rc, NULL, NULL);

        assert_int_equal(w->sink.n, 4);
        assert_int_equal(mk_sink_count(&w->sink, f->rid[MK_POLICE], MK_RID_LEN, K_CONFIRM), 2);
        for (size_t i = 0; i < 2; i++) {
            const Vigil__BrokerFrame *bf =
                mk_sink_nth(&w->sink, f->rid[MK_POLICE], MK_RID_LEN, K_CONFIRM, i);
            assert_true(bf->request_id == 1001 || bf->request_id == 1002);
            s_expect_void(bf->confirm, bf->request_id == 1001 ? acc : dup, cases[k].code);
        }
        assert_int_not_equal(s_request_of(f, MK_POLICE, K_CONFIRM, 0),
                             s_request_of(f, MK_POLICE, K_CONFIRM, 1));
        const Vigil__Confirm *r = s_confirm_to(f, MK_HOME, 0);
        assert_int_equal(s_request_of(f, MK_HOME, K_CONFIRM, 0), 1003);
        assert_int_equal(r->code, VIGIL__REJECT_CODE__REJECT_REPLAY);
        assert_string_equal(r->reason, "seq");
        assert_memory_equal(r->alert_id.data, rej, VG_ALERT_ID_LEN);
        const Vigil__BrokerFrame *e =
            mk_sink_nth(&w->sink, f->rid[MK_HOME], MK_RID_LEN, K_ERROR, 0);
        assert_non_null(e);
        assert_int_equal(e->request_id, 1004);
        assert_int_equal(e->error->code, VIGIL__REJECT_CODE__REJECT_RATE_LIMITED);
        assert_false(vgb_batch_failed(f->x));
    }
}

static void
test_voided_reply_without_alert_id(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    /* A reply that needs the commit but is about no alert (batch.h: alert_id
     * may be NULL). */
    Vigil__Confirm c = VIGIL__CONFIRM__INIT;
    c.status = ST_ACCEPTED;
    c.reason = "";
    Vigil__BrokerFrame bf = VIGIL__BROKER_FRAME__INIT;
    bf.kind_case = K_CONFIRM;
    bf.confirm = &c;
    vgb_from a = s_from(f, MK_EDUCATION, 77);
    vgb_batch_reply(f->x, &a, &bf, true, NULL);
    vgb_batch_end(f->x, false, VG_ERR_IO, NULL, NULL);
    const Vigil__Confirm *got = s_confirm_to(f, MK_EDUCATION, 0);
    assert_int_equal(s_request_of(f, MK_EDUCATION, K_CONFIRM, 0), 77);
    assert_int_equal(got->status, ST_REJECTED);
    assert_int_equal(got->code, VIGIL__REJECT_CODE__REJECT_INTERNAL);
    /* no alert id queued: none named (it once named 16 zero bytes) */
    assert_int_equal(got->alert_id.len, 0);
    (void)w;
}

static void
test_no_request_id_no_reply(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    uint8_t id[VG_ALERT_ID_LEN];
    s_id(id, 0x44);
    vgb_from anon = s_from(f, MK_POLICE, 0);
    vgb_batch_confirm(f->x, &anon, id, ST_ACCEPTED, 0, NULL, NULL);
    vgb_batch_confirm(f->x, &anon, id, ST_REJECTED, VIGIL__REJECT_CODE__REJECT_REPLAY, "x", NULL);
    vgb_batch_error(f->x, &anon, VIGIL__REJECT_CODE__REJECT_MALFORMED, "x");
    /* ... except a Deliver, which is not an answer. */
    uint8_t env[] = {1, 2, 3, 4};
    Vigil__Deliver dv = VIGIL__DELIVER__INIT;
    dv.signed_envelope.data = env;
    dv.signed_envelope.len = sizeof env;
    Vigil__BrokerFrame bf = VIGIL__BROKER_FRAME__INIT;
    bf.kind_case = K_DELIVER;
    bf.deliver = &dv;
    vgb_batch_reply(f->x, &anon, &bf, false, NULL);
    vgb_batch_end(f->x, true, VG_OK, NULL, NULL);
    assert_int_equal(w->sink.n, 1);
    const Vigil__BrokerFrame *got =
        mk_sink_nth(&w->sink, f->rid[MK_POLICE], MK_RID_LEN, K_DELIVER, 0);
    assert_non_null(got);
    assert_int_equal(got->deliver->signed_envelope.len, sizeof env);
    assert_memory_equal(got->deliver->signed_envelope.data, env, sizeof env);

    /* Not after a rollback either: no "nothing was recorded" to nobody. */
    mk_sink_clear(&w->sink);
    vgb_batch_confirm(f->x, &anon, id, ST_ACCEPTED, 0, NULL, NULL);
    vgb_batch_end(f->x, false, VG_ERR_STORAGE_FULL, NULL, NULL);
    assert_int_equal(w->sink.attempts, 0);
}

static void
test_reply_packed_when_queued(void **state)
{
    fixture *f = *state;
    char reason[] = "first words";
    Vigil__ErrorReply e = VIGIL__ERROR_REPLY__INIT;
    e.code = VIGIL__REJECT_CODE__REJECT_MALFORMED;
    e.reason = reason;
    Vigil__BrokerFrame bf = VIGIL__BROKER_FRAME__INIT;
    bf.kind_case = K_ERROR;
    bf.error = &e;
    vgb_from a = s_from(f, MK_COUNCIL, 9);
    vgb_batch_reply(f->x, &a, &bf, false, NULL);
    memcpy(reason, "other words", sizeof reason); /* the caller's frame changes after */
    e.code = VIGIL__REJECT_CODE__REJECT_INTERNAL;
    vgb_from b = s_from(f, MK_COUNCIL, 10);
    memset(a.rid, 0xee, sizeof a.rid); /* and so does its vgb_from */
    vgb_batch_reply(f->x, &b, &bf, false, NULL);
    vgb_batch_end(f->x, true, VG_OK, NULL, NULL);
    assert_int_equal(mk_sink_count(&f->w->sink, f->rid[MK_COUNCIL], MK_RID_LEN, K_ERROR), 2);
    const Vigil__BrokerFrame *r0 =
        mk_sink_nth(&f->w->sink, f->rid[MK_COUNCIL], MK_RID_LEN, K_ERROR, 0);
    const Vigil__BrokerFrame *r1 =
        mk_sink_nth(&f->w->sink, f->rid[MK_COUNCIL], MK_RID_LEN, K_ERROR, 1);
    assert_int_equal(r0->request_id, 9);
    assert_string_equal(r0->error->reason, "first words");
    assert_int_equal(r0->error->code, VIGIL__REJECT_CODE__REJECT_MALFORMED);
    assert_int_equal(r1->request_id, 10);
    assert_string_equal(r1->error->reason, "other words");
}

static void
test_many_replies_in_order(void **state)
{
    fixture *f = *state;
    for (uint64_t i = 1; i <= 300; i++) {
        uint8_t id[VG_ALERT_ID_LEN];
        s_id(id, (uint8_t)i);
        vgb_from a = s_from(f, i % 2 ? MK_POLICE : MK_HOME, i);
        vgb_batch_confirm(f->x, &a, id, ST_ACCEPTED, 0, NULL, NULL);
    }
    vgb_batch_end(f->x, true, VG_OK, NULL, NULL);
    assert_int_equal(f->w->sink.n, 300);
    for (size_t i = 0; i < 300; i++) {
        const mk_frame *k = &f->w->sink.frames[i];
        assert_int_equal(k->f->request_id, i + 1);
        assert_memory_equal(k->rid, f->rid[(i + 1) % 2 ? MK_POLICE : MK_HOME], MK_RID_LEN);
        assert_int_equal(k->f->confirm->alert_id.data[0], (uint8_t)(i + 1));
    }
}

/* ---- post-commit work and the failed flag ------------------------------------------------ */

static void
test_after_work_only_when_committed(void **state)
{
    fixture *f = *state;
    s_after_log al = {{0}, {0}, 0};
    vgb_batch_after(f->x, MK_LICENSING, 0);
    vgb_batch_after(f->x, MK_CS, 17);
    vgb_batch_after(f->x, MK_LICENSING, 18);
    vgb_batch_end(f->x, true, VG_OK, s_after, &al);
    assert_int_equal(al.n, 3);
    assert_int_equal(al.agency[0], MK_LICENSING);
    assert_int_equal(al.seq[0], 0);
    assert_int_equal(al.agency[1], MK_CS);
    assert_int_equal(al.seq[1], 17);
    assert_int_equal(al.agency[2], MK_LICENSING);
    assert_int_equal(al.seq[2], 18);

    /* Rolled back: none of it, and none of it later either. */
    al.n = 0;
    vgb_batch_after(f->x, MK_EDUCATION, 0);
    vgb_batch_after(f->x, MK_EDUCATION, 99);
    vgb_batch_end(f->x, false, VG_ERR_IO, s_after, &al);
    assert_int_equal(al.n, 0);
    vgb_batch_end(f->x, true, VG_OK, s_after, &al);
    assert_int_equal(al.n, 0);

    /* Many. */
    for (uint64_t i = 1; i <= 64; i++) {
        vgb_batch_after(f->x, MK_POLICE, i);
    }
    vgb_batch_end(f->x, true, VG_OK, s_after, &al);
    assert_int_equal(al.n, 64);
    assert_int_equal(al.seq[63], 64);
}

static void
test_failed_flag(void **state)
{
    fixture *f = *state;
    assert_false(vgb_batch_failed(f->x));
    vgb_batch_fail(f->x);
    assert_true(vgb_batch_failed(f->x));
    vgb_batch_fail(f->x); /* twice is still failed */
    assert_true(vgb_batch_failed(f->x));
    vgb_batch_end(f->x, false, VG_ERR_IO, NULL, NULL);
    assert_false(vgb_batch_failed(f->x)); /* the next batch starts sound */
    vgb_batch_fail(f->x);
    vgb_batch_end(f->x, true, VG_OK, NULL, NULL);
    assert_false(vgb_batch_failed(f->x));
}

static void
test_txn_opens_once(void **state)
{
    fixture *f = *state;
    assert_false(vgb_store_in_transaction(f->w->store));
    assert_true(vgb_batch_txn(f->x));
    assert_true(vgb_store_in_transaction(f->w->store));
    assert_true(vgb_batch_txn(f->x)); /* the one in progress */
    mk_commit(f->w->store);
    assert_false(vgb_store_in_transaction(f->w->store));
}

/* ---- peers ---------------------------------------------------------------------------- */

static void
test_gone_or_full_peer_does_not_stop_others(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    vg_err refusals[] = {VG_ERR_NOT_FOUND, VG_ERR_TIMEOUT};
    for (size_t k = 0; k < 2; k++) {
        mk_sink_clear(&w->sink);
        mk_sink_refuse(&w->sink, f->rid[MK_LICENSING], MK_RID_LEN, refusals[k]);
        for (size_t i = 0; i < 3; i++) {
            static const size_t who[3] = {MK_POLICE, MK_LICENSING, MK_HOME};
            uint8_t id[VG_ALERT_ID_LEN];
            s_id(id, (uint8_t)(i + 1));
            vgb_from a = s_from(f, who[i], 50 + i);
            vgb_batch_confirm(f->x, &a, id, ST_ACCEPTED, 0, NULL, NULL);
            vgb_batch_error(f->x, &a, VIGIL__REJECT_CODE__REJECT_MALFORMED, "x");
        }
        s_after_log al = {{0}, {0}, 0};
        vgb_batch_after(f->x, MK_HOME, 0);
        vgb_batch_end(f->x, true, VG_OK, s_after, &al);
        assert_int_equal(w->sink.attempts, 6);
        assert_int_equal(w->sink.refused, 2);
        assert_int_equal(mk_sink_count(&w->sink, f->rid[MK_POLICE], MK_RID_LEN, 0), 2);
        assert_int_equal(mk_sink_count(&w->sink, f->rid[MK_HOME], MK_RID_LEN, 0), 2);
        assert_int_equal(mk_sink_count(&w->sink, f->rid[MK_LICENSING], MK_RID_LEN, 0), 0);
        assert_int_equal(s_request_of(f, MK_HOME, K_CONFIRM, 0), 52);
        assert_int_equal(al.n, 1); /* the post-commit work still ran */
        mk_sink_refuse(&w->sink, f->rid[MK_LICENSING], MK_RID_LEN, VG_OK);
    }
    /* Voided confirms to a gone peer do not stop the others either. */
    mk_sink_clear(&w->sink);
    mk_sink_refuse(&w->sink, f->rid[MK_POLICE], MK_RID_LEN, VG_ERR_NOT_FOUND);
    uint8_t id[VG_ALERT_ID_LEN];
    s_id(id, 9);
    vgb_from a = s_from(f, MK_POLICE, 1), b = s_from(f, MK_HOME, 2);
    vgb_batch_confirm(f->x, &a, id, ST_ACCEPTED, 0, NULL, NULL);
    vgb_batch_confirm(f->x, &b, id, ST_ACCEPTED, 0, NULL, NULL);
    vgb_batch_end(f->x, false, VG_ERR_STORAGE_FULL, NULL, NULL);
    assert_int_equal(w->sink.attempts, 2);
    s_expect_void(s_confirm_to(f, MK_HOME, 0), id, VIGIL__REJECT_CODE__REJECT_STORAGE_FULL);
}

static void
test_destroy_sends_nothing(void **state)
{
    fixture *f = *state;
    uint8_t id[VG_ALERT_ID_LEN];
    s_id(id, 3);
    vgb_from a = s_from(f, MK_POLICE, 5);
    vgb_batch_confirm(f->x, &a, id, ST_ACCEPTED, 0, NULL, NULL);
    vgb_batch_after(f->x, MK_POLICE, 0);
    vgb_batch_destroy(&f->x);
    assert_null(f->x);
    assert_int_equal(f->w->sink.attempts, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replies_only_at_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confirm_carries_checkpoint_and_missing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_confirms_voided_when_not_committed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_voided_reply_without_alert_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_request_id_no_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_packed_when_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_replies_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_after_work_only_when_committed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_opens_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gone_or_full_peer_does_not_stop_others, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_destroy_sends_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
