/*
 * itest.h — helpers for integration tests: run a real binary with a bounded
 * wait and capture its output; make and remove scratch folders.
 *
 * Binaries come from VG_BIN_DIR (set by vg_add_integration_test). Every run
 * is bounded by IT_RUN_TIMEOUT_MS: a binary that hangs is killed by pid and
 * the test fails, it never hangs ctest. Thread rules: single-threaded.
 */
#ifndef VIGIL_TESTS_ITEST_H
#define VIGIL_TESTS_ITEST_H

#include <stdbool.h>
#include <stddef.h>

#define IT_RUN_TIMEOUT_MS 120000

typedef struct it_run {
    int status; /* exit code, or -1 when killed by a signal or the timeout */
    char *out;  /* everything written to stdout, NUL-terminated; free with it_run_fini */
    char *err;  /* everything written to stderr */
} it_run;

/* Runs VG_BIN_DIR/<bin> with args (NULL-terminated, argv[1]...) and waits
 * for it, at most IT_RUN_TIMEOUT_MS. Fails the test (cmocka fail_msg) if it
 * cannot be started. */
void it_exec_in(it_run *r, const char *bin_dir, const char *bin, const char *const *args);

/* VG_BIN_DIR is defined for each test executable, not for this library. */
#define it_exec(r, bin, ...) it_exec_in((r), VG_BIN_DIR, (bin), __VA_ARGS__)

/* it_exec of vigilctl with a NULL-terminated list of arguments. */
#define it_vigilctl(r, ...)                                                                        \
    it_exec_in((r), VG_BIN_DIR, "vigilctl", (const char *const[]){__VA_ARGS__, NULL})

/* Fails the test, printing the command's output, unless it exited 0. */
void it_assert_ok(const it_run *r);

/* Fails the test unless it exited with `status`. */
void it_assert_status(const it_run *r, int status);

/* Frees out and err. */
void it_run_fini(it_run *r);

/* A fresh scratch directory (mkdtemp); free() the result after it_rmrf. */
char *it_tmpdir(void);

/* Removes a directory tree (like rm -rf). */
void it_rmrf(const char *path);

/* a/b, malloc'ed; free() it. */
char *it_path(const char *a, const char *b);

/* True when needle occurs in haystack (which may be NULL). */
bool it_contains(const char *haystack, const char *needle);

/* Makes net with vigilctl init (police, licensing, childrens-services,
 * home-office, oversight oversight) plus extra args (NULL-terminated, may be
 * NULL), asserting that it succeeds. */
#define it_init_net(net, ...) it_init_net_in(VG_BIN_DIR, (net), __VA_ARGS__)
void it_init_net_in(const char *bin_dir, const char *net, const char *const *extra);

#endif
