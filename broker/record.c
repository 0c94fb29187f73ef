/* record.c — one call per fact: its events and its one audit leaf (record.h). */
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "vigil/audit_leaf.h"
#include "vigil/log.h"
#include "vigil/share.h"

/* Leaf kinds are the wire's EventKind values (vigil/audit_leaf.h). */
_Static_assert((int)VG_AUDIT_ACCEPTED == VIGIL__EVENT_KIND__EVENT_ACCEPTED, "kind");
_Static_assert((int)VG_AUDIT_DELIVERED == VIGIL__EVENT_KIND__EVENT_DELIVERED, "kind");
_Static_assert((int)VG_AUDIT_ACKNOWLEDGED == VIGIL__EVENT_KIND__EVENT_ACKNOWLEDGED, "kind");
_Static_assert((int)VG_AUDIT_IN_PROGRESS == VIGIL__EVENT_KIND__EVENT_IN_PROGRESS, "kind");
_Static_assert((int)VG_AUDIT_DECLINED == VIGIL__EVENT_KIND__EVENT_DECLINED, "kind");
_Static_assert((int)VG_AUDIT_SHARED == VIGIL__EVENT_KIND__EVENT_SHARED, "kind");
_Static_assert((int)VG_AUDIT_OVERDUE == VIGIL__EVENT_KIND__EVENT_OVERDUE, "kind");
_Static_assert((int)VG_AUDIT_ESCALATED == VIGIL__EVENT_KIND__EVENT_ESCALATED, "kind");
_Static_assert((int)VG_AUDIT_AGENCY_OFFLINE == VIGIL__EVENT_KIND__EVENT_AGENCY_OFFLINE, "kind");
_Static_assert((int)VG_AUDIT_AGENCY_ONLINE == VIGIL__EVENT_KIND__EVENT_AGENCY_ONLINE, "kind");
_Static_assert((int)VG_AUDIT_UNOPENABLE == VIGIL__EVENT_KIND__EVENT_UNOPENABLE, "kind");
_Static_assert((int)VG_AUDIT_NETWORK_CHANGED == VIGIL__EVENT_KIND__EVENT_NETWORK_CHANGED, "kind");
_Static_assert((int)VG_AUDIT_REASSIGNED == VIGIL__EVENT_KIND__EVENT_REASSIGNED, "kind");
_Static_assert((int)VG_AUDIT_NOTIFIED == VIGIL__EVENT_KIND__EVENT_NOTIFIED, "kind");
_Static_assert((int)VG_AUDIT_NETWORK_WARNING == VIGIL__EVENT_KIND__EVENT_NETWORK_WARNING, "kind");
_Static_assert((int)VG_AUDIT_LINKED == VIGIL__EVENT_KIND__EVENT_LINKED, "kind");
_Static_assert((int)VG_AUDIT_UNWITNESSED == VIGIL__EVENT_KIND__EVENT_UNWITNESSED, "kind");

struct vgb_record {
    vgb_store *store;      /* borrowed */
    vgb_ledger *ledger;    /* borrowed */
    vgb_streams *streams;  /* borrowed */
    vgb_batch *batch;      /* borrowed */
    const vg_clock *clock; /* borrowed */
};

vg_err
vgb_record_new(vgb_record **out, vgb_store *store, vgb_ledger *ledger, vgb_streams *streams,
               vgb_batch *batch, const vg_clock *clock)
{
    vgb_record *rec = calloc(1, sizeof *rec);
    if (rec == NULL) {
        return VG_ERR_NOMEM;
    }
    *rec = (vgb_record){store, ledger, streams, batch, clock};
    *out = rec;
    return VG_OK;
}

void
vgb_record_destroy(vgb_record **r_p)
{
    if (r_p != NULL) {
        free(*r_p);
        *r_p = NULL;
    }
}

/* The one path of every fact: its events (n_events of them, may be 0), then
 * its leaf (NULL: the fact has none, COMPLETE alone), linked to the alerts
 * seqs, in the open transaction. A failure fails the batch. The leaf gets
 * the alert id from the first event's alert when it has none. */
static vg_err
s_record(vgb_record *rec, const vgb_event *events, size_t n_events, vg_audit_event *leaf,
         const uint64_t *seqs, size_t n_seqs, uint64_t *idx_out)
{
    vg_err rc = vgb_batch_txn(rec->batch) ? VG_OK : VG_ERR_IO;
    for (size_t i = 0; i < n_events && rc == VG_OK; i++) {
        vgb_alert_brief brief;
        bool has = false;
        rc = vgb_streams_emit(rec->streams, &events[i], &brief, &has);
        if (rc == VG_OK && i == 0 && has && leaf != NULL && !leaf->has_alert_id &&
            leaf->n_alerts == 0 && leaf->kind != VG_AUDIT_REJECTED) {
            leaf->has_alert_id = true;
            memcpy(leaf->alert_id, brief.id, VG_ALERT_ID_LEN);
        }
    }
    if (rc == VG_OK && leaf != NULL) {
        rc = vgb_ledger_append(rec->ledger, seqs, n_seqs, leaf, idx_out);
    }
    if (rc != VG_OK) {
        vgb_batch_fail(rec->batch); /* no state without its leaf and events */
    }
    return rc;
}

/* The leaf's deadline= lines (n may be 0; d may be NULL then). */
static vg_err
s_add_deadlines(vg_audit_event *a, const vg_audit_deadline *d, size_t n)
{
    vg_err rc = VG_OK;
    for (size_t i = 0; i < n && rc == VG_OK; i++) {
        rc = vg_audit_event_add_deadline(a, &d[i]);
    }
    return rc;
}

vg_err
vgb_record_accepted(vgb_record *rec, uint64_t seq, const vg_envelope *env,
                    const vg_audit_deadline *deadlines, size_t n)
{
    vg_audit_event a = {.kind = VG_AUDIT_ACCEPTED,
                        .has_alert_id = true,
                        .version = vg_envelope_network_version(env)};
    memcpy(a.alert_id, vg_envelope_id(env), VG_ALERT_ID_LEN);
    memcpy(a.hash, vg_envelope_hash(env), VG_HASH_LEN);
    snprintf(a.sender, sizeof a.sender, "%s", vg_envelope_sender(env));
    const vg_strlist *r = vg_envelope_recipients(env);
    vg_err rc = s_add_deadlines(&a, deadlines, n);
    for (size_t i = 0; i < r->n && rc == VG_OK; i++) {
        rc = vg_strlist_add(&a.agencies, r->items[i]);
    }
    vgb_streams_alert_accepted(rec->streams, seq, env); /* its events need not read it back */
    vgb_event ev = {
        .kind = VIGIL__EVENT_KIND__EVENT_ACCEPTED, .seq = seq, .about = vg_envelope_sender(env)};
    if (rc == VG_OK) {
        rc = s_record(rec, &ev, 1, &a, &seq, 1, NULL);
    } else {
        vgb_batch_fail(rec->batch);
    }
    vg_audit_event_fini(&a);
    return rc;
}

vg_err
vgb_record_delivered(vgb_record *rec, const char *agency, const uint8_t hash[VG_HASH_LEN],
                     const uint64_t *seqs, const uint8_t (*ids)[VG_ALERT_ID_LEN], size_t n)
{
    vgb_event *evs = calloc(n, sizeof *evs);
    vg_audit_event a = {.kind = VG_AUDIT_DELIVERED, .n_alerts = n};
    a.alerts = malloc(n * sizeof *a.alerts);
    if (evs == NULL || a.alerts == NULL) {
        free(evs);
        free(a.alerts);
        vgb_batch_fail(rec->batch);
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        evs[i] = (vgb_event){
            .kind = VIGIL__EVENT_KIND__EVENT_DELIVERED, .seq = seqs[i], .about = agency};
        memcpy(a.alerts[i], ids[i], VG_ALERT_ID_LEN);
    }
    memcpy(a.hash, hash, VG_HASH_LEN);
    snprintf(a.agency, sizeof a.agency, "%s", agency);
    /* The leaf is found from each alert through the receipt (one link row
     * for the receipt, not one per alert); a receipt that has a leaf already
     * (a resend that recorded more) links these alerts directly. */
    uint64_t idx = 0;
    bool set = false;
    vg_err rc = s_record(rec, evs, n, &a, NULL, 0, &idx);
    rc = rc == VG_OK ? vgb_store_receipt_leaf(rec->store, hash, idx, &set) : rc;
    if (rc == VG_OK && !set) {
        rc = vgb_ledger_link(rec->ledger, seqs, n, idx);
    }
    if (rc != VG_OK) {
        vgb_batch_fail(rec->batch);
    }
    free(a.alerts);
    free(evs);
    return rc;
}

vg_err
vgb_record_receipt(vgb_record *rec, uint64_t seq, const char *agency, const vg_receipt *r,
                   bool completes, const vg_audit_deadline *extended)
{
    vg_receipt_kind kind = vg_receipt_kind_of(r);
    vgb_event ev[2] = {{.seq = seq, .about = agency},
                       {.kind = VIGIL__EVENT_KIND__EVENT_COMPLETE, .seq = seq}};
    vg_audit_event a = {.has_alert_id = false};
    switch (kind) {
    case VG_RECEIPT_ACKNOWLEDGED:
        ev[0].kind = VIGIL__EVENT_KIND__EVENT_ACKNOWLEDGED;
        ev[0].detail = vg_receipt_officer(r);
        a.kind = VG_AUDIT_ACKNOWLEDGED;
        break;
    case VG_RECEIPT_IN_PROGRESS:
        ev[0].kind = VIGIL__EVENT_KIND__EVENT_IN_PROGRESS;
        ev[0].detail = vg_receipt_reason(r);
        a.kind = VG_AUDIT_IN_PROGRESS;
        break;
    case VG_RECEIPT_DECLINED:
        ev[0].kind = VIGIL__EVENT_KIND__EVENT_DECLINED;
        ev[0].detail = vg_receipt_reason(r);
        a.kind = VG_AUDIT_DECLINED;
        break;
    default: /* VG_RECEIPT_UNOPENABLE (DELIVERED has vgb_record_delivered) */
        ev[0].kind = VIGIL__EVENT_KIND__EVENT_UNOPENABLE;
        ev[0].detail = vg_open_failure_name(vg_receipt_failure(r));
        a.kind = VG_AUDIT_UNOPENABLE;
        snprintf(a.code, sizeof a.code, "%s", ev[0].detail);
        break;
    }
    size_t len = 0;
    ev[0].receipt = vg_receipt_bytes(r, &len);
    ev[0].receipt_len = len;
    memcpy(a.hash, vg_receipt_hash(r), VG_HASH_LEN);
    snprintf(a.agency, sizeof a.agency, "%s", agency);
    vgb_ledger_urgent(rec->ledger); /* a person acted (or could not open it): prove it at once */
    vg_err rc = s_add_deadlines(&a, extended, extended != NULL && kind == VG_RECEIPT_IN_PROGRESS);
    if (rc == VG_OK) {
        rc = s_record(rec, ev, completes ? 2 : 1, &a, &seq, 1, NULL);
    } else {
        vgb_batch_fail(rec->batch);
    }
    vg_audit_event_fini(&a);
    return rc;
}

vg_err
vgb_record_shared(vgb_record *rec, uint64_t seq, const char *sharer, const char *to,
                  const uint8_t hash[VG_HASH_LEN], const vg_audit_deadline *deadline)
{
    vgb_event ev = {
        .kind = VIGIL__EVENT_KIND__EVENT_SHARED, .seq = seq, .about = to, .detail = sharer};
    vg_audit_event a = {.kind = VG_AUDIT_SHARED};
    memcpy(a.hash, hash, VG_HASH_LEN);
    snprintf(a.agency, sizeof a.agency, "%s", sharer); /* the leaf's agency is the sharer */
    vgb_streams_audience_changed(rec->streams, seq);   /* one more agency hears of it */
    vg_err rc = vg_strlist_add(&a.agencies, to);
    rc = rc == VG_OK ? s_add_deadlines(&a, deadline, deadline != NULL) : rc;
    if (rc == VG_OK) {
        rc = s_record(rec, &ev, 1, &a, &seq, 1, NULL);
    } else {
        vgb_batch_fail(rec->batch);
    }
    vg_audit_event_fini(&a);
    return rc;
}

vg_err
vgb_record_step(vgb_record *rec, const vgb_step *step)
{
    bool overdue = step->level == 1;
    vgb_event ev = {.kind = overdue ? VIGIL__EVENT_KIND__EVENT_OVERDUE
                                    : VIGIL__EVENT_KIND__EVENT_ESCALATED,
                    .seq = step->seq,
                    .about = step->agency,
                    .detail = step->detail,
                    .level = step->level,
                    .extra_agency = step->extra_agency,
                    .extra_role = step->extra_role};
    vg_audit_event a = {.kind = overdue ? VG_AUDIT_OVERDUE : VG_AUDIT_ESCALATED,
                        .deadline_ms = (uint64_t)step->deadline_ms,
                        .level = step->level};
    snprintf(a.agency, sizeof a.agency, "%s", step->agency);
    if (!overdue) {
        snprintf(a.target, sizeof a.target, "%s", step->detail);
    }
    vgb_ledger_urgent(rec->ledger);
    return s_record(rec, &ev, 1, &a, &step->seq, 1, NULL);
}

vg_err
vgb_record_presence(vgb_record *rec, const char *agency, bool online, uint32_t waiting)
{
    vgb_event ev = {.kind = online ? VIGIL__EVENT_KIND__EVENT_AGENCY_ONLINE
                                   : VIGIL__EVENT_KIND__EVENT_AGENCY_OFFLINE,
                    .about = agency,
                    .count = online ? 0 : waiting,
                    .everyone = true};
    vg_audit_event a = {.kind = online ? VG_AUDIT_AGENCY_ONLINE : VG_AUDIT_AGENCY_OFFLINE,
                        .pending = online ? 0 : waiting};
    snprintf(a.agency, sizeof a.agency, "%s", agency);
    return s_record(rec, &ev, 1, &a, NULL, 0, NULL);
}

vg_err
vgb_record_rejected(vgb_record *rec, const char *transport, const char *claimed,
                    const uint8_t *alert_id, const char *code, const char *reason)
{
    if (!vgb_batch_txn(rec->batch)) {
        return VG_ERR_IO; /* logged by the store; the refusal still goes back */
    }
    vg_err rc = vgb_store_insert_rejection(rec->store, vg_clock_wall_ms(rec->clock), transport,
                                           alert_id, code, reason);
    (void)rc; /* logged by the store; the leaf still records the refusal */
    vg_audit_event a = {.kind = VG_AUDIT_REJECTED, .has_alert_id = alert_id != NULL};
    if (alert_id != NULL) {
        memcpy(a.alert_id, alert_id, VG_ALERT_ID_LEN);
    }
    snprintf(a.code, sizeof a.code, "%s", code);
    snprintf(a.transport, sizeof a.transport, "%s", transport);
    if (claimed != NULL && vg_agency_id_is_valid(claimed)) {
        snprintf(a.sender, sizeof a.sender, "%s", claimed);
    }
    vgb_ledger_urgent(rec->ledger);
    return s_record(rec, NULL, 0, &a, NULL, 0, NULL);
}

vg_err
vgb_record_network_changed(vgb_record *rec, uint64_t version, const uint8_t hash[VG_HASH_LEN])
{
    char detail[32];
    snprintf(detail, sizeof detail, "version:%llu", (unsigned long long)version);
    vgb_event ev = {
        .kind = VIGIL__EVENT_KIND__EVENT_NETWORK_CHANGED, .detail = detail, .everyone = true};
    vg_audit_event a = {.kind = VG_AUDIT_NETWORK_CHANGED, .version = version};
    memcpy(a.hash, hash, VG_HASH_LEN);
    vgb_ledger_urgent(rec->ledger);
    return s_record(rec, &ev, 1, &a, NULL, 0, NULL);
}

vg_err
vgb_record_reassigned(vgb_record *rec, uint64_t seq, const char *agency, const char *successor,
                      uint64_t version, const vg_audit_deadline *deadline)
{
    char detail[VG_AGENCY_ID_MAX + 16];
    snprintf(detail, sizeof detail, "%s%s", successor ? "successor:" : "no successor",
             successor ? successor : "");
    vgb_event ev = {.kind = VIGIL__EVENT_KIND__EVENT_REASSIGNED,
                    .seq = seq,
                    .about = agency,
                    .detail = detail,
                    .extra_agency = successor};
    vg_audit_event a = {.kind = VG_AUDIT_REASSIGNED, .version = version};
    snprintf(a.agency, sizeof a.agency, "%s", agency);
    snprintf(a.target, sizeof a.target, "%s", successor ? successor : "");
    vgb_ledger_urgent(rec->ledger);
    vg_err rc = s_add_deadlines(&a, deadline, deadline != NULL);
    if (rc == VG_OK) {
        rc = s_record(rec, &ev, 1, &a, &seq, 1, NULL);
    } else {
        vgb_batch_fail(rec->batch);
    }
    vg_audit_event_fini(&a);
    return rc;
}

vg_err
vgb_record_notified(vgb_record *rec, const vgb_notified *n)
{
    char detail[512], seen[256];
    const char *channel = n->channel[0] ? n->channel : "-";
    const char *outcome = n->sent ? "sent" : "failed";
    snprintf(detail, sizeof detail, "%s %s %s %s%s%s", n->target, channel, n->to[0] ? n->to : "-",
             outcome, n->sent ? "" : ":", n->sent ? "" : n->code);
    snprintf(seen, sizeof seen, "%s %s - %s%s%s", n->target, channel, outcome, n->sent ? "" : ":",
             n->sent ? "" : n->code);
    vgb_event ev = {.kind = VIGIL__EVENT_KIND__EVENT_NOTIFIED,
                    .seq = n->seq,
                    .about = n->agency,
                    .detail = detail,
                    .level = n->level,
                    .extra_agency = n->rota_agency,
                    .named_only = true,
                    .oversight_detail = seen};
    vg_audit_event a = {.kind = VG_AUDIT_NOTIFIED, .level = n->level, .has_hash = n->to[0] != '\0'};
    snprintf(a.agency, sizeof a.agency, "%s", n->agency);
    snprintf(a.target, sizeof a.target, "%s", n->target);
    snprintf(a.channel, sizeof a.channel, "%s", n->channel);
    snprintf(a.outcome, sizeof a.outcome, "%s", outcome);
    snprintf(a.code, sizeof a.code, "%s", n->sent ? "" : n->code);
    snprintf(a.sender, sizeof a.sender, "%s", n->rota_agency ? n->rota_agency : "");
    if (a.has_hash) { /* the address is a person's: the leaf holds its hash only */
        crypto_generichash(a.hash, VG_HASH_LEN, (const uint8_t *)n->to, strlen(n->to), NULL, 0);
    }
    vgb_ledger_urgent(rec->ledger);
    return s_record(rec, &ev, 1, &a, &n->seq, 1, NULL);
}

vg_err
vgb_record_network_warning(vgb_record *rec, const char *code, const char *calendar,
                           uint64_t version, const char *detail)
{
    vgb_event ev = {
        .kind = VIGIL__EVENT_KIND__EVENT_NETWORK_WARNING, .detail = detail, .everyone = true};
    vg_audit_event a = {.kind = VG_AUDIT_NETWORK_WARNING, .version = version};
    snprintf(a.code, sizeof a.code, "%s", code);
    snprintf(a.target, sizeof a.target, "%s", calendar);
    vgb_ledger_urgent(rec->ledger);
    return s_record(rec, &ev, 1, &a, NULL, 0, NULL);
}

vg_err
vgb_record_unwitnessed(vgb_record *rec, uint64_t size, uint64_t cosigned, uint64_t required,
                       uint64_t within_ms, uint64_t version)
{
    vg_audit_event a = {.kind = VG_AUDIT_UNWITNESSED,
                        .size = size,
                        .cosigned = cosigned,
                        .required = required,
                        .deadline_ms = within_ms,
                        .version = version};
    char detail[VG_AUDIT_DETAIL_MAX];
    vg_audit_unwitnessed_detail(detail, sizeof detail, &a);
    vgb_event ev = {.kind = VIGIL__EVENT_KIND__EVENT_UNWITNESSED, .detail = detail};
    return s_record(rec, &ev, 1, &a, NULL, 0, NULL);
}

vg_err
vgb_record_linked(vgb_record *rec, uint64_t seq, const uint8_t id[VG_ALERT_ID_LEN],
                  const char *sender, const uint64_t *earlier,
                  const uint8_t (*ids)[VG_ALERT_ID_LEN], size_t n, const vgb_repeat *repeats,
                  size_t n_repeats)
{
    vg_audit_event a = {.kind = VG_AUDIT_LINKED, .has_alert_id = true, .n_alerts = n};
    memcpy(a.alert_id, id, VG_ALERT_ID_LEN);
    a.alerts = malloc((n ? n : 1) * sizeof *a.alerts);
    vgb_event *evs = calloc(n_repeats ? n_repeats : 1, sizeof *evs);
    char(*details)[96] = calloc(n_repeats ? n_repeats : 1, sizeof *details);
    vg_err rc = a.alerts && evs && details ? VG_OK : VG_ERR_NOMEM;
    (void)earlier; /* the leaf is found from the new alert only: a party to an
                    * earlier one alone may not see it (query.c) */
    for (size_t i = 0; i < n && rc == VG_OK; i++) {
        memcpy(a.alerts[i], ids[i], VG_ALERT_ID_LEN);
    }
    for (size_t i = 0; i < n_repeats && rc == VG_OK; i++) {
        snprintf(details[i], sizeof details[i],
                 "repeat warning: you did not acknowledge %u earlier warning%s about this subject",
                 repeats[i].count, repeats[i].count == 1 ? "" : "s");
        evs[i] = (vgb_event){.kind = VIGIL__EVENT_KIND__EVENT_REPEAT_WARNING,
                             .seq = seq,
                             .about = repeats[i].agency,
                             .detail = details[i],
                             .count = repeats[i].count,
                             .named_only = true,
                             .extra_agency = sender};
    }
    if (rc == VG_OK) {
        rc = s_record(rec, evs, n_repeats, &a, &seq, 1, NULL);
    } else {
        vgb_batch_fail(rec->batch);
    }
    free(a.alerts);
    free(evs);
    free(details);
    return rc;
}

vg_err
vgb_record_purged(vgb_record *rec, uint64_t seq, const uint8_t id[VG_ALERT_ID_LEN],
                  const uint8_t envelope_hash[VG_HASH_LEN], const char *what)
{
    vg_audit_event a = {.kind = VG_AUDIT_PURGED, .has_alert_id = true};
    memcpy(a.alert_id, id, VG_ALERT_ID_LEN);
    memcpy(a.hash, envelope_hash, VG_HASH_LEN);
    snprintf(a.code, sizeof a.code, "%s", what);
    return s_record(rec, NULL, 0, &a, &seq, 1, NULL);
}

vg_err
vgb_record_hold(vgb_record *rec, uint64_t seq, const uint8_t id[VG_ALERT_ID_LEN], bool on,
                const uint8_t hold_hash[VG_HASH_LEN])
{
    vg_audit_event a = {.kind = on ? VG_AUDIT_HELD : VG_AUDIT_RELEASED, .has_alert_id = true};
    memcpy(a.alert_id, id, VG_ALERT_ID_LEN);
    memcpy(a.hash, hold_hash, VG_HASH_LEN);
    vgb_ledger_urgent(rec->ledger); /* a hold matters to an inquiry: signed at once */
    return s_record(rec, NULL, 0, &a, &seq, 1, NULL);
}
