/*
 * broker/space.h — what the broker does when its disk fills.
 *
 * A full disk must not stop the record of who received and acknowledged
 * what. The broker keeps a reserve file (store/reserve) beside its
 * database. The first commit that fails for lack of space puts the broker
 * in "full" mode: the reserve is released, so receipts, shares and their
 * audit leaves still have room, while new publishes are refused with
 * storage_full before anything is written (the agents keep them in their
 * outboxes). Once a second the broker looks at the free space; when there
 * is room again it takes its reserve back and publishing resumes by itself.
 * The reserve is the broker's own file: releasing it deletes nothing that
 * was recorded.
 *
 * Owns: the reserve file and the full flag.
 * Thread rules: the loop's thread only.
 */
#ifndef VIGIL_BROKER_SPACE_H
#define VIGIL_BROKER_SPACE_H

#include <stdbool.h>
#include <stdint.h>

#include "vigil/err.h"

typedef struct vgb_space vgb_space;

/* Takes the reserve in dir (best effort: a warning when it does not fit).
 * dir is copied. VG_ERR_NOMEM only. Free with vgb_space_destroy. */
vg_err vgb_space_new(vgb_space **out, const char *dir) VG_MUST_USE;

/* NULL-safe; sets *s_p = NULL. The reserve file stays. */
void vgb_space_destroy(vgb_space **s_p);

/* True while publishes are refused. */
bool vgb_space_full(const vgb_space *s);

/* A commit failed with rc: on VG_ERR_STORAGE_FULL, releases the reserve and
 * refuses publishes from now on. */
void vgb_space_commit_failed(vgb_space *s, vg_err rc);

/* While full, at most once a second (monotonic now_ms): when there is room
 * again, takes the reserve back and publishing resumes. */
void vgb_space_service(vgb_space *s, int64_t now_ms);

#endif
