/*
 * broker/retain.h — retention without breaking proof (docs/audit.md
 * "Retention"): purges the sealed content and link tags of alerts past the
 * network document's retention, and keeps legal holds, each change in the
 * broker's write path with its audit leaf.
 *
 * A purge is one batch: for every alert whose content (or link tags) the
 * document's retention rules say are due, that is not under a legal hold
 * and has no recipient still waiting for its delivery, the store empties
 * its envelope and its shares' bytes (store_retain.h) and a purged leaf
 * names the alert and its envelope hash; one commit; then the store makes
 * the old bytes physically gone (vgb_store_scrub). Everything verify needs
 * stays: metadata, hashes, receipts, events, leaves.
 *
 * Asked on the control socket (control.h), between two batches:
 *   "purge"  body "" (purge now) or "dry-run" (list what would go);
 *   "hold"   body "add\nALERT\nBY\nREASON", "remove\nALERT\nBY\nREASON" or
 *            "list" (ALERT: 32 hex digits; BY, REASON: printable text).
 * and run by the loop every [broker] purge_interval (vgb_retain_service).
 *
 * Owns: nothing but its schedule. Thread rules: the loop's thread.
 */
#ifndef VIGIL_BROKER_RETAIN_H
#define VIGIL_BROKER_RETAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "record.h"
#include "store.h"
#include "vigil/clock.h"
#include "vigil/err.h"
#include "vigil/netdoc.h"

#define VGB_RETAIN_RUN_MAX 4096 /* alerts purged in one batch; the rest at the next run */

/* What retention works through (all borrowed from the broker). */
typedef struct vgb_retain_deps {
    const vg_clock *clock;     /* now */
    vgb_store *store;          /* the rows */
    vgb_batch *batch;          /* the transaction */
    vgb_record *record;        /* purged, held, released leaves */
    bool (*commit)(void *ctx); /* finishes the batch: true when it committed */
    void *commit_ctx;          /* its context */
    uint64_t interval_ms;      /* scheduled purges this often, 0: never */
} vgb_retain_deps;

typedef struct vgb_retain vgb_retain;

/* d is copied. Free with vgb_retain_destroy. */
vg_err vgb_retain_new(vgb_retain **out, const vgb_retain_deps *d) VG_MUST_USE;
void vgb_retain_destroy(vgb_retain **r_p); /* NULL-safe; sets *r_p = NULL */

/* Answers a control request when it is retention's ("purge", "hold"):
 * writes the reply ("ok ..." or "refused: ...") and returns true; false
 * (nothing written) for any other command. doc: the document in force. */
bool vgb_retain_control(vgb_retain *r, const vg_netdoc *doc, const char *command,
                        const uint8_t *body, size_t len, char *reply, size_t reply_len);

/* Runs the scheduled purge when it is due (logged purge.done); returns the
 * ms until the next one (LONG_MAX-ish when there is none). */
long vgb_retain_service(vgb_retain *r, const vg_netdoc *doc);

#endif
