/*
 * tool.c — messages, usage errors, option values, opening an agent,
 * signals and one-line text for the agency-side programs (see tool.h).
 */
#include "tool.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vigil/util.h"
#include "vigil/wire.h"

volatile sig_atomic_t vgt_stop;

/* ---- messages ----------------------------------------------------------------------- */

static void
s_prefix(const vgt_who *w)
{
    if (w->command != NULL) {
        fprintf(stderr, "%s %s: ", w->program, w->command);
    } else {
        fprintf(stderr, "%s: ", w->program);
    }
}

static void
s_verror(const vgt_who *w, const char *fmt, va_list ap)
{
    s_prefix(w);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void
vgt_error(const vgt_who *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_verror(w, fmt, ap);
    va_end(ap);
}

int
vgt_usage_hint(const vgt_who *w)
{
    if (w->command != NULL) {
        fprintf(stderr, "see '%s %s --help'\n", w->program, w->command);
    } else {
        fprintf(stderr, "see '%s --help'\n", w->program);
    }
    return VGT_EXIT_USAGE;
}

int
vgt_usage_error(const vgt_who *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_verror(w, fmt, ap);
    va_end(ap);
    return vgt_usage_hint(w);
}

int
vgt_bad_option(const vgt_who *w, int c, char **argv)
{
    const char *opt = optind > 0 ? argv[optind - 1] : "?";
    if (c == ':') {
        return vgt_usage_error(w, "option '%s' needs a value", opt);
    }
    return vgt_usage_error(w, "unknown option '%s'", opt);
}

int
vgt_unexpected_argument(const vgt_who *w, const char *arg, const char *hint)
{
    if (hint != NULL) {
        return vgt_usage_error(w, "unexpected argument '%s' (%s)", arg, hint);
    }
    return vgt_usage_error(w, "unexpected argument '%s'", arg);
}

int
vgt_unknown_command(const vgt_who *w, const char *name, const char *usage)
{
    vgt_error(w, "unknown command '%s'", name);
    fputc('\n', stderr);
    fputs(usage, stderr);
    return VGT_EXIT_USAGE;
}

bool
vgt_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0 || strcmp(arg, "help") == 0;
}

/* ---- option values ------------------------------------------------------------------ */

static bool
s_all_digits(const char *text)
{
    return text[0] != '\0' && strspn(text, "0123456789") == strlen(text);
}

bool
vgt_parse_timeout(const vgt_who *w, const char *opt, const char *text, int64_t *out_ms)
{
    uint64_t ms = 0;
    vg_reason why = {{0}};
    char buf[64];
    if (s_all_digits(text) && strlen(text) < sizeof buf - 1) { /* a bare number means seconds */
        snprintf(buf, sizeof buf, "%ss", text);
        text = buf;
    }
    if (vg_duration_parse(&ms, text, &why) != VG_OK || ms > INT64_MAX / 2) {
        vgt_error(w, "%s '%s': %s; give a duration like 10s, 500ms or 2m", opt, text,
                  why.text[0] ? why.text : "too long");
        return false;
    }
    *out_ms = (int64_t)ms;
    return true;
}

bool
vgt_parse_count(const vgt_who *w, const char *opt, const char *text, uint64_t min, uint64_t max,
                uint64_t *out)
{
    uint64_t n = 0;
    bool ok = s_all_digits(text) && strlen(text) <= 20;
    for (const char *p = text; ok && *p != '\0'; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        ok = n <= (UINT64_MAX - d) / 10;
        n = n * 10 + d;
    }
    if (!ok || n < min || n > max) {
        vgt_error(w, "%s '%s': give a whole number from %llu to %llu", opt, text,
                  (unsigned long long)min, (unsigned long long)max);
        return false;
    }
    *out = n;
    return true;
}

bool
vgt_parse_time(const vgt_who *w, const char *opt, const char *text, vg_time_forms forms,
               int64_t *out_ms)
{
    vg_reason why = {{0}};
    if (vg_time_parse(out_ms, text, forms, &why) != VG_OK) {
        vgt_error(w, "%s %s", opt, why.text);
        return false;
    }
    return true;
}

bool
vgt_parse_alert_id(const vgt_who *w, const char *text, uint8_t out[VG_ALERT_ID_LEN])
{
    if (strlen(text) != VG_ALERT_ID_HEX_LEN || vg_alert_id_parse(out, text, NULL) != VG_OK) {
        vgt_error(w, "'%s' is not an alert id: give the 32 hex characters publish printed", text);
        return false;
    }
    return true;
}

bool
vgt_take_alert_id(const vgt_who *w, int argc, char **argv, uint8_t out[VG_ALERT_ID_LEN])
{
    if (optind >= argc) {
        vgt_error(w, "which alert? give its id (32 hex characters)");
        return false;
    }
    if (optind + 1 < argc) {
        vgt_error(w, "unexpected argument '%s' (one alert id; quote text that has spaces)",
                  argv[optind + 1]);
        return false;
    }
    return vgt_parse_alert_id(w, argv[optind], out);
}

/* ---- opening an agent ---------------------------------------------------------------- */

int
vgt_config_load(const vgt_who *w, const char *config, vga_config **out)
{
    if (config == NULL) {
        return vgt_usage_error(w, "say which agency you are: %s -c path/to/agent.conf%s%s%s",
                               w->program, w->command ? " " : "", w->command ? w->command : "",
                               w->command ? " ..." : "");
    }
    vg_reason why = {{0}};
    vg_err rc = vga_config_load(out, config, &why);
    if (rc != VG_OK) {
        vgt_error(w, "cannot use %s: %s (%s)", config, why.text, vg_err_code(rc));
        return rc == VG_ERR_NOMEM ? VGT_EXIT_FAIL : VGT_EXIT_CONFIG;
    }
    return VGT_EXIT_OK;
}

int
vgt_agent_open(const vgt_who *w, const char *config, const vga_options *opts, vga_agent **out)
{
    vg_reason why = {{0}};
    vg_err rc = vga_agent_open(out, config, opts, &why);
    if (rc == VG_ERR_CONFLICT) { /* the store is in use (hand-over lock): nothing to check */
        vgt_error(w, "%s", why.text);
        return VGT_EXIT_FAIL;
    }
    if (rc != VG_OK) {
        vgt_error(w,
                  "cannot start the agent from %s: %s (%s); check the network folder with "
                  "'vigilctl check DIR'",
                  config, why.text, vg_err_code(rc));
        return rc == VG_ERR_NOMEM ? VGT_EXIT_FAIL : VGT_EXIT_CONFIG;
    }
    return VGT_EXIT_OK;
}

/* ---- signals ------------------------------------------------------------------------- */

static void
s_on_signal(int sig)
{
    (void)sig;
    vgt_stop = 1;
}

void
vgt_stop_on_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal; /* no SA_RESTART: a blocked wait returns early */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* ---- text for people ----------------------------------------------------------------- */

void
vgt_format_span(char *out, size_t out_len, int64_t ms)
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
vgt_one_line(char *out, size_t out_len, const char *text)
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
