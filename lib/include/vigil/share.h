/*
 * vigil/share.h — onward sharing: a recipient seals an alert's content key to
 * another agency in a share record it signs (VG_DOMAIN_SHARE).
 *
 * The new agency receives the original envelope plus the share record: it
 * verifies the original sender's signature (vg_envelope_verify), the sharer's
 * (vg_share_verify), that the share names that envelope (vg_share_matches),
 * then opens with the shared key (vg_envelope_open_sealed), whose commitment
 * check proves it reads the same text as everyone else.
 *
 * A vg_share is immutable after verification; its pointers are borrowed.
 */
#ifndef VIGIL_LIB_SHARE_H
#define VIGIL_LIB_SHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/envelope.h"
#include "vigil/err.h"
#include "vigil/keys.h"
#include "vigil/netdoc.h"

/* Creates a share of env from `me` (who must be able to open it) to agency
 * `to` (known, not revoked, not already a recipient). *out is the serialised
 * SignedShare, malloc'ed; free() it. */
vg_err vg_share_create(uint8_t **out, size_t *out_len, const vg_envelope *env, const char *me,
                       const vg_keyset *my_keys, const char *to, const char *reason,
                       int64_t created_ms, const vg_netdoc *doc, vg_reason *why) VG_MUST_USE;

/* vg_share_create for an agency holding several key sets: the content key
 * is unsealed with any box key of the keyring (its active set first), the
 * share is signed with the active set. */
vg_err vg_share_create_ring(uint8_t **out, size_t *out_len, const vg_envelope *env, const char *me,
                            const vg_keyring *my_keys, const char *to, const char *reason,
                            int64_t created_ms, const vg_netdoc *doc, vg_reason *why) VG_MUST_USE;

typedef struct vg_share vg_share;

/* Verifies a serialised SignedShare (signature of the sharer over the exact
 * body bytes by a key trusted at its created time, fields well formed,
 * to_agency known and not revoked). Same error codes as vg_receipt_verify(). Free with
 * vg_share_destroy. */
vg_err vg_share_verify(vg_share **out, const uint8_t *bytes, size_t len, const vg_netdoc *doc,
                       vg_reason *why) VG_MUST_USE;

void vg_share_destroy(vg_share **s_p);

/* True when the share names this envelope (alert id and envelope hash). */
bool vg_share_matches(const vg_share *s, const vg_envelope *env);

const uint8_t *vg_share_alert_id(const vg_share *s);
const uint8_t *vg_share_envelope_hash(const vg_share *s);
const char *vg_share_sharer(const vg_share *s);
const char *vg_share_to(const vg_share *s);
const char *vg_share_reason(const vg_share *s);
int64_t vg_share_created_ms(const vg_share *s);
uint64_t vg_share_network_version(const vg_share *s); /* the document it was sealed under */
const uint8_t *vg_share_sealed_key(const vg_share *s, size_t *len_out);
const uint8_t *vg_share_hash(const vg_share *s);
const uint8_t *vg_share_bytes(const vg_share *s, size_t *len_out);

#endif
