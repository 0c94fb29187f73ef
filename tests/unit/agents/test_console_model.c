/*
 * test_console_model.c — the console's pure parts: the gap detector, the
 * ack-matrix cells (distinguishable without colour), the order of the
 * outstanding list, filters, events applied to a snapshot, silence, linked
 * alerts, the detail text and the --plain lines of a scripted scenario, and
 * the marks of alerts that are not actual ones on every screen.
 *
 * Snapshots are built by hand as vga_status_list values, the way the agent
 * library hands them over; no broker, no terminal, fixed times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "console_detail.h"
#include "console_model.h"
#include "console_plain.h"

#define T_NOW INT64_C(1796000000000) /* a fixed "now" */
#define T_MIN INT64_C(60000)

/* ---- building snapshots ------------------------------------------------------------ */

typedef struct t_rcpt {
    const char *agency; /* recipient */
    vga_state state;    /* its state */
    int64_t deadline;   /* relative to T_NOW; 0 = none */
    bool overdue;       /* broker's flag */
    uint32_t level;     /* escalation level */
} t_rcpt;

static void
s_id(uint8_t id[VG_ALERT_ID_LEN], uint8_t n)
{
    memset(id, 0, VG_ALERT_ID_LEN);
    id[0] = n;
}

/* Fills st: alert n from sender, with recipients (all required). */
static void
s_status(vga_alert_status *st, uint8_t n, const char *sender, vg_severity sev, const t_rcpt *r,
         size_t n_r)
{
    memset(st, 0, sizeof *st);
    s_id(st->id, n);
    snprintf(st->sender, sizeof st->sender, "%s", sender);
    st->created_ms = T_NOW - 10 * T_MIN + n;
    st->accepted_ms = T_NOW - 10 * T_MIN + n;
    st->severity = sev;
    assert_int_equal(vg_strlist_add(&st->categories, "taxi"), VG_OK);
    st->recipients = calloc(n_r ? n_r : 1, sizeof *st->recipients);
    assert_non_null(st->recipients);
    st->n_recipients = n_r;
    for (size_t i = 0; i < n_r; i++) {
        vga_recipient_status *x = &st->recipients[i];
        snprintf(x->agency, sizeof x->agency, "%s", r[i].agency);
        x->state = r[i].state;
        x->required = true;
        x->overdue = r[i].overdue;
        x->deadline_ms = r[i].deadline ? T_NOW + r[i].deadline : 0;
        x->escalation_level = r[i].level;
        x->officer = strdup(r[i].state == VGA_ACKNOWLEDGED ? "PC Jones" : "");
        x->note = strdup("");
        x->reason = strdup("");
    }
}

static void
s_list(vga_status_list *l, size_t n, uint64_t last_seq)
{
    memset(l, 0, sizeof *l);
    l->items = calloc(n ? n : 1, sizeof *l->items);
    assert_non_null(l->items);
    l->n = n;
    l->last_event_seq = last_seq;
}

static vga_event
s_event(uint64_t seq, vga_event_kind kind, uint8_t alert, const char *agency, const char *detail)
{
    vga_event e;
    memset(&e, 0, sizeof e);
    e.seq = seq;
    e.time_ms = T_NOW;
    e.kind = kind;
    e.has_alert = alert != 0;
    s_id(e.alert_id, alert);
    snprintf(e.sender, sizeof e.sender, "police");
    e.severity = VG_SEV_HIGH;
    snprintf(e.agency, sizeof e.agency, "%s", agency);
    snprintf(e.detail, sizeof e.detail, "%s", detail);
    e.level = kind == VGA_EV_OVERDUE ? 1 : 0;
    return e;
}

/* A model for `me` holding one alert #1 from police to licensing (delivered)
 * and childrens-services (pending), as of event 10. */
static void
s_model_one(vgc_model *m, const char *me)
{
    vgc_model_init(m, me, false, T_NOW);
    vga_status_list l;
    s_list(&l, 1, 10);
    t_rcpt r[] = {{"licensing", VGA_DELIVERED, 5 * T_MIN, false, 0},
                  {"childrens-services", VGA_PENDING, 5 * T_MIN, false, 0}};
    s_status(&l.items[0], 1, "police", VG_SEV_HIGH, r, 2);
    assert_int_equal(vgc_model_apply_snapshot(m, &l, T_NOW), VG_OK);
    vga_status_list_fini(&l);
    vgc_model_set_sync(m, VGC_SYNC_LIVE, "", T_NOW);
}

/* Gives alert n opened content with a headline and a subject. */
static void
s_content(vgc_model *m, uint8_t n, const char *headline, const char *subject)
{
    uint8_t id[VG_ALERT_ID_LEN];
    s_id(id, n);
    vg_alert c;
    memset(&c, 0, sizeof c);
    c.headline = strdup(headline);
    c.description = strdup("Line one.\nLine two with more words.");
    if (subject != NULL) {
        c.subjects = calloc(1, sizeof *c.subjects);
        assert_non_null(c.subjects);
        c.subjects[0].scheme = strdup("taxi-licence");
        c.subjects[0].value = strdup(subject);
        c.n_subjects = 1;
    }
    assert_int_equal(vgc_model_set_content(m, id, &c), VG_OK);
}

/* ---- the gap detector ------------------------------------------------------------- */

static void
test_seq_check(void **state)
{
    (void)state;
    assert_int_equal(vgc_seq_check(0, 1), VGC_SEQ_NEXT);
    assert_int_equal(vgc_seq_check(41, 42), VGC_SEQ_NEXT);
    assert_int_equal(vgc_seq_check(42, 42), VGC_SEQ_DUP);
    assert_int_equal(vgc_seq_check(42, 7), VGC_SEQ_DUP);
    assert_int_equal(vgc_seq_check(42, 44), VGC_SEQ_GAP);
    assert_int_equal(vgc_seq_check(0, 2), VGC_SEQ_GAP);
}

static void
test_gap_goes_stale_and_is_not_consumed(void **state)
{
    (void)state;
    vgc_model m;
    s_model_one(&m, "licensing");
    m.last_seq = 10; /* the feed has caught up (vga_events_since) */
    vga_event e = s_event(11, VGA_EV_DELIVERED, 1, "childrens-services", "");
    assert_int_equal(vgc_model_feed_event(&m, &e, T_NOW), VGC_SEQ_NEXT);
    assert_int_equal(vgc_model_feed_event(&m, &e, T_NOW), VGC_SEQ_DUP);
    assert_int_equal(m.last_seq, 11);
    vga_event late = s_event(14, VGA_EV_OVERDUE, 1, "licensing", "deadline passed");
    assert_int_equal(vgc_model_feed_event(&m, &late, T_NOW + 1000), VGC_SEQ_GAP);
    assert_int_equal(m.sync, VGC_SYNC_STALE);
    assert_non_null(strstr(m.sync_reason, "expected #12, got #14"));
    assert_int_equal(m.sync_since_ms, T_NOW + 1000);
    assert_true(m.needs_resync);
    assert_int_equal(m.last_seq, 11); /* refetched from 11 */
    vgc_model_fini(&m);
}

static void
test_events_up_to_snapshot_only_feed(void **state)
{
    (void)state;
    vgc_model m;
    s_model_one(&m, "licensing");
    /* The first snapshot starts the feed VGC_FEED_BACKFILL back. */
    assert_int_equal(m.last_seq, 0);
    assert_int_equal(m.state_seq, 10);
    vga_event e = s_event(1, VGA_EV_ACKNOWLEDGED, 1, "licensing", "PC Old");
    assert_int_equal(vgc_model_feed_event(&m, &e, T_NOW), VGC_SEQ_NEXT);
    uint8_t id[VG_ALERT_ID_LEN];
    s_id(id, 1);
    vgc_alert *a = vgc_model_find(&m, id);
    assert_int_equal(vgc_alert_recipient(a, "licensing")->state, VGA_DELIVERED);
    assert_int_equal(m.feed_n, 1);
    vgc_model_fini(&m);
}

/* ---- cells ------------------------------------------------------------------------- */

static void
test_abbrev(void **state)
{
    (void)state;
    char ab[VGC_ABBREV_LEN];
    vgc_agency_abbrev(ab, "licensing");
    assert_string_equal(ab, "lic");
    vgc_agency_abbrev(ab, "childrens-services");
    assert_string_equal(ab, "cs");
    vgc_agency_abbrev(ab, "south-yorkshire-police");
    assert_string_equal(ab, "syp");
    vgc_agency_abbrev(ab, "ho");
    assert_string_equal(ab, "ho");
}

static void
test_cells_distinct_without_colour(void **state)
{
    (void)state;
    char cells[6][VGC_CELL_LEN];
    for (int c = VGC_CELL_PENDING; c <= VGC_CELL_OVERDUE; c++) {
        vgc_cell_render(cells[c], "licensing", (vgc_cell)c);
    }
    assert_string_equal(cells[VGC_CELL_PENDING], "lic-");
    assert_string_equal(cells[VGC_CELL_DELIVERED], "lic~");
    assert_string_equal(cells[VGC_CELL_ACKNOWLEDGED], "lic+");
    assert_string_equal(cells[VGC_CELL_IN_PROGRESS], "lic>");
    assert_string_equal(cells[VGC_CELL_DECLINED], "LICx");
    assert_string_equal(cells[VGC_CELL_OVERDUE], "LIC!");
    for (int i = 0; i < 6; i++) {
        for (int j = i + 1; j < 6; j++) {
            assert_string_not_equal(cells[i], cells[j]);
        }
    }
}

static void
test_cell_of(void **state)
{
    (void)state;
    vgc_recipient r;
    memset(&r, 0, sizeof r);
    r.required = true;
    r.state = VGA_DELIVERED;
    r.deadline_ms = T_NOW + T_MIN;
    assert_int_equal(vgc_cell_of(&r, T_NOW), VGC_CELL_DELIVERED);
    assert_int_equal(vgc_cell_of(&r, T_NOW + 2 * T_MIN), VGC_CELL_OVERDUE); /* deadline passed */
    r.level = 1;
    assert_int_equal(vgc_cell_of(&r, T_NOW), VGC_CELL_OVERDUE); /* the broker stepped it */
    r.state = VGA_ACKNOWLEDGED;
    r.overdue = true;
    assert_int_equal(vgc_cell_of(&r, T_NOW + 2 * T_MIN), VGC_CELL_ACKNOWLEDGED); /* late ack */
    r.state = VGA_IN_PROGRESS; /* extended: the flag stays, the level restarts */
    r.level = 0;
    assert_int_equal(vgc_cell_of(&r, T_NOW), VGC_CELL_IN_PROGRESS);
    r.state = VGA_DECLINED;
    assert_int_equal(vgc_cell_of(&r, T_NOW), VGC_CELL_DECLINED);
    r.state = VGA_PENDING;
    r.required = false;
    assert_int_equal(vgc_cell_of(&r, T_NOW + 2 * T_MIN), VGC_CELL_PENDING);
}

/* The cells speak the agent library's one vocabulary: words on screen,
 * machine names in --plain, OVERDUE for the one standing they derive. */
static void
test_cell_names(void **state)
{
    (void)state;
    const struct {
        vgc_cell cell;     /* the cell */
        const char *words; /* on screen */
        const char *name;  /* in --plain */
        vga_state state;   /* the state behind it */
    } cases[] = {
        {VGC_CELL_PENDING, "pending", "pending", VGA_PENDING},
        {VGC_CELL_DELIVERED, "delivered", "delivered", VGA_DELIVERED},
        {VGC_CELL_ACKNOWLEDGED, "acknowledged", "acknowledged", VGA_ACKNOWLEDGED},
        {VGC_CELL_IN_PROGRESS, "in progress", "in_progress", VGA_IN_PROGRESS},
        {VGC_CELL_DECLINED, "declined", "declined", VGA_DECLINED},
        {VGC_CELL_UNOPENABLE, "cannot open", "unopenable", VGA_UNOPENABLE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_string_equal(vgc_cell_name(cases[i].cell), cases[i].words);
        assert_string_equal(vgc_cell_name(cases[i].cell), vga_state_words(cases[i].state));
        assert_string_equal(vgc_cell_state_name(cases[i].cell), cases[i].name);
        assert_string_equal(vgc_cell_state_name(cases[i].cell), vga_state_name(cases[i].state));
    }
    assert_string_equal(vgc_cell_name(VGC_CELL_OVERDUE), VGA_OVERDUE_TOKEN);
    assert_string_equal(vgc_cell_state_name(VGC_CELL_OVERDUE), "OVERDUE");
    assert_string_equal(vgc_cell_name((vgc_cell)99), "unknown");
    assert_string_equal(vga_state_token(VGA_ACKNOWLEDGED), "ACK");
    assert_string_equal(vga_state_token(VGA_IN_PROGRESS), "IN_PROGRESS");
    assert_string_equal(vga_state_token((vga_state)0), "UNKNOWN");
    assert_string_equal(vga_state_name((vga_state)7), "unknown");
}

static void
test_matrix_and_states(void **state)
{
    (void)state;
    vgc_model m;
    s_model_one(&m, "licensing");
    uint8_t id[VG_ALERT_ID_LEN];
    s_id(id, 1);
    vgc_alert *a = vgc_model_find(&m, id);
    char out[256];
    vgc_alert_matrix(out, sizeof out, a, T_NOW);
    assert_string_equal(out, "lic~ cs-");
    vgc_alert_matrix(out, sizeof out, a, T_NOW + 6 * T_MIN);
    assert_string_equal(out, "LIC! CS!");
    vgc_alert_states(out, sizeof out, a, T_NOW);
    assert_string_equal(out, "licensing=delivered childrens-services=pending");
    vgc_model_fini(&m);
}

/* ---- order, counts, due ------------------------------------------------------------ */

static void
test_order_overdue_first_then_nearest_deadline(void **state)
{
    (void)state;
    vgc_model m;
    vgc_model_init(&m, "licensing", false, T_NOW);
    vga_status_list l;
    s_list(&l, 5, 3);
    t_rcpt later[] = {{"licensing", VGA_DELIVERED, 10 * T_MIN, false, 0}};
    t_rcpt late5[] = {{"licensing", VGA_DELIVERED, -5 * T_MIN, true, 1}};
    t_rcpt soon[] = {{"licensing", VGA_PENDING, 1 * T_MIN, false, 0}};
    t_rcpt late10[] = {{"police", VGA_ACKNOWLEDGED, -10 * T_MIN, false, 0},
                       {"licensing", VGA_PENDING, -10 * T_MIN, true, 2}};
    t_rcpt done[] = {{"licensing", VGA_ACKNOWLEDGED, -20 * T_MIN, false, 0}};
    s_status(&l.items[0], 1, "police", VG_SEV_LOW, later, 1);
    s_status(&l.items[1], 2, "police", VG_SEV_MEDIUM, late5, 1);
    s_status(&l.items[2], 3, "police", VG_SEV_CRITICAL, soon, 1);
    s_status(&l.items[3], 4, "home-office", VG_SEV_HIGH, late10, 2);
    s_status(&l.items[4], 5, "licensing", VG_SEV_HIGH, done, 1);
    assert_int_equal(vgc_model_apply_snapshot(&m, &l, T_NOW), VG_OK);
    vga_status_list_fini(&l);
    vgc_alert *rows[8];
    assert_int_equal(vgc_model_list(&m, NULL, T_NOW, rows, 8), 5);
    assert_int_equal(rows[0]->id[0], 4); /* overdue longest */
    assert_int_equal(rows[1]->id[0], 2); /* overdue */
    assert_int_equal(rows[2]->id[0], 3); /* deadline in 1 min */
    assert_int_equal(rows[3]->id[0], 1); /* deadline in 10 min */
    assert_int_equal(rows[4]->id[0], 5); /* nothing open */
    size_t n_open, n_over, n_esc;
    vgc_model_counts(&m, T_NOW, &n_open, &n_over, &n_esc);
    assert_int_equal(n_open, 5);
    assert_int_equal(n_over, 2);
    assert_int_equal(n_esc, 1);
    char due[32];
    vgc_format_due(due, sizeof due, rows[0], T_NOW);
    assert_string_equal(due, "LATE 10m00s");
    vgc_format_due(due, sizeof due, rows[2], T_NOW);
    assert_string_equal(due, "in 1m00s");
    vgc_format_due(due, sizeof due, rows[4], T_NOW);
    assert_string_equal(due, "-");
    vgc_model_fini(&m);
}

/* ---- filters ----------------------------------------------------------------------- */

static void
test_filters(void **state)
{
    (void)state;
    vgc_model m;
    vgc_model_init(&m, "licensing", false, T_NOW);
    vga_status_list l;
    s_list(&l, 3, 3);
    t_rcpt late[] = {{"licensing", VGA_DELIVERED, -T_MIN, true, 1}};
    t_rcpt ok[] = {{"licensing", VGA_DELIVERED, T_MIN, false, 0}};
    s_status(&l.items[0], 1, "police", VG_SEV_HIGH, late, 1);
    s_status(&l.items[1], 2, "home-office", VG_SEV_LOW, ok, 1);
    s_status(&l.items[2], 3, "police", VG_SEV_CRITICAL, ok, 1);
    assert_int_equal(vgc_model_apply_snapshot(&m, &l, T_NOW), VG_OK);
    vga_status_list_fini(&l);
    s_content(&m, 1, "Taxi drivers linked to exploitation", NULL);
    vgc_alert *rows[4];
    vgc_filter f;
    memset(&f, 0, sizeof f);
    f.overdue_only = true;
    assert_int_equal(vgc_model_list(&m, &f, T_NOW, rows, 4), 1);
    assert_int_equal(rows[0]->id[0], 1);
    memset(&f, 0, sizeof f);
    f.min_severity = VG_SEV_HIGH;
    assert_int_equal(vgc_model_list(&m, &f, T_NOW, rows, 4), 2);
    memset(&f, 0, sizeof f);
    snprintf(f.text, sizeof f.text, "TAXI DRIVERS");
    assert_int_equal(vgc_model_list(&m, &f, T_NOW, rows, 4), 1); /* the readable headline */
    snprintf(f.text, sizeof f.text, "home-office");
    assert_int_equal(vgc_model_list(&m, &f, T_NOW, rows, 4), 1); /* the sender */
    snprintf(f.text, sizeof f.text, "sealed");
    assert_int_equal(vgc_model_list(&m, &f, T_NOW, rows, 4), 0); /* not a word of content */
    char desc[128];
    f.overdue_only = true;
    f.min_severity = VG_SEV_HIGH;
    snprintf(f.text, sizeof f.text, "taxi");
    vgc_filter_describe(desc, sizeof desc, &f);
    assert_string_equal(desc, "overdue only, high+, text 'taxi'");
    vgc_model_fini(&m);
}

/* ---- events on the state ------------------------------------------------------------- */

static void
test_events_change_state_and_queue_details(void **state)
{
    (void)state;
    vgc_model m;
    s_model_one(&m, "licensing");
    m.last_seq = 10;
    uint8_t id[VG_ALERT_ID_LEN], got[VG_ALERT_ID_LEN];
    s_id(id, 1);
    vga_event e = s_event(11, VGA_EV_DELIVERED, 1, "childrens-services", "");
    assert_int_equal(vgc_model_feed_event(&m, &e, T_NOW), VGC_SEQ_NEXT);
    vgc_alert *a = vgc_model_find(&m, id);
    assert_int_equal(vgc_alert_recipient(a, "childrens-services")->state, VGA_DELIVERED);
    assert_false(vgc_model_next_wanted(&m, got));
    e = s_event(12, VGA_EV_ACKNOWLEDGED, 1, "licensing", "PC Ann Jones");
    assert_int_equal(vgc_model_feed_event(&m, &e, T_NOW), VGC_SEQ_NEXT);
    vgc_recipient *r = vgc_alert_recipient(a, "licensing");
    assert_int_equal(r->state, VGA_ACKNOWLEDGED);
    assert_string_equal(r->officer, "PC Ann Jones");
    assert_true(vgc_model_next_wanted(&m, got)); /* the note: ask about the alert */
    assert_memory_equal(got, id, VG_ALERT_ID_LEN);
    e = s_event(13, VGA_EV_DECLINED, 1, "licensing", "older event");
    assert_int_equal(vgc_model_feed_event(&m, &e, T_NOW), VGC_SEQ_NEXT);
    assert_int_equal(r->state, VGA_ACKNOWLEDGED); /* never back from acknowledged */
    e = s_event(14, VGA_EV_ACCEPTED, 9, "police", "");
    assert_int_equal(vgc_model_feed_event(&m, &e, T_NOW), VGC_SEQ_NEXT);
    assert_true(vgc_model_next_wanted(&m, got)); /* a new alert: ask about it */
    assert_int_equal(got[0], 9);
    e = s_event(15, VGA_EV_COMPLETE, 1, "", "");
    assert_int_equal(vgc_model_feed_event(&m, &e, T_NOW), VGC_SEQ_NEXT);
    assert_true(a->complete);
    vgc_alert *rows[2];
    assert_int_equal(vgc_model_list(&m, NULL, T_NOW, rows, 2), 0);
    vgc_model_fini(&m);
}

static void
test_attention_once_for_my_overdue(void **state)
{
    (void)state;
    vgc_model m;
    s_model_one(&m, "licensing");
    m.last_seq = 10;
    assert_int_equal(m.attention_gen, 0); /* the first snapshot is not news */
    vga_event e = s_event(11, VGA_EV_OVERDUE, 1, "childrens-services", "deadline passed");
    assert_int_equal(vgc_model_feed_event(&m, &e, T_NOW), VGC_SEQ_NEXT);
    assert_int_equal(m.attention_gen, 0); /* not licensing's, not its alert */
    e = s_event(12, VGA_EV_OVERDUE, 1, "licensing", "deadline passed");
    assert_int_equal(vgc_model_feed_event(&m, &e, T_NOW), VGC_SEQ_NEXT);
    assert_int_equal(m.attention_gen, 1);
    assert_non_null(strstr(m.attention, "OVERDUE"));
    assert_non_null(strstr(m.attention, "licensing"));
    e = s_event(13, VGA_EV_OVERDUE, 1, "licensing", "deadline passed");
    assert_int_equal(vgc_model_feed_event(&m, &e, T_NOW), VGC_SEQ_NEXT);
    assert_int_equal(m.attention_gen, 1); /* once */
    /* A new critical alert for licensing in a later snapshot rings too. */
    vga_status_list l;
    s_list(&l, 2, 20);
    t_rcpt r1[] = {{"licensing", VGA_DELIVERED, 5 * T_MIN, true, 1}};
    t_rcpt r2[] = {{"licensing", VGA_PENDING, 5 * T_MIN, false, 0}};
    s_status(&l.items[0], 1, "police", VG_SEV_HIGH, r1, 1);
    s_status(&l.items[1], 2, "police", VG_SEV_CRITICAL, r2, 1);
    assert_int_equal(vgc_model_apply_snapshot(&m, &l, T_NOW), VG_OK);
    vga_status_list_fini(&l);
    assert_int_equal(m.attention_gen, 2);
    assert_non_null(strstr(m.attention, "CRITICAL"));
    vgc_model_fini(&m);
}

static void
test_unlisted_alert_is_asked_about_not_dropped(void **state)
{
    (void)state;
    vgc_model m;
    s_model_one(&m, "licensing");
    vga_status_list l;
    s_list(&l, 0, 12); /* licensing acknowledged it: no longer in its snapshot */
    assert_int_equal(vgc_model_apply_snapshot(&m, &l, T_NOW), VG_OK);
    vga_status_list_fini(&l);
    uint8_t id[VG_ALERT_ID_LEN], got[VG_ALERT_ID_LEN];
    s_id(id, 1);
    assert_false(vgc_model_find(&m, id)->complete);
    assert_true(vgc_model_next_wanted(&m, got));
    assert_memory_equal(got, id, VG_ALERT_ID_LEN);
    vgc_model_forget(&m, id); /* the broker knows it no more for us */
    assert_true(vgc_model_find(&m, id)->complete);
    vgc_model_fini(&m);
}

/* ---- silence ----------------------------------------------------------------------- */

static void
test_silence_turns_no_data(void **state)
{
    (void)state;
    vgc_model m;
    s_model_one(&m, "licensing");
    vgc_model_contact(&m, T_NOW);
    assert_false(vgc_model_check_silence(&m, T_NOW + VGC_SILENCE_MS));
    assert_int_equal(m.sync, VGC_SYNC_LIVE);
    assert_true(vgc_model_check_silence(&m, T_NOW + VGC_SILENCE_MS + 1));
    assert_int_equal(m.sync, VGC_SYNC_NO_DATA);
    assert_int_equal(m.sync_since_ms, T_NOW); /* since the last word */
    assert_non_null(strstr(m.sync_reason, "disconnected"));
    assert_false(vgc_model_check_silence(&m, T_NOW + 2 * VGC_SILENCE_MS)); /* said once */
    vgc_model_fini(&m);
}

/* ---- linked alerts, detail, text ----------------------------------------------------- */

static void
test_linked_by_subject(void **state)
{
    (void)state;
    vgc_model m;
    vgc_model_init(&m, "licensing", false, T_NOW);
    vga_status_list l;
    s_list(&l, 3, 3);
    t_rcpt r[] = {{"licensing", VGA_DELIVERED, T_MIN, false, 0}};
    s_status(&l.items[0], 1, "home-office", VG_SEV_HIGH, r, 1);
    s_status(&l.items[1], 2, "police", VG_SEV_MEDIUM, r, 1);
    s_status(&l.items[2], 3, "police", VG_SEV_LOW, r, 1);
    assert_int_equal(vgc_model_apply_snapshot(&m, &l, T_NOW), VG_OK);
    vga_status_list_fini(&l);
    s_content(&m, 1, "Report 2002", "TL-0417");
    s_content(&m, 2, "Email 2010", "tl-0417");
    s_content(&m, 3, "Unrelated", "TL-9999");
    uint8_t id[VG_ALERT_ID_LEN];
    s_id(id, 1);
    vgc_alert *links[4];
    assert_int_equal(vgc_model_linked(&m, vgc_model_find(&m, id), links, 4), 1);
    assert_int_equal(links[0]->id[0], 2);
    vgc_lines lines;
    assert_int_equal(vgc_detail_build(&lines, &m, vgc_model_find(&m, id), 60, T_NOW), VG_OK);
    bool linked = false, headline = false;
    for (size_t i = 0; i < lines.n; i++) {
        assert_true(strlen(lines.items[i].text) <= 60);
        linked |= strstr(lines.items[i].text, "Email 2010") != NULL;
        headline |= strstr(lines.items[i].text, "Report 2002") != NULL;
    }
    assert_true(linked);
    assert_true(headline);
    vgc_lines_fini(&lines);
    vgc_model_fini(&m);
}

static void
test_sanitize(void **state)
{
    (void)state;
    char out[64];
    vgc_sanitize(out, sizeof out, "a\x1b[2Jb\tc\x7f");
    assert_string_equal(out, "a?[2Jb?c?");
    vgc_sanitize(out, sizeof out, "caf\xc3\xa9 \xff");
    assert_string_equal(out, "caf\xc3\xa9 ?");
    vgc_sanitize(out, 5, "ab\xc3\xa9\xc3\xa9");
    assert_string_equal(out, "ab\xc3\xa9"); /* never half a character */
}

/* ---- --plain ------------------------------------------------------------------------- */

/* Prints what changed; the memstream's buffer is then up to date. */
static void
s_plain_lines(vgc_model *m, vgc_plain *p, FILE *f)
{
    vgc_plain_update(p, m, T_NOW);
    fflush(f);
}

static void
test_plain_scripted_scenario(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    vgc_plain p;
    vgc_plain_init(&p, f);
    vgc_model m;
    vgc_model_init(&m, "licensing", false, T_NOW);
    s_plain_lines(&m, &p, f);
    assert_non_null(strstr(buf, " SYNC NO_DATA since="));
    assert_non_null(strstr(buf, "reason=\"snapshot pending\""));
    vga_status_list l;
    s_list(&l, 1, 10);
    t_rcpt r[] = {{"licensing", VGA_DELIVERED, 5 * T_MIN, false, 0}};
    s_status(&l.items[0], 1, "police", VG_SEV_HIGH, r, 1);
    assert_int_equal(vgc_model_apply_snapshot(&m, &l, T_NOW), VG_OK);
    vga_status_list_fini(&l);
    m.last_seq = 10;
    vgc_model_set_sync(&m, VGC_SYNC_LIVE, "", T_NOW);
    vga_event e = s_event(11, VGA_EV_OVERDUE, 1, "licensing", "deadline passed");
    assert_int_equal(vgc_model_feed_event(&m, &e, T_NOW), VGC_SEQ_NEXT);
    s_plain_lines(&m, &p, f);
    const char *want[] = {
        "EVENT #11 at=2026-",
        "kind=overdue alert=01000000000000000000000000000000 sender=police severity=high "
        "agency=licensing level=1 detail=\"deadline passed\"",
        "ALERT 01000000000000000000000000000000 new severity=high sender=police overdue=yes "
        "due=\"in 5m00s\" states=\"licensing=OVERDUE\" headline=\"sealed\"",
        "SYNC LIVE open=1 overdue=1 escalated=0 seq=11",
        "ATTENTION what=\"OVERDUE: 01000000 for licensing (high alert from police)\"",
    };
    const char *at = buf;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *hit = strstr(at, want[i]);
        if (hit == NULL) {
            fail_msg("missing or out of order: %s\n--- output ---\n%s", want[i], buf);
        }
        at = hit;
    }
    e = s_event(12, VGA_EV_ACKNOWLEDGED, 1, "licensing", "PC Ann \"Jones\"");
    assert_int_equal(vgc_model_feed_event(&m, &e, T_NOW), VGC_SEQ_NEXT);
    size_t before = strlen(buf);
    s_plain_lines(&m, &p, f);
    assert_non_null(strstr(buf + before, "kind=acknowledged"));
    assert_non_null(strstr(buf + before, "detail=\"PC Ann 'Jones'\""));
    assert_non_null(strstr(buf + before, "changed severity=high"));
    assert_non_null(strstr(buf + before, "states=\"licensing=acknowledged\""));
    before = strlen(buf);
    s_plain_lines(&m, &p, f);
    assert_int_equal(strlen(buf), before); /* nothing new, nothing printed */
    fclose(f);
    free(buf);
    vgc_model_fini(&m);
}

/* ---- exercises and tests: marked on every screen ------------------------------------- */

/* A model for licensing holding four alerts from police, all to licensing
 * (delivered, deadline in 5 min): #1 actual, #2 exercise (opened: "Drill
 * headline", subject TL-0417), #3 test (sealed), #4 with no status (the
 * envelope's default: actual). #1 is opened too, with the same subject. */
static void
s_model_statuses(vgc_model *m)
{
    vgc_model_init(m, "licensing", false, T_NOW);
    vga_status_list l;
    s_list(&l, 4, 10);
    t_rcpt r[] = {{"licensing", VGA_DELIVERED, 5 * T_MIN, false, 0}};
    const vg_status statuses[] = {VG_STATUS_ACTUAL, VG_STATUS_EXERCISE, VG_STATUS_TEST,
                                  VG_STATUS_UNSPECIFIED};
    for (uint8_t i = 0; i < 4; i++) {
        s_status(&l.items[i], (uint8_t)(i + 1), "police", VG_SEV_HIGH, r, 1);
        l.items[i].status = statuses[i];
    }
    assert_int_equal(vgc_model_apply_snapshot(m, &l, T_NOW), VG_OK);
    vga_status_list_fini(&l);
    m->last_seq = 10;
    vgc_model_set_sync(m, VGC_SYNC_LIVE, "", T_NOW);
    s_content(m, 1, "Real headline", "TL-0417");
    s_content(m, 2, "Drill headline", "TL-0417");
}

static vgc_alert *
s_find(const vgc_model *m, uint8_t n)
{
    uint8_t id[VG_ALERT_ID_LEN];
    s_id(id, n);
    vgc_alert *a = vgc_model_find(m, id);
    assert_non_null(a);
    return a;
}

static void
test_exercise_marked_in_list_feed_and_counts(void **state)
{
    (void)state;
    vgc_model m;
    s_model_statuses(&m);
    assert_null(vgc_alert_mark(s_find(&m, 1)));
    assert_string_equal(vgc_alert_mark(s_find(&m, 2)), "EXERCISE");
    assert_string_equal(vgc_alert_mark(s_find(&m, 3)), "TEST");
    assert_null(vgc_alert_mark(s_find(&m, 4))); /* no status: actual, never hidden */
    char title[128];
    vgc_alert_title(title, sizeof title, s_find(&m, 1));
    assert_string_equal(title, "Real headline");
    vgc_alert_title(title, sizeof title, s_find(&m, 2));
    assert_string_equal(title, "EXERCISE Drill headline");
    vgc_alert_title(title, sizeof title, s_find(&m, 3));
    assert_string_equal(title, "TEST sealed"); /* the status is metadata: sealed says it too */
    /* Tracked like the others: counted, and the header says how many. */
    size_t n_open, n_over, n_esc;
    vgc_model_counts(&m, T_NOW, &n_open, &n_over, &n_esc);
    assert_int_equal(n_open, 4);
    assert_int_equal(vgc_model_n_exercises(&m), 2);
    vgc_filter f = {0};
    snprintf(f.text, sizeof f.text, "exercise");
    vgc_alert *rows[4];
    assert_int_equal(vgc_model_list(&m, &f, T_NOW, rows, 4), 1);
    assert_int_equal(rows[0]->id[0], 2);
    /* The feed marks the exercise's events, not the actual alert's. */
    vga_event e = s_event(11, VGA_EV_OVERDUE, 2, "licensing", "deadline passed");
    assert_int_equal(vgc_model_feed_event(&m, &e, T_NOW), VGC_SEQ_NEXT);
    char line[768];
    vgc_event_format(line, sizeof line, &m, &e);
    assert_non_null(strstr(line, " 02000000 EXERCISE OVERDUE for licensing"));
    assert_string_equal(m.attention, "EXERCISE: OVERDUE: 02000000 for licensing (high alert from "
                                     "police)");
    e = s_event(12, VGA_EV_OVERDUE, 1, "licensing", "deadline passed");
    assert_int_equal(vgc_model_feed_event(&m, &e, T_NOW), VGC_SEQ_NEXT);
    vgc_event_format(line, sizeof line, &m, &e);
    assert_non_null(strstr(line, " 01000000 OVERDUE for licensing"));
    assert_null(strstr(line, "EXERCISE"));
    assert_string_equal(m.attention, "OVERDUE: 01000000 for licensing (high alert from police)");
    vgc_model_fini(&m);
}

/* True when some line of l contains needle. */
static bool
s_lines_have(const vgc_lines *l, const char *needle)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strstr(l->items[i].text, needle) != NULL) {
            return true;
        }
    }
    return false;
}

/* The broker's chain (earlier warnings about the same subject) is in the
 * detail view, with ids only where this agency was a party, and it follows
 * the next snapshot. */
static void
test_broker_chain_in_detail(void **state)
{
    (void)state;
    vgc_model m;
    vgc_model_init(&m, "licensing", false, T_NOW);
    vga_status_list l;
    s_list(&l, 1, 1);
    t_rcpt r[] = {{"licensing", VGA_DELIVERED, T_MIN, false, 0}};
    s_status(&l.items[0], 9, "police", VG_SEV_HIGH, r, 1);
    vga_alert_status *st = &l.items[0];
    st->linked = calloc(2, sizeof *st->linked);
    assert_non_null(st->linked);
    st->n_linked = 2;
    st->linked[0].known = true;
    s_id(st->linked[0].id, 7);
    st->linked[0].accepted_ms = T_NOW - 100 * T_MIN;
    for (size_t i = 0; i < 2; i++) {
        st->linked[i].outcomes = calloc(2, sizeof *st->linked[i].outcomes);
        assert_non_null(st->linked[i].outcomes);
        st->linked[i].n_outcomes = 2;
        snprintf(st->linked[i].outcomes[0].agency, VGC_ID_LEN, "licensing");
        st->linked[i].outcomes[0].outcome = VGA_LINK_NEVER;
        snprintf(st->linked[i].outcomes[1].agency, VGC_ID_LEN, "police");
        st->linked[i].outcomes[1].outcome = VGA_LINK_ACKNOWLEDGED;
    }
    assert_int_equal(vgc_model_apply_snapshot(&m, &l, T_NOW), VG_OK);
    vga_status_list_fini(&l);
    uint8_t id[VG_ALERT_ID_LEN];
    s_id(id, 9);
    vgc_lines lines;
    assert_int_equal(vgc_detail_build(&lines, &m, vgc_model_find(&m, id), 100, T_NOW), VG_OK);
    assert_true(s_lines_have(&lines, "EARLIER WARNINGS ABOUT THE SAME SUBJECT (2, linked by the"));
    assert_true(s_lines_have(&lines, "  07000000 "));
    assert_true(s_lines_have(&lines, "  (not sent to you)  licensing:never police:acknowledged"));
    vgc_lines_fini(&lines);
    /* a later snapshot without links clears the chain */
    s_list(&l, 1, 2);
    s_status(&l.items[0], 9, "police", VG_SEV_HIGH, r, 1);
    assert_int_equal(vgc_model_apply_snapshot(&m, &l, T_NOW), VG_OK);
    vga_status_list_fini(&l);
    assert_int_equal(vgc_detail_build(&lines, &m, vgc_model_find(&m, id), 100, T_NOW), VG_OK);
    assert_false(s_lines_have(&lines, "EARLIER WARNINGS"));
    vgc_lines_fini(&lines);
    vgc_model_fini(&m);
}

/* A repeat warning raises attention at once and reads as one in the feed. */
static void
test_repeat_warning_raises_attention(void **state)
{
    (void)state;
    vgc_model m;
    s_model_one(&m, "licensing");
    m.last_seq = 10; /* the feed has caught up (vga_events_since) */
    uint64_t gen = m.attention_gen;
    vga_event e = s_event(11, VGA_EV_REPEAT_WARNING, 1, "licensing",
                          "repeat warning: you did not acknowledge 2 earlier warnings about this "
                          "subject");
    e.count = 2;
    assert_int_equal(vgc_model_feed_event(&m, &e, T_NOW), VGC_SEQ_NEXT);
    assert_true(m.attention_gen > gen);
    assert_non_null(strstr(m.attention, "REPEAT WARNING: 01000000: licensing did not acknowledge "
                                        "2 earlier warnings"));
    char line[640];
    vgc_event_format(line, sizeof line, &m, &e);
    assert_non_null(strstr(line, "REPEAT WARNING: licensing did not acknowledge 2 earlier"));
    vgc_model_fini(&m);
}

static void
test_exercise_marked_in_detail(void **state)
{
    (void)state;
    vgc_model m;
    s_model_statuses(&m);
    vgc_lines l;
    assert_int_equal(vgc_detail_build(&l, &m, s_find(&m, 3), 78, T_NOW), VG_OK);
    assert_string_equal(l.items[0].text, "ALERT 03000000000000000000000000000000  TEST");
    assert_string_equal(l.items[1].text,
                        "*** TEST: not an actual alert; tracked and escalated like one ***");
    assert_true(s_lines_have(&l, "Content: sealed.")); /* sealed, and still marked */
    vgc_lines_fini(&l);
    assert_int_equal(vgc_detail_build(&l, &m, s_find(&m, 2), 78, T_NOW), VG_OK);
    assert_true(s_lines_have(&l, "*** EXERCISE: not an actual alert"));
    assert_true(s_lines_have(&l, "status exercise"));
    vgc_lines_fini(&l);
    /* The actual alert is not marked; its linked exercise is. */
    assert_int_equal(vgc_detail_build(&l, &m, s_find(&m, 1), 78, T_NOW), VG_OK);
    assert_false(s_lines_have(&l, "not an actual alert"));
    assert_string_equal(l.items[0].text, "ALERT 01000000000000000000000000000000");
    assert_true(s_lines_have(&l, "from police: EXERCISE Drill headline"));
    vgc_lines_fini(&l);
    assert_int_equal(vgc_help_build(&l, 78), VG_OK);
    assert_true(s_lines_have(&l, "EXERCISE, TEST, SYSTEM or DRAFT before a headline"));
    vgc_lines_fini(&l);
    vgc_model_fini(&m);
}

static void
test_plain_marks_exercises(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    vgc_plain p;
    vgc_plain_init(&p, f);
    vgc_model m;
    s_model_statuses(&m);
    vga_event e = s_event(11, VGA_EV_OVERDUE, 2, "licensing", "deadline passed");
    assert_int_equal(vgc_model_feed_event(&m, &e, T_NOW), VGC_SEQ_NEXT);
    vgc_plain_update(&p, &m, T_NOW);
    fflush(f);
    const char *want[] = {
        "EVENT #11 at=",
        " kind=overdue alert=02000000000000000000000000000000 status=EXERCISE sender=police "
        "severity=high agency=licensing level=1",
        "ALERT 02000000000000000000000000000000 new status=EXERCISE severity=high sender=police "
        "overdue=yes",
        "ALERT 03000000000000000000000000000000 new status=TEST severity=high sender=police "
        "overdue=no due=\"in 5m00s\" states=\"licensing=delivered\" headline=\"sealed\"",
        "SYNC LIVE open=4 overdue=1 escalated=0 seq=11 exercises=2",
        "ATTENTION what=\"EXERCISE: OVERDUE: 02000000 for licensing (high alert from police)\"",
    };
    const char *at = buf;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *hit = strstr(at, want[i]);
        if (hit == NULL) {
            fail_msg("missing or out of order: %s\n--- output ---\n%s", want[i], buf);
        }
        at = hit;
    }
    assert_non_null(strstr(buf, "ALERT 01000000000000000000000000000000 new severity=high"));
    assert_non_null(strstr(buf, "ALERT 04000000000000000000000000000000 new severity=high"));
    e = s_event(12, VGA_EV_COMPLETE, 2, "", "");
    assert_int_equal(vgc_model_feed_event(&m, &e, T_NOW), VGC_SEQ_NEXT);
    size_t before = strlen(buf);
    vgc_plain_update(&p, &m, T_NOW);
    fflush(f);
    assert_non_null(strstr(buf + before, "kind=complete alert=02000000000000000000000000000000 "
                                         "status=EXERCISE sender=police"));
    assert_non_null(strstr(buf + before, "ALERT 02000000000000000000000000000000 done "
                                         "status=EXERCISE\n"));
    fclose(f);
    free(buf);
    vgc_model_fini(&m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seq_check),
        cmocka_unit_test(test_gap_goes_stale_and_is_not_consumed),
        cmocka_unit_test(test_events_up_to_snapshot_only_feed),
        cmocka_unit_test(test_abbrev),
        cmocka_unit_test(test_cells_distinct_without_colour),
        cmocka_unit_test(test_cell_of),
        cmocka_unit_test(test_cell_names),
        cmocka_unit_test(test_matrix_and_states),
        cmocka_unit_test(test_order_overdue_first_then_nearest_deadline),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_events_change_state_and_queue_details),
        cmocka_unit_test(test_attention_once_for_my_overdue),
        cmocka_unit_test(test_unlisted_alert_is_asked_about_not_dropped),
        cmocka_unit_test(test_silence_turns_no_data),
        cmocka_unit_test(test_linked_by_subject),
        cmocka_unit_test(test_sanitize),
        cmocka_unit_test(test_plain_scripted_scenario),
        cmocka_unit_test(test_exercise_marked_in_list_feed_and_counts),
        cmocka_unit_test(test_exercise_marked_in_detail),
        cmocka_unit_test(test_broker_chain_in_detail),
        cmocka_unit_test(test_repeat_warning_raises_attention),
        cmocka_unit_test(test_plain_marks_exercises),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
