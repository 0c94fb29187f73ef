/*
 * gw_session.h — officers' sessions in the web console.
 *
 * A session is made when an officer logs in (or a trusted proxy names
 * them: SSO) and lives in the gateway's memory only: a restart ends every
 * session, and the officers log in again. Its id is 32 random bytes
 * (base64url, the cookie's value); the table keeps only BLAKE2b-256 of it,
 * compared in constant time, so not even a dump of the gateway's memory
 * gives a usable cookie. Each session has its own CSRF token (32 random
 * bytes, base64url) that the page sends back in X-CSRF-Token with every
 * request that changes something.
 *
 * Timeouts run on the monotonic clock: a session ends `session_idle` after
 * it was last used (login, keepalive, or an action: the event stream and
 * the page's own background reads do not count, so a screen left alone
 * does not stay signed in for ever) and `session_max` after login, used or
 * not. At most GW_SESSIONS_MAX live at once; expired ones make room.
 *
 * Any thread; it locks itself. Nothing here logs.
 */
#ifndef VIGIL_GATEWAY_GW_SESSION_H
#define VIGIL_GATEWAY_GW_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_officer.h"

#define GW_SESSION_ID_LEN 43  /* base64url of 32 random bytes */
#define GW_SESSION_KEY_LEN 32 /* BLAKE2b-256 of the id */
#define GW_CSRF_LEN 43        /* base64url of 32 random bytes */
#define GW_SESSIONS_MAX 1024  /* live at once */

typedef enum gw_session_state {
    GW_SESSION_LIVE = 0,    /* valid: *out filled */
    GW_SESSION_UNKNOWN = 1, /* no such session (never made, logged out, or forgotten) */
    GW_SESSION_IDLE = 2,    /* ended now: unused for session_idle */
    GW_SESSION_EXPIRED = 3, /* ended now: session_max after login */
} gw_session_state;

/* "live", "unknown", "idle", "expired"; never NULL. */
const char *gw_session_state_name(gw_session_state s);

typedef struct gw_session {
    uint8_t key[GW_SESSION_KEY_LEN]; /* BLAKE2b-256 of the id */
    char officer[GW_OFFICER_MAX];    /* who */
    gw_role role;                    /* their role at login */
    int64_t generation;              /* their account's generation at login */
    char csrf[GW_CSRF_LEN + 1];      /* the CSRF token */
    bool sso;                        /* made from a trusted proxy's header */
    int64_t created_mono_ms;         /* login (monotonic) */
    int64_t used_mono_ms;            /* last use (monotonic) */
    int64_t created_wall_ms;         /* login (wall clock, for people) */
    int64_t idle_left_ms;            /* until it ends unused (as of the check) */
    int64_t max_left_ms;             /* until it ends regardless (as of the check) */
} gw_session;

typedef struct gw_sessions gw_sessions;

vg_err gw_sessions_new(gw_sessions **out, int64_t idle_ms, int64_t max_ms) VG_MUST_USE;
void gw_sessions_destroy(gw_sessions **s_p);

/* The key of a session id as the table keeps it. */
void gw_session_key(uint8_t key[GW_SESSION_KEY_LEN], const char *id, size_t len);

/* Makes a session for who: id_out gets the cookie value (NUL-terminated)
 * and *out the session. VG_ERR_RATE_LIMITED when GW_SESSIONS_MAX sessions
 * are live. */
vg_err gw_sessions_create(gw_sessions *s, const gw_officer *who, bool sso, int64_t now_mono_ms,
                          int64_t now_wall_ms, char id_out[GW_SESSION_ID_LEN + 1],
                          gw_session *out) VG_MUST_USE;

/* Looks the session up by key at now_mono_ms; with touch, a live session's
 * idle time starts again. A session found past a timeout is removed and
 * reported as IDLE or EXPIRED (once). */
gw_session_state gw_sessions_check(gw_sessions *s, const uint8_t key[GW_SESSION_KEY_LEN],
                                   int64_t now_mono_ms, bool touch, gw_session *out);

/* Ends the session (logout); nothing when there is none. */
void gw_sessions_end(gw_sessions *s, const uint8_t key[GW_SESSION_KEY_LEN]);

/* Live sessions now. */
size_t gw_sessions_count(gw_sessions *s, int64_t now_mono_ms);

#endif
