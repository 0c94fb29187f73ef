/*
 * console_model.h — what the duty officer console knows, with no I/O: the
 * state of the alerts that concern this agency, built from a snapshot
 * (vga_outstanding) plus the agency's sequenced event stream, and everything
 * the screens derive from it (order, ack-matrix cells, filters, linked
 * alerts, the live feed, the sync state and attention).
 *
 * Consistency: every event's seq is checked against the last one consumed
 * (vgc_seq_check). A gap or silence never leaves old data looking current:
 * the sync state goes to STALE or NO DATA with a reason and a time, and the
 * caller refetches (snapshot, then vga_events_since). A snapshot is exact as
 * of its last_event_seq: events up to it only feed the live feed, later ones
 * change the state too. Events that lack what the screen needs (a new alert,
 * a share, a new deadline, an officer's note) are applied as far as they go
 * and queue the alert to be asked about alone (vga_status): the caller
 * takes them from vgc_model_next_wanted. Events never move a recipient back
 * from ACKNOWLEDGED, so a status fetched a moment after the events it
 * reflects is not undone by them.
 *
 * The broker's snapshot lists what this agency sent or must still
 * acknowledge. The console also keeps, until they are complete, alerts it
 * has acknowledged and alerts it receives without having to acknowledge
 * them (it hears their events): those are asked about one by one.
 *
 * Owns: every vgc_alert (and the opened content handed to it), the feed.
 * Never: talks to the broker, reads a clock (callers pass now_ms), writes
 * output. Thread rules: one thread owns a model.
 */
#ifndef VIGIL_AGENTS_CONSOLE_MODEL_H
#define VIGIL_AGENTS_CONSOLE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tool.h"
#include "vigil/agent.h"
#include "vigil/envelope.h"

#define VGC_FEED_MAX 200          /* events kept for the live feed and timelines */
#define VGC_FEED_BACKFILL 30      /* events before the first snapshot shown in the feed */
#define VGC_HISTORY_MAX 500       /* completed alerts kept for linking */
#define VGC_ALERTS_MAX 4000       /* alerts held at most (outstanding + history) */
#define VGC_SILENCE_MS (3 * 5000) /* no word from the broker this long: NO DATA (3 x keepalive) */
#define VGC_CELL_LEN 8            /* one ack-matrix cell, "LIC!" + NUL */
#define VGC_ABBREV_LEN 4          /* agency abbreviation, 3 chars + NUL */
#define VGC_REASON_LEN 640        /* sync reason text */
#define VGC_TEXT_FILTER_MAX 128   /* free-text filter */
#define VGC_ATTENTION_LEN 256     /* what the last attention was about */
#define VGC_OFFLINE_MAX 16        /* agencies shown as offline */
#define VGC_ID_LEN 64             /* agency ids (as in vga_event) */
#define VGC_WANTED_MAX 256        /* alerts queued to be asked about one by one */

/* How far the screen can be trusted. */
typedef enum vgc_sync {
    VGC_SYNC_NO_DATA = 0, /* no snapshot yet, or out of touch for > VGC_SILENCE_MS */
    VGC_SYNC_STALE = 1,   /* an event gap or an unanswered probe: being refetched */
    VGC_SYNC_LIVE = 2,    /* snapshot plus every event since, broker answering */
} vgc_sync;

/* "LIVE", "STALE", "NO DATA"; never NULL. */
const char *vgc_sync_name(vgc_sync s);

/* One ack-matrix cell: what a required agency has done. */
typedef enum vgc_cell {
    VGC_CELL_PENDING = 0,      /* not delivered yet */
    VGC_CELL_DELIVERED = 1,    /* its software has it; nobody has read it */
    VGC_CELL_ACKNOWLEDGED = 2, /* a named officer read it */
    VGC_CELL_IN_PROGRESS = 3,  /* being handled */
    VGC_CELL_DECLINED = 4,     /* will not act */
    VGC_CELL_OVERDUE = 5,      /* past its deadline, not acknowledged */
    VGC_CELL_UNOPENABLE = 6,   /* its software could not open it: the sender must act */
} vgc_cell;

/* Glyphs that tell the cells apart without colour. */
#define VGC_GLYPH_PENDING '-'
#define VGC_GLYPH_DELIVERED '~'
#define VGC_GLYPH_ACKNOWLEDGED '+'
#define VGC_GLYPH_IN_PROGRESS '>'
#define VGC_GLYPH_DECLINED 'x'
#define VGC_GLYPH_OVERDUE '!'
#define VGC_GLYPH_UNOPENABLE '?'

/* A cell for people: vga_state_words of its state ("in progress", "cannot
 * open"), or VGA_OVERDUE_TOKEN; never NULL. */
const char *vgc_cell_name(vgc_cell c);

/* A cell for machines (--plain): vga_state_name of its state
 * ("in_progress", "unopenable"), or VGA_OVERDUE_TOKEN; never NULL. */
const char *vgc_cell_state_name(vgc_cell c);
char vgc_cell_glyph(vgc_cell c);

/* The abbreviation of an agency id: the initials of a hyphenated id
 * ("childrens-services" -> "cs", "south-yorkshire-police" -> "syp"), else
 * its first three characters ("licensing" -> "lic"). */
void vgc_agency_abbrev(char out[VGC_ABBREV_LEN], const char *agency);

/* Renders one cell: the abbreviation and the glyph ("lic+", "cs~"); an
 * overdue or declined cell is in capitals ("LIC!", "CSx") so it stands out
 * without colour too. */
void vgc_cell_render(char out[VGC_CELL_LEN], const char *agency, vgc_cell c);

typedef struct vgc_recipient {
    char agency[VGC_ID_LEN];    /* the recipient */
    vga_state state;            /* as the broker tracks it */
    bool required;              /* must acknowledge */
    bool overdue;               /* missed its deadline (stays true once late) */
    int64_t deadline_ms;        /* wall-clock deadline, 0 = none */
    int64_t delivered_ms;       /* 0 = not yet */
    int64_t acknowledged_ms;    /* 0 = not yet */
    char *officer;              /* who acknowledged, "" if nobody (owned) */
    char *note;                 /* officer's note (owned) */
    char *reason;               /* in progress / declined reason (owned) */
    uint32_t level;             /* 0 on time, 1 overdue, 1+i after escalation step i */
    char shared_by[VGC_ID_LEN]; /* "" unless added by a share */
    char cover_for[VGC_ID_LEN]; /* "" unless out-of-hours cover for that agency */
} vgc_recipient;

/* The cell of a recipient at now_ms (overdue when the broker says so, or
 * when its deadline has passed and it has not acknowledged or declined). */
vgc_cell vgc_cell_of(const vgc_recipient *r, int64_t now_ms);

/* One onward share of an alert. */
typedef struct vgc_share_info {
    char sharer[VGC_ID_LEN]; /* who shared */
    char to[VGC_ID_LEN];     /* with whom */
    char *reason;            /* why (owned; "" when this agency cannot see the record) */
    int64_t time_ms;         /* when, 0 = unknown */
} vgc_share_info;

typedef struct vgc_alert {
    uint8_t id[VG_ALERT_ID_LEN];         /* the alert */
    char idhex[VG_ALERT_ID_HEX_LEN + 1]; /* id as hex */
    char sender[VGC_ID_LEN];             /* sender agency */
    int64_t created_ms;                  /* sender's time */
    int64_t accepted_ms;                 /* broker's time */
    vg_severity severity;                /* routing metadata */
    vg_urgency urgency;                  /* routing metadata */
    vg_status status;                    /* actual / exercise / test */
    vg_msg_type msg_type;                /* alert / update / cancel */
    vg_strlist categories;               /* taxonomy categories */
    vgc_recipient *recipients;           /* per agency (owned) */
    size_t n_recipients;                 /* count */
    vgc_share_info *shares;              /* onward shares (owned) */
    size_t n_shares;                     /* count */
    bool complete;                       /* every required agency acknowledged */
    bool readable;                       /* the snapshot carried content we may open */
    bool has_content;                    /* content below is set */
    vg_alert content;                    /* the opened alert (owned; wiped on fini) */
    char *content_error;                 /* why it could not be opened (owned), or NULL */
    uint64_t seen_gen;                   /* snapshot generation that last listed it */
    vga_linked *linked;                  /* earlier alerts the broker linked to it (owned) */
    size_t n_linked;                     /* count */
    char *memo;                          /* for a renderer (--plain: last state printed) */
} vgc_alert;

/* The earliest deadline among required recipients that have not
 * acknowledged, or 0 when none is open. */
int64_t vgc_alert_due_ms(const vgc_alert *a);

/* True when some required recipient's cell is OVERDUE or DECLINED. */
bool vgc_alert_is_overdue(const vgc_alert *a, int64_t now_ms);

/* True when some recipient has been escalated past the overdue step. */
bool vgc_alert_is_escalated(const vgc_alert *a);

/* True when agency is a required recipient that has not acknowledged. */
bool vgc_alert_awaits(const vgc_alert *a, const char *agency);

/* The recipient row of agency, or NULL. */
vgc_recipient *vgc_alert_recipient(vgc_alert *a, const char *agency);

/* The headline this agency can read, or "sealed". */
const char *vgc_alert_headline(const vgc_alert *a);

/* The word that marks an alert that is not an actual one ("EXERCISE",
 * "TEST", "SYSTEM", "DRAFT": vga_status_mark of its status, which is
 * routing metadata, so a sealed alert has it too), or NULL for an actual
 * alert. Every screen shows it as a word, never as colour alone. */
const char *vgc_alert_mark(const vgc_alert *a);

/* What the list shows in the headline column: the mark and the headline
 * ("EXERCISE Taxi drivers ...", "TEST sealed"), or the headline alone for
 * an actual alert. */
void vgc_alert_title(char *out, size_t out_len, const vgc_alert *a);

/* "pol+ LIC! cs~": one cell per required agency, space-separated. */
void vgc_alert_matrix(char *out, size_t out_len, const vgc_alert *a, int64_t now_ms);

/* "police=acknowledged licensing=OVERDUE ...": the same, spelled out
 * (vgc_cell_state_name). */
void vgc_alert_states(char *out, size_t out_len, const vgc_alert *a, int64_t now_ms);

/* (Durations for people are the toolkit's vgt_format_span: "4m12s".) */

/* Time to or past the alert's deadline: "in 4m12s", "LATE 2m03s", "-"
 * when no deadline is open. */
void vgc_format_due(char *out, size_t out_len, const vgc_alert *a, int64_t now_ms);

/* HH:MM:SS (UTC) of a wall-clock time. */
void vgc_format_clock(char *out, size_t out_len, int64_t wall_ms);

/* ---- sequence numbers ---------------------------------------------------------- */

typedef enum vgc_seq_result {
    VGC_SEQ_NEXT = 0, /* got == last + 1: consume it */
    VGC_SEQ_DUP = 1,  /* got <= last: already consumed, ignore */
    VGC_SEQ_GAP = 2,  /* got > last + 1: events were lost */
} vgc_seq_result;

/* The gap detector: compares an event's seq with the last one consumed. */
vgc_seq_result vgc_seq_check(uint64_t last, uint64_t got);

/* ---- filters ---------------------------------------------------------------------- */

typedef struct vgc_filter {
    bool overdue_only;              /* only overdue alerts */
    vg_severity min_severity;       /* VG_SEV_UNSPECIFIED = all */
    char text[VGC_TEXT_FILTER_MAX]; /* case-insensitive; "" = all */
} vgc_filter;

/* True when the alert passes the filter. The text is searched in what this
 * agency can read: id, sender, categories, recipients, and the opened
 * content (headline, event, description, instruction, areas, incidents,
 * subjects, sender name). */
bool vgc_filter_match(const vgc_alert *a, const vgc_filter *f, int64_t now_ms);

/* "overdue only, high+, text 'taxi'" or "none". */
void vgc_filter_describe(char *out, size_t out_len, const vgc_filter *f);

/* ---- the model ---------------------------------------------------------------------- */

typedef struct vgc_model {
    char me[VGC_ID_LEN];                       /* this agency */
    bool oversight;                            /* an oversight console: every alert concerns it */
    vgc_alert **alerts;                        /* outstanding and recent history (owned) */
    size_t n_alerts;                           /* count */
    size_t cap_alerts;                         /* allocated */
    vga_event feed[VGC_FEED_MAX];              /* last events, a ring */
    size_t feed_head;                          /* oldest */
    size_t feed_n;                             /* count */
    uint64_t last_seq;                         /* last event consumed: the gap detector's state */
    uint64_t state_seq;                        /* the state is exact as of this event */
    uint64_t snapshot_gen;                     /* snapshots applied */
    bool has_snapshot;                         /* at least one snapshot applied */
    bool needs_resync;                         /* a fresh snapshot is needed */
    vgc_sync sync;                             /* how far the screen can be trusted */
    char sync_reason[VGC_REASON_LEN];          /* why not LIVE */
    int64_t sync_since_ms;                     /* wall time the sync state began */
    int64_t last_contact_ms;                   /* wall time the broker last answered, 0 = never */
    char offline[VGC_OFFLINE_MAX][VGC_ID_LEN]; /* agencies reported offline */
    uint32_t offline_waiting[VGC_OFFLINE_MAX]; /* their waiting alerts */
    size_t n_offline;                          /* count */
    uint64_t attention_gen;                    /* bumped on each new critical / overdue */
    char attention[VGC_ATTENTION_LEN];         /* what the last one was */
    vg_strlist alerted;                        /* "idhex/agency" already rung for */
    uint8_t wanted[VGC_WANTED_MAX][VG_ALERT_ID_LEN]; /* alerts to ask about (vga_status) */
    size_t n_wanted;                                 /* count */
    uint64_t changes;                                /* bumped on every change (renderers redraw) */
} vgc_model;

/* Starts empty, NO DATA "snapshot pending". */
void vgc_model_init(vgc_model *m, const char *me, bool oversight, int64_t now_ms);

/* Frees every alert (wiping opened content) and the lists. */
void vgc_model_fini(vgc_model *m);

/*
 * Replaces the state with a snapshot exact as of l->last_event_seq: alerts
 * in it are updated or added; held alerts not in it are queued to be asked
 * about alone (vgc_model_next_wanted), as they may be complete (then kept
 * as history for linking) or merely no longer this agency's to acknowledge. Content already opened
 * is kept. New critical alerts and new overdue recipients that concern this agency raise attention
 * (except in the first snapshot: what is on screen at start is not news).
 * The first snapshot also starts the feed VGC_FEED_BACKFILL events back
 * (the caller fills it with vga_events_since(last_seq)). Does not change
 * the sync state. VG_ERR_NOMEM (the model is then still
 * consistent, perhaps without some alerts) or VG_OK.
 */
vg_err vgc_model_apply_snapshot(vgc_model *m, const vga_status_list *l, int64_t now_ms) VG_MUST_USE;

/*
 * Consumes one event of the stream: VGC_SEQ_DUP (ignored), VGC_SEQ_GAP
 * (not consumed: the sync state is STALE "event gap" and needs_resync is
 * set; the caller refetches with vga_events_since(last_seq) and a
 * snapshot), or VGC_SEQ_NEXT: it joins the feed and, when it is newer than
 * the state, changes it. Before the first snapshot there is no state to
 * protect: events that are not duplicates only feed the feed.
 */
vgc_seq_result vgc_model_feed_event(vgc_model *m, const vga_event *e, int64_t now_ms);

/* Applies the status of one alert (vga_status), adding it when new (with
 * attention as for a snapshot). VG_ERR_NOMEM, VG_ERR_TOO_LARGE (too many
 * alerts held), VG_OK. */
vg_err vgc_model_apply_status(vgc_model *m, const vga_alert_status *st, int64_t now_ms) VG_MUST_USE;

/* Queues an alert to be asked about alone (deduplicated; a full queue
 * sets needs_resync instead). */
void vgc_model_want(vgc_model *m, const uint8_t id[VG_ALERT_ID_LEN]);

/* Takes the next queued alert; false when none. */
bool vgc_model_next_wanted(vgc_model *m, uint8_t id_out[VG_ALERT_ID_LEN]);

/* The broker will not say more about this alert (unknown, or no longer
 * this agency's to see): a held alert leaves the outstanding list. */
void vgc_model_forget(vgc_model *m, const uint8_t id[VG_ALERT_ID_LEN]);

/* Sets the sync state (a change of state restarts since_ms). */
void vgc_model_set_sync(vgc_model *m, vgc_sync s, const char *reason, int64_t since_ms);

/* The broker answered at now_ms. */
void vgc_model_contact(vgc_model *m, int64_t now_ms);

/* Goes to NO DATA "disconnected" when nothing came from the broker for
 * more than VGC_SILENCE_MS; returns true when it did just now. */
bool vgc_model_check_silence(vgc_model *m, int64_t now_ms);

/* The held alert with this id, or NULL. */
vgc_alert *vgc_model_find(const vgc_model *m, const uint8_t id[VG_ALERT_ID_LEN]);

/* Gives an alert its opened content; takes ownership of *content (on
 * success and failure alike) and zeroes it. VG_ERR_NOT_FOUND when no such
 * alert is held (the content is then wiped). */
vg_err vgc_model_set_content(vgc_model *m, const uint8_t id[VG_ALERT_ID_LEN],
                             vg_alert *content) VG_MUST_USE;

/* Records why an alert could not be opened (shown in the detail view). */
void vgc_model_set_content_error(vgc_model *m, const uint8_t id[VG_ALERT_ID_LEN], const char *why);

/* Adds or completes a share of the alert (merged by `to`). */
vg_err vgc_model_add_share(vgc_model *m, const uint8_t id[VG_ALERT_ID_LEN], const char *sharer,
                           const char *to, const char *reason, int64_t time_ms) VG_MUST_USE;

/* The outstanding alerts (not complete) that pass the filter, in screen
 * order: overdue first (the longest overdue first), then by the nearest
 * deadline, then by acceptance. Writes up to max pointers; returns how many
 * passed (which may exceed max). */
size_t vgc_model_list(const vgc_model *m, const vgc_filter *f, int64_t now_ms, vgc_alert **out,
                      size_t max);

/* Open, overdue and escalated counts of the outstanding alerts (every
 * alert, exercises and tests included: they are tracked the same way). */
void vgc_model_counts(const vgc_model *m, int64_t now_ms, size_t *n_open, size_t *n_overdue,
                      size_t *n_escalated);

/* How many of the open alerts are not actual ones (vgc_alert_mark set):
 * the header says so beside the counts. */
size_t vgc_model_n_exercises(const vgc_model *m);

/* Held alerts (outstanding or history, not a itself) linked to a: the same
 * incident name or subject reference (scheme and value), or a reference
 * from one to the other. Writes up to max; returns the number written. */
size_t vgc_model_linked(const vgc_model *m, const vgc_alert *a, vgc_alert **out, size_t max);

/* The i-th most recent event of the feed (0 = newest), or NULL. */
const vga_event *vgc_model_feed_at(const vgc_model *m, size_t i);

/* One line for the live feed: "10:04:12 3f2a9c1e OVERDUE for licensing
 * (deadline passed)"; the alert's mark follows the id when the model holds
 * an alert that is not actual ("10:04:12 3f2a9c1e EXERCISE OVERDUE ..."). */
void vgc_event_format(char *out, size_t out_len, const vgc_model *m, const vga_event *e);

/* Copies s into out, truncated at a character boundary to fit out_len. */
void vgc_strcpy(char *out, size_t out_len, const char *s);

/* Copies text into out for a terminal or a log: control characters and
 * invalid UTF-8 become '?', valid UTF-8 is kept. */
void vgc_sanitize(char *out, size_t out_len, const char *text);

#endif
