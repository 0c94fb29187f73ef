/*
 * store_internal.h — what the store's own files share (store.c,
 * store_track.c) and what the audit module needs: the connection, so that
 * its rows join the batch transaction. Not a contract beyond broker/.
 */
#ifndef VIGIL_BROKER_STORE_INTERNAL_H
#define VIGIL_BROKER_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store.h"

#define VGB_STMT_CACHE_MAX 64

/* Prepared statements keyed by the address of their (static) SQL text. */
typedef struct vgb_stmt_cache {
    const char *sql[VGB_STMT_CACHE_MAX];    /* keys: static strings */
    sqlite3_stmt *stmt[VGB_STMT_CACHE_MAX]; /* prepared once */
    size_t n;                               /* used slots */
} vgb_stmt_cache;

/* The connection (borrowed). */
sqlite3 *vgb_store_db(vgb_store *s);

/* The prepared statement for sql (a string literal: cached by address),
 * reset and unbound; NULL (logged) when it cannot be prepared. */
sqlite3_stmt *vgb_store_stmt(vgb_store *s, const char *sql);

/* The vg_err for an SQLite result code (full disk, corruption, ...). */
vg_err vgb_sqlite_err(int rc);

/* Logs a failed SQLite call and maps it to a vg_err. */
vg_err vgb_store_fail(vgb_store *s, int rc, const char *what);

#endif
