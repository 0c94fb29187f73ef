/*
 * broker/netdocs.h — which network documents an envelope or a share may be
 * sealed under.
 *
 * The broker keeps every network document it has been served with in its
 * store, exactly as signed. An envelope names the document its sender sealed
 * it under (network_version); the content key is sealed to each recipient's
 * box key *in that document*. It is accepted only when every recipient can
 * open it with the key it holds now:
 *
 *  - version 0 (no document) and versions newer than the broker's are
 *    refused;
 *  - the current version is accepted;
 *  - an older version is accepted only when the broker has that document and
 *    every recipient's box key in it is the one the current document gives
 *    (a document that only added an agency or changed the policy leaves
 *    alerts sealed under the one before it readable);
 *  - otherwise, VG_ERR_STALE_VERSION naming the agencies whose keys changed:
 *    the sender's agent must seal it again under the current document.
 *
 * The same rule holds for a share's sealed key (one recipient: the agency it
 * is shared with). What this module keeps is small: per older version, the
 * agencies whose box key changed since (the documents themselves are not kept
 * in memory).
 *
 * Owns: the table it builds. Thread rules: one owner (the broker loop).
 */
#ifndef VIGIL_BROKER_NETDOCS_H
#define VIGIL_BROKER_NETDOCS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "vigil/err.h"
#include "vigil/netdoc.h"

typedef struct vgb_netdocs vgb_netdocs;

/* Records `current` in the store (in a transaction of its own) and builds the
 * table from every older document the store holds, each verified against
 * admin_pk; one that does not verify is logged and left out (envelopes sealed
 * under it are refused). Free with vgb_netdocs_destroy. */
vg_err vgb_netdocs_load(vgb_netdocs **out, vgb_store *store, const vg_netdoc *current,
                        const uint8_t admin_pk[VG_SIGN_PK_LEN], vg_reason *why) VG_MUST_USE;

/* NULL-safe; sets *d_p = NULL. */
void vgb_netdocs_destroy(vgb_netdocs **d_p);

/* Refuses doc (read from path) when it is older than one this store was
 * served with (it could bring back a revoked agency): VG_ERR_STALE_VERSION
 * with why. Then records its version when it is newer (a transaction of
 * its own). Store errors as they come. */
vg_err vgb_netdocs_check_version(vgb_store *store, const vg_netdoc *doc, const char *path,
                                 vg_reason *why) VG_MUST_USE;

/* Puts in *doc_p the newest document the store holds when it is newer than
 * *doc_p (a broker taking over from another that was pushed a document its
 * own file predates: docs/ha.md), verified against admin_pk and naming the
 * broker transport key broker_curve_pk; *doc_p is then destroyed and
 * replaced (logged netdoc.adopted). VG_OK when nothing newer is stored;
 * VG_ERR_CONFIG or a verify error when the newest one is unusable here. */
vg_err vgb_netdocs_adopt_newest(vgb_store *store, const uint8_t admin_pk[VG_SIGN_PK_LEN],
                                const uint8_t broker_curve_pk[VG_CURVE_KEY_LEN], vg_netdoc **doc_p,
                                vg_reason *why) VG_MUST_USE;

/* Whether `next` may replace `cur` in a running broker: the same network
 * (its broker keys are bkeys.h's to check), a higher version, and the same agencies at the same
 * positions (new ones only appended: a card is never removed or moved —
 * revoke it instead — and a revoked one is never brought back).
 * VG_ERR_STALE_VERSION or VG_ERR_INVALID with why saying what to change. */
vg_err vgb_netdocs_check_next(const vg_netdoc *cur, const vg_netdoc *next,
                              vg_reason *why) VG_MUST_USE;

/* `next` is now in force (the store has it: the caller wrote it with
 * vgb_store_add_network_document in the transaction that committed): `cur`
 * becomes an older version, and every older one's agencies with changed
 * box keys grow by those changed since. VG_ERR_NOMEM (the table is then as
 * it was). */
vg_err vgb_netdocs_advance(vgb_netdocs *d, const vg_netdoc *cur, const vg_netdoc *next) VG_MUST_USE;

/* VG_OK when something sealed under `version` to these agencies opens for
 * each of them with its current key; VG_ERR_STALE_VERSION with why saying
 * which version is accepted and naming the agencies otherwise. */
vg_err vgb_netdocs_check_sealed(const vgb_netdocs *d, uint64_t version, const char *const *agencies,
                                size_t n_agencies, vg_reason *why) VG_MUST_USE;

#endif
