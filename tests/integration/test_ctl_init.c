/*
 * test_ctl_init.c — vigilctl init makes a network the library accepts, and
 * refuses what it should.
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
#include <sodium.h>

#include "itest.h"
#include "vigil/agent_config.h"
#include "vigil/clock.h"
#include "vigil/envelope.h"
#include "vigil/netdoc.h"
#include "vigil/util.h"

static const char *const s_ids[] = {"police", "licensing", "childrens-services", "home-office",
                                    "oversight"};
#define S_N_IDS (sizeof s_ids / sizeof s_ids[0])

typedef struct fixture {
    char *tmp; /* scratch directory */
    char *net; /* tmp/net */
} fixture;

static int
s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->tmp = it_tmpdir();
    f->net = it_path(f->tmp, "net");
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

static vga_identity *
s_identity(const char *net, const char *id)
{
    char rel[128];
    snprintf(rel, sizeof rel, "agents/%s/agent.conf", id);
    char *conf = it_path(net, rel);
    vga_identity *ident = NULL;
    vg_reason why = {{0}};
    vg_err err = vga_identity_load(&ident, conf, 1, &why);
    if (err != VG_OK) {
        fail_msg("vga_identity_load %s: %s (%s)", conf, why.text, vg_err_code(err));
    }
    free(conf);
    return ident;
}

static mode_t
s_mode(const char *net, const char *rel)
{
    char *p = it_path(net, rel);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    free(p);
    return st.st_mode & 0777;
}

static char *
s_read(const char *net, const char *rel)
{
    char *p = it_path(net, rel);
    uint8_t *data = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    assert_int_equal(vg_file_read(&data, &len, p, 1 << 20, &why), VG_OK);
    free(p);
    return (char *)data;
}

static void
test_init_makes_a_network_the_library_accepts(void **state)
{
    fixture *f = *state;
    it_run r;
    it_vigilctl(&r, "init", f->net, "--agencies", "police,licensing,childrens-services,home-office",
                "--oversight", "oversight");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "police"));
    assert_true(it_contains(r.out, "tcp://127.0.0.1:7600"));

    /* Never a secret on the terminal. */
    char *key = s_read(f->net, "agents/police/agency.key");
    char *secret = strstr(key, "sign-secret ");
    assert_non_null(secret);
    secret[12 + 32] = '\0';
    assert_false(it_contains(r.out, secret + 12));
    assert_false(it_contains(r.err, secret + 12));
    free(key);
    it_run_fini(&r);

    assert_int_equal(s_mode(f->net, "admin/admin.key"), 0600);
    assert_int_equal(s_mode(f->net, "broker/broker.key"), 0600);
    for (size_t i = 0; i < S_N_IDS; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "agents/%s/agency.key", s_ids[i]);
        assert_int_equal(s_mode(f->net, rel), 0600);
        vga_identity *ident = s_identity(f->net, s_ids[i]);
        assert_string_equal(vga_identity_agency(ident), s_ids[i]);
        const vg_netdoc *doc = vga_identity_doc(ident);
        assert_int_equal(vg_netdoc_version(doc), 1);
        assert_int_equal(vg_netdoc_n_agencies(doc), S_N_IDS);
        vga_identity_destroy(&ident);
    }

    vga_identity *ho = s_identity(f->net, "home-office");
    vg_agency a;
    assert_int_equal(vg_netdoc_find(vga_identity_doc(ho), "home-office", &a), VG_OK);
    assert_string_equal(a.role, "government");
    assert_int_equal(vg_netdoc_find(vga_identity_doc(ho), "oversight", &a), VG_OK);
    assert_string_equal(a.role, "oversight");
    assert_true(vg_netdoc_has_category(vga_identity_doc(ho), "taxi"));
    assert_true(vg_netdoc_has_category(vga_identity_doc(ho), "cse"));
    vga_identity_destroy(&ho);
}

static void
test_init_output_drives_a_real_seal_and_open(void **state)
{
    fixture *f = *state;
    it_init_net(f->net, NULL);
    vga_identity *police = s_identity(f->net, "police");
    vga_identity *licensing = s_identity(f->net, "licensing");
    vga_identity *cs = s_identity(f->net, "childrens-services");
    vga_identity *ho = s_identity(f->net, "home-office");

    /* A taxi alert from police: the default policy adds licensing and
     * children's services. */
    const char *cats[] = {"taxi"};
    vg_alert in;
    memset(&in, 0, sizeof in);
    in.severity = VG_SEV_HIGH;
    in.headline = "Driver of licensed taxi seen with missing child";
    in.description = "Vehicle reg AB12 CDE, Tuesday 22:40.";
    assert_int_equal(vg_strlist_add(&in.categories, "taxi"), VG_OK);
    assert_int_equal(vg_netdoc_required(vga_identity_doc(police), cats, 1, in.severity, "police",
                                        &in.recipients),
                     VG_OK);
    assert_true(vg_strlist_contains(&in.recipients, "licensing"));
    assert_true(vg_strlist_contains(&in.recipients, "childrens-services"));
    assert_false(vg_strlist_contains(&in.recipients, "home-office"));

    vg_seal_params p = {
        .doc = vga_identity_doc(police),
        .sender = "police",
        .keys = vga_identity_keys(police),
        .sequence = 1,
        .created_ms = vg_clock_wall_ms(vg_clock_system()),
    };
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    vg_err err = vg_envelope_seal(&bytes, &len, NULL, &in, &p, &why);
    if (err != VG_OK) {
        fail_msg("seal: %s", why.text);
    }
    vg_strlist_fini(&in.categories);
    vg_strlist_fini(&in.recipients);

    vga_identity *readers[] = {licensing, cs};
    for (size_t i = 0; i < 2; i++) {
        vg_envelope *env = NULL;
        assert_int_equal(vg_envelope_verify(&env, bytes, len, vga_identity_doc(readers[i]), &why),
                         VG_OK);
        assert_int_equal(
            vg_envelope_check_policy(env, vga_identity_doc(readers[i]), NULL, NULL, &why), VG_OK);
        vg_alert out;
        err = vg_envelope_open(&out, env, vga_identity_agency(readers[i]),
                               vga_identity_keys(readers[i]), &why);
        if (err != VG_OK) {
            fail_msg("open as %s: %s", vga_identity_agency(readers[i]), why.text);
        }
        assert_string_equal(out.headline, "Driver of licensed taxi seen with missing child");
        assert_string_equal(out.sender, "police");
        vg_alert_fini(&out);
        vg_envelope_destroy(&env);
    }

    /* The Home Office is not a recipient and cannot read it. */
    vg_envelope *env = NULL;
    assert_int_equal(vg_envelope_verify(&env, bytes, len, vga_identity_doc(ho), &why), VG_OK);
    vg_alert out;
    assert_int_equal(vg_envelope_open(&out, env, "home-office", vga_identity_keys(ho), &why),
                     VG_ERR_NOT_RECIPIENT);
    vg_envelope_destroy(&env);
    free(bytes);
    vga_identity_destroy(&police);
    vga_identity_destroy(&licensing);
    vga_identity_destroy(&cs);
    vga_identity_destroy(&ho);
}

static void
test_init_deadline_option_reaches_the_signed_document(void **state)
{
    fixture *f = *state;
    it_init_net(f->net, (const char *const[]){"--deadline", "high=5s", NULL});
    vga_identity *police = s_identity(f->net, "police");
    const vg_netdoc *doc = vga_identity_doc(police);
    assert_int_equal(vg_netdoc_deadline_ms(doc, VG_SEV_HIGH, VG_URG_UNKNOWN), 5000);
    assert_int_equal(vg_netdoc_deadline_ms(doc, VG_SEV_HIGH, VG_URG_IMMEDIATE), 5000);
    assert_int_equal(vg_netdoc_deadline_ms(doc, VG_SEV_CRITICAL, VG_URG_UNKNOWN), 15 * 60 * 1000);
    assert_int_equal(vg_netdoc_deadline_ms(doc, VG_SEV_LOW, VG_URG_UNKNOWN), 72 * 3600 * 1000);

    /* Escalation scales with the shortest deadline: redeliver, contact at
     * 2x, oversight at 8x. */
    assert_int_equal(vg_netdoc_n_escalation(doc), 3);
    vg_escalation_step st;
    vg_netdoc_escalation_at(doc, 0, &st);
    assert_int_equal(st.target, VG_ESC_REDELIVER);
    assert_int_equal(st.after_ms, 0);
    vg_netdoc_escalation_at(doc, 1, &st);
    assert_int_equal(st.target, VG_ESC_CONTACT);
    assert_int_equal(st.after_ms, 10000);
    vg_netdoc_escalation_at(doc, 2, &st);
    assert_int_equal(st.target, VG_ESC_ROLE);
    assert_int_equal(st.after_ms, 40000);
    assert_string_equal(st.role, "oversight");
    vga_identity_destroy(&police);
}

static void
test_init_refuses_to_overwrite_a_network(void **state)
{
    fixture *f = *state;
    it_init_net(f->net, NULL);
    char *before = s_read(f->net, "admin/admin.key");

    it_run r;
    it_vigilctl(&r, "init", f->net, "--agencies", "police,licensing");
    it_assert_status(&r, 1);
    assert_true(it_contains(r.err, "already holds a network"));
    assert_true(it_contains(r.err, "--force"));
    it_run_fini(&r);
    char *after = s_read(f->net, "admin/admin.key");
    assert_string_equal(before, after);
    free(after);

    it_vigilctl(&r, "init", f->net, "--agencies", "police,licensing", "--force");
    it_assert_ok(&r);
    it_run_fini(&r);
    after = s_read(f->net, "admin/admin.key");
    assert_string_not_equal(before, after);
    free(after);
    free(before);

    /* The replaced network works; folders of agencies it no longer has are
     * left alone, not refreshed with a document they would refuse. */
    it_vigilctl(&r, "check", f->net);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "6 passed, 0 failed"));
    it_run_fini(&r);
    it_vigilctl(&r, "network", "sign", "--dir", f->net);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "home-office is not in the new document"));
    it_run_fini(&r);
}

/* Runs init with bad options: exit 2, the message names the problem and
 * nothing is written. */
static void
s_expect_refusal(const char *net, const char *agencies, const char *opt, const char *val,
                 const char *message)
{
    it_run r;
    if (opt != NULL) {
        it_vigilctl(&r, "init", net, "--agencies", agencies, opt, val);
    } else {
        it_vigilctl(&r, "init", net, "--agencies", agencies);
    }
    it_assert_status(&r, 2);
    if (!it_contains(r.err, message)) {
        fail_msg("stderr lacks \"%s\":\n%s", message, r.err);
    }
    it_run_fini(&r);
    struct stat st;
    assert_int_not_equal(stat(net, &st), 0);
}

static void
test_init_refuses_bad_options_with_clear_messages(void **state)
{
    fixture *f = *state;
    s_expect_refusal(f->net, "police,Licensing", NULL, NULL,
                     "'Licensing' is not a valid agency id");
    s_expect_refusal(f->net, "police,-x", NULL, NULL, "'-x' is not a valid agency id");
    s_expect_refusal(f->net, "police,licensing,police", NULL, NULL, "'police' is listed twice");
    s_expect_refusal(f->net, "police,,licensing", NULL, NULL, "--agencies");
    s_expect_refusal(f->net, "police,licensing", "--deadline", "urgent=5s",
                     "'urgent' is not a severity");
    s_expect_refusal(f->net, "police,licensing", "--deadline", "high=5 parsecs", "--deadline");
    s_expect_refusal(f->net, "police,licensing", "--deadline", "high=5s,high=1m", "given twice");
    s_expect_refusal(f->net, "police,licensing", "--deadline", "high", "SEVERITY=DURATION");
    s_expect_refusal(f->net, "police,licensing", "--endpoint", "127.0.0.1:7600", "tcp://HOST:PORT");
    s_expect_refusal(f->net, "police,licensing", "--oversight", "Ofsted", "'Ofsted'");

    it_run r;
    it_vigilctl(&r, "init", f->net);
    it_assert_status(&r, 2);
    assert_true(it_contains(r.err, "--agencies is required"));
    it_run_fini(&r);

    it_vigilctl(&r, "init", "--help");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "usage: vigilctl init"));
    it_run_fini(&r);
}

/* --endpoint A,B (brokers sharing a PostgreSQL store, docs/ha.md): the
 * broker binds the first, every agent.conf names both and the library
 * reads both, in order; a bad one among them is refused. */
static void
test_init_several_endpoints_reach_agent_conf(void **state)
{
    fixture *f = *state;
    s_expect_refusal(f->net, "police,licensing", "--endpoint", "tcp://127.0.0.1:7600,b:7610",
                     "'b:7610' is not tcp://HOST:PORT");
    it_run r;
    it_vigilctl(&r, "init", f->net, "--agencies", "police,licensing", "--endpoint",
                "tcp://127.0.0.1:7600,tcp://127.0.0.1:7610");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "follow the leader"));
    it_run_fini(&r);
    char *broker = s_read(f->net, "broker/broker.conf");
    assert_true(it_contains(broker, "bind = tcp://127.0.0.1:7600\n"));
    free(broker);
    char *conf = it_path(f->net, "agents/police/agent.conf");
    vga_config *cfg = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vga_config_load(&cfg, conf, &why), VG_OK);
    assert_int_equal(cfg->endpoints.n, 2);
    assert_string_equal(cfg->endpoints.items[0], "tcp://127.0.0.1:7600");
    assert_string_equal(cfg->endpoints.items[1], "tcp://127.0.0.1:7610");
    vga_config_destroy(&cfg);
    free(conf);
}

static void
test_moved_folder_still_loads(void **state)
{
    fixture *f = *state;
    it_init_net(f->net, NULL);
    char *moved = it_path(f->tmp, "elsewhere");
    assert_int_equal(rename(f->net, moved), 0);
    for (size_t i = 0; i < S_N_IDS; i++) {
        vga_identity *ident = s_identity(moved, s_ids[i]);
        vga_identity_destroy(&ident);
    }
    it_run r;
    it_vigilctl(&r, "check", moved);
    it_assert_ok(&r);
    it_run_fini(&r);
    free(moved);
}

int
main(void)
{
    if (sodium_init() < 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_makes_a_network_the_library_accepts, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_init_output_drives_a_real_seal_and_open, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_init_deadline_option_reaches_the_signed_document,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_init_refuses_to_overwrite_a_network, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_init_refuses_bad_options_with_clear_messages, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_init_several_endpoints_reach_agent_conf, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_moved_folder_still_loads, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
