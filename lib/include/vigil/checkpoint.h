/*
 * vigil/checkpoint.h — signed audit-log checkpoints: C2SP tlog-checkpoint
 * bodies in C2SP signed notes with Ed25519 signatures.
 *
 * A checkpoint is the text of a signed note:
 *
 *     <origin>\n                 the network name (vigil never writes extension lines)
 *     <tree size>\n              ASCII decimal, no leading zeroes
 *     <base64 root hash>\n       standard base64 of the 32-byte RFC 6962 root
 *     \n
 *     — <key name> <base64(key id || Ed25519 signature over the text above)>\n
 *
 * The key name is the origin; key id = SHA-256(key name || 0x0A || 0x01 ||
 * public key)[:4]. The signature covers the note text exactly as received
 * (no domain prefix: this is the signed-note format, so any C2SP tool can
 * check it). docs/audit.md has the details.
 *
 * Owns: a vg_checkpoint owns copies of the note and its parsed fields. Never
 * does: it does not decide whether a checkpoint is consistent with another
 * (that is vg_merkle_verify_consistency), and it never trusts a note before
 * its signature verified. Thread rules: none (no shared state); a
 * vg_checkpoint is read-only after creation.
 */
#ifndef VIGIL_LIB_CHECKPOINT_H
#define VIGIL_LIB_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"
#include "vigil/keys.h"
#include "vigil/merkle.h"

#define VG_CHECKPOINT_MAX_BYTES 16384   /* largest note accepted */
#define VG_CHECKPOINT_ORIGIN_MAX 255    /* longest origin / key name */
#define VG_CHECKPOINT_SIGNATURES_MAX 16 /* signature lines accepted (the spec's minimum) */
#define VG_CHECKPOINT_KEY_ID_LEN 4
/* "<name>+<8 hex>+<base64 of 33 bytes>" and a NUL. */
#define VG_CHECKPOINT_VKEY_MAX (VG_CHECKPOINT_ORIGIN_MAX + 1 + 8 + 1 + 44 + 1)

typedef struct vg_checkpoint vg_checkpoint;

/* ---- checkpoints ------------------------------------------------------------ */

/* Signs the checkpoint (origin, size, root) with ks's Ed25519 key under the
 * key name `origin`. VG_ERR_INVALID when ks has no signing key, origin is not
 * a valid key name (1..VG_CHECKPOINT_ORIGIN_MAX printable ASCII characters,
 * no space or '+') or size > VG_MERKLE_SIZE_MAX. Free with
 * vg_checkpoint_destroy. */
vg_err vg_checkpoint_sign(vg_checkpoint **out, const char *origin, uint64_t size,
                          const uint8_t root[VG_MERKLE_HASH_LEN], const vg_keyset *ks,
                          vg_reason *why) VG_MUST_USE;

/* Verifies a received note (hostile bytes) and parses it, in that order:
 *   VG_ERR_TOO_LARGE       over VG_CHECKPOINT_MAX_BYTES or too many signatures
 *   VG_ERR_MALFORMED       not a signed note, not UTF-8, control characters,
 *                          or a body that is not exactly origin / size / root
 *                          (bad decimal, leading zeroes, size over
 *                          VG_MERKLE_SIZE_MAX, root not 32 bytes of base64)
 *   VG_ERR_UNKNOWN_SENDER  no signature line from (origin, pk): wrong key
 *   VG_ERR_BAD_SIGNATURE   the line from (origin, pk) does not verify
 *   VG_ERR_SENDER_MISMATCH the note is for another log: signed by pk under
 *                          another name, or its origin line is not `origin`
 * Signature lines from other keys are ignored (witness cosignatures).
 * why says what was wrong. Free with vg_checkpoint_destroy. */
vg_err vg_checkpoint_verify(vg_checkpoint **out, const char *note, size_t len, const char *origin,
                            const uint8_t pk[VG_SIGN_PK_LEN], vg_reason *why) VG_MUST_USE;

/* NULL-safe; sets *cp_p = NULL. */
void vg_checkpoint_destroy(vg_checkpoint **cp_p);

/* Borrowed, valid until destroy. */
const char *vg_checkpoint_origin(const vg_checkpoint *cp);
uint64_t vg_checkpoint_size(const vg_checkpoint *cp);
const uint8_t *vg_checkpoint_root(const vg_checkpoint *cp); /* VG_MERKLE_HASH_LEN */
/* The whole signed note (NUL-terminated; the NUL is not counted in len): what
 * is stored, sent in Confirm.checkpoint and shown to auditors. */
const char *vg_checkpoint_note(const vg_checkpoint *cp);
size_t vg_checkpoint_note_len(const vg_checkpoint *cp);

/* ---- signed notes (the layer underneath) ---------------------------------- */

/* The note key id of an Ed25519 key: the first four bytes, big-endian, of
 * SHA-256(key_name || 0x0A || 0x01 || pk). */
uint32_t vg_checkpoint_key_id(const char *key_name, const uint8_t pk[VG_SIGN_PK_LEN]);

/* The verifier key in the form Go's golang.org/x/mod/sumdb/note and other
 * signed-note tools take: "<name>+<key id hex>+<base64(0x01 || pk)>", for
 * auditors who check checkpoints with their own tools. VG_ERR_INVALID when
 * the name is not a valid key name or out_len < VG_CHECKPOINT_VKEY_MAX. */
vg_err vg_checkpoint_verifier_key(char *out, size_t out_len, const char *key_name,
                                  const uint8_t pk[VG_SIGN_PK_LEN]) VG_MUST_USE;

/* Signs `text` (non-empty, ending in a newline, no blank line, UTF-8 without
 * control characters but newline) as a note with one signature line under
 * key_name. *out is malloc'ed and NUL-terminated (NUL not counted in
 * *out_len); free() it. VG_ERR_INVALID for bad text or name, or a keyset
 * without a signing key. */
vg_err vg_checkpoint_note_sign(char **out, size_t *out_len, const char *text, size_t text_len,
                               const char *key_name, const vg_keyset *ks,
                               vg_reason *why) VG_MUST_USE;

/* Verifies a signed note against one known key (key_name, pk) with the
 * errors of vg_checkpoint_verify (VG_ERR_SENDER_MISMATCH: signed by pk under
 * another name). On success *text_len is the length of the signed text, a
 * prefix of note that ends with its newline. */
vg_err vg_checkpoint_note_open(size_t *text_len, const char *note, size_t len, const char *key_name,
                               const uint8_t pk[VG_SIGN_PK_LEN], vg_reason *why) VG_MUST_USE;

#endif
