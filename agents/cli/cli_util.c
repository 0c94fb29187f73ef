/*
 * cli_util.c — messages, option values, alert ids, opening the agent,
 * reporting receipts that were not confirmed, and signals for vigil-agent.
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
#include "vigil/wire.h"

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

bool
cli_parse_alert_id(const char *what, const char *text, uint8_t out[VG_ALERT_ID_LEN])
{
    vg_reason why = {{0}};
    if (strlen(text) != VG_ALERT_ID_HEX_LEN || vg_alert_id_parse(out, text, &why) != VG_OK) {
        cli_error(what, "'%s' is not an alert id: give the 32 hex characters publish printed",
                  text);
        return false;
    }
    return true;
}

bool
cli_take_alert_id(const char *what, int argc, char **argv, uint8_t out[VG_ALERT_ID_LEN])
{
    if (optind >= argc) {
        cli_error(what, "which alert? give its id (32 hex characters)");
        return false;
    }
    if (optind + 1 < argc) {
        cli_error(what, "unexpected argument '%s' (one alert id; quote text that has spaces)",
                  argv[optind + 1]);
        return false;
    }
    return cli_parse_alert_id(what, argv[optind], out);
}

bool
cli_check_text(const char *what, const char *opt, const char *text, bool required)
{
    if (text == NULL || text[0] == '\0') {
        if (required) {
            cli_error(what, "%s TEXT is required", opt);
        }
        return !required && text == NULL;
    }
    if (strlen(text) > VG_SHORT_TEXT_MAX) {
        cli_error(what, "%s is %zu bytes; the limit is %d", opt, strlen(text), VG_SHORT_TEXT_MAX);
        return false;
    }
    return true;
}

void
cli_format_span(char *out, size_t out_len, int64_t ms)
{
    uint64_t s = (uint64_t)(ms < 0 ? -(ms / 1000) : ms / 1000);
    if (s < 60) {
        snprintf(out, out_len, "%us", (unsigned)s);
    } else if (s < 3600) {
        snprintf(out, out_len, "%um%02us", (unsigned)(s / 60), (unsigned)(s % 60));
    } else if (s < 86400) {
        snprintf(out, out_len, "%uh%02um", (unsigned)(s / 3600), (unsigned)(s % 3600 / 60));
    } else {
        snprintf(out, out_len, "%llud%02uh", (unsigned long long)(s / 86400),
                 (unsigned)(s % 86400 / 3600));
    }
}

void
cli_one_line(char *out, size_t out_len, const char *text)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)(text ? text : "");
    for (; *p != '\0' && n + 1 < out_len; p++) {
        out[n++] = *p == '\n' || *p == '\t' ? ' ' : (*p < 0x20 || *p == 0x7F) ? '?' : (char)*p;
    }
    out[n] = '\0';
    if (*p != '\0' && out_len >= 4) {
        size_t cut = out_len - 4;
        while (cut > 0 && ((unsigned char)out[cut] & 0xC0) == 0x80) {
            cut--; /* never leave half a UTF-8 character */
        }
        memcpy(out + cut, "...", 4);
    }
}

int
cli_report_not_confirmed(const char *what, vg_err rc, const vga_confirm *res, const vg_reason *why,
                         const char *endpoint, int64_t timeout_ms)
{
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, res->alert_id);
    if (rc == VG_ERR_TIMEOUT) {
        char waited[32];
        vg_duration_format(waited, sizeof waited, (uint64_t)timeout_ms);
        cli_error(what,
                  "no answer from the broker at %s within %s: nothing was recorded for alert %s; "
                  "run the command again once the broker is reachable (doing it twice is "
                  "harmless)",
                  endpoint, waited, idhex);
        return CLI_EXIT_PENDING;
    }
    if (res->code != VG_OK) {
        fprintf(stderr, "vigil-agent: rejected: %s: %s\n", vg_err_code(res->code),
                res->reason.text);
        return CLI_EXIT_FAIL;
    }
    cli_error(what, "refused: %s (%s)", why->text[0] ? why->text : vg_strerror(rc),
              vg_err_code(rc));
    return rc == VG_ERR_INVALID ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
}

int
cli_session_open(cli_session *s, const char *config, const char *what, bool receive)
{
    return cli_session_open_with(s, config, what, receive, false);
}

int
cli_session_open_with(cli_session *s, const char *config, const char *what, bool receive,
                      bool events)
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
    vga_options opts = {.receive = receive, .events = events, .software = "vigil-agent"};
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
