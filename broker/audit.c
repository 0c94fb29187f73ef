/* audit.c — the broker's Merkle audit log over the store (see audit.h). */
#include "audit.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

struct vgb_audit {
    vgb_store *store;      /* borrowed: the connection the leaves go through */
    char *origin;          /* network name: checkpoint origin and key name */
    const vg_keyset *keys; /* borrowed: the broker's signing key (NULL: read only) */
    vg_merkle_range range; /* cached compact range; valid while its size is stored */
};

vg_err
vgb_audit_open(vgb_audit **out, vgb_store *store, const char *origin, const vg_keyset *keys,
               vg_reason *why)
{
    if (store == NULL || origin == NULL) {
        return vg_reason_set(why, VG_ERR_INVALID, "audit log needs a store and an origin");
    }
    vgb_audit *a = calloc(1, sizeof *a);
    if (a == NULL || (a->origin = vg_strdup(origin)) == NULL) {
        free(a);
        return VG_ERR_NOMEM;
    }
    a->store = store;
    a->keys = keys;
    vg_merkle_range_init(&a->range);
    a->range.size = UINT64_MAX; /* not loaded: never equal to a stored size */
    *out = a;
    return VG_OK;
}

void
vgb_audit_destroy(vgb_audit **audit_p)
{
    if (audit_p == NULL || *audit_p == NULL) {
        return;
    }
    free((*audit_p)->origin);
    free(*audit_p);
    *audit_p = NULL;
}

/* ---- stored hashes ---------------------------------------------------------------- */

/* vg_merkle_node_fn over the store: a missing hash is a damaged log. */
static vg_err
s_node(void *ctx, unsigned level, uint64_t index, uint8_t out[VG_MERKLE_HASH_LEN])
{
    vgb_audit *a = ctx;
    vg_err rc = vgb_store_audit_node(a->store, level, index, out);
    return rc == VG_ERR_NOT_FOUND ? VG_ERR_MALFORMED : rc;
}

/* vg_merkle_subtree_fn over the stored complete subtrees. */
static vg_err
s_subtree(void *ctx, uint64_t start, uint64_t end, uint8_t out[VG_MERKLE_HASH_LEN])
{
    return vg_merkle_subtree_from_nodes(out, start, end, s_node, ctx);
}

static vg_err
s_damaged(vg_err err, vg_reason *why)
{
    if (err == VG_ERR_MALFORMED) {
        return vg_reason_set(why, err,
                             "audit log: a stored subtree hash is missing or damaged; run "
                             "'vigilctl audit verify'");
    }
    return vg_reason_set(why, err, "audit log: reading stored hashes failed: %s", vg_strerror(err));
}

/* Makes a->range the compact range of the stored leaves, reloading it
 * (O(log n) lookups) when the cached one is not of the stored size. */
static vg_err
s_sync(vgb_audit *a, vg_reason *why)
{
    uint64_t size = 0;
    vg_err rc = vgb_store_audit_size(a->store, &size);
    if (rc != VG_OK) {
        return vg_reason_set(why, rc, "audit log: cannot read its size: %s", vg_strerror(rc));
    }
    if (size == a->range.size) {
        return VG_OK;
    }
    rc = vg_merkle_range_load(&a->range, size, s_node, a);
    if (rc != VG_OK) {
        a->range.size = UINT64_MAX;
        return s_damaged(rc, why);
    }
    return VG_OK;
}

vg_err
vgb_audit_size(vgb_audit *a, uint64_t *size_out, vg_reason *why)
{
    vg_err rc = s_sync(a, why);
    *size_out = rc == VG_OK ? a->range.size : 0;
    return rc;
}

vg_err
vgb_audit_head(vgb_audit *a, uint64_t *size_out, uint8_t root_out[VG_MERKLE_HASH_LEN],
               vg_reason *why)
{
    vg_err rc = s_sync(a, why);
    if (rc != VG_OK) {
        return rc;
    }
    *size_out = a->range.size;
    vg_merkle_range_root(&a->range, root_out);
    return VG_OK;
}

vg_err
vgb_audit_root_at(vgb_audit *a, uint64_t size, uint8_t out[VG_MERKLE_HASH_LEN], vg_reason *why)
{
    vg_err rc = s_sync(a, why);
    if (rc != VG_OK) {
        return rc;
    }
    if (size > a->range.size) {
        return vg_reason_set(why, VG_ERR_NOT_FOUND, "audit log has %llu leaves, not %llu",
                             (unsigned long long)a->range.size, (unsigned long long)size);
    }
    if (size == 0) {
        vg_merkle_empty_root(out);
        return VG_OK;
    }
    rc = s_subtree(a, 0, size, out);
    return rc == VG_OK ? VG_OK : s_damaged(rc, why);
}

vg_err
vgb_audit_leaf(vgb_audit *a, uint64_t index, uint8_t **out, size_t *out_len, vg_reason *why)
{
    vg_err rc = vgb_store_audit_leaf(a->store, index, out, out_len);
    if (rc == VG_ERR_NOT_FOUND) {
        return vg_reason_set(why, rc, "audit log has no leaf %llu", (unsigned long long)index);
    }
    return rc == VG_OK ? VG_OK
                       : vg_reason_set(why, rc, "audit log: cannot read leaf %llu",
                                       (unsigned long long)index);
}

/* ---- appending ---------------------------------------------------------------------- */

vg_err
vgb_audit_append(vgb_audit *a, const vg_audit_event *ev, uint64_t *index_out, vg_reason *why)
{
    if (!vgb_store_in_transaction(a->store)) {
        return vg_reason_set(why, VG_ERR_INTERNAL,
                             "audit leaves are appended inside the store's transaction");
    }
    vg_err rc = s_sync(a, why);
    if (rc != VG_OK) {
        return rc;
    }
    vg_audit_event e = *ev; /* shallow: only index changes, the lists are borrowed */
    e.index = a->range.size;
    uint8_t *leaf = NULL;
    size_t len = 0;
    rc = vg_audit_leaf_encode(&leaf, &len, &e, why);
    if (rc != VG_OK) {
        return rc;
    }
    uint8_t leaf_hash[VG_MERKLE_HASH_LEN];
    vg_merkle_leaf_hash(leaf_hash, leaf, len);
    vg_merkle_range next = a->range;
    vg_merkle_node nodes[VG_MERKLE_LEVELS_MAX];
    size_t n_nodes = 0;
    rc = vg_merkle_range_append(&next, leaf_hash, nodes, &n_nodes);
    if (rc != VG_OK) {
        free(leaf);
        return vg_reason_set(why, rc, "audit log is full");
    }
    unsigned levels[VG_MERKLE_LEVELS_MAX];
    uint64_t idx[VG_MERKLE_LEVELS_MAX];
    uint8_t hashes[VG_MERKLE_LEVELS_MAX][VG_HASH_LEN];
    for (size_t i = 1; i < n_nodes; i++) { /* nodes[0] is the leaf itself */
        levels[i - 1] = nodes[i].level;
        idx[i - 1] = nodes[i].index;
        memcpy(hashes[i - 1], nodes[i].hash, VG_HASH_LEN);
    }
    rc = vgb_store_audit_append(a->store, e.index, leaf, len, leaf_hash, levels, idx,
                                (const uint8_t(*)[VG_HASH_LEN])hashes,
                                n_nodes > 0 ? n_nodes - 1 : 0);
    free(leaf);
    if (rc != VG_OK) {
        return vg_reason_set(why, rc, "audit log: cannot append leaf %llu: %s",
                             (unsigned long long)e.index, vg_strerror(rc));
    }
    a->range = next;
    if (index_out != NULL) {
        *index_out = e.index;
    }
    return VG_OK;
}

/* ---- proofs ------------------------------------------------------------------------ */

vg_err
vgb_audit_inclusion_proof(vgb_audit *a, uint64_t index, uint64_t size,
                          vg_merkle_hash out[VG_MERKLE_PROOF_MAX], size_t *n_out, vg_reason *why)
{
    vg_err rc = s_sync(a, why);
    if (rc != VG_OK) {
        return rc;
    }
    if (size > a->range.size) {
        return vg_reason_set(why, VG_ERR_NOT_FOUND, "audit log has %llu leaves, not %llu",
                             (unsigned long long)a->range.size, (unsigned long long)size);
    }
    if (index >= size) {
        return vg_reason_set(why, VG_ERR_INVALID, "leaf %llu is not in a tree of %llu leaves",
                             (unsigned long long)index, (unsigned long long)size);
    }
    rc = vg_merkle_inclusion_proof(out, n_out, index, size, s_subtree, a);
    return rc == VG_OK ? VG_OK : s_damaged(rc, why);
}

vg_err
vgb_audit_consistency_proof(vgb_audit *a, uint64_t old_size, uint64_t new_size,
                            vg_merkle_hash out[VG_MERKLE_PROOF_MAX], size_t *n_out, vg_reason *why)
{
    vg_err rc = s_sync(a, why);
    if (rc != VG_OK) {
        return rc;
    }
    if (new_size > a->range.size) {
        return vg_reason_set(why, VG_ERR_NOT_FOUND, "audit log has %llu leaves, not %llu",
                             (unsigned long long)a->range.size, (unsigned long long)new_size);
    }
    if (old_size > new_size) {
        return vg_reason_set(why, VG_ERR_INVALID, "no consistency proof from %llu down to %llu",
                             (unsigned long long)old_size, (unsigned long long)new_size);
    }
    rc = vg_merkle_consistency_proof(out, n_out, old_size, new_size, s_subtree, a);
    return rc == VG_OK ? VG_OK : s_damaged(rc, why);
}

/* ---- checkpoints ------------------------------------------------------------------- */

/* The latest stored checkpoint row, copied. */
typedef struct s_cp_row {
    bool want_note;                   /* copy the note */
    uint64_t size;                    /* its tree size */
    uint8_t root[VG_MERKLE_HASH_LEN]; /* its root column */
    bool root_ok;                     /* the column is a hash */
    char *note;                       /* malloc'ed note text, or NULL */
    size_t note_len;                  /* its length */
    int64_t signed_ms;                /* when it was signed */
    bool nomem;                       /* the copy failed */
} s_cp_row;

static void
s_take_row(void *ctx, const vgb_checkpoint_row *row)
{
    s_cp_row *r = ctx;
    r->size = row->size;
    r->root_ok = row->root_ok;
    memcpy(r->root, row->root, sizeof r->root);
    r->note_len = row->note_len;
    r->signed_ms = row->signed_ms;
    if (r->want_note && (r->note = malloc(row->note_len + 1)) != NULL) {
        memcpy(r->note, row->note, row->note_len);
        r->note[row->note_len] = '\0';
    }
    r->nomem = r->want_note && r->note == NULL;
}

static vg_err
s_latest(vgb_audit *a, s_cp_row *row, bool want_note, bool *found, vg_reason *why)
{
    memset(row, 0, sizeof *row);
    row->want_note = want_note;
    vg_err rc = vgb_store_audit_latest_checkpoint(a->store, s_take_row, row, found);
    if (rc != VG_OK) {
        return vg_reason_set(why, rc, "audit log: cannot read its checkpoints: %s",
                             vg_strerror(rc));
    }
    if (row->nomem) {
        return VG_ERR_NOMEM;
    }
    return *found && !row->root_ok ? s_damaged(VG_ERR_MALFORMED, why) : VG_OK;
}

vg_err
vgb_audit_checkpoint_latest(vgb_audit *a, char **note, size_t *note_len, uint64_t *size,
                            int64_t *signed_ms, vg_reason *why)
{
    s_cp_row row;
    bool found = false;
    vg_err rc = s_latest(a, &row, note != NULL, &found, why);
    if (rc == VG_OK && !found) {
        rc = vg_reason_set(why, VG_ERR_NOT_FOUND, "no audit checkpoint signed yet");
    }
    if (rc != VG_OK) {
        free(row.note);
        return rc;
    }
    if (note != NULL) {
        *note = row.note;
    }
    if (note_len != NULL) {
        *note_len = row.note_len;
    }
    if (size != NULL) {
        *size = row.size;
    }
    if (signed_ms != NULL) {
        *signed_ms = row.signed_ms;
    }
    return VG_OK;
}

vg_err
vgb_audit_checkpoint_sign(vgb_audit *a, int64_t signed_ms, vg_checkpoint **out, vg_reason *why)
{
    uint64_t size = 0;
    uint8_t root[VG_MERKLE_HASH_LEN];
    s_cp_row last;
    bool found = false;
    if (a->keys == NULL) {
        return vg_reason_set(why, VG_ERR_INVALID, "audit log opened without a signing key");
    }
    vg_err rc = vgb_audit_head(a, &size, root, why);
    if (rc == VG_OK) {
        rc = s_latest(a, &last, false, &found, why);
    }
    if (rc != VG_OK) {
        return rc;
    }
    if (found && last.size == size) {
        return vg_reason_set(why, VG_ERR_DUPLICATE, "checkpoint at size %llu already signed",
                             (unsigned long long)size);
    }
    uint8_t then[VG_MERKLE_HASH_LEN];
    if (found && (last.size > size || vgb_audit_root_at(a, last.size, then, why) != VG_OK ||
                  sodium_memcmp(then, last.root, sizeof then) != 0)) {
        return vg_reason_set(why, VG_ERR_CONFLICT,
                             "audit log no longer matches its checkpoint at size %llu: refusing "
                             "to sign; run 'vigilctl audit verify'",
                             (unsigned long long)last.size);
    }
    vg_checkpoint *cp = NULL;
    rc = vg_checkpoint_sign(&cp, a->origin, size, root, a->keys, why);
    if (rc == VG_OK) {
        rc = vgb_store_audit_add_checkpoint(a->store, vg_checkpoint_size(cp),
                                            vg_checkpoint_root(cp), vg_checkpoint_note(cp),
                                            vg_checkpoint_note_len(cp), signed_ms);
        if (rc != VG_OK) {
            vg_reason_set(why, rc, "audit log: cannot store the checkpoint: %s", vg_strerror(rc));
        }
    }
    if (rc == VG_OK && out != NULL) {
        *out = cp;
        cp = NULL;
    }
    vg_checkpoint_destroy(&cp);
    return rc;
}
