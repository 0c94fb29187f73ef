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
     "the broker's ZeroMQ address, e.g. tcp://127.0.0.1:7600; several brokers (one leads, "
     "docs/ha.md) separated by commas: tcp://a:7600, tcp://b:7600"},
    {"broker", "public_key", VG_CFG_STRING, offsetof(vga_config, broker_key_z85), NULL, true, 0, 0,
     "the broker's CurveZMQ public key, 40 Z85 characters"},
#define S_GW(field) offsetof(vga_config, gateway.field)
    {"gateway", "listen", VG_CFG_STRING, S_GW(listen), "127.0.0.1:7700", false, 0, 0,
     "HOST:PORT of the HTTP API, e.g. 127.0.0.1:7701 (port 0: any free port)"},
    {"gateway", "tls_cert", VG_CFG_PATH, S_GW(tls_cert), NULL, false, 0, 0,
     "PEM certificate chain for HTTPS"},
    {"gateway", "tls_key", VG_CFG_PATH, S_GW(tls_key), NULL, false, 0, 0,
     "PEM private key of tls_cert (mode 0600)"},
    {"gateway", "client_ca", VG_CFG_PATH, S_GW(client_ca), NULL, false, 0, 0,
     "PEM CA certificate: clients must present a certificate it signed (needs tls_cert)"},
    {"gateway", "max_body", VG_CFG_INT, S_GW(max_body_bytes), "262144", false, 1024, 983040,
     "largest request body in bytes"},
    {"gateway", "max_connections", VG_CFG_INT, S_GW(max_connections), "64", false, 4, 1024,
     "concurrent HTTP connections"},
    {"gateway", "rate", VG_CFG_INT, S_GW(rate_per_s), "50", false, 1, 100000,
     "requests per second per token"},
    {"gateway", "burst", VG_CFG_INT, S_GW(burst), "100", false, 1, 100000,
     "requests a token may make at once"},
    {"gateway", "workers", VG_CFG_INT, S_GW(workers), "4", false, 1, 32,
     "broker connections that serve requests"},
    {"gateway", "confirm_timeout", VG_CFG_DURATION, S_GW(confirm_timeout_ms), "5s", false, 100,
     60000, "how long a publish waits for the broker's confirm before answering 202"},
    {"gateway", "webhook_timeout", VG_CFG_DURATION, S_GW(webhook_timeout_ms), "10s", false, 100,
     300000, "how long one webhook POST may take"},
    {"gateway", "webhook_backoff_max", VG_CFG_DURATION, S_GW(webhook_backoff_max_ms), "5m", false,
     100, 86400000, "longest wait between two attempts of a webhook delivery"},
    {"gateway", "webhook_alarm", VG_CFG_DURATION, S_GW(webhook_alarm_ms), "5m", false, 100,
     604800000, "a webhook failing this long raises an alarm"},
    {"gateway", "cap_category", VG_CFG_STRING, S_GW(cap_category), "", false, 0, 0,
     "vigil category of a CAP alert that names none (empty: it must name one)"},
    {"gateway", "console", VG_CFG_BOOL, S_GW(console), "on", false, 0, 0,
     "serve the duty officers' web console at /console/ and their sessions"},
    {"gateway", "console_dir", VG_CFG_PATH, S_GW(console_dir), NULL, false, 0, 0,
     "the web console's files (default: share/vigil/console beside the binary's directory)"},
    {"gateway", "session_idle", VG_CFG_DURATION, S_GW(session_idle_ms), "30m", false, 1000,
     86400000, "an officer's session ends after this long without use"},
    {"gateway", "session_max", VG_CFG_DURATION, S_GW(session_max_ms), "12h", false, 1000, 604800000,
     "an officer's session ends this long after login"},
    {"gateway", "login_failures", VG_CFG_INT, S_GW(login_failures), "5", false, 1, 100,
     "wrong passwords in a row that lock an officer's name"},
    {"gateway", "login_lockout", VG_CFG_DURATION, S_GW(login_lockout_ms), "5m", false, 1000,
     86400000, "how long a locked officer name stays locked"},
    {"gateway", "secure_cookie", VG_CFG_BOOL, S_GW(secure_cookie), "off", false, 0, 0,
     "mark session cookies Secure over plain HTTP too (TLS ends at a reverse proxy)"},
    {"gateway", "sso_header", VG_CFG_STRING, S_GW(sso_header), "", false, 0, 0,
     "request header in which a trusted reverse proxy names the officer (empty: no SSO)"},
    {"gateway", "sso_proxy", VG_CFG_STRING, S_GW(sso_proxy), "127.0.0.1,::1", false, 0, 0,
     "addresses of the reverse proxy whose sso_header is believed, comma-separated"},
#undef S_GW
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
    if (vg_strlist_split(&cfg->endpoints, cfg->endpoint, NULL) != VG_OK || cfg->endpoints.n == 0) {
        return vg_reason_set(why, VG_ERR_CONFIG,
                             "%s: [broker] endpoint '%s': write tcp://HOST:PORT, or several "
                             "separated by commas",
                             path, cfg->endpoint);
    }
    for (size_t i = 0; i < cfg->endpoints.n; i++) {
        if (strstr(cfg->endpoints.items[i], "://") == NULL) {
            return vg_reason_set(why, VG_ERR_CONFIG,
                                 "%s: [broker] endpoint '%s' is not a ZeroMQ address: write it "
                                 "as tcp://HOST:PORT",
                                 path, cfg->endpoints.items[i]);
        }
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
    vg_strlist_fini(&cfg->endpoints);
    free(cfg->path);
    free(cfg);
    *cfg_p = NULL;
}
