/*
 * test_gateway_hostile.c — every invalid and hostile body POSTed to
 * /v1/alerts is refused with an RFC 9457 problem naming the reason and the
 * field; nothing reaches the broker (its store holds no alert and its log no
 * rejected envelope); no outbound connection is attempted (the external
 * entities and DTDs point at a listening trap that counts connections).
 */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_harness.h"

typedef struct fixture {
    bh_broker *b;       /* broker and network */
    gh_gateway *police; /* the gateway under attack */
    gh_trap *trap;      /* what no document may reach */
} fixture;

static int
s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->b = bh_new(NULL);
    bh_start(f->b);
    f->police = gh_new(f->b, "police", (const char *const[]){"max_body=65536", NULL});
    gh_start(f->police);
    f->trap = gh_trap_open(f->b);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture *f = *state;
    bh_destroy(&f->b);
    free(f);
    return 0;
}

static char *
s_subst(const char *text, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    for (const char *p = strstr(text, from); p; p = strstr(p + fl, from)) {
        n++;
    }
    char *out = malloc(strlen(text) + n * tl + 1), *w = out;
    for (const char *p = text;;) {
        const char *q = strstr(p, from);
        if (q == NULL) {
            strcpy(w, p);
            return out;
        }
        memcpy(w, p, (size_t)(q - p));
        w += q - p;
        memcpy(w, to, tl);
        w += tl;
        p = q + fl;
    }
}

/* POSTs body; asserts the status, the problem's code and field. */
static void
s_refused(const fixture *f, const char *what, const char *ctype, const char *body, size_t len,
          long status, const char *code, const char *field, const char *const *headers)
{
    gh_resp r;
    gh_http(&r, f->police, "POST", "/v1/alerts?to=licensing&category=other", f->police->token,
            ctype, body, len, headers);
    json_t *doc = NULL;
    if (r.status != status) {
        fail_msg("%s: %ld, expected %ld: %.500s", what, r.status, status, r.body);
    }
    const char *got = gh_assert_problem(&r, status, &doc);
    if (got == NULL || strcmp(got, code) != 0) {
        fail_msg("%s: code %s, expected %s: %s", what, got, code, r.body);
    }
    const char *got_field = json_string_value(json_object_get(doc, "field"));
    if (field != NULL && (got_field == NULL || strcmp(got_field, field) != 0)) {
        fail_msg("%s: field %s, expected %s: %s", what, got_field, field, r.body);
    }
    json_decref(doc);
    gh_resp_fini(&r);
}

static void
s_refused_cap(const fixture *f, const char *what, const char *body, long status, const char *code,
              const char *field)
{
    s_refused(f, what, "application/cap+xml", body, strlen(body), status, code, field, NULL);
}

static const char s_laughs[] =
    "<?xml version=\"1.0\"?>\n<!DOCTYPE alert [\n <!ENTITY lol \"lol\">\n"
    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
    " <!ENTITY % ext SYSTEM \"http://TRAP/dtd\">\n %ext;\n]>\n"
    "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>&lol9;</identifier>"
    "</alert>\n";

static void
test_hostile_and_invalid_cap(void **state)
{
    fixture *f = *state;
    int64_t before = bh_store_count_alerts(f->b);
    char trap[32];
    snprintf(trap, sizeof trap, "127.0.0.1:%d", f->trap->port);
    char *xee = gh_cap_file("xee.cap", NULL);
    char *xee_trap = s_subst(xee, "localhost:8080", trap);
    char *laughs = s_subst(s_laughs, "TRAP", trap);
    char *invalid = gh_cap_file("invalid.cap", NULL);
    char *canada = gh_cap_file("canada_errors.cap", NULL);
    char *edxl = gh_cap_file("bushfire_valid.edxlde", NULL);
    char *thunder = gh_cap_file("thunderstorm.cap", NULL);
    char *unknown_sev =
        s_subst(thunder, "<severity>Severe</severity>", "<severity>Unknown</severity>");
    char *two_lang = s_subst(thunder, " </info>",
                             "</info><info><language>es-US</language><category>Met</category>"
                             "<event>TORMENTA</event><urgency>Immediate</urgency><severity>Severe"
                             "</severity><certainty>Observed</certainty><headline>AVISO"
                             "</headline></info>");
    s_refused_cap(f, "xee.cap", xee, 400, "invalid_cap", "DOCTYPE");
    s_refused_cap(f, "xee.cap at the trap", xee_trap, 400, "invalid_cap", "DOCTYPE");
    s_refused_cap(f, "billion laughs", laughs, 400, "invalid_cap", "DOCTYPE");
    s_refused_cap(f, "invalid.cap", invalid, 400, "invalid_cap", "alert/scope");
    s_refused_cap(f, "canada_errors.cap", canada, 400, "invalid_cap", "alert/references");
    s_refused_cap(f, "an EDXL-DE envelope", edxl, 400, "invalid_cap", NULL); /* too deep for CAP */
    s_refused_cap(f, "not XML", "<alert", 400, "invalid_cap", NULL);
    s_refused_cap(f, "severity Unknown", unknown_sev, 422, "cap_not_carried",
                  "alert/info[1]/severity");
    s_refused_cap(f, "two languages", two_lang, 422, "cap_not_carried", "alert/info[2]/language");
    assert_int_equal(gh_trap_connections(f->trap, 500), 0); /* nothing was fetched */
    free(xee);
    free(xee_trap);
    free(laughs);
    free(invalid);
    free(canada);
    free(edxl);
    free(thunder);
    free(unknown_sev);
    free(two_lang);
    assert_int_equal(bh_store_count_alerts(f->b), before); /* nothing reached the broker */
    assert_int_equal(bh_log_count(f->b, "env.", NULL), 0);
    gh_stop(f->police); /* a clean stop: ASan/LSan would fail it */
    bh_pass(f->b);
}

static void
test_bad_json_and_limits(void **state)
{
    fixture *f = *state;
    int64_t before = bh_store_count_alerts(f->b);
    const char *j = "application/json";
    s_refused(f, "not JSON", j, "{\"severity\":", 12, 400, "invalid_alert", NULL, NULL);
    const char unknown[] = "{\"severity\":\"high\",\"categories\":[\"cse\"],\"headline\":\"h\","
                           "\"colour\":\"red\"}";
    s_refused(f, "an unknown key", j, unknown, strlen(unknown), 400, "invalid_alert", "colour",
              NULL);
    const char nohead[] = "{\"severity\":\"high\",\"categories\":[\"cse\"]}";
    s_refused(f, "no headline", j, nohead, strlen(nohead), 400, "invalid_alert", "headline", NULL);
    const char sev[] = "{\"severity\":\"dire\",\"categories\":[\"cse\"],\"headline\":\"h\"}";
    s_refused(f, "a bad severity", j, sev, strlen(sev), 400, "invalid_alert", "severity", NULL);
    const char cat[] = "{\"severity\":\"high\",\"categories\":[\"weather\"],\"headline\":\"h\"}";
    s_refused(f, "an unknown category", j, cat, strlen(cat), 422, "unknown_category", "categories",
              NULL);
    const char to[] = "{\"severity\":\"high\",\"categories\":[\"cse\"],\"headline\":\"h\","
                      "\"to\":[\"martians\"]}";
    s_refused(f, "an unknown recipient", j, to, strlen(to), 422, "unknown_recipient", "recipients",
              NULL);
    const char nul[] = "{\"severity\":\"high\"\0}";
    s_refused(f, "a NUL byte", j, nul, sizeof nul - 1, 400, "invalid_json", NULL, NULL);
    s_refused(f, "text/plain", "text/plain", "hello", 5, 415, "unsupported_media_type",
              "Content-Type", NULL);
    size_t big = 65536 + 1;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    s_refused(f, "over max_body", j, huge, big, 413, "too_large", "body", NULL);
    s_refused(f, "over max_body, chunked", j, huge, big, 413, "too_large", "body",
              (const char *const[]){"Transfer-Encoding: chunked", NULL});
    free(huge);
    assert_int_equal(bh_store_count_alerts(f->b), before);
    gh_stop(f->police); /* a clean stop: ASan/LSan would fail it */
    bh_pass(f->b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hostile_and_invalid_cap, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_json_and_limits, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
