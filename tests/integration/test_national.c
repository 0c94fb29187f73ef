/*
 * test_national.c — a national network through the real programs (issue 20):
 * `vigilctl init` makes a network of 2,000 agencies and refuses one of more
 * than VG_AGENCIES_MAX with a reason; an alert to 500 agencies is stored
 * with all of them as recipients and delivered to those connected, whose
 * streams hear of their own delivery and not of every other recipient's,
 * and `vigilctl audit verify` passes on the store that holds it;
 * an alert to more than VG_RECIPIENTS_MAX is refused by the agent library
 * and by the broker, each saying the limit.
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

#include "broker_harness.h"
#include "itest.h"
#include "rawclient.h"
#include "vigil/agent.h"
#include "vigil/keys.h"
#include "vigil/netdoc.h"

#define T_REPLY_MS 10000   /* longest wait for a confirm or a delivery */
#define T_AGENCIES 600     /* the broker test's network */
#define T_WIDE 500         /* recipients of the wide alert */
#define T_CONNECTED 20     /* of them, connected */
#define T_BIG_NETWORK 2000 /* vigilctl init's network */

static int
s_teardown(void **state)
{
    bh_destroy((bh_broker **)state);
    return 0;
}

/* Writes ids "PREFIX0001".. (n of them), one a line, to path. */
static void
s_write_ids(const char *path, const char *prefix, size_t n)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# agencies of a test network\n");
    for (size_t i = 1; i <= n; i++) {
        fprintf(f, "%s%04zu\n", prefix, i);
    }
    assert_int_equal(fclose(f), 0);
}

/* ---- vigilctl init ----------------------------------------------------------------- */

static void
test_init_makes_a_network_of_2000_agencies(void **state)
{
    (void)state;
    char *tmp = it_tmpdir();
    char *ids = it_path(tmp, "ids.txt");
    char *net = it_path(tmp, "net");
    s_write_ids(ids, "agency-", T_BIG_NETWORK - 5); /* + the four default ones and oversight */
    const char *args[] = {"init",
                          net,
                          "--agencies",
                          "police,licensing,childrens-services,home-office",
                          "--agencies-file",
                          ids,
                          "--oversight",
                          "oversight",
                          NULL};
    it_run r;
    it_exec_in(&r, VG_BIN_DIR, "vigilctl", args);
    it_assert_ok(&r);
    assert_non_null(strstr(r.out, "agency-1995/agent.conf"));
    it_run_fini(&r);

    /* The document verifies against the admin key and lists every agency once. */
    char *admin_path = it_path(net, "admin/admin.key");
    char *doc_path = it_path(net, "network/network.signed");
    vg_keyset *admin = NULL;
    vg_netdoc *doc = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vg_keyset_load(&admin, admin_path, &why), VG_OK);
    assert_int_equal(vg_netdoc_load(&doc, doc_path, vg_keyset_sign_pk(admin), 0, &why), VG_OK);
    assert_int_equal(vg_netdoc_n_agencies(doc), T_BIG_NETWORK);
    assert_true(vg_netdoc_index(doc, "agency-1995") >= 0);
    assert_true(vg_netdoc_index(doc, "childrens-services") >= 0);
    assert_true(vg_netdoc_is_oversight(doc, "oversight"));

    /* Every folder's document is the network's, linked rather than copied. */
    struct stat net_st, agent_st, broker_st;
    char *agent_doc = it_path(net, "agents/agency-0777/network.signed");
    char *broker_doc = it_path(net, "broker/network.signed");
    assert_int_equal(stat(doc_path, &net_st), 0);
    assert_int_equal(stat(agent_doc, &agent_st), 0);
    assert_int_equal(stat(broker_doc, &broker_st), 0);
    assert_true(agent_st.st_ino == net_st.st_ino && broker_st.st_ino == net_st.st_ino);
    assert_true(net_st.st_nlink >= T_BIG_NETWORK + 2);

    vg_netdoc_destroy(&doc);
    vg_keyset_destroy(&admin);
    free(agent_doc);
    free(broker_doc);
    free(admin_path);
    free(doc_path);
    free(ids);
    free(net);
    it_rmrf(tmp);
    free(tmp);
}

static void
test_init_refuses_more_than_the_maximum_saying_it(void **state)
{
    (void)state;
    char *tmp = it_tmpdir();
    char *ids = it_path(tmp, "ids.txt");
    char *net = it_path(tmp, "net");
    s_write_ids(ids, "a", VG_AGENCIES_MAX); /* and oversight: one too many */
    const char *args[] = {"init", net, "--agencies-file", ids, "--oversight", "oversight", NULL};
    it_run r;
    it_exec_in(&r, VG_BIN_DIR, "vigilctl", args);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "4097 agencies"));
    assert_non_null(strstr(r.err, "at most 4096"));
    it_run_fini(&r);
    struct stat st;
    assert_int_not_equal(stat(net, &st), 0); /* nothing was written */
    free(ids);
    free(net);
    it_rmrf(tmp);
    free(tmp);
}

/* ---- an alert to 500 agencies ---------------------------------------------------------- */

/* A network of T_AGENCIES: the harness's five and r-0001... */
static bh_broker *
s_national_broker(void)
{
    char *ids_dir = it_tmpdir();
    char *ids = it_path(ids_dir, "ids.txt");
    s_write_ids(ids, "r-", T_AGENCIES - 5);
    const char *init[] = {"--agencies-file", ids, NULL};
    const char *conf[] = {"redeliver=60s", NULL};
    bh_broker *b = bh_new_init(init, conf);
    it_rmrf(ids_dir);
    free(ids_dir);
    free(ids);
    return b;
}

static char *
s_wide_list(size_t n)
{
    char *csv = calloc(n, 8);
    assert_non_null(csv);
    for (size_t i = 1; i <= n; i++) {
        sprintf(csv + strlen(csv), "%sr-%04zu", i > 1 ? "," : "", i);
    }
    return csv;
}

typedef struct s_states {
    size_t delivered, pending;
} s_states;

static void
s_count_state(void *ctx, const vgb_rrow *r)
{
    s_states *s = ctx;
    s->delivered += r->state == VGB_DELIVERED;
    s->pending += r->state == VGB_PENDING;
}

/* Events of one stream about alert seq, by kind and whom. */
typedef struct s_events {
    uint64_t seq;            /* the alert */
    const char *self;        /* the stream's agency */
    size_t accepted;         /* ACCEPTED */
    size_t delivered_self;   /* DELIVERED about the stream's own agency */
    size_t delivered_others; /* DELIVERED about another agency */
} s_events;

static void
s_count_event(void *ctx, const vgb_event_row *ev)
{
    s_events *e = ctx;
    if (ev->alert_seq != e->seq) {
        return;
    }
    e->accepted += ev->kind == VIGIL__EVENT_KIND__EVENT_ACCEPTED;
    if (ev->kind == VIGIL__EVENT_KIND__EVENT_DELIVERED) {
        bool self = strcmp(ev->about, e->self) == 0;
        e->delivered_self += self;
        e->delivered_others += !self;
    }
}

static s_events
s_events_of(const bh_broker *b, const char *agency, uint64_t seq)
{
    s_events e = {.seq = seq, .self = agency};
    bh_store_each_event(b, agency, s_count_event, &e);
    return e;
}

static void
test_alert_to_500_reaches_the_connected_and_counts_the_rest(void **state)
{
    bh_broker *b = s_national_broker();
    *state = b;
    bh_start(b);
    vga_agent *rx[T_CONNECTED];
    for (size_t i = 0; i < T_CONNECTED; i++) {
        char id[16];
        snprintf(id, sizeof id, "r-%04zu", i + 1);
        rx[i] = bh_agent_open(b, id, true);
    }
    vga_agent *tx = bh_agent_open(b, "police", false);
    char *to = s_wide_list(T_WIDE);
    vg_alert alert;
    bh_alert_init(&alert, "Missing child: national alert", "Girl, 12, last seen at 16:40.",
                  "missing-child", to);
    vga_confirm res;
    vg_reason why = {{0}};
    vg_err rc = vga_publish(tx, &alert, T_REPLY_MS, &res, &why);
    if (rc != VG_OK) {
        fail_msg("publish to %d: %s: %s", T_WIDE, vg_err_code(rc), why.text);
    }
    uint8_t id[VG_ALERT_ID_LEN];
    memcpy(id, res.alert_id, VG_ALERT_ID_LEN);
    vga_confirm_fini(&res);
    assert_int_equal(bh_store_each_recipient(b, id, NULL, NULL), T_WIDE);

    for (size_t i = 0; i < T_CONNECTED; i++) {
        vg_alert got;
        memset(&got, 0, sizeof got);
        rc = vga_receive(rx[i], T_REPLY_MS, &got, &why);
        if (rc != VG_OK) {
            fail_msg("%s received nothing: %s: %s", vga_agent_agency(rx[i]), vg_err_code(rc),
                     why.text);
        }
        assert_memory_equal(got.id, id, VG_ALERT_ID_LEN);
        assert_string_equal(got.headline, alert.headline);
        assert_int_equal(got.recipients.n, T_WIDE);
        vg_alert_fini(&got);
    }
    /* Their DELIVERED receipts are recorded; the other 480 wait. */
    s_states st = {0};
    for (int64_t end = bh_now_ms() + T_REPLY_MS; bh_now_ms() < end; bh_sleep_ms(50)) {
        for (size_t i = 0; i < T_CONNECTED; i++) {
            vga_poll(rx[i], 0);
        }
        st = (s_states){0};
        bh_store_each_recipient(b, id, s_count_state, &st);
        if (st.delivered == T_CONNECTED) {
            break;
        }
    }
    assert_int_equal(st.delivered, T_CONNECTED);
    assert_int_equal(st.pending, T_WIDE - T_CONNECTED);

    /* The sender hears of every delivery; a recipient of its own, not of
     * the other 19; every recipient, connected or not, of the alert. */
    vgb_alert_meta meta;
    assert_true(bh_store_alert(b, id, &meta));
    s_events police = s_events_of(b, "police", meta.seq);
    assert_int_equal(police.accepted, 1);
    assert_int_equal(police.delivered_others, T_CONNECTED);
    s_events first = s_events_of(b, "r-0001", meta.seq);
    assert_int_equal(first.accepted, 1);
    assert_int_equal(first.delivered_self, 1);
    assert_int_equal(first.delivered_others, 0);
    s_events far = s_events_of(b, "r-0499", meta.seq);
    assert_int_equal(far.accepted, 1);
    assert_int_equal(far.delivered_self + far.delivered_others, 0);
    s_events oversight = s_events_of(b, "oversight", meta.seq);
    assert_int_equal(oversight.delivered_others, T_CONNECTED);

    free(to);
    bh_alert_fini(&alert);
    vga_agent_destroy(&tx);
    for (size_t i = 0; i < T_CONNECTED; i++) {
        vga_agent_destroy(&rx[i]);
    }
    /* The audit log holds the alert with its 500 recipients and the 20
     * receipts, and an auditor's check of every row against it passes. */
    bh_stop(b);
    it_run r;
    it_vigilctl(&r, "audit", "verify", "-c", b->conf);
    if (r.status != 0) {
        fail_msg("audit verify: %s%s", r.out, r.err);
    }
    it_run_fini(&r);
    bh_pass(b);
}

/* ---- beyond the maximum ------------------------------------------------------------------ */

/* Replaces the recipients with VG_RECIPIENTS_MAX + 1 of them (the first's
 * sealed key under other names): valid protobuf, signed by the sender. */
static void
s_edit_too_many(Vigil__EnvelopeBody *body, void *ctx)
{
    (void)ctx;
    size_t n = VG_RECIPIENTS_MAX + 1;
    Vigil__SealedKey **list = calloc(n, sizeof *list);
    assert_non_null(list);
    for (size_t i = 0; i < n; i++) {
        list[i] = malloc(sizeof *list[i]);
        assert_non_null(list[i]);
        vigil__sealed_key__init(list[i]);
        list[i]->agency = malloc(16);
        snprintf(list[i]->agency, 16, "r-%04zu", i % (T_AGENCIES - 5) + 1);
        list[i]->sealed_key.len = body->recipients[0]->sealed_key.len;
        list[i]->sealed_key.data = malloc(list[i]->sealed_key.len);
        memcpy(list[i]->sealed_key.data, body->recipients[0]->sealed_key.data,
               list[i]->sealed_key.len);
    }
    for (size_t i = 0; i < body->n_recipients; i++) {
        vigil__sealed_key__free_unpacked(body->recipients[i], NULL);
    }
    free(body->recipients);
    body->recipients = list;
    body->n_recipients = n;
}

static void
test_alert_to_more_than_the_maximum_is_refused_saying_it(void **state)
{
    bh_broker *b = s_national_broker();
    *state = b;
    bh_start(b);

    /* The agent library refuses to seal it. */
    vga_agent *tx = bh_agent_open(b, "police", false);
    vg_alert alert;
    char *to = calloc(VG_RECIPIENTS_MAX + 1, 8);
    assert_non_null(to);
    for (size_t i = 0; i <= VG_RECIPIENTS_MAX; i++) {
        sprintf(to + strlen(to), "%sx%zu", i > 0 ? "," : "", i);
    }
    bh_alert_init(&alert, "Too many", "One more than the limit.", "other", to);
    vga_confirm res;
    vg_reason why = {{0}};
    assert_int_equal(vga_publish(tx, &alert, T_REPLY_MS, &res, &why), VG_ERR_INVALID);
    assert_non_null(strstr(why.text, "1 to 4096 recipients"));
    bh_alert_fini(&alert);
    free(to);
    vga_agent_destroy(&tx);

    /* A client that signs one anyway is refused by the broker, with the limit. */
    vga_identity *police = bh_identity(b, "police");
    char *conf = bh_agent_conf(b, "police");
    rc_client *raw = rc_new_agency(conf);
    const char *one[] = {"r-0001"};
    rc_seal_spec spec = {.recipients = one, .n_recipients = 1, .category = "other", .sequence = 1};
    uint8_t id[VG_ALERT_ID_LEN];
    size_t len = 0, big_len = 0;
    uint8_t *env = rc_seal(&len, id, police, &spec);
    uint8_t *big = rc_envelope_resign(&big_len, env, len, s_edit_too_many, NULL,
                                      vga_identity_keys(police), NULL);
    Vigil__BrokerFrame *f = rc_expect_confirm(raw, rc_publish(raw, big, big_len), T_REPLY_MS);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED);
    assert_int_equal(f->confirm->code, VIGIL__REJECT_CODE__REJECT_MALFORMED);
    if (strstr(f->confirm->reason, "1 to 4096 recipients") == NULL) {
        fail_msg("reason does not say the limit: %s", f->confirm->reason);
    }
    rc_frame_free(f);
    assert_false(bh_store_has_alert(b, id));
    free(big);
    free(env);
    rc_destroy(&raw);
    free(conf);
    vga_identity_destroy(&police);
    bh_stop(b);
    bh_pass(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_makes_a_network_of_2000_agencies),
        cmocka_unit_test(test_init_refuses_more_than_the_maximum_saying_it),
        cmocka_unit_test_teardown(test_alert_to_500_reaches_the_connected_and_counts_the_rest,
                                  s_teardown),
        cmocka_unit_test_teardown(test_alert_to_more_than_the_maximum_is_refused_saying_it,
                                  s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
