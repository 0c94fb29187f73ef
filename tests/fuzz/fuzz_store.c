/*
 * fuzz_store.c — the broker's store recovery on arbitrary bytes: the input
 * becomes store/vigil.db (even mode byte) or store/vigil.db plus
 * store/vigil.db-wal (odd: a 4-byte little-endian database length, the
 * database, then the WAL), and vgb_store_open must either refuse it or give
 * a store whose reads (the queries the broker's delivery loop makes) and a
 * write transaction return clean errors. Never a crash; and the database
 * file is never deleted by the broker.
 */
#define _XOPEN_SOURCE 700

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fz_fixture.h"
#include "fz_target.h"
#include "store.h"

static bool
s_read_one(void *ctx, uint64_t seq)
{
    vgb_store *s = ctx;
    uint8_t *env = NULL;
    size_t len = 0;
    if (vgb_store_envelope(s, seq, &env, &len) == VG_OK) {
        free(env);
    }
    vgb_rrow row;
    FZ_IGNORE(vgb_store_rrow(s, seq, "licensing", &row));
    return true;
}

static void
s_use(vgb_store *s)
{
    uint64_t n = 0;
    FZ_IGNORE(vgb_store_count_alerts(s, &n));
    FZ_IGNORE(vgb_store_count_pending(s, "licensing", &n));
    FZ_IGNORE(vgb_store_pending(s, "licensing", 0, 64, s_read_one, s));
    uint8_t id[VG_ALERT_ID_LEN] = {0};
    vgb_alert_row row;
    FZ_IGNORE(vgb_store_find_alert(s, id, &row));
    bool used = false;
    FZ_IGNORE(vgb_store_sequence_used(s, "police", 1, &used));
    vg_reason why = {{0}};
    if (vgb_store_begin(s, &why) == VG_OK) {
        FZ_IGNORE(vgb_store_insert_rejection(s, FZ_ISSUED_MS, "police", id, "malformed", "fuzz"));
        bool changed = false;
        FZ_IGNORE(vgb_store_mark_delivered(s, 1, "licensing", FZ_ISSUED_MS, &changed));
        FZ_IGNORE(vgb_store_commit(s, &why));
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    char *dir = fz_path("store");
    char *db = fz_path("store/vigil.db");
    char *wal = fz_path("store/vigil.db-wal");
    char *shm = fz_path("store/vigil.db-shm");
    mkdir(dir, 0700);
    unlink(wal);
    unlink(shm);
    size_t db_len = size - 1;
    if ((data[0] & 1u) != 0 && size >= 5) {
        db_len =
            (size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16 | (size_t)data[4] << 24;
        db_len = db_len < size - 5 ? db_len : size - 5;
        fz_write_file(db, data + 5, db_len, 0600);
        fz_write_file(wal, data + 5 + db_len, size - 5 - db_len, 0600);
    } else {
        fz_write_file(db, data + 1, db_len, 0600);
    }
    vgb_store *s = NULL;
    vg_reason why = {{0}};
    if (vgb_store_open(&s, dir, &why) == VG_OK) {
        s_use(s);
    }
    vgb_store_destroy(&s);
    struct stat st;
    if (stat(db, &st) != 0) {
        fprintf(stderr, "fuzz_store: the store deleted its database file\n");
        abort();
    }
    free(shm);
    free(wal);
    free(db);
    free(dir);
    return 0;
}
