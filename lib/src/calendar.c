/* calendar.c — working days, opening hours and deadline units (vigil/calendar.h). */
#include "vigil/calendar.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "vigil/util.h"

#define S_HOUR_MS INT64_C(3600000)
#define S_MIN_MS INT64_C(60000)

/* How far a count may walk, in days, before we call it a bug: a verified
 * document has at most VG_CALENDAR_CLOSED_MAX closed dates, at least one
 * working weekday, and every date after valid_until works. */
#define S_WALK_DAYS_MAX (VG_CALENDAR_CLOSED_MAX + 7 * (VG_DEADLINE_BH_MAX + VG_DEADLINE_WD_MAX) + 7)

static const char *const s_weekdays[8] = {NULL, "mon", "tue", "wed", "thu", "fri", "sat", "sun"};

int
vg_weekday_parse(const char *name)
{
    for (int i = 1; name != NULL && i <= 7; i++) {
        if (strcmp(name, s_weekdays[i]) == 0) {
            return i;
        }
    }
    return 0;
}

const char *
vg_weekday_name(int iso_weekday)
{
    return iso_weekday >= 1 && iso_weekday <= 7 ? s_weekdays[iso_weekday] : NULL;
}

/* ---- calendars ------------------------------------------------------------ */

static bool
s_is_closed(const vg_calendar *cal, int32_t day)
{
    size_t lo = 0, hi = cal->n_closed;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cal->closed[mid] == day) {
            return true;
        }
        if (cal->closed[mid] < day) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return false;
}

bool
vg_calendar_is_working_day(const vg_calendar *cal, int32_t day, bool *past_valid_until)
{
    if (day > cal->valid_until) {
        *past_valid_until = true;
        return true;
    }
    if (cal->weekend_mask & (1u << vg_weekday(day))) {
        return false;
    }
    return !s_is_closed(cal, day);
}

static void
s_be32(uint8_t out[4], uint32_t v)
{
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

void
vg_calendar_hash(uint8_t out[VG_CALENDAR_HASH_LEN], const char *tz_rule, uint8_t weekend_mask,
                 int32_t valid_until, const int32_t *closed, size_t n_closed)
{
    static const char tag[] = "vigil-calendar-v1\n";
    crypto_generichash_state st;
    uint8_t b[4];
    crypto_generichash_init(&st, NULL, 0, VG_CALENDAR_HASH_LEN);
    crypto_generichash_update(&st, (const uint8_t *)tag, sizeof tag - 1);
    crypto_generichash_update(&st, (const uint8_t *)tz_rule, strlen(tz_rule));
    crypto_generichash_update(&st, (const uint8_t *)"\n", 1);
    crypto_generichash_update(&st, &weekend_mask, 1);
    s_be32(b, vg_date_from_days(valid_until));
    crypto_generichash_update(&st, b, sizeof b);
    for (size_t i = 0; i < n_closed; i++) {
        s_be32(b, vg_date_from_days(closed[i]));
        crypto_generichash_update(&st, b, sizeof b);
    }
    crypto_generichash_final(&st, out, VG_CALENDAR_HASH_LEN);
}

/* ---- rules ---------------------------------------------------------------- */

/* "N" followed by exactly `suffix`: N in 1..max. */
static bool
s_count(uint32_t *out, const char *text, const char *suffix, uint32_t max)
{
    size_t n = strlen(text), sl = strlen(suffix);
    if (n <= sl || strcmp(text + n - sl, suffix) != 0 || n - sl > 6) {
        return false;
    }
    uint32_t v = 0;
    for (size_t i = 0; i < n - sl; i++) {
        if (text[i] < '0' || text[i] > '9') {
            return false;
        }
        v = v * 10 + (uint32_t)(text[i] - '0');
    }
    *out = v;
    return v >= 1 && v <= max;
}

vg_err
vg_deadline_rule_parse(vg_deadline_rule *out, const char *text, vg_reason *why)
{
    static const char next_open[] = "next-open";
    vg_deadline_rule r = {0};
    const char *t = text ? text : "";
    vg_reason inner = {{0}};
    if (strncmp(t, next_open, sizeof next_open - 1) == 0) {
        const char *rest = t + sizeof next_open - 1;
        r.unit = VG_DL_NEXT_OPEN;
        if (*rest == '+' && (vg_duration_parse(&r.duration_ms, rest + 1, &inner) != VG_OK ||
                             r.duration_ms > VG_DEADLINE_NEXT_OPEN_MAX_MS)) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "deadline '%s': after next-open+ comes a duration up to 366d "
                                 "such as \"1h\"",
                                 t);
        }
        if (*rest != '+' && *rest != '\0') {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "deadline '%s': write next-open or next-open+DURATION", t);
        }
    } else if (strstr(t, "wd") != NULL) {
        r.unit = VG_DL_WORKING_DAYS;
        if (!s_count(&r.count, t, "wd", VG_DEADLINE_WD_MAX)) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "deadline '%s': working days are written Nwd, N from 1 to %u", t,
                                 VG_DEADLINE_WD_MAX);
        }
    } else if (strstr(t, "bh") != NULL) {
        r.unit = VG_DL_BUSINESS_HOURS;
        if (!s_count(&r.count, t, "bh", VG_DEADLINE_BH_MAX)) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "deadline '%s': hours in opening hours are written Nbh, N from 1 "
                                 "to %u",
                                 t, VG_DEADLINE_BH_MAX);
        }
    } else {
        r.unit = VG_DL_DURATION;
        if (vg_duration_parse(&r.duration_ms, t, &inner) != VG_OK || r.duration_ms == 0) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "deadline '%s' must be a duration (\"15m\", \"1h\", \"3d\"), "
                                 "Nwd (working days), Nbh (hours in opening hours) or "
                                 "next-open+DURATION",
                                 t);
        }
    }
    *out = r;
    return VG_OK;
}

void
vg_deadline_rule_format(char *out, size_t out_len, const vg_deadline_rule *rule)
{
    char dur[32];
    switch (rule->unit) {
    case VG_DL_WORKING_DAYS:
        snprintf(out, out_len, "%uwd", rule->count);
        break;
    case VG_DL_BUSINESS_HOURS:
        snprintf(out, out_len, "%ubh", rule->count);
        break;
    case VG_DL_NEXT_OPEN:
        vg_duration_format(dur, sizeof dur, rule->duration_ms);
        snprintf(out, out_len, rule->duration_ms ? "next-open+%s" : "next-open", dur);
        break;
    default:
        vg_duration_format(dur, sizeof dur, rule->duration_ms);
        snprintf(out, out_len, "%s", dur);
        break;
    }
}

bool
vg_deadline_rule_needs_calendar(const vg_deadline_rule *rule)
{
    return rule->unit != VG_DL_DURATION;
}

bool
vg_deadline_rule_needs_hours(const vg_deadline_rule *rule)
{
    return rule->unit == VG_DL_BUSINESS_HOURS || rule->unit == VG_DL_NEXT_OPEN;
}

/* ---- the deadline function -------------------------------------------------- */

/* floor(a / b) for b > 0 */
static int64_t
s_floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && a < 0);
}

/* Local date (day number) of a UTC instant in cal's zone. */
static int32_t
s_local_day(const vg_calendar *cal, int64_t utc_ms)
{
    int64_t s = s_floor_div(utc_ms, 1000);
    return (int32_t)s_floor_div(s + vg_tz_offset_s(&cal->tz, s), 86400);
}

/* UTC ms of minute `min` (0..1440) of local date `day`. */
static int64_t
s_local_ms(const vg_calendar *cal, int32_t day, int min)
{
    return vg_tz_to_utc_s(&cal->tz, (int64_t)day * 86400 + (int64_t)min * 60) * 1000;
}

static int64_t
s_working_days(const vg_calendar *cal, uint32_t n, int64_t accepted_ms, unsigned *warn)
{
    if (cal == NULL) {
        *warn |= VG_DLW_NO_CALENDAR; /* calendar days, in UTC */
        int64_t day = accepted_ms / VG_DAY_MS;
        return (day + n + 1) * VG_DAY_MS;
    }
    bool past = false;
    int32_t day = s_local_day(cal, accepted_ms);
    for (uint32_t k = 0; k < n;) {
        day++;
        k += vg_calendar_is_working_day(cal, day, &past) ? 1 : 0;
    }
    if (past) {
        *warn |= VG_DLW_PAST_VALID_UNTIL;
    }
    /* 24:00 of the Nth working day: the first instant of the next date */
    return s_local_ms(cal, day + 1, 0);
}

/* Walks the open spans from `from_ms` on, in time order. For next-open
 * (want_ms < 0) returns the first open instant at or after from_ms; for Nbh
 * the instant want_ms of open time after from_ms. -1 if the walk runs away
 * (a bug: a verified document cannot make it). */
static int64_t
s_walk_open(const vg_calendar *cal, const vg_hours *hours, int64_t from_ms, int64_t want_ms,
            bool *past)
{
    int32_t day = s_local_day(cal, from_ms);
    int64_t left = want_ms;
    for (uint32_t i = 0; i < S_WALK_DAYS_MAX; i++, day++) {
        if (!vg_calendar_is_working_day(cal, day, past)) {
            continue;
        }
        int wd = vg_weekday(day);
        for (size_t j = 0; j < hours->n_spans; j++) {
            const vg_span *sp = &hours->spans[j];
            if (sp->weekday != wd) {
                continue;
            }
            int64_t open = s_local_ms(cal, day, sp->open_min);
            int64_t close = s_local_ms(cal, day, sp->close_min);
            int64_t start = open > from_ms ? open : from_ms;
            if (close <= start) {
                continue; /* already over, or empty on a clock-change day */
            }
            if (want_ms < 0) {
                return start;
            }
            if (close - start >= left) {
                return start + left;
            }
            left -= close - start;
        }
    }
    return -1;
}

bool
vg_hours_is_open(const vg_calendar *cal, const vg_hours *hours, int64_t at_ms)
{
    if (cal == NULL || hours == NULL || hours->n_spans == 0 || at_ms < VG_TZ_MS_MIN ||
        at_ms >= VG_TZ_MS_MAX) {
        return true;
    }
    bool past = false;
    return s_walk_open(cal, hours, at_ms, -1, &past) == at_ms;
}

void
vg_calendar_local(const vg_calendar *cal, int64_t at_ms, int32_t *day, int *minute)
{
    int64_t s = s_floor_div(at_ms, 1000);
    int64_t local = s + vg_tz_offset_s(&cal->tz, s);
    *day = (int32_t)s_floor_div(local, 86400);
    *minute = (int)((local - (int64_t)*day * 86400) / 60);
}

vg_err
vg_deadline_compute(int64_t *out_ms, unsigned *warnings, const vg_deadline_rule *rule,
                    const vg_calendar *cal, const vg_hours *hours, int64_t accepted_ms)
{
    if (rule == NULL || accepted_ms < VG_TZ_MS_MIN || accepted_ms >= VG_TZ_MS_MAX) {
        return VG_ERR_INVALID;
    }
    unsigned warn = 0;
    bool past = false;
    bool have_hours = cal != NULL && hours != NULL && hours->n_spans > 0;
    int64_t at = -1;
    switch (rule->unit) {
    case VG_DL_DURATION:
        at = rule->duration_ms > (uint64_t)VG_TZ_MS_MAX ? -1
                                                        : accepted_ms + (int64_t)rule->duration_ms;
        break;
    case VG_DL_WORKING_DAYS:
        at = s_working_days(cal, rule->count, accepted_ms, &warn);
        break;
    case VG_DL_BUSINESS_HOURS:
        if (!have_hours) {
            warn |= VG_DLW_NO_HOURS;
            at = accepted_ms + (int64_t)rule->count * S_HOUR_MS;
        } else {
            at = s_walk_open(cal, hours, accepted_ms, (int64_t)rule->count * S_HOUR_MS, &past);
        }
        break;
    case VG_DL_NEXT_OPEN:
        if (!have_hours) {
            warn |= VG_DLW_NO_HOURS;
            at = accepted_ms;
        } else {
            at = s_walk_open(cal, hours, accepted_ms, -1, &past);
        }
        at = at < 0 ? -1 : at + (int64_t)rule->duration_ms;
        break;
    default:
        return VG_ERR_INVALID;
    }
    if (at < accepted_ms || at >= VG_TZ_MS_MAX) {
        return VG_ERR_INVALID;
    }
    *out_ms = at;
    *warnings = warn | (past ? VG_DLW_PAST_VALID_UNTIL : 0);
    return VG_OK;
}
