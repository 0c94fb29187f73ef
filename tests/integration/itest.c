/*
 * itest.c — see itest.h.
 */
#define _XOPEN_SOURCE 700

#include "itest.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

extern char **environ;

#define S_ARGS_MAX 64

static char *
s_slurp(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return strdup("");
    }
    char *buf = calloc(1, (size_t)st.st_size + 1);
    assert_non_null(buf);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    return buf;
}

static int
s_capture_fd(const char *tag)
{
    char tmpl[] = "/tmp/vigil-itest-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        fail_msg("mkstemp for %s: %s", tag, strerror(errno));
    }
    unlink(tmpl);
    return fd;
}

static int64_t
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for pid at most IT_RUN_TIMEOUT_MS; kills it (by pid) after that. */
static int
s_wait_bounded(pid_t pid, const char *bin)
{
    int64_t deadline = s_now_ms() + IT_RUN_TIMEOUT_MS;
    int wstatus = 0;
    for (;;) {
        pid_t w = waitpid(pid, &wstatus, WNOHANG);
        if (w == pid) {
            break;
        }
        if (w < 0 && errno != EINTR) {
            fail_msg("waitpid %s: %s", bin, strerror(errno));
        }
        if (s_now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &wstatus, 0);
            fail_msg("%s did not finish within %d ms: killed", bin, IT_RUN_TIMEOUT_MS);
        }
        struct timespec pause = {0, 5 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
}

void
it_exec_in(it_run *r, const char *bin_dir, const char *bin, const char *const *args)
{
    memset(r, 0, sizeof *r);
    char *path = it_path(bin_dir, bin);
    char *argv[S_ARGS_MAX];
    size_t n = 0;
    argv[n++] = path;
    for (size_t i = 0; args[i] != NULL; i++) {
        assert_true(n < S_ARGS_MAX - 1);
        argv[n++] = (char *)args[i];
    }
    argv[n] = NULL;
    int out_fd = s_capture_fd("stdout");
    int err_fd = s_capture_fd("stderr");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fail_msg("cannot start %s: %s", path, strerror(rc));
    }
    r->status = s_wait_bounded(pid, path);
    r->out = s_slurp(out_fd);
    r->err = s_slurp(err_fd);
    close(out_fd);
    close(err_fd);
    free(path);
}

void
it_assert_ok(const it_run *r)
{
    it_assert_status(r, 0);
}

void
it_assert_status(const it_run *r, int status)
{
    if (r->status != status) {
        print_error("--- stdout ---\n%s--- stderr ---\n%s--------------\n", r->out, r->err);
        fail_msg("exit status %d, expected %d", r->status, status);
    }
}

void
it_run_fini(it_run *r)
{
    free(r->out);
    free(r->err);
    r->out = NULL;
    r->err = NULL;
}

char *
it_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *tmpl = it_path(base != NULL && base[0] != '\0' ? base : "/tmp", "vigil-it-XXXXXX");
    if (mkdtemp(tmpl) == NULL) {
        fail_msg("mkdtemp: %s", strerror(errno));
    }
    return tmpl;
}

static int
s_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP) {
        rmdir(path);
    } else {
        unlink(path);
    }
    return 0;
}

void
it_rmrf(const char *path)
{
    nftw(path, s_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *
it_path(const char *a, const char *b)
{
    size_t len = strlen(a) + strlen(b) + 2;
    char *p = malloc(len);
    assert_non_null(p);
    snprintf(p, len, "%s/%s", a, b);
    return p;
}

bool
it_contains(const char *haystack, const char *needle)
{
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

void
it_init_net_in(const char *bin_dir, const char *net, const char *const *extra)
{
    const char *args[S_ARGS_MAX] = {
        "init",        net,        "--agencies", "police,licensing,childrens-services,home-office",
        "--oversight", "oversight"};
    size_t n = 6;
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
        assert_true(n < S_ARGS_MAX - 1);
        args[n++] = extra[i];
    }
    args[n] = NULL;
    it_run r;
    it_exec_in(&r, bin_dir, "vigilctl", args);
    it_assert_ok(&r);
    it_run_fini(&r);
}
