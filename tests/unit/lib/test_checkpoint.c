/* test_checkpoint.c — vigil/checkpoint.h: C2SP signed notes and checkpoints. */
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
#include "vigil/keys.h"
#include "vigil/util.h"
#include "vt.h"

#define ORIGIN "vigil-test"

/* The signed-note example of golang.org/x/mod/sumdb/note (note.go's package
 * documentation and note_test.go): a key pair, a text and the note Go
 * produces. Ed25519 is deterministic, so signing must reproduce it byte for
 * byte. */
#define GO_SKEY_B64 "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz" /* 0x01 || seed */
#define GO_VKEY "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define GO_TEXT                                                                                    \
    "If you think cryptography is the answer to your problem,\n"                                   \
    "then you don't know what your problem is.\n"
#define GO_NOTE                                                                                    \
    GO_TEXT "\n\xE2\x80\x94 PeterNeumann "                                                         \
            "x08go/ZJkuBS9UG/"                                                                     \
            "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"

typedef struct fixture {
    char *dir;         /* temp dir */
    vg_keyset *ks;     /* the log's key */
    vg_keyset *other;  /* another key */
    uint8_t root[32];  /* a root hash */
    vg_checkpoint *cp; /* signed by ks for ORIGIN, size 1234 */
} fixture;

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = vt_tmpdir_new();
    assert_int_equal(vg_keyset_generate(&f->ks, VG_KEY_SIGN), VG_OK);
    assert_int_equal(vg_keyset_generate(&f->other, VG_KEY_SIGN), VG_OK);
    for (int i = 0; i < 32; i++) {
        f->root[i] = (uint8_t)(i * 7 + 1);
    }
    assert_int_equal(vg_checkpoint_sign(&f->cp, ORIGIN, 1234, f->root, f->ks, NULL), VG_OK);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    vg_checkpoint_destroy(&f->cp);
    vg_keyset_destroy(&f->ks);
    vg_keyset_destroy(&f->other);
    vt_tmpdir_destroy(&f->dir);
    free(f);
    return 0;
}

/* Verifies text as a checkpoint of ORIGIN under f->ks. */
static vg_err
s_verify(fixture *f, const char *text, vg_reason *why)
{
    vg_checkpoint *cp = NULL;
    vg_err rc =
        vg_checkpoint_verify(&cp, text, strlen(text), ORIGIN, vg_keyset_sign_pk(f->ks), why);
    vg_checkpoint_destroy(&cp);
    return rc;
}

/* Signs arbitrary note text with f->ks under name ORIGIN. */
static char *
s_sign_text(fixture *f, const char *text)
{
    char *note = NULL;
    size_t len = 0;
    assert_int_equal(vg_checkpoint_note_sign(&note, &len, text, strlen(text), ORIGIN, f->ks, NULL),
                     VG_OK);
    return note;
}

static void
sign_writes_the_c2sp_format(void **state)
{
    fixture *f = *state;
    char b64[64];
    sodium_bin2base64(b64, sizeof b64, f->root, 32, sodium_base64_VARIANT_ORIGINAL);
    char want[256];
    snprintf(want, sizeof want, ORIGIN "\n1234\n%s\n\n\xE2\x80\x94 " ORIGIN " ", b64);
    const char *note = vg_checkpoint_note(f->cp);
    assert_int_equal(strlen(note), vg_checkpoint_note_len(f->cp));
    assert_memory_equal(note, want, strlen(want));
    /* key id || signature: 68 bytes, 92 base64 characters, then a newline. */
    assert_int_equal(strlen(note + strlen(want)), 93);
    uint8_t blob[68];
    size_t blob_len = 0;
    assert_int_equal(sodium_base642bin(blob, sizeof blob, note + strlen(want), 92, NULL, &blob_len,
                                       NULL, sodium_base64_VARIANT_ORIGINAL),
                     0);
    uint32_t id = vg_checkpoint_key_id(ORIGIN, vg_keyset_sign_pk(f->ks));
    uint8_t id_be[4] = {(uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id};
    assert_memory_equal(blob, id_be, 4);
    assert_string_equal(vg_checkpoint_origin(f->cp), ORIGIN);
    assert_int_equal(vg_checkpoint_size(f->cp), 1234);
    assert_memory_equal(vg_checkpoint_root(f->cp), f->root, 32);
}

static void
verify_round_trip(void **state)
{
    fixture *f = *state;
    vg_checkpoint *cp = NULL;
    assert_int_equal(vg_checkpoint_verify(&cp, vg_checkpoint_note(f->cp),
                                          vg_checkpoint_note_len(f->cp), ORIGIN,
                                          vg_keyset_sign_pk(f->ks), NULL),
                     VG_OK);
    assert_string_equal(vg_checkpoint_origin(cp), ORIGIN);
    assert_int_equal(vg_checkpoint_size(cp), 1234);
    assert_memory_equal(vg_checkpoint_root(cp), f->root, 32);
    assert_string_equal(vg_checkpoint_note(cp), vg_checkpoint_note(f->cp));
    vg_checkpoint_destroy(&cp);
    assert_null(cp);
}

/* Writes the Go example's secret key as a vigil key file and loads it. */
static vg_keyset *
s_go_keyset(fixture *f)
{
    uint8_t typed[33];
    size_t n = 0;
    assert_int_equal(sodium_base642bin(typed, sizeof typed, GO_SKEY_B64, strlen(GO_SKEY_B64), NULL,
                                       &n, NULL, sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(n, 33);
    assert_int_equal(typed[0], 1);
    uint8_t pk[32], sk[64];
    crypto_sign_seed_keypair(pk, sk, typed + 1);
    char hex[129];
    vg_hex_encode(hex, sizeof hex, sk, sizeof sk);
    char text[256];
    snprintf(text, sizeof text, "vigil-secret-keys 1\nsign-secret %s\nend\n", hex);
    char *path = vt_path(f->dir, "go.keys");
    vt_write_file(path, text, strlen(text), 0600);
    vg_keyset *ks = NULL;
    assert_int_equal(vg_keyset_load(&ks, path, NULL), VG_OK);
    free(path);
    return ks;
}

static void
go_signed_note_vector(void **state)
{
    fixture *f = *state;
    vg_keyset *ks = s_go_keyset(f);
    const uint8_t *pk = vg_keyset_sign_pk(ks);
    assert_int_equal(vg_checkpoint_key_id("PeterNeumann", pk), 0xc74f20a3u);
    char vkey[VG_CHECKPOINT_VKEY_MAX];
    assert_int_equal(vg_checkpoint_verifier_key(vkey, sizeof vkey, "PeterNeumann", pk), VG_OK);
    assert_string_equal(vkey, GO_VKEY);
    size_t text_len = 0;
    assert_int_equal(
        vg_checkpoint_note_open(&text_len, GO_NOTE, strlen(GO_NOTE), "PeterNeumann", pk, NULL),
        VG_OK);
    assert_int_equal(text_len, strlen(GO_TEXT));
    char *note = NULL;
    size_t len = 0;
    assert_int_equal(
        vg_checkpoint_note_sign(&note, &len, GO_TEXT, strlen(GO_TEXT), "PeterNeumann", ks, NULL),
        VG_OK);
    assert_int_equal(len, strlen(GO_NOTE));
    assert_string_equal(note, GO_NOTE);
    free(note);
    /* One changed letter in the text: the signature no longer verifies. */
    char bad[] = GO_NOTE;
    bad[12] = 'Y';
    assert_int_equal(vg_checkpoint_note_open(&text_len, bad, strlen(bad), "PeterNeumann", pk, NULL),
                     VG_ERR_BAD_SIGNATURE);
    vg_keyset_destroy(&ks);
}

static void
wrong_key_is_unknown_sender(void **state)
{
    fixture *f = *state;
    vg_reason why = {""};
    vg_checkpoint *cp = NULL;
    assert_int_equal(vg_checkpoint_verify(&cp, vg_checkpoint_note(f->cp),
                                          vg_checkpoint_note_len(f->cp), ORIGIN,
                                          vg_keyset_sign_pk(f->other), &why),
                     VG_ERR_UNKNOWN_SENDER);
    assert_null(cp);
    assert_true(vt_reason_has(&why, "no signature from key"));
}

static void
other_log_is_sender_mismatch(void **state)
{
    fixture *f = *state;
    vg_checkpoint *cp = NULL;
    assert_int_equal(vg_checkpoint_sign(&cp, "other-net", 5, f->root, f->ks, NULL), VG_OK);
    vg_reason why = {""};
    assert_int_equal(s_verify(f, vg_checkpoint_note(cp), &why), VG_ERR_SENDER_MISMATCH);
    assert_true(vt_reason_has(&why, "other-net"));
    vg_checkpoint_destroy(&cp);
    /* Signed under our name, but the origin line names another log. */
    char b64[64];
    sodium_bin2base64(b64, sizeof b64, f->root, 32, sodium_base64_VARIANT_ORIGINAL);
    char text[128];
    snprintf(text, sizeof text, "other-net\n5\n%s\n", b64);
    char *note = s_sign_text(f, text);
    assert_int_equal(s_verify(f, note, &why), VG_ERR_SENDER_MISMATCH);
    assert_true(vt_reason_has(&why, "expected 'vigil-test'"));
    free(note);
}

static void
bad_signature_is_rejected(void **state)
{
    fixture *f = *state;
    char *note = vg_strdup(vg_checkpoint_note(f->cp));
    size_t len = strlen(note);
    note[len - 20] = note[len - 20] == 'A' ? 'B' : 'A'; /* inside the signature */
    assert_int_equal(s_verify(f, note, NULL), VG_ERR_BAD_SIGNATURE);
    free(note);
    note = vg_strdup(vg_checkpoint_note(f->cp));
    note[strlen(ORIGIN) + 1] = '9'; /* 1234 -> 9234: the text changed */
    assert_int_equal(s_verify(f, note, NULL), VG_ERR_BAD_SIGNATURE);
    free(note);
}

static void
malformed_notes_are_rejected(void **state)
{
    fixture *f = *state;
    const char *note = vg_checkpoint_note(f->cp);
    size_t len = strlen(note);
    char *buf = malloc(len + 64);
    assert_non_null(buf);
    memcpy(buf, note, len - 1); /* no final newline */
    buf[len - 1] = '\0';
    assert_int_equal(s_verify(f, buf, NULL), VG_ERR_MALFORMED);
    char *blank = strstr(note, "\n\n");
    memcpy(buf, note, (size_t)(blank - note) + 1); /* no blank line */
    strcpy(buf + (blank - note) + 1, blank + 2);
    assert_int_equal(s_verify(f, buf, NULL), VG_ERR_MALFORMED);
    strcpy(buf, note);
    buf[2] = '\t'; /* control character */
    assert_int_equal(s_verify(f, buf, NULL), VG_ERR_MALFORMED);
    strcpy(buf, note);
    buf[2] = (char)0xC0; /* invalid UTF-8 */
    assert_int_equal(s_verify(f, buf, NULL), VG_ERR_MALFORMED);
    strcpy(buf, note);
    memcpy(blank - note + buf + 2, "- ", 2); /* not an em dash */
    assert_int_equal(s_verify(f, buf, NULL), VG_ERR_MALFORMED);
    strcpy(buf, note);
    strcpy(buf + len, "\n"); /* a blank line after the signatures: no signature lines */
    assert_int_equal(s_verify(f, buf, NULL), VG_ERR_MALFORMED);
    free(buf);
}

static void
malformed_bodies_are_rejected(void **state)
{
    fixture *f = *state;
    char b64[64];
    sodium_bin2base64(b64, sizeof b64, f->root, 32, sodium_base64_VARIANT_ORIGINAL);
    char text[256];
    const char *const sizes[] = {
        "01", "", "-1", "1a", "4611686018427387905", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        snprintf(text, sizeof text, ORIGIN "\n%s\n%s\n", sizes[i], b64);
        char *note = sizes[i][0] ? s_sign_text(f, text) : NULL;
        if (note != NULL) {
            vg_reason why = {""};
            assert_int_equal(s_verify(f, note, &why), VG_ERR_MALFORMED);
            assert_true(vt_reason_has(&why, "tree size"));
        }
        free(note);
    }
    const char *const bodies[] = {
        ORIGIN "\n5\nAAAA\n",                                         /* root too short */
        ORIGIN "\n5\n%s\nextension line\n",                           /* extension line */
        ORIGIN "\n5\n",                                               /* two lines */
        ORIGIN "\n5\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8h\n", /* 33 bytes */
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        snprintf(text, sizeof text, bodies[i], b64);
        char *note = s_sign_text(f, text);
        assert_int_equal(s_verify(f, note, NULL), VG_ERR_MALFORMED);
        free(note);
    }
    snprintf(text, sizeof text, ORIGIN "\n4611686018427387904\n%s\n", b64); /* 2^62: the limit */
    char *note = s_sign_text(f, text);
    assert_int_equal(s_verify(f, note, NULL), VG_OK);
    free(note);
}

static void
oversized_notes_are_rejected(void **state)
{
    fixture *f = *state;
    size_t big = VG_CHECKPOINT_MAX_BYTES + 1;
    char *buf = malloc(big + 1);
    assert_non_null(buf);
    memset(buf, 'a', big);
    buf[big] = '\0';
    assert_int_equal(s_verify(f, buf, NULL), VG_ERR_TOO_LARGE);
    free(buf);
    /* 17 signature lines: over the limit, whoever signed them. */
    const char *note = vg_checkpoint_note(f->cp);
    const char *line = strstr(note, "\n\n") + 2;
    size_t text_len = (size_t)(line - note);
    size_t line_len = strlen(line);
    buf = malloc(text_len + 17 * line_len + 1);
    assert_non_null(buf);
    memcpy(buf, note, text_len);
    for (size_t i = 0; i < 17; i++) {
        memcpy(buf + text_len + i * line_len, line, line_len);
    }
    buf[text_len + 17 * line_len] = '\0';
    assert_int_equal(s_verify(f, buf, NULL), VG_ERR_TOO_LARGE);
    free(buf);
}

/* Cosignatures from other keys (witnesses) are ignored, before or after ours. */
static void
unknown_cosignatures_are_ignored(void **state)
{
    fixture *f = *state;
    const char *note = vg_checkpoint_note(f->cp);
    const char *ours = strstr(note, "\n\n") + 2;
    char *witness = NULL;
    size_t wlen = 0;
    size_t text_len = (size_t)(ours - note) - 1;
    assert_int_equal(
        vg_checkpoint_note_sign(&witness, &wlen, note, text_len, "witness.example", f->other, NULL),
        VG_OK);
    const char *wline = strstr(witness, "\n\n") + 2;
    char buf[2048];
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(ours - note), note, wline, ours);
    assert_int_equal(s_verify(f, buf, NULL), VG_OK);
    snprintf(buf, sizeof buf, "%s%s", note, wline);
    assert_int_equal(s_verify(f, buf, NULL), VG_OK);
    free(witness);
}

static void
sign_refuses_bad_arguments(void **state)
{
    fixture *f = *state;
    vg_checkpoint *cp = NULL;
    const char *const bad[] = {"", "has space", "a+b", "tab\there"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(vg_checkpoint_sign(&cp, bad[i], 1, f->root, f->ks, NULL), VG_ERR_INVALID);
    }
    assert_int_equal(vg_checkpoint_sign(&cp, ORIGIN, VG_MERKLE_SIZE_MAX + 1, f->root, f->ks, NULL),
                     VG_ERR_INVALID);
    vg_keyset *box = NULL;
    assert_int_equal(vg_keyset_generate(&box, VG_KEY_BOX), VG_OK);
    assert_int_equal(vg_checkpoint_sign(&cp, ORIGIN, 1, f->root, box, NULL), VG_ERR_INVALID);
    vg_keyset_destroy(&box);
    char *note = NULL;
    size_t len = 0;
    assert_int_equal(vg_checkpoint_note_sign(&note, &len, "a\n\nb\n", 5, ORIGIN, f->ks, NULL),
                     VG_ERR_INVALID);
    assert_int_equal(vg_checkpoint_note_sign(&note, &len, "no newline", 10, ORIGIN, f->ks, NULL),
                     VG_ERR_INVALID);
    assert_null(cp);
    assert_null(note);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sign_writes_the_c2sp_format, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(go_signed_note_vector, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_key_is_unknown_sender, setup, teardown),
        cmocka_unit_test_setup_teardown(other_log_is_sender_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_signature_is_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_notes_are_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_bodies_are_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(oversized_notes_are_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_cosignatures_are_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(sign_refuses_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
