/*
 * broker/store.h — the broker's durable state, behind one interface: alerts
 * (with their per-sender sequence numbers), per-recipient states and
 * deadlines, receipts, shares, rejections, the per-agency event streams, the
 * audit log's leaves, subtree hashes and checkpoints, and the network
 * documents the store was served with. This header is the contract; a back
 * end is a set of files that implements it (store_backend.h): SQLite, the
 * embedded default (store_sqlite*.c), and PostgreSQL for high availability
 * (store_pg*.c, docs/ha.md). Nothing outside the store modules knows a
 * table, a column or SQL.
 *
 * The contract every back end keeps:
 *
 * - Transactions. The broker groups the work of one poll batch into one
 *   write transaction (vgb_store_begin → many changes → vgb_store_commit)
 *   and confirms nothing before the commit returns: a commit that returns
 *   VG_OK is durable (SQLite: WAL with synchronous=FULL, fsynced); one that
 *   fails has changed nothing (it is rolled back). Every change made between
 *   begin and commit is atomic: all or nothing, and invisible to other
 *   connections until the commit. Reads made on the same connection inside a
 *   transaction see its own changes. Changes outside a transaction are
 *   refused (VG_ERR_INTERNAL) except where a function says otherwise.
 * - Read connections (vgb_store_open_reader, vgb_store_open_readonly) never
 *   write; vgb_store_read_begin/_end around several reads give one
 *   consistent committed state.
 * - The store is the queue: undelivered alerts are found through an index
 *   over pending rows per agency, so finding work does not grow with history,
 *   and nothing waits in RAM.
 * - Errors: VG_ERR_NOT_FOUND for an absent row where the function says so;
 *   VG_ERR_STORAGE_FULL when the disk is full; VG_ERR_MALFORMED when stored
 *   data is damaged (never served); VG_ERR_IO otherwise. Every failure is
 *   logged once (store.error) by the back end.
 * - Never stores plaintext (the broker has none); stores the exact signed
 *   envelope, receipt, share and document bytes. Nothing is ever deleted
 *   but what retention purges (store_retain.h).
 *
 * A store is opened "unproven": nothing compacts or rewrites it (SQLite: no
 * WAL checkpoint, not even at close) until its owner has made every check of
 * its own and calls vgb_store_mark_sound; a store refused at start is left
 * exactly as it was found. Then vgb_store_start_background starts what the
 * back end runs beside the loop (SQLite: the WAL checkpointer, its own
 * thread), fed by vgb_store_after_commit.
 *
 * Thread rules: a vgb_store is one connection with one owner thread (the
 * broker loop; the query thread has its own reader).
 */
#ifndef VIGIL_BROKER_STORE_H
#define VIGIL_BROKER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/broker_config.h"
#include "vigil/envelope.h"
#include "vigil/err.h"
#include "vigil/receipt.h"
#include "vigil/util.h"

typedef struct vgb_store vgb_store;

/* The schema version of this code, the same in every back end: 5 added the
 * out-of-hours cover of a recipient (vgb_rrow.cover_for), 7 the witness
 * cosignatures (store_witness.h), 8 retention (store_retain.h). A store at
 * an older version the back end knows is migrated when its owner opens it. */
#define VGB_STORE_SCHEMA_VERSION 8

/* Recipient states, as stored (the wire's AlertState values). */
typedef enum vgb_rstate {
    VGB_PENDING = 1,
    VGB_DELIVERED = 2,
    VGB_ACKNOWLEDGED = 3,
    VGB_IN_PROGRESS = 4,
    VGB_DECLINED = 5,
    VGB_UNOPENABLE = 6, /* the recipient's software could not open it (signed receipt) */
} vgb_rstate;

/* Opens (creating if needed) the SQLite store in dir (dir/vigil.db) for its
 * owner, the broker: creates or migrates the schema. Refuses a database it
 * cannot read, that fails its integrity check, or whose schema is newer
 * than this broker's, with a clear reason; never deletes or rebuilds
 * anything by itself. Free with vgb_store_destroy. */
vg_err vgb_store_open(vgb_store **out, const char *dir, vg_reason *why) VG_MUST_USE;

/* Opens an existing store in dir read-only, for offline tools (vigilctl
 * report, audit verify and export) and tests, while the broker may be
 * running: nothing is created, migrated or written. Refuses a schema this
 * code does not know. Free with vgb_store_destroy. */
vg_err vgb_store_open_readonly(vgb_store **out, const char *dir, vg_reason *why) VG_MUST_USE;

/* Opens the store broker.conf names ([store] backend, [broker] store or
 * [store] dsn) for its owner, the broker, as vgb_store_open does: SQLite in
 * cfg->store_path, or the PostgreSQL database of cfg->store_dsn (whose
 * schema it creates or migrates when its role may; docs/ha.md). For
 * PostgreSQL it makes cfg->store_path too: the broker's local files (the
 * high-water mark, the space reserve) stay there. Free with
 * vgb_store_destroy. */
vg_err vgb_store_open_config(vgb_store **out, const vg_broker_config *cfg,
                             vg_reason *why) VG_MUST_USE;

/* vgb_store_open_readonly for the store broker.conf names. */
vg_err vgb_store_open_readonly_config(vgb_store **out, const vg_broker_config *cfg,
                                      vg_reason *why) VG_MUST_USE;

/* Opens the PostgreSQL store of a libpq connection string ("host=db1,db2
 * dbname=vigil user=vigil_broker target_session_attrs=read-write", or a
 * postgresql:// URI) for its owner, as vgb_store_open does. VG_ERR_IO when no
 * server of it answers as a primary, or its schema is newer, or older and
 * the role may not migrate it. The DSN is never logged (it may hold a
 * password). Free with vgb_store_destroy. */
vg_err vgb_store_open_dsn(vgb_store **out, const char *dsn, vg_reason *why) VG_MUST_USE;

/* vgb_store_open_readonly for a PostgreSQL store (vigilctl --dsn): its
 * sessions are read-only; a standby will do. */
vg_err vgb_store_open_readonly_dsn(vgb_store **out, const char *dsn, vg_reason *why) VG_MUST_USE;

/* Closes the database; NULL-safe; sets *store_p = NULL. An open transaction
 * is rolled back. Checkpoints the WAL into the database file (when no other
 * connection is open) only if the store was marked sound. */
void vgb_store_destroy(vgb_store **store_p);

/* Opens a second, read-only connection to the same store as `owner`, for a
 * thread that only answers queries (reader.h): no schema is made or checked
 * (the owner did that), nothing is ever written. Read with
 * vgb_store_read_begin/_end around each answer so that it sees one committed
 * state. It may be used on another thread than owner's. Free with
 * vgb_store_destroy. */
vg_err vgb_store_open_reader(vgb_store **out, const vgb_store *owner, vg_reason *why) VG_MUST_USE;

/* BEGIN a read transaction: what was committed before it, nothing after. */
vg_err vgb_store_read_begin(vgb_store *s, vg_reason *why) VG_MUST_USE;
/* Ends it. */
void vgb_store_read_end(vgb_store *s);

/* The owner's checks passed (schema, quick_check, and the broker's own:
 * audit history, high-water mark): from now on closing the store may
 * checkpoint it. Until then a store refused at start is left exactly as it
 * was found. Call it before starting anything else that checkpoints it. */
void vgb_store_mark_sound(vgb_store *s);

/* What the store is, for messages: "dir/vigil.db" (borrowed). */
const char *vgb_store_path(const vgb_store *s);

/* What the background work needs (broker.conf). */
typedef struct vgb_store_background {
    void *zmq_ctx;                 /* borrowed; must outlive the store */
    uint32_t wal_checkpoint_pages; /* SQLite: WAL pages between two checkpoints */
} vgb_store_background;

/* Starts what the back end runs beside the loop, once the store is sound
 * (SQLite: the WAL checkpointer thread, which talks to the loop over an
 * inproc pair; see store_sqlite_ckpt.h). Stopped by vgb_store_destroy. */
vg_err vgb_store_start_background(vgb_store *s, const vgb_store_background *bg,
                                  vg_reason *why) VG_MUST_USE;

/* After each commit of the owner: lets the background work know (SQLite:
 * how far the WAL has grown). Never waits. */
void vgb_store_after_commit(vgb_store *s);

/* Stops the background work (a checkpoint in progress is finished first), so
 * that its zmq_ctx may end; vgb_store_destroy does it too. */
void vgb_store_stop_background(vgb_store *s);

/* The highest network document version this store has been served with
 * (0 for a new store), and raising it. A broker refuses to start on an older
 * document than the store has seen: that would bring back revoked keys. */
vg_err vgb_store_network_version(vgb_store *s, uint64_t *out) VG_MUST_USE;
vg_err vgb_store_set_network_version(vgb_store *s, uint64_t version, vg_reason *why) VG_MUST_USE;

/* Keeps a network document the store was served with, exactly as signed
 * (once per version; inside a transaction), and calls fn for each one kept,
 * in version order (bytes borrowed for the call). */
vg_err vgb_store_add_network_document(vgb_store *s, uint64_t version, const uint8_t *bytes,
                                      size_t len, vg_reason *why) VG_MUST_USE;
typedef void (*vgb_netdoc_fn)(void *ctx, uint64_t version, const uint8_t *bytes, size_t len);
vg_err vgb_store_network_documents(vgb_store *s, vgb_netdoc_fn fn, void *ctx) VG_MUST_USE;

#define VGB_STORE_BUSY_MS 5000 /* longest wait for a lock another connection holds */

/* BEGIN IMMEDIATE. Waits, in steps of 100 us (SQLite's own busy timeout
 * sleeps 1, 2, 5, 10 ... ms), at most VGB_STORE_BUSY_MS while another
 * connection holds the write lock: the checkpointer does, for the moment a
 * RESTART checkpoint takes. */
vg_err vgb_store_begin(vgb_store *s, vg_reason *why) VG_MUST_USE;
/* COMMIT; on failure the transaction is rolled back and nothing of it stays.
 * VG_ERR_STORAGE_FULL when the disk is full, VG_ERR_IO otherwise. */
vg_err vgb_store_commit(vgb_store *s, vg_reason *why) VG_MUST_USE;
void vgb_store_rollback(vgb_store *s);
bool vgb_store_in_transaction(const vgb_store *s);
/* Makes sure a write transaction is open: the one in progress, or a new one
 * (vgb_store_begin). False when none can be begun (logged by the back end):
 * the caller changes nothing then. */
bool vgb_store_txn(vgb_store *s);

/* After a vgb_store_commit that failed: true when it may have committed all
 * the same, so the caller's view of the store (next seqs, the audit tree)
 * must be read again before it writes more. PostgreSQL: the connection
 * broke during COMMIT, or the wait for the synchronous standby was
 * cancelled (committed on the primary only). Never for SQLite. Cleared by
 * the next vgb_store_begin. */
bool vgb_store_commit_in_doubt(const vgb_store *s);

typedef struct vgb_alert_row {
    uint64_t seq;                       /* broker acceptance order, from 1 */
    uint8_t envelope_hash[VG_HASH_LEN]; /* of the signed body */
} vgb_alert_row;

/* VG_OK and *out, or VG_ERR_NOT_FOUND. */
vg_err vgb_store_find_alert(vgb_store *s, const uint8_t id[VG_ALERT_ID_LEN],
                            vgb_alert_row *out) VG_MUST_USE;

/* True when the stored envelope for seq has exactly these bytes. */
vg_err vgb_store_same_envelope(vgb_store *s, uint64_t seq, const uint8_t *bytes, size_t len,
                               bool *same) VG_MUST_USE;

/* Whether sender already used sequence number seq for an accepted alert.
 * Sequence numbers are unique per sender (a unique index over the alerts
 * themselves, so the state survives restarts with them); they need not
 * arrive in order, so two processes of one agency may publish at once. */
vg_err vgb_store_sequence_used(vgb_store *s, const char *sender, uint64_t seq,
                               bool *used) VG_MUST_USE;

/* One required recipient of a new alert, with what it was given. */
typedef struct vgb_required {
    const char *agency;    /* one of the envelope's recipients */
    int64_t deadline_ms;   /* its deadline, wall-clock UTC ms (0: none) */
    const char *cover_for; /* out-of-hours cover: the closed agency it covers, or NULL */
} vgb_required;

/* Inserts an accepted alert with one PENDING row per recipient; the
 * required ones (n_required of them, each a recipient of the envelope, each
 * once) get their own deadline and cover_for. Inside a transaction.
 * *seq_out is the new alert's seq. */
vg_err vgb_store_insert_alert_rows(vgb_store *s, const vg_envelope *env, int64_t accepted_ms,
                                   const vgb_required *required, size_t n_required,
                                   uint64_t *seq_out, vg_reason *why) VG_MUST_USE;

/* vgb_store_insert_alert_rows with one deadline for every required agency
 * (the policy's, listed in required) and no cover. */
vg_err vgb_store_insert_alert(vgb_store *s, const vg_envelope *env, int64_t accepted_ms,
                              const vg_strlist *required, int64_t deadline_ms, uint64_t *seq_out,
                              vg_reason *why) VG_MUST_USE;

/* vgb_store_find_alert, and whether agency is one of the alert's recipients
 * (one lookup for each item of a DELIVERED receipt). */
vg_err vgb_store_find_alert_for(vgb_store *s, const uint8_t id[VG_ALERT_ID_LEN], const char *agency,
                                vgb_alert_row *out, bool *is_recipient) VG_MUST_USE;

/* PENDING → DELIVERED at ms. *changed is false when it was already past
 * PENDING. */
vg_err vgb_store_mark_delivered(vgb_store *s, uint64_t seq, const char *agency, int64_t ms,
                                bool *changed) VG_MUST_USE;

/* Stores a verified receipt's exact bytes once, linked to the alerts whose
 * state it changed (seqs). A receipt already stored (same body hash) is not
 * stored again. */
vg_err vgb_store_insert_receipt(vgb_store *s, const vg_receipt *r, const uint64_t *seqs,
                                size_t n_seqs, int64_t received_ms) VG_MUST_USE;

/* Records leaf_idx as the audit leaf of the stored receipt with this hash;
 * *set is false when it has one already. */
vg_err vgb_store_receipt_leaf(vgb_store *s, const uint8_t hash[VG_HASH_LEN], uint64_t leaf_idx,
                              bool *set) VG_MUST_USE;

/* Records a rejected frame: who sent it (transport identity), what it
 * claimed, the code and reason. No content. */
vg_err vgb_store_insert_rejection(vgb_store *s, int64_t ms, const char *agency,
                                  const uint8_t *alert_id, const char *code,
                                  const char *reason) VG_MUST_USE;

/* Calls fn for the PENDING alerts of agency that may be sent at now_ms:
 * first every one never sent without a receipt (next_try_ms 0) in
 * acceptance order, then the retries whose time has come (vgb_store_park),
 * at most limit. Nothing here depends on what was sent before: a row that
 * became PENDING late (a share of an old alert) is found like a new one.
 * fn returns false to stop early. */
typedef bool (*vgb_pending_fn)(void *ctx, uint64_t seq);
vg_err vgb_store_pending(vgb_store *s, const char *agency, int64_t now_ms, size_t limit,
                         vgb_pending_fn fn, void *ctx) VG_MUST_USE;

/* A PENDING delivery that went unreceipted is set aside: its next try is
 * at now_ms + first_ms * 2^tries (at most max_ms later), and its tries are
 * counted. *next_out (may be NULL) gets that time, 0 when the row is no
 * longer PENDING (nothing changes then). */
vg_err vgb_store_park(vgb_store *s, uint64_t seq, const char *agency, int64_t now_ms,
                      int64_t first_ms, int64_t max_ms, int64_t *next_out) VG_MUST_USE;

/* The earliest next_try_ms after now_ms among agency's parked PENDING rows,
 * or 0 when there is none. */
vg_err vgb_store_next_try(vgb_store *s, const char *agency, int64_t now_ms,
                          int64_t *out) VG_MUST_USE;

/* Number of PENDING alerts for agency. */
vg_err vgb_store_count_pending(vgb_store *s, const char *agency, uint64_t *out) VG_MUST_USE;

/* The exact signed envelope bytes of alert seq; *out is malloc'ed, free() it. */
vg_err vgb_store_envelope(vgb_store *s, uint64_t seq, uint8_t **out, size_t *out_len) VG_MUST_USE;

/* Calls fn with the envelope bytes sender had accepted after since_ms, per
 * period of period_ms (fn's first argument: accepted_ms / period_ms). */
typedef void (*vgb_bytes_per_fn)(void *ctx, int64_t period, uint64_t bytes);
vg_err vgb_store_sender_bytes(vgb_store *s, const char *sender, int64_t since_ms, int64_t period_ms,
                              vgb_bytes_per_fn fn, void *ctx) VG_MUST_USE;

/* Counts, for tests and logs. */
vg_err vgb_store_count_alerts(vgb_store *s, uint64_t *out) VG_MUST_USE;

/* ---- acknowledgement tracking (store_track.c) ---------------------------- */

/* One recipient row, as the tracker needs it (texts are read by queries). */
typedef struct vgb_rrow {
    uint64_t seq;                         /* alert */
    char agency[VG_AGENCY_ID_MAX + 1];    /* recipient */
    bool required;                        /* counts towards completion and deadlines */
    vgb_rstate state;                     /* where it is */
    int64_t deadline_ms;                  /* wall-clock deadline, 0 = none */
    int64_t delivered_ms;                 /* 0 = not yet */
    int64_t acked_ms;                     /* 0 = not yet */
    int64_t state_ms;                     /* when state last changed */
    int64_t overdue_ms;                   /* when it became overdue, 0 = never */
    bool progress_used;                   /* IN_PROGRESS already extended the deadline */
    uint32_t esc_level;                   /* 0 = on time; 1 = overdue; 1+i = step i done */
    char shared_by[VG_AGENCY_ID_MAX + 1]; /* "" unless added by a share */
    uint32_t tries; /* times its delivery was set aside unreceipted (vgb_store_park) */
    char cover_for[VG_AGENCY_ID_MAX + 1]; /* "" unless out-of-hours cover for that agency */
} vgb_rrow;

/* Alert metadata (no content: the broker has none). */
typedef struct vgb_alert_meta {
    uint64_t seq;                            /* acceptance order */
    uint8_t id[VG_ALERT_ID_LEN];             /* alert id */
    char sender[VG_AGENCY_ID_MAX + 1];       /* sender agency */
    int64_t created_ms;                      /* sender's time */
    int64_t accepted_ms;                     /* broker's time */
    int severity, urgency, status, msg_type; /* wire enum values */
    char categories[VG_CATEGORIES_MAX * 64]; /* comma-separated */
    int64_t complete_ms;                     /* 0 = not complete */
} vgb_alert_meta;

vg_err vgb_store_alert_meta(vgb_store *s, uint64_t seq, vgb_alert_meta *out) VG_MUST_USE;

/* VG_ERR_NOT_FOUND when agency is not a recipient of seq. */
vg_err vgb_store_rrow(vgb_store *s, uint64_t seq, const char *agency, vgb_rrow *out) VG_MUST_USE;

/* Calls fn for each recipient row of seq (texts borrowed for the call). */
typedef void (*vgb_rrow_fn)(void *ctx, const vgb_rrow *r, const char *officer, const char *note,
                            const char *reason);
vg_err vgb_store_recipients_of(vgb_store *s, uint64_t seq, vgb_rrow_fn fn, void *ctx) VG_MUST_USE;

/* Calls fn for the required rows not yet acknowledged whose escalation is
 * not finished (esc_level <= max_level) and whose deadline is in
 * (after_ms, upto_ms], in deadline order, at most limit of them (limit < 0:
 * all): the tracker's timers, loaded a slice at a time. Rows of equal
 * deadline come in no particular order. */
vg_err vgb_store_open_rows(vgb_store *s, uint32_t max_level, int64_t after_ms, int64_t upto_ms,
                           int64_t limit, vgb_rrow_fn fn, void *ctx) VG_MUST_USE;

/* Records a person's receipt: state, time, officer/note/reason; for
 * IN_PROGRESS also the extended deadline and progress_used. */
vg_err vgb_store_apply_receipt(vgb_store *s, uint64_t seq, const char *agency, vgb_rstate state,
                               int64_t now_ms, const char *officer, const char *note,
                               const char *reason, int64_t deadline_ms) VG_MUST_USE;

/* Records escalation progress (and overdue_ms when level becomes 1). */
vg_err vgb_store_set_escalation(vgb_store *s, uint64_t seq, const char *agency, uint32_t level,
                                int64_t now_ms) VG_MUST_USE;

/* Adds a recipient (onward sharing): required, PENDING, with its deadline. */
vg_err vgb_store_add_recipient(vgb_store *s, uint64_t seq, const char *agency,
                               const char *shared_by, int64_t deadline_ms) VG_MUST_USE;

/* Stores a verified share record's exact bytes. */
vg_err vgb_store_insert_share(vgb_store *s, uint64_t seq, const char *sharer, const char *to,
                              const uint8_t hash[VG_HASH_LEN], const uint8_t *bytes, size_t len,
                              int64_t received_ms) VG_MUST_USE;

/* Calls fn with each stored share of seq naming agency `to`. */
typedef void (*vgb_bytes_fn)(void *ctx, const uint8_t *bytes, size_t len);
vg_err vgb_store_shares_to(vgb_store *s, uint64_t seq, const char *to, vgb_bytes_fn fn,
                           void *ctx) VG_MUST_USE;

/* Marks the alert complete at ms when no required row is unacknowledged;
 * *now_complete says whether this call completed it. */
vg_err vgb_store_check_complete(vgb_store *s, uint64_t seq, int64_t ms,
                                bool *now_complete) VG_MUST_USE;

/* An event as stored for one agency's stream. */
typedef struct vgb_event_row {
    uint64_t seq;           /* per-agency, gap-free from 1 */
    int64_t time_ms;        /* broker wall clock */
    int kind;               /* wire EventKind */
    uint64_t alert_seq;     /* 0 = not about an alert */
    const char *about;      /* the agency it is about */
    const char *detail;     /* reject code, escalation target, ... */
    uint32_t count;         /* AGENCY_OFFLINE: alerts waiting */
    uint32_t level;         /* escalation level */
    const uint8_t *receipt; /* forwarded signed receipt, or NULL */
    size_t receipt_len;     /* its length */
} vgb_event_row;

/* Appends events first->seq .. first->seq + n_more to agency's stream as one
 * row: the first is `first`, the others the same but about the alerts in
 * more[] (in order). The caller numbers them (see vgb_store_last_event). */
vg_err vgb_store_insert_events(vgb_store *s, const char *agency, const vgb_event_row *first,
                               const uint64_t *more, size_t n_more) VG_MUST_USE;

/* The last event number of agency's stream (0 when empty). */
vg_err vgb_store_last_event(vgb_store *s, const char *agency, uint64_t *out) VG_MUST_USE;

typedef void (*vgb_event_fn)(void *ctx, const vgb_event_row *ev);
/* Events of agency's stream after `after`, at most limit, in order. */
vg_err vgb_store_events_after(vgb_store *s, const char *agency, uint64_t after, size_t limit,
                              vgb_event_fn fn, void *ctx) VG_MUST_USE;

/* Alerts not complete that agency sent or must acknowledge (all of them
 * when agency is NULL), in acceptance order from after_seq on, at most
 * limit; fn returns false to stop early. */
typedef bool (*vgb_seq_fn)(void *ctx, uint64_t seq);
vg_err vgb_store_outstanding(vgb_store *s, const char *agency, uint64_t after_seq, size_t limit,
                             vgb_seq_fn fn, void *ctx) VG_MUST_USE;

/* Calls fn with the index of each audit leaf about alert seq, in order: the
 * leaves linked to it, and those of the DELIVERED receipts naming it. */
typedef void (*vgb_index_fn)(void *ctx, uint64_t idx);
vg_err vgb_store_alert_leaves(vgb_store *s, uint64_t seq, vgb_index_fn fn, void *ctx) VG_MUST_USE;

/* Required rows of agency still PENDING (undelivered), counted up to limit
 * (0: all of them): with a limit the cost does not grow with the backlog. */
vg_err vgb_store_count_waiting(vgb_store *s, const char *agency, uint64_t limit,
                               uint64_t *out) VG_MUST_USE;

/* The wall clock stepped by delta_ms while the broker ran: moves every
 * future time it acts on by as much (the deadlines of the rows still open,
 * as vgb_store_open_rows finds them, and the next tries of parked
 * deliveries), so that each keeps its place on the monotonic clock. Inside a
 * transaction; all or nothing. */
vg_err vgb_store_shift_times(vgb_store *s, int64_t delta_ms) VG_MUST_USE;

/* ---- the audit log's storage (audit.h does the hashing) ------------------- */

/* The stored tree size: the last leaf index plus one (0 when empty). */
vg_err vgb_store_audit_size(vgb_store *s, uint64_t *out) VG_MUST_USE;

/* The hash of stored subtree (level, index): level 0 is leaf index's leaf
 * hash. VG_ERR_NOT_FOUND when there is none; VG_ERR_MALFORMED when it is not
 * a hash. */
vg_err vgb_store_audit_node(vgb_store *s, unsigned level, uint64_t index,
                            uint8_t out[VG_HASH_LEN]) VG_MUST_USE;

/* Leaf index's bytes (*out malloc'ed, free() it); VG_ERR_NOT_FOUND past the end. */
vg_err vgb_store_audit_leaf(vgb_store *s, uint64_t index, uint8_t **out,
                            size_t *out_len) VG_MUST_USE;

/* Appends leaf `index` (its bytes and leaf hash) and the complete subtrees
 * that end at it (levels >= 1: hashes[i] is subtree (levels[i], nodes[i])),
 * all or none, inside the transaction. */
vg_err vgb_store_audit_append(vgb_store *s, uint64_t index, const uint8_t *leaf, size_t len,
                              const uint8_t leaf_hash[VG_HASH_LEN], const unsigned *levels,
                              const uint64_t *nodes, const uint8_t (*hashes)[VG_HASH_LEN],
                              size_t n_nodes) VG_MUST_USE;

/* A stored checkpoint. */
typedef struct vgb_checkpoint_row {
    uint64_t size;             /* its tree size */
    uint8_t root[VG_HASH_LEN]; /* its root column */
    bool root_ok;              /* the root column is a 32-byte hash */
    const char *note;          /* the signed note (borrowed for the call) */
    size_t note_len;           /* its length */
    int64_t signed_ms;         /* when it was signed */
} vgb_checkpoint_row;

/* Stores a signed checkpoint, inside the transaction. */
vg_err vgb_store_audit_add_checkpoint(vgb_store *s, uint64_t size, const uint8_t root[VG_HASH_LEN],
                                      const char *note, size_t note_len,
                                      int64_t signed_ms) VG_MUST_USE;

/* Calls fn with the latest stored checkpoint (the largest size), or not at
 * all when none was signed (*found false). */
typedef void (*vgb_checkpoint_fn)(void *ctx, const vgb_checkpoint_row *row);
vg_err vgb_store_audit_latest_checkpoint(vgb_store *s, vgb_checkpoint_fn fn, void *ctx,
                                         bool *found) VG_MUST_USE;

/* Calls fn for every stored checkpoint, by size. */
vg_err vgb_store_audit_checkpoints(vgb_store *s, vgb_checkpoint_fn fn, void *ctx) VG_MUST_USE;

/* Calls fn for every stored leaf in index order (bytes and stored leaf
 * hash borrowed for the call; hash_ok false when that column is not a
 * 32-byte hash); fn returns false to stop. */
typedef bool (*vgb_leaf_fn)(void *ctx, uint64_t index, const uint8_t *leaf, size_t len,
                            const uint8_t *hash, bool hash_ok);
vg_err vgb_store_audit_leaves(vgb_store *s, vgb_leaf_fn fn, void *ctx) VG_MUST_USE;

/* Whether any stored subtree covers a leaf at or past `size`. */
vg_err vgb_store_audit_nodes_beyond(vgb_store *s, uint64_t size, bool *any) VG_MUST_USE;

/* Links alert seq to leaf idx (for proofs by alert id: vgb_store_alert_leaves). */
vg_err vgb_store_link_leaf(vgb_store *s, uint64_t seq, uint64_t idx) VG_MUST_USE;

/* ---- link tags (docs/network.md "Link tags") ------------------------------------ */

/* Indexes alert seq under each of its n link tags (32 bytes each; a tag it
 * already has is ignored), inside the transaction. */
vg_err vgb_store_add_link_tags(vgb_store *s, uint64_t seq, const uint8_t (*tags)[VG_HASH_LEN],
                               size_t n) VG_MUST_USE;

/* Calls fn for each earlier alert (a smaller seq) that shares a link tag
 * with alert seq, in acceptance order, at most limit of them; _tagged: for
 * each alert indexed under any of the n tags (an alert not yet stored). */
vg_err vgb_store_tagged(vgb_store *s, const uint8_t (*tags)[VG_HASH_LEN], size_t n, size_t limit,
                        vgb_seq_fn fn, void *ctx) VG_MUST_USE;
vg_err vgb_store_linked_earlier(vgb_store *s, uint64_t seq, size_t limit, vgb_seq_fn fn,
                                void *ctx) VG_MUST_USE;

/* What a required agency did with an alert, for linked chains (the wire's
 * LinkOutcomeKind values). */
typedef enum vgb_link_outcome {
    VGB_LINK_ACKNOWLEDGED = 1, /* acknowledged by its deadline */
    VGB_LINK_LATE = 2,         /* acknowledged after it, or after it went overdue */
    VGB_LINK_NEVER = 3,        /* not acknowledged: overdue, past due, declined, unopenable */
    VGB_LINK_OPEN = 4,         /* not yet, and not yet due */
} vgb_link_outcome;

/* The outcome of required row r at now_ms. The row's own overdue record
 * comes first: a wall-clock step shifts open deadlines (timers.h), a row
 * that went overdue stays overdue. */
vgb_link_outcome vgb_rrow_link_outcome(const vgb_rrow *r, int64_t now_ms);

/* Calls fn for every linked pair (later shares a tag with earlier), by later
 * then earlier; fn returns false to stop. */
typedef bool (*vgb_pair_fn)(void *ctx, uint64_t later, uint64_t earlier);
vg_err vgb_store_link_pairs(vgb_store *s, vgb_pair_fn fn, void *ctx) VG_MUST_USE;

/* Calls fn for each link_tags row of alert seq, as stored (for audit
 * verify: tag may be of any length), by tag. */
typedef void (*vgb_tag_fn)(void *ctx, const uint8_t *tag, size_t len);
vg_err vgb_store_link_tags_of(vgb_store *s, uint64_t seq, vgb_tag_fn fn, void *ctx) VG_MUST_USE;

/* ---- what offline tools and tests read ---------------------------------------- */

/* Calls fn for every alert id, in acceptance order. */
typedef bool (*vgb_id_fn)(void *ctx, uint64_t seq, const uint8_t id[VG_ALERT_ID_LEN]);
vg_err vgb_store_alert_ids(vgb_store *s, vgb_id_fn fn, void *ctx) VG_MUST_USE;

/* Alert meta by id: VG_ERR_NOT_FOUND when absent. */
vg_err vgb_store_alert_by_id(vgb_store *s, const uint8_t id[VG_ALERT_ID_LEN], vgb_alert_meta *out,
                             uint8_t envelope_hash[VG_HASH_LEN],
                             uint64_t *network_version) VG_MUST_USE;

/* Whether a stored receipt with this hash, by agency, is linked to alert seq
 * (one of its items). */
vg_err vgb_store_receipt_names(vgb_store *s, const uint8_t hash[VG_HASH_LEN], const char *agency,
                               uint64_t seq, bool *out) VG_MUST_USE;

/* Whether a stored share of alert seq with this hash was made by sharer. */
vg_err vgb_store_share_exists(vgb_store *s, uint64_t seq, const uint8_t hash[VG_HASH_LEN],
                              const char *sharer, bool *out) VG_MUST_USE;

/* One required recipient of an alert, as the unshared-alert report reads it. */
typedef struct vgb_report_row {
    const vgb_alert_meta *alert; /* the alert */
    const vgb_rrow *row;         /* the recipient */
    int64_t asked_ms;            /* since when it had to act (acceptance, or its share) */
    const char *officer;         /* "" when none */
    const char *reason;          /* "" when none */
} vgb_report_row;

/* Calls fn for every required recipient row of the alerts accepted at or
 * after since_ms, by acceptance then recipient order. */
typedef void (*vgb_report_fn)(void *ctx, const vgb_report_row *r);
vg_err vgb_store_required_rows(vgb_store *s, int64_t since_ms, vgb_report_fn fn,
                               void *ctx) VG_MUST_USE;

/* Counts for tests and logs: rows of the store's tables matching a simple
 * filter (NULL: any). */
typedef enum vgb_count_what {
    VGB_COUNT_ALERTS = 1,     /* filter: sender */
    VGB_COUNT_RECIPIENTS,     /* filter: agency */
    VGB_COUNT_DELIVERED,      /* recipients with a delivery time; filter: agency */
    VGB_COUNT_ACKNOWLEDGED,   /* recipients acknowledged; filter: agency */
    VGB_COUNT_OVERDUE,        /* recipients that went overdue; filter: agency */
    VGB_COUNT_RECEIPTS,       /* filter: agency */
    VGB_COUNT_SHARES,         /* filter: sharer */
    VGB_COUNT_REJECTIONS,     /* filter: transport agency */
    VGB_COUNT_REJECTION_CODE, /* filter: code ("clock_skew") */
    VGB_COUNT_EVENTS,         /* events (runs expanded); filter: agency */
    VGB_COUNT_LEAVES,         /* audit leaves; filter: a text the leaf contains */
    VGB_COUNT_CHECKPOINTS,    /* filter: none */
    VGB_COUNT_PENDING,        /* recipients still PENDING (undelivered); filter: agency */
    VGB_COUNT_EVENT_RUNS,     /* events as stored, a run of them as one; filter: agency */
    VGB_COUNT_REJECTIONS_OF,  /* filter: "agency/code" ("police/clock_skew") */
    VGB_COUNT_RECEIPT_ITEMS,  /* receipt-to-alert links (its items); filter: none */
    VGB_COUNT_LEAF_LINKS,     /* alert-to-audit-leaf links; filter: none */
    VGB_COUNT_NODES,          /* stored audit subtree hashes; filter: none */
    VGB_COUNT_LINK_TAGS,      /* link_tags rows; filter: none */
    VGB_COUNT_PURGES,         /* purges rows (store_retain.h); filter: none */
    VGB_COUNT_HOLDS,          /* legal_holds rows (store_retain.h); filter: none */
} vgb_count_what;
vg_err vgb_store_count(vgb_store *s, vgb_count_what what, const char *filter,
                       uint64_t *out) VG_MUST_USE;

/* ---- leadership: several brokers on one store (docs/ha.md) -----------------------
 * Only a store that several brokers may share (PostgreSQL) elects a leader;
 * on one that cannot be shared (SQLite: one broker per file) the broker is
 * the leader and vgb_store_lead_supported is false. The lead is a
 * session-level lock held on the owner's connection together with an epoch
 * that every later write transaction checks in the server (a broker whose
 * epoch is not the store's cannot commit anything). When that connection is
 * replaced (a reconnect after a failure, a session the server ended), the
 * lock went with it: every write transaction fails as fenced until
 * vgb_store_lead_try wins again. All of these run outside a transaction, on
 * the owner's thread. */

bool vgb_store_lead_supported(const vgb_store *s);

/* What a broker asks for when it tries to lead. */
typedef struct vgb_lead_params {
    const char *advertise; /* its endpoint for agents ("" when none): standbys tell it */
    uint64_t lease_ms;     /* a session idle (or idle in a transaction) this long is ended
                              by the server, and a silent peer's TCP connection given up */
} vgb_lead_params;

#define VGB_LEAD_ENDPOINT_MAX 64 /* the advertised endpoint as the store keeps it */

/* Who leads, as one look at the store sees it. */
typedef struct vgb_lead_state {
    int64_t epoch;                      /* the store's epoch (0: never led) */
    bool mine;                          /* this connection holds the lock */
    char leader[VGB_LEAD_ENDPOINT_MAX]; /* the holder's advertised endpoint, "" unknown */
} vgb_lead_state;

/* Tries once, without waiting, to become the leader: takes the lock; when
 * it got it, raises the store's epoch by one and commits that (durably: a
 * COMMIT that returned without a warning, so everything committed before
 * it is on the synchronous standby too), and checks every later write
 * transaction against the new epoch. *out says who leads now (out->mine
 * when this broker does). VG_ERR_IO when the store cannot be reached or the
 * epoch could not be raised durably (the lock is given back then). */
vg_err vgb_store_lead_try(vgb_store *s, const vgb_lead_params *p, vgb_lead_state *out,
                          vg_reason *why) VG_MUST_USE;

/* The leader's heartbeat (it also keeps the session from idling out):
 * VG_OK while this connection holds the lock and the store's epoch is
 * still its own; VG_ERR_NOT_LEADER when it lost the lock with its
 * connection or another broker raised the epoch (fenced: logged
 * store.fenced); VG_ERR_IO when the store cannot be reached (the lock is
 * gone with the connection). */
vg_err vgb_store_lead_check(vgb_store *s, vg_reason *why) VG_MUST_USE;

/* Gives the lead up (a clean stop, a step down) and tells the standbys at
 * once instead of at their next poll. Writes fail as fenced afterwards. */
void vgb_store_lead_release(vgb_store *s);

/* A descriptor that becomes readable when a leader gives the lead up (a
 * hint only: it is lost at a failover; standbys poll anyway), or -1 when
 * there is none; vgb_store_lead_woken takes what arrived and says whether a
 * hint was among it. */
int vgb_store_lead_fd(vgb_store *s);
bool vgb_store_lead_woken(vgb_store *s);

/* The audit log size the leader last knew durable, as recorded in the store
 * for the standbys' high-water marks (highwater.h, ha.h); 0 when none was
 * recorded or the back end keeps none (SQLite: one broker, whose own mark
 * is enough). Setting it never lowers it; inside a transaction; a no-op
 * for SQLite. */
vg_err vgb_store_audit_durable(vgb_store *s, uint64_t *out) VG_MUST_USE;
vg_err vgb_store_set_audit_durable(vgb_store *s, uint64_t size) VG_MUST_USE;

/* ---- what audit verify reads: every row, in key order ------------------------
 *
 * vgb_audit_check_state (audit.h) compares every row with the leaves that
 * record it. These calls give it the rows as stored, unconverted where a
 * conversion could hide a change (64-bit integers; a column that is not the
 * size it must be is flagged, not refused). Each calls fn with texts and
 * bytes borrowed for the call; fn must not call the store. The "after,
 * limit" calls read a slice in key order through an index, so a caller can
 * keep several cursors open at once (one per event stream) on any back end.
 * VG_ERR_IO and the like when the store cannot be read. */

/* An alerts row as stored. */
typedef struct vgb_alert_full {
    uint64_t seq;                       /* its key */
    bool id_ok;                         /* alert_id is VG_ALERT_ID_LEN bytes */
    uint8_t id[VG_ALERT_ID_LEN];        /* alert_id (zero when !id_ok) */
    const char *sender;                 /* sender */
    uint64_t sender_seq;                /* the sender's sequence number */
    int64_t created_ms;                 /* the sender's time */
    int64_t accepted_ms;                /* the broker's time */
    int64_t status, msg_type;           /* wire enum values */
    int64_t severity, urgency;          /* wire enum values */
    const char *categories;             /* comma-separated */
    uint64_t network_version;           /* the document the sender sealed under */
    bool hash_ok;                       /* envelope_hash is VG_HASH_LEN bytes */
    uint8_t envelope_hash[VG_HASH_LEN]; /* of the signed body (zero when !hash_ok) */
    const uint8_t *envelope;            /* the signed envelope's bytes */
    size_t envelope_len;                /* their length */
    int64_t complete_ms;                /* 0 when NULL (not complete) */
} vgb_alert_full;

/* The alerts rows with seq > after_seq, in seq order, at most limit. */
typedef void (*vgb_alert_full_fn)(void *ctx, const vgb_alert_full *a);
vg_err vgb_store_alerts_after(vgb_store *s, uint64_t after_seq, size_t limit, vgb_alert_full_fn fn,
                              void *ctx) VG_MUST_USE;

/* A receipts row as stored. */
typedef struct vgb_receipt_row {
    uint64_t id;               /* its key (receipt_items.receipt_id) */
    bool found;                /* false: an item names no receipts row (nothing below is set) */
    const char *agency;        /* agency */
    int64_t kind;              /* the wire ReceiptKind */
    int64_t created_ms;        /* the agency's time */
    int64_t received_ms;       /* the broker's time */
    bool hash_ok;              /* receipt_hash is VG_HASH_LEN bytes */
    uint8_t hash[VG_HASH_LEN]; /* receipt_hash: of the signed body */
    const uint8_t *bytes;      /* the signed receipt's bytes */
    size_t len;                /* their length */
    bool has_leaf;             /* leaf_idx is set (a DELIVERED receipt's first leaf) */
    uint64_t leaf_idx;         /* it */
} vgb_receipt_row;
typedef void (*vgb_receipt_row_fn)(void *ctx, const vgb_receipt_row *r);

/* For each item (receipt_items row) of alert seq, in receipt id order: the
 * receipts row it names (found false when there is none). */
vg_err vgb_store_receipts_of(vgb_store *s, uint64_t seq, vgb_receipt_row_fn fn,
                             void *ctx) VG_MUST_USE;

/* The receipts row with this receipt_hash: fn once, or never (*found false). */
vg_err vgb_store_receipt_by_hash(vgb_store *s, const uint8_t hash[VG_HASH_LEN],
                                 vgb_receipt_row_fn fn, void *ctx, bool *found) VG_MUST_USE;

/* A shares row as stored. */
typedef struct vgb_share_row {
    uint64_t id;               /* its key */
    const char *sharer;        /* sharer */
    const char *to;            /* to_agency */
    int64_t received_ms;       /* the broker's time */
    bool hash_ok;              /* share_hash is VG_HASH_LEN bytes */
    uint8_t hash[VG_HASH_LEN]; /* share_hash: of the signed body */
    const uint8_t *bytes;      /* the signed share's bytes */
    size_t len;                /* their length */
} vgb_share_row;
typedef void (*vgb_share_row_fn)(void *ctx, const vgb_share_row *r);

/* The shares rows of alert seq, in id order. */
vg_err vgb_store_shares_of(vgb_store *s, uint64_t seq, vgb_share_row_fn fn, void *ctx) VG_MUST_USE;

/* Every link from alert seq to an audit leaf, in leaf order, not merged:
 * fn(idx, 0) for each alert -> leaf index row (vgb_store_link_leaf), and
 * fn(idx, receipt id) for each receipt the alert is an item of whose
 * leaf_idx is idx (vgb_store_receipt_leaf). vgb_store_alert_leaves is the
 * merged set. */
typedef void (*vgb_link_fn)(void *ctx, uint64_t idx, uint64_t receipt_id);
vg_err vgb_store_alert_leaf_links(vgb_store *s, uint64_t seq, vgb_link_fn fn,
                                  void *ctx) VG_MUST_USE;

/* A rejections row as stored. */
typedef struct vgb_rejection_row {
    uint64_t id;                       /* its key: insertion order */
    int64_t at_ms;                     /* the broker's time */
    const char *agency;                /* the transport identity */
    bool has_alert_id;                 /* alert_id is not NULL */
    bool alert_id_ok;                  /* ... and is VG_ALERT_ID_LEN bytes */
    uint8_t alert_id[VG_ALERT_ID_LEN]; /* it */
    const char *code;                  /* the reject code's name */
    const char *reason;                /* the broker's words */
} vgb_rejection_row;
typedef void (*vgb_rejection_fn)(void *ctx, const vgb_rejection_row *r);

/* The rejections rows with id > after_id, in id order, at most limit. */
vg_err vgb_store_rejections_after(vgb_store *s, uint64_t after_id, size_t limit,
                                  vgb_rejection_fn fn, void *ctx) VG_MUST_USE;

/* One stored row of an agency's event stream: event seq, or the run of n
 * events seq .. seq + n - 1 that differ only in their alert (the first's
 * is alert_seq, the others' are more[]). As stored: n and the length of
 * `more` are not checked against each other (more_ok says whether `more`
 * is a whole number of alert seqs). */
typedef struct vgb_event_run {
    uint64_t seq;           /* the first event's number */
    int64_t n;              /* events in the row, as stored */
    int64_t time_ms;        /* the first event's time */
    int64_t kind;           /* wire EventKind */
    uint64_t alert_seq;     /* the first event's alert, 0 = none */
    const char *about;      /* the agency it is about */
    const char *detail;     /* reject code, escalation target, officer, ... */
    int64_t count, level;   /* AGENCY_OFFLINE: alerts waiting; escalation level */
    const uint8_t *receipt; /* forwarded signed receipt, or NULL */
    size_t receipt_len;     /* its length */
    const uint64_t *more;   /* the other events' alerts, in order */
    size_t n_more;          /* how many */
    bool more_ok;           /* the column held a whole number of them */
} vgb_event_run;
typedef void (*vgb_event_run_fn)(void *ctx, const vgb_event_run *r);

/* The rows of agency's stream whose first event number is > after, in
 * order, at most limit. */
vg_err vgb_store_event_runs(vgb_store *s, const char *agency, uint64_t after, size_t limit,
                            vgb_event_run_fn fn, void *ctx) VG_MUST_USE;

#endif
