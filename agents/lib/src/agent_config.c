/*
 * agent_config.c — agent.conf: the typed table, and the checks vg_config
 * cannot do by itself (agency id syntax, key encodings).
 */
#include "vigil/agent_config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/config.h"
#include "vigil/util.h"

static const vg_cfg_key s_table[] = {
    {"agent", "id", VG_CFG_STRING, offsetof(vga_config, id), NULL, true, 0, 0,
     "this agency's id in the network document, e.g. police"},
    {"agent", "keys", VG_CFG_PATH, offsetof(vga_config, keys_path), "agency.key", false, 0, 0,
     "the agency's secret key file (mode 0600)"},
    {"agent", "store", VG_CFG_PATH, offsetof(vga_config, store_path), "store", false, 0, 0,
     "directory of the local outbox and inbox"},
    {"agent", "log_level", VG_CFG_LOG_LEVEL, offsetof(vga_config, log_level), "info", false, 0, 0,
     "debug, info, warn or error"},
    {"network", "document", VG_CFG_PATH, offsetof(vga_config, document_path), "network.signed",
     false, 0, 0, "this agent's copy of the signed network document"},
    {"network", "admin_key", VG_CFG_STRING, offsetof(vga_config, admin_key_hex), NULL, true, 0, 0,
     "the network administrator's Ed25519 public key, 64 hex characters"},
    {"broker", "endpoint", VG_CFG_STRING, offsetof(vga_config, endpoint), NULL, true, 0, 0,
     "the broker's ZeroMQ address, e.g. tcp://127.0.0.1:7600"},
    {"broker", "public_key", VG_CFG_STRING, offsetof(vga_config, broker_key_z85), NULL, true, 0, 0,
     "the broker's CurveZMQ public key, 40 Z85 characters"},
};

#define S_N_KEYS (sizeof(s_table) / sizeof(s_table[0]))

static vg_err
s_check(vga_config *cfg, const char *path, vg_reason *why)
{
    if (!vg_agency_id_is_valid(cfg->id)) {
        return vg_reason_set(why, VG_ERR_CONFIG,
                             "%s: [agent] id '%s' is not a valid agency id: use 1 to 63 of "
                             "a-z, 0-9 and '-', not starting with '-'",
                             path, cfg->id);
    }
    if (vg_hex_decode(cfg->admin_pk, sizeof cfg->admin_pk, cfg->admin_key_hex) != VG_OK) {
        return vg_reason_set(why, VG_ERR_CONFIG,
                             "%s: [network] admin_key must be 64 hex characters (the admin's "
                             "Ed25519 public key, as 'vigilctl network show' prints it)",
                             path);
    }
    if (vg_z85_decode_key(cfg->broker_pk, cfg->broker_key_z85) != VG_OK) {
        return vg_reason_set(why, VG_ERR_CONFIG,
                             "%s: [broker] public_key must be 40 Z85 characters (the broker's "
                             "CurveZMQ public key, as 'vigilctl network show' prints it)",
                             path);
    }
    if (strstr(cfg->endpoint, "://") == NULL) {
        return vg_reason_set(why, VG_ERR_CONFIG,
                             "%s: [broker] endpoint '%s' is not a ZeroMQ address: write it as "
                             "tcp://HOST:PORT",
                             path, cfg->endpoint);
    }
    return VG_OK;
}

vg_err
vga_config_load(vga_config **out, const char *path, vg_reason *why)
{
    if (out == NULL || path == NULL) {
        return vg_reason_set(why, VG_ERR_INVALID, "vga_config_load: out and path are required");
    }
    vga_config *cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL) {
        return vg_reason_set(why, VG_ERR_NOMEM, "out of memory loading %s", path);
    }
    vg_err err = vg_config_load(cfg, s_table, S_N_KEYS, path, why);
    if (err != VG_OK) {
        free(cfg);
        return err;
    }
    cfg->path = vg_strdup(path);
    if (cfg->path == NULL) {
        err = vg_reason_set(why, VG_ERR_NOMEM, "out of memory loading %s", path);
    } else {
        err = s_check(cfg, path, why);
    }
    if (err != VG_OK) {
        vga_config_destroy(&cfg);
        return err;
    }
    *out = cfg;
    return VG_OK;
}

void
vga_config_destroy(vga_config **cfg_p)
{
    if (cfg_p == NULL || *cfg_p == NULL) {
        return;
    }
    vga_config *cfg = *cfg_p;
    vg_config_fini(cfg, s_table, S_N_KEYS);
    free(cfg->path);
    free(cfg);
    *cfg_p = NULL;
}
