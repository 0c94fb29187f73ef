/*
 * test_tracking_timers.c — issue 8: the broker holds only `timers` deadline
 * timers in memory and loads the rest from the store as they come due. With
 * timers = 8 (the least broker.conf accepts) and 60 alerts, every deadline
 * and escalation step must still be taken exactly once, on time, across a
 * restart; acknowledged rows never.
 *
 * The network is made with --deadline critical=4s,high=6s,medium=8s,low=500ms
 * (low only shortens vigilctl init's escalation steps: +0 redeliver, +1 s
 * contact, +4 s oversight) and one more policy rule: category `other` must
 * reach nine agencies. home-office sends one alert at a time, a few ms
 * apart, so that an alert's rows share a deadline and no two alerts do:
 * critical alerts are `other` (every other one unacknowledged: a run of nine
 * rows of one deadline, more than the broker holds, which it must load
 * whole), high and medium ones `taxi` (runs of up to three, which a slice of
 * nine must not split). Recipients acknowledge about a third of their rows
 * before the deadlines.
 *
 * 30 alerts go out while the broker holds every timer, so its heap grows
 * past 16 and is cut back to the earliest deadlines: the critical rows cut
 * must be loaded again and fire before the broker stops, after the critical
 * deadlines and their contact step. It stays down across the high deadlines,
 * restarts (loading at most one run of nine, not ~100 rows) and 30 more go
 * out. When every step is done, a last restart must add none.
 *
 * Checked for every required (alert, agency) row, in the store and the
 * sender's event stream: acknowledged rows have no OVERDUE or ESCALATED event
 * and esc_level 0; the others have exactly one event per level (OVERDUE,
 * then one per escalation step), none before it was due and none later than
 * T_SLACK_MS after it was due (or after the restart, for steps due while the
 * broker was down). The broker's debug log shows that it trimmed and
 * refilled its heap, so the bounded path is the one tested.
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

#include "broker_harness.h"
#include "itest.h"
#include "rawclient.h"
#include "vigil/envelope.h"
#include "vigil/netdoc.h"
#include "vigil/receipt.h"
#include "vigil/util.h"

#define T_SENDER "home-office"
#define T_AGENCIES                                                                                 \
    "police,licensing,childrens-services,home-office,education,health,housing,probation,"          \
    "youth-offending,fire"
#define T_DEADLINES "critical=4s,high=6s,medium=8s,low=500ms"
#define T_N_BATCH 30 /* alerts per batch; two batches */
#define T_N_ALERTS (2 * T_N_BATCH)
#define T_STOP_AT_MS 5900    /* after the first publish: critical overdue and contacted */
#define T_START_AT_MS 7600   /* ... and back after the high ones and their contact step */
#define T_STOP_LEEWAY_MS 300 /* a step due this soon before the stop may wait for the restart */
#define T_REPLY_MS 5000      /* longest wait for a confirm */
#define T_SLACK_MS 1500      /* a step is recorded at most this long after it is due */
#define T_CLOCK_MS 20        /* wall- and monotonic-clock ms rounding, and slew */
#define T_QUIET_MS 1000      /* watched after the last restart */
#define T_EV_OVERDUE 8       /* events.kind (the wire's EventKind) */
#define T_EV_ESCALATED 9
#define T_STEPS_MAX 8

static const char *const s_init_opts[] = {"--agencies", T_AGENCIES, "--deadline", T_DEADLINES,
                                          NULL};

/* Required recipients: of `other` alerts (the rule added here) and of
 * `taxi` alerts (vigilctl init's policy). */
static const char *const s_nine[] = {"police",    "licensing",       "childrens-services",
                                     "education", "health",          "housing",
                                     "probation", "youth-offending", "fire"};
#define T_N_NINE (sizeof s_nine / sizeof s_nine[0])
static const char *const s_taxi[] = {"licensing", "police", "childrens-services"};

typedef struct t_alert {
    uint8_t id[VG_ALERT_ID_LEN]; /* alert id */
    uint8_t hash[VG_HASH_LEN];   /* envelope hash, for receipts */
    const char *const *to;       /* required recipients */
    size_t n_to;                 /* count */
    vg_severity sev;             /* severity */
} t_alert;

/* A recipient's connection and keys. */
typedef struct t_agency {
    const char *id;            /* agency */
    rc_client *c;              /* raw client */
    vga_identity *ident;       /* its keys */
    uint64_t acks[T_N_ALERTS]; /* request ids of its ACKNOWLEDGED receipts to wait for */
    size_t n_acks;             /* count */
} t_agency;

typedef struct t_run {
    bh_broker *b;                          /* the broker */
    vga_identity *sender;                  /* home-office */
    rc_client *tx;                         /* its raw client */
    t_alert alerts[T_N_ALERTS];            /* sent so far */
    size_t n_alerts;                       /* count */
    t_agency rx[T_N_NINE];                 /* recipients */
    vg_escalation_step steps[T_STEPS_MAX]; /* the network's escalation */
    size_t n_steps;                        /* count */
    int64_t down_from, down_to;            /* wall ms: the broker was stopped in between */
} t_run;

static int
s_teardown(void **state)
{
    bh_destroy((bh_broker **)state);
    return 0;
}

/* Whether recipient j of alert i acknowledges it: about a third do, none
 * of every other `other` alert (its nine rows stay one run). */
static bool
s_acks(size_t i, size_t j)
{
    return i % 6 != 3 && (i + j) % 3 == 0;
}

/* Adds the policy rule `other` -> s_nine and signs the document again. */
static void
s_add_rule(const bh_broker *b)
{
    char *p = it_path(b->net, "network/network.json");
    json_error_t jerr;
    json_t *root = json_load_file(p, 0, &jerr);
    assert_non_null(root);
    json_t *reach = json_array();
    for (size_t i = 0; i < T_N_NINE; i++) {
        json_array_append_new(reach, json_string(s_nine[i]));
    }
    json_t *rule = json_pack("{s:s,s:[s],s:s,s:o,s:[]}", "name", "nine", "categories", "other",
                             "min_severity", "low", "must_reach", reach, "must_reach_roles");
    assert_non_null(rule);
    assert_int_equal(json_array_append_new(json_object_get(root, "policy"), rule), 0);
    assert_int_equal(json_dump_file(root, p, JSON_INDENT(2)), 0);
    json_decref(root);
    free(p);
    it_run run;
    it_vigilctl(&run, "network", "sign", "--dir", b->net);
    it_assert_ok(&run);
    it_run_fini(&run);
}

static void
s_identity_free(void *p)
{
    vga_identity *id = p;
    vga_identity_destroy(&id);
}

static void
s_client_free(void *p)
{
    rc_client *c = p;
    rc_destroy(&c);
}

/* The agency's keys and a raw client for it (reconnecting across restarts),
 * both freed by bh_destroy. */
static void
s_connect(bh_broker *b, const char *agency, vga_identity **ident, rc_client **c)
{
    *ident = bh_own(b, bh_identity(b, agency), s_identity_free);
    char *conf = bh_agent_conf(b, agency);
    *c = bh_own(b, rc_new_agency(conf), s_client_free);
    free(conf);
}

static t_agency *
s_rx(t_run *t, const char *id)
{
    for (size_t j = 0; j < T_N_NINE; j++) {
        if (strcmp(t->rx[j].id, id) == 0) {
            return &t->rx[j];
        }
    }
    fail_msg("%s is not a recipient of these tests", id);
    return NULL;
}

/* Publishes alert i (sequence i + 1) and waits for its confirm. */
static void
s_publish(t_run *t, size_t i)
{
    t_alert *a = &t->alerts[i];
    bool nine = i % 3 == 0;
    a->sev = nine ? VG_SEV_CRITICAL : i % 3 == 1 ? VG_SEV_HIGH : VG_SEV_MEDIUM;
    a->to = nine ? s_nine : s_taxi;
    a->n_to = nine ? T_N_NINE : 3;
    rc_seal_spec spec = {.recipients = a->to,
                         .n_recipients = a->n_to,
                         .category = nine ? "other" : "taxi",
                         .severity = a->sev,
                         .sequence = i + 1};
    size_t len = 0;
    uint8_t *env = rc_seal(&len, a->id, t->sender, &spec);
    vg_envelope *ve = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vg_envelope_verify(&ve, env, len, vga_identity_doc(t->sender), &why), VG_OK);
    memcpy(a->hash, vg_envelope_hash(ve), VG_HASH_LEN);
    vg_envelope_destroy(&ve);
    Vigil__BrokerFrame *f = rc_expect_confirm(t->tx, rc_publish(t->tx, env, len), T_REPLY_MS);
    if (f->confirm->status != VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED) {
        fail_msg("alert %zu not accepted: %s", i, f->confirm->reason);
    }
    rc_frame_free(f);
    free(env);
    t->n_alerts = i + 1;
}

/* Sends a signed receipt of kind for alert a as agency x; returns its
 * request id. */
static uint64_t
s_receipt(const t_run *t, t_agency *x, const t_alert *a, vg_receipt_kind kind)
{
    vg_receipt_item item;
    memcpy(item.alert_id, a->id, VG_ALERT_ID_LEN);
    memcpy(item.envelope_hash, a->hash, VG_HASH_LEN);
    vg_receipt_spec spec = {.agency = x->id,
                            .kind = kind,
                            .created_ms = rc_wall_ms(),
                            .items = &item,
                            .n_items = 1,
                            .officer = kind == VG_RECEIPT_ACKNOWLEDGED ? "Duty officer" : NULL,
                            .network_version = vg_netdoc_version(vga_identity_doc(t->sender))};
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    assert_int_equal(vg_receipt_sign(&bytes, &len, &spec, vga_identity_keys(x->ident), &why),
                     VG_OK);
    Vigil__SubmitReceipt r = VIGIL__SUBMIT_RECEIPT__INIT;
    r.signed_receipt.data = bytes;
    r.signed_receipt.len = len;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = rc_next_request(x->c);
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_RECEIPT;
    f.receipt = &r;
    rc_send_frame(x->c, &f);
    free(bytes);
    return f.request_id;
}

/* Every recipient that acknowledges an alert of [from, to) says DELIVERED
 * and ACKNOWLEDGED (all sent first, then every ACKNOWLEDGED confirmed). */
static void
s_ack_batch(t_run *t, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        const t_alert *a = &t->alerts[i];
        for (size_t j = 0; j < a->n_to; j++) {
            if (s_acks(i, j)) {
                t_agency *x = s_rx(t, a->to[j]);
                (void)s_receipt(t, x, a, VG_RECEIPT_DELIVERED);
                x->acks[x->n_acks++] = s_receipt(t, x, a, VG_RECEIPT_ACKNOWLEDGED);
            }
        }
    }
    for (size_t j = 0; j < T_N_NINE; j++) {
        t_agency *x = &t->rx[j];
        for (size_t k = 0; k < x->n_acks; k++) {
            Vigil__BrokerFrame *f = rc_expect_confirm(x->c, x->acks[k], T_REPLY_MS);
            if (f->confirm->status != VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED) {
                fail_msg("acknowledgement by %s not accepted: %s", x->id, f->confirm->reason);
            }
            rc_frame_free(f);
        }
        x->n_acks = 0;
    }
}

/* The first column of a query on the row (alert a, agency) in the store:
 * ?1 is the alert id, ?2 the agency. */
static int64_t
s_row_int(const t_run *t, const char *sql, const t_alert *a, const char *agency)
{
    return bh_store_int(t->b, sql, a->id, VG_ALERT_ID_LEN, agency);
}

static int64_t
s_rcol(const t_run *t, const char *col, const t_alert *a, const char *agency)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT %s FROM recipients r JOIN alerts a ON a.seq = r.alert_seq"
             " WHERE a.alert_id = ?1 AND r.agency = ?2",
             col);
    return s_row_int(t, sql, a, agency);
}

/* Steps recorded about (a, agency) in the sender's stream: all of them
 * (level 0), or those of one level; `what` is count(*) or min(time_ms). */
static int64_t
s_steps(const t_run *t, const char *what, const t_alert *a, const char *agency, size_t level)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT %s FROM events e JOIN alerts a ON a.seq = e.alert_seq"
             " WHERE a.alert_id = ?1 AND e.about = ?2 AND e.agency = '" T_SENDER "'"
             " AND e.kind IN (%d, %d) AND (%zu = 0 OR (e.level = %zu AND e.kind = %d))",
             what, T_EV_OVERDUE, T_EV_ESCALATED, level, level,
             level == 1 ? T_EV_OVERDUE : T_EV_ESCALATED);
    return s_row_int(t, sql, a, agency);
}

/* Rows that must still reach the last escalation level, and those that did. */
static size_t
s_n_open(const t_run *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n_alerts; i++) {
        for (size_t j = 0; j < t->alerts[i].n_to; j++) {
            n += !s_acks(i, j);
        }
    }
    return n;
}

static int64_t
s_n_done(const t_run *t)
{
    char sql[128];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM recipients WHERE required = 1 AND esc_level = %zu",
             1 + t->n_steps);
    return bh_store_int(t->b, sql, NULL, 0, NULL);
}

/* When level (1: overdue, 1 + i: step i) of a row with this deadline is due. */
static int64_t
s_due(const t_run *t, int64_t deadline, size_t level)
{
    return level == 1 ? deadline : deadline + (int64_t)t->steps[level - 2].after_ms;
}

static void
s_check_row(const t_run *t, size_t i, size_t j)
{
    const t_alert *a = &t->alerts[i];
    const char *agency = a->to[j];
    int64_t deadline = s_rcol(t, "deadline_ms", a, agency);
    assert_true(deadline > 0);
    if (s_acks(i, j)) {
        assert_int_equal(s_rcol(t, "state", a, agency), 3);
        assert_int_equal(s_rcol(t, "esc_level", a, agency), 0);
        assert_int_equal(s_steps(t, "count(*)", a, agency, 0), 0);
        return;
    }
    assert_int_equal(s_rcol(t, "esc_level", a, agency), 1 + (int64_t)t->n_steps);
    assert_int_equal(s_steps(t, "count(*)", a, agency, 0), 1 + (int64_t)t->n_steps);
    for (size_t level = 1; level <= 1 + t->n_steps; level++) {
        int64_t n = s_steps(t, "count(*)", a, agency, level);
        int64_t at = s_steps(t, "min(time_ms)", a, agency, level);
        int64_t due = s_due(t, deadline, level);
        int64_t latest = due + T_SLACK_MS;
        if (due > t->down_from - T_STOP_LEEWAY_MS && due < t->down_to) {
            latest = t->down_to + T_SLACK_MS; /* due while the broker was down */
        }
        if (n != 1 || at < due - T_CLOCK_MS || at > latest) {
            fail_msg("alert %zu, %s, level %zu: %lld events, at %+lld ms from due (latest %+lld)",
                     i, agency, level, (long long)n, (long long)(at - due),
                     (long long)(latest - due));
        }
    }
}

/* The heap size the broker logged when it started last (track.start). */
static long
s_start_timers(const bh_broker *b)
{
    uint8_t *text = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    assert_int_equal(vg_file_read(&text, &len, b->log_path, 64 << 20, &why), VG_OK);
    long n = -1;
    for (const char *p = (const char *)text; (p = strstr(p, "track.start")) != NULL; p++) {
        const char *v = strstr(p, "timers=");
        if (v != NULL) {
            n = strtol(v + strlen("timers="), NULL, 10);
        }
    }
    free(text);
    return n;
}

static void
s_sleep_until_wall(int64_t wall_ms)
{
    int64_t left = wall_ms - rc_wall_ms();
    if (left > 0) {
        bh_sleep_ms(left);
    }
}

static void
test_few_timers_every_step_once_on_time_across_restarts(void **state)
{
    const char *conf[] = {"timers=8", "log_level=debug", NULL};
    bh_broker *b = bh_new_init(s_init_opts, conf);
    *state = b;
    s_add_rule(b);
    t_run *t = bh_own(b, calloc(1, sizeof *t), free);
    t->b = b;
    bh_start(b);
    s_connect(b, T_SENDER, &t->sender, &t->tx);
    for (size_t j = 0; j < T_N_NINE; j++) {
        t->rx[j].id = s_nine[j];
        s_connect(b, s_nine[j], &t->rx[j].ident, &t->rx[j].c);
    }
    const vg_netdoc *doc = vga_identity_doc(t->sender);
    t->n_steps = vg_netdoc_n_escalation(doc);
    assert_true(t->n_steps >= 2 && t->n_steps <= T_STEPS_MAX);
    for (size_t s = 0; s < t->n_steps; s++) {
        vg_netdoc_escalation_at(doc, s, &t->steps[s]);
    }
    t->down_from = t->down_to = INT64_MIN / 2;

    /* Batch 1, acknowledgements, and a stop across the high deadlines. */
    int64_t t0 = rc_wall_ms();
    for (size_t i = 0; i < T_N_BATCH; i++) {
        s_publish(t, i);
        bh_sleep_ms(3); /* one deadline per alert */
    }
    s_ack_batch(t, 0, T_N_BATCH);
    assert_true(rc_wall_ms() < t0 + 4000); /* before the first deadline */
    s_sleep_until_wall(t0 + T_STOP_AT_MS);
    t->down_from = rc_wall_ms();
    bh_stop(b);
    s_sleep_until_wall(t0 + T_START_AT_MS);
    bh_start(b);
    t->down_to = rc_wall_ms();
    long loaded = s_start_timers(b);
    printf("timers: %zu rows open; the restarted broker loaded %ld timers\n", s_n_open(t), loaded);
    assert_true(loaded >= 1 && loaded <= (long)T_N_NINE); /* K, or one run of nine */

    /* Batch 2 on the restarted broker, then every step until the last. */
    int64_t t1 = rc_wall_ms();
    for (size_t i = T_N_BATCH; i < T_N_ALERTS; i++) {
        s_publish(t, i);
        bh_sleep_ms(3);
    }
    s_ack_batch(t, T_N_BATCH, T_N_ALERTS);
    assert_true(rc_wall_ms() < t1 + 4000);
    int64_t last_due = bh_store_int(b, "SELECT max(deadline_ms) FROM recipients", NULL, 0, NULL) +
                       (int64_t)t->steps[t->n_steps - 1].after_ms;
    int64_t end = last_due + T_SLACK_MS + 2000;
    int64_t n_open = (int64_t)s_n_open(t);
    while (s_n_done(t) < n_open && rc_wall_ms() < end) {
        bh_sleep_ms(100);
    }
    assert_int_equal(s_n_done(t), n_open);

    /* A last restart takes no step again. */
    bh_stop(b);
    bh_start(b);
    bh_sleep_ms(T_QUIET_MS);
    bh_stop(b);
    for (size_t i = 0; i < t->n_alerts; i++) {
        for (size_t j = 0; j < t->alerts[i].n_to; j++) {
            s_check_row(t, i, j);
        }
    }
    assert_int_equal(bh_log_count(b, "alert.overdue", NULL), (size_t)n_open);
    assert_true(bh_log_count(b, "timer.trim", NULL) >= 1);
    assert_true(bh_log_count(b, "timer.refill", NULL) >= 2);
    printf("timers: %lld rows each took %zu steps once; %zu trims, %zu refills\n",
           (long long)n_open, 1 + t->n_steps, bh_log_count(b, "timer.trim", NULL),
           bh_log_count(b, "timer.refill", NULL));
    bh_pass(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_few_timers_every_step_once_on_time_across_restarts,
                                  s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
