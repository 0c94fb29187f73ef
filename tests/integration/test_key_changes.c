/*
 * test_key_changes.c — agencies join, rotate or lose keys, and the broker's
 * signing key rotates, with the real vigil-broker, vigil-agent and vigilctl
 * (issue 16 items 2 to 5, the agency side):
 *
 *   - an agency rotates all three keys with an overlap: alerts sealed to it
 *     before, during and after the rotation are all readable by it, it
 *     acknowledges with its new key, and the log still verifies;
 *   - a new agency made with `vigilctl init-agency` on "its own machine"
 *     joins once its card is added, signed and pushed, fetching the
 *     document from the broker by itself;
 *   - a sign key marked compromised at T: the broker refuses an envelope
 *     created after T (key_compromised) and takes one created before it;
 *   - the broker's signing key rotates: a witness accepts the new key's
 *     checkpoints after the old key's transition note, and records a fork
 *     when the note was signed by another key.
 *
 * Documents reach the running broker with `vigilctl network push`; the
 * broker's key change needs a restart on the new broker.key. Every wait is
 * bounded; the broker log is printed when a test fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "broker_harness.h"
#include "itest.h"
#include "rawclient.h"
#include "vigil/agent.h"
#include "vigil/clock.h"
#include "vigil/transition.h"
#include "vigil/util.h"
#include "vigil/wire.h"

#define T_REPLY_MS 5000   /* longest wait for a confirm or a delivery */
#define T_CP_WAIT_MS 5000 /* longest wait for a checkpoint covering the log */

static const char *const s_conf[] = {"checkpoint_interval=200ms", NULL};

static int
s_setup(void **state)
{
    *state = NULL;
    return 0;
}

static int
s_teardown(void **state)
{
    bh_destroy((bh_broker **)state);
    return 0;
}

static bh_broker *
s_start(void **state)
{
    bh_broker *b = bh_new(s_conf);
    *state = b;
    bh_start(b);
    return b;
}

/* ---- running the programs ---------------------------------------------------------- */

/* Runs vigil-agent for agency (its agent.conf in the network) with args. */
static void
s_agent(it_run *r, const bh_broker *b, const char *agency, const char *const *args)
{
    char *conf = bh_agent_conf(b, agency);
    const char *argv[16] = {"-c", conf};
    size_t n = 2;
    for (size_t i = 0; args[i] != NULL && n < 15; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    it_exec_in(r, b->bin_dir, "vigil-agent", argv);
    free(conf);
}

#define S_AGENT(r, b, agency, ...)                                                                 \
    s_agent((r), (b), (agency), (const char *const[]){__VA_ARGS__, NULL})

static void
s_ctl(it_run *r, const bh_broker *b, const char *const *args)
{
    it_exec_in(r, b->bin_dir, "vigilctl", args);
}

#define S_CTL(r, b, ...) s_ctl((r), (b), (const char *const[]){__VA_ARGS__, NULL})

/* Runs vigilctl and asserts it exited 0. */
#define S_CTL_OK(b, ...)                                                                           \
    do {                                                                                           \
        it_run r_;                                                                                 \
        S_CTL(&r_, (b), __VA_ARGS__);                                                              \
        it_assert_ok(&r_);                                                                         \
        it_run_fini(&r_);                                                                          \
    } while (0)

/* Signs net/network/network.json and pushes it to the running broker. */
static void
s_sign_and_push(bh_broker *b)
{
    S_CTL_OK(b, "network", "sign", "--dir", b->net);
    S_CTL_OK(b, "network", "push", "-c", b->conf);
}

/* Publishes from agency with the CLI; the alert id (32 hex), malloc'ed. */
static char *
s_publish(const bh_broker *b, const char *agency, const char *headline, const char *to)
{
    it_run r;
    if (to != NULL) {
        S_AGENT(&r, b, agency, "publish", "--severity", "high", "--category", "taxi", "--headline",
                headline, "--to", to, "--timeout", "5s");
    } else {
        S_AGENT(&r, b, agency, "publish", "--severity", "high", "--category", "taxi", "--headline",
                headline, "--timeout", "5s");
    }
    it_assert_ok(&r);
    assert_true(strlen(r.out) >= VG_ALERT_ID_HEX_LEN);
    char *id = vg_strdup(r.out);
    id[VG_ALERT_ID_HEX_LEN] = '\0';
    it_run_fini(&r);
    return id;
}

static void
s_write_text(const char *path, const char *text)
{
    vg_reason why = {{0}};
    if (vg_file_write_atomic(path, text, strlen(text), 0644, &why) != VG_OK) {
        fail_msg("%s", why.text);
    }
}

/* The network's name (the audit log's origin), from network.json. */
static char *
s_network_name(const bh_broker *b)
{
    char *path = it_path(b->net, "network/network.json");
    json_t *doc = json_load_file(path, 0, NULL);
    assert_non_null(doc);
    char *name = vg_strdup(json_string_value(json_object_get(doc, "network")));
    json_decref(doc);
    free(path);
    return name;
}

/* ---- an agency rotates its keys ------------------------------------------------------ */

static void
agency_rotates_all_keys_with_an_overlap(void **state)
{
    bh_broker *b = s_start(state);
    char *before = s_publish(b, "home-office", "Sealed before the rotation", NULL);
    it_run r;
    S_AGENT(&r, b, "licensing", "listen", "--count", "1", "--timeout", "10s", "--json");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "Sealed before the rotation"));
    it_run_fini(&r);

    /* on licensing's machine: new keys, the card for the administrator */
    S_AGENT(&r, b, "licensing", "keys", "rotate");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "\"id\": \"licensing\""));
    assert_false(it_contains(r.out, "secret"));
    char *card = it_path(b->net, "licensing.card");
    s_write_text(card, r.out);
    it_run_fini(&r);
    /* not in force yet: licensing still uses its old keys, and is sealed to */
    S_AGENT(&r, b, "licensing", "keys", "list");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "1  current"));
    assert_true(it_contains(r.out, "2  pending"));
    it_run_fini(&r);
    char *during = s_publish(b, "home-office", "Sealed during the rotation", NULL);

    /* the administrator puts the card in force, with an hour of overlap */
    S_CTL_OK(b, "network", "rotate", card, "--dir", b->net, "--overlap", "1h");
    s_sign_and_push(b);
    S_AGENT(&r, b, "licensing", "keys", "list", "--json");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "\"state\":\"previous\""));
    assert_true(it_contains(r.out, "\"state\":\"current\""));
    it_run_fini(&r);
    char *after = s_publish(b, "home-office", "Sealed after the rotation", NULL);

    /* every one of them reads, with the old box key or the new */
    S_AGENT(&r, b, "licensing", "listen", "--count", "2", "--timeout", "10s", "--json");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "Sealed during the rotation"));
    assert_true(it_contains(r.out, "Sealed after the rotation"));
    it_run_fini(&r);
    S_AGENT(&r, b, "licensing", "status", before);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "Sealed before the rotation")); /* not "sealed" */
    it_run_fini(&r);

    /* receipts signed with the new key are accepted */
    const char *ids[] = {before, during, after};
    for (size_t i = 0; i < 3; i++) {
        S_AGENT(&r, b, "licensing", "ack", ids[i], "--officer", "DC Rahman");
        it_assert_ok(&r);
        it_run_fini(&r);
    }
    S_AGENT(&r, b, "home-office", "status", before, "--json");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "DC Rahman"));
    it_run_fini(&r);
    /* the record, with receipts by the old key and the new, still checks out */
    bh_stop(b);
    S_CTL_OK(b, "audit", "verify", "-c", b->conf);
    free(card);
    free(before);
    free(during);
    free(after);
    bh_pass(b);
}

/* ---- a new agency joins -------------------------------------------------------------------- */

static void
new_agency_made_on_its_own_machine_joins(void **state)
{
    bh_broker *b = s_start(state);
    char *edu = it_path(b->tmp, "education-machine");
    char *card = it_path(edu, "card.json");
    char *conf = it_path(edu, "agent.conf");
    char *signed_doc = it_path(b->net, "network/network.signed");
    char *admin_key = it_path(b->net, "admin/admin.key");
    vg_keyset *admin = NULL;
    assert_int_equal(vg_keyset_load(&admin, admin_key, NULL), VG_OK);
    char admin_hex[65];
    vg_hex_encode(admin_hex, sizeof admin_hex, vg_keyset_sign_pk(admin), 32);
    vg_keyset_destroy(&admin);

    it_run r;
    S_CTL(&r, b, "init-agency", edu, "--id", "education", "--admin-key", admin_hex, "--endpoint",
          b->endpoint, "--network", signed_doc);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "\"id\": \"education\""));
    it_run_fini(&r);
    /* not in the document yet: refused, saying it asked the broker */
    it_exec_in(&r, b->bin_dir, "vigil-agent",
               (const char *const[]){"-c", conf, "flush", "--timeout", "1s", NULL});
    it_assert_status(&r, 4);
    assert_true(it_contains(r.err, "asked the broker"));
    it_run_fini(&r);
    it_exec_in(&r, b->bin_dir, "vigil-agent",
               (const char *const[]){"-c", conf, "network", "fetch", "--timeout", "1s", NULL});
    it_assert_status(&r, 3); /* the broker does not admit its keys yet */
    it_run_fini(&r);

    S_CTL_OK(b, "network", "add", card, "--dir", b->net, "--contact", "home-office");
    s_sign_and_push(b);
    char *id = s_publish(b, "home-office", "For education too", "education");
    /* its first run fetches the document that lists it and receives at once */
    it_exec_in(&r, b->bin_dir, "vigil-agent",
               (const char *const[]){"-c", conf, "listen", "--count", "1", "--timeout", "10s",
                                     "--json", NULL});
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "For education too"));
    it_run_fini(&r);
    free(id);
    free(edu);
    free(card);
    free(conf);
    free(signed_doc);
    free(admin_key);
    bh_pass(b);
}

/* ---- a compromised key ---------------------------------------------------------------------- */

static void
compromised_sign_key_refused_from_its_compromise_time(void **state)
{
    bh_broker *b = s_start(state);
    vga_identity *police = bh_identity(b, "police");
    int64_t now = vg_clock_wall_ms(vg_clock_system());
    int64_t leak = now - 30000;
    uint64_t seq = (uint64_t)now;
    static const char *const to[] = {"licensing", "childrens-services"};
    rc_seal_spec spec = {.recipients = to, .n_recipients = 2, .category = "taxi"};
    size_t len_before = 0, len_after = 0;
    spec.sequence = seq + 1;
    spec.created_ms = leak - 10000;
    uint8_t *before = rc_seal(&len_before, NULL, police, &spec);
    spec.sequence = seq + 2;
    spec.created_ms = now;
    uint8_t *after = rc_seal(&len_after, NULL, police, &spec);
    vga_identity_destroy(&police);

    char since[VG_TIME_STR_LEN];
    vg_time_format(since, sizeof since, leak);
    S_CTL_OK(b, "network", "compromise", "police", "--dir", b->net, "--keys", "sign", "--since",
             since);
    s_sign_and_push(b);

    /* the broker takes what was created before the leak and refuses the rest */
    char *conf = bh_agent_conf(b, "police");
    rc_client *c = rc_new_agency(conf);
    rc_hello(c, false);
    Vigil__BrokerFrame *f = rc_expect_confirm(c, rc_publish(c, before, len_before), T_REPLY_MS);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    rc_frame_free(f);
    f = rc_expect_confirm(c, rc_publish(c, after, len_after), T_REPLY_MS);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED);
    assert_int_equal(f->confirm->code, VIGIL__REJECT_CODE__REJECT_KEY_COMPROMISED);
    assert_true(it_contains(f->confirm->reason, "police"));
    assert_true(it_contains(f->confirm->reason, since));
    rc_frame_free(f);
    rc_destroy(&c);
    assert_int_equal(bh_store_count_rejections(b, "police", "key_compromised"), 1);

    /* and police's own agent refuses to sign anything new with it */
    vga_agent *a = bh_agent_open(b, "police", false);
    vga_confirm res;
    vg_reason why = {{0}};
    assert_int_equal(vga_publish_sealed(a, after, len_after, T_REPLY_MS, &res, &why),
                     VG_ERR_KEY_COMPROMISED);
    vga_confirm_fini(&res);
    vga_agent_destroy(&a);
    it_run r;
    S_AGENT(&r, b, "police", "publish", "--severity", "high", "--category", "taxi", "--headline",
            "After the leak", "--timeout", "2s");
    assert_int_not_equal(r.status, 0);
    assert_true(it_contains(r.err, "compromised"));
    it_run_fini(&r);
    free(conf);
    free(before);
    free(after);
    bh_pass(b);
}

/* ---- the broker's signing key -----------------------------------------------------------------
 */

/* Syncs until agency holds a checkpoint of at least min_size (bounded);
 * returns the last result. */
static vg_err
s_sync_until(vga_agent *a, uint64_t min_size, vg_reason *why)
{
    int64_t end = bh_now_ms() + T_CP_WAIT_MS;
    vg_err rc = VG_OK;
    while (bh_now_ms() < end) {
        rc = vga_audit_sync(a, T_REPLY_MS, why);
        vga_audit_checkpoint cp;
        if (rc == VG_OK && vga_audit_latest(a, &cp, NULL) == VG_OK) {
            bool big = cp.size >= min_size;
            vga_audit_checkpoint_fini(&cp);
            if (big) {
                return VG_OK;
            }
        }
        if (rc != VG_OK && rc != VG_ERR_TIMEOUT && rc != VG_ERR_NOT_FOUND) {
            return rc;
        }
        bh_sleep_ms(100);
    }
    return rc == VG_OK ? VG_ERR_TIMEOUT : rc;
}

static void
s_publish_lib(vga_agent *a, const char *headline)
{
    vg_alert alert;
    bh_alert_init(&alert, headline, "broker key test", "taxi", "");
    vga_confirm res;
    vg_reason why = {{0}};
    vg_err rc = vga_publish(a, &alert, T_REPLY_MS, &res, &why);
    bh_alert_fini(&alert);
    vga_confirm_fini(&res);
    if (rc != VG_OK) {
        fail_msg("publish: %s: %s", vg_err_code(rc), why.text);
    }
}

/* police holds a checkpoint signed by the broker's first key. */
static void
s_witness_first_key(bh_broker *b)
{
    vga_agent *police = bh_agent_open(b, "police", false);
    s_publish_lib(police, "Before the broker's key changes");
    vg_reason why = {{0}};
    vg_err rc = s_sync_until(police, 1, &why);
    if (rc != VG_OK) {
        fail_msg("sync: %s: %s", vg_err_code(rc), why.text);
    }
    vga_agent_destroy(&police);
}

/* Restarts the broker with a new signing key (its transport key kept). */
static void
s_restart_with(bh_broker *b, const vg_keyset *new_sign)
{
    char *path = it_path(b->net, "broker/broker.key");
    vg_keyset *old = NULL;
    assert_int_equal(vg_keyset_load(&old, path, NULL), VG_OK);
    char hex[2 * VG_SIGN_SK_LEN + 1], text[512];
    vg_hex_encode(hex, sizeof hex, vg_keyset_sign_sk(new_sign), VG_SIGN_SK_LEN);
    snprintf(text, sizeof text, "vigil-secret-keys 1\nsign-secret %s\ncurve-secret %s\nend\n", hex,
             vg_keyset_curve_sk_z85(old));
    vg_keyset_destroy(&old);
    bh_stop(b);
    assert_int_equal(vg_file_write_atomic(path, text, strlen(text), 0600, NULL), VG_OK);
    free(path);
    bh_start(b);
}

static void
witness_accepts_a_broker_key_handed_over_by_the_old_one(void **state)
{
    bh_broker *b = s_start(state);
    s_witness_first_key(b);
    /* the broker's operator makes a new key and has the old one sign the hand-over */
    char *key_path = it_path(b->net, "broker/broker.key");
    vg_keyset *old = NULL, *next = NULL;
    assert_int_equal(vg_keyset_load(&old, key_path, NULL), VG_OK);
    assert_int_equal(vg_keyset_generate(&next, VG_KEY_SIGN), VG_OK);
    char *note = NULL;
    size_t note_len = 0;
    char *network = s_network_name(b);
    assert_int_equal(vg_key_transition_sign(&note, &note_len, network, old, vg_keyset_sign_pk(next),
                                            vg_clock_wall_ms(vg_clock_system()), NULL),
                     VG_OK);
    free(network);
    char *note_path = it_path(b->tmp, "transition.note");
    s_write_text(note_path, note);
    /* the administrator puts it in the document */
    S_CTL_OK(b, "network", "broker-rotate", "--dir", b->net, "--transition", note_path, "--overlap",
             "1h");
    S_CTL_OK(b, "network", "sign", "--dir", b->net);
    s_restart_with(b, next);

    vga_agent *police = bh_agent_open(b, "police", false);
    s_publish_lib(police, "After the broker's key changed");
    vg_reason why = {{0}};
    uint64_t size = (uint64_t)bh_store_count(b, VGB_COUNT_LEAVES, NULL);
    vg_err rc = s_sync_until(police, size, &why);
    if (rc != VG_OK) {
        fail_msg("the new key's checkpoint was refused: %s: %s", vg_err_code(rc), why.text);
    }
    assert_int_equal(vga_audit_status(police, NULL), VG_OK);
    vga_agent_destroy(&police);
    it_run r;
    S_AGENT(&r, b, "police", "audit", "checkpoint");
    it_assert_ok(&r);
    it_run_fini(&r);
    free(note);
    free(note_path);
    free(key_path);
    vg_keyset_destroy(&old);
    vg_keyset_destroy(&next);
    bh_pass(b);
}

static void
forged_broker_key_transition_is_a_fork(void **state)
{
    bh_broker *b = s_start(state);
    s_witness_first_key(b);
    /* someone with the admin key but not the broker's: a key of their own
     * poses as the previous broker key and signs the "hand-over" */
    vg_keyset *thief = NULL, *next = NULL;
    assert_int_equal(vg_keyset_generate(&thief, VG_KEY_SIGN), VG_OK);
    assert_int_equal(vg_keyset_generate(&next, VG_KEY_SIGN), VG_OK);
    char *note = NULL;
    size_t note_len = 0;
    int64_t now = vg_clock_wall_ms(vg_clock_system());
    char *network = s_network_name(b);
    assert_int_equal(vg_key_transition_sign(&note, &note_len, network, thief,
                                            vg_keyset_sign_pk(next), now, NULL),
                     VG_OK);
    free(network);
    char *json_path = it_path(b->net, "network/network.json");
    json_t *doc = json_load_file(json_path, 0, NULL);
    assert_non_null(doc);
    /* the real old key stays listed (so what it signed still verifies); the
     * thief's comes after it, as the key just before the new one */
    json_t *list = json_array();
    const char *real_old =
        json_string_value(json_object_get(json_object_get(doc, "broker"), "sign_key"));
    json_t *prev = json_object();
    json_object_set_new(prev, "sign_key", json_string(real_old));
    json_object_set_new(prev, "rotated", json_integer(now - 1000));
    json_object_set_new(prev, "valid_until", json_integer(now + 3600000));
    json_array_append_new(list, prev);
    char hex[65];
    prev = json_object();
    vg_hex_encode(hex, sizeof hex, vg_keyset_sign_pk(thief), 32);
    json_object_set_new(prev, "sign_key", json_string(hex));
    json_object_set_new(prev, "rotated", json_integer(now));
    json_object_set_new(prev, "valid_until", json_integer(now + 3600000));
    json_array_append_new(list, prev);
    json_object_set_new(doc, "previous_broker_keys", list);
    vg_hex_encode(hex, sizeof hex, vg_keyset_sign_pk(next), 32);
    json_object_set_new(json_object_get(doc, "broker"), "sign_key", json_string(hex));
    json_object_set_new(doc, "key_transition", json_string(note));
    assert_int_equal(json_dump_file(doc, json_path, JSON_INDENT(2)), 0);
    json_decref(doc);
    S_CTL_OK(b, "network", "sign", "--dir", b->net); /* valid, as far as the document goes */
    s_restart_with(b, next);

    vga_agent *police = bh_agent_open(b, "police", false);
    s_publish_lib(police, "After the forged hand-over");
    vg_reason why = {{0}};
    uint64_t size = (uint64_t)bh_store_count(b, VGB_COUNT_LEAVES, NULL);
    assert_int_equal(s_sync_until(police, size, &why), VG_ERR_CONFLICT);
    assert_true(it_contains(why.text, "audit fork"));
    assert_int_equal(vga_audit_status(police, &why), VG_ERR_CONFLICT);
    assert_true(it_contains(why.text, "hand-over"));
    vga_agent_destroy(&police);
    it_run r;
    S_AGENT(&r, b, "police", "audit", "checkpoint");
    it_assert_status(&r, 1);
    assert_true(it_contains(r.err, "AUDIT FAULT"));
    it_run_fini(&r);
    free(json_path);
    free(note);
    vg_keyset_destroy(&thief);
    vg_keyset_destroy(&next);
    bh_pass(b);
}

/* ---- keys that change under a running agent or broker ------------------------------- */

/* Polls a until its document is at least version v (bounded by a keepalive
 * and an answer). */
static void
s_until_version(vga_agent *a, uint64_t v)
{
    int64_t end = bh_now_ms() + VG_KEEPALIVE_MS + T_REPLY_MS;
    while (vg_netdoc_version(vga_agent_doc(a)) < v && bh_now_ms() < end) {
        vga_poll(a, 200);
    }
    assert_true(vg_netdoc_version(vga_agent_doc(a)) >= v);
}

/* Polls a for ms (its keepalives, and what the broker sends it). */
static void
s_serve(vga_agent *a, int64_t ms)
{
    for (int64_t end = bh_now_ms() + ms; bh_now_ms() < end;) {
        vga_poll(a, 100);
    }
}

/* a receives the alert idhex within T_REPLY_MS * 2 (after any alerts sent
 * to it before). */
static void
s_receives(vga_agent *a, const char *idhex)
{
    char got_hex[VG_ALERT_ID_HEX_LEN + 1] = "";
    vg_reason why = {{0}};
    vg_err rc = VG_OK;
    for (int64_t end = bh_now_ms() + 2 * T_REPLY_MS;
         strcmp(got_hex, idhex) != 0 && rc == VG_OK && bh_now_ms() < end;) {
        vg_alert got;
        memset(&got, 0, sizeof got);
        rc = vga_receive(a, (int)(end - bh_now_ms()), &got, &why);
        if (rc == VG_OK) {
            vg_alert_id_hex(got_hex, got.id);
            vg_alert_fini(&got);
        }
    }
    if (strcmp(got_hex, idhex) != 0) {
        fail_msg("alert %s not received: %s: %s", idhex, vg_err_code(rc), why.text);
    }
}

/* licensing's agent runs on while licensing rotates its keys: it learns
 * the document that lists them, connects with its new transport key, and
 * still receives alerts after the overlap, when the broker closes
 * connections made with the old key and refuses it. */
static void
a_running_agent_follows_its_agencys_rotation(void **state)
{
    bh_broker *b = s_start(state);
    vga_agent *lic = bh_agent_open(b, "licensing", true);
    s_serve(lic, 300);
    it_run r;
    S_AGENT(&r, b, "licensing", "keys", "rotate");
    it_assert_ok(&r);
    char *card = it_path(b->tmp, "licensing.card");
    s_write_text(card, r.out);
    it_run_fini(&r);
    int64_t overlap_end = bh_now_ms() + 3000;
    S_CTL_OK(b, "network", "rotate", card, "--dir", b->net, "--overlap", "3s");
    s_sign_and_push(b);
    s_until_version(lic, 2);
    s_serve(lic, overlap_end + 1500 - bh_now_ms());
    char *id = s_publish(b, "police", "After licensing's overlap ended", "licensing");
    s_receives(lic, id);
    vga_agent_destroy(&lic);
    free(id);
    free(card);
    bh_pass(b);
}

/* What `vigilctl broker rotate-keys` printed: the value after "KEY ". */
static char *
s_field(const char *out, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "%s ", key);
    const char *at = strstr(out, pat);
    assert_non_null(at);
    at += strlen(pat);
    size_t n = strcspn(at, "\n");
    char *v = vg_strdup(at);
    v[n] = '\0';
    return v;
}

/* The broker's keys rotate while it runs: a document naming keys it was
 * not prepared with is refused; `vigilctl broker rotate-keys` prepares
 * them; pushed, the document is in force at once: witnesses take the new
 * signing key's checkpoints (the note hands the log over), connected agents
 * are sent the document, the old transport key works until the overlap ends
 * and then the broker presents the new one, and agents that ran throughout
 * go on receiving. A restart keeps the new keys. */
static void
broker_keys_rotate_without_a_restart(void **state)
{
    bh_broker *b = s_start(state);
    s_witness_first_key(b);
    char *key_path = it_path(b->net, "broker/broker.key");
    char *next_path = it_path(b->net, "broker/broker.key.next");
    char *json_path = it_path(b->net, "network/network.json");
    vg_keyset *old = NULL;
    assert_int_equal(vg_keyset_load(&old, key_path, NULL), VG_OK);
    vga_agent *lic = bh_agent_open(b, "licensing", true);
    vga_agent *police = bh_agent_open(b, "police", false);
    s_serve(lic, 300);

    /* Keys the broker was not prepared with: refused, nothing changes. */
    json_t *saved = json_load_file(json_path, 0, NULL);
    assert_non_null(saved);
    vg_keyset *stray = NULL;
    assert_int_equal(vg_keyset_generate(&stray, VG_KEY_SIGN | VG_KEY_CURVE), VG_OK);
    char *network = s_network_name(b);
    char *note = NULL;
    size_t note_len = 0;
    assert_int_equal(vg_key_transition_sign(&note, &note_len, network, old,
                                            vg_keyset_sign_pk(stray),
                                            vg_clock_wall_ms(vg_clock_system()), NULL),
                     VG_OK);
    char *stray_note = it_path(b->tmp, "stray.note");
    s_write_text(stray_note, note);
    free(note);
    S_CTL_OK(b, "network", "broker-rotate", "--dir", b->net, "--transition", stray_note,
             "--transport-key", vg_keyset_curve_pk_z85(stray), "--overlap", "1h");
    S_CTL_OK(b, "network", "sign", "--dir", b->net);
    it_run r;
    S_CTL(&r, b, "network", "push", "-c", b->conf);
    it_assert_status(&r, 1);
    assert_true(it_contains(r.err, "rotate-keys"));
    it_run_fini(&r);
    /* back as it was (signing also refreshes the broker's copy, which the
     * refused document had replaced) */
    assert_int_equal(json_dump_file(saved, json_path, JSON_INDENT(2)), 0);
    json_decref(saved);
    S_CTL_OK(b, "network", "sign", "--dir", b->net);

    /* Prepared on the broker's machine; a second preparation is refused. */
    S_CTL(&r, b, "broker", "rotate-keys", "-c", b->conf);
    it_assert_ok(&r);
    char *note_path = s_field(r.out, "note");
    char *transport = s_field(r.out, "transport_key");
    it_run_fini(&r);
    S_CTL(&r, b, "broker", "rotate-keys", "-c", b->conf);
    it_assert_status(&r, 1);
    assert_true(it_contains(r.err, "prepared already"));
    it_run_fini(&r);
    int64_t overlap_end = bh_now_ms() + 4000;
    S_CTL_OK(b, "network", "broker-rotate", "--dir", b->net, "--transition", note_path,
             "--transport-key", transport, "--overlap", "4s");
    s_sign_and_push(b); /* no restart */
    vg_keyset *now = NULL;
    assert_int_equal(vg_keyset_load(&now, key_path, NULL), VG_OK);
    assert_string_equal(vg_keyset_curve_pk_z85(now), transport);
    assert_int_equal(access(next_path, F_OK), -1);
    assert_int_equal(bh_log_count(b, "keys.rotated", NULL), 1);

    /* The witness takes the new key's checkpoint after the note. */
    s_publish_lib(police, "After the broker's keys changed");
    vg_reason why = {{0}};
    vg_err rc = s_sync_until(police, (uint64_t)bh_store_count(b, VGB_COUNT_LEAVES, NULL), &why);
    if (rc != VG_OK) {
        fail_msg("the new key's checkpoint was refused: %s: %s", vg_err_code(rc), why.text);
    }
    assert_int_equal(vga_audit_status(police, NULL), VG_OK);

    /* The old transport key connects during the overlap... */
    vga_identity *hid = bh_identity(b, "home-office");
    const vg_keyset *hk = vga_identity_keys(hid);
    rc_client *during = rc_new(b->endpoint, vg_keyset_curve_pk(old), vg_keyset_curve_pk(hk),
                               vg_keyset_curve_sk(hk));
    rc_hello(during, false);
    assert_true(rc_watch(during, 2000, false).handshakes >= 1);
    rc_destroy(&during);
    /* ...and not after it: the broker presents the new one. */
    s_serve(lic, overlap_end + 1000 - bh_now_ms());
    vga_poll(police, 100);
    int64_t end = bh_now_ms() + T_REPLY_MS;
    while (bh_log_count(b, "keys.transport_switched", NULL) == 0 && bh_now_ms() < end) {
        bh_sleep_ms(50);
    }
    assert_int_equal(bh_log_count(b, "keys.transport_switched", NULL), 1);
    rc_client *after = rc_new(b->endpoint, vg_keyset_curve_pk(old), vg_keyset_curve_pk(hk),
                              vg_keyset_curve_sk(hk));
    rc_hello(after, false);
    assert_int_equal(rc_watch(after, 1500, false).handshakes, 0);
    rc_destroy(&after);
    vga_identity_destroy(&hid);

    /* Agents that ran throughout go on: licensing receives police's alert. */
    char *id = s_publish(b, "police", "After the broker's transport key changed", "licensing");
    s_receives(lic, id);
    free(id);
    s_publish_lib(police, "police's own agent, after the switch");
    vga_agent_destroy(&police);
    vga_agent_destroy(&lic);

    /* A restart keeps the new keys, and the log verifies. */
    bh_stop(b);
    bh_start(b);
    S_CTL(&r, b, "audit", "verify", "-c", b->conf);
    it_assert_ok(&r);
    it_run_fini(&r);
    vg_keyset_destroy(&now);
    vg_keyset_destroy(&old);
    vg_keyset_destroy(&stray);
    free(network);
    free(stray_note);
    free(note_path);
    free(transport);
    free(json_path);
    free(next_path);
    free(key_path);
    bh_pass(b);
}

#define T(f) cmocka_unit_test_setup_teardown(f, s_setup, s_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(agency_rotates_all_keys_with_an_overlap),
        T(new_agency_made_on_its_own_machine_joins),
        T(compromised_sign_key_refused_from_its_compromise_time),
        T(witness_accepts_a_broker_key_handed_over_by_the_old_one),
        T(forged_broker_key_transition_is_a_fork),
        T(a_running_agent_follows_its_agencys_rotation),
        T(broker_keys_rotate_without_a_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
