/*
 * cli_listen.c — vigil-agent listen: receives the alerts sent to this agency
 * and prints each one (a block for people, or a JSON line), optionally
 * handing each to a command.
 *
 * Every alert printed is already in the local inbox and receipted
 * (DELIVERED) by the library; printing is what this layer adds. The wait is
 * cut into short slices so SIGINT/SIGTERM stop it promptly (the library's
 * wait does not return on a signal).
 *
 * Without --exec an alert is handed over once (vga_receive: marked
 * surfaced before it is printed). With --exec the agent is opened for
 * hand-over (vga_handover_next, vigil/agent.h): the command's exit status
 * acknowledges each alert (0: handled), and the inbox records every
 * hand-over and its outcome, so a command that fails, is killed, or whose
 * listen is killed, gets the alert again: at least once. The command runs
 * synchronously, one alert at a time, so its order is the hand-over order;
 * a slow command delays the next alert, and a command that hangs stops
 * listening until it ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "vigil/alert_json.h"
#include "vigil/clock.h"
#include "vigil/util.h"
#include "vigil/wire.h"

static const vgt_who s_who = {CLI_PROGRAM, "listen"};
#define S_SLICE_MS 200 /* longest wait before the stop flag is looked at again */

extern char **environ;

static const char s_help[] =
    "usage: vigil-agent -c agent.conf listen [--json] [--count N] [--timeout T]\n"
    "                   [--exec CMD [--exec-attempts N] [--exec-backoff T]\n"
    "                   [--retry-parked]]\n"
    "\n"
    "Receives the alerts sent to this agency, verifies and decrypts them, stores them\n"
    "in the local inbox, tells the broker they were delivered, and prints each one.\n"
    "Alerts that arrived while no listener ran are printed first. Sends whatever\n"
    "waits in the outbox too. An exercise, test, system or draft alert starts with\n"
    "'status:      EXERCISE: not an actual alert' (TEST, ...); --json always has\n"
    "\"status\".\n"
    "\n"
    "  --json        one JSON object per line (docs/agent.md), flushed per alert\n"
    "  --count N     stop after N alerts (with --exec: after N runs of CMD)\n"
    "  --timeout T   stop when no alert arrived for T (e.g. 30s, 5m); without it,\n"
    "                listen runs until SIGINT or SIGTERM\n"
    "  --exec CMD    run '/bin/sh -c CMD' for each alert, with the alert's JSON on\n"
    "                its stdin and VIGIL_ALERT_ID, VIGIL_SENDER, VIGIL_SEVERITY and\n"
    "                VIGIL_ATTEMPT in its environment. Its exit status acknowledges\n"
    "                the alert: 0 handled; anything else (or a kill) is reported and\n"
    "                the alert is handed over again later; if listen dies first, the\n"
    "                next listen --exec hands it over again. At least once: CMD must\n"
    "                cope with seeing an alert twice (VIGIL_ALERT_ID is stable)\n"
    "  --exec-attempts N  failed runs of CMD for one alert before it is parked:\n"
    "                reported loudly and not handed over again until an operator\n"
    "                runs listen --exec with --retry-parked (default 8)\n"
    "  --exec-backoff T   wait after a failed run; doubles after each one, at most\n"
    "                5m (default 1s)\n"
    "  --retry-parked  hand every parked alert over again (once CMD is fixed)\n"
    "  -c, --config FILE  the agency's agent.conf\n"
    "  -h, --help    this help\n"
    "\n"
    "exit status: 0 after N alerts, after --timeout without --count, or on\n"
    "SIGINT/SIGTERM; 1 failed (also: another listen --exec runs on this store);\n"
    "2 bad command line; 3 --count N was given and fewer than N alerts came before\n"
    "the timeout; 4 agent.conf, keys or store unusable.\n";

typedef struct s_opts {
    const char *config;         /* -c, overriding the global one */
    bool json;                  /* --json */
    long count;                 /* --count, 0 = no limit */
    int64_t idle_ms;            /* --timeout, -1 = none */
    const char *exec;           /* --exec, NULL = none */
    vga_handover_policy policy; /* --exec-attempts, --exec-backoff */
    bool exec_tuned;            /* one of those was given */
    bool retry_parked;          /* --retry-parked */
} s_opts;

/* ---- arguments -------------------------------------------------------------------------- */

/* Returns VGT_EXIT_OK to go on, VGT_HELP_SHOWN after --help, or an exit status. */
static int
s_parse_args(s_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"count", required_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, 't'},
        {"exec", required_argument, NULL, 'x'},
        {"exec-attempts", required_argument, NULL, 'A'},
        {"exec-backoff", required_argument, NULL, 'B'},
        {"retry-parked", no_argument, NULL, 'R'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;
    opterr = 0;
    int c;
    bool ok = true;
    while (ok && (c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(s_help, stdout);
            return VGT_HELP_SHOWN;
        } else if (c == 'j') {
            o->json = true;
        } else if (c == 'n') {
            uint64_t n = 0;
            ok = vgt_parse_count(&s_who, "--count", optarg, 1, INT32_MAX, &n);
            o->count = (long)n;
        } else if (c == 't') {
            ok = vgt_parse_timeout(&s_who, "--timeout", optarg, &o->idle_ms);
        } else if (c == 'x') {
            o->exec = optarg;
        } else if (c == 'A') {
            uint64_t n = 0;
            ok = vgt_parse_count(&s_who, "--exec-attempts", optarg, 1, 1000, &n);
            o->policy.attempts_max = (uint32_t)n;
            o->exec_tuned = true;
        } else if (c == 'B') {
            ok = vgt_parse_timeout(&s_who, "--exec-backoff", optarg, &o->policy.backoff_ms);
            o->exec_tuned = true;
        } else if (c == 'R') {
            o->retry_parked = true;
            o->exec_tuned = true;
        } else if (c == 'c') {
            o->config = optarg;
        } else {
            return vgt_bad_option(&s_who, c, argv);
        }
    }
    if (ok && o->exec_tuned && o->exec == NULL) {
        return vgt_usage_error(&s_who, "--exec-attempts, --exec-backoff and --retry-parked go "
                                       "with --exec CMD");
    }
    if (ok && optind < argc) {
        vgt_error(&s_who, "unexpected argument '%s' (quote a --exec command that has spaces)",
                  argv[optind]);
        ok = false;
    }
    return ok ? VGT_EXIT_OK : vgt_usage_hint(&s_who);
}

/* ---- printing ------------------------------------------------------------------------------ */

/* Prints text with control characters (but newlines and tabs) shown as '?':
 * alert text comes from another agency and must not drive the terminal.
 * Continuation lines are indented under the first. */
static void
s_print_text(const char *label, const char *text)
{
    printf("%-13s", label);
    size_t len = strlen(text);
    while (len > 0 && text[len - 1] == '\n') { /* no empty lines at the end of the block */
        len--;
    }
    const unsigned char *end = (const unsigned char *)text + len;
    for (const unsigned char *p = (const unsigned char *)text; p < end; p++) {
        if (*p == '\n') {
            printf("\n%13s", "");
        } else {
            putchar((*p < 0x20 && *p != '\t') || *p == 0x7F ? '?' : *p);
        }
    }
    putchar('\n');
}

/* Prints an optional field; an opened alert has "" for one left out. */
static void
s_print_opt(const char *label, const char *text)
{
    if (text != NULL && text[0] != '\0') {
        s_print_text(label, text);
    }
}

static void
s_print_human(const vg_alert *a)
{
    char buf[VG_REASON_MAX];
    const char *mark = vga_status_mark(a->status);
    if (mark != NULL) { /* first, so nobody reads on as if it were real */
        snprintf(buf, sizeof buf, "%s: not an actual alert", mark);
        s_print_text("status:", buf);
    }
    vg_time_format(buf, sizeof buf, a->created_ms);
    s_print_text("time:", buf);
    vg_alert_id_hex(buf, a->id);
    s_print_text("id:", buf);
    s_print_text("sender:", a->sender ? a->sender : "");
    s_print_text("severity:", vg_severity_name(a->severity));
    vg_strlist_join(buf, sizeof buf, &a->categories, ", ");
    s_print_text("categories:", buf);
    vg_strlist_join(buf, sizeof buf, &a->recipients, ", ");
    s_print_text("recipients:", buf);
    s_print_opt("event:", a->event);
    s_print_text("headline:", a->headline ? a->headline : "");
    s_print_opt("description:", a->description);
    s_print_opt("instruction:", a->instruction);
    putchar('\n');
}

/* ---- --exec ------------------------------------------------------------------------------ */

#define S_EXEC_VARS 4     /* VIGIL_ALERT_ID, VIGIL_SENDER, VIGIL_SEVERITY, VIGIL_ATTEMPT */
#define S_PARKED_SHOWN 10 /* parked alerts named at start; the rest are counted */

/* environ without our variables, plus them; NULL-terminated, malloc'ed
 * (the strings in vars are the caller's). */
static char **
s_exec_env(char *vars[S_EXEC_VARS])
{
    size_t n = 0;
    while (environ[n] != NULL) {
        n++;
    }
    char **env = calloc(n + S_EXEC_VARS + 1, sizeof *env);
    if (env == NULL) {
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool ours = false;
        for (size_t v = 0; v < S_EXEC_VARS; v++) {
            size_t name_len = (size_t)(strchr(vars[v], '=') - vars[v]) + 1;
            ours |= strncmp(environ[i], vars[v], name_len) == 0;
        }
        if (!ours) {
            env[k++] = environ[i];
        }
    }
    for (size_t v = 0; v < S_EXEC_VARS; v++) {
        env[k++] = vars[v];
    }
    return env;
}

/* Starts /bin/sh -c cmd with stdin from *to_child (the write end). The
 * child gets default SIGPIPE/SIGINT/SIGTERM handling, not ours. */
static int
s_spawn(pid_t *pid, int *to_child, const char *cmd, char **env)
{
    int fds[2];
    if (pipe(fds) != 0) {
        return errno;
    }
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], STDIN_FILENO);
    posix_spawnattr_init(&attr);
    sigset_t def, none;
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGTERM);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &def);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    int rc = posix_spawn(pid, "/bin/sh", &fa, &attr, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(fds[0]);
    if (rc != 0) {
        close(fds[1]);
        return rc;
    }
    *to_child = fds[1];
    return 0;
}

/* Writes all of data; stops quietly when the command closed its stdin. */
static void
s_write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return; /* EPIPE: the command did not read it all; its exit status tells */
        }
        data += n;
        len -= (size_t)n;
    }
}

/* Waits for the command, also through SIGINT/SIGTERM: its outcome must be
 * recorded before listen stops. -1 when it cannot be waited for. */
static int
s_wait_child(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return status;
}

/* Runs the command for one alert; true when it acknowledged it (exit 0),
 * else outcome says how it ended ("exit 1", "signal 9", "not started: ..."). */
static bool
s_run_exec(const char *cmd, const vg_alert *a, const vga_handover *h, const char *json,
           char *outcome, size_t outcome_len)
{
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, a->id);
    char var_id[64], var_sender[128], var_severity[64], var_attempt[64];
    snprintf(var_id, sizeof var_id, "VIGIL_ALERT_ID=%s", idhex);
    snprintf(var_sender, sizeof var_sender, "VIGIL_SENDER=%s", a->sender ? a->sender : "");
    snprintf(var_severity, sizeof var_severity, "VIGIL_SEVERITY=%s", vg_severity_name(a->severity));
    snprintf(var_attempt, sizeof var_attempt, "VIGIL_ATTEMPT=%u", (unsigned)h->attempt);
    char *vars[S_EXEC_VARS] = {var_id, var_sender, var_severity, var_attempt};
    char **env = s_exec_env(vars);
    pid_t pid = 0;
    int to_child = -1;
    int rc = env ? s_spawn(&pid, &to_child, cmd, env) : ENOMEM;
    free(env);
    if (rc != 0) {
        snprintf(outcome, outcome_len, "not started: cannot start /bin/sh: %s", strerror(rc));
        return false;
    }
    s_write_all(to_child, json, strlen(json));
    s_write_all(to_child, "\n", 1);
    close(to_child);
    int status = s_wait_child(pid);
    if (status == -1) {
        snprintf(outcome, outcome_len, "unknown: cannot wait for the command: %s", strerror(errno));
        return false;
    }
    if (WIFEXITED(status)) {
        snprintf(outcome, outcome_len, "exit %d", WEXITSTATUS(status));
        return WEXITSTATUS(status) == 0;
    }
    snprintf(outcome, outcome_len, "signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return false;
}

/* An outcome as recorded ("exit 1", "signal 9") in words for people. */
static void
s_outcome_words(char *out, size_t out_len, const char *outcome)
{
    int n = 0;
    if (sscanf(outcome, "exit %d", &n) == 1) {
        snprintf(out, out_len, "the command exited with status %d", n);
    } else if (sscanf(outcome, "signal %d", &n) == 1) {
        snprintf(out, out_len, "the command was killed by signal %d", n);
    } else {
        snprintf(out, out_len, "%s", outcome);
    }
}

/* Says on stderr what became of a failed run: when it comes again, or that
 * it is parked and what the operator must do. */
static void
s_report_failed(const s_opts *o, const char *idhex, const char *outcome, const vga_handover *h)
{
    char words[256];
    s_outcome_words(words, sizeof words, outcome);
    if (h->parked) {
        vgt_error(&s_who,
                  "--exec for alert %s failed %u times (last: %s): PARKED: it is not handed "
                  "over again until the command is fixed and an operator runs 'vigil-agent "
                  "listen --exec CMD --retry-parked' (the alert is safe in the inbox)",
                  idhex, (unsigned)h->failures, words);
        return;
    }
    char wait[VGT_SPAN_LEN];
    int64_t in_ms = h->retry_ms - vg_clock_wall_ms(vg_clock_system());
    vgt_format_span(wait, sizeof wait, in_ms > 0 ? in_ms : 0);
    vgt_error(&s_who,
              "--exec for alert %s (attempt %u): %s; it is handed over again in %s (failure "
              "%u of %u before it is parked); listening goes on",
              idhex, (unsigned)h->attempt, words, wait, (unsigned)h->failures,
              (unsigned)o->policy.attempts_max);
}

/* Runs --exec for one alert and records its outcome in the inbox; false
 * when the outcome cannot be recorded (the alert stays handed: the next
 * listen --exec hands it over again). */
static bool
s_exec_and_record(const s_opts *o, vga_agent *agent, const vg_alert *a, vga_handover *h,
                  const char *json)
{
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, a->id);
    char outcome[160];
    bool handled = s_run_exec(o->exec, a, h, json, outcome, sizeof outcome);
    vg_reason why = {{0}};
    vg_err rc = handled ? vga_handover_done(agent, a->id, &why)
                        : vga_handover_failed(agent, a->id, outcome, h, &why);
    if (rc != VG_OK) {
        vgt_error(&s_who,
                  "--exec for alert %s: the command's outcome (%s) cannot be recorded: %s (%s); "
                  "stopping: the next listen --exec hands it over again",
                  idhex, handled ? "handled" : outcome, why.text, vg_err_code(rc));
        return false;
    }
    if (!handled) {
        s_report_failed(o, idhex, outcome, h);
    }
    return true;
}

/* Prints one alert and, with --exec, hands it to the command; false when
 * stdout is gone or the command's outcome cannot be recorded. */
static bool
s_handle(const s_opts *o, vga_agent *agent, const vg_alert *a, vga_handover *h)
{
    char *json = NULL;
    if ((o->json || o->exec) && vga_alert_to_json(&json, a) != VG_OK) {
        vgt_error(&s_who, "out of memory formatting an alert");
        return false;
    }
    if (o->json) {
        printf("%s\n", json);
    } else {
        s_print_human(a);
    }
    bool ok = fflush(stdout) == 0;
    if (!ok) {
        vgt_error(&s_who, "cannot write to stdout: %s", strerror(errno));
    }
    if (o->exec != NULL) { /* even when stdout is gone: the alert is handed over */
        ok = s_exec_and_record(o, agent, a, h, json) && ok;
    }
    free(json);
    return ok;
}

/* ---- the loop ----------------------------------------------------------------------------- */

static int64_t
s_now_ms(void)
{
    return vg_clock_mono_ms(vg_clock_system());
}

/* With --exec: --retry-parked, then the alerts still parked, loudly. */
static bool
s_parked_at_start(const s_opts *o, vga_agent *agent)
{
    vg_reason why = {{0}};
    size_t n = 0;
    if (o->retry_parked && vga_handover_rearm(agent, &n, &why) != VG_OK) {
        vgt_error(&s_who, "--retry-parked: %s", why.text);
        return false;
    }
    if (o->retry_parked) {
        vgt_error(&s_who, "--retry-parked: %zu parked alert%s handed over again", n,
                  n == 1 ? " is" : "s are");
    }
    uint8_t ids[S_PARKED_SHOWN][VG_ALERT_ID_LEN];
    if (vga_handover_parked(agent, ids, S_PARKED_SHOWN, &n, &why) != VG_OK) {
        vgt_error(&s_who, "%s", why.text);
        return false;
    }
    for (size_t i = 0; i < n && i < S_PARKED_SHOWN; i++) {
        char idhex[VG_ALERT_ID_HEX_LEN + 1];
        vg_alert_id_hex(idhex, ids[i]);
        vgt_error(&s_who, "PARKED: alert %s failed --exec too often and is not handed over", idhex);
    }
    if (n > 0) {
        vgt_error(&s_who,
                  "%zu alert%s PARKED: fix the command, then run 'vigil-agent listen --exec CMD "
                  "--retry-parked'",
                  n, n == 1 ? " is" : "s are");
    }
    return true;
}

/* The next alert: a new one, or with --exec the next to hand over. */
static vg_err
s_next(const s_opts *o, vga_agent *agent, int64_t wait_ms, vg_alert *a, vga_handover *h,
       vg_reason *why)
{
    if (o->exec != NULL) {
        return vga_handover_next(agent, wait_ms, a, h, why);
    }
    return vga_receive(agent, wait_ms, a, why);
}

/* Receives until --count, the idle --timeout or a signal. */
static int
s_listen(const s_opts *o, vga_agent *agent)
{
    if (o->exec != NULL && !s_parked_at_start(o, agent)) {
        return VGT_EXIT_FAIL;
    }
    long got = 0;
    int64_t idle_end = o->idle_ms >= 0 ? s_now_ms() + o->idle_ms : INT64_MAX;
    while (!vgt_stop && (o->count == 0 || got < o->count)) {
        int64_t left = idle_end - s_now_ms();
        if (left <= 0) {
            break;
        }
        vg_alert a = {0};
        vga_handover h = {0};
        vg_reason why = {{0}};
        vg_err rc = s_next(o, agent, left < S_SLICE_MS ? left : S_SLICE_MS, &a, &h, &why);
        if (rc == VG_ERR_TIMEOUT) {
            continue;
        }
        if (rc != VG_OK) {
            vgt_error(&s_who, "cannot receive: %s (%s)", why.text, vg_err_code(rc));
            return VGT_EXIT_FAIL;
        }
        bool ok = s_handle(o, agent, &a, &h);
        vg_alert_fini(&a);
        if (!ok) {
            return VGT_EXIT_FAIL;
        }
        got++;
        idle_end = o->idle_ms >= 0 ? s_now_ms() + o->idle_ms : INT64_MAX;
    }
    if (!vgt_stop && o->count > 0 && got < o->count) {
        char idle[32];
        vg_duration_format(idle, sizeof idle, (uint64_t)o->idle_ms);
        vgt_error(&s_who, "%ld of %ld alert%s arrived; none came for %s", got, o->count,
                  o->count == 1 ? "" : "s", idle);
        return VGT_EXIT_PENDING;
    }
    return VGT_EXIT_OK;
}

int
cli_cmd_listen(const char *config, int argc, char **argv)
{
    s_opts o = {.config = config,
                .idle_ms = -1,
                .policy = {.attempts_max = VGA_HANDOVER_ATTEMPTS_DEFAULT,
                           .backoff_ms = VGA_HANDOVER_BACKOFF_MS_DEFAULT,
                           .backoff_max_ms = VGA_HANDOVER_BACKOFF_MAX_MS_DEFAULT}};
    int rc = s_parse_args(&o, argc, argv);
    if (rc != VGT_EXIT_OK) {
        return rc == VGT_HELP_SHOWN ? VGT_EXIT_OK : rc;
    }
    vgt_stop_on_signals();
    cli_session s;
    rc = cli_session_open(&s, o.config, &s_who, true, false, o.exec ? &o.policy : NULL);
    if (rc == VGT_EXIT_OK) {
        rc = s_listen(&o, s.agent);
    }
    cli_session_close(&s);
    return rc;
}
