/* store_pg_audit.c — the audit log's tables in the PostgreSQL back end:
 * leaves, complete subtree hashes, checkpoints and the alert -> leaf index
 * (see store.h; audit.h does the hashing). The broker's role may add rows to
 * them, never change or delete one (store_pg_sql.c, vgb_pg_grants). */
#include <stdlib.h>
#include <string.h>

#include "store_pg.h"

vg_err
vgb_pg_audit_size(vgb_store *base, uint64_t *out)
{
    return vgb_pg_u64((vgb_pg *)base, VGB_PG_Q_AUDIT_SIZE, NULL, "read audit size", out);
}

vg_err
vgb_pg_audit_node(vgb_store *base, unsigned level, uint64_t index, uint8_t out[VG_HASH_LEN])
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)index);
    if (level > 0) {
        vgb_pg_p_i32(&p, (int32_t)level);
    }
    vg_err err = VG_OK;
    PGresult *r =
        vgb_pg_query((vgb_pg *)base, level == 0 ? VGB_PG_Q_AUDIT_LEAF_HASH : VGB_PG_Q_AUDIT_NODE,
                     &p, "read audit hash", &err);
    if (r != NULL) {
        err = PQntuples(r) == 0             ? VG_ERR_NOT_FOUND
              : vgb_pg_r_hash(r, 0, 0, out) ? VG_OK
                                            : VG_ERR_MALFORMED;
    }
    PQclear(r);
    return err;
}

vg_err
vgb_pg_audit_leaf(vgb_store *base, uint64_t index, uint8_t **out, size_t *out_len)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)index);
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query((vgb_pg *)base, VGB_PG_Q_AUDIT_LEAF, &p, "read audit leaf", &err);
    if (r != NULL) {
        err = VG_ERR_NOT_FOUND;
    }
    if (r != NULL && PQntuples(r) > 0) {
        size_t n = 0;
        const uint8_t *leaf = vgb_pg_r_bytes(r, 0, 0, &n);
        uint8_t *copy = malloc(n > 0 ? n : 1);
        err = copy == NULL ? VG_ERR_NOMEM : VG_OK;
        if (copy != NULL) {
            memcpy(copy, leaf ? leaf : (const uint8_t *)"", n);
            *out = copy;
            *out_len = n;
        }
    }
    PQclear(r);
    return err;
}

/* One statement for the leaf and its subtrees: all or none. Queued in a
 * pipelined transaction: an index stored already fails it, and with it the
 * transaction, at the next call that waits or at the commit. */
vg_err
vgb_pg_audit_append(vgb_store *base, uint64_t index, const uint8_t *leaf, size_t len,
                    const uint8_t leaf_hash[VG_HASH_LEN], const unsigned *levels,
                    const uint64_t *nodes, const uint8_t (*hashes)[VG_HASH_LEN], size_t n_nodes)
{
    vgb_pg *s = (vgb_pg *)base;
    vg_err err = vgb_pg_need_write(s, "append audit leaf");
    if (err != VG_OK) {
        return err; /* leaves are appended inside the batch's transaction */
    }
    int32_t *lv = malloc((n_nodes ? n_nodes : 1) * sizeof *lv);
    int64_t *ix = malloc((n_nodes ? n_nodes : 1) * sizeof *ix);
    vgb_pg_params p = {0};
    if (lv == NULL || ix == NULL) {
        p.failed = true;
    }
    for (size_t i = 0; lv != NULL && ix != NULL && i < n_nodes; i++) {
        lv[i] = (int32_t)levels[i];
        ix[i] = (int64_t)nodes[i];
    }
    vgb_pg_p_i64(&p, (int64_t)index);
    vgb_pg_p_bytea(&p, leaf, len);
    vgb_pg_p_bytea(&p, leaf_hash, VG_HASH_LEN);
    if (!p.failed) {
        vgb_pg_p_i32_array(&p, lv, n_nodes);
        vgb_pg_p_i64_array(&p, ix, n_nodes);
        vgb_pg_p_hash_array(&p, hashes, n_nodes);
    }
    free(lv);
    free(ix);
    return vgb_pg_change(s, VGB_PG_Q_AUDIT_APPEND, &p, "append audit leaf");
}

vg_err
vgb_pg_audit_add_checkpoint(vgb_store *base, uint64_t size, const uint8_t root[VG_HASH_LEN],
                            const char *note, size_t note_len, int64_t signed_ms)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)size);
    vgb_pg_p_bytea(&p, root, VG_HASH_LEN);
    vgb_pg_p_textn(&p, note, note_len);
    vgb_pg_p_i64(&p, signed_ms);
    return vgb_pg_change((vgb_pg *)base, VGB_PG_Q_AUDIT_ADD_CHECKPOINT, &p, "store checkpoint");
}

/* Calls fn for each checkpoint row of r (size, root, note, signed_ms). */
static void
s_each_checkpoint(const PGresult *r, vgb_checkpoint_fn fn, void *ctx, uint64_t *last)
{
    for (int i = 0; i < PQntuples(r); i++) {
        size_t note_len = 0;
        const uint8_t *note = vgb_pg_r_bytes(r, i, 2, &note_len);
        vgb_checkpoint_row row = {
            .size = (uint64_t)vgb_pg_r_i64(r, i, 0),
            .note = note ? (const char *)note : "",
            .note_len = note_len,
            .signed_ms = vgb_pg_r_i64(r, i, 3),
        };
        row.root_ok = vgb_pg_r_hash(r, i, 1, row.root);
        *last = row.size;
        fn(ctx, &row);
    }
}

vg_err
vgb_pg_audit_latest_checkpoint(vgb_store *base, vgb_checkpoint_fn fn, void *ctx, bool *found)
{
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query((vgb_pg *)base, VGB_PG_Q_AUDIT_LATEST_CHECKPOINT, NULL,
                               "read checkpoints", &err);
    *found = r != NULL && PQntuples(r) > 0;
    uint64_t last = 0;
    if (r != NULL) {
        s_each_checkpoint(r, fn, ctx, &last);
    }
    PQclear(r);
    return err;
}

/* A page at a time (by size), so a long history is never all in memory and
 * fn may use the store between pages. */
vg_err
vgb_pg_audit_checkpoints(vgb_store *base, vgb_checkpoint_fn fn, void *ctx)
{
    vg_err err = VG_OK;
    int64_t after = -1;
    for (;;) {
        vgb_pg_params p = {0};
        vgb_pg_p_i64(&p, after);
        vgb_pg_p_i64(&p, VGB_PG_PAGE_ROWS);
        PGresult *r =
            vgb_pg_query((vgb_pg *)base, VGB_PG_Q_AUDIT_CHECKPOINTS, &p, "read checkpoints", &err);
        int n = r != NULL ? PQntuples(r) : 0;
        uint64_t last = 0;
        if (r != NULL) {
            s_each_checkpoint(r, fn, ctx, &last);
        }
        PQclear(r);
        if (err != VG_OK || n < VGB_PG_PAGE_ROWS) {
            return err;
        }
        after = (int64_t)last;
    }
}

vg_err
vgb_pg_audit_leaves(vgb_store *base, vgb_leaf_fn fn, void *ctx)
{
    vg_err err = VG_OK;
    int64_t after = -1;
    for (;;) {
        vgb_pg_params p = {0};
        vgb_pg_p_i64(&p, after);
        vgb_pg_p_i64(&p, VGB_PG_PAGE_ROWS);
        PGresult *r =
            vgb_pg_query((vgb_pg *)base, VGB_PG_Q_AUDIT_LEAVES, &p, "read audit leaves", &err);
        int n = r != NULL ? PQntuples(r) : 0;
        bool go = true;
        for (int i = 0; i < n && go; i++) {
            uint8_t h[VG_HASH_LEN];
            bool hash_ok = vgb_pg_r_hash(r, i, 2, h);
            size_t len = 0;
            const uint8_t *leaf = vgb_pg_r_bytes(r, i, 1, &len);
            after = vgb_pg_r_i64(r, i, 0);
            go = fn(ctx, (uint64_t)after, leaf ? leaf : (const uint8_t *)"", len, h, hash_ok);
        }
        PQclear(r);
        if (err != VG_OK || !go || n < VGB_PG_PAGE_ROWS) {
            return err;
        }
    }
}

vg_err
vgb_pg_audit_nodes_beyond(vgb_store *base, uint64_t size, bool *any)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)size);
    uint64_t n = 0;
    vg_err err =
        vgb_pg_u64((vgb_pg *)base, VGB_PG_Q_AUDIT_NODES_BEYOND, &p, "read audit subtrees", &n);
    *any = n > 0;
    return err;
}

vg_err
vgb_pg_link_leaf(vgb_store *base, uint64_t seq, uint64_t idx)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    vgb_pg_p_i64(&p, (int64_t)idx);
    return vgb_pg_change((vgb_pg *)base, VGB_PG_Q_LINK_LEAF, &p, "link audit leaf");
}

vg_err
vgb_pg_audit_checkpoint_at(vgb_store *base, uint64_t size, vgb_checkpoint_fn fn, void *ctx,
                           bool *found)
{
    vg_err err = VG_OK;
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)size);
    PGresult *r =
        vgb_pg_query((vgb_pg *)base, VGB_PG_Q_AUDIT_CHECKPOINT_AT, &p, "read a checkpoint", &err);
    *found = r != NULL && PQntuples(r) > 0;
    uint64_t last = 0;
    if (r != NULL) {
        s_each_checkpoint(r, fn, ctx, &last);
    }
    PQclear(r);
    return err;
}

/* ---- witness cosignatures (store_witness.h) ------------------------------------- */

vg_err
vgb_pg_add_cosignature(vgb_store *base, uint64_t size, const char *agency, const char *line,
                       size_t line_len, int64_t time_s, int64_t received_ms, bool *added)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)size);
    vgb_pg_p_text(&p, agency);
    vgb_pg_p_textn(&p, line, line_len);
    vgb_pg_p_i64(&p, time_s);
    vgb_pg_p_i64(&p, received_ms);
    uint64_t n = 0;
    vg_err err =
        vgb_pg_change_n((vgb_pg *)base, VGB_PG_Q_ADD_COSIGNATURE, &p, "store cosignature", &n);
    *added = err == VG_OK && n > 0;
    return err;
}

/* One result: a checkpoint has at most one cosignature per agency, and
 * min_size 0 (verify) reads every one once. */
vg_err
vgb_pg_cosignatures(vgb_store *base, uint64_t min_size, vgb_cosign_fn fn, void *ctx)
{
    vg_err err = VG_OK;
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)min_size);
    PGresult *r =
        vgb_pg_query((vgb_pg *)base, VGB_PG_Q_COSIGNATURES, &p, "read cosignatures", &err);
    for (int i = 0; r != NULL && i < PQntuples(r); i++) {
        size_t line_len = 0;
        const uint8_t *line = vgb_pg_r_bytes(r, i, 2, &line_len);
        vgb_cosign_row row = {
            .size = (uint64_t)vgb_pg_r_i64(r, i, 0),
            .agency = vgb_pg_r_text(r, i, 1),
            .line = line != NULL ? (const char *)line : "",
            .line_len = line_len,
            .time_s = vgb_pg_r_i64(r, i, 3),
            .received_ms = vgb_pg_r_i64(r, i, 4),
        };
        fn(ctx, &row);
    }
    PQclear(r);
    return err;
}
