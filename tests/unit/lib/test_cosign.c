/* test_cosign.c — vigil/cosign.h: C2SP tlog-cosignature lines, pinned by a
 * vector made with another Ed25519 implementation (Python's cryptography:
 * seed of 32 bytes 0x03, witness "police", time 1796000000), and refused
 * when forged, by another key, by another name, or over another body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "vigil/cosign.h"
#include "vigil/util.h"
#include "vt.h"

#define BODY "vigil-test\n5\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n"
#define NOTE BODY "\n\xE2\x80\x94 vigil-test AAAA\n"
#define T_S UINT64_C(1796000000)
#define LINE                                                                                       \
    "\xE2\x80\x94 police Hxy+MQAAAABrDMkANVKic24dcuBEihHfIoWJVv3rOPvOuwkzIuPe7VpHIbTd8PEaNwNVw/"   \
    "1IvcBmrGwyYLTosMa5lp0HUEntS9jYCg=="

typedef struct fixture {
    char *dir;         /* temp dir */
    vg_keyset *police; /* from the fixed seed */
    vg_keyset *other;  /* a fresh key */
} fixture;

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = vt_tmpdir_new();
    f->police = vt_fixed_keys(f->dir, 0x03);
    assert_int_equal(vg_keyset_generate(&f->other, VG_KEY_SIGN), VG_OK);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    vg_keyset_destroy(&f->police);
    vg_keyset_destroy(&f->other);
    vt_tmpdir_destroy(&f->dir);
    free(f);
    return 0;
}

static void
signs_the_vector(void **state)
{
    fixture *f = *state;
    size_t body_len = 0;
    assert_int_equal(vg_cosign_body(&body_len, NOTE, strlen(NOTE)), VG_OK);
    assert_int_equal(body_len, strlen(BODY));
    char line[VG_COSIGN_LINE_MAX];
    assert_int_equal(
        vg_cosign_sign(line, sizeof line, BODY, strlen(BODY), "police", T_S, f->police, NULL),
        VG_OK);
    assert_string_equal(line, LINE);
    uint64_t t = 0;
    assert_int_equal(vg_cosign_verify(&t, LINE, strlen(LINE), BODY, strlen(BODY), "police",
                                      vg_keyset_sign_pk(f->police), NULL),
                     VG_OK);
    assert_int_equal(t, T_S);
    char name[VG_COSIGN_NAME_MAX + 1];
    assert_int_equal(vg_cosign_name(name, sizeof name, LINE, strlen(LINE), NULL), VG_OK);
    assert_string_equal(name, "police");
}

static void
refuses_another_body_or_key(void **state)
{
    fixture *f = *state;
    const uint8_t *pk = vg_keyset_sign_pk(f->police);
    const char *forked = "vigil-test\n5\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6o=\n";
    vg_reason why = {{0}};
    assert_int_equal(
        vg_cosign_verify(NULL, LINE, strlen(LINE), forked, strlen(forked), "police", pk, &why),
        VG_ERR_BAD_SIGNATURE);
    assert_non_null(strstr(why.text, "does not verify"));
    assert_int_equal(vg_cosign_verify(NULL, LINE, strlen(LINE), BODY, strlen(BODY), "police",
                                      vg_keyset_sign_pk(f->other), &why),
                     VG_ERR_UNKNOWN_SENDER);
    assert_int_equal(
        vg_cosign_verify(NULL, LINE, strlen(LINE), BODY, strlen(BODY), "licensing", pk, &why),
        VG_ERR_SENDER_MISMATCH);
    /* signed by another key under police's name: the key id gives it away */
    char line[VG_COSIGN_LINE_MAX];
    assert_int_equal(
        vg_cosign_sign(line, sizeof line, BODY, strlen(BODY), "police", T_S, f->other, NULL),
        VG_OK);
    assert_int_equal(
        vg_cosign_verify(NULL, line, strlen(line), BODY, strlen(BODY), "police", pk, &why),
        VG_ERR_UNKNOWN_SENDER);
}

static void
refuses_a_forged_signature(void **state)
{
    fixture *f = *state;
    const uint8_t *pk = vg_keyset_sign_pk(f->police);
    char line[VG_COSIGN_LINE_MAX];
    snprintf(line, sizeof line, "%s", LINE);
    /* a signature byte changed (the base64 stays canonical: 'V' -> 'W' at a
     * full-sextet position inside the signature) */
    char *p = strstr(line, "NVKic");
    assert_non_null(p);
    p[1] = 'W';
    vg_reason why = {{0}};
    assert_int_equal(
        vg_cosign_verify(NULL, line, strlen(line), BODY, strlen(BODY), "police", pk, &why),
        VG_ERR_BAD_SIGNATURE);
    /* the time changed: the signature covers it */
    snprintf(line, sizeof line, "%s", LINE);
    p = strstr(line, "AAAAB");
    p[4] = 'C';
    assert_int_equal(
        vg_cosign_verify(NULL, line, strlen(line), BODY, strlen(BODY), "police", pk, &why),
        VG_ERR_BAD_SIGNATURE);
}

static void
refuses_malformed_lines(void **state)
{
    fixture *f = *state;
    const uint8_t *pk = vg_keyset_sign_pk(f->police);
    const char *bad[] = {
        "",
        "police Hxy+MQ==",
        "- police " /* not an em dash */,
        "\xE2\x80\x94 police",
        "\xE2\x80\x94  Hxy+",
        "\xE2\x80\x94 pol+ice "
        "Hxy+MQAAAABrDMkANVKic24dcuBEihHfIoWJVv3rOPvOuwkzIuPe7VpHIbTd8PEaNwNVw/"
        "1IvcBmrGwyYLTosMa5lp0HUEntS9jYCg==",
        "\xE2\x80\x94 police Hxy+MQAAAABrDMkANVKic24dcuBEihHfIoWJVv3rOPvOuwkzIuPe7VpHIbTd8PEaNwNVw/"
        "1IvcBmrGwyYLTosMa5lp0HUEntS9jYCg",
        "\xE2\x80\x94 police Hxy+MQAAAABrDMkANVKic24dcuBEihHfIoWJVv3rOPvOuwkzIuPe7VpHIbTd8PEaNwNVw/"
        "1IvcBmrGwyYLTosMa5lp0HUEntS9jYCg==\n",
        "\xE2\x80\x94 police Hxy+MQAAAABr",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vg_reason why = {{0}};
        assert_int_equal(
            vg_cosign_verify(NULL, bad[i], strlen(bad[i]), BODY, strlen(BODY), "police", pk, &why),
            VG_ERR_MALFORMED);
        assert_true(why.text[0] != '\0');
    }
    size_t body_len = 0;
    assert_int_equal(vg_cosign_body(&body_len, BODY, strlen(BODY)), VG_ERR_MALFORMED);
    char line[VG_COSIGN_LINE_MAX];
    assert_int_equal(vg_cosign_sign(line, sizeof line, "x", 1, "police", T_S, f->police, NULL),
                     VG_ERR_INVALID);
    assert_int_equal(
        vg_cosign_sign(line, sizeof line, BODY, strlen(BODY), "a b", T_S, f->police, NULL),
        VG_ERR_INVALID);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(signs_the_vector, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_another_body_or_key, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_a_forged_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_malformed_lines, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
