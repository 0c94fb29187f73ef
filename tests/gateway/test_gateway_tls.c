/*
 * test_gateway_tls.c — HTTPS through libmicrohttpd's GnuTLS, and the
 * optional client-certificate authentication: with [gateway] tls_cert,
 * tls_key and client_ca, a request needs both a client certificate the CA
 * signed and a token. An officer's session over HTTPS gets a Secure
 * __Host- cookie and HSTS. The certificates are made for the test by
 * openssl.
 */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gw_harness.h"
#include "itest.h"

static void
s_openssl(const char *dir, const char *const *args)
{
    const char *argv[32];
    size_t n = 0;
    for (; args[n] != NULL && n < 31; n++) {
        argv[n] = args[n];
    }
    argv[n] = NULL;
    it_run r;
    char *cwd = getcwd(NULL, 0);
    assert_int_equal(chdir(dir), 0);
    it_exec_in(&r, "/usr/bin", "openssl", argv);
    assert_int_equal(chdir(cwd), 0);
    free(cwd);
    it_assert_ok(&r);
    it_run_fini(&r);
}

/* NAME.key and NAME.pem, signed by ca (or self-signed when ca is NULL). */
static void
s_cert(const char *dir, const char *name, const char *cn, const char *ca, const char *san)
{
    char key[64], pem[64], csr[64], subj[96], ext[64];
    snprintf(key, sizeof key, "%s.key", name);
    snprintf(pem, sizeof pem, "%s.pem", name);
    snprintf(csr, sizeof csr, "%s.csr", name);
    snprintf(subj, sizeof subj, "/CN=%s", cn);
    snprintf(ext, sizeof ext, "%s.ext", name);
    if (ca == NULL) {
        s_openssl(dir, (const char *const[]){"req", "-x509", "-newkey", "ec", "-pkeyopt",
                                             "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                                             "-out", pem, "-days", "2", "-subj", subj, NULL});
        return;
    }
    char *extpath = it_path(dir, ext);
    FILE *f = fopen(extpath, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", san ? san : "basicConstraints=CA:FALSE");
    fclose(f);
    free(extpath);
    char cakey[64];
    snprintf(cakey, sizeof cakey, "%.*s.key", (int)(strlen(ca) - 4), ca);
    s_openssl(dir,
              (const char *const[]){"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                                    "-nodes", "-keyout", key, "-out", csr, "-subj", subj, NULL});
    s_openssl(dir, (const char *const[]){"x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey,
                                         "-CAcreateserial", "-out", pem, "-days", "2", "-extfile",
                                         ext, NULL});
}

static void
test_https_with_client_certificates(void **state)
{
    (void)state;
    bh_broker *b = bh_new(NULL);
    bh_start(b);
    char *dir = it_path(b->tmp, "tls");
    assert_int_equal(mkdir(dir, 0700), 0);
    s_cert(dir, "ca", "vigil test CA", NULL, NULL);
    s_cert(dir, "server", "127.0.0.1", "ca.pem", "subjectAltName=IP:127.0.0.1");
    s_cert(dir, "client", "case-system", "ca.pem", NULL);
    s_cert(dir, "rogue", "case-system", NULL, NULL);
    char *server_key = it_path(dir, "server.key");
    assert_int_equal(chmod(server_key, 0600), 0);
    char *server_pem = it_path(dir, "server.pem"), *ca = it_path(dir, "ca.pem");
    char *client_pem = it_path(dir, "client.pem"), *client_key = it_path(dir, "client.key");
    char *rogue_pem = it_path(dir, "rogue.pem"), *rogue_key = it_path(dir, "rogue.key");
    char set_cert[600], set_key[600], set_ca[600];
    snprintf(set_cert, sizeof set_cert, "tls_cert=%s", server_pem);
    snprintf(set_key, sizeof set_key, "tls_key=%s", server_key);
    snprintf(set_ca, sizeof set_ca, "client_ca=%s", ca);
    gh_gateway *g = gh_new(b, "police", (const char *const[]){set_cert, set_key, set_ca, NULL});
    assert_int_equal(gh_officer_add(g, "PC Ahmed", "duty", "a long enough password"), 0);
    gh_tls_client(ca, client_pem, client_key);
    gh_start(g);
    assert_int_equal(strncmp(g->url, "https://127.0.0.1:", 18), 0);
    /* a client certificate the CA signed, and a token */
    gh_resp r;
    gh_http(&r, g, "GET", "/v1/health", g->token, NULL, NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    gh_resp_fini(&r);
    const char body[] = "{\"severity\":\"low\",\"categories\":[\"other\"],\"to\":[\"licensing\"],"
                        "\"headline\":\"over HTTPS\"}";
    gh_http(&r, g, "POST", "/v1/alerts", g->token, "application/json", body, strlen(body), NULL);
    assert_int_equal(r.status, 201);
    gh_resp_fini(&r);
    /* an officer's session over HTTPS: a Secure, __Host- cookie, and HSTS */
    const char login[] = "{\"name\":\"PC Ahmed\",\"password\":\"a long enough password\"}";
    gh_http(&r, g, "POST", "/v1/session", NULL, "application/json", login, strlen(login), NULL);
    assert_int_equal(r.status, 201);
    char cookie[256], hsts[64];
    assert_true(gh_resp_header(&r, "Set-Cookie", cookie, sizeof cookie));
    assert_int_equal(strncmp(cookie, "__Host-vigil_session=", 21), 0);
    assert_non_null(strstr(cookie, "; Secure"));
    assert_non_null(strstr(cookie, "HttpOnly"));
    assert_true(gh_resp_header(&r, "Strict-Transport-Security", hsts, sizeof hsts));
    gh_resp_fini(&r);
    /* the certificate without the token */
    gh_http(&r, g, "GET", "/v1/health", NULL, NULL, NULL, 0, NULL);
    assert_int_equal(r.status, 401);
    gh_resp_fini(&r);
    /* the token without a certificate, or with one the CA did not sign */
    json_t *doc = NULL;
    gh_tls_client(ca, NULL, NULL);
    gh_http(&r, g, "GET", "/v1/health", g->token, NULL, NULL, 0, NULL);
    assert_string_equal(gh_assert_problem(&r, 401, &doc), "client_certificate");
    json_decref(doc);
    gh_resp_fini(&r);
    gh_tls_client(ca, rogue_pem, rogue_key);
    gh_http(&r, g, "GET", "/v1/health", g->token, NULL, NULL, 0, NULL);
    assert_string_equal(gh_assert_problem(&r, 401, &doc), "client_certificate");
    json_decref(doc);
    gh_resp_fini(&r);
    /* plain HTTP on the HTTPS port gets no answer */
    gh_gateway plain = *g;
    snprintf(plain.url, sizeof plain.url, "http://%s", g->url + 8);
    gh_http(&r, &plain, "GET", "/v1/health", g->token, NULL, NULL, 0, NULL);
    assert_true(r.status == 0 || r.status == 400);
    gh_resp_fini(&r);
    gh_tls_client(NULL, NULL, NULL);
    free(server_key);
    free(server_pem);
    free(ca);
    free(client_pem);
    free(client_key);
    free(rogue_pem);
    free(rogue_key);
    free(dir);
    gh_stop(g);
    bh_pass(b);
    bh_destroy(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_https_with_client_certificates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
