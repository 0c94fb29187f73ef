/* delivery.c — per-agency in-flight windows and redelivery with backoff.
 *
 * The store is the queue: an agency's window holds at most cfg->inflight
 * alert numbers; the envelopes are read from the store when sent (or taken
 * from the frames of recent alerts, packed once), with the share records the
 * agency needs to open them. A window fills from every PENDING row of the
 * agency, whenever it became pending (a share of an old alert is found like a
 * new alert): fresh ones in acceptance order first, then retries that are due.
 *
 * Nothing an agency is sent can hold its window for ever: a delivery sent
 * VGB_PARK_AFTER_SENDS times without a receipt leaves the window and waits in
 * the store (recipients.next_try_ms) for its next try, with the backoff
 * doubling up to redeliver_max, so fresh alerts always find room. (The agent
 * receipts an alert it cannot open as UNOPENABLE, which frees its slot at
 * once; this is for whatever is left: a client that crashes on one alert, or
 * does not receipt at all.) An agency that is slow or absent costs nothing
 * but its rows on disk. */
#include <stdlib.h>
#include <string.h>

#include "broker_internal.h"
#include "vigil.pb-c.h"
#include "vigil/log.h"
#include "vigil/wire.h"

void
vgb_delivery_attach(vgb_broker *b, vgb_agency *a, const uint8_t *rid, size_t rid_len)
{
    bool same = a->rid_len == rid_len && memcmp(a->rid, rid, rid_len) == 0;
    a->last_seen_mono = vg_clock_mono_ms(b->clock);
    if (same) {
        return;
    }
    if (a->rid_len != 0) {
        vgb_delivery_detach(b, a, "replaced");
    }
    memcpy(a->rid, rid, rid_len);
    a->rid_len = rid_len;
    a->dirty = true;
    a->wake_mono = INT64_MAX;
    vg_log(VG_LOG_INFO, "broker", "agency.online", "agency=%s", a->id);
    vgb_track_presence(b, a, true);
}

void
vgb_delivery_detach(vgb_broker *b, vgb_agency *a, const char *why)
{
    if (a->rid_len == 0) {
        return;
    }
    vg_log(VG_LOG_INFO, "broker", "agency.offline", "agency=%s reason=%s inflight=%zu", a->id, why,
           a->n_inflight);
    a->rid_len = 0;
    a->n_inflight = 0;
    a->dirty = false;
    a->wake_mono = INT64_MAX;
    vgb_track_presence(b, a, false);
}

void
vgb_delivery_receipted(vgb_agency *a, uint64_t seq)
{
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
vgb_delivery_remember(vgb_broker *b, uint64_t seq, const uint8_t *env, size_t len)
{
    if (b->frames == NULL && (b->frames = calloc(VGB_FRAMES, sizeof *b->frames)) == NULL) {
        return; /* sent from the store */
    }
    vgb_frame_slot *slot = &b->frames[seq % VGB_FRAMES];
    Vigil__Deliver d = VIGIL__DELIVER__INIT;
    d.signed_envelope.data = (uint8_t *)env;
    d.signed_envelope.len = len;
    Vigil__BrokerFrame f = VIGIL__BROKER_FRAME__INIT;
    f.kind_case = VIGIL__BROKER_FRAME__KIND_DELIVER;
    f.deliver = &d;
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
vgb_delivery_forget(vgb_broker *b, uint64_t seq)
{
    if (b->frames != NULL && seq != 0 && b->frames[seq % VGB_FRAMES].seq == seq) {
        b->frames[seq % VGB_FRAMES].seq = 0;
    }
    for (size_t i = 0; b->frames != NULL && seq == 0 && i < VGB_FRAMES; i++) {
        b->frames[i].seq = 0;
    }
}

void
vgb_delivery_fini(vgb_broker *b)
{
    for (size_t i = 0; b->frames != NULL && i < VGB_FRAMES; i++) {
        free(b->frames[i].frame);
    }
    free(b->frames);
    b->frames = NULL;
}

/* Sends alert seq to the agency's connection. VG_ERR_NOT_FOUND: peer gone. */
static vg_err
s_send_alert(vgb_broker *b, vgb_agency *a, uint64_t seq)
{
    const vgb_frame_slot *slot = b->frames != NULL ? &b->frames[seq % VGB_FRAMES] : NULL;
    if (slot != NULL && slot->seq == seq) {
        return vgb_send(b, a->rid, a->rid_len, slot->frame, slot->len);
    }
    uint8_t *env = NULL;
    size_t env_len = 0;
    vg_err rc = vgb_store_envelope(b->store, seq, &env, &env_len);
    if (rc != VG_OK) {
        return rc;
    }
    s_shares sh = {0};
    rc = vgb_store_shares_to(b->store, seq, a->id, s_add_share, &sh);
    Vigil__Deliver d = VIGIL__DELIVER__INIT;
    d.signed_envelope.data = env;
    d.signed_envelope.len = env_len;
    d.n_signed_shares = sh.n;
    d.signed_shares = sh.items;
    Vigil__BrokerFrame f = VIGIL__BROKER_FRAME__INIT;
    f.kind_case = VIGIL__BROKER_FRAME__KIND_DELIVER;
    f.deliver = &d;
    size_t len = vigil__broker_frame__get_packed_size(&f);
    uint8_t *buf = rc == VG_OK && !sh.failed ? malloc(len) : NULL;
    if (buf != NULL) {
        vigil__broker_frame__pack(&f, buf);
        rc = vgb_send(b, a->rid, a->rid_len, buf, len);
    } else if (rc == VG_OK) {
        rc = VG_ERR_NOMEM;
    }
    free(buf);
    free(env);
    s_shares_fini(&sh);
    return rc;
}

static int64_t
s_backoff_ms(const vgb_broker *b, uint32_t attempt)
{
    uint64_t ms = b->cfg->redeliver_ms;
    for (uint32_t i = 1; i < attempt && ms < b->cfg->redeliver_max_ms; i++) {
        ms *= 2;
    }
    return (int64_t)(ms < b->cfg->redeliver_max_ms ? ms : b->cfg->redeliver_max_ms);
}

/* Sends one window slot; false when the connection is gone or full. */
static bool
s_send_slot(vgb_broker *b, vgb_agency *a, vgb_inflight *slot, int64_t now)
{
    vg_err rc = s_send_alert(b, a, slot->seq);
    slot->attempt++;
    slot->due_mono = now + s_backoff_ms(b, slot->attempt);
    if (rc == VG_ERR_NOT_FOUND) {
        vgb_delivery_detach(b, a, "unreachable");
        return false;
    }
    if (rc == VG_ERR_TIMEOUT) { /* its queue is full: try again soon, not after a backoff */
        slot->attempt--;
        slot->due_mono = now + VGB_FULL_RETRY_MS;
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
s_in_window(const vgb_agency *a, uint64_t seq)
{
    for (size_t i = 0; i < a->n_inflight; i++) {
        if (a->inflight[i].seq == seq) {
            return true;
        }
    }
    return false;
}

typedef struct s_fill {
    vgb_broker *b; /* the broker */
    vgb_agency *a; /* whose window */
    int64_t now;   /* monotonic ms */
    size_t got;    /* rows seen */
    bool stopped;  /* connection gone or full */
} s_fill;

static bool
s_fill_one(void *ctx, uint64_t seq)
{
    s_fill *f = ctx;
    vgb_agency *a = f->a;
    f->got++;
    if (s_in_window(a, seq)) {
        return true; /* sent already, waiting for its receipt */
    }
    if (a->n_inflight == (size_t)f->b->cfg->inflight) {
        return false;
    }
    vgb_inflight *slot = &a->inflight[a->n_inflight++];
    slot->seq = seq;
    slot->attempt = 0;
    if (!s_send_slot(f->b, a, slot, f->now)) {
        f->stopped = true;
        return false;
    }
    return true;
}

/* When the agency's earliest parked delivery may be tried, on the
 * monotonic clock (INT64_MAX: none). */
static int64_t
s_next_wake(vgb_broker *b, vgb_agency *a)
{
    int64_t wall = vg_clock_wall_ms(b->clock), next = 0;
    if (vgb_store_next_try(b->store, a->id, wall, &next) != VG_OK) {
        return vg_clock_mono_ms(b->clock) + 1000; /* logged by the store: look again */
    }
    return next == 0 ? INT64_MAX : vg_clock_mono_ms(b->clock) + (next - wall);
}

static void
s_fill_window(vgb_broker *b, vgb_agency *a, int64_t now)
{
    if (now >= a->wake_mono) { /* a parked delivery's time has come */
        a->dirty = true;
        a->wake_mono = INT64_MAX;
    }
    size_t room = (size_t)b->cfg->inflight - a->n_inflight;
    if (!a->dirty || room == 0) {
        return;
    }
    /* The rows already in the window come first in the same order, so ask
     * for enough to see past them. */
    size_t limit = a->n_inflight + room;
    s_fill f = {b, a, now, 0, false};
    vg_err rc =
        vgb_store_pending(b->store, a->id, vg_clock_wall_ms(b->clock), limit, s_fill_one, &f);
    if (rc != VG_OK) {
        return; /* logged by the store; tried again on the next pass */
    }
    if (!f.stopped && f.got < limit) {
        a->dirty = false; /* caught up with the store: wake for the next parked one */
        a->wake_mono = s_next_wake(b, a);
    }
}

/* Takes slot i out of the window: it waits in the store for its next try. */
static void
s_park(vgb_broker *b, vgb_agency *a, size_t i)
{
    vgb_inflight slot = a->inflight[i];
    a->inflight[i] = a->inflight[--a->n_inflight];
    a->dirty = true; /* room for the next */
    int64_t wall = vg_clock_wall_ms(b->clock), next = 0;
    /* The first wait is redeliver, and it doubles from there; a failed write
     * leaves the row as it was, to be sent again at the next fill. */
    vg_err rc = vgb_txn(b) ? vgb_store_park(b->store, slot.seq, a->id, wall,
                                            (int64_t)b->cfg->redeliver_ms,
                                            (int64_t)b->cfg->redeliver_max_ms, &next)
                           : VG_ERR_IO;
    vg_log(VG_LOG_INFO, "broker", "delivery.park", "agency=%s seq=%llu sends=%u in_ms=%lld code=%s",
           a->id, (unsigned long long)slot.seq, slot.attempt,
           (long long)(next > wall ? next - wall : 0), vg_err_code(rc));
    int64_t mono = vg_clock_mono_ms(b->clock) + (next - wall);
    if (rc == VG_OK && next != 0 && mono < a->wake_mono) {
        a->wake_mono = mono;
    }
}

static void
s_service_agency(vgb_broker *b, vgb_agency *a, int64_t now)
{
    if (now - a->last_seen_mono > 3 * VG_KEEPALIVE_MS) {
        vgb_delivery_detach(b, a, "silent");
        return;
    }
    for (size_t i = 0; i < a->n_inflight && a->rid_len != 0;) {
        vgb_inflight *slot = &a->inflight[i];
        if (slot->due_mono > now) {
            i++;
        } else if (slot->attempt >= VGB_PARK_AFTER_SENDS) {
            s_park(b, a, i); /* slot i is now another one: look at it too */
        } else if (!s_send_slot(b, a, slot, now)) {
            return;
        } else {
            i++;
        }
    }
    if (a->rid_len != 0) {
        s_fill_window(b, a, now);
    }
}

void
vgb_delivery_redeliver(vgb_broker *b, vgb_agency *a, uint64_t seq)
{
    if (a->rid_len == 0) {
        return; /* absent: it gets everything when it connects */
    }
    if (s_send_alert(b, a, seq) != VG_OK) {
        vg_log(VG_LOG_DEBUG, "broker", "redeliver.drop", "agency=%s", a->id);
    }
}

long
vgb_delivery_service(vgb_broker *b)
{
    int64_t now = vg_clock_mono_ms(b->clock);
    int64_t next = now + 1000;
    for (size_t i = 0; i < b->n_agencies; i++) {
        vgb_agency *a = &b->agencies[i];
        if (a->rid_len == 0) {
            continue;
        }
        s_service_agency(b, a, now);
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
