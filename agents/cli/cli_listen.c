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
 * --exec runs the command synchronously, one alert at a time, so its order
 * is the delivery order; a slow command delays the next alert, and a command
 * that hangs stops listening until it ends. Its failure is reported, never
 * fatal: the alert is already delivered.
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
    "                   [--exec CMD]\n"
    "\n"
    "Receives the alerts sent to this agency, verifies and decrypts them, stores them\n"
    "in the local inbox, tells the broker they were delivered, and prints each one.\n"
    "Alerts that arrived while no listener ran are printed first. Sends whatever\n"
    "waits in the outbox too.\n"
    "\n"
    "  --json        one JSON object per line (docs/agent.md), flushed per alert\n"
    "  --count N     stop after N alerts\n"
    "  --timeout T   stop when no alert arrived for T (e.g. 30s, 5m); without it,\n"
    "                listen runs until SIGINT or SIGTERM\n"
    "  --exec CMD    run '/bin/sh -c CMD' for each alert, with the alert's JSON on\n"
    "                its stdin and VIGIL_ALERT_ID, VIGIL_SENDER and VIGIL_SEVERITY\n"
    "                in its environment; a failing command is reported on stderr\n"
    "                and listening goes on\n"
    "  -c, --config FILE  the agency's agent.conf\n"
    "  -h, --help    this help\n"
    "\n"
    "exit status: 0 after N alerts, after --timeout without --count, or on\n"
    "SIGINT/SIGTERM; 1 failed; 2 bad command line; 3 --count N was given and\n"
    "fewer than N alerts came before the timeout; 4 agent.conf, keys or store\n"
    "unusable.\n";

typedef struct s_opts {
    const char *config; /* -c, overriding the global one */
    bool json;          /* --json */
    long count;         /* --count, 0 = no limit */
    int64_t idle_ms;    /* --timeout, -1 = none */
    const char *exec;   /* --exec, NULL = none */
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
        } else if (c == 'c') {
            o->config = optarg;
        } else {
            return vgt_bad_option(&s_who, c, argv);
        }
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
    vg_time_format(buf, sizeof buf, a->created_ms);
    s_print_text("time:", buf);
    vg_alert_id_hex(buf, a->id);
    s_print_text("id:", buf);
    s_print_text("sender:", a->sender ? a->sender : "");
    s_print_text("severity:", vg_severity_name(a->severity));
    if (a->status != VG_STATUS_ACTUAL && a->status != VG_STATUS_UNSPECIFIED) {
        s_print_text("status:", vg_status_name(a->status));
    }
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

/* environ without our three variables, plus them; NULL-terminated, malloc'ed
 * (the strings in vars are the caller's). */
static char **
s_exec_env(char *vars[3])
{
    size_t n = 0;
    while (environ[n] != NULL) {
        n++;
    }
    char **env = calloc(n + 4, sizeof *env);
    if (env == NULL) {
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "VIGIL_ALERT_ID=", 15) != 0 &&
            strncmp(environ[i], "VIGIL_SENDER=", 13) != 0 &&
            strncmp(environ[i], "VIGIL_SEVERITY=", 15) != 0) {
            env[k++] = environ[i];
        }
    }
    for (size_t i = 0; i < 3; i++) {
        env[k++] = vars[i];
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

static void
s_report_exec(int status, const char *idhex)
{
    if (status == -1) {
        vgt_error(&s_who, "--exec for alert %s: cannot wait for the command", idhex);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        vgt_error(&s_who,
                  "--exec for alert %s: the command exited with status %d; listening goes on",
                  idhex, WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        vgt_error(&s_who,
                  "--exec for alert %s: the command was killed by signal %d; listening "
                  "goes on",
                  idhex, WTERMSIG(status));
    }
}

static void
s_run_exec(const char *cmd, const vg_alert *a, const char *json)
{
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, a->id);
    char var_id[64], var_sender[128], var_severity[64];
    snprintf(var_id, sizeof var_id, "VIGIL_ALERT_ID=%s", idhex);
    snprintf(var_sender, sizeof var_sender, "VIGIL_SENDER=%s", a->sender ? a->sender : "");
    snprintf(var_severity, sizeof var_severity, "VIGIL_SEVERITY=%s", vg_severity_name(a->severity));
    char *vars[3] = {var_id, var_sender, var_severity};
    char **env = s_exec_env(vars);
    pid_t pid = 0;
    int to_child = -1;
    int rc = env ? s_spawn(&pid, &to_child, cmd, env) : ENOMEM;
    free(env);
    if (rc != 0) {
        vgt_error(&s_who, "--exec for alert %s: cannot start /bin/sh: %s; listening goes on", idhex,
                  strerror(rc));
        return;
    }
    s_write_all(to_child, json, strlen(json));
    s_write_all(to_child, "\n", 1);
    close(to_child);
    s_report_exec(s_wait_child(pid), idhex);
}

/* Prints one alert and runs --exec; false when stdout is gone. */
static bool
s_handle(const s_opts *o, const vg_alert *a)
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
    if (o->exec != NULL) {
        s_run_exec(o->exec, a, json);
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

/* Receives until --count, the idle --timeout or a signal. */
static int
s_listen(const s_opts *o, vga_agent *agent)
{
    long got = 0;
    int64_t idle_end = o->idle_ms >= 0 ? s_now_ms() + o->idle_ms : INT64_MAX;
    while (!vgt_stop && (o->count == 0 || got < o->count)) {
        int64_t left = idle_end - s_now_ms();
        if (left <= 0) {
            break;
        }
        vg_alert a = {0};
        vg_reason why = {{0}};
        vg_err rc = vga_receive(agent, left < S_SLICE_MS ? left : S_SLICE_MS, &a, &why);
        if (rc == VG_ERR_TIMEOUT) {
            continue;
        }
        if (rc != VG_OK) {
            vgt_error(&s_who, "cannot receive: %s (%s)", why.text, vg_err_code(rc));
            return VGT_EXIT_FAIL;
        }
        bool ok = s_handle(o, &a);
        vg_alert_fini(&a);
        if (!ok) {
            vgt_error(&s_who, "cannot write to stdout: %s", strerror(errno));
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
    s_opts o = {.config = config, .idle_ms = -1};
    int rc = s_parse_args(&o, argc, argv);
    if (rc != VGT_EXIT_OK) {
        return rc == VGT_HELP_SHOWN ? VGT_EXIT_OK : rc;
    }
    vgt_stop_on_signals();
    cli_session s;
    rc = cli_session_open(&s, o.config, &s_who, true, false);
    if (rc == VGT_EXIT_OK) {
        rc = s_listen(&o, s.agent);
    }
    cli_session_close(&s);
    return rc;
}
