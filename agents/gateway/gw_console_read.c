/*
 * gw_console_read.c — what the web console reads beyond the alert routes:
 *
 *   GET /v1/snapshot           the outstanding list exact as of an event
 *                              number (last_event_seq), with who this
 *                              agency is and the agencies of the network:
 *                              the console's state is this plus every event
 *                              after it (GET /v1/events?after=N)
 *   GET /v1/alerts/{id}/detail the alert's tracking, its content as this
 *                              agency may read it, its share history, and
 *                              the alerts linked to it by incident, subject
 *                              reference or reference, with where each stands
 *
 * Like the other routes, the broker decides who may see what: an alert the
 * agency is no party to is 404, the same as one that does not exist.
 * Linked alerts come from the link index (gw_link): alerts this agency
 * received or published through this gateway; each one's tracking is asked
 * of the broker, which answers only for alerts this agency may see.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "gateway.h"
#include "vigil/agent_relay.h"
#include "vigil/alert_json.h"
#include "vigil/clock.h"
#include "vigil/share.h"
#include "vigil/track_json.h"
#include "vigil/util.h"

#define S_LINKED_MAX 20     /* linked alerts in a detail */
#define S_LINK_WAIT_MS 1000 /* the broker's answer about one linked alert */

static int64_t
s_now(void)
{
    return vg_clock_wall_ms(vg_clock_system());
}

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
    json_t *s = t != NULL && t[0] != '\0' ? json_string(t) : NULL;
    return s != NULL ? s : json_null();
}

/* Dumps o (taken) with "key": raw appended as its last member; raw is
 * JSON text (taken). NULL when out of memory. */
static char *
s_splice(json_t *o, const char *key, char *raw)
{
    char *head =
        o != NULL && raw != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    char *out = NULL;
    size_t hn = head ? strlen(head) : 0;
    if (hn >= 2) {
        size_t n = hn + strlen(key) + strlen(raw) + 8;
        out = malloc(n);
        if (out != NULL) {
            snprintf(out, n, "%.*s%s\"%s\":%s}", (int)(hn - 1), head, hn > 2 ? "," : "", key, raw);
        }
    }
    free(head);
    free(raw);
    return out;
}

/* An error of the broker query, as gw_read.c answers it. */
static enum MHD_Result
s_failed(gw_req *r, vg_err err, const vg_reason *why)
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

/* ---- the snapshot ------------------------------------------------------------------------- */

static json_t *
s_agencies(const vg_netdoc *doc)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < vg_netdoc_n_agencies(doc); i++) {
        vg_agency c;
        vg_netdoc_agency_at(doc, i, &c);
        json_array_append_new(arr, json_pack("{s:s, s:o, s:s, s:b}", "id", c.id, "name",
                                             s_text(c.display_name), "role", c.role, "revoked",
                                             c.revoked));
    }
    return arr;
}

enum MHD_Result
gw_handle_snapshot(gw_req *r)
{
    enum MHD_Result res = MHD_YES;
    vga_agent *ag = gw_take_agent(r, &res);
    if (ag == NULL) {
        return res;
    }
    vga_status_list list;
    vg_reason why = {{0}};
    vg_err err = vga_outstanding(ag, GW_QUERY_WAIT_MS, &list, &why);
    if (err != VG_OK) {
        gw_pool_give(r->g->pool, ag);
        return s_failed(r, err, &why);
    }
    int64_t now = s_now();
    vga_status_view *views = NULL;
    size_t n = 0;
    char *alerts = NULL;
    if (vga_status_views_outstanding(&views, &n, ag, &list, false, now) == VG_OK &&
        vga_status_views_to_json(&alerts, views, n, now) != VG_OK) {
        alerts = NULL;
    }
    vga_status_views_free(views, n);
    const vg_netdoc *doc = vga_agent_doc(ag);
    vg_agency me = {0};
    bool known = vg_netdoc_find(doc, r->g->cfg->id, &me) == VG_OK;
    json_t *o =
        json_pack("{s:s, s:o, s:s, s:b, s:o, s:I, s:o}", "agency", r->g->cfg->id, "agency_name",
                  s_text(known ? me.display_name : NULL), "role", known ? me.role : "", "oversight",
                  known && strcmp(me.role, "oversight") == 0, "time", s_time(now), "last_event_seq",
                  (json_int_t)list.last_event_seq, "agencies", s_agencies(doc));
    vga_status_list_fini(&list);
    gw_pool_give(r->g->pool, ag);
    return gw_reply_json(r, 200, s_splice(o, "alerts", alerts), NULL);
}

/* ---- the detail ------------------------------------------------------------------------------ */

/* The alert's content as this agency may read it (inbox first, else the
 * envelope the broker gave with the status). */
static json_t *
s_content(vga_agent *ag, const vga_alert_status *st, vg_alert *out, bool *opened)
{
    vga_inbox_item it;
    bool found = false;
    vg_reason why = {{0}};
    *opened = false;
    if (vga_inbox_read(ag, st->id, &it, &found) == VG_OK && found) {
        if (it.open_rc == VG_OK) {
            *out = it.alert; /* taken */
            memset(&it.alert, 0, sizeof it.alert);
            *opened = true;
        } else {
            why = it.open_why;
        }
        vga_inbox_item_fini(&it);
    }
    if (!*opened && st->envelope != NULL) {
        *opened = vga_status_open(ag, st, out, &why) == VG_OK;
    }
    if (*opened) {
        return json_null();
    }
    return st->envelope == NULL && !found
               ? json_string("sealed: this agency may follow the alert but not read it")
               : s_text(why.text[0] ? why.text : "it could not be opened");
}

static json_t *
s_shares(vga_agent *ag, const vga_alert_status *st)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < st->n_shares; i++) {
        vg_share *sh = NULL;
        vg_reason why = {{0}};
        if (vg_share_verify(&sh, st->shares[i], st->share_lens[i], vga_agent_doc(ag), &why) !=
            VG_OK) {
            continue; /* the broker's copy does not verify: shown from the rows below */
        }
        json_array_append_new(arr,
                              json_pack("{s:s, s:s, s:o, s:o}", "sharer", vg_share_sharer(sh), "to",
                                        vg_share_to(sh), "reason", s_text(vg_share_reason(sh)),
                                        "time", s_time(vg_share_created_ms(sh))));
        vg_share_destroy(&sh);
    }
    for (size_t i = 0; arr != NULL && i < st->n_recipients; i++) {
        const vga_recipient_status *rs = &st->recipients[i];
        bool listed = rs->shared_by[0] == '\0';
        for (size_t k = 0; !listed && k < json_array_size(arr); k++) {
            const char *to = json_string_value(json_object_get(json_array_get(arr, k), "to"));
            listed = to != NULL && strcmp(to, rs->agency) == 0;
        }
        if (!listed) { /* a share this agency cannot see the record of */
            json_array_append_new(arr, json_pack("{s:s, s:s, s:n, s:n}", "sharer", rs->shared_by,
                                                 "to", rs->agency, "reason", "time"));
        }
    }
    return arr;
}

/* Where a linked alert stands, in short: its recipients' states and who
 * acknowledged. */
static json_t *
s_link_tracking(const vga_alert_status *st, int64_t now)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < st->n_recipients; i++) {
        const vga_recipient_status *rs = &st->recipients[i];
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:b, s:b, s:b, s:I, s:o, s:o, s:o, s:o}", "agency",
                           rs->agency, "state", vga_state_name(rs->state), "required", rs->required,
                           "missed_deadline", rs->overdue, "late", vga_recipient_is_late(rs, now),
                           "escalation_level", (json_int_t)rs->escalation_level, "deadline",
                           s_time(rs->deadline_ms), "acknowledged", s_time(rs->acknowledged_ms),
                           "officer", s_text(rs->officer), "reason", s_text(rs->reason)));
    }
    return arr;
}

/* One linked alert: what it is (from the inbox), how it is linked, and
 * where it stands (from the broker; *broker_ok false once it stops
 * answering, so one slow broker costs one wait, not twenty). */
static json_t *
s_linked_one(vga_agent *ag, const uint8_t id[VG_ALERT_ID_LEN], json_t *relations, bool *broker_ok,
             int64_t now)
{
    char hex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(hex, id);
    json_t *o = json_pack("{s:s, s:o}", "id", hex, "relations", relations);
    vga_inbox_item it;
    bool found = false;
    if (o != NULL && vga_inbox_read(ag, id, &it, &found) == VG_OK && found) {
        if (it.open_rc == VG_OK) {
            json_object_set_new(o, "headline", s_text(it.alert.headline));
            json_object_set_new(o, "sender", s_text(it.alert.sender));
            json_object_set_new(o, "sent", s_time(it.alert.created_ms));
            json_object_set_new(o, "severity", json_string(vg_severity_name(it.alert.severity)));
        }
        vga_inbox_item_fini(&it);
    }
    vga_alert_status st;
    vg_reason why = {{0}};
    vg_err err = *broker_ok ? vga_status(ag, id, S_LINK_WAIT_MS, &st, &why) : VG_ERR_TIMEOUT;
    if (err == VG_OK) {
        if (json_object_get(o, "sender") == NULL) {
            json_object_set_new(o, "sender", json_string(st.sender));
            json_object_set_new(o, "sent", s_time(st.created_ms));
            json_object_set_new(o, "severity", json_string(vg_severity_name(st.severity)));
        }
        json_object_set_new(o, "complete", json_boolean(st.complete));
        json_object_set_new(o, "recipients", s_link_tracking(&st, now));
        json_object_set_new(o, "tracking", json_null());
        vga_alert_status_fini(&st);
    } else {
        *broker_ok = *broker_ok && err != VG_ERR_TIMEOUT;
        json_object_set_new(o, "recipients", json_null());
        json_object_set_new(o, "tracking",
                            json_string(err == VG_ERR_TIMEOUT ? "the broker did not answer"
                                                              : "the broker does not say"));
    }
    return o;
}

/* The relation of a hit's key, in words for people (the alert's own
 * spelling when it is one of its keys). */
static json_t *
s_relations(const gw_link_hit *h, char (*keys)[GW_LINK_KEY_MAX], char (*labels)[GW_LINK_KEY_MAX],
            size_t n_keys, const char *self_hex)
{
    json_t *arr = json_array();
    for (size_t k = 0; arr != NULL && k < h->n_keys; k++) {
        const char *label = NULL;
        for (size_t i = 0; label == NULL && i < n_keys; i++) {
            label = strcmp(keys[i], h->keys[k]) == 0 ? labels[i] : NULL;
        }
        char ref[GW_LINK_KEY_MAX];
        snprintf(ref, sizeof ref, "ref:%s", self_hex);
        json_array_append_new(arr,
                              json_string(strcmp(h->keys[k], ref) == 0 ? "references this alert"
                                          : label                      ? label
                                                                       : "linked"));
    }
    return arr;
}

static json_t *
s_linked(gw_req *r, vga_agent *ag, const vg_alert *a, int64_t now)
{
    json_t *arr = json_array();
    char(*keys)[GW_LINK_KEY_MAX] = malloc((GW_LINK_KEYS_MAX + 1) * sizeof *keys);
    char(*labels)[GW_LINK_KEY_MAX] = malloc((GW_LINK_KEYS_MAX + 1) * sizeof *labels);
    if (arr == NULL || keys == NULL || labels == NULL) {
        free(keys);
        free(labels);
        return arr;
    }
    char hex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(hex, a->id);
    size_t n = gw_link_keys(a, false, keys, labels, GW_LINK_KEYS_MAX);
    snprintf(keys[n], GW_LINK_KEY_MAX, "ref:%s", hex); /* alerts that reference this one */
    snprintf(labels[n++], GW_LINK_KEY_MAX, "references this alert");
    const char *ptrs[GW_LINK_KEYS_MAX + 1];
    for (size_t i = 0; i < n; i++) {
        ptrs[i] = keys[i];
    }
    gw_link_hit *hits = NULL;
    size_t n_hits = 0;
    bool broker_ok = true;
    if (gw_db_links_find(r->g->db, a->id, ptrs, n, S_LINKED_MAX, &hits, &n_hits) == VG_OK) {
        for (size_t i = 0; i < n_hits; i++) {
            json_array_append_new(arr, s_linked_one(ag, hits[i].id,
                                                    s_relations(&hits[i], keys, labels, n, hex),
                                                    &broker_ok, now));
        }
    }
    for (size_t i = 0; i < a->n_references && json_array_size(arr) < S_LINKED_MAX; i++) {
        bool seen = false; /* the alerts this one references, unless found above */
        for (size_t k = 0; k < n_hits && !seen; k++) {
            seen = memcmp(hits[k].id, a->references[i], VG_ALERT_ID_LEN) == 0;
        }
        if (!seen) {
            json_array_append_new(arr, s_linked_one(ag, a->references[i],
                                                    json_pack("[s]", "referenced by this alert"),
                                                    &broker_ok, now));
        }
    }
    free(hits);
    free(keys);
    free(labels);
    return arr;
}

enum MHD_Result
gw_handle_detail(gw_req *r)
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
        gw_pool_give(r->g->pool, ag);
        return s_failed(r, err, &why);
    }
    int64_t now = s_now();
    vga_status_view v;
    vga_status_view_init(&v, ag, &st, now);
    char *status = NULL, *content = NULL;
    if (vga_status_view_to_json(&status, &v, now) != VG_OK) {
        status = NULL;
    }
    vga_status_view_fini(&v);
    vg_alert a = {0};
    bool opened = false;
    json_t *open_error = s_content(ag, &st, &a, &opened);
    if (opened && vga_alert_to_json(&content, &a) != VG_OK) {
        content = NULL;
    }
    json_t *o =
        json_pack("{s:o, s:o, s:o, s:o}", "open_error", open_error, "shares", s_shares(ag, &st),
                  "linked", opened ? s_linked(r, ag, &a, now) : json_array(), "alert",
                  content ? json_loads(content, 0, NULL) : json_null());
    vg_alert_fini(&a);
    if (content != NULL) {
        sodium_memzero(content, strlen(content));
        free(content);
    }
    vga_alert_status_fini(&st);
    gw_pool_give(r->g->pool, ag);
    return gw_reply_json(r, 200, s_splice(o, "status", status), NULL);
}
