/*
 * cli_network.c — vigil-agent network fetch: the broker's network document,
 * asked for with the agency's newest keys (vga_network_fetch).
 *
 * Every agent fetches a newer document when it connects; this is for the
 * two cases where it cannot connect as itself yet: a new agency whose own
 * copy does not list it (any command does this by itself, within 3 s), and
 * an agency that rotated its keys but ran nothing during the whole overlap,
 * so that its copy still lists keys the broker no longer admits.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "vigil/log.h"

static const vgt_who s_who = {CLI_PROGRAM, "network"};
#define S_DEFAULT_TIMEOUT_MS 10000

static const char s_help[] =
    "usage: vigil-agent -c agent.conf network fetch [--timeout T]\n"
    "\n"
    "Asks the broker for its network document with this agency's newest keys,\n"
    "checks it against the pinned admin key and keeps it (agent.conf's [network]\n"
    "document) when it is not older than the one held and lists this agency.\n"
    "For a new agency before its first run, or one whose copy is so old that\n"
    "the broker no longer admits the keys it lists.\n"
    "\n"
    "  --timeout T        how long to wait for the broker (default 10s)\n"
    "  -c, --config FILE  the agency's agent.conf\n"
    "  -h, --help         this help\n"
    "\n"
    "exit status: 0 kept; 1 refused (not signed by the admin key, older, or no\n"
    "card for this agency); 2 bad command line; 3 no answer in time; 4 agent.conf\n"
    "or keys unusable.\n";

int
cli_cmd_network(const char *config, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"timeout", required_argument, NULL, 't'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int64_t timeout_ms = S_DEFAULT_TIMEOUT_MS;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(s_help, stdout);
            return VGT_EXIT_OK;
        } else if (c == 't') {
            if (!vgt_parse_timeout(&s_who, "--timeout", optarg, &timeout_ms)) {
                return vgt_usage_hint(&s_who);
            }
        } else if (c == 'c') {
            config = optarg;
        } else {
            return vgt_bad_option(&s_who, c, argv);
        }
    }
    if (optind >= argc || strcmp(argv[optind], "fetch") != 0) {
        return vgt_usage_error(&s_who, "say what to do: network fetch");
    }
    if (++optind < argc) {
        return vgt_unexpected_argument(&s_who, argv[optind], NULL);
    }
    vga_config *cfg = NULL;
    int rc = vgt_config_load(&s_who, config, &cfg);
    if (rc != VGT_EXIT_OK) {
        return rc;
    }
    vg_log_set_sink(vg_log_stderr_sink, NULL);
    vg_log_set_level(cfg->log_level);
    vga_config_destroy(&cfg);
    uint64_t version = 0;
    vg_reason why = {{0}};
    vg_err err = vga_network_fetch(config, timeout_ms, &version, &why);
    if (err == VG_OK) {
        printf("network document version %llu kept\n", (unsigned long long)version);
        return VGT_EXIT_OK;
    }
    vgt_error(&s_who, "%s (%s)", why.text, vg_err_code(err));
    return err == VG_ERR_TIMEOUT                             ? VGT_EXIT_PENDING
           : err == VG_ERR_CONFIG || err == VG_ERR_KEY_PERMS ? VGT_EXIT_CONFIG
                                                             : VGT_EXIT_FAIL;
}
