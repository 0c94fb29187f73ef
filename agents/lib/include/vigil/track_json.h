/*
 * vigil/track_json.h — what the broker's tracking says about an alert, as
 * vigil-agent prints it (status --json, outstanding --json, events --json)
 * and the gateway serves it (GET /v1/alerts, GET /v1/events): one JSON form,
 * written in one place. docs/agent.md describes the keys.
 *
 * A view joins an alert's tracking with what this agency worked out about
 * it: its headline when the agency can decrypt it, the earliest deadline of
 * a required agency that has not acknowledged, and whether one is late (the
 * broker's overdue flag, or the deadline by this host's clock).
 *
 * Owns nothing between calls; the views borrow the status they were made
 * from. Thread rules: as vigil/agent.h (views are made with an agent).
 */
#ifndef VIGIL_AGENTS_TRACK_JSON_H
#define VIGIL_AGENTS_TRACK_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/agent.h"

typedef struct vga_status_view {
    const vga_alert_status *st; /* the broker's tracking (borrowed) */
    char *headline;             /* decrypted headline, NULL when sealed; owned */
    int64_t open_deadline_ms;   /* earliest deadline not met, 0 = none */
    bool late;                  /* a required agency is overdue */
} vga_status_view;

/* A required recipient that has not acknowledged and is past its deadline
 * (the broker's flag, or its deadline by now_ms). */
bool vga_recipient_is_late(const vga_recipient_status *r, int64_t now_ms);

/* Fills v for st (opening the alert with a when st carries its envelope).
 * Out of memory leaves the headline NULL ("sealed"). */
void vga_status_view_init(vga_status_view *v, vga_agent *a, const vga_alert_status *st,
                          int64_t now_ms);

/* Frees the headline; NULL-safe. */
void vga_status_view_fini(vga_status_view *v);

/*
 * The views of the alerts of l that are not complete (with overdue_only,
 * only those with a late required agency), in the order outstanding prints
 * them: late first, then the earliest open deadline, then the oldest.
 * *out is malloc'ed (vga_status_views_free); VG_ERR_NOMEM.
 */
vg_err vga_status_views_outstanding(vga_status_view **out, size_t *n_out, vga_agent *a,
                                    const vga_status_list *l, bool overdue_only,
                                    int64_t now_ms) VG_MUST_USE;

/* Frees n views and the array; NULL-safe. */
void vga_status_views_free(vga_status_view *views, size_t n);

/* One view as status --json prints it (compact, no newline). *out is
 * malloc'ed; free() it. VG_ERR_NOMEM. */
vg_err vga_status_view_to_json(char **out, const vga_status_view *v, int64_t now_ms) VG_MUST_USE;

/* n views as one JSON array (outstanding --json). */
vg_err vga_status_views_to_json(char **out, const vga_status_view *views, size_t n,
                                int64_t now_ms) VG_MUST_USE;

/* One event as events --json prints it. */
vg_err vga_event_to_json(char **out, const vga_event *e) VG_MUST_USE;

#endif
