/*
 * vigil/merkle.h — RFC 6962 Merkle tree hashing with SHA-256: roots, proof
 * generation and proof verification, and the append-only compact range.
 *
 * Hashing (RFC 6962 §2.1, RFC 9162 §2.1.1): the empty tree's root is
 * SHA-256(""); a leaf hash is SHA-256(0x00 || leaf); an interior node is
 * SHA-256(0x01 || left || right); a tree of n > 1 leaves splits at k, the
 * largest power of two smaller than n. Verification follows RFC 9162
 * §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) step by step.
 *
 * Proofs are generated from an abstract source of subtree hashes
 * (vg_merkle_subtree_fn), so a store that keeps the hash of every complete
 * subtree serves a proof with O(log n) lookups (vg_merkle_subtree_from_nodes
 * turns such a node store into a subtree source). A vg_merkle_range is the
 * compact range [0, size): one hash per set bit of size. Appending a leaf
 * costs O(log n) hashes and reports the complete subtrees that end at the
 * new leaf, which is what such a store must keep.
 *
 * Owns nothing: every function works on caller memory. Never allocates.
 * Proof verification takes hostile input (a proof from the network) and
 * never trusts its length. Thread rules: none (no shared state).
 */
#ifndef VIGIL_LIB_MERKLE_H
#define VIGIL_LIB_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

#define VG_MERKLE_HASH_LEN 32
/* Levels of a tree of up to VG_MERKLE_SIZE_MAX leaves, and so the most
 * hashes a proof or a compact range may hold. */
#define VG_MERKLE_LEVELS_MAX 64
#define VG_MERKLE_PROOF_MAX 64
#define VG_MERKLE_SIZE_MAX (UINT64_C(1) << 62) /* largest tree size accepted */

/* One proof: up to VG_MERKLE_PROOF_MAX hashes, leaf (or old tree) first. */
typedef uint8_t vg_merkle_hash[VG_MERKLE_HASH_LEN];

/* SHA-256(0x00 || leaf). */
void vg_merkle_leaf_hash(uint8_t out[VG_MERKLE_HASH_LEN], const uint8_t *leaf, size_t len);

/* SHA-256(0x01 || left || right). */
void vg_merkle_node_hash(uint8_t out[VG_MERKLE_HASH_LEN], const uint8_t left[VG_MERKLE_HASH_LEN],
                         const uint8_t right[VG_MERKLE_HASH_LEN]);

/* SHA-256(""): the root of the empty tree. */
void vg_merkle_empty_root(uint8_t out[VG_MERKLE_HASH_LEN]);

/* MTH of n leaves given by their leaf hashes (n may be 0). O(n) time,
 * O(log n) memory. */
void vg_merkle_root(uint8_t out[VG_MERKLE_HASH_LEN], const vg_merkle_hash *leaf_hashes, size_t n);

/* ---- proof generation ---------------------------------------------------- */

/* A source of subtree hashes: writes MTH(leaves[start, end)) into out
 * (start < end). Proof generation only asks for ranges that are subtrees of
 * the RFC 6962 tree of the requested size: start is a multiple of the largest
 * power of two not above end - start. Returns VG_OK or the error to pass on. */
typedef vg_err (*vg_merkle_subtree_fn)(void *ctx, uint64_t start, uint64_t end,
                                       uint8_t out[VG_MERKLE_HASH_LEN]);

/* The audit path of leaf `index` in the tree of `size` leaves (RFC 6962
 * PATH), leaf side first, into out; *n_out hashes. VG_ERR_INVALID when
 * index >= size or size > VG_MERKLE_SIZE_MAX; fn's error otherwise. O(log n)
 * calls to fn. out and *n_out are written only on success. */
vg_err vg_merkle_inclusion_proof(vg_merkle_hash out[VG_MERKLE_PROOF_MAX], size_t *n_out,
                                 uint64_t index, uint64_t size, vg_merkle_subtree_fn fn,
                                 void *ctx) VG_MUST_USE;

/* The consistency proof from old_size to new_size (RFC 6962 PROOF), into
 * out; *n_out hashes (0 when old_size is 0 or equals new_size).
 * VG_ERR_INVALID when old_size > new_size or new_size > VG_MERKLE_SIZE_MAX. */
vg_err vg_merkle_consistency_proof(vg_merkle_hash out[VG_MERKLE_PROOF_MAX], size_t *n_out,
                                   uint64_t old_size, uint64_t new_size, vg_merkle_subtree_fn fn,
                                   void *ctx) VG_MUST_USE;

/* A store of complete subtrees: writes the hash of the subtree of 2^level
 * leaves that starts at leaf index << level (level 0: a leaf hash). */
typedef vg_err (*vg_merkle_node_fn)(void *ctx, unsigned level, uint64_t index,
                                    uint8_t out[VG_MERKLE_HASH_LEN]);

/* MTH(leaves[start, end)) from stored complete subtrees: the binary
 * decomposition of end - start, largest first, folded from the right. At
 * most VG_MERKLE_LEVELS_MAX calls to fn. VG_ERR_INVALID when start >= end or
 * start is not a multiple of the largest power of two not above end - start
 * (such a range is not a subtree of any tree). */
vg_err vg_merkle_subtree_from_nodes(uint8_t out[VG_MERKLE_HASH_LEN], uint64_t start, uint64_t end,
                                    vg_merkle_node_fn fn, void *ctx) VG_MUST_USE;

/* ---- proof verification (hostile input) ----------------------------------- */

/* RFC 9162 §2.1.3.2: checks that leaf_hash is leaf `index` of the tree of
 * `size` leaves whose root is `root`. VG_OK; VG_ERR_MALFORMED when index >=
 * size or the proof has the wrong number of hashes for (index, size);
 * VG_ERR_CONFLICT when the path does not lead to root. why says which. */
vg_err vg_merkle_verify_inclusion(const uint8_t leaf_hash[VG_MERKLE_HASH_LEN], uint64_t index,
                                  uint64_t size, const vg_merkle_hash *proof, size_t n_proof,
                                  const uint8_t root[VG_MERKLE_HASH_LEN],
                                  vg_reason *why) VG_MUST_USE;

/* RFC 9162 §2.1.4.2: checks that the tree of new_size leaves with root
 * new_root extends the tree of old_size leaves with root old_root.
 * old_size == new_size: the proof must be empty and the roots equal.
 * old_size == 0: the proof must be empty and old_root the empty root.
 * VG_OK; VG_ERR_MALFORMED for old_size > new_size or a proof of the wrong
 * length; VG_ERR_CONFLICT when the proof does not reproduce both roots (the
 * histories differ: someone rewrote the log). */
vg_err vg_merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
                                    const vg_merkle_hash *proof, size_t n_proof,
                                    const uint8_t old_root[VG_MERKLE_HASH_LEN],
                                    const uint8_t new_root[VG_MERKLE_HASH_LEN],
                                    vg_reason *why) VG_MUST_USE;

/* ---- the compact range: appends in O(log n) ------------------------------- */

/* The compact range of leaves [0, size): peaks[k] is the hash of the complete
 * subtree of 2^k leaves covered by bit k of size (only set bits are valid).
 * Callers embed it; vg_merkle_range_init or _load fill it. */
typedef struct vg_merkle_range {
    uint64_t size;                              /* leaves covered */
    vg_merkle_hash peaks[VG_MERKLE_LEVELS_MAX]; /* by level; valid where size has bit k */
} vg_merkle_range;

/* A complete subtree: 2^level leaves starting at leaf index << level. */
typedef struct vg_merkle_node {
    unsigned level;                   /* 0 = a leaf */
    uint64_t index;                   /* position within its level */
    uint8_t hash[VG_MERKLE_HASH_LEN]; /* MTH of its leaves */
} vg_merkle_node;

/* The empty range. */
void vg_merkle_range_init(vg_merkle_range *r);

/* Appends leaf_hash as leaf r->size. When out is not NULL it receives the
 * complete subtrees that end at the new leaf, level 0 (the leaf) first:
 * 1 + (number of trailing one bits of the old size) of them, at most
 * VG_MERKLE_LEVELS_MAX; *n_out says how many. VG_ERR_TOO_LARGE when the
 * range already holds VG_MERKLE_SIZE_MAX leaves (r unchanged). */
vg_err vg_merkle_range_append(vg_merkle_range *r, const uint8_t leaf_hash[VG_MERKLE_HASH_LEN],
                              vg_merkle_node *out, size_t *n_out) VG_MUST_USE;

/* The root of the leaves [0, r->size) (the empty root for size 0). */
void vg_merkle_range_root(const vg_merkle_range *r, uint8_t out[VG_MERKLE_HASH_LEN]);

/* Rebuilds the range of `size` leaves from stored complete subtrees: one
 * call to fn per set bit of size. r is written only on success;
 * VG_ERR_INVALID for size > VG_MERKLE_SIZE_MAX, fn's error otherwise. */
vg_err vg_merkle_range_load(vg_merkle_range *r, uint64_t size, vg_merkle_node_fn fn,
                            void *ctx) VG_MUST_USE;

#endif
