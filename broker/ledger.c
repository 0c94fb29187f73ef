/* ledger.c — the broker's use of its audit log (broker/audit.h): a leaf for
 * every event in the same transaction as the state it describes, signed
 * checkpoints every N leaves or T seconds (published only once committed),
 * and the proofs agencies ask for to witness the log. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker_internal.h"
#include "vigil/log.h"

/* ---- the high-water mark ------------------------------------------------------
 * A small file beside the database, rewritten after every commit that grew
 * the log: "vigil-highwater 1 SIZE ROOTHEX CHECK". It lives outside SQLite, so
 * when the database or its WAL lose committed transactions (truncated,
 * damaged, deleted) the log comes back shorter than the mark and the broker
 * refuses to start instead of serving a silently shortened history. A mark
 * that does not parse (torn by a crash) is ignored with a warning: it can
 * only ever make the check weaker, never raise a false alarm. */

static void
s_hw_line(char *out, size_t len, uint64_t size, const uint8_t root[VG_MERKLE_HASH_LEN])
{
    char hex[2 * VG_MERKLE_HASH_LEN + 1];
    uint8_t check[VG_HASH_LEN];
    vg_hex_encode(hex, sizeof hex, root, VG_MERKLE_HASH_LEN);
    char body[128];
    snprintf(body, sizeof body, "vigil-highwater 1 %" PRIu64 " %s", size, hex);
    vg_hash(check, (const uint8_t *)body, strlen(body));
    char chex[17];
    vg_hex_encode(chex, sizeof chex, check, 8);
    snprintf(out, len, "%s %s\n", body, chex);
}

/* Reads the mark; false when absent or not intact. */
static bool
s_hw_read(const char *path, uint64_t *size, uint8_t root[VG_MERKLE_HASH_LEN])
{
    uint8_t *text = NULL;
    size_t len = 0;
    if (vg_file_read(&text, &len, path, 512, NULL) != VG_OK) {
        return false;
    }
    char hex[2 * VG_MERKLE_HASH_LEN + 1] = "";
    unsigned long long n = 0;
    char expect[160];
    bool ok = sscanf((char *)text, "vigil-highwater 1 %llu %64s", &n, hex) == 2 &&
              vg_hex_decode(root, VG_MERKLE_HASH_LEN, hex) == VG_OK;
    if (ok) {
        s_hw_line(expect, sizeof expect, n, root);
        ok = strcmp(expect, (char *)text) == 0;
    }
    free(text);
    *size = n;
    return ok;
}

/* Refuses a log shorter than, or different from, what was committed before. */
static vg_err
s_hw_check(vgb_broker *b, const char *path, vg_reason *why)
{
    uint64_t hw = 0, size = 0;
    uint8_t hw_root[VG_MERKLE_HASH_LEN], root[VG_MERKLE_HASH_LEN];
    struct stat st;
    if (stat(path, &st) != 0 || st.st_size == 0) {
        return VG_OK; /* a new store (or a mark never written) */
    }
    if (!s_hw_read(path, &hw, hw_root)) {
        vg_log(VG_LOG_WARN, "broker", "store.highwater", "path=%s detail=unreadable_ignored", path);
        return VG_OK;
    }
    size = vgb_ledger_size(b);
    if (size < hw || vgb_audit_root_at(b->audit, hw, root, NULL) != VG_OK ||
        memcmp(root, hw_root, VG_MERKLE_HASH_LEN) != 0) {
        vg_log(VG_LOG_ERROR, "broker", "store.damaged",
               "detail=history log=%" PRIu64 " committed=%" PRIu64, size, hw);
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "store %s has lost or changed committed history: its audit log has "
                             "%" PRIu64 " entries but %" PRIu64 " were committed (%s); restore "
                             "it from a backup: the broker will not serve it and changed nothing",
                             b->cfg->store_path, size, hw, path);
    }
    b->hw_size = hw;
    return VG_OK;
}

static void
s_hw_write(vgb_broker *b)
{
    uint64_t size = 0;
    uint8_t root[VG_MERKLE_HASH_LEN];
    if (b->hw_fd < 0 || vgb_audit_head(b->audit, &size, root, NULL) != VG_OK ||
        size == b->hw_size) {
        return;
    }
    char line[160];
    s_hw_line(line, sizeof line, size, root);
    size_t len = strlen(line);
    if (pwrite(b->hw_fd, line, len, 0) != (ssize_t)len || ftruncate(b->hw_fd, (off_t)len) != 0 ||
        fdatasync(b->hw_fd) != 0) {
        vg_log(VG_LOG_WARN, "broker", "store.highwater", "detail=write_failed errno=%d", errno);
        return;
    }
    b->hw_size = size;
}

vg_err
vgb_ledger_open(vgb_broker *b, vg_reason *why)
{
    vg_err rc = vgb_audit_open(&b->audit, b->store, vg_netdoc_network(b->doc), b->keys, why);
    char *note = NULL;
    uint64_t size = 0;
    if (rc == VG_OK &&
        vgb_audit_checkpoint_latest(b->audit, &note, NULL, &size, NULL, NULL) == VG_OK) {
        b->cp_note = note;
        b->cp_size = size;
    }
    b->cp_mono = vg_clock_mono_ms(b->clock);
    char path[4096];
    snprintf(path, sizeof path, "%s/highwater", b->cfg->store_path);
    if (rc == VG_OK) {
        rc = s_hw_check(b, path, why);
    }
    if (rc == VG_OK && (b->hw_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
        rc = vg_reason_set(why, VG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    }
    if (rc == VG_OK) {
        s_hw_write(b);
    }
    return rc;
}

void
vgb_ledger_close(vgb_broker *b)
{
    if (b->hw_fd >= 0) {
        close(b->hw_fd);
        b->hw_fd = -1;
    }
    vgb_audit_destroy(&b->audit);
    free(b->cp_note);
    free(b->cp_pending);
    b->cp_note = b->cp_pending = NULL;
}

vg_err
vgb_ledger_link(vgb_broker *b, const uint64_t *seqs, size_t n_seqs, uint64_t idx)
{
    vg_err rc = VG_OK;
    for (size_t i = 0; i < n_seqs && rc == VG_OK; i++) {
        rc = vgb_store_link_leaf(b->store, seqs[i], idx);
    }
    if (rc != VG_OK) {
        vg_log(VG_LOG_ERROR, "broker", "audit.link", "code=%s", vg_err_code(rc));
        b->batch_failed = true; /* no state without its leaf: the batch is rolled back */
    }
    return rc;
}

vg_err
vgb_ledger_append_alerts(vgb_broker *b, const uint64_t *seqs, size_t n_seqs, vg_audit_event *ev,
                         uint64_t *idx_out)
{
    vg_reason why = {{0}};
    uint64_t idx = 0;
    ev->time_ms = (uint64_t)vg_clock_wall_ms(b->clock);
    vg_err rc = vgb_txn(b) ? vgb_audit_append(b->audit, ev, &idx, &why) : VG_ERR_INTERNAL;
    if (rc != VG_OK) {
        vg_log(VG_LOG_ERROR, "broker", "audit.append", "kind=%s code=%s reason=\"%s\"",
               vg_audit_kind_name(ev->kind), vg_err_code(rc), why.text);
        b->batch_failed = true; /* no state without its leaf: the batch is rolled back */
        return rc;
    }
    if (idx_out != NULL) {
        *idx_out = idx;
    }
    return vgb_ledger_link(b, seqs, n_seqs, idx);
}

void
vgb_ledger_append(vgb_broker *b, uint64_t seq, vg_audit_event *ev)
{
    (void)vgb_ledger_append_alerts(b, &seq, seq != 0 ? 1 : 0, ev, NULL); /* fails the batch */
}

uint64_t
vgb_ledger_size(vgb_broker *b)
{
    uint64_t size = 0;
    return vgb_audit_size(b->audit, &size, NULL) == VG_OK ? size : 0;
}

long
vgb_ledger_next_ms(vgb_broker *b)
{
    if (vgb_ledger_size(b) <= b->cp_size) {
        return -1;
    }
    int64_t left =
        b->cp_mono + (int64_t)b->cfg->checkpoint_interval_ms - vg_clock_mono_ms(b->clock);
    return left > 0 ? (long)left : 0;
}

void
vgb_ledger_service(vgb_broker *b)
{
    uint64_t size = vgb_ledger_size(b);
    int64_t now = vg_clock_mono_ms(b->clock);
    bool due = size > b->cp_size && (size - b->cp_size >= (uint64_t)b->cfg->checkpoint_leaves ||
                                     now - b->cp_mono >= (int64_t)b->cfg->checkpoint_interval_ms);
    if (!due || b->cp_pending != NULL || !vgb_txn(b)) {
        return;
    }
    vg_checkpoint *cp = NULL;
    vg_reason why = {{0}};
    vg_err rc = vgb_audit_checkpoint_sign(b->audit, vg_clock_wall_ms(b->clock), &cp, &why);
    if (rc == VG_OK) {
        b->cp_pending = vg_strdup(vg_checkpoint_note(cp));
        b->cp_pending_size = vg_checkpoint_size(cp);
    } else if (rc != VG_ERR_DUPLICATE) {
        vg_log(VG_LOG_ERROR, "broker", "audit.checkpoint", "code=%s reason=\"%s\"", vg_err_code(rc),
               why.text);
    }
    b->cp_mono = now;
    vg_checkpoint_destroy(&cp);
}

void
vgb_ledger_after_commit(vgb_broker *b, bool committed)
{
    if (committed) {
        s_hw_write(b);
    }
    if (b->cp_pending == NULL) {
        return;
    }
    if (committed) {
        free(b->cp_note);
        b->cp_note = b->cp_pending;
        b->cp_size = b->cp_pending_size;
        vg_log(VG_LOG_DEBUG, "broker", "audit.checkpoint", "size=%llu",
               (unsigned long long)b->cp_size);
    } else {
        free(b->cp_pending);
    }
    b->cp_pending = NULL;
}
