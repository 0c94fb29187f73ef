/*
 * gw_officer.h — the web console's officers: names, roles, passwords and
 * logging in.
 *
 * An officer is a person of the agency, not a shared account: the name is
 * what they log in with and what goes on their receipts. A role says what
 * they may do: `duty` reads and acts (acknowledge, in progress, decline,
 * share), `viewer` only reads.
 *
 * Passwords are hashed with Argon2id (libsodium crypto_pwhash_str_alg,
 * OPSLIMIT/MEMLIMIT_INTERACTIVE: 64 MiB, 2 passes) and only the hash is
 * kept (gateway.db). A check costs about 70 ms and 64 MiB, so at most
 * GW_PWHASH_PARALLEL run at once (a login waits up to GW_PWHASH_WAIT_MS for
 * its turn, then is told the gateway is busy): a flood of logins cannot
 * take the gateway's memory. A name that does not exist is checked against
 * a dummy hash, so the answer takes as long and says the same ("name or
 * password is wrong").
 *
 * Lockout: `login_failures` wrong passwords in a row for one name lock that
 * name for `login_lockout`; while locked every attempt is refused without a
 * check (no oracle), the lock does not grow with attempts (an attacker
 * cannot lock an officer out for longer than one lockout at a time), and a
 * correct password afterwards starts the count again. Names that do not
 * exist are tracked the same way. At most GW_LOCKOUT_NAMES names are
 * tracked: the oldest unlocked one makes room.
 *
 * gw_officers caches the accounts and reloads them when gateway.db changed
 * (`officer add/remove/passwd/role` by the CLI take effect on the next
 * request). Any thread; it locks itself. Passwords are never logged, kept
 * or copied: callers wipe their buffers.
 */
#ifndef VIGIL_GATEWAY_GW_OFFICER_H
#define VIGIL_GATEWAY_GW_OFFICER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_db.h"

#define GW_PASSWORD_MIN 10     /* characters (bytes) at least */
#define GW_PASSWORD_MAX 1024   /* bytes at most */
#define GW_PWHASH_PARALLEL 2   /* Argon2id checks at once */
#define GW_PWHASH_WAIT_MS 5000 /* longest wait for a turn */
#define GW_LOCKOUT_NAMES 4096  /* names whose failures are counted */

typedef enum gw_role {
    GW_ROLE_NONE = 0,   /* not an officer */
    GW_ROLE_VIEWER = 1, /* reads */
    GW_ROLE_DUTY = 2,   /* reads and acts */
} gw_role;

/* "duty", "viewer" ("none" for GW_ROLE_NONE); never NULL. */
const char *gw_role_name(gw_role r);

/* GW_ROLE_DUTY or GW_ROLE_VIEWER from its name; GW_ROLE_NONE otherwise. */
gw_role gw_role_parse(const char *text);

/* The token scopes (gw_token.h) a role has: duty read|receipt, viewer read. */
unsigned gw_role_scopes(gw_role r);

/* True when name is 1..63 bytes of valid UTF-8 without control characters,
 * not starting or ending with a space: "DS Aisha Khan", "PC 4471". */
bool gw_officer_name_is_valid(const char *name);

/* VG_ERR_INVALID with why unless the password is GW_PASSWORD_MIN ..
 * GW_PASSWORD_MAX bytes without control characters. */
vg_err gw_password_check(const char *pw, size_t len, vg_reason *why) VG_MUST_USE;

/* out = Argon2id hash string of pw (crypto_pwhash_str_alg, interactive
 * limits). VG_ERR_NOMEM when libsodium cannot get the memory. */
vg_err gw_password_hash(char out[GW_PWHASH_MAX], const char *pw, size_t len) VG_MUST_USE;

/* One officer as the console sees it. */
typedef struct gw_officer {
    char name[GW_OFFICER_MAX]; /* name */
    gw_role role;              /* role */
    int64_t generation;        /* bumped by every change of the account */
    bool has_password;         /* may log in with a password (else SSO only) */
} gw_officer;

typedef struct gw_officers gw_officers;

/* Takes a connection of its own to gateway.db (owned, also on failure). */
vg_err gw_officers_new(gw_officers **out, gw_db **db_p, int64_t max_failures,
                       int64_t lockout_ms) VG_MUST_USE;
void gw_officers_destroy(gw_officers **o_p);

/* The account named name (exact match), reloading when gateway.db changed:
 * true with *out. */
bool gw_officers_find(gw_officers *o, const char *name, gw_officer *out);

typedef enum gw_login {
    GW_LOGIN_OK = 0,     /* *out is the officer */
    GW_LOGIN_WRONG = 1,  /* unknown name or wrong password (one answer for both) */
    GW_LOGIN_LOCKED = 2, /* the name is locked: *retry_after_ms */
    GW_LOGIN_BUSY = 3,   /* no turn to check within GW_PWHASH_WAIT_MS */
} gw_login;

/* Checks a login at monotonic time now_ms. On GW_LOGIN_WRONG *failures is
 * the name's count so far, and *retry_after_ms > 0 when this failure
 * locked it. */
gw_login gw_officers_login(gw_officers *o, const char *name, const char *pw, size_t pw_len,
                           int64_t now_ms, gw_officer *out, unsigned *failures,
                           int64_t *retry_after_ms);

#endif
