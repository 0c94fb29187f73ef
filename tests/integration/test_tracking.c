/*
 * test_tracking.c — acknowledgement tracking against the real broker, end to
 * end with the agent library: the Rotherham case (overdue, then escalation
 * in the order the network document says, seen by the sender's agent, and
 * the unshared-alert report of the real vigilctl), IN_PROGRESS and DECLINED,
 * onward sharing (and forged shares), event-stream gaps, receipts the broker
 * must refuse, the agency-offline alarm and deliveries receipted together.
 *
 * When deadlines, escalation steps and alarms fall (each at its due
 * millisecond, once, across restarts, clock steps and a small timer heap)
 * is tested on a fake clock in tests/unit/broker/ (test_deadlines,
 * test_timers, test_redelivery), without sleeping; here the checks are of
 * what the agent library and vigilctl make of it.
 *
 * Deadlines are seconds: the network is made with --deadline
 * high=2s,low=250ms. High alerts get 2 s; the low deadline (never used by
 * an alert here) only shortens vigilctl init's escalation steps, which are
 * 2x and 8x the shortest deadline: +500 ms to the escalation contact and
 * +2 s to oversight. Every wait is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>
#include <unistd.h>

#include "broker_harness.h"
#include "itest.h"
#include "rawclient.h"
#include "vigil/agent.h"
#include "vigil/envelope.h"
#include "vigil/netdoc.h"
#include "vigil/receipt.h"
#include "vigil/share.h"
#include "vigil/util.h"

#define T_AGENCIES "police,licensing,childrens-services,home-office,education"
#define T_DEADLINES "high=2s,low=250ms"
#define T_DEADLINE_MS 2000 /* high */
#define T_REPLY_MS 5000    /* longest wait for a confirm, a delivery or an answer */
#define T_SLACK_MS 3000    /* how long after it is due a step may take to show */
#define T_EVENTS_MAX 512   /* events one test reads */
#define T_TAXI_NOTE                                                                                \
    "Three reports name drivers licensed by the council; see the Home Office report."

/* The network of these tests: education too, and deadlines of seconds. */
static const char *const s_init_opts[] = {"--agencies", T_AGENCIES, "--deadline", T_DEADLINES,
                                          NULL};

static int
s_teardown(void **state)
{
    bh_destroy((bh_broker **)state);
    return 0;
}

/* ---- a network with short deadlines ------------------------------------------------ */

static vga_agent *
s_open(const bh_broker *b, const char *agency, bool receive, bool events)
{
    char *conf = bh_agent_conf(b, agency);
    vga_options opts = {.receive = receive, .events = events, .software = "vigil-itest"};
    vga_agent *a = NULL;
    vg_reason why = {{0}};
    vg_err rc = vga_agent_open(&a, conf, &opts, &why);
    free(conf);
    if (rc != VG_OK) {
        fail_msg("vga_agent_open %s: %s: %s", agency, vg_err_code(rc), why.text);
    }
    return a;
}

static void
s_agent_free(void *p)
{
    vga_agent *a = p;
    vga_agent_destroy(&a);
}

/* Opens an agent that bh_destroy closes if the test stops half-way. */
static vga_agent *
s_agent(bh_broker *b, const char *agency, bool receive, bool events)
{
    return bh_own(b, s_open(b, agency, receive, events), s_agent_free);
}

/* ---- alerts and receipts -------------------------------------------------------------- */

/* Publishes a taxi/cse alert (no recipients named: the policy adds
 * licensing, police and childrens-services) of this severity. */
static void
s_publish_taxi(vga_agent *tx, vg_severity sev, uint8_t id[VG_ALERT_ID_LEN])
{
    vg_alert alert;
    bh_alert_init(&alert, "Taxi drivers linked to child sexual exploitation", T_TAXI_NOTE, "taxi",
                  "");
    assert_int_equal(vg_strlist_add(&alert.categories, "cse"), VG_OK);
    alert.severity = sev;
    vga_confirm res;
    vg_reason why = {{0}};
    vg_err rc = vga_publish(tx, &alert, T_REPLY_MS, &res, &why);
    if (rc != VG_OK) {
        fail_msg("publish: %s: %s", vg_err_code(rc), why.text);
    }
    memcpy(id, res.alert_id, VG_ALERT_ID_LEN);
    vga_confirm_fini(&res);
    bh_alert_fini(&alert);
}

static void
s_receive(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN])
{
    vg_alert got;
    memset(&got, 0, sizeof got);
    vg_reason why = {{0}};
    vg_err rc = vga_receive(a, T_REPLY_MS, &got, &why);
    if (rc != VG_OK) {
        fail_msg("%s received nothing: %s: %s", vga_agent_agency(a), vg_err_code(rc), why.text);
    }
    assert_memory_equal(got.id, id, VG_ALERT_ID_LEN);
    assert_string_equal(got.description, T_TAXI_NOTE);
    vg_alert_fini(&got);
}

/* Runs a library receipt call's result check: VG_OK, not a duplicate. */
static void
s_check_confirm(const char *what, vg_err rc, vga_confirm *res, const vg_reason *why)
{
    if (rc != VG_OK) {
        fail_msg("%s: %s: %s", what, vg_err_code(rc), why->text);
    }
    assert_false(res->duplicate);
}

static void
s_ack(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], const char *officer)
{
    vga_confirm res;
    vg_reason why = {{0}};
    vg_err rc = vga_ack(a, id, officer, "read and passed on", T_REPLY_MS, &res, &why);
    s_check_confirm("ack", rc, &res, &why);
    vga_confirm_fini(&res);
}

static void
s_status(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], vga_alert_status *st)
{
    vg_reason why = {{0}};
    vg_err rc = vga_status(a, id, T_REPLY_MS, st, &why);
    if (rc != VG_OK) {
        fail_msg("status: %s: %s", vg_err_code(rc), why.text);
    }
}

static const vga_recipient_status *
s_rcpt(const vga_alert_status *st, const char *agency)
{
    for (size_t i = 0; i < st->n_recipients; i++) {
        if (strcmp(st->recipients[i].agency, agency) == 0) {
            return &st->recipients[i];
        }
    }
    fail_msg("%s is not a recipient in the status", agency);
    return NULL;
}

/* ---- the event stream ----------------------------------------------------------------- */

/* Everything one subscriber read, checked gap-free as it comes. */
typedef struct s_evlog {
    vga_agent *a;               /* the subscriber */
    vga_event ev[T_EVENTS_MAX]; /* read so far */
    size_t n;                   /* count */
    size_t pos;                 /* expectations are met in order from here */
} s_evlog;

static bool
s_matches(const vga_event *e, vga_event_kind kind, const char *about, const uint8_t *id)
{
    return e->kind == kind && (about == NULL || strcmp(e->agency, about) == 0) &&
           (id == NULL || (e->has_alert && memcmp(e->alert_id, id, VG_ALERT_ID_LEN) == 0));
}

/* The next event (after the last one expected) of this kind about this
 * agency and alert, read within ms; fails the test when it does not come. */
static const vga_event *
s_expect_event(s_evlog *l, vga_event_kind kind, const char *about, const uint8_t *id, int64_t ms)
{
    int64_t deadline = bh_now_ms() + ms;
    for (;;) {
        for (; l->pos < l->n; l->pos++) {
            if (s_matches(&l->ev[l->pos], kind, about, id)) {
                return &l->ev[l->pos++];
            }
        }
        int64_t left = deadline - bh_now_ms();
        vga_event e;
        if (left <= 0 || l->n == T_EVENTS_MAX || vga_next_event(l->a, left, &e) != VG_OK) {
            fail_msg("no %s event about %s within %lld ms (%zu events read)",
                     vga_event_kind_name(kind), about ? about : "-", (long long)ms, l->n);
        }
        if (l->n > 0 && e.seq != l->ev[l->n - 1].seq + 1) {
            fail_msg("event stream gap: %llu after %llu", (unsigned long long)e.seq,
                     (unsigned long long)l->ev[l->n - 1].seq);
        }
        l->ev[l->n++] = e;
    }
}

/* Number of events read so far of this kind about agency (NULL: any) for id. */
static size_t
s_count_events(const s_evlog *l, vga_event_kind kind, const char *about, const uint8_t *id)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) {
        n += s_matches(&l->ev[i], kind, about, id);
    }
    return n;
}

/* ---- vigilctl report ------------------------------------------------------------------------ */

static json_t *
s_report_json(const bh_broker *b)
{
    it_run r; /* -c: the store broker.conf names, SQLite or PostgreSQL (VG_TEST_STORE) */
    it_vigilctl(&r, "report", "-c", b->conf, "--unshared", "--format", "json");
    it_assert_ok(&r);
    json_error_t jerr;
    json_t *doc = json_loads(r.out, 0, &jerr);
    if (doc == NULL) {
        fail_msg("report --format json is not JSON (%s): %s", jerr.text, r.out);
    }
    it_run_fini(&r);
    assert_true(json_is_array(json_object_get(doc, "unshared")));
    assert_true(json_is_array(json_object_get(doc, "agencies")));
    return doc;
}

/* The report's row for alert id and agency, or NULL. */
static json_t *
s_report_row(json_t *doc, const uint8_t id[VG_ALERT_ID_LEN], const char *agency)
{
    char hex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(hex, id);
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(doc, "unshared"), i, row)
    {
        if (strcmp(json_string_value(json_object_get(row, "alert_id")), hex) == 0 &&
            strcmp(json_string_value(json_object_get(row, "agency")), agency) == 0) {
            return row;
        }
    }
    return NULL;
}

static json_t *
s_report_agency(json_t *doc, const char *agency)
{
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(doc, "agencies"), i, row)
    {
        if (strcmp(json_string_value(json_object_get(row, "agency")), agency) == 0) {
            return row;
        }
    }
    fail_msg("report has no figures for %s", agency);
    return NULL;
}

/* ---- the Rotherham case ---------------------------------------------------------------------- */

/* Checks the escalation events about licensing, in the document's order
 * and not before they are due. */
static void
s_expect_escalation(s_evlog *l, const vg_netdoc *doc, const uint8_t id[VG_ALERT_ID_LEN],
                    int64_t deadline_ms)
{
    vg_agency lic;
    assert_int_equal(vg_netdoc_find(doc, "licensing", &lic), VG_OK);
    size_t n_steps = vg_netdoc_n_escalation(doc);
    assert_true(n_steps >= 3);
    for (size_t i = 0; i < n_steps; i++) {
        vg_escalation_step step;
        vg_netdoc_escalation_at(doc, i, &step);
        char want[160];
        if (step.target == VG_ESC_REDELIVER) {
            snprintf(want, sizeof want, "redeliver");
        } else if (step.target == VG_ESC_CONTACT) {
            snprintf(want, sizeof want, "contact:%s", lic.escalation_contact);
        } else {
            snprintf(want, sizeof want, "role:%s", step.role);
        }
        const vga_event *e = s_expect_event(l, VGA_EV_ESCALATED, "licensing", id,
                                            (int64_t)step.after_ms + T_DEADLINE_MS + T_SLACK_MS);
        assert_string_equal(e->detail, want);
        assert_int_equal(e->level, i + 2);
        if (e->time_ms + 50 < deadline_ms + (int64_t)step.after_ms) {
            fail_msg("step %zu (%s) at %lld, due %lld", i, want, (long long)e->time_ms,
                     (long long)(deadline_ms + (int64_t)step.after_ms));
        }
    }
}

/* vga_outstanding lists id, with licensing (and only licensing) overdue. */
static void
s_expect_outstanding(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN])
{
    vga_status_list list;
    vg_reason why = {{0}};
    vg_err rc = vga_outstanding(a, T_REPLY_MS, &list, &why);
    if (rc != VG_OK) {
        fail_msg("outstanding: %s: %s", vg_err_code(rc), why.text);
    }
    bool found = false;
    for (size_t i = 0; i < list.n; i++) {
        if (memcmp(list.items[i].id, id, VG_ALERT_ID_LEN) == 0) {
            found = true;
            assert_true(s_rcpt(&list.items[i], "licensing")->overdue);
            assert_false(s_rcpt(&list.items[i], "police")->overdue);
        }
    }
    vga_status_list_fini(&list);
    assert_true(found);
}

static void
test_rotherham_licensing_never_acknowledges(void **state)
{
    bh_broker *b = bh_new_init(s_init_opts, NULL);
    *state = b;
    bh_start(b);
    vga_agent *police = s_agent(b, "police", true, false);
    vga_agent *lic = s_agent(b, "licensing", true, false);
    vga_agent *cs = s_agent(b, "childrens-services", true, false);
    s_evlog *l = bh_own(b, calloc(1, sizeof *l), free);
    l->a = s_agent(b, "home-office", false, true);
    uint8_t id[VG_ALERT_ID_LEN];
    s_publish_taxi(l->a, VG_SEV_HIGH, id);
    s_receive(police, id);
    s_receive(lic, id);
    s_receive(cs, id);
    s_ack(police, id, "DS Reid");
    s_ack(cs, id, "SW Ahmed");

    vga_alert_status st;
    s_status(l->a, id, &st);
    int64_t deadline = s_rcpt(&st, "licensing")->deadline_ms;
    assert_true(deadline > st.accepted_ms);
    vga_alert_status_fini(&st);
    const vga_event *e =
        s_expect_event(l, VGA_EV_OVERDUE, "licensing", id, T_DEADLINE_MS + T_SLACK_MS);
    assert_true(e->time_ms >= deadline);
    s_expect_escalation(l, vga_agent_doc(l->a), id, deadline);

    s_status(l->a, id, &st);
    assert_false(st.complete);
    assert_true(s_rcpt(&st, "licensing")->overdue);
    assert_int_equal(s_rcpt(&st, "licensing")->escalation_level,
                     1 + vg_netdoc_n_escalation(vga_agent_doc(l->a)));
    assert_false(s_rcpt(&st, "police")->overdue);
    assert_false(s_rcpt(&st, "childrens-services")->overdue);
    assert_int_equal(s_rcpt(&st, "police")->state, VGA_ACKNOWLEDGED);
    vga_alert_status_fini(&st);
    s_expect_outstanding(l->a, id);
    /* Overdue and escalation are about licensing alone. */
    assert_int_equal(s_count_events(l, VGA_EV_OVERDUE, NULL, id), 1);
    assert_int_equal(s_count_events(l, VGA_EV_ESCALATED, NULL, id),
                     s_count_events(l, VGA_EV_ESCALATED, "licensing", id));

    json_t *rep = s_report_json(b);
    json_t *row = s_report_row(rep, id, "licensing");
    assert_non_null(row);
    assert_true(json_integer_value(json_object_get(row, "late_ms")) > 0);
    assert_false(json_is_true(json_object_get(row, "acknowledged")));
    assert_null(s_report_row(rep, id, "police"));
    assert_null(s_report_row(rep, id, "childrens-services"));
    assert_int_equal(
        json_integer_value(json_object_get(s_report_agency(rep, "licensing"), "overdue")), 1);
    json_decref(rep);

    s_ack(lic, id, "Licensing duty officer");
    s_expect_event(l, VGA_EV_ACKNOWLEDGED, "licensing", id, T_REPLY_MS);
    s_expect_event(l, VGA_EV_COMPLETE, NULL, id, T_REPLY_MS);
    s_status(l->a, id, &st);
    assert_true(st.complete);
    vga_alert_status_fini(&st);

    rep = s_report_json(b);
    row = s_report_row(rep, id, "licensing");
    assert_non_null(row);
    assert_string_equal(json_string_value(json_object_get(row, "outcome")), "acknowledged late");
    assert_true(json_is_true(json_object_get(row, "acknowledged")));
    assert_string_equal(json_string_value(json_object_get(row, "officer")),
                        "Licensing duty officer");
    assert_true(json_integer_value(json_object_get(row, "late_ms")) > 0);
    json_t *fig = s_report_agency(rep, "licensing");
    assert_int_equal(json_integer_value(json_object_get(fig, "acknowledged")), 1);
    assert_true(json_integer_value(json_object_get(fig, "worst_ack_ms")) > T_DEADLINE_MS);
    json_decref(rep);

    /* The other formats and -c broker.conf read the same store. */
    char hex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(hex, id);
    it_run r;
    it_vigilctl(&r, "report", "-c", b->conf, "--unshared", "--format", "csv");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "alert_id,sender,accepted,"));
    assert_true(it_contains(r.out, hex));
    it_run_fini(&r);
    it_vigilctl(&r, "report", "-c", b->conf, "--unshared");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "acknowledged late"));
    it_run_fini(&r);
    bh_stop(b);
    bh_pass(b);
}

/* ---- IN_PROGRESS and DECLINED ------------------------------------------------------------------
 */

/* Through the agent library, end to end: its calls, the Confirm's reason,
 * the states and reasons vga_status reads back, and the events. When each
 * deadline and step falls is tested exactly on a fake clock
 * (tests/unit/broker/test_deadlines.c). */
static void
test_progress_and_decline_through_the_agent_library(void **state)
{
    bh_broker *b = bh_new_init(s_init_opts, NULL);
    *state = b;
    bh_start(b);
    vga_agent *police = s_agent(b, "police", true, false);
    vga_agent *lic = s_agent(b, "licensing", true, false);
    vga_agent *cs = s_agent(b, "childrens-services", true, false);
    s_evlog *l = bh_own(b, calloc(1, sizeof *l), free);
    l->a = s_agent(b, "home-office", false, true);
    uint8_t id[VG_ALERT_ID_LEN];
    s_publish_taxi(l->a, VG_SEV_HIGH, id);
    s_receive(police, id);
    s_receive(lic, id);
    s_receive(cs, id);
    vga_alert_status st;
    s_status(l->a, id, &st);
    int64_t d0 = s_rcpt(&st, "police")->deadline_ms;
    vga_alert_status_fini(&st);

    vga_confirm res;
    vg_reason why = {{0}};
    vg_err rc =
        vga_progress(police, id, "officers visiting the ranks tonight", T_REPLY_MS, &res, &why);
    s_check_confirm("progress", rc, &res, &why);
    assert_true(it_contains(res.reason.text, "extended"));
    assert_false(it_contains(res.reason.text, "not extended"));
    vga_confirm_fini(&res);
    s_status(l->a, id, &st);
    int64_t d1 = s_rcpt(&st, "police")->deadline_ms;
    assert_int_equal(s_rcpt(&st, "police")->state, VGA_IN_PROGRESS);
    vga_alert_status_fini(&st);
    assert_true(d1 >= d0); /* from now (to the ms in test_deadlines) */
    s_expect_event(l, VGA_EV_IN_PROGRESS, "police", id, T_REPLY_MS);

    rc = vga_progress(police, id, "still visiting", T_REPLY_MS, &res, &why);
    s_check_confirm("second progress", rc, &res, &why);
    assert_true(it_contains(res.reason.text, "not extended"));
    vga_confirm_fini(&res);
    s_status(l->a, id, &st);
    assert_int_equal(s_rcpt(&st, "police")->deadline_ms, d1);
    assert_string_equal(s_rcpt(&st, "police")->reason, "still visiting");
    vga_alert_status_fini(&st);

    rc = vga_decline(cs, id, "no child in our area is named", T_REPLY_MS, &res, &why);
    s_check_confirm("decline", rc, &res, &why);
    vga_confirm_fini(&res);
    const vga_event *e = s_expect_event(l, VGA_EV_DECLINED, "childrens-services", id, T_REPLY_MS);
    assert_string_equal(e->detail, "no child in our area is named");
    /* Escalated like an overdue alert, at once rather than at the deadline. */
    s_expect_event(l, VGA_EV_OVERDUE, "childrens-services", id, 1500);
    s_expect_event(l, VGA_EV_ESCALATED, "childrens-services", id, 1500);
    s_status(l->a, id, &st);
    const vga_recipient_status *r = s_rcpt(&st, "childrens-services");
    assert_int_equal(r->state, VGA_DECLINED);
    assert_string_equal(r->reason, "no child in our area is named");
    assert_true(r->overdue);
    assert_false(st.complete);
    vga_alert_status_fini(&st);
    bh_stop(b);
    bh_pass(b);
}

/* ---- onward sharing ----------------------------------------------------------------------------
 */

/* Counts the store's traces of a share to education. */
static int64_t
s_share_traces(const bh_broker *b)
{
    return bh_store_count(b, VGB_COUNT_SHARES, NULL) +
           bh_store_count(b, VGB_COUNT_RECIPIENTS, "education");
}

/* Sends signed share bytes over the raw client and expects a rejection. */
static void
s_share_rejected(const bh_broker *b, rc_client *c, const uint8_t *bytes, size_t len,
                 const char *what)
{
    Vigil__SubmitShare sh = VIGIL__SUBMIT_SHARE__INIT;
    sh.signed_share.data = (uint8_t *)bytes;
    sh.signed_share.len = len;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = rc_next_request(c);
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_SHARE;
    f.share = &sh;
    rc_send_frame(c, &f);
    Vigil__BrokerFrame *reply = rc_expect_confirm(c, f.request_id, T_REPLY_MS);
    if (reply->confirm->status != VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED) {
        fail_msg("%s share was not rejected (status %d)", what, reply->confirm->status);
    }
    assert_true(reply->confirm->reason[0] != '\0');
    rc_frame_free(reply);
    assert_int_equal(s_share_traces(b), 0);
}

/* A share by licensing to education with a signature that is not licensing's:
 * the body re-signed with police's key (or with none). */
static uint8_t *
s_share_resigned(size_t *out_len, const uint8_t *good, size_t len, const vg_keyset *keys)
{
    Vigil__SignedShare *ss = vigil__signed_share__unpack(NULL, len, good);
    assert_non_null(ss);
    uint8_t sig[VG_SIGNATURE_LEN];
    ProtobufCBinaryData orig = ss->signature;
    if (keys != NULL) {
        assert_int_equal(vg_sign(sig, keys, VG_DOMAIN_SHARE, ss->body.data, ss->body.len), VG_OK);
        ss->signature.data = sig;
        ss->signature.len = sizeof sig;
    } else {
        ss->signature.len = 0;
    }
    *out_len = vigil__signed_share__get_packed_size(ss);
    uint8_t *out = malloc(*out_len);
    assert_non_null(out);
    vigil__signed_share__pack(ss, out);
    ss->signature = orig; /* free_unpacked frees its own buffer */
    vigil__signed_share__free_unpacked(ss, NULL);
    return out;
}

static void
s_forged_shares(bh_broker *b, vga_agent *lic, const uint8_t id[VG_ALERT_ID_LEN])
{
    vga_alert_status st;
    s_status(lic, id, &st);
    assert_non_null(st.envelope);
    vga_identity *lic_id = bh_identity(b, "licensing");
    vga_identity *pol_id = bh_identity(b, "police");
    vg_envelope *env = NULL;
    vg_reason why = {{0}};
    assert_int_equal(
        vg_envelope_verify(&env, st.envelope, st.envelope_len, vga_identity_doc(lic_id), &why),
        VG_OK);
    uint8_t *good = NULL, *bad = NULL;
    size_t good_len = 0, bad_len = 0;
    assert_int_equal(vg_share_create(&good, &good_len, env, "licensing", vga_identity_keys(lic_id),
                                     "education", "forged", rc_wall_ms(), vga_identity_doc(lic_id),
                                     &why),
                     VG_OK);
    char *conf = bh_agent_conf(b, "licensing");
    rc_client *c = rc_new_agency(conf);
    free(conf);
    rc_hello(c, false);
    bad = s_share_resigned(&bad_len, good, good_len, vga_identity_keys(pol_id));
    s_share_rejected(b, c, bad, bad_len, "wrong key");
    free(bad);
    bad = s_share_resigned(&bad_len, good, good_len, NULL);
    s_share_rejected(b, c, bad, bad_len, "unsigned");
    free(bad);
    /* Properly signed by police, but claiming police shares on licensing's
     * connection. */
    assert_int_equal(vg_share_create(&bad, &bad_len, env, "police", vga_identity_keys(pol_id),
                                     "education", "not mine to share", rc_wall_ms(),
                                     vga_identity_doc(pol_id), &why),
                     VG_OK);
    s_share_rejected(b, c, bad, bad_len, "another sharer's");
    free(bad);
    free(good);
    rc_destroy(&c);
    vg_envelope_destroy(&env);
    vga_identity_destroy(&pol_id);
    vga_identity_destroy(&lic_id);
    vga_alert_status_fini(&st);
}

static void
test_share_makes_education_required(void **state)
{
    bh_broker *b = bh_new_init(s_init_opts, NULL);
    *state = b;
    bh_start(b);
    vga_agent *police = s_agent(b, "police", true, false);
    vga_agent *lic = s_agent(b, "licensing", true, false);
    vga_agent *cs = s_agent(b, "childrens-services", true, false);
    vga_agent *edu = s_agent(b, "education", true, false);
    s_evlog *l = bh_own(b, calloc(1, sizeof *l), free);
    l->a = s_agent(b, "home-office", false, true);
    uint8_t id[VG_ALERT_ID_LEN];
    s_publish_taxi(l->a, VG_SEV_HIGH, id);
    s_receive(police, id);
    s_receive(lic, id);
    s_receive(cs, id);
    s_ack(police, id, "DS Reid");
    s_ack(cs, id, "SW Ahmed");

    s_forged_shares(b, lic, id);
    vg_alert none;
    memset(&none, 0, sizeof none);
    assert_int_equal(vga_receive(edu, 300, &none, NULL), VG_ERR_TIMEOUT);

    vga_confirm res;
    vg_reason why = {{0}};
    int64_t before = rc_wall_ms();
    vg_err rc = vga_share(lic, id, "education", "drivers do school runs", T_REPLY_MS, &res, &why);
    s_check_confirm("share", rc, &res, &why);
    vga_confirm_fini(&res);
    s_receive(edu, id);
    s_expect_event(l, VGA_EV_SHARED, "education", id, T_REPLY_MS);
    s_ack(lic, id, "Licensing duty officer");

    vga_alert_status st;
    s_status(l->a, id, &st);
    const vga_recipient_status *r = s_rcpt(&st, "education");
    assert_true(r->required);
    assert_string_equal(r->shared_by, "licensing");
    assert_true(r->deadline_ms >= before + T_DEADLINE_MS);
    assert_true(r->deadline_ms > s_rcpt(&st, "police")->deadline_ms);
    assert_false(st.complete);
    vga_alert_status_fini(&st);

    s_ack(edu, id, "Head of safeguarding");
    s_expect_event(l, VGA_EV_COMPLETE, NULL, id, T_REPLY_MS);
    s_status(l->a, id, &st);
    assert_true(st.complete);
    vga_alert_status_fini(&st);
    assert_int_equal(bh_store_count(b, VGB_COUNT_SHARES, NULL), 1);
    bh_stop(b);
    bh_pass(b);
}

/* ---- gap detection
 * --------------------------------------------------------------------------------- */

static void
s_same_status(const vga_alert_status *x, const vga_alert_status *y)
{
    assert_memory_equal(x->id, y->id, VG_ALERT_ID_LEN);
    assert_int_equal(x->complete, y->complete);
    assert_int_equal(x->n_recipients, y->n_recipients);
    for (size_t i = 0; i < x->n_recipients; i++) {
        const vga_recipient_status *a = &x->recipients[i], *c = s_rcpt(y, a->agency);
        assert_int_equal(a->state, c->state);
        assert_int_equal(a->overdue, c->overdue);
        assert_int_equal(a->deadline_ms, c->deadline_ms);
        assert_int_equal(a->acknowledged_ms, c->acknowledged_ms);
        assert_int_equal(a->escalation_level, c->escalation_level);
        assert_string_equal(a->officer, c->officer);
        assert_string_equal(a->reason, c->reason);
    }
}

static void
test_gap_filled_and_snapshot_agrees_with_status(void **state)
{
    bh_broker *b = bh_new_init(s_init_opts, NULL);
    *state = b;
    bh_start(b);
    vga_agent *police = s_agent(b, "police", true, false);
    vga_agent *cs = s_agent(b, "childrens-services", true, false);
    vga_agent *sub = s_open(b, "home-office", false, true);
    s_evlog *l = bh_own(b, calloc(1, sizeof *l), free);
    l->a = sub;
    uint8_t id1[VG_ALERT_ID_LEN], id2[VG_ALERT_ID_LEN];
    s_publish_taxi(sub, VG_SEV_MEDIUM, id1); /* medium: 24 h, nothing goes overdue here */
    s_expect_event(l, VGA_EV_ACCEPTED, "home-office", id1, T_REPLY_MS);
    uint64_t last_seen = l->ev[l->n - 1].seq;
    vga_agent_destroy(&sub); /* the subscriber goes away */
    l->a = NULL;

    s_receive(police, id1);
    s_receive(cs, id1);
    s_ack(police, id1, "DS Reid");
    vga_confirm res;
    vg_reason why = {{0}};
    vg_err rc = vga_decline(cs, id1, "not ours", T_REPLY_MS, &res, &why);
    s_check_confirm("decline", rc, &res, &why);
    vga_confirm_fini(&res);

    l->a = s_agent(b, "home-office", false, true);
    s_publish_taxi(l->a, VG_SEV_MEDIUM, id2);
    vga_event *missed = NULL;
    size_t n_missed = 0;
    rc = vga_events_since(l->a, last_seen, T_REPLY_MS, &missed, &n_missed, &why);
    if (rc != VG_OK) {
        fail_msg("events_since: %s: %s", vg_err_code(rc), why.text);
    }
    bh_own(b, missed, free);
    assert_true(n_missed >= 5);
    for (size_t i = 0; i < n_missed; i++) {
        assert_int_equal(missed[i].seq, last_seen + 1 + i); /* in order, no gap */
    }
    s_evlog gap = {.n = n_missed < T_EVENTS_MAX ? n_missed : T_EVENTS_MAX};
    memcpy(gap.ev, missed, gap.n * sizeof *missed);
    s_expect_event(&gap, VGA_EV_DELIVERED, "police", id1, 0);
    s_expect_event(&gap, VGA_EV_ACKNOWLEDGED, "police", id1, 0);
    const vga_event *e = s_expect_event(&gap, VGA_EV_DECLINED, "childrens-services", id1, 0);
    assert_string_equal(e->detail, "not ours");
    s_expect_event(&gap, VGA_EV_ACCEPTED, "home-office", id2, 0);

    vga_status_list snap;
    rc = vga_outstanding(l->a, T_REPLY_MS, &snap, &why);
    if (rc != VG_OK) {
        fail_msg("outstanding: %s: %s", vg_err_code(rc), why.text);
    }
    assert_true(snap.last_event_seq >= missed[n_missed - 1].seq);
    assert_int_equal(snap.n, 2);
    for (size_t i = 0; i < snap.n; i++) {
        vga_alert_status st;
        s_status(l->a, snap.items[i].id, &st);
        s_same_status(&snap.items[i], &st);
        vga_alert_status_fini(&st);
    }
    vga_status_list_fini(&snap);
    bh_stop(b);
    bh_pass(b);
}

/* ---- receipts the broker refuses
 * ------------------------------------------------------------------- */

/* Everything a receipt could change, as a few numbers: the receipts and
 * events stored, the sum of every recipient row's state and the rows with
 * an acknowledgement time. */
typedef struct s_print {
    int64_t receipts, events, states, acked; /* counts and sums */
} s_print;

static void
s_print_row(void *ctx, const vgb_rrow *r)
{
    s_print *p = ctx;
    p->states += (int64_t)r->state;
    p->acked += r->acked_ms != 0;
}

static s_print
s_fingerprint(const bh_broker *b)
{
    s_print p = {
        .receipts = bh_store_count(b, VGB_COUNT_RECEIPTS, NULL),
        .events = bh_store_count(b, VGB_COUNT_EVENTS, NULL),
    };
    bh_store_each_recipient(b, NULL, s_print_row, &p);
    return p;
}

static void
s_same_print(const bh_broker *b, s_print before)
{
    s_print now = s_fingerprint(b);
    assert_int_equal(now.receipts, before.receipts);
    assert_int_equal(now.events, before.events);
    assert_int_equal(now.states, before.states);
    assert_int_equal(now.acked, before.acked);
}

/* Sends an ACKNOWLEDGED receipt signed by agency over rc and expects the
 * broker's rejection with this code; its reason goes to reason_out (may be
 * NULL; VG_REASON_MAX bytes). */
static void
s_raw_ack_rejected(bh_broker *b, const char *agency, const uint8_t id[VG_ALERT_ID_LEN],
                   const uint8_t hash[VG_HASH_LEN], Vigil__RejectCode code, char *reason_out)
{
    vga_identity *ident = bh_identity(b, agency);
    char *conf = bh_agent_conf(b, agency);
    rc_client *c = rc_new_agency(conf);
    free(conf);
    rc_hello(c, false);
    vg_receipt_item item;
    memcpy(item.alert_id, id, VG_ALERT_ID_LEN);
    memcpy(item.envelope_hash, hash, VG_HASH_LEN);
    vg_receipt_spec spec = {.agency = agency,
                            .kind = VG_RECEIPT_ACKNOWLEDGED,
                            .created_ms = rc_wall_ms(),
                            .items = &item,
                            .n_items = 1,
                            .officer = "Officer Nobody",
                            .network_version = 1};
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    assert_int_equal(vg_receipt_sign(&bytes, &len, &spec, vga_identity_keys(ident), &why), VG_OK);
    Vigil__SubmitReceipt r = VIGIL__SUBMIT_RECEIPT__INIT;
    r.signed_receipt.data = bytes;
    r.signed_receipt.len = len;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = rc_next_request(c);
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_RECEIPT;
    f.receipt = &r;
    rc_send_frame(c, &f);
    Vigil__BrokerFrame *reply = rc_expect_confirm(c, f.request_id, T_REPLY_MS);
    assert_int_equal(reply->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED);
    assert_int_equal(reply->confirm->code, code);
    assert_true(reply->confirm->reason[0] != '\0');
    if (reason_out != NULL) {
        snprintf(reason_out, VG_REASON_MAX, "%s", reply->confirm->reason);
    }
    rc_frame_free(reply);
    free(bytes);
    rc_destroy(&c);
    vga_identity_destroy(&ident);
}

static void
s_local_ack_refused(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN])
{
    vga_confirm res;
    vg_reason why = {{0}};
    /* Refused locally: the alert is not in this agency's inbox. */
    assert_int_equal(vga_ack(a, id, "Officer Nobody", NULL, T_REPLY_MS, &res, &why),
                     VG_ERR_NOT_RECIPIENT);
    assert_true(why.text[0] != '\0');
    vga_confirm_fini(&res);
}

static void
test_wrong_unknown_and_unreceived_acks_change_nothing(void **state)
{
    bh_broker *b = bh_new_init(s_init_opts, NULL);
    *state = b;
    bh_start(b);
    vga_agent *tx = s_agent(b, "home-office", false, false);
    vg_alert alert;
    bh_alert_init(&alert, "Online grooming report", T_TAXI_NOTE, "online-harm", "police");
    alert.severity = VG_SEV_MEDIUM;
    vga_confirm res;
    vg_reason why = {{0}};
    vg_err rc = vga_publish(tx, &alert, T_REPLY_MS, &res, &why);
    s_check_confirm("publish", rc, &res, &why);
    uint8_t id[VG_ALERT_ID_LEN];
    memcpy(id, res.alert_id, VG_ALERT_ID_LEN);
    vga_confirm_fini(&res);
    bh_alert_fini(&alert);
    uint8_t hash[VG_HASH_LEN];
    {
        vga_alert_status st;
        s_status(tx, id, &st);
        vg_envelope *env = NULL;
        assert_int_equal(
            vg_envelope_verify(&env, st.envelope, st.envelope_len, vga_agent_doc(tx), &why), VG_OK);
        memcpy(hash, vg_envelope_hash(env), VG_HASH_LEN);
        vg_envelope_destroy(&env);
        vga_alert_status_fini(&st);
    }

    /* police has not received it yet (no receiving connection). */
    s_print before = s_fingerprint(b);
    uint8_t unknown[VG_ALERT_ID_LEN];
    randombytes_buf(unknown, sizeof unknown);
    char unknown_to_police[VG_REASON_MAX], unknown_to_licensing[VG_REASON_MAX];
    char not_theirs[VG_REASON_MAX];
    s_raw_ack_rejected(b, "police", unknown, hash, VIGIL__REJECT_CODE__REJECT_UNKNOWN_ALERT,
                       unknown_to_police);
    s_raw_ack_rejected(b, "police", id, hash, VIGIL__REJECT_CODE__REJECT_NOT_RECIPIENT, NULL);
    vga_agent *pol_tx = s_agent(b, "police", false, false);
    s_local_ack_refused(pol_tx, id);
    s_same_print(b, before);
    vgb_rrow row;
    assert_true(bh_store_recipient(b, id, "police", &row));
    assert_int_equal(row.state, VGA_PENDING);

    vga_agent *police = s_agent(b, "police", true, false);
    vg_alert got;
    memset(&got, 0, sizeof got);
    assert_int_equal(vga_receive(police, T_REPLY_MS, &got, &why), VG_OK);
    vg_alert_fini(&got);
    /* The DELIVERED receipt is on its way: wait until the broker stored it. */
    int64_t until = bh_now_ms() + T_REPLY_MS;
    while (bh_store_count(b, VGB_COUNT_RECEIPTS, NULL) == 0 && bh_now_ms() < until) {
        bh_sleep_ms(20);
    }
    before = s_fingerprint(b);
    assert_int_equal(before.receipts, 1);
    /* licensing is no party to it: the answer is exactly that for an alert
     * that does not exist, so it learns nothing, not even that it exists. */
    s_raw_ack_rejected(b, "licensing", id, hash, VIGIL__REJECT_CODE__REJECT_UNKNOWN_ALERT,
                       not_theirs);
    s_raw_ack_rejected(b, "licensing", unknown, hash, VIGIL__REJECT_CODE__REJECT_UNKNOWN_ALERT,
                       unknown_to_licensing);
    assert_string_equal(not_theirs, unknown_to_licensing);
    assert_string_not_equal(unknown_to_police, unknown_to_licensing); /* each is addressed */
    s_local_ack_refused(s_agent(b, "licensing", false, false), id);
    s_same_print(b, before);
    assert_true(bh_log_count(b, "receipt.reject", NULL) >= 3);
    bh_stop(b);
    bh_pass(b);
}

/* ---- agency offline alarm
 * ------------------------------------------------------------------------- */

/* Through the agent library's event stream, end to end; when it is raised
 * and to whom is tested on a fake clock (tests/unit/broker/test_deadlines.c). */
static void
test_offline_alarm_names_the_agency(void **state)
{
    const char *conf[] = {"offline_alarm=1s", NULL};
    bh_broker *b = bh_new_init(s_init_opts, conf);
    *state = b;
    bh_start(b);
    s_agent(b, "police", true, false);
    s_agent(b, "childrens-services", true, false);
    s_evlog *l = bh_own(b, calloc(1, sizeof *l), free);
    l->a = s_agent(b, "oversight", false, true);
    vga_agent *tx = s_agent(b, "home-office", false, false);
    uint8_t id[VG_ALERT_ID_LEN];
    s_publish_taxi(tx, VG_SEV_MEDIUM, id);
    const vga_event *e = s_expect_event(l, VGA_EV_AGENCY_OFFLINE, "licensing", NULL, 4000);
    assert_true(e->count >= 1);
    s_agent(b, "licensing", true, false);
    s_expect_event(l, VGA_EV_AGENCY_ONLINE, "licensing", NULL, 3000);
    bh_stop(b);
    bh_pass(b);
}

/* ---- deliveries taken together ------------------------------------------------------------ */

/* Alerts that reach an agency together are receipted by one signed receipt
 * (its agent batches them), which is one audit leaf naming them all; their
 * events are stored as runs and still read back one by one, gap-free, from
 * any point. */
static void
test_batched_deliveries_one_receipt_one_leaf(void **state)
{
    /* A checkpoint soon after the log grows: the proof below needs one. */
    const char *conf[] = {"checkpoint_interval=200ms", NULL};
    bh_broker *b = bh_new_init(s_init_opts, conf);
    *state = b;
    bh_start(b);
    enum { N = 12 };
    vga_agent *ho = s_agent(b, "home-office", false, true);
    s_evlog *l = bh_own(b, calloc(1, sizeof *l), free);
    l->a = ho;
    uint8_t ids[N][VG_ALERT_ID_LEN];
    for (size_t i = 0; i < N; i++) { /* licensing is not connected yet */
        s_publish_taxi(ho, VG_SEV_MEDIUM, ids[i]);
    }
    vga_agent *lic = s_agent(b, "licensing", true, false);
    for (size_t i = 0; i < N; i++) {
        s_receive(lic, ids[i]);
    }
    for (size_t i = 0; i < N; i++) {
        s_expect_event(l, VGA_EV_DELIVERED, "licensing", ids[i], T_REPLY_MS);
    }
    assert_int_equal(bh_store_count(b, VGB_COUNT_DELIVERED, "licensing"), N);
    int64_t receipts = bh_store_count(b, VGB_COUNT_RECEIPTS, "licensing");
    int64_t leaves = bh_store_count_leaves(b, VG_AUDIT_DELIVERED, "licensing");
    print_message("licensing: %d deliveries, %lld receipts, %lld delivered leaves\n", N,
                  (long long)receipts, (long long)leaves);
    assert_true(receipts >= 1 && receipts < N); /* at least two came in one receipt */
    assert_int_equal(leaves, receipts);         /* one leaf per receipt */

    /* the home office's stream: fewer rows than events, read back from every point */
    int64_t rows = bh_store_count(b, VGB_COUNT_EVENT_RUNS, "home-office");
    int64_t events = bh_store_count(b, VGB_COUNT_EVENTS, "home-office");
    assert_true(rows < events);
    assert_true(l->n > 0 && (int64_t)l->ev[l->n - 1].seq <= events);
    vga_event *all = NULL;
    size_t n_all = 0;
    vg_reason why = {{0}};
    vg_err rc = vga_events_since(ho, 0, T_REPLY_MS, &all, &n_all, &why);
    if (rc != VG_OK) {
        fail_msg("events_since: %s: %s", vg_err_code(rc), why.text);
    }
    bh_own(b, all, free);
    assert_int_equal((int64_t)n_all, events);
    for (size_t i = 0; i < l->n; i++) { /* what came live is what is stored */
        assert_int_equal(all[l->ev[i].seq - 1].seq, l->ev[i].seq);
        assert_int_equal(all[l->ev[i].seq - 1].kind, l->ev[i].kind);
        assert_memory_equal(all[l->ev[i].seq - 1].alert_id, l->ev[i].alert_id, VG_ALERT_ID_LEN);
        assert_string_equal(all[l->ev[i].seq - 1].agency, l->ev[i].agency);
    }
    for (size_t after = 0; after < n_all; after++) { /* from inside a run, too */
        vga_event *part = NULL;
        size_t n_part = 0;
        rc = vga_events_since(ho, after, T_REPLY_MS, &part, &n_part, &why);
        assert_int_equal(rc, VG_OK);
        assert_int_equal(n_part, n_all - after);
        for (size_t i = 0; i < n_part; i++) {
            assert_int_equal(part[i].seq, after + 1 + i);
            assert_int_equal(part[i].kind, all[after + i].kind);
            assert_memory_equal(part[i].alert_id, all[after + i].alert_id, VG_ALERT_ID_LEN);
        }
        free(part);
    }

    /* the leaf proves each alert's delivery to its agency, and the log verifies */
    vga_audit_proof proof;
    int64_t until = bh_now_ms() + T_REPLY_MS; /* the next signed checkpoint covers the leaf */
    do {
        rc = vga_audit_sync(lic, T_REPLY_MS, &why);
        rc = rc == VG_OK ? vga_audit_prove(lic, ids[N - 1], T_REPLY_MS, &proof, &why) : rc;
        if (rc == VG_ERR_TIMEOUT) {
            bh_sleep_ms(200);
        }
    } while (rc == VG_ERR_TIMEOUT && bh_now_ms() < until);
    if (rc != VG_OK) {
        fail_msg("audit prove: %s: %s", vg_err_code(rc), why.text);
    }
    bool found = false;
    for (size_t i = 0; i < proof.n_leaves; i++) {
        const vg_audit_event *e = &proof.leaves[i].event;
        found = found || (e->kind == VG_AUDIT_DELIVERED && strcmp(e->agency, "licensing") == 0 &&
                          vg_audit_event_names(e, ids[N - 1]));
    }
    vga_audit_proof_fini(&proof);
    assert_true(found);
    it_run r;
    it_vigilctl(&r, "audit", "verify", "-c", b->conf);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "every row of the store answers to the log"));
    it_run_fini(&r);
    bh_stop(b);
    bh_pass(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_rotherham_licensing_never_acknowledges, s_teardown),
        cmocka_unit_test_teardown(test_progress_and_decline_through_the_agent_library, s_teardown),
        cmocka_unit_test_teardown(test_share_makes_education_required, s_teardown),
        cmocka_unit_test_teardown(test_gap_filled_and_snapshot_agrees_with_status, s_teardown),
        cmocka_unit_test_teardown(test_wrong_unknown_and_unreceived_acks_change_nothing,
                                  s_teardown),
        cmocka_unit_test_teardown(test_offline_alarm_names_the_agency, s_teardown),
        cmocka_unit_test_teardown(test_batched_deliveries_one_receipt_one_leaf, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
