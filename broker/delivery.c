/* delivery.c — per-agency windows and redelivery with backoff (delivery.h). */
#include "delivery.h"

#include <stdlib.h>
#include <string.h>

#include "links.h"
#include "vigil.pb-c.h"
#include "vigil/log.h"
#include "vigil/wire.h"

#define S_FULL_RETRY_MS 20 /* a delivery whose connection's queue was full: next try */
#define S_WINDOW_FIRST 16  /* delivery window slots made at first; doubled as it fills */

typedef struct s_inflight {
    uint64_t seq;     /* alert sent and not yet receipted */
    int64_t due_mono; /* when to send it again */
    uint32_t attempt; /* sends so far (for backoff) */
} s_inflight;

/* One agency's receiving connection and window. */
typedef struct s_agency {
    const char *id;           /* borrowed from the network document */
    size_t idx;               /* its index */
    uint8_t rid[VGB_RID_MAX]; /* routing id of the receiving connection */
    size_t rid_len;           /* 0 = no receiving connection */
    int64_t last_seen_mono;   /* last frame from that connection */
    s_inflight *inflight;     /* cap_inflight slots, from its first connection on */
    size_t cap_inflight;      /* allocated: grows by doubling up to cfg->inflight */
    size_t n_inflight;        /* used slots */
    bool dirty;               /* the store may hold work not in the window */
    bool revoked;             /* revoked in the document: never attached again */
    int64_t wake_mono;        /* a parked delivery is due then (INT64_MAX) */
} s_agency;

/* The Deliver frame of a recent alert, packed once at acceptance (a slot
 * per seq modulo S_FRAMES): most deliveries are sent from here instead of
 * reading the envelope back from the store. Not used for an alert with
 * share records (they are per recipient). */
#define S_FRAMES 1024
typedef struct s_frame {
    uint64_t seq;   /* 0: empty */
    uint8_t *frame; /* packed BrokerFrame{Deliver} */
    size_t len;     /* its length */
} s_frame;

struct vgb_delivery {
    vgb_store *store;            /* borrowed */
    const vg_broker_config *cfg; /* borrowed */
    const vg_clock *clock;       /* borrowed */
    const vgb_out *out;          /* borrowed */
    vgb_presence_fn presence;    /* told of connections gained and lost */
    void *presence_ctx;          /* its context */
    s_agency *ag;                /* one per agency of the document */
    size_t n;                    /* agencies */
    s_frame *frames;             /* S_FRAMES slots, or NULL */
};

vg_err
vgb_delivery_new(vgb_delivery **out, vgb_store *store, const vg_netdoc *doc,
                 const vg_broker_config *cfg, const vg_clock *clock, const vgb_out *o,
                 vgb_presence_fn presence, void *presence_ctx)
{
    vgb_delivery *d = calloc(1, sizeof *d);
    if (d == NULL) {
        return VG_ERR_NOMEM;
    }
    *d = (vgb_delivery){.store = store,
                        .cfg = cfg,
                        .clock = clock,
                        .out = o,
                        .presence = presence,
                        .presence_ctx = presence_ctx};
    d->n = vg_netdoc_n_agencies(doc);
    d->ag = calloc(d->n ? d->n : 1, sizeof *d->ag);
    vg_err rc = d->ag != NULL ? VG_OK : VG_ERR_NOMEM;
    for (size_t i = 0; i < d->n && rc == VG_OK; i++) {
        vg_agency ag;
        vg_netdoc_agency_at(doc, i, &ag);
        d->ag[i] = (s_agency){.id = ag.id, .idx = i, .wake_mono = INT64_MAX, .revoked = ag.revoked};
    }
    if (rc != VG_OK) {
        vgb_delivery_destroy(&d);
        return rc;
    }
    *out = d;
    return VG_OK;
}

void
vgb_delivery_destroy(vgb_delivery **d_p)
{
    if (d_p == NULL || *d_p == NULL) {
        return;
    }
    vgb_delivery *d = *d_p;
    for (size_t i = 0; d->ag != NULL && i < d->n; i++) {
        free(d->ag[i].inflight);
    }
    for (size_t i = 0; d->frames != NULL && i < S_FRAMES; i++) {
        free(d->frames[i].frame);
    }
    free(d->frames);
    free(d->ag);
    free(d);
    *d_p = NULL;
}

static void
s_detach(vgb_delivery *d, s_agency *a, const char *why)
{
    if (a->rid_len == 0) {
        return;
    }
    vg_log(VG_LOG_INFO, "broker", "agency.offline", "agency=%s reason=%s inflight=%zu", a->id, why,
           a->n_inflight);
    a->rid_len = 0;
    /* The window stays, with its sends counted: what was in flight goes
     * again, first thing, on the next connection, and a client that crashes
     * on one alert and reconnects sees it set aside after
     * VGB_PARK_AFTER_SENDS sends like any other (the count is not reset by
     * reconnecting). */
    for (size_t i = 0; i < a->n_inflight; i++) {
        a->inflight[i].due_mono = 0;
    }
    a->dirty = false;
    a->wake_mono = INT64_MAX;
    d->presence(d->presence_ctx, a->idx, false);
}

void
vgb_delivery_attach(vgb_delivery *d, size_t agency, const uint8_t *rid, size_t rid_len)
{
    if (agency >= d->n || d->ag[agency].revoked) {
        return;
    }
    s_agency *a = &d->ag[agency];
    bool same = a->rid_len == rid_len && memcmp(a->rid, rid, rid_len) == 0;
    a->last_seen_mono = vg_clock_mono_ms(d->clock);
    if (same) {
        return;
    }
    if (a->rid_len != 0) {
        s_detach(d, a, "replaced");
    }
    /* The window is made when the agency first connects to receive (most of
     * a national network's agencies may never be connected to this broker),
     * small, and grows as deliveries fill it (s_fill_one): an agency that is
     * connected and seldom sent to holds a few slots, not `inflight`. */
    if (a->inflight == NULL) {
        size_t cap =
            S_WINDOW_FIRST < (size_t)d->cfg->inflight ? S_WINDOW_FIRST : (size_t)d->cfg->inflight;
        if ((a->inflight = calloc(cap, sizeof(s_inflight))) == NULL) {
            vg_log(VG_LOG_ERROR, "broker", "agency.nomem", "agency=%s", a->id);
            return; /* not attached: its next Hello tries again */
        }
        a->cap_inflight = cap;
    }
    memcpy(a->rid, rid, rid_len);
    a->rid_len = rid_len;
    a->dirty = true;
    a->wake_mono = INT64_MAX;
    vg_log(VG_LOG_INFO, "broker", "agency.online", "agency=%s", a->id);
    d->presence(d->presence_ctx, agency, true);
}

void
vgb_delivery_seen(vgb_delivery *d, size_t agency, const uint8_t *rid, size_t rid_len)
{
    s_agency *a = &d->ag[agency];
    if (a->rid_len == rid_len && memcmp(a->rid, rid, rid_len) == 0) {
        a->last_seen_mono = vg_clock_mono_ms(d->clock);
    }
}

bool
vgb_delivery_online(const vgb_delivery *d, size_t agency)
{
    return d->ag[agency].rid_len != 0;
}

void
vgb_delivery_dirty(vgb_delivery *d, size_t agency)
{
    d->ag[agency].dirty = true;
}

void
vgb_delivery_receipted(vgb_delivery *d, size_t agency, uint64_t seq)
{
    s_agency *a = &d->ag[agency];
    for (size_t i = 0; i < a->n_inflight; i++) {
        if (a->inflight[i].seq == seq) {
            a->inflight[i] = a->inflight[--a->n_inflight];
            return;
        }
    }
}

/* The share records naming the receiving agency (onward sharing). */
typedef struct s_shares {
    ProtobufCBinaryData *items; /* malloc'ed copies */
    size_t n;                   /* count */
    bool failed;                /* out of memory */
} s_shares;

static void
s_add_share(void *ctx, const uint8_t *bytes, size_t len)
{
    s_shares *sh = ctx;
    ProtobufCBinaryData *items = realloc(sh->items, (sh->n + 1) * sizeof *items);
    uint8_t *copy = malloc(len ? len : 1);
    if (items == NULL || copy == NULL) {
        sh->items = items ? items : sh->items;
        free(copy);
        sh->failed = true;
        return;
    }
    memcpy(copy, bytes, len);
    sh->items = items;
    sh->items[sh->n].data = copy;
    sh->items[sh->n++].len = len;
}

static void
s_shares_fini(s_shares *sh)
{
    for (size_t i = 0; i < sh->n; i++) {
        free(sh->items[i].data);
    }
    free(sh->items);
}

void
vgb_delivery_remember(vgb_delivery *d, uint64_t seq, const uint8_t *env, size_t len)
{
    if (d->frames == NULL && (d->frames = calloc(S_FRAMES, sizeof *d->frames)) == NULL) {
        return; /* sent from the store */
    }
    s_frame *slot = &d->frames[seq % S_FRAMES];
    Vigil__Deliver dv = VIGIL__DELIVER__INIT;
    dv.signed_envelope.data = (uint8_t *)env;
    dv.signed_envelope.len = len;
    Vigil__BrokerFrame f = VIGIL__BROKER_FRAME__INIT;
    f.kind_case = VIGIL__BROKER_FRAME__KIND_DELIVER;
    f.deliver = &dv;
    size_t flen = vigil__broker_frame__get_packed_size(&f);
    uint8_t *frame = flen <= slot->len ? slot->frame : realloc(slot->frame, flen);
    if (frame == NULL) {
        slot->seq = 0;
        return;
    }
    vigil__broker_frame__pack(&f, frame);
    slot->frame = frame;
    slot->len = flen;
    slot->seq = seq;
}

void
vgb_delivery_forget(vgb_delivery *d, uint64_t seq)
{
    if (d->frames != NULL && seq != 0 && d->frames[seq % S_FRAMES].seq == seq) {
        d->frames[seq % S_FRAMES].seq = 0;
    }
    for (size_t i = 0; d->frames != NULL && seq == 0 && i < S_FRAMES; i++) {
        d->frames[i].seq = 0;
    }
}

/* Sends alert seq to the agency's connection. VG_ERR_NOT_FOUND: peer gone. */
static vg_err
s_send_alert(vgb_delivery *d, s_agency *a, uint64_t seq)
{
    const s_frame *slot = d->frames != NULL ? &d->frames[seq % S_FRAMES] : NULL;
    if (slot != NULL && slot->seq == seq) {
        return vgb_out_send(d->out, a->rid, a->rid_len, slot->frame, slot->len);
    }
    uint8_t *env = NULL;
    size_t env_len = 0;
    vg_err rc = vgb_store_envelope(d->store, seq, &env, &env_len);
    if (rc != VG_OK) {
        return rc;
    }
    s_shares sh = {0};
    rc = vgb_store_shares_to(d->store, seq, a->id, s_add_share, &sh);
    vgb_linkview lv = {0};
    if (rc == VG_OK) {
        rc = vgb_links_view(&lv, d->store, NULL, seq, a->id, vg_clock_wall_ms(d->clock));
    }
    Vigil__Deliver dv = VIGIL__DELIVER__INIT;
    dv.signed_envelope.data = env;
    dv.signed_envelope.len = env_len;
    dv.n_signed_shares = sh.n;
    dv.signed_shares = sh.items;
    dv.n_linked = lv.n;
    dv.linked = lv.items;
    Vigil__BrokerFrame f = VIGIL__BROKER_FRAME__INIT;
    f.kind_case = VIGIL__BROKER_FRAME__KIND_DELIVER;
    f.deliver = &dv;
    size_t len = vigil__broker_frame__get_packed_size(&f);
    uint8_t *buf = rc == VG_OK && !sh.failed ? malloc(len) : NULL;
    if (buf != NULL) {
        vigil__broker_frame__pack(&f, buf);
        rc = vgb_out_send(d->out, a->rid, a->rid_len, buf, len);
    } else if (rc == VG_OK) {
        rc = VG_ERR_NOMEM;
    }
    free(buf);
    free(env);
    s_shares_fini(&sh);
    vgb_linkview_fini(&lv);
    return rc;
}

static int64_t
s_backoff_ms(const vgb_delivery *d, uint32_t attempt)
{
    uint64_t ms = d->cfg->redeliver_ms;
    for (uint32_t i = 1; i < attempt && ms < d->cfg->redeliver_max_ms; i++) {
        ms *= 2;
    }
    return (int64_t)(ms < d->cfg->redeliver_max_ms ? ms : d->cfg->redeliver_max_ms);
}

/* Sends one window slot; false when the connection is gone or full. */
static bool
s_send_slot(vgb_delivery *d, s_agency *a, s_inflight *slot, int64_t now)
{
    vg_err rc = s_send_alert(d, a, slot->seq);
    slot->attempt++;
    slot->due_mono = now + s_backoff_ms(d, slot->attempt);
    if (rc == VG_ERR_NOT_FOUND) {
        s_detach(d, a, "unreachable");
        return false;
    }
    if (rc == VG_ERR_TIMEOUT) { /* its queue is full: try again soon, not after a backoff */
        slot->attempt--;
        slot->due_mono = now + S_FULL_RETRY_MS;
        return false;
    }
    if (rc != VG_OK) {
        vg_log(VG_LOG_WARN, "broker", "delivery.defer", "agency=%s seq=%llu code=%s", a->id,
               (unsigned long long)slot->seq, vg_err_code(rc));
        return false;
    }
    if (slot->attempt > 1) {
        vg_log(VG_LOG_DEBUG, "broker", "delivery.resend", "agency=%s seq=%llu attempt=%u", a->id,
               (unsigned long long)slot->seq, slot->attempt);
    }
    return true;
}

static bool
s_in_window(const s_agency *a, uint64_t seq)
{
    for (size_t i = 0; i < a->n_inflight; i++) {
        if (a->inflight[i].seq == seq) {
            return true;
        }
    }
    return false;
}

typedef struct s_fill {
    vgb_delivery *d; /* the delivery */
    s_agency *a;     /* whose window */
    int64_t now;     /* monotonic ms */
    size_t got;      /* rows seen */
    bool stopped;    /* connection gone or full */
} s_fill;

static bool
s_fill_one(void *ctx, uint64_t seq)
{
    s_fill *f = ctx;
    s_agency *a = f->a;
    f->got++;
    if (s_in_window(a, seq)) {
        return true; /* sent already, waiting for its receipt */
    }
    if (a->n_inflight >= (size_t)f->d->cfg->inflight) {
        return false;
    }
    if (a->n_inflight == a->cap_inflight) {
        size_t cap = a->cap_inflight * 2;
        cap = cap < (size_t)f->d->cfg->inflight ? cap : (size_t)f->d->cfg->inflight;
        s_inflight *grown = realloc(a->inflight, cap * sizeof *grown);
        if (grown == NULL) {
            f->stopped = true; /* the agency stays dirty: tried again on the next pass */
            return false;
        }
        a->inflight = grown;
        a->cap_inflight = cap;
    }
    s_inflight *slot = &a->inflight[a->n_inflight++];
    slot->seq = seq;
    slot->attempt = 0;
    if (!s_send_slot(f->d, a, slot, f->now)) {
        f->stopped = true;
        return false;
    }
    return true;
}

/* When the agency's earliest parked delivery may be tried, on the
 * monotonic clock (INT64_MAX: none). */
static int64_t
s_next_wake(vgb_delivery *d, s_agency *a)
{
    int64_t wall = vg_clock_wall_ms(d->clock), next = 0;
    if (vgb_store_next_try(d->store, a->id, wall, &next) != VG_OK) {
        return vg_clock_mono_ms(d->clock) + 1000; /* logged by the store: look again */
    }
    return next == 0 ? INT64_MAX : vg_clock_mono_ms(d->clock) + (next - wall);
}

static void
s_fill_window(vgb_delivery *d, s_agency *a, int64_t now)
{
    if (now >= a->wake_mono) { /* a parked delivery's time has come */
        a->dirty = true;
        a->wake_mono = INT64_MAX;
    }
    size_t room = (size_t)d->cfg->inflight - a->n_inflight;
    if (!a->dirty || room == 0) {
        return;
    }
    /* The rows already in the window come first in the same order, so ask
     * for enough to see past them. */
    size_t limit = a->n_inflight + room;
    s_fill f = {d, a, now, 0, false};
    vg_err rc =
        vgb_store_pending(d->store, a->id, vg_clock_wall_ms(d->clock), limit, s_fill_one, &f);
    if (rc != VG_OK) {
        return; /* logged by the store; tried again on the next pass */
    }
    if (!f.stopped && f.got < limit) {
        a->dirty = false; /* caught up with the store: wake for the next parked one */
        a->wake_mono = s_next_wake(d, a);
    }
}

/* Takes slot i out of the window: it waits in the store for its next try. */
static void
s_park(vgb_delivery *d, s_agency *a, size_t i)
{
    s_inflight slot = a->inflight[i];
    a->inflight[i] = a->inflight[--a->n_inflight];
    a->dirty = true; /* room for the next */
    int64_t wall = vg_clock_wall_ms(d->clock), next = 0;
    /* The first wait is redeliver, and it doubles from there; a failed write
     * leaves the row as it was, to be sent again at the next fill. */
    vg_err rc = vgb_store_txn(d->store)
                    ? vgb_store_park(d->store, slot.seq, a->id, wall, (int64_t)d->cfg->redeliver_ms,
                                     (int64_t)d->cfg->redeliver_max_ms, &next)
                    : VG_ERR_IO;
    vg_log(VG_LOG_INFO, "broker", "delivery.park", "agency=%s seq=%llu sends=%u in_ms=%lld code=%s",
           a->id, (unsigned long long)slot.seq, slot.attempt,
           (long long)(next > wall ? next - wall : 0), vg_err_code(rc));
    int64_t mono = vg_clock_mono_ms(d->clock) + (next - wall);
    if (rc == VG_OK && next != 0 && mono < a->wake_mono) {
        a->wake_mono = mono;
    }
}

/* True when a slot of the window was never sent (its connection's queue
 * was full): nothing behind it may go first. */
static bool
s_has_unsent(const s_agency *a)
{
    for (size_t i = 0; i < a->n_inflight; i++) {
        if (a->inflight[i].attempt == 0) {
            return true;
        }
    }
    return false;
}

static void
s_service_agency(vgb_delivery *d, s_agency *a, int64_t now)
{
    if (now - a->last_seen_mono > 3 * VG_KEEPALIVE_MS) {
        s_detach(d, a, "silent");
        return;
    }
    for (size_t i = 0; i < a->n_inflight && a->rid_len != 0;) {
        s_inflight *slot = &a->inflight[i];
        if (slot->due_mono > now) {
            i++;
        } else if (slot->attempt >= VGB_PARK_AFTER_SENDS) {
            s_park(d, a, i); /* slot i is now another one: look at it too */
        } else if (!s_send_slot(d, a, slot, now)) {
            return;
        } else {
            i++;
        }
    }
    if (a->rid_len != 0 && !s_has_unsent(a)) { /* first deliveries in acceptance order */
        s_fill_window(d, a, now);
    }
}

void
vgb_delivery_redeliver(vgb_delivery *d, size_t agency, uint64_t seq, bool sent_before)
{
    s_agency *a = &d->ag[agency];
    if (a->rid_len == 0) {
        return; /* absent: it gets everything when it connects */
    }
    if (!sent_before && !s_in_window(a, seq)) {
        /* Never sent: it is in the queue, and a first delivery goes in
         * acceptance order (delivery.h), so it comes in its turn. */
        vg_log(VG_LOG_DEBUG, "broker", "redeliver.queued", "agency=%s seq=%llu", a->id,
               (unsigned long long)seq);
        return;
    }
    if (s_send_alert(d, a, seq) != VG_OK) {
        vg_log(VG_LOG_DEBUG, "broker", "redeliver.drop", "agency=%s", a->id);
    }
}

long
vgb_delivery_service(vgb_delivery *d)
{
    int64_t now = vg_clock_mono_ms(d->clock);
    int64_t next = now + 1000;
    for (size_t i = 0; i < d->n; i++) {
        s_agency *a = &d->ag[i];
        if (a->rid_len == 0) {
            continue;
        }
        s_service_agency(d, a, now);
        for (size_t j = 0; j < a->n_inflight; j++) {
            next = a->inflight[j].due_mono < next ? a->inflight[j].due_mono : next;
        }
        next = a->rid_len != 0 && a->wake_mono < next ? a->wake_mono : next;
        if (a->rid_len != 0 && a->last_seen_mono + 3 * VG_KEEPALIVE_MS < next) {
            next = a->last_seen_mono + 3 * VG_KEEPALIVE_MS + 1;
        }
    }
    return next > now ? (long)(next - now) : 0;
}

vg_err
vgb_delivery_renew(vgb_delivery *d, const vg_netdoc *doc)
{
    size_t n = vg_netdoc_n_agencies(doc);
    if (n > d->n) {
        s_agency *ag = realloc(d->ag, n * sizeof *ag);
        if (ag == NULL) {
            return VG_ERR_NOMEM;
        }
        d->ag = ag;
        for (size_t i = d->n; i < n; i++) {
            ag[i] = (s_agency){.idx = i, .wake_mono = INT64_MAX};
        }
        d->n = n;
    }
    for (size_t i = 0; i < n; i++) {
        vg_agency card;
        vg_netdoc_agency_at(doc, i, &card);
        s_agency *a = &d->ag[i];
        a->id = card.id;
        if (card.revoked && !a->revoked) {
            s_detach(d, a, "revoked");
            a->n_inflight = 0;
        }
        a->revoked = card.revoked;
    }
    return VG_OK;
}
