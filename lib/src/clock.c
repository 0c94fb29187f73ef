/* clock.c — the real clocks behind vg_clock. */
#include "vigil/clock.h"

#include <stdio.h>
#include <time.h>

static int64_t
s_read(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
s_wall_ms(void *ctx)
{
    (void)ctx;
    return s_read(CLOCK_REALTIME);
}

static int64_t
s_mono_ms(void *ctx)
{
    (void)ctx;
    return s_read(CLOCK_MONOTONIC);
}

static const vg_clock s_system = {s_wall_ms, s_mono_ms, NULL};

const vg_clock *
vg_clock_system(void)
{
    return &s_system;
}

void
vg_time_format(char *out, size_t out_len, int64_t wall_ms)
{
    time_t secs = (time_t)(wall_ms / 1000);
    int ms = (int)(wall_ms % 1000);
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL) {
        snprintf(out, out_len, "invalid-time");
        return;
    }
    snprintf(out, out_len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}
