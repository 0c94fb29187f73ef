/* store_pg_links.c — the link-tag index of the PostgreSQL back end
 * (store.h, "link tags"; the same rows as store_sqlite_links.c). */
#include "store_pg.h"

vg_err
vgb_pg_add_link_tags(vgb_store *base, uint64_t seq, const uint8_t (*tags)[VG_HASH_LEN], size_t n)
{
    vgb_pg *s = (vgb_pg *)base;
    if (n == 0) {
        return VG_OK;
    }
    vg_err err = vgb_pg_need_write(s, "insert link tags");
    if (err != VG_OK) {
        return err;
    }
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    vgb_pg_p_hash_array(&p, tags, n);
    return vgb_pg_change(s, VGB_PG_Q_ADD_LINK_TAGS, &p, "insert link tags");
}

vg_err
vgb_pg_linked_earlier(vgb_store *base, uint64_t seq, size_t limit, vgb_seq_fn fn, void *ctx)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    vgb_pg_p_limit(&p, limit);
    vg_err err = VG_OK;
    PGresult *r =
        vgb_pg_query((vgb_pg *)base, VGB_PG_Q_LINKED_EARLIER, &p, "read linked alerts", &err);
    int n = r != NULL ? PQntuples(r) : 0;
    bool go = true;
    for (int i = 0; i < n && go; i++) {
        go = fn(ctx, (uint64_t)vgb_pg_r_i64(r, i, 0));
    }
    PQclear(r);
    return err;
}

vg_err
vgb_pg_link_pairs(vgb_store *base, vgb_pair_fn fn, void *ctx)
{
    vg_err err = VG_OK;
    int64_t after_a = 0, after_b = 0;
    for (;;) {
        vgb_pg_params p = {0};
        vgb_pg_p_i64(&p, after_a);
        vgb_pg_p_i64(&p, after_b);
        vgb_pg_p_i64(&p, VGB_PG_PAGE_ROWS);
        PGresult *r =
            vgb_pg_query((vgb_pg *)base, VGB_PG_Q_LINK_PAIRS, &p, "read link pairs", &err);
        int n = r != NULL ? PQntuples(r) : 0;
        bool go = true;
        for (int i = 0; i < n && go; i++) {
            after_a = vgb_pg_r_i64(r, i, 0);
            after_b = vgb_pg_r_i64(r, i, 1);
            go = fn(ctx, (uint64_t)after_a, (uint64_t)after_b);
        }
        PQclear(r);
        if (err != VG_OK || !go || n < VGB_PG_PAGE_ROWS) {
            return err;
        }
    }
}

vg_err
vgb_pg_link_tags_of(vgb_store *base, uint64_t seq, vgb_tag_fn fn, void *ctx)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query((vgb_pg *)base, VGB_PG_Q_LINK_TAGS_OF, &p, "read link tags", &err);
    for (int i = 0; r != NULL && i < PQntuples(r); i++) {
        size_t len = 0;
        const uint8_t *tag = vgb_pg_r_bytes(r, i, 0, &len);
        fn(ctx, tag, len);
    }
    PQclear(r);
    return err;
}

vg_err
vgb_pg_tagged(vgb_store *base, const uint8_t (*tags)[VG_HASH_LEN], size_t n, size_t limit,
              vgb_seq_fn fn, void *ctx)
{
    vgb_pg_params p = {0};
    vgb_pg_p_hash_array(&p, tags, n);
    vgb_pg_p_limit(&p, limit);
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query((vgb_pg *)base, VGB_PG_Q_TAGGED, &p, "read tagged alerts", &err);
    int rows = r != NULL ? PQntuples(r) : 0;
    bool go = true;
    for (int i = 0; i < rows && go; i++) {
        go = fn(ctx, (uint64_t)vgb_pg_r_i64(r, i, 0));
    }
    PQclear(r);
    return err;
}
