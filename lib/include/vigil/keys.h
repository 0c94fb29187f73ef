/*
 * vigil/keys.h — an identity's key pairs, on disk and in memory.
 *
 * A vg_keyset holds up to three key pairs: Ed25519 to sign (VG_KEY_SIGN),
 * X25519 to receive sealed content keys (VG_KEY_BOX), and a CurveZMQ pair for
 * the transport (VG_KEY_CURVE). An agency has all three; the broker has SIGN
 * and CURVE; the network administrator has SIGN.
 *
 * Secrets live in sodium_malloc'ed memory (guarded, locked, wiped on free).
 * Secret key files are text, written 0600 and refused when the group or
 * others can read them:
 *
 *     vigil-secret-keys 1
 *     sign-secret <128 hex: Ed25519 secret key (seed || public)>
 *     box-secret <64 hex>
 *     curve-secret <40 Z85 characters>
 *     end
 *
 * The closing "end" line makes a file cut short at a line boundary
 * detectably truncated.
 *
 * An agency that rotated its keys holds several key sets (a vg_keyring): the
 * old ones stay, so that alerts sealed to an old box key stay readable. Its
 * file is the same text with header "vigil-secret-keys 2", one "set" line
 * before each key set (oldest first) and one "end" line after the last:
 *
 *     vigil-secret-keys 2
 *     set
 *     sign-secret <128 hex>
 *     box-secret <64 hex>
 *     curve-secret <40 Z85>
 *     set
 *     ...
 *     end
 *
 * It is written 0600 and refused when group or others can read it, like a
 * single key set; a keyring of one set is written in the single-set form, so
 * tools that read one key set keep working until the first rotation.
 * Public keys are derived on load. Never log or print a secret key; public
 * keys are shown as hex (sign, box) or Z85 (curve). Thread rules: a keyset is
 * read-only after load and may be shared between threads.
 */
#ifndef VIGIL_LIB_KEYS_H
#define VIGIL_LIB_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

#define VG_SIGN_PK_LEN 32
#define VG_SIGN_SK_LEN 64
#define VG_SIGNATURE_LEN 64
#define VG_BOX_PK_LEN 32
#define VG_BOX_SK_LEN 32
#define VG_CURVE_KEY_LEN 32
#define VG_Z85_KEY_LEN 40 /* Z85 text of a 32-byte key, without NUL */
#define VG_KEY_FILE_MAX 4096

enum {
    VG_KEY_SIGN = 1u << 0,
    VG_KEY_BOX = 1u << 1,
    VG_KEY_CURVE = 1u << 2,
    VG_KEY_ALL = VG_KEY_SIGN | VG_KEY_BOX | VG_KEY_CURVE,
};

typedef struct vg_keyset vg_keyset;

/* Generates fresh pairs of the kinds in `kinds` (VG_KEY_* bits).
 * Free with vg_keyset_destroy. */
vg_err vg_keyset_generate(vg_keyset **out, unsigned kinds) VG_MUST_USE;

/* Loads a secret key file. Refuses (VG_ERR_KEY_PERMS) a file that group or
 * others may read; VG_ERR_MALFORMED for truncated or malformed content, with
 * file, line and what was expected in why. Free with vg_keyset_destroy. */
vg_err vg_keyset_load(vg_keyset **out, const char *path, vg_reason *why) VG_MUST_USE;

/* Writes the secret key file atomically with mode 0600. */
vg_err vg_keyset_save(const vg_keyset *ks, const char *path, vg_reason *why) VG_MUST_USE;

/* Wipes and frees; NULL-safe; sets *ks_p = NULL. */
void vg_keyset_destroy(vg_keyset **ks_p);

/* Makes dst hold exactly src's keys, in place: whoever borrows dst signs
 * with src's keys from now on (a key rotation in a running process). */
void vg_keyset_assign(vg_keyset *dst, const vg_keyset *src);

/* Which VG_KEY_* kinds the set holds. */
unsigned vg_keyset_kinds(const vg_keyset *ks);

/* Borrowed pointers into the keyset, or NULL when the kind is absent. */
const uint8_t *vg_keyset_sign_pk(const vg_keyset *ks);  /* VG_SIGN_PK_LEN */
const uint8_t *vg_keyset_sign_sk(const vg_keyset *ks);  /* VG_SIGN_SK_LEN */
const uint8_t *vg_keyset_box_pk(const vg_keyset *ks);   /* VG_BOX_PK_LEN */
const uint8_t *vg_keyset_box_sk(const vg_keyset *ks);   /* VG_BOX_SK_LEN */
const uint8_t *vg_keyset_curve_pk(const vg_keyset *ks); /* VG_CURVE_KEY_LEN */
const uint8_t *vg_keyset_curve_sk(const vg_keyset *ks); /* VG_CURVE_KEY_LEN */

/* Z85 text of the CurveZMQ keys (NUL-terminated, VG_Z85_KEY_LEN chars), as
 * ZMQ_CURVE_PUBLICKEY / ZMQ_CURVE_SECRETKEY take them. NULL when absent. */
const char *vg_keyset_curve_pk_z85(const vg_keyset *ks);
const char *vg_keyset_curve_sk_z85(const vg_keyset *ks);

/* Z85 encode a 32-byte key into out (>= VG_Z85_KEY_LEN + 1 bytes). */
void vg_z85_encode_key(char *out, const uint8_t key[VG_CURVE_KEY_LEN]);

/* Z85 decode exactly VG_Z85_KEY_LEN characters. VG_ERR_MALFORMED otherwise. */
vg_err vg_z85_decode_key(uint8_t out[VG_CURVE_KEY_LEN], const char *z85) VG_MUST_USE;

/* ---- keyrings: every key set an identity holds ------------------------------ */

#define VG_KEYRING_MAX 32                          /* key sets one file holds */
#define VG_KEYRING_FILE_MAX (VG_KEYRING_MAX * 512) /* largest keyring file */

typedef struct vg_keyring vg_keyring;

/* An empty keyring. Free with vg_keyring_destroy. */
vg_err vg_keyring_new(vg_keyring **out) VG_MUST_USE;

/* Loads a secret key file holding one key set (the form vg_keyset_load
 * reads) or several (header "vigil-secret-keys 2"). The same permission and
 * format checks as vg_keyset_load (VG_ERR_KEY_PERMS, VG_ERR_MALFORMED naming
 * file and line, VG_ERR_NOT_FOUND). The active set is the newest. Free with
 * vg_keyring_destroy. */
vg_err vg_keyring_load(vg_keyring **out, const char *path, vg_reason *why) VG_MUST_USE;

/* Writes the keyring atomically with mode 0600 (one set: the single-set
 * form). VG_ERR_INVALID for an empty keyring. */
vg_err vg_keyring_save(const vg_keyring *ring, const char *path, vg_reason *why) VG_MUST_USE;

/* Wipes and frees every set; NULL-safe; sets *ring_p = NULL. */
void vg_keyring_destroy(vg_keyring **ring_p);

/* Appends a key set as the newest and makes it active. Takes ownership of
 * *ks_p (on success and failure alike). VG_ERR_TOO_LARGE when the ring
 * holds VG_KEYRING_MAX sets already. */
vg_err vg_keyring_add(vg_keyring *ring, vg_keyset **ks_p) VG_MUST_USE;

size_t vg_keyring_n(const vg_keyring *ring);
/* Key set i (< n), oldest first (borrowed). */
const vg_keyset *vg_keyring_at(const vg_keyring *ring, size_t i);

/* The set in use (signing, and the first box key tried when opening):
 * the newest unless vg_keyring_set_active chose another. NULL when empty. */
const vg_keyset *vg_keyring_active(const vg_keyring *ring);
size_t vg_keyring_active_index(const vg_keyring *ring);
/* VG_ERR_INVALID when i >= n. */
vg_err vg_keyring_set_active(vg_keyring *ring, size_t i) VG_MUST_USE;

/* The index of the set holding public key pk of kind (VG_KEY_SIGN,
 * VG_KEY_BOX or VG_KEY_CURVE), or -1. */
int vg_keyring_find(const vg_keyring *ring, unsigned kind, const uint8_t pk[32]);

/* Ed25519 over (domain || msg). domain is a NUL-terminated context string
 * (VG_DOMAIN_* in vigil/wire.h); it keeps one key's signatures over different
 * kinds of record apart. */
vg_err vg_sign(uint8_t sig[VG_SIGNATURE_LEN], const vg_keyset *ks, const char *domain,
               const uint8_t *msg, size_t len) VG_MUST_USE;

/* VG_OK or VG_ERR_BAD_SIGNATURE. */
vg_err vg_verify(const uint8_t sig[VG_SIGNATURE_LEN], const uint8_t pk[VG_SIGN_PK_LEN],
                 const char *domain, const uint8_t *msg, size_t len) VG_MUST_USE;

#endif
