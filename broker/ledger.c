/* ledger.c — the audit log's leaves, checkpoints and high-water mark (ledger.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger.h"

#include "audit.h"
#include "vigil/log.h"
#include "vigil/util.h"

struct vgb_ledger {
    vgb_store *store;            /* borrowed */
    const vg_broker_config *cfg; /* borrowed */
    const vg_clock *clock;       /* borrowed */
    vgb_audit *audit;            /* the Merkle log, in the store's transactions */
    char *cp_note;               /* latest committed checkpoint (signed note) */
    uint64_t cp_size;            /* its tree size */
    int64_t cp_mono;             /* when it was signed */
    char *cp_pending;            /* signed in this batch, published after the commit */
    int64_t cp_mono_committed;   /* cp_mono as of the last commit (a rollback restores it) */
    uint64_t cp_pending_size;    /* its tree size */
    int hw_fd;                   /* store/highwater: the log size last committed */
    uint64_t hw_size;            /* what it says */
    bool urgent;                 /* this batch holds a fact agencies must hold proof of soon */
};

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
s_hw_check(vgb_ledger *l, const char *path, vg_reason *why)
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
    size = vgb_ledger_size(l);
    if (size < hw || vgb_audit_root_at(l->audit, hw, root, NULL) != VG_OK ||
        memcmp(root, hw_root, VG_MERKLE_HASH_LEN) != 0) {
        vg_log(VG_LOG_ERROR, "broker", "store.damaged",
               "detail=history log=%" PRIu64 " committed=%" PRIu64, size, hw);
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "store %s has lost or changed committed history: its audit log has "
                             "%" PRIu64 " entries but %" PRIu64 " were committed (%s); restore "
                             "it from a backup: the broker will not serve it and changed nothing",
                             l->cfg->store_path, size, hw, path);
    }
    l->hw_size = hw;
    return VG_OK;
}

static void
s_hw_write(vgb_ledger *l)
{
    uint64_t size = 0;
    uint8_t root[VG_MERKLE_HASH_LEN];
    if (l->hw_fd < 0 || vgb_audit_head(l->audit, &size, root, NULL) != VG_OK ||
        size == l->hw_size) {
        return;
    }
    char line[160];
    s_hw_line(line, sizeof line, size, root);
    size_t len = strlen(line);
    if (pwrite(l->hw_fd, line, len, 0) != (ssize_t)len || ftruncate(l->hw_fd, (off_t)len) != 0 ||
        fdatasync(l->hw_fd) != 0) {
        vg_log(VG_LOG_WARN, "broker", "store.highwater", "detail=write_failed errno=%d", errno);
        return;
    }
    l->hw_size = size;
}

vg_err
vgb_ledger_open(vgb_ledger **out, vgb_store *store, const char *network, const vg_keyset *keys,
                const vg_broker_config *cfg, const vg_clock *clock, vg_reason *why)
{
    vgb_ledger *l = calloc(1, sizeof *l);
    if (l == NULL) {
        return VG_ERR_NOMEM;
    }
    *l = (vgb_ledger){.store = store, .cfg = cfg, .clock = clock, .hw_fd = -1};
    l->hw_size = UINT64_MAX; /* nothing written yet: the first commit writes the mark */
    vg_err rc = vgb_audit_open(&l->audit, store, network, keys, why);
    char *note = NULL;
    uint64_t size = 0;
    if (rc == VG_OK &&
        vgb_audit_checkpoint_latest(l->audit, &note, NULL, &size, NULL, NULL) == VG_OK) {
        l->cp_note = note;
        l->cp_size = size;
    }
    l->cp_mono = l->cp_mono_committed = vg_clock_mono_ms(clock);
    char path[4096];
    snprintf(path, sizeof path, "%s/highwater", cfg->store_path);
    if (rc == VG_OK) {
        rc = s_hw_check(l, path, why);
    }
    if (rc == VG_OK && (l->hw_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
        rc = vg_reason_set(why, VG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    }
    if (rc == VG_OK) {
        s_hw_write(l);
    }
    if (rc != VG_OK) {
        vgb_ledger_destroy(&l);
        return rc;
    }
    *out = l;
    return VG_OK;
}

void
vgb_ledger_destroy(vgb_ledger **l_p)
{
    if (l_p == NULL || *l_p == NULL) {
        return;
    }
    vgb_ledger *l = *l_p;
    if (l->hw_fd >= 0) {
        close(l->hw_fd);
    }
    vgb_audit_destroy(&l->audit);
    free(l->cp_note);
    free(l->cp_pending);
    free(l);
    *l_p = NULL;
}

vg_err
vgb_ledger_link(vgb_ledger *l, const uint64_t *seqs, size_t n_seqs, uint64_t idx)
{
    vg_err rc = VG_OK;
    for (size_t i = 0; i < n_seqs && rc == VG_OK; i++) {
        rc = vgb_store_link_leaf(l->store, seqs[i], idx);
    }
    if (rc != VG_OK) {
        vg_log(VG_LOG_ERROR, "broker", "audit.link", "code=%s", vg_err_code(rc));
    }
    return rc;
}

vg_err
vgb_ledger_append(vgb_ledger *l, const uint64_t *seqs, size_t n_seqs, vg_audit_event *ev,
                  uint64_t *idx_out)
{
    vg_reason why = {{0}};
    uint64_t idx = 0;
    ev->time_ms = (uint64_t)vg_clock_wall_ms(l->clock);
    vg_err rc = vgb_audit_append(l->audit, ev, &idx, &why);
    if (rc != VG_OK) {
        vg_log(VG_LOG_ERROR, "broker", "audit.append", "kind=%s code=%s reason=\"%s\"",
               vg_audit_kind_name(ev->kind), vg_err_code(rc), why.text);
        return rc;
    }
    if (idx_out != NULL) {
        *idx_out = idx;
    }
    return vgb_ledger_link(l, seqs, n_seqs, idx);
}

const char *
vgb_ledger_checkpoint(const vgb_ledger *l)
{
    return l->cp_note;
}

uint64_t
vgb_ledger_size(vgb_ledger *l)
{
    uint64_t size = 0;
    return vgb_audit_size(l->audit, &size, NULL) == VG_OK ? size : 0;
}

long
vgb_ledger_next_ms(vgb_ledger *l)
{
    if (vgb_ledger_size(l) <= l->cp_size) {
        return -1;
    }
    int64_t left =
        l->cp_mono + (int64_t)l->cfg->checkpoint_interval_ms - vg_clock_mono_ms(l->clock);
    return left > 0 ? (long)left : 0;
}

/* Signs a checkpoint of the log as it is now, inside the batch's
 * transaction (opened if need be); published when the batch commits. */
static void
s_sign(vgb_ledger *l, int64_t now)
{
    if (!vgb_store_txn(l->store)) {
        return;
    }
    vg_checkpoint *cp = NULL;
    vg_reason why = {{0}};
    vg_err rc = vgb_audit_checkpoint_sign(l->audit, vg_clock_wall_ms(l->clock), &cp, &why);
    if (rc == VG_OK) {
        free(l->cp_pending);
        l->cp_pending = vg_strdup(vg_checkpoint_note(cp));
        l->cp_pending_size = vg_checkpoint_size(cp);
    } else if (rc != VG_ERR_DUPLICATE) {
        vg_log(VG_LOG_ERROR, "broker", "audit.checkpoint", "code=%s reason=\"%s\"", vg_err_code(rc),
               why.text);
    }
    l->cp_mono = now;
    vg_checkpoint_destroy(&cp);
}

void
vgb_ledger_service(vgb_ledger *l)
{
    uint64_t size = vgb_ledger_size(l);
    int64_t now = vg_clock_mono_ms(l->clock);
    bool due = size > l->cp_size && (size - l->cp_size >= (uint64_t)l->cfg->checkpoint_leaves ||
                                     now - l->cp_mono >= (int64_t)l->cfg->checkpoint_interval_ms);
    if (due && l->cp_pending == NULL) {
        s_sign(l, now);
    }
}

void
vgb_ledger_urgent(vgb_ledger *l)
{
    l->urgent = true;
}

void
vgb_ledger_before_commit(vgb_ledger *l, bool stopping)
{
    uint64_t size = vgb_ledger_size(l);
    uint64_t covered = l->cp_pending != NULL ? l->cp_pending_size : l->cp_size;
    if ((l->urgent || stopping) && size > covered) {
        s_sign(l, vg_clock_mono_ms(l->clock));
    }
    l->urgent = false;
}

void
vgb_ledger_after_commit(vgb_ledger *l, bool committed)
{
    l->urgent = false;
    if (l->cp_pending == NULL) {
        return;
    }
    if (committed) {
        free(l->cp_note);
        l->cp_note = l->cp_pending;
        l->cp_size = l->cp_pending_size;
        l->cp_mono_committed = l->cp_mono;
        vg_log(VG_LOG_DEBUG, "broker", "audit.checkpoint", "size=%llu",
               (unsigned long long)l->cp_size);
    } else {
        free(l->cp_pending);
        l->cp_mono = l->cp_mono_committed; /* not signed after all: still due */
    }
    l->cp_pending = NULL;
}

void
vgb_ledger_after_replies(vgb_ledger *l)
{
    s_hw_write(l); /* a sync: after the replies, off their path */
}
