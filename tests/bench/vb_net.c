/*
 * vb_net.c — see vb_net.h.
 */
#define _GNU_SOURCE

#include "vb_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "store.h"
#include "vigil/broker_config.h"
#include "vigil/util.h"

const char *const vb_sender = "police";
const char *const vb_recipients[VB_RECIPIENTS] = {"licensing", "childrens-services", "home-office",
                                                  "education"};

#define S_LOG_MAX (256 * 1024 * 1024)

int64_t
vb_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
vb_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
vb_sleep_ms(int64_t ms)
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
    if (fd < 0) {
        return -1;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0) {
        port = ntohs(sa.sin_port);
    }
    close(fd);
    return port;
}

/* Runs argv (argv[0] a path) with output to /dev/null; its exit status. */
static int
s_run(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static vg_err
s_append_conf(const vb_net *n, const char *const *conf_set, vg_reason *why)
{
    if (conf_set == NULL) {
        return VG_OK;
    }
    uint8_t *text = NULL;
    size_t len = 0;
    vg_err rc = vg_file_read(&text, &len, n->conf, 1 << 20, why);
    if (rc != VG_OK) {
        return rc;
    }
    /* Overrides go right after the [broker] header: later keys would land
     * in [network]. A key given twice is an error, so the init's own
     * log_level line is rewritten instead of repeated. */
    size_t cap = len + 4096;
    char *out = calloc(1, cap);
    char *hdr = strstr((char *)text, "[broker]\n");
    if (out == NULL || hdr == NULL) {
        free(out);
        free(text);
        return vg_reason_set(why, VG_ERR_CONFIG, "%s has no [broker] section", n->conf);
    }
    size_t head = (size_t)(hdr - (char *)text) + strlen("[broker]\n");
    memcpy(out, text, head);
    for (size_t i = 0; conf_set[i] != NULL; i++) {
        snprintf(out + strlen(out), cap - strlen(out), "%s\n", conf_set[i]);
    }
    for (char *line = (char *)text + head; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        size_t l = nl ? (size_t)(nl - line) + 1 : strlen(line);
        if (strncmp(line, "log_level", 9) != 0) {
            snprintf(out + strlen(out), cap - strlen(out), "%.*s", (int)l, line);
        }
        line = nl ? nl + 1 : NULL;
    }
    rc = vg_file_write_atomic(n->conf, out, strlen(out), 0644, why);
    free(out);
    free(text);
    return rc;
}

static vg_err
s_load_keys(vb_net *n, vg_reason *why)
{
    char path[VB_PATH_MAX + 64];
    vg_keyset *admin = NULL;
    snprintf(path, sizeof path, "%s/admin/admin.key", n->net);
    vg_err rc = vg_keyset_load(&admin, path, why);
    if (rc != VG_OK) {
        return rc;
    }
    snprintf(path, sizeof path, "%s/network/network.signed", n->net);
    rc = vg_netdoc_load(&n->doc, path, vg_keyset_sign_pk(admin), 0, why);
    vg_keyset_destroy(&admin);
    if (rc != VG_OK) {
        return rc;
    }
    memcpy(n->broker_pk, vg_netdoc_broker_transport_pk(n->doc), VG_CURVE_KEY_LEN);
    snprintf(path, sizeof path, "%s/agents/%s/agency.key", n->net, vb_sender);
    rc = vg_keyset_load(&n->sender_keys, path, why);
    for (size_t i = 0; rc == VG_OK && i < VB_RECIPIENTS; i++) {
        snprintf(path, sizeof path, "%s/agents/%s/agency.key", n->net, vb_recipients[i]);
        rc = vg_keyset_load(&n->keys[i], path, why);
    }
    return rc;
}

/* Makes n's paths and runs vigilctl init with the five agencies, oversight
 * and (when ids_file is not NULL) the ids in it. */
static vg_err
s_init(vb_net *n, const char *bin_dir, const char *tmp_parent, const char *ids_file, vg_reason *why)
{
    n->next_seq = 1;
    const char *parent = tmp_parent ? tmp_parent : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(n->bin_dir, sizeof n->bin_dir, "%s", bin_dir);
    snprintf(n->tmp, sizeof n->tmp, "%s/vigil-bench.XXXXXX", parent);
    int port = s_free_port();
    if (mkdtemp(n->tmp) == NULL || port < 0) {
        n->tmp[0] = '\0';
        return vg_reason_set(why, VG_ERR_IO, "scratch directory or port: %s", strerror(errno));
    }
    snprintf(n->net, sizeof n->net, "%.400s/net", n->tmp);
    snprintf(n->conf, sizeof n->conf, "%.400s/broker/broker.conf", n->net);
    snprintf(n->db, sizeof n->db, "%.400s/broker/store/vigil.db", n->net);
    snprintf(n->log, sizeof n->log, "%.400s/broker.log", n->tmp);
    snprintf(n->endpoint, sizeof n->endpoint, "tcp://127.0.0.1:%d", port);
    char ctl[VB_PATH_MAX + 16];
    snprintf(ctl, sizeof ctl, "%s/vigilctl", bin_dir);
    char *argv[] = {ctl,
                    "init",
                    n->net,
                    "--agencies",
                    "police,licensing,childrens-services,home-office,education",
                    "--oversight",
                    "oversight",
                    "--endpoint",
                    n->endpoint,
                    "--limits", /* the benchmark is the flood: no quota may shape it */
                    "publish_per_minute=1000000,publish_burst=1000000,stored_bytes_per_day=1024GiB",
                    ids_file != NULL ? "--agencies-file" : NULL,
                    (char *)ids_file,
                    NULL};
    if (s_run(argv) != 0) {
        return vg_reason_set(why, VG_ERR_IO, "%s init %s failed", ctl, n->net);
    }
    return VG_OK;
}

vg_err
vb_net_new(vb_net **out, const char *bin_dir, const char *tmp_parent, const char *const *conf_set,
           vg_reason *why)
{
    vb_net *n = calloc(1, sizeof *n);
    if (n == NULL) {
        return VG_ERR_NOMEM;
    }
    vg_err rc = s_init(n, bin_dir, tmp_parent, NULL, why);
    if (rc == VG_OK) {
        rc = s_append_conf(n, conf_set, why);
    }
    if (rc == VG_OK) {
        rc = s_load_keys(n, why);
    }
    if (rc != VG_OK) {
        vb_net_destroy(&n, false);
        return rc;
    }
    *out = n;
    return VG_OK;
}

void
vb_wide_agency(char *out, size_t out_len, size_t i)
{
    if (i == 0) {
        snprintf(out, out_len, "childrens-services");
    } else {
        snprintf(out, out_len, "cs-%04zu", i);
    }
}

/* The extra ids, one a line. */
static vg_err
s_write_ids(const char *path, size_t n_agencies, size_t wide_role_n, vg_reason *why)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return vg_reason_set(why, VG_ERR_IO, "%s: %s", path, strerror(errno));
    }
    size_t have = 6; /* the five and oversight */
    for (size_t i = 1; i < wide_role_n && have < n_agencies; i++, have++) {
        fprintf(f, "cs-%04zu\n", i);
    }
    for (size_t i = 1; have < n_agencies; i++, have++) {
        fprintf(f, "ag-%04zu\n", i);
    }
    return fclose(f) == 0 ? VG_OK : vg_reason_set(why, VG_ERR_IO, "%s: write failed", path);
}

/* The wide role on the cs- agencies, the category, the rule. */
static vg_err
s_national_policy(const vb_net *n, vg_reason *why)
{
    char path[VB_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/network/network.json", n->net);
    json_error_t err;
    json_t *doc = json_load_file(path, 0, &err);
    if (doc == NULL) {
        return vg_reason_set(why, VG_ERR_IO, "%s: %s", path, err.text);
    }
    size_t i;
    json_t *card;
    json_array_foreach(json_object_get(doc, "agencies"), i, card)
    {
        const char *id = json_string_value(json_object_get(card, "id"));
        if (id != NULL && strncmp(id, "cs-", 3) == 0) {
            json_object_set_new(card, "role", json_string(VB_WIDE_ROLE));
        }
    }
    json_array_append_new(json_object_get(doc, "categories"), json_string(VB_WIDE_CATEGORY));
    json_array_append_new(json_object_get(doc, "policy"),
                          json_pack("{s:s,s:[s],s:s,s:[],s:[s]}", "name", "national", "categories",
                                    VB_WIDE_CATEGORY, "min_severity", "high", "must_reach",
                                    "must_reach_roles", VB_WIDE_ROLE));
    int rc = json_dump_file(doc, path, JSON_INDENT(2));
    json_decref(doc);
    if (rc != 0) {
        return vg_reason_set(why, VG_ERR_IO, "%s: cannot write", path);
    }
    char ctl[VB_PATH_MAX + 16];
    snprintf(ctl, sizeof ctl, "%s/vigilctl", n->bin_dir);
    char *argv[] = {ctl, "network", "sign", "--dir", (char *)n->net, NULL};
    return s_run(argv) == 0 ? VG_OK : vg_reason_set(why, VG_ERR_IO, "vigilctl network sign failed");
}

vg_err
vb_net_new_national(vb_net **out, const char *bin_dir, const char *tmp_parent,
                    const char *const *conf_set, size_t n_agencies, size_t wide_role_n,
                    vg_reason *why)
{
    vb_net *n = calloc(1, sizeof *n);
    char ids[VB_PATH_MAX + 16];
    if (n == NULL) {
        return VG_ERR_NOMEM;
    }
    const char *parent = tmp_parent ? tmp_parent : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(ids, sizeof ids, "%s/vigil-bench-ids.%d", parent, (int)getpid());
    vg_err rc = s_write_ids(ids, n_agencies, wide_role_n, why);
    rc = rc == VG_OK ? s_init(n, bin_dir, tmp_parent, ids, why) : rc;
    remove(ids);
    rc = rc == VG_OK ? s_national_policy(n, why) : rc;
    rc = rc == VG_OK ? s_append_conf(n, conf_set, why) : rc;
    rc = rc == VG_OK ? s_load_keys(n, why) : rc;
    if (rc != VG_OK) {
        vb_net_destroy(&n, false);
        return rc;
    }
    *out = n;
    return VG_OK;
}

vg_err
vb_net_use_postgresql(vb_net *n, const char *dsn, vg_reason *why)
{
    FILE *f = fopen(n->conf, "a");
    if (f == NULL) {
        return vg_reason_set(why, VG_ERR_IO, "cannot append to %s: %s", n->conf, strerror(errno));
    }
    fprintf(f, "\n[store]\nbackend = postgresql\ndsn = %s\n", dsn);
    return fclose(f) == 0 ? VG_OK : vg_reason_set(why, VG_ERR_IO, "cannot write %s", n->conf);
}

/* True when something accepts TCP connections on the endpoint's port: the
 * broker binds last, just before its loop (at log_level warn there is no
 * broker.ready line to wait for). */
static bool
s_port_open(const vb_net *n)
{
    const char *colon = strrchr(n->endpoint, ':');
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (colon == NULL || fd < 0) {
        if (fd >= 0) {
            close(fd);
        }
        return false;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

/* True when the log, from offset on, has a broker.ready line. */
static bool
s_log_ready(const vb_net *n, off_t offset)
{
    uint8_t *text = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    if (vg_file_read(&text, &len, n->log, S_LOG_MAX, &why) != VG_OK) {
        return false;
    }
    bool ready = (size_t)offset < len && strstr((char *)text + offset, " broker.ready") != NULL;
    free(text);
    return ready;
}

vg_err
vb_net_start(vb_net *n, vg_reason *why)
{
    struct stat st;
    off_t offset = stat(n->log, &st) == 0 ? st.st_size : 0;
    char bin[VB_PATH_MAX + 16];
    snprintf(bin, sizeof bin, "%s/vigil-broker", n->bin_dir);
    pid_t pid = fork();
    if (pid < 0) {
        return vg_reason_set(why, VG_ERR_IO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        int fd = open(n->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execl(bin, bin, "-c", n->conf, (char *)NULL);
        _exit(127);
    }
    n->pid = pid;
    for (int64_t end = vb_mono_ns() + (int64_t)VB_READY_MS * 1000000; vb_mono_ns() < end;) {
        if (s_log_ready(n, offset) || s_port_open(n)) {
            return VG_OK;
        }
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            n->pid = 0;
            return vg_reason_set(why, VG_ERR_IO, "vigil-broker exited at start (log: %s)", n->log);
        }
        vb_sleep_ms(20);
    }
    vb_net_stop(n);
    return vg_reason_set(why, VG_ERR_IO, "vigil-broker not ready in %d ms (log: %s)", VB_READY_MS,
                         n->log);
}

void
vb_net_stop(vb_net *n)
{
    if (n->pid <= 0) {
        return;
    }
    kill(n->pid, SIGTERM);
    int status = 0;
    for (int64_t end = vb_mono_ns() + (int64_t)VB_STOP_MS * 1000000; vb_mono_ns() < end;) {
        if (waitpid(n->pid, &status, WNOHANG) == n->pid) {
            n->pid = 0;
            return;
        }
        vb_sleep_ms(20);
    }
    kill(n->pid, SIGKILL);
    while (waitpid(n->pid, &status, 0) < 0 && errno == EINTR) {
    }
    n->pid = 0;
}

static int
s_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void
vb_net_destroy(vb_net **n_p, bool keep)
{
    if (n_p == NULL || *n_p == NULL) {
        return;
    }
    vb_net *n = *n_p;
    vb_net_stop(n);
    vg_netdoc_destroy(&n->doc);
    vg_keyset_destroy(&n->sender_keys);
    for (size_t i = 0; i < VB_RECIPIENTS; i++) {
        vg_keyset_destroy(&n->keys[i]);
    }
    if (!keep && n->tmp[0] != '\0') {
        nftw(n->tmp, s_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
    free(n);
    *n_p = NULL;
}

bool
vb_proc_read(pid_t pid, vb_proc *out)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return false;
    }
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long ut = 0, stt = 0;
    /* After ")": state(3) ... utime is field 14, stime 15. */
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stt) != 2) {
        return false;
    }
    out->cpu_s = (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
    out->rss_kib = out->hwm_kib = 0;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return false;
    }
    while (fgets(buf, sizeof buf, f) != NULL) {
        sscanf(buf, "VmRSS: %ld", &out->rss_kib);
        sscanf(buf, "VmHWM: %ld", &out->hwm_kib);
    }
    fclose(f);
    return true;
}

void
vb_proc_reset_hwm(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/clear_refs", (int)pid);
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fputs("5", f);
        fclose(f);
    }
}

/* Opens the store read-only and begins a read (one committed state); NULL
 * when it cannot. */
static vgb_store *
s_store_read(const vb_net *n)
{
    vg_broker_config *cfg = NULL; /* [store]: SQLite in broker/store, or PostgreSQL */
    vgb_store *s = NULL;
    vg_reason why = {{0}};
    vg_err rc = vg_broker_config_load(&cfg, n->conf, &why);
    rc = rc == VG_OK ? vgb_store_open_readonly_config(&s, cfg, &why) : rc;
    vg_broker_config_destroy(&cfg);
    if (rc != VG_OK) {
        return NULL;
    }
    if (vgb_store_read_begin(s, &why) != VG_OK) {
        vgb_store_destroy(&s);
    }
    return s;
}

static void
s_store_done(vgb_store **s_p)
{
    vgb_store_read_end(*s_p);
    vgb_store_destroy(s_p);
}

static int64_t
s_store_count(const vb_net *n, vgb_count_what what)
{
    vgb_store *s = s_store_read(n);
    uint64_t v = 0;
    bool ok = s != NULL && vgb_store_count(s, what, NULL, &v) == VG_OK;
    if (s != NULL) {
        s_store_done(&s);
    }
    return ok ? (int64_t)v : -1;
}

int64_t
vb_store_alerts(const vb_net *n)
{
    return s_store_count(n, VGB_COUNT_ALERTS);
}

int64_t
vb_store_pending(const vb_net *n)
{
    return s_store_count(n, VGB_COUNT_PENDING);
}

void
vb_store_rows(const vb_net *n, vb_rows *out)
{
    static const struct {
        vgb_count_what what;
        const char *name;
    } kinds[] = {
        {VGB_COUNT_ALERTS, "alerts"},
        {VGB_COUNT_RECIPIENTS, "recipients"},
        {VGB_COUNT_RECEIPTS, "receipts"},
        {VGB_COUNT_RECEIPT_ITEMS, "receipt items"},
        {VGB_COUNT_SHARES, "shares"},
        {VGB_COUNT_REJECTIONS, "rejections"},
        {VGB_COUNT_EVENT_RUNS, "event runs"},
        {VGB_COUNT_LEAVES, "audit leaves"},
        {VGB_COUNT_LEAF_LINKS, "audit leaf links"},
        {VGB_COUNT_NODES, "audit subtrees"},
        {VGB_COUNT_CHECKPOINTS, "audit checkpoints"},
    };
    _Static_assert(sizeof kinds / sizeof kinds[0] <= VB_TABLES_MAX, "vb_rows holds them");
    memset(out, 0, sizeof *out);
    vgb_store *s = s_store_read(n);
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        uint64_t v = 0;
        if (vgb_store_count(s, kinds[i].what, NULL, &v) != VG_OK) {
            out->n = 0; /* all or nothing */
            break;
        }
        snprintf(out->name[out->n], sizeof out->name[0], "%s", kinds[i].name);
        out->count[out->n++] = (int64_t)v;
    }
    s_store_done(&s);
}

static int64_t
s_rows_of(const vb_rows *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->name[i], name) == 0) {
            return r->count[i];
        }
    }
    return 0;
}

double
vb_rows_per_alert(const vb_rows *before, const vb_rows *after, char *out, size_t out_len)
{
    int64_t alerts = s_rows_of(after, "alerts") - s_rows_of(before, "alerts");
    int64_t total = 0;
    out[0] = '\0';
    for (size_t i = 0; alerts > 0 && i < after->n; i++) {
        int64_t d = after->count[i] - s_rows_of(before, after->name[i]);
        total += d;
        if (d > 0) {
            size_t used = strlen(out);
            snprintf(out + used, out_len - used, "%s%s %.2f", used ? ", " : "", after->name[i],
                     (double)d / (double)alerts);
        }
    }
    return alerts > 0 ? (double)total / (double)alerts : 0;
}

pid_t
vb_perf_start(pid_t pid, const char *out_file)
{
    char target[32];
    snprintf(target, sizeof target, "%d", (int)pid);
    pid_t perf = fork();
    if (perf < 0) {
        return 0;
    }
    if (perf == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execlp("perf", "perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "--call-graph",
               "dwarf,8192", "-p", target, "-o", out_file, (char *)NULL);
        _exit(127);
    }
    vb_sleep_ms(500); /* perf attaches */
    return perf;
}

void
vb_perf_stop(pid_t perf_pid)
{
    if (perf_pid <= 0) {
        return;
    }
    kill(perf_pid, SIGINT);
    int status = 0;
    for (int64_t end = vb_mono_ns() + (int64_t)VB_STOP_MS * 1000000; vb_mono_ns() < end;) {
        if (waitpid(perf_pid, &status, WNOHANG) == perf_pid) {
            return;
        }
        vb_sleep_ms(20);
    }
    kill(perf_pid, SIGKILL);
    while (waitpid(perf_pid, &status, 0) < 0 && errno == EINTR) {
    }
}
