/* agent_handover.c — alerts handed at least once to a program that
 * acknowledges them (see vigil/agent.h, "hand-over"; the inbox columns in
 * agent_store.h).
 *
 * The store is the record: an alert is marked handed, with a new attempt
 * row, in the transaction that takes it, before the caller sees it; the
 * outcome is a second transaction. A crash between the two leaves the row
 * handed, which the next process that opens the store for hand-over treats
 * as a failed attempt ("interrupted") and hands over again. So every alert
 * is handed over at least once and recorded as handled at most once.
 *
 * Trade-off: one process per store hands over (an flock on
 * <store>/handover.lock). Without it, a second `listen --exec` starting
 * would take the first one's running hand-overs for interrupted ones and
 * run them again while they are still running.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "agent_internal.h"
#include "vigil/log.h"

#define S_LOCK_NAME "handover.lock"
#define S_OUTCOME_MAX 200 /* bytes of an outcome kept in the store and the log */

/* ---- the lock and recovery ---------------------------------------------------------- */

/* Reads the pid the holder wrote into the lock file, for the message. */
static long
s_lock_holder(int fd)
{
    char buf[32] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    return strtol(buf, NULL, 10);
}

static vg_err
s_lock(vga_agent *a, vg_reason *why)
{
    const char *dir = vga_identity_config(a->id)->store_path;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, S_LOCK_NAME) >= sizeof path) {
        return vg_reason_set(why, VG_ERR_INVALID, "store path %s is too long", dir);
    }
    /* O_CLOEXEC: a program started from this process must not hold the lock
     * after this process dies, or a killed listener could never be replaced. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return vg_reason_set(why, VG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        long holder = s_lock_holder(fd);
        close(fd);
        if (err == EWOULDBLOCK) {
            return vg_reason_set(why, VG_ERR_CONFLICT,
                                 "another process (pid %ld) is handing this agency's alerts "
                                 "over (listen --exec); one per store: stop it first",
                                 holder);
        }
        return vg_reason_set(why, VG_ERR_IO, "cannot lock %s: %s", path, strerror(err));
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
        vg_log(VG_LOG_DEBUG, "agent", "handover.lock_pid", "path=%s", path); /* only a hint */
    }
    a->handover_lock = fd;
    return VG_OK;
}

static void
s_log_interrupted(void *ctx, const uint8_t *id, uint32_t failures, bool parked)
{
    const vga_agent *a = ctx;
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, id);
    vg_log(parked ? VG_LOG_ERROR : VG_LOG_WARN, "agent",
           parked ? "handover.parked" : "handover.interrupted",
           "agency=%s alert=%s failures=%u outcome=interrupted", vga_agent_agency(a), idhex,
           failures);
}

vg_err
vga_handover_open(vga_agent *a, const vga_handover_policy *p, vg_reason *why)
{
    if (!a->receive || p->attempts_max < 1 || p->backoff_ms < 0 || p->backoff_max_ms < 0) {
        return vg_reason_set(why, VG_ERR_INVALID,
                             "hand-over needs receive, attempts_max >= 1 and backoffs >= 0");
    }
    a->handover = *p;
    if (a->handover.backoff_max_ms < a->handover.backoff_ms) {
        a->handover.backoff_max_ms = a->handover.backoff_ms;
    }
    vg_err rc = s_lock(a, why);
    if (rc != VG_OK) {
        return rc;
    }
    rc = vga_store_handover_recover(a->store, vg_clock_wall_ms(a->clock), p->attempts_max,
                                    s_log_interrupted, a);
    if (rc != VG_OK) {
        return vg_reason_set(why, rc, "cannot recover interrupted hand-overs in the local store");
    }
    a->handing_over = true;
    return VG_OK;
}

void
vga_handover_close(vga_agent *a)
{
    if (a->handover_lock >= 0) {
        close(a->handover_lock); /* releases the flock */
        a->handover_lock = -1;
    }
}

/* ---- handing over ---------------------------------------------------------------------- */

/* Parks a stored row that no longer opens, as a failed attempt that says
 * why: the program never saw it, so somebody must be told. */
static vg_err
s_park_unopenable(vga_agent *a, const vga_inbox_entry *e, const vg_reason *failure)
{
    int64_t now = vg_clock_wall_ms(a->clock);
    uint32_t attempt = 0;
    vg_err rc = vga_store_begin(a->store, NULL);
    rc = rc == VG_OK ? vga_store_handover_begin(a->store, e->row, now, &attempt) : rc;
    rc = rc == VG_OK ? vga_store_commit(a->store, NULL) : rc;
    if (rc != VG_OK) {
        vga_store_rollback(a->store);
        return rc;
    }
    char outcome[S_OUTCOME_MAX + 32];
    snprintf(outcome, sizeof outcome, "does not open: %.*s", S_OUTCOME_MAX, failure->text);
    vg_log(VG_LOG_ERROR, "agent", "handover.parked", "agency=%s row=%lld outcome=\"%s\"",
           vga_agent_agency(a), (long long)e->row, outcome);
    return vga_store_handover_end(a->store, e->row, now, outcome, VGA_HO_PARKED, 0);
}

/* The next stored alert to hand over: a retry that is due, else one nobody
 * took yet. *got false when there is none; *next_retry_ms the earliest
 * retry still to come (0 = none). */
static vg_err
s_next_stored(vga_agent *a, vg_alert *out, vga_handover *info, bool *got, int64_t *next_retry_ms)
{
    *got = false;
    for (;;) {
        int64_t now = vg_clock_wall_ms(a->clock);
        vga_inbox_entry e;
        vg_err rc = vga_store_handover_next_due(a->store, now, &e, next_retry_ms);
        if (rc == VG_OK && e.envelope == NULL) {
            rc = vga_store_inbox_next_unsurfaced(a->store, &e);
        }
        if (rc != VG_OK || e.envelope == NULL) {
            return rc;
        }
        vg_reason failure = {{0}};
        vg_envelope *env = NULL;
        rc = vga_inbox_open(a, &e, out, &env, &failure);
        if (rc != VG_OK) {
            rc = s_park_unopenable(a, &e, &failure);
            vga_inbox_entry_fini(&e);
            if (rc != VG_OK) {
                return rc;
            }
            continue;
        }
        memset(info, 0, sizeof *info);
        memcpy(info->id, vg_envelope_id(env), VG_ALERT_ID_LEN);
        vg_envelope_destroy(&env);
        rc = vga_store_begin(a->store, NULL);
        rc = rc == VG_OK ? vga_store_handover_begin(a->store, e.row, now, &info->attempt) : rc;
        rc = rc == VG_OK ? vga_store_commit(a->store, NULL) : rc;
        vga_inbox_entry_fini(&e);
        if (rc != VG_OK) {
            vga_store_rollback(a->store);
            vg_alert_fini(out);
            return rc;
        }
        *got = true;
        return VG_OK;
    }
}

vg_err
vga_handover_next(vga_agent *a, int64_t timeout_ms, vg_alert *out, vga_handover *info,
                  vg_reason *why)
{
    if (!a->handing_over) {
        return vg_reason_set(why, VG_ERR_INVALID, "this agent was opened without handover");
    }
    bool got = false;
    int64_t next_retry_ms = 0;
    vg_err rc = s_next_stored(a, out, info, &got, &next_retry_ms);
    if (rc != VG_OK) {
        return vg_reason_set(why, rc, "cannot read the local inbox");
    }
    if (got) {
        return VG_OK;
    }
    if (next_retry_ms > 0) { /* wake up for the retry even if nothing arrives */
        int64_t until = next_retry_ms - vg_clock_wall_ms(a->clock);
        timeout_ms = until < timeout_ms ? (until > 0 ? until : 0) : timeout_ms;
    }
    vga_wait w = {.alert = out, .handover = info};
    vga_conn_serve(a, timeout_ms, &w, vga_done_alert);
    return w.got_alert ? VG_OK : VG_ERR_TIMEOUT;
}

/* The row of an alert that is handed over now. */
static vg_err
s_handed_row(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], vga_store_handover *h, vg_reason *why)
{
    if (!a->handing_over) {
        return vg_reason_set(why, VG_ERR_INVALID, "this agent was opened without handover");
    }
    vg_err rc = vga_store_handover_find(a->store, id, h);
    if (rc != VG_OK) {
        return vg_reason_set(why, rc, "cannot read the local inbox");
    }
    if (h->row == 0 || strcmp(h->state, VGA_HO_HANDED) != 0) {
        char idhex[VG_ALERT_ID_HEX_LEN + 1];
        vg_alert_id_hex(idhex, id);
        return vg_reason_set(why, VG_ERR_INVALID, "alert %s is not handed over now (%s)", idhex,
                             h->row == 0   ? "not in the inbox"
                             : h->state[0] ? h->state
                                           : "new");
    }
    return VG_OK;
}

vg_err
vga_handover_done(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], vg_reason *why)
{
    vga_store_handover h;
    vg_err rc = s_handed_row(a, id, &h, why);
    if (rc == VG_OK) {
        rc = vga_store_handover_end(a->store, h.row, vg_clock_wall_ms(a->clock), VGA_HO_HANDLED,
                                    VGA_HO_HANDLED, 0);
        if (rc != VG_OK) {
            vg_reason_set(why, rc, "cannot record the hand-over in the local store");
        }
    }
    return rc;
}

/* backoff_ms doubled for each failure after the first, at most backoff_max_ms. */
static int64_t
s_backoff_ms(const vga_handover_policy *p, uint32_t failures)
{
    int64_t wait = p->backoff_ms;
    for (uint32_t i = 1; i < failures && wait < p->backoff_max_ms; i++) {
        wait = wait > p->backoff_max_ms / 2 ? p->backoff_max_ms : wait * 2;
    }
    return wait < p->backoff_max_ms ? wait : p->backoff_max_ms;
}

vg_err
vga_handover_failed(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], const char *outcome,
                    vga_handover *info, vg_reason *why)
{
    vga_store_handover h;
    vg_err rc = s_handed_row(a, id, &h, why);
    if (rc != VG_OK) {
        return rc;
    }
    char said[S_OUTCOME_MAX + 1];
    snprintf(said, sizeof said, "%s", outcome != NULL && outcome[0] ? outcome : "failed");
    int64_t now = vg_clock_wall_ms(a->clock);
    uint32_t failures = h.failures + 1;
    bool parked = failures >= a->handover.attempts_max;
    int64_t retry_ms = parked ? 0 : now + s_backoff_ms(&a->handover, failures);
    rc = vga_store_handover_end(a->store, h.row, now, said, parked ? VGA_HO_PARKED : VGA_HO_FAILED,
                                retry_ms);
    if (rc != VG_OK) {
        return vg_reason_set(why, rc, "cannot record the hand-over in the local store");
    }
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, id);
    vg_log(parked ? VG_LOG_ERROR : VG_LOG_WARN, "agent",
           parked ? "handover.parked" : "handover.failed",
           "agency=%s alert=%s failures=%u outcome=\"%s\" retry_in_ms=%lld", vga_agent_agency(a),
           idhex, failures, said, (long long)(parked ? 0 : retry_ms - now));
    if (info != NULL) {
        memcpy(info->id, id, VG_ALERT_ID_LEN);
        info->parked = parked;
        info->retry_ms = retry_ms;
        info->failures = failures;
    }
    return VG_OK;
}

vg_err
vga_handover_rearm(vga_agent *a, size_t *n_out, vg_reason *why)
{
    if (!a->handing_over) {
        return vg_reason_set(why, VG_ERR_INVALID, "this agent was opened without handover");
    }
    size_t n = 0;
    vg_err rc = vga_store_handover_rearm(a->store, vg_clock_wall_ms(a->clock), &n);
    if (rc != VG_OK) {
        return vg_reason_set(why, rc, "cannot re-arm parked hand-overs in the local store");
    }
    if (n > 0) {
        vg_log(VG_LOG_WARN, "agent", "handover.rearmed", "agency=%s alerts=%zu",
               vga_agent_agency(a), n);
    }
    if (n_out != NULL) {
        *n_out = n;
    }
    return VG_OK;
}

vg_err
vga_handover_parked(vga_agent *a, uint8_t (*ids)[VG_ALERT_ID_LEN], size_t max, size_t *n_out,
                    vg_reason *why)
{
    vg_err rc = vga_store_handover_parked(a->store, ids, ids != NULL ? max : 0, n_out);
    if (rc != VG_OK) {
        return vg_reason_set(why, rc, "cannot read parked hand-overs in the local store");
    }
    return VG_OK;
}
