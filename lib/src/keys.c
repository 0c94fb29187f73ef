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
vg_keyset_assign(vg_keyset *dst, const vg_keyset *src)
{
    if (dst != src) {
        memcpy(dst, src, sizeof *dst);
    }
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

struct vg_keyring {
    vg_keyset *sets[VG_KEYRING_MAX]; /* oldest first, each owned */
    size_t n;                        /* how many */
    size_t active;                   /* the one in use (< n when n > 0) */
};

#define S_HEADER_RING "vigil-secret-keys 2"
#define S_SET "set"

/* Parsing state of one key file (either form). */
typedef struct s_parser {
    const char *path; /* for messages */
    int lineno;       /* current line */
    int format;       /* 0 before the header, else 1 or 2 */
    bool ended;       /* saw "end" */
    vg_keyset *cur;   /* the set being read, owned */
    int cur_line;     /* where it started */
    vg_keyring *ring; /* where finished sets go */
} s_parser;

/* Finishes the set being read: it must hold a key; its public keys are
 * derived and it joins the ring. */
static vg_err
s_finish_set(s_parser *p, vg_reason *why)
{
    if (p->cur == NULL) {
        return VG_OK;
    }
    vg_err rc = VG_OK;
    if (p->cur->kinds == 0) {
        rc = p->format == 2 ? vg_reason_set(why, VG_ERR_MALFORMED,
                                            "%s:%d: a key set with no keys; the file is damaged",
                                            p->path, p->cur_line)
                            : VG_OK; /* the single form says "no keys" below */
    } else {
        rc = s_derive(p->cur, p->path, why);
    }
    if (rc == VG_OK && p->cur->kinds != 0) {
        return vg_keyring_add(p->ring, &p->cur);
    }
    vg_keyset_destroy(&p->cur);
    return rc;
}

static vg_err
s_parse_one_line(s_parser *p, char *line, vg_reason *why)
{
    if (p->ended) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s:%d: text after '%s'", p->path, p->lineno,
                             S_END);
    }
    if (p->format == 0) {
        p->format = strcmp(line, S_HEADER) == 0 ? 1 : strcmp(line, S_HEADER_RING) == 0 ? 2 : 0;
        if (p->format == 0) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "%s:%d: not a vigil secret key file (expected '%s')", p->path,
                                 p->lineno, S_HEADER);
        }
        if (p->format == 1 && (p->cur = s_alloc()) == NULL) {
            return VG_ERR_NOMEM;
        }
        return VG_OK;
    }
    if (strcmp(line, S_END) == 0) {
        p->ended = true;
        return s_finish_set(p, why);
    }
    if (p->format == 2 && strcmp(line, S_SET) == 0) {
        vg_err rc = s_finish_set(p, why);
        if (rc == VG_OK && (p->cur = s_alloc()) == NULL) {
            rc = VG_ERR_NOMEM;
        }
        p->cur_line = p->lineno;
        return rc;
    }
    if (p->cur == NULL) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s:%d: expected '%s' before the keys", p->path,
                             p->lineno, S_SET);
    }
    return s_parse_line(p->cur, p->path, p->lineno, line, why);
}

/* Parses a key file of either form into ring; *format_out says which. */
static vg_err
s_parse(vg_keyring *ring, int *format_out, const char *path, char *text, vg_reason *why)
{
    s_parser p = {.path = path, .ring = ring};
    char *save = NULL;
    size_t len = strlen(text);
    if (len == 0 || text[len - 1] != '\n') {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s: does not end with a newline; the file is truncated", path);
    }
    vg_err rc = VG_OK;
    for (char *line = text; *line != '\0' && rc == VG_OK; line = save) {
        char *nl = strchr(line, '\n');
        *nl = '\0';
        save = nl + 1;
        p.lineno++;
        if (line[0] != '\0' && line[0] != '#') {
            rc = s_parse_one_line(&p, line, why);
        }
    }
    vg_keyset_destroy(&p.cur);
    if (rc == VG_OK && (p.format == 0 || !p.ended || ring->n == 0)) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED,
                           "%s: %s; the file is truncated or damaged: restore it from backup", path,
                           p.format == 0 ? "no header"
                           : !p.ended    ? "no end line"
                                         : "no keys");
    }
    *format_out = p.format;
    return rc;
}

/* Reads a private key file into a new keyring. */
static vg_err
s_load(vg_keyring **out, int *format, const char *path, size_t max, vg_reason *why)
{
    uint8_t *text = NULL;
    size_t len = 0;
    vg_err rc = vg_file_read_private(&text, &len, path, max, why);
    if (rc != VG_OK) {
        return rc;
    }
    vg_keyring *ring = NULL;
    if (memchr(text, '\0', len) != NULL) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED, "%s: contains NUL bytes; not a key file", path);
        goto out;
    }
    rc = vg_keyring_new(&ring);
    if (rc == VG_OK) {
        rc = s_parse(ring, format, path, (char *)text, why);
    }
out:
    sodium_memzero(text, len);
    free(text);
    if (rc != VG_OK) {
        vg_keyring_destroy(&ring);
        return rc;
    }
    *out = ring;
    return VG_OK;
}

vg_err
vg_keyset_load(vg_keyset **out, const char *path, vg_reason *why)
{
    vg_keyring *ring = NULL;
    int format = 0;
    vg_err rc = s_load(&ring, &format, path, VG_KEY_FILE_MAX, why);
    if (rc == VG_OK && format != 1) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED,
                           "%s holds %zu key sets (an agency that rotated its keys): it is read "
                           "as a keyring, not as one key set",
                           path, ring->n);
    }
    if (rc == VG_OK) {
        *out = ring->sets[0];
        ring->sets[0] = NULL;
        ring->n = 0;
    }
    vg_keyring_destroy(&ring);
    return rc;
}

/* Writes one set's key lines into text (S_TEXT_MAX-sized). */
static int
s_format_set(char *text, size_t cap, const vg_keyset *ks)
{
    char hex[2 * VG_SIGN_SK_LEN + 1];
    int n = 0;
    if (ks->kinds & VG_KEY_SIGN) {
        vg_hex_encode(hex, sizeof hex, ks->sign_sk, sizeof ks->sign_sk);
        n += snprintf(text + n, cap - (size_t)n, "sign-secret %s\n", hex);
    }
    if (ks->kinds & VG_KEY_BOX) {
        vg_hex_encode(hex, sizeof hex, ks->box_sk, sizeof ks->box_sk);
        n += snprintf(text + n, cap - (size_t)n, "box-secret %s\n", hex);
    }
    if (ks->kinds & VG_KEY_CURVE) {
        n += snprintf(text + n, cap - (size_t)n, "curve-secret %s\n", ks->curve_sk_z85);
    }
    sodium_memzero(hex, sizeof hex);
    return n;
}

#define S_SET_TEXT_MAX 400 /* one set's lines: 12 + 128 + 11 + 64 + 13 + 40 + 3 newlines */

/* Writes the sets of ring (or the one set ks) in the form their number calls for. */
static vg_err
s_save(const vg_keyset *const *sets, size_t n, const char *path, vg_reason *why)
{
    size_t cap = 128 + n * (S_SET_TEXT_MAX + 8);
    char *text = sodium_malloc(cap);
    if (text == NULL) {
        return VG_ERR_NOMEM;
    }
    int len = snprintf(text, cap, "%s\n# Secret keys: keep private (mode 0600).%s\n",
                       n == 1 ? S_HEADER : S_HEADER_RING, n == 1 ? "" : " Key sets, oldest first.");
    for (size_t i = 0; i < n; i++) {
        if (n > 1) {
            len += snprintf(text + len, cap - (size_t)len, "%s\n", S_SET);
        }
        len += s_format_set(text + len, cap - (size_t)len, sets[i]);
    }
    len += snprintf(text + len, cap - (size_t)len, "%s\n", S_END);
    vg_err rc = vg_file_write_atomic(path, text, (size_t)len, 0600, why);
    sodium_free(text);
    return rc;
}

vg_err
vg_keyset_save(const vg_keyset *ks, const char *path, vg_reason *why)
{
    return s_save(&ks, 1, path, why);
}

/* ---- keyrings ------------------------------------------------------------------ */

vg_err
vg_keyring_new(vg_keyring **out)
{
    vg_keyring *ring = calloc(1, sizeof *ring);
    if (ring == NULL) {
        return VG_ERR_NOMEM;
    }
    *out = ring;
    return VG_OK;
}

vg_err
vg_keyring_load(vg_keyring **out, const char *path, vg_reason *why)
{
    int format = 0;
    return s_load(out, &format, path, VG_KEYRING_FILE_MAX, why);
}

vg_err
vg_keyring_save(const vg_keyring *ring, const char *path, vg_reason *why)
{
    if (ring == NULL || ring->n == 0) {
        return vg_reason_set(why, VG_ERR_INVALID, "an empty keyring is not written");
    }
    return s_save((const vg_keyset *const *)ring->sets, ring->n, path, why);
}

void
vg_keyring_destroy(vg_keyring **ring_p)
{
    if (ring_p == NULL || *ring_p == NULL) {
        return;
    }
    for (size_t i = 0; i < (*ring_p)->n; i++) {
        vg_keyset_destroy(&(*ring_p)->sets[i]);
    }
    free(*ring_p);
    *ring_p = NULL;
}

vg_err
vg_keyring_add(vg_keyring *ring, vg_keyset **ks_p)
{
    if (ring->n == VG_KEYRING_MAX) {
        vg_keyset_destroy(ks_p);
        return VG_ERR_TOO_LARGE;
    }
    ring->sets[ring->n] = *ks_p;
    *ks_p = NULL;
    ring->active = ring->n++;
    return VG_OK;
}

size_t
vg_keyring_n(const vg_keyring *ring)
{
    return ring->n;
}

const vg_keyset *
vg_keyring_at(const vg_keyring *ring, size_t i)
{
    return i < ring->n ? ring->sets[i] : NULL;
}

const vg_keyset *
vg_keyring_active(const vg_keyring *ring)
{
    return ring->n > 0 ? ring->sets[ring->active] : NULL;
}

size_t
vg_keyring_active_index(const vg_keyring *ring)
{
    return ring->active;
}

vg_err
vg_keyring_set_active(vg_keyring *ring, size_t i)
{
    if (i >= ring->n) {
        return VG_ERR_INVALID;
    }
    ring->active = i;
    return VG_OK;
}

int
vg_keyring_find(const vg_keyring *ring, unsigned kind, const uint8_t pk[32])
{
    for (size_t i = 0; i < ring->n; i++) {
        const vg_keyset *ks = ring->sets[i];
        const uint8_t *mine = (ks->kinds & kind) == 0 ? NULL
                              : kind == VG_KEY_SIGN   ? ks->sign_pk
                              : kind == VG_KEY_BOX    ? ks->box_pk
                              : kind == VG_KEY_CURVE  ? ks->curve_pk
                                                      : NULL;
        if (mine != NULL && sodium_memcmp(mine, pk, 32) == 0) {
            return (int)i;
        }
    }
    return -1;
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
