/*
 * test_checkpoints.c — checkpoints when they matter (issue 15 item 2), on a
 * fake clock (fake_broker.h): a batch that holds a person's receipt, an
 * escalation step or a rejection is covered by a checkpoint signed in the
 * batch itself, so the reply carries one covering it; a plain publish
 * waits for the interval; a clean stop leaves every leaf under a
 * checkpoint, even when the broker ran for less than checkpoint_interval.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_broker.h"
#include "vigil/checkpoint.h"
#include "vigil/receipt.h"

#define ACCEPTED VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED
#define REJECTED VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED

static int
s_teardown(void **state)
{
    fb *f = *state;
    fb_destroy(&f);
    return 0;
}

/* The tree size of the checkpoint note (verified against the document's
 * broker key), or 0 when there is none. */
static uint64_t
s_note_size(fb *f, const uint8_t *note, size_t len)
{
    if (len == 0) {
        return 0;
    }
    vg_checkpoint *cp = NULL;
    vg_reason why = {{0}};
    vg_err rc = vg_checkpoint_verify(&cp, (const char *)note, len, vg_netdoc_network(fb_doc(f)),
                                     vg_netdoc_broker_sign_pk(fb_doc(f)), &why);
    if (rc != VG_OK) {
        fail_msg("the checkpoint does not verify: %s: %s", vg_err_code(rc), why.text);
    }
    uint64_t size = vg_checkpoint_size(cp);
    vg_checkpoint_destroy(&cp);
    return size;
}

/* What QUERY_CHECKPOINT answers: the latest checkpoint's size. */
static uint64_t
s_latest(fb *f, fb_conn *c)
{
    Vigil__Query q = VIGIL__QUERY__INIT;
    q.kind = VIGIL__QUERY_KIND__QUERY_CHECKPOINT;
    const Vigil__BrokerFrame *bf = fb_query(c, &q);
    assert_int_equal(bf->kind_case, VIGIL__BROKER_FRAME__KIND_RESULT);
    return s_note_size(f, bf->result->checkpoint.data, bf->result->checkpoint.len);
}

static void
test_a_person_s_receipt_is_covered_by_the_checkpoint_its_reply_carries(void **state)
{
    fb *f = fb_new(NULL);
    *state = f;
    fb_conn *ho = fb_connect(f, "home-office", 0);
    fb_conn *lic = fb_connect(f, "licensing", FB_RECEIVE);
    const fb_alert *a = fb_publish_ok(ho, NULL);
    fb_step(f); /* delivered */
    assert_non_null(fb_receipt_delivered(lic));

    /* A publish alone waits for the interval (10 s): its confirm's
     * checkpoint, if any, does not cover it. */
    const Vigil__Confirm *c = fb_publish(ho, NULL, NULL);
    assert_int_equal(c->status, ACCEPTED);
    assert_true(s_note_size(f, c->checkpoint.data, c->checkpoint.len) < c->tree_size);

    /* The acknowledgement's confirm carries a checkpoint of the whole log,
     * its own leaf included: the officer's agency holds proof at once. */
    c = fb_receipt(lic, VG_RECEIPT_ACKNOWLEDGED, a, "PC Shah");
    assert_int_equal(c->status, ACCEPTED);
    assert_true(c->tree_size > 0);
    assert_int_equal(s_note_size(f, c->checkpoint.data, c->checkpoint.len), c->tree_size);
    assert_int_equal(s_latest(f, ho), c->tree_size);
}

static void
test_a_rejection_is_covered_by_the_checkpoint_its_reply_carries(void **state)
{
    fb *f = fb_new(NULL);
    *state = f;
    fb_conn *ho = fb_connect(f, "home-office", 0);
    (void)fb_publish_ok(ho, NULL);
    fb_spec stale = {.created_ms = fb_wall_ms(f) - 2 * FB_HOUR_MS};
    const Vigil__Confirm *c = fb_publish(ho, &stale, NULL);
    assert_int_equal(c->status, REJECTED);
    assert_int_equal(c->code, VIGIL__REJECT_CODE__REJECT_CLOCK_SKEW);
    assert_int_equal(s_note_size(f, c->checkpoint.data, c->checkpoint.len), c->tree_size);
}

static void
test_an_escalation_step_is_checkpointed_in_its_batch(void **state)
{
    /* No checkpoint for the interval or the leaves in the hour it waits. */
    const char *conf[] = {"checkpoint_interval = 24h", "checkpoint_leaves = 100000", NULL};
    fb_options opts = {.conf = conf};
    fb *f = fb_new(&opts);
    *state = f;
    fb_conn *ho = fb_connect(f, "home-office", FB_CONSOLE);
    fb_conn *lic = fb_connect(f, "licensing", FB_RECEIVE);
    const fb_alert *a = fb_publish_ok(ho, NULL); /* high: due in an hour */
    fb_step(f);                                  /* delivered */
    assert_non_null(fb_receipt_delivered(lic));
    size_t before = fb_count_events(ho, VIGIL__EVENT_KIND__EVENT_OVERDUE, NULL, a);
    fb_advance_to_wall(f, a->published_wall_ms + FB_HOUR_MS);
    assert_true(fb_count_events(ho, VIGIL__EVENT_KIND__EVENT_OVERDUE, NULL, a) > before);
    /* Nothing else happened since: the latest checkpoint covers the step. */
    Vigil__Query q = VIGIL__QUERY__INIT;
    q.kind = VIGIL__QUERY_KIND__QUERY_CHECKPOINT;
    const Vigil__BrokerFrame *bf = fb_query(ho, &q);
    uint64_t size = s_note_size(f, bf->result->checkpoint.data, bf->result->checkpoint.len);
    assert_int_equal(size, bf->result->tree_size);
    assert_true(size > 0);
}

static void
test_a_clean_stop_leaves_every_leaf_under_a_checkpoint(void **state)
{
    /* A network that runs two seconds, well under checkpoint_interval. */
    fb *f = fb_new(NULL);
    *state = f;
    fb_conn *ho = fb_connect(f, "home-office", 0);
    uint64_t size = 0;
    for (int i = 0; i < 3; i++) {
        const Vigil__Confirm *c = fb_publish(ho, NULL, NULL);
        assert_int_equal(c->status, ACCEPTED);
        size = c->tree_size;
        fb_advance(f, 500);
    }
    assert_true(s_latest(f, ho) < size); /* nothing signed yet */
    fb_stop(f);
    assert_int_equal(fb_log_count(f, "audit.stop_checkpoint", NULL), 1);
    fb_start(f);
    assert_int_equal(s_latest(f, ho), size);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(
            test_a_person_s_receipt_is_covered_by_the_checkpoint_its_reply_carries, s_teardown),
        cmocka_unit_test_teardown(test_a_rejection_is_covered_by_the_checkpoint_its_reply_carries,
                                  s_teardown),
        cmocka_unit_test_teardown(test_an_escalation_step_is_checkpointed_in_its_batch, s_teardown),
        cmocka_unit_test_teardown(test_a_clean_stop_leaves_every_leaf_under_a_checkpoint,
                                  s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
