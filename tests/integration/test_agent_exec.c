/* agent-store: reads licensing's own agent.db (inbox, hand-overs), not the broker's store */
/*
 * test_agent_exec.c — `vigil-agent listen --exec` hands every alert over at
 * least once and records it as handled exactly once, against the real
 * vigil-broker on 127.0.0.1, with real processes killed for real:
 *
 * - the command is SIGKILLed mid-run: reported, handed over again;
 * - listen is SIGKILLed by the command itself after the command did its work
 *   and before listen could record it (between the exit and the inbox
 *   write): the next listen --exec hands it over again;
 * - listen is SIGKILLed while the command still runs: the same;
 * - the command exits 1 twice, then 0: three hand-overs, one handled;
 * - a command that always fails parks the alert after --exec-attempts; it
 *   is reported loudly, not handed over by the next listen, and handed over
 *   once an operator runs --retry-parked;
 * - a second listen --exec on the same store is refused (exit 1);
 * - a plain listen (no --exec) still hands each alert over once, and does
 *   not take alerts an --exec listener holds.
 *
 * The evidence is licensing's own inbox (agent.db, opened read-only): every
 * alert's hand-over state and its `handovers` rows (one per attempt, with
 * its outcome), and the command's own log of what it did. home-office
 * publishes through the library; licensing listens through the CLI.
 * Every wait is bounded; the broker log is printed when a test fails.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "broker_harness.h"
#include "itest.h"
#include "vigil/util.h"
#include "vigil/wire.h"

extern char **environ;

#define T_REPLY_MS 10000  /* publish confirm */
#define T_LISTEN_MS 60000 /* longest a listen may run in these tests */
#define T_N_ALERTS 3      /* alerts per scenario */
#define T_AGENCY "licensing"

typedef struct t_ctx {
    bh_broker *b;                                  /* broker and network */
    char *dir;                                     /* scratch for the command */
    char *script;                                  /* dir/cmd.sh */
    char *out;                                     /* dir/listen.out: every run */
    char *err;                                     /* dir/listen.err: every run */
    char ids[T_N_ALERTS][VG_ALERT_ID_HEX_LEN + 1]; /* what was published, as hex */
    uint8_t raw[T_N_ALERTS][VG_ALERT_ID_LEN];      /* the same, as bytes */
} t_ctx;

/* ---- fixture ------------------------------------------------------------------------------ */

static int
s_setup(void **state)
{
    t_ctx *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->b = bh_new(NULL);
    bh_start(c->b);
    c->dir = it_path(c->b->tmp, "exec");
    assert_int_equal(mkdir(c->dir, 0700), 0);
    c->script = it_path(c->dir, "cmd.sh");
    c->out = it_path(c->dir, "listen.out");
    c->err = it_path(c->dir, "listen.err");
    *state = c;
    return 0;
}

static int
s_teardown(void **state)
{
    t_ctx *c = *state;
    free(c->dir);
    free(c->script);
    free(c->out);
    free(c->err);
    bh_destroy(&c->b);
    free(c);
    return 0;
}

/* ---- the command and its log ----------------------------------------------------------------- */

/* Writes cmd.sh: it logs each start ("ID ATTEMPT" to dir/started), runs
 * body, and logs "ID" to dir/handled when body lets it through. */
static void
s_script(const t_ctx *c, const char *body)
{
    FILE *f = fopen(c->script, "w");
    assert_non_null(f);
    fprintf(f,
            "#!/bin/sh\n"
            "d='%s'\n"
            "cat > \"$d/last.json\"\n"
            "echo \"$VIGIL_ALERT_ID $VIGIL_ATTEMPT\" >> \"$d/started\"\n"
            "%s\n"
            "echo \"$VIGIL_ALERT_ID\" >> \"$d/handled\"\n"
            "exit 0\n",
            c->dir, body);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(c->script, 0700), 0);
}

static char *
s_file(const t_ctx *c, const char *name)
{
    char *path = it_path(c->dir, name);
    uint8_t *data = NULL;
    size_t len = 0;
    if (vg_file_read(&data, &len, path, 1 << 20, NULL) != VG_OK) {
        data = (uint8_t *)vg_strdup("");
    }
    free(path);
    return (char *)data;
}

/* Lines of dir/name that start with prefix. */
static int
s_lines(const t_ctx *c, const char *name, const char *prefix)
{
    char *text = s_file(c, name);
    int n = 0;
    for (char *line = text; *line != '\0';) {
        char *nl = strchr(line, '\n');
        n += strncmp(line, prefix, strlen(prefix)) == 0;
        line = nl != NULL ? nl + 1 : line + strlen(line);
    }
    free(text);
    return n;
}

/* ---- publishing and listening ---------------------------------------------------------------- */

static void
s_publish(t_ctx *c)
{
    vga_agent *tx = bh_agent_open(c->b, "home-office", false);
    for (int i = 0; i < T_N_ALERTS; i++) {
        vg_alert a;
        char headline[64];
        snprintf(headline, sizeof headline, "Hand me over %d", i);
        bh_alert_init(&a, headline, "", "taxi", "");
        vga_confirm res;
        vg_reason why = {{0}};
        vg_err rc = vga_publish(tx, &a, T_REPLY_MS, &res, &why);
        if (rc != VG_OK) {
            fail_msg("publish: %s: %s", vg_err_code(rc), why.text);
        }
        memcpy(c->raw[i], res.alert_id, VG_ALERT_ID_LEN);
        vg_alert_id_hex(c->ids[i], res.alert_id);
        vga_confirm_fini(&res);
        bh_alert_fini(&a);
    }
    vga_agent_destroy(&tx);
}

/* Starts vigil-agent -c licensing listen ARGS... (NULL-terminated) with
 * stdout and stderr appended to listen.out and listen.err; returns its pid. */
static pid_t
s_listen_start(const t_ctx *c, ...)
{
    const char *args[24];
    char *bin = it_path(VG_BIN_DIR, "vigil-agent");
    char *conf = bh_agent_conf(c->b, T_AGENCY);
    size_t n = 0;
    args[n++] = bin;
    args[n++] = "-c";
    args[n++] = conf;
    args[n++] = "listen";
    va_list ap;
    va_start(ap, c);
    for (const char *a = va_arg(ap, const char *); a != NULL; a = va_arg(ap, const char *)) {
        assert_true(n < 23);
        args[n++] = a;
    }
    va_end(ap);
    args[n] = NULL;
    int out = open(c->out, O_WRONLY | O_CREAT | O_APPEND, 0600);
    int err = open(c->err, O_WRONLY | O_CREAT | O_APPEND, 0600);
    assert_true(out >= 0 && err >= 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, err, STDERR_FILENO);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, bin, &fa, NULL, (char *const *)args, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out);
    close(err);
    free(conf);
    free(bin);
    assert_int_equal(rc, 0);
    return pid;
}

/* Waits (bounded) for pid to end; its wait status. SIGKILLs it and fails
 * the test when it outlives T_LISTEN_MS. */
static int
s_listen_wait(const t_ctx *c, pid_t pid)
{
    int64_t end = bh_now_ms() + T_LISTEN_MS;
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) != pid) {
        if (bh_now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            char *err = s_file(c, "listen.err");
            fail_msg("listen did not end within %d ms; stderr:\n%s", T_LISTEN_MS, err);
        }
        bh_sleep_ms(20);
    }
    return status;
}

/* Runs listen to its end and checks it exited 0. */
static void
s_listen_run(const t_ctx *c, pid_t pid)
{
    int status = s_listen_wait(c, pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char *err = s_file(c, "listen.err");
        fail_msg("listen ended with status 0x%x; stderr:\n%s", status, err);
    }
}

/* Waits (bounded) until dir/name has at least n lines starting with prefix. */
static void
s_wait_lines(const t_ctx *c, const char *name, const char *prefix, int n)
{
    int64_t end = bh_now_ms() + T_LISTEN_MS;
    while (s_lines(c, name, prefix) < n) {
        if (bh_now_ms() > end) {
            char *err = s_file(c, "listen.err");
            fail_msg("%s never had %d lines '%s'; listen stderr:\n%s", name, n, prefix, err);
        }
        bh_sleep_ms(20);
    }
}

/* ---- licensing's inbox ------------------------------------------------------------------------
 */

/* One integer from licensing's agent.db (read-only); ?1 is the alert id. */
static int64_t
s_inbox_int(const t_ctx *c, const char *sql, const uint8_t *id)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/agents/%s/store/agent.db", c->b->net, T_AGENCY);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    }
    if (id != NULL) {
        sqlite3_bind_blob(st, 1, id, VG_ALERT_ID_LEN, SQLITE_STATIC);
    }
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Hand-overs of alert id that ended with outcome (NULL: every one). */
static int64_t
s_handovers(const t_ctx *c, const uint8_t *id, const char *outcome)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM handovers h JOIN inbox i ON h.inbox_id = i.id"
             " WHERE i.alert_id = ?1%s%s%s",
             outcome ? " AND h.outcome = '" : "", outcome ? outcome : "", outcome ? "'" : "");
    return s_inbox_int(c, sql, id);
}

/* Every alert: in the inbox once, handed over at least once, handled exactly
 * once, its state handled, no attempt left open. */
static void
s_assert_all_handled_once(const t_ctx *c)
{
    for (int i = 0; i < T_N_ALERTS; i++) {
        const uint8_t *id = c->raw[i];
        assert_int_equal(s_inbox_int(c, "SELECT count(*) FROM inbox WHERE alert_id = ?1", id), 1);
        assert_true(s_handovers(c, id, NULL) >= 1);
        if (s_handovers(c, id, "handled") != 1) {
            char *err = s_file(c, "listen.err");
            fail_msg("alert %s: %lld handled hand-overs; stderr:\n%s", c->ids[i],
                     (long long)s_handovers(c, id, "handled"), err);
        }
        assert_int_equal(
            s_inbox_int(c, "SELECT handover = 'handled' FROM inbox WHERE alert_id = ?1", id), 1);
        assert_int_equal(s_inbox_int(c,
                                     "SELECT count(*) FROM handovers h JOIN inbox i ON"
                                     " h.inbox_id = i.id WHERE i.alert_id = ?1 AND"
                                     " (h.ended_ms IS NULL OR h.outcome IS NULL)",
                                     id),
                         0);
        assert_true(s_lines(c, "handled", c->ids[i]) >= 1); /* the command did it */
    }
}

/* ---- the scenarios ----------------------------------------------------------------------------
 */

/* The command is SIGKILLed mid-run (its first attempt at each alert waits
 * to be killed): listen reports it and hands the alert over again. */
static void
test_command_killed_mid_run(void **state)
{
    t_ctx *c = *state;
    s_script(c, "if [ \"$VIGIL_ATTEMPT\" = 1 ]; then echo $$ > \"$d/pid.$VIGIL_ALERT_ID\";"
                " exec sleep 30; fi");
    s_publish(c);
    char cmd[4200]; /* exec: the script is the process listen waits for, so its death is seen */
    snprintf(cmd, sizeof cmd, "exec '%s'", c->script);
    pid_t pid =
        s_listen_start(c, "--exec", cmd, "--exec-backoff", "100ms", "--timeout", "3s", NULL);
    for (int killed = 0; killed < T_N_ALERTS;) { /* each alert's first run, in turn */
        for (int i = 0; i < T_N_ALERTS; i++) {
            char name[128];
            snprintf(name, sizeof name, "pid.%s", c->ids[i]);
            char *text = s_file(c, name);
            long victim = strtol(text, NULL, 10);
            free(text);
            if (victim > 0 && kill((pid_t)victim, SIGKILL) == 0) {
                char *gone = it_path(c->dir, name);
                unlink(gone);
                free(gone);
                killed++;
            }
        }
        assert_int_equal(waitpid(pid, NULL, WNOHANG), 0); /* listen goes on */
        bh_sleep_ms(20);
    }
    s_listen_run(c, pid);
    s_assert_all_handled_once(c);
    char *err = s_file(c, "listen.err");
    for (int i = 0; i < T_N_ALERTS; i++) {
        assert_int_equal(s_handovers(c, c->raw[i], "signal 9"), 1);
        assert_int_equal(s_handovers(c, c->raw[i], NULL), 2);
        char want[160];
        snprintf(want, sizeof want,
                 "--exec for alert %s (attempt 1): the command was killed by "
                 "signal 9; it is handed over again in",
                 c->ids[i]);
        assert_true(it_contains(err, want));
    }
    free(err);
    bh_pass(c->b);
}

/* The command does its work, then SIGKILLs listen (its parent: `exec` makes
 * the script the process listen waits for) and exits 0: listen dies between
 * the command's exit and the inbox write. Each restart hands the alert over
 * again; the inbox records the interrupted attempt and one handled. */
static void
test_listen_killed_between_exit_and_inbox_write(void **state)
{
    t_ctx *c = *state;
    s_script(c, "echo \"$VIGIL_ALERT_ID\" >> \"$d/done\"\n"
                "if [ \"$VIGIL_ATTEMPT\" = 1 ]; then kill -9 $PPID; fi");
    s_publish(c);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "exec '%s'", c->script);
    int kills = 0;
    for (int run = 0; run < 2 * T_N_ALERTS + 2; run++) {
        pid_t pid = s_listen_start(c, "--exec", cmd, "--timeout", "2s", NULL);
        int status = s_listen_wait(c, pid);
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
            kills++;
            continue;
        }
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        break;
    }
    assert_int_equal(kills, T_N_ALERTS); /* one per alert: its first run */
    s_assert_all_handled_once(c);
    for (int i = 0; i < T_N_ALERTS; i++) {
        assert_int_equal(s_handovers(c, c->raw[i], "interrupted"), 1);
        assert_int_equal(s_handovers(c, c->raw[i], NULL), 2);
        assert_int_equal(s_lines(c, "done", c->ids[i]), 2); /* at least once: here twice */
    }
    bh_pass(c->b);
}

/* listen is SIGKILLed while the command still runs (it sleeps on its first
 * attempt): the next listen hands the alert over again. */
static void
test_listen_killed_while_command_runs(void **state)
{
    t_ctx *c = *state;
    s_script(c, "if [ \"$VIGIL_ATTEMPT\" = 1 ]; then sleep 1; fi");
    s_publish(c);
    pid_t pid = s_listen_start(c, "--exec", c->script, "--timeout", "2s", NULL);
    s_wait_lines(c, "started", "", 1);
    assert_int_equal(kill(pid, SIGKILL), 0);
    s_listen_wait(c, pid);
    pid = s_listen_start(c, "--exec", c->script, "--timeout", "3s", NULL);
    s_listen_run(c, pid);
    s_assert_all_handled_once(c);
    int interrupted = 0;
    for (int i = 0; i < T_N_ALERTS; i++) {
        interrupted += (int)s_handovers(c, c->raw[i], "interrupted");
    }
    assert_int_equal(interrupted, 1); /* the one running when listen died */
    char *err = s_file(c, "listen.err");
    assert_true(it_contains(err, "handover.interrupted"));
    free(err);
    bh_pass(c->b);
}

/* The command exits 1 twice, then 0: three hand-overs, the third handled,
 * each failure reported with the time of the next try. */
static void
test_command_fails_twice_then_succeeds(void **state)
{
    t_ctx *c = *state;
    s_script(c, "if [ \"$VIGIL_ATTEMPT\" -le 2 ]; then exit 1; fi");
    s_publish(c);
    pid_t pid = s_listen_start(c, "--exec", c->script, "--exec-backoff", "100ms", "--timeout", "3s",
                               "--json", NULL);
    s_listen_run(c, pid);
    s_assert_all_handled_once(c);
    for (int i = 0; i < T_N_ALERTS; i++) {
        assert_int_equal(s_handovers(c, c->raw[i], "exit 1"), 2);
        assert_int_equal(s_handovers(c, c->raw[i], NULL), 3);
        assert_int_equal(
            s_inbox_int(c, "SELECT failures FROM inbox WHERE alert_id = ?1", c->raw[i]), 2);
        char start[80];
        snprintf(start, sizeof start, "%s 3", c->ids[i]);
        assert_int_equal(s_lines(c, "started", start), 1); /* VIGIL_ATTEMPT counts */
    }
    char *err = s_file(c, "listen.err");
    char *out = s_file(c, "listen.out");
    int failures = 0;
    for (const char *p = err; (p = strstr(p, "exited with status 1")) != NULL; p++) {
        failures++;
    }
    assert_int_equal(failures, 2 * T_N_ALERTS);
    assert_true(it_contains(err, "failure 2 of 8 before it is parked"));
    assert_true(it_contains(out, c->ids[0])); /* printed on each hand-over */
    free(out);
    free(err);
    bh_pass(c->b);
}

/* A command that always fails parks the alert after --exec-attempts: loud
 * on stderr, not handed over by the next listen, handed over again once an
 * operator runs --retry-parked with a fixed command. */
static void
test_parked_until_an_operator_acts(void **state)
{
    t_ctx *c = *state;
    s_script(c, "if [ -e \"$d/broken\" ]; then exit 3; fi");
    char *broken = it_path(c->dir, "broken");
    FILE *f = fopen(broken, "w");
    assert_non_null(f);
    fclose(f);
    s_publish(c);
    pid_t pid = s_listen_start(c, "--exec", c->script, "--exec-attempts", "2", "--exec-backoff",
                               "50ms", "--timeout", "2s", NULL);
    s_listen_run(c, pid);
    for (int i = 0; i < T_N_ALERTS; i++) {
        assert_int_equal(s_inbox_int(c,
                                     "SELECT handover = 'parked' FROM inbox"
                                     " WHERE alert_id = ?1",
                                     c->raw[i]),
                         1);
        assert_int_equal(s_handovers(c, c->raw[i], "exit 3"), 2);
    }
    char *err = s_file(c, "listen.err");
    assert_true(it_contains(err, "failed 2 times (last: the command exited with status 3): "
                                 "PARKED"));
    assert_true(it_contains(err, "handover.parked"));
    free(err);
    int started = s_lines(c, "started", "");
    assert_int_equal(started, 2 * T_N_ALERTS);

    /* the next listen does not hand them over, and says so at once */
    assert_int_equal(truncate(c->err, 0), 0);
    pid = s_listen_start(c, "--exec", c->script, "--timeout", "1s", NULL);
    s_listen_run(c, pid);
    assert_int_equal(s_lines(c, "started", ""), started);
    err = s_file(c, "listen.err");
    assert_true(it_contains(err, "3 alerts are PARKED: fix the command, then run"));
    assert_true(it_contains(err, c->ids[0]));
    free(err);

    /* the operator fixes the command and re-arms them */
    unlink(broken);
    free(broken);
    pid = s_listen_start(c, "--exec", c->script, "--retry-parked", "--timeout", "2s", NULL);
    s_listen_run(c, pid);
    s_assert_all_handled_once(c);
    err = s_file(c, "listen.err");
    assert_true(it_contains(err, "--retry-parked: 3 parked alerts are handed over again"));
    free(err);
    bh_pass(c->b);
}

/* One hand-over process per store: a second listen --exec is refused. */
static void
test_one_exec_listener_per_store(void **state)
{
    t_ctx *c = *state;
    s_script(c, ":");
    pid_t first = s_listen_start(c, "--exec", c->script, "--timeout", "20s", NULL);
    int64_t end = bh_now_ms() + T_LISTEN_MS;
    char lock[4200];
    snprintf(lock, sizeof lock, "%s/agents/%s/store/handover.lock", c->b->net, T_AGENCY);
    for (;;) { /* the first one holds the lock once its pid is written */
        char *text = NULL;
        size_t len = 0;
        if (vg_file_read((uint8_t **)&text, &len, lock, 64, NULL) == VG_OK &&
            strtol(text, NULL, 10) == (long)first) {
            free(text);
            break;
        }
        free(text);
        assert_true(bh_now_ms() < end);
        bh_sleep_ms(20);
    }
    it_run r;
    char *conf = bh_agent_conf(c->b, T_AGENCY);
    const char *args[] = {"-c", conf, "listen", "--exec", c->script, "--timeout", "1s", NULL};
    it_exec(&r, "vigil-agent", args);
    it_assert_status(&r, 1);
    char want[128];
    snprintf(want, sizeof want, "another process (pid %ld) is handing this agency's alerts over",
             (long)first);
    assert_true(it_contains(r.err, want));
    it_run_fini(&r);
    const char *plain[] = {"-c", conf, "listen", "--exec-attempts", "3", NULL};
    it_exec(&r, "vigil-agent", plain);
    it_assert_status(&r, 2); /* the --exec options go with --exec */
    it_run_fini(&r);
    free(conf);
    kill(first, SIGTERM);
    s_listen_run(c, first);
    bh_pass(c->b);
}

/* Without --exec, listen is what it was: each alert printed once (at most
 * once, marked surfaced), never handed to a program. */
static void
test_plain_listen_unchanged(void **state)
{
    t_ctx *c = *state;
    s_publish(c);
    pid_t pid = s_listen_start(c, "--json", "--count", "3", "--timeout", "10s", NULL);
    s_listen_run(c, pid);
    char *out = s_file(c, "listen.out");
    for (int i = 0; i < T_N_ALERTS; i++) {
        assert_true(it_contains(out, c->ids[i]));
        assert_int_equal(s_inbox_int(c,
                                     "SELECT surfaced = 1 AND handover IS NULL FROM inbox"
                                     " WHERE alert_id = ?1",
                                     c->raw[i]),
                         1);
        assert_int_equal(s_handovers(c, c->raw[i], NULL), 0);
    }
    free(out);
    s_script(c, ":");
    pid = s_listen_start(c, "--exec", c->script, "--timeout", "1s", NULL);
    s_listen_run(c, pid);
    assert_int_equal(s_lines(c, "started", ""), 0); /* printed already: not handed over */
    bh_pass(c->b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_command_killed_mid_run, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_listen_killed_between_exit_and_inbox_write, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_listen_killed_while_command_runs, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_command_fails_twice_then_succeeds, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_parked_until_an_operator_acts, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_one_exec_listener_per_store, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_plain_listen_unchanged, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
