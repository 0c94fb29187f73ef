/*
 * tests/unit/broker/fault_vfs.h — an SQLite VFS that fails syncs on demand,
 * so that a test can make one commit of a running broker fail, in-process.
 *
 * fv_install() registers "vigil-fault" as the default VFS: a wrapper over
 * the default one that forwards every call. Every connection opened after it
 * with the default VFS (the broker's store, its checkpointer's and its query
 * thread's connections) goes through it. fv_fail_syncs(n) makes the next n
 * xSync calls made by the calling thread fail with SQLITE_IOERR_FSYNC, the
 * way a disk that answers fsync with EIO does: a WAL commit (synchronous=FULL
 * syncs the WAL in every COMMIT) then fails and its transaction is rolled
 * back. Other threads' syncs (the WAL checkpointer's) are left alone, so the
 * failure lands in the loop's batch and nowhere else.
 *
 * Why a VFS: a read-only directory does not stop root, a full disk cannot be
 * made in-process, and the broker holds its store open; SQLite's own tests
 * fail I/O this way.
 *
 * Thread rules: fv_install before any connection is opened (registration is
 * not synchronised with opens); installing twice is a no-op. The counters
 * are guarded by a mutex. Nothing here is ever unregistered: the process ends.
 */
#ifndef VIGIL_TESTS_UNIT_BROKER_FAULT_VFS_H
#define VIGIL_TESTS_UNIT_BROKER_FAULT_VFS_H

#include <stddef.h>

/* Registers the wrapper as the default VFS (once). Fails the running cmocka
 * test when SQLite refuses. */
void fv_install(void);

/* The next n syncs made by the calling thread fail (0: none; replaces what
 * was armed before). */
void fv_fail_syncs(size_t n);

/* Syncs failed on purpose since fv_install. */
size_t fv_failed_syncs(void);

#endif
