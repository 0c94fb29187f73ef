/*
 * vigil/err.h — the one error vocabulary of vigil.
 *
 * Every function that can fail returns a vg_err. Values are stable: they are
 * stored, logged and mapped onto the wire's RejectCode, so they are never
 * renumbered; new codes are appended. vg_strerror() never returns NULL.
 *
 * A function that rejects input also fills an optional vg_reason with what
 * was wrong and what to do ("missing mandatory recipient: licensing").
 * A vg_reason is plain memory the caller owns (usually on the stack); it holds
 * no secrets and no alert content. Thread rules: none (no shared state).
 */
#ifndef VIGIL_LIB_ERR_H
#define VIGIL_LIB_ERR_H

#include <stddef.h>

#define VG_MUST_USE __attribute__((warn_unused_result))
#define VG_PRINTF(f, a) __attribute__((format(printf, f, a)))

typedef enum vg_err {
    VG_OK = 0,
    VG_ERR_NOMEM = 1,               /* out of memory */
    VG_ERR_INVALID = 2,             /* caller passed an invalid argument */
    VG_ERR_IO = 3,                  /* a file or socket operation failed */
    VG_ERR_NOT_FOUND = 4,           /* a file, agency or record does not exist */
    VG_ERR_MALFORMED = 5,           /* bytes or text that do not parse */
    VG_ERR_TOO_LARGE = 6,           /* over a size limit */
    VG_ERR_BAD_SIGNATURE = 7,       /* Ed25519 signature does not verify */
    VG_ERR_UNKNOWN_SENDER = 8,      /* signer not in the network document */
    VG_ERR_SENDER_MISMATCH = 9,     /* signer differs from the claimed sender */
    VG_ERR_REVOKED = 10,            /* agency key revoked in the network document */
    VG_ERR_NOT_RECIPIENT = 11,      /* this agency is not a recipient */
    VG_ERR_UNSEAL = 12,             /* sealed content key does not open with our key */
    VG_ERR_COMMITMENT = 13,         /* content key does not match the sender's commitment */
    VG_ERR_DECRYPT = 14,            /* AEAD authentication of the ciphertext failed */
    VG_ERR_KEY_PERMS = 15,          /* secret key file readable by group or others */
    VG_ERR_STALE_VERSION = 16,      /* network document older than the one held */
    VG_ERR_MISSING_RECIPIENTS = 17, /* policy requires agencies not addressed */
    VG_ERR_REPLAY = 18,             /* sequence number already used */
    VG_ERR_CLOCK_SKEW = 19,         /* created time outside the allowed window */
    VG_ERR_CONFLICT = 20,           /* known alert id with different bytes */
    VG_ERR_STORAGE_FULL = 21,       /* store has no space for new publishes */
    VG_ERR_CONFIG = 22,             /* invalid configuration file */
    VG_ERR_UNKNOWN_ALERT = 23,      /* alert id not known */
    VG_ERR_TIMEOUT = 24,            /* peer did not answer in time */
    VG_ERR_POLICY = 25,             /* network document is internally inconsistent */
    VG_ERR_CRYPTO = 26,             /* libsodium failed (should not happen) */
    VG_ERR_INTERNAL = 27,           /* a bug or an unexpected state */
    VG_ERR_DUPLICATE = 28,          /* already done; harmless */
    VG_ERR_RATE_LIMITED = 29,       /* too many requests or connections: slow down */
    VG_ERR_QUOTA_EXCEEDED = 30,     /* an agency's storage quota is used up */
    VG_ERR_KEY_COMPROMISED = 31,    /* signed by a key at or after its compromise time */
    VG_ERR_NOT_LEADER = 32,         /* a standby broker: ask the leader (docs/ha.md) */
} vg_err;

#define VG_REASON_MAX 512

typedef struct vg_reason {
    char text[VG_REASON_MAX]; /* NUL-terminated; "" when nothing was said */
} vg_reason;

/* A short fixed description, never NULL ("unknown error" for unknown codes). */
const char *vg_strerror(vg_err err);

/* The stable snake_case code used on the wire and in logs ("bad_signature"). */
const char *vg_err_code(vg_err err);

/* Fills why (if not NULL) with a formatted message and returns err, so a
 * rejection reads: return vg_reason_set(why, VG_ERR_MALFORMED, "...", ...). */
vg_err vg_reason_set(vg_reason *why, vg_err err, const char *fmt, ...) VG_PRINTF(3, 4);

/* Clears why (if not NULL). */
void vg_reason_clear(vg_reason *why);

#endif
