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
    VGB_AUDIT_FAULT_NONE = 0,       /* everything verified */
    VGB_AUDIT_FAULT_DELETED = 1,    /* a leaf index is missing (rows after it remain) */
    VGB_AUDIT_FAULT_ALTERED = 2,    /* leaf bytes do not match their stored leaf hash */
    VGB_AUDIT_FAULT_MALFORMED = 3,  /* a leaf does not parse as an audit leaf */
    VGB_AUDIT_FAULT_REORDERED = 4,  /* a leaf names another index: moved or renumbered */
    VGB_AUDIT_FAULT_SUBTREE = 5,    /* a stored subtree hash differs from the leaves */
    VGB_AUDIT_FAULT_ROOT = 6,       /* the leaves do not give a checkpoint's root */
    VGB_AUDIT_FAULT_TRUNCATED = 7,  /* checkpoints or subtrees cover leaves that are gone */
    VGB_AUDIT_FAULT_CHECKPOINT = 8, /* a checkpoint does not verify or contradicts its row */
    VGB_AUDIT_FAULT_STATE = 9       /* a leaf and the rows it describes disagree */
} vgb_audit_fault;

#define VGB_AUDIT_NO_INDEX UINT64_MAX

typedef struct vgb_audit_report {
    uint64_t n_leaves;          /* leaves read (up to the fault) */
    uint64_t n_checkpoints;     /* checkpoints checked (stored and given) */
    vgb_audit_fault fault;      /* the first fault, or NONE */
    uint64_t first_bad_index;   /* the first leaf index that is not as signed (a lower
                                   bound for SUBTREE and ROOT: the leaves after the last
                                   verified checkpoint); VGB_AUDIT_NO_INDEX if none */
    uint64_t checkpoint_size;   /* the checkpoint involved, or 0 */
    char detail[VG_REASON_MAX]; /* what was wrong, for people */
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
 * likewise; and that nothing covers leaves past the last one. Read-only: it
 * writes nothing (open the store with vgb_store_open_readonly, inside a
 * read transaction for one consistent state). Stops at the first fault.
 * Linear in the log: one pass over the leaves, one lookup per stored
 * subtree, the checkpoints held in memory.
 * VG_OK with report->fault NONE when all verified; VG_ERR_CONFLICT with the
 * report (and why) naming the fault; VG_ERR_IO and the like when the store
 * cannot be read. */
vg_err vgb_audit_verify(vgb_store *store, const vgb_audit_verify_params *p,
                        vgb_audit_report *report, vg_reason *why) VG_MUST_USE;

/* After vgb_audit_verify passed: every leaf against the state rows it
 * describes (accepted: the alerts row with its sender, envelope hash and
 * version, and a recipients row per listed recipient; delivered: the receipt
 * naming each alert and the delivery recorded; acknowledged, in_progress,
 * declined, unopenable: the receipt by that agency naming the alert; shared:
 * the share row by that sharer), then every alerts row against its accepted
 * leaf. VG_OK; VG_ERR_CONFLICT with report (fault VGB_AUDIT_FAULT_STATE, the
 * leaf's index or VGB_AUDIT_NO_INDEX, detail) and why; a read error. */
vg_err vgb_audit_check_state(vgb_store *store, vgb_audit_report *report,
                             vg_reason *why) VG_MUST_USE;

#endif
