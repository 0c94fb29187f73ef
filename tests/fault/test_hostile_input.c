/*
 * test_hostile_input.c — issue 7 item 5: hostile frames from an
 * authenticated agency, against the real broker on 127.0.0.1, while a good
 * agency keeps publishing and receiving.
 *
 * home-office (a raw client, rawclient.h) sends every single-byte flip and
 * every truncation of a valid signed envelope, wrong wire types, huge
 * varints and lengths, 10,000-element repeated fields, oversized frames,
 * multi-part messages, replays of a captured frame before and after a
 * restart, envelopes naming another agency and a reused sequence number.
 * Frames are pipelined in chunks and the replies collected by request id.
 * Each must get its rejection code (or, where docs/protocol.md says so, be
 * dropped); the store must hold exactly what was accepted and one rejection
 * row per rejected envelope; the broker's VmRSS must not grow beyond
 * T_RSS_GROWTH_KIB; police → childrens-services (the agent library, one
 * thread) must keep at least half its round-trip rate and have every alert
 * confirmed and delivered. The other tests: a revoked agency (its handshake
 * fails after the broker restarts on the re-signed document) and a bad
 * network document or key file at start (refused with a clear message, the
 * store untouched). Prints "hostile inputs tried: N".
 */
#define _GNU_SOURCE

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "broker_harness.h"
#include "fault_util.h"
#include "itest.h"
#include "rawclient.h"
#include "vigil/agent.h"
#include "vigil/envelope.h"
#include "vigil/util.h"

#define T_REPLY_MS 5000    /* longest wait for a reply */
#define T_SILENCE_MS 1500  /* "no reply" means none within this */
#define T_BASELINE_MS 3000 /* good traffic measured alone this long */
#define T_CHUNK 200        /* frames in flight at once */
#define T_HO_SEQ 100       /* home-office's accepted sequence */
#define T_MANY 10000       /* elements of a hostile repeated field */
#define T_RQ_RAW 900000    /* request ids of hand-built frames start here */
#define T_N_CODES 16       /* RejectCode values tallied */
#define T_HO_ACCEPTED 2    /* home-office alerts the sweep leaves stored */
/* ASan's quarantine (16 MiB here, s_small_quarantine) and shadow memory
 * grow with every free; the bound allows for them. */
#ifdef VG_FAULT_SANITIZED
#define T_RSS_GROWTH_KIB (64 * 1024)
#else
#define T_RSS_GROWTH_KIB (16 * 1024)
#endif

static int
s_teardown(void **state)
{
    bh_destroy((bh_broker **)state);
    return 0;
}

static void
s_small_quarantine(void)
{
    char opts[512];
    const char *old = getenv("ASAN_OPTIONS");
    snprintf(opts, sizeof opts, "%s%squarantine_size_mb=16", old ? old : "",
             old && old[0] ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
}

/* ---- the concurrent good agency ----------------------------------------------- */

typedef struct s_good {
    char *tx_conf;          /* police: publishes */
    char *rx_conf;          /* childrens-services: receives */
    atomic_bool stop;       /* set by the test thread */
    atomic_size_t rounds;   /* publish → confirm → delivery round trips */
    atomic_size_t accepted; /* alerts the broker confirmed */
    atomic_bool failed;     /* a round went wrong; what says how */
    char what[VG_REASON_MAX + 64];
} s_good;

static void
s_good_fail(s_good *g, const char *step, vg_err rc, const vg_reason *why)
{
    snprintf(g->what, sizeof g->what, "%s: %s: %s", step, vg_err_code(rc), why->text);
    atomic_store(&g->failed, true);
}

/* One round: publish to childrens-services, confirmed, then received there. */
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
    memset(&res, 0, sizeof res);
    if (rc == VG_OK) {
        rc = vga_publish(tx, &alert, T_REPLY_MS, &res, &why);
    }
    vg_strlist_fini(&alert.categories);
    vg_strlist_fini(&alert.recipients);
    if (rc != VG_OK) {
        vga_confirm_fini(&res);
        s_good_fail(g, "good publish", rc, &why);
        return false;
    }
    atomic_fetch_add(&g->accepted, 1);
    vg_alert got;
    memset(&got, 0, sizeof got);
    rc = vga_receive(rx, T_REPLY_MS, &got, &why);
    bool same = rc == VG_OK && memcmp(got.id, res.alert_id, VG_ALERT_ID_LEN) == 0;
    vg_alert_fini(&got);
    vga_confirm_fini(&res);
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

static void
s_good_check(s_good *g)
{
    if (atomic_load(&g->failed)) {
        fail_msg("the good agency failed: %s", g->what);
    }
}

/* ---- the hostile sender ---------------------------------------------------------- */

typedef struct s_run {
    bh_broker *b;            /* the broker */
    rc_client *ho;           /* home-office's raw connection */
    vga_identity *ho_id;     /* home-office's keys and document */
    size_t tried;            /* hostile inputs sent */
    size_t env_rejected;     /* Confirm REJECTED to a Publish: one rejection row each */
    size_t codes[T_N_CODES]; /* Confirm REJECTED by code */
    size_t errors;           /* ErrorReply MALFORMED */
    size_t dropped_silently; /* frames with no readable request id: no reply due */
} s_run;

/* Bit mask of RejectCodes. */
#define S_CODE(c) (1u << (VIGIL__REJECT_CODE__REJECT_##c))

static Vigil__BrokerFrame *
s_reply_for(rc_client *c, uint64_t rq)
{
    Vigil__BrokerFrame *f = rc_recv_reply(c, rq, T_REPLY_MS);
    if (f == NULL) {
        fail_msg("no reply to request %llu within %d ms", (unsigned long long)rq, T_REPLY_MS);
    }
    return f;
}

/* Records a Confirm to a hostile Publish: it must be REJECTED with a code
 * in `allowed`. */
static void
s_tally_confirm(s_run *r, const Vigil__BrokerFrame *f, unsigned allowed, const char *what, size_t i)
{
    if (f->kind_case != VIGIL__BROKER_FRAME__KIND_CONFIRM) {
        fail_msg("%s #%zu: reply kind %d, expected a Confirm", what, i, (int)f->kind_case);
    }
    const Vigil__Confirm *c = f->confirm;
    if (c->status != VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED || (unsigned)c->code >= T_N_CODES ||
        (allowed & (1u << c->code)) == 0) {
        fail_msg("%s #%zu: status %d code %d (%s), expected a rejection in mask 0x%x", what, i,
                 (int)c->status, (int)c->code, c->reason, allowed);
    }
    assert_true(c->reason != NULL && c->reason[0] != '\0');
    r->codes[c->code]++;
    r->env_rejected++;
}

/* Publishes each of n envelopes (pipelined, T_CHUNK at a time) and checks
 * every Confirm. */
static void
s_publish_all(s_run *r, uint8_t *const *envs, const size_t *lens, size_t n, unsigned allowed,
              const char *what)
{
    for (size_t at = 0; at < n; at += T_CHUNK) {
        size_t k = n - at < T_CHUNK ? n - at : T_CHUNK;
        uint64_t first = 0;
        for (size_t i = 0; i < k; i++) {
            uint64_t rq = rc_publish(r->ho, envs[at + i], lens[at + i]);
            first = i == 0 ? rq : first;
            assert_int_equal(rq, first + i);
            r->tried++;
        }
        bool *seen = calloc(k, 1);
        assert_non_null(seen);
        size_t got = 0;
        int64_t end = bh_now_ms() + T_REPLY_MS + (int64_t)k * 20;
        while (got < k && bh_now_ms() < end) {
            Vigil__BrokerFrame *f = rc_recv(r->ho, end - bh_now_ms());
            if (f == NULL) {
                break;
            }
            uint64_t rq = f->request_id;
            if (rq >= first && rq < first + k && !seen[rq - first]) {
                s_tally_confirm(r, f, allowed, what, at + (size_t)(rq - first));
                seen[rq - first] = true;
                got++;
            }
            rc_frame_free(f);
        }
        free(seen);
        if (got < k) {
            fail_msg("%s: %zu of %zu replies came", what, got, k);
        }
    }
}

static uint8_t *
s_seal_ho(const s_run *r, uint64_t seq, uint8_t *id, size_t *len)
{
    const char *to[] = {"police"};
    rc_seal_spec spec = {.recipients = to, .n_recipients = 1, .category = "other", .sequence = seq};
    return rc_seal(len, id, r->ho_id, &spec);
}

/* Every single-byte flip (^0x01 and ^0xff at each position) and every
 * truncation of a valid envelope that was never sent. */
static void
s_flips_and_truncations(s_run *r)
{
    uint8_t id[VG_ALERT_ID_LEN];
    size_t len = 0;
    uint8_t *env = s_seal_ho(r, T_HO_SEQ + 1, id, &len);
    size_t n = 2 * len;
    uint8_t **envs = calloc(n, sizeof *envs);
    size_t *lens = calloc(n, sizeof *lens);
    assert_true(envs != NULL && lens != NULL);
    for (size_t i = 0; i < n; i++) {
        envs[i] = malloc(len);
        assert_non_null(envs[i]);
        memcpy(envs[i], env, len);
        envs[i][i / 2] ^= (i % 2) ? 0xff : 0x01;
        lens[i] = len;
    }
    unsigned broken = S_CODE(BAD_SIGNATURE) | S_CODE(MALFORMED) | S_CODE(UNKNOWN_SENDER) |
                      S_CODE(SENDER_MISMATCH);
    s_publish_all(r, envs, lens, n, broken, "byte flip");
    for (size_t i = 0; i < len; i++) {
        lens[i] = i; /* truncated to i bytes */
        memcpy(envs[i], env, len);
    }
    s_publish_all(r, envs, lens, len, broken, "truncation");
    for (size_t i = 0; i < n; i++) {
        free(envs[i]);
    }
    free(envs);
    free(lens);
    assert_false(bh_store_has_alert(r->b, id));
    /* The untouched envelope is still fresh: no flip consumed its id or sequence. */
    Vigil__BrokerFrame *f = rc_expect_confirm(r->ho, rc_publish(r->ho, env, len), T_REPLY_MS);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    rc_frame_free(f);
    free(env);
}

/* ---- hand-built frames --------------------------------------------------------- */

typedef struct s_frame {
    uint8_t bytes[64]; /* the frame */
    size_t len;        /* its length */
} s_frame;

static size_t
s_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/* Appends to f: field 1 (request id) = rq, then the tail bytes. */
static void
s_frame_make(s_frame *f, uint64_t rq, const void *tail, size_t tail_len)
{
    f->len = 0;
    f->bytes[f->len++] = 0x08;
    f->len += s_varint(f->bytes + f->len, rq);
    assert_true(f->len + tail_len <= sizeof f->bytes);
    memcpy(f->bytes + f->len, tail, tail_len);
    f->len += tail_len;
}

/* ClientFrames that do not parse but whose request id is readable: each
 * gets ErrorReply { REJECT_MALFORMED } (docs/protocol.md). */
static void
s_wrong_wire_types(s_run *r)
{
    static const struct {
        const char *what;
        uint8_t tail[24];
        size_t len;
    } cases[] = {
        {"publish as varint", {0x18, 0x01}, 2},
        {"publish as fixed32", {0x1d, 1, 2, 3, 4}, 5},
        {"publish as fixed64", {0x19, 1, 2, 3, 4, 5, 6, 7, 8}, 9},
        {"publish as group", {0x1b, 0x1c}, 2},
        {"wire type 6", {0x1e, 0x00}, 2},
        {"wire type 7", {0x1f, 0x00}, 2},
        {"hello as varint", {0x10, 0x05}, 2},
        {"query as fixed32", {0x3d, 0, 0, 0, 0}, 5},
        {"publish length 2^64-1",
         {0x1a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
         11},
        {"publish length 2^31", {0x1a, 0x80, 0x80, 0x80, 0x80, 0x08, 'x', 'y'}, 8},
        {"publish length past end", {0x1a, 0x7f, 'x'}, 3},
        {"overlong varint field",
         {0x30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
         12},
        {"truncated varint", {0x10, 0xff}, 2},
        {"field number 0", {0x02, 0x00}, 2},
        {"tag past 2^32", {0xff, 0xff, 0xff, 0xff, 0x7f, 0x00}, 6},
    };
    size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++) {
        s_frame f;
        s_frame_make(&f, T_RQ_RAW + i, cases[i].tail, cases[i].len);
        assert_true(rc_send_raw(r->ho, f.bytes, f.len));
        r->tried++;
    }
    for (size_t i = 0; i < n; i++) {
        Vigil__BrokerFrame *f = s_reply_for(r->ho, T_RQ_RAW + i);
        if (f->kind_case != VIGIL__BROKER_FRAME__KIND_ERROR ||
            f->error->code != VIGIL__REJECT_CODE__REJECT_MALFORMED) {
            fail_msg("%s: reply kind %d, expected ErrorReply MALFORMED", cases[i].what,
                     (int)f->kind_case);
        }
        r->errors++;
        rc_frame_free(f);
    }
}

/* Frames whose request id cannot be read: no reply is due; the sender is
 * still served afterwards. Returns how many were sent. */
static void
s_unreadable_ids(s_run *r)
{
    static const uint8_t cases[][16] = {
        {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, /* 12 */
        {0x0a, 0x02, 0x01, 0x02},                                                       /* 4 */
        {0x08},                                                                         /* 1 */
        {0xff, 0xff, 0xff, 0xff, 0xff},                                                 /* 5 */
    };
    static const size_t lens[] = {12, 4, 1, 5};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        assert_true(rc_send_raw(r->ho, cases[i], lens[i]));
        r->tried++;
        r->dropped_silently++;
    }
    assert_true(rc_send_raw(r->ho, "", 0));
    r->tried++;
    r->dropped_silently++;
}

/* Envelopes (inside well-formed Publish frames) with wrong wire types and
 * huge lengths, unsigned and signed through to reach the body parser. */
static void
s_bad_envelopes(s_run *r)
{
    static const struct {
        uint8_t bytes[24];
        size_t len;
    } outer[] = {
        {{0x08, 0x01}, 2},                               /* body as varint */
        {{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 'x'}, 7},  /* body length 2^32-1 */
        {{0x0a, 0x00, 0x10, 0x05}, 4},                   /* signature as varint */
        {{0x0a, 0x00, 0x12, 0x00, 0x1d, 1, 2, 3, 4}, 9}, /* signer as fixed32 */
        {{0x0a, 0x01}, 2},                               /* body cut short */
        {{0x0b, 0x0c}, 2},                               /* body as group */
        {{0x0a, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 12},
    };
    size_t n_outer = sizeof outer / sizeof outer[0];
    /* Bodies signed by home-office: the signature verifies, the body does not parse
     * or is incomplete. */
    static const struct {
        uint8_t bytes[24];
        size_t len;
    } bodies[] = {
        {{0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 11}, /* seq 2^64-1 */
        {{0x1a, 0x02, 'a', 'b'}, 4},                                              /* seq as bytes */
        {{0x0a, 0x10}, 2},                         /* alert id cut short */
        {{0x4a, 0xff, 0xff, 0xff, 0xff, 0x07}, 6}, /* category length 2^31-1 */
        {{0x52, 0x03, 0x0a, 0x7f, 0x00}, 5},       /* recipient cut short */
        {{0x12, 0x0b, 'h', 'o', 'm', 'e', '-', 'o', 'f', 'f', 'i', 'c', 'e'}, 13}, /* sender only */
        {{0}, 0},                                                                  /* empty body */
    };
    size_t n_bodies = sizeof bodies / sizeof bodies[0];
    size_t n = n_outer + n_bodies;
    uint8_t **envs = calloc(n, sizeof *envs);
    size_t *lens = calloc(n, sizeof *lens);
    assert_true(envs != NULL && lens != NULL);
    for (size_t i = 0; i < n_outer; i++) {
        envs[i] = malloc(outer[i].len);
        assert_non_null(envs[i]);
        memcpy(envs[i], outer[i].bytes, outer[i].len);
        lens[i] = outer[i].len;
    }
    for (size_t i = 0; i < n_bodies; i++) {
        uint8_t sig[VG_SIGNATURE_LEN];
        assert_int_equal(vg_sign(sig, vga_identity_keys(r->ho_id), VG_DOMAIN_ENVELOPE,
                                 bodies[i].bytes, bodies[i].len),
                         VG_OK);
        Vigil__SignedEnvelope se = VIGIL__SIGNED_ENVELOPE__INIT;
        se.body.data = (uint8_t *)bodies[i].bytes;
        se.body.len = bodies[i].len;
        se.signature.data = sig;
        se.signature.len = sizeof sig;
        se.signer = "home-office";
        size_t k = n_outer + i;
        lens[k] = vigil__signed_envelope__get_packed_size(&se);
        envs[k] = malloc(lens[k]);
        assert_non_null(envs[k]);
        vigil__signed_envelope__pack(&se, envs[k]);
    }
    /* A signed body without the sender's name is a sender mismatch. */
    s_publish_all(r, envs, lens, n,
                  S_CODE(MALFORMED) | S_CODE(BAD_SIGNATURE) | S_CODE(SENDER_MISMATCH),
                  "bad envelope");
    for (size_t i = 0; i < n; i++) {
        free(envs[i]);
    }
    free(envs);
    free(lens);
}

/* ---- 10,000-element repeated fields ------------------------------------------------ */

static void
s_edit_many_categories(Vigil__EnvelopeBody *body, void *ctx)
{
    (void)ctx;
    for (size_t i = 0; i < body->n_categories; i++) {
        free(body->categories[i]);
    }
    free(body->categories);
    body->categories = calloc(T_MANY, sizeof *body->categories);
    assert_non_null(body->categories);
    for (size_t i = 0; i < T_MANY; i++) {
        body->categories[i] = strdup("other");
        assert_non_null(body->categories[i]);
    }
    body->n_categories = T_MANY;
}

static void
s_edit_many_recipients(Vigil__EnvelopeBody *body, void *ctx)
{
    (void)ctx;
    assert_true(body->n_recipients >= 1);
    Vigil__SealedKey *first = body->recipients[0];
    Vigil__SealedKey **many = calloc(T_MANY, sizeof *many);
    assert_non_null(many);
    for (size_t i = 0; i < T_MANY; i++) {
        many[i] = malloc(sizeof *many[i]);
        assert_non_null(many[i]);
        vigil__sealed_key__init(many[i]);
        many[i]->agency = strdup(i % 2 ? "police" : "licensing");
        many[i]->sealed_key.data = malloc(first->sealed_key.len);
        assert_true(many[i]->agency != NULL && many[i]->sealed_key.data != NULL);
        memcpy(many[i]->sealed_key.data, first->sealed_key.data, first->sealed_key.len);
        many[i]->sealed_key.len = first->sealed_key.len;
    }
    for (size_t i = 0; i < body->n_recipients; i++) {
        vigil__sealed_key__free_unpacked(body->recipients[i], NULL);
    }
    free(body->recipients);
    body->recipients = many;
    body->n_recipients = T_MANY;
}

static void
s_edit_many_references(Vigil__EnvelopeBody *body, void *ctx)
{
    (void)ctx;
    body->references = calloc(T_MANY, sizeof *body->references);
    assert_non_null(body->references);
    for (size_t i = 0; i < T_MANY; i++) {
        body->references[i].data = calloc(1, VG_ALERT_ID_LEN);
        assert_non_null(body->references[i].data);
        body->references[i].data[0] = (uint8_t)i;
        body->references[i].data[1] = (uint8_t)(i >> 8);
        body->references[i].len = VG_ALERT_ID_LEN;
    }
    body->n_references = T_MANY;
}

/* A ClientFrame of T_MANY Hello fields and then a Publish: protobuf-c keeps
 * the last oneof member; the broker must still answer once. */
static void
s_many_repeated(s_run *r)
{
    uint8_t id[VG_ALERT_ID_LEN];
    size_t len = 0;
    uint8_t *env = s_seal_ho(r, T_HO_SEQ + 2, id, &len);
    rc_body_edit edits[] = {s_edit_many_categories, s_edit_many_recipients, s_edit_many_references};
    uint8_t *envs[3];
    size_t lens[3];
    for (size_t i = 0; i < 3; i++) {
        envs[i] = rc_envelope_resign(&lens[i], env, len, edits[i], NULL,
                                     vga_identity_keys(r->ho_id), NULL);
    }
    /* 10,000 categories, recipients or references (VG_REFERENCES_MAX): each
     * refused, nothing stored. */
    s_publish_all(r, envs, lens, 3, S_CODE(MALFORMED) | S_CODE(TOO_LARGE), "10,000 elements");
    assert_false(bh_store_has_alert(r->b, id));
    for (size_t i = 0; i < 3; i++) {
        free(envs[i]);
    }
    free(env);
    /* Unknown repeated field 15 (varint) 10,000 times around a GetNetwork. */
    size_t cap = 16 + 2 * T_MANY;
    uint8_t *frame = malloc(cap);
    assert_non_null(frame);
    size_t n = 0;
    uint64_t rq = rc_next_request(r->ho);
    frame[n++] = 0x08;
    n += s_varint(frame + n, rq);
    for (size_t i = 0; i < T_MANY; i++) {
        frame[n++] = 0x78; /* field 15, varint */
        frame[n++] = 0x01;
    }
    frame[n++] = 0x32; /* get_network, empty */
    frame[n++] = 0x00;
    assert_true(rc_send_raw(r->ho, frame, n));
    r->tried++;
    free(frame);
    Vigil__BrokerFrame *f = s_reply_for(r->ho, rq);
    assert_int_equal(f->kind_case, VIGIL__BROKER_FRAME__KIND_SIGNED_NETWORK);
    rc_frame_free(f);
}

/* ---- frame-level abuse ------------------------------------------------------------- */

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
    Vigil__BrokerFrame *r = rc_recv_reply(c, f.request_id, 2 * T_REPLY_MS);
    if (r == NULL) {
        fail_msg("the client was not served again within %d ms", 2 * T_REPLY_MS);
    }
    assert_int_equal(r->kind_case, VIGIL__BROKER_FRAME__KIND_SIGNED_NETWORK);
    rc_frame_free(r);
}

/* A Publish frame of exactly total bytes: dropped with the connection,
 * never answered; the client reconnects and is served. */
static void
s_oversized(s_run *r, size_t total)
{
    Vigil__Publish p = VIGIL__PUBLISH__INIT;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = rc_next_request(r->ho);
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_PUBLISH;
    f.publish = &p;
    size_t blob = total - 16;
    uint8_t *data = calloc(1, total);
    assert_non_null(data);
    p.signed_envelope.data = data;
    for (int i = 0; i < 8; i++) { /* the varint lengths settle in a step or two */
        p.signed_envelope.len = blob;
        size_t packed = vigil__client_frame__get_packed_size(&f);
        blob = blob + total - packed;
    }
    p.signed_envelope.len = blob;
    assert_int_equal(vigil__client_frame__get_packed_size(&f), total);
    size_t before = rc_watch(r->ho, 0, false).dropped;
    rc_send_frame(r->ho, &f);
    r->tried++;
    free(data);
    /* rc_watch's stop_when_dropped stops at the first drop ever seen: poll. */
    rc_events ev = rc_watch(r->ho, 0, false);
    for (int64_t end = bh_now_ms() + T_REPLY_MS; ev.dropped <= before && bh_now_ms() < end;) {
        ev = rc_watch(r->ho, 50, false);
    }
    if (ev.dropped <= before) {
        fail_msg("a %zu-byte frame (limit %d) did not drop the connection", total,
                 VG_FRAME_MAX_BYTES);
    }
    Vigil__BrokerFrame *reply = rc_recv_reply(r->ho, f.request_id, T_SILENCE_MS);
    if (reply != NULL) {
        rc_frame_free(reply);
        fail_msg("the broker answered a %zu-byte frame", total);
    }
    s_expect_served(r->ho);
}

/* Two and three frames in one message: ErrorReply MALFORMED to the first's id. */
static void
s_multipart(s_run *r)
{
    for (size_t parts = 2; parts <= 3; parts++) {
        Vigil__GetNetwork gn = VIGIL__GET_NETWORK__INIT;
        Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
        f.request_id = rc_next_request(r->ho);
        f.kind_case = VIGIL__CLIENT_FRAME__KIND_GET_NETWORK;
        f.get_network = &gn;
        uint8_t first[32];
        size_t first_len = vigil__client_frame__get_packed_size(&f);
        assert_true(first_len <= sizeof first);
        vigil__client_frame__pack(&f, first);
        const void *p[] = {first, first, "extra"};
        const size_t l[] = {first_len, first_len, 5};
        assert_true(rc_send_parts(r->ho, p, l, parts));
        r->tried++;
        Vigil__BrokerFrame *reply = s_reply_for(r->ho, f.request_id);
        assert_int_equal(reply->kind_case, VIGIL__BROKER_FRAME__KIND_ERROR);
        assert_int_equal(reply->error->code, VIGIL__REJECT_CODE__REJECT_MALFORMED);
        r->errors++;
        rc_frame_free(reply);
    }
}

/* Envelopes in another agency's name, and a reused sequence number. */
static void
s_impostors(s_run *r, rc_client *lic_raw, const vga_identity *police)
{
    uint8_t id[VG_ALERT_ID_LEN];
    size_t len = 0, bad_len = 0;
    const char *to[] = {"childrens-services"};
    rc_seal_spec spec = {.recipients = to, .n_recipients = 1, .category = "other", .sequence = 7};
    uint8_t *env = rc_seal(&len, id, police, &spec);
    /* police's envelope on home-office's connection. */
    uint8_t *envs[3];
    size_t lens[3];
    envs[0] = env;
    lens[0] = len;
    /* police's body signed with home-office's key, signer police / home-office. */
    envs[1] = rc_envelope_resign(&lens[1], env, len, NULL, NULL, vga_identity_keys(r->ho_id), NULL);
    envs[2] = rc_envelope_resign(&bad_len, env, len, NULL, NULL, vga_identity_keys(r->ho_id),
                                 "home-office");
    lens[2] = bad_len;
    s_publish_all(r, envs, lens, 3, S_CODE(SENDER_MISMATCH) | S_CODE(BAD_SIGNATURE),
                  "another agency's name");
    free(envs[1]);
    free(envs[2]);
    /* ... and on licensing's connection, too. */
    Vigil__BrokerFrame *f = rc_expect_confirm(lic_raw, rc_publish(lic_raw, env, len), T_REPLY_MS);
    r->tried++;
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED);
    assert_int_equal(f->confirm->code, VIGIL__REJECT_CODE__REJECT_SENDER_MISMATCH);
    r->codes[f->confirm->code]++;
    r->env_rejected++;
    rc_frame_free(f);
    assert_false(bh_store_has_alert(r->b, id));
    free(env);
    /* A fresh envelope (new id) reusing the accepted sequence number. */
    uint8_t *reused = s_seal_ho(r, T_HO_SEQ, id, &len);
    s_publish_all(r, &reused, &len, 1, S_CODE(REPLAY), "reused sequence");
    assert_false(bh_store_has_alert(r->b, id));
    free(reused);
}

/* Sends the captured frame again as it is: Confirm DUPLICATE, nothing new stored. */
static void
s_replay_captured(s_run *r, const uint8_t *frame, size_t len, uint64_t rq)
{
    /* home-office's own: the good agency keeps adding police's meanwhile. */
    int64_t alerts = bh_store_count(r->b, VGB_COUNT_ALERTS, "home-office");
    assert_true(rc_send_raw(r->ho, frame, len));
    r->tried++;
    Vigil__BrokerFrame *f = s_reply_for(r->ho, rq);
    assert_int_equal(f->kind_case, VIGIL__BROKER_FRAME__KIND_CONFIRM);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE);
    rc_frame_free(f);
    assert_int_equal(bh_store_count(r->b, VGB_COUNT_ALERTS, "home-office"), alerts);
}

/* ---- the sweep ----------------------------------------------------------------------- */

static void
s_hostile_sweep(s_run *r, rc_client *lic_raw, const vga_identity *police)
{
    s_flips_and_truncations(r);
    s_wrong_wire_types(r);
    s_unreadable_ids(r);
    s_expect_served(r->ho);
    s_bad_envelopes(r);
    s_many_repeated(r);
    s_multipart(r);
    s_impostors(r, lic_raw, police);
    s_oversized(r, 2 * VG_FRAME_MAX_BYTES);
    s_oversized(r, VG_FRAME_MAX_BYTES + 1);
}

static uint8_t *
s_capture(const uint8_t *env, size_t len, uint64_t rq, size_t *out_len)
{
    Vigil__Publish p = VIGIL__PUBLISH__INIT;
    p.signed_envelope.data = (uint8_t *)env;
    p.signed_envelope.len = len;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = rq;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_PUBLISH;
    f.publish = &p;
    *out_len = vigil__client_frame__get_packed_size(&f);
    uint8_t *frame = malloc(*out_len);
    assert_non_null(frame);
    vigil__client_frame__pack(&f, frame);
    return frame;
}

static double
s_rate(size_t rounds, int64_t ms)
{
    return ms > 0 ? 1000.0 * (double)rounds / (double)ms : 0.0;
}

static void
s_print_codes(const s_run *r)
{
    printf("hostile: rejections by code:");
    for (size_t i = 0; i < T_N_CODES; i++) {
        if (r->codes[i] > 0) {
            printf(
                " %s=%zu",
                protobuf_c_enum_descriptor_get_value(&vigil__reject_code__descriptor, (int)i)->name,
                r->codes[i]);
        }
    }
    printf("; error replies=%zu; unanswerable frames=%zu\n", r->errors, r->dropped_silently);
}

static void
test_hostile_frames_are_rejected_while_a_good_agency_is_served(void **state)
{
    s_small_quarantine();
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    s_run r = {.b = b};
    char *ho_conf = bh_agent_conf(b, "home-office");
    char *lic_conf = bh_agent_conf(b, "licensing");
    r.ho_id = bh_identity(b, "home-office");
    vga_identity *police = bh_identity(b, "police");
    r.ho = rc_new_agency(ho_conf);
    rc_client *lic_raw = rc_new_agency(lic_conf);

    /* home-office's accepted alert, and the frame that carried it, captured. */
    uint8_t first_id[VG_ALERT_ID_LEN];
    size_t len = 0, cap_len = 0;
    uint8_t *first = s_seal_ho(&r, T_HO_SEQ, first_id, &len);
    uint64_t cap_rq = rc_next_request(r.ho);
    uint8_t *captured = s_capture(first, len, cap_rq, &cap_len);
    assert_true(rc_send_raw(r.ho, captured, cap_len));
    Vigil__BrokerFrame *f = s_reply_for(r.ho, cap_rq);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    rc_frame_free(f);
    free(first);

    s_good *g = calloc(1, sizeof *g);
    assert_non_null(g);
    g->tx_conf = bh_agent_conf(b, "police");
    g->rx_conf = bh_agent_conf(b, "childrens-services");
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, s_good_main, g), 0);
    /* Baseline: the good agency alone. */
    int64_t t0 = bh_now_ms();
    while (atomic_load(&g->rounds) == 0 && bh_now_ms() < t0 + 2 * T_REPLY_MS) {
        bh_sleep_ms(10);
    }
    s_good_check(g);
    int64_t t1 = bh_now_ms();
    size_t n1 = atomic_load(&g->rounds);
    bh_sleep_ms(T_BASELINE_MS);
    s_good_check(g);
    int64_t t2 = bh_now_ms();
    size_t n2 = atomic_load(&g->rounds);
    int64_t rss_before = fu_rss_kib(b->pid);
    int64_t rejections_before = bh_store_count(b, VGB_COUNT_REJECTIONS, NULL);

    s_hostile_sweep(&r, lic_raw, police);
    s_replay_captured(&r, captured, cap_len, cap_rq);

    int64_t t3 = bh_now_ms();
    size_t n3 = atomic_load(&g->rounds);
    int64_t rss_after = fu_rss_kib(b->pid);
    /* The good agency alone again: the machine's load (other tests, builds)
     * may change while the test runs, and the rate alone is taken as the
     * lower of the two windows around the sweep, so that only what the
     * hostile input does counts against the broker. */
    bh_sleep_ms(T_BASELINE_MS);
    int64_t t4 = bh_now_ms();
    size_t n4 = atomic_load(&g->rounds);
    atomic_store(&g->stop, true);
    assert_int_equal(pthread_join(th, NULL), 0);
    s_good_check(g);
    double before = s_rate(n2 - n1, t2 - t1), after = s_rate(n4 - n3, t4 - t3);
    double base = before < after ? before : after, during = s_rate(n3 - n2, t3 - t2);
    printf("hostile: good agency %.1f round trips/s alone before, %.1f after, %.1f during %lld ms "
           "of hostile input (%.0f%% of the lower)\n",
           before, after, during, (long long)(t3 - t2), base > 0 ? 100.0 * during / base : 0.0);
    printf("hostile: broker VmRSS %lld KiB before, %lld KiB after (bound: growth < %d KiB)\n",
           (long long)rss_before, (long long)rss_after, T_RSS_GROWTH_KIB);
    s_print_codes(&r);
    assert_true(n2 > n1);
    assert_true(during >= 0.5 * base);
    assert_true(rss_before > 0 && rss_after > 0);
    assert_true(rss_after - rss_before < T_RSS_GROWTH_KIB);

    /* The store: home-office's two accepted alerts (the first and the
     * untouched envelope after the flips), every good
     * alert, nothing else;
     * one rejection row per rejected envelope. */
    assert_int_equal(bh_store_count(b, VGB_COUNT_ALERTS, "home-office"), T_HO_ACCEPTED);
    assert_int_equal(bh_store_count(b, VGB_COUNT_ALERTS, "licensing"), 0);
    assert_int_equal(bh_store_count(b, VGB_COUNT_ALERTS, "police"),
                     (int64_t)atomic_load(&g->accepted));
    assert_int_equal(bh_store_count_alerts(b), (int64_t)atomic_load(&g->accepted) + T_HO_ACCEPTED);
    assert_int_equal(bh_store_count(b, VGB_COUNT_REJECTIONS, NULL) - rejections_before,
                     (int64_t)r.env_rejected);

    /* After a restart: the captured frame is still a DUPLICATE, the reused
     * sequence still a REPLAY (the per-sender state survived). */
    bh_stop(b);
    bh_start(b);
    s_expect_served(r.ho);
    s_replay_captured(&r, captured, cap_len, cap_rq);
    uint8_t id[VG_ALERT_ID_LEN];
    uint8_t *reused = s_seal_ho(&r, T_HO_SEQ, id, &len);
    s_publish_all(&r, &reused, &len, 1, S_CODE(REPLAY), "reused sequence after restart");
    free(reused);
    assert_int_equal(bh_store_count_alerts(b), (int64_t)atomic_load(&g->accepted) + T_HO_ACCEPTED);
    printf("hostile inputs tried: %zu\n", r.tried);

    free(captured);
    rc_destroy(&r.ho);
    rc_destroy(&lic_raw);
    vga_identity_destroy(&r.ho_id);
    vga_identity_destroy(&police);
    free(ho_conf);
    free(lic_conf);
    free(g->tx_conf);
    free(g->rx_conf);
    free(g);
    bh_stop(b);
    bh_pass(b);
}

/* ---- a revoked agency ------------------------------------------------------------------- */

static void
s_revoke_licensing(const char *net)
{
    char *p = it_path(net, "network/network.json");
    json_error_t jerr;
    json_t *root = json_load_file(p, 0, &jerr);
    assert_non_null(root);
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(root, "agencies"), i, a)
    {
        if (strcmp(json_string_value(json_object_get(a, "id")), "licensing") == 0) {
            json_object_set_new(a, "revoked", json_true());
        }
    }
    assert_int_equal(json_dump_file(root, p, JSON_INDENT(2)), 0);
    json_decref(root);
    free(p);
    it_run run;
    it_vigilctl(&run, "network", "sign", "--dir", net);
    it_assert_ok(&run);
    it_run_fini(&run);
}

/* A raw client with keys loaded earlier: after the revocation the agent
 * library refuses to load them (its own copy of the document says so). */
static rc_client *
s_raw_with(const vga_identity *id)
{
    const vga_config *cfg = vga_identity_config(id);
    const vg_keyset *ks = vga_identity_keys(id);
    return rc_new(cfg->endpoint, cfg->broker_pk, vg_keyset_curve_pk(ks), vg_keyset_curve_sk(ks));
}

static void
test_revoked_agency_is_refused_after_restart(void **state)
{
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    char *conf = bh_agent_conf(b, "licensing");
    vga_identity *lic = bh_identity(b, "licensing");
    rc_client *raw = s_raw_with(lic);
    const char *to[] = {"police"};
    rc_seal_spec spec = {.recipients = to, .n_recipients = 1, .category = "other", .sequence = 1};
    uint8_t id[VG_ALERT_ID_LEN], id2[VG_ALERT_ID_LEN];
    size_t len = 0, len2 = 0;
    uint8_t *env = rc_seal(&len, id, lic, &spec);
    Vigil__BrokerFrame *f = rc_expect_confirm(raw, rc_publish(raw, env, len), T_REPLY_MS);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    rc_frame_free(f);
    spec.sequence = 2;
    uint8_t *env2 = rc_seal(&len2, id2, lic, &spec);
    bh_stop(b);

    s_revoke_licensing(b->net);
    bh_start(b);
    /* The old connection must handshake again, and is refused; so is a new one. */
    rc_client *fresh = s_raw_with(lic);
    uint64_t rq_old = rc_publish(raw, env2, len2);
    uint64_t rq_new = rc_publish(fresh, env2, len2);
    rc_events ev = rc_watch(fresh, T_SILENCE_MS, false);
    assert_int_equal(ev.handshakes, 0);
    assert_true(ev.auth_failed >= 1);
    f = rc_recv_reply(raw, rq_old, T_SILENCE_MS);
    assert_null(f);
    f = rc_recv_reply(fresh, rq_new, 0);
    assert_null(f);
    assert_true(bh_log_count(b, "zap.deny", "agency=licensing") +
                    bh_log_count(b, "zap.deny", "revoked") >=
                1);
    /* Nothing it sent reached the handlers; what it sent before is kept. */
    assert_true(bh_store_has_alert(b, id));
    assert_false(bh_store_has_alert(b, id2));
    assert_int_equal(bh_store_count_alerts(b), 1);
    assert_int_equal(bh_store_count(b, VGB_COUNT_REJECTIONS, NULL), 0);
    printf("hostile: revoked agency: %zu handshakes refused\n", ev.auth_failed);
    rc_destroy(&fresh);
    rc_destroy(&raw);
    free(env);
    free(env2);
    vga_identity_destroy(&lic);
    free(conf);
    bh_stop(b);
    bh_pass(b);
}

/* ---- a bad network document or key file at start ------------------------------------------ */

static uint8_t *
s_read(const char *path, size_t *len)
{
    uint8_t *data = NULL;
    vg_reason why = {{0}};
    if (vg_file_read(&data, len, path, 64 * 1024 * 1024, &why) != VG_OK) {
        *len = 0;
        return NULL;
    }
    return data;
}

static void
s_write(const char *path, const void *data, size_t len, unsigned mode)
{
    vg_reason why = {{0}};
    assert_int_equal(vg_file_write_atomic(path, data, len, mode, &why), VG_OK);
    assert_int_equal(chmod(path, mode), 0);
}

/* The store's files, concatenated: what must not change while starts are refused. */
static uint8_t *
s_store_bytes(const bh_broker *b, size_t *len)
{
    size_t a = 0, w = 0;
    char *wal_path = NULL;
    assert_true(asprintf(&wal_path, "%s-wal", b->db_path) > 0);
    uint8_t *db = s_read(b->db_path, &a), *wal = s_read(wal_path, &w);
    uint8_t *all = malloc(a + w + 1);
    assert_non_null(all);
    memcpy(all, db, a);
    if (wal != NULL) {
        memcpy(all + a, wal, w);
    }
    *len = a + w;
    free(db);
    free(wal);
    free(wal_path);
    return all;
}

typedef struct s_bad_file {
    const char *what; /* printed */
    const char *rel;  /* file under net/broker/ */
    int how;          /* 0 damage a byte, 1 truncate to half, 2 garbage, 3 mode 0644, 4 delete */
} s_bad_file;

static void
s_spoil(const char *path, const uint8_t *good, size_t len, int how)
{
    uint8_t *copy = malloc(len + 1);
    assert_non_null(copy);
    memcpy(copy, good, len);
    if (how == 0) {
        copy[len / 2] = (uint8_t)(copy[len / 2] == '#' ? '%' : '#'); /* not hex, not z85 */
        s_write(path, copy, len, 0600);
    } else if (how == 1) {
        s_write(path, copy, len / 2, 0600);
    } else if (how == 2) {
        s_write(path, "vigil-secret-keys 1\nsign-secret zz\nend\n", 39, 0600);
    } else if (how == 3) {
        s_write(path, copy, len, 0644);
    } else {
        assert_int_equal(unlink(path), 0);
    }
    free(copy);
}

static void
test_bad_document_or_key_file_at_start_is_refused(void **state)
{
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    char *conf = bh_agent_conf(b, "police");
    vga_identity *police = bh_identity(b, "police");
    rc_client *raw = rc_new_agency(conf);
    const char *to[] = {"licensing"};
    for (uint64_t seq = 1; seq <= 3; seq++) {
        rc_seal_spec spec = {
            .recipients = to, .n_recipients = 1, .category = "other", .sequence = seq};
        size_t len = 0;
        uint8_t *env = rc_seal(&len, NULL, police, &spec);
        Vigil__BrokerFrame *f = rc_expect_confirm(raw, rc_publish(raw, env, len), T_REPLY_MS);
        assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
        rc_frame_free(f);
        free(env);
    }
    rc_destroy(&raw);
    bh_stop(b);
    size_t ref_len = 0;
    uint8_t *ref = s_store_bytes(b, &ref_len);

    static const s_bad_file cases[] = {
        {"document with a damaged byte", "network.signed", 0},
        {"document truncated to half", "network.signed", 1},
        {"document missing", "network.signed", 4},
        {"key file with a damaged byte", "broker.key", 0},
        {"key file truncated to half", "broker.key", 1},
        {"key file of garbage", "broker.key", 2},
        {"key file readable by others", "broker.key", 3},
        {"key file missing", "broker.key", 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *dir = it_path(b->net, "broker");
        char *path = it_path(dir, cases[i].rel);
        size_t len = 0;
        uint8_t *good = s_read(path, &len);
        assert_non_null(good);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        s_spoil(path, good, len, cases[i].how);
        char *log = NULL;
        fu_start res = fu_try_start(b, &log);
        bool clear = strstr(log, " ERROR broker broker.") != NULL && strstr(log, "reason=") != NULL;
        printf("hostile: start with %s: %s\n", cases[i].what,
               res == FU_REFUSED ? "refused" : "NOT refused");
        if (res != FU_REFUSED || !clear) {
            fail_msg("start with %s: outcome %d, log:\n%s", cases[i].what, (int)res, log);
        }
        free(log);
        size_t now_len = 0;
        uint8_t *now = s_store_bytes(b, &now_len);
        assert_int_equal(now_len, ref_len);
        assert_memory_equal(now, ref, ref_len);
        free(now);
        s_write(path, good, len, st.st_mode & 0777);
        free(good);
        free(path);
        free(dir);
    }
    bh_start(b);
    assert_int_equal(bh_store_count_alerts(b), 3);
    bh_stop(b);
    free(ref);
    vga_identity_destroy(&police);
    free(conf);
    bh_pass(b);
}

/* DESIGN.md: the broker refuses "an unsigned, wrongly signed or older"
 * document. After version 2 was served, putting version 1 back (a rollback
 * that would, say, un-revoke an agency) must not start. */
static void
test_older_document_at_start_is_refused(void **state)
{
    bh_broker *b = bh_new(NULL);
    *state = b;
    /* Owned by b: freed by the teardown even when the assertion fails. */
    char *v1_path = bh_own(b, it_path(b->net, "broker/network.signed"), free);
    size_t v1_len = 0;
    uint8_t *v1 = bh_own(b, s_read(v1_path, &v1_len), free);
    assert_non_null(v1);
    s_revoke_licensing(b->net); /* version 2 */
    bh_start(b);
    bh_stop(b);
    s_write(v1_path, v1, v1_len, 0644);
    char *log = NULL;
    fu_start res = fu_try_start(b, &log);
    bh_own(b, log, free);
    printf("hostile: start with an older document (v1 after v2): %s\n",
           res == FU_REFUSED ? "refused" : "NOT refused");
    if (res != FU_REFUSED) {
        fail_msg("the broker started on network version 1 after serving version 2 "
                 "(a rollback un-revokes licensing); outcome %d",
                 (int)res);
    }
    bh_pass(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_hostile_frames_are_rejected_while_a_good_agency_is_served,
                                  s_teardown),
        cmocka_unit_test_teardown(test_revoked_agency_is_refused_after_restart, s_teardown),
        cmocka_unit_test_teardown(test_bad_document_or_key_file_at_start_is_refused, s_teardown),
        cmocka_unit_test_teardown(test_older_document_at_start_is_refused, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
