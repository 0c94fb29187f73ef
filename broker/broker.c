/* broker.c — setup, the poll loop, group commit and the frame handlers. */
#include "broker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "broker_internal.h"
#include "vigil.pb-c.h"
#include "vigil/envelope.h"
#include "vigil/log.h"
#include "vigil/receipt.h"

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93 /* draft in zmq.h, supported by libzmq >= 4.3 */
#endif

/* ---- replies ---------------------------------------------------------------- */

int
vgb_agency_index(const vgb_broker *b, const char *id)
{
    for (size_t i = 0; i < b->n_agencies; i++) {
        if (strcmp(b->agencies[i].id, id) == 0) {
            return (int)i;
        }
    }
    return -1;
}

vg_err
vgb_send(vgb_broker *b, const uint8_t *rid, size_t rid_len, const uint8_t *frame, size_t len)
{
    if (b->send_fn != NULL) {
        return b->send_fn(b->send_ctx, rid, rid_len, frame, len);
    }
    if (zmq_send(b->router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        return errno == EHOSTUNREACH ? VG_ERR_NOT_FOUND : VG_ERR_TIMEOUT;
    }
    if (zmq_send(b->router, frame, len, ZMQ_DONTWAIT) < 0) {
        return VG_ERR_TIMEOUT;
    }
    return VG_OK;
}

void
vgb_reply_queue(vgb_broker *b, const vgb_from *from, Vigil__BrokerFrame *f, bool needs_commit)
{
    if (from->request_id == 0 && f->kind_case != VIGIL__BROKER_FRAME__KIND_DELIVER) {
        return; /* no reply wanted */
    }
    if (b->n_replies == b->cap_replies) {
        size_t cap = b->cap_replies ? b->cap_replies * 2 : 64;
        vgb_reply *r = realloc(b->replies, cap * sizeof *r);
        if (r == NULL) {
            vg_log(VG_LOG_ERROR, "broker", "reply.nomem", "agency=%s", from->agency);
            return; /* the client times out and resends: nothing is lost */
        }
        b->replies = r;
        b->cap_replies = cap;
    }
    f->request_id = from->request_id;
    vgb_reply *r = &b->replies[b->n_replies];
    r->len = vigil__broker_frame__get_packed_size(f);
    r->frame = malloc(r->len ? r->len : 1);
    if (r->frame == NULL) {
        return;
    }
    vigil__broker_frame__pack(f, r->frame);
    memcpy(r->rid, from->rid, from->rid_len);
    r->rid_len = from->rid_len;
    r->needs_commit = needs_commit;
    r->request_id = from->request_id;
    memset(r->alert_id, 0, sizeof r->alert_id);
    b->n_replies++;
}

void
vgb_after_add(vgb_broker *b, size_t agency, uint64_t seq)
{
    if (b->n_after == b->cap_after) {
        size_t cap = b->cap_after ? b->cap_after * 2 : 64;
        vgb_after *a = realloc(b->after, cap * sizeof *a);
        if (a == NULL) {
            return; /* worst case: redelivered later; the store is the truth */
        }
        b->after = a;
        b->cap_after = cap;
    }
    b->after[b->n_after++] = (vgb_after){agency, seq};
}

void
vgb_reply_confirm(vgb_broker *b, const vgb_from *from, const uint8_t *alert_id,
                  Vigil__ConfirmStatus st, Vigil__RejectCode code, const char *reason,
                  const vg_strlist *missing)
{
    Vigil__Confirm c = VIGIL__CONFIRM__INIT;
    if (alert_id != NULL) {
        c.alert_id.data = (uint8_t *)alert_id;
        c.alert_id.len = VG_ALERT_ID_LEN;
    }
    c.status = st;
    c.code = code;
    c.tree_size = vgb_ledger_size(b);
    if (b->cp_note != NULL) {
        c.checkpoint.data = (uint8_t *)b->cp_note;
        c.checkpoint.len = strlen(b->cp_note);
    }
    c.reason = (char *)(reason ? reason : "");
    if (missing != NULL) {
        c.n_missing = missing->n;
        c.missing = missing->items;
    }
    Vigil__BrokerFrame f = VIGIL__BROKER_FRAME__INIT;
    f.kind_case = VIGIL__BROKER_FRAME__KIND_CONFIRM;
    f.confirm = &c;
    size_t before = b->n_replies;
    vgb_reply_queue(b, from, &f, st != VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED);
    if (b->n_replies > before && alert_id != NULL) {
        memcpy(b->replies[before].alert_id, alert_id, VG_ALERT_ID_LEN);
    }
}

static Vigil__RejectCode
s_code(vg_err err)
{
    return (Vigil__RejectCode)vg_reject_code(err);
}

/* The wire name of a reject code ("bad_signature"). */
static const char *
s_code_name(Vigil__RejectCode code)
{
    return vg_err_code(vg_reject_err((int)code));
}

bool
vgb_txn(vgb_broker *b)
{
    if (vgb_store_in_transaction(b->store)) {
        return true;
    }
    vg_reason why;
    return vgb_store_begin(b->store, &why) == VG_OK;
}

/* Rejects a publish or receipt: a confirm, one log line and a stored record. */
void
vgb_reply_reject(vgb_broker *b, const vgb_from *from, const uint8_t *alert_id, vg_err err,
                 const char *reason, const vg_strlist *missing, const char *what)
{
    Vigil__RejectCode code = s_code(err);
    char idhex[VG_ALERT_ID_HEX_LEN + 1] = "-";
    if (alert_id != NULL) {
        vg_alert_id_hex(idhex, alert_id);
    }
    vg_log(VG_LOG_WARN, "broker", what, "agency=%s alert=%s code=%s reason=\"%s\"", from->agency,
           idhex, s_code_name(code), reason);
    if (vgb_txn(b)) {
        vg_err rc = vgb_store_insert_rejection(b->store, vg_clock_wall_ms(b->clock), from->agency,
                                               alert_id, s_code_name(code), reason);
        (void)rc; /* logged by the store; the rejection still goes back */
        vg_audit_event ev = {.kind = VG_AUDIT_REJECTED, .has_alert_id = alert_id != NULL};
        if (alert_id != NULL) {
            memcpy(ev.alert_id, alert_id, VG_ALERT_ID_LEN);
        }
        snprintf(ev.code, sizeof ev.code, "%s", s_code_name(code));
        snprintf(ev.transport, sizeof ev.transport, "%s", from->agency);
        if (from->claimed != NULL && vg_agency_id_is_valid(from->claimed)) {
            snprintf(ev.sender, sizeof ev.sender, "%s", from->claimed);
        }
        vgb_ledger_append(b, 0, &ev);
    }
    vgb_reply_confirm(b, from, alert_id, VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED, code, reason,
                      missing);
}

/* ---- publish ------------------------------------------------------------------ */

vg_err
vgb_check_skew(const vgb_broker *b, int64_t created_ms, const char *what, vg_reason *why)
{
    int64_t skew = created_ms - vg_clock_wall_ms(b->clock);
    if (skew > (int64_t)b->cfg->max_clock_skew_ms || -skew > (int64_t)b->cfg->max_clock_skew_ms) {
        return vg_reason_set(why, VG_ERR_CLOCK_SKEW,
                             "the %s's created time is %lld s from the broker's clock (allowed: "
                             "%llu s); check the sender's clock (NTP)",
                             what, (long long)(skew / 1000),
                             (unsigned long long)(b->cfg->max_clock_skew_ms / 1000));
    }
    return VG_OK;
}

/* Every recipient must be able to read it and be allowed to: a revoked
 * agency is refused by name, and so is an oversight agency (oversight sees
 * metadata, never content: docs/network.md). */
static vg_err
s_recipients_allowed(vgb_broker *b, const vg_strlist *rcpts, vg_reason *why)
{
    for (size_t i = 0; i < rcpts->n; i++) {
        vg_agency ag;
        if (vg_netdoc_find(b->doc, rcpts->items[i], &ag) != VG_OK) {
            continue; /* verify refused unknown agencies already */
        }
        if (ag.revoked) {
            return vg_reason_set(why, VG_ERR_REVOKED,
                                 "recipient '%s' is revoked in the network document: it can no "
                                 "longer receive alerts; address the agency that replaced it",
                                 ag.id);
        }
        if (vg_netdoc_is_oversight(b->doc, ag.id)) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "recipient '%s' is an oversight agency: oversight sees every "
                                 "alert's metadata and never its content, so it cannot be "
                                 "addressed",
                                 ag.id);
        }
    }
    return VG_OK;
}

/* Checks that need the store and the clock; VG_OK or a rejection already sent.
 * *dup is set for a byte-identical resend. */
static vg_err
s_publish_checks(vgb_broker *b, const vgb_from *from, const vg_envelope *env, const uint8_t *bytes,
                 size_t len, bool *dup, vg_reason *why)
{
    vgb_alert_row row;
    vg_err rc = vgb_store_find_alert(b->store, vg_envelope_id(env), &row);
    if (rc == VG_OK) {
        bool same = false;
        rc = vgb_store_same_envelope(b->store, row.seq, bytes, len, &same);
        if (rc == VG_OK && !same) {
            return vg_reason_set(why, VG_ERR_CONFLICT,
                                 "alert id already used for a different envelope; an alert "
                                 "id must be fresh for every new alert");
        }
        *dup = rc == VG_OK;
        return rc;
    }
    if (rc != VG_ERR_NOT_FOUND) {
        return vg_reason_set(why, rc, "store error; resend later");
    }
    const vg_strlist *rcpts = vg_envelope_recipients(env);
    rc = vgb_netdocs_check_sealed(b->netdocs, vg_envelope_network_version(env),
                                  (const char *const *)rcpts->items, rcpts->n, why);
    if (rc != VG_OK) {
        return rc;
    }
    if ((rc = s_recipients_allowed(b, rcpts, why)) != VG_OK) {
        return rc;
    }
    bool used = false;
    if ((rc = vgb_store_sequence_used(b->store, from->agency, vg_envelope_sequence(env), &used)) !=
        VG_OK) {
        return vg_reason_set(why, rc, "store error; resend later");
    }
    if (used) {
        return vg_reason_set(why, VG_ERR_REPLAY,
                             "sequence number %llu was already used by %s for another alert: a "
                             "replayed or reused envelope",
                             (unsigned long long)vg_envelope_sequence(env), from->agency);
    }
    return vgb_check_skew(b, vg_envelope_created_ms(env), "envelope", why);
}

static void
s_accept(vgb_broker *b, const vgb_from *from, const vg_envelope *env)
{
    vg_strlist required = {0};
    vg_reason why = {{0}};
    const vg_strlist *cats = vg_envelope_categories(env);
    uint64_t seq = 0;
    vg_err rc = vg_netdoc_required(b->doc, (const char *const *)cats->items, cats->n,
                                   vg_envelope_severity(env), vg_envelope_sender(env), &required);
    int64_t deadline = vgb_track_deadline(b, env);
    if (rc == VG_OK) {
        rc = vgb_store_insert_alert(b->store, env, vg_clock_wall_ms(b->clock), &required, deadline,
                                    &seq, &why);
    }
    if (rc == VG_OK) {
        rc = vgb_track_accepted(b, seq, env, &required, deadline);
    }
    vg_strlist_fini(&required);
    if (rc != VG_OK) {
        vgb_reply_reject(
            b, from, vg_envelope_id(env), rc == VG_ERR_STORAGE_FULL ? rc : VG_ERR_INTERNAL,
            rc == VG_ERR_STORAGE_FULL ? "the broker's store is full; the alert was not "
                                        "accepted, resend later"
                                      : "store error; the alert was not accepted, resend "
                                        "later",
            NULL, "env.reject");
        return;
    }
    size_t env_len = 0;
    const uint8_t *env_bytes = vg_envelope_bytes(env, &env_len);
    vgb_delivery_remember(b, seq, env_bytes, env_len);
    const vg_strlist *rcpts = vg_envelope_recipients(env);
    for (size_t i = 0; i < rcpts->n; i++) {
        int idx = vgb_agency_index(b, rcpts->items[i]);
        if (idx >= 0) {
            vgb_after_add(b, (size_t)idx, 0);
        }
    }
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, vg_envelope_id(env));
    vg_log(VG_LOG_INFO, "broker", "env.accept", "agency=%s alert=%s seq=%llu recipients=%zu",
           from->agency, idhex, (unsigned long long)seq, rcpts->n);
    vgb_reply_confirm(b, from, vg_envelope_id(env), VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED, 0,
                      NULL, NULL);
}

/* The signer an envelope names, unverified: only for the audit of a rejection. */
static char *
s_claimed_signer(const ProtobufCBinaryData *bytes)
{
    Vigil__SignedEnvelope *se = vigil__signed_envelope__unpack(NULL, bytes->len, bytes->data);
    char *claimed = se != NULL && vg_agency_id_is_valid(se->signer) ? vg_strdup(se->signer) : NULL;
    if (se != NULL) {
        vigil__signed_envelope__free_unpacked(se, NULL);
    }
    return claimed;
}

/* A Publish; pre, when not NULL, holds its envelope already verified. */
static void
s_publish(vgb_broker *b, const vgb_from *from_conn, const ProtobufCBinaryData *bytes,
          vgb_verify_job *pre)
{
    if (pre != NULL && pre->env != NULL && b->disk_full) {
        vg_envelope_destroy(&pre->env);
    }
    if (b->disk_full) { /* nothing is written: the agent keeps it in its outbox */
        vgb_reply_confirm(b, from_conn, NULL, VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED,
                          VIGIL__REJECT_CODE__REJECT_STORAGE_FULL,
                          "the broker's disk is full: the alert was not recorded; it stays in "
                          "your outbox and is sent again when there is space",
                          NULL);
        vg_log(VG_LOG_WARN, "broker", "env.reject", "agency=%s code=storage_full",
               from_conn->agency);
        return;
    }
    char *claimed = s_claimed_signer(bytes);
    vgb_from copy = *from_conn;
    copy.claimed = claimed;
    const vgb_from *from = &copy;
    vg_envelope *env = NULL;
    vg_reason why = {{0}};
    vg_strlist missing = {0};
    bool dup = false;
    vg_err rc = VG_OK;
    if (pre != NULL) {
        env = pre->env;
        pre->env = NULL;
        rc = pre->rc;
        why = pre->why;
    } else {
        rc = vg_envelope_verify(&env, bytes->data, bytes->len, b->doc, &why);
    }
    if (rc == VG_OK && strcmp(vg_envelope_sender(env), from->agency) != 0) {
        rc = vg_reason_set(&why, VG_ERR_SENDER_MISMATCH,
                           "envelope from '%s' arrived on the connection of '%s': an agency "
                           "publishes only its own alerts",
                           vg_envelope_sender(env), from->agency);
    }
    if (rc == VG_OK && !vgb_txn(b)) {
        rc = vg_reason_set(&why, VG_ERR_INTERNAL, "store unavailable; resend later");
    }
    if (rc == VG_OK) {
        rc = s_publish_checks(b, from, env, bytes->data, bytes->len, &dup, &why);
    }
    if (rc == VG_OK && !dup) {
        rc = vg_envelope_check_policy(env, b->doc, &missing, &why);
    }
    if (rc == VG_OK && !dup && from->agency_idx >= 0) { /* last: only what would be stored */
        rc = vgb_quota_take(b->quota, (size_t)from->agency_idx, bytes->len,
                            vg_clock_wall_ms(b->clock), vg_clock_mono_ms(b->clock), &why);
    }
    const uint8_t *id = env ? vg_envelope_id(env) : NULL;
    if (rc != VG_OK) {
        vgb_reply_reject(b, from, id, rc, why.text, &missing, "env.reject");
    } else if (dup) {
        vgb_reply_confirm(b, from, id, VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE, 0,
                          "already accepted: this is a resend of the same envelope", NULL);
    } else {
        s_accept(b, from, env);
    }
    vg_strlist_fini(&missing);
    vg_envelope_destroy(&env);
    free(claimed);
}

/* ---- receipts ------------------------------------------------------------------ */

/* Applies a verified DELIVERED receipt: checks every item first (an item
 * that fails refuses the whole receipt and changes nothing), then records
 * the deliveries; seqs[i] is item i's alert, changed[i] whether it was new. */
static vg_err
s_apply_delivered(vgb_broker *b, const vgb_from *from, const vg_receipt *r, uint64_t *seqs,
                  bool *changed, size_t *n_changed, vg_reason *why)
{
    size_t n = vg_receipt_n_items(r);
    for (size_t i = 0; i < n; i++) {
        const vg_receipt_item *it = vg_receipt_item_at(r, i);
        vgb_alert_row row;
        bool recipient = false;
        vg_err rc =
            vgb_store_find_alert_for(b->store, it->alert_id, from->agency, &row, &recipient);
        if (rc == VG_ERR_NOT_FOUND || (rc == VG_OK && !recipient)) {
            vg_reason item; /* not its alert reads exactly as no such alert */
            (void)vgb_unknown_alert(&item, from->agency);
            return vg_reason_set(why, VG_ERR_UNKNOWN_ALERT, "receipt item %zu: %s", i + 1,
                                 item.text);
        }
        if (rc == VG_OK && memcmp(row.envelope_hash, it->envelope_hash, VG_HASH_LEN) != 0) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "receipt item %zu names a different envelope than the one "
                                 "stored",
                                 i + 1);
        }
        if (rc != VG_OK) {
            return vg_reason_set(why, rc, "store error; resend the receipt later");
        }
        seqs[i] = row.seq;
    }
    int64_t now = vg_clock_wall_ms(b->clock);
    for (size_t i = 0; i < n; i++) {
        vg_err rc = vgb_store_mark_delivered(b->store, seqs[i], from->agency, now, &changed[i]);
        if (rc != VG_OK) {
            b->batch_failed = true; /* some items are marked already: none may commit */
            return vg_reason_set(why, rc, "store error; resend the receipt later");
        }
        *n_changed += changed[i];
        if (changed[i]) {
            vgb_track_delivered(b, seqs[i], from->agency);
        }
    }
    return VG_OK;
}

/* Stores the receipt linked to the alerts whose delivery it recorded
 * (changed), and its one audit leaf naming them; the leaf is found from
 * those alerts through the receipt. */
static vg_err
s_record_delivered(vgb_broker *b, const vgb_from *from, const vg_receipt *r, const uint64_t *seqs,
                   const bool *changed)
{
    size_t n = vg_receipt_n_items(r), k = 0;
    vg_audit_event a = {.kind = VG_AUDIT_DELIVERED};
    uint64_t *linked = malloc(n * sizeof *linked);
    if ((a.alerts = malloc(n * sizeof *a.alerts)) == NULL || linked == NULL) {
        free(a.alerts);
        free(linked);
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (changed[i]) {
            memcpy(a.alerts[k], vg_receipt_item_at(r, i)->alert_id, VG_ALERT_ID_LEN);
            linked[k++] = seqs[i];
        }
    }
    a.n_alerts = k;
    memcpy(a.hash, vg_receipt_hash(r), VG_HASH_LEN);
    snprintf(a.agency, sizeof a.agency, "%s", from->agency);
    uint64_t idx = 0;
    bool set = false;
    vg_err rc = vgb_store_insert_receipt(b->store, r, linked, k, vg_clock_wall_ms(b->clock));
    rc = rc == VG_OK ? vgb_ledger_append_alerts(b, NULL, 0, &a, &idx) : rc;
    rc = rc == VG_OK ? vgb_store_receipt_leaf(b->store, vg_receipt_hash(r), idx, &set) : rc;
    if (rc == VG_OK && !set) { /* the receipt has a leaf already: link these directly */
        rc = vgb_ledger_link(b, linked, k, idx);
    }
    free(a.alerts);
    free(linked);
    return rc;
}

static void
s_receipt(vgb_broker *b, const vgb_from *from, const ProtobufCBinaryData *bytes)
{
    vg_receipt *r = NULL;
    vg_reason why = {{0}};
    uint64_t *seqs = NULL;
    bool *changed = NULL;
    size_t n_changed = 0;
    vg_err rc = vg_receipt_verify(&r, bytes->data, bytes->len, b->doc, &why);
    if (rc == VG_OK && strcmp(vg_receipt_agency(r), from->agency) != 0) {
        rc = vg_reason_set(&why, VG_ERR_SENDER_MISMATCH,
                           "receipt by '%s' arrived on the connection of '%s'",
                           vg_receipt_agency(r), from->agency);
    }
    if (rc == VG_OK) { /* a receipt says when: the record must not say 1970 */
        rc = vgb_check_skew(b, vg_receipt_created_ms(r), "receipt", &why);
    }
    if (rc == VG_OK && vg_receipt_kind_of(r) != VG_RECEIPT_DELIVERED) {
        vgb_track_receipt(b, from, r); /* a person's receipt: acknowledgement tracking */
        vg_receipt_destroy(&r);
        return;
    }
    if (rc == VG_OK && !vgb_txn(b)) {
        rc = vg_reason_set(&why, VG_ERR_INTERNAL, "store unavailable; resend later");
    }
    if (rc == VG_OK && ((seqs = calloc(vg_receipt_n_items(r), sizeof *seqs)) == NULL ||
                        (changed = calloc(vg_receipt_n_items(r), sizeof *changed)) == NULL)) {
        rc = VG_ERR_NOMEM;
    }
    if (rc == VG_OK) {
        rc = s_apply_delivered(b, from, r, seqs, changed, &n_changed, &why);
    }
    if (rc == VG_OK && n_changed > 0) {
        rc = s_record_delivered(b, from, r, seqs, changed);
    }
    if (rc != VG_OK && n_changed > 0) {
        b->batch_failed = true; /* deliveries recorded without their receipt or leaf */
    }
    const uint8_t *first = r ? vg_receipt_item_at(r, 0)->alert_id : NULL;
    if (rc != VG_OK) {
        vgb_reply_reject(b, from, first, rc, why.text, NULL, "receipt.reject");
    } else {
        for (size_t i = 0; i < vg_receipt_n_items(r) && from->agency_idx >= 0; i++) {
            vgb_after_add(b, (size_t)from->agency_idx, seqs[i]);
        }
        vg_log(VG_LOG_DEBUG, "broker", "receipt.accept", "agency=%s items=%zu new=%zu",
               from->agency, vg_receipt_n_items(r), n_changed);
        vgb_reply_confirm(b, from, first,
                          n_changed ? VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED
                                    : VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE,
                          0, NULL, NULL);
    }
    free(seqs);
    free(changed);
    vg_receipt_destroy(&r);
}

/* ---- other frames ---------------------------------------------------------------- */

void
vgb_reply_error(vgb_broker *b, const vgb_from *from, Vigil__RejectCode code, const char *reason)
{
    Vigil__ErrorReply e = VIGIL__ERROR_REPLY__INIT;
    e.code = code;
    e.reason = (char *)reason;
    Vigil__BrokerFrame f = VIGIL__BROKER_FRAME__INIT;
    f.kind_case = VIGIL__BROKER_FRAME__KIND_ERROR;
    f.error = &e;
    vgb_reply_queue(b, from, &f, false);
}

static void
s_get_network(vgb_broker *b, const vgb_from *from)
{
    Vigil__BrokerFrame f = VIGIL__BROKER_FRAME__INIT;
    f.kind_case = VIGIL__BROKER_FRAME__KIND_SIGNED_NETWORK;
    f.signed_network.data = (uint8_t *)vg_netdoc_signed_bytes(b->doc, &f.signed_network.len);
    vgb_reply_queue(b, from, &f, false);
}

/* A query goes to the query thread (reader.h), unless the connection or the
 * agency has had its share: then a rate_limited ErrorReply, at once. */
static void
s_query(vgb_broker *b, const vgb_from *from, const Vigil__Query *q)
{
    vg_reason why = {{0}};
    vg_err rc = from->agency_idx < 0 ? vg_reason_set(&why, VG_ERR_UNKNOWN_SENDER, "who is this?")
                                     : VG_OK;
    if (rc == VG_OK) {
        rc = vgb_conns_may_ask(b->conns, (size_t)from->agency_idx, from->agency, from->rid,
                               from->rid_len, vg_clock_mono_ms(b->clock), &why);
    }
    if (rc == VG_OK && from->request_id == 0) {
        return; /* nobody would read the answer */
    }
    if (rc == VG_OK) {
        rc = vgb_reader_submit(b->reader, (size_t)from->agency_idx,
                               b->agencies[from->agency_idx].id, from->rid, from->rid_len,
                               from->request_id, q, &why);
    }
    if (rc != VG_OK) {
        vg_log(VG_LOG_DEBUG, "broker", "query.refuse", "agency=%s code=%s", from->agency,
               vg_err_code(rc));
        vgb_reply_error(b, from, (Vigil__RejectCode)vg_reject_code(rc), why.text);
    }
    if (rc == VG_ERR_RATE_LIMITED) { /* one that asks on regardless is cut off */
        vgb_conns_refused(b->conns, (size_t)from->agency_idx, from->agency, from->rid,
                          from->rid_len, vg_clock_mono_ms(b->clock));
    }
}

/* An answer from the query thread: sent now, or the connection is cut off
 * when its queue is full (conns.h). */
static void
s_deliver_answer(void *ctx, size_t idx, zmq_msg_t *rid, zmq_msg_t *frame)
{
    vgb_broker *b = ctx;
    uint8_t rid_copy[VGB_RID_MAX];
    size_t rid_len = zmq_msg_size(rid) < VGB_RID_MAX ? zmq_msg_size(rid) : VGB_RID_MAX;
    memcpy(rid_copy, zmq_msg_data(rid), rid_len);
    vg_reason why = {{0}};
    if (vgb_conns_may_ask(b->conns, idx, b->agencies[idx].id, rid_copy, rid_len,
                          vg_clock_mono_ms(b->clock), &why) != VG_OK) {
        return; /* it does not read what it asked for: cut off, nothing more queued for it */
    }
    bool sent, full;
    if (b->send_fn != NULL) {
        vg_err rc = b->send_fn(b->send_ctx, rid_copy, rid_len, zmq_msg_data(frame),
                               zmq_msg_size(frame));
        sent = rc == VG_OK;
        full = rc == VG_ERR_TIMEOUT;
    } else {
        sent = zmq_msg_send(rid, b->router, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0;
        sent = sent && zmq_msg_send(frame, b->router, ZMQ_DONTWAIT) >= 0;
        full = !sent && zmq_errno() == EAGAIN;
    }
    if (!sent && !full) {
        vg_log(VG_LOG_DEBUG, "broker", "reply.drop", "agency=%s reason=peer_gone",
               b->agencies[idx].id);
    }
    if (full) {
        vgb_conns_full(b->conns, idx, b->agencies[idx].id, rid_copy, rid_len,
                       vg_clock_mono_ms(b->clock));
    }
}

/* The request id of a frame that may not parse as a whole: ClientFrame's
 * field 1 is written first, as tag 0x08 and a varint. 0 when unreadable. */
static uint64_t
s_peek_request_id(const uint8_t *data, size_t len)
{
    if (len < 2 || data[0] != 0x08) {
        return 0;
    }
    uint64_t v = 0;
    for (size_t i = 1; i < len && i <= 10; i++) {
        v |= (uint64_t)(data[i] & 0x7f) << (7 * (i - 1));
        if ((data[i] & 0x80) == 0) {
            return v;
        }
    }
    return 0;
}

/* Handles one frame (cf: it unpacked; NULL: it does not parse); pre is the
 * verified envelope of a Publish, or NULL. Frees cf. */
static void
s_dispatch_frame(vgb_broker *b, vgb_from *from, Vigil__ClientFrame *cf, const uint8_t *data,
                 size_t len, vgb_verify_job *pre)
{
    if (cf == NULL) {
        from->request_id = s_peek_request_id(data, len);
        vg_log(VG_LOG_WARN, "broker", "frame.reject", "agency=%s code=malformed", from->agency);
        vgb_reply_error(b, from, VIGIL__REJECT_CODE__REJECT_MALFORMED,
                        "frame does not parse as a vigil ClientFrame");
        return;
    }
    from->request_id = cf->request_id;
    vg_reason why = {{0}};
    if (from->agency_idx >= 0 &&
        vgb_conns_seen(b->conns, (size_t)from->agency_idx, from->agency, from->rid, from->rid_len,
                       from->fd, vg_clock_mono_ms(b->clock), &why) != VG_OK) {
        vgb_reply_error(b, from, VIGIL__REJECT_CODE__REJECT_RATE_LIMITED, why.text);
        vigil__client_frame__free_unpacked(cf, NULL);
        return; /* one connection too many: nothing it sends is handled */
    }
    vgb_agency *a = from->agency_idx >= 0 ? &b->agencies[from->agency_idx] : NULL;
    if (a != NULL && a->rid_len == from->rid_len && memcmp(a->rid, from->rid, a->rid_len) == 0) {
        a->last_seen_mono = vg_clock_mono_ms(b->clock);
    }
    vgb_track_seen(b, from);
    switch (cf->kind_case) {
    case VIGIL__CLIENT_FRAME__KIND_HELLO:
        if (cf->hello->receive && a != NULL) {
            vgb_delivery_attach(b, a, from->rid, from->rid_len);
        }
        if (cf->hello->console) {
            vgb_track_subscribe(b, from);
        }
        break;
    case VIGIL__CLIENT_FRAME__KIND_SHARE:
        vgb_track_share(b, from, &cf->share->signed_share);
        break;
    case VIGIL__CLIENT_FRAME__KIND_QUERY:
        s_query(b, from, cf->query);
        break;
    case VIGIL__CLIENT_FRAME__KIND_PUBLISH:
        s_publish(b, from, &cf->publish->signed_envelope, pre);
        break;
    case VIGIL__CLIENT_FRAME__KIND_RECEIPT:
        s_receipt(b, from, &cf->receipt->signed_receipt);
        break;
    case VIGIL__CLIENT_FRAME__KIND_GET_NETWORK:
        s_get_network(b, from);
        break;
    default:
        vgb_reply_error(b, from, VIGIL__REJECT_CODE__REJECT_MALFORMED,
                        "this broker version does not handle that request");
        break;
    }
    vigil__client_frame__free_unpacked(cf, NULL);
}

static void
s_dispatch(vgb_broker *b, vgb_from *from, const uint8_t *data, size_t len)
{
    s_dispatch_frame(b, from, vigil__client_frame__unpack(NULL, len, data), data, len, NULL);
}

/* Receives one [routing id][payload] message into m; false when none is waiting. */
static bool
s_recv_one(vgb_broker *b, vgb_inmsg *m)
{
    zmq_msg_init(&m->rid);
    if (zmq_msg_recv(&m->rid, b->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m->rid);
        return false;
    }
    zmq_msg_init(&m->payload);
    m->ok = zmq_msg_more(&m->rid) && zmq_msg_recv(&m->payload, b->router, 0) >= 0;
    m->extra = m->ok && zmq_msg_more(&m->payload);
    while (m->ok && zmq_msg_more(&m->payload)) { /* a well-behaved DEALER sends one frame */
        zmq_msg_t junk;
        zmq_msg_init(&junk);
        m->ok = zmq_msg_recv(&junk, b->router, 0) >= 0;
        bool more = m->ok && zmq_msg_more(&junk);
        zmq_msg_close(&junk);
        if (!more) {
            break;
        }
    }
    m->user = m->ok ? zmq_msg_gets(&m->payload, "User-Id") : NULL;
    m->ok = m->ok && m->user != NULL && zmq_msg_size(&m->rid) <= VGB_RID_MAX;
    m->cf = NULL;
    m->job = NULL;
    return true;
}

static void
s_handle_one(vgb_broker *b, vgb_inmsg *m)
{
    if (m->ok) {
        vgb_from from = {.rid_len = zmq_msg_size(&m->rid),
                         .agency = m->user,
                         .fd = zmq_msg_get(&m->payload, ZMQ_SRCFD)};
        memcpy(from.rid, zmq_msg_data(&m->rid), from.rid_len);
        from.agency_idx = vgb_agency_index(b, m->user);
        const uint8_t *data = zmq_msg_data(&m->payload);
        size_t len = zmq_msg_size(&m->payload);
        if (m->extra) {
            from.request_id = s_peek_request_id(data, len);
            vg_log(VG_LOG_WARN, "broker", "frame.reject", "agency=%s code=malformed parts=many",
                   m->user);
            vgb_reply_error(b, &from, VIGIL__REJECT_CODE__REJECT_MALFORMED,
                            "send exactly one frame per message");
        } else {
            s_dispatch_frame(b, &from, m->cf, data, len, m->job);
            m->cf = NULL;
        }
    }
    if (m->cf != NULL) {
        vigil__client_frame__free_unpacked(m->cf, NULL);
    }
    zmq_msg_close(&m->payload);
    zmq_msg_close(&m->rid);
}

/* Takes up to cfg->batch waiting messages into x and lists their
 * envelopes' checks (not yet done). */
static void
s_take_batch(vgb_broker *b, vgb_batch *x)
{
    x->n = x->n_jobs = 0;
    while (x->n < (size_t)b->cfg->batch && s_recv_one(b, &x->in[x->n])) {
        vgb_inmsg *m = &x->in[x->n++];
        if (!m->ok || m->extra) {
            continue;
        }
        m->cf =
            vigil__client_frame__unpack(NULL, zmq_msg_size(&m->payload), zmq_msg_data(&m->payload));
        if (m->cf != NULL && m->cf->kind_case == VIGIL__CLIENT_FRAME__KIND_PUBLISH) {
            m->job = &x->jobs[x->n_jobs];
            x->jobs[x->n_jobs++] = (vgb_verify_job){.bytes = m->cf->publish->signed_envelope.data,
                                                    .len = m->cf->publish->signed_envelope.len};
        }
    }
}

/* Tells a client that what it sent was not recorded (the commit failed):
 * storage_full or internal, both of which a client keeps and resends. */
static void
s_send_abort(vgb_broker *b, const vgb_reply *r, bool full)
{
    Vigil__Confirm c = VIGIL__CONFIRM__INIT;
    c.alert_id.data = (uint8_t *)r->alert_id;
    c.alert_id.len = VG_ALERT_ID_LEN;
    c.status = VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED;
    c.code = full ? VIGIL__REJECT_CODE__REJECT_STORAGE_FULL : VIGIL__REJECT_CODE__REJECT_INTERNAL;
    c.reason = full ? "the broker's store is full: nothing was recorded; it stays in your outbox "
                      "and is sent again when there is space"
                    : "the broker could not write its store: nothing was recorded; send it again";
    Vigil__BrokerFrame f = VIGIL__BROKER_FRAME__INIT;
    f.request_id = r->request_id;
    f.kind_case = VIGIL__BROKER_FRAME__KIND_CONFIRM;
    f.confirm = &c;
    size_t len = vigil__broker_frame__get_packed_size(&f);
    uint8_t *buf = malloc(len);
    if (buf != NULL) {
        vigil__broker_frame__pack(&f, buf);
        if (vgb_send(b, r->rid, r->rid_len, buf, len) != VG_OK) {
            vg_log(VG_LOG_DEBUG, "broker", "reply.drop", "reason=peer_gone_or_full");
        }
        free(buf);
    }
}

/* Commits the batch, then sends its replies and applies its post-commit work. */
static void
s_finish_batch(vgb_broker *b)
{
    bool committed = true;
    vg_reason why = {{0}};
    vg_err rc = VG_OK;
    if (b->n_runs > 0 && !vgb_txn(b)) { /* events wait to be written: never drop them */
        b->batch_failed = true;
    }
    if (b->batch_failed) { /* a state change without its audit leaf must not commit */
        vgb_store_rollback(b->store);
        committed = false;
        rc = VG_ERR_IO;
        b->batch_failed = false;
    } else if (vgb_store_in_transaction(b->store)) {
        rc = vgb_track_write_events(b);
        rc = rc == VG_OK ? vgb_store_commit(b->store, &why) : rc;
        committed = rc == VG_OK;
        if (!committed) {
            vgb_store_rollback(b->store);
            vgb_space_commit_failed(b, rc);
        }
    }
    for (size_t i = 0; i < b->n_replies; i++) {
        vgb_reply *r = &b->replies[i];
        if (!committed && r->needs_commit) {
            /* Never confirm what is not durable: say so; the client keeps it and resends. */
            vg_log(VG_LOG_ERROR, "broker", "batch.abort", "code=%s", vg_err_code(rc));
            s_send_abort(b, r, rc == VG_ERR_STORAGE_FULL);
        } else if (vgb_send(b, r->rid, r->rid_len, r->frame, r->len) != VG_OK) {
            vg_log(VG_LOG_DEBUG, "broker", "reply.drop", "reason=peer_gone_or_full");
        }
        free(r->frame);
    }
    b->n_replies = 0;
    if (!committed) {
        vgb_delivery_forget(b, 0); /* the frames of alerts that were not stored */
    }
    vgb_track_flush_events(b, committed);
    for (size_t i = 0; committed && i < b->n_after; i++) {
        vgb_agency *a = &b->agencies[b->after[i].agency];
        if (b->after[i].seq == 0) {
            a->dirty = true;
        } else {
            vgb_delivery_receipted(a, b->after[i].seq);
        }
    }
    b->n_after = 0;
    vgb_ledger_after_commit(b, committed); /* after the replies: off their path */
    if (committed) {
        vgb_store_after_commit(b->store); /* SQLite: the checkpointer; never waits */
    }
}

/* Handles a batch whose checks are done, in order, and commits it. */
static void
s_handle_batch(vgb_broker *b, vgb_batch *x)
{
    for (size_t i = 0; i < x->n; i++) {
        s_handle_one(b, &x->in[i]);
    }
    x->n = x->n_jobs = 0;
    s_finish_batch(b);
}

/* Takes what the socket holds and handles it. A full batch means more is
 * waiting: its checks then go to the verifier's thread alone while the loop
 * handles the batch before it (pending), and it is handled on the next pass.
 * Anything less is checked on both threads and handled at once, so a quiet
 * broker adds no wait. Messages are handled in the order they came. */
static void
s_serve(vgb_broker *b)
{
    int xi = b->pending >= 0 ? 1 - b->pending : 0;
    vgb_batch *x = &b->batches[xi];
    vgb_batch *p = b->pending >= 0 ? &b->batches[b->pending] : NULL;
    s_take_batch(b, x);
    vgb_verifier_wait(b->verifier); /* p's checks, started on the last pass */
    if (x->n == (size_t)b->cfg->batch && b->verifier != NULL) {
        vgb_verifier_start(b->verifier, b->doc, x->jobs, x->n_jobs);
        if (p != NULL) {
            s_handle_batch(b, p);
        }
        b->pending = xi;
        return;
    }
    if (p != NULL) {
        s_handle_batch(b, p);
    }
    vgb_verifier_run(b->verifier, b->doc, x->jobs, x->n_jobs);
    s_handle_batch(b, x);
    b->pending = -1;
}

void
vgb_broker_handle_frame(vgb_broker *b, const char *agency, const uint8_t *rid, size_t rid_len,
                        const uint8_t *data, size_t len)
{
    vgb_from from = {
        .rid_len = rid_len < VGB_RID_MAX ? rid_len : VGB_RID_MAX, .agency = agency, .fd = -1};
    memcpy(from.rid, rid, from.rid_len);
    from.agency_idx = vgb_agency_index(b, agency);
    s_dispatch(b, &from, data, len);
    s_finish_batch(b);
}

void
vgb_broker_set_sender(vgb_broker *b, vgb_send_fn fn, void *ctx)
{
    b->send_fn = fn;
    b->send_ctx = ctx;
}

long
vgb_broker_step(vgb_broker *b)
{
    long timeout = vgb_track_service(b);
    vgb_ledger_service(b);
    if (b->disk_full && vg_clock_mono_ms(b->clock) >= b->next_space_check_mono) {
        b->next_space_check_mono = vg_clock_mono_ms(b->clock) + 1000;
        vgb_space_check(b);
    }
    s_finish_batch(b); /* what the timers did, committed before it is told */
    long delivery = vgb_delivery_service(b);
    if (vgb_store_in_transaction(b->store)) {
        s_finish_batch(b); /* deliveries set aside (parked) */
    }
    timeout = delivery < timeout ? delivery : timeout;
    long checkpoint = vgb_ledger_next_ms(b); /* an idle broker still signs on time */
    timeout = checkpoint >= 0 && checkpoint < timeout ? checkpoint : timeout;
    long answers =
        vgb_reader_service(b->reader, vg_clock_mono_ms(b->clock), s_deliver_answer, b);
    return answers >= 0 && answers < timeout ? answers : timeout;
}

vg_err
vgb_broker_run(vgb_broker *b, volatile sig_atomic_t *stop)
{
    while (!*stop) {
        long timeout = vgb_broker_step(b);
        zmq_pollitem_t items[] = {{b->router, 0, ZMQ_POLLIN, 0},
                                  {vgb_zap_socket(b->zap), 0, ZMQ_POLLIN, 0},
                                  {vgb_reader_socket(b->reader), 0, ZMQ_POLLIN, 0}};
        int n = zmq_poll(items, 3, b->pending >= 0 ? 0 : timeout);
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
    }
    if (b->pending >= 0) { /* taken from the socket: handled before stopping */
        vgb_verifier_wait(b->verifier);
        s_handle_batch(b, &b->batches[b->pending]);
        b->pending = -1;
    }
    vg_log(VG_LOG_INFO, "broker", "broker.stop", "endpoint=%s", b->endpoint);
    return VG_OK;
}

/* ---- setup ------------------------------------------------------------------------- */

static vg_err
s_load_identity(vgb_broker *b, vg_reason *why)
{
    vg_err rc = vg_keyset_load(&b->keys, b->cfg->keys_path, why);
    if (rc != VG_OK) {
        return rc;
    }
    if ((vg_keyset_kinds(b->keys) & (VG_KEY_SIGN | VG_KEY_CURVE)) != (VG_KEY_SIGN | VG_KEY_CURVE)) {
        return vg_reason_set(why, VG_ERR_CONFIG, "%s must hold the broker's sign and curve keys",
                             b->cfg->keys_path);
    }
    rc = vg_netdoc_load(&b->doc, b->cfg->document_path, b->cfg->admin_pk, 0, why);
    if (rc != VG_OK) {
        return rc;
    }
    if (memcmp(vg_netdoc_broker_transport_pk(b->doc), vg_keyset_curve_pk(b->keys),
               VG_CURVE_KEY_LEN) != 0) {
        return vg_reason_set(why, VG_ERR_CONFIG,
                             "%s: the network document names a different broker transport key "
                             "than %s holds",
                             b->cfg->document_path, b->cfg->keys_path);
    }
    b->n_agencies = vg_netdoc_n_agencies(b->doc);
    b->agencies = calloc(b->n_agencies, sizeof *b->agencies);
    if (b->agencies == NULL) {
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < b->n_agencies; i++) {
        vg_agency ag;
        vg_netdoc_agency_at(b->doc, i, &ag);
        b->agencies[i].id = ag.id;
        b->agencies[i].inflight = calloc((size_t)b->cfg->inflight, sizeof(vgb_inflight));
        if (b->agencies[i].inflight == NULL) {
            return VG_ERR_NOMEM;
        }
    }
    b->pending = -1;
    for (int i = 0; i < 2; i++) {
        b->batches[i].in = calloc((size_t)b->cfg->batch, sizeof *b->batches[i].in);
        b->batches[i].jobs = calloc((size_t)b->cfg->batch, sizeof *b->batches[i].jobs);
        if (b->batches[i].in == NULL || b->batches[i].jobs == NULL) {
            return VG_ERR_NOMEM;
        }
    }
    if (vgb_verifier_new(&b->verifier) != VG_OK) { /* then the loop checks them all */
        vg_log(VG_LOG_WARN, "broker", "verifier.unavailable", "detail=one_thread");
    }
    return VG_OK;
}

/* Refuses a network document older than one this store was served with
 * (it could bring back a revoked agency), then records this one. */
static vg_err
s_check_network_version(vgb_broker *b, vg_reason *why)
{
    uint64_t seen = 0;
    uint64_t have = vg_netdoc_version(b->doc);
    vg_err rc = vgb_store_network_version(b->store, &seen);
    if (rc == VG_OK && have < seen) {
        return vg_reason_set(why, VG_ERR_STALE_VERSION,
                             "%s is network document version %llu but this store was already "
                             "served with version %llu: install the current signed document "
                             "(an older one could bring back revoked keys)",
                             b->cfg->document_path, (unsigned long long)have,
                             (unsigned long long)seen);
    }
    if (rc == VG_OK && have > seen && (rc = vgb_store_begin(b->store, why)) == VG_OK) {
        rc = vgb_store_set_network_version(b->store, have, why);
        rc = rc == VG_OK ? vgb_store_commit(b->store, why) : rc;
        if (rc != VG_OK) {
            vgb_store_rollback(b->store);
        }
    }
    return rc;
}

static vg_err
s_bind(vgb_broker *b, vg_reason *why)
{
    int one = 1, linger = 0, server = 1, sndhwm = VGB_SNDHWM, backlog = VGB_BACKLOG;
    int handshake = (int)b->cfg->handshake_timeout_ms;
    int64_t maxmsg = VG_FRAME_MAX_BYTES;
    int hb_ivl = 2000, hb_timeout = 10000;
    b->router = zmq_socket(b->ctx, ZMQ_ROUTER);
    if (b->router == NULL ||
        zmq_setsockopt(b->router, ZMQ_CURVE_SERVER, &server, sizeof server) != 0 ||
        zmq_setsockopt(b->router, ZMQ_CURVE_SECRETKEY, vg_keyset_curve_sk(b->keys),
                       VG_CURVE_KEY_LEN) != 0 ||
        zmq_setsockopt(b->router, ZMQ_ZAP_DOMAIN, VGB_ZAP_DOMAIN, strlen(VGB_ZAP_DOMAIN)) != 0 ||
        zmq_setsockopt(b->router, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0 ||
        zmq_setsockopt(b->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(b->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0 ||
        zmq_setsockopt(b->router, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl) != 0 ||
        zmq_setsockopt(b->router, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout) != 0 ||
        zmq_setsockopt(b->router, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm) != 0 ||
        zmq_setsockopt(b->router, ZMQ_HANDSHAKE_IVL, &handshake, sizeof handshake) != 0 ||
        zmq_setsockopt(b->router, ZMQ_BACKLOG, &backlog, sizeof backlog) != 0 ||
        zmq_setsockopt(b->router, ZMQ_LINGER, &linger, sizeof linger) != 0) {
        return vg_reason_set(why, VG_ERR_IO, "cannot set up the broker socket: %s",
                             zmq_strerror(zmq_errno()));
    }
    if (zmq_bind(b->router, b->cfg->bind) != 0) {
        return vg_reason_set(why, VG_ERR_IO, "cannot bind %s: %s", b->cfg->bind,
                             zmq_strerror(zmq_errno()));
    }
    size_t elen = sizeof b->endpoint;
    zmq_getsockopt(b->router, ZMQ_LAST_ENDPOINT, b->endpoint, &elen);
    return VG_OK;
}

vg_err
vgb_broker_new(vgb_broker **out, const vg_broker_config *cfg, const vg_clock *clock, vg_reason *why)
{
    vgb_broker *b = calloc(1, sizeof *b);
    if (b == NULL) {
        return VG_ERR_NOMEM;
    }
    b->cfg = cfg;
    b->clock = clock;
    b->hw_fd = -1;
    b->hw_size = UINT64_MAX; /* nothing written yet: the first commit writes the mark */
    vg_err rc = s_load_identity(b, why);
    if (rc == VG_OK) {
        rc = vgb_store_open(&b->store, cfg->store_path, why);
    }
    if (rc == VG_OK) {
        rc = s_check_network_version(b, why);
    }
    if (rc == VG_OK) {
        rc = vgb_netdocs_load(&b->netdocs, b->store, b->doc, cfg->admin_pk, why);
    }
    if (rc == VG_OK) {
        rc = vgb_quota_new(&b->quota, b->store, b->doc, vg_clock_wall_ms(clock),
                           vg_clock_mono_ms(clock), why);
    }
    if (rc == VG_OK) {
        vgb_space_start(b);
    }
    if (rc == VG_OK) {
        rc = vgb_ledger_open(b, why);
    }
    if (rc == VG_OK && vgb_track_start(b) != VG_OK) {
        rc = vg_reason_set(why, VG_ERR_IO, "cannot rebuild deadlines from the store %s",
                           cfg->store_path);
    }
    if (rc == VG_OK) { /* every check of the store passed: it may be checkpointed */
        vgb_store_mark_sound(b->store);
    }
    if (rc == VG_OK && (b->ctx = zmq_ctx_new()) == NULL) {
        rc = vg_reason_set(why, VG_ERR_IO, "cannot create a ZeroMQ context");
    }
    if (rc == VG_OK) {
        vgb_store_background bg = {.zmq_ctx = b->ctx,
                                   .wal_checkpoint_pages = (uint32_t)cfg->wal_checkpoint_pages};
        rc = vgb_store_start_background(b->store, &bg, why);
    }
    if (rc == VG_OK) {
        vgb_reader_params rp = {.zmq_ctx = b->ctx,
                                .store = b->store,
                                .doc = b->doc,
                                .keys = b->keys,
                                .n_agencies = b->n_agencies,
                                .queue_max = (uint32_t)cfg->queries_queued,
                                .time_ms_per_s = (uint32_t)cfg->query_time_ms};
        rc = vgb_reader_new(&b->reader, &rp, why);
    }
    if (rc == VG_OK) {
        rc = vgb_conns_new(&b->conns, b->n_agencies, (uint32_t)cfg->connections_per_agency,
                           cfg->unread_bytes, 3 * VG_KEEPALIVE_MS);
    }
    if (rc == VG_OK) { /* the ZAP handler first: a ROUTER without it must not exist */
        rc = vgb_zap_new(&b->zap, b->ctx, b->doc, why);
    }
    if (rc == VG_OK) {
        rc = s_bind(b, why);
    }
    if (rc != VG_OK) {
        vgb_broker_destroy(&b);
        return rc;
    }
    uint64_t n_alerts = 0;
    if (vgb_store_count_alerts(b->store, &n_alerts) != VG_OK) {
        n_alerts = 0;
    }
    vg_log(VG_LOG_INFO, "broker", "broker.ready",
           "endpoint=%s network=%s version=%llu agencies=%zu alerts=%llu", b->endpoint,
           vg_netdoc_network(b->doc), (unsigned long long)vg_netdoc_version(b->doc), b->n_agencies,
           (unsigned long long)n_alerts);
    *out = b;
    return VG_OK;
}

const char *
vgb_broker_endpoint(const vgb_broker *b)
{
    return b->endpoint;
}

void
vgb_broker_destroy(vgb_broker **b_p)
{
    if (b_p == NULL || *b_p == NULL) {
        return;
    }
    vgb_broker *b = *b_p;
    if (b->router != NULL) {
        zmq_close(b->router);
    }
    vgb_verifier_wait(b->verifier);
    vgb_verifier_destroy(&b->verifier);
    for (int i = 0; i < 2; i++) {
        vgb_batch *x = &b->batches[i];
        for (size_t j = 0; i == b->pending && j < x->n; j++) { /* taken, never handled */
            if (x->in[j].job != NULL) {
                vg_envelope_destroy(&x->in[j].job->env);
            }
            if (x->in[j].cf != NULL) {
                vigil__client_frame__free_unpacked(x->in[j].cf, NULL);
            }
            zmq_msg_close(&x->in[j].payload);
            zmq_msg_close(&x->in[j].rid);
        }
        free(x->in);
        free(x->jobs);
    }
    vgb_zap_destroy(&b->zap);
    vgb_reader_destroy(&b->reader); /* before the context ends */
    if (b->store != NULL) {
        vgb_store_stop_background(b->store); /* its sockets too */
    }
    vgb_conns_destroy(&b->conns);
    if (b->ctx != NULL) {
        zmq_ctx_term(b->ctx);
    }
    vgb_track_fini(b);
    vgb_delivery_fini(b);
    vgb_ledger_close(b);
    vgb_store_destroy(&b->store);
    for (size_t i = 0; i < b->n_agencies; i++) {
        free(b->agencies[i].inflight);
    }
    free(b->agencies);
    for (size_t i = 0; i < b->n_replies; i++) {
        free(b->replies[i].frame);
    }
    free(b->replies);
    free(b->after);
    vgb_netdocs_destroy(&b->netdocs);
    vgb_quota_destroy(&b->quota);
    vg_netdoc_destroy(&b->doc);
    vg_keyset_destroy(&b->keys);
    free(b);
    *b_p = NULL;
}
