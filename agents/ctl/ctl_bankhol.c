/*
 * ctl_bankhol.c — the UK's bank holidays by their fixed rules, to extend an
 * imported calendar past the years the government has published.
 *
 * The rules (Banking and Financial Dealings Act 1971 and the annual
 * proclamations, as practised since 1978):
 *  - everywhere: New Year's Day, Good Friday (Easter Sunday - 2), the early
 *    May bank holiday (first Monday of May), the spring bank holiday (last
 *    Monday of May), Christmas Day and Boxing Day;
 *  - England and Wales, Northern Ireland: Easter Monday, and the summer bank
 *    holiday on the last Monday of August;
 *  - Scotland: 2 January, the summer bank holiday on the first Monday of
 *    August, St Andrew's Day (30 November);
 *  - Northern Ireland: St Patrick's Day (17 March) and the Battle of the
 *    Boyne (12 July).
 * A fixed-date holiday on a Saturday or Sunday moves to the next weekday
 * that is not already a holiday of its group (New Year and 2 January;
 * Christmas and Boxing Day); those that fall on a weekday keep their day.
 * Easter is the Gregorian computus (the "anonymous" algorithm).
 *
 * What no rule can know: one-off holidays (a jubilee, a coronation, a state
 * funeral) and moved days (the early May holiday on VE Day in 2020, the
 * spring holiday in 2002, 2012 and 2022). Generated dates are a forecast;
 * the published file, imported again, wins.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "vigil/tz.h"

typedef struct s_out {
    ctl_holiday *items; /* caller's array */
    size_t cap;         /* its size */
    size_t n;           /* used */
} s_out;

static bool
s_add(s_out *o, int32_t day, const char *title, bool substitute)
{
    if (o->n == o->cap) {
        return false;
    }
    ctl_holiday *h = &o->items[o->n++];
    h->date = vg_date_from_days(day);
    snprintf(h->title, sizeof h->title, "%s%s", title, substitute ? " (substitute day)" : "");
    return true;
}

/* Easter Sunday of year y (Gregorian). */
static int32_t
s_easter(int y)
{
    int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4, f = (b + 8) / 25;
    int g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30, i = c / 4, k = c % 4;
    int l = (32 + 2 * e + 2 * i - h - k) % 7, m = (a + 11 * h + 22 * l) / 451;
    int month = (h + l - 7 * m + 114) / 31, day = (h + l - 7 * m + 114) % 31 + 1;
    return vg_days_from_civil(y, month, day);
}

/* The first Monday of month m (week 1) or the last (week 5). */
static int32_t
s_monday(int y, int m, int week)
{
    int32_t first = vg_days_from_civil(y, m, 1);
    int32_t mon = first + (8 - vg_weekday(first)) % 7;
    if (week == 1) {
        return mon;
    }
    int32_t next_month =
        m == 12 ? vg_days_from_civil(y + 1, 1, 1) : vg_days_from_civil(y, m + 1, 1);
    while (mon + 7 < next_month) {
        mon += 7;
    }
    return mon;
}

static bool
s_weekend(int32_t day)
{
    return vg_weekday(day) >= 6;
}

/* A group of fixed-date holidays that share substitute days. */
static bool
s_group(s_out *o, const int32_t *days, const char *const *titles, size_t n)
{
    int32_t taken[4];
    size_t n_taken = 0;
    for (size_t i = 0; i < n; i++) {
        if (!s_weekend(days[i])) {
            taken[n_taken++] = days[i];
        }
    }
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        int32_t day = days[i];
        bool moved = s_weekend(day);
        for (size_t j = 0; moved && j < 16; j++) {
            bool clash = false;
            day++;
            for (size_t k = 0; k < n_taken; k++) {
                clash |= taken[k] == day;
            }
            if (!s_weekend(day) && !clash) {
                taken[n_taken++] = day;
                break;
            }
        }
        ok &= s_add(o, day, titles[i], moved);
    }
    return ok;
}

bool
ctl_bankhol_knows(const char *division)
{
    return strcmp(division, "england-and-wales") == 0 || strcmp(division, "scotland") == 0 ||
           strcmp(division, "northern-ireland") == 0;
}

static int
s_cmp(const void *a, const void *b)
{
    uint32_t x = ((const ctl_holiday *)a)->date, y = ((const ctl_holiday *)b)->date;
    return (x > y) - (x < y);
}

size_t
ctl_bankhol_generate(ctl_holiday *out, size_t cap, const char *division, int year)
{
    bool scot = strcmp(division, "scotland") == 0, ni = strcmp(division, "northern-ireland") == 0;
    if (!ctl_bankhol_knows(division) || year < 1979 || year > 2199) {
        return 0;
    }
    s_out o = {out, cap, 0};
    bool ok = true;
    int32_t ny[2] = {vg_days_from_civil(year, 1, 1), vg_days_from_civil(year, 1, 2)};
    const char *ny_titles[2] = {"New Year\u2019s Day", "2nd January"};
    ok &= s_group(&o, ny, ny_titles, scot ? 2 : 1);
    if (ni) {
        int32_t d = vg_days_from_civil(year, 3, 17);
        ok &= s_group(&o, &d, (const char *const[]){"St Patrick\u2019s Day"}, 1);
    }
    int32_t easter = s_easter(year);
    ok &= s_add(&o, easter - 2, "Good Friday", false);
    if (!scot) {
        ok &= s_add(&o, easter + 1, "Easter Monday", false);
    }
    ok &= s_add(&o, s_monday(year, 5, 1), "Early May bank holiday", false);
    ok &= s_add(&o, s_monday(year, 5, 5), "Spring bank holiday", false);
    if (ni) {
        int32_t d = vg_days_from_civil(year, 7, 12);
        ok &=
            s_group(&o, &d, (const char *const[]){"Battle of the Boyne (Orangemen\u2019s Day)"}, 1);
    }
    ok &= s_add(&o, s_monday(year, 8, scot ? 1 : 5), "Summer bank holiday", false);
    if (scot) {
        int32_t d = vg_days_from_civil(year, 11, 30);
        ok &= s_group(&o, &d, (const char *const[]){"St Andrew\u2019s Day"}, 1);
    }
    int32_t xmas[2] = {vg_days_from_civil(year, 12, 25), vg_days_from_civil(year, 12, 26)};
    const char *xmas_titles[2] = {"Christmas Day", "Boxing Day"};
    ok &= s_group(&o, xmas, xmas_titles, 2);
    if (!ok) {
        return 0;
    }
    qsort(out, o.n, sizeof *out, s_cmp);
    return o.n;
}
