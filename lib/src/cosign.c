/* cosign.c — C2SP tlog-cosignature (cosignature/v1, Ed25519) lines over
 * audit checkpoints (see cosign.h). */
#include "vigil/cosign.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#define S_SIG_TYPE_COSIGN 0x04
#define S_EM_DASH "\xE2\x80\x94 "                             /* U+2014 and a space, UTF-8 */
#define S_BLOB_LEN (4 + 8 + crypto_sign_BYTES)                /* key id || time || signature */
#define S_B64_LEN 104                                         /* base64 of 76 bytes */
#define S_HEADER "cosignature/v1\ntime "                      /* the signed message starts so */
#define S_MSG_MAX (sizeof S_HEADER + 24 + VG_COSIGN_BODY_MAX) /* header, time, body */

static bool
s_name_is_valid(const char *name, size_t n)
{
    if (n == 0 || n > VG_COSIGN_NAME_MAX) {
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

uint32_t
vg_cosign_key_id(const char *name, const uint8_t pk[VG_SIGN_PK_LEN])
{
    static const uint8_t sep[2] = {'\n', S_SIG_TYPE_COSIGN};
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)name, strlen(name));
    crypto_hash_sha256_update(&st, sep, sizeof sep);
    crypto_hash_sha256_update(&st, pk, VG_SIGN_PK_LEN);
    crypto_hash_sha256_final(&st, h);
    return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | (uint32_t)h[3];
}

vg_err
vg_cosign_body(size_t *body_len, const char *note, size_t note_len)
{
    for (size_t i = 0; i + 1 < note_len && i < VG_COSIGN_BODY_MAX; i++) {
        if (note[i] == '\n' && note[i + 1] == '\n') {
            *body_len = i + 1;
            return VG_OK;
        }
    }
    return VG_ERR_MALFORMED;
}

/* The signed message: "cosignature/v1\ntime T\n" || body; its length, or 0
 * when the body does not fit. */
static size_t
s_message(uint8_t *out, size_t out_len, uint64_t time_s, const char *body, size_t body_len)
{
    int n = snprintf((char *)out, out_len, S_HEADER "%llu\n", (unsigned long long)time_s);
    if (n < 0 || (size_t)n + body_len > out_len) {
        return 0;
    }
    memcpy(out + n, body, body_len);
    return (size_t)n + body_len;
}

vg_err
vg_cosign_sign(char *out, size_t out_len, const char *body, size_t body_len, const char *name,
               uint64_t time_s, const vg_keyset *ks, vg_reason *why)
{
    if (ks == NULL || vg_keyset_sign_sk(ks) == NULL || out_len < VG_COSIGN_LINE_MAX) {
        return vg_reason_set(why, VG_ERR_INVALID, "cosigning needs an Ed25519 signing key");
    }
    if (!s_name_is_valid(name, strlen(name))) {
        return vg_reason_set(why, VG_ERR_INVALID,
                             "witness name '%s' is not valid: use 1-%d printable ASCII characters "
                             "without spaces or '+'",
                             name, VG_COSIGN_NAME_MAX);
    }
    uint8_t msg[S_MSG_MAX];
    size_t msg_len = body_len == 0 || body[body_len - 1] != '\n'
                         ? 0
                         : s_message(msg, sizeof msg, time_s, body, body_len);
    if (msg_len == 0) {
        return vg_reason_set(
            why, VG_ERR_INVALID,
            "a checkpoint body must be lines ending in a newline, at most %d bytes",
            VG_COSIGN_BODY_MAX);
    }
    uint8_t blob[S_BLOB_LEN];
    uint32_t id = vg_cosign_key_id(name, vg_keyset_sign_pk(ks));
    for (int i = 0; i < 4; i++) {
        blob[i] = (uint8_t)(id >> (24 - 8 * i));
    }
    for (int i = 0; i < 8; i++) {
        blob[4 + i] = (uint8_t)(time_s >> (56 - 8 * i));
    }
    if (crypto_sign_detached(blob + 12, NULL, msg, msg_len, vg_keyset_sign_sk(ks)) != 0) {
        return vg_reason_set(why, VG_ERR_CRYPTO, "Ed25519 signing failed");
    }
    char b64[S_B64_LEN + 1];
    sodium_bin2base64(b64, sizeof b64, blob, sizeof blob, sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, out_len, S_EM_DASH "%s %s", name, b64);
    return VG_OK;
}

/* Splits "— <name> <b64>": the name's and the base64's spans. */
static vg_err
s_split(const char *line, size_t len, const char **name, size_t *name_len, const char **b64,
        size_t *b64_len, vg_reason *why)
{
    size_t dash = strlen(S_EM_DASH);
    const char *sp = NULL;
    if (len < VG_COSIGN_LINE_MAX && len > dash && memcmp(line, S_EM_DASH, dash) == 0) {
        sp = memchr(line + dash, ' ', len - dash);
    }
    if (sp == NULL || !s_name_is_valid(line + dash, (size_t)(sp - line) - dash)) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "a cosignature must be one line '\u2014 <witness name> <base64>' "
                             "(C2SP tlog-cosignature)");
    }
    *name = line + dash;
    *name_len = (size_t)(sp - *name);
    *b64 = sp + 1;
    *b64_len = len - dash - *name_len - 1;
    return VG_OK;
}

vg_err
vg_cosign_name(char *out, size_t out_len, const char *line, size_t len, vg_reason *why)
{
    const char *name = NULL, *b64 = NULL;
    size_t name_len = 0, b64_len = 0;
    vg_err rc = s_split(line, len, &name, &name_len, &b64, &b64_len, why);
    if (rc != VG_OK) {
        return rc;
    }
    if (out_len <= name_len) {
        return vg_reason_set(why, VG_ERR_INVALID, "no room for the witness name");
    }
    memcpy(out, name, name_len);
    out[name_len] = '\0';
    return VG_OK;
}

/* Strict standard base64 of exactly S_BLOB_LEN bytes. */
static bool
s_blob(uint8_t out[S_BLOB_LEN], const char *b64, size_t b64_len)
{
    size_t n = 0;
    const char *end = NULL;
    if (b64_len != S_B64_LEN ||
        sodium_base642bin(out, S_BLOB_LEN, b64, b64_len, NULL, &n, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != b64 + b64_len || n != S_BLOB_LEN) {
        return false;
    }
    char again[S_B64_LEN + 1];
    sodium_bin2base64(again, sizeof again, out, S_BLOB_LEN, sodium_base64_VARIANT_ORIGINAL);
    return memcmp(again, b64, b64_len) == 0;
}

vg_err
vg_cosign_verify(uint64_t *time_s, const char *line, size_t len, const char *body, size_t body_len,
                 const char *name, const uint8_t pk[VG_SIGN_PK_LEN], vg_reason *why)
{
    const char *nm = NULL, *b64 = NULL;
    size_t nm_len = 0, b64_len = 0;
    vg_err rc = s_split(line, len, &nm, &nm_len, &b64, &b64_len, why);
    if (rc != VG_OK) {
        return rc;
    }
    uint8_t blob[S_BLOB_LEN];
    if (!s_blob(blob, b64, b64_len)) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "the cosignature is not base64 of a key id, a time and an Ed25519 "
                             "signature (76 bytes)");
    }
    if (nm_len != strlen(name) || memcmp(nm, name, nm_len) != 0) {
        return vg_reason_set(why, VG_ERR_SENDER_MISMATCH, "the cosignature is by '%.*s', not '%s'",
                             (int)nm_len, nm, name);
    }
    uint32_t id = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 | (uint32_t)blob[2] << 8 |
                  (uint32_t)blob[3];
    if (id != vg_cosign_key_id(name, pk)) {
        return vg_reason_set(why, VG_ERR_UNKNOWN_SENDER,
                             "the cosignature's key id is not that of %s's signing key in the "
                             "network document: signed with another key",
                             name);
    }
    uint64_t t = 0;
    for (int i = 0; i < 8; i++) {
        t = t << 8 | blob[4 + i];
    }
    uint8_t msg[S_MSG_MAX];
    size_t msg_len = s_message(msg, sizeof msg, t, body, body_len);
    if (msg_len == 0 || crypto_sign_verify_detached(blob + 12, msg, msg_len, pk) != 0) {
        return vg_reason_set(why, VG_ERR_BAD_SIGNATURE,
                             "%s's cosignature does not verify over this checkpoint", name);
    }
    if (time_s != NULL) {
        *time_s = t;
    }
    return VG_OK;
}

/* The key of agency `id` whose cosignature key id is `id_want`: its current
 * sign key or a previous one, or NULL. */
static const uint8_t *
s_key_for(const vg_netdoc *doc, const vg_agency *ag, uint32_t id_want)
{
    if (vg_cosign_key_id(ag->id, ag->sign_pk) == id_want) {
        return ag->sign_pk;
    }
    for (size_t i = 0; i < ag->n_previous; i++) {
        vg_previous_keys pk;
        if (vg_netdoc_previous_keys(doc, ag->id, i, &pk) == VG_OK && pk.sign_pk != NULL &&
            vg_cosign_key_id(ag->id, pk.sign_pk) == id_want) {
            return pk.sign_pk;
        }
    }
    return NULL;
}

vg_err
vg_cosign_verify_netdoc(char *name, uint64_t *time_s, const char *line, size_t len,
                        const char *body, size_t body_len, const vg_netdoc *doc,
                        vg_cosign_trust trust, vg_reason *why)
{
    const char *nm = NULL, *b64 = NULL;
    size_t nm_len = 0, b64_len = 0;
    uint8_t blob[S_BLOB_LEN];
    vg_err rc = s_split(line, len, &nm, &nm_len, &b64, &b64_len, why);
    if (rc != VG_OK) {
        return rc;
    }
    memcpy(name, nm, nm_len);
    name[nm_len] = '\0';
    vg_agency ag;
    if (vg_netdoc_find(doc, name, &ag) != VG_OK) {
        return vg_reason_set(why, VG_ERR_UNKNOWN_SENDER,
                             "the cosignature is by '%s', which is no agency of the network "
                             "document",
                             name);
    }
    if (!s_blob(blob, b64, b64_len)) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "the cosignature is not base64 of a key id, a time and an Ed25519 "
                             "signature (76 bytes)");
    }
    uint32_t id = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 | (uint32_t)blob[2] << 8 |
                  (uint32_t)blob[3];
    const uint8_t *pk = s_key_for(doc, &ag, id);
    if (pk == NULL) {
        return vg_reason_set(why, VG_ERR_UNKNOWN_SENDER,
                             "the cosignature's key id is not that of any signing key the network "
                             "document lists for %s: signed with another key",
                             name);
    }
    uint64_t t = 0;
    rc = vg_cosign_verify(&t, line, len, body, body_len, name, pk, why);
    vg_key_match m;
    int64_t at_ms = t > (uint64_t)INT64_MAX / 1000 ? INT64_MAX : (int64_t)t * 1000;
    if (rc == VG_OK && vg_netdoc_find_sign_key(&m, doc, name, pk) == VG_OK) {
        if (trust == VG_COSIGN_NOW) {
            rc = vg_key_match_check_time(&m, at_ms, "cosignature", why);
        } else if (m.compromised_ms != 0 && at_ms >= m.compromised_ms) {
            rc = vg_reason_set(why, VG_ERR_KEY_COMPROMISED,
                               "%s's cosignature carries a time at or after its key was marked "
                               "compromised",
                               name);
        }
    }
    if (rc == VG_OK && time_s != NULL) {
        *time_s = t;
    }
    return rc;
}
