/*
 * gw_harness.h — runs the real vigil-gateway for tests, beside the real
 * broker of tests/integration/broker_harness.h, and talks to it the way an
 * agency's system would: HTTP through libcurl, webhooks received by a small
 * libmicrohttpd server, and a listening socket that only counts who
 * connects to it (to prove that nothing was fetched).
 *
 * Every wait is bounded; processes are stopped by pid; ports come from
 * binding 127.0.0.1:0 (the gateway is started with --listen 127.0.0.1:0
 * and its URL read from its gateway.ready line). A gateway's stderr goes to
 * its own log file in the broker's scratch directory, printed when a test
 * fails. Everything made here is freed by bh_destroy (bh_own).
 * Thread rules: one test thread; the webhook receiver has its own threads
 * and locks itself.
 */
#ifndef VIGIL_TESTS_GW_HARNESS_H
#define VIGIL_TESTS_GW_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "broker_harness.h"

#define GH_READY_MS 15000 /* longest wait for gateway.ready */
#define GH_STOP_MS 10000  /* SIGTERM grace before SIGKILL */
#define GH_TOKEN_MAX 64

typedef struct gh_gateway {
    bh_broker *b;             /* the network and broker (borrowed) */
    char agency[64];          /* whose gateway */
    char *conf;               /* its agent.conf */
    char *log_path;           /* its stderr, every run */
    char url[128];            /* http://127.0.0.1:PORT of the current run */
    pid_t pid;                /* running, 0 when not */
    int n_starts;             /* runs so far */
    char token[GH_TOKEN_MAX]; /* a token with every scope, made by gh_new */
} gh_gateway;

/*
 * A gateway for agency of b's network: sets [gateway] keys of its
 * agent.conf from conf_set ("key=value", NULL-terminated, may be NULL) and
 * makes the token "test" with every scope. Not started. Freed by bh_destroy.
 */
gh_gateway *gh_new(bh_broker *b, const char *agency, const char *const *conf_set);

/* Starts it on a free port and waits for gateway.ready (GH_READY_MS), and,
 * when the broker runs, until the gateway knows where the agency's event
 * stream stands (what it hands on to webhooks starts there). */
void gh_start(gh_gateway *g);

/* SIGTERM; fails the test unless it exits 0 within GH_STOP_MS. */
void gh_stop(gh_gateway *g);

/* SIGKILL, reaped. */
void gh_kill(gh_gateway *g);

/* `vigil-gateway token add NAME --scopes SCOPES`: the token (into out). */
void gh_token_add(gh_gateway *g, const char *name, const char *scopes, char out[GH_TOKEN_MAX]);

/* Runs `vigil-gateway -c CONF ARGS...` and returns its exit status; its
 * stdout into *out when out != NULL (malloc'ed). */
int gh_cli(gh_gateway *g, char **out, const char *const *args);

/* `vigil-gateway officer add NAME --role ROLE` with the password written to
 * its stdin (never on the command line); its exit status. */
int gh_officer_add(gh_gateway *g, const char *name, const char *role, const char *password);

/* The gateway's log so far (malloc'ed), and how many lines have msg_id and
 * (when not NULL) needle. */
char *gh_log(const gh_gateway *g);
size_t gh_log_count(const gh_gateway *g, const char *msg_id, const char *needle);

/* ---- HTTP ------------------------------------------------------------------------------ */

typedef struct gh_resp {
    long status;   /* HTTP status, 0 when no answer */
    char *body;    /* NUL-terminated */
    size_t len;    /* its length */
    char *headers; /* the raw response headers */
    double secs;   /* how long it took */
} gh_resp;

/* One request to g's URL + path. token may be NULL (no Authorization);
 * headers are "Name: value" strings ending with NULL (may be NULL). */
void gh_http(gh_resp *out, const gh_gateway *g, const char *method, const char *path,
             const char *token, const char *ctype, const char *body, size_t body_len,
             const char *const *headers);
void gh_resp_fini(gh_resp *r);

/* TLS for gh_http to https:// URLs: the CA file to trust, and a client
 * certificate and key to present (each may be NULL). Copied. */
void gh_tls_client(const char *ca_file, const char *cert_file, const char *key_file);

/* A response header's value (case-insensitive name) into out; false if none. */
bool gh_resp_header(const gh_resp *r, const char *name, char *out, size_t out_len);

/* The body as JSON (asserting that it is). json_decref it. */
json_t *gh_json(const gh_resp *r);

/* Asserts an RFC 9457 problem: status, content type, and the fields type,
 * title, status, detail; returns its "code". */
const char *gh_assert_problem(const gh_resp *r, long status, json_t **doc_out);

/* GET /v1/alerts/{id} until the recipient `agency` reaches state (e.g.
 * "delivered"), at most ms. */
bool gh_wait_state(const gh_gateway *g, const char *idhex, const char *agency, const char *state,
                   int64_t ms);

/* ---- a webhook receiver ------------------------------------------------------------------ */

typedef struct gh_hook gh_hook;

typedef struct gh_hook_req {
    char *body;              /* what was POSTed (malloc'ed) */
    size_t len;              /* its length */
    char ctype[64];          /* Content-Type */
    char kind[32];           /* Vigil-Kind */
    char delivery[32];       /* Vigil-Delivery */
    char alert_id[40];       /* Vigil-Alert-Id */
    char timestamp[32];      /* Vigil-Timestamp */
    char signature[80];      /* Vigil-Signature */
    char authorization[160]; /* Authorization (the broker's bearer and basic webhooks) */
    bool signature_ok;       /* the HMAC checked out against the hook's secret */
} gh_hook_req;

/* Listens on 127.0.0.1:port (0: a free one), checking signatures with the
 * 64-hex secret (may be set later with gh_hook_secret). Answers `status`. */
gh_hook *gh_hook_start(bh_broker *b, int port);
int gh_hook_port(const gh_hook *h);
void gh_hook_secret(gh_hook *h, const char *hex);
void gh_hook_answer(gh_hook *h, unsigned status);
/* Stops listening (a later POST is refused: connection refused). */
void gh_hook_stop(gh_hook *h);
/* Listens again on the same port. */
void gh_hook_restart(gh_hook *h);
/* Waits (at most ms) until n requests of kind (NULL: any) arrived. */
bool gh_hook_wait(gh_hook *h, const char *kind, size_t n, int64_t ms);
/* How many arrived (of kind, or all), and a copy of the i-th of them. */
size_t gh_hook_count(gh_hook *h, const char *kind);
void gh_hook_get(gh_hook *h, const char *kind, size_t i, gh_hook_req *out);
void gh_hook_req_fini(gh_hook_req *r);

/* ---- a trap: counts connections to a port no one should reach ----------------------------- */

typedef struct gh_trap {
    int fd;   /* listening socket */
    int port; /* its port */
} gh_trap;

gh_trap *gh_trap_open(bh_broker *b);
/* Connections that arrived (accepted and counted now), waiting up to ms. */
int gh_trap_connections(gh_trap *t, int64_t ms);

/* ---- CAP files of ../shared/cap (read in place, never copied) ------------------------------ */

/* VG_CAP_DIR/name, malloc'ed NUL-terminated, *len_out its length. */
char *gh_cap_file(const char *name, size_t *len_out);

/* Runs xmllint --noout --nonet --schema VG_CAP_DIR/cap12.xsd on the text;
 * true when it validates (out: xmllint's message, may be NULL). */
bool gh_xsd_valid(const char *xml, size_t len, char **out);

#endif
