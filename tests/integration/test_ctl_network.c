/*
 * test_ctl_network.c — vigilctl network sign and network show.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "itest.h"
#include "vigil/agent_config.h"
#include "vigil/netdoc.h"
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

static uint8_t *
s_read(const char *path, size_t *len)
{
    uint8_t *data = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vg_file_read(&data, len, path, 1 << 20, &why), VG_OK);
    return data;
}

static void
s_write(const char *path, const void *data, size_t len)
{
    vg_reason why = {{0}};
    assert_int_equal(vg_file_write_atomic(path, data, len, 0644, &why), VG_OK);
}

static void
s_admin_pk(const char *net, uint8_t pk[VG_SIGN_PK_LEN])
{
    char *p = it_path(net, "admin/admin.key");
    vg_keyset *ks = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vg_keyset_load(&ks, p, &why), VG_OK);
    memcpy(pk, vg_keyset_sign_pk(ks), VG_SIGN_PK_LEN);
    vg_keyset_destroy(&ks);
    free(p);
}

static uint64_t
s_version_of(const char *path, const uint8_t pk[VG_SIGN_PK_LEN])
{
    vg_netdoc *doc = NULL;
    vg_reason why = {{0}};
    vg_err err = vg_netdoc_load(&doc, path, pk, 0, &why);
    if (err != VG_OK) {
        fail_msg("%s: %s", path, why.text);
    }
    uint64_t v = vg_netdoc_version(doc);
    vg_netdoc_destroy(&doc);
    return v;
}

/* Applies edit to DIR/network/network.json. */
static void
s_edit_json(const char *net, void (*edit)(json_t *root))
{
    char *p = it_path(net, "network/network.json");
    json_error_t jerr;
    json_t *root = json_load_file(p, 0, &jerr);
    assert_non_null(root);
    edit(root);
    assert_int_equal(json_dump_file(root, p, JSON_INDENT(2)), 0);
    json_decref(root);
    free(p);
}

static void
s_revoke_licensing(json_t *root)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(root, "agencies"), i, a)
    {
        if (strcmp(json_string_value(json_object_get(a, "id")), "licensing") == 0) {
            json_object_set_new(a, "revoked", json_true());
        }
    }
}

static void
s_set_version_7(json_t *root)
{
    json_object_set_new(root, "version", json_integer(7));
}

static void
s_reach_unknown_agency(json_t *root)
{
    json_t *rule = json_array_get(json_object_get(root, "policy"), 0);
    json_array_append_new(json_object_get(rule, "must_reach"), json_string("no-such-agency"));
}

static void
s_repeat_longer(json_t *root)
{
    json_object_set_new(root, "repeat_deadlines", json_pack("{s:s}", "high", "2h"));
}

static void
s_repeat_shorter(json_t *root)
{
    json_object_set_new(root, "repeat_deadlines", json_pack("{s:s}", "high", "10m"));
}

static void
test_sign_bumps_version_and_old_is_refused(void **state)
{
    fixture *f = *state;
    uint8_t pk[VG_SIGN_PK_LEN];
    s_admin_pk(f->net, pk);
    char *signed_path = it_path(f->net, "network/network.signed");
    size_t old_len = 0;
    uint8_t *old = s_read(signed_path, &old_len);

    it_run r;
    it_vigilctl(&r, "network", "sign", "--dir", f->net);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "version 2"));
    it_run_fini(&r);
    assert_int_equal(s_version_of(signed_path, pk), 2);

    /* Every copy was refreshed: agents load with min_version 2. */
    const char *ids[] = {"police", "licensing", "childrens-services", "home-office", "oversight"};
    for (size_t i = 0; i < 5; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "agents/%s/agent.conf", ids[i]);
        char *conf = it_path(f->net, rel);
        vga_identity *ident = NULL;
        vg_reason why = {{0}};
        assert_int_equal(vga_identity_load(&ident, conf, 2, &why), VG_OK);
        vga_identity_destroy(&ident);
        free(conf);
    }
    char *broker_copy = it_path(f->net, "broker/network.signed");
    assert_int_equal(s_version_of(broker_copy, pk), 2);
    free(broker_copy);

    /* Whoever holds version 2 refuses the old document. */
    vg_netdoc *doc = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vg_netdoc_verify(&doc, old, old_len, pk, 2, &why), VG_ERR_STALE_VERSION);
    assert_null(doc);
    assert_int_equal(vg_netdoc_verify(&doc, old, old_len, pk, 1, &why), VG_OK);
    vg_netdoc_destroy(&doc);

    it_vigilctl(&r, "network", "sign", "--dir", f->net);
    it_assert_ok(&r);
    it_run_fini(&r);
    assert_int_equal(s_version_of(signed_path, pk), 3);

    it_vigilctl(&r, "check", f->net);
    it_assert_ok(&r);
    it_run_fini(&r);
    free(old);
    free(signed_path);
}

static void
test_sign_explicit_paths_take_the_json_version_when_higher(void **state)
{
    fixture *f = *state;
    uint8_t pk[VG_SIGN_PK_LEN];
    s_admin_pk(f->net, pk);
    s_edit_json(f->net, s_set_version_7);
    char *in = it_path(f->net, "network/network.json");
    char *key = it_path(f->net, "admin/admin.key");
    char *out = it_path(f->tmp, "other.signed");
    it_run r;
    it_vigilctl(&r, "network", "sign", "--in", in, "--key", key, "--out", out);
    it_assert_ok(&r);
    it_run_fini(&r);
    assert_int_equal(s_version_of(out, pk), 7);
    it_vigilctl(&r, "network", "sign", "--in", in, "--key", key, "--out", out);
    it_assert_ok(&r);
    it_run_fini(&r);
    assert_int_equal(s_version_of(out, pk), 8);

    /* Without --dir all three paths are needed. */
    it_vigilctl(&r, "network", "sign", "--in", in);
    it_assert_status(&r, 2);
    assert_true(it_contains(r.err, "--key"));
    it_run_fini(&r);
    free(in);
    free(key);
    free(out);
}

static void
test_sign_refuses_an_invalid_document(void **state)
{
    fixture *f = *state;
    uint8_t pk[VG_SIGN_PK_LEN];
    s_admin_pk(f->net, pk);
    char *json_path = it_path(f->net, "network/network.json");
    char *signed_path = it_path(f->net, "network/network.signed");

    s_edit_json(f->net, s_reach_unknown_agency);
    it_run r;
    it_vigilctl(&r, "network", "sign", "--dir", f->net);
    it_assert_status(&r, 1);
    assert_true(it_contains(r.err, "not a valid network document"));
    assert_true(it_contains(r.err, "no-such-agency"));
    it_run_fini(&r);
    assert_int_equal(s_version_of(signed_path, pk), 1);

    s_write(json_path, "{ \"network\": \"vigil-local\",\n  \"version\": 1,,\n}\n", 42);
    it_vigilctl(&r, "network", "sign", "--dir", f->net);
    it_assert_status(&r, 1);
    assert_true(it_contains(r.err, "network.json:2:"));
    it_run_fini(&r);
    assert_int_equal(s_version_of(signed_path, pk), 1);
    free(json_path);
    free(signed_path);
}

/* A repeat deadline that could never be the stricter one is refused with
 * what to do; a shorter one signs, and show and check read it back. */
static void
test_repeat_deadlines_sign_show_and_check(void **state)
{
    fixture *f = *state;
    s_edit_json(f->net, s_repeat_longer);
    it_run r;
    it_vigilctl(&r, "network", "sign", "--dir", f->net);
    it_assert_status(&r, 1);
    assert_true(it_contains(r.err, "deadlines repeat high: 2h is not shorter than deadlines "
                                   "high: 1h"));
    assert_true(it_contains(r.err, "make it shorter or remove it"));
    it_run_fini(&r);
    s_edit_json(f->net, s_repeat_shorter);
    it_vigilctl(&r, "network", "sign", "--dir", f->net);
    it_assert_ok(&r);
    it_run_fini(&r);
    it_vigilctl(&r, "network", "show", "--dir", f->net);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "repeat      high 10m"));
    it_run_fini(&r);
    it_vigilctl(&r, "network", "show", "--dir", f->net, "--json");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "\"repeat_deadlines\": {"));
    it_run_fini(&r);
    it_vigilctl(&r, "check", f->net);
    it_assert_ok(&r);
    it_run_fini(&r);
}

static void
test_show_prints_the_verified_document(void **state)
{
    fixture *f = *state;
    it_run r;
    it_vigilctl(&r, "network", "show", "--dir", f->net);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "network     vigil-local"));
    assert_true(it_contains(r.out, "version     1"));
    assert_true(it_contains(r.out, "childrens-services"));
    assert_true(it_contains(r.out, "role government"));
    assert_true(it_contains(r.out, "taxi-and-cse"));
    assert_true(it_contains(r.out, "critical 15m"));
    assert_true(it_contains(r.out, "role oversight"));
    it_run_fini(&r);

    char *agent_conf = it_path(f->net, "agents/licensing/agent.conf");
    it_vigilctl(&r, "network", "show", "-c", agent_conf);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "version     1"));
    it_run_fini(&r);
    char *broker_conf = it_path(f->net, "broker/broker.conf");
    it_vigilctl(&r, "network", "show", "--config", broker_conf, "--json");
    it_assert_ok(&r);
    json_error_t jerr;
    json_t *root = json_loads(r.out, 0, &jerr);
    assert_non_null(root);
    assert_int_equal(json_integer_value(json_object_get(root, "version")), 1);
    assert_int_equal(json_array_size(json_object_get(root, "agencies")), 5);
    json_decref(root);
    it_run_fini(&r);

    /* A revocation made in the JSON and signed shows up. */
    s_edit_json(f->net, s_revoke_licensing);
    it_vigilctl(&r, "network", "sign", "--dir", f->net);
    it_assert_ok(&r);
    it_run_fini(&r);
    it_vigilctl(&r, "network", "show", "-c", agent_conf);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "version     2"));
    assert_true(it_contains(r.out, "REVOKED"));
    it_run_fini(&r);

    /* An altered document is not shown. */
    char *signed_path = it_path(f->net, "network/network.signed");
    size_t len = 0;
    uint8_t *bytes = s_read(signed_path, &len);
    bytes[len / 2] ^= 0x01;
    s_write(signed_path, bytes, len);
    free(bytes);
    it_vigilctl(&r, "network", "show", "--dir", f->net);
    it_assert_status(&r, 1);
    assert_true(it_contains(r.err, "does not verify"));
    it_run_fini(&r);

    it_vigilctl(&r, "network", "show");
    it_assert_status(&r, 2);
    assert_true(it_contains(r.err, "--dir DIR or -c CONF"));
    it_run_fini(&r);
    free(signed_path);
    free(agent_conf);
    free(broker_conf);
}

int
main(void)
{
    if (sodium_init() < 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sign_bumps_version_and_old_is_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_sign_explicit_paths_take_the_json_version_when_higher,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_sign_refuses_an_invalid_document, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_repeat_deadlines_sign_show_and_check, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_show_prints_the_verified_document, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
