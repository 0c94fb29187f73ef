/*
 * tool.h — the toolkit of the agency-side programs: vigil-agent, vigilctl
 * and vigil-console (internal to agents/; not installed).
 *
 * What it is for: the three programs speak to people the same way. Errors
 * go to stderr as one line, "PROGRAM COMMAND: what was wrong: what to do";
 * a usage mistake is followed by "see 'PROGRAM COMMAND --help'"; exit codes
 * come from one vocabulary (vgt_exit) of which each program documents the
 * part it uses; option values every program takes (durations, counts,
 * times, alert ids) are parsed, and their mistakes reported, by one
 * function each. It also holds what the programs that open an agent share:
 * loading agent.conf and opening the agent with the same messages, the
 * stop-on-signal flag, and the text helpers for one line of output.
 *
 * Why a library of its own and not part of libvigil-agent: everything here
 * writes to stderr and chooses process exit codes. That is what a program
 * does, never what a library may do that an agency links into its own
 * systems (the HTTP gateway, a case-management adapter), which report in
 * their own way. It sits above libvigil-agent and libvigil and below the
 * three programs; nothing in lib/ or agents/lib/ depends on it.
 *
 * Owns nothing between calls. Thread rules: single-threaded (getopt's
 * state and the stop flag are process-wide).
 */
#ifndef VIGIL_AGENTS_COMMON_TOOL_H
#define VIGIL_AGENTS_COMMON_TOOL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/agent.h"
#include "vigil/agent_config.h"
#include "vigil/clock.h"
#include "vigil/err.h"

/*
 * Exit codes. Scripts depend on them, so they are stable. Each program
 * uses the part its manual documents: vigil-agent all of them
 * (docs/agent.md), vigil-console 0, 1, 2 and 4 (docs/console.md), vigilctl
 * 0, 1 and 2 (docs/vigilctl.md).
 */
typedef enum vgt_exit {
    VGT_EXIT_OK = 0,      /* done */
    VGT_EXIT_FAIL = 1,    /* rejected, refused, or something failed */
    VGT_EXIT_USAGE = 2,   /* the command line (or the input it names) was wrong */
    VGT_EXIT_PENDING = 3, /* not confirmed or answered in time; fewer than --count came */
    VGT_EXIT_CONFIG = 4,  /* agent.conf, keys, network document or local store unusable */
} vgt_exit;

/* What an argument parser returns after printing --help: the caller exits
 * VGT_EXIT_OK without doing anything else. Never an exit code. */
#define VGT_HELP_SHOWN (-1)

/* Who is speaking: the program and the command being run. */
typedef struct vgt_who {
    const char *program; /* "vigil-agent", "vigilctl", "vigil-console" */
    const char *command; /* "listen", "network sign"; NULL for the program itself */
} vgt_who;

/* ---- messages ----------------------------------------------------------------------- */

/* Prints "PROGRAM COMMAND: <message>\n" (or "PROGRAM: ...") to stderr. The
 * message says what was wrong and, after a colon or a semicolon, what to do. */
void vgt_error(const vgt_who *w, const char *fmt, ...) VG_PRINTF(2, 3);

/* Prints "see 'PROGRAM COMMAND --help'" to stderr; returns VGT_EXIT_USAGE. */
int vgt_usage_hint(const vgt_who *w);

/* vgt_error, then vgt_usage_hint: a wrong command line in one call;
 * returns VGT_EXIT_USAGE. */
int vgt_usage_error(const vgt_who *w, const char *fmt, ...) VG_PRINTF(2, 3);

/* Reports what getopt_long returned for a bad option (c is '?' for an
 * unknown option, ':' for a missing value; the optstring must start with
 * ':' and opterr be 0) as a usage error; returns VGT_EXIT_USAGE. */
int vgt_bad_option(const vgt_who *w, int c, char **argv);

/* The first operand left after the options (argv[optind] onward) that
 * nothing takes: reports "unexpected argument 'X'" and the hint (hint, may
 * be NULL, follows in parentheses); returns VGT_EXIT_USAGE. */
int vgt_unexpected_argument(const vgt_who *w, const char *arg, const char *hint);

/* An unknown command or subcommand: "PROGRAM [COMMAND]: unknown command
 * 'NAME'", then usage, all on stderr; returns VGT_EXIT_USAGE. */
int vgt_unknown_command(const vgt_who *w, const char *name, const char *usage);

/* True for "-h", "--help" and "help". */
bool vgt_is_help(const char *arg);

/* ---- option values: each reports its own mistake (a usage error naming
 * opt) and returns false; out is written only on success. -------------- */

/* A duration for --timeout and the like: "10s", "500ms", "2m", "1h", "1d"
 * (vg_duration_parse); a bare number is seconds. */
bool vgt_parse_timeout(const vgt_who *w, const char *opt, const char *text, int64_t *out_ms);

/* A whole number in [min, max] (decimal digits only; no sign). */
bool vgt_parse_count(const vgt_who *w, const char *opt, const char *text, uint64_t min,
                     uint64_t max, uint64_t *out);

/* A time (vg_time_parse with forms): RFC 3339, or also a bare date. */
bool vgt_parse_time(const vgt_who *w, const char *opt, const char *text, vg_time_forms forms,
                    int64_t *out_ms);

/* An alert id: exactly 32 hex characters. */
bool vgt_parse_alert_id(const vgt_who *w, const char *text, uint8_t out[VG_ALERT_ID_LEN]);

/* Takes the one ID operand left after the options (argv[optind]); reports a
 * missing or extra operand, or one that is not an alert id. */
bool vgt_take_alert_id(const vgt_who *w, int argc, char **argv, uint8_t out[VG_ALERT_ID_LEN]);

/* ---- opening an agent ---------------------------------------------------------------- */

/* Loads agent.conf. config NULL (no -c given) is a usage error: "say which
 * agency you are: PROGRAM -c path/to/agent.conf COMMAND ..." and
 * VGT_EXIT_USAGE. An unusable file is VGT_EXIT_CONFIG after "cannot use
 * FILE: why (code)". VGT_EXIT_OK with *out to vga_config_destroy. */
int vgt_config_load(const vgt_who *w, const char *config, vga_config **out);

/* Opens the agent of agent.conf (vga_agent_open). VGT_EXIT_CONFIG after
 * "cannot start the agent from FILE: why (code); check the network folder
 * with 'vigilctl check DIR'"; VGT_EXIT_FAIL when out of memory, or after
 * the reason alone when another process holds the store's hand-over lock
 * (VG_ERR_CONFLICT); VGT_EXIT_OK with *out to vga_agent_destroy. */
int vgt_agent_open(const vgt_who *w, const char *config, const vga_options *opts, vga_agent **out);

/* ---- signals ------------------------------------------------------------------------- */

/* Set by SIGINT or SIGTERM once vgt_stop_on_signals() installed the
 * handlers (without SA_RESTART: a blocked wait returns early). */
extern volatile sig_atomic_t vgt_stop;
void vgt_stop_on_signals(void);

/* ---- text for people ----------------------------------------------------------------- */

/* A span of time: "45s", "5m12s", "2h03m", "3d04h"; a negative span is
 * formatted by its size. out_len >= VGT_SPAN_LEN. */
#define VGT_SPAN_LEN 32
void vgt_format_span(char *out, size_t out_len, int64_t ms);

/* Copies text for one line of output: control characters become '?' and
 * newlines and tabs ' ' (text from another agency must not drive the
 * terminal); truncated to out_len - 1 bytes, with "..." when cut, never in
 * the middle of a UTF-8 character. NULL is "". */
void vgt_one_line(char *out, size_t out_len, const char *text);

#endif
