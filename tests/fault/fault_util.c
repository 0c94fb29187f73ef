/* fault_util.c — see fault_util.h. */
#define _XOPEN_SOURCE 700

#include "fault_util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "itest.h"
#include "vigil/util.h"

extern char **environ;

#define S_POLL_MS 10
#define S_LOG_MAX (64 * 1024 * 1024)

/* ---- seeded randomness ------------------------------------------------- */

uint64_t
fu_seed(const char *test_name)
{
    const char *env = getenv("VG_SEED");
    uint64_t seed = 0;
    if (env != NULL && *env != '\0') {
        seed = strtoull(env, NULL, 0);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec;
    }
    printf("fault: %s seed=%" PRIu64 " (VG_SEED=%" PRIu64 " repeats this run)\n", test_name, seed,
           seed);
    fflush(stdout);
    return seed;
}

void
fu_rng_init(fu_rng *r, uint64_t seed)
{
    r->s = seed ? seed : 0x9e3779b97f4a7c15u;
}

uint64_t
fu_rand(fu_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545f4914f6cdd1du;
}

int64_t
fu_range(fu_rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(fu_rand(r) % (uint64_t)(hi - lo + 1));
}

bool
fu_long(void)
{
    const char *v = getenv("VG_FAULT_LONG");
    return v != NULL && strcmp(v, "1") == 0;
}

/* ---- processes ------------------------------------------------------------ */

pid_t
fu_spawn(char *const argv[], const char *out_path, const char *err_path)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_path ? out_path : "/dev/null",
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (err_path != NULL) {
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err_path,
                                         O_WRONLY | O_CREAT | O_APPEND, 0600);
    } else {
        posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    }
    pid_t pid = 0;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fail_msg("cannot start %s: %s", argv[0], strerror(rc));
    }
    return pid;
}

int
fu_wait(pid_t pid, int64_t ms)
{
    int64_t deadline = bh_now_ms() + ms;
    for (;;) {
        int st = 0;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) {
            return st;
        }
        if (w < 0 && errno != EINTR) {
            return 0;
        }
        if (bh_now_ms() >= deadline) {
            return -1;
        }
        bh_sleep_ms(S_POLL_MS);
    }
}

void
fu_kill(pid_t pid)
{
    if (pid <= 0) {
        return;
    }
    kill(pid, SIGKILL);
    assert_true(fu_wait(pid, 10000) != -1);
}

int64_t
fu_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    int64_t kib = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtoll(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

/* ---- a broker that may refuse to start ----------------------------------- */

static char *
s_log_from(const bh_broker *b, off_t offset)
{
    uint8_t *data = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    if (vg_file_read(&data, &len, b->log_path, S_LOG_MAX, &why) != VG_OK) {
        return vg_strdup("");
    }
    char *text = vg_strdup((size_t)offset <= len ? (char *)data + offset : "");
    free(data);
    return text;
}

static bool
s_sanitizer_report(const char *log)
{
    return strstr(log, "AddressSanitizer") != NULL || strstr(log, "runtime error:") != NULL ||
           strstr(log, "LeakSanitizer") != NULL;
}

fu_start
fu_try_start(bh_broker *b, char **log_out)
{
    assert_int_equal(b->pid, 0);
    struct stat st;
    off_t offset = stat(b->log_path, &st) == 0 ? st.st_size : 0;
    char *path = it_path(b->bin_dir, "vigil-broker");
    char *argv[] = {path, "-c", b->conf, NULL};
    pid_t pid = fu_spawn(argv, b->log_path, NULL);
    free(path);
    b->n_starts++;
    int64_t deadline = bh_now_ms() + BH_READY_MS;
    fu_start result = FU_HUNG;
    for (;;) {
        char *log = s_log_from(b, offset);
        bool ready = strstr(log, " broker.ready ") != NULL;
        free(log);
        if (ready) {
            b->pid = pid;
            result = FU_STARTED;
            break;
        }
        int wst = fu_wait(pid, 0);
        if (wst != -1) {
            result = WIFSIGNALED(wst)                          ? FU_CRASHED
                     : WIFEXITED(wst) && WEXITSTATUS(wst) == 0 ? FU_EXIT0
                                                               : FU_REFUSED;
            break;
        }
        if (bh_now_ms() >= deadline) {
            fu_kill(pid);
            break;
        }
        bh_sleep_ms(S_POLL_MS);
    }
    char *log = s_log_from(b, offset);
    if (s_sanitizer_report(log)) {
        result = FU_CRASHED;
    }
    if (log_out != NULL) {
        *log_out = log;
    } else {
        free(log);
    }
    return result;
}

/* ---- the ledger ---------------------------------------------------------- */

void
fu_ledger_init(fu_ledger *l)
{
    memset(l, 0, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
}

void
fu_ledger_fini(fu_ledger *l)
{
    free(l->pubs);
    free(l->recvs);
    pthread_mutex_destroy(&l->mu);
    memset(l, 0, sizeof *l);
}

static void *
s_grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) {
        return p;
    }
    *cap = *cap ? *cap * 2 : 1024;
    void *q = realloc(p, *cap * size);
    if (q == NULL) {
        abort(); /* a test helper out of memory: nothing sensible to do */
    }
    return q;
}

void
fu_ledger_pub(fu_ledger *l, const uint8_t id[VG_ALERT_ID_LEN], const char *sender,
              fu_outcome outcome, vg_err code)
{
    pthread_mutex_lock(&l->mu);
    fu_pub *p = NULL;
    for (size_t i = l->n_pubs; i > 0 && p == NULL; i--) {
        if (memcmp(l->pubs[i - 1].id, id, VG_ALERT_ID_LEN) == 0) {
            p = &l->pubs[i - 1];
        }
    }
    if (p == NULL) {
        l->pubs = s_grow(l->pubs, &l->cap_pubs, l->n_pubs, sizeof *l->pubs);
        p = &l->pubs[l->n_pubs++];
        memset(p, 0, sizeof *p);
        memcpy(p->id, id, VG_ALERT_ID_LEN);
        snprintf(p->sender, sizeof p->sender, "%s", sender);
    }
    if (p->outcome != FU_CONFIRMED) { /* confirmed stays confirmed */
        p->outcome = outcome;
        p->code = code;
    }
    pthread_mutex_unlock(&l->mu);
}

void
fu_ledger_recv(fu_ledger *l, const uint8_t id[VG_ALERT_ID_LEN], const char *agency,
               const char *sender, uint64_t sequence, int64_t latency_ms)
{
    pthread_mutex_lock(&l->mu);
    l->recvs = s_grow(l->recvs, &l->cap_recvs, l->n_recvs, sizeof *l->recvs);
    fu_recv *r = &l->recvs[l->n_recvs++];
    memset(r, 0, sizeof *r);
    memcpy(r->id, id, VG_ALERT_ID_LEN);
    snprintf(r->agency, sizeof r->agency, "%s", agency);
    snprintf(r->sender, sizeof r->sender, "%s", sender ? sender : "");
    r->sequence = sequence;
    r->latency_ms = latency_ms;
    pthread_mutex_unlock(&l->mu);
}

size_t
fu_ledger_n_received(fu_ledger *l, const char *agency)
{
    pthread_mutex_lock(&l->mu);
    size_t n = 0;
    for (size_t i = 0; i < l->n_recvs; i++) {
        n += strcmp(l->recvs[i].agency, agency) == 0;
    }
    pthread_mutex_unlock(&l->mu);
    return n;
}

static const fu_pub *
s_find_pub(const fu_ledger *l, const uint8_t *id)
{
    for (size_t i = 0; i < l->n_pubs; i++) {
        if (memcmp(l->pubs[i].id, id, VG_ALERT_ID_LEN) == 0) {
            return &l->pubs[i];
        }
    }
    return NULL;
}

static int
s_cmp_recv(const void *x, const void *y)
{
    const fu_recv *a = x, *b = y;
    int c = memcmp(a->id, b->id, VG_ALERT_ID_LEN);
    return c != 0 ? c : strcmp(a->agency, b->agency);
}

/* Receptions of id (by agency, or by anyone when agency is NULL) in the
 * sorted copy. */
static size_t
s_count_recv(const fu_recv *sorted, size_t n, const uint8_t *id, const char *agency)
{
    size_t lo = 0, hi = n;
    while (lo < hi) { /* first entry >= id */
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(sorted[mid].id, id, VG_ALERT_ID_LEN) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    size_t count = 0;
    for (size_t i = lo; i < n && memcmp(sorted[i].id, id, VG_ALERT_ID_LEN) == 0; i++) {
        count += agency == NULL || strcmp(sorted[i].agency, agency) == 0;
    }
    return count;
}

static void
s_note(const char *what, const uint8_t *id, const char *agency)
{
    char hex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(hex, id);
    printf("fault:   %s alert=%s agency=%s\n", what, hex, agency ? agency : "-");
}

/* Receptions below a higher sequence already received from the same sender
 * by the same agency. */
static size_t
s_out_of_order(const fu_ledger *l)
{
    size_t n = 0;
    for (size_t j = 0; j < l->n_recvs; j++) {
        const fu_recv *b = &l->recvs[j];
        bool late = false;
        for (size_t i = 0; i < j && !late; i++) {
            const fu_recv *a = &l->recvs[i];
            late = strcmp(a->agency, b->agency) == 0 && strcmp(a->sender, b->sender) == 0 &&
                   b->sequence < a->sequence;
        }
        n += late;
    }
    return n;
}

fu_verdict
fu_ledger_check(fu_ledger *l, const char *const *agencies, size_t n)
{
    pthread_mutex_lock(&l->mu);
    fu_verdict v = {0};
    v.published = l->n_pubs;
    v.deliveries = l->n_recvs;
    fu_recv *sorted = malloc((l->n_recvs ? l->n_recvs : 1) * sizeof *sorted);
    assert_non_null(sorted);
    memcpy(sorted, l->recvs, l->n_recvs * sizeof *sorted);
    qsort(sorted, l->n_recvs, sizeof *sorted, s_cmp_recv);
    for (size_t i = 0; i < l->n_pubs; i++) {
        const fu_pub *p = &l->pubs[i];
        v.confirmed += p->outcome == FU_CONFIRMED;
        v.rejected += p->outcome == FU_REJECTED;
        v.indeterminate += p->outcome == FU_INDETERMINATE;
        if (p->outcome == FU_INDETERMINATE && s_count_recv(sorted, l->n_recvs, p->id, NULL) > 0) {
            v.recovered++;
        }
        for (size_t a = 0; a < n && p->outcome == FU_CONFIRMED; a++) {
            if (s_count_recv(sorted, l->n_recvs, p->id, agencies[a]) == 0) {
                v.lost++;
                s_note("LOST", p->id, agencies[a]);
            }
        }
    }
    for (size_t i = 0; i < l->n_recvs; i++) {
        const fu_recv *r = &sorted[i];
        const fu_pub *p = s_find_pub(l, r->id);
        if (p == NULL || p->outcome == FU_REJECTED) {
            v.unexpected++;
            s_note(p == NULL ? "UNEXPECTED (never published)" : "UNEXPECTED (rejected)", r->id,
                   r->agency);
        }
        if (i > 0 && s_cmp_recv(&sorted[i - 1], r) == 0) {
            v.duplicated++;
            s_note("DUPLICATED", r->id, r->agency);
        }
    }
    free(sorted);
    v.out_of_order = l->n_recvs <= 20000 ? s_out_of_order(l) : 0;
    pthread_mutex_unlock(&l->mu);
    return v;
}

void
fu_verdict_print(const char *what, const fu_verdict *v)
{
    printf("fault: %s: published=%zu confirmed=%zu rejected=%zu indeterminate=%zu "
           "deliveries=%zu lost=%zu unexpected=%zu duplicated=%zu recovered=%zu "
           "out_of_order=%zu\n",
           what, v->published, v->confirmed, v->rejected, v->indeterminate, v->deliveries, v->lost,
           v->unexpected, v->duplicated, v->recovered, v->out_of_order);
    fflush(stdout);
}
