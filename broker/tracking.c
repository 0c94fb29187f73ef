/* tracking.c — deadlines, escalation steps and offline alarms (tracking.h). */
#include "tracking.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timers.h"
#include "witness.h"
#include "vigil/log.h"
#include "vigil/tz.h"
#include "vigil/wire.h"

#define S_RETRY_MS 1000       /* a step that did not commit is taken again after this */
#define S_ALARM_CHECK_MS 1000 /* offline alarms are looked at this often */
#define S_FIRE_PER_PASS 256   /* steps in one pass, at most: the loop stays responsive */
#define S_CLOCK_STEP_MS                                                                            \
    1000 /* a wall-clock change against the monotonic clock this big is a step */

/* One agency's presence, for the offline alarm. */
typedef struct s_presence {
    const char *id;          /* borrowed from the document */
    bool online;             /* has a receiving connection */
    int64_t away_since_mono; /* no receiving connection since */
    bool alarmed;            /* an AGENCY_OFFLINE alarm is raised */
    bool alarmed_committed;  /* ... as of the last commit */
} s_presence;

struct vgb_tracking {
    vgb_store *store;            /* borrowed */
    const vg_netdoc *doc;        /* borrowed */
    const vg_broker_config *cfg; /* borrowed */
    const vg_clock *clock;       /* borrowed */
    vgb_record *record;          /* borrowed */
    vgb_batch *batch;            /* borrowed */
    vgb_delivery *delivery;      /* borrowed */
    vgb_timers *timers;          /* the rows' next steps */
    s_presence *ag;              /* one per agency of the document */
    size_t n;                    /* agencies */
    vgb_notify *notify;          /* its own; NULL without a ZeroMQ context (no notifications) */
    vgb_timer *fired;            /* steps taken in this batch */
    size_t n_fired, cap_fired;
    const vg_netdoc *warned_doc; /* the document the warnings below were raised under */
    char warned[VG_CALENDARS_MAX][VG_AUDIT_NAME_MAX]; /* calendars warned of (past valid_until) */
    size_t n_warned;                                  /* how many */
    size_t n_warned_committed;                        /* ... as of the last commit */
    int64_t next_alarm_check_mono;                    /* offline alarms are checked once a second */
    int64_t clock_off;                                /* wall - monotonic, as last seen */
    vgb_witness *witness;                             /* the checkpoints' cosignatures */
};

/* A notification step that reached nobody: the next step, now. */
static void
s_unreached(void *ctx, uint64_t seq, const char *agency, uint32_t level)
{
    vgb_tracking_step_now(ctx, seq, agency, level);
}

vg_err
vgb_tracking_new(vgb_tracking **out, const vgb_tracking_params *p, vg_reason *why)
{
    vgb_tracking *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return VG_ERR_NOMEM;
    }
    *t = (vgb_tracking){.store = p->store,
                        .doc = p->doc,
                        .cfg = p->cfg,
                        .clock = p->clock,
                        .record = p->record,
                        .batch = p->batch,
                        .delivery = p->delivery};
    t->n = vg_netdoc_n_agencies(p->doc);
    t->ag = calloc(t->n ? t->n : 1, sizeof *t->ag);
    int64_t now = vg_clock_mono_ms(p->clock);
    t->clock_off = vg_clock_wall_ms(p->clock) - now;
    vg_err rc = t->ag != NULL ? VG_OK : VG_ERR_NOMEM;
    rc = rc == VG_OK ? vgb_witness_new(&t->witness, p->store, p->record, p->clock) : rc;
    for (size_t i = 0; i < t->n && rc == VG_OK; i++) {
        vg_agency ag;
        vg_netdoc_agency_at(p->doc, i, &ag);
        t->ag[i] = (s_presence){.id = ag.id, .away_since_mono = now};
    }
    if (rc == VG_OK) {
        rc = vgb_timers_new(&t->timers, p->store, p->doc, p->clock, (size_t)p->cfg->timers);
        if (rc != VG_OK) {
            rc = vg_reason_set(why, VG_ERR_IO, "cannot rebuild deadlines from the store %s",
                               vgb_store_path(p->store));
        }
    }
    if (rc == VG_OK && p->zmq_ctx != NULL) {
        vgb_notify_params np = {.zmq_ctx = p->zmq_ctx,
                                .cfg = p->cfg,
                                .doc = p->doc,
                                .clock = p->clock,
                                .store = p->store,
                                .record = p->record,
                                .batch = p->batch,
                                .unreached = s_unreached,
                                .unreached_ctx = t};
        rc = vgb_notify_new(&t->notify, &np, why);
    }
    if (rc != VG_OK) {
        vgb_tracking_destroy(&t);
        return rc;
    }
    *out = t;
    return VG_OK;
}

void *
vgb_tracking_notify_socket(const vgb_tracking *t)
{
    return t->notify != NULL ? vgb_notify_socket(t->notify) : NULL;
}

vg_err
vgb_tracking_renew(vgb_tracking *t, const vg_netdoc *doc)
{
    size_t n = vg_netdoc_n_agencies(doc);
    if (n > t->n) {
        s_presence *ag = realloc(t->ag, n * sizeof *ag);
        if (ag == NULL) {
            return VG_ERR_NOMEM;
        }
        int64_t now = vg_clock_mono_ms(t->clock);
        for (size_t i = t->n; i < n; i++) {
            ag[i] = (s_presence){.away_since_mono = now};
        }
        t->ag = ag;
        t->n = n;
    }
    for (size_t i = 0; i < n; i++) {
        vg_agency card;
        vg_netdoc_agency_at(doc, i, &card);
        t->ag[i].id = card.id;
    }
    t->doc = doc;
    vgb_timers_renew(t->timers, doc);
    return t->notify != NULL ? vgb_notify_renew(t->notify, doc) : VG_OK;
}

void
vgb_tracking_destroy(vgb_tracking **t_p)
{
    if (t_p == NULL || *t_p == NULL) {
        return;
    }
    vgb_tracking *t = *t_p;
    vgb_notify_destroy(&t->notify);
    vgb_timers_destroy(&t->timers);
    free(t->fired);
    vgb_witness_destroy(&t->witness);
    free(t->ag);
    free(t);
    *t_p = NULL;
}

/* ---- deadlines ------------------------------------------------------------------ */

/* A calendar past its valid_until counted calendar days: the administrator
 * must renew it. Everyone hears, once per calendar and document while the
 * broker runs (the deadline's own leaf carries the warning every time). */
static vg_err
s_warn_calendar(vgb_tracking *t, const vg_netdoc *doc, const char *calendar)
{
    if (t->warned_doc != doc) {
        t->warned_doc = doc;
        t->n_warned = t->n_warned_committed = 0;
    }
    for (size_t i = 0; i < t->n_warned; i++) {
        if (strcmp(t->warned[i], calendar) == 0) {
            return VG_OK;
        }
    }
    char detail[256];
    vg_netdoc_calendar_warning(detail, sizeof detail, doc, calendar);
    vg_log(VG_LOG_ERROR, "broker", "network.warning", "version=%llu detail=\"%s\"",
           (unsigned long long)vg_netdoc_version(doc), detail);
    vg_err rc = vgb_record_network_warning(t->record, "past_valid_until", calendar,
                                           vg_netdoc_version(doc), detail);
    if (rc == VG_OK && t->n_warned < VG_CALENDARS_MAX) {
        snprintf(t->warned[t->n_warned++], VG_AUDIT_NAME_MAX, "%s", calendar);
    }
    return rc;
}

vg_err
vgb_tracking_deadline(vgb_tracking *t, const vg_netdoc *doc, vg_audit_deadline *out,
                      const char *agency, const vgb_terms *terms, int64_t from_ms)
{
    doc = doc != NULL ? doc : t->doc;
    vg_deadline d;
    vg_err rc = (terms->repeat ? vg_netdoc_deadline_repeat_at : vg_netdoc_deadline_at)(
        &d, doc, agency, terms->severity, terms->urgency, terms->categories, terms->n_categories,
        from_ms);
    if (rc != VG_OK) {
        vg_log(VG_LOG_ERROR, "broker", "deadline.error", "agency=%s from_ms=%lld code=%s", agency,
               (long long)from_ms, vg_err_code(rc));
        return rc;
    }
    memset(out, 0, sizeof *out);
    snprintf(out->agency, sizeof out->agency, "%s", agency);
    out->from_ms = (uint64_t)from_ms;
    out->deadline_ms = (uint64_t)d.deadline_ms;
    snprintf(out->rule, sizeof out->rule, "%s", d.rule_text);
    out->network_version = d.network_version;
    out->rule_no = d.rule_no;
    snprintf(out->calendar, sizeof out->calendar, "%s", d.calendar);
    memcpy(out->calendar_version, d.calendar_hash, VG_HASH_LEN);
    out->warnings = d.warnings;
    if (terms->repeat) {
        vg_log(VG_LOG_INFO, "broker", "deadline.repeat", "agency=%s %s", agency, d.text);
    }
    if (d.warnings != 0) { /* never a silently wrong date */
        vg_log(VG_LOG_WARN, "broker", "deadline.fallback", "agency=%s %s", agency, d.text);
    }
    if ((d.warnings & VG_DLW_PAST_VALID_UNTIL) && d.calendar[0] != '\0') {
        rc = s_warn_calendar(t, doc, d.calendar);
    }
    return rc;
}

vg_err
vgb_tracking_deadline_meta(vgb_tracking *t, const vg_netdoc *doc, vg_audit_deadline *out,
                           const char *agency, const vgb_alert_meta *m, int64_t from_ms)
{
    char cats[sizeof m->categories];
    const char *list[VG_CATEGORIES_MAX];
    size_t n = 0;
    snprintf(cats, sizeof cats, "%s", m->categories);
    for (char *save = NULL, *c = strtok_r(cats, ",", &save); c != NULL && n < VG_CATEGORIES_MAX;
         c = strtok_r(NULL, ",", &save)) {
        list[n++] = c;
    }
    vgb_terms terms = {(vg_severity)m->severity, (vg_urgency)m->urgency, list, n, false};
    return vgb_tracking_deadline(t, doc, out, agency, &terms, from_ms);
}

void
vgb_tracking_step_now(vgb_tracking *t, uint64_t seq, const char *agency, uint32_t level)
{
    vgb_rrow r;
    int idx = vg_netdoc_index(t->doc, agency);
    if (idx < 0 || vgb_store_rrow(t->store, seq, agency, &r) != VG_OK || r.esc_level != level ||
        !r.required || r.state == VGB_ACKNOWLEDGED) {
        return; /* it moved on (acknowledged, extended, stepped): nothing to hurry */
    }
    vgb_timer tm = {
        .seq = seq, .agency = (uint32_t)idx, .level = level, .deadline_ms = r.deadline_ms};
    if (!vgb_timers_current(t->timers, &tm, &r)) {
        vg_log(VG_LOG_ERROR, "broker", "notify.exhausted",
               "alert_seq=%llu agency=%s level=%u detail=\"nobody was reached and no escalation "
               "step is left\"",
               (unsigned long long)seq, agency, level);
        return;
    }
    vg_log(VG_LOG_WARN, "broker", "notify.next_step", "alert_seq=%llu agency=%s level=%u",
           (unsigned long long)seq, agency, level + 1);
    vgb_timers_retry(t->timers, &tm, 0);
}

void
vgb_tracking_watch(vgb_tracking *t, const vgb_rrow *r)
{
    vgb_timers_schedule(t->timers, r);
}

void
vgb_tracking_presence(vgb_tracking *t, size_t agency, bool online)
{
    s_presence *a = &t->ag[agency];
    a->online = online;
    if (!online) {
        a->away_since_mono = vg_clock_mono_ms(t->clock);
        return;
    }
    if (a->alarmed && vgb_record_presence(t->record, a->id, true, 0) == VG_OK) {
        a->alarmed = false; /* announced in this batch; back to raised if it rolls back */
    }
}

/* ---- the wall clock steps -------------------------------------------------------- */

static void
s_check_clock(vgb_tracking *t)
{
    int64_t off = vg_clock_wall_ms(t->clock) - vg_clock_mono_ms(t->clock);
    int64_t delta = off - t->clock_off;
    if (delta > -S_CLOCK_STEP_MS && delta < S_CLOCK_STEP_MS) {
        t->clock_off = off; /* a slew (NTP's small corrections) is followed as it goes */
        return;
    }
    if (vgb_store_in_transaction(t->store)) {
        return; /* a batch is open: after it */
    }
    vg_reason why = {{0}};
    vg_err rc = vgb_store_begin(t->store, &why);
    rc = rc == VG_OK ? vgb_store_shift_times(t->store, delta) : rc;
    rc = rc == VG_OK ? vgb_store_commit(t->store, &why) : rc;
    if (rc != VG_OK) {
        vgb_store_rollback(t->store);
        vg_log(VG_LOG_ERROR, "broker", "clock.step", "delta_ms=%lld code=%s detail=retried",
               (long long)delta, vg_err_code(rc));
        return; /* seen again at the next look */
    }
    vgb_timers_clock_stepped(t->timers, delta);
    t->clock_off = off;
    vg_log(VG_LOG_WARN, "broker", "clock.step",
           "delta_ms=%lld detail=\"the wall clock stepped: deadlines keep their time\"",
           (long long)delta);
}

void
vgb_tracking_check_clock(vgb_tracking *t)
{
    s_check_clock(t);
}

/* ---- steps --------------------------------------------------------------------------- */

/* Takes the row's next step: overdue at level 0, an escalation step after. */
static vg_err
s_step(vgb_tracking *t, const vgb_rrow *r, size_t agency)
{
    vg_escalation_target notify = VG_ESC_UNSPECIFIED;
    vgb_step st = {.seq = r->seq,
                   .agency = r->agency,
                   .level = r->esc_level + 1,
                   .deadline_ms = r->deadline_ms};
    char detail[128];
    if (r->esc_level == 0) {
        st.detail = r->state == VGB_DECLINED     ? "declined"
                    : r->state == VGB_UNOPENABLE ? "cannot open"
                                                 : "deadline passed";
    } else {
        vg_escalation_step esc;
        vg_netdoc_escalation_at(t->doc, r->esc_level - 1, &esc);
        vg_agency ag;
        if (esc.target == VG_ESC_REDELIVER) {
            snprintf(detail, sizeof detail, "redeliver");
            /* sent before: it reached the agency, or was set aside unreceipted */
            vgb_delivery_redeliver(t->delivery, agency, r->seq,
                                   r->state != VGB_PENDING || r->tries > 0);
        } else if (esc.target == VG_ESC_CONTACT &&
                   vg_netdoc_find(t->doc, r->agency, &ag) == VG_OK &&
                   ag.escalation_contact[0] != '\0') {
            snprintf(detail, sizeof detail, "contact:%s", ag.escalation_contact);
            st.extra_agency = ag.escalation_contact;
        } else if (esc.target == VG_ESC_ROLE) {
            snprintf(detail, sizeof detail, "role:%s", esc.role);
            st.extra_role = esc.role;
        } else if (vg_escalation_target_notifies(esc.target)) {
            snprintf(detail, sizeof detail, "%s", vg_escalation_target_name(esc.target));
            st.extra_role = esc.target == VG_ESC_OVERSIGHT ? VG_ROLE_OVERSIGHT : NULL;
            notify = esc.target;
        } else {
            snprintf(detail, sizeof detail, "contact:none");
        }
        st.detail = detail;
    }
    vg_err rc = vgb_store_set_escalation(t->store, r->seq, r->agency, r->esc_level + 1,
                                         vg_clock_wall_ms(t->clock));
    if (rc != VG_OK) {
        vgb_batch_fail(t->batch);
    } else {
        rc = vgb_record_step(t->record, &st);
    }
    char idhex[VG_ALERT_ID_HEX_LEN + 1] = "-";
    vgb_alert_meta m;
    if (vgb_store_alert_meta(t->store, r->seq, &m) == VG_OK) {
        vg_alert_id_hex(idhex, m.id);
    }
    vg_log(VG_LOG_WARN, "broker", r->esc_level == 0 ? "alert.overdue" : "alert.escalate",
           "alert=%s agency=%s level=%u detail=%s", idhex, r->agency, r->esc_level + 1, st.detail);
    vgb_rrow next = *r;
    next.esc_level++;
    if (rc == VG_OK) {
        vgb_timers_schedule(t->timers, &next);
    }
    if (rc == VG_OK && notify != VG_ESC_UNSPECIFIED) {
        size_t tried = 0;
        rc = vgb_notify_step(t->notify, r->seq, r->agency, next.esc_level, notify, &tried);
        if (rc == VG_OK && tried == 0) { /* nobody to tell: the next step, now */
            vgb_tracking_step_now(t, r->seq, r->agency, next.esc_level);
        }
    }
    return rc;
}

/* Keeps tm: its step was taken in this batch (taken again if it rolls back). */
static void
s_fired(vgb_tracking *t, const vgb_timer *tm)
{
    if (t->n_fired == t->cap_fired) {
        size_t cap = t->cap_fired ? 2 * t->cap_fired : 64;
        vgb_timer *n = realloc(t->fired, cap * sizeof *n);
        if (n == NULL) {
            vgb_batch_fail(t->batch); /* a step that could not be retried must not commit */
            vgb_timers_retry(t->timers, tm, S_RETRY_MS);
            return;
        }
        t->fired = n;
        t->cap_fired = cap;
    }
    t->fired[t->n_fired++] = *tm;
}

static void
s_fire(vgb_tracking *t, const vgb_timer *tm)
{
    s_presence *a = &t->ag[tm->agency];
    vgb_rrow r;
    if (vgb_store_rrow(t->store, tm->seq, a->id, &r) != VG_OK ||
        !vgb_timers_current(t->timers, tm, &r)) {
        return; /* acknowledged, extended or already stepped: a newer timer exists */
    }
    if (!vgb_batch_txn(t->batch)) {
        vgb_timers_retry(t->timers, tm, S_RETRY_MS);
        return;
    }
    s_fired(t, tm);
    (void)s_step(t, &r, tm->agency); /* a failure failed the batch: retried after it */
}

/* ---- offline alarms -------------------------------------------------------------------- */

static void
s_check_alarms(vgb_tracking *t, int64_t now)
{
    for (size_t i = 0; i < t->n; i++) {
        s_presence *a = &t->ag[i];
        uint64_t waiting = 0;
        /* Whether anything waits is one index probe; the count, for the
         * alarm's text, is read once, when it is raised. */
        if (a->online || a->alarmed ||
            now - a->away_since_mono < (int64_t)t->cfg->offline_alarm_ms ||
            vgb_store_count_waiting(t->store, a->id, 1, &waiting) != VG_OK || waiting == 0 ||
            vgb_store_count_waiting(t->store, a->id, 0, &waiting) != VG_OK) {
            continue;
        }
        if (vgb_record_presence(t->record, a->id, false,
                                waiting > UINT32_MAX ? UINT32_MAX : (uint32_t)waiting) != VG_OK) {
            continue; /* the batch fails: looked at again after it */
        }
        a->alarmed = true;
        vg_log(VG_LOG_WARN, "broker", "agency.alarm", "agency=%s waiting=%llu", a->id,
               (unsigned long long)waiting);
    }
    vgb_witness_check(t->witness, t->doc); /* checkpoints short of their cosignatures */
}

long
vgb_tracking_service(vgb_tracking *t)
{
    s_check_clock(t);
    /* the notifications' outcomes to record, their rotas to look at */
    long rotas = t->notify != NULL ? vgb_notify_service(t->notify) : 0;
    int64_t now = vg_clock_mono_ms(t->clock);
    vgb_timer tm;
    for (size_t fired = 0; fired < S_FIRE_PER_PASS && vgb_timers_pop_due(t->timers, now, &tm);
         fired++) {
        s_fire(t, &tm);
    }
    if (now >= t->next_alarm_check_mono) {
        t->next_alarm_check_mono = now + S_ALARM_CHECK_MS;
        s_check_alarms(t, now);
    }
    int64_t next = vgb_timers_wake(t->timers);
    next = t->next_alarm_check_mono < next ? t->next_alarm_check_mono : next;
    next = t->notify != NULL && now + rotas < next ? now + rotas : next;
    return next > now ? (long)(next - now) : 0;
}

void
vgb_tracking_after_commit(vgb_tracking *t, bool committed)
{
    for (size_t i = 0; !committed && i < t->n_fired; i++) {
        vgb_timers_retry(t->timers, &t->fired[i], S_RETRY_MS); /* not recorded: again */
    }
    t->n_fired = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (committed) {
            t->ag[i].alarmed_committed = t->ag[i].alarmed;
        } else {
            t->ag[i].alarmed = t->ag[i].alarmed_committed;
        }
    }
    vgb_notify_after_commit(t->notify, committed);
    vgb_witness_after_commit(t->witness, committed);
    if (committed) { /* a warning rolled back is raised again at the next deadline */
        t->n_warned_committed = t->n_warned;
    } else {
        t->n_warned = t->n_warned_committed;
    }
}
