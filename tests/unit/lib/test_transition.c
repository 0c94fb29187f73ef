/* test_transition.c — vigil/transition.h: broker key-transition notes and
 * checkpoints verified against a document's current and previous broker
 * keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "vigil/checkpoint.h"
#include "vigil/transition.h"
#include "vigil/util.h"
#include "vt.h"

#define NET VT_NETWORK_NAME
#define T_SIGNED INT64_C(1796000000000)

typedef struct fixture {
    char *dir;           /* temp dir */
    vg_keyset *old_keys; /* the broker key handing over */
    vg_keyset *new_keys; /* the key taking over */
    char *note;          /* old -> new, signed by old */
    size_t note_len;     /* its length */
} fixture;

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = vt_tmpdir_new();
    assert_int_equal(vg_keyset_generate(&f->old_keys, VG_KEY_SIGN), VG_OK);
    assert_int_equal(vg_keyset_generate(&f->new_keys, VG_KEY_SIGN), VG_OK);
    assert_int_equal(vg_key_transition_sign(&f->note, &f->note_len, NET, f->old_keys,
                                            vg_keyset_sign_pk(f->new_keys), T_SIGNED, NULL),
                     VG_OK);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    vg_keyset_destroy(&f->old_keys);
    vg_keyset_destroy(&f->new_keys);
    free(f->note);
    vt_tmpdir_destroy(&f->dir);
    free(f);
    return 0;
}

static void
verifies_with_the_old_key(void **state)
{
    fixture *f = *state;
    vg_key_transition t;
    vg_reason why = {{0}};
    assert_int_equal(vg_key_transition_verify(&t, f->note, f->note_len, NET,
                                              vg_keyset_sign_pk(f->old_keys), &why),
                     VG_OK);
    assert_string_equal(t.network, NET);
    assert_memory_equal(t.old_pk, vg_keyset_sign_pk(f->old_keys), 32);
    assert_memory_equal(t.new_pk, vg_keyset_sign_pk(f->new_keys), 32);
    assert_true(t.time_ms == T_SIGNED);
    uint8_t claimed[32];
    assert_int_equal(vg_key_transition_claimed_old(claimed, f->note, f->note_len), VG_OK);
    assert_memory_equal(claimed, vg_keyset_sign_pk(f->old_keys), 32);
}

static void
golden_vector(void **state)
{
    fixture *f = *state;
    vg_keyset *old_keys = vt_fixed_keys(f->dir, 0x01);
    vg_keyset *new_keys = vt_fixed_keys(f->dir, 0x02);
    char *note = NULL;
    size_t len = 0;
    assert_int_equal(vg_key_transition_sign(&note, &len, NET, old_keys, vg_keyset_sign_pk(new_keys),
                                            T_SIGNED, NULL),
                     VG_OK);
    static const char want[] =
        "vigil-key-transition/v1\n"
        "network vigil-test\n"
        "old 8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c\n"
        "new 8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394\n"
        "time 1796000000000\n"
        "\n"
        "\xE2\x80\x94 vigil-test K0Zrdx1WnpCOtDZtB6gkniWt0V7444etnKlVb4gU1TxBojCuVCIyXzjcKq6mAljM9G"
        "kz6pJz/JdA8aWUker8DjSNtQM=\n";
    /* The public keys are Ed25519's for seeds 0x01.. and 0x02..; the key id
     * (2b466b77) is SHA-256("vigil-test\n\x01" || old key)[:4]; Ed25519 is
     * deterministic, so the whole note is pinned. docs/audit.md shows it. */
    assert_string_equal(note, want);
    assert_int_equal(len, strlen(want));
    free(note);
    vg_keyset_destroy(&old_keys);
    vg_keyset_destroy(&new_keys);
}

static void
another_key_is_unknown_sender(void **state)
{
    fixture *f = *state;
    vg_key_transition t;
    vg_reason why = {{0}};
    assert_int_equal(vg_key_transition_verify(&t, f->note, f->note_len, NET,
                                              vg_keyset_sign_pk(f->new_keys), &why),
                     VG_ERR_UNKNOWN_SENDER);
}

static void
tampered_note_is_bad_signature(void **state)
{
    fixture *f = *state;
    char *bad = malloc(f->note_len + 1);
    memcpy(bad, f->note, f->note_len + 1);
    char *t = strstr(bad, "time 1");
    t[5] = '2'; /* another time, same shape */
    vg_key_transition out;
    assert_int_equal(
        vg_key_transition_verify(&out, bad, f->note_len, NET, vg_keyset_sign_pk(f->old_keys), NULL),
        VG_ERR_BAD_SIGNATURE);
    free(bad);
}

static void
note_for_another_network_is_refused(void **state)
{
    fixture *f = *state;
    char *note = NULL;
    size_t len = 0;
    assert_int_equal(vg_key_transition_sign(&note, &len, "other-net", f->old_keys,
                                            vg_keyset_sign_pk(f->new_keys), T_SIGNED, NULL),
                     VG_OK);
    vg_key_transition t;
    vg_reason why = {{0}};
    /* signed under the other network's name: no line under ours */
    assert_int_equal(
        vg_key_transition_verify(&t, note, len, NET, vg_keyset_sign_pk(f->old_keys), &why),
        VG_ERR_SENDER_MISMATCH);
    free(note);
}

static void
signing_refuses_nonsense(void **state)
{
    fixture *f = *state;
    char *note = NULL;
    size_t len = 0;
    assert_int_equal(vg_key_transition_sign(&note, &len, NET, f->old_keys,
                                            vg_keyset_sign_pk(f->old_keys), T_SIGNED, NULL),
                     VG_ERR_INVALID);
    assert_int_equal(vg_key_transition_sign(&note, &len, "bad/name", f->old_keys,
                                            vg_keyset_sign_pk(f->new_keys), T_SIGNED, NULL),
                     VG_ERR_INVALID);
    assert_int_equal(vg_key_transition_sign(&note, &len, NET, f->old_keys,
                                            vg_keyset_sign_pk(f->new_keys), 0, NULL),
                     VG_ERR_INVALID);
    assert_null(note);
}

static void
notes_and_checkpoints_are_not_confused(void **state)
{
    fixture *f = *state;
    vg_checkpoint *cp = NULL;
    /* a transition note is no checkpoint, even under the right key and name */
    assert_int_equal(
        vg_checkpoint_verify(&cp, f->note, f->note_len, NET, vg_keyset_sign_pk(f->old_keys), NULL),
        VG_ERR_MALFORMED);
    /* and a checkpoint is no transition */
    uint8_t root[32] = {0};
    assert_int_equal(vg_checkpoint_sign(&cp, NET, 7, root, f->old_keys, NULL), VG_OK);
    vg_key_transition t;
    assert_int_equal(vg_key_transition_verify(&t, vg_checkpoint_note(cp),
                                              vg_checkpoint_note_len(cp), NET,
                                              vg_keyset_sign_pk(f->old_keys), NULL),
                     VG_ERR_MALFORMED);
    vg_checkpoint_destroy(&cp);
}

static void
checkpoints_verify_with_previous_broker_keys(void **state)
{
    (void)state;
    vt_net *net = vt_net_new(4);
    vg_keyset *old_broker = net->broker;
    uint8_t root[32] = {9};
    vg_checkpoint *by_old = NULL, *by_new = NULL, *got = NULL;
    assert_int_equal(vg_checkpoint_sign(&by_old, NET, 3, root, old_broker, NULL), VG_OK);
    /* rotate the broker's sign key with a transition */
    vg_keyset *next = NULL;
    assert_int_equal(vg_keyset_generate(&next, VG_KEY_SIGN | VG_KEY_CURVE), VG_OK);
    char hex[65], *note = NULL;
    size_t note_len = 0;
    assert_int_equal(vg_key_transition_sign(&note, &note_len, NET, old_broker,
                                            vg_keyset_sign_pk(next), T_SIGNED, NULL),
                     VG_OK);
    json_t *prev = json_object();
    vg_hex_encode(hex, sizeof hex, vg_keyset_sign_pk(old_broker), 32);
    json_object_set_new(prev, "sign_key", json_string(hex));
    json_object_set_new(prev, "rotated", json_integer(T_SIGNED));
    json_object_set_new(prev, "valid_until", json_integer(T_SIGNED + 1000));
    json_t *list = json_array();
    json_array_append_new(list, prev);
    json_object_set_new(net->json, "previous_broker_keys", list);
    json_object_set_new(net->json, "key_transition", json_string(note));
    vg_hex_encode(hex, sizeof hex, vg_keyset_sign_pk(next), 32);
    json_object_set_new(json_object_get(net->json, "broker"), "sign_key", json_string(hex));
    vt_net_republish(net);
    assert_int_equal(vg_checkpoint_sign(&by_new, NET, 4, root, next, NULL), VG_OK);

    const uint8_t *key = NULL;
    bool previous = true;
    assert_int_equal(vg_checkpoint_verify_netdoc(&got, vg_checkpoint_note(by_new),
                                                 vg_checkpoint_note_len(by_new), net->doc, &key,
                                                 &previous, NULL),
                     VG_OK);
    assert_false(previous);
    assert_memory_equal(key, vg_keyset_sign_pk(next), 32);
    vg_checkpoint_destroy(&got);
    assert_int_equal(vg_checkpoint_verify_netdoc(&got, vg_checkpoint_note(by_old),
                                                 vg_checkpoint_note_len(by_old), net->doc, &key,
                                                 &previous, NULL),
                     VG_OK);
    assert_true(previous);
    assert_memory_equal(key, vg_keyset_sign_pk(old_broker), 32);
    vg_checkpoint_destroy(&got);
    /* a key the document never listed */
    vg_keyset *thief = NULL;
    assert_int_equal(vg_keyset_generate(&thief, VG_KEY_SIGN), VG_OK);
    vg_checkpoint *forged = NULL;
    assert_int_equal(vg_checkpoint_sign(&forged, NET, 5, root, thief, NULL), VG_OK);
    assert_int_equal(vg_checkpoint_verify_netdoc(&got, vg_checkpoint_note(forged),
                                                 vg_checkpoint_note_len(forged), net->doc, NULL,
                                                 NULL, NULL),
                     VG_ERR_UNKNOWN_SENDER);
    vg_checkpoint_destroy(&forged);
    vg_keyset_destroy(&thief);
    vg_checkpoint_destroy(&by_old);
    vg_checkpoint_destroy(&by_new);
    vg_keyset_destroy(&next);
    free(note);
    vt_net_destroy(&net);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(verifies_with_the_old_key),
        T(golden_vector),
        T(another_key_is_unknown_sender),
        T(tampered_note_is_bad_signature),
        T(note_for_another_network_is_refused),
        T(signing_refuses_nonsense),
        T(notes_and_checkpoints_are_not_confused),
        T(checkpoints_verify_with_previous_broker_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
