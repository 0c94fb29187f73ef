/*
 * console_derive.c — what the screens derive from the model: ack-matrix
 * cells, due times, order, counts, filters, linked alerts and feed lines
 * (see console_model.h). Pure functions of the model and now_ms.
 */
#include "console_model.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- cells ------------------------------------------------------------------------- */

/* The recipient state a cell shows (0 for OVERDUE, which is derived). */
static vga_state
s_cell_state(vgc_cell c)
{
    static const vga_state states[] = {
        [VGC_CELL_PENDING] = VGA_PENDING,           [VGC_CELL_DELIVERED] = VGA_DELIVERED,
        [VGC_CELL_ACKNOWLEDGED] = VGA_ACKNOWLEDGED, [VGC_CELL_IN_PROGRESS] = VGA_IN_PROGRESS,
        [VGC_CELL_DECLINED] = VGA_DECLINED,         [VGC_CELL_UNOPENABLE] = VGA_UNOPENABLE,
    };
    return (unsigned)c < sizeof states / sizeof states[0] ? states[c] : (vga_state)0;
}

const char *
vgc_cell_name(vgc_cell c)
{
    return c == VGC_CELL_OVERDUE ? VGA_OVERDUE_TOKEN : vga_state_words(s_cell_state(c));
}

const char *
vgc_cell_state_name(vgc_cell c)
{
    return c == VGC_CELL_OVERDUE ? VGA_OVERDUE_TOKEN : vga_state_name(s_cell_state(c));
}

char
vgc_cell_glyph(vgc_cell c)
{
    static const char glyphs[] = {
        VGC_GLYPH_PENDING,  VGC_GLYPH_DELIVERED, VGC_GLYPH_ACKNOWLEDGED, VGC_GLYPH_IN_PROGRESS,
        VGC_GLYPH_DECLINED, VGC_GLYPH_OVERDUE,   VGC_GLYPH_UNOPENABLE};
    return (unsigned)c < sizeof glyphs ? glyphs[c] : '?';
}

void
vgc_agency_abbrev(char out[VGC_ABBREV_LEN], const char *agency)
{
    size_t n = 0;
    if (strchr(agency, '-') != NULL) {
        bool start = true;
        for (const char *p = agency; *p != '\0' && n < VGC_ABBREV_LEN - 1; p++) {
            if (start && *p != '-') {
                out[n++] = *p;
            }
            start = *p == '-';
        }
    } else {
        for (const char *p = agency; *p != '\0' && n < VGC_ABBREV_LEN - 1; p++) {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

void
vgc_cell_render(char out[VGC_CELL_LEN], const char *agency, vgc_cell c)
{
    char ab[VGC_ABBREV_LEN];
    vgc_agency_abbrev(ab, agency);
    bool loud = c == VGC_CELL_OVERDUE || c == VGC_CELL_DECLINED || c == VGC_CELL_UNOPENABLE;
    size_t n = 0;
    for (const char *p = ab; *p != '\0'; p++) {
        out[n++] = loud ? (char)toupper((unsigned char)*p) : (char)tolower((unsigned char)*p);
    }
    out[n++] = vgc_cell_glyph(c);
    out[n] = '\0';
}

/* Late now: the broker has stepped it (level > 0) or its deadline passed.
 * (The broker's overdue flag stays set after an IN_PROGRESS extension,
 * which restarts the level from 0: the extended deadline counts.) */
static bool
s_late(const vgc_recipient *r, int64_t now_ms)
{
    return r->level > 0 || (r->deadline_ms > 0 && now_ms > r->deadline_ms);
}

vgc_cell
vgc_cell_of(const vgc_recipient *r, int64_t now_ms)
{
    if (r->state == VGA_ACKNOWLEDGED) {
        return VGC_CELL_ACKNOWLEDGED;
    }
    if (r->state == VGA_DECLINED) {
        return VGC_CELL_DECLINED;
    }
    if (r->state == VGA_UNOPENABLE) {
        return VGC_CELL_UNOPENABLE;
    }
    if (r->required && s_late(r, now_ms)) {
        return VGC_CELL_OVERDUE;
    }
    switch (r->state) {
    case VGA_DELIVERED:
        return VGC_CELL_DELIVERED;
    case VGA_IN_PROGRESS:
        return VGC_CELL_IN_PROGRESS;
    default:
        return VGC_CELL_PENDING;
    }
}

/* ---- alerts ------------------------------------------------------------------------ */

int64_t
vgc_alert_due_ms(const vgc_alert *a)
{
    int64_t due = 0;
    for (size_t i = 0; i < a->n_recipients; i++) {
        const vgc_recipient *r = &a->recipients[i];
        if (r->required && r->state != VGA_ACKNOWLEDGED && r->deadline_ms > 0 &&
            (due == 0 || r->deadline_ms < due)) {
            due = r->deadline_ms;
        }
    }
    return due;
}

bool
vgc_alert_is_overdue(const vgc_alert *a, int64_t now_ms)
{
    for (size_t i = 0; i < a->n_recipients; i++) {
        vgc_cell c = vgc_cell_of(&a->recipients[i], now_ms);
        if (a->recipients[i].required &&
            (c == VGC_CELL_OVERDUE || c == VGC_CELL_DECLINED || c == VGC_CELL_UNOPENABLE)) {
            return true;
        }
    }
    return false;
}

bool
vgc_alert_is_escalated(const vgc_alert *a)
{
    for (size_t i = 0; i < a->n_recipients; i++) {
        if (a->recipients[i].state != VGA_ACKNOWLEDGED && a->recipients[i].level >= 2) {
            return true;
        }
    }
    return false;
}

bool
vgc_alert_awaits(const vgc_alert *a, const char *agency)
{
    for (size_t i = 0; i < a->n_recipients; i++) {
        const vgc_recipient *r = &a->recipients[i];
        if (r->required && r->state != VGA_ACKNOWLEDGED && strcmp(r->agency, agency) == 0) {
            return true;
        }
    }
    return false;
}

const char *
vgc_alert_headline(const vgc_alert *a)
{
    if (a->has_content && a->content.headline != NULL) {
        return a->content.headline;
    }
    return "sealed";
}

const char *
vgc_alert_mark(const vgc_alert *a)
{
    return vga_status_mark(a->status);
}

void
vgc_alert_title(char *out, size_t out_len, const vgc_alert *a)
{
    const char *mark = vgc_alert_mark(a);
    snprintf(out, out_len, "%s%s%s", mark ? mark : "", mark ? " " : "", vgc_alert_headline(a));
}

/* Appends text to out (NUL-terminated, never overflowing). */
static void
s_cat(char *out, size_t out_len, const char *text)
{
    size_t used = strlen(out);
    if (used + 1 < out_len) {
        snprintf(out + used, out_len - used, "%s", text);
    }
}

void
vgc_alert_matrix(char *out, size_t out_len, const vgc_alert *a, int64_t now_ms)
{
    out[0] = '\0';
    for (size_t i = 0; i < a->n_recipients; i++) {
        const vgc_recipient *r = &a->recipients[i];
        if (!r->required) {
            continue;
        }
        char cell[VGC_CELL_LEN];
        vgc_cell_render(cell, r->agency, vgc_cell_of(r, now_ms));
        if (out[0] != '\0') {
            s_cat(out, out_len, " ");
        }
        s_cat(out, out_len, cell);
    }
}

void
vgc_alert_states(char *out, size_t out_len, const vgc_alert *a, int64_t now_ms)
{
    out[0] = '\0';
    for (size_t i = 0; i < a->n_recipients; i++) {
        const vgc_recipient *r = &a->recipients[i];
        if (!r->required) {
            continue;
        }
        char item[VGC_ID_LEN + 24];
        snprintf(item, sizeof item, "%s%s=%s", out[0] ? " " : "", r->agency,
                 vgc_cell_state_name(vgc_cell_of(r, now_ms)));
        s_cat(out, out_len, item);
    }
}

/* ---- times ------------------------------------------------------------------------- */

void
vgc_format_due(char *out, size_t out_len, const vgc_alert *a, int64_t now_ms)
{
    int64_t due = vgc_alert_due_ms(a);
    if (due == 0) {
        snprintf(out, out_len, "-");
        return;
    }
    char d[24];
    vgt_format_span(d, sizeof d, due - now_ms);
    snprintf(out, out_len, "%s%s", now_ms > due ? "LATE " : "in ", d);
}

void
vgc_format_clock(char *out, size_t out_len, int64_t wall_ms)
{
    if (wall_ms <= 0) {
        snprintf(out, out_len, "--:--:--");
        return;
    }
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, out_len, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ---- order and counts ---------------------------------------------------------------- */

typedef struct s_key {
    bool overdue;     /* overdue alerts come first */
    int64_t due;      /* then the nearest deadline (0 = none: last) */
    int64_t accepted; /* then the oldest */
    vgc_alert *a;     /* the alert */
} s_key;

static int
s_cmp_key(const void *x, const void *y)
{
    const s_key *a = x, *b = y;
    if (a->overdue != b->overdue) {
        return a->overdue ? -1 : 1;
    }
    if (a->due != b->due) {
        if (a->due == 0 || b->due == 0) {
            return a->due == 0 ? 1 : -1;
        }
        return a->due < b->due ? -1 : 1;
    }
    if (a->accepted != b->accepted) {
        return a->accepted < b->accepted ? -1 : 1;
    }
    return memcmp(a->a->id, b->a->id, VG_ALERT_ID_LEN);
}

size_t
vgc_model_list(const vgc_model *m, const vgc_filter *f, int64_t now_ms, vgc_alert **out, size_t max)
{
    s_key *keys = calloc(m->n_alerts ? m->n_alerts : 1, sizeof *keys);
    if (keys == NULL) {
        return 0;
    }
    size_t n = 0;
    for (size_t i = 0; i < m->n_alerts; i++) {
        vgc_alert *a = m->alerts[i];
        if (a->complete || (f != NULL && !vgc_filter_match(a, f, now_ms))) {
            continue;
        }
        keys[n++] =
            (s_key){vgc_alert_is_overdue(a, now_ms), vgc_alert_due_ms(a), a->accepted_ms, a};
    }
    qsort(keys, n, sizeof *keys, s_cmp_key);
    for (size_t i = 0; i < n && i < max; i++) {
        out[i] = keys[i].a;
    }
    free(keys);
    return n;
}

void
vgc_model_counts(const vgc_model *m, int64_t now_ms, size_t *n_open, size_t *n_overdue,
                 size_t *n_escalated)
{
    *n_open = *n_overdue = *n_escalated = 0;
    for (size_t i = 0; i < m->n_alerts; i++) {
        const vgc_alert *a = m->alerts[i];
        if (a->complete) {
            continue;
        }
        (*n_open)++;
        *n_overdue += vgc_alert_is_overdue(a, now_ms);
        *n_escalated += vgc_alert_is_escalated(a);
    }
}

size_t
vgc_model_n_exercises(const vgc_model *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_alerts; i++) {
        n += !m->alerts[i]->complete && vgc_alert_mark(m->alerts[i]) != NULL;
    }
    return n;
}

/* ---- filters ----------------------------------------------------------------------- */

/* Case-insensitive (ASCII) substring search. */
static bool
s_has(const char *hay, const char *needle)
{
    if (hay == NULL) {
        return false;
    }
    size_t n = strlen(needle);
    for (const char *p = hay; *p != '\0'; p++) {
        size_t i = 0;
        while (i < n && p[i] != '\0' &&
               tolower((unsigned char)p[i]) == tolower((unsigned char)needle[i])) {
            i++;
        }
        if (i == n) {
            return true;
        }
    }
    return n == 0;
}

static bool
s_list_has(const vg_strlist *l, const char *needle)
{
    for (size_t i = 0; i < l->n; i++) {
        if (s_has(l->items[i], needle)) {
            return true;
        }
    }
    return false;
}

/* The opened content's text fields. */
static bool
s_content_has(const vg_alert *c, const char *t)
{
    if (s_has(c->headline, t) || s_has(c->event, t) || s_has(c->description, t) ||
        s_has(c->instruction, t) || s_has(c->sender_name, t) || s_list_has(&c->incidents, t)) {
        return true;
    }
    for (size_t i = 0; i < c->n_areas; i++) {
        if (s_has(c->areas[i].desc, t)) {
            return true;
        }
    }
    for (size_t i = 0; i < c->n_subjects; i++) {
        if (s_has(c->subjects[i].scheme, t) || s_has(c->subjects[i].value, t)) {
            return true;
        }
    }
    return false;
}

static bool
s_text_match(const vgc_alert *a, const char *t)
{
    if (t[0] == '\0' || s_has(a->idhex, t) || s_has(a->sender, t) ||
        s_list_has(&a->categories, t) || s_has(vgc_alert_mark(a), t)) {
        return true;
    }
    for (size_t i = 0; i < a->n_recipients; i++) {
        if (s_has(a->recipients[i].agency, t)) {
            return true;
        }
    }
    return a->has_content && s_content_has(&a->content, t);
}

bool
vgc_filter_match(const vgc_alert *a, const vgc_filter *f, int64_t now_ms)
{
    if (f->overdue_only && !vgc_alert_is_overdue(a, now_ms)) {
        return false;
    }
    if (f->min_severity != VG_SEV_UNSPECIFIED && a->severity < f->min_severity) {
        return false;
    }
    return s_text_match(a, f->text);
}

void
vgc_filter_describe(char *out, size_t out_len, const vgc_filter *f)
{
    out[0] = '\0';
    if (f->overdue_only) {
        s_cat(out, out_len, "overdue only");
    }
    if (f->min_severity != VG_SEV_UNSPECIFIED) {
        char s[32];
        snprintf(s, sizeof s, "%s%s+", out[0] ? ", " : "", vg_severity_name(f->min_severity));
        s_cat(out, out_len, s);
    }
    if (f->text[0] != '\0') {
        char t[VGC_TEXT_FILTER_MAX + 16];
        snprintf(t, sizeof t, "%stext '%s'", out[0] ? ", " : "", f->text);
        s_cat(out, out_len, t);
    }
    if (out[0] == '\0') {
        snprintf(out, out_len, "none");
    }
}

/* ---- linked alerts ------------------------------------------------------------------- */

static bool
s_refers(const vgc_alert *from, const vgc_alert *to)
{
    if (!from->has_content) {
        return false;
    }
    for (size_t i = 0; i < from->content.n_references; i++) {
        if (memcmp(from->content.references[i], to->id, VG_ALERT_ID_LEN) == 0) {
            return true;
        }
    }
    return false;
}

static bool
s_same_subject(const vg_alert *x, const vg_alert *y)
{
    for (size_t i = 0; i < x->n_subjects; i++) {
        for (size_t j = 0; j < y->n_subjects; j++) {
            const vg_subject *s = &x->subjects[i], *t = &y->subjects[j];
            if (s->scheme && t->scheme && s->value && t->value &&
                strcmp(s->scheme, t->scheme) == 0 && strcasecmp(s->value, t->value) == 0) {
                return true;
            }
        }
    }
    return false;
}

static bool
s_linked(const vgc_alert *a, const vgc_alert *b)
{
    if (s_refers(a, b) || s_refers(b, a)) {
        return true;
    }
    if (!a->has_content || !b->has_content) {
        return false;
    }
    for (size_t i = 0; i < a->content.incidents.n; i++) {
        for (size_t j = 0; j < b->content.incidents.n; j++) {
            if (strcasecmp(a->content.incidents.items[i], b->content.incidents.items[j]) == 0) {
                return true;
            }
        }
    }
    return s_same_subject(&a->content, &b->content);
}

size_t
vgc_model_linked(const vgc_model *m, const vgc_alert *a, vgc_alert **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_alerts && n < max; i++) {
        vgc_alert *b = m->alerts[i];
        if (b != a && s_linked(a, b)) {
            out[n++] = b;
        }
    }
    return n;
}

/* ---- text -------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t
s_utf8_len(const unsigned char *p)
{
    size_t n = p[0] < 0x80                    ? 1
               : p[0] >= 0xc2 && p[0] <= 0xdf ? 2
               : p[0] >= 0xe0 && p[0] <= 0xef ? 3
               : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4
                                              : 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
    }
    if ((n == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (n == 4 && p[0] == 0xf0 && p[1] < 0x90) ||
        (n == 4 && p[0] == 0xf4 && p[1] > 0x8f) || (n == 3 && p[0] == 0xed && p[1] > 0x9f)) {
        return 0; /* overlong, beyond U+10FFFF, or a surrogate */
    }
    if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0) {
        return 0; /* a C1 control character */
    }
    return n;
}

void
vgc_strcpy(char *out, size_t out_len, const char *s)
{
    if (out_len == 0) {
        return;
    }
    size_t n = s ? strlen(s) : 0;
    if (n >= out_len) {
        n = out_len - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) {
            n--; /* do not split a UTF-8 character */
        }
    }
    if (n > 0) {
        memcpy(out, s, n);
    }
    out[n] = '\0';
}

void
vgc_sanitize(char *out, size_t out_len, const char *text)
{
    size_t w = 0;
    const unsigned char *p = (const unsigned char *)(text ? text : "");
    while (*p != '\0' && w + 1 < out_len) {
        size_t n = s_utf8_len(p);
        if (n == 1 && (*p < 0x20 || *p == 0x7f)) {
            n = 0;
        }
        if (n == 0) {
            out[w++] = '?';
            p++;
            continue;
        }
        if (w + n >= out_len) {
            break;
        }
        memcpy(out + w, p, n);
        w += n;
        p += n;
    }
    out[w] = '\0';
}

/* ---- feed lines ------------------------------------------------------------------------ */

static void
s_describe_alert_event(char *out, size_t out_len, const vgc_model *m, const vga_event *e)
{
    const vgc_alert *a = e->has_alert ? vgc_model_find(m, e->alert_id) : NULL;
    switch (e->kind) {
    case VGA_EV_ACCEPTED:
        snprintf(out, out_len, "new %s alert from %s: %s", vg_severity_name(e->severity), e->sender,
                 a ? vgc_alert_headline(a) : "(details follow)");
        break;
    case VGA_EV_DELIVERED:
        snprintf(out, out_len, "delivered to %s", e->agency);
        break;
    case VGA_EV_ACKNOWLEDGED:
        snprintf(out, out_len, "%s acknowledged (%s)", e->agency, e->detail);
        break;
    case VGA_EV_IN_PROGRESS:
        snprintf(out, out_len, "%s in progress: %s", e->agency, e->detail);
        break;
    case VGA_EV_DECLINED:
        snprintf(out, out_len, "%s DECLINED: %s", e->agency, e->detail);
        break;
    case VGA_EV_UNOPENABLE:
        snprintf(out, out_len, "%s CANNOT OPEN it (%s): the sender must send it again", e->agency,
                 e->detail);
        break;
    case VGA_EV_SHARED:
        snprintf(out, out_len, "%s shared it with %s", e->detail, e->agency);
        break;
    case VGA_EV_OVERDUE:
        snprintf(out, out_len, "OVERDUE for %s (%s)", e->agency, e->detail);
        break;
    case VGA_EV_ESCALATED:
        snprintf(out, out_len, "ESCALATED: %s late, level %u, %s", e->agency, e->level, e->detail);
        break;
    case VGA_EV_COMPLETE:
        snprintf(out, out_len, "complete: every required agency acknowledged");
        break;
    case VGA_EV_REPEAT_WARNING:
        snprintf(out, out_len,
                 "REPEAT WARNING: %s did not acknowledge %u earlier warning%s about "
                 "this subject",
                 e->agency, e->count, e->count == 1 ? "" : "s");
        break;
    case VGA_EV_UNWITNESSED:
        snprintf(out, out_len, "AUDIT: a checkpoint too few agencies cosigned (%s)", e->detail);
        break;
    default:
        snprintf(out, out_len, "%s %s %s", vga_event_kind_name(e->kind), e->agency, e->detail);
        break;
    }
}

static void
s_describe(char *out, size_t out_len, const vgc_model *m, const vga_event *e)
{
    switch (e->kind) {
    case VGA_EV_AGENCY_OFFLINE:
        snprintf(out, out_len, "%s OFFLINE with %u alert%s waiting", e->agency, e->count,
                 e->count == 1 ? "" : "s");
        break;
    case VGA_EV_AGENCY_ONLINE:
        snprintf(out, out_len, "%s back online", e->agency);
        break;
    case VGA_EV_NETWORK_CHANGED:
        snprintf(out, out_len, "network document changed %s", e->detail);
        break;
    case VGA_EV_REJECTED:
        snprintf(out, out_len, "rejected from %s: %s", e->agency, e->detail);
        break;
    default:
        s_describe_alert_event(out, out_len, m, e);
        break;
    }
}

void
vgc_event_format(char *out, size_t out_len, const vgc_model *m, const vga_event *e)
{
    char when[16], text[512], id[VG_ALERT_ID_HEX_LEN + 1] = "--------";
    vgc_format_clock(when, sizeof when, e->time_ms);
    const char *mark = NULL;
    if (e->has_alert) {
        vg_alert_id_hex(id, e->alert_id);
        const vgc_alert *a = vgc_model_find(m, e->alert_id);
        /* the event says it itself; an alert held says it too (older brokers) */
        mark = a != NULL ? vgc_alert_mark(a) : vga_status_mark(e->status);
    }
    s_describe(text, sizeof text, m, e);
    char line[640];
    snprintf(line, sizeof line, "%s %.8s %s%s%s", when, id, mark ? mark : "", mark ? " " : "",
             text);
    vgc_sanitize(out, out_len, line);
}
