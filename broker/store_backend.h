/*
 * broker/store_backend.h — what a store back end implements: the functions of
 * store.h, as a table of operations. A back end defines a struct whose first
 * member is a vgb_store (so a pointer to one is a pointer to the other),
 * fills a static vgb_store_ops, and gives a constructor (SQLite:
 * store_sqlite.h). store_ops.c dispatches every vgb_store_* call through the
 * table, so a second back end is a new set of files, not edits across the
 * broker. Only back ends and store_ops.c include this header.
 */
#ifndef VIGIL_BROKER_STORE_BACKEND_H
#define VIGIL_BROKER_STORE_BACKEND_H

#include "store.h"
#include "store_witness.h"
#include "store_retain.h"

typedef struct vgb_store_ops vgb_store_ops;

/* The first member of every back end's store. */
struct vgb_store {
    const vgb_store_ops *ops; /* its back end */
};

/* Each member has the contract of the store.h function of the same name;
 * destroy frees the back end's store (never NULL when called). */
struct vgb_store_ops {
    void (*destroy)(vgb_store *s);
    vg_err (*open_reader)(vgb_store **out, const vgb_store *owner, vg_reason *why);
    vg_err (*read_begin)(vgb_store *s, vg_reason *why);
    void (*read_end)(vgb_store *s);
    void (*mark_sound)(vgb_store *s);
    const char *(*path)(const vgb_store *s);
    vg_err (*start_background)(vgb_store *s, const vgb_store_background *bg, vg_reason *why);
    void (*after_commit)(vgb_store *s);
    void (*stop_background)(vgb_store *s);
    vg_err (*network_version)(vgb_store *s, uint64_t *out);
    vg_err (*set_network_version)(vgb_store *s, uint64_t version, vg_reason *why);
    vg_err (*add_network_document)(vgb_store *s, uint64_t version, const uint8_t *bytes, size_t len,
                                   vg_reason *why);
    vg_err (*network_documents)(vgb_store *s, vgb_netdoc_fn fn, void *ctx);
    vg_err (*begin)(vgb_store *s, vg_reason *why);
    vg_err (*commit)(vgb_store *s, vg_reason *why);
    void (*rollback)(vgb_store *s);
    bool (*in_transaction)(const vgb_store *s);
    vg_err (*find_alert)(vgb_store *s, const uint8_t id[VG_ALERT_ID_LEN], vgb_alert_row *out);
    vg_err (*same_envelope)(vgb_store *s, uint64_t seq, const uint8_t *bytes, size_t len,
                            bool *same);
    vg_err (*sequence_used)(vgb_store *s, const char *sender, uint64_t seq, bool *used);
    vg_err (*insert_alert)(vgb_store *s, const vg_envelope *env, int64_t accepted_ms,
                           const vgb_required *required, size_t n_required, uint64_t *seq_out,
                           vg_reason *why);
    vg_err (*find_alert_for)(vgb_store *s, const uint8_t id[VG_ALERT_ID_LEN], const char *agency,
                             vgb_alert_row *out, bool *is_recipient);
    vg_err (*mark_delivered)(vgb_store *s, uint64_t seq, const char *agency, int64_t ms,
                             bool *changed);
    vg_err (*insert_receipt)(vgb_store *s, const vg_receipt *r, const uint64_t *seqs, size_t n_seqs,
                             int64_t received_ms);
    vg_err (*receipt_leaf)(vgb_store *s, const uint8_t hash[VG_HASH_LEN], uint64_t leaf_idx,
                           bool *set);
    vg_err (*insert_rejection)(vgb_store *s, int64_t ms, const char *agency,
                               const uint8_t *alert_id, const char *code, const char *reason);
    vg_err (*pending)(vgb_store *s, const char *agency, int64_t now_ms, size_t limit,
                      vgb_pending_fn fn, void *ctx);
    vg_err (*park)(vgb_store *s, uint64_t seq, const char *agency, int64_t now_ms, int64_t first_ms,
                   int64_t max_ms, int64_t *next_out);
    vg_err (*next_try)(vgb_store *s, const char *agency, int64_t now_ms, int64_t *out);
    vg_err (*count_pending)(vgb_store *s, const char *agency, uint64_t *out);
    vg_err (*envelope)(vgb_store *s, uint64_t seq, uint8_t **out, size_t *out_len);
    vg_err (*sender_bytes)(vgb_store *s, const char *sender, int64_t since_ms, int64_t period_ms,
                           vgb_bytes_per_fn fn, void *ctx);
    vg_err (*count_alerts)(vgb_store *s, uint64_t *out);
    vg_err (*alert_meta)(vgb_store *s, uint64_t seq, vgb_alert_meta *out);
    vg_err (*rrow)(vgb_store *s, uint64_t seq, const char *agency, vgb_rrow *out);
    vg_err (*recipients_of)(vgb_store *s, uint64_t seq, vgb_rrow_fn fn, void *ctx);
    vg_err (*open_rows)(vgb_store *s, uint32_t max_level, int64_t after_ms, int64_t upto_ms,
                        int64_t limit, vgb_rrow_fn fn, void *ctx);
    vg_err (*apply_receipt)(vgb_store *s, uint64_t seq, const char *agency, vgb_rstate state,
                            int64_t now_ms, const char *officer, const char *note,
                            const char *reason, int64_t deadline_ms);
    vg_err (*set_escalation)(vgb_store *s, uint64_t seq, const char *agency, uint32_t level,
                             int64_t now_ms);
    vg_err (*add_recipient)(vgb_store *s, uint64_t seq, const char *agency, const char *shared_by,
                            int64_t deadline_ms);
    vg_err (*insert_share)(vgb_store *s, uint64_t seq, const char *sharer, const char *to,
                           const uint8_t hash[VG_HASH_LEN], const uint8_t *bytes, size_t len,
                           int64_t received_ms);
    vg_err (*shares_to)(vgb_store *s, uint64_t seq, const char *to, vgb_bytes_fn fn, void *ctx);
    vg_err (*check_complete)(vgb_store *s, uint64_t seq, int64_t ms, bool *now_complete);
    vg_err (*insert_events)(vgb_store *s, const char *agency, const vgb_event_row *first,
                            const uint64_t *more, size_t n_more);
    vg_err (*last_event)(vgb_store *s, const char *agency, uint64_t *out);
    vg_err (*events_after)(vgb_store *s, const char *agency, uint64_t after, size_t limit,
                           vgb_event_fn fn, void *ctx);
    vg_err (*outstanding)(vgb_store *s, const char *agency, uint64_t after_seq, size_t limit,
                          vgb_seq_fn fn, void *ctx);
    vg_err (*alert_leaves)(vgb_store *s, uint64_t seq, vgb_index_fn fn, void *ctx);
    vg_err (*count_waiting)(vgb_store *s, const char *agency, uint64_t limit, uint64_t *out);
    vg_err (*shift_times)(vgb_store *s, int64_t delta_ms);
    vg_err (*audit_size)(vgb_store *s, uint64_t *out);
    vg_err (*audit_node)(vgb_store *s, unsigned level, uint64_t index, uint8_t out[VG_HASH_LEN]);
    vg_err (*audit_leaf)(vgb_store *s, uint64_t index, uint8_t **out, size_t *out_len);
    vg_err (*audit_append)(vgb_store *s, uint64_t index, const uint8_t *leaf, size_t len,
                           const uint8_t leaf_hash[VG_HASH_LEN], const unsigned *levels,
                           const uint64_t *nodes, const uint8_t (*hashes)[VG_HASH_LEN],
                           size_t n_nodes);
    vg_err (*audit_add_checkpoint)(vgb_store *s, uint64_t size, const uint8_t root[VG_HASH_LEN],
                                   const char *note, size_t note_len, int64_t signed_ms);
    vg_err (*audit_latest_checkpoint)(vgb_store *s, vgb_checkpoint_fn fn, void *ctx, bool *found);
    vg_err (*audit_checkpoints)(vgb_store *s, vgb_checkpoint_fn fn, void *ctx);
    vg_err (*audit_checkpoint_at)(vgb_store *s, uint64_t size, vgb_checkpoint_fn fn, void *ctx,
                                  bool *found);
    vg_err (*add_cosignature)(vgb_store *s, uint64_t size, const char *agency, const char *line,
                              size_t line_len, int64_t time_s, int64_t received_ms, bool *added);
    vg_err (*cosignatures)(vgb_store *s, uint64_t min_size, vgb_cosign_fn fn, void *ctx);
    vg_err (*audit_leaves)(vgb_store *s, vgb_leaf_fn fn, void *ctx);
    vg_err (*audit_nodes_beyond)(vgb_store *s, uint64_t size, bool *any);
    vg_err (*link_leaf)(vgb_store *s, uint64_t seq, uint64_t idx);
    vg_err (*alert_ids)(vgb_store *s, vgb_id_fn fn, void *ctx);
    vg_err (*add_link_tags)(vgb_store *s, uint64_t seq, const uint8_t (*tags)[VG_HASH_LEN],
                            size_t n);
    vg_err (*linked_earlier)(vgb_store *s, uint64_t seq, size_t limit, vgb_seq_fn fn, void *ctx);
    vg_err (*link_pairs)(vgb_store *s, vgb_pair_fn fn, void *ctx);
    vg_err (*link_tags_of)(vgb_store *s, uint64_t seq, vgb_tag_fn fn, void *ctx);
    vg_err (*tagged)(vgb_store *s, const uint8_t (*tags)[VG_HASH_LEN], size_t n, size_t limit,
                     vgb_seq_fn fn, void *ctx);
    vg_err (*alert_by_id)(vgb_store *s, const uint8_t id[VG_ALERT_ID_LEN], vgb_alert_meta *out,
                          uint8_t envelope_hash[VG_HASH_LEN], uint64_t *network_version);
    vg_err (*receipt_names)(vgb_store *s, const uint8_t hash[VG_HASH_LEN], const char *agency,
                            uint64_t seq, bool *out);
    vg_err (*share_exists)(vgb_store *s, uint64_t seq, const uint8_t hash[VG_HASH_LEN],
                           const char *sharer, bool *out);
    vg_err (*required_rows)(vgb_store *s, int64_t since_ms, vgb_report_fn fn, void *ctx);
    vg_err (*count)(vgb_store *s, vgb_count_what what, const char *filter, uint64_t *out);
    bool (*commit_in_doubt)(const vgb_store *s); /* may be NULL: never in doubt (SQLite) */
    /* Leadership (store.h); all NULL for a back end one broker owns alone (SQLite). */
    vg_err (*lead_try)(vgb_store *s, const vgb_lead_params *p, vgb_lead_state *out, vg_reason *why);
    vg_err (*lead_check)(vgb_store *s, vg_reason *why);
    void (*lead_release)(vgb_store *s);
    int (*lead_fd)(vgb_store *s);
    bool (*lead_woken)(vgb_store *s);
    vg_err (*audit_durable)(vgb_store *s, uint64_t *out);
    vg_err (*set_audit_durable)(vgb_store *s, uint64_t size);

    vg_err (*alerts_after)(vgb_store *s, uint64_t after_seq, size_t limit, vgb_alert_full_fn fn,
                           void *ctx);
    vg_err (*receipts_of)(vgb_store *s, uint64_t seq, vgb_receipt_row_fn fn, void *ctx);
    vg_err (*receipt_by_hash)(vgb_store *s, const uint8_t hash[VG_HASH_LEN], vgb_receipt_row_fn fn,
                              void *ctx, bool *found);
    vg_err (*shares_of)(vgb_store *s, uint64_t seq, vgb_share_row_fn fn, void *ctx);
    vg_err (*alert_leaf_links)(vgb_store *s, uint64_t seq, vgb_link_fn fn, void *ctx);
    vg_err (*rejections_after)(vgb_store *s, uint64_t after_id, size_t limit, vgb_rejection_fn fn,
                               void *ctx);
    vg_err (*event_runs)(vgb_store *s, const char *agency, uint64_t after, size_t limit,
                         vgb_event_run_fn fn, void *ctx);
    /* Retention (store_retain.h). */
    vg_err (*retain_candidates)(vgb_store *s, int64_t before_ms, uint64_t after_seq, size_t limit,
                                vgb_retain_fn fn, void *ctx);
    vg_err (*retain_state)(vgb_store *s, uint64_t seq, vgb_retain_row *out);
    vg_err (*purge)(vgb_store *s, uint64_t seq, bool content, bool tags, int64_t now_ms);
    vg_err (*scrub)(vgb_store *s, vg_reason *why);
    vg_err (*hold_add)(vgb_store *s, const vgb_hold_row *h);
    vg_err (*hold_remove)(vgb_store *s, const uint8_t id[VG_ALERT_ID_LEN], vgb_hold_fn fn,
                          void *ctx);
    vg_err (*holds)(vgb_store *s, vgb_hold_fn fn, void *ctx);
};

#endif
