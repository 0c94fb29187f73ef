/* test_netdoc_calendar.c — vigil/netdoc.h: calendars, opening hours and
 * deadline rules in the signed network document, and vg_netdoc_deadline_at.
 *
 * Documents are built as an administrator would: JSON (docs/network.md),
 * vg_netdoc_body_from_json, sign, verify. The calendars come from the
 * gov.uk-format fixture (tests/vectors/gov-uk-bank-holidays.json). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "vigil/netdoc.h"
#include "vigil/util.h"
#include "vt.h"

#define LONDON "GMT0BST,M3.5.0/1,M10.5.0"
#define FIXTURE VG_VECTORS_DIR "/gov-uk-bank-holidays.json"

/* ---- building documents --------------------------------------------------- */

/* A calendar object for one division of the fixture, up to valid_until. */
static json_t *
s_division_calendar(const char *division, const char *valid_until)
{
    json_error_t jerr;
    json_t *root = json_load_file(FIXTURE, 0, &jerr);
    if (root == NULL) {
        fail_msg("%s: %s", FIXTURE, jerr.text);
    }
    json_t *closed = json_array();
    json_t *events = json_object_get(json_object_get(root, division), "events");
    for (size_t i = 0; i < json_array_size(events); i++) {
        json_t *e = json_array_get(events, i);
        if (strcmp(json_string_value(json_object_get(e, "date")), valid_until) > 0) {
            continue; /* the list ends at valid_until */
        }
        json_array_append_new(closed, json_pack("{s:O, s:O}", "date", json_object_get(e, "date"),
                                                "title", json_object_get(e, "title")));
    }
    json_decref(root);
    return json_pack("{s:s, s:s, s:s, s:[s,s], s:s, s:o}", "name", division, "time_zone",
                     "Europe/London", "tz_rule", LONDON, "weekend", "sat", "sun", "valid_until",
                     valid_until, "closed", closed);
}

/* Four agencies: police (no calendar), licensing (England and Wales,
 * office hours), childrens-services (Scotland, office hours), home-office
 * (the UK-wide union, office hours). */
static void
s_add_calendars(vt_net *net)
{
    json_t *cals = json_array();
    json_array_append_new(cals, s_division_calendar("england-and-wales", "2027-12-31"));
    json_array_append_new(cals, s_division_calendar("scotland", "2027-12-31"));
    json_array_append_new(cals, s_division_calendar("northern-ireland", "2026-12-31"));
    json_array_append_new(
        cals, json_pack("{s:s, s:s, s:s, s:[s,s], s:[s,s,s], s:[{s:s, s:s}]}", "name", "uk-any",
                        "time_zone", "Europe/London", "tz_rule", LONDON, "weekend", "sat", "sun",
                        "union_of", "england-and-wales", "scotland", "northern-ireland", "closed",
                        "date", "2026-06-01", "title", "network away day"));
    json_object_set_new(net->json, "calendars", cals);
    const char *who[3][2] = {{"licensing", "england-and-wales"},
                             {"childrens-services", "scotland"},
                             {"home-office", "uk-any"}};
    for (size_t i = 0; i < 3; i++) {
        json_t *a = vt_net_agency_json(net, who[i][0]);
        json_object_set_new(a, "calendar", json_string(who[i][1]));
        json_object_set_new(a, "hours",
                            json_pack("{s:s, s:s, s:s, s:s, s:s}", "mon", "09:00-17:00", "tue",
                                      "09:00-17:00", "wed", "09:00-17:00", "thu", "09:00-17:00",
                                      "fri", "09:00-12:30,13:30-16:30"));
    }
}

static void
s_publish_ok(vt_net *net)
{
    vg_reason why = {{0}};
    vg_err err = vt_net_publish(net, 0, &why);
    if (err != VG_OK) {
        fail_msg("publish: %s: %s", vg_err_code(err), why.text);
    }
}

/* Publishing net->json fails with want, the reason mentioning needle. */
static void
s_refused(vt_net *net, vg_err want, const char *needle)
{
    char *text = vt_net_json_text(net);
    uint8_t *body = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    vg_err err = vg_netdoc_body_from_json(&body, &len, text, &why);
    free(text);
    free(body);
    if (err != want || !vt_reason_has(&why, needle)) {
        fail_msg("want %s mentioning \"%s\", got %s: %s", vg_err_code(want), needle,
                 vg_err_code(err), why.text);
    }
}

static int64_t
s_ms(const char *text)
{
    int y, mo, d, h, mi, s;
    assert_int_equal(sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2dZ", &y, &mo, &d, &h, &mi, &s), 6);
    return ((int64_t)vg_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000;
}

static int
setup(void **state)
{
    vt_net *net = vt_net_new(4);
    s_add_calendars(net);
    json_object_set_new(net->json, "deadlines",
                        json_pack("{s:s, s:s, s:s, s:s}", "critical", "15m", "high", "1h", "medium",
                                  "1wd", "low", "5wd"));
    *state = net;
    return 0;
}

static int
teardown(void **state)
{
    vt_net *net = *state;
    vt_net_destroy(&net);
    return 0;
}

/* The deadline for agency, as "instant|selector|rule|calendar|warnings". */
static void
s_deadline(char *out, size_t out_len, const vt_net *net, const char *agency, vg_severity sev,
           vg_urgency urg, const char *cats_csv, const char *accepted)
{
    vg_strlist cats = {0};
    if (cats_csv[0] != '\0') {
        assert_int_equal(vg_strlist_split(&cats, cats_csv, NULL), VG_OK);
    }
    vg_deadline d;
    assert_int_equal(vg_netdoc_deadline_at(&d, net->doc, agency, sev, urg,
                                           (const char *const *)cats.items, cats.n, s_ms(accepted)),
                     VG_OK);
    vg_strlist_fini(&cats);
    char when[32];
    vg_utc_format(when, sizeof when, d.deadline_ms);
    snprintf(out, out_len, "%s|%s|%s|%s|%u", when, d.selector, d.rule_text, d.calendar, d.warnings);
}

#define ASSERT_DEADLINE(net, agency, sev, urg, cats, accepted, want)                               \
    do {                                                                                           \
        char got_[512];                                                                            \
        s_deadline(got_, sizeof got_, (net), (agency), (sev), (urg), (cats), (accepted));          \
        assert_string_equal(got_, (want));                                                         \
    } while (0)

/* ---- tests ---------------------------------------------------------------- */

static void
calendars_sign_verify_and_compile(void **state)
{
    vt_net *net = *state;
    s_publish_ok(net);
    assert_int_equal(vg_netdoc_n_calendars(net->doc), 4);
    vg_calendar ew, uk;
    assert_int_equal(vg_netdoc_calendar(net->doc, "england-and-wales", &ew), VG_OK);
    assert_int_equal(vg_netdoc_calendar(net->doc, "uk-any", &uk), VG_OK);
    assert_int_equal(vg_netdoc_calendar(net->doc, "wales", &uk), VG_ERR_NOT_FOUND);
    assert_int_equal(ew.n_closed, 51);
    assert_int_equal(ew.weekend_mask, (1 << 6) | (1 << 7));
    assert_string_equal(ew.time_zone, "Europe/London");
    /* the union: every member's dates once, its own away day, and the
     * earliest valid_until of its members (Northern Ireland's) */
    assert_int_equal(vg_netdoc_calendar(net->doc, "uk-any", &uk), VG_OK);
    assert_int_equal(uk.valid_until, vg_days_from_civil(2026, 12, 31));
    bool past = false;
    assert_false(vg_calendar_is_working_day(&uk, vg_days_from_civil(2026, 3, 17), &past));
    assert_false(vg_calendar_is_working_day(&uk, vg_days_from_civil(2026, 1, 2), &past));
    assert_false(vg_calendar_is_working_day(&uk, vg_days_from_civil(2026, 4, 6), &past));
    assert_false(vg_calendar_is_working_day(&uk, vg_days_from_civil(2026, 6, 1), &past));
    assert_true(vg_calendar_is_working_day(&uk, vg_days_from_civil(2026, 6, 2), &past));
    assert_false(past);
    for (size_t i = 1; i < uk.n_closed; i++) {
        assert_true(uk.closed[i - 1] < uk.closed[i]);
    }
    uint8_t h[VG_CALENDAR_HASH_LEN];
    vg_calendar_hash(h, LONDON, uk.weekend_mask, uk.valid_until, uk.closed, uk.n_closed);
    assert_memory_equal(h, uk.hash, sizeof h);
    size_t n = 0;
    const char *const *members = vg_netdoc_calendar_union_of(net->doc, "uk-any", &n);
    assert_int_equal(n, 3);
    assert_string_equal(members[1], "scotland");
    assert_null(vg_netdoc_calendar_union_of(net->doc, "scotland", &n));
    vg_agency a;
    assert_int_equal(vg_netdoc_find(net->doc, "licensing", &a), VG_OK);
    assert_string_equal(a.calendar, "england-and-wales");
    assert_string_equal(a.out_of_hours_cover, "");
    vg_hours hours;
    vg_netdoc_agency_hours(net->doc, "licensing", &hours);
    assert_int_equal(hours.n_spans, 6);
    assert_int_equal(hours.spans[5].weekday, 5);
    assert_int_equal(hours.spans[5].open_min, 13 * 60 + 30);
    vg_netdoc_agency_hours(net->doc, "police", &hours);
    assert_int_equal(hours.n_spans, 0);
}

static void
json_round_trip_is_exact(void **state)
{
    vt_net *net = *state;
    json_t *police = vt_net_agency_json(net, "police");
    json_object_set_new(police, "out_of_hours_cover", json_string("home-office"));
    json_object_set_new(police, "deadlines", json_pack("{s:s}", "high/immediate", "next-open"));
    json_object_set_new(vt_net_agency_json(net, "licensing"), "category_deadlines",
                        json_pack("[{s:[s], s:s, s:s}]", "categories", "taxi", "severity", "high",
                                  "deadline", "8bh"));
    json_object_set_new(net->json, "category_deadlines",
                        json_pack("[{s:[s,s], s:s, s:s, s:s}]", "categories", "cse",
                                  "missing-child", "severity", "critical", "urgency", "immediate",
                                  "deadline", "next-open+30m"));
    s_publish_ok(net);
    char *json = NULL;
    assert_int_equal(vg_netdoc_to_json(&json, net->doc), VG_OK);
    assert_non_null(strstr(json, "\"tz_rule\": \"GMT0BST,M3.5.0/1,M10.5.0\""));
    assert_non_null(strstr(json, "\"fri\": \"09:00-12:30,13:30-16:30\""));
    assert_non_null(strstr(json, "\"medium\": \"1wd\""));
    assert_non_null(strstr(json, "\"deadline\": \"next-open+30m\""));
    uint8_t *body = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    assert_int_equal(vg_netdoc_body_from_json(&body, &len, json, &why), VG_OK);
    assert_int_equal(len, net->body_len);
    assert_memory_equal(body, net->body, len);
    free(body);
    free(json);
}

static void
deadline_follows_the_agency_calendar(void **state)
{
    vt_net *net = *state;
    s_publish_ok(net);
    /* Thursday before Good Friday 2026: England and Wales vs Scotland */
    ASSERT_DEADLINE(net, "licensing", VG_SEV_MEDIUM, VG_URG_EXPECTED, "taxi",
                    "2026-04-02T09:00:00Z", "2026-04-07T23:00:00Z|medium|1wd|england-and-wales|0");
    ASSERT_DEADLINE(net, "childrens-services", VG_SEV_MEDIUM, VG_URG_EXPECTED, "taxi",
                    "2026-04-02T09:00:00Z", "2026-04-06T23:00:00Z|medium|1wd|scotland|0");
    /* the union on St Patrick's Day */
    ASSERT_DEADLINE(net, "home-office", VG_SEV_MEDIUM, VG_URG_EXPECTED, "", "2026-03-16T10:00:00Z",
                    "2026-03-19T00:00:00Z|medium|1wd|uk-any|0");
    /* the union's own one-off closed date */
    ASSERT_DEADLINE(net, "home-office", VG_SEV_MEDIUM, VG_URG_EXPECTED, "", "2026-05-29T10:00:00Z",
                    "2026-06-02T23:00:00Z|medium|1wd|uk-any|0");
    /* past the union's valid_until (Northern Ireland's list ends 2026) */
    ASSERT_DEADLINE(net, "home-office", VG_SEV_MEDIUM, VG_URG_EXPECTED, "", "2027-03-25T10:00:00Z",
                    "2027-03-27T00:00:00Z|medium|1wd|uk-any|1");
    /* police has no calendar: calendar days in UTC, flagged */
    ASSERT_DEADLINE(net, "police", VG_SEV_MEDIUM, VG_URG_EXPECTED, "", "2026-04-02T09:00:00Z",
                    "2026-04-04T00:00:00Z|medium|1wd||2");
    /* a plain duration names no calendar */
    ASSERT_DEADLINE(net, "licensing", VG_SEV_HIGH, VG_URG_EXPECTED, "", "2026-04-02T09:00:00Z",
                    "2026-04-02T10:00:00Z|high|1h||0");
    /* unknown severity is critical; unknown agency gets the network's rules */
    ASSERT_DEADLINE(net, "nobody", VG_SEV_UNSPECIFIED, VG_URG_UNSPECIFIED, "",
                    "2026-04-02T09:00:00Z", "2026-04-02T09:15:00Z|critical|15m||0");
}

static void
deadline_precedence(void **state)
{
    vt_net *net = *state;
    json_object_set_new(net->json, "deadlines",
                        json_pack("{s:s, s:s, s:s, s:s, s:s}", "critical", "15m", "high", "1h",
                                  "high/immediate", "30m", "medium", "1wd", "low", "5wd"));
    json_object_set_new(net->json, "category_deadlines",
                        json_pack("[{s:[s], s:s, s:s}, {s:[s], s:s, s:s}]", "categories", "cse",
                                  "severity", "high", "deadline", "4bh", "categories", "taxi",
                                  "severity", "high", "deadline", "2bh"));
    json_t *lic = vt_net_agency_json(net, "licensing");
    json_object_set_new(lic, "deadlines", json_pack("{s:s}", "high", "next-open+1h"));
    json_object_set_new(lic, "category_deadlines",
                        json_pack("[{s:[s], s:s, s:s}]", "categories", "cse", "severity", "high",
                                  "deadline", "1bh"));
    s_publish_ok(net);
    const char *fri = "2026-06-12T14:00:00Z"; /* Friday 15:00 BST: open until 16:30 */
    /* scotland's team: the category rule beats the urgency rule */
    ASSERT_DEADLINE(net, "childrens-services", VG_SEV_HIGH, VG_URG_IMMEDIATE, "cse", fri,
                    "2026-06-15T10:30:00Z|high categories=cse|4bh|scotland|0");
    /* no category rule matches: the urgency rule beats the severity rule */
    ASSERT_DEADLINE(net, "childrens-services", VG_SEV_HIGH, VG_URG_IMMEDIATE, "other", fri,
                    "2026-06-12T14:30:00Z|high/immediate|30m||0");
    /* two category rules equally specific: the earlier deadline wins */
    ASSERT_DEADLINE(net, "childrens-services", VG_SEV_HIGH, VG_URG_EXPECTED, "cse,taxi", fri,
                    "2026-06-15T08:30:00Z|high categories=taxi|2bh|scotland|0");
    /* licensing's own category rule beats its own severity rule */
    ASSERT_DEADLINE(net, "licensing", VG_SEV_HIGH, VG_URG_EXPECTED, "cse", fri,
                    "2026-06-12T15:00:00Z|high categories=cse agency=licensing|1bh|"
                    "england-and-wales|0");
    /* licensing's own rule beats the network's category rule */
    ASSERT_DEADLINE(net, "licensing", VG_SEV_HIGH, VG_URG_IMMEDIATE, "taxi", fri,
                    "2026-06-12T15:00:00Z|high agency=licensing|next-open+1h|england-and-wales|0");
    /* the agency's rules do not reach other agencies */
    ASSERT_DEADLINE(net, "police", VG_SEV_HIGH, VG_URG_EXPECTED, "", fri,
                    "2026-06-12T15:00:00Z|high|1h||0");
    /* vg_netdoc_deadline_ms still answers plain durations, 0 for calendar units */
    assert_int_equal(vg_netdoc_deadline_ms(net->doc, VG_SEV_HIGH, VG_URG_IMMEDIATE), 1800000);
    assert_int_equal(vg_netdoc_deadline_ms(net->doc, VG_SEV_HIGH, VG_URG_EXPECTED), 3600000);
    assert_int_equal(vg_netdoc_deadline_ms(net->doc, VG_SEV_MEDIUM, VG_URG_EXPECTED), 0);
}

static void
deadline_description_for_the_audit_leaf(void **state)
{
    vt_net *net = *state;
    s_publish_ok(net);
    vg_deadline d;
    const char *cats[] = {"taxi"};
    assert_int_equal(vg_netdoc_deadline_at(&d, net->doc, "licensing", VG_SEV_LOW, VG_URG_FUTURE,
                                           cats, 1, s_ms("2027-12-23T10:00:00Z")),
                     VG_OK);
    vg_calendar ew;
    assert_int_equal(vg_netdoc_calendar(net->doc, "england-and-wales", &ew), VG_OK);
    assert_memory_equal(d.calendar_hash, ew.hash, VG_CALENDAR_HASH_LEN);
    assert_int_equal(d.network_version, vg_netdoc_version(net->doc));
    char hex[17];
    vg_hex_encode(hex, sizeof hex, ew.hash, 8);
    char want[VG_DEADLINE_TEXT_MAX];
    /* 5wd from Thu 23 Dec 2027: Fri 24, Wed 29, Thu 30, Fri 31, then 1 Jan
     * 2028, past valid_until, counts as the fifth */
    snprintf(want, sizeof want,
             "deadline=2028-01-02T00:00:00Z rule=\"low: 5wd\" network=%llu "
             "calendar=england-and-wales@%s valid_until=2027-12-31 WARNING=past_valid_until",
             (unsigned long long)vg_netdoc_version(net->doc), hex);
    assert_string_equal(d.text, want);
    assert_int_equal(d.warnings, VG_DLW_PAST_VALID_UNTIL);
    vg_deadline keep = d;
    assert_int_equal(vg_netdoc_deadline_at(&d, net->doc, "licensing", VG_SEV_LOW, VG_URG_FUTURE,
                                           cats, 1, VG_TZ_MS_MAX),
                     VG_ERR_INVALID);
    assert_memory_equal(&d, &keep, sizeof d); /* untouched on error */
}

/* The repeat deadline as "instant|selector|rule|calendar|warnings". */
static void
s_repeat_deadline(char *out, size_t out_len, const vt_net *net, const char *agency, vg_severity sev,
                  const char *accepted)
{
    vg_deadline d;
    const char *cats[] = {"taxi"};
    assert_int_equal(vg_netdoc_deadline_repeat_at(&d, net->doc, agency, sev, VG_URG_EXPECTED, cats,
                                                  1, s_ms(accepted)),
                     VG_OK);
    char when[32];
    vg_utc_format(when, sizeof when, d.deadline_ms);
    snprintf(out, out_len, "%s|%s|%s|%s|%u", when, d.selector, d.rule_text, d.calendar, d.warnings);
}

/* repeat_deadlines: only for a repeat warning, only when earlier than the
 * ordinary deadline (the agency's own rule included), in the agency's
 * calendar; never for an ordinary deadline; round-trips through JSON. */
static void
repeat_deadlines_are_stricter_only_for_repeats(void **state)
{
    vt_net *net = *state;
    json_object_set_new(net->json, "repeat_deadlines",
                        json_pack("{s:s, s:s}", "high", "15m", "medium", "2bh"));
    json_object_set_new(vt_net_agency_json(net, "childrens-services"), "deadlines",
                        json_pack("{s:s}", "high", "10m"));
    s_publish_ok(net);
    const char *thu = "2026-06-11T09:00:00Z"; /* Thursday 10:00 BST */
    char got[512];
    s_repeat_deadline(got, sizeof got, net, "licensing", VG_SEV_HIGH, thu);
    assert_string_equal(got, "2026-06-11T09:15:00Z|repeat high|15m||0");
    /* the ordinary deadline of the same recipient is untouched */
    ASSERT_DEADLINE(net, "licensing", VG_SEV_HIGH, VG_URG_EXPECTED, "taxi", thu,
                    "2026-06-11T10:00:00Z|high|1h||0");
    /* an ordinary deadline already earlier stays */
    s_repeat_deadline(got, sizeof got, net, "childrens-services", VG_SEV_HIGH, thu);
    assert_string_equal(got, "2026-06-11T09:10:00Z|high agency=childrens-services|10m||0");
    /* no repeat rule for the severity: the ordinary one (and the broker
     * need not look the alert's links up) */
    assert_true(vg_netdoc_has_repeat_deadline(net->doc, VG_SEV_HIGH));
    assert_true(vg_netdoc_has_repeat_deadline(net->doc, VG_SEV_MEDIUM));
    assert_false(vg_netdoc_has_repeat_deadline(net->doc, VG_SEV_CRITICAL));
    s_repeat_deadline(got, sizeof got, net, "licensing", VG_SEV_CRITICAL, thu);
    assert_string_equal(got, "2026-06-11T09:15:00Z|critical|15m||0");
    /* a calendar unit counts in the agency's calendar */
    s_repeat_deadline(got, sizeof got, net, "licensing", VG_SEV_MEDIUM, thu);
    assert_non_null(strstr(got, "|repeat medium|2bh|england-and-wales|"));
    vg_deadline_rule_view v;
    size_t n_repeat = 0;
    for (size_t i = 0; i < vg_netdoc_n_deadline_rules(net->doc); i++) {
        vg_netdoc_deadline_rule_at(net->doc, i, &v);
        n_repeat += v.repeat;
    }
    assert_int_equal(n_repeat, 2);
    char *json = NULL;
    assert_int_equal(vg_netdoc_to_json(&json, net->doc), VG_OK);
    assert_non_null(strstr(json, "\"repeat_deadlines\": {"));
    uint8_t *body = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    assert_int_equal(vg_netdoc_body_from_json(&body, &len, json, &why), VG_OK);
    assert_int_equal(len, net->body_len);
    assert_memory_equal(body, net->body, len);
    free(body);
    free(json);
}

/* A repeat deadline not shorter than the severity's, or with an urgency,
 * or of no severity, is refused with what to do. */
static void
refuses_bad_repeat_deadlines(void **state)
{
    vt_net *net = *state;
    json_object_set_new(net->json, "repeat_deadlines", json_pack("{s:s}", "high", "2h"));
    s_refused(net, VG_ERR_POLICY,
              "deadlines repeat high: 2h is not shorter than deadlines high: 1h");
    json_object_set_new(net->json, "repeat_deadlines", json_pack("{s:s}", "high", "1h"));
    s_refused(net, VG_ERR_POLICY, "make it shorter or remove it");
    json_object_set_new(net->json, "repeat_deadlines", json_pack("{s:s}", "high/immediate", "5m"));
    s_refused(net, VG_ERR_POLICY, "network-wide and by severity only");
    json_object_set_new(net->json, "repeat_deadlines", json_pack("{s:s}", "urgent", "5m"));
    s_refused(net, VG_ERR_MALFORMED, "repeat_deadlines \"urgent\"");
    json_object_set_new(net->json, "repeat_deadlines", json_pack("{s:s}", "high", "soon"));
    s_refused(net, VG_ERR_MALFORMED, "repeat_deadlines \"high\"");
    json_object_set_new(net->json, "repeat_deadlines", json_pack("[s]", "high"));
    s_refused(net, VG_ERR_MALFORMED, "repeat_deadlines must be an object");
}

static void
old_documents_still_verify_and_answer(void **state)
{
    (void)state;
    vt_net *net = vt_net_new(4); /* no calendars, duration rules only */
    assert_int_equal(vg_netdoc_n_calendars(net->doc), 0);
    assert_int_equal(vg_netdoc_deadline_ms(net->doc, VG_SEV_HIGH, VG_URG_IMMEDIATE), 1800000);
    ASSERT_DEADLINE(net, "licensing", VG_SEV_HIGH, VG_URG_IMMEDIATE, "taxi", "2026-06-12T14:00:00Z",
                    "2026-06-12T14:30:00Z|high/immediate|30m||0");
    char *json = NULL;
    assert_int_equal(vg_netdoc_to_json(&json, net->doc), VG_OK);
    assert_null(strstr(json, "calendars"));
    assert_null(strstr(json, "category_deadlines"));
    free(json);
    vt_net_destroy(&net);
}

/* ---- refusals ------------------------------------------------------------- */

static json_t *
s_cal(vt_net *net, size_t i)
{
    return json_array_get(json_object_get(net->json, "calendars"), i);
}

static void
refuses_bad_calendars(void **state)
{
    vt_net *net = *state;
    json_t *ew = s_cal(net, 0);
    json_object_set_new(ew, "tz_rule", json_string("Europe/London"));
    s_refused(net, VG_ERR_POLICY, "calendar england-and-wales: time zone rule");
    json_object_set_new(ew, "tz_rule", json_string(LONDON));
    json_object_set_new(ew, "time_zone", json_string("../etc/passwd"));
    s_refused(net, VG_ERR_POLICY, "time_zone '../etc/passwd'");
    json_object_set_new(ew, "time_zone", json_string("Europe/London"));
    json_object_set_new(ew, "valid_until", json_string("2026-12-31"));
    s_refused(net, VG_ERR_POLICY, "closed date 2027-01-01 is after its valid_until 2026-12-31");
    json_object_del(ew, "valid_until");
    s_refused(net, VG_ERR_POLICY, "calendar england-and-wales: valid_until is required");
    json_object_set_new(ew, "valid_until", json_string("2027-02-30"));
    s_refused(net, VG_ERR_MALFORMED, "valid_until: '2027-02-30' is not a date");
    json_object_set_new(ew, "valid_until", json_string("2027-12-31"));
    json_array_append_new(json_object_get(ew, "closed"), json_string("2025-12-25"));
    s_refused(net, VG_ERR_MALFORMED, "closed date 2025-12-25 is listed twice");
    json_array_remove(json_object_get(ew, "closed"),
                      json_array_size(json_object_get(ew, "closed")) - 1);
    json_object_set_new(
        ew, "weekend",
        json_pack("[s,s,s,s,s,s,s]", "mon", "tue", "wed", "thu", "fri", "sat", "sun"));
    s_refused(net, VG_ERR_POLICY, "it has no working day");
    json_object_set_new(ew, "weekend", json_pack("[s]", "saturday"));
    s_refused(net, VG_ERR_MALFORMED, "weekend day \"saturday\"");
    json_object_set_new(ew, "weekend", json_pack("[s,s]", "sat", "sat"));
    s_refused(net, VG_ERR_POLICY, "each once");
    json_object_set_new(ew, "weekend", json_pack("[s,s]", "sat", "sun"));
    json_object_set_new(s_cal(net, 3), "union_of", json_pack("[s,s]", "scotland", "wales"));
    s_refused(net, VG_ERR_POLICY, "calendar uk-any: union_of names unknown 'wales'");
    json_object_set_new(s_cal(net, 3), "union_of", json_pack("[s,s]", "scotland", "uk-any"));
    s_refused(net, VG_ERR_POLICY, "'uk-any' is itself a union");
    json_object_set_new(s_cal(net, 3), "union_of", json_pack("[s]", "scotland"));
    json_object_set_new(s_cal(net, 1), "tz_rule", json_string("UTC0"));
    s_refused(net, VG_ERR_POLICY, "'scotland' has another tz_rule");
    json_object_set_new(s_cal(net, 1), "tz_rule", json_string(LONDON));
    json_object_set_new(s_cal(net, 1), "name", json_string("england-and-wales"));
    s_refused(net, VG_ERR_POLICY, "calendar 'england-and-wales' appears twice");
    json_object_set_new(s_cal(net, 1), "name", json_string("scotland"));
    json_object_set_new(s_cal(net, 1), "colour", json_string("blue"));
    s_refused(net, VG_ERR_MALFORMED, "calendar scotland: unknown key \"colour\"");
    json_object_del(s_cal(net, 1), "colour");
    s_publish_ok(net);
}

static void
refuses_bad_hours_and_cover(void **state)
{
    vt_net *net = *state;
    json_t *lic = vt_net_agency_json(net, "licensing");
    json_t *police = vt_net_agency_json(net, "police");
    json_object_set_new(lic, "calendar", json_string("wales"));
    s_refused(net, VG_ERR_POLICY, "agency licensing: calendar 'wales' is not in calendars");
    json_object_set_new(lic, "calendar", json_string("england-and-wales"));
    json_object_set_new(police, "hours", json_pack("{s:s}", "mon", "09:00-17:00"));
    s_refused(net, VG_ERR_POLICY, "agency police: opening hours are local times");
    json_object_del(police, "hours");
    json_object_set_new(lic, "hours", json_pack("{s:s}", "sat", "10:00-12:00"));
    s_refused(net, VG_ERR_POLICY, "opening hours on sat, but sat is a weekend day");
    json_object_set_new(lic, "hours", json_pack("{s:s}", "mon", "09:00-13:00,12:00-17:00"));
    s_refused(net, VG_ERR_POLICY, "opening hours on mon overlap");
    json_object_set_new(lic, "hours", json_pack("{s:s}", "mon", "17:00-09:00"));
    s_refused(net, VG_ERR_POLICY, "00:00 <= open < close <= 24:00");
    json_object_set_new(lic, "hours", json_pack("{s:s}", "mon", "9-5"));
    s_refused(net, VG_ERR_MALFORMED, "licensing hours \"mon\" must be spans");
    json_object_set_new(lic, "hours", json_pack("{s:s}", "monday", "09:00-17:00"));
    s_refused(net, VG_ERR_MALFORMED, "unknown key \"monday\"");
    json_object_set_new(lic, "hours", json_pack("{s:s}", "mon", "00:00-24:00"));
    json_object_set_new(lic, "out_of_hours_cover", json_string("licensing"));
    s_refused(net, VG_ERR_POLICY, "out_of_hours_cover 'licensing' is not another agency");
    json_object_set_new(lic, "out_of_hours_cover", json_string("nobody"));
    s_refused(net, VG_ERR_POLICY, "out_of_hours_cover 'nobody'");
    json_object_set_new(lic, "out_of_hours_cover", json_string("police"));
    s_publish_ok(net);
    vg_agency a;
    assert_int_equal(vg_netdoc_find(net->doc, "licensing", &a), VG_OK);
    assert_string_equal(a.out_of_hours_cover, "police");
}

static void
refuses_bad_deadline_rules(void **state)
{
    vt_net *net = *state;
    json_t *dl = json_object_get(net->json, "deadlines");
    json_object_set_new(dl, "medium", json_string("1.5wd"));
    s_refused(net, VG_ERR_MALFORMED, "deadlines \"medium\": deadline '1.5wd'");
    json_object_set_new(dl, "medium", json_string("1wd"));
    json_object_set_new(net->json, "category_deadlines",
                        json_pack("[{s:[s], s:s, s:s}]", "categories", "parking", "severity",
                                  "high", "deadline", "1wd"));
    s_refused(net, VG_ERR_POLICY, "deadlines high categories=parking: category 'parking'");
    json_object_set_new(
        net->json, "category_deadlines",
        json_pack("[{s:[], s:s, s:s}]", "categories", "severity", "high", "deadline", "1wd"));
    s_refused(net, VG_ERR_MALFORMED, "\"categories\" lists at least one");
    json_object_set_new(net->json, "category_deadlines",
                        json_pack("[{s:[s,s], s:s, s:s}, {s:[s,s], s:s, s:s}]", "categories", "cse",
                                  "taxi", "severity", "high", "deadline", "1wd", "categories",
                                  "taxi", "cse", "severity", "high", "deadline", "2wd"));
    s_refused(net, VG_ERR_POLICY, "deadlines: high categories=taxi,cse is set twice");
    json_object_set_new(net->json, "category_deadlines",
                        json_pack("[{s:[s], s:s}]", "categories", "cse", "severity", "high"));
    s_refused(net, VG_ERR_MALFORMED, "\"deadline\" is required");
    json_object_del(net->json, "category_deadlines");
    json_object_set_new(vt_net_agency_json(net, "police"), "deadlines",
                        json_pack("{s:s}", "urgent", "1h"));
    s_refused(net, VG_ERR_MALFORMED, "agency police deadlines \"urgent\"");
    json_object_del(vt_net_agency_json(net, "police"), "deadlines");
    s_publish_ok(net);
}

/* vg_netdoc_cover: "cover" as the agencies the closed ones bring in, each
 * with the agency it covers: "home-office<licensing" or "". */
static void
s_cover(char *out, size_t out_len, const vt_net *net, const char *required_csv, vg_severity sev,
        const char *sender, const char *made)
{
    vg_strlist req = {0}, covers = {0}, covered = {0};
    assert_int_equal(vg_strlist_split(&req, required_csv, NULL), VG_OK);
    assert_int_equal(vg_netdoc_cover(net->doc, &req, sev, sender, s_ms(made), &covers, &covered),
                     VG_OK);
    assert_int_equal(covers.n, covered.n);
    out[0] = '\0';
    for (size_t i = 0, w = 0; i < covers.n && w < out_len; i++) {
        w += (size_t)snprintf(out + w, out_len - w, "%s%s<%s", i ? "," : "", covers.items[i],
                              covered.items[i]);
    }
    vg_strlist_fini(&req);
    vg_strlist_fini(&covers);
    vg_strlist_fini(&covered);
}

#define ASSERT_COVER(net, required, sev, sender, made, want)                                       \
    do {                                                                                           \
        char got_[256];                                                                            \
        s_cover(got_, sizeof got_, (net), (required), (sev), (sender), (made));                    \
        assert_string_equal(got_, (want));                                                         \
    } while (0)

/* Licensing (office hours, Fridays until 16:30; England and Wales) is
 * covered by the police out of hours: for critical and high alerts only,
 * judged at the alert's created time, never the sender, never twice. */
static void
out_of_hours_cover_for_critical_and_high_only(void **state)
{
    vt_net *net = *state;
    json_object_set_new(vt_net_agency_json(net, "licensing"), "out_of_hours_cover",
                        json_string("police"));
    s_publish_ok(net);
    /* Friday 30 April 2027, 16:55 BST: closed since 16:30. */
    ASSERT_COVER(net, "licensing", VG_SEV_HIGH, "home-office", "2027-04-30T15:55:00Z",
                 "police<licensing");
    ASSERT_COVER(net, "licensing", VG_SEV_CRITICAL, "home-office", "2027-04-30T15:55:00Z",
                 "police<licensing");
    ASSERT_COVER(net, "licensing", VG_SEV_UNSPECIFIED, "home-office", "2027-04-30T15:55:00Z",
                 "police<licensing"); /* unspecified counts as critical */
    ASSERT_COVER(net, "licensing", VG_SEV_MEDIUM, "home-office", "2027-04-30T15:55:00Z", "");
    ASSERT_COVER(net, "licensing", VG_SEV_LOW, "home-office", "2027-04-30T15:55:00Z", "");
    /* 16:29:59 BST the same Friday: still open. 16:30:00: closed. */
    ASSERT_COVER(net, "licensing", VG_SEV_HIGH, "home-office", "2027-04-30T15:29:59Z", "");
    ASSERT_COVER(net, "licensing", VG_SEV_HIGH, "home-office", "2027-04-30T15:30:00Z",
                 "police<licensing");
    /* Monday 3 May 2027 at 11:00 BST: a bank holiday, closed all day;
     * Tuesday at 11:00: open. */
    ASSERT_COVER(net, "licensing", VG_SEV_HIGH, "home-office", "2027-05-03T10:00:00Z",
                 "police<licensing");
    ASSERT_COVER(net, "licensing", VG_SEV_HIGH, "home-office", "2027-05-04T10:00:00Z", "");
    /* The cover is the sender: it has the alert already. */
    ASSERT_COVER(net, "licensing", VG_SEV_HIGH, "police", "2027-04-30T15:55:00Z", "");
    /* Required already: not twice. */
    ASSERT_COVER(net, "licensing,police", VG_SEV_HIGH, "home-office", "2027-04-30T15:55:00Z", "");
    /* An agency without a cover brings nobody, closed or not. */
    ASSERT_COVER(net, "childrens-services", VG_SEV_HIGH, "home-office", "2027-04-30T20:00:00Z", "");
    /* Revoked covers are not added. */
    vt_net_revoke(net, "police");
    ASSERT_COVER(net, "licensing", VG_SEV_HIGH, "home-office", "2027-04-30T15:55:00Z", "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(calendars_sign_verify_and_compile, setup, teardown),
        cmocka_unit_test_setup_teardown(json_round_trip_is_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(deadline_follows_the_agency_calendar, setup, teardown),
        cmocka_unit_test_setup_teardown(deadline_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(deadline_description_for_the_audit_leaf, setup, teardown),
        cmocka_unit_test(old_documents_still_verify_and_answer),
        cmocka_unit_test_setup_teardown(repeat_deadlines_are_stricter_only_for_repeats, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(refuses_bad_repeat_deadlines, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_bad_calendars, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_bad_hours_and_cover, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_bad_deadline_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(out_of_hours_cover_for_critical_and_high_only, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
