/* store_pg_retain.c — retention in the PostgreSQL back end (store_retain.h;
 * the same rows as store_sqlite_retain.c). A purge's old row versions stay
 * in the table files until VACUUM reclaims them: docs/deploy.md
 * "Retention" says what to run. */
#include <string.h>

#include "store_pg.h"

static void
s_retain_row(const PGresult *r, int i, vgb_retain_row *out)
{
    *out = (vgb_retain_row){.seq = (uint64_t)vgb_pg_r_i64(r, i, 0),
                            .status = (int)vgb_pg_r_i64(r, i, 2),
                            .categories = vgb_pg_r_text(r, i, 3),
                            .accepted_ms = vgb_pg_r_i64(r, i, 4),
                            .content_gone_ms = vgb_pg_r_i64(r, i, 5),
                            .tags_gone_ms = vgb_pg_r_i64(r, i, 6),
                            .held = vgb_pg_r_bool(r, i, 7),
                            .pending = vgb_pg_r_bool(r, i, 8)};
    size_t len = 0;
    const uint8_t *id = vgb_pg_r_bytes(r, i, 1, &len);
    if (id != NULL && len == VG_ALERT_ID_LEN) {
        memcpy(out->id, id, VG_ALERT_ID_LEN);
    }
}

vg_err
vgb_pg_retain_candidates(vgb_store *base, int64_t before_ms, uint64_t after_seq, size_t limit,
                         vgb_retain_fn fn, void *ctx)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)after_seq);
    vgb_pg_p_i64(&p, before_ms);
    vgb_pg_p_limit(&p, limit);
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query((vgb_pg *)base, VGB_PG_Q_RETAIN_CANDIDATES, &p,
                               "read retention candidates", &err);
    int n = r != NULL ? PQntuples(r) : 0;
    bool go = true;
    for (int i = 0; i < n && go; i++) {
        vgb_retain_row row;
        s_retain_row(r, i, &row);
        go = fn(ctx, &row);
    }
    PQclear(r);
    return err;
}

vg_err
vgb_pg_retain_state(vgb_store *base, uint64_t seq, vgb_retain_row *out)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    vg_err err = VG_OK;
    PGresult *r =
        vgb_pg_query((vgb_pg *)base, VGB_PG_Q_RETAIN_STATE, &p, "read retention state", &err);
    if (r != NULL && PQntuples(r) == 0) {
        err = VG_ERR_NOT_FOUND;
    } else if (r != NULL) {
        s_retain_row(r, 0, out);
        out->categories = NULL;
    }
    PQclear(r);
    return err;
}

static vg_err
s_change(vgb_pg *s, vgb_pg_q q, uint64_t seq, int64_t ms, const char *what)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    if (ms != 0) {
        vgb_pg_p_i64(&p, ms);
    }
    return vgb_pg_change(s, q, &p, what);
}

vg_err
vgb_pg_purge(vgb_store *base, uint64_t seq, bool content, bool tags, int64_t now_ms)
{
    vgb_pg *s = (vgb_pg *)base;
    vg_err err = vgb_pg_need_write(s, "purge");
    err = err == VG_OK ? s_change(s, VGB_PG_Q_PURGE_ROW, seq, 0, "purge") : err;
    if (err == VG_OK && content) {
        err = s_change(s, VGB_PG_Q_PURGE_CONTENT, seq, 0, "purge content");
        err = err == VG_OK ? s_change(s, VGB_PG_Q_PURGE_CONTENT_AT, seq, now_ms, "purge") : err;
    }
    if (err == VG_OK && tags) {
        err = s_change(s, VGB_PG_Q_PURGE_TAGS, seq, 0, "purge link tags");
        err = err == VG_OK ? s_change(s, VGB_PG_Q_PURGE_TAGS_AT, seq, now_ms, "purge") : err;
    }
    return err;
}

vg_err
vgb_pg_scrub(vgb_store *base, vg_reason *why)
{
    (void)base, (void)why; /* VACUUM cannot run in the broker's transaction: the DBA's */
    return VG_OK;
}

vg_err
vgb_pg_hold_add(vgb_store *base, const vgb_hold_row *h)
{
    vgb_pg *s = (vgb_pg *)base;
    vg_err err = vgb_pg_need_write(s, "add legal hold");
    if (err != VG_OK) {
        return err;
    }
    vgb_pg_params p = {0};
    vgb_pg_p_bytea(&p, h->id, VG_ALERT_ID_LEN);
    vgb_pg_p_i64(&p, h->held_ms);
    vgb_pg_p_text(&p, h->by);
    vgb_pg_p_text(&p, h->reason);
    uint64_t n = 0;
    err = vgb_pg_change_n(s, VGB_PG_Q_HOLD_ADD, &p, "add legal hold", &n);
    return err == VG_OK && n == 0 ? VG_ERR_CONFLICT : err;
}

/* Calls fn for each hold q returns; *any when there was one. */
static vg_err
s_holds(vgb_pg *s, vgb_pg_q q, vgb_pg_params *p, vgb_hold_fn fn, void *ctx, bool *any)
{
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query(s, q, p, "read legal holds", &err);
    int n = r != NULL ? PQntuples(r) : 0;
    for (int i = 0; i < n; i++) {
        vgb_hold_row h = {.held_ms = vgb_pg_r_i64(r, i, 1),
                          .by = vgb_pg_r_text(r, i, 2),
                          .reason = vgb_pg_r_text(r, i, 3)};
        size_t len = 0;
        const uint8_t *id = vgb_pg_r_bytes(r, i, 0, &len);
        if (id != NULL && len == VG_ALERT_ID_LEN) {
            memcpy(h.id, id, VG_ALERT_ID_LEN);
        }
        *any = true;
        if (fn != NULL) {
            fn(ctx, &h);
        }
    }
    PQclear(r);
    return err;
}

vg_err
vgb_pg_hold_remove(vgb_store *base, const uint8_t id[VG_ALERT_ID_LEN], vgb_hold_fn fn, void *ctx)
{
    vgb_pg *s = (vgb_pg *)base;
    vg_err err = vgb_pg_need_write(s, "lift legal hold");
    if (err != VG_OK) {
        return err;
    }
    vgb_pg_params p = {0};
    vgb_pg_p_bytea(&p, id, VG_ALERT_ID_LEN);
    bool any = false;
    err = s_holds(s, VGB_PG_Q_HOLD_GET, &p, fn, ctx, &any);
    if (err != VG_OK || !any) {
        return err != VG_OK ? err : VG_ERR_NOT_FOUND;
    }
    vgb_pg_params d = {0};
    vgb_pg_p_bytea(&d, id, VG_ALERT_ID_LEN);
    return vgb_pg_change(s, VGB_PG_Q_HOLD_DELETE, &d, "lift legal hold");
}

vg_err
vgb_pg_holds(vgb_store *base, vgb_hold_fn fn, void *ctx)
{
    bool any = false;
    return s_holds((vgb_pg *)base, VGB_PG_Q_HOLDS, NULL, fn, ctx, &any);
}
