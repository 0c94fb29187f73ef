/* store_ops.c — the store interface (store.h): every call goes to the back
 * end's operation (store_backend.h). Opening a store is store_open.c's. */
#include "store_backend.h"

#include <stdlib.h>

#include "vigil/log.h"

/* A change outside a transaction: refused (store.h), whatever the back end
 * would do with it, and logged, so that a caller that forgot vgb_store_txn
 * is found at once instead of committing piecemeal. */
static vg_err
s_outside(vgb_store *s, const char *op)
{
    vg_log(VG_LOG_ERROR, "broker", "store.error", "op=%s detail=outside_transaction path=%s", op,
           vgb_store_path(s));
    return VG_ERR_INTERNAL;
}

void
vgb_store_destroy(vgb_store **store_p)
{
    if (store_p == NULL || *store_p == NULL) {
        return;
    }
    (*store_p)->ops->destroy(*store_p);
    *store_p = NULL;
}

vg_err
vgb_store_open_reader(vgb_store **out, const vgb_store *owner, vg_reason *why)
{
    return owner->ops->open_reader(out, owner, why);
}

vg_err
vgb_store_read_begin(vgb_store *s, vg_reason *why)
{
    return s->ops->read_begin(s, why);
}

void
vgb_store_read_end(vgb_store *s)
{
    s->ops->read_end(s);
}

void
vgb_store_mark_sound(vgb_store *s)
{
    s->ops->mark_sound(s);
}

const char *
vgb_store_path(const vgb_store *s)
{
    return s->ops->path(s);
}

vg_err
vgb_store_start_background(vgb_store *s, const vgb_store_background *bg, vg_reason *why)
{
    return s->ops->start_background(s, bg, why);
}

void
vgb_store_after_commit(vgb_store *s)
{
    s->ops->after_commit(s);
}

void
vgb_store_stop_background(vgb_store *s)
{
    s->ops->stop_background(s);
}

vg_err
vgb_store_network_version(vgb_store *s, uint64_t *out)
{
    return s->ops->network_version(s, out);
}

vg_err
vgb_store_set_network_version(vgb_store *s, uint64_t version, vg_reason *why)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "set_network_version");
    }
    return s->ops->set_network_version(s, version, why);
}

vg_err
vgb_store_add_network_document(vgb_store *s, uint64_t version, const uint8_t *bytes, size_t len,
                               vg_reason *why)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "add_network_document");
    }
    return s->ops->add_network_document(s, version, bytes, len, why);
}

vg_err
vgb_store_network_documents(vgb_store *s, vgb_netdoc_fn fn, void *ctx)
{
    return s->ops->network_documents(s, fn, ctx);
}

vg_err
vgb_store_begin(vgb_store *s, vg_reason *why)
{
    return s->ops->begin(s, why);
}

vg_err
vgb_store_commit(vgb_store *s, vg_reason *why)
{
    return s->ops->commit(s, why);
}

void
vgb_store_rollback(vgb_store *s)
{
    s->ops->rollback(s);
}

bool
vgb_store_in_transaction(const vgb_store *s)
{
    return s->ops->in_transaction(s);
}

vg_err
vgb_store_find_alert(vgb_store *s, const uint8_t id[VG_ALERT_ID_LEN], vgb_alert_row *out)
{
    return s->ops->find_alert(s, id, out);
}

vg_err
vgb_store_same_envelope(vgb_store *s, uint64_t seq, const uint8_t *bytes, size_t len, bool *same)
{
    return s->ops->same_envelope(s, seq, bytes, len, same);
}

vg_err
vgb_store_sequence_used(vgb_store *s, const char *sender, uint64_t seq, bool *used)
{
    return s->ops->sequence_used(s, sender, seq, used);
}

vg_err
vgb_store_insert_alert_rows(vgb_store *s, const vg_envelope *env, int64_t accepted_ms,
                            const vgb_required *required, size_t n_required, uint64_t *seq_out,
                            vg_reason *why)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "insert_alert");
    }
    return s->ops->insert_alert(s, env, accepted_ms, required, n_required, seq_out, why);
}

vg_err
vgb_store_insert_alert(vgb_store *s, const vg_envelope *env, int64_t accepted_ms,
                       const vg_strlist *required, int64_t deadline_ms, uint64_t *seq_out,
                       vg_reason *why)
{
    vgb_required *rows = calloc(required->n ? required->n : 1, sizeof *rows);
    if (rows == NULL) {
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < required->n; i++) {
        rows[i] = (vgb_required){.agency = required->items[i], .deadline_ms = deadline_ms};
    }
    vg_err rc = vgb_store_insert_alert_rows(s, env, accepted_ms, rows, required->n, seq_out, why);
    free(rows);
    return rc;
}

vg_err
vgb_store_find_alert_for(vgb_store *s, const uint8_t id[VG_ALERT_ID_LEN], const char *agency,
                         vgb_alert_row *out, bool *is_recipient)
{
    return s->ops->find_alert_for(s, id, agency, out, is_recipient);
}

vg_err
vgb_store_mark_delivered(vgb_store *s, uint64_t seq, const char *agency, int64_t ms, bool *changed)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "mark_delivered");
    }
    return s->ops->mark_delivered(s, seq, agency, ms, changed);
}

vg_err
vgb_store_insert_receipt(vgb_store *s, const vg_receipt *r, const uint64_t *seqs, size_t n_seqs,
                         int64_t received_ms)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "insert_receipt");
    }
    return s->ops->insert_receipt(s, r, seqs, n_seqs, received_ms);
}

vg_err
vgb_store_receipt_leaf(vgb_store *s, const uint8_t hash[VG_HASH_LEN], uint64_t leaf_idx, bool *set)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "receipt_leaf");
    }
    return s->ops->receipt_leaf(s, hash, leaf_idx, set);
}

vg_err
vgb_store_insert_rejection(vgb_store *s, int64_t ms, const char *agency, const uint8_t *alert_id,
                           const char *code, const char *reason)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "insert_rejection");
    }
    return s->ops->insert_rejection(s, ms, agency, alert_id, code, reason);
}

vg_err
vgb_store_pending(vgb_store *s, const char *agency, int64_t now_ms, size_t limit, vgb_pending_fn fn,
                  void *ctx)
{
    return s->ops->pending(s, agency, now_ms, limit, fn, ctx);
}

vg_err
vgb_store_park(vgb_store *s, uint64_t seq, const char *agency, int64_t now_ms, int64_t first_ms,
               int64_t max_ms, int64_t *next_out)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "park");
    }
    return s->ops->park(s, seq, agency, now_ms, first_ms, max_ms, next_out);
}

vg_err
vgb_store_next_try(vgb_store *s, const char *agency, int64_t now_ms, int64_t *out)
{
    return s->ops->next_try(s, agency, now_ms, out);
}

vg_err
vgb_store_count_pending(vgb_store *s, const char *agency, uint64_t *out)
{
    return s->ops->count_pending(s, agency, out);
}

vg_err
vgb_store_envelope(vgb_store *s, uint64_t seq, uint8_t **out, size_t *out_len)
{
    return s->ops->envelope(s, seq, out, out_len);
}

vg_err
vgb_store_sender_bytes(vgb_store *s, const char *sender, int64_t since_ms, int64_t period_ms,
                       vgb_bytes_per_fn fn, void *ctx)
{
    return s->ops->sender_bytes(s, sender, since_ms, period_ms, fn, ctx);
}

vg_err
vgb_store_count_alerts(vgb_store *s, uint64_t *out)
{
    return s->ops->count_alerts(s, out);
}

vg_err
vgb_store_alert_meta(vgb_store *s, uint64_t seq, vgb_alert_meta *out)
{
    return s->ops->alert_meta(s, seq, out);
}

vg_err
vgb_store_rrow(vgb_store *s, uint64_t seq, const char *agency, vgb_rrow *out)
{
    return s->ops->rrow(s, seq, agency, out);
}

vg_err
vgb_store_recipients_of(vgb_store *s, uint64_t seq, vgb_rrow_fn fn, void *ctx)
{
    return s->ops->recipients_of(s, seq, fn, ctx);
}

vg_err
vgb_store_open_rows(vgb_store *s, uint32_t max_level, int64_t after_ms, int64_t upto_ms,
                    int64_t limit, vgb_rrow_fn fn, void *ctx)
{
    return s->ops->open_rows(s, max_level, after_ms, upto_ms, limit, fn, ctx);
}

vg_err
vgb_store_apply_receipt(vgb_store *s, uint64_t seq, const char *agency, vgb_rstate state,
                        int64_t now_ms, const char *officer, const char *note, const char *reason,
                        int64_t deadline_ms)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "apply_receipt");
    }
    return s->ops->apply_receipt(s, seq, agency, state, now_ms, officer, note, reason, deadline_ms);
}

vg_err
vgb_store_set_escalation(vgb_store *s, uint64_t seq, const char *agency, uint32_t level,
                         int64_t now_ms)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "set_escalation");
    }
    return s->ops->set_escalation(s, seq, agency, level, now_ms);
}

vg_err
vgb_store_add_recipient(vgb_store *s, uint64_t seq, const char *agency, const char *shared_by,
                        int64_t deadline_ms)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "add_recipient");
    }
    return s->ops->add_recipient(s, seq, agency, shared_by, deadline_ms);
}

vg_err
vgb_store_insert_share(vgb_store *s, uint64_t seq, const char *sharer, const char *to,
                       const uint8_t hash[VG_HASH_LEN], const uint8_t *bytes, size_t len,
                       int64_t received_ms)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "insert_share");
    }
    return s->ops->insert_share(s, seq, sharer, to, hash, bytes, len, received_ms);
}

vg_err
vgb_store_shares_to(vgb_store *s, uint64_t seq, const char *to, vgb_bytes_fn fn, void *ctx)
{
    return s->ops->shares_to(s, seq, to, fn, ctx);
}

vg_err
vgb_store_check_complete(vgb_store *s, uint64_t seq, int64_t ms, bool *now_complete)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "check_complete");
    }
    return s->ops->check_complete(s, seq, ms, now_complete);
}

vg_err
vgb_store_insert_events(vgb_store *s, const char *agency, const vgb_event_row *first,
                        const uint64_t *more, size_t n_more)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "insert_events");
    }
    return s->ops->insert_events(s, agency, first, more, n_more);
}

vg_err
vgb_store_last_event(vgb_store *s, const char *agency, uint64_t *out)
{
    return s->ops->last_event(s, agency, out);
}

vg_err
vgb_store_events_after(vgb_store *s, const char *agency, uint64_t after, size_t limit,
                       vgb_event_fn fn, void *ctx)
{
    return s->ops->events_after(s, agency, after, limit, fn, ctx);
}

vg_err
vgb_store_outstanding(vgb_store *s, const char *agency, uint64_t after_seq, size_t limit,
                      vgb_seq_fn fn, void *ctx)
{
    return s->ops->outstanding(s, agency, after_seq, limit, fn, ctx);
}

vg_err
vgb_store_alert_leaves(vgb_store *s, uint64_t seq, vgb_index_fn fn, void *ctx)
{
    return s->ops->alert_leaves(s, seq, fn, ctx);
}

vg_err
vgb_store_count_waiting(vgb_store *s, const char *agency, uint64_t limit, uint64_t *out)
{
    return s->ops->count_waiting(s, agency, limit, out);
}

vg_err
vgb_store_shift_times(vgb_store *s, int64_t delta_ms)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "shift_times");
    }
    return s->ops->shift_times(s, delta_ms);
}

vg_err
vgb_store_audit_size(vgb_store *s, uint64_t *out)
{
    return s->ops->audit_size(s, out);
}

vg_err
vgb_store_audit_node(vgb_store *s, unsigned level, uint64_t index, uint8_t out[VG_HASH_LEN])
{
    return s->ops->audit_node(s, level, index, out);
}

vg_err
vgb_store_audit_leaf(vgb_store *s, uint64_t index, uint8_t **out, size_t *out_len)
{
    return s->ops->audit_leaf(s, index, out, out_len);
}

vg_err
vgb_store_audit_append(vgb_store *s, uint64_t index, const uint8_t *leaf, size_t len,
                       const uint8_t leaf_hash[VG_HASH_LEN], const unsigned *levels,
                       const uint64_t *nodes, const uint8_t (*hashes)[VG_HASH_LEN], size_t n_nodes)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "audit_append");
    }
    return s->ops->audit_append(s, index, leaf, len, leaf_hash, levels, nodes, hashes, n_nodes);
}

vg_err
vgb_store_audit_add_checkpoint(vgb_store *s, uint64_t size, const uint8_t root[VG_HASH_LEN],
                               const char *note, size_t note_len, int64_t signed_ms)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "audit_add_checkpoint");
    }
    return s->ops->audit_add_checkpoint(s, size, root, note, note_len, signed_ms);
}

vg_err
vgb_store_audit_latest_checkpoint(vgb_store *s, vgb_checkpoint_fn fn, void *ctx, bool *found)
{
    return s->ops->audit_latest_checkpoint(s, fn, ctx, found);
}

vg_err
vgb_store_audit_checkpoints(vgb_store *s, vgb_checkpoint_fn fn, void *ctx)
{
    return s->ops->audit_checkpoints(s, fn, ctx);
}

vg_err
vgb_store_audit_checkpoint_at(vgb_store *s, uint64_t size, vgb_checkpoint_fn fn, void *ctx,
                              bool *found)
{
    return s->ops->audit_checkpoint_at(s, size, fn, ctx, found);
}

vg_err
vgb_store_add_cosignature(vgb_store *s, uint64_t size, const char *agency, const char *line,
                          size_t line_len, int64_t time_s, int64_t received_ms, bool *added)
{
    return s->ops->add_cosignature(s, size, agency, line, line_len, time_s, received_ms, added);
}

vg_err
vgb_store_cosignatures(vgb_store *s, uint64_t min_size, vgb_cosign_fn fn, void *ctx)
{
    return s->ops->cosignatures(s, min_size, fn, ctx);
}

vg_err
vgb_store_audit_leaves(vgb_store *s, vgb_leaf_fn fn, void *ctx)
{
    return s->ops->audit_leaves(s, fn, ctx);
}

vg_err
vgb_store_audit_nodes_beyond(vgb_store *s, uint64_t size, bool *any)
{
    return s->ops->audit_nodes_beyond(s, size, any);
}

vg_err
vgb_store_link_leaf(vgb_store *s, uint64_t seq, uint64_t idx)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "link_leaf");
    }
    return s->ops->link_leaf(s, seq, idx);
}

vg_err
vgb_store_alert_ids(vgb_store *s, vgb_id_fn fn, void *ctx)
{
    return s->ops->alert_ids(s, fn, ctx);
}

vg_err
vgb_store_add_link_tags(vgb_store *s, uint64_t seq, const uint8_t (*tags)[VG_HASH_LEN], size_t n)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "add_link_tags");
    }
    return s->ops->add_link_tags(s, seq, tags, n);
}

vg_err
vgb_store_linked_earlier(vgb_store *s, uint64_t seq, size_t limit, vgb_seq_fn fn, void *ctx)
{
    return s->ops->linked_earlier(s, seq, limit, fn, ctx);
}

vg_err
vgb_store_tagged(vgb_store *s, const uint8_t (*tags)[VG_HASH_LEN], size_t n, size_t limit,
                 vgb_seq_fn fn, void *ctx)
{
    return n == 0 ? VG_OK : s->ops->tagged(s, tags, n, limit, fn, ctx);
}

vg_err
vgb_store_link_tags_of(vgb_store *s, uint64_t seq, vgb_tag_fn fn, void *ctx)
{
    return s->ops->link_tags_of(s, seq, fn, ctx);
}

vgb_link_outcome
vgb_rrow_link_outcome(const vgb_rrow *r, int64_t now_ms)
{
    bool missed = r->overdue_ms != 0 || r->esc_level > 0;
    if (r->acked_ms > 0) {
        return missed || (r->deadline_ms > 0 && r->acked_ms > r->deadline_ms)
                   ? VGB_LINK_LATE
                   : VGB_LINK_ACKNOWLEDGED;
    }
    if (missed || r->state == VGB_DECLINED || r->state == VGB_UNOPENABLE ||
        (r->deadline_ms > 0 && now_ms >= r->deadline_ms)) {
        return VGB_LINK_NEVER;
    }
    return VGB_LINK_OPEN;
}

vg_err
vgb_store_link_pairs(vgb_store *s, vgb_pair_fn fn, void *ctx)
{
    return s->ops->link_pairs(s, fn, ctx);
}

vg_err
vgb_store_alert_by_id(vgb_store *s, const uint8_t id[VG_ALERT_ID_LEN], vgb_alert_meta *out,
                      uint8_t envelope_hash[VG_HASH_LEN], uint64_t *network_version)
{
    return s->ops->alert_by_id(s, id, out, envelope_hash, network_version);
}

vg_err
vgb_store_receipt_names(vgb_store *s, const uint8_t hash[VG_HASH_LEN], const char *agency,
                        uint64_t seq, bool *out)
{
    return s->ops->receipt_names(s, hash, agency, seq, out);
}

vg_err
vgb_store_share_exists(vgb_store *s, uint64_t seq, const uint8_t hash[VG_HASH_LEN],
                       const char *sharer, bool *out)
{
    return s->ops->share_exists(s, seq, hash, sharer, out);
}

vg_err
vgb_store_required_rows(vgb_store *s, int64_t since_ms, vgb_report_fn fn, void *ctx)
{
    return s->ops->required_rows(s, since_ms, fn, ctx);
}

vg_err
vgb_store_count(vgb_store *s, vgb_count_what what, const char *filter, uint64_t *out)
{
    return s->ops->count(s, what, filter, out);
}

vg_err
vgb_store_alerts_after(vgb_store *s, uint64_t after_seq, size_t limit, vgb_alert_full_fn fn,
                       void *ctx)
{
    return s->ops->alerts_after(s, after_seq, limit, fn, ctx);
}

vg_err
vgb_store_receipts_of(vgb_store *s, uint64_t seq, vgb_receipt_row_fn fn, void *ctx)
{
    return s->ops->receipts_of(s, seq, fn, ctx);
}

vg_err
vgb_store_receipt_by_hash(vgb_store *s, const uint8_t hash[VG_HASH_LEN], vgb_receipt_row_fn fn,
                          void *ctx, bool *found)
{
    return s->ops->receipt_by_hash(s, hash, fn, ctx, found);
}

vg_err
vgb_store_shares_of(vgb_store *s, uint64_t seq, vgb_share_row_fn fn, void *ctx)
{
    return s->ops->shares_of(s, seq, fn, ctx);
}

vg_err
vgb_store_alert_leaf_links(vgb_store *s, uint64_t seq, vgb_link_fn fn, void *ctx)
{
    return s->ops->alert_leaf_links(s, seq, fn, ctx);
}

vg_err
vgb_store_rejections_after(vgb_store *s, uint64_t after_id, size_t limit, vgb_rejection_fn fn,
                           void *ctx)
{
    return s->ops->rejections_after(s, after_id, limit, fn, ctx);
}

vg_err
vgb_store_event_runs(vgb_store *s, const char *agency, uint64_t after, size_t limit,
                     vgb_event_run_fn fn, void *ctx)
{
    return s->ops->event_runs(s, agency, after, limit, fn, ctx);
}

bool
vgb_store_txn(vgb_store *s)
{
    if (vgb_store_in_transaction(s)) {
        return true;
    }
    vg_reason why;
    return vgb_store_begin(s, &why) == VG_OK;
}

bool
vgb_store_commit_in_doubt(const vgb_store *s)
{
    return s->ops->commit_in_doubt != NULL && s->ops->commit_in_doubt(s);
}

bool
vgb_store_lead_supported(const vgb_store *s)
{
    return s->ops->lead_try != NULL;
}

vg_err
vgb_store_lead_try(vgb_store *s, const vgb_lead_params *p, vgb_lead_state *out, vg_reason *why)
{
    if (s->ops->lead_try == NULL) { /* nobody else can write it: this broker leads */
        *out = (vgb_lead_state){.epoch = 0, .mine = true};
        return VG_OK;
    }
    return s->ops->lead_try(s, p, out, why);
}

vg_err
vgb_store_lead_check(vgb_store *s, vg_reason *why)
{
    return s->ops->lead_check != NULL ? s->ops->lead_check(s, why) : VG_OK;
}

void
vgb_store_lead_release(vgb_store *s)
{
    if (s->ops->lead_release != NULL) {
        s->ops->lead_release(s);
    }
}

int
vgb_store_lead_fd(vgb_store *s)
{
    return s->ops->lead_fd != NULL ? s->ops->lead_fd(s) : -1;
}

bool
vgb_store_lead_woken(vgb_store *s)
{
    return s->ops->lead_woken != NULL && s->ops->lead_woken(s);
}

vg_err
vgb_store_audit_durable(vgb_store *s, uint64_t *out)
{
    *out = 0;
    return s->ops->audit_durable != NULL ? s->ops->audit_durable(s, out) : VG_OK;
}

vg_err
vgb_store_set_audit_durable(vgb_store *s, uint64_t size)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "set_audit_durable");
    }
    return s->ops->set_audit_durable != NULL ? s->ops->set_audit_durable(s, size) : VG_OK;
}

/* ---- retention (store_retain.h) ---------------------------------------------------- */

vg_err
vgb_store_retain_candidates(vgb_store *s, int64_t before_ms, uint64_t after_seq, size_t limit,
                            vgb_retain_fn fn, void *ctx)
{
    return s->ops->retain_candidates(s, before_ms, after_seq, limit, fn, ctx);
}

vg_err
vgb_store_retain_state(vgb_store *s, uint64_t seq, vgb_retain_row *out)
{
    return s->ops->retain_state(s, seq, out);
}

vg_err
vgb_store_purge(vgb_store *s, uint64_t seq, bool content, bool tags, int64_t now_ms)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "purge");
    }
    return s->ops->purge(s, seq, content, tags, now_ms);
}

vg_err
vgb_store_scrub(vgb_store *s, vg_reason *why)
{
    return s->ops->scrub(s, why);
}

vg_err
vgb_store_hold_add(vgb_store *s, const vgb_hold_row *h)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "hold_add");
    }
    return s->ops->hold_add(s, h);
}

vg_err
vgb_store_hold_remove(vgb_store *s, const uint8_t id[VG_ALERT_ID_LEN], vgb_hold_fn fn, void *ctx)
{
    if (!vgb_store_in_transaction(s)) {
        return s_outside(s, "hold_remove");
    }
    return s->ops->hold_remove(s, id, fn, ctx);
}

vg_err
vgb_store_holds(vgb_store *s, vgb_hold_fn fn, void *ctx)
{
    return s->ops->holds(s, fn, ctx);
}
