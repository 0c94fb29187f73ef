/* config.c — typed INI loading on top of inih. */
#include "vigil/config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "vigil/log.h"
#include "vigil/util.h"

typedef struct s_load {
    void *out;               /* consumer struct */
    const vg_cfg_key *table; /* its description */
    size_t n_keys;           /* entries in table */
    const char *path;        /* the file, for PATH resolution and messages */
    bool *seen;              /* per key: set by the file */
    vg_err rc;               /* first error */
    vg_reason *why;          /* where the first error is described */
} s_load;

static bool
s_parse_bool(bool *out, const char *v)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool
s_bounded(const vg_cfg_key *k)
{
    return !(k->min == 0 && k->max == 0);
}

/* Stores one value. where names the origin for messages ("default" or "line"). */
static vg_err
s_set(const s_load *ld, const vg_cfg_key *k, const char *value, vg_reason *why)
{
    char *field = (char *)ld->out + k->offset;
    switch (k->type) {
    case VG_CFG_STRING:
    case VG_CFG_PATH: {
        char *s = k->type == VG_CFG_PATH ? vg_path_relative_to(ld->path, value) : vg_strdup(value);
        if (s == NULL) {
            return VG_ERR_NOMEM;
        }
        char **slot = (char **)(void *)field;
        free(*slot);
        *slot = s;
        return VG_OK;
    }
    case VG_CFG_INT: {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' ||
            (s_bounded(k) && (v < k->min || v > k->max))) {
            return vg_reason_set(why, VG_ERR_CONFIG,
                                 "[%s] %s = '%s': expected an integer from %" PRId64 " to %" PRId64
                                 " (%s)",
                                 k->section, k->name, value, k->min, k->max, k->help);
        }
        *(int64_t *)(void *)field = (int64_t)v;
        return VG_OK;
    }
    case VG_CFG_BOOL:
        if (!s_parse_bool((bool *)(void *)field, value)) {
            return vg_reason_set(why, VG_ERR_CONFIG, "[%s] %s = '%s': expected true or false (%s)",
                                 k->section, k->name, value, k->help);
        }
        return VG_OK;
    case VG_CFG_DURATION: {
        uint64_t ms = 0;
        vg_reason inner;
        if (vg_duration_parse(&ms, value, &inner) != VG_OK) {
            return vg_reason_set(why, VG_ERR_CONFIG, "[%s] %s: %s (%s)", k->section, k->name,
                                 inner.text, k->help);
        }
        if (s_bounded(k) && (ms < (uint64_t)k->min || ms > (uint64_t)k->max)) {
            char lo[32], hi[32];
            vg_duration_format(lo, sizeof lo, (uint64_t)k->min);
            vg_duration_format(hi, sizeof hi, (uint64_t)k->max);
            return vg_reason_set(why, VG_ERR_CONFIG, "[%s] %s = '%s': must be from %s to %s (%s)",
                                 k->section, k->name, value, lo, hi, k->help);
        }
        *(uint64_t *)(void *)field = ms;
        return VG_OK;
    }
    case VG_CFG_SIZE: {
        uint64_t bytes = 0;
        vg_reason inner;
        if (vg_size_parse(&bytes, value, &inner) != VG_OK) {
            return vg_reason_set(why, VG_ERR_CONFIG, "[%s] %s: %s (%s)", k->section, k->name,
                                 inner.text, k->help);
        }
        if (s_bounded(k) && (bytes < (uint64_t)k->min || bytes > (uint64_t)k->max)) {
            char lo[32], hi[32];
            vg_size_format(lo, sizeof lo, (uint64_t)k->min);
            vg_size_format(hi, sizeof hi, (uint64_t)k->max);
            return vg_reason_set(why, VG_ERR_CONFIG, "[%s] %s = '%s': must be from %s to %s (%s)",
                                 k->section, k->name, value, lo, hi, k->help);
        }
        *(uint64_t *)(void *)field = bytes;
        return VG_OK;
    }
    case VG_CFG_LOG_LEVEL:
        if (vg_log_level_parse((vg_log_level *)(void *)field, value) != VG_OK) {
            return vg_reason_set(why, VG_ERR_CONFIG,
                                 "[%s] %s = '%s': expected debug, info, warn or error", k->section,
                                 k->name, value);
        }
        return VG_OK;
    }
    return VG_ERR_INTERNAL;
}

static void
s_accepted_keys(char *out, size_t out_len, const s_load *ld, const char *section)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < ld->n_keys && used < out_len; i++) {
        if (strcmp(ld->table[i].section, section) == 0) {
            int w =
                snprintf(out + used, out_len - used, "%s%s", used ? ", " : "", ld->table[i].name);
            if (w < 0) {
                return;
            }
            used += (size_t)w;
        }
    }
}

static int
s_handler(void *user, const char *section, const char *name, const char *value)
{
    s_load *ld = user;
    if (ld->rc != VG_OK) { /* inih goes on after an error; keep the first */
        return 0;
    }
    bool section_known = false;
    for (size_t i = 0; i < ld->n_keys; i++) {
        const vg_cfg_key *k = &ld->table[i];
        if (strcmp(k->section, section) != 0) {
            continue;
        }
        section_known = true;
        if (strcmp(k->name, name) != 0) {
            continue;
        }
        if (ld->seen[i]) {
            ld->rc = vg_reason_set(ld->why, VG_ERR_CONFIG, "[%s] %s is set twice", section, name);
            return 0;
        }
        ld->seen[i] = true;
        ld->rc = s_set(ld, k, value, ld->why);
        return ld->rc == VG_OK;
    }
    char accepted[256];
    s_accepted_keys(accepted, sizeof accepted, ld, section);
    if (!section_known) {
        ld->rc =
            vg_reason_set(ld->why, VG_ERR_CONFIG, "unknown section [%s] (key '%s')", section, name);
    } else {
        ld->rc =
            vg_reason_set(ld->why, VG_ERR_CONFIG, "unknown key '%s' in [%s]; accepted keys: %s",
                          name, section, accepted);
    }
    return 0;
}

vg_err
vg_config_load(void *out, const vg_cfg_key *table, size_t n_keys, const char *path, vg_reason *why)
{
    vg_reason inner = {{0}};
    s_load ld = {out,   table, n_keys, path, calloc(n_keys ? n_keys : 1, sizeof(bool)),
                 VG_OK, &inner};
    if (ld.seen == NULL) {
        return VG_ERR_NOMEM;
    }
    vg_err rc = VG_OK;
    for (size_t i = 0; i < n_keys && rc == VG_OK; i++) {
        if (table[i].def != NULL) {
            rc = s_set(&ld, &table[i], table[i].def, &inner);
        }
    }
    if (rc != VG_OK) { /* a bad default is our bug, but say so plainly */
        rc = vg_reason_set(why, VG_ERR_INTERNAL, "built-in default: %s", inner.text);
        goto out;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        rc = vg_reason_set(why, errno == ENOENT ? VG_ERR_NOT_FOUND : VG_ERR_IO,
                           "cannot open config %s: %s", path, strerror(errno));
        goto out;
    }
    int line = ini_parse_file(f, s_handler, &ld);
    fclose(f);
    if (line != 0) {
        rc = ld.rc != VG_OK ? ld.rc : VG_ERR_CONFIG;
        if (ld.rc == VG_OK) {
            snprintf(inner.text, sizeof inner.text,
                     "syntax error: expected '[section]' or 'key = value'");
        }
        rc = vg_reason_set(why, rc, "%s:%d: %s", path, line, inner.text);
        goto out;
    }
    for (size_t i = 0; i < n_keys; i++) {
        if (table[i].required && !ld.seen[i] && table[i].def == NULL) {
            rc = vg_reason_set(why, VG_ERR_CONFIG, "%s: missing required key '%s' in [%s] (%s)",
                               path, table[i].name, table[i].section, table[i].help);
            goto out;
        }
    }
out:
    free(ld.seen);
    if (rc != VG_OK) {
        vg_config_fini(out, table, n_keys);
    }
    return rc;
}

void
vg_config_fini(void *cfg, const vg_cfg_key *table, size_t n_keys)
{
    for (size_t i = 0; i < n_keys; i++) {
        if (table[i].type == VG_CFG_STRING || table[i].type == VG_CFG_PATH) {
            char **slot = (char **)(void *)((char *)cfg + table[i].offset);
            free(*slot);
            *slot = NULL;
        }
    }
}
