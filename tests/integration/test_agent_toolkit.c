/*
 * test_agent_toolkit.c — the three agency-side programs (vigil-agent,
 * vigilctl, vigil-console) speak the same way, as their shared toolkit
 * (agents/common/tool.h) makes them: a wrong command line exits 2 with
 * "PROGRAM COMMAND: what was wrong" and "see 'PROGRAM COMMAND --help'";
 * every --help exits 0 with the usage on stdout; each program exits with
 * the codes its manual documents. No broker: only the command lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "itest.h"

/* Runs bin with args (NULL-terminated) and checks status, and that stderr
 * holds each needle (NULL-terminated list; may be empty). */
static void
s_expect(const char *bin, const char *const *args, int status, const char *const *needles)
{
    it_run r;
    it_exec(&r, bin, args);
    if (r.status != status) {
        fail_msg("%s %s...: exit %d, wanted %d\nstderr: %s", bin, args[0] ? args[0] : "", r.status,
                 status, r.err);
    }
    for (size_t i = 0; needles[i] != NULL; i++) {
        if (!it_contains(r.err, needles[i])) {
            fail_msg("%s %s...: stderr lacks '%s':\n%s", bin, args[0] ? args[0] : "", needles[i],
                     r.err);
        }
    }
    it_run_fini(&r);
}

#define S_ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define S_SAYS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void
unknown_options_read_the_same_everywhere(void **state)
{
    (void)state;
    s_expect("vigil-agent", S_ARGS("--bogus"), 2,
             S_SAYS("vigil-agent: unknown option '--bogus'\nsee 'vigil-agent --help'\n"));
    s_expect("vigil-agent", S_ARGS("-c"), 2,
             S_SAYS("vigil-agent: option '-c' needs a value\nsee 'vigil-agent --help'\n"));
    s_expect("vigil-agent", S_ARGS("-c", "x.conf", "listen", "--bogus"), 2,
             S_SAYS("vigil-agent listen: unknown option '--bogus'\n"
                    "see 'vigil-agent listen --help'\n"));
    s_expect("vigilctl", S_ARGS("report", "--bogus"), 2,
             S_SAYS("vigilctl report: unknown option '--bogus'\nsee 'vigilctl report --help'\n"));
    s_expect("vigilctl", S_ARGS("network", "sign", "--in"), 2,
             S_SAYS("vigilctl network sign: option '--in' needs a value\n"
                    "see 'vigilctl network sign --help'\n"));
    s_expect("vigil-console", S_ARGS("--bogus"), 2,
             S_SAYS("vigil-console: unknown option '--bogus'\nsee 'vigil-console --help'\n"));
    s_expect("vigil-console", S_ARGS("-c", "x.conf", "extra"), 2,
             S_SAYS("vigil-console: unexpected argument 'extra'\n"));
}

static void
unknown_commands(void **state)
{
    (void)state;
    s_expect("vigil-agent", S_ARGS("frob"), 2,
             S_SAYS("vigil-agent: unknown command 'frob'\n", "usage: vigil-agent"));
    s_expect("vigilctl", S_ARGS("frob"), 2,
             S_SAYS("vigilctl: unknown command 'frob'\n", "usage: vigilctl"));
    s_expect("vigilctl", S_ARGS("network", "frob"), 2,
             S_SAYS("vigilctl network: unknown command 'frob'\n", "usage: vigilctl network"));
}

/* Values every program parses with the same functions, and their messages. */
static void
option_values(void **state)
{
    (void)state;
    s_expect("vigil-agent", S_ARGS("-c", "x.conf", "listen", "--count", "0"), 2,
             S_SAYS("vigil-agent listen: --count '0': give a whole number from 1 to"));
    s_expect("vigil-agent", S_ARGS("-c", "x.conf", "events", "--since", "-1"), 2,
             S_SAYS("vigil-agent events: --since '-1': give a whole number from 0 to"));
    s_expect("vigil-agent", S_ARGS("-c", "x.conf", "flush", "--timeout", "soon"), 2,
             S_SAYS("vigil-agent flush: --timeout 'soon'", "give a duration like 10s"));
    s_expect("vigil-agent", S_ARGS("-c", "x.conf", "status", "0123"), 2,
             S_SAYS("vigil-agent status: '0123' is not an alert id"));
    s_expect("vigil-agent", S_ARGS("-c", "x.conf", "ack"), 2,
             S_SAYS("vigil-agent ack: which alert?"));
    s_expect("vigil-agent", S_ARGS("-c", "x.conf", "listen", "--retry-parked"), 2,
             S_SAYS("go with --exec CMD"));
    s_expect("vigilctl",
             S_ARGS("report", "--store", "/nonexistent", "--unshared", "--since", "2026-02-30"), 2,
             S_SAYS("vigilctl report: --since '2026-02-30': there is no day 2026-02-30\n"));
    s_expect(
        "vigilctl",
        S_ARGS("report", "--store", "/nonexistent", "--unshared", "--since", "2026-01-31T08:00:00"),
        2, S_SAYS("--since '2026-01-31T08:00:00' is not a time"));
    /* the forms docs/vigilctl.md promises get past the command line (then
     * the store is missing: exit 1, not 2) */
    const char *forms[] = {"2026-01-31", "2026-01-31T08:00:00Z", "2026-01-31T08:00:00.5Z",
                           "2026-01-31T09:00:00+01:00"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        s_expect("vigilctl",
                 S_ARGS("report", "--store", "/nonexistent", "--unshared", "--since", forms[i]), 1,
                 S_SAYS("vigilctl report: "));
    }
}

/* No -c: a usage error (2) saying how; an unusable agent.conf: 4. */
static void
which_agency(void **state)
{
    (void)state;
    s_expect("vigil-agent", S_ARGS("flush"), 2,
             S_SAYS("vigil-agent flush: say which agency you are: vigil-agent -c "
                    "path/to/agent.conf flush ...\nsee 'vigil-agent flush --help'\n"));
    s_expect("vigil-console", S_ARGS("--plain"), 2,
             S_SAYS("vigil-console: say which agency you are: vigil-console -c "
                    "path/to/agent.conf\n"));
    s_expect("vigil-agent", S_ARGS("-c", "/nonexistent/agent.conf", "flush"), 4,
             S_SAYS("vigil-agent flush: cannot use /nonexistent/agent.conf: "));
    s_expect("vigil-console", S_ARGS("-c", "/nonexistent/agent.conf", "--plain"), 4,
             S_SAYS("vigil-console: cannot use /nonexistent/agent.conf: "));
}

static void
every_help_is_usage_on_stdout(void **state)
{
    (void)state;
    const char *agent[] = {"publish", "listen", "flush",       "ack",    "progress", "decline",
                           "share",   "status", "outstanding", "events", "audit"};
    for (size_t i = 0; i < sizeof agent / sizeof agent[0]; i++) {
        it_run r;
        it_exec(&r, "vigil-agent", S_ARGS(agent[i], "--help"));
        it_assert_ok(&r);
        assert_true(it_contains(r.out, "usage: vigil-agent"));
        assert_string_equal(r.err, "");
        it_run_fini(&r);
    }
    const char *ctl[][2] = {{"init", "--help"},   {"network", "--help"}, {"check", "--help"},
                            {"report", "--help"}, {"audit", "--help"},   {"--help", NULL}};
    for (size_t i = 0; i < sizeof ctl / sizeof ctl[0]; i++) {
        it_run r;
        it_exec(&r, "vigilctl", S_ARGS(ctl[i][0], ctl[i][1]));
        it_assert_ok(&r);
        assert_true(it_contains(r.out, "usage: vigilctl"));
        it_run_fini(&r);
    }
    it_run r;
    it_exec(&r, "vigil-console", S_ARGS("--help"));
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "usage: vigil-console"));
    it_run_fini(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unknown_options_read_the_same_everywhere),
        cmocka_unit_test(unknown_commands),
        cmocka_unit_test(option_values),
        cmocka_unit_test(which_agency),
        cmocka_unit_test(every_help_is_usage_on_stdout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
