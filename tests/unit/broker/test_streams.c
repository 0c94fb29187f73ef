/* test_streams.c — broker/streams.h from outside: per-agency event numbers
 * that are gap-free and go on from what the store has; who hears of an event
 * (sender, recipients, oversight, an escalation's extra agency and role,
 * everyone for agency events) and nobody else; events sent to subscribers
 * only after the commit, a rollback freeing their numbers; the subscriber
 * limit and expiry on the fake clock; oversight's view of names and notes
 * (the document's "oversight" settings); many events of one batch read back
 * one by one, correctly numbered. A real store and document, the frames kept
 * by the test's sender. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "modkit.h"
#include "streams.h"
#include "vigil/wire.h"

#define K_EVENT VIGIL__BROKER_FRAME__KIND_EVENT
#define EV(x) VIGIL__EVENT_KIND__EVENT_##x

typedef struct fixture {
    mk_world *w;                   /* store, document, clock, sink */
    vgb_streams *s;                /* the module under test */
    uint8_t rid[MK_N][MK_RID_LEN]; /* one subscriber per agency (when subscribed) */
} fixture;

static int
s_setup_with(void **state, const mk_world_opts *opts)
{
    mk_log_capture();
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->w = mk_world_new(opts);
    assert_int_equal(
        vgb_streams_new(&f->s, f->w->store, f->w->doc, &f->w->sink.out, &f->w->clk.clock), VG_OK);
    for (uint32_t i = 0; i < MK_N; i++) {
        mk_rid(f->rid[i], 1000 + i);
    }
    *state = f;
    return 0;
}

static int
setup(void **state)
{
    return s_setup_with(state, NULL);
}

static int
setup_names(void **state)
{
    mk_world_opts o = {.officer_names = true, .notes = false};
    return s_setup_with(state, &o);
}

static int
setup_notes(void **state)
{
    mk_world_opts o = {.officer_names = false, .notes = true};
    return s_setup_with(state, &o);
}

static int
setup_all(void **state)
{
    mk_world_opts o = {.officer_names = true, .notes = true};
    return s_setup_with(state, &o);
}

static int
teardown(void **state)
{
    fixture *f = *state;
    vgb_streams_destroy(&f->s);
    assert_null(f->s);
    vgb_streams_destroy(&f->s);
    mk_world_destroy(&f->w);
    free(f);
    mk_log_release();
    return 0;
}

static void
s_subscribe_all(fixture *f)
{
    for (size_t i = 0; i < MK_N; i++) {
        vgb_streams_subscribe(f->s, i, f->rid[i], MK_RID_LEN);
    }
}

static void
s_emit(fixture *f, const vgb_event *ev, vgb_alert_brief *brief, bool *has)
{
    vgb_alert_brief b;
    bool h = false;
    assert_true(vgb_store_txn(f->w->store)); /* events are numbered in the batch */
    assert_int_equal(vgb_streams_emit(f->s, ev, brief ? brief : &b, has ? has : &h), VG_OK);
}

static void
s_commit(fixture *f)
{
    assert_true(vgb_store_txn(f->w->store));
    assert_int_equal(vgb_streams_write(f->s), VG_OK);
    assert_false(vgb_streams_unwritten(f->s));
    mk_commit(f->w->store);
    vgb_streams_flush(f->s, true);
}

static void
s_rollback(fixture *f, bool write)
{
    if (write) {
        assert_int_equal(vgb_streams_write(f->s), VG_OK);
    }
    vgb_store_rollback(f->w->store);
    vgb_streams_flush(f->s, false);
}

/* An event as read back from the store (texts copied). */
typedef struct s_ev {
    uint64_t seq;
    int64_t time_ms;
    int kind;
    uint64_t alert_seq;
    char about[64];
    char detail[128];
    uint32_t count, level;
    size_t receipt_len;
} s_ev;

typedef struct s_evs {
    s_ev e[256];
    size_t n;
} s_evs;

static void
s_take(void *ctx, const vgb_event_row *r)
{
    s_evs *x = ctx;
    assert_true(x->n < 256);
    s_ev *e = &x->e[x->n++];
    *e = (s_ev){.seq = r->seq,
                .time_ms = r->time_ms,
                .kind = r->kind,
                .alert_seq = r->alert_seq,
                .count = r->count,
                .level = r->level,
                .receipt_len = r->receipt != NULL ? r->receipt_len : 0};
    snprintf(e->about, sizeof e->about, "%s", r->about ? r->about : "");
    snprintf(e->detail, sizeof e->detail, "%s", r->detail ? r->detail : "");
}

static s_evs *
s_stored(fixture *f, size_t agency, uint64_t after, size_t limit)
{
    s_evs *x = calloc(1, sizeof *x);
    assert_non_null(x);
    assert_int_equal(vgb_store_events_after(f->w->store, mk_id(agency), after, limit, s_take, x),
                     VG_OK);
    return x;
}

static uint64_t
s_last(fixture *f, size_t agency)
{
    uint64_t n = UINT64_MAX;
    assert_int_equal(vgb_store_last_event(f->w->store, mk_id(agency), &n), VG_OK);
    return n;
}

static size_t
s_heard(fixture *f, size_t agency)
{
    return mk_sink_count(&f->w->sink, f->rid[agency], MK_RID_LEN, K_EVENT);
}

static const Vigil__Event *
s_heard_nth(fixture *f, size_t agency, size_t i)
{
    const Vigil__BrokerFrame *bf = mk_sink_nth(&f->w->sink, f->rid[agency], MK_RID_LEN, K_EVENT, i);
    assert_non_null(bf);
    return bf->event;
}

/* ---- numbers ------------------------------------------------------------------ */

static void
test_numbers_go_on_from_store(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    /* The store already has licensing's events 1..4 (a run of three among
     * them) from an earlier life. */
    vgb_streams_destroy(&f->s);
    mk_begin(w->store);
    vgb_event_row one = {.seq = 1,
                         .time_ms = w->clk.wall,
                         .kind = EV(AGENCY_ONLINE),
                         .about = "licensing",
                         .detail = ""};
    assert_int_equal(vgb_store_insert_events(w->store, "licensing", &one, NULL, 0), VG_OK);
    vgb_event_row run = {.seq = 2,
                         .time_ms = w->clk.wall,
                         .kind = EV(ACCEPTED),
                         .alert_seq = 7,
                         .about = "police",
                         .detail = ""};
    uint64_t more[2] = {8, 9};
    assert_int_equal(vgb_store_insert_events(w->store, "licensing", &run, more, 2), VG_OK);
    mk_commit(w->store);
    assert_int_equal(s_last(f, MK_LICENSING), 4);
    assert_int_equal(vgb_streams_new(&f->s, w->store, w->doc, &w->sink.out, &w->clk.clock), VG_OK);
    s_subscribe_all(f);

    vgb_event ev = {.kind = EV(AGENCY_OFFLINE), .about = "licensing", .count = 3};
    s_emit(f, &ev, NULL, NULL);
    s_emit(f, &ev, NULL, NULL);
    s_commit(f);
    assert_int_equal(s_last(f, MK_LICENSING), 6);
    assert_int_equal(s_last(f, MK_OVERSIGHT), 2);
    assert_int_equal(s_heard(f, MK_LICENSING), 2);
    assert_int_equal(s_heard_nth(f, MK_LICENSING, 0)->seq, 5);
    assert_int_equal(s_heard_nth(f, MK_LICENSING, 1)->seq, 6);
    assert_int_equal(s_heard_nth(f, MK_LICENSING, 1)->count, 3);
    assert_int_equal(s_heard_nth(f, MK_OVERSIGHT, 0)->seq, 1);

    /* Each stream gap-free, across batches. */
    s_emit(f, &ev, NULL, NULL);
    s_commit(f);
    s_evs *x = s_stored(f, MK_LICENSING, 0, 100);
    assert_int_equal(x->n, 7);
    for (size_t i = 0; i < x->n; i++) {
        assert_int_equal(x->e[i].seq, i + 1);
    }
    assert_int_equal(x->e[6].kind, EV(AGENCY_OFFLINE));
    assert_int_equal(x->e[6].count, 3);
    free(x);
}

/* ---- who hears of it -------------------------------------------------------------- */

/* Which of the agencies' streams got exactly one new event in the store. */
static unsigned
s_audience_mask(fixture *f, const uint64_t before[MK_N])
{
    unsigned mask = 0;
    for (size_t i = 0; i < MK_N; i++) {
        uint64_t now = s_last(f, i);
        assert_true(now == before[i] || now == before[i] + 1);
        mask |= now == before[i] + 1 ? 1u << i : 0;
    }
    return mask;
}

static void
s_lasts(fixture *f, uint64_t out[MK_N])
{
    for (size_t i = 0; i < MK_N; i++) {
        out[i] = s_last(f, i);
    }
}

#define BIT(a) (1u << (a))

static void
test_alert_audience(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    s_subscribe_all(f);
    /* police to licensing, childrens-services (the policy) and education. */
    static const char *const also[] = {"education", NULL};
    mk_alert *a = mk_seal(w, "police", also, VG_SEV_CRITICAL);
    mk_begin(w->store);
    (void)mk_insert(w, a, 0);
    const unsigned party =
        BIT(MK_POLICE) | BIT(MK_LICENSING) | BIT(MK_CS) | BIT(MK_EDUCATION) | BIT(MK_OVERSIGHT);

    /* Told of the alert at acceptance (no store read needed) ... */
    uint64_t before[MK_N];
    s_lasts(f, before);
    vgb_streams_alert_accepted(f->s, a->seq, a->env);
    vgb_event ev = {.kind = EV(ACCEPTED), .seq = a->seq, .about = "police"};
    vgb_alert_brief brief;
    bool has = false;
    int64_t t = w->clk.wall;
    s_emit(f, &ev, &brief, &has);
    assert_true(has);
    assert_memory_equal(brief.id, a->id, VG_ALERT_ID_LEN);
    assert_string_equal(brief.sender, "police");
    assert_int_equal(brief.severity, VG_SEV_CRITICAL);
    s_commit(f);
    assert_int_equal(s_audience_mask(f, before), party);
    for (size_t i = 0; i < MK_N; i++) {
        assert_int_equal(s_heard(f, i), party & BIT(i) ? 1 : 0);
    }
    const Vigil__Event *e = s_heard_nth(f, MK_EDUCATION, 0);
    assert_int_equal(e->kind, EV(ACCEPTED));
    assert_int_equal(e->alert_id.len, VG_ALERT_ID_LEN);
    assert_memory_equal(e->alert_id.data, a->id, VG_ALERT_ID_LEN);
    assert_string_equal(e->sender, "police");
    assert_string_equal(e->agency, "police");
    assert_int_equal(e->severity, VIGIL__SEVERITY__SEVERITY_CRITICAL);
    assert_int_equal(e->time_ms, (uint64_t)t);

    /* ... or read from the store by a new streams (same audience). */
    vgb_streams_destroy(&f->s);
    assert_int_equal(vgb_streams_new(&f->s, w->store, w->doc, &w->sink.out, &w->clk.clock), VG_OK);
    s_subscribe_all(f);
    s_lasts(f, before);
    vgb_event dv = {.kind = EV(DELIVERED), .seq = a->seq, .about = "licensing"};
    has = false;
    memset(&brief, 0, sizeof brief);
    s_emit(f, &dv, &brief, &has);
    assert_true(has);
    assert_memory_equal(brief.id, a->id, VG_ALERT_ID_LEN);
    assert_string_equal(brief.sender, "police");
    assert_int_equal(brief.severity, VG_SEV_CRITICAL);
    s_commit(f);
    assert_int_equal(s_audience_mask(f, before), party);
    mk_alert_free(&a);
}

static void
test_escalation_reaches_extra_agency_and_role(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    s_subscribe_all(f);
    mk_alert *a = mk_seal(w, "police", NULL, VG_SEV_HIGH);
    (void)mk_insert_committed(w, a, 0);
    uint64_t before[MK_N];
    s_lasts(f, before);
    vgb_event ev = {.kind = EV(ESCALATED),
                    .seq = a->seq,
                    .about = "licensing",
                    .detail = "contact:council",
                    .level = 2,
                    .extra_agency = "council",
                    .extra_role = "government"};
    s_emit(f, &ev, NULL, NULL);
    s_commit(f);
    const unsigned party = BIT(MK_POLICE) | BIT(MK_LICENSING) | BIT(MK_CS) | BIT(MK_OVERSIGHT);
    assert_int_equal(s_audience_mask(f, before), party | BIT(MK_COUNCIL) | BIT(MK_HOME));
    assert_int_equal(s_heard(f, MK_EDUCATION), 0);
    const Vigil__Event *e = s_heard_nth(f, MK_COUNCIL, 0);
    assert_int_equal(e->escalation_level, 2);
    assert_string_equal(e->detail, "contact:council");
    assert_string_equal(e->agency, "licensing");
    s_evs *x = s_stored(f, MK_HOME, 0, 10);
    assert_int_equal(x->n, 1);
    assert_int_equal(x->e[0].level, 2);
    assert_int_equal(x->e[0].alert_seq, a->seq);
    free(x);
    mk_alert_free(&a);
}

static void
test_agency_events(void **state)
{
    fixture *f = *state;
    s_subscribe_all(f);
    uint64_t before[MK_N];
    s_lasts(f, before);
    vgb_event off = {
        .kind = EV(AGENCY_OFFLINE), .about = "education", .count = 12, .everyone = true};
    bool has = true;
    vgb_alert_brief brief;
    s_emit(f, &off, &brief, &has);
    assert_false(has);
    s_commit(f);
    assert_int_equal(s_audience_mask(f, before), (1u << MK_N) - 1);
    const Vigil__Event *e = s_heard_nth(f, MK_POLICE, 0);
    assert_int_equal(e->count, 12);
    assert_int_equal(e->alert_id.len, 0);

    /* Not everyone: only the agency it is about, and oversight. */
    s_lasts(f, before);
    vgb_event on = {.kind = EV(AGENCY_ONLINE), .about = "education"};
    s_emit(f, &on, NULL, NULL);
    s_commit(f);
    assert_int_equal(s_audience_mask(f, before), BIT(MK_EDUCATION) | BIT(MK_OVERSIGHT));

    /* About an alert that is not there: no alert in it, the same few hear. */
    s_lasts(f, before);
    vgb_event ghost = {.kind = EV(OVERDUE), .seq = 424242, .about = "council", .level = 1};
    has = true;
    s_emit(f, &ghost, &brief, &has);
    assert_false(has);
    s_commit(f);
    assert_int_equal(s_audience_mask(f, before), BIT(MK_COUNCIL) | BIT(MK_OVERSIGHT));
    e = s_heard_nth(f, MK_COUNCIL, 1);
    assert_int_equal(e->kind, EV(OVERDUE));
    assert_int_equal(e->alert_id.len, 0);
}

/* ---- commit and rollback ------------------------------------------------------------ */

static void
test_sent_only_after_commit(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    s_subscribe_all(f);
    vgb_event ev = {.kind = EV(AGENCY_ONLINE), .about = "police"};
    s_emit(f, &ev, NULL, NULL);
    assert_true(vgb_streams_unwritten(f->s));
    assert_int_equal(w->sink.attempts, 0);
    assert_int_equal(vgb_streams_write(f->s), VG_OK);
    assert_false(vgb_streams_unwritten(f->s));
    assert_int_equal(w->sink.attempts, 0);
    mk_commit(w->store);
    assert_int_equal(w->sink.attempts, 0);
    vgb_streams_flush(f->s, true);
    assert_int_equal(s_heard(f, MK_POLICE), 1);
    assert_int_equal(s_heard(f, MK_OVERSIGHT), 1);
    assert_int_equal(w->sink.attempts, 2);
    vgb_streams_flush(f->s, true); /* sent once */
    assert_int_equal(w->sink.attempts, 2);
}

static void
test_rollback_frees_numbers(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    s_subscribe_all(f);
    vgb_event ev = {.kind = EV(AGENCY_ONLINE), .about = "licensing"};
    s_emit(f, &ev, NULL, NULL);
    s_commit(f); /* licensing: 1 */
    mk_sink_clear(&w->sink);

    for (int written = 0; written < 2; written++) {
        s_emit(f, &ev, NULL, NULL); /* 2 */
        s_emit(f, &ev, NULL, NULL); /* 3 */
        s_rollback(f, written != 0);
        assert_int_equal(w->sink.attempts, 0);
        assert_int_equal(s_last(f, MK_LICENSING), 1);
    }
    vgb_event off = {.kind = EV(AGENCY_OFFLINE), .about = "licensing", .count = 1};
    s_emit(f, &off, NULL, NULL);
    s_commit(f);
    assert_int_equal(s_heard(f, MK_LICENSING), 1);
    assert_int_equal(s_heard_nth(f, MK_LICENSING, 0)->seq, 2); /* reused */
    assert_int_equal(s_heard_nth(f, MK_LICENSING, 0)->kind, EV(AGENCY_OFFLINE));
    s_evs *x = s_stored(f, MK_LICENSING, 0, 10);
    assert_int_equal(x->n, 2);
    assert_int_equal(x->e[1].seq, 2);
    assert_int_equal(x->e[1].kind, EV(AGENCY_OFFLINE));
    free(x);
}

static void
test_destroy_drops_unsent(void **state)
{
    fixture *f = *state;
    s_subscribe_all(f);
    vgb_event ev = {.kind = EV(AGENCY_ONLINE), .about = "licensing"};
    s_emit(f, &ev, NULL, NULL);
    vgb_streams_destroy(&f->s);
    vgb_store_rollback(f->w->store);
    assert_int_equal(f->w->sink.attempts, 0);
}

/* ---- subscribers ---------------------------------------------------------------------- */

static void
test_subscriber_limit(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    uint8_t rid[VGB_SUBSCRIBERS_MAX + 1][MK_RID_LEN];
    for (uint32_t i = 0; i <= VGB_SUBSCRIBERS_MAX; i++) {
        mk_rid(rid[i], 2000 + i);
    }
    for (size_t i = 0; i < VGB_SUBSCRIBERS_MAX; i++) {
        vgb_streams_subscribe(f->s, MK_LICENSING, rid[i], MK_RID_LEN);
        mk_advance(&w->clk, 10);
    }
    /* rid[0] speaks up: rid[1] is now the one seen longest ago. */
    vgb_streams_seen(f->s, MK_LICENSING, rid[0], MK_RID_LEN);
    mk_advance(&w->clk, 10);
    vgb_streams_subscribe(f->s, MK_LICENSING, rid[VGB_SUBSCRIBERS_MAX], MK_RID_LEN);
    vgb_event ev = {.kind = EV(AGENCY_ONLINE), .about = "licensing"};
    s_emit(f, &ev, NULL, NULL);
    s_commit(f);
    assert_int_equal(mk_sink_count(&w->sink, NULL, 0, K_EVENT), VGB_SUBSCRIBERS_MAX);
    for (size_t i = 0; i <= VGB_SUBSCRIBERS_MAX; i++) {
        assert_int_equal(mk_sink_count(&w->sink, rid[i], MK_RID_LEN, K_EVENT), i == 1 ? 0 : 1);
    }
}

static void
test_same_rid_subscribes_once(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 3; i++) {
        vgb_streams_subscribe(f->s, MK_COUNCIL, f->rid[MK_COUNCIL], MK_RID_LEN);
    }
    /* The same routing id under another agency is another subscription. */
    vgb_streams_subscribe(f->s, MK_EDUCATION, f->rid[MK_COUNCIL], MK_RID_LEN);
    vgb_event ev = {.kind = EV(AGENCY_ONLINE), .about = "council"};
    s_emit(f, &ev, NULL, NULL);
    s_commit(f);
    assert_int_equal(s_heard(f, MK_COUNCIL), 1);
}

static void
test_subscriber_expiry(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    uint8_t quiet[MK_RID_LEN], chatty[MK_RID_LEN];
    mk_rid(quiet, 3001);
    mk_rid(chatty, 3002);
    vgb_streams_subscribe(f->s, MK_CS, quiet, MK_RID_LEN);
    vgb_streams_subscribe(f->s, MK_CS, chatty, MK_RID_LEN);
    vgb_event ev = {.kind = EV(AGENCY_ONLINE), .about = "childrens-services"};

    mk_advance(&w->clk, 2 * VG_KEEPALIVE_MS);
    vgb_streams_seen(f->s, MK_CS, chatty, MK_RID_LEN);
    mk_advance(&w->clk, VG_KEEPALIVE_MS);
    vgb_streams_expire(f->s); /* quiet for exactly 3 keepalives: not longer */
    s_emit(f, &ev, NULL, NULL);
    s_commit(f);
    assert_int_equal(mk_sink_count(&w->sink, quiet, MK_RID_LEN, K_EVENT), 1);
    assert_int_equal(mk_sink_count(&w->sink, chatty, MK_RID_LEN, K_EVENT), 1);

    mk_advance(&w->clk, 1);
    vgb_streams_expire(f->s);
    s_emit(f, &ev, NULL, NULL);
    s_commit(f);
    assert_int_equal(mk_sink_count(&w->sink, quiet, MK_RID_LEN, K_EVENT), 1); /* expired */
    assert_int_equal(mk_sink_count(&w->sink, chatty, MK_RID_LEN, K_EVENT), 2);

    mk_advance(&w->clk, 2 * VG_KEEPALIVE_MS + 1);
    vgb_streams_expire(f->s);
    s_emit(f, &ev, NULL, NULL);
    s_commit(f);
    assert_int_equal(mk_sink_count(&w->sink, chatty, MK_RID_LEN, K_EVENT), 2);
    /* Still numbered and stored for when someone asks. */
    assert_int_equal(s_last(f, MK_CS), 3);

    /* Seen means nothing to a connection that never subscribed. */
    vgb_streams_seen(f->s, MK_CS, quiet, MK_RID_LEN);
    s_emit(f, &ev, NULL, NULL);
    s_commit(f);
    assert_int_equal(mk_sink_count(&w->sink, quiet, MK_RID_LEN, K_EVENT), 1);
}

static void
test_gone_subscriber_dropped_full_one_kept(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    uint8_t gone[MK_RID_LEN], full[MK_RID_LEN], fine[MK_RID_LEN];
    mk_rid(gone, 4001);
    mk_rid(full, 4002);
    mk_rid(fine, 4003);
    vgb_streams_subscribe(f->s, MK_POLICE, gone, MK_RID_LEN);
    vgb_streams_subscribe(f->s, MK_POLICE, full, MK_RID_LEN);
    vgb_streams_subscribe(f->s, MK_POLICE, fine, MK_RID_LEN);
    mk_sink_refuse(&w->sink, gone, MK_RID_LEN, VG_ERR_NOT_FOUND);
    mk_sink_refuse(&w->sink, full, MK_RID_LEN, VG_ERR_TIMEOUT);
    vgb_event ev = {.kind = EV(AGENCY_ONLINE), .about = "police"};
    s_emit(f, &ev, NULL, NULL);
    s_emit(f, &ev, NULL, NULL);
    s_commit(f);
    assert_int_equal(mk_sink_count(&w->sink, fine, MK_RID_LEN, K_EVENT), 2);
    /* gone: tried once, then dropped; full: tried for every event. */
    assert_int_equal(w->sink.refused, 1 + 2);
    mk_sink_refuse(&w->sink, gone, MK_RID_LEN, VG_OK);
    mk_sink_refuse(&w->sink, full, MK_RID_LEN, VG_OK);
    s_emit(f, &ev, NULL, NULL);
    s_commit(f);
    assert_int_equal(mk_sink_count(&w->sink, gone, MK_RID_LEN, K_EVENT), 0);
    assert_int_equal(mk_sink_count(&w->sink, full, MK_RID_LEN, K_EVENT), 1);
    assert_int_equal(mk_sink_count(&w->sink, fine, MK_RID_LEN, K_EVENT), 3);
}

/* ---- oversight's view ------------------------------------------------------------------- */

static const uint8_t s_receipt[] = "signed-receipt-bytes";

typedef struct s_view {
    bool names, notes; /* what the document lets oversight see */
} s_view;

/* Emits a person's receipt of each kind about alert a and checks what
 * police (the sender) and oversight got, live and stored. */
static void
s_check_view(fixture *f, s_view v)
{
    mk_world *w = f->w;
    s_subscribe_all(f);
    mk_alert *a = mk_seal(w, "police", NULL, VG_SEV_HIGH);
    (void)mk_insert_committed(w, a, 0);
    static const struct {
        Vigil__EventKind kind;
        const char *detail;
        int text; /* 1: an officer's name, 2: free text, 0: neither */
    } cases[] = {
        {EV(ACKNOWLEDGED), "Sgt A. Example", 1},
        {EV(IN_PROGRESS), "visiting the depot", 2},
        {EV(DECLINED), "not ours: another council", 2},
        {EV(UNOPENABLE), "bad_key", 0},
    };
    size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++) {
        vgb_event ev = {.kind = cases[i].kind,
                        .seq = a->seq,
                        .about = "licensing",
                        .detail = cases[i].detail,
                        .receipt = s_receipt,
                        .receipt_len = sizeof s_receipt};
        s_emit(f, &ev, NULL, NULL);
    }
    s_commit(f);
    s_evs *mine = s_stored(f, MK_POLICE, 0, 10);
    s_evs *theirs = s_stored(f, MK_OVERSIGHT, 0, 10);
    assert_int_equal(mine->n, n);
    assert_int_equal(theirs->n, n);
    for (size_t i = 0; i < n; i++) {
        bool shown = cases[i].text == 0 || (cases[i].text == 1 && v.names) ||
                     (cases[i].text == 2 && v.notes);
        const char *want = shown ? cases[i].detail : "";
        size_t want_receipt = v.names && v.notes ? sizeof s_receipt : 0;
        const Vigil__Event *sent = s_heard_nth(f, MK_OVERSIGHT, i);
        const Vigil__Event *own = s_heard_nth(f, MK_POLICE, i);
        /* The sender's copy is whole. */
        assert_string_equal(mine->e[i].detail, cases[i].detail);
        assert_int_equal(mine->e[i].receipt_len, sizeof s_receipt);
        assert_string_equal(own->detail, cases[i].detail);
        assert_int_equal(own->signed_receipt.len, sizeof s_receipt);
        /* Oversight's, stored and live, only as the document allows. */
        if (strcmp(theirs->e[i].detail, want) != 0 || strcmp(sent->detail, want) != 0) {
            fail_msg("oversight's %d event: detail \"%s\" (sent \"%s\"), expected \"%s\"",
                     (int)cases[i].kind, theirs->e[i].detail, sent->detail, want);
        }
        assert_int_equal(theirs->e[i].receipt_len, want_receipt);
        assert_int_equal(sent->signed_receipt.len, want_receipt);
        assert_int_equal(theirs->e[i].kind, cases[i].kind);
        assert_int_equal(theirs->e[i].alert_seq, a->seq);
        assert_memory_equal(sent->alert_id.data, a->id, VG_ALERT_ID_LEN); /* metadata: always */
        assert_string_equal(sent->agency, "licensing");
    }
    free(mine);
    free(theirs);
    mk_alert_free(&a);
}

static void
test_oversight_sees_neither(void **state)
{
    s_check_view(*state, (s_view){false, false});
}

static void
test_oversight_sees_names(void **state)
{
    s_check_view(*state, (s_view){true, false});
}

static void
test_oversight_sees_notes(void **state)
{
    s_check_view(*state, (s_view){false, true});
}

static void
test_oversight_sees_all(void **state)
{
    s_check_view(*state, (s_view){true, true});
}

/* ---- runs -------------------------------------------------------------------------------- */

#define N_RUN 40

static void
test_runs_read_back_one_by_one(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    s_subscribe_all(f);
    mk_alert *a[N_RUN];
    mk_begin(w->store);
    for (size_t i = 0; i < N_RUN; i++) {
        a[i] = mk_seal(w, "police", NULL, VG_SEV_HIGH);
        (void)mk_insert(w, a[i], 0);
    }
    mk_commit(w->store);
    /* One batch: 20 accepted, a delivery (breaks licensing's run), 20 more,
     * then a receipt-carrying event and an agency event. */
    for (size_t i = 0; i < N_RUN; i++) {
        if (i == N_RUN / 2) {
            vgb_event dv = {.kind = EV(DELIVERED), .seq = a[0]->seq, .about = "licensing"};
            s_emit(f, &dv, NULL, NULL);
        }
        vgb_streams_alert_accepted(f->s, a[i]->seq, a[i]->env);
        vgb_event ev = {.kind = EV(ACCEPTED), .seq = a[i]->seq, .about = "police"};
        s_emit(f, &ev, NULL, NULL);
    }
    vgb_event ack = {.kind = EV(ACKNOWLEDGED),
                     .seq = a[3]->seq,
                     .about = "licensing",
                     .detail = "PC 1",
                     .receipt = s_receipt,
                     .receipt_len = sizeof s_receipt};
    s_emit(f, &ack, NULL, NULL);
    s_commit(f);

    /* police, the sender: 40 accepted, the delivery, the ack. */
    s_evs *x = s_stored(f, MK_POLICE, 0, 1000);
    assert_int_equal(x->n, N_RUN + 2);
    size_t k = 0;
    for (size_t i = 0; i < x->n; i++) {
        assert_int_equal(x->e[i].seq, i + 1);
        if (i == N_RUN / 2) {
            assert_int_equal(x->e[i].kind, EV(DELIVERED));
            assert_int_equal(x->e[i].alert_seq, a[0]->seq);
            assert_string_equal(x->e[i].about, "licensing");
        } else if (i == N_RUN + 1) {
            assert_int_equal(x->e[i].kind, EV(ACKNOWLEDGED));
            assert_int_equal(x->e[i].receipt_len, sizeof s_receipt);
            assert_string_equal(x->e[i].detail, "PC 1");
        } else {
            assert_int_equal(x->e[i].kind, EV(ACCEPTED));
            assert_int_equal(x->e[i].alert_seq, a[k]->seq);
            assert_string_equal(x->e[i].about, "police");
            k++;
        }
        /* the live copy says the same */
        const Vigil__Event *e = s_heard_nth(f, MK_POLICE, i);
        assert_int_equal(e->seq, x->e[i].seq);
        assert_int_equal(e->kind, x->e[i].kind);
    }
    assert_int_equal(k, N_RUN);
    free(x);

    /* Paging lands inside a run and gives each event once. */
    uint64_t after = 0;
    size_t seen = 0;
    for (;;) {
        s_evs *p = s_stored(f, MK_LICENSING, after, 7);
        if (p->n == 0) {
            free(p);
            break;
        }
        assert_true(p->n <= 7);
        for (size_t i = 0; i < p->n; i++) {
            assert_int_equal(p->e[i].seq, after + 1 + i);
        }
        after = p->e[p->n - 1].seq;
        seen += p->n;
        free(p);
    }
    assert_int_equal(seen, N_RUN + 2);
    x = s_stored(f, MK_LICENSING, 13, 3);
    assert_int_equal(x->n, 3);
    assert_int_equal(x->e[0].seq, 14);
    assert_int_equal(x->e[0].alert_seq, a[13]->seq);
    assert_int_equal(x->e[2].alert_seq, a[15]->seq);
    free(x);

    uint64_t count = 0;
    assert_int_equal(vgb_store_count(w->store, VGB_COUNT_EVENTS, "oversight", &count), VG_OK);
    assert_int_equal(count, N_RUN + 2);
    assert_int_equal(s_last(f, MK_OVERSIGHT), N_RUN + 2);
    for (size_t i = 0; i < N_RUN; i++) {
        mk_alert_free(&a[i]);
    }
}

/* ---- what is kept about alerts ------------------------------------------------------------ */

static void
test_audience_changed_by_share(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    s_subscribe_all(f);
    mk_alert *a = mk_seal(w, "police", NULL, VG_SEV_HIGH);
    mk_begin(w->store);
    (void)mk_insert(w, a, 0);
    vgb_streams_alert_accepted(f->s, a->seq, a->env);
    vgb_event ev = {.kind = EV(ACCEPTED), .seq = a->seq, .about = "police"};
    s_emit(f, &ev, NULL, NULL);
    s_commit(f);
    assert_int_equal(s_heard(f, MK_EDUCATION), 0);

    /* licensing shares it with education. */
    mk_begin(w->store);
    assert_int_equal(vgb_store_add_recipient(w->store, a->seq, "education", "licensing", 0), VG_OK);
    vgb_streams_audience_changed(f->s, a->seq);
    vgb_event sh = {.kind = EV(SHARED), .seq = a->seq, .about = "education", .detail = "licensing"};
    s_emit(f, &sh, NULL, NULL);
    s_commit(f);
    /* From now on education hears of it like any recipient. */
    vgb_event ack = {
        .kind = EV(ACKNOWLEDGED), .seq = a->seq, .about = "childrens-services", .detail = "x"};
    s_emit(f, &ack, NULL, NULL);
    s_commit(f);
    assert_int_equal(s_heard(f, MK_EDUCATION), 2);
    assert_int_equal(s_heard_nth(f, MK_EDUCATION, 1)->kind, EV(ACKNOWLEDGED));
    mk_alert_free(&a);
}

static void
test_rollback_forgets_what_it_kept(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    s_subscribe_all(f);
    /* An alert accepted in a batch that rolls back ... */
    mk_alert *x = mk_seal(w, "police", NULL, VG_SEV_LOW);
    mk_begin(w->store);
    uint64_t seq = mk_insert(w, x, 0);
    vgb_streams_alert_accepted(f->s, seq, x->env);
    vgb_event ev = {.kind = EV(ACCEPTED), .seq = seq, .about = "police"};
    s_emit(f, &ev, NULL, NULL);
    s_rollback(f, true);
    /* ... and another one that gets its number. */
    static const char *const also[] = {"council", NULL};
    mk_alert *y = mk_seal(w, "education", also, VG_SEV_CRITICAL);
    assert_int_equal(mk_insert_committed(w, y, 0), seq);
    uint64_t before[MK_N];
    s_lasts(f, before);
    vgb_event dv = {.kind = EV(DELIVERED), .seq = seq, .about = "council"};
    vgb_alert_brief brief;
    bool has = false;
    s_emit(f, &dv, &brief, &has);
    s_commit(f);
    assert_true(has);
    assert_memory_equal(brief.id, y->id, VG_ALERT_ID_LEN);
    assert_string_equal(brief.sender, "education");
    assert_int_equal(brief.severity, VG_SEV_CRITICAL);
    assert_int_equal(s_audience_mask(f, before), BIT(MK_EDUCATION) | BIT(MK_POLICE) |
                                                     BIT(MK_LICENSING) | BIT(MK_CS) |
                                                     BIT(MK_COUNCIL) | BIT(MK_OVERSIGHT));
    mk_alert_free(&x);
    mk_alert_free(&y);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_numbers_go_on_from_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_audience, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escalation_reaches_extra_agency_and_role, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_agency_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sent_only_after_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_frees_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_drops_unsent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscriber_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_rid_subscribes_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscriber_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gone_subscriber_dropped_full_one_kept, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_oversight_sees_neither, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversight_sees_names, setup_names, teardown),
        cmocka_unit_test_setup_teardown(test_oversight_sees_notes, setup_notes, teardown),
        cmocka_unit_test_setup_teardown(test_oversight_sees_all, setup_all, teardown),
        cmocka_unit_test_setup_teardown(test_runs_read_back_one_by_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audience_changed_by_share, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_forgets_what_it_kept, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
