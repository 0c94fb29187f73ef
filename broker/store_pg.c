/* store_pg.c — the PostgreSQL back end of the store: connecting (and
 * reconnecting), session settings, the schema and its migrations, prepared
 * statements, the pipeline, transactions and what a durable commit is (see
 * store_pg.h). */
#include "store_pg.h"

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/log.h"

#define S_MIGRATE_LOCK 1986619241 /* advisory lock key ("vigi"): one migration at a time */
#define S_STR(x) #x
#define S_XSTR(x) S_STR(x)

static const vgb_store_ops s_ops;

/* ---- connecting ------------------------------------------------------------------ */

static void
s_set_path(vgb_pg *s)
{
    const char *host = PQhost(s->conn);
    snprintf(s->path, sizeof s->path, "postgresql://%s@%s:%s/%s", PQuser(s->conn),
             host && host[0] ? host : "localhost", PQport(s->conn), PQdb(s->conn));
}

/* Runs a plain command string before pipeline mode (setup, schema). */
static vg_err
s_setup_exec(vgb_pg *s, const char *sql, const char *what, PGresult **out, vg_reason *why)
{
    PGresult *r = PQexec(s->conn, sql);
    if (r != NULL && vgb_pg_ok(r)) {
        if (out != NULL) {
            *out = r;
        } else {
            PQclear(r);
        }
        return VG_OK;
    }
    char msg[256];
    vgb_pg_clean(msg, sizeof msg,
                 r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : PQerrorMessage(s->conn));
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    vg_err err = vgb_pg_fail(s, r, what);
    if (state != NULL && strcmp(state, "42501") == 0) {
        err = vg_reason_set(why, VG_ERR_IO,
                            "store %s: role %s may not %s (%s): create or migrate the schema as "
                            "the owner role: vigil-pg-migrate 'OWNER_DSN' (docs/ha.md)",
                            s->path, PQuser(s->conn), what, msg);
    } else {
        err = vg_reason_set(why, err, "store %s: %s failed: %s", s->path, what, msg);
    }
    PQclear(r);
    return err;
}

/* The schema version the database holds: 0 when it has no vigil schema. */
static vg_err
s_schema_version(vgb_pg *s, int64_t *out, vg_reason *why)
{
    PGresult *r = NULL;
    vg_err err =
        s_setup_exec(s, "SELECT to_regclass('vigil.meta') IS NOT NULL", "read schema", &r, why);
    bool exists = err == VG_OK && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    r = NULL;
    *out = 0;
    if (err == VG_OK && exists) {
        err = s_setup_exec(s, "SELECT value FROM vigil.meta WHERE key = 'schema_version'",
                           "read schema version", &r, why);
        *out = err == VG_OK && PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    }
    PQclear(r);
    return err;
}

static vg_err
s_check_version(vgb_pg *s, int64_t version, vg_reason *why)
{
    if (version > VGB_PG_SCHEMA_VERSION) {
        return vg_reason_set(why, VG_ERR_IO,
                             "store %s has schema version %" PRId64 "; this program knows up to "
                             "%d: run a newer one",
                             s->path, version, VGB_PG_SCHEMA_VERSION);
    }
    if (version != 0 && version < VGB_PG_SCHEMA_OLDEST) {
        return vg_reason_set(why, VG_ERR_IO,
                             "store %s has schema version %" PRId64 ", which this program cannot "
                             "migrate",
                             s->path, version);
    }
    return VG_OK;
}

/* Creates or migrates the schema in one transaction, one migrator at a
 * time; then the grants. */
static vg_err
s_migrate(vgb_pg *s, vg_reason *why)
{
    int64_t version = 0;
    vg_err err = s_setup_exec(s, "BEGIN; SELECT pg_advisory_xact_lock(" S_XSTR(S_MIGRATE_LOCK) ")",
                              "lock the schema", NULL, why);
    err = err == VG_OK ? s_schema_version(s, &version, why) : err; /* again, under the lock */
    err = err == VG_OK ? s_check_version(s, version, why) : err;
    if (err == VG_OK && version == 0) {
        err = s_setup_exec(s,
                           "DO $$ BEGIN IF to_regnamespace('vigil') IS NULL THEN"
                           " CREATE SCHEMA vigil; END IF; END $$; SET LOCAL search_path = vigil",
                           "create the schema", NULL, why);
    }
    for (int64_t v = version; err == VG_OK && v != 0 && v < VGB_PG_SCHEMA_VERSION; v++) {
        vg_log(VG_LOG_INFO, "broker", "store.migrate", "path=%s from=%" PRId64 " to=%" PRId64,
               s->path, v, v + 1);
        if (vgb_pg_migrations[v] != NULL) {
            err = s_setup_exec(s, vgb_pg_migrations[v], "migrate the schema", NULL, why);
        }
    }
    err = err == VG_OK ? s_setup_exec(s, vgb_pg_schema, "create the schema", NULL, why) : err;
    err = err == VG_OK
              ? s_setup_exec(s,
                             "INSERT INTO meta(key, value) VALUES ('schema_version', " S_XSTR(
                                 VGB_PG_SCHEMA_VERSION) ") ON CONFLICT (key) DO UPDATE"
                                                        " SET value = excluded.value",
                             "record the schema version", NULL, why)
              : err;
    err = err == VG_OK ? s_setup_exec(s, vgb_pg_grants, "grant", NULL, why) : err;
    PGresult *r = NULL;
    err = err == VG_OK ? s_setup_exec(s, "COMMIT", "commit the schema", &r, why) : err;
    if (err == VG_OK && strcmp(PQcmdStatus(r), "COMMIT") != 0) {
        err = vg_reason_set(why, VG_ERR_IO, "store %s: the schema was not committed", s->path);
    }
    PQclear(r);
    if (err != VG_OK) {
        PQclear(PQexec(s->conn, "ROLLBACK"));
    } else if (version != VGB_PG_SCHEMA_VERSION) {
        vg_log(VG_LOG_INFO, "broker", "store.schema", "path=%s version=%d", s->path,
               VGB_PG_SCHEMA_VERSION);
    }
    return err;
}

/* The schema, by mode: the owner makes or migrates it, read-only tools
 * refuse what they cannot read, the reader trusts its owner. */
static vg_err
s_schema(vgb_pg *s, vg_reason *why)
{
    if (s->mode == VGB_PG_READER) {
        return VG_OK;
    }
    int64_t version = 0;
    vg_err err = s_schema_version(s, &version, why);
    err = err == VG_OK ? s_check_version(s, version, why) : err;
    if (err != VG_OK) {
        return err;
    }
    if (s->mode == VGB_PG_READONLY && version == 0) {
        return vg_reason_set(why, VG_ERR_NOT_FOUND, "%s is not a vigil store (no schema)", s->path);
    }
    if (s->mode == VGB_PG_READONLY && version < VGB_PG_SCHEMA_VERSION) {
        return vg_reason_set(why, VG_ERR_IO,
                             "store %s has schema version %" PRId64 ": start the broker on it "
                             "once to migrate it to %d, then read it",
                             s->path, version, VGB_PG_SCHEMA_VERSION);
    }
    if (s->mode == VGB_PG_MIGRATE || (s->mode == VGB_PG_OWNER && version < VGB_PG_SCHEMA_VERSION)) {
        return s_migrate(s, why);
    }
    return VG_OK;
}

/* Session settings: the schema on the search path, durable commits for
 * writers (synchronous_commit at least "on": flushed here and on the
 * synchronous standbys), read-only sessions for readers, bounded lock
 * waits; a standby is no owner. */
static vg_err
s_session(vgb_pg *s, vg_reason *why)
{
    PGresult *r = NULL;
    vg_err err = s_setup_exec(s,
                              "SELECT pg_is_in_recovery(), current_setting('synchronous_commit'),"
                              " current_setting('synchronous_standby_names')",
                              "read the server's settings", &r, why);
    if (err != VG_OK) {
        return err;
    }
    bool standby = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    char sync[32], names[128];
    vgb_pg_clean(sync, sizeof sync, PQgetvalue(r, 0, 1));
    vgb_pg_clean(names, sizeof names, PQgetvalue(r, 0, 2));
    PQclear(r);
    bool writer = s->mode == VGB_PG_OWNER || s->mode == VGB_PG_MIGRATE;
    if (writer && standby) {
        return vg_reason_set(why, VG_ERR_IO,
                             "store %s is a standby (read-only): give the primary, or every "
                             "server with target_session_attrs=read-write",
                             s->path);
    }
    char set[256];
    bool raise = writer && (strcmp(sync, "off") == 0 || strcmp(sync, "local") == 0 ||
                            strcmp(sync, "remote_write") == 0);
    snprintf(set, sizeof set, "SET search_path = vigil; SET lock_timeout = %d;%s%s",
             VGB_STORE_BUSY_MS, raise ? " SET synchronous_commit = on;" : "",
             writer ? "" : " SET default_transaction_read_only = on;");
    err = s_setup_exec(s, set, "set up the session", NULL, why);
    if (err == VG_OK && writer) {
        vg_log(names[0] ? VG_LOG_INFO : VG_LOG_WARN, "broker", "store.durability",
               "path=%s synchronous_commit=%s standbys=\"%s\" replicated=%s", s->path,
               raise ? "on" : sync, names, names[0] ? "yes" : "no");
    }
    return err;
}

/* After a commit in doubt, on the new connection: what became of it. */
static void
s_log_doubt(vgb_pg *s)
{
    if (!s->in_doubt || s->doubt_xid == 0) {
        return;
    }
    char xid[32];
    snprintf(xid, sizeof xid, "%" PRId64, s->doubt_xid);
    const char *values[1] = {xid};
    PGresult *r = PQexecParams(s->conn, "SELECT coalesce(txid_status($1::bigint), 'unknown')", 1,
                               NULL, values, NULL, NULL, 0);
    vg_log(VG_LOG_WARN, "broker", "store.commit_outcome", "path=%s xid=%s status=%s", s->path, xid,
           r && PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "unknown");
    PQclear(r);
}

static vg_err
s_prepare_all(vgb_pg *s, vg_reason *why)
{
    for (int q = 0; q < VGB_PG_N_QUERIES; q++) {
        Oid types[VGB_PG_PARAMS_MAX];
        const char *t = vgb_pg_queries[q].types;
        int n = (int)strlen(t);
        for (int i = 0; i < n; i++) {
            static const char letters[] = "ionbtIONBT";
            static const Oid oids[] = {20, 16, 23, 17, 25, 1016, 1000, 1007, 1001, 1009};
            types[i] = oids[strchr(letters, t[i]) - letters];
        }
        char name[16];
        snprintf(name, sizeof name, "vg%d", q);
        if (s->in_pipeline) {
            if (PQsendPrepare(s->conn, name, vgb_pg_queries[q].text, n, types) != 1) {
                return vg_reason_set(why, vgb_pg_fail(s, NULL, "prepare"),
                                     "store %s: prepare failed", s->path);
            }
            s->queued[s->n_queued++] = (vgb_pg_queued){.what = "prepare"};
            continue;
        }
        PGresult *r = PQprepare(s->conn, name, vgb_pg_queries[q].text, n, types);
        vg_err err = r != NULL && vgb_pg_ok(r) ? VG_OK : vgb_pg_fail(s, r, "prepare");
        PQclear(r);
        if (err != VG_OK) {
            return vg_reason_set(why, err, "store %s: prepare failed (statement %d)", s->path, q);
        }
    }
    vg_err err = VG_OK;
    if (s->in_pipeline && PQpipelineSync(s->conn) != 1) {
        err = vgb_pg_fail(s, NULL, "pipeline sync");
    }
    if (err == VG_OK && s->in_pipeline) {
        (void)vgb_pg_collect(s, false, "prepare", &err);
    }
    return err == VG_OK ? VG_OK : vg_reason_set(why, err, "store %s: prepare failed", s->path);
}

static const char *
s_app_name(vgb_pg_mode mode)
{
    switch (mode) {
    case VGB_PG_OWNER:
        return "vigil-broker";
    case VGB_PG_READER:
        return "vigil-broker-query";
    case VGB_PG_MIGRATE:
        return "vigil-pg-migrate";
    default:
        return "vigil-readonly";
    }
}

/* Connects (to the first server of the DSN that fits) and sets up. */
static vg_err
s_connect(vgb_pg *s, vg_reason *why)
{
    /* Keys before dbname are defaults the DSN may override; those after it
     * override the DSN. TCP keepalives find a server that vanished (a
     * failover) in seconds rather than the kernel's two hours. */
    const char *keys[] = {"connect_timeout",           "keepalives",       "keepalives_idle",
                          "keepalives_interval",       "keepalives_count", "dbname",
                          "fallback_application_name", "client_encoding",  NULL};
    const char *values[] = {VGB_PG_CONNECT_TIMEOUT_S, "1",    "10", "5", "3", s->dsn,
                            s_app_name(s->mode),      "UTF8", NULL};
    s->conn = PQconnectdbParams(keys, values, 1);
    if (s->conn == NULL) {
        return VG_ERR_NOMEM;
    }
    if (PQstatus(s->conn) != CONNECTION_OK) {
        char msg[512];
        vgb_pg_clean(msg, sizeof msg, PQerrorMessage(s->conn));
        vg_log(VG_LOG_ERROR, "broker", "store.connect", "msg=\"%s\"", msg);
        return vg_reason_set(why, VG_ERR_IO, "cannot connect to the PostgreSQL store: %s", msg);
    }
    PQsetNoticeReceiver(s->conn, vgb_pg_on_notice, s);
    s_set_path(s);
    vg_err err = s_session(s, why);
    err = err == VG_OK ? s_schema(s, why) : err;
    if (err == VG_OK) {
        s_log_doubt(s);
    }
    if (err == VG_OK && s->pipelining) {
        if (PQenterPipelineMode(s->conn) != 1) {
            return vg_reason_set(why, vgb_pg_fail(s, NULL, "enter pipeline mode"),
                                 "store %s: cannot enter pipeline mode", s->path);
        }
        s->in_pipeline = true;
    }
    return err == VG_OK ? s_prepare_all(s, why) : err;
}

/* Drops the connection and everything that lived on it. */
static void
s_disconnect(vgb_pg *s)
{
    PQfinish(s->conn);
    s->conn = NULL;
    s->in_pipeline = false;
    s->n_queued = 0;
    s->txn = VGB_PG_TXN_NONE;
    s->txn_failed = false;
    s->next_seq = 0;
}

vg_err
vgb_pg_reconnect(vgb_pg *s, vg_reason *why)
{
    vg_log(VG_LOG_WARN, "broker", "store.reconnect", "path=%s suspect=%s", s->path,
           s->suspect ? "yes" : "no");
    vgb_pg_lead_lost(s, "connection_replaced"); /* a session lock does not outlive it */
    s_disconnect(s);
    vg_err err = s_connect(s, why);
    if (err == VG_OK) {
        s->suspect = false;
    } else {
        s->suspect = true;
    }
    return err;
}

vg_err
vgb_pg_open(vgb_store **out, const char *dsn, vgb_pg_mode mode, vg_reason *why)
{
    vgb_pg *s = calloc(1, sizeof *s);
    if (s == NULL || (s->dsn = vg_strdup(dsn)) == NULL) {
        free(s);
        return VG_ERR_NOMEM;
    }
    s->base.ops = &s_ops;
    s->mode = mode;
    s->pipelining = mode == VGB_PG_OWNER;
    snprintf(s->path, sizeof s->path, "postgresql (not connected)");
    vg_err err = s_connect(s, why);
    vgb_store *base = &s->base;
    if (err != VG_OK) {
        vgb_store_destroy(&base);
        return err;
    }
    vg_log(VG_LOG_INFO, "broker", "store.open", "backend=postgresql path=%s mode=%s pipeline=%s",
           s->path, s_app_name(mode), s->in_pipeline ? "on" : "off");
    *out = base;
    return VG_OK;
}

vg_err
vgb_pg_set_pipelining(vgb_store *base, bool on)
{
    vgb_pg *s = (vgb_pg *)base;
    if (s->txn != VGB_PG_TXN_NONE || s->n_queued != 0 || !vgb_pg_conn_ok(s)) {
        return VG_ERR_INTERNAL;
    }
    if (on && !s->in_pipeline && PQenterPipelineMode(s->conn) != 1) {
        return VG_ERR_IO;
    }
    if (!on && s->in_pipeline && PQexitPipelineMode(s->conn) != 1) {
        return VG_ERR_IO;
    }
    s->in_pipeline = on;
    s->pipelining = on;
    return VG_OK;
}

void
vgb_pg_set_commit_wait(vgb_store *base, uint64_t ms)
{
    ((vgb_pg *)base)->commit_wait_ms = ms;
}

void
vgb_pg_set_epoch(vgb_store *base, int64_t epoch)
{
    vgb_pg *s = (vgb_pg *)base;
    s->epoch = epoch;
    s->next_seq = 0; /* a new leader asks the database what was written before it */
}

/* ---- the store.h operations of the connection ------------------------------------- */

static void s_rollback(vgb_store *base);

static void
s_destroy(vgb_store *base)
{
    vgb_pg *s = (vgb_pg *)base;
    if (s->txn != VGB_PG_TXN_NONE) {
        s_rollback(base);
    }
    vgb_pg_lead_release(base); /* standbys hear of it now, not at their next poll */
    PQfinish(s->conn);
    free(s->dsn);
    free(s);
}

static vg_err
s_open_reader(vgb_store **out, const vgb_store *owner, vg_reason *why)
{
    return vgb_pg_open(out, ((const vgb_pg *)owner)->dsn, VGB_PG_READER, why);
}

static vg_err
s_read_begin(vgb_store *base, vg_reason *why)
{
    vgb_pg *s = (vgb_pg *)base;
    if (s->txn != VGB_PG_TXN_NONE) {
        return vg_reason_set(why, VG_ERR_IO, "store %s: a transaction is open already", s->path);
    }
    vg_err err = vgb_pg_usable(s, why);
    if (err != VG_OK) {
        return err;
    }
    /* The snapshot is taken by the first statement, not by BEGIN: SELECT 1
     * takes it now, so that the transaction sees what was committed before
     * vgb_store_read_begin and nothing after (store.h). */
    s->txn = VGB_PG_TXN_READ;
    if (s->in_pipeline) {
        err = vgb_pg_enqueue(s, -1, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", NULL,
                             "begin read", VGB_PG_WANT_NOTHING);
        err = err == VG_OK ? vgb_pg_command(s, "SELECT 1", "begin read", NULL) : err;
    } else {
        err = vgb_pg_command(s, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SELECT 1",
                             "begin read", NULL);
    }
    if (err != VG_OK) {
        s_rollback(base);
        return vg_reason_set(why, err, "store %s: cannot begin a read transaction", s->path);
    }
    return VG_OK;
}

static void
s_read_end(vgb_store *base)
{
    s_rollback(base); /* nothing was written: ending it is all */
}

static void
s_mark_sound(vgb_store *base)
{
    (void)base; /* nothing compacts a PostgreSQL store from here */
}

static const char *
s_path(const vgb_store *base)
{
    return ((const vgb_pg *)base)->path;
}

static vg_err
s_start_background(vgb_store *base, const vgb_store_background *bg, vg_reason *why)
{
    (void)base, (void)bg, (void)why; /* the server checkpoints its own WAL */
    return VG_OK;
}

static void
s_after_commit(vgb_store *base)
{
    (void)base;
}

static void
s_stop_background(vgb_store *base)
{
    (void)base;
}

static vg_err
s_begin(vgb_store *base, vg_reason *why)
{
    vgb_pg *s = (vgb_pg *)base;
    if (s->mode != VGB_PG_OWNER && s->mode != VGB_PG_MIGRATE) {
        return vg_reason_set(why, VG_ERR_INTERNAL, "store %s is open read-only", s->path);
    }
    if (s->txn != VGB_PG_TXN_NONE) {
        return vg_reason_set(why, VG_ERR_IO, "store %s: a transaction is open already", s->path);
    }
    vg_err err = vgb_pg_usable(s, why); /* a new connection after a suspect commit */
    if (err != VG_OK) {
        return err;
    }
    s->in_doubt = false;
    s->doubt_xid = 0;
    s->xid = 0;
    s->seq_at_begin = s->next_seq; /* known since the last commit, or 0 */
    s->txn = VGB_PG_TXN_WRITE;
    /* Pipelined, BEGIN and the checks below cost no round trip of their own. */
    err = vgb_pg_enqueue(s, -1, "BEGIN", NULL, "begin", VGB_PG_WANT_NOTHING);
    err = err == VG_OK
              ? vgb_pg_enqueue(s, VGB_PG_Q_XACT_ID, NULL, NULL, "begin", VGB_PG_WANT_XACT_ID)
              : err;
    if (err == VG_OK && s->epoch != 0) { /* the fencing hook (docs/ha.md) */
        vgb_pg_params p = {0};
        vgb_pg_p_i64(&p, s->epoch);
        err = vgb_pg_enqueue(s, VGB_PG_Q_EPOCH_CHECK, NULL, &p, "epoch check", VGB_PG_WANT_NOTHING);
    }
    if (err != VG_OK) {
        s_rollback(base);
        return vg_reason_set(why, err, "store %s: cannot begin a transaction", s->path);
    }
    return VG_OK;
}

/* Ends the transaction on the server (ROLLBACK) and here. */
static void
s_rollback(vgb_store *base)
{
    vgb_pg *s = (vgb_pg *)base;
    if (s->txn == VGB_PG_TXN_NONE) {
        return;
    }
    if (vgb_pg_conn_ok(s)) {
        s->txn_failed = false; /* the ROLLBACK itself must be sent */
        vg_err err = VG_OK;
        if (!vgb_pg_send(s, -1, "ROLLBACK", NULL) ||
            (s->in_pipeline && PQpipelineSync(s->conn) != 1)) {
            err = vgb_pg_fail(s, NULL, "rollback");
            s->suspect = true;
        } else {
            PQclear(vgb_pg_collect(s, true, "rollback", &err));
        }
    } else {
        s->suspect = true;
    }
    s->txn = VGB_PG_TXN_NONE;
    s->txn_failed = false;
    s->n_queued = 0;
    s->next_seq = s->seq_at_begin; /* nothing of it was stored */
}

/* What the COMMIT's result says, once everything before it succeeded. */
static vg_err
s_commit_result(vgb_pg *s, const PGresult *r, vg_reason *why)
{
    if (strcmp(PQcmdStatus((PGresult *)r), "COMMIT") != 0) { /* "ROLLBACK": it had failed */
        vg_log(VG_LOG_ERROR, "broker", "store.error", "op=commit path=%s status=%s", s->path,
               PQcmdStatus((PGresult *)r));
        return vg_reason_set(why, VG_ERR_IO,
                             "store %s: the transaction had failed and was rolled back", s->path);
    }
    if (s->commit_warned) {
        s->in_doubt = true;
        s->doubt_xid = s->xid;
        s->suspect = true;
        vg_log(VG_LOG_ERROR, "broker", "store.commit_not_durable",
               "path=%s xid=%" PRId64 " warning=\"%s\"", s->path, s->xid, s->warning);
        return vg_reason_set(why, VG_ERR_IO,
                             "store %s: the commit is not known to be durable (%s): it may be on "
                             "this server only, not on its synchronous standby",
                             s->path, s->warning);
    }
    return VG_OK;
}

static vg_err
s_commit(vgb_store *base, vg_reason *why)
{
    vgb_pg *s = (vgb_pg *)base;
    if (s->txn == VGB_PG_TXN_READ) {
        s_rollback(base);
        return VG_OK;
    }
    if (s->txn != VGB_PG_TXN_WRITE) {
        return vg_reason_set(why, VG_ERR_IO, "store %s: no transaction is open", s->path);
    }
    vgb_pg_settle(s); /* a bounded wait then waits for the COMMIT's answer alone */
    if (s->txn_failed) {
        vg_err err =
            vg_reason_set(why, s->txn_err, "store %s: %s; rolled back", s->path, s->txn_why);
        s_rollback(base);
        return err;
    }
    vg_err err = VG_OK;
    s->committing = true;
    s->commit_warned = false;
    PGresult *r = NULL;
    if (!vgb_pg_send(s, -1, "COMMIT", NULL) || (s->in_pipeline && PQpipelineSync(s->conn) != 1)) {
        err = vgb_pg_fail(s, NULL, "commit");
    } else {
        vgb_pg_await(s);
        r = vgb_pg_collect(s, true, "commit", &err);
    }
    s->committing = false;
    if (r != NULL) {
        err = s_commit_result(s, r, why);
        PQclear(r);
        s->txn = VGB_PG_TXN_NONE;
    } else if (!vgb_pg_conn_ok(s) || s->suspect) { /* COMMIT may or may not have happened */
        s->in_doubt = true;
        s->doubt_xid = s->xid;
        s->suspect = true;
        vg_log(VG_LOG_ERROR, "broker", "store.commit_in_doubt", "path=%s xid=%" PRId64, s->path,
               s->xid);
        err = vg_reason_set(why, VG_ERR_IO,
                            "store %s: the connection broke during COMMIT: whether it committed "
                            "is unknown",
                            s->path);
        s->txn = VGB_PG_TXN_NONE;
    } else {
        err = vg_reason_set(why, err, "store %s: %s; rolled back", s->path,
                            s->txn_failed ? s->txn_why : "commit failed");
    }
    s_rollback(base); /* a no-op after COMMIT; ends a failed transaction */
    s->txn_failed = false;
    if (err != VG_OK) {
        s->next_seq = 0; /* what was stored is not known: ask the database next time */
    }
    return err;
}

static bool
s_in_transaction(const vgb_store *base)
{
    return ((const vgb_pg *)base)->txn != VGB_PG_TXN_NONE;
}

static bool
s_commit_in_doubt(const vgb_store *base)
{
    return ((const vgb_pg *)base)->in_doubt;
}

static const vgb_store_ops s_ops = {
    .destroy = s_destroy,
    .open_reader = s_open_reader,
    .read_begin = s_read_begin,
    .read_end = s_read_end,
    .mark_sound = s_mark_sound,
    .path = s_path,
    .start_background = s_start_background,
    .after_commit = s_after_commit,
    .stop_background = s_stop_background,
    .network_version = vgb_pg_network_version,
    .set_network_version = vgb_pg_set_network_version,
    .add_network_document = vgb_pg_add_network_document,
    .network_documents = vgb_pg_network_documents,
    .begin = s_begin,
    .commit = s_commit,
    .rollback = s_rollback,
    .in_transaction = s_in_transaction,
    .find_alert = vgb_pg_find_alert,
    .same_envelope = vgb_pg_same_envelope,
    .sequence_used = vgb_pg_sequence_used,
    .insert_alert = vgb_pg_insert_alert,
    .find_alert_for = vgb_pg_find_alert_for,
    .mark_delivered = vgb_pg_mark_delivered,
    .insert_receipt = vgb_pg_insert_receipt,
    .receipt_leaf = vgb_pg_receipt_leaf,
    .insert_rejection = vgb_pg_insert_rejection,
    .pending = vgb_pg_pending,
    .park = vgb_pg_park,
    .next_try = vgb_pg_next_try,
    .count_pending = vgb_pg_count_pending,
    .envelope = vgb_pg_envelope,
    .sender_bytes = vgb_pg_sender_bytes,
    .count_alerts = vgb_pg_count_alerts,
    .alert_meta = vgb_pg_alert_meta,
    .rrow = vgb_pg_rrow,
    .recipients_of = vgb_pg_recipients_of,
    .open_rows = vgb_pg_open_rows,
    .apply_receipt = vgb_pg_apply_receipt,
    .set_escalation = vgb_pg_set_escalation,
    .add_recipient = vgb_pg_add_recipient,
    .insert_share = vgb_pg_insert_share,
    .shares_to = vgb_pg_shares_to,
    .check_complete = vgb_pg_check_complete,
    .insert_events = vgb_pg_insert_events,
    .last_event = vgb_pg_last_event,
    .events_after = vgb_pg_events_after,
    .outstanding = vgb_pg_outstanding,
    .alert_leaves = vgb_pg_alert_leaves,
    .count_waiting = vgb_pg_count_waiting,
    .shift_times = vgb_pg_shift_times,
    .audit_size = vgb_pg_audit_size,
    .audit_node = vgb_pg_audit_node,
    .audit_leaf = vgb_pg_audit_leaf,
    .audit_append = vgb_pg_audit_append,
    .audit_add_checkpoint = vgb_pg_audit_add_checkpoint,
    .audit_latest_checkpoint = vgb_pg_audit_latest_checkpoint,
    .audit_checkpoints = vgb_pg_audit_checkpoints,
    .audit_checkpoint_at = vgb_pg_audit_checkpoint_at,
    .add_cosignature = vgb_pg_add_cosignature,
    .cosignatures = vgb_pg_cosignatures,
    .audit_leaves = vgb_pg_audit_leaves,
    .audit_nodes_beyond = vgb_pg_audit_nodes_beyond,
    .link_leaf = vgb_pg_link_leaf,
    .alert_ids = vgb_pg_alert_ids,
    .add_link_tags = vgb_pg_add_link_tags,
    .linked_earlier = vgb_pg_linked_earlier,
    .link_pairs = vgb_pg_link_pairs,
    .link_tags_of = vgb_pg_link_tags_of,
    .tagged = vgb_pg_tagged,
    .retain_candidates = vgb_pg_retain_candidates,
    .retain_state = vgb_pg_retain_state,
    .purge = vgb_pg_purge,
    .scrub = vgb_pg_scrub,
    .hold_add = vgb_pg_hold_add,
    .hold_remove = vgb_pg_hold_remove,
    .holds = vgb_pg_holds,
    .alert_by_id = vgb_pg_alert_by_id,
    .receipt_names = vgb_pg_receipt_names,
    .share_exists = vgb_pg_share_exists,
    .required_rows = vgb_pg_required_rows,
    .count = vgb_pg_count,
    .alerts_after = vgb_pg_alerts_after,
    .receipts_of = vgb_pg_receipts_of,
    .receipt_by_hash = vgb_pg_receipt_by_hash,
    .shares_of = vgb_pg_shares_of,
    .alert_leaf_links = vgb_pg_alert_leaf_links,
    .rejections_after = vgb_pg_rejections_after,
    .event_runs = vgb_pg_event_runs,
    .commit_in_doubt = s_commit_in_doubt,
    .lead_try = vgb_pg_lead_try,
    .lead_check = vgb_pg_lead_check,
    .lead_release = vgb_pg_lead_release,
    .lead_fd = vgb_pg_lead_fd,
    .lead_woken = vgb_pg_lead_woken,
    .audit_durable = vgb_pg_audit_durable,
    .set_audit_durable = vgb_pg_set_audit_durable,
};
