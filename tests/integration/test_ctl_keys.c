/*
 * test_ctl_keys.c — the key changes of a network as its people make them,
 * without a broker: `vigilctl init-agency` on a new agency's machine,
 * `vigil-agent keys rotate | list`, and `vigilctl network add | rotate |
 * compromise | revoke | broker-rotate` followed by `network sign`, each
 * checked through the library's view of the signed document; refusals leave
 * network.json as it was.
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
#include <jansson.h>

#include "itest.h"
#include "vigil/agent_config.h"
#include "vigil/clock.h"
#include "vigil/netdoc.h"
#include "vigil/transition.h"
#include "vigil/util.h"

typedef struct fixture {
    char *tmp;      /* scratch directory */
    char *net;      /* tmp/net, made by vigilctl init */
    char *json;     /* net/network/network.json */
    char admin[65]; /* the admin public key, hex */
    uint8_t admin_pk[VG_SIGN_PK_LEN];
} fixture;

static int
s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->tmp = it_tmpdir();
    f->net = it_path(f->tmp, "net");
    f->json = it_path(f->net, "network/network.json");
    it_init_net(f->net, NULL);
    char *p = it_path(f->net, "admin/admin.key");
    vg_keyset *ks = NULL;
    assert_int_equal(vg_keyset_load(&ks, p, NULL), VG_OK);
    memcpy(f->admin_pk, vg_keyset_sign_pk(ks), VG_SIGN_PK_LEN);
    vg_hex_encode(f->admin, sizeof f->admin, f->admin_pk, VG_SIGN_PK_LEN);
    vg_keyset_destroy(&ks);
    free(p);
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
    free(f->json);
    free(f);
    return 0;
}

static char *
s_read_text(const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(vg_file_read(&data, &len, path, 1 << 20, NULL), VG_OK);
    return (char *)data;
}

static void
s_write_text(const char *path, const char *text)
{
    assert_int_equal(vg_file_write_atomic(path, text, strlen(text), 0644, NULL), VG_OK);
}

#define S_CTL(r, ...) it_vigilctl((r), __VA_ARGS__)

static void
s_ctl_ok(it_run *r)
{
    it_assert_ok(r);
    it_run_fini(r);
}

/* Signs network.json and loads the result through the library. */
static vg_netdoc *
s_sign(fixture *f)
{
    it_run r;
    S_CTL(&r, "network", "sign", "--dir", f->net);
    s_ctl_ok(&r);
    char *p = it_path(f->net, "network/network.signed");
    vg_netdoc *doc = NULL;
    vg_reason why = {{0}};
    if (vg_netdoc_load(&doc, p, f->admin_pk, 0, &why) != VG_OK) {
        fail_msg("%s", why.text);
    }
    free(p);
    return doc;
}

/* Runs a refused edit: exit status, a word of its reason, network.json unchanged. */
static void
s_refused(fixture *f, int status, const char *needle, const char *const *args)
{
    char *before = s_read_text(f->json);
    it_run r;
    it_exec(&r, "vigilctl", args);
    it_assert_status(&r, status);
    if (needle != NULL && !it_contains(r.err, needle)) {
        fail_msg("stderr does not say \"%s\":\n%s", needle, r.err);
    }
    it_run_fini(&r);
    char *after = s_read_text(f->json);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

#define S_REFUSED(f, status, needle, ...)                                                          \
    s_refused((f), (status), (needle), (const char *const[]){__VA_ARGS__, NULL})

/* ---- a new agency ------------------------------------------------------------------------ */

static void
init_agency_keeps_keys_home_and_prints_the_card(void **state)
{
    fixture *f = *state;
    char *dir = it_path(f->tmp, "edu");
    char *doc = it_path(f->net, "network/network.signed");
    it_run r;
    S_CTL(&r, "init-agency", dir, "--id", "education", "--admin-key", f->admin, "--endpoint",
          "tcp://127.0.0.1:7600", "--network", doc);
    it_assert_ok(&r);
    json_t *card = json_loads(r.out, 0, NULL);
    assert_non_null(card);
    it_run_fini(&r);
    assert_string_equal(json_string_value(json_object_get(card, "id")), "education");
    assert_string_equal(json_string_value(json_object_get(card, "role")), "education");
    /* the card is the public half of the key file, which is private */
    char *keys = it_path(dir, "agency.key");
    struct stat st;
    assert_int_equal(stat(keys, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    vg_keyset *ks = NULL;
    assert_int_equal(vg_keyset_load(&ks, keys, NULL), VG_OK);
    char hex[65];
    vg_hex_encode(hex, sizeof hex, vg_keyset_box_pk(ks), 32);
    assert_string_equal(json_string_value(json_object_get(card, "box_key")), hex);
    assert_string_equal(json_string_value(json_object_get(card, "transport_key")),
                        vg_keyset_curve_pk_z85(ks));
    vg_keyset_destroy(&ks);
    char *saved = it_path(dir, "card.json");
    json_t *again = json_load_file(saved, 0, NULL);
    assert_true(json_equal(card, again));
    json_decref(again);
    /* agent.conf pins the admin key and the document's broker key */
    char *conf = it_path(dir, "agent.conf");
    vga_config *cfg = NULL;
    assert_int_equal(vga_config_load(&cfg, conf, NULL), VG_OK);
    assert_memory_equal(cfg->admin_pk, f->admin_pk, 32);
    vga_config_destroy(&cfg);
    /* a second run does not replace the keys, an id already taken is refused */
    S_CTL(&r, "init-agency", dir, "--id", "education", "--admin-key", f->admin, "--endpoint",
          "tcp://127.0.0.1:7600", "--network", doc);
    it_assert_status(&r, 1);
    it_run_fini(&r);
    char *other = it_path(f->tmp, "other");
    S_CTL(&r, "init-agency", other, "--id", "police", "--admin-key", f->admin, "--endpoint",
          "tcp://127.0.0.1:7600", "--network", doc);
    it_assert_status(&r, 1);
    assert_true(it_contains(r.err, "already has an agency 'police'"));
    it_run_fini(&r);
    /* a document not signed by the pinned admin key is refused */
    char wrong[65];
    memset(wrong, 'a', 64);
    wrong[64] = '\0';
    S_CTL(&r, "init-agency", other, "--id", "parks", "--admin-key", wrong, "--endpoint",
          "tcp://127.0.0.1:7600", "--network", doc);
    it_assert_status(&r, 1);
    it_run_fini(&r);
    S_CTL(&r, "init-agency", other, "--id", "parks", "--admin-key", f->admin);
    it_assert_status(&r, 2);
    it_run_fini(&r);

    /* the administrator adds it */
    S_CTL(&r, "network", "add", saved, "--dir", f->net, "--contact", "home-office");
    s_ctl_ok(&r);
    vg_netdoc *d = s_sign(f);
    vg_agency a;
    assert_int_equal(vg_netdoc_find(d, "education", &a), VG_OK);
    assert_string_equal(a.escalation_contact, "home-office");
    vg_netdoc_destroy(&d);
    S_REFUSED(f, 1, "already has an agency", "network", "add", saved, "--dir", f->net);
    json_decref(card);
    free(conf);
    free(saved);
    free(keys);
    free(other);
    free(doc);
    free(dir);
}

/* ---- rotation -------------------------------------------------------------------------- */

static void
rotate_moves_the_old_keys_to_previous_with_an_overlap(void **state)
{
    fixture *f = *state;
    char *conf = it_path(f->net, "agents/police/agent.conf");
    char *card = it_path(f->tmp, "police.card");
    vga_identity *id = NULL;
    assert_int_equal(vga_identity_load(&id, conf, 0, NULL), VG_OK);
    uint8_t old_sign[32];
    memcpy(old_sign, vg_keyset_sign_pk(vga_identity_keys(id)), 32);
    vga_identity_destroy(&id);

    it_run r;
    it_exec(&r, "vigil-agent", (const char *const[]){"-c", conf, "keys", "rotate", NULL});
    it_assert_ok(&r);
    s_write_text(card, r.out);
    char *first = vg_strdup(r.out);
    it_run_fini(&r);
    it_exec(&r, "vigil-agent", (const char *const[]){"-c", conf, "keys", "rotate", NULL});
    it_assert_ok(&r);
    assert_string_equal(r.out, first); /* pending: the same card again */
    assert_true(it_contains(r.err, "nothing new was made"));
    it_run_fini(&r);

    S_REFUSED(f, 2, "in the past", "network", "rotate", card, "--dir", f->net, "--until",
              "2020-01-01T00:00:00Z");
    int64_t t0 = vg_clock_wall_ms(vg_clock_system());
    S_CTL(&r, "network", "rotate", card, "--dir", f->net, "--overlap", "2h");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "rotated 3 keys of police"));
    it_run_fini(&r);
    S_CTL(&r, "network", "rotate", card, "--dir", f->net);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "nothing to change"));
    it_run_fini(&r);
    vg_netdoc *d = s_sign(f);
    vg_previous_keys p;
    assert_int_equal(vg_netdoc_previous_keys(d, "police", 0, &p), VG_OK);
    assert_memory_equal(p.sign_pk, old_sign, 32);
    assert_true(p.rotated_ms >= t0 && p.valid_until_ms == p.rotated_ms + 7200000);
    vg_netdoc_destroy(&d);

    /* sign refreshed police's copy: it now uses the new keys */
    it_exec(&r, "vigil-agent", (const char *const[]){"-c", conf, "keys", "list", NULL});
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "1  previous"));
    assert_true(it_contains(r.out, "2  current"));
    it_run_fini(&r);
    S_CTL(&r, "network", "show", "--dir", f->net);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "previous sign/box/transport keys"));
    it_run_fini(&r);
    free(first);
    free(card);
    free(conf);
}

/* ---- compromise and revocation ----------------------------------------------------------------
 */

static void
compromise_marks_current_and_previous_keys(void **state)
{
    fixture *f = *state;
    it_run r;
    S_CTL(&r, "network", "compromise", "licensing", "--dir", f->net, "--keys", "sign", "--since",
          "2026-06-01T12:00:00Z");
    s_ctl_ok(&r);
    S_REFUSED(f, 2, "rotated, not marked", "network", "compromise", "licensing", "--dir", f->net,
              "--keys", "box");
    S_REFUSED(f, 1, "has no key", "network", "compromise", "licensing", "--dir", f->net, "--key",
              "nonsense");
    S_REFUSED(f, 1, "no agency 'nobody'", "network", "compromise", "nobody", "--dir", f->net);
    vg_netdoc *d = s_sign(f);
    vg_agency a;
    assert_int_equal(vg_netdoc_find(d, "licensing", &a), VG_OK);
    assert_true(a.sign_compromised_ms == INT64_C(1780315200000));
    assert_true(a.transport_compromised_ms == 0);
    /* an earlier time wins; a previous key by its public key */
    char transport[VG_Z85_KEY_LEN + 1];
    vg_z85_encode_key(transport, a.transport_pk);
    vg_netdoc_destroy(&d);
    S_CTL(&r, "network", "compromise", "licensing", "--dir", f->net, "--key", transport, "--since",
          "2026-05-01T00:00:00Z");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "current transport_key"));
    it_run_fini(&r);
    d = s_sign(f);
    assert_int_equal(vg_netdoc_find(d, "licensing", &a), VG_OK);
    assert_true(a.transport_compromised_ms == INT64_C(1777593600000));
    vg_netdoc_destroy(&d);
}

static void
revoke_with_a_successor(void **state)
{
    fixture *f = *state;
    S_REFUSED(f, 1, "not an agency", "network", "revoke", "licensing", "--dir", f->net,
              "--successor", "nobody");
    S_REFUSED(f, 1, "oversight", "network", "revoke", "licensing", "--dir", f->net, "--successor",
              "oversight");
    S_REFUSED(f, 2, NULL, "network", "revoke", "licensing", "--dir", f->net, "--overlap", "1h");
    it_run r;
    S_CTL(&r, "network", "revoke", "licensing", "--dir", f->net, "--successor", "police");
    s_ctl_ok(&r);
    vg_netdoc *d = s_sign(f);
    vg_agency a;
    assert_int_equal(vg_netdoc_find(d, "licensing", &a), VG_OK);
    assert_true(a.revoked);
    assert_string_equal(a.successor, "police");
    vg_netdoc_destroy(&d);
}

/* ---- the broker's keys -------------------------------------------------------------------- */

static void
broker_rotate_takes_only_a_transition_by_the_key_in_force(void **state)
{
    fixture *f = *state;
    char *key_path = it_path(f->net, "broker/broker.key");
    char *note_path = it_path(f->tmp, "transition.note");
    vg_keyset *old = NULL, *next = NULL, *thief = NULL;
    assert_int_equal(vg_keyset_load(&old, key_path, NULL), VG_OK);
    assert_int_equal(vg_keyset_generate(&next, VG_KEY_SIGN | VG_KEY_CURVE), VG_OK);
    assert_int_equal(vg_keyset_generate(&thief, VG_KEY_SIGN), VG_OK);
    char *note = NULL;
    size_t len = 0;
    int64_t now = vg_clock_wall_ms(vg_clock_system());
    assert_int_equal(vg_key_transition_sign(&note, &len, "vigil-local", thief,
                                            vg_keyset_sign_pk(next), now, NULL),
                     VG_OK);
    s_write_text(note_path, note);
    free(note);
    S_REFUSED(f, 1, "not a key transition signed by the broker's current key", "network",
              "broker-rotate", "--dir", f->net, "--transition", note_path);
    assert_int_equal(
        vg_key_transition_sign(&note, &len, "vigil-local", old, vg_keyset_sign_pk(next), now, NULL),
        VG_OK);
    s_write_text(note_path, note);
    it_run r;
    S_CTL(&r, "network", "broker-rotate", "--dir", f->net, "--transition", note_path,
          "--transport-key", vg_keyset_curve_pk_z85(next), "--overlap", "1h");
    s_ctl_ok(&r);
    vg_netdoc *d = s_sign(f);
    assert_memory_equal(vg_netdoc_broker_sign_pk(d), vg_keyset_sign_pk(next), 32);
    assert_memory_equal(vg_netdoc_broker_transport_pk(d), vg_keyset_curve_pk(next), 32);
    assert_int_equal(vg_netdoc_n_previous_broker_keys(d), 1);
    vg_broker_keys bk;
    vg_netdoc_previous_broker_keys_at(d, 0, &bk);
    assert_memory_equal(bk.sign_pk, vg_keyset_sign_pk(old), 32);
    assert_memory_equal(bk.transport_pk, vg_keyset_curve_pk(old), 32);
    assert_string_equal(vg_netdoc_key_transition(d), note);
    vg_netdoc_destroy(&d);
    /* agent.conf still pins the old broker transport key: the agents load */
    char *conf = it_path(f->net, "agents/police/agent.conf");
    vga_identity *id = NULL;
    vg_reason why = {{0}};
    if (vga_identity_load(&id, conf, 0, &why) != VG_OK) {
        fail_msg("%s", why.text);
    }
    vga_identity_destroy(&id);
    free(conf);
    free(note);
    vg_keyset_destroy(&old);
    vg_keyset_destroy(&next);
    vg_keyset_destroy(&thief);
    free(key_path);
    free(note_path);
}

#define T(f) cmocka_unit_test_setup_teardown(f, s_setup, s_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(init_agency_keeps_keys_home_and_prints_the_card),
        T(rotate_moves_the_old_keys_to_previous_with_an_overlap),
        T(compromise_marks_current_and_previous_keys),
        T(revoke_with_a_successor),
        T(broker_rotate_takes_only_a_transition_by_the_key_in_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
