/* keys.c — key pairs in guarded memory, secret key files, signatures. */
#include "vigil/keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zmq.h>

#include "vigil/util.h"

#define S_HEADER "vigil-secret-keys 1"
#define S_END "end"

/* Lives in sodium_malloc'ed memory: guard pages, mlock'ed, wiped on free. */
struct vg_keyset {
    unsigned kinds;                        /* VG_KEY_* present */
    uint8_t sign_pk[VG_SIGN_PK_LEN];       /* Ed25519 public */
    uint8_t sign_sk[VG_SIGN_SK_LEN];       /* Ed25519 secret (seed || public) */
    uint8_t box_pk[VG_BOX_PK_LEN];         /* X25519 public */
    uint8_t box_sk[VG_BOX_SK_LEN];         /* X25519 secret */
    uint8_t curve_pk[VG_CURVE_KEY_LEN];    /* CurveZMQ public */
    uint8_t curve_sk[VG_CURVE_KEY_LEN];    /* CurveZMQ secret */
    char curve_pk_z85[VG_Z85_KEY_LEN + 1]; /* Z85 of curve_pk */
    char curve_sk_z85[VG_Z85_KEY_LEN + 1]; /* Z85 of curve_sk */
};

static vg_keyset *
s_alloc(void)
{
    if (sodium_init() < 0) {
        return NULL;
    }
    vg_keyset *ks = sodium_malloc(sizeof *ks);
    if (ks != NULL) {
        sodium_memzero(ks, sizeof *ks);
    }
    return ks;
}

static void
s_set_curve(vg_keyset *ks)
{
    crypto_scalarmult_base(ks->curve_pk, ks->curve_sk);
    vg_z85_encode_key(ks->curve_pk_z85, ks->curve_pk);
    vg_z85_encode_key(ks->curve_sk_z85, ks->curve_sk);
    ks->kinds |= VG_KEY_CURVE;
}

vg_err
vg_keyset_generate(vg_keyset **out, unsigned kinds)
{
    if (kinds == 0 || (kinds & ~(unsigned)VG_KEY_ALL) != 0) {
        return VG_ERR_INVALID;
    }
    vg_keyset *ks = s_alloc();
    if (ks == NULL) {
        return VG_ERR_NOMEM;
    }
    if (kinds & VG_KEY_SIGN) {
        crypto_sign_keypair(ks->sign_pk, ks->sign_sk);
        ks->kinds |= VG_KEY_SIGN;
    }
    if (kinds & VG_KEY_BOX) {
        crypto_box_keypair(ks->box_pk, ks->box_sk);
        ks->kinds |= VG_KEY_BOX;
    }
    if (kinds & VG_KEY_CURVE) {
        randombytes_buf(ks->curve_sk, sizeof ks->curve_sk);
        s_set_curve(ks);
    }
    *out = ks;
    return VG_OK;
}

void
vg_keyset_destroy(vg_keyset **ks_p)
{
    if (ks_p != NULL && *ks_p != NULL) {
        sodium_free(*ks_p); /* wipes before unmapping */
        *ks_p = NULL;
    }
}

/* Parses one "name value" line into ks. */
static vg_err
s_parse_line(vg_keyset *ks, const char *path, int lineno, char *line, vg_reason *why)
{
    char *sp = strchr(line, ' ');
    if (sp == NULL) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s:%d: expected '<name> <value>'; the file may be truncated", path,
                             lineno);
    }
    *sp = '\0';
    const char *name = line;
    const char *value = sp + 1;
    unsigned kind;
    vg_err rc;
    if (strcmp(name, "sign-secret") == 0) {
        kind = VG_KEY_SIGN;
        rc = vg_hex_decode(ks->sign_sk, sizeof ks->sign_sk, value);
    } else if (strcmp(name, "box-secret") == 0) {
        kind = VG_KEY_BOX;
        rc = vg_hex_decode(ks->box_sk, sizeof ks->box_sk, value);
    } else if (strcmp(name, "curve-secret") == 0) {
        kind = VG_KEY_CURVE;
        rc = vg_z85_decode_key(ks->curve_sk, value);
    } else {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s:%d: unknown key '%s' (expected sign-secret, box-secret or "
                             "curve-secret)",
                             path, lineno, name);
    }
    if (ks->kinds & kind) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s:%d: '%s' appears twice", path, lineno,
                             name);
    }
    if (rc != VG_OK) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s:%d: value of '%s' must be %s; the file may be truncated or "
                             "damaged",
                             path, lineno, name,
                             kind == VG_KEY_SIGN  ? "128 hexadecimal characters"
                             : kind == VG_KEY_BOX ? "64 hexadecimal characters"
                                                  : "40 Z85 characters");
    }
    ks->kinds |= kind;
    return VG_OK;
}

/* Derives public keys and checks the Ed25519 secret key's embedded public half. */
static vg_err
s_derive(vg_keyset *ks, const char *path, vg_reason *why)
{
    if (ks->kinds & VG_KEY_SIGN) {
        uint8_t pk[VG_SIGN_PK_LEN];
        uint8_t sk[VG_SIGN_SK_LEN];
        crypto_sign_seed_keypair(pk, sk, ks->sign_sk);
        int same = sodium_memcmp(sk, ks->sign_sk, sizeof sk);
        sodium_memzero(sk, sizeof sk);
        if (same != 0) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "%s: sign-secret is inconsistent (its public half does not "
                                 "match its seed); the file is damaged",
                                 path);
        }
        memcpy(ks->sign_pk, pk, sizeof pk);
    }
    if (ks->kinds & VG_KEY_BOX) {
        crypto_scalarmult_base(ks->box_pk, ks->box_sk);
    }
    if (ks->kinds & VG_KEY_CURVE) {
        s_set_curve(ks);
    }
    return VG_OK;
}

static vg_err
s_parse(vg_keyset *ks, const char *path, char *text, vg_reason *why)
{
    int lineno = 0;
    bool header = false;
    bool ended = false;
    char *save = NULL;
    size_t len = strlen(text);
    if (len == 0 || text[len - 1] != '\n') {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s: does not end with a newline; the file is truncated", path);
    }
    for (char *line = text; *line != '\0'; line = save) {
        char *nl = strchr(line, '\n');
        *nl = '\0';
        save = nl + 1;
        lineno++;
        if (line[0] == '\0' || line[0] == '#') {
            continue;
        }
        if (ended) {
            return vg_reason_set(why, VG_ERR_MALFORMED, "%s:%d: text after '%s'", path, lineno,
                                 S_END);
        }
        if (header && strcmp(line, S_END) == 0) {
            ended = true;
            continue;
        }
        if (!header) {
            if (strcmp(line, S_HEADER) != 0) {
                return vg_reason_set(why, VG_ERR_MALFORMED,
                                     "%s:%d: not a vigil secret key file (expected '%s')", path,
                                     lineno, S_HEADER);
            }
            header = true;
            continue;
        }
        vg_err rc = s_parse_line(ks, path, lineno, line, why);
        if (rc != VG_OK) {
            return rc;
        }
    }
    if (!header || !ended || ks->kinds == 0) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s: %s; the file is truncated or damaged: restore it from backup",
                             path,
                             !header  ? "no header"
                             : !ended ? "no end line"
                                      : "no keys");
    }
    return s_derive(ks, path, why);
}

vg_err
vg_keyset_load(vg_keyset **out, const char *path, vg_reason *why)
{
    uint8_t *text = NULL;
    size_t len = 0;
    vg_err rc = vg_file_read_private(&text, &len, path, VG_KEY_FILE_MAX, why);
    if (rc != VG_OK) {
        return rc;
    }
    vg_keyset *ks = NULL;
    if (memchr(text, '\0', len) != NULL) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED, "%s: contains NUL bytes; not a key file", path);
        goto out;
    }
    ks = s_alloc();
    if (ks == NULL) {
        rc = VG_ERR_NOMEM;
        goto out;
    }
    rc = s_parse(ks, path, (char *)text, why);
out:
    sodium_memzero(text, len);
    free(text);
    if (rc != VG_OK) {
        vg_keyset_destroy(&ks);
        return rc;
    }
    *out = ks;
    return VG_OK;
}

vg_err
vg_keyset_save(const vg_keyset *ks, const char *path, vg_reason *why)
{
    enum { S_TEXT_MAX = 512 };
    char *text = sodium_malloc(S_TEXT_MAX);
    if (text == NULL) {
        return VG_ERR_NOMEM;
    }
    char hex[2 * VG_SIGN_SK_LEN + 1];
    int n = snprintf(text, S_TEXT_MAX, "%s\n# Secret keys: keep private (mode 0600).\n", S_HEADER);
    if (ks->kinds & VG_KEY_SIGN) {
        vg_hex_encode(hex, sizeof hex, ks->sign_sk, sizeof ks->sign_sk);
        n += snprintf(text + n, S_TEXT_MAX - (size_t)n, "sign-secret %s\n", hex);
    }
    if (ks->kinds & VG_KEY_BOX) {
        vg_hex_encode(hex, sizeof hex, ks->box_sk, sizeof ks->box_sk);
        n += snprintf(text + n, S_TEXT_MAX - (size_t)n, "box-secret %s\n", hex);
    }
    if (ks->kinds & VG_KEY_CURVE) {
        n += snprintf(text + n, S_TEXT_MAX - (size_t)n, "curve-secret %s\n", ks->curve_sk_z85);
    }
    sodium_memzero(hex, sizeof hex);
    n += snprintf(text + n, S_TEXT_MAX - (size_t)n, "%s\n", S_END);
    vg_err rc = vg_file_write_atomic(path, text, (size_t)n, 0600, why);
    sodium_free(text);
    return rc;
}

unsigned
vg_keyset_kinds(const vg_keyset *ks)
{
    return ks->kinds;
}

#define S_ACCESSOR(fn, kind, field)                                                                \
    const uint8_t *fn(const vg_keyset *ks)                                                         \
    {                                                                                              \
        return (ks->kinds & (kind)) ? ks->field : NULL;                                            \
    }
S_ACCESSOR(vg_keyset_sign_pk, VG_KEY_SIGN, sign_pk)
S_ACCESSOR(vg_keyset_sign_sk, VG_KEY_SIGN, sign_sk)
S_ACCESSOR(vg_keyset_box_pk, VG_KEY_BOX, box_pk)
S_ACCESSOR(vg_keyset_box_sk, VG_KEY_BOX, box_sk)
S_ACCESSOR(vg_keyset_curve_pk, VG_KEY_CURVE, curve_pk)
S_ACCESSOR(vg_keyset_curve_sk, VG_KEY_CURVE, curve_sk)

const char *
vg_keyset_curve_pk_z85(const vg_keyset *ks)
{
    return (ks->kinds & VG_KEY_CURVE) ? ks->curve_pk_z85 : NULL;
}

const char *
vg_keyset_curve_sk_z85(const vg_keyset *ks)
{
    return (ks->kinds & VG_KEY_CURVE) ? ks->curve_sk_z85 : NULL;
}

void
vg_z85_encode_key(char *out, const uint8_t key[VG_CURVE_KEY_LEN])
{
    zmq_z85_encode(out, key, VG_CURVE_KEY_LEN);
}

vg_err
vg_z85_decode_key(uint8_t out[VG_CURVE_KEY_LEN], const char *z85)
{
    if (z85 == NULL || strlen(z85) != VG_Z85_KEY_LEN) {
        return VG_ERR_MALFORMED;
    }
    /* zmq_z85_decode accepts any byte; check the alphabet first. */
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   ".-:+=^!/*?&<>()[]{}@%$#";
    for (size_t i = 0; i < VG_Z85_KEY_LEN; i++) {
        if (strchr(alphabet, z85[i]) == NULL) {
            return VG_ERR_MALFORMED;
        }
    }
    if (zmq_z85_decode(out, z85) == NULL) {
        return VG_ERR_MALFORMED;
    }
    return VG_OK;
}

/* Ed25519 over (domain || msg): a copy keeps the API simple; the messages
 * signed here are bounded (envelopes < 1 MiB). */
static uint8_t *
s_domain_concat(const char *domain, const uint8_t *msg, size_t len, size_t *out_len)
{
    size_t dlen = strlen(domain);
    uint8_t *buf = malloc(dlen + len + 1);
    if (buf == NULL) {
        return NULL;
    }
    memcpy(buf, domain, dlen);
    if (len > 0) {
        memcpy(buf + dlen, msg, len);
    }
    *out_len = dlen + len;
    return buf;
}

vg_err
vg_sign(uint8_t sig[VG_SIGNATURE_LEN], const vg_keyset *ks, const char *domain, const uint8_t *msg,
        size_t len)
{
    if ((ks->kinds & VG_KEY_SIGN) == 0) {
        return VG_ERR_INVALID;
    }
    size_t blen = 0;
    uint8_t *buf = s_domain_concat(domain, msg, len, &blen);
    if (buf == NULL) {
        return VG_ERR_NOMEM;
    }
    int r = crypto_sign_detached(sig, NULL, buf, blen, ks->sign_sk);
    free(buf);
    return r == 0 ? VG_OK : VG_ERR_CRYPTO;
}

vg_err
vg_verify(const uint8_t sig[VG_SIGNATURE_LEN], const uint8_t pk[VG_SIGN_PK_LEN], const char *domain,
          const uint8_t *msg, size_t len)
{
    size_t blen = 0;
    uint8_t *buf = s_domain_concat(domain, msg, len, &blen);
    if (buf == NULL) {
        return VG_ERR_NOMEM;
    }
    int r = crypto_sign_verify_detached(sig, buf, blen, pk);
    free(buf);
    return r == 0 ? VG_OK : VG_ERR_BAD_SIGNATURE;
}
