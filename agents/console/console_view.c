/*
 * console_view.c — the curses screen: header, list, feed, bottom row, and
 * the detail and help screens (see console_view.h). Keys and prompts are
 * in console_keys.c.
 */
#define NCURSES_WIDECHAR 1

#include "console_view_internal.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define S_PUT_MAX 1024 /* wide characters drawn per call */
#define S_SENDER_COLS 11
#define S_CATS_COLS 14
#define S_DUE_COLS 11
#define S_MATRIX_MIN 12

enum {
    S_PAIR_RED = 1,
    S_PAIR_YELLOW = 2,
    S_PAIR_GREEN = 3,
    S_PAIR_CYAN = 4,
    S_PAIR_NODATA = 5,
    S_PAIR_STALE = 6,
    S_PAIR_LIVE = 7,
    S_PAIR_MARK = 8, /* EXERCISE / TEST before a headline */
};

/* ---- open / close -------------------------------------------------------------------- */

static void
s_colours(vgc_view *v)
{
    v->colour = has_colors();
    if (!v->colour) {
        return;
    }
    start_color();
    use_default_colors();
    init_pair(S_PAIR_RED, COLOR_RED, -1);
    init_pair(S_PAIR_YELLOW, COLOR_YELLOW, -1);
    init_pair(S_PAIR_GREEN, COLOR_GREEN, -1);
    init_pair(S_PAIR_CYAN, COLOR_CYAN, -1);
    init_pair(S_PAIR_NODATA, COLOR_WHITE, COLOR_RED);
    init_pair(S_PAIR_STALE, COLOR_BLACK, COLOR_YELLOW);
    init_pair(S_PAIR_LIVE, COLOR_BLACK, COLOR_GREEN);
    init_pair(S_PAIR_MARK, COLOR_BLACK, COLOR_YELLOW);
}

vg_err
vgc_view_open(vgc_view **out, const vgc_view_info *info)
{
    vgc_view *v = calloc(1, sizeof *v);
    if (v == NULL) {
        return VG_ERR_NOMEM;
    }
    snprintf(v->agency, sizeof v->agency, "%s", info->agency);
    snprintf(v->role, sizeof v->role, "%s", info->role ? info->role : "");
    snprintf(v->endpoint, sizeof v->endpoint, "%s", info->endpoint ? info->endpoint : "");
    snprintf(v->share_to, sizeof v->share_to, "%s", info->share_to ? info->share_to : "");
    v->oversight = info->oversight;
    v->screen = VGC_SCREEN_LIST;
    if (newterm(NULL, stdout, stdin) == NULL) {
        free(v);
        return VG_ERR_IO;
    }
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(50);
    curs_set(0);
    s_colours(v);
    *out = v;
    return VG_OK;
}

void
vgc_view_close(vgc_view **v_p)
{
    if (v_p == NULL || *v_p == NULL) {
        return;
    }
    vgc_view *v = *v_p;
    endwin();
    delscreen(set_term(NULL));
    free(v->rows);
    free(v);
    *v_p = NULL;
}

bool
vgc_view_quit(const vgc_view *v)
{
    return v->quit;
}

int
vgc_view_key(vgc_view *v)
{
    (void)v;
    int ch = getch();
    return ch == ERR ? -1 : ch;
}

void
vgc_view_result(vgc_view *v, const char *msg, bool ok, int64_t now_ms)
{
    vgc_sanitize(v->message, sizeof v->message, msg);
    v->message_ok = ok;
    v->message_ms = now_ms;
}

/* ---- drawing helpers ------------------------------------------------------------------ */

attr_t
vgc_view_attr(const vgc_view *v, int pair, attr_t mono)
{
    return v->colour ? (attr_t)COLOR_PAIR(pair) : mono;
}

int
vgc_view_put(int y, int x, int width, attr_t attr, const char *text)
{
    if (width <= 0 || y < 0 || y >= LINES || x >= COLS) {
        return 0;
    }
    wchar_t buf[S_PUT_MAX];
    mbstate_t st;
    memset(&st, 0, sizeof st);
    int cols = 0;
    size_t n = 0;
    for (const char *p = text; *p != '\0' && n < S_PUT_MAX;) {
        wchar_t wc;
        size_t k = mbrtowc(&wc, p, strlen(p), &st);
        if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
            wc = L'?';
            k = 1;
            memset(&st, 0, sizeof st);
        }
        int w = wcwidth(wc);
        if (w < 0) {
            wc = L'?';
            w = 1;
        }
        if (cols + w > width) {
            break;
        }
        buf[n++] = wc;
        cols += w;
        p += k;
    }
    attron(attr);
    mvaddnwstr(y, x, buf, (int)n);
    attroff(attr);
    return cols;
}

/* Puts text and pads with spaces to width (for highlighted bars). */
static void
s_put_pad(int y, int x, int width, attr_t attr, const char *text)
{
    int cols = vgc_view_put(y, x, width, attr, text);
    attron(attr);
    for (int i = cols; i < width; i++) {
        mvaddch(y, x + i, ' ');
    }
    attroff(attr);
}

static attr_t
s_style_attr(const vgc_view *v, vgc_style s)
{
    switch (s) {
    case VGC_STYLE_TITLE:
        return A_BOLD | vgc_view_attr(v, S_PAIR_CYAN, A_UNDERLINE);
    case VGC_STYLE_BAD:
        return A_BOLD | vgc_view_attr(v, S_PAIR_RED, 0);
    case VGC_STYLE_GOOD:
        return vgc_view_attr(v, S_PAIR_GREEN, 0);
    case VGC_STYLE_WARN:
        return vgc_view_attr(v, S_PAIR_YELLOW, 0);
    default:
        return A_NORMAL;
    }
}

static attr_t
s_cell_attr(const vgc_view *v, vgc_cell c)
{
    switch (c) {
    case VGC_CELL_OVERDUE:
    case VGC_CELL_DECLINED:
    case VGC_CELL_UNOPENABLE:
        return A_BOLD | vgc_view_attr(v, S_PAIR_RED, A_REVERSE);
    case VGC_CELL_ACKNOWLEDGED:
        return vgc_view_attr(v, S_PAIR_GREEN, 0);
    case VGC_CELL_PENDING:
        return A_NORMAL;
    default:
        return vgc_view_attr(v, S_PAIR_YELLOW, 0);
    }
}

/* ---- header ------------------------------------------------------------------------------ */

void
vgc_view_set_broker(vgc_view *v, const char *endpoint)
{
    snprintf(v->endpoint, sizeof v->endpoint, "%s", endpoint != NULL ? endpoint : "");
}

static void
s_draw_title(const vgc_view *v, int64_t now_ms)
{
    char line[512], clock[16];
    snprintf(line, sizeof line, " vigil console | %s (%s)%s | broker %s", v->agency, v->role,
             v->oversight ? " oversight: every alert" : "", v->endpoint);
    vgc_format_clock(clock, sizeof clock, now_ms);
    attr_t bar = A_REVERSE;
    s_put_pad(0, 0, COLS, bar, line);
    char right[32];
    snprintf(right, sizeof right, " %s UTC ", clock);
    vgc_view_put(0, COLS - (int)strlen(right), (int)strlen(right), bar | A_BOLD, right);
}

static void
s_draw_sync(const vgc_view *v, const vgc_model *m, int64_t now_ms)
{
    static const int pairs[] = {S_PAIR_NODATA, S_PAIR_STALE, S_PAIR_LIVE};
    char tag[32], text[1024], since[16], ago[16];
    snprintf(tag, sizeof tag, " %s ", vgc_sync_name(m->sync));
    attr_t tag_attr = A_BOLD | vgc_view_attr(v, pairs[m->sync], A_REVERSE);
    int x = vgc_view_put(1, 0, COLS, tag_attr, tag);
    vgc_format_clock(since, sizeof since, m->sync_since_ms);
    vgt_format_span(ago, sizeof ago, now_ms - m->sync_since_ms);
    if (m->sync == VGC_SYNC_LIVE) {
        snprintf(text, sizeof text, " in step with the broker since %s (event #%llu)", since,
                 (unsigned long long)m->last_seq);
        vgc_view_put(1, x, COLS - x, A_NORMAL, text);
        return;
    }
    snprintf(text, sizeof text, " %s -- since %s (%s ago)%s", m->sync_reason, since, ago,
             m->has_snapshot ? "; the list may be out of date" : "");
    s_put_pad(1, x, COLS - x, tag_attr, text);
}

static void
s_draw_status(const vgc_view *v, const vgc_model *m, int64_t now_ms)
{
    size_t n_open, n_over, n_esc;
    vgc_model_counts(m, now_ms, &n_open, &n_over, &n_esc);
    char counts[128];
    size_t n_ex = vgc_model_n_exercises(m);
    snprintf(counts, sizeof counts, " open %zu  overdue %zu  escalated %zu ", n_open, n_over,
             n_esc);
    if (n_ex > 0) {
        size_t used = strlen(counts);
        snprintf(counts + used, sizeof counts - used, "(%zu EXERCISE/TEST) ", n_ex);
    }
    attr_t count_attr = n_over > 0 ? A_BOLD | vgc_view_attr(v, S_PAIR_RED, A_REVERSE) : A_BOLD;
    int x = vgc_view_put(2, 0, COLS, count_attr, counts);
    if (now_ms < v->attention_until) {
        char att[VGC_ATTENTION_LEN + 16];
        snprintf(att, sizeof att, " !! %s !! ", m->attention);
        s_put_pad(2, x + 1, COLS - x - 1, A_BOLD | vgc_view_attr(v, S_PAIR_NODATA, A_REVERSE), att);
        return;
    }
    char rest[512], filt[256];
    vgc_filter_describe(filt, sizeof filt, &v->filter);
    snprintf(rest, sizeof rest, "| filter: %s", filt);
    for (size_t i = 0; i < m->n_offline; i++) {
        size_t used = strlen(rest);
        snprintf(rest + used, sizeof rest - used, "%s%s (%u waiting)",
                 i == 0 ? " | OFFLINE: " : ", ", m->offline[i], m->offline_waiting[i]);
    }
    vgc_view_put(2, x + 1, COLS - x - 1, m->n_offline ? A_BOLD : A_NORMAL, rest);
}

/* ---- list -------------------------------------------------------------------------------- */

typedef struct s_cols {
    int head_x, head_w; /* headline */
    int cats_x;         /* categories */
    int matrix_x, matrix_w;
    int due_x;
} s_cols;

static s_cols
s_layout(vgc_alert **rows, size_t n, int64_t now_ms)
{
    int mw = S_MATRIX_MIN;
    for (size_t i = 0; i < n; i++) {
        char mx[512];
        vgc_alert_matrix(mx, sizeof mx, rows[i], now_ms);
        mw = (int)strlen(mx) > mw ? (int)strlen(mx) : mw;
    }
    mw = mw > COLS / 3 ? COLS / 3 : mw;
    s_cols c;
    c.due_x = COLS - S_DUE_COLS;
    c.matrix_w = mw;
    c.matrix_x = c.due_x - 1 - mw;
    c.cats_x = c.matrix_x - 1 - S_CATS_COLS;
    c.head_x = 3 + 5 + S_SENDER_COLS + 1;
    c.head_w = c.cats_x - 1 - c.head_x;
    return c;
}

static const char *
s_sev_tag(vg_severity s)
{
    static const char *const tags[] = {"????", "LOW ", "MED ", "HIGH", "CRIT"};
    return (unsigned)s < sizeof tags / sizeof tags[0] ? tags[s] : "????";
}

static void
s_draw_matrix(const vgc_view *v, int y, const s_cols *c, const vgc_alert *a, int64_t now_ms)
{
    int x = c->matrix_x;
    for (size_t i = 0; i < a->n_recipients; i++) {
        const vgc_recipient *r = &a->recipients[i];
        if (!r->required) {
            continue;
        }
        vgc_cell cell = vgc_cell_of(r, now_ms);
        char text[VGC_CELL_LEN];
        vgc_cell_render(text, r->agency, cell);
        int w = (int)strlen(text);
        if (x + w > c->matrix_x + c->matrix_w) {
            vgc_view_put(y, x, 1, A_BOLD, "+"); /* more cells than fit: see the detail view */
            return;
        }
        vgc_view_put(y, x, w, s_cell_attr(v, cell), text);
        x += w + 1;
    }
}

static void
s_draw_row(const vgc_view *v, int y, const s_cols *c, const vgc_alert *a, bool sel,
           const vgc_model *m, int64_t now_ms)
{
    bool late = vgc_alert_is_overdue(a, now_ms);
    attr_t base = late ? A_BOLD : A_NORMAL;
    char mark[4] = {sel ? '>' : ' ', vgc_alert_awaits(a, m->me) ? '*' : ' ', ' ', '\0'};
    vgc_view_put(y, 0, 3, A_BOLD, mark);
    attr_t sev = a->severity == VG_SEV_CRITICAL ? A_BOLD | vgc_view_attr(v, S_PAIR_RED, A_REVERSE)
                 : a->severity == VG_SEV_HIGH   ? A_BOLD | vgc_view_attr(v, S_PAIR_YELLOW, 0)
                                                : base;
    vgc_view_put(y, 3, 4, sev, s_sev_tag(a->severity));
    char text[1024];
    vgc_sanitize(text, sizeof text, a->sender);
    vgc_view_put(y, 8, S_SENDER_COLS, base, text);
    char title[1024];
    vgc_alert_title(title, sizeof title, a);
    vgc_sanitize(text, sizeof text, title);
    attr_t head = (sel ? A_REVERSE : 0) | (a->has_content ? base : base | A_DIM);
    s_put_pad(y, c->head_x, c->head_w, head, text);
    const char *status_mark = vgc_alert_mark(a); /* the word is the mark; the attribute helps */
    if (status_mark != NULL) {
        vgc_view_put(y, c->head_x, c->head_w, A_BOLD | vgc_view_attr(v, S_PAIR_MARK, A_REVERSE),
                     status_mark);
    }
    vg_strlist_join(text, sizeof text, &a->categories, ",");
    char clean[1024];
    vgc_sanitize(clean, sizeof clean, text);
    vgc_view_put(y, c->cats_x, S_CATS_COLS, base, clean);
    s_draw_matrix(v, y, c, a, now_ms);
    char due[32];
    vgc_format_due(due, sizeof due, a, now_ms);
    attr_t due_attr = late ? A_BOLD | vgc_view_attr(v, S_PAIR_RED, 0) : base;
    vgc_view_put(y, c->due_x + S_DUE_COLS - (int)strlen(due), S_DUE_COLS, due_attr, due);
}

/* What the list says when it has no rows: never "all clear" out of touch. */
static void
s_draw_empty(const vgc_view *v, const vgc_model *m, int y, size_t n_hidden)
{
    char text[1024];
    attr_t attr = A_BOLD;
    if (m->sync != VGC_SYNC_LIVE) {
        snprintf(text, sizeof text, "   %s: cannot say what is outstanding for %s -- %s",
                 vgc_sync_name(m->sync), m->me, m->sync_reason);
        attr |= vgc_view_attr(v, S_PAIR_RED, A_REVERSE);
    } else if (n_hidden > 0) {
        snprintf(text, sizeof text, "   No alert matches the filter (%zu outstanding; c clears it)",
                 n_hidden);
    } else {
        snprintf(text, sizeof text, "   Nothing outstanding for %s (live).", m->me);
        attr = vgc_view_attr(v, S_PAIR_GREEN, A_BOLD);
    }
    vgc_view_put(y, 0, COLS, attr, text);
}

static void
s_draw_list(vgc_view *v, const vgc_model *m, int64_t now_ms, int top, int height)
{
    size_t n = vgc_view_rows(v, m, now_ms);
    s_cols c = s_layout(v->rows, n, now_ms);
    char title[256];
    snprintf(title, sizeof title, "   %-4s %-*s %-*s", "SEV", S_SENDER_COLS, "FROM", c.head_w,
             "HEADLINE");
    s_put_pad(top, 0, COLS, A_UNDERLINE, title);
    vgc_view_put(top, c.cats_x, S_CATS_COLS, A_UNDERLINE, "CATEGORIES");
    vgc_view_put(top, c.matrix_x, c.matrix_w, A_UNDERLINE, "ACKS");
    vgc_view_put(top, c.due_x + S_DUE_COLS - 8, 8, A_UNDERLINE, "DEADLINE");
    int rows = height - 1;
    if (n == 0) {
        size_t n_open, n_over, n_esc;
        vgc_model_counts(m, now_ms, &n_open, &n_over, &n_esc);
        s_draw_empty(v, m, top + 1, n_open);
        return;
    }
    vgc_view_scroll(v, rows);
    for (int i = 0; i < rows && (size_t)(v->list_top + i) < n; i++) {
        size_t idx = (size_t)(v->list_top + i);
        s_draw_row(v, top + 1 + i, &c, v->rows[idx], idx == v->sel_index, m, now_ms);
    }
    if ((size_t)(v->list_top + rows) < n) {
        char more[64];
        snprintf(more, sizeof more, " %zu more below ", n - (size_t)(v->list_top + rows));
        vgc_view_put(top + height - 1, COLS - (int)strlen(more), (int)strlen(more), A_REVERSE,
                     more);
    }
}

static attr_t
s_feed_attr(const vgc_view *v, vga_event_kind k)
{
    switch (k) {
    case VGA_EV_OVERDUE:
    case VGA_EV_ESCALATED:
    case VGA_EV_REPEAT_WARNING:
    case VGA_EV_UNWITNESSED:
    case VGA_EV_DECLINED:
    case VGA_EV_UNOPENABLE:
    case VGA_EV_AGENCY_OFFLINE:
    case VGA_EV_REJECTED:
        return A_BOLD | vgc_view_attr(v, S_PAIR_RED, 0);
    case VGA_EV_ACKNOWLEDGED:
    case VGA_EV_COMPLETE:
        return vgc_view_attr(v, S_PAIR_GREEN, 0);
    default:
        return A_NORMAL;
    }
}

static void
s_draw_feed(const vgc_view *v, const vgc_model *m, int top, int height)
{
    s_put_pad(top, 0, COLS, A_UNDERLINE, "   LIVE FEED (newest first)");
    for (int i = 0; i < height - 1; i++) {
        const vga_event *e = vgc_model_feed_at(m, (size_t)i);
        if (e == NULL) {
            if (i == 0) {
                vgc_view_put(top + 1, 3, COLS - 3, A_DIM, "no events yet");
            }
            break;
        }
        char line[768];
        vgc_event_format(line, sizeof line, m, e);
        vgc_view_put(top + 1 + i, 1, COLS - 1, s_feed_attr(v, e->kind), line);
    }
}

/* ---- detail and help ----------------------------------------------------------------------- */

static void
s_draw_lines(vgc_view *v, const vgc_lines *l, int top, int height)
{
    int max_top = (int)l->n - height;
    v->detail_top = v->detail_top > max_top ? max_top : v->detail_top;
    v->detail_top = v->detail_top < 0 ? 0 : v->detail_top;
    for (int i = 0; i < height && (size_t)(v->detail_top + i) < l->n; i++) {
        const vgc_line *ln = &l->items[v->detail_top + i];
        vgc_view_put(top + i, 1, COLS - 1, s_style_attr(v, ln->style), ln->text);
    }
    if (v->detail_top + height < (int)l->n) {
        vgc_view_put(top + height - 1, COLS - 8, 8, A_REVERSE, " more v ");
    }
}

static void
s_draw_detail(vgc_view *v, const vgc_model *m, int64_t now_ms, int top, int height)
{
    vgc_alert *a = v->has_sel ? vgc_model_find(m, v->sel) : NULL;
    if (a == NULL) {
        vgc_view_put(top, 1, COLS - 1, A_BOLD, "This alert is no longer held. Esc goes back.");
        return;
    }
    vgc_lines l;
    if (vgc_detail_build(&l, m, a, (size_t)COLS - 2, now_ms) != VG_OK) {
        vgc_view_put(top, 1, COLS - 1, A_BOLD, "Out of memory building the detail view.");
        return;
    }
    s_draw_lines(v, &l, top, height);
    vgc_lines_fini(&l);
}

static void
s_draw_help(vgc_view *v, int top, int height)
{
    vgc_lines l;
    if (vgc_help_build(&l, (size_t)COLS - 2) == VG_OK) {
        s_draw_lines(v, &l, top, height);
        vgc_lines_fini(&l);
    }
}

/* ---- bottom row and the whole screen ----------------------------------------------------------
 */

static const char *
s_hints(const vgc_view *v)
{
    switch (v->screen) {
    case VGC_SCREEN_DETAIL:
        return " Esc back  Up/Down scroll  a ack  p in progress  d decline  s share  ? help  q "
               "quit";
    case VGC_SCREEN_HELP:
        return " any key: back   q quit";
    default:
        return " Enter detail  a ack  p progress  d decline  s share  o overdue  v sev  / search  "
               "? help  q quit";
    }
}

static void
s_draw_bottom(const vgc_view *v, int64_t now_ms)
{
    int y = LINES - 1;
    if (v->prompt != VGC_PROMPT_NONE) {
        char line[VGC_LABEL_LEN + VGC_TEXT_MAX + 8];
        snprintf(line, sizeof line, " %s: %s_", v->label, v->input);
        s_put_pad(y, 0, COLS, A_BOLD | A_REVERSE, line);
        return;
    }
    if (v->message[0] != '\0' && now_ms - v->message_ms < VGC_MESSAGE_MS) {
        char line[600];
        snprintf(line, sizeof line, " %s", v->message);
        attr_t attr = A_BOLD | (v->message_ok ? vgc_view_attr(v, S_PAIR_GREEN, 0)
                                              : vgc_view_attr(v, S_PAIR_RED, A_REVERSE));
        s_put_pad(y, 0, COLS, attr, line);
        return;
    }
    s_put_pad(y, 0, COLS, A_REVERSE, s_hints(v));
}

static void
s_draw_small(const vgc_model *m, int64_t now_ms)
{
    char line[1024];
    size_t n_open, n_over, n_esc;
    vgc_model_counts(m, now_ms, &n_open, &n_over, &n_esc);
    snprintf(line, sizeof line, "%s %s", vgc_sync_name(m->sync), m->sync_reason);
    vgc_view_put(0, 0, COLS, A_BOLD | A_REVERSE, line);
    snprintf(line, sizeof line, "open %zu overdue %zu escalated %zu", n_open, n_over, n_esc);
    vgc_view_put(1, 0, COLS, A_BOLD, line);
    snprintf(line, sizeof line, "Terminal %dx%d: enlarge to at least %dx%d (q quits)", COLS, LINES,
             VGC_MIN_COLS, VGC_MIN_ROWS);
    vgc_view_put(2, 0, COLS, A_NORMAL, line);
}

void
vgc_view_draw(vgc_view *v, const vgc_model *m, int64_t now_ms)
{
    if (m->attention_gen != v->attention_seen) {
        v->attention_seen = m->attention_gen;
        v->attention_until = now_ms + VGC_ATTENTION_MS;
        beep();
        flash();
    }
    erase();
    if (COLS < VGC_MIN_COLS || LINES < VGC_MIN_ROWS) {
        s_draw_small(m, now_ms);
        refresh();
        return;
    }
    s_draw_title(v, now_ms);
    s_draw_sync(v, m, now_ms);
    s_draw_status(v, m, now_ms);
    int body = LINES - 4;
    if (v->screen == VGC_SCREEN_LIST) {
        int feed = LINES >= 34 ? 10 : LINES >= 28 ? 7 : 5;
        s_draw_list(v, m, now_ms, 3, body - feed);
        s_draw_feed(v, m, 3 + body - feed, feed);
    } else if (v->screen == VGC_SCREEN_DETAIL) {
        s_draw_detail(v, m, now_ms, 3, body);
    } else {
        s_draw_help(v, 3, body);
    }
    s_draw_bottom(v, now_ms);
    refresh();
}
