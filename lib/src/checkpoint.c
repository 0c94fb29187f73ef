/* checkpoint.c — C2SP tlog-checkpoint in C2SP signed notes (see checkpoint.h). */
#include "vigil/checkpoint.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define S_SIG_TYPE_ED25519 0x01
#define S_EM_DASH "\xE2\x80\x94"               /* U+2014, UTF-8 */
#define S_ROOT_B64_LEN 44                      /* base64 of 32 bytes */
#define S_SIG_BLOB_LEN (4 + crypto_sign_BYTES) /* key id || signature */
#define S_SIG_B64_MAX 96                       /* base64 of 68 bytes is 92 */
#define S_SIZE_DIGITS_MAX 20                   /* UINT64_MAX has 20 digits */

struct vg_checkpoint {
    char *origin;                     /* first line of the body */
    uint64_t size;                    /* second line */
    uint8_t root[VG_MERKLE_HASH_LEN]; /* third line, decoded */
    char *note;                       /* the whole signed note, NUL-terminated */
    size_t note_len;                  /* its length without the NUL */
};

/* ---- small helpers ------------------------------------------------------------- */

/* Key names vigil writes: 1..VG_CHECKPOINT_ORIGIN_MAX of printable ASCII, no
 * space (printable excludes it) and no '+' (the signed-note rules). */
static bool
s_name_is_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > VG_CHECKPOINT_ORIGIN_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x21 || c > 0x7e || c == '+') {
            return false;
        }
    }
    return true;
}

/* Length of the UTF-8 sequence at s (at most len bytes), or 0 when invalid
 * (bad lead byte, bad continuation, overlong form, surrogate, > U+10FFFF). */
static size_t
s_utf8_seq(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c < 0x80) {
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (len < n || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf) {
            return 0;
        }
    }
    return n;
}

/* Signed notes are valid UTF-8 without control characters but newline. */
static bool
s_text_is_valid(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        if (s[i] < 0x20 && s[i] != '\n') {
            return false;
        }
        size_t n = s_utf8_seq(s + i, len - i);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

static bool
s_has_blank_line(const char *text, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (text[i] == '\n' && text[i + 1] == '\n') {
            return true;
        }
    }
    return false;
}

/* Strict standard base64 (with padding): exactly the canonical encoding of
 * the decoded bytes, nothing around it. */
static bool
s_b64_decode(uint8_t *out, size_t out_max, size_t *out_len, const char *in, size_t in_len)
{
    const char *end = NULL;
    if (in_len == 0 || in_len % 4 != 0 ||
        sodium_base642bin(out, out_max, in, in_len, NULL, out_len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != in + in_len) {
        return false;
    }
    char again[VG_CHECKPOINT_MAX_BYTES + 4];
    if (sodium_base64_ENCODED_LEN(*out_len, sodium_base64_VARIANT_ORIGINAL) > sizeof again) {
        return false;
    }
    sodium_bin2base64(again, sizeof again, out, *out_len, sodium_base64_VARIANT_ORIGINAL);
    return strlen(again) == in_len && memcmp(again, in, in_len) == 0;
}

uint32_t
vg_checkpoint_key_id(const char *key_name, const uint8_t pk[VG_SIGN_PK_LEN])
{
    static const uint8_t sep[2] = {'\n', S_SIG_TYPE_ED25519};
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)key_name, strlen(key_name));
    crypto_hash_sha256_update(&st, sep, sizeof sep);
    crypto_hash_sha256_update(&st, pk, VG_SIGN_PK_LEN);
    crypto_hash_sha256_final(&st, h);
    return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | (uint32_t)h[3];
}

vg_err
vg_checkpoint_verifier_key(char *out, size_t out_len, const char *key_name,
                           const uint8_t pk[VG_SIGN_PK_LEN])
{
    if (!s_name_is_valid(key_name) || out_len < VG_CHECKPOINT_VKEY_MAX) {
        return VG_ERR_INVALID;
    }
    uint8_t typed[1 + VG_SIGN_PK_LEN];
    typed[0] = S_SIG_TYPE_ED25519;
    memcpy(typed + 1, pk, VG_SIGN_PK_LEN);
    char b64[64];
    sodium_bin2base64(b64, sizeof b64, typed, sizeof typed, sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, out_len, "%s+%08x+%s", key_name, (unsigned)vg_checkpoint_key_id(key_name, pk),
             b64);
    return VG_OK;
}

/* ---- signing ------------------------------------------------------------------- */

vg_err
vg_checkpoint_note_sign(char **out, size_t *out_len, const char *text, size_t text_len,
                        const char *key_name, const vg_keyset *ks, vg_reason *why)
{
    if (ks == NULL || vg_keyset_sign_sk(ks) == NULL) {
        return vg_reason_set(why, VG_ERR_INVALID, "note signing needs an Ed25519 signing key");
    }
    if (!s_name_is_valid(key_name)) {
        return vg_reason_set(why, VG_ERR_INVALID,
                             "key name '%s' is not valid: use 1-%d printable ASCII characters "
                             "without spaces or '+'",
                             key_name, VG_CHECKPOINT_ORIGIN_MAX);
    }
    if (text_len == 0 || text[text_len - 1] != '\n' || !s_text_is_valid(text, text_len) ||
        s_has_blank_line(text, text_len) || text_len > VG_CHECKPOINT_MAX_BYTES / 2) {
        return vg_reason_set(why, VG_ERR_INVALID,
                             "note text must be UTF-8 lines ending in a newline, without blank "
                             "lines or control characters");
    }
    uint8_t blob[S_SIG_BLOB_LEN];
    uint32_t id = vg_checkpoint_key_id(key_name, vg_keyset_sign_pk(ks));
    blob[0] = (uint8_t)(id >> 24);
    blob[1] = (uint8_t)(id >> 16);
    blob[2] = (uint8_t)(id >> 8);
    blob[3] = (uint8_t)id;
    if (crypto_sign_detached(blob + 4, NULL, (const uint8_t *)text, text_len,
                             vg_keyset_sign_sk(ks)) != 0) {
        return vg_reason_set(why, VG_ERR_CRYPTO, "Ed25519 signing failed");
    }
    char b64[S_SIG_B64_MAX];
    sodium_bin2base64(b64, sizeof b64, blob, sizeof blob, sodium_base64_VARIANT_ORIGINAL);
    size_t cap = text_len + 1 + strlen(S_EM_DASH " ") + strlen(key_name) + 1 + strlen(b64) + 2;
    char *note = malloc(cap);
    if (note == NULL) {
        return VG_ERR_NOMEM;
    }
    memcpy(note, text, text_len);
    int n = snprintf(note + text_len, cap - text_len, "\n" S_EM_DASH " %s %s\n", key_name, b64);
    *out = note;
    *out_len = text_len + (size_t)n;
    return VG_OK;
}

static vg_checkpoint *
s_new(const char *origin, size_t origin_len, uint64_t size, const uint8_t root[VG_MERKLE_HASH_LEN],
      const char *note, size_t note_len)
{
    vg_checkpoint *cp = calloc(1, sizeof *cp);
    if (cp == NULL) {
        return NULL;
    }
    cp->origin = malloc(origin_len + 1);
    cp->note = malloc(note_len + 1);
    if (cp->origin == NULL || cp->note == NULL) {
        vg_checkpoint_destroy(&cp);
        return NULL;
    }
    memcpy(cp->origin, origin, origin_len);
    cp->origin[origin_len] = '\0';
    memcpy(cp->note, note, note_len);
    cp->note[note_len] = '\0';
    cp->note_len = note_len;
    cp->size = size;
    memcpy(cp->root, root, VG_MERKLE_HASH_LEN);
    return cp;
}

vg_err
vg_checkpoint_sign(vg_checkpoint **out, const char *origin, uint64_t size,
                   const uint8_t root[VG_MERKLE_HASH_LEN], const vg_keyset *ks, vg_reason *why)
{
    if (!s_name_is_valid(origin)) {
        return vg_reason_set(why, VG_ERR_INVALID,
                             "origin '%s' is not a valid key name: use 1-%d printable ASCII "
                             "characters without spaces or '+'",
                             origin, VG_CHECKPOINT_ORIGIN_MAX);
    }
    if (size > VG_MERKLE_SIZE_MAX) {
        return vg_reason_set(why, VG_ERR_INVALID, "tree size %llu is over the limit",
                             (unsigned long long)size);
    }
    char b64[S_ROOT_B64_LEN + 1];
    sodium_bin2base64(b64, sizeof b64, root, VG_MERKLE_HASH_LEN, sodium_base64_VARIANT_ORIGINAL);
    char body[VG_CHECKPOINT_ORIGIN_MAX + S_SIZE_DIGITS_MAX + S_ROOT_B64_LEN + 8];
    int n = snprintf(body, sizeof body, "%s\n%llu\n%s\n", origin, (unsigned long long)size, b64);
    char *note = NULL;
    size_t note_len = 0;
    vg_err rc = vg_checkpoint_note_sign(&note, &note_len, body, (size_t)n, origin, ks, why);
    if (rc != VG_OK) {
        return rc;
    }
    vg_checkpoint *cp = s_new(origin, strlen(origin), size, root, note, note_len);
    free(note);
    if (cp == NULL) {
        return VG_ERR_NOMEM;
    }
    *out = cp;
    return VG_OK;
}

void
vg_checkpoint_destroy(vg_checkpoint **cp_p)
{
    if (cp_p == NULL || *cp_p == NULL) {
        return;
    }
    free((*cp_p)->origin);
    free((*cp_p)->note);
    free(*cp_p);
    *cp_p = NULL;
}

const char *
vg_checkpoint_origin(const vg_checkpoint *cp)
{
    return cp->origin;
}

uint64_t
vg_checkpoint_size(const vg_checkpoint *cp)
{
    return cp->size;
}

const uint8_t *
vg_checkpoint_root(const vg_checkpoint *cp)
{
    return cp->root;
}

const char *
vg_checkpoint_note(const vg_checkpoint *cp)
{
    return cp->note;
}

size_t
vg_checkpoint_note_len(const vg_checkpoint *cp)
{
    return cp->note_len;
}

/* ---- verification ---------------------------------------------------------------- */

/* What the signature lines said about the key we look for. */
typedef struct s_scan {
    const char *key_name;                          /* expected name */
    const uint8_t *pk;                             /* expected key */
    uint32_t key_id;                               /* its id under key_name */
    const char *text;                              /* the signed text */
    size_t text_len;                               /* its length */
    bool verified;                                 /* a line from (key_name, pk) verified */
    char other_name[VG_CHECKPOINT_ORIGIN_MAX + 1]; /* pk's name on a line, if not key_name */
} s_scan;

/* Checks one signature line (without its newline). */
static vg_err
s_scan_line(s_scan *sc, const char *line, size_t len, vg_reason *why)
{
    size_t dash = strlen(S_EM_DASH " ");
    if (len < dash || memcmp(line, S_EM_DASH " ", dash) != 0) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "signature lines must start with an em dash and a space");
    }
    const char *name = line + dash;
    const char *sp = memchr(name, ' ', len - dash);
    if (sp == NULL || sp == name) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "a signature line must be '\u2014 <key name> <base64>'");
    }
    size_t name_len = (size_t)(sp - name);
    const char *b64 = sp + 1;
    size_t b64_len = len - dash - name_len - 1;
    uint8_t blob[VG_CHECKPOINT_MAX_BYTES];
    size_t blob_len = 0;
    if (!s_b64_decode(blob, sizeof blob, &blob_len, b64, b64_len) || blob_len < 5) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "signature of key '%.*s' is not base64 of a key id and a signature",
                             (int)name_len, name);
    }
    uint32_t id = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 | (uint32_t)blob[2] << 8 |
                  (uint32_t)blob[3];
    if (name_len > VG_CHECKPOINT_ORIGIN_MAX) {
        return VG_OK; /* not a name vigil uses: someone else's key, ignored */
    }
    char nm[VG_CHECKPOINT_ORIGIN_MAX + 1];
    memcpy(nm, name, name_len);
    nm[name_len] = '\0';
    bool ours = strcmp(nm, sc->key_name) == 0;
    if (ours && id == sc->key_id) {
        if (blob_len != S_SIG_BLOB_LEN ||
            crypto_sign_verify_detached(blob + 4, (const uint8_t *)sc->text, sc->text_len,
                                        sc->pk) != 0) {
            return vg_reason_set(why, VG_ERR_BAD_SIGNATURE, "bad signature from key '%s'",
                                 sc->key_name);
        }
        sc->verified = true;
    } else if (!ours && id == vg_checkpoint_key_id(nm, sc->pk)) {
        memcpy(sc->other_name, nm, name_len + 1);
    }
    return VG_OK;
}

/* Finds the blank line that ends the text: the last "\n\n". */
static bool
s_split_note(const char *note, size_t len, size_t *text_len)
{
    for (size_t i = len - 1; i-- > 0;) {
        if (note[i] == '\n' && note[i + 1] == '\n') {
            *text_len = i + 1;
            return true;
        }
    }
    return false;
}

static vg_err
s_check_envelope(const char *note, size_t len, vg_reason *why)
{
    if (len > VG_CHECKPOINT_MAX_BYTES) {
        return vg_reason_set(why, VG_ERR_TOO_LARGE, "note of %zu bytes is over the %d-byte limit",
                             len, VG_CHECKPOINT_MAX_BYTES);
    }
    if (len < 2 || note[len - 1] != '\n' || memchr(note, '\0', len) != NULL ||
        !s_text_is_valid(note, len)) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "not a signed note: it must be UTF-8 text without control "
                             "characters, ending in a newline");
    }
    return VG_OK;
}

vg_err
vg_checkpoint_note_open(size_t *text_len, const char *note, size_t len, const char *key_name,
                        const uint8_t pk[VG_SIGN_PK_LEN], vg_reason *why)
{
    vg_err rc = s_check_envelope(note, len, why);
    if (rc != VG_OK) {
        return rc;
    }
    s_scan sc = {
        .key_name = key_name, .pk = pk, .key_id = vg_checkpoint_key_id(key_name, pk), .text = note};
    if (!s_split_note(note, len, &sc.text_len) || sc.text_len + 1 == len) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "not a signed note: no blank line followed by signature lines");
    }
    size_t n_lines = 0;
    for (size_t pos = sc.text_len + 1; pos < len;) {
        const char *nl = memchr(note + pos, '\n', len - pos);
        if (++n_lines > VG_CHECKPOINT_SIGNATURES_MAX) {
            return vg_reason_set(why, VG_ERR_TOO_LARGE, "note has over %d signatures",
                                 VG_CHECKPOINT_SIGNATURES_MAX);
        }
        rc = s_scan_line(&sc, note + pos, (size_t)(nl - (note + pos)), why);
        if (rc != VG_OK) {
            return rc;
        }
        pos = (size_t)(nl - note) + 1;
    }
    if (sc.verified) {
        *text_len = sc.text_len;
        return VG_OK;
    }
    if (sc.other_name[0] != '\0') {
        return vg_reason_set(why, VG_ERR_SENDER_MISMATCH,
                             "note signed by the expected key as '%s', not '%s': it belongs to "
                             "another log",
                             sc.other_name, key_name);
    }
    return vg_reason_set(why, VG_ERR_UNKNOWN_SENDER,
                         "no signature from key '%s' (id %08x): signed by another key", key_name,
                         (unsigned)sc.key_id);
}

/* Parses the tree size line: ASCII decimal, no leading zeroes, in range. */
static bool
s_parse_size(uint64_t *out, const char *s, size_t len)
{
    if (len == 0 || len > S_SIZE_DIGITS_MAX || (len > 1 && s[0] == '0')) {
        return false;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (VG_MERKLE_SIZE_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Splits the checkpoint body into its three lines; anything else is refused. */
static vg_err
s_parse_body(const char *text, size_t len, const char *origin, uint64_t *size,
             uint8_t root[VG_MERKLE_HASH_LEN], vg_reason *why)
{
    const char *line[4] = {text, NULL, NULL, NULL};
    size_t line_len[3] = {0};
    size_t n = 0;
    for (const char *p = text; p < text + len && n < 3; n++) {
        const char *nl = memchr(p, '\n', (size_t)(text + len - p));
        line[n] = p;
        line_len[n] = (size_t)(nl - p);
        p = nl + 1;
        line[n + 1] = p;
    }
    if (n < 3 || line[3] != text + len) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "checkpoint body must be exactly three lines (origin, tree size, root "
                             "hash); vigil does not use extension lines");
    }
    if (line_len[0] != strlen(origin) || memcmp(line[0], origin, line_len[0]) != 0) {
        return vg_reason_set(why, VG_ERR_SENDER_MISMATCH,
                             "checkpoint is for log '%.*s', expected '%s'",
                             (int)(line_len[0] > 64 ? 64 : line_len[0]), line[0], origin);
    }
    if (!s_parse_size(size, line[1], line_len[1])) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "checkpoint tree size must be decimal without leading zeroes, at "
                             "most 2^62");
    }
    size_t root_len = 0;
    uint8_t buf[VG_MERKLE_HASH_LEN + 4];
    if (line_len[2] != S_ROOT_B64_LEN ||
        !s_b64_decode(buf, sizeof buf, &root_len, line[2], line_len[2]) ||
        root_len != VG_MERKLE_HASH_LEN) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "checkpoint root hash must be the base64 of 32 bytes");
    }
    memcpy(root, buf, VG_MERKLE_HASH_LEN);
    return VG_OK;
}

vg_err
vg_checkpoint_verify(vg_checkpoint **out, const char *note, size_t len, const char *origin,
                     const uint8_t pk[VG_SIGN_PK_LEN], vg_reason *why)
{
    if (!s_name_is_valid(origin)) {
        return vg_reason_set(why, VG_ERR_INVALID, "expected origin '%s' is not a valid key name",
                             origin);
    }
    size_t text_len = 0;
    vg_err rc = vg_checkpoint_note_open(&text_len, note, len, origin, pk, why);
    if (rc != VG_OK) {
        return rc;
    }
    uint64_t size = 0;
    uint8_t root[VG_MERKLE_HASH_LEN];
    rc = s_parse_body(note, text_len, origin, &size, root, why);
    if (rc != VG_OK) {
        return rc;
    }
    vg_checkpoint *cp = s_new(origin, strlen(origin), size, root, note, len);
    if (cp == NULL) {
        return VG_ERR_NOMEM;
    }
    *out = cp;
    return VG_OK;
}
