/* test_netdoc.c — vigil/netdoc.h: the signed network document and its policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "vigil/netdoc.h"
#include "vigil/util.h"
#include "vt.h"

/* ---- helpers ------------------------------------------------------------ */

static int
setup4(void **state)
{
    *state = vt_net_new(4);
    return 0;
}

static int
setup6(void **state)
{
    *state = vt_net_new_unpublished(6);
    return 0;
}

static int
teardown(void **state)
{
    vt_net *net = *state;
    vt_net_destroy(&net);
    return 0;
}

static vg_err
s_verify(const vt_net *net, const uint8_t *bytes, size_t len, uint64_t min_version, vg_reason *why)
{
    vg_netdoc *doc = NULL;
    vg_err err =
        vg_netdoc_verify(&doc, bytes, len, vg_keyset_sign_pk(net->admin), min_version, why);
    if (err == VG_OK) {
        assert_non_null(doc);
    } else {
        assert_null(doc);
    }
    vg_netdoc_destroy(&doc);
    return err;
}

/* Publishes net->json expecting err, with a reason mentioning needle. */
static void
s_assert_json_refused(vt_net *net, vg_err want, const char *needle)
{
    char *text = vt_net_json_text(net);
    uint8_t *body = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    vg_err err = vg_netdoc_body_from_json(&body, &len, text, &why);
    free(text);
    if (err != want) {
        print_error("want %s, got %s (%s)\n", vg_err_code(want), vg_err_code(err), why.text);
    }
    assert_int_equal(err, want);
    assert_null(body);
    if (needle != NULL && !vt_reason_has(&why, needle)) {
        fail_msg("reason \"%s\" does not mention \"%s\"", why.text, needle);
    }
}

static void
s_publish_ok(vt_net *net)
{
    vg_reason why = {{0}};
    vg_err err = vt_net_publish(net, 0, &why);
    if (err != VG_OK) {
        print_error("publish: %s: %s\n", vg_err_code(err), why.text);
    }
    assert_int_equal(err, VG_OK);
}

/* Runs vg_netdoc_required and joins the result with ','. */
static void
s_required(char *out, size_t out_len, const vt_net *net, const char *cats_csv, vg_severity sev,
           const char *sender)
{
    vg_strlist cats = {0};
    assert_int_equal(vg_strlist_split(&cats, cats_csv, NULL), VG_OK);
    vg_strlist got = {0};
    assert_int_equal(
        vg_netdoc_required(net->doc, (const char *const *)cats.items, cats.n, sev, sender, &got),
        VG_OK);
    vg_strlist_join(out, out_len, &got, ",");
    vg_strlist_fini(&got);
    vg_strlist_fini(&cats);
}

#define ASSERT_REQUIRED(net, cats, sev, sender, want)                                              \
    do {                                                                                           \
        char got_[512];                                                                            \
        s_required(got_, sizeof got_, (net), (cats), (sev), (sender));                             \
        assert_string_equal(got_, (want));                                                         \
    } while (0)

/* ---- sign, verify, accessors -------------------------------------------- */

static void
verify_round_trip_accessors(void **state)
{
    vt_net *net = *state;
    const vg_netdoc *doc = net->doc;
    assert_int_equal(vg_netdoc_version(doc), 1);
    assert_string_equal(vg_netdoc_network(doc), VT_NETWORK_NAME);
    assert_true(vg_netdoc_issued_ms(doc) == VT_ISSUED_MS);
    assert_memory_equal(vg_netdoc_broker_sign_pk(doc), vg_keyset_sign_pk(net->broker),
                        VG_SIGN_PK_LEN);
    assert_memory_equal(vg_netdoc_broker_transport_pk(doc), vg_keyset_curve_pk(net->broker),
                        VG_CURVE_KEY_LEN);
    size_t len = 0;
    const uint8_t *bytes = vg_netdoc_signed_bytes(doc, &len);
    assert_int_equal(len, net->signed_len);
    assert_memory_equal(bytes, net->signed_doc, len);
    assert_int_equal(vg_netdoc_n_agencies(doc), 4);
    for (size_t i = 0; i < 4; i++) {
        vg_agency a;
        vg_netdoc_agency_at(doc, i, &a);
        assert_string_equal(a.id, net->ids[i]);
        assert_memory_equal(a.sign_pk, vg_keyset_sign_pk(net->keys[i]), VG_SIGN_PK_LEN);
        assert_memory_equal(a.box_pk, vg_keyset_box_pk(net->keys[i]), VG_BOX_PK_LEN);
        assert_memory_equal(a.transport_pk, vg_keyset_curve_pk(net->keys[i]), VG_CURVE_KEY_LEN);
        assert_false(a.revoked);
    }
    vg_agency a;
    vg_netdoc_agency_at(doc, 3, &a);
    assert_string_equal(a.role, "government");
    assert_string_equal(a.display_name, "Home Office");
    assert_string_equal(a.escalation_contact, "");
    vg_netdoc_agency_at(doc, 0, &a);
    assert_string_equal(a.escalation_contact, "home-office");
}

static void
find_by_id_and_transport(void **state)
{
    vt_net *net = *state;
    vg_agency a;
    assert_int_equal(vg_netdoc_find(net->doc, "childrens-services", &a), VG_OK);
    assert_string_equal(a.id, "childrens-services");
    assert_string_equal(a.role, "childrens-services");
    assert_int_equal(vg_netdoc_find_by_transport(net->doc, vg_keyset_curve_pk(net->keys[1]), &a),
                     VG_OK);
    assert_string_equal(a.id, "licensing");
}

static void
find_unknown_is_not_found(void **state)
{
    vt_net *net = *state;
    vg_agency a;
    assert_int_equal(vg_netdoc_find(net->doc, "fire-service", &a), VG_ERR_NOT_FOUND);
    assert_int_equal(vg_netdoc_find(net->doc, "", &a), VG_ERR_NOT_FOUND);
    assert_int_equal(vg_netdoc_find_by_transport(net->doc, vg_keyset_curve_pk(net->broker), &a),
                     VG_ERR_NOT_FOUND);
}

static void
find_revoked_agency_says_so(void **state)
{
    vt_net *net = *state;
    vt_net_revoke(net, "licensing");
    vg_agency a;
    assert_int_equal(vg_netdoc_find(net->doc, "licensing", &a), VG_OK);
    assert_true(a.revoked);
    assert_int_equal(vg_netdoc_find_by_transport(net->doc, vg_keyset_curve_pk(net->keys[1]), &a),
                     VG_OK);
    assert_true(a.revoked);
}

static void
categories_taxonomy(void **state)
{
    vt_net *net = *state;
    assert_int_equal(vg_netdoc_n_categories(net->doc), 6);
    assert_string_equal(vg_netdoc_category_at(net->doc, 0), "taxi");
    assert_string_equal(vg_netdoc_category_at(net->doc, 5), "other");
    assert_true(vg_netdoc_has_category(net->doc, "missing-child"));
    assert_false(vg_netdoc_has_category(net->doc, "weather"));
    assert_false(vg_netdoc_has_category(net->doc, "TAXI"));
}

static void
sign_forces_version(void **state)
{
    vt_net *net = *state;
    vg_reason why = {{0}};
    assert_int_equal(vt_net_publish(net, 7, &why), VG_OK);
    assert_int_equal(vg_netdoc_version(net->doc), 7);
}

static void
issued_defaults_to_signing_time(void **state)
{
    vt_net *net = *state;
    json_object_del(net->json, "issued");
    s_publish_ok(net);
    int64_t now_ms = (int64_t)time(NULL) * 1000;
    int64_t issued = vg_netdoc_issued_ms(net->doc);
    assert_true(issued > now_ms - 60000 && issued < now_ms + 60000);
}

static void
load_from_file(void **state)
{
    vt_net *net = *state;
    char *dir = vt_tmpdir_new();
    char *path = vt_path(dir, "network.signed");
    vt_write_file(path, net->signed_doc, net->signed_len, 0644);
    vg_netdoc *doc = NULL;
    assert_int_equal(vg_netdoc_load(&doc, path, vg_keyset_sign_pk(net->admin), 1, NULL), VG_OK);
    assert_int_equal(vg_netdoc_n_agencies(doc), 4);
    vg_netdoc_destroy(&doc);
    assert_null(doc);
    vg_netdoc_destroy(&doc); /* NULL-safe */
    free(path);
    vt_tmpdir_destroy(&dir);
}

static void
load_missing_file_is_not_found(void **state)
{
    vt_net *net = *state;
    vg_netdoc *doc = NULL;
    assert_int_equal(vg_netdoc_load(&doc, "/tmp/vigil-no-such-file.signed",
                                    vg_keyset_sign_pk(net->admin), 0, NULL),
                     VG_ERR_NOT_FOUND);
    assert_null(doc);
}

/* ---- refusals ------------------------------------------------------------ */

static void
verify_wrong_admin_key_is_bad_signature(void **state)
{
    vt_net *net = *state;
    vg_keyset *mallory = NULL;
    assert_int_equal(vg_keyset_generate(&mallory, VG_KEY_SIGN), VG_OK);
    vg_netdoc *doc = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vg_netdoc_verify(&doc, net->signed_doc, net->signed_len,
                                      vg_keyset_sign_pk(mallory), 0, &why),
                     VG_ERR_BAD_SIGNATURE);
    assert_null(doc);
    assert_true(why.text[0] != '\0');
    vg_keyset_destroy(&mallory);
}

static void
verify_signed_by_other_key_is_bad_signature(void **state)
{
    vt_net *net = *state;
    vg_keyset *mallory = NULL;
    assert_int_equal(vg_keyset_generate(&mallory, VG_KEY_SIGN), VG_OK);
    uint8_t *forged = NULL;
    size_t len = 0;
    assert_int_equal(vg_netdoc_sign(&forged, &len, net->body, net->body_len, 9, mallory, NULL),
                     VG_OK);
    assert_int_equal(s_verify(net, forged, len, 0, NULL), VG_ERR_BAD_SIGNATURE);
    free(forged);
    vg_keyset_destroy(&mallory);
}

/* Every single-byte change is refused: inside the body or the signature it is
 * a bad signature; in the framing, malformed or a bad signature. */
static void
verify_every_byte_flip_is_refused(void **state)
{
    vt_net *net = *state;
    vt_layout l;
    vt_layout_of(&l, net->signed_doc, net->signed_len);
    assert_int_equal(l.signer_len, 0);
    uint8_t *copy = malloc(net->signed_len);
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    for (size_t m = 0; m < sizeof masks; m++) {
        for (size_t i = 0; i < net->signed_len; i++) {
            memcpy(copy, net->signed_doc, net->signed_len);
            copy[i] ^= masks[m];
            vg_err err = s_verify(net, copy, net->signed_len, 0, NULL);
            vt_region r = vt_region_at(&l, i);
            if (r == VT_REGION_FRAMING) {
                if (err != VG_ERR_MALFORMED && err != VG_ERR_BAD_SIGNATURE) {
                    print_error("framing byte %zu ^ %02x: %s\n", i, masks[m], vg_err_code(err));
                    fail();
                }
            } else {
                if (err != VG_ERR_BAD_SIGNATURE) {
                    print_error("byte %zu ^ %02x (region %d): %s\n", i, masks[m], (int)r,
                                vg_err_code(err));
                }
                assert_int_equal(err, VG_ERR_BAD_SIGNATURE);
            }
        }
    }
    free(copy);
}

static void
verify_truncated_is_refused(void **state)
{
    vt_net *net = *state;
    for (size_t len = 0; len < net->signed_len; len++) {
        vg_err err = s_verify(net, net->signed_doc, len, 0, NULL);
        assert_true(err == VG_ERR_MALFORMED || err == VG_ERR_BAD_SIGNATURE);
    }
}

static void
verify_garbage_is_malformed(void **state)
{
    vt_net *net = *state;
    uint8_t junk[64];
    memset(junk, 0xff, sizeof junk);
    vg_reason why = {{0}};
    assert_int_equal(s_verify(net, junk, sizeof junk, 0, &why), VG_ERR_MALFORMED);
    assert_true(why.text[0] != '\0');
}

static void
verify_too_large(void **state)
{
    vt_net *net = *state;
    size_t len = VG_NETDOC_MAX_BYTES + 1;
    uint8_t *big = calloc(1, len);
    assert_int_equal(s_verify(net, big, len, 0, NULL), VG_ERR_TOO_LARGE);
    free(big);
}

static void
verify_older_version_is_stale(void **state)
{
    vt_net *net = *state;
    vg_reason why = {{0}};
    assert_int_equal(vt_net_publish(net, 3, &why), VG_OK);
    assert_int_equal(s_verify(net, net->signed_doc, net->signed_len, 4, &why),
                     VG_ERR_STALE_VERSION);
    assert_true(why.text[0] != '\0');
    assert_int_equal(s_verify(net, net->signed_doc, net->signed_len, 3, NULL), VG_OK);
    assert_int_equal(s_verify(net, net->signed_doc, net->signed_len, 2, NULL), VG_OK);
}

static void
verify_unsigned_body_is_refused(void **state)
{
    vt_net *net = *state;
    /* the bare body is not a SignedNetworkDocument */
    vg_err err = s_verify(net, net->body, net->body_len, 0, NULL);
    assert_true(err == VG_ERR_MALFORMED || err == VG_ERR_BAD_SIGNATURE);
}

static void
verify_reused_signature_on_other_body_is_bad_signature(void **state)
{
    vt_net *net = *state;
    vt_layout l;
    vt_layout_of(&l, net->signed_doc, net->signed_len);
    uint8_t sig1[VG_SIGNATURE_LEN];
    memcpy(sig1, net->signed_doc + l.sig_off, VG_SIGNATURE_LEN);
    /* version 2 with version 1's signature */
    vg_reason why = {{0}};
    assert_int_equal(vt_net_publish(net, 2, &why), VG_OK);
    vt_layout_of(&l, net->signed_doc, net->signed_len);
    uint8_t *copy = malloc(net->signed_len);
    memcpy(copy, net->signed_doc, net->signed_len);
    memcpy(copy + l.sig_off, sig1, VG_SIGNATURE_LEN);
    assert_int_equal(s_verify(net, copy, net->signed_len, 0, NULL), VG_ERR_BAD_SIGNATURE);
    free(copy);
}

/* ---- JSON errors ---------------------------------------------------------- */

static void
json_not_json_is_malformed(void **state)
{
    (void)state;
    uint8_t *body = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    assert_int_equal(vg_netdoc_body_from_json(&body, &len, "{\"network\": ", &why),
                     VG_ERR_MALFORMED);
    assert_null(body);
    assert_true(why.text[0] != '\0');
    assert_int_equal(vg_netdoc_body_from_json(&body, &len, "[1,2]", &why), VG_ERR_MALFORMED);
    assert_int_equal(vg_netdoc_body_from_json(&body, &len, "", &why), VG_ERR_MALFORMED);
}

static void
json_policy_unknown_agency_is_policy(void **state)
{
    vt_net *net = *state;
    vt_net_set_policy(net, "[{\"name\": \"r\", \"categories\": [\"taxi\"], \"min_severity\": "
                           "\"low\", \"must_reach\": [\"licensing\", \"fire-service\"]}]");
    s_assert_json_refused(net, VG_ERR_POLICY, "fire-service");
}

static void
json_policy_unknown_category_is_policy(void **state)
{
    vt_net *net = *state;
    vt_net_set_policy(net, "[{\"name\": \"r\", \"categories\": [\"weather\"], \"min_severity\": "
                           "\"low\", \"must_reach\": [\"licensing\"]}]");
    s_assert_json_refused(net, VG_ERR_POLICY, "weather");
}

static void
json_policy_unknown_role_is_policy(void **state)
{
    vt_net *net = *state;
    vt_net_set_policy(net, "[{\"name\": \"r\", \"categories\": [], \"min_severity\": "
                           "\"low\", \"must_reach_roles\": [\"fire\"]}]");
    s_assert_json_refused(net, VG_ERR_POLICY, "fire");
}

static void
json_policy_bad_severity_is_malformed(void **state)
{
    vt_net *net = *state;
    vt_net_set_policy(net, "[{\"name\": \"r\", \"categories\": [\"taxi\"], \"min_severity\": "
                           "\"extreme\", \"must_reach\": [\"licensing\"]}]");
    s_assert_json_refused(net, VG_ERR_MALFORMED, "extreme");
}

static void
json_duplicate_agency_id_is_policy(void **state)
{
    vt_net *net = *state;
    json_object_set_new(vt_net_agency_json(net, "agency-05"), "id", json_string("agency-04"));
    s_assert_json_refused(net, VG_ERR_POLICY, "agency-04");
}

static void
json_shared_key_is_policy(void **state)
{
    vt_net *net = *state;
    json_t *a4 = vt_net_agency_json(net, "agency-04");
    json_object_set(vt_net_agency_json(net, "agency-05"), "box_key",
                    json_object_get(a4, "box_key"));
    s_assert_json_refused(net, VG_ERR_POLICY, "agency-05");
}

static void
json_bad_key_length_is_malformed(void **state)
{
    vt_net *net = *state;
    json_object_set_new(vt_net_agency_json(net, "licensing"), "sign_key",
                        json_string("00112233445566778899aabbccddeeff"));
    s_assert_json_refused(net, VG_ERR_MALFORMED, "sign_key");
}

static void
json_bad_key_hex_is_malformed(void **state)
{
    vt_net *net = *state;
    json_t *a = vt_net_agency_json(net, "licensing");
    char hex[65];
    snprintf(hex, sizeof hex, "%s", json_string_value(json_object_get(a, "box_key")));
    hex[20] = 'x';
    json_object_set_new(a, "box_key", json_string(hex));
    s_assert_json_refused(net, VG_ERR_MALFORMED, "box_key");
}

static void
json_bad_transport_key_is_malformed(void **state)
{
    vt_net *net = *state;
    json_object_set_new(vt_net_agency_json(net, "police"), "transport_key",
                        json_string("tooshort"));
    s_assert_json_refused(net, VG_ERR_MALFORMED, "transport_key");
}

static void
json_invalid_agency_id_is_refused(void **state)
{
    vt_net *net = *state;
    json_object_set_new(vt_net_agency_json(net, "agency-05"), "id", json_string("Agency 5"));
    s_assert_json_refused(net, VG_ERR_POLICY, "Agency 5");
}

static void
json_missing_deadline_is_policy(void **state)
{
    vt_net *net = *state;
    json_object_del(json_object_get(net->json, "deadlines"), "medium");
    s_assert_json_refused(net, VG_ERR_POLICY, "medium");
}

static void
json_missing_deadlines_is_malformed(void **state)
{
    vt_net *net = *state;
    json_object_del(net->json, "deadlines");
    s_assert_json_refused(net, VG_ERR_MALFORMED, "deadlines");
}

static void
json_bad_deadline_duration_is_malformed(void **state)
{
    vt_net *net = *state;
    json_object_set_new(json_object_get(net->json, "deadlines"), "high", json_string("soon"));
    s_assert_json_refused(net, VG_ERR_MALFORMED, "high");
}

static void
json_bad_deadline_urgency_is_malformed(void **state)
{
    vt_net *net = *state;
    json_object_set_new(json_object_get(net->json, "deadlines"), "high/whenever",
                        json_string("5m"));
    s_assert_json_refused(net, VG_ERR_MALFORMED, "high/whenever");
}

static void
json_unknown_escalation_contact_is_policy(void **state)
{
    vt_net *net = *state;
    json_object_set_new(vt_net_agency_json(net, "licensing"), "escalation_contact",
                        json_string("nobody-here"));
    s_assert_json_refused(net, VG_ERR_POLICY, "nobody-here");
}

static void
json_escalation_out_of_order_is_policy(void **state)
{
    vt_net *net = *state;
    json_t *esc = json_pack("[{s:s, s:s}, {s:s, s:s}]", "after", "1h", "target", "contact", "after",
                            "30m", "target", "redeliver");
    json_object_set_new(net->json, "escalation", esc);
    s_assert_json_refused(net, VG_ERR_POLICY, "escalation");
}

static void
json_escalation_bad_target_is_malformed(void **state)
{
    vt_net *net = *state;
    json_t *esc = json_pack("[{s:s, s:s}]", "after", "1h", "target", "everyone");
    json_object_set_new(net->json, "escalation", esc);
    s_assert_json_refused(net, VG_ERR_MALFORMED, "everyone");
}

static void
json_version_zero_is_refused(void **state)
{
    vt_net *net = *state;
    json_object_set_new(net->json, "version", json_integer(0));
    char *text = vt_net_json_text(net);
    uint8_t *body = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    vg_err err = vg_netdoc_body_from_json(&body, &len, text, &why);
    free(text);
    assert_true(err == VG_ERR_MALFORMED || err == VG_ERR_POLICY);
    assert_true(vt_reason_has(&why, "version"));
    free(body);
}

static void
json_bad_network_name_is_refused(void **state)
{
    vt_net *net = *state;
    json_object_set_new(net->json, "network", json_string("has space"));
    s_assert_json_refused(net, VG_ERR_POLICY, "network");
}

static void
json_unknown_top_level_key_is_malformed(void **state)
{
    vt_net *net = *state;
    json_object_set_new(net->json, "polcy", json_array());
    s_assert_json_refused(net, VG_ERR_MALFORMED, "polcy");
}

static void
json_missing_agency_key_is_malformed(void **state)
{
    vt_net *net = *state;
    json_object_del(vt_net_agency_json(net, "licensing"), "box_key");
    s_assert_json_refused(net, VG_ERR_MALFORMED, "box_key");
}

/* ---- policy evaluation --------------------------------------------------- */

/*
 * 6 agencies: police, licensing, childrens-services, home-office (government),
 * agency-04 and agency-05 (partner).
 */
static void
s_policy_net(vt_net *net)
{
    vt_net_set_policy(
        net, "["
             "{\"name\": \"taxi-and-cse\", \"categories\": [\"taxi\", \"cse\"], "
             " \"min_severity\": \"low\", "
             " \"must_reach\": [\"licensing\", \"police\", \"childrens-services\"]},"
             "{\"name\": \"missing-high\", \"categories\": [\"missing-child\"], "
             " \"min_severity\": \"high\", \"must_reach\": [\"home-office\"]},"
             "{\"name\": \"critical-government\", \"categories\": [], "
             " \"min_severity\": \"critical\", \"must_reach_roles\": [\"government\"]},"
             "{\"name\": \"online-partners\", \"categories\": [\"online-harm\"], "
             " \"min_severity\": \"medium\", \"must_reach_roles\": [\"partner\"]},"
             "{\"name\": \"cse-again\", \"categories\": [\"cse\"], "
             " \"min_severity\": \"low\", \"must_reach\": [\"childrens-services\", \"licensing\"]}"
             "]");
    s_publish_ok(net);
}

static void
policy_category_requires_agencies(void **state)
{
    vt_net *net = *state;
    s_policy_net(net);
    /* a police alert about taxis must reach licensing and children's services */
    ASSERT_REQUIRED(net, "taxi", VG_SEV_LOW, "police", "licensing,childrens-services");
}

static void
policy_sender_is_excluded(void **state)
{
    vt_net *net = *state;
    s_policy_net(net);
    ASSERT_REQUIRED(net, "taxi", VG_SEV_MEDIUM, "licensing", "police,childrens-services");
    ASSERT_REQUIRED(net, "taxi", VG_SEV_MEDIUM, "agency-04", "police,licensing,childrens-services");
}

static void
policy_unmatched_category_requires_nobody(void **state)
{
    vt_net *net = *state;
    s_policy_net(net);
    ASSERT_REQUIRED(net, "other", VG_SEV_HIGH, "police", "");
    ASSERT_REQUIRED(net, "exploitation", VG_SEV_LOW, "police", "");
}

static void
policy_any_category_matches(void **state)
{
    vt_net *net = *state;
    s_policy_net(net);
    ASSERT_REQUIRED(net, "other,taxi", VG_SEV_LOW, "police", "licensing,childrens-services");
    ASSERT_REQUIRED(net, "other,missing-child", VG_SEV_HIGH, "police", "home-office");
}

static void
policy_min_severity(void **state)
{
    vt_net *net = *state;
    s_policy_net(net);
    ASSERT_REQUIRED(net, "missing-child", VG_SEV_LOW, "police", "");
    ASSERT_REQUIRED(net, "missing-child", VG_SEV_MEDIUM, "police", "");
    ASSERT_REQUIRED(net, "missing-child", VG_SEV_HIGH, "police", "home-office");
    ASSERT_REQUIRED(net, "missing-child", VG_SEV_CRITICAL, "police", "home-office");
}

static void
policy_empty_categories_match_everything(void **state)
{
    vt_net *net = *state;
    s_policy_net(net);
    ASSERT_REQUIRED(net, "other", VG_SEV_CRITICAL, "police", "home-office");
    ASSERT_REQUIRED(net, "exploitation", VG_SEV_CRITICAL, "licensing", "home-office");
    ASSERT_REQUIRED(net, "exploitation", VG_SEV_HIGH, "licensing", "");
}

static void
policy_role_rule_reaches_every_agency_with_role(void **state)
{
    vt_net *net = *state;
    s_policy_net(net);
    ASSERT_REQUIRED(net, "online-harm", VG_SEV_MEDIUM, "police", "agency-04,agency-05");
    ASSERT_REQUIRED(net, "online-harm", VG_SEV_MEDIUM, "agency-04", "agency-05");
    ASSERT_REQUIRED(net, "online-harm", VG_SEV_LOW, "police", "");
}

static void
policy_role_rule_skips_revoked(void **state)
{
    vt_net *net = *state;
    json_object_set_new(vt_net_agency_json(net, "agency-04"), "revoked", json_true());
    s_policy_net(net);
    ASSERT_REQUIRED(net, "online-harm", VG_SEV_HIGH, "police", "agency-05");
}

static void
policy_revoked_agency_is_excluded(void **state)
{
    vt_net *net = *state;
    json_object_set_new(vt_net_agency_json(net, "licensing"), "revoked", json_true());
    s_policy_net(net);
    ASSERT_REQUIRED(net, "taxi", VG_SEV_LOW, "police", "childrens-services");
}

static void
policy_each_agency_once_in_document_order(void **state)
{
    vt_net *net = *state;
    s_policy_net(net);
    /* taxi-and-cse, cse-again and critical-government all match */
    ASSERT_REQUIRED(net, "cse,missing-child", VG_SEV_CRITICAL, "agency-05",
                    "police,licensing,childrens-services,home-office");
}

static void
policy_required_appends(void **state)
{
    vt_net *net = *state;
    s_policy_net(net);
    vg_strlist out = {0};
    assert_int_equal(vg_strlist_add(&out, "already"), VG_OK);
    const char *cats[] = {"taxi"};
    assert_int_equal(vg_netdoc_required(net->doc, cats, 1, VG_SEV_LOW, "police", &out), VG_OK);
    assert_int_equal(out.n, 3);
    assert_string_equal(out.items[0], "already");
    assert_string_equal(out.items[1], "licensing");
    vg_strlist_fini(&out);
}

static void
policy_no_rules_requires_nobody(void **state)
{
    vt_net *net = *state;
    vt_net_set_policy(net, "[]");
    s_publish_ok(net);
    ASSERT_REQUIRED(net, "taxi,cse", VG_SEV_CRITICAL, "police", "");
}

/* ---- deadlines and escalation ------------------------------------------- */

static void
deadlines_by_severity(void **state)
{
    vt_net *net = *state;
    assert_int_equal(vg_netdoc_deadline_ms(net->doc, VG_SEV_CRITICAL, VG_URG_EXPECTED), 900000);
    assert_int_equal(vg_netdoc_deadline_ms(net->doc, VG_SEV_HIGH, VG_URG_EXPECTED), 3600000);
    assert_int_equal(vg_netdoc_deadline_ms(net->doc, VG_SEV_MEDIUM, VG_URG_IMMEDIATE), 86400000);
    assert_int_equal(vg_netdoc_deadline_ms(net->doc, VG_SEV_LOW, VG_URG_UNKNOWN), 259200000);
}

static void
deadlines_urgency_override(void **state)
{
    vt_net *net = *state;
    assert_int_equal(vg_netdoc_deadline_ms(net->doc, VG_SEV_HIGH, VG_URG_IMMEDIATE), 1800000);
    assert_int_equal(vg_netdoc_deadline_ms(net->doc, VG_SEV_HIGH, VG_URG_UNSPECIFIED), 3600000);
    assert_int_equal(vg_netdoc_deadline_ms(net->doc, VG_SEV_HIGH, VG_URG_FUTURE), 3600000);
}

static void
deadlines_override_listed_first_still_applies(void **state)
{
    vt_net *net = *state;
    json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "low/past", "5s", "critical", "2s",
                          "high", "3s", "medium", "4s", "low", "6s", "critical/immediate", "250ms");
    json_object_set_new(net->json, "deadlines", d);
    s_publish_ok(net);
    assert_int_equal(vg_netdoc_deadline_ms(net->doc, VG_SEV_LOW, VG_URG_PAST), 5000);
    assert_int_equal(vg_netdoc_deadline_ms(net->doc, VG_SEV_LOW, VG_URG_FUTURE), 6000);
    assert_int_equal(vg_netdoc_deadline_ms(net->doc, VG_SEV_CRITICAL, VG_URG_IMMEDIATE), 250);
    assert_int_equal(vg_netdoc_deadline_ms(net->doc, VG_SEV_CRITICAL, VG_URG_PAST), 2000);
    assert_int_equal(vg_netdoc_deadline_ms(net->doc, VG_SEV_HIGH, VG_URG_IMMEDIATE), 3000);
}

static void
escalation_steps_in_order(void **state)
{
    vt_net *net = *state;
    assert_int_equal(vg_netdoc_n_escalation(net->doc), 3);
    vg_escalation_step s;
    vg_netdoc_escalation_at(net->doc, 0, &s);
    assert_int_equal(s.after_ms, 0);
    assert_int_equal(s.target, VG_ESC_REDELIVER);
    assert_string_equal(s.role, "");
    vg_netdoc_escalation_at(net->doc, 1, &s);
    assert_int_equal(s.after_ms, 1800000);
    assert_int_equal(s.target, VG_ESC_CONTACT);
    assert_string_equal(s.role, "");
    vg_netdoc_escalation_at(net->doc, 2, &s);
    assert_int_equal(s.after_ms, 7200000);
    assert_int_equal(s.target, VG_ESC_ROLE);
    assert_string_equal(s.role, "government");
}

/* ---- limits and oversight ------------------------------------------------ */

static void
limits_default_network_and_card(void **state)
{
    vt_net *net = *state;
    s_publish_ok(net);
    vg_limits l = vg_netdoc_limits(net->doc, "police");
    assert_int_equal(l.publish_per_minute, VG_LIMIT_PUBLISH_PER_MINUTE);
    assert_int_equal(l.publish_burst, VG_LIMIT_PUBLISH_BURST);
    assert_true(l.stored_bytes_per_day == VG_LIMIT_STORED_BYTES_PER_DAY);
    json_object_set_new(
        net->json, "limits",
        json_pack("{s:i, s:s}", "publish_per_minute", 60, "stored_bytes_per_day", "64KiB"));
    json_object_set_new(vt_net_agency_json(net, "licensing"), "limits",
                        json_pack("{s:i}", "publish_burst", 3));
    s_publish_ok(net);
    l = vg_netdoc_limits(net->doc, "police"); /* the network's, the default for the rest */
    assert_int_equal(l.publish_per_minute, 60);
    assert_int_equal(l.publish_burst, VG_LIMIT_PUBLISH_BURST);
    assert_true(l.stored_bytes_per_day == 65536);
    l = vg_netdoc_limits(net->doc, "licensing"); /* its own burst over the network's */
    assert_int_equal(l.publish_per_minute, 60);
    assert_int_equal(l.publish_burst, 3);
    assert_true(l.stored_bytes_per_day == 65536);
}

static void
limits_wrong_are_refused(void **state)
{
    vt_net *net = *state;
    json_object_set_new(net->json, "limits", json_pack("{s:s}", "stored_bytes_per_day", "lots"));
    s_assert_json_refused(net, VG_ERR_MALFORMED, "stored_bytes_per_day");
    json_object_set_new(net->json, "limits", json_pack("{s:i}", "publish_per_minute", -1));
    s_assert_json_refused(net, VG_ERR_MALFORMED, "publish_per_minute");
    json_object_set_new(net->json, "limits", json_pack("{s:i}", "per_minute", 5));
    s_assert_json_refused(net, VG_ERR_MALFORMED, "per_minute");
    json_object_set_new(net->json, "limits", json_pack("{s:i}", "publish_burst", 2000000));
    s_assert_json_refused(net, VG_ERR_POLICY, "publish_burst");
}

static void
oversight_view_defaults_to_metadata_only(void **state)
{
    vt_net *net = *state;
    s_publish_ok(net);
    vg_oversight_view v = vg_netdoc_oversight(net->doc);
    assert_false(v.officer_names);
    assert_false(v.notes);
    json_object_set_new(net->json, "oversight", json_pack("{s:b}", "officer_names", 1));
    s_publish_ok(net);
    v = vg_netdoc_oversight(net->doc);
    assert_true(v.officer_names);
    assert_false(v.notes);
    json_object_set_new(net->json, "oversight", json_pack("{s:s}", "notes", "yes"));
    s_assert_json_refused(net, VG_ERR_MALFORMED, "notes");
}

static void
oversight_cannot_be_required(void **state)
{
    vt_net *net = *state;
    json_object_set_new(vt_net_agency_json(net, "agency-04"), "role", json_string("oversight"));
    s_publish_ok(net);
    assert_true(vg_netdoc_is_oversight(net->doc, "agency-04"));
    assert_false(vg_netdoc_is_oversight(net->doc, "police"));
    vt_net_set_policy(net, "[{\"name\": \"r\", \"categories\": [], \"min_severity\": "
                           "\"low\", \"must_reach\": [\"agency-04\"]}]");
    s_assert_json_refused(net, VG_ERR_POLICY, "oversight");
    vt_net_set_policy(net, "[{\"name\": \"r\", \"categories\": [], \"min_severity\": "
                           "\"low\", \"must_reach_roles\": [\"oversight\"]}]");
    s_assert_json_refused(net, VG_ERR_POLICY, "oversight");
}

/* ---- JSON round trip ---------------------------------------------------- */

static void
to_json_round_trip(void **state)
{
    vt_net *net = *state;
    json_object_set_new(vt_net_agency_json(net, "agency-05"), "revoked", json_true());
    json_object_set_new(
        vt_net_agency_json(net, "agency-04"), "limits",
        json_pack("{s:i, s:s}", "publish_burst", 7, "stored_bytes_per_day", "3MiB"));
    json_object_set_new(net->json, "limits", json_pack("{s:i}", "publish_per_minute", 90));
    json_object_set_new(net->json, "oversight",
                        json_pack("{s:b, s:b}", "officer_names", 0, "notes", 1));
    s_policy_net(net);
    char *json1 = NULL;
    assert_int_equal(vg_netdoc_to_json(&json1, net->doc), VG_OK);
    uint8_t *body = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    vg_err err = vg_netdoc_body_from_json(&body, &len, json1, &why);
    if (err != VG_OK) {
        print_error("%s: %s\n%s\n", vg_err_code(err), why.text, json1);
    }
    assert_int_equal(err, VG_OK);
    /* the JSON form loses nothing: the same body bytes come back */
    assert_int_equal(len, net->body_len);
    assert_memory_equal(body, net->body, len);
    uint8_t *signed_doc = NULL;
    size_t signed_len = 0;
    assert_int_equal(vg_netdoc_sign(&signed_doc, &signed_len, body, len, 0, net->admin, NULL),
                     VG_OK);
    vg_netdoc *doc2 = NULL;
    assert_int_equal(
        vg_netdoc_verify(&doc2, signed_doc, signed_len, vg_keyset_sign_pk(net->admin), 0, NULL),
        VG_OK);
    char *json2 = NULL;
    assert_int_equal(vg_netdoc_to_json(&json2, doc2), VG_OK);
    assert_string_equal(json1, json2);
    vg_agency a;
    assert_int_equal(vg_netdoc_find(doc2, "agency-05", &a), VG_OK);
    assert_true(a.revoked);
    assert_int_equal(vg_netdoc_deadline_ms(doc2, VG_SEV_HIGH, VG_URG_IMMEDIATE), 1800000);
    free(json1);
    free(json2);
    free(body);
    free(signed_doc);
    vg_netdoc_destroy(&doc2);
}

/* "witnessing": k cosignatures within a time; read back, written back, and
 * refused when no checkpoint could ever have them (docs/network.md). */
static void
json_witnessing_round_trip_and_limits(void **state)
{
    vt_net *net = *state;
    assert_int_equal(vg_netdoc_witnessing(net->doc).cosignatures, 0); /* absent: none */
    json_error_t jerr;
    json_object_set_new(net->json, "witnessing",
                        json_loads("{\"cosignatures\": 3, \"within\": \"15m\"}", 0, &jerr));
    s_publish_ok(net);
    vg_witnessing w = vg_netdoc_witnessing(net->doc);
    assert_int_equal(w.cosignatures, 3);
    assert_int_equal(w.within_ms, 15 * 60 * 1000);
    char *text = NULL;
    assert_int_equal(vg_netdoc_to_json(&text, net->doc), VG_OK);
    json_t *back = json_loads(text, 0, &jerr);
    free(text);
    json_t *wj = json_object_get(back, "witnessing");
    assert_int_equal(json_integer_value(json_object_get(wj, "cosignatures")), 3);
    assert_string_equal(json_string_value(json_object_get(wj, "within")), "15m");
    json_decref(back);
    json_object_set_new(net->json, "witnessing",
                        json_loads("{\"cosignatures\": 5, \"within\": \"15m\"}", 0, &jerr));
    s_assert_json_refused(net, VG_ERR_POLICY, "only 4 agencies");
    json_object_set_new(net->json, "witnessing",
                        json_loads("{\"cosignatures\": 0, \"within\": \"15m\"}", 0, &jerr));
    s_assert_json_refused(net, VG_ERR_MALFORMED, "cosignatures");
    json_object_set_new(net->json, "witnessing",
                        json_loads("{\"cosignatures\": 2, \"within\": \"soon\"}", 0, &jerr));
    s_assert_json_refused(net, VG_ERR_MALFORMED, "within");
    json_object_set_new(
        net->json, "witnessing",
        json_loads("{\"cosignatures\": 2, \"within\": \"1m\", \"k\": 1}", 0, &jerr));
    s_assert_json_refused(net, VG_ERR_MALFORMED, "k");
}

/* ---- retention (docs/network.md "Retention") ---------------------------------------- */

static void
s_retention(vt_net *net, const char *rules_json)
{
    json_error_t err;
    json_t *rules = json_loads(rules_json, 0, &err);
    assert_non_null(rules);
    json_object_set_new(net->json, "retention", rules);
}

static void
retention_longest_applicable_rule(void **state)
{
    vt_net *net = *state;
    s_retention(net, "[{\"status\": \"exercise\", \"content\": \"30d\"},"
                     " {\"category\": \"taxi\", \"content\": \"1d\", \"tags\": \"400d\"},"
                     " {\"status\": \"actual\", \"category\": \"cse\", \"content\": \"7d\"}]");
    s_publish_ok(net);
    const uint64_t day = 86400000;
    uint64_t c = 0, t = 0;
    vg_netdoc_retention(net->doc, VG_STATUS_EXERCISE, "taxi,cse", &c, &t);
    assert_int_equal(c, 30 * day); /* exercise 30d beats taxi 1d; tags: taxi's 400d */
    assert_int_equal(t, 400 * day);
    vg_netdoc_retention(net->doc, VG_STATUS_ACTUAL, "cse", &c, &t);
    assert_int_equal(c, 7 * day);
    assert_int_equal(t, 7 * day); /* tags default to the content's */
    vg_netdoc_retention(net->doc, VG_STATUS_ACTUAL, "other", &c, &t);
    assert_int_equal(c, 0); /* no rule: kept for ever */
    assert_int_equal(t, 0);
    vg_netdoc_retention(net->doc, VG_STATUS_ACTUAL, "taxicab", &c, &t);
    assert_int_equal(c, 0); /* a whole category, not a prefix */
    assert_int_equal(vg_netdoc_retention_shortest(net->doc), day);
    char *json = NULL; /* and back: the rules survive the round trip */
    assert_int_equal(vg_netdoc_to_json(&json, net->doc), VG_OK);
    assert_non_null(strstr(json, "\"tags\": \"400d\""));
    free(json);
}

static void
retention_none_keeps_everything(void **state)
{
    vt_net *net = *state;
    s_publish_ok(net);
    uint64_t c = 1, t = 1;
    vg_netdoc_retention(net->doc, VG_STATUS_EXERCISE, "taxi", &c, &t);
    assert_int_equal(c, 0);
    assert_int_equal(t, 0);
    assert_int_equal(vg_netdoc_retention_shortest(net->doc), 0);
}

static void
retention_bad_rules_are_refused(void **state)
{
    vt_net *net = *state;
    s_retention(net, "[{\"status\": \"exercise\"}]");
    s_assert_json_refused(net, VG_ERR_MALFORMED, "\"content\" is required");
    s_retention(net, "[{\"content\": \"soon\"}]");
    s_assert_json_refused(net, VG_ERR_MALFORMED, "retention[0]");
    s_retention(net, "[{\"content\": \"0s\"}]");
    s_assert_json_refused(net, VG_ERR_MALFORMED, "zero");
    s_retention(net, "[{\"content\": \"30d\", \"tags\": \"1d\"}]");
    s_assert_json_refused(net, VG_ERR_MALFORMED, "shorter");
    s_retention(net, "[{\"status\": \"rehearsal\", \"content\": \"1d\"}]");
    s_assert_json_refused(net, VG_ERR_MALFORMED, "rehearsal");
    s_retention(net, "[{\"category\": \"weather\", \"content\": \"1d\"}]");
    s_assert_json_refused(net, VG_ERR_POLICY, "weather");
    s_retention(net, "[{\"content\": \"1d\", \"keep\": true}]");
    s_assert_json_refused(net, VG_ERR_MALFORMED, "keep");
    s_retention(net, "{\"content\": \"1d\"}");
    s_assert_json_refused(net, VG_ERR_MALFORMED, "retention");
}

#define T4(name) cmocka_unit_test_setup_teardown(name, setup4, teardown)
#define T6(name) cmocka_unit_test_setup_teardown(name, setup6, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T4(verify_round_trip_accessors),
        T4(json_witnessing_round_trip_and_limits),
        T4(retention_longest_applicable_rule),
        T4(retention_none_keeps_everything),
        T4(retention_bad_rules_are_refused),
        T4(find_by_id_and_transport),
        T4(find_unknown_is_not_found),
        T4(find_revoked_agency_says_so),
        T4(categories_taxonomy),
        T4(sign_forces_version),
        T4(issued_defaults_to_signing_time),
        T4(load_from_file),
        T4(load_missing_file_is_not_found),
        T4(verify_wrong_admin_key_is_bad_signature),
        T4(verify_signed_by_other_key_is_bad_signature),
        T4(verify_every_byte_flip_is_refused),
        T4(verify_truncated_is_refused),
        T4(verify_garbage_is_malformed),
        T4(verify_too_large),
        T4(verify_older_version_is_stale),
        T4(verify_unsigned_body_is_refused),
        T4(verify_reused_signature_on_other_body_is_bad_signature),
        T4(json_not_json_is_malformed),
        T6(json_policy_unknown_agency_is_policy),
        T6(json_policy_unknown_category_is_policy),
        T6(json_policy_unknown_role_is_policy),
        T6(json_policy_bad_severity_is_malformed),
        T6(json_duplicate_agency_id_is_policy),
        T6(json_shared_key_is_policy),
        T6(json_bad_key_length_is_malformed),
        T6(json_bad_key_hex_is_malformed),
        T6(json_bad_transport_key_is_malformed),
        T6(json_invalid_agency_id_is_refused),
        T6(json_missing_deadline_is_policy),
        T6(json_missing_deadlines_is_malformed),
        T6(json_bad_deadline_duration_is_malformed),
        T6(json_bad_deadline_urgency_is_malformed),
        T6(json_unknown_escalation_contact_is_policy),
        T6(json_escalation_out_of_order_is_policy),
        T6(json_escalation_bad_target_is_malformed),
        T6(json_version_zero_is_refused),
        T6(json_bad_network_name_is_refused),
        T6(json_unknown_top_level_key_is_malformed),
        T6(json_missing_agency_key_is_malformed),
        T6(policy_category_requires_agencies),
        T6(policy_sender_is_excluded),
        T6(policy_unmatched_category_requires_nobody),
        T6(policy_any_category_matches),
        T6(policy_min_severity),
        T6(policy_empty_categories_match_everything),
        T6(policy_role_rule_reaches_every_agency_with_role),
        T6(policy_role_rule_skips_revoked),
        T6(policy_revoked_agency_is_excluded),
        T6(policy_each_agency_once_in_document_order),
        T6(policy_required_appends),
        T6(policy_no_rules_requires_nobody),
        T4(deadlines_by_severity),
        T4(deadlines_urgency_override),
        T4(deadlines_override_listed_first_still_applies),
        T4(escalation_steps_in_order),
        T6(limits_default_network_and_card),
        T6(limits_wrong_are_refused),
        T6(oversight_view_defaults_to_metadata_only),
        T6(oversight_cannot_be_required),
        T6(to_json_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
