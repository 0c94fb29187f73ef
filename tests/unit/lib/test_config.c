/* test_config.c — vigil/config.h: the typed INI table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/config.h"
#include "vigil/log.h"
#include "vt.h"

typedef struct tcfg {
    char *name;          /* [broker] name: STRING, required */
    char *store;         /* [broker] store: PATH, default "store" */
    char *keys;          /* [broker] keys: PATH, no default */
    int64_t port;        /* [broker] port: INT 1..65535, default 5555 */
    int64_t anyint;      /* [broker] anyint: INT unbounded, default -7 */
    bool verbose;        /* [broker] verbose: BOOL, default false */
    uint64_t timeout_ms; /* [broker] timeout: DURATION 100ms..1h, default 5s */
    uint64_t buffer;     /* [broker] buffer: SIZE 1KiB..1GiB, default 64KiB */
    vg_log_level level;  /* [log] level: LOG_LEVEL, default info */
} tcfg;

static const vg_cfg_key s_table[] = {
    {"broker", "name", VG_CFG_STRING, offsetof(tcfg, name), NULL, true, 0, 0, "display name"},
    {"broker", "store", VG_CFG_PATH, offsetof(tcfg, store), "store", false, 0, 0, "store dir"},
    {"broker", "keys", VG_CFG_PATH, offsetof(tcfg, keys), NULL, false, 0, 0, "key file"},
    {"broker", "port", VG_CFG_INT, offsetof(tcfg, port), "5555", false, 1, 65535, "TCP port"},
    {"broker", "anyint", VG_CFG_INT, offsetof(tcfg, anyint), "-7", false, 0, 0, "anything"},
    {"broker", "verbose", VG_CFG_BOOL, offsetof(tcfg, verbose), "false", false, 0, 0, "chatty"},
    {"broker", "timeout", VG_CFG_DURATION, offsetof(tcfg, timeout_ms), "5s", false, 100, 3600000,
     "reply timeout"},
    {"broker", "buffer", VG_CFG_SIZE, offsetof(tcfg, buffer), "64KiB", false, 1024, 1073741824,
     "a buffer"},
    {"log", "level", VG_CFG_LOG_LEVEL, offsetof(tcfg, level), "info", false, 0, 0, "log level"},
};
#define N_KEYS (sizeof s_table / sizeof s_table[0])

typedef struct fixture {
    char *dir;  /* temp dir */
    char *path; /* dir/test.conf */
    tcfg cfg;   /* loaded into */
} fixture;

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = vt_tmpdir_new();
    f->path = vt_path(f->dir, "test.conf");
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    vg_config_fini(&f->cfg, s_table, N_KEYS);
    free(f->path);
    vt_tmpdir_destroy(&f->dir);
    free(f);
    return 0;
}

static vg_err
s_load(fixture *f, const char *text, vg_reason *why)
{
    vt_write_file(f->path, text, strlen(text), 0644);
    return vg_config_load(&f->cfg, s_table, N_KEYS, f->path, why);
}

/* Loads text, expecting VG_ERR_CONFIG whose reason contains each needle. */
static void
s_assert_config_error(fixture *f, const char *text, const char *needle1, const char *needle2)
{
    vg_reason why = {{0}};
    vg_err err = s_load(f, text, &why);
    if (err != VG_ERR_CONFIG) {
        print_error("got %s for:\n%s\n", vg_err_code(err), text);
    }
    assert_int_equal(err, VG_ERR_CONFIG);
    if (needle1 != NULL && !vt_reason_has(&why, needle1)) {
        fail_msg("reason \"%s\" does not mention \"%s\"", why.text, needle1);
    }
    if (needle2 != NULL && !vt_reason_has(&why, needle2)) {
        fail_msg("reason \"%s\" does not mention \"%s\"", why.text, needle2);
    }
    /* everything allocated was released again */
    assert_null(f->cfg.name);
    assert_null(f->cfg.store);
    assert_null(f->cfg.keys);
}

static void
loads_every_type(void **state)
{
    fixture *f = *state;
    vg_reason why = {{0}};
    vg_err err = s_load(f,
                        "# comment\n"
                        "[broker]\n"
                        "name = Test Broker\n"
                        "store = /var/lib/vigil/store\n"
                        "port = 7000\n"
                        "anyint = -123456789012\n"
                        "verbose = yes\n"
                        "timeout = 250ms\n"
                        "buffer = 2MiB\n"
                        "\n"
                        "[log]\n"
                        "level = debug\n",
                        &why);
    if (err != VG_OK) {
        print_error("%s\n", why.text);
    }
    assert_int_equal(err, VG_OK);
    assert_string_equal(f->cfg.name, "Test Broker");
    assert_string_equal(f->cfg.store, "/var/lib/vigil/store");
    assert_null(f->cfg.keys);
    assert_int_equal(f->cfg.port, 7000);
    assert_true(f->cfg.anyint == INT64_C(-123456789012));
    assert_true(f->cfg.verbose);
    assert_int_equal(f->cfg.timeout_ms, 250);
    assert_int_equal(f->cfg.buffer, 2 * 1024 * 1024);
    assert_int_equal(f->cfg.level, VG_LOG_DEBUG);
}

static void
applies_defaults(void **state)
{
    fixture *f = *state;
    assert_int_equal(s_load(f, "[broker]\nname = b\n", NULL), VG_OK);
    assert_int_equal(f->cfg.port, 5555);
    assert_true(f->cfg.anyint == -7);
    assert_false(f->cfg.verbose);
    assert_int_equal(f->cfg.timeout_ms, 5000);
    assert_int_equal(f->cfg.buffer, 65536);
    assert_int_equal(f->cfg.level, VG_LOG_INFO);
    assert_null(f->cfg.keys);
}

static void
default_path_is_relative_to_file(void **state)
{
    fixture *f = *state;
    assert_int_equal(s_load(f, "[broker]\nname = b\n", NULL), VG_OK);
    char *want = vt_path(f->dir, "store");
    assert_string_equal(f->cfg.store, want);
    free(want);
}

static void
relative_path_is_resolved(void **state)
{
    fixture *f = *state;
    assert_int_equal(s_load(f, "[broker]\nname = b\nkeys = keys/broker.keys\n", NULL), VG_OK);
    char *want = vt_path(f->dir, "keys/broker.keys");
    assert_string_equal(f->cfg.keys, want);
    free(want);
}

static void
absolute_path_is_kept(void **state)
{
    fixture *f = *state;
    assert_int_equal(s_load(f, "[broker]\nname = b\nkeys = /etc/vigil/b.keys\n", NULL), VG_OK);
    assert_string_equal(f->cfg.keys, "/etc/vigil/b.keys");
}

static void
bool_spellings(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *text;
        bool value;
    } cases[] = {{"true", true},   {"yes", true}, {"on", true},   {"1", true},
                 {"false", false}, {"no", false}, {"off", false}, {"0", false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "[broker]\nname = b\nverbose = %s\n", cases[i].text);
        f->cfg.verbose = !cases[i].value;
        assert_int_equal(s_load(f, text, NULL), VG_OK);
        assert_int_equal(f->cfg.verbose, cases[i].value);
        vg_config_fini(&f->cfg, s_table, N_KEYS);
    }
}

static void
each_log_level(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *text;
        vg_log_level level;
    } cases[] = {{"debug", VG_LOG_DEBUG},
                 {"info", VG_LOG_INFO},
                 {"warn", VG_LOG_WARN},
                 {"error", VG_LOG_ERROR}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "[broker]\nname = b\n[log]\nlevel = %s\n", cases[i].text);
        assert_int_equal(s_load(f, text, NULL), VG_OK);
        assert_int_equal(f->cfg.level, cases[i].level);
        vg_config_fini(&f->cfg, s_table, N_KEYS);
    }
}

static void
unknown_key_names_file_line_and_key(void **state)
{
    s_assert_config_error(*state, "[broker]\nname = b\ncolour = blue\n", "test.conf:3", "colour");
}

static void
unknown_key_lists_accepted_keys(void **state)
{
    s_assert_config_error(*state, "[broker]\nname = b\nprot = 1\n", "prot", "port");
}

static void
unknown_section_names_file_line(void **state)
{
    s_assert_config_error(*state, "[broker]\nname = b\n[agent]\nid = x\n", "test.conf:4", "agent");
}

static void
int_out_of_bounds(void **state)
{
    fixture *f = *state;
    s_assert_config_error(f, "[broker]\nname = b\nport = 0\n", "test.conf:3", "port");
    s_assert_config_error(f, "[broker]\nname = b\nport = 65536\n", "test.conf:3", "port");
    assert_int_equal(s_load(f, "[broker]\nname = b\nport = 65535\n", NULL), VG_OK);
    assert_int_equal(f->cfg.port, 65535);
}

static void
int_not_a_number(void **state)
{
    fixture *f = *state;
    s_assert_config_error(f, "[broker]\nname = b\nport = 80x\n", "test.conf:3", "port");
    s_assert_config_error(f, "[broker]\nname = b\nport = eighty\n", "test.conf:3", "port");
    s_assert_config_error(f, "[broker]\nname = b\nanyint = 99999999999999999999999\n",
                          "test.conf:3", "anyint");
}

static void
bool_bad_value(void **state)
{
    s_assert_config_error(*state, "[broker]\nname = b\nverbose = maybe\n", "test.conf:3",
                          "verbose");
}

static void
duration_bad_value(void **state)
{
    s_assert_config_error(*state, "[broker]\nname = b\ntimeout = 5 minutes\n", "test.conf:3",
                          "timeout");
}

static void
duration_out_of_bounds(void **state)
{
    fixture *f = *state;
    s_assert_config_error(f, "[broker]\nname = b\ntimeout = 99ms\n", "test.conf:3", "timeout");
    s_assert_config_error(f, "[broker]\nname = b\ntimeout = 2h\n", "test.conf:3", "timeout");
    assert_int_equal(s_load(f, "[broker]\nname = b\ntimeout = 1h\n", NULL), VG_OK);
    assert_int_equal(f->cfg.timeout_ms, 3600000);
}

static void
size_bad_or_out_of_bounds(void **state)
{
    fixture *f = *state;
    s_assert_config_error(f, "[broker]\nname = b\nbuffer = 2 MB\n", "test.conf:3", "buffer");
    s_assert_config_error(f, "[broker]\nname = b\nbuffer = 512\n", "test.conf:3", "1KiB");
    s_assert_config_error(f, "[broker]\nname = b\nbuffer = 2GiB\n", "test.conf:3", "1GiB");
    assert_int_equal(s_load(f, "[broker]\nname = b\nbuffer = 1024\n", NULL), VG_OK);
    assert_int_equal(f->cfg.buffer, 1024);
}

static void
log_level_bad_value(void **state)
{
    s_assert_config_error(*state, "[broker]\nname = b\n[log]\nlevel = loud\n", "test.conf:4",
                          "level");
}

static void
duplicate_key(void **state)
{
    s_assert_config_error(*state, "[broker]\nname = a\nname = b\n", "test.conf:3", "name");
}

static void
duplicate_key_across_repeated_section(void **state)
{
    s_assert_config_error(*state, "[broker]\nport = 1\n[log]\nlevel = info\n[broker]\nport = 2\n",
                          "test.conf:6", "port");
}

static void
missing_required_key(void **state)
{
    s_assert_config_error(*state, "[broker]\nport = 7000\n", "test.conf", "name");
}

static void
syntax_error_names_line(void **state)
{
    s_assert_config_error(*state, "[broker]\nname = b\nthis line has no equals sign\n",
                          "test.conf:3", NULL);
}

static void
error_after_string_set_frees_it(void **state)
{
    /* name and keys are allocated before the error on line 4; LSan checks. */
    s_assert_config_error(*state, "[broker]\nname = b\nkeys = k\nport = -1\n", "test.conf:4",
                          "port");
}

static void
missing_file_is_not_found(void **state)
{
    fixture *f = *state;
    vg_reason why = {{0}};
    assert_int_equal(vg_config_load(&f->cfg, s_table, N_KEYS, f->path, &why), VG_ERR_NOT_FOUND);
    assert_true(vt_reason_has(&why, "test.conf"));
    assert_null(f->cfg.store);
}

static void
fini_zeroes_strings(void **state)
{
    fixture *f = *state;
    assert_int_equal(s_load(f, "[broker]\nname = b\nkeys = k\n", NULL), VG_OK);
    vg_config_fini(&f->cfg, s_table, N_KEYS);
    assert_null(f->cfg.name);
    assert_null(f->cfg.store);
    assert_null(f->cfg.keys);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(loads_every_type),
        T(applies_defaults),
        T(default_path_is_relative_to_file),
        T(relative_path_is_resolved),
        T(absolute_path_is_kept),
        T(bool_spellings),
        T(each_log_level),
        T(unknown_key_names_file_line_and_key),
        T(unknown_key_lists_accepted_keys),
        T(unknown_section_names_file_line),
        T(int_out_of_bounds),
        T(int_not_a_number),
        T(bool_bad_value),
        T(duration_bad_value),
        T(duration_out_of_bounds),
        T(size_bad_or_out_of_bounds),
        T(log_level_bad_value),
        T(duplicate_key),
        T(duplicate_key_across_repeated_section),
        T(missing_required_key),
        T(syntax_error_names_line),
        T(error_after_string_set_frees_it),
        T(missing_file_is_not_found),
        T(fini_zeroes_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
