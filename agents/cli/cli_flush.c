/*
 * cli_flush.c — vigil-agent flush: sends what waits in the outbox and waits
 * for the broker's confirms.
 *
 * Any agent process sends the outbox when it connects; flush is the one
 * that does only that, for scripts and for the operator who was told "the
 * alert is safe in the outbox".
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

static const vgt_who s_who = {CLI_PROGRAM, "flush"};
#define S_DEFAULT_TIMEOUT_MS 10000

static const char s_help[] =
    "usage: vigil-agent -c agent.conf flush [--timeout T]\n"
    "\n"
    "Sends every alert waiting in this agency's outbox (alerts whose publish was not\n"
    "confirmed, e.g. because the broker was unreachable) with the same id and bytes,\n"
    "waits for the broker's confirms, and prints how many are left.\n"
    "\n"
    "  --timeout T        how long to wait for the confirms (default 10s)\n"
    "  -c, --config FILE  the agency's agent.conf\n"
    "  -h, --help         this help\n"
    "\n"
    "exit status: 0 the outbox is empty; 1 failed; 2 bad command line; 3 alerts are\n"
    "still waiting (they stay safe in the outbox); 4 agent.conf, keys or store\n"
    "unusable.\n";

/* Returns VGT_EXIT_OK to go on, VGT_HELP_SHOWN after --help, or an exit status. */
static int
s_parse_args(const char **config, int64_t *timeout_ms, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"timeout", required_argument, NULL, 't'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(s_help, stdout);
            return VGT_HELP_SHOWN;
        } else if (c == 't') {
            if (!vgt_parse_timeout(&s_who, "--timeout", optarg, timeout_ms)) {
                return vgt_usage_hint(&s_who);
            }
        } else if (c == 'c') {
            *config = optarg;
        } else {
            return vgt_bad_option(&s_who, c, argv);
        }
    }
    if (optind < argc) {
        return vgt_unexpected_argument(&s_who, argv[optind], NULL);
    }
    return VGT_EXIT_OK;
}

int
cli_cmd_flush(const char *config, int argc, char **argv)
{
    int64_t timeout_ms = S_DEFAULT_TIMEOUT_MS;
    int rc = s_parse_args(&config, &timeout_ms, argc, argv);
    if (rc != VGT_EXIT_OK) {
        return rc == VGT_HELP_SHOWN ? VGT_EXIT_OK : rc;
    }
    cli_session s;
    rc = cli_session_open(&s, config, &s_who, false, false, NULL);
    if (rc != VGT_EXIT_OK) {
        return rc;
    }
    size_t left = 0;
    vg_reason why = {{0}};
    vg_err err = vga_flush_outbox(s.agent, timeout_ms, &left, &why);
    if (err == VG_OK || err == VG_ERR_TIMEOUT) {
        printf("%zu alert%s left in the outbox\n", left, left == 1 ? "" : "s");
        rc = left == 0 ? VGT_EXIT_OK : VGT_EXIT_PENDING;
        if (left > 0) {
            vgt_error(&s_who,
                      "the broker at %s did not confirm them in time; they stay in the outbox: "
                      "run flush again once it is reachable",
                      s.endpoint);
        }
    } else {
        vgt_error(&s_who, "cannot flush the outbox: %s (%s)", why.text, vg_err_code(err));
        rc = VGT_EXIT_FAIL;
    }
    cli_session_close(&s);
    return rc;
}
