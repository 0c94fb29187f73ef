/*
 * test_agent_cli.c — vigil-agent driven as a person or a script would,
 * against the real vigil-broker on 127.0.0.1: publish prints the id of a
 * confirmed alert, the policy's agencies receive it, listen --json and
 * --exec hand it on, publish --json reads stdin, usage errors exit 2, and an
 * alert published while the broker is down waits in the outbox and is
 * delivered exactly once after flush.
 *
 * Each test makes its own network (free port) and broker; every wait is
 * bounded (broker ready ≤ 10 s, stop ≤ 5 s, each listen by its --timeout).
 * The broker is stopped by pid; its log is printed when a test fails.
 *
 * Note: tests/integration/broker_harness.{h,c} (written alongside) does the
 * broker part too; this file keeps its own small copy so it does not depend
 * on a harness that was still changing when it was written.
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "vigil/alert_json.h"
#include "vigil/envelope.h"
#include "vigil/util.h"

extern char **environ;

#define S_READY_MS 10000 /* longest wait for broker.ready */
#define S_STOP_MS 5000   /* SIGTERM grace before SIGKILL */

typedef struct fixture {
    char *tmp;         /* scratch directory */
    char *net;         /* tmp/net, made by vigilctl init */
    char *broker_log;  /* tmp/broker.log: the broker's stderr and stdout */
    char endpoint[64]; /* tcp://127.0.0.1:PORT */
    pid_t broker;      /* running broker, 0 when none */
    bool passed;       /* the test got to its end: no log dump */
} fixture;

/* ---- the broker ------------------------------------------------------------------------ */

static int
s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    socklen_t len = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static int64_t
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
s_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static char *
s_read_file(const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (vg_file_read(&data, &len, path, 16 * 1024 * 1024, NULL) != VG_OK) {
        return vg_strdup("");
    }
    return (char *)data;
}

static void
s_print_log(const fixture *f)
{
    char *log = s_read_file(f->broker_log);
    print_error("--- broker log (%s) ---\n%s--------------\n", f->broker_log, log);
    free(log);
}

/* Waits for the broker to exit, at most ms; true when it did. */
static bool
s_reap(pid_t pid, int64_t ms)
{
    int64_t end = s_now_ms() + ms;
    int status = 0;
    while (s_now_ms() < end) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            return true;
        }
        s_sleep_ms(20);
    }
    return false;
}

static void
s_broker_start(fixture *f)
{
    char *bin = it_path(VG_BIN_DIR, "vigil-broker");
    char *conf = it_path(f->net, "broker/broker.conf");
    int fd = open(f->broker_log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    assert_true(fd >= 0);
    off_t start = lseek(fd, 0, SEEK_END);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, fd, STDERR_FILENO);
    char *argv[] = {bin, "-c", conf, NULL};
    int rc = posix_spawn(&f->broker, bin, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fd);
    free(conf);
    free(bin);
    assert_int_equal(rc, 0);
    int64_t end = s_now_ms() + S_READY_MS;
    for (;;) {
        char *log = s_read_file(f->broker_log);
        bool ready = it_contains(log + (strlen(log) >= (size_t)start ? start : 0), "broker.ready");
        free(log);
        if (ready) {
            return;
        }
        int status = 0;
        if (waitpid(f->broker, &status, WNOHANG) == f->broker) {
            f->broker = 0;
            fail_msg("vigil-broker exited before broker.ready");
        }
        if (s_now_ms() > end) {
            fail_msg("vigil-broker not ready within %d ms", S_READY_MS);
        }
        s_sleep_ms(20);
    }
}

/* SIGTERM, then SIGKILL after S_STOP_MS; never asserts (teardown). */
static void
s_broker_stop(fixture *f)
{
    if (f->broker <= 0) {
        return;
    }
    kill(f->broker, SIGTERM);
    if (!s_reap(f->broker, S_STOP_MS)) {
        kill(f->broker, SIGKILL);
        waitpid(f->broker, NULL, 0);
    }
    f->broker = 0;
}

/* ---- fixture ---------------------------------------------------------------------------- */

static int
s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->tmp = it_tmpdir();
    f->net = it_path(f->tmp, "net");
    f->broker_log = it_path(f->tmp, "broker.log");
    snprintf(f->endpoint, sizeof f->endpoint, "tcp://127.0.0.1:%d", s_free_port());
    it_run r;
    it_vigilctl(&r, "init", f->net, "--agencies", "police,licensing,childrens-services,home-office",
                "--endpoint", f->endpoint);
    it_assert_ok(&r);
    it_run_fini(&r);
    *state = f;
    return 0;
}

static int
s_setup_running(void **state)
{
    s_setup(state);
    s_broker_start(*state);
    return 0;
}

static int
s_teardown(void **state)
{
    fixture *f = *state;
    s_broker_stop(f);
    if (!f->passed) {
        s_print_log(f);
    }
    it_rmrf(f->tmp);
    free(f->tmp);
    free(f->net);
    free(f->broker_log);
    free(f);
    return 0;
}

/* ---- running vigil-agent ------------------------------------------------------------------- */

static char *
s_conf(const fixture *f, const char *agency)
{
    size_t len = strlen(f->net) + strlen(agency) + 32;
    char *p = malloc(len);
    assert_non_null(p);
    snprintf(p, len, "%s/agents/%s/agent.conf", f->net, agency);
    return p;
}

/* vigil-agent -c <agency's conf> ARGS... (NULL-terminated). */
static void
s_agent(it_run *r, const fixture *f, const char *agency, ...)
{
    const char *args[48];
    char *conf = s_conf(f, agency);
    size_t n = 0;
    args[n++] = "-c";
    args[n++] = conf;
    va_list ap;
    va_start(ap, agency);
    for (const char *a = va_arg(ap, const char *); a != NULL; a = va_arg(ap, const char *)) {
        assert_true(n < 47);
        args[n++] = a;
    }
    va_end(ap);
    args[n] = NULL;
    it_exec(r, "vigil-agent", args);
    free(conf);
}

/* vigil-agent -c CONF publish --json with stdin from the file `input`. */
static void
s_agent_json_publish(it_run *r, const fixture *f, const char *agency, const char *input)
{
    char *bin = it_path(VG_BIN_DIR, "vigil-agent");
    char *conf = s_conf(f, agency);
    const char *args[] = {"-c",  "exec \"$0\" -c \"$1\" publish --json --timeout 10s < \"$2\"",
                          bin,   conf,
                          input, NULL};
    it_exec_in(r, "/bin", "sh", args);
    free(conf);
    free(bin);
}

static void
s_write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

/* True when out is exactly one alert id and a newline. */
static bool
s_is_id_line(const char *out)
{
    return strlen(out) == VG_ALERT_ID_HEX_LEN + 1 && out[VG_ALERT_ID_HEX_LEN] == '\n' &&
           strspn(out, "0123456789abcdef") == VG_ALERT_ID_HEX_LEN;
}

/* The first alert id that follows prefix in text (malloc'ed); fails the
 * test when there is none. */
static char *
s_find_id(const char *text, const char *prefix)
{
    for (const char *p = strstr(text, prefix); p != NULL; p = strstr(p + 1, prefix)) {
        const char *hex = p + strlen(prefix);
        if (strspn(hex, "0123456789abcdef") == VG_ALERT_ID_HEX_LEN) {
            return strndup(hex, VG_ALERT_ID_HEX_LEN);
        }
    }
    fail_msg("no alert id after '%s' in: %s", prefix, text);
    return NULL;
}

static size_t
s_count(const char *haystack, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(haystack, needle); p != NULL; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

/* Publishes the taxi warning from home-office, addressed to nobody; returns
 * its id (malloc'ed). */
static char *
s_publish_taxi(const fixture *f, const char *headline)
{
    it_run r;
    s_agent(&r, f, "home-office", "publish", "--severity", "high", "--category", "taxi",
            "--headline", headline, "--description", "Drivers named in the attached report.",
            "--timeout", "10s", NULL);
    it_assert_ok(&r);
    if (!s_is_id_line(r.out)) {
        fail_msg("publish printed '%s', not an alert id", r.out);
    }
    char *id = strndup(r.out, VG_ALERT_ID_HEX_LEN);
    it_run_fini(&r);
    return id;
}

/* listen --count 1 --json as agency; asserts it printed one line holding id. */
static void
s_assert_receives(const fixture *f, const char *agency, const char *id, const char *headline)
{
    it_run r;
    s_agent(&r, f, agency, "listen", "--count", "1", "--json", "--timeout", "10s", NULL);
    it_assert_ok(&r);
    if (!it_contains(r.out, id) || !it_contains(r.out, headline) || s_count(r.out, "\n") != 1) {
        fail_msg("%s did not get alert %s: '%s'", agency, id, r.out);
    }
    it_run_fini(&r);
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* A taxi alert addressed to nobody reaches licensing, police and children's
 * services: the policy's agencies were added before sealing. */
static void
test_publish_reaches_policy_agencies(void **state)
{
    fixture *f = *state;
    const char *headline = "Taxi drivers linked to CSE";
    char *id = s_publish_taxi(f, headline);
    s_assert_receives(f, "licensing", id, headline);
    s_assert_receives(f, "police", id, headline);
    s_assert_receives(f, "childrens-services", id, headline);
    free(id);
    f->passed = true;
}

/* --exec gets the alert JSON on stdin and its id, sender and severity in
 * the environment; a failing command is reported and listening goes on. */
static void
test_listen_exec(void **state)
{
    fixture *f = *state;
    char *id = s_publish_taxi(f, "Exec me");
    char *out = it_path(f->tmp, "alert.json");
    char *env = it_path(f->tmp, "alert.env");
    size_t len = strlen(out) + strlen(env) + 128;
    char *cmd = malloc(len);
    assert_non_null(cmd);
    snprintf(cmd, len, "cat > '%s'; echo \"$VIGIL_ALERT_ID $VIGIL_SENDER $VIGIL_SEVERITY\" > '%s'",
             out, env);
    it_run r;
    s_agent(&r, f, "licensing", "listen", "--count", "1", "--timeout", "10s", "--exec", cmd, NULL);
    it_assert_ok(&r);
    it_run_fini(&r);
    char *json = s_read_file(out);
    assert_true(it_contains(json, id));
    assert_true(it_contains(json, "\"headline\":\"Exec me\""));
    char *vars = s_read_file(env);
    char want[128];
    snprintf(want, sizeof want, "%s home-office high\n", id);
    assert_string_equal(vars, want);
    free(vars);
    free(json);
    free(id);
    id = s_publish_taxi(f, "Fail me");
    s_agent(&r, f, "police", "listen", "--count", "2", "--timeout", "10s", "--exec", "exit 7",
            NULL);
    it_assert_ok(&r);
    assert_int_equal(s_count(r.err, "exited with status 7"), 2);
    assert_true(it_contains(r.out, id));
    it_run_fini(&r);
    free(id);
    free(cmd);
    free(env);
    free(out);
    f->passed = true;
}

/* publish --json reads the alert from stdin; listen --json gives back its
 * fields; an unknown key is refused by name. */
static void
test_publish_json_stdin(void **state)
{
    fixture *f = *state;
    char *in = it_path(f->tmp, "alert-in.json");
    s_write_file(
        in, "{\"severity\": \"critical\", \"categories\": [\"cse\"], \"to\": [\"home-office\"],"
            " \"headline\": \"From JSON\", \"status\": \"exercise\","
            " \"subjects\": [{\"scheme\": \"vehicle-reg\", \"value\": \"AB12 CDE\"}],"
            " \"expires\": \"2031-01-01T00:00:00Z\"}\n");
    it_run r;
    s_agent_json_publish(&r, f, "police", in);
    it_assert_ok(&r);
    assert_true(s_is_id_line(r.out));
    char *id = strndup(r.out, VG_ALERT_ID_HEX_LEN);
    it_run_fini(&r);
    s_agent(&r, f, "home-office", "listen", "--count", "1", "--json", "--timeout", "10s", NULL);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, id));
    assert_true(it_contains(r.out, "\"sender\":\"police\""));
    assert_true(it_contains(r.out, "\"severity\":\"critical\""));
    assert_true(it_contains(r.out, "\"status\":\"exercise\""));
    assert_true(it_contains(r.out, "{\"scheme\":\"vehicle-reg\",\"value\":\"AB12 CDE\"}"));
    assert_true(it_contains(r.out, "\"expires\":\"2031-01-01T00:00:00.000Z\""));
    it_run_fini(&r);
    s_write_file(in, "{\"severity\": \"high\", \"categories\": [\"cse\"], \"headline\": \"x\","
                     " \"colour\": \"red\"}");
    s_agent_json_publish(&r, f, "police", in);
    it_assert_status(&r, 2);
    assert_true(it_contains(r.err, "unknown key 'colour'"));
    assert_string_equal(r.out, "");
    it_run_fini(&r);
    free(id);
    free(in);
    f->passed = true;
}

/* Usage errors exit 2 and say what was wrong; --help works everywhere. */
static void
test_usage_errors(void **state)
{
    fixture *f = *state;
    it_run r;
    s_agent(&r, f, "home-office", "publish", "--severity", "urgent", "--category", "taxi",
            "--headline", "x", NULL);
    it_assert_status(&r, 2);
    assert_true(it_contains(r.err, "--severity 'urgent'"));
    assert_true(it_contains(r.err, "critical"));
    assert_string_equal(r.out, "");
    it_run_fini(&r);
    s_agent(&r, f, "home-office", "publish", "--severity", "high", "--headline", "x", NULL);
    it_assert_status(&r, 2);
    assert_true(it_contains(r.err, "--category"));
    it_run_fini(&r);
    const char *helps[][3] = {{"--help", NULL, NULL},
                              {"publish", "--help", NULL},
                              {"listen", "--help", NULL},
                              {"flush", "--help", NULL}};
    for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++) {
        it_exec(&r, "vigil-agent", helps[i]);
        it_assert_ok(&r);
        assert_true(it_contains(r.out, "usage: vigil-agent"));
        it_run_fini(&r);
    }
    f->passed = true;
}

/* With the broker down, publish exits 3 and keeps the alert in the outbox;
 * once the broker runs, flush sends it and licensing gets it exactly once. */
static void
test_broker_down_outbox(void **state)
{
    fixture *f = *state;
    it_run r;
    s_agent(&r, f, "home-office", "publish", "--severity", "high", "--category", "taxi",
            "--headline", "Sent later", "--timeout", "1s", NULL);
    it_assert_status(&r, 3);
    assert_string_equal(r.out, "");
    assert_true(it_contains(r.err, "outbox"));
    char *id = s_find_id(r.err, "alert ");
    it_run_fini(&r);
    s_broker_start(f);
    s_agent(&r, f, "home-office", "flush", "--timeout", "10s", NULL);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "0 alerts left"));
    it_run_fini(&r);
    s_agent(&r, f, "home-office", "flush", "--timeout", "10s", NULL); /* nothing left to send */
    it_assert_ok(&r);
    it_run_fini(&r);
    s_agent(&r, f, "licensing", "listen", "--json", "--timeout", "2s", NULL);
    it_assert_ok(&r);
    assert_int_equal(s_count(r.out, "\n"), 1);
    assert_int_equal(s_count(r.out, id), 1);
    assert_true(it_contains(r.out, "Sent later"));
    it_run_fini(&r);
    free(id);
    f->passed = true;
}

/* listen --count N with fewer alerts before the timeout exits 3. */
static void
test_listen_count_timeout(void **state)
{
    fixture *f = *state;
    it_run r;
    s_agent(&r, f, "licensing", "listen", "--count", "1", "--timeout", "1s", NULL);
    it_assert_status(&r, 3);
    assert_string_equal(r.out, "");
    assert_true(it_contains(r.err, "0 of 1 alert"));
    it_run_fini(&r);
    f->passed = true;
}

/* alert_json: a JSON alert parses into owned fields, and the library-set
 * keys are refused by name. */
static void
test_alert_from_json(void **state)
{
    (void)state;
    vg_alert a;
    vg_reason why = {{0}};
    assert_int_equal(
        vga_alert_from_json(&a,
                            "{\"severity\":\"low\",\"categories\":[\"taxi\",\"cse\"],"
                            "\"recipients\":[\"police\"],\"to\":[\"licensing\"],"
                            "\"headline\":\"h\",\"areas\":[{\"desc\":\"Rotherham\","
                            "\"geocodes\":[\"ons:E08000018\"]}],\"references\":["
                            "\"000102030405060708090a0b0c0d0e0f\"],\"description\":null}",
                            &why),
        VG_OK);
    assert_int_equal(a.severity, VG_SEV_LOW);
    assert_int_equal(a.categories.n, 2);
    assert_int_equal(a.recipients.n, 2);
    assert_int_equal(a.n_areas, 1);
    assert_string_equal(a.areas[0].geocodes.items[0], "ons:E08000018");
    assert_int_equal(a.n_references, 1);
    assert_int_equal(a.references[0][15], 0x0f);
    assert_null(a.description);
    vg_alert_fini(&a);
    assert_int_equal(vga_alert_from_json(&a, "{\"severity\":\"low\",\"sent\":\"x\"}", &why),
                     VG_ERR_MALFORMED);
    assert_true(it_contains(why.text, "'sent'"));
    assert_int_equal(
        vga_alert_from_json(&a, "{\"categories\":[\"taxi\"],\"headline\":\"h\"}", &why),
        VG_ERR_MALFORMED);
    assert_true(it_contains(why.text, "severity"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_publish_reaches_policy_agencies, s_setup_running,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_listen_exec, s_setup_running, s_teardown),
        cmocka_unit_test_setup_teardown(test_publish_json_stdin, s_setup_running, s_teardown),
        cmocka_unit_test_setup_teardown(test_usage_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_broker_down_outbox, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_listen_count_timeout, s_setup_running, s_teardown),
        cmocka_unit_test(test_alert_from_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
