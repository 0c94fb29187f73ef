/* store_pg_params.c — binary parameters and results of the PostgreSQL back
 * end (see store_pg.h): numbers big-endian, text checked to be UTF-8,
 * one-dimensional arrays in PostgreSQL's binary array format. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_pg.h"

/* Type OIDs (pg_type.dat), stable since PostgreSQL 7. */
#define S_OID_BOOL 16u
#define S_OID_BYTEA 17u
#define S_OID_INT8 20u
#define S_OID_INT4 23u
#define S_OID_TEXT 25u

static void
s_put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    }
}

static uint64_t
s_get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* The next free parameter, or -1 (the set is marked failed). */
static int
s_slot(vgb_pg_params *p)
{
    if (p->n >= VGB_PG_PARAMS_MAX) {
        p->failed = true;
        return -1;
    }
    int i = p->n++;
    p->value[i] = NULL;
    p->len[i] = 0;
    p->fmt[i] = 1;
    p->owned[i] = NULL;
    return i;
}

static void
s_number(vgb_pg_params *p, uint64_t v, int width)
{
    int i = s_slot(p);
    if (i >= 0) {
        s_put_be(p->num[i], v, width);
        p->value[i] = (const char *)p->num[i];
        p->len[i] = width;
    }
}

void
vgb_pg_p_i64(vgb_pg_params *p, int64_t v)
{
    s_number(p, (uint64_t)v, 8);
}

void
vgb_pg_p_i32(vgb_pg_params *p, int32_t v)
{
    s_number(p, (uint64_t)(uint32_t)v, 4);
}

void
vgb_pg_p_bool(vgb_pg_params *p, bool v)
{
    s_number(p, v ? 1 : 0, 1);
}

void
vgb_pg_p_null(vgb_pg_params *p)
{
    (void)s_slot(p);
}

void
vgb_pg_p_limit(vgb_pg_params *p, uint64_t limit)
{
    if (limit > (uint64_t)INT64_MAX) {
        vgb_pg_p_null(p); /* LIMIT NULL: no limit (a negative LIMIT is an error) */
    } else {
        vgb_pg_p_i64(p, (int64_t)limit);
    }
}

void
vgb_pg_p_bytea(vgb_pg_params *p, const void *bytes, size_t len)
{
    int i = s_slot(p);
    if (i < 0 || bytes == NULL) {
        return;
    }
    if (len > INT_MAX) {
        p->failed = true;
        return;
    }
    p->value[i] = len > 0 ? (const char *)bytes : "";
    p->len[i] = (int)len;
}

/* The length of the valid UTF-8 sequence at s (n bytes left), 0 when it is
 * not one (PostgreSQL refuses overlong forms, surrogates, NUL). */
static size_t
s_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80) {
        return c != 0 ? 1 : 0;
    }
    size_t len = 0;
    uint32_t cp = 0, min = 0;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return len;
}

/* t as UTF-8: t itself when it is, else a malloc'ed copy (*copy) with U+FFFD
 * for each byte that does not start a valid sequence; NULL out of memory. */
static const char *
s_utf8(const char *t, size_t len, size_t *out_len, char **copy)
{
    const unsigned char *u = (const unsigned char *)t;
    size_t i = 0;
    while (i < len) {
        size_t k = s_utf8_seq(u + i, len - i);
        if (k == 0) {
            break;
        }
        i += k;
    }
    *copy = NULL;
    *out_len = len;
    if (i == len) {
        return t;
    }
    char *c = malloc(3 * len + 1);
    if (c == NULL) {
        return NULL;
    }
    size_t o = 0;
    for (i = 0; i < len;) {
        size_t k = s_utf8_seq(u + i, len - i);
        if (k == 0) {
            memcpy(c + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(c + o, u + i, k);
            o += k;
            i += k;
        }
    }
    c[o] = '\0';
    *copy = c;
    *out_len = o;
    return c;
}

void
vgb_pg_p_textn(vgb_pg_params *p, const char *t, size_t len)
{
    int i = s_slot(p);
    if (i < 0 || t == NULL) {
        return;
    }
    char *copy = NULL;
    size_t n = 0;
    const char *v = s_utf8(t, len, &n, &copy);
    if (v == NULL || n > INT_MAX) {
        free(copy);
        p->failed = true;
        return;
    }
    p->value[i] = n > 0 ? v : "";
    p->len[i] = (int)n;
    p->owned[i] = copy;
}

void
vgb_pg_p_text(vgb_pg_params *p, const char *t)
{
    vgb_pg_p_textn(p, t, t != NULL ? strlen(t) : 0);
}

void
vgb_pg_p_text_or_null(vgb_pg_params *p, const char *t)
{
    vgb_pg_p_text(p, t != NULL && t[0] != '\0' ? t : NULL);
}

/* A growing buffer for an array value. */
typedef struct s_buf {
    uint8_t *b;  /* bytes */
    size_t len;  /* used */
    size_t cap;  /* allocated */
    bool failed; /* out of memory */
} s_buf;

static void
s_buf_put(s_buf *b, const void *d, size_t n)
{
    if (b->failed) {
        return;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n) {
            cap *= 2;
        }
        uint8_t *nb = realloc(b->b, cap);
        if (nb == NULL) {
            b->failed = true;
            return;
        }
        b->b = nb;
        b->cap = cap;
    }
    memcpy(b->b + b->len, d, n);
    b->len += n;
}

static void
s_buf_be(s_buf *b, uint64_t v, int width)
{
    uint8_t t[8];
    s_put_be(t, v, width);
    s_buf_put(b, t, (size_t)width);
}

/* The header of a one-dimensional array of n elements of type oid. */
static void
s_array_head(s_buf *b, uint32_t oid, size_t n)
{
    s_buf_be(b, n > 0 ? 1 : 0, 4); /* dimensions: an empty array has none */
    s_buf_be(b, 0, 4);             /* no NULL elements */
    s_buf_be(b, oid, 4);
    if (n > 0) {
        s_buf_be(b, n, 4); /* size */
        s_buf_be(b, 1, 4); /* lower bound */
    }
}

/* Hands the finished buffer to the next parameter. */
static void
s_array_done(vgb_pg_params *p, s_buf *b, size_t n)
{
    int i = s_slot(p);
    if (i < 0 || b->failed || b->len > INT_MAX || n > INT_MAX) {
        free(b->b);
        p->failed = true;
        return;
    }
    p->value[i] = (const char *)b->b;
    p->len[i] = (int)b->len;
    p->owned[i] = b->b;
}

void
vgb_pg_p_i64_array(vgb_pg_params *p, const int64_t *v, size_t n)
{
    s_buf b = {0};
    s_array_head(&b, S_OID_INT8, n);
    for (size_t i = 0; i < n; i++) {
        s_buf_be(&b, 8, 4);
        s_buf_be(&b, (uint64_t)v[i], 8);
    }
    s_array_done(p, &b, n);
}

void
vgb_pg_p_i32_array(vgb_pg_params *p, const int32_t *v, size_t n)
{
    s_buf b = {0};
    s_array_head(&b, S_OID_INT4, n);
    for (size_t i = 0; i < n; i++) {
        s_buf_be(&b, 4, 4);
        s_buf_be(&b, (uint32_t)v[i], 4);
    }
    s_array_done(p, &b, n);
}

void
vgb_pg_p_bool_array(vgb_pg_params *p, const bool *v, size_t n)
{
    s_buf b = {0};
    s_array_head(&b, S_OID_BOOL, n);
    for (size_t i = 0; i < n; i++) {
        s_buf_be(&b, 1, 4);
        s_buf_be(&b, v[i] ? 1 : 0, 1);
    }
    s_array_done(p, &b, n);
}

void
vgb_pg_p_text_array(vgb_pg_params *p, const char *const *v, size_t n)
{
    s_buf b = {0};
    s_array_head(&b, S_OID_TEXT, n);
    for (size_t i = 0; i < n && !b.failed; i++) {
        char *copy = NULL;
        size_t len = 0;
        const char *t = s_utf8(v[i], strlen(v[i]), &len, &copy);
        if (t == NULL || len > INT_MAX) {
            b.failed = true;
        } else {
            s_buf_be(&b, len, 4);
            s_buf_put(&b, t, len);
        }
        free(copy);
    }
    s_array_done(p, &b, n);
}

void
vgb_pg_p_hash_array(vgb_pg_params *p, const uint8_t (*v)[VG_HASH_LEN], size_t n)
{
    s_buf b = {0};
    s_array_head(&b, S_OID_BYTEA, n);
    for (size_t i = 0; i < n; i++) {
        s_buf_be(&b, VG_HASH_LEN, 4);
        s_buf_put(&b, v[i], VG_HASH_LEN);
    }
    s_array_done(p, &b, n);
}

void
vgb_pg_params_fini(vgb_pg_params *p)
{
    if (p == NULL) {
        return;
    }
    for (int i = 0; i < p->n; i++) {
        free(p->owned[i]);
        p->owned[i] = NULL;
    }
    p->n = 0;
}

/* ---- results ----------------------------------------------------------------- */

int64_t
vgb_pg_r_i64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col)) {
        return 0;
    }
    const uint8_t *v = (const uint8_t *)PQgetvalue(r, row, col);
    switch (PQgetlength(r, row, col)) {
    case 8:
        return (int64_t)s_get_be(v, 8);
    case 4:
        return (int32_t)(uint32_t)s_get_be(v, 4);
    case 2:
        return (int16_t)(uint16_t)s_get_be(v, 2);
    case 1:
        return v[0];
    default:
        return 0;
    }
}

bool
vgb_pg_r_bool(const PGresult *r, int row, int col)
{
    return vgb_pg_r_i64(r, row, col) != 0;
}

const char *
vgb_pg_r_text(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col); /* libpq NUL-terminates */
}

const uint8_t *
vgb_pg_r_bytes(const PGresult *r, int row, int col, size_t *len)
{
    if (PQgetisnull(r, row, col)) {
        *len = 0;
        return NULL;
    }
    *len = (size_t)PQgetlength(r, row, col);
    return (const uint8_t *)PQgetvalue(r, row, col);
}

bool
vgb_pg_r_hash(const PGresult *r, int row, int col, uint8_t out[VG_HASH_LEN])
{
    size_t len = 0;
    const uint8_t *h = vgb_pg_r_bytes(r, row, col, &len);
    if (h == NULL || len != VG_HASH_LEN) {
        return false;
    }
    memcpy(out, h, VG_HASH_LEN);
    return true;
}

void
vgb_pg_r_copy(char *out, size_t len, const PGresult *r, int row, int col)
{
    snprintf(out, len, "%s", vgb_pg_r_text(r, row, col));
}
