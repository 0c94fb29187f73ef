/*
 * vigil/webhook.h — how vigil signs the HTTP requests it sends to other
 * people's systems: the agency gateway's webhooks (docs/gateway.md) and the
 * broker's notification webhooks with auth "hmac-sha256" (docs/network.md).
 * One scheme, so a receiver checks both the same way:
 *
 *   Vigil-Timestamp: UNIX_SECONDS
 *   Vigil-Signature: v1=HEX(HMAC-SHA256(key, TIMESTAMP "." BODY))
 *
 * A receiver recomputes the HMAC over the exact body bytes, compares in
 * constant time, and refuses a timestamp far from its own clock (replays).
 *
 * vg_webhook_post is the one libcurl POST both use (the gateway's deliveries
 * and the broker's notification worker), so timeouts, redirects, protocols
 * and signing are the same for both.
 *
 * Owns nothing. Thread rules: vg_webhook_sign none (pure); vg_webhook_post
 * uses the caller's CURL handle, on the caller's thread.
 */
#ifndef VIGIL_LIB_WEBHOOK_H
#define VIGIL_LIB_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#define VG_WEBHOOK_SIG_HEADER "Vigil-Signature"
#define VG_WEBHOOK_TS_HEADER "Vigil-Timestamp"
#define VG_WEBHOOK_SIG_HEX_LEN 64 /* the HMAC's hex, without "v1=" */

/* HMAC-SHA256(key, ts "." body) as 64 lowercase hex characters and a NUL. */
void vg_webhook_sign(char out[VG_WEBHOOK_SIG_HEX_LEN + 1], const uint8_t *key, size_t key_len,
                     int64_t ts, const char *body, size_t len);

#define VG_WEBHOOK_HEADERS_MAX 8 /* extra headers one POST may carry */

/* One POST. Every pointer is borrowed for the call; NULL or "" means not
 * set. */
typedef struct vg_webhook_req {
    const char *url;                             /* http:// or https:// only */
    const char *body;                            /* the exact bytes sent and signed */
    size_t len;                                  /* their length */
    const char *content_type;                    /* "application/json" */
    const char *headers[VG_WEBHOOK_HEADERS_MAX]; /* more "Name: value" lines */
    const uint8_t *hmac_key;                     /* sign with it (Vigil-Timestamp and
                                                    Vigil-Signature), or NULL */
    size_t hmac_key_len;                         /* its length */
    int64_t ts;                                  /* the signature's UNIX seconds */
    const char *user;                            /* HTTP basic: user ... */
    const char *password;                        /* ... and password (a secret) */
    const char *ca_file;                         /* a CA bundle to trust, else the system's */
    const char *user_agent;                      /* "vigil-gateway", "vigil-broker" */
    uint64_t timeout_ms;                         /* the whole attempt, at most */
} vg_webhook_req;

/* What came of it. */
typedef struct vg_webhook_res {
    CURLcode cc;    /* the transfer's outcome */
    long status;    /* the HTTP status, 0 when none came */
    char text[160]; /* "HTTP 200" or libcurl's words; never a secret */
} vg_webhook_res;

/* POSTs req with curl (reset first and again after, so no secret stays in
 * the handle), redirects not followed, no 100-continue round trip. True
 * when a 2xx status came back. */
bool vg_webhook_post(CURL *curl, const vg_webhook_req *req, vg_webhook_res *res);

#endif
