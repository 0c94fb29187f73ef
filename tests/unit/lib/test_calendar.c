/* test_calendar.c — vigil/calendar.h: deadline units and the pure deadline
 * function, table-driven, with the expected UTC instants written out.
 *
 * The calendars are built from tests/vectors/gov-uk-bank-holidays.json, a
 * fixture in the format of the UK government's published bank-holiday file
 * with the real dates of 2022-2027 (one-off holidays and substitute days
 * included), so the table checks the function against the real calendar and
 * not against a copy of its own arithmetic. Every expected instant below was
 * worked out by hand from the definitions in docs/network.md; the comment
 * on each row says how. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "vigil/calendar.h"
#include "vt.h"

#define LONDON "GMT0BST,M3.5.0/1,M10.5.0"
#define FIXTURE VG_VECTORS_DIR "/gov-uk-bank-holidays.json"

enum { C_EW, C_SCOT, C_NI, C_UK, C_SEVEN, C_NONE, N_CALS };
enum { H_OFFICE, H_NIGHT, H_ALWAYS, H_NONE, N_HOURS };

typedef struct s_world {
    vg_calendar cals[N_CALS]; /* C_NONE is unused (NULL is passed) */
    int32_t *days[N_CALS];    /* owned closed-date arrays */
    vg_hours hours[N_HOURS];  /* H_NONE has no spans */
} s_world;

static const vg_span s_office[] = {
    {1, 540, 1020}, {2, 540, 1020}, {3, 540, 1020}, {4, 540, 1020}, {5, 540, 990},
};
static const vg_span s_night[] = {{7, 90, 180}}; /* Sundays 01:30-03:00 */
static const vg_span s_always[] = {
    {1, 0, 1440}, {2, 0, 1440}, {3, 0, 1440}, {4, 0, 1440},
    {5, 0, 1440}, {6, 0, 1440}, {7, 0, 1440},
};

/* ---- helpers ------------------------------------------------------------ */

/* "YYYY-MM-DDTHH:MM:SSZ" → UTC ms. */
static int64_t
s_ms(const char *text)
{
    int y, mo, d, h, mi, s;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2dZ", &y, &mo, &d, &h, &mi, &s) != 6) {
        fail_msg("bad instant in the test: %s", text);
    }
    return ((int64_t)vg_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000;
}

static int
s_cmp_day(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Appends the dates of one division of the fixture to days[*n]. */
static void
s_load_division(int32_t *days, size_t *n, json_t *root, const char *division)
{
    json_t *events = json_object_get(json_object_get(root, division), "events");
    assert_true(json_is_array(events));
    for (size_t i = 0; i < json_array_size(events); i++) {
        uint32_t ymd = 0;
        const char *date = json_string_value(json_object_get(json_array_get(events, i), "date"));
        assert_int_equal(vg_date_parse(&ymd, date, NULL), VG_OK);
        days[(*n)++] = vg_date_days(ymd);
    }
}

/* Sorts, removes duplicates, and fills the view of calendar c. */
static void
s_finish(s_world *w, int c, const char *name, uint8_t weekend, int32_t *days, size_t n)
{
    qsort(days, n, sizeof *days, s_cmp_day);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k == 0 || days[k - 1] != days[i]) {
            days[k++] = days[i];
        }
    }
    vg_calendar *cal = &w->cals[c];
    cal->name = name;
    cal->time_zone = "Europe/London";
    assert_int_equal(vg_tz_parse(&cal->tz, LONDON, NULL), VG_OK);
    cal->weekend_mask = weekend;
    cal->closed = days;
    cal->n_closed = k;
    cal->valid_until = vg_days_from_civil(2027, 12, 31);
    vg_calendar_hash(cal->hash, LONDON, weekend, cal->valid_until, days, k);
    w->days[c] = days;
}

static int
setup(void **state)
{
    s_world *w = calloc(1, sizeof *w);
    json_error_t jerr;
    json_t *root = json_load_file(FIXTURE, 0, &jerr);
    if (root == NULL) {
        fail_msg("%s: %s", FIXTURE, jerr.text);
    }
    const char *divisions[3] = {"england-and-wales", "scotland", "northern-ireland"};
    uint8_t weekend = (1u << 6) | (1u << 7);
    int32_t *all = calloc(512, sizeof *all);
    size_t n_all = 0;
    for (int c = C_EW; c <= C_NI; c++) {
        int32_t *days = calloc(256, sizeof *days);
        size_t n = 0;
        s_load_division(days, &n, root, divisions[c]);
        s_load_division(all, &n_all, root, divisions[c]);
        s_finish(w, c, divisions[c], weekend, days, n);
    }
    s_finish(w, C_UK, "uk-any", weekend, all, n_all);
    s_finish(w, C_SEVEN, "seven-day", 0, calloc(1, sizeof(int32_t)), 0);
    json_decref(root);
    w->hours[H_OFFICE] = (vg_hours){s_office, sizeof s_office / sizeof s_office[0]};
    w->hours[H_NIGHT] = (vg_hours){s_night, 1};
    w->hours[H_ALWAYS] = (vg_hours){s_always, 7};
    w->hours[H_NONE] = (vg_hours){NULL, 0};
    *state = w;
    return 0;
}

static int
teardown(void **state)
{
    s_world *w = *state;
    for (int c = 0; c < N_CALS; c++) {
        free(w->days[c]);
    }
    free(w);
    return 0;
}

/* ---- the table ---------------------------------------------------------- */

typedef struct s_case {
    const char *what;     /* the situation */
    int cal;              /* C_* */
    int hours;            /* H_* */
    const char *rule;     /* as written in the document */
    const char *accepted; /* UTC */
    const char *want;     /* UTC */
    unsigned warnings;    /* VG_DLW_* */
} s_case;

/* Office hours (H_OFFICE) are Mon-Thu 09:00-17:00 and Fri 09:00-16:30 local.
 * BST (UTC+1) runs 2026-03-29..2026-10-25 and 2027-03-28..2027-10-31;
 * "end of day D" is 00:00 local on D+1. */
static const s_case s_cases[] = {
    /* plain durations ignore calendars */
    {"duration, Saturday", C_EW, H_OFFICE, "15m", "2026-06-13T09:00:00Z", "2026-06-13T09:15:00Z",
     0},
    {"duration over the spring change", C_EW, H_OFFICE, "24h", "2026-03-28T12:00:00Z",
     "2026-03-29T12:00:00Z", 0},

    /* Friday 12 June 2026 (BST), before and after closing (16:30) */
    {"Fri before closing, 1bh: 15:00 -> 16:00 BST", C_EW, H_OFFICE, "1bh", "2026-06-12T14:00:00Z",
     "2026-06-12T15:00:00Z", 0},
    {"Fri before closing, 4bh: 1.5h Fri + 2.5h Mon -> Mon 11:30 BST", C_EW, H_OFFICE, "4bh",
     "2026-06-12T14:00:00Z", "2026-06-15T10:30:00Z", 0},
    {"Fri at closing, 1bh: nothing left Fri -> Mon 10:00 BST", C_EW, H_OFFICE, "1bh",
     "2026-06-12T15:30:00Z", "2026-06-15T09:00:00Z", 0},
    {"Fri after closing, 1bh -> Mon 10:00 BST", C_EW, H_OFFICE, "1bh", "2026-06-12T16:00:00Z",
     "2026-06-15T09:00:00Z", 0},
    {"Fri before closing, next-open+1h: open now -> 16:00 BST", C_EW, H_OFFICE, "next-open+1h",
     "2026-06-12T14:00:00Z", "2026-06-12T15:00:00Z", 0},
    {"Fri after closing, next-open+1h -> Mon 10:00 BST", C_EW, H_OFFICE, "next-open+1h",
     "2026-06-12T16:00:00Z", "2026-06-15T09:00:00Z", 0},
    {"Fri before closing, 1wd -> end of Mon", C_EW, H_OFFICE, "1wd", "2026-06-12T14:00:00Z",
     "2026-06-15T23:00:00Z", 0},
    {"Fri after closing, 1wd -> end of Mon (the day of acceptance never counts)", C_EW, H_OFFICE,
     "1wd", "2026-06-12T22:30:00Z", "2026-06-15T23:00:00Z", 0},
    {"Fri, 5wd -> end of the next Fri", C_EW, H_OFFICE, "5wd", "2026-06-12T14:00:00Z",
     "2026-06-19T23:00:00Z", 0},

    /* Easter 2026: Good Friday 3 April, Easter Monday 6 April (England and
     * Wales, Northern Ireland; not Scotland) */
    {"Thu before Good Friday, E&W, 1wd: Fri, Mon closed -> end of Tue 7", C_EW, H_OFFICE, "1wd",
     "2026-04-02T09:00:00Z", "2026-04-07T23:00:00Z", 0},
    {"Thu before Good Friday, Scotland, 1wd: Mon open -> end of Mon 6", C_SCOT, H_OFFICE, "1wd",
     "2026-04-02T09:00:00Z", "2026-04-06T23:00:00Z", 0},
    {"Thu before Good Friday, NI, 1wd -> end of Tue 7", C_NI, H_OFFICE, "1wd",
     "2026-04-02T09:00:00Z", "2026-04-07T23:00:00Z", 0},
    {"Thu 16:00 BST before Good Friday, E&W, 2bh: 1h Thu + Tue 09:00-10:00", C_EW, H_OFFICE, "2bh",
     "2026-04-02T15:00:00Z", "2026-04-07T09:00:00Z", 0},
    {"Thu 16:00 BST before Good Friday, Scotland, 2bh: 1h Thu + Mon 09:00-10:00", C_SCOT, H_OFFICE,
     "2bh", "2026-04-02T15:00:00Z", "2026-04-06T09:00:00Z", 0},
    {"Thu after closing before Good Friday, E&W, next-open -> Tue 09:00 BST", C_EW, H_OFFICE,
     "next-open", "2026-04-02T17:00:00Z", "2026-04-07T08:00:00Z", 0},

    /* 24-28 December 2027: Sat 25, Sun 26; substitute days Mon 27 and Tue 28 */
    {"Fri 24 Dec 2027, 1wd: 25-28 closed -> end of Wed 29", C_EW, H_OFFICE, "1wd",
     "2027-12-24T10:00:00Z", "2027-12-30T00:00:00Z", 0},
    {"Sat 25 Dec 2027, 1wd -> end of Wed 29", C_EW, H_OFFICE, "1wd", "2027-12-25T10:00:00Z",
     "2027-12-30T00:00:00Z", 0},
    {"Sun 26 Dec 2027, 1wd -> end of Wed 29", C_EW, H_OFFICE, "1wd", "2027-12-26T10:00:00Z",
     "2027-12-30T00:00:00Z", 0},
    {"Mon 27 Dec 2027 (substitute), 1wd -> end of Wed 29", C_EW, H_OFFICE, "1wd",
     "2027-12-27T10:00:00Z", "2027-12-30T00:00:00Z", 0},
    {"Tue 28 Dec 2027 (substitute), 1wd -> end of Wed 29", C_EW, H_OFFICE, "1wd",
     "2027-12-28T10:00:00Z", "2027-12-30T00:00:00Z", 0},
    {"Thu 23 Dec 2027, 2wd: Fri 24, then Wed 29", C_EW, H_OFFICE, "2wd", "2027-12-23T10:00:00Z",
     "2027-12-30T00:00:00Z", 0},
    {"Fri 24 Dec 2027 16:00, 1bh: 30m Fri + Wed 29 09:00-09:30", C_EW, H_OFFICE, "1bh",
     "2027-12-24T16:00:00Z", "2027-12-29T09:30:00Z", 0},
    {"Thu 24 Dec 2026 after closing, next-open+1h: Fri 25, Mon 28 (substitute) closed", C_EW,
     H_OFFICE, "next-open+1h", "2026-12-24T18:00:00Z", "2026-12-29T10:00:00Z", 0},

    /* 2 January in Scotland */
    {"Wed 31 Dec 2025, E&W, 1wd: Thu 1 closed, Fri 2 works", C_EW, H_OFFICE, "1wd",
     "2025-12-31T10:00:00Z", "2026-01-03T00:00:00Z", 0},
    {"Wed 31 Dec 2025, Scotland, 1wd: Thu 1, Fri 2 closed -> end of Mon 5", C_SCOT, H_OFFICE, "1wd",
     "2025-12-31T10:00:00Z", "2026-01-06T00:00:00Z", 0},
    {"Thu 31 Dec 2026, E&W, 1wd: Fri 1 closed -> end of Mon 4", C_EW, H_OFFICE, "1wd",
     "2026-12-31T10:00:00Z", "2027-01-05T00:00:00Z", 0},
    {"Thu 31 Dec 2026, Scotland, 1wd: 2 Jan a Saturday, substitute Mon 4 -> end of Tue 5", C_SCOT,
     H_OFFICE, "1wd", "2026-12-31T10:00:00Z", "2027-01-06T00:00:00Z", 0},

    /* 17 March and 12 July in Northern Ireland; the UK-wide union */
    {"Mon 16 Mar 2026, NI, 1wd: St Patrick's Day Tue 17 -> end of Wed 18", C_NI, H_OFFICE, "1wd",
     "2026-03-16T10:00:00Z", "2026-03-19T00:00:00Z", 0},
    {"Mon 16 Mar 2026, E&W, 1wd -> end of Tue 17", C_EW, H_OFFICE, "1wd", "2026-03-16T10:00:00Z",
     "2026-03-18T00:00:00Z", 0},
    {"Mon 16 Mar 2026, UK union, 1wd: closed anywhere -> end of Wed 18", C_UK, H_OFFICE, "1wd",
     "2026-03-16T10:00:00Z", "2026-03-19T00:00:00Z", 0},
    {"Mon 16 Mar 2026 16:30, UK union, 1bh: 30m Mon + Wed 09:00-09:30", C_UK, H_OFFICE, "1bh",
     "2026-03-16T16:30:00Z", "2026-03-18T09:30:00Z", 0},
    {"Fri 10 Jul 2026, NI, 1wd: 12 July a Sunday, substitute Mon 13 -> end of Tue 14", C_NI,
     H_OFFICE, "1wd", "2026-07-10T09:00:00Z", "2026-07-14T23:00:00Z", 0},
    {"Fri 10 Jul 2026, E&W, 1wd -> end of Mon 13", C_EW, H_OFFICE, "1wd", "2026-07-10T09:00:00Z",
     "2026-07-13T23:00:00Z", 0},
    {"Fri 9 Jul 2027, NI, 1wd: Mon 12 July closed -> end of Tue 13", C_NI, H_OFFICE, "1wd",
     "2027-07-09T09:00:00Z", "2027-07-13T23:00:00Z", 0},
    {"Fri 11 Jul 2025, NI, next-open: Mon 14 (substitute) closed -> Tue 09:00 BST", C_NI, H_OFFICE,
     "next-open", "2025-07-11T17:00:00Z", "2025-07-15T08:00:00Z", 0},

    /* acceptance on a Saturday, and on a bank holiday */
    {"Sat 13 Jun 2026, 1wd -> end of Mon 15", C_EW, H_OFFICE, "1wd", "2026-06-13T09:00:00Z",
     "2026-06-15T23:00:00Z", 0},
    {"Sat 13 Jun 2026, 1bh -> Mon 10:00 BST", C_EW, H_OFFICE, "1bh", "2026-06-13T09:00:00Z",
     "2026-06-15T09:00:00Z", 0},
    {"Spring bank holiday Mon 25 May 2026, 1wd -> end of Tue 26", C_EW, H_OFFICE, "1wd",
     "2026-05-25T10:00:00Z", "2026-05-26T23:00:00Z", 0},
    {"Spring bank holiday Mon 25 May 2026, next-open+1h -> Tue 10:00 BST", C_EW, H_OFFICE,
     "next-open+1h", "2026-05-25T10:00:00Z", "2026-05-26T09:00:00Z", 0},

    /* the spring Sunday, 29 March 2026: local 01:00-01:59 does not exist */
    {"Fri 27 Mar 2026 (GMT), 1wd -> end of Mon 30 in BST", C_EW, H_OFFICE, "1wd",
     "2026-03-27T12:00:00Z", "2026-03-30T23:00:00Z", 0},
    {"Sat 28 Mar 2026 23:30 GMT, next-open+1h -> Mon 09:00 BST + 1h", C_EW, H_OFFICE,
     "next-open+1h", "2026-03-28T23:30:00Z", "2026-03-30T09:00:00Z", 0},
    {"accepted 02:30 BST Sun 29 Mar (just after the gap), 1wd -> end of Mon 30", C_EW, H_OFFICE,
     "1wd", "2026-03-29T01:30:00Z", "2026-03-30T23:00:00Z", 0},
    {"span opening at 01:30, which does not exist: opens 01:30 UTC (02:30 BST)", C_SEVEN, H_NIGHT,
     "next-open", "2026-03-28T22:00:00Z", "2026-03-29T01:30:00Z", 0},
    {"that span is 30 minutes long (to 03:00 BST); 1bh ends the next Sunday", C_SEVEN, H_NIGHT,
     "1bh", "2026-03-28T22:00:00Z", "2026-04-05T01:00:00Z", 0},
    {"24bh when always open: real hours across the 23-hour day", C_SEVEN, H_ALWAYS, "24bh",
     "2026-03-28T12:00:00Z", "2026-03-29T12:00:00Z", 0},
    {"1wd across the spring change on a seven-day calendar: end of Sun 29 (BST)", C_SEVEN, H_ALWAYS,
     "1wd", "2026-03-28T12:00:00Z", "2026-03-29T23:00:00Z", 0},

    /* the autumn Sunday, 25 October 2026: local 01:00-01:59 happens twice */
    {"Fri 23 Oct 2026 (BST), 1wd -> end of Mon 26 in GMT", C_EW, H_OFFICE, "1wd",
     "2026-10-23T11:00:00Z", "2026-10-27T00:00:00Z", 0},
    {"accepted 01:30 BST (first 01:30), 1wd -> end of Mon 26", C_EW, H_OFFICE, "1wd",
     "2026-10-25T00:30:00Z", "2026-10-27T00:00:00Z", 0},
    {"accepted 01:30 GMT (second 01:30), 1wd -> end of Mon 26", C_EW, H_OFFICE, "1wd",
     "2026-10-25T01:30:00Z", "2026-10-27T00:00:00Z", 0},
    {"span opening at 01:30, which occurs twice: opens at the first (00:30 UTC)", C_SEVEN, H_NIGHT,
     "next-open", "2026-10-24T22:00:00Z", "2026-10-25T00:30:00Z", 0},
    {"that span is 2h30 long (to 03:00 GMT): 2bh -> 02:30 UTC", C_SEVEN, H_NIGHT, "2bh",
     "2026-10-24T22:00:00Z", "2026-10-25T02:30:00Z", 0},
    {"accepted in the second 01:15 (GMT), inside the span: next-open is now", C_SEVEN, H_NIGHT,
     "next-open+15m", "2026-10-25T01:15:00Z", "2026-10-25T01:30:00Z", 0},
    {"24bh when always open: real hours across the 25-hour day", C_SEVEN, H_ALWAYS, "24bh",
     "2026-10-24T12:00:00Z", "2026-10-25T12:00:00Z", 0},

    /* one-off holidays */
    {"Fri 16 Sep 2022, 1wd: the Queen's state funeral Mon 19 -> end of Tue 20", C_EW, H_OFFICE,
     "1wd", "2022-09-16T09:00:00Z", "2022-09-20T23:00:00Z", 0},
    {"Wed 1 Jun 2022, 1wd: spring holiday Thu 2 and jubilee Fri 3 -> end of Mon 6", C_SCOT,
     H_OFFICE, "1wd", "2022-06-01T09:00:00Z", "2022-06-06T23:00:00Z", 0},
    {"Fri 5 May 2023, 1wd: the coronation Mon 8 -> end of Tue 9", C_NI, H_OFFICE, "1wd",
     "2023-05-05T09:00:00Z", "2023-05-09T23:00:00Z", 0},

    /* valid_until 2027-12-31: after it, calendar days and a warning */
    {"Thu 30 Dec 2027, 1wd: Fri 31 is inside the list, no warning", C_EW, H_OFFICE, "1wd",
     "2027-12-30T10:00:00Z", "2028-01-01T00:00:00Z", 0},
    {"Thu 30 Dec 2027, 2wd: Sat 1 Jan 2028 is past valid_until and counts", C_EW, H_OFFICE, "2wd",
     "2027-12-30T10:00:00Z", "2028-01-02T00:00:00Z", VG_DLW_PAST_VALID_UNTIL},
    {"Fri 7 Jan 2028, accepted after valid_until, 1wd -> end of Sat 8", C_EW, H_OFFICE, "1wd",
     "2028-01-07T10:00:00Z", "2028-01-09T00:00:00Z", VG_DLW_PAST_VALID_UNTIL},
    {"Fri 31 Dec 2027 16:00, 1bh: 30m Fri + Mon 3 Jan 2028 (no list: not closed)", C_EW, H_OFFICE,
     "1bh", "2027-12-31T16:00:00Z", "2028-01-03T09:30:00Z", VG_DLW_PAST_VALID_UNTIL},

    /* no calendar, no hours: elapsed time, flagged */
    {"no calendar, 1wd: calendar days in UTC", C_NONE, H_NONE, "1wd", "2026-06-12T14:00:00Z",
     "2026-06-14T00:00:00Z", VG_DLW_NO_CALENDAR},
    {"no hours, 8bh: 8 elapsed hours", C_EW, H_NONE, "8bh", "2026-06-12T14:00:00Z",
     "2026-06-12T22:00:00Z", VG_DLW_NO_HOURS},
    {"no hours, next-open+1h: 1 elapsed hour", C_EW, H_NONE, "next-open+1h", "2026-06-12T16:00:00Z",
     "2026-06-12T17:00:00Z", VG_DLW_NO_HOURS},
};

static void
deadline_table(void **state)
{
    s_world *w = *state;
    size_t failed = 0;
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++) {
        const s_case *c = &s_cases[i];
        vg_deadline_rule rule;
        vg_reason why = {{0}};
        if (vg_deadline_rule_parse(&rule, c->rule, &why) != VG_OK) {
            fail_msg("case %zu (%s): rule %s: %s", i + 1, c->what, c->rule, why.text);
        }
        int64_t got = 0;
        unsigned warn = 0;
        const vg_calendar *cal = c->cal == C_NONE ? NULL : &w->cals[c->cal];
        vg_err err =
            vg_deadline_compute(&got, &warn, &rule, cal, &w->hours[c->hours], s_ms(c->accepted));
        char got_text[32] = "";
        vg_utc_format(got_text, sizeof got_text, got);
        if (err != VG_OK || got != s_ms(c->want) || warn != c->warnings) {
            print_error("case %zu (%s): %s %s from %s: want %s warnings %u, got %s %s warnings "
                        "%u\n",
                        i + 1, c->what, cal ? cal->name : "-", c->rule, c->accepted, c->want,
                        c->warnings, vg_err_code(err), got_text, warn);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

/* Every 97 minutes from 2025 to past valid_until, for every unit: the
 * deadline is never before acceptance, never earlier for a later
 * acceptance, and a working-day deadline is always local midnight. */
static void
deadline_properties_hold_everywhere(void **state)
{
    s_world *w = *state;
    const char *rules[] = {"1wd", "3wd", "1bh", "7bh", "next-open", "next-open+2h", "24bh"};
    const int cals[] = {C_EW, C_SCOT, C_UK, C_SEVEN};
    for (size_t c = 0; c < sizeof cals / sizeof cals[0]; c++) {
        const vg_calendar *cal = &w->cals[cals[c]];
        const vg_hours *hours = &w->hours[cals[c] == C_SEVEN ? H_NIGHT : H_OFFICE];
        for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
            vg_deadline_rule rule;
            assert_int_equal(vg_deadline_rule_parse(&rule, rules[r], NULL), VG_OK);
            int64_t prev = 0;
            for (int64_t t = s_ms("2025-01-01T00:00:00Z"); t < s_ms("2028-02-01T00:00:00Z");
                 t += 97 * 60000) {
                int64_t got = 0;
                unsigned warn = 0;
                assert_int_equal(vg_deadline_compute(&got, &warn, &rule, cal, hours, t), VG_OK);
                if (got < t || got < prev) {
                    fail_msg("%s %s at %lld: %lld (previous %lld)", cal->name, rules[r],
                             (long long)t, (long long)got, (long long)prev);
                }
                int64_t s = got / 1000;
                if (rule.unit == VG_DL_WORKING_DAYS && (s + vg_tz_offset_s(&cal->tz, s)) % 86400) {
                    fail_msg("%s %s at %lld: %lld is not local midnight", cal->name, rules[r],
                             (long long)t, (long long)got);
                }
                prev = got;
            }
        }
    }
}

/* ---- rules ---------------------------------------------------------------- */

static void
rules_parse_and_format(void **state)
{
    (void)state;
    const char *ok[][2] = {
        {"15m", "15m"},
        {"90s", "90s"},
        {"1wd", "1wd"},
        {"15wd", "15wd"},
        {"8bh", "8bh"},
        {"next-open", "next-open"},
        {"next-open+1h", "next-open+1h"},
        {"next-open+0s", "next-open"},
        {"366wd", "366wd"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        vg_deadline_rule r;
        char text[VG_DEADLINE_RULE_TEXT_MAX];
        assert_int_equal(vg_deadline_rule_parse(&r, ok[i][0], NULL), VG_OK);
        vg_deadline_rule_format(text, sizeof text, &r);
        assert_string_equal(text, ok[i][1]);
    }
    const char *bad[] = {
        "",       "0wd",  "367wd",      "wd",          "1.5wd",       "-1wd",           "0bh",
        "8785bh", "next", "next-open+", "next-open+x", "next-open1h", "next-open+367d", "0s",
        "1 wd",   "1wdx", "x1bh"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vg_deadline_rule r;
        vg_reason why = {{0}};
        if (vg_deadline_rule_parse(&r, bad[i], &why) != VG_ERR_MALFORMED) {
            fail_msg("'%s' was accepted", bad[i]);
        }
        assert_true(strlen(why.text) > 0);
    }
    vg_deadline_rule r;
    assert_int_equal(vg_deadline_rule_parse(&r, "2wd", NULL), VG_OK);
    assert_true(vg_deadline_rule_needs_calendar(&r));
    assert_false(vg_deadline_rule_needs_hours(&r));
    assert_int_equal(vg_deadline_rule_parse(&r, "next-open+1h", NULL), VG_OK);
    assert_true(vg_deadline_rule_needs_hours(&r));
    assert_int_equal(vg_deadline_rule_parse(&r, "1h", NULL), VG_OK);
    assert_false(vg_deadline_rule_needs_calendar(&r));
}

static void
compute_refuses_instants_out_of_range(void **state)
{
    s_world *w = *state;
    vg_deadline_rule r;
    int64_t got = 7;
    unsigned warn = 9;
    assert_int_equal(vg_deadline_rule_parse(&r, "1wd", NULL), VG_OK);
    assert_int_equal(vg_deadline_compute(&got, &warn, &r, &w->cals[C_EW], NULL, -1),
                     VG_ERR_INVALID);
    assert_int_equal(vg_deadline_compute(&got, &warn, &r, &w->cals[C_EW], NULL, VG_TZ_MS_MAX),
                     VG_ERR_INVALID);
    assert_int_equal(vg_deadline_rule_parse(&r, "366d", NULL), VG_OK);
    assert_int_equal(vg_deadline_compute(&got, &warn, &r, NULL, NULL, s_ms("2199-12-01T00:00:00Z")),
                     VG_ERR_INVALID);
    assert_int_equal(got, 7);
    assert_int_equal(warn, 9);
}

static void
calendar_hash_moves_with_what_moves_deadlines(void **state)
{
    s_world *w = *state;
    const vg_calendar *ew = &w->cals[C_EW];
    uint8_t h[VG_CALENDAR_HASH_LEN];
    vg_calendar_hash(h, LONDON, ew->weekend_mask, ew->valid_until, ew->closed, ew->n_closed);
    assert_memory_equal(h, ew->hash, sizeof h);
    vg_calendar_hash(h, LONDON, ew->weekend_mask, ew->valid_until, ew->closed, ew->n_closed - 1);
    assert_memory_not_equal(h, ew->hash, sizeof h);
    vg_calendar_hash(h, LONDON, ew->weekend_mask, ew->valid_until + 1, ew->closed, ew->n_closed);
    assert_memory_not_equal(h, ew->hash, sizeof h);
    vg_calendar_hash(h, "UTC0", ew->weekend_mask, ew->valid_until, ew->closed, ew->n_closed);
    assert_memory_not_equal(h, ew->hash, sizeof h);
    assert_memory_not_equal(w->cals[C_EW].hash, w->cals[C_SCOT].hash, sizeof h);
}

static void
weekday_names(void **state)
{
    (void)state;
    assert_int_equal(vg_weekday_parse("mon"), 1);
    assert_int_equal(vg_weekday_parse("sun"), 7);
    assert_int_equal(vg_weekday_parse("Sun"), 0);
    assert_int_equal(vg_weekday_parse(NULL), 0);
    assert_string_equal(vg_weekday_name(6), "sat");
    assert_null(vg_weekday_name(0));
    assert_null(vg_weekday_name(8));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deadline_table),
        cmocka_unit_test(deadline_properties_hold_everywhere),
        cmocka_unit_test(rules_parse_and_format),
        cmocka_unit_test(compute_refuses_instants_out_of_range),
        cmocka_unit_test(calendar_hash_moves_with_what_moves_deadlines),
        cmocka_unit_test(weekday_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
