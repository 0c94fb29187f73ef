/*
 * test_alert_json.c — vigil/alert_json.h: the JSON an agency's systems
 * exchange with vigil-agent (listen --json and --exec write it, publish
 * --json reads it). A full alert goes out and comes back the same; the
 * output is one valid line whatever the text holds; every refusal of the
 * input names the key and what is accepted, and leaves *out untouched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "vigil/alert_json.h"
#include "vigil/envelope.h"
#include "vigil/util.h"
#include "vigil/wire.h"
#include "vt.h"

/* The fields listen's output has that publish's input refuses. */
static void
s_strip_library_keys(json_t *o)
{
    json_object_del(o, "id");
    json_object_del(o, "sender");
    json_object_del(o, "sequence");
    json_object_del(o, "sent");
}

static json_t *
s_to_json(const vg_alert *a)
{
    char *text = NULL;
    assert_int_equal(vga_alert_to_json(&text, a), VG_OK);
    assert_null(strchr(text, '\n')); /* one line */
    json_error_t err;
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (o == NULL) {
        fail_msg("not JSON (%s): %s", err.text, text);
    }
    free(text);
    return o;
}

/* Parses json, expecting VG_ERR_MALFORMED with a reason containing needle;
 * *out must stay untouched. */
static void
s_refused(const char *json, const char *needle)
{
    vg_alert out;
    memset(&out, 0xA5, sizeof out);
    vg_reason why = {{0}};
    vg_err rc = vga_alert_from_json(&out, json, &why);
    if (rc != VG_ERR_MALFORMED) {
        fail_msg("%s: %s, wanted malformed (%s)", json, vg_err_code(rc), why.text);
    }
    if (strstr(why.text, needle) == NULL) {
        fail_msg("%s: reason '%s' does not say '%s'", json, why.text, needle);
    }
    unsigned char *p = (unsigned char *)&out;
    for (size_t i = 0; i < sizeof out; i++) {
        assert_int_equal(p[i], 0xA5);
    }
}

/* ---- round trip ------------------------------------------------------------------------- */

static void
every_field_goes_out_and_comes_back(void **state)
{
    (void)state;
    const char *const to[] = {"licensing", "police"};
    vg_alert sent;
    vt_alert_sample(&sent, to, 2);
    json_t *o = s_to_json(&sent);
    s_strip_library_keys(o);
    char *input = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    vg_alert got;
    vg_reason why = {{0}};
    vg_err rc = vga_alert_from_json(&got, input, &why);
    if (rc != VG_OK) {
        fail_msg("%s: %s", vg_err_code(rc), why.text);
    }
    vt_alert_assert_same(&sent, &got);
    vg_alert_fini(&got);
    free(input);
    vt_alert_fini(&sent);
}

static void
output_keys_and_forms(void **state)
{
    (void)state;
    vg_alert a;
    vt_alert_sample(&a, NULL, 0);
    memset(a.id, 0xab, sizeof a.id);
    a.sender = vg_strdup("home-office");
    a.sequence = 42;
    a.created_ms = INT64_C(1769846400123); /* 2026-01-31T08:00:00.123Z */
    json_t *o = s_to_json(&a);
    assert_string_equal(json_string_value(json_object_get(o, "id")),
                        "abababababababababababababababab");
    assert_string_equal(json_string_value(json_object_get(o, "sender")), "home-office");
    assert_int_equal(json_integer_value(json_object_get(o, "sequence")), 42);
    assert_string_equal(json_string_value(json_object_get(o, "sent")), "2026-01-31T08:00:00.123Z");
    assert_string_equal(json_string_value(json_object_get(o, "status")), "exercise");
    assert_string_equal(json_string_value(json_object_get(o, "msg_type")), "update");
    assert_string_equal(json_string_value(json_object_get(o, "severity")), "high");
    assert_true(json_is_array(json_object_get(o, "recipients"))); /* lists always there */
    assert_int_equal(json_array_size(json_object_get(o, "recipients")), 0);
    json_decref(o);
    free(a.sender);
    a.sender = NULL;
    /* text the alert does not have is left out, and so is expires */
    free(a.event);
    a.event = NULL;
    free(a.instruction);
    a.instruction = vg_strdup("");
    a.expires_ms = 0;
    o = s_to_json(&a);
    assert_null(json_object_get(o, "event"));
    assert_null(json_object_get(o, "instruction"));
    assert_null(json_object_get(o, "expires"));
    json_decref(o);
    vt_alert_fini(&a);
}

/* Bytes that are not UTF-8 become U+FFFD, one per bad byte; good UTF-8 and
 * control characters pass (escaped by JSON), so the line always parses. */
static void
bad_utf8_is_replaced(void **state)
{
    (void)state;
    vg_alert a;
    vt_alert_sample(&a, NULL, 0);
    free(a.headline);
    a.headline = vg_strdup("ok \xc3\xa9 bad \xff\xfe over \xc0\xaf cut \xe2\x82 tab\t nl\n");
    json_t *o = s_to_json(&a);
    assert_string_equal(json_string_value(json_object_get(o, "headline")),
                        "ok \xc3\xa9 bad \xef\xbf\xbd\xef\xbf\xbd over \xef\xbf\xbd\xef\xbf\xbd"
                        " cut \xef\xbf\xbd\xef\xbf\xbd tab\t nl\n");
    json_decref(o);
    vt_alert_fini(&a);
}

static void
null_arguments(void **state)
{
    (void)state;
    char *out = (char *)"untouched";
    assert_int_equal(vga_alert_to_json(&out, NULL), VG_ERR_INVALID);
    assert_string_equal(out, "untouched");
    vg_alert a;
    assert_int_equal(vga_alert_from_json(&a, NULL, NULL), VG_ERR_INVALID);
    assert_int_equal(vga_alert_from_json(NULL, "{}", NULL), VG_ERR_INVALID);
}

/* ---- input ------------------------------------------------------------------------------ */

#define T_MIN_OK "\"severity\":\"high\",\"categories\":[\"taxi\"],\"headline\":\"h\""

static void
minimal_input_and_defaults(void **state)
{
    (void)state;
    vg_alert a;
    vg_reason why = {{0}};
    assert_int_equal(vga_alert_from_json(&a, "{" T_MIN_OK "}", &why), VG_OK);
    assert_int_equal(a.severity, VG_SEV_HIGH);
    assert_string_equal(a.headline, "h");
    assert_int_equal(a.categories.n, 1);
    assert_int_equal(a.recipients.n, 0);
    assert_int_equal(a.expires_ms, 0);
    json_t *o = s_to_json(&a); /* unspecified is written as its default: input again */
    assert_string_equal(json_string_value(json_object_get(o, "status")), "actual");
    assert_string_equal(json_string_value(json_object_get(o, "msg_type")), "alert");
    assert_string_equal(json_string_value(json_object_get(o, "urgency")), "unknown");
    assert_string_equal(json_string_value(json_object_get(o, "certainty")), "unknown");
    assert_string_equal(json_string_value(json_object_get(o, "language")), "en-GB");
    json_decref(o);
    vg_alert_fini(&a);
    /* null is absent; recipients and to are merged */
    const char *json = "{" T_MIN_OK ",\"event\":null,\"recipients\":[\"police\"],"
                       "\"to\":[\"licensing\"],\"expires\":\"2026-12-01T18:00:00+01:00\"}";
    assert_int_equal(vga_alert_from_json(&a, json, &why), VG_OK);
    assert_null(a.event);
    assert_int_equal(a.recipients.n, 2);
    assert_int_equal(a.expires_ms, INT64_C(1796144400000)); /* 17:00 UTC */
    vg_alert_fini(&a);
}

static void
required_keys(void **state)
{
    (void)state;
    s_refused("{\"categories\":[\"taxi\"],\"headline\":\"h\"}", "'severity' is required");
    s_refused("{\"severity\":\"high\",\"categories\":[\"taxi\"]}", "'headline' is required");
    s_refused("{\"severity\":\"high\",\"categories\":[\"taxi\"],\"headline\":\"\"}",
              "'headline' is required");
    s_refused("{\"severity\":\"high\",\"headline\":\"h\"}", "'categories' is required");
    s_refused("{\"severity\":\"high\",\"categories\":[],\"headline\":\"h\"}",
              "'categories' is required");
}

static void
keys_the_library_sets_are_refused(void **state)
{
    (void)state;
    const char *keys[] = {"id", "sender", "sequence", "sent"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char json[256];
        snprintf(json, sizeof json, "{" T_MIN_OK ",\"%s\":\"x\"}", keys[i]);
        char want[64];
        snprintf(want, sizeof want, "'%s' is set by the agent", keys[i]);
        s_refused(json, want);
    }
}

static void
bad_input_is_named(void **state)
{
    (void)state;
    s_refused("{" T_MIN_OK ",\"colour\":\"red\"}", "unknown key 'colour': accepted keys are");
    s_refused("{" T_MIN_OK ",\"headline\":\"again\"}", "not valid JSON");
    s_refused("[" T_MIN_OK "]", "not valid JSON");
    s_refused("[1]", "one JSON object");
    s_refused("{" T_MIN_OK ",", "not valid JSON: line 1");
    s_refused("", "not valid JSON");
    s_refused("{\"severity\":\"urgent\",\"categories\":[\"taxi\"],\"headline\":\"h\"}", "severity");
    s_refused("{\"severity\":7,\"categories\":[\"taxi\"],\"headline\":\"h\"}", "severity");
    s_refused("{" T_MIN_OK ",\"status\":\"drill\"}", "status");
    s_refused("{\"severity\":\"high\",\"categories\":\"taxi\",\"headline\":\"h\"}", "categories");
    s_refused("{\"severity\":\"high\",\"categories\":[1],\"headline\":\"h\"}", "categories");
    s_refused("{\"severity\":\"high\",\"categories\":[\"taxi\"],\"headline\":[\"h\"]}", "headline");
    s_refused("{" T_MIN_OK ",\"references\":[\"abc\"]}", "alert id (32 hex characters)");
    s_refused("{" T_MIN_OK ",\"areas\":[{\"desc\":\"x\",\"colour\":1}]}", "colour");
    s_refused("{" T_MIN_OK ",\"subjects\":[{\"scheme\":\"x\"}]}", "subjects");
    s_refused("{" T_MIN_OK ",\"expires\":\"tomorrow\"}", "'expires': 'tomorrow' is not a time");
    s_refused("{" T_MIN_OK ",\"expires\":\"2026-12-01\"}", "date without a time of day");
    s_refused("{" T_MIN_OK ",\"expires\":\"2026-02-29T00:00:00Z\"}", "there is no day");
    s_refused("{" T_MIN_OK ",\"expires\":\"1969-12-31T23:59:59Z\"}", "after 1970");
    s_refused("{" T_MIN_OK ",\"expires\":12}", "expires");
}

static void
too_large_is_refused_before_parsing(void **state)
{
    (void)state;
    size_t len = VGA_ALERT_JSON_MAX_BYTES + 2;
    char *json = malloc(len);
    assert_non_null(json);
    memset(json, ' ', len - 1);
    json[len - 1] = '\0';
    vg_alert a;
    vg_reason why = {{0}};
    assert_int_equal(vga_alert_from_json(&a, json, &why), VG_ERR_TOO_LARGE);
    free(json);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_field_goes_out_and_comes_back),
        cmocka_unit_test(output_keys_and_forms),
        cmocka_unit_test(bad_utf8_is_replaced),
        cmocka_unit_test(null_arguments),
        cmocka_unit_test(minimal_input_and_defaults),
        cmocka_unit_test(required_keys),
        cmocka_unit_test(keys_the_library_sets_are_refused),
        cmocka_unit_test(bad_input_is_named),
        cmocka_unit_test(too_large_is_refused_before_parsing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
