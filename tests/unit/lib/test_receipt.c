/* test_receipt.c — vigil/receipt.h: signed receipts of each kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil.pb-c.h"
#include "vigil/receipt.h"
#include "vt.h"

#define CREATED_MS (VT_ISSUED_MS + 5000)

typedef struct fixture {
    vt_net *net;                                     /* 4 agencies */
    vg_receipt_item items[VG_RECEIPT_ITEMS_MAX + 1]; /* distinct ids and hashes */
} fixture;

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->net = vt_net_new(4);
    for (size_t i = 0; i < VG_RECEIPT_ITEMS_MAX + 1; i++) {
        memset(f->items[i].alert_id, 0, VG_ALERT_ID_LEN);
        f->items[i].alert_id[0] = (uint8_t)i;
        f->items[i].alert_id[1] = (uint8_t)(i >> 8);
        f->items[i].alert_id[15] = 0xa1;
        vg_hash(f->items[i].envelope_hash, f->items[i].alert_id, VG_ALERT_ID_LEN);
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    vt_net_destroy(&f->net);
    free(f);
    return 0;
}

static vg_receipt_spec
s_spec(fixture *f, vg_receipt_kind kind)
{
    vg_receipt_spec s = {
        .agency = "licensing",
        .kind = kind,
        .created_ms = CREATED_MS,
        .items = f->items,
        .n_items = 1,
        .officer = kind == VG_RECEIPT_ACKNOWLEDGED ? "Duty Officer J. Smith" : NULL,
        .note = NULL,
        .reason = (kind == VG_RECEIPT_DECLINED || kind == VG_RECEIPT_IN_PROGRESS)
                      ? "awaiting strategy meeting"
                      : NULL,
        .network_version = 1,
    };
    return s;
}

static void
s_sign_ok(uint8_t **out, size_t *len, fixture *f, const vg_receipt_spec *spec)
{
    vg_reason why = {{0}};
    vg_err err = vg_receipt_sign(out, len, spec, vt_net_keys(f->net, spec->agency), &why);
    if (err != VG_OK) {
        print_error("sign: %s: %s\n", vg_err_code(err), why.text);
    }
    assert_int_equal(err, VG_OK);
}

static vg_err
s_verify(vg_receipt **out, fixture *f, const uint8_t *bytes, size_t len, vg_reason *why)
{
    vg_receipt *r = NULL;
    vg_err err = vg_receipt_verify(&r, bytes, len, f->net->doc, why);
    if (err == VG_OK) {
        assert_non_null(r);
    } else {
        assert_null(r);
    }
    if (out != NULL) {
        *out = r;
    } else {
        vg_receipt_destroy(&r);
    }
    return err;
}

static vg_receipt *
s_verify_ok(fixture *f, const uint8_t *bytes, size_t len)
{
    vg_receipt *r = NULL;
    vg_reason why = {{0}};
    vg_err err = s_verify(&r, f, bytes, len, &why);
    if (err != VG_OK) {
        print_error("verify: %s: %s\n", vg_err_code(err), why.text);
    }
    assert_int_equal(err, VG_OK);
    return r;
}

/* Signs spec and checks every accessor of the verified receipt. */
static void
s_round_trip(fixture *f, const vg_receipt_spec *spec)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    s_sign_ok(&bytes, &len, f, spec);
    vg_receipt *r = s_verify_ok(f, bytes, len);
    assert_string_equal(vg_receipt_agency(r), spec->agency);
    assert_int_equal(vg_receipt_kind_of(r), spec->kind);
    assert_true(vg_receipt_created_ms(r) == spec->created_ms);
    assert_int_equal(vg_receipt_n_items(r), spec->n_items);
    for (size_t i = 0; i < spec->n_items; i++) {
        const vg_receipt_item *it = vg_receipt_item_at(r, i);
        assert_memory_equal(it->alert_id, spec->items[i].alert_id, VG_ALERT_ID_LEN);
        assert_memory_equal(it->envelope_hash, spec->items[i].envelope_hash, VG_HASH_LEN);
    }
    assert_string_equal(vg_receipt_officer(r), spec->officer ? spec->officer : "");
    assert_string_equal(vg_receipt_note(r), spec->note ? spec->note : "");
    assert_string_equal(vg_receipt_reason(r), spec->reason ? spec->reason : "");
    assert_int_equal(vg_receipt_network_version(r), spec->network_version);
    assert_int_equal(vg_receipt_failure(r), spec->failure);
    size_t blen = 0;
    const uint8_t *b = vg_receipt_bytes(r, &blen);
    assert_int_equal(blen, len);
    assert_memory_equal(b, bytes, len);
    vt_layout l;
    vt_layout_of(&l, bytes, len);
    uint8_t h[VG_HASH_LEN];
    vg_hash(h, bytes + l.body_off, l.body_len);
    assert_memory_equal(vg_receipt_hash(r), h, VG_HASH_LEN);
    vg_receipt_destroy(&r);
    assert_null(r);
    vg_receipt_destroy(&r);
    free(bytes);
}

/* ---- each kind ---------------------------------------------------------- */

static void
delivered_round_trip(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_DELIVERED);
    s_round_trip(f, &s);
}

static void
delivered_batch_round_trip(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_DELIVERED);
    s.n_items = 5;
    s_round_trip(f, &s);
}

static void
delivered_batch_at_limit(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_DELIVERED);
    s.n_items = VG_RECEIPT_ITEMS_MAX;
    s_round_trip(f, &s);
}

static void
acknowledged_round_trip(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_ACKNOWLEDGED);
    s.note = "licence suspended pending review";
    s_round_trip(f, &s);
}

static void
in_progress_round_trip(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_IN_PROGRESS);
    s_round_trip(f, &s);
}

static void
declined_round_trip(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_DECLINED);
    s.reason = "not our area: forwarded to the neighbouring authority";
    s_round_trip(f, &s);
}

static void
unopenable_round_trip(void **state)
{
    fixture *f = *state;
    for (int k = VG_OPEN_BAD_KEY; k <= VG_OPEN_STALE_DOCUMENT; k++) {
        vg_receipt_spec s = s_spec(f, VG_RECEIPT_UNOPENABLE);
        s.failure = (vg_open_failure)k;
        s.reason = k == VG_OPEN_BAD_KEY ? "share by police" : NULL;
        s_round_trip(f, &s);
    }
}

/* ---- rules -------------------------------------------------------------- */

static void
open_failure_of_errors(void **state)
{
    (void)state;
    assert_int_equal(vg_open_failure_of(VG_ERR_UNSEAL, 3, 3), VG_OPEN_BAD_KEY);
    assert_int_equal(vg_open_failure_of(VG_ERR_UNSEAL, 2, 3), VG_OPEN_STALE_DOCUMENT);
    assert_int_equal(vg_open_failure_of(VG_ERR_COMMITMENT, 3, 3), VG_OPEN_BAD_COMMITMENT);
    assert_int_equal(vg_open_failure_of(VG_ERR_DECRYPT, 3, 3), VG_OPEN_UNDECRYPTABLE);
    assert_int_equal(vg_open_failure_of(VG_ERR_MALFORMED, 3, 3), VG_OPEN_UNDECRYPTABLE);
    assert_int_equal(vg_open_failure_of(VG_ERR_NOMEM, 3, 3), VG_OPEN_UNSPECIFIED);
    assert_int_equal(vg_open_failure_of(VG_ERR_NOT_RECIPIENT, 3, 3), VG_OPEN_UNSPECIFIED);
    assert_string_equal(vg_open_failure_name(VG_OPEN_STALE_DOCUMENT), "stale_document");
    assert_string_equal(vg_open_failure_name((vg_open_failure)99), "unspecified");
    assert_string_equal(vg_receipt_kind_name(VG_RECEIPT_UNOPENABLE), "unopenable");
}

static void
s_assert_sign_invalid(fixture *f, const vg_receipt_spec *s)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    vg_err err = vg_receipt_sign(&bytes, &len, s, vt_net_keys(f->net, "licensing"), &why);
    if (err != VG_ERR_INVALID) {
        print_error("got %s (%s)\n", vg_err_code(err), why.text);
    }
    assert_int_equal(err, VG_ERR_INVALID);
    assert_null(bytes);
    assert_true(why.text[0] != '\0');
}

static void
acknowledged_needs_officer(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_ACKNOWLEDGED);
    s.officer = NULL;
    s_assert_sign_invalid(f, &s);
    s.officer = "";
    s_assert_sign_invalid(f, &s);
}

static void
unopenable_needs_a_failure_and_one_item(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_UNOPENABLE);
    s_assert_sign_invalid(f, &s); /* no failure given */
    s.failure = (vg_open_failure)(VG_OPEN_STALE_DOCUMENT + 1);
    s_assert_sign_invalid(f, &s);
    s.failure = VG_OPEN_BAD_KEY;
    s.n_items = 2;
    s_assert_sign_invalid(f, &s);
}

static void
failure_only_on_unopenable(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_DELIVERED);
    s.failure = VG_OPEN_BAD_KEY;
    s_assert_sign_invalid(f, &s);
}

static void
declined_needs_reason(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_DECLINED);
    s.reason = NULL;
    s_assert_sign_invalid(f, &s);
    s.reason = "";
    s_assert_sign_invalid(f, &s);
}

static void
in_progress_needs_reason(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_IN_PROGRESS);
    s.reason = NULL;
    s_assert_sign_invalid(f, &s);
}

static void
batch_only_for_delivered(void **state)
{
    fixture *f = *state;
    vg_receipt_kind kinds[] = {VG_RECEIPT_ACKNOWLEDGED, VG_RECEIPT_IN_PROGRESS,
                               VG_RECEIPT_DECLINED};
    for (size_t i = 0; i < 3; i++) {
        vg_receipt_spec s = s_spec(f, kinds[i]);
        s.n_items = 2;
        s_assert_sign_invalid(f, &s);
    }
}

static void
over_item_limit_is_invalid(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_DELIVERED);
    s.n_items = VG_RECEIPT_ITEMS_MAX + 1;
    s_assert_sign_invalid(f, &s);
}

static void
no_items_is_invalid(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_DELIVERED);
    s.n_items = 0;
    s_assert_sign_invalid(f, &s);
}

static void
unspecified_kind_is_invalid(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_DELIVERED);
    s.kind = VG_RECEIPT_UNSPECIFIED;
    s_assert_sign_invalid(f, &s);
    s.kind = (vg_receipt_kind)9;
    s_assert_sign_invalid(f, &s);
}

static void
missing_agency_is_invalid(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_DELIVERED);
    s.agency = NULL;
    s_assert_sign_invalid(f, &s);
}

static void
oversized_note_is_invalid(void **state)
{
    fixture *f = *state;
    char *note = malloc(VG_SHORT_TEXT_MAX + 2);
    memset(note, 'n', VG_SHORT_TEXT_MAX + 1);
    note[VG_SHORT_TEXT_MAX + 1] = '\0';
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_ACKNOWLEDGED);
    s.note = note;
    s_assert_sign_invalid(f, &s);
    free(note);
}

/* ---- tampering and signers ---------------------------------------------- */

static void
flip_every_byte_is_refused(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_ACKNOWLEDGED);
    s.n_items = 1;
    uint8_t *bytes = NULL;
    size_t len = 0;
    s_sign_ok(&bytes, &len, f, &s);
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
unknown_signer_is_unknown_sender(void **state)
{
    fixture *f = *state;
    vg_keyset *stranger = NULL;
    assert_int_equal(vg_keyset_generate(&stranger, VG_KEY_SIGN), VG_OK);
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_DELIVERED);
    s.agency = "fire-service";
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(vg_receipt_sign(&bytes, &len, &s, stranger, NULL), VG_OK);
    vg_reason why = {{0}};
    assert_int_equal(s_verify(NULL, f, bytes, len, &why), VG_ERR_UNKNOWN_SENDER);
    assert_true(vt_reason_has(&why, "fire-service"));
    free(bytes);
    vg_keyset_destroy(&stranger);
}

static void
signed_with_wrong_key_is_bad_signature(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_ACKNOWLEDGED);
    uint8_t *bytes = NULL;
    size_t len = 0;
    /* police signs a receipt in licensing's name */
    assert_int_equal(vg_receipt_sign(&bytes, &len, &s, vt_net_keys(f->net, "police"), NULL), VG_OK);
    assert_int_equal(s_verify(NULL, f, bytes, len, NULL), VG_ERR_BAD_SIGNATURE);
    free(bytes);
}

static void
revoked_signer_is_revoked(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_DELIVERED);
    uint8_t *bytes = NULL;
    size_t len = 0;
    s_sign_ok(&bytes, &len, f, &s);
    vt_net_revoke(f->net, "licensing");
    vg_reason why = {{0}};
    assert_int_equal(s_verify(NULL, f, bytes, len, &why), VG_ERR_REVOKED);
    assert_true(vt_reason_has(&why, "licensing"));
    free(bytes);
}

/* Re-signs a receipt's body by `keys` after mutate(), naming `signer`. */
static void
s_resign(uint8_t **out, size_t *out_len, const uint8_t *in, size_t in_len, const vg_keyset *keys,
         const char *signer, void (*mutate)(Vigil__ReceiptBody *b))
{
    Vigil__SignedReceipt *sr = vigil__signed_receipt__unpack(NULL, in_len, in);
    assert_non_null(sr);
    Vigil__ReceiptBody *b = vigil__receipt_body__unpack(NULL, sr->body.len, sr->body.data);
    assert_non_null(b);
    Vigil__ReceiptBody saved = *b;
    if (mutate != NULL) {
        mutate(b);
    }
    size_t blen = vigil__receipt_body__get_packed_size(b);
    uint8_t *body = malloc(blen + 1);
    assert_int_equal(vigil__receipt_body__pack(b, body), blen);
    *b = saved;
    vigil__receipt_body__free_unpacked(b, NULL);
    uint8_t sig[VG_SIGNATURE_LEN];
    assert_int_equal(vg_sign(sig, keys, VG_DOMAIN_RECEIPT, body, blen), VG_OK);
    Vigil__SignedReceipt nr = VIGIL__SIGNED_RECEIPT__INIT;
    nr.body.data = body;
    nr.body.len = blen;
    nr.signature.data = sig;
    nr.signature.len = sizeof sig;
    nr.signer = (char *)signer;
    *out_len = vigil__signed_receipt__get_packed_size(&nr);
    *out = malloc(*out_len);
    assert_int_equal(vigil__signed_receipt__pack(&nr, *out), *out_len);
    free(body);
    vigil__signed_receipt__free_unpacked(sr, NULL);
}

static void
s_agency_police(Vigil__ReceiptBody *b)
{
    b->agency = (char *)"police";
}

/* Signed by licensing (hint licensing), body claims police. */
static void
body_agency_other_than_signer_is_sender_mismatch(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_ACKNOWLEDGED);
    uint8_t *orig = NULL, *bytes = NULL;
    size_t olen = 0, len = 0;
    s_sign_ok(&orig, &olen, f, &s);
    s_resign(&bytes, &len, orig, olen, vt_net_keys(f->net, "licensing"), "licensing",
             s_agency_police);
    assert_int_equal(s_verify(NULL, f, bytes, len, NULL), VG_ERR_SENDER_MISMATCH);
    free(bytes);
    free(orig);
}

/* Signed by licensing, hint names police. */
static void
signer_hint_naming_other_agency_is_bad_signature(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_ACKNOWLEDGED);
    uint8_t *orig = NULL, *bytes = NULL;
    size_t olen = 0, len = 0;
    s_sign_ok(&orig, &olen, f, &s);
    s_resign(&bytes, &len, orig, olen, vt_net_keys(f->net, "licensing"), "police", NULL);
    assert_int_equal(s_verify(NULL, f, bytes, len, NULL), VG_ERR_BAD_SIGNATURE);
    free(bytes);
    free(orig);
}

static void
s_no_officer(Vigil__ReceiptBody *b)
{
    b->officer = (char *)"";
}

static void
s_two_items_ack(Vigil__ReceiptBody *b)
{
    static Vigil__ReceiptItem *two[2];
    two[0] = b->items[0];
    two[1] = b->items[0];
    b->items = two;
    b->n_items = 2;
}

static void
s_short_hash(Vigil__ReceiptBody *b)
{
    b->items[0]->envelope_hash.len = VG_HASH_LEN - 1;
}

/* A correctly signed receipt that breaks the rules is still refused. */
static void
signed_body_breaking_rules_is_malformed(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_ACKNOWLEDGED);
    uint8_t *orig = NULL;
    size_t olen = 0;
    s_sign_ok(&orig, &olen, f, &s);
    void (*mutators[])(Vigil__ReceiptBody *) = {s_no_officer, s_two_items_ack, s_short_hash};
    for (size_t i = 0; i < sizeof mutators / sizeof mutators[0]; i++) {
        uint8_t *bytes = NULL;
        size_t len = 0;
        s_resign(&bytes, &len, orig, olen, vt_net_keys(f->net, "licensing"), "licensing",
                 mutators[i]);
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
    size_t len = 4 * 1024 * 1024;
    uint8_t *big = calloc(1, len);
    assert_int_equal(s_verify(NULL, f, big, len, NULL), VG_ERR_TOO_LARGE);
    free(big);
}

static void
truncated_is_refused(void **state)
{
    fixture *f = *state;
    vg_receipt_spec s = s_spec(f, VG_RECEIPT_DELIVERED);
    uint8_t *bytes = NULL;
    size_t len = 0;
    s_sign_ok(&bytes, &len, f, &s);
    for (size_t cut = 0; cut < len; cut++) {
        vg_err err = s_verify(NULL, f, bytes, cut, NULL);
        assert_true(err == VG_ERR_MALFORMED || err == VG_ERR_BAD_SIGNATURE ||
                    err == VG_ERR_UNKNOWN_SENDER);
    }
    free(bytes);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(delivered_round_trip),
        T(delivered_batch_round_trip),
        T(delivered_batch_at_limit),
        T(acknowledged_round_trip),
        T(in_progress_round_trip),
        T(unopenable_round_trip),
        T(unopenable_needs_a_failure_and_one_item),
        T(failure_only_on_unopenable),
        T(open_failure_of_errors),
        T(declined_round_trip),
        T(acknowledged_needs_officer),
        T(declined_needs_reason),
        T(in_progress_needs_reason),
        T(batch_only_for_delivered),
        T(over_item_limit_is_invalid),
        T(no_items_is_invalid),
        T(unspecified_kind_is_invalid),
        T(missing_agency_is_invalid),
        T(oversized_note_is_invalid),
        T(flip_every_byte_is_refused),
        T(unknown_signer_is_unknown_sender),
        T(signed_with_wrong_key_is_bad_signature),
        T(revoked_signer_is_revoked),
        T(body_agency_other_than_signer_is_sender_mismatch),
        T(signer_hint_naming_other_agency_is_bad_signature),
        T(signed_body_breaking_rules_is_malformed),
        T(garbage_is_malformed),
        T(too_large_is_refused),
        T(truncated_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
