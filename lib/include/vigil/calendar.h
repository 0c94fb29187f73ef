/*
 * vigil/calendar.h — working-day calendars, opening hours and deadline
 * units, and the pure function that turns (rule, calendar, hours, acceptance
 * instant) into a deadline instant.
 *
 * The definitions, word for word as in docs/network.md "Deadline units":
 *
 *  - local date/time: the agency calendar's local time (vigil/tz.h: a time
 *    that does not exist is read with the offset before the gap, one that
 *    occurs twice is the earlier instant).
 *  - working day: a local date that is neither a weekend day nor a closed
 *    date of the calendar. A date after the calendar's valid_until is always
 *    a working day (calendar days: the list is not known to be complete
 *    there) and the result carries VG_DLW_PAST_VALID_UNTIL.
 *  - open: inside one of the agency's opening spans [open, close) on a
 *    working day; spans are per ISO weekday, in local time.
 *  - duration D ("15m", "1h"): acceptance + D.
 *  - Nwd: the end (24:00 local, i.e. the start of the next date) of the Nth
 *    working day after the local date of acceptance; the day of acceptance
 *    never counts, whatever its hours.
 *  - Nbh: the earliest instant T such that the time the agency is open
 *    within [acceptance, T] is N hours (real elapsed time: a span across a
 *    clock change is as long as it really is). A deadline that falls on a
 *    closing time is that closing time.
 *  - next-open+D: acceptance + D when the agency is open at acceptance,
 *    else the start of its next opening span + D.
 *
 * Fallbacks, never silent: a rule in working days with no calendar counts
 * calendar days in UTC (VG_DLW_NO_CALENDAR); Nbh or next-open with no
 * opening hours counts elapsed time, N hours or D from acceptance
 * (VG_DLW_NO_HOURS). Each is at least as early as the true deadline would
 * likely be: the short deadline is the safe one.
 *
 * Every type here is a borrowed view: a vg_calendar points into memory its
 * owner (a vg_netdoc, or a test) keeps alive. Thread rules: none; every
 * function is pure and may run in any thread at once.
 */
#ifndef VIGIL_LIB_CALENDAR_H
#define VIGIL_LIB_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"
#include "vigil/tz.h"

#define VG_CALENDARS_MAX 64         /* calendars in one document */
#define VG_CALENDAR_CLOSED_MAX 4096 /* closed dates in one calendar (a union: merged) */
#define VG_HOURS_SPANS_MAX 64       /* opening spans of one agency */
#define VG_DEADLINE_WD_MAX 366u     /* largest N in Nwd */
#define VG_DEADLINE_BH_MAX 8784u    /* largest N in Nbh (a leap year of hours) */
#define VG_DEADLINE_NEXT_OPEN_MAX_MS (UINT64_C(366) * 86400000) /* largest D in next-open+D */
#define VG_CALENDAR_HASH_LEN 32                                 /* BLAKE2b-256 */
#define VG_DEADLINE_RULE_TEXT_MAX 48                            /* "next-open+366d" and the like */

/* A calendar's view (a union's closed dates already merged). */
typedef struct vg_calendar {
    const char *name;                   /* "england-and-wales" */
    const char *time_zone;              /* IANA name, for people: "Europe/London" */
    vg_tz tz;                           /* the rule the arithmetic uses */
    uint8_t weekend_mask;               /* bit w set: ISO weekday w (1..7) is a weekend day */
    const int32_t *closed;              /* strictly increasing day numbers (vg_days_from_civil) */
    size_t n_closed;                    /* how many */
    int32_t valid_until;                /* day number of the last date the list covers */
    uint8_t hash[VG_CALENDAR_HASH_LEN]; /* the calendar's version (vg_calendar_hash) */
} vg_calendar;

/* One opening span: [open_min, close_min) minutes after local midnight on
 * ISO weekday `weekday`. */
typedef struct vg_span {
    uint8_t weekday;    /* 1 = Monday .. 7 = Sunday */
    uint16_t open_min;  /* 0..1439 */
    uint16_t close_min; /* open_min < close_min <= 1440 */
} vg_span;

/* An agency's opening hours: spans sorted by (weekday, open_min), not
 * overlapping. n_spans == 0 means "no opening hours". */
typedef struct vg_hours {
    const vg_span *spans; /* borrowed */
    size_t n_spans;       /* how many */
} vg_hours;

/* True when the day number is a working day of cal (see above). Sets
 * *past_valid_until when the day is after cal's valid_until. */
bool vg_calendar_is_working_day(const vg_calendar *cal, int32_t day, bool *past_valid_until);

/* The calendar's version: BLAKE2b-256 over what moves a deadline, in this
 * order: "vigil-calendar-v1\n", tz rule text, "\n", the weekend mask as one
 * byte, valid_until and each closed date as YYYYMMDD in 4 bytes big-endian.
 * Titles and the zone's display name are not covered: they move nothing.
 * out is VG_CALENDAR_HASH_LEN bytes. */
void vg_calendar_hash(uint8_t out[VG_CALENDAR_HASH_LEN], const char *tz_rule, uint8_t weekend_mask,
                      int32_t valid_until, const int32_t *closed, size_t n_closed);

/* ---- deadline rules ------------------------------------------------------- */

typedef enum vg_deadline_unit {
    VG_DL_DURATION = 1,       /* acceptance + duration_ms */
    VG_DL_WORKING_DAYS = 2,   /* count working days */
    VG_DL_BUSINESS_HOURS = 3, /* count hours inside opening hours */
    VG_DL_NEXT_OPEN = 4,      /* next opening + duration_ms */
} vg_deadline_unit;

typedef struct vg_deadline_rule {
    vg_deadline_unit unit; /* which of the four */
    uint32_t count;        /* N of Nwd and Nbh */
    uint64_t duration_ms;  /* a duration's length, or D of next-open+D */
} vg_deadline_rule;

/* Parses "15m", "2wd", "8bh", "next-open", "next-open+1h". A count is
 * 1..VG_DEADLINE_WD_MAX or 1..VG_DEADLINE_BH_MAX, a plain duration > 0, D at
 * most VG_DEADLINE_NEXT_OPEN_MAX_MS. VG_ERR_MALFORMED with a reason. */
vg_err vg_deadline_rule_parse(vg_deadline_rule *out, const char *text, vg_reason *why) VG_MUST_USE;

/* Writes the rule as vg_deadline_rule_parse reads it (canonical form). */
void vg_deadline_rule_format(char *out, size_t out_len, const vg_deadline_rule *rule);

/* What the unit needs from the agency. */
bool vg_deadline_rule_needs_calendar(const vg_deadline_rule *rule);
bool vg_deadline_rule_needs_hours(const vg_deadline_rule *rule);

/* Warning flags of a computed deadline (a bit set each):
 * PAST_VALID_UNTIL: a date after the calendar's valid_until counted as working;
 * NO_CALENDAR: a calendar unit without a calendar, calendar days in UTC;
 * NO_HOURS: Nbh or next-open without opening hours, elapsed time. */
#define VG_DLW_PAST_VALID_UNTIL 1u
#define VG_DLW_NO_CALENDAR 2u
#define VG_DLW_NO_HOURS 4u

/* The pure deadline function. cal and hours may be NULL (see the
 * fallbacks above); hours without a calendar are ignored (they are local
 * times of no zone). accepted_ms must be within [VG_TZ_MS_MIN, VG_TZ_MS_MAX)
 * and the result lands within it too, else VG_ERR_INVALID. *warnings gets
 * the VG_DLW_* flags. Writes *out_ms and *warnings only on VG_OK. */
vg_err vg_deadline_compute(int64_t *out_ms, unsigned *warnings, const vg_deadline_rule *rule,
                           const vg_calendar *cal, const vg_hours *hours,
                           int64_t accepted_ms) VG_MUST_USE;

/* True when the agency is open at at_ms: inside one of its spans on a
 * working day of cal (a date after valid_until counts as working, as for
 * deadlines). Without a calendar or hours there are no closing times: always
 * open. */
bool vg_hours_is_open(const vg_calendar *cal, const vg_hours *hours, int64_t at_ms);

/* The local date (day number) and minute of the day (0..1439) of a UTC
 * instant in cal's zone. */
void vg_calendar_local(const vg_calendar *cal, int64_t at_ms, int32_t *day, int *minute);

/* "sat" → 6 and back; 0 / NULL for anything else. */
int vg_weekday_parse(const char *name);
const char *vg_weekday_name(int iso_weekday);

#endif
