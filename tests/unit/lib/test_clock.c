/* test_clock.c — vigil/clock.h: vg_time_parse, the one RFC 3339 parser, and
 * its agreement with vg_time_format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/clock.h"
#include "vigil/err.h"

#define T_DAY_MS INT64_C(86400000)
#define T_2026_01_31 INT64_C(1769817600000) /* 2026-01-31T00:00:00Z */

typedef struct t_case {
    const char *text; /* what is parsed */
    int64_t ms;       /* what it means */
} t_case;

static void
s_expect(const char *text, vg_time_forms forms, int64_t want)
{
    int64_t got = -1;
    vg_reason why = {{0}};
    vg_err rc = vg_time_parse(&got, text, forms, &why);
    if (rc != VG_OK) {
        fail_msg("'%s' was refused: %s", text, why.text);
    }
    if (got != want) {
        fail_msg("'%s' gave %lld, want %lld", text, (long long)got, (long long)want);
    }
}

static void
s_refuse(const char *text, vg_time_forms forms)
{
    int64_t got = 42;
    vg_reason why = {{0}};
    vg_err rc = vg_time_parse(&got, text, forms, &why);
    if (rc != VG_ERR_MALFORMED) {
        fail_msg("'%s' gave %s (%lld), want malformed", text, vg_err_code(rc), (long long)got);
    }
    assert_int_equal(got, 42); /* written only on success */
    assert_true(why.text[0] != '\0');
}

static void
utc_timestamps(void **state)
{
    (void)state;
    const t_case cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2026-01-31T00:00:00Z", T_2026_01_31},
        {"2026-01-31T08:00:00Z", T_2026_01_31 + 8 * 3600000},
        {"2026-01-31t08:00:00z", T_2026_01_31 + 8 * 3600000},
        {"2026-01-31 08:00:00Z", T_2026_01_31 + 8 * 3600000},
        {"2026-01-31T23:59:59Z", T_2026_01_31 + T_DAY_MS - 1000},
        {"1969-12-31T23:59:59Z", -1000},
        {"0000-01-01T00:00:00Z", INT64_C(-62167219200000)},
        {"9999-12-31T23:59:59Z", INT64_C(253402300799000)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_expect(cases[i].text, VG_TIME_TIMESTAMP, cases[i].ms);
    }
}

static void
fractions_are_cut_to_milliseconds(void **state)
{
    (void)state;
    const t_case cases[] = {
        {"2026-01-31T00:00:00.1Z", T_2026_01_31 + 100},
        {"2026-01-31T00:00:00.12Z", T_2026_01_31 + 120},
        {"2026-01-31T00:00:00.123Z", T_2026_01_31 + 123},
        {"2026-01-31T00:00:00.1239Z", T_2026_01_31 + 123},
        {"2026-01-31T00:00:00.999999999Z", T_2026_01_31 + 999},
        {"2026-01-31T00:00:00.000Z", T_2026_01_31},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_expect(cases[i].text, VG_TIME_TIMESTAMP, cases[i].ms);
    }
    s_refuse("2026-01-31T00:00:00.Z", VG_TIME_TIMESTAMP);
    s_refuse("2026-01-31T00:00:00.1234567890Z", VG_TIME_TIMESTAMP);
    s_refuse("2026-01-31T00:00:00,5Z", VG_TIME_TIMESTAMP);
}

static void
offsets_are_converted_to_utc(void **state)
{
    (void)state;
    const t_case cases[] = {
        {"2026-01-31T09:00:00+01:00", T_2026_01_31 + 8 * 3600000},
        {"2026-01-31T03:00:00-05:00", T_2026_01_31 + 8 * 3600000},
        {"2026-01-31T08:00:00+00:00", T_2026_01_31 + 8 * 3600000},
        {"2026-01-31T08:00:00-00:00", T_2026_01_31 + 8 * 3600000},
        {"2026-01-31T13:45:00.5+05:45", T_2026_01_31 + 8 * 3600000 + 500},
        {"2026-01-31T00:30:00+01:00", T_2026_01_31 - 30 * 60000}, /* the day before in UTC */
        {"2026-01-31T23:00:00-23:59", T_2026_01_31 + T_DAY_MS + 22 * 3600000 + 59 * 60000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_expect(cases[i].text, VG_TIME_TIMESTAMP, cases[i].ms);
    }
    const char *bad[] = {
        "2026-01-31T08:00:00",       /* no zone: local time is not a time */
        "2026-01-31T08:00:00+01",    /* RFC 3339 wants HH:MM */
        "2026-01-31T08:00:00+0100",  /* the same */
        "2026-01-31T08:00:00+24:00", /* no such offset */
        "2026-01-31T08:00:00+01:60", "2026-01-31T08:00:00 Z",
        "2026-01-31T08:00:00ZZ",     "2026-01-31T08:00:00UTC",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_refuse(bad[i], VG_TIME_TIMESTAMP);
    }
}

static void
calendar_edges(void **state)
{
    (void)state;
    s_expect("2024-02-29T12:00:00Z", VG_TIME_TIMESTAMP, INT64_C(1709208000000));
    s_expect("2000-02-29T00:00:00Z", VG_TIME_TIMESTAMP, INT64_C(951782400000));
    s_expect("2026-12-31T00:00:00Z", VG_TIME_TIMESTAMP, INT64_C(1798675200000));
    s_refuse("2026-02-29T00:00:00Z", VG_TIME_TIMESTAMP); /* not a leap year */
    s_refuse("1900-02-29T00:00:00Z", VG_TIME_TIMESTAMP); /* a century, not /400 */
    s_refuse("2026-04-31T00:00:00Z", VG_TIME_TIMESTAMP);
    s_refuse("2026-00-10T00:00:00Z", VG_TIME_TIMESTAMP);
    s_refuse("2026-13-10T00:00:00Z", VG_TIME_TIMESTAMP);
    s_refuse("2026-01-00T00:00:00Z", VG_TIME_TIMESTAMP);
    s_refuse("2026-01-32T00:00:00Z", VG_TIME_TIMESTAMP);
    s_refuse("2026-01-31T24:00:00Z", VG_TIME_TIMESTAMP); /* ISO 8601's end of day: not RFC 3339 */
    s_refuse("2026-01-31T23:60:00Z", VG_TIME_TIMESTAMP);
    s_refuse("2026-01-31T23:59:61Z", VG_TIME_TIMESTAMP);
}

/* Unix time has no leap seconds: 23:59:60 UTC is the last millisecond of
 * its day, and :60 anywhere else is refused. */
static void
leap_second_only_at_the_end_of_a_utc_day(void **state)
{
    (void)state;
    const int64_t end_2016 = INT64_C(1483228800000); /* 2017-01-01T00:00:00Z */
    s_expect("2016-12-31T23:59:60Z", VG_TIME_TIMESTAMP, end_2016 - 1);
    s_expect("2016-12-31T23:59:60.5Z", VG_TIME_TIMESTAMP, end_2016 - 1);
    s_expect("2016-12-31T18:59:60-05:00", VG_TIME_TIMESTAMP, end_2016 - 1);
    s_expect("2017-01-01T00:59:60+01:00", VG_TIME_TIMESTAMP, end_2016 - 1);
    s_refuse("2016-12-31T23:58:60Z", VG_TIME_TIMESTAMP);
    s_refuse("2016-12-31T23:59:60+01:00", VG_TIME_TIMESTAMP); /* 22:59:60 UTC */
}

static void
a_bare_date_only_when_asked(void **state)
{
    (void)state;
    s_expect("2026-01-31", VG_TIME_OR_DATE, T_2026_01_31);
    s_expect("2026-01-31T08:00:00Z", VG_TIME_OR_DATE, T_2026_01_31 + 8 * 3600000);
    s_refuse("2026-01-31", VG_TIME_TIMESTAMP);
    s_refuse("2026-02-30", VG_TIME_OR_DATE);
    s_refuse("2026-1-31", VG_TIME_OR_DATE);
    s_refuse("20260131", VG_TIME_OR_DATE);
    s_refuse("2026-01-31T", VG_TIME_OR_DATE);
    s_refuse("2026-01-31T08:00Z", VG_TIME_OR_DATE);
}

static void
junk_is_refused(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        " 2026-01-31T08:00:00Z",
        "2026-01-31T08:00:00Z ",
        "2026-01-31T08:00:00Z\n",
        "+2026-01-31T08:00:00Z",
        "12026-01-31T08:00:00Z",
        "2026-01-31T8:00:00Z",
        "2026-01-31T08:0:00Z",
        "2026-01-31X08:00:00Z",
        "2026/01/31T08:00:00Z",
        "2026-01-31T08:00:00.-1Z",
        "yesterday",
        "1769846400",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_refuse(bad[i], VG_TIME_OR_DATE);
    }
    int64_t got = 42;
    assert_int_equal(vg_time_parse(&got, NULL, VG_TIME_OR_DATE, NULL), VG_ERR_MALFORMED);
    assert_int_equal(got, 42);
}

/* What vg_time_format writes, vg_time_parse reads back to the millisecond. */
static void
format_round_trips(void **state)
{
    (void)state;
    const int64_t times[] = {0,
                             1,
                             999,
                             -1,
                             T_2026_01_31 + 123,
                             INT64_C(951782400000) - 1, /* the end of 2000-02-28 */
                             INT64_C(253402300799999)};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        char text[VG_TIME_STR_LEN];
        vg_time_format(text, sizeof text, times[i]);
        s_expect(text, VG_TIME_TIMESTAMP, times[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utc_timestamps),
        cmocka_unit_test(fractions_are_cut_to_milliseconds),
        cmocka_unit_test(offsets_are_converted_to_utc),
        cmocka_unit_test(calendar_edges),
        cmocka_unit_test(leap_second_only_at_the_end_of_a_utc_day),
        cmocka_unit_test(a_bare_date_only_when_asked),
        cmocka_unit_test(junk_is_refused),
        cmocka_unit_test(format_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
