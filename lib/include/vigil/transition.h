/*
 * vigil/transition.h — handing the audit log over to a new broker signing
 * key: the key-transition note, and checkpoints under a rotated key.
 *
 * When the broker's checkpoint-signing key rotates, the network document
 * carries the new key (broker.sign_key), the old one (previous_broker_keys)
 * and a key-transition note: the new key, signed by the OLD key, as a C2SP
 * signed note (docs/audit.md "Broker key transitions"):
 *
 *     vigil-key-transition/v1\n
 *     network <network name>\n
 *     old <64 hex: the broker's Ed25519 key handing over>\n
 *     new <64 hex: the key taking over>\n
 *     time <UTC ms when the old key signed it>\n
 *     \n
 *     — <network name> <base64(key id || Ed25519 signature over the five lines)>\n
 *
 * The key name is the network name, as for checkpoints, so the old key's
 * checkpoint verifier key checks the note too. A witness that trusted the
 * old key accepts checkpoints by the new key only after such a note: a
 * stolen admin key can put any key in a document, but it cannot make the
 * old broker key sign the hand-over.
 *
 * Neither form can be mistaken for the other: a checkpoint's second line is
 * a decimal size, and a network name cannot contain the '/' of this note's
 * first line.
 *
 * Owns nothing between calls. Never trusts a note before its signature
 * verified. Thread rules: none (no shared state).
 */
#ifndef VIGIL_LIB_TRANSITION_H
#define VIGIL_LIB_TRANSITION_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/checkpoint.h"
#include "vigil/err.h"
#include "vigil/keys.h"
#include "vigil/netdoc.h"

#define VG_TRANSITION_HEADER "vigil-key-transition/v1"
#define VG_TRANSITION_MAX_BYTES 4096 /* largest note accepted */

/* A verified key-transition note. */
typedef struct vg_key_transition {
    char network[64];               /* the log's origin (network name) */
    uint8_t old_pk[VG_SIGN_PK_LEN]; /* the key that signed the hand-over */
    uint8_t new_pk[VG_SIGN_PK_LEN]; /* the key it hands the log to */
    int64_t time_ms;                /* when the old key signed it */
} vg_key_transition;

/* Signs the hand-over from old_keys' Ed25519 key to new_pk for `network`
 * (a valid network name), at time_ms. *out is the note, malloc'ed and
 * NUL-terminated (the NUL not counted in *out_len); free() it.
 * VG_ERR_INVALID: no signing key, a bad network name, new_pk equal to the
 * old key, or time_ms <= 0. */
vg_err vg_key_transition_sign(char **out, size_t *out_len, const char *network,
                              const vg_keyset *old_keys, const uint8_t new_pk[VG_SIGN_PK_LEN],
                              int64_t time_ms, vg_reason *why) VG_MUST_USE;

/* Verifies a note (hostile bytes) against the key handing over, old_pk,
 * then parses it: VG_ERR_TOO_LARGE; VG_ERR_MALFORMED (not a signed note, or
 * a body that is not exactly the five lines above); VG_ERR_UNKNOWN_SENDER
 * (no signature line from old_pk under the network's name: signed by
 * another key); VG_ERR_BAD_SIGNATURE; VG_ERR_SENDER_MISMATCH (the note is
 * for another network, names another old key, or hands over to the old key
 * itself). out is written on VG_OK only. */
vg_err vg_key_transition_verify(vg_key_transition *out, const char *note, size_t len,
                                const char *network, const uint8_t old_pk[VG_SIGN_PK_LEN],
                                vg_reason *why) VG_MUST_USE;

/* Reads the old key a note claims to come from, without verifying anything
 * (to say which key a refused note names). VG_ERR_MALFORMED when it has no
 * such line. */
vg_err vg_key_transition_claimed_old(uint8_t old_pk[VG_SIGN_PK_LEN], const char *note,
                                     size_t len) VG_MUST_USE;

/* Verifies a checkpoint with any broker signing key the document lists: its
 * current key first, then its previous ones (a log keeps the checkpoints its
 * old key signed). *key_out (may be NULL) points at the key that verified it
 * (borrowed from doc) and *previous_out (may be NULL) says whether it is a
 * previous key. The errors of vg_checkpoint_verify; when no key verifies it,
 * those of the attempt with the current key. */
vg_err vg_checkpoint_verify_netdoc(vg_checkpoint **out, const char *note, size_t len,
                                   const vg_netdoc *doc, const uint8_t **key_out,
                                   bool *previous_out, vg_reason *why) VG_MUST_USE;

#endif
