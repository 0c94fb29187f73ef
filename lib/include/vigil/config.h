/*
 * vigil/config.h — typed INI configuration (inih underneath).
 *
 * A consumer describes its file as a table of vg_cfg_key (section, key, type,
 * bounds, default, where it goes in the consumer's struct). Loading applies
 * defaults, then the file; an unknown section or key, a value of the wrong
 * type or out of bounds, a duplicate, or a missing required key is an error
 * naming file:line, the key and what is accepted.
 *
 * VG_CFG_PATH values are resolved relative to the config file's directory,
 * so a folder of configs and keys can be moved as a whole.
 * Strings and paths are malloc'ed into the struct; vg_config_fini() frees
 * them. Thread rules: none.
 */
#ifndef VIGIL_LIB_CONFIG_H
#define VIGIL_LIB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

typedef enum vg_cfg_type {
    VG_CFG_STRING = 1,    /* char *            */
    VG_CFG_PATH = 2,      /* char *, resolved  */
    VG_CFG_INT = 3,       /* int64_t in [min, max] */
    VG_CFG_BOOL = 4,      /* bool: true/false/yes/no/on/off/1/0 */
    VG_CFG_DURATION = 5,  /* uint64_t ms in [min, max]: "250ms", "5s", "15m", "1h", "3d" */
    VG_CFG_LOG_LEVEL = 6, /* vg_log_level: debug/info/warn/error */
    VG_CFG_SIZE = 7       /* uint64_t bytes in [min, max]: "65536", "64KiB", "8MiB", "1GiB" */
} vg_cfg_type;

typedef struct vg_cfg_key {
    const char *section; /* "broker" */
    const char *name;    /* "endpoint" */
    vg_cfg_type type;    /* how to parse and store */
    size_t offset;       /* offsetof(consumer struct, field) */
    const char *def;     /* default as text, or NULL for none */
    bool required;       /* must appear in the file (or have a default) */
    int64_t min;         /* INT, DURATION(ms): lower bound */
    int64_t max;         /* INT, DURATION(ms): upper bound (0,0 = unbounded) */
    const char *help;    /* one line for error messages and docs */
} vg_cfg_key;

/* Loads path into the struct at out (which the caller zeroed). On failure
 * every string already set is freed again. */
vg_err vg_config_load(void *out, const vg_cfg_key *table, size_t n_keys, const char *path,
                      vg_reason *why) VG_MUST_USE;

/* Frees the strings and paths of a loaded struct and zeroes them. */
void vg_config_fini(void *cfg, const vg_cfg_key *table, size_t n_keys);

#endif
