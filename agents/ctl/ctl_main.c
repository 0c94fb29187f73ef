/*
 * ctl_main.c — vigilctl's command dispatch and top-level help.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "ctl.h"
#include "vigil/log.h"

static const char s_usage[] =
    "usage: vigilctl COMMAND [ARGS]\n"
    "\n"
    "The vigil network administrator's tool.\n"
    "\n"
    "commands:\n"
    "  init DIR --agencies A,B,...   create a local network folder: admin key, signed\n"
    "                                network document, broker and agent configs and keys\n"
    "  init-agency DIR --id ID ...   on a new agency's own machine: its keys and\n"
    "                                agent.conf, and the card for the administrator\n"
    "  network show                  print the verified network document\n"
    "  network sign                  sign an edited network.json with a higher version\n"
    "  network push -c BROKER_CONF   put a signed document in force in the running\n"
    "                                broker, without a restart\n"
    "  network add | rotate | compromise | revoke | broker-rotate\n"
    "                                edit network.json: an agency joins, rotates or\n"
    "                                loses keys, leaves; the broker's keys rotate\n"
    "  broker status -c BROKER_CONF  what the running broker is doing\n"
    "  broker rotate-keys -c BROKER_CONF\n"
    "                                new keys for the broker, made on its machine\n"
    "  check DIR                     verify a network folder end to end\n"
    "  report --unshared             alerts a required agency did not acknowledge in\n"
    "                                time, and per-agency figures (reads the store)\n"
    "  audit verify | audit export   check the broker's audit log offline (every leaf,\n"
    "                                checkpoint and state row), or export it for auditors\n"
    "  purge -c BROKER_CONF          purge sealed content past the network document's\n"
    "                                retention now (--dry-run: list what would go)\n"
    "  hold add | remove | list      legal holds that keep an alert from being purged\n"
    "  calendar import FILE          the UK's published bank-holiday file into the\n"
    "                                network document's calendars (then sign it)\n"
    "\n"
    "'vigilctl COMMAND --help' says more about each command.\n";

int
ctl_main(int argc, char **argv)
{
    static const vgt_who who = {CTL_PROGRAM, NULL};
    vg_log_set_sink(vg_log_stderr_sink, NULL);
    vg_log_set_level(VG_LOG_WARN);
    if (argc < 2) {
        fputs(s_usage, stderr);
        return VGT_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (vgt_is_help(cmd)) {
        fputs(s_usage, stdout);
        return VGT_EXIT_OK;
    }
    if (sodium_init() < 0) {
        vgt_error(&who, "libsodium failed to initialise");
        return VGT_EXIT_FAIL;
    }
    if (strcmp(cmd, "init") == 0) {
        return ctl_cmd_init(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "init-agency") == 0) {
        return ctl_cmd_init_agency(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "network") == 0) {
        return ctl_cmd_network(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "check") == 0) {
        return ctl_cmd_check(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "report") == 0) {
        return ctl_cmd_report(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "audit") == 0) {
        return ctl_cmd_audit(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "calendar") == 0) {
        return ctl_cmd_calendar(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "broker") == 0) {
        return ctl_cmd_broker(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "purge") == 0) {
        return ctl_cmd_purge(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "hold") == 0) {
        return ctl_cmd_hold(argc - 1, argv + 1);
    }
    return vgt_unknown_command(&who, cmd, s_usage);
}
