/* test_delivery.c — broker/delivery.h from outside: with a receiving
 * connection attached, an agency's PENDING rows go out in acceptance order up
 * to cfg->inflight (the window growing to it as it fills); a receipted one leaves the window and
 * the next goes; one sent VGB_PARK_AFTER_SENDS times without a receipt is parked in the store and
 * fresh alerts take its slot; a full queue is retried soon, a gone peer or a silent connection
 * detaches (presence callback); redeliver sends only what was sent before; frames remembered and
 * forgotten. Real sealed envelopes in a real store, the fake clock, the frames kept by the test's
 * sender. s_loop plays the broker's poll loop: it services the module when it
 * says something is due, commits what parking wrote, and keeps the attached
 * connections alive as agents do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "delivery.h"
#include "modkit.h"
#include "vigil/wire.h"

#define K_DELIVER VIGIL__BROKER_FRAME__KIND_DELIVER
#define N_ALERTS_MAX 64
#define REDELIVER_MS 5000

typedef struct fixture {
    mk_world *w;     /* store, document, clock, sink */
    vgb_delivery *d; /* the module under test */
    struct {
        size_t agency;
        bool online;
    } presence[64]; /* what the presence callback was told */
    size_t n_presence;
    uint8_t rid[MK_N][MK_RID_LEN]; /* the current receiving connection per agency */
    bool alive[MK_N];              /* s_loop keeps it alive */
    uint32_t next_rid;
    mk_alert *alerts[N_ALERTS_MAX]; /* every alert made here */
    size_t n_alerts;
} fixture;

static void
s_presence(void *ctx, size_t agency, bool online)
{
    fixture *f = ctx;
    assert_true(f->n_presence < 64);
    f->presence[f->n_presence].agency = agency;
    f->presence[f->n_presence].online = online;
    f->n_presence++;
}

static void
s_new_delivery(fixture *f, int64_t inflight)
{
    vgb_delivery_destroy(&f->d);
    f->w->cfg.inflight = inflight;
    assert_int_equal(vgb_delivery_new(&f->d, f->w->store, f->w->doc, &f->w->cfg, &f->w->clk.clock,
                                      &f->w->sink.out, s_presence, f),
                     VG_OK);
}

static int
setup(void **state)
{
    mk_log_capture();
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->w = mk_world_new(NULL);
    f->w->cfg.redeliver_ms = REDELIVER_MS;
    f->w->cfg.redeliver_max_ms = 60000;
    f->next_rid = 500;
    s_new_delivery(f, 3);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    vgb_delivery_destroy(&f->d);
    assert_null(f->d);
    vgb_delivery_destroy(&f->d);
    for (size_t i = 0; i < f->n_alerts; i++) {
        mk_alert_free(&f->alerts[i]);
    }
    mk_world_destroy(&f->w);
    free(f);
    mk_log_release();
    return 0;
}

/* n alerts from sender (to the policy's agencies and `also`), accepted in
 * this order in one committed batch. */
static mk_alert **
s_alerts(fixture *f, size_t n, const char *sender, const char *const *also)
{
    assert_true(f->n_alerts + n <= N_ALERTS_MAX);
    mk_alert **first = &f->alerts[f->n_alerts];
    mk_begin(f->w->store);
    for (size_t i = 0; i < n; i++) {
        mk_alert *a = mk_seal(f->w, sender, also, VG_SEV_HIGH);
        (void)mk_insert(f->w, a, 0);
        f->alerts[f->n_alerts++] = a;
    }
    mk_commit(f->w->store);
    return first;
}

/* agency gets a new receiving connection. */
static void
s_attach(fixture *f, size_t agency)
{
    mk_rid(f->rid[agency], f->next_rid++);
    f->alive[agency] = true;
    vgb_delivery_attach(f->d, agency, f->rid[agency], MK_RID_LEN);
}

static void
s_commit_if_open(fixture *f)
{
    if (vgb_store_in_transaction(f->w->store)) {
        mk_commit(f->w->store);
    }
}

/* The broker's loop for ms of fake time. */
static void
s_loop(fixture *f, int64_t ms)
{
    mk_world *w = f->w;
    int64_t end = w->clk.mono + ms;
    for (;;) {
        long next = vgb_delivery_service(f->d);
        assert_true(next >= 0);
        s_commit_if_open(f);
        if (w->clk.mono >= end) {
            return;
        }
        int64_t dt = end - w->clk.mono;
        dt = next < dt ? next : dt;
        dt = dt < 1000 ? dt : 1000;
        dt = dt > 0 ? dt : 1;
        mk_advance(&w->clk, dt);
        for (size_t i = 0; i < MK_N; i++) {
            if (f->alive[i]) {
                vgb_delivery_seen(f->d, i, f->rid[i], MK_RID_LEN);
            }
        }
    }
}

/* The agency receipted seq as DELIVERED and the batch committed. */
static void
s_receipt(fixture *f, size_t agency, const mk_alert *a)
{
    bool changed = false;
    mk_begin(f->w->store);
    assert_int_equal(
        vgb_store_mark_delivered(f->w->store, a->seq, mk_id(agency), f->w->clk.wall, &changed),
        VG_OK);
    assert_true(changed);
    mk_commit(f->w->store);
    vgb_delivery_receipted(f->d, agency, a->seq);
}

/* The alert a Deliver frame carries (its envelope must verify and be the
 * exact stored bytes of one of ours). */
static const mk_alert *
s_alert_of(fixture *f, const Vigil__Deliver *dv)
{
    vg_envelope *env = NULL;
    vg_reason why = {{0}};
    vg_err rc = vg_envelope_verify(&env, dv->signed_envelope.data, dv->signed_envelope.len,
                                   f->w->doc, &why);
    if (rc != VG_OK) {
        fail_msg("a Deliver's envelope does not verify: %s", why.text);
    }
    const mk_alert *found = NULL;
    for (size_t i = 0; i < f->n_alerts && found == NULL; i++) {
        if (memcmp(f->alerts[i]->id, vg_envelope_id(env), VG_ALERT_ID_LEN) == 0) {
            found = f->alerts[i];
        }
    }
    vg_envelope_destroy(&env);
    assert_non_null(found);
    assert_int_equal(dv->signed_envelope.len, found->len);
    assert_memory_equal(dv->signed_envelope.data, found->bytes, found->len);
    return found;
}

/* Deliver frames to agency's current connection. */
static size_t
s_n_delivers(fixture *f, size_t agency)
{
    return mk_sink_count(&f->w->sink, f->rid[agency], MK_RID_LEN, K_DELIVER);
}

static const mk_alert *
s_delivered(fixture *f, size_t agency, size_t i)
{
    const Vigil__BrokerFrame *bf =
        mk_sink_nth(&f->w->sink, f->rid[agency], MK_RID_LEN, K_DELIVER, i);
    assert_non_null(bf);
    return s_alert_of(f, bf->deliver);
}

/* How many times a was delivered to agency's current connection. */
static size_t
s_times(fixture *f, size_t agency, const mk_alert *a)
{
    size_t n = 0;
    for (size_t i = 0; i < s_n_delivers(f, agency); i++) {
        n += s_delivered(f, agency, i) == a;
    }
    return n;
}

static bool
s_last_presence(const fixture *f, size_t agency, bool *online)
{
    for (size_t i = f->n_presence; i-- > 0;) {
        if (f->presence[i].agency == agency) {
            *online = f->presence[i].online;
            return true;
        }
    }
    return false;
}

static vgb_rrow
s_row(fixture *f, const mk_alert *a, size_t agency)
{
    vgb_rrow r;
    assert_int_equal(vgb_store_rrow(f->w->store, a->seq, mk_id(agency), &r), VG_OK);
    return r;
}

/* ---- the window ------------------------------------------------------------------ */

static void
test_window_in_acceptance_order(void **state)
{
    fixture *f = *state;
    mk_alert **a = s_alerts(f, 5, "police", NULL);
    s_loop(f, 100); /* nobody attached: nothing goes anywhere */
    assert_int_equal(f->w->sink.attempts, 0);
    assert_false(vgb_delivery_online(f->d, MK_LICENSING));

    s_attach(f, MK_LICENSING);
    bool online = false;
    assert_true(s_last_presence(f, MK_LICENSING, &online));
    assert_true(online);
    assert_true(vgb_delivery_online(f->d, MK_LICENSING));
    s_loop(f, 0);
    assert_int_equal(s_n_delivers(f, MK_LICENSING), 3); /* cfg->inflight */
    for (size_t i = 0; i < 3; i++) {
        assert_ptr_equal(s_delivered(f, MK_LICENSING, i), a[i]);
    }
    s_loop(f, 1000); /* full: nothing more */
    assert_int_equal(s_n_delivers(f, MK_LICENSING), 3);

    s_receipt(f, MK_LICENSING, a[1]);
    s_loop(f, 0);
    assert_int_equal(s_n_delivers(f, MK_LICENSING), 4);
    assert_ptr_equal(s_delivered(f, MK_LICENSING, 3), a[3]);
    s_receipt(f, MK_LICENSING, a[0]);
    s_receipt(f, MK_LICENSING, a[2]);
    s_loop(f, 0);
    assert_int_equal(s_n_delivers(f, MK_LICENSING), 5);
    assert_ptr_equal(s_delivered(f, MK_LICENSING, 4), a[4]);
    s_receipt(f, MK_LICENSING, a[3]);
    s_receipt(f, MK_LICENSING, a[4]);
    s_loop(f, 30000);
    assert_int_equal(s_n_delivers(f, MK_LICENSING), 5); /* all receipted: nothing again */
    /* No other agency had a connection. */
    assert_int_equal(mk_sink_count(&f->w->sink, NULL, 0, 0), 5);

    /* New work, once the commit says so. */
    mk_alert **b = s_alerts(f, 1, "home-office", NULL);
    vgb_delivery_dirty(f->d, MK_LICENSING);
    s_loop(f, 0);
    assert_int_equal(s_n_delivers(f, MK_LICENSING), 6);
    assert_ptr_equal(s_delivered(f, MK_LICENSING, 5), b[0]);
}

/* The window starts small and grows as it fills, up to cfg->inflight: every
 * slot, before and after growing, still holds its delivery (in order, and
 * redelivered as one in the window). */
static void
test_window_grows_to_inflight(void **state)
{
    fixture *f = *state;
    s_new_delivery(f, 40);
    mk_alert **a = s_alerts(f, 50, "police", NULL);
    s_attach(f, MK_LICENSING);
    s_loop(f, 0);
    assert_int_equal(s_n_delivers(f, MK_LICENSING), 40);
    for (size_t i = 0; i < 40; i++) {
        assert_ptr_equal(s_delivered(f, MK_LICENSING, i), a[i]);
    }
    s_loop(f, 1000); /* full at 40, not at a power of two */
    assert_int_equal(s_n_delivers(f, MK_LICENSING), 40);

    /* The first slot, one made by the first growth, the last one: in the window. */
    vgb_delivery_redeliver(f->d, MK_LICENSING, a[0]->seq, false);
    vgb_delivery_redeliver(f->d, MK_LICENSING, a[17]->seq, false);
    vgb_delivery_redeliver(f->d, MK_LICENSING, a[39]->seq, false);
    vgb_delivery_redeliver(f->d, MK_LICENSING, a[45]->seq, false); /* not sent yet */
    assert_int_equal(s_n_delivers(f, MK_LICENSING), 43);
    assert_ptr_equal(s_delivered(f, MK_LICENSING, 40), a[0]);
    assert_ptr_equal(s_delivered(f, MK_LICENSING, 41), a[17]);
    assert_ptr_equal(s_delivered(f, MK_LICENSING, 42), a[39]);

    for (size_t i = 0; i < 10; i++) {
        s_receipt(f, MK_LICENSING, a[i]);
    }
    s_loop(f, 0);
    assert_int_equal(s_n_delivers(f, MK_LICENSING), 53);
    for (size_t i = 0; i < 10; i++) {
        assert_ptr_equal(s_delivered(f, MK_LICENSING, 43 + i), a[40 + i]);
    }
    s_loop(f, 1000);
    assert_int_equal(s_n_delivers(f, MK_LICENSING), 53);
}

static void
test_windows_are_per_agency(void **state)
{
    fixture *f = *state;
    mk_alert **a = s_alerts(f, 4, "police", NULL); /* licensing and childrens-services */
    s_attach(f, MK_LICENSING);
    s_attach(f, MK_CS);
    mk_sink_refuse(&f->w->sink, f->rid[MK_LICENSING], MK_RID_LEN, VG_ERR_TIMEOUT);
    s_loop(f, 0);
    assert_int_equal(s_n_delivers(f, MK_LICENSING), 0);
    assert_int_equal(s_n_delivers(f, MK_CS), 3);
    s_receipt(f, MK_CS, a[0]);
    s_loop(f, 0);
    assert_int_equal(s_n_delivers(f, MK_CS), 4);
    assert_ptr_equal(s_delivered(f, MK_CS, 3), a[3]);
}

/* ---- parking ------------------------------------------------------------------------ */

static void
test_unreceipted_delivery_is_parked(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    s_new_delivery(f, 2);
    mk_alert **a = s_alerts(f, 4, "police", NULL); /* a[0], a[1] will never be receipted */
    s_attach(f, MK_LICENSING);
    s_loop(f, 0);
    assert_int_equal(s_times(f, MK_LICENSING, a[0]), 1);
    assert_int_equal(s_times(f, MK_LICENSING, a[1]), 1);
    s_loop(f, REDELIVER_MS); /* sent again after redeliver */
    assert_int_equal(s_times(f, MK_LICENSING, a[0]), 2);
    assert_int_equal(s_times(f, MK_LICENSING, a[1]), 2);
    assert_int_equal(s_times(f, MK_LICENSING, a[2]), 0);

    /* Sent VGB_PARK_AFTER_SENDS times: they leave the window, and the fresh
     * ones behind them take it. */
    s_loop(f, 2 * REDELIVER_MS);
    assert_int_equal(s_times(f, MK_LICENSING, a[0]), VGB_PARK_AFTER_SENDS);
    assert_int_equal(s_times(f, MK_LICENSING, a[1]), VGB_PARK_AFTER_SENDS);
    assert_int_equal(s_times(f, MK_LICENSING, a[2]), 1);
    assert_int_equal(s_times(f, MK_LICENSING, a[3]), 1);
    assert_int_equal(s_row(f, a[0], MK_LICENSING).tries, 1);
    assert_int_equal(s_row(f, a[1], MK_LICENSING).tries, 1);
    assert_int_equal(s_row(f, a[0], MK_LICENSING).state, VGB_PENDING);
    int64_t next = 0;
    assert_int_equal(vgb_store_next_try(w->store, "licensing", w->clk.wall, &next), VG_OK);
    assert_int_equal(next, w->clk.wall + REDELIVER_MS); /* the first wait: redeliver */

    /* The fresh ones are receipted; the parked ones come back at their time. */
    s_receipt(f, MK_LICENSING, a[2]);
    s_receipt(f, MK_LICENSING, a[3]);
    s_loop(f, REDELIVER_MS - 1);
    assert_int_equal(s_times(f, MK_LICENSING, a[0]), 2);
    s_loop(f, 1);
    assert_int_equal(s_times(f, MK_LICENSING, a[0]), 3);
    assert_int_equal(s_times(f, MK_LICENSING, a[1]), 3);

    /* Unreceipted again: parked again, the wait doubled. */
    s_loop(f, 3 * REDELIVER_MS);
    assert_int_equal(s_times(f, MK_LICENSING, a[0]), 4);
    assert_int_equal(s_row(f, a[0], MK_LICENSING).tries, 2);
    assert_int_equal(vgb_store_next_try(w->store, "licensing", w->clk.wall, &next), VG_OK);
    assert_int_equal(next, w->clk.wall + 2 * REDELIVER_MS);

    /* A receipt while parked ends it. */
    s_receipt(f, MK_LICENSING, a[0]);
    s_receipt(f, MK_LICENSING, a[1]);
    s_loop(f, 60000);
    assert_int_equal(s_times(f, MK_LICENSING, a[0]), 4);
    assert_int_equal(vgb_store_next_try(w->store, "licensing", w->clk.wall, &next), VG_OK);
    assert_int_equal(next, 0);
}

static void
test_crash_looping_client_cannot_hold_window(void **state)
{
    fixture *f = *state;
    s_new_delivery(f, 1);
    mk_alert **a = s_alerts(f, 2, "police", NULL);
    /* A client that crashes on a[0] every time it gets it and comes back
     * (a new connection) two seconds later, never receipting it. */
    size_t sent0 = 0;
    for (int round = 0; round < 10; round++) {
        s_attach(f, MK_LICENSING);
        s_loop(f, 2000);
        sent0 += s_times(f, MK_LICENSING, a[0]);
        if (s_times(f, MK_LICENSING, a[1]) > 0) {
            break;
        }
    }
    assert_true(sent0 >= 1);
    /* The sends count across reconnects (the window outlives its
     * connection): a[0] is set aside and a[1] gets its slot. (It was sent
     * again at every reconnect, never parked, before the fix.) */
    assert_true(s_times(f, MK_LICENSING, a[1]) > 0);
    assert_true(sent0 <= VGB_PARK_AFTER_SENDS + 1);
}

static void
test_full_queue_retried_soon(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    mk_alert **a = s_alerts(f, 1, "police", NULL);
    s_attach(f, MK_LICENSING);
    mk_sink_refuse(&w->sink, f->rid[MK_LICENSING], MK_RID_LEN, VG_ERR_TIMEOUT);
    long next = vgb_delivery_service(f->d);
    assert_int_equal(w->sink.refused, 1);
    assert_true(next >= 0 && next < REDELIVER_MS / 10); /* soon, not after a backoff */
    for (int i = 0; i < 10; i++) {
        mk_advance(&w->clk, next > 0 ? next : 1);
        vgb_delivery_seen(f->d, MK_LICENSING, f->rid[MK_LICENSING], MK_RID_LEN);
        next = vgb_delivery_service(f->d);
        s_commit_if_open(f);
        assert_true(next >= 0 && next < REDELIVER_MS / 10);
    }
    assert_true(w->sink.refused >= 5);
    assert_true(vgb_delivery_online(f->d, MK_LICENSING)); /* full is not gone */
    mk_sink_refuse(&w->sink, f->rid[MK_LICENSING], MK_RID_LEN, VG_OK);
    s_loop(f, next);
    assert_int_equal(s_times(f, MK_LICENSING, a[0]), 1);
    /* The refused tries were not sends: it is sent twice before it parks. */
    s_loop(f, REDELIVER_MS);
    assert_int_equal(s_times(f, MK_LICENSING, a[0]), 2);
    assert_int_equal(s_row(f, a[0], MK_LICENSING).tries, 0);
    s_loop(f, 2 * REDELIVER_MS);
    assert_int_equal(s_times(f, MK_LICENSING, a[0]), 2);
    assert_int_equal(s_row(f, a[0], MK_LICENSING).tries, 1);
}

static void
test_full_queue_keeps_first_delivery_order(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    mk_alert **a = s_alerts(f, 3, "police", NULL);
    s_attach(f, MK_LICENSING);
    /* The connection's queue is full for one frame: a[0]'s first send. */
    mk_sink_refuse_next(&w->sink, f->rid[MK_LICENSING], MK_RID_LEN, VG_ERR_TIMEOUT, 1);
    (void)vgb_delivery_service(f->d);
    assert_int_equal(w->sink.refused, 1);
    assert_int_equal(s_n_delivers(f, MK_LICENSING), 0);
    /* The loop comes round again before a[0]'s retry is due (any frame
     * from any client wakes it), the queue having drained meanwhile. */
    mk_advance(&w->clk, 5);
    (void)vgb_delivery_service(f->d);
    s_loop(f, 100);
    assert_int_equal(s_n_delivers(f, MK_LICENSING), 3);
    const mk_alert *got[3] = {s_delivered(f, MK_LICENSING, 0), s_delivered(f, MK_LICENSING, 1),
                              s_delivered(f, MK_LICENSING, 2)};
    /* First deliveries in acceptance order: nothing behind a[0] goes while
     * a[0] waits for room (they once went first). */
    assert_ptr_equal(got[0], a[0]);
    assert_ptr_equal(got[1], a[1]);
    assert_ptr_equal(got[2], a[2]);
}

/* ---- connections ------------------------------------------------------------------------ */

static void
test_gone_peer_detaches(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    mk_alert **a = s_alerts(f, 2, "police", NULL);
    s_attach(f, MK_LICENSING);
    uint8_t old[MK_RID_LEN];
    memcpy(old, f->rid[MK_LICENSING], MK_RID_LEN);
    mk_sink_refuse(&w->sink, old, MK_RID_LEN, VG_ERR_NOT_FOUND);
    s_loop(f, 0);
    bool online = true;
    assert_true(s_last_presence(f, MK_LICENSING, &online));
    assert_false(online);
    assert_false(vgb_delivery_online(f->d, MK_LICENSING));
    size_t tried = w->sink.attempts;
    assert_true(tried >= 1);
    s_loop(f, 3 * REDELIVER_MS);
    assert_int_equal(w->sink.attempts, tried); /* nobody to send to */

    s_attach(f, MK_LICENSING); /* it comes back */
    assert_true(s_last_presence(f, MK_LICENSING, &online));
    assert_true(online);
    s_loop(f, 0);
    assert_int_equal(s_n_delivers(f, MK_LICENSING), 2);
    assert_ptr_equal(s_delivered(f, MK_LICENSING, 0), a[0]);
    assert_ptr_equal(s_delivered(f, MK_LICENSING, 1), a[1]);
}

static void
test_silent_connection_detaches(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    s_attach(f, MK_EDUCATION);
    long next = vgb_delivery_service(f->d);
    assert_true(next > 0 && next <= 3 * VG_KEEPALIVE_MS + 1); /* it wakes to check */
    mk_advance(&w->clk, 3 * VG_KEEPALIVE_MS);
    (void)vgb_delivery_service(f->d);
    assert_true(vgb_delivery_online(f->d, MK_EDUCATION)); /* 3 keepalives: not longer */
    mk_advance(&w->clk, 1);
    (void)vgb_delivery_service(f->d);
    assert_false(vgb_delivery_online(f->d, MK_EDUCATION));
    bool online = true;
    assert_true(s_last_presence(f, MK_EDUCATION, &online));
    assert_false(online);

    /* A connection that speaks up stays. */
    s_attach(f, MK_EDUCATION);
    mk_advance(&w->clk, 2 * VG_KEEPALIVE_MS);
    vgb_delivery_seen(f->d, MK_EDUCATION, f->rid[MK_EDUCATION], MK_RID_LEN);
    uint8_t other[MK_RID_LEN];
    mk_rid(other, 9999);
    vgb_delivery_seen(f->d, MK_COUNCIL, other, MK_RID_LEN); /* not attached: nothing */
    mk_advance(&w->clk, 2 * VG_KEEPALIVE_MS);
    (void)vgb_delivery_service(f->d);
    assert_true(vgb_delivery_online(f->d, MK_EDUCATION));
    assert_false(vgb_delivery_online(f->d, MK_COUNCIL));
    /* Another connection of the agency speaking is not the receiving one. */
    vgb_delivery_seen(f->d, MK_EDUCATION, other, MK_RID_LEN);
    mk_advance(&w->clk, VG_KEEPALIVE_MS + 1);
    (void)vgb_delivery_service(f->d);
    assert_false(vgb_delivery_online(f->d, MK_EDUCATION));
}

static void
test_reattach_sends_unreceipted_again(void **state)
{
    fixture *f = *state;
    mk_alert **a = s_alerts(f, 4, "police", NULL);
    s_attach(f, MK_LICENSING);
    s_loop(f, 0);
    s_receipt(f, MK_LICENSING, a[1]);
    s_loop(f, 0);
    assert_int_equal(s_n_delivers(f, MK_LICENSING), 4);

    /* The same connection saying Hello again only keeps it alive. */
    size_t told = f->n_presence;
    vgb_delivery_attach(f->d, MK_LICENSING, f->rid[MK_LICENSING], MK_RID_LEN);
    assert_int_equal(f->n_presence, told);
    s_loop(f, 0);
    assert_int_equal(s_n_delivers(f, MK_LICENSING), 4);

    /* A new one gets everything unreceipted again, in order. */
    uint8_t old[MK_RID_LEN];
    memcpy(old, f->rid[MK_LICENSING], MK_RID_LEN);
    s_attach(f, MK_LICENSING);
    bool online = false;
    assert_true(s_last_presence(f, MK_LICENSING, &online));
    assert_true(online);
    assert_true(vgb_delivery_online(f->d, MK_LICENSING));
    s_loop(f, 0);
    assert_int_equal(s_n_delivers(f, MK_LICENSING), 3);
    assert_ptr_equal(s_delivered(f, MK_LICENSING, 0), a[0]);
    assert_ptr_equal(s_delivered(f, MK_LICENSING, 1), a[2]);
    assert_ptr_equal(s_delivered(f, MK_LICENSING, 2), a[3]);
    assert_int_equal(mk_sink_count(&f->w->sink, old, MK_RID_LEN, K_DELIVER), 4); /* no more */
}

static void
test_parked_delivery_survives_reconnect(void **state)
{
    fixture *f = *state;
    s_new_delivery(f, 1);
    mk_alert **a = s_alerts(f, 2, "police", NULL);
    s_attach(f, MK_LICENSING);
    s_loop(f, 3 * REDELIVER_MS); /* a[0]: sent twice, parked; a[1] takes the slot */
    assert_int_equal(s_row(f, a[0], MK_LICENSING).tries, 1);
    assert_int_equal(s_times(f, MK_LICENSING, a[1]), 1);
    s_receipt(f, MK_LICENSING, a[1]);
    s_attach(f, MK_LICENSING); /* reconnects while a[0] waits */
    s_loop(f, REDELIVER_MS - 1);
    assert_int_equal(s_times(f, MK_LICENSING, a[0]), 0); /* its time has not come */
    s_loop(f, 1);
    assert_int_equal(s_times(f, MK_LICENSING, a[0]), 1); /* not lost */
}

/* ---- redeliver ------------------------------------------------------------------------------ */

static void
test_redeliver_only_what_was_sent(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    s_new_delivery(f, 1);
    mk_alert **a = s_alerts(f, 3, "police", NULL);
    s_attach(f, MK_LICENSING);
    s_loop(f, 0);
    assert_int_equal(s_times(f, MK_LICENSING, a[0]), 1);

    vgb_delivery_redeliver(f->d, MK_LICENSING, a[0]->seq, false); /* in the window */
    assert_int_equal(s_times(f, MK_LICENSING, a[0]), 2);
    vgb_delivery_redeliver(f->d, MK_LICENSING, a[1]->seq, false); /* never sent: stays queued */
    assert_int_equal(s_times(f, MK_LICENSING, a[1]), 0);
    vgb_delivery_redeliver(f->d, MK_LICENSING, a[2]->seq, false);
    assert_int_equal(s_n_delivers(f, MK_LICENSING), 2);

    /* Receipted as delivered: sent before. */
    s_receipt(f, MK_LICENSING, a[0]);
    s_loop(f, 0);
    assert_ptr_equal(s_delivered(f, MK_LICENSING, 2), a[1]); /* next in line, in order */
    vgb_delivery_redeliver(f->d, MK_LICENSING, a[0]->seq, true);
    assert_int_equal(s_times(f, MK_LICENSING, a[0]), 3);
    assert_int_equal(s_times(f, MK_LICENSING, a[2]), 0);

    /* Away: nothing (it gets everything when it connects). */
    f->alive[MK_LICENSING] = false;
    mk_advance(&w->clk, 3 * VG_KEEPALIVE_MS + 1);
    (void)vgb_delivery_service(f->d);
    assert_false(vgb_delivery_online(f->d, MK_LICENSING));
    size_t tried = w->sink.attempts;
    vgb_delivery_redeliver(f->d, MK_LICENSING, a[0]->seq, true);
    vgb_delivery_redeliver(f->d, MK_LICENSING, a[1]->seq, false);
    assert_int_equal(w->sink.attempts, tried);
}

static void
test_redeliver_carries_share_records(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    mk_alert **a = s_alerts(f, 1, "police", NULL);
    /* Accepted: its frame is kept; then licensing shares it with education
     * and the kept frame (which has no share record) is forgotten. */
    vgb_delivery_remember(f->d, a[0]->seq, a[0]->bytes, a[0]->len);
    uint8_t *share = NULL;
    size_t share_len = 0;
    mk_begin(w->store);
    mk_share(w, a[0], "licensing", "education", 0, &share, &share_len, NULL);
    mk_commit(w->store);
    vgb_delivery_forget(f->d, a[0]->seq);
    vgb_delivery_dirty(f->d, MK_EDUCATION);

    s_attach(f, MK_EDUCATION); /* a row pending since the share: found like a new one */
    s_loop(f, 0);
    assert_int_equal(s_n_delivers(f, MK_EDUCATION), 1);
    const Vigil__BrokerFrame *bf =
        mk_sink_nth(&w->sink, f->rid[MK_EDUCATION], MK_RID_LEN, K_DELIVER, 0);
    assert_ptr_equal(s_alert_of(f, bf->deliver), a[0]);
    assert_int_equal(bf->deliver->n_signed_shares, 1);
    assert_int_equal(bf->deliver->signed_shares[0].len, share_len);
    assert_memory_equal(bf->deliver->signed_shares[0].data, share, share_len);

    vgb_delivery_redeliver(f->d, MK_EDUCATION, a[0]->seq, true);
    bf = mk_sink_nth(&w->sink, f->rid[MK_EDUCATION], MK_RID_LEN, K_DELIVER, 1);
    assert_non_null(bf);
    assert_int_equal(bf->deliver->n_signed_shares, 1);
    assert_memory_equal(bf->deliver->signed_shares[0].data, share, share_len);

    /* licensing itself needs none. */
    s_attach(f, MK_LICENSING);
    s_loop(f, 0);
    bf = mk_sink_nth(&w->sink, f->rid[MK_LICENSING], MK_RID_LEN, K_DELIVER, 0);
    assert_non_null(bf);
    assert_int_equal(bf->deliver->n_signed_shares, 0);
    free(share);
}

/* ---- remembered frames ---------------------------------------------------------------------- */

static void
test_remembered_frame_is_sent_until_forgotten(void **state)
{
    fixture *f = *state;
    mk_alert **a = s_alerts(f, 1, "police", NULL);
    static const uint8_t decoy[] = "the frame kept at acceptance";
    vgb_delivery_remember(f->d, a[0]->seq, decoy, sizeof decoy);
    s_attach(f, MK_LICENSING);
    s_loop(f, 0);
    const Vigil__BrokerFrame *bf =
        mk_sink_nth(&f->w->sink, f->rid[MK_LICENSING], MK_RID_LEN, K_DELIVER, 0);
    assert_non_null(bf);
    assert_int_equal(bf->deliver->signed_envelope.len, sizeof decoy);
    assert_memory_equal(bf->deliver->signed_envelope.data, decoy, sizeof decoy);
    vgb_delivery_forget(f->d, a[0]->seq);
    vgb_delivery_redeliver(f->d, MK_LICENSING, a[0]->seq, true);
    assert_ptr_equal(s_delivered(f, MK_LICENSING, 1), a[0]); /* from the store */
}

static void
test_forget_all_after_rollback(void **state)
{
    fixture *f = *state;
    mk_world *w = f->w;
    /* x is accepted and remembered in a batch that rolls back ... */
    mk_alert *x = mk_seal(w, "police", NULL, VG_SEV_HIGH);
    mk_begin(w->store);
    uint64_t seq = mk_insert(w, x, 0);
    vgb_delivery_remember(f->d, seq, x->bytes, x->len);
    vgb_store_rollback(w->store);
    vgb_delivery_forget(f->d, 0);
    /* ... and y gets its number. */
    mk_alert **y = s_alerts(f, 1, "home-office", NULL);
    assert_int_equal(y[0]->seq, seq);
    s_attach(f, MK_LICENSING);
    s_loop(f, 0);
    assert_int_equal(s_n_delivers(f, MK_LICENSING), 1);
    assert_ptr_equal(s_delivered(f, MK_LICENSING, 0), y[0]); /* not x */
    mk_alert_free(&x);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_window_in_acceptance_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_grows_to_inflight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_windows_are_per_agency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreceipted_delivery_is_parked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_looping_client_cannot_hold_window, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_full_queue_retried_soon, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_queue_keeps_first_delivery_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_gone_peer_detaches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_connection_detaches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reattach_sends_unreceipted_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parked_delivery_survives_reconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redeliver_only_what_was_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redeliver_carries_share_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remembered_frame_is_sent_until_forgotten, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_forget_all_after_rollback, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
