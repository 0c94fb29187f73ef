/* test_rota.c — vigil/rota.h: a duty rota file as docs/network.md "Duty
 * rotas and notifications" shows it, what is refused, who is on duty when
 * (open, closed, weekly spans, dated entries replacing standing ones, a
 * bank holiday) and message templates (escaping per content type, the
 * summary, no way to name content). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "vigil/rota.h"
#include "vigil/util.h"
#include "vt.h"

/* The example of docs/network.md, as it is written there. */
static const char s_example[] =
    "{\n"
    "  \"agency\": \"licensing\",\n"
    "  \"console\": \"https://vigil.council.example/licensing/\",\n"
    "  \"channels\": [\n"
    "    { \"name\": \"mail\", \"type\": \"email\", \"url\": "
    "\"smtp://relay.council.example:587\",\n"
    "      \"from\": \"vigil@council.example\", \"user\": \"vigil\", \"secret\": "
    "\"relay-password\",\n"
    "      \"subject\": \"{tag}vigil: a {severity} alert awaits {agency}\" },\n"
    "    { \"name\": \"sms\", \"type\": \"webhook\", \"url\": "
    "\"https://sms.example/v1/messages\",\n"
    "      \"auth\": \"basic\", \"user\": \"council\", \"secret\": \"sms-key\",\n"
    "      \"content_type\": \"application/x-www-form-urlencoded\",\n"
    "      \"template\": \"to={to}&body={tag}{summary} {link}\" },\n"
    "    { \"name\": \"teams\", \"type\": \"webhook\", \"url_secret\": \"teams-hook-url\",\n"
    "      \"template\": \"{\\\"text\\\": \\\"{tag}{summary} {link}\\\"}\" }\n"
    "  ],\n"
    "  \"duty\": [\n"
    "    { \"name\": \"Licensing duty officer\", \"role\": \"officer\", \"when\": \"open\",\n"
    "      \"contacts\": [ { \"channel\": \"mail\", \"to\": \"licensing.duty@council.example\" "
    "},\n"
    "                    { \"channel\": \"teams\", \"to\": \"\" } ] },\n"
    "    { \"name\": \"EDT senior practitioner\", \"role\": \"out-of-hours\", \"when\": "
    "\"closed\",\n"
    "      \"contacts\": [ { \"channel\": \"sms\", \"to\": \"+447700900123\" } ] },\n"
    "    { \"name\": \"A. Khan (covering)\", \"role\": \"officer\", \"when\": \"open\",\n"
    "      \"from\": \"2027-08-02\", \"until\": \"2027-08-13\",\n"
    "      \"contacts\": [ { \"channel\": \"mail\", \"to\": \"a.khan@council.example\" } ] },\n"
    "    { \"name\": \"Licensing manager\", \"role\": \"manager\", \"when\": \"always\",\n"
    "      \"contacts\": [ { \"channel\": \"mail\", \"to\": "
    "\"licensing.manager@council.example\" } ] }\n"
    "  ]\n"
    "}\n";

static int64_t
s_ms(const char *text)
{
    int y, mo, d, h, mi, s;
    assert_int_equal(sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2dZ", &y, &mo, &d, &h, &mi, &s), 6);
    return ((int64_t)vg_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000;
}

/* A network whose licensing works office hours on England and Wales' days
 * (the early and late May bank holidays of 2027 closed). */
static int
setup(void **state)
{
    vt_net *net = vt_net_new(4);
    json_error_t jerr;
    json_object_set_new(
        net->json, "calendars",
        json_loads("[{\"name\": \"england-and-wales\", \"time_zone\": \"Europe/London\", "
                   "\"tz_rule\": \"GMT0BST,M3.5.0/1,M10.5.0\", \"weekend\": [\"sat\", \"sun\"], "
                   "\"closed\": [\"2027-05-03\", \"2027-05-31\"], \"valid_until\": "
                   "\"2027-12-31\"}]",
                   0, &jerr));
    json_t *lic = vt_net_agency_json(net, "licensing");
    json_object_set_new(lic, "calendar", json_string("england-and-wales"));
    json_object_set_new(lic, "hours",
                        json_pack("{s:s, s:s, s:s, s:s, s:s}", "mon", "09:00-17:00", "tue",
                                  "09:00-17:00", "wed", "09:00-17:00", "thu", "09:00-17:00", "fri",
                                  "09:00-16:30"));
    vt_net_republish(net);
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

static vg_rota *
s_parse_ok(const char *text)
{
    vg_rota *r = NULL;
    vg_reason why = {{0}};
    vg_err err = vg_rota_parse(&r, text, strlen(text), "licensing", &why);
    if (err != VG_OK) {
        fail_msg("rota refused: %s: %s", vg_err_code(err), why.text);
    }
    return r;
}

/* Who of `duty` is on duty at `at`: their names joined by ','. */
static void
s_who(char *out, size_t out_len, const vg_rota *r, const vt_net *net, vg_duty duty, const char *at)
{
    vg_duty_entry e[8];
    size_t n = vg_rota_on_duty(r, net->doc, duty, s_ms(at), e, 8);
    out[0] = '\0';
    for (size_t i = 0, w = 0; i < n && i < 8 && w < out_len; i++) {
        w += (size_t)snprintf(out + w, out_len - w, "%s%s", i ? "," : "", e[i].name);
    }
}

#define ASSERT_WHO(r, net, duty, at, want)                                                         \
    do {                                                                                           \
        char got_[256];                                                                            \
        s_who(got_, sizeof got_, (r), (net), (duty), (at));                                        \
        assert_string_equal(got_, (want));                                                         \
    } while (0)

static void
the_documented_example_parses_and_says_who_is_on_duty(void **state)
{
    vt_net *net = *state;
    vg_rota *r = s_parse_ok(s_example);
    assert_string_equal(vg_rota_agency(r), "licensing");
    assert_string_equal(vg_rota_console(r), "https://vigil.council.example/licensing/");
    /* Thursday 29 April 2027, 11:00 BST: open. */
    ASSERT_WHO(r, net, VG_DUTY_OFFICER, "2027-04-29T10:00:00Z", "Licensing duty officer");
    ASSERT_WHO(r, net, VG_DUTY_OUT_OF_HOURS, "2027-04-29T10:00:00Z", "");
    ASSERT_WHO(r, net, VG_DUTY_MANAGER, "2027-04-29T10:00:00Z", "Licensing manager");
    /* Friday 16:55 BST (closed since 16:30) and the bank holiday Monday. */
    ASSERT_WHO(r, net, VG_DUTY_OFFICER, "2027-04-30T15:55:00Z", "");
    ASSERT_WHO(r, net, VG_DUTY_OUT_OF_HOURS, "2027-04-30T15:55:00Z", "EDT senior practitioner");
    ASSERT_WHO(r, net, VG_DUTY_OUT_OF_HOURS, "2027-05-03T10:00:00Z", "EDT senior practitioner");
    ASSERT_WHO(r, net, VG_DUTY_MANAGER, "2027-05-03T10:00:00Z", "Licensing manager");
    /* A. Khan covers 2-13 August (local dates): the standing officer is
     * replaced, from its first opening minute to its last (16:29 BST on the
     * Friday: Fridays close at 16:30). */
    ASSERT_WHO(r, net, VG_DUTY_OFFICER, "2027-08-02T08:00:00Z", "A. Khan (covering)");
    ASSERT_WHO(r, net, VG_DUTY_OFFICER, "2027-08-13T15:29:00Z", "A. Khan (covering)");
    ASSERT_WHO(r, net, VG_DUTY_OFFICER, "2027-07-30T08:00:00Z", "Licensing duty officer");
    ASSERT_WHO(r, net, VG_DUTY_OFFICER, "2027-08-16T08:00:00Z", "Licensing duty officer");
    /* The entry's contacts and channels. */
    vg_duty_entry e[2];
    assert_int_equal(
        vg_rota_on_duty(r, net->doc, VG_DUTY_OFFICER, s_ms("2027-04-29T10:00:00Z"), e, 2), 1);
    assert_int_equal(e[0].n_contacts, 2);
    assert_string_equal(e[0].contacts[0].to, "licensing.duty@council.example");
    assert_int_equal(e[0].contacts[0].channel->kind, VG_CHANNEL_EMAIL);
    assert_string_equal(e[0].contacts[0].channel->secret, "relay-password");
    assert_int_equal(e[0].contacts[1].channel->kind, VG_CHANNEL_WEBHOOK);
    assert_string_equal(e[0].contacts[1].channel->url, "");
    assert_string_equal(e[0].contacts[1].channel->url_secret, "teams-hook-url");
    assert_string_equal(e[0].contacts[1].channel->content_type, "application/json");
    vg_rota_destroy(&r);
    assert_null(r);
}

static void
weekly_spans_in_local_time(void **state)
{
    vt_net *net = *state;
    vg_rota *r = s_parse_ok(
        "{\"agency\": \"licensing\", \"console\": \"https://c.example/\", \"channels\": "
        "[{\"name\": \"m\", \"type\": \"email\", \"url\": \"smtps://relay.example\", \"from\": "
        "\"v@example.org\"}], \"duty\": [{\"name\": \"Weekend team\", \"role\": "
        "\"out-of-hours\", \"when\": {\"sat\": \"00:00-24:00\", \"sun\": \"00:00-12:00\"}, "
        "\"contacts\": [{\"channel\": \"m\", \"to\": \"weekend@example.org\"}]}]}");
    /* Saturday 1 May 2027 00:30 BST = Friday 23:30Z: on; Sunday 12:00 BST: off. */
    ASSERT_WHO(r, net, VG_DUTY_OUT_OF_HOURS, "2027-04-30T23:30:00Z", "Weekend team");
    ASSERT_WHO(r, net, VG_DUTY_OUT_OF_HOURS, "2027-04-30T22:59:00Z", "");
    ASSERT_WHO(r, net, VG_DUTY_OUT_OF_HOURS, "2027-05-02T10:59:00Z", "Weekend team");
    ASSERT_WHO(r, net, VG_DUTY_OUT_OF_HOURS, "2027-05-02T11:00:00Z", "");
    vg_rota_destroy(&r);
}

/* The example with `from` replaced by `to` (once), refused mentioning needle. */
static void
s_refused(const char *from, const char *to, const char *needle)
{
    char text[sizeof s_example + 256];
    const char *at = strstr(s_example, from);
    assert_non_null(at);
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - s_example), s_example, to,
             at + strlen(from));
    vg_rota *r = NULL;
    vg_reason why = {{0}};
    vg_err err = vg_rota_parse(&r, text, strlen(text), "licensing", &why);
    if (err != VG_ERR_MALFORMED || !vt_reason_has(&why, needle)) {
        fail_msg("replacing %s by %s: want malformed mentioning \"%s\", got %s: %s", from, to,
                 needle, vg_err_code(err), why.text);
    }
    assert_null(r);
}

static void
refuses_what_the_broker_could_not_rely_on(void **state)
{
    (void)state;
    vg_rota *r = NULL;
    vg_reason why = {{0}};
    /* Another agency's file. */
    assert_int_equal(vg_rota_parse(&r, s_example, strlen(s_example), "police", &why),
                     VG_ERR_MALFORMED);
    assert_null(r);
    s_refused("{tag}vigil:", "{headline}vigil:", "unknown template variable");
    s_refused("{summary} {link}\" },", "{description} {link}\" },", "unknown template variable");
    s_refused("smtp://relay.council.example:587", "http://relay.council.example", "");
    s_refused("https://sms.example/v1/messages", "ftp://sms.example/", "");
    s_refused("\"auth\": \"basic\", \"user\": \"council\",", "\"auth\": \"basic\",", "user");
    s_refused("\"auth\": \"basic\"", "\"auth\": \"md5\"", "auth");
    s_refused("{ \"channel\": \"sms\"", "{ \"channel\": \"pager\"", "no channel named");
    s_refused("\"role\": \"manager\"", "\"role\": \"boss\"", "role");
    s_refused("\"when\": \"always\"", "\"when\": \"sometimes\"", "when");
    s_refused("\"until\": \"2027-08-13\"", "\"until\": \"2027-07-13\"", "from");
    s_refused("\"from\": \"vigil@council.example\"", "\"from\": \"not an address\"", "from");
    s_refused("\"agency\": \"licensing\",", "\"agency\": \"licensing\", \"extra\": 1,",
              "unknown key");
    s_refused("\"name\": \"teams\"", "\"name\": \"mail\"", "two channels");
    const char broken[] = "{\"agency\": \"licensing\",";
    assert_int_equal(vg_rota_parse(&r, broken, strlen(broken), "licensing", &why),
                     VG_ERR_MALFORMED);
    assert_null(r);
}

static void
templates_escape_for_their_content_type(void **state)
{
    (void)state;
    vg_notice n = {.event = "overdue",
                   .target = "officer-on-duty",
                   .agency = "licensing",
                   .sender = "police",
                   .severity = "high",
                   .categories = "taxi,cse",
                   .status = "exercise",
                   .alert = "00112233445566778899aabbccddeeff",
                   .link = "https://c.example/#/alert/00112233445566778899aabbccddeeff",
                   .deadline_ms = s_ms("2027-05-04T23:00:00Z"),
                   .level = 2,
                   .name = "O'Neil \"the duty\"\nofficer & co",
                   .to = "+44 7700 900123"};
    char out[1024];
    assert_true(vg_notice_render(out, sizeof out, "{\"who\": \"{name}\", \"s\": \"{summary}\"}", &n,
                                 VG_ESCAPE_JSON));
    json_error_t jerr;
    json_t *v = json_loads(out, 0, &jerr);
    if (v == NULL) {
        fail_msg("not JSON: %s: %s", jerr.text, out);
    }
    assert_string_equal(json_string_value(json_object_get(v, "who")),
                        "O'Neil \"the duty\"\nofficer & co");
    assert_string_equal(json_string_value(json_object_get(v, "s")),
                        "A high alert (taxi,cse) from police awaits acknowledgement by "
                        "licensing: its deadline passed at 2027-05-04T23:00:00Z.");
    json_decref(v);
    assert_true(vg_notice_render(out, sizeof out, "to={to}&n={name}", &n, VG_ESCAPE_FORM));
    assert_null(strchr(out + 3, ' '));
    assert_non_null(strstr(out, "to=%2B44"));
    assert_null(strstr(out, "& co")); /* the & is escaped */
    assert_true(vg_notice_render(out, sizeof out, "{tag}{name} L{level}", &n, VG_ESCAPE_TEXT));
    assert_null(strchr(out, '\n')); /* a subject stays one line */
    assert_int_equal(strncmp(out, "[EXERCISE] ", 11), 0);
    assert_non_null(strstr(out, "L2"));
    /* Too long: false, and cut. */
    assert_false(vg_notice_render(out, 16, "{summary}", &n, VG_ESCAPE_TEXT));
    assert_true(strlen(out) < 16);
    assert_int_equal(vg_escape_for("application/json; charset=utf-8"), VG_ESCAPE_JSON);
    assert_int_equal(vg_escape_for("application/x-www-form-urlencoded"), VG_ESCAPE_FORM);
    assert_int_equal(vg_escape_for("text/plain"), VG_ESCAPE_TEXT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_documented_example_parses_and_says_who_is_on_duty,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(weekly_spans_in_local_time, setup, teardown),
        cmocka_unit_test(refuses_what_the_broker_could_not_rely_on),
        cmocka_unit_test(templates_escape_for_their_content_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
