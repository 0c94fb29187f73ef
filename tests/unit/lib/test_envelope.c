/* test_envelope.c — vigil/envelope.h: seal, verify, open, and every way to
 * tamper with an envelope, including a malicious sender who signs what it
 * tampered with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "vigil.pb-c.h"
#include "vigil/envelope.h"
#include "vigil/util.h"
#include "vt.h"

static const char *const s_two[] = {"licensing", "childrens-services"};

/* ---- fixtures ----------------------------------------------------------- */

typedef struct fixture {
    vt_net *net;    /* 4 agencies */
    uint8_t *env;   /* police -> licensing, childrens-services */
    size_t env_len; /* its length */
} fixture;

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->net = vt_net_new(4);
    vt_seal_sample(&f->env, &f->env_len, f->net, "police", s_two, 2, NULL, 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    free(f->env);
    vt_net_destroy(&f->net);
    free(f);
    return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static vg_err
s_verify(vg_envelope **out, const vt_net *net, const uint8_t *bytes, size_t len, vg_reason *why)
{
    vg_envelope *env = NULL;
    vg_err err = vg_envelope_verify(&env, bytes, len, net->doc, why);
    if (err == VG_OK) {
        assert_non_null(env);
    } else {
        assert_null(env);
    }
    if (out != NULL) {
        *out = env;
    } else {
        vg_envelope_destroy(&env);
    }
    return err;
}

static vg_envelope *
s_verify_ok(const vt_net *net, const uint8_t *bytes, size_t len)
{
    vg_envelope *env = NULL;
    vg_reason why = {{0}};
    vg_err err = s_verify(&env, net, bytes, len, &why);
    if (err != VG_OK) {
        print_error("verify: %s: %s\n", vg_err_code(err), why.text);
    }
    assert_int_equal(err, VG_OK);
    return env;
}

/* Opens env as `me` and returns the code; the alert is released. */
static vg_err
s_open(const vt_net *net, const vg_envelope *env, const char *me, vg_reason *why)
{
    vg_alert a;
    memset(&a, 0xa5, sizeof a);
    vg_err err = vg_envelope_open(&a, env, me, vt_net_keys(net, me), why);
    if (err == VG_OK) {
        vg_alert_fini(&a);
    }
    return err;
}

/* Seals `a` from police; returns the code. */
static vg_err
s_seal(uint8_t **out, size_t *out_len, const vt_net *net, const vg_alert *a, vg_reason *why)
{
    vg_seal_params p = vt_seal_params(net, "police");
    return vg_envelope_seal(out, out_len, NULL, a, &p, why);
}

/*
 * The malicious sender: unpack a SignedEnvelope and its body, let mutate()
 * change the body, re-serialise and sign it with `keys`, naming `signer`
 * (NULL keeps the original hint). Top-level fields of the body are restored
 * before it is freed, so mutators may point them at their own memory; nested
 * buffers may be changed in place only.
 */
typedef void (*s_mutator)(Vigil__EnvelopeBody *b, void *ctx);

static void
s_resign(uint8_t **out, size_t *out_len, const uint8_t *in, size_t in_len, const vg_keyset *keys,
         const char *signer, s_mutator mutate, void *ctx)
{
    Vigil__SignedEnvelope *se = vigil__signed_envelope__unpack(NULL, in_len, in);
    assert_non_null(se);
    Vigil__EnvelopeBody *b = vigil__envelope_body__unpack(NULL, se->body.len, se->body.data);
    assert_non_null(b);
    Vigil__EnvelopeBody saved = *b;
    if (mutate != NULL) {
        mutate(b, ctx);
    }
    size_t blen = vigil__envelope_body__get_packed_size(b);
    uint8_t *body = malloc(blen + 1);
    assert_non_null(body);
    assert_int_equal(vigil__envelope_body__pack(b, body), blen);
    *b = saved;
    vigil__envelope_body__free_unpacked(b, NULL);

    uint8_t sig[VG_SIGNATURE_LEN];
    assert_int_equal(vg_sign(sig, keys, VG_DOMAIN_ENVELOPE, body, blen), VG_OK);
    Vigil__SignedEnvelope ne = VIGIL__SIGNED_ENVELOPE__INIT;
    ne.body.data = body;
    ne.body.len = blen;
    ne.signature.data = sig;
    ne.signature.len = sizeof sig;
    ne.signer = (char *)(signer != NULL ? signer : se->signer);
    *out_len = vigil__signed_envelope__get_packed_size(&ne);
    *out = malloc(*out_len);
    assert_non_null(*out);
    assert_int_equal(vigil__signed_envelope__pack(&ne, *out), *out_len);
    free(body);
    vigil__signed_envelope__free_unpacked(se, NULL);
}

/* Re-signs f->env by police after mutate(), verifies it and returns the envelope. */
static vg_envelope *
s_malicious(fixture *f, s_mutator mutate, void *ctx)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    s_resign(&bytes, &len, f->env, f->env_len, vt_net_keys(f->net, "police"), NULL, mutate, ctx);
    vg_envelope *env = s_verify_ok(f->net, bytes, len);
    free(bytes);
    return env;
}

/* Re-signs f->env by police after mutate() and returns the verify code. */
static vg_err
s_malicious_verify(fixture *f, s_mutator mutate, void *ctx, vg_reason *why)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    s_resign(&bytes, &len, f->env, f->env_len, vt_net_keys(f->net, "police"), NULL, mutate, ctx);
    vg_err err = s_verify(NULL, f->net, bytes, len, why);
    free(bytes);
    return err;
}

static Vigil__SealedKey *
s_slot(Vigil__EnvelopeBody *b, const char *agency)
{
    for (size_t i = 0; i < b->n_recipients; i++) {
        if (strcmp(b->recipients[i]->agency, agency) == 0) {
            return b->recipients[i];
        }
    }
    fail_msg("no slot for %s", agency);
    return NULL;
}

/* ---- round trips -------------------------------------------------------- */

static void
s_round_trip(size_t n_recipients)
{
    vt_net *net = vt_net_new(n_recipients + 1);
    const char *recipients[VT_AGENCIES_MAX];
    for (size_t i = 0; i < n_recipients; i++) {
        recipients[i] = net->ids[i + 1];
    }
    vg_alert sent;
    vt_alert_sample(&sent, recipients, n_recipients);
    vg_seal_params p = vt_seal_params(net, "police");
    p.sequence = 42;
    uint8_t *bytes = NULL;
    size_t len = 0;
    uint8_t id[VG_ALERT_ID_LEN];
    vg_reason why = {{0}};
    vg_err err = vg_envelope_seal(&bytes, &len, id, &sent, &p, &why);
    if (err != VG_OK) {
        print_error("seal: %s\n", why.text);
    }
    assert_int_equal(err, VG_OK);
    assert_true(len <= VG_ENVELOPE_MAX_BYTES);

    vg_envelope *env = s_verify_ok(net, bytes, len);
    assert_memory_equal(vg_envelope_id(env), id, VG_ALERT_ID_LEN);
    assert_string_equal(vg_envelope_sender(env), "police");
    assert_int_equal(vg_envelope_sequence(env), 42);
    assert_true(vg_envelope_created_ms(env) == p.created_ms);
    assert_int_equal(vg_envelope_status(env), VG_STATUS_EXERCISE);
    assert_int_equal(vg_envelope_msg_type(env), VG_MSG_UPDATE);
    assert_int_equal(vg_envelope_severity(env), VG_SEV_HIGH);
    assert_int_equal(vg_envelope_urgency(env), VG_URG_IMMEDIATE);
    assert_int_equal(vg_envelope_network_version(env), 1);
    assert_int_equal(vg_envelope_categories(env)->n, 2);
    assert_string_equal(vg_envelope_categories(env)->items[1], "cse");
    const vg_strlist *rl = vg_envelope_recipients(env);
    assert_int_equal(rl->n, n_recipients);
    for (size_t i = 0; i < n_recipients; i++) {
        assert_string_equal(rl->items[i], recipients[i]);
        assert_true(vg_envelope_has_recipient(env, recipients[i]));
    }
    assert_false(vg_envelope_has_recipient(env, "police"));
    size_t blen = 0;
    const uint8_t *b = vg_envelope_bytes(env, &blen);
    assert_int_equal(blen, len);
    assert_memory_equal(b, bytes, len);
    vt_layout l;
    vt_layout_of(&l, bytes, len);
    uint8_t h[VG_HASH_LEN];
    vg_hash(h, bytes + l.body_off, l.body_len);
    assert_memory_equal(vg_envelope_hash(env), h, VG_HASH_LEN);

    for (size_t i = 0; i < n_recipients; i++) {
        vg_alert got;
        err = vg_envelope_open(&got, env, recipients[i], vt_net_keys(net, recipients[i]), &why);
        if (err != VG_OK) {
            print_error("open as %s: %s: %s\n", recipients[i], vg_err_code(err), why.text);
        }
        assert_int_equal(err, VG_OK);
        vt_alert_assert_same(&sent, &got);
        assert_memory_equal(got.id, id, VG_ALERT_ID_LEN);
        assert_string_equal(got.sender, "police");
        assert_int_equal(got.sequence, 42);
        assert_true(got.created_ms == p.created_ms);
        assert_int_equal(got.network_version, 1);
        vg_alert_fini(&got);
        assert_null(got.headline);
        assert_int_equal(got.n_areas, 0);
    }
    vg_envelope_destroy(&env);
    assert_null(env);
    vg_envelope_destroy(&env);
    free(bytes);
    vt_alert_fini(&sent);
    vt_net_destroy(&net);
}

static void
round_trip_1_recipient(void **state)
{
    (void)state;
    s_round_trip(1);
}

static void
round_trip_4_recipients(void **state)
{
    (void)state;
    s_round_trip(4);
}

static void
round_trip_20_recipients(void **state)
{
    (void)state;
    s_round_trip(20);
}

static void
seal_applies_defaults(void **state)
{
    fixture *f = *state;
    vg_alert a;
    memset(&a, 0, sizeof a);
    a.severity = VG_SEV_LOW;
    a.headline = "minimal";
    assert_int_equal(vg_strlist_add(&a.categories, "other"), VG_OK);
    assert_int_equal(vg_strlist_add(&a.recipients, "licensing"), VG_OK);
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(s_seal(&bytes, &len, f->net, &a, NULL), VG_OK);
    vg_envelope *env = s_verify_ok(f->net, bytes, len);
    assert_int_equal(vg_envelope_status(env), VG_STATUS_ACTUAL);
    assert_int_equal(vg_envelope_msg_type(env), VG_MSG_ALERT);
    assert_int_equal(vg_envelope_urgency(env), VG_URG_UNKNOWN);
    vg_alert got;
    assert_int_equal(
        vg_envelope_open(&got, env, "licensing", vt_net_keys(f->net, "licensing"), NULL), VG_OK);
    vt_alert_assert_same(&a, &got); /* NULL strings come back empty; language en-GB */
    assert_int_equal(got.certainty, VG_CERT_UNKNOWN);
    assert_string_equal(got.language, "en-GB");
    vg_alert_fini(&got);
    vg_envelope_destroy(&env);
    free(bytes);
    vg_strlist_fini(&a.categories);
    vg_strlist_fini(&a.recipients);
}

static void
seal_uses_given_alert_id(void **state)
{
    fixture *f = *state;
    vg_alert a;
    vt_alert_sample(&a, s_two, 2);
    uint8_t want[VG_ALERT_ID_LEN], id[VG_ALERT_ID_LEN];
    memset(want, 0x5c, sizeof want);
    vg_seal_params p = vt_seal_params(f->net, "police");
    p.alert_id = want;
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(vg_envelope_seal(&bytes, &len, id, &a, &p, NULL), VG_OK);
    assert_memory_equal(id, want, sizeof id);
    vg_envelope *env = s_verify_ok(f->net, bytes, len);
    assert_memory_equal(vg_envelope_id(env), want, sizeof want);
    vg_envelope_destroy(&env);
    free(bytes);
    vt_alert_fini(&a);
}

static void
seal_random_ids_differ(void **state)
{
    fixture *f = *state;
    vg_alert a;
    vt_alert_sample(&a, s_two, 2);
    vg_seal_params p = vt_seal_params(f->net, "police");
    uint8_t id1[VG_ALERT_ID_LEN], id2[VG_ALERT_ID_LEN];
    uint8_t *b1 = NULL, *b2 = NULL;
    size_t l1 = 0, l2 = 0;
    assert_int_equal(vg_envelope_seal(&b1, &l1, id1, &a, &p, NULL), VG_OK);
    assert_int_equal(vg_envelope_seal(&b2, &l2, id2, &a, &p, NULL), VG_OK);
    assert_memory_not_equal(id1, id2, VG_ALERT_ID_LEN);
    free(b1);
    free(b2);
    vt_alert_fini(&a);
}

static void
recipients_share_one_content_key(void **state)
{
    fixture *f = *state;
    vg_envelope *env = s_verify_ok(f->net, f->env, f->env_len);
    uint8_t k1[VG_CONTENT_KEY_LEN], k2[VG_CONTENT_KEY_LEN];
    assert_int_equal(
        vg_envelope_content_key(k1, env, "licensing", vt_net_keys(f->net, "licensing"), NULL),
        VG_OK);
    assert_int_equal(vg_envelope_content_key(k2, env, "childrens-services",
                                             vt_net_keys(f->net, "childrens-services"), NULL),
                     VG_OK);
    assert_memory_equal(k1, k2, sizeof k1);
    sodium_memzero(k1, sizeof k1);
    sodium_memzero(k2, sizeof k2);
    vg_envelope_destroy(&env);
}

/* ---- seal refusals ------------------------------------------------------ */

static void
s_assert_seal_refused(fixture *f, vg_alert *a, vg_err want)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    vg_err err = s_seal(&bytes, &len, f->net, a, &why);
    if (err != want) {
        print_error("want %s, got %s (%s)\n", vg_err_code(want), vg_err_code(err), why.text);
    }
    assert_int_equal(err, want);
    assert_null(bytes);
    assert_true(why.text[0] != '\0');
}

static void
seal_unknown_recipient_is_not_found(void **state)
{
    fixture *f = *state;
    const char *r[] = {"licensing", "fire-service"};
    vg_alert a;
    vt_alert_sample(&a, r, 2);
    s_assert_seal_refused(f, &a, VG_ERR_NOT_FOUND);
    vt_alert_fini(&a);
}

static void
seal_to_revoked_recipient_is_revoked(void **state)
{
    fixture *f = *state;
    vt_net_revoke(f->net, "childrens-services");
    vg_alert a;
    vt_alert_sample(&a, s_two, 2);
    s_assert_seal_refused(f, &a, VG_ERR_REVOKED);
    vt_alert_fini(&a);
}

static void
seal_by_revoked_sender_is_revoked(void **state)
{
    fixture *f = *state;
    vt_net_revoke(f->net, "police");
    vg_alert a;
    vt_alert_sample(&a, s_two, 2);
    s_assert_seal_refused(f, &a, VG_ERR_REVOKED);
    vt_alert_fini(&a);
}

static void
seal_with_other_agencys_keys_is_sender_mismatch(void **state)
{
    fixture *f = *state;
    vg_alert a;
    vt_alert_sample(&a, s_two, 2);
    vg_seal_params p = vt_seal_params(f->net, "police");
    p.keys = vt_net_keys(f->net, "home-office");
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(vg_envelope_seal(&bytes, &len, NULL, &a, &p, NULL), VG_ERR_SENDER_MISMATCH);
    assert_null(bytes);
    vt_alert_fini(&a);
}

static void
seal_by_unknown_sender_is_unknown_sender(void **state)
{
    fixture *f = *state;
    vg_alert a;
    vt_alert_sample(&a, s_two, 2);
    vg_seal_params p = vt_seal_params(f->net, "police");
    p.sender = "fire-service";
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(vg_envelope_seal(&bytes, &len, NULL, &a, &p, NULL), VG_ERR_UNKNOWN_SENDER);
    vt_alert_fini(&a);
}

static void
seal_category_outside_taxonomy_is_invalid(void **state)
{
    fixture *f = *state;
    vg_alert a;
    vt_alert_sample(&a, s_two, 2);
    assert_int_equal(vg_strlist_add(&a.categories, "weather"), VG_OK);
    s_assert_seal_refused(f, &a, VG_ERR_INVALID);
    vt_alert_fini(&a);
}

static void
seal_without_categories_is_invalid(void **state)
{
    fixture *f = *state;
    vg_alert a;
    vt_alert_sample(&a, s_two, 2);
    vg_strlist_fini(&a.categories);
    s_assert_seal_refused(f, &a, VG_ERR_INVALID);
    vt_alert_fini(&a);
}

static void
seal_without_recipients_is_invalid(void **state)
{
    fixture *f = *state;
    vg_alert a;
    vt_alert_sample(&a, NULL, 0);
    s_assert_seal_refused(f, &a, VG_ERR_INVALID);
    vt_alert_fini(&a);
}

static void
seal_duplicate_recipient_is_invalid(void **state)
{
    fixture *f = *state;
    const char *r[] = {"licensing", "licensing"};
    vg_alert a;
    vt_alert_sample(&a, r, 2);
    s_assert_seal_refused(f, &a, VG_ERR_INVALID);
    vt_alert_fini(&a);
}

static void
seal_without_headline_is_invalid(void **state)
{
    fixture *f = *state;
    vg_alert a;
    vt_alert_sample(&a, s_two, 2);
    free(a.headline);
    a.headline = NULL;
    s_assert_seal_refused(f, &a, VG_ERR_INVALID);
    a.headline = vg_strdup("");
    s_assert_seal_refused(f, &a, VG_ERR_INVALID);
    vt_alert_fini(&a);
}

static void
seal_without_severity_is_invalid(void **state)
{
    fixture *f = *state;
    vg_alert a;
    vt_alert_sample(&a, s_two, 2);
    a.severity = VG_SEV_UNSPECIFIED;
    s_assert_seal_refused(f, &a, VG_ERR_INVALID);
    vt_alert_fini(&a);
}

static void
seal_oversized_headline_is_too_large(void **state)
{
    fixture *f = *state;
    vg_alert a;
    vt_alert_sample(&a, s_two, 2);
    free(a.headline);
    a.headline = malloc(VG_SHORT_TEXT_MAX + 2);
    memset(a.headline, 'h', VG_SHORT_TEXT_MAX + 1);
    a.headline[VG_SHORT_TEXT_MAX + 1] = '\0';
    s_assert_seal_refused(f, &a, VG_ERR_TOO_LARGE);
    vt_alert_fini(&a);
}

static void
seal_oversized_description_is_too_large(void **state)
{
    fixture *f = *state;
    vg_alert a;
    vt_alert_sample(&a, s_two, 2);
    free(a.description);
    a.description = malloc(VG_TEXT_MAX + 2);
    memset(a.description, 'd', VG_TEXT_MAX + 1);
    a.description[VG_TEXT_MAX + 1] = '\0';
    s_assert_seal_refused(f, &a, VG_ERR_TOO_LARGE);
    vt_alert_fini(&a);
}

static void
seal_sequence_zero_is_invalid(void **state)
{
    fixture *f = *state;
    vg_alert a;
    vt_alert_sample(&a, s_two, 2);
    vg_seal_params p = vt_seal_params(f->net, "police");
    p.sequence = 0;
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(vg_envelope_seal(&bytes, &len, NULL, &a, &p, NULL), VG_ERR_INVALID);
    vt_alert_fini(&a);
}

/* ---- opening ------------------------------------------------------------ */

/* The sender is not a recipient but seals a copy of the key to itself: its
 * own console reads what it sent, and only with its own keys. */
static void
sender_opens_its_own_alert(void **state)
{
    fixture *f = *state;
    vg_envelope *env = s_verify_ok(f->net, f->env, f->env_len);
    vg_alert a;
    assert_int_equal(vg_envelope_open(&a, env, "police", vt_net_keys(f->net, "police"), NULL),
                     VG_OK);
    assert_string_equal(a.sender, "police");
    assert_false(vg_strlist_contains(&a.recipients, "police"));
    vg_alert_fini(&a);
    assert_int_equal(vg_envelope_open(&a, env, "police", vt_net_keys(f->net, "licensing"), NULL),
                     VG_ERR_UNSEAL);
    vg_envelope_destroy(&env);
}

static void
open_by_non_recipient_is_not_recipient(void **state)
{
    fixture *f = *state;
    vg_envelope *env = s_verify_ok(f->net, f->env, f->env_len);
    vg_reason why = {{0}};
    assert_int_equal(s_open(f->net, env, "home-office", &why), VG_ERR_NOT_RECIPIENT);
    assert_true(vt_reason_has(&why, "home-office"));
    uint8_t key[VG_CONTENT_KEY_LEN];
    assert_int_equal(
        vg_envelope_content_key(key, env, "home-office", vt_net_keys(f->net, "home-office"), NULL),
        VG_ERR_NOT_RECIPIENT);
    vg_envelope_destroy(&env);
}

static void
open_with_other_agencys_keys_is_unseal(void **state)
{
    fixture *f = *state;
    vg_envelope *env = s_verify_ok(f->net, f->env, f->env_len);
    vg_alert a;
    /* home-office claims to be licensing: its box key does not open licensing's slot */
    assert_int_equal(
        vg_envelope_open(&a, env, "licensing", vt_net_keys(f->net, "home-office"), NULL),
        VG_ERR_UNSEAL);
    vg_envelope_destroy(&env);
}

/* ---- tampering with the bytes on the wire ------------------------------- */

/* Flipping any byte never lets verify+open succeed, and the error says where. */
static void
s_flip_every_byte(fixture *f, uint8_t mask)
{
    vt_layout l;
    vt_layout_of(&l, f->env, f->env_len);
    assert_true(l.signer_len > 0);
    uint8_t *copy = malloc(f->env_len);
    size_t counts[4] = {0};
    for (size_t i = 0; i < f->env_len; i++) {
        memcpy(copy, f->env, f->env_len);
        copy[i] ^= mask;
        vg_envelope *env = NULL;
        vg_err err = s_verify(&env, f->net, copy, f->env_len, NULL);
        vt_region r = vt_region_at(&l, i);
        counts[r]++;
        bool ok;
        switch (r) {
        case VT_REGION_BODY:
        case VT_REGION_SIGNATURE:
            ok = err == VG_ERR_BAD_SIGNATURE;
            break;
        case VT_REGION_SIGNER:
            ok = err == VG_ERR_UNKNOWN_SENDER;
            break;
        default:
            ok = err == VG_ERR_MALFORMED || err == VG_ERR_BAD_SIGNATURE ||
                 err == VG_ERR_UNKNOWN_SENDER;
            break;
        }
        if (!ok) {
            print_error("byte %zu ^ %02x in region %d: %s\n", i, mask, (int)r, vg_err_code(err));
        }
        if (env != NULL) {
            for (size_t k = 0; k < 2; k++) {
                assert_int_not_equal(s_open(f->net, env, s_two[k], NULL), VG_OK);
            }
            vg_envelope_destroy(&env);
        }
        assert_true(ok);
    }
    assert_true(counts[VT_REGION_BODY] > 100);
    assert_int_equal(counts[VT_REGION_SIGNATURE], VG_SIGNATURE_LEN);
    assert_int_equal(counts[VT_REGION_SIGNER], strlen("police"));
    free(copy);
}

static void
flip_every_byte_low_bit(void **state)
{
    s_flip_every_byte(*state, 0x01);
}

static void
flip_every_byte_high_bit(void **state)
{
    s_flip_every_byte(*state, 0x80);
}

static void
flip_every_byte_all_bits(void **state)
{
    s_flip_every_byte(*state, 0xff);
}

static void
truncated_envelope_is_refused(void **state)
{
    fixture *f = *state;
    for (size_t len = 0; len < f->env_len; len++) {
        vg_err err = s_verify(NULL, f->net, f->env, len, NULL);
        if (err != VG_ERR_MALFORMED && err != VG_ERR_BAD_SIGNATURE &&
            err != VG_ERR_UNKNOWN_SENDER) {
            print_error("truncated at %zu: %s\n", len, vg_err_code(err));
            fail();
        }
    }
}

static void
too_large_envelope_is_refused(void **state)
{
    fixture *f = *state;
    size_t len = VG_ENVELOPE_MAX_BYTES + 1;
    uint8_t *big = calloc(1, len);
    assert_int_equal(s_verify(NULL, f->net, big, len, NULL), VG_ERR_TOO_LARGE);
    free(big);
}

static void
garbage_is_malformed(void **state)
{
    fixture *f = *state;
    uint8_t junk[200];
    memset(junk, 0xff, sizeof junk);
    assert_int_equal(s_verify(NULL, f->net, junk, sizeof junk, NULL), VG_ERR_MALFORMED);
}

/* ---- who signed it ------------------------------------------------------ */

static void
verify_under_newer_document(void **state)
{
    /* an envelope sealed under version 1 still verifies and opens under 2 */
    fixture *f = *state;
    json_object_set_new(f->net->json, "version", json_integer(2));
    vg_reason why = {{0}};
    assert_int_equal(vt_net_publish(f->net, 0, &why), VG_OK);
    vg_envelope *env = s_verify_ok(f->net, f->env, f->env_len);
    assert_int_equal(vg_envelope_network_version(env), 1);
    assert_int_equal(s_open(f->net, env, "licensing", NULL), VG_OK);
    vg_envelope_destroy(&env);
}

static void
revoked_sender_is_refused_at_verify(void **state)
{
    fixture *f = *state;
    vt_net_revoke(f->net, "police");
    vg_reason why = {{0}};
    assert_int_equal(s_verify(NULL, f->net, f->env, f->env_len, &why), VG_ERR_REVOKED);
    assert_true(vt_reason_has(&why, "police"));
}

static void
unknown_signer_is_unknown_sender(void **state)
{
    fixture *f = *state;
    uint8_t *bytes = NULL;
    size_t len = 0;
    s_resign(&bytes, &len, f->env, f->env_len, vt_net_keys(f->net, "police"), "fire-service", NULL,
             NULL);
    assert_int_equal(s_verify(NULL, f->net, bytes, len, NULL), VG_ERR_UNKNOWN_SENDER);
    free(bytes);
}

static void
s_set_sender_licensing(Vigil__EnvelopeBody *b, void *ctx)
{
    (void)ctx;
    b->sender = (char *)"licensing";
}

/* Signed by police, body claims licensing: the signer hint names police. */
static void
claimed_sender_other_than_signer_is_sender_mismatch(void **state)
{
    fixture *f = *state;
    vg_reason why = {{0}};
    assert_int_equal(s_malicious_verify(f, s_set_sender_licensing, NULL, &why),
                     VG_ERR_SENDER_MISMATCH);
    assert_true(vt_reason_has(&why, "licensing"));
}

/* Signed by police, signer hint names licensing (body says police). */
static void
signer_hint_naming_other_agency_is_bad_signature(void **state)
{
    fixture *f = *state;
    uint8_t *bytes = NULL;
    size_t len = 0;
    s_resign(&bytes, &len, f->env, f->env_len, vt_net_keys(f->net, "police"), "licensing", NULL,
             NULL);
    assert_int_equal(s_verify(NULL, f->net, bytes, len, NULL), VG_ERR_BAD_SIGNATURE);
    free(bytes);
}

/* Signed by police, body and hint both claim licensing. */
static void
forged_sender_and_hint_is_bad_signature(void **state)
{
    fixture *f = *state;
    uint8_t *bytes = NULL;
    size_t len = 0;
    s_resign(&bytes, &len, f->env, f->env_len, vt_net_keys(f->net, "police"), "licensing",
             s_set_sender_licensing, NULL);
    assert_int_equal(s_verify(NULL, f->net, bytes, len, NULL), VG_ERR_BAD_SIGNATURE);
    free(bytes);
}

static void
signed_with_other_domain_is_bad_signature(void **state)
{
    fixture *f = *state;
    vt_layout l;
    vt_layout_of(&l, f->env, f->env_len);
    uint8_t *copy = malloc(f->env_len);
    memcpy(copy, f->env, f->env_len);
    uint8_t sig[VG_SIGNATURE_LEN];
    assert_int_equal(vg_sign(sig, vt_net_keys(f->net, "police"), VG_DOMAIN_RECEIPT,
                             f->env + l.body_off, l.body_len),
                     VG_OK);
    memcpy(copy + l.sig_off, sig, sizeof sig);
    assert_int_equal(s_verify(NULL, f->net, copy, f->env_len, NULL), VG_ERR_BAD_SIGNATURE);
    free(copy);
}

static void
resigned_unchanged_body_still_opens(void **state)
{
    /* sanity check of the malicious-sender harness itself */
    fixture *f = *state;
    vg_envelope *env = s_malicious(f, NULL, NULL);
    assert_int_equal(s_open(f->net, env, "licensing", NULL), VG_OK);
    vg_envelope_destroy(&env);
}

/* ---- the malicious sender: signed, but inconsistent inside --------------- */

static void
s_flip_licensing_sealed_key(Vigil__EnvelopeBody *b, void *ctx)
{
    size_t pos = *(size_t *)ctx;
    s_slot(b, "licensing")->sealed_key.data[pos] ^= 0x01;
}

static void
flipped_sealed_key_is_unseal(void **state)
{
    fixture *f = *state;
    for (size_t pos = 0; pos < VG_SEALED_KEY_LEN; pos++) {
        vg_envelope *env = s_malicious(f, s_flip_licensing_sealed_key, &pos);
        vg_reason why = {{0}};
        assert_int_equal(s_open(f->net, env, "licensing", &why), VG_ERR_UNSEAL);
        assert_true(why.text[0] != '\0');
        /* the other recipient is unaffected */
        assert_int_equal(s_open(f->net, env, "childrens-services", NULL), VG_OK);
        vg_envelope_destroy(&env);
    }
}

static void
s_flip_ciphertext(Vigil__EnvelopeBody *b, void *ctx)
{
    size_t pos = *(size_t *)ctx; /* SIZE_MAX: the last byte (in the tag) */
    b->ciphertext.data[pos < b->ciphertext.len ? pos : b->ciphertext.len - 1] ^= 0x01;
}

static void
flipped_ciphertext_is_decrypt(void **state)
{
    fixture *f = *state;
    for (size_t pos = 0; pos < 300; pos += 7) {
        vg_envelope *env = s_malicious(f, s_flip_ciphertext, &pos);
        assert_int_equal(s_open(f->net, env, "licensing", NULL), VG_ERR_DECRYPT);
        vg_envelope_destroy(&env);
    }
    size_t last = SIZE_MAX;
    vg_envelope *env = s_malicious(f, s_flip_ciphertext, &last);
    assert_int_equal(s_open(f->net, env, "childrens-services", NULL), VG_ERR_DECRYPT);
    vg_envelope_destroy(&env);
}

static void
s_truncate_ciphertext(Vigil__EnvelopeBody *b, void *ctx)
{
    (void)ctx;
    b->ciphertext.len -= 1;
}

static void
truncated_ciphertext_is_decrypt(void **state)
{
    fixture *f = *state;
    vg_envelope *env = s_malicious(f, s_truncate_ciphertext, NULL);
    assert_int_equal(s_open(f->net, env, "licensing", NULL), VG_ERR_DECRYPT);
    vg_envelope_destroy(&env);
}

static void
s_flip_nonce(Vigil__EnvelopeBody *b, void *ctx)
{
    (void)ctx;
    b->nonce.data[3] ^= 0x40;
}

static void
flipped_nonce_is_decrypt(void **state)
{
    fixture *f = *state;
    vg_envelope *env = s_malicious(f, s_flip_nonce, NULL);
    assert_int_equal(s_open(f->net, env, "licensing", NULL), VG_ERR_DECRYPT);
    vg_envelope_destroy(&env);
}

static void
s_flip_commitment(Vigil__EnvelopeBody *b, void *ctx)
{
    size_t pos = *(size_t *)ctx;
    b->key_commitment.data[pos] ^= 0x01;
}

static void
wrong_commitment_is_commitment(void **state)
{
    fixture *f = *state;
    for (size_t pos = 0; pos < VG_HASH_LEN; pos++) {
        vg_envelope *env = s_malicious(f, s_flip_commitment, &pos);
        assert_int_equal(s_open(f->net, env, "licensing", NULL), VG_ERR_COMMITMENT);
        vg_envelope_destroy(&env);
    }
}

static void
s_flip_alert_id(Vigil__EnvelopeBody *b, void *ctx)
{
    (void)ctx;
    b->alert_id.data[0] ^= 0x01;
}

/* The commitment binds the alert id: relabelling an alert is caught. */
static void
changed_alert_id_is_commitment(void **state)
{
    fixture *f = *state;
    vg_envelope *env = s_malicious(f, s_flip_alert_id, NULL);
    assert_int_equal(s_open(f->net, env, "licensing", NULL), VG_ERR_COMMITMENT);
    vg_envelope_destroy(&env);
}

typedef struct reseal_ctx {
    const uint8_t *to_pk; /* whose box key the key is sealed to */
    const uint8_t *key;   /* the content key to seal */
    const char *slot;     /* whose slot receives it */
} reseal_ctx;

static void
s_reseal(Vigil__EnvelopeBody *b, void *ctx)
{
    reseal_ctx *c = ctx;
    Vigil__SealedKey *sk = s_slot(b, c->slot);
    assert_int_equal(sk->sealed_key.len, VG_SEALED_KEY_LEN);
    assert_int_equal(crypto_box_seal(sk->sealed_key.data, c->key, VG_CONTENT_KEY_LEN, c->to_pk), 0);
}

static void
key_sealed_to_wrong_recipient_is_unseal(void **state)
{
    fixture *f = *state;
    vg_envelope *env0 = s_verify_ok(f->net, f->env, f->env_len);
    uint8_t key[VG_CONTENT_KEY_LEN];
    assert_int_equal(vg_envelope_content_key(key, env0, "childrens-services",
                                             vt_net_keys(f->net, "childrens-services"), NULL),
                     VG_OK);
    vg_envelope_destroy(&env0);
    /* licensing's slot holds the right key, sealed to children's services */
    reseal_ctx c = {vg_keyset_box_pk(vt_net_keys(f->net, "childrens-services")), key, "licensing"};
    vg_envelope *env = s_malicious(f, s_reseal, &c);
    assert_int_equal(s_open(f->net, env, "licensing", NULL), VG_ERR_UNSEAL);
    vg_envelope_destroy(&env);
    sodium_memzero(key, sizeof key);
}

/* A sender who gives one recipient a different key (so it would read other
 * text) is caught by the commitment. */
static void
different_key_for_one_recipient_is_commitment(void **state)
{
    fixture *f = *state;
    uint8_t other[VG_CONTENT_KEY_LEN];
    randombytes_buf(other, sizeof other);
    reseal_ctx c = {vg_keyset_box_pk(vt_net_keys(f->net, "licensing")), other, "licensing"};
    vg_envelope *env = s_malicious(f, s_reseal, &c);
    assert_int_equal(s_open(f->net, env, "licensing", NULL), VG_ERR_COMMITMENT);
    assert_int_equal(s_open(f->net, env, "childrens-services", NULL), VG_OK);
    vg_envelope_destroy(&env);
}

static void
s_swap_recipients(Vigil__EnvelopeBody *b, void *ctx)
{
    (void)ctx;
    Vigil__SealedKey *t = b->recipients[0];
    b->recipients[0] = b->recipients[1];
    b->recipients[1] = t;
}

/* The AEAD binds the ordered recipient list. */
static void
reordered_recipients_is_decrypt(void **state)
{
    fixture *f = *state;
    vg_envelope *env = s_malicious(f, s_swap_recipients, NULL);
    assert_int_equal(s_open(f->net, env, "licensing", NULL), VG_ERR_DECRYPT);
    vg_envelope_destroy(&env);
}

typedef struct drop_ctx {
    Vigil__SealedKey *keep[1]; /* replacement recipient array */
} drop_ctx;

static void
s_drop_second_recipient(Vigil__EnvelopeBody *b, void *ctx)
{
    drop_ctx *c = ctx;
    c->keep[0] = b->recipients[0];
    b->recipients = c->keep;
    b->n_recipients = 1;
}

/* Quietly dropping a recipient after encrypting changes the bound list. */
static void
dropped_recipient_is_decrypt(void **state)
{
    fixture *f = *state;
    drop_ctx c;
    vg_envelope *env = s_malicious(f, s_drop_second_recipient, &c);
    assert_int_equal(vg_envelope_recipients(env)->n, 1);
    assert_int_equal(s_open(f->net, env, "licensing", NULL), VG_ERR_DECRYPT);
    vg_envelope_destroy(&env);
}

/* ---- the malicious sender: malformed fields ----------------------------- */

static void
s_short_sealed_key(Vigil__EnvelopeBody *b, void *ctx)
{
    (void)ctx;
    s_slot(b, "licensing")->sealed_key.len = VG_SEALED_KEY_LEN - 1;
}

static void
s_short_nonce(Vigil__EnvelopeBody *b, void *ctx)
{
    (void)ctx;
    b->nonce.len = VG_NONCE_LEN - 1;
}

static void
s_short_commitment(Vigil__EnvelopeBody *b, void *ctx)
{
    (void)ctx;
    b->key_commitment.len = VG_HASH_LEN - 1;
}

static void
s_short_alert_id(Vigil__EnvelopeBody *b, void *ctx)
{
    (void)ctx;
    b->alert_id.len = VG_ALERT_ID_LEN - 1;
}

static void
s_no_severity(Vigil__EnvelopeBody *b, void *ctx)
{
    (void)ctx;
    b->severity = VIGIL__SEVERITY__SEVERITY_UNSPECIFIED;
}

static void
s_bad_status(Vigil__EnvelopeBody *b, void *ctx)
{
    (void)ctx;
    b->status = (Vigil__Status)99;
}

static void
s_sequence_zero(Vigil__EnvelopeBody *b, void *ctx)
{
    (void)ctx;
    b->sequence = 0;
}

static void
s_no_recipients(Vigil__EnvelopeBody *b, void *ctx)
{
    (void)ctx;
    b->n_recipients = 0;
}

static void
s_no_categories(Vigil__EnvelopeBody *b, void *ctx)
{
    (void)ctx;
    b->n_categories = 0;
}

static void
s_unknown_category(Vigil__EnvelopeBody *b, void *ctx)
{
    static char *cats[] = {(char *)"weather"};
    (void)ctx;
    b->categories = cats;
    b->n_categories = 1;
}

typedef struct dup_ctx {
    Vigil__SealedKey *list[2]; /* replacement recipient array */
} dup_ctx;

static void
s_duplicate_recipient(Vigil__EnvelopeBody *b, void *ctx)
{
    dup_ctx *c = ctx;
    c->list[0] = b->recipients[0];
    c->list[1] = b->recipients[0];
    b->recipients = c->list;
}

typedef struct stranger_ctx {
    Vigil__SealedKey sk; /* a slot for an agency not in the network */
    uint8_t data[VG_SEALED_KEY_LEN];
    Vigil__SealedKey *list[2]; /* replacement recipient array */
} stranger_ctx;

static void
s_stranger_recipient(Vigil__EnvelopeBody *b, void *ctx)
{
    stranger_ctx *c = ctx;
    Vigil__SealedKey init = VIGIL__SEALED_KEY__INIT;
    c->sk = init;
    c->sk.agency = (char *)"fire-service";
    memset(c->data, 7, sizeof c->data);
    c->sk.sealed_key.data = c->data;
    c->sk.sealed_key.len = sizeof c->data;
    c->list[0] = b->recipients[0];
    c->list[1] = &c->sk;
    b->recipients = c->list;
}

static void
s_bad_reference(Vigil__EnvelopeBody *b, void *ctx)
{
    (void)ctx;
    assert_true(b->n_references > 0);
    b->references[0].len = 3;
}

static void
s_assert_body_malformed(fixture *f, s_mutator m, void *ctx)
{
    vg_reason why = {{0}};
    vg_err err = s_malicious_verify(f, m, ctx, &why);
    if (err != VG_ERR_MALFORMED) {
        print_error("got %s (%s)\n", vg_err_code(err), why.text);
    }
    assert_int_equal(err, VG_ERR_MALFORMED);
    assert_true(why.text[0] != '\0');
}

static void
short_sealed_key_is_malformed(void **state)
{
    s_assert_body_malformed(*state, s_short_sealed_key, NULL);
}

static void
short_nonce_is_malformed(void **state)
{
    s_assert_body_malformed(*state, s_short_nonce, NULL);
}

static void
short_commitment_is_malformed(void **state)
{
    s_assert_body_malformed(*state, s_short_commitment, NULL);
}

static void
short_alert_id_is_malformed(void **state)
{
    s_assert_body_malformed(*state, s_short_alert_id, NULL);
}

static void
unspecified_severity_is_malformed(void **state)
{
    s_assert_body_malformed(*state, s_no_severity, NULL);
}

static void
out_of_range_status_is_malformed(void **state)
{
    s_assert_body_malformed(*state, s_bad_status, NULL);
}

static void
sequence_zero_is_malformed(void **state)
{
    s_assert_body_malformed(*state, s_sequence_zero, NULL);
}

static void
no_recipients_is_malformed(void **state)
{
    s_assert_body_malformed(*state, s_no_recipients, NULL);
}

static void
no_categories_is_malformed(void **state)
{
    s_assert_body_malformed(*state, s_no_categories, NULL);
}

static void
unknown_category_is_malformed(void **state)
{
    s_assert_body_malformed(*state, s_unknown_category, NULL);
}

static void
duplicate_recipient_is_malformed(void **state)
{
    dup_ctx c;
    s_assert_body_malformed(*state, s_duplicate_recipient, &c);
}

static void
unknown_recipient_is_malformed(void **state)
{
    stranger_ctx c;
    s_assert_body_malformed(*state, s_stranger_recipient, &c);
}

static void
bad_reference_is_malformed(void **state)
{
    s_assert_body_malformed(*state, s_bad_reference, NULL);
}

/* ---- policy ------------------------------------------------------------- */

static void
check_policy_names_missing_agencies(void **state)
{
    fixture *f = *state;
    const char *r[] = {"home-office"};
    const char *cats[] = {"taxi"};
    uint8_t *bytes = NULL;
    size_t len = 0;
    vt_seal_sample(&bytes, &len, f->net, "police", r, 1, cats, 1);
    vg_envelope *env = s_verify_ok(f->net, bytes, len);
    vg_strlist missing = {0};
    vg_reason why = {{0}};
    assert_int_equal(vg_envelope_check_policy(env, f->net->doc, NULL, &missing, &why),
                     VG_ERR_MISSING_RECIPIENTS);
    assert_int_equal(missing.n, 2);
    assert_string_equal(missing.items[0], "licensing");
    assert_string_equal(missing.items[1], "childrens-services");
    assert_true(vt_reason_has(&why, "licensing"));
    assert_true(vt_reason_has(&why, "childrens-services"));
    assert_int_equal(vg_envelope_check_policy(env, f->net->doc, NULL, NULL, NULL),
                     VG_ERR_MISSING_RECIPIENTS);
    vg_strlist_fini(&missing);
    vg_envelope_destroy(&env);
    free(bytes);
}

static void
check_policy_one_missing(void **state)
{
    fixture *f = *state;
    const char *r[] = {"licensing", "home-office"};
    const char *cats[] = {"other", "cse"};
    uint8_t *bytes = NULL;
    size_t len = 0;
    vt_seal_sample(&bytes, &len, f->net, "police", r, 2, cats, 2);
    vg_envelope *env = s_verify_ok(f->net, bytes, len);
    vg_strlist missing = {0};
    vg_reason why = {{0}};
    assert_int_equal(vg_envelope_check_policy(env, f->net->doc, NULL, &missing, &why),
                     VG_ERR_MISSING_RECIPIENTS);
    assert_int_equal(missing.n, 1);
    assert_string_equal(missing.items[0], "childrens-services");
    assert_true(vt_reason_has(&why, "childrens-services"));
    vg_strlist_fini(&missing);
    vg_envelope_destroy(&env);
    free(bytes);
}

static void
check_policy_all_present_is_ok(void **state)
{
    fixture *f = *state;
    vg_envelope *env = s_verify_ok(f->net, f->env, f->env_len); /* taxi+cse to both */
    vg_strlist missing = {0}, required = {0};
    assert_int_equal(vg_envelope_check_policy(env, f->net->doc, &required, &missing, NULL), VG_OK);
    assert_int_equal(missing.n, 0);
    /* the policy's answer comes back, so that it is evaluated once */
    assert_int_equal(required.n, 2);
    assert_true(vg_strlist_contains(&required, "licensing"));
    assert_true(vg_strlist_contains(&required, "childrens-services"));
    vg_strlist_fini(&required);
    vg_envelope_destroy(&env);
}

static void
verify_claimed_names_the_signer_even_when_refused(void **state)
{
    fixture *f = *state;
    char claimed[VG_AGENCY_ID_MAX + 1] = "x";
    vg_envelope *env = NULL;
    assert_int_equal(
        vg_envelope_verify_claimed(&env, f->env, f->env_len, f->net->doc, claimed, NULL), VG_OK);
    assert_string_equal(claimed, "police");
    vg_envelope_destroy(&env);
    uint8_t *bad = malloc(f->env_len);
    assert_non_null(bad);
    memcpy(bad, f->env, f->env_len);
    bad[10] ^= 1; /* inside the signed body: the signature no longer matches */
    vg_reason why = {{0}};
    assert_int_not_equal(
        vg_envelope_verify_claimed(&env, bad, f->env_len, f->net->doc, claimed, &why), VG_OK);
    assert_null(env);
    assert_string_equal(claimed, "police");
    assert_int_equal(vg_envelope_verify_claimed(&env, (const uint8_t *)"\xff\xff", 2, f->net->doc,
                                                claimed, &why),
                     VG_ERR_MALFORMED);
    assert_string_equal(claimed, "");
    free(bad);
}

static void
check_policy_unrelated_category_is_ok(void **state)
{
    fixture *f = *state;
    const char *r[] = {"home-office"};
    const char *cats[] = {"other"};
    uint8_t *bytes = NULL;
    size_t len = 0;
    vt_seal_sample(&bytes, &len, f->net, "police", r, 1, cats, 1);
    vg_envelope *env = s_verify_ok(f->net, bytes, len);
    assert_int_equal(vg_envelope_check_policy(env, f->net->doc, NULL, NULL, NULL), VG_OK);
    vg_envelope_destroy(&env);
    free(bytes);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_1_recipient),
        cmocka_unit_test(round_trip_4_recipients),
        cmocka_unit_test(round_trip_20_recipients),
        T(seal_applies_defaults),
        T(seal_uses_given_alert_id),
        T(seal_random_ids_differ),
        T(recipients_share_one_content_key),
        T(seal_unknown_recipient_is_not_found),
        T(seal_to_revoked_recipient_is_revoked),
        T(seal_by_revoked_sender_is_revoked),
        T(seal_with_other_agencys_keys_is_sender_mismatch),
        T(seal_by_unknown_sender_is_unknown_sender),
        T(seal_category_outside_taxonomy_is_invalid),
        T(seal_without_categories_is_invalid),
        T(seal_without_recipients_is_invalid),
        T(seal_duplicate_recipient_is_invalid),
        T(seal_without_headline_is_invalid),
        T(seal_without_severity_is_invalid),
        T(seal_oversized_headline_is_too_large),
        T(seal_oversized_description_is_too_large),
        T(seal_sequence_zero_is_invalid),
        T(open_by_non_recipient_is_not_recipient),
        T(sender_opens_its_own_alert),
        T(open_with_other_agencys_keys_is_unseal),
        T(flip_every_byte_low_bit),
        T(flip_every_byte_high_bit),
        T(flip_every_byte_all_bits),
        T(truncated_envelope_is_refused),
        T(too_large_envelope_is_refused),
        T(garbage_is_malformed),
        T(verify_under_newer_document),
        T(revoked_sender_is_refused_at_verify),
        T(unknown_signer_is_unknown_sender),
        T(claimed_sender_other_than_signer_is_sender_mismatch),
        T(signer_hint_naming_other_agency_is_bad_signature),
        T(forged_sender_and_hint_is_bad_signature),
        T(signed_with_other_domain_is_bad_signature),
        T(resigned_unchanged_body_still_opens),
        T(flipped_sealed_key_is_unseal),
        T(flipped_ciphertext_is_decrypt),
        T(truncated_ciphertext_is_decrypt),
        T(flipped_nonce_is_decrypt),
        T(wrong_commitment_is_commitment),
        T(changed_alert_id_is_commitment),
        T(key_sealed_to_wrong_recipient_is_unseal),
        T(different_key_for_one_recipient_is_commitment),
        T(reordered_recipients_is_decrypt),
        T(dropped_recipient_is_decrypt),
        T(short_sealed_key_is_malformed),
        T(short_nonce_is_malformed),
        T(short_commitment_is_malformed),
        T(short_alert_id_is_malformed),
        T(unspecified_severity_is_malformed),
        T(out_of_range_status_is_malformed),
        T(sequence_zero_is_malformed),
        T(no_recipients_is_malformed),
        T(no_categories_is_malformed),
        T(unknown_category_is_malformed),
        T(duplicate_recipient_is_malformed),
        T(unknown_recipient_is_malformed),
        T(bad_reference_is_malformed),
        T(check_policy_names_missing_agencies),
        T(check_policy_one_missing),
        T(verify_claimed_names_the_signer_even_when_refused),
        T(check_policy_all_present_is_ok),
        T(check_policy_unrelated_category_is_ok),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
