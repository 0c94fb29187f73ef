/* test_store_config.c — broker.conf's [store] section (backend, dsn) and
 * vgb_store_open_config choosing the back end from it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"
#include "vigil/broker_config.h"
#include "vt.h"

#define S_HEAD "[broker]\nbind = tcp://127.0.0.1:*\nstore = st\n"
#define S_TAIL "[network]\nadmin_key = " /* 64 hex characters follow */

typedef struct fixture {
    char *dir;  /* temp dir */
    char *path; /* dir/broker.conf */
} fixture;

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = vt_tmpdir_new();
    f->path = vt_path(f->dir, "broker.conf");
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    vt_tmpdir_destroy(&f->dir);
    free(f->path);
    free(f);
    return 0;
}

/* Loads S_HEAD + store + S_TAIL; the result, and *out on success. */
static vg_err
s_load(fixture *f, const char *store, vg_broker_config **out, vg_reason *why)
{
    char text[1024];
    int len = snprintf(text, sizeof text, "%s%s%s%064d\n", S_HEAD, store, S_TAIL, 0);
    vt_write_file(f->path, text, (size_t)len, 0600);
    return vg_broker_config_load(out, f->path, why);
}

static void
sqlite_is_the_default(void **state)
{
    fixture *f = *state;
    vg_broker_config *cfg = NULL;
    assert_int_equal(s_load(f, "", &cfg, NULL), VG_OK);
    assert_int_equal(cfg->store_backend, VG_STORE_SQLITE);
    assert_null(cfg->store_dsn);
    vgb_store *s = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vgb_store_open_config(&s, cfg, &why), VG_OK);
    char *db = vt_path(cfg->store_path, "vigil.db");
    assert_int_equal(access(db, F_OK), 0);
    free(db);
    vgb_store_destroy(&s);
    assert_int_equal(vgb_store_open_readonly_config(&s, cfg, &why), VG_OK);
    vgb_store_destroy(&s);
    vg_broker_config_destroy(&cfg);
}

static void
sqlite_may_be_named(void **state)
{
    fixture *f = *state;
    vg_broker_config *cfg = NULL;
    assert_int_equal(s_load(f, "[store]\nbackend = sqlite\n", &cfg, NULL), VG_OK);
    assert_int_equal(cfg->store_backend, VG_STORE_SQLITE);
    vg_broker_config_destroy(&cfg);
}

static void
postgresql_takes_a_dsn(void **state)
{
    fixture *f = *state;
    vg_broker_config *cfg = NULL;
    vg_reason why = {{0}};
    assert_int_equal(s_load(f,
                            "[store]\nbackend = postgresql\n"
                            "dsn = host=db1,db2 dbname=vigil target_session_attrs=read-write\n",
                            &cfg, &why),
                     VG_OK);
    assert_int_equal(cfg->store_backend, VG_STORE_POSTGRESQL);
    assert_string_equal(cfg->store_dsn,
                        "host=db1,db2 dbname=vigil target_session_attrs=read-write");
    vg_broker_config_destroy(&cfg);
}

/* [ha] (docs/ha.md): defaults, values, and what is refused. */
static void
ha_settings(void **state)
{
    fixture *f = *state;
    vg_broker_config *cfg = NULL;
    vg_reason why = {{0}};
    assert_int_equal(s_load(f, "[store]\nbackend = postgresql\ndsn = dbname=vigil\n", &cfg, &why),
                     VG_OK);
    assert_string_equal(cfg->ha_advertise, "");
    assert_int_equal(cfg->ha_lease_ms, 5000);
    assert_int_equal(cfg->ha_poll_ms, 500);
    assert_int_equal(cfg->store_commit_wait_ms, 10000);
    vg_broker_config_destroy(&cfg);
    assert_int_equal(s_load(f,
                            "[store]\nbackend = postgresql\ndsn = dbname=vigil\ncommit_wait = 0s\n"
                            "[ha]\nadvertise = tcp://b1:7600\nlease = 2s\npoll = 100ms\n",
                            &cfg, &why),
                     VG_OK);
    assert_string_equal(cfg->ha_advertise, "tcp://b1:7600");
    assert_int_equal(cfg->ha_lease_ms, 2000);
    assert_int_equal(cfg->ha_poll_ms, 100);
    assert_int_equal(cfg->store_commit_wait_ms, 0);
    vg_broker_config_destroy(&cfg);
    static const char *const bad[] = {
        "[ha]\nadvertise = b1:7600\n",    /* not a ZeroMQ address */
        "[ha]\nlease = 1s\n",             /* below the minimum */
        "[ha]\nlease = 2s\npoll = 2s\n",  /* a poll not below the lease */
        "[ha]\nleader = tcp://b1:7600\n", /* an unknown key */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vg_reason w = {{0}};
        assert_int_equal(s_load(f, bad[i], &cfg, &w), VG_ERR_CONFIG);
        assert_null(cfg);
        assert_true(vt_reason_has(&w, "broker.conf"));
    }
}

static void
wrong_store_settings_are_refused(void **state)
{
    fixture *f = *state;
    static const char *const bad[] = {
        "[store]\nbackend = mysql\n",             /* unknown back end */
        "[store]\nbackend = postgresql\n",        /* no dsn */
        "[store]\nbackend = postgresql\ndsn =\n", /* an empty one */
        "[store]\ndsn = dbname=vigil\n",          /* a dsn for SQLite */
        "[store]\nbackend = sqlite\npath = x\n",  /* an unknown key */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vg_broker_config *cfg = NULL;
        vg_reason why = {{0}};
        assert_int_equal(s_load(f, bad[i], &cfg, &why), VG_ERR_CONFIG);
        assert_null(cfg);
        assert_true(vt_reason_has(&why, "broker.conf"));
    }
}

static void
a_postgresql_store_that_cannot_be_reached_is_an_io_error(void **state)
{
    (void)state;
    vgb_store *s = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vgb_store_open_dsn(&s, "host=127.0.0.1 port=1 connect_timeout=2", &why),
                     VG_ERR_IO);
    assert_null(s);
    assert_true(vt_reason_has(&why, "cannot connect"));
    assert_int_equal(vgb_store_open_readonly_dsn(&s, "this is no dsn", &why), VG_ERR_IO);
    assert_null(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sqlite_is_the_default, setup, teardown),
        cmocka_unit_test_setup_teardown(sqlite_may_be_named, setup, teardown),
        cmocka_unit_test_setup_teardown(postgresql_takes_a_dsn, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_store_settings_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(ha_settings, setup, teardown),
        cmocka_unit_test(a_postgresql_store_that_cannot_be_reached_is_an_io_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
