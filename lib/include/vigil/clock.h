/*
 * vigil/clock.h — an injectable clock.
 *
 * Records carry wall-clock UTC milliseconds; deadlines run on the monotonic
 * clock. Both come through a vg_clock so tests advance time instead of
 * sleeping. A vg_clock is plain memory the caller owns; vg_clock_system()
 * returns a shared read-only instance that reads the real clocks.
 */
#ifndef VIGIL_LIB_CLOCK_H
#define VIGIL_LIB_CLOCK_H

#include <stddef.h>
#include <stdint.h>

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

#endif
