/*
 * vigil/log.h — structured one-line logging through an installable sink.
 *
 * A line is: UTC time, level, component, a stable message id, then key=value
 * pairs: "2026-11-29T10:00:00.123Z WARN broker env.reject agency=police code=replay".
 * Tests match message ids, not wording.
 *
 * libvigil never writes to stderr by itself: it logs through the sink that
 * main() installs with vg_log_set_sink(); vg_log_stderr_sink is the usual
 * choice. With no sink installed, lines are dropped.
 *
 * Never pass keys, sealed keys, plaintext, ciphertext or alert content:
 * identifiers appear as hex. The sink is the one mutable global (with the
 * level); set both before starting threads.
 */
#ifndef VIGIL_LIB_LOG_H
#define VIGIL_LIB_LOG_H

#include "vigil/err.h"

typedef enum vg_log_level {
    VG_LOG_DEBUG = 0,
    VG_LOG_INFO = 1,
    VG_LOG_WARN = 2,
    VG_LOG_ERROR = 3,
} vg_log_level;

/* Receives one complete line, without a trailing newline. */
typedef void (*vg_log_sink)(vg_log_level level, const char *line, void *ctx);

void vg_log_set_sink(vg_log_sink sink, void *ctx);
void vg_log_set_level(vg_log_level min_level);

/* Parses "debug", "info", "warn" or "error". */
vg_err vg_log_level_parse(vg_log_level *out, const char *text) VG_MUST_USE;

/* Writes the line and a newline to stderr. */
void vg_log_stderr_sink(vg_log_level level, const char *line, void *ctx);

/* Logs "<time> <LEVEL> <component> <msg_id> <formatted kv pairs>". */
void vg_log(vg_log_level level, const char *component, const char *msg_id, const char *kv_fmt, ...)
    VG_PRINTF(4, 5);

#endif
