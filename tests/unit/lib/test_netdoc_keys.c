/* test_netdoc_keys.c — vigil/netdoc.h: keys that rotate, leak or are revoked
 * (previous_keys, compromised_at, successor, previous_broker_keys,
 * key_transition), their JSON form, their rules and the transport-key
 * lookups the broker's ZAP handler uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/netdoc.h"
#include "vigil/transition.h"
#include "vigil/util.h"
#include "vt.h"

#define T_ROTATED (VT_ISSUED_MS + 60000)
#define T_UNTIL (VT_ISSUED_MS + 3600000)

static int
setup(void **state)
{
    *state = vt_net_new(5);
    return 0;
}

static int
teardown(void **state)
{
    vt_net *net = *state;
    vt_net_destroy(&net);
    return 0;
}

/* net->json must be refused with want, its reason mentioning needle. */
static void
s_refused(vt_net *net, vg_err want, const char *needle)
{
    char *text = vt_net_json_text(net);
    uint8_t *body = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    vg_err err = vg_netdoc_body_from_json(&body, &len, text, &why);
    free(text);
    if (err != want || (needle != NULL && !vt_reason_has(&why, needle))) {
        fail_msg("want %s mentioning \"%s\", got %s: %s", vg_err_code(want), needle ? needle : "",
                 vg_err_code(err), why.text);
    }
    assert_null(body);
}

static json_t *
s_hex(const uint8_t *k)
{
    char hex[65];
    vg_hex_encode(hex, sizeof hex, k, 32);
    return json_string(hex);
}

/* A previous key set object with the given keys (NULL: left out). */
static json_t *
s_prev(const uint8_t *sign, const uint8_t *box, const char *transport_z85, int64_t rotated,
       int64_t until)
{
    json_t *o = json_object();
    if (sign != NULL) {
        json_object_set_new(o, "sign_key", s_hex(sign));
    }
    if (box != NULL) {
        json_object_set_new(o, "box_key", s_hex(box));
    }
    if (transport_z85 != NULL) {
        json_object_set_new(o, "transport_key", json_string(transport_z85));
    }
    json_object_set_new(o, "rotated", json_integer(rotated));
    json_object_set_new(o, "valid_until", json_integer(until));
    return o;
}

static void
s_add_prev(vt_net *net, const char *id, json_t *prev)
{
    json_t *card = vt_net_agency_json(net, id);
    json_t *list = json_object_get(card, "previous_keys");
    if (list == NULL) {
        list = json_array();
        json_object_set_new(card, "previous_keys", list);
    }
    json_array_append_new(list, prev);
}

/* ---- the JSON form -------------------------------------------------------- */

static void
rotation_fields_round_trip(void **state)
{
    vt_net *net = *state;
    vg_keyset *old = vt_net_rotate(net, "police", T_ROTATED, T_UNTIL);
    json_t *card = vt_net_agency_json(net, "police");
    json_t *comp = json_object();
    json_object_set_new(comp, "sign_key", json_integer(T_UNTIL + 5));
    json_object_set_new(card, "compromised_at", comp);
    json_t *prev = json_array_get(json_object_get(card, "previous_keys"), 0);
    comp = json_object();
    json_object_set_new(comp, "box_key", json_string("2026-12-01T18:00:00Z"));
    json_object_set_new(prev, "compromised_at", comp);
    json_t *ag = vt_net_agency_json(net, "agency-04");
    json_object_set_new(ag, "revoked", json_true());
    json_object_set_new(ag, "successor", json_string("licensing"));
    vt_net_republish(net);

    vg_agency a;
    assert_int_equal(vg_netdoc_find(net->doc, "police", &a), VG_OK);
    assert_int_equal(a.n_previous, 1);
    assert_true(a.sign_compromised_ms == T_UNTIL + 5);
    assert_true(a.transport_compromised_ms == 0);
    vg_previous_keys p;
    assert_int_equal(vg_netdoc_previous_keys(net->doc, "police", 0, &p), VG_OK);
    assert_memory_equal(p.sign_pk, vg_keyset_sign_pk(old), 32);
    assert_memory_equal(p.box_pk, vg_keyset_box_pk(old), 32);
    assert_memory_equal(p.transport_pk, vg_keyset_curve_pk(old), 32);
    assert_true(p.rotated_ms == T_ROTATED && p.valid_until_ms == T_UNTIL);
    assert_true(p.box_compromised_ms == INT64_C(1796148000000)); /* 2026-12-01T18:00:00Z */
    assert_int_equal(vg_netdoc_previous_keys(net->doc, "police", 1, &p), VG_ERR_NOT_FOUND);
    assert_int_equal(vg_netdoc_find(net->doc, "agency-04", &a), VG_OK);
    assert_string_equal(a.successor, "licensing");

    /* to JSON and back: the same body */
    char *text = NULL;
    assert_int_equal(vg_netdoc_to_json(&text, net->doc), VG_OK);
    uint8_t *body = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    assert_int_equal(vg_netdoc_body_from_json(&body, &len, text, &why), VG_OK);
    assert_int_equal(len, net->body_len);
    assert_memory_equal(body, net->body, len);
    free(body);
    free(text);
    vg_keyset_destroy(&old);
}

static void
previous_set_may_leave_out_unchanged_keys(void **state)
{
    vt_net *net = *state;
    vg_keyset *fresh = NULL;
    assert_int_equal(vg_keyset_generate(&fresh, VG_KEY_BOX), VG_OK);
    /* only the box key rotated: the previous set lists the old box key alone */
    json_t *card = vt_net_agency_json(net, "licensing");
    s_add_prev(
        net, "licensing",
        s_prev(NULL, vg_keyset_box_pk(vt_net_keys(net, "licensing")), NULL, T_ROTATED, T_UNTIL));
    json_object_set_new(card, "box_key", s_hex(vg_keyset_box_pk(fresh)));
    vt_net_republish(net);
    vg_previous_keys p;
    assert_int_equal(vg_netdoc_previous_keys(net->doc, "licensing", 0, &p), VG_OK);
    assert_null(p.sign_pk);
    assert_null(p.transport_pk);
    assert_non_null(p.box_pk);
    vg_keyset_destroy(&fresh);
}

static void
times_must_be_times(void **state)
{
    vt_net *net = *state;
    json_t *prev =
        s_prev(NULL, NULL, vg_keyset_curve_pk_z85(vt_net_keys(net, "police")), T_ROTATED, T_UNTIL);
    json_object_set_new(prev, "valid_until", json_string("tomorrow"));
    s_add_prev(net, "licensing", prev);
    s_refused(net, VG_ERR_MALFORMED, "valid_until");
    json_object_del(prev, "valid_until");
    s_refused(net, VG_ERR_MALFORMED, "is required");
}

static void
unknown_keys_are_refused(void **state)
{
    vt_net *net = *state;
    json_t *prev =
        s_prev(NULL, vg_keyset_box_pk(vt_net_keys(net, "police")), NULL, T_ROTATED, T_UNTIL);
    json_object_set_new(prev, "expires", json_integer(1));
    s_add_prev(net, "police", prev);
    s_refused(net, VG_ERR_MALFORMED, "expires");
}

/* ---- the rules -------------------------------------------------------------- */

static void
previous_key_equal_to_own_current_key_is_refused(void **state)
{
    vt_net *net = *state;
    s_add_prev(
        net, "police",
        s_prev(vg_keyset_sign_pk(vt_net_keys(net, "police")), NULL, NULL, T_ROTATED, T_UNTIL));
    s_refused(net, VG_ERR_POLICY, "previous sign key is also a current sign key of police");
}

static void
previous_key_equal_to_another_agencys_key_is_refused(void **state)
{
    vt_net *net = *state;
    s_add_prev(net, "police",
               s_prev(NULL, NULL, vg_keyset_curve_pk_z85(vt_net_keys(net, "licensing")), T_ROTATED,
                      T_UNTIL));
    s_refused(net, VG_ERR_POLICY, "current transport key of licensing");
}

static void
previous_key_listed_by_two_agencies_is_refused(void **state)
{
    vt_net *net = *state;
    vg_keyset *ks = NULL;
    assert_int_equal(vg_keyset_generate(&ks, VG_KEY_ALL), VG_OK);
    s_add_prev(net, "police", s_prev(NULL, vg_keyset_box_pk(ks), NULL, T_ROTATED, T_UNTIL));
    s_add_prev(net, "licensing", s_prev(NULL, vg_keyset_box_pk(ks), NULL, T_ROTATED, T_UNTIL));
    s_refused(net, VG_ERR_POLICY, "also a previous box key of licensing");
    vg_keyset_destroy(&ks);
}

static void
overlap_ending_before_it_starts_is_refused(void **state)
{
    vt_net *net = *state;
    vg_keyset *ks = NULL;
    assert_int_equal(vg_keyset_generate(&ks, VG_KEY_ALL), VG_OK);
    s_add_prev(net, "police", s_prev(vg_keyset_sign_pk(ks), NULL, NULL, T_UNTIL, T_ROTATED));
    s_refused(net, VG_ERR_POLICY, "no earlier than the start");
    vg_keyset_destroy(&ks);
}

static void
empty_previous_set_is_refused(void **state)
{
    vt_net *net = *state;
    s_add_prev(net, "police", s_prev(NULL, NULL, NULL, T_ROTATED, T_UNTIL));
    s_refused(net, VG_ERR_POLICY, "one to three keys");
}

static void
compromised_current_box_key_is_refused(void **state)
{
    vt_net *net = *state;
    json_t *comp = json_object();
    json_object_set_new(comp, "box_key", json_integer(T_ROTATED));
    json_object_set_new(vt_net_agency_json(net, "police"), "compromised_at", comp);
    s_refused(net, VG_ERR_MALFORMED, "give the card a new box key or revoke");
}

static void
compromised_key_the_set_does_not_list_is_refused(void **state)
{
    vt_net *net = *state;
    vg_keyset *ks = NULL;
    assert_int_equal(vg_keyset_generate(&ks, VG_KEY_ALL), VG_OK);
    json_t *prev = s_prev(NULL, vg_keyset_box_pk(ks), NULL, T_ROTATED, T_UNTIL);
    json_t *comp = json_object();
    json_object_set_new(comp, "sign_key", json_integer(T_ROTATED));
    json_object_set_new(prev, "compromised_at", comp);
    s_add_prev(net, "police", prev);
    s_refused(net, VG_ERR_POLICY, "does not list");
    vg_keyset_destroy(&ks);
}

static void
successor_rules(void **state)
{
    vt_net *net = *state;
    json_t *a4 = vt_net_agency_json(net, "agency-04");
    json_object_set_new(a4, "successor", json_string("licensing"));
    s_refused(net, VG_ERR_POLICY, "only a revoked agency has one");
    json_object_set_new(a4, "revoked", json_true());
    json_object_set_new(a4, "successor", json_string("agency-04"));
    s_refused(net, VG_ERR_POLICY, "the agency itself");
    json_object_set_new(a4, "successor", json_string("nobody"));
    s_refused(net, VG_ERR_POLICY, "not an agency");
    json_object_set_new(vt_net_agency_json(net, "home-office"), "revoked", json_true());
    json_object_set_new(a4, "successor", json_string("home-office"));
    s_refused(net, VG_ERR_POLICY, "revoked too");
    json_object_set_new(vt_net_agency_json(net, "home-office"), "revoked", json_false());
    json_object_set_new(vt_net_agency_json(net, "home-office"), "role", json_string("oversight"));
    s_refused(net, VG_ERR_POLICY, "oversight");
    json_object_set_new(vt_net_agency_json(net, "home-office"), "role", json_string("government"));
    json_object_set_new(a4, "successor", json_string("licensing"));
    vt_net_republish(net);
}

/* ---- the broker's keys ------------------------------------------------------- */

/* Rotates the broker's sign key in the JSON: the old one into
 * previous_broker_keys, with a transition note signed by `signer`. Returns
 * the new broker keys. */
static vg_keyset *
s_rotate_broker(vt_net *net, const vg_keyset *signer, bool with_note)
{
    vg_keyset *next = NULL;
    assert_int_equal(vg_keyset_generate(&next, VG_KEY_SIGN | VG_KEY_CURVE), VG_OK);
    json_t *broker = json_object_get(net->json, "broker");
    json_t *prev = json_object();
    json_object_set_new(prev, "sign_key", s_hex(vg_keyset_sign_pk(net->broker)));
    json_object_set_new(prev, "rotated", json_integer(T_ROTATED));
    json_object_set_new(prev, "valid_until", json_integer(T_UNTIL));
    json_t *list = json_array();
    json_array_append_new(list, prev);
    json_object_set_new(net->json, "previous_broker_keys", list);
    json_object_set_new(broker, "sign_key", s_hex(vg_keyset_sign_pk(next)));
    if (with_note) {
        char *note = NULL;
        size_t len = 0;
        vg_reason why = {{0}};
        assert_int_equal(vg_key_transition_sign(&note, &len, VT_NETWORK_NAME, signer,
                                                vg_keyset_sign_pk(next), T_ROTATED, &why),
                         VG_OK);
        json_object_set_new(net->json, "key_transition", json_string(note));
        free(note);
    }
    return next;
}

static void
broker_rotation_with_a_transition_is_accepted(void **state)
{
    vt_net *net = *state;
    vg_keyset *next = s_rotate_broker(net, net->broker, true);
    vt_net_republish(net);
    assert_memory_equal(vg_netdoc_broker_sign_pk(net->doc), vg_keyset_sign_pk(next), 32);
    assert_int_equal(vg_netdoc_n_previous_broker_keys(net->doc), 1);
    vg_broker_keys bk;
    vg_netdoc_previous_broker_keys_at(net->doc, 0, &bk);
    assert_memory_equal(bk.sign_pk, vg_keyset_sign_pk(net->broker), 32);
    assert_null(bk.transport_pk);
    assert_true(bk.rotated_ms == T_ROTATED && bk.valid_until_ms == T_UNTIL);
    const char *note = vg_netdoc_key_transition(net->doc);
    vg_key_transition t;
    assert_int_equal(vg_key_transition_verify(&t, note, strlen(note), VT_NETWORK_NAME,
                                              vg_keyset_sign_pk(net->broker), NULL),
                     VG_OK);
    assert_memory_equal(t.new_pk, vg_keyset_sign_pk(next), 32);
    vg_keyset_destroy(&next);
}

static void
broker_rotation_without_a_transition_is_refused(void **state)
{
    vt_net *net = *state;
    vg_keyset *next = s_rotate_broker(net, net->broker, false);
    s_refused(net, VG_ERR_POLICY, "no key_transition note");
    vg_keyset_destroy(&next);
}

static void
forged_transition_is_refused(void **state)
{
    vt_net *net = *state;
    vg_keyset *thief = NULL;
    assert_int_equal(vg_keyset_generate(&thief, VG_KEY_SIGN), VG_OK);
    vg_keyset *next = s_rotate_broker(net, thief, true);
    s_refused(net, VG_ERR_POLICY, "does not verify against the previous broker sign key");
    vg_keyset_destroy(&next);
    vg_keyset_destroy(&thief);
}

static void
transition_to_another_key_is_refused(void **state)
{
    vt_net *net = *state;
    vg_keyset *next = s_rotate_broker(net, net->broker, true);
    vg_keyset *other = NULL;
    assert_int_equal(vg_keyset_generate(&other, VG_KEY_SIGN), VG_OK);
    json_object_set_new(json_object_get(net->json, "broker"), "sign_key",
                        s_hex(vg_keyset_sign_pk(other)));
    s_refused(net, VG_ERR_POLICY, "another key than the document's broker sign key");
    vg_keyset_destroy(&next);
    vg_keyset_destroy(&other);
}

static void
transition_without_previous_sign_key_is_refused(void **state)
{
    vt_net *net = *state;
    vg_keyset *next = s_rotate_broker(net, net->broker, true);
    json_object_del(net->json, "previous_broker_keys");
    s_refused(net, VG_ERR_POLICY, "lists no sign key");
    vg_keyset_destroy(&next);
}

static void
previous_broker_key_equal_to_current_is_refused(void **state)
{
    vt_net *net = *state;
    json_t *prev = json_object();
    json_object_set_new(prev, "transport_key", json_string(vg_keyset_curve_pk_z85(net->broker)));
    json_object_set_new(prev, "rotated", json_integer(T_ROTATED));
    json_object_set_new(prev, "valid_until", json_integer(T_UNTIL));
    json_t *list = json_array();
    json_array_append_new(list, prev);
    json_object_set_new(net->json, "previous_broker_keys", list);
    s_refused(net, VG_ERR_POLICY, "repeats a broker transport key");
}

/* ---- transport keys: what the broker's ZAP handler asks ---------------------- */

static void
admit_current_and_previous_transport_keys(void **state)
{
    vt_net *net = *state;
    vg_keyset *old = vt_net_rotate(net, "police", T_ROTATED, T_UNTIL);
    vg_key_match m;
    vg_reason why = {{0}};
    /* the new key: no end */
    assert_int_equal(vg_netdoc_admit_transport(&m, net->doc,
                                               vg_keyset_curve_pk(vt_net_keys(net, "police")),
                                               T_UNTIL + 1, &why),
                     VG_OK);
    assert_string_equal(m.agency.id, "police");
    assert_false(m.previous);
    assert_true(m.until_ms == VG_TIME_NEVER);
    /* the old key: during the overlap, until its end */
    assert_int_equal(
        vg_netdoc_admit_transport(&m, net->doc, vg_keyset_curve_pk(old), T_UNTIL - 1, &why), VG_OK);
    assert_true(m.previous);
    assert_true(m.until_ms == T_UNTIL);
    /* and not after */
    assert_int_equal(
        vg_netdoc_admit_transport(&m, net->doc, vg_keyset_curve_pk(old), T_UNTIL, &why),
        VG_ERR_REVOKED);
    assert_true(vt_reason_has(&why, "overlap ended"));
    assert_string_equal(m.agency.id, "police");
    /* the old lookup knows current keys only */
    vg_agency a;
    assert_int_equal(vg_netdoc_find_by_transport(net->doc, vg_keyset_curve_pk(old), &a),
                     VG_ERR_NOT_FOUND);
    vg_keyset_destroy(&old);
}

static void
admit_refuses_compromised_revoked_and_unknown(void **state)
{
    vt_net *net = *state;
    json_t *comp = json_object();
    json_object_set_new(comp, "transport_key", json_integer(T_ROTATED));
    json_object_set_new(vt_net_agency_json(net, "licensing"), "compromised_at", comp);
    json_object_set_new(vt_net_agency_json(net, "agency-04"), "revoked", json_true());
    vt_net_republish(net);
    vg_key_match m;
    vg_reason why = {{0}};
    const uint8_t *lic = vg_keyset_curve_pk(vt_net_keys(net, "licensing"));
    assert_int_equal(vg_netdoc_admit_transport(&m, net->doc, lic, T_ROTATED - 1, &why), VG_OK);
    assert_true(m.until_ms == T_ROTATED); /* close it when the compromise starts */
    assert_int_equal(vg_netdoc_admit_transport(&m, net->doc, lic, T_ROTATED, &why),
                     VG_ERR_KEY_COMPROMISED);
    assert_true(vt_reason_has(&why, "licensing"));
    assert_true(vt_reason_has(&why, "compromised since"));
    assert_int_equal(vg_netdoc_admit_transport(&m, net->doc,
                                               vg_keyset_curve_pk(vt_net_keys(net, "agency-04")),
                                               T_ROTATED, &why),
                     VG_ERR_REVOKED);
    uint8_t stranger[32] = {1};
    assert_int_equal(vg_netdoc_admit_transport(&m, net->doc, stranger, T_ROTATED, &why),
                     VG_ERR_NOT_FOUND);
    assert_null(m.agency.id);
}

static void
find_sign_key_says_current_or_previous(void **state)
{
    vt_net *net = *state;
    vg_keyset *old = vt_net_rotate(net, "police", T_ROTATED, T_UNTIL);
    vg_key_match m;
    assert_int_equal(vg_netdoc_find_sign_key(&m, net->doc, "police", vg_keyset_sign_pk(old)),
                     VG_OK);
    assert_true(m.previous && m.valid_until_ms == T_UNTIL && m.compromised_ms == 0);
    assert_int_equal(vg_key_match_check_time(&m, T_UNTIL - 1, "envelope", NULL), VG_OK);
    assert_int_equal(vg_key_match_check_time(&m, T_UNTIL, "envelope", NULL), VG_ERR_REVOKED);
    assert_int_equal(vg_netdoc_find_sign_key(&m, net->doc, "licensing", vg_keyset_sign_pk(old)),
                     VG_ERR_NOT_FOUND);
    vg_keyset_destroy(&old);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(rotation_fields_round_trip),
        T(previous_set_may_leave_out_unchanged_keys),
        T(times_must_be_times),
        T(unknown_keys_are_refused),
        T(previous_key_equal_to_own_current_key_is_refused),
        T(previous_key_equal_to_another_agencys_key_is_refused),
        T(previous_key_listed_by_two_agencies_is_refused),
        T(overlap_ending_before_it_starts_is_refused),
        T(empty_previous_set_is_refused),
        T(compromised_current_box_key_is_refused),
        T(compromised_key_the_set_does_not_list_is_refused),
        T(successor_rules),
        T(broker_rotation_with_a_transition_is_accepted),
        T(broker_rotation_without_a_transition_is_refused),
        T(forged_transition_is_refused),
        T(transition_to_another_key_is_refused),
        T(transition_without_previous_sign_key_is_refused),
        T(previous_broker_key_equal_to_current_is_refused),
        T(admit_current_and_previous_transport_keys),
        T(admit_refuses_compromised_revoked_and_unknown),
        T(find_sign_key_says_current_or_previous),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
