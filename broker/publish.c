/* publish.c — a Publish: checked, accepted or refused (handlers.h). */
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "links.h"
#include "vigil/log.h"

/* Every recipient must be able to read it and be allowed to: a revoked
 * agency is refused by name, and so is an oversight agency (oversight sees
 * metadata, never content: docs/network.md). */
static vg_err
s_recipients_allowed(const vgb_services *sv, const vg_strlist *rcpts, vg_reason *why)
{
    for (size_t i = 0; i < rcpts->n; i++) {
        vg_agency ag;
        if (vg_netdoc_find(sv->doc, rcpts->items[i], &ag) != VG_OK) {
            continue; /* verify refused unknown agencies already */
        }
        if (ag.revoked) {
            return vg_reason_set(why, VG_ERR_REVOKED,
                                 "recipient '%s' is revoked in the network document: it can no "
                                 "longer receive alerts; address the agency that replaced it",
                                 ag.id);
        }
        if (vg_netdoc_is_oversight(sv->doc, ag.id)) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "recipient '%s' is an oversight agency: oversight sees every "
                                 "alert's metadata and never its content, so it cannot be "
                                 "addressed",
                                 ag.id);
        }
    }
    return VG_OK;
}

/* Checks that need the store and the clock; VG_OK, or why not. *dup is set
 * for a byte-identical resend. */
static vg_err
s_checks(const vgb_services *sv, const vgb_from *from, const vg_envelope *env, const uint8_t *bytes,
         size_t len, bool *dup, vg_reason *why)
{
    vgb_alert_row row;
    vg_err rc = vgb_store_find_alert(sv->store, vg_envelope_id(env), &row);
    if (rc == VG_OK) {
        bool same = false;
        rc = vgb_store_same_envelope(sv->store, row.seq, bytes, len, &same);
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
    rc = vgb_netdocs_check_sealed(sv->netdocs, vg_envelope_network_version(env),
                                  (const char *const *)rcpts->items, rcpts->n, why);
    if (rc != VG_OK) {
        return rc;
    }
    if ((rc = s_recipients_allowed(sv, rcpts, why)) != VG_OK) {
        return rc;
    }
    bool used = false;
    if ((rc = vgb_store_sequence_used(sv->store, from->agency, vg_envelope_sequence(env), &used)) !=
        VG_OK) {
        return vg_reason_set(why, rc, "store error; resend later");
    }
    if (used) {
        return vg_reason_set(why, VG_ERR_REPLAY,
                             "sequence number %llu was already used by %s for another alert: a "
                             "replayed or reused envelope",
                             (unsigned long long)vg_envelope_sequence(env), from->agency);
    }
    return vgb_check_skew(sv, vg_envelope_created_ms(env), "envelope", why);
}

/* Stores the alert with its rows (required: the policy's agencies, from
 * the check), records it, watches its deadlines and confirms it. */
static void
s_accept(const vgb_services *sv, const vgb_from *from, const vg_envelope *env,
         const vg_strlist *required, const char *claimed)
{
    vg_reason why = {{0}};
    uint64_t seq = 0;
    int64_t deadline =
        vgb_tracking_deadline(sv->tracking, vg_envelope_severity(env), vg_envelope_urgency(env));
    vg_err rc = vgb_store_insert_alert(sv->store, env, vg_clock_wall_ms(sv->clock), required,
                                       deadline, &seq, &why);
    if (rc == VG_OK) {
        rc = vgb_record_accepted(sv->record, seq, env);
    }
    bool linked = false; /* shares a link tag with earlier alerts (links.h) */
    if (rc == VG_OK) {
        rc = vgb_links_on_accept(sv->store, sv->record, seq, env, required, &linked);
        if (rc != VG_OK) {
            vgb_batch_fail(sv->batch); /* no alert without its index and its leaf */
        }
    }
    if (rc != VG_OK) {
        vgb_refuse(sv, from, claimed, vg_envelope_id(env),
                   rc == VG_ERR_STORAGE_FULL ? rc : VG_ERR_INTERNAL,
                   rc == VG_ERR_STORAGE_FULL ? "the broker's store is full; the alert was not "
                                               "accepted, resend later"
                                             : "store error; the alert was not accepted, resend "
                                               "later",
                   NULL, "env.reject");
        return;
    }
    const vg_strlist *rcpts = vg_envelope_recipients(env);
    for (size_t i = 0; i < rcpts->n; i++) {
        if (vg_strlist_contains(required, rcpts->items[i])) {
            vgb_rrow row = {
                .seq = seq, .required = true, .state = VGB_PENDING, .deadline_ms = deadline};
            snprintf(row.agency, sizeof row.agency, "%s", rcpts->items[i]);
            vgb_tracking_watch(sv->tracking, &row);
        }
        int idx = vg_netdoc_index(sv->doc, rcpts->items[i]);
        if (idx >= 0) {
            vgb_batch_after(sv->batch, (size_t)idx, 0);
        }
    }
    size_t env_len = 0;
    const uint8_t *env_bytes = vg_envelope_bytes(env, &env_len);
    if (!linked) { /* a linked alert's delivery says per recipient what it may know */
        vgb_delivery_remember(sv->delivery, seq, env_bytes, env_len);
    }
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, vg_envelope_id(env));
    vg_log(VG_LOG_INFO, "broker", "env.accept", "agency=%s alert=%s seq=%llu recipients=%zu",
           from->agency, idhex, (unsigned long long)seq, rcpts->n);
    vgb_batch_confirm(sv->batch, from, vg_envelope_id(env), VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED,
                      0, NULL, NULL);
}

void
vgb_handle_publish(const vgb_services *sv, const vgb_from *from, const ProtobufCBinaryData *bytes,
                   vgb_verify_job *pre)
{
    if (vgb_space_full(sv->space)) { /* nothing is written: the agent keeps it in its outbox */
        if (pre != NULL) {
            vg_envelope_destroy(&pre->env);
        }
        vgb_batch_confirm(sv->batch, from, NULL, VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED,
                          VIGIL__REJECT_CODE__REJECT_STORAGE_FULL,
                          "the broker's disk is full: the alert was not recorded; it stays in "
                          "your outbox and is sent again when there is space",
                          NULL);
        vg_log(VG_LOG_WARN, "broker", "env.reject", "agency=%s code=storage_full", from->agency);
        return;
    }
    vgb_verify_job own = {.bytes = bytes->data, .len = bytes->len};
    vgb_verify_job *job = pre != NULL ? pre : &own;
    if (pre == NULL) { /* checked here (the fuzzer, tests), not by the verifier */
        own.rc = vg_envelope_verify_claimed(&own.env, own.bytes, own.len, sv->doc, own.claimed,
                                            &own.why);
    }
    vg_envelope *env = job->env;
    job->env = NULL;
    vg_reason why = job->why;
    vg_err rc = job->rc;
    const char *claimed = job->claimed[0] != '\0' ? job->claimed : NULL;
    vg_strlist missing = {0}, required = {0};
    bool dup = false;
    if (rc == VG_OK && strcmp(vg_envelope_sender(env), from->agency) != 0) {
        rc = vg_reason_set(&why, VG_ERR_SENDER_MISMATCH,
                           "envelope from '%s' arrived on the connection of '%s': an agency "
                           "publishes only its own alerts",
                           vg_envelope_sender(env), from->agency);
    }
    if (rc == VG_OK && !vgb_batch_txn(sv->batch)) {
        rc = vg_reason_set(&why, VG_ERR_INTERNAL, "store unavailable; resend later");
    }
    if (rc == VG_OK) {
        rc = s_checks(sv, from, env, bytes->data, bytes->len, &dup, &why);
    }
    if (rc == VG_OK && !dup) { /* the policy, once: what is missing and who must act */
        rc = vg_envelope_check_policy(env, sv->doc, &required, &missing, &why);
    }
    if (rc == VG_OK && !dup && from->agency_idx >= 0) { /* last: only what would be stored */
        rc = vgb_quota_take(sv->quota, (size_t)from->agency_idx, bytes->len,
                            vg_clock_wall_ms(sv->clock), vg_clock_mono_ms(sv->clock), &why);
    }
    const uint8_t *id = env ? vg_envelope_id(env) : NULL;
    if (rc != VG_OK) {
        vgb_refuse(sv, from, claimed, id, rc, why.text, &missing, "env.reject");
    } else if (dup) {
        vgb_batch_confirm(sv->batch, from, id, VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE, 0,
                          "already accepted: this is a resend of the same envelope", NULL);
    } else {
        s_accept(sv, from, env, &required, claimed);
    }
    vg_strlist_fini(&required);
    vg_strlist_fini(&missing);
    vg_envelope_destroy(&env);
}
