/*
 * console_view.h — the full-screen console (ncurses): header with the sync
 * state and counts, the outstanding list with its ack matrix, the live
 * feed, the detail view, help, prompts for actions and filters.
 *
 * Layout (80x24 upwards; smaller terminals get a notice with the sync
 * state, never a blank or an "all clear"): row 0 who and where, row 1 the
 * sync banner (LIVE / STALE / NO DATA with reason and since when) and the
 * counts, row 2 the filter and attention, row 3 column titles, then the
 * list, a feed title and the last events, and the bottom row for keys,
 * prompts and results. Everything is redrawn from the model on each call,
 * so a resize (KEY_RESIZE) only needs a redraw.
 *
 * Cells and severities carry text marks as well as colour, so the screen
 * reads the same on a monochrome terminal. Alert text is sanitised before
 * it reaches the terminal.
 *
 * Owns: the curses screen between open and close. Never talks to the
 * broker: actions come back to the caller as vgc_action. One thread.
 */
#ifndef VIGIL_AGENTS_CONSOLE_VIEW_H
#define VIGIL_AGENTS_CONSOLE_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "console_link.h"
#include "console_model.h"

#define VGC_MIN_COLS 80 /* the smallest screen the full layout needs */
#define VGC_MIN_ROWS 24
#define VGC_MESSAGE_MS 15000  /* how long an action's result stays on the bottom row */
#define VGC_ATTENTION_MS 8000 /* how long the attention line stays highlighted */

typedef struct vgc_view vgc_view;

/* Who the console is, for the header. Strings are copied. */
typedef struct vgc_view_info {
    const char *agency;   /* this agency */
    const char *role;     /* its role in the network document */
    const char *endpoint; /* the broker */
    bool oversight;       /* an oversight console */
    const char *share_to; /* comma-separated agencies one may share with (prompt hint) */
} vgc_view_info;

/* Starts curses (the caller has called setlocale). VG_ERR_IO when the
 * terminal cannot be used (not a terminal, unknown TERM). Close with
 * vgc_view_close. */
vg_err vgc_view_open(vgc_view **out, const vgc_view_info *info) VG_MUST_USE;

/* Ends curses and frees the view; NULL-safe; sets *v_p = NULL. */
void vgc_view_close(vgc_view **v_p);

/* Draws the whole screen; rings the bell and flashes once per new
 * attention in the model. */
void vgc_view_draw(vgc_view *v, const vgc_model *m, int64_t now_ms);

/* The broker the console is live with now (the header names it: with
 * several brokers the agent follows the leader, docs/ha.md). */
void vgc_view_set_broker(vgc_view *v, const char *endpoint);

/* The next key, or -1 when none is waiting (never blocks). */
int vgc_view_key(vgc_view *v);

/* Handles one key. Returns true when *act holds an action for the caller
 * to carry out (then vgc_view_result with what happened). */
bool vgc_view_handle(vgc_view *v, int key, const vgc_model *m, int64_t now_ms, vgc_action *act);

/* Shows an action's result on the bottom row. */
void vgc_view_result(vgc_view *v, const char *msg, bool ok, int64_t now_ms);

/* True once the officer asked to quit. */
bool vgc_view_quit(const vgc_view *v);

#endif
