/*
 * cli_util.c — messages, option values, opening the agent and signals for
 * vigil-agent.
 */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vigil/agent_config.h"
#include "vigil/log.h"
#include "vigil/util.h"

volatile sig_atomic_t cli_stop;

void
cli_error(const char *what, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "vigil-agent %s: ", what);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int
cli_usage_hint(const char *what)
{
    fprintf(stderr, "see 'vigil-agent %s --help'\n", what);
    return CLI_EXIT_USAGE;
}

int
cli_bad_option(const char *what, int c, char **argv)
{
    const char *opt = optind > 0 ? argv[optind - 1] : "?";
    if (c == ':') {
        cli_error(what, "option '%s' needs a value", opt);
    } else {
        cli_error(what, "unknown option '%s'", opt);
    }
    return cli_usage_hint(what);
}

bool
cli_parse_timeout(const char *what, const char *opt, const char *text, int64_t *out_ms)
{
    uint64_t ms = 0;
    vg_reason why = {{0}};
    char buf[64];
    bool bare = text[0] != '\0' && strspn(text, "0123456789") == strlen(text);
    if (bare && strlen(text) < sizeof buf - 1) { /* a bare number means seconds */
        snprintf(buf, sizeof buf, "%ss", text);
        text = buf;
    }
    if (vg_duration_parse(&ms, text, &why) != VG_OK || ms > INT64_MAX / 2) {
        cli_error(what, "%s '%s': %s; give a duration like 10s, 500ms or 2m", opt, text,
                  why.text[0] ? why.text : "too long");
        return false;
    }
    *out_ms = (int64_t)ms;
    return true;
}

int
cli_session_open(cli_session *s, const char *config, const char *what, bool receive)
{
    memset(s, 0, sizeof *s);
    if (config == NULL) {
        cli_error(what, "say which agency you are: vigil-agent -c path/to/agent.conf %s ...", what);
        return cli_usage_hint(what);
    }
    vg_reason why = {{0}};
    vga_config *cfg = NULL;
    vg_err rc = vga_config_load(&cfg, config, &why);
    if (rc != VG_OK) {
        cli_error(what, "cannot use %s: %s (%s)", config, why.text, vg_err_code(rc));
        return CLI_EXIT_CONFIG;
    }
    vg_log_set_sink(vg_log_stderr_sink, NULL);
    vg_log_set_level(cfg->log_level);
    snprintf(s->endpoint, sizeof s->endpoint, "%s", cfg->endpoint);
    vga_config_destroy(&cfg);
    vga_options opts = {.receive = receive, .software = "vigil-agent"};
    rc = vga_agent_open(&s->agent, config, &opts, &why);
    if (rc != VG_OK) {
        cli_error(what,
                  "cannot start the agent from %s: %s (%s); check the network folder with "
                  "'vigilctl check DIR'",
                  config, why.text, vg_err_code(rc));
        return CLI_EXIT_CONFIG;
    }
    return CLI_EXIT_OK;
}

void
cli_session_close(cli_session *s)
{
    if (s != NULL) {
        vga_agent_destroy(&s->agent);
    }
}

static void
s_on_signal(int sig)
{
    (void)sig;
    cli_stop = 1;
}

void
cli_stop_on_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal; /* no SA_RESTART: a blocked wait returns early */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}
