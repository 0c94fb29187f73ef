/*
 * vigil/clock.h — an injectable clock, and wall-clock times as text.
 *
 * Records carry wall-clock UTC milliseconds; deadlines run on the monotonic
 * clock. Both come through a vg_clock so tests advance time instead of
 * sleeping. A vg_clock is plain memory the caller owns; vg_clock_system()
 * returns a shared read-only instance that reads the real clocks.
 *
 * Times as text are RFC 3339: vg_time_format writes one form, vg_time_parse
 * is the one parser every program and library uses for times it is given
 * (alert JSON, command-line options). Thread rules: none (no shared state).
 */
#ifndef VIGIL_LIB_CLOCK_H
#define VIGIL_LIB_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

typedef struct vg_clock {
    int64_t (*wall_ms)(void *ctx); /* UTC ms since the Unix epoch */
    int64_t (*mono_ms)(void *ctx); /* monotonic ms, arbitrary origin */
    void *ctx;                     /* passed to both */
} vg_clock;

/* The real clocks (CLOCK_REALTIME, CLOCK_MONOTONIC). Never NULL. */
const vg_clock *vg_clock_system(void);

static inline int64_t
vg_clock_wall_ms(const vg_clock *c)
{
    return c->wall_ms(c->ctx);
}

static inline int64_t
vg_clock_mono_ms(const vg_clock *c)
{
    return c->mono_ms(c->ctx);
}

/* Formats wall-clock ms as RFC 3339 UTC with milliseconds
 * ("2026-11-29T10:00:00.123Z"); out_len >= VG_TIME_STR_LEN. */
#define VG_TIME_STR_LEN 32
void vg_time_format(char *out, size_t out_len, int64_t wall_ms);

/* What vg_time_parse accepts besides a full timestamp. */
typedef enum vg_time_forms {
    VG_TIME_TIMESTAMP = 0, /* a full RFC 3339 timestamp only */
    VG_TIME_OR_DATE = 1,   /* also a bare YYYY-MM-DD: 00:00:00Z that day (--since) */
} vg_time_forms;

/*
 * Parses an RFC 3339 time into UTC milliseconds since the Unix epoch:
 *
 *   YYYY-MM-DDTHH:MM:SS[.F]Z        "2026-01-31T08:00:00Z", "...:00.5Z"
 *   YYYY-MM-DDTHH:MM:SS[.F]+HH:MM   an offset (or -HH:MM) is converted to UTC;
 *                                   -00:00 (RFC 3339's "offset unknown") is UTC
 *   YYYY-MM-DD                      only with VG_TIME_OR_DATE: UTC midnight
 *
 * The T and the Z may be lower case, and the T a single space (RFC 3339
 * §5.6's note). F is 1 to 9 digits; past milliseconds they are cut, not
 * rounded. The date must exist (2024-02-29 does, 2026-02-29 does not),
 * years are 0000-9999, hours 00-23 (no 24:00), offsets -23:59..+23:59. A
 * leap second (SS = 60) is accepted only where one can be, at 23:59:60 UTC
 * once the offset is applied, and is read as 23:59:59.999 of that day: Unix
 * time has no leap seconds, and the day it belongs to is kept. Nothing
 * may come before or after (no spaces). VG_ERR_MALFORMED, with why saying
 * what was wrong and what is accepted; *out_ms is written only on VG_OK.
 */
vg_err vg_time_parse(int64_t *out_ms, const char *text, vg_time_forms forms,
                     vg_reason *why) VG_MUST_USE;

#endif
