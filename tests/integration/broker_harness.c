/*
 * broker_harness.c — see broker_harness.h.
 */
#define _XOPEN_SOURCE 700

#include "broker_harness.h"
#include "vigil/broker_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "itest.h"
#include "vt_pg.h"
#include "vigil/util.h"
#include "vigil/wire.h"

extern char **environ;

#define S_CONF_MAX (64 * 1024)
#define S_LOG_MAX (64 * 1024 * 1024)
#define S_POLL_MS 10

int64_t
bh_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
bh_sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* A port nobody listens on now: bind 127.0.0.1:0 and read what we got. */
static int
s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        fail_msg("bind 127.0.0.1:0: %s", strerror(errno));
    }
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static char *
s_read_text(const char *path, size_t max)
{
    uint8_t *data = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    if (vg_file_read(&data, &len, path, max, &why) != VG_OK) {
        return NULL;
    }
    return (char *)data;
}

/* Replaces "key = ..." in the [broker] section of broker.conf, or adds it
 * right after the section header. */
static void
s_conf_set(bh_broker *b, const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    assert_non_null(eq);
    char key[64];
    size_t klen = (size_t)(eq - assignment);
    assert_true(klen > 0 && klen < sizeof key);
    memcpy(key, assignment, klen);
    key[klen] = '\0';
    char *text = s_read_text(b->conf, S_CONF_MAX);
    assert_non_null(text);
    size_t cap = strlen(text) + strlen(assignment) + 16;
    char *out = calloc(1, cap);
    assert_non_null(out);
    bool in_broker = false, done = false;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        bool header = line[0] == '[';
        if (header && in_broker && !done) {
            snprintf(out + strlen(out), cap - strlen(out), "%s = %s\n", key, eq + 1);
            done = true;
        }
        if (header) {
            in_broker = strcmp(line, "[broker]") == 0;
        }
        bool match =
            in_broker && strncmp(line, key, klen) == 0 && (line[klen] == ' ' || line[klen] == '=');
        if (match && !done) {
            snprintf(out + strlen(out), cap - strlen(out), "%s = %s\n", key, eq + 1);
            done = true;
        } else if (!match) {
            snprintf(out + strlen(out), cap - strlen(out), "%s\n", line);
        }
    }
    if (!done) {
        assert_true(in_broker);
        snprintf(out + strlen(out), cap - strlen(out), "%s = %s\n", key, eq + 1);
    }
    vg_reason why = {{0}};
    assert_int_equal(vg_file_write_atomic(b->conf, out, strlen(out), 0644, &why), VG_OK);
    free(out);
    free(text);
}

/* VG_TEST_STORE=postgresql: every network's broker keeps its store in a
 * database of its own on one PostgreSQL server started for the test
 * process (tests/support/vt_pg.h), stopped at exit. */
static vt_pg *s_pg;
static int s_pg_dbs;

static void
s_pg_stop(void)
{
    vt_pg_stop(&s_pg);
}

static void
s_use_postgresql(bh_broker *b)
{
    if (s_pg == NULL) {
        s_pg = vt_pg_start(NULL);
        atexit(s_pg_stop);
    }
    char name[64];
    snprintf(name, sizeof name, "bh_%d_%d", (int)getpid(), ++s_pg_dbs);
    vt_pg_createdb(s_pg, name, "vigil"); /* create.sql's database: schema vigil, grants */
    char *owner = vt_pg_dsn(s_pg, name, "vigil_owner");
    vgb_store *s = NULL;
    vg_reason why = {{0}};
    if (vgb_store_open_dsn(&s, owner, &why) != VG_OK) { /* the schema, as vigil-pg-migrate */
        fail_msg("make the schema in %s: %s", name, why.text);
    }
    vgb_store_destroy(&s);
    free(owner);
    char *dsn = vt_pg_dsn(s_pg, name, "vigil_broker");
    FILE *f = fopen(b->conf, "a");
    assert_non_null(f);
    fprintf(f, "\n[store]\nbackend = postgresql\ndsn = %s\n", dsn);
    assert_int_equal(fclose(f), 0);
    free(dsn);
}

bh_broker *
bh_new_in(const char *bin_dir, const char *const *conf_set)
{
    return bh_new_init_in(bin_dir, NULL, conf_set);
}

bh_broker *
bh_new_init_in(const char *bin_dir, const char *const *init_opts, const char *const *conf_set)
{
    bh_broker *b = calloc(1, sizeof *b);
    assert_non_null(b);
    b->bin_dir = vg_strdup(bin_dir);
    b->tmp = it_tmpdir();
    b->net = it_path(b->tmp, "net");
    b->conf = it_path(b->net, "broker/broker.conf");
    b->db_path = it_path(b->net, "broker/store/vigil.db");
    b->log_path = it_path(b->tmp, "broker.log");
    b->port = s_free_port();
    snprintf(b->endpoint, sizeof b->endpoint, "tcp://127.0.0.1:%d", b->port);
    enum { S_INIT_OPTS_MAX = 32 };
    const char *extra[S_INIT_OPTS_MAX] = {"--endpoint", b->endpoint};
    size_t n = 2;
    for (size_t i = 0; init_opts != NULL && init_opts[i] != NULL; i++) {
        assert_true(n < S_INIT_OPTS_MAX - 1);
        extra[n++] = init_opts[i];
    }
    extra[n] = NULL;
    it_init_net_in(bin_dir, b->net, extra);
    for (size_t i = 0; conf_set != NULL && conf_set[i] != NULL; i++) {
        s_conf_set(b, conf_set[i]);
    }
    const char *store = getenv("VG_TEST_STORE");
    if (store != NULL && strcmp(store, "postgresql") == 0) {
        s_use_postgresql(b);
    }
    return b;
}

void
bh_print_log(const bh_broker *b)
{
    char *log = s_read_text(b->log_path, S_LOG_MAX);
    print_error("---- broker log (%s, %d start%s) ----\n", b->endpoint, b->n_starts,
                b->n_starts == 1 ? "" : "s");
    /* Line by line: cmocka formats each message into a bounded buffer. */
    for (char *line = log; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        int len = nl ? (int)(nl - line) : (int)strlen(line);
        print_error("%.*s\n", len, line);
        line = nl ? nl + 1 : NULL;
    }
    print_error("---- end of broker log ----\n");
    free(log);
}

static off_t
s_log_size(const bh_broker *b)
{
    struct stat st;
    return stat(b->log_path, &st) == 0 ? st.st_size : 0;
}

/* Waits for pid at most ms; returns the wait status, or -1 if it still runs. */
static int
s_wait_pid(pid_t pid, int64_t ms)
{
    int64_t deadline = bh_now_ms() + ms;
    for (;;) {
        int st = 0;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) {
            return st;
        }
        if (w < 0 && errno != EINTR) {
            return 0; /* not our child any more: nothing to wait for */
        }
        if (bh_now_ms() >= deadline) {
            return -1;
        }
        bh_sleep_ms(S_POLL_MS);
    }
}

/* True when text after offset has a line with " broker.ready ". */
static bool
s_ready_after(const bh_broker *b, off_t offset)
{
    char *log = s_read_text(b->log_path, S_LOG_MAX);
    bool ready = log != NULL && (size_t)offset <= strlen(log) &&
                 strstr(log + offset, " broker.ready ") != NULL;
    free(log);
    return ready;
}

void
bh_start(bh_broker *b)
{
    assert_int_equal(b->pid, 0);
    off_t offset = s_log_size(b);
    int log_fd = open(b->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    assert_true(log_fd >= 0);
    char *path = it_path(b->bin_dir, "vigil-broker");
    char *argv[] = {path, "-c", b->conf, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, log_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, log_fd, STDERR_FILENO);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(log_fd);
    free(path);
    if (rc != 0) {
        fail_msg("cannot start vigil-broker: %s", strerror(rc));
    }
    b->pid = pid;
    b->n_starts++;
    int64_t deadline = bh_now_ms() + BH_READY_MS;
    while (!s_ready_after(b, offset)) {
        int st = s_wait_pid(pid, 0);
        if (st != -1) {
            b->pid = 0;
            bh_print_log(b);
            fail_msg("vigil-broker exited (status 0x%x) before broker.ready", st);
        }
        if (bh_now_ms() >= deadline) {
            bh_print_log(b);
            fail_msg("vigil-broker not ready within %d ms", BH_READY_MS);
        }
        bh_sleep_ms(S_POLL_MS);
    }
}

/* SIGTERM, then SIGKILL after BH_STOP_MS; returns the wait status. */
static int
s_terminate(bh_broker *b, bool *killed)
{
    *killed = false;
    if (b->pid == 0) {
        return 0;
    }
    kill(b->pid, SIGTERM);
    int st = s_wait_pid(b->pid, BH_STOP_MS);
    if (st == -1) {
        *killed = true;
        kill(b->pid, SIGKILL);
        st = s_wait_pid(b->pid, BH_STOP_MS);
    }
    b->pid = 0;
    return st;
}

void
bh_stop(bh_broker *b)
{
    assert_true(b->pid > 0);
    bool killed = false;
    int st = s_terminate(b, &killed);
    if (killed) {
        bh_print_log(b);
        fail_msg("vigil-broker ignored SIGTERM for %d ms and was killed", BH_STOP_MS);
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        bh_print_log(b);
        fail_msg("vigil-broker did not stop cleanly on SIGTERM (wait status 0x%x)", st);
    }
}

void
bh_kill(bh_broker *b)
{
    assert_true(b->pid > 0);
    kill(b->pid, SIGKILL);
    int st = s_wait_pid(b->pid, BH_STOP_MS);
    b->pid = 0;
    assert_true(st != -1);
}

void *
bh_own(bh_broker *b, void *p, void (*free_fn)(void *p))
{
    assert_true(b->n_owned < BH_OWNED_MAX);
    b->owned[b->n_owned++] = (bh_owned){free_fn, p};
    return p;
}

void
bh_pass(bh_broker *b)
{
    b->passed = true;
}

void
bh_destroy(bh_broker **b_p)
{
    if (b_p == NULL || *b_p == NULL) {
        return;
    }
    bh_broker *b = *b_p;
    bool killed = false;
    (void)s_terminate(b, &killed);
    if (!b->passed) {
        bh_print_log(b);
    }
    while (b->n_owned > 0) {
        bh_owned *o = &b->owned[--b->n_owned];
        o->free_fn(o->p);
    }
    it_rmrf(b->tmp);
    free(b->bin_dir);
    free(b->tmp);
    free(b->net);
    free(b->conf);
    free(b->db_path);
    free(b->log_path);
    free(b);
    *b_p = NULL;
}

char *
bh_agent_conf(const bh_broker *b, const char *agency)
{
    size_t len = strlen(b->net) + strlen(agency) + 32;
    char *p = malloc(len);
    assert_non_null(p);
    snprintf(p, len, "%s/agents/%s/agent.conf", b->net, agency);
    return p;
}

/* True when the 4th space-separated field of line matches msg_id. */
static bool
s_line_has_id(const char *line, size_t line_len, const char *msg_id)
{
    const char *p = line, *end = line + line_len;
    for (int field = 0; field < 3; field++) {
        while (p < end && *p != ' ') {
            p++;
        }
        while (p < end && *p == ' ') {
            p++;
        }
    }
    const char *q = p;
    while (q < end && *q != ' ') {
        q++;
    }
    size_t id_len = strlen(msg_id);
    bool prefix = id_len > 0 && msg_id[id_len - 1] == '.';
    size_t got = (size_t)(q - p);
    return prefix ? got > id_len && strncmp(p, msg_id, id_len) == 0
                  : got == id_len && strncmp(p, msg_id, id_len) == 0;
}

size_t
bh_log_wait(const bh_broker *b, const char *msg_id, const char *needle, int64_t ms)
{
    int64_t end = bh_now_ms() + ms;
    size_t n = bh_log_count(b, msg_id, needle);
    while (n == 0 && bh_now_ms() < end) {
        bh_sleep_ms(20);
        n = bh_log_count(b, msg_id, needle);
    }
    return n;
}

size_t
bh_log_count(const bh_broker *b, const char *msg_id, const char *needle)
{
    char *log = s_read_text(b->log_path, S_LOG_MAX);
    size_t n = 0;
    for (char *line = log; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (s_line_has_id(line, len, msg_id)) {
            char saved = line[len];
            line[len] = '\0';
            n += needle == NULL || strstr(line, needle) != NULL;
            line[len] = saved;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(log);
    return n;
}

/* ---- the store ------------------------------------------------------------ */

vg_err
bh_store_open(const bh_broker *b, vgb_store **out, vg_reason *why)
{
    vg_broker_config *cfg = NULL; /* [store] may name a PostgreSQL store (docs/ha.md) */
    if (vg_broker_config_load(&cfg, b->conf, NULL) == VG_OK) {
        vg_err rc = vgb_store_open_readonly_config(out, cfg, why);
        vg_broker_config_destroy(&cfg);
        return rc;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", b->db_path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL) {
        *slash = '\0'; /* net/broker/store/vigil.db -> net/broker/store */
    }
    return vgb_store_open_readonly(out, dir, why);
}

/* Opens the store and begins a read: one committed state. Fails the test
 * when it cannot. */
static vgb_store *
s_store_read(const bh_broker *b)
{
    vgb_store *s = NULL;
    vg_reason why = {{0}};
    vg_err rc = bh_store_open(b, &s, &why);
    if (rc == VG_OK && (rc = vgb_store_read_begin(s, &why)) != VG_OK) {
        vgb_store_destroy(&s);
    }
    if (rc != VG_OK) {
        fail_msg("cannot read the store of %s: %s: %s", b->db_path, vg_err_code(rc), why.text);
    }
    return s;
}

/* Ends the read and closes the store; fails the test (after closing it)
 * when rc, the result of reading `what`, is an error. */
static void
s_store_done(vgb_store **s_p, vg_err rc, const char *what)
{
    if (*s_p != NULL) {
        vgb_store_read_end(*s_p);
        vgb_store_destroy(s_p);
    }
    if (rc != VG_OK) {
        fail_msg("store: reading %s: %s", what, vg_err_code(rc));
    }
}

/* vgb_store_count on an open store, failing the test (and closing it) on error. */
static int64_t
s_count(vgb_store **s_p, vgb_count_what what, const char *filter)
{
    uint64_t n = 0;
    vg_err rc = vgb_store_count(*s_p, what, filter, &n);
    if (rc != VG_OK) {
        s_store_done(s_p, rc, "a count");
    }
    return (int64_t)n;
}

int64_t
bh_store_count(const bh_broker *b, vgb_count_what what, const char *filter)
{
    vgb_store *s = s_store_read(b);
    int64_t n = s_count(&s, what, filter);
    s_store_done(&s, VG_OK, "a count");
    return n;
}

int64_t
bh_store_count_other(const bh_broker *b, vgb_count_what what, const char *filter)
{
    vgb_store *s = s_store_read(b);
    int64_t all = s_count(&s, what, NULL);
    int64_t named = s_count(&s, what, filter);
    s_store_done(&s, VG_OK, "a count");
    return all - named;
}

int64_t
bh_store_count_reached(const bh_broker *b, const char *agency)
{
    vgb_store *s = s_store_read(b);
    int64_t rows = s_count(&s, VGB_COUNT_RECIPIENTS, agency);
    int64_t pending = s_count(&s, VGB_COUNT_PENDING, agency);
    s_store_done(&s, VG_OK, "a count");
    return rows - pending;
}

int64_t
bh_store_count_rejections(const bh_broker *b, const char *agency, const char *code)
{
    char filter[256];
    snprintf(filter, sizeof filter, "%s/%s", agency, code);
    return bh_store_count(b, VGB_COUNT_REJECTIONS_OF, filter);
}

int64_t
bh_store_count_alerts(const bh_broker *b)
{
    return bh_store_count(b, VGB_COUNT_ALERTS, NULL);
}

/* The alert's meta on an open store: false when it is not stored; fails the
 * test (closing the store) on a read error. */
static bool
s_alert(vgb_store **s_p, const uint8_t *alert_id, vgb_alert_meta *out)
{
    uint8_t hash[VG_HASH_LEN];
    uint64_t version = 0;
    vg_err rc = vgb_store_alert_by_id(*s_p, alert_id, out, hash, &version);
    if (rc != VG_OK && rc != VG_ERR_NOT_FOUND) {
        s_store_done(s_p, rc, "an alert");
    }
    return rc == VG_OK;
}

bool
bh_store_alert(const bh_broker *b, const uint8_t *alert_id, vgb_alert_meta *out)
{
    vgb_store *s = s_store_read(b);
    bool found = s_alert(&s, alert_id, out);
    s_store_done(&s, VG_OK, "an alert");
    return found;
}

bool
bh_store_has_alert(const bh_broker *b, const uint8_t *alert_id)
{
    vgb_alert_meta m;
    return bh_store_alert(b, alert_id, &m);
}

uint8_t *
bh_store_envelope(const bh_broker *b, const uint8_t *alert_id, size_t *len_out)
{
    vgb_store *s = s_store_read(b);
    vgb_alert_meta m;
    uint8_t *env = NULL;
    vg_err rc = s_alert(&s, alert_id, &m) ? vgb_store_envelope(s, m.seq, &env, len_out) : VG_OK;
    s_store_done(&s, rc, "an envelope");
    return env;
}

bool
bh_store_sequence_used(const bh_broker *b, const char *sender, uint64_t seq)
{
    vgb_store *s = s_store_read(b);
    bool used = false;
    vg_err rc = vgb_store_sequence_used(s, sender, seq, &used);
    s_store_done(&s, rc, "a sequence number");
    return used;
}

bool
bh_store_recipient(const bh_broker *b, const uint8_t *alert_id, const char *agency, vgb_rrow *out)
{
    vgb_store *s = s_store_read(b);
    vgb_alert_meta m;
    vg_err rc =
        s_alert(&s, alert_id, &m) ? vgb_store_rrow(s, m.seq, agency, out) : VG_ERR_NOT_FOUND;
    bool found = rc == VG_OK;
    s_store_done(&s, rc == VG_ERR_NOT_FOUND ? VG_OK : rc, "a recipient row");
    return found;
}

typedef struct s_rrows {
    bh_rrow_fn fn; /* the test's */
    void *ctx;     /* its context */
    int64_t n;     /* rows so far */
} s_rrows;

static void
s_rrow_one(void *ctx, const vgb_rrow *r, const char *officer, const char *note, const char *reason)
{
    (void)officer;
    (void)note;
    (void)reason;
    s_rrows *rr = ctx;
    rr->n++;
    if (rr->fn != NULL) {
        rr->fn(rr->ctx, r);
    }
}

typedef struct s_seqs {
    uint64_t *seq; /* malloc'ed */
    size_t n, cap; /* used, allocated */
} s_seqs;

static bool
s_seq_add(void *ctx, uint64_t seq, const uint8_t id[VG_ALERT_ID_LEN])
{
    (void)id;
    s_seqs *q = ctx;
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 64;
        uint64_t *grown = realloc(q->seq, cap * sizeof *grown);
        if (grown == NULL) {
            return false;
        }
        q->seq = grown;
        q->cap = cap;
    }
    q->seq[q->n++] = seq;
    return true;
}

int64_t
bh_store_each_recipient(const bh_broker *b, const uint8_t *alert_id, bh_rrow_fn fn, void *ctx)
{
    vgb_store *s = s_store_read(b);
    s_rrows rr = {fn, ctx, 0};
    s_seqs q = {0};
    vg_err rc = VG_OK;
    if (alert_id != NULL) {
        vgb_alert_meta m;
        if (s_alert(&s, alert_id, &m)) {
            rc = vgb_store_recipients_of(s, m.seq, s_rrow_one, &rr);
        }
    } else {
        rc = vgb_store_alert_ids(s, s_seq_add, &q);
        for (size_t i = 0; rc == VG_OK && i < q.n; i++) {
            rc = vgb_store_recipients_of(s, q.seq[i], s_rrow_one, &rr);
        }
    }
    free(q.seq);
    s_store_done(&s, rc, "recipient rows");
    return rr.n;
}

typedef struct s_events {
    vgb_event_fn fn; /* the test's */
    void *ctx;       /* its context */
    uint64_t last;   /* the last event's number */
    int64_t n;       /* events so far */
} s_events;

static void
s_event_one(void *ctx, const vgb_event_row *ev)
{
    s_events *e = ctx;
    e->last = ev->seq;
    e->n++;
    if (e->fn != NULL) {
        e->fn(e->ctx, ev);
    }
}

int64_t
bh_store_each_event(const bh_broker *b, const char *agency, vgb_event_fn fn, void *ctx)
{
    enum { PAGE = 1000 };
    vgb_store *s = s_store_read(b);
    s_events e = {fn, ctx, 0, 0};
    vg_err rc = VG_OK;
    for (;;) {
        int64_t before = e.n;
        rc = vgb_store_events_after(s, agency, e.last, PAGE, s_event_one, &e);
        if (rc != VG_OK || e.n - before < PAGE) {
            break; /* an error, or the end of the stream */
        }
    }
    s_store_done(&s, rc, "events");
    return e.n;
}

typedef struct s_leaves {
    vg_audit_kind kind; /* wanted */
    const char *agency; /* wanted, or NULL */
    int64_t n, first;   /* how many, the first's index */
    vg_err rc;          /* a leaf that did not parse */
    uint64_t bad_index; /* which */
} s_leaves;

static bool
s_leaf_one(void *ctx, uint64_t index, const uint8_t *leaf, size_t len, const uint8_t *hash,
           bool hash_ok)
{
    (void)hash;
    (void)hash_ok;
    s_leaves *l = ctx;
    vg_audit_event ev;
    vg_reason why = {{0}};
    vg_err rc = vg_audit_leaf_parse(&ev, leaf, len, &why);
    if (rc != VG_OK) {
        l->rc = rc;
        l->bad_index = index;
        return false;
    }
    bool about = l->agency == NULL || strcmp(ev.agency, l->agency) == 0 ||
                 (ev.kind == VG_AUDIT_REJECTED && strcmp(ev.transport, l->agency) == 0);
    if (ev.kind == l->kind && about) {
        l->first = l->n++ == 0 ? (int64_t)index : l->first;
    }
    vg_audit_event_fini(&ev);
    return true;
}

static s_leaves
s_find_leaves(const bh_broker *b, vg_audit_kind kind, const char *agency)
{
    vgb_store *s = s_store_read(b);
    s_leaves l = {.kind = kind, .agency = agency, .first = -1, .rc = VG_OK};
    vg_err rc = vgb_store_audit_leaves(s, s_leaf_one, &l);
    s_store_done(&s, rc, "audit leaves");
    if (l.rc != VG_OK) {
        fail_msg("audit leaf %llu does not parse: %s", (unsigned long long)l.bad_index,
                 vg_err_code(l.rc));
    }
    return l;
}

int64_t
bh_store_count_leaves(const bh_broker *b, vg_audit_kind kind, const char *agency)
{
    return s_find_leaves(b, kind, agency).n;
}

int64_t
bh_store_first_leaf(const bh_broker *b, vg_audit_kind kind, const char *agency)
{
    return s_find_leaves(b, kind, agency).first;
}

typedef struct s_indices {
    uint64_t idx[1024]; /* the alert's leaves, in order */
    size_t n;           /* how many (more are not kept) */
    size_t total;       /* how many in all */
} s_indices;

static void
s_index_add(void *ctx, uint64_t idx)
{
    s_indices *x = ctx;
    if (x->n < sizeof x->idx / sizeof x->idx[0]) {
        x->idx[x->n++] = idx;
    }
    x->total++;
}

/* The audit leaves about the alert, on an open store; false when the alert
 * is not stored. */
static bool
s_alert_leaves(vgb_store **s_p, const uint8_t *alert_id, vgb_alert_meta *m, s_indices *x)
{
    if (!s_alert(s_p, alert_id, m)) {
        return false;
    }
    vg_err rc = vgb_store_alert_leaves(*s_p, m->seq, s_index_add, x);
    if (rc != VG_OK) {
        s_store_done(s_p, rc, "an alert's audit leaves");
    }
    if (x->total > x->n) {
        s_store_done(s_p, VG_OK, "an alert's audit leaves");
        fail_msg("more than %zu audit leaves about one alert", x->n);
    }
    return true;
}

int64_t
bh_store_alert_first_leaf(const bh_broker *b, const uint8_t *alert_id)
{
    vgb_store *s = s_store_read(b);
    vgb_alert_meta m;
    s_indices *x = calloc(1, sizeof *x);
    assert_non_null(x);
    int64_t first = -1;
    if (s_alert_leaves(&s, alert_id, &m, x) && x->n > 0) {
        first = (int64_t)x->idx[0]; /* they come in order */
    }
    free(x);
    s_store_done(&s, VG_OK, "an alert's audit leaves");
    return first;
}

int64_t
bh_store_ack_receipts(const bh_broker *b, const uint8_t *alert_id, const char *agency)
{
    vgb_store *s = s_store_read(b);
    vgb_alert_meta m;
    s_indices *x = calloc(1, sizeof *x);
    assert_non_null(x);
    int64_t n = 0;
    vg_err rc = VG_OK;
    bool stored = s_alert_leaves(&s, alert_id, &m, x);
    for (size_t i = 0; stored && rc == VG_OK && i < x->n; i++) {
        uint8_t *leaf = NULL;
        size_t len = 0;
        vg_audit_event ev = {0};
        vg_reason why = {{0}};
        rc = vgb_store_audit_leaf(s, x->idx[i], &leaf, &len);
        if (rc == VG_OK) {
            rc = vg_audit_leaf_parse(&ev, leaf, len, &why);
            free(leaf);
        }
        if (rc != VG_OK) {
            break;
        }
        bool names = false;
        if (ev.kind == VG_AUDIT_ACKNOWLEDGED && strcmp(ev.agency, agency) == 0) {
            rc = vgb_store_receipt_names(s, ev.hash, agency, m.seq, &names);
        }
        n += names;
        vg_audit_event_fini(&ev);
    }
    free(x);
    s_store_done(&s, rc, "an alert's acknowledgement receipts");
    return n;
}

static void
s_checkpoint_size(void *ctx, const vgb_checkpoint_row *row)
{
    *(int64_t *)ctx = (int64_t)row->size;
}

int64_t
bh_store_checkpoint_size(const bh_broker *b)
{
    vgb_store *s = s_store_read(b);
    int64_t size = 0;
    bool found = false;
    vg_err rc = vgb_store_audit_latest_checkpoint(s, s_checkpoint_size, &size, &found);
    s_store_done(&s, rc, "the latest checkpoint");
    return found ? size : 0;
}

vga_agent *
bh_agent_open(const bh_broker *b, const char *agency, bool receive)
{
    char *conf = bh_agent_conf(b, agency);
    vga_options opts = {.receive = receive, .clock = NULL, .software = "vigil-itest"};
    vga_agent *a = NULL;
    vg_reason why = {{0}};
    vg_err rc = vga_agent_open(&a, conf, &opts, &why);
    free(conf);
    if (rc != VG_OK) {
        fail_msg("vga_agent_open %s: %s: %s", agency, vg_err_code(rc), why.text);
    }
    return a;
}

vga_identity *
bh_identity(const bh_broker *b, const char *agency)
{
    char *conf = bh_agent_conf(b, agency);
    vga_identity *id = NULL;
    vg_reason why = {{0}};
    vg_err rc = vga_identity_load(&id, conf, 0, &why);
    free(conf);
    if (rc != VG_OK) {
        fail_msg("vga_identity_load %s: %s: %s", agency, vg_err_code(rc), why.text);
    }
    return id;
}

void
bh_alert_init(vg_alert *a, const char *headline, const char *description, const char *category,
              const char *recipients_csv)
{
    memset(a, 0, sizeof *a);
    vg_reason why = {{0}};
    a->severity = VG_SEV_HIGH;
    a->headline = (char *)headline;
    a->description = (char *)description;
    assert_int_equal(vg_strlist_add(&a->categories, category), VG_OK);
    if (recipients_csv != NULL && recipients_csv[0] != '\0') {
        assert_int_equal(vg_strlist_split(&a->recipients, recipients_csv, &why), VG_OK);
    }
}

void
bh_alert_fini(vg_alert *a)
{
    vg_strlist_fini(&a->categories);
    vg_strlist_fini(&a->recipients);
}
