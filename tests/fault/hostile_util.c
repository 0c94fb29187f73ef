/* hostile_util.c — see hostile_util.h. */
#define _GNU_SOURCE

#include "hostile_util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>
#include <sodium.h>
#include <zmq.h>

#include "itest.h"
#include "vigil/envelope.h"
#include "vigil/netdoc.h"
#include "vigil/share.h"
#include "vigil/util.h"

#define S_POLL_MS 10
#define S_LOG_MAX (64 * 1024 * 1024)
#define S_KEYFILE_MAX 4096

/* ---- soft checks ------------------------------------------------------------ */

void
hu_checks_init(hu_checks *k, const char *test)
{
    memset(k, 0, sizeof *k);
    k->test = test;
}

bool
hu_check(hu_checks *k, bool ok, const char *fmt, ...)
{
    k->n++;
    if (ok) {
        return true;
    }
    char text[HU_CHECK_TEXT];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    printf("hostile: FAIL %s: %s\n", k->test, text);
    fflush(stdout);
    if (k->n_failed < HU_CHECKS_MAX) {
        snprintf(k->failed[k->n_failed], HU_CHECK_TEXT, "%s", text);
    }
    k->n_failed++;
    return false;
}

bool
hu_check_cost(hu_checks *k, bool ok, const char *fmt, ...)
{
    char text[HU_CHECK_TEXT];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
#ifdef VG_FAULT_TSAN
    if (!ok) {
        k->n++;
        printf("hostile: NOT CHECKED under ThreadSanitizer %s: %s\n", k->test, text);
        fflush(stdout);
        return false;
    }
#endif
    return hu_check(k, ok, "%s", text);
}

void
hu_checks_end(hu_checks *k)
{
    printf("hostile: %s: %zu of %zu checks failed\n", k->test, k->n_failed, k->n);
    fflush(stdout);
    if (k->n_failed == 0) {
        return;
    }
    for (size_t i = 0; i < k->n_failed && i < HU_CHECKS_MAX; i++) {
        print_error("  - %s\n", k->failed[i]);
    }
    fail_msg("%s: %zu of %zu checks failed (listed above)", k->test, k->n_failed, k->n);
}

/* ---- agents and raw clients ----------------------------------------------------- */

static void
s_agent_free(void *p)
{
    vga_agent *a = p;
    vga_agent_destroy(&a);
}

static void
s_raw_free(void *p)
{
    rc_client *c = p;
    rc_destroy(&c);
}

static void
s_identity_free(void *p)
{
    vga_identity *id = p;
    vga_identity_destroy(&id);
}

vga_agent *
hu_agent(bh_broker *b, const char *agency, bool receive, bool events)
{
    char *conf = bh_agent_conf(b, agency);
    vga_options opts = {.receive = receive, .events = events, .software = "vigil-hostile"};
    vga_agent *a = NULL;
    vg_reason why = {{0}};
    vg_err rc = vga_agent_open(&a, conf, &opts, &why);
    free(conf);
    if (rc != VG_OK) {
        fail_msg("vga_agent_open %s: %s: %s", agency, vg_err_code(rc), why.text);
    }
    return bh_own(b, a, s_agent_free);
}

void
hu_agent_close(bh_broker *b, vga_agent *a)
{
    for (size_t i = 0; i < b->n_owned; i++) {
        if (b->owned[i].p == a) {
            b->owned[i].p = NULL; /* vga_agent_destroy is NULL-safe */
        }
    }
    vga_agent_destroy(&a);
}

rc_client *
hu_raw(bh_broker *b, const char *agency)
{
    char *conf = bh_agent_conf(b, agency);
    rc_client *c = rc_new_agency(conf);
    free(conf);
    return bh_own(b, c, s_raw_free);
}

vga_identity *
hu_identity(bh_broker *b, const char *agency)
{
    return bh_own(b, bh_identity(b, agency), s_identity_free);
}

void
hu_hello(rc_client *c, bool receive, bool console)
{
    Vigil__Hello h = VIGIL__HELLO__INIT;
    h.agent = "vigil-hostile";
    h.receive = receive;
    h.console = console;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_HELLO;
    f.hello = &h;
    rc_send_frame(c, &f);
}

void
hu_roundtrip(rc_client *c)
{
    Vigil__GetNetwork gn = VIGIL__GET_NETWORK__INIT;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = rc_next_request(c);
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_GET_NETWORK;
    f.get_network = &gn;
    rc_send_frame(c, &f);
    Vigil__BrokerFrame *r = rc_recv_reply(c, f.request_id, HU_REPLY_MS);
    if (r == NULL) {
        fail_msg("no answer to GetNetwork within %d ms", HU_REPLY_MS);
    }
    rc_frame_free(r);
}

/* ---- hand-made envelopes -------------------------------------------------------- */

typedef struct s_spoil_ctx {
    const hu_seal *spec;  /* what to do */
    const vg_netdoc *doc; /* the sender's copy: the victim's box key */
    bool victim_found;    /* the victim was a recipient */
} s_spoil_ctx;

static void
s_replace_bytes(ProtobufCBinaryData *field, size_t len)
{
    free(field->data);
    field->data = malloc(len ? len : 1);
    assert_non_null(field->data);
    randombytes_buf(field->data, len);
    field->len = len;
}

static void
s_spoil_key(Vigil__SealedKey *k, const s_spoil_ctx *x)
{
    if (x->spec->spoil == HU_BAD_KEY) {
        s_replace_bytes(&k->sealed_key, VG_SEALED_KEY_LEN);
        return;
    }
    /* HU_BAD_COMMITMENT: a key that opens but is not the committed one. */
    vg_agency card;
    assert_int_equal(vg_netdoc_find(x->doc, x->spec->victim, &card), VG_OK);
    uint8_t key[VG_CONTENT_KEY_LEN];
    randombytes_buf(key, sizeof key);
    free(k->sealed_key.data);
    k->sealed_key.data = malloc(VG_SEALED_KEY_LEN);
    assert_non_null(k->sealed_key.data);
    assert_int_equal(crypto_box_seal(k->sealed_key.data, key, sizeof key, card.box_pk), 0);
    k->sealed_key.len = VG_SEALED_KEY_LEN;
    sodium_memzero(key, sizeof key);
}

static void
s_spoil_edit(Vigil__EnvelopeBody *body, void *ctx)
{
    s_spoil_ctx *x = ctx;
    switch (x->spec->spoil) {
    case HU_BAD_KEY:
    case HU_BAD_COMMITMENT:
        for (size_t i = 0; i < body->n_recipients; i++) {
            if (strcmp(body->recipients[i]->agency, x->spec->victim) == 0) {
                s_spoil_key(body->recipients[i], x);
                x->victim_found = true;
            }
        }
        break;
    case HU_UNDECRYPTABLE:
        assert_true(body->ciphertext.len > 0);
        body->ciphertext.data[body->ciphertext.len / 2] ^= 0x01;
        x->victim_found = true;
        break;
    case HU_VERSION:
        body->network_version = x->spec->version;
        x->victim_found = true;
        break;
    case HU_CIPHERTEXT:
        s_replace_bytes(&body->ciphertext, x->spec->size);
        x->victim_found = true;
        break;
    case HU_INTACT:
        x->victim_found = true;
        break;
    }
}

/* The agency library refuses to seal to an oversight agency; a hostile
 * sender does it by hand. It seals to a stand-in (an agency of the document
 * that is neither oversight nor among the recipients), then renames that
 * entry and seals the content key to the oversight agency's box key. */
typedef struct s_oversight_ctx {
    const char *stand_in;            /* the agency sealed to in its place */
    const char *real;                /* the oversight agency */
    const vg_netdoc *doc;            /* for its box key */
    uint8_t key[VG_CONTENT_KEY_LEN]; /* the content key */
} s_oversight_ctx;

static void
s_oversight_edit(Vigil__EnvelopeBody *body, void *ctx)
{
    s_oversight_ctx *x = ctx;
    vg_agency card;
    assert_int_equal(vg_netdoc_find(x->doc, x->real, &card), VG_OK);
    for (size_t i = 0; i < body->n_recipients; i++) {
        Vigil__SealedKey *k = body->recipients[i];
        if (strcmp(k->agency, x->stand_in) == 0) {
            free(k->agency); /* the unpacked body owns its strings (the default allocator) */
            k->agency = strdup(x->real);
            assert_non_null(k->agency);
            assert_int_equal(k->sealed_key.len, VG_SEALED_KEY_LEN);
            assert_int_equal(
                crypto_box_seal(k->sealed_key.data, x->key, sizeof x->key, card.box_pk), 0);
        }
    }
}

static uint8_t *
s_seal_to_oversight(size_t *len, uint8_t id_out[VG_ALERT_ID_LEN], const vga_identity *sender,
                    const hu_seal *spec, size_t which)
{
    const vg_netdoc *doc = vga_identity_doc(sender);
    s_oversight_ctx x = {.real = spec->to[which], .doc = doc};
    for (size_t i = 0; i < vg_netdoc_n_agencies(doc) && x.stand_in == NULL; i++) {
        vg_agency a;
        vg_netdoc_agency_at(doc, i, &a);
        bool listed = strcmp(a.id, vga_identity_agency(sender)) == 0;
        for (size_t j = 0; j < spec->n_to; j++) {
            listed = listed || strcmp(spec->to[j], a.id) == 0;
        }
        x.stand_in = !listed && !vg_netdoc_is_oversight(doc, a.id) && !a.revoked ? a.id : NULL;
    }
    assert_non_null(x.stand_in);
    const char *to[VG_RECIPIENTS_MAX];
    for (size_t j = 0; j < spec->n_to; j++) {
        to[j] = j == which ? x.stand_in : spec->to[j];
    }
    hu_seal plain = *spec;
    plain.to = to;
    size_t good_len = 0;
    uint8_t *good = hu_seal_envelope(&good_len, id_out, sender, &plain);
    vg_envelope *e = NULL;
    assert_int_equal(vg_envelope_verify(&e, good, good_len, doc, NULL), VG_OK);
    assert_int_equal(vg_envelope_content_key(x.key, e, vga_identity_agency(sender),
                                             vga_identity_keys(sender), NULL),
                     VG_OK);
    vg_envelope_destroy(&e);
    uint8_t *bad = rc_envelope_resign(len, good, good_len, s_oversight_edit, &x,
                                      vga_identity_keys(sender), NULL);
    sodium_memzero(x.key, sizeof x.key);
    free(good);
    return bad;
}

uint8_t *
hu_seal_envelope(size_t *len, uint8_t id_out[VG_ALERT_ID_LEN], const vga_identity *sender,
                 const hu_seal *spec)
{
    assert_int_not_equal(sodium_init(), -1);
    for (size_t i = 0; i < spec->n_to; i++) {
        if (vg_netdoc_is_oversight(vga_identity_doc(sender), spec->to[i])) {
            return s_seal_to_oversight(len, id_out, sender, spec, i);
        }
    }
    rc_seal_spec rs = {.recipients = spec->to,
                       .n_recipients = spec->n_to,
                       .category = spec->category ? spec->category : "other",
                       .severity = spec->severity,
                       .sequence = spec->sequence,
                       .headline = spec->headline ? spec->headline : "hostile test alert"};
    size_t good_len = 0;
    uint8_t *good = rc_seal(&good_len, id_out, sender, &rs);
    if (spec->spoil == HU_INTACT) {
        *len = good_len;
        return good;
    }
    s_spoil_ctx x = {.spec = spec, .doc = vga_identity_doc(sender)};
    uint8_t *bad =
        rc_envelope_resign(len, good, good_len, s_spoil_edit, &x, vga_identity_keys(sender), NULL);
    free(good);
    assert_true(x.victim_found);
    return bad;
}

void
hu_envelope_hash(uint8_t out[VG_HASH_LEN], const uint8_t *env, size_t len)
{
    Vigil__SignedEnvelope *se = vigil__signed_envelope__unpack(NULL, len, env);
    assert_non_null(se);
    vg_hash(out, se->body.data, se->body.len);
    vigil__signed_envelope__free_unpacked(se, NULL);
}

bool
hu_envelope_id(uint8_t out[VG_ALERT_ID_LEN], const uint8_t *env, size_t len)
{
    Vigil__SignedEnvelope *se = vigil__signed_envelope__unpack(NULL, len, env);
    if (se == NULL) {
        return false;
    }
    Vigil__EnvelopeBody *body = vigil__envelope_body__unpack(NULL, se->body.len, se->body.data);
    bool ok = body != NULL && body->alert_id.len == VG_ALERT_ID_LEN;
    if (ok) {
        memcpy(out, body->alert_id.data, VG_ALERT_ID_LEN);
    }
    if (body != NULL) {
        vigil__envelope_body__free_unpacked(body, NULL);
    }
    vigil__signed_envelope__free_unpacked(se, NULL);
    return ok;
}

void
hu_publish_all(rc_client *c, uint8_t *const *envs, const size_t *lens, size_t n, int *status,
               int *code)
{
    if (n == 0) {
        return;
    }
    uint64_t first = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t rq = rc_publish(c, envs[i], lens[i]);
        first = i == 0 ? rq : first;
        assert_int_equal(rq, first + i);
        status[i] = -1;
        code[i] = -1;
    }
    size_t got = 0;
    int64_t end = bh_now_ms() + HU_REPLY_MS + (int64_t)n * 20;
    while (got < n && bh_now_ms() < end) {
        Vigil__BrokerFrame *f = rc_recv(c, end - bh_now_ms());
        if (f == NULL) {
            break;
        }
        uint64_t rq = f->request_id;
        if (rq >= first && rq < first + n && f->kind_case == VIGIL__BROKER_FRAME__KIND_CONFIRM &&
            status[rq - first] == -1) {
            status[rq - first] = (int)f->confirm->status;
            code[rq - first] = (int)f->confirm->code;
            got++;
        }
        rc_frame_free(f);
    }
    if (got < n) {
        fail_msg("%zu of %zu publishes were answered within %lld ms", got, n,
                 (long long)(HU_REPLY_MS + (int64_t)n * 20));
    }
}

Vigil__BrokerFrame *
hu_publish_one(rc_client *c, const uint8_t *env, size_t len)
{
    return rc_expect_confirm(c, rc_publish(c, env, len), HU_REPLY_MS);
}

/* ---- shares and receipts ------------------------------------------------------------ */

/* A signed share body naming (id, hash), sealed_key as given. */
static uint8_t *
s_share_build(size_t *len, const uint8_t id[VG_ALERT_ID_LEN], const uint8_t hash[VG_HASH_LEN],
              const vga_identity *sharer, const char *to, const uint8_t *sealed_key)
{
    Vigil__ShareBody body = VIGIL__SHARE_BODY__INIT;
    body.alert_id.data = (uint8_t *)id;
    body.alert_id.len = VG_ALERT_ID_LEN;
    body.envelope_hash.data = (uint8_t *)hash;
    body.envelope_hash.len = VG_HASH_LEN;
    body.sharer = (char *)vga_identity_agency(sharer);
    body.to_agency = (char *)to;
    body.sealed_key.data = (uint8_t *)sealed_key;
    body.sealed_key.len = VG_SEALED_KEY_LEN;
    body.reason = "hostile share";
    body.created_ms = (uint64_t)rc_wall_ms();
    body.network_version = vg_netdoc_version(vga_identity_doc(sharer));
    size_t body_len = vigil__share_body__get_packed_size(&body);
    uint8_t *body_bytes = malloc(body_len);
    assert_non_null(body_bytes);
    vigil__share_body__pack(&body, body_bytes);
    uint8_t sig[VG_SIGNATURE_LEN];
    assert_int_equal(vg_sign(sig, vga_identity_keys(sharer), VG_DOMAIN_SHARE, body_bytes, body_len),
                     VG_OK);
    Vigil__SignedShare ss = VIGIL__SIGNED_SHARE__INIT;
    ss.body.data = body_bytes;
    ss.body.len = body_len;
    ss.signature.data = sig;
    ss.signature.len = sizeof sig;
    ss.signer = (char *)vga_identity_agency(sharer);
    *len = vigil__signed_share__get_packed_size(&ss);
    uint8_t *out = malloc(*len);
    assert_non_null(out);
    vigil__signed_share__pack(&ss, out);
    free(body_bytes);
    return out;
}

uint8_t *
hu_share_raw(size_t *len, const uint8_t id[VG_ALERT_ID_LEN], const uint8_t hash[VG_HASH_LEN],
             const vga_identity *sharer, const char *to)
{
    assert_int_not_equal(sodium_init(), -1);
    uint8_t key[VG_SEALED_KEY_LEN];
    randombytes_buf(key, sizeof key);
    return s_share_build(len, id, hash, sharer, to, key);
}

uint8_t *
hu_share(size_t *len, const uint8_t *env, size_t env_len, const vga_identity *sharer,
         const char *to, bool garbage_key)
{
    uint8_t id[VG_ALERT_ID_LEN], hash[VG_HASH_LEN];
    assert_true(hu_envelope_id(id, env, env_len));
    hu_envelope_hash(hash, env, env_len);
    if (garbage_key) {
        return hu_share_raw(len, id, hash, sharer, to);
    }
    /* The real content key, sealed to `to` by hand: no library policy decides
     * whom it may go to (the broker must). */
    const vg_netdoc *doc = vga_identity_doc(sharer);
    vg_envelope *e = NULL;
    vg_reason why = {{0}};
    vg_err rc = vg_envelope_verify(&e, env, env_len, doc, &why);
    if (rc != VG_OK) {
        fail_msg("verify envelope to share: %s: %s", vg_err_code(rc), why.text);
    }
    uint8_t key[VG_CONTENT_KEY_LEN], sealed[VG_SEALED_KEY_LEN];
    rc = vg_envelope_content_key(key, e, vga_identity_agency(sharer), vga_identity_keys(sharer),
                                 &why);
    vg_envelope_destroy(&e);
    if (rc != VG_OK) {
        fail_msg("%s cannot open the envelope it shares: %s: %s", vga_identity_agency(sharer),
                 vg_err_code(rc), why.text);
    }
    vg_agency card;
    assert_int_equal(vg_netdoc_find(doc, to, &card), VG_OK);
    assert_int_equal(crypto_box_seal(sealed, key, sizeof key, card.box_pk), 0);
    sodium_memzero(key, sizeof key);
    return s_share_build(len, id, hash, sharer, to, sealed);
}

static uint64_t
s_submit(rc_client *c, int kind, const uint8_t *bytes, size_t len)
{
    Vigil__SubmitShare sh = VIGIL__SUBMIT_SHARE__INIT;
    Vigil__SubmitReceipt re = VIGIL__SUBMIT_RECEIPT__INIT;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = rc_next_request(c);
    f.kind_case = (Vigil__ClientFrame__KindCase)kind;
    if (kind == VIGIL__CLIENT_FRAME__KIND_SHARE) {
        sh.signed_share.data = (uint8_t *)bytes;
        sh.signed_share.len = len;
        f.share = &sh;
    } else {
        re.signed_receipt.data = (uint8_t *)bytes;
        re.signed_receipt.len = len;
        f.receipt = &re;
    }
    rc_send_frame(c, &f);
    return f.request_id;
}

uint64_t
hu_submit_share(rc_client *c, const uint8_t *bytes, size_t len)
{
    return s_submit(c, VIGIL__CLIENT_FRAME__KIND_SHARE, bytes, len);
}

uint64_t
hu_submit_receipt(rc_client *c, const uint8_t *bytes, size_t len)
{
    return s_submit(c, VIGIL__CLIENT_FRAME__KIND_RECEIPT, bytes, len);
}

Vigil__BrokerFrame *
hu_submit_receipt_reply(rc_client *c, const uint8_t *bytes, size_t len)
{
    return rc_recv_reply(c, hu_submit_receipt(c, bytes, len), HU_REPLY_MS);
}

Vigil__BrokerFrame *
hu_submit_share_reply(rc_client *c, const uint8_t *bytes, size_t len)
{
    return rc_recv_reply(c, hu_submit_share(c, bytes, len), HU_REPLY_MS);
}

uint8_t *
hu_receipt(size_t *len, const vga_identity *who, vg_receipt_kind kind,
           const uint8_t id[VG_ALERT_ID_LEN], const uint8_t hash[VG_HASH_LEN], int64_t created_ms)
{
    vg_receipt_item item;
    memcpy(item.alert_id, id, VG_ALERT_ID_LEN);
    memcpy(item.envelope_hash, hash, VG_HASH_LEN);
    vg_receipt_spec spec = {
        .agency = vga_identity_agency(who),
        .kind = kind,
        .created_ms = created_ms,
        .items = &item,
        .n_items = 1,
        .officer = kind == VG_RECEIPT_ACKNOWLEDGED ? "Hostile duty officer" : NULL,
        .reason =
            kind == VG_RECEIPT_IN_PROGRESS || kind == VG_RECEIPT_DECLINED ? "hostile reason" : NULL,
        .network_version = vg_netdoc_version(vga_identity_doc(who)),
        .failure = kind == VG_RECEIPT_UNOPENABLE ? VG_OPEN_BAD_KEY : VG_OPEN_UNSPECIFIED,
    };
    uint8_t *out = NULL;
    vg_reason why = {{0}};
    vg_err rc = vg_receipt_sign(&out, len, &spec, vga_identity_keys(who), &why);
    if (rc != VG_OK) {
        fail_msg("vg_receipt_sign: %s: %s", vg_err_code(rc), why.text);
    }
    return out;
}

/* ---- queries -------------------------------------------------------------------------- */

uint8_t *
hu_pack_query(size_t *len, uint64_t request_id, const Vigil__Query *q)
{
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = request_id;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_QUERY;
    f.query = (Vigil__Query *)q;
    *len = vigil__client_frame__get_packed_size(&f);
    uint8_t *out = malloc(*len);
    assert_non_null(out);
    vigil__client_frame__pack(&f, out);
    return out;
}

Vigil__BrokerFrame *
hu_query(rc_client *c, const Vigil__Query *q, int64_t timeout_ms)
{
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = rc_next_request(c);
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_QUERY;
    f.query = (Vigil__Query *)q;
    rc_send_frame(c, &f);
    return rc_recv_reply(c, f.request_id, timeout_ms);
}

Vigil__BrokerFrame *
hu_query_alert(rc_client *c, const uint8_t id[VG_ALERT_ID_LEN])
{
    Vigil__Query q = VIGIL__QUERY__INIT;
    q.kind = VIGIL__QUERY_KIND__QUERY_ALERT;
    q.alert_id.data = (uint8_t *)id;
    q.alert_id.len = VG_ALERT_ID_LEN;
    return hu_query(c, &q, HU_REPLY_MS);
}

Vigil__BrokerFrame *
hu_query_inclusion_id(rc_client *c, const uint8_t id[VG_ALERT_ID_LEN])
{
    Vigil__Query q = VIGIL__QUERY__INIT;
    q.kind = VIGIL__QUERY_KIND__QUERY_INCLUSION;
    q.alert_id.data = (uint8_t *)id;
    q.alert_id.len = VG_ALERT_ID_LEN;
    return hu_query(c, &q, HU_REPLY_MS);
}

Vigil__BrokerFrame *
hu_query_leaf(rc_client *c, uint64_t leaf_index, uint64_t tree_size)
{
    Vigil__Query q = VIGIL__QUERY__INIT;
    q.kind = VIGIL__QUERY_KIND__QUERY_INCLUSION;
    q.leaf_index = leaf_index;
    q.tree_size = tree_size;
    return hu_query(c, &q, HU_REPLY_MS);
}

Vigil__BrokerFrame *
hu_query_kind(rc_client *c, Vigil__QueryKind kind)
{
    Vigil__Query q = VIGIL__QUERY__INIT;
    q.kind = kind;
    return hu_query(c, &q, HU_REPLY_MS);
}

uint64_t
hu_checkpoint_size(rc_client *c)
{
    Vigil__BrokerFrame *f = hu_query_kind(c, VIGIL__QUERY_KIND__QUERY_CHECKPOINT);
    uint64_t size = 0;
    if (f != NULL && f->kind_case == VIGIL__BROKER_FRAME__KIND_RESULT &&
        f->result->checkpoint.len > 0) {
        char note[4096];
        size_t n = f->result->checkpoint.len < sizeof note - 1 ? f->result->checkpoint.len
                                                               : sizeof note - 1;
        memcpy(note, f->result->checkpoint.data, n);
        note[n] = '\0';
        const char *nl = strchr(note, '\n');
        size = nl != NULL ? strtoull(nl + 1, NULL, 10) : 0;
    }
    rc_frame_free(f);
    return size;
}

const Vigil__RecipientState *
hu_recipient(const Vigil__BrokerFrame *f, const char *agency)
{
    if (f == NULL || f->kind_case != VIGIL__BROKER_FRAME__KIND_RESULT || f->result->n_alerts == 0) {
        return NULL;
    }
    const Vigil__AlertSummary *s = f->result->alerts[0];
    for (size_t i = 0; i < s->n_recipients; i++) {
        if (strcmp(s->recipients[i]->agency, agency) == 0) {
            return s->recipients[i];
        }
    }
    return NULL;
}

const char *
hu_code_name(int code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&vigil__reject_code__descriptor, code);
    return v != NULL ? v->name : "REJECT_(unknown)";
}

void
hu_describe(char *out, size_t cap, const Vigil__BrokerFrame *f)
{
    if (f == NULL) {
        snprintf(out, cap, "no reply");
        return;
    }
    switch (f->kind_case) {
    case VIGIL__BROKER_FRAME__KIND_CONFIRM: {
        const ProtobufCEnumValue *st = protobuf_c_enum_descriptor_get_value(
            &vigil__confirm_status__descriptor, f->confirm->status);
        snprintf(out, cap, "confirm %s %s: %s", st ? st->name : "?", hu_code_name(f->confirm->code),
                 f->confirm->reason);
        break;
    }
    case VIGIL__BROKER_FRAME__KIND_ERROR:
        snprintf(out, cap, "error %s: %s", hu_code_name(f->error->code), f->error->reason);
        break;
    case VIGIL__BROKER_FRAME__KIND_RESULT:
        snprintf(out, cap,
                 "result (alerts=%zu events=%zu leaf_indices=%zu leaf=%zu bytes proof=%zu)",
                 f->result->n_alerts, f->result->n_events, f->result->n_leaf_indices,
                 f->result->leaf.len, f->result->n_proof);
        break;
    default:
        snprintf(out, cap, "frame kind %d", (int)f->kind_case);
        break;
    }
}

void
hu_describe_masked(char *out, size_t cap, const Vigil__BrokerFrame *f)
{
    char raw[2048];
    hu_describe(raw, sizeof raw, f);
    size_t n = 0;
    for (size_t i = 0; raw[i] != '\0' && n + 1 < cap; i++) {
        if (isdigit((unsigned char)raw[i])) {
            if (n == 0 || out[n - 1] != '#') {
                out[n++] = '#';
            }
        } else {
            out[n++] = raw[i];
        }
    }
    out[n] = '\0';
}

/* ---- deliveries and event streams ------------------------------------------------------ */

bool
hu_is_deliver_of(const Vigil__BrokerFrame *f, const uint8_t id[VG_ALERT_ID_LEN])
{
    if (f == NULL || f->kind_case != VIGIL__BROKER_FRAME__KIND_DELIVER) {
        return false;
    }
    uint8_t got[VG_ALERT_ID_LEN];
    return hu_envelope_id(got, f->deliver->signed_envelope.data, f->deliver->signed_envelope.len) &&
           memcmp(got, id, VG_ALERT_ID_LEN) == 0;
}

Vigil__BrokerFrame *
hu_wait_deliver(rc_client *c, const uint8_t id[VG_ALERT_ID_LEN], int64_t timeout_ms)
{
    int64_t end = bh_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = end - bh_now_ms();
        if (left <= 0) {
            return NULL;
        }
        Vigil__BrokerFrame *f = rc_recv(c, left);
        if (f == NULL || hu_is_deliver_of(f, id)) {
            return f;
        }
        rc_frame_free(f);
    }
}

static void
s_stream_free(void *p)
{
    hu_stream *s = p;
    for (size_t i = 0; i < s->n; i++) {
        rc_frame_free(s->frames[i]);
    }
    rc_destroy(&s->c);
    free(s);
}

hu_stream *
hu_stream_new(bh_broker *b, const char *agency)
{
    hu_stream *s = calloc(1, sizeof *s);
    assert_non_null(s);
    char *conf = bh_agent_conf(b, agency);
    s->c = rc_new_agency(conf);
    free(conf);
    hu_hello(s->c, false, true);
    return bh_own(b, s, s_stream_free);
}

void
hu_stream_pump(hu_stream *s, int64_t ms)
{
    int64_t end = bh_now_ms() + ms;
    for (;;) {
        int64_t left = end - bh_now_ms();
        Vigil__BrokerFrame *f = rc_recv(s->c, left > 0 ? left : 0);
        if (f == NULL) {
            return;
        }
        if (f->kind_case == VIGIL__BROKER_FRAME__KIND_EVENT && s->n < HU_STREAM_MAX) {
            s->frames[s->n++] = f;
        } else {
            rc_frame_free(f);
        }
    }
}

static bool
s_event_matches(const Vigil__Event *e, int kind, const char *agency, const uint8_t *id)
{
    return (int)e->kind == kind && (agency == NULL || strcmp(e->agency, agency) == 0) &&
           (id == NULL ||
            (e->alert_id.len == VG_ALERT_ID_LEN && memcmp(e->alert_id.data, id, 16) == 0));
}

const Vigil__Event *
hu_stream_find(hu_stream *s, int kind, const char *agency, const uint8_t *id, int64_t ms)
{
    int64_t end = bh_now_ms() + ms;
    size_t from = 0;
    for (;;) {
        int64_t left = end - bh_now_ms();
        hu_stream_pump(s, left <= 0 ? 0 : left < 50 ? left : 50); /* what is queued, at least */
        for (; from < s->n; from++) {
            if (s_event_matches(s->frames[from]->event, kind, agency, id)) {
                return s->frames[from]->event;
            }
        }
        if (bh_now_ms() >= end) {
            return NULL;
        }
    }
}

/* ---- the network document ----------------------------------------------------------------- */

int
hu_network_edit(bh_broker *b, hu_json_edit edit, void *ctx, char **err_out)
{
    char *path = it_path(b->net, "network/network.json");
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (root == NULL) {
        fail_msg("%s: %s", path, jerr.text);
    }
    edit(root, ctx);
    assert_int_equal(json_dump_file(root, path, JSON_INDENT(2)), 0);
    json_decref(root);
    free(path);
    it_run r;
    it_vigilctl(&r, "network", "sign", "--dir", b->net);
    int status = r.status;
    if (err_out != NULL) {
        *err_out = vg_strdup(r.err ? r.err : "");
    }
    it_run_fini(&r);
    return status;
}

json_t *
hu_card(json_t *root, const char *id)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(root, "agencies"), i, a)
    {
        if (strcmp(json_string_value(json_object_get(a, "id")), id) == 0) {
            return a;
        }
    }
    fail_msg("no agency %s in network.json", id);
    return NULL;
}

typedef struct s_box_ctx {
    const char *agency; /* whose card */
    const char *hex;    /* its new box_key */
} s_box_ctx;

static void
s_set_box_key(json_t *root, void *ctx)
{
    const s_box_ctx *x = ctx;
    json_object_set_new(hu_card(root, x->agency), "box_key", json_string(x->hex));
}

void
hu_rotate_box_key(bh_broker *b, const char *agency)
{
    assert_int_not_equal(sodium_init(), -1);
    char rel[128];
    snprintf(rel, sizeof rel, "agents/%s/agency.key", agency);
    char *path = it_path(b->net, rel);
    uint8_t *data = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    assert_int_equal(vg_file_read(&data, &len, path, S_KEYFILE_MAX, &why), VG_OK);
    uint8_t pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
    assert_int_equal(crypto_box_keypair(pk, sk), 0);
    char sk_hex[2 * sizeof sk + 1], pk_hex[2 * sizeof pk + 1];
    sodium_bin2hex(sk_hex, sizeof sk_hex, sk, sizeof sk);
    sodium_bin2hex(pk_hex, sizeof pk_hex, pk, sizeof pk);
    char *out = calloc(1, len + 256);
    assert_non_null(out);
    bool replaced = false;
    char *save = NULL;
    for (char *line = strtok_r((char *)data, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "box-secret ", 11) == 0) {
            snprintf(out + strlen(out), len + 256 - strlen(out), "box-secret %s\n", sk_hex);
            replaced = true;
        } else {
            snprintf(out + strlen(out), len + 256 - strlen(out), "%s\n", line);
        }
    }
    assert_true(replaced);
    assert_int_equal(vg_file_write_atomic(path, out, strlen(out), 0600, &why), VG_OK);
    sodium_memzero(out, len + 256);
    sodium_memzero(data, len);
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(sk_hex, sizeof sk_hex);
    free(out);
    free(data);
    free(path);
    /* The card, edited without signing: hu_network_edit with a no-op signs. */
    char *json_path = it_path(b->net, "network/network.json");
    json_error_t jerr;
    json_t *root = json_load_file(json_path, 0, &jerr);
    assert_non_null(root);
    s_box_ctx x = {.agency = agency, .hex = pk_hex};
    s_set_box_key(root, &x);
    assert_int_equal(json_dump_file(root, json_path, JSON_INDENT(2)), 0);
    json_decref(root);
    free(json_path);
}

/* ---- the broker process ------------------------------------------------------------------- */

static bool
s_ready_after(const bh_broker *b, off_t offset)
{
    uint8_t *data = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    if (vg_file_read(&data, &len, b->log_path, S_LOG_MAX, &why) != VG_OK) {
        return false;
    }
    bool ready = (size_t)offset <= len && strstr((char *)data + offset, " broker.ready ") != NULL;
    free(data);
    return ready;
}

void
hu_start_nofile(bh_broker *b, rlim_t soft, rlim_t hard)
{
    assert_int_equal(b->pid, 0);
    struct stat st;
    off_t offset = stat(b->log_path, &st) == 0 ? st.st_size : 0;
    char *path = it_path(b->bin_dir, "vigil-broker");
    char *argv[] = {path, "-c", b->conf, NULL};
    struct rlimit lim = {.rlim_cur = soft, .rlim_max = hard};
    int log_fd = open(b->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    assert_true(log_fd >= 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* only async-signal-safe calls until exec */
        int null_fd = open("/dev/null", O_RDONLY);
        if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
            dup2(log_fd, STDERR_FILENO) < 0 || setrlimit(RLIMIT_NOFILE, &lim) != 0) {
            _exit(126);
        }
        execv(path, argv);
        _exit(127);
    }
    close(log_fd);
    free(path);
    b->pid = pid;
    b->n_starts++;
    int64_t deadline = bh_now_ms() + BH_READY_MS;
    while (!s_ready_after(b, offset)) {
        int wst = 0;
        if (waitpid(pid, &wst, WNOHANG) == pid) {
            b->pid = 0;
            bh_print_log(b);
            fail_msg("vigil-broker (nofile %lu:%lu) exited (status 0x%x) before broker.ready",
                     (unsigned long)soft, (unsigned long)hard, wst);
        }
        if (bh_now_ms() >= deadline) {
            bh_print_log(b);
            fail_msg("vigil-broker not ready within %d ms", BH_READY_MS);
        }
        bh_sleep_ms(S_POLL_MS);
    }
}

bool
hu_proc_nofile(pid_t pid, long *soft, long *hard)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return false;
    }
    bool ok = false;
    while (!ok && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "Max open files", 14) == 0) {
            ok = sscanf(line + 14, "%ld %ld", soft, hard) == 2;
        }
    }
    fclose(f);
    return ok;
}

int64_t
hu_proc_cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    if (p == NULL) {
        return -1;
    }
    /* Fields after ")": state is field 3; utime is 14, stime 15. */
    long long utime = 0, stime = 0;
    int field = 2;
    for (const char *t = p + 1; *t != '\0' && field < 15;) {
        while (*t == ' ') {
            t++;
        }
        field++;
        if (field == 14) {
            utime = strtoll(t, NULL, 10);
        } else if (field == 15) {
            stime = strtoll(t, NULL, 10);
        }
        while (*t != ' ' && *t != '\0') {
            t++;
        }
    }
    return field >= 15 ? (int64_t)(utime + stime) : -1;
}

/* ---- plain DEALER sockets for floods -------------------------------------------------------- */

struct hu_dealer {
    void *sock;   /* DEALER to the broker */
    void *mon;    /* PAIR reading its disconnect events */
    size_t drops; /* ZMQ_EVENT_DISCONNECTED seen */
};

static void
s_setopt(void *sock, int opt, const void *val, size_t len)
{
    if (zmq_setsockopt(sock, opt, val, len) != 0) {
        fail_msg("zmq_setsockopt(%d): %s", opt, zmq_strerror(zmq_errno()));
    }
}

hu_dealer *
hu_dealer_new(void *ctx, const char *agent_conf, int rcvhwm)
{
    vga_identity *id = NULL;
    vg_reason why = {{0}};
    vg_err rc = vga_identity_load(&id, agent_conf, 0, &why);
    if (rc != VG_OK) {
        fail_msg("load %s: %s: %s", agent_conf, vg_err_code(rc), why.text);
    }
    const vga_config *cfg = vga_identity_config(id);
    const vg_keyset *ks = vga_identity_keys(id);
    hu_dealer *d = calloc(1, sizeof *d);
    assert_non_null(d);
    d->sock = zmq_socket(ctx, ZMQ_DEALER);
    assert_non_null(d->sock);
    int linger = 0;
    s_setopt(d->sock, ZMQ_CURVE_SERVERKEY, cfg->broker_pk, VG_CURVE_KEY_LEN);
    s_setopt(d->sock, ZMQ_CURVE_PUBLICKEY, vg_keyset_curve_pk(ks), VG_CURVE_KEY_LEN);
    s_setopt(d->sock, ZMQ_CURVE_SECRETKEY, vg_keyset_curve_sk(ks), VG_CURVE_KEY_LEN);
    s_setopt(d->sock, ZMQ_LINGER, &linger, sizeof linger);
    if (rcvhwm > 0) {
        s_setopt(d->sock, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm);
        int rcvbuf = 4096; /* the kernel buffers little too: a client that does not read */
        s_setopt(d->sock, ZMQ_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://hu-mon-%p", (void *)d);
    assert_int_equal(zmq_socket_monitor(d->sock, ep, ZMQ_EVENT_DISCONNECTED), 0);
    d->mon = zmq_socket(ctx, ZMQ_PAIR);
    assert_non_null(d->mon);
    s_setopt(d->mon, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_connect(d->mon, ep), 0);
    if (zmq_connect(d->sock, cfg->endpoint) != 0) {
        fail_msg("zmq_connect %s: %s", cfg->endpoint, zmq_strerror(zmq_errno()));
    }
    vga_identity_destroy(&id);
    return d;
}

void
hu_dealer_destroy(hu_dealer **d_p)
{
    if (d_p == NULL || *d_p == NULL) {
        return;
    }
    hu_dealer *d = *d_p;
    zmq_socket_monitor(d->sock, NULL, 0);
    zmq_close(d->mon);
    zmq_close(d->sock);
    free(d);
    *d_p = NULL;
}

void *
hu_dealer_socket(hu_dealer *d)
{
    return d->sock;
}

bool
hu_dealer_send(hu_dealer *d, const void *data, size_t len)
{
    return zmq_send(d->sock, data, len, ZMQ_DONTWAIT) == (int)len;
}

size_t
hu_dealer_drops(hu_dealer *d, int64_t ms)
{
    int64_t end = bh_now_ms() + ms;
    for (;;) {
        int64_t left = end - bh_now_ms();
        zmq_pollitem_t item = {d->mon, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, left > 0 ? (long)left : 0) <= 0) {
            return d->drops;
        }
        zmq_msg_t head;
        zmq_msg_init(&head);
        if (zmq_msg_recv(&head, d->mon, 0) >= 0) {
            bool more = zmq_msg_more(&head);
            d->drops++;
            zmq_msg_close(&head);
            if (more) {
                zmq_msg_t addr;
                zmq_msg_init(&addr);
                (void)zmq_msg_recv(&addr, d->mon, 0);
                zmq_msg_close(&addr);
            }
        } else {
            zmq_msg_close(&head);
        }
    }
}

/* ---- misc ------------------------------------------------------------------------------------ */

static int
s_cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

double
hu_percentile(int64_t *samples_us, size_t n, double p)
{
    if (n == 0) {
        return 0.0;
    }
    qsort(samples_us, n, sizeof *samples_us, s_cmp_i64);
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    size_t i = rank == 0 ? 0 : rank - 1;
    return (double)samples_us[i < n ? i : n - 1] / 1000.0;
}

vg_err
hu_vga_publish(vga_agent *a, const char *category, const char *to_csv, const char *description,
               uint8_t id_out[VG_ALERT_ID_LEN], vg_reason *why)
{
    vg_alert alert;
    bh_alert_init(&alert, "hostile suite alert", description, category, to_csv);
    vga_confirm res;
    vg_err rc = vga_publish(a, &alert, HU_REPLY_MS, &res, why);
    if (id_out != NULL) {
        memcpy(id_out, res.alert_id, VG_ALERT_ID_LEN);
    }
    if (rc != VG_OK && why != NULL && why->text[0] == '\0') {
        snprintf(why->text, sizeof why->text, "%s", res.reason.text);
    }
    vga_confirm_fini(&res);
    bh_alert_fini(&alert);
    return rc;
}
