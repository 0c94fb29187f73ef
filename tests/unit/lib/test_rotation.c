/* test_rotation.c — signatures and sealed keys across key rotations and
 * compromises: vg_envelope_verify, vg_receipt_verify and vg_share_verify
 * trust a previous sign key only for what was created before its overlap
 * ended and refuse anything signed at or after a key's compromise time
 * (VG_ERR_KEY_COMPROMISED); alerts sealed to an old box key open with the
 * keyring an agency keeps (vg_envelope_open_ring and friends). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil.pb-c.h"
#include "vigil/clock.h"
#include "vigil/envelope.h"
#include "vigil/receipt.h"
#include "vigil/share.h"
#include "vt.h"

#define T0 (VT_ISSUED_MS + 1000)         /* before anything happens */
#define T_ROTATED (VT_ISSUED_MS + 60000) /* the new keys become current */
#define T_UNTIL (VT_ISSUED_MS + 600000)  /* the old keys' overlap ends */
#define T_LEAK (VT_ISSUED_MS + 300000)   /* a key was stolen */

typedef struct fixture {
    vt_net *net;   /* 5 agencies: agency-04 can be shared with */
    vg_alert sent; /* the sample alert */
} fixture;

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->net = vt_net_new(5);
    static const char *const rcpts[] = {"licensing", "police", "childrens-services"};
    vt_alert_sample(&f->sent, rcpts, 3);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    vt_alert_fini(&f->sent);
    vt_net_destroy(&f->net);
    free(f);
    return 0;
}

/* Seals the sample alert from sender at created_ms under the current document. */
static uint8_t *
s_seal_at(fixture *f, const char *sender, int64_t created_ms, size_t *len, vg_reason *why,
          vg_err *err_out)
{
    vg_seal_params p = vt_seal_params(f->net, sender);
    p.created_ms = created_ms;
    uint8_t *out = NULL;
    vg_err err = vg_envelope_seal(&out, len, NULL, &f->sent, &p, why);
    if (err_out != NULL) {
        *err_out = err;
    } else if (err != VG_OK) {
        fail_msg("seal: %s: %s", vg_err_code(err), why ? why->text : "");
    }
    return out;
}

/* The envelope with its created time changed and re-signed with keys: what
 * a holder of those keys can make. */
static uint8_t *
s_resign_at(const uint8_t *in, size_t in_len, const vg_keyset *keys, int64_t created_ms,
            size_t *out_len)
{
    Vigil__SignedEnvelope *se = vigil__signed_envelope__unpack(NULL, in_len, in);
    assert_non_null(se);
    Vigil__EnvelopeBody *b = vigil__envelope_body__unpack(NULL, se->body.len, se->body.data);
    assert_non_null(b);
    b->created_ms = (uint64_t)created_ms;
    size_t blen = vigil__envelope_body__get_packed_size(b);
    uint8_t *body = malloc(blen);
    assert_non_null(body);
    vigil__envelope_body__pack(b, body);
    uint8_t sig[VG_SIGNATURE_LEN];
    assert_int_equal(vg_sign(sig, keys, VG_DOMAIN_ENVELOPE, body, blen), VG_OK);
    Vigil__SignedEnvelope ne = VIGIL__SIGNED_ENVELOPE__INIT;
    ne.body.data = body;
    ne.body.len = blen;
    ne.signature.data = sig;
    ne.signature.len = sizeof sig;
    ne.signer = se->signer;
    *out_len = vigil__signed_envelope__get_packed_size(&ne);
    uint8_t *out = malloc(*out_len);
    assert_non_null(out);
    vigil__signed_envelope__pack(&ne, out);
    free(body);
    vigil__envelope_body__free_unpacked(b, NULL);
    vigil__signed_envelope__free_unpacked(se, NULL);
    return out;
}

static vg_err
s_verify_env(fixture *f, const uint8_t *bytes, size_t len, vg_reason *why)
{
    vg_envelope *env = NULL;
    vg_err err = vg_envelope_verify(&env, bytes, len, f->net->doc, why);
    assert_true((err == VG_OK) == (env != NULL));
    vg_envelope_destroy(&env);
    return err;
}

/* Marks key `which` ("sign_key", "transport_key") of agency id's current keys
 * compromised from t and publishes. */
static void
s_compromise(fixture *f, const char *id, const char *which, int64_t t)
{
    json_t *card = vt_net_agency_json(f->net, id);
    json_t *comp = json_object_get(card, "compromised_at");
    if (comp == NULL) {
        comp = json_object();
        json_object_set_new(card, "compromised_at", comp);
    }
    json_object_set_new(comp, which, json_integer(t));
    vt_net_republish(f->net);
}

/* A ring of old then new (active: the newest), the caller's. */
static vg_keyring *
s_ring(vg_keyset **old_p, const vg_keyset *cur)
{
    vg_keyring *ring = NULL;
    assert_int_equal(vg_keyring_new(&ring), VG_OK);
    assert_int_equal(vg_keyring_add(ring, old_p), VG_OK);
    /* the current keys are borrowed by net: give the ring its own copy */
    vg_keyset *copy = NULL;
    char *dir = vt_tmpdir_new();
    char *path = vt_path(dir, "k");
    assert_int_equal(vg_keyset_save(cur, path, NULL), VG_OK);
    assert_int_equal(vg_keyset_load(&copy, path, NULL), VG_OK);
    assert_int_equal(vg_keyring_add(ring, &copy), VG_OK);
    free(path);
    vt_tmpdir_destroy(&dir);
    return ring;
}

/* ---- compromise ---------------------------------------------------------------- */

static void
envelope_after_compromise_is_refused_before_stays_valid(void **state)
{
    fixture *f = *state;
    size_t before_len = 0, after_len = 0;
    uint8_t *before = s_seal_at(f, "police", T_LEAK - 1, &before_len, NULL, NULL);
    uint8_t *after = s_seal_at(f, "police", T_LEAK + 1, &after_len, NULL, NULL);
    s_compromise(f, "police", "sign_key", T_LEAK);
    vg_reason why = {{0}};
    assert_int_equal(s_verify_env(f, before, before_len, &why), VG_OK);
    assert_int_equal(s_verify_env(f, after, after_len, &why), VG_ERR_KEY_COMPROMISED);
    char t[VG_TIME_STR_LEN];
    vg_time_format(t, sizeof t, T_LEAK);
    char key[17];
    vg_hex_encode(key, sizeof key, vg_keyset_sign_pk(vt_net_keys(f->net, "police")), 8);
    assert_true(vt_reason_has(&why, "police"));
    assert_true(vt_reason_has(&why, key));
    assert_true(vt_reason_has(&why, t));
    /* exactly at the compromise time is already after it */
    size_t at_len = 0;
    uint8_t *at = s_resign_at(before, before_len, vt_net_keys(f->net, "police"), T_LEAK, &at_len);
    assert_int_equal(s_verify_env(f, at, at_len, NULL), VG_ERR_KEY_COMPROMISED);
    assert_int_equal(vg_reject_code(VG_ERR_KEY_COMPROMISED),
                     VIGIL__REJECT_CODE__REJECT_KEY_COMPROMISED);
    assert_int_equal(vg_reject_err(VIGIL__REJECT_CODE__REJECT_KEY_COMPROMISED),
                     VG_ERR_KEY_COMPROMISED);
    assert_string_equal(vg_err_code(VG_ERR_KEY_COMPROMISED), "key_compromised");
    free(at);
    free(before);
    free(after);
}

static void
sealing_with_a_compromised_key_is_refused(void **state)
{
    fixture *f = *state;
    s_compromise(f, "police", "sign_key", T_LEAK);
    size_t len = 0;
    vg_err err = VG_OK;
    vg_reason why = {{0}};
    uint8_t *out = s_seal_at(f, "police", T_LEAK + 1, &len, &why, &err);
    assert_int_equal(err, VG_ERR_KEY_COMPROMISED);
    assert_null(out);
    out = s_seal_at(f, "police", T_LEAK - 1, &len, &why, &err);
    assert_int_equal(err, VG_OK);
    free(out);
}

static void
receipt_after_compromise_is_refused(void **state)
{
    fixture *f = *state;
    vg_receipt_item item = {{1}, {2}};
    vg_receipt_spec spec = {.agency = "licensing",
                            .kind = VG_RECEIPT_DELIVERED,
                            .created_ms = T_LEAK,
                            .items = &item,
                            .n_items = 1,
                            .network_version = 1};
    uint8_t *after = NULL, *before = NULL;
    size_t after_len = 0, before_len = 0;
    const vg_keyset *ks = vt_net_keys(f->net, "licensing");
    assert_int_equal(vg_receipt_sign(&after, &after_len, &spec, ks, NULL), VG_OK);
    spec.created_ms = T_LEAK - 1;
    assert_int_equal(vg_receipt_sign(&before, &before_len, &spec, ks, NULL), VG_OK);
    s_compromise(f, "licensing", "sign_key", T_LEAK);
    vg_receipt *r = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vg_receipt_verify(&r, after, after_len, f->net->doc, &why),
                     VG_ERR_KEY_COMPROMISED);
    assert_true(vt_reason_has(&why, "receipt by 'licensing'"));
    assert_null(r);
    assert_int_equal(vg_receipt_verify(&r, before, before_len, f->net->doc, &why), VG_OK);
    vg_receipt_destroy(&r);
    free(after);
    free(before);
}

static void
compromised_previous_key_is_refused_from_then_on(void **state)
{
    fixture *f = *state;
    size_t len = 0;
    uint8_t *env = s_seal_at(f, "police", T0, &len, NULL, NULL);
    vg_keyset *old = vt_net_rotate(f->net, "police", T_ROTATED, T_UNTIL);
    json_t *prev =
        json_array_get(json_object_get(vt_net_agency_json(f->net, "police"), "previous_keys"), 0);
    json_t *comp = json_object();
    json_object_set_new(comp, "sign_key", json_integer(T_LEAK));
    json_object_set_new(prev, "compromised_at", comp);
    vt_net_republish(f->net);
    vg_reason why = {{0}};
    assert_int_equal(s_verify_env(f, env, len, &why), VG_OK); /* created T0, before the leak */
    size_t late_len = 0;
    uint8_t *late = s_resign_at(env, len, old, T_LEAK + 5, &late_len); /* inside the overlap */
    assert_int_equal(s_verify_env(f, late, late_len, &why), VG_ERR_KEY_COMPROMISED);
    assert_true(vt_reason_has(&why, "previous sign key"));
    free(late);
    free(env);
    vg_keyset_destroy(&old);
}

/* ---- rotation: previous sign keys ------------------------------------------- */

static void
previous_sign_key_is_trusted_until_its_overlap_ends(void **state)
{
    fixture *f = *state;
    size_t len = 0;
    uint8_t *env = s_seal_at(f, "police", T0, &len, NULL, NULL);
    vg_keyset *old = vt_net_rotate(f->net, "police", T_ROTATED, T_UNTIL);
    vg_reason why = {{0}};
    /* what the old key signed before the rotation still verifies */
    assert_int_equal(s_verify_env(f, env, len, &why), VG_OK);
    /* during the overlap, an agent that has not switched yet is trusted */
    size_t l2 = 0;
    uint8_t *during = s_resign_at(env, len, old, T_UNTIL - 1, &l2);
    assert_int_equal(s_verify_env(f, during, l2, &why), VG_OK);
    free(during);
    /* at and after its end, not */
    uint8_t *after = s_resign_at(env, len, old, T_UNTIL, &l2);
    assert_int_equal(s_verify_env(f, after, l2, &why), VG_ERR_REVOKED);
    assert_true(vt_reason_has(&why, "overlap ended"));
    free(after);
    /* the new key signs from now on */
    size_t nlen = 0;
    uint8_t *fresh = s_seal_at(f, "police", T_UNTIL + 1, &nlen, NULL, NULL);
    assert_int_equal(s_verify_env(f, fresh, nlen, &why), VG_OK);
    /* and the old keys cannot seal under the new document */
    vg_seal_params p = vt_seal_params(f->net, "police");
    p.keys = old;
    uint8_t *out = NULL;
    size_t olen = 0;
    assert_int_equal(vg_envelope_seal(&out, &olen, NULL, &f->sent, &p, NULL),
                     VG_ERR_SENDER_MISMATCH);
    free(fresh);
    free(env);
    vg_keyset_destroy(&old);
}

static void
receipt_by_previous_key_after_overlap_is_refused(void **state)
{
    fixture *f = *state;
    vg_keyset *old = vt_net_rotate(f->net, "licensing", T_ROTATED, T_UNTIL);
    vg_receipt_item item = {{1}, {2}};
    vg_receipt_spec spec = {.agency = "licensing",
                            .kind = VG_RECEIPT_DELIVERED,
                            .created_ms = T_UNTIL - 1,
                            .items = &item,
                            .n_items = 1,
                            .network_version = 2};
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_receipt *r = NULL;
    assert_int_equal(vg_receipt_sign(&bytes, &len, &spec, old, NULL), VG_OK);
    assert_int_equal(vg_receipt_verify(&r, bytes, len, f->net->doc, NULL), VG_OK);
    vg_receipt_destroy(&r);
    free(bytes);
    spec.created_ms = T_UNTIL;
    assert_int_equal(vg_receipt_sign(&bytes, &len, &spec, old, NULL), VG_OK);
    assert_int_equal(vg_receipt_verify(&r, bytes, len, f->net->doc, NULL), VG_ERR_REVOKED);
    free(bytes);
    vg_keyset_destroy(&old);
}

static void
key_of_another_agency_is_still_a_bad_signature(void **state)
{
    fixture *f = *state;
    size_t len = 0, l2 = 0;
    uint8_t *env = s_seal_at(f, "police", T0, &len, NULL, NULL);
    vg_keyset *old = vt_net_rotate(f->net, "licensing", T_ROTATED, T_UNTIL);
    /* licensing's old key signing as police */
    uint8_t *forged = s_resign_at(env, len, old, T0, &l2);
    assert_int_equal(s_verify_env(f, forged, l2, NULL), VG_ERR_BAD_SIGNATURE);
    free(forged);
    free(env);
    vg_keyset_destroy(&old);
}

/* ---- rotation: box keys ------------------------------------------------------- */

static void
alert_sealed_to_old_box_key_opens_after_rotation(void **state)
{
    fixture *f = *state;
    size_t len = 0;
    uint8_t *bytes = s_seal_at(f, "home-office", T0, &len, NULL, NULL);
    vg_keyset *old = vt_net_rotate(f->net, "licensing", T_ROTATED, T_UNTIL);
    vg_envelope *env = NULL;
    assert_int_equal(vg_envelope_verify(&env, bytes, len, f->net->doc, NULL), VG_OK);
    vg_alert got;
    vg_reason why = {{0}};
    /* the new key alone cannot open it: it was sealed to the old one */
    assert_int_equal(
        vg_envelope_open(&got, env, "licensing", vt_net_keys(f->net, "licensing"), &why),
        VG_ERR_UNSEAL);
    /* the keyring can */
    vg_keyring *ring = s_ring(&old, vt_net_keys(f->net, "licensing"));
    assert_null(old);
    assert_int_equal(vg_envelope_open_ring(&got, env, "licensing", ring, &why), VG_OK);
    vt_alert_assert_same(&f->sent, &got);
    vg_alert_fini(&got);
    /* an alert sealed after the rotation opens too (to the new key, tried first) */
    size_t nlen = 0;
    uint8_t *nbytes = s_seal_at(f, "home-office", T_ROTATED + 1, &nlen, NULL, NULL);
    vg_envelope *nenv = NULL;
    assert_int_equal(vg_envelope_verify(&nenv, nbytes, nlen, f->net->doc, NULL), VG_OK);
    assert_int_equal(vg_envelope_open_ring(&got, nenv, "licensing", ring, &why), VG_OK);
    vg_alert_fini(&got);
    /* whichever set is active */
    assert_int_equal(vg_keyring_set_active(ring, 0), VG_OK);
    assert_int_equal(vg_envelope_open_ring(&got, nenv, "licensing", ring, &why), VG_OK);
    vg_alert_fini(&got);
    assert_int_equal(vg_envelope_open_ring(&got, env, "licensing", ring, &why), VG_OK);
    vg_alert_fini(&got);
    vg_envelope_destroy(&nenv);
    free(nbytes);
    vg_keyring_destroy(&ring);
    vg_envelope_destroy(&env);
    free(bytes);
}

static void
share_of_alert_sealed_to_old_box_key(void **state)
{
    fixture *f = *state;
    size_t len = 0;
    uint8_t *bytes = s_seal_at(f, "home-office", T0, &len, NULL, NULL);
    vg_keyset *old = vt_net_rotate(f->net, "licensing", T_ROTATED, T_UNTIL);
    vg_keyring *ring = s_ring(&old, vt_net_keys(f->net, "licensing"));
    vg_envelope *env = NULL;
    assert_int_equal(vg_envelope_verify(&env, bytes, len, f->net->doc, NULL), VG_OK);
    uint8_t key[VG_CONTENT_KEY_LEN];
    vg_reason why = {{0}};
    assert_int_equal(
        vg_envelope_content_key(key, env, "licensing", vt_net_keys(f->net, "licensing"), &why),
        VG_ERR_UNSEAL);
    assert_int_equal(vg_envelope_content_key_ring(key, env, "licensing", ring, &why), VG_OK);
    /* licensing shares it on after the rotation: unsealed with its old box
     * key, signed with its new sign key; nothing is re-sealed to licensing */
    uint8_t *share = NULL;
    size_t share_len = 0;
    assert_int_equal(vg_share_create_ring(&share, &share_len, env, "licensing", ring, "agency-04",
                                          "they need it", T_UNTIL + 1, f->net->doc, &why),
                     VG_OK);
    vg_share *sh = NULL;
    assert_int_equal(vg_share_verify(&sh, share, share_len, f->net->doc, &why), VG_OK);
    size_t klen = 0;
    const uint8_t *sealed = vg_share_sealed_key(sh, &klen);
    vg_alert got;
    assert_int_equal(
        vg_envelope_open_sealed(&got, env, sealed, klen, vt_net_keys(f->net, "agency-04"), &why),
        VG_OK);
    vt_alert_assert_same(&f->sent, &got);
    vg_alert_fini(&got);
    vg_share_destroy(&sh);
    free(share);
    vg_envelope_destroy(&env);
    vg_keyring_destroy(&ring);
    free(bytes);
}

static void
share_by_previous_key_after_overlap_is_refused(void **state)
{
    fixture *f = *state;
    size_t len = 0;
    uint8_t *bytes = s_seal_at(f, "home-office", T0, &len, NULL, NULL);
    vg_keyset *old = vt_net_rotate(f->net, "licensing", T_ROTATED, T_UNTIL);
    vg_envelope *env = NULL;
    assert_int_equal(vg_envelope_verify(&env, bytes, len, f->net->doc, NULL), VG_OK);
    uint8_t *share = NULL;
    size_t share_len = 0;
    vg_share *sh = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vg_share_create(&share, &share_len, env, "licensing", old, "agency-04",
                                     "they need it", T_UNTIL - 1, f->net->doc, &why),
                     VG_OK);
    assert_int_equal(vg_share_verify(&sh, share, share_len, f->net->doc, &why), VG_OK);
    vg_share_destroy(&sh);
    free(share);
    assert_int_equal(vg_share_create(&share, &share_len, env, "licensing", old, "agency-04",
                                     "they need it", T_UNTIL, f->net->doc, &why),
                     VG_OK);
    assert_int_equal(vg_share_verify(&sh, share, share_len, f->net->doc, &why), VG_ERR_REVOKED);
    assert_true(vt_reason_has(&why, "share by 'licensing'"));
    free(share);
    vg_envelope_destroy(&env);
    vg_keyset_destroy(&old);
    free(bytes);
}

static void
ring_that_opens_nothing_says_so(void **state)
{
    fixture *f = *state;
    size_t len = 0;
    uint8_t *bytes = s_seal_at(f, "home-office", T0, &len, NULL, NULL);
    vg_envelope *env = NULL;
    assert_int_equal(vg_envelope_verify(&env, bytes, len, f->net->doc, NULL), VG_OK);
    vg_keyset *a = NULL;
    assert_int_equal(vg_keyset_generate(&a, VG_KEY_ALL), VG_OK);
    vg_keyring *ring = s_ring(&a, vt_net_keys(f->net, "police")); /* police's, not licensing's */
    vg_alert got;
    vg_reason why = {{0}};
    assert_int_equal(vg_envelope_open_ring(&got, env, "licensing", ring, &why), VG_ERR_UNSEAL);
    assert_true(vt_reason_has(&why, "nor with any earlier one"));
    vg_keyring *empty = NULL;
    assert_int_equal(vg_keyring_new(&empty), VG_OK);
    assert_int_equal(vg_envelope_open_ring(&got, env, "licensing", empty, &why), VG_ERR_INVALID);
    vg_keyring_destroy(&empty);
    vg_keyring_destroy(&ring);
    vg_envelope_destroy(&env);
    free(bytes);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(envelope_after_compromise_is_refused_before_stays_valid),
        T(sealing_with_a_compromised_key_is_refused),
        T(receipt_after_compromise_is_refused),
        T(compromised_previous_key_is_refused_from_then_on),
        T(previous_sign_key_is_trusted_until_its_overlap_ends),
        T(receipt_by_previous_key_after_overlap_is_refused),
        T(key_of_another_agency_is_still_a_bad_signature),
        T(alert_sealed_to_old_box_key_opens_after_rotation),
        T(share_of_alert_sealed_to_old_box_key),
        T(share_by_previous_key_after_overlap_is_refused),
        T(ring_that_opens_nothing_says_so),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
