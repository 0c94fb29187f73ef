/*
 * vigil/util.h — small helpers every module needs: hex, durations, files.
 *
 * Owns nothing between calls. Files that must survive a crash are written
 * atomically (temp file, fsync, rename, fsync the directory). Thread rules:
 * none (no shared state).
 */
#ifndef VIGIL_LIB_UTIL_H
#define VIGIL_LIB_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vigil/err.h"

/* Writes 2*len lowercase hex characters and a NUL into out (out_len >= 2*len+1). */
void vg_hex_encode(char *out, size_t out_len, const uint8_t *in, size_t len);

/* Decodes exactly out_len bytes from hex (exactly 2*out_len hex characters,
 * either case). VG_ERR_MALFORMED on any other length or a non-hex character. */
vg_err vg_hex_decode(uint8_t *out, size_t out_len, const char *hex) VG_MUST_USE;

/* Parses a duration: an integer followed by ms, s, m, h or d ("250ms", "5s",
 * "15m", "1h", "3d"). VG_ERR_MALFORMED names what was wrong in why. */
vg_err vg_duration_parse(uint64_t *out_ms, const char *text, vg_reason *why) VG_MUST_USE;

/* Formats a duration as the largest exact unit ("90s", "15m", "1h"). */
void vg_duration_format(char *out, size_t out_len, uint64_t ms);

/* Parses a size: an integer, optionally followed by B, KiB, MiB or GiB
 * ("65536", "64KiB", "1GiB"). VG_ERR_MALFORMED names what was wrong in why. */
vg_err vg_size_parse(uint64_t *out_bytes, const char *text, vg_reason *why) VG_MUST_USE;

/* Formats a size as the largest exact unit ("64KiB", "1GiB", "1000B"). */
void vg_size_format(char *out, size_t out_len, uint64_t bytes);

/* Reads a whole file of at most max_bytes. *out is malloc'ed and NUL-terminated
 * (the NUL is not counted in *out_len); free() it. VG_ERR_NOT_FOUND,
 * VG_ERR_IO, VG_ERR_TOO_LARGE. */
vg_err vg_file_read(uint8_t **out, size_t *out_len, const char *path, size_t max_bytes,
                    vg_reason *why) VG_MUST_USE;

/* Like vg_file_read, for a file that must be private to its owner: refuses
 * (VG_ERR_KEY_PERMS) a file that group or others may access, checked on the
 * open descriptor so the file read is the file checked. */
vg_err vg_file_read_private(uint8_t **out, size_t *out_len, const char *path, size_t max_bytes,
                            vg_reason *why) VG_MUST_USE;

/* Replaces path atomically with data, created with mode (e.g. 0600): writes
 * path.tmp, fsyncs it, renames it over path, fsyncs the directory. */
vg_err vg_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                            vg_reason *why) VG_MUST_USE;

/* Creates a directory and its parents (like mkdir -p) with mode. */
vg_err vg_mkdir_p(const char *path, mode_t mode, vg_reason *why) VG_MUST_USE;

/* Resolves rel against the directory of base_file: an absolute rel is copied,
 * a relative one becomes dirname(base_file)/rel. Returns a malloc'ed string
 * (free() it) or NULL when out of memory. */
char *vg_path_relative_to(const char *base_file, const char *rel);

/* A growable list of owned strings. Zero-initialise ({0}) to start. */
typedef struct vg_strlist {
    char **items; /* malloc'ed strings, n of them */
    size_t n;     /* number of items */
    size_t cap;   /* allocated slots */
} vg_strlist;

/* Appends a copy of s. VG_ERR_NOMEM. */
vg_err vg_strlist_add(vg_strlist *l, const char *s) VG_MUST_USE;

/* Appends a copy of s unless an equal string is already there. */
vg_err vg_strlist_add_unique(vg_strlist *l, const char *s) VG_MUST_USE;

bool vg_strlist_contains(const vg_strlist *l, const char *s);

/* An item listed twice (a pointer into l; the first such in sorted order),
 * or NULL when every item is different; found by sorting a copy of the
 * pointers, O(n log n), so that a list of thousands of agencies is cheap to
 * check. VG_ERR_NOMEM. */
vg_err vg_strlist_find_duplicate(const vg_strlist *l, const char **dup_out) VG_MUST_USE;

/* qsort/bsearch comparator for arrays of char *: strcmp of what they point to. */
int vg_str_ptr_cmp(const void *a, const void *b);

/* Joins the items with sep into out (truncating with "..." if it must). */
void vg_strlist_join(char *out, size_t out_len, const vg_strlist *l, const char *sep);

/* Appends the comma-separated items of text, trimming spaces; an empty item
 * is VG_ERR_MALFORMED, and then out is left as it was. */
vg_err vg_strlist_split(vg_strlist *out, const char *text, vg_reason *why) VG_MUST_USE;

/* Frees the items and the array; leaves l zeroed. NULL-safe. */
void vg_strlist_fini(vg_strlist *l);

/* A malloc'ed copy of s, or NULL when s is NULL or out of memory. */
char *vg_strdup(const char *s);

/* True when id is a valid agency id: 1..63 of [a-z0-9-], not starting with '-'. */
bool vg_agency_id_is_valid(const char *id);

#endif
