/* sharing.c — a Share: a recipient passes an alert on to one more agency
 * (handlers.h). */
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "query.h"
#include "store_retain.h"
#include "vigil/log.h"
#include "vigil/share.h"

/* Checks that need nothing but the share and the document: who sent it,
 * when, to whom, and under which document its key was sealed. */
static vg_err
s_form(const vgb_services *sv, const vgb_from *from, const vg_share *sh, vg_reason *why)
{
    const char *to = vg_share_to(sh);
    if (strcmp(vg_share_sharer(sh), from->agency) != 0) {
        return vg_reason_set(why, VG_ERR_SENDER_MISMATCH,
                             "share by '%s' arrived on the connection of '%s'", vg_share_sharer(sh),
                             from->agency);
    }
    vg_err rc = vgb_check_skew(sv, vg_share_created_ms(sh), "share", why);
    if (rc == VG_OK && vg_netdoc_is_oversight(sv->doc, to)) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED,
                           "cannot share with '%s': an oversight agency sees every alert's "
                           "metadata and never its content",
                           to);
    }
    if (rc == VG_OK) { /* the key is sealed to `to`'s box key in that document */
        rc = vgb_netdocs_check_sealed(sv->netdocs, vg_share_network_version(sh), &to, 1, why);
    }
    return rc;
}

/* The checks against the store: the sharer received the alert, the share
 * names its envelope, and `to` does not have it yet (VG_ERR_DUPLICATE).
 * *m gets the alert's metadata. */
static vg_err
s_checks(const vgb_services *sv, const vgb_from *from, const vg_share *sh, vgb_alert_row *alert,
         vgb_alert_meta *m, vg_reason *why)
{
    vgb_rrow row;
    vg_err rc = s_form(sv, from, sh, why);
    if (rc != VG_OK) {
        return rc;
    }
    rc = vgb_store_find_alert(sv->store, vg_share_alert_id(sh), alert);
    rc = rc == VG_OK ? vgb_store_alert_meta(sv->store, alert->seq, m) : rc;
    bool sender = rc == VG_OK && strcmp(m->sender, from->agency) == 0;
    rc = rc == VG_OK ? vgb_store_rrow(sv->store, alert->seq, from->agency, &row) : rc;
    if (rc == VG_ERR_NOT_FOUND && !sender) { /* not its alert: as if there were none */
        return vgb_unknown_alert(why, from->agency);
    }
    if (rc == VG_ERR_NOT_FOUND ||
        (rc == VG_OK && (row.state == VGB_PENDING || row.state == VGB_UNOPENABLE))) {
        return vg_reason_set(why, VG_ERR_NOT_RECIPIENT,
                             "only an agency that received this alert can share it%s",
                             sender ? " (its sender adds recipients to a new alert)" : "");
    }
    if (rc == VG_OK && memcmp(alert->envelope_hash, vg_share_envelope_hash(sh), VG_HASH_LEN)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "the share names a different envelope");
    }
    vgb_retain_row kept;
    if (rc == VG_OK && vgb_store_retain_state(sv->store, alert->seq, &kept) == VG_OK &&
        kept.content_gone_ms != 0) { /* its new recipient could be delivered nothing */
        return vg_reason_set(why, VG_ERR_CONFLICT,
                             "this alert's sealed content was purged (retention): the broker "
                             "has nothing left to deliver to %s",
                             vg_share_to(sh));
    }
    if (rc == VG_OK && strcmp(m->sender, vg_share_to(sh)) == 0) {
        return vg_reason_set(why, VG_ERR_DUPLICATE, "%s sent this alert: it has it already",
                             vg_share_to(sh));
    }
    rc = rc == VG_OK ? vgb_store_rrow(sv->store, alert->seq, vg_share_to(sh), &row) : rc;
    if (rc == VG_OK) {
        return vg_reason_set(why, VG_ERR_DUPLICATE, "%s already receives this alert",
                             vg_share_to(sh));
    }
    return rc == VG_ERR_NOT_FOUND ? VG_OK : vg_reason_set(why, rc, "store error");
}

/* Adds `to` as a required recipient with a deadline from now, stores the
 * share and records the fact. */
static vg_err
s_apply(const vgb_services *sv, const vgb_from *from, const vg_share *sh,
        const ProtobufCBinaryData *bytes, uint64_t seq, const vgb_alert_meta *m)
{
    int64_t now = vg_clock_wall_ms(sv->clock);
    const char *to = vg_share_to(sh);
    vg_audit_deadline dl; /* its own, from now: its calendar and hours */
    vg_err rc = vgb_tracking_deadline_meta(sv->tracking, NULL, &dl, to, m, now);
    if (rc != VG_OK) {
        vgb_batch_fail(sv->batch);
        return rc;
    }
    int64_t deadline = (int64_t)dl.deadline_ms;
    rc = vgb_store_add_recipient(sv->store, seq, to, from->agency, deadline);
    rc = rc ? rc
            : vgb_store_insert_share(sv->store, seq, from->agency, to, vg_share_hash(sh),
                                     bytes->data, bytes->len, now);
    if (rc != VG_OK) {
        vgb_batch_fail(sv->batch);
        return rc;
    }
    vgb_delivery_forget(sv->delivery, seq); /* its deliveries carry share records now */
    if ((rc = vgb_record_shared(sv->record, seq, from->agency, to, vg_share_hash(sh), &dl)) !=
        VG_OK) {
        return rc;
    }
    vgb_rrow row = {.seq = seq, .required = true, .state = VGB_PENDING, .deadline_ms = deadline};
    snprintf(row.agency, sizeof row.agency, "%s", to);
    vgb_tracking_watch(sv->tracking, &row);
    int idx = vg_netdoc_index(sv->doc, to);
    if (idx >= 0) {
        vgb_batch_after(sv->batch, (size_t)idx, 0);
    }
    return VG_OK;
}

void
vgb_handle_share(const vgb_services *sv, const vgb_from *from, const ProtobufCBinaryData *bytes)
{
    vg_share *sh = NULL;
    vg_reason why = {{0}};
    vgb_alert_row alert;
    vgb_alert_meta m;
    vg_err rc = vg_share_verify(&sh, bytes->data, bytes->len, sv->doc, &why);
    if (rc == VG_OK && !vgb_batch_txn(sv->batch)) {
        rc = vg_reason_set(&why, VG_ERR_INTERNAL, "store unavailable; send it again later");
    }
    if (rc == VG_OK) {
        rc = s_checks(sv, from, sh, &alert, &m, &why);
    }
    const uint8_t *id = sh ? vg_share_alert_id(sh) : NULL;
    if (rc == VG_ERR_DUPLICATE) {
        vgb_batch_confirm(sv->batch, from, id, VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE, 0,
                          why.text, NULL);
    } else if (rc == VG_OK && (rc = s_apply(sv, from, sh, bytes, alert.seq, &m)) != VG_OK) {
        vgb_refuse(sv, from, NULL, id, rc, "store error; send it again later", NULL,
                   "share.reject");
    } else if (rc != VG_OK) {
        vgb_refuse(sv, from, NULL, id, rc, why.text, NULL, "share.reject");
    } else {
        vg_log(VG_LOG_INFO, "broker", "share.accept", "agency=%s to=%s", from->agency,
               vg_share_to(sh));
        vgb_batch_confirm(sv->batch, from, id, VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED, 0, NULL,
                          NULL);
    }
    vg_share_destroy(&sh);
}
