/*
 * signed_internal.h — the one check every signed record shares: the claimed
 * signer is a non-revoked agency of the network and its Ed25519 signature
 * verifies over (domain || the exact received body bytes).
 * Not installed; used by envelope.c, receipt.c and share.c.
 */
#ifndef VIGIL_LIB_SRC_SIGNED_INTERNAL_H
#define VIGIL_LIB_SRC_SIGNED_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/netdoc.h"

/* VG_ERR_UNKNOWN_SENDER, VG_ERR_REVOKED or VG_ERR_BAD_SIGNATURE, with `what`
 * ("envelope", "receipt", "share") named in why. */
vg_err vg_signed_check(const vg_netdoc *doc, const char *signer, const uint8_t *sig, size_t sig_len,
                       const char *domain, const uint8_t *body, size_t body_len, const char *what,
                       vg_reason *why) VG_MUST_USE;

#endif
