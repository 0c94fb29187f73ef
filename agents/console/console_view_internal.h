/*
 * console_view_internal.h — what console_view.c (drawing) and
 * console_keys.c (keys, prompts, selection) share. Internal to the view.
 */
#ifndef VIGIL_AGENTS_CONSOLE_VIEW_INTERNAL_H
#define VIGIL_AGENTS_CONSOLE_VIEW_INTERNAL_H

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <curses.h>
#include <stdio.h>

#include "console_detail.h"
#include "console_view.h"

#define VGC_LABEL_LEN 700 /* a prompt's question */

typedef enum vgc_screen {
    VGC_SCREEN_LIST = 0,   /* header, outstanding list, feed */
    VGC_SCREEN_DETAIL = 1, /* one alert */
    VGC_SCREEN_HELP = 2,   /* keys and legend */
} vgc_screen;

typedef enum vgc_prompt {
    VGC_PROMPT_NONE = 0,
    VGC_PROMPT_OFFICER = 1, /* acknowledge: officer's name */
    VGC_PROMPT_NOTE = 2,    /* acknowledge: note */
    VGC_PROMPT_REASON = 3,  /* in progress, decline, share: reason */
    VGC_PROMPT_AGENCY = 4,  /* share: with whom */
    VGC_PROMPT_SEARCH = 5,  /* free-text filter */
} vgc_prompt;

struct vgc_view {
    char agency[VGC_ID_LEN];      /* this agency */
    char role[VGC_ID_LEN];        /* its role */
    char endpoint[256];           /* the broker */
    char share_to[512];           /* agencies for the share prompt */
    bool oversight;               /* oversight console */
    bool colour;                  /* the terminal has colours */
    vgc_screen screen;            /* what is shown */
    vgc_filter filter;            /* list filters */
    uint8_t sel[VG_ALERT_ID_LEN]; /* the selected alert */
    bool has_sel;                 /* sel is set */
    size_t sel_index;             /* its row (kept when it leaves the list) */
    int list_top;                 /* first list row shown */
    int detail_top;               /* first detail/help line shown */
    vgc_prompt prompt;            /* the prompt being answered */
    char label[VGC_LABEL_LEN];    /* its question */
    char input[VGC_TEXT_MAX];     /* the answer so far */
    vgc_action pending;           /* the action the prompts are filling */
    char officer[VGC_TEXT_MAX];   /* the last officer name (offered again) */
    char message[512];            /* the last result */
    bool message_ok;              /* it was a success */
    int64_t message_ms;           /* when */
    uint64_t attention_seen;      /* model attention already rung */
    int64_t attention_until;      /* attention line highlighted until */
    bool quit;                    /* q was pressed */
    vgc_alert **rows;             /* the list as last computed (borrowed pointers) */
    size_t cap_rows;              /* allocated */
};

/* Recomputes v->rows (filtered, in screen order) and keeps the selection
 * on the same alert, or on the same row when it left; returns the count. */
size_t vgc_view_rows(vgc_view *v, const vgc_model *m, int64_t now_ms);

/* Moves list_top so the selected row is within `rows` visible rows. */
void vgc_view_scroll(vgc_view *v, int rows);

/* Draws text at (y, x) in at most width columns (UTF-8 aware); returns the
 * columns used. */
int vgc_view_put(int y, int x, int width, attr_t attr, const char *text);

/* A colour pair when the terminal has colours, else the mono attribute. */
attr_t vgc_view_attr(const vgc_view *v, int pair, attr_t mono);

#endif
