/*
 * console_keys.c — keys, selection and the prompts that fill an action or
 * a filter (see console_view.h).
 */
#include "console_view_internal.h"

#include <stdlib.h>
#include <string.h>

#define S_KEY_ESC 27
#define S_KEY_CTRL_U 21
#define S_PAGE_ROWS 10

/* ---- selection --------------------------------------------------------------------------- */

size_t
vgc_view_rows(vgc_view *v, const vgc_model *m, int64_t now_ms)
{
    if (v->cap_rows < m->n_alerts || v->rows == NULL) {
        size_t cap = m->n_alerts > 16 ? m->n_alerts : 16;
        vgc_alert **n = realloc(v->rows, cap * sizeof *n);
        if (n == NULL) {
            return 0;
        }
        v->rows = n;
        v->cap_rows = cap;
    }
    size_t n = vgc_model_list(m, &v->filter, now_ms, v->rows, v->cap_rows);
    n = n > v->cap_rows ? v->cap_rows : n;
    for (size_t i = 0; v->has_sel && i < n; i++) {
        if (memcmp(v->rows[i]->id, v->sel, VG_ALERT_ID_LEN) == 0) {
            v->sel_index = i;
            return n;
        }
    }
    if (n == 0) {
        v->has_sel = v->screen == VGC_SCREEN_DETAIL && v->has_sel; /* keep what is shown */
        return 0;
    }
    if (v->screen == VGC_SCREEN_DETAIL && v->has_sel) {
        return n; /* the shown alert left the list (e.g. complete): keep showing it */
    }
    v->sel_index = v->sel_index >= n ? n - 1 : v->sel_index;
    memcpy(v->sel, v->rows[v->sel_index]->id, VG_ALERT_ID_LEN);
    v->has_sel = true;
    return n;
}

void
vgc_view_scroll(vgc_view *v, int rows)
{
    int sel = (int)v->sel_index;
    if (sel < v->list_top) {
        v->list_top = sel;
    } else if (rows > 0 && sel >= v->list_top + rows) {
        v->list_top = sel - rows + 1;
    }
    v->list_top = v->list_top < 0 ? 0 : v->list_top;
}

static void
s_move(vgc_view *v, const vgc_model *m, int64_t now_ms, long delta)
{
    size_t n = vgc_view_rows(v, m, now_ms);
    if (n == 0) {
        return;
    }
    long i = (long)v->sel_index + delta;
    i = i < 0 ? 0 : i >= (long)n ? (long)n - 1 : i;
    v->sel_index = (size_t)i;
    memcpy(v->sel, v->rows[i]->id, VG_ALERT_ID_LEN);
    v->has_sel = true;
}

/* ---- prompts ---------------------------------------------------------------------------- */

static void
s_ask(vgc_view *v, vgc_prompt p, const char *label, const char *initial)
{
    v->prompt = p;
    vgc_strcpy(v->label, sizeof v->label, label);
    vgc_strcpy(v->input, sizeof v->input, initial ? initial : "");
    curs_set(1);
}

static void
s_prompt_end(vgc_view *v)
{
    v->prompt = VGC_PROMPT_NONE;
    v->input[0] = '\0';
    curs_set(0);
}

static void
s_say(vgc_view *v, const char *msg, bool ok, int64_t now_ms)
{
    vgc_view_result(v, msg, ok, now_ms);
}

/* Starts an action on the selected alert (checks what can be checked here). */
static void
s_start(vgc_view *v, const vgc_model *m, vgc_action_kind kind, int64_t now_ms)
{
    vgc_alert *a = v->has_sel ? vgc_model_find(m, v->sel) : NULL;
    if (a == NULL) {
        s_say(v, "select an alert first", false, now_ms);
        return;
    }
    if (kind != VGC_ACT_SHARE && vgc_alert_recipient(a, m->me) == NULL) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s is not a recipient of %.8s: only its recipients can %s it",
                 m->me, a->idhex,
                 kind == VGC_ACT_ACK       ? "acknowledge"
                 : kind == VGC_ACT_DECLINE ? "decline"
                                           : "progress");
        s_say(v, msg, false, now_ms);
        return;
    }
    memset(&v->pending, 0, sizeof v->pending);
    v->pending.kind = kind;
    memcpy(v->pending.id, a->id, VG_ALERT_ID_LEN);
    char label[VGC_LABEL_LEN], what[40]; /* "3f2a9c1e", or "EXERCISE 3f2a9c1e" */
    const char *mark = vgc_alert_mark(a);
    snprintf(what, sizeof what, "%s%s%.8s", mark ? mark : "", mark ? " " : "", a->idhex);
    switch (kind) {
    case VGC_ACT_ACK:
        snprintf(label, sizeof label, "Acknowledge %s -- officer's name%s%s%s", what,
                 v->officer[0] ? " [Enter: " : "", v->officer, v->officer[0] ? "]" : "");
        s_ask(v, VGC_PROMPT_OFFICER, label, NULL);
        break;
    case VGC_ACT_PROGRESS:
        snprintf(label, sizeof label, "In progress %s -- reason", what);
        s_ask(v, VGC_PROMPT_REASON, label, NULL);
        break;
    case VGC_ACT_DECLINE:
        snprintf(label, sizeof label, "DECLINE %s -- reason", what);
        s_ask(v, VGC_PROMPT_REASON, label, NULL);
        break;
    default:
        snprintf(label, sizeof label, "Share %s with agency (%s)", what, v->share_to);
        s_ask(v, VGC_PROMPT_AGENCY, label, NULL);
        break;
    }
}

/* The last answer: the action is complete. */
static bool
s_finish(vgc_view *v, int64_t now_ms, vgc_action *act)
{
    vgc_strcpy(v->pending.text, sizeof v->pending.text, v->input);
    *act = v->pending;
    s_prompt_end(v);
    s_say(v, "sending...", true, now_ms);
    return true;
}

/* Enter in a prompt: next question, or the finished action (true). */
static bool
s_submit(vgc_view *v, int64_t now_ms, vgc_action *act)
{
    char label[VGC_LABEL_LEN];
    bool empty = v->input[0] == '\0';
    switch (v->prompt) {
    case VGC_PROMPT_OFFICER:
        if (empty && v->officer[0] != '\0') {
            vgc_strcpy(v->input, sizeof v->input, v->officer); /* the one offered */
            empty = false;
        }
        if (empty) {
            s_say(v, "the officer's name is required", false, now_ms);
            return false;
        }
        vgc_strcpy(v->pending.officer, sizeof v->pending.officer, v->input);
        vgc_strcpy(v->officer, sizeof v->officer, v->input);
        s_ask(v, VGC_PROMPT_NOTE, "Note (optional, Enter to send)", NULL);
        return false;
    case VGC_PROMPT_AGENCY:
        if (empty) {
            s_say(v, "say which agency", false, now_ms);
            return false;
        }
        vgc_strcpy(v->pending.agency, sizeof v->pending.agency, v->input);
        snprintf(label, sizeof label, "Reason for sharing with %s", v->pending.agency);
        s_ask(v, VGC_PROMPT_REASON, label, NULL);
        return false;
    case VGC_PROMPT_REASON:
        if (empty) {
            s_say(v, "a reason is required", false, now_ms);
            return false;
        }
        return s_finish(v, now_ms, act);
    case VGC_PROMPT_NOTE:
        return s_finish(v, now_ms, act);
    case VGC_PROMPT_SEARCH:
        vgc_strcpy(v->filter.text, sizeof v->filter.text, v->input);
        s_prompt_end(v);
        return false;
    default:
        s_prompt_end(v);
        return false;
    }
}

static void
s_backspace(char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        n--;
        bool lead = ((unsigned char)s[n] & 0xc0) != 0x80;
        s[n] = '\0';
        if (lead) {
            return;
        }
    }
}

static bool
s_prompt_key(vgc_view *v, int key, int64_t now_ms, vgc_action *act)
{
    if (key == S_KEY_ESC) {
        s_prompt_end(v);
        s_say(v, "cancelled: nothing sent", true, now_ms);
        return false;
    }
    if (key == '\n' || key == '\r' || key == KEY_ENTER) {
        return s_submit(v, now_ms, act);
    }
    if (key == KEY_BACKSPACE || key == 127 || key == 8) {
        s_backspace(v->input);
    } else if (key == S_KEY_CTRL_U) {
        v->input[0] = '\0';
    } else if (key >= 0x20 && key <= 0xff && key != 0x7f) {
        size_t n = strlen(v->input);
        if (n + 1 < sizeof v->input) {
            v->input[n] = (char)key;
            v->input[n + 1] = '\0';
        }
    }
    return false;
}

/* ---- keys -------------------------------------------------------------------------------- */

static void
s_severity(vgc_view *v, int key)
{
    if (key == 'v') {
        v->filter.min_severity =
            (vg_severity)((v->filter.min_severity + 1) % (VG_SEV_CRITICAL + 1));
    } else {
        v->filter.min_severity = (vg_severity)(key - '0');
    }
}

/* Moving keys: the list selection, or scrolling the detail/help text. */
static bool
s_move_key(vgc_view *v, int key, const vgc_model *m, int64_t now_ms)
{
    long d = key == KEY_UP || key == 'k'      ? -1
             : key == KEY_DOWN || key == 'j'  ? 1
             : key == KEY_PPAGE               ? -S_PAGE_ROWS
             : key == KEY_NPAGE || key == ' ' ? S_PAGE_ROWS
             : key == KEY_HOME || key == 'g'  ? -100000
             : key == KEY_END || key == 'G'   ? 100000
                                              : 0;
    if (d == 0) {
        return false;
    }
    if (v->screen == VGC_SCREEN_LIST) {
        s_move(v, m, now_ms, d);
    } else {
        long top = (long)v->detail_top + d;
        v->detail_top = top < 0 ? 0 : top > 100000 ? 100000 : (int)top;
    }
    return true;
}

static bool
s_list_key(vgc_view *v, int key, const vgc_model *m, int64_t now_ms, vgc_action *act)
{
    switch (key) {
    case '\n':
    case '\r':
    case KEY_ENTER:
    case KEY_RIGHT:
        if (v->screen == VGC_SCREEN_LIST && vgc_view_rows(v, m, now_ms) > 0) {
            v->screen = VGC_SCREEN_DETAIL;
            v->detail_top = 0;
        }
        return false;
    case S_KEY_ESC:
    case KEY_LEFT:
    case KEY_BACKSPACE:
    case 127:
        v->screen = VGC_SCREEN_LIST;
        return false;
    case 'a':
    case 'p':
    case 'd':
    case 's':
        s_start(v, m,
                key == 'a'   ? VGC_ACT_ACK
                : key == 'p' ? VGC_ACT_PROGRESS
                : key == 'd' ? VGC_ACT_DECLINE
                             : VGC_ACT_SHARE,
                now_ms);
        return false;
    case 'r':
        memset(act, 0, sizeof *act);
        act->kind = VGC_ACT_REFRESH;
        return true;
    default:
        break;
    }
    return false;
}

static void
s_filter_key(vgc_view *v, int key)
{
    if (key == 'o') {
        v->filter.overdue_only = !v->filter.overdue_only;
    } else if (key == 'v' || (key >= '0' && key <= '4')) {
        s_severity(v, key);
    } else if (key == '/') {
        s_ask(v, VGC_PROMPT_SEARCH, "Search (Enter applies, empty clears)", v->filter.text);
    } else if (key == 'c') {
        memset(&v->filter, 0, sizeof v->filter);
    }
    v->list_top = 0;
}

bool
vgc_view_handle(vgc_view *v, int key, const vgc_model *m, int64_t now_ms, vgc_action *act)
{
    if (key == KEY_RESIZE) {
        return false; /* the next draw uses the new size */
    }
    if (v->prompt != VGC_PROMPT_NONE) {
        return s_prompt_key(v, key, now_ms, act);
    }
    v->message[0] = '\0';
    if (key == 'q' || key == 'Q') {
        v->quit = true;
        return false;
    }
    if (v->screen == VGC_SCREEN_HELP) {
        v->screen = VGC_SCREEN_LIST;
        return false;
    }
    if (key == '?' || key == 'h') {
        v->screen = VGC_SCREEN_HELP;
        v->detail_top = 0;
        return false;
    }
    if (s_move_key(v, key, m, now_ms)) {
        return false;
    }
    if (v->screen == VGC_SCREEN_LIST && key > 0 && key < 128 && strchr("ov01234/c", key) != NULL) {
        s_filter_key(v, key);
        return false;
    }
    return s_list_key(v, key, m, now_ms, act);
}
