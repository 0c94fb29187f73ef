/*
 * test_agent_ack_cli.c — the acknowledgement commands of vigil-agent (ack,
 * progress, decline, share, status, outstanding, events) driven as a duty
 * officer or a script would, against the real vigil-broker on 127.0.0.1.
 *
 * The Rotherham case on the command line: the Home Office publishes a
 * taxi/cse warning addressed to the police; the policy adds licensing and
 * children's services; police and children's services acknowledge, licensing
 * does nothing; after the deadline (2 s here) outstanding --overdue, status
 * and the event stream all name licensing as overdue, and the refusals
 * (share back to the sender, an alert never received, missing reasons) are
 * clear and change nothing. Exercise and test alerts are marked on every
 * output of listen, status and outstanding.
 *
 * Each test has its own network (free port, high=2s deadline) and broker
 * (tests/integration/broker_harness.h); every wait is bounded. The broker
 * log is printed when a test fails.
 */
#define _XOPEN_SOURCE 700

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "broker_harness.h"
#include "itest.h"
#include "vigil/util.h"
#include "vigil/wire.h"

extern char **environ;

#define S_DEADLINE_MS 2000 /* --deadline high=2s */
#define S_HEADLINE "Taxi drivers linked to child sexual exploitation"

/* ---- fixture ------------------------------------------------------------------------------ */

/* A network with a 2 s deadline for high alerts, broker running. */
static int
s_setup(void **state)
{
    bh_broker *b = bh_new(NULL);
    const char *extra[] = {"--endpoint", b->endpoint, "--deadline", "high=2s", "--force", NULL};
    it_init_net(b->net, extra); /* the harness's network, again with short deadlines */
    bh_start(b);
    *state = b;
    return 0;
}

static int
s_teardown(void **state)
{
    bh_broker *b = *state;
    bh_destroy(&b);
    return 0;
}

/* ---- running vigil-agent ------------------------------------------------------------------ */

/* vigil-agent -c <agency's conf> ARGS... (NULL-terminated). */
static void
s_agent(it_run *r, const bh_broker *b, const char *agency, ...)
{
    const char *args[32];
    char *conf = bh_agent_conf(b, agency);
    size_t n = 0;
    args[n++] = "-c";
    args[n++] = conf;
    va_list ap;
    va_start(ap, agency);
    for (const char *a = va_arg(ap, const char *); a != NULL; a = va_arg(ap, const char *)) {
        assert_true(n < 31);
        args[n++] = a;
    }
    va_end(ap);
    args[n] = NULL;
    it_exec(r, "vigil-agent", args);
    free(conf);
}

/* Fails the test with the command's output unless it exited with status. */
static void
s_expect(const it_run *r, int status, const char *what)
{
    if (r->status != status) {
        fail_msg("%s: exit %d, wanted %d\nstdout: %s\nstderr: %s", what, r->status, status, r->out,
                 r->err);
    }
}

/* Publishes the Rotherham warning from home-office to the police (the
 * policy adds licensing and children's services); returns its id. */
static char *
s_publish(const bh_broker *b)
{
    it_run r;
    s_agent(&r, b, "home-office", "publish", "--severity", "high", "--category", "taxi,cse", "--to",
            "police", "--headline", S_HEADLINE, "--timeout", "10s", NULL);
    s_expect(&r, 0, "publish");
    assert_int_equal(strlen(r.out), VG_ALERT_ID_HEX_LEN + 1);
    char *id = strndup(r.out, VG_ALERT_ID_HEX_LEN);
    it_run_fini(&r);
    return id;
}

static void
s_receive(const bh_broker *b, const char *agency, const char *id)
{
    it_run r;
    s_agent(&r, b, agency, "listen", "--count", "1", "--json", "--timeout", "10s", NULL);
    s_expect(&r, 0, agency);
    assert_true(it_contains(r.out, id));
    it_run_fini(&r);
}

/* Parses a command's stdout as one JSON document (the test owns it). */
static json_t *
s_json(const it_run *r)
{
    json_error_t err;
    json_t *doc = json_loads(r->out, 0, &err);
    if (doc == NULL) {
        fail_msg("not JSON (%s): %s", err.text, r->out);
    }
    return doc;
}

/* The recipient object for agency in a status object. */
static json_t *
s_recipient(json_t *status, const char *agency)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(status, "recipients"), i, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "agency")), agency) == 0) {
            return r;
        }
    }
    fail_msg("no recipient %s", agency);
    return NULL;
}

static const char *
s_str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "(null)";
}

static bool
s_true(json_t *obj, const char *key)
{
    return json_is_true(json_object_get(obj, key));
}

/* ---- the Rotherham case ----------------------------------------------------------------- */

/* Police acknowledge (twice: the second says so and exits 0); children's
 * services acknowledge with the officer from $VIGIL_OFFICER. */
static void
s_acknowledge(const bh_broker *b, const char *id)
{
    it_run r;
    s_agent(&r, b, "police", "ack", id, "--officer", "PC Jones", "--note",
            "child protection strategy", "--timeout", "10s", NULL);
    s_expect(&r, 0, "police ack");
    char want[128];
    snprintf(want, sizeof want, "acknowledged %s as police by PC Jones\n", id);
    assert_string_equal(r.out, want);
    it_run_fini(&r);

    s_agent(&r, b, "police", "ack", id, "--officer", "PC Jones", NULL);
    s_expect(&r, 0, "second police ack");
    snprintf(want, sizeof want, "already acknowledged %s as police", id);
    assert_true(it_contains(r.out, want));
    it_run_fini(&r);

    assert_int_equal(setenv("VIGIL_OFFICER", "SW Patel", 1), 0);
    s_agent(&r, b, "childrens-services", "ack", id, NULL);
    unsetenv("VIGIL_OFFICER");
    s_expect(&r, 0, "childrens-services ack");
    assert_true(it_contains(r.out, "as childrens-services by SW Patel"));
    it_run_fini(&r);
}

/* outstanding --overdue --json as the sender lists the alert with licensing
 * overdue and the two others acknowledged. */
static void
s_check_outstanding(const bh_broker *b, const char *id)
{
    it_run r;
    s_agent(&r, b, "home-office", "outstanding", "--overdue", "--json", NULL);
    s_expect(&r, 0, "outstanding --overdue");
    json_t *doc = s_json(&r);
    assert_int_equal(json_array_size(doc), 1);
    json_t *st = json_array_get(doc, 0);
    assert_string_equal(s_str(st, "id"), id);
    assert_true(s_true(st, "overdue"));
    assert_true(s_true(s_recipient(st, "licensing"), "overdue"));
    assert_false(s_true(s_recipient(st, "police"), "overdue"));
    assert_false(s_true(s_recipient(st, "childrens-services"), "overdue"));
    json_decref(doc);
    it_run_fini(&r);

    s_agent(&r, b, "home-office", "outstanding", "--overdue", NULL);
    s_expect(&r, 0, "outstanding --overdue (text)");
    assert_true(it_contains(r.out, id));
    assert_true(it_contains(r.out, "police:ACK licensing:OVERDUE childrens-services:ACK"));
    assert_true(it_contains(r.out, "overdue +"));
    it_run_fini(&r);
}

/* status --json: police acknowledged by PC Jones, licensing overdue (the
 * broker's flag too), not complete. */
static void
s_check_status(const bh_broker *b, const char *id)
{
    it_run r;
    s_agent(&r, b, "home-office", "status", id, "--json", NULL);
    s_expect(&r, 0, "status --json");
    json_t *st = s_json(&r);
    assert_string_equal(s_str(st, "id"), id);
    assert_string_equal(s_str(st, "sender"), "home-office");
    assert_false(s_true(st, "complete"));
    json_t *police = s_recipient(st, "police");
    assert_string_equal(s_str(police, "state"), "acknowledged");
    assert_string_equal(s_str(police, "officer"), "PC Jones");
    assert_string_equal(s_str(police, "note"), "child protection strategy");
    json_t *lic = s_recipient(st, "licensing");
    assert_string_equal(s_str(lic, "state"), "delivered");
    assert_true(s_true(lic, "required"));
    assert_true(s_true(lic, "overdue"));
    assert_true(s_true(lic, "missed_deadline"));
    assert_string_equal(s_str(s_recipient(st, "childrens-services"), "officer"), "SW Patel");
    json_decref(st);
    it_run_fini(&r);

    s_agent(&r, b, "licensing", "status", id, NULL); /* a recipient reads the headline */
    s_expect(&r, 0, "status (text)");
    assert_true(it_contains(r.out, "headline    " S_HEADLINE));
    assert_true(it_contains(r.out, "complete    no"));
    const char *line = strstr(r.out, "  licensing ");
    assert_non_null(line);
    assert_true(strstr(line, "OVERDUE +") != NULL &&
                strstr(line, "OVERDUE +") < strchr(line, '\n'));
    it_run_fini(&r);
}

static bool
s_has_kind(json_t *const *evs, size_t n, const char *kind, const char *agency)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s_str(evs[i], "kind"), kind) == 0 &&
            (agency == NULL || strcmp(s_str(evs[i], "agency"), agency) == 0)) {
            return true;
        }
    }
    return false;
}

/* events --since 0 as the sender: the whole story, gap-free and in order. */
static void
s_check_events(const bh_broker *b, const char *id)
{
    it_run r;
    s_agent(&r, b, "home-office", "events", "--since", "0", "--json", "--timeout", "1s", NULL);
    s_expect(&r, 0, "events --since 0");
    json_t *evs[64];
    size_t n = 0;
    for (char *line = r.out; *line != '\0' && n < 64;) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        evs[n] = json_loads(line, 0, NULL);
        assert_non_null(evs[n]);
        assert_int_equal(json_integer_value(json_object_get(evs[n], "seq")), (json_int_t)n + 1);
        n++;
        line = nl + 1;
    }
    assert_true(n >= 7);
    assert_string_equal(s_str(evs[0], "kind"), "accepted");
    assert_string_equal(s_str(evs[0], "alert_id"), id);
    assert_true(s_has_kind(evs, n, "delivered", "licensing"));
    assert_true(s_has_kind(evs, n, "acknowledged", "police"));
    assert_true(s_has_kind(evs, n, "acknowledged", "childrens-services"));
    assert_true(s_has_kind(evs, n, "overdue", "licensing"));
    assert_false(s_has_kind(evs, n, "acknowledged", "licensing"));
    for (size_t i = 0; i < n; i++) {
        json_decref(evs[i]);
    }
    it_run_fini(&r);

    s_agent(&r, b, "home-office", "events", "--since", "2", "--count", "3", "--timeout", "5s",
            NULL);
    s_expect(&r, 0, "events --since 2 --count 3");
    assert_true(strncmp(r.out, "3 ", 2) == 0);
    assert_true(it_contains(r.out, "\n5 "));
    assert_false(it_contains(r.out, "\n6 "));
    it_run_fini(&r);
}

/* Refusals: clear, and nothing changes. */
static void
s_check_refusals(const bh_broker *b, const char *id)
{
    it_run r;
    s_agent(&r, b, "licensing", "share", id, "--to", "home-office", "--reason", "FYI", NULL);
    s_expect(&r, 1, "share with the sender");
    assert_true(it_contains(r.err, "sent this alert"));
    assert_string_equal(r.out, "");
    it_run_fini(&r);

    s_agent(&r, b, "licensing", "ack", "0123456789abcdef0123456789abcdef", "--officer", "x", NULL);
    s_expect(&r, 1, "ack of an unknown alert");
    assert_true(it_contains(r.err, "not in licensing's inbox"));
    assert_string_equal(r.out, "");
    it_run_fini(&r);

    s_agent(&r, b, "home-office", "status", "0123456789abcdef0123456789abcdef", NULL);
    s_expect(&r, 1, "status of an unknown alert");
    assert_true(it_contains(r.err, "unknown_alert"));
    it_run_fini(&r);

    s_agent(&r, b, "licensing", "progress", id, NULL);
    s_expect(&r, 2, "progress without --reason");
    assert_true(it_contains(r.err, "--reason"));
    it_run_fini(&r);

    s_agent(&r, b, "licensing", "decline", id, "--reason", "", NULL);
    s_expect(&r, 2, "decline with an empty --reason");
    it_run_fini(&r);

    s_agent(&r, b, "licensing", "ack", "not-an-id", "--officer", "x", NULL);
    s_expect(&r, 2, "ack of a bad id");
    assert_true(it_contains(r.err, "32 hex"));
    it_run_fini(&r);
}

static void
test_rotherham_on_the_command_line(void **state)
{
    bh_broker *b = *state;
    int64_t t0 = bh_now_ms();
    char *id = bh_own(b, s_publish(b), free);
    s_receive(b, "police", id);
    s_receive(b, "licensing", id);
    s_receive(b, "childrens-services", id);
    s_acknowledge(b, id);
    bh_sleep_ms(t0 + S_DEADLINE_MS + 1000 - bh_now_ms()); /* licensing does nothing */
    s_check_outstanding(b, id);
    s_check_status(b, id);
    s_check_events(b, id);
    s_check_refusals(b, id);

    it_run r; /* licensing acknowledges at last: complete, and still shown late */
    s_agent(&r, b, "licensing", "ack", id, "--officer", "Late Larry", NULL);
    s_expect(&r, 0, "licensing ack");
    it_run_fini(&r);
    s_agent(&r, b, "home-office", "status", id, NULL);
    s_expect(&r, 0, "status after the last ack");
    assert_true(it_contains(r.out, "complete    yes"));
    assert_true(it_contains(r.out, "LATE +"));
    it_run_fini(&r);
    s_agent(&r, b, "home-office", "outstanding", NULL);
    s_expect(&r, 0, "outstanding after the last ack");
    assert_false(it_contains(r.out, id));
    it_run_fini(&r);
    bh_pass(b);
}

/* ---- the live stream ------------------------------------------------------------------------ */

/* A live `events --count 1` sees the accepted event of an alert published
 * after it started. */
static void
test_events_live(void **state)
{
    bh_broker *b = *state;
    char *out = bh_own(b, it_path(b->tmp, "events.out"), free);
    char *conf = bh_own(b, bh_agent_conf(b, "home-office"), free);
    char *bin = bh_own(b, it_path(VG_BIN_DIR, "vigil-agent"), free);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, STDOUT_FILENO);
    char *argv[] = {bin, "-c", conf, "events", "--count", "1", "--json", "--timeout", "10s", NULL};
    pid_t pid = 0;
    int rc = posix_spawn(&pid, bin, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fd);
    assert_int_equal(rc, 0);
    bh_sleep_ms(500); /* let it subscribe */
    char *id = bh_own(b, s_publish(b), free);
    int status = -1;
    for (int64_t end = bh_now_ms() + 15000; bh_now_ms() < end;) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            pid = 0;
            break;
        }
        bh_sleep_ms(20);
    }
    if (pid != 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("events --count 1 did not end");
    }
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    uint8_t *text = NULL;
    size_t len = 0;
    assert_int_equal(vg_file_read(&text, &len, out, 1 << 20, NULL), VG_OK);
    assert_true(it_contains((char *)text, "\"kind\":\"accepted\""));
    assert_true(it_contains((char *)text, id));
    free(text);
    bh_pass(b);
}

/* ---- exercises and tests: marked on every output ------------------------------------- */

#define S_EX_HEADLINE "Exercise Juniper: taxi licence check"

/* Publishes from home-office to the police (the policy adds licensing and
 * children's services) with --status; returns its id. */
static char *
s_publish_status(const bh_broker *b, const char *status, const char *headline)
{
    it_run r;
    s_agent(&r, b, "home-office", "publish", "--severity", "high", "--category", "taxi,cse", "--to",
            "police", "--headline", headline, "--status", status, "--timeout", "10s", NULL);
    s_expect(&r, 0, "publish --status");
    assert_int_equal(strlen(r.out), VG_ALERT_ID_HEX_LEN + 1);
    char *id = strndup(r.out, VG_ALERT_ID_HEX_LEN);
    it_run_fini(&r);
    return id;
}

/* The line of text that contains needle (up to its newline), into out. */
static void
s_line_with(char *out, size_t out_len, const char *text, const char *needle)
{
    const char *hit = strstr(text, needle);
    if (hit == NULL) {
        fail_msg("no line with %s in:\n%s", needle, text);
    }
    while (hit > text && hit[-1] != '\n') {
        hit--;
    }
    const char *nl = strchr(hit, '\n');
    size_t len = nl ? (size_t)(nl - hit) : strlen(hit);
    snprintf(out, out_len, "%.*s", (int)len, hit);
}

/* Fails the test showing line unless it contains needle. */
static void
s_line_has(const char *line, const char *needle)
{
    if (!it_contains(line, needle)) {
        fail_msg("wanted \"%s\" in:\n%s", needle, line);
    }
}

/* An exercise and a test next to an actual alert: listen (text and JSON),
 * status (text and JSON) and outstanding (text and JSON) mark the two and
 * not the actual one; oversight, which reads no content, sees the mark on a
 * sealed alert too. */
static void
test_exercise_marked_on_every_output(void **state)
{
    bh_broker *b = *state;
    char *ex = s_publish_status(b, "exercise", S_EX_HEADLINE);
    char *te = s_publish_status(b, "test", "Test of the licensing feed");
    char *ac = s_publish(b);

    it_run r;
    s_agent(&r, b, "licensing", "listen", "--count", "3", "--timeout", "10s", NULL);
    s_expect(&r, 0, "listen (text)");
    char want[256];
    snprintf(want, sizeof want, "status:      EXERCISE: not an actual alert\ntime:        ");
    assert_true(strncmp(r.out, want, strlen(want)) == 0); /* the first line of its block */
    assert_true(it_contains(r.out, "\n\nstatus:      TEST: not an actual alert\ntime:"));
    snprintf(want, sizeof want, "id:          %s\n", ac);
    const char *actual_block = strstr(r.out, want);
    assert_non_null(actual_block);
    assert_null(strstr(actual_block, "status:")); /* an actual alert says nothing */
    assert_false(it_contains(strstr(r.out, "Test of the licensing"), "\nstatus:"));
    it_run_fini(&r);

    s_agent(&r, b, "police", "listen", "--count", "3", "--json", "--timeout", "10s", NULL);
    s_expect(&r, 0, "listen --json");
    char line[4096];
    s_line_with(line, sizeof line, r.out, ex);
    s_line_has(line, "\"status\":\"exercise\"");
    s_line_with(line, sizeof line, r.out, te);
    s_line_has(line, "\"status\":\"test\"");
    s_line_with(line, sizeof line, r.out, ac);
    s_line_has(line, "\"status\":\"actual\"");
    it_run_fini(&r);

    s_agent(&r, b, "licensing", "status", ex, NULL);
    s_expect(&r, 0, "status (text)");
    snprintf(want, sizeof want, "alert       %s\nstatus      EXERCISE: not an actual alert\n", ex);
    assert_true(strncmp(r.out, want, strlen(want)) == 0);
    assert_true(it_contains(r.out, "headline    " S_EX_HEADLINE "\n"));
    it_run_fini(&r);
    s_agent(&r, b, "licensing", "status", ac, NULL);
    s_expect(&r, 0, "status of the actual alert (text)");
    assert_true(it_contains(r.out, "\nstatus      actual\n"));
    it_run_fini(&r);
    s_agent(&r, b, "home-office", "status", te, "--json", NULL);
    s_expect(&r, 0, "status --json");
    json_t *st = s_json(&r);
    assert_string_equal(s_str(st, "status"), "test");
    json_decref(st);
    it_run_fini(&r);

    /* outstanding: a recipient reads the headlines, oversight sees them sealed. */
    s_agent(&r, b, "licensing", "outstanding", NULL);
    s_expect(&r, 0, "outstanding (text)");
    s_line_with(line, sizeof line, r.out, ex);
    s_line_has(line, " home-office          EXERCISE \"" S_EX_HEADLINE "\"  ");
    s_line_with(line, sizeof line, r.out, te);
    s_line_has(line, " home-office          TEST \"Test of the licensing feed\"  ");
    s_line_with(line, sizeof line, r.out, ac);
    s_line_has(line, " home-office          \"" S_HEADLINE "\"  ");
    it_run_fini(&r);
    s_agent(&r, b, "oversight", "outstanding", NULL);
    s_expect(&r, 0, "outstanding as oversight (text)");
    s_line_with(line, sizeof line, r.out, ex);
    s_line_has(line, " home-office          EXERCISE sealed  ");
    s_line_with(line, sizeof line, r.out, ac);
    s_line_has(line, " home-office          sealed  ");
    it_run_fini(&r);
    s_agent(&r, b, "home-office", "outstanding", "--json", NULL);
    s_expect(&r, 0, "outstanding --json");
    json_t *doc = s_json(&r);
    assert_int_equal(json_array_size(doc), 3);
    size_t i;
    json_t *o;
    json_array_foreach(doc, i, o)
    {
        const char *id = s_str(o, "id");
        assert_string_equal(s_str(o, "status"), strcmp(id, ex) == 0   ? "exercise"
                                                : strcmp(id, te) == 0 ? "test"
                                                                      : "actual");
    }
    json_decref(doc);
    it_run_fini(&r);
    /* events: each accepted event says its alert's status, in text and JSON */
    s_agent(&r, b, "home-office", "events", "--since", "0", "--timeout", "1s", NULL);
    s_line_with(line, sizeof line, r.out, ex);
    s_line_has(line, ex);
    s_line_has(line, " EXERCISE ");
    s_line_with(line, sizeof line, r.out, te);
    s_line_has(line, " TEST ");
    s_line_with(line, sizeof line, r.out, ac);
    assert_null(strstr(line, "EXERCISE"));
    it_run_fini(&r);
    s_agent(&r, b, "home-office", "events", "--since", "0", "--json", "--timeout", "1s", NULL);
    s_line_with(line, sizeof line, r.out, ex);
    s_line_has(line, "\"status\":\"exercise\"");
    s_line_with(line, sizeof line, r.out, ac);
    s_line_has(line, "\"status\":\"actual\"");
    it_run_fini(&r);
    free(ex);
    free(te);
    free(ac);
    bh_pass(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rotherham_on_the_command_line, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_events_live, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_exercise_marked_on_every_output, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
