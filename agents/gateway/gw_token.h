/*
 * gw_token.h — API tokens: how they are made, stored and checked.
 *
 * A token is "vgt_" followed by 43 base64url characters (32 random bytes
 * from libsodium): high-entropy, so a fast keyed hash is as good as a slow
 * password hash. gateway.db keeps only BLAKE2b-256(token) under a fixed
 * key that names the purpose; the token itself is printed once, when it is
 * made, and never stored or logged. A presented token is hashed and
 * compared, in constant time, with every active token's hash.
 *
 * gw_auth caches the active tokens and reloads them when gateway.db changed
 * (another process added or revoked one: `vigil-gateway token revoke`
 * takes effect on the next request). Any thread; it locks itself.
 */
#ifndef VIGIL_GATEWAY_GW_TOKEN_H
#define VIGIL_GATEWAY_GW_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include "gw_db.h"

#define GW_SCOPE_PUBLISH 1u /* POST /v1/alerts */
#define GW_SCOPE_READ 2u    /* GET alerts, events, health, metrics */
#define GW_SCOPE_RECEIPT 4u /* POST /v1/alerts/{id}/ack|progress|decline|share */
#define GW_SCOPE_ALL 7u

#define GW_TOKEN_PREFIX "vgt_"
#define GW_TOKEN_LEN 47 /* "vgt_" + 43 base64url characters */

/* Parses "publish,read,receipt" into bits. VG_ERR_MALFORMED naming the
 * scope that is not one of them. */
vg_err gw_scopes_parse(unsigned *out, const char *text, vg_reason *why) VG_MUST_USE;

/* "publish,read,receipt" (the bits set). */
void gw_scopes_format(char *out, size_t out_len, unsigned scopes);

/* Makes a new token: out receives it (GW_TOKEN_LEN + 1 bytes, NUL-terminated)
 * and hash its stored form. */
void gw_token_new(char out[GW_TOKEN_LEN + 1], uint8_t hash[GW_TOKEN_HASH_LEN]);

/* The stored form of a presented token. */
void gw_token_hash(uint8_t hash[GW_TOKEN_HASH_LEN], const char *token, size_t len);

typedef struct gw_auth gw_auth;

/* Takes a connection of its own to gateway.db (owned). */
vg_err gw_auth_new(gw_auth **out, gw_db **db_p) VG_MUST_USE;
void gw_auth_destroy(gw_auth **auth_p);

/* The token of an "Authorization: Bearer <token>" header value: true with
 * the token's name and scopes when it is an active token. Never logs. */
bool gw_auth_check(gw_auth *auth, const char *authorization, char name[GW_NAME_MAX],
                   unsigned *scopes);

#endif
