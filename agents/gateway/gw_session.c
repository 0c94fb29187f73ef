/* gw_session.c — officers' sessions (see gw_session.h). */
#include "gw_session.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* The key of the session hash: it only separates this use of BLAKE2b. */
static const char s_hash_key[] = "vigil/gateway-session/v1";

struct gw_sessions {
    pthread_mutex_t lock; /* guards the table */
    gw_session *table;    /* GW_SESSIONS_MAX slots */
    bool *used;           /* which slots hold a session */
    int64_t idle_ms;      /* session_idle */
    int64_t max_ms;       /* session_max */
};

const char *
gw_session_state_name(gw_session_state s)
{
    switch (s) {
    case GW_SESSION_LIVE:
        return "live";
    case GW_SESSION_IDLE:
        return "idle";
    case GW_SESSION_EXPIRED:
        return "expired";
    default:
        return "unknown";
    }
}

vg_err
gw_sessions_new(gw_sessions **out, int64_t idle_ms, int64_t max_ms)
{
    gw_sessions *s = calloc(1, sizeof *s);
    if (s == NULL || (s->table = calloc(GW_SESSIONS_MAX, sizeof *s->table)) == NULL ||
        (s->used = calloc(GW_SESSIONS_MAX, sizeof *s->used)) == NULL) {
        if (s != NULL) {
            free(s->table);
        }
        free(s);
        return VG_ERR_NOMEM;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->idle_ms = idle_ms;
    s->max_ms = max_ms;
    *out = s;
    return VG_OK;
}

void
gw_sessions_destroy(gw_sessions **s_p)
{
    if (s_p == NULL || *s_p == NULL) {
        return;
    }
    gw_sessions *s = *s_p;
    sodium_memzero(s->table, GW_SESSIONS_MAX * sizeof *s->table);
    free(s->table);
    free(s->used);
    pthread_mutex_destroy(&s->lock);
    free(s);
    *s_p = NULL;
}

void
gw_session_key(uint8_t key[GW_SESSION_KEY_LEN], const char *id, size_t len)
{
    crypto_generichash(key, GW_SESSION_KEY_LEN, (const unsigned char *)id, len,
                       (const unsigned char *)s_hash_key, sizeof s_hash_key - 1);
}

/* 32 random bytes as 43 base64url characters. */
static void
s_random_text(char out[GW_SESSION_ID_LEN + 1])
{
    uint8_t raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, GW_SESSION_ID_LEN + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

/* Which timeout a session has passed at now, if any (lock held). */
static gw_session_state
s_state(const gw_sessions *s, const gw_session *x, int64_t now)
{
    if (now - x->created_mono_ms >= s->max_ms) {
        return GW_SESSION_EXPIRED;
    }
    return now - x->used_mono_ms >= s->idle_ms ? GW_SESSION_IDLE : GW_SESSION_LIVE;
}

static void
s_remove(gw_sessions *s, size_t i)
{
    sodium_memzero(&s->table[i], sizeof s->table[i]);
    s->used[i] = false;
}

vg_err
gw_sessions_create(gw_sessions *s, const gw_officer *who, bool sso, int64_t now_mono_ms,
                   int64_t now_wall_ms, char id_out[GW_SESSION_ID_LEN + 1], gw_session *out)
{
    pthread_mutex_lock(&s->lock);
    size_t slot = GW_SESSIONS_MAX;
    for (size_t i = 0; i < GW_SESSIONS_MAX; i++) {
        if (s->used[i] && s_state(s, &s->table[i], now_mono_ms) != GW_SESSION_LIVE) {
            s_remove(s, i);
        }
        if (!s->used[i] && slot == GW_SESSIONS_MAX) {
            slot = i;
        }
    }
    if (slot == GW_SESSIONS_MAX) {
        pthread_mutex_unlock(&s->lock);
        return VG_ERR_RATE_LIMITED;
    }
    gw_session *x = &s->table[slot];
    memset(x, 0, sizeof *x);
    s_random_text(id_out);
    gw_session_key(x->key, id_out, GW_SESSION_ID_LEN);
    s_random_text(x->csrf);
    snprintf(x->officer, sizeof x->officer, "%s", who->name);
    x->role = who->role;
    x->generation = who->generation;
    x->sso = sso;
    x->created_mono_ms = x->used_mono_ms = now_mono_ms;
    x->created_wall_ms = now_wall_ms;
    x->idle_left_ms = s->idle_ms;
    x->max_left_ms = s->max_ms;
    s->used[slot] = true;
    *out = *x;
    pthread_mutex_unlock(&s->lock);
    return VG_OK;
}

/* The slot of key (lock held), or GW_SESSIONS_MAX. Every used slot is
 * compared, each in constant time. */
static size_t
s_find(const gw_sessions *s, const uint8_t key[GW_SESSION_KEY_LEN])
{
    size_t found = GW_SESSIONS_MAX;
    for (size_t i = 0; i < GW_SESSIONS_MAX; i++) {
        if (s->used[i] && sodium_memcmp(s->table[i].key, key, GW_SESSION_KEY_LEN) == 0) {
            found = i;
        }
    }
    return found;
}

gw_session_state
gw_sessions_check(gw_sessions *s, const uint8_t key[GW_SESSION_KEY_LEN], int64_t now_mono_ms,
                  bool touch, gw_session *out)
{
    pthread_mutex_lock(&s->lock);
    size_t i = s_find(s, key);
    gw_session_state st = GW_SESSION_UNKNOWN;
    if (i < GW_SESSIONS_MAX) {
        gw_session *x = &s->table[i];
        st = s_state(s, x, now_mono_ms);
        if (st != GW_SESSION_LIVE) {
            s_remove(s, i);
        } else {
            if (touch) {
                x->used_mono_ms = now_mono_ms;
            }
            int64_t idle_left = s->idle_ms - (now_mono_ms - x->used_mono_ms);
            int64_t max_left = s->max_ms - (now_mono_ms - x->created_mono_ms);
            x->idle_left_ms = idle_left < max_left ? idle_left : max_left;
            x->max_left_ms = max_left;
            *out = *x;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

void
gw_sessions_end(gw_sessions *s, const uint8_t key[GW_SESSION_KEY_LEN])
{
    pthread_mutex_lock(&s->lock);
    size_t i = s_find(s, key);
    if (i < GW_SESSIONS_MAX) {
        s_remove(s, i);
    }
    pthread_mutex_unlock(&s->lock);
}

size_t
gw_sessions_count(gw_sessions *s, int64_t now_mono_ms)
{
    pthread_mutex_lock(&s->lock);
    size_t n = 0;
    for (size_t i = 0; i < GW_SESSIONS_MAX; i++) {
        n += s->used[i] && s_state(s, &s->table[i], now_mono_ms) == GW_SESSION_LIVE;
    }
    pthread_mutex_unlock(&s->lock);
    return n;
}
