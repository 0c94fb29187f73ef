/*
 * cli_ack.c — vigil-agent ack, progress and decline: the receipts from
 * people, signed by this agency and confirmed by the broker.
 *
 * The one-line result goes to stdout only once the broker has confirmed
 * it, so a script can trust exit 0. Acknowledging twice is harmless: the
 * broker answers that it already has it, and that exits 0 too. An officer
 * must be named: --officer, else $VIGIL_OFFICER, else the login name — an
 * acknowledgement by nobody proves nothing, so it is refused.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "vigil/wire.h"

#define S_DEFAULT_TIMEOUT_MS 10000

/* Which receipt a command sends. */
typedef enum s_kind {
    S_ACK,      /* a named officer read it */
    S_PROGRESS, /* being handled; extends the deadline once */
    S_DECLINE,  /* will not act */
} s_kind;

static const char s_help_ack[] =
    "usage: vigil-agent -c agent.conf ack ID [--officer NAME] [--note TEXT] [--timeout T]\n"
    "\n"
    "Tells the broker, in a receipt signed by this agency, that a named duty officer\n"
    "has read alert ID (it must have reached this agency: run 'listen' first). The\n"
    "sender and every agency tracking the alert see it. Prints\n"
    "'acknowledged ID as AGENCY by NAME'; acknowledging again is harmless and prints\n"
    "'already acknowledged ...'.\n"
    "\n"
    "  --officer NAME     who read it (default $VIGIL_OFFICER, else the login name;\n"
    "                     refused when there is none)\n"
    "  --note TEXT        what the officer wants the record to say\n"
    "  --timeout T        how long to wait for the broker's confirm (default 10s)\n"
    "  -c, --config FILE  the agency's agent.conf\n"
    "  -h, --help         this help\n"
    "\n"
    "exit status: 0 recorded (or already acknowledged); 1 rejected by the broker\n"
    "('vigil-agent: rejected: CODE: reason') or refused (e.g. the alert is not in\n"
    "this agency's inbox); 2 bad command line (an ID that is not 32 hex characters,\n"
    "no officer); 3 no answer in time (nothing recorded: run it again); 4 agent.conf,\n"
    "keys or store unusable.\n";

static const char s_help_progress[] =
    "usage: vigil-agent -c agent.conf progress ID --reason TEXT [--timeout T]\n"
    "\n"
    "Tells the broker, in a receipt signed by this agency, that alert ID is being\n"
    "handled and why it is not acknowledged yet. The first one extends this agency's\n"
    "deadline once; later ones are recorded without extending it again. Prints\n"
    "'in progress ID as AGENCY: ...' with what the broker did.\n"
    "\n"
    "  --reason TEXT      why (required)\n"
    "  --timeout T        how long to wait for the broker's confirm (default 10s)\n"
    "  -c, --config FILE  the agency's agent.conf\n"
    "  -h, --help         this help\n"
    "\n"
    "exit status: as for ack.\n";

static const char s_help_decline[] =
    "usage: vigil-agent -c agent.conf decline ID --reason TEXT [--timeout T]\n"
    "\n"
    "Tells the broker, in a receipt signed by this agency, that it will not act on\n"
    "alert ID, and why. A decline is an end state: the sender sees it and it is\n"
    "escalated like an overdue alert. Prints 'declined ID as AGENCY: REASON'.\n"
    "\n"
    "  --reason TEXT      why (required)\n"
    "  --timeout T        how long to wait for the broker's confirm (default 10s)\n"
    "  -c, --config FILE  the agency's agent.conf\n"
    "  -h, --help         this help\n"
    "\n"
    "exit status: as for ack.\n";

typedef struct s_opts {
    s_kind kind;                 /* the command */
    vgt_who who;                 /* vigil-agent and the command's name */
    const char *config;          /* -c, overriding the global one */
    const char *officer;         /* --officer or its default */
    const char *note;            /* --note */
    const char *reason;          /* --reason */
    int64_t timeout_ms;          /* --timeout */
    uint8_t id[VG_ALERT_ID_LEN]; /* the alert */
} s_opts;

/* The officer when --officer is not given: the environment, then the login. */
static const char *
s_default_officer(void)
{
    const char *names[] = {getenv("VIGIL_OFFICER"), getenv("USER"), NULL};
    for (size_t i = 0; i < 2; i++) {
        if (names[i] != NULL && names[i][0] != '\0') {
            return names[i];
        }
    }
    const char *login = getlogin();
    return login != NULL && login[0] != '\0' ? login : NULL;
}

/* What the command needs besides the id; false after reporting it. */
static bool
s_check_texts(s_opts *o)
{
    if (o->kind != S_ACK) {
        return cli_check_text(&o->who, "--reason", o->reason, true);
    }
    if (o->officer == NULL) {
        o->officer = s_default_officer();
    }
    if (o->officer == NULL) {
        vgt_error(&o->who, "who read it? give --officer NAME (or set VIGIL_OFFICER): an "
                           "acknowledgement must name the duty officer");
        return false;
    }
    return cli_check_text(&o->who, "--officer", o->officer, true) &&
           cli_check_text(&o->who, "--note", o->note, false);
}

/* Returns VGT_EXIT_OK to go on, VGT_HELP_SHOWN after --help, or an exit status. */
static int
s_parse_args(s_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"officer", required_argument, NULL, 'o'},
        {"note", required_argument, NULL, 'n'},
        {"reason", required_argument, NULL, 'r'},
        {"timeout", required_argument, NULL, 't'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        bool for_ack = c == 'o' || c == 'n';
        if (c == 'h') {
            fputs(o->kind == S_ACK        ? s_help_ack
                  : o->kind == S_PROGRESS ? s_help_progress
                                          : s_help_decline,
                  stdout);
            return VGT_HELP_SHOWN;
        } else if ((c == 'o' || c == 'n' || c == 'r') && for_ack != (o->kind == S_ACK)) {
            return vgt_usage_error(&o->who, "option '%s' is not for %s", argv[optind - 1],
                                   o->who.command);
        } else if (c == 'o') {
            o->officer = optarg;
        } else if (c == 'n') {
            o->note = optarg;
        } else if (c == 'r') {
            o->reason = optarg;
        } else if (c == 't') {
            if (!vgt_parse_timeout(&o->who, "--timeout", optarg, &o->timeout_ms)) {
                return vgt_usage_hint(&o->who);
            }
        } else if (c == 'c') {
            o->config = optarg;
        } else {
            return vgt_bad_option(&o->who, c, argv);
        }
    }
    if (!vgt_take_alert_id(&o->who, argc, argv, o->id) || !s_check_texts(o)) {
        return vgt_usage_hint(&o->who);
    }
    return VGT_EXIT_OK;
}

/* The one line that says what the broker recorded. */
static void
s_print_result(const s_opts *o, const vga_confirm *res, const char *agency)
{
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, o->id);
    char said[VG_REASON_MAX];
    vgt_one_line(said, sizeof said, res->reason.text);
    if (res->duplicate) {
        printf("already acknowledged %s as %s%s%s%s\n", idhex, agency, said[0] ? " (" : "", said,
               said[0] ? ")" : "");
    } else if (o->kind == S_ACK) {
        printf("acknowledged %s as %s by %s\n", idhex, agency, o->officer);
    } else if (o->kind == S_PROGRESS) {
        printf("in progress %s as %s: %s\n", idhex, agency, said[0] ? said : "recorded");
    } else {
        printf("declined %s as %s: %s\n", idhex, agency, o->reason);
    }
}

static int
s_send(const s_opts *o)
{
    cli_session s;
    int rc = cli_session_open(&s, o->config, &o->who, false, false, NULL);
    if (rc != VGT_EXIT_OK) {
        return rc;
    }
    vga_confirm res;
    vg_reason why = {{0}};
    vg_err err;
    if (o->kind == S_ACK) {
        err = vga_ack(s.agent, o->id, o->officer, o->note, o->timeout_ms, &res, &why);
    } else if (o->kind == S_PROGRESS) {
        err = vga_progress(s.agent, o->id, o->reason, o->timeout_ms, &res, &why);
    } else {
        err = vga_decline(s.agent, o->id, o->reason, o->timeout_ms, &res, &why);
    }
    if (err == VG_OK) {
        s_print_result(o, &res, vga_agent_agency(s.agent));
        rc = fflush(stdout) == 0 ? VGT_EXIT_OK : VGT_EXIT_FAIL;
    } else {
        rc = cli_report_not_confirmed(&o->who, err, &res, &why, s.endpoint, o->timeout_ms);
    }
    vga_confirm_fini(&res);
    cli_session_close(&s);
    return rc;
}

static int
s_run(s_kind kind, const char *cmd, const char *config, int argc, char **argv)
{
    s_opts o = {.kind = kind,
                .who = {CLI_PROGRAM, cmd},
                .config = config,
                .timeout_ms = S_DEFAULT_TIMEOUT_MS};
    int rc = s_parse_args(&o, argc, argv);
    if (rc != VGT_EXIT_OK) {
        return rc == VGT_HELP_SHOWN ? VGT_EXIT_OK : rc;
    }
    return s_send(&o);
}

int
cli_cmd_ack(const char *config, int argc, char **argv)
{
    return s_run(S_ACK, "ack", config, argc, argv);
}

int
cli_cmd_progress(const char *config, int argc, char **argv)
{
    return s_run(S_PROGRESS, "progress", config, argc, argv);
}

int
cli_cmd_decline(const char *config, int argc, char **argv)
{
    return s_run(S_DECLINE, "decline", config, argc, argv);
}
