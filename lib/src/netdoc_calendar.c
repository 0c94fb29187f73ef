/*
 * netdoc_calendar.c — the network document's calendars, opening hours and
 * deadline rules: their validation, their compiled form inside a verified
 * vg_netdoc, and the deadline function over them (vigil/netdoc.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netdoc_internal.h"
#include "vigil/util.h"

/* A calendar compiled for the deadline function. */
typedef struct s_cal {
    vg_calendar view;           /* what vg_netdoc_calendar hands out; points into days */
    int32_t *days;              /* merged closed dates (day numbers), owned */
    const char *const *members; /* union_of, borrowed from the document */
    size_t n_members;           /* 0: a plain calendar */
} s_cal;

/* An agency's hours compiled. */
typedef struct s_hours {
    vg_span *spans; /* owned */
    size_t n;       /* how many */
} s_hours;

struct vg_netdoc_cal {
    s_cal *cals;    /* one per NetworkDocument.calendars, same order */
    size_t n_cals;  /* how many */
    s_hours *hours; /* one per NetworkDocument.agencies, same order */
    size_t n_hours; /* = n_agencies */
};

/* ---- lookups -------------------------------------------------------------- */

static const Vigil__Calendar *
s_calendar_pb(const Vigil__NetworkDocument *d, const char *name)
{
    for (size_t i = 0; i < d->n_calendars; i++) {
        if (strcmp(d->calendars[i]->name, name) == 0) {
            return d->calendars[i];
        }
    }
    return NULL;
}

bool
vg_netdoc_rule_of(const Vigil__DeadlineRule *r, vg_deadline_rule *out)
{
    int units = (r->working_days > 0) + (r->business_hours > 0) + (r->next_open ? 1 : 0) +
                (!r->next_open && r->deadline_ms > 0);
    if (units != 1) {
        return false;
    }
    memset(out, 0, sizeof *out);
    if (r->working_days > 0) {
        out->unit = VG_DL_WORKING_DAYS;
        out->count = r->working_days;
        return r->working_days <= VG_DEADLINE_WD_MAX;
    }
    if (r->business_hours > 0) {
        out->unit = VG_DL_BUSINESS_HOURS;
        out->count = r->business_hours;
        return r->business_hours <= VG_DEADLINE_BH_MAX;
    }
    out->unit = r->next_open ? VG_DL_NEXT_OPEN : VG_DL_DURATION;
    out->duration_ms = r->deadline_ms;
    return !r->next_open || r->deadline_ms <= VG_DEADLINE_NEXT_OPEN_MAX_MS;
}

/* ---- validation ----------------------------------------------------------- */

static vg_err
s_validate_zone(const Vigil__Calendar *c, vg_reason *why)
{
    size_t n = strlen(c->time_zone);
    bool ok = n > 0 && n <= 64;
    for (size_t i = 0; ok && i < n; i++) {
        char ch = c->time_zone[i];
        ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
             ch == '/' || ch == '_' || ch == '-' || ch == '+';
    }
    if (!ok || c->time_zone[0] == '/' || strstr(c->time_zone, "..") != NULL) {
        return vg_reason_set(why, VG_ERR_POLICY,
                             "calendar %s: time_zone '%s' is not a zone name such as "
                             "Europe/London",
                             c->name, c->time_zone);
    }
    vg_tz tz;
    vg_reason inner = {{0}};
    if (vg_tz_parse(&tz, c->tz_rule, &inner) != VG_OK) {
        return vg_reason_set(why, VG_ERR_POLICY, "calendar %s: %s", c->name, inner.text);
    }
    return VG_OK;
}

static vg_err
s_validate_closed(const Vigil__Calendar *c, vg_reason *why)
{
    if (c->n_closed > VG_CALENDAR_CLOSED_MAX) {
        return vg_reason_set(why, VG_ERR_POLICY, "calendar %s: more than %d closed dates", c->name,
                             VG_CALENDAR_CLOSED_MAX);
    }
    char a[16], b[16];
    for (size_t i = 0; i < c->n_closed; i++) {
        const Vigil__ClosedDate *cd = c->closed[i];
        if (!vg_date_is_valid(cd->date)) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "calendar %s: closed date %u is not a date (YYYYMMDD, "
                                 "1970..2199)",
                                 c->name, cd->date);
        }
        if (strlen(cd->title) > 128) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "calendar %s: a closed date's title is over 128 characters",
                                 c->name);
        }
        if (i > 0 && cd->date <= c->closed[i - 1]->date) {
            vg_date_format(a, sizeof a, cd->date);
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "calendar %s: closed dates must be in increasing order, each "
                                 "once (%s)",
                                 c->name, a);
        }
        if (c->valid_until != 0 && cd->date > c->valid_until) {
            vg_date_format(a, sizeof a, cd->date);
            vg_date_format(b, sizeof b, c->valid_until);
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "calendar %s: closed date %s is after its valid_until %s: "
                                 "extend valid_until or drop the date",
                                 c->name, a, b);
        }
    }
    return VG_OK;
}

static vg_err
s_validate_union(const Vigil__NetworkDocument *d, const Vigil__Calendar *c, vg_reason *why)
{
    for (size_t j = 0; j < c->n_union_of; j++) {
        const Vigil__Calendar *m = s_calendar_pb(d, c->union_of[j]);
        if (m == NULL) {
            return vg_reason_set(why, VG_ERR_POLICY, "calendar %s: union_of names unknown '%s'",
                                 c->name, c->union_of[j]);
        }
        if (m->n_union_of > 0) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "calendar %s: '%s' is itself a union; list its members instead",
                                 c->name, m->name);
        }
        if (strcmp(m->tz_rule, c->tz_rule) != 0) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "calendar %s: '%s' has another tz_rule: a date would be "
                                 "another day there, so they cannot be joined",
                                 c->name, m->name);
        }
        for (size_t k = 0; k < j; k++) {
            if (strcmp(c->union_of[k], c->union_of[j]) == 0) {
                return vg_reason_set(why, VG_ERR_POLICY, "calendar %s: union_of names '%s' twice",
                                     c->name, c->union_of[j]);
            }
        }
    }
    return VG_OK;
}

static vg_err
s_validate_calendar(const Vigil__NetworkDocument *d, size_t i, vg_reason *why)
{
    const Vigil__Calendar *c = d->calendars[i];
    if (!vg_agency_id_is_valid(c->name)) {
        return vg_reason_set(why, VG_ERR_POLICY,
                             "calendar name '%s' is invalid: use 1-63 of a-z, 0-9 and '-'",
                             c->name);
    }
    for (size_t j = 0; j < i; j++) {
        if (strcmp(d->calendars[j]->name, c->name) == 0) {
            return vg_reason_set(why, VG_ERR_POLICY, "calendar '%s' appears twice", c->name);
        }
    }
    vg_err rc = s_validate_zone(c, why);
    if (rc != VG_OK) {
        return rc;
    }
    unsigned mask = 0;
    for (size_t j = 0; j < c->n_weekend; j++) {
        unsigned w = c->weekend[j];
        if (w < 1 || w > 7 || (mask & (1u << w))) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "calendar %s: weekend days are mon..sun, each once", c->name);
        }
        mask |= 1u << w;
    }
    if (c->n_weekend > 6) {
        return vg_reason_set(why, VG_ERR_POLICY,
                             "calendar %s: every day is a weekend day: it has no working day",
                             c->name);
    }
    if (c->valid_until == 0 && c->n_union_of == 0) {
        return vg_reason_set(why, VG_ERR_POLICY,
                             "calendar %s: valid_until is required: the last date its closed "
                             "list is complete for",
                             c->name);
    }
    if (c->valid_until != 0 && !vg_date_is_valid(c->valid_until)) {
        return vg_reason_set(why, VG_ERR_POLICY, "calendar %s: valid_until is not a date", c->name);
    }
    rc = s_validate_closed(c, why);
    return rc == VG_OK ? s_validate_union(d, c, why) : rc;
}

static vg_err
s_validate_hours(const Vigil__NetworkDocument *d, const Vigil__AgencyCard *a, vg_reason *why)
{
    const Vigil__Calendar *cal = a->calendar[0] ? s_calendar_pb(d, a->calendar) : NULL;
    if (a->n_hours > 0 && cal == NULL) {
        return vg_reason_set(why, VG_ERR_POLICY,
                             "agency %s: opening hours are local times: give it a calendar "
                             "(its time zone and working days)",
                             a->id);
    }
    if (a->n_hours > VG_HOURS_SPANS_MAX) {
        return vg_reason_set(why, VG_ERR_POLICY, "agency %s: more than %d opening spans", a->id,
                             VG_HOURS_SPANS_MAX);
    }
    for (size_t j = 0; j < a->n_hours; j++) {
        const Vigil__OpeningSpan *s = a->hours[j];
        if (s->weekday < 1 || s->weekday > 7 || s->open_min >= s->close_min ||
            s->close_min > 1440) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "agency %s: opening span %zu needs a weekday and "
                                 "00:00 <= open < close <= 24:00",
                                 a->id, j + 1);
        }
        const Vigil__OpeningSpan *p = j > 0 ? a->hours[j - 1] : NULL;
        if (p != NULL &&
            (s->weekday < p->weekday || (s->weekday == p->weekday && s->open_min < p->close_min))) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "agency %s: opening hours on %s overlap or are out of order",
                                 a->id, vg_weekday_name((int)s->weekday));
        }
        for (size_t k = 0; k < cal->n_weekend; k++) {
            if (cal->weekend[k] == s->weekday) {
                return vg_reason_set(why, VG_ERR_POLICY,
                                     "agency %s: opening hours on %s, but %s is a weekend day of "
                                     "calendar %s: it would never open then",
                                     a->id, vg_weekday_name((int)s->weekday),
                                     vg_weekday_name((int)s->weekday), cal->name);
            }
        }
    }
    return VG_OK;
}

static vg_err
s_validate_card_calendar(const Vigil__NetworkDocument *d, const vg_netdoc_ids *ix,
                         const Vigil__AgencyCard *a, vg_reason *why)
{
    if (a->calendar[0] != '\0' && s_calendar_pb(d, a->calendar) == NULL) {
        return vg_reason_set(why, VG_ERR_POLICY, "agency %s: calendar '%s' is not in calendars",
                             a->id, a->calendar);
    }
    if (a->out_of_hours_cover[0] != '\0') {
        const Vigil__AgencyCard *c = vg_netdoc_ids_card(ix, a->out_of_hours_cover);
        if (c == NULL || c == a) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "agency %s: out_of_hours_cover '%s' is not another agency", a->id,
                                 a->out_of_hours_cover);
        }
        if (strcmp(c->role, VG_ROLE_OVERSIGHT) == 0) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "agency %s: out_of_hours_cover '%s' is an oversight agency, "
                                 "which never receives content",
                                 a->id, c->id);
        }
    }
    return s_validate_hours(d, a, why);
}

vg_err
vg_netdoc_validate_calendars_pb(const Vigil__NetworkDocument *d, const vg_netdoc_ids *ix,
                                vg_reason *why)
{
    if (d->n_calendars > VG_CALENDARS_MAX) {
        return vg_reason_set(why, VG_ERR_POLICY, "more than %d calendars", VG_CALENDARS_MAX);
    }
    vg_err rc = VG_OK;
    for (size_t i = 0; i < d->n_calendars && rc == VG_OK; i++) {
        rc = s_validate_calendar(d, i, why);
    }
    for (size_t i = 0; i < d->n_agencies && rc == VG_OK; i++) {
        rc = s_validate_card_calendar(d, ix, d->agencies[i], why);
    }
    return rc;
}

/* ---- deadline rules ------------------------------------------------------- */

static void
s_view_of(const Vigil__DeadlineRule *r, vg_deadline_rule_view *out)
{
    out->severity = (vg_severity)r->severity;
    out->urgency = (vg_urgency)r->urgency;
    out->categories = (const char *const *)r->categories;
    out->n_categories = r->n_categories;
    out->agency = r->agency;
    out->repeat = r->repeat;
    if (!vg_netdoc_rule_of(r, &out->rule)) {
        memset(&out->rule, 0, sizeof out->rule);
    }
}

void
vg_deadline_rule_view_label(char *out, size_t out_len, const vg_deadline_rule_view *v)
{
    size_t n = (size_t)snprintf(out, out_len, "%s%s%s%s", v->repeat ? "repeat " : "",
                                vg_severity_name(v->severity), v->urgency ? "/" : "",
                                v->urgency ? vg_urgency_name(v->urgency) : "");
    for (size_t i = 0; i < v->n_categories && n < out_len; i++) {
        n += (size_t)snprintf(out + n, out_len - n, "%s%s", i == 0 ? " categories=" : ",",
                              v->categories[i]);
    }
    if (v->agency[0] != '\0' && n < out_len) {
        snprintf(out + n, out_len - n, " agency=%s", v->agency);
    }
}

/* True when a and b list the same set of strings. */
static bool
s_same_set(char **a, size_t na, char **b, size_t nb)
{
    for (size_t i = 0; i < na; i++) {
        bool found = false;
        for (size_t j = 0; j < nb && !found; j++) {
            found = strcmp(a[i], b[j]) == 0;
        }
        if (!found) {
            return false;
        }
    }
    for (size_t j = 0; j < nb; j++) {
        bool found = false;
        for (size_t i = 0; i < na && !found; i++) {
            found = strcmp(a[i], b[j]) == 0;
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

static bool
s_in_taxonomy(const Vigil__NetworkDocument *d, const char *cat)
{
    for (size_t i = 0; i < d->n_categories; i++) {
        if (strcmp(d->categories[i], cat) == 0) {
            return true;
        }
    }
    return false;
}

/* A repeat rule is network-wide and by severity only, and, when it and the
 * severity's network-wide rule are both durations, shorter: it applies only
 * when it falls earlier, so a longer one would never apply. */
static vg_err
s_validate_repeat(const Vigil__NetworkDocument *d, const Vigil__DeadlineRule *r,
                  const vg_deadline_rule *unit, const char *label, vg_reason *why)
{
    if (r->urgency != VIGIL__URGENCY__URGENCY_UNSPECIFIED || r->n_categories > 0 ||
        r->agency[0] != '\0') {
        return vg_reason_set(why, VG_ERR_POLICY,
                             "deadlines %s: a repeat deadline is network-wide and by "
                             "severity only (no urgency, categories or agency)",
                             label);
    }
    for (size_t j = 0; j < d->n_deadlines; j++) {
        const Vigil__DeadlineRule *o = d->deadlines[j];
        vg_deadline_rule ou;
        if (o->repeat || o->severity != r->severity || o->urgency || o->n_categories ||
            o->agency[0] != '\0' || !vg_netdoc_rule_of(o, &ou)) {
            continue;
        }
        if (unit->unit == VG_DL_DURATION && ou.unit == VG_DL_DURATION &&
            unit->duration_ms >= ou.duration_ms) {
            char mine[VG_DEADLINE_RULE_TEXT_MAX], theirs[VG_DEADLINE_RULE_TEXT_MAX];
            vg_deadline_rule_format(mine, sizeof mine, unit);
            vg_deadline_rule_format(theirs, sizeof theirs, &ou);
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "deadlines %s: %s is not shorter than deadlines %s: %s; "
                                 "a repeat deadline applies only when it falls earlier, so this "
                                 "one never would: make it shorter or remove it",
                                 label, mine, vg_severity_name((vg_severity)r->severity), theirs);
        }
    }
    return VG_OK;
}

static vg_err
s_validate_rule(const Vigil__NetworkDocument *d, const vg_netdoc_ids *ix, size_t i, vg_reason *why)
{
    const Vigil__DeadlineRule *r = d->deadlines[i];
    vg_deadline_rule_view v;
    char label[192];
    if (r->severity < VIGIL__SEVERITY__SEVERITY_LOW ||
        r->severity > VIGIL__SEVERITY__SEVERITY_CRITICAL || (int)r->urgency < 0 ||
        r->urgency > VIGIL__URGENCY__URGENCY_IMMEDIATE) {
        return vg_reason_set(why, VG_ERR_POLICY,
                             "deadlines: rule %zu needs a valid severity and urgency", i + 1);
    }
    s_view_of(r, &v);
    vg_deadline_rule_view_label(label, sizeof label, &v);
    vg_deadline_rule unit;
    if (!vg_netdoc_rule_of(r, &unit)) {
        return vg_reason_set(why, VG_ERR_POLICY,
                             "deadlines %s: needs exactly one of a duration > 0, working days "
                             "(1..%u), hours in opening hours (1..%u) or next-open+D (D <= 366d)",
                             label, VG_DEADLINE_WD_MAX, VG_DEADLINE_BH_MAX);
    }
    for (size_t j = 0; j < r->n_categories; j++) {
        if (!s_in_taxonomy(d, r->categories[j])) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "deadlines %s: category '%s' is not in the taxonomy", label,
                                 r->categories[j]);
        }
    }
    if (r->agency[0] != '\0' && vg_netdoc_ids_card(ix, r->agency) == NULL) {
        return vg_reason_set(why, VG_ERR_POLICY, "deadlines %s: '%s' is not an agency", label,
                             r->agency);
    }
    vg_err rc = r->repeat ? s_validate_repeat(d, r, &unit, label, why) : VG_OK;
    for (size_t j = 0; j < i && rc == VG_OK; j++) {
        const Vigil__DeadlineRule *o = d->deadlines[j];
        if (o->repeat == r->repeat && o->severity == r->severity && o->urgency == r->urgency &&
            strcmp(o->agency, r->agency) == 0 &&
            s_same_set(o->categories, o->n_categories, r->categories, r->n_categories)) {
            return vg_reason_set(why, VG_ERR_POLICY, "deadlines: %s is set twice", label);
        }
    }
    return rc;
}

vg_err
vg_netdoc_validate_deadlines_pb(const Vigil__NetworkDocument *d, const vg_netdoc_ids *ix,
                                vg_reason *why)
{
    for (int sev = VG_SEV_LOW; sev <= VG_SEV_CRITICAL; sev++) {
        bool found = false;
        for (size_t i = 0; i < d->n_deadlines; i++) {
            const Vigil__DeadlineRule *r = d->deadlines[i];
            found |= (int)r->severity == sev && r->urgency == VIGIL__URGENCY__URGENCY_UNSPECIFIED &&
                     r->n_categories == 0 && r->agency[0] == '\0' && !r->repeat;
        }
        if (!found) {
            return vg_reason_set(why, VG_ERR_POLICY, "deadlines: no deadline for severity %s",
                                 vg_severity_name((vg_severity)sev));
        }
    }
    vg_err rc = VG_OK;
    for (size_t i = 0; i < d->n_deadlines && rc == VG_OK; i++) {
        rc = s_validate_rule(d, ix, i, why);
    }
    return rc;
}

/* ---- compiling ------------------------------------------------------------ */

static int
s_cmp_day(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Appends c's own closed dates to days[*n]. */
static void
s_add_days(int32_t *days, size_t *n, const Vigil__Calendar *c)
{
    for (size_t i = 0; i < c->n_closed; i++) {
        days[(*n)++] = vg_date_days(c->closed[i]->date);
    }
}

static vg_err
s_compile_calendar(s_cal *out, const Vigil__NetworkDocument *d, const Vigil__Calendar *c)
{
    size_t cap = c->n_closed;
    uint32_t until = c->valid_until;
    for (size_t j = 0; j < c->n_union_of; j++) {
        const Vigil__Calendar *m = s_calendar_pb(d, c->union_of[j]);
        cap += m->n_closed;
        until = until == 0 || m->valid_until < until ? m->valid_until : until;
    }
    out->days = malloc((cap ? cap : 1) * sizeof *out->days);
    if (out->days == NULL) {
        return VG_ERR_NOMEM;
    }
    size_t n = 0;
    s_add_days(out->days, &n, c);
    for (size_t j = 0; j < c->n_union_of; j++) {
        s_add_days(out->days, &n, s_calendar_pb(d, c->union_of[j]));
    }
    qsort(out->days, n, sizeof *out->days, s_cmp_day);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w == 0 || out->days[w - 1] != out->days[i]) {
            out->days[w++] = out->days[i];
        }
    }
    vg_calendar *v = &out->view;
    v->name = c->name;
    v->time_zone = c->time_zone;
    if (vg_tz_parse(&v->tz, c->tz_rule, NULL) != VG_OK) {
        return VG_ERR_INTERNAL; /* validated before */
    }
    for (size_t j = 0; j < c->n_weekend; j++) {
        v->weekend_mask |= (uint8_t)(1u << c->weekend[j]);
    }
    v->closed = out->days;
    v->n_closed = w;
    v->valid_until = vg_date_days(until);
    vg_calendar_hash(v->hash, c->tz_rule, v->weekend_mask, v->valid_until, v->closed, w);
    out->members = (const char *const *)c->union_of;
    out->n_members = c->n_union_of;
    return VG_OK;
}

static vg_err
s_compile_hours(s_hours *out, const Vigil__AgencyCard *a)
{
    out->spans = calloc(a->n_hours ? a->n_hours : 1, sizeof *out->spans);
    if (out->spans == NULL) {
        return VG_ERR_NOMEM;
    }
    for (size_t j = 0; j < a->n_hours; j++) {
        out->spans[j].weekday = (uint8_t)a->hours[j]->weekday;
        out->spans[j].open_min = (uint16_t)a->hours[j]->open_min;
        out->spans[j].close_min = (uint16_t)a->hours[j]->close_min;
    }
    out->n = a->n_hours;
    return VG_OK;
}

vg_err
vg_netdoc_cal_compile(vg_netdoc_cal **out, const Vigil__NetworkDocument *d)
{
    vg_netdoc_cal *nc = calloc(1, sizeof *nc);
    if (nc == NULL) {
        return VG_ERR_NOMEM;
    }
    nc->cals = calloc(d->n_calendars ? d->n_calendars : 1, sizeof *nc->cals);
    nc->hours = calloc(d->n_agencies ? d->n_agencies : 1, sizeof *nc->hours);
    vg_err rc = nc->cals && nc->hours ? VG_OK : VG_ERR_NOMEM;
    for (size_t i = 0; i < d->n_calendars && rc == VG_OK; i++) {
        rc = s_compile_calendar(&nc->cals[i], d, d->calendars[i]);
        nc->n_cals = i + 1;
    }
    for (size_t i = 0; i < d->n_agencies && rc == VG_OK; i++) {
        rc = s_compile_hours(&nc->hours[i], d->agencies[i]);
        nc->n_hours = i + 1;
    }
    if (rc != VG_OK) {
        vg_netdoc_cal_destroy(&nc);
        return rc;
    }
    *out = nc;
    return VG_OK;
}

void
vg_netdoc_cal_destroy(vg_netdoc_cal **p)
{
    if (p == NULL || *p == NULL) {
        return;
    }
    vg_netdoc_cal *nc = *p;
    for (size_t i = 0; nc->cals != NULL && i < nc->n_cals; i++) {
        free(nc->cals[i].days);
    }
    for (size_t i = 0; nc->hours != NULL && i < nc->n_hours; i++) {
        free(nc->hours[i].spans);
    }
    free(nc->cals);
    free(nc->hours);
    free(nc);
    *p = NULL;
}

/* ---- accessors ------------------------------------------------------------ */

size_t
vg_netdoc_n_calendars(const vg_netdoc *doc)
{
    return vg_netdoc_cal_of(doc)->n_cals;
}

void
vg_netdoc_calendar_at(const vg_netdoc *doc, size_t i, vg_calendar *out)
{
    *out = vg_netdoc_cal_of(doc)->cals[i].view;
}

static const s_cal *
s_cal_named(const vg_netdoc *doc, const char *name)
{
    const vg_netdoc_cal *nc = vg_netdoc_cal_of(doc);
    for (size_t i = 0; name != NULL && i < nc->n_cals; i++) {
        if (strcmp(nc->cals[i].view.name, name) == 0) {
            return &nc->cals[i];
        }
    }
    return NULL;
}

void
vg_netdoc_calendar_warning(char *out, size_t len, const vg_netdoc *doc, const char *calendar)
{
    vg_calendar cal;
    char until[16] = "?";
    if (vg_netdoc_calendar(doc, calendar, &cal) == VG_OK) {
        vg_date_format(until, sizeof until, vg_date_from_days(cal.valid_until));
    }
    snprintf(out, len,
             "past_valid_until calendar=%s valid_until=%s: deadlines count calendar days; "
             "import the new bank holidays (vigilctl calendar import) and sign the document",
             calendar, until);
}

vg_err
vg_netdoc_calendar(const vg_netdoc *doc, const char *name, vg_calendar *out)
{
    const s_cal *c = s_cal_named(doc, name);
    if (c == NULL) {
        return VG_ERR_NOT_FOUND;
    }
    *out = c->view;
    return VG_OK;
}

const char *const *
vg_netdoc_calendar_union_of(const vg_netdoc *doc, const char *name, size_t *n_out)
{
    const s_cal *c = s_cal_named(doc, name);
    *n_out = c != NULL ? c->n_members : 0;
    return c != NULL && c->n_members > 0 ? c->members : NULL;
}

static const s_hours *
s_hours_of(const vg_netdoc *doc, const char *id)
{
    int i = vg_netdoc_index(doc, id);
    return i >= 0 ? &vg_netdoc_cal_of(doc)->hours[i] : NULL;
}

void
vg_netdoc_agency_hours(const vg_netdoc *doc, const char *id, vg_hours *out)
{
    const s_hours *h = s_hours_of(doc, id);
    out->spans = h != NULL ? h->spans : NULL;
    out->n_spans = h != NULL ? h->n : 0;
}

size_t
vg_netdoc_n_deadline_rules(const vg_netdoc *doc)
{
    return vg_netdoc_pb(doc)->n_deadlines;
}

void
vg_netdoc_deadline_rule_at(const vg_netdoc *doc, size_t i, vg_deadline_rule_view *out)
{
    s_view_of(vg_netdoc_pb(doc)->deadlines[i], out);
}

/* ---- the deadline ----------------------------------------------------------- */

static bool
s_shares_category(const Vigil__DeadlineRule *r, const char *const *cats, size_t n)
{
    for (size_t i = 0; i < r->n_categories; i++) {
        for (size_t j = 0; j < n; j++) {
            if (cats[j] != NULL && strcmp(r->categories[i], cats[j]) == 0) {
                return true;
            }
        }
    }
    return false;
}

/* How specific a matching rule is (agency 4, categories 2, urgency 1), or
 * -1 when it does not match. */
static int
s_specificity(const Vigil__DeadlineRule *r, const char *agency, vg_severity sev, vg_urgency urg,
              const char *const *cats, size_t n_cats)
{
    if ((int)r->severity != (int)sev || r->repeat) { /* repeat rules: s_repeat */
        return -1;
    }
    if (r->urgency != VIGIL__URGENCY__URGENCY_UNSPECIFIED &&
        (urg == VG_URG_UNSPECIFIED || (int)r->urgency != (int)urg)) {
        return -1;
    }
    if (r->n_categories > 0 && !s_shares_category(r, cats, n_cats)) {
        return -1;
    }
    if (r->agency[0] != '\0' && (agency == NULL || strcmp(r->agency, agency) != 0)) {
        return -1;
    }
    return (r->agency[0] ? 4 : 0) + (r->n_categories ? 2 : 0) + (r->urgency ? 1 : 0);
}

static void
s_describe(vg_deadline *out, const vg_calendar *cal)
{
    char when[32], until[16] = "", hash[17] = "";
    vg_utc_format(when, sizeof when, out->deadline_ms);
    if (cal != NULL) {
        vg_date_format(until, sizeof until, vg_date_from_days(cal->valid_until));
        vg_hex_encode(hash, sizeof hash, cal->hash, 8);
    }
    size_t n = (size_t)snprintf(out->text, sizeof out->text,
                                "deadline=%s rule=\"%s: %s\" network=%llu", when, out->selector,
                                out->rule_text, (unsigned long long)out->network_version);
    if (cal != NULL && n < sizeof out->text) {
        n += (size_t)snprintf(out->text + n, sizeof out->text - n, " calendar=%s@%s valid_until=%s",
                              cal->name, hash, until);
    }
    static const struct {
        unsigned bit;
        const char *name;
    } flags[] = {{VG_DLW_PAST_VALID_UNTIL, "past_valid_until"},
                 {VG_DLW_NO_CALENDAR, "no_calendar"},
                 {VG_DLW_NO_HOURS, "no_hours"}};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0] && n < sizeof out->text; i++) {
        if (out->warnings & flags[i].bit) {
            n +=
                (size_t)snprintf(out->text + n, sizeof out->text - n, " WARNING=%s", flags[i].name);
        }
    }
}

/* A repeat rule for the severity that falls earlier than res's deadline
 * replaces it (docs/network.md "Repeat warnings: stricter deadlines"). */
static void
s_repeat(vg_deadline *res, const Vigil__NetworkDocument *d, vg_severity severity,
         const vg_calendar *cal, const vg_hours *hours, int64_t accepted_ms)
{
    for (size_t i = 0; i < d->n_deadlines; i++) {
        const Vigil__DeadlineRule *r = d->deadlines[i];
        vg_deadline_rule_view v;
        int64_t at = 0;
        unsigned warn = 0;
        if (!r->repeat || (int)r->severity != (int)severity) {
            continue;
        }
        s_view_of(r, &v);
        if (vg_deadline_compute(&at, &warn, &v.rule, cal, hours, accepted_ms) != VG_OK ||
            at >= res->deadline_ms) {
            continue;
        }
        res->deadline_ms = at;
        res->warnings = warn;
        res->rule_no = (uint32_t)(i + 1);
        res->rule = v.rule;
        vg_deadline_rule_format(res->rule_text, sizeof res->rule_text, &v.rule);
        vg_deadline_rule_view_label(res->selector, sizeof res->selector, &v);
    }
}

static vg_err
s_deadline_at(vg_deadline *out, const vg_netdoc *doc, const char *agency, vg_severity severity,
              vg_urgency urgency, const char *const *categories, size_t n_categories,
              int64_t accepted_ms, bool repeat)
{
    const Vigil__NetworkDocument *d = vg_netdoc_pb(doc);
    if (severity < VG_SEV_LOW || severity > VG_SEV_CRITICAL) {
        severity = VG_SEV_CRITICAL; /* unknown severity: the shortest deadline is the safe one */
    }
    int best = -1;
    for (size_t i = 0; i < d->n_deadlines; i++) {
        int s = s_specificity(d->deadlines[i], agency, severity, urgency, categories, n_categories);
        best = s > best ? s : best;
    }
    int idx = vg_netdoc_index(doc, agency);
    const Vigil__AgencyCard *card = idx >= 0 ? d->agencies[idx] : NULL;
    const s_cal *c = card != NULL && card->calendar[0] ? s_cal_named(doc, card->calendar) : NULL;
    const vg_calendar *cal = c != NULL ? &c->view : NULL;
    vg_hours hours;
    vg_netdoc_agency_hours(doc, agency, &hours);
    vg_deadline res;
    memset(&res, 0, sizeof res);
    vg_err rc = VG_ERR_INVALID;
    for (size_t i = 0; i < d->n_deadlines && best >= 0; i++) {
        const Vigil__DeadlineRule *r = d->deadlines[i];
        vg_deadline_rule_view v;
        int64_t at = 0;
        unsigned warn = 0;
        if (s_specificity(r, agency, severity, urgency, categories, n_categories) != best) {
            continue;
        }
        s_view_of(r, &v);
        if (vg_deadline_compute(&at, &warn, &v.rule, cal, &hours, accepted_ms) != VG_OK ||
            (rc == VG_OK && at >= res.deadline_ms)) {
            continue; /* equally specific rules: the earliest deadline wins */
        }
        rc = VG_OK;
        res.deadline_ms = at;
        res.warnings = warn;
        res.rule_no = (uint32_t)(i + 1);
        res.rule = v.rule;
        vg_deadline_rule_format(res.rule_text, sizeof res.rule_text, &v.rule);
        vg_deadline_rule_view_label(res.selector, sizeof res.selector, &v);
    }
    if (rc != VG_OK) {
        return rc;
    }
    if (repeat) {
        s_repeat(&res, d, severity, cal, &hours, accepted_ms);
    }
    res.network_version = d->version;
    if (cal != NULL && vg_deadline_rule_needs_calendar(&res.rule)) {
        snprintf(res.calendar, sizeof res.calendar, "%s", cal->name);
        memcpy(res.calendar_hash, cal->hash, sizeof res.calendar_hash);
    }
    s_describe(&res, res.calendar[0] ? cal : NULL);
    *out = res;
    return VG_OK;
}

bool
vg_netdoc_has_repeat_deadline(const vg_netdoc *doc, vg_severity severity)
{
    const Vigil__NetworkDocument *d = vg_netdoc_pb(doc);
    for (size_t i = 0; i < d->n_deadlines; i++) {
        if (d->deadlines[i]->repeat && (int)d->deadlines[i]->severity == (int)severity) {
            return true;
        }
    }
    return false;
}

vg_err
vg_netdoc_deadline_at(vg_deadline *out, const vg_netdoc *doc, const char *agency,
                      vg_severity severity, vg_urgency urgency, const char *const *categories,
                      size_t n_categories, int64_t accepted_ms)
{
    return s_deadline_at(out, doc, agency, severity, urgency, categories, n_categories, accepted_ms,
                         false);
}

vg_err
vg_netdoc_deadline_repeat_at(vg_deadline *out, const vg_netdoc *doc, const char *agency,
                             vg_severity severity, vg_urgency urgency,
                             const char *const *categories, size_t n_categories,
                             int64_t accepted_ms)
{
    return s_deadline_at(out, doc, agency, severity, urgency, categories, n_categories, accepted_ms,
                         true);
}

/* ---- opening hours and out-of-hours cover --------------------------------- */

static const vg_calendar *
s_calendar_of(const vg_netdoc *doc, const Vigil__AgencyCard *card)
{
    const s_cal *c = card != NULL && card->calendar[0] ? s_cal_named(doc, card->calendar) : NULL;
    return c != NULL ? &c->view : NULL;
}

/* A verified document's card by id, through its sorted index. */
static const Vigil__AgencyCard *
s_card_of(const vg_netdoc *doc, const char *id)
{
    int i = vg_netdoc_index(doc, id);
    return i >= 0 ? vg_netdoc_pb(doc)->agencies[i] : NULL;
}

bool
vg_netdoc_agency_is_open(const vg_netdoc *doc, const char *id, int64_t at_ms)
{
    const Vigil__AgencyCard *card = id != NULL ? s_card_of(doc, id) : NULL;
    vg_hours hours;
    vg_netdoc_agency_hours(doc, id, &hours);
    return vg_hours_is_open(s_calendar_of(doc, card), &hours, at_ms);
}

vg_err
vg_netdoc_cover(const vg_netdoc *doc, const vg_strlist *required, vg_severity severity,
                const char *sender, int64_t at_ms, vg_strlist *covers, vg_strlist *covered)
{
    if (severity == VG_SEV_MEDIUM || severity == VG_SEV_LOW) {
        return VG_OK; /* cover is for what cannot wait: high and critical */
    }
    for (size_t i = 0; i < required->n; i++) {
        const Vigil__AgencyCard *card = s_card_of(doc, required->items[i]);
        if (card == NULL || card->out_of_hours_cover[0] == '\0' ||
            vg_netdoc_agency_is_open(doc, card->id, at_ms)) {
            continue;
        }
        const char *cover = card->out_of_hours_cover;
        const Vigil__AgencyCard *cc = s_card_of(doc, cover);
        if (cc == NULL || cc->revoked || (sender != NULL && strcmp(cover, sender) == 0) ||
            vg_strlist_contains(required, cover) || vg_strlist_contains(covers, cover)) {
            continue;
        }
        vg_err rc = vg_strlist_add(covers, cover);
        if (rc == VG_OK && covered != NULL) {
            rc = vg_strlist_add(covered, card->id);
        }
        if (rc != VG_OK) {
            return rc;
        }
    }
    return VG_OK;
}
