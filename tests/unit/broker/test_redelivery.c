/*
 * test_redelivery.c — what an agency is sent again, and in which order, on
 * a fake clock (fake_broker.h): redeliveries of an alert given by a share
 * carry the share record every time (retry, escalation, restart), and each
 * sender's alerts first reach an agency in the order they were accepted,
 * across broker restarts (docs/protocol.md, "Deliveries").
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
#include "vigil/envelope.h"
#include "vigil/receipt.h"
#include "vigil/share.h"

#define ACCEPTED VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED
#define T_REDELIVER_MS 5000       /* broker.conf redeliver default */
#define T_REDELIVER_MAX_MS 300000 /* broker.conf redeliver_max default */

static int
s_teardown(void **state)
{
    fb *f = *state;
    fb_destroy(&f);
    return 0;
}

/* The Deliver carries exactly one share record, by licensing to education,
 * for a, and education opens the alert with it. */
static void
s_opens_with_share(fb *f, const Vigil__Deliver *d, const fb_alert *a)
{
    assert_int_equal(d->n_signed_shares, 1);
    vg_reason why = {{0}};
    vg_share *sh = NULL;
    vg_envelope *env = NULL;
    assert_int_equal(
        vg_share_verify(&sh, d->signed_shares[0].data, d->signed_shares[0].len, fb_doc(f), &why),
        VG_OK);
    assert_int_equal(
        vg_envelope_verify(&env, d->signed_envelope.data, d->signed_envelope.len, fb_doc(f), &why),
        VG_OK);
    assert_memory_equal(vg_envelope_id(env), a->id, VG_ALERT_ID_LEN);
    assert_true(vg_share_matches(sh, env));
    assert_string_equal(vg_share_sharer(sh), "licensing");
    assert_string_equal(vg_share_to(sh), "education");
    size_t key_len = 0;
    const uint8_t *key = vg_share_sealed_key(sh, &key_len);
    vg_alert got;
    memset(&got, 0, sizeof got);
    vg_err rc = vg_envelope_open_sealed(&got, env, key, key_len, fb_keys(f, "education"), &why);
    if (rc != VG_OK) {
        fail_msg("education cannot open what it was sent: %s: %s", vg_err_code(rc), why.text);
    }
    assert_non_null(strstr(got.headline, "Taxi drivers"));
    vg_alert_fini(&got);
    vg_envelope_destroy(&env);
    vg_share_destroy(&sh);
}

/* Every Deliver of a that c received from index `from` on opens with the share. */
static size_t
s_all_with_share(fb *f, const fb_conn *c, const fb_alert *a, size_t from)
{
    size_t n = fb_count_delivers(c, NULL);
    for (size_t i = from; i < n; i++) {
        const fb_alert *got = NULL;
        const Vigil__Deliver *d = fb_deliver_at(c, i, &got);
        assert_ptr_equal(got, a);
        s_opens_with_share(f, d, a);
    }
    return n;
}

/* education is given the alert by licensing's share, is connected and never
 * receipts: it is sent the alert with the share record at once, after the
 * redelivery interval, at its deadline's redeliver step and after a broker
 * restart; receipted, never again. */
static void
test_shared_alert_redelivered_with_its_share_record(void **state)
{
    fb *f = fb_new(NULL);
    *state = f;
    fb_conn *ho = fb_connect(f, "home-office", FB_CONSOLE);
    fb_conn *lic = fb_connect(f, "licensing", FB_RECEIVE);
    fb_conn *edu = fb_connect(f, "education", FB_RECEIVE | FB_CONSOLE);
    const fb_alert *a = fb_publish_ok(ho, NULL);
    fb_step(f);
    assert_int_equal(fb_receipt_delivered(lic)->status, ACCEPTED);
    assert_int_equal(fb_count_delivers(edu, NULL), 0);

    fb_advance(f, 10 * FB_MINUTE_MS);
    int64_t shared = fb_wall_ms(f);
    assert_int_equal(fb_share(lic, a, "education", "drivers do school runs")->status, ACCEPTED);
    const Vigil__Event *e = fb_expect_event(ho, VIGIL__EVENT_KIND__EVENT_SHARED, "education", a);
    assert_string_equal(e->detail, "licensing");
    const Vigil__RecipientState *r = fb_rcpt(fb_status(ho, a), "education");
    assert_true(r->required);
    assert_string_equal(r->shared_by, "licensing");
    assert_int_equal(r->deadline_ms, shared + FB_HOUR_MS); /* its own deadline, from the share */

    fb_step(f); /* at once */
    size_t n = s_all_with_share(f, edu, a, 0);
    assert_int_equal(n, 1);
    fb_advance(f, T_REDELIVER_MS); /* the redelivery interval */
    n = s_all_with_share(f, edu, a, n);
    assert_int_equal(n, 2);

    /* At its deadline: overdue, and the redeliver step sends it again. */
    fb_advance_to_wall(f, shared + FB_HOUR_MS - 1);
    size_t before = fb_count_delivers(edu, NULL);
    fb_advance(f, 1);
    fb_expect_event(edu, VIGIL__EVENT_KIND__EVENT_OVERDUE, "education", a);
    fb_expect_event(edu, VIGIL__EVENT_KIND__EVENT_ESCALATED, "education", a);
    assert_int_equal(fb_count_delivers(edu, NULL), before + 1);
    n = s_all_with_share(f, edu, a, n);

    /* After a restart, within the longest wait between two tries. */
    fb_restart(f);
    fb_advance(f, T_REDELIVER_MAX_MS + 1000);
    assert_true(fb_count_delivers(edu, NULL) > n);
    n = s_all_with_share(f, edu, a, n);
    print_message("education was sent the shared alert %zu times, each with its share\n", n);

    assert_int_equal(fb_receipt_delivered(edu)->status, ACCEPTED);
    fb_advance(f, FB_HOUR_MS);
    assert_int_equal(fb_count_delivers(edu, NULL), n);
}

/* ---- the order of first deliveries ------------------------------------------------------ */

#define T_N_BURST 60   /* alerts sent at once, from two senders */
#define T_N_TRICKLE 20 /* alerts sent one every 15 s after them */
#define T_N_ORDER (T_N_BURST + T_N_TRICKLE)
#define T_SENT_MAX 128 /* alerts s_check_first_arrivals can follow */

/* Checks that the alerts of each sender first reached c in the order the
 * broker accepted them (the order they were published here), and that all
 * of them did; prints how many redeliveries came after a later alert of the
 * same sender (allowed: retries come in no set order). */
static void
s_check_first_arrivals(const fb_conn *c, const fb_alert *const *sent, size_t n_sent)
{
    bool seen[T_SENT_MAX] = {false}; /* on the stack: a failure below leaks nothing */
    assert_true(n_sent <= T_SENT_MAX);
    size_t n_seen = 0, late_retries = 0;
    for (size_t i = 0; i < fb_count_delivers(c, NULL); i++) {
        const fb_alert *a = NULL;
        (void)fb_deliver_at(c, i, &a);
        size_t k = 0;
        while (k < n_sent && sent[k] != a) {
            k++;
        }
        assert_true(k < n_sent);
        bool after_later = false;
        for (size_t j = 0; j < n_sent; j++) {
            if (j == k || strcmp(sent[j]->sender, a->sender) != 0) {
                continue;
            }
            if (j < k && !seen[j] && !seen[k]) { /* a first delivery ahead of an earlier alert */
                fb_print(c);
                fail_msg("%s's alert %llu first reached %s before its alert %llu, accepted "
                         "earlier (Deliver frame %zu)",
                         a->sender, (unsigned long long)a->sequence, fb_agency(c),
                         (unsigned long long)sent[j]->sequence, i);
            }
            after_later = after_later || (j > k && seen[j] && seen[k]);
        }
        late_retries += after_later;
        n_seen += !seen[k];
        seen[k] = true;
    }
    print_message("%s: %zu of %zu alerts arrived in %zu Deliver frames; redeliveries after a "
                  "later alert of the same sender: %zu\n",
                  fb_agency(c), n_seen, n_sent, fb_count_delivers(c, NULL), late_retries);
    assert_int_equal(n_seen, n_sent);
}

static void
test_first_deliveries_in_acceptance_order_per_sender_across_restarts(void **state)
{
    /* Redeliveries can come out of per-sender order after broker restarts
     * (issue 13 item 8); the guarantee that holds
     * (docs/protocol.md, "Deliveries"): fresh deliveries go in acceptance
     * order, so each sender's alerts reach an agency for the first time in
     * the order they were accepted, whatever was sent, retried, parked or
     * restarted before; retries may come in any order relative to them.
     * (Medium alerts: no escalation step sends one within the test.) */
    const char *conf[] = {"inflight = 2", NULL};
    fb_options opts = {.conf = conf};
    fb *f = fb_new(&opts);
    *state = f;
    fb_conn *tx[2] = {fb_connect(f, "home-office", 0), fb_connect(f, "police", 0)};
    fb_conn *lic = fb_connect(f, "licensing", FB_RECEIVE);
    const fb_alert *sent[T_N_ORDER];
    fb_spec medium = {.severity = VG_SEV_MEDIUM};

    /* licensing's agent takes alerts in but cannot receipt them (a bug on
     * its side): a burst waits for its window, more trickle in, it is away
     * for three minutes, and the broker restarts every four minutes, with
     * some alerts in the window, some waiting out a retry, some never sent. */
    for (size_t i = 0; i < T_N_ORDER; i++) {
        sent[i] = fb_publish_ok(tx[i % 2], &medium);
        fb_advance(f, i < T_N_BURST ? 100 : 15000);
    }
    for (int s = 1; s <= 20 * 60; s++) {
        fb_advance(f, 1000);
        if (s % 240 == 0) {
            fb_restart(f);
        }
        if (s == 330) {
            fb_close(lic);
        } else if (s == 510) {
            fb_reconnect(lic);
        }
    }
    /* Fixed: it receipts what it takes in, through two more restarts. */
    for (int s = 1; s <= 30 * 60; s++) {
        fb_advance(f, 1000);
        (void)fb_receipt_delivered(lic);
        if (s == 7 || s == 200) {
            fb_restart(f);
        }
    }
    s_check_first_arrivals(lic, sent, T_N_ORDER);
}

#define T_N_QUEUE 80 /* medium alerts ahead of the critical one */

static void
test_escalation_redelivery_keeps_first_deliveries_in_order(void **state)
{
    /* The escalation step "redeliver" resends what the agency was sent
     * before; an alert not sent to it yet (its window held by alerts it does
     * not receipt, others waiting before this one) stays in line, so that
     * "fresh deliveries go in acceptance order" (docs/protocol.md) holds.
     * (Found by this harness: the step used to send it at once, ahead of the
     * sender's earlier alerts.) */
    const char *conf[] = {"inflight = 1", NULL};
    fb_options opts = {.conf = conf};
    fb *f = fb_new(&opts);
    *state = f;
    fb_conn *ho = fb_connect(f, "home-office", 0);
    fb_conn *lic = fb_connect(f, "licensing", FB_RECEIVE);
    const fb_alert *sent[T_N_QUEUE + 1];
    fb_spec medium = {.severity = VG_SEV_MEDIUM}, critical = {.severity = VG_SEV_CRITICAL};
    for (size_t i = 0; i <= T_N_QUEUE; i++) { /* each waits 15 s at least: 20 min in all */
        sent[i] = fb_publish_ok(ho, i < T_N_QUEUE ? &medium : &critical);
        fb_advance(f, 10);
    }
    fb_advance(f, 30 * FB_MINUTE_MS); /* the critical one is overdue after 15 */
    for (int s = 0; s < 10 * 60; s++) {
        fb_advance(f, 1000);
        (void)fb_receipt_delivered(lic);
    }
    s_check_first_arrivals(lic, sent, T_N_QUEUE + 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_shared_alert_redelivered_with_its_share_record, s_teardown),
        cmocka_unit_test_teardown(
            test_first_deliveries_in_acceptance_order_per_sender_across_restarts, s_teardown),
        cmocka_unit_test_teardown(test_escalation_redelivery_keeps_first_deliveries_in_order,
                                  s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
