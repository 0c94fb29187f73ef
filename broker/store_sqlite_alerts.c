/* store_sqlite_alerts.c — the SQLite back end's alerts, their deliveries,
 * receipts and rejections, and the network documents served (see store.h,
 * store_sqlite.h). The hot statements are prepared once at open. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_sqlite.h"
#include "vigil.pb-c.h"
#include "vigil/log.h"

enum {
    S_FIND_ALERT,
    S_ENVELOPE,
    S_SENDER_SEQ,
    S_INSERT_ALERT,
    S_INSERT_RECIPIENT,
    S_FIND_FOR,
    S_MARK_DELIVERED,
    S_INSERT_RECEIPT,
    S_RECEIPT_ID,
    S_RECEIPT_LEAF,
    S_INSERT_RECEIPT_ITEM,
    S_INSERT_REJECTION,
    S_PENDING,
    S_COUNT_PENDING,
    S_COUNT_ALERTS,
    S_N_STMTS
};

static const char *const s_sql[S_N_STMTS] = {
    [S_FIND_ALERT] = "SELECT seq, envelope_hash FROM alerts WHERE alert_id = ?1",
    [S_ENVELOPE] = "SELECT envelope, envelope_hash FROM alerts WHERE seq = ?1",
    [S_SENDER_SEQ] = "SELECT 1 FROM alerts WHERE sender = ?1 AND sender_seq = ?2",
    [S_INSERT_ALERT] =
        "INSERT INTO alerts(alert_id, sender, sender_seq, created_ms, accepted_ms, status,"
        " msg_type, severity, urgency, categories, network_version, envelope_hash, envelope)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [S_INSERT_RECIPIENT] = "INSERT INTO recipients(alert_seq, agency, required, state,"
                           " deadline_ms, cover_for) VALUES (?1, ?2, ?3, 1, ?4, ?5)",
    [S_FIND_FOR] = "SELECT a.seq, a.envelope_hash, r.state IS NOT NULL FROM alerts a"
                   " LEFT JOIN recipients r ON r.alert_seq = a.seq AND r.agency = ?2"
                   " WHERE a.alert_id = ?1",
    [S_MARK_DELIVERED] = "UPDATE recipients SET state = 2, delivered_ms = ?3"
                         " WHERE alert_seq = ?1 AND agency = ?2 AND state = 1",
    [S_INSERT_RECEIPT] =
        "INSERT OR IGNORE INTO receipts(agency, kind, created_ms, received_ms, receipt_hash,"
        " receipt) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_RECEIPT_ID] = "SELECT id FROM receipts WHERE receipt_hash = ?1",
    [S_RECEIPT_LEAF] =
        "UPDATE receipts SET leaf_idx = ?2 WHERE receipt_hash = ?1 AND leaf_idx IS NULL",
    [S_INSERT_RECEIPT_ITEM] = "INSERT OR IGNORE INTO receipt_items(receipt_id, alert_seq)"
                              " VALUES (?1, ?2)",
    [S_INSERT_REJECTION] = "INSERT INTO rejections(at_ms, agency, alert_id, code, reason)"
                           " VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_PENDING] = "SELECT alert_seq FROM recipients WHERE agency = ?1 AND state = 1"
                  " AND next_try_ms <= ?2 ORDER BY next_try_ms, alert_seq LIMIT ?3",
    [S_COUNT_PENDING] = "SELECT count(*) FROM recipients WHERE agency = ?1 AND state = 1",
    [S_COUNT_ALERTS] = "SELECT count(*) FROM alerts",
};

_Static_assert(S_N_STMTS <= VGB_SQLITE_FIXED_STMTS, "fixed statements");

static sqlite3_stmt *
s_stmt(vgb_sqlite *s, int which)
{
    sqlite3_stmt *st = s->stmt[which];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

vg_err
vgb_sqlite_prepare_fixed(vgb_sqlite *s, vg_reason *why)
{
    for (int i = 0; i < S_N_STMTS; i++) {
        int rc =
            sqlite3_prepare_v3(s->db, s_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL);
        if (rc != SQLITE_OK) {
            return vgb_sqlite_fail_why(s, rc, "prepare", why);
        }
    }
    return VG_OK;
}

vg_err
vgb_sqlite_find_alert(vgb_store *base, const uint8_t id[VG_ALERT_ID_LEN], vgb_alert_row *out)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = s_stmt(s, S_FIND_ALERT);
    sqlite3_bind_blob(st, 1, id, VG_ALERT_ID_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    vg_err err = VG_ERR_NOT_FOUND;
    if (rc == SQLITE_ROW) {
        out->seq = (uint64_t)sqlite3_column_int64(st, 0);
        if (sqlite3_column_bytes(st, 1) == VG_HASH_LEN) {
            memcpy(out->envelope_hash, sqlite3_column_blob(st, 1), VG_HASH_LEN);
            err = VG_OK;
        } else {
            err = vgb_sqlite_fail_why(s, SQLITE_CORRUPT, "read alert", NULL);
        }
    } else if (rc != SQLITE_DONE) {
        err = vgb_sqlite_fail_why(s, rc, "find alert", NULL);
    }
    sqlite3_reset(st);
    return err;
}

/* The stored bytes must still be the envelope that was accepted: its body
 * hash is stored beside it. Damaged bytes are never served. */
static vg_err
s_check_envelope(vgb_sqlite *s, uint64_t seq, const uint8_t *env, size_t len, const void *hash,
                 size_t hash_len)
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
    if (!ok) {
        vg_log(VG_LOG_ERROR, "broker", "store.damaged", "path=%s alert_seq=%llu detail=envelope",
               s->path, (unsigned long long)seq);
        return VG_ERR_MALFORMED;
    }
    return VG_OK;
}

vg_err
vgb_sqlite_envelope(vgb_store *base, uint64_t seq, uint8_t **out, size_t *out_len)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = s_stmt(s, S_ENVELOPE);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    int rc = sqlite3_step(st);
    vg_err err = VG_ERR_NOT_FOUND;
    if (rc == SQLITE_ROW) {
        size_t len = (size_t)sqlite3_column_bytes(st, 0);
        uint8_t *buf = malloc(len ? len : 1);
        if (buf == NULL) {
            err = VG_ERR_NOMEM;
        } else {
            memcpy(buf, sqlite3_column_blob(st, 0), len);
            err = s_check_envelope(s, seq, buf, len, sqlite3_column_blob(st, 1),
                                   (size_t)sqlite3_column_bytes(st, 1));
        }
        if (err == VG_OK) {
            *out = buf;
            *out_len = len;
        } else {
            free(buf);
        }
    } else if (rc != SQLITE_DONE) {
        err = vgb_sqlite_fail_why(s, rc, "read envelope", NULL);
    }
    sqlite3_reset(st);
    return err;
}

vg_err
vgb_sqlite_same_envelope(vgb_store *base, uint64_t seq, const uint8_t *bytes, size_t len,
                         bool *same)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    uint8_t *stored = NULL;
    size_t stored_len = 0;
    vg_err err = vgb_store_envelope(&s->base, seq, &stored, &stored_len);
    if (err == VG_OK) {
        *same = stored_len == len && memcmp(stored, bytes, len) == 0;
        free(stored);
    }
    return err;
}

vg_err
vgb_sqlite_u64(vgb_sqlite *s, sqlite3_stmt *st, uint64_t *out, const char *what)
{
    int rc = sqlite3_step(st);
    vg_err err = VG_OK;
    if (rc == SQLITE_ROW) {
        *out = (uint64_t)sqlite3_column_int64(st, 0);
    } else if (rc == SQLITE_DONE) {
        *out = 0;
    } else {
        err = vgb_sqlite_fail_why(s, rc, what, NULL);
    }
    sqlite3_reset(st);
    return err;
}

vg_err
vgb_sqlite_sequence_used(vgb_store *base, const char *sender, uint64_t seq, bool *used)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = s_stmt(s, S_SENDER_SEQ);
    sqlite3_bind_text(st, 1, sender, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
    uint64_t found = 0;
    vg_err err = vgb_sqlite_u64(s, st, &found, "check sender sequence");
    *used = found != 0;
    return err;
}

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

vg_err
vgb_sqlite_insert_alert(vgb_store *base, const vg_envelope *env, int64_t accepted_ms,
                        const vgb_required *required, size_t n_required, uint64_t *seq_out,
                        vg_reason *why)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    char cats[VG_CATEGORIES_MAX * 64];
    vg_strlist_join(cats, sizeof cats, vg_envelope_categories(env), ",");
    size_t len = 0;
    const uint8_t *bytes = vg_envelope_bytes(env, &len);
    sqlite3_stmt *st = s_stmt(s, S_INSERT_ALERT);
    sqlite3_bind_blob(st, 1, vg_envelope_id(env), VG_ALERT_ID_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, vg_envelope_sender(env), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)vg_envelope_sequence(env));
    sqlite3_bind_int64(st, 4, vg_envelope_created_ms(env));
    sqlite3_bind_int64(st, 5, accepted_ms);
    sqlite3_bind_int(st, 6, (int)vg_envelope_status(env));
    sqlite3_bind_int(st, 7, (int)vg_envelope_msg_type(env));
    sqlite3_bind_int(st, 8, (int)vg_envelope_severity(env));
    sqlite3_bind_int(st, 9, (int)vg_envelope_urgency(env));
    sqlite3_bind_text(st, 10, cats, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 11, (sqlite3_int64)vg_envelope_network_version(env));
    sqlite3_bind_blob(st, 12, vg_envelope_hash(env), VG_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(st, 13, bytes, (int)len, SQLITE_STATIC);
    vg_err err = vgb_sqlite_exec_why(s, st, "insert alert", why);
    if (err != VG_OK) {
        return err;
    }
    uint64_t seq = (uint64_t)sqlite3_last_insert_rowid(s->db);
    const vg_strlist *rcpts = vg_envelope_recipients(env);
    for (size_t i = 0; i < rcpts->n && err == VG_OK; i++) {
        st = s_stmt(s, S_INSERT_RECIPIENT);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
        sqlite3_bind_text(st, 2, rcpts->items[i], -1, SQLITE_STATIC);
        const vgb_required *req = s_required(required, n_required, rcpts->items[i]);
        sqlite3_bind_int(st, 3, req != NULL);
        sqlite3_bind_int64(st, 4, req != NULL ? req->deadline_ms : 0);
        if (req != NULL && req->cover_for != NULL && req->cover_for[0] != '\0') {
            sqlite3_bind_text(st, 5, req->cover_for, -1, SQLITE_STATIC);
        } else {
            sqlite3_bind_null(st, 5);
        }
        err = vgb_sqlite_exec_why(s, st, "insert recipient", why);
    }
    if (err == VG_OK) {
        *seq_out = seq;
    }
    return err;
}

vg_err
vgb_sqlite_find_alert_for(vgb_store *base, const uint8_t id[VG_ALERT_ID_LEN], const char *agency,
                          vgb_alert_row *out, bool *is_recipient)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = s_stmt(s, S_FIND_FOR);
    sqlite3_bind_blob(st, 1, id, VG_ALERT_ID_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, agency, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    vg_err err = VG_ERR_NOT_FOUND;
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 1) == VG_HASH_LEN) {
        out->seq = (uint64_t)sqlite3_column_int64(st, 0);
        memcpy(out->envelope_hash, sqlite3_column_blob(st, 1), VG_HASH_LEN);
        *is_recipient = sqlite3_column_int(st, 2) != 0;
        err = VG_OK;
    } else if (rc == SQLITE_ROW) {
        err = vgb_sqlite_fail_why(s, SQLITE_CORRUPT, "read alert", NULL);
    } else if (rc != SQLITE_DONE) {
        err = vgb_sqlite_fail_why(s, rc, "read alert", NULL);
    }
    sqlite3_reset(st);
    return err;
}

vg_err
vgb_sqlite_mark_delivered(vgb_store *base, uint64_t seq, const char *agency, int64_t ms,
                          bool *changed)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = s_stmt(s, S_MARK_DELIVERED);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    sqlite3_bind_text(st, 2, agency, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, ms);
    vg_err err = vgb_sqlite_exec_why(s, st, "mark delivered", NULL);
    if (err == VG_OK) {
        *changed = sqlite3_changes(s->db) > 0;
    }
    return err;
}

vg_err
vgb_sqlite_insert_receipt(vgb_store *base, const vg_receipt *r, const uint64_t *seqs, size_t n_seqs,
                          int64_t received_ms)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    size_t len = 0;
    const uint8_t *bytes = vg_receipt_bytes(r, &len);
    sqlite3_stmt *st = s_stmt(s, S_INSERT_RECEIPT);
    sqlite3_bind_text(st, 1, vg_receipt_agency(r), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, (int)vg_receipt_kind_of(r));
    sqlite3_bind_int64(st, 3, vg_receipt_created_ms(r));
    sqlite3_bind_int64(st, 4, received_ms);
    sqlite3_bind_blob(st, 5, vg_receipt_hash(r), VG_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, bytes, (int)len, SQLITE_STATIC);
    vg_err err = vgb_sqlite_exec_why(s, st, "insert receipt", NULL);
    uint64_t id = 0;
    if (err == VG_OK) {
        st = s_stmt(s, S_RECEIPT_ID);
        sqlite3_bind_blob(st, 1, vg_receipt_hash(r), VG_HASH_LEN, SQLITE_STATIC);
        err = vgb_sqlite_u64(s, st, &id, "read receipt id");
    }
    for (size_t i = 0; i < n_seqs && err == VG_OK; i++) {
        st = s_stmt(s, S_INSERT_RECEIPT_ITEM);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)seqs[i]);
        err = vgb_sqlite_exec_why(s, st, "insert receipt item", NULL);
    }
    return err;
}

vg_err
vgb_sqlite_receipt_leaf(vgb_store *base, const uint8_t hash[VG_HASH_LEN], uint64_t leaf_idx,
                        bool *set)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = s_stmt(s, S_RECEIPT_LEAF);
    sqlite3_bind_blob(st, 1, hash, VG_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)leaf_idx);
    vg_err err = vgb_sqlite_exec_why(s, st, "link receipt leaf", NULL);
    *set = err == VG_OK && sqlite3_changes(s->db) > 0;
    return err;
}

vg_err
vgb_sqlite_insert_rejection(vgb_store *base, int64_t ms, const char *agency,
                            const uint8_t *alert_id, const char *code, const char *reason)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = s_stmt(s, S_INSERT_REJECTION);
    sqlite3_bind_int64(st, 1, ms);
    sqlite3_bind_text(st, 2, agency, -1, SQLITE_STATIC);
    if (alert_id != NULL) {
        sqlite3_bind_blob(st, 3, alert_id, VG_ALERT_ID_LEN, SQLITE_STATIC);
    }
    sqlite3_bind_text(st, 4, code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, reason, -1, SQLITE_STATIC);
    return vgb_sqlite_exec_why(s, st, "insert rejection", NULL);
}

vg_err
vgb_sqlite_pending(vgb_store *base, const char *agency, int64_t now_ms, size_t limit,
                   vgb_pending_fn fn, void *ctx)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = s_stmt(s, S_PENDING);
    sqlite3_bind_text(st, 1, agency, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!fn(ctx, (uint64_t)sqlite3_column_int64(st, 0))) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail_why(s, rc, "list pending", NULL);
}

vg_err
vgb_sqlite_park(vgb_store *base, uint64_t seq, const char *agency, int64_t now_ms, int64_t first_ms,
                int64_t max_ms, int64_t *next_out)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    static const char sql[] =
        "UPDATE recipients SET next_try_ms = ?3 + min(?4 << min(tries, 40), ?5), tries = tries + 1"
        " WHERE alert_seq = ?1 AND agency = ?2 AND state = 1 RETURNING next_try_ms";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    sqlite3_bind_text(st, 2, agency, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now_ms);
    sqlite3_bind_int64(st, 4, first_ms);
    sqlite3_bind_int64(st, 5, max_ms);
    uint64_t next = 0;
    vg_err err = vgb_sqlite_u64(s, st, &next, "park delivery");
    if (err == VG_OK && next_out != NULL) {
        *next_out = (int64_t)next;
    }
    return err;
}

vg_err
vgb_sqlite_next_try(vgb_store *base, const char *agency, int64_t now_ms, int64_t *out)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    static const char sql[] = "SELECT coalesce(min(next_try_ms), 0) FROM recipients"
                              " WHERE agency = ?1 AND state = 1 AND next_try_ms > ?2";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_text(st, 1, agency, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms);
    uint64_t v = 0;
    vg_err err = vgb_sqlite_u64(s, st, &v, "next delivery retry");
    *out = (int64_t)v;
    return err;
}

vg_err
vgb_sqlite_count_pending(vgb_store *base, const char *agency, uint64_t *out)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = s_stmt(s, S_COUNT_PENDING);
    sqlite3_bind_text(st, 1, agency, -1, SQLITE_STATIC);
    return vgb_sqlite_u64(s, st, out, "count pending");
}

vg_err
vgb_sqlite_count_alerts(vgb_store *base, uint64_t *out)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    return vgb_sqlite_u64(s, s_stmt(s, S_COUNT_ALERTS), out, "count alerts");
}

vg_err
vgb_sqlite_network_version(vgb_store *base, uint64_t *out)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    static const char sql[] = "SELECT value FROM meta WHERE key = 'network_version'";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    return vgb_sqlite_u64(s, st, out, "read network version");
}

vg_err
vgb_sqlite_set_network_version(vgb_store *base, uint64_t version, vg_reason *why)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    static const char sql[] = "INSERT INTO meta(key, value) VALUES ('network_version', ?1)"
                              " ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)version);
    return vgb_sqlite_exec_why(s, st, "record network version", why);
}

vg_err
vgb_sqlite_add_network_document(vgb_store *base, uint64_t version, const uint8_t *bytes, size_t len,
                                vg_reason *why)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    static const char sql[] =
        "INSERT OR IGNORE INTO network_documents(version, document) VALUES (?1, ?2)";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)version);
    sqlite3_bind_blob(st, 2, bytes, (int)len, SQLITE_STATIC);
    return vgb_sqlite_exec_why(s, st, "record network document", why);
}

vg_err
vgb_sqlite_network_documents(vgb_store *base, vgb_netdoc_fn fn, void *ctx)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    static const char sql[] = "SELECT version, document FROM network_documents ORDER BY version";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        fn(ctx, (uint64_t)sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1),
           (size_t)sqlite3_column_bytes(st, 1));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail_why(s, rc, "read network documents", NULL);
}

vg_err
vgb_sqlite_sender_bytes(vgb_store *base, const char *sender, int64_t since_ms, int64_t period_ms,
                        vgb_bytes_per_fn fn, void *ctx)
{
    vgb_sqlite *s = (vgb_sqlite *)base;
    static const char sql[] = "SELECT accepted_ms / ?3, sum(length(envelope)) FROM alerts"
                              " WHERE sender = ?1 AND accepted_ms > ?2 GROUP BY 1";
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_text(st, 1, sender, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since_ms);
    sqlite3_bind_int64(st, 3, period_ms > 0 ? period_ms : 1);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        fn(ctx, sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail_why(s, rc, "read stored bytes", NULL);
}
