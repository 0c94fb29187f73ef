/*
 * console_link.c — the console's consistency loop and actions (see
 * console_link.h).
 */
#include "console_link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/netdoc.h"
#include "vigil/share.h"

#define S_DRAIN_MAX 512      /* events handled per service call, so keys stay responsive */
#define S_FILL_ROUNDS 5      /* vga_events_since calls per resync (2000 events each) */
#define S_EVENTS_PAGE 2000   /* the broker's page of vga_events_since */
#define S_WANTED_PER_CALL 16 /* alerts asked about one by one per service call */

void
vgc_link_init(vgc_link *l, vga_agent *agent, vgc_model *model, const vg_clock *clock)
{
    memset(l, 0, sizeof *l);
    l->agent = agent;
    l->model = model;
    l->clock = clock ? clock : vg_clock_system();
}

static void
s_notify(vgc_link *l)
{
    if (l->notify != NULL) {
        l->notify(l->notify_ctx);
    }
}

static int64_t
s_wall(const vgc_link *l)
{
    return vg_clock_wall_ms(l->clock);
}

static int64_t
s_mono(const vgc_link *l)
{
    return vg_clock_mono_ms(l->clock);
}

/* The broker did not answer: STALE at once (NO DATA before any snapshot or
 * after VGC_SILENCE_MS of silence). */
static void
s_lost(vgc_link *l, const char *what, const vg_reason *why)
{
    vgc_model *m = l->model;
    char reason[VGC_REASON_LEN];
    if (!m->has_snapshot) {
        snprintf(reason, sizeof reason, "snapshot pending: %s",
                 strstr(why->text, "did not answer") ? "no answer from the broker" : why->text);
        vgc_model_set_sync(m, VGC_SYNC_NO_DATA, reason, m->sync_since_ms);
    } else if (m->sync == VGC_SYNC_LIVE) {
        if (strstr(why->text, "did not answer") != NULL) {
            snprintf(reason, sizeof reason, "%s", what); /* a timeout: nothing to add */
        } else {
            snprintf(reason, sizeof reason, "%s: %s", what, why->text);
        }
        vgc_model_set_sync(m, VGC_SYNC_STALE, reason,
                           m->last_contact_ms ? m->last_contact_ms : s_wall(l));
    }
    m->needs_resync = true;
    (void)vgc_model_check_silence(m, s_wall(l));
    s_notify(l);
}

/* ---- content ------------------------------------------------------------------------ */

static void
s_open_shares(vgc_link *l, const vga_alert_status *st)
{
    for (size_t i = 0; i < st->n_shares; i++) {
        vg_share *sh = NULL;
        vg_reason why = {{0}};
        if (vg_share_verify(&sh, st->shares[i], st->share_lens[i], vga_agent_doc(l->agent), &why) ==
            VG_OK) {
            if (vgc_model_add_share(l->model, st->id, vg_share_sharer(sh), vg_share_to(sh),
                                    vg_share_reason(sh), vg_share_created_ms(sh)) != VG_OK) {
                l->model->needs_resync = true; /* out of memory: the next snapshot retries */
            }
        }
        vg_share_destroy(&sh);
    }
}

/* Opens what this agency may read of one alert, if not opened yet. */
static void
s_open_one(vgc_link *l, const vga_alert_status *st)
{
    vgc_alert *a = vgc_model_find(l->model, st->id);
    if (a == NULL) {
        return;
    }
    s_open_shares(l, st);
    if (st->envelope == NULL || a->has_content || a->content_error != NULL) {
        return;
    }
    vg_alert content = {0};
    vg_reason why = {{0}};
    if (vga_status_open(l->agent, st, &content, &why) != VG_OK) {
        vgc_model_set_content_error(l->model, st->id, why.text);
    } else if (vgc_model_set_content(l->model, st->id, &content) != VG_OK) {
        return; /* cannot happen: a was found above; the content is wiped */
    }
}

static void
s_open_contents(vgc_link *l, const vga_status_list *list)
{
    for (size_t i = 0; i < list->n; i++) {
        s_open_one(l, &list->items[i]);
    }
}

/* ---- events ---------------------------------------------------------------------------- */

/* Feeds events_since pages from last_seq until the broker has no more.
 * false when the broker did not answer (why says so). */
static bool
s_fill(vgc_link *l, int64_t timeout_ms, vg_reason *why)
{
    vgc_model *m = l->model;
    for (int round = 0; round < S_FILL_ROUNDS; round++) {
        vga_event *ev = NULL;
        size_t n = 0;
        if (vga_events_since(l->agent, m->last_seq, timeout_ms, &ev, &n, why) != VG_OK) {
            return false;
        }
        vgc_model_contact(m, s_wall(l));
        for (size_t i = 0; i < n; i++) {
            (void)vgc_model_feed_event(m, &ev[i], s_wall(l));
        }
        free(ev);
        if (n < S_EVENTS_PAGE) {
            return true;
        }
    }
    return true; /* more than 10000 behind: the snapshot has the state, the feed skips */
}

/* A fresh snapshot, its content, and the events since: LIVE when it all
 * came. */
static bool
s_resync(vgc_link *l, int64_t timeout_ms)
{
    vgc_model *m = l->model;
    vga_status_list list = {0};
    vg_reason why = {{0}};
    l->last_resync_mono = s_mono(l);
    if (vga_outstanding(l->agent, timeout_ms, &list, &why) != VG_OK) {
        s_lost(l, "no snapshot from the broker", &why);
        return false;
    }
    vgc_model_contact(m, s_wall(l));
    vg_err rc = vgc_model_apply_snapshot(m, &list, s_wall(l));
    s_open_contents(l, &list);
    vga_status_list_fini(&list);
    if (!s_fill(l, timeout_ms, &why)) {
        s_lost(l, "no events from the broker", &why);
        return false;
    }
    if (rc == VG_OK && m->last_seq >= m->state_seq) {
        vgc_model_set_sync(m, VGC_SYNC_LIVE, "", s_wall(l));
    }
    l->next_probe_mono = s_mono(l) + VGC_PROBE_MS;
    s_notify(l);
    return true;
}

/* Asks about queued alerts one by one (at most S_WANTED_PER_CALL). */
static void
s_fetch_wanted(vgc_link *l)
{
    vgc_model *m = l->model;
    uint8_t id[VG_ALERT_ID_LEN];
    for (int i = 0; i < S_WANTED_PER_CALL && vgc_model_next_wanted(m, id); i++) {
        vga_alert_status st;
        vg_reason why = {{0}};
        vg_err rc = vga_status(l->agent, id, VGC_SNAPSHOT_TIMEOUT_MS, &st, &why);
        if (rc == VG_ERR_TIMEOUT) {
            vgc_model_want(m, id);
            s_lost(l, "no answer from the broker", &why);
            return;
        }
        if (rc != VG_OK) {
            vgc_model_forget(m, id); /* unknown, or not this agency's to see */
            continue;
        }
        vgc_model_contact(m, s_wall(l));
        if (vgc_model_apply_status(m, &st, s_wall(l)) == VG_OK) {
            s_open_one(l, &st);
        }
        vga_alert_status_fini(&st);
    }
    s_notify(l);
}

/* Feeds one event from the stream; refetches on a gap. */
static void
s_on_event(vgc_link *l, const vga_event *e)
{
    vgc_model *m = l->model;
    vgc_model_contact(m, s_wall(l));
    if (vgc_model_feed_event(m, e, s_wall(l)) == VGC_SEQ_GAP) {
        s_notify(l); /* STALE, said at once */
        (void)s_resync(l, VGC_SNAPSHOT_TIMEOUT_MS);
    }
}

/* Waits up to wait_ms for the first event, then takes what is queued. */
static void
s_drain(vgc_link *l, int64_t wait_ms)
{
    vga_event e;
    size_t n = 0;
    while (n < S_DRAIN_MAX && vga_next_event(l->agent, n == 0 ? wait_ms : 0, &e) == VG_OK) {
        s_on_event(l, &e);
        n++;
    }
    if (n > 0) {
        s_notify(l);
    }
}

/* Asks the broker for anything after last_seq: liveness and consistency. */
static void
s_probe(vgc_link *l)
{
    vgc_model *m = l->model;
    bool live = m->sync == VGC_SYNC_LIVE && m->has_snapshot;
    l->next_probe_mono = s_mono(l) + (live ? VGC_PROBE_MS : VGC_RETRY_MS);
    if (!live) {
        if (s_resync(l, m->has_snapshot ? VGC_RETRY_TIMEOUT_MS : VGC_SNAPSHOT_TIMEOUT_MS)) {
            return;
        }
        l->next_probe_mono = s_mono(l) + VGC_RETRY_MS;
        return;
    }
    vg_reason why = {{0}};
    if (!s_fill(l, VGC_PROBE_TIMEOUT_MS, &why)) {
        s_lost(l, "no answer from the broker", &why);
        l->next_probe_mono = s_mono(l) + VGC_RETRY_MS;
        return;
    }
    if (m->sync != VGC_SYNC_LIVE) { /* a gap in what the probe returned */
        (void)s_resync(l, VGC_SNAPSHOT_TIMEOUT_MS);
    }
    s_notify(l);
}

void
vgc_link_service(vgc_link *l, int64_t wait_ms)
{
    vgc_model *m = l->model;
    if (!m->has_snapshot) { /* events wait in the library's queue until the snapshot */
        if (s_mono(l) >= l->next_probe_mono) {
            s_probe(l);
        } else {
            vga_poll(l->agent, wait_ms);
        }
        return;
    }
    s_drain(l, wait_ms);
    int64_t now = s_mono(l);
    /* Out of touch, the probe (every VGC_RETRY_MS) refetches; in touch, a
     * new alert or share is refetched at most every VGC_RESYNC_MIN_MS. */
    if (m->needs_resync && m->sync == VGC_SYNC_LIVE &&
        now - l->last_resync_mono >= VGC_RESYNC_MIN_MS) {
        (void)s_resync(l, VGC_SNAPSHOT_TIMEOUT_MS);
    }
    if (m->n_wanted > 0 && m->sync == VGC_SYNC_LIVE) {
        s_fetch_wanted(l);
    }
    if (s_mono(l) >= l->next_probe_mono) {
        s_probe(l);
    }
    if (vgc_model_check_silence(m, s_wall(l))) {
        s_notify(l);
    }
}

/* ---- actions ------------------------------------------------------------------------------ */

static vg_err
s_check_action(vgc_link *l, const vgc_action *act, char *msg, size_t msg_len)
{
    if (act->kind == VGC_ACT_ACK && act->officer[0] == '\0') {
        snprintf(msg, msg_len, "not acknowledged: give the officer's name");
        return VG_ERR_INVALID;
    }
    if (act->kind != VGC_ACT_ACK && act->text[0] == '\0') {
        snprintf(msg, msg_len, "nothing sent: give a reason");
        return VG_ERR_INVALID;
    }
    vg_agency ag;
    if (act->kind == VGC_ACT_SHARE &&
        vg_netdoc_find(vga_agent_doc(l->agent), act->agency, &ag) != VG_OK) {
        snprintf(msg, msg_len, "not shared: '%s' is not an agency of this network", act->agency);
        return VG_ERR_INVALID;
    }
    return VG_OK;
}

static const char *
s_action_done(vgc_action_kind k)
{
    switch (k) {
    case VGC_ACT_ACK:
        return "acknowledged";
    case VGC_ACT_PROGRESS:
        return "marked in progress";
    case VGC_ACT_DECLINE:
        return "declined";
    default:
        return "shared";
    }
}

static vg_err
s_send_action(vgc_link *l, const vgc_action *act, vga_confirm *res, vg_reason *why)
{
    const int64_t t = VGC_ACTION_TIMEOUT_MS;
    switch (act->kind) {
    case VGC_ACT_ACK:
        return vga_ack(l->agent, act->id, act->officer, act->text, t, res, why);
    case VGC_ACT_PROGRESS:
        return vga_progress(l->agent, act->id, act->text, t, res, why);
    case VGC_ACT_DECLINE:
        return vga_decline(l->agent, act->id, act->text, t, res, why);
    default:
        return vga_share(l->agent, act->id, act->agency, act->text, t, res, why);
    }
}

vg_err
vgc_link_act(vgc_link *l, const vgc_action *act, char *msg, size_t msg_len)
{
    if (act->kind == VGC_ACT_NONE) {
        msg[0] = '\0';
        return VG_OK;
    }
    if (act->kind == VGC_ACT_REFRESH) {
        l->model->needs_resync = true;
        l->next_probe_mono = s_mono(l);
        l->last_resync_mono = 0;
        snprintf(msg, msg_len, "refetching from the broker");
        return VG_OK;
    }
    vg_err rc = s_check_action(l, act, msg, msg_len);
    if (rc != VG_OK) {
        return rc;
    }
    char id[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(id, act->id);
    vga_confirm res;
    memset(&res, 0, sizeof res);
    vg_reason why = {{0}};
    rc = s_send_action(l, act, &res, &why);
    if (rc == VG_OK) {
        vgc_model_contact(l->model, s_wall(l));
        snprintf(msg, msg_len, "%.8s %s%s%s%s%s", id, s_action_done(act->kind),
                 act->kind == VGC_ACT_ACK ? " as " : "",
                 act->kind == VGC_ACT_ACK ? act->officer : "",
                 act->kind == VGC_ACT_SHARE ? " with " : "",
                 act->kind == VGC_ACT_SHARE ? act->agency : "");
        if (res.duplicate || res.reason.text[0] != '\0') {
            size_t used = strlen(msg);
            snprintf(msg + used, msg_len - used, " (%s)",
                     res.reason.text[0] ? res.reason.text : "already done");
        }
        l->model->needs_resync = true;
    } else if (rc == VG_ERR_TIMEOUT) {
        snprintf(msg, msg_len, "%.8s: no confirm from the broker in %ds: not done, try again", id,
                 VGC_ACTION_TIMEOUT_MS / 1000);
    } else {
        snprintf(msg, msg_len, "%.8s not %s: %s (%s)", id, s_action_done(act->kind),
                 why.text[0] ? why.text : vg_strerror(rc), vg_err_code(rc));
    }
    vga_confirm_fini(&res);
    return rc;
}
