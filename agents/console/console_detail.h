/*
 * console_detail.h — the text of the detail view (one alert as this agency
 * may see it: content, each agency's timeline with officer and note, share
 * history, linked alerts) and of the help screen, as styled lines wrapped
 * to a width. No curses here: the view paints the lines, tests read them.
 *
 * Owns: the lines it builds (vgc_lines_fini). Text is sanitised. One thread.
 */
#ifndef VIGIL_AGENTS_CONSOLE_DETAIL_H
#define VIGIL_AGENTS_CONSOLE_DETAIL_H

#include <stddef.h>
#include <stdint.h>

#include "console_model.h"

#define VGC_LINKED_MAX 20 /* linked alerts listed in a detail view */

/* How a line is painted (colour and attributes are the view's business). */
typedef enum vgc_style {
    VGC_STYLE_NORMAL = 0,
    VGC_STYLE_TITLE = 1, /* a section title */
    VGC_STYLE_BAD = 2,   /* overdue, declined, sealed */
    VGC_STYLE_GOOD = 3,  /* acknowledged */
    VGC_STYLE_WARN = 4,  /* delivered, in progress, pending */
} vgc_style;

typedef struct vgc_line {
    vgc_style style; /* how to paint it */
    char *text;      /* sanitised, at most the width in characters (owned) */
} vgc_line;

typedef struct vgc_lines {
    vgc_line *items; /* lines (owned) */
    size_t n;        /* count */
    size_t cap;      /* allocated */
} vgc_lines;

/* Frees the lines; leaves l zeroed. */
void vgc_lines_fini(vgc_lines *l);

/* Builds the detail view of a (held by m) for a screen `width` characters
 * wide (>= 20). VG_ERR_NOMEM (l is then freed). */
vg_err vgc_detail_build(vgc_lines *l, const vgc_model *m, const vgc_alert *a, size_t width,
                        int64_t now_ms) VG_MUST_USE;

/* Builds the help screen: keys, cells, sync states. */
vg_err vgc_help_build(vgc_lines *l, size_t width) VG_MUST_USE;

#endif
