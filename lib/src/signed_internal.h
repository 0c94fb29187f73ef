/*
 * signed_internal.h — the one check every signed record shares: the claimed
 * signer is a non-revoked agency of the network, its Ed25519 signature
 * verifies over (domain || the exact received body bytes) with one of the
 * sign keys its card lists (the current one, else a previous one), and —
 * once the body is parsed — that key was trusted at the time the body says
 * it was created (vg_signed_check_time).
 * Not installed; used by envelope.c, receipt.c and share.c.
 */
#ifndef VIGIL_LIB_SRC_SIGNED_INTERNAL_H
#define VIGIL_LIB_SRC_SIGNED_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/netdoc.h"

/* VG_ERR_UNKNOWN_SENDER, VG_ERR_REVOKED or VG_ERR_BAD_SIGNATURE, with `what`
 * ("envelope", "receipt", "share") named in why. On VG_OK *key_out says
 * which key verified it, for vg_signed_check_time once the body is parsed:
 * the signature is checked before a byte of the body is parsed, and the
 * body's created time is checked after. */
vg_err vg_signed_check(vg_key_match *key_out, const vg_netdoc *doc, const char *signer,
                       const uint8_t *sig, size_t sig_len, const char *domain, const uint8_t *body,
                       size_t body_len, const char *what, vg_reason *why) VG_MUST_USE;

/* vg_key_match_check_time with the body's created time as it is on the wire
 * (a time past INT64_MAX is read as the latest time, never as a negative
 * one): VG_ERR_KEY_COMPROMISED or VG_ERR_REVOKED (a previous key past its
 * overlap). */
vg_err vg_signed_check_time(const vg_key_match *key, uint64_t created_ms, const char *what,
                            vg_reason *why) VG_MUST_USE;

#endif
