/* space.c — the reserve file and the full flag (space.h). */
#include "space.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "vigil/log.h"
#include "vigil/util.h"

struct vgb_space {
    char *dir;             /* the store directory */
    bool full;             /* publishes refused; receipts run on the reserve */
    int64_t next_check_ms; /* while full, free space is looked at once a second */
};

#define VGB_RESERVE_BYTES (1024 * 1024)
/* Free space needed (beyond the reserve) before publishing resumes. */
#define VGB_RESUME_BYTES (2 * 1024 * 1024)

static void
s_path(const vgb_space *sp, char *out, size_t len)
{
    snprintf(out, len, "%s/reserve", sp->dir);
}

/* Writes the reserve (real blocks, not a sparse file); false when it does
 * not fit. */
static bool
s_take_reserve(vgb_space *sp)
{
    char path[4096];
    s_path(sp, path, sizeof path);
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
s_release_reserve(vgb_space *sp)
{
    char path[4096];
    s_path(sp, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (ftruncate(fd, 0) != 0 || fdatasync(fd) != 0) {
            vg_log(VG_LOG_WARN, "broker", "store.reserve", "detail=release_failed errno=%d", errno);
        }
        close(fd);
    }
}

vg_err
vgb_space_new(vgb_space **out, const char *dir)
{
    vgb_space *sp = calloc(1, sizeof *sp);
    if (sp == NULL || (sp->dir = vg_strdup(dir)) == NULL) {
        free(sp);
        return VG_ERR_NOMEM;
    }
    if (!s_take_reserve(sp)) {
        vg_log(VG_LOG_WARN, "broker", "store.reserve",
               "detail=no_room bytes=%d: receipts may stop if the disk fills", VGB_RESERVE_BYTES);
    }
    *out = sp;
    return VG_OK;
}

void
vgb_space_destroy(vgb_space **s_p)
{
    if (s_p == NULL || *s_p == NULL) {
        return;
    }
    free((*s_p)->dir);
    free(*s_p);
    *s_p = NULL;
}

bool
vgb_space_full(const vgb_space *sp)
{
    return sp->full;
}

void
vgb_space_commit_failed(vgb_space *sp, vg_err rc)
{
    if (rc != VG_ERR_STORAGE_FULL || sp->full) {
        return;
    }
    sp->full = true;
    s_release_reserve(sp);
    vg_log(VG_LOG_ERROR, "broker", "store.full",
           "detail=\"publishes refused with storage_full; receipts continue on the reserve\"");
}

void
vgb_space_service(vgb_space *sp, int64_t now_ms)
{
    if (!sp->full || now_ms < sp->next_check_ms) {
        return;
    }
    sp->next_check_ms = now_ms + 1000;
    struct statvfs st;
    if (statvfs(sp->dir, &st) != 0 ||
        (uint64_t)st.f_bavail * st.f_frsize < VGB_RESERVE_BYTES + VGB_RESUME_BYTES) {
        return;
    }
    if (s_take_reserve(sp)) {
        sp->full = false;
        vg_log(VG_LOG_INFO, "broker", "store.space", "detail=\"publishing resumes\"");
    }
}
