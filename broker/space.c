/* space.c — what the broker does when its disk fills.
 *
 * A full disk must not stop the record of who received and acknowledged
 * what. The broker keeps a reserve file (store/reserve, VGB_RESERVE_BYTES)
 * beside its database. The first commit that fails for lack of space puts
 * the broker in "full" mode: the reserve is released, so receipts, shares
 * and their audit leaves still have room, while new publishes are refused
 * with storage_full before anything is written (the agents keep them in
 * their outboxes). Once a second the broker looks at the free space; when
 * there is room again it takes its reserve back and publishing resumes by
 * itself. The reserve is the broker's own file: releasing it deletes
 * nothing that was recorded. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "broker_internal.h"
#include "vigil/log.h"

#define VGB_RESERVE_BYTES (1024 * 1024)
/* Free space needed (beyond the reserve) before publishing resumes. */
#define VGB_RESUME_BYTES (2 * 1024 * 1024)

static void
s_path(const vgb_broker *b, char *out, size_t len)
{
    snprintf(out, len, "%s/reserve", b->cfg->store_path);
}

/* Writes the reserve (real blocks, not a sparse file); false when it does
 * not fit. */
static bool
s_take_reserve(vgb_broker *b)
{
    char path[4096];
    s_path(b, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return false;
    }
    int rc = posix_fallocate(fd, 0, VGB_RESERVE_BYTES);
    bool ok = rc == 0 && fdatasync(fd) == 0;
    if (!ok && ftruncate(fd, 0) != 0) {
        ok = false;
    }
    close(fd);
    return ok;
}

static void
s_release_reserve(vgb_broker *b)
{
    char path[4096];
    s_path(b, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (ftruncate(fd, 0) != 0 || fdatasync(fd) != 0) {
            vg_log(VG_LOG_WARN, "broker", "store.reserve", "detail=release_failed errno=%d", errno);
        }
        close(fd);
    }
}

void
vgb_space_start(vgb_broker *b)
{
    if (!s_take_reserve(b)) {
        vg_log(VG_LOG_WARN, "broker", "store.reserve",
               "detail=no_room bytes=%d: receipts may stop if the disk fills", VGB_RESERVE_BYTES);
    }
}

void
vgb_space_commit_failed(vgb_broker *b, vg_err rc)
{
    if (rc != VG_ERR_STORAGE_FULL || b->disk_full) {
        return;
    }
    b->disk_full = true;
    s_release_reserve(b);
    vg_log(VG_LOG_ERROR, "broker", "store.full",
           "detail=\"publishes refused with storage_full; receipts continue on the reserve\"");
}

void
vgb_space_check(vgb_broker *b)
{
    if (!b->disk_full) {
        return;
    }
    struct statvfs st;
    if (statvfs(b->cfg->store_path, &st) != 0 ||
        (uint64_t)st.f_bavail * st.f_frsize < VGB_RESERVE_BYTES + VGB_RESUME_BYTES) {
        return;
    }
    if (s_take_reserve(b)) {
        b->disk_full = false;
        vg_log(VG_LOG_INFO, "broker", "store.space", "detail=\"publishing resumes\"");
    }
}
