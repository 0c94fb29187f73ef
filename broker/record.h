/*
 * broker/record.h — the record of what happened: one call per fact, and
 * each call writes the fact's events (streams.h) and exactly one audit leaf
 * (ledger.h), in the batch's store transaction, so that every state change
 * the broker commits has its leaf and its events with it, or none of them.
 *
 * A failure to write either fails the batch (batch.h): the state change the
 * handler made before calling is rolled back with it. A fact's state itself
 * (the rows a handler changes) is the handler's; a rejection's stored row is
 * written here, as it is nothing but the record.
 *
 * The one derived fact is COMPLETE (every required agency acknowledged): an
 * event, with no leaf of its own (the acknowledgements' leaves prove it),
 * recorded by the call for the acknowledgement that completed it.
 *
 * Owns: nothing but its borrowed modules.
 * Thread rules: the loop's thread only.
 */
#ifndef VIGIL_BROKER_RECORD_H
#define VIGIL_BROKER_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "ledger.h"
#include "store.h"
#include "streams.h"
#include "vigil/audit_leaf.h"
#include "vigil/clock.h"
#include "vigil/envelope.h"
#include "vigil/err.h"
#include "vigil/receipt.h"

typedef struct vgb_record vgb_record;

/* Every pointer is borrowed and outlives the record. Free with
 * vgb_record_destroy. */
vg_err vgb_record_new(vgb_record **out, vgb_store *store, vgb_ledger *ledger, vgb_streams *streams,
                      vgb_batch *batch, const vg_clock *clock) VG_MUST_USE;

/* NULL-safe; sets *r_p = NULL. */
void vgb_record_destroy(vgb_record **r_p);

/* Each call below: the fact's events and its one leaf, in the batch's
 * transaction (opened if need be). VG_OK, or the error that failed the
 * batch. */

/* Alert seq (env) was accepted; deadlines (n of them, may be 0) are those
 * its required recipients were given, written into its leaf. */
vg_err vgb_record_accepted(vgb_record *rec, uint64_t seq, const vg_envelope *env,
                           const vg_audit_deadline *deadlines, size_t n) VG_MUST_USE;

/* agency's DELIVERED receipt (hash: its body hash) recorded the delivery of
 * the n alerts seqs (ids: their alert ids; n >= 1): an event each, one leaf
 * naming them all, found from each alert through the receipt. */
vg_err vgb_record_delivered(vgb_record *rec, const char *agency, const uint8_t hash[VG_HASH_LEN],
                            const uint64_t *seqs, const uint8_t (*ids)[VG_ALERT_ID_LEN],
                            size_t n) VG_MUST_USE;

/* agency's ACKNOWLEDGED, IN_PROGRESS, DECLINED or UNOPENABLE receipt r for
 * alert seq was applied; completes: it was the last acknowledgement the
 * alert needed (a COMPLETE event follows); extended (may be NULL): the new
 * deadline an IN_PROGRESS receipt gave it, written into its leaf. */
vg_err vgb_record_receipt(vgb_record *rec, uint64_t seq, const char *agency, const vg_receipt *r,
                          bool completes, const vg_audit_deadline *extended) VG_MUST_USE;

/* sharer shared alert seq with `to` (hash: the share's); deadline: the one
 * `to` was given, written into its leaf. */
vg_err vgb_record_shared(vgb_record *rec, uint64_t seq, const char *sharer, const char *to,
                         const uint8_t hash[VG_HASH_LEN],
                         const vg_audit_deadline *deadline) VG_MUST_USE;

/* An overdue or escalation step taken for agency's row of alert seq. */
typedef struct vgb_step {
    uint64_t seq;             /* the alert */
    const char *agency;       /* the late agency */
    uint32_t level;           /* the level reached: 1 overdue, 2.. the escalation steps */
    int64_t deadline_ms;      /* the deadline that passed (wall clock) */
    const char *detail;       /* overdue: why ("deadline passed"); escalated: the target */
    const char *extra_agency; /* also told (escalation contact), or NULL */
    const char *extra_role;   /* also told (escalation role), or NULL */
} vgb_step;
vg_err vgb_record_step(vgb_record *rec, const vgb_step *step) VG_MUST_USE;

/* agency went offline with waiting alerts for it (an alarm), or came back
 * after one. Everyone hears of it. */
vg_err vgb_record_presence(vgb_record *rec, const char *agency, bool online,
                           uint32_t waiting) VG_MUST_USE;

/* The network document changed to `version` (hash: of its signed bytes).
 * Everyone hears of it. */
vg_err vgb_record_network_changed(vgb_record *rec, uint64_t version,
                                  const uint8_t hash[VG_HASH_LEN]) VG_MUST_USE;

/* Alert seq's required agency `agency` was revoked by document `version`
 * before it acknowledged; `successor` (NULL: none named) inherits the alert
 * (its row is the caller's) with deadline (NULL when it was a recipient
 * already). The sender, the successor and oversight hear. */
vg_err vgb_record_reassigned(vgb_record *rec, uint64_t seq, const char *agency,
                             const char *successor, uint64_t version,
                             const vg_audit_deadline *deadline) VG_MUST_USE;

/* A notification of a person at an escalation step, and its outcome. */
typedef struct vgb_notified {
    uint64_t seq;            /* the alert */
    const char *agency;      /* the late agency */
    uint32_t level;          /* the escalation level of the step */
    const char *target;      /* the step's target ("officer-on-duty", ...) */
    const char *channel;     /* the channel used, "" when none could be */
    const char *to;          /* the address notified, "" when none (only its hash
                                goes into the leaf) */
    const char *rota_agency; /* whose rota named the person (its stream hears) */
    bool sent;               /* the channel accepted the message */
    const char *code;        /* why not, when !sent ("connect_failed", ...) */
} vgb_notified;

/* A person was notified, or could not be. The late agency, the agency whose
 * rota named the person and oversight hear (oversight without the address
 * unless the document shows it officers' names). */
vg_err vgb_record_notified(vgb_record *rec, const vgb_notified *n) VG_MUST_USE;

/* The network document needs the administrator: a calendar past its
 * valid_until counted calendar days (code "past_valid_until"). Everyone
 * hears; detail says what to do. */
/* A checkpoint fewer agencies cosigned (it or a later one) than the
 * document's witnessing requires, within its time (witness.h): an
 * UNWITNESSED event to oversight only (detail: vg_audit_unwitnessed_detail)
 * and its `unwitnessed` leaf. */
vg_err vgb_record_unwitnessed(vgb_record *rec, uint64_t size, uint64_t cosigned, uint64_t required,
                              uint64_t within_ms, uint64_t version) VG_MUST_USE;

vg_err vgb_record_network_warning(vgb_record *rec, const char *code, const char *calendar,
                                  uint64_t version, const char *detail) VG_MUST_USE;

/* A required recipient of a new alert that did not acknowledge `count`
 * earlier alerts linked to it (links.h). */
typedef struct vgb_repeat {
    const char *agency; /* the recipient */
    uint32_t count;     /* linked earlier alerts it never acknowledged */
} vgb_repeat;

/* Alert seq (id) shares a link tag with the n earlier alerts (seqs and
 * ids, 1..VG_AUDIT_ALERTS_MAX): one "linked" leaf naming them, found from
 * the new alert; and a REPEAT_WARNING event per repeats item, heard by that agency,
 * the sender and oversight only. */
vg_err vgb_record_linked(vgb_record *rec, uint64_t seq, const uint8_t id[VG_ALERT_ID_LEN],
                         const char *sender, const uint64_t *earlier,
                         const uint8_t (*ids)[VG_ALERT_ID_LEN], size_t n, const vgb_repeat *repeats,
                         size_t n_repeats) VG_MUST_USE;

/* Retention (retain.h): alert seq (id; envelope_hash: of its envelope)
 * lost `what` ("content", "tags" or "content+tags"); or a legal hold on it
 * was put on (on) or lifted, hold_hash being the hash of the hold record
 * (retain.h). One leaf each, linked to the alert; no event (agencies are
 * not told of retention: their own agents apply the same rules). */
vg_err vgb_record_purged(vgb_record *rec, uint64_t seq, const uint8_t id[VG_ALERT_ID_LEN],
                         const uint8_t envelope_hash[VG_HASH_LEN], const char *what) VG_MUST_USE;
vg_err vgb_record_hold(vgb_record *rec, uint64_t seq, const uint8_t id[VG_ALERT_ID_LEN], bool on,
                       const uint8_t hold_hash[VG_HASH_LEN]) VG_MUST_USE;

/* A frame from transport agency `transport` was refused: its stored row and
 * leaf (claimed: the sender an envelope named, or NULL; alert_id may be
 * NULL; code: the wire code's name). Nothing is recorded when no
 * transaction can be opened (the refusal still goes back). */
vg_err vgb_record_rejected(vgb_record *rec, const char *transport, const char *claimed,
                           const uint8_t *alert_id, const char *code, const char *reason);

#endif
