/* handlers.c — what the message handlers share (handlers.h). */
#include "handlers.h"

#include "vigil/log.h"

vg_err
vgb_check_skew(const vgb_services *sv, int64_t created_ms, const char *what, vg_reason *why)
{
    int64_t skew = created_ms - vg_clock_wall_ms(sv->clock);
    uint64_t max = sv->cfg->max_clock_skew_ms;
    if (skew > (int64_t)max || -skew > (int64_t)max) {
        return vg_reason_set(why, VG_ERR_CLOCK_SKEW,
                             "the %s's created time is %lld s from the broker's clock (allowed: "
                             "%llu s); check the sender's clock (NTP)",
                             what, (long long)(skew / 1000), (unsigned long long)(max / 1000));
    }
    return VG_OK;
}

void
vgb_refuse(const vgb_services *sv, const vgb_from *from, const char *claimed,
           const uint8_t *alert_id, vg_err err, const char *reason, const vg_strlist *missing,
           const char *what)
{
    Vigil__RejectCode code = (Vigil__RejectCode)vg_reject_code(err);
    const char *name = vg_err_code(vg_reject_err((int)code)); /* the wire name: "bad_signature" */
    char idhex[VG_ALERT_ID_HEX_LEN + 1] = "-";
    if (alert_id != NULL) {
        vg_alert_id_hex(idhex, alert_id);
    }
    vg_log(VG_LOG_WARN, "broker", what, "agency=%s alert=%s code=%s reason=\"%s\"", from->agency,
           idhex, name, reason);
    (void)vgb_record_rejected(sv->record, from->agency, claimed, alert_id, name, reason);
    vgb_batch_confirm(sv->batch, from, alert_id, VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED, code,
                      reason, missing);
}
