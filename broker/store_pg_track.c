/* store_pg_track.c — the PostgreSQL back end's acknowledgement-tracking
 * rows: recipient states, deadlines, escalation levels, shares, completion
 * and the per-agency event streams (see store.h, store_pg.h). */
#include <stdlib.h>
#include <string.h>

#include "store_pg.h"

/* Columns of S_RROW_COLS (store_pg_sql.c). */
static void
s_read_rrow(const PGresult *r, int i, vgb_rrow *out)
{
    out->seq = (uint64_t)vgb_pg_r_i64(r, i, 0);
    vgb_pg_r_copy(out->agency, sizeof out->agency, r, i, 1);
    out->required = vgb_pg_r_bool(r, i, 2);
    out->state = (vgb_rstate)vgb_pg_r_i64(r, i, 3);
    out->deadline_ms = vgb_pg_r_i64(r, i, 4);
    out->delivered_ms = vgb_pg_r_i64(r, i, 5);
    out->acked_ms = vgb_pg_r_i64(r, i, 6);
    out->state_ms = vgb_pg_r_i64(r, i, 7);
    out->overdue_ms = vgb_pg_r_i64(r, i, 8);
    out->progress_used = vgb_pg_r_bool(r, i, 9);
    out->esc_level = (uint32_t)vgb_pg_r_i64(r, i, 10);
    vgb_pg_r_copy(out->shared_by, sizeof out->shared_by, r, i, 11);
    out->tries = (uint32_t)vgb_pg_r_i64(r, i, 15);
    vgb_pg_r_copy(out->cover_for, sizeof out->cover_for, r, i, 16);
}

/* Runs a recipient-row query and calls fn for each row. */
static vg_err
s_each_rrow(vgb_pg *s, vgb_pg_q q, vgb_pg_params *p, vgb_rrow_fn fn, void *ctx)
{
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query(s, q, p, "read recipients", &err);
    for (int i = 0; r != NULL && i < PQntuples(r); i++) {
        vgb_rrow row;
        s_read_rrow(r, i, &row);
        fn(ctx, &row, vgb_pg_r_text(r, i, 12), vgb_pg_r_text(r, i, 13), vgb_pg_r_text(r, i, 14));
    }
    PQclear(r);
    return err;
}

vg_err
vgb_pg_alert_meta(vgb_store *base, uint64_t seq, vgb_alert_meta *out)
{
    vgb_pg *s = (vgb_pg *)base;
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query(s, VGB_PG_Q_ALERT_META, &p, "read alert", &err);
    size_t id_len = 0;
    const uint8_t *id = r != NULL && PQntuples(r) > 0 ? vgb_pg_r_bytes(r, 0, 1, &id_len) : NULL;
    if (r != NULL) {
        err = VG_ERR_NOT_FOUND; /* as on SQLite: a damaged id reads as no alert */
    }
    if (id != NULL && id_len == VG_ALERT_ID_LEN) {
        out->seq = (uint64_t)vgb_pg_r_i64(r, 0, 0);
        memcpy(out->id, id, VG_ALERT_ID_LEN);
        vgb_pg_r_copy(out->sender, sizeof out->sender, r, 0, 2);
        out->created_ms = vgb_pg_r_i64(r, 0, 3);
        out->accepted_ms = vgb_pg_r_i64(r, 0, 4);
        out->severity = (int)vgb_pg_r_i64(r, 0, 5);
        out->urgency = (int)vgb_pg_r_i64(r, 0, 6);
        out->status = (int)vgb_pg_r_i64(r, 0, 7);
        out->msg_type = (int)vgb_pg_r_i64(r, 0, 8);
        vgb_pg_r_copy(out->categories, sizeof out->categories, r, 0, 9);
        out->complete_ms = vgb_pg_r_i64(r, 0, 10);
        err = VG_OK;
    }
    PQclear(r);
    return err;
}

typedef struct s_one {
    vgb_rrow *out; /* where the row goes */
    bool found;    /* a row came */
} s_one;

static void
s_one_row(void *ctx, const vgb_rrow *r, const char *officer, const char *note, const char *reason)
{
    (void)officer, (void)note, (void)reason;
    s_one *o = ctx;
    *o->out = *r;
    o->found = true;
}

vg_err
vgb_pg_rrow(vgb_store *base, uint64_t seq, const char *agency, vgb_rrow *out)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    vgb_pg_p_text(&p, agency);
    s_one o = {out, false};
    vg_err err = s_each_rrow((vgb_pg *)base, VGB_PG_Q_RROW, &p, s_one_row, &o);
    return err != VG_OK ? err : o.found ? VG_OK : VG_ERR_NOT_FOUND;
}

vg_err
vgb_pg_recipients_of(vgb_store *base, uint64_t seq, vgb_rrow_fn fn, void *ctx)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    return s_each_rrow((vgb_pg *)base, VGB_PG_Q_RECIPIENTS_OF, &p, fn, ctx);
}

vg_err
vgb_pg_open_rows(vgb_store *base, uint32_t max_level, int64_t after_ms, int64_t upto_ms,
                 int64_t limit, vgb_rrow_fn fn, void *ctx)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, max_level);
    vgb_pg_p_i64(&p, after_ms);
    vgb_pg_p_i64(&p, upto_ms);
    vgb_pg_p_limit(&p, limit < 0 ? UINT64_MAX : (uint64_t)limit);
    return s_each_rrow((vgb_pg *)base, VGB_PG_Q_OPEN_ROWS, &p, fn, ctx);
}

vg_err
vgb_pg_apply_receipt(vgb_store *base, uint64_t seq, const char *agency, vgb_rstate state,
                     int64_t now_ms, const char *officer, const char *note, const char *reason,
                     int64_t deadline_ms)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    vgb_pg_p_text(&p, agency);
    vgb_pg_p_i32(&p, (int32_t)state);
    vgb_pg_p_i64(&p, now_ms);
    vgb_pg_p_text_or_null(&p, officer);
    vgb_pg_p_text_or_null(&p, note);
    vgb_pg_p_text_or_null(&p, reason);
    vgb_pg_p_i64(&p, deadline_ms);
    return vgb_pg_change((vgb_pg *)base, VGB_PG_Q_APPLY_RECEIPT, &p, "apply receipt");
}

vg_err
vgb_pg_set_escalation(vgb_store *base, uint64_t seq, const char *agency, uint32_t level,
                      int64_t now_ms)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    vgb_pg_p_text(&p, agency);
    vgb_pg_p_i64(&p, level);
    vgb_pg_p_i64(&p, now_ms);
    return vgb_pg_change((vgb_pg *)base, VGB_PG_Q_SET_ESCALATION, &p, "set escalation");
}

vg_err
vgb_pg_add_recipient(vgb_store *base, uint64_t seq, const char *agency, const char *shared_by,
                     int64_t deadline_ms)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    vgb_pg_p_text(&p, agency);
    vgb_pg_p_i64(&p, deadline_ms);
    vgb_pg_p_text(&p, shared_by);
    uint64_t n = 0;
    vg_err err = vgb_pg_change_n((vgb_pg *)base, VGB_PG_Q_ADD_RECIPIENT, &p, "add recipient", &n);
    return err == VG_OK && n == 0 ? VG_ERR_CONFLICT : err; /* a recipient already, or no alert */
}

vg_err
vgb_pg_insert_share(vgb_store *base, uint64_t seq, const char *sharer, const char *to,
                    const uint8_t hash[VG_HASH_LEN], const uint8_t *bytes, size_t len,
                    int64_t received_ms)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    vgb_pg_p_text(&p, sharer);
    vgb_pg_p_text(&p, to);
    vgb_pg_p_i64(&p, received_ms);
    vgb_pg_p_bytea(&p, hash, VG_HASH_LEN);
    vgb_pg_p_bytea(&p, bytes, len);
    uint64_t n = 0;
    vg_err err = vgb_pg_change_n((vgb_pg *)base, VGB_PG_Q_INSERT_SHARE, &p, "insert share", &n);
    return err == VG_OK && n == 0 ? VG_ERR_CONFLICT : err; /* stored already, or no alert */
}

vg_err
vgb_pg_shares_to(vgb_store *base, uint64_t seq, const char *to, vgb_bytes_fn fn, void *ctx)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    vgb_pg_p_text(&p, to);
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query((vgb_pg *)base, VGB_PG_Q_SHARES_TO, &p, "read shares", &err);
    for (int i = 0; r != NULL && i < PQntuples(r); i++) {
        size_t len = 0;
        const uint8_t *b = vgb_pg_r_bytes(r, i, 0, &len);
        fn(ctx, b ? b : (const uint8_t *)"", len);
    }
    PQclear(r);
    return err;
}

vg_err
vgb_pg_check_complete(vgb_store *base, uint64_t seq, int64_t ms, bool *now_complete)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    vgb_pg_p_i64(&p, ms);
    uint64_t n = 0;
    vg_err err = vgb_pg_change_n((vgb_pg *)base, VGB_PG_Q_CHECK_COMPLETE, &p, "check complete", &n);
    *now_complete = err == VG_OK && n > 0;
    return err;
}

/* The alert seqs of an event run's `more` column: 8 bytes little-endian. */
static void
s_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint64_t
s_get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

vg_err
vgb_pg_last_event(vgb_store *base, const char *agency, uint64_t *out)
{
    vgb_pg_params p = {0};
    vgb_pg_p_text(&p, agency);
    return vgb_pg_u64((vgb_pg *)base, VGB_PG_Q_LAST_EVENT, &p, "read event number", out);
}

vg_err
vgb_pg_insert_events(vgb_store *base, const char *agency, const vgb_event_row *first,
                     const uint64_t *more, size_t n_more)
{
    uint8_t *packed = NULL;
    if (n_more > 0 && (packed = malloc(n_more * 8)) == NULL) {
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < n_more; i++) {
        s_put_le64(packed + 8 * i, more[i]);
    }
    vgb_pg_params p = {0};
    vgb_pg_p_text(&p, agency);
    vgb_pg_p_i64(&p, (int64_t)first->seq);
    vgb_pg_p_i64(&p, (int64_t)(1 + n_more));
    vgb_pg_p_i64(&p, first->time_ms);
    vgb_pg_p_i32(&p, first->kind);
    if (first->alert_seq != 0) {
        vgb_pg_p_i64(&p, (int64_t)first->alert_seq);
    } else {
        vgb_pg_p_null(&p);
    }
    vgb_pg_p_text(&p, first->about ? first->about : "");
    vgb_pg_p_text(&p, first->detail ? first->detail : "");
    vgb_pg_p_i64(&p, first->count);
    vgb_pg_p_i64(&p, first->level);
    vgb_pg_p_bytea(&p, first->receipt, first->receipt_len);
    vgb_pg_p_bytea(&p, packed, n_more * 8);
    vg_err err = vgb_pg_change((vgb_pg *)base, VGB_PG_Q_INSERT_EVENTS, &p, "insert event");
    free(packed); /* sent: libpq copied it */
    return err;
}

/* Calls fn for the events of row i after `after`, up to limit in all. */
static bool
s_expand_run(const PGresult *r, int i, uint64_t after, size_t limit, size_t *given, vgb_event_fn fn,
             void *ctx)
{
    uint64_t n = (uint64_t)vgb_pg_r_i64(r, i, 1);
    size_t more_len = 0;
    const uint8_t *more = vgb_pg_r_bytes(r, i, 10, &more_len);
    if (n < 1 || (uint64_t)more_len != (n - 1) * 8) {
        return false;
    }
    size_t receipt_len = 0;
    const uint8_t *receipt = vgb_pg_r_bytes(r, i, 9, &receipt_len);
    vgb_event_row ev = {
        .seq = (uint64_t)vgb_pg_r_i64(r, i, 0),
        .time_ms = vgb_pg_r_i64(r, i, 2),
        .kind = (int)vgb_pg_r_i64(r, i, 3),
        .alert_seq = (uint64_t)vgb_pg_r_i64(r, i, 4),
        .about = vgb_pg_r_text(r, i, 5),
        .detail = vgb_pg_r_text(r, i, 6),
        .count = (uint32_t)vgb_pg_r_i64(r, i, 7),
        .level = (uint32_t)vgb_pg_r_i64(r, i, 8),
        .receipt = receipt,
        .receipt_len = receipt_len,
    };
    for (uint64_t k = 0; k < n && *given < limit; k++, ev.seq++) {
        if (k > 0) {
            ev.alert_seq = s_get_le64(more + 8 * (k - 1));
        }
        if (ev.seq > after) {
            fn(ctx, &ev);
            (*given)++;
        }
    }
    return true;
}

vg_err
vgb_pg_events_after(vgb_store *base, const char *agency, uint64_t after, size_t limit,
                    vgb_event_fn fn, void *ctx)
{
    vgb_pg *s = (vgb_pg *)base;
    vgb_pg_params p = {0};
    vgb_pg_p_text(&p, agency);
    vgb_pg_p_i64(&p, (int64_t)after);
    vgb_pg_p_limit(&p, limit); /* rows: each holds one event or more */
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query(s, VGB_PG_Q_EVENTS_AFTER, &p, "read events", &err);
    size_t given = 0;
    for (int i = 0; r != NULL && i < PQntuples(r) && given < limit; i++) {
        if (!s_expand_run(r, i, after, limit, &given, fn, ctx)) {
            err = vgb_pg_damaged(s, "event run");
            break;
        }
    }
    PQclear(r);
    return err;
}

vg_err
vgb_pg_outstanding(vgb_store *base, const char *agency, uint64_t after_seq, size_t limit,
                   vgb_seq_fn fn, void *ctx)
{
    vgb_pg_params p = {0};
    if (agency != NULL) {
        vgb_pg_p_text(&p, agency);
    }
    vgb_pg_p_limit(&p, limit);
    vgb_pg_p_i64(&p, (int64_t)after_seq);
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query((vgb_pg *)base,
                               agency ? VGB_PG_Q_OUTSTANDING_AGENCY : VGB_PG_Q_OUTSTANDING_ALL, &p,
                               "list outstanding", &err);
    for (int i = 0; r != NULL && i < PQntuples(r); i++) {
        if (!fn(ctx, (uint64_t)vgb_pg_r_i64(r, i, 0))) {
            break;
        }
    }
    PQclear(r);
    return err;
}

vg_err
vgb_pg_alert_leaves(vgb_store *base, uint64_t seq, vgb_index_fn fn, void *ctx)
{
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    vg_err err = VG_OK;
    PGresult *r =
        vgb_pg_query((vgb_pg *)base, VGB_PG_Q_ALERT_LEAVES, &p, "read alert leaves", &err);
    for (int i = 0; r != NULL && i < PQntuples(r); i++) {
        fn(ctx, (uint64_t)vgb_pg_r_i64(r, i, 0));
    }
    PQclear(r);
    return err;
}

vg_err
vgb_pg_count_waiting(vgb_store *base, const char *agency, uint64_t limit, uint64_t *out)
{
    vgb_pg_params p = {0};
    vgb_pg_p_text(&p, agency);
    vgb_pg_p_limit(&p, limit == 0 ? UINT64_MAX : limit);
    return vgb_pg_u64((vgb_pg *)base, VGB_PG_Q_COUNT_WAITING, &p, "count waiting", out);
}

vg_err
vgb_pg_shift_times(vgb_store *base, int64_t delta_ms)
{
    vgb_pg *s = (vgb_pg *)base;
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, delta_ms);
    vg_err err = vgb_pg_change(s, VGB_PG_Q_SHIFT_DEADLINES, &p, "shift deadlines");
    if (err == VG_OK) {
        vgb_pg_params q = {0};
        vgb_pg_p_i64(&q, delta_ms);
        err = vgb_pg_change(s, VGB_PG_Q_SHIFT_TRIES, &q, "shift next tries");
    }
    return err;
}
