/* store_sqlite_links.c — the link-tag index of the SQLite back end (store.h,
 * "link tags"). Tags are keyed hashes the broker cannot invert; it keeps
 * them with the alert so that a later alert with the same tag finds it. */
#include <stdlib.h>
#include <string.h>

#include "store_sqlite.h"

vg_err
vgb_sqlite_add_link_tags(vgb_store *base, uint64_t seq, const uint8_t (*tags)[VG_HASH_LEN],
                         size_t n)
{
    static const char sql[] = "INSERT OR IGNORE INTO link_tags(tag, alert_seq) VALUES (?1, ?2)";
    vgb_sqlite *s = (vgb_sqlite *)base;
    vg_err err = VG_OK;
    for (size_t i = 0; i < n && err == VG_OK; i++) {
        sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
        if (st == NULL) {
            return VG_ERR_INTERNAL;
        }
        sqlite3_bind_blob(st, 1, tags[i], VG_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
        err = vgb_sqlite_exec_why(s, st, "insert link tag", NULL);
    }
    return err;
}

vg_err
vgb_sqlite_linked_earlier(vgb_store *base, uint64_t seq, size_t limit, vgb_seq_fn fn, void *ctx)
{
    static const char sql[] = "SELECT DISTINCT b.alert_seq FROM link_tags a"
                              " JOIN link_tags b ON b.tag = a.tag"
                              " WHERE a.alert_seq = ?1 AND b.alert_seq < ?1"
                              " ORDER BY b.alert_seq LIMIT ?2";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!fn(ctx, (uint64_t)sqlite3_column_int64(st, 0))) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail(s, rc, "read linked alerts");
}

vg_err
vgb_sqlite_link_pairs(vgb_store *base, vgb_pair_fn fn, void *ctx)
{
    static const char sql[] = "SELECT DISTINCT a.alert_seq, b.alert_seq FROM link_tags a"
                              " JOIN link_tags b ON b.tag = a.tag AND b.alert_seq < a.alert_seq"
                              " ORDER BY a.alert_seq, b.alert_seq";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!fn(ctx, (uint64_t)sqlite3_column_int64(st, 0),
                (uint64_t)sqlite3_column_int64(st, 1))) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail(s, rc, "read link pairs");
}

vg_err
vgb_sqlite_link_tags_of(vgb_store *base, uint64_t seq, vgb_tag_fn fn, void *ctx)
{
    static const char sql[] = "SELECT tag FROM link_tags WHERE alert_seq = ?1 ORDER BY tag";
    vgb_sqlite *s = (vgb_sqlite *)base;
    sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
    if (st == NULL) {
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        fn(ctx, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail(s, rc, "read link tags");
}

/* One tag at a time (an envelope carries at most VG_LINK_TAGS_MAX), merged
 * into one ascending list without repeats: the limit smallest. */
vg_err
vgb_sqlite_tagged(vgb_store *base, const uint8_t (*tags)[VG_HASH_LEN], size_t n, size_t limit,
                  vgb_seq_fn fn, void *ctx)
{
    static const char sql[] =
        "SELECT alert_seq FROM link_tags WHERE tag = ?1 ORDER BY alert_seq LIMIT ?2";
    vgb_sqlite *s = (vgb_sqlite *)base;
    uint64_t *seqs = calloc(limit ? limit : 1, sizeof *seqs);
    if (seqs == NULL) {
        return VG_ERR_NOMEM;
    }
    size_t have = 0;
    int rc = SQLITE_DONE;
    for (size_t i = 0; i < n && rc == SQLITE_DONE; i++) {
        sqlite3_stmt *st = vgb_sqlite_stmt(s, sql);
        if (st == NULL) {
            free(seqs);
            return VG_ERR_INTERNAL;
        }
        sqlite3_bind_blob(st, 1, tags[i], VG_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
            size_t at = 0;
            while (at < have && seqs[at] < seq) {
                at++;
            }
            if ((at < have && seqs[at] == seq) || at >= limit) {
                continue;
            }
            have = have < limit ? have + 1 : limit;
            memmove(seqs + at + 1, seqs + at, (have - at - 1) * sizeof *seqs);
            seqs[at] = seq;
        }
        sqlite3_reset(st);
    }
    bool go = true;
    for (size_t i = 0; i < have && rc == SQLITE_DONE && go; i++) {
        go = fn(ctx, seqs[i]);
    }
    free(seqs);
    return rc == SQLITE_DONE ? VG_OK : vgb_sqlite_fail(s, rc, "read tagged alerts");
}
