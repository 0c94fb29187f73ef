/*
 * test_gateway_openapi.c — docs/openapi.yaml against the running gateway:
 * tests/gateway/openapi_check.py calls every operation of the document on
 * two agencies' gateways (police sent an alert to licensing; licensing has
 * an officer for the session routes) and holds each answer's status,
 * content type and body against what the document says.
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
#include "itest.h"

static void
test_openapi_document_matches_the_server(void **state)
{
    (void)state;
    bh_broker *b = bh_new(NULL);
    bh_start(b);
    gh_gateway *police = gh_new(b, "police", NULL);
    gh_gateway *lic = gh_new(b, "licensing", NULL);
    assert_int_equal(gh_officer_add(lic, "PC Ahmed", "duty", "a long enough password"), 0);
    gh_start(police);
    gh_start(lic);
    const char body[] = "{\"severity\":\"high\",\"categories\":[\"other\"],\"to\":[\"licensing\"],"
                        "\"headline\":\"for the OpenAPI check\"}";
    gh_resp r;
    gh_http(&r, police, "POST", "/v1/alerts", police->token, "application/json", body, strlen(body),
            NULL);
    assert_int_equal(r.status, 201);
    json_t *doc = gh_json(&r);
    char id[33];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(doc, "id")));
    json_decref(doc);
    gh_resp_fini(&r);
    assert_true(gh_wait_state(police, id, "licensing", "delivered", 10000));
    char *cap = it_path(VG_CAP_DIR, "thunderstorm.cap");
    it_run run;
    it_exec_in(&run, "/usr/bin", "python3",
               (const char *const[]){VG_GW_TEST_DIR "/openapi_check.py", VG_OPENAPI, police->url,
                                     police->token, lic->url, lic->token, id, cap, "PC Ahmed",
                                     "a long enough password", NULL});
    if (run.status != 0) {
        fail_msg("openapi_check.py (%d):\n%s%s", run.status, run.out, run.err);
    }
    print_message("%s", run.out);
    it_run_fini(&run);
    free(cap);
    gh_stop(police);
    gh_stop(lic);
    bh_pass(b);
    bh_destroy(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openapi_document_matches_the_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
