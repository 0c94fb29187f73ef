/* log.c — one-line structured logging through the installed sink. */
#include "vigil/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "vigil/clock.h"

/* The log sink and level are the documented mutable globals (STYLE.md). */
static vg_log_sink s_sink;
static void *s_sink_ctx;
static vg_log_level s_min_level = VG_LOG_INFO;

static const char *const s_level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void
vg_log_set_sink(vg_log_sink sink, void *ctx)
{
    s_sink = sink;
    s_sink_ctx = ctx;
}

void
vg_log_set_level(vg_log_level min_level)
{
    s_min_level = min_level;
}

vg_err
vg_log_level_parse(vg_log_level *out, const char *text)
{
    for (int i = VG_LOG_DEBUG; i <= VG_LOG_ERROR; i++) {
        if (text != NULL && strcasecmp(text, s_level_names[i]) == 0) {
            *out = (vg_log_level)i;
            return VG_OK;
        }
    }
    return VG_ERR_MALFORMED;
}

void
vg_log_stderr_sink(vg_log_level level, const char *line, void *ctx)
{
    (void)level;
    (void)ctx;
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
}

void
vg_log(vg_log_level level, const char *component, const char *msg_id, const char *kv_fmt, ...)
{
    if (s_sink == NULL || level < s_min_level || level > VG_LOG_ERROR) {
        return;
    }
    char line[2048];
    char when[VG_TIME_STR_LEN];
    vg_time_format(when, sizeof when, vg_clock_wall_ms(vg_clock_system()));
    int n =
        snprintf(line, sizeof line, "%s %s %s %s", when, s_level_names[level], component, msg_id);
    if (n > 0 && (size_t)n < sizeof line - 1 && kv_fmt != NULL && kv_fmt[0] != '\0') {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, kv_fmt);
        vsnprintf(line + n, sizeof line - (size_t)n, kv_fmt, ap);
        va_end(ap);
    }
    s_sink(level, line, s_sink_ctx);
}
