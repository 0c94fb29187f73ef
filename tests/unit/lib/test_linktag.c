/* test_linktag.c — vigil/linktag.h: normalisation, tags, the document's
 * sealed link keys and envelopes that carry tags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "vigil/linktag.h"
#include "vt.h"

static const char *const s_two[] = {"licensing", "childrens-services"};

/* A 4-agency network with a taxi-licence rule, its body sealed with keys
 * (n of them, ids 1..n), signed and verified. */
static vg_netdoc *
s_doc_with_keys(vt_net *net, const uint8_t (*keys)[VG_LINK_KEY_LEN], size_t n)
{
    json_t *schemes =
        json_pack("[{s:s, s:b, s:s}]", "name", "taxi-licence", "uppercase", 1, "strip", " -");
    json_object_set_new(net->json, "reference_schemes", schemes);
    vg_reason why = {{0}};
    assert_int_equal(vt_net_publish(net, 2, &why), VG_OK);
    uint32_t ids[VG_LINK_KEYS_MAX] = {1, 2, 3, 4};
    uint8_t *body = NULL, *signed_doc = NULL;
    size_t len = 0, signed_len = 0;
    assert_int_equal(
        vg_netdoc_body_seal_link_keys(&body, &len, net->body, net->body_len, ids, keys, n, &why),
        VG_OK);
    assert_int_equal(vg_netdoc_sign(&signed_doc, &signed_len, body, len, 3, net->admin, &why),
                     VG_OK);
    vg_netdoc *doc = NULL;
    assert_int_equal(
        vg_netdoc_verify(&doc, signed_doc, signed_len, vg_keyset_sign_pk(net->admin), 0, &why),
        VG_OK);
    free(body);
    free(signed_doc);
    return doc;
}

/* Spacing, case and hyphens give one tag under the scheme's rule. */
static void
test_normalised_forms_give_one_tag(void **state)
{
    (void)state;
    vt_net *net = vt_net_new(4);
    uint8_t key[1][VG_LINK_KEY_LEN];
    randombytes_buf(key[0], VG_LINK_KEY_LEN);
    vg_netdoc *doc = s_doc_with_keys(net, (const uint8_t(*)[32])key, 1);
    char ref[VG_LINK_REF_MAX];
    assert_int_equal(vg_linktag_normalise(ref, sizeof ref, doc, "taxi-licence", " tl 2002-0417 "),
                     VG_OK);
    assert_string_equal(ref, "taxi-licence:TL20020417");
    uint8_t a[32], b[32], c[32], other[32];
    assert_int_equal(vg_linktag_compute(a, key[0], doc, "taxi-licence", "TL-2002-0417"), VG_OK);
    assert_int_equal(vg_linktag_compute(b, key[0], doc, "taxi-licence", "tl 2002 0417"), VG_OK);
    assert_int_equal(vg_linktag_compute(c, key[0], doc, "taxi-licence", "Tl-2002 0417"), VG_OK);
    assert_memory_equal(a, b, 32);
    assert_memory_equal(a, c, 32);
    /* another scheme, or another key, gives another tag */
    assert_int_equal(vg_linktag_compute(other, key[0], doc, "vehicle-reg", "TL-2002-0417"), VG_OK);
    assert_memory_not_equal(a, other, 32);
    uint8_t key2[VG_LINK_KEY_LEN];
    randombytes_buf(key2, sizeof key2);
    assert_int_equal(vg_linktag_compute(other, key2, doc, "taxi-licence", "TL-2002-0417"), VG_OK);
    assert_memory_not_equal(a, other, 32);
    /* a scheme without a rule is only trimmed: case matters there */
    assert_int_equal(vg_linktag_normalise(ref, sizeof ref, doc, "person-ref", "  ab-1 "), VG_OK);
    assert_string_equal(ref, "person-ref:ab-1");
    assert_int_equal(vg_linktag_normalise(ref, sizeof ref, doc, "taxi-licence", " - - "),
                     VG_ERR_INVALID);
    vg_netdoc_destroy(&doc);
    vt_net_destroy(&net);
}

/* Every non-oversight agency opens the same key; the envelope carries the
 * tags; the keyed tag is neither the plain BLAKE2b nor computable without
 * the key. */
static void
test_agencies_open_key_and_envelope_carries_tags(void **state)
{
    (void)state;
    vt_net *net = vt_net_new(4);
    uint8_t keys[2][VG_LINK_KEY_LEN];
    randombytes_buf(keys, sizeof keys);
    vg_netdoc *doc = s_doc_with_keys(net, (const uint8_t(*)[32])keys, 2);
    assert_int_equal(vg_netdoc_n_link_keys(doc), 2);
    for (size_t i = 0; i < net->n; i++) {
        uint8_t got[VG_LINK_KEYS_MAX][VG_LINK_KEY_LEN];
        size_t n = 0;
        assert_int_equal(vg_netdoc_open_link_keys(got, &n, doc, net->ids[i], net->keys[i]), VG_OK);
        assert_int_equal(n, 2);
        assert_memory_equal(got, keys, sizeof keys);
    }
    /* another agency's box key does not open police's copy */
    uint8_t got[VG_LINK_KEYS_MAX][VG_LINK_KEY_LEN];
    size_t n = 0;
    assert_int_equal(vg_netdoc_open_link_keys(got, &n, doc, "police", net->keys[1]), VG_ERR_CRYPTO);

    vg_alert a;
    vt_alert_sample(&a, s_two, 2);
    vg_subject subj = {"taxi-licence", "tl 2002 0417"};
    vg_subject *sample = a.subjects; /* the sample's own, restored for vt_alert_fini */
    size_t n_sample = a.n_subjects;
    a.subjects = &subj;
    a.n_subjects = 1;
    vg_seal_params p = vt_seal_params(net, "police");
    p.doc = doc;
    p.link_keys = (const uint8_t(*)[32])keys;
    p.n_link_keys = 2;
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    assert_int_equal(vg_envelope_seal(&bytes, &len, NULL, &a, &p, &why), VG_OK);
    vg_envelope *env = NULL;
    assert_int_equal(vg_envelope_verify(&env, bytes, len, doc, &why), VG_OK);
    size_t n_inc = a.incidents.n;
    assert_int_equal(vg_envelope_n_link_tags(env), 2 * (1 + n_inc));
    uint8_t want[32], plain[32];
    assert_int_equal(vg_linktag_compute(want, keys[1], doc, "taxi-licence", "TL-2002-0417"), VG_OK);
    bool found = false;
    crypto_generichash(plain, 32, (const uint8_t *)"taxi-licence:TL20020417", 23, NULL, 0);
    for (size_t i = 0; i < vg_envelope_n_link_tags(env); i++) {
        found = found || memcmp(vg_envelope_link_tag(env, i), want, 32) == 0;
        assert_memory_not_equal(vg_envelope_link_tag(env, i), plain, 32);
    }
    assert_true(found);
    vg_envelope_destroy(&env);
    free(bytes);
    a.subjects = sample;
    a.n_subjects = n_sample;
    vt_alert_fini(&a);
    vg_netdoc_destroy(&doc);
    vt_net_destroy(&net);
}

/* Tagging never refuses an alert: subjects of schemes the document does not
 * list (a CAP parameter) are not tagged, nor empty or overlong values, and
 * beyond 64 tags the rest go untagged. */
static void
test_tags_never_refuse_an_alert(void **state)
{
    (void)state;
    vt_net *net = vt_net_new(4);
    uint8_t key[1][VG_LINK_KEY_LEN];
    randombytes_buf(key[0], VG_LINK_KEY_LEN);
    vg_netdoc *doc = s_doc_with_keys(net, (const uint8_t(*)[32])key, 1);
    static char longv[400];
    memset(longv, 'A', sizeof longv - 1);
    vg_subject subj[100];
    char vals[100][16];
    subj[0] = (vg_subject){"cap.parameter:EAS-ORG", "WXR"};
    subj[1] = (vg_subject){"taxi-licence", " - "};
    subj[2] = (vg_subject){"taxi-licence", longv};
    vg_alert a;
    memset(&a, 0, sizeof a);
    a.subjects = subj;
    a.n_subjects = 3;
    uint8_t tags[VG_LINK_TAGS_MAX][VG_LINK_TAG_LEN];
    size_t n = 99;
    vg_reason why = {{0}};
    assert_int_equal(vg_linktag_alert(tags, &n, &a, doc, (const uint8_t(*)[32])key, 1, &why),
                     VG_OK);
    assert_int_equal(n, 0);
    for (size_t i = 0; i < 100; i++) {
        snprintf(vals[i], sizeof vals[i], "TL-%zu", i);
        subj[i] = (vg_subject){"taxi-licence", vals[i]};
    }
    a.n_subjects = 100;
    assert_int_equal(vg_linktag_alert(tags, &n, &a, doc, (const uint8_t(*)[32])key, 1, &why),
                     VG_OK);
    assert_int_equal(n, VG_LINK_TAGS_MAX);
    vg_netdoc_destroy(&doc);
    vt_net_destroy(&net);
}

/* A document whose link key is sealed to an agency it does not list, or
 * repeats an id, is refused. */
static void
test_bad_link_keys_refused(void **state)
{
    (void)state;
    vt_net *net = vt_net_new(4);
    uint8_t keys[2][VG_LINK_KEY_LEN] = {{0}};
    uint32_t ids[2] = {7, 7};
    uint8_t *body = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    assert_int_equal(vg_netdoc_body_seal_link_keys(&body, &len, net->body, net->body_len, ids,
                                                   (const uint8_t(*)[32])keys, 2, &why),
                     VG_ERR_INVALID);
    json_object_set_new(net->json, "reference_schemes",
                        json_pack("[{s:s},{s:s}]", "name", "a", "name", "a"));
    assert_int_equal(vt_net_publish(net, 2, &why), VG_ERR_POLICY);
    assert_true(vt_reason_has(&why, "appears twice"));
    vt_net_destroy(&net);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalised_forms_give_one_tag),
        cmocka_unit_test(test_agencies_open_key_and_envelope_carries_tags),
        cmocka_unit_test(test_bad_link_keys_refused),
        cmocka_unit_test(test_tags_never_refuse_an_alert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
