/*
 * ctl_retain.c — vigilctl purge and vigilctl hold: retention requests on a
 * running broker's control socket (broker/retain.h), so that a purge or a
 * hold is one batch in the broker's write path, with its audit leaf
 * (docs/audit.md "Retention").
 */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

#define S_BODY_MAX 1024 /* a hold request: verb, id, by, reason */

static const vgt_who s_purge_who = {CTL_PROGRAM, "purge"};
static const vgt_who s_hold_who = {CTL_PROGRAM, "hold"};

static const char s_purge_help[] =
    "usage: vigilctl purge -c BROKER_CONF [--dry-run]\n"
    "\n"
    "Asks the running broker to purge, now, the sealed content (envelope\n"
    "ciphertext, the content keys sealed to each recipient, and shares' sealed\n"
    "keys) and the link tags of every alert past the retention the network\n"
    "document sets for its status and categories. Alerts under a legal hold, and\n"
    "alerts a recipient still waits to be delivered, are kept (and counted). Each\n"
    "purged alert gets a 'purged' audit leaf; its metadata, hashes, receipts and\n"
    "leaves stay, so 'vigilctl audit verify' and 'vigil-agent audit prove' still\n"
    "pass. The broker also purges on its own every [broker] purge_interval.\n"
    "Run it on the broker's machine.\n"
    "\n"
    "  -c, --config BROKER_CONF  the running broker's configuration\n"
    "  -n, --dry-run             list what would be purged and what is kept, change nothing\n"
    "  -h, --help                this help\n"
    "\n"
    "Exit status: 0 done (or listed), 1 refused or no answer, 2 bad arguments.\n";

static const char s_hold_help[] =
    "usage: vigilctl hold add -c BROKER_CONF ALERT_ID --reason TEXT [--by NAME]\n"
    "       vigilctl hold remove -c BROKER_CONF ALERT_ID --reason TEXT [--by NAME]\n"
    "       vigilctl hold list -c BROKER_CONF\n"
    "\n"
    "A legal hold keeps an alert's content and link tags from being purged until\n"
    "it is lifted, whatever the retention. Putting one on and lifting it are\n"
    "each recorded with an audit leaf (held, released) naming the alert and the\n"
    "hash of who asked and why; the broker keeps who and why in its store (list\n"
    "shows them). ALERT_ID is the alert's 32 hex digits.\n"
    "\n"
    "  -c, --config BROKER_CONF  the running broker's configuration\n"
    "  -r, --reason TEXT         why (a court order's reference, an inquiry): required\n"
    "  -b, --by NAME             who asks (default: your login name)\n"
    "  -h, --help                this help\n"
    "\n"
    "Exit status: 0 done, 1 refused or no answer, 2 bad arguments.\n";

/* Loads broker.conf and sends the request. */
static int
s_send(const vgt_who *who, const char *conf, const char *command, const char *body)
{
    vg_broker_config *cfg = NULL;
    vg_reason why = {{0}};
    if (vg_broker_config_load(&cfg, conf, &why) != VG_OK) {
        vgt_error(who, "%s", why.text);
        return VGT_EXIT_FAIL;
    }
    int rc = ctl_control_request(who, cfg, command, (const uint8_t *)body, strlen(body));
    vg_broker_config_destroy(&cfg);
    return rc;
}

int
ctl_cmd_purge(int argc, char **argv)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"dry-run", no_argument, NULL, 'n'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0}};
    const char *conf = NULL;
    bool dry = false;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, ":c:nh", longopts, NULL)) != -1) {
        if (opt == 'c') {
            conf = optarg;
        } else if (opt == 'n') {
            dry = true;
        } else if (opt == 'h') {
            fputs(s_purge_help, stdout);
            return VGT_EXIT_OK;
        } else {
            return vgt_bad_option(&s_purge_who, opt, argv);
        }
    }
    if (optind < argc) {
        return vgt_unexpected_argument(&s_purge_who, argv[optind], NULL);
    }
    if (conf == NULL) {
        return vgt_usage_error(&s_purge_who,
                               "give the running broker's configuration: -c BROKER_CONF");
    }
    return s_send(&s_purge_who, conf, "purge", dry ? "dry-run" : "");
}

/* Whether text is one line of printable text (the broker refuses others). */
static bool
s_printable(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return false;
        }
    }
    return text[0] != '\0';
}

int
ctl_cmd_hold(int argc, char **argv)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"reason", required_argument, NULL, 'r'},
                                             {"by", required_argument, NULL, 'b'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0}};
    if (argc < 2 || vgt_is_help(argv[1])) {
        fputs(s_hold_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? VGT_EXIT_USAGE : VGT_EXIT_OK;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "add") != 0 && strcmp(verb, "remove") != 0 && strcmp(verb, "list") != 0) {
        return vgt_unknown_command(&s_hold_who, verb, s_hold_help);
    }
    const char *conf = NULL, *reason = NULL, *by = NULL;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc - 1, argv + 1, ":c:r:b:h", longopts, NULL)) != -1) {
        if (opt == 'c') {
            conf = optarg;
        } else if (opt == 'r') {
            reason = optarg;
        } else if (opt == 'b') {
            by = optarg;
        } else if (opt == 'h') {
            fputs(s_hold_help, stdout);
            return VGT_EXIT_OK;
        } else {
            return vgt_bad_option(&s_hold_who, opt, argv + 1);
        }
    }
    if (conf == NULL) {
        return vgt_usage_error(&s_hold_who,
                               "give the running broker's configuration: -c BROKER_CONF");
    }
    bool list = strcmp(verb, "list") == 0;
    const char *id = optind < argc - 1 ? argv[1 + optind++] : NULL;
    if (optind < argc - 1 || (list && id != NULL)) {
        return vgt_unexpected_argument(&s_hold_who, list && id ? id : argv[1 + optind], NULL);
    }
    if (list) {
        return s_send(&s_hold_who, conf, "hold", "list");
    }
    if (id == NULL) {
        return vgt_usage_error(&s_hold_who, "name the alert: its 32 hex digits");
    }
    if (by == NULL) {
        const struct passwd *pw = getpwuid(getuid());
        by = pw != NULL ? pw->pw_name : "unknown";
    }
    if (reason == NULL || !s_printable(reason) || !s_printable(by)) {
        return vgt_usage_error(&s_hold_who,
                               "say why with --reason TEXT (and who with --by NAME): one line "
                               "of printable text each");
    }
    char body[S_BODY_MAX];
    int n = snprintf(body, sizeof body, "%s\n%s\n%s\n%s", verb, id, by, reason);
    if (n < 0 || (size_t)n >= sizeof body) {
        return vgt_usage_error(&s_hold_who, "--by and --reason are too long (%d bytes at most)",
                               S_BODY_MAX - 64);
    }
    return s_send(&s_hold_who, conf, "hold", body);
}
