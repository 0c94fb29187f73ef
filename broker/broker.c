/* broker.c — setup, the poll loop, batching and dispatch (broker.h). The
 * frames' handling lives in handlers.h (Publish, Receipt, Share) and ask.h
 * (Query); docs/broker.md maps the modules. */
#include "broker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "ask.h"
#include "batch.h"
#include "bkeys.h"
#include "conns.h"
#include "delivery.h"
#include "control.h"
#include "handlers.h"
#include "intake.h"
#include "lease.h"
#include "ledger.h"
#include "netdocs.h"
#include "quota.h"
#include "reader.h"
#include "record.h"
#include "reload.h"
#include "retain.h"
#include "space.h"
#include "store.h"
#include "streams.h"
#include "tracking.h"
#include "verifier.h"
#include "vigil.pb-c.h"
#include "vigil/envelope.h"
#include "vigil/keys.h"
#include "vigil/log.h"
#include "vigil/netdoc.h"
#include "vigil/wire.h"
#include "zap.h"

struct vgb_broker {
    const vg_broker_config *cfg; /* borrowed */
    const vg_clock *clock;       /* borrowed */
    vgb_bkeys *bkeys;            /* the broker's sign and transport keys */
    vg_netdoc *doc;              /* current network document */
    vgb_netdocs *netdocs;        /* the documents an envelope may be sealed under */
    vgb_store *store;            /* durable state */
    void *ctx;                   /* ZeroMQ context */
    vgb_zap *zap;                /* authentication */
    vgb_out out;                 /* the ROUTER, or a test's sender */
    vgb_ledger *ledger;          /* the audit log's leaves and checkpoints */
    vgb_batch *batch;            /* replies and post-commit work of the batch */
    vgb_streams *streams;        /* the per-agency event streams */
    vgb_record *record;          /* each fact's events and leaf */
    vgb_delivery *delivery;      /* receiving connections and windows */
    vgb_tracking *tracking;      /* deadlines, escalation, offline alarms */
    vgb_space *space;            /* a full disk refuses publishes */
    vgb_reader *reader;          /* queries, answered on a thread of their own */
    vgb_conns *conns;            /* connections per agency and what they are sent */
    vgb_quota *quota;            /* what each agency may publish */
    vgb_services sv;             /* what the handlers use */
    vgb_asking ask;              /* what queries go through */
    vgb_intake intake[2];        /* taken from the socket: one checked while one is handled */
    int pending;                 /* the intake whose checks were started, or -1 */
    vgb_control *control;        /* the administrator's socket, or NULL */
    vg_netdoc **retired;         /* documents replaced by reloads: alive until the stop */
    size_t n_retired;
    bool stopping;          /* the last batch: it gets a checkpoint */
    vgb_verifier *verifier; /* the second thread for those, or NULL */
    vgb_lease *lease;       /* its term as the store's leader (lease.h) */
    vgb_retain *retain;     /* purges and legal holds (retain.h) */
};

/* ---- one frame ----------------------------------------------------------------- */

static void
s_get_network(vgb_broker *b, const vgb_from *from)
{
    Vigil__BrokerFrame f = VIGIL__BROKER_FRAME__INIT;
    f.kind_case = VIGIL__BROKER_FRAME__KIND_SIGNED_NETWORK;
    f.signed_network.data = (uint8_t *)vg_netdoc_signed_bytes(b->doc, &f.signed_network.len);
    vgb_batch_reply(b->batch, from, &f, false, NULL);
}

/* A Hello: the connection becomes the agency's receiving one, its event
 * stream's, or both. */
static void
s_hello(vgb_broker *b, const vgb_from *from, const Vigil__Hello *h)
{
    if (from->agency_idx < 0) {
        return;
    }
    if (h->receive) {
        vgb_delivery_attach(b->delivery, (size_t)from->agency_idx, from->rid, from->rid_len);
    }
    if (h->console) {
        vgb_streams_subscribe(b->streams, (size_t)from->agency_idx, from->rid, from->rid_len);
    }
    /* A client on an older document learns the new one within a keepalive,
     * whether or not it reads the event stream that says network_changed. */
    if (vgb_conns_doc_due(b->conns, (size_t)from->agency_idx, from->rid, from->rid_len,
                          h->network_version, vg_netdoc_version(b->doc))) {
        s_get_network(b, from);
    }
}

/* Handles one frame (cf: it unpacked; NULL: it does not parse); pre is the
 * checked envelope of a Publish, or NULL. Frees cf. */
static void
s_dispatch(vgb_broker *b, vgb_from *from, Vigil__ClientFrame *cf, const uint8_t *data, size_t len,
           vgb_verify_job *pre)
{
    if (cf == NULL) {
        from->request_id = vgb_peek_request_id(data, len);
        vg_log(VG_LOG_WARN, "broker", "frame.reject", "agency=%s code=malformed", from->agency);
        vgb_batch_error(b->batch, from, VIGIL__REJECT_CODE__REJECT_MALFORMED,
                        "frame does not parse as a vigil ClientFrame");
        return;
    }
    from->request_id = cf->request_id;
    vg_reason why = {{0}};
    if (from->agency_idx >= 0) {
        size_t idx = (size_t)from->agency_idx;
        if (vgb_conns_seen(b->conns, idx, from->agency, from->rid, from->rid_len, from->fd,
                           vg_clock_mono_ms(b->clock), &why) != VG_OK) {
            vgb_batch_error(b->batch, from, VIGIL__REJECT_CODE__REJECT_RATE_LIMITED, why.text);
            vigil__client_frame__free_unpacked(cf, NULL);
            return; /* one connection too many: nothing it sends is handled */
        }
        vgb_conns_key(b->conns, idx, from->rid, from->rid_len, from->key, from->key_until_ms);
        vgb_delivery_seen(b->delivery, idx, from->rid, from->rid_len);
        vgb_streams_seen(b->streams, idx, from->rid, from->rid_len);
    }
    switch (cf->kind_case) {
    case VIGIL__CLIENT_FRAME__KIND_HELLO:
        s_hello(b, from, cf->hello);
        break;
    case VIGIL__CLIENT_FRAME__KIND_SHARE:
        vgb_handle_share(&b->sv, from, &cf->share->signed_share);
        break;
    case VIGIL__CLIENT_FRAME__KIND_QUERY:
        vgb_ask(&b->ask, from, cf->query);
        break;
    case VIGIL__CLIENT_FRAME__KIND_PUBLISH:
        vgb_handle_publish(&b->sv, from, &cf->publish->signed_envelope, pre);
        break;
    case VIGIL__CLIENT_FRAME__KIND_RECEIPT:
        vgb_handle_receipt(&b->sv, from, &cf->receipt->signed_receipt);
        break;
    case VIGIL__CLIENT_FRAME__KIND_GET_NETWORK:
        s_get_network(b, from);
        break;
    case VIGIL__CLIENT_FRAME__KIND_COSIGN:
        vgb_handle_cosign(&b->sv, from, cf->cosign);
        break;
    default:
        vgb_batch_error(b->batch, from, VIGIL__REJECT_CODE__REJECT_MALFORMED,
                        "this broker version does not handle that request");
        break;
    }
    vigil__client_frame__free_unpacked(cf, NULL);
}

/* ---- the batch ------------------------------------------------------------------- */

/* Post-commit work of the batch (vgb_batch_after). */
static void
s_after(void *ctx, size_t agency, uint64_t seq)
{
    vgb_broker *b = ctx;
    if (seq == 0) {
        vgb_delivery_dirty(b->delivery, agency);
    } else {
        vgb_delivery_receipted(b->delivery, agency, seq);
    }
}

/* Commits the batch (or rolls it back when it failed), then sends its
 * replies and events and applies its post-commit work. False when it did
 * not commit. */
static bool
s_finish_batch(vgb_broker *b)
{
    bool committed = true;
    vg_reason why = {{0}};
    vg_err rc = VG_OK;
    if (vgb_streams_unwritten(b->streams) && !vgb_batch_txn(b->batch)) {
        vgb_batch_fail(b->batch); /* events wait to be written: never drop them */
    }
    if (!vgb_batch_failed(b->batch)) {
        vgb_ledger_before_commit(b->ledger, b->stopping);
    }
    if (vgb_batch_failed(b->batch)) { /* a state change without its record must not commit */
        vgb_store_rollback(b->store);
        committed = false;
        rc = VG_ERR_IO;
    } else if (vgb_store_in_transaction(b->store)) {
        rc = vgb_streams_write(b->streams);
        rc = rc == VG_OK ? vgb_store_commit(b->store, &why) : rc;
        committed = rc == VG_OK;
        if (!committed) {
            vgb_store_rollback(b->store);
            vgb_space_commit_failed(b->space, rc);
            rc = vgb_store_commit_in_doubt(b->store) ? VG_ERR_NOT_LEADER : rc; /* no confirm */
        }
    }
    vgb_lease_after_commit(b->lease, committed);
    vgb_ledger_after_commit(b->ledger, committed); /* the replies carry its checkpoint */
    vgb_batch_end(b->batch, committed, rc, s_after, b);
    if (!committed) {
        vgb_delivery_forget(b->delivery, 0); /* the frames of alerts that were not stored */
    }
    vgb_streams_flush(b->streams, committed);
    vgb_tracking_after_commit(b->tracking, committed);
    if (committed) {
        vgb_ledger_after_replies(b->ledger);
        vgb_store_after_commit(b->store); /* SQLite: the checkpointer; never waits */
    }
    return committed;
}

static void
s_handle_one(vgb_broker *b, vgb_inmsg *m)
{
    if (m->ok) {
        vgb_from from = {.rid_len = zmq_msg_size(&m->rid),
                         .agency = m->user,
                         .fd = zmq_msg_get(&m->payload, ZMQ_SRCFD),
                         .key = m->key,
                         .key_until_ms = m->key_until_ms};
        memcpy(from.rid, zmq_msg_data(&m->rid), from.rid_len);
        from.agency_idx = vg_netdoc_index(b->doc, m->user);
        const uint8_t *data = zmq_msg_data(&m->payload);
        size_t len = zmq_msg_size(&m->payload);
        if (m->extra) {
            from.request_id = vgb_peek_request_id(data, len);
            vg_log(VG_LOG_WARN, "broker", "frame.reject", "agency=%s code=malformed parts=many",
                   m->user);
            vgb_batch_error(b->batch, &from, VIGIL__REJECT_CODE__REJECT_MALFORMED,
                            "send exactly one frame per message");
        } else {
            s_dispatch(b, &from, m->cf, data, len, m->job);
            m->cf = NULL;
        }
    }
    vgb_intake_close(m); /* what the handler did not take */
}

/* Handles an intake whose checks are done, in order, and commits it. */
static void
s_handle_intake(vgb_broker *b, vgb_intake *x)
{
    vgb_tracking_check_clock(b->tracking); /* before anything is scheduled from the wall clock */
    for (size_t i = 0; i < x->n; i++) {
        s_handle_one(b, &x->in[i]);
    }
    x->n = x->n_jobs = 0;
    s_finish_batch(b);
}

/* Takes what the socket holds and handles it. A full intake means more is
 * waiting: its checks then go to the verifier's thread alone while the loop
 * handles the intake before it (pending), and it is handled on the next
 * pass. Anything less is checked on both threads and handled at once, so a
 * quiet broker adds no wait. Messages are handled in the order they came. */
static void
s_serve(vgb_broker *b)
{
    int xi = b->pending >= 0 ? 1 - b->pending : 0;
    vgb_intake *x = &b->intake[xi];
    vgb_intake *p = b->pending >= 0 ? &b->intake[b->pending] : NULL;
    vgb_intake_take(x, b->out.router);
    vgb_verifier_wait(b->verifier); /* p's checks, started on the last pass */
    if (x->n == (size_t)b->cfg->batch && b->verifier != NULL) {
        vgb_verifier_start(b->verifier, b->doc, x->jobs, x->n_jobs);
        if (p != NULL) {
            s_handle_intake(b, p);
        }
        b->pending = xi;
        return;
    }
    if (p != NULL) {
        s_handle_intake(b, p);
    }
    vgb_verifier_run(b->verifier, b->doc, x->jobs, x->n_jobs);
    s_handle_intake(b, x);
    b->pending = -1;
}

/* ---- a new network document -------------------------------------------------------- */

static bool
s_commit(void *ctx)
{
    return s_finish_batch(ctx);
}

/* The document in force to one connection, unasked (the broker's keys
 * changed: its witnesses need the key-transition note before a checkpoint
 * by the new key, and its next connection the new transport key). */
static void
s_send_network(void *ctx, size_t idx, const uint8_t *rid, size_t rid_len)
{
    vgb_broker *b = ctx;
    size_t len = 0;
    Vigil__BrokerFrame f = VIGIL__BROKER_FRAME__INIT;
    f.kind_case = VIGIL__BROKER_FRAME__KIND_SIGNED_NETWORK;
    f.signed_network.data = (uint8_t *)vg_netdoc_signed_bytes(b->doc, &f.signed_network.len);
    uint8_t *frame = malloc(vigil__broker_frame__get_packed_size(&f));
    if (frame != NULL) {
        len = vigil__broker_frame__pack(&f, frame);
        if (vgb_out_send(&b->out, rid, rid_len, frame, len) == VG_OK) {
            vgb_conns_doc_sent(b->conns, idx, rid, rid_len, vg_netdoc_version(b->doc));
        }
    }
    free(frame);
}

/* The new document to a connection whose agency's own keys it changes, so
 * that the agent moves to them before its overlap ends (others learn of the
 * new version at their next keepalive). */
typedef struct {
    vgb_broker *b;
    const vg_netdoc *was;
} s_rekeyed;

static void
s_send_if_rekeyed(void *ctx, size_t idx, const uint8_t *rid, size_t rid_len)
{
    const s_rekeyed *r = ctx;
    vg_agency now, before;
    vg_netdoc_agency_at(r->b->doc, idx, &now);
    if (vg_netdoc_find(r->was, now.id, &before) != VG_OK ||
        memcmp(now.sign_pk, before.sign_pk, VG_SIGN_PK_LEN) != 0 ||
        memcmp(now.box_pk, before.box_pk, VG_BOX_PK_LEN) != 0 ||
        memcmp(now.transport_pk, before.transport_pk, VG_CURVE_KEY_LEN) != 0) {
        s_send_network(r->b, idx, rid, rid_len);
    }
}

/* Puts a new signed document in force between two batches (reload.h). */
static vg_err
s_reload(vgb_broker *b, const uint8_t *bytes, size_t len, vg_reason *why)
{
    if (b->pending >= 0) {
        return vg_reason_set(why, VG_ERR_TIMEOUT, "the broker is busy: push it again");
    }
    vg_netdoc **retired = realloc(b->retired, (b->n_retired + 1) * sizeof *retired);
    if (retired == NULL) {
        return VG_ERR_NOMEM;
    }
    b->retired = retired;
    s_finish_batch(b); /* nothing of a batch may straddle the switch */
    vgb_reload_deps d = {.clock = b->clock,
                         .admin_pk = b->cfg->admin_pk,
                         .store = b->store,
                         .batch = b->batch,
                         .record = b->record,
                         .netdocs = b->netdocs,
                         .quota = b->quota,
                         .conns = b->conns,
                         .reader = b->reader,
                         .delivery = b->delivery,
                         .streams = b->streams,
                         .tracking = b->tracking,
                         .zap = b->zap,
                         .bkeys = b->bkeys,
                         .commit = s_commit,
                         .commit_ctx = b};
    vg_netdoc *next = NULL;
    vg_err rc = vgb_reload(&d, b->doc, bytes, len, &next, why);
    if (rc != VG_OK) {
        return rc;
    }
    bool new_keys = memcmp(vg_netdoc_broker_sign_pk(b->doc), vg_netdoc_broker_sign_pk(next),
                           VG_SIGN_PK_LEN) != 0 ||
                    memcmp(vg_netdoc_broker_transport_pk(b->doc),
                           vg_netdoc_broker_transport_pk(next), VG_CURVE_KEY_LEN) != 0;
    b->retired[b->n_retired++] = b->doc; /* the query thread may still read it */
    b->doc = next;
    b->sv.doc = next;
    b->ask.doc = next;
    if (new_keys) { /* before any checkpoint by the new key reaches them */
        vgb_conns_each(b->conns, vg_clock_mono_ms(b->clock), s_send_network, b);
    } else {
        s_rekeyed r = {.b = b, .was = b->retired[b->n_retired - 1]};
        vgb_conns_each(b->conns, vg_clock_mono_ms(b->clock), s_send_if_rekeyed, &r);
    }
    return VG_OK;
}

/* SIGHUP: the document at broker.conf's [network] document. */
static void
s_reload_file(vgb_broker *b)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    vg_err rc = vg_file_read(&bytes, &len, b->cfg->document_path, VG_NETDOC_MAX_BYTES, &why);
    rc = rc == VG_OK ? s_reload(b, bytes, len, &why) : rc;
    if (rc != VG_OK) {
        vg_log(VG_LOG_ERROR, "broker", "netdoc.reload_failed", "path=%s code=%s reason=\"%s\"",
               b->cfg->document_path, vg_err_code(rc), why.text);
    }
    free(bytes);
}

/* A request on the control socket (control.h). */
static void
s_control(void *ctx, const char *command, const uint8_t *body, size_t len, char *reply,
          size_t reply_len)
{
    vgb_broker *b = ctx;
    vg_reason why = {{0}};
    if (strcmp(command, "push") == 0) {
        vg_err rc = s_reload(b, body, len, &why);
        if (rc == VG_OK) {
            snprintf(reply, reply_len, "ok network %s version %llu in force, %zu agencies",
                     vg_netdoc_network(b->doc), (unsigned long long)vg_netdoc_version(b->doc),
                     vg_netdoc_n_agencies(b->doc));
        } else {
            snprintf(reply, reply_len, "refused: %s", why.text[0] ? why.text : vg_strerror(rc));
        }
    } else if (strcmp(command, "status") == 0) {
        snprintf(reply, reply_len,
                 "ok role=leader epoch=%lld network=%s version=%llu agencies=%zu endpoint=%s "
                 "log_size=%llu",
                 (long long)vgb_lease_epoch(b->lease), vg_netdoc_network(b->doc),
                 (unsigned long long)vg_netdoc_version(b->doc), vg_netdoc_n_agencies(b->doc),
                 b->out.endpoint, (unsigned long long)vgb_ledger_size(b->ledger));
    } else if (!vgb_retain_control(b->retain, b->doc, command, body, len, reply, reply_len)) {
        snprintf(reply, reply_len, "refused: unknown command '%s' (push, status, purge, hold)",
                 command);
    }
}

/* ---- the loop --------------------------------------------------------------------- */

void
vgb_broker_handle_frame(vgb_broker *b, const char *agency, const uint8_t *rid, size_t rid_len,
                        const uint8_t *data, size_t len)
{
    vgb_from from = {.rid_len = rid_len < VGB_RID_MAX ? rid_len : VGB_RID_MAX,
                     .agency = agency,
                     .fd = -1,
                     .key_until_ms = INT64_MAX};
    memcpy(from.rid, rid, from.rid_len);
    from.agency_idx = vg_netdoc_index(b->doc, agency);
    vgb_tracking_check_clock(b->tracking);
    s_dispatch(b, &from, vigil__client_frame__unpack(NULL, len, data), data, len, NULL);
    s_finish_batch(b);
}

const char *
vgb_broker_lost(const vgb_broker *b)
{
    return vgb_lease_lost(b->lease);
}

void
vgb_broker_set_sender(vgb_broker *b, vgb_send_fn fn, void *ctx)
{
    b->out.fn = fn;
    b->out.ctx = ctx;
}

static const char *
s_agency_name(void *ctx, size_t idx)
{
    vg_agency ag;
    vg_netdoc_agency_at(ctx, idx, &ag);
    return ag.id;
}

long
vgb_broker_step(vgb_broker *b)
{
    (void)vgb_conns_close_expired(b->conns, vg_clock_wall_ms(b->clock), s_agency_name,
                                  (void *)b->doc);
    long timeout = vgb_tracking_service(b->tracking);
    vgb_streams_expire(b->streams);
    vgb_ledger_service(b->ledger);
    vgb_space_service(b->space, vg_clock_mono_ms(b->clock));
    s_finish_batch(b); /* what the timers did, committed before it is told */
    long purge = vgb_retain_service(b->retain, b->doc); /* its own batch */
    timeout = purge < timeout ? purge : timeout;
    long delivery = vgb_delivery_service(b->delivery);
    if (vgb_store_in_transaction(b->store)) {
        s_finish_batch(b); /* deliveries set aside (parked) */
    }
    timeout = delivery < timeout ? delivery : timeout;
    long checkpoint = vgb_ledger_next_ms(b->ledger); /* an idle broker still signs on time */
    timeout = checkpoint >= 0 && checkpoint < timeout ? checkpoint : timeout;
    long answers = vgb_ask_answers(&b->ask);
    timeout = answers >= 0 && answers < timeout ? answers : timeout;
    timeout = vgb_lease_service(b->lease, timeout); /* the leader's heartbeat, between batches */
    int64_t to_switch = vgb_bkeys_switch_at(b->bkeys) - vg_clock_wall_ms(b->clock);
    return to_switch < timeout ? (to_switch > 0 ? (long)to_switch : 0) : timeout;
}

vg_err
vgb_broker_run(vgb_broker *b, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload)
{
    while (!*stop && vgb_lease_lost(b->lease) == NULL) {
        if (reload != NULL && *reload && b->pending < 0) {
            *reload = 0;
            s_reload_file(b);
        }
        if (b->pending < 0 && vg_clock_wall_ms(b->clock) >= vgb_bkeys_switch_at(b->bkeys) &&
            vgb_bkeys_switch_transport(b->bkeys, &b->out, b->ctx) != VG_OK) {
            return VG_ERR_IO;
        }
        long timeout = vgb_broker_step(b);
        zmq_pollitem_t items[] = {
            {b->out.router, 0, ZMQ_POLLIN, 0},
            {vgb_zap_socket(b->zap), 0, ZMQ_POLLIN, 0},
            {vgb_reader_socket(b->reader), 0, ZMQ_POLLIN, 0},
            {vgb_tracking_notify_socket(b->tracking), 0, ZMQ_POLLIN, 0},
            {b->control ? vgb_control_socket(b->control) : NULL, 0, ZMQ_POLLIN, 0}};
        int n = zmq_poll(items, b->control ? 5 : 4, b->pending >= 0 ? 0 : timeout);
        if (n < 0) {
            if (zmq_errno() == EINTR) {
                continue;
            }
            vg_log(VG_LOG_ERROR, "broker", "poll.error", "msg=\"%s\"", zmq_strerror(zmq_errno()));
            return VG_ERR_IO;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            vgb_zap_handle(b->zap);
        }
        if ((items[0].revents & ZMQ_POLLIN) || b->pending >= 0) {
            s_serve(b);
        }
        if (b->control != NULL && (items[4].revents & ZMQ_POLLIN) && b->pending < 0) {
            vgb_control_handle(b->control, s_control, b);
        }
    }
    if (b->pending >= 0) { /* taken from the socket: handled before stopping */
        vgb_verifier_wait(b->verifier);
        s_handle_intake(b, &b->intake[b->pending]);
        b->pending = -1;
    }
    const char *lost = vgb_lease_lost(b->lease);
    vg_log(VG_LOG_INFO, "broker", lost ? "ha.step_down" : "broker.stop", "endpoint=%s reason=%s",
           b->out.endpoint, lost ? lost : "stop");
    return lost ? VG_ERR_NOT_LEADER : VG_OK;
}

/* ---- setup ------------------------------------------------------------------------- */

static vg_err
s_load_identity(vgb_broker *b, vg_reason *why)
{
    vg_err rc = vg_netdoc_load(&b->doc, b->cfg->document_path, b->cfg->admin_pk, 0, why);
    if (rc == VG_OK) {
        rc = vgb_bkeys_open(&b->bkeys, b->cfg->keys_path, b->doc, why);
    }
    if (rc != VG_OK) {
        return rc;
    }
    for (int i = 0; i < 2; i++) {
        if (vgb_intake_init(&b->intake[i], (size_t)b->cfg->batch) != VG_OK) {
            return VG_ERR_NOMEM;
        }
    }
    if (vgb_verifier_new(&b->verifier) != VG_OK) { /* then the loop checks them all */
        vg_log(VG_LOG_WARN, "broker", "verifier.unavailable", "detail=one_thread");
    }
    return VG_OK;
}

/* Delivery's word that an agency got or lost its receiving connection. */
static void
s_presence(void *ctx, size_t agency, bool online)
{
    vgb_broker *b = ctx;
    vgb_tracking_presence(b->tracking, agency, online);
}

/* The modules over the store, each owning its own state, in the order they
 * depend on one another. */
static vg_err
s_modules(vgb_broker *b, vg_reason *why)
{
    const vg_broker_config *cfg = b->cfg;
    vg_err rc = vgb_quota_new(&b->quota, b->store, b->doc, vg_clock_wall_ms(b->clock),
                              vg_clock_mono_ms(b->clock), why);
    rc = rc != VG_OK ? rc : vgb_space_new(&b->space, cfg->store_path);
    if (rc == VG_OK) {
        rc = vgb_ledger_open(&b->ledger, b->store, vg_netdoc_network(b->doc),
                             vgb_bkeys_keys(b->bkeys), cfg, b->clock, why);
    }
    rc = rc != VG_OK ? rc : vgb_batch_new(&b->batch, b->store, b->ledger, &b->out);
    rc = rc != VG_OK ? rc : vgb_streams_new(&b->streams, b->store, b->doc, &b->out, b->clock);
    if (rc == VG_OK) {
        rc = vgb_record_new(&b->record, b->store, b->ledger, b->streams, b->batch, b->clock);
    }
    if (rc == VG_OK) {
        rc =
            vgb_delivery_new(&b->delivery, b->store, b->doc, cfg, b->clock, &b->out, s_presence, b);
    }
    if (rc == VG_OK && (b->ctx = zmq_ctx_new()) == NULL) { /* tracking's notifier needs it */
        rc = vg_reason_set(why, VG_ERR_IO, "cannot create a ZeroMQ context");
    }
    if (rc == VG_OK) {
        vgb_tracking_params tp = {.store = b->store,
                                  .doc = b->doc,
                                  .cfg = cfg,
                                  .clock = b->clock,
                                  .record = b->record,
                                  .batch = b->batch,
                                  .delivery = b->delivery,
                                  .zmq_ctx = b->ctx};
        rc = vgb_tracking_new(&b->tracking, &tp, why);
    }
    vgb_retain_deps rd = {
        b->clock, b->store, b->batch, b->record, s_commit, b, cfg->purge_interval_ms};
    rc = rc == VG_OK ? vgb_retain_new(&b->retain, &rd) : rc;
    b->sv = (vgb_services){.cfg = cfg,
                           .clock = b->clock,
                           .doc = b->doc,
                           .netdocs = b->netdocs,
                           .store = b->store,
                           .batch = b->batch,
                           .record = b->record,
                           .tracking = b->tracking,
                           .delivery = b->delivery,
                           .quota = b->quota,
                           .space = b->space};
    return rc;
}

/* What runs beside the loop and talks to it over ZeroMQ (the context is
 * s_modules', for the notifier): the store's background work, the query
 * thread, then the ZAP handler and the ROUTER. */
static vg_err
s_sockets(vgb_broker *b, vg_reason *why)
{
    const vg_broker_config *cfg = b->cfg;
    vgb_store_background bg = {.zmq_ctx = b->ctx,
                               .wal_checkpoint_pages = (uint32_t)cfg->wal_checkpoint_pages};
    vg_err rc = vgb_store_start_background(b->store, &bg, why);
    if (rc == VG_OK) {
        vgb_reader_params rp = {.zmq_ctx = b->ctx,
                                .store = b->store,
                                .doc = b->doc,
                                .keys = vgb_bkeys_keys(b->bkeys),
                                .n_agencies = vg_netdoc_n_agencies(b->doc),
                                .queue_max = (uint32_t)cfg->queries_queued,
                                .time_ms_per_s = (uint32_t)cfg->query_time_ms};
        rc = vgb_reader_new(&b->reader, &rp, why);
    }
    if (rc == VG_OK) {
        rc = vgb_conns_new(&b->conns, vg_netdoc_n_agencies(b->doc),
                           (uint32_t)cfg->connections_per_agency, cfg->unread_bytes,
                           3 * VG_KEEPALIVE_MS);
    }
    b->ask = (vgb_asking){.doc = b->doc,
                          .clock = b->clock,
                          .conns = b->conns,
                          .reader = b->reader,
                          .batch = b->batch,
                          .out = &b->out};
    if (rc == VG_OK) { /* the ZAP handler first: a ROUTER without it must not exist */
        rc = vgb_zap_new(&b->zap, b->ctx, b->doc, b->clock, why);
    }
    vg_reason cwhy = {{0}};
    if (rc == VG_OK && vgb_control_new(&b->control, b->ctx, cfg->store_path, &cwhy) != VG_OK) {
        vg_log(VG_LOG_WARN, "broker", "control.unavailable", "reason=\"%s\"", cwhy.text);
    }
    if (rc == VG_OK) {
        rc = vgb_out_bind(&b->out, b->ctx, cfg->bind,
                          vg_keyset_curve_sk(vgb_bkeys_serving(b->bkeys)),
                          (int)cfg->handshake_timeout_ms, why);
    }
    return rc;
}

vg_err
vgb_broker_new(vgb_broker **out, const vg_broker_config *cfg, const vg_clock *clock, vg_reason *why)
{
    return vgb_broker_new_on(out, cfg, clock, NULL, 0, why);
}

vg_err
vgb_broker_new_on(vgb_broker **out, const vg_broker_config *cfg, const vg_clock *clock,
                  vgb_store **store_p, int64_t epoch, vg_reason *why)
{
    vgb_broker *b = calloc(1, sizeof *b);
    if (b == NULL) {
        vgb_store_destroy(store_p);
        return VG_ERR_NOMEM;
    }
    b->cfg = cfg;
    b->clock = clock;
    b->pending = -1;
    if (store_p != NULL) { /* taken over: the lead is held on this connection */
        b->store = *store_p;
        *store_p = NULL;
    }
    vg_err rc = s_load_identity(b, why);
    rc = rc == VG_OK && b->store == NULL ? vgb_store_open_config(&b->store, cfg, why) : rc;
    /* A document pushed to an earlier leader (one that rotated the broker's
     * keys is refused: the takeover fails, logged, and is tried again). */
    rc = rc == VG_OK && vgb_store_lead_supported(b->store)
             ? vgb_netdocs_adopt_newest(b->store, cfg->admin_pk,
                                        vg_keyset_curve_pk(vgb_bkeys_serving(b->bkeys)), &b->doc,
                                        why)
             : rc;
    rc = rc == VG_OK ? vgb_lease_new(&b->lease, b->store, cfg, clock, epoch) : rc;
    rc = rc == VG_OK ? vgb_netdocs_check_version(b->store, b->doc, cfg->document_path, why) : rc;
    if (rc == VG_OK) {
        rc = vgb_netdocs_load(&b->netdocs, b->store, b->doc, cfg->admin_pk, why);
    }
    if (rc == VG_OK) {
        rc = s_modules(b, why);
    }
    if (rc == VG_OK) { /* every check of the store passed: it may be checkpointed */
        vgb_store_mark_sound(b->store);
        rc = s_sockets(b, why);
    }
    if (rc != VG_OK) {
        vgb_broker_destroy(&b);
        return rc;
    }
    uint64_t n_alerts = 0;
    n_alerts = vgb_store_count_alerts(b->store, &n_alerts) == VG_OK ? n_alerts : 0;
    vg_log(VG_LOG_INFO, "broker", "broker.ready",
           "endpoint=%s network=%s version=%llu agencies=%zu alerts=%llu", b->out.endpoint,
           vg_netdoc_network(b->doc), (unsigned long long)vg_netdoc_version(b->doc),
           vg_netdoc_n_agencies(b->doc), (unsigned long long)n_alerts);
    *out = b;
    return VG_OK;
}

void
vgb_broker_destroy(vgb_broker **b_p)
{
    if (b_p == NULL || *b_p == NULL) {
        return;
    }
    vgb_broker *b = *b_p;
    /* A clean stop leaves every leaf under a checkpoint; a lost lease writes nothing. */
    if (b->tracking != NULL && vgb_lease_lost(b->lease) == NULL) {
        b->stopping = true;
        s_finish_batch(b);
        vg_log(VG_LOG_INFO, "broker", "audit.stop_checkpoint", "size=%llu",
               (unsigned long long)vgb_ledger_size(b->ledger));
    }
    vgb_out_close(&b->out);
    vgb_verifier_wait(b->verifier);
    vgb_verifier_destroy(&b->verifier);
    for (int i = 0; i < 2; i++) {
        vgb_intake_fini(&b->intake[i]); /* the pending one's messages: taken, never handled */
    }
    vgb_zap_destroy(&b->zap);
    vgb_control_destroy(&b->control);
    vgb_reader_destroy(&b->reader); /* before the context ends */
    if (b->store != NULL) {
        vgb_store_stop_background(b->store); /* its sockets too */
    }
    vgb_conns_destroy(&b->conns);
    vgb_tracking_destroy(&b->tracking); /* its notification worker, before the context ends */
    if (b->ctx != NULL) {
        zmq_ctx_term(b->ctx);
    }
    vgb_delivery_destroy(&b->delivery);
    vgb_record_destroy(&b->record);
    vgb_retain_destroy(&b->retain);
    vgb_streams_destroy(&b->streams);
    vgb_batch_destroy(&b->batch);
    vgb_ledger_destroy(&b->ledger);
    vgb_space_destroy(&b->space);
    vgb_lease_destroy(&b->lease);
    vgb_store_destroy(&b->store);
    vgb_netdocs_destroy(&b->netdocs);
    vgb_quota_destroy(&b->quota);
    vg_netdoc_destroy(&b->doc);
    for (size_t i = 0; i < b->n_retired; i++) {
        vg_netdoc_destroy(&b->retired[i]);
    }
    free(b->retired);
    vgb_bkeys_destroy(&b->bkeys);
    free(b);
    *b_p = NULL;
}
