/*
 * test_ctl_calendar.c — vigilctl calendar import, the built-in bank-holiday
 * generator, and vigilctl check's calendar lines.
 *
 * The bank-holiday file is tests/vectors/gov-uk-bank-holidays.json (the
 * gov.uk format, real dates 2022-2027). The path from the published file to
 * a deadline is run end to end: import, sign, verify, vg_netdoc_deadline_at.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "ctl.h"
#include "itest.h"
#include "vigil/keys.h"
#include "vigil/netdoc.h"
#include "vigil/tz.h"
#include "vigil/util.h"

#define FIXTURE VG_VECTORS_DIR "/gov-uk-bank-holidays.json"

typedef struct fixture {
    char *tmp;  /* scratch directory */
    char *net;  /* tmp/net, made by vigilctl init */
    char *json; /* net/network/network.json */
} fixture;

static int
s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->tmp = it_tmpdir();
    f->net = it_path(f->tmp, "net");
    f->json = it_path(f->net, "network/network.json");
    it_init_net(f->net, NULL);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture *f = *state;
    it_rmrf(f->tmp);
    free(f->tmp);
    free(f->net);
    free(f->json);
    free(f);
    return 0;
}

static json_t *
s_load(const char *path)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (root == NULL) {
        fail_msg("%s: %s", path, jerr.text);
    }
    return root;
}

static void
s_save(const char *path, json_t *root)
{
    assert_int_equal(json_dump_file(root, path, JSON_INDENT(2)), 0);
}

static char *
s_read(const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(vg_file_read(&data, &len, path, 1 << 22, NULL), VG_OK);
    return (char *)data;
}

/* The verified network document of f->net. */
static vg_netdoc *
s_doc(const fixture *f)
{
    char *key_path = it_path(f->net, "admin/admin.key");
    char *doc_path = it_path(f->net, "network/network.signed");
    vg_keyset *admin = NULL;
    vg_netdoc *doc = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vg_keyset_load(&admin, key_path, &why), VG_OK);
    if (vg_netdoc_load(&doc, doc_path, vg_keyset_sign_pk(admin), 0, &why) != VG_OK) {
        fail_msg("%s", why.text);
    }
    vg_keyset_destroy(&admin);
    free(key_path);
    free(doc_path);
    return doc;
}

static void
s_sign(const fixture *f)
{
    it_run r;
    it_vigilctl(&r, "network", "sign", "--dir", f->net);
    it_assert_ok(&r);
    it_run_fini(&r);
}

static json_t *
s_calendar(json_t *doc, const char *name)
{
    json_t *cals = json_object_get(doc, "calendars");
    for (size_t i = 0; i < json_array_size(cals); i++) {
        json_t *c = json_array_get(cals, i);
        if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0) {
            return c;
        }
    }
    fail_msg("no calendar %s", name);
    return NULL;
}

/* ---- the generator against the published dates -------------------------- */

/* The fixture's dates of division in year, as "YYYY-MM-DD," joined. */
static void
s_published(char *out, size_t out_len, json_t *govuk, const char *division, int year)
{
    char prefix[8];
    size_t used = 0;
    snprintf(prefix, sizeof prefix, "%d-", year);
    json_t *events = json_object_get(json_object_get(govuk, division), "events");
    out[0] = '\0';
    for (size_t i = 0; i < json_array_size(events); i++) {
        const char *d = json_string_value(json_object_get(json_array_get(events, i), "date"));
        if (strncmp(d, prefix, 5) == 0) {
            used += (size_t)snprintf(out + used, out_len - used, "%s,", d);
        }
    }
}

static void
s_generated(char *out, size_t out_len, const char *division, int year)
{
    ctl_holiday h[CTL_BANKHOL_MAX];
    size_t n = ctl_bankhol_generate(h, CTL_BANKHOL_MAX, division, year), used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char day[16];
        vg_date_format(day, sizeof day, h[i].date);
        used += (size_t)snprintf(out + used, out_len - used, "%s,", day);
    }
}

static void
test_generator_matches_the_published_dates(void **state)
{
    (void)state;
    json_t *govuk = s_load(FIXTURE);
    const char *divisions[] = {"england-and-wales", "scotland", "northern-ireland"};
    char want[512], got[512];
    for (size_t d = 0; d < 3; d++) {
        for (int y = 2024; y <= 2027; y++) {
            s_published(want, sizeof want, govuk, divisions[d], y);
            s_generated(got, sizeof got, divisions[d], y);
            if (strcmp(want, got) != 0) {
                fail_msg("%s %d:\n published %s\n generated %s", divisions[d], y, want, got);
            }
        }
    }
    /* 2022 and 2023 differ by exactly what no rule can know: the spring
     * holiday moved to 2 June and the Platinum Jubilee on 3 June 2022, the
     * Queen's state funeral on 19 September 2022, the coronation on 8 May
     * 2023. (Scotland's summer holiday is 1 August 2022.) */
    s_generated(got, sizeof got, "england-and-wales", 2022);
    assert_string_equal(got, "2022-01-03,2022-04-15,2022-04-18,2022-05-02,2022-05-30,2022-08-29,"
                             "2022-12-26,2022-12-27,");
    s_published(want, sizeof want, govuk, "england-and-wales", 2022);
    assert_string_equal(want, "2022-01-03,2022-04-15,2022-04-18,2022-05-02,2022-06-02,2022-06-03,"
                              "2022-08-29,2022-09-19,2022-12-26,2022-12-27,");
    s_generated(got, sizeof got, "scotland", 2023);
    assert_string_equal(got, "2023-01-02,2023-01-03,2023-04-07,2023-05-01,2023-05-29,2023-08-07,"
                             "2023-11-30,2023-12-25,2023-12-26,");
    s_published(want, sizeof want, govuk, "scotland", 2023);
    assert_string_equal(want, "2023-01-02,2023-01-03,2023-04-07,2023-05-01,2023-05-08,2023-05-29,"
                              "2023-08-07,2023-11-30,2023-12-25,2023-12-26,");
    /* a year the file does not have: Easter 16 April 2028, New Year on a
     * Saturday */
    s_generated(got, sizeof got, "england-and-wales", 2028);
    assert_string_equal(got, "2028-01-03,2028-04-14,2028-04-17,2028-05-01,2028-05-29,2028-08-28,"
                             "2028-12-25,2028-12-26,");
    s_generated(got, sizeof got, "wales", 2028);
    assert_string_equal(got, "");
    json_decref(govuk);
}

/* ---- import ------------------------------------------------------------- */

static void
test_import_sign_and_compute_a_deadline(void **state)
{
    fixture *f = *state;
    it_run r;
    it_vigilctl(&r, "calendar", "import", FIXTURE, "--dir", f->net, "--union", "uk-any");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "calendar england-and-wales: 51 closed dates from 2022-01-03 "
                                   "to 2027-12-28, valid until 2027-12-31 (new)"));
    assert_true(it_contains(r.out, "calendar scotland: 57 closed dates"));
    assert_true(it_contains(r.out, "calendar northern-ireland: 63 closed dates"));
    assert_true(it_contains(r.out, "calendar uk-any: closed when any of england-and-wales, "
                                   "scotland, northern-ireland is (new)"));
    assert_true(it_contains(r.out, "vigilctl network sign --dir"));
    it_run_fini(&r);
    /* the administrator gives licensing its calendar and a working-day rule */
    json_t *doc = s_load(f->json);
    json_t *agencies = json_object_get(doc, "agencies");
    for (size_t i = 0; i < json_array_size(agencies); i++) {
        json_t *a = json_array_get(agencies, i);
        const char *id = json_string_value(json_object_get(a, "id"));
        const char *cal = strcmp(id, "childrens-services") == 0 ? "scotland" : "england-and-wales";
        json_object_set_new(a, "calendar",
                            json_string(strcmp(id, "home-office") == 0 ? "uk-any" : cal));
    }
    json_object_set_new(json_object_get(doc, "deadlines"), "medium", json_string("1wd"));
    s_save(f->json, doc);
    json_decref(doc);
    s_sign(f);
    vg_netdoc *nd = s_doc(f);
    assert_int_equal(vg_netdoc_n_calendars(nd), 4);
    vg_calendar cal;
    assert_int_equal(vg_netdoc_calendar(nd, "england-and-wales", &cal), VG_OK);
    assert_int_equal(cal.n_closed, 51);
    assert_int_equal(cal.valid_until, vg_days_from_civil(2027, 12, 31));
    /* Thursday before Good Friday 2026, 10:00 BST */
    int64_t thu = ((int64_t)vg_days_from_civil(2026, 4, 2) * 86400 + 9 * 3600) * 1000;
    const char *cats[] = {"other"};
    vg_deadline d;
    char when[32];
    assert_int_equal(
        vg_netdoc_deadline_at(&d, nd, "licensing", VG_SEV_MEDIUM, VG_URG_EXPECTED, cats, 1, thu),
        VG_OK);
    vg_utc_format(when, sizeof when, d.deadline_ms);
    assert_string_equal(when, "2026-04-07T23:00:00Z");
    assert_string_equal(d.calendar, "england-and-wales");
    assert_int_equal(vg_netdoc_deadline_at(&d, nd, "childrens-services", VG_SEV_MEDIUM,
                                           VG_URG_EXPECTED, cats, 1, thu),
                     VG_OK);
    vg_utc_format(when, sizeof when, d.deadline_ms);
    assert_string_equal(when, "2026-04-06T23:00:00Z");
    vg_netdoc_destroy(&nd);
    /* importing again changes nothing but says what it replaced */
    it_vigilctl(&r, "calendar", "import", FIXTURE, "--dir", f->net, "--only", "scotland");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "valid until 2027-12-31 (was 2027-12-31)"));
    it_run_fini(&r);
}

static void
test_import_refuses_and_writes_nothing(void **state)
{
    fixture *f = *state;
    char *before = s_read(f->json);
    char *bad = it_path(f->tmp, "bad.json");
    FILE *fp = fopen(bad, "w");
    assert_non_null(fp);
    fputs("{\"scotland\": {\"division\": \"scotland\", \"events\": [{\"title\": \"x\", \"date\": "
          "\"2025-02-30\", \"notes\": \"\", \"bunting\": true}]}}",
          fp);
    fclose(fp);
    it_run r;
    it_vigilctl(&r, "calendar", "import", bad, "--dir", f->net);
    it_assert_status(&r, 1);
    assert_true(it_contains(r.err, "scotland.events[0]: '2025-02-30' is not a date"));
    assert_true(it_contains(r.err, "nothing written"));
    it_run_fini(&r);
    it_vigilctl(&r, "calendar", "import", FIXTURE, "--dir", f->net, "--only", "wales");
    it_assert_status(&r, 1);
    assert_true(it_contains(r.err, "has no division 'wales'"));
    it_run_fini(&r);
    it_vigilctl(&r, "calendar", "import", FIXTURE);
    it_assert_status(&r, 2);
    it_run_fini(&r);
    it_vigilctl(&r, "calendar", "import", FIXTURE, "--dir", f->net, "--extend-to", "2300");
    it_assert_status(&r, 2);
    it_run_fini(&r);
    it_vigilctl(&r, "calendar", "import", FIXTURE, "--dir", f->net, "--tz-rule", "Europe/London");
    it_assert_status(&r, 1);
    assert_true(it_contains(r.err, "--tz-rule: time zone rule 'Europe/London'"));
    it_run_fini(&r);
    it_vigilctl(&r, "calendar", "import", FIXTURE, "--dir", f->net, "--dry-run");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "not written"));
    it_run_fini(&r);
    char *after = s_read(f->json);
    assert_string_equal(before, after);
    free(after);
    free(before);
    free(bad);
}

static void
test_import_extends_with_generated_years(void **state)
{
    fixture *f = *state;
    char *json = it_path(f->tmp, "network.json");
    char *src = s_read(f->json);
    FILE *fp = fopen(json, "w");
    fputs(src, fp);
    fclose(fp);
    free(src);
    it_run r;
    it_vigilctl(&r, "calendar", "import", FIXTURE, "--json", json, "--only", "england-and-wales",
                "--extend-to", "2028", "--tz-rule", "GMT0BST,M3.5.0/1,M10.5.0");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "59 closed dates from 2022-01-03 to 2028-12-26, valid until "
                                   "2028-12-31 (new)"));
    assert_true(it_contains(r.out, "8 of them generated from the fixed rules for 2028-2028"));
    assert_true(it_contains(r.out, "--in"));
    it_run_fini(&r);
    json_t *doc = s_load(json);
    json_t *ew = s_calendar(doc, "england-and-wales");
    json_t *closed = json_object_get(ew, "closed");
    json_t *last = json_array_get(closed, json_array_size(closed) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "date")), "2028-12-26");
    assert_string_equal(json_string_value(json_object_get(last, "title")),
                        "Boxing Day [generated]");
    assert_string_equal(json_string_value(json_object_get(ew, "tz_rule")),
                        "GMT0BST,M3.5.0/1,M10.5.0");
    json_decref(doc);
    free(json);
}

/* ---- vigilctl check ------------------------------------------------------- */

/* A date `days` from today, YYYY-MM-DD. */
static void
s_date_from_today(char *out, size_t out_len, int days)
{
    int32_t today = (int32_t)(time(NULL) / 86400);
    vg_date_format(out, out_len, vg_date_from_days(today + days));
}

static void
test_check_flags_calendars_that_end(void **state)
{
    fixture *f = *state;
    char soon[16], gone[16], later[16];
    s_date_from_today(soon, sizeof soon, 30);
    s_date_from_today(gone, sizeof gone, -10);
    s_date_from_today(later, sizeof later, 400);
    json_t *doc = s_load(f->json);
    json_object_set_new(
        doc, "calendars",
        json_pack(
            "[{s:s, s:s, s:s, s:[s,s], s:s, s:[]}, {s:s, s:s, s:s, s:[s,s], s:s, s:[]},"
            " {s:s, s:s, s:s, s:[s,s], s:s, s:[]}]",
            "name", "soon", "time_zone", "Europe/London", "tz_rule", "GMT0BST,M3.5.0/1,M10.5.0",
            "weekend", "sat", "sun", "valid_until", soon, "closed", "name", "gone", "time_zone",
            "Europe/London", "tz_rule", "GMT0BST,M3.5.0/1,M10.5.0", "weekend", "sat", "sun",
            "valid_until", gone, "closed", "name", "later", "time_zone", "Europe/London", "tz_rule",
            "GMT0BST,M3.5.0/1,M10.5.0", "weekend", "sat", "sun", "valid_until", later, "closed"));
    s_save(f->json, doc);
    json_decref(doc);
    s_sign(f);
    it_run r;
    it_vigilctl(&r, "check", f->net);
    it_assert_status(&r, 1);
    char want[128];
    snprintf(want, sizeof want, "warn  calendar soon: ends on %s, in 30 days", soon);
    assert_true(it_contains(r.out, want));
    snprintf(want, sizeof want, "FAIL  calendar gone: its closed dates ended on %s, 10 days ago",
             gone);
    assert_true(it_contains(r.out, want));
    snprintf(want, sizeof want, "ok    calendar later: valid until %s", later);
    assert_true(it_contains(r.out, want));
    assert_true(it_contains(r.out, "1 failed, 0 skipped, 1 warnings") ||
                it_contains(r.out, "1 failed, 3 skipped, 1 warnings")); /* no tzdata: skips */
    assert_false(it_contains(r.out, "deadlines police")); /* durations only: nothing to need */
    it_run_fini(&r);
}

static void
test_check_fails_rules_without_calendar_or_hours(void **state)
{
    fixture *f = *state;
    it_run r;
    it_vigilctl(&r, "calendar", "import", FIXTURE, "--dir", f->net, "--only", "england-and-wales",
                "--tz-rule", "GMT0BST,M3.5.0/1,M10.5.0", "--valid-until", "2199-12-31");
    it_assert_ok(&r);
    it_run_fini(&r);
    json_t *doc = s_load(f->json);
    json_object_set_new(json_object_get(doc, "deadlines"), "low", json_string("5wd"));
    json_t *agencies = json_object_get(doc, "agencies");
    json_t *lic = NULL;
    for (size_t i = 0; i < json_array_size(agencies); i++) {
        json_t *a = json_array_get(agencies, i);
        if (strcmp(json_string_value(json_object_get(a, "id")), "licensing") == 0) {
            lic = a;
        }
    }
    assert_non_null(lic);
    json_object_set_new(lic, "calendar", json_string("england-and-wales"));
    json_object_set_new(lic, "deadlines", json_pack("{s:s}", "high", "next-open+1h"));
    s_save(f->json, doc);
    s_sign(f);
    it_vigilctl(&r, "check", f->net);
    it_assert_status(&r, 1);
    assert_true(it_contains(r.out, "FAIL  deadlines police: low: 5wd needs a calendar"));
    assert_true(it_contains(r.out, "FAIL  deadlines licensing: high agency=licensing: "
                                   "next-open+1h needs opening hours"));
    assert_false(it_contains(r.out, "deadlines oversight")); /* never a recipient */
    it_run_fini(&r);
    /* give everyone what their rules need: check passes */
    for (size_t i = 0; i < json_array_size(agencies); i++) {
        json_t *a = json_array_get(agencies, i);
        json_object_set_new(a, "calendar", json_string("england-and-wales"));
    }
    json_object_set_new(lic, "hours", json_pack("{s:s}", "mon", "09:00-17:00"));
    s_save(f->json, doc);
    json_decref(doc);
    s_sign(f);
    it_vigilctl(&r, "check", f->net);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "ok    deadlines licensing: its rules have what they need "
                                   "(calendar england-and-wales, 1 opening spans)"));
    assert_true(it_contains(r.out, "ok    calendar england-and-wales: valid until 2199-12-31"));
    it_run_fini(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generator_matches_the_published_dates),
        cmocka_unit_test_setup_teardown(test_import_sign_and_compute_a_deadline, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_import_refuses_and_writes_nothing, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_import_extends_with_generated_years, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_check_flags_calendars_that_end, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_check_fails_rules_without_calendar_or_hours, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
