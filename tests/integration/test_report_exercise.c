/*
 * test_report_exercise.c — the unshared report with exercise alerts in the
 * store (issue 15, item 5: "Exercise stays apart").
 *
 * The broker tracks exercise and test alerts exactly like actual ones; the
 * real `vigilctl report --unshared` keeps them apart. Against the real
 * broker: two actual alerts are settled (one with licensing never
 * acknowledging), the report is taken, then an exercise and a test alert
 * are published and left late in every way (acknowledged late, never
 * acknowledged), and the report is taken again. The figures and rows for
 * actual alerts must be exactly those of the first report; the exercise
 * and test rows and figures must be in their own section (text), object
 * (json) and tables with a status column (csv), each marked. A store with
 * only an exercise alert, and an empty store, must say that there is no
 * actual alert to report on instead of showing a clean record.
 *
 * Deadlines are seconds (--deadline high=3s,low=250ms: the low deadline is
 * never used by an alert; it only makes vigilctl init's escalation steps
 * short). Lateness is waited for in the store (the broker's overdue mark),
 * never by sleeping a fixed time. Every wait is bounded.
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
#include "vigil/agent.h"
#include "vigil/envelope.h"
#include "vigil/util.h"

#define T_AGENCIES "police,licensing,childrens-services,home-office"
#define T_REPLY_MS 5000    /* longest wait for a confirm or a delivery */
#define T_OVERDUE_MS 10000 /* longest wait for the broker to mark a row overdue */
#define T_LINES_MAX 64     /* lines of one csv table read */
#define T_HEADLINE "Taxi drivers linked to child sexual exploitation"

static const char *const s_init_opts[] = {"--agencies", T_AGENCIES, "--deadline",
                                          "high=3s,low=250ms", NULL};

/* The three agencies the taxi policy makes required recipients. */
static const char *const s_required[] = {"police", "licensing", "childrens-services"};
#define T_N_REQUIRED 3

static int
s_teardown(void **state)
{
    bh_destroy((bh_broker **)state);
    return 0;
}

/* ---- agents, alerts, receipts ---------------------------------------------------------- */

static void
s_agent_free(void *p)
{
    vga_agent *a = p;
    vga_agent_destroy(&a);
}

/* The sender (home-office) and the three required recipients, receiving. */
typedef struct s_net {
    bh_broker *b;                  /* the running broker */
    vga_agent *sender;             /* home-office */
    vga_agent *rcpt[T_N_REQUIRED]; /* police, licensing, childrens-services */
} s_net;

static vga_agent *
s_open(bh_broker *b, const char *agency, bool receive)
{
    char *conf = bh_agent_conf(b, agency);
    vga_options opts = {.receive = receive, .software = "vigil-itest"};
    vga_agent *a = NULL;
    vg_reason why = {{0}};
    vg_err rc = vga_agent_open(&a, conf, &opts, &why);
    free(conf);
    if (rc != VG_OK) {
        fail_msg("vga_agent_open %s: %s: %s", agency, vg_err_code(rc), why.text);
    }
    return bh_own(b, a, s_agent_free);
}

static void
s_net_start(s_net *n, void **state)
{
    n->b = bh_new_init(s_init_opts, NULL);
    *state = n->b;
    bh_start(n->b);
    n->sender = s_open(n->b, "home-office", false);
    for (size_t i = 0; i < T_N_REQUIRED; i++) {
        n->rcpt[i] = s_open(n->b, s_required[i], true);
    }
}

static vga_agent *
s_rcpt(const s_net *n, const char *agency)
{
    for (size_t i = 0; i < T_N_REQUIRED; i++) {
        if (strcmp(s_required[i], agency) == 0) {
            return n->rcpt[i];
        }
    }
    fail_msg("%s is not a required recipient here", agency);
    return NULL;
}

/* Publishes a taxi alert of this status from home-office (the policy adds
 * police, licensing and childrens-services) and has each of them receive
 * it; returns its id. */
static void
s_publish(const s_net *n, vg_status status, uint8_t id[VG_ALERT_ID_LEN])
{
    vg_alert alert;
    bh_alert_init(&alert, T_HEADLINE, "see the Home Office report", "taxi", "");
    alert.status = status;
    vga_confirm res;
    vg_reason why = {{0}};
    vg_err rc = vga_publish(n->sender, &alert, T_REPLY_MS, &res, &why);
    bh_alert_fini(&alert);
    if (rc != VG_OK) {
        fail_msg("publish: %s: %s", vg_err_code(rc), why.text);
    }
    memcpy(id, res.alert_id, VG_ALERT_ID_LEN);
    vga_confirm_fini(&res);
    for (size_t i = 0; i < T_N_REQUIRED; i++) {
        vg_alert got;
        memset(&got, 0, sizeof got);
        rc = vga_receive(n->rcpt[i], T_REPLY_MS, &got, &why);
        if (rc != VG_OK) {
            fail_msg("%s received nothing: %s: %s", s_required[i], vg_err_code(rc), why.text);
        }
        assert_memory_equal(got.id, id, VG_ALERT_ID_LEN);
        assert_int_equal(got.status, status);
        vg_alert_fini(&got);
    }
}

static void
s_ack(const s_net *n, const uint8_t id[VG_ALERT_ID_LEN], const char *agency)
{
    vga_confirm res;
    vg_reason why = {{0}};
    vg_err rc = vga_ack(s_rcpt(n, agency), id, "Duty officer", "read", T_REPLY_MS, &res, &why);
    if (rc != VG_OK) {
        fail_msg("ack by %s: %s: %s", agency, vg_err_code(rc), why.text);
    }
    vga_confirm_fini(&res);
}

/* Waits until the broker has marked agency's row of the alert overdue. */
static void
s_wait_overdue(const bh_broker *b, const uint8_t id[VG_ALERT_ID_LEN], const char *agency)
{
    int64_t end = bh_now_ms() + T_OVERDUE_MS;
    for (;;) {
        vgb_rrow row;
        if (!bh_store_recipient(b, id, agency, &row)) {
            fail_msg("%s is not a recipient in the store", agency);
        }
        if (row.overdue_ms > 0) {
            return;
        }
        if (bh_now_ms() > end) {
            fail_msg("%s was not marked overdue within %d ms", agency, T_OVERDUE_MS);
        }
        bh_sleep_ms(50);
    }
}

/* ---- the report -------------------------------------------------------------------------- */

/* vigilctl report --store ... --unshared --format FORMAT; asserts exit 0. */
static void
s_report(it_run *r, const bh_broker *b, const char *format)
{
    char *store = it_path(b->net, "broker/store");
    it_vigilctl(r, "report", "--store", store, "--unshared", "--format", format);
    free(store);
    it_assert_ok(r);
}

static json_t *
s_report_json(const bh_broker *b)
{
    it_run r;
    s_report(&r, b, "json");
    json_error_t jerr;
    json_t *doc = json_loads(r.out, 0, &jerr);
    if (doc == NULL) {
        fail_msg("report --format json is not JSON (%s): %s", jerr.text, r.out);
    }
    assert_string_equal(r.err, "");
    it_run_fini(&r);
    assert_true(json_is_array(json_object_get(doc, "unshared")));
    assert_true(json_is_array(json_object_get(doc, "agencies")));
    assert_true(json_is_object(json_object_get(doc, "exercises")));
    return doc;
}

static void
s_hex(char hex[VG_ALERT_ID_HEX_LEN + 1], const uint8_t id[VG_ALERT_ID_LEN])
{
    vg_alert_id_hex(hex, id);
}

/* The row for alert id and agency in an "unshared" array, or NULL. */
static json_t *
s_row(json_t *rows, const uint8_t id[VG_ALERT_ID_LEN], const char *agency)
{
    char hex[VG_ALERT_ID_HEX_LEN + 1];
    s_hex(hex, id);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        if (strcmp(json_string_value(json_object_get(row, "alert_id")), hex) == 0 &&
            strcmp(json_string_value(json_object_get(row, "agency")), agency) == 0) {
            return row;
        }
    }
    return NULL;
}

/* "alert_id/agency/outcome" of every row, joined: what the rows say,
 * without the times that move while the report is read again. */
static char *
s_rows_key(json_t *rows)
{
    size_t i;
    json_t *row;
    size_t cap = json_array_size(rows) * 128 + 1, used = 0;
    char *out = calloc(cap, 1);
    assert_non_null(out);
    json_array_foreach(rows, i, row)
    {
        used += (size_t)snprintf(out + used, cap - used, "%s/%s/%s;",
                                 json_string_value(json_object_get(row, "alert_id")),
                                 json_string_value(json_object_get(row, "agency")),
                                 json_string_value(json_object_get(row, "outcome")));
    }
    return out;
}

/* Checks one figures object: agency, status and counts (required,
 * acknowledged, overdue). */
static void
s_check_fig(json_t *fig, const char *agency, const char *status, int required, int acked,
            int overdue)
{
    assert_non_null(fig);
    assert_string_equal(json_string_value(json_object_get(fig, "agency")), agency);
    assert_string_equal(json_string_value(json_object_get(fig, "status")), status);
    assert_int_equal(json_integer_value(json_object_get(fig, "required")), required);
    assert_int_equal(json_integer_value(json_object_get(fig, "acknowledged")), acked);
    assert_int_equal(json_integer_value(json_object_get(fig, "overdue")), overdue);
}

/* The csv output split into its tables (separated by an empty line), each
 * a list of lines without their CRLF. */
typedef struct s_csv {
    char *text;                       /* the output, cut in place */
    const char *line[4][T_LINES_MAX]; /* per table: header, then rows */
    size_t n[4];                      /* lines per table */
    size_t n_tables;                  /* tables found */
} s_csv;

static void
s_csv_parse(s_csv *c, const char *out)
{
    memset(c, 0, sizeof *c);
    c->text = strdup(out);
    assert_non_null(c->text);
    size_t t = 0;
    bool started = false;
    for (char *l = c->text, *next; l != NULL; l = next) {
        next = strchr(l, '\n');
        if (next != NULL) {
            *next++ = '\0';
        }
        size_t len = strlen(l);
        if (len > 0 && l[len - 1] == '\r') {
            l[--len] = '\0';
        }
        if (len == 0) {
            t += started;
            started = false;
            continue;
        }
        assert_true(t < 4 && c->n[t] < T_LINES_MAX);
        c->line[t][c->n[t]++] = l;
        started = true;
        c->n_tables = t + 1;
    }
}

/* True when every row (not the header) of table t ends in ",<status>" for
 * status a or b (b may be NULL). */
static bool
s_csv_rows_are(const s_csv *c, size_t t, const char *a, const char *b)
{
    for (size_t i = 1; i < c->n[t]; i++) {
        const char *last = strrchr(c->line[t][i], ',');
        if (last == NULL || (strcmp(last + 1, a) != 0 && (b == NULL || strcmp(last + 1, b) != 0))) {
            return false;
        }
    }
    return true;
}

/* ---- the tests ------------------------------------------------------------------------------ */

static void
test_report_keeps_exercises_apart(void **state)
{
    s_net n;
    s_net_start(&n, state);
    bh_broker *b = n.b;

    /* Two actual alerts: A1 with licensing never acknowledging, A2 on time. */
    uint8_t a1[VG_ALERT_ID_LEN], a2[VG_ALERT_ID_LEN];
    s_publish(&n, VG_STATUS_ACTUAL, a1);
    s_publish(&n, VG_STATUS_ACTUAL, a2);
    s_ack(&n, a1, "police");
    s_ack(&n, a1, "childrens-services");
    for (size_t i = 0; i < T_N_REQUIRED; i++) {
        s_ack(&n, a2, s_required[i]);
    }
    s_wait_overdue(b, a1, "licensing");
    json_t *before = s_report_json(b);
    assert_int_equal(json_integer_value(json_object_get(before, "actual_alerts")), 2);

    /* An exercise (police acknowledges late, licensing never) and a test
     * (childrens-services never). */
    uint8_t ex[VG_ALERT_ID_LEN], te[VG_ALERT_ID_LEN];
    s_publish(&n, VG_STATUS_EXERCISE, ex);
    s_publish(&n, VG_STATUS_TEST, te);
    s_ack(&n, ex, "childrens-services");
    s_ack(&n, te, "police");
    s_ack(&n, te, "licensing");
    s_wait_overdue(b, ex, "police");
    s_wait_overdue(b, ex, "licensing");
    s_wait_overdue(b, te, "childrens-services");
    s_ack(&n, ex, "police");
    assert_true(bh_store_count(b, VGB_COUNT_ALERTS, NULL) == 4); /* tracked like the others */

    json_t *after = s_report_json(b);
    /* The actual figures and rows are exactly those before the exercises. */
    assert_int_equal(json_integer_value(json_object_get(after, "actual_alerts")), 2);
    assert_true(json_is_null(json_object_get(after, "notice")));
    assert_true(
        json_equal(json_object_get(before, "agencies"), json_object_get(after, "agencies")));
    char *k0 = s_rows_key(json_object_get(before, "unshared"));
    char *k1 = s_rows_key(json_object_get(after, "unshared"));
    assert_string_equal(k0, k1);
    free(k0);
    free(k1);
    json_t *actual_rows = json_object_get(after, "unshared");
    assert_int_equal(json_array_size(actual_rows), 1);
    json_t *row = s_row(actual_rows, a1, "licensing");
    assert_non_null(row);
    assert_string_equal(json_string_value(json_object_get(row, "status")), "actual");
    assert_string_equal(json_string_value(json_object_get(row, "outcome")), "never acknowledged");
    json_t *figs = json_object_get(after, "agencies");
    assert_int_equal(json_array_size(figs), 3);
    s_check_fig(json_array_get(figs, 0), "childrens-services", "actual", 2, 2, 0);
    s_check_fig(json_array_get(figs, 1), "licensing", "actual", 2, 1, 1);
    s_check_fig(json_array_get(figs, 2), "police", "actual", 2, 2, 0);

    /* The exercise and the test, apart and marked, with their own figures. */
    json_t *exs = json_object_get(after, "exercises");
    assert_int_equal(json_integer_value(json_object_get(exs, "alerts")), 2);
    json_t *by = json_object_get(exs, "by_status");
    assert_int_equal(json_integer_value(json_object_get(by, "exercise")), 1);
    assert_int_equal(json_integer_value(json_object_get(by, "test")), 1);
    assert_int_equal(json_object_size(by), 2);
    json_t *ex_rows = json_object_get(exs, "unshared");
    assert_int_equal(json_array_size(ex_rows), 3);
    row = s_row(ex_rows, ex, "police");
    assert_non_null(row);
    assert_string_equal(json_string_value(json_object_get(row, "status")), "exercise");
    assert_string_equal(json_string_value(json_object_get(row, "outcome")), "acknowledged late");
    row = s_row(ex_rows, ex, "licensing");
    assert_non_null(row);
    assert_string_equal(json_string_value(json_object_get(row, "outcome")), "never acknowledged");
    row = s_row(ex_rows, te, "childrens-services");
    assert_non_null(row);
    assert_string_equal(json_string_value(json_object_get(row, "status")), "test");
    assert_null(s_row(actual_rows, ex, "police"));
    assert_null(s_row(actual_rows, te, "childrens-services"));
    figs = json_object_get(exs, "agencies"); /* by status, then agency */
    assert_int_equal(json_array_size(figs), 6);
    s_check_fig(json_array_get(figs, 0), "childrens-services", "exercise", 1, 1, 0);
    s_check_fig(json_array_get(figs, 1), "licensing", "exercise", 1, 0, 1);
    s_check_fig(json_array_get(figs, 2), "police", "exercise", 1, 1, 1);
    s_check_fig(json_array_get(figs, 3), "childrens-services", "test", 1, 0, 1);
    s_check_fig(json_array_get(figs, 4), "licensing", "test", 1, 1, 0);
    s_check_fig(json_array_get(figs, 5), "police", "test", 1, 1, 0);
    json_decref(before);
    json_decref(after);

    char a1x[VG_ALERT_ID_HEX_LEN + 1], exx[VG_ALERT_ID_HEX_LEN + 1], tex[VG_ALERT_ID_HEX_LEN + 1];
    s_hex(a1x, a1);
    s_hex(exx, ex);
    s_hex(tex, te);

    /* csv: four tables, a status column last; actual tables first. */
    it_run r;
    s_report(&r, b, "csv");
    assert_string_equal(r.err, "");
    s_csv c;
    s_csv_parse(&c, r.out);
    it_run_fini(&r);
    assert_int_equal(c.n_tables, 4);
    assert_string_equal(c.line[0][0],
                        "alert_id,sender,accepted,severity,categories,agency,deadline,"
                        "late_ms,state,outcome,acknowledged_at,officer,declined,"
                        "reason,escalation_level,shared_by,deadline_why,status");
    assert_string_equal(c.line[1][0],
                        "agency,required,acknowledged,median_ack_ms,worst_ack_ms,overdue,status");
    assert_string_equal(c.line[2][0], c.line[0][0]);
    assert_string_equal(c.line[3][0], c.line[1][0]);
    assert_int_equal(c.n[0], 1 + 1);
    assert_int_equal(c.n[1], 1 + 3);
    assert_int_equal(c.n[2], 1 + 3);
    assert_int_equal(c.n[3], 1 + 6);
    assert_true(s_csv_rows_are(&c, 0, "actual", NULL) && s_csv_rows_are(&c, 1, "actual", NULL));
    assert_true(s_csv_rows_are(&c, 2, "exercise", "test"));
    assert_true(s_csv_rows_are(&c, 3, "exercise", "test"));
    assert_true(it_contains(c.line[0][1], a1x));
    assert_true(it_contains(c.line[1][2], "licensing,2,1,"));
    for (size_t i = 1; i < c.n[2]; i++) {
        assert_true(it_contains(c.line[2][i], exx) || it_contains(c.line[2][i], tex));
    }
    free(c.text);

    /* text: the actual part first, then "Exercises and tests" marked. */
    s_report(&r, b, "text");
    const char *sect = strstr(r.out, "\nExercises and tests: NOT ACTUAL ALERTS");
    assert_non_null(sect);
    assert_true(it_contains(r.out, "(actual alerts only: 1 row from 2 alerts accepted since"));
    assert_true(strstr(r.out, exx) > sect && strstr(r.out, tex) > sect); /* only below */
    assert_true(strstr(r.out, a1x) < sect);
    assert_true(it_contains(sect, "(3 rows from 2 alerts: 1 exercise, 1 test)"));
    assert_true(it_contains(sect, "\nEXERCISE  "));
    assert_true(it_contains(sect, "\nTEST      "));
    assert_true(it_contains(sect, "Per agency and status, exercises and tests"));
    assert_false(it_contains(r.out, "NO ACTUAL ALERTS"));
    it_run_fini(&r);
    bh_stop(b);
    bh_pass(b);
}

static void
test_report_of_only_exercises_says_so(void **state)
{
    s_net n;
    s_net_start(&n, state);
    bh_broker *b = n.b;

    /* An empty store: no actual alert, no exercise; not a clean record. */
    it_run r;
    s_report(&r, b, "text");
    assert_true(it_contains(r.out, "NO ACTUAL ALERTS in this period"));
    assert_true(it_contains(r.out, "not a clean record"));
    assert_true(it_contains(r.out, "Exercises and tests: NOT ACTUAL ALERTS, counted in nothing "
                                   "above\n(none in this period)\n"));
    it_run_fini(&r);

    uint8_t ex[VG_ALERT_ID_LEN];
    s_publish(&n, VG_STATUS_EXERCISE, ex);
    s_ack(&n, ex, "police");
    s_wait_overdue(b, ex, "licensing");
    s_wait_overdue(b, ex, "childrens-services");
    char exx[VG_ALERT_ID_HEX_LEN + 1];
    s_hex(exx, ex);

    json_t *doc = s_report_json(b);
    assert_int_equal(json_integer_value(json_object_get(doc, "actual_alerts")), 0);
    assert_true(it_contains(json_string_value(json_object_get(doc, "notice")),
                            "no actual alerts in this period"));
    assert_int_equal(json_array_size(json_object_get(doc, "unshared")), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "agencies")), 0);
    json_t *exs = json_object_get(doc, "exercises");
    assert_int_equal(json_integer_value(json_object_get(exs, "alerts")), 1);
    assert_int_equal(json_array_size(json_object_get(exs, "unshared")), 2);
    assert_non_null(s_row(json_object_get(exs, "unshared"), ex, "licensing"));
    assert_non_null(s_row(json_object_get(exs, "unshared"), ex, "childrens-services"));
    json_decref(doc);

    s_report(&r, b, "text");
    const char *sect = strstr(r.out, "\nExercises and tests: NOT ACTUAL ALERTS");
    assert_non_null(sect);
    const char *none = strstr(r.out, "NO ACTUAL ALERTS in this period");
    assert_true(none != NULL && none < sect);
    assert_true(it_contains(r.out, "not a clean record.\n1 exercise/test alert is reported apart "
                                   "below.\n"));
    assert_false(it_contains(r.out, "Per agency (required recipient")); /* no empty tables */
    assert_true(strstr(r.out, exx) > sect);
    assert_true(it_contains(sect, "(2 rows from 1 alert: 1 exercise)"));
    it_run_fini(&r);

    s_report(&r, b, "csv"); /* csv has no room for it: stderr says it, exit 0 */
    assert_true(it_contains(r.err, "vigilctl report: no actual alerts in this period"));
    s_csv c;
    s_csv_parse(&c, r.out);
    it_run_fini(&r);
    assert_int_equal(c.n_tables, 4);
    assert_int_equal(c.n[0], 1);
    assert_int_equal(c.n[1], 1);
    assert_int_equal(c.n[2], 1 + 2);
    assert_int_equal(c.n[3], 1 + 3);
    assert_true(s_csv_rows_are(&c, 2, "exercise", NULL) && s_csv_rows_are(&c, 3, "exercise", NULL));
    free(c.text);
    bh_stop(b);
    bh_pass(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_report_keeps_exercises_apart, s_teardown),
        cmocka_unit_test_teardown(test_report_of_only_exercises_says_so, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
