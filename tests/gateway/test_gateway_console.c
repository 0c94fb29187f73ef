/*
 * test_gateway_console.c — the web console's officers and sessions as an
 * attacker and an officer meet them, against the real gateway and broker:
 *
 *   officers are made by the CLI with the password on stdin, kept as
 *   Argon2id hashes (never the password), listed without them;
 *   a login makes an HttpOnly, SameSite=Strict cookie (no Secure over plain
 *   HTTP to 127.0.0.1) and a CSRF token; wrong passwords are refused, and
 *   after login_failures in a row the name is locked (429) — even for the
 *   right password; a request that changes something without the CSRF
 *   token, with a wrong one, or marked cross-site is refused; a viewer
 *   cannot act; a session unused for session_idle has ended; a forged or
 *   malformed cookie is refused; logout ends the session; removing an
 *   officer ends their sessions; the officer on a receipt is the session's
 *   (a name in the body is refused); SSO through a trusted proxy's header,
 *   off by default;
 *   every response carries the security headers (a strict CSP, nosniff,
 *   no referrer, no framing); the console's HTML has no inline script or
 *   style; only its own files are served;
 *   the event stream of a session carries heartbeats and ends with the
 *   session; nothing secret is logged.
 */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <pthread.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <sqlite3.h>

#include "gw_harness.h"

#define S_PASSWORD "correct horse battery staple"
#define S_VIEWER_PASSWORD "viewer's own passphrase"

typedef struct fixture {
    bh_broker *b;       /* broker and network */
    gh_gateway *lic;    /* licensing's gateway: officers log in here */
    gh_gateway *police; /* police's gateway: publishes to licensing */
} fixture;

typedef struct s_sess {
    char cookie[160];     /* "vigil_session=..." */
    char csrf[64];        /* the session's CSRF token */
    char set_cookie[256]; /* the Set-Cookie header as sent */
} s_sess;

static int
s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->b = bh_new(NULL);
    bh_start(f->b);
    f->lic = gh_new(f->b, "licensing",
                    (const char *const[]){"login_failures=3", "login_lockout=1m",
                                          "sso_header=X-Remote-User", NULL});
    f->police = gh_new(f->b, "police", NULL);
    assert_int_equal(gh_officer_add(f->lic, "Lic Duty", "duty", S_PASSWORD), 0);
    assert_int_equal(gh_officer_add(f->lic, "Lic Viewer", "viewer", S_VIEWER_PASSWORD), 0);
    gh_start(f->lic);
    gh_start(f->police);
    *state = f;
    return 0;
}

/* Both gateways stop cleanly (under ASan/LSan: nothing leaked), and the
 * test passes. */
static void
s_pass(fixture *f)
{
    gh_stop(f->lic);
    gh_stop(f->police);
    bh_pass(f->b);
}

static int
s_teardown(void **state)
{
    fixture *f = *state;
    bh_destroy(&f->b);
    free(f);
    return 0;
}

/* POST /v1/session; on 201 *s gets the cookie and CSRF token. The status. */
static long
s_login(gh_gateway *g, const char *name, const char *password, s_sess *s, gh_resp *out)
{
    char body[512];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"password\":\"%s\"}", name, password);
    gh_resp r;
    gh_http(&r, g, "POST", "/v1/session", NULL, "application/json", body, strlen(body), NULL);
    long status = r.status;
    if (status == 201 && s != NULL) {
        assert_true(gh_resp_header(&r, "Set-Cookie", s->set_cookie, sizeof s->set_cookie));
        snprintf(s->cookie, sizeof s->cookie, "%.*s", (int)strcspn(s->set_cookie, ";"),
                 s->set_cookie);
        json_t *doc = gh_json(&r);
        snprintf(s->csrf, sizeof s->csrf, "%s", json_string_value(json_object_get(doc, "csrf")));
        json_decref(doc);
    }
    if (out != NULL) {
        *out = r;
    } else {
        gh_resp_fini(&r);
    }
    return status;
}

/* A request with the session's cookie; csrf: "" none, NULL the session's. */
static void
s_req(gh_resp *out, gh_gateway *g, const s_sess *s, const char *method, const char *path,
      const char *csrf, const char *body, const char *const *extra)
{
    char cookie[200], token[100];
    const char *headers[8] = {0};
    size_t n = 0;
    snprintf(cookie, sizeof cookie, "Cookie: %s", s->cookie);
    headers[n++] = cookie;
    if (csrf == NULL || csrf[0] != '\0') {
        snprintf(token, sizeof token, "X-CSRF-Token: %s", csrf ? csrf : s->csrf);
        headers[n++] = token;
    }
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 7; i++) {
        headers[n++] = extra[i];
    }
    gh_http(out, g, method, path, NULL, body ? "application/json" : NULL, body,
            body ? strlen(body) : 0, headers);
}

static const char *
s_code(gh_resp *r, long status)
{
    static char code[64];
    json_t *doc = NULL;
    snprintf(code, sizeof code, "%s", gh_assert_problem(r, status, &doc));
    json_decref(doc);
    return code;
}

/* An alert from police to licensing (taxi: licensing must acknowledge),
 * delivered to licensing; its id into idhex. */
static void
s_alert_for_licensing(fixture *f, char idhex[VG_ALERT_ID_HEX_LEN + 1])
{
    const char body[] = "{\"severity\":\"high\",\"categories\":[\"taxi\"],\"to\":[\"licensing\"],"
                        "\"headline\":\"Licence TL-0417 suspended\","
                        "\"subjects\":[{\"scheme\":\"taxi-licence\",\"value\":\"TL-0417\"}]}";
    gh_resp r;
    gh_http(&r, f->police, "POST", "/v1/alerts", f->police->token, "application/json", body,
            strlen(body), NULL);
    assert_int_equal(r.status, 201);
    json_t *doc = gh_json(&r);
    snprintf(idhex, VG_ALERT_ID_HEX_LEN + 1, "%s", json_string_value(json_object_get(doc, "id")));
    json_decref(doc);
    gh_resp_fini(&r);
    assert_true(gh_wait_state(f->lic, idhex, "licensing", "delivered", 10000));
}

/* ---- officers ------------------------------------------------------------------------------- */

static void
test_officers_are_argon2id_hashes(void **state)
{
    fixture *f = *state;
    /* passwords: never too short, never twice the same name */
    assert_int_not_equal(gh_officer_add(f->lic, "Short", "duty", "short"), 0);
    assert_int_not_equal(gh_officer_add(f->lic, "Lic Duty", "duty", S_PASSWORD), 0);
    assert_int_not_equal(gh_officer_add(f->lic, "Nobody", "admin", S_PASSWORD), 0);
    char *out = NULL;
    assert_int_equal(gh_cli(f->lic, &out, (const char *const[]){"officer", "list", NULL}), 0);
    assert_non_null(strstr(out, "Lic Duty"));
    assert_non_null(strstr(out, "viewer"));
    assert_null(strstr(out, "argon2"));
    assert_null(strstr(out, S_PASSWORD));
    free(out);
    /* gateway.db keeps Argon2id strings, not passwords (gateway-store: the
     * test reads the gateway's own database, which has no read interface) */
    char *conf_dir = vg_strdup(f->lic->conf);
    *strrchr(conf_dir, '/') = '\0';
    char path[1024];
    snprintf(path, sizeof path, "%s/store/gateway.db", conf_dir);
    free(conf_dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT pwhash FROM officers", -1, &st, NULL),
                     SQLITE_OK);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *h = (const char *)sqlite3_column_text(st, 0);
        assert_int_equal(strncmp(h, "$argon2id$v=19$m=65536,t=2,p=1$", 31), 0);
        assert_null(strstr(h, "horse"));
        n++;
    }
    assert_int_equal(n, 2);
    sqlite3_finalize(st);
    sqlite3_close(db);
    s_pass(f);
}

/* ---- logging in -------------------------------------------------------------------------------
 */

static void
test_login_sets_a_strict_cookie(void **state)
{
    fixture *f = *state;
    s_sess s;
    gh_resp r;
    assert_int_equal(s_login(f->lic, "Lic Duty", S_PASSWORD, &s, &r), 201);
    assert_non_null(strstr(s.set_cookie, "vigil_session="));
    assert_non_null(strstr(s.set_cookie, "HttpOnly"));
    assert_non_null(strstr(s.set_cookie, "SameSite=Strict"));
    assert_non_null(strstr(s.set_cookie, "Path=/"));
    assert_null(strstr(s.set_cookie, "Secure")); /* plain HTTP to 127.0.0.1: documented */
    json_t *doc = gh_json(&r);
    assert_string_equal(json_string_value(json_object_get(doc, "officer")), "Lic Duty");
    assert_string_equal(json_string_value(json_object_get(doc, "role")), "duty");
    assert_string_equal(json_string_value(json_object_get(doc, "agency")), "licensing");
    assert_int_equal(strlen(s.csrf), 43);
    json_decref(doc);
    gh_resp_fini(&r);
    /* the cookie alone reads */
    s_req(&r, f->lic, &s, "GET", "/v1/session", "", NULL, NULL);
    assert_int_equal(r.status, 200);
    gh_resp_fini(&r);
    s_req(&r, f->lic, &s, "GET", "/v1/snapshot", "", NULL, NULL);
    assert_int_equal(r.status, 200);
    doc = gh_json(&r);
    assert_true(json_is_integer(json_object_get(doc, "last_event_seq")));
    assert_true(json_is_array(json_object_get(doc, "alerts")));
    assert_true(json_array_size(json_object_get(doc, "agencies")) >= 4);
    json_decref(doc);
    gh_resp_fini(&r);
    /* the log names the officer, never the password, the cookie or the token */
    char *log = gh_log(f->lic);
    assert_null(strstr(log, "horse"));
    assert_null(strstr(log, s.cookie + strlen("vigil_session=")));
    assert_null(strstr(log, s.csrf));
    free(log);
    assert_int_equal(gh_log_count(f->lic, "login.ok", "officer=\"Lic Duty\""), 1);
    assert_true(gh_log_count(f->lic, "http.request", "officer=\"Lic Duty\"") >= 2);
    s_pass(f);
}

static void
test_wrong_passwords_lock_the_name(void **state)
{
    fixture *f = *state;
    gh_resp r;
    for (int i = 0; i < 3; i++) { /* login_failures = 3 */
        assert_int_equal(s_login(f->lic, "Lic Duty", "not the password", NULL, &r), 401);
        assert_string_equal(s_code(&r, 401), "login_failed");
        gh_resp_fini(&r);
    }
    /* locked: even the right password is refused, and it says when to try again */
    assert_int_equal(s_login(f->lic, "Lic Duty", S_PASSWORD, NULL, &r), 429);
    assert_string_equal(s_code(&r, 429), "login_locked");
    char after[16];
    assert_true(gh_resp_header(&r, "Retry-After", after, sizeof after));
    assert_true(atoi(after) > 0 && atoi(after) <= 60);
    gh_resp_fini(&r);
    /* an unknown name answers like a wrong password, and locks the same way */
    assert_int_equal(s_login(f->lic, "Nobody Here", S_PASSWORD, NULL, &r), 401);
    assert_string_equal(s_code(&r, 401), "login_failed");
    gh_resp_fini(&r);
    /* other officers are not locked */
    assert_int_equal(s_login(f->lic, "Lic Viewer", S_VIEWER_PASSWORD, NULL, NULL), 201);
    assert_int_equal(gh_log_count(f->lic, "login.fail", "officer=\"Lic Duty\""), 3);
    assert_true(gh_log_count(f->lic, "login.locked", "officer=\"Lic Duty\"") >= 1);
    s_pass(f);
}

/* One wrong login on a thread of its own: whether it was told rate_limited. */
typedef struct {
    gh_gateway *g;
    int i;
    bool limited;
} s_guess;

static void *
s_guess_run(void *arg)
{
    s_guess *q = arg;
    char body[128];
    snprintf(body, sizeof body, "{\"name\":\"Someone %d\",\"password\":\"a wrong password\"}",
             q->i);
    gh_resp r;
    gh_http(&r, q->g, "POST", "/v1/session", NULL, "application/json", body, strlen(body), NULL);
    q->limited = r.status == 429 && r.body != NULL && strstr(r.body, "rate_limited") != NULL;
    gh_resp_fini(&r);
    return NULL;
}

static void
test_logins_from_one_address_are_rate_limited(void **state)
{
    fixture *f = *state;
    /* 10 at once, then about one a second (GW_LOGIN_BURST, GW_LOGIN_RATE):
     * 14 guesses at the same time, as someone guessing would send them (one
     * after another, each wrong password's Argon2id check can take longer
     * than the bucket's refill on a loaded machine) */
    enum { N = 14 };
    s_guess q[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        q[i] = (s_guess){.g = f->lic, .i = i};
        assert_int_equal(pthread_create(&t[i], NULL, s_guess_run, &q[i]), 0);
    }
    int limited = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        limited += q[i].limited;
    }
    print_message("logins: %d of %d guesses told rate_limited\n", limited, N);
    assert_true(limited >= 2);
    s_pass(f);
}

/* ---- CSRF, roles, sessions
 * ------------------------------------------------------------------------ */

static void
test_actions_need_the_csrf_token(void **state)
{
    fixture *f = *state;
    char id[VG_ALERT_ID_HEX_LEN + 1], path[96];
    s_alert_for_licensing(f, id);
    snprintf(path, sizeof path, "/v1/alerts/%s/ack", id);
    s_sess s;
    assert_int_equal(s_login(f->lic, "Lic Duty", S_PASSWORD, &s, NULL), 201);
    gh_resp r;
    s_req(&r, f->lic, &s, "POST", path, "", "{\"note\":\"read\"}", NULL); /* none */
    assert_string_equal(s_code(&r, 403), "csrf");
    gh_resp_fini(&r);
    s_req(&r, f->lic, &s, "POST", path, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "{}", NULL);
    assert_string_equal(s_code(&r, 403), "csrf");
    gh_resp_fini(&r);
    s_req(&r, f->lic, &s, "POST", path, NULL, "{}",
          (const char *const[]){"Sec-Fetch-Site: cross-site", NULL}); /* another site's page */
    assert_string_equal(s_code(&r, 403), "csrf");
    gh_resp_fini(&r);
    /* a name in the body is refused: the officer is the one logged in */
    s_req(&r, f->lic, &s, "POST", path, NULL, "{\"officer\":\"Someone Else\"}", NULL);
    assert_string_equal(s_code(&r, 400), "invalid_json");
    gh_resp_fini(&r);
    s_req(&r, f->lic, &s, "POST", path, NULL, "{\"note\":\"Licence review opened\"}", NULL);
    assert_int_equal(r.status, 200);
    gh_resp_fini(&r);
    /* the receipt names the session's officer */
    char status_path[64];
    snprintf(status_path, sizeof status_path, "/v1/alerts/%s", id);
    gh_http(&r, f->lic, "GET", status_path, f->lic->token, NULL, NULL, 0, NULL);
    json_t *doc = gh_json(&r);
    json_t *recips = json_object_get(doc, "recipients");
    bool seen = false;
    for (size_t i = 0; i < json_array_size(recips); i++) {
        json_t *x = json_array_get(recips, i);
        if (strcmp(json_string_value(json_object_get(x, "agency")), "licensing") == 0) {
            assert_string_equal(json_string_value(json_object_get(x, "state")), "acknowledged");
            assert_string_equal(json_string_value(json_object_get(x, "officer")), "Lic Duty");
            assert_string_equal(json_string_value(json_object_get(x, "note")),
                                "Licence review opened");
            seen = true;
        }
    }
    assert_true(seen);
    json_decref(doc);
    gh_resp_fini(&r);
    /* logging out needs the token too */
    s_req(&r, f->lic, &s, "DELETE", "/v1/session", "", NULL, NULL);
    assert_string_equal(s_code(&r, 403), "csrf");
    gh_resp_fini(&r);
    s_pass(f);
}

static void
test_a_viewer_cannot_act(void **state)
{
    fixture *f = *state;
    char id[VG_ALERT_ID_HEX_LEN + 1], path[96];
    s_alert_for_licensing(f, id);
    s_sess s;
    assert_int_equal(s_login(f->lic, "Lic Viewer", S_VIEWER_PASSWORD, &s, NULL), 201);
    gh_resp r;
    const char *verbs[] = {"ack", "progress", "decline", "share"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "/v1/alerts/%s/%s", id, verbs[i]);
        s_req(&r, f->lic, &s, "POST", path, NULL, "{\"reason\":\"r\",\"to\":\"police\"}", NULL);
        json_t *doc = NULL;
        assert_string_equal(gh_assert_problem(&r, 403, &doc), "forbidden");
        assert_string_equal(json_string_value(json_object_get(doc, "field")), "role");
        json_decref(doc);
        gh_resp_fini(&r);
    }
    s_req(&r, f->lic, &s, "POST", "/v1/alerts", NULL, "{}", NULL); /* nor publish */
    assert_string_equal(s_code(&r, 403), "forbidden");
    gh_resp_fini(&r);
    snprintf(path, sizeof path, "/v1/alerts/%s/detail", id); /* but reads */
    s_req(&r, f->lic, &s, "GET", path, "", NULL, NULL);
    assert_int_equal(r.status, 200);
    json_t *doc = gh_json(&r);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(doc, "alert"), "headline")),
        "Licence TL-0417 suspended");
    json_decref(doc);
    gh_resp_fini(&r);
    s_pass(f);
}

static void
test_forged_cookies_are_refused(void **state)
{
    fixture *f = *state;
    gh_resp r;
    s_sess forged = {.cookie = "vigil_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                     .csrf = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
    s_req(&r, f->lic, &forged, "GET", "/v1/snapshot", "", NULL, NULL);
    assert_string_equal(s_code(&r, 401), "unauthorized");
    char cleared[200];
    assert_true(gh_resp_header(&r, "Set-Cookie", cleared, sizeof cleared));
    assert_non_null(strstr(cleared, "Max-Age=0"));
    gh_resp_fini(&r);
    snprintf(forged.cookie, sizeof forged.cookie, "vigil_session=short");
    s_req(&r, f->lic, &forged, "GET", "/v1/alerts", "", NULL, NULL);
    assert_string_equal(s_code(&r, 401), "unauthorized");
    gh_resp_fini(&r);
    /* a real session's cookie, one character changed */
    s_sess s;
    assert_int_equal(s_login(f->lic, "Lic Duty", S_PASSWORD, &s, NULL), 201);
    size_t last = strlen(s.cookie) - 1;
    s.cookie[last] = s.cookie[last] == 'A' ? 'B' : 'A';
    s_req(&r, f->lic, &s, "GET", "/v1/snapshot", "", NULL, NULL);
    assert_string_equal(s_code(&r, 401), "unauthorized");
    gh_resp_fini(&r);
    /* the cookie of another agency's gateway means nothing here */
    assert_int_equal(gh_officer_add(f->police, "Pol Duty", "duty", S_PASSWORD), 0);
    s_sess p;
    assert_int_equal(s_login(f->police, "Pol Duty", S_PASSWORD, &p, NULL), 201);
    s_req(&r, f->lic, &p, "GET", "/v1/snapshot", "", NULL, NULL);
    assert_string_equal(s_code(&r, 401), "unauthorized");
    gh_resp_fini(&r);
    s_pass(f);
}

static void
test_logout_and_removal_end_sessions(void **state)
{
    fixture *f = *state;
    s_sess s, v;
    gh_resp r;
    assert_int_equal(s_login(f->lic, "Lic Duty", S_PASSWORD, &s, NULL), 201);
    s_req(&r, f->lic, &s, "DELETE", "/v1/session", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    char cleared[200];
    assert_true(gh_resp_header(&r, "Set-Cookie", cleared, sizeof cleared));
    assert_non_null(strstr(cleared, "Max-Age=0"));
    gh_resp_fini(&r);
    s_req(&r, f->lic, &s, "GET", "/v1/snapshot", "", NULL, NULL);
    assert_string_equal(s_code(&r, 401), "unauthorized");
    gh_resp_fini(&r);
    /* an officer removed by the CLI: their session ends on the next request */
    assert_int_equal(s_login(f->lic, "Lic Viewer", S_VIEWER_PASSWORD, &v, NULL), 201);
    char *out = NULL;
    assert_int_equal(
        gh_cli(f->lic, &out, (const char *const[]){"officer", "remove", "Lic Viewer", NULL}), 0);
    free(out);
    s_req(&r, f->lic, &v, "GET", "/v1/snapshot", "", NULL, NULL);
    assert_string_equal(s_code(&r, 401), "session_ended");
    gh_resp_fini(&r);
    s_pass(f);
}

static void
test_an_idle_session_expires(void **state)
{
    fixture *f = *state;
    gh_gateway *cs =
        gh_new(f->b, "childrens-services", (const char *const[]){"session_idle=2s", NULL});
    assert_int_equal(gh_officer_add(cs, "CS Duty", "duty", S_PASSWORD), 0);
    gh_start(cs);
    s_sess s;
    gh_resp r;
    assert_int_equal(s_login(cs, "CS Duty", S_PASSWORD, &s, NULL), 201);
    bh_sleep_ms(1200);
    s_req(&r, cs, &s, "POST", "/v1/session/keepalive", NULL, NULL, NULL); /* the officer is there */
    assert_int_equal(r.status, 200);
    gh_resp_fini(&r);
    bh_sleep_ms(1200); /* 2.4 s after login, 1.2 s after the keepalive: still live */
    s_req(&r, cs, &s, "GET", "/v1/alerts", "", NULL, NULL);
    assert_int_equal(r.status, 200);
    gh_resp_fini(&r);
    bh_sleep_ms(2300); /* reads are not the officer: unused for 2 s, it has ended */
    s_req(&r, cs, &s, "GET", "/v1/alerts", "", NULL, NULL);
    assert_string_equal(s_code(&r, 401), "session_expired");
    gh_resp_fini(&r);
    s_req(&r, cs, &s, "GET", "/v1/alerts", "", NULL, NULL);
    assert_string_equal(s_code(&r, 401), "unauthorized");
    gh_resp_fini(&r);
    gh_stop(cs);
    s_pass(f);
}

static void
test_single_sign_on_through_a_trusted_proxy(void **state)
{
    fixture *f = *state;
    gh_resp r;
    /* off by default: police's gateway ignores the header */
    assert_int_equal(gh_officer_add(f->police, "Pol Duty", "duty", S_PASSWORD), 0);
    gh_http(&r, f->police, "GET", "/v1/session", NULL, NULL, NULL, 0,
            (const char *const[]){"X-Remote-User: Pol Duty", NULL});
    assert_string_equal(s_code(&r, 401), "unauthorized");
    gh_resp_fini(&r);
    /* licensing names X-Remote-User; the test is the proxy on 127.0.0.1 */
    gh_http(&r, f->lic, "GET", "/v1/session", NULL, NULL, NULL, 0,
            (const char *const[]){"X-Remote-User: Lic Viewer", NULL});
    assert_int_equal(r.status, 200);
    json_t *doc = gh_json(&r);
    assert_string_equal(json_string_value(json_object_get(doc, "officer")), "Lic Viewer");
    assert_true(json_is_true(json_object_get(doc, "sso")));
    json_decref(doc);
    char cookie[256];
    assert_true(gh_resp_header(&r, "Set-Cookie", cookie, sizeof cookie));
    gh_resp_fini(&r);
    gh_http(&r, f->lic, "GET", "/v1/session", NULL, NULL, NULL, 0,
            (const char *const[]){"X-Remote-User: Not An Officer", NULL});
    assert_string_equal(s_code(&r, 403), "unknown_officer");
    gh_resp_fini(&r);
    assert_int_equal(gh_log_count(f->lic, "login.sso", "officer=\"Lic Viewer\""), 1);
    s_pass(f);
}

/* ---- headers and files -------------------------------------------------------------------------
 */

static void
s_assert_security_headers(const gh_resp *r)
{
    char v[512];
    assert_true(gh_resp_header(r, "Content-Security-Policy", v, sizeof v));
    assert_non_null(strstr(v, "default-src 'none'"));
    assert_non_null(strstr(v, "script-src 'self'"));
    assert_non_null(strstr(v, "style-src 'self'"));
    assert_non_null(strstr(v, "frame-ancestors 'none'"));
    assert_null(strstr(v, "unsafe-inline"));
    assert_null(strstr(v, "unsafe-eval"));
    assert_true(gh_resp_header(r, "X-Content-Type-Options", v, sizeof v));
    assert_string_equal(v, "nosniff");
    assert_true(gh_resp_header(r, "Referrer-Policy", v, sizeof v));
    assert_string_equal(v, "no-referrer");
    assert_true(gh_resp_header(r, "X-Frame-Options", v, sizeof v));
    assert_string_equal(v, "DENY");
}

/* True when html has an inline script, style or event handler. */
static bool
s_has_inline_code(const char *html)
{
    for (const char *p = strstr(html, "<script"); p != NULL; p = strstr(p + 1, "<script")) {
        const char *end = strchr(p, '>');
        char tag[256];
        snprintf(tag, sizeof tag, "%.*s", end ? (int)(end - p) : 0, p);
        if (end == NULL || strstr(tag, "src=") == NULL) {
            return true;
        }
        if (strncmp(end + 1, "</script>", 9) != 0) {
            return true; /* a src and a body */
        }
    }
    if (strstr(html, "<style") != NULL || strstr(html, " style=") != NULL ||
        strstr(html, "javascript:") != NULL) {
        return true;
    }
    for (const char *p = strstr(html, " on"); p != NULL; p = strstr(p + 1, " on")) {
        size_t n = strspn(p + 3, "abcdefghijklmnopqrstuvwxyz");
        if (n > 0 && p[3 + n] == '=') {
            return true;
        }
    }
    return false;
}

static void
test_security_headers_and_no_inline_script(void **state)
{
    fixture *f = *state;
    gh_resp r;
    gh_http(&r, f->lic, "GET", "/console/", NULL, NULL, NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    char v[128];
    assert_true(gh_resp_header(&r, "Content-Type", v, sizeof v));
    assert_string_equal(v, "text/html; charset=utf-8");
    s_assert_security_headers(&r);
    assert_false(s_has_inline_code(r.body));
    assert_non_null(strstr(r.body, "<script type=\"module\" src=\"js/app.js\"></script>"));
    gh_resp_fini(&r);
    assert_true(s_has_inline_code("<p onclick=\"x()\">")); /* the checker itself */
    assert_true(s_has_inline_code("<script>alert(1)</script>"));
    /* the API and its errors carry them too */
    gh_http(&r, f->lic, "GET", "/v1/health", f->lic->token, NULL, NULL, 0, NULL);
    s_assert_security_headers(&r);
    gh_resp_fini(&r);
    gh_http(&r, f->lic, "GET", "/v1/health", NULL, NULL, NULL, 0, NULL);
    s_assert_security_headers(&r);
    gh_resp_fini(&r);
    /* modules and style sheets with their types */
    gh_http(&r, f->lic, "GET", "/console/js/model.js", NULL, NULL, NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    assert_true(gh_resp_header(&r, "Content-Type", v, sizeof v));
    assert_string_equal(v, "text/javascript; charset=utf-8");
    gh_resp_fini(&r);
    /* only the console's own files (curl folds "..": those reach the API,
     * which wants a token) */
    const char *refused[] = {"/console/../store/gateway.db", "/console/.stamp",
                             "/console/js/../../agent.conf", "/console/nothing.html",
                             "/console/%2e%2e/agency.key",   "/console/js/"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        gh_http(&r, f->lic, "GET", refused[i], NULL, NULL, NULL, 0, NULL);
        assert_true(r.status == 404 || r.status == 401);
        assert_non_null(strstr(r.body, "urn:vigil:problem:"));
        gh_resp_fini(&r);
    }
    gh_http(&r, f->lic, "GET", "/", NULL, NULL, NULL, 0, NULL);
    assert_int_equal(r.status, 302);
    assert_true(gh_resp_header(&r, "Location", v, sizeof v));
    assert_string_equal(v, "/console/");
    gh_resp_fini(&r);
    gh_http(&r, f->lic, "POST", "/console/", NULL, "text/plain", "x", 1, NULL);
    assert_int_equal(r.status, 405);
    gh_resp_fini(&r);
    s_pass(f);
}

/* ---- the event stream of a session -------------------------------------------------------------
 */

typedef struct s_stream {
    char buf[8192]; /* what arrived */
    size_t len;     /* bytes */
} s_stream;

static size_t
s_stream_take(char *data, size_t size, size_t n, void *ctx)
{
    s_stream *s = ctx;
    size_t k = size * n;
    size_t room = sizeof s->buf - 1 - s->len;
    memcpy(s->buf + s->len, data, k < room ? k : room);
    s->len += k < room ? k : room;
    s->buf[s->len] = '\0';
    return k;
}

/* GET path for at most ms with the session's cookie: what arrived. */
static void
s_read_stream(const gh_gateway *g, const s_sess *s, const char *path, long ms, s_stream *out)
{
    memset(out, 0, sizeof *out);
    CURL *c = curl_easy_init();
    char url[256], cookie[200];
    snprintf(url, sizeof url, "%s%s", g->url, path);
    snprintf(cookie, sizeof cookie, "Cookie: %s", s->cookie);
    struct curl_slist *h = curl_slist_append(NULL, cookie);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_stream_take);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    (void)curl_easy_perform(c); /* ends by the timeout, or when the stream ends */
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

typedef struct s_reader {
    const gh_gateway *g; /* whose stream */
    const s_sess *s;     /* with this session */
    s_stream got;        /* what arrived */
    int64_t took_ms;     /* until it ended */
} s_reader;

static void *
s_reader_run(void *arg)
{
    s_reader *rd = arg;
    int64_t t0 = bh_now_ms();
    s_read_stream(rd->g, rd->s, "/v1/events?heartbeat=1", 10000, &rd->got);
    rd->took_ms = bh_now_ms() - t0;
    return NULL;
}

static void
test_a_sessions_stream_beats_and_ends_with_it(void **state)
{
    fixture *f = *state;
    s_sess s;
    assert_int_equal(s_login(f->lic, "Lic Duty", S_PASSWORD, &s, NULL), 201);
    s_reader rd = {.g = f->lic, .s = &s};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, s_reader_run, &rd), 0);
    bh_sleep_ms(2500);
    gh_resp r;
    s_req(&r, f->lic, &s, "DELETE", "/v1/session", NULL, NULL, NULL); /* log out meanwhile */
    assert_int_equal(r.status, 200);
    gh_resp_fini(&r);
    pthread_join(t, NULL);
    /* heartbeats while it lived (a browser never sees comments) ... */
    assert_non_null(strstr(rd.got.buf, "event: heartbeat\ndata: {\"time\":"));
    assert_non_null(strstr(rd.got.buf, "\"broker_up\":true"));
    assert_non_null(strstr(rd.got.buf, "\"contact_age_ms\":"));
    /* ... then the end of the session, and of the stream, within a heartbeat */
    assert_non_null(strstr(rd.got.buf, "event: session\ndata: {\"ended\":\"unknown\"}"));
    assert_true(rd.took_ms < 6000);
    /* and a new stream with that cookie is refused */
    s_req(&r, f->lic, &s, "GET", "/v1/events?heartbeat=1", "", NULL, NULL);
    assert_string_equal(s_code(&r, 401), "unauthorized");
    gh_resp_fini(&r);
    s_pass(f);
}

int
main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_officers_are_argon2id_hashes),
        T(test_login_sets_a_strict_cookie),
        T(test_wrong_passwords_lock_the_name),
        T(test_logins_from_one_address_are_rate_limited),
        T(test_actions_need_the_csrf_token),
        T(test_a_viewer_cannot_act),
        T(test_forged_cookies_are_refused),
        T(test_logout_and_removal_end_sessions),
        T(test_an_idle_session_expires),
        T(test_single_sign_on_through_a_trusted_proxy),
        T(test_security_headers_and_no_inline_script),
        T(test_a_sessions_stream_beats_and_ends_with_it),
    };
#undef T
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
