/*
 * gateway.h — vigil-gateway, the agency's HTTP gateway: what its modules
 * share. Internal to agents/gateway; docs/gateway.md is the manual.
 *
 * Shape: GNU libmicrohttpd serves HTTP (TLS through its GnuTLS support)
 * with a thread per connection, up to [gateway] max_connections. A request
 * is authenticated (gw_token), rate-limited per token (gw_rate) and checked
 * for size and type before its body is read; its handler borrows a broker
 * connection from gw_pool for what the agent library does (publish,
 * status, receipts). gw_link is the agency's receiver and event stream,
 * gw_webhook POSTs to the agency's webhooks, gw_hub feeds /v1/events.
 *
 * The web console (docs/console.md): gw_static serves its files at
 * /console/, gw_console its officers' sessions (/v1/session): officers
 * (gw_officer) log in with a password or through a trusted proxy (SSO) and
 * get a session (gw_session) in an HttpOnly, SameSite=Strict cookie; a
 * request with that cookie is authenticated like one with a token, with the
 * scopes of the officer's role, and must carry the session's CSRF token when
 * it changes anything. Every response carries the security headers
 * (gw_security_headers: a strict Content-Security-Policy, no framing, no
 * sniffing, no referrer).
 *
 * What the gateway owns: gateway.db (tokens, idempotency keys, webhooks and
 * their deliveries, officers, the link index) and the officers' sessions
 * (in memory). What it shares with every agent process of the agency:
 * agent.conf, the keys, agent.db (outbox and inbox). It never logs a token,
 * a password, a session or alert content; every request is logged with its
 * token's name, or its officer's.
 */
#ifndef VIGIL_GATEWAY_GATEWAY_H
#define VIGIL_GATEWAY_GATEWAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "gw_db.h"
#include "gw_hub.h"
#include "gw_link.h"
#include "gw_metrics.h"
#include "gw_officer.h"
#include "gw_pool.h"
#include "gw_rate.h"
#include "gw_session.h"
#include "gw_static.h"
#include "gw_token.h"
#include "gw_webhook.h"
#include "vigil/agent_config.h"

#define GW_VERSION "0.1.0"
#define GW_POOL_WAIT_MS 5000        /* longest wait for a broker connection (then 503) */
#define GW_QUERY_WAIT_MS 5000       /* status, outstanding, receipts: broker answer */
#define GW_LOGIN_BODY_MAX 4096      /* a login's JSON */
#define GW_LOGIN_RATE 1             /* logins a second per client address (sustained) */
#define GW_LOGIN_BURST 10           /* ... and at once */
#define GW_SESSION_TOKEN "~session" /* the "token" name of requests made with a session */

typedef struct gw_gateway {
    char *config_path;            /* agent.conf */
    vga_config *cfg;              /* its contents (owned) */
    const vga_gateway_config *gc; /* &cfg->gateway */
    gw_db *db;                    /* the connection request handlers share */
    gw_auth *auth;                /* tokens */
    gw_rate *rate;                /* per-token rate */
    gw_pool *pool;                /* broker connections for requests */
    gw_hub *hub;                  /* the event stream */
    gw_link *link;                /* the receiver */
    gw_webhooks *webhooks;        /* the sender */
    gw_officers *officers;        /* the console's officers */
    gw_sessions *sessions;        /* their sessions */
    gw_rate *login_rate;          /* logins per client address */
    gw_static *files;             /* the console's files (NULL: console off or not installed) */
    char console_error[VG_REASON_MAX]; /* why the console is not served ("" when it is) */
    bool tls;                          /* serving HTTPS */
    gw_metrics m;                      /* counters */
    struct MHD_Daemon *mhd;            /* the HTTP server */
    char url[160];                     /* where it listens */
    int64_t started_ms;                /* wall time at start */
    atomic_bool stopping;              /* shutting down */
    atomic_long streams;               /* open /v1/events streams */
} gw_gateway;

/* Loads agent.conf, opens gateway.db, connects to the broker (the pool, the
 * link, the webhook sender) and starts serving; listen overrides [gateway]
 * listen when not NULL. Logs gateway.ready with the URL. */
vg_err gw_gateway_start(gw_gateway **out, const char *config_path, const char *listen,
                        vg_reason *why) VG_MUST_USE;

/* Stops serving, ends streams, stops the threads, closes everything. NULL-safe. */
void gw_gateway_stop(gw_gateway **g_p);

/* ---- requests -------------------------------------------------------------------------- */

typedef enum gw_route {
    GW_R_NONE = 0,
    GW_R_ALERTS,    /* /v1/alerts */
    GW_R_ALERT,     /* /v1/alerts/{id} */
    GW_R_RECEIPT,   /* /v1/alerts/{id}/ack|progress|decline|share */
    GW_R_RECEIPTS,  /* /v1/alerts/{id}/receipts/{agency} */
    GW_R_EVENTS,    /* /v1/events */
    GW_R_HEALTH,    /* /v1/health */
    GW_R_METRICS,   /* /metrics */
    GW_R_SNAPSHOT,  /* /v1/snapshot */
    GW_R_DETAIL,    /* /v1/alerts/{id}/detail */
    GW_R_SESSION,   /* /v1/session */
    GW_R_KEEPALIVE, /* /v1/session/keepalive */
    GW_R_CONSOLE,   /* /, /console, /console/... (the web console's files) */
} gw_route;

typedef struct gw_req {
    gw_gateway *g;                     /* the gateway */
    struct MHD_Connection *conn;       /* the connection */
    char method[8];                    /* GET, POST, ... */
    char path[256];                    /* the URL path, for logs and problem instances */
    gw_route route;                    /* what it asks for */
    uint8_t alert_id[VG_ALERT_ID_LEN]; /* {id} */
    char verb[16];                     /* ack, progress, decline, share */
    char agency[64];                   /* {agency} of receipts */
    char token[GW_NAME_MAX];           /* the token's name ("-" when none; GW_SESSION_TOKEN) */
    unsigned scopes;                   /* its scopes (a session: its officer's role's) */
    char officer[GW_OFFICER_MAX];      /* a session's officer ("" for tokens) */
    gw_role role;                      /* their role */
    bool has_session;                  /* authenticated by a session cookie */
    uint8_t session_key[GW_SESSION_KEY_LEN]; /* that session */
    size_t body_max;                         /* the body's limit (max_body, or less) */
    char *body;                              /* the request body, NUL-terminated (owned) */
    size_t body_len;                         /* its length */
    size_t body_cap;                         /* allocated */
    bool too_large;                          /* the body went over max_body */
    int status;                              /* the answer's status, for the log */
    uint8_t result_id[VG_ALERT_ID_LEN];      /* the alert a publish made */
    bool has_result_id;                      /* result_id is set */
    int64_t start_mono;                      /* when it arrived */
} gw_req;

/* Queues a response with body (taken: freed here) and extra headers given
 * as name, value pairs ending with NULL (may be NULL). */
enum MHD_Result gw_reply(gw_req *r, unsigned status, const char *ctype, char *body, size_t len,
                         const char *const *headers);

/* application/json; json is taken. NULL json answers 500. */
enum MHD_Result gw_reply_json(gw_req *r, unsigned status, char *json, const char *const *headers);

/* An RFC 9457 problem (application/problem+json): type urn:vigil:problem:CODE,
 * title, status, detail, instance (the path), and the extensions code, field
 * (where the problem is; may be NULL) and accepted (what is accepted there;
 * may be NULL). */
enum MHD_Result gw_problem(gw_req *r, unsigned status, const char *code, const char *title,
                           const char *detail, const char *field, const char *accepted);

/* gw_problem with extra headers (name, value pairs ending with NULL). */
enum MHD_Result gw_problem_with(gw_req *r, unsigned status, const char *code, const char *title,
                                const char *detail, const char *field, const char *accepted,
                                const char *const *headers);

/* The problem for an error of the agent library. */
enum MHD_Result gw_problem_err(gw_req *r, vg_err err, const char *detail);

/* A query argument or header of the request (borrowed), or NULL. */
const char *gw_query(const gw_req *r, const char *name);
const char *gw_header(const gw_req *r, const char *name);

/* The client wants CAP (Accept names application/cap+xml or application/xml
 * before any JSON). */
bool gw_wants_cap(const gw_req *r);

/* A broker connection from the pool (give it back with gw_pool_give), or
 * NULL with a 503 queued in *res when none was free in GW_POOL_WAIT_MS. */
vga_agent *gw_take_agent(gw_req *r, enum MHD_Result *res);

/* The security headers every response carries (CSP, X-Content-Type-Options,
 * Referrer-Policy, X-Frame-Options, ...; HSTS over TLS). */
void gw_security_headers(const gw_gateway *g, struct MHD_Response *resp);

/* ---- the web console (gw_console.c) --------------------------------------------------------- */

/* Loads the console's files (when [gateway] console is on); a failure is
 * logged and kept in g->console_error: the API still runs. */
void gw_console_start(gw_gateway *g);

/* Authenticates a request by its session cookie, for every route but the
 * console's own: true with r->officer, r->role, r->scopes and r->session_key
 * set; false with a problem queued in *res (401: no session, or it ended;
 * 403: a state-changing request without the session's CSRF token, or sent
 * from another site). */
bool gw_console_authenticate(gw_req *r, enum MHD_Result *res);

/* True while the session of key is live and its officer's account is
 * unchanged; else false with why ("idle", "expired", "unknown" — logged
 * out —, "account_changed"). For event streams. */
bool gw_console_session_alive(gw_gateway *g, const uint8_t key[GW_SESSION_KEY_LEN], char *why,
                              size_t why_len);

/* True when the request carries a session cookie (valid or not). */
bool gw_console_has_cookie(const gw_req *r);

/* GET|HEAD /, /console, /console/... */
enum MHD_Result gw_handle_static(gw_req *r);

/* /v1/session (POST login, GET who is logged in, DELETE logout) and POST
 * /v1/session/keepalive: they authenticate by themselves. */
enum MHD_Result gw_handle_session(gw_req *r);

/* Handlers (gw_routes.c, gw_sse.c, gw_status.c): the request is
 * authenticated, in scope and within limits; its body is read. */
enum MHD_Result gw_handle_publish(gw_req *r);
enum MHD_Result gw_handle_list(gw_req *r);
enum MHD_Result gw_handle_alert(gw_req *r);
enum MHD_Result gw_handle_receipt(gw_req *r);
enum MHD_Result gw_handle_receipts(gw_req *r);
enum MHD_Result gw_handle_events(gw_req *r);
enum MHD_Result gw_handle_health(gw_req *r);
enum MHD_Result gw_handle_metrics(gw_req *r);
enum MHD_Result gw_handle_snapshot(gw_req *r);
enum MHD_Result gw_handle_detail(gw_req *r);

#endif
