/* store-tamper: a SQLite VFS that fails syncs on demand */
/* fault_vfs.c — see fault_vfs.h. */
#include "fault_vfs.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

/* A file of the wrapper: its methods, then the real VFS's file. */
typedef struct s_file {
    sqlite3_file base;  /* pMethods: s_io */
    sqlite3_file *real; /* the wrapped VFS's file, right after this struct */
} s_file;

/* The wrapper's one piece of state, like SQLite's own VFS list: a VFS has
 * no context of its caller. */
static struct {
    sqlite3_vfs vfs;        /* the wrapper */
    sqlite3_vfs *real;      /* the default VFS it wraps */
    sqlite3_io_methods io;  /* forwarding methods, version of the real files */
    bool installed;         /* fv_install ran */
    pthread_mutex_t mu;     /* guards the three below */
    pthread_t armed_thread; /* whose syncs fail */
    size_t n_armed;         /* how many more fail */
    size_t n_failed;        /* failed so far */
} s_fv = {.mu = PTHREAD_MUTEX_INITIALIZER};

static sqlite3_file *
s_real(sqlite3_file *f)
{
    return ((s_file *)f)->real;
}

/* ---- file methods: forwarded, xSync failed when armed -------------------- */

static int
s_close(sqlite3_file *f)
{
    return s_real(f)->pMethods->xClose(s_real(f));
}

static int
s_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    return s_real(f)->pMethods->xRead(s_real(f), buf, n, off);
}

static int
s_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    return s_real(f)->pMethods->xWrite(s_real(f), buf, n, off);
}

static int
s_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return s_real(f)->pMethods->xTruncate(s_real(f), size);
}

static bool
s_take_failure(void)
{
    pthread_mutex_lock(&s_fv.mu);
    bool fail = s_fv.n_armed > 0 && pthread_equal(s_fv.armed_thread, pthread_self());
    if (fail) {
        s_fv.n_armed--;
        s_fv.n_failed++;
    }
    pthread_mutex_unlock(&s_fv.mu);
    return fail;
}

static int
s_sync(sqlite3_file *f, int flags)
{
    if (s_take_failure()) {
        return SQLITE_IOERR_FSYNC;
    }
    return s_real(f)->pMethods->xSync(s_real(f), flags);
}

static int
s_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return s_real(f)->pMethods->xFileSize(s_real(f), size);
}

static int
s_lock(sqlite3_file *f, int level)
{
    return s_real(f)->pMethods->xLock(s_real(f), level);
}

static int
s_unlock(sqlite3_file *f, int level)
{
    return s_real(f)->pMethods->xUnlock(s_real(f), level);
}

static int
s_check_reserved(sqlite3_file *f, int *out)
{
    return s_real(f)->pMethods->xCheckReservedLock(s_real(f), out);
}

static int
s_file_control(sqlite3_file *f, int op, void *arg)
{
    return s_real(f)->pMethods->xFileControl(s_real(f), op, arg);
}

static int
s_sector_size(sqlite3_file *f)
{
    return s_real(f)->pMethods->xSectorSize(s_real(f));
}

static int
s_device_chars(sqlite3_file *f)
{
    return s_real(f)->pMethods->xDeviceCharacteristics(s_real(f));
}

static int
s_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **out)
{
    return s_real(f)->pMethods->xShmMap(s_real(f), region, size, extend, out);
}

static int
s_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return s_real(f)->pMethods->xShmLock(s_real(f), offset, n, flags);
}

static void
s_shm_barrier(sqlite3_file *f)
{
    s_real(f)->pMethods->xShmBarrier(s_real(f));
}

static int
s_shm_unmap(sqlite3_file *f, int delete_flag)
{
    return s_real(f)->pMethods->xShmUnmap(s_real(f), delete_flag);
}

static int
s_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
    return s_real(f)->pMethods->xFetch(s_real(f), off, n, out);
}

static int
s_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return s_real(f)->pMethods->xUnfetch(s_real(f), off, p);
}

/* ---- VFS methods: forwarded ---------------------------------------------- */

static int
s_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    (void)vfs;
    s_file *w = (s_file *)f;
    w->real = (sqlite3_file *)(w + 1);
    memset(w->real, 0, (size_t)s_fv.real->szOsFile);
    f->pMethods = NULL; /* until the real open succeeded: SQLite then calls no xClose */
    int rc = s_fv.real->xOpen(s_fv.real, name, w->real, flags, out_flags);
    if (w->real->pMethods != NULL) {
        /* The real file decides the version; ours forwards that much (every
         * file of the unix VFS has the same; the broker's threads open too). */
        pthread_mutex_lock(&s_fv.mu);
        s_fv.io.iVersion = w->real->pMethods->iVersion;
        pthread_mutex_unlock(&s_fv.mu);
        f->pMethods = &s_fv.io;
    }
    return rc;
}

static int
s_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    return s_fv.real->xDelete(s_fv.real, name, sync_dir);
}

static int
s_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return s_fv.real->xAccess(s_fv.real, name, flags, out);
}

static int
s_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return s_fv.real->xFullPathname(s_fv.real, name, n, out);
}

static void *
s_dl_open(sqlite3_vfs *vfs, const char *name)
{
    (void)vfs;
    return s_fv.real->xDlOpen(s_fv.real, name);
}

static void
s_dl_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    s_fv.real->xDlError(s_fv.real, n, out);
}

static void (*s_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
    (void)vfs;
    return s_fv.real->xDlSym(s_fv.real, h, sym);
}

static void
s_dl_close(sqlite3_vfs *vfs, void *h)
{
    (void)vfs;
    s_fv.real->xDlClose(s_fv.real, h);
}

static int
s_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return s_fv.real->xRandomness(s_fv.real, n, out);
}

static int
s_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return s_fv.real->xSleep(s_fv.real, us);
}

static int
s_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return s_fv.real->xCurrentTime(s_fv.real, out);
}

static int
s_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return s_fv.real->xGetLastError(s_fv.real, n, out);
}

static int
s_current_time_i64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    return s_fv.real->xCurrentTimeInt64(s_fv.real, out);
}

void
fv_install(void)
{
    if (s_fv.installed) {
        return;
    }
    assert_int_equal(sqlite3_initialize(), SQLITE_OK);
    s_fv.real = sqlite3_vfs_find(NULL);
    assert_non_null(s_fv.real);
    assert_true(s_fv.real->iVersion >= 2); /* xCurrentTimeInt64 */
    s_fv.io = (sqlite3_io_methods){
        .iVersion = 3,
        .xClose = s_close,
        .xRead = s_read,
        .xWrite = s_write,
        .xTruncate = s_truncate,
        .xSync = s_sync,
        .xFileSize = s_file_size,
        .xLock = s_lock,
        .xUnlock = s_unlock,
        .xCheckReservedLock = s_check_reserved,
        .xFileControl = s_file_control,
        .xSectorSize = s_sector_size,
        .xDeviceCharacteristics = s_device_chars,
        .xShmMap = s_shm_map,
        .xShmLock = s_shm_lock,
        .xShmBarrier = s_shm_barrier,
        .xShmUnmap = s_shm_unmap,
        .xFetch = s_fetch,
        .xUnfetch = s_unfetch,
    };
    s_fv.vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(s_file) + s_fv.real->szOsFile,
        .mxPathname = s_fv.real->mxPathname,
        .zName = "vigil-fault",
        .xOpen = s_open,
        .xDelete = s_delete,
        .xAccess = s_access,
        .xFullPathname = s_full_pathname,
        .xDlOpen = s_dl_open,
        .xDlError = s_dl_error,
        .xDlSym = s_dl_sym,
        .xDlClose = s_dl_close,
        .xRandomness = s_randomness,
        .xSleep = s_sleep,
        .xCurrentTime = s_current_time,
        .xGetLastError = s_last_error,
        .xCurrentTimeInt64 = s_current_time_i64,
    };
    assert_int_equal(sqlite3_vfs_register(&s_fv.vfs, 1), SQLITE_OK);
    s_fv.installed = true;
}

void
fv_fail_syncs(size_t n)
{
    pthread_mutex_lock(&s_fv.mu);
    s_fv.armed_thread = pthread_self();
    s_fv.n_armed = n;
    pthread_mutex_unlock(&s_fv.mu);
}

size_t
fv_failed_syncs(void)
{
    pthread_mutex_lock(&s_fv.mu);
    size_t n = s_fv.n_failed;
    pthread_mutex_unlock(&s_fv.mu);
    return n;
}
