/* clock.c — the real clocks behind vg_clock; RFC 3339 times as text. */
#include "vigil/clock.h"

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

static int64_t
s_read(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
s_wall_ms(void *ctx)
{
    (void)ctx;
    return s_read(CLOCK_REALTIME);
}

static int64_t
s_mono_ms(void *ctx)
{
    (void)ctx;
    return s_read(CLOCK_MONOTONIC);
}

static const vg_clock s_system = {s_wall_ms, s_mono_ms, NULL};

const vg_clock *
vg_clock_system(void)
{
    return &s_system;
}

void
vg_time_format(char *out, size_t out_len, int64_t wall_ms)
{
    time_t secs = (time_t)(wall_ms / 1000);
    int ms = (int)(wall_ms % 1000);
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL) {
        snprintf(out, out_len, "invalid-time");
        return;
    }
    snprintf(out, out_len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

/* ---- parsing ------------------------------------------------------------------ */

#define S_FRACTION_DIGITS_MAX 9 /* nanoseconds: more says nothing a clock measures */

/* Exactly n decimal digits at *p; advances past them. */
static bool
s_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* One character of set at *p; advances past it. */
static bool
s_char(const char **p, const char *set)
{
    for (const char *c = set; *c != '\0'; c++) {
        if (**p == *c) {
            (*p)++;
            return true;
        }
    }
    return false;
}

static bool
s_is_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
s_days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && s_is_leap_year(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
 * days_from_civil): timegm() is not POSIX, and mktime() reads the TZ. */
static int64_t
s_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The pieces of a time as written; filled field by field. */
typedef struct s_stamp {
    int year, month, day;     /* the date */
    int hour, minute, second; /* the time of day (second may be 60) */
    int ms;                   /* the fraction, cut to milliseconds */
    int offset_min;           /* local time minus UTC */
} s_stamp;

/* ".F" after the seconds, if there is one: false on a dot without digits or
 * with too many. */
static bool
s_fraction(const char **p, s_stamp *t)
{
    if (!s_char(p, ".")) {
        return true;
    }
    int digits = 0;
    for (int scale = 100; **p >= '0' && **p <= '9'; (*p)++, digits++, scale /= 10) {
        t->ms += (**p - '0') * scale; /* scale reaches 0 past the milliseconds: cut */
    }
    return digits >= 1 && digits <= S_FRACTION_DIGITS_MAX;
}

/* "Z" or "+HH:MM" / "-HH:MM". */
static bool
s_offset(const char **p, s_stamp *t)
{
    if (s_char(p, "Zz")) {
        return true;
    }
    char sign = **p;
    int oh = 0, om = 0;
    if (!s_char(p, "+-") || !s_digits(p, 2, &oh) || !s_char(p, ":") || !s_digits(p, 2, &om) ||
        oh > 23 || om > 59) {
        return false;
    }
    t->offset_min = (oh * 60 + om) * (sign == '-' ? -1 : 1);
    return true;
}

/* The syntax; ranges are checked after. *has_time is false for a bare date. */
static bool
s_scan(const char *text, s_stamp *t, bool *has_time)
{
    const char *p = text;
    if (!s_digits(&p, 4, &t->year) || !s_char(&p, "-") || !s_digits(&p, 2, &t->month) ||
        !s_char(&p, "-") || !s_digits(&p, 2, &t->day)) {
        return false;
    }
    *has_time = *p != '\0';
    if (!*has_time) {
        return true;
    }
    return s_char(&p, "Tt ") && s_digits(&p, 2, &t->hour) && s_char(&p, ":") &&
           s_digits(&p, 2, &t->minute) && s_char(&p, ":") && s_digits(&p, 2, &t->second) &&
           s_fraction(&p, t) && s_offset(&p, t) && *p == '\0';
}

vg_err
vg_time_parse(int64_t *out_ms, const char *text, vg_time_forms forms, vg_reason *why)
{
    static const char accepted[] =
        "give an RFC 3339 time like 2026-01-31T08:00:00Z (a fraction and an offset "
        "like +01:00 are allowed)";
    s_stamp t = {0};
    bool has_time = false;
    if (text == NULL || !s_scan(text, &t, &has_time)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "'%s' is not a time: %s%s",
                             text ? text : "(null)", accepted,
                             forms == VG_TIME_OR_DATE ? ", or a date YYYY-MM-DD" : "");
    }
    if (!has_time && forms != VG_TIME_OR_DATE) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "'%s' is a date without a time of day: %s",
                             text, accepted);
    }
    if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > s_days_in_month(t.year, t.month)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "'%s': there is no day %04d-%02d-%02d", text,
                             t.year, t.month, t.day);
    }
    if (t.hour > 23 || t.minute > 59 || t.second > 60) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "'%s': %02d:%02d:%02d is not a time of day (00:00:00 to 23:59:59)",
                             text, t.hour, t.minute, t.second);
    }
    int64_t minutes =
        s_days_from_civil(t.year, t.month, t.day) * 1440 + t.hour * 60 + t.minute - t.offset_min;
    if (t.second == 60) { /* only the last minute of a UTC day can have one */
        if ((minutes % 1440 + 1440) % 1440 != 1439) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "'%s': a leap second (:60) can only be at 23:59:60 UTC", text);
        }
        *out_ms = minutes * 60000 + 59999;
        return VG_OK;
    }
    *out_ms = minutes * 60000 + t.second * 1000 + t.ms;
    return VG_OK;
}
