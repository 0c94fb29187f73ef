/*
 * vigil/broker_config.h — broker.conf, the broker's typed configuration.
 *
 * In libvigil because two deliverables read it: the broker, and vigilctl
 * (which writes it and checks it).
 *
 *     [broker]
 *     bind = tcp://127.0.0.1:7600   ; ZeroMQ endpoint ("tcp://127.0.0.1:*" picks a free port)
 *     keys = broker.key             ; secret keys (sign + curve), 0600
 *     store = store                 ; SQLite store directory
 *     log_level = info
 *     max_clock_skew = 5m           ; created time must be within this of now
 *     inflight = 64                 ; unreceipted deliveries per agency
 *     redeliver = 5s                ; first redelivery interval (doubles)
 *     redeliver_max = 5m            ; redelivery interval ceiling
 *     batch = 256                   ; most frames handled per transaction
 *     offline_alarm = 5m            ; agency away this long with alerts waiting: alarm
 *     checkpoint_leaves = 256       ; sign an audit checkpoint at least every N leaves
 *     checkpoint_interval = 10s     ; ... or this often when the log grew
 *     purge_interval = 1h           ; purge content past its retention this often (docs/audit.md
 *                                   ; "Retention"; 0s: only when vigilctl purge asks)
 *     timers = 4096                 ; deadline timers held in memory (>= 8); the rest wait
 *                                   ; in the store and are loaded as they come due
 *     wal_checkpoint_pages = 1000   ; SQLite WAL frames (pages) between store checkpoints
 *     connections_per_agency = 32   ; open connections one agency may have; more: rate_limited
 *     queries_queued = 16           ; queries of one agency waiting; more: rate_limited
 *     query_time = 200ms            ; query-thread time per agency per second (2x at once)
 *     unread_bytes = 1MiB           ; a connection leaving more unread: queries refused a while
 *     handshake_timeout = 5s        ; an unfinished CurveZMQ handshake is closed after this
 *     [store]
 *     backend = sqlite              ; sqlite (in [broker] store) or postgresql (docs/ha.md)
 *     dsn = host=db1,db2 dbname=vigil user=vigil_broker target_session_attrs=read-write
 *                                   ; postgresql: a libpq connection string or URI
 *     commit_wait = 10s             ; postgresql: a COMMIT unanswered this long (the synchronous
 *                                   ; standby is gone) is cancelled: in doubt, not confirmed
 *     [ha]                          ; postgresql only: several brokers, one leader (docs/ha.md)
 *     advertise = tcp://b1.example.org:7600 ; where agents reach this broker (standbys say it)
 *     lease = 5s                    ; a leader whose session is idle this long loses the lock
 *     poll = 500ms                  ; how often a standby tries for the lock
 *     [network]
 *     document = network.signed
 *     admin_key = <64 hex>
 *
 * Paths are relative to broker.conf. Owns its strings; read-only after load.
 */
#ifndef VIGIL_LIB_BROKER_CONFIG_H
#define VIGIL_LIB_BROKER_CONFIG_H

#include <stdint.h>

#include "vigil/err.h"
#include "vigil/keys.h"
#include "vigil/log.h"

/* Where the broker's store lives ([store] backend). */
typedef enum vg_store_backend {
    VG_STORE_SQLITE = 0,     /* [broker] store: a directory holding vigil.db */
    VG_STORE_POSTGRESQL = 1, /* [store] dsn: a PostgreSQL database */
} vg_store_backend;

typedef struct vg_broker_config {
    char *bind;                       /* ZeroMQ endpoint to bind */
    char *keys_path;                  /* secret key file, resolved */
    char *store_path;                 /* store directory, resolved (PostgreSQL: local files) */
    char *store_backend_name;         /* [store] backend as written */
    vg_store_backend store_backend;   /* ... parsed */
    char *store_dsn;                  /* [store] dsn: libpq connection string, or NULL */
    vg_log_level log_level;           /* minimum level logged */
    uint64_t max_clock_skew_ms;       /* allowed |created - now| */
    int64_t inflight;                 /* per-agency delivery window */
    uint64_t redeliver_ms;            /* first redelivery interval */
    uint64_t redeliver_max_ms;        /* redelivery interval ceiling */
    int64_t batch;                    /* frames per group commit */
    uint64_t offline_alarm_ms;        /* absence that raises an agency-offline alarm */
    int64_t checkpoint_leaves;        /* audit checkpoint at least every N leaves */
    uint64_t checkpoint_interval_ms;  /* ... or this often when the log grew */
    uint64_t purge_interval_ms;       /* scheduled purge of content past retention, 0: off */
    int64_t timers;                   /* deadline timers held in memory */
    int64_t wal_checkpoint_pages;     /* WAL frames committed between store checkpoints */
    int64_t connections_per_agency;   /* open connections one agency may have */
    int64_t queries_queued;           /* queries of one agency waiting for the query thread */
    uint64_t query_time_ms;           /* query-thread time per agency per second */
    uint64_t unread_bytes;            /* unread bytes that cut a connection's queries off */
    uint64_t handshake_timeout_ms;    /* unfinished CurveZMQ handshakes are closed after this */
    char *notify_rotas;               /* [notify] rotas: directory of <agency>.json, resolved */
    char *notify_secrets;             /* [notify] secrets: private file of channel secrets */
    int64_t notify_queue;             /* [notify] queue: notifications out at once, at most */
    uint64_t notify_timeout_ms;       /* [notify] timeout: one attempt, at most */
    uint64_t notify_rota_check_ms;    /* [notify] rota_check: how often rotas are looked at */
    uint64_t store_commit_wait_ms;    /* [store] commit_wait: longest COMMIT wait, 0 none */
    char *ha_advertise;               /* [ha] advertise: this broker's endpoint for agents, or "" */
    uint64_t ha_lease_ms;             /* [ha] lease: idle time after which a leader is dropped */
    uint64_t ha_poll_ms;              /* [ha] poll: a standby's tries for the lock */
    char *document_path;              /* signed network document, resolved */
    char *admin_key_hex;              /* pinned admin key as written */
    uint8_t admin_pk[VG_SIGN_PK_LEN]; /* admin_key decoded */
} vg_broker_config;

/* Loads broker.conf. VG_ERR_NOT_FOUND, VG_ERR_CONFIG (file:line, key, what is
 * accepted). Free with vg_broker_config_destroy. */
vg_err vg_broker_config_load(vg_broker_config **out, const char *path, vg_reason *why) VG_MUST_USE;

/* NULL-safe; sets *cfg_p = NULL. */
void vg_broker_config_destroy(vg_broker_config **cfg_p);

#endif
