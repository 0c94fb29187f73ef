/*
 * broker/store_sqlite_ckpt.h — WAL checkpoints on a thread of their own, so that
 * they never stall the broker loop.
 *
 * SQLite's automatic checkpoint runs inside COMMIT on the committing
 * connection: it copies the WAL into the database file and syncs it while
 * the loop waits (measured at 50% load: 2-8 ms, some 15 times a second).
 * The store turns it off (store.h); this module runs checkpoints on a
 * worker thread with a second connection to the same database:
 *
 * - After each commit the loop passes the WAL's frame count
 *   (vgb_ckpt_after_commit, which never blocks). Once `pages` frames have
 *   been committed since the last checkpoint, it asks the worker for a
 *   PASSIVE checkpoint, which copies what was committed before it started
 *   and never takes the write lock: the loop commits on meanwhile.
 * - SQLite writes the WAL from its beginning again only when a transaction
 *   starts while every frame is copied. Under steady load there is always a
 *   commit newer than the last PASSIVE pass, so the WAL would grow without
 *   end. Once it holds VGB_CKPT_RESTART_FACTOR * pages frames and fewer
 *   than `pages` of them are left to copy, the loop asks, right after each
 *   commit (when it is between transactions), for a rewind: a PASSIVE pass
 *   that copies what is left, then a RESTART checkpoint that tries the
 *   write lock once (never waiting for it, nor holding it to wait for
 *   readers). With the lock and nothing left to copy it lets go at once,
 *   and the loop's next transaction writes the WAL from its beginning.
 *   Without the lock (the loop is in a transaction) it says so and the loop
 *   asks again after its next commit. After VGB_CKPT_REWIND_TRIES misses in
 *   a row the loop asks for a plain RESTART attempt, which, taking the lock
 *   right after the commit, copies what is left while holding it: the
 *   loop's next BEGIN may wait that long (a millisecond or two: it waits in
 *   100 us steps). So the WAL stays near VGB_CKPT_RESTART_FACTOR * pages
 *   frames; one that reaches VGB_CKPT_WARN_FACTOR * pages (a reader pins
 *   it, or the disk fails) is logged (store.wal_large).
 * - A checkpoint that fails (I/O error, full disk) changes nothing that was
 *   committed: the WAL keeps every frame not yet copied. The loop asks again
 *   after a backoff (VGB_CKPT_RETRY_MS, doubling up to
 *   VGB_CKPT_RETRY_MAX_MS), not after every commit. The first failure of a
 *   run is logged (store.checkpoint, with SQLite's message: no content, no
 *   keys), and the recovery after it with the number of failed tries.
 *
 * Start it only on a store the broker has accepted (vgb_store_mark_sound):
 * a store refused at start is never checkpointed. Its connection never
 * checkpoints on close and never removes the WAL; at a clean stop the worker
 * is stopped first, and the store's own connection, closed last, checkpoints
 * as before.
 *
 * Thread rules: every function here runs on the loop thread; the loop and
 * the worker talk over an inproc ZeroMQ PAIR, never through shared memory.
 * The worker blocks signals (they are the loop's) and is named
 * VGB_CKPT_THREAD_NAME (top -H; /proc/PID/task/TID/comm, where the fault
 * tests find it to inject I/O errors into it alone).
 */
#ifndef VIGIL_BROKER_STORE_SQLITE_CKPT_H
#define VIGIL_BROKER_STORE_SQLITE_CKPT_H

#include <stdint.h>

#include "vigil/err.h"

#define VGB_CKPT_RESTART_FACTOR 2 /* rewind once the WAL holds this many * pages */
#define VGB_CKPT_REWIND_TRIES 8   /* cheap rewind attempts before one that copies under the lock */
#define VGB_CKPT_RETRY_MS 100     /* after a failed checkpoint, the next request waits this */
#define VGB_CKPT_RETRY_MAX_MS 10000 /* ... doubling up to this */
#define VGB_CKPT_WARN_FACTOR 16     /* store.wal_large at this many * pages */
#define VGB_CKPT_THREAD_NAME "vigil-ckpt"

typedef struct vgb_ckpt vgb_ckpt;

/* Opens a second connection to the database at db_path (which must exist,
 * in WAL mode) and starts the worker; zmq_ctx (borrowed) must outlive it.
 * pages >= 1: frames committed since the last checkpoint that ask for the
 * next. VG_ERR_IO (with why) when the connection, the sockets or the thread
 * cannot be made. Free with vgb_ckpt_destroy. */
vg_err vgb_ckpt_new(vgb_ckpt **out, void *zmq_ctx, const char *db_path, uint32_t pages,
                    vg_reason *why) VG_MUST_USE;

/* After a commit: wal_frames is vgb_store_wal_frames. Reads the worker's
 * answers and asks for a checkpoint when one is due and none is running.
 * Never waits. */
void vgb_ckpt_after_commit(vgb_ckpt *c, uint32_t wal_frames);

/* Stops the worker (a checkpoint in progress is finished first), joins it
 * and closes its connection and sockets. NULL-safe; sets *c_p = NULL. */
void vgb_ckpt_destroy(vgb_ckpt **c_p);

#endif
