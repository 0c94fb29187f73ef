/* test_share.c — vigil/share.h: onward sharing of an alert to a new agency. */
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
#include "vigil/share.h"
#include "vt.h"

#define CREATED_MS (VT_ISSUED_MS + 60000)
#define REASON "licensing found a link to an open Home Office case"

static const char *const s_two[] = {"licensing", "childrens-services"};

typedef struct fixture {
    vt_net *net;    /* 5 agencies: police, licensing, childrens-services, home-office, agency-04 */
    vg_alert sent;  /* what police sealed */
    uint8_t *bytes; /* the sealed envelope */
    size_t len;     /* its length */
    vg_envelope *env; /* verified */
} fixture;

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->net = vt_net_new(5);
    vt_alert_sample(&f->sent, s_two, 2);
    vg_seal_params p = vt_seal_params(f->net, "police");
    assert_int_equal(vg_envelope_seal(&f->bytes, &f->len, NULL, &f->sent, &p, NULL), VG_OK);
    assert_int_equal(vg_envelope_verify(&f->env, f->bytes, f->len, f->net->doc, NULL), VG_OK);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    vg_envelope_destroy(&f->env);
    free(f->bytes);
    vt_alert_fini(&f->sent);
    vt_net_destroy(&f->net);
    free(f);
    return 0;
}

static vg_err
s_create(uint8_t **out, size_t *len, fixture *f, const char *me, const char *to, vg_reason *why)
{
    return vg_share_create(out, len, f->env, me, vt_net_keys(f->net, me), to, REASON, CREATED_MS,
                           f->net->doc, why);
}

static void
s_create_ok(uint8_t **out, size_t *len, fixture *f, const char *me, const char *to)
{
    vg_reason why = {{0}};
    vg_err err = s_create(out, len, f, me, to, &why);
    if (err != VG_OK) {
        print_error("share: %s: %s\n", vg_err_code(err), why.text);
    }
    assert_int_equal(err, VG_OK);
}

static vg_err
s_verify(vg_share **out, fixture *f, const uint8_t *bytes, size_t len, vg_reason *why)
{
    vg_share *s = NULL;
    vg_err err = vg_share_verify(&s, bytes, len, f->net->doc, why);
    if (err == VG_OK) {
        assert_non_null(s);
    } else {
        assert_null(s);
    }
    if (out != NULL) {
        *out = s;
    } else {
        vg_share_destroy(&s);
    }
    return err;
}

static vg_share *
s_verify_ok(fixture *f, const uint8_t *bytes, size_t len)
{
    vg_share *s = NULL;
    vg_reason why = {{0}};
    vg_err err = s_verify(&s, f, bytes, len, &why);
    if (err != VG_OK) {
        print_error("verify: %s: %s\n", vg_err_code(err), why.text);
    }
    assert_int_equal(err, VG_OK);
    return s;
}

/* ---- the happy path ----------------------------------------------------- */

static void
share_verify_and_accessors(void **state)
{
    fixture *f = *state;
    uint8_t *bytes = NULL;
    size_t len = 0;
    s_create_ok(&bytes, &len, f, "licensing", "home-office");
    vg_share *s = s_verify_ok(f, bytes, len);
    assert_memory_equal(vg_share_alert_id(s), vg_envelope_id(f->env), VG_ALERT_ID_LEN);
    assert_memory_equal(vg_share_envelope_hash(s), vg_envelope_hash(f->env), VG_HASH_LEN);
    assert_string_equal(vg_share_sharer(s), "licensing");
    assert_string_equal(vg_share_to(s), "home-office");
    assert_string_equal(vg_share_reason(s), REASON);
    assert_true(vg_share_created_ms(s) == CREATED_MS);
    size_t klen = 0;
    assert_non_null(vg_share_sealed_key(s, &klen));
    assert_int_equal(klen, VG_SEALED_KEY_LEN);
    size_t blen = 0;
    const uint8_t *b = vg_share_bytes(s, &blen);
    assert_int_equal(blen, len);
    assert_memory_equal(b, bytes, len);
    vt_layout l;
    vt_layout_of(&l, bytes, len);
    uint8_t h[VG_HASH_LEN];
    vg_hash(h, bytes + l.body_off, l.body_len);
    assert_memory_equal(vg_share_hash(s), h, VG_HASH_LEN);
    assert_true(vg_share_matches(s, f->env));
    vg_share_destroy(&s);
    assert_null(s);
    vg_share_destroy(&s);
    free(bytes);
}

static void
new_agency_reads_the_same_alert(void **state)
{
    fixture *f = *state;
    uint8_t *bytes = NULL;
    size_t len = 0;
    s_create_ok(&bytes, &len, f, "licensing", "home-office");
    vg_share *s = s_verify_ok(f, bytes, len);
    assert_true(vg_share_matches(s, f->env));
    size_t klen = 0;
    const uint8_t *key = vg_share_sealed_key(s, &klen);
    vg_alert got, orig;
    vg_reason why = {{0}};
    vg_err err =
        vg_envelope_open_sealed(&got, f->env, key, klen, vt_net_keys(f->net, "home-office"), &why);
    if (err != VG_OK) {
        print_error("open_sealed: %s: %s\n", vg_err_code(err), why.text);
    }
    assert_int_equal(err, VG_OK);
    vt_alert_assert_same(&f->sent, &got);
    assert_int_equal(
        vg_envelope_open(&orig, f->env, "licensing", vt_net_keys(f->net, "licensing"), NULL),
        VG_OK);
    vt_alert_assert_same(&orig, &got);
    assert_string_equal(got.sender, "police");
    vg_alert_fini(&orig);
    vg_alert_fini(&got);
    /* home-office is still not a listed recipient of the envelope itself */
    assert_int_equal(
        vg_envelope_open(&got, f->env, "home-office", vt_net_keys(f->net, "home-office"), NULL),
        VG_ERR_NOT_RECIPIENT);
    vg_share_destroy(&s);
    free(bytes);
}

static void
shared_key_opens_only_for_the_new_agency(void **state)
{
    fixture *f = *state;
    uint8_t *bytes = NULL;
    size_t len = 0;
    s_create_ok(&bytes, &len, f, "childrens-services", "home-office");
    vg_share *s = s_verify_ok(f, bytes, len);
    size_t klen = 0;
    const uint8_t *key = vg_share_sealed_key(s, &klen);
    vg_alert got;
    assert_int_equal(
        vg_envelope_open_sealed(&got, f->env, key, klen, vt_net_keys(f->net, "agency-04"), NULL),
        VG_ERR_UNSEAL);
    assert_int_equal(vg_envelope_open_sealed(&got, f->env, key, klen - 1,
                                             vt_net_keys(f->net, "home-office"), NULL),
                     VG_ERR_UNSEAL);
    vg_share_destroy(&s);
    free(bytes);
}

static void
share_does_not_match_other_envelope(void **state)
{
    fixture *f = *state;
    uint8_t *bytes = NULL, *other = NULL;
    size_t len = 0, olen = 0;
    s_create_ok(&bytes, &len, f, "licensing", "home-office");
    vg_share *s = s_verify_ok(f, bytes, len);
    vt_seal_sample(&other, &olen, f->net, "police", s_two, 2, NULL, 0);
    vg_envelope *env2 = NULL;
    assert_int_equal(vg_envelope_verify(&env2, other, olen, f->net->doc, NULL), VG_OK);
    assert_false(vg_share_matches(s, env2));
    /* and the shared key does not open that other alert */
    size_t klen = 0;
    const uint8_t *key = vg_share_sealed_key(s, &klen);
    vg_alert got;
    vg_err err =
        vg_envelope_open_sealed(&got, env2, key, klen, vt_net_keys(f->net, "home-office"), NULL);
    assert_int_equal(err, VG_ERR_COMMITMENT);
    vg_envelope_destroy(&env2);
    vg_share_destroy(&s);
    free(other);
    free(bytes);
}

/* ---- refusals at creation ----------------------------------------------- */

static void
s_assert_create_refused(fixture *f, const char *me, const char *to, vg_err want)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    vg_err err = s_create(&bytes, &len, f, me, to, &why);
    if (err != want) {
        print_error("want %s, got %s (%s)\n", vg_err_code(want), vg_err_code(err), why.text);
    }
    assert_int_equal(err, want);
    assert_null(bytes);
    assert_true(why.text[0] != '\0');
}

static void
share_to_listed_recipient_is_duplicate(void **state)
{
    s_assert_create_refused(*state, "licensing", "childrens-services", VG_ERR_DUPLICATE);
}

static void
share_to_sender_never_yields_a_bad_record(void **state)
{
    /* police sent it; it is not a listed recipient, but it is the sender */
    fixture *f = *state;
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_err err = s_create(&bytes, &len, f, "licensing", "police", NULL);
    /* either refused, or a valid share: never a crash or a malformed record */
    if (err == VG_OK) {
        vg_share *s = s_verify_ok(f, bytes, len);
        vg_share_destroy(&s);
        free(bytes);
    }
}

static void
share_to_unknown_agency_is_not_found(void **state)
{
    s_assert_create_refused(*state, "licensing", "fire-service", VG_ERR_NOT_FOUND);
}

static void
share_to_revoked_agency_is_revoked(void **state)
{
    fixture *f = *state;
    vt_net_revoke(f->net, "home-office");
    s_assert_create_refused(f, "licensing", "home-office", VG_ERR_REVOKED);
}

static void
share_by_non_recipient_is_not_recipient(void **state)
{
    s_assert_create_refused(*state, "agency-04", "home-office", VG_ERR_NOT_RECIPIENT);
}

static void
share_by_impostor_keys_is_unseal(void **state)
{
    /* agency-04 claims to be licensing but holds only its own keys */
    fixture *f = *state;
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(vg_share_create(&bytes, &len, f->env, "licensing",
                                     vt_net_keys(f->net, "agency-04"), "home-office", REASON,
                                     CREATED_MS, f->net->doc, NULL),
                     VG_ERR_UNSEAL);
    assert_null(bytes);
}

static void
share_without_reason_is_invalid(void **state)
{
    fixture *f = *state;
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(vg_share_create(&bytes, &len, f->env, "licensing",
                                     vt_net_keys(f->net, "licensing"), "home-office", "",
                                     CREATED_MS, f->net->doc, NULL),
                     VG_ERR_INVALID);
    assert_int_equal(vg_share_create(&bytes, &len, f->env, "licensing",
                                     vt_net_keys(f->net, "licensing"), "home-office", NULL,
                                     CREATED_MS, f->net->doc, NULL),
                     VG_ERR_INVALID);
    assert_null(bytes);
}

/* ---- refusals at verification ------------------------------------------- */

static void
flip_every_byte_is_refused(void **state)
{
    fixture *f = *state;
    uint8_t *bytes = NULL;
    size_t len = 0;
    s_create_ok(&bytes, &len, f, "licensing", "home-office");
    vt_layout l;
    vt_layout_of(&l, bytes, len);
    assert_int_equal(l.signer_len, strlen("licensing"));
    uint8_t *copy = malloc(len);
    static const uint8_t masks[] = {0x01, 0xff};
    for (size_t m = 0; m < sizeof masks; m++) {
        for (size_t i = 0; i < len; i++) {
            memcpy(copy, bytes, len);
            copy[i] ^= masks[m];
            vg_err err = s_verify(NULL, f, copy, len, NULL);
            vt_region r = vt_region_at(&l, i);
            bool ok;
            if (r == VT_REGION_BODY || r == VT_REGION_SIGNATURE) {
                ok = err == VG_ERR_BAD_SIGNATURE;
            } else if (r == VT_REGION_SIGNER) {
                ok = err == VG_ERR_UNKNOWN_SENDER;
            } else {
                ok = err == VG_ERR_MALFORMED || err == VG_ERR_BAD_SIGNATURE ||
                     err == VG_ERR_UNKNOWN_SENDER;
            }
            if (!ok) {
                print_error("byte %zu ^ %02x (region %d): %s\n", i, masks[m], (int)r,
                            vg_err_code(err));
            }
            assert_true(ok);
        }
    }
    free(copy);
    free(bytes);
}

static void
revoked_sharer_is_revoked(void **state)
{
    fixture *f = *state;
    uint8_t *bytes = NULL;
    size_t len = 0;
    s_create_ok(&bytes, &len, f, "licensing", "home-office");
    vt_net_revoke(f->net, "licensing");
    assert_int_equal(s_verify(NULL, f, bytes, len, NULL), VG_ERR_REVOKED);
    free(bytes);
}

static void
revoked_target_is_revoked(void **state)
{
    fixture *f = *state;
    uint8_t *bytes = NULL;
    size_t len = 0;
    s_create_ok(&bytes, &len, f, "licensing", "home-office");
    vt_net_revoke(f->net, "home-office");
    vg_reason why = {{0}};
    assert_int_equal(s_verify(NULL, f, bytes, len, &why), VG_ERR_REVOKED);
    assert_true(vt_reason_has(&why, "home-office"));
    free(bytes);
}

/* Re-signs a share's body by `keys` after mutate(), naming `signer`. */
typedef void (*s_mutator)(Vigil__ShareBody *b, void *ctx);

static void
s_resign(uint8_t **out, size_t *out_len, const uint8_t *in, size_t in_len, const vg_keyset *keys,
         const char *signer, s_mutator mutate, void *ctx)
{
    Vigil__SignedShare *ss = vigil__signed_share__unpack(NULL, in_len, in);
    assert_non_null(ss);
    Vigil__ShareBody *b = vigil__share_body__unpack(NULL, ss->body.len, ss->body.data);
    assert_non_null(b);
    Vigil__ShareBody saved = *b;
    if (mutate != NULL) {
        mutate(b, ctx);
    }
    size_t blen = vigil__share_body__get_packed_size(b);
    uint8_t *body = malloc(blen + 1);
    assert_int_equal(vigil__share_body__pack(b, body), blen);
    *b = saved;
    vigil__share_body__free_unpacked(b, NULL);
    uint8_t sig[VG_SIGNATURE_LEN];
    assert_int_equal(vg_sign(sig, keys, VG_DOMAIN_SHARE, body, blen), VG_OK);
    Vigil__SignedShare ns = VIGIL__SIGNED_SHARE__INIT;
    ns.body.data = body;
    ns.body.len = blen;
    ns.signature.data = sig;
    ns.signature.len = sizeof sig;
    ns.signer = (char *)signer;
    *out_len = vigil__signed_share__get_packed_size(&ns);
    *out = malloc(*out_len);
    assert_int_equal(vigil__signed_share__pack(&ns, *out), *out_len);
    free(body);
    vigil__signed_share__free_unpacked(ss, NULL);
}

static void
s_sharer_childrens(Vigil__ShareBody *b, void *ctx)
{
    (void)ctx;
    b->sharer = (char *)"childrens-services";
}

static void
sharer_other_than_signer_is_sender_mismatch(void **state)
{
    fixture *f = *state;
    uint8_t *orig = NULL, *bytes = NULL;
    size_t olen = 0, len = 0;
    s_create_ok(&orig, &olen, f, "licensing", "home-office");
    s_resign(&bytes, &len, orig, olen, vt_net_keys(f->net, "licensing"), "licensing",
             s_sharer_childrens, NULL);
    assert_int_equal(s_verify(NULL, f, bytes, len, NULL), VG_ERR_SENDER_MISMATCH);
    free(bytes);
    free(orig);
}

static void
signer_hint_naming_other_agency_is_bad_signature(void **state)
{
    fixture *f = *state;
    uint8_t *orig = NULL, *bytes = NULL;
    size_t olen = 0, len = 0;
    s_create_ok(&orig, &olen, f, "licensing", "home-office");
    s_resign(&bytes, &len, orig, olen, vt_net_keys(f->net, "licensing"), "childrens-services", NULL,
             NULL);
    assert_int_equal(s_verify(NULL, f, bytes, len, NULL), VG_ERR_BAD_SIGNATURE);
    free(bytes);
    free(orig);
}

static void
s_random_key(Vigil__ShareBody *b, void *ctx)
{
    const uint8_t *to_pk = ctx;
    uint8_t key[VG_CONTENT_KEY_LEN];
    randombytes_buf(key, sizeof key);
    assert_int_equal(b->sealed_key.len, VG_SEALED_KEY_LEN);
    assert_int_equal(crypto_box_seal(b->sealed_key.data, key, sizeof key, to_pk), 0);
}

/* A malicious sharer who seals some other key is caught by the commitment. */
static void
share_with_wrong_key_is_commitment(void **state)
{
    fixture *f = *state;
    uint8_t *orig = NULL, *bytes = NULL;
    size_t olen = 0, len = 0;
    s_create_ok(&orig, &olen, f, "licensing", "home-office");
    s_resign(&bytes, &len, orig, olen, vt_net_keys(f->net, "licensing"), "licensing", s_random_key,
             (void *)vg_keyset_box_pk(vt_net_keys(f->net, "home-office")));
    vg_share *s = s_verify_ok(f, bytes, len);
    assert_true(vg_share_matches(s, f->env));
    size_t klen = 0;
    const uint8_t *key = vg_share_sealed_key(s, &klen);
    vg_alert got;
    assert_int_equal(
        vg_envelope_open_sealed(&got, f->env, key, klen, vt_net_keys(f->net, "home-office"), NULL),
        VG_ERR_COMMITMENT);
    vg_share_destroy(&s);
    free(bytes);
    free(orig);
}

static void
s_flip_hash(Vigil__ShareBody *b, void *ctx)
{
    (void)ctx;
    b->envelope_hash.data[0] ^= 1;
}

static void
share_naming_other_hash_does_not_match(void **state)
{
    fixture *f = *state;
    uint8_t *orig = NULL, *bytes = NULL;
    size_t olen = 0, len = 0;
    s_create_ok(&orig, &olen, f, "licensing", "home-office");
    s_resign(&bytes, &len, orig, olen, vt_net_keys(f->net, "licensing"), "licensing", s_flip_hash,
             NULL);
    vg_share *s = s_verify_ok(f, bytes, len);
    assert_false(vg_share_matches(s, f->env));
    vg_share_destroy(&s);
    free(bytes);
    free(orig);
}

static void
s_short_sealed_key(Vigil__ShareBody *b, void *ctx)
{
    (void)ctx;
    b->sealed_key.len = VG_SEALED_KEY_LEN - 1;
}

static void
s_to_stranger(Vigil__ShareBody *b, void *ctx)
{
    (void)ctx;
    b->to_agency = (char *)"fire-service";
}

static void
s_to_self(Vigil__ShareBody *b, void *ctx)
{
    (void)ctx;
    b->to_agency = (char *)"licensing";
}

static void
s_no_reason(Vigil__ShareBody *b, void *ctx)
{
    (void)ctx;
    b->reason = (char *)"";
}

static void
signed_malformed_share_is_malformed(void **state)
{
    fixture *f = *state;
    uint8_t *orig = NULL;
    size_t olen = 0;
    s_create_ok(&orig, &olen, f, "licensing", "home-office");
    s_mutator mutators[] = {s_short_sealed_key, s_to_stranger, s_to_self, s_no_reason};
    for (size_t i = 0; i < sizeof mutators / sizeof mutators[0]; i++) {
        uint8_t *bytes = NULL;
        size_t len = 0;
        s_resign(&bytes, &len, orig, olen, vt_net_keys(f->net, "licensing"), "licensing",
                 mutators[i], NULL);
        vg_reason why = {{0}};
        vg_err err = s_verify(NULL, f, bytes, len, &why);
        if (err != VG_ERR_MALFORMED) {
            print_error("mutator %zu: %s (%s)\n", i, vg_err_code(err), why.text);
        }
        assert_int_equal(err, VG_ERR_MALFORMED);
        free(bytes);
    }
    free(orig);
}

static void
garbage_is_malformed(void **state)
{
    fixture *f = *state;
    uint8_t junk[100];
    memset(junk, 0xff, sizeof junk);
    assert_int_equal(s_verify(NULL, f, junk, sizeof junk, NULL), VG_ERR_MALFORMED);
}

static void
too_large_is_refused(void **state)
{
    fixture *f = *state;
    size_t len = 1024 * 1024;
    uint8_t *big = calloc(1, len);
    assert_int_equal(s_verify(NULL, f, big, len, NULL), VG_ERR_TOO_LARGE);
    free(big);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(share_verify_and_accessors),
        T(new_agency_reads_the_same_alert),
        T(shared_key_opens_only_for_the_new_agency),
        T(share_does_not_match_other_envelope),
        T(share_to_listed_recipient_is_duplicate),
        T(share_to_sender_never_yields_a_bad_record),
        T(share_to_unknown_agency_is_not_found),
        T(share_to_revoked_agency_is_revoked),
        T(share_by_non_recipient_is_not_recipient),
        T(share_by_impostor_keys_is_unseal),
        T(share_without_reason_is_invalid),
        T(flip_every_byte_is_refused),
        T(revoked_sharer_is_revoked),
        T(revoked_target_is_revoked),
        T(sharer_other_than_signer_is_sender_mismatch),
        T(signer_hint_naming_other_agency_is_bad_signature),
        T(share_with_wrong_key_is_commitment),
        T(share_naming_other_hash_does_not_match),
        T(signed_malformed_share_is_malformed),
        T(garbage_is_malformed),
        T(too_large_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
