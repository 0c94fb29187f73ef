/*
 * console_plain.h — vigil-console --plain: the console's events and state
 * changes as timestamped lines, for logs, screen readers and scripts.
 *
 * Every line starts with the UTC time it was written (RFC 3339, ms), then a
 * word saying what it is, then key=value pairs (values with spaces are
 * quoted, control characters shown as '?'):
 *
 *   SYNC LIVE open=2 overdue=1 escalated=0 seq=14 [exercises=1]
 *   SYNC STALE since=<time> reason="event gap: expected #15, got #17; refetching"
 *   SYNC NO_DATA since=<time> reason="disconnected: no word from the broker since 10:04:12"
 *   EVENT #15 at=<time> kind=overdue alert=<32 hex> sender=police severity=high
 *         agency=licensing detail="deadline passed"
 *   ALERT <32 hex> new severity=high sender=police due="in 2s"
 *         states="licensing=delivered police=acknowledged" headline="..."
 *   ALERT <32 hex> changed overdue=yes due="LATE 1s" states="licensing=OVERDUE ..."
 *   ALERT <32 hex> done
 *   ALERT <32 hex> new status=EXERCISE severity=high ...
 *   ATTENTION what="OVERDUE: 3f2a9c1e for licensing (high alert from police)"
 *   NOTE text="..."
 *
 * (EVENT and ALERT lines are shown wrapped here; each is one line.) SYNC
 * lines come whenever the sync state or its reason changes; EVENT lines for
 * each event of the stream, in seq order, once; ALERT lines when an
 * outstanding alert appears, when its acknowledgement states change, and
 * when it is no longer outstanding. An alert that is not an actual one
 * carries status=EXERCISE (TEST, SYSTEM, DRAFT: vgc_alert_mark) right after
 * new/changed/done on its ALERT lines and after alert= on its EVENT lines
 * (once the console holds the alert), and SYNC LIVE counts them
 * (exercises=N, only when there are any). Nothing here reads the terminal.
 *
 * Owns: nothing but its own bookkeeping; writes only to `out`. Uses the
 * alerts' memo field to remember what it printed. One thread.
 */
#ifndef VIGIL_AGENTS_CONSOLE_PLAIN_H
#define VIGIL_AGENTS_CONSOLE_PLAIN_H

#include <stdint.h>
#include <stdio.h>

#include "console_model.h"

typedef struct vgc_plain {
    FILE *out;                   /* where lines go (flushed after each update) */
    uint64_t printed_seq;        /* last event printed */
    vgc_sync sync;               /* last sync state printed */
    char reason[VGC_REASON_LEN]; /* its reason */
    bool sync_printed;           /* a SYNC line was printed */
    uint64_t attention_gen;      /* last attention printed */
} vgc_plain;

void vgc_plain_init(vgc_plain *p, FILE *out);

/* Prints what changed in m since the last call (now_ms: the line time). */
void vgc_plain_update(vgc_plain *p, vgc_model *m, int64_t now_ms);

/* Prints a free-form line: "<time> NOTE text". */
void vgc_plain_note(vgc_plain *p, int64_t now_ms, const char *text);

#endif
