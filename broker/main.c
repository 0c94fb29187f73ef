/* vigil-broker — parses arguments, sets up, and hands over to vgb_broker_run. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "broker.h"
#include "ha.h"
#include "vigil/broker_config.h"
#include "vigil/log.h"

static volatile sig_atomic_t s_stop;
static volatile sig_atomic_t s_reload;

static void
s_on_signal(int sig)
{
    if (sig == SIGHUP) {
        s_reload = 1;
    } else {
        s_stop = 1;
    }
}

/* Every connection, handshaken or not, holds a descriptor: with the usual
 * soft limit of 1024, a thousand idle TCP connections would lock every new
 * agency out. Take what the hard limit allows (the systemd unit sets
 * LimitNOFILE), and say what it is. */
static void
s_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &want) == 0) {
            rl = want;
        } else {
            vg_log(VG_LOG_WARN, "broker", "broker.fds", "detail=cannot_raise errno=%d", errno);
        }
    }
    vg_log(rl.rlim_cur < 4096 ? VG_LOG_WARN : VG_LOG_INFO, "broker", "broker.fds", "limit=%llu%s",
           (unsigned long long)rl.rlim_cur,
           rl.rlim_cur < 4096 ? " detail=low_see_docs_deploy_LimitNOFILE" : "");
}

static void
s_usage(FILE *to)
{
    fprintf(to, "usage: vigil-broker -c broker.conf\n"
                "\n"
                "Runs the vigil broker in the foreground, logging to stderr. It routes signed,\n"
                "end-to-end encrypted alerts between the agencies of its network document,\n"
                "stores them durably before confirming, and delivers each one to every\n"
                "recipient agency until that agency receipts it.\n"
                "\n"
                "  -c, --config FILE   broker configuration (vigilctl init writes one)\n"
                "  -h, --help          this text\n"
                "\n"
                "With [store] backend = postgresql several brokers share one database and\n"
                "exactly one leads (docs/ha.md): the others are standbys that answer every\n"
                "request with not_leader (naming the leader) and take over when it goes.\n"
                "`vigilctl broker status` says which this one is.\n"
                "SIGTERM or SIGINT stops it cleanly: the batch in hand is committed first.\n"
                "SIGHUP (systemctl reload) puts the network document named in the config in\n"
                "force without a restart, as `vigilctl network push` does; a document it\n"
                "refuses is logged and the running one stays.\n"
                "Exit status: 0 after a clean stop, 1 when it cannot start (the reason is\n"
                "logged), 2 for bad arguments.\n");
}

int
main(int argc, char **argv)
{
    const char *conf = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            s_usage(stdout);
            return 0;
        }
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            conf = argv[++i];
        } else {
            fprintf(stderr, "vigil-broker: unexpected argument '%s'\n", argv[i]);
            s_usage(stderr);
            return 2;
        }
    }
    if (conf == NULL) {
        fprintf(stderr, "vigil-broker: -c broker.conf is required\n");
        s_usage(stderr);
        return 2;
    }
    vg_log_set_sink(vg_log_stderr_sink, NULL);
    vg_reason why = {{0}};
    vg_broker_config *cfg = NULL;
    vg_err rc = vg_broker_config_load(&cfg, conf, &why);
    if (rc != VG_OK) {
        vg_log(VG_LOG_ERROR, "broker", "broker.config", "code=%s reason=\"%s\"", vg_err_code(rc),
               why.text);
        return 1;
    }
    vg_log_set_level(cfg->log_level);
    s_raise_fd_limit();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (cfg->store_backend == VG_STORE_POSTGRESQL) { /* one of several: standby or leader */
        rc = vgb_ha_run(cfg, vg_clock_system(), &s_stop, &s_reload, &why);
        if (rc != VG_OK) {
            vg_log(VG_LOG_ERROR, "broker", "broker.start", "code=%s reason=\"%s\"", vg_err_code(rc),
                   why.text);
        }
        vg_broker_config_destroy(&cfg);
        return rc == VG_OK ? 0 : 1;
    }
    vgb_broker *b = NULL;
    rc = vgb_broker_new(&b, cfg, vg_clock_system(), &why);
    if (rc != VG_OK) {
        vg_log(VG_LOG_ERROR, "broker", "broker.start", "code=%s reason=\"%s\"", vg_err_code(rc),
               why.text);
        vg_broker_config_destroy(&cfg);
        return 1;
    }
    rc = vgb_broker_run(b, &s_stop, &s_reload);
    vgb_broker_destroy(&b);
    vg_broker_config_destroy(&cfg);
    return rc == VG_OK ? 0 : 1;
}
