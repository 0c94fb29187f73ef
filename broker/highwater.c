/* highwater.c — the high-water mark's file (highwater.h). */
#include "highwater.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil/log.h"
#include "vigil/util.h"

static void
s_line(char *out, size_t len, uint64_t size, const uint8_t root[VG_MERKLE_HASH_LEN])
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

/* Reads the mark; false when not intact. */
static bool
s_read(const char *path, uint64_t *size, uint8_t root[VG_MERKLE_HASH_LEN])
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
        s_line(expect, sizeof expect, n, root);
        ok = strcmp(expect, (char *)text) == 0;
    }
    free(text);
    *size = n;
    return ok;
}

vg_err
vgb_highwater_open(vgb_highwater *hw, const char *dir, vg_reason *why)
{
    memset(hw, 0, sizeof *hw);
    hw->fd = -1;
    snprintf(hw->path, sizeof hw->path, "%s/" VGB_HIGHWATER_NAME, dir);
    struct stat st;
    if (stat(hw->path, &st) == 0 && st.st_size > 0) { /* else a new store, or never written */
        hw->valid = s_read(hw->path, &hw->size, hw->root);
        if (!hw->valid) {
            vg_log(VG_LOG_WARN, "broker", "store.highwater", "path=%s detail=unreadable_ignored",
                   hw->path);
        }
    }
    if ((hw->fd = open(hw->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
        return vg_reason_set(why, VG_ERR_IO, "cannot open %s: %s", hw->path, strerror(errno));
    }
    return VG_OK;
}

void
vgb_highwater_close(vgb_highwater *hw)
{
    if (hw != NULL && hw->fd >= 0) {
        close(hw->fd);
        hw->fd = -1;
    }
}

vg_err
vgb_highwater_check(const vgb_highwater *hw, vgb_audit *audit, const char *what, vg_reason *why)
{
    if (!hw->valid) {
        return VG_OK;
    }
    uint64_t size = 0;
    uint8_t root[VG_MERKLE_HASH_LEN];
    vg_reason inner = {{0}};
    vg_err rc = vgb_audit_size(audit, &size, &inner);
    if (rc != VG_OK) {
        return vg_reason_set(why, rc, "%s", inner.text);
    }
    if (size < hw->size || vgb_audit_root_at(audit, hw->size, root, NULL) != VG_OK ||
        memcmp(root, hw->root, VG_MERKLE_HASH_LEN) != 0) {
        vg_log(VG_LOG_ERROR, "broker", "store.damaged",
               "detail=history log=%" PRIu64 " committed=%" PRIu64, size, hw->size);
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "store %s has lost or changed committed history: its audit log has "
                             "%" PRIu64 " entries but %" PRIu64 " were committed (%s); restore "
                             "it from a backup: the broker will not serve it and changed nothing",
                             what, size, hw->size, hw->path);
    }
    return VG_OK;
}

void
vgb_highwater_raise(vgb_highwater *hw, uint64_t size, const uint8_t root[VG_MERKLE_HASH_LEN])
{
    if (hw->fd < 0 || (hw->valid && size <= hw->size)) {
        return;
    }
    char line[160];
    s_line(line, sizeof line, size, root);
    size_t len = strlen(line);
    if (pwrite(hw->fd, line, len, 0) != (ssize_t)len || ftruncate(hw->fd, (off_t)len) != 0 ||
        fdatasync(hw->fd) != 0) {
        vg_log(VG_LOG_WARN, "broker", "store.highwater", "detail=write_failed errno=%d", errno);
        return;
    }
    hw->valid = true;
    hw->size = size;
    memcpy(hw->root, root, VG_MERKLE_HASH_LEN);
}
