/*
 * gw_db.h — the gateway's own SQLite store, <[agent] store>/gateway.db,
 * beside the agent's agent.db (which keeps the outbox and inbox):
 *
 *   tokens       API tokens: name, BLAKE2b-256 of the token (never the
 *                token), scopes, created and revoked times
 *   idempotency  (token name, Idempotency-Key) -> request hash, alert id and
 *                the signed envelope, so a repeated request returns (and
 *                resends) the same alert, across restarts
 *   cap_refs     CAP reference (sender,identifier,sent) -> vigil alert id of
 *                CAP alerts published or received here, so a later CAP
 *                Update or Cancel can reference them
 *   webhooks     name, URL, HMAC secret, body format, whether events go too
 *   deliveries   one row per (webhook, alert or event) to POST, with its
 *                attempts, next attempt time and outcome; alerts are named
 *                by id and read from the inbox when sent, so no alert text
 *                is ever stored here (events are metadata only)
 *   attempts     every POST made: when, HTTP status or error, how long
 *   cursors      how far the gateway has handed the inbox (row) and the
 *                event stream (seq) on to the deliveries, and how far the
 *                link index has read the inbox (gw_db_console.c)
 *   officers     the web console's officer accounts: name, role, Argon2id
 *                hash of the password (libsodium's crypto_pwhash_str form;
 *                never the password), a generation bumped by every change
 *   links        the link index: for each alert of the inbox (and each one
 *                published here), the incidents, subject references and
 *                references it names, so the console's detail view finds
 *                earlier alerts about the same thing (keys only: no text
 *                beyond those identifiers)
 *
 * WAL, synchronous=FULL: a write that returns is on disk. A gw_db is one
 * connection with a mutex: any thread may use it; threads that write often
 * open their own (same file). Nothing here logs.
 */
#ifndef VIGIL_GATEWAY_GW_DB_H
#define VIGIL_GATEWAY_GW_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"
#include "vigil/wire.h"

#define GW_NAME_MAX 64       /* token and webhook names: 1..63 of a-z 0-9 . _ - */
#define GW_TOKEN_HASH_LEN 32 /* BLAKE2b-256 */
#define GW_WEBHOOK_SECRET_LEN 32
#define GW_IDEM_KEY_MAX 255 /* Idempotency-Key header */

typedef struct gw_db gw_db;

/* Opens (creating) store_dir/gateway.db. VG_ERR_IO with why. */
vg_err gw_db_open(gw_db **out, const char *store_dir, vg_reason *why) VG_MUST_USE;

/* NULL-safe; sets *db_p = NULL. */
void gw_db_destroy(gw_db **db_p);

/* True when name is 1..63 of a-z, 0-9, '.', '_', '-' (not starting with '-'). */
bool gw_name_is_valid(const char *name);

/* ---- tokens ------------------------------------------------------------------------- */

typedef struct gw_token_row {
    char name[GW_NAME_MAX];          /* client system */
    uint8_t hash[GW_TOKEN_HASH_LEN]; /* of the token */
    unsigned scopes;                 /* GW_SCOPE_* bits (gw_token.h) */
    int64_t created_ms;              /* when added */
    int64_t revoked_ms;              /* 0 = active */
} gw_token_row;

/* VG_ERR_DUPLICATE when an active token has this name. */
vg_err gw_db_token_add(gw_db *db, const char *name, const uint8_t hash[GW_TOKEN_HASH_LEN],
                       unsigned scopes, int64_t now_ms, vg_reason *why) VG_MUST_USE;

/* VG_ERR_NOT_FOUND when no active token has this name. */
vg_err gw_db_token_revoke(gw_db *db, const char *name, int64_t now_ms, vg_reason *why) VG_MUST_USE;

/* Every token (revoked ones too, when all); *out malloc'ed (free()). */
vg_err gw_db_tokens(gw_db *db, bool all, gw_token_row **out, size_t *n_out) VG_MUST_USE;

/* True when another connection committed since the last call (PRAGMA
 * data_version): the caller reloads what it cached. */
bool gw_db_changed(gw_db *db);

/* ---- idempotency -------------------------------------------------------------------- */

typedef struct gw_idem {
    uint8_t request_hash[VG_HASH_LEN]; /* of method, path, content type and body */
    uint8_t alert_id[VG_ALERT_ID_LEN]; /* the alert made */
    uint8_t *envelope;                 /* its signed envelope (malloc'ed) */
    size_t envelope_len;               /* its length */
} gw_idem;

void gw_idem_fini(gw_idem *i);

/* *found and *out (owning the envelope) for (token, key). */
vg_err gw_db_idem_get(gw_db *db, const char *token, const char *key, gw_idem *out,
                      bool *found) VG_MUST_USE;

/* Records (token, key) -> idem; VG_ERR_DUPLICATE when the pair exists. */
vg_err gw_db_idem_put(gw_db *db, const char *token, const char *key, const gw_idem *idem,
                      int64_t now_ms) VG_MUST_USE;

/* ---- CAP references ------------------------------------------------------------------- */

vg_err gw_db_cap_ref_put(gw_db *db, const char *triple,
                         const uint8_t id[VG_ALERT_ID_LEN]) VG_MUST_USE;
bool gw_db_cap_ref_find(gw_db *db, const char *triple, uint8_t id[VG_ALERT_ID_LEN]);

/* ---- webhooks --------------------------------------------------------------------------- */

typedef struct gw_webhook_row {
    char name[GW_NAME_MAX];                /* its name */
    char *url;                             /* where to POST (malloc'ed) */
    uint8_t secret[GW_WEBHOOK_SECRET_LEN]; /* HMAC-SHA256 key */
    bool cap;                              /* alerts as CAP 1.2 (else vigil JSON) */
    bool events;                           /* events too */
    int64_t created_ms;                    /* when added */
} gw_webhook_row;

void gw_webhook_rows_free(gw_webhook_row *rows, size_t n);

/* VG_ERR_DUPLICATE when a webhook has this name. */
vg_err gw_db_webhook_add(gw_db *db, const gw_webhook_row *w, vg_reason *why) VG_MUST_USE;

/* Removes it and its pending deliveries (the record of attempts stays).
 * VG_ERR_NOT_FOUND. */
vg_err gw_db_webhook_remove(gw_db *db, const char *name, vg_reason *why) VG_MUST_USE;

vg_err gw_db_webhooks(gw_db *db, gw_webhook_row **out, size_t *n_out) VG_MUST_USE;

/* ---- deliveries ---------------------------------------------------------------------------- */

/* The cursors: "inbox_row" and "event_seq"; *found false when never set. */
vg_err gw_db_cursor(gw_db *db, const char *name, int64_t *out, bool *found) VG_MUST_USE;
vg_err gw_db_cursor_set(gw_db *db, const char *name, int64_t value) VG_MUST_USE;

/* Queues alert id (inbox row `row`) for every webhook and moves the inbox
 * cursor to row, in one transaction. */
vg_err gw_db_queue_alert(gw_db *db, int64_t row, const uint8_t id[VG_ALERT_ID_LEN],
                         int64_t now_ms) VG_MUST_USE;

/* Queues event seq (its JSON: metadata only) for every webhook that takes
 * events and moves the event cursor to seq, in one transaction. */
vg_err gw_db_queue_event(gw_db *db, uint64_t seq, const char *kind, const char *json,
                         int64_t now_ms) VG_MUST_USE;

typedef struct gw_delivery {
    int64_t id;                        /* row */
    char webhook[GW_NAME_MAX];         /* to which */
    bool is_event;                     /* an event (else an alert) */
    uint8_t alert_id[VG_ALERT_ID_LEN]; /* the alert (or the event's alert) */
    char kind[32];                     /* "alert" or the event kind */
    uint64_t seq;                      /* the event's seq */
    char *event_json;                  /* the event (malloc'ed), NULL for an alert */
    int64_t attempts;                  /* made so far */
    int64_t first_failure_ms;          /* 0 = none failed yet */
} gw_delivery;

void gw_delivery_fini(gw_delivery *d);

/* The oldest undelivered delivery of each webhook is its head: deliveries
 * go out in order, one webhook's failures never reorder its stream. Gives
 * the head of some webhook due by now_ms; otherwise *found false and
 * *next_due_ms the earliest time one becomes due (0: none pending). */
vg_err gw_db_next_due(gw_db *db, int64_t now_ms, gw_delivery *out, bool *found,
                      int64_t *next_due_ms) VG_MUST_USE;

/* Records an attempt: delivered (status 2xx) or failed (next attempt at
 * next_ms). error may be NULL. */
vg_err gw_db_attempt(gw_db *db, const gw_delivery *d, bool delivered, long status,
                     const char *error, int64_t now_ms, int64_t took_ms,
                     int64_t next_ms) VG_MUST_USE;

typedef struct gw_webhook_stats {
    int64_t pending;          /* deliveries not yet made */
    int64_t delivered;        /* made */
    int64_t failures;         /* failed attempts, ever */
    int64_t failing_since_ms; /* first failure of the current head, 0 = not failing */
    char last_error[128];     /* of the latest failed attempt */
} gw_webhook_stats;

/* A webhook's figures (zeros for what cannot be read). */
void gw_db_webhook_stats(gw_db *db, const char *name, gw_webhook_stats *out);

/* ---- officers (gw_db_console.c) ----------------------------------------------------------------
 */

#define GW_OFFICER_MAX 64 /* an officer's name: 1..63 bytes (gw_officer_name_is_valid) */
#define GW_ROLE_MAX 16    /* "duty", "viewer" */
#define GW_PWHASH_MAX 128 /* crypto_pwhash_STRBYTES: the Argon2id string with its NUL */

typedef struct gw_officer_row {
    char name[GW_OFFICER_MAX];  /* how the officer logs in, and the name on receipts */
    char role[GW_ROLE_MAX];     /* "duty" or "viewer" */
    char pwhash[GW_PWHASH_MAX]; /* crypto_pwhash_str of the password; "" = none (SSO only) */
    int64_t generation;         /* bumped by every change: sessions of older ones end */
    int64_t created_ms;         /* when added */
    int64_t changed_ms;         /* last change */
} gw_officer_row;

/* Adds o (generation 1). VG_ERR_DUPLICATE when the name exists. */
vg_err gw_db_officer_add(gw_db *db, const gw_officer_row *o, int64_t now_ms,
                         vg_reason *why) VG_MUST_USE;

/* Changes an officer's role and/or password hash (NULL: keep) and bumps its
 * generation. VG_ERR_NOT_FOUND. */
vg_err gw_db_officer_set(gw_db *db, const char *name, const char *role, const char *pwhash,
                         int64_t now_ms, vg_reason *why) VG_MUST_USE;

/* VG_ERR_NOT_FOUND. */
vg_err gw_db_officer_remove(gw_db *db, const char *name, vg_reason *why) VG_MUST_USE;

/* Every officer, by name; *out malloc'ed (free()). */
vg_err gw_db_officers(gw_db *db, gw_officer_row **out, size_t *n_out) VG_MUST_USE;

/* ---- the link index (gw_db_console.c) ----------------------------------------------------------
 */

#define GW_LINK_KEY_MAX 320 /* "incident:NAME", "subject:SCHEME<US>VALUE", "ref:HEX" */
#define GW_LINK_KEYS_HIT 4  /* keys kept per hit */

/* Records alert id's keys with its time (the sender's created time: hits
 * come newest first) and, when cursor is not NULL, sets that cursor to
 * cursor_value, in one transaction. Keys already recorded are kept once. */
vg_err gw_db_links_put(gw_db *db, int64_t at_ms, const uint8_t id[VG_ALERT_ID_LEN],
                       const char *const *keys, size_t n_keys, const char *cursor,
                       int64_t cursor_value) VG_MUST_USE;

typedef struct gw_link_hit {
    uint8_t id[VG_ALERT_ID_LEN];                  /* another alert */
    int64_t at_ms;                                /* its time (newest first) */
    char keys[GW_LINK_KEYS_HIT][GW_LINK_KEY_MAX]; /* what it shares with the one asked about */
    size_t n_keys;                                /* how many */
} gw_link_hit;

/* The alerts other than id that have any of keys, newest first, at most
 * max; *out malloc'ed (free()). */
vg_err gw_db_links_find(gw_db *db, const uint8_t id[VG_ALERT_ID_LEN], const char *const *keys,
                        size_t n_keys, size_t max, gw_link_hit **out, size_t *n_out) VG_MUST_USE;

#endif
