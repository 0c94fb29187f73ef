/* merkle.c — RFC 6962 Merkle trees with SHA-256 (see merkle.h). */
#include "vigil/merkle.h"

#include <stdbool.h>
#include <string.h>

#include <sodium.h>

#define S_LEAF_PREFIX 0x00
#define S_NODE_PREFIX 0x01

void
vg_merkle_leaf_hash(uint8_t out[VG_MERKLE_HASH_LEN], const uint8_t *leaf, size_t len)
{
    static const uint8_t prefix = S_LEAF_PREFIX;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &prefix, 1);
    if (len > 0) {
        crypto_hash_sha256_update(&st, leaf, len);
    }
    crypto_hash_sha256_final(&st, out);
}

void
vg_merkle_node_hash(uint8_t out[VG_MERKLE_HASH_LEN], const uint8_t left[VG_MERKLE_HASH_LEN],
                    const uint8_t right[VG_MERKLE_HASH_LEN])
{
    uint8_t buf[1 + 2 * VG_MERKLE_HASH_LEN];
    buf[0] = S_NODE_PREFIX;
    memcpy(buf + 1, left, VG_MERKLE_HASH_LEN);
    memcpy(buf + 1 + VG_MERKLE_HASH_LEN, right, VG_MERKLE_HASH_LEN);
    crypto_hash_sha256(out, buf, sizeof buf);
}

void
vg_merkle_empty_root(uint8_t out[VG_MERKLE_HASH_LEN])
{
    crypto_hash_sha256(out, NULL, 0);
}

/* The largest power of two smaller than n (n >= 2): RFC 6962's split. */
static uint64_t
s_split(uint64_t n)
{
    return UINT64_C(1) << (63 - __builtin_clzll(n - 1));
}

/* The largest power of two not above n (n >= 1). */
static uint64_t
s_floor_pow2(uint64_t n)
{
    return UINT64_C(1) << (63 - __builtin_clzll(n));
}

/* Reverses n hashes in place: generation walks root to leaf, proofs list
 * leaf to root. */
static void
s_reverse(vg_merkle_hash *h, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        vg_merkle_hash t;
        memcpy(t, h[i], sizeof t);
        memcpy(h[i], h[n - 1 - i], sizeof t);
        memcpy(h[n - 1 - i], t, sizeof t);
    }
}

/* ---- the compact range ------------------------------------------------------ */

void
vg_merkle_range_init(vg_merkle_range *r)
{
    memset(r, 0, sizeof *r);
}

/* Appends without the size check; returns how many nodes it reported. */
static size_t
s_range_push(vg_merkle_range *r, const uint8_t leaf_hash[VG_MERKLE_HASH_LEN], vg_merkle_node *out)
{
    uint64_t index = r->size;
    uint8_t h[VG_MERKLE_HASH_LEN];
    memcpy(h, leaf_hash, sizeof h);
    unsigned level = 0;
    size_t n = 0;
    for (;;) {
        if (out != NULL) {
            out[n] = (vg_merkle_node){.level = level, .index = index >> level};
            memcpy(out[n].hash, h, sizeof h);
        }
        n++;
        if ((r->size & (UINT64_C(1) << level)) == 0) {
            break;
        }
        /* Bit `level` set: the peak there is this subtree's left sibling. */
        vg_merkle_node_hash(h, r->peaks[level], h);
        level++;
    }
    memcpy(r->peaks[level], h, sizeof h);
    r->size++;
    return n;
}

vg_err
vg_merkle_range_append(vg_merkle_range *r, const uint8_t leaf_hash[VG_MERKLE_HASH_LEN],
                       vg_merkle_node *out, size_t *n_out)
{
    if (r->size >= VG_MERKLE_SIZE_MAX) {
        return VG_ERR_TOO_LARGE;
    }
    size_t n = s_range_push(r, leaf_hash, out);
    if (n_out != NULL) {
        *n_out = n;
    }
    return VG_OK;
}

void
vg_merkle_range_root(const vg_merkle_range *r, uint8_t out[VG_MERKLE_HASH_LEN])
{
    if (r->size == 0) {
        vg_merkle_empty_root(out);
        return;
    }
    /* Fold the peaks from the smallest (rightmost) to the largest. */
    unsigned level = (unsigned)__builtin_ctzll(r->size);
    uint8_t acc[VG_MERKLE_HASH_LEN];
    memcpy(acc, r->peaks[level], sizeof acc);
    for (level++; level < VG_MERKLE_LEVELS_MAX; level++) {
        if (r->size & (UINT64_C(1) << level)) {
            vg_merkle_node_hash(acc, r->peaks[level], acc);
        }
    }
    memcpy(out, acc, sizeof acc);
}

vg_err
vg_merkle_range_load(vg_merkle_range *r, uint64_t size, vg_merkle_node_fn fn, void *ctx)
{
    if (size > VG_MERKLE_SIZE_MAX) {
        return VG_ERR_INVALID;
    }
    vg_merkle_range tmp;
    vg_merkle_range_init(&tmp);
    tmp.size = size;
    for (unsigned level = 0; level < VG_MERKLE_LEVELS_MAX; level++) {
        if (size & (UINT64_C(1) << level)) {
            vg_err rc = fn(ctx, level, (size >> level) - 1, tmp.peaks[level]);
            if (rc != VG_OK) {
                return rc;
            }
        }
    }
    *r = tmp;
    return VG_OK;
}

void
vg_merkle_root(uint8_t out[VG_MERKLE_HASH_LEN], const vg_merkle_hash *leaf_hashes, size_t n)
{
    vg_merkle_range r;
    vg_merkle_range_init(&r);
    for (size_t i = 0; i < n; i++) {
        /* An array in memory is far below VG_MERKLE_SIZE_MAX. */
        s_range_push(&r, leaf_hashes[i], NULL);
    }
    vg_merkle_range_root(&r, out);
}

/* ---- proof generation ---------------------------------------------------- */

vg_err
vg_merkle_subtree_from_nodes(uint8_t out[VG_MERKLE_HASH_LEN], uint64_t start, uint64_t end,
                             vg_merkle_node_fn fn, void *ctx)
{
    if (start >= end || end > VG_MERKLE_SIZE_MAX) {
        return VG_ERR_INVALID;
    }
    uint64_t len = end - start;
    if (start % s_floor_pow2(len) != 0) {
        return VG_ERR_INVALID;
    }
    vg_merkle_hash parts[VG_MERKLE_LEVELS_MAX];
    size_t n = 0;
    uint64_t off = start;
    for (int level = 63; level >= 0; level--) {
        uint64_t w = UINT64_C(1) << level;
        if (len & w) {
            vg_err rc = fn(ctx, (unsigned)level, off >> level, parts[n]);
            if (rc != VG_OK) {
                return rc;
            }
            n++;
            off += w;
        }
    }
    uint8_t acc[VG_MERKLE_HASH_LEN];
    memcpy(acc, parts[n - 1], sizeof acc);
    for (size_t i = n - 1; i-- > 0;) {
        vg_merkle_node_hash(acc, parts[i], acc);
    }
    memcpy(out, acc, sizeof acc);
    return VG_OK;
}

vg_err
vg_merkle_inclusion_proof(vg_merkle_hash out[VG_MERKLE_PROOF_MAX], size_t *n_out, uint64_t index,
                          uint64_t size, vg_merkle_subtree_fn fn, void *ctx)
{
    if (index >= size || size > VG_MERKLE_SIZE_MAX) {
        return VG_ERR_INVALID;
    }
    vg_merkle_hash tmp[VG_MERKLE_PROOF_MAX];
    size_t n = 0;
    uint64_t start = 0;
    uint64_t end = size;
    /* PATH(m, D[start:end]) recursion unrolled: the sibling of each split,
     * root side first. */
    while (end - start > 1) {
        uint64_t k = s_split(end - start);
        vg_err rc;
        if (index - start < k) {
            rc = fn(ctx, start + k, end, tmp[n]);
            end = start + k;
        } else {
            rc = fn(ctx, start, start + k, tmp[n]);
            start += k;
        }
        if (rc != VG_OK) {
            return rc;
        }
        n++;
    }
    s_reverse(tmp, n);
    memcpy(out, tmp, n * sizeof tmp[0]);
    *n_out = n;
    return VG_OK;
}

vg_err
vg_merkle_consistency_proof(vg_merkle_hash out[VG_MERKLE_PROOF_MAX], size_t *n_out,
                            uint64_t old_size, uint64_t new_size, vg_merkle_subtree_fn fn,
                            void *ctx)
{
    if (old_size > new_size || new_size > VG_MERKLE_SIZE_MAX) {
        return VG_ERR_INVALID;
    }
    vg_merkle_hash tmp[VG_MERKLE_PROOF_MAX];
    size_t n = 0;
    uint64_t start = 0;
    uint64_t end = new_size;
    uint64_t m = old_size;
    bool complete = true; /* RFC 6962's b: the old tree is D[0:m] itself */
    /* SUBPROOF(m, D[start:end], b) unrolled, root side first. */
    while (old_size > 0 && old_size < new_size) {
        vg_err rc = VG_OK;
        if (m == end - start) {
            if (!complete) {
                rc = fn(ctx, start, end, tmp[n++]);
            }
            if (rc != VG_OK) {
                return rc;
            }
            break;
        }
        uint64_t k = s_split(end - start);
        if (m <= k) {
            rc = fn(ctx, start + k, end, tmp[n]);
            end = start + k;
        } else {
            rc = fn(ctx, start, start + k, tmp[n]);
            m -= k;
            start += k;
            complete = false;
        }
        if (rc != VG_OK) {
            return rc;
        }
        n++;
    }
    s_reverse(tmp, n);
    memcpy(out, tmp, n * sizeof tmp[0]);
    *n_out = n;
    return VG_OK;
}

/* ---- proof verification ---------------------------------------------------- */

/* Right-shifts fn and sn together until fn's lowest bit is set or fn is 0. */
static void
s_shift_to_set_bit(uint64_t *fn, uint64_t *sn)
{
    while ((*fn & 1) == 0 && *fn != 0) {
        *fn >>= 1;
        *sn >>= 1;
    }
}

static bool
s_same(const uint8_t a[VG_MERKLE_HASH_LEN], const uint8_t b[VG_MERKLE_HASH_LEN])
{
    return sodium_memcmp(a, b, VG_MERKLE_HASH_LEN) == 0;
}

vg_err
vg_merkle_verify_inclusion(const uint8_t leaf_hash[VG_MERKLE_HASH_LEN], uint64_t index,
                           uint64_t size, const vg_merkle_hash *proof, size_t n_proof,
                           const uint8_t root[VG_MERKLE_HASH_LEN], vg_reason *why)
{
    if (index >= size || size > VG_MERKLE_SIZE_MAX) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "inclusion proof for leaf %llu of a tree of %llu leaves: no such leaf",
                             (unsigned long long)index, (unsigned long long)size);
    }
    /* RFC 9162 §2.1.3.2, steps 2-5. */
    uint64_t fn = index;
    uint64_t sn = size - 1;
    uint8_t r[VG_MERKLE_HASH_LEN];
    memcpy(r, leaf_hash, sizeof r);
    for (size_t i = 0; i < n_proof; i++) {
        if (sn == 0) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "inclusion proof for leaf %llu of %llu has %zu hashes: too many",
                                 (unsigned long long)index, (unsigned long long)size, n_proof);
        }
        if ((fn & 1) == 1 || fn == sn) {
            vg_merkle_node_hash(r, proof[i], r);
            s_shift_to_set_bit(&fn, &sn);
        } else {
            vg_merkle_node_hash(r, r, proof[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "inclusion proof for leaf %llu of %llu has %zu hashes: too few",
                             (unsigned long long)index, (unsigned long long)size, n_proof);
    }
    if (!s_same(r, root)) {
        return vg_reason_set(why, VG_ERR_CONFLICT,
                             "inclusion proof for leaf %llu of %llu does not lead to the root",
                             (unsigned long long)index, (unsigned long long)size);
    }
    return VG_OK;
}

/* The trivial cases of consistency: equal sizes or an empty old tree. */
static vg_err
s_consistency_trivial(uint64_t old_size, uint64_t new_size, size_t n_proof,
                      const uint8_t old_root[VG_MERKLE_HASH_LEN],
                      const uint8_t new_root[VG_MERKLE_HASH_LEN], vg_reason *why)
{
    if (n_proof != 0) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "consistency proof from %llu to %llu must be empty; it has %zu hashes",
                             (unsigned long long)old_size, (unsigned long long)new_size, n_proof);
    }
    uint8_t empty[VG_MERKLE_HASH_LEN];
    vg_merkle_empty_root(empty);
    if (old_size == 0 && !s_same(old_root, empty)) {
        return vg_reason_set(why, VG_ERR_CONFLICT,
                             "the root given for the empty tree is not SHA-256(\"\")");
    }
    if (old_size == new_size && !s_same(old_root, new_root)) {
        return vg_reason_set(why, VG_ERR_CONFLICT,
                             "two different roots for the same tree size %llu: the log forked",
                             (unsigned long long)old_size);
    }
    return VG_OK;
}

vg_err
vg_merkle_verify_consistency(uint64_t old_size, uint64_t new_size, const vg_merkle_hash *proof,
                             size_t n_proof, const uint8_t old_root[VG_MERKLE_HASH_LEN],
                             const uint8_t new_root[VG_MERKLE_HASH_LEN], vg_reason *why)
{
    if (old_size > new_size || new_size > VG_MERKLE_SIZE_MAX) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "consistency proof from %llu to %llu leaves: the log cannot shrink",
                             (unsigned long long)old_size, (unsigned long long)new_size);
    }
    if (old_size == 0 || old_size == new_size) {
        return s_consistency_trivial(old_size, new_size, n_proof, old_root, new_root, why);
    }
    /* RFC 9162 §2.1.4.2. Step 2: when old_size is a power of two the old root
     * is itself the first node of the path, and the proof omits it. */
    bool pow2 = (old_size & (old_size - 1)) == 0;
    size_t n_path = n_proof + (pow2 ? 1 : 0);
    if (n_path == 0 || n_proof > VG_MERKLE_PROOF_MAX) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "consistency proof from %llu to %llu has %zu hashes",
                             (unsigned long long)old_size, (unsigned long long)new_size, n_proof);
    }
    const uint8_t *first = pow2 ? old_root : proof[0];
    uint64_t fn = old_size - 1; /* step 3 */
    uint64_t sn = new_size - 1;
    while ((fn & 1) == 1) { /* step 4 */
        fn >>= 1;
        sn >>= 1;
    }
    uint8_t fr[VG_MERKLE_HASH_LEN]; /* step 5 */
    uint8_t sr[VG_MERKLE_HASH_LEN];
    memcpy(fr, first, sizeof fr);
    memcpy(sr, first, sizeof sr);
    for (size_t i = 1; i < n_path; i++) { /* step 6 */
        const uint8_t *c = proof[pow2 ? i - 1 : i];
        if (sn == 0) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "consistency proof from %llu to %llu has %zu hashes: too many",
                                 (unsigned long long)old_size, (unsigned long long)new_size,
                                 n_proof);
        }
        if ((fn & 1) == 1 || fn == sn) {
            vg_merkle_node_hash(fr, c, fr);
            vg_merkle_node_hash(sr, c, sr);
            s_shift_to_set_bit(&fn, &sn);
        } else {
            vg_merkle_node_hash(sr, sr, c);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0) { /* step 7 */
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "consistency proof from %llu to %llu has %zu hashes: too few",
                             (unsigned long long)old_size, (unsigned long long)new_size, n_proof);
    }
    if (!s_same(fr, old_root) || !s_same(sr, new_root)) {
        return vg_reason_set(why, VG_ERR_CONFLICT,
                             "consistency proof from %llu to %llu does not reproduce both roots: "
                             "the log's history was rewritten",
                             (unsigned long long)old_size, (unsigned long long)new_size);
    }
    return VG_OK;
}
