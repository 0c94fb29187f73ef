/*
 * gw_static.h — the web console's files (HTML, CSS, JavaScript modules,
 * images), read once at start into memory and served from there.
 *
 * Only what was loaded can be served: a request names a file by its path
 * relative to the console's directory and gets it or a 404, so no path in a
 * URL ever reaches the file system (no traversal, no symlink surprises, no
 * file added later). Files are taken from the directory and its
 * subdirectories (two levels), regular files only, names of a-z A-Z 0-9
 * . _ - not starting with '.', with a known extension (html, js, mjs, css,
 * svg, png, ico, txt, json, webmanifest); each at most GW_STATIC_FILE_MAX
 * bytes, GW_STATIC_TOTAL_MAX in all. Each file's ETag is BLAKE2b-128 of its
 * bytes. Read-only after load: any thread.
 */
#ifndef VIGIL_GATEWAY_GW_STATIC_H
#define VIGIL_GATEWAY_GW_STATIC_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

#define GW_STATIC_FILE_MAX (1024 * 1024)      /* one file */
#define GW_STATIC_TOTAL_MAX (8 * 1024 * 1024) /* every file */
#define GW_STATIC_FILES_MAX 256               /* how many */
#define GW_STATIC_PATH_MAX 128                /* "js/app.js" */

typedef struct gw_static_file {
    char path[GW_STATIC_PATH_MAX]; /* relative to the directory, '/'-separated */
    const char *ctype;             /* Content-Type */
    uint8_t *data;                 /* the bytes (owned by the gw_static) */
    size_t len;                    /* their length */
    char etag[36];                 /* "\"<32 hex>\"" */
} gw_static_file;

typedef struct gw_static gw_static;

/* Loads dir. VG_ERR_NOT_FOUND (no directory, or no index.html in it),
 * VG_ERR_TOO_LARGE (over a limit), VG_ERR_IO, VG_ERR_NOMEM, with why. */
vg_err gw_static_load(gw_static **out, const char *dir, vg_reason *why) VG_MUST_USE;

void gw_static_destroy(gw_static **s_p);

/* The file at rel ("index.html", "js/app.js"), or NULL. */
const gw_static_file *gw_static_find(const gw_static *s, const char *rel);

/* How many files, and the i-th (for logs and tests). */
size_t gw_static_count(const gw_static *s);
const gw_static_file *gw_static_at(const gw_static *s, size_t i);

/* The console directory beside the running binary:
 * <directory of /proc/self/exe>/../share/vigil/console. VG_ERR_IO with why
 * when the binary's path cannot be read. */
vg_err gw_static_default_dir(char *out, size_t out_len, vg_reason *why) VG_MUST_USE;

#endif
