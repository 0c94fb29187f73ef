/*
 * cli_share.c — vigil-agent share: onward sharing of an alert this agency
 * received with another agency, which then must acknowledge it too.
 *
 * The library seals the alert's content key to the new agency in a share
 * record signed by this agency; the broker adds that agency as a required
 * recipient with its own deadline and delivers the original envelope with
 * the record. Sharing with the sender or with an agency that already has
 * the alert is refused before anything is sent.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "vigil/wire.h"

static const vgt_who s_who = {CLI_PROGRAM, "share"};
#define S_DEFAULT_TIMEOUT_MS 10000

static const char s_help[] =
    "usage: vigil-agent -c agent.conf share ID --to AGENCY --reason TEXT [--timeout T]\n"
    "\n"
    "Shares alert ID, which this agency received, with AGENCY: its content key is\n"
    "sealed to AGENCY in a share record signed by this agency, and the broker makes\n"
    "AGENCY a required recipient with its own deadline. Prints\n"
    "'shared ID with AGENCY as THIS-AGENCY'. Sharing again with an agency the broker\n"
    "already added is harmless and prints 'already shared ...'.\n"
    "\n"
    "  --to AGENCY        the agency to share with ('vigilctl network show' lists them)\n"
    "  --reason TEXT      why it must see the alert (required)\n"
    "  --timeout T        how long to wait for the broker's confirm (default 10s)\n"
    "  -c, --config FILE  the agency's agent.conf\n"
    "  -h, --help         this help\n"
    "\n"
    "exit status: 0 shared (or already shared); 1 rejected by the broker\n"
    "('vigil-agent: rejected: CODE: reason') or refused (AGENCY sent the alert or\n"
    "already receives it, the alert is not in this agency's inbox, it reached this\n"
    "agency through a share); 2 bad command line or unknown AGENCY; 3 no answer in\n"
    "time (nothing recorded: run it again); 4 agent.conf, keys or store unusable.\n";

typedef struct s_opts {
    const char *config;          /* -c, overriding the global one */
    const char *to;              /* --to */
    const char *reason;          /* --reason */
    int64_t timeout_ms;          /* --timeout */
    uint8_t id[VG_ALERT_ID_LEN]; /* the alert */
} s_opts;

/* Returns VGT_EXIT_OK to go on, VGT_HELP_SHOWN after --help, or an exit status. */
static int
s_parse_args(s_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"to", required_argument, NULL, 'T'},      {"reason", required_argument, NULL, 'r'},
        {"timeout", required_argument, NULL, 't'}, {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(s_help, stdout);
            return VGT_HELP_SHOWN;
        } else if (c == 'T') {
            o->to = optarg;
        } else if (c == 'r') {
            o->reason = optarg;
        } else if (c == 't') {
            if (!vgt_parse_timeout(&s_who, "--timeout", optarg, &o->timeout_ms)) {
                return vgt_usage_hint(&s_who);
            }
        } else if (c == 'c') {
            o->config = optarg;
        } else {
            return vgt_bad_option(&s_who, c, argv);
        }
    }
    if (!vgt_take_alert_id(&s_who, argc, argv, o->id) ||
        !cli_check_text(&s_who, "--to AGENCY", o->to, true) ||
        !cli_check_text(&s_who, "--reason", o->reason, true)) {
        return vgt_usage_hint(&s_who);
    }
    return VGT_EXIT_OK;
}

int
cli_cmd_share(const char *config, int argc, char **argv)
{
    s_opts o = {.config = config, .timeout_ms = S_DEFAULT_TIMEOUT_MS};
    int rc = s_parse_args(&o, argc, argv);
    if (rc != VGT_EXIT_OK) {
        return rc == VGT_HELP_SHOWN ? VGT_EXIT_OK : rc;
    }
    cli_session s;
    rc = cli_session_open(&s, o.config, &s_who, false, false, NULL);
    if (rc != VGT_EXIT_OK) {
        return rc;
    }
    vga_confirm res;
    vg_reason why = {{0}};
    vg_err err = vga_share(s.agent, o.id, o.to, o.reason, o.timeout_ms, &res, &why);
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, o.id);
    if (err == VG_OK && res.duplicate) {
        char said[VG_REASON_MAX];
        vgt_one_line(said, sizeof said, res.reason.text);
        printf("already shared %s with %s (%s)\n", idhex, o.to, said);
    } else if (err == VG_OK) {
        printf("shared %s with %s as %s\n", idhex, o.to, vga_agent_agency(s.agent));
    } else if (err == VG_ERR_NOT_FOUND && res.code == VG_OK) {
        vgt_error(&s_who, "--to: %s", why.text);
        rc = vgt_usage_hint(&s_who);
    } else {
        rc = cli_report_not_confirmed(&s_who, err, &res, &why, s.endpoint, o.timeout_ms);
    }
    if (err == VG_OK && fflush(stdout) != 0) {
        rc = VGT_EXIT_FAIL;
    }
    vga_confirm_fini(&res);
    cli_session_close(&s);
    return rc;
}
