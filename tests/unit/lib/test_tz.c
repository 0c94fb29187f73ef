/* test_tz.c — vigil/tz.h: civil dates and local time under a POSIX TZ rule.
 *
 * The converter is checked three ways: exact instants of Europe/London's
 * transitions (including a local time that does not exist and one that
 * occurs twice), the parser's refusals, and — where the system has the tz
 * database — hour by hour against the C library's localtime_r for zones
 * whose rules differ in kind (northern, southern, negative daylight saving),
 * using the rule each zone's TZif file carries in its footer. */
#define _DEFAULT_SOURCE /* tm_gmtoff, setenv */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/tz.h"
#include "vt.h"

#define LONDON "GMT0BST,M3.5.0/1,M10.5.0"

/* UTC seconds of y-m-d h:m:s. */
static int64_t
s_utc(int y, int mo, int d, int h, int mi, int s)
{
    return (int64_t)vg_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static vg_tz
s_parse_ok(const char *rule)
{
    vg_tz tz;
    vg_reason why = {{0}};
    vg_err err = vg_tz_parse(&tz, rule, &why);
    if (err != VG_OK) {
        fail_msg("%s: %s", rule, why.text);
    }
    return tz;
}

/* ---- civil dates ---------------------------------------------------------- */

static void
dates_round_trip_and_weekdays(void **state)
{
    (void)state;
    assert_int_equal(vg_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(vg_weekday(0), 4); /* a Thursday */
    assert_int_equal(vg_weekday(vg_days_from_civil(2026, 12, 3)), 4);
    assert_int_equal(vg_weekday(vg_days_from_civil(2027, 12, 25)), 6);
    assert_int_equal(vg_weekday(vg_days_from_civil(2026, 3, 29)), 7);
    for (int32_t day = 0; day < 84006; day += 13) {
        int y, m, d;
        vg_civil_from_days(day, &y, &m, &d);
        assert_int_equal(vg_days_from_civil(y, m, d), day);
        assert_int_equal(vg_date_days(vg_date_from_days(day)), day);
    }
    assert_int_equal(vg_days_from_civil(2200, 1, 1) * VG_DAY_MS, VG_TZ_MS_MAX);
}

static void
dates_parse_and_refuse(void **state)
{
    (void)state;
    uint32_t ymd = 0;
    vg_reason why = {{0}};
    assert_int_equal(vg_date_parse(&ymd, "2024-02-29", &why), VG_OK);
    assert_int_equal(ymd, 20240229);
    const char *bad[] = {"2025-02-29", "2025-13-01",  "2025-1-01", "20250101",   "1969-12-31",
                         "2200-01-01", "2025-01-01x", "",          "2025-00-10", "2100-02-29"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ymd = 7;
        assert_int_equal(vg_date_parse(&ymd, bad[i], &why), VG_ERR_MALFORMED);
        assert_int_equal(ymd, 7);
    }
    assert_true(vt_reason_has(&why, "YYYY-MM-DD"));
    char text[32];
    vg_date_format(text, sizeof text, 20271228);
    assert_string_equal(text, "2027-12-28");
    vg_utc_format(text, sizeof text, s_utc(2026, 3, 29, 1, 30, 0) * 1000);
    assert_string_equal(text, "2026-03-29T01:30:00Z");
    vg_utc_format(text, sizeof text, s_utc(2026, 3, 29, 1, 30, 0) * 1000 + 5);
    assert_string_equal(text, "2026-03-29T01:30:00.005Z");
}

/* ---- parsing -------------------------------------------------------------- */

static void
parse_london_and_others(void **state)
{
    (void)state;
    vg_tz tz = s_parse_ok(LONDON);
    assert_true(tz.has_dst);
    assert_int_equal(tz.std_off_s, 0);
    assert_int_equal(tz.dst_off_s, 3600);
    assert_int_equal(tz.start.month, 3);
    assert_int_equal(tz.start.week, 5);
    assert_int_equal(tz.start.wday, 0);
    assert_int_equal(tz.start.time_s, 3600);
    assert_int_equal(tz.end.time_s, 7200); /* the default 02:00 */
    tz = s_parse_ok("UTC0");
    assert_false(tz.has_dst);
    tz = s_parse_ok("<+0330>-3:30");
    assert_int_equal(tz.std_off_s, 3 * 3600 + 1800);
    tz = s_parse_ok("IST-1GMT0,M10.5.0,M3.5.0/1"); /* Europe/Dublin: negative DST */
    assert_int_equal(tz.std_off_s, 3600);
    assert_int_equal(tz.dst_off_s, 0);
    tz = s_parse_ok("<-03>3<-02>,M3.5.0/-2,M10.5.0/-1"); /* America/Nuuk: negative times */
    assert_int_equal(tz.start.time_s, -7200);
    tz = s_parse_ok("EST5EDT,M3.2.0,M11.1.0");
    assert_int_equal(tz.std_off_s, -5 * 3600);
}

static void
parse_refuses_what_it_cannot_do(void **state)
{
    (void)state;
    const char *bad[] = {
        "",                              /* nothing */
        "Europe/London",                 /* a zone name, not a rule */
        "GMT",                           /* no offset */
        "GMT0BST",                       /* DST without its dates */
        "GMT0BST,J60,J300",              /* Julian form: not accepted */
        "GMT0BST,60,300",                /* zero-based form: not accepted */
        "GMT0BST,M3.5.0/1",              /* no end */
        "GMT0BST,M13.5.0,M10.5.0",       /* month 13 */
        "GMT0BST,M3.6.0,M10.5.0",        /* week 6 */
        "GMT0BST,M3.5.7,M10.5.0",        /* weekday 7 */
        "GMT0BST,M3.5.0/1,M10.5.0 x",    /* trailing text */
        "GMT25",                         /* offset out of range */
        "GM0",                           /* name too short */
        "GMT0BST,M3.5.0/168,M10.5.0",    /* time out of range */
        "GMT0BST,M3.5.0/1,M10.5.0/2:60", /* minutes out of range */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vg_tz tz;
        vg_reason why = {{0}};
        if (vg_tz_parse(&tz, bad[i], &why) != VG_ERR_MALFORMED) {
            fail_msg("'%s' was accepted", bad[i]);
        }
        assert_true(strlen(why.text) > 0);
    }
    vg_tz tz;
    vg_reason why = {{0}};
    assert_int_equal(vg_tz_parse(&tz, "GMT0BST,J60,J300", &why), VG_ERR_MALFORMED);
    assert_true(vt_reason_has(&why, "only the M form"));
}

/* ---- Europe/London, exactly ----------------------------------------------- */

static void
london_offsets_at_both_transitions(void **state)
{
    (void)state;
    vg_tz tz = s_parse_ok(LONDON);
    /* 2026: BST from 01:00 UTC on Sunday 29 March to 01:00 UTC on Sunday 25 October */
    assert_int_equal(vg_tz_offset_s(&tz, s_utc(2026, 3, 29, 0, 59, 59)), 0);
    assert_int_equal(vg_tz_offset_s(&tz, s_utc(2026, 3, 29, 1, 0, 0)), 3600);
    assert_int_equal(vg_tz_offset_s(&tz, s_utc(2026, 10, 25, 0, 59, 59)), 3600);
    assert_int_equal(vg_tz_offset_s(&tz, s_utc(2026, 10, 25, 1, 0, 0)), 0);
    /* 2027: 28 March and 31 October (both the last Sunday, one the 31st) */
    assert_int_equal(vg_tz_offset_s(&tz, s_utc(2027, 3, 28, 0, 59, 59)), 0);
    assert_int_equal(vg_tz_offset_s(&tz, s_utc(2027, 3, 28, 1, 0, 0)), 3600);
    assert_int_equal(vg_tz_offset_s(&tz, s_utc(2027, 10, 31, 0, 59, 59)), 3600);
    assert_int_equal(vg_tz_offset_s(&tz, s_utc(2027, 10, 31, 1, 0, 0)), 0);
    assert_int_equal(vg_tz_offset_s(&tz, s_utc(2026, 1, 1, 0, 0, 0)), 0);
    assert_int_equal(vg_tz_offset_s(&tz, s_utc(2026, 7, 1, 0, 0, 0)), 3600);
}

static void
london_local_time_that_does_not_exist(void **state)
{
    (void)state;
    vg_tz tz = s_parse_ok(LONDON);
    int64_t day = (int64_t)vg_days_from_civil(2026, 3, 29) * 86400;
    /* 00:59 GMT exists; 01:00..01:59 do not (clocks go 01:00 GMT -> 02:00
     * BST): read with the offset before the gap (GMT), i.e. an hour later
     * on the clock; 02:00 BST is the first local time after the gap. */
    assert_int_equal(vg_tz_to_utc_s(&tz, day + 59 * 60), s_utc(2026, 3, 29, 0, 59, 0));
    assert_int_equal(vg_tz_to_utc_s(&tz, day + 3600), s_utc(2026, 3, 29, 1, 0, 0));
    assert_int_equal(vg_tz_to_utc_s(&tz, day + 5400), s_utc(2026, 3, 29, 1, 30, 0));
    assert_int_equal(vg_tz_to_utc_s(&tz, day + 7200), s_utc(2026, 3, 29, 1, 0, 0));
    assert_int_equal(vg_tz_to_utc_s(&tz, day + 9000), s_utc(2026, 3, 29, 1, 30, 0));
}

static void
london_local_time_that_occurs_twice(void **state)
{
    (void)state;
    vg_tz tz = s_parse_ok(LONDON);
    int64_t day = (int64_t)vg_days_from_civil(2026, 10, 25) * 86400;
    /* 01:00..01:59 happen in BST (00:00..00:59 UTC) and again in GMT
     * (01:00..01:59 UTC): the earlier is taken. */
    assert_int_equal(vg_tz_to_utc_s(&tz, day + 1800), s_utc(2026, 10, 24, 23, 30, 0));
    assert_int_equal(vg_tz_to_utc_s(&tz, day + 3600), s_utc(2026, 10, 25, 0, 0, 0));
    assert_int_equal(vg_tz_to_utc_s(&tz, day + 5400), s_utc(2026, 10, 25, 0, 30, 0));
    assert_int_equal(vg_tz_to_utc_s(&tz, day + 7200), s_utc(2026, 10, 25, 2, 0, 0));
    /* both UTC instants of local 01:30 show 01:30 */
    int64_t first = s_utc(2026, 10, 25, 0, 30, 0), second = s_utc(2026, 10, 25, 1, 30, 0);
    assert_int_equal(first + vg_tz_offset_s(&tz, first), day + 5400);
    assert_int_equal(second + vg_tz_offset_s(&tz, second), day + 5400);
}

static void
dublin_negative_dst_gap_and_fold(void **state)
{
    (void)state;
    vg_tz tz = s_parse_ok("IST-1GMT0,M10.5.0,M3.5.0/1");
    int64_t spring = (int64_t)vg_days_from_civil(2026, 3, 29) * 86400;
    int64_t autumn = (int64_t)vg_days_from_civil(2026, 10, 25) * 86400;
    assert_int_equal(vg_tz_offset_s(&tz, s_utc(2026, 7, 1, 0, 0, 0)), 3600);
    assert_int_equal(vg_tz_offset_s(&tz, s_utc(2026, 12, 1, 0, 0, 0)), 0);
    assert_int_equal(vg_tz_to_utc_s(&tz, spring + 5400), s_utc(2026, 3, 29, 1, 30, 0));
    assert_int_equal(vg_tz_to_utc_s(&tz, autumn + 5400), s_utc(2026, 10, 25, 0, 30, 0));
}

/* ---- against the C library ------------------------------------------------ */

/* The rule in a TZif file's footer (RFC 8536 §3.3: the file ends with
 * "\n" rule "\n"), or false when the system has no such zone. */
static bool
s_footer(char *out, size_t out_len, const char *zone)
{
    char path[256];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", zone);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return false;
    }
    char buf[128];
    fseek(f, -(long)sizeof buf + 1, SEEK_END);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (n < 2 || buf[n - 1] != '\n') {
        return false;
    }
    buf[n - 1] = '\0';
    size_t i = n - 1; /* the data before the footer is binary: search by hand */
    while (i > 0 && buf[i - 1] != '\n') {
        i--;
    }
    size_t len = strlen(buf + i);
    if (i == 0 || len >= out_len) {
        return false; /* no footer line, or one longer than a rule may be */
    }
    memcpy(out, buf + i, len + 1);
    return true;
}

static void
agrees_with_the_c_library_hour_by_hour(void **state)
{
    (void)state;
    const char *zones[] = {"Europe/London",    "Europe/Dublin", "Australia/Sydney",
                           "America/New_York", "America/Nuuk",  "Asia/Kolkata"};
    size_t checked = 0;
    char *old_tz = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        char rule[VG_TZ_RULE_MAX + 1];
        if (!s_footer(rule, sizeof rule, zones[z])) {
            continue;
        }
        vg_tz tz = s_parse_ok(rule);
        setenv("TZ", zones[z], 1);
        tzset();
        for (int64_t t = s_utc(2025, 1, 1, 0, 0, 0); t < s_utc(2028, 1, 1, 0, 0, 0); t += 1800) {
            time_t tt = (time_t)t;
            struct tm tm;
            localtime_r(&tt, &tm);
            if (tm.tm_gmtoff != vg_tz_offset_s(&tz, t)) {
                fail_msg("%s (%s) at %lld: libc %ld, vigil %d", zones[z], rule, (long long)t,
                         tm.tm_gmtoff, vg_tz_offset_s(&tz, t));
            }
            /* and back: every local time that exists once maps to t */
            int64_t local = t + tm.tm_gmtoff;
            int64_t back = vg_tz_to_utc_s(&tz, local);
            assert_true(back == t || back + vg_tz_offset_s(&tz, back) == local);
        }
        checked++;
    }
    if (old_tz != NULL) {
        setenv("TZ", old_tz, 1);
        free(old_tz);
    } else {
        unsetenv("TZ");
    }
    tzset();
    if (checked == 0) {
        skip(); /* no tz database on this machine (Debian: tzdata) */
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dates_round_trip_and_weekdays),
        cmocka_unit_test(dates_parse_and_refuse),
        cmocka_unit_test(parse_london_and_others),
        cmocka_unit_test(parse_refuses_what_it_cannot_do),
        cmocka_unit_test(london_offsets_at_both_transitions),
        cmocka_unit_test(london_local_time_that_does_not_exist),
        cmocka_unit_test(london_local_time_that_occurs_twice),
        cmocka_unit_test(dublin_negative_dst_gap_and_fold),
        cmocka_unit_test(agrees_with_the_c_library_hour_by_hour),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
