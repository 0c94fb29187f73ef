/* test_agent_keys.c — vigil/agent_keys.h and the identity's key sets: an
 * agency rotates its keys on its own machine, keeps the old ones, and
 * switches to the new ones only once the document lists them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "vigil/agent_config.h"
#include "vigil/agent_keys.h"
#include "vigil/util.h"
#include "vt.h"

#define T_ROTATED (VT_ISSUED_MS + 60000)
#define T_UNTIL (VT_ISSUED_MS + 600000)

typedef struct fixture {
    vt_net *net; /* 4 agencies; police is the one on disk */
    char *dir;   /* police's folder: agent.conf, agency.key, network.signed */
    char *conf;  /* dir/agent.conf */
    char *keys;  /* dir/agency.key */
} fixture;

static void
s_write_doc(fixture *f)
{
    char *path = vt_path(f->dir, "network.signed");
    vt_write_file(path, f->net->signed_doc, f->net->signed_len, 0644);
    free(path);
}

static void
s_write_conf(fixture *f, const uint8_t *broker_pk)
{
    char admin[65], broker[VG_Z85_KEY_LEN + 1], text[1024];
    vg_hex_encode(admin, sizeof admin, vg_keyset_sign_pk(f->net->admin), 32);
    vg_z85_encode_key(broker, broker_pk);
    int n = snprintf(text, sizeof text,
                     "[agent]\nid = police\nkeys = agency.key\nstore = store\nlog_level = error\n"
                     "[network]\ndocument = network.signed\nadmin_key = %s\n"
                     "[broker]\nendpoint = tcp://127.0.0.1:1\npublic_key = %s\n",
                     admin, broker);
    vt_write_file(f->conf, text, (size_t)n, 0644);
}

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->net = vt_net_new(4);
    f->dir = vt_tmpdir_new();
    f->conf = vt_path(f->dir, "agent.conf");
    f->keys = vt_path(f->dir, "agency.key");
    assert_int_equal(vg_keyset_save(vt_net_keys(f->net, "police"), f->keys, NULL), VG_OK);
    s_write_doc(f);
    s_write_conf(f, vg_keyset_curve_pk(f->net->broker));
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    vt_net_destroy(&f->net);
    free(f->conf);
    free(f->keys);
    vt_tmpdir_destroy(&f->dir);
    free(f);
    return 0;
}

static vga_identity *
s_load(fixture *f)
{
    vga_identity *id = NULL;
    vg_reason why = {{0}};
    vg_err rc = vga_identity_load(&id, f->conf, 0, &why);
    if (rc != VG_OK) {
        fail_msg("identity: %s: %s", vg_err_code(rc), why.text);
    }
    return id;
}

static void
s_states(fixture *f, const vga_key_state *want, size_t n_want)
{
    vga_identity *id = s_load(f);
    vga_key_info info[VG_KEYRING_MAX];
    size_t n = 0;
    vga_identity_key_states(id, info, VG_KEYRING_MAX, &n);
    assert_int_equal(n, n_want);
    for (size_t i = 0; i < n; i++) {
        if (info[i].state != want[i]) {
            fail_msg("set %zu is %s, want %s", i, vga_key_state_name(info[i].state),
                     vga_key_state_name(want[i]));
        }
    }
    vga_identity_destroy(&id);
}

/* Rotates on "the agency's machine"; returns the card's JSON object. */
static json_t *
s_rotate(fixture *f, bool want_again)
{
    char *card = NULL;
    bool again = !want_again;
    vg_reason why = {{0}};
    vg_err rc = vga_keys_rotate(&card, &again, f->conf, &why);
    if (rc != VG_OK) {
        fail_msg("rotate: %s: %s", vg_err_code(rc), why.text);
    }
    assert_true(again == want_again);
    json_t *o = json_loads(card, 0, NULL);
    assert_non_null(o);
    free(card);
    return o;
}

/* What `vigilctl network rotate` does to the JSON: the card's keys become
 * current, the old ones move to previous_keys. */
static void
s_admin_applies(fixture *f, json_t *card)
{
    json_t *a = vt_net_agency_json(f->net, "police");
    json_t *prev = json_object();
    json_object_set(prev, "sign_key", json_object_get(a, "sign_key"));
    json_object_set(prev, "box_key", json_object_get(a, "box_key"));
    json_object_set(prev, "transport_key", json_object_get(a, "transport_key"));
    json_object_set_new(prev, "rotated", json_integer(T_ROTATED));
    json_object_set_new(prev, "valid_until", json_integer(T_UNTIL));
    json_t *list = json_array();
    json_array_append_new(list, prev);
    json_object_set_new(a, "previous_keys", list);
    json_object_set(a, "sign_key", json_object_get(card, "sign_key"));
    json_object_set(a, "box_key", json_object_get(card, "box_key"));
    json_object_set(a, "transport_key", json_object_get(card, "transport_key"));
    vt_net_republish(f->net);
}

static void
card_has_the_documented_form(void **state)
{
    fixture *f = *state;
    char *card = NULL;
    const vg_keyset *ks = vt_net_keys(f->net, "police");
    assert_int_equal(vga_card_json(&card, "police", "police", "Police", ks), VG_OK);
    json_t *o = json_loads(card, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 6);
    assert_string_equal(json_string_value(json_object_get(o, "id")), "police");
    assert_string_equal(json_string_value(json_object_get(o, "transport_key")),
                        vg_keyset_curve_pk_z85(ks));
    char hex[65];
    vg_hex_encode(hex, sizeof hex, vg_keyset_box_pk(ks), 32);
    assert_string_equal(json_string_value(json_object_get(o, "box_key")), hex);
    assert_true(card[strlen(card) - 1] == '\n');
    assert_null(strstr(card, "secret"));
    json_decref(o);
    free(card);
    vg_keyset *sign_only = NULL;
    assert_int_equal(vg_keyset_generate(&sign_only, VG_KEY_SIGN), VG_OK);
    assert_int_equal(vga_card_json(&card, "police", NULL, NULL, sign_only), VG_ERR_INVALID);
    vg_keyset_destroy(&sign_only);
}

static void
rotate_keeps_the_old_keys_and_uses_them_until_the_document_changes(void **state)
{
    fixture *f = *state;
    json_t *card = s_rotate(f, false);
    struct stat st;
    assert_int_equal(stat(f->keys, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    s_states(f, (vga_key_state[]){VGA_KEYS_CURRENT, VGA_KEYS_PENDING}, 2);
    /* still signing with the old keys: the document has not changed */
    vga_identity *id = s_load(f);
    assert_memory_equal(vg_keyset_sign_pk(vga_identity_keys(id)),
                        vg_keyset_sign_pk(vt_net_keys(f->net, "police")), 32);
    assert_int_equal(vg_keyring_n(vga_identity_keyring(id)), 2);
    vga_identity_destroy(&id);
    /* a second rotate prints the same card and makes nothing new */
    json_t *again = s_rotate(f, true);
    assert_true(json_equal(card, again));
    json_decref(again);
    s_states(f, (vga_key_state[]){VGA_KEYS_CURRENT, VGA_KEYS_PENDING}, 2);
    /* the administrator puts the card in force */
    s_admin_applies(f, card);
    s_write_doc(f);
    s_states(f, (vga_key_state[]){VGA_KEYS_PREVIOUS, VGA_KEYS_CURRENT}, 2);
    id = s_load(f);
    char hex[65];
    vg_hex_encode(hex, sizeof hex, vg_keyset_sign_pk(vga_identity_keys(id)), 32);
    assert_string_equal(hex, json_string_value(json_object_get(card, "sign_key")));
    vga_key_info info[2];
    size_t n = 0;
    vga_identity_key_states(id, info, 2, &n);
    assert_true(info[0].valid_until_ms == T_UNTIL);
    vga_identity_destroy(&id);
    /* a later rotation appends a third set */
    json_t *third = s_rotate(f, false);
    s_states(f, (vga_key_state[]){VGA_KEYS_PREVIOUS, VGA_KEYS_CURRENT, VGA_KEYS_PENDING}, 3);
    json_decref(third);
    json_decref(card);
}

static void
follow_switches_to_the_new_keys_when_a_newer_document_lists_them(void **state)
{
    fixture *f = *state;
    vga_identity *id = s_load(f); /* loaded before the rotation */
    json_t *card = s_rotate(f, false);
    s_admin_applies(f, card);
    bool switched = false;
    vg_reason why = {{0}};
    /* the key file changed under the running identity: it is read again */
    assert_int_equal(vga_identity_follow(id, f->net->doc, &switched, &why), VG_OK);
    assert_true(switched);
    char hex[65];
    vg_hex_encode(hex, sizeof hex, vg_keyset_sign_pk(vga_identity_keys(id)), 32);
    assert_string_equal(hex, json_string_value(json_object_get(card, "sign_key")));
    assert_int_equal(vga_identity_follow(id, f->net->doc, &switched, &why), VG_OK);
    assert_false(switched);
    vga_identity_destroy(&id);
    json_decref(card);
}

static void
document_listing_keys_not_held_is_refused(void **state)
{
    fixture *f = *state;
    vg_keyset *old = vt_net_rotate(f->net, "police", T_ROTATED, T_UNTIL); /* keys made elsewhere */
    vga_identity *id = s_load(f);
    bool switched = true;
    vg_reason why = {{0}};
    assert_int_equal(vga_identity_follow(id, f->net->doc, &switched, &why), VG_ERR_CONFIG);
    assert_false(switched);
    assert_memory_equal(vg_keyset_sign_pk(vga_identity_keys(id)), vg_keyset_sign_pk(old), 32);
    vga_identity_destroy(&id);
    s_write_doc(f);
    assert_int_equal(vga_identity_load(&id, f->conf, 0, &why), VG_ERR_CONFIG);
    assert_null(id);
    vg_keyset_destroy(&old);
}

static void
retired_keys_stay_to_open_old_alerts(void **state)
{
    fixture *f = *state;
    json_t *card = s_rotate(f, false);
    s_admin_applies(f, card);
    json_object_del(vt_net_agency_json(f->net, "police"), "previous_keys"); /* overlap over */
    vt_net_republish(f->net);
    s_write_doc(f);
    s_states(f, (vga_key_state[]){VGA_KEYS_RETIRED, VGA_KEYS_CURRENT}, 2);
    json_decref(card);
}

static void
agent_conf_with_previous_broker_key_still_loads(void **state)
{
    fixture *f = *state;
    vg_keyset *next = NULL;
    assert_int_equal(vg_keyset_generate(&next, VG_KEY_CURVE), VG_OK);
    json_t *prev = json_object();
    json_object_set_new(prev, "transport_key", json_string(vg_keyset_curve_pk_z85(f->net->broker)));
    json_object_set_new(prev, "rotated", json_integer(T_ROTATED));
    json_object_set_new(prev, "valid_until", json_integer(T_UNTIL));
    json_t *list = json_array();
    json_array_append_new(list, prev);
    json_object_set_new(f->net->json, "previous_broker_keys", list);
    json_object_set_new(json_object_get(f->net->json, "broker"), "transport_key",
                        json_string(vg_keyset_curve_pk_z85(next)));
    vt_net_republish(f->net);
    s_write_doc(f);
    vga_identity *id = s_load(f); /* agent.conf still pins the old broker key */
    vga_identity_destroy(&id);
    vg_keyset *stranger = NULL;
    assert_int_equal(vg_keyset_generate(&stranger, VG_KEY_CURVE), VG_OK);
    s_write_conf(f, vg_keyset_curve_pk(stranger));
    vg_reason why = {{0}};
    assert_int_equal(vga_identity_load(&id, f->conf, 0, &why), VG_ERR_CONFIG);
    assert_true(vt_reason_has(&why, "public_key"));
    vg_keyset_destroy(&stranger);
    vg_keyset_destroy(&next);
}

static void
compromise_shows_in_the_states(void **state)
{
    fixture *f = *state;
    json_t *comp = json_object();
    json_object_set_new(comp, "transport_key", json_integer(T_ROTATED));
    json_object_set_new(vt_net_agency_json(f->net, "police"), "compromised_at", comp);
    vt_net_republish(f->net);
    s_write_doc(f);
    vga_identity *id = s_load(f);
    vga_key_info info[1];
    size_t n = 0;
    vga_identity_key_states(id, info, 1, &n);
    assert_int_equal(n, 1);
    assert_true(info[0].compromised_ms == T_ROTATED);
    vga_identity_destroy(&id);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(card_has_the_documented_form),
        T(rotate_keeps_the_old_keys_and_uses_them_until_the_document_changes),
        T(follow_switches_to_the_new_keys_when_a_newer_document_lists_them),
        T(document_listing_keys_not_held_is_refused),
        T(retired_keys_stay_to_open_old_alerts),
        T(agent_conf_with_previous_broker_key_still_loads),
        T(compromise_shows_in_the_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
