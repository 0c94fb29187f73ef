/*
 * test_broker_bad_input.c — hostile frames get their rejection and change
 * nothing stored, while a concurrent good agent keeps publishing and
 * receiving; an unknown transport key never reaches the broker's handlers.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker_harness.h"
#include "rawclient.h"
#include "vigil/agent.h"
#include "vigil/envelope.h"

#define T_REPLY_MS 5000   /* longest wait for a confirm or a delivery */
#define T_SILENCE_MS 2000 /* "no reply" means none within this */
#define T_GOOD_ROUNDS 2   /* good round trips required after the bad input */
#define T_HOUR_MS (3600 * INT64_C(1000))
#define T_BIG_CIPHERTEXT (1000 * 1024) /* envelope lands in (960 KiB, 1 MiB) */
#define T_HO_FIRST_SEQ 100             /* home-office's accepted sequence */

static int
s_teardown(void **state)
{
    bh_destroy((bh_broker **)state);
    return 0;
}

/* ---- the concurrent good agent ------------------------------------------- */

typedef struct s_good {
    char *tx_conf;          /* police: publishes */
    char *rx_conf;          /* childrens-services: receives */
    atomic_bool stop;       /* set by the test thread */
    atomic_size_t rounds;   /* publish → confirm → delivery round trips */
    atomic_size_t accepted; /* alerts the broker accepted */
    atomic_bool failed;     /* a round went wrong; what says how */
    char what[VG_REASON_MAX + 64];
} s_good;

static void
s_good_fail(s_good *g, const char *step, vg_err rc, const vg_reason *why)
{
    snprintf(g->what, sizeof g->what, "%s: %s: %s", step, vg_err_code(rc), why->text);
    atomic_store(&g->failed, true);
}

/* One round: publish to childrens-services and receive it there. */
static bool
s_good_round(s_good *g, vga_agent *tx, vga_agent *rx)
{
    vg_alert alert;
    memset(&alert, 0, sizeof alert);
    vg_reason why = {{0}};
    alert.severity = VG_SEV_MEDIUM;
    alert.headline = "good traffic";
    vg_err rc = vg_strlist_add(&alert.categories, "other");
    if (rc == VG_OK) {
        rc = vg_strlist_add(&alert.recipients, "childrens-services");
    }
    vga_confirm res;
    if (rc == VG_OK) {
        rc = vga_publish(tx, &alert, T_REPLY_MS, &res, &why);
        vga_confirm_fini(&res);
    }
    vg_strlist_fini(&alert.categories);
    vg_strlist_fini(&alert.recipients);
    if (rc != VG_OK) {
        s_good_fail(g, "good publish", rc, &why);
        return false;
    }
    atomic_fetch_add(&g->accepted, 1);
    vg_alert got;
    memset(&got, 0, sizeof got);
    rc = vga_receive(rx, T_REPLY_MS, &got, &why);
    bool same = rc == VG_OK && memcmp(got.id, res.alert_id, VG_ALERT_ID_LEN) == 0;
    vg_alert_fini(&got);
    if (!same) {
        s_good_fail(g, "good receive", rc == VG_OK ? VG_ERR_INTERNAL : rc, &why);
        return false;
    }
    atomic_fetch_add(&g->rounds, 1);
    return true;
}

static void *
s_good_main(void *arg)
{
    s_good *g = arg;
    vga_agent *tx = NULL, *rx = NULL;
    vg_reason why = {{0}};
    vga_options txo = {.receive = false, .software = "good-tx"};
    vga_options rxo = {.receive = true, .software = "good-rx"};
    vg_err rc = vga_agent_open(&tx, g->tx_conf, &txo, &why);
    if (rc == VG_OK) {
        rc = vga_agent_open(&rx, g->rx_conf, &rxo, &why);
    }
    if (rc != VG_OK) {
        s_good_fail(g, "open", rc, &why);
    }
    while (rc == VG_OK && !atomic_load(&g->stop) && s_good_round(g, tx, rx)) {
    }
    vga_agent_destroy(&tx);
    vga_agent_destroy(&rx);
    return NULL;
}

/* Waits until the good agent completed `rounds` round trips. */
static void
s_good_wait(s_good *g, size_t rounds)
{
    int64_t end = bh_now_ms() + 2 * T_REPLY_MS;
    while (atomic_load(&g->rounds) < rounds && !atomic_load(&g->failed) && bh_now_ms() < end) {
        bh_sleep_ms(10);
    }
    if (atomic_load(&g->failed)) {
        fail_msg("the good agent failed: %s", g->what);
    }
    if (atomic_load(&g->rounds) < rounds) {
        fail_msg("the good agent completed %zu round trips, expected %zu", atomic_load(&g->rounds),
                 rounds);
    }
}

/* ---- bad frames ---------------------------------------------------------- */

/* Publishes env on c and asserts it is REJECTED with code, and (id != NULL)
 * that the store does not hold that alert. */
static void
s_expect_reject(const bh_broker *b, rc_client *c, const uint8_t *env, size_t len,
                Vigil__RejectCode code, const uint8_t *id)
{
    Vigil__BrokerFrame *f = rc_expect_confirm(c, rc_publish(c, env, len), T_REPLY_MS);
    Vigil__ConfirmStatus st = f->confirm->status;
    Vigil__RejectCode got = f->confirm->code;
    char reason[VG_REASON_MAX];
    snprintf(reason, sizeof reason, "%s", f->confirm->reason);
    rc_frame_free(f);
    if (st != VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED || got != code) {
        fail_msg("expected REJECTED code %d, got status %d code %d (%s)", (int)code, (int)st,
                 (int)got, reason);
    }
    assert_true(reason[0] != '\0');
    if (id != NULL) {
        assert_false(bh_store_has_alert(b, id));
    }
}

static uint8_t *
s_seal_ho(const vga_identity *ho, uint64_t seq, int64_t created_ms, uint8_t *id, size_t *len)
{
    const char *to[] = {"police"};
    rc_seal_spec spec = {.recipients = to,
                         .n_recipients = 1,
                         .category = "other",
                         .sequence = seq,
                         .created_ms = created_ms};
    return rc_seal(len, id, ho, &spec);
}

static void
s_edit_grow(Vigil__EnvelopeBody *body, void *ctx)
{
    size_t n = *(size_t *)ctx;
    uint8_t *big = calloc(1, n);
    assert_non_null(big);
    free(body->ciphertext.data);
    body->ciphertext.data = big;
    body->ciphertext.len = n;
}

/* Envelopes that are well signed but wrong in one way each. */
static void
s_signed_but_wrong(const bh_broker *b, rc_client *ho_raw, const vga_identity *ho)
{
    uint8_t id[VG_ALERT_ID_LEN];
    size_t len = 0;
    /* Replay: a fresh envelope (new id, new content key) reusing the
     * sequence number of an accepted alert. docs/protocol.md: numbers are
     * unique per sender, not ordered, so only reuse is a replay. */
    uint8_t *reused = s_seal_ho(ho, T_HO_FIRST_SEQ, 0, id, &len);
    s_expect_reject(b, ho_raw, reused, len, VIGIL__REJECT_CODE__REJECT_REPLAY, id);
    free(reused);
    /* Clock skew: created an hour ago, and an hour ahead. */
    int64_t created[] = {rc_wall_ms() - T_HOUR_MS, rc_wall_ms() + T_HOUR_MS};
    for (size_t i = 0; i < 2; i++) {
        uint8_t *env = s_seal_ho(ho, T_HO_FIRST_SEQ + 2 + i, created[i], id, &len);
        s_expect_reject(b, ho_raw, env, len, VIGIL__REJECT_CODE__REJECT_CLOCK_SKEW, id);
        free(env);
    }
    /* Too large: a properly signed envelope between 960 KiB and 1 MiB. */
    uint8_t *small = s_seal_ho(ho, T_HO_FIRST_SEQ + 5, 0, id, &len);
    size_t ct = T_BIG_CIPHERTEXT, big_len = 0;
    uint8_t *big =
        rc_envelope_resign(&big_len, small, len, s_edit_grow, &ct, vga_identity_keys(ho), NULL);
    assert_true(big_len > VG_ENVELOPE_MAX_BYTES);
    assert_true(big_len + 64 < VG_FRAME_MAX_BYTES);
    s_expect_reject(b, ho_raw, big, big_len, VIGIL__REJECT_CODE__REJECT_TOO_LARGE, id);
    free(big);
    free(small);
}

/* Envelopes whose bytes or signature are wrong. */
static void
s_badly_signed(const bh_broker *b, rc_client *ho_raw, const vga_identity *ho)
{
    uint8_t id[VG_ALERT_ID_LEN];
    size_t len = 0, bad_len = 0;
    /* Not an envelope at all. */
    static const uint8_t junk[] = "this is not a signed envelope \xff\xff\xff";
    s_expect_reject(b, ho_raw, junk, sizeof junk, VIGIL__REJECT_CODE__REJECT_MALFORMED, NULL);
    /* Forged: one bit of the signature flipped. */
    uint8_t *env = s_seal_ho(ho, T_HO_FIRST_SEQ + 1, 0, id, &len);
    uint8_t *bad = rc_envelope_flip_signature(&bad_len, env, len);
    s_expect_reject(b, ho_raw, bad, bad_len, VIGIL__REJECT_CODE__REJECT_BAD_SIGNATURE, id);
    free(bad);
    free(env);
}

/* Envelopes claiming police, arriving on licensing's connection. */
static void
s_other_agency(const bh_broker *b, rc_client *lic_raw, const vga_identity *police,
               const vga_identity *lic)
{
    uint8_t id[VG_ALERT_ID_LEN];
    size_t len = 0, bad_len = 0;
    const char *to[] = {"childrens-services"};
    rc_seal_spec spec = {.recipients = to, .n_recipients = 1, .category = "other", .sequence = 1};
    uint8_t *env = rc_seal(&len, id, police, &spec);
    /* Signed by police's real key, sent by licensing: sender_mismatch. */
    s_expect_reject(b, lic_raw, env, len, VIGIL__REJECT_CODE__REJECT_SENDER_MISMATCH, id);
    /* Claims police but signed with licensing's key: bad_signature. */
    uint8_t *bad = rc_envelope_resign(&bad_len, env, len, NULL, NULL, vga_identity_keys(lic), NULL);
    s_expect_reject(b, lic_raw, bad, bad_len, VIGIL__REJECT_CODE__REJECT_BAD_SIGNATURE, id);
    free(bad);
    /* Signed by licensing as signer, body says police: sender_mismatch. */
    bad = rc_envelope_resign(&bad_len, env, len, NULL, NULL, vga_identity_keys(lic), "licensing");
    s_expect_reject(b, lic_raw, bad, bad_len, VIGIL__REJECT_CODE__REJECT_SENDER_MISMATCH, id);
    free(bad);
    free(env);
}

/* A frame over VG_FRAME_MAX_BYTES: the connection is dropped, nothing answers. */
static void
s_oversized_frame(rc_client *ho_raw)
{
    size_t n = VG_FRAME_MAX_BYTES + 4096;
    uint8_t *blob = calloc(1, n);
    assert_non_null(blob);
    Vigil__Publish p = VIGIL__PUBLISH__INIT;
    p.signed_envelope.data = blob;
    p.signed_envelope.len = n;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = rc_next_request(ho_raw);
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_PUBLISH;
    f.publish = &p;
    size_t before = rc_watch(ho_raw, 0, false).dropped;
    rc_send_frame(ho_raw, &f);
    free(blob);
    rc_events ev = rc_watch(ho_raw, T_REPLY_MS, true);
    assert_true(ev.dropped > before);
    Vigil__BrokerFrame *reply = rc_recv_reply(ho_raw, f.request_id, T_SILENCE_MS);
    if (reply != NULL) {
        rc_frame_free(reply);
        fail_msg("the broker answered a frame over VG_FRAME_MAX_BYTES");
    }
}

static void
test_bad_input_is_rejected_while_good_agent_is_served(void **state)
{
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    s_good *g = calloc(1, sizeof *g);
    assert_non_null(g);
    g->tx_conf = bh_agent_conf(b, "police");
    g->rx_conf = bh_agent_conf(b, "childrens-services");
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, s_good_main, g), 0);
    char *ho_conf = bh_agent_conf(b, "home-office");
    char *lic_conf = bh_agent_conf(b, "licensing");
    vga_identity *ho = bh_identity(b, "home-office");
    vga_identity *police = bh_identity(b, "police");
    vga_identity *lic = bh_identity(b, "licensing");
    rc_client *ho_raw = rc_new_agency(ho_conf);
    rc_client *lic_raw = rc_new_agency(lic_conf);

    /* home-office's one accepted alert: what replays are measured against. */
    uint8_t first_id[VG_ALERT_ID_LEN];
    size_t len = 0;
    uint8_t *first = s_seal_ho(ho, T_HO_FIRST_SEQ, 0, first_id, &len);
    Vigil__BrokerFrame *f = rc_expect_confirm(ho_raw, rc_publish(ho_raw, first, len), T_REPLY_MS);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    rc_frame_free(f);
    free(first);
    s_good_wait(g, 1);
    size_t rounds_before = atomic_load(&g->rounds);

    s_badly_signed(b, ho_raw, ho);
    s_other_agency(b, lic_raw, police, lic);
    s_signed_but_wrong(b, ho_raw, ho);
    s_oversized_frame(ho_raw);

    /* Nothing the bad frames carried changed the store. */
    assert_int_equal(bh_store_count(b, VGB_COUNT_ALERTS, "home-office"), 1);
    assert_int_equal(bh_store_count(b, VGB_COUNT_ALERTS, "licensing"), 0);
    assert_int_equal(bh_store_count_other(b, VGB_COUNT_ALERTS, "police"), 1);
    /* ... but each rejection was recorded (junk, forged, 3 x other agency,
     * replay, 2 x clock skew, too large). */
    assert_int_equal(bh_store_count(b, VGB_COUNT_REJECTIONS, NULL), 9);
    assert_int_equal(bh_log_count(b, "env.reject", NULL), 9);

    /* The dropped agency reconnects and is served again. */
    uint8_t after_id[VG_ALERT_ID_LEN];
    uint8_t *after = s_seal_ho(ho, T_HO_FIRST_SEQ + 10, 0, after_id, &len);
    f = rc_expect_confirm(ho_raw, rc_publish(ho_raw, after, len), T_REPLY_MS);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    rc_frame_free(f);
    free(after);

    /* The good agent was served meanwhile and still is. */
    size_t rounds_after = atomic_load(&g->rounds);
    s_good_wait(g, rounds_after + T_GOOD_ROUNDS);
    atomic_store(&g->stop, true);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_false(atomic_load(&g->failed));
    assert_true(atomic_load(&g->rounds) > rounds_before);
    int64_t police_alerts = bh_store_count(b, VGB_COUNT_ALERTS, "police");
    assert_int_equal(police_alerts, (int64_t)atomic_load(&g->accepted));
    assert_int_equal(bh_store_count_alerts(b), police_alerts + 2);

    rc_destroy(&ho_raw);
    rc_destroy(&lic_raw);
    vga_identity_destroy(&ho);
    vga_identity_destroy(&police);
    vga_identity_destroy(&lic);
    free(ho_conf);
    free(lic_conf);
    free(g->tx_conf);
    free(g->rx_conf);
    free(g);
    bh_stop(b);
    bh_pass(b);
}

/* ---- unreadable frames ------------------------------------------------------ */

static void
s_free_raw(void *p)
{
    rc_client *c = p;
    rc_destroy(&c);
}

/* A raw client of agency, owned by b (freed by its teardown). */
static rc_client *
s_raw_as(bh_broker *b, const char *agency)
{
    char *conf = bh_agent_conf(b, agency);
    rc_client *c = rc_new_agency(conf);
    free(conf);
    return bh_own(b, c, s_free_raw);
}

static void
s_expect_error_reply(rc_client *c, uint64_t request_id)
{
    Vigil__BrokerFrame *f = rc_recv_reply(c, request_id, T_REPLY_MS);
    if (f == NULL) {
        fail_msg("no ErrorReply to request %llu within %d ms", (unsigned long long)request_id,
                 T_REPLY_MS);
    }
    Vigil__BrokerFrame__KindCase kind = f->kind_case;
    Vigil__RejectCode code = kind == VIGIL__BROKER_FRAME__KIND_ERROR ? f->error->code : 0;
    rc_frame_free(f);
    assert_int_equal(kind, VIGIL__BROKER_FRAME__KIND_ERROR);
    assert_int_equal(code, VIGIL__REJECT_CODE__REJECT_MALFORMED);
}

/* The broker still answers this client: GetNetwork → the signed document. */
static void
s_expect_served(rc_client *c)
{
    Vigil__GetNetwork gn = VIGIL__GET_NETWORK__INIT;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = rc_next_request(c);
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_GET_NETWORK;
    f.get_network = &gn;
    rc_send_frame(c, &f);
    Vigil__BrokerFrame *r = rc_recv_reply(c, f.request_id, T_REPLY_MS);
    assert_non_null(r);
    assert_int_equal(r->kind_case, VIGIL__BROKER_FRAME__KIND_SIGNED_NETWORK);
    rc_frame_free(r);
}

static void
test_malformed_frames_get_error_replies(void **state)
{
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    rc_client *raw = s_raw_as(b, "home-office");
    /* No request id can be read: no reply is due, and the client is still served. */
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x13, 0x37};
    assert_true(rc_send_raw(raw, junk, sizeof junk));
    s_expect_served(raw);
    /* A ClientFrame with a request id and no request in it. */
    Vigil__ClientFrame empty = VIGIL__CLIENT_FRAME__INIT;
    empty.request_id = rc_next_request(raw);
    rc_send_frame(raw, &empty);
    s_expect_error_reply(raw, empty.request_id);
    assert_int_equal(bh_store_count_alerts(b), 0);
    bh_stop(b);
    bh_pass(b);
}

static void
test_unparseable_frame_with_request_id_gets_error_reply(void **state)
{
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    rc_client *raw = s_raw_as(b, "home-office");
    /* A readable request id (field 1 = 42) followed by bytes that do not
     * parse (field 3 with wire type 7): docs/protocol.md promises
     * ErrorReply { REJECT_MALFORMED } "when a request id could be read". */
    static const uint8_t unreadable[] = {0x08, 0x2a, 0x1f, 0x01, 0x02};
    assert_true(rc_send_raw(raw, unreadable, sizeof unreadable));
    s_expect_error_reply(raw, 42);
    s_expect_served(raw);
    bh_stop(b);
    bh_pass(b);
}

static void
test_multipart_message_gets_error_reply(void **state)
{
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    rc_client *raw = s_raw_as(b, "home-office");
    /* A well-formed request followed by a second frame in the same message:
     * the broker refuses it ("send exactly one frame per message"); the
     * request id of the first frame is readable, so the refusal must reach
     * the client. */
    Vigil__GetNetwork gn = VIGIL__GET_NETWORK__INIT;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = rc_next_request(raw);
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_GET_NETWORK;
    f.get_network = &gn;
    uint8_t first[64];
    size_t first_len = vigil__client_frame__get_packed_size(&f);
    assert_true(first_len <= sizeof first);
    vigil__client_frame__pack(&f, first);
    const void *parts[] = {first, "extra"};
    const size_t lens[] = {first_len, 5};
    assert_true(rc_send_parts(raw, parts, lens, 2));
    s_expect_error_reply(raw, f.request_id);
    s_expect_served(raw);
    bh_stop(b);
    bh_pass(b);
}

/* ---- unknown transport key ------------------------------------------------- */

static void
test_unknown_transport_key_never_reaches_the_broker(void **state)
{
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    char *conf = bh_agent_conf(b, "police");
    vga_identity *police = bh_identity(b, "police");
    const char *to[] = {"licensing"};
    rc_seal_spec spec = {.recipients = to, .n_recipients = 1, .category = "other", .sequence = 1};
    size_t len = 0;
    uint8_t id[VG_ALERT_ID_LEN];
    uint8_t *env = rc_seal(&len, id, police, &spec);
    rc_client *stranger = rc_new_unknown(conf);
    (void)rc_publish(stranger, env, len);
    Vigil__BrokerFrame *f = rc_recv(stranger, T_SILENCE_MS);
    if (f != NULL) {
        rc_frame_free(f);
        fail_msg("a client with an unknown transport key got a reply");
    }
    rc_events ev = rc_watch(stranger, 0, false);
    assert_int_equal(ev.handshakes, 0);
    assert_true(ev.auth_failed >= 1);
    assert_true(bh_log_count(b, "zap.deny", "reason=unknown_key") >= 1);
    assert_int_equal(bh_log_count(b, "env.", NULL), 0);
    assert_int_equal(bh_log_count(b, "frame.", NULL), 0);
    assert_int_equal(bh_log_count(b, "agency.online", NULL), 0);
    assert_int_equal(bh_store_count_alerts(b), 0);
    assert_int_equal(bh_store_count(b, VGB_COUNT_REJECTIONS, NULL), 0);
    rc_destroy(&stranger);
    free(env);
    free(conf);
    vga_identity_destroy(&police);
    bh_stop(b);
    bh_pass(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_bad_input_is_rejected_while_good_agent_is_served,
                                  s_teardown),
        cmocka_unit_test_teardown(test_unknown_transport_key_never_reaches_the_broker, s_teardown),
        cmocka_unit_test_teardown(test_malformed_frames_get_error_replies, s_teardown),
        cmocka_unit_test_teardown(test_unparseable_frame_with_request_id_gets_error_reply,
                                  s_teardown),
        cmocka_unit_test_teardown(test_multipart_message_gets_error_reply, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
