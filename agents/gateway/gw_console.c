/*
 * gw_console.c — the web console's side of the gateway: its files at
 * /console/, and its officers' sessions at /v1/session.
 *
 *   POST   /v1/session            log in: {"name": ..., "password": ...}
 *   GET    /v1/session            who is logged in (or SSO through a trusted proxy)
 *   DELETE /v1/session            log out (CSRF)
 *   POST   /v1/session/keepalive  the officer is still there (CSRF)
 *
 * The session cookie is HttpOnly, SameSite=Strict and Path=/; Secure (and
 * named __Host-vigil_session) when the gateway serves HTTPS or
 * [gateway] secure_cookie says TLS ends at a proxy. Without either, a
 * browser would keep a Secure cookie from plain HTTP only for localhost,
 * and the password would cross the network in clear: sessions are then
 * made only for clients on the loopback interface (403 tls_required to
 * anyone else).
 *
 * Cross-site requests: the cookie is SameSite=Strict, so another site's
 * page cannot send it; every request that changes something must also
 * carry the session's CSRF token (X-CSRF-Token), which only the console's
 * own page can read; and a request a browser marks Sec-Fetch-Site:
 * cross-site or same-site is refused outright.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <jansson.h>
#include <sodium.h>

#include "gateway.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/util.h"

#define S_COOKIE_SECURE "__Host-vigil_session" /* over TLS: the prefix pins Path=/ and Secure */
#define S_COOKIE_PLAIN "vigil_session"         /* over plain HTTP on loopback */
#define S_ADDR_MAX 64                          /* a numeric IPv6 address and more */

/* ---- the files ------------------------------------------------------------------------------ */

void
gw_console_start(gw_gateway *g)
{
    g->console_error[0] = '\0';
    if (!g->gc->console) {
        snprintf(g->console_error, sizeof g->console_error,
                 "the console is off ([gateway] "
                 "console = off)");
        return;
    }
    char dir[1100];
    vg_reason why = {{0}};
    vg_err rc = VG_OK;
    if (g->gc->console_dir != NULL) {
        snprintf(dir, sizeof dir, "%s", g->gc->console_dir);
    } else {
        rc = gw_static_default_dir(dir, sizeof dir, &why);
    }
    rc = rc == VG_OK ? gw_static_load(&g->files, dir, &why) : rc;
    if (rc != VG_OK) {
        snprintf(g->console_error, sizeof g->console_error, "%s", why.text);
        vg_log(VG_LOG_WARN, "gateway", "console.missing", "dir=%s code=%s reason=\"%s\"", dir,
               vg_err_code(rc), why.text);
        return;
    }
    vg_log(VG_LOG_INFO, "gateway", "console.ready", "dir=%s files=%zu", dir,
           gw_static_count(g->files));
}

enum MHD_Result
gw_handle_static(gw_req *r)
{
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        const char *const h[] = {"Allow", "GET, HEAD", NULL};
        return gw_problem_with(r, 405, "method_not_allowed", NULL, "use the methods in Allow",
                               "method", "GET, HEAD", h);
    }
    if (!r->g->gc->console) {
        return gw_problem(r, 404, "not_found", NULL, "no such resource (the console is off)", NULL,
                          NULL);
    }
    if (strcmp(r->path, "/") == 0 || strcmp(r->path, "/console") == 0) {
        const char *const h[] = {"Location", "/console/", NULL};
        return gw_reply(r, strcmp(r->path, "/") == 0 ? 302 : 301, "text/plain; charset=utf-8", NULL,
                        0, h);
    }
    if (r->g->files == NULL) {
        return gw_problem(r, 503, "console_not_installed", NULL, r->g->console_error, NULL, NULL);
    }
    const char *rel = r->path + strlen("/console/");
    const gw_static_file *f = gw_static_find(r->g->files, rel[0] ? rel : "index.html");
    if (f == NULL) {
        return gw_problem(r, 404, "not_found", NULL, "no such file in the console", NULL, NULL);
    }
    const char *inm = gw_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
    bool same = inm != NULL && strcmp(inm, f->etag) == 0;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        same ? 0 : f->len, same ? (void *)"" : (void *)f->data, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, f->ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, f->etag);
    gw_security_headers(r->g, resp);
    unsigned status = same ? 304 : 200;
    enum MHD_Result res = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    r->status = (int)status;
    return res;
}

/* ---- where a request comes from ----------------------------------------------------------------
 */

/* The client's address as text ("127.0.0.1", "::1"); "?" when unknown. */
static void
s_peer(const gw_req *r, char out[S_ADDR_MAX])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, S_ADDR_MAX, "?");
    if (ci == NULL || ci->client_addr == NULL) {
        return;
    }
    socklen_t len = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                           : sizeof(struct sockaddr_in);
    if (getnameinfo(ci->client_addr, len, out, S_ADDR_MAX, NULL, 0, NI_NUMERICHOST) != 0) {
        snprintf(out, S_ADDR_MAX, "?");
    }
}

static bool
s_is_loopback(const char *addr)
{
    return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
           strncmp(addr, "::ffff:127.", 11) == 0;
}

/* Sessions need a transport that keeps the cookie and the password private. */
static bool
s_secure(const gw_gateway *g)
{
    return g->tls || g->gc->secure_cookie;
}

static bool
s_transport_ok(const gw_req *r, const char *addr)
{
    return s_secure(r->g) || s_is_loopback(addr);
}

/* False for what a browser says another site sent (Sec-Fetch-Site). */
static bool
s_same_origin(const gw_req *r)
{
    const char *site = gw_header(r, "Sec-Fetch-Site");
    return site == NULL || strcmp(site, "same-origin") == 0 || strcmp(site, "none") == 0;
}

/* Text from a client for one log value: quotes, backslashes and control
 * characters become '?'. */
static void
s_log_text(char *out, size_t out_len, const char *in)
{
    size_t i = 0;
    for (; in != NULL && in[i] != '\0' && i + 1 < out_len; i++) {
        unsigned char c = (unsigned char)in[i];
        out[i] = c < 0x20 || c == 0x7f || c == '"' || c == '\\' ? '?' : (char)c;
    }
    out[i] = '\0';
}

/* ---- cookies --------------------------------------------------------------------------------- */

static const char *
s_cookie_name(const gw_gateway *g)
{
    return s_secure(g) ? S_COOKIE_SECURE : S_COOKIE_PLAIN;
}

/* The Set-Cookie value for id (NULL: one that removes the cookie). */
static void
s_set_cookie(const gw_gateway *g, char *out, size_t out_len, const char *id)
{
    snprintf(out, out_len, "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
             s_cookie_name(g), id ? id : "", id ? (long long)(g->gc->session_max_ms / 1000) : 0LL,
             s_secure(g) ? "; Secure" : "");
}

/* The session key of the request's cookie; false when it has none. */
static bool
s_cookie_key(const gw_req *r, uint8_t key[GW_SESSION_KEY_LEN])
{
    const char *id = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, s_cookie_name(r->g));
    if (id == NULL) {
        return false;
    }
    size_t len = strlen(id);
    if (len != GW_SESSION_ID_LEN) {
        memset(key, 0, GW_SESSION_KEY_LEN); /* matches no session, costs the same */
    }
    gw_session_key(key, id, len);
    return true;
}

bool
gw_console_has_cookie(const gw_req *r)
{
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, s_cookie_name(r->g)) != NULL;
}

/* ---- the session of a request ------------------------------------------------------------------
 */

typedef struct s_auth {
    gw_session_state state; /* what the table said */
    bool account_changed;   /* the officer was removed, or their account changed */
    bool had_cookie;        /* the request carried a session cookie */
} s_auth;

/* The request's session, its account checked (touching it when asked). */
static bool
s_session(gw_req *r, bool touch, gw_session *out, s_auth *a)
{
    memset(a, 0, sizeof *a);
    a->state = GW_SESSION_UNKNOWN;
    uint8_t key[GW_SESSION_KEY_LEN];
    if (!s_cookie_key(r, key)) {
        return false;
    }
    a->had_cookie = true;
    int64_t now = vg_clock_mono_ms(vg_clock_system());
    a->state = gw_sessions_check(r->g->sessions, key, now, touch, out);
    if (a->state != GW_SESSION_LIVE) {
        return false;
    }
    gw_officer who;
    if (!gw_officers_find(r->g->officers, out->officer, &who) ||
        who.generation != out->generation || who.role != out->role) {
        gw_sessions_end(r->g->sessions, key);
        a->account_changed = true;
        return false;
    }
    memcpy(r->session_key, key, sizeof key);
    return true;
}

bool
gw_console_session_alive(gw_gateway *g, const uint8_t key[GW_SESSION_KEY_LEN], char *why,
                         size_t why_len)
{
    gw_session s;
    gw_officer who;
    gw_session_state st =
        gw_sessions_check(g->sessions, key, vg_clock_mono_ms(vg_clock_system()), false, &s);
    bool alive = st == GW_SESSION_LIVE && gw_officers_find(g->officers, s.officer, &who) &&
                 who.generation == s.generation && who.role == s.role;
    if (!alive) {
        snprintf(why, why_len, "%s",
                 st == GW_SESSION_LIVE ? "account_changed" : gw_session_state_name(st));
        if (st == GW_SESSION_LIVE) {
            gw_sessions_end(g->sessions, key);
        }
    }
    sodium_memzero(&s, sizeof s);
    return alive;
}

/* The 401 for a request whose session is not live; the cookie is removed. */
static enum MHD_Result
s_no_session(gw_req *r, const s_auth *a)
{
    char cookie[160], detail[160];
    s_set_cookie(r->g, cookie, sizeof cookie, NULL);
    const char *const h[] = {"Set-Cookie", cookie, NULL};
    const char *code = "unauthorized";
    if (a->account_changed) {
        code = "session_ended";
        snprintf(detail, sizeof detail, "your account was changed or removed: log in again");
    } else if (a->state == GW_SESSION_IDLE || a->state == GW_SESSION_EXPIRED) {
        char d[32];
        vg_duration_format(d, sizeof d,
                           a->state == GW_SESSION_IDLE ? r->g->gc->session_idle_ms
                                                       : r->g->gc->session_max_ms);
        code = "session_expired";
        snprintf(detail, sizeof detail, "%s %s: log in again",
                 a->state == GW_SESSION_IDLE ? "the session was unused for"
                                             : "the session reached its limit of",
                 d);
    } else {
        snprintf(detail, sizeof detail, "%s",
                 a->had_cookie ? "no such session (ended, or not made here): log in"
                               : "log in, or send an API token: Authorization: Bearer vgt_...");
    }
    return gw_problem_with(r, 401, code, NULL, detail, "session", "log in at /console/", h);
}

/* The X-CSRF-Token of the request against the session's. */
static bool
s_csrf_ok(const gw_req *r, const gw_session *s)
{
    const char *t = gw_header(r, "X-CSRF-Token");
    return t != NULL && strlen(t) == GW_CSRF_LEN && sodium_memcmp(t, s->csrf, GW_CSRF_LEN) == 0;
}

static bool
s_changes_state(const gw_req *r)
{
    return strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0;
}

bool
gw_console_authenticate(gw_req *r, enum MHD_Result *res)
{
    gw_session s;
    s_auth a;
    if (!s_session(r, false, &s, &a)) {
        *res = s_no_session(r, &a);
        return false;
    }
    if (s_changes_state(r) && (!s_same_origin(r) || !s_csrf_ok(r, &s))) {
        *res = gw_problem(r, 403, "csrf", NULL,
                          s_same_origin(r) ? "send the session's CSRF token in X-CSRF-Token"
                                           : "this request came from another site",
                          "X-CSRF-Token", "the csrf value of GET /v1/session");
        sodium_memzero(&s, sizeof s);
        return false;
    }
    if (s_changes_state(r)) { /* an action: the officer is there */
        (void)gw_sessions_check(r->g->sessions, r->session_key, vg_clock_mono_ms(vg_clock_system()),
                                true, &s);
    }
    snprintf(r->officer, sizeof r->officer, "%s", s.officer);
    snprintf(r->token, sizeof r->token, "%s", GW_SESSION_TOKEN);
    r->role = s.role;
    r->scopes = gw_role_scopes(s.role);
    r->has_session = true;
    sodium_memzero(&s, sizeof s);
    return true;
}

/* ---- /v1/session ------------------------------------------------------------------------------
 */

/* The session's JSON: who, their role, the CSRF token, the timeouts. */
static char *
s_session_json(const gw_req *r, const gw_session *s)
{
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:b, s:s, s:I, s:I, s:I, s:I}", "officer", s->officer, "role",
                  gw_role_name(s->role), "agency", r->g->cfg->id, "sso", s->sso, "csrf", s->csrf,
                  "idle_timeout_s", (json_int_t)(r->g->gc->session_idle_ms / 1000), "idle_left_s",
                  (json_int_t)(s->idle_left_ms / 1000), "max_left_s",
                  (json_int_t)(s->max_left_ms / 1000), "login_ms", (json_int_t)s->created_wall_ms);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return text;
}

static enum MHD_Result
s_session_answer(gw_req *r, unsigned status, const gw_session *s, const char *cookie_id)
{
    char cookie[160];
    const char *const h[] = {"Set-Cookie", cookie, NULL};
    if (cookie_id != NULL) {
        s_set_cookie(r->g, cookie, sizeof cookie, cookie_id);
    }
    return gw_reply_json(r, status, s_session_json(r, s), cookie_id ? h : NULL);
}

/* Makes a session for who and answers with it (and its cookie). */
static enum MHD_Result
s_open_session(gw_req *r, const gw_officer *who, bool sso, const char *addr)
{
    char id[GW_SESSION_ID_LEN + 1];
    gw_session s;
    vg_err rc = gw_sessions_create(r->g->sessions, who, sso, vg_clock_mono_ms(vg_clock_system()),
                                   vg_clock_wall_ms(vg_clock_system()), id, &s);
    if (rc != VG_OK) {
        const char *const h[] = {"Retry-After", "60", NULL};
        return gw_problem_with(r, 503, "busy", NULL,
                               "as many officers are logged in as this gateway keeps sessions "
                               "for",
                               NULL, NULL, h);
    }
    char officer[GW_OFFICER_MAX];
    s_log_text(officer, sizeof officer, who->name);
    vg_log(VG_LOG_INFO, "gateway", sso ? "login.sso" : "login.ok", "officer=\"%s\" role=%s addr=%s",
           officer, gw_role_name(who->role), addr);
    snprintf(r->officer, sizeof r->officer, "%s", who->name);
    enum MHD_Result res = s_session_answer(r, sso ? 200 : 201, &s, id);
    sodium_memzero(id, sizeof id);
    sodium_memzero(&s, sizeof s);
    return res;
}

/* Reads {"name": ..., "password": ...}; the password is copied into pw
 * (wiped by the caller) and wiped everywhere else. */
static bool
s_login_body(gw_req *r, char *name, size_t name_len, char *pw, size_t *pw_len, enum MHD_Result *res)
{
    json_error_t jerr;
    json_t *doc = r->body ? json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (r->body != NULL) {
        sodium_memzero(r->body, r->body_len);
    }
    const char *key = NULL;
    json_t *v = NULL;
    bool ok = json_is_object(doc);
    json_object_foreach(doc, key, v)
    {
        ok = ok && json_is_string(v) && (strcmp(key, "name") == 0 || strcmp(key, "password") == 0);
    }
    json_t *jn = json_object_get(doc, "name"), *jp = json_object_get(doc, "password");
    ok = ok && json_is_string(jn) && json_is_string(jp) &&
         json_string_length(jp) <= GW_PASSWORD_MAX && json_string_length(jn) < name_len;
    if (ok) {
        snprintf(name, name_len, "%s", json_string_value(jn));
        *pw_len = json_string_length(jp);
        memcpy(pw, json_string_value(jp), *pw_len);
    }
    if (json_is_string(jp)) { /* jansson's copy of the password */
        sodium_memzero((char *)json_string_value(jp), json_string_length(jp));
    }
    json_decref(doc);
    if (!ok) {
        *res = gw_problem(r, 400, "invalid_json", NULL,
                          "send one JSON object with the officer's name and password (text)", NULL,
                          "{\"name\": \"...\", \"password\": \"...\"}");
    }
    return ok;
}

static enum MHD_Result
s_login_refused(gw_req *r, gw_login res, const char *name, const char *addr, unsigned failures,
                int64_t retry_ms)
{
    char officer[GW_OFFICER_MAX], after[24], detail[200];
    s_log_text(officer, sizeof officer, name);
    snprintf(after, sizeof after, "%lld", (long long)((retry_ms + 999) / 1000));
    const char *const h[] = {"Retry-After", after, NULL};
    char lock[32];
    vg_duration_format(lock, sizeof lock, r->g->gc->login_lockout_ms);
    if (res == GW_LOGIN_BUSY) {
        const char *const busy[] = {"Retry-After", "1", NULL};
        return gw_problem_with(r, 503, "busy", NULL, "too many logins at once; try again", NULL,
                               NULL, busy);
    }
    if (res == GW_LOGIN_LOCKED) {
        vg_log(VG_LOG_WARN, "gateway", "login.locked", "officer=\"%s\" addr=%s retry_s=%s", officer,
               addr, after);
        snprintf(detail, sizeof detail,
                 "too many wrong passwords for this name: it is locked; try again in %s s", after);
        return gw_problem_with(r, 429, "login_locked", NULL, detail, "name", NULL, h);
    }
    vg_log(VG_LOG_WARN, "gateway", "login.fail", "officer=\"%s\" addr=%s failures=%u%s", officer,
           addr, failures, retry_ms > 0 ? " locked=1" : "");
    if (retry_ms > 0) {
        snprintf(detail, sizeof detail,
                 "the name or the password is wrong; after %lld wrong passwords in a row the "
                 "name is locked for %s",
                 (long long)r->g->gc->login_failures, lock);
    } else {
        snprintf(detail, sizeof detail, "the name or the password is wrong");
    }
    return gw_problem_with(r, 401, "login_failed", NULL, detail, "password", NULL, NULL);
}

static enum MHD_Result
s_login(gw_req *r, const char *addr)
{
    gw_gateway *g = r->g;
    int64_t retry = 1;
    if (!gw_rate_take(g->login_rate, addr, vg_clock_mono_ms(vg_clock_system()), &retry)) {
        char after[24];
        snprintf(after, sizeof after, "%lld", (long long)retry);
        const char *const h[] = {"Retry-After", after, NULL};
        vg_log(VG_LOG_WARN, "gateway", "login.rate", "addr=%s", addr);
        return gw_problem_with(r, 429, "rate_limited", NULL,
                               "too many logins from this address: slow down", NULL, NULL, h);
    }
    char name[GW_OFFICER_MAX];
    char *pw = sodium_malloc(GW_PASSWORD_MAX + 1);
    size_t pw_len = 0;
    enum MHD_Result res = MHD_YES;
    if (pw == NULL) {
        return gw_problem(r, 500, "internal", NULL, "out of memory", NULL, NULL);
    }
    if (!s_login_body(r, name, sizeof name, pw, &pw_len, &res)) {
        sodium_free(pw);
        return res;
    }
    if (!gw_officer_name_is_valid(name)) {
        sodium_free(pw);
        return gw_problem(r, 400, "invalid_json", NULL,
                          "an officer's name is 1 to 63 characters of text", "name", NULL);
    }
    gw_officer who;
    unsigned failures = 0;
    int64_t retry_ms = 0;
    gw_login lr =
        gw_officers_login(g->officers, name, pw, pw_len, vg_clock_mono_ms(vg_clock_system()), &who,
                          &failures, &retry_ms);
    sodium_free(pw); /* wipes it */
    if (lr != GW_LOGIN_OK) {
        return s_login_refused(r, lr, name, addr, failures, retry_ms);
    }
    return s_open_session(r, &who, false, addr);
}

/* True when addr is one of [gateway] sso_proxy. */
static bool
s_trusted_proxy(const gw_gateway *g, const char *addr)
{
    const char *p = g->gc->sso_proxy;
    size_t n = strlen(addr);
    while (p != NULL && *p != '\0') {
        p += strspn(p, " ,");
        size_t m = strcspn(p, " ,");
        if (m == n && m > 0 && strncmp(p, addr, m) == 0) {
            return true;
        }
        p += m;
    }
    return false;
}

/* GET /v1/session without a live session: single sign-on when a trusted
 * proxy names an officer, else 401. */
static enum MHD_Result
s_whoami_sso(gw_req *r, const s_auth *a, const char *addr)
{
    const char *hdr = r->g->gc->sso_header;
    const char *named = hdr != NULL && hdr[0] != '\0' ? gw_header(r, hdr) : NULL;
    if (named == NULL) {
        return s_no_session(r, a);
    }
    char officer[GW_OFFICER_MAX];
    s_log_text(officer, sizeof officer, named);
    if (!s_trusted_proxy(r->g, addr)) {
        vg_log(VG_LOG_WARN, "gateway", "login.sso_untrusted", "addr=%s header=%s officer=\"%s\"",
               addr, hdr, officer);
        return s_no_session(r, a);
    }
    gw_officer who;
    if (!gw_officer_name_is_valid(named) || !gw_officers_find(r->g->officers, named, &who)) {
        vg_log(VG_LOG_WARN, "gateway", "login.sso_unknown", "addr=%s officer=\"%s\"", addr,
               officer);
        return gw_problem(r, 403, "unknown_officer", NULL,
                          "the sign-on names someone who is not an officer of this gateway "
                          "(vigil-gateway officer add)",
                          hdr, NULL);
    }
    return s_open_session(r, &who, true, addr);
}

static enum MHD_Result
s_logout(gw_req *r, gw_session *s)
{
    if (!s_same_origin(r) || !s_csrf_ok(r, s)) {
        return gw_problem(r, 403, "csrf", NULL, "send the session's CSRF token in X-CSRF-Token",
                          "X-CSRF-Token", "the csrf value of GET /v1/session");
    }
    gw_sessions_end(r->g->sessions, r->session_key);
    char officer[GW_OFFICER_MAX], cookie[160];
    s_log_text(officer, sizeof officer, s->officer);
    vg_log(VG_LOG_INFO, "gateway", "login.logout", "officer=\"%s\"", officer);
    s_set_cookie(r->g, cookie, sizeof cookie, NULL);
    const char *const h[] = {"Set-Cookie", cookie, NULL};
    char *text = vg_strdup("{\"ended\":true}");
    return gw_reply_json(r, 200, text, h);
}

enum MHD_Result
gw_handle_session(gw_req *r)
{
    char addr[S_ADDR_MAX];
    s_peer(r, addr);
    if (!r->g->gc->console) {
        return gw_problem(r, 404, "not_found", NULL, "no such resource (the console is off)", NULL,
                          NULL);
    }
    if (!s_transport_ok(r, addr)) {
        return gw_problem(r, 403, "tls_required", NULL,
                          "officers' sessions need HTTPS (or a client on this host): set "
                          "[gateway] tls_cert and tls_key, or secure_cookie behind a TLS proxy",
                          NULL, NULL);
    }
    if (!s_same_origin(r)) {
        return gw_problem(r, 403, "csrf", NULL, "this request came from another site", NULL, NULL);
    }
    bool login = r->route == GW_R_SESSION && strcmp(r->method, "POST") == 0;
    if (login) {
        return s_login(r, addr);
    }
    bool keepalive = r->route == GW_R_KEEPALIVE;
    gw_session s;
    s_auth a;
    if (!s_session(r, false, &s, &a)) {
        return r->route == GW_R_SESSION && strcmp(r->method, "GET") == 0 ? s_whoami_sso(r, &a, addr)
                                                                         : s_no_session(r, &a);
    }
    snprintf(r->officer, sizeof r->officer, "%s", s.officer);
    enum MHD_Result res;
    if (strcmp(r->method, "DELETE") == 0) {
        res = s_logout(r, &s);
    } else if (keepalive && !s_csrf_ok(r, &s)) {
        res = gw_problem(r, 403, "csrf", NULL, "send the session's CSRF token in X-CSRF-Token",
                         "X-CSRF-Token", "the csrf value of GET /v1/session");
    } else {
        if (keepalive) {
            (void)gw_sessions_check(r->g->sessions, r->session_key,
                                    vg_clock_mono_ms(vg_clock_system()), true, &s);
        }
        res = s_session_answer(r, 200, &s, NULL);
    }
    sodium_memzero(&s, sizeof s);
    return res;
}
