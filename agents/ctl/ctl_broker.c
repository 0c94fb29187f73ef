/*
 * ctl_broker.c — vigilctl network push and vigilctl broker status: requests
 * on a running broker's control socket (broker/control.h: ipc://STORE/control,
 * STORE being broker.conf's store directory), on the broker's own machine.
 *
 * push verifies the document here first, against broker.conf's pinned admin
 * key, so that a mistake is named before the broker sees it; the broker then
 * checks it again and puts it in force between two batches, or refuses it
 * and keeps the one it runs (docs/deploy.md, "Changing the network").
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "ctl.h"
#include "vigil/broker_config.h"
#include "vigil/netdoc.h"
#include "vigil/util.h"
#include "vigil/wire.h"

#define S_TIMEOUT_MS 10000 /* a broker that does not answer by then is named */
#define S_REPLY_MAX 4096

static const vgt_who s_push_who = {CTL_PROGRAM, "network push"};
static const vgt_who s_status_who = {CTL_PROGRAM, "broker status"};

static const char s_push_help[] =
    "usage: vigilctl network push -c BROKER_CONF [FILE]\n"
    "\n"
    "Hands a signed network document to the running broker, which puts it in\n"
    "force between two batches without a restart: new alerts follow its policy,\n"
    "alerts accepted before keep their recipients and deadlines, a revoked\n"
    "agency's connections close at once. FILE defaults to the document broker.conf\n"
    "names ([network] document): copy the newly signed one there first, so that a\n"
    "restart keeps it. It must be signed by the admin key broker.conf pins, have a\n"
    "higher version, and keep every agency where it was (new ones at the end; a\n"
    "card is never removed or moved: revoke it). Run it on the broker's machine,\n"
    "as a user who may enter the store directory.\n"
    "\n"
    "  -c, --config BROKER_CONF  the running broker's configuration\n"
    "  -h, --help                this help\n"
    "\n"
    "Exit status: 0 in force, 1 refused or no answer (the reason is printed),\n"
    "2 bad arguments.\n";

static const char s_status_help[] =
    "usage: vigilctl broker status -c BROKER_CONF\n"
    "\n"
    "Asks the running broker what it is doing: its role, the network document in\n"
    "force, its endpoint and the size of its audit log. Run it on the broker's\n"
    "machine.\n"
    "\n"
    "  -c, --config BROKER_CONF  the running broker's configuration\n"
    "  -h, --help                this help\n"
    "\n"
    "Exit status: 0 it answered, 1 no answer, 2 bad arguments.\n";

int
ctl_control_request(const vgt_who *who, const vg_broker_config *cfg, const char *command,
                    const uint8_t *body, size_t len)
{
    char endpoint[4200];
    snprintf(endpoint, sizeof endpoint, "ipc://%s/control", cfg->store_path);
    void *ctx = zmq_ctx_new();
    void *req = ctx ? zmq_socket(ctx, ZMQ_REQ) : NULL;
    int linger = 0, timeout = S_TIMEOUT_MS;
    char reply[S_REPLY_MAX + 1] = "";
    int n = -1;
    if (req != NULL && zmq_setsockopt(req, ZMQ_LINGER, &linger, sizeof linger) == 0 &&
        zmq_setsockopt(req, ZMQ_RCVTIMEO, &timeout, sizeof timeout) == 0 &&
        zmq_setsockopt(req, ZMQ_SNDTIMEO, &timeout, sizeof timeout) == 0 &&
        zmq_connect(req, endpoint) == 0 &&
        zmq_send(req, command, strlen(command), ZMQ_SNDMORE) >= 0 &&
        zmq_send(req, body, len, 0) >= 0) {
        n = zmq_recv(req, reply, S_REPLY_MAX, 0);
    }
    int err = zmq_errno();
    if (req != NULL) {
        zmq_close(req);
    }
    if (ctx != NULL) {
        zmq_ctx_term(ctx);
    }
    if (n < 0) {
        vgt_error(who,
                  "no answer from the broker at %s within %d s (%s): is it running on this "
                  "machine, with this broker.conf, and may you enter its store directory?",
                  endpoint, S_TIMEOUT_MS / 1000, zmq_strerror(err));
        return VGT_EXIT_FAIL;
    }
    reply[n < S_REPLY_MAX ? n : S_REPLY_MAX] = '\0';
    if (strncmp(reply, "ok", 2) == 0) {
        printf("%s\n", reply);
        return VGT_EXIT_OK;
    }
    vgt_error(who, "the broker %s", reply);
    return VGT_EXIT_FAIL;
}

/* -c CONF [FILE]: the options both commands take. */
static int
s_args(const vgt_who *who, const char *help, int argc, char **argv, const char **conf,
       const char **file, bool file_allowed)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'}, {0}};
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        if (opt == 'c') {
            *conf = optarg;
        } else if (opt == 'h') {
            fputs(help, stdout);
            return VGT_HELP_SHOWN;
        } else {
            return vgt_bad_option(who, opt, argv);
        }
    }
    if (*conf == NULL) {
        return vgt_usage_error(who, "give the running broker's configuration: -c BROKER_CONF");
    }
    if (optind < argc && file_allowed) {
        *file = argv[optind++];
    }
    if (optind < argc) {
        return vgt_unexpected_argument(who, argv[optind], NULL);
    }
    return -1;
}

int
ctl_cmd_network_push(int argc, char **argv)
{
    const char *conf = NULL, *file = NULL;
    int rc = s_args(&s_push_who, s_push_help, argc, argv, &conf, &file, true);
    if (rc >= 0) {
        return rc == VGT_HELP_SHOWN ? VGT_EXIT_OK : rc;
    }
    vg_broker_config *cfg = NULL;
    vg_reason why = {{0}};
    if (vg_broker_config_load(&cfg, conf, &why) != VG_OK) {
        vgt_error(&s_push_who, "%s", why.text);
        return VGT_EXIT_FAIL;
    }
    const char *path = file != NULL ? file : cfg->document_path;
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_netdoc *doc = NULL;
    vg_err err = vg_file_read(&bytes, &len, path, VG_NETDOC_MAX_BYTES, &why);
    if (err == VG_OK) {
        err = vg_netdoc_verify(&doc, bytes, len, cfg->admin_pk, 0, &why);
    }
    if (err != VG_OK) {
        vgt_error(&s_push_who, "%s: %s (nothing was sent to the broker)", path, why.text);
        rc = VGT_EXIT_FAIL;
    } else {
        rc = ctl_control_request(&s_push_who, cfg, "push", bytes, len);
    }
    vg_netdoc_destroy(&doc);
    free(bytes);
    vg_broker_config_destroy(&cfg);
    return rc;
}

int
ctl_cmd_broker(int argc, char **argv)
{
    static const char usage[] = "usage: vigilctl broker status -c BROKER_CONF\n"
                                "       vigilctl broker rotate-keys -c BROKER_CONF [--note FILE]\n";
    static const vgt_who who = {CTL_PROGRAM, "broker"};
    if (argc < 2) {
        fputs(usage, stderr);
        return VGT_EXIT_USAGE;
    }
    if (vgt_is_help(argv[1])) {
        fputs(s_status_help, stdout);
        return VGT_EXIT_OK;
    }
    if (strcmp(argv[1], "rotate-keys") == 0) {
        return ctl_cmd_broker_rotate_keys(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "status") != 0) {
        return vgt_unknown_command(&who, argv[1], usage);
    }
    const char *conf = NULL, *file = NULL;
    int rc = s_args(&s_status_who, s_status_help, argc - 1, argv + 1, &conf, &file, false);
    if (rc >= 0) {
        return rc == VGT_HELP_SHOWN ? VGT_EXIT_OK : rc;
    }
    vg_broker_config *cfg = NULL;
    vg_reason why = {{0}};
    if (vg_broker_config_load(&cfg, conf, &why) != VG_OK) {
        vgt_error(&s_status_who, "%s", why.text);
        return VGT_EXIT_FAIL;
    }
    rc = ctl_control_request(&s_status_who, cfg, "status", (const uint8_t *)"", 0);
    vg_broker_config_destroy(&cfg);
    return rc;
}
