/*
 * console_plain.c — timestamped lines for --plain (see console_plain.h).
 */
#include "console_plain.h"

#include <stdlib.h>
#include <string.h>

#define S_LINE_MAX 2048

void
vgc_plain_init(vgc_plain *p, FILE *out)
{
    memset(p, 0, sizeof *p);
    p->out = out;
}

/* Writes "<time> " and the formatted rest, sanitised, and a newline. */
static void
s_line(vgc_plain *p, int64_t now_ms, const char *text)
{
    char when[VG_TIME_STR_LEN];
    vg_time_format(when, sizeof when, now_ms);
    char clean[S_LINE_MAX];
    vgc_sanitize(clean, sizeof clean, text);
    fprintf(p->out, "%s %s\n", when, clean);
}

/* Appends ` key="value"` (quotes and backslashes in value become '). */
static void
s_kv(char *out, size_t out_len, const char *key, const char *value)
{
    size_t used = strlen(out);
    if (used + 1 >= out_len) {
        return;
    }
    snprintf(out + used, out_len - used, " %s=\"", key);
    used = strlen(out);
    for (const char *c = value ? value : ""; *c != '\0' && used + 2 < out_len; c++) {
        out[used++] = *c == '"' || *c == '\\' ? '\'' : *c;
    }
    out[used] = '\0';
    if (used + 1 < out_len) {
        out[used++] = '"';
        out[used] = '\0';
    }
}

void
vgc_plain_note(vgc_plain *p, int64_t now_ms, const char *text)
{
    char line[S_LINE_MAX] = "NOTE";
    s_kv(line, sizeof line, "text", text);
    s_line(p, now_ms, line);
    fflush(p->out);
}

static void
s_sync(vgc_plain *p, const vgc_model *m, int64_t now_ms)
{
    if (p->sync_printed && p->sync == m->sync && strcmp(p->reason, m->sync_reason) == 0) {
        return;
    }
    p->sync_printed = true;
    p->sync = m->sync;
    snprintf(p->reason, sizeof p->reason, "%s", m->sync_reason);
    char line[S_LINE_MAX];
    if (m->sync == VGC_SYNC_LIVE) {
        size_t n_open, n_over, n_esc;
        vgc_model_counts(m, now_ms, &n_open, &n_over, &n_esc);
        snprintf(line, sizeof line, "SYNC LIVE open=%zu overdue=%zu escalated=%zu seq=%llu", n_open,
                 n_over, n_esc, (unsigned long long)m->last_seq);
        size_t n_ex = vgc_model_n_exercises(m);
        if (n_ex > 0) {
            size_t used = strlen(line);
            snprintf(line + used, sizeof line - used, " exercises=%zu", n_ex);
        }
    } else {
        char since[VG_TIME_STR_LEN];
        vg_time_format(since, sizeof since, m->sync_since_ms);
        snprintf(line, sizeof line, "SYNC %s since=%s",
                 m->sync == VGC_SYNC_STALE ? "STALE" : "NO_DATA", since);
        s_kv(line, sizeof line, "reason", m->sync_reason);
    }
    s_line(p, now_ms, line);
}

/* " status=EXERCISE" for an alert that is not actual, else "": a word a
 * screen reader says, right after what the line is about. */
static void
s_status_kv(char *out, size_t out_len, const vgc_alert *a)
{
    const char *mark = a != NULL ? vgc_alert_mark(a) : NULL;
    size_t used = strlen(out);
    if (mark != NULL && used < out_len) {
        snprintf(out + used, out_len - used, " status=%s", mark);
    }
}

static void
s_event(vgc_plain *p, const vgc_model *m, const vga_event *e, int64_t now_ms)
{
    char at[VG_TIME_STR_LEN], line[S_LINE_MAX];
    vg_time_format(at, sizeof at, e->time_ms);
    snprintf(line, sizeof line, "EVENT #%llu at=%s kind=%s", (unsigned long long)e->seq, at,
             vga_event_kind_name(e->kind));
    if (e->has_alert) {
        char id[VG_ALERT_ID_HEX_LEN + 1];
        vg_alert_id_hex(id, e->alert_id);
        size_t used = strlen(line);
        snprintf(line + used, sizeof line - used, " alert=%s", id);
        const vgc_alert *held = vgc_model_find(m, e->alert_id);
        const char *mark = held != NULL ? vgc_alert_mark(held) : vga_status_mark(e->status);
        used = strlen(line);
        if (mark != NULL) { /* the event says it itself; an alert held says it too */
            snprintf(line + used, sizeof line - used, " status=%s", mark);
        }
        used = strlen(line);
        snprintf(line + used, sizeof line - used, " sender=%s severity=%s", e->sender,
                 vg_severity_name(e->severity));
    }
    if (e->agency[0] != '\0') {
        size_t used = strlen(line);
        snprintf(line + used, sizeof line - used, " agency=%s", e->agency);
    }
    if (e->kind == VGA_EV_AGENCY_OFFLINE) {
        size_t used = strlen(line);
        snprintf(line + used, sizeof line - used, " waiting=%u", e->count);
    }
    if (e->kind == VGA_EV_REPEAT_WARNING) {
        size_t used = strlen(line);
        snprintf(line + used, sizeof line - used, " count=%u", e->count);
    }
    if (e->kind == VGA_EV_ESCALATED || e->kind == VGA_EV_OVERDUE) {
        size_t used = strlen(line);
        snprintf(line + used, sizeof line - used, " level=%u", e->level);
    }
    if (e->detail[0] != '\0') {
        s_kv(line, sizeof line, "detail", e->detail);
    }
    s_line(p, now_ms, line);
}

static void
s_events(vgc_plain *p, const vgc_model *m, int64_t now_ms)
{
    for (size_t i = m->feed_n; i > 0; i--) {
        const vga_event *e = vgc_model_feed_at(m, i - 1);
        if (e != NULL && e->seq > p->printed_seq) {
            s_event(p, m, e, now_ms);
            p->printed_seq = e->seq;
        }
    }
}

/* One ALERT line when the alert's states differ from its memo. */
static void
s_alert(vgc_plain *p, vgc_alert *a, int64_t now_ms)
{
    char states[1024], due[32], line[S_LINE_MAX];
    vgc_alert_states(states, sizeof states, a, now_ms);
    if (a->memo != NULL && strcmp(a->memo, states) == 0) {
        return;
    }
    bool is_new = a->memo == NULL;
    vgc_format_due(due, sizeof due, a, now_ms);
    snprintf(line, sizeof line, "ALERT %s %s", a->idhex, is_new ? "new" : "changed");
    s_status_kv(line, sizeof line, a);
    size_t used = strlen(line);
    snprintf(line + used, sizeof line - used, " severity=%s sender=%s overdue=%s",
             vg_severity_name(a->severity), a->sender,
             vgc_alert_is_overdue(a, now_ms) ? "yes" : "no");
    s_kv(line, sizeof line, "due", due);
    s_kv(line, sizeof line, "states", states);
    if (is_new) {
        s_kv(line, sizeof line, "headline", vgc_alert_headline(a));
    }
    s_line(p, now_ms, line);
    char *memo = vg_strdup(states);
    if (memo != NULL) {
        free(a->memo);
        a->memo = memo;
    }
}

static void
s_alerts(vgc_plain *p, vgc_model *m, int64_t now_ms)
{
    if (!m->has_snapshot) {
        return;
    }
    vgc_alert **list = calloc(m->n_alerts ? m->n_alerts : 1, sizeof *list);
    if (list == NULL) {
        return;
    }
    size_t n = vgc_model_list(m, NULL, now_ms, list, m->n_alerts);
    for (size_t i = 0; i < n && i < m->n_alerts; i++) {
        s_alert(p, list[i], now_ms);
    }
    free(list);
    for (size_t i = 0; i < m->n_alerts; i++) {
        vgc_alert *a = m->alerts[i];
        if (a->complete && a->memo != NULL && strcmp(a->memo, "\001done") != 0) {
            char line[128];
            snprintf(line, sizeof line, "ALERT %s done", a->idhex);
            s_status_kv(line, sizeof line, a);
            s_line(p, now_ms, line);
            char *memo = vg_strdup("\001done");
            if (memo != NULL) {
                free(a->memo);
                a->memo = memo;
            }
        }
    }
}

void
vgc_plain_update(vgc_plain *p, vgc_model *m, int64_t now_ms)
{
    bool live = m->sync == VGC_SYNC_LIVE;
    if (!live) {
        s_sync(p, m, now_ms); /* bad news first */
    }
    s_events(p, m, now_ms);
    s_alerts(p, m, now_ms);
    if (live) {
        s_sync(p, m, now_ms); /* LIVE with the counts after the state it describes */
    }
    if (m->attention_gen != p->attention_gen) {
        p->attention_gen = m->attention_gen;
        char line[S_LINE_MAX] = "ATTENTION";
        s_kv(line, sizeof line, "what", m->attention);
        s_line(p, now_ms, line);
    }
    fflush(p->out);
}
