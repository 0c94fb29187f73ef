/* ask.c — queries on the loop: admitted and queued, answers sent (ask.h). */
#include "ask.h"

#include <string.h>

#include "vigil/log.h"

void
vgb_ask(const vgb_asking *k, const vgb_from *from, const Vigil__Query *q)
{
    vg_reason why = {{0}};
    int64_t now = vg_clock_mono_ms(k->clock);
    vg_err rc =
        from->agency_idx < 0 ? vg_reason_set(&why, VG_ERR_UNKNOWN_SENDER, "who is this?") : VG_OK;
    if (rc == VG_OK) {
        rc = vgb_conns_may_ask(k->conns, (size_t)from->agency_idx, from->agency, from->rid,
                               from->rid_len, now, &why);
    }
    if (rc == VG_OK && from->request_id == 0) {
        return; /* nobody would read the answer */
    }
    if (rc == VG_OK) { /* the document's id: it outlives the frame's */
        vg_agency ag;
        vg_netdoc_agency_at(k->doc, (size_t)from->agency_idx, &ag);
        rc = vgb_reader_submit(k->reader, (size_t)from->agency_idx, ag.id, from->rid, from->rid_len,
                               from->request_id, q, &why);
    }
    if (rc != VG_OK) {
        vg_log(VG_LOG_DEBUG, "broker", "query.refuse", "agency=%s code=%s", from->agency,
               vg_err_code(rc));
        vgb_batch_error(k->batch, from, (Vigil__RejectCode)vg_reject_code(rc), why.text);
    }
    if (rc == VG_ERR_RATE_LIMITED) { /* one that asks on regardless is cut off */
        vgb_conns_refused(k->conns, (size_t)from->agency_idx, from->agency, from->rid,
                          from->rid_len, now);
    }
}

/* An answer from the query thread: sent now, or the connection is cut off
 * when its queue is full (conns.h). */
static void
s_deliver_answer(void *ctx, size_t idx, zmq_msg_t *rid, zmq_msg_t *frame)
{
    const vgb_asking *k = ctx;
    vg_agency ag;
    vg_netdoc_agency_at(k->doc, idx, &ag);
    uint8_t rid_copy[VGB_RID_MAX];
    size_t rid_len = zmq_msg_size(rid) < VGB_RID_MAX ? zmq_msg_size(rid) : VGB_RID_MAX;
    memcpy(rid_copy, zmq_msg_data(rid), rid_len);
    int64_t now = vg_clock_mono_ms(k->clock);
    vg_reason why = {{0}};
    if (vgb_conns_may_ask(k->conns, idx, ag.id, rid_copy, rid_len, now, &why) != VG_OK) {
        return; /* it does not read what it asked for: cut off, nothing more queued for it */
    }
    vg_err rc = vgb_out_send_msg(k->out, rid, frame);
    if (rc == VG_ERR_NOT_FOUND) {
        vg_log(VG_LOG_DEBUG, "broker", "reply.drop", "agency=%s reason=peer_gone", ag.id);
    } else if (rc == VG_ERR_TIMEOUT) {
        vgb_conns_full(k->conns, idx, ag.id, rid_copy, rid_len, now);
    }
}

long
vgb_ask_answers(const vgb_asking *k)
{
    return vgb_reader_service(k->reader, vg_clock_mono_ms(k->clock), s_deliver_answer, (void *)k);
}
