/*
 * broker/store.h — the broker's durable state in SQLite: alerts (with their
 * per-sender sequence numbers), per-recipient states, receipts, rejections.
 *
 * WAL mode, synchronous=FULL: a COMMIT that returns is on disk. The broker
 * groups the work of one poll batch into one transaction (begin → many
 * changes → commit) and confirms nothing before the commit returns.
 * The store is the queue: undelivered alerts are found with an index on
 * (agency, alert_seq) over pending rows, so the cost of finding work does not
 * grow with history, and nothing waits in RAM.
 *
 * Never stores plaintext (the broker has none); stores the exact signed
 * envelope and receipt bytes. Nothing is ever deleted. Single-threaded: one
 * owner (the broker loop).
 */
#ifndef VIGIL_BROKER_STORE_H
#define VIGIL_BROKER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/envelope.h"
#include "vigil/err.h"
#include "vigil/receipt.h"
#include "vigil/util.h"

typedef struct vgb_store vgb_store;

/* Recipient states, as stored (the wire's AlertState values). */
typedef enum vgb_rstate {
    VGB_PENDING = 1,
    VGB_DELIVERED = 2,
    VGB_ACKNOWLEDGED = 3,
    VGB_IN_PROGRESS = 4,
    VGB_DECLINED = 5,
} vgb_rstate;

/* Opens (creating if needed) dir/vigil.db. Refuses a database it cannot read
 * or whose schema is newer than this broker's, with a clear reason; never
 * deletes or rebuilds anything by itself. Free with vgb_store_destroy. */
vg_err vgb_store_open(vgb_store **out, const char *dir, vg_reason *why) VG_MUST_USE;

/* Closes the database; NULL-safe; sets *store_p = NULL. An open transaction
 * is rolled back. */
void vgb_store_destroy(vgb_store **store_p);

/* BEGIN IMMEDIATE. */
vg_err vgb_store_begin(vgb_store *s, vg_reason *why) VG_MUST_USE;
/* COMMIT; on failure the transaction is rolled back and nothing of it stays.
 * VG_ERR_STORAGE_FULL when the disk is full, VG_ERR_IO otherwise. */
vg_err vgb_store_commit(vgb_store *s, vg_reason *why) VG_MUST_USE;
void vgb_store_rollback(vgb_store *s);
bool vgb_store_in_transaction(const vgb_store *s);

typedef struct vgb_alert_row {
    uint64_t seq;                       /* broker acceptance order, from 1 */
    uint8_t envelope_hash[VG_HASH_LEN]; /* of the signed body */
} vgb_alert_row;

/* VG_OK and *out, or VG_ERR_NOT_FOUND. */
vg_err vgb_store_find_alert(vgb_store *s, const uint8_t id[VG_ALERT_ID_LEN],
                            vgb_alert_row *out) VG_MUST_USE;

/* True when the stored envelope for seq has exactly these bytes. */
vg_err vgb_store_same_envelope(vgb_store *s, uint64_t seq, const uint8_t *bytes, size_t len,
                               bool *same) VG_MUST_USE;

/* Whether sender already used sequence number seq for an accepted alert.
 * Sequence numbers are unique per sender (a unique index over the alerts
 * themselves, so the state survives restarts with them); they need not
 * arrive in order, so two processes of one agency may publish at once. */
vg_err vgb_store_sequence_used(vgb_store *s, const char *sender, uint64_t seq,
                               bool *used) VG_MUST_USE;

/* Inserts an accepted alert with one PENDING row per recipient (required
 * marks the policy's agencies). Inside a transaction. *seq_out is the new alert's seq. */
vg_err vgb_store_insert_alert(vgb_store *s, const vg_envelope *env, int64_t accepted_ms,
                              const vg_strlist *required, uint64_t *seq_out,
                              vg_reason *why) VG_MUST_USE;

/* The recipient's state for alert seq; VG_ERR_NOT_FOUND when the agency is
 * not a recipient. */
vg_err vgb_store_recipient_state(vgb_store *s, uint64_t seq, const char *agency,
                                 vgb_rstate *out) VG_MUST_USE;

/* PENDING → DELIVERED at ms. *changed is false when it was already past
 * PENDING. */
vg_err vgb_store_mark_delivered(vgb_store *s, uint64_t seq, const char *agency, int64_t ms,
                                bool *changed) VG_MUST_USE;

/* Stores a verified receipt's exact bytes once, linked to the alerts it
 * covers (seqs[i] is the alert of item i). A receipt already stored (same
 * body hash) is not stored again. */
vg_err vgb_store_insert_receipt(vgb_store *s, const vg_receipt *r, const uint64_t *seqs,
                                size_t n_seqs, int64_t received_ms) VG_MUST_USE;

/* Records a rejected frame: who sent it (transport identity), what it
 * claimed, the code and reason. No content. */
vg_err vgb_store_insert_rejection(vgb_store *s, int64_t ms, const char *agency,
                                  const uint8_t *alert_id, const char *code,
                                  const char *reason) VG_MUST_USE;

/* Calls fn for each PENDING alert of agency with seq > after_seq, in seq
 * order, at most limit. fn returns false to stop early. */
typedef bool (*vgb_pending_fn)(void *ctx, uint64_t seq);
vg_err vgb_store_pending(vgb_store *s, const char *agency, uint64_t after_seq, size_t limit,
                         vgb_pending_fn fn, void *ctx) VG_MUST_USE;

/* Number of PENDING alerts for agency. */
vg_err vgb_store_count_pending(vgb_store *s, const char *agency, uint64_t *out) VG_MUST_USE;

/* The exact signed envelope bytes of alert seq; *out is malloc'ed, free() it. */
vg_err vgb_store_envelope(vgb_store *s, uint64_t seq, uint8_t **out, size_t *out_len) VG_MUST_USE;

/* Counts, for tests and logs. */
vg_err vgb_store_count_alerts(vgb_store *s, uint64_t *out) VG_MUST_USE;

#endif
