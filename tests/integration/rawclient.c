/*
 * rawclient.c — see rawclient.h.
 */
#define _XOPEN_SOURCE 700

#include "rawclient.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <setjmp.h>
#include <cmocka.h>
#include <zmq.h>

#include "vigil/envelope.h"
#include "vigil/receipt.h"

#define S_MONITOR_ENDPOINT "inproc://rc-monitor" /* per context, so per client */

struct rc_client {
    void *ctx;         /* own ZeroMQ context */
    void *sock;        /* DEALER to the broker */
    void *monitor;     /* PAIR reading the DEALER's socket events */
    uint64_t next_req; /* last request id used */
    size_t n_skipped;  /* frames dropped by rc_recv_reply */
    rc_events events;  /* totals read from the monitor */
};

static int64_t
s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
rc_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
s_setopt(void *sock, int opt, const void *val, size_t len)
{
    if (zmq_setsockopt(sock, opt, val, len) != 0) {
        fail_msg("zmq_setsockopt(%d): %s", opt, zmq_strerror(zmq_errno()));
    }
}

rc_client *
rc_new(const char *endpoint, const uint8_t *broker_pk, const uint8_t *pk, const uint8_t *sk)
{
    rc_client *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->ctx = zmq_ctx_new();
    assert_non_null(c->ctx);
    c->sock = zmq_socket(c->ctx, ZMQ_DEALER);
    assert_non_null(c->sock);
    int linger = 0;
    s_setopt(c->sock, ZMQ_CURVE_SERVERKEY, broker_pk, VG_CURVE_KEY_LEN);
    s_setopt(c->sock, ZMQ_CURVE_PUBLICKEY, pk, VG_CURVE_KEY_LEN);
    s_setopt(c->sock, ZMQ_CURVE_SECRETKEY, sk, VG_CURVE_KEY_LEN);
    s_setopt(c->sock, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_socket_monitor(c->sock, S_MONITOR_ENDPOINT,
                                        ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                                            ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                            ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                            ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL),
                     0);
    c->monitor = zmq_socket(c->ctx, ZMQ_PAIR);
    assert_non_null(c->monitor);
    s_setopt(c->monitor, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_connect(c->monitor, S_MONITOR_ENDPOINT), 0);
    if (zmq_connect(c->sock, endpoint) != 0) {
        fail_msg("zmq_connect %s: %s", endpoint, zmq_strerror(zmq_errno()));
    }
    return c;
}

rc_client *
rc_new_agency(const char *agent_conf)
{
    vga_identity *id = NULL;
    vg_reason why = {{0}};
    vg_err rc = vga_identity_load(&id, agent_conf, 0, &why);
    if (rc != VG_OK) {
        fail_msg("load %s: %s: %s", agent_conf, vg_err_code(rc), why.text);
    }
    const vga_config *cfg = vga_identity_config(id);
    const vg_keyset *ks = vga_identity_keys(id);
    rc_client *c =
        rc_new(cfg->endpoint, cfg->broker_pk, vg_keyset_curve_pk(ks), vg_keyset_curve_sk(ks));
    vga_identity_destroy(&id);
    return c;
}

rc_client *
rc_new_unknown(const char *agent_conf)
{
    vga_config *cfg = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vga_config_load(&cfg, agent_conf, &why), VG_OK);
    vg_keyset *ks = NULL;
    assert_int_equal(vg_keyset_generate(&ks, VG_KEY_CURVE), VG_OK);
    rc_client *c =
        rc_new(cfg->endpoint, cfg->broker_pk, vg_keyset_curve_pk(ks), vg_keyset_curve_sk(ks));
    vg_keyset_destroy(&ks);
    vga_config_destroy(&cfg);
    return c;
}

void
rc_destroy(rc_client **c_p)
{
    if (c_p == NULL || *c_p == NULL) {
        return;
    }
    rc_client *c = *c_p;
    zmq_socket_monitor(c->sock, NULL, 0);
    zmq_close(c->monitor);
    zmq_close(c->sock);
    zmq_ctx_term(c->ctx);
    free(c);
    *c_p = NULL;
}

bool
rc_send_raw(rc_client *c, const void *data, size_t len)
{
    return zmq_send(c->sock, data, len, 0) == (int)len;
}

bool
rc_send_parts(rc_client *c, const void *const *parts, const size_t *lens, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int flags = i + 1 < n ? ZMQ_SNDMORE : 0;
        if (zmq_send(c->sock, parts[i], lens[i], flags) != (int)lens[i]) {
            return false;
        }
    }
    return true;
}

void
rc_send_frame(rc_client *c, const Vigil__ClientFrame *f)
{
    size_t len = vigil__client_frame__get_packed_size(f);
    uint8_t *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    vigil__client_frame__pack(f, buf);
    bool ok = rc_send_raw(c, buf, len);
    free(buf);
    assert_true(ok);
}

uint64_t
rc_next_request(rc_client *c)
{
    return ++c->next_req;
}

void
rc_hello(rc_client *c, bool receive)
{
    Vigil__Hello h = VIGIL__HELLO__INIT;
    h.agent = "vigil-rawclient";
    h.receive = receive;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_HELLO;
    f.hello = &h;
    rc_send_frame(c, &f);
}

uint64_t
rc_publish(rc_client *c, const uint8_t *env, size_t len)
{
    Vigil__Publish p = VIGIL__PUBLISH__INIT;
    p.signed_envelope.data = (uint8_t *)env;
    p.signed_envelope.len = len;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = rc_next_request(c);
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_PUBLISH;
    f.publish = &p;
    rc_send_frame(c, &f);
    return f.request_id;
}

uint64_t
rc_receipt_delivered(rc_client *c, const char *agency, const vg_keyset *keys,
                     const uint8_t alert_id[VG_ALERT_ID_LEN],
                     const uint8_t envelope_hash[VG_HASH_LEN])
{
    vg_receipt_item item;
    memcpy(item.alert_id, alert_id, VG_ALERT_ID_LEN);
    memcpy(item.envelope_hash, envelope_hash, VG_HASH_LEN);
    vg_receipt_spec spec = {.agency = agency,
                            .kind = VG_RECEIPT_DELIVERED,
                            .created_ms = rc_wall_ms(),
                            .items = &item,
                            .n_items = 1,
                            .network_version = 1};
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    assert_int_equal(vg_receipt_sign(&bytes, &len, &spec, keys, &why), VG_OK);
    Vigil__SubmitReceipt r = VIGIL__SUBMIT_RECEIPT__INIT;
    r.signed_receipt.data = bytes;
    r.signed_receipt.len = len;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = rc_next_request(c);
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_RECEIPT;
    f.receipt = &r;
    rc_send_frame(c, &f);
    free(bytes);
    return f.request_id;
}

Vigil__BrokerFrame *
rc_recv(rc_client *c, int64_t timeout_ms)
{
    int64_t end = s_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, c->sock, ZMQ_DONTWAIT) >= 0) {
            Vigil__BrokerFrame *f =
                vigil__broker_frame__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
            size_t size = zmq_msg_size(&m);
            zmq_msg_close(&m);
            if (f == NULL) {
                fail_msg("the broker sent %zu bytes that are not a BrokerFrame", size);
            }
            return f;
        }
        zmq_msg_close(&m);
        int64_t left = end - s_mono_ms();
        if (left <= 0) {
            return NULL;
        }
        zmq_pollitem_t item = {c->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, (long)left) < 0 && zmq_errno() != EINTR) {
            fail_msg("zmq_poll: %s", zmq_strerror(zmq_errno()));
        }
    }
}

Vigil__BrokerFrame *
rc_recv_reply(rc_client *c, uint64_t request_id, int64_t timeout_ms)
{
    int64_t end = s_mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = end - s_mono_ms();
        Vigil__BrokerFrame *f = rc_recv(c, left > 0 ? left : 0);
        if (f == NULL || f->request_id == request_id) {
            return f;
        }
        c->n_skipped++;
        rc_frame_free(f);
    }
}

Vigil__BrokerFrame *
rc_expect_confirm(rc_client *c, uint64_t request_id, int64_t timeout_ms)
{
    Vigil__BrokerFrame *f = rc_recv_reply(c, request_id, timeout_ms);
    if (f == NULL) {
        fail_msg("no reply to request %llu within %lld ms", (unsigned long long)request_id,
                 (long long)timeout_ms);
    }
    if (f->kind_case != VIGIL__BROKER_FRAME__KIND_CONFIRM) {
        int kind = (int)f->kind_case;
        int code = f->kind_case == VIGIL__BROKER_FRAME__KIND_ERROR ? (int)f->error->code : 0;
        rc_frame_free(f);
        fail_msg("reply to request %llu is frame kind %d (error code %d), not a Confirm",
                 (unsigned long long)request_id, kind, code);
    }
    return f;
}

size_t
rc_n_skipped(const rc_client *c)
{
    return c->n_skipped;
}

void
rc_frame_free(Vigil__BrokerFrame *f)
{
    if (f != NULL) {
        vigil__broker_frame__free_unpacked(f, NULL);
    }
}

/* Reads one monitor event if one is waiting within timeout_ms. */
static bool
s_read_event(rc_client *c, long timeout_ms)
{
    zmq_pollitem_t item = {c->monitor, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0) {
        return false;
    }
    zmq_msg_t head, addr;
    zmq_msg_init(&head);
    zmq_msg_init(&addr);
    bool ok = zmq_msg_recv(&head, c->monitor, 0) >= 0 && zmq_msg_more(&head) &&
              zmq_msg_recv(&addr, c->monitor, 0) >= 0 && zmq_msg_size(&head) >= 2;
    if (ok) {
        uint16_t event = 0;
        memcpy(&event, zmq_msg_data(&head), sizeof event);
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            c->events.handshakes++;
        } else if (event == ZMQ_EVENT_DISCONNECTED) {
            c->events.dropped++;
        } else {
            c->events.auth_failed++;
        }
    }
    zmq_msg_close(&head);
    zmq_msg_close(&addr);
    return ok;
}

rc_events
rc_watch(rc_client *c, int64_t timeout_ms, bool stop_when_dropped)
{
    int64_t end = s_mono_ms() + timeout_ms;
    for (;;) {
        if (stop_when_dropped && c->events.dropped > 0) {
            break;
        }
        int64_t left = end - s_mono_ms();
        if (left <= 0) {
            while (s_read_event(c, 0)) { /* whatever is already queued */
            }
            break;
        }
        (void)s_read_event(c, (long)left);
    }
    return c->events;
}

/* ---- hand-made envelopes ------------------------------------------------- */

uint8_t *
rc_seal(size_t *out_len, uint8_t *id_out, const vga_identity *id, const rc_seal_spec *spec)
{
    vg_alert a;
    memset(&a, 0, sizeof a);
    vg_reason why = {{0}};
    a.severity = spec->severity ? spec->severity : VG_SEV_HIGH;
    a.headline = (char *)(spec->headline ? spec->headline : "raw test alert");
    a.description = (char *)spec->description;
    assert_int_equal(vg_strlist_add(&a.categories, spec->category), VG_OK);
    for (size_t i = 0; i < spec->n_recipients; i++) {
        assert_int_equal(vg_strlist_add(&a.recipients, spec->recipients[i]), VG_OK);
    }
    vg_seal_params p = {.doc = vga_identity_doc(id),
                        .sender = vga_identity_agency(id),
                        .keys = vga_identity_keys(id),
                        .sequence = spec->sequence,
                        .created_ms = spec->created_ms ? spec->created_ms : rc_wall_ms(),
                        .alert_id = NULL};
    uint8_t *out = NULL;
    vg_err rc = vg_envelope_seal(&out, out_len, id_out, &a, &p, &why);
    vg_strlist_fini(&a.categories);
    vg_strlist_fini(&a.recipients);
    if (rc != VG_OK) {
        fail_msg("vg_envelope_seal: %s: %s", vg_err_code(rc), why.text);
    }
    return out;
}

uint8_t *
rc_envelope_resign(size_t *out_len, const uint8_t *env, size_t len, rc_body_edit edit, void *ctx,
                   const vg_keyset *keys, const char *signer)
{
    Vigil__SignedEnvelope *se = vigil__signed_envelope__unpack(NULL, len, env);
    assert_non_null(se);
    Vigil__EnvelopeBody *body = vigil__envelope_body__unpack(NULL, se->body.len, se->body.data);
    assert_non_null(body);
    if (edit != NULL) {
        edit(body, ctx);
    }
    size_t body_len = vigil__envelope_body__get_packed_size(body);
    uint8_t *body_bytes = malloc(body_len ? body_len : 1);
    assert_non_null(body_bytes);
    vigil__envelope_body__pack(body, body_bytes);
    uint8_t sig[VG_SIGNATURE_LEN];
    assert_int_equal(vg_sign(sig, keys, VG_DOMAIN_ENVELOPE, body_bytes, body_len), VG_OK);
    Vigil__SignedEnvelope out = VIGIL__SIGNED_ENVELOPE__INIT;
    out.body.data = body_bytes;
    out.body.len = body_len;
    out.signature.data = sig;
    out.signature.len = sizeof sig;
    out.signer = (char *)(signer ? signer : se->signer);
    *out_len = vigil__signed_envelope__get_packed_size(&out);
    uint8_t *bytes = malloc(*out_len);
    assert_non_null(bytes);
    vigil__signed_envelope__pack(&out, bytes);
    free(body_bytes);
    vigil__envelope_body__free_unpacked(body, NULL);
    vigil__signed_envelope__free_unpacked(se, NULL);
    return bytes;
}

uint8_t *
rc_envelope_flip_signature(size_t *out_len, const uint8_t *env, size_t len)
{
    Vigil__SignedEnvelope *se = vigil__signed_envelope__unpack(NULL, len, env);
    assert_non_null(se);
    assert_int_equal(se->signature.len, VG_SIGNATURE_LEN);
    se->signature.data[VG_SIGNATURE_LEN / 2] ^= 0x01;
    *out_len = vigil__signed_envelope__get_packed_size(se);
    uint8_t *bytes = malloc(*out_len);
    assert_non_null(bytes);
    vigil__signed_envelope__pack(se, bytes);
    vigil__signed_envelope__free_unpacked(se, NULL);
    return bytes;
}
