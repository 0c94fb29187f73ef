/* test_keys.c — vigil/keys.h: generation, key files, Z85, signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/keys.h"
#include "vigil/util.h"
#include "vigil/wire.h"
#include "vt.h"

typedef struct fixture {
    char *dir;     /* temp dir */
    char *path;    /* dir/agency.keys */
    vg_keyset *ks; /* VG_KEY_ALL */
} fixture;

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = vt_tmpdir_new();
    f->path = vt_path(f->dir, "agency.keys");
    assert_int_equal(vg_keyset_generate(&f->ks, VG_KEY_ALL), VG_OK);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    vg_keyset_destroy(&f->ks);
    free(f->path);
    vt_tmpdir_destroy(&f->dir);
    free(f);
    return 0;
}

/* Saves f->ks and returns the file's text (malloc'ed). */
static char *
s_saved_text(fixture *f, size_t *len)
{
    assert_int_equal(vg_keyset_save(f->ks, f->path, NULL), VG_OK);
    return (char *)vt_read_file(f->path, len);
}

/* Writes text at 0600 and loads it; the keyset (if any) is destroyed. */
static vg_err
s_load_text(fixture *f, const char *text, size_t len, vg_reason *why, unsigned *kinds)
{
    vt_write_file(f->path, text, len, 0600);
    vg_keyset *ks = NULL;
    vg_err err = vg_keyset_load(&ks, f->path, why);
    if (err == VG_OK) {
        assert_non_null(ks);
        if (kinds != NULL) {
            *kinds = vg_keyset_kinds(ks);
        }
    } else {
        assert_null(ks);
    }
    vg_keyset_destroy(&ks);
    return err;
}

/* Asserts loading text fails with VG_ERR_MALFORMED and a reason naming the file. */
static void
s_assert_malformed(fixture *f, const char *text)
{
    vg_reason why = {{0}};
    vg_err err = s_load_text(f, text, strlen(text), &why, NULL);
    if (err != VG_ERR_MALFORMED) {
        print_error("got %s for:\n%s\n", vg_err_code(err), text);
    }
    assert_int_equal(err, VG_ERR_MALFORMED);
    assert_true(vt_reason_has(&why, "agency.keys"));
}

/* Replaces the first occurrence of from in text with to; malloc'ed. */
static char *
s_replace(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    assert_non_null(at);
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return out;
}

/* ---- generation --------------------------------------------------------- */

static void
generate_all_kinds(void **state)
{
    fixture *f = *state;
    assert_int_equal(vg_keyset_kinds(f->ks), VG_KEY_ALL);
    assert_non_null(vg_keyset_sign_pk(f->ks));
    assert_non_null(vg_keyset_sign_sk(f->ks));
    assert_non_null(vg_keyset_box_pk(f->ks));
    assert_non_null(vg_keyset_box_sk(f->ks));
    assert_non_null(vg_keyset_curve_pk(f->ks));
    assert_non_null(vg_keyset_curve_sk(f->ks));
    assert_int_equal(strlen(vg_keyset_curve_pk_z85(f->ks)), VG_Z85_KEY_LEN);
    assert_int_equal(strlen(vg_keyset_curve_sk_z85(f->ks)), VG_Z85_KEY_LEN);
    /* Ed25519 secret key is seed || public. */
    assert_memory_equal(vg_keyset_sign_sk(f->ks) + 32, vg_keyset_sign_pk(f->ks), 32);
}

static void
generate_sign_only_has_no_other_keys(void **state)
{
    (void)state;
    vg_keyset *ks = NULL;
    assert_int_equal(vg_keyset_generate(&ks, VG_KEY_SIGN), VG_OK);
    assert_int_equal(vg_keyset_kinds(ks), VG_KEY_SIGN);
    assert_non_null(vg_keyset_sign_pk(ks));
    assert_null(vg_keyset_box_pk(ks));
    assert_null(vg_keyset_box_sk(ks));
    assert_null(vg_keyset_curve_pk(ks));
    assert_null(vg_keyset_curve_pk_z85(ks));
    assert_null(vg_keyset_curve_sk_z85(ks));
    vg_keyset_destroy(&ks);
    assert_null(ks);
}

static void
generate_gives_distinct_keys(void **state)
{
    fixture *f = *state;
    vg_keyset *other = NULL;
    assert_int_equal(vg_keyset_generate(&other, VG_KEY_ALL), VG_OK);
    assert_memory_not_equal(vg_keyset_sign_pk(f->ks), vg_keyset_sign_pk(other), VG_SIGN_PK_LEN);
    assert_memory_not_equal(vg_keyset_box_pk(f->ks), vg_keyset_box_pk(other), VG_BOX_PK_LEN);
    assert_memory_not_equal(vg_keyset_curve_pk(f->ks), vg_keyset_curve_pk(other), VG_CURVE_KEY_LEN);
    vg_keyset_destroy(&other);
}

static void
generate_no_kinds_is_invalid(void **state)
{
    (void)state;
    vg_keyset *ks = NULL;
    assert_int_equal(vg_keyset_generate(&ks, 0), VG_ERR_INVALID);
    assert_null(ks);
    assert_int_equal(vg_keyset_generate(&ks, 1u << 7), VG_ERR_INVALID);
    assert_null(ks);
}

static void
destroy_is_null_safe(void **state)
{
    (void)state;
    vg_keyset *ks = NULL;
    vg_keyset_destroy(&ks);
    vg_keyset_destroy(NULL);
}

static void
curve_z85_matches_raw(void **state)
{
    fixture *f = *state;
    uint8_t raw[VG_CURVE_KEY_LEN];
    assert_int_equal(vg_z85_decode_key(raw, vg_keyset_curve_pk_z85(f->ks)), VG_OK);
    assert_memory_equal(raw, vg_keyset_curve_pk(f->ks), VG_CURVE_KEY_LEN);
    assert_int_equal(vg_z85_decode_key(raw, vg_keyset_curve_sk_z85(f->ks)), VG_OK);
    assert_memory_equal(raw, vg_keyset_curve_sk(f->ks), VG_CURVE_KEY_LEN);
}

/* ---- key files ---------------------------------------------------------- */

static void
save_load_round_trip(void **state)
{
    fixture *f = *state;
    assert_int_equal(vg_keyset_save(f->ks, f->path, NULL), VG_OK);
    vg_keyset *back = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vg_keyset_load(&back, f->path, &why), VG_OK);
    assert_int_equal(vg_keyset_kinds(back), VG_KEY_ALL);
    assert_memory_equal(vg_keyset_sign_pk(back), vg_keyset_sign_pk(f->ks), VG_SIGN_PK_LEN);
    assert_memory_equal(vg_keyset_sign_sk(back), vg_keyset_sign_sk(f->ks), VG_SIGN_SK_LEN);
    assert_memory_equal(vg_keyset_box_pk(back), vg_keyset_box_pk(f->ks), VG_BOX_PK_LEN);
    assert_memory_equal(vg_keyset_box_sk(back), vg_keyset_box_sk(f->ks), VG_BOX_SK_LEN);
    assert_memory_equal(vg_keyset_curve_pk(back), vg_keyset_curve_pk(f->ks), VG_CURVE_KEY_LEN);
    assert_memory_equal(vg_keyset_curve_sk(back), vg_keyset_curve_sk(f->ks), VG_CURVE_KEY_LEN);
    assert_string_equal(vg_keyset_curve_pk_z85(back), vg_keyset_curve_pk_z85(f->ks));
    vg_keyset_destroy(&back);
}

static void
save_load_round_trip_sign_only(void **state)
{
    fixture *f = *state;
    vg_keyset *admin = NULL, *back = NULL;
    assert_int_equal(vg_keyset_generate(&admin, VG_KEY_SIGN), VG_OK);
    assert_int_equal(vg_keyset_save(admin, f->path, NULL), VG_OK);
    assert_int_equal(vg_keyset_load(&back, f->path, NULL), VG_OK);
    assert_int_equal(vg_keyset_kinds(back), VG_KEY_SIGN);
    assert_memory_equal(vg_keyset_sign_sk(back), vg_keyset_sign_sk(admin), VG_SIGN_SK_LEN);
    vg_keyset_destroy(&back);
    vg_keyset_destroy(&admin);
}

static void
save_writes_mode_0600(void **state)
{
    fixture *f = *state;
    mode_t old = umask(0);
    assert_int_equal(vg_keyset_save(f->ks, f->path, NULL), VG_OK);
    umask(old);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void
save_has_documented_format(void **state)
{
    fixture *f = *state;
    size_t len = 0;
    char *text = s_saved_text(f, &len);
    assert_true(strncmp(text, "vigil-secret-keys 1\n", 20) == 0);
    char hex[2 * VG_SIGN_SK_LEN + 1];
    vg_hex_encode(hex, sizeof hex, vg_keyset_sign_sk(f->ks), VG_SIGN_SK_LEN);
    char line[256];
    snprintf(line, sizeof line, "\nsign-secret %s\n", hex);
    assert_non_null(strstr(text, line));
    vg_hex_encode(hex, sizeof hex, vg_keyset_box_sk(f->ks), VG_BOX_SK_LEN);
    snprintf(line, sizeof line, "\nbox-secret %s\n", hex);
    assert_non_null(strstr(text, line));
    snprintf(line, sizeof line, "\ncurve-secret %s\n", vg_keyset_curve_sk_z85(f->ks));
    assert_non_null(strstr(text, line));
    free(text);
}

static void
s_assert_perms_refused(fixture *f, mode_t mode)
{
    assert_int_equal(vg_keyset_save(f->ks, f->path, NULL), VG_OK);
    assert_int_equal(chmod(f->path, mode), 0);
    vg_keyset *ks = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vg_keyset_load(&ks, f->path, &why), VG_ERR_KEY_PERMS);
    assert_null(ks);
    assert_true(vt_reason_has(&why, "agency.keys"));
}

static void
load_refuses_mode_0640(void **state)
{
    s_assert_perms_refused(*state, 0640);
}

static void
load_refuses_mode_0604(void **state)
{
    s_assert_perms_refused(*state, 0604);
}

static void
load_refuses_mode_0644(void **state)
{
    s_assert_perms_refused(*state, 0644);
}

static void
load_refuses_mode_0660(void **state)
{
    s_assert_perms_refused(*state, 0660);
}

static void
load_accepts_mode_0400(void **state)
{
    fixture *f = *state;
    assert_int_equal(vg_keyset_save(f->ks, f->path, NULL), VG_OK);
    assert_int_equal(chmod(f->path, 0400), 0);
    vg_keyset *ks = NULL;
    assert_int_equal(vg_keyset_load(&ks, f->path, NULL), VG_OK);
    vg_keyset_destroy(&ks);
}

static void
load_missing_file_is_not_found(void **state)
{
    fixture *f = *state;
    vg_keyset *ks = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vg_keyset_load(&ks, f->path, &why), VG_ERR_NOT_FOUND);
    assert_null(ks);
    assert_true(vt_reason_has(&why, "agency.keys"));
}

/* Every truncation of a saved file, inside a line or exactly at a line end,
 * is VG_ERR_MALFORMED with a reason naming the file: the closing "end" line
 * makes a file cut short detectable. Never a crash. */
static void
load_truncated_at_every_length(void **state)
{
    fixture *f = *state;
    size_t len = 0;
    char *text = s_saved_text(f, &len);
    for (size_t cut = 0; cut < len; cut++) {
        vg_reason why = {{0}};
        unsigned kinds = 0;
        vg_err err = s_load_text(f, text, cut, &why, &kinds);
        if (err != VG_ERR_MALFORMED) {
            print_error("truncated at %zu of %zu: %s\n", cut, len, vg_err_code(err));
        }
        assert_int_equal(err, VG_ERR_MALFORMED);
        assert_true(vt_reason_has(&why, "agency.keys"));
    }
    free(text);
}

static void
load_empty_file_is_malformed(void **state)
{
    s_assert_malformed(*state, "");
}

static void
load_header_only_is_malformed(void **state)
{
    s_assert_malformed(*state, "vigil-secret-keys 1\n");
}

static void
load_wrong_header_version_is_malformed(void **state)
{
    fixture *f = *state;
    size_t len = 0;
    char *text = s_saved_text(f, &len);
    char *bad = s_replace(text, "vigil-secret-keys 1", "vigil-secret-keys 2");
    s_assert_malformed(f, bad);
    free(bad);
    free(text);
}

static void
load_wrong_header_is_malformed(void **state)
{
    fixture *f = *state;
    size_t len = 0;
    char *text = s_saved_text(f, &len);
    char *bad = s_replace(text, "vigil-secret-keys 1", "-----BEGIN PRIVATE KEY-----");
    s_assert_malformed(f, bad);
    free(bad);
    free(text);
}

static void
load_bad_hex_is_malformed(void **state)
{
    fixture *f = *state;
    size_t len = 0;
    char *text = s_saved_text(f, &len);
    char *bad = vg_strdup(text);
    char *v = strstr(bad, "sign-secret ") + strlen("sign-secret ");
    v[10] = 'g';
    s_assert_malformed(f, bad);
    free(bad);
    bad = vg_strdup(text);
    v = strstr(bad, "box-secret ") + strlen("box-secret ");
    v[63] = 'Z';
    s_assert_malformed(f, bad);
    free(bad);
    free(text);
}

static void
load_short_hex_is_malformed(void **state)
{
    fixture *f = *state;
    size_t len = 0;
    char *text = s_saved_text(f, &len);
    char *bad = vg_strdup(text);
    char *v = strstr(bad, "box-secret ") + strlen("box-secret ");
    memmove(v + 10, v + 12, strlen(v + 12) + 1); /* drop two hex digits */
    s_assert_malformed(f, bad);
    free(bad);
    free(text);
}

static void
load_bad_z85_is_malformed(void **state)
{
    fixture *f = *state;
    size_t len = 0;
    char *text = s_saved_text(f, &len);
    char *bad = vg_strdup(text);
    char *v = strstr(bad, "curve-secret ") + strlen("curve-secret ");
    v[5] = '~';
    s_assert_malformed(f, bad);
    free(bad);
    free(text);
}

static void
load_unknown_line_is_malformed(void **state)
{
    fixture *f = *state;
    size_t len = 0;
    char *text = s_saved_text(f, &len);
    size_t n = len + 64;
    char *bad = malloc(n);
    snprintf(bad, n, "%sshare-secret 00112233\n", text);
    s_assert_malformed(f, bad);
    free(bad);
    free(text);
}

static void
load_duplicate_line_is_malformed(void **state)
{
    fixture *f = *state;
    size_t len = 0;
    char *text = s_saved_text(f, &len);
    const char *line = strstr(text, "box-secret ");
    const char *end = strchr(line, '\n');
    size_t n = len + (size_t)(end - line) + 2;
    char *bad = malloc(n);
    snprintf(bad, n, "%s%.*s\n", text, (int)(end - line), line);
    s_assert_malformed(f, bad);
    free(bad);
    free(text);
}

static void
load_inconsistent_sign_secret_is_malformed(void **state)
{
    fixture *f = *state;
    size_t len = 0;
    char *text = s_saved_text(f, &len);
    char *bad = vg_strdup(text);
    char *v = strstr(bad, "sign-secret ") + strlen("sign-secret ");
    v[127] = v[127] == '0' ? '1' : '0'; /* the public half no longer matches the seed */
    s_assert_malformed(f, bad);
    free(bad);
    free(text);
}

static void
load_binary_garbage_is_malformed(void **state)
{
    fixture *f = *state;
    uint8_t junk[300];
    for (size_t i = 0; i < sizeof junk; i++) {
        junk[i] = (uint8_t)(i * 131 + 7);
    }
    vg_reason why = {{0}};
    assert_int_equal(s_load_text(f, (const char *)junk, sizeof junk, &why, NULL), VG_ERR_MALFORMED);
}

static void
load_embedded_nul_is_malformed(void **state)
{
    fixture *f = *state;
    size_t len = 0;
    char *text = s_saved_text(f, &len);
    text[25] = '\0';
    vg_reason why = {{0}};
    assert_int_equal(s_load_text(f, text, len, &why, NULL), VG_ERR_MALFORMED);
    free(text);
}

static void
load_oversized_file_is_refused(void **state)
{
    fixture *f = *state;
    size_t n = VG_KEY_FILE_MAX + 100;
    char *big = malloc(n);
    memset(big, '#', n);
    memcpy(big, "vigil-secret-keys 1\n", 20);
    big[n - 1] = '\n';
    vg_reason why = {{0}};
    vg_err err = s_load_text(f, big, n, &why, NULL);
    assert_true(err == VG_ERR_TOO_LARGE || err == VG_ERR_MALFORMED);
    assert_true(why.text[0] != '\0');
    free(big);
}

/* ---- Z85 ---------------------------------------------------------------- */

static void
z85_encode_known_vector(void **state)
{
    (void)state;
    /* ZeroMQ RFC 32 test vector: 86 4F D2 6F B5 59 F7 5B -> "HelloWorld". */
    uint8_t key[VG_CURVE_KEY_LEN] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
    char out[VG_Z85_KEY_LEN + 1];
    vg_z85_encode_key(out, key);
    assert_string_equal(out, "HelloWorld000000000000000000000000000000");
}

static void
z85_round_trip(void **state)
{
    (void)state;
    for (int round = 0; round < 64; round++) {
        uint8_t key[VG_CURVE_KEY_LEN], back[VG_CURVE_KEY_LEN];
        for (size_t i = 0; i < sizeof key; i++) {
            key[i] = (uint8_t)(round * 37 + i * 11 + (round == 63 ? 255 : 0));
        }
        if (round == 0) {
            memset(key, 0xff, sizeof key);
        }
        char z85[VG_Z85_KEY_LEN + 1];
        vg_z85_encode_key(z85, key);
        assert_int_equal(strlen(z85), VG_Z85_KEY_LEN);
        assert_int_equal(vg_z85_decode_key(back, z85), VG_OK);
        assert_memory_equal(back, key, sizeof key);
    }
}

static void
z85_decode_wrong_length_is_malformed(void **state)
{
    (void)state;
    uint8_t out[VG_CURVE_KEY_LEN];
    assert_int_equal(vg_z85_decode_key(out, ""), VG_ERR_MALFORMED);
    assert_int_equal(vg_z85_decode_key(out, "HelloWorld00000000000000000000000000000"),
                     VG_ERR_MALFORMED);
    assert_int_equal(vg_z85_decode_key(out, "HelloWorld0000000000000000000000000000000"),
                     VG_ERR_MALFORMED);
    assert_int_equal(vg_z85_decode_key(out, "HelloWorld"), VG_ERR_MALFORMED);
}

static void
z85_decode_bad_character_is_malformed(void **state)
{
    (void)state;
    uint8_t out[VG_CURVE_KEY_LEN];
    const char bad_chars[] = {'"', '\'', ',', ';', '\\', '_', '`', '|', '~', ' ', '\x7f', '\x80'};
    for (size_t i = 0; i < sizeof bad_chars; i++) {
        char z85[VG_Z85_KEY_LEN + 1] = "HelloWorld000000000000000000000000000000";
        z85[17] = bad_chars[i];
        assert_int_equal(vg_z85_decode_key(out, z85), VG_ERR_MALFORMED);
    }
}

static void
z85_decode_overflowing_group_is_malformed(void **state)
{
    (void)state;
    /* "#####" is 85^5 - 1, which does not fit in 32 bits. */
    uint8_t out[VG_CURVE_KEY_LEN];
    assert_int_equal(vg_z85_decode_key(out, "#####00000000000000000000000000000000000"),
                     VG_ERR_MALFORMED);
}

/* ---- signatures --------------------------------------------------------- */

static void
sign_verify_round_trip(void **state)
{
    fixture *f = *state;
    const uint8_t msg[] = "an envelope body";
    uint8_t sig[VG_SIGNATURE_LEN];
    assert_int_equal(vg_sign(sig, f->ks, VG_DOMAIN_ENVELOPE, msg, sizeof msg), VG_OK);
    assert_int_equal(vg_verify(sig, vg_keyset_sign_pk(f->ks), VG_DOMAIN_ENVELOPE, msg, sizeof msg),
                     VG_OK);
}

static void
verify_other_domain_is_bad_signature(void **state)
{
    fixture *f = *state;
    const uint8_t msg[] = "a body";
    uint8_t sig[VG_SIGNATURE_LEN];
    assert_int_equal(vg_sign(sig, f->ks, VG_DOMAIN_RECEIPT, msg, sizeof msg), VG_OK);
    assert_int_equal(vg_verify(sig, vg_keyset_sign_pk(f->ks), VG_DOMAIN_SHARE, msg, sizeof msg),
                     VG_ERR_BAD_SIGNATURE);
}

static void
verify_altered_message_is_bad_signature(void **state)
{
    fixture *f = *state;
    uint8_t msg[] = "a body";
    uint8_t sig[VG_SIGNATURE_LEN];
    assert_int_equal(vg_sign(sig, f->ks, VG_DOMAIN_RECEIPT, msg, sizeof msg), VG_OK);
    for (size_t i = 0; i < sizeof msg; i++) {
        msg[i] ^= 0x01;
        assert_int_equal(
            vg_verify(sig, vg_keyset_sign_pk(f->ks), VG_DOMAIN_RECEIPT, msg, sizeof msg),
            VG_ERR_BAD_SIGNATURE);
        msg[i] ^= 0x01;
    }
    sig[0] ^= 0x80;
    assert_int_equal(vg_verify(sig, vg_keyset_sign_pk(f->ks), VG_DOMAIN_RECEIPT, msg, sizeof msg),
                     VG_ERR_BAD_SIGNATURE);
}

static void
verify_other_key_is_bad_signature(void **state)
{
    fixture *f = *state;
    vg_keyset *other = NULL;
    assert_int_equal(vg_keyset_generate(&other, VG_KEY_SIGN), VG_OK);
    const uint8_t msg[] = "x";
    uint8_t sig[VG_SIGNATURE_LEN];
    assert_int_equal(vg_sign(sig, f->ks, VG_DOMAIN_NETDOC, msg, sizeof msg), VG_OK);
    assert_int_equal(vg_verify(sig, vg_keyset_sign_pk(other), VG_DOMAIN_NETDOC, msg, sizeof msg),
                     VG_ERR_BAD_SIGNATURE);
    vg_keyset_destroy(&other);
}

static void
sign_without_sign_key_is_invalid(void **state)
{
    (void)state;
    vg_keyset *box = NULL;
    assert_int_equal(vg_keyset_generate(&box, VG_KEY_BOX), VG_OK);
    uint8_t sig[VG_SIGNATURE_LEN];
    assert_int_equal(vg_sign(sig, box, VG_DOMAIN_RECEIPT, (const uint8_t *)"x", 1), VG_ERR_INVALID);
    vg_keyset_destroy(&box);
}

static void
sign_empty_message(void **state)
{
    fixture *f = *state;
    uint8_t sig[VG_SIGNATURE_LEN];
    assert_int_equal(vg_sign(sig, f->ks, VG_DOMAIN_RECEIPT, NULL, 0), VG_OK);
    assert_int_equal(vg_verify(sig, vg_keyset_sign_pk(f->ks), VG_DOMAIN_RECEIPT, NULL, 0), VG_OK);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

/* ---- keyrings ------------------------------------------------------------------ */

/* A keyring of n fresh sets (the caller's). */
static vg_keyring *
s_ring_of(size_t n)
{
    vg_keyring *ring = NULL;
    assert_int_equal(vg_keyring_new(&ring), VG_OK);
    for (size_t i = 0; i < n; i++) {
        vg_keyset *ks = NULL;
        assert_int_equal(vg_keyset_generate(&ks, VG_KEY_ALL), VG_OK);
        assert_int_equal(vg_keyring_add(ring, &ks), VG_OK);
        assert_null(ks);
    }
    return ring;
}

static void
keyring_of_one_is_a_plain_key_file(void **state)
{
    fixture *f = *state;
    vg_keyring *ring = s_ring_of(1);
    assert_int_equal(vg_keyring_save(ring, f->path, NULL), VG_OK);
    size_t len = 0;
    char *text = (char *)vt_read_file(f->path, &len);
    assert_int_equal(strncmp(text, "vigil-secret-keys 1\n", 20), 0);
    vg_keyset *ks = NULL;
    assert_int_equal(vg_keyset_load(&ks, f->path, NULL), VG_OK);
    assert_memory_equal(vg_keyset_box_pk(ks), vg_keyset_box_pk(vg_keyring_at(ring, 0)), 32);
    vg_keyset_destroy(&ks);
    free(text);
    vg_keyring_destroy(&ring);
}

static void
keyring_round_trip_keeps_order(void **state)
{
    fixture *f = *state;
    vg_keyring *ring = s_ring_of(3);
    assert_int_equal(vg_keyring_save(ring, f->path, NULL), VG_OK);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    size_t len = 0;
    char *text = (char *)vt_read_file(f->path, &len);
    assert_int_equal(strncmp(text, "vigil-secret-keys 2\n", 20), 0);
    assert_non_null(strstr(text, "\nset\nsign-secret "));
    assert_non_null(strstr(text, "\nend\n"));
    free(text);
    vg_keyring *back = NULL;
    assert_int_equal(vg_keyring_load(&back, f->path, NULL), VG_OK);
    assert_int_equal(vg_keyring_n(back), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_memory_equal(vg_keyset_sign_pk(vg_keyring_at(back, i)),
                            vg_keyset_sign_pk(vg_keyring_at(ring, i)), 32);
        assert_memory_equal(vg_keyset_box_pk(vg_keyring_at(back, i)),
                            vg_keyset_box_pk(vg_keyring_at(ring, i)), 32);
        assert_memory_equal(vg_keyset_curve_pk(vg_keyring_at(back, i)),
                            vg_keyset_curve_pk(vg_keyring_at(ring, i)), 32);
    }
    assert_int_equal(vg_keyring_active_index(back), 2); /* the newest */
    assert_ptr_equal(vg_keyring_active(back), vg_keyring_at(back, 2));
    assert_int_equal(vg_keyring_set_active(back, 0), VG_OK);
    assert_ptr_equal(vg_keyring_active(back), vg_keyring_at(back, 0));
    assert_int_equal(vg_keyring_set_active(back, 3), VG_ERR_INVALID);
    assert_int_equal(vg_keyring_find(back, VG_KEY_BOX, vg_keyset_box_pk(vg_keyring_at(ring, 1))),
                     1);
    assert_int_equal(
        vg_keyring_find(back, VG_KEY_CURVE, vg_keyset_curve_pk(vg_keyring_at(ring, 2))), 2);
    assert_int_equal(vg_keyring_find(back, VG_KEY_SIGN, vg_keyset_box_pk(vg_keyring_at(ring, 1))),
                     -1);
    vg_keyring_destroy(&back);
    vg_keyring_destroy(&ring);
}

static void
keyring_file_is_not_one_key_set(void **state)
{
    fixture *f = *state;
    vg_keyring *ring = s_ring_of(2);
    assert_int_equal(vg_keyring_save(ring, f->path, NULL), VG_OK);
    vg_keyset *ks = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vg_keyset_load(&ks, f->path, &why), VG_ERR_MALFORMED);
    assert_true(vt_reason_has(&why, "2 key sets"));
    vg_keyring_destroy(&ring);
}

static void
keyring_loads_a_plain_key_file(void **state)
{
    fixture *f = *state;
    assert_int_equal(vg_keyset_save(f->ks, f->path, NULL), VG_OK);
    vg_keyring *ring = NULL;
    assert_int_equal(vg_keyring_load(&ring, f->path, NULL), VG_OK);
    assert_int_equal(vg_keyring_n(ring), 1);
    assert_memory_equal(vg_keyset_sign_pk(vg_keyring_active(ring)), vg_keyset_sign_pk(f->ks), 32);
    vg_keyring_destroy(&ring);
}

static vg_err
s_ring_load_text(fixture *f, const char *text, mode_t mode, vg_reason *why)
{
    vt_write_file(f->path, text, strlen(text), mode);
    vg_keyring *ring = NULL;
    vg_err err = vg_keyring_load(&ring, f->path, why);
    assert_true((err == VG_OK) == (ring != NULL));
    vg_keyring_destroy(&ring);
    return err;
}

static void
keyring_damage_is_refused(void **state)
{
    fixture *f = *state;
    vg_keyring *ring = s_ring_of(2);
    assert_int_equal(vg_keyring_save(ring, f->path, NULL), VG_OK);
    size_t len = 0;
    char *text = (char *)vt_read_file(f->path, &len);
    vg_reason why = {{0}};
    /* cut after the first set: no end line */
    char *second = strstr(strstr(text, "\nset\n") + 1, "\nset\n");
    char *cut = strndup(text, (size_t)(second - text) + 1);
    assert_int_equal(s_ring_load_text(f, cut, 0600, &why), VG_ERR_MALFORMED);
    assert_true(vt_reason_has(&why, "no end line"));
    free(cut);
    /* a set with no keys */
    assert_int_equal(s_ring_load_text(f, "vigil-secret-keys 2\nset\nset\nend\n", 0600, &why),
                     VG_ERR_MALFORMED);
    assert_true(vt_reason_has(&why, "no keys"));
    /* keys before any set line */
    char *noset = strdup(text);
    char *first = strstr(noset, "set\n");
    memcpy(first, "# x\n", 4);
    assert_int_equal(s_ring_load_text(f, noset, 0600, &why), VG_ERR_MALFORMED);
    assert_true(vt_reason_has(&why, "expected 'set'"));
    free(noset);
    /* readable by others */
    assert_int_equal(s_ring_load_text(f, text, 0640, &why), VG_ERR_KEY_PERMS);
    assert_int_equal(s_ring_load_text(f, text, 0600, &why), VG_OK);
    free(text);
    vg_keyring_destroy(&ring);
}

static void
keyring_is_bounded(void **state)
{
    (void)state;
    vg_keyring *ring = s_ring_of(VG_KEYRING_MAX);
    vg_keyset *ks = NULL;
    assert_int_equal(vg_keyset_generate(&ks, VG_KEY_ALL), VG_OK);
    assert_int_equal(vg_keyring_add(ring, &ks), VG_ERR_TOO_LARGE);
    assert_null(ks);
    vg_keyring *empty = NULL;
    assert_int_equal(vg_keyring_new(&empty), VG_OK);
    assert_null(vg_keyring_active(empty));
    assert_int_equal(vg_keyring_save(empty, "/nonexistent/x", NULL), VG_ERR_INVALID);
    vg_keyring_destroy(&empty);
    vg_keyring_destroy(&ring);
    vg_keyring_destroy(&ring); /* NULL-safe */
}

static void
keyring_of_max_sets_fits_its_file(void **state)
{
    fixture *f = *state;
    vg_keyring *ring = s_ring_of(VG_KEYRING_MAX);
    assert_int_equal(vg_keyring_save(ring, f->path, NULL), VG_OK);
    vg_keyring *back = NULL;
    assert_int_equal(vg_keyring_load(&back, f->path, NULL), VG_OK);
    assert_int_equal(vg_keyring_n(back), VG_KEYRING_MAX);
    vg_keyring_destroy(&back);
    vg_keyring_destroy(&ring);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(generate_all_kinds),
        T(generate_sign_only_has_no_other_keys),
        T(generate_gives_distinct_keys),
        T(generate_no_kinds_is_invalid),
        T(destroy_is_null_safe),
        T(curve_z85_matches_raw),
        T(save_load_round_trip),
        T(save_load_round_trip_sign_only),
        T(save_writes_mode_0600),
        T(save_has_documented_format),
        T(load_refuses_mode_0640),
        T(load_refuses_mode_0604),
        T(load_refuses_mode_0644),
        T(load_refuses_mode_0660),
        T(load_accepts_mode_0400),
        T(load_missing_file_is_not_found),
        T(load_truncated_at_every_length),
        T(load_empty_file_is_malformed),
        T(load_header_only_is_malformed),
        T(load_wrong_header_version_is_malformed),
        T(load_wrong_header_is_malformed),
        T(load_bad_hex_is_malformed),
        T(load_short_hex_is_malformed),
        T(load_bad_z85_is_malformed),
        T(load_unknown_line_is_malformed),
        T(load_duplicate_line_is_malformed),
        T(load_inconsistent_sign_secret_is_malformed),
        T(load_binary_garbage_is_malformed),
        T(load_embedded_nul_is_malformed),
        T(load_oversized_file_is_refused),
        T(z85_encode_known_vector),
        T(z85_round_trip),
        T(z85_decode_wrong_length_is_malformed),
        T(z85_decode_bad_character_is_malformed),
        T(z85_decode_overflowing_group_is_malformed),
        T(sign_verify_round_trip),
        T(verify_other_domain_is_bad_signature),
        T(verify_altered_message_is_bad_signature),
        T(verify_other_key_is_bad_signature),
        T(sign_without_sign_key_is_invalid),
        T(sign_empty_message),
        T(keyring_of_one_is_a_plain_key_file),
        T(keyring_round_trip_keeps_order),
        T(keyring_file_is_not_one_key_set),
        T(keyring_loads_a_plain_key_file),
        T(keyring_damage_is_refused),
        T(keyring_is_bounded),
        T(keyring_of_max_sets_fits_its_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
