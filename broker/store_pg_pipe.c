/* store_pg_pipe.c — the PostgreSQL back end's pipeline: statements queued
 * with libpq's pipeline mode, their results collected with the next lookup
 * or the COMMIT, and the connection checked and replaced between
 * transactions (see store_pg.h). */
#include "store_pg.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vigil/log.h"

/* ---- failures ------------------------------------------------------------------ */

/* A server message made fit for one log line and a reason. */
void
vgb_pg_clean(char *out, size_t len, const char *msg)
{
    size_t o = 0;
    for (const char *m = msg ? msg : ""; *m != '\0' && o + 1 < len; m++) {
        out[o++] = (*m == '"') ? '\'' : ((unsigned char)*m < 0x20) ? ' ' : *m;
    }
    while (o > 0 && out[o - 1] == ' ') {
        o--;
    }
    out[o] = '\0';
}

vg_err
vgb_pg_err_of(const char *sqlstate)
{
    if (sqlstate == NULL || strlen(sqlstate) != 5) {
        return VG_ERR_IO; /* no server error: the connection */
    }
    if (strcmp(sqlstate, "53100") == 0) {
        return VG_ERR_STORAGE_FULL; /* disk_full */
    }
    if (strncmp(sqlstate, "23", 2) == 0) {
        return VG_ERR_CONFLICT; /* integrity constraint violation */
    }
    if (strcmp(sqlstate, "XX001") == 0 || strcmp(sqlstate, "XX002") == 0) {
        return VG_ERR_MALFORMED; /* data_corrupted, index_corrupted */
    }
    return VG_ERR_IO; /* 08 connection, 40 serialization/deadlock, 42501 privileges, 57, 58 ... */
}

/* Ends the open transaction's hope of committing: the server has aborted it. */
void
vgb_pg_txn_fail(vgb_pg *s, vg_err err, const char *what, const char *msg)
{
    if (s->txn != VGB_PG_TXN_NONE && !s->txn_failed) {
        s->txn_failed = true;
        s->txn_err = err;
        snprintf(s->txn_why, sizeof s->txn_why, "%.64s failed: %.180s", what, msg);
    }
}

bool
vgb_pg_conn_ok(const vgb_pg *s)
{
    return s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK;
}

/* Logs a failure once (r: the failed result, or NULL for the connection's
 * own error) and fails the open transaction. */
vg_err
vgb_pg_fail(vgb_pg *s, const PGresult *r, const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (msg == NULL) {
        msg = s->conn ? PQerrorMessage(s->conn) : "not connected";
    }
    char clean[256];
    vgb_pg_clean(clean, sizeof clean, msg);
    vg_err err = vgb_pg_err_of(state);
    if (!vgb_pg_conn_ok(s)) {
        s->suspect = true;
        err = VG_ERR_IO;
    }
    bool fenced = state != NULL && strcmp(state, VGB_PG_FENCED) == 0;
    s->fenced |= fenced; /* another broker leads: the leader's heartbeat steps down */
    vg_log(VG_LOG_ERROR, "broker", fenced ? "store.fenced" : "store.error",
           "op=%s path=%s sqlstate=%s msg=\"%s\"", what, s->path, state ? state : "-", clean);
    vgb_pg_txn_fail(s, err, what, clean);
    return err;
}

vg_err
vgb_pg_damaged(vgb_pg *s, const char *what)
{
    vg_log(VG_LOG_ERROR, "broker", "store.damaged", "path=%s detail=\"%s\"", s->path, what);
    vgb_pg_txn_fail(s, VG_ERR_MALFORMED, what, "damaged row");
    return VG_ERR_MALFORMED;
}

/* Notices: a WARNING during COMMIT means the commit is not known durable
 * (the cancelled wait for a synchronous standby); the others are logged. */
void
vgb_pg_on_notice(void *arg, const PGresult *r)
{
    vgb_pg *s = arg;
    const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    char msg[256];
    vgb_pg_clean(msg, sizeof msg, PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
    bool warning = sev != NULL && strcmp(sev, "WARNING") == 0;
    if (warning && s->committing) {
        s->commit_warned = true;
        snprintf(s->warning, sizeof s->warning, "%s", msg);
    }
    vg_log(warning ? VG_LOG_WARN : VG_LOG_DEBUG, "broker", "store.notice",
           "path=%s severity=%s sqlstate=%s msg=\"%s\"", s->path, sev ? sev : "-",
           state ? state : "-", msg);
}

/* ---- the pipeline -------------------------------------------------------------- */

/* Sends statement q (or the plain command sql, q < 0) with p. */
bool
vgb_pg_send(vgb_pg *s, int q, const char *sql, const vgb_pg_params *p)
{
    if (q < 0) {
        return s->in_pipeline ? PQsendQueryParams(s->conn, sql, 0, NULL, NULL, NULL, NULL, 1) == 1
                              : PQsendQuery(s->conn, sql) == 1; /* may hold several commands */
    }
    char name[16];
    snprintf(name, sizeof name, "vg%d", q);
    int n = p ? p->n : 0;
    return PQsendQueryPrepared(s->conn, name, n, p ? p->value : NULL, p ? p->len : NULL,
                               p ? p->fmt : NULL, 1) == 1;
}

/* The next result of one statement (the results of a command string: the
 * last, or its first failure), or a PIPELINE_SYNC; NULL when the connection
 * failed. */
PGresult *
vgb_pg_next(vgb_pg *s)
{
    PGresult *r = PQgetResult(s->conn);
    if (r == NULL || PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
        return r;
    }
    PGresult *more;
    while ((more = PQgetResult(s->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            PQclear(r);
            r = more;
        } else {
            PQclear(more);
        }
    }
    return r;
}

bool
vgb_pg_ok(const PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* Keeps what a queued statement's result is wanted for. Nothing here may
 * decide that the transaction fails: the statements after it in the
 * pipeline, the COMMIT too, have run by now. Such checks raise an error in
 * the server (check_epoch). */
void
vgb_pg_keep(vgb_pg *s, const vgb_pg_queued *item, const PGresult *r)
{
    if (item->want == VGB_PG_WANT_XACT_ID && PQntuples(r) == 1) {
        s->xid = vgb_pg_r_i64(r, 0, 0);
    }
}

/* Collects what the connection owes: the queued results, then (own) the
 * result of the statement sent last, then in pipeline mode the sync. Returns
 * the own result when everything succeeded, else NULL and *err. */
PGresult *
vgb_pg_collect(vgb_pg *s, bool own, const char *what, vg_err *err)
{
    vg_err first = VG_OK;
    bool broken = false;
    for (size_t i = 0; i < s->n_queued && !broken; i++) {
        PGresult *r = vgb_pg_next(s);
        broken = r == NULL;
        if (broken || (!vgb_pg_ok(r) && PQresultStatus(r) != PGRES_PIPELINE_ABORTED)) {
            vg_err e = vgb_pg_fail(s, r, s->queued[i].what);
            first = first != VG_OK ? first : e;
        } else if (vgb_pg_ok(r)) {
            vgb_pg_keep(s, &s->queued[i], r);
        }
        PQclear(r);
    }
    s->n_queued = 0;
    PGresult *mine = NULL;
    if (own && !broken) {
        mine = vgb_pg_next(s);
        broken = mine == NULL;
        if (broken || (!vgb_pg_ok(mine) && PQresultStatus(mine) != PGRES_PIPELINE_ABORTED)) {
            vg_err e = vgb_pg_fail(s, mine, what);
            first = first != VG_OK ? first : e;
        } else if (!vgb_pg_ok(mine) && first == VG_OK) { /* aborted by a failure collected before */
            first = s->txn_failed ? s->txn_err : VG_ERR_IO;
        }
    }
    if (s->in_pipeline && !broken) {
        PGresult *sync = vgb_pg_next(s);
        if (sync == NULL || PQresultStatus(sync) != PGRES_PIPELINE_SYNC) {
            vg_err e = vgb_pg_fail(s, sync, "pipeline sync");
            first = first != VG_OK ? first : e;
            broken = sync == NULL;
        }
        PQclear(sync);
    }
    if (broken) {
        s->suspect = true;
        first = first != VG_OK ? first : VG_ERR_IO;
    }
    if (first != VG_OK) {
        PQclear(mine);
        *err = first;
        return NULL;
    }
    return mine;
}

/* Ready to send: inside a transaction, one that has not failed; outside,
 * a connection (a new one when the last was suspect or broken). */

/* Between transactions the server has nothing to say unless it is going
 * away (a restart, a failover, pg_terminate_backend: "terminating
 * connection ..."): anything to read then, without blocking, and the
 * connection is replaced before it is used. */
void
vgb_pg_probe(vgb_pg *s)
{
    if (!vgb_pg_conn_ok(s) || s->n_queued != 0) {
        return;
    }
    struct pollfd p = {.fd = PQsocket(s->conn), .events = POLLIN};
    if (p.fd < 0 || poll(&p, 1, 0) > 0) {
        (void)PQconsumeInput(s->conn);
        (void)PQisBusy(s->conn); /* parses it: a last FATAL comes as a notice */
        s->suspect = true;
    }
}

vg_err
vgb_pg_usable(vgb_pg *s, vg_reason *why)
{
    if (s->txn != VGB_PG_TXN_NONE) {
        if (s->txn_failed) {
            return vg_reason_set(why, s->txn_err, "store %s: %s", s->path, s->txn_why);
        }
        if (!vgb_pg_conn_ok(s)) {
            s->suspect = true;
            vgb_pg_txn_fail(s, VG_ERR_IO, "transaction", "the connection broke");
            return vg_reason_set(why, VG_ERR_IO, "store %s: the connection broke", s->path);
        }
        return VG_OK;
    }
    vgb_pg_probe(s);
    return s->suspect || !vgb_pg_conn_ok(s) ? vgb_pg_reconnect(s, why) : VG_OK;
}

/* Before a COMMIT whose wait is bounded: the outcomes of the changes still
 * queued are collected first (one round trip), so that what is awaited
 * after the COMMIT is its answer alone. A failure fails the transaction. */
void
vgb_pg_settle(vgb_pg *s)
{
    if (s->commit_wait_ms == 0 || !s->in_pipeline || s->n_queued == 0 || s->txn_failed) {
        return;
    }
    vg_err err = VG_OK;
    if (PQpipelineSync(s->conn) != 1) {
        (void)vgb_pg_fail(s, NULL, "pipeline sync");
        return;
    }
    (void)vgb_pg_collect(s, false, "commit", &err);
}

static int64_t
s_mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* After a COMMIT was sent (nothing else outstanding, see vgb_pg_settle):
 * waits at most commit_wait_ms for its answer, then asks the server to
 * cancel the wait. A cancelled wait for the synchronous standby is still
 * answered, with the warning that makes the commit in doubt; collecting
 * the answer is the caller's. */
void
vgb_pg_await(vgb_pg *s)
{
    if (s->commit_wait_ms == 0 || !vgb_pg_conn_ok(s)) {
        return;
    }
    int64_t start = s_mono_ms(), end = start + (int64_t)s->commit_wait_ms;
    struct pollfd p = {.fd = PQsocket(s->conn), .events = POLLIN};
    for (int64_t now = start; now < end; now = s_mono_ms()) {
        int n = poll(&p, 1, (int)(end - now));
        if (n < 0 && errno != EINTR) {
            return;
        }
        if (n > 0 && (PQconsumeInput(s->conn) != 1 || PQisBusy(s->conn) == 0)) {
            return; /* answered (or broken: collecting says so) */
        }
    }
    PGcancel *c = PQgetCancel(s->conn);
    char msg[256] = "";
    int sent = c != NULL ? PQcancel(c, msg, sizeof msg) : 0;
    PQfreeCancel(c);
    vg_log(VG_LOG_WARN, "broker", "store.commit_wait_cancelled",
           "path=%s waited_ms=%" PRId64 " cancel=%s", s->path, s_mono_ms() - start,
           sent ? "sent" : "failed");
}

/* Sends q (or sql) and, unless it may wait in the pipeline, collects the
 * outcome now. */
vg_err
vgb_pg_enqueue(vgb_pg *s, int q, const char *sql, vgb_pg_params *p, const char *what,
               vgb_pg_want want)
{
    vg_err err = p != NULL && p->failed ? VG_ERR_NOMEM : vgb_pg_usable(s, NULL);
    if (err == VG_OK && !vgb_pg_send(s, q, sql, p)) {
        err = vgb_pg_fail(s, NULL, what);
    }
    vgb_pg_params_fini(p);
    if (err != VG_OK) {
        return err;
    }
    s->queued[s->n_queued++] = (vgb_pg_queued){.what = what, .want = want};
    bool wait = !(s->pipelining && s->in_pipeline && s->txn == VGB_PG_TXN_WRITE) ||
                s->n_queued == VGB_PG_QUEUE_MAX;
    if (wait && s->in_pipeline && PQpipelineSync(s->conn) != 1) {
        return vgb_pg_fail(s, NULL, "pipeline sync");
    }
    if (wait) {
        (void)vgb_pg_collect(s, false, what, &err);
    }
    return err;
}

PGresult *
vgb_pg_query(vgb_pg *s, vgb_pg_q q, vgb_pg_params *p, const char *what, vg_err *err)
{
    *err = p != NULL && p->failed ? VG_ERR_NOMEM : vgb_pg_usable(s, NULL);
    if (*err == VG_OK && !vgb_pg_send(s, (int)q, NULL, p)) {
        *err = vgb_pg_fail(s, NULL, what);
    }
    vgb_pg_params_fini(p);
    if (*err == VG_OK && s->in_pipeline && PQpipelineSync(s->conn) != 1) {
        *err = vgb_pg_fail(s, NULL, "pipeline sync");
    }
    return *err == VG_OK ? vgb_pg_collect(s, true, what, err) : NULL;
}

/* Runs the plain command sql and waits. */
vg_err
vgb_pg_command(vgb_pg *s, const char *sql, const char *what, PGresult **out)
{
    vg_err err = vgb_pg_usable(s, NULL);
    if (err == VG_OK && !vgb_pg_send(s, -1, sql, NULL)) {
        err = vgb_pg_fail(s, NULL, what);
    }
    if (err == VG_OK && s->in_pipeline && PQpipelineSync(s->conn) != 1) {
        err = vgb_pg_fail(s, NULL, "pipeline sync");
    }
    PGresult *r = err == VG_OK ? vgb_pg_collect(s, true, what, &err) : NULL;
    if (out != NULL) {
        *out = r;
    } else {
        PQclear(r);
    }
    return err;
}

vg_err
vgb_pg_need_write(vgb_pg *s, const char *what)
{
    if (s->txn == VGB_PG_TXN_WRITE) {
        return VG_OK;
    }
    vg_log(VG_LOG_ERROR, "broker", "store.error", "op=%s path=%s detail=outside_transaction", what,
           s->path);
    return VG_ERR_INTERNAL;
}

vg_err
vgb_pg_change(vgb_pg *s, vgb_pg_q q, vgb_pg_params *p, const char *what)
{
    vg_err err = vgb_pg_need_write(s, what);
    if (err != VG_OK) {
        vgb_pg_params_fini(p);
        return err;
    }
    return vgb_pg_enqueue(s, (int)q, NULL, p, what, VGB_PG_WANT_NOTHING);
}

vg_err
vgb_pg_change_n(vgb_pg *s, vgb_pg_q q, vgb_pg_params *p, const char *what, uint64_t *n)
{
    vg_err err = vgb_pg_need_write(s, what);
    if (err != VG_OK) {
        vgb_pg_params_fini(p);
        return err;
    }
    PGresult *r = vgb_pg_query(s, q, p, what, &err);
    if (r != NULL && n != NULL) {
        *n = strtoull(PQcmdTuples(r), NULL, 10);
    }
    PQclear(r);
    return err;
}

vg_err
vgb_pg_u64(vgb_pg *s, vgb_pg_q q, vgb_pg_params *p, const char *what, uint64_t *out)
{
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query(s, q, p, what, &err);
    if (r != NULL) {
        *out = PQntuples(r) > 0 ? (uint64_t)vgb_pg_r_i64(r, 0, 0) : 0;
    }
    PQclear(r);
    return err;
}
