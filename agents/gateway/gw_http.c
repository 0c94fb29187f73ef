/*
 * gw_http.c — the HTTP server: libmicrohttpd set up with the limits of
 * [gateway], and each request's way in: authentication, route, scope, rate,
 * size and type are checked as soon as the headers are in, before the body
 * is read, so a bad request costs a hash and a table lookup and never a
 * broker connection. Every request is logged once, when it completes, with
 * its token's name (never the token).
 */
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <jansson.h>
#include <sodium.h>

#include "gateway.h"
#include "gw_cap.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/util.h"

#define S_TLS_FILE_MAX (64 * 1024)
#define S_IDLE_TIMEOUT_S 60 /* an idle connection is closed after this */

/* ---- responses ------------------------------------------------------------------------ */

/* The console's page loads only its own files: no inline script or style, no
 * other origin, no plugins, no framing, no <base>, forms only to itself. */
#define S_CSP                                                                                      \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "                    \
    "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; "               \
    "frame-ancestors 'none'"

void
gw_security_headers(const gw_gateway *g, struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Content-Security-Policy", S_CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
    MHD_add_response_header(resp, "Permissions-Policy",
                            "camera=(), microphone=(), geolocation=(), payment=(), usb=()");
    if (g->tls) {
        MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
    }
}

static void
s_count_status(gw_gateway *g, unsigned status)
{
    static const unsigned codes[] = GW_HTTP_CODES;
    size_t i = 0;
    while (i < GW_N_HTTP_CODES && codes[i] != status) {
        i++;
    }
    atomic_fetch_add(&g->m.http[i], 1);
}

enum MHD_Result
gw_reply(gw_req *r, unsigned status, const char *ctype, char *body, size_t len,
         const char *const *headers)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, body ? body : (char *)"", body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    gw_security_headers(r->g, resp);
    for (size_t i = 0; headers != NULL && headers[i] != NULL && headers[i + 1] != NULL; i += 2) {
        MHD_add_response_header(resp, headers[i], headers[i + 1]);
    }
    enum MHD_Result rc = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    r->status = (int)status;
    s_count_status(r->g, status);
    return rc;
}

enum MHD_Result
gw_reply_json(gw_req *r, unsigned status, char *json, const char *const *headers)
{
    if (json == NULL) {
        return gw_problem(r, 500, "internal", "Internal error", "out of memory", NULL, NULL);
    }
    return gw_reply(r, status, "application/json", json, strlen(json), headers);
}

static const char *
s_title(unsigned status)
{
    switch (status) {
    case 400:
        return "Bad request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not found";
    case 405:
        return "Method not allowed";
    case 406:
        return "Not acceptable";
    case 409:
        return "Conflict";
    case 413:
        return "Content too large";
    case 415:
        return "Unsupported media type";
    case 422:
        return "Unprocessable content";
    case 429:
        return "Too many requests";
    case 503:
        return "Service unavailable";
    case 504:
        return "Gateway timeout";
    default:
        return "Internal error";
    }
}

enum MHD_Result
gw_problem_with(gw_req *r, unsigned status, const char *code, const char *title, const char *detail,
                const char *field, const char *accepted, const char *const *headers)
{
    char type[96];
    snprintf(type, sizeof type, "urn:vigil:problem:%s", code);
    json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "type", type, "title",
                          title ? title : s_title(status), "status", (int)status, "detail",
                          detail ? detail : "", "instance", r->path, "code", code);
    if (o != NULL && field != NULL && field[0] != '\0') {
        json_object_set_new(o, "field", json_string(field));
    }
    if (o != NULL && accepted != NULL && accepted[0] != '\0') {
        json_object_set_new(o, "accepted", json_string(accepted));
    }
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (text == NULL) {
        return MHD_NO;
    }
    return gw_reply(r, status, "application/problem+json", text, strlen(text), headers);
}

enum MHD_Result
gw_problem(gw_req *r, unsigned status, const char *code, const char *title, const char *detail,
           const char *field, const char *accepted)
{
    return gw_problem_with(r, status, code, title, detail, field, accepted, NULL);
}

enum MHD_Result
gw_problem_err(gw_req *r, vg_err err, const char *detail)
{
    unsigned status = 500;
    switch (err) {
    case VG_ERR_MALFORMED:
    case VG_ERR_INVALID:
        status = err == VG_ERR_MALFORMED ? 400 : 422;
        break;
    case VG_ERR_NOT_FOUND:
    case VG_ERR_REVOKED:
    case VG_ERR_MISSING_RECIPIENTS:
    case VG_ERR_CLOCK_SKEW:
    case VG_ERR_STALE_VERSION:
    case VG_ERR_POLICY:
    case VG_ERR_QUOTA_EXCEEDED:
        status = 422;
        break;
    case VG_ERR_UNKNOWN_ALERT:
    case VG_ERR_NOT_RECIPIENT:
        status = 404;
        break;
    case VG_ERR_CONFLICT:
    case VG_ERR_REPLAY:
    case VG_ERR_DUPLICATE:
        status = 409;
        break;
    case VG_ERR_TOO_LARGE:
        status = 413;
        break;
    case VG_ERR_TIMEOUT:
        status = 504;
        break;
    case VG_ERR_STORAGE_FULL:
    case VG_ERR_RATE_LIMITED:
        status = 503;
        break;
    default:
        status = 500;
        break;
    }
    return gw_problem(r, status, vg_err_code(err), NULL, detail ? detail : vg_strerror(err), NULL,
                      NULL);
}

const char *
gw_query(const gw_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *
gw_header(const gw_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

bool
gw_wants_cap(const gw_req *r)
{
    const char *accept = gw_header(r, MHD_HTTP_HEADER_ACCEPT);
    if (accept == NULL) {
        return false;
    }
    const char *cap = strstr(accept, "application/cap+xml");
    const char *xml = strstr(accept, "application/xml");
    const char *json = strstr(accept, "json");
    const char *first = cap && (!xml || cap < xml) ? cap : xml;
    return first != NULL && (json == NULL || first < json);
}

/* ---- admission ------------------------------------------------------------------------ */

typedef struct s_route_def {
    gw_route route;     /* what */
    const char *method; /* which method */
    unsigned scope;     /* needs */
} s_route_def;

static const s_route_def s_routes[] = {
    {GW_R_ALERTS, "GET", GW_SCOPE_READ},   {GW_R_ALERTS, "POST", GW_SCOPE_PUBLISH},
    {GW_R_ALERT, "GET", GW_SCOPE_READ},    {GW_R_RECEIPT, "POST", GW_SCOPE_RECEIPT},
    {GW_R_RECEIPTS, "GET", GW_SCOPE_READ}, {GW_R_EVENTS, "GET", GW_SCOPE_READ},
    {GW_R_HEALTH, "GET", GW_SCOPE_READ},   {GW_R_METRICS, "GET", GW_SCOPE_READ},
    {GW_R_SNAPSHOT, "GET", GW_SCOPE_READ}, {GW_R_DETAIL, "GET", GW_SCOPE_READ},
};

/* Parses the path into r; false (with a problem queued) for a bad alert id. */
static bool
s_parse_path(gw_req *r, enum MHD_Result *res)
{
    const char *p = r->path;
    if (strcmp(p, "/v1/snapshot") == 0) {
        r->route = GW_R_SNAPSHOT;
    } else if (strcmp(p, "/v1/alerts") == 0) {
        r->route = GW_R_ALERTS;
    } else if (strcmp(p, "/v1/events") == 0) {
        r->route = GW_R_EVENTS;
    } else if (strcmp(p, "/v1/health") == 0) {
        r->route = GW_R_HEALTH;
    } else if (strcmp(p, "/metrics") == 0) {
        r->route = GW_R_METRICS;
    } else if (strncmp(p, "/v1/alerts/", 11) == 0) {
        const char *id = p + 11;
        size_t n = strcspn(id, "/");
        char hex[VG_ALERT_ID_HEX_LEN + 1] = "";
        if (n != VG_ALERT_ID_HEX_LEN) {
            *res = gw_problem(r, 400, "invalid_id", NULL, "an alert id is 32 hex characters", "id",
                              "32 hex characters");
            return false;
        }
        memcpy(hex, id, n);
        vg_reason why;
        if (vg_alert_id_parse(r->alert_id, hex, &why) != VG_OK) {
            *res = gw_problem(r, 400, "invalid_id", NULL, why.text, "id", "32 hex characters");
            return false;
        }
        const char *rest = id + n;
        if (*rest == '\0') {
            r->route = GW_R_ALERT;
        } else if (strcmp(rest, "/detail") == 0) {
            r->route = GW_R_DETAIL;
        } else if (strncmp(rest, "/receipts/", 10) == 0 && vg_agency_id_is_valid(rest + 10)) {
            r->route = GW_R_RECEIPTS;
            snprintf(r->agency, sizeof r->agency, "%s", rest + 10);
        } else if (strcmp(rest, "/ack") == 0 || strcmp(rest, "/progress") == 0 ||
                   strcmp(rest, "/decline") == 0 || strcmp(rest, "/share") == 0) {
            r->route = GW_R_RECEIPT;
            snprintf(r->verb, sizeof r->verb, "%s", rest + 1);
        }
    }
    return true;
}

/* The content types a route takes, or NULL for none. */
static const char *
s_accepted_types(const gw_req *r)
{
    if (r->route == GW_R_ALERTS && strcmp(r->method, "POST") == 0) {
        return "application/json, application/cap+xml, application/xml";
    }
    return r->route == GW_R_RECEIPT ? "application/json" : NULL;
}

static bool
s_type_ok(const char *ctype, const char *accepted)
{
    if (ctype == NULL) {
        return false;
    }
    size_t n = strcspn(ctype, ";");
    while (n > 0 && ctype[n - 1] == ' ') {
        n--;
    }
    for (const char *a = accepted; *a != '\0';) {
        size_t m = strcspn(a, ",");
        if (m == n && strncasecmp(a, ctype, n) == 0) {
            return true;
        }
        a += m;
        a += strspn(a, ", ");
    }
    return false;
}

static bool
s_client_cert_ok(gw_req *r)
{
    if (r->g->gc->client_ca == NULL) {
        return true;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t s = ci ? (gnutls_session_t)ci->tls_session : NULL;
    unsigned n = 0, status = 1;
    return s != NULL && gnutls_certificate_get_peers(s, &n) != NULL && n > 0 &&
           gnutls_certificate_verify_peers2(s, &status) == 0 && status == 0;
}

/* The console's own routes: its files (no authentication: they hold no
 * secret) and /v1/session (which authenticates by itself). True when r is
 * one of them, with the answer queued or MHD_YES to read the body. */
static bool
s_admit_console(gw_req *r, enum MHD_Result *res)
{
    const char *p = r->path;
    if (strcmp(p, "/") == 0 || strcmp(p, "/console") == 0 || strncmp(p, "/console/", 9) == 0) {
        r->route = GW_R_CONSOLE;
        *res = gw_handle_static(r);
        return true;
    }
    bool session = strcmp(p, "/v1/session") == 0;
    if (!session && strcmp(p, "/v1/session/keepalive") != 0) {
        return false;
    }
    r->route = session ? GW_R_SESSION : GW_R_KEEPALIVE;
    bool post = strcmp(r->method, "POST") == 0;
    if (!(post ||
          (session && (strcmp(r->method, "GET") == 0 || strcmp(r->method, "DELETE") == 0)))) {
        const char *allow = session ? "GET, POST, DELETE" : "POST";
        const char *const h[] = {"Allow", allow, NULL};
        *res = gw_problem_with(r, 405, "method_not_allowed", NULL, "use the methods in Allow",
                               "method", allow, h);
        return true;
    }
    *res = MHD_YES;
    if (session && post) { /* a login: a small JSON body */
        r->body_max = GW_LOGIN_BODY_MAX;
        const char *len = gw_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (len != NULL && strtoull(len, NULL, 10) > GW_LOGIN_BODY_MAX) {
            *res = gw_problem(r, 413, "too_large", NULL, "a login is at most 4096 bytes", "body",
                              NULL);
        } else if (!s_type_ok(gw_header(r, MHD_HTTP_HEADER_CONTENT_TYPE), "application/json")) {
            *res = gw_problem(r, 415, "unsupported_media_type", NULL, "send the login as JSON",
                              "Content-Type", "application/json");
        }
    }
    return true;
}

/* Who sent it: an API token, or an officer's session cookie. */
static bool
s_authenticate(gw_req *r, enum MHD_Result *res)
{
    gw_gateway *g = r->g;
    static const char *const bearer[] = {"WWW-Authenticate", "Bearer realm=\"vigil-gateway\"",
                                         NULL};
    const char *authz = gw_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    if (authz == NULL && g->gc->console && gw_console_has_cookie(r)) {
        return gw_console_authenticate(r, res);
    }
    if (!gw_auth_check(g->auth, authz, r->token, &r->scopes)) {
        snprintf(r->token, sizeof r->token, "%s", authz ? "!refused" : "!missing");
        *res = gw_problem_with(r, 401, "unauthorized", NULL,
                               authz ? "the token is not valid (unknown or revoked)"
                                     : "send an API token: Authorization: Bearer vgt_...",
                               "Authorization", "Bearer TOKEN", bearer);
        return false;
    }
    return true;
}

/* 403 for a request out of its token's scope, or its officer's role. */
static enum MHD_Result
s_out_of_scope(gw_req *r, unsigned scope)
{
    char need[32], detail[200];
    gw_scopes_format(need, sizeof need, scope);
    if (r->has_session) {
        snprintf(detail, sizeof detail, "officer '%s' is a %s officer: %s", r->officer,
                 gw_role_name(r->role),
                 r->role == GW_ROLE_VIEWER ? "viewers read, they cannot act"
                                           : "officers cannot do this from the console");
        return gw_problem(r, 403, "forbidden", NULL, detail, "role",
                          scope == GW_SCOPE_RECEIPT ? "duty" : NULL);
    }
    snprintf(detail, sizeof detail, "token '%s' lacks the '%s' scope", r->token, need);
    return gw_problem(r, 403, "forbidden", NULL, detail, "scope", need);
}

/* Everything decided from the headers: authentication, route, scope, rate,
 * size, type. Queues the refusal, or returns MHD_YES to read the body. */
static enum MHD_Result
s_admit(gw_req *r)
{
    gw_gateway *g = r->g;
    if (!s_client_cert_ok(r)) {
        return gw_problem_with(r, 401, "client_certificate", NULL,
                               "a client certificate signed by the gateway's client CA is required",
                               "client certificate", NULL, NULL);
    }
    enum MHD_Result res = MHD_YES;
    if (s_admit_console(r, &res) || !s_authenticate(r, &res) || !s_parse_path(r, &res)) {
        return res;
    }
    const s_route_def *def = NULL;
    bool path_known = false;
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++) {
        if (s_routes[i].route == r->route) {
            path_known = true;
            def = strcmp(s_routes[i].method, r->method) == 0 ? &s_routes[i] : def;
        }
    }
    if (!path_known) {
        return gw_problem(r, 404, "not_found", NULL, "no such resource (docs/openapi.yaml)", NULL,
                          NULL);
    }
    if (def == NULL) {
        const char *allow = r->route == GW_R_ALERTS    ? "GET, POST"
                            : r->route == GW_R_RECEIPT ? "POST"
                                                       : "GET";
        const char *const h[] = {"Allow", allow, NULL};
        return gw_problem_with(r, 405, "method_not_allowed", NULL, "use the methods in Allow",
                               "method", allow, h);
    }
    if ((r->scopes & def->scope) == 0) {
        return s_out_of_scope(r, def->scope);
    }
    int64_t retry = 1;
    char bucket[GW_OFFICER_MAX + 1]; /* "~" and an officer, or a token name */
    snprintf(bucket, sizeof bucket, "%s%s", r->has_session ? "~" : "",
             r->has_session ? r->officer : r->token);
    if (!gw_rate_take(g->rate, bucket, vg_clock_mono_ms(vg_clock_system()), &retry)) {
        char after[24], detail[160];
        snprintf(after, sizeof after, "%lld", (long long)retry);
        snprintf(detail, sizeof detail, "more than %lld requests a second for %s '%s'",
                 (long long)g->gc->rate_per_s, r->has_session ? "officer" : "token",
                 r->has_session ? r->officer : r->token);
        const char *const h[] = {"Retry-After", after, NULL};
        return gw_problem_with(r, 429, "rate_limited", NULL, detail, NULL, NULL, h);
    }
    const char *accepted = s_accepted_types(r);
    if (accepted != NULL) {
        const char *len = gw_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (len != NULL && strtoull(len, NULL, 10) > (unsigned long long)g->gc->max_body_bytes) {
            char limit[64];
            snprintf(limit, sizeof limit, "at most %lld bytes", (long long)g->gc->max_body_bytes);
            return gw_problem(r, 413, "too_large", NULL, limit, "body", limit);
        }
        const char *ctype = gw_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!s_type_ok(ctype, accepted)) {
            return gw_problem(r, 415, "unsupported_media_type", NULL,
                              "send the body with one of the accepted Content-Types",
                              "Content-Type", accepted);
        }
    }
    return MHD_YES;
}

static void
s_take_body(gw_req *r, const char *data, size_t n)
{
    if (r->too_large || r->body_len + n > r->body_max) {
        r->too_large = true;
        free(r->body);
        r->body = NULL;
        r->body_len = 0;
        return;
    }
    if (r->body_len + n + 1 > r->body_cap) {
        size_t cap = (r->body_len + n + 1) * 2;
        char *grown = realloc(r->body, cap);
        if (grown == NULL) {
            r->too_large = true;
            return;
        }
        r->body = grown;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
}

static enum MHD_Result
s_dispatch(gw_req *r)
{
    switch (r->route) {
    case GW_R_ALERTS:
        return strcmp(r->method, "POST") == 0 ? gw_handle_publish(r) : gw_handle_list(r);
    case GW_R_ALERT:
        return gw_handle_alert(r);
    case GW_R_RECEIPT:
        return gw_handle_receipt(r);
    case GW_R_RECEIPTS:
        return gw_handle_receipts(r);
    case GW_R_EVENTS:
        return gw_handle_events(r);
    case GW_R_HEALTH:
        return gw_handle_health(r);
    case GW_R_METRICS:
        return gw_handle_metrics(r);
    case GW_R_SNAPSHOT:
        return gw_handle_snapshot(r);
    case GW_R_DETAIL:
        return gw_handle_detail(r);
    case GW_R_SESSION:
    case GW_R_KEEPALIVE:
        return gw_handle_session(r);
    default:
        return gw_problem(r, 404, "not_found", NULL, "no such resource", NULL, NULL);
    }
}

static enum MHD_Result
s_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
         const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    gw_req *r = *con_cls;
    if (r == NULL) {
        r = calloc(1, sizeof *r);
        if (r == NULL) {
            return MHD_NO;
        }
        *con_cls = r;
        r->g = cls;
        r->conn = conn;
        r->start_mono = vg_clock_mono_ms(vg_clock_system());
        snprintf(r->method, sizeof r->method, "%s", method);
        snprintf(r->path, sizeof r->path, "%s", url);
        snprintf(r->token, sizeof r->token, "-");
        r->body_max = (size_t)r->g->gc->max_body_bytes;
        return s_admit(r);
    }
    if (r->status != 0) { /* refused already: the rest is discarded */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        s_take_body(r, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->too_large) {
        char limit[64];
        snprintf(limit, sizeof limit, "at most %zu bytes", r->body_max);
        return gw_problem(r, 413, "too_large", NULL, limit, "body", limit);
    }
    return s_dispatch(r);
}

/* Printable path for the log: what a client sent may hold anything. */
static void
s_log_path(char *out, size_t out_len, const char *path)
{
    size_t i = 0;
    for (; path[i] != '\0' && i + 1 < out_len; i++) {
        unsigned char c = (unsigned char)path[i];
        out[i] = (c > 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
    }
    out[i] = '\0';
}

static void
s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
            enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    gw_req *r = *con_cls;
    if (r == NULL) {
        return;
    }
    char path[128], officer[GW_OFFICER_MAX + 16] = "";
    s_log_path(path, sizeof path, r->path);
    if (r->officer[0] != '\0') { /* a session's requests, and logins, name the officer */
        size_t n = (size_t)snprintf(officer, sizeof officer, " officer=\"");
        for (size_t i = 0; r->officer[i] != '\0' && n + 2 < sizeof officer; i++) {
            unsigned char c = (unsigned char)r->officer[i];
            officer[n++] = c < 0x20 || c == 0x7f || c == '"' || c == '\\' ? '?' : (char)c;
        }
        officer[n++] = '"';
        officer[n] = '\0';
    }
    vg_log(r->status >= 500 ? VG_LOG_WARN : VG_LOG_INFO, "gateway", "http.request",
           "token=%s%s method=%s path=%s status=%d ms=%lld%s", r->token, officer, r->method, path,
           r->status, (long long)(vg_clock_mono_ms(vg_clock_system()) - r->start_mono),
           toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
    if (r->body != NULL && r->route == GW_R_SESSION) {
        sodium_memzero(r->body, r->body_len); /* a login's password */
    }
    free(r->body);
    free(r);
    *con_cls = NULL;
}

static void
s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\r\n")] = '\0';
    for (char *p = msg; *p; p++) {
        *p = *p == '"' ? '\'' : *p;
    }
    vg_log(VG_LOG_WARN, "gateway", "http.server", "detail=\"%s\"", msg);
}

/* ---- start and stop -------------------------------------------------------------------- */

/* "HOST:PORT" or "[V6]:PORT" into a socket address. */
static vg_err
s_listen_addr(struct sockaddr_storage *out, socklen_t *len, char *host, size_t host_len,
              const char *listen, vg_reason *why)
{
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon == listen || colon[1] == '\0') {
        return vg_reason_set(why, VG_ERR_CONFIG, "[gateway] listen '%s': write it as HOST:PORT",
                             listen);
    }
    snprintf(host, host_len, "%.*s", (int)(colon - listen), listen);
    if (host[0] == '[') {
        memmove(host, host + 1, strlen(host));
        host[strcspn(host, "]")] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, colon + 1, &hints, &res);
    if (rc != 0 || res == NULL) {
        return vg_reason_set(why, VG_ERR_CONFIG, "[gateway] listen '%s': %s", listen,
                             gai_strerror(rc));
    }
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return VG_OK;
}

/* Reads a PEM file as a NUL-terminated string. */
static vg_err
s_read_pem(char **out, const char *path, bool secret, vg_reason *why)
{
    uint8_t *data = NULL;
    size_t len = 0;
    vg_err rc = secret ? vg_file_read_private(&data, &len, path, S_TLS_FILE_MAX, why)
                       : vg_file_read(&data, &len, path, S_TLS_FILE_MAX, why);
    if (rc != VG_OK) {
        return rc;
    }
    char *text = malloc(len + 1);
    if (text != NULL) {
        memcpy(text, data, len);
        text[len] = '\0';
    }
    if (secret) {
        sodium_memzero(data, len);
    }
    free(data);
    *out = text;
    return text ? VG_OK : VG_ERR_NOMEM;
}

static vg_err
s_start_http(gw_gateway *g, const char *listen, vg_reason *why)
{
    struct sockaddr_storage addr;
    socklen_t addr_len = 0;
    char host[128];
    vg_err rc = s_listen_addr(&addr, &addr_len, host, sizeof host, listen, why);
    const vga_gateway_config *gc = g->gc;
    bool tls = gc->tls_cert != NULL || gc->tls_key != NULL;
    char *cert = NULL, *key = NULL, *ca = NULL;
    if (rc == VG_OK && tls && (gc->tls_cert == NULL || gc->tls_key == NULL)) {
        rc = vg_reason_set(why, VG_ERR_CONFIG, "[gateway] tls_cert and tls_key go together");
    }
    if (rc == VG_OK && gc->client_ca != NULL && !tls) {
        rc = vg_reason_set(why, VG_ERR_CONFIG, "[gateway] client_ca needs tls_cert and tls_key");
    }
    if (rc == VG_OK && tls) {
        rc = s_read_pem(&cert, gc->tls_cert, false, why);
        rc = rc == VG_OK ? s_read_pem(&key, gc->tls_key, true, why) : rc;
        rc = rc == VG_OK && gc->client_ca ? s_read_pem(&ca, gc->client_ca, false, why) : rc;
    }
    if (rc == VG_OK) {
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                         MHD_USE_POLL | MHD_USE_ERROR_LOG | (tls ? MHD_USE_TLS : 0) |
                         (addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
        struct MHD_OptionItem tls_opts[] = {
            {tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert},
            {tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, key},
            {ca ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, ca},
            {MHD_OPTION_END, 0, NULL},
        };
        g->mhd = MHD_start_daemon(flags, 0, NULL, NULL, s_access, g, MHD_OPTION_EXTERNAL_LOGGER,
                                  s_mhd_log, g, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned)gc->max_connections,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)S_IDLE_TIMEOUT_S,
                                  MHD_OPTION_NOTIFY_COMPLETED, s_completed, g, MHD_OPTION_ARRAY,
                                  tls_opts, MHD_OPTION_END);
        if (g->mhd == NULL) {
            rc = vg_reason_set(why, VG_ERR_IO, "cannot listen on %s (in use? not this host's?)",
                               listen);
        }
    }
    if (rc == VG_OK) {
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(g->mhd, MHD_DAEMON_INFO_BIND_PORT);
        bool v6 = strchr(host, ':') != NULL;
        snprintf(g->url, sizeof g->url, "%s://%s%s%s:%u", tls ? "https" : "http", v6 ? "[" : "",
                 host, v6 ? "]" : "", di ? (unsigned)di->port : 0u);
    }
    free(cert);
    if (key != NULL) {
        sodium_memzero(key, strlen(key));
    }
    free(key);
    free(ca);
    return rc;
}

vg_err
gw_gateway_start(gw_gateway **out, const char *config_path, const char *listen, vg_reason *why)
{
    gw_gateway *g = calloc(1, sizeof *g);
    if (g == NULL || (g->config_path = vg_strdup(config_path)) == NULL) {
        free(g);
        return VG_ERR_NOMEM;
    }
    g->started_ms = vg_clock_wall_ms(vg_clock_system());
    gw_cap_init();
    vg_err rc = vga_config_load(&g->cfg, config_path, why);
    gw_db *auth_db = NULL, *link_db = NULL, *hook_db = NULL, *officer_db = NULL;
    if (rc == VG_OK) {
        g->gc = &g->cfg->gateway;
        rc = gw_db_open(&g->db, g->cfg->store_path, why);
    }
    rc = rc == VG_OK ? gw_db_open(&auth_db, g->cfg->store_path, why) : rc;
    rc = rc == VG_OK ? gw_db_open(&link_db, g->cfg->store_path, why) : rc;
    rc = rc == VG_OK ? gw_db_open(&hook_db, g->cfg->store_path, why) : rc;
    rc = rc == VG_OK ? gw_db_open(&officer_db, g->cfg->store_path, why) : rc;
    rc = rc == VG_OK ? gw_auth_new(&g->auth, &auth_db) : rc;
    rc = rc == VG_OK ? gw_officers_new(&g->officers, &officer_db, g->gc->login_failures,
                                       (int64_t)g->gc->login_lockout_ms)
                     : rc;
    rc = rc == VG_OK ? gw_sessions_new(&g->sessions, (int64_t)g->gc->session_idle_ms,
                                       (int64_t)g->gc->session_max_ms)
                     : rc;
    rc = rc == VG_OK ? gw_rate_new(&g->login_rate, GW_LOGIN_RATE, GW_LOGIN_BURST) : rc;
    rc = rc == VG_OK ? gw_rate_new(&g->rate, g->gc->rate_per_s, g->gc->burst) : rc;
    rc = rc == VG_OK ? gw_hub_new(&g->hub) : rc;
    rc = rc == VG_OK ? gw_webhooks_start(&g->webhooks, config_path, &hook_db, g->gc, g->hub, why)
                     : rc;
    rc = rc == VG_OK ? gw_link_start(&g->link, config_path, &link_db, g->hub, &g->m,
                                     gw_webhooks_wake, g->webhooks, why)
                     : rc;
    rc = rc == VG_OK ? gw_pool_new(&g->pool, config_path, (size_t)g->gc->workers, why) : rc;
    if (rc == VG_OK) {
        g->tls = g->gc->tls_cert != NULL;
        gw_console_start(g);
    }
    rc = rc == VG_OK ? s_start_http(g, listen ? listen : g->gc->listen, why) : rc;
    gw_db_destroy(&auth_db);
    gw_db_destroy(&link_db);
    gw_db_destroy(&hook_db);
    gw_db_destroy(&officer_db);
    if (rc != VG_OK) {
        gw_gateway_stop(&g);
        return rc;
    }
    vg_log(VG_LOG_INFO, "gateway", "gateway.ready", "agency=%s url=%s broker=%s console=%s%s",
           g->cfg->id, g->url, g->cfg->endpoint, g->files ? g->url : "none",
           g->files ? "/console/" : "");
    *out = g;
    return VG_OK;
}

void
gw_gateway_stop(gw_gateway **g_p)
{
    if (g_p == NULL || *g_p == NULL) {
        return;
    }
    gw_gateway *g = *g_p;
    atomic_store(&g->stopping, true);
    if (g->mhd != NULL) {
        MHD_quiesce_daemon(g->mhd);
    }
    if (g->hub != NULL) {
        gw_hub_close(g->hub); /* event streams end */
    }
    if (g->mhd != NULL) {
        MHD_stop_daemon(g->mhd);
    }
    gw_link_stop(&g->link);
    gw_webhooks_stop(&g->webhooks);
    gw_pool_destroy(&g->pool);
    gw_hub_destroy(&g->hub);
    gw_rate_destroy(&g->rate);
    gw_rate_destroy(&g->login_rate);
    gw_auth_destroy(&g->auth);
    gw_officers_destroy(&g->officers);
    gw_sessions_destroy(&g->sessions);
    gw_static_destroy(&g->files);
    gw_db_destroy(&g->db);
    vga_config_destroy(&g->cfg);
    free(g->config_path);
    free(g);
    *g_p = NULL;
}
