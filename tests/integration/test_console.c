/*
 * test_console.c — vigil-console driven for real against the real broker.
 *
 * Full screen: two consoles (licensing and police) run in tmux (a private
 * server per test: tmux -L <socket>), alerts are published with the agent
 * library, keys are sent with send-keys and the screen is read with
 * capture-pane: the overdue alert is listed first with the late agency
 * marked, acknowledging from the licensing console (keys) changes the ack
 * matrix on both consoles, killing the broker (SIGKILL) turns the header to
 * NO DATA within the heartbeat timeout, and restarting it brings LIVE back
 * with the same state. An exercise alert is marked EXERCISE on its row, in
 * the header's counts, in its detail view and in the acknowledge prompt.
 *
 * --plain: a scripted scenario (publish, delivery, overdue, acknowledge)
 * checked line by line.
 *
 * The networks use 3 s deadlines (vigilctl init --deadline). Every wait is
 * bounded; tmux servers and consoles are stopped by socket and pid in the
 * teardown, the broker by the harness. tmux must be installed: without it
 * the test fails saying so.
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "broker_harness.h"
#include "itest.h"
#include "vigil/agent.h"
#include "vigil/util.h"

extern char **environ;

#define S_SCREEN_MAX (256 * 1024)
#define S_LIVE_MS 15000   /* a console's first LIVE */
#define S_CHANGE_MS 12000 /* a change to show on screen */
#define S_NODATA_MS 25000 /* NO DATA after the broker dies (3 x keepalive + probe) */
#define S_POLL_MS 200
#define S_DEADLINES "critical=3s,high=3s,medium=1h,low=1h"
#define S_HEADLINE_A "Taxi drivers linked to child sexual exploitation"
#define S_HEADLINE_B "Council records about taxi licences reviewed"

typedef struct fixture {
    bh_broker *b;        /* network and broker */
    char sock[64];       /* tmux -L socket name, "" when no server was started */
    pid_t plain;         /* a --plain console, 0 when none */
    vga_agent *agent[4]; /* agents the test opened */
    size_t n_agents;     /* count */
} fixture;

/* ---- set-up ------------------------------------------------------------------------- */

static void
s_require_tmux(void)
{
    if (system("command -v tmux >/dev/null 2>&1") != 0) {
        fail_msg("tmux is not installed: the console test drives vigil-console in tmux. "
                 "Install it (apt-get install tmux; deploy/deps.sh should list it).");
    }
}

/* A harness network, made again with 3 s deadlines (same endpoint). */
static int
s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->b = bh_new(NULL);
    const char *args[] = {"init",
                          f->b->net,
                          "--force",
                          "--agencies",
                          "police,licensing,childrens-services,home-office",
                          "--oversight",
                          "oversight",
                          "--endpoint",
                          f->b->endpoint,
                          "--deadline",
                          S_DEADLINES,
                          NULL};
    it_run r;
    it_exec_in(&r, VG_BIN_DIR, "vigilctl", args);
    it_assert_ok(&r);
    it_run_fini(&r);
    bh_start(f->b);
    *state = f;
    return 0;
}

static void
s_stop_pid(pid_t pid)
{
    kill(pid, SIGTERM);
    for (int i = 0; i < 50; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            return;
        }
        bh_sleep_ms(100);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static int
s_teardown(void **state)
{
    fixture *f = *state;
    if (f->sock[0] != '\0') {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "tmux -L %s kill-server >/dev/null 2>&1", f->sock);
        if (system(cmd) != 0) {
            print_error("tmux -L %s kill-server failed\n", f->sock);
        }
        const char *dir = getenv("TMUX_TMPDIR"); /* tmux leaves the socket file */
        snprintf(cmd, sizeof cmd, "%s/tmux-%ld/%s", dir && dir[0] ? dir : "/tmp", (long)getuid(),
                 f->sock);
        unlink(cmd);
    }
    if (f->plain > 0) {
        s_stop_pid(f->plain);
    }
    for (size_t i = 0; i < f->n_agents; i++) {
        vga_agent_destroy(&f->agent[i]);
    }
    bh_destroy(&f->b);
    free(f);
    return 0;
}

static vga_agent *
s_agent(fixture *f, const char *agency, bool receive)
{
    assert_true(f->n_agents < 4);
    vga_agent *a = bh_agent_open(f->b, agency, receive);
    f->agent[f->n_agents++] = a;
    return a;
}

/* Publishes an alert of this status (taxi and cse: licensing, police and
 * childrens-services must acknowledge) and returns its id. */
static void
s_publish_status(vga_agent *a, const char *headline, vg_severity sev, vg_status status,
                 uint8_t id[VG_ALERT_ID_LEN])
{
    vg_alert al;
    bh_alert_init(&al, headline, "Intelligence links several licensed drivers to exploitation.",
                  "taxi", "");
    assert_int_equal(vg_strlist_add(&al.categories, "cse"), VG_OK);
    al.severity = sev;
    al.status = status;
    vga_confirm res;
    vg_reason why = {{0}};
    vg_err rc = vga_publish(a, &al, 10000, &res, &why);
    if (rc != VG_OK) {
        fail_msg("publish: %s (%s)", why.text, vg_err_code(rc));
    }
    memcpy(id, res.alert_id, VG_ALERT_ID_LEN);
    vga_confirm_fini(&res);
    bh_alert_fini(&al);
}

/* An actual alert. */
static void
s_publish(vga_agent *a, const char *headline, vg_severity sev, uint8_t id[VG_ALERT_ID_LEN])
{
    s_publish_status(a, headline, sev, VG_STATUS_ACTUAL, id);
}

/* ---- tmux -------------------------------------------------------------------------- */

static void
s_tmux(const fixture *f, const char *fmt, ...)
{
    char args[2048], cmd[2300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "tmux -L %s %s", f->sock, args);
    if (system(cmd) != 0) {
        fail_msg("failed: %s", cmd);
    }
}

/* Starts vigil-console for agency in tmux session `name` (120x40). */
static void
s_console(fixture *f, const char *name, const char *agency)
{
    char *conf = bh_agent_conf(f->b, agency);
    char err[512];
    snprintf(err, sizeof err, "%s/%s.stderr", f->b->tmp, name);
    if (f->sock[0] == '\0') {
        snprintf(f->sock, sizeof f->sock, "vgc-test-%ld", (long)getpid());
        s_tmux(f,
               "-f /dev/null new-session -d -s %s -x 120 -y 40 "
               "'exec %s/vigil-console -c %s 2>>%s' \\; set -g remain-on-exit on",
               name, VG_BIN_DIR, conf, err);
    } else {
        s_tmux(f, "new-session -d -s %s -x 120 -y 40 'exec %s/vigil-console -c %s 2>>%s'", name,
               VG_BIN_DIR, conf, err);
    }
    free(conf);
}

static char *
s_capture(const fixture *f, const char *name)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "tmux -L %s capture-pane -p -t %s 2>&1", f->sock, name);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *buf = calloc(1, S_SCREEN_MAX);
    assert_non_null(buf);
    size_t n = fread(buf, 1, S_SCREEN_MAX - 1, p);
    buf[n] = '\0';
    pclose(p);
    return buf;
}

/* Line `row` (0-based) of a captured screen, into out. */
static void
s_row(const char *screen, int row, char *out, size_t out_len)
{
    const char *p = screen;
    for (int i = 0; i < row && p != NULL; i++) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    out[0] = '\0';
    if (p != NULL) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        len = len < out_len - 1 ? len : out_len - 1;
        memcpy(out, p, len);
        out[len] = '\0';
    }
}

/* Row `row` holds every one of the NULL-terminated needles. */
static bool
s_row_has(const char *screen, int row, const char *const *needles)
{
    char line[1024];
    s_row(screen, row, line, sizeof line);
    for (size_t i = 0; needles[i] != NULL; i++) {
        if (strstr(line, needles[i]) == NULL) {
            return false;
        }
    }
    return true;
}

/* Waits up to ms for row `row` of session `name` to hold the needles;
 * fails showing the screen otherwise. Returns how long it took. */
static int64_t
s_wait_row(const fixture *f, const char *name, int row, const char *const *needles, int64_t ms,
           const char *what)
{
    int64_t start = bh_now_ms();
    for (;;) {
        char *screen = s_capture(f, name);
        bool ok = s_row_has(screen, row, needles);
        if (ok) {
            free(screen);
            return bh_now_ms() - start;
        }
        if (bh_now_ms() - start > ms) {
            fprintf(stderr, "---- screen of %s ----\n%s---- end of screen ----\n", name, screen);
            free(screen);
            fail_msg("%s: not on row %d of %s within %lld ms", what, row, name, (long long)ms);
        }
        free(screen);
        bh_sleep_ms(S_POLL_MS);
    }
}

/* ---- the full screen ------------------------------------------------------------------ */

#define S_ROW_SYNC 1  /* LIVE / STALE / NO DATA */
#define S_ROW_FIRST 4 /* the first alert of the list */

static void
s_receive_and_ack(fixture *f, const uint8_t id[VG_ALERT_ID_LEN])
{
    vga_agent *cs = s_agent(f, "childrens-services", true);
    int64_t end = bh_now_ms() + 10000;
    for (int got = 0; got < 2 && bh_now_ms() < end;) {
        vg_alert al;
        vg_reason why = {{0}};
        if (vga_receive(cs, 500, &al, &why) == VG_OK) {
            vg_alert_fini(&al);
            got++;
        }
    }
    vga_confirm res;
    vg_reason why = {{0}};
    vg_err rc = vga_ack(cs, id, "Duty social worker", "seen", 5000, &res, &why);
    vga_confirm_fini(&res);
    if (rc != VG_OK) {
        fail_msg("childrens-services ack: %s (%s)", why.text, vg_err_code(rc));
    }
}

static void
test_screen_overdue_ack_and_broker_loss(void **state)
{
    fixture *f = *state;
    s_require_tmux();
    s_console(f, "lic", "licensing");
    s_console(f, "pol", "police");
    const char *live[] = {" LIVE ", NULL};
    s_wait_row(f, "lic", S_ROW_SYNC, live, S_LIVE_MS, "licensing LIVE");
    s_wait_row(f, "pol", S_ROW_SYNC, live, S_LIVE_MS, "police LIVE");

    /* B first (deadline in 1 h), then A (3 s): A goes overdue and leads. */
    vga_agent *ho = s_agent(f, "home-office", false);
    uint8_t id_a[VG_ALERT_ID_LEN], id_b[VG_ALERT_ID_LEN];
    s_publish(ho, S_HEADLINE_B, VG_SEV_MEDIUM, id_b);
    s_publish(ho, S_HEADLINE_A, VG_SEV_HIGH, id_a);
    s_receive_and_ack(f, id_a); /* childrens-services acknowledges A in time */
    const char *first_late[] = {"HIGH", "home-office", "Taxi drivers", "LIC!", "cs+", "LATE", NULL};
    s_wait_row(f, "lic", S_ROW_FIRST, first_late, S_CHANGE_MS, "A overdue first, licensing late");
    const char *second[] = {"MED", "Council records", NULL};
    s_wait_row(f, "lic", S_ROW_FIRST + 1, second, S_CHANGE_MS, "B second");
    s_wait_row(f, "pol", S_ROW_FIRST, first_late, S_CHANGE_MS, "A first on police's console");

    /* Acknowledge A from the licensing console: Home, a, officer, note. */
    s_tmux(f, "send-keys -t lic g a");
    const char *asked[] = {"officer's name", NULL};
    s_wait_row(f, "lic", 39, asked, S_CHANGE_MS, "the officer prompt");
    s_tmux(f, "send-keys -t lic 'PC Ann Jones' Enter 'Licence TL-0417 checked' Enter");
    const char *acked[] = {"Taxi drivers", "lic+", "cs+", NULL};
    s_wait_row(f, "lic", S_ROW_FIRST, acked, S_CHANGE_MS, "licensing's matrix after the ack");
    s_wait_row(f, "pol", S_ROW_FIRST, acked, S_CHANGE_MS, "police's matrix after the ack");
    const char *result[] = {"acknowledged as PC Ann Jones", NULL};
    s_wait_row(f, "lic", 39, result, S_CHANGE_MS, "the ack's result");

    /* The broker dies: NO DATA within the heartbeat timeout, never "all clear". */
    bh_kill(f->b);
    const char *nodata[] = {" NO DATA ", "disconnected", NULL};
    int64_t took = s_wait_row(f, "lic", S_ROW_SYNC, nodata, S_NODATA_MS, "NO DATA");
    print_message("NO DATA after %lld ms\n", (long long)took);
    const char *kept[] = {"Taxi drivers", "lic+", NULL}; /* last known, under the banner */
    s_wait_row(f, "lic", S_ROW_FIRST, kept, 1000, "the last known list under NO DATA");

    /* Back: LIVE with the same state. */
    bh_start(f->b);
    s_wait_row(f, "lic", S_ROW_SYNC, live, S_LIVE_MS, "LIVE again");
    s_wait_row(f, "lic", S_ROW_FIRST, acked, S_CHANGE_MS, "the same state after the restart");
    s_wait_row(f, "lic", S_ROW_FIRST + 1, second, S_CHANGE_MS, "B still second");
    bh_pass(f->b);
}

/* An exercise is marked with a word on its row (sealed or not), counted in
 * the header, and its detail view says it is not an actual alert. */
static void
test_screen_marks_exercise(void **state)
{
    fixture *f = *state;
    s_require_tmux();
    s_console(f, "lic", "licensing");
    const char *live[] = {" LIVE ", NULL};
    s_wait_row(f, "lic", S_ROW_SYNC, live, S_LIVE_MS, "licensing LIVE");
    vga_agent *ho = s_agent(f, "home-office", false);
    uint8_t id_x[VG_ALERT_ID_LEN], id_a[VG_ALERT_ID_LEN];
    s_publish_status(ho, S_HEADLINE_B, VG_SEV_MEDIUM, VG_STATUS_EXERCISE, id_x); /* 1 h */
    s_publish(ho, S_HEADLINE_A, VG_SEV_MEDIUM, id_a);                            /* 1 h, after */
    const char *ex_row[] = {"MED", "home-office", "EXERCISE Council records", NULL};
    s_wait_row(f, "lic", S_ROW_FIRST, ex_row, S_CHANGE_MS, "the exercise marked on its row");
    const char *actual_row[] = {"MED", "home-office Taxi drivers", NULL}; /* no mark */
    s_wait_row(f, "lic", S_ROW_FIRST + 1, actual_row, S_CHANGE_MS, "the actual alert unmarked");
    const char *counts[] = {"open 2", "(1 EXERCISE/TEST)", NULL};
    s_wait_row(f, "lic", 2, counts, S_CHANGE_MS, "the header counts the exercise");
    s_tmux(f, "send-keys -t lic g Enter");
    const char *title[] = {"ALERT ", "  EXERCISE", NULL};
    s_wait_row(f, "lic", 3, title, S_CHANGE_MS, "the detail view's title");
    const char *banner[] = {"*** EXERCISE: not an actual alert; tracked and escalated like one",
                            NULL};
    s_wait_row(f, "lic", 4, banner, S_CHANGE_MS, "the detail view's banner");
    s_tmux(f, "send-keys -t lic a");
    const char *asked[] = {"Acknowledge EXERCISE ", "officer's name", NULL};
    s_wait_row(f, "lic", 39, asked, S_CHANGE_MS, "the ack prompt names the exercise");
    s_tmux(f, "send-keys -t lic Escape");
    bh_pass(f->b);
}

/* ---- --plain ------------------------------------------------------------------------ */

static pid_t
s_spawn_plain(fixture *f, const char *agency, const char *out_path)
{
    char *conf = bh_agent_conf(f->b, agency);
    char *bin = it_path(VG_BIN_DIR, "vigil-console");
    int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fd, STDOUT_FILENO);
    char *argv[] = {bin, "--plain", "-c", conf, NULL};
    pid_t pid = 0;
    int rc = posix_spawn(&pid, bin, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fd);
    free(bin);
    free(conf);
    assert_int_equal(rc, 0);
    return pid;
}

static char *
s_read(const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (vg_file_read(&data, &len, path, S_SCREEN_MAX, NULL) != VG_OK) {
        return vg_strdup("");
    }
    return (char *)data;
}

static void
s_wait_output(const char *path, const char *needle, int64_t ms)
{
    int64_t end = bh_now_ms() + ms;
    for (;;) {
        char *text = s_read(path);
        bool ok = strstr(text, needle) != NULL;
        if (ok || bh_now_ms() > end) {
            if (!ok) {
                fprintf(stderr, "---- %s ----\n%s---- end ----\n", path, text);
            }
            free(text);
            if (!ok) {
                fail_msg("'%s' not in the --plain output within %lld ms", needle, (long long)ms);
            }
            return;
        }
        free(text);
        bh_sleep_ms(S_POLL_MS);
    }
}

/* Every line starts with an RFC 3339 UTC time with milliseconds, and
 * EVENT lines come with consecutive numbers. */
static void
s_check_lines(const char *text)
{
    unsigned long long next = 0;
    for (const char *p = text; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        assert_true(nl - p > 25);
        assert_true(p[4] == '-' && p[10] == 'T' && p[19] == '.' && p[23] == 'Z' && p[24] == ' ');
        unsigned long long seq = 0;
        if (sscanf(p + 25, "EVENT #%llu", &seq) == 1) {
            assert_true(next == 0 || seq == next);
            next = seq + 1;
        }
        p = nl + 1;
    }
}

static void
test_plain_lines(void **state)
{
    fixture *f = *state;
    char *out = it_path(f->b->tmp, "plain.out");
    f->plain = s_spawn_plain(f, "licensing", out);
    s_wait_output(out, " SYNC LIVE open=0 overdue=0 escalated=0", S_LIVE_MS);
    vga_agent *pol = s_agent(f, "police", false);
    uint8_t id[VG_ALERT_ID_LEN];
    char hex[VG_ALERT_ID_HEX_LEN + 1];
    s_publish(pol, S_HEADLINE_A, VG_SEV_HIGH, id);
    vg_alert_id_hex(hex, id);
    s_wait_output(out, "kind=overdue", S_CHANGE_MS);
    vga_agent *lic = s_agent(f, "licensing", false);
    vga_confirm res;
    vg_reason why = {{0}};
    vg_err rc = vga_ack(lic, id, "PC Ann Jones", "checked", 5000, &res, &why);
    vga_confirm_fini(&res);
    if (rc != VG_OK) {
        fail_msg("licensing ack: %s (%s)", why.text, vg_err_code(rc));
    }
    s_wait_output(out, "licensing=acknowledged", S_CHANGE_MS);
    s_stop_pid(f->plain);
    f->plain = 0;
    char *text = s_read(out);
    char want[12][256];
    snprintf(want[0], 256, " NOTE text=\"vigil-console --plain: agency licensing (licensing)");
    snprintf(want[1], 256, " SYNC LIVE open=0 overdue=0 escalated=0 seq=0");
    snprintf(want[2], 256, "kind=accepted alert=%s sender=police severity=high agency=police", hex);
    snprintf(want[3], 256, " ALERT %s new severity=high sender=police overdue=no", hex);
    snprintf(want[4], 256, "kind=delivered alert=%s sender=police severity=high agency=licensing",
             hex);
    snprintf(want[5], 256,
             "kind=overdue alert=%s sender=police severity=high agency=licensing "
             "level=1 detail=\"deadline passed\"",
             hex);
    snprintf(want[6], 256, " ALERT %s changed severity=high sender=police overdue=yes", hex);
    snprintf(want[7], 256, " ATTENTION what=\"OVERDUE: %.8s for licensing", hex);
    snprintf(want[8], 256,
             "kind=acknowledged alert=%s sender=police severity=high "
             "agency=licensing detail=\"PC Ann Jones\"",
             hex);
    snprintf(want[9], 256, "licensing=acknowledged");
    snprintf(want[10], 256, " NOTE text=\"stopped\"");
    const char *at = text;
    for (size_t i = 0; i < 11; i++) {
        const char *hit = strstr(at, want[i]);
        if (hit == NULL) {
            fprintf(stderr, "---- --plain output ----\n%s---- end ----\n", text);
            fail_msg("line %zu missing or out of order: %s", i, want[i]);
        }
        at = i == 3 ? strstr(text, want[2]) : hit; /* the new ALERT may follow the delivery */
    }
    char headline[256];
    snprintf(headline, sizeof headline, "headline=\"%s\"", S_HEADLINE_A);
    assert_non_null(strstr(text, headline));
    s_check_lines(text);
    free(text);
    free(out);
    bh_pass(f->b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_screen_overdue_ack_and_broker_loss, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_plain_lines, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_screen_marks_exercise, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
