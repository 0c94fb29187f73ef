/*
 * broker/highwater.h — the high-water mark: how long the audit log was
 * known to be, and its root then, kept in a small file beside the store
 * ("STORE/highwater": "vigil-highwater 1 SIZE ROOTHEX CHECK"), outside the
 * database. When the database loses committed history (a truncated or
 * damaged SQLite file, a PostgreSQL standby promoted without a synchronous
 * copy, a restored backup, rows deleted by the owner role) the log comes
 * back shorter than the mark, or different at its size, and the broker
 * refuses to serve it instead of serving a silently shortened history.
 *
 * Written by the leader after every commit that grew the log (ledger.h),
 * and with PostgreSQL also by a standby from what the leader records as
 * durable in the store (ha.h), so that every broker's mark is as new as
 * the last durable commit of any leader, up to a batch behind. A mark that
 * does not parse (torn by a crash) is ignored with a warning: it can only
 * ever make the check weaker, never raise a false alarm.
 *
 * Owns: the file's descriptor. Thread rules: one owner.
 */
#ifndef VIGIL_BROKER_HIGHWATER_H
#define VIGIL_BROKER_HIGHWATER_H

#include <stdbool.h>
#include <stdint.h>

#include "audit.h"
#include "vigil/err.h"
#include "vigil/merkle.h"

#define VGB_HIGHWATER_NAME "highwater" /* the file in the store directory */

typedef struct vgb_highwater {
    int fd;                           /* the file, or -1 */
    char path[4096];                  /* DIR/highwater */
    bool valid;                       /* size and root were read or written */
    uint64_t size;                    /* the log size it records */
    uint8_t root[VG_MERKLE_HASH_LEN]; /* the log's root at that size */
} vgb_highwater;

/* Reads DIR/highwater (absent or torn: no mark, the latter logged
 * store.highwater detail=unreadable_ignored), then opens it for writing
 * (created 0600). VG_ERR_IO with why when it cannot be opened. Close with
 * vgb_highwater_close. */
vg_err vgb_highwater_open(vgb_highwater *hw, const char *dir, vg_reason *why) VG_MUST_USE;

/* NULL-safe. */
void vgb_highwater_close(vgb_highwater *hw);

/* VG_OK when audit's log holds at least the mark's size with the mark's
 * root at that size (or there is no mark); VG_ERR_MALFORMED with why (and
 * store.damaged logged) when it lost or changed that history; a read
 * error. what names the store for the reason. */
vg_err vgb_highwater_check(const vgb_highwater *hw, vgb_audit *audit, const char *what,
                           vg_reason *why) VG_MUST_USE;

/* Records size and root (fsynced) when size is above the mark (or there
 * is none). A failure is logged; the old mark stays. */
void vgb_highwater_raise(vgb_highwater *hw, uint64_t size, const uint8_t root[VG_MERKLE_HASH_LEN]);

#endif
