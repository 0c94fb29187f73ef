/*
 * broker/quota.h — what one agency may publish: a rate and a storage quota,
 * from the network document (vg_netdoc_limits), so that one agency's flood
 * cannot fill the store that every agency needs.
 *
 * - Rate: a token bucket per agency, publish_burst at once and
 *   publish_per_minute sustained; a publish beyond it is refused as
 *   rate_limited (the agent keeps it in its outbox and sends it again).
 * - Storage: the envelope bytes an agency had accepted in the last 24 hours
 *   (counted per hour; rebuilt from the store at start, so a restart does
 *   not reset it) may not pass stored_bytes_per_day; a publish that would is
 *   refused as quota_exceeded (also kept and sent again: the window moves).
 *
 * A resend of an alert already accepted (DUPLICATE) is never refused: it
 * costs nothing. Thread rules: one owner (the loop).
 */
#ifndef VIGIL_BROKER_QUOTA_H
#define VIGIL_BROKER_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "vigil/err.h"
#include "vigil/netdoc.h"

#define VGB_QUOTA_HOURS 24 /* the storage window, counted in hours */

typedef struct vgb_quota vgb_quota;

/* Limits for every agency of doc (index order), the bytes each had accepted
 * in the last 24 hours read from the store. Free with vgb_quota_destroy. */
vg_err vgb_quota_new(vgb_quota **out, vgb_store *store, const vg_netdoc *doc, int64_t now_wall,
                     int64_t now_mono, vg_reason *why) VG_MUST_USE;

/* NULL-safe; sets *q_p = NULL. */
void vgb_quota_destroy(vgb_quota **q_p);

/* The network document changed (agencies only appended): every agency's
 * limits are the new document's, what each has used is kept, new agencies
 * start with a full allowance. doc is borrowed and outlives the quota.
 * VG_ERR_NOMEM. */
vg_err vgb_quota_renew(vgb_quota *q, const vg_netdoc *doc, int64_t now_mono) VG_MUST_USE;

/* May agency idx publish an envelope of `bytes` now? VG_OK (and the
 * publish is counted), or VG_ERR_RATE_LIMITED / VG_ERR_QUOTA_EXCEEDED with
 * why saying what the limit is and when to try again. */
vg_err vgb_quota_take(vgb_quota *q, size_t idx, size_t bytes, int64_t now_wall, int64_t now_mono,
                      vg_reason *why) VG_MUST_USE;

#endif
