/*
 * ctl_check_calendar.c — the calendar lines of vigilctl check.
 *
 *  - calendar NAME: FAIL when its valid_until has passed (deadlines in
 *    working days are already counting calendar days, flagged), warn when
 *    it ends within CTL_CALENDAR_WARN_DAYS, else ok;
 *  - time zone NAME: its tz_rule against the system tz database's zone of
 *    the same name, every half hour up to valid_until (the C library's
 *    localtime_r under TZ=zone: global state, harmless in this
 *    single-threaded tool); skip when the zone is not installed;
 *  - deadlines AGENCY (only when some rule is in a calendar unit): FAIL
 *    when a rule that can apply to the agency needs a calendar or opening
 *    hours it does not have (the deadline would fall back, flagged).
 */
#define _DEFAULT_SOURCE /* tm_gmtoff, setenv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "vigil/netdoc.h"
#include "vigil/tz.h"
#include "vigil/util.h"

#define S_COMPARE_DAYS_MAX (5 * 366) /* how far the tz comparison looks */

static void
s_line(ctl_check_counts *n, const char *status, const char *what, const char *detail)
{
    if (strcmp(status, "ok") == 0) {
        n->passed++;
    } else if (strcmp(status, "FAIL") == 0) {
        n->failed++;
    } else if (strcmp(status, "warn") == 0) {
        n->warned++;
    } else {
        n->skipped++;
    }
    printf("%-5s %s: %s\n", status, what, detail);
}

static void
s_check_valid_until(const vg_netdoc *doc, const vg_calendar *cal, int32_t today,
                    ctl_check_counts *n)
{
    char what[96], detail[512], until[16], hash[17];
    size_t n_members = 0;
    const char *const *members = vg_netdoc_calendar_union_of(doc, cal->name, &n_members);
    snprintf(what, sizeof what, "calendar %s", cal->name);
    vg_date_format(until, sizeof until, vg_date_from_days(cal->valid_until));
    vg_hex_encode(hash, sizeof hash, cal->hash, 8);
    int32_t left = cal->valid_until - today;
    const char *fix = "import the next published dates (vigilctl calendar import) and sign";
    char kind[160] = "";
    if (members != NULL) {
        snprintf(kind, sizeof kind, " (a union: it ends with the first of its %zu members)",
                 n_members);
    }
    if (left < 0) {
        snprintf(detail, sizeof detail,
                 "its closed dates ended on %s, %d days ago%s: working days are now counted as "
                 "calendar days and every such deadline is flagged past_valid_until; %s",
                 until, -left, kind, fix);
        s_line(n, "FAIL", what, detail);
    } else if (left <= CTL_CALENDAR_WARN_DAYS) {
        snprintf(detail, sizeof detail, "ends on %s, in %d days%s; %s", until, left, kind, fix);
        s_line(n, "warn", what, detail);
    } else {
        snprintf(detail, sizeof detail, "valid until %s (%zu closed dates, version %s)", until,
                 cal->n_closed, hash);
        s_line(n, "ok", what, detail);
    }
}

/* Compares cal's rule with the C library's zone; 1 agree, 0 differ (detail
 * says where), -1 zone not installed. */
static int
s_compare_zone(const vg_calendar *cal, int32_t from_day, int32_t to_day, char *detail,
               size_t detail_len)
{
    char rule[VG_TZ_RULE_MAX + 1];
    vg_reason why = {{0}};
    if (ctl_tz_rule_from_system(rule, sizeof rule, cal->time_zone, &why) == VG_ERR_NOT_FOUND ||
        strstr(cal->time_zone, "..") != NULL) {
        snprintf(detail, detail_len,
                 "%s is not in this machine's tz database (Debian: tzdata): "
                 "tz_rule not compared",
                 cal->time_zone);
        return -1;
    }
    char *old = getenv("TZ") ? vg_strdup(getenv("TZ")) : NULL;
    setenv("TZ", cal->time_zone, 1);
    tzset();
    int agree = 1;
    for (int64_t t = (int64_t)from_day * 86400; agree && t < (int64_t)to_day * 86400; t += 1800) {
        time_t tt = (time_t)t;
        struct tm tm;
        int32_t ours = vg_tz_offset_s(&cal->tz, t);
        if (localtime_r(&tt, &tm) != NULL && tm.tm_gmtoff != ours) {
            char when[32];
            vg_utc_format(when, sizeof when, t * 1000);
            snprintf(detail, detail_len,
                     "its tz_rule gives UTC%+d min at %s but the tz database's %s gives UTC%+ld "
                     "min: set tz_rule to the zone's current rule (the last line of its TZif "
                     "file) and sign",
                     ours / 60, when, cal->time_zone, tm.tm_gmtoff / 60);
            agree = 0;
        }
    }
    if (old != NULL) {
        setenv("TZ", old, 1);
        free(old);
    } else {
        unsetenv("TZ");
    }
    tzset();
    return agree;
}

static void
s_check_zone(const vg_calendar *cal, int32_t today, ctl_check_counts *n)
{
    char what[96], detail[512], until[16];
    snprintf(what, sizeof what, "time zone %s", cal->name);
    int32_t to = cal->valid_until > today ? cal->valid_until + 1 : today + 366;
    to = to - today > S_COMPARE_DAYS_MAX ? today + S_COMPARE_DAYS_MAX : to;
    int r = s_compare_zone(cal, today, to, detail, sizeof detail);
    if (r == 1) {
        vg_date_format(until, sizeof until, vg_date_from_days(to));
        snprintf(detail, sizeof detail, "its tz_rule agrees with the tz database's %s until %s",
                 cal->time_zone, until);
    }
    s_line(n, r == 1 ? "ok" : r == 0 ? "FAIL" : "skip", what, detail);
}

/* The rules that can apply to agency id that need what it lacks, listed
 * into out; false when none. */
static bool
s_missing(const vg_netdoc *doc, const char *id, bool has_cal, bool has_hours, char *out,
          size_t out_len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < vg_netdoc_n_deadline_rules(doc); i++) {
        vg_deadline_rule_view v;
        vg_netdoc_deadline_rule_at(doc, i, &v);
        if (v.agency[0] != '\0' && strcmp(v.agency, id) != 0) {
            continue;
        }
        const char *needs = !has_cal && vg_deadline_rule_needs_calendar(&v.rule)  ? "a calendar"
                            : !has_hours && vg_deadline_rule_needs_hours(&v.rule) ? "opening hours"
                                                                                  : NULL;
        if (needs != NULL && used < out_len) {
            char label[192], unit[VG_DEADLINE_RULE_TEXT_MAX];
            vg_deadline_rule_view_label(label, sizeof label, &v);
            vg_deadline_rule_format(unit, sizeof unit, &v.rule);
            used += (size_t)snprintf(out + used, out_len - used, "%s%s: %s needs %s",
                                     used ? "; " : "", label, unit, needs);
        }
    }
    return used > 0;
}

static bool
s_any_calendar_rule(const vg_netdoc *doc)
{
    for (size_t i = 0; i < vg_netdoc_n_deadline_rules(doc); i++) {
        vg_deadline_rule_view v;
        vg_netdoc_deadline_rule_at(doc, i, &v);
        if (vg_deadline_rule_needs_calendar(&v.rule)) {
            return true;
        }
    }
    return false;
}

static void
s_check_agency_rules(const vg_netdoc *doc, const vg_agency *a, ctl_check_counts *n)
{
    char what[96], detail[1024], missing[768];
    vg_hours hours;
    vg_netdoc_agency_hours(doc, a->id, &hours);
    snprintf(what, sizeof what, "deadlines %s", a->id);
    bool has_cal = a->calendar[0] != '\0', has_hours = hours.n_spans > 0;
    if (s_missing(doc, a->id, has_cal, has_hours, missing, sizeof missing)) {
        snprintf(detail, sizeof detail,
                 "%s — such deadlines would fall back to calendar days or elapsed time "
                 "(flagged); give the agency \"calendar\"%s (docs/network.md)",
                 missing, has_hours ? "" : " and \"hours\"");
        s_line(n, "FAIL", what, detail);
        return;
    }
    snprintf(detail, sizeof detail,
             "its rules have what they need (calendar %s, %zu opening "
             "spans)",
             has_cal ? a->calendar : "none", hours.n_spans);
    s_line(n, "ok", what, detail);
}

void
ctl_check_calendars(const vg_netdoc *doc, int64_t now_ms, ctl_check_counts *counts)
{
    int32_t today = (int32_t)(now_ms / VG_DAY_MS);
    for (size_t i = 0; i < vg_netdoc_n_calendars(doc); i++) {
        vg_calendar cal;
        vg_netdoc_calendar_at(doc, i, &cal);
        s_check_valid_until(doc, &cal, today, counts);
        s_check_zone(&cal, today, counts);
    }
    if (!s_any_calendar_rule(doc)) {
        return; /* durations only: nothing to need */
    }
    for (size_t i = 0; i < vg_netdoc_n_agencies(doc); i++) {
        vg_agency a;
        vg_netdoc_agency_at(doc, i, &a);
        if (a.revoked || strcmp(a.role, VG_ROLE_OVERSIGHT) == 0) {
            continue; /* never a recipient: no deadline */
        }
        s_check_agency_rules(doc, &a, counts);
    }
}
