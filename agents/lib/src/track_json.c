/* track_json.c — the JSON forms of the broker's tracking (see vigil/track_json.h). */
#include "vigil/track_json.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vigil/clock.h"
#include "vigil/util.h"
#include "vigil/wire.h"

bool
vga_recipient_is_late(const vga_recipient_status *r, int64_t now_ms)
{
    return r->required && r->state != VGA_ACKNOWLEDGED &&
           (r->overdue || (r->deadline_ms > 0 && now_ms > r->deadline_ms));
}

void
vga_status_view_init(vga_status_view *v, vga_agent *a, const vga_alert_status *st, int64_t now_ms)
{
    memset(v, 0, sizeof *v);
    v->st = st;
    for (size_t i = 0; i < st->n_recipients; i++) {
        const vga_recipient_status *r = &st->recipients[i];
        v->late |= vga_recipient_is_late(r, now_ms);
        if (r->required && r->state != VGA_ACKNOWLEDGED && r->deadline_ms > 0 &&
            (v->open_deadline_ms == 0 || r->deadline_ms < v->open_deadline_ms)) {
            v->open_deadline_ms = r->deadline_ms;
        }
    }
    vg_alert al = {0};
    vg_reason why = {{0}};
    if (st->envelope != NULL && vga_status_open(a, st, &al, &why) == VG_OK) {
        v->headline = vg_strdup(al.headline ? al.headline : "");
    }
    vg_alert_fini(&al);
}

void
vga_status_view_fini(vga_status_view *v)
{
    if (v != NULL) {
        free(v->headline);
        v->headline = NULL;
    }
}

/* Overdue first, then the earliest open deadline, then the oldest. */
static int
s_view_cmp(const void *x, const void *y)
{
    const vga_status_view *a = x, *b = y;
    if (a->late != b->late) {
        return a->late ? -1 : 1;
    }
    int64_t da = a->open_deadline_ms ? a->open_deadline_ms : INT64_MAX;
    int64_t db = b->open_deadline_ms ? b->open_deadline_ms : INT64_MAX;
    if (da != db) {
        return da < db ? -1 : 1;
    }
    return (a->st->accepted_ms > b->st->accepted_ms) - (a->st->accepted_ms < b->st->accepted_ms);
}

vg_err
vga_status_views_outstanding(vga_status_view **out, size_t *n_out, vga_agent *a,
                             const vga_status_list *l, bool overdue_only, int64_t now_ms)
{
    vga_status_view *views = calloc(l->n ? l->n : 1, sizeof *views);
    if (views == NULL) {
        return VG_ERR_NOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->items[i].complete) {
            continue;
        }
        vga_status_view_init(&views[n], a, &l->items[i], now_ms);
        if (overdue_only && !views[n].late) {
            vga_status_view_fini(&views[n]);
            continue;
        }
        n++;
    }
    qsort(views, n, sizeof *views, s_view_cmp);
    *out = views;
    *n_out = n;
    return VG_OK;
}

void
vga_status_views_free(vga_status_view *views, size_t n)
{
    for (size_t i = 0; views != NULL && i < n; i++) {
        vga_status_view_fini(&views[i]);
    }
    free(views);
}

static json_t *
s_json_time(int64_t ms)
{
    if (ms <= 0) {
        return json_null();
    }
    char buf[VG_TIME_STR_LEN];
    vg_time_format(buf, sizeof buf, ms);
    return json_string(buf);
}

/* A string, or null for "" (json_string refuses invalid UTF-8: null then too). */
static json_t *
s_json_text(const char *text)
{
    json_t *s = text != NULL && text[0] != '\0' ? json_string(text) : NULL;
    return s != NULL ? s : json_null();
}

static json_t *
s_recipient_json(const vga_recipient_status *r, int64_t now_ms)
{
    bool late = vga_recipient_is_late(r, now_ms);
    return json_pack(
        "{s:s, s:s, s:b, s:o, s:b, s:I, s:b, s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:o}", "agency",
        r->agency, "state", vga_state_name(r->state), "required", r->required, "deadline",
        s_json_time(r->deadline_ms), "overdue", late, "overdue_ms",
        (json_int_t)(late ? now_ms - r->deadline_ms : 0), "missed_deadline", r->overdue,
        "delivered", s_json_time(r->delivered_ms), "acknowledged", s_json_time(r->acknowledged_ms),
        "officer", s_json_text(r->officer), "note", s_json_text(r->note), "reason",
        s_json_text(r->reason), "escalation_level", (json_int_t)r->escalation_level, "shared_by",
        s_json_text(r->shared_by), "cover_for", s_json_text(r->cover_for));
}

/* [{"alert": ID or null, "accepted": time or null, "outcomes": {AGENCY:
 * OUTCOME}}]: the linked earlier alerts, as far as we may know them. */
static json_t *
s_linked_json(const vga_alert_status *st)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < st->n_linked; i++) {
        const vga_linked *l = &st->linked[i];
        char idhex[VG_ALERT_ID_HEX_LEN + 1];
        vg_alert_id_hex(idhex, l->id);
        json_t *out = json_object();
        for (size_t k = 0; out != NULL && k < l->n_outcomes; k++) {
            json_object_set_new(out, l->outcomes[k].agency,
                                json_string(vga_link_outcome_name(l->outcomes[k].outcome)));
        }
        json_array_append_new(
            arr, json_pack("{s:o, s:o, s:o}", "alert", l->known ? json_string(idhex) : json_null(),
                           "accepted", l->known ? s_json_time(l->accepted_ms) : json_null(),
                           "outcomes", out ? out : json_null()));
    }
    return arr;
}

static json_t *
s_view_json(const vga_status_view *v, int64_t now_ms)
{
    const vga_alert_status *st = v->st;
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, st->id);
    json_t *cats = json_array();
    for (size_t i = 0; cats != NULL && i < st->categories.n; i++) {
        json_array_append_new(cats, json_string(st->categories.items[i]));
    }
    json_t *recipients = json_array();
    for (size_t i = 0; recipients != NULL && i < st->n_recipients; i++) {
        json_array_append_new(recipients, s_recipient_json(&st->recipients[i], now_ms));
    }
    json_t *linked = s_linked_json(st);
    return json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:s, s:o, s:b, s:o, s:b, s:b, s:o, "
                     "s:o, s:o, s:o, s:b}",
                     "id", idhex, "sender", st->sender, "sent", s_json_time(st->created_ms),
                     "accepted", s_json_time(st->accepted_ms), "severity",
                     vg_severity_name(st->severity), "urgency", vg_urgency_name(st->urgency),
                     "status", vg_status_name(st->status), "msg_type",
                     vg_msg_type_name(st->msg_type), "categories", cats ? cats : json_null(),
                     "complete", st->complete, "headline", s_json_text(v->headline), "sealed",
                     v->headline == NULL, "overdue", v->late, "earliest_open_deadline",
                     s_json_time(v->open_deadline_ms), "recipients",
                     recipients ? recipients : json_null(), "linked", linked ? linked : json_null(),
                     "purged", s_json_time(st->purged_ms), "legal_hold", st->held);
}

/* Dumps doc compactly into *out and frees it. */
static vg_err
s_dump(char **out, json_t *doc)
{
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text == NULL) {
        return VG_ERR_NOMEM;
    }
    *out = text;
    return VG_OK;
}

vg_err
vga_status_view_to_json(char **out, const vga_status_view *v, int64_t now_ms)
{
    return s_dump(out, s_view_json(v, now_ms));
}

vg_err
vga_status_views_to_json(char **out, const vga_status_view *views, size_t n, int64_t now_ms)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        if (json_array_append_new(arr, s_view_json(&views[i], now_ms)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return s_dump(out, arr);
}

vg_err
vga_event_to_json(char **out, const vga_event *e)
{
    char when[VG_TIME_STR_LEN];
    vg_time_format(when, sizeof when, e->time_ms);
    char idhex[VG_ALERT_ID_HEX_LEN + 1] = "";
    if (e->has_alert) {
        vg_alert_id_hex(idhex, e->alert_id);
    }
    json_t *detail = e->detail[0] ? json_string(e->detail) : NULL;
    bool has_status = e->has_alert && e->status != VG_STATUS_UNSPECIFIED;
    return s_dump(
        out, json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I}", "seq",
                       (json_int_t)e->seq, "time", when, "kind", vga_event_kind_name(e->kind),
                       "alert_id", e->has_alert ? json_string(idhex) : json_null(), "sender",
                       e->has_alert ? json_string(e->sender) : json_null(), "severity",
                       e->has_alert ? json_string(vg_severity_name(e->severity)) : json_null(),
                       "status", has_status ? json_string(vg_status_name(e->status)) : json_null(),
                       "agency", e->agency[0] ? json_string(e->agency) : json_null(), "detail",
                       detail ? detail : json_null(), "count", (json_int_t)e->count, "level",
                       (json_int_t)e->level));
}
