/*
 * test_gateway_tokens.c — API tokens as a client system meets them: no
 * token, a wrong one, a malformed header, a revoked one (revoked by the CLI
 * while the gateway runs) and one without the scope are refused; every
 * request is logged with the token's name and never with the token.
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
    gh_gateway *police; /* the gateway */
} fixture;

static int
s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->b = bh_new(NULL);
    bh_start(f->b);
    f->police = gh_new(f->b, "police", NULL);
    gh_start(f->police);
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

/* A request with the given Authorization value (NULL: none); its status. */
static long
s_status(const fixture *f, const char *method, const char *path, const char *authz,
         const char *expect_code, const char *expect_field)
{
    char header[160];
    const char *headers[] = {header, NULL};
    snprintf(header, sizeof header, "Authorization: %s", authz ? authz : "");
    const char body[] = "{\"severity\":\"low\",\"categories\":[\"other\"],\"to\":[\"licensing\"],"
                        "\"headline\":\"token test\"}";
    gh_resp r;
    bool post = strcmp(method, "POST") == 0;
    gh_http(&r, f->police, method, path, NULL, post ? "application/json" : NULL, post ? body : NULL,
            post ? strlen(body) : 0, authz ? headers : NULL);
    long status = r.status;
    if (expect_code != NULL) {
        json_t *doc = NULL;
        const char *code = gh_assert_problem(&r, status, &doc);
        assert_string_equal(code, expect_code);
        if (expect_field != NULL) {
            assert_string_equal(json_string_value(json_object_get(doc, "field")), expect_field);
        }
        json_decref(doc);
    }
    if (status == 401) {
        char www[128];
        assert_true(gh_resp_header(&r, "WWW-Authenticate", www, sizeof www));
        assert_non_null(strstr(www, "Bearer"));
    }
    gh_resp_fini(&r);
    return status;
}

static void
test_tokens_refused_and_never_logged(void **state)
{
    fixture *f = *state;
    char reader[GH_TOKEN_MAX], publisher[GH_TOKEN_MAX], erp[GH_TOKEN_MAX], auth[128];
    gh_token_add(f->police, "reader", "read", reader);
    gh_token_add(f->police, "publisher", "publish", publisher);
    gh_token_add(f->police, "erp", "publish,read,receipt", erp);
    /* no token, a wrong one, a malformed header */
    assert_int_equal(s_status(f, "GET", "/v1/health", NULL, "unauthorized", "Authorization"), 401);
    assert_int_equal(s_status(f, "GET", "/v1/health",
                              "Bearer vgt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                              "unauthorized", NULL),
                     401);
    snprintf(auth, sizeof auth, "Basic %s", erp);
    assert_int_equal(s_status(f, "GET", "/v1/health", auth, "unauthorized", NULL), 401);
    snprintf(auth, sizeof auth, "Bearer %.40s", erp); /* a prefix of a real one */
    assert_int_equal(s_status(f, "GET", "/v1/health", auth, "unauthorized", NULL), 401);
    /* scopes */
    snprintf(auth, sizeof auth, "Bearer %s", reader);
    assert_int_equal(s_status(f, "GET", "/v1/health", auth, NULL, NULL), 200);
    assert_int_equal(s_status(f, "POST", "/v1/alerts", auth, "forbidden", "scope"), 403);
    assert_int_equal(s_status(f, "POST", "/v1/alerts/00000000000000000000000000000000/ack", auth,
                              "forbidden", "scope"),
                     403);
    snprintf(auth, sizeof auth, "Bearer %s", publisher);
    assert_int_equal(s_status(f, "GET", "/metrics", auth, "forbidden", "scope"), 403);
    assert_int_equal(s_status(f, "POST", "/v1/alerts", auth, NULL, NULL), 201);
    /* revoked while the gateway runs: refused from the next request on */
    snprintf(auth, sizeof auth, "Bearer %s", erp);
    assert_int_equal(s_status(f, "GET", "/v1/health", auth, NULL, NULL), 200);
    char *out = NULL;
    assert_int_equal(gh_cli(f->police, &out, (const char *const[]){"token", "revoke", "erp", NULL}),
                     0);
    free(out);
    assert_int_equal(s_status(f, "GET", "/v1/health", auth, "unauthorized", NULL), 401);
    assert_int_equal(gh_cli(f->police, &out, (const char *const[]){"token", "revoke", "erp", NULL}),
                     1);
    free(out);
    /* token list: names, never tokens */
    assert_int_equal(gh_cli(f->police, &out, (const char *const[]){"token", "list", NULL}), 0);
    assert_non_null(strstr(out, "reader"));
    assert_non_null(strstr(out, "REVOKED"));
    assert_null(strstr(out, "vgt_"));
    free(out);
    /* the log names the tokens and never holds one */
    char *log = gh_log(f->police);
    const char *secrets[] = {reader, publisher, erp, f->police->token};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        assert_null(strstr(log, secrets[i]));
        char prefix[20];
        snprintf(prefix, sizeof prefix, "%.16s", secrets[i] + 4);
        assert_null(strstr(log, prefix));
    }
    assert_null(strstr(log, "vgt_"));
    free(log);
    assert_true(gh_log_count(f->police, "http.request", "token=reader") >= 3);
    assert_true(gh_log_count(f->police, "http.request", "token=publisher") >= 2);
    assert_true(gh_log_count(f->police, "http.request", "token=!missing") >= 1);
    assert_true(gh_log_count(f->police, "http.request", "token=!refused") >= 4);
    gh_stop(f->police); /* a clean stop: ASan/LSan would fail it */
    bh_pass(f->b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tokens_refused_and_never_logged, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
