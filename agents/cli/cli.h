/*
 * cli.h — vigil-agent's commands and the helpers they share (internal to
 * agents/cli; not installed).
 *
 * vigil-agent is how an agency's people and systems use vigil from a shell:
 * publish an alert, listen for alerts (printing them, or handing each one
 * to a command), flush the outbox; acknowledge, report progress on,
 * decline and share alerts it received; ask the broker where an alert
 * stands (status, outstanding) and follow the agency's event stream. All
 * the work is done by libvigil-agent (vigil/agent.h); this layer parses
 * arguments, prints results on stdout and says on stderr what went wrong
 * and what to do, as "vigil-agent <command>: ...", through the agency-side
 * toolkit (agents/common/tool.h). Library log lines also go to stderr, at
 * the agent.conf's log_level. docs/agent.md is the manual.
 *
 * Exit codes are the toolkit's vgt_exit, all five of them; they are
 * stable: scripts depend on them.
 *
 * Thread rules: single-threaded (getopt and the signal flag are global).
 */
#ifndef VIGIL_AGENTS_CLI_H
#define VIGIL_AGENTS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tool.h"
#include "vigil/agent.h"
#include "vigil/err.h"

#define CLI_PROGRAM "vigil-agent"

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
int cli_cmd_audit(const char *config, int argc, char **argv);   /* cli_audit.c */
int cli_cmd_keys(const char *config, int argc, char **argv);    /* cli_keys.c */
int cli_cmd_network(const char *config, int argc, char **argv); /* cli_network.c */

/* Checks a text option for a receipt or share: present and non-empty when
 * required, at most VG_SHORT_TEXT_MAX bytes; reports a usage error naming
 * opt and returns false otherwise. */
bool cli_check_text(const vgt_who *w, const char *opt, const char *text, bool required);

/* Reports what went wrong with a receipt or share (rc is what vga_ack,
 * vga_share, ... returned, not VG_OK) and returns the exit status: the
 * broker's rejection ("vigil-agent: rejected: CODE: reason") and a local
 * refusal exit VGT_EXIT_FAIL, no answer in time VGT_EXIT_PENDING, a value
 * the library refused as invalid VGT_EXIT_USAGE. */
int cli_report_not_confirmed(const vgt_who *w, vg_err rc, const vga_confirm *res,
                             const vg_reason *why, const char *endpoint, int64_t timeout_ms);

/* An open agent and what messages need to say about it. */
typedef struct cli_session {
    vga_agent *agent;   /* the open agent; vga_agent_destroy via cli_session_close */
    char endpoint[256]; /* [broker] endpoint of agent.conf, for messages */
} cli_session;

/* Loads config, installs the stderr log sink at its log_level and opens
 * the agent (receive: ask for this agency's deliveries; events: subscribe
 * to its event stream; handover: hand alerts over at least once, or NULL)
 * through the toolkit, which says what was wrong: VGT_EXIT_USAGE when no -c
 * was given, VGT_EXIT_CONFIG (VGT_EXIT_FAIL out of memory, or another
 * process handing over on the store) when it cannot be used; VGT_EXIT_OK
 * with *s filled otherwise. */
int cli_session_open(cli_session *s, const char *config, const vgt_who *w, bool receive,
                     bool events, const vga_handover_policy *handover);

/* Closes the agent (the outbox stays on disk); NULL-safe. */
void cli_session_close(cli_session *s);

#endif
