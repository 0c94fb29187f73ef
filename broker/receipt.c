/* receipt.c — every kind of Receipt: DELIVERED (the agency's software has
 * the alert), ACKNOWLEDGED / IN_PROGRESS / DECLINED (a person acted) and
 * UNOPENABLE (its software could not open it) (handlers.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "query.h"
#include "vigil/log.h"

/* ---- DELIVERED ------------------------------------------------------------------- */

/* Checks every item of a DELIVERED receipt first (an item that fails
 * refuses the whole receipt and changes nothing), then marks the
 * deliveries; seqs[i] is item i's alert, changed[i] whether it was new. */
static vg_err
s_mark_delivered(const vgb_services *sv, const vgb_from *from, const vg_receipt *r, uint64_t *seqs,
                 bool *changed, size_t *n_changed, vg_reason *why)
{
    size_t n = vg_receipt_n_items(r);
    for (size_t i = 0; i < n; i++) {
        const vg_receipt_item *it = vg_receipt_item_at(r, i);
        vgb_alert_row row;
        bool recipient = false;
        vg_err rc =
            vgb_store_find_alert_for(sv->store, it->alert_id, from->agency, &row, &recipient);
        if (rc == VG_ERR_NOT_FOUND || (rc == VG_OK && !recipient)) {
            vg_reason item; /* not its alert reads exactly as no such alert */
            (void)vgb_unknown_alert(&item, from->agency);
            return vg_reason_set(why, VG_ERR_UNKNOWN_ALERT, "receipt item %zu: %s", i + 1,
                                 item.text);
        }
        if (rc == VG_OK && memcmp(row.envelope_hash, it->envelope_hash, VG_HASH_LEN) != 0) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "receipt item %zu names a different envelope than the one "
                                 "stored",
                                 i + 1);
        }
        if (rc != VG_OK) {
            return vg_reason_set(why, rc, "store error; resend the receipt later");
        }
        seqs[i] = row.seq;
    }
    int64_t now = vg_clock_wall_ms(sv->clock);
    for (size_t i = 0; i < n; i++) {
        vg_err rc = vgb_store_mark_delivered(sv->store, seqs[i], from->agency, now, &changed[i]);
        if (rc != VG_OK) {
            vgb_batch_fail(sv->batch); /* some items are marked already: none may commit */
            return vg_reason_set(why, rc, "store error; resend the receipt later");
        }
        *n_changed += changed[i];
    }
    return VG_OK;
}

/* Stores the receipt linked to the alerts whose delivery it recorded
 * (changed), and records the fact. */
static vg_err
s_record_delivered(const vgb_services *sv, const vgb_from *from, const vg_receipt *r,
                   const uint64_t *seqs, const bool *changed)
{
    size_t n = vg_receipt_n_items(r), k = 0;
    uint64_t *linked = malloc(n * sizeof *linked);
    uint8_t(*ids)[VG_ALERT_ID_LEN] = malloc(n * sizeof *ids);
    vg_err rc = linked != NULL && ids != NULL ? VG_OK : VG_ERR_NOMEM;
    for (size_t i = 0; i < n && rc == VG_OK; i++) {
        if (changed[i]) {
            memcpy(ids[k], vg_receipt_item_at(r, i)->alert_id, VG_ALERT_ID_LEN);
            linked[k++] = seqs[i];
        }
    }
    if (rc == VG_OK) {
        rc = vgb_store_insert_receipt(sv->store, r, linked, k, vg_clock_wall_ms(sv->clock));
    }
    if (rc == VG_OK) {
        rc = vgb_record_delivered(sv->record, from->agency, vg_receipt_hash(r), linked,
                                  (const uint8_t(*)[VG_ALERT_ID_LEN])ids, k);
    }
    free(ids);
    free(linked);
    return rc;
}

static void
s_delivered(const vgb_services *sv, const vgb_from *from, const vg_receipt *r)
{
    vg_reason why = {{0}};
    size_t n = vg_receipt_n_items(r), n_changed = 0;
    uint64_t *seqs = calloc(n, sizeof *seqs);
    bool *changed = calloc(n, sizeof *changed);
    vg_err rc = seqs != NULL && changed != NULL ? VG_OK : VG_ERR_NOMEM;
    if (rc == VG_OK && !vgb_batch_txn(sv->batch)) {
        rc = vg_reason_set(&why, VG_ERR_INTERNAL, "store unavailable; resend later");
    }
    if (rc == VG_OK) {
        rc = s_mark_delivered(sv, from, r, seqs, changed, &n_changed, &why);
    }
    if (rc == VG_OK && n_changed > 0) {
        rc = s_record_delivered(sv, from, r, seqs, changed);
    }
    if (rc != VG_OK && n_changed > 0) {
        vgb_batch_fail(sv->batch); /* deliveries marked without their receipt or record */
    }
    const uint8_t *first = vg_receipt_item_at(r, 0)->alert_id;
    if (rc != VG_OK) {
        vgb_refuse(sv, from, NULL, first, rc, why.text, NULL, "receipt.reject");
    } else {
        for (size_t i = 0; i < n && from->agency_idx >= 0; i++) {
            vgb_batch_after(sv->batch, (size_t)from->agency_idx, seqs[i]);
        }
        vg_log(VG_LOG_DEBUG, "broker", "receipt.accept", "agency=%s items=%zu new=%zu",
               from->agency, n, n_changed);
        vgb_batch_confirm(sv->batch, from, first,
                          n_changed ? VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED
                                    : VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE,
                          0, NULL, NULL);
    }
    free(seqs);
    free(changed);
}

/* ---- a person's receipt, or UNOPENABLE --------------------------------------------- */

static vgb_rstate
s_state_of(vg_receipt_kind k)
{
    return k == VG_RECEIPT_ACKNOWLEDGED  ? VGB_ACKNOWLEDGED
           : k == VG_RECEIPT_IN_PROGRESS ? VGB_IN_PROGRESS
           : k == VG_RECEIPT_DECLINED    ? VGB_DECLINED
                                         : VGB_UNOPENABLE;
}

/* Checks that the receipt is for an alert delivered to the agency (an
 * UNOPENABLE one: sent to it and not yet receipted). */
static vg_err
s_target(const vgb_services *sv, const vgb_from *from, const vg_receipt *r, vgb_alert_row *alert,
         vgb_rrow *row, vg_reason *why)
{
    const vg_receipt_item *it = vg_receipt_item_at(r, 0);
    vg_receipt_kind kind = vg_receipt_kind_of(r);
    vg_err rc = vgb_store_find_alert(sv->store, it->alert_id, alert);
    if (rc == VG_OK) {
        rc = vgb_store_rrow(sv->store, alert->seq, from->agency, row);
    }
    if (rc == VG_ERR_NOT_FOUND) { /* not its alert looks exactly like no such alert */
        return vgb_unknown_alert(why, from->agency);
    }
    if (rc == VG_OK && kind == VG_RECEIPT_UNOPENABLE && row->state != VGB_PENDING &&
        row->state != VGB_UNOPENABLE) {
        return vg_reason_set(why, VG_ERR_CONFLICT,
                             "%s already receipted this alert as delivered (its software opened "
                             "it): it cannot be unopenable now",
                             from->agency);
    }
    if (rc == VG_OK && row->state == VGB_UNOPENABLE && kind != VG_RECEIPT_UNOPENABLE) {
        return vg_reason_set(why, VG_ERR_NOT_RECIPIENT,
                             "%s said it cannot open this alert: it never received its content; "
                             "the sender must send it again",
                             from->agency);
    }
    if (rc == VG_OK && row->state == VGB_PENDING && kind != VG_RECEIPT_UNOPENABLE) {
        return vg_reason_set(why, VG_ERR_NOT_RECIPIENT,
                             "this alert has not been delivered to %s yet: receive it first "
                             "(vigil-agent listen)",
                             from->agency);
    }
    if (rc == VG_OK && memcmp(alert->envelope_hash, it->envelope_hash, VG_HASH_LEN) != 0) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "the receipt names a different envelope than the one stored");
    }
    return rc == VG_OK ? VG_OK : vg_reason_set(why, rc, "store error; send it again later");
}

/* The deadline after this receipt: IN_PROGRESS extends it once, from now;
 * DECLINED and UNOPENABLE bring it forward to now (they escalate like an
 * overdue alert). */
static int64_t
s_new_deadline(const vgb_services *sv, uint64_t seq, const vgb_rrow *row, vg_receipt_kind kind,
               bool *extended, vg_audit_deadline *dl)
{
    int64_t now = vg_clock_wall_ms(sv->clock);
    *extended = false;
    if (kind == VG_RECEIPT_DECLINED || kind == VG_RECEIPT_UNOPENABLE) {
        return row->deadline_ms > 0 && row->deadline_ms < now ? row->deadline_ms : now;
    }
    if (kind == VG_RECEIPT_IN_PROGRESS && !row->progress_used) {
        vgb_alert_meta m; /* its own rule again, from now: its calendar and hours */
        if (vgb_store_alert_meta(sv->store, seq, &m) == VG_OK &&
            vgb_tracking_deadline_meta(sv->tracking, NULL, dl, row->agency, &m, now) == VG_OK) {
            *extended = true;
            snprintf(dl->cover_for, sizeof dl->cover_for, "%s", row->cover_for);
            return (int64_t)dl->deadline_ms;
        }
    }
    return row->deadline_ms;
}

/* Applies the receipt to the row, stores it and records the fact. */
static vg_err
s_apply(const vgb_services *sv, const vgb_from *from, const vg_receipt *r, uint64_t seq,
        vgb_rrow *row, bool *extended)
{
    vg_receipt_kind kind = vg_receipt_kind_of(r);
    int64_t now = vg_clock_wall_ms(sv->clock);
    vg_audit_deadline dl;
    int64_t deadline = s_new_deadline(sv, seq, row, kind, extended, &dl);
    char failure[VG_SHORT_TEXT_MAX + 64] = ""; /* the row's reason: "bad_key: share by police" */
    if (kind == VG_RECEIPT_UNOPENABLE) {
        snprintf(failure, sizeof failure, "%s%s%s", vg_open_failure_name(vg_receipt_failure(r)),
                 vg_receipt_reason(r)[0] ? ": " : "", vg_receipt_reason(r));
    }
    vg_err rc = vgb_store_apply_receipt(
        sv->store, seq, from->agency, s_state_of(kind), now, vg_receipt_officer(r),
        vg_receipt_note(r), kind == VG_RECEIPT_UNOPENABLE ? failure : vg_receipt_reason(r),
        deadline);
    if (rc == VG_OK && *extended) { /* a new deadline: escalation starts again from it */
        rc = vgb_store_set_escalation(sv->store, seq, from->agency, 0, now);
    }
    if (rc == VG_OK) {
        rc = vgb_store_insert_receipt(sv->store, r, &seq, 1, now);
    }
    bool complete = false;
    if (rc == VG_OK && kind == VG_RECEIPT_ACKNOWLEDGED) {
        rc = vgb_store_check_complete(sv->store, seq, now, &complete);
    }
    if (rc != VG_OK) {
        vgb_batch_fail(sv->batch); /* the row may have changed: nothing of it commits */
        return rc;
    }
    if ((rc = vgb_record_receipt(sv->record, seq, from->agency, r, complete,
                                 *extended ? &dl : NULL)) != VG_OK) {
        return rc;
    }
    if (kind != VG_RECEIPT_ACKNOWLEDGED &&
        vgb_store_rrow(sv->store, seq, from->agency, row) == VG_OK) {
        vgb_tracking_watch(sv->tracking, row); /* the new deadline, or escalation of a decline */
    }
    if (kind == VG_RECEIPT_UNOPENABLE && from->agency_idx >= 0) {
        vgb_batch_after(sv->batch, (size_t)from->agency_idx, seq); /* its slot is free */
    }
    return VG_OK;
}

static void
s_acted(const vgb_services *sv, const vgb_from *from, const vg_receipt *r)
{
    vg_reason why = {{0}};
    vgb_alert_row alert;
    vgb_rrow row;
    const uint8_t *id = vg_receipt_item_at(r, 0)->alert_id;
    vg_err rc = vgb_batch_txn(sv->batch)
                    ? VG_OK
                    : vg_reason_set(&why, VG_ERR_INTERNAL, "store unavailable");
    if (rc == VG_OK) {
        rc = s_target(sv, from, r, &alert, &row, &why);
    }
    if (rc != VG_OK) {
        vgb_refuse(sv, from, NULL, id, rc, why.text, NULL, "receipt.reject");
        return;
    }
    if (row.state == VGB_UNOPENABLE) { /* said before: its slot, if any, is free again */
        if (from->agency_idx >= 0) {
            vgb_batch_after(sv->batch, (size_t)from->agency_idx, alert.seq);
        }
        vgb_batch_confirm(sv->batch, from, id, VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE, 0,
                          "already recorded as unopenable; nothing changed", NULL);
        return;
    }
    if (row.state == VGB_ACKNOWLEDGED) {
        char when[VG_TIME_STR_LEN];
        vg_time_format(when, sizeof when, row.acked_ms);
        snprintf(why.text, sizeof why.text, "already acknowledged by %s at %s; nothing changed",
                 from->agency, when);
        vgb_batch_confirm(sv->batch, from, id, VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE, 0,
                          why.text, NULL);
        return;
    }
    bool extended = false;
    if (s_apply(sv, from, r, alert.seq, &row, &extended) != VG_OK) {
        vgb_refuse(sv, from, NULL, id, VG_ERR_INTERNAL, "store error; send it again later", NULL,
                   "receipt.reject");
        return;
    }
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, id);
    vg_log(VG_LOG_INFO, "broker", "receipt.accept", "agency=%s alert=%s kind=%s", from->agency,
           idhex, vg_receipt_kind_name(vg_receipt_kind_of(r)));
    const char *note = vg_receipt_kind_of(r) != VG_RECEIPT_IN_PROGRESS ? ""
                       : extended                                      ? "deadline extended once"
                                  : "recorded; the deadline was already extended once and is "
                                    "not extended again";
    vgb_batch_confirm(sv->batch, from, id, VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED, 0, note, NULL);
}

/* ---- the frame ------------------------------------------------------------------------ */

void
vgb_handle_receipt(const vgb_services *sv, const vgb_from *from, const ProtobufCBinaryData *bytes)
{
    vg_receipt *r = NULL;
    vg_reason why = {{0}};
    vg_err rc = vg_receipt_verify(&r, bytes->data, bytes->len, sv->doc, &why);
    if (rc == VG_OK && strcmp(vg_receipt_agency(r), from->agency) != 0) {
        rc = vg_reason_set(&why, VG_ERR_SENDER_MISMATCH,
                           "receipt by '%s' arrived on the connection of '%s'",
                           vg_receipt_agency(r), from->agency);
    }
    if (rc == VG_OK) { /* a receipt says when: the record must not say 1970 */
        rc = vgb_check_skew(sv, vg_receipt_created_ms(r), "receipt", &why);
    }
    if (rc != VG_OK) {
        vgb_refuse(sv, from, NULL, r ? vg_receipt_item_at(r, 0)->alert_id : NULL, rc, why.text,
                   NULL, "receipt.reject");
    } else if (vg_receipt_kind_of(r) == VG_RECEIPT_DELIVERED) {
        s_delivered(sv, from, r);
    } else {
        s_acted(sv, from, r);
    }
    vg_receipt_destroy(&r);
}
