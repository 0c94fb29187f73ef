/*
 * vb_net.h — the throw-away network vigil-bench measures: a `vigilctl init`
 * network in a scratch directory on 127.0.0.1 (a free port), the real
 * vigil-broker started from it, the agencies' keys and network document, and
 * what the bench reads about the broker process (/proc) and its store.
 *
 * Owns the scratch directory (removed by vb_net_destroy) and the broker
 * process (stopped by pid: SIGTERM, then SIGKILL after VB_STOP_MS). Every
 * wait is bounded. Nothing here is thread-safe: the bench's main thread owns
 * a vb_net; client threads only read its keys and document.
 */
#ifndef VIGIL_TESTS_BENCH_VB_NET_H
#define VIGIL_TESTS_BENCH_VB_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vigil/err.h"
#include "vigil/keys.h"
#include "vigil/netdoc.h"

#define VB_RECIPIENTS 4    /* recipient agencies per alert */
#define VB_PATH_MAX 512    /* longest path the bench builds */
#define VB_READY_MS 15000  /* longest wait for broker.ready */
#define VB_STOP_MS 10000   /* SIGTERM grace before SIGKILL */
#define VB_CONF_SET_MAX 16 /* broker.conf overrides */

/* The sender agency and the four recipients (the network's other agencies). */
extern const char *const vb_sender;
extern const char *const vb_recipients[VB_RECIPIENTS];

typedef struct vb_net {
    char bin_dir[VB_PATH_MAX];           /* where vigil-broker and vigilctl are */
    char tmp[VB_PATH_MAX];               /* scratch directory */
    char net[VB_PATH_MAX];               /* tmp/net */
    char conf[VB_PATH_MAX];              /* net/broker/broker.conf */
    char db[VB_PATH_MAX];                /* net/broker/store/vigil.db */
    char log[VB_PATH_MAX];               /* tmp/broker.log */
    char endpoint[64];                   /* tcp://127.0.0.1:PORT */
    pid_t pid;                           /* running broker, 0 when none */
    vg_netdoc *doc;                      /* the network document */
    uint8_t broker_pk[VG_CURVE_KEY_LEN]; /* broker transport key */
    vg_keyset *sender_keys;              /* vb_sender's keys */
    vg_keyset *keys[VB_RECIPIENTS];      /* recipients' keys */
    uint64_t next_seq;                   /* next sender sequence number */
} vb_net;

/* Makes a network under tmp_parent (NULL: $TMPDIR or /tmp) with vigilctl
 * init, applies conf_set ("key = value" lines appended to [broker];
 * NULL-terminated, may be NULL), loads the keys and the document. Does not
 * start the broker. Free with vb_net_destroy. */
vg_err vb_net_new(vb_net **out, const char *bin_dir, const char *tmp_parent,
                  const char *const *conf_set, vg_reason *why) VG_MUST_USE;

/* A national network for the scaling row: vb_net_new's five agencies and
 * oversight, then wide_role_n - 1 agencies "cs-NNNN" that share the role of
 * childrens-services (which is the first of the role), then "ag-NNNN" up to
 * n_agencies cards in all (--agencies-file). The document gets the category
 * VB_WIDE_CATEGORY and a policy rule: from high severity on, every agency of
 * the role must receive it — a national missing-child alert. Re-signed with
 * vigilctl network sign. */
#define VB_WIDE_CATEGORY "national-missing-child"
#define VB_WIDE_ROLE "childrens-services"
vg_err vb_net_new_national(vb_net **out, const char *bin_dir, const char *tmp_parent,
                           const char *const *conf_set, size_t n_agencies, size_t wide_role_n,
                           vg_reason *why) VG_MUST_USE;

/* The id of the i-th agency of the wide role (i = 0: childrens-services). */
void vb_wide_agency(char *out, size_t out_len, size_t i);

/* Puts the broker's store in the PostgreSQL database of dsn (broker.conf
 * [store] backend = postgresql; the broker then leads it: docs/ha.md).
 * Before vb_net_start. */
vg_err vb_net_use_postgresql(vb_net *n, const char *dsn, vg_reason *why) VG_MUST_USE;

/* Spawns the broker (output to n->log) and waits for its broker.ready. */
vg_err vb_net_start(vb_net *n, vg_reason *why) VG_MUST_USE;

/* SIGTERM, waits VB_STOP_MS, then SIGKILL. No-op when not running. */
void vb_net_stop(vb_net *n);

/* Stops the broker, removes the scratch directory (unless keep), frees n.
 * NULL-safe; sets *n_p = NULL. */
void vb_net_destroy(vb_net **n_p, bool keep);

/* What /proc says about a process. */
typedef struct vb_proc {
    double cpu_s; /* utime + stime, seconds */
    long rss_kib; /* VmRSS */
    long hwm_kib; /* VmHWM: peak RSS since start or the last reset */
} vb_proc;

/* Reads /proc/PID/stat and /proc/PID/status. False when the process is gone. */
bool vb_proc_read(pid_t pid, vb_proc *out);

/* Resets VmHWM to the current RSS (writes 5 to /proc/PID/clear_refs). */
void vb_proc_reset_hwm(pid_t pid);

/* What the broker's store holds, read through its interface (broker/store.h)
 * on a read-only connection: alerts stored, and recipient rows still
 * PENDING; -1 when the store cannot be read. */
int64_t vb_store_alerts(const vb_net *n);
int64_t vb_store_pending(const vb_net *n);

/* How many rows of each kind the store holds (its vgb_count_what counts),
 * read in one committed state; n = 0 when the store cannot be read. */
#define VB_TABLES_MAX 32
typedef struct vb_rows {
    size_t n;                     /* kinds of row */
    char name[VB_TABLES_MAX][64]; /* their names ("alerts", "receipt items", ...) */
    int64_t count[VB_TABLES_MAX]; /* their rows */
} vb_rows;
void vb_store_rows(const vb_net *n, vb_rows *out);

/* Rows written per alert between two snapshots (alerts: the growth of the
 * alerts stored), and by kind as "kind n.nn, ..." in out. */
double vb_rows_per_alert(const vb_rows *before, const vb_rows *after, char *out, size_t out_len);

/* Starts `perf record -e cpu-clock --call-graph dwarf` on pid, writing
 * out_file (output to /dev/null); its pid, or 0 when perf did not start.
 * Stop it with vb_perf_stop (SIGINT, bounded wait, then SIGKILL). */
pid_t vb_perf_start(pid_t pid, const char *out_file);
void vb_perf_stop(pid_t perf_pid);

/* Monotonic nanoseconds; wall-clock UTC milliseconds. */
int64_t vb_mono_ns(void);
int64_t vb_wall_ms(void);
void vb_sleep_ms(int64_t ms);

#endif
