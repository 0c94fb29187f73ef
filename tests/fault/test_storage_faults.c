/* store-tamper: runs SQLite's own PRAGMA integrity_check on a store hit by injected faults */
/*
 * test_storage_faults.c — the broker's store on a disk that fills up, and
 * under injected I/O errors.
 *
 * Full disk: the store directory is a small tmpfs (mount -t tmpfs; the test
 * is skipped, saying so, where mounting is not allowed) filled with ballast
 * until publishes fail. A refused publish must say storage_full and stay in
 * the agent's outbox; everything confirmed before stays deliverable; when
 * the ballast goes, the outbox empties by itself (no flush called) and new
 * publishes are accepted; nothing confirmed is lost across a restart.
 *
 * I/O errors: strace attaches to the running broker and makes every fsync
 * and fdatasync (or every pwrite64) fail with EIO, then detaches. A publish
 * sent meanwhile must never be confirmed, then or later; resent afterwards
 * it is ACCEPTED (not DUPLICATE: the failed batch left nothing behind); the
 * store passes PRAGMA integrity_check and keeps every alert confirmed. The
 * broker also runs a WAL checkpointer thread (broker/checkpointer.h): the
 * test checks that an error was injected into the loop thread itself (the
 * commit path), not only into another thread.
 *
 * I/O errors in the checkpointer: strace attaches to that thread alone (its
 * name is VGB_CKPT_THREAD_NAME) with a checkpoint threshold small enough
 * that every publish or two asks for a checkpoint. Every publish meanwhile
 * is still ACCEPTED (the loop is not touched), the failure is logged once
 * (store.checkpoint result=failed), checkpoints recover after strace
 * detaches, and after a restart the store passes integrity_check and
 * `vigilctl audit verify` and holds and delivers every confirmed alert.
 */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <dirent.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "broker_harness.h"
#include "store_sqlite_ckpt.h"
#include "fault_util.h"
#include "itest.h"
#include "rawclient.h"
#include "vigil/agent.h"
#include "vigil/util.h"

#define T_REPLY_MS 3000
#define T_TMPFS "size=8m,mode=0700"
#define T_LEFT_BYTES (192 * 1024) /* free space left beside the ballast */
#define T_DESCRIPTION_BYTES 16384
#define T_MAX_PUBLISHES 400
#define T_RESUME_MS 30000 /* the agent resends its outbox every 10 s */

typedef struct s_state {
    bh_broker *b; /* the broker */
    char *mnt;    /* mounted tmpfs, or NULL */
} s_state;

static int
s_setup(void **state)
{
    *state = calloc(1, sizeof(s_state));
    return *state == NULL;
}

static int
s_teardown(void **state)
{
    s_state *st = *state;
    if (st->b != NULL && st->b->pid > 0) {
        fu_kill(st->b->pid);
        st->b->pid = 0;
    }
    if (st->mnt != NULL) {
        umount2(st->mnt, MNT_DETACH);
        free(st->mnt);
    }
    bh_destroy(&st->b);
    free(st);
    return 0;
}

/* SQLite's own check of every page of the store file (no store interface
 * reads a whole file): "ok", or what it found. Reads only. */
static const char *
s_sqlite_integrity_check(const bh_broker *b)
{
    static char result[256];
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    snprintf(result, sizeof result, "cannot open");
    if (sqlite3_open_v2(b->db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
        snprintf(result, sizeof result, "%s", (const char *)sqlite3_column_text(q, 0));
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return result;
}

/* ---- full disk ------------------------------------------------------------- */

static void
s_ballast(const char *dir, char **path_out)
{
    struct statvfs vfs;
    assert_int_equal(statvfs(dir, &vfs), 0);
    uint64_t free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    assert_true(free_bytes > T_LEFT_BYTES);
    *path_out = it_path(dir, "ballast");
    FILE *f = fopen(*path_out, "wb");
    assert_non_null(f);
    static char chunk[65536];
    for (uint64_t left = free_bytes - T_LEFT_BYTES; left > 0;) {
        size_t n = left < sizeof chunk ? (size_t)left : sizeof chunk;
        if (fwrite(chunk, 1, n, f) != n) {
            break;
        }
        left -= n;
    }
    fclose(f);
}

static vg_err
s_publish_big(vga_agent *tx, size_t n, uint8_t id_out[VG_ALERT_ID_LEN])
{
    static char description[T_DESCRIPTION_BYTES + 1];
    memset(description, 'x', T_DESCRIPTION_BYTES);
    char headline[64];
    snprintf(headline, sizeof headline, "disk filler %zu", n);
    vg_alert alert;
    bh_alert_init(&alert, headline, description, "taxi", "");
    vga_confirm res;
    vg_reason why = {{0}};
    vg_err rc = vga_publish(tx, &alert, T_REPLY_MS, &res, &why);
    memcpy(id_out, res.alert_id, VG_ALERT_ID_LEN);
    vga_confirm_fini(&res);
    bh_alert_fini(&alert);
    return rc;
}

static size_t
s_outbox(vga_agent *a)
{
    size_t n = 0;
    assert_int_equal(vga_outbox_count(a, &n), VG_OK);
    return n;
}

static size_t
s_receive_all(vga_agent *rx, int64_t quiet_ms)
{
    size_t n = 0;
    for (;;) {
        vg_alert got = {0};
        if (vga_receive(rx, quiet_ms, &got, NULL) != VG_OK) {
            return n;
        }
        vg_alert_fini(&got);
        n++;
    }
}

static void
test_full_disk_refuses_with_storage_full_and_resumes(void **state)
{
    s_state *st = *state;
    int64_t t0 = bh_now_ms();
    const char *conf[] = {"redeliver=500ms", NULL};
    st->b = bh_new(conf);
    bh_broker *b = st->b;
    char *store = it_path(b->net, "broker/store");
    vg_reason why = {{0}};
    assert_int_equal(vg_mkdir_p(store, 0700, &why), VG_OK);
    if (mount("tmpfs", store, "tmpfs", 0, T_TMPFS) != 0) {
        printf("fault: SKIPPED full-disk test: cannot mount a tmpfs here (%s); run as root or "
               "with CAP_SYS_ADMIN\n",
               strerror(errno));
        free(store);
        bh_pass(b);
        skip();
    }
    st->mnt = store;
    bh_start(b);
    vga_agent *tx = bh_agent_open(b, "home-office", false);
    char *ballast = NULL;
    s_ballast(store, &ballast);
    uint8_t ids[T_MAX_PUBLISHES][VG_ALERT_ID_LEN];
    size_t n_ok = 0;
    vg_err refusal = VG_OK;
    while (n_ok < T_MAX_PUBLISHES) {
        refusal = s_publish_big(tx, n_ok + 1, ids[n_ok]);
        if (refusal != VG_OK) {
            break;
        }
        n_ok++;
    }
    size_t kept = s_outbox(tx);
    bool alive = kill(b->pid, 0) == 0;
    printf("fault: full_disk: confirmed=%zu then %s; outbox=%zu; store.error lines=%zu "
           "batch.abort lines=%zu\n",
           n_ok, vg_err_code(refusal), kept, bh_log_count(b, "store.error", NULL),
           bh_log_count(b, "batch.abort", NULL));
    assert_true(alive);
    assert_true(n_ok > 0 && n_ok < T_MAX_PUBLISHES);
    assert_int_equal(kept, 1); /* the refused alert waits in the outbox */

    /* While full, everything confirmed is still delivered, its DELIVERED
     * receipts are recorded, and a duty officer's acknowledgement is
     * accepted: the broker released its reserve for them. A new publish is
     * still refused with storage_full. */
    vga_agent *rx = bh_agent_open(b, "licensing", true);
    size_t got_full = s_receive_all(rx, 2000);
    vga_confirm ack;
    vg_err acked =
        vga_ack(rx, ids[0], "Duty Officer", "read while the disk was full", 5000, &ack, NULL);
    vga_confirm_fini(&ack);
    uint8_t refused_id[VG_ALERT_ID_LEN];
    vg_err still_refused = s_publish_big(tx, 5000, refused_id);
    int64_t delivered_rows = bh_store_count_reached(b, "licensing");
    printf("fault: full_disk: while full: ack=%s, new publish=%s, delivered rows=%lld\n",
           vg_err_code(acked), vg_err_code(still_refused), (long long)delivered_rows);
    assert_int_equal(acked, VG_OK);
    assert_int_equal(still_refused, VG_ERR_STORAGE_FULL);
    assert_int_equal(delivered_rows, (int64_t)n_ok);

    /* Space comes back: the outbox empties by itself, new publishes pass. */
    assert_int_equal(unlink(ballast), 0);
    int64_t end = bh_now_ms() + T_RESUME_MS;
    while (s_outbox(tx) > 0 && bh_now_ms() < end) {
        vga_poll(tx, 200);
    }
    size_t left = s_outbox(tx);
    uint8_t after_id[VG_ALERT_ID_LEN];
    vg_err after = s_publish_big(tx, 9999, after_id);
    size_t got_after = s_receive_all(rx, 2000);
    printf("fault: full_disk: delivered while full=%zu, after=%zu; outbox after freeing=%zu; "
           "publish after freeing=%s; wall=%lld ms\n",
           got_full, got_after, left, vg_err_code(after), (long long)(bh_now_ms() - t0));
    vga_agent_destroy(&rx);
    vga_agent_destroy(&tx);
    assert_int_equal(got_full, n_ok);
    assert_int_equal(left, 0);
    assert_int_equal(after, VG_OK);
    assert_int_equal(got_after, 3); /* the two kept in the outbox, and the new one */

    /* Nothing confirmed is lost across a restart; the store is sound. */
    bh_stop(b);
    assert_string_equal(s_sqlite_integrity_check(b), "ok");
    bh_start(b);
    for (size_t i = 0; i < n_ok; i++) {
        assert_true(bh_store_has_alert(b, ids[i]));
    }
    /* n_ok, the one refused first (kept in the outbox), the one refused while
     * full (kept too), the one published after freeing */
    assert_int_equal(bh_store_count_alerts(b), (int64_t)n_ok + 3);
    /* Last, the promise of DESIGN.md "Bad input": the refusal names the cause. */
    if (refusal != VG_ERR_STORAGE_FULL) {
        fail_msg("a publish on a full disk ended with %s, not storage_full: the agent was not "
                 "told why (see batch.abort / store.error in the broker log)",
                 vg_err_code(refusal));
    }
    free(ballast);
    bh_stop(b);
    bh_pass(b);
}

/* ---- injected I/O errors --------------------------------------------------- */

static uint8_t *
s_seal_seq(const bh_broker *b, const vga_identity *id, uint64_t seq, size_t *len, uint8_t *alert_id)
{
    (void)b;
    const char *to[] = {"licensing"};
    rc_seal_spec spec = {.recipients = to,
                         .n_recipients = 1,
                         .category = "other",
                         .sequence = seq,
                         .headline = "io error test"};
    return rc_seal(len, alert_id, id, &spec);
}

static int
s_confirm_status(rc_client *raw, uint64_t req, int64_t ms)
{
    Vigil__BrokerFrame *f = rc_recv_reply(raw, req, ms);
    int status = -1; /* no reply */
    if (f != NULL && f->kind_case == VIGIL__BROKER_FRAME__KIND_CONFIRM) {
        status = (int)f->confirm->status;
    } else if (f != NULL) {
        status = -2; /* another kind of reply */
    }
    rc_frame_free(f);
    return status;
}

/* Attaches strace with fault injection to pid: with follow, to every
 * thread of the process pid; without, to the one thread pid. Returns
 * strace's pid, or 0 when strace is missing or ptrace is not allowed. */
static pid_t
s_attach_strace(pid_t target, bool follow, const char *syscalls, const char *log)
{
    if (access("/usr/bin/strace", X_OK) != 0) {
        return 0;
    }
    char pid[16], trace[128], inject[160];
    snprintf(pid, sizeof pid, "%d", (int)target);
    snprintf(trace, sizeof trace, "trace=%s", syscalls);
    snprintf(inject, sizeof inject, "inject=%s:error=EIO", syscalls);
    char *argv[10];
    size_t n = 0;
    argv[n++] = "/usr/bin/strace";
    if (follow) {
        argv[n++] = "-f";
    }
    char *rest[] = {"-p", pid, "-e", trace, "-e", inject, NULL};
    memcpy(&argv[n], rest, sizeof rest);
    pid_t tracer = fu_spawn(argv, log, NULL);
    for (int64_t end = bh_now_ms() + 5000; bh_now_ms() < end;) {
        uint8_t *text = NULL;
        size_t len = 0;
        vg_reason why = {{0}};
        bool attached = vg_file_read(&text, &len, log, 1 << 20, &why) == VG_OK &&
                        strstr((char *)text, "attached") != NULL;
        free(text);
        if (attached) {
            return tracer;
        }
        if (fu_wait(tracer, 0) != -1) {
            return 0; /* strace gave up: ptrace not allowed */
        }
        bh_sleep_ms(20);
    }
    fu_kill(tracer);
    return 0;
}

/* True when strace (-f) injected an error into thread tid: its lines start
 * with "[pid TID]" (the number padded) when it traces several threads, and
 * carry no prefix when it traces one. */
static bool
s_injected_into(const char *trace, pid_t tid)
{
    for (const char *line = trace; line != NULL && *line != '\0';) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char buf[512];
        snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
        int who = 0;
        bool mine =
            sscanf(buf, "[pid %d]", &who) == 1 ? who == (int)tid : strncmp(buf, "[pid", 4) != 0;
        if (mine && strstr(buf, "(INJECTED)") != NULL) {
            return true;
        }
        line = nl ? nl + 1 : NULL;
    }
    return false;
}

static void
s_io_error_case(void **state, const char *syscalls)
{
    s_state *st = *state;
    int64_t t0 = bh_now_ms();
    st->b = bh_new(NULL);
    bh_broker *b = st->b;
    bh_start(b);
    vga_identity *police = bh_identity(b, "police");
    char *conf = bh_agent_conf(b, "police");
    rc_client *raw = rc_new_agency(conf);
    uint8_t ids[5][VG_ALERT_ID_LEN];
    uint8_t *env[5];
    size_t len[5];
    for (size_t i = 0; i < 5; i++) {
        env[i] = s_seal_seq(b, police, i + 1, &len[i], ids[i]);
    }
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(s_confirm_status(raw, rc_publish(raw, env[i], len[i]), T_REPLY_MS),
                         VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    }
    char *slog = it_path(b->tmp, "strace.log");
    pid_t tracer = s_attach_strace(b->pid, true, syscalls, slog);
    if (tracer == 0) {
        printf("fault: SKIPPED io error test (%s): strace is missing or cannot attach here\n",
               syscalls);
        bh_pass(b);
        skip();
    }
    /* During the fault: never ACCEPTED. */
    uint64_t req = rc_publish(raw, env[3], len[3]);
    int during = s_confirm_status(raw, req, T_REPLY_MS);
    kill(tracer, SIGINT); /* strace detaches; the broker runs on untraced */
    assert_true(fu_wait(tracer, 10000) != -1);
    uint8_t *trace = NULL;
    size_t trace_len = 0;
    vg_reason why = {{0}};
    assert_int_equal(vg_file_read(&trace, &trace_len, slog, 64 << 20, &why), VG_OK);
    bool injected = strstr((char *)trace, "(INJECTED)") != NULL;
    bool into_loop = s_injected_into((char *)trace, b->pid); /* the loop is the main thread */
    free(trace);
    /* After it: no late confirm of the failed batch, nothing of it stored. */
    int late = s_confirm_status(raw, req, 1500);
    bool stored = bh_store_has_alert(b, ids[3]);
    int resend = s_confirm_status(raw, rc_publish(raw, env[3], len[3]), T_REPLY_MS);
    int next = s_confirm_status(raw, rc_publish(raw, env[4], len[4]), T_REPLY_MS);
    printf("fault: io_error(%s): injected=%d into_loop=%d during=%d late=%d stored_after=%d "
           "resend=%d next=%d store.error=%zu batch.abort=%zu\n",
           syscalls, injected, into_loop, during, late, stored, resend, next,
           bh_log_count(b, "store.error", NULL), bh_log_count(b, "batch.abort", NULL));
    assert_true(injected);
    assert_true(into_loop);
    assert_true(during != VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED &&
                during != VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE);
    assert_int_equal(late, -1);
    assert_false(stored);
    assert_int_equal(resend, VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    assert_int_equal(next, VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);

    /* Restart: sound store, every confirmed alert there and delivered. */
    bh_stop(b);
    assert_string_equal(s_sqlite_integrity_check(b), "ok");
    bh_start(b);
    assert_int_equal(bh_store_count_alerts(b), 5);
    vga_agent *rx = bh_agent_open(b, "licensing", true);
    assert_int_equal(s_receive_all(rx, 2000), 5);
    vga_agent_destroy(&rx);
    printf("fault: io_error(%s): wall=%lld ms\n", syscalls, (long long)(bh_now_ms() - t0));
    for (size_t i = 0; i < 5; i++) {
        free(env[i]);
    }
    free(slog);
    rc_destroy(&raw);
    free(conf);
    vga_identity_destroy(&police);
    bh_stop(b);
    bh_pass(b);
}

static void
test_fsync_error_batch_is_never_confirmed(void **state)
{
    s_io_error_case(state, "fsync,fdatasync");
}

static void
test_write_error_batch_is_never_confirmed(void **state)
{
    s_io_error_case(state, "pwrite64");
}

/* ---- injected I/O errors in the checkpointer ---------------------------------- */

#define T_CKPT_PAGES "wal_checkpoint_pages=16"
#define T_CKPT_BEFORE 5   /* publishes before strace attaches */
#define T_CKPT_DURING 240 /* publishes while every checkpoint fails: 15 requests' worth */
#define T_CKPT_AFTER 30   /* publishes after it detaches */
#define T_CKPT_TOTAL (T_CKPT_BEFORE + T_CKPT_DURING + T_CKPT_AFTER)
#define T_RECOVER_MS 10000

/* The thread of process pid whose name is `name`, or 0. */
static pid_t
s_thread(pid_t pid, const char *name)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
    DIR *d = opendir(dir);
    pid_t found = 0;
    for (struct dirent *e; d != NULL && found == 0 && (e = readdir(d)) != NULL;) {
        char path[384], comm[64] = "";
        snprintf(path, sizeof path, "%s/%s/comm", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (f != NULL && fgets(comm, sizeof comm, f) != NULL) {
            comm[strcspn(comm, "\n")] = '\0';
            found = strcmp(comm, name) == 0 ? (pid_t)atoi(e->d_name) : 0;
        }
        if (f != NULL) {
            fclose(f);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return found;
}

/* Publishes alerts [from, to) of env one at a time; each must be ACCEPTED. */
static void
s_publish_range(rc_client *raw, uint8_t **env, const size_t *len, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        int status = s_confirm_status(raw, rc_publish(raw, env[i], len[i]), T_REPLY_MS);
        if (status != VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED) {
            fail_msg("publish %zu: status %d, not ACCEPTED", i + 1, status);
        }
    }
}

static void
s_ckpt_io_error_case(void **state, const char *syscalls)
{
    s_state *st = *state;
    int64_t t0 = bh_now_ms();
    const char *conf[] = {T_CKPT_PAGES, NULL};
    st->b = bh_new(conf);
    bh_broker *b = st->b;
    bh_start(b);
    vga_identity *police = bh_identity(b, "police");
    char *conf_path = bh_agent_conf(b, "police");
    rc_client *raw = rc_new_agency(conf_path);
    uint8_t *env[T_CKPT_TOTAL];
    size_t len[T_CKPT_TOTAL];
    uint8_t id[VG_ALERT_ID_LEN];
    for (size_t i = 0; i < T_CKPT_TOTAL; i++) {
        env[i] = s_seal_seq(b, police, i + 1, &len[i], id);
    }
    s_publish_range(raw, env, len, 0, T_CKPT_BEFORE);
    pid_t tid = s_thread(b->pid, VGB_CKPT_THREAD_NAME);
    assert_true(tid > 0);
    char *slog = it_path(b->tmp, "strace-ckpt.log");
    pid_t tracer = s_attach_strace(tid, false, syscalls, slog);
    if (tracer == 0) {
        printf("fault: SKIPPED checkpointer io error test (%s): strace is missing or cannot "
               "attach here\n",
               syscalls);
        bh_pass(b);
        skip();
    }
    /* While every checkpoint fails, the loop confirms as ever. */
    s_publish_range(raw, env, len, T_CKPT_BEFORE, T_CKPT_BEFORE + T_CKPT_DURING);
    kill(tracer, SIGINT);
    assert_true(fu_wait(tracer, 10000) != -1);
    uint8_t *trace = NULL;
    size_t trace_len = 0;
    vg_reason why = {{0}};
    assert_int_equal(vg_file_read(&trace, &trace_len, slog, 64 << 20, &why), VG_OK);
    bool injected = strstr((char *)trace, "(INJECTED)") != NULL;
    free(trace);
    size_t failed = bh_log_count(b, "store.checkpoint", "result=failed");
    /* Afterwards checkpoints work again. */
    for (size_t i = T_CKPT_BEFORE + T_CKPT_DURING; i < T_CKPT_TOTAL; i++) {
        s_publish_range(raw, env, len, i, i + 1); /* spread: the backoff runs out meanwhile */
        bh_sleep_ms(100);
    }
    int64_t end = bh_now_ms() + T_RECOVER_MS;
    while (bh_log_count(b, "store.checkpoint", "result=recovered") == 0 && bh_now_ms() < end) {
        bh_sleep_ms(50);
    }
    size_t recovered = bh_log_count(b, "store.checkpoint", "result=recovered");
    size_t aborted = bh_log_count(b, "batch.abort", NULL);
    printf("fault: ckpt_io_error(%s): injected=%d failed_lines=%zu recovered_lines=%zu "
           "batch.abort=%zu\n",
           syscalls, injected, failed, recovered, aborted);
    assert_true(injected);
    assert_int_equal(failed, 1); /* one line for the whole run of failures */
    assert_int_equal(recovered, 1);
    assert_int_equal(aborted, 0);
    /* Backoff: the failing checkpointer was asked again after 100 ms,
     * doubling, not after each of the 240 commits (every 16 frames: about
     * 15 requests without a backoff). */
    long tries = 0, over_ms = 0;
    uint8_t *log = NULL;
    size_t log_len = 0;
    assert_int_equal(vg_file_read(&log, &log_len, b->log_path, 64 << 20, &why), VG_OK);
    const char *line = strstr((char *)log, "result=recovered failed=");
    assert_non_null(line);
    assert_true(sscanf(line, "result=recovered failed=%ld over_ms=%ld", &tries, &over_ms) == 2);
    free(log);
    long bound = 2;
    for (long w = 100; w <= over_ms; w *= 2) {
        bound++;
    }
    printf("fault: ckpt_io_error(%s): %ld failed tries over %ld ms (at most %ld)\n", syscalls,
           tries, over_ms, bound);
    assert_true(tries >= 1 && tries <= bound);

    /* Restart: sound store, every alert there and delivered, the log verifies. */
    bh_stop(b);
    assert_string_equal(s_sqlite_integrity_check(b), "ok");
    bh_start(b);
    assert_int_equal(bh_store_count_alerts(b), T_CKPT_TOTAL);
    vga_agent *rx = bh_agent_open(b, "licensing", true);
    assert_int_equal(s_receive_all(rx, 2000), T_CKPT_TOTAL);
    vga_agent_destroy(&rx);
    it_run r;
    it_vigilctl(&r, "audit", "verify", "-c", b->conf);
    it_assert_ok(&r);
    it_run_fini(&r);
    printf("fault: ckpt_io_error(%s): wall=%lld ms\n", syscalls, (long long)(bh_now_ms() - t0));
    for (size_t i = 0; i < T_CKPT_TOTAL; i++) {
        free(env[i]);
    }
    free(slog);
    rc_destroy(&raw);
    free(conf_path);
    vga_identity_destroy(&police);
    bh_stop(b);
    bh_pass(b);
}

static void
test_checkpointer_fsync_error_loses_nothing(void **state)
{
    s_ckpt_io_error_case(state, "fsync,fdatasync");
}

static void
test_checkpointer_write_error_loses_nothing(void **state)
{
    s_ckpt_io_error_case(state, "pwrite64");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_disk_refuses_with_storage_full_and_resumes,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_fsync_error_batch_is_never_confirmed, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_write_error_batch_is_never_confirmed, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_checkpointer_fsync_error_loses_nothing, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_checkpointer_write_error_loses_nothing, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
