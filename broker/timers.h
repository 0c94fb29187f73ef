/*
 * broker/timers.h — when each open row's next step (overdue, then each
 * escalation step) is due, on the monotonic clock, in a heap of bounded
 * size.
 *
 * Every unacknowledged required row has a next step, and a million stored
 * alerts would make a heap of tens of MiB. So the heap holds about K timers
 * (broker.conf `timers`): every open row whose deadline is at most the
 * watermark W has its timer there; the rows beyond W wait in the store's
 * deadline index (vgb_store_open_rows). A row is scheduled only when its
 * deadline is at most W; escalation steps of a row in the heap always are (a
 * step is due at or after the deadline). When the heap falls below K/2
 * timers, or the clock reaches W and nothing in the heap is due, the next K
 * rows beyond W are loaded and W moves up to the last deadline loaded in
 * full; fewer than asked for means all are loaded (W = +inf). A heap grown
 * past 2K (new alerts while W is high) is cut back to the K earliest
 * deadlines and W lowered to match; the timers cut (moot ones too) are in
 * the store. Deadlines are milliseconds and alerts of one batch share
 * theirs, so W never splits a run of equal deadlines: the run is left
 * wholly beyond W, or, when it alone fills K, loaded whole.
 *
 * Deadlines are stored as wall-clock times (the only clock that survives a
 * restart) and turned into monotonic timers when scheduled or loaded. When
 * the wall clock steps while the broker runs, tracking.h moves the stored
 * deadlines with it (vgb_store_shift_times) and the heap's with
 * vgb_timers_clock_stepped, so no timer moves on the monotonic clock.
 *
 * Entries are never removed when a receipt makes them moot: the owner reads
 * the row again when one fires and drops an entry whose (deadline, level)
 * no longer match it (so an entry that is there twice also acts once).
 *
 * Owns: the heap and the watermark.
 * Thread rules: the loop's thread only.
 */
#ifndef VIGIL_BROKER_TIMERS_H
#define VIGIL_BROKER_TIMERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "vigil/clock.h"
#include "vigil/err.h"
#include "vigil/netdoc.h"

/* A row's next step. */
typedef struct vgb_timer {
    int64_t due_mono;    /* when, on the monotonic clock */
    uint64_t seq;        /* alert */
    uint32_t agency;     /* index into the document's agencies */
    uint32_t level;      /* the row's esc_level when scheduled */
    int64_t deadline_ms; /* the row's deadline when scheduled */
} vgb_timer;

typedef struct vgb_timers vgb_timers;

/* Loads the first k (at least 8) rows' timers from store. store, doc and
 * clock are borrowed and outlive the heap. Free with vgb_timers_destroy. */
vg_err vgb_timers_new(vgb_timers **out, vgb_store *store, const vg_netdoc *doc,
                      const vg_clock *clock, size_t k) VG_MUST_USE;

/* NULL-safe; sets *t_p = NULL. */
void vgb_timers_destroy(vgb_timers **t_p);

/* When the row's next step is due (wall clock), or 0 when it has none
 * (acknowledged, not required, no deadline, every step taken). */
int64_t vgb_timers_next_step_ms(const vgb_timers *t, const vgb_rrow *r);

/* True when the timer still stands for the row's next step (same level and
 * deadline, and a step is left). */
bool vgb_timers_current(const vgb_timers *t, const vgb_timer *tm, const vgb_rrow *r);

/* Adds the row's next step, unless it has none or its deadline is beyond
 * the watermark (then it is loaded from the store in its turn). */
void vgb_timers_schedule(vgb_timers *t, const vgb_rrow *r);

/* Adds tm again, due in_ms from now (a step that could not be recorded). */
void vgb_timers_retry(vgb_timers *t, const vgb_timer *tm, int64_t in_ms);

/* Loads from the store while the heap runs short or the clock reached the
 * watermark (a store error waits a second), then takes out one timer due
 * at the monotonic time now into *out; false when none is due. */
bool vgb_timers_pop_due(vgb_timers *t, int64_t now, vgb_timer *out);

/* The monotonic time the next timer is due or the next load from the store
 * is needed (INT64_MAX: nothing waits). */
int64_t vgb_timers_wake(const vgb_timers *t);

/* The stored deadlines moved by delta_ms (the wall clock stepped): the
 * heap's entries and the watermark move with them; no due time changes. */
void vgb_timers_clock_stepped(vgb_timers *t, int64_t delta_ms);

/* The network document changed (agencies only appended: the heap's agency
 * indices stay right): escalation steps are the new document's from now on.
 * doc is borrowed and outlives the heap. */
void vgb_timers_renew(vgb_timers *t, const vg_netdoc *doc);

/* Timers in the heap (tests and logs). */
size_t vgb_timers_count(const vgb_timers *t);

#endif
