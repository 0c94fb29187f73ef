/*
 * test_ctl_check.c — vigilctl check passes on a fresh network and names the
 * agency when something is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "itest.h"
#include "vigil/util.h"

typedef struct fixture {
    char *tmp; /* scratch directory */
    char *net; /* tmp/net, made by vigilctl init */
} fixture;

static int
s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->tmp = it_tmpdir();
    f->net = it_path(f->tmp, "net");
    it_init_net(f->net, NULL);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture *f = *state;
    it_rmrf(f->tmp);
    free(f->tmp);
    free(f->net);
    free(f);
    return 0;
}

static void
s_copy(const char *from, const char *to, mode_t mode)
{
    uint8_t *data = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    assert_int_equal(vg_file_read(&data, &len, from, 1 << 20, &why), VG_OK);
    assert_int_equal(vg_file_write_atomic(to, data, len, mode, &why), VG_OK);
    free(data);
}

static void
test_check_passes_on_a_fresh_network(void **state)
{
    fixture *f = *state;
    it_run r;
    it_vigilctl(&r, "check", f->net);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "ok    network"));
    assert_true(it_contains(r.out, "ok    broker"));
    assert_true(it_contains(r.out, "ok    agency childrens-services"));
    assert_true(it_contains(r.out, "ok    round trip police -> licensing"));
    assert_true(it_contains(r.out, "ok    round trip oversight -> home-office"));
    /* 1 network + 1 broker + 5 agencies + 5*4 round trips, less the 4 to
     * oversight, which is never sent content. */
    assert_false(it_contains(r.out, "-> oversight"));
    assert_true(it_contains(r.out, "23 passed, 0 failed, 0 skipped"));
    it_run_fini(&r);
}

static void
test_check_names_the_agency_with_a_swapped_key(void **state)
{
    fixture *f = *state;
    char *police = it_path(f->net, "agents/police/agency.key");
    char *licensing = it_path(f->net, "agents/licensing/agency.key");
    s_copy(police, licensing, 0600);
    it_run r;
    it_vigilctl(&r, "check", f->net);
    it_assert_status(&r, 1);
    assert_true(it_contains(r.out, "FAIL  agency licensing"));
    assert_true(it_contains(r.out, "ok    agency police"));
    assert_true(it_contains(r.out, "skip  round trip police -> licensing"));
    assert_true(it_contains(r.out, "ok    round trip police -> childrens-services"));
    assert_true(it_contains(r.out, "1 failed"));
    it_run_fini(&r);
    free(police);
    free(licensing);
}

static void
test_check_names_the_agency_with_a_readable_key(void **state)
{
    fixture *f = *state;
    char *key = it_path(f->net, "agents/home-office/agency.key");
    assert_int_equal(chmod(key, 0644), 0);
    it_run r;
    it_vigilctl(&r, "check", f->net);
    it_assert_status(&r, 1);
    assert_true(it_contains(r.out, "FAIL  agency home-office"));
    assert_true(it_contains(r.out, "(key_permissions)"));
    it_run_fini(&r);
    free(key);
}

static void
test_check_fails_on_a_stale_copy_and_a_missing_folder(void **state)
{
    fixture *f = *state;
    char *copy = it_path(f->net, "agents/police/network.signed");
    char *saved = it_path(f->tmp, "police-v1.signed");
    s_copy(copy, saved, 0644);
    it_run r;
    it_vigilctl(&r, "network", "sign", "--dir", f->net);
    it_assert_ok(&r);
    it_run_fini(&r);
    s_copy(saved, copy, 0644);
    it_vigilctl(&r, "check", f->net);
    it_assert_status(&r, 1);
    assert_true(it_contains(r.out, "FAIL  agency police"));
    assert_true(it_contains(r.out, "network sign --dir"));
    it_run_fini(&r);

    char *nowhere = it_path(f->tmp, "nowhere");
    it_vigilctl(&r, "check", nowhere);
    it_assert_status(&r, 1);
    assert_true(it_contains(r.out, "FAIL  network"));
    it_run_fini(&r);
    free(nowhere);
    free(copy);
    free(saved);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check_passes_on_a_fresh_network, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_check_names_the_agency_with_a_swapped_key, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_check_names_the_agency_with_a_readable_key, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_check_fails_on_a_stale_copy_and_a_missing_folder,
                                        s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
