/* store_pg_lease.c — who leads a PostgreSQL store (store.h, "leadership";
 * docs/ha.md): a session-level advisory lock on the owner's connection and
 * the epoch row that every write transaction checks (check_epoch, in
 * store_pg_sql.c's schema).
 *
 * The lock is the lease. The server gives it up when the session ends: at
 * once when the broker process dies (its socket closes), and within the
 * lease when it stops answering: idle_session_timeout and
 * idle_in_transaction_session_timeout end a session that is paused or
 * hung, and the server's TCP keepalives and tcp_user_timeout end one whose
 * machine vanished. The leader's heartbeat (vgb_pg_lead_check) keeps a
 * healthy idle session alive.
 *
 * A standby LISTENs on S_CHANNEL: a leader that gives the lead up says so,
 * so that it is taken at once; the hint is lost at a failover (NOTIFY is
 * not replicated), which is why standbys poll as well. The advertised
 * endpoint travels as the leader session's application_name, which every
 * session of the broker's role may read in pg_stat_activity. */
#include "store_pg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/log.h"

#define S_LEAD_KEY 1986619254    /* advisory lock key of the lead (not the migration's) */
#define S_CHANNEL "vigil_leader" /* NOTIFY channel: the lead was given up */
#define S_APP_PREFIX "vigil "    /* application_name = "vigil " + advertised endpoint */
#define S_STR(x) #x
#define S_XSTR(x) S_STR(x)

/* Takes notifications the server sent (a hint for a standby), so that the
 * check between transactions (vgb_pg_probe) does not take them for a
 * server going away. */
static void
s_take_notifies(vgb_pg *s)
{
    if (!vgb_pg_conn_ok(s) || s->n_queued != 0 || PQconsumeInput(s->conn) != 1) {
        return;
    }
    PGnotify *n;
    while ((n = PQnotifies(s->conn)) != NULL) {
        s->hinted = true;
        PQfreemem(n);
    }
}

/* Runs one statement with text parameters and waits: its result (PQclear
 * it), or NULL with *err (logged). */
static PGresult *
s_run(vgb_pg *s, const char *sql, int n, const char *const *values, const char *what, vg_err *err)
{
    s_take_notifies(s);
    *err = vgb_pg_usable(s, NULL);
    if (*err == VG_OK && PQsendQueryParams(s->conn, sql, n, NULL, values, NULL, NULL, 1) != 1) {
        *err = vgb_pg_fail(s, NULL, what);
    }
    if (*err == VG_OK && s->in_pipeline && PQpipelineSync(s->conn) != 1) {
        *err = vgb_pg_fail(s, NULL, "pipeline sync");
    }
    return *err == VG_OK ? vgb_pg_collect(s, true, what, err) : NULL;
}

static vg_err
s_exec(vgb_pg *s, const char *sql, int n, const char *const *values, const char *what)
{
    vg_err err = VG_OK;
    PQclear(s_run(s, sql, n, values, what, &err));
    return err;
}

void
vgb_pg_lead_lost(vgb_pg *s, const char *detail)
{
    s->listening = false;
    if (!s->leading) {
        return;
    }
    s->leading = false;
    s->epoch = -1; /* no epoch is -1: every write transaction now fails as fenced */
    vg_log(VG_LOG_WARN, "broker", "store.lead_lost", "path=%s detail=%s", s->path, detail);
}

/* Session settings of a broker that leads or may lead: the server ends its
 * session when it stops answering (paused, hung, its machine gone) within
 * the lease, and names it by the endpoint it advertises. */
static vg_err
s_lease_settings(vgb_pg *s, const vgb_lead_params *p)
{
    uint64_t lease = p->lease_ms;
    char ms[24], idle[24], app[VGB_LEAD_ENDPOINT_MAX + 8];
    snprintf(ms, sizeof ms, "%" PRIu64, lease);
    snprintf(idle, sizeof idle, "%" PRIu64, lease / 2000 > 0 ? lease / 2000 : 1);
    snprintf(app, sizeof app, "%s%.*s", S_APP_PREFIX, VGB_LEAD_ENDPOINT_MAX - 1,
             p->advertise ? p->advertise : "");
    const char *values[] = {ms, idle, app};
    return s_exec(s,
                  "SELECT set_config('idle_session_timeout', $1, false),"
                  " set_config('idle_in_transaction_session_timeout', $1, false),"
                  " set_config('tcp_user_timeout', $1, false),"
                  " set_config('tcp_keepalives_idle', $2, false),"
                  " set_config('tcp_keepalives_interval', '1', false),"
                  " set_config('tcp_keepalives_count', '3', false),"
                  " set_config('application_name', $3, false)",
                  3, values, "lease settings");
}

/* The store's epoch and the lock holder's advertised endpoint. */
static vg_err
s_peek(vgb_pg *s, vgb_lead_state *out)
{
    vg_err err = VG_OK;
    PGresult *r =
        s_run(s,
              "SELECT (SELECT value FROM meta WHERE key = 'epoch'),"
              " coalesce((SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a"
              " ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0"
              " AND l.objid = " S_XSTR(S_LEAD_KEY) " AND l.objsubid = 1 AND l.database ="
                                                   " (SELECT oid FROM pg_database WHERE datname = "
                                                   "current_database()) LIMIT 1), '')",
              0, NULL, "who leads", &err);
    if (r != NULL && PQntuples(r) == 1) {
        out->epoch = vgb_pg_r_i64(r, 0, 0);
        const char *app = vgb_pg_r_text(r, 0, 1);
        size_t pre = strlen(S_APP_PREFIX);
        if (strncmp(app, S_APP_PREFIX, pre) == 0 && strstr(app + pre, "://") != NULL) {
            vgb_pg_clean(out->leader, sizeof out->leader, app + pre);
        }
    }
    PQclear(r);
    return err;
}

/* Sends COMMIT and waits for its answer as a batch's COMMIT does: at most
 * commit_wait_ms (vgb_pg_await). */
static PGresult *
s_commit(vgb_pg *s, vg_err *err)
{
    *err = VG_OK;
    if (PQsendQueryParams(s->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 1) != 1 ||
        (s->in_pipeline && PQpipelineSync(s->conn) != 1)) {
        *err = vgb_pg_fail(s, NULL, "commit epoch");
        return NULL;
    }
    vgb_pg_await(s);
    return vgb_pg_collect(s, true, "commit epoch", err);
}

/* Raises the epoch in a transaction of its own; false unless it committed
 * durably (no warning came with the COMMIT). */
static vg_err
s_bump(vgb_pg *s, int64_t *epoch_out, vg_reason *why)
{
    s->seq_at_begin = 0;
    s->txn = VGB_PG_TXN_WRITE; /* failures below fail it, and end it on rollback */
    s->txn_failed = false;
    vg_err err = s_exec(s, "BEGIN", 0, NULL, "begin epoch");
    PGresult *r =
        err == VG_OK
            ? s_run(s, "UPDATE meta SET value = value + 1 WHERE key = 'epoch' RETURNING value", 0,
                    NULL, "raise the epoch", &err)
            : NULL;
    int64_t epoch = r != NULL && PQntuples(r) == 1 ? vgb_pg_r_i64(r, 0, 0) : 0;
    PQclear(r);
    if (err == VG_OK && epoch <= 0) {
        err = vgb_pg_damaged(s, "no epoch row in meta");
    }
    if (err == VG_OK) {
        s->committing = true;
        s->commit_warned = false;
        r = s_commit(s, &err);
        s->committing = false;
        if (r != NULL && (strcmp(PQcmdStatus(r), "COMMIT") != 0 || s->commit_warned)) {
            err = VG_ERR_IO; /* rolled back, or not known to be on the synchronous standby */
            s->suspect = s->suspect || s->commit_warned;
        }
        PQclear(r);
        if (r != NULL || err != VG_OK) {
            s->txn = VGB_PG_TXN_NONE;
        }
    }
    if (s->txn != VGB_PG_TXN_NONE) {
        vgb_store_rollback(&s->base);
    }
    s->txn = VGB_PG_TXN_NONE;
    if (err != VG_OK) {
        return vg_reason_set(why, err, "store %s: the epoch could not be raised durably%s%s",
                             s->path, s->commit_warned ? ": " : "",
                             s->commit_warned ? s->warning : "");
    }
    *epoch_out = epoch;
    return VG_OK;
}

vg_err
vgb_pg_lead_try(vgb_store *base, const vgb_lead_params *p, vgb_lead_state *out, vg_reason *why)
{
    vgb_pg *s = (vgb_pg *)base;
    memset(out, 0, sizeof *out);
    if (s->txn != VGB_PG_TXN_NONE || (s->mode != VGB_PG_OWNER && s->mode != VGB_PG_MIGRATE)) {
        return vg_reason_set(why, VG_ERR_INTERNAL, "store %s: cannot lead from here", s->path);
    }
    if (s->leading) {
        out->epoch = s->epoch;
        out->mine = true;
        return VG_OK;
    }
    vg_err err = s_lease_settings(s, p);
    if (err == VG_OK && !s->listening) {
        err = s_exec(s, "LISTEN " S_CHANNEL, 0, NULL, "listen");
        s->listening = err == VG_OK;
    }
    vg_err e2 = VG_OK;
    PGresult *r = err == VG_OK ? s_run(s, "SELECT pg_try_advisory_lock(" S_XSTR(S_LEAD_KEY) ")", 0,
                                       NULL, "try the lock", &err)
                               : NULL;
    bool got = r != NULL && PQntuples(r) == 1 && vgb_pg_r_bool(r, 0, 0);
    PQclear(r);
    if (err != VG_OK) {
        return vg_reason_set(why, err, "store %s: cannot reach it to lead", s->path);
    }
    if (!got) {
        err = s_peek(s, out);
        return err == VG_OK ? VG_OK
                            : vg_reason_set(why, err, "store %s: cannot read who leads", s->path);
    }
    s->fenced = false;
    int64_t epoch = 0;
    err = s_bump(s, &epoch, why);
    if (err != VG_OK) {
        e2 = s_exec(s, "SELECT pg_advisory_unlock(" S_XSTR(S_LEAD_KEY) ")", 0, NULL,
                    "give the lock back");
        (void)e2; /* a broken connection gave it back already */
        return err;
    }
    (void)s_exec(s, "UNLISTEN *", 0, NULL, "unlisten"); /* a leader must not wake for hints */
    s->listening = false;
    s->hinted = false;
    vgb_pg_set_epoch(base, epoch);
    s->leading = true;
    out->epoch = epoch;
    out->mine = true;
    snprintf(out->leader, sizeof out->leader, "%s", p->advertise ? p->advertise : "");
    return VG_OK;
}

vg_err
vgb_pg_lead_check(vgb_store *base, vg_reason *why)
{
    vgb_pg *s = (vgb_pg *)base;
    if (!s->leading || s->fenced) {
        return vg_reason_set(why, VG_ERR_NOT_LEADER, "store %s: %s", s->path,
                             s->fenced ? "another broker raised the epoch (fenced)"
                                       : "the lock was lost with the connection");
    }
    char epoch[24];
    snprintf(epoch, sizeof epoch, "%" PRId64, s->epoch);
    const char *values[] = {epoch};
    vg_err err = s_exec(s, "SELECT check_epoch($1::bigint)", 1, values, "lease heartbeat");
    if (!s->leading || s->fenced) { /* replaced while it ran, or refused by check_epoch */
        return vg_reason_set(why, VG_ERR_NOT_LEADER, "store %s: %s", s->path,
                             s->fenced ? "another broker raised the epoch (fenced)"
                                       : "the lock was lost with the connection");
    }
    if (err != VG_OK) {
        vgb_pg_lead_lost(s, "heartbeat_failed");
        return vg_reason_set(why, err, "store %s: the lease heartbeat failed", s->path);
    }
    return VG_OK;
}

void
vgb_pg_lead_release(vgb_store *base)
{
    vgb_pg *s = (vgb_pg *)base;
    if (!s->leading) {
        return;
    }
    bool usable = vgb_pg_conn_ok(s) && !s->suspect && s->txn == VGB_PG_TXN_NONE;
    s->leading = false;
    s->epoch = -1;
    if (usable) { /* else the session's end gives the lock back */
        (void)s_exec(s, "SELECT pg_advisory_unlock(" S_XSTR(S_LEAD_KEY) ")", 0, NULL,
                     "give the lock back");
        (void)s_exec(s, "NOTIFY " S_CHANNEL, 0, NULL, "tell the standbys");
    }
    vg_log(VG_LOG_INFO, "broker", "store.lead_released", "path=%s", s->path);
}

int
vgb_pg_lead_fd(vgb_store *base)
{
    vgb_pg *s = (vgb_pg *)base;
    return vgb_pg_conn_ok(s) && s->listening ? PQsocket(s->conn) : -1;
}

bool
vgb_pg_lead_woken(vgb_store *base)
{
    vgb_pg *s = (vgb_pg *)base;
    s_take_notifies(s);
    bool hinted = s->hinted;
    s->hinted = false;
    return hinted;
}

/* ---- the durable log size, for the standbys' high-water marks ------------------------ */

vg_err
vgb_pg_audit_durable(vgb_store *base, uint64_t *out)
{
    vgb_pg *s = (vgb_pg *)base;
    vg_err err = VG_OK;
    PGresult *r = s_run(s, "SELECT value FROM meta WHERE key = 'audit_durable'", 0, NULL,
                        "read the durable log size", &err);
    *out = r != NULL && PQntuples(r) == 1 ? (uint64_t)vgb_pg_r_i64(r, 0, 0) : 0;
    PQclear(r);
    return err;
}

vg_err
vgb_pg_set_audit_durable(vgb_store *base, uint64_t size)
{
    vgb_pg *s = (vgb_pg *)base;
    vg_err err = vgb_pg_need_write(s, "record the durable log size");
    char sql[200];
    snprintf(sql, sizeof sql,
             "INSERT INTO meta(key, value) VALUES ('audit_durable', %" PRIu64 ")"
             " ON CONFLICT (key) DO UPDATE SET value = greatest(meta.value, excluded.value)",
             size);
    return err == VG_OK ? vgb_pg_enqueue(s, -1, sql, NULL, "record the durable log size",
                                         VGB_PG_WANT_NOTHING)
                        : err;
}
