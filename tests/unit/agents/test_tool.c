/*
 * test_tool.c — the toolkit of the agency-side programs (agents/common/tool.h):
 * the error line and usage hint every program prints, bad options as
 * getopt reports them, and the option values (timeouts, counts, times,
 * alert ids), each with its own message on stderr. stderr is captured in
 * a temporary file for each check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <getopt.h>

#include "tool.h"
#include "vigil/wire.h"

static const vgt_who t_agent = {"vigil-agent", "listen"};
static const vgt_who t_ctl = {"vigilctl", "network sign"};
static const vgt_who t_console = {"vigil-console", NULL};

/* stderr goes to a temporary file between t_capture_start and t_captured. */
typedef struct t_capture {
    FILE *file;      /* where stderr went */
    int saved;       /* the real stderr */
    char text[2048]; /* what was written */
} t_capture;

static void
t_capture_start(t_capture *c)
{
    fflush(stderr);
    c->file = tmpfile();
    assert_non_null(c->file);
    c->saved = dup(STDERR_FILENO);
    assert_true(c->saved >= 0);
    assert_true(dup2(fileno(c->file), STDERR_FILENO) >= 0);
}

static const char *
t_captured(t_capture *c)
{
    fflush(stderr);
    assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
    close(c->saved);
    rewind(c->file);
    size_t n = fread(c->text, 1, sizeof c->text - 1, c->file);
    c->text[n] = '\0';
    fclose(c->file);
    return c->text;
}

/* ---- messages ----------------------------------------------------------------------- */

static void
error_line_names_program_and_command(void **state)
{
    (void)state;
    t_capture c;
    t_capture_start(&c);
    vgt_error(&t_agent, "'%s' is not a thing: give another", "x");
    vgt_error(&t_ctl, "no");
    vgt_error(&t_console, "cannot: do this");
    assert_string_equal(t_captured(&c), "vigil-agent listen: 'x' is not a thing: give another\n"
                                        "vigilctl network sign: no\n"
                                        "vigil-console: cannot: do this\n");
}

static void
usage_error_adds_the_hint_and_exits_2(void **state)
{
    (void)state;
    t_capture c;
    t_capture_start(&c);
    assert_int_equal(vgt_usage_error(&t_agent, "bad %d", 1), VGT_EXIT_USAGE);
    assert_int_equal(vgt_usage_hint(&t_console), VGT_EXIT_USAGE);
    assert_int_equal(vgt_unexpected_argument(&t_ctl, "extra", NULL), VGT_EXIT_USAGE);
    assert_int_equal(vgt_unexpected_argument(&t_ctl, "x y", "quote it"), VGT_EXIT_USAGE);
    assert_string_equal(t_captured(&c),
                        "vigil-agent listen: bad 1\n"
                        "see 'vigil-agent listen --help'\n"
                        "see 'vigil-console --help'\n"
                        "vigilctl network sign: unexpected argument 'extra'\n"
                        "see 'vigilctl network sign --help'\n"
                        "vigilctl network sign: unexpected argument 'x y' (quote it)\n"
                        "see 'vigilctl network sign --help'\n");
}

/* What getopt_long returns for an unknown option and a missing value
 * becomes the same two lines in every program. */
static void
bad_options_as_getopt_reports_them(void **state)
{
    (void)state;
    static const struct option longopts[] = {
        {"timeout", required_argument, NULL, 't'},
        {NULL, 0, NULL, 0},
    };
    char a0[] = "listen", a1[] = "--bogus", a2[] = "--timeout";
    char *unknown[] = {a0, a1, NULL};
    char *missing[] = {a0, a2, NULL};
    t_capture c;
    t_capture_start(&c);
    optind = 0;
    opterr = 0;
    int rc = getopt_long(2, unknown, ":h", longopts, NULL);
    assert_int_equal(vgt_bad_option(&t_agent, rc, unknown), VGT_EXIT_USAGE);
    optind = 0;
    rc = getopt_long(2, missing, ":h", longopts, NULL);
    assert_int_equal(rc, ':');
    assert_int_equal(vgt_bad_option(&t_agent, rc, missing), VGT_EXIT_USAGE);
    assert_string_equal(t_captured(&c), "vigil-agent listen: unknown option '--bogus'\n"
                                        "see 'vigil-agent listen --help'\n"
                                        "vigil-agent listen: option '--timeout' needs a value\n"
                                        "see 'vigil-agent listen --help'\n");
}

static void
unknown_command_prints_usage(void **state)
{
    (void)state;
    t_capture c;
    t_capture_start(&c);
    const vgt_who w = {"vigilctl", "network"};
    assert_int_equal(vgt_unknown_command(&w, "frob", "usage: X\n"), VGT_EXIT_USAGE);
    assert_string_equal(t_captured(&c), "vigilctl network: unknown command 'frob'\n\nusage: X\n");
    assert_true(vgt_is_help("-h") && vgt_is_help("--help") && vgt_is_help("help"));
    assert_false(vgt_is_help("-help") || vgt_is_help("") || vgt_is_help("HELP"));
}

/* ---- option values ------------------------------------------------------------------ */

static void
timeouts(void **state)
{
    (void)state;
    const struct {
        const char *text; /* as typed */
        int64_t ms;       /* what it means */
    } good[] = {{"10", 10000},   {"10s", 10000},   {"500ms", 500}, {"2m", 120000},
                {"1h", 3600000}, {"1d", 86400000}, {"0", 0}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t ms = -1;
        assert_true(vgt_parse_timeout(&t_agent, "--timeout", good[i].text, &ms));
        assert_int_equal(ms, good[i].ms);
    }
    const char *bad[] = {"", "-1", "10x", "1.5s", "s", "99999999999999999999d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 42;
        t_capture c;
        t_capture_start(&c);
        assert_false(vgt_parse_timeout(&t_agent, "--timeout", bad[i], &ms));
        const char *err = t_captured(&c);
        assert_int_equal(ms, 42);
        assert_non_null(strstr(err, "vigil-agent listen: --timeout '"));
        assert_non_null(strstr(err, "give a duration like 10s, 500ms or 2m\n"));
    }
}

static void
counts(void **state)
{
    (void)state;
    uint64_t n = 0;
    assert_true(vgt_parse_count(&t_agent, "--count", "1", 1, 10, &n));
    assert_int_equal(n, 1);
    assert_true(vgt_parse_count(&t_agent, "--count", "10", 1, 10, &n));
    assert_int_equal(n, 10);
    assert_true(vgt_parse_count(&t_agent, "--since", "0", 0, UINT64_MAX, &n));
    assert_int_equal(n, 0);
    assert_true(vgt_parse_count(&t_agent, "--since", "18446744073709551615", 0, UINT64_MAX, &n));
    assert_true(n == UINT64_MAX);
    const char *bad[] = {"0",
                         "11",
                         "",
                         "-1",
                         "+1",
                         " 1",
                         "1 ",
                         "1e3",
                         "0x10",
                         "18446744073709551616",
                         "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t got = 42;
        t_capture c;
        t_capture_start(&c);
        bool ok = vgt_parse_count(&t_agent, "--count", bad[i], 1, 10, &got);
        const char *err = t_captured(&c);
        if (ok) {
            fail_msg("'%s' was taken as %llu", bad[i], (unsigned long long)got);
        }
        assert_int_equal(got, 42);
        char want[128];
        snprintf(want, sizeof want,
                 "vigil-agent listen: --count '%s': give a whole number from 1 to 10\n", bad[i]);
        assert_string_equal(err, want);
    }
}

static void
times(void **state)
{
    (void)state;
    const vgt_who w = {"vigilctl", "report"};
    int64_t ms = 0;
    assert_true(vgt_parse_time(&w, "--since", "2026-01-31", VG_TIME_OR_DATE, &ms));
    assert_int_equal(ms, INT64_C(1769817600000));
    t_capture c;
    t_capture_start(&c);
    assert_false(vgt_parse_time(&w, "--since", "2026-02-30", VG_TIME_OR_DATE, &ms));
    assert_string_equal(t_captured(&c),
                        "vigilctl report: --since '2026-02-30': there is no day 2026-02-30\n");
}

static void
alert_ids(void **state)
{
    (void)state;
    uint8_t id[VG_ALERT_ID_LEN];
    assert_true(vgt_parse_alert_id(&t_agent, "00112233445566778899AABBCCDDEEFF", id));
    assert_int_equal(id[0], 0x00);
    assert_int_equal(id[15], 0xff);
    const char *bad[] = {"", "0011", "00112233445566778899aabbccddeeff00",
                         "00112233445566778899aabbccddeegg", "00112233445566778899aabbccddeef "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t_capture c;
        t_capture_start(&c);
        assert_false(vgt_parse_alert_id(&t_agent, bad[i], id));
        assert_non_null(strstr(t_captured(&c), "is not an alert id: give the 32 hex characters"));
    }
}

static void
take_alert_id_wants_exactly_one(void **state)
{
    (void)state;
    char a0[] = "ack", a1[] = "00112233445566778899aabbccddeeff", a2[] = "extra";
    char *none[] = {a0, NULL};
    char *one[] = {a0, a1, NULL};
    char *two[] = {a0, a1, a2, NULL};
    uint8_t id[VG_ALERT_ID_LEN];
    const vgt_who w = {"vigil-agent", "ack"};
    t_capture c;
    t_capture_start(&c);
    optind = 1;
    assert_false(vgt_take_alert_id(&w, 1, none, id));
    optind = 1;
    assert_true(vgt_take_alert_id(&w, 2, one, id));
    optind = 1;
    assert_false(vgt_take_alert_id(&w, 3, two, id));
    assert_string_equal(t_captured(&c),
                        "vigil-agent ack: which alert? give its id (32 hex characters)\n"
                        "vigil-agent ack: unexpected argument 'extra' (one alert id; quote text "
                        "that has spaces)\n");
}

/* No -c: a usage error (2) naming the way to say it; a file that is not
 * there: 4, as every program documents. */
static void
config_missing_or_unusable(void **state)
{
    (void)state;
    vga_config *cfg = NULL;
    t_capture c;
    t_capture_start(&c);
    assert_int_equal(vgt_config_load(&t_agent, NULL, &cfg), VGT_EXIT_USAGE);
    assert_int_equal(vgt_config_load(&t_console, NULL, &cfg), VGT_EXIT_USAGE);
    assert_int_equal(vgt_config_load(&t_agent, "/nonexistent/agent.conf", &cfg), VGT_EXIT_CONFIG);
    const char *err = t_captured(&c);
    assert_null(cfg);
    assert_non_null(strstr(err,
                           "vigil-agent listen: say which agency you are: vigil-agent -c "
                           "path/to/agent.conf listen ...\nsee 'vigil-agent listen --help'\n"));
    assert_non_null(strstr(err, "vigil-console: say which agency you are: vigil-console -c "
                                "path/to/agent.conf\nsee 'vigil-console --help'\n"));
    assert_non_null(strstr(err, "vigil-agent listen: cannot use /nonexistent/agent.conf: "));
}

/* ---- text for people ----------------------------------------------------------------- */

static void
spans(void **state)
{
    (void)state;
    char d[VGT_SPAN_LEN];
    vgt_format_span(d, sizeof d, 0);
    assert_string_equal(d, "0s");
    vgt_format_span(d, sizeof d, 45000);
    assert_string_equal(d, "45s");
    vgt_format_span(d, sizeof d, -(4 * 60000 + 12000));
    assert_string_equal(d, "4m12s");
    vgt_format_span(d, sizeof d, 2 * 3600000 + 5 * 60000);
    assert_string_equal(d, "2h05m");
    vgt_format_span(d, sizeof d, 3 * 86400000LL + 4 * 3600000);
    assert_string_equal(d, "3d04h");
}

static void
one_line(void **state)
{
    (void)state;
    char out[12];
    vgt_one_line(out, sizeof out, "a\nb\tc\x1b[2J");
    assert_string_equal(out, "a b c?[2J");
    vgt_one_line(out, sizeof out, NULL);
    assert_string_equal(out, "");
    vgt_one_line(out, sizeof out, "0123456789abcdef");
    assert_string_equal(out, "01234567...");
    /* "é" is two bytes: the cut never leaves half of it */
    vgt_one_line(out, sizeof out, "0123456\xc3\xa9xyz");
    assert_string_equal(out, "0123456...");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_line_names_program_and_command),
        cmocka_unit_test(usage_error_adds_the_hint_and_exits_2),
        cmocka_unit_test(bad_options_as_getopt_reports_them),
        cmocka_unit_test(unknown_command_prints_usage),
        cmocka_unit_test(timeouts),
        cmocka_unit_test(counts),
        cmocka_unit_test(times),
        cmocka_unit_test(alert_ids),
        cmocka_unit_test(take_alert_id_wants_exactly_one),
        cmocka_unit_test(config_missing_or_unusable),
        cmocka_unit_test(spans),
        cmocka_unit_test(one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
