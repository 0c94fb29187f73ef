/*
 * vigil/tz.h — civil dates and local time under a POSIX TZ rule: what
 * deadlines in working days and opening hours need to turn a local date and
 * time into a UTC instant and back.
 *
 * Why a rule carried in the signed network document, and not the system tz
 * database (/usr/share/zoneinfo) read at run time:
 *  - a deadline must be a pure function of signed data: the broker, an
 *    agent and the report, on machines with different tzdata releases, must
 *    compute the same instant, and the calendar version recorded with the
 *    deadline must cover the zone rule too;
 *  - glibc has no reentrant per-zone conversion (localtime_r reads the
 *    process-global TZ), and the broker has several threads;
 *  - a POSIX TZ rule is exactly what a TZif file (RFC 8536 §3.3) carries in
 *    its footer to describe the zone's current rule: for Europe/London it is
 *    "GMT0BST,M3.5.0/1,M10.5.0" (BST from 01:00 GMT on the last Sunday of
 *    March to 02:00 BST on the last Sunday of October). `vigilctl calendar
 *    import` copies it from the system tz database, and `vigilctl check`
 *    compares this converter with the C library's localtime_r for the named
 *    zone over the calendar's range, so the two sources are checked against
 *    each other on the administrator's machine, where global TZ is harmless.
 *
 * Limits (the honest ones): a rule describes one pattern repeated every
 * year, not a zone's history. That suits calendars, which are bounded by
 * valid_until and renewed every year or two; if a country changes its
 * daylight-saving law, the administrator updates the rule (vigilctl check
 * says so). Only the "Mm.w.d" form of transition dates is accepted (every
 * zone in current tzdata with daylight saving uses it); "Jn" and "n" are
 * refused with a reason. Dates are handled from 1970-01-01 to 2199-12-31.
 *
 * Local times that do not exist or occur twice follow RFC 5545 §3.3.5 (and
 * JavaScript Temporal's "compatible" disambiguation): a local time in a
 * spring-forward gap is read with the UTC offset in force before the gap
 * (Europe/London 01:30 on the last Sunday of March is 01:30 UTC, shown as
 * 02:30 BST); a local time that occurs twice is the earlier instant (01:30 on
 * the last Sunday of October is 00:30 UTC, still BST).
 *
 * Owns nothing; a vg_tz is a plain value. Thread rules: none (pure functions).
 */
#ifndef VIGIL_LIB_TZ_H
#define VIGIL_LIB_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

#define VG_DAY_MS INT64_C(86400000)
#define VG_TZ_RULE_MAX 64                   /* longest POSIX TZ rule accepted, in bytes */
#define VG_DATE_MIN 19700101u               /* first civil date handled */
#define VG_DATE_MAX 21991231u               /* last civil date handled */
#define VG_TZ_MS_MIN INT64_C(0)             /* first instant handled: 1970-01-01T00:00Z */
#define VG_TZ_MS_MAX INT64_C(7258118400000) /* 2200-01-01T00:00Z, excluded */

/* When a transition happens: the d-th day of week (0 = Sunday) of week w
 * (1..5, 5 = the last) of month m, at time_s seconds of local time (standard
 * time for the start of daylight saving, daylight time for its end). */
typedef struct vg_tz_when {
    int month;      /* 1..12 */
    int week;       /* 1..5 */
    int wday;       /* 0 = Sunday .. 6 = Saturday */
    int32_t time_s; /* -167h..167h (RFC 8536 extends POSIX's 0..24h) */
} vg_tz_when;

/* A parsed rule. Offsets are seconds east of UTC (BST is +3600), the
 * opposite sign of the POSIX text. */
typedef struct vg_tz {
    int32_t std_off_s; /* standard time's UTC offset */
    int32_t dst_off_s; /* daylight time's UTC offset (= std_off_s without DST) */
    bool has_dst;      /* false: a fixed offset */
    vg_tz_when start;  /* daylight time starts (has_dst only) */
    vg_tz_when end;    /* daylight time ends (has_dst only) */
} vg_tz;

/* Parses a POSIX TZ rule ("GMT0BST,M3.5.0/1,M10.5.0", "UTC0",
 * "<+0330>-3:30", "IST-1GMT0,M10.5.0,M3.5.0/1"). VG_ERR_MALFORMED with a
 * reason; *out is written only on success. */
vg_err vg_tz_parse(vg_tz *out, const char *rule, vg_reason *why) VG_MUST_USE;

/* The UTC offset (seconds east) in force at a UTC instant. */
int32_t vg_tz_offset_s(const vg_tz *tz, int64_t utc_s);

/* A local wall-clock time (seconds since 1970-01-01T00:00 local, i.e. as
 * if local time were UTC) to the UTC instant, gaps and folds as above. */
int64_t vg_tz_to_utc_s(const vg_tz *tz, int64_t local_s);

/* ---- civil dates ---------------------------------------------------------
 * A day number counts days since 1970-01-01 (day 0). A date is the integer
 * YYYYMMDD, as the network document stores it. Proleptic Gregorian. */

/* Day number of a valid y-m-d (no range check: callers pass valid dates). */
int32_t vg_days_from_civil(int y, int m, int d);

/* The y-m-d of a day number. */
void vg_civil_from_days(int32_t days, int *y, int *m, int *d);

/* ISO weekday of a day number: 1 = Monday .. 7 = Sunday. */
int vg_weekday(int32_t days);

/* True when ymd is a real date within VG_DATE_MIN..VG_DATE_MAX. */
bool vg_date_is_valid(uint32_t ymd);

/* Day number of a valid YYYYMMDD date (check vg_date_is_valid first). */
int32_t vg_date_days(uint32_t ymd);

/* The YYYYMMDD date of a day number. */
uint32_t vg_date_from_days(int32_t days);

/* Parses "YYYY-MM-DD" into YYYYMMDD. VG_ERR_MALFORMED unless it is exactly
 * that form and a valid date within the handled range. */
vg_err vg_date_parse(uint32_t *out, const char *text, vg_reason *why) VG_MUST_USE;

/* Writes "YYYY-MM-DD" (out_len >= 11). */
void vg_date_format(char *out, size_t out_len, uint32_t ymd);

/* Writes a UTC instant as RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" (out_len >= 21;
 * milliseconds are dropped when zero, else ".mmm" is added: out_len >= 25). */
void vg_utc_format(char *out, size_t out_len, int64_t utc_ms);

#endif
