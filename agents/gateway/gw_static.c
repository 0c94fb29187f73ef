/* gw_static.c — the web console's files, served from memory (see gw_static.h). */
#define _DEFAULT_SOURCE /* DT_DIR, readlink */

#include "gw_static.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "vigil/util.h"

struct gw_static {
    gw_static_file *files; /* loaded files */
    size_t n;              /* count */
    size_t total;          /* their bytes */
};

static const struct {
    const char *ext;   /* after the last '.' */
    const char *ctype; /* served as */
} s_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"ico", "image/x-icon"},
    {"txt", "text/plain; charset=utf-8"},
    {"json", "application/json"},
    {"webmanifest", "application/manifest+json"},
};

static const char *
s_type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot != NULL && i < sizeof s_types / sizeof s_types[0]; i++) {
        if (strcmp(dot + 1, s_types[i].ext) == 0) {
            return s_types[i].ctype;
        }
    }
    return NULL;
}

static bool
s_name_ok(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n < 64 && name[0] != '.' &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static vg_err
s_add(gw_static *s, const char *full, const char *rel, const char *ctype, vg_reason *why)
{
    if (s->n == GW_STATIC_FILES_MAX) {
        return vg_reason_set(why, VG_ERR_TOO_LARGE, "the console has more than %d files",
                             GW_STATIC_FILES_MAX);
    }
    uint8_t *data = NULL;
    size_t len = 0;
    vg_err rc = vg_file_read(&data, &len, full, GW_STATIC_FILE_MAX, why);
    if (rc != VG_OK) {
        return rc;
    }
    if (s->total + len > GW_STATIC_TOTAL_MAX) {
        free(data);
        return vg_reason_set(why, VG_ERR_TOO_LARGE, "the console's files pass %d bytes in all",
                             GW_STATIC_TOTAL_MAX);
    }
    gw_static_file *grown = realloc(s->files, (s->n + 1) * sizeof *grown);
    if (grown == NULL) {
        free(data);
        return VG_ERR_NOMEM;
    }
    s->files = grown;
    gw_static_file *f = &s->files[s->n++];
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", rel);
    f->ctype = ctype;
    f->data = data;
    f->len = len;
    s->total += len;
    uint8_t h[16];
    char hex[33];
    crypto_generichash(h, sizeof h, data, len, NULL, 0);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    snprintf(f->etag, sizeof f->etag, "\"%s\"", hex);
    return VG_OK;
}

/* Loads the files of dir/prefix (prefix "" or "js/"), depth levels down. */
static vg_err
s_walk(gw_static *s, const char *dir, const char *prefix, int depth, vg_reason *why)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, prefix);
    DIR *d = opendir(path);
    if (d == NULL) {
        return vg_reason_set(why, VG_ERR_NOT_FOUND, "cannot read the console directory %s", path);
    }
    vg_err rc = VG_OK;
    struct dirent *e;
    while (rc == VG_OK && (e = readdir(d)) != NULL) {
        if (!s_name_ok(e->d_name)) {
            continue; /* dot files and odd names are never served */
        }
        char full[1024 + 256 + 8], rel[GW_STATIC_PATH_MAX];
        snprintf(full, sizeof full, "%s%s", path, e->d_name);
        int w = snprintf(rel, sizeof rel, "%s%s", prefix, e->d_name);
        struct stat st;
        if (w < 0 || (size_t)w >= sizeof rel || stat(full, &st) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode) && depth > 0) {
            char sub[GW_STATIC_PATH_MAX + 1];
            snprintf(sub, sizeof sub, "%s/", rel);
            rc = strlen(sub) < GW_STATIC_PATH_MAX - 1 ? s_walk(s, dir, sub, depth - 1, why) : VG_OK;
        } else if (S_ISREG(st.st_mode) && s_type_of(e->d_name) != NULL) {
            rc = s_add(s, full, rel, s_type_of(e->d_name), why);
        }
    }
    closedir(d);
    return rc;
}

vg_err
gw_static_load(gw_static **out, const char *dir, vg_reason *why)
{
    gw_static *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return VG_ERR_NOMEM;
    }
    vg_err rc = s_walk(s, dir, "", 2, why);
    if (rc == VG_OK && gw_static_find(s, "index.html") == NULL) {
        rc = vg_reason_set(why, VG_ERR_NOT_FOUND, "%s has no index.html", dir);
    }
    if (rc != VG_OK) {
        gw_static_destroy(&s);
        return rc;
    }
    *out = s;
    return VG_OK;
}

void
gw_static_destroy(gw_static **s_p)
{
    if (s_p == NULL || *s_p == NULL) {
        return;
    }
    gw_static *s = *s_p;
    for (size_t i = 0; i < s->n; i++) {
        free(s->files[i].data);
    }
    free(s->files);
    free(s);
    *s_p = NULL;
}

const gw_static_file *
gw_static_find(const gw_static *s, const char *rel)
{
    for (size_t i = 0; s != NULL && i < s->n; i++) {
        if (strcmp(s->files[i].path, rel) == 0) {
            return &s->files[i];
        }
    }
    return NULL;
}

size_t
gw_static_count(const gw_static *s)
{
    return s ? s->n : 0;
}

const gw_static_file *
gw_static_at(const gw_static *s, size_t i)
{
    return s != NULL && i < s->n ? &s->files[i] : NULL;
}

vg_err
gw_static_default_dir(char *out, size_t out_len, vg_reason *why)
{
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        return vg_reason_set(why, VG_ERR_IO, "cannot tell where vigil-gateway is (/proc/self/exe)");
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash != NULL) {
        *slash = '\0';
    }
    snprintf(out, out_len, "%s/../share/vigil/console", exe);
    return VG_OK;
}
