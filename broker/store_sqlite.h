/*
 * broker/store_sqlite.h — the SQLite back end of the store (store.h): its
 * connection, statement cache and helpers, shared by store_sqlite*.c only.
 * Not a contract beyond those files; store_open.c calls vgb_sqlite_open.
 *
 * One database file, dir/vigil.db, in WAL mode with synchronous=FULL (a
 * COMMIT that returns is on disk). SQLite's automatic checkpoint (which
 * runs inside COMMIT, writing and syncing the database file while the loop
 * waits) is off: store_sqlite_ckpt.c runs checkpoints on a thread of its
 * own with a second connection (vgb_store_start_background).
 */
#ifndef VIGIL_BROKER_STORE_SQLITE_H
#define VIGIL_BROKER_STORE_SQLITE_H

#include <sqlite3.h>

#include "store.h"
#include "store_backend.h"
#include "store_sqlite_ckpt.h"

#define VGB_STMT_CACHE_MAX 96

/* Prepared statements keyed by the address of their (static) SQL text. */
typedef struct vgb_stmt_cache {
    const char *sql[VGB_STMT_CACHE_MAX];    /* keys: static strings */
    sqlite3_stmt *stmt[VGB_STMT_CACHE_MAX]; /* prepared once */
    size_t n;                               /* used slots */
} vgb_stmt_cache;

#define VGB_SQLITE_FIXED_STMTS 16 /* store_sqlite_alerts.c's prepared statements */

typedef struct vgb_sqlite {
    vgb_store base;                             /* first: the interface */
    sqlite3 *db;                                /* the connection */
    sqlite3_stmt *stmt[VGB_SQLITE_FIXED_STMTS]; /* prepared once, reset after each use */
    char *path;                                 /* dir/vigil.db, for messages */
    vgb_stmt_cache cache;                       /* other statements, by SQL text */
    uint32_t wal_frames;                        /* WAL frames after the last commit that wrote */
    bool read_only;                             /* a reader: never writes */
    vgb_ckpt *ckpt;                             /* the checkpointer, once started */
} vgb_sqlite;

/* Opens dir/vigil.db: for its owner (read_only false: creates or migrates
 * the schema after an integrity check) or read-only (offline tools). */
vg_err vgb_sqlite_open(vgb_store **out, const char *dir, bool read_only,
                       vg_reason *why) VG_MUST_USE;

/* The prepared statement for sql (a string literal: cached by address),
 * reset and unbound; NULL (logged) when it cannot be prepared. */
sqlite3_stmt *vgb_sqlite_stmt(vgb_sqlite *s, const char *sql);

/* The vg_err for an SQLite result code (full disk, corruption, ...). */
vg_err vgb_sqlite_err(int rc);

/* Logs a failed SQLite call and maps it to a vg_err. */
vg_err vgb_sqlite_fail(vgb_sqlite *s, int rc, const char *what);

/* The same, and says it in why (may be NULL). */
vg_err vgb_sqlite_fail_why(vgb_sqlite *s, int rc, const char *what, vg_reason *why);

/* Prepares the back end's fixed statements (store_sqlite_alerts.c) on the
 * owner's connection. */
vg_err vgb_sqlite_prepare_fixed(vgb_sqlite *s, vg_reason *why) VG_MUST_USE;

/* Steps a statement that returns no row; a failure is logged and said in
 * why (may be NULL). */
vg_err vgb_sqlite_exec_why(vgb_sqlite *s, sqlite3_stmt *st, const char *what, vg_reason *why);

/* Steps a statement whose first row's first column is a count or a number
 * (0 when it returns no row). */
vg_err vgb_sqlite_u64(vgb_sqlite *s, sqlite3_stmt *st, uint64_t *out, const char *what);

/* The store.h operations, implemented across store_sqlite*.c (each casts
 * base to vgb_sqlite). */
vg_err vgb_sqlite_network_version(vgb_store *base, uint64_t *out);
vg_err vgb_sqlite_set_network_version(vgb_store *base, uint64_t version, vg_reason *why);
vg_err vgb_sqlite_add_network_document(vgb_store *base, uint64_t version, const uint8_t *bytes,
                                       size_t len, vg_reason *why);
vg_err vgb_sqlite_network_documents(vgb_store *base, vgb_netdoc_fn fn, void *ctx);
vg_err vgb_sqlite_find_alert(vgb_store *base, const uint8_t id[VG_ALERT_ID_LEN],
                             vgb_alert_row *out);
vg_err vgb_sqlite_same_envelope(vgb_store *base, uint64_t seq, const uint8_t *bytes, size_t len,
                                bool *same);
vg_err vgb_sqlite_sequence_used(vgb_store *base, const char *sender, uint64_t seq, bool *used);
vg_err vgb_sqlite_insert_alert(vgb_store *base, const vg_envelope *env, int64_t accepted_ms,
                               const vgb_required *required, size_t n_required, uint64_t *seq_out,
                               vg_reason *why);
vg_err vgb_sqlite_find_alert_for(vgb_store *base, const uint8_t id[VG_ALERT_ID_LEN],
                                 const char *agency, vgb_alert_row *out, bool *is_recipient);
vg_err vgb_sqlite_mark_delivered(vgb_store *base, uint64_t seq, const char *agency, int64_t ms,
                                 bool *changed);
vg_err vgb_sqlite_insert_receipt(vgb_store *base, const vg_receipt *r, const uint64_t *seqs,
                                 size_t n_seqs, int64_t received_ms);
vg_err vgb_sqlite_receipt_leaf(vgb_store *base, const uint8_t hash[VG_HASH_LEN], uint64_t leaf_idx,
                               bool *set);
vg_err vgb_sqlite_insert_rejection(vgb_store *base, int64_t ms, const char *agency,
                                   const uint8_t *alert_id, const char *code, const char *reason);
vg_err vgb_sqlite_pending(vgb_store *base, const char *agency, int64_t now_ms, size_t limit,
                          vgb_pending_fn fn, void *ctx);
vg_err vgb_sqlite_park(vgb_store *base, uint64_t seq, const char *agency, int64_t now_ms,
                       int64_t first_ms, int64_t max_ms, int64_t *next_out);
vg_err vgb_sqlite_next_try(vgb_store *base, const char *agency, int64_t now_ms, int64_t *out);
vg_err vgb_sqlite_count_pending(vgb_store *base, const char *agency, uint64_t *out);
vg_err vgb_sqlite_envelope(vgb_store *base, uint64_t seq, uint8_t **out, size_t *out_len);
vg_err vgb_sqlite_sender_bytes(vgb_store *base, const char *sender, int64_t since_ms,
                               int64_t period_ms, vgb_bytes_per_fn fn, void *ctx);
vg_err vgb_sqlite_count_alerts(vgb_store *base, uint64_t *out);
vg_err vgb_sqlite_alert_meta(vgb_store *base, uint64_t seq, vgb_alert_meta *out);
vg_err vgb_sqlite_rrow(vgb_store *base, uint64_t seq, const char *agency, vgb_rrow *out);
vg_err vgb_sqlite_recipients_of(vgb_store *base, uint64_t seq, vgb_rrow_fn fn, void *ctx);
vg_err vgb_sqlite_open_rows(vgb_store *base, uint32_t max_level, int64_t after_ms, int64_t upto_ms,
                            int64_t limit, vgb_rrow_fn fn, void *ctx);
vg_err vgb_sqlite_apply_receipt(vgb_store *base, uint64_t seq, const char *agency, vgb_rstate state,
                                int64_t now_ms, const char *officer, const char *note,
                                const char *reason, int64_t deadline_ms);
vg_err vgb_sqlite_set_escalation(vgb_store *base, uint64_t seq, const char *agency, uint32_t level,
                                 int64_t now_ms);
vg_err vgb_sqlite_add_recipient(vgb_store *base, uint64_t seq, const char *agency,
                                const char *shared_by, int64_t deadline_ms);
vg_err vgb_sqlite_insert_share(vgb_store *base, uint64_t seq, const char *sharer, const char *to,
                               const uint8_t hash[VG_HASH_LEN], const uint8_t *bytes, size_t len,
                               int64_t received_ms);
vg_err vgb_sqlite_shares_to(vgb_store *base, uint64_t seq, const char *to, vgb_bytes_fn fn,
                            void *ctx);
vg_err vgb_sqlite_check_complete(vgb_store *base, uint64_t seq, int64_t ms, bool *now_complete);
vg_err vgb_sqlite_insert_events(vgb_store *base, const char *agency, const vgb_event_row *first,
                                const uint64_t *more, size_t n_more);
vg_err vgb_sqlite_last_event(vgb_store *base, const char *agency, uint64_t *out);
vg_err vgb_sqlite_events_after(vgb_store *base, const char *agency, uint64_t after, size_t limit,
                               vgb_event_fn fn, void *ctx);
vg_err vgb_sqlite_outstanding(vgb_store *base, const char *agency, uint64_t after_seq, size_t limit,
                              vgb_seq_fn fn, void *ctx);
vg_err vgb_sqlite_alert_leaves(vgb_store *base, uint64_t seq, vgb_index_fn fn, void *ctx);
vg_err vgb_sqlite_count_waiting(vgb_store *base, const char *agency, uint64_t limit, uint64_t *out);
vg_err vgb_sqlite_shift_times(vgb_store *base, int64_t delta_ms);
vg_err vgb_sqlite_audit_size(vgb_store *base, uint64_t *out);
vg_err vgb_sqlite_audit_node(vgb_store *base, unsigned level, uint64_t index,
                             uint8_t out[VG_HASH_LEN]);
vg_err vgb_sqlite_audit_leaf(vgb_store *base, uint64_t index, uint8_t **out, size_t *out_len);
vg_err vgb_sqlite_audit_append(vgb_store *base, uint64_t index, const uint8_t *leaf, size_t len,
                               const uint8_t leaf_hash[VG_HASH_LEN], const unsigned *levels,
                               const uint64_t *nodes, const uint8_t (*hashes)[VG_HASH_LEN],
                               size_t n_nodes);
vg_err vgb_sqlite_audit_add_checkpoint(vgb_store *base, uint64_t size,
                                       const uint8_t root[VG_HASH_LEN], const char *note,
                                       size_t note_len, int64_t signed_ms);
vg_err vgb_sqlite_audit_latest_checkpoint(vgb_store *base, vgb_checkpoint_fn fn, void *ctx,
                                          bool *found);
vg_err vgb_sqlite_audit_checkpoints(vgb_store *base, vgb_checkpoint_fn fn, void *ctx);
vg_err vgb_sqlite_audit_checkpoint_at(vgb_store *base, uint64_t size, vgb_checkpoint_fn fn,
                                      void *ctx, bool *found);
vg_err vgb_sqlite_add_cosignature(vgb_store *base, uint64_t size, const char *agency,
                                  const char *line, size_t line_len, int64_t time_s,
                                  int64_t received_ms, bool *added);
vg_err vgb_sqlite_cosignatures(vgb_store *base, uint64_t min_size, vgb_cosign_fn fn, void *ctx);
vg_err vgb_sqlite_audit_leaves(vgb_store *base, vgb_leaf_fn fn, void *ctx);
vg_err vgb_sqlite_audit_nodes_beyond(vgb_store *base, uint64_t size, bool *any);
vg_err vgb_sqlite_link_leaf(vgb_store *base, uint64_t seq, uint64_t idx);
vg_err vgb_sqlite_alert_ids(vgb_store *base, vgb_id_fn fn, void *ctx);
vg_err vgb_sqlite_add_link_tags(vgb_store *base, uint64_t seq, const uint8_t (*tags)[VG_HASH_LEN],
                                size_t n);
vg_err vgb_sqlite_linked_earlier(vgb_store *base, uint64_t seq, size_t limit, vgb_seq_fn fn,
                                 void *ctx);
vg_err vgb_sqlite_link_pairs(vgb_store *base, vgb_pair_fn fn, void *ctx);
vg_err vgb_sqlite_link_tags_of(vgb_store *base, uint64_t seq, vgb_tag_fn fn, void *ctx);
vg_err vgb_sqlite_tagged(vgb_store *base, const uint8_t (*tags)[VG_HASH_LEN], size_t n,
                         size_t limit, vgb_seq_fn fn, void *ctx);
vg_err vgb_sqlite_alert_by_id(vgb_store *base, const uint8_t id[VG_ALERT_ID_LEN],
                              vgb_alert_meta *out, uint8_t envelope_hash[VG_HASH_LEN],
                              uint64_t *network_version);
vg_err vgb_sqlite_receipt_names(vgb_store *base, const uint8_t hash[VG_HASH_LEN],
                                const char *agency, uint64_t seq, bool *out);
vg_err vgb_sqlite_share_exists(vgb_store *base, uint64_t seq, const uint8_t hash[VG_HASH_LEN],
                               const char *sharer, bool *out);
vg_err vgb_sqlite_required_rows(vgb_store *base, int64_t since_ms, vgb_report_fn fn, void *ctx);
vg_err vgb_sqlite_count(vgb_store *base, vgb_count_what what, const char *filter, uint64_t *out);

/* What audit verify reads (store_sqlite_verify.c). */
vg_err vgb_sqlite_alerts_after(vgb_store *base, uint64_t after_seq, size_t limit,
                               vgb_alert_full_fn fn, void *ctx);
vg_err vgb_sqlite_receipts_of(vgb_store *base, uint64_t seq, vgb_receipt_row_fn fn, void *ctx);
vg_err vgb_sqlite_receipt_by_hash(vgb_store *base, const uint8_t hash[VG_HASH_LEN],
                                  vgb_receipt_row_fn fn, void *ctx, bool *found);
vg_err vgb_sqlite_shares_of(vgb_store *base, uint64_t seq, vgb_share_row_fn fn, void *ctx);
vg_err vgb_sqlite_alert_leaf_links(vgb_store *base, uint64_t seq, vgb_link_fn fn, void *ctx);
vg_err vgb_sqlite_rejections_after(vgb_store *base, uint64_t after_id, size_t limit,
                                   vgb_rejection_fn fn, void *ctx);
vg_err vgb_sqlite_event_runs(vgb_store *base, const char *agency, uint64_t after, size_t limit,
                             vgb_event_run_fn fn, void *ctx);

/* The audit tables (store_sqlite_audit.c), made with the rest of the schema. */
extern const char vgb_sqlite_audit_schema[];

/* Retention (store_retain.h; store_sqlite_retain.c). */
vg_err vgb_sqlite_retain_candidates(vgb_store *base, int64_t before_ms, uint64_t after_seq,
                                    size_t limit, vgb_retain_fn fn, void *ctx);
vg_err vgb_sqlite_retain_state(vgb_store *base, uint64_t seq, vgb_retain_row *out);
vg_err vgb_sqlite_purge(vgb_store *base, uint64_t seq, bool content, bool tags, int64_t now_ms);
vg_err vgb_sqlite_scrub(vgb_store *base, vg_reason *why);
vg_err vgb_sqlite_hold_add(vgb_store *base, const vgb_hold_row *h);
vg_err vgb_sqlite_hold_remove(vgb_store *base, const uint8_t id[VG_ALERT_ID_LEN], vgb_hold_fn fn,
                              void *ctx);
vg_err vgb_sqlite_holds(vgb_store *base, vgb_hold_fn fn, void *ctx);

#endif
