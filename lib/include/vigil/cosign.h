/*
 * vigil/cosign.h — witness cosignatures of audit checkpoints, in the C2SP
 * tlog-cosignature form (https://c2sp.org/tlog-cosignature, cosignature/v1,
 * Ed25519).
 *
 * An agency that verified a checkpoint's consistency with the ones it holds
 * signs, with its own Ed25519 signing key (the network document's
 * sign_key), the message
 *
 *     cosignature/v1\n
 *     time <T>\n
 *     <the checkpoint body: origin, size and root lines, each ending in \n>
 *
 * where T is the POSIX time in seconds (decimal, no leading zeroes). The
 * cosignature is one signed-note signature line:
 *
 *     — <name> <base64(key id || T as 8 bytes big-endian || signature)>
 *
 * with key id = the first four bytes of SHA-256(name || 0x0A || 0x04 ||
 * public key). vigil's witness name is the agency id ("police"): unique in
 * the network document, which binds it to the key; the origin line of the
 * body binds the network.
 *
 * Never does: decide whether a checkpoint deserves a cosignature (that is
 * the agent's consistency check) or which key an agency has (the caller
 * takes it from the network document). Thread rules: none (no state).
 */
#ifndef VIGIL_LIB_COSIGN_H
#define VIGIL_LIB_COSIGN_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"
#include "vigil/keys.h"
#include "vigil/netdoc.h"

#define VG_COSIGN_NAME_MAX 63   /* witness names vigil accepts (agency ids) */
#define VG_COSIGN_LINE_MAX 192  /* a cosignature line, with its NUL */
#define VG_COSIGN_BODY_MAX 1024 /* a checkpoint body (origin, size, root) */

/* The cosignature/v1 key id of an Ed25519 key: the first four bytes,
 * big-endian, of SHA-256(name || 0x0A || 0x04 || pk). */
uint32_t vg_cosign_key_id(const char *name, const uint8_t pk[VG_SIGN_PK_LEN]);

/* The checkpoint body of a signed note: the length of its text up to and
 * including the newline before the blank line. VG_ERR_MALFORMED when the
 * note has no blank line or its text is over VG_COSIGN_BODY_MAX. Checks
 * nothing else: give it a note that vg_checkpoint_verify accepted. */
vg_err vg_cosign_body(size_t *body_len, const char *note, size_t note_len) VG_MUST_USE;

/* Signs body (a checkpoint body, from vg_cosign_body) at time_s under
 * name with ks's signing key; out gets the line without a newline,
 * NUL-terminated. VG_ERR_INVALID for a name that is not 1..63 printable
 * ASCII characters without space or '+', an empty body or one not ending
 * in a newline, a keyset without a signing key, or out_len <
 * VG_COSIGN_LINE_MAX. */
vg_err vg_cosign_sign(char *out, size_t out_len, const char *body, size_t body_len,
                      const char *name, uint64_t time_s, const vg_keyset *ks,
                      vg_reason *why) VG_MUST_USE;

/* The name a cosignature line claims (hostile bytes): copied into out
 * (out_len > VG_COSIGN_NAME_MAX). VG_ERR_MALFORMED when the line is not
 * "— <name> <base64>" with a valid name. */
vg_err vg_cosign_name(char *out, size_t out_len, const char *line, size_t len,
                      vg_reason *why) VG_MUST_USE;

/* Verifies a cosignature line (hostile bytes, no newline) over body by
 * (name, pk), in this order:
 *   VG_ERR_MALFORMED       not "— <name> <base64 of 76 bytes>" (strict
 *                          standard base64), or over VG_COSIGN_LINE_MAX
 *   VG_ERR_SENDER_MISMATCH the line's name is not `name`
 *   VG_ERR_UNKNOWN_SENDER  its key id is not (name, pk)'s: another key
 *   VG_ERR_BAD_SIGNATURE   the signature does not verify over the message
 *                          of its time and body (forged, or another body)
 * On VG_OK *time_s (may be NULL) is the time it carries. */
vg_err vg_cosign_verify(uint64_t *time_s, const char *line, size_t len, const char *body,
                        size_t body_len, const char *name, const uint8_t pk[VG_SIGN_PK_LEN],
                        vg_reason *why) VG_MUST_USE;

/* How vg_cosign_verify_netdoc judges the key's trust. */
typedef enum vg_cosign_trust {
    VG_COSIGN_NOW = 1,       /* a cosignature arriving now: vg_key_match_check_time at the
                                time it carries (not revoked, not compromised, within a
                                previous key's overlap) */
    VG_COSIGN_AS_SIGNED = 2, /* a stored one: only a key compromised at or before the time
                                it carries is refused; a revocation or rotation since leaves
                                it the evidence it was */
} vg_cosign_trust;

/* Verifies a cosignature line (hostile bytes) over body as the network
 * document knows its witness: the name must be an agency of doc (copied
 * into name, which has room for VG_COSIGN_NAME_MAX + 1), signed by that
 * agency's current sign key or a previous one, trusted as `trust` says.
 * VG_ERR_UNKNOWN_SENDER for a name that is no agency, or a key id that none
 * of its keys has; otherwise the errors of vg_cosign_verify and of the
 * trust check (VG_ERR_REVOKED, VG_ERR_KEY_COMPROMISED). */
vg_err vg_cosign_verify_netdoc(char *name, uint64_t *time_s, const char *line, size_t len,
                               const char *body, size_t body_len, const vg_netdoc *doc,
                               vg_cosign_trust trust, vg_reason *why) VG_MUST_USE;

#endif
