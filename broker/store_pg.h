/*
 * broker/store_pg.h — the PostgreSQL back end of the store (store.h): its
 * connection, prepared statements, parameter and result helpers, shared by
 * store_pg*.c only. Not a contract beyond those files and their tests;
 * store.c calls vgb_pg_open.
 *
 * One database, reached by a libpq connection string (multi-host strings with
 * target_session_attrs=read-write find the primary), tables in the schema
 * `vigil` (store_pg_sql.c). Every statement is prepared once per connection,
 * right after it is made; parameters and results travel in binary.
 *
 * Transactions. The owner's connection runs in libpq pipeline mode: a change
 * whose result the caller does not need (an INSERT of an event, an audit
 * leaf, ...) is sent and not waited for; the next call that needs a result,
 * or the COMMIT, collects the outcome of everything sent before it in the
 * same round trip. So a batch costs a few round trips, not one per row; the
 * price is that such a change that fails is reported by a later call of the
 * same transaction (or by the commit), never silently. PostgreSQL aborts a
 * transaction on its first failed statement: from then on every call of that
 * transaction fails and the commit rolls back (store.h: a failed change is
 * never committed).
 *
 * Durable means replicated. A COMMIT returns only once the synchronous
 * standbys have it (synchronous_commit is raised to "on" when the server has
 * it lower). When that wait is cancelled PostgreSQL still answers COMMIT,
 * with a WARNING ("canceling wait for synchronous replication ... committed
 * locally, but might not have been replicated"): vgb_store_commit reports
 * that as VG_ERR_IO, marks the commit in doubt and the connection suspect,
 * and the next transaction starts on a new connection. The same holds when
 * the connection breaks during COMMIT.
 *
 * Numbers that must be gapless never come from sequences: alert seqs,
 * receipt, share and rejection ids are the largest stored plus one (inside
 * the writing transaction; a second writer would collide on the primary key
 * and fail, never skip), event seqs are chosen by the broker and audit leaf
 * indices by the caller. The owner remembers the next alert seq from one
 * committed transaction to the next (it is the only writer), so an insert
 * need not wait for the database to pick it; any failure forgets it.
 *
 * Thread rules: a vgb_pg is one connection used by one thread at a time.
 */
#ifndef VIGIL_BROKER_STORE_PG_H
#define VIGIL_BROKER_STORE_PG_H

#include <libpq-fe.h>

#include "store.h"
#include "store_backend.h"

#define VGB_PG_SCHEMA_VERSION 8           /* the same numbering as the SQLite back end's */
#define VGB_PG_SCHEMA_OLDEST 4            /* the oldest schema this code migrates from */
#define VGB_PG_PARAMS_MAX 20              /* parameters of one statement */
#define VGB_PG_QUEUE_MAX 256              /* changes waiting in the pipeline before it is synced */
#define VGB_PG_PAGE_ROWS 1024             /* rows fetched at a time by the long iterations */
#define VGB_PG_PATH_MAX 320               /* "postgresql://user@host:port/db" */
#define VGB_PG_CONNECT_TIMEOUT_S "10"     /* per host, unless the DSN says otherwise */
#define VGB_PG_WRITER_ROLE "vigil_writer" /* group role of the broker's login role */
#define VGB_PG_READER_ROLE "vigil_reader" /* group role of read-only tools */
#define VGB_PG_FENCED "VGF01"             /* SQLSTATE of check_epoch: another broker leads now */

/* What a connection is for. */
typedef enum vgb_pg_mode {
    VGB_PG_OWNER = 1,    /* the broker: creates or migrates the schema, writes */
    VGB_PG_READONLY = 2, /* offline tools: checks the schema, never writes */
    VGB_PG_READER = 3,   /* the query thread's second connection: never writes */
    VGB_PG_MIGRATE = 4,  /* vigil-pg-migrate: (re)applies schema and grants, as the owner role */
} vgb_pg_mode;

/* The statements, prepared on every connection (store_pg_sql.c). */
typedef enum vgb_pg_q {
    VGB_PG_Q_FIND_ALERT,
    VGB_PG_Q_ENVELOPE,
    VGB_PG_Q_SENDER_SEQ,
    VGB_PG_Q_INSERT_ALERT,
    VGB_PG_Q_FIND_FOR,
    VGB_PG_Q_MARK_DELIVERED,
    VGB_PG_Q_INSERT_RECEIPT,
    VGB_PG_Q_RECEIPT_LEAF,
    VGB_PG_Q_INSERT_REJECTION,
    VGB_PG_Q_PENDING,
    VGB_PG_Q_PARK,
    VGB_PG_Q_NEXT_TRY,
    VGB_PG_Q_COUNT_PENDING,
    VGB_PG_Q_COUNT_ALERTS,
    VGB_PG_Q_NETWORK_VERSION,
    VGB_PG_Q_SET_NETWORK_VERSION,
    VGB_PG_Q_ADD_NETDOC,
    VGB_PG_Q_NETDOCS,
    VGB_PG_Q_SENDER_BYTES,
    VGB_PG_Q_ALERT_META,
    VGB_PG_Q_RROW,
    VGB_PG_Q_RECIPIENTS_OF,
    VGB_PG_Q_OPEN_ROWS,
    VGB_PG_Q_APPLY_RECEIPT,
    VGB_PG_Q_SET_ESCALATION,
    VGB_PG_Q_ADD_RECIPIENT,
    VGB_PG_Q_INSERT_SHARE,
    VGB_PG_Q_SHARES_TO,
    VGB_PG_Q_CHECK_COMPLETE,
    VGB_PG_Q_LAST_EVENT,
    VGB_PG_Q_INSERT_EVENTS,
    VGB_PG_Q_EVENTS_AFTER,
    VGB_PG_Q_OUTSTANDING_ALL,
    VGB_PG_Q_OUTSTANDING_AGENCY,
    VGB_PG_Q_ALERT_LEAVES,
    VGB_PG_Q_COUNT_WAITING,
    VGB_PG_Q_AUDIT_SIZE,
    VGB_PG_Q_AUDIT_LEAF_HASH,
    VGB_PG_Q_AUDIT_NODE,
    VGB_PG_Q_AUDIT_LEAF,
    VGB_PG_Q_AUDIT_APPEND,
    VGB_PG_Q_AUDIT_ADD_CHECKPOINT,
    VGB_PG_Q_AUDIT_LATEST_CHECKPOINT,
    VGB_PG_Q_AUDIT_CHECKPOINTS,
    VGB_PG_Q_AUDIT_LEAVES,
    VGB_PG_Q_AUDIT_NODES_BEYOND,
    VGB_PG_Q_LINK_LEAF,
    VGB_PG_Q_ALERT_IDS,
    VGB_PG_Q_ALERT_BY_ID,
    VGB_PG_Q_RECEIPT_NAMES,
    VGB_PG_Q_SHARE_EXISTS,
    VGB_PG_Q_REQUIRED_ROWS,
    VGB_PG_Q_COUNT_ALERTS_BY,
    VGB_PG_Q_COUNT_RECIPIENTS,
    VGB_PG_Q_COUNT_DELIVERED,
    VGB_PG_Q_COUNT_ACKNOWLEDGED,
    VGB_PG_Q_COUNT_OVERDUE,
    VGB_PG_Q_COUNT_RECEIPTS,
    VGB_PG_Q_COUNT_SHARES,
    VGB_PG_Q_COUNT_REJECTIONS,
    VGB_PG_Q_COUNT_REJECTION_CODE,
    VGB_PG_Q_COUNT_EVENTS,
    VGB_PG_Q_COUNT_LEAVES,
    VGB_PG_Q_COUNT_CHECKPOINTS,
    VGB_PG_Q_COUNT_PENDING_ANY,
    VGB_PG_Q_COUNT_EVENT_RUNS,
    VGB_PG_Q_COUNT_REJECTIONS_OF,
    VGB_PG_Q_COUNT_RECEIPT_ITEMS,
    VGB_PG_Q_COUNT_LEAF_LINKS,
    VGB_PG_Q_COUNT_NODES,
    VGB_PG_Q_COUNT_PURGES,
    VGB_PG_Q_COUNT_HOLDS,
    VGB_PG_Q_SHIFT_DEADLINES,
    VGB_PG_Q_SHIFT_TRIES,
    VGB_PG_Q_XACT_ID,
    VGB_PG_Q_EPOCH_CHECK,
    VGB_PG_Q_ADD_LINK_TAGS,
    VGB_PG_Q_LINKED_EARLIER,
    VGB_PG_Q_LINK_PAIRS,
    VGB_PG_Q_LINK_TAGS_OF,
    VGB_PG_Q_TAGGED,
    VGB_PG_Q_COUNT_LINK_TAGS,
    VGB_PG_Q_ALERTS_AFTER, /* what audit verify reads (store_pg_verify.c) */
    VGB_PG_Q_RECEIPTS_OF,
    VGB_PG_Q_RECEIPT_BY_HASH,
    VGB_PG_Q_SHARES_OF,
    VGB_PG_Q_ALERT_LEAF_LINKS,
    VGB_PG_Q_REJECTIONS_AFTER,
    VGB_PG_Q_EVENT_RUNS,
    VGB_PG_Q_AUDIT_CHECKPOINT_AT, /* witness cosignatures (store_witness.h) */
    VGB_PG_Q_ADD_COSIGNATURE,
    VGB_PG_Q_COSIGNATURES,
    VGB_PG_Q_RETAIN_CANDIDATES, /* retention (store_pg_retain.c) */
    VGB_PG_Q_RETAIN_STATE,
    VGB_PG_Q_PURGE_ROW,
    VGB_PG_Q_PURGE_CONTENT,
    VGB_PG_Q_PURGE_CONTENT_AT,
    VGB_PG_Q_PURGE_TAGS,
    VGB_PG_Q_PURGE_TAGS_AT,
    VGB_PG_Q_HOLD_ADD,
    VGB_PG_Q_HOLD_GET,
    VGB_PG_Q_HOLD_DELETE,
    VGB_PG_Q_HOLDS,
    VGB_PG_N_QUERIES
} vgb_pg_q;

/* One statement: its text and its parameters' types, one letter each:
 * i int8, n int4, o bool, t text, b bytea; upper case for an array of it. */
typedef struct vgb_pg_sql {
    const char *text;  /* the SQL, $1 ... */
    const char *types; /* parameter types, one letter each */
} vgb_pg_sql;

extern const vgb_pg_sql vgb_pg_queries[VGB_PG_N_QUERIES];

/* The schema of VGB_PG_SCHEMA_VERSION, made in one transaction by the owner
 * (CREATE ... IF NOT EXISTS), then the grants to the group roles when they
 * exist; vgb_pg_migrations[v] takes a store from v to v + 1 first. */
extern const char vgb_pg_schema[];
extern const char vgb_pg_grants[];
extern const char *const vgb_pg_migrations[VGB_PG_SCHEMA_VERSION];

typedef enum vgb_pg_txn {
    VGB_PG_TXN_NONE = 0,  /* autocommit */
    VGB_PG_TXN_WRITE = 1, /* vgb_store_begin */
    VGB_PG_TXN_READ = 2,  /* vgb_store_read_begin */
} vgb_pg_txn;

/* What a queued result is for when it arrives. */
typedef enum vgb_pg_want {
    VGB_PG_WANT_NOTHING = 0, /* only whether it failed */
    VGB_PG_WANT_XACT_ID = 1, /* the transaction's id (kept for a commit in doubt) */
} vgb_pg_want;

typedef struct vgb_pg_queued {
    const char *what; /* for messages: "insert event" */
    vgb_pg_want want; /* what to keep of its result */
} vgb_pg_queued;

typedef struct vgb_pg {
    vgb_store base;                         /* first: the interface */
    PGconn *conn;                           /* the connection, or NULL after a failed reconnect */
    char *dsn;                              /* as given; may hold a password: never logged */
    char path[VGB_PG_PATH_MAX];             /* postgresql://user@host:port/db, for messages */
    vgb_pg_mode mode;                       /* what it is for */
    bool pipelining;                        /* changes are queued, not waited for (owner) */
    bool in_pipeline;                       /* the connection is in pipeline mode */
    vgb_pg_txn txn;                         /* the open transaction */
    bool txn_failed;                        /* a statement of it failed: it cannot commit */
    vg_err txn_err;                         /* the first failure's code */
    char txn_why[256];                      /* ... and what it was */
    bool suspect;                           /* reconnect before the next transaction */
    bool in_doubt;                          /* the last commit failed but may have committed */
    int64_t doubt_xid;                      /* ... its transaction id, 0 unknown */
    int64_t xid;                            /* the open write transaction's id, 0 unknown */
    bool committing;                        /* notices now concern a COMMIT */
    bool commit_warned;                     /* a WARNING arrived during the COMMIT */
    char warning[256];                      /* its text, for the reason */
    uint64_t next_seq;                      /* next alert seq, 0 = ask the database */
    uint64_t seq_at_begin;                  /* ... when the transaction began */
    size_t n_queued;                        /* results the pipeline still owes */
    vgb_pg_queued queued[VGB_PG_QUEUE_MAX]; /* ... in order */
    int64_t epoch;                          /* leader epoch every write checks; 0 = none yet */
    bool leading;                           /* this connection holds the leader's lock */
    bool listening;                         /* LISTENs for a leader giving the lead up */
    bool hinted;                            /* ... and such a hint arrived, not yet taken */
    bool fenced;                            /* a statement failed with VGB_PG_FENCED */
    uint64_t commit_wait_ms;                /* longest wait for a COMMIT's answer, 0: no limit */
} vgb_pg;

/* Opens a connection for mode (owner: creates or migrates the schema). */
vg_err vgb_pg_open(vgb_store **out, const char *dsn, vgb_pg_mode mode, vg_reason *why) VG_MUST_USE;

/* Turns queuing of changes on or off (on by default for the owner): off, every
 * statement waits for its result, as without pipeline mode. For benchmarks
 * and tests. Only between transactions. */
vg_err vgb_pg_set_pipelining(vgb_store *s, bool on) VG_MUST_USE;

/* Sets the leader epoch every later write transaction checks at its start
 * (the epoch row in meta must still hold it, or the transaction fails): the
 * hook for several brokers on one database (docs/ha.md). 0 turns it off. */
void vgb_pg_set_epoch(vgb_store *s, int64_t epoch);

/* Bounds how long a COMMIT may wait for its answer (0, the default: as long
 * as the server takes). A COMMIT waits for the synchronous standby; one
 * gone with no other to take its place makes it wait for ever. Past ms the
 * wait is cancelled: PostgreSQL then answers with the warning that makes
 * the commit in doubt (store.h), logged store.commit_wait_cancelled. Only
 * between transactions. broker.conf's [store] commit_wait. */
void vgb_pg_set_commit_wait(vgb_store *s, uint64_t ms);

/* The vg_err for an SQLSTATE (NULL: no server error, e.g. a broken
 * connection): 53100 disk full is VG_ERR_STORAGE_FULL, class 23
 * (constraints) VG_ERR_CONFLICT, XX001/XX002 (damaged data) VG_ERR_MALFORMED,
 * everything else (connection, serialization, privileges) VG_ERR_IO. */
vg_err vgb_pg_err_of(const char *sqlstate);

/* ---- parameters -------------------------------------------------------------
 * Built in order ($1, $2, ...), in binary. Text is checked to be UTF-8 (a
 * PostgreSQL text column refuses anything else, and one agency's odd bytes
 * must not fail another's batch): invalid sequences are stored as U+FFFD.
 * Buffers the builder allocates are freed by vgb_pg_params_fini (the
 * executors below call it). Out of memory marks the set failed. */
typedef struct vgb_pg_params {
    int n;                                /* parameters so far */
    const char *value[VGB_PG_PARAMS_MAX]; /* each value, NULL = SQL NULL */
    int len[VGB_PG_PARAMS_MAX];           /* its length */
    int fmt[VGB_PG_PARAMS_MAX];           /* 1: binary */
    uint8_t num[VGB_PG_PARAMS_MAX][8];    /* numbers, big-endian */
    void *owned[VGB_PG_PARAMS_MAX];       /* buffers to free */
    bool failed;                          /* out of memory */
} vgb_pg_params;

void vgb_pg_p_i64(vgb_pg_params *p, int64_t v);
void vgb_pg_p_i32(vgb_pg_params *p, int32_t v);
void vgb_pg_p_bool(vgb_pg_params *p, bool v);
void vgb_pg_p_null(vgb_pg_params *p);
/* NULL text is SQL NULL. */
void vgb_pg_p_text(vgb_pg_params *p, const char *t);
/* "" or NULL is SQL NULL (officer, note, reason). */
void vgb_pg_p_text_or_null(vgb_pg_params *p, const char *t);
/* len bytes of text, not NUL-terminated. */
void vgb_pg_p_textn(vgb_pg_params *p, const char *t, size_t len);
/* NULL bytes is SQL NULL; len 0 an empty bytea. */
void vgb_pg_p_bytea(vgb_pg_params *p, const void *bytes, size_t len);
/* A limit: SQL NULL (no limit) when it does not fit an int8. */
void vgb_pg_p_limit(vgb_pg_params *p, uint64_t limit);
void vgb_pg_p_i64_array(vgb_pg_params *p, const int64_t *v, size_t n);
void vgb_pg_p_i32_array(vgb_pg_params *p, const int32_t *v, size_t n);
void vgb_pg_p_bool_array(vgb_pg_params *p, const bool *v, size_t n);
void vgb_pg_p_text_array(vgb_pg_params *p, const char *const *v, size_t n);
void vgb_pg_p_hash_array(vgb_pg_params *p, const uint8_t (*v)[VG_HASH_LEN], size_t n);
void vgb_pg_params_fini(vgb_pg_params *p);

/* ---- running statements -------------------------------------------------------
 * Each consumes p (NULL: no parameters), logs a failure once (store.error)
 * and, inside a transaction, marks it failed. */

/* Runs q and waits for its result: a PGRES_TUPLES_OK or PGRES_COMMAND_OK
 * result (PQclear it), or NULL with *err set. */
PGresult *vgb_pg_query(vgb_pg *s, vgb_pg_q q, vgb_pg_params *p, const char *what, vg_err *err);

/* Runs a change whose result is not needed now: in a pipelined write
 * transaction it is queued (its failure comes back from a later call or the
 * commit); otherwise it runs and waits. VG_ERR_INTERNAL outside a write
 * transaction. */
vg_err vgb_pg_change(vgb_pg *s, vgb_pg_q q, vgb_pg_params *p, const char *what) VG_MUST_USE;

/* Runs a change and waits: *n rows changed (may be NULL). VG_ERR_INTERNAL
 * outside a write transaction. */
vg_err vgb_pg_change_n(vgb_pg *s, vgb_pg_q q, vgb_pg_params *p, const char *what,
                       uint64_t *n) VG_MUST_USE;

/* Runs q: the first column of its first row as a number, 0 when no row. */
vg_err vgb_pg_u64(vgb_pg *s, vgb_pg_q q, vgb_pg_params *p, const char *what,
                  uint64_t *out) VG_MUST_USE;

/* Refuses a change outside a write transaction (store.h), logged. */
vg_err vgb_pg_need_write(vgb_pg *s, const char *what) VG_MUST_USE;

/* ---- results (binary) ---------------------------------------------------------- */
int64_t vgb_pg_r_i64(const PGresult *r, int row, int col);      /* int2/4/8, bool; NULL is 0 */
bool vgb_pg_r_bool(const PGresult *r, int row, int col);        /* NULL is false */
const char *vgb_pg_r_text(const PGresult *r, int row, int col); /* NULL is "" */
const uint8_t *vgb_pg_r_bytes(const PGresult *r, int row, int col, size_t *len); /* NULL: NULL, 0 */
/* Copies a 32-byte hash column; false when it is not 32 bytes. */
bool vgb_pg_r_hash(const PGresult *r, int row, int col, uint8_t out[VG_HASH_LEN]);
/* snprintf of a text column into out. */
void vgb_pg_r_copy(char *out, size_t len, const PGresult *r, int row, int col);

/* Logs a damaged row (store.damaged) and returns VG_ERR_MALFORMED. */
vg_err vgb_pg_damaged(vgb_pg *s, const char *what);

/* ---- the store.h operations, across store_pg*.c ------------------------------- */
vg_err vgb_pg_network_version(vgb_store *base, uint64_t *out);
vg_err vgb_pg_set_network_version(vgb_store *base, uint64_t version, vg_reason *why);
vg_err vgb_pg_add_network_document(vgb_store *base, uint64_t version, const uint8_t *bytes,
                                   size_t len, vg_reason *why);
vg_err vgb_pg_network_documents(vgb_store *base, vgb_netdoc_fn fn, void *ctx);
vg_err vgb_pg_find_alert(vgb_store *base, const uint8_t id[VG_ALERT_ID_LEN], vgb_alert_row *out);
vg_err vgb_pg_same_envelope(vgb_store *base, uint64_t seq, const uint8_t *bytes, size_t len,
                            bool *same);
vg_err vgb_pg_sequence_used(vgb_store *base, const char *sender, uint64_t seq, bool *used);
vg_err vgb_pg_insert_alert(vgb_store *base, const vg_envelope *env, int64_t accepted_ms,
                           const vgb_required *required, size_t n_required, uint64_t *seq_out,
                           vg_reason *why);
vg_err vgb_pg_find_alert_for(vgb_store *base, const uint8_t id[VG_ALERT_ID_LEN], const char *agency,
                             vgb_alert_row *out, bool *is_recipient);
vg_err vgb_pg_mark_delivered(vgb_store *base, uint64_t seq, const char *agency, int64_t ms,
                             bool *changed);
vg_err vgb_pg_insert_receipt(vgb_store *base, const vg_receipt *r, const uint64_t *seqs,
                             size_t n_seqs, int64_t received_ms);
vg_err vgb_pg_receipt_leaf(vgb_store *base, const uint8_t hash[VG_HASH_LEN], uint64_t leaf_idx,
                           bool *set);
vg_err vgb_pg_insert_rejection(vgb_store *base, int64_t ms, const char *agency,
                               const uint8_t *alert_id, const char *code, const char *reason);
vg_err vgb_pg_pending(vgb_store *base, const char *agency, int64_t now_ms, size_t limit,
                      vgb_pending_fn fn, void *ctx);
vg_err vgb_pg_park(vgb_store *base, uint64_t seq, const char *agency, int64_t now_ms,
                   int64_t first_ms, int64_t max_ms, int64_t *next_out);
vg_err vgb_pg_next_try(vgb_store *base, const char *agency, int64_t now_ms, int64_t *out);
vg_err vgb_pg_count_pending(vgb_store *base, const char *agency, uint64_t *out);
vg_err vgb_pg_envelope(vgb_store *base, uint64_t seq, uint8_t **out, size_t *out_len);
vg_err vgb_pg_sender_bytes(vgb_store *base, const char *sender, int64_t since_ms, int64_t period_ms,
                           vgb_bytes_per_fn fn, void *ctx);
vg_err vgb_pg_count_alerts(vgb_store *base, uint64_t *out);
vg_err vgb_pg_alert_meta(vgb_store *base, uint64_t seq, vgb_alert_meta *out);
vg_err vgb_pg_rrow(vgb_store *base, uint64_t seq, const char *agency, vgb_rrow *out);
vg_err vgb_pg_recipients_of(vgb_store *base, uint64_t seq, vgb_rrow_fn fn, void *ctx);
vg_err vgb_pg_open_rows(vgb_store *base, uint32_t max_level, int64_t after_ms, int64_t upto_ms,
                        int64_t limit, vgb_rrow_fn fn, void *ctx);
vg_err vgb_pg_apply_receipt(vgb_store *base, uint64_t seq, const char *agency, vgb_rstate state,
                            int64_t now_ms, const char *officer, const char *note,
                            const char *reason, int64_t deadline_ms);
vg_err vgb_pg_set_escalation(vgb_store *base, uint64_t seq, const char *agency, uint32_t level,
                             int64_t now_ms);
vg_err vgb_pg_add_recipient(vgb_store *base, uint64_t seq, const char *agency,
                            const char *shared_by, int64_t deadline_ms);
vg_err vgb_pg_insert_share(vgb_store *base, uint64_t seq, const char *sharer, const char *to,
                           const uint8_t hash[VG_HASH_LEN], const uint8_t *bytes, size_t len,
                           int64_t received_ms);
vg_err vgb_pg_shares_to(vgb_store *base, uint64_t seq, const char *to, vgb_bytes_fn fn, void *ctx);
vg_err vgb_pg_check_complete(vgb_store *base, uint64_t seq, int64_t ms, bool *now_complete);
vg_err vgb_pg_insert_events(vgb_store *base, const char *agency, const vgb_event_row *first,
                            const uint64_t *more, size_t n_more);
vg_err vgb_pg_last_event(vgb_store *base, const char *agency, uint64_t *out);
vg_err vgb_pg_events_after(vgb_store *base, const char *agency, uint64_t after, size_t limit,
                           vgb_event_fn fn, void *ctx);
vg_err vgb_pg_outstanding(vgb_store *base, const char *agency, uint64_t after_seq, size_t limit,
                          vgb_seq_fn fn, void *ctx);
vg_err vgb_pg_alert_leaves(vgb_store *base, uint64_t seq, vgb_index_fn fn, void *ctx);
vg_err vgb_pg_count_waiting(vgb_store *base, const char *agency, uint64_t limit, uint64_t *out);
vg_err vgb_pg_shift_times(vgb_store *base, int64_t delta_ms);
vg_err vgb_pg_audit_size(vgb_store *base, uint64_t *out);
vg_err vgb_pg_audit_node(vgb_store *base, unsigned level, uint64_t index, uint8_t out[VG_HASH_LEN]);
vg_err vgb_pg_audit_leaf(vgb_store *base, uint64_t index, uint8_t **out, size_t *out_len);
vg_err vgb_pg_audit_append(vgb_store *base, uint64_t index, const uint8_t *leaf, size_t len,
                           const uint8_t leaf_hash[VG_HASH_LEN], const unsigned *levels,
                           const uint64_t *nodes, const uint8_t (*hashes)[VG_HASH_LEN],
                           size_t n_nodes);
vg_err vgb_pg_audit_add_checkpoint(vgb_store *base, uint64_t size, const uint8_t root[VG_HASH_LEN],
                                   const char *note, size_t note_len, int64_t signed_ms);
vg_err vgb_pg_audit_latest_checkpoint(vgb_store *base, vgb_checkpoint_fn fn, void *ctx,
                                      bool *found);
vg_err vgb_pg_audit_checkpoints(vgb_store *base, vgb_checkpoint_fn fn, void *ctx);
vg_err vgb_pg_audit_checkpoint_at(vgb_store *base, uint64_t size, vgb_checkpoint_fn fn, void *ctx,
                                  bool *found);
vg_err vgb_pg_add_cosignature(vgb_store *base, uint64_t size, const char *agency, const char *line,
                              size_t line_len, int64_t time_s, int64_t received_ms, bool *added);
vg_err vgb_pg_cosignatures(vgb_store *base, uint64_t min_size, vgb_cosign_fn fn, void *ctx);
vg_err vgb_pg_audit_leaves(vgb_store *base, vgb_leaf_fn fn, void *ctx);
vg_err vgb_pg_audit_nodes_beyond(vgb_store *base, uint64_t size, bool *any);
vg_err vgb_pg_link_leaf(vgb_store *base, uint64_t seq, uint64_t idx);
vg_err vgb_pg_alert_ids(vgb_store *base, vgb_id_fn fn, void *ctx);
vg_err vgb_pg_add_link_tags(vgb_store *base, uint64_t seq, const uint8_t (*tags)[VG_HASH_LEN],
                            size_t n);
vg_err vgb_pg_linked_earlier(vgb_store *base, uint64_t seq, size_t limit, vgb_seq_fn fn, void *ctx);
vg_err vgb_pg_link_pairs(vgb_store *base, vgb_pair_fn fn, void *ctx);
vg_err vgb_pg_link_tags_of(vgb_store *base, uint64_t seq, vgb_tag_fn fn, void *ctx);
vg_err vgb_pg_tagged(vgb_store *base, const uint8_t (*tags)[VG_HASH_LEN], size_t n, size_t limit,
                     vgb_seq_fn fn, void *ctx);
vg_err vgb_pg_retain_candidates(vgb_store *base, int64_t before_ms, uint64_t after_seq,
                                size_t limit, vgb_retain_fn fn, void *ctx);
vg_err vgb_pg_retain_state(vgb_store *base, uint64_t seq, vgb_retain_row *out);
vg_err vgb_pg_purge(vgb_store *base, uint64_t seq, bool content, bool tags, int64_t now_ms);
vg_err vgb_pg_scrub(vgb_store *base, vg_reason *why);
vg_err vgb_pg_hold_add(vgb_store *base, const vgb_hold_row *h);
vg_err vgb_pg_hold_remove(vgb_store *base, const uint8_t id[VG_ALERT_ID_LEN], vgb_hold_fn fn,
                          void *ctx);
vg_err vgb_pg_holds(vgb_store *base, vgb_hold_fn fn, void *ctx);
vg_err vgb_pg_alert_by_id(vgb_store *base, const uint8_t id[VG_ALERT_ID_LEN], vgb_alert_meta *out,
                          uint8_t envelope_hash[VG_HASH_LEN], uint64_t *network_version);
vg_err vgb_pg_receipt_names(vgb_store *base, const uint8_t hash[VG_HASH_LEN], const char *agency,
                            uint64_t seq, bool *out);
vg_err vgb_pg_share_exists(vgb_store *base, uint64_t seq, const uint8_t hash[VG_HASH_LEN],
                           const char *sharer, bool *out);
vg_err vgb_pg_required_rows(vgb_store *base, int64_t since_ms, vgb_report_fn fn, void *ctx);
vg_err vgb_pg_count(vgb_store *base, vgb_count_what what, const char *filter, uint64_t *out);
vg_err vgb_pg_alerts_after(vgb_store *base, uint64_t after_seq, size_t limit, vgb_alert_full_fn fn,
                           void *ctx);
vg_err vgb_pg_receipts_of(vgb_store *base, uint64_t seq, vgb_receipt_row_fn fn, void *ctx);
vg_err vgb_pg_receipt_by_hash(vgb_store *base, const uint8_t hash[VG_HASH_LEN],
                              vgb_receipt_row_fn fn, void *ctx, bool *found);
vg_err vgb_pg_shares_of(vgb_store *base, uint64_t seq, vgb_share_row_fn fn, void *ctx);
vg_err vgb_pg_alert_leaf_links(vgb_store *base, uint64_t seq, vgb_link_fn fn, void *ctx);
vg_err vgb_pg_rejections_after(vgb_store *base, uint64_t after_id, size_t limit,
                               vgb_rejection_fn fn, void *ctx);
vg_err vgb_pg_event_runs(vgb_store *base, const char *agency, uint64_t after, size_t limit,
                         vgb_event_run_fn fn, void *ctx);

/* ---- leadership (store.h; store_pg_lease.c) ----------------------------------- */
vg_err vgb_pg_lead_try(vgb_store *base, const vgb_lead_params *p, vgb_lead_state *out,
                       vg_reason *why);
vg_err vgb_pg_lead_check(vgb_store *base, vg_reason *why);
void vgb_pg_lead_release(vgb_store *base);
int vgb_pg_lead_fd(vgb_store *base);
bool vgb_pg_lead_woken(vgb_store *base);
vg_err vgb_pg_audit_durable(vgb_store *base, uint64_t *out);
vg_err vgb_pg_set_audit_durable(vgb_store *base, uint64_t size);
/* The connection was replaced: a lock it held is gone (store_pg.c calls it). */
void vgb_pg_lead_lost(vgb_pg *s, const char *detail);

/* ---- inside the back end: shared by store_pg.c (connecting, transactions)
 * and store_pg_pipe.c (the pipeline, failures); each has the contract of
 * the comment at its definition. */
bool vgb_pg_send(vgb_pg *s, int q, const char *sql, const vgb_pg_params *p);
PGresult *vgb_pg_next(vgb_pg *s);
bool vgb_pg_ok(const PGresult *r);
void vgb_pg_keep(vgb_pg *s, const vgb_pg_queued *item, const PGresult *r);
PGresult *vgb_pg_collect(vgb_pg *s, bool own, const char *what, vg_err *err);
void vgb_pg_probe(vgb_pg *s);
vg_err vgb_pg_usable(vgb_pg *s, vg_reason *why);
void vgb_pg_settle(vgb_pg *s);
void vgb_pg_await(vgb_pg *s);
vg_err vgb_pg_enqueue(vgb_pg *s, int q, const char *sql, vgb_pg_params *p, const char *what,
                      vgb_pg_want want);
vg_err vgb_pg_command(vgb_pg *s, const char *sql, const char *what, PGresult **out);
vg_err vgb_pg_fail(vgb_pg *s, const PGresult *r, const char *what);
void vgb_pg_txn_fail(vgb_pg *s, vg_err err, const char *what, const char *msg);
bool vgb_pg_conn_ok(const vgb_pg *s);
vg_err vgb_pg_reconnect(vgb_pg *s, vg_reason *why);
void vgb_pg_clean(char *out, size_t len, const char *msg);
void vgb_pg_on_notice(void *arg, const PGresult *r);

#endif
