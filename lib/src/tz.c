/* tz.c — civil dates and local time under a POSIX TZ rule (vigil/tz.h). */
#include "vigil/tz.h"

#include <stdio.h>
#include <string.h>

/* ---- civil dates ---------------------------------------------------------- */

/* Howard Hinnant's days_from_civil / civil_from_days (public domain),
 * exact for the proleptic Gregorian calendar. */
int32_t
vg_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;                                   /* [0, 399] */
    int doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void
vg_civil_from_days(int32_t days, int *y, int *m, int *d)
{
    int32_t z = days + 719468;
    int32_t era = (z >= 0 ? z : z - 146096) / 146097;
    int32_t doe = z - era * 146097;
    int32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int32_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

int
vg_weekday(int32_t days)
{
    /* 1970-01-01 was a Thursday (ISO 4) */
    int32_t w = (days % 7 + 7 + 3) % 7; /* 0 = Monday */
    return (int)w + 1;
}

static int
s_month_days(int y, int m)
{
    static const int n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : n[m - 1];
}

bool
vg_date_is_valid(uint32_t ymd)
{
    if (ymd < VG_DATE_MIN || ymd > VG_DATE_MAX) {
        return false;
    }
    int y = (int)(ymd / 10000), m = (int)(ymd / 100 % 100), d = (int)(ymd % 100);
    return m >= 1 && m <= 12 && d >= 1 && d <= s_month_days(y, m);
}

int32_t
vg_date_days(uint32_t ymd)
{
    return vg_days_from_civil((int)(ymd / 10000), (int)(ymd / 100 % 100), (int)(ymd % 100));
}

uint32_t
vg_date_from_days(int32_t days)
{
    int y, m, d;
    vg_civil_from_days(days, &y, &m, &d);
    return (uint32_t)(y * 10000 + m * 100 + d);
}

vg_err
vg_date_parse(uint32_t *out, const char *text, vg_reason *why)
{
    const char *t = text ? text : "";
    bool shape = strlen(t) == 10 && t[4] == '-' && t[7] == '-';
    uint32_t ymd = 0;
    for (size_t i = 0; shape && i < 10; i++) {
        if (i == 4 || i == 7) {
            continue;
        }
        shape = t[i] >= '0' && t[i] <= '9';
        ymd = ymd * 10 + (uint32_t)(t[i] - '0');
    }
    if (!shape || !vg_date_is_valid(ymd)) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "'%s' is not a date YYYY-MM-DD between 1970-01-01 and 2199-12-31", t);
    }
    *out = ymd;
    return VG_OK;
}

void
vg_date_format(char *out, size_t out_len, uint32_t ymd)
{
    snprintf(out, out_len, "%04u-%02u-%02u", ymd / 10000, ymd / 100 % 100, ymd % 100);
}

void
vg_utc_format(char *out, size_t out_len, int64_t utc_ms)
{
    int64_t ms = utc_ms % 1000, s = utc_ms / 1000;
    if (ms < 0) {
        ms += 1000;
        s -= 1;
    }
    int64_t days = s / 86400, sod = s % 86400;
    if (sod < 0) {
        sod += 86400;
        days -= 1;
    }
    int y, m, d;
    vg_civil_from_days((int32_t)days, &y, &m, &d);
    if (ms == 0) {
        snprintf(out, out_len, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(sod / 3600),
                 (int)(sod / 60 % 60), (int)(sod % 60));
    } else {
        snprintf(out, out_len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, (int)(sod / 3600),
                 (int)(sod / 60 % 60), (int)(sod % 60), (int)ms);
    }
}

/* ---- parsing a POSIX TZ rule ---------------------------------------------- */

typedef struct s_cur {
    const char *p; /* next character */
} s_cur;

/* A zone abbreviation: 3+ letters, or <3+ of [A-Za-z0-9+-]>. */
static bool
s_name(s_cur *c)
{
    const char *p = c->p;
    size_t n = 0;
    if (*p == '<') {
        p++;
        while ((p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= 'a' && p[n] <= 'z') ||
               (p[n] >= '0' && p[n] <= '9') || p[n] == '+' || p[n] == '-') {
            n++;
        }
        if (n < 3 || p[n] != '>') {
            return false;
        }
        c->p = p + n + 1;
        return true;
    }
    while ((p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= 'a' && p[n] <= 'z')) {
        n++;
    }
    c->p = p + n;
    return n >= 3;
}

static bool
s_number(s_cur *c, int max, int *out)
{
    int v = 0, n = 0;
    while (*c->p >= '0' && *c->p <= '9' && n < 4) {
        v = v * 10 + (*c->p++ - '0');
        n++;
    }
    *out = v;
    return n > 0 && v <= max;
}

/* [+-]hh[:mm[:ss]] with hh <= max_h; seconds, sign as written. */
static bool
s_hms(s_cur *c, int max_h, int32_t *out)
{
    int sign = 1;
    if (*c->p == '+' || *c->p == '-') {
        sign = *c->p++ == '-' ? -1 : 1;
    }
    int h = 0, m = 0, s = 0;
    if (!s_number(c, max_h, &h)) {
        return false;
    }
    if (*c->p == ':') {
        c->p++;
        if (!s_number(c, 59, &m)) {
            return false;
        }
        if (*c->p == ':') {
            c->p++;
            if (!s_number(c, 59, &s)) {
                return false;
            }
        }
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return true;
}

/* ",Mm.w.d[/time]" */
static bool
s_when(s_cur *c, vg_tz_when *w)
{
    if (*c->p != ',' || c->p[1] != 'M') {
        return false;
    }
    c->p += 2;
    if (!s_number(c, 12, &w->month) || w->month < 1 || *c->p++ != '.' ||
        !s_number(c, 5, &w->week) || w->week < 1 || *c->p++ != '.' || !s_number(c, 6, &w->wday)) {
        return false;
    }
    w->time_s = 2 * 3600;
    if (*c->p == '/') {
        c->p++;
        return s_hms(c, 167, &w->time_s);
    }
    return true;
}

vg_err
vg_tz_parse(vg_tz *out, const char *rule, vg_reason *why)
{
    if (rule == NULL || strlen(rule) > VG_TZ_RULE_MAX) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "a time zone rule is 1..%d characters",
                             VG_TZ_RULE_MAX);
    }
    vg_tz tz;
    memset(&tz, 0, sizeof tz);
    s_cur c = {rule};
    int32_t off = 0;
    if (!s_name(&c) || !s_hms(&c, 24, &off)) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "time zone rule '%s': expected a POSIX TZ rule such as "
                             "\"GMT0BST,M3.5.0/1,M10.5.0\" (a name, then an offset)",
                             rule);
    }
    tz.std_off_s = -off;
    tz.dst_off_s = -off;
    if (*c.p != '\0') {
        if (!s_name(&c)) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "time zone rule '%s': the daylight-time name is invalid", rule);
        }
        tz.has_dst = true;
        tz.dst_off_s = tz.std_off_s + 3600;
        if (*c.p != ',' && *c.p != '\0') {
            if (!s_hms(&c, 24, &off)) {
                return vg_reason_set(why, VG_ERR_MALFORMED,
                                     "time zone rule '%s': the daylight-time offset is invalid",
                                     rule);
            }
            tz.dst_off_s = -off;
        }
        if (!s_when(&c, &tz.start) || !s_when(&c, &tz.end)) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "time zone rule '%s': daylight saving needs its start and end as "
                                 "\",Mm.w.d[/time],Mm.w.d[/time]\" (only the M form is accepted)",
                                 rule);
        }
    }
    if (*c.p != '\0') {
        return vg_reason_set(why, VG_ERR_MALFORMED, "time zone rule '%s': unexpected text at '%s'",
                             rule, c.p);
    }
    *out = tz;
    return VG_OK;
}

/* ---- conversion ----------------------------------------------------------- */

/* Day number of the transition's date in year y. */
static int32_t
s_when_day(const vg_tz_when *w, int y)
{
    int32_t first = vg_days_from_civil(y, w->month, 1);
    int first_wday = vg_weekday(first) % 7; /* 0 = Sunday */
    int32_t day = first + (w->wday - first_wday + 7) % 7 + 7 * (w->week - 1);
    while (day >= first + s_month_days(y, w->month)) {
        day -= 7; /* week 5: the last such weekday of the month */
    }
    return day;
}

/* UTC second at which daylight time starts (is_start) or ends in year y. */
static int64_t
s_transition(const vg_tz *tz, bool is_start, int y)
{
    const vg_tz_when *w = is_start ? &tz->start : &tz->end;
    int64_t local = (int64_t)s_when_day(w, y) * 86400 + w->time_s;
    /* the start is written in standard time, the end in daylight time */
    return local - (is_start ? tz->std_off_s : tz->dst_off_s);
}

int32_t
vg_tz_offset_s(const vg_tz *tz, int64_t utc_s)
{
    if (!tz->has_dst) {
        return tz->std_off_s;
    }
    int y, m, d;
    vg_civil_from_days((int32_t)((utc_s + tz->std_off_s) / 86400), &y, &m, &d);
    /* The latest transition at or before utc_s, looking a year either side
     * so that southern-hemisphere rules and times past midnight need no
     * special case. */
    int64_t best = INT64_MIN;
    bool dst = false;
    for (int yy = y - 1; yy <= y + 1; yy++) {
        int64_t s = s_transition(tz, true, yy), e = s_transition(tz, false, yy);
        if (s <= utc_s && s > best) {
            best = s;
            dst = true;
        }
        if (e <= utc_s && e > best) {
            best = e;
            dst = false;
        }
    }
    return dst ? tz->dst_off_s : tz->std_off_s;
}

int64_t
vg_tz_to_utc_s(const vg_tz *tz, int64_t local_s)
{
    int64_t u_std = local_s - tz->std_off_s, u_dst = local_s - tz->dst_off_s;
    bool ok_std = vg_tz_offset_s(tz, u_std) == tz->std_off_s;
    bool ok_dst = vg_tz_offset_s(tz, u_dst) == tz->dst_off_s;
    if (ok_std && ok_dst) {
        return u_std < u_dst ? u_std : u_dst; /* occurs twice: the earlier */
    }
    if (ok_std) {
        return u_std;
    }
    if (ok_dst) {
        return u_dst;
    }
    /* does not exist: the offset before the gap, which is the smaller one
     * (a gap is where the offset grows) */
    return local_s - (tz->std_off_s < tz->dst_off_s ? tz->std_off_s : tz->dst_off_s);
}
