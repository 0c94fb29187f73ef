/* store_pg_alerts.c — the PostgreSQL back end's alerts, deliveries,
 * receipts, rejections and network documents (see store.h, store_pg.h). */
#include <stdlib.h>
#include <string.h>

#include "store_pg.h"
#include "vigil.pb-c.h"
#include "vigil/log.h"

/* Why a change failed, for callers that pass a reason. */
static vg_err
s_why(vgb_pg *s, vg_err err, vg_reason *why, const char *what)
{
    if (err != VG_OK) {
        vg_reason_set(why, err, "store %s: %s failed%s%s", s->path, what, s->txn_failed ? ": " : "",
                      s->txn_failed ? s->txn_why : "");
    }
    return err;
}

vg_err
vgb_pg_find_alert(vgb_store *base, const uint8_t id[VG_ALERT_ID_LEN], vgb_alert_row *out)
{
    vgb_pg *s = (vgb_pg *)base;
    vgb_pg_params p = {0};
    vgb_pg_p_bytea(&p, id, VG_ALERT_ID_LEN);
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query(s, VGB_PG_Q_FIND_ALERT, &p, "find alert", &err);
    if (r != NULL) {
        err = VG_ERR_NOT_FOUND;
        if (PQntuples(r) > 0) {
            out->seq = (uint64_t)vgb_pg_r_i64(r, 0, 0);
            err = vgb_pg_r_hash(r, 0, 1, out->envelope_hash) ? VG_OK
                                                             : vgb_pg_damaged(s, "alert hash");
        }
    }
    PQclear(r);
    return err;
}

/* The stored bytes must still be the envelope that was accepted: its body
 * hash is stored beside it. Damaged bytes are never served (as on SQLite). */
static vg_err
s_check_envelope(vgb_pg *s, const uint8_t *env, size_t len, const uint8_t *hash, size_t hash_len)
{
    Vigil__SignedEnvelope *se = vigil__signed_envelope__unpack(NULL, len, env);
    uint8_t h[VG_HASH_LEN];
    bool ok = se != NULL && hash_len == VG_HASH_LEN;
    if (ok) {
        vg_hash(h, se->body.data, se->body.len);
        ok = memcmp(h, hash, VG_HASH_LEN) == 0;
    }
    if (se != NULL) {
        vigil__signed_envelope__free_unpacked(se, NULL);
    }
    return ok ? VG_OK : vgb_pg_damaged(s, "envelope");
}

vg_err
vgb_pg_envelope(vgb_store *base, uint64_t seq, uint8_t **out, size_t *out_len)
{
    vgb_pg *s = (vgb_pg *)base;
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query(s, VGB_PG_Q_ENVELOPE, &p, "read envelope", &err);
    if (r != NULL) {
        err = VG_ERR_NOT_FOUND;
    }
    if (r != NULL && PQntuples(r) > 0) {
        size_t len = 0, hash_len = 0;
        const uint8_t *bytes = vgb_pg_r_bytes(r, 0, 0, &len);
        const uint8_t *hash = vgb_pg_r_bytes(r, 0, 1, &hash_len);
        uint8_t *buf = malloc(len ? len : 1);
        err = buf == NULL ? VG_ERR_NOMEM : s_check_envelope(s, bytes, len, hash, hash_len);
        if (err == VG_OK) {
            memcpy(buf, bytes, len);
            *out = buf;
            *out_len = len;
        } else {
            free(buf);
        }
    }
    PQclear(r);
    return err;
}

vg_err
vgb_pg_same_envelope(vgb_store *base, uint64_t seq, const uint8_t *bytes, size_t len, bool *same)
{
    uint8_t *stored = NULL;
    size_t stored_len = 0;
    vg_err err = vgb_pg_envelope(base, seq, &stored, &stored_len);
    if (err == VG_OK) {
        *same = stored_len == len && memcmp(stored, bytes, len) == 0;
        free(stored);
    }
    return err;
}

vg_err
vgb_pg_sequence_used(vgb_store *base, const char *sender, uint64_t seq, bool *used)
{
    vgb_pg *s = (vgb_pg *)base;
    vgb_pg_params p = {0};
    vgb_pg_p_text(&p, sender);
    vgb_pg_p_i64(&p, (int64_t)seq);
    uint64_t found = 0;
    vg_err err = vgb_pg_u64(s, VGB_PG_Q_SENDER_SEQ, &p, "check sender sequence", &found);
    *used = found != 0;
    return err;
}

/* The parameters of an alert and its recipients; seq 0: the database picks.
 * cats holds the categories text until the statement is sent. */
/* The required row of agency, or NULL. */
static const vgb_required *
s_required(const vgb_required *required, size_t n, const char *agency)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(required[i].agency, agency) == 0) {
            return &required[i];
        }
    }
    return NULL;
}

static void
s_alert_params(vgb_pg_params *p, char *cats, size_t cats_len, const vg_envelope *env,
               int64_t accepted_ms, const vgb_required *required, size_t n_required, uint64_t seq)
{
    vg_strlist_join(cats, cats_len, vg_envelope_categories(env), ",");
    size_t len = 0;
    const uint8_t *bytes = vg_envelope_bytes(env, &len);
    const vg_strlist *rcpts = vg_envelope_recipients(env);
    size_t n = rcpts->n ? rcpts->n : 1;
    bool *req = calloc(n, sizeof *req);
    int64_t *deadline = calloc(n, sizeof *deadline);
    const char **cover = calloc(n, sizeof *cover);
    if (req == NULL || deadline == NULL || cover == NULL) {
        p->failed = true;
        free(req);
        free(deadline);
        free(cover);
        return;
    }
    for (size_t i = 0; i < rcpts->n; i++) {
        const vgb_required *r = s_required(required, n_required, rcpts->items[i]);
        req[i] = r != NULL;
        deadline[i] = r != NULL ? r->deadline_ms : 0;
        cover[i] = r != NULL && r->cover_for != NULL ? r->cover_for : "";
    }
    vgb_pg_p_bytea(p, vg_envelope_id(env), VG_ALERT_ID_LEN);
    vgb_pg_p_text(p, vg_envelope_sender(env));
    vgb_pg_p_i64(p, (int64_t)vg_envelope_sequence(env));
    vgb_pg_p_i64(p, vg_envelope_created_ms(env));
    vgb_pg_p_i64(p, accepted_ms);
    vgb_pg_p_i32(p, (int32_t)vg_envelope_status(env));
    vgb_pg_p_i32(p, (int32_t)vg_envelope_msg_type(env));
    vgb_pg_p_i32(p, (int32_t)vg_envelope_severity(env));
    vgb_pg_p_i32(p, (int32_t)vg_envelope_urgency(env));
    vgb_pg_p_text(p, cats);
    vgb_pg_p_i64(p, (int64_t)vg_envelope_network_version(env));
    vgb_pg_p_bytea(p, vg_envelope_hash(env), VG_HASH_LEN);
    vgb_pg_p_bytea(p, bytes, len);
    if (seq != 0) {
        vgb_pg_p_i64(p, (int64_t)seq);
    } else {
        vgb_pg_p_null(p);
    }
    vgb_pg_p_text_array(p, (const char *const *)rcpts->items, rcpts->n);
    vgb_pg_p_bool_array(p, req, rcpts->n);
    vgb_pg_p_i64_array(p, deadline, rcpts->n);
    vgb_pg_p_text_array(p, cover, rcpts->n);
    free(req);
    free(deadline);
    free(cover);
}

vg_err
vgb_pg_insert_alert(vgb_store *base, const vg_envelope *env, int64_t accepted_ms,
                    const vgb_required *required, size_t n_required, uint64_t *seq_out,
                    vg_reason *why)
{
    vgb_pg *s = (vgb_pg *)base;
    vg_err err = vgb_pg_need_write(s, "insert alert");
    if (err != VG_OK) {
        return vg_reason_set(why, err, "store %s: insert alert outside a transaction", s->path);
    }
    vgb_pg_params p = {0};
    char cats[VG_CATEGORIES_MAX * 64];
    s_alert_params(&p, cats, sizeof cats, env, accepted_ms, required, n_required, s->next_seq);
    if (s->next_seq != 0) { /* this transaction knows the next seq: no need to wait */
        uint64_t seq = s->next_seq;
        err = vgb_pg_change(s, VGB_PG_Q_INSERT_ALERT, &p, "insert alert");
        if (err == VG_OK) {
            *seq_out = seq;
            s->next_seq = seq + 1;
        }
        return s_why(s, err, why, "insert alert");
    }
    PGresult *r = vgb_pg_query(s, VGB_PG_Q_INSERT_ALERT, &p, "insert alert", &err);
    if (r != NULL && PQntuples(r) == 1) {
        *seq_out = (uint64_t)vgb_pg_r_i64(r, 0, 0);
        s->next_seq = *seq_out + 1;
    } else if (r != NULL) {
        err = VG_ERR_INTERNAL;
    }
    PQclear(r);
    return s_why(s, err, why, "insert alert");
}

vg_err
vgb_pg_find_alert_for(vgb_store *base, const uint8_t id[VG_ALERT_ID_LEN], const char *agency,
                      vgb_alert_row *out, bool *is_recipient)
{
    vgb_pg *s = (vgb_pg *)base;
    vgb_pg_params p = {0};
    vgb_pg_p_bytea(&p, id, VG_ALERT_ID_LEN);
    vgb_pg_p_text(&p, agency);
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query(s, VGB_PG_Q_FIND_FOR, &p, "read alert", &err);
    if (r != NULL) {
        err = VG_ERR_NOT_FOUND;
        if (PQntuples(r) > 0 && vgb_pg_r_hash(r, 0, 1, out->envelope_hash)) {
            out->seq = (uint64_t)vgb_pg_r_i64(r, 0, 0);
            *is_recipient = vgb_pg_r_bool(r, 0, 2);
            err = VG_OK;
        } else if (PQntuples(r) > 0) {
            err = vgb_pg_damaged(s, "alert hash");
        }
    }
    PQclear(r);
    return err;
}

vg_err
vgb_pg_mark_delivered(vgb_store *base, uint64_t seq, const char *agency, int64_t ms, bool *changed)
{
    vgb_pg *s = (vgb_pg *)base;
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    vgb_pg_p_text(&p, agency);
    vgb_pg_p_i64(&p, ms);
    uint64_t n = 0;
    vg_err err = vgb_pg_change_n(s, VGB_PG_Q_MARK_DELIVERED, &p, "mark delivered", &n);
    if (err == VG_OK) {
        *changed = n > 0;
    }
    return err;
}

vg_err
vgb_pg_insert_receipt(vgb_store *base, const vg_receipt *r, const uint64_t *seqs, size_t n_seqs,
                      int64_t received_ms)
{
    vgb_pg *s = (vgb_pg *)base;
    int64_t *items = malloc((n_seqs ? n_seqs : 1) * sizeof *items);
    if (items == NULL) {
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < n_seqs; i++) {
        items[i] = (int64_t)seqs[i];
    }
    size_t len = 0;
    const uint8_t *bytes = vg_receipt_bytes(r, &len);
    vgb_pg_params p = {0};
    vgb_pg_p_text(&p, vg_receipt_agency(r));
    vgb_pg_p_i32(&p, (int32_t)vg_receipt_kind_of(r));
    vgb_pg_p_i64(&p, vg_receipt_created_ms(r));
    vgb_pg_p_i64(&p, received_ms);
    vgb_pg_p_bytea(&p, vg_receipt_hash(r), VG_HASH_LEN);
    vgb_pg_p_bytea(&p, bytes, len);
    vgb_pg_p_i64_array(&p, items, n_seqs);
    free(items);
    return vgb_pg_change(s, VGB_PG_Q_INSERT_RECEIPT, &p, "insert receipt");
}

vg_err
vgb_pg_receipt_leaf(vgb_store *base, const uint8_t hash[VG_HASH_LEN], uint64_t leaf_idx, bool *set)
{
    vgb_pg *s = (vgb_pg *)base;
    vgb_pg_params p = {0};
    vgb_pg_p_bytea(&p, hash, VG_HASH_LEN);
    vgb_pg_p_i64(&p, (int64_t)leaf_idx);
    uint64_t n = 0;
    vg_err err = vgb_pg_change_n(s, VGB_PG_Q_RECEIPT_LEAF, &p, "link receipt leaf", &n);
    *set = err == VG_OK && n > 0;
    return err;
}

vg_err
vgb_pg_insert_rejection(vgb_store *base, int64_t ms, const char *agency, const uint8_t *alert_id,
                        const char *code, const char *reason)
{
    vgb_pg *s = (vgb_pg *)base;
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, ms);
    vgb_pg_p_text(&p, agency);
    vgb_pg_p_bytea(&p, alert_id, alert_id != NULL ? VG_ALERT_ID_LEN : 0);
    vgb_pg_p_text(&p, code);
    vgb_pg_p_text(&p, reason);
    return vgb_pg_change(s, VGB_PG_Q_INSERT_REJECTION, &p, "insert rejection");
}

vg_err
vgb_pg_pending(vgb_store *base, const char *agency, int64_t now_ms, size_t limit, vgb_pending_fn fn,
               void *ctx)
{
    vgb_pg *s = (vgb_pg *)base;
    vgb_pg_params p = {0};
    vgb_pg_p_text(&p, agency);
    vgb_pg_p_i64(&p, now_ms);
    vgb_pg_p_limit(&p, limit);
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query(s, VGB_PG_Q_PENDING, &p, "list pending", &err);
    for (int i = 0; r != NULL && i < PQntuples(r); i++) {
        if (!fn(ctx, (uint64_t)vgb_pg_r_i64(r, i, 0))) {
            break;
        }
    }
    PQclear(r);
    return err;
}

vg_err
vgb_pg_park(vgb_store *base, uint64_t seq, const char *agency, int64_t now_ms, int64_t first_ms,
            int64_t max_ms, int64_t *next_out)
{
    vgb_pg *s = (vgb_pg *)base;
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)seq);
    vgb_pg_p_text(&p, agency);
    vgb_pg_p_i64(&p, now_ms);
    vgb_pg_p_i64(&p, first_ms);
    vgb_pg_p_i64(&p, max_ms);
    if (next_out == NULL) { /* nothing to wait for */
        return vgb_pg_change(s, VGB_PG_Q_PARK, &p, "park delivery");
    }
    vg_err err = vgb_pg_need_write(s, "park delivery");
    PGresult *r = err == VG_OK ? vgb_pg_query(s, VGB_PG_Q_PARK, &p, "park delivery", &err) : NULL;
    vgb_pg_params_fini(&p);
    if (r != NULL) {
        *next_out = PQntuples(r) > 0 ? vgb_pg_r_i64(r, 0, 0) : 0;
    }
    PQclear(r);
    return err;
}

vg_err
vgb_pg_next_try(vgb_store *base, const char *agency, int64_t now_ms, int64_t *out)
{
    vgb_pg *s = (vgb_pg *)base;
    vgb_pg_params p = {0};
    vgb_pg_p_text(&p, agency);
    vgb_pg_p_i64(&p, now_ms);
    uint64_t v = 0;
    vg_err err = vgb_pg_u64(s, VGB_PG_Q_NEXT_TRY, &p, "next delivery retry", &v);
    *out = (int64_t)v;
    return err;
}

vg_err
vgb_pg_count_pending(vgb_store *base, const char *agency, uint64_t *out)
{
    vgb_pg_params p = {0};
    vgb_pg_p_text(&p, agency);
    return vgb_pg_u64((vgb_pg *)base, VGB_PG_Q_COUNT_PENDING, &p, "count pending", out);
}

vg_err
vgb_pg_count_alerts(vgb_store *base, uint64_t *out)
{
    return vgb_pg_u64((vgb_pg *)base, VGB_PG_Q_COUNT_ALERTS, NULL, "count alerts", out);
}

vg_err
vgb_pg_network_version(vgb_store *base, uint64_t *out)
{
    return vgb_pg_u64((vgb_pg *)base, VGB_PG_Q_NETWORK_VERSION, NULL, "read network version", out);
}

vg_err
vgb_pg_set_network_version(vgb_store *base, uint64_t version, vg_reason *why)
{
    vgb_pg *s = (vgb_pg *)base;
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)version);
    vg_err err = vgb_pg_change(s, VGB_PG_Q_SET_NETWORK_VERSION, &p, "record network version");
    return s_why(s, err, why, "record network version");
}

vg_err
vgb_pg_add_network_document(vgb_store *base, uint64_t version, const uint8_t *bytes, size_t len,
                            vg_reason *why)
{
    vgb_pg *s = (vgb_pg *)base;
    vgb_pg_params p = {0};
    vgb_pg_p_i64(&p, (int64_t)version);
    vgb_pg_p_bytea(&p, bytes, len);
    vg_err err = vgb_pg_change(s, VGB_PG_Q_ADD_NETDOC, &p, "record network document");
    return s_why(s, err, why, "record network document");
}

vg_err
vgb_pg_network_documents(vgb_store *base, vgb_netdoc_fn fn, void *ctx)
{
    vgb_pg *s = (vgb_pg *)base;
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query(s, VGB_PG_Q_NETDOCS, NULL, "read network documents", &err);
    for (int i = 0; r != NULL && i < PQntuples(r); i++) {
        size_t len = 0;
        const uint8_t *doc = vgb_pg_r_bytes(r, i, 1, &len);
        fn(ctx, (uint64_t)vgb_pg_r_i64(r, i, 0), doc ? doc : (const uint8_t *)"", len);
    }
    PQclear(r);
    return err;
}

vg_err
vgb_pg_sender_bytes(vgb_store *base, const char *sender, int64_t since_ms, int64_t period_ms,
                    vgb_bytes_per_fn fn, void *ctx)
{
    vgb_pg *s = (vgb_pg *)base;
    vgb_pg_params p = {0};
    vgb_pg_p_text(&p, sender);
    vgb_pg_p_i64(&p, since_ms);
    vgb_pg_p_i64(&p, period_ms > 0 ? period_ms : 1);
    vg_err err = VG_OK;
    PGresult *r = vgb_pg_query(s, VGB_PG_Q_SENDER_BYTES, &p, "read stored bytes", &err);
    for (int i = 0; r != NULL && i < PQntuples(r); i++) {
        fn(ctx, vgb_pg_r_i64(r, i, 0), (uint64_t)vgb_pg_r_i64(r, i, 1));
    }
    PQclear(r);
    return err;
}
