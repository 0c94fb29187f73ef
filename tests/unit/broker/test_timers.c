/*
 * test_timers.c — issue 8 on a fake clock (fake_broker.h): the broker holds
 * only `timers` deadline timers in memory and loads the rest from the store
 * as they come due. With timers = 8 (the least broker.conf accepts) and 60
 * alerts, every deadline and escalation step must still be taken exactly
 * once, at its due millisecond, across restarts; acknowledged rows never.
 *
 * The first test is the one test_tracking_timers.c ran against the real
 * binary for 25 s, now exact: the network has deadlines critical 4 s, high
 * 6 s, medium 8 s (escalation: redeliver +0, contact +1 s, oversight +4 s)
 * and one more rule: category `other` must reach nine agencies.
 * home-office sends one alert every 3 ms, so that an alert's rows share a
 * deadline and no two alerts do: critical alerts are `other` (every other
 * one unacknowledged: a run of nine rows of one deadline, more than the
 * broker holds, which it must load whole), high and medium ones `taxi` (runs
 * of three, which a slice of nine must not split). Recipients acknowledge
 * about a third of their rows before the deadlines.
 *
 * 30 alerts go out while the broker holds every timer, so its heap grows
 * past 16 and is cut back to the earliest deadlines: the critical rows cut
 * must be loaded again and fire before the broker stops, after the critical
 * deadlines and their contact step. It stays down across the high
 * deadlines, restarts (loading at most one run of nine, not ~100 rows) and
 * 30 more go out. When every step is done, a last restart must add none.
 *
 * The other tests step the wall clock while rows wait in the store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_broker.h"
#include "vigil/receipt.h"

#define T_N_BATCH 30 /* alerts per batch; two batches */
#define T_N_ALERTS (2 * T_N_BATCH)
#define T_SPACING_MS 3     /* between two publishes: one deadline per alert */
#define T_STOP_AT_MS 5900  /* after the first publish: critical overdue and contacted */
#define T_START_AT_MS 7600 /* ... and back after the high ones and their contact step */
#define T_N_STEPS 3        /* escalation steps */
#define T_QUIET_MS 1000    /* watched after the last restart */
#define EV_OVERDUE VIGIL__EVENT_KIND__EVENT_OVERDUE
#define EV_ESCALATED VIGIL__EVENT_KIND__EVENT_ESCALATED

/* Required recipients: of `other` alerts (the rule added here) and of
 * `taxi` alerts (the network's policy). */
static const char *const s_nine[] = {"police",    "licensing",       "childrens-services",
                                     "education", "health",          "housing",
                                     "probation", "youth-offending", "fire"};
#define T_N_NINE (sizeof s_nine / sizeof s_nine[0])
static const char *const s_taxi[] = {"licensing", "police", "childrens-services"};
static const char *const s_more[] = {"health",          "housing", "probation",
                                     "youth-offending", "fire",    NULL};
static const int64_t s_after_ms[T_N_STEPS] = {0, 1000, 4000}; /* the steps, after the deadline */

typedef struct t_alert {
    const fb_alert *a;     /* as published */
    int64_t deadline;      /* wall ms */
    const char *const *to; /* required recipients */
    size_t n_to;           /* count */
} t_alert;

typedef struct t_run {
    fb *f;
    fb_conn *ho;                /* home-office: sends, console */
    fb_conn *rx[T_N_NINE];      /* the recipients (no receiving connection) */
    t_alert alerts[T_N_ALERTS]; /* sent so far */
    size_t n_alerts;            /* count */
    int64_t down_from, down_to; /* wall ms: the broker was stopped in between */
} t_run;

static int
s_teardown(void **state)
{
    t_run *t = *state;
    if (t != NULL) {
        fb_destroy(&t->f);
        free(t);
    }
    return 0;
}

/* Second-scale rules and the `other` rule. */
static void
s_edit(json_t *doc, void *ctx)
{
    (void)ctx;
    json_object_set_new(doc, "deadlines",
                        json_pack("{s:s,s:s,s:s,s:s}", "critical", "4s", "high", "6s", "medium",
                                  "8s", "low", "1h"));
    json_object_set_new(doc, "escalation",
                        json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s,s:s}]", "after", "0s", "target",
                                  "redeliver", "after", "1s", "target", "contact", "after", "4s",
                                  "target", "role", "role", "oversight"));
    json_t *reach = json_array();
    for (size_t i = 0; i < T_N_NINE; i++) {
        json_array_append_new(reach, json_string(s_nine[i]));
    }
    json_t *rule = json_pack("{s:s,s:[s],s:s,s:o,s:[]}", "name", "nine", "categories", "other",
                             "min_severity", "low", "must_reach", reach, "must_reach_roles");
    assert_non_null(rule);
    json_array_append_new(json_object_get(doc, "policy"), rule);
}

/* Whether recipient j of alert i acknowledges it: about a third do, none
 * of every other `other` alert (its nine rows stay one run). */
static bool
s_acks(size_t i, size_t j)
{
    return i % 6 != 3 && (i + j) % 3 == 0;
}

static fb_conn *
s_rx(t_run *t, const char *id)
{
    for (size_t j = 0; j < T_N_NINE; j++) {
        if (strcmp(fb_agency(t->rx[j]), id) == 0) {
            return t->rx[j];
        }
    }
    fail_msg("%s is not a recipient of these tests", id);
    return NULL;
}

/* Publishes alerts [from, to), T_SPACING_MS apart, then the acknowledgements. */
static void
s_batch(t_run *t, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        bool nine = i % 3 == 0;
        fb_spec spec = {.category = nine ? "other" : "taxi",
                        .severity = nine         ? VG_SEV_CRITICAL
                                    : i % 3 == 1 ? VG_SEV_HIGH
                                                 : VG_SEV_MEDIUM};
        t_alert *x = &t->alerts[i];
        x->a = fb_publish_ok(t->ho, &spec);
        x->deadline = fb_wall_ms(t->f) + (nine ? 4000 : i % 3 == 1 ? 6000 : 8000);
        x->to = nine ? s_nine : s_taxi;
        x->n_to = nine ? T_N_NINE : 3;
        t->n_alerts = i + 1;
        fb_advance(t->f, T_SPACING_MS);
    }
    for (size_t i = from; i < to; i++) {
        for (size_t j = 0; j < t->alerts[i].n_to; j++) {
            if (s_acks(i, j)) {
                fb_conn *c = s_rx(t, t->alerts[i].to[j]);
                const fb_alert *a = t->alerts[i].a;
                assert_int_equal(fb_receipt(c, VG_RECEIPT_DELIVERED, a, NULL)->status,
                                 VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
                assert_int_equal(fb_receipt(c, VG_RECEIPT_ACKNOWLEDGED, a, "Duty officer")->status,
                                 VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
            }
        }
    }
}

/* Rows that must reach the last level. */
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

/* The step of this level (1: overdue) about (alert, agency) in the
 * sender's stream: how many, and when the first was. */
static size_t
s_level(const t_run *t, const fb_alert *a, const char *agency, uint32_t level, int64_t *at)
{
    size_t n = 0;
    for (size_t i = 0; i < fb_n_frames(t->ho); i++) {
        const Vigil__BrokerFrame *bf = fb_frame(t->ho, i);
        if (bf->kind_case != VIGIL__BROKER_FRAME__KIND_EVENT) {
            continue;
        }
        const Vigil__Event *e = bf->event;
        if (e->kind == (level == 1 ? EV_OVERDUE : EV_ESCALATED) && e->escalation_level == level &&
            strcmp(e->agency, agency) == 0 && memcmp(e->alert_id.data, a->id, 16) == 0) {
            *at = n++ == 0 ? (int64_t)e->time_ms : *at;
        }
    }
    return n;
}

/* A row's steps: none when acknowledged; else one per level, at the due
 * millisecond, or at the restart for one due while the broker was down. */
static void
s_check_row(const t_run *t, size_t i, size_t j, const Vigil__AlertSummary *st)
{
    const t_alert *x = &t->alerts[i];
    const char *agency = x->to[j];
    const Vigil__RecipientState *r = fb_rcpt(st, agency);
    assert_int_equal(r->deadline_ms, x->deadline);
    int64_t at = 0;
    if (s_acks(i, j)) {
        assert_int_equal(r->state, VIGIL__ALERT_STATE__STATE_ACKNOWLEDGED);
        assert_int_equal(r->escalation_level, 0);
        for (uint32_t level = 1; level <= 1 + T_N_STEPS; level++) {
            assert_int_equal(s_level(t, x->a, agency, level, &at), 0);
        }
        return;
    }
    assert_int_equal(r->escalation_level, 1 + T_N_STEPS);
    for (uint32_t level = 1; level <= 1 + T_N_STEPS; level++) {
        int64_t due = x->deadline + (level == 1 ? 0 : s_after_ms[level - 2]);
        int64_t want = due > t->down_from && due < t->down_to ? t->down_to : due;
        size_t n = s_level(t, x->a, agency, level, &at);
        if (n != 1 || at != want) {
            fail_msg("alert %zu, %s, level %u: %zu events, at %+lld ms from when it was due", i,
                     agency, level, n, (long long)(at - want));
        }
    }
}

/* The heap size the broker logged when it started last (track.start). */
static long
s_start_timers(fb *f)
{
    const char *line = fb_log_last(f, "track.start");
    assert_non_null(line);
    const char *v = strstr(line, "timers=");
    assert_non_null(v);
    return strtol(v + strlen("timers="), NULL, 10);
}

static void
test_few_timers_every_step_once_on_time_across_restarts(void **state)
{
    t_run *t = calloc(1, sizeof *t);
    assert_non_null(t);
    *state = t;
    const char *conf[] = {"timers = 8", NULL};
    fb_options opts = {.conf = conf, .agencies = s_more, .edit = s_edit};
    t->f = fb_new(&opts);
    t->ho = fb_connect(t->f, "home-office", FB_CONSOLE);
    for (size_t j = 0; j < T_N_NINE; j++) {
        t->rx[j] = fb_connect(t->f, s_nine[j], 0);
    }
    t->down_from = t->down_to = INT64_MIN / 2;

    /* Batch 1, acknowledgements, and a stop across the high deadlines. */
    int64_t t0 = fb_wall_ms(t->f);
    s_batch(t, 0, T_N_BATCH);
    fb_advance_to_wall(t->f, t0 + T_STOP_AT_MS);
    t->down_from = fb_wall_ms(t->f);
    fb_stop(t->f);
    fb_advance_to_wall(t->f, t0 + T_START_AT_MS);
    t->down_to = fb_wall_ms(t->f);
    fb_start(t->f);
    fb_catch_up(t->ho); /* the steps taken before it was back */
    long loaded = s_start_timers(t->f);
    print_message("timers: %zu rows open; the restarted broker loaded %ld timers\n", s_n_open(t),
                  loaded);
    assert_true(loaded >= 1 && loaded <= (long)T_N_NINE); /* K, or one run of nine */

    /* Batch 2 on the restarted broker, then every step until the last. */
    s_batch(t, T_N_BATCH, T_N_ALERTS);
    int64_t last_due = t->alerts[T_N_ALERTS - 1].deadline + s_after_ms[T_N_STEPS - 1];
    fb_advance_to_wall(t->f, last_due);
    size_t n_open = s_n_open(t);
    assert_int_equal(fb_log_count(t->f, "alert.overdue", NULL), n_open);

    /* A last restart takes no step again. */
    fb_restart(t->f);
    fb_advance(t->f, T_QUIET_MS);
    fb_catch_up(t->ho);
    for (size_t i = 0; i < t->n_alerts; i++) {
        const Vigil__AlertSummary *st = fb_status(t->ho, t->alerts[i].a);
        for (size_t j = 0; j < t->alerts[i].n_to; j++) {
            s_check_row(t, i, j, st);
        }
    }
    assert_int_equal(fb_log_count(t->f, "alert.overdue", NULL), n_open);
    size_t trims = fb_log_count(t->f, "timer.trim", NULL);
    size_t refills = fb_log_count(t->f, "timer.refill", NULL);
    assert_true(trims >= 1); /* the bounded path is the one tested */
    assert_true(refills >= 2);
    print_message("timers: %zu rows each took %d steps once; %zu trims, %zu refills\n", n_open,
                  1 + T_N_STEPS, trims, refills);
}

/* ---- the wall clock steps while rows wait in the store ----------------------------- */

#define T_JUMP_ALERTS 10
#define T_JUMP_SPACING_MS (5 * FB_MINUTE_MS)

/* When the first OVERDUE event about alert a came (wall ms), or 0. */
static int64_t
s_overdue_at(const fb_conn *c, const fb_alert *a)
{
    for (size_t i = 0; i < fb_n_frames(c); i++) {
        const Vigil__BrokerFrame *bf = fb_frame(c, i);
        if (bf->kind_case == VIGIL__BROKER_FRAME__KIND_EVENT && bf->event->kind == EV_OVERDUE &&
            memcmp(bf->event->alert_id.data, a->id, VG_ALERT_ID_LEN) == 0) {
            return (int64_t)bf->event->time_ms;
        }
    }
    return 0;
}

/* home-office sends ten high taxi alerts five minutes apart (30 rows: with
 * timers = 8 most wait in the store), the wall clock steps a day forward,
 * and each alert must still be overdue one hour (monotonic) after it was
 * sent: not a millisecond before. */
static void
s_jump_with(void **state, const char *timers)
{
    t_run *t = calloc(1, sizeof *t);
    assert_non_null(t);
    *state = t;
    const char *conf[] = {timers, NULL};
    fb_options opts = {.conf = conf};
    t->f = fb_new(&opts);
    t->ho = fb_connect(t->f, "home-office", FB_CONSOLE);
    const fb_alert *a[T_JUMP_ALERTS];
    for (size_t i = 0; i < T_JUMP_ALERTS; i++) {
        a[i] = fb_publish_ok(t->ho, NULL);
        fb_advance(t->f, i + 1 < T_JUMP_ALERTS ? T_JUMP_SPACING_MS : 1000);
    }
    fb_jump_wall(t->f, 24 * FB_HOUR_MS);
    int64_t offset = fb_wall_ms(t->f) - fb_mono_ms(t->f); /* wall = mono + offset from now on */
    size_t n_early = 0;
    int64_t worst = 0;
    for (size_t i = 0; i < T_JUMP_ALERTS; i++) {
        int64_t due = a[i]->published_mono_ms + FB_HOUR_MS;
        if (due - 1 > fb_mono_ms(t->f)) {
            fb_advance(t->f, due - 1 - fb_mono_ms(t->f));
        }
        int64_t at = s_overdue_at(t->ho, a[i]);
        if (at != 0) { /* came early: by how much */
            n_early++;
            worst = due + offset - at > worst ? due + offset - at : worst;
            print_message("alert %zu: overdue %lld ms before its deadline (%s)\n", i,
                          (long long)(due + offset - at), timers);
            continue;
        }
        fb_advance(t->f, 1);
        assert_int_equal(fb_count_events(t->ho, EV_OVERDUE, NULL, a[i]), 3);
    }
    if (n_early > 0) {
        fail_msg("%zu of %d alerts overdue early after a wall step of +1 day, up to %lld ms (%s)",
                 n_early, T_JUMP_ALERTS, (long long)worst, timers);
    }
}

static void
test_wall_step_with_every_timer_in_memory_moves_no_deadline(void **state)
{
    s_jump_with(state, "timers = 4096");
}

static void
test_wall_step_with_rows_in_the_store_moves_no_deadline(void **state)
{
    /* With a small `timers` setting (8), rows still in the store when the
     * wall clock jumps forward come due on time: the broker moves the stored
     * deadlines with the step. (Issue 13 item 8: before the fix they were
     * converted with the new clock when loaded, so the jump fired them
     * early: the first two alerts' rows were in the heap and on time; the
     * other eight were overdue 10 to 45 min before their deadlines.) */
    s_jump_with(state, "timers = 8");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_few_timers_every_step_once_on_time_across_restarts,
                                  s_teardown),
        cmocka_unit_test_teardown(test_wall_step_with_every_timer_in_memory_moves_no_deadline,
                                  s_teardown),
        cmocka_unit_test_teardown(test_wall_step_with_rows_in_the_store_moves_no_deadline,
                                  s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
