/*
 * gw_db_internal.h — what the files of the gateway store share (gw_db.c:
 * tokens, idempotency, CAP references, webhooks, cursors; gw_db_console.c:
 * officers and the link index). Internal to those files: everyone else
 * speaks gw_db.h.
 *
 * Every helper is called with db->lock held.
 */
#ifndef VIGIL_GATEWAY_GW_DB_INTERNAL_H
#define VIGIL_GATEWAY_GW_DB_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "gw_db.h"

struct gw_db {
    sqlite3 *db;          /* the connection */
    char *path;           /* gateway.db */
    pthread_mutex_t lock; /* one user at a time */
    int64_t data_version; /* last PRAGMA data_version seen */
};

/* VG_ERR_IO with "gateway store PATH: what: sqlite's message". */
vg_err gw_dbi_fail(gw_db *db, const char *what, vg_reason *why);

/* A prepared statement, or NULL. */
sqlite3_stmt *gw_dbi_prep(gw_db *db, const char *sql);

/* Steps a statement that returns no rows, then finalizes it (NULL-safe:
 * SQLITE_ERROR). Returns the step's code. */
int gw_dbi_run(sqlite3_stmt *st);

/* sqlite3_exec without results: true on SQLITE_OK. */
bool gw_dbi_exec(gw_db *db, const char *sql);

/* Rolls back an open transaction (none open: nothing). */
void gw_dbi_rollback(gw_db *db);

/* Column col as text (NULL as ""), truncated to out_len. */
void gw_dbi_col_text(char *out, size_t out_len, sqlite3_stmt *st, int col);

/* Sets cursor name to value (inside the caller's transaction, if any). */
bool gw_dbi_cursor_set(gw_db *db, const char *name, int64_t value);

/* Column col as exactly len bytes (zeros when it has another length). */
void gw_dbi_col_blob(uint8_t *out, size_t len, sqlite3_stmt *st, int col);

#endif
