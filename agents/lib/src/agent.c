/* agent.c — connection, publish with outbox, receive with inbox (see vigil/agent.h). */
#include "vigil/agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "agent_internal.h"
#include "agent_store.h"
#include "vigil.pb-c.h"
#include "vigil/log.h"
#include "vigil/receipt.h"
#include "vigil/share.h"

/* How often a long-running agent sends its outbox again (alerts kept after a
 * transient rejection such as storage_full, or lost with a connection). */
#define S_OUTBOX_RETRY_MS 10000

/* How long a new agency waits for the broker's document (vga_network_fetch). */
#define S_JOIN_TIMEOUT_MS 3000

const char *
vga_agent_agency(const vga_agent *a)
{
    return vga_identity_agency(a->id);
}

const char *
vga_agent_broker(const vga_agent *a)
{
    return vga_link_endpoint(a);
}

const vg_netdoc *
vga_agent_doc(const vga_agent *a)
{
    return a->newer ? a->newer : vga_identity_doc(a->id);
}

void
vga_confirm_fini(vga_confirm *c)
{
    if (c != NULL) {
        vg_strlist_fini(&c->missing);
    }
}

/* ---- sending ------------------------------------------------------------------ */

vg_err
vga_conn_send(vga_agent *a, Vigil__ClientFrame *f)
{
    size_t len = vigil__client_frame__get_packed_size(f);
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL) {
        return VG_ERR_NOMEM;
    }
    vigil__client_frame__pack(f, buf);
    int rc = zmq_send(a->sock, buf, len, ZMQ_DONTWAIT);
    free(buf);
    return rc < 0 ? VG_ERR_IO : VG_OK;
}

static void
s_hello(vga_agent *a)
{
    Vigil__Hello h = VIGIL__HELLO__INIT;
    h.agent = a->software;
    h.network_version = vg_netdoc_version(vga_agent_doc(a));
    h.receive = a->receive;
    h.console = a->events;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_HELLO;
    f.hello = &h;
    if (vga_conn_send(a, &f) == VG_OK) {
        a->last_hello_mono = vg_clock_mono_ms(a->clock);
    }
}

uint64_t
vga_conn_next_req(vga_agent *a)
{
    a->next_req = (a->next_req + 1) & ~VGA_REQ_NOT_OUTBOX;
    return a->next_req ? a->next_req : ++a->next_req;
}

static vg_err
s_send_publish(vga_agent *a, uint64_t req, const uint8_t *env, size_t len)
{
    Vigil__Publish p = VIGIL__PUBLISH__INIT;
    p.signed_envelope.data = (uint8_t *)env;
    p.signed_envelope.len = len;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = req;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_PUBLISH;
    f.publish = &p;
    return vga_conn_send(a, &f);
}

static vg_err
s_send_get_network(vga_agent *a, uint64_t req)
{
    Vigil__GetNetwork g = VIGIL__GET_NETWORK__INIT;
    g.have_version = vg_netdoc_version(vga_agent_doc(a));
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = req;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_GET_NETWORK;
    f.get_network = &g;
    return vga_conn_send(a, &f);
}

static void
s_resend_one(void *ctx, const uint8_t *id, const uint8_t *env, size_t len)
{
    (void)id;
    vga_agent *a = ctx;
    if (s_send_publish(a, vga_conn_next_req(a), env, len) != VG_OK) {
        vg_log(VG_LOG_WARN, "agent", "outbox.defer", "agency=%s", vga_agent_agency(a));
    }
}

/* Sends every alert of the outbox again, in order; the broker answers
 * DUPLICATE for those it already has. */
static vg_err
s_resend_outbox(vga_agent *a)
{
    a->last_resend_mono = vg_clock_mono_ms(a->clock);
    return vga_store_outbox_each(a->store, s_resend_one, a);
}

/* ---- incoming ----------------------------------------------------------------- */

static void
s_fill_confirm(vga_confirm *res, const Vigil__Confirm *c)
{
    if (c->alert_id.len == VG_ALERT_ID_LEN) {
        memcpy(res->alert_id, c->alert_id.data, VG_ALERT_ID_LEN);
    }
    res->duplicate = c->status == VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE;
    res->code =
        c->status == VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED ? vg_reject_err((int)c->code) : VG_OK;
    snprintf(res->reason.text, sizeof res->reason.text, "%s", c->reason);
    for (size_t i = 0; i < c->n_missing; i++) {
        if (vg_strlist_add(&res->missing, c->missing[i]) != VG_OK) {
            break;
        }
    }
}

bool
vga_reject_is_transient(vg_err code)
{
    return code == VG_ERR_STORAGE_FULL || code == VG_ERR_INTERNAL || code == VG_ERR_RATE_LIMITED ||
           code == VG_ERR_QUOTA_EXCEEDED;
}

/* Applies a publish confirm to the outbox. */
static void
s_apply_confirm(vga_agent *a, const Vigil__Confirm *c)
{
    if (c->alert_id.len != VG_ALERT_ID_LEN) {
        return;
    }
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, c->alert_id.data);
    const char *outcome = "accepted";
    vg_err code = VG_OK;
    if (c->status == VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE) {
        outcome = "duplicate";
    } else if (c->status == VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED) {
        code = vg_reject_err((int)c->code);
        outcome = vg_err_code(code);
        vg_log(VG_LOG_WARN, "agent", "publish.reject", "agency=%s alert=%s code=%s reason=\"%s\"",
               vga_agent_agency(a), idhex, outcome, c->reason);
        if (vga_reject_is_transient(code)) {
            return; /* stays in the outbox and is sent again */
        }
    }
    if (vga_store_outbox_done(a->store, c->alert_id.data, outcome, c->reason,
                              vg_clock_wall_ms(a->clock)) != VG_OK) {
        vg_log(VG_LOG_ERROR, "agent", "outbox.error", "alert=%s", idhex);
    }
}

/* A newer document may list this agency's new keys (it rotated, and the
 * administrator put the new card in force): from now on it signs with them,
 * and connects with the new transport key (a new socket: the broker closes
 * connections made with the old one when the overlap ends). */
static void
s_follow_keys(vga_agent *a)
{
    bool switched = false;
    vg_reason why = {{0}};
    vg_err rc = vga_identity_follow(a->id, vga_agent_doc(a), &switched, &why);
    if (rc != VG_OK) {
        vg_log(VG_LOG_WARN, "agent", "keys.unchanged", "agency=%s code=%s reason=\"%s\"",
               vga_agent_agency(a), vg_err_code(rc), why.text);
    } else if (switched) {
        char sign[2 * 8 + 1];
        vg_hex_encode(sign, sizeof sign, vg_keyset_sign_pk(vga_identity_keys(a->id)), 8);
        vg_log(VG_LOG_INFO, "agent", "keys.switch", "agency=%s version=%llu sign_key=%s",
               vga_agent_agency(a), (unsigned long long)vg_netdoc_version(vga_agent_doc(a)), sign);
        a->relink = true;
        a->relink_at = 0;
        a->link_key = 0;
        a->link_own = 0;
    }
}

static void
s_adopt_network(vga_agent *a, const ProtobufCBinaryData *bytes)
{
    const vga_config *cfg = vga_identity_config(a->id);
    const vg_netdoc *cur = vga_agent_doc(a);
    vg_netdoc *doc = NULL;
    vg_reason why = {{0}};
    vg_err rc = vg_netdoc_verify(&doc, bytes->data, bytes->len, cfg->admin_pk,
                                 vg_netdoc_version(cur), &why);
    if (rc != VG_OK) {
        vg_log(VG_LOG_WARN, "agent", "network.reject", "code=%s reason=\"%s\"", vg_err_code(rc),
               why.text);
        return;
    }
    if (vg_netdoc_version(doc) == vg_netdoc_version(cur)) {
        vg_netdoc_destroy(&doc);
        return;
    }
    rc = vg_file_write_atomic(cfg->document_path, bytes->data, bytes->len, 0644, &why);
    if (rc != VG_OK) {
        vg_log(VG_LOG_WARN, "agent", "network.save", "reason=\"%s\"", why.text);
    }
    vg_log(VG_LOG_INFO, "agent", "network.update", "version=%llu",
           (unsigned long long)vg_netdoc_version(doc));
    vg_netdoc_destroy(&a->newer);
    a->newer = doc;
    s_follow_keys(a);
}

/* Sends one DELIVERED receipt for the deliveries noted since the last one. */
static void
s_flush_delivered(vga_agent *a)
{
    if (a->n_delivered == 0) {
        return;
    }
    vg_receipt_spec spec = {.agency = vga_agent_agency(a),
                            .kind = VG_RECEIPT_DELIVERED,
                            .created_ms = vg_clock_wall_ms(a->clock),
                            .items = a->delivered,
                            .n_items = a->n_delivered,
                            .network_version = vg_netdoc_version(vga_agent_doc(a))};
    a->n_delivered = 0;
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (vg_receipt_sign(&bytes, &len, &spec, vga_identity_keys(a->id), NULL) != VG_OK) {
        return; /* the broker redelivers what stays unreceipted; we receipt it then */
    }
    Vigil__SubmitReceipt r = VIGIL__SUBMIT_RECEIPT__INIT;
    r.signed_receipt.data = bytes;
    r.signed_receipt.len = len;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = vga_conn_next_req(a) | VGA_REQ_NOT_OUTBOX;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_RECEIPT;
    f.receipt = &r;
    if (vga_conn_send(a, &f) != VG_OK) {
        vg_log(VG_LOG_DEBUG, "agent", "receipt.unsent", "items=%zu", spec.n_items);
    } /* lost? the broker redelivers; we receipt again */
    free(bytes);
}

/* Notes a stored delivery for the next DELIVERED receipt (sent when the
 * frames at hand are handled, or when the batch is full). */
static void
s_note_delivered(vga_agent *a, const vg_envelope *env)
{
    for (size_t i = 0; i < a->n_delivered; i++) {
        if (memcmp(a->delivered[i].alert_id, vg_envelope_id(env), VG_ALERT_ID_LEN) == 0) {
            return; /* a redelivery in the same burst */
        }
    }
    vg_receipt_item *item = &a->delivered[a->n_delivered++];
    memcpy(item->alert_id, vg_envelope_id(env), VG_ALERT_ID_LEN);
    memcpy(item->envelope_hash, vg_envelope_hash(env), VG_HASH_LEN);
    if (a->n_delivered == VGA_DELIVERED_BATCH) {
        s_flush_delivered(a);
    }
}

/* Finds, among the share records of a delivery, a valid one that gives
 * this agency the alert (onward sharing); its bytes and the sealed key. */
static const ProtobufCBinaryData *
s_share_for_me(vga_agent *a, const Vigil__Deliver *d, const vg_envelope *env, vg_share **out)
{
    for (size_t i = 0; i < d->n_signed_shares; i++) {
        vg_share *sh = NULL;
        vg_reason why = {{0}};
        if (vg_share_verify(&sh, d->signed_shares[i].data, d->signed_shares[i].len,
                            vga_agent_doc(a), &why) == VG_OK &&
            vg_share_matches(sh, env) && strcmp(vg_share_to(sh), vga_agent_agency(a)) == 0 &&
            vg_envelope_has_recipient(env, vg_share_sharer(sh))) {
            *out = sh;
            return &d->signed_shares[i];
        }
        vg_share_destroy(&sh);
    }
    return NULL;
}

/* Opens a delivery as a listed recipient or through a share naming us;
 * sharer gets the agency whose share was used ("" when none). */
static vg_err
s_open_delivery(vga_agent *a, const Vigil__Deliver *d, const vg_envelope *env, vg_alert *out,
                const ProtobufCBinaryData **share_bytes, char sharer[VG_AGENCY_ID_MAX + 1],
                vg_reason *why)
{
    const char *me = vga_agent_agency(a);
    *share_bytes = NULL;
    sharer[0] = '\0';
    if (vg_envelope_has_recipient(env, me)) {
        return vg_envelope_open_ring(out, env, me, vga_identity_keyring(a->id), why);
    }
    vg_share *sh = NULL;
    *share_bytes = s_share_for_me(a, d, env, &sh);
    if (*share_bytes == NULL) {
        return vg_reason_set(why, VG_ERR_NOT_RECIPIENT,
                             "delivered an alert %s is not a recipient of, with no valid share",
                             me);
    }
    snprintf(sharer, VG_AGENCY_ID_MAX + 1, "%s", vg_share_sharer(sh));
    size_t klen = 0;
    const uint8_t *key = vg_share_sealed_key(sh, &klen);
    vg_err rc = vg_envelope_open_sealed_ring(out, env, key, klen, vga_identity_keyring(a->id), why);
    vg_share_destroy(&sh);
    return rc;
}

/* Tells the broker, in a signed UNOPENABLE receipt, that this verified
 * alert does not open here (docs/protocol.md): its delivery slot is freed
 * and its sender and oversight learn of it, instead of it being sent again
 * for ever. Lost? The broker sends it again and it is receipted again. */
static void
s_send_unopenable(vga_agent *a, const vg_envelope *env, vg_open_failure failure, const char *sharer)
{
    vg_receipt_item item;
    memcpy(item.alert_id, vg_envelope_id(env), VG_ALERT_ID_LEN);
    memcpy(item.envelope_hash, vg_envelope_hash(env), VG_HASH_LEN);
    char reason[VG_AGENCY_ID_MAX + 32] = "";
    if (sharer != NULL && sharer[0] != '\0') {
        snprintf(reason, sizeof reason, "share by %s", sharer);
    }
    vg_receipt_spec spec = {.agency = vga_agent_agency(a),
                            .kind = VG_RECEIPT_UNOPENABLE,
                            .created_ms = vg_clock_wall_ms(a->clock),
                            .items = &item,
                            .n_items = 1,
                            .reason = reason,
                            .network_version = vg_netdoc_version(vga_agent_doc(a)),
                            .failure = failure};
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (vg_receipt_sign(&bytes, &len, &spec, vga_identity_keys(a->id), NULL) != VG_OK) {
        return;
    }
    Vigil__SubmitReceipt r = VIGIL__SUBMIT_RECEIPT__INIT;
    r.signed_receipt.data = bytes;
    r.signed_receipt.len = len;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = vga_conn_next_req(a) | VGA_REQ_NOT_OUTBOX;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_RECEIPT;
    f.receipt = &r;
    if (vga_conn_send(a, &f) != VG_OK) {
        vg_log(VG_LOG_DEBUG, "agent", "receipt.unsent", "kind=unopenable");
    }
    free(bytes);
}

/* Writes a delivery to the inbox. Handed straight to the application, it
 * is stored surfaced; in hand-over mode also handed, with its first
 * attempt, in the same transaction: no crash can leave it surfaced but not
 * handed (lost to the program) or handed twice as a first attempt. */
static vg_err
s_store_delivery(vga_agent *a, const Vigil__Deliver *d, const vg_envelope *env,
                 const ProtobufCBinaryData *share, bool surface, vga_wait *w)
{
    int64_t now = vg_clock_wall_ms(a->clock);
    bool hand = surface && a->handing_over && w->handover != NULL;
    vg_err rc = hand ? vga_store_begin(a->store, NULL) : VG_OK;
    int64_t row = 0;
    if (rc == VG_OK) {
        rc = vga_store_inbox_add(a->store, vg_envelope_id(env), vg_envelope_sender(env),
                                 vg_envelope_hash(env), d->signed_envelope.data,
                                 d->signed_envelope.len, share ? share->data : NULL,
                                 share ? share->len : 0, now, surface, &row);
    }
    if (hand && rc == VG_OK) {
        memset(w->handover, 0, sizeof *w->handover);
        memcpy(w->handover->id, vg_envelope_id(env), VG_ALERT_ID_LEN);
        rc = vga_store_handover_begin(a->store, row, now, &w->handover->attempt);
        rc = rc == VG_OK ? vga_store_commit(a->store, NULL) : rc;
    }
    if (hand && rc != VG_OK) {
        vga_store_rollback(a->store);
    }
    return rc;
}

/* A delivery linked to earlier alerts this agency was required on and never
 * acknowledged is a repeat warning: said loudly, once per delivery (the
 * chain itself: vga_status, `vigil-agent status`). */
static void
s_note_linked(vga_agent *a, const Vigil__Deliver *d, const vg_envelope *env)
{
    size_t never = 0;
    for (size_t i = 0; i < d->n_linked; i++) {
        for (size_t k = 0; k < d->linked[i]->n_outcomes; k++) {
            const Vigil__LinkOutcome *o = d->linked[i]->outcomes[k];
            never += strcmp(o->agency, vga_agent_agency(a)) == 0 &&
                     o->outcome == VIGIL__LINK_OUTCOME_KIND__LINK_NEVER;
        }
    }
    if (d->n_linked > 0) {
        char idhex[VG_ALERT_ID_HEX_LEN + 1];
        vg_alert_id_hex(idhex, vg_envelope_id(env));
        vg_log(never > 0 ? VG_LOG_WARN : VG_LOG_INFO, "agent",
               never > 0 ? "deliver.repeat" : "deliver.linked",
               "agency=%s alert=%s linked=%zu unacknowledged_by_us=%zu", vga_agent_agency(a), idhex,
               d->n_linked, never);
    }
}

/* Verifies, opens and stores one delivery; receipts it. When w->alert is
 * free the opened alert goes there (and is marked surfaced). An alert that
 * verifies but does not open gets an UNOPENABLE receipt. */
static void
s_handle_deliver(vga_agent *a, const Vigil__Deliver *d, vga_wait *w)
{
    vg_envelope *env = NULL;
    vg_reason why = {{0}};
    vg_alert alert = {0};
    const char *me = vga_agent_agency(a);
    vg_err rc = vg_envelope_verify(&env, d->signed_envelope.data, d->signed_envelope.len,
                                   vga_agent_doc(a), &why);
    if (rc == VG_ERR_UNKNOWN_SENDER) { /* perhaps a newer document names it: ask */
        (void)s_send_get_network(a, vga_conn_next_req(a));
    }
    bool found = false;
    uint8_t hash[VG_HASH_LEN];
    if (rc == VG_OK) {
        rc = vga_store_inbox_find(a->store, vg_envelope_id(env), &found, hash);
    }
    if (rc == VG_OK && found) { /* a redelivery: receipt it again, return it once only */
        if (memcmp(hash, vg_envelope_hash(env), VG_HASH_LEN) == 0) {
            s_note_delivered(a, env);
        } else {
            vg_log(VG_LOG_WARN, "agent", "deliver.conflict", "agency=%s", me);
        }
        vg_envelope_destroy(&env);
        return;
    }
    const ProtobufCBinaryData *share = NULL;
    char sharer[VG_AGENCY_ID_MAX + 1] = "";
    vg_open_failure failure = VG_OPEN_UNSPECIFIED;
    if (rc == VG_OK) {
        rc = s_open_delivery(a, d, env, &alert, &share, sharer, &why);
        failure = vg_open_failure_of(rc, vg_envelope_network_version(env),
                                     vg_netdoc_version(vga_agent_doc(a)));
    }
    bool surface = rc == VG_OK && w->alert != NULL && !w->got_alert;
    if (rc == VG_OK) {
        rc = s_store_delivery(a, d, env, share, surface, w);
    }
    if (rc != VG_OK) {
        char idhex[VG_ALERT_ID_HEX_LEN + 1] = "-";
        if (env != NULL) {
            vg_alert_id_hex(idhex, vg_envelope_id(env));
        }
        vg_log(VG_LOG_WARN, "agent",
               failure != VG_OPEN_UNSPECIFIED ? "deliver.unopenable" : "deliver.reject",
               "agency=%s alert=%s code=%s failure=%s reason=\"%s\"", me, idhex, vg_err_code(rc),
               vg_open_failure_name(failure), why.text);
        if (failure != VG_OPEN_UNSPECIFIED) {
            s_send_unopenable(a, env, failure, sharer);
        }
        vg_alert_fini(&alert);
        vg_envelope_destroy(&env);
        return;
    }
    s_note_delivered(a, env);
    s_note_linked(a, d, env);
    if (surface) {
        *w->alert = alert;
        w->got_alert = true;
    } else {
        vg_alert_fini(&alert);
    }
    vg_envelope_destroy(&env);
}

static void
s_handle_frame(vga_agent *a, const uint8_t *data, size_t len, vga_wait *w)
{
    Vigil__BrokerFrame *f = vigil__broker_frame__unpack(NULL, len, data);
    if (f == NULL) {
        vg_log(VG_LOG_WARN, "agent", "frame.malformed", "bytes=%zu", len);
        return;
    }
    bool mine = w->req != 0 && f->request_id == w->req;
    if (f->kind_case == VIGIL__BROKER_FRAME__KIND_ERROR &&
        f->error->code == VIGIL__REJECT_CODE__REJECT_NOT_LEADER) {
        /* A standby handled nothing: the caller waits on while the link
         * moves to the leader (agent_link.c), where it is sent again. */
        vga_link_not_leader(a, f->error->leader);
        vigil__broker_frame__free_unpacked(f, NULL);
        return;
    }
    switch (f->kind_case) {
    case VIGIL__BROKER_FRAME__KIND_CONFIRM:
        /* A publish sent on a socket since replaced: the outbox sent it
         * again (same id and bytes, another request id) on the new one. */
        mine |= w->by_id && w->res != NULL && a->n_relinks > w->relinks_at &&
                (f->request_id & VGA_REQ_NOT_OUTBOX) == 0 &&
                f->confirm->alert_id.len == VG_ALERT_ID_LEN &&
                memcmp(f->confirm->alert_id.data, w->res->alert_id, VG_ALERT_ID_LEN) == 0;
        if ((f->request_id & VGA_REQ_NOT_OUTBOX) == 0) {
            s_apply_confirm(a, f->confirm);
        }
        if (mine && w->res != NULL) {
            s_fill_confirm(w->res, f->confirm);
        }
        if (f->confirm->checkpoint.len > 0) { /* witness the broker's audit log */
            vga_audit_on_confirm(a, f->confirm->checkpoint.data, f->confirm->checkpoint.len);
        }
        break;
    case VIGIL__BROKER_FRAME__KIND_DELIVER:
        s_handle_deliver(a, f->deliver, w);
        break;
    case VIGIL__BROKER_FRAME__KIND_SIGNED_NETWORK:
        s_adopt_network(a, &f->signed_network);
        w->got_network |= mine;
        break;
    case VIGIL__BROKER_FRAME__KIND_ERROR:
        vg_log(VG_LOG_WARN, "agent", "broker.error", "code=%s reason=\"%s\"",
               vg_err_code(vg_reject_err((int)f->error->code)), f->error->reason);
        if (mine) {
            w->error = vg_reject_err((int)f->error->code);
            snprintf(w->error_text, sizeof w->error_text, "%s", f->error->reason);
        }
        if (mine && w->res != NULL) {
            w->res->code = w->error;
            snprintf(w->res->reason.text, sizeof w->res->reason.text, "%s", f->error->reason);
        }
        break;
    case VIGIL__BROKER_FRAME__KIND_EVENT:
        vga_events_push(a, f->event);
        break;
    case VIGIL__BROKER_FRAME__KIND_RESULT:
        if (mine && w->on_result != NULL) {
            w->result_failed |= !w->on_result(w->result_ctx, f->result);
        }
        break;
    default:
        break;
    }
    w->got |= mine;
    vigil__broker_frame__free_unpacked(f, NULL);
}

static void s_relink(vga_agent *a);

/* Serves the socket until done(w) or timeout_ms passes. */
void
vga_conn_serve(vga_agent *a, int64_t timeout_ms, vga_wait *w, bool (*done)(const vga_wait *))
{
    int64_t end = vg_clock_mono_ms(a->clock) + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        vga_link_watch(a);
        int64_t now = vg_clock_mono_ms(a->clock);
        if (a->relink && now >= a->relink_at) {
            s_relink(a);
        }
        if (now - a->last_hello_mono >= VG_KEEPALIVE_MS) {
            s_hello(a);
        }
        if (now - a->last_resend_mono >= S_OUTBOX_RETRY_MS) {
            size_t queued = 0;
            if (vga_store_outbox_count(a->store, &queued) == VG_OK && queued > 0) {
                (void)s_resend_outbox(a);
            } else {
                a->last_resend_mono = now;
            }
        }
        zmq_msg_t m;
        zmq_msg_init(&m);
        /* Once done, frames already here are still taken (a bounded number),
         * so that deliveries that came together are receipted together. */
        size_t after_done = 0;
        while ((!done(w) || after_done++ < VGA_DELIVERED_BATCH) &&
               zmq_msg_recv(&m, a->sock, ZMQ_DONTWAIT) >= 0) {
            s_handle_frame(a, zmq_msg_data(&m), zmq_msg_size(&m), w);
            w->got |= w->want_event && a->ring_n > 0;
        }
        zmq_msg_close(&m);
        s_flush_delivered(a); /* one receipt for what this pass took in */
        if (done(w) || now >= end) {
            return;
        }
        int64_t wait = end - now;
        wait = wait < VG_KEEPALIVE_MS ? wait : VG_KEEPALIVE_MS;
        if (a->relink) {
            wait = a->relink_at - now < wait ? (a->relink_at > now ? a->relink_at - now : 0) : wait;
        }
        zmq_pollitem_t items[] = {{a->sock, 0, ZMQ_POLLIN, 0}, {a->mon, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, a->mon != NULL ? 2 : 1, (long)wait) < 0) {
            return; /* a signal (EINTR) ends the wait early: the caller checks its flags */
        }
    }
}

bool
vga_done_reply(const vga_wait *w)
{
    return w->got;
}

bool
vga_done_alert(const vga_wait *w)
{
    return w->got_alert;
}

static bool
s_done_never(const vga_wait *w)
{
    (void)w;
    return false;
}

/* ---- open / close ---------------------------------------------------------------- */

static vg_err
s_connect(vga_agent *a, vg_reason *why)
{
    vg_err rc = vga_link_open(a, why);
    if (rc != VG_OK) {
        return rc;
    }
    s_hello(a);
    (void)s_send_get_network(a, vga_conn_next_req(a));
    return s_resend_outbox(a);
}

/* A new socket: the broker expects another of our keys (we rotated), or
 * presents another of its own (agent_link.c). What was queued on the old
 * one is sent again: the outbox, and the broker redelivers what we had not
 * receipted. */
static void
s_relink(vga_agent *a)
{
    a->n_relinks++;
    vga_link_close(a);
    vg_reason why = {{0}};
    if (s_connect(a, &why) != VG_OK) {
        vg_log(VG_LOG_ERROR, "agent", "broker.relink_failed", "reason=\"%s\"", why.text);
    }
}

/* The agency is not in the document it holds (or holds none): a new
 * agency whose card the administrator may have put in force since. Fetch
 * the broker's document, then load again; otherwise the first error stands,
 * with what the fetch said. */
static vg_err
s_join(vga_identity **id, const char *config_path, vg_reason *why)
{
    vg_reason fetch = {{0}};
    vg_err rc = vga_network_fetch(config_path, S_JOIN_TIMEOUT_MS, NULL, &fetch);
    if (rc == VG_OK) {
        return vga_identity_load(id, config_path, 0, why);
    }
    if (why != NULL && fetch.text[0] != '\0') {
        size_t n = strlen(why->text);
        snprintf(why->text + n, sizeof why->text - n, "; asked the broker: %s", fetch.text);
    }
    return VG_ERR_NOT_FOUND;
}

vg_err
vga_agent_open(vga_agent **out, const char *config_path, const vga_options *opts, vg_reason *why)
{
    vga_agent *a = calloc(1, sizeof *a);
    if (a == NULL) {
        return VG_ERR_NOMEM;
    }
    a->handover_lock = -1;
    a->clock = (opts && opts->clock) ? opts->clock : vg_clock_system();
    a->receive = opts && opts->receive;
    a->events = opts && opts->events;
    if (a->events && (a->ring = calloc(VGA_EVENT_RING, sizeof *a->ring)) == NULL) {
        free(a);
        return VG_ERR_NOMEM;
    }
    snprintf(a->software, sizeof a->software, "%s",
             (opts && opts->software) ? opts->software : "libvigil-agent");
    vg_err rc = vga_identity_load(&a->id, config_path, 0, why);
    if (rc == VG_ERR_NOT_FOUND) {
        rc = s_join(&a->id, config_path, why);
    }
    if (rc == VG_OK) {
        rc = vga_store_open(&a->store, vga_identity_config(a->id)->store_path, why);
    }
    if (rc == VG_OK && opts != NULL && opts->handover != NULL) {
        rc = vga_handover_open(a, opts->handover, why);
    }
    if (rc == VG_OK) {
        rc = s_connect(a, why);
    }
    if (rc != VG_OK) {
        vga_agent_destroy(&a);
        return rc;
    }
    *out = a;
    return VG_OK;
}

void
vga_agent_destroy(vga_agent **agent_p)
{
    if (agent_p == NULL || *agent_p == NULL) {
        return;
    }
    vga_agent *a = *agent_p;
    vga_link_close(a);
    vga_handover_close(a);
    vga_store_destroy(&a->store);
    vg_netdoc_destroy(&a->newer);
    vga_identity_destroy(&a->id);
    free(a->ring);
    free(a);
    *agent_p = NULL;
}

/* ---- publish ------------------------------------------------------------------------ */

vg_err
vga_conn_wait_confirm(vga_agent *a, uint64_t req, int64_t timeout_ms, vga_confirm *res,
                      vg_reason *why)
{
    vga_wait w = {.req = req,
                  .res = res,
                  .by_id = (req & VGA_REQ_NOT_OUTBOX) == 0,
                  .relinks_at = a->n_relinks};
    vga_conn_serve(a, timeout_ms, &w, vga_done_reply);
    if (!w.got) {
        res->code = VG_ERR_TIMEOUT;
        char idhex[VG_ALERT_ID_HEX_LEN + 1];
        vg_alert_id_hex(idhex, res->alert_id);
        if ((req & VGA_REQ_NOT_OUTBOX) != 0) {
            return vg_reason_set(why, VG_ERR_TIMEOUT,
                                 "no answer from the broker at %s within %lld ms: nothing was "
                                 "recorded; try again when it is reachable",
                                 vga_link_endpoint(a), (long long)timeout_ms);
        }
        return vg_reason_set(why, VG_ERR_TIMEOUT,
                             "no confirm from the broker at %s within %lld ms; alert %s is safe "
                             "in the outbox and will be sent by the next agent process",
                             vga_link_endpoint(a), (long long)timeout_ms, idhex);
    }
    if (res->code != VG_OK) {
        vg_reason_set(why, res->code, "%s", res->reason.text);
    }
    return res->code;
}

vg_err
vga_conn_query(vga_agent *a, Vigil__Query *q, int64_t timeout_ms, vga_result_fn on_result,
               void *ctx, vg_reason *why)
{
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = vga_conn_next_req(a) | VGA_REQ_NOT_OUTBOX;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_QUERY;
    f.query = q;
    vg_err rc = vga_conn_send(a, &f);
    if (rc != VG_OK) {
        return vg_reason_set(why, rc, "cannot send to the broker");
    }
    vga_wait w = {.req = f.request_id, .on_result = on_result, .result_ctx = ctx};
    vga_conn_serve(a, timeout_ms, &w, vga_done_reply);
    if (!w.got) {
        return vg_reason_set(why, VG_ERR_TIMEOUT, "the broker at %s did not answer within %lld ms",
                             vga_link_endpoint(a), (long long)timeout_ms);
    }
    if (w.error != VG_OK) {
        return vg_reason_set(why, w.error, "%s", w.error_text);
    }
    return w.result_failed ? vg_reason_set(why, VG_ERR_NOMEM, "out of memory") : VG_OK;
}

/* Queues the envelope durably, then sends it and waits. */
static vg_err
s_queue_and_send(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], uint64_t seq, const uint8_t *env,
                 size_t len, int64_t timeout_ms, vga_confirm *res, vg_reason *why)
{
    vg_err rc = vga_store_outbox_add(a->store, id, seq, env, len, vg_clock_wall_ms(a->clock));
    if (rc == VG_OK) {
        rc = vga_store_commit(a->store, why);
    } else {
        vga_store_rollback(a->store);
        if (rc == VG_ERR_DUPLICATE) {
            rc = VG_OK; /* already queued: send it again below */
        }
    }
    if (rc != VG_OK) {
        return rc;
    }
    memcpy(res->alert_id, id, VG_ALERT_ID_LEN);
    uint64_t req = vga_conn_next_req(a);
    if (s_send_publish(a, req, env, len) != VG_OK) {
        vg_log(VG_LOG_WARN, "agent", "publish.defer", "agency=%s", vga_agent_agency(a));
    }
    return vga_conn_wait_confirm(a, req, timeout_ms, res, why);
}

vg_err
vga_publish(vga_agent *a, const vg_alert *alert, int64_t timeout_ms, vga_confirm *res,
            vg_reason *why)
{
    memset(res, 0, sizeof *res);
    vg_alert sealed = *alert;                 /* shallow: only the recipient list differs */
    int64_t now = vg_clock_wall_ms(a->clock); /* its created time: cover is judged at it */
    vg_err rc = vga_recipients_at(a, alert, now, &sealed.recipients, why);
    uint64_t seq = 0;
    uint8_t *env = NULL;
    size_t len = 0;
    uint8_t id[VG_ALERT_ID_LEN];
    if (rc == VG_OK && (rc = vga_store_begin(a->store, why)) == VG_OK) {
        rc = vga_store_next_seq(a->store, now, &seq);
        if (rc == VG_OK) {
            rc = vga_seal_tagged(a, &sealed, seq, now, &env, &len, id, why);
        }
        if (rc == VG_OK) {
            rc = s_queue_and_send(a, id, seq, env, len, timeout_ms, res, why);
        } else {
            vga_store_rollback(a->store);
        }
    }
    free(env);
    vg_strlist_fini(&sealed.recipients);
    return rc;
}

vg_err
vga_publish_sealed(vga_agent *a, const uint8_t *signed_envelope, size_t len, int64_t timeout_ms,
                   vga_confirm *res, vg_reason *why)
{
    memset(res, 0, sizeof *res);
    vg_envelope *env = NULL;
    vg_err rc = vg_envelope_verify(&env, signed_envelope, len, vga_agent_doc(a), why);
    if (rc == VG_OK && strcmp(vg_envelope_sender(env), vga_agent_agency(a)) != 0) {
        rc = vg_reason_set(why, VG_ERR_SENDER_MISMATCH, "the envelope's sender is '%s', not us",
                           vg_envelope_sender(env));
    }
    if (rc == VG_OK && (rc = vga_store_begin(a->store, why)) == VG_OK) {
        rc = s_queue_and_send(a, vg_envelope_id(env), vg_envelope_sequence(env), signed_envelope,
                              len, timeout_ms, res, why);
    }
    vg_envelope_destroy(&env);
    return rc;
}

vg_err
vga_outbox_count(vga_agent *a, size_t *out)
{
    return vga_store_outbox_count(a->store, out);
}

vg_err
vga_flush_outbox(vga_agent *a, int64_t timeout_ms, size_t *n_left, vg_reason *why)
{
    vg_err rc = VG_OK;
    if (vg_clock_mono_ms(a->clock) - a->last_resend_mono >= 1000) { /* not just sent */
        rc = s_resend_outbox(a);
    }
    int64_t end = vg_clock_mono_ms(a->clock) + timeout_ms;
    size_t left = 0;
    while (rc == VG_OK && (rc = vga_store_outbox_count(a->store, &left)) == VG_OK && left > 0 &&
           vg_clock_mono_ms(a->clock) < end) {
        vga_wait w = {0};
        vga_conn_serve(a, 100, &w, s_done_never);
    }
    if (n_left != NULL) {
        *n_left = left;
    }
    if (rc == VG_OK && left > 0) {
        rc = vg_reason_set(why, VG_ERR_TIMEOUT, "%zu alert%s still unconfirmed in the outbox", left,
                           left == 1 ? "" : "s");
    }
    return rc;
}

/* ---- receive ------------------------------------------------------------------------- */

vg_err
vga_inbox_open(vga_agent *a, const vga_inbox_entry *e, vg_alert *out, vg_envelope **env_out,
               vg_reason *why)
{
    vg_envelope *env = NULL;
    vg_err rc = vg_envelope_verify(&env, e->envelope, e->envelope_len, vga_agent_doc(a), why);
    if (rc == VG_OK && e->share == NULL) {
        rc = vg_envelope_open_ring(out, env, vga_agent_agency(a), vga_identity_keyring(a->id), why);
    } else if (rc == VG_OK) {
        vg_share *sh = NULL;
        rc = vg_share_verify(&sh, e->share, e->share_len, vga_agent_doc(a), why);
        size_t klen = 0;
        const uint8_t *key = rc == VG_OK ? vg_share_sealed_key(sh, &klen) : NULL;
        if (rc == VG_OK) {
            rc =
                vg_envelope_open_sealed_ring(out, env, key, klen, vga_identity_keyring(a->id), why);
        }
        vg_share_destroy(&sh);
    }
    if (rc == VG_OK && env_out != NULL) {
        *env_out = env;
        env = NULL;
    }
    vg_envelope_destroy(&env);
    return rc;
}

/* Returns an alert stored earlier but not yet handed to the application.
 * One that no longer opens (say its sender was revoked since) is logged and
 * passed over, so it cannot block the alerts behind it. */
static vg_err
s_surface_stored(vga_agent *a, vg_alert *out, bool *got)
{
    *got = false;
    for (;;) {
        vga_inbox_entry e;
        vg_err rc = vga_store_inbox_next_unsurfaced(a->store, &e);
        if (rc != VG_OK || e.envelope == NULL) {
            return rc;
        }
        vg_reason why = {{0}};
        rc = vga_inbox_open(a, &e, out, NULL, &why);
        vg_err mark = vga_store_inbox_mark_surfaced(a->store, e.row);
        if (rc == VG_OK && mark == VG_OK) {
            vga_inbox_entry_fini(&e);
            *got = true;
            return VG_OK;
        }
        if (rc == VG_OK) {
            vg_alert_fini(out);
        } else {
            vg_log(VG_LOG_WARN, "agent", "inbox.skip", "row=%lld code=%s reason=\"%s\"",
                   (long long)e.row, vg_err_code(rc), why.text);
        }
        vga_inbox_entry_fini(&e);
        if (mark != VG_OK) {
            return mark;
        }
    }
}

vg_err
vga_receive(vga_agent *a, int64_t timeout_ms, vg_alert *out, vg_reason *why)
{
    if (!a->receive) {
        return vg_reason_set(why, VG_ERR_INVALID, "this agent was opened without receive");
    }
    if (a->handing_over) {
        return vg_reason_set(why, VG_ERR_INVALID,
                             "this agent hands alerts over: use vga_handover_next");
    }
    bool got = false;
    vg_err rc = s_surface_stored(a, out, &got);
    if (rc != VG_OK) {
        return vg_reason_set(why, rc, "cannot read the local inbox");
    }
    if (got) {
        return VG_OK;
    }
    vga_wait w = {.alert = out};
    vga_conn_serve(a, timeout_ms, &w, vga_done_alert);
    return w.got_alert ? VG_OK : VG_ERR_TIMEOUT;
}

void
vga_poll(vga_agent *a, int64_t timeout_ms)
{
    vga_wait w = {0};
    vga_conn_serve(a, timeout_ms, &w, s_done_never);
}

vg_err
vga_sync_network(vga_agent *a, int64_t timeout_ms, uint64_t *version_out, vg_reason *why)
{
    uint64_t req = vga_conn_next_req(a);
    vg_err rc = s_send_get_network(a, req);
    vga_wait w = {.req = req};
    if (rc == VG_OK) {
        vga_conn_serve(a, timeout_ms, &w, vga_done_reply);
    }
    if (version_out != NULL) {
        *version_out = vg_netdoc_version(vga_agent_doc(a));
    }
    if (rc == VG_OK && !w.got) {
        rc = vg_reason_set(why, VG_ERR_TIMEOUT, "the broker did not answer within %lld ms",
                           (long long)timeout_ms);
    }
    return rc;
}
