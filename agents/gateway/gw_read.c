/*
 * gw_read.c — what the gateway answers about alerts: GET /v1/alerts (the
 * outstanding list), GET /v1/alerts/{id} (its tracking as JSON, or the
 * alert as CAP 1.2 to an agency that may read it) and GET
 * /v1/alerts/{id}/receipts/{agency} (a recipient's receipt, as JSON or as a
 * CAP Ack). The broker decides who may see what: a non-party gets 404, the
 * same as for an id that does not exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gateway.h"
#include "gw_cap.h"
#include "vigil/agent_relay.h"
#include "vigil/clock.h"
#include "vigil/track_json.h"
#include "vigil/util.h"

static int64_t
s_now(void)
{
    return vg_clock_wall_ms(vg_clock_system());
}

/* "1"/"true" and "0"/"false"; false with a problem queued otherwise. */
static bool
s_flag(gw_req *r, const char *name, bool *out, enum MHD_Result *res)
{
    const char *v = gw_query(r, name);
    if (v == NULL || strcmp(v, "0") == 0 || strcmp(v, "false") == 0) {
        *out = false;
        return true;
    }
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0) {
        *out = true;
        return true;
    }
    *res = gw_problem(r, 400, "invalid_query", NULL, "a flag is 1 or 0", name, "1, 0, true, false");
    return false;
}

static enum MHD_Result
s_query_failed(gw_req *r, vg_err err, const vg_reason *why)
{
    if (err == VG_ERR_UNKNOWN_ALERT || err == VG_ERR_NOT_RECIPIENT) {
        return gw_problem(r, 404, "unknown_alert", NULL,
                          "no alert with this id that this agency may see", "id", NULL);
    }
    if (err == VG_ERR_TIMEOUT) {
        return gw_problem(r, 504, "broker_timeout", NULL,
                          "the broker did not answer in time; try again", NULL, NULL);
    }
    return gw_problem_err(r, err, why->text);
}

enum MHD_Result
gw_handle_list(gw_req *r)
{
    bool outstanding = true, overdue = false;
    enum MHD_Result res = MHD_YES;
    if (gw_query(r, "outstanding") != NULL && !s_flag(r, "outstanding", &outstanding, &res)) {
        return res;
    }
    if (!s_flag(r, "overdue", &overdue, &res)) {
        return res;
    }
    if (!outstanding) {
        return gw_problem(r, 400, "invalid_query", NULL,
                          "the gateway lists outstanding alerts; ask for one alert by id",
                          "outstanding", "1");
    }
    vga_agent *ag = gw_take_agent(r, &res);
    if (ag == NULL) {
        return res;
    }
    vga_status_list list;
    vg_reason why = {{0}};
    vg_err err = vga_outstanding(ag, GW_QUERY_WAIT_MS, &list, &why);
    if (err != VG_OK) {
        gw_pool_give(r->g->pool, ag);
        return s_query_failed(r, err, &why);
    }
    int64_t now = s_now();
    vga_status_view *views = NULL;
    size_t n = 0;
    char *text = NULL;
    if (vga_status_views_outstanding(&views, &n, ag, &list, overdue, now) == VG_OK) {
        if (vga_status_views_to_json(&text, views, n, now) != VG_OK) {
            text = NULL;
        }
    }
    vga_status_views_free(views, n);
    vga_status_list_fini(&list);
    gw_pool_give(r->g->pool, ag);
    return gw_reply_json(r, 200, text, NULL);
}

/* ---- one alert --------------------------------------------------------------------------------
 */

/* The CAP reference of a referenced alert: from the inbox, else the broker. */
static bool
s_resolve(void *ctx, const uint8_t id[VG_ALERT_ID_LEN], char *triple, size_t len)
{
    vga_agent *ag = ctx;
    vga_inbox_item it;
    bool found = false;
    if (vga_inbox_read(ag, id, &it, &found) == VG_OK && found) {
        bool ok = it.open_rc == VG_OK;
        if (ok) {
            gw_cap_triple(triple, len, &it.alert);
        }
        vga_inbox_item_fini(&it);
        if (ok) {
            return true;
        }
    }
    vga_alert_status st;
    vg_reason why = {{0}};
    if (vga_status(ag, id, GW_QUERY_WAIT_MS, &st, &why) != VG_OK) {
        return false;
    }
    vg_alert a = {0};
    bool ok = st.envelope != NULL && vga_status_open(ag, &st, &a, &why) == VG_OK;
    if (ok) {
        gw_cap_triple(triple, len, &a);
    }
    vg_alert_fini(&a);
    vga_alert_status_fini(&st);
    return ok;
}

/* Opens alert id as this agency may: from the inbox, else through the
 * broker (the sender's own alerts, shares). *found false: not readable. */
static vg_err
s_open(vga_agent *ag, const uint8_t id[VG_ALERT_ID_LEN], vg_alert *out, bool *sealed,
       vg_reason *why)
{
    vga_inbox_item it;
    bool found = false;
    *sealed = false;
    if (vga_inbox_read(ag, id, &it, &found) == VG_OK && found && it.open_rc == VG_OK) {
        *out = it.alert; /* taken */
        memset(&it.alert, 0, sizeof it.alert);
        vga_inbox_item_fini(&it);
        return VG_OK;
    }
    if (found) {
        vga_inbox_item_fini(&it);
    }
    vga_alert_status st;
    vg_err err = vga_status(ag, id, GW_QUERY_WAIT_MS, &st, why);
    if (err != VG_OK) {
        return err;
    }
    if (st.envelope == NULL) {
        *sealed = true;
    } else {
        err = vga_status_open(ag, &st, out, why);
    }
    vga_alert_status_fini(&st);
    return err;
}

static enum MHD_Result
s_alert_cap(gw_req *r, vga_agent *ag)
{
    vg_alert a = {0};
    bool sealed = false;
    vg_reason why = {{0}};
    vg_err err = s_open(ag, r->alert_id, &a, &sealed, &why);
    enum MHD_Result res;
    if (err != VG_OK) {
        res = s_query_failed(r, err, &why);
    } else if (sealed) {
        res = gw_problem(r, 403, "sealed", NULL,
                         "this agency may see the alert's tracking but cannot read it", NULL, NULL);
    } else {
        char *xml = NULL;
        size_t len = 0;
        err = gw_cap_export(&xml, &len, &a, s_resolve, ag);
        res = err == VG_OK ? gw_reply(r, 200, "application/cap+xml", xml, len, NULL)
                           : gw_problem_err(r, err, "cannot write the alert as CAP");
    }
    vg_alert_fini(&a);
    return res;
}

enum MHD_Result
gw_handle_alert(gw_req *r)
{
    enum MHD_Result res = MHD_YES;
    vga_agent *ag = gw_take_agent(r, &res);
    if (ag == NULL) {
        return res;
    }
    if (gw_wants_cap(r)) {
        res = s_alert_cap(r, ag);
        gw_pool_give(r->g->pool, ag);
        return res;
    }
    vga_alert_status st;
    vg_reason why = {{0}};
    vg_err err = vga_status(ag, r->alert_id, GW_QUERY_WAIT_MS, &st, &why);
    if (err != VG_OK) {
        gw_pool_give(r->g->pool, ag);
        return s_query_failed(r, err, &why);
    }
    int64_t now = s_now();
    vga_status_view v;
    vga_status_view_init(&v, ag, &st, now);
    char *text = NULL;
    if (vga_status_view_to_json(&text, &v, now) != VG_OK) {
        text = NULL;
    }
    vga_status_view_fini(&v);
    vga_alert_status_fini(&st);
    gw_pool_give(r->g->pool, ag);
    return gw_reply_json(r, 200, text, NULL);
}

/* ---- a receipt ----------------------------------------------------------------------------------
 */

static json_t *
s_time(int64_t ms)
{
    if (ms <= 0) {
        return json_null();
    }
    char buf[VG_TIME_STR_LEN];
    vg_time_format(buf, sizeof buf, ms);
    return json_string(buf);
}

static json_t *
s_text(const char *t)
{
    json_t *s = t && t[0] ? json_string(t) : NULL;
    return s ? s : json_null();
}

static enum MHD_Result
s_receipt_answer(gw_req *r, vga_agent *ag, const vga_alert_status *st,
                 const vga_recipient_status *rs)
{
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, st->id);
    if (!gw_wants_cap(r)) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "alert_id", idhex,
                              "agency", rs->agency, "state", vga_state_name(rs->state), "delivered",
                              s_time(rs->delivered_ms), "acknowledged", s_time(rs->acknowledged_ms),
                              "officer", s_text(rs->officer), "note", s_text(rs->note), "reason",
                              s_text(rs->reason));
        char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        return gw_reply_json(r, 200, text, NULL);
    }
    char triple[GW_CAP_TRIPLE_MAX];
    vg_alert a = {0};
    vg_reason why = {{0}};
    if (st->envelope != NULL && vga_status_open(ag, st, &a, &why) == VG_OK) {
        gw_cap_triple(triple, sizeof triple, &a);
    } else { /* sealed to us: refer to it by vigil's own identity */
        vg_alert bare = {0};
        memcpy(bare.id, st->id, VG_ALERT_ID_LEN);
        bare.sender = (char *)st->sender;
        bare.created_ms = st->created_ms;
        gw_cap_triple(triple, sizeof triple, &bare);
    }
    vg_alert_fini(&a);
    char *xml = NULL;
    size_t len = 0;
    vg_err err = gw_cap_export_ack(&xml, &len, triple, st->id, st->status, st->sender, rs);
    if (err == VG_ERR_NOT_FOUND) {
        return gw_problem(r, 404, "no_receipt", NULL,
                          "this recipient has not receipted the alert yet (pending)", "agency",
                          NULL);
    }
    return err == VG_OK ? gw_reply(r, 200, "application/cap+xml", xml, len, NULL)
                        : gw_problem_err(r, err, "cannot write the receipt as CAP");
}

enum MHD_Result
gw_handle_receipts(gw_req *r)
{
    enum MHD_Result res = MHD_YES;
    vga_agent *ag = gw_take_agent(r, &res);
    if (ag == NULL) {
        return res;
    }
    vga_alert_status st;
    vg_reason why = {{0}};
    vg_err err = vga_status(ag, r->alert_id, GW_QUERY_WAIT_MS, &st, &why);
    if (err != VG_OK) {
        res = s_query_failed(r, err, &why);
    } else {
        const vga_recipient_status *rs = NULL;
        for (size_t i = 0; i < st.n_recipients && rs == NULL; i++) {
            rs = strcmp(st.recipients[i].agency, r->agency) == 0 ? &st.recipients[i] : NULL;
        }
        res = rs ? s_receipt_answer(r, ag, &st, rs)
                 : gw_problem(r, 404, "not_a_recipient", NULL,
                              "this agency is not a recipient of the alert", "agency", NULL);
        vga_alert_status_fini(&st);
    }
    gw_pool_give(r->g->pool, ag);
    return res;
}
