/*
 * broker/batch.h — the work of one poll batch that waits for its commit:
 * the replies (confirms, errors), the post-commit work (delivery windows to
 * refill, deliveries receipted) and the failed flag. Handlers queue into it;
 * the loop commits the store's transaction and then ends the batch
 * (vgb_batch_end): replies go out only after the commit returned, and a
 * confirm of something that was not committed is never sent (the client is
 * told that nothing was recorded and resends).
 *
 * A batch is failed (vgb_batch_fail) by whoever changed state without being
 * able to finish it (a leaf that could not be written, a stream event that
 * could not be kept): the loop rolls it back instead of committing.
 *
 * Owns: the queued replies and post-commit work.
 * Thread rules: the loop's thread only.
 */
#ifndef VIGIL_BROKER_BATCH_H
#define VIGIL_BROKER_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"
#include "out.h"
#include "store.h"
#include "vigil.pb-c.h"
#include "vigil/err.h"
#include "vigil/util.h"
#include "vigil/wire.h"

/* One received frame and who sent it. */
typedef struct vgb_from {
    uint8_t rid[VGB_RID_MAX]; /* routing id (for replies only) */
    size_t rid_len;           /* its length */
    const char *agency;       /* ZAP User-Id: the authenticated sender */
    int agency_idx;           /* index into the network document's agencies, or -1 */
    uint64_t request_id;      /* echoed in the reply */
    int fd;                   /* the socket it came on (ZMQ_SRCFD), -1 when unknown */
    const char *key;          /* its transport key, Z85, or NULL when unknown */
    int64_t key_until_ms;     /* the key is trusted until then (wall ms; INT64_MAX: no end) */
} vgb_from;

typedef struct vgb_batch vgb_batch;

/* store, ledger (for the confirms' tree size and checkpoint) and out are
 * borrowed and outlive the batch. Free with vgb_batch_destroy. */
vg_err vgb_batch_new(vgb_batch **out, vgb_store *store, vgb_ledger *ledger,
                     const vgb_out *o) VG_MUST_USE;

/* Frees what is queued without sending it; NULL-safe; sets *x_p = NULL. */
void vgb_batch_destroy(vgb_batch **x_p);

/* Makes sure the batch's store transaction is open (vgb_store_txn). */
bool vgb_batch_txn(vgb_batch *x);

/* Marks the batch failed: it is rolled back, not committed. */
void vgb_batch_fail(vgb_batch *x);
bool vgb_batch_failed(const vgb_batch *x);

/* Queues f as the reply to from (packed now, sent after the commit; a frame
 * without a request id is not answered, except a Deliver). needs_commit:
 * void if the commit fails (the client is told nothing was recorded about
 * alert_id, which may be NULL). */
void vgb_batch_reply(vgb_batch *x, const vgb_from *from, Vigil__BrokerFrame *f, bool needs_commit,
                     const uint8_t *alert_id);

/* A Confirm (status: wire ConfirmStatus; code: RejectCode), carrying the
 * log's current size and latest checkpoint. ACCEPTED and DUPLICATE need the
 * commit. missing may be NULL. */
void vgb_batch_confirm(vgb_batch *x, const vgb_from *from, const uint8_t *alert_id,
                       Vigil__ConfirmStatus status, Vigil__RejectCode code, const char *reason,
                       const vg_strlist *missing);

/* An ErrorReply with a RejectCode. */
void vgb_batch_error(vgb_batch *x, const vgb_from *from, Vigil__RejectCode code,
                     const char *reason);

/* Post-commit work for agency (an index): seq 0 means its queue in the store
 * has new work (refill its window), else seq was receipted (leave the
 * window). */
void vgb_batch_after(vgb_batch *x, size_t agency, uint64_t seq);

/* Called for each post-commit item of a committed batch. */
typedef void (*vgb_after_fn)(void *ctx, size_t agency, uint64_t seq);

/* Ends the batch after the loop committed (committed) or rolled it back (rc
 * says why): sends the replies (those that needed the commit become
 * "nothing was recorded": storage_full or internal), hands the post-commit
 * work to fn when committed, and starts the next batch empty and not
 * failed. */
void vgb_batch_end(vgb_batch *x, bool committed, vg_err rc, vgb_after_fn fn, void *ctx);

#endif
