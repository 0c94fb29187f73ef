/* gw_harness.c — see gw_harness.h. */
#define _XOPEN_SOURCE 700

#include "gw_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <sodium.h>

#include "itest.h"
#include "vigil/util.h"

extern char **environ;

#define S_POLL_MS 20
#define S_LOG_MAX (16 * 1024 * 1024)
#define S_HOOK_MAX 4096 /* requests a receiver keeps */

static char *
s_read_text(const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    if (vg_file_read(&data, &len, path, S_LOG_MAX, &why) != VG_OK) {
        return NULL;
    }
    return (char *)data;
}

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
            return 0;
        }
        if (bh_now_ms() >= deadline) {
            return -1;
        }
        bh_sleep_ms(S_POLL_MS);
    }
}

/* ---- the gateway process ------------------------------------------------------------------ */

static void
s_print_log(const gh_gateway *g)
{
    char *log = s_read_text(g->log_path);
    print_error("---- gateway log (%s, %d start%s) ----\n", g->agency, g->n_starts,
                g->n_starts == 1 ? "" : "s");
    for (char *line = log; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        int len = nl ? (int)(nl - line) : (int)strlen(line);
        print_error("%.*s\n", len, line);
        line = nl ? nl + 1 : NULL;
    }
    print_error("---- end of gateway log ----\n");
    free(log);
}

static void
s_gh_free(void *p)
{
    gh_gateway *g = p;
    if (g->pid > 0) {
        kill(g->pid, SIGKILL);
        (void)s_wait_pid(g->pid, GH_STOP_MS);
    }
    if (!g->b->passed) {
        s_print_log(g);
    }
    free(g->conf);
    free(g->log_path);
    free(g);
}

int
gh_officer_add(gh_gateway *g, const char *name, const char *role, const char *password)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "'%s/vigil-gateway' -c '%s' officer add '%s' --role '%s' >/dev/null 2>&1",
             g->b->bin_dir, g->conf, name, role);
    FILE *p = popen(cmd, "w");
    assert_non_null(p);
    fprintf(p, "%s\n", password);
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int
gh_cli(gh_gateway *g, char **out, const char *const *args)
{
    const char *argv[32] = {"-c", g->conf};
    size_t n = 2;
    for (size_t i = 0; args[i] != NULL && n < 31; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    it_run r;
    it_exec_in(&r, g->b->bin_dir, "vigil-gateway", argv);
    if (out != NULL) {
        *out = r.out;
        r.out = NULL;
    }
    int st = r.status;
    it_run_fini(&r);
    return st;
}

void
gh_token_add(gh_gateway *g, const char *name, const char *scopes, char out[GH_TOKEN_MAX])
{
    char *text = NULL;
    int st =
        gh_cli(g, &text, (const char *const[]){"token", "add", name, "--scopes", scopes, NULL});
    assert_int_equal(st, 0);
    assert_non_null(text);
    text[strcspn(text, "\n")] = '\0';
    assert_int_equal(strlen(text), 47);
    snprintf(out, GH_TOKEN_MAX, "%s", text);
    free(text);
}

gh_gateway *
gh_new(bh_broker *b, const char *agency, const char *const *conf_set)
{
    gh_gateway *g = calloc(1, sizeof *g);
    assert_non_null(g);
    g->b = b;
    snprintf(g->agency, sizeof g->agency, "%s", agency);
    g->conf = bh_agent_conf(b, agency);
    char name[128];
    snprintf(name, sizeof name, "gateway-%s.log", agency);
    g->log_path = it_path(b->tmp, name);
    bh_own(b, g, s_gh_free);
    FILE *f = fopen(g->conf, "a"); /* [gateway] is the last section vigilctl init writes */
    assert_non_null(f);
    for (size_t i = 0; conf_set != NULL && conf_set[i] != NULL; i++) {
        const char *eq = strchr(conf_set[i], '=');
        assert_non_null(eq);
        fprintf(f, "%.*s = %s\n", (int)(eq - conf_set[i]), conf_set[i], eq + 1);
    }
    fclose(f);
    gh_token_add(g, "test", "publish,read,receipt", g->token);
    return g;
}

static off_t
s_log_size(const gh_gateway *g)
{
    struct stat st;
    return stat(g->log_path, &st) == 0 ? st.st_size : 0;
}

/* The url= of a gateway.ready line after offset, into g->url. */
static bool
s_ready_after(gh_gateway *g, off_t offset)
{
    char *log = s_read_text(g->log_path);
    const char *ready =
        log && (size_t)offset <= strlen(log) ? strstr(log + offset, " gateway.ready ") : NULL;
    const char *url = ready ? strstr(ready, " url=") : NULL;
    if (url != NULL) {
        url += 5;
        snprintf(g->url, sizeof g->url, "%.*s", (int)strcspn(url, " \n"), url);
    }
    free(log);
    return url != NULL;
}

static void s_wait_stream(gh_gateway *g);

void
gh_start(gh_gateway *g)
{
    assert_int_equal(g->pid, 0);
    off_t offset = s_log_size(g);
    int log_fd = open(g->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    assert_true(log_fd >= 0);
    char *path = it_path(g->b->bin_dir, "vigil-gateway");
    char *argv[] = {path, "-c", g->conf, "run", "--listen", "127.0.0.1:0", NULL};
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
        fail_msg("cannot start vigil-gateway: %s", strerror(rc));
    }
    g->pid = pid;
    g->n_starts++;
    int64_t deadline = bh_now_ms() + GH_READY_MS;
    while (!s_ready_after(g, offset)) {
        int st = s_wait_pid(pid, 0);
        if (st != -1) {
            g->pid = 0;
            s_print_log(g);
            fail_msg("vigil-gateway exited (status 0x%x) before gateway.ready", st);
        }
        if (bh_now_ms() >= deadline) {
            s_print_log(g);
            fail_msg("vigil-gateway not ready within %d ms", GH_READY_MS);
        }
        bh_sleep_ms(S_POLL_MS);
    }
    if (g->b->pid > 0) {
        s_wait_stream(g);
    }
}

/* Waits until the gateway knows where the agency's event stream stands
 * (its first broker ping): events after that are its to hand on. */
static void
s_wait_stream(gh_gateway *g)
{
    int64_t deadline = bh_now_ms() + GH_READY_MS;
    for (;;) {
        gh_resp r;
        gh_http(&r, g, "GET", "/v1/health", g->token, NULL, NULL, 0, NULL);
        json_t *doc = r.status == 200 ? gh_json(&r) : NULL;
        bool known =
            doc && json_is_integer(json_object_get(json_object_get(doc, "events"), "head"));
        json_decref(doc);
        gh_resp_fini(&r);
        if (known) {
            return;
        }
        if (bh_now_ms() >= deadline) {
            s_print_log(g);
            fail_msg("vigil-gateway did not reach the broker within %d ms", GH_READY_MS);
        }
        bh_sleep_ms(S_POLL_MS);
    }
}

void
gh_stop(gh_gateway *g)
{
    assert_true(g->pid > 0);
    kill(g->pid, SIGTERM);
    int st = s_wait_pid(g->pid, GH_STOP_MS);
    if (st == -1) {
        kill(g->pid, SIGKILL);
        (void)s_wait_pid(g->pid, GH_STOP_MS);
        g->pid = 0;
        s_print_log(g);
        fail_msg("vigil-gateway ignored SIGTERM for %d ms", GH_STOP_MS);
    }
    g->pid = 0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        s_print_log(g);
        fail_msg("vigil-gateway did not stop cleanly (wait status 0x%x)", st);
    }
}

void
gh_kill(gh_gateway *g)
{
    assert_true(g->pid > 0);
    kill(g->pid, SIGKILL);
    assert_true(s_wait_pid(g->pid, GH_STOP_MS) != -1);
    g->pid = 0;
}

char *
gh_log(const gh_gateway *g)
{
    char *log = s_read_text(g->log_path);
    return log ? log : strdup("");
}

size_t
gh_log_count(const gh_gateway *g, const char *msg_id, const char *needle)
{
    char *log = gh_log(g);
    char pat[96];
    snprintf(pat, sizeof pat, " %s ", msg_id);
    size_t n = 0;
    for (char *line = log; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }
        if (strstr(line, pat) != NULL && (needle == NULL || strstr(line, needle) != NULL)) {
            n++;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(log);
    return n;
}

/* ---- HTTP --------------------------------------------------------------------------------------
 */

typedef struct s_grow {
    char *p;    /* malloc'ed, NUL-terminated */
    size_t len; /* used */
} s_grow;

static size_t
s_collect(char *data, size_t size, size_t n, void *ctx)
{
    s_grow *g = ctx;
    size_t add = size * n;
    char *grown = realloc(g->p, g->len + add + 1);
    if (grown == NULL) {
        return 0;
    }
    memcpy(grown + g->len, data, add);
    g->p = grown;
    g->len += add;
    g->p[g->len] = '\0';
    return add;
}

static char s_tls_ca[512], s_tls_cert[512], s_tls_key[512];

void
gh_tls_client(const char *ca_file, const char *cert_file, const char *key_file)
{
    snprintf(s_tls_ca, sizeof s_tls_ca, "%s", ca_file ? ca_file : "");
    snprintf(s_tls_cert, sizeof s_tls_cert, "%s", cert_file ? cert_file : "");
    snprintf(s_tls_key, sizeof s_tls_key, "%s", key_file ? key_file : "");
}

void
gh_http(gh_resp *out, const gh_gateway *g, const char *method, const char *path, const char *token,
        const char *ctype, const char *body, size_t body_len, const char *const *headers)
{
    memset(out, 0, sizeof *out);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char url[512], auth[128], type[128];
    snprintf(url, sizeof url, "%s%s", g->url, path);
    struct curl_slist *h = NULL;
    if (token != NULL) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    if (ctype != NULL) {
        snprintf(type, sizeof type, "Content-Type: %s", ctype);
        h = curl_slist_append(h, type);
    }
    h = curl_slist_append(h, "Expect:");
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        h = curl_slist_append(h, headers[i]);
    }
    s_grow bodyb = {calloc(1, 1), 0}, hdrb = {calloc(1, 1), 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &bodyb);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s_collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdrb);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    if (s_tls_ca[0] != '\0') {
        curl_easy_setopt(c, CURLOPT_CAINFO, s_tls_ca);
    }
    if (s_tls_cert[0] != '\0') {
        curl_easy_setopt(c, CURLOPT_SSLCERT, s_tls_cert);
        curl_easy_setopt(c, CURLOPT_SSLKEY, s_tls_key);
    }
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    }
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &out->secs);
    out->body = bodyb.p;
    out->len = bodyb.len;
    out->headers = hdrb.p;
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

void
gh_resp_fini(gh_resp *r)
{
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

bool
gh_resp_header(const gh_resp *r, const char *name, char *out, size_t out_len)
{
    size_t n = strlen(name);
    for (const char *line = r->headers; line != NULL && *line != '\0';) {
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            v += strspn(v, " ");
            snprintf(out, out_len, "%.*s", (int)strcspn(v, "\r\n"), v);
            return true;
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return false;
}

json_t *
gh_json(const gh_resp *r)
{
    json_error_t err;
    json_t *doc = json_loadb(r->body ? r->body : "", r->len, 0, &err);
    if (doc == NULL) {
        fail_msg("not JSON (status %ld): %s: %.400s", r->status, err.text, r->body);
    }
    return doc;
}

const char *
gh_assert_problem(const gh_resp *r, long status, json_t **doc_out)
{
    if (r->status != status) {
        fail_msg("status %ld, expected %ld: %.600s", r->status, status, r->body);
    }
    char ctype[128] = "";
    assert_true(gh_resp_header(r, "Content-Type", ctype, sizeof ctype));
    assert_string_equal(ctype, "application/problem+json");
    json_t *doc = gh_json(r);
    assert_true(json_is_string(json_object_get(doc, "type")));
    assert_true(json_is_string(json_object_get(doc, "title")));
    assert_true(json_is_string(json_object_get(doc, "detail")));
    assert_int_equal(json_integer_value(json_object_get(doc, "status")), status);
    *doc_out = doc;
    return json_string_value(json_object_get(doc, "code"));
}

bool
gh_wait_state(const gh_gateway *g, const char *idhex, const char *agency, const char *state,
              int64_t ms)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/alerts/%s", idhex);
    int64_t deadline = bh_now_ms() + ms;
    for (;;) {
        gh_resp r;
        gh_http(&r, g, "GET", path, g->token, NULL, NULL, 0, NULL);
        bool ok = false;
        if (r.status == 200) {
            json_t *doc = gh_json(&r);
            json_t *rec;
            size_t i;
            json_array_foreach(json_object_get(doc, "recipients"), i, rec)
            {
                const char *a = json_string_value(json_object_get(rec, "agency"));
                const char *s = json_string_value(json_object_get(rec, "state"));
                ok |= a && s && strcmp(a, agency) == 0 && strcmp(s, state) == 0;
            }
            json_decref(doc);
        }
        gh_resp_fini(&r);
        if (ok) {
            return true;
        }
        if (bh_now_ms() >= deadline) {
            return false;
        }
        bh_sleep_ms(100);
    }
}

/* ---- the webhook receiver
 * ------------------------------------------------------------------------- */

struct gh_hook {
    pthread_mutex_t lock; /* guards what follows */
    struct MHD_Daemon *d; /* the server, NULL when stopped */
    int port;             /* its port */
    unsigned answer;      /* status to answer */
    uint8_t secret[32];   /* HMAC key */
    bool has_secret;      /* secret set */
    gh_hook_req *reqs;    /* requests received */
    size_t n;             /* count */
};

typedef struct s_upload {
    char *body; /* what came so far */
    size_t len; /* its length */
} s_upload;

static void
s_copy_header(struct MHD_Connection *c, const char *name, char *out, size_t len)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    snprintf(out, len, "%s", v ? v : "");
}

/* Checks "v1=HEX" = HMAC-SHA256(secret, ts "." body). */
static bool
s_sig_ok(const gh_hook *h, const gh_hook_req *r)
{
    if (!h->has_secret || strncmp(r->signature, "v1=", 3) != 0) {
        return false;
    }
    uint8_t want[crypto_auth_hmacsha256_BYTES], got[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, h->secret, sizeof h->secret);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)r->timestamp, strlen(r->timestamp));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)r->body, r->len);
    crypto_auth_hmacsha256_final(&st, want);
    size_t n = 0;
    return sodium_hex2bin(got, sizeof got, r->signature + 3, strlen(r->signature + 3), NULL, &n,
                          NULL) == 0 &&
           n == sizeof got && sodium_memcmp(got, want, sizeof want) == 0;
}

static enum MHD_Result
s_hook_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)url;
    (void)method;
    (void)version;
    gh_hook *h = cls;
    s_upload *u = *con_cls;
    if (u == NULL) {
        *con_cls = calloc(1, sizeof(s_upload));
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*upload_size > 0) {
        char *grown = realloc(u->body, u->len + *upload_size + 1);
        if (grown == NULL) {
            return MHD_NO;
        }
        memcpy(grown + u->len, upload, *upload_size);
        u->body = grown;
        u->len += *upload_size;
        u->body[u->len] = '\0';
        *upload_size = 0;
        return MHD_YES;
    }
    gh_hook_req r = {0};
    r.body = u->body ? u->body : strdup("");
    r.len = u->len;
    u->body = NULL;
    s_copy_header(c, "Content-Type", r.ctype, sizeof r.ctype);
    s_copy_header(c, "Vigil-Kind", r.kind, sizeof r.kind);
    s_copy_header(c, "Vigil-Delivery", r.delivery, sizeof r.delivery);
    s_copy_header(c, "Vigil-Alert-Id", r.alert_id, sizeof r.alert_id);
    s_copy_header(c, "Vigil-Timestamp", r.timestamp, sizeof r.timestamp);
    s_copy_header(c, "Vigil-Signature", r.signature, sizeof r.signature);
    s_copy_header(c, "Authorization", r.authorization, sizeof r.authorization);
    pthread_mutex_lock(&h->lock);
    r.signature_ok = s_sig_ok(h, &r);
    unsigned answer = h->answer;
    if (answer >= 200 && answer < 300 && h->n < S_HOOK_MAX) {
        h->reqs[h->n++] = r; /* only what was accepted counts as received */
    } else {
        free(r.body);
    }
    pthread_mutex_unlock(&h->lock);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc = MHD_queue_response(c, answer, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void
s_hook_done(void *cls, struct MHD_Connection *c, void **con_cls,
            enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    s_upload *u = *con_cls;
    if (u != NULL) {
        free(u->body);
        free(u);
    }
    *con_cls = NULL;
}

static void
s_hook_listen(gh_hook *h)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)h->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    h->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL, 0, NULL,
        NULL, s_hook_access, h, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
        MHD_OPTION_NOTIFY_COMPLETED, s_hook_done, h, MHD_OPTION_END);
    assert_non_null(h->d);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di->port;
}

static void
s_hook_free(void *p)
{
    gh_hook *h = p;
    if (h->d != NULL) {
        MHD_stop_daemon(h->d);
    }
    for (size_t i = 0; i < h->n; i++) {
        free(h->reqs[i].body);
    }
    free(h->reqs);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

gh_hook *
gh_hook_start(bh_broker *b, int port)
{
    gh_hook *h = calloc(1, sizeof *h);
    assert_non_null(h);
    h->reqs = calloc(S_HOOK_MAX, sizeof *h->reqs);
    assert_non_null(h->reqs);
    pthread_mutex_init(&h->lock, NULL);
    h->answer = 200;
    h->port = port;
    s_hook_listen(h);
    bh_own(b, h, s_hook_free);
    return h;
}

int
gh_hook_port(const gh_hook *h)
{
    return h->port;
}

void
gh_hook_secret(gh_hook *h, const char *hex)
{
    size_t n = 0;
    pthread_mutex_lock(&h->lock);
    h->has_secret =
        sodium_hex2bin(h->secret, sizeof h->secret, hex, strlen(hex), "\n", &n, NULL) == 0 &&
        n == sizeof h->secret;
    pthread_mutex_unlock(&h->lock);
    assert_true(h->has_secret);
}

void
gh_hook_answer(gh_hook *h, unsigned status)
{
    pthread_mutex_lock(&h->lock);
    h->answer = status;
    pthread_mutex_unlock(&h->lock);
}

void
gh_hook_stop(gh_hook *h)
{
    assert_non_null(h->d);
    MHD_stop_daemon(h->d);
    h->d = NULL;
}

void
gh_hook_restart(gh_hook *h)
{
    assert_null(h->d);
    s_hook_listen(h);
}

size_t
gh_hook_count(gh_hook *h, const char *kind)
{
    pthread_mutex_lock(&h->lock);
    size_t n = 0;
    for (size_t i = 0; i < h->n; i++) {
        n += kind == NULL || strcmp(h->reqs[i].kind, kind) == 0;
    }
    pthread_mutex_unlock(&h->lock);
    return n;
}

bool
gh_hook_wait(gh_hook *h, const char *kind, size_t n, int64_t ms)
{
    int64_t deadline = bh_now_ms() + ms;
    while (gh_hook_count(h, kind) < n) {
        if (bh_now_ms() >= deadline) {
            return false;
        }
        bh_sleep_ms(S_POLL_MS);
    }
    return true;
}

void
gh_hook_get(gh_hook *h, const char *kind, size_t i, gh_hook_req *out)
{
    pthread_mutex_lock(&h->lock);
    size_t k = 0;
    bool found = false;
    for (size_t j = 0; j < h->n && !found; j++) {
        if (kind == NULL || strcmp(h->reqs[j].kind, kind) == 0) {
            if (k++ == i) {
                *out = h->reqs[j];
                out->body = malloc(h->reqs[j].len + 1);
                memcpy(out->body, h->reqs[j].body, h->reqs[j].len + 1);
                found = true;
            }
        }
    }
    pthread_mutex_unlock(&h->lock);
    assert_true(found);
}

void
gh_hook_req_fini(gh_hook_req *r)
{
    free(r->body);
    r->body = NULL;
}

/* ---- the trap
 * ------------------------------------------------------------------------------------- */

static void
s_trap_free(void *p)
{
    gh_trap *t = p;
    close(t->fd);
    free(t);
}

gh_trap *
gh_trap_open(bh_broker *b)
{
    gh_trap *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(t->fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(t->fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(t->fd, 16), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(t->fd, (struct sockaddr *)&sa, &len), 0);
    t->port = ntohs(sa.sin_port);
    bh_own(b, t, s_trap_free);
    return t;
}

int
gh_trap_connections(gh_trap *t, int64_t ms)
{
    int n = 0;
    struct pollfd pfd = {t->fd, POLLIN, 0};
    while (poll(&pfd, 1, (int)ms) > 0 && (pfd.revents & POLLIN)) {
        int c = accept(t->fd, NULL, NULL);
        if (c >= 0) {
            close(c);
            n++;
        }
        ms = 0;
    }
    return n;
}

/* ---- CAP files
 * ----------------------------------------------------------------------------------------- */

char *
gh_cap_file(const char *name, size_t *len_out)
{
    char *path = it_path(VG_CAP_DIR, name);
    uint8_t *data = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    if (vg_file_read(&data, &len, path, 4 * 1024 * 1024, &why) != VG_OK) {
        fail_msg("cannot read %s (../shared/cap is read in place): %s", path, why.text);
    }
    free(path);
    char *text = realloc(data, len + 1);
    assert_non_null(text);
    text[len] = '\0';
    if (len_out != NULL) {
        *len_out = len;
    }
    return text;
}

bool
gh_xsd_valid(const char *xml, size_t len, char **out)
{
    char path[] = "/tmp/vigil-gw-xsd-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, xml, len), (ssize_t)len);
    close(fd);
    char *xsd = it_path(VG_CAP_DIR, "cap12.xsd");
    it_run r;
    it_exec_in(&r, "/usr/bin", "xmllint",
               (const char *const[]){"--noout", "--nonet", "--schema", xsd, path, NULL});
    bool ok = r.status == 0;
    if (out != NULL) {
        *out = r.err;
        r.err = NULL;
    }
    it_run_fini(&r);
    free(xsd);
    unlink(path);
    return ok;
}
