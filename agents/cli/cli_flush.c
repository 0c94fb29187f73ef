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

#define S_CMD "flush"
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

/* Returns CLI_EXIT_OK to go on, -1 after --help, or an exit status. */
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
            return -1;
        } else if (c == 't') {
            if (!cli_parse_timeout(S_CMD, "--timeout", optarg, timeout_ms)) {
                return cli_usage_hint(S_CMD);
            }
        } else if (c == 'c') {
            *config = optarg;
        } else {
            return cli_bad_option(S_CMD, c, argv);
        }
    }
    if (optind < argc) {
        cli_error(S_CMD, "unexpected argument '%s'", argv[optind]);
        return cli_usage_hint(S_CMD);
    }
    return CLI_EXIT_OK;
}

int
cli_cmd_flush(const char *config, int argc, char **argv)
{
    int64_t timeout_ms = S_DEFAULT_TIMEOUT_MS;
    int rc = s_parse_args(&config, &timeout_ms, argc, argv);
    if (rc != CLI_EXIT_OK) {
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    cli_session s;
    rc = cli_session_open(&s, config, S_CMD, false);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    size_t left = 0;
    vg_reason why = {{0}};
    vg_err err = vga_flush_outbox(s.agent, timeout_ms, &left, &why);
    if (err == VG_OK || err == VG_ERR_TIMEOUT) {
        printf("%zu alert%s left in the outbox\n", left, left == 1 ? "" : "s");
        rc = left == 0 ? CLI_EXIT_OK : CLI_EXIT_PENDING;
        if (left > 0) {
            cli_error(S_CMD,
                      "the broker at %s did not confirm them in time; they stay in the outbox: "
                      "run flush again once it is reachable",
                      s.endpoint);
        }
    } else {
        cli_error(S_CMD, "cannot flush the outbox: %s (%s)", why.text, vg_err_code(err));
        rc = CLI_EXIT_FAIL;
    }
    cli_session_close(&s);
    return rc;
}
