/*
 * broker/audit.h — the broker's tamper-evident audit log: an RFC 6962 Merkle
 * log of audit leaves (vigil/audit_leaf.h) kept in the store (store.h, "the
 * audit log's storage"), its signed checkpoints (vigil/checkpoint.h),
 * proofs, and offline verify.
 *
 * The store keeps every leaf with its leaf hash, every complete subtree of
 * 2^level leaves (level >= 1) and every signed checkpoint. An append stores
 * the leaf and the complete subtrees that end at it (O(log n) rows,
 * amortised 2), all or none, so roots and proofs take O(log n) lookups and
 * nothing is ever rehashed from the leaves except by vgb_audit_verify.
 *
 * Owns a cached compact range. Borrows the store and the keyset, which must
 * outlive it. Never begins, commits or rolls back: it runs inside the
 * store's batch transaction, so a leaf commits with the state it describes;
 * an append outside a transaction is refused. The cached range is trusted
 * only while its size equals the stored size (checked on every call), so a
 * rolled-back batch costs one reload. Never stores alert content (leaves
 * hold none).
 *
 * Thread rules: single-threaded, one owner (the broker loop), like the store.
 */
#ifndef VIGIL_BROKER_AUDIT_H
#define VIGIL_BROKER_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/audit_leaf.h"
#include "vigil/checkpoint.h"
#include "vigil/err.h"
#include "vigil/keys.h"
#include "vigil/merkle.h"
#include "vigil/netdoc.h"
#include "store.h"

typedef struct vgb_audit vgb_audit;

/* The log over an open store. origin is the network name (copied): the
 * checkpoints' origin and key name. keys (borrowed) hold VG_KEY_SIGN, the
 * broker's key that the network document lists as broker_sign_key; NULL
 * for a log that is only read (proofs, leaves: no checkpoint can be signed).
 * Free with vgb_audit_destroy, before the store is closed. */
vg_err vgb_audit_open(vgb_audit **out, vgb_store *store, const char *origin, const vg_keyset *keys,
                      vg_reason *why) VG_MUST_USE;

/* NULL-safe; sets *audit_p = NULL. */
void vgb_audit_destroy(vgb_audit **audit_p);

/* Appends ev as the next leaf (ev->index is ignored: the leaf gets the next
 * index, written into the leaf) with its complete-subtree hashes. Must run
 * inside a transaction (VG_ERR_INTERNAL otherwise). *index_out (may be NULL)
 * is the leaf's index. VG_ERR_INVALID for an event the encoder refuses;
 * VG_ERR_IO / VG_ERR_STORAGE_FULL from SQLite; VG_ERR_MALFORMED when stored
 * subtree hashes are missing (a damaged store: run vgb_audit_verify). */
vg_err vgb_audit_append(vgb_audit *a, const vg_audit_event *ev, uint64_t *index_out,
                        vg_reason *why) VG_MUST_USE;

/* The current tree size (no hashing: for the many callers that need no root). */
vg_err vgb_audit_size(vgb_audit *a, uint64_t *size_out, vg_reason *why) VG_MUST_USE;

/* The current tree size and root (the empty root for size 0). */
vg_err vgb_audit_head(vgb_audit *a, uint64_t *size_out, uint8_t root_out[VG_MERKLE_HASH_LEN],
                      vg_reason *why) VG_MUST_USE;

/* The root of the first `size` leaves (size <= current size, else
 * VG_ERR_NOT_FOUND), from O(log n) stored hashes. */
vg_err vgb_audit_root_at(vgb_audit *a, uint64_t size, uint8_t out[VG_MERKLE_HASH_LEN],
                         vg_reason *why) VG_MUST_USE;

/* The stored bytes of leaf `index`; *out is malloc'ed, free() it.
 * VG_ERR_NOT_FOUND past the end. */
vg_err vgb_audit_leaf(vgb_audit *a, uint64_t index, uint8_t **out, size_t *out_len,
                      vg_reason *why) VG_MUST_USE;

/* Signs a checkpoint of the current tree with the broker key and stores it
 * with signed_ms. Before signing it checks that the stored tree still has
 * the root of the latest stored checkpoint (VG_ERR_CONFLICT otherwise: the
 * log never signs a history that contradicts what it signed before).
 * VG_ERR_DUPLICATE (harmless) when the latest checkpoint already has the
 * current size. *out (may be NULL) receives the checkpoint; free it with
 * vg_checkpoint_destroy. Call inside the transaction; send the note only
 * after the commit. */
vg_err vgb_audit_checkpoint_sign(vgb_audit *a, int64_t signed_ms, vg_checkpoint **out,
                                 vg_reason *why) VG_MUST_USE;

/* The latest stored checkpoint: its note (malloc'ed, NUL-terminated, free()
 * it), size and signing time. VG_ERR_NOT_FOUND when none was signed. Any of
 * the outputs may be NULL. */
vg_err vgb_audit_checkpoint_latest(vgb_audit *a, char **note, size_t *note_len, uint64_t *size,
                                   int64_t *signed_ms, vg_reason *why) VG_MUST_USE;

/* The inclusion proof of leaf `index` in the tree of `size` leaves, from
 * O(log n) stored hashes. VG_ERR_INVALID when index >= size;
 * VG_ERR_NOT_FOUND when size is over the current size. */
vg_err vgb_audit_inclusion_proof(vgb_audit *a, uint64_t index, uint64_t size,
                                 vg_merkle_hash out[VG_MERKLE_PROOF_MAX], size_t *n_out,
                                 vg_reason *why) VG_MUST_USE;

/* The consistency proof from old_size to new_size. VG_ERR_INVALID when
 * old_size > new_size; VG_ERR_NOT_FOUND when new_size is over the current
 * size. */
vg_err vgb_audit_consistency_proof(vgb_audit *a, uint64_t old_size, uint64_t new_size,
                                   vg_merkle_hash out[VG_MERKLE_PROOF_MAX], size_t *n_out,
                                   vg_reason *why) VG_MUST_USE;

/* ---- offline verification (vigilctl audit verify) -------------------------- */

/* What vgb_audit_verify found first. Stable values. */
typedef enum vgb_audit_fault {
    VGB_AUDIT_FAULT_NONE = 0,        /* everything verified */
    VGB_AUDIT_FAULT_DELETED = 1,     /* a leaf index is missing (rows after it remain) */
    VGB_AUDIT_FAULT_ALTERED = 2,     /* leaf bytes do not match their stored leaf hash */
    VGB_AUDIT_FAULT_MALFORMED = 3,   /* a leaf does not parse as an audit leaf */
    VGB_AUDIT_FAULT_REORDERED = 4,   /* a leaf names another index: moved or renumbered */
    VGB_AUDIT_FAULT_SUBTREE = 5,     /* a stored subtree hash differs from the leaves */
    VGB_AUDIT_FAULT_ROOT = 6,        /* the leaves do not give a checkpoint's root */
    VGB_AUDIT_FAULT_TRUNCATED = 7,   /* checkpoints or subtrees cover leaves that are gone */
    VGB_AUDIT_FAULT_CHECKPOINT = 8,  /* a checkpoint does not verify or contradicts its row */
    VGB_AUDIT_FAULT_STATE = 9,       /* a leaf and the rows it describes disagree */
    VGB_AUDIT_FAULT_COSIGNATURE = 10 /* a stored cosignature does not verify */
} vgb_audit_fault;

#define VGB_AUDIT_NO_INDEX UINT64_MAX

#define VGB_AUDIT_ROW_MAX 192 /* a row's description in a report */

typedef struct vgb_audit_report {
    uint64_t n_leaves;           /* leaves read (up to the fault) */
    uint64_t n_checkpoints;      /* checkpoints checked (stored and given) */
    vgb_audit_fault fault;       /* the first fault, or NONE */
    uint64_t first_bad_index;    /* the leaf: the first leaf index that is not as signed (a
                                    lower bound for SUBTREE and ROOT: the leaves after the
                                    last verified checkpoint), or the leaf that records the
                                    row at fault; VGB_AUDIT_NO_INDEX if none */
    uint64_t checkpoint_size;    /* the checkpoint involved, or 0 */
    bool has_checkpoint;         /* checkpoint_size names one (it may be 0) */
    const char *table;           /* the table the fault is in (a static name), or NULL */
    char row[VGB_AUDIT_ROW_MAX]; /* which row: "alert=ID agency=X", "id=7" ("" if none) */
    char detail[VG_REASON_MAX];  /* what was wrong, for people */
    uint64_t n_purged;           /* vgb_audit_check_state: alerts whose content was purged
                                    (their leaves and hashes verified in its stead) */
    uint64_t n_held;             /* ... alerts under a legal hold */
} vgb_audit_report;

typedef struct vgb_audit_verify_params {
    const char *origin;       /* expected origin: the network name */
    const uint8_t *broker_pk; /* VG_SIGN_PK_LEN: the network document's broker_sign_key */
    const vg_netdoc *doc;     /* may be NULL; else checkpoints also verify with the
                                 broker's previous sign keys it lists (a rotated log) */
    const char *const *notes; /* checkpoints held elsewhere (agencies), may be NULL */
    const size_t *note_lens;  /* their lengths */
    size_t n_notes;           /* how many */
} vgb_audit_verify_params;

/* Recomputes every leaf hash and the whole tree from the stored leaves, in
 * index order, and checks: no index missing; each leaf's bytes against its
 * stored hash; each leaf parses and names its own index; every stored
 * subtree hash; every stored checkpoint's signature, its row against its
 * note and its root against the recomputed tree; the given checkpoints
 * likewise; that nothing covers leaves past the last one; and that a stored
 * checkpoint covers the last leaf of a kind the broker signs one for in the
 * leaf's own batch (acknowledged, in_progress, declined, unopenable,
 * overdue, escalated, rejected, network_changed, reassigned), so deleting
 * the newest checkpoint shows. Read-only: it
 * writes nothing (open the store with vgb_store_open_readonly, inside a
 * read transaction for one consistent state). Stops at the first fault.
 * Linear in the log: one pass over the leaves, one lookup per stored
 * subtree, the checkpoints held in memory.
 * VG_OK with report->fault NONE when all verified; VG_ERR_CONFLICT with the
 * report (and why) naming the fault; VG_ERR_IO and the like when the store
 * cannot be read. */
vg_err vgb_audit_verify(vgb_store *store, const vgb_audit_verify_params *p,
                        vgb_audit_report *report, vg_reason *why) VG_MUST_USE;

/* A row time the broker read from its own clock, apart from its leaf's
 * time (the two reads are microseconds apart in one handler): verify
 * accepts it within this much of the leaf's time, either way. */
#define VGB_AUDIT_CLOCK_SLACK_MS 5000

typedef struct vgb_audit_state_params {
    const uint8_t *admin_pk;  /* VG_SIGN_PK_LEN: the administrator's key, which must verify
                                 every stored network document */
    bool signatures;          /* also verify every stored envelope, receipt and share
                                 signature (about 50 us each); without it their signed
                                 bodies are checked against the hashes in the leaves */
    uint64_t current_version; /* the document the broker is served (broker.conf's), or 0:
                                 a crash between raising meta's network_version and storing
                                 that document leaves meta ahead of the documents by it */
} vgb_audit_state_params;

/* After vgb_audit_verify passed: every row of the store against the leaves
 * that record it, both ways (docs/audit.md, "What verify checks" lists it
 * table by table): the network documents and meta; per alert (seq order)
 * its alerts row against its accepted leaf and its signed envelope, its
 * leaves found through the alert -> leaf index (each must name it), its
 * receipts and their items, its shares, and its recipients rows against
 * the state its leaves replay to; then every leaf in order: the alert it
 * names exists and links to it, each rejected leaf against the next
 * rejections row, each network_changed leaf against its document, and the
 * events each fact wrote against every agency's stream (contiguous from 1);
 * then the tables' row counts (rows no leaf records). Read-only. Linear in
 * the store: one pass per table in key order with indexed lookups; memory
 * is bounded (a cache of 4096 alerts' state, a slice of each stream).
 * Stops at the first fault. VG_OK; VG_ERR_CONFLICT with report (fault
 * VGB_AUDIT_FAULT_STATE, its table, row and leaf, or VGB_AUDIT_NO_INDEX)
 * and why; VG_ERR_INVALID for missing parameters; a read error. */
vg_err vgb_audit_check_state(vgb_store *store, const vgb_audit_state_params *p,
                             vgb_audit_report *report, vg_reason *why) VG_MUST_USE;

/* ---- witness cosignatures (docs/audit.md "Cosignatures") ------------------- */

/* What vgb_audit_check_cosignatures found besides a fault. */
typedef struct vgb_cosign_summary {
    uint64_t n_checked;   /* stored cosignatures verified */
    bool has_latest;      /* the store holds a checkpoint */
    uint64_t latest_size; /* the latest one's size */
    vg_strlist latest;    /* the agencies that cosigned it, in name order */
} vgb_cosign_summary;

/* Frees the list; NULL-safe. */
void vgb_cosign_summary_fini(vgb_cosign_summary *s);

/* After vgb_audit_verify passed: every stored cosignature (store_witness.h)
 * verifies, as the network document doc knows its agency (its current or a
 * previous signing key, not compromised at the time it carries), over the
 * stored checkpoint of its size; its row's agency and time are the line's.
 * Fills *out (vgb_cosign_summary_fini it) with the count and who cosigned
 * the latest checkpoint. Read-only; one indexed lookup per checkpoint
 * cosigned. VG_OK; VG_ERR_CONFLICT with report (fault
 * VGB_AUDIT_FAULT_COSIGNATURE, table "cosignatures", row "checkpoint=SIZE
 * agency=ID") and why at the first that does not; a read error. */
vg_err vgb_audit_check_cosignatures(vgb_store *store, const vg_netdoc *doc, vgb_cosign_summary *out,
                                    vgb_audit_report *report, vg_reason *why) VG_MUST_USE;

#endif
