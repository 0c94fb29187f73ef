/*
 * broker/store_retain.h — retention, as part of the store's contract
 * (store.h; dispatched like every store call, store_backend.h): which
 * alerts are old enough to purge, purging an alert's sealed content and
 * its link tags, and legal holds that keep an alert from being purged
 * (docs/audit.md "Retention").
 *
 * What a purge removes: the alert's signed envelope (its ciphertext and the
 * content keys sealed to each recipient) and the signed share records of
 * it (their sealed keys); with tags, its link tags. What it keeps: every
 * column of metadata, every hash (envelope_hash, share_hash), every
 * receipt, every event and every audit leaf — all that verifying the log
 * needs. The purges table says what went and when, so that an absent
 * envelope with a purges row and a purged leaf is "purged", and one
 * without them is "missing". The bytes are physically gone: SQLite zeroes
 * freed space (secure_delete) and the caller checkpoints the WAL
 * (vgb_store_scrub); PostgreSQL keeps dead row versions until VACUUM
 * (docs/deploy.md "Retention").
 *
 * This is the one exception to store.h's "nothing is ever deleted".
 * Thread rules: as store.h (the owner's thread; reads on any connection).
 */
#ifndef VIGIL_BROKER_STORE_RETAIN_H
#define VIGIL_BROKER_STORE_RETAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

#define VGB_HOLD_TEXT_MAX 256 /* a hold's "by" and its reason, bytes at most */

/* An alert retention looks at. */
typedef struct vgb_retain_row {
    uint64_t seq;                /* acceptance order */
    uint8_t id[VG_ALERT_ID_LEN]; /* alert id */
    int status;                  /* wire Status */
    const char *categories;      /* comma-separated (borrowed for the call) */
    int64_t accepted_ms;         /* broker's time */
    int64_t content_gone_ms;     /* its content was purged then, 0: kept */
    int64_t tags_gone_ms;        /* its link tags were purged then, 0: kept */
    bool held;                   /* a legal hold is on it */
    bool pending;                /* a recipient still waits for its delivery */
} vgb_retain_row;
typedef bool (*vgb_retain_fn)(void *ctx, const vgb_retain_row *r);

/* Calls fn for each alert accepted before before_ms whose content or tags
 * are not both purged, with seq > after_seq, in seq order, at most limit;
 * fn returns false to stop. */
vg_err vgb_store_retain_candidates(vgb_store *s, int64_t before_ms, uint64_t after_seq,
                                   size_t limit, vgb_retain_fn fn, void *ctx) VG_MUST_USE;

/* What retention says of alert seq (held, pending, when content and tags
 * went); VG_ERR_NOT_FOUND when there is no such alert. out->categories is
 * NULL. */
vg_err vgb_store_retain_state(vgb_store *s, uint64_t seq, vgb_retain_row *out) VG_MUST_USE;

/* Purges alert seq inside the transaction: with content, its envelope and
 * its shares' bytes (to empty); with tags, its link tags; and records when
 * in the purges table. Never touches anything else. */
vg_err vgb_store_purge(vgb_store *s, uint64_t seq, bool content, bool tags,
                       int64_t now_ms) VG_MUST_USE;

/* After a commit that purged: makes the purged bytes physically gone from
 * the files the back end controls (SQLite: a TRUNCATE checkpoint of the WAL,
 * waiting for the checkpointer; the database's freed space is already
 * zeroed). A no-op for PostgreSQL (VACUUM is the DBA's: docs/deploy.md).
 * Outside a transaction. */
vg_err vgb_store_scrub(vgb_store *s, vg_reason *why) VG_MUST_USE;

/* A legal hold. */
typedef struct vgb_hold_row {
    uint8_t id[VG_ALERT_ID_LEN]; /* the alert held */
    int64_t held_ms;             /* since */
    const char *by;              /* who put it on (borrowed for the call) */
    const char *reason;          /* why (borrowed for the call) */
} vgb_hold_row;
typedef void (*vgb_hold_fn)(void *ctx, const vgb_hold_row *h);

/* Puts a hold on alert id, inside the transaction: VG_ERR_CONFLICT when one
 * is on it already. */
vg_err vgb_store_hold_add(vgb_store *s, const vgb_hold_row *h) VG_MUST_USE;
/* Lifts the hold on id, inside the transaction; fn (may be NULL) is called
 * with it first. VG_ERR_NOT_FOUND when there is none. */
vg_err vgb_store_hold_remove(vgb_store *s, const uint8_t id[VG_ALERT_ID_LEN], vgb_hold_fn fn,
                             void *ctx) VG_MUST_USE;
/* Calls fn for every hold, by alert id. */
vg_err vgb_store_holds(vgb_store *s, vgb_hold_fn fn, void *ctx) VG_MUST_USE;

#endif
