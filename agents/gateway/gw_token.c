/* gw_token.c — API tokens (see gw_token.h). */
#include "gw_token.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

/* The key of the token hash: it only separates this use of BLAKE2b. */
static const char s_hash_key[] = "vigil/gateway-token/v1";

static const struct {
    const char *name;
    unsigned bit;
} s_scopes[] = {
    {"publish", GW_SCOPE_PUBLISH}, {"read", GW_SCOPE_READ}, {"receipt", GW_SCOPE_RECEIPT}};

vg_err
gw_scopes_parse(unsigned *out, const char *text, vg_reason *why)
{
    unsigned bits = 0;
    const char *p = text;
    while (p != NULL && *p != '\0') {
        size_t n = strcspn(p, ",");
        bool known = false;
        for (size_t i = 0; i < sizeof s_scopes / sizeof s_scopes[0]; i++) {
            if (strlen(s_scopes[i].name) == n && strncmp(p, s_scopes[i].name, n) == 0) {
                bits |= s_scopes[i].bit;
                known = true;
            }
        }
        if (!known) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "unknown scope '%.*s': use publish, read and receipt, "
                                 "separated by commas",
                                 (int)n, p);
        }
        p += n + (p[n] == ',');
    }
    if (bits == 0) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "no scopes: give one or more of publish, read, receipt");
    }
    *out = bits;
    return VG_OK;
}

void
gw_scopes_format(char *out, size_t out_len, unsigned scopes)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof s_scopes / sizeof s_scopes[0] && used < out_len; i++) {
        if (scopes & s_scopes[i].bit) {
            int w = snprintf(out + used, out_len - used, "%s%s", used ? "," : "", s_scopes[i].name);
            used += w > 0 ? (size_t)w : 0;
        }
    }
}

void
gw_token_hash(uint8_t hash[GW_TOKEN_HASH_LEN], const char *token, size_t len)
{
    crypto_generichash(hash, GW_TOKEN_HASH_LEN, (const unsigned char *)token, len,
                       (const unsigned char *)s_hash_key, sizeof s_hash_key - 1);
}

void
gw_token_new(char out[GW_TOKEN_LEN + 1], uint8_t hash[GW_TOKEN_HASH_LEN])
{
    uint8_t raw[32];
    randombytes_buf(raw, sizeof raw);
    memcpy(out, GW_TOKEN_PREFIX, 4);
    sodium_bin2base64(out + 4, GW_TOKEN_LEN + 1 - 4, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    gw_token_hash(hash, out, GW_TOKEN_LEN);
}

struct gw_auth {
    gw_db *db;            /* its own connection */
    pthread_mutex_t lock; /* guards the cache */
    gw_token_row *rows;   /* active tokens */
    size_t n_rows;        /* count */
    bool loaded;          /* rows were read at least once */
};

vg_err
gw_auth_new(gw_auth **out, gw_db **db_p)
{
    gw_auth *a = calloc(1, sizeof *a);
    if (a == NULL) {
        gw_db_destroy(db_p);
        return VG_ERR_NOMEM;
    }
    a->db = *db_p;
    *db_p = NULL;
    pthread_mutex_init(&a->lock, NULL);
    *out = a;
    return VG_OK;
}

void
gw_auth_destroy(gw_auth **auth_p)
{
    if (auth_p == NULL || *auth_p == NULL) {
        return;
    }
    gw_auth *a = *auth_p;
    gw_db_destroy(&a->db);
    free(a->rows);
    pthread_mutex_destroy(&a->lock);
    free(a);
    *auth_p = NULL;
}

bool
gw_auth_check(gw_auth *a, const char *authorization, char name[GW_NAME_MAX], unsigned *scopes)
{
    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0) {
        return false;
    }
    const char *token = authorization + 7;
    while (*token == ' ') {
        token++;
    }
    size_t len = strcspn(token, " \t\r\n");
    if (len != GW_TOKEN_LEN || strncmp(token, GW_TOKEN_PREFIX, 4) != 0) {
        return false;
    }
    uint8_t hash[GW_TOKEN_HASH_LEN];
    gw_token_hash(hash, token, len);
    pthread_mutex_lock(&a->lock);
    if (!a->loaded || gw_db_changed(a->db)) {
        gw_token_row *rows = NULL;
        size_t n = 0;
        if (gw_db_tokens(a->db, false, &rows, &n) == VG_OK) {
            free(a->rows);
            a->rows = rows;
            a->n_rows = n;
            a->loaded = true;
        }
    }
    /* Every active token is compared, each in constant time. */
    const gw_token_row *match = NULL;
    for (size_t i = 0; i < a->n_rows; i++) {
        if (sodium_memcmp(a->rows[i].hash, hash, GW_TOKEN_HASH_LEN) == 0) {
            match = &a->rows[i];
        }
    }
    if (match != NULL) {
        snprintf(name, GW_NAME_MAX, "%s", match->name);
        *scopes = match->scopes;
    }
    pthread_mutex_unlock(&a->lock);
    return match != NULL;
}
