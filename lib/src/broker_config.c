/* broker_config.c — broker.conf through the typed table of vigil/config.h. */
#include "vigil/broker_config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/config.h"
#include "vigil/util.h"

#define S_K(sec, name, type, field, def, req, lo, hi, help)                                        \
    {                                                                                              \
        sec, name, type, offsetof(vg_broker_config, field), def, req, lo, hi, help                 \
    }

static const vg_cfg_key s_table[] = {
    S_K("broker", "bind", VG_CFG_STRING, bind, NULL, true, 0, 0,
        "ZeroMQ endpoint, e.g. tcp://127.0.0.1:7600"),
    S_K("broker", "keys", VG_CFG_PATH, keys_path, "broker.key", false, 0, 0,
        "the broker's secret key file"),
    S_K("broker", "store", VG_CFG_PATH, store_path, "store", false, 0, 0,
        "directory of the SQLite store"),
    S_K("broker", "log_level", VG_CFG_LOG_LEVEL, log_level, "info", false, 0, 0,
        "debug, info, warn or error"),
    S_K("broker", "max_clock_skew", VG_CFG_DURATION, max_clock_skew_ms, "5m", false, 1000, 86400000,
        "how far an alert's created time may be from the broker's clock"),
    S_K("broker", "inflight", VG_CFG_INT, inflight, "64", false, 1, 4096,
        "unreceipted deliveries per agency"),
    S_K("broker", "redeliver", VG_CFG_DURATION, redeliver_ms, "5s", false, 100, 3600000,
        "first redelivery interval"),
    S_K("broker", "redeliver_max", VG_CFG_DURATION, redeliver_max_ms, "5m", false, 100, 86400000,
        "redelivery interval ceiling"),
    S_K("broker", "batch", VG_CFG_INT, batch, "256", false, 1, 65536,
        "most frames handled in one transaction"),
    S_K("broker", "offline_alarm", VG_CFG_DURATION, offline_alarm_ms, "5m", false, 100, 86400000,
        "how long an agency with alerts waiting may be away before an alarm"),
    S_K("broker", "checkpoint_leaves", VG_CFG_INT, checkpoint_leaves, "256", false, 1, 1000000,
        "sign an audit checkpoint at least every this many leaves"),
    S_K("broker", "checkpoint_interval", VG_CFG_DURATION, checkpoint_interval_ms, "10s", false, 100,
        86400000, "sign an audit checkpoint this often while the log grows"),
    S_K("broker", "purge_interval", VG_CFG_DURATION, purge_interval_ms, "1h", false, 0, 604800000,
        "how often content past the network document's retention is purged (0s: only by vigilctl "
        "purge)"),
    S_K("broker", "timers", VG_CFG_INT, timers, "4096", false, 8, 16777216,
        "deadline timers kept in memory; the rest wait in the store"),
    S_K("broker", "wal_checkpoint_pages", VG_CFG_INT, wal_checkpoint_pages, "1000", false, 16,
        1000000, "SQLite WAL pages committed between two checkpoints of the store"),
    S_K("broker", "connections_per_agency", VG_CFG_INT, connections_per_agency, "32", false, 1,
        4096, "connections one agency may have open at once"),
    S_K("broker", "queries_queued", VG_CFG_INT, queries_queued, "16", false, 1, 4096,
        "queries of one agency waiting to be answered; more are refused as rate_limited"),
    S_K("broker", "query_time", VG_CFG_DURATION, query_time_ms, "200ms", false, 1, 1000,
        "query-thread time one agency may use per second (and twice that at once)"),
    S_K("broker", "unread_bytes", VG_CFG_SIZE, unread_bytes, "1MiB", false, 65536, 268435456,
        "bytes a connection may leave unread before its queries are refused for a while"),
    S_K("broker", "handshake_timeout", VG_CFG_DURATION, handshake_timeout_ms, "5s", false, 100,
        60000, "a connection that has not finished its CurveZMQ handshake by then is closed"),
    S_K("store", "backend", VG_CFG_STRING, store_backend_name, "sqlite", false, 0, 0,
        "sqlite or postgresql"),
    S_K("store", "dsn", VG_CFG_STRING, store_dsn, NULL, false, 0, 0,
        "with backend = postgresql: the libpq connection string of the database"),
    S_K("notify", "rotas", VG_CFG_PATH, notify_rotas, "rotas", false, 0, 0,
        "directory of the agencies' duty rotas, <agency>.json each (docs/network.md)"),
    S_K("notify", "secrets", VG_CFG_PATH, notify_secrets, "notify.secrets", false, 0, 0,
        "private file (mode 0600) of the notification channels' secrets"),
    S_K("notify", "queue", VG_CFG_INT, notify_queue, "64", false, 1, 4096,
        "notifications handed to the sending thread at once; more fail as queue_full"),
    S_K("notify", "timeout", VG_CFG_DURATION, notify_timeout_ms, "10s", false, 1000, 120000,
        "longest one notification attempt (SMTP or HTTP) may take"),
    S_K("notify", "rota_check", VG_CFG_DURATION, notify_rota_check_ms, "2s", false, 100, 3600000,
        "how often the rota files are looked at for changes"),
    S_K("store", "commit_wait", VG_CFG_DURATION, store_commit_wait_ms, "10s", false, 0, 3600000,
        "postgresql: a COMMIT not answered by then (no synchronous standby) is cancelled and in "
        "doubt; 0s waits for ever"),
    S_K("ha", "advertise", VG_CFG_STRING, ha_advertise, "", false, 0, 0,
        "postgresql: the endpoint agents reach this broker at, told by standbys (tcp://HOST:PORT)"),
    S_K("ha", "lease", VG_CFG_DURATION, ha_lease_ms, "5s", false, 2000, 600000,
        "postgresql: a leader silent this long loses its lock (idle_session_timeout)"),
    S_K("ha", "poll", VG_CFG_DURATION, ha_poll_ms, "500ms", false, 50, 60000,
        "postgresql: how often a standby tries to become the leader"),
    S_K("network", "document", VG_CFG_PATH, document_path, "network.signed", false, 0, 0,
        "the signed network document"),
    S_K("network", "admin_key", VG_CFG_STRING, admin_key_hex, NULL, true, 0, 0,
        "the network administrator's Ed25519 public key, 64 hex characters"),
};

#define S_N (sizeof s_table / sizeof s_table[0])

/* [store]: backend is sqlite or postgresql; dsn goes with postgresql only. */
static vg_err
s_store_backend(vg_broker_config *cfg, const char *path, vg_reason *why)
{
    bool pg = strcmp(cfg->store_backend_name, "postgresql") == 0;
    if (!pg && strcmp(cfg->store_backend_name, "sqlite") != 0) {
        return vg_reason_set(why, VG_ERR_CONFIG,
                             "%s: [store] backend = '%s': use sqlite or postgresql", path,
                             cfg->store_backend_name);
    }
    if (pg && (cfg->store_dsn == NULL || cfg->store_dsn[0] == '\0')) {
        return vg_reason_set(why, VG_ERR_CONFIG,
                             "%s: [store] backend = postgresql needs dsn = <libpq connection "
                             "string>, e.g. host=db1,db2 dbname=vigil user=vigil_broker "
                             "target_session_attrs=read-write",
                             path);
    }
    if (!pg && cfg->store_dsn != NULL) {
        return vg_reason_set(why, VG_ERR_CONFIG,
                             "%s: [store] dsn is for backend = postgresql (the SQLite store is "
                             "[broker] store)",
                             path);
    }
    cfg->store_backend = pg ? VG_STORE_POSTGRESQL : VG_STORE_SQLITE;
    return VG_OK;
}

vg_err
vg_broker_config_load(vg_broker_config **out, const char *path, vg_reason *why)
{
    vg_broker_config *cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL) {
        return VG_ERR_NOMEM;
    }
    vg_err rc = vg_config_load(cfg, s_table, S_N, path, why);
    if (rc == VG_OK && vg_hex_decode(cfg->admin_pk, sizeof cfg->admin_pk, cfg->admin_key_hex)) {
        rc = vg_reason_set(why, VG_ERR_CONFIG,
                           "%s: [network] admin_key must be 64 hexadecimal characters", path);
    }
    if (rc == VG_OK) {
        rc = s_store_backend(cfg, path, why);
    }
    if (rc == VG_OK && cfg->ha_advertise[0] != '\0' && strstr(cfg->ha_advertise, "://") == NULL) {
        rc = vg_reason_set(why, VG_ERR_CONFIG,
                           "%s: [ha] advertise = '%s' is not a ZeroMQ address: write it as "
                           "tcp://HOST:PORT",
                           path, cfg->ha_advertise);
    }
    if (rc == VG_OK && cfg->ha_poll_ms >= cfg->ha_lease_ms) {
        rc = vg_reason_set(why, VG_ERR_CONFIG,
                           "%s: [ha] poll must be below [ha] lease (a standby's idle session "
                           "would end between two tries)",
                           path);
    }
    if (rc == VG_OK && cfg->redeliver_max_ms < cfg->redeliver_ms) {
        rc = vg_reason_set(why, VG_ERR_CONFIG,
                           "%s: [broker] redeliver_max must not be below redeliver", path);
    }
    if (rc != VG_OK) {
        vg_broker_config_destroy(&cfg);
        return rc;
    }
    *out = cfg;
    return VG_OK;
}

void
vg_broker_config_destroy(vg_broker_config **cfg_p)
{
    if (cfg_p == NULL || *cfg_p == NULL) {
        return;
    }
    vg_config_fini(*cfg_p, s_table, S_N);
    free(*cfg_p);
    *cfg_p = NULL;
}
