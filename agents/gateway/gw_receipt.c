/*
 * gw_receipt.c — POST /v1/alerts/{id}/ack | progress | decline | share:
 * the receipts from people that vigil-agent ack/progress/decline/share
 * make, signed by the agency and confirmed by the broker.
 *
 * Bodies (JSON; other keys are refused, naming them):
 *   ack       {"officer": NAME, "note": TEXT?}     the officer is required
 *   progress  {"reason": TEXT, "officer": NAME?}
 *   decline   {"reason": TEXT, "officer": NAME?}
 *   share     {"to": AGENCY, "reason": TEXT, "officer": NAME?}
 * The signed receipt holds the officer only for ack (as the CLI's); for the
 * others the officer named is recorded in the gateway's log with the
 * request, so the agency knows who asked.
 *
 * From the web console (an officer's session) the officer is the one logged
 * in, never a name in the body ('officer' is refused): the ack carries their
 * name, and the reason of progress, decline and share ends with
 * " (by NAME)", so every agency sees who acted, not only this one's log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gateway.h"
#include "vigil/log.h"
#include "vigil/util.h"

typedef struct s_body {
    const char *officer; /* borrowed from the JSON */
    const char *note;
    const char *reason;
    const char *to;
} s_body;

/* Reads the body into b (strings borrowed from *doc); a problem queued otherwise. */
static bool
s_parse(gw_req *r, json_t **doc, s_body *b, enum MHD_Result *res)
{
    static const char *const keys[] = {"officer", "note", "reason", "to"};
    const char *want = strcmp(r->verb, "ack") == 0     ? "officer, note"
                       : strcmp(r->verb, "share") == 0 ? "to, reason, officer"
                                                       : "reason, officer";
    json_error_t jerr;
    *doc = r->body ? json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (*doc == NULL || !json_is_object(*doc)) {
        char detail[256];
        snprintf(detail, sizeof detail, "the body must be one JSON object with %s%s%s", want,
                 *doc ? "" : ": ", *doc ? "" : (r->body ? jerr.text : "no body"));
        *res = gw_problem(r, 400, "invalid_json", NULL, detail, NULL, want);
        return false;
    }
    const char *key;
    json_t *v;
    json_object_foreach(*doc, key, v)
    {
        const char **slot = NULL;
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            if (strcmp(key, keys[i]) == 0 && strstr(want, keys[i]) != NULL) {
                slot = i == 0 ? &b->officer : i == 1 ? &b->note : i == 2 ? &b->reason : &b->to;
            }
        }
        char detail[160];
        if (slot == NULL) {
            snprintf(detail, sizeof detail, "unknown key '%.64s' for %s", key, r->verb);
            *res = gw_problem(r, 400, "invalid_json", NULL, detail, key, want);
            return false;
        }
        if (!json_is_string(v) || strlen(json_string_value(v)) > VG_SHORT_TEXT_MAX) {
            snprintf(detail, sizeof detail, "'%s' must be text of at most %d bytes", key,
                     VG_SHORT_TEXT_MAX);
            *res = gw_problem(r, 400, "invalid_json", NULL, detail, key, "text");
            return false;
        }
        *slot = json_string_value(v);
    }
    if (r->has_session && b->officer != NULL) {
        *res = gw_problem(r, 400, "invalid_json", NULL,
                          "the officer is the one logged in: leave 'officer' out", "officer", want);
        return false;
    }
    if (r->has_session) {
        b->officer = r->officer;
    }
    const char *missing = strcmp(r->verb, "ack") == 0
                              ? (b->officer && b->officer[0] ? NULL : "officer")
                          : !(b->reason && b->reason[0])                          ? "reason"
                          : strcmp(r->verb, "share") == 0 && !(b->to && b->to[0]) ? "to"
                                                                                  : NULL;
    if (missing != NULL) {
        char detail[128];
        snprintf(detail, sizeof detail, "'%s' is required for %s", missing, r->verb);
        *res = gw_problem(r, 422, "missing_field", NULL, detail, missing, want);
        return false;
    }
    if (b->to != NULL && !vg_agency_id_is_valid(b->to)) {
        *res = gw_problem(r, 422, "unknown_recipient", NULL, "'to' is not an agency id", "to",
                          "an agency id of the network");
        return false;
    }
    return true;
}

static vg_err
s_send(gw_req *r, vga_agent *ag, const s_body *b, vga_confirm *res, vg_reason *why)
{
    int64_t wait = GW_QUERY_WAIT_MS;
    if (strcmp(r->verb, "ack") == 0) {
        return vga_ack(ag, r->alert_id, b->officer, b->note, wait, res, why);
    }
    char reason[VG_SHORT_TEXT_MAX + 1];
    if (r->has_session) { /* every agency sees who acted */
        int n = snprintf(reason, sizeof reason, "%s (by %s)", b->reason, r->officer);
        if (n < 0 || (size_t)n >= sizeof reason) {
            memset(res, 0, sizeof *res);
            return vg_reason_set(why, VG_ERR_INVALID,
                                 "the reason is too long with the officer's name: at most %d "
                                 "bytes in all",
                                 VG_SHORT_TEXT_MAX);
        }
    } else {
        snprintf(reason, sizeof reason, "%s", b->reason ? b->reason : "");
    }
    if (strcmp(r->verb, "progress") == 0) {
        return vga_progress(ag, r->alert_id, reason, wait, res, why);
    }
    if (strcmp(r->verb, "decline") == 0) {
        return vga_decline(ag, r->alert_id, reason, wait, res, why);
    }
    vg_agency card;
    if (vg_netdoc_find(vga_agent_doc(ag), b->to, &card) != VG_OK) {
        memset(res, 0, sizeof *res);
        return vg_reason_set(why, VG_ERR_NOT_FOUND, "'%s' is not an agency of this network", b->to);
    }
    return vga_share(ag, r->alert_id, b->to, reason, wait, res, why);
}

static enum MHD_Result
s_answer(gw_req *r, vg_err rc, const vga_confirm *res, const vg_reason *why)
{
    static const char *const verbs[] = {"ack", "progress", "decline", "share"};
    static const char *const states[] = {"acknowledged", "in_progress", "declined", "shared"};
    size_t k = 0;
    while (k < 3 && strcmp(verbs[k], r->verb) != 0) {
        k++;
    }
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, r->alert_id);
    if (rc == VG_OK) {
        atomic_fetch_add(&r->g->m.receipts[k], 1);
        json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "alert_id", idhex, "agency", r->g->cfg->id,
                              "receipt", states[k], "duplicate", res->duplicate);
        if (o != NULL && res->reason.text[0] != '\0') {
            json_object_set_new(o, "detail", json_string(res->reason.text));
        }
        char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        return gw_reply_json(r, 200, text, NULL);
    }
    if (rc == VG_ERR_TIMEOUT) {
        return gw_problem(r, 504, "broker_timeout", NULL,
                          "the broker did not confirm in time: nothing was recorded; send it "
                          "again (twice is harmless)",
                          NULL, NULL);
    }
    if (rc == VG_ERR_NOT_RECIPIENT || rc == VG_ERR_UNKNOWN_ALERT) {
        return gw_problem(r, 404, "not_in_inbox", NULL, why->text, "id", NULL);
    }
    if (rc == VG_ERR_NOT_FOUND) {
        return gw_problem(r, 422, "unknown_recipient", NULL, why->text, "to",
                          "an agency id of the network");
    }
    if (res->code != VG_OK) {
        return gw_problem(r, res->code == VG_ERR_CONFLICT ? 409 : 422, vg_err_code(res->code), NULL,
                          why->text, NULL, NULL);
    }
    return gw_problem(r, rc == VG_ERR_INVALID ? 422 : 500, vg_err_code(rc), NULL, why->text, NULL,
                      NULL);
}

enum MHD_Result
gw_handle_receipt(gw_req *r)
{
    json_t *doc = NULL;
    s_body b = {0};
    enum MHD_Result res = MHD_YES;
    if (!s_parse(r, &doc, &b, &res)) {
        json_decref(doc);
        return res;
    }
    vga_agent *ag = gw_take_agent(r, &res);
    if (ag != NULL) {
        vga_confirm c = {0};
        vg_reason why = {{0}};
        vg_err rc = s_send(r, ag, &b, &c, &why);
        gw_pool_give(r->g->pool, ag);
        if (b.officer != NULL && (strcmp(r->verb, "ack") != 0 || r->has_session)) {
            char idhex[VG_ALERT_ID_HEX_LEN + 1], officer[80];
            vg_alert_id_hex(idhex, r->alert_id);
            size_t i = 0; /* one printable token for the log line */
            for (; b.officer[i] != '\0' && i + 1 < sizeof officer; i++) {
                unsigned char ch = (unsigned char)b.officer[i];
                officer[i] = ch > 0x20 && ch < 0x7f && ch != '"' ? (char)ch : '_';
            }
            officer[i] = '\0';
            vg_log(VG_LOG_INFO, "gateway", "receipt.officer",
                   "token=%s alert=%s receipt=%s officer=\"%s\" code=%s%s", r->token, idhex,
                   r->verb, officer, vg_err_code(rc), r->has_session ? " via=session" : "");
        }
        res = s_answer(r, rc, &c, &why);
        vga_confirm_fini(&c);
    }
    json_decref(doc);
    return res;
}
