/*
 * test_reload.c — issue 16 item 1 and part of 3: the network document
 * changes while the broker runs and warnings keep flowing.
 *
 * The real broker on 127.0.0.1 (broker_harness.h), the real vigilctl
 * (`network sign --dir`, `network push -c`, `broker status -c`), and clients
 * that publish throughout. A document the broker must refuse (damaged,
 * signed by another key, an older or the same version, an agency moved or
 * removed, a revoked agency brought back) is refused with a reason and
 * changes nothing; a good one is in force from the next batch: a policy
 * change applies from the first alert after it, a new agency connects and
 * is sent what is addressed to it, a revoked agency's open connection
 * closes within a second and its open alerts are surfaced (reassigned),
 * and no confirmed alert is lost or stored twice.
 */
#define _GNU_SOURCE

#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <zmq.h>

#include "broker_harness.h"
#include "itest.h"
#include "rawclient.h"
#include "vigil/agent.h"
#include "vigil/keys.h"
#include "vigil/netdoc.h"
#include "vigil/util.h"

#define T_REPLY_MS 5000
#define T_CLOSE_MS 1000 /* a revoked agency's connection is closed within this */

static int
s_teardown(void **state)
{
    bh_destroy((bh_broker **)state);
    return 0;
}

static bh_broker *
s_start(void **state)
{
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    return b;
}

/* ---- the network document, edited as an administrator does ------------------------ */

static json_t *
s_json(const bh_broker *b)
{
    char *path = it_path(b->net, "network/network.json");
    json_error_t err;
    json_t *doc = json_load_file(path, 0, &err);
    if (doc == NULL) {
        fail_msg("%s: %s", path, err.text);
    }
    free(path);
    return doc;
}

/* Writes doc as network.json and signs it (`vigilctl network sign --dir`,
 * which also refreshes the broker's and agents' copies); takes doc. */
static void
s_sign(const bh_broker *b, json_t *doc)
{
    char *path = it_path(b->net, "network/network.json");
    assert_int_equal(json_dump_file(doc, path, JSON_INDENT(2)), 0);
    json_decref(doc);
    it_run r;
    it_vigilctl(&r, "network", "sign", "--dir", b->net);
    it_assert_ok(&r);
    it_run_fini(&r);
    free(path);
}

/* `vigilctl network push -c broker.conf [file]`: its exit status; *err
 * (may be NULL) gets what it said on stderr (malloc'ed). */
static int
s_push(const bh_broker *b, const char *file, char **err)
{
    it_run r;
    if (file != NULL) {
        it_vigilctl(&r, "network", "push", "-c", b->conf, file);
    } else {
        it_vigilctl(&r, "network", "push", "-c", b->conf);
    }
    int status = r.status;
    if (err != NULL) {
        *err = vg_strdup(r.err ? r.err : "");
    }
    if (status == 0 && !it_contains(r.out, "ok network")) {
        fail_msg("push exited 0 without saying so: %s", r.out ? r.out : "");
    }
    it_run_fini(&r);
    return status;
}

/* The version `vigilctl broker status` reports. */
static uint64_t
s_running_version(const bh_broker *b)
{
    it_run r;
    it_vigilctl(&r, "broker", "status", "-c", b->conf);
    it_assert_ok(&r);
    const char *v = strstr(r.out, "version=");
    assert_non_null(v);
    uint64_t version = strtoull(v + strlen("version="), NULL, 10);
    it_run_fini(&r);
    return version;
}

static char *
s_copy_signed(const bh_broker *b, const char *name)
{
    char *from = it_path(b->net, "network/network.signed");
    char *to = it_path(b->tmp, name);
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    assert_int_equal(vg_file_read(&bytes, &len, from, VG_NETDOC_MAX_BYTES, &why), VG_OK);
    assert_int_equal(vg_file_write_atomic(to, bytes, len, 0600, &why), VG_OK);
    free(bytes);
    free(from);
    return to;
}

/* Sends raw bytes to the broker's control socket as `push`, the way a
 * client that skips vigilctl's own check would: the broker's reply. */
static char *
s_raw_push(const bh_broker *b, const uint8_t *bytes, size_t len)
{
    char *store = it_path(b->net, "broker/store");
    char endpoint[4200];
    snprintf(endpoint, sizeof endpoint, "ipc://%s/control", store);
    void *ctx = zmq_ctx_new();
    void *req = zmq_socket(ctx, ZMQ_REQ);
    int timeout = T_REPLY_MS, linger = 0;
    zmq_setsockopt(req, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(req, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_connect(req, endpoint), 0);
    assert_true(zmq_send(req, "push", 4, ZMQ_SNDMORE) == 4);
    assert_true(zmq_send(req, bytes, len, 0) == (int)len);
    char reply[4097];
    int n = zmq_recv(req, reply, sizeof reply - 1, 0);
    assert_true(n > 0);
    reply[n] = '\0';
    zmq_close(req);
    zmq_ctx_term(ctx);
    free(store);
    return vg_strdup(reply);
}

/* ---- publishing ------------------------------------------------------------------- */

/* Seals as `from` (its current copy of the document) to recipients in
 * category, publishes on c and returns the Confirm's status (and code). */
static int
s_publish_raw(const bh_broker *b, rc_client *c, const char *from, const char *const *to, size_t n,
              const char *category, uint64_t seq, int *code)
{
    vga_identity *id = bh_identity(b, from);
    rc_seal_spec spec = {
        .recipients = to, .n_recipients = n, .category = category, .sequence = seq};
    size_t len = 0;
    uint8_t *env = rc_seal(&len, NULL, id, &spec);
    Vigil__BrokerFrame *f = rc_expect_confirm(c, rc_publish(c, env, len), T_REPLY_MS);
    int status = f->confirm->status;
    if (code != NULL) {
        *code = f->confirm->code;
    }
    rc_frame_free(f);
    free(env);
    vga_identity_destroy(&id);
    return status;
}

/* ---- refusals ---------------------------------------------------------------------- */

/* `vigilctl network push` of the network folder's document: refused (exit
 * 1), saying `reason`. */
static void
s_push_refused(const bh_broker *b, const char *file, const char *reason)
{
    char *err = NULL;
    int status = s_push(b, file, &err);
    if (status != 1 || !it_contains(err, reason)) {
        fail_msg("push exited %d, expected 1 saying \"%s\": %s", status, reason, err);
    }
    free(err);
}

static void
test_refused_documents_change_nothing(void **state)
{
    bh_broker *b = s_start(state);
    char *v1 = s_copy_signed(b, "v1.signed");
    assert_int_equal(s_running_version(b), 1);
    vg_reason why = {{0}};

    /* Damaged: vigilctl names it and sends nothing; the broker, sent it
     * anyway, refuses it too. */
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(vg_file_read(&bytes, &len, v1, VG_NETDOC_MAX_BYTES, &why), VG_OK);
    bytes[len / 2] ^= 0x20;
    char *bad = it_path(b->tmp, "damaged.signed");
    assert_int_equal(vg_file_write_atomic(bad, bytes, len, 0600, &why), VG_OK);
    s_push_refused(b, bad, "nothing was sent");
    char *reply = s_raw_push(b, bytes, len);
    assert_true(strncmp(reply, "refused: ", 9) == 0);
    free(reply);
    free(bytes);
    free(bad);

    /* Signed by another key than the one the broker pins. */
    vg_keyset *other = NULL;
    assert_int_equal(vg_keyset_generate(&other, VG_KEY_SIGN), VG_OK);
    json_t *doc = s_json(b);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    uint8_t *body = NULL, *forged = NULL;
    size_t body_len = 0, forged_len = 0;
    assert_int_equal(vg_netdoc_body_from_json(&body, &body_len, text, &why), VG_OK);
    assert_int_equal(vg_netdoc_sign(&forged, &forged_len, body, body_len, 9, other, &why), VG_OK);
    reply = s_raw_push(b, forged, forged_len);
    assert_true(strncmp(reply, "refused: ", 9) == 0);
    free(reply);
    free(forged);
    free(body);
    free(text);
    vg_keyset_destroy(&other);

    /* The version in force, again. */
    s_push_refused(b, v1, "version 1");

    /* An agency moved; one removed; a revoked one brought back. */
    doc = s_json(b);
    json_t *agencies = json_object_get(doc, "agencies");
    json_t *first = json_incref(json_array_get(agencies, 0));
    json_array_remove(agencies, 0);
    json_array_append_new(agencies, first);
    s_sign(b, doc);
    s_push_refused(b, NULL, "keep every agency where it is");
    doc = s_json(b);
    agencies = json_object_get(doc, "agencies");
    first = json_incref(json_array_get(agencies, json_array_size(agencies) - 1));
    json_array_remove(agencies, json_array_size(agencies) - 1);
    json_array_insert_new(agencies, 0, first);                  /* back in place */
    json_array_remove(agencies, json_array_size(agencies) - 1); /* oversight, and who names it */
    for (size_t i = 0; i < json_array_size(agencies); i++) {
        json_t *a = json_array_get(agencies, i);
        const char *contact = json_string_value(json_object_get(a, "escalation_contact"));
        if (contact != NULL && strcmp(contact, "oversight") == 0) {
            json_object_set_new(a, "escalation_contact", json_string(""));
        }
    }
    json_t *steps = json_object_get(doc, "escalation");
    for (size_t i = json_array_size(steps); i-- > 0;) {
        const char *role = json_string_value(json_object_get(json_array_get(steps, i), "role"));
        if (role != NULL && strcmp(role, "oversight") == 0) {
            json_array_remove(steps, i);
        }
    }
    s_sign(b, doc);
    s_push_refused(b, NULL, "never removed");

    /* Nothing changed: version 1 in force, and police, sealing under it,
     * publishes as before. */
    assert_int_equal(s_running_version(b), 1);
    char *police_doc = it_path(b->net, "agents/police/network.signed");
    assert_int_equal(vg_file_read(&bytes, &len, v1, VG_NETDOC_MAX_BYTES, &why), VG_OK);
    assert_int_equal(vg_file_write_atomic(police_doc, bytes, len, 0600, &why), VG_OK);
    free(bytes);
    free(police_doc);
    char *conf = bh_agent_conf(b, "police");
    rc_client *pol = rc_new_agency(conf);
    const char *to[] = {"childrens-services"};
    assert_int_equal(s_publish_raw(b, pol, "police", to, 1, "online-harm", 1, NULL),
                     VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    assert_int_equal(bh_log_count(b, "netdoc.reload", NULL), 0);
    assert_true(bh_log_count(b, "netdoc.refused", NULL) >= 5);
    rc_destroy(&pol);
    free(conf);
    free(v1);
    bh_pass(b);
}

/* ---- under load ------------------------------------------------------------------- */

#define T_MAX_CONFIRMED 4096

/* home-office publishes to childrens-services through the agent library,
 * one after the other, until told to stop. */
typedef struct s_publisher {
    const bh_broker *b;
    atomic_bool stop;
    atomic_size_t confirmed;                       /* accepted, not duplicates */
    atomic_size_t failed;                          /* anything else */
    uint8_t ids[T_MAX_CONFIRMED][VG_ALERT_ID_LEN]; /* the confirmed alerts */
} s_publisher;

static void *
s_publisher_main(void *arg)
{
    s_publisher *p = arg;
    vga_agent *tx = bh_agent_open(p->b, "home-office", false);
    while (!atomic_load(&p->stop) && atomic_load(&p->confirmed) < T_MAX_CONFIRMED) {
        vg_alert alert;
        bh_alert_init(&alert, "Reported concern", "A report about a child.", "online-harm",
                      "childrens-services");
        vga_confirm res;
        vg_reason why = {{0}};
        vg_err rc = vga_publish(tx, &alert, T_REPLY_MS, &res, &why);
        if (rc == VG_OK && !res.duplicate) {
            size_t n = atomic_load(&p->confirmed);
            memcpy(p->ids[n], res.alert_id, VG_ALERT_ID_LEN);
            atomic_store(&p->confirmed, n + 1);
        } else if (rc != VG_OK) {
            atomic_fetch_add(&p->failed, 1);
        }
        vga_confirm_fini(&res);
        bh_alert_fini(&alert);
    }
    vga_agent_destroy(&tx);
    return NULL;
}

/* A card for a new agency, with fresh keys (kept in *keys). */
static json_t *
s_card(const char *id, vg_keyset **keys)
{
    assert_int_equal(vg_keyset_generate(keys, VG_KEY_SIGN | VG_KEY_BOX | VG_KEY_CURVE), VG_OK);
    char sign[2 * VG_SIGN_PK_LEN + 1], box[2 * VG_BOX_PK_LEN + 1];
    vg_hex_encode(sign, sizeof sign, vg_keyset_sign_pk(*keys), VG_SIGN_PK_LEN);
    vg_hex_encode(box, sizeof box, vg_keyset_box_pk(*keys), VG_BOX_PK_LEN);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "id", id, "role", id, "name", "Housing",
                     "sign_key", sign, "box_key", box, "transport_key",
                     vg_keyset_curve_pk_z85(*keys), "revoked", 0);
}

/* `vigilctl report --unshared` has a row for agency whose outcome says
 * `outcome` (while the broker runs). */
static void
s_report_row(const bh_broker *b, const char *agency, const char *outcome)
{
    it_run r;
    it_vigilctl(&r, "report", "-c", b->conf, "--unshared");
    it_assert_ok(&r);
    char want[64];
    snprintf(want, sizeof want, " %s ", agency);
    bool found = false;
    for (const char *line = r.out; line != NULL && *line != '\0' && !found;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        char *one = strndup(line, n);
        found = strstr(one, want) != NULL && strstr(one, outcome) != NULL;
        free(one);
        line = nl ? nl + 1 : NULL;
    }
    if (!found) {
        print_error("--- report ---\n%s--------------\n", r.out);
        fail_msg("no report row for %s saying '%s'", agency, outcome);
    }
    it_run_fini(&r);
}

/* Deliver frames c receives within ms. */
static size_t
s_delivers(rc_client *c, int64_t ms)
{
    size_t n = 0;
    int64_t end = bh_now_ms() + ms;
    for (Vigil__BrokerFrame *f; (f = rc_recv(c, end - bh_now_ms())) != NULL;) {
        n += f->kind_case == VIGIL__BROKER_FRAME__KIND_DELIVER;
        rc_frame_free(f);
        if (n > 0) {
            break;
        }
    }
    return n;
}

static void
test_reload_under_load(void **state)
{
    bh_broker *b = s_start(state);
    char *pol_conf = bh_agent_conf(b, "police");
    char *lic_conf = bh_agent_conf(b, "licensing");
    rc_client *pol = rc_new_agency(pol_conf);
    rc_client *lic = rc_new_agency(lic_conf);
    rc_hello(lic, true);
    s_publisher *p = calloc(1, sizeof *p);
    assert_non_null(p);
    p->b = b;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, s_publisher_main, p), 0);
    while (atomic_load(&p->confirmed) < 20) {
        bh_sleep_ms(10);
    }
    uint64_t seq = 1;
    int code = 0;

    /* 1. A policy change: "other" must now reach home-office. Accepted
     * without it before the push, refused from the first alert after. */
    const char *to_lic[] = {"licensing"};
    assert_int_equal(s_publish_raw(b, pol, "police", to_lic, 1, "other", seq++, NULL),
                     VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    json_t *doc = s_json(b);
    json_array_append_new(json_object_get(doc, "policy"),
                          json_pack("{s:s, s:[s], s:s, s:[s], s:[]}", "name", "other-to-ho",
                                    "categories", "other", "min_severity", "low", "must_reach",
                                    "home-office", "must_reach_roles"));
    s_sign(b, doc);
    assert_int_equal(s_push(b, NULL, NULL), 0);
    assert_int_equal(s_running_version(b), 2);
    assert_int_equal(s_publish_raw(b, pol, "police", to_lic, 1, "other", seq++, &code),
                     VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED);
    assert_int_equal(code, VIGIL__REJECT_CODE__REJECT_MISSING_RECIPIENTS);
    const char *to_lic_ho[] = {"licensing", "home-office"};
    assert_int_equal(s_publish_raw(b, pol, "police", to_lic_ho, 2, "other", seq++, NULL),
                     VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);

    /* 2. An agency joins: it connects at once and is sent what is
     * addressed to it. */
    vg_keyset *housing = NULL;
    doc = s_json(b);
    json_array_append_new(json_object_get(doc, "agencies"), s_card("housing", &housing));
    s_sign(b, doc);
    assert_int_equal(s_push(b, NULL, NULL), 0);
    vga_identity *pol_id = bh_identity(b, "police");
    const vg_netdoc *v3 = vga_identity_doc(pol_id);
    rc_client *hou = rc_new(b->endpoint, vg_netdoc_broker_transport_pk(v3),
                            vg_keyset_curve_pk(housing), vg_keyset_curve_sk(housing));
    rc_hello(hou, true);
    const char *to_hou[] = {"housing"};
    assert_int_equal(s_publish_raw(b, pol, "police", to_hou, 1, "online-harm", seq++, NULL),
                     VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    assert_int_equal(s_delivers(hou, T_REPLY_MS), 1);

    /* 3. licensing is revoked while it has an open required alert and a
     * live connection: the connection closes within a second, a new one is
     * refused, and the open alert is surfaced. */
    const char *taxi_to[] = {"licensing", "police", "childrens-services"};
    assert_int_equal(s_publish_raw(b, pol, "police", taxi_to, 3, "taxi", seq++, NULL),
                     VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    size_t dropped = rc_watch(lic, 0, false).dropped;
    doc = s_json(b);
    json_t *agencies = json_object_get(doc, "agencies");
    for (size_t i = 0; i < json_array_size(agencies); i++) {
        json_t *a = json_array_get(agencies, i);
        if (strcmp(json_string_value(json_object_get(a, "id")), "licensing") == 0) {
            json_object_set_new(a, "revoked", json_true());
        }
    }
    /* the policy cannot require a revoked agency */
    json_t *policy = json_object_get(doc, "policy");
    for (size_t i = 0; i < json_array_size(policy); i++) {
        json_t *must = json_object_get(json_array_get(policy, i), "must_reach");
        for (size_t k = json_array_size(must); k-- > 0;) {
            if (strcmp(json_string_value(json_array_get(must, k)), "licensing") == 0) {
                json_array_remove(must, k);
            }
        }
    }
    s_sign(b, doc);
    int64_t t0 = bh_now_ms();
    assert_int_equal(s_push(b, NULL, NULL), 0);
    rc_events ev = rc_watch(lic, T_REPLY_MS, true);
    int64_t closed_ms = bh_now_ms() - t0;
    print_message("reload: licensing's connection closed %lld ms after the push\n",
                  (long long)closed_ms);
    assert_true(ev.dropped > dropped);
    assert_true(closed_ms <= T_CLOSE_MS + 1000); /* the push itself takes part of it */
    assert_true(bh_log_wait(b, "conn.closed", "agency=licensing", 2000) >= 1);
    char *lic_key = it_path(b->net, "agents/licensing/agency.key"); /* its old keys */
    vg_keyset *lic_keys = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vg_keyset_load(&lic_keys, lic_key, &why), VG_OK);
    rc_client *lic2 = rc_new(b->endpoint, vg_netdoc_broker_transport_pk(v3),
                             vg_keyset_curve_pk(lic_keys), vg_keyset_curve_sk(lic_keys));
    vg_keyset_destroy(&lic_keys);
    free(lic_key);
    rc_hello(lic2, true);
    rc_events ev2 = rc_watch(lic2, 2000, false);
    assert_int_equal(ev2.handshakes, 0);
    assert_true(ev2.auth_failed > 0);
    rc_destroy(&lic2);
    assert_true(bh_store_count_leaves(b, VG_AUDIT_REASSIGNED, "licensing") >= 1);
    assert_true(bh_store_count_leaves(b, VG_AUDIT_NETWORK_CHANGED, NULL) >= 3);
    /* the report lists it at once, before its deadline: it will never act */
    s_report_row(b, "licensing", "required agency revoked; alert needs a new owner");

    /* Every confirmed alert is stored once; nothing else of home-office's. */
    atomic_store(&p->stop, true);
    assert_int_equal(pthread_join(th, NULL), 0);
    size_t confirmed = atomic_load(&p->confirmed);
    print_message("reload: %zu alerts confirmed across 3 reloads, %zu not\n", confirmed,
                  atomic_load(&p->failed));
    assert_true(confirmed > 20);
    assert_int_equal(atomic_load(&p->failed), 0);
    for (size_t i = 0; i < confirmed; i++) {
        assert_true(bh_store_has_alert(b, p->ids[i]));
    }
    assert_int_equal(bh_store_count(b, VGB_COUNT_ALERTS, "home-office"), (int64_t)confirmed);
    assert_int_equal(s_running_version(b), 4);

    /* the store answers to its log across the three documents: the policy
     * that applied to each alert, the new agency's stream, the reassigned
     * alert, each network_changed event sent under the document it ended */
    bh_stop(b);
    it_run r;
    it_vigilctl(&r, "audit", "verify", "-c", b->conf);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "every row of the store answers to the log"));
    it_run_fini(&r);

    vga_identity_destroy(&pol_id);
    rc_destroy(&hou);
    rc_destroy(&lic);
    rc_destroy(&pol);
    vg_keyset_destroy(&housing);
    free(p);
    free(pol_conf);
    free(lic_conf);
    bh_pass(b);
}

/* ---- SIGHUP ------------------------------------------------------------------------ */

static void
test_sighup_reloads_the_configured_document(void **state)
{
    bh_broker *b = s_start(state);
    json_t *doc = s_json(b);
    json_object_set_new(json_object_get(doc, "deadlines"), "low", json_string("48h"));
    s_sign(b, doc); /* refreshes broker.conf's copy: what SIGHUP reads */
    assert_int_equal(kill(b->pid, SIGHUP), 0);
    int64_t end = bh_now_ms() + T_REPLY_MS;
    while (bh_log_count(b, "netdoc.reload", "version=2") == 0 && bh_now_ms() < end) {
        bh_sleep_ms(20);
    }
    assert_int_equal(bh_log_count(b, "netdoc.reload", "version=2"), 1);
    assert_int_equal(s_running_version(b), 2);
    /* A SIGHUP with nothing new: refused, logged, still version 2. */
    assert_int_equal(kill(b->pid, SIGHUP), 0);
    end = bh_now_ms() + T_REPLY_MS;
    while (bh_log_count(b, "netdoc.reload_failed", NULL) == 0 && bh_now_ms() < end) {
        bh_sleep_ms(20);
    }
    assert_int_equal(bh_log_count(b, "netdoc.reload_failed", "stale_network"), 1);
    assert_int_equal(s_running_version(b), 2);
    /* A restart keeps it. */
    bh_stop(b);
    bh_start(b);
    assert_int_equal(s_running_version(b), 2);
    bh_pass(b);
}

/* A receiving agent that does not read the event stream (a plain listener)
 * still learns of a new document: the broker sends it to a connection whose
 * keepalive names an older version, once per version. */
static void
test_a_listener_learns_the_new_document(void **state)
{
    bh_broker *b = s_start(state);
    vga_agent *lic = bh_agent_open(b, "licensing", true);
    vga_poll(lic, 500);
    assert_int_equal(vg_netdoc_version(vga_agent_doc(lic)), 1);
    json_t *doc = s_json(b);
    json_object_set_new(json_object_get(doc, "deadlines"), "low", json_string("48h"));
    s_sign(b, doc);
    assert_int_equal(s_push(b, NULL, NULL), 0);
    /* within a keepalive (VG_KEEPALIVE_MS) and the time to answer it */
    int64_t end = bh_now_ms() + VG_KEEPALIVE_MS + T_REPLY_MS;
    while (vg_netdoc_version(vga_agent_doc(lic)) < 2 && bh_now_ms() < end) {
        vga_poll(lic, 200);
    }
    assert_int_equal(vg_netdoc_version(vga_agent_doc(lic)), 2);
    vga_agent_destroy(&lic);
    bh_pass(b);
}

/* ---- keys: an overlap that ends, a successor ------------------------------------------ */

/* vigil-agent -c CONF keys rotate: the card it prints, written to a file. */
static char *
s_rotate_card(const bh_broker *b, const char *agency)
{
    char *conf = bh_agent_conf(b, agency);
    it_run r;
    it_exec(&r, "vigil-agent", (const char *const[]){"-c", conf, "keys", "rotate", NULL});
    it_assert_ok(&r);
    char *path = it_path(b->tmp, "card.json");
    vg_reason why = {{0}};
    assert_int_equal(vg_file_write_atomic(path, r.out, strlen(r.out), 0600, &why), VG_OK);
    it_run_fini(&r);
    free(conf);
    return path;
}

static void
test_rotation_overlap_ends_and_successor_inherits(void **state)
{
    bh_broker *b = s_start(state);
    char *lic_conf = bh_agent_conf(b, "licensing");
    char *pol_conf = bh_agent_conf(b, "police");
    vga_identity *lic_old = bh_identity(b, "licensing");
    const vg_keyset *old_keys = vga_identity_keys(lic_old);
    uint8_t old_pk[VG_CURVE_KEY_LEN], old_sk[VG_CURVE_KEY_LEN], broker_pk[VG_CURVE_KEY_LEN];
    memcpy(old_pk, vg_keyset_curve_pk(old_keys), sizeof old_pk);
    memcpy(old_sk, vg_keyset_curve_sk(old_keys), sizeof old_sk);
    memcpy(broker_pk, vg_netdoc_broker_transport_pk(vga_identity_doc(lic_old)), sizeof broker_pk);
    vga_identity_destroy(&lic_old);
    rc_client *old = rc_new(b->endpoint, broker_pk, old_pk, old_sk);
    rc_hello(old, true);
    assert_true(rc_watch(old, 2000, false).handshakes >= 1);

    /* licensing rotates with an overlap of 3 s: its old key still connects
     * during it, its connection is closed when it ends, and then the old
     * key is refused. */
    char *card = s_rotate_card(b, "licensing");
    char until[64];
    vg_time_format(until, sizeof until, rc_wall_ms() + 3000);
    it_run r;
    it_vigilctl(&r, "network", "rotate", card, "--dir", b->net, "--until", until);
    it_assert_ok(&r);
    it_run_fini(&r);
    s_sign(b, s_json(b)); /* network rotate wrote network.json: sign it */
    assert_int_equal(s_push(b, NULL, NULL), 0);
    rc_client *during = rc_new(b->endpoint, broker_pk, old_pk, old_sk);
    rc_hello(during, false);
    assert_true(rc_watch(during, 1000, false).handshakes >= 1); /* within the overlap */
    size_t dropped = rc_watch(old, 0, false).dropped;
    rc_events ev = rc_watch(old, 6000, true);
    assert_true(ev.dropped > dropped);
    assert_true(bh_log_wait(b, "conn.closed", "reason=key_expired", 2000) >= 1);
    rc_client *after = rc_new(b->endpoint, broker_pk, old_pk, old_sk);
    rc_hello(after, false);
    rc_events ev2 = rc_watch(after, 2000, false);
    assert_int_equal(ev2.handshakes, 0);
    assert_true(ev2.auth_failed > 0);
    rc_client *fresh = rc_new_agency(lic_conf); /* its new keys */
    rc_hello(fresh, false);
    assert_true(rc_watch(fresh, 2000, false).handshakes >= 1);
    rc_destroy(&fresh);
    rc_destroy(&after);
    rc_destroy(&during);
    rc_destroy(&old);

    /* childrens-services has an open taxi alert and is revoked with
     * home-office as its successor: home-office inherits it, with a fresh
     * deadline, and everyone concerned is told. */
    rc_client *pol = rc_new_agency(pol_conf);
    const char *taxi_to[] = {"licensing", "police", "childrens-services"};
    uint8_t id[VG_ALERT_ID_LEN];
    vga_identity *pid = bh_identity(b, "police");
    rc_seal_spec spec = {
        .recipients = taxi_to, .n_recipients = 3, .category = "taxi", .sequence = 1};
    size_t len = 0;
    uint8_t *env = rc_seal(&len, id, pid, &spec);
    Vigil__BrokerFrame *f = rc_expect_confirm(pol, rc_publish(pol, env, len), T_REPLY_MS);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    rc_frame_free(f);
    free(env);
    vga_identity_destroy(&pid);
    json_t *doc = s_json(b);
    json_t *policy = json_object_get(doc, "policy"); /* no policy may require a revoked agency */
    for (size_t i = 0; i < json_array_size(policy); i++) {
        json_t *must = json_object_get(json_array_get(policy, i), "must_reach");
        for (size_t k = json_array_size(must); k-- > 0;) {
            if (strcmp(json_string_value(json_array_get(must, k)), "childrens-services") == 0) {
                json_array_remove(must, k);
            }
        }
    }
    s_sign(b, doc);
    it_vigilctl(&r, "network", "revoke", "childrens-services", "--dir", b->net, "--successor",
                "home-office");
    it_assert_ok(&r);
    it_run_fini(&r);
    s_sign(b, s_json(b));
    assert_int_equal(s_push(b, NULL, NULL), 0);
    vgb_rrow row;
    assert_true(bh_store_recipient(b, id, "home-office", &row));
    assert_true(row.required);
    assert_int_equal(row.state, VGB_PENDING);
    assert_string_equal(row.shared_by, "childrens-services");
    assert_true(row.deadline_ms > rc_wall_ms());
    assert_int_equal(bh_store_count_leaves(b, VG_AUDIT_REASSIGNED, "childrens-services"), 1);
    assert_true(bh_log_count(b, "agency.revoked", "successor=home-office") == 1);
    s_report_row(b, "childrens-services",
                 "required agency revoked; its successor inherited it: home-office");
    /* the store answers to its log: the successor's row is the reassigned
     * leaf's, across rotated keys */
    bh_stop(b);
    it_vigilctl(&r, "audit", "verify", "-c", b->conf);
    it_assert_ok(&r);
    it_run_fini(&r);
    rc_destroy(&pol);
    free(card);
    free(lic_conf);
    free(pol_conf);
    bh_pass(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_refused_documents_change_nothing, s_teardown),
        cmocka_unit_test_teardown(test_reload_under_load, s_teardown),
        cmocka_unit_test_teardown(test_sighup_reloads_the_configured_document, s_teardown),
        cmocka_unit_test_teardown(test_a_listener_learns_the_new_document, s_teardown),
        cmocka_unit_test_teardown(test_rotation_overlap_ends_and_successor_inherits, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
