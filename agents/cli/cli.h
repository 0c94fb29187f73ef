/*
 * cli.h — vigil-agent's commands and the helpers they share (internal to
 * agents/cli; not installed).
 *
 * vigil-agent is how an agency's people and systems use vigil from a shell:
 * publish an alert, listen for alerts (printing them, or handing each one
 * to a command), flush the outbox; acknowledge, report progress on,
 * decline and share alerts it received; ask the broker where an alert
 * stands (status, outstanding) and follow the agency's event stream. All the work is done by
 * libvigil-agent (vigil/agent.h); this layer parses arguments, prints results on stdout and says on
 * stderr what went wrong and what to do, as "vigil-agent <command>: ...". Library log lines also go
 * to stderr, at the agent.conf's log_level. docs/agent.md is the manual.
 *
 * Exit codes are stable: scripts depend on them.
 *
 * Thread rules: single-threaded (getopt and the signal flag are global).
 */
#ifndef VIGIL_AGENTS_CLI_H
#define VIGIL_AGENTS_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/agent.h"
#include "vigil/err.h"

#define CLI_EXIT_OK 0      /* done: published and confirmed, listened, flushed, receipted */
#define CLI_EXIT_FAIL 1    /* the broker rejected it or refused, or something failed */
#define CLI_EXIT_USAGE 2   /* the command line was wrong */
#define CLI_EXIT_PENDING 3 /* not confirmed or answered in time, too few alerts or events */
#define CLI_EXIT_CONFIG 4  /* agent.conf, keys, network document or store unusable */

/* Entry point: argv[0] is the program. */
int cli_main(int argc, char **argv);

/* Commands: argv[0] is the command name; config is the global -c (NULL when
 * not given; a command's own -c overrides it). */
int cli_cmd_publish(const char *config, int argc, char **argv);
int cli_cmd_listen(const char *config, int argc, char **argv);
int cli_cmd_flush(const char *config, int argc, char **argv);
int cli_cmd_ack(const char *config, int argc, char **argv);      /* cli_ack.c */
int cli_cmd_progress(const char *config, int argc, char **argv); /* cli_ack.c */
int cli_cmd_decline(const char *config, int argc, char **argv);  /* cli_ack.c */
int cli_cmd_share(const char *config, int argc, char **argv);
int cli_cmd_status(const char *config, int argc, char **argv);      /* cli_status.c */
int cli_cmd_outstanding(const char *config, int argc, char **argv); /* cli_status.c */
int cli_cmd_events(const char *config, int argc, char **argv);
int cli_cmd_audit(const char *config, int argc, char **argv); /* cli_audit.c */

/* Prints "vigil-agent <what>: <message>\n" to stderr. */
void cli_error(const char *what, const char *fmt, ...) VG_PRINTF(2, 3);

/* Prints "see 'vigil-agent <what> --help'" and returns CLI_EXIT_USAGE. */
int cli_usage_hint(const char *what);

/* Reports a getopt_long failure (c is what it returned; optstring must
 * start with ':') and returns CLI_EXIT_USAGE. */
int cli_bad_option(const char *what, int c, char **argv);

/* Parses a --timeout value ("10s", "500ms", "2m"; a bare number is seconds)
 * into *out_ms; reports a usage error naming opt and returns false. */
bool cli_parse_timeout(const char *what, const char *opt, const char *text, int64_t *out_ms);

/* Parses an alert id (32 hex characters) into out; reports a usage error
 * naming the command and returns false otherwise. */
bool cli_parse_alert_id(const char *what, const char *text, uint8_t out[VG_ALERT_ID_LEN]);

/* Takes the one ID operand left after the options (argv[optind]); reports
 * a missing or extra operand and returns false. */
bool cli_take_alert_id(const char *what, int argc, char **argv, uint8_t out[VG_ALERT_ID_LEN]);

/* Checks a text option for a receipt or share: present and non-empty when
 * required, at most VG_SHORT_TEXT_MAX bytes; reports a usage error naming
 * opt and returns false otherwise. */
bool cli_check_text(const char *what, const char *opt, const char *text, bool required);

/* A span of time for people: "45s", "5m12s", "2h03m", "3d04h"; negative
 * spans are formatted by their size. */
void cli_format_span(char *out, size_t out_len, int64_t ms);

/* Copies text for one line of output: control characters become '?' and
 * newlines ' ' (text from another agency must not drive the terminal);
 * truncated to out_len - 1 bytes, with "..." when cut. */
void cli_one_line(char *out, size_t out_len, const char *text);

/* Reports what went wrong with a receipt or share (rc is what vga_ack,
 * vga_share, ... returned, not VG_OK) and returns the exit status: the
 * broker's rejection ("vigil-agent: rejected: CODE: reason") and a local
 * refusal exit CLI_EXIT_FAIL, no answer in time CLI_EXIT_PENDING, a value
 * the library refused as invalid CLI_EXIT_USAGE. */
int cli_report_not_confirmed(const char *what, vg_err rc, const vga_confirm *res,
                             const vg_reason *why, const char *endpoint, int64_t timeout_ms);

/* An open agent and what messages need to say about it. */
typedef struct cli_session {
    vga_agent *agent;   /* the open agent; vga_agent_destroy via cli_session_close */
    char endpoint[256]; /* [broker] endpoint of agent.conf, for messages */
} cli_session;

/* Loads config, installs the stderr log sink at its log_level and opens
 * the agent (receive: ask for this agency's deliveries). On failure prints
 * what was wrong and returns CLI_EXIT_CONFIG (CLI_EXIT_USAGE when no -c was
 * given); CLI_EXIT_OK with *s filled otherwise. */
int cli_session_open(cli_session *s, const char *config, const char *what, bool receive);

/* cli_session_open, also subscribing to the agency's event stream when
 * events is true (vga_options.events). */
int cli_session_open_with(cli_session *s, const char *config, const char *what, bool receive,
                          bool events);

/* Closes the agent (the outbox stays on disk); NULL-safe. */
void cli_session_close(cli_session *s);

/* Set by SIGINT/SIGTERM once cli_stop_on_signals() installed the handlers. */
extern volatile sig_atomic_t cli_stop;
void cli_stop_on_signals(void);

#endif
