/* rota_text.c — what a notification says, from its templates (vigil/rota.h). */
#include <stdio.h>
#include <string.h>

#include "vigil/rota.h"
#include "vigil/tz.h"

/* An output buffer that remembers whether everything fitted. */
typedef struct s_buf {
    char *p;   /* the caller's buffer */
    size_t n;  /* its size */
    size_t at; /* bytes written */
    bool cut;  /* something did not fit */
} s_buf;

static void
s_ch(s_buf *b, char c)
{
    if (b->at + 1 < b->n) {
        b->p[b->at++] = c;
        b->p[b->at] = '\0';
    } else {
        b->cut = true;
    }
}

static void
s_str(s_buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        s_ch(b, *s);
    }
}

/* A value, escaped for where it goes. */
static void
s_value(s_buf *b, const char *v, vg_escape esc)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++) {
        unsigned char c = *p;
        if (esc == VG_ESCAPE_JSON && (c == '"' || c == '\\')) {
            s_ch(b, '\\');
            s_ch(b, (char)c);
        } else if (esc == VG_ESCAPE_JSON && c < 0x20) {
            char u[8];
            snprintf(u, sizeof u, "\\u%04x", c);
            s_str(b, u);
        } else if (esc == VG_ESCAPE_FORM &&
                   !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_' || c == '.' || c == '~')) {
            if (c == ' ') {
                s_ch(b, '+');
            } else {
                s_ch(b, '%');
                s_ch(b, hex[c >> 4]);
                s_ch(b, hex[c & 15]);
            }
        } else if (esc == VG_ESCAPE_TEXT && (c == '\r' || c == '\n')) {
            s_ch(b, ' ');
        } else {
            s_ch(b, (char)c);
        }
    }
}

/* The one-line summary: what awaits whom, and since when. */
static void
s_summary(char *out, size_t len, const vg_notice *n)
{
    char when[32];
    vg_utc_format(when, sizeof when, n->deadline_ms);
    snprintf(out, len,
             "A %s alert (%s) from %s awaits acknowledgement by %s: its deadline passed at %s.",
             n->severity, n->categories[0] ? n->categories : "no category", n->sender, n->agency,
             when);
}

/* The value of variable name (n bytes), or NULL when it is not one. */
static const char *
s_var(const vg_notice *n, const char *name, size_t len, char *scratch, size_t scratch_len)
{
    struct {
        const char *name;
        const char *value;
    } vars[] = {{"event", n->event},
                {"target", n->target},
                {"agency", n->agency},
                {"sender", n->sender},
                {"severity", n->severity},
                {"categories", n->categories},
                {"status", n->status},
                {"alert", n->alert},
                {"link", n->link},
                {"name", n->name},
                {"to", n->to}};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        if (strlen(vars[i].name) == len && strncmp(vars[i].name, name, len) == 0) {
            return vars[i].value != NULL ? vars[i].value : "";
        }
    }
    if (len == 3 && strncmp(name, "tag", 3) == 0) {
        bool actual = n->status == NULL || strcmp(n->status, "actual") == 0;
        snprintf(scratch, scratch_len, "%s%s%s", actual ? "" : "[", actual ? "" : n->status,
                 actual ? "" : "] ");
        for (char *p = scratch; *p != '\0'; p++) {
            *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
        }
        return scratch;
    }
    if (len == 5 && strncmp(name, "level", 5) == 0) {
        snprintf(scratch, scratch_len, "%u", (unsigned)n->level);
        return scratch;
    }
    if (len == 8 && strncmp(name, "deadline", 8) == 0) {
        vg_utc_format(scratch, scratch_len, n->deadline_ms);
        return scratch;
    }
    if (len == 7 && strncmp(name, "summary", 7) == 0) {
        s_summary(scratch, scratch_len, n);
        return scratch;
    }
    return NULL;
}

bool
vg_notice_render(char *out, size_t out_len, const char *tmpl, const vg_notice *n, vg_escape escape)
{
    s_buf b = {out, out_len, 0, false};
    if (out_len > 0) {
        out[0] = '\0';
    }
    for (const char *p = tmpl; *p != '\0'; p++) {
        size_t len = *p == '{' ? strspn(p + 1, "abcdefghijklmnopqrstuvwxyz_") : 0;
        char scratch[512];
        const char *v =
            len > 0 && p[1 + len] == '}' ? s_var(n, p + 1, len, scratch, sizeof scratch) : NULL;
        if (v == NULL) { /* a brace that is text (a JSON template's) */
            s_ch(&b, *p);
            continue;
        }
        s_value(&b, v, escape);
        p += len + 1;
    }
    return !b.cut;
}

vg_escape
vg_escape_for(const char *content_type)
{
    if (content_type != NULL && strstr(content_type, "json") != NULL) {
        return VG_ESCAPE_JSON;
    }
    if (content_type != NULL && strstr(content_type, "x-www-form-urlencoded") != NULL) {
        return VG_ESCAPE_FORM;
    }
    return VG_ESCAPE_TEXT;
}

void
vg_console_link(char *out, size_t out_len, const char *console, const char *alert_hex)
{
    size_t n = strlen(console);
    snprintf(out, out_len, "%s%s#/alert/%s", console, n > 0 && console[n - 1] == '/' ? "" : "/",
             alert_hex);
}
