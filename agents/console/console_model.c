/*
 * console_model.c — the console's state: snapshot, events, sync state and
 * attention (see console_model.h). Cells, order, filters and formatting are
 * in console_derive.c.
 */
#include "console_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
vgc_sync_name(vgc_sync s)
{
    switch (s) {
    case VGC_SYNC_LIVE:
        return "LIVE";
    case VGC_SYNC_STALE:
        return "STALE";
    default:
        return "NO DATA";
    }
}

vgc_seq_result
vgc_seq_check(uint64_t last, uint64_t got)
{
    if (got <= last) {
        return VGC_SEQ_DUP;
    }
    return got == last + 1 ? VGC_SEQ_NEXT : VGC_SEQ_GAP;
}

/* ---- alerts ------------------------------------------------------------------------ */

static void
s_recipients_free(vgc_recipient *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].officer);
        free(r[i].note);
        free(r[i].reason);
    }
    free(r);
}

static void
s_linked_free(vga_linked *l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(l[i].outcomes);
    }
    free(l);
}

/* A copy of the status's chain (docs/network.md "Link tags") into a;
 * false when out of memory (a keeps what it had). */
static bool
s_fill_linked(vgc_alert *a, const vga_alert_status *st)
{
    vga_linked *l = calloc(st->n_linked + 1, sizeof *l);
    bool ok = l != NULL;
    for (size_t i = 0; ok && i < st->n_linked; i++) {
        l[i] = st->linked[i];
        l[i].outcomes = calloc(st->linked[i].n_outcomes + 1, sizeof *l[i].outcomes);
        ok = l[i].outcomes != NULL;
        if (ok && st->linked[i].n_outcomes > 0) {
            memcpy(l[i].outcomes, st->linked[i].outcomes,
                   st->linked[i].n_outcomes * sizeof *l[i].outcomes);
        }
    }
    if (!ok) {
        s_linked_free(l, st->n_linked);
        return false;
    }
    s_linked_free(a->linked, a->n_linked);
    a->linked = l;
    a->n_linked = st->n_linked;
    return true;
}

static void
s_alert_destroy(vgc_alert **a_p)
{
    vgc_alert *a = *a_p;
    if (a == NULL) {
        return;
    }
    s_recipients_free(a->recipients, a->n_recipients);
    s_linked_free(a->linked, a->n_linked);
    for (size_t i = 0; i < a->n_shares; i++) {
        free(a->shares[i].reason);
    }
    free(a->shares);
    vg_strlist_fini(&a->categories);
    if (a->has_content) {
        vg_alert_fini(&a->content);
    }
    free(a->content_error);
    free(a->memo);
    free(a);
    *a_p = NULL;
}

void
vgc_model_init(vgc_model *m, const char *me, bool oversight, int64_t now_ms)
{
    memset(m, 0, sizeof *m);
    snprintf(m->me, sizeof m->me, "%s", me);
    m->oversight = oversight;
    vgc_model_set_sync(m, VGC_SYNC_NO_DATA, "snapshot pending", now_ms);
}

void
vgc_model_fini(vgc_model *m)
{
    for (size_t i = 0; i < m->n_alerts; i++) {
        s_alert_destroy(&m->alerts[i]);
    }
    free(m->alerts);
    vg_strlist_fini(&m->alerted);
    memset(m, 0, sizeof *m);
}

vgc_alert *
vgc_model_find(const vgc_model *m, const uint8_t id[VG_ALERT_ID_LEN])
{
    for (size_t i = 0; i < m->n_alerts; i++) {
        if (memcmp(m->alerts[i]->id, id, VG_ALERT_ID_LEN) == 0) {
            return m->alerts[i];
        }
    }
    return NULL;
}

vgc_recipient *
vgc_alert_recipient(vgc_alert *a, const char *agency)
{
    for (size_t i = 0; i < a->n_recipients; i++) {
        if (strcmp(a->recipients[i].agency, agency) == 0) {
            return &a->recipients[i];
        }
    }
    return NULL;
}

void
vgc_model_set_sync(vgc_model *m, vgc_sync s, const char *reason, int64_t since_ms)
{
    if (m->sync != s || m->sync_since_ms == 0) {
        m->sync_since_ms = since_ms;
    }
    if (m->sync != s || strcmp(m->sync_reason, reason ? reason : "") != 0) {
        m->changes++;
    }
    m->sync = s;
    snprintf(m->sync_reason, sizeof m->sync_reason, "%s", reason ? reason : "");
}

void
vgc_model_contact(vgc_model *m, int64_t now_ms)
{
    m->last_contact_ms = now_ms;
}

bool
vgc_model_check_silence(vgc_model *m, int64_t now_ms)
{
    if (m->sync == VGC_SYNC_NO_DATA) {
        return false;
    }
    if (m->last_contact_ms != 0 && now_ms - m->last_contact_ms <= VGC_SILENCE_MS) {
        return false;
    }
    char reason[VGC_REASON_LEN];
    snprintf(reason, sizeof reason, "disconnected: nothing from the broker for over %ds",
             VGC_SILENCE_MS / 1000);
    vgc_model_set_sync(m, VGC_SYNC_NO_DATA, reason, m->last_contact_ms);
    m->needs_resync = true;
    return true;
}

/* ---- alerts to ask about ------------------------------------------------------------- */

void
vgc_model_want(vgc_model *m, const uint8_t id[VG_ALERT_ID_LEN])
{
    for (size_t i = 0; i < m->n_wanted; i++) {
        if (memcmp(m->wanted[i], id, VG_ALERT_ID_LEN) == 0) {
            return;
        }
    }
    if (m->n_wanted == VGC_WANTED_MAX) {
        m->needs_resync = true; /* too many to ask one by one: a snapshot instead */
        return;
    }
    memcpy(m->wanted[m->n_wanted++], id, VG_ALERT_ID_LEN);
}

bool
vgc_model_next_wanted(vgc_model *m, uint8_t id_out[VG_ALERT_ID_LEN])
{
    if (m->n_wanted == 0) {
        return false;
    }
    memcpy(id_out, m->wanted[0], VG_ALERT_ID_LEN);
    memmove(m->wanted[0], m->wanted[1], (m->n_wanted - 1) * VG_ALERT_ID_LEN);
    m->n_wanted--;
    return true;
}

void
vgc_model_forget(vgc_model *m, const uint8_t id[VG_ALERT_ID_LEN])
{
    vgc_alert *a = vgc_model_find(m, id);
    if (a != NULL && !a->complete) {
        a->complete = true;
        m->changes++;
    }
}

/* ---- attention ---------------------------------------------------------------------- */

/* Raises attention once per key ("idhex/agency" or "idhex/new"). */
static void
s_attend(vgc_model *m, const char *key, const char *text)
{
    if (vg_strlist_contains(&m->alerted, key)) {
        return;
    }
    if (vg_strlist_add(&m->alerted, key) != VG_OK) {
        return;
    }
    m->attention_gen++;
    snprintf(m->attention, sizeof m->attention, "%s", text);
}

/* An overdue recipient concerns this console when it is us, when we sent
 * the alert, or always for oversight. */
static bool
s_overdue_concerns(const vgc_model *m, const char *sender, const char *agency)
{
    return m->oversight || strcmp(agency, m->me) == 0 || strcmp(sender, m->me) == 0;
}

static void
s_attend_overdue(vgc_model *m, const vgc_alert *a, const char *agency)
{
    if (!s_overdue_concerns(m, a->sender, agency)) {
        return;
    }
    char key[VG_ALERT_ID_HEX_LEN + VGC_ID_LEN + 2];
    snprintf(key, sizeof key, "%s/%s", a->idhex, agency);
    char text[VGC_ATTENTION_LEN];
    const char *mark = vgc_alert_mark(a);
    snprintf(text, sizeof text, "%s%sOVERDUE: %.8s for %s (%s alert from %s)", mark ? mark : "",
             mark ? ": " : "", a->idhex, agency, vg_severity_name(a->severity), a->sender);
    s_attend(m, key, text);
}

/* A repeat warning (docs/network.md "Link tags") is said at once: only the
 * agency it is about, the sender and oversight receive it. */
static void
s_attend_repeat(vgc_model *m, const vgc_alert *a, const vga_event *e)
{
    char key[VG_ALERT_ID_HEX_LEN + VGC_ID_LEN + 10];
    snprintf(key, sizeof key, "%s/repeat/%s", a->idhex, e->agency);
    char text[VGC_ATTENTION_LEN];
    const char *mark = vgc_alert_mark(a);
    snprintf(text, sizeof text,
             "%s%sREPEAT WARNING: %.8s: %s did not acknowledge %u earlier warning%s about this "
             "subject",
             mark ? mark : "", mark ? ": " : "", a->idhex, e->agency, e->count,
             e->count == 1 ? "" : "s");
    s_attend(m, key, text);
}

static void
s_attend_new(vgc_model *m, const vgc_alert *a)
{
    bool for_me = m->oversight || vgc_alert_recipient((vgc_alert *)a, m->me) != NULL;
    if (a->severity != VG_SEV_CRITICAL || !for_me || strcmp(a->sender, m->me) == 0) {
        return;
    }
    char key[VG_ALERT_ID_HEX_LEN + 8];
    snprintf(key, sizeof key, "%s/new", a->idhex);
    char text[VGC_ATTENTION_LEN];
    const char *mark = vgc_alert_mark(a);
    snprintf(text, sizeof text, "%s%sNEW CRITICAL alert %.8s from %s", mark ? mark : "",
             mark ? ": " : "", a->idhex, a->sender);
    s_attend(m, key, text);
}

/* Marks everything on screen as already seen (the first snapshot). */
static void
s_mark_seen(vgc_model *m, const vgc_alert *a)
{
    char key[VG_ALERT_ID_HEX_LEN + VGC_ID_LEN + 2];
    snprintf(key, sizeof key, "%s/new", a->idhex);
    bool ok = vg_strlist_add_unique(&m->alerted, key) == VG_OK;
    for (size_t i = 0; ok && i < a->n_recipients; i++) {
        if (a->recipients[i].overdue) {
            snprintf(key, sizeof key, "%s/%s", a->idhex, a->recipients[i].agency);
            ok = vg_strlist_add_unique(&m->alerted, key) == VG_OK;
        }
    }
}

/* ---- snapshot ----------------------------------------------------------------------- */

static bool
s_fill_recipients(vgc_alert *a, const vga_alert_status *st)
{
    vgc_recipient *r = calloc(st->n_recipients ? st->n_recipients : 1, sizeof *r);
    if (r == NULL) {
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < st->n_recipients; i++) {
        const vga_recipient_status *s = &st->recipients[i];
        snprintf(r[i].agency, sizeof r[i].agency, "%s", s->agency);
        r[i].state = s->state;
        r[i].required = s->required;
        r[i].overdue = s->overdue;
        r[i].deadline_ms = s->deadline_ms;
        r[i].delivered_ms = s->delivered_ms;
        r[i].acknowledged_ms = s->acknowledged_ms;
        r[i].officer = vg_strdup(s->officer ? s->officer : "");
        r[i].note = vg_strdup(s->note ? s->note : "");
        r[i].reason = vg_strdup(s->reason ? s->reason : "");
        r[i].level = s->escalation_level;
        snprintf(r[i].shared_by, sizeof r[i].shared_by, "%s", s->shared_by);
        snprintf(r[i].cover_for, sizeof r[i].cover_for, "%s", s->cover_for);
        ok &= r[i].officer != NULL && r[i].note != NULL && r[i].reason != NULL;
    }
    if (!ok) {
        s_recipients_free(r, st->n_recipients);
        return false;
    }
    s_recipients_free(a->recipients, a->n_recipients);
    a->recipients = r;
    a->n_recipients = st->n_recipients;
    return true;
}

/* Records shares that the recipients' rows show (reasons come later from
 * the share records this agency may see). */
static void
s_shares_from_rows(vgc_model *m, vgc_alert *a)
{
    for (size_t i = 0; i < a->n_recipients; i++) {
        const vgc_recipient *r = &a->recipients[i];
        if (r->shared_by[0] != '\0' &&
            vgc_model_add_share(m, a->id, r->shared_by, r->agency, NULL, 0) != VG_OK) {
            m->needs_resync = true; /* out of memory: try again with the next snapshot */
        }
    }
}

/* Copies the status into a (new or held); false when out of memory. */
static bool
s_update_alert(vgc_alert *a, const vga_alert_status *st)
{
    vg_strlist cats = {0};
    for (size_t i = 0; i < st->categories.n; i++) {
        if (vg_strlist_add(&cats, st->categories.items[i]) != VG_OK) {
            vg_strlist_fini(&cats);
            return false;
        }
    }
    if (!s_fill_recipients(a, st) || !s_fill_linked(a, st)) {
        vg_strlist_fini(&cats);
        return false;
    }
    vg_strlist_fini(&a->categories);
    a->categories = cats;
    memcpy(a->id, st->id, VG_ALERT_ID_LEN);
    vg_alert_id_hex(a->idhex, st->id);
    snprintf(a->sender, sizeof a->sender, "%s", st->sender);
    a->created_ms = st->created_ms;
    a->accepted_ms = st->accepted_ms;
    a->severity = st->severity;
    a->urgency = st->urgency;
    a->status = st->status;
    a->msg_type = st->msg_type;
    a->complete = st->complete;
    a->readable = a->readable || st->envelope != NULL;
    return true;
}

static vg_err
s_append(vgc_model *m, vgc_alert *a)
{
    if (m->n_alerts == m->cap_alerts) {
        size_t cap = m->cap_alerts ? m->cap_alerts * 2 : 64;
        vgc_alert **n = realloc(m->alerts, cap * sizeof *n);
        if (n == NULL) {
            return VG_ERR_NOMEM;
        }
        m->alerts = n;
        m->cap_alerts = cap;
    }
    m->alerts[m->n_alerts++] = a;
    return VG_OK;
}

/* Applies one status of a snapshot; raises attention for what is new. */
static vg_err
s_apply_status(vgc_model *m, const vga_alert_status *st, bool first)
{
    vgc_alert *a = vgc_model_find(m, st->id);
    bool is_new = a == NULL;
    bool was_overdue[64] = {false};
    for (size_t i = 0; !is_new && i < a->n_recipients && i < 64; i++) {
        was_overdue[i] = a->recipients[i].overdue;
    }
    if (is_new && (a = calloc(1, sizeof *a)) == NULL) {
        return VG_ERR_NOMEM;
    }
    if (!s_update_alert(a, st) || (is_new && s_append(m, a) != VG_OK)) {
        if (is_new) {
            s_alert_destroy(&a);
        }
        return VG_ERR_NOMEM;
    }
    a->seen_gen = m->snapshot_gen;
    s_shares_from_rows(m, a);
    if (first) {
        s_mark_seen(m, a);
        return VG_OK;
    }
    if (is_new) {
        s_attend_new(m, a);
    }
    for (size_t i = 0; i < a->n_recipients; i++) {
        bool before = !is_new && i < 64 && was_overdue[i];
        if (a->recipients[i].overdue && !before && a->recipients[i].state != VGA_ACKNOWLEDGED) {
            s_attend_overdue(m, a, a->recipients[i].agency);
        }
    }
    return VG_OK;
}

/* Drops the oldest completed alerts beyond VGC_HISTORY_MAX. */
static void
s_trim_history(vgc_model *m)
{
    size_t n_done = 0;
    for (size_t i = 0; i < m->n_alerts; i++) {
        n_done += m->alerts[i]->complete;
    }
    size_t w = 0;
    for (size_t i = 0; i < m->n_alerts; i++) {
        vgc_alert *a = m->alerts[i];
        if (a->complete && n_done > VGC_HISTORY_MAX) {
            s_alert_destroy(&a);
            n_done--;
            continue;
        }
        m->alerts[w++] = a;
    }
    m->n_alerts = w;
}

vg_err
vgc_model_apply_snapshot(vgc_model *m, const vga_status_list *l, int64_t now_ms)
{
    (void)now_ms;
    bool first = !m->has_snapshot;
    m->snapshot_gen++;
    vg_err rc = VG_OK;
    for (size_t i = 0; i < l->n && rc == VG_OK; i++) {
        if (m->n_alerts >= VGC_ALERTS_MAX && vgc_model_find(m, l->items[i].id) == NULL) {
            continue; /* the broker caps a snapshot at 2000: only a history this large */
        }
        rc = s_apply_status(m, &l->items[i], first);
    }
    for (size_t i = 0; i < m->n_alerts; i++) {
        vgc_alert *a = m->alerts[i];
        if (a->seen_gen != m->snapshot_gen && !a->complete) {
            /* Not in this agency's snapshot: complete, or one it has already
             * acknowledged or need not acknowledge. Ask about it alone. */
            vgc_model_want(m, a->id);
        }
    }
    s_trim_history(m);
    m->state_seq = l->last_event_seq;
    if (first && m->last_seq == 0) { /* the feed starts with a little history */
        uint64_t s = l->last_event_seq;
        m->last_seq = s > VGC_FEED_BACKFILL ? s - VGC_FEED_BACKFILL : 0;
    }
    if (m->last_seq > l->last_event_seq) {
        m->last_seq = l->last_event_seq; /* the broker's stream restarted: follow it */
    }
    m->has_snapshot = true;
    m->needs_resync = rc != VG_OK;
    m->changes++;
    return rc;
}

vg_err
vgc_model_apply_status(vgc_model *m, const vga_alert_status *st, int64_t now_ms)
{
    (void)now_ms;
    if (vgc_model_find(m, st->id) == NULL && m->n_alerts >= VGC_ALERTS_MAX) {
        s_trim_history(m);
        if (m->n_alerts >= VGC_ALERTS_MAX) {
            return VG_ERR_TOO_LARGE;
        }
    }
    vg_err rc = s_apply_status(m, st, !m->has_snapshot);
    m->changes++;
    return rc;
}

/* ---- content and shares ---------------------------------------------------------------- */

vg_err
vgc_model_set_content(vgc_model *m, const uint8_t id[VG_ALERT_ID_LEN], vg_alert *content)
{
    vgc_alert *a = vgc_model_find(m, id);
    if (a == NULL) {
        vg_alert_fini(content);
        memset(content, 0, sizeof *content);
        return VG_ERR_NOT_FOUND;
    }
    if (a->has_content) {
        vg_alert_fini(&a->content);
    }
    a->content = *content;
    a->has_content = true;
    memset(content, 0, sizeof *content);
    free(a->content_error);
    a->content_error = NULL;
    m->changes++;
    return VG_OK;
}

void
vgc_model_set_content_error(vgc_model *m, const uint8_t id[VG_ALERT_ID_LEN], const char *why)
{
    vgc_alert *a = vgc_model_find(m, id);
    if (a != NULL) {
        free(a->content_error);
        a->content_error = vg_strdup(why);
        m->changes++;
    }
}

vg_err
vgc_model_add_share(vgc_model *m, const uint8_t id[VG_ALERT_ID_LEN], const char *sharer,
                    const char *to, const char *reason, int64_t time_ms)
{
    vgc_alert *a = vgc_model_find(m, id);
    if (a == NULL) {
        return VG_ERR_NOT_FOUND;
    }
    vgc_share_info *s = NULL;
    for (size_t i = 0; i < a->n_shares && s == NULL; i++) {
        s = strcmp(a->shares[i].to, to) == 0 ? &a->shares[i] : NULL;
    }
    if (s == NULL) {
        vgc_share_info *n = realloc(a->shares, (a->n_shares + 1) * sizeof *n);
        if (n == NULL) {
            return VG_ERR_NOMEM;
        }
        a->shares = n;
        s = &a->shares[a->n_shares++];
        memset(s, 0, sizeof *s);
        snprintf(s->to, sizeof s->to, "%s", to);
    }
    if (sharer != NULL && sharer[0] != '\0') {
        snprintf(s->sharer, sizeof s->sharer, "%s", sharer);
    }
    if (reason != NULL && reason[0] != '\0') {
        free(s->reason);
        s->reason = vg_strdup(reason);
    }
    if (time_ms != 0) {
        s->time_ms = time_ms;
    }
    m->changes++;
    return VG_OK;
}

/* ---- events --------------------------------------------------------------------------- */

static void
s_feed_push(vgc_model *m, const vga_event *e)
{
    if (m->feed_n == VGC_FEED_MAX) {
        m->feed_head = (m->feed_head + 1) % VGC_FEED_MAX;
        m->feed_n--;
    }
    m->feed[(m->feed_head + m->feed_n) % VGC_FEED_MAX] = *e;
    m->feed_n++;
}

const vga_event *
vgc_model_feed_at(const vgc_model *m, size_t i)
{
    if (i >= m->feed_n) {
        return NULL;
    }
    return &m->feed[(m->feed_head + m->feed_n - 1 - i) % VGC_FEED_MAX];
}

static void
s_offline(vgc_model *m, const vga_event *e, bool offline)
{
    size_t w = 0;
    for (size_t i = 0; i < m->n_offline; i++) {
        if (strcmp(m->offline[i], e->agency) != 0) {
            memmove(m->offline[w], m->offline[i], VGC_ID_LEN);
            m->offline_waiting[w++] = m->offline_waiting[i];
        }
    }
    m->n_offline = w;
    if (offline && m->n_offline < VGC_OFFLINE_MAX) {
        snprintf(m->offline[m->n_offline], VGC_ID_LEN, "%s", e->agency);
        m->offline_waiting[m->n_offline++] = e->count;
    }
}

static void
s_set_text(char **field, const char *text)
{
    char *copy = vg_strdup(text);
    if (copy != NULL) {
        free(*field);
        *field = copy;
    }
}

/* A receipt (acknowledged, in progress, declined, unopenable). */
static void
s_apply_receipt(vgc_model *m, vgc_alert *a, vgc_recipient *r, const vga_event *e)
{
    if (e->kind == VGA_EV_ACKNOWLEDGED) {
        r->state = VGA_ACKNOWLEDGED;
        r->acknowledged_ms = e->time_ms;
        s_set_text(&r->officer, e->detail);
        vgc_model_want(m, a->id); /* the note is not in the event */
        return;
    }
    if (r->state == VGA_ACKNOWLEDGED) {
        return; /* an older event than the status already held */
    }
    r->state = e->kind == VGA_EV_IN_PROGRESS ? VGA_IN_PROGRESS
               : e->kind == VGA_EV_DECLINED  ? VGA_DECLINED
                                             : VGA_UNOPENABLE;
    s_set_text(&r->reason, e->detail);
    if (e->kind == VGA_EV_IN_PROGRESS) {
        vgc_model_want(m, a->id); /* the extended deadline is not in the event */
    }
}

/* Changes the state of alert a for an event about one of its recipients. */
static void
s_apply_to_recipient(vgc_model *m, vgc_alert *a, const vga_event *e)
{
    vgc_recipient *r = vgc_alert_recipient(a, e->agency);
    if (r == NULL) {
        vgc_model_want(m, a->id);
        return;
    }
    switch (e->kind) {
    case VGA_EV_DELIVERED:
        r->state = r->state == VGA_PENDING ? VGA_DELIVERED : r->state;
        r->delivered_ms = r->delivered_ms ? r->delivered_ms : e->time_ms;
        break;
    case VGA_EV_ACKNOWLEDGED:
    case VGA_EV_IN_PROGRESS:
    case VGA_EV_DECLINED:
    case VGA_EV_UNOPENABLE:
        s_apply_receipt(m, a, r, e);
        break;
    case VGA_EV_OVERDUE:
        r->overdue = true;
        r->level = e->level > r->level ? e->level : r->level;
        if (r->state != VGA_ACKNOWLEDGED) {
            s_attend_overdue(m, a, r->agency);
        }
        break;
    case VGA_EV_ESCALATED:
        r->level = e->level > r->level ? e->level : r->level;
        break;
    case VGA_EV_REPEAT_WARNING:
        s_attend_repeat(m, a, e);
        vgc_model_want(m, a->id); /* its chain, as the broker tells it */
        break;
    default:
        break;
    }
}

static void
s_apply_event(vgc_model *m, const vga_event *e)
{
    if (e->kind == VGA_EV_AGENCY_OFFLINE || e->kind == VGA_EV_AGENCY_ONLINE) {
        s_offline(m, e, e->kind == VGA_EV_AGENCY_OFFLINE);
        return;
    }
    if (e->kind == VGA_EV_NETWORK_CHANGED || e->kind == VGA_EV_REJECTED || !e->has_alert) {
        m->needs_resync |= e->kind == VGA_EV_NETWORK_CHANGED;
        return;
    }
    vgc_alert *a = vgc_model_find(m, e->alert_id);
    if (a == NULL || e->kind == VGA_EV_ACCEPTED) {
        if (a == NULL && e->kind != VGA_EV_COMPLETE) {
            vgc_model_want(m, e->alert_id); /* new to this console: ask about it */
        }
        return;
    }
    if (e->kind == VGA_EV_COMPLETE) {
        a->complete = true;
        return;
    }
    if (e->kind == VGA_EV_SHARED) {
        vgc_model_want(m, a->id); /* the new recipient's row and deadline */
        if (vgc_model_add_share(m, a->id, e->detail, e->agency, NULL, e->time_ms) != VG_OK) {
            m->needs_resync = true; /* out of memory: the snapshot brings it */
        }
        return;
    }
    s_apply_to_recipient(m, a, e);
}

vgc_seq_result
vgc_model_feed_event(vgc_model *m, const vga_event *e, int64_t now_ms)
{
    vgc_seq_result r = vgc_seq_check(m->last_seq, e->seq);
    if (r == VGC_SEQ_DUP) {
        return r;
    }
    if (r == VGC_SEQ_GAP && m->has_snapshot) {
        char reason[VGC_REASON_LEN];
        snprintf(reason, sizeof reason, "event gap: expected #%llu, got #%llu; refetching",
                 (unsigned long long)(m->last_seq + 1), (unsigned long long)e->seq);
        vgc_model_set_sync(m, VGC_SYNC_STALE, reason, now_ms);
        m->needs_resync = true;
        return r;
    }
    s_feed_push(m, e);
    m->last_seq = e->seq;
    if (m->has_snapshot && e->seq > m->state_seq) {
        s_apply_event(m, e);
        m->state_seq = e->seq;
    } else if (m->has_snapshot && e->has_alert && e->kind != VGA_EV_COMPLETE &&
               vgc_model_find(m, e->alert_id) == NULL) {
        vgc_model_want(m, e->alert_id); /* history about an alert not in the snapshot */
    }
    m->changes++;
    return VGC_SEQ_NEXT;
}
