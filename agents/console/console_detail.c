/*
 * console_detail.c — detail and help text (see console_detail.h).
 */
#include "console_detail.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_LABEL_COLS 14 /* "Description:  " */

typedef struct s_out {
    vgc_lines *l; /* where lines go */
    size_t width; /* characters per line */
    bool failed;  /* out of memory */
} s_out;

void
vgc_lines_fini(vgc_lines *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].text);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}

static void
s_push(s_out *o, vgc_style style, const char *text, size_t len)
{
    if (o->failed) {
        return;
    }
    vgc_lines *l = o->l;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        vgc_line *n = realloc(l->items, cap * sizeof *n);
        if (n == NULL) {
            o->failed = true;
            return;
        }
        l->items = n;
        l->cap = cap;
    }
    char *t = malloc(len + 1);
    if (t == NULL) {
        o->failed = true;
        return;
    }
    memcpy(t, text, len);
    t[len] = '\0';
    l->items[l->n++] = (vgc_line){style, t};
}

/* True for the first byte of a UTF-8 character. */
static bool
s_lead(char c)
{
    return ((unsigned char)c & 0xc0) != 0x80;
}

/* Wraps one sanitised paragraph: the first line starts with `first`, the
 * next ones with `indent` spaces. */
static void
s_wrap(s_out *o, vgc_style style, const char *first, size_t indent, const char *text)
{
    size_t width = o->width > indent + 10 ? o->width : indent + 10;
    char *line = malloc(width * 4 + strlen(first) + 8);
    if (line == NULL) {
        o->failed = true;
        return;
    }
    const char *p = text;
    bool is_first = true;
    do {
        size_t used = is_first ? (size_t)snprintf(line, width * 4, "%s", first) : indent;
        if (!is_first) {
            memset(line, ' ', indent);
        }
        size_t cols = used, bytes = 0, brk = 0;
        while (p[bytes] != '\0' && (cols < width || !s_lead(p[bytes]))) {
            cols += s_lead(p[bytes]);
            brk = p[bytes] == ' ' ? bytes : brk;
            bytes++;
        }
        size_t take = p[bytes] == '\0' || brk == 0 ? bytes : brk;
        memcpy(line + used, p, take);
        s_push(o, style, line, used + take);
        p += take;
        while (*p == ' ') {
            p++;
        }
        is_first = false;
    } while (*p != '\0' && !o->failed);
    free(line);
}

/* Adds text (which may hold newlines), sanitised and wrapped. */
static void
s_text(s_out *o, vgc_style style, const char *first, size_t indent, const char *text)
{
    const char *p = text ? text : "";
    bool first_para = true;
    do {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *para = malloc(len + 1), *clean = malloc(len * 3 + 1);
        if (para == NULL || clean == NULL) {
            free(para);
            free(clean);
            o->failed = true;
            return;
        }
        memcpy(para, p, len);
        para[len] = '\0';
        vgc_sanitize(clean, len * 3 + 1, para);
        char pad[S_LABEL_COLS + 8];
        snprintf(pad, sizeof pad, "%*s", (int)(indent < S_LABEL_COLS ? indent : S_LABEL_COLS), "");
        s_wrap(o, style, first_para ? first : pad, indent, clean);
        first_para = false;
        free(para);
        free(clean);
        p = nl ? nl + 1 : NULL;
    } while (p != NULL && !o->failed);
}

static void s_addf(s_out *o, vgc_style style, const char *fmt, ...) VG_PRINTF(3, 4);

static void
s_addf(s_out *o, vgc_style style, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    s_text(o, style, "", 4, buf);
}

/* "Label:        value", wrapped under the value. Skipped when empty. */
static void
s_field(s_out *o, const char *label, const char *value)
{
    if (value == NULL || value[0] == '\0') {
        return;
    }
    char first[S_LABEL_COLS + 8];
    snprintf(first, sizeof first, "%-*s", S_LABEL_COLS, label);
    s_text(o, VGC_STYLE_NORMAL, first, S_LABEL_COLS, value);
}

static void
s_blank(s_out *o)
{
    s_push(o, VGC_STYLE_NORMAL, "", 0);
}

/* ---- the alert ------------------------------------------------------------------------ */

static void
s_meta(s_out *o, const vgc_alert *a)
{
    char sent[VG_TIME_STR_LEN], acc[VG_TIME_STR_LEN], cats[512];
    vg_time_format(sent, sizeof sent, a->created_ms);
    vg_time_format(acc, sizeof acc, a->accepted_ms);
    vg_strlist_join(cats, sizeof cats, &a->categories, ", ");
    const char *mark = vgc_alert_mark(a);
    s_addf(o, VGC_STYLE_TITLE, "ALERT %s%s%s%s", a->idhex, mark ? "  " : "", mark ? mark : "",
           a->complete ? "  (complete)" : "");
    if (mark != NULL) { /* from the metadata: a sealed alert says it too */
        s_addf(o, VGC_STYLE_WARN, "*** %s: not an actual alert; tracked and escalated like one ***",
               mark);
    }
    s_addf(o, VGC_STYLE_NORMAL, "Severity %s, urgency %s, status %s, type %s",
           vg_severity_name(a->severity), vg_urgency_name(a->urgency), vg_status_name(a->status),
           vg_msg_type_name(a->msg_type));
    s_field(o, "From:", a->sender);
    s_field(o, "Sent:", sent);
    s_field(o, "Accepted:", acc);
    s_field(o, "Categories:", cats);
}

static void
s_content_lists(s_out *o, const vg_alert *c)
{
    char buf[2048];
    vg_strlist_join(buf, sizeof buf, &c->incidents, ", ");
    s_field(o, "Incidents:", buf);
    buf[0] = '\0';
    for (size_t i = 0; i < c->n_subjects; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, sizeof buf - used, "%s%s:%s", i ? ", " : "",
                 c->subjects[i].scheme ? c->subjects[i].scheme : "",
                 c->subjects[i].value ? c->subjects[i].value : "");
    }
    s_field(o, "Subjects:", buf);
    for (size_t i = 0; i < c->n_areas; i++) {
        s_field(o, "Area:", c->areas[i].desc);
    }
    for (size_t i = 0; i < c->n_references; i++) {
        char hex[VG_ALERT_ID_HEX_LEN + 1];
        vg_alert_id_hex(hex, c->references[i]);
        s_field(o, "References:", hex);
    }
    if (c->expires_ms != 0) {
        vg_time_format(buf, sizeof buf, c->expires_ms);
        s_field(o, "Expires:", buf);
    }
}

static void
s_content(s_out *o, const vgc_model *m, const vgc_alert *a)
{
    if (!a->has_content) {
        s_addf(o, VGC_STYLE_BAD, "Content: sealed. %s",
               a->content_error ? a->content_error
               : a->readable    ? "not opened yet"
                                : "");
        if (!a->readable && a->content_error == NULL) {
            s_addf(o, VGC_STYLE_NORMAL,
                   "%s may see this alert's tracking but not its content (only the sender, its "
                   "recipients and agencies it is shared with can read it).",
                   m->me);
        }
        return;
    }
    const vg_alert *c = &a->content;
    s_field(o, "Headline:", c->headline);
    s_field(o, "Event:", c->event);
    s_field(o, "Certainty:", c->certainty ? vg_certainty_name(c->certainty) : NULL);
    s_field(o, "Description:", c->description);
    s_field(o, "Instruction:", c->instruction);
    s_content_lists(o, c);
    s_field(o, "Sender name:", c->sender_name);
    s_field(o, "Contact:", c->contact);
    s_field(o, "Web:", c->web);
}

static vgc_style
s_cell_style(vgc_cell c)
{
    switch (c) {
    case VGC_CELL_ACKNOWLEDGED:
        return VGC_STYLE_GOOD;
    case VGC_CELL_OVERDUE:
    case VGC_CELL_DECLINED:
    case VGC_CELL_UNOPENABLE:
        return VGC_STYLE_BAD;
    default:
        return VGC_STYLE_WARN;
    }
}

static void
s_recipient(s_out *o, const vgc_recipient *r, int64_t now_ms)
{
    vgc_cell cell = vgc_cell_of(r, now_ms);
    char cellt[VGC_CELL_LEN], dl[16], left[24] = "", when[16];
    vgc_cell_render(cellt, r->agency, cell);
    vgc_format_clock(dl, sizeof dl, r->deadline_ms);
    if (r->deadline_ms > 0 && cell != VGC_CELL_ACKNOWLEDGED) {
        char d[16];
        vgt_format_span(d, sizeof d, r->deadline_ms - now_ms);
        snprintf(left, sizeof left, now_ms > r->deadline_ms ? " (LATE %s)" : " (in %s)", d);
    }
    s_addf(o, s_cell_style(cell), "%-5s %s: %s%s, deadline %s%s%s", cellt, r->agency,
           vgc_cell_name(cell), r->required ? "" : " (not required)", dl, left,
           r->level > 1 ? ", escalated" : "");
    if (r->delivered_ms) {
        vgc_format_clock(when, sizeof when, r->delivered_ms);
        s_addf(o, VGC_STYLE_NORMAL, "      delivered %s", when);
    }
    if (r->acknowledged_ms) {
        vgc_format_clock(when, sizeof when, r->acknowledged_ms);
        s_addf(o, VGC_STYLE_GOOD, "      acknowledged %s by %s%s%s", when,
               r->officer && r->officer[0] ? r->officer : "(officer not known yet)",
               r->note && r->note[0] ? ": " : "", r->note ? r->note : "");
    }
    if (r->reason && r->reason[0] && r->state != VGA_ACKNOWLEDGED) {
        s_addf(o, VGC_STYLE_WARN, "      %s: %s", vga_state_name(r->state), r->reason);
    }
    if (r->overdue || r->level > 0) {
        s_addf(o, VGC_STYLE_BAD, "      was overdue; escalation level %u", r->level);
    }
    if (r->shared_by[0]) {
        s_addf(o, VGC_STYLE_NORMAL, "      added by a share from %s", r->shared_by);
    }
    if (r->cover_for[0]) {
        s_addf(o, VGC_STYLE_NORMAL, "      out-of-hours cover for %s (closed when it was sent)",
               r->cover_for);
    }
}

static void
s_timeline(s_out *o, const vgc_model *m, const vgc_alert *a)
{
    s_blank(o);
    s_addf(o, VGC_STYLE_TITLE, "EVENTS SEEN BY THIS CONSOLE (oldest first)");
    size_t n = 0;
    for (size_t i = m->feed_n; i > 0; i--) {
        const vga_event *e = vgc_model_feed_at(m, i - 1);
        if (e != NULL && e->has_alert && memcmp(e->alert_id, a->id, VG_ALERT_ID_LEN) == 0) {
            char line[768];
            vgc_event_format(line, sizeof line, m, e);
            s_addf(o, VGC_STYLE_NORMAL, "  %s", line);
            n++;
        }
    }
    if (n == 0) {
        s_addf(o, VGC_STYLE_NORMAL, "  none since this console started");
    }
}

static void
s_shares(s_out *o, const vgc_alert *a)
{
    s_blank(o);
    s_addf(o, VGC_STYLE_TITLE, "SHARES");
    if (a->n_shares == 0) {
        s_addf(o, VGC_STYLE_NORMAL, "  not shared onward");
    }
    for (size_t i = 0; i < a->n_shares; i++) {
        const vgc_share_info *s = &a->shares[i];
        char when[16];
        vgc_format_clock(when, sizeof when, s->time_ms);
        s_addf(o, VGC_STYLE_NORMAL, "  %s %s shared it with %s%s%s", s->time_ms ? when : "",
               s->sharer[0] ? s->sharer : "(an agency)", s->to,
               s->reason && s->reason[0] ? ": " : "", s->reason ? s->reason : "");
    }
}

/* The broker's warning memory: earlier alerts that share a link tag with
 * this one (docs/network.md "Link tags"), even ones this agency never saw. */
static void
s_chain(s_out *o, const vgc_alert *a)
{
    if (a->n_linked == 0) {
        return;
    }
    s_blank(o);
    s_addf(o, VGC_STYLE_TITLE,
           "EARLIER WARNINGS ABOUT THE SAME SUBJECT (%zu, linked by the broker)", a->n_linked);
    for (size_t i = 0; i < a->n_linked; i++) {
        const vga_linked *l = &a->linked[i];
        char line[1024], when[VG_TIME_STR_LEN] = "";
        size_t used = 0;
        bool never = false;
        if (l->known) {
            vg_time_format(when, sizeof when, l->accepted_ms);
        }
        for (size_t k = 0; k < l->n_outcomes && used < sizeof line; k++) {
            int w = snprintf(line + used, sizeof line - used, " %s:%s", l->outcomes[k].agency,
                             vga_link_outcome_name(l->outcomes[k].outcome));
            used += w > 0 ? (size_t)w : 0;
            never = never || l->outcomes[k].outcome == VGA_LINK_NEVER;
        }
        if (l->known) {
            char idhex[VG_ALERT_ID_HEX_LEN + 1];
            vg_alert_id_hex(idhex, l->id);
            s_addf(o, never ? VGC_STYLE_BAD : VGC_STYLE_NORMAL, "  %.8s %s %s", idhex, when,
                   used ? line : "");
        } else {
            s_addf(o, never ? VGC_STYLE_BAD : VGC_STYLE_NORMAL, "  (not sent to you) %s",
                   used ? line : "");
        }
    }
}

static void
s_linked(s_out *o, const vgc_model *m, const vgc_alert *a, int64_t now_ms)
{
    s_blank(o);
    s_addf(o, VGC_STYLE_TITLE, "LINKED ALERTS (same incident or subject, or referenced)");
    vgc_alert *links[VGC_LINKED_MAX];
    size_t n = vgc_model_linked(m, a, links, VGC_LINKED_MAX);
    if (n == 0) {
        s_addf(o, VGC_STYLE_NORMAL, "  none among the alerts this console holds%s",
               a->has_content ? "" : " (sealed alerts cannot be linked)");
    }
    for (size_t i = 0; i < n; i++) {
        char when[16], matrix[512], title[1024];
        vgc_format_clock(when, sizeof when, links[i]->accepted_ms);
        vgc_alert_matrix(matrix, sizeof matrix, links[i], now_ms);
        vgc_alert_title(title, sizeof title, links[i]);
        s_addf(o, vgc_alert_is_overdue(links[i], now_ms) ? VGC_STYLE_BAD : VGC_STYLE_NORMAL,
               "  %.8s %s %s from %s: %s  [%s]%s", links[i]->idhex, when,
               vg_severity_name(links[i]->severity), links[i]->sender, title, matrix,
               links[i]->complete ? " complete" : "");
    }
}

vg_err
vgc_detail_build(vgc_lines *l, const vgc_model *m, const vgc_alert *a, size_t width, int64_t now_ms)
{
    memset(l, 0, sizeof *l);
    s_out o = {l, width < 20 ? 20 : width, false};
    s_meta(&o, a);
    s_content(&o, m, a);
    s_blank(&o);
    s_addf(&o, VGC_STYLE_TITLE, "ACKNOWLEDGEMENT (each agency)");
    for (size_t i = 0; i < a->n_recipients; i++) {
        s_recipient(&o, &a->recipients[i], now_ms);
    }
    s_timeline(&o, m, a);
    s_shares(&o, a);
    s_chain(&o, a);
    s_linked(&o, m, a, now_ms);
    if (o.failed) {
        vgc_lines_fini(l);
        return VG_ERR_NOMEM;
    }
    return VG_OK;
}

/* ---- help ---------------------------------------------------------------------------------- */

static const char *const s_help[] = {
    "\001KEYS",
    "Up/Down, j/k   select an alert        PgUp/PgDn, Home/End   move faster",
    "Enter          detail of the selected alert (Esc or Left to go back)",
    "a              acknowledge: asks for the officer's name and a note",
    "p              in progress: asks for a reason (extends the deadline once)",
    "d              decline: asks for a reason (escalated like an overdue alert)",
    "s              share with another agency: asks for the agency and a reason",
    "o              overdue only on/off",
    "v, 0-4         minimum severity: v cycles; 0 all, 1 low, 2 medium, 3 high, 4 critical",
    "/              search the text this agency can read; c clears every filter",
    "r              refetch everything from the broker now",
    "?              this help (any key returns)          q   quit",
    "",
    "\001ACK MATRIX (one cell per required agency: abbreviation and mark)",
    "lic+  acknowledged by a named officer     lic~  delivered, not yet read",
    "lic-  pending: not delivered yet          lic>  in progress",
    "LICx  declined (capitals: needs action)   LIC!  OVERDUE (capitals: needs action)",
    "LIC?  its software CANNOT OPEN it: the sender must send it again",
    "A * before a row: this agency still has to acknowledge it.",
    "EXERCISE, TEST, SYSTEM or DRAFT before a headline: not an actual alert (tracked,",
    "escalated and acknowledged like one; reported apart from actual alerts).",
    "",
    "\001SYNC STATE",
    "LIVE      snapshot plus every event since; the broker is answering",
    "STALE     an event was missed or the broker did not answer: being refetched",
    "NO DATA   no snapshot yet, or no word from the broker for 15 s: the list is",
    "          what was known at the time shown, and may be out of date",
    "",
    "\001ORDER",
    "Overdue alerts first (the longest overdue on top), then the nearest deadline.",
    "A new critical alert, or a new overdue one for this agency, rings the bell once.",
};

vg_err
vgc_help_build(vgc_lines *l, size_t width)
{
    memset(l, 0, sizeof *l);
    s_out o = {l, width < 20 ? 20 : width, false};
    for (size_t i = 0; i < sizeof s_help / sizeof s_help[0]; i++) {
        bool title = s_help[i][0] == '\001';
        s_text(&o, title ? VGC_STYLE_TITLE : VGC_STYLE_NORMAL, "", 10,
               title ? s_help[i] + 1 : s_help[i]);
    }
    if (o.failed) {
        vgc_lines_fini(l);
        return VG_ERR_NOMEM;
    }
    return VG_OK;
}
