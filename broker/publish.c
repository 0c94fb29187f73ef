/* publish.c — a Publish: checked, accepted or refused (handlers.h). */
#include <stdio.h>
#include <stdlib.h>
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

/* Each required agency's deadline, from now, under its own rules,
 * calendar and hours (the document's stricter repeat deadline for an agency
 * the alert is a repeat warning for: links.h); and which of them are
 * out-of-hours cover, for whom (the check's required list ends with them:
 * vg_envelope_check_policy). */
static vg_err
s_deadlines(const vgb_services *sv, const vg_envelope *env, const vg_strlist *required, int64_t now,
            vg_audit_deadline *dl, vgb_required *rows)
{
    const vg_strlist *cats = vg_envelope_categories(env);
    vgb_terms terms = {vg_envelope_severity(env), vg_envelope_urgency(env),
                       (const char *const *)cats->items, cats->n, false};
    vg_strlist policy = {0}, covers = {0}, covered = {0}, repeats = {0};
    vg_err rc = vg_netdoc_required(sv->doc, terms.categories, terms.n_categories, terms.severity,
                                   vg_envelope_sender(env), &policy);
    if (rc == VG_OK && vg_netdoc_has_repeat_deadline(sv->doc, terms.severity)) {
        rc =
            vgb_links_repeats(sv->store, env, required, &repeats); /* a lookup: only if it counts */
    }
    if (rc == VG_OK) {
        rc = vg_netdoc_cover(sv->doc, &policy, terms.severity, vg_envelope_sender(env),
                             vg_envelope_created_ms(env), &covers, &covered);
    }
    for (size_t i = 0; i < required->n && rc == VG_OK; i++) {
        const char *agency = required->items[i];
        terms.repeat = vg_strlist_contains(&repeats, agency);
        rc = vgb_tracking_deadline(sv->tracking, NULL, &dl[i], agency, &terms, now);
        rows[i] = (vgb_required){.agency = agency, .deadline_ms = (int64_t)dl[i].deadline_ms};
        for (size_t k = 0; k < covers.n && rc == VG_OK; k++) {
            if (strcmp(covers.items[k], agency) == 0) {
                snprintf(dl[i].cover_for, sizeof dl[i].cover_for, "%s", covered.items[k]);
                rows[i].cover_for = covered.items[k] != NULL ? dl[i].cover_for : NULL;
                vg_log(VG_LOG_INFO, "broker", "cover.added",
                       "agency=%s cover_for=%s detail=\"closed when the alert was made\"", agency,
                       covered.items[k]);
            }
        }
    }
    vg_strlist_fini(&policy);
    vg_strlist_fini(&covers);
    vg_strlist_fini(&covered);
    vg_strlist_fini(&repeats);
    return rc;
}

/* Stores the alert with its rows (required: the policy's agencies and their
 * out-of-hours cover, from the check), each with its own deadline, records
 * it, watches its deadlines and confirms it. */
static void
s_accept(const vgb_services *sv, const vgb_from *from, const vg_envelope *env,
         const vg_strlist *required, const char *claimed)
{
    vg_reason why = {{0}};
    uint64_t seq = 0;
    int64_t now = vg_clock_wall_ms(sv->clock);
    size_t n = required->n;
    vg_audit_deadline *dl = calloc(n ? n : 1, sizeof *dl);
    vgb_required *rows = calloc(n ? n : 1, sizeof *rows);
    vg_err rc = dl != NULL && rows != NULL ? VG_OK : VG_ERR_NOMEM;
    rc = rc == VG_OK ? s_deadlines(sv, env, required, now, dl, rows) : rc;
    if (rc == VG_OK) {
        rc = vgb_store_insert_alert_rows(sv->store, env, now, rows, n, &seq, &why);
    }
    if (rc == VG_OK) {
        rc = vgb_record_accepted(sv->record, seq, env, dl, n);
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
        free(dl);
        free(rows);
        return;
    }
    const vg_strlist *rcpts = vg_envelope_recipients(env);
    for (size_t i = 0; i < rcpts->n; i++) {
        for (size_t k = 0; k < n; k++) {
            if (strcmp(rows[k].agency, rcpts->items[i]) == 0) {
                vgb_rrow row = {.seq = seq,
                                .required = true,
                                .state = VGB_PENDING,
                                .deadline_ms = rows[k].deadline_ms};
                snprintf(row.agency, sizeof row.agency, "%s", rcpts->items[i]);
                vgb_tracking_watch(sv->tracking, &row);
            }
        }
        int idx = vg_netdoc_index(sv->doc, rcpts->items[i]);
        if (idx >= 0) {
            vgb_batch_after(sv->batch, (size_t)idx, 0);
        }
    }
    free(dl);
    free(rows);
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
