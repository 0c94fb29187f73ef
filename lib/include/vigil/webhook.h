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
 * Owns nothing. Thread rules: none (pure functions).
 */
#ifndef VIGIL_LIB_WEBHOOK_H
#define VIGIL_LIB_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#define VG_WEBHOOK_SIG_HEADER "Vigil-Signature"
#define VG_WEBHOOK_TS_HEADER "Vigil-Timestamp"
#define VG_WEBHOOK_SIG_HEX_LEN 64 /* the HMAC's hex, without "v1=" */

/* HMAC-SHA256(key, ts "." body) as 64 lowercase hex characters and a NUL. */
void vg_webhook_sign(char out[VG_WEBHOOK_SIG_HEX_LEN + 1], const uint8_t *key, size_t key_len,
                     int64_t ts, const char *body, size_t len);

#endif
