/*
 * cli_main.c — vigil-agent's global options, command dispatch and top-level
 * help.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "vigil/log.h"

static const char s_usage[] =
    "usage: vigil-agent -c agent.conf COMMAND [ARGS]\n"
    "\n"
    "An agency's client for the vigil alert network: publish alerts, listen for\n"
    "the alerts sent to the agency, send what waits in the local outbox, and\n"
    "acknowledge, decline, share and follow alerts until every agency that must\n"
    "act has acknowledged them.\n"
    "\n"
    "commands:\n"
    "  publish --severity S --category C,... --headline TEXT [...]\n"
    "                     seal, sign and send an alert; prints its id once the\n"
    "                     broker has stored it (--json reads the alert from stdin)\n"
    "  listen [--json] [--count N] [--timeout T] [--exec CMD]\n"
    "                     print each alert sent to this agency; --exec runs CMD per\n"
    "                     alert until CMD exits 0 (at least once)\n"
    "  flush [--timeout T]\n"
    "                     send the alerts waiting in the outbox and wait for confirms\n"
    "  ack ID [--officer NAME] [--note TEXT]\n"
    "                     a named duty officer has read alert ID (signed receipt)\n"
    "  progress ID --reason TEXT\n"
    "                     alert ID is being handled (extends the deadline once)\n"
    "  decline ID --reason TEXT\n"
    "                     this agency will not act on alert ID (escalated)\n"
    "  share ID --to AGENCY --reason TEXT\n"
    "                     make another agency a required recipient of alert ID\n"
    "  status ID [--json]\n"
    "                     where alert ID stands for every agency that must act\n"
    "  outstanding [--overdue] [--json]\n"
    "                     alerts this agency sent or must acknowledge, not complete\n"
    "  events [--since SEQ] [--json] [--count N] [--timeout T]\n"
    "                     follow this agency's event stream\n"
    "  audit checkpoint [--json] | audit prove ID [--json]\n"
    "                     witness the broker's audit log: the latest checkpoint\n"
    "                     held, or proofs that alert ID's events are in the log\n"
    "  keys rotate | keys list [--json]\n"
    "                     make new keys here and print the card for the administrator;\n"
    "                     list the key sets held and what the document says of them\n"
    "  network fetch [--timeout T]\n"
    "                     the broker's network document, asked for with the newest\n"
    "                     keys (a new agency, or one whose copy is too old)\n"
    "\n"
    "options:\n"
    "  -c, --config FILE  the agency's agent.conf (vigilctl init writes one per agency)\n"
    "  -h, --help         this help\n"
    "\n"
    "exit status: 0 done (also for a second ack); 1 rejected, refused or failed;\n"
    "2 bad command line; 3 not confirmed or answered in time (a published alert is\n"
    "safe in the outbox; a receipt was not recorded) or fewer alerts or events than\n"
    "--count; 4 agent.conf, keys, network document or local store unusable.\n"
    "\n"
    "'vigil-agent COMMAND --help' says more about each command.\n";

static const struct {
    const char *name;                                      /* as typed */
    int (*run)(const char *config, int argc, char **argv); /* the command */
} s_commands[] = {
    {"publish", cli_cmd_publish},
    {"listen", cli_cmd_listen},
    {"flush", cli_cmd_flush},
    {"ack", cli_cmd_ack},
    {"progress", cli_cmd_progress},
    {"decline", cli_cmd_decline},
    {"share", cli_cmd_share},
    {"status", cli_cmd_status},
    {"outstanding", cli_cmd_outstanding},
    {"events", cli_cmd_events},
    {"audit", cli_cmd_audit},
    {"keys", cli_cmd_keys},
    {"network", cli_cmd_network},
};

static const vgt_who s_who = {CLI_PROGRAM, NULL};

/* Reads the global options before the command (getopt stops at the first
 * operand: "+"); returns the command's index in argv, or -1 with *rc set
 * when the program should exit now. */
static int
s_global_options(int argc, char **argv, const char **config, int *rc)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:c:h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(s_usage, stdout);
            *rc = VGT_EXIT_OK;
            return -1;
        }
        if (c != 'c') {
            *rc = vgt_bad_option(&s_who, c, argv);
            return -1;
        }
        *config = optarg;
    }
    if (optind >= argc) {
        fputs(s_usage, stderr);
        *rc = VGT_EXIT_USAGE;
        return -1;
    }
    return optind;
}

int
cli_main(int argc, char **argv)
{
    const char *config = NULL;
    int rc = VGT_EXIT_OK;
    int at = s_global_options(argc, argv, &config, &rc);
    if (at < 0) {
        return rc;
    }
    const char *cmd = argv[at];
    if (vgt_is_help(cmd)) {
        fputs(s_usage, stdout);
        return VGT_EXIT_OK;
    }
    signal(SIGPIPE, SIG_IGN); /* a closed stdout or --exec pipe is an error, not a death */
    if (sodium_init() < 0) {
        vgt_error(&s_who, "libsodium failed to initialise");
        return VGT_EXIT_FAIL;
    }
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++) {
        if (strcmp(cmd, s_commands[i].name) == 0) {
            return s_commands[i].run(config, argc - at, argv + at);
        }
    }
    return vgt_unknown_command(&s_who, cmd, s_usage);
}
