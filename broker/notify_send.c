/* notify_send.c — the notification worker: email and webhooks through
 * libcurl, on a thread of its own (notify_send.h). */
#define _GNU_SOURCE /* pthread_setname_np */
#include "notify_send.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <ini.h>
#include <sodium.h>
#include <zmq.h>

#include "vigil/log.h"
#include "vigil/util.h"
#include "vigil/webhook.h"

#define S_SECRETS_MAX_BYTES (64 * 1024) /* the secrets file, at most */
#define S_SECRET_VALUE_MAX 4096         /* one secret's value, at most */

/* One secret, read from the file. */
typedef struct s_secret {
    char agency[VG_AGENCY_ID_MAX + 1]; /* its section */
    char name[VG_ROTA_NAME_MAX];       /* its key */
    char *value;                       /* sodium_malloc'ed, NUL-terminated */
    size_t len;                        /* its length */
} s_secret;

/* The worker's own state: between pthread_create and pthread_join only the
 * worker touches it. */
typedef struct s_worker {
    void *pair;             /* its end of the hand-off */
    CURL *curl;             /* one handle, reused */
    uint64_t timeout_ms;    /* one attempt, at most */
    char *secrets_path;     /* or NULL */
    struct stat secrets_st; /* the file as last read (mtime, size, inode) */
    bool secrets_read;      /* it was read (or found missing) at least once */
    s_secret *secrets;      /* what it holds */
    size_t n_secrets;       /* how many */
} s_worker;

struct vgb_sender {
    pthread_t thread; /* the worker */
    bool running;     /* it was started */
    bool curl_global; /* curl_global_init succeeded: cleaned up at the stop */
    s_worker w;       /* its state */
};

/* ---- secrets ---------------------------------------------------------------- */

static void
s_secrets_clear(s_worker *w)
{
    for (size_t i = 0; i < w->n_secrets; i++) {
        sodium_free(w->secrets[i].value); /* wipes it */
    }
    free(w->secrets);
    w->secrets = NULL;
    w->n_secrets = 0;
}

static int
s_secret_line(void *ctx, const char *section, const char *name, const char *value)
{
    s_worker *w = ctx;
    size_t len = strlen(value);
    if (!vg_agency_id_is_valid(section) || strlen(name) >= VG_ROTA_NAME_MAX ||
        len > S_SECRET_VALUE_MAX) {
        vg_log(VG_LOG_ERROR, "broker", "notify.secrets",
               "detail=\"an entry is not "
               "[agency] name = value with a short name\" section=%s",
               section);
        return 1; /* the rest of the file still counts */
    }
    s_secret *grown = realloc(w->secrets, (w->n_secrets + 1) * sizeof *grown);
    char *v = sodium_malloc(len + 1);
    if (grown == NULL || v == NULL) {
        w->secrets = grown != NULL ? grown : w->secrets;
        sodium_free(v);
        return 0;
    }
    w->secrets = grown;
    memcpy(v, value, len + 1);
    s_secret *s = &w->secrets[w->n_secrets++];
    snprintf(s->agency, sizeof s->agency, "%s", section);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->value = v;
    s->len = len;
    return 1;
}

/* Reads the secrets file again when it changed (or at first). A file that
 * is missing, unreadable or readable by others leaves no secrets. */
static void
s_secrets_refresh(s_worker *w)
{
    if (w->secrets_path == NULL) {
        return;
    }
    struct stat st;
    bool exists = stat(w->secrets_path, &st) == 0;
    if (w->secrets_read && exists && st.st_mtim.tv_sec == w->secrets_st.st_mtim.tv_sec &&
        st.st_mtim.tv_nsec == w->secrets_st.st_mtim.tv_nsec &&
        st.st_size == w->secrets_st.st_size && st.st_ino == w->secrets_st.st_ino) {
        return;
    }
    w->secrets_read = true;
    memset(&w->secrets_st, 0, sizeof w->secrets_st);
    s_secrets_clear(w);
    if (!exists) {
        vg_log(VG_LOG_WARN, "broker", "notify.secrets", "path=%s detail=missing", w->secrets_path);
        return;
    }
    w->secrets_st = st;
    uint8_t *text = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    if (vg_file_read_private(&text, &len, w->secrets_path, S_SECRETS_MAX_BYTES, &why) != VG_OK) {
        vg_log(VG_LOG_ERROR, "broker", "notify.secrets", "path=%s reason=\"%s\"", w->secrets_path,
               why.text);
        return;
    }
    char *z = realloc(text, len + 1);
    if (z == NULL) {
        sodium_memzero(text, len);
        free(text);
        return;
    }
    z[len] = '\0';
    int line = ini_parse_string(z, s_secret_line, w);
    sodium_memzero(z, len);
    free(z);
    if (line == 0) {
        vg_log(VG_LOG_INFO, "broker", "notify.secrets", "path=%s secrets=%zu", w->secrets_path,
               w->n_secrets);
    } else {
        vg_log(VG_LOG_ERROR, "broker", "notify.secrets", "path=%s secrets=%zu bad_line=%d",
               w->secrets_path, w->n_secrets, line);
    }
}

static const s_secret *
s_secret_of(const s_worker *w, const char *agency, const char *name)
{
    for (size_t i = 0; i < w->n_secrets; i++) {
        if (strcmp(w->secrets[i].agency, agency) == 0 && strcmp(w->secrets[i].name, name) == 0) {
            return &w->secrets[i];
        }
    }
    return NULL;
}

/* ---- sending ------------------------------------------------------------------ */

static void
s_fail(vgb_note_result *res, const char *code, const char *detail)
{
    res->sent = false;
    snprintf(res->code, sizeof res->code, "%s", code);
    snprintf(res->detail, sizeof res->detail, "%s", detail);
}

/* What a failed transfer was, in words a record can keep. */
static const char *
s_code_of(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        return "connect_failed";
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
        return "tls_failed";
    case CURLE_LOGIN_DENIED:
    case CURLE_AUTH_ERROR:
        return "auth_failed";
    default:
        return "send_failed";
    }
}

/* The mail as it goes out: headers, a blank line, the body with CRLF. */
typedef struct s_mail {
    char *text; /* malloc'ed */
    size_t len; /* its length */
    size_t at;  /* read so far */
} s_mail;

static size_t
s_mail_read(char *buf, size_t size, size_t n, void *ctx)
{
    s_mail *m = ctx;
    size_t room = size * n, left = m->len - m->at;
    size_t k = left < room ? left : room;
    memcpy(buf, m->text + m->at, k);
    m->at += k;
    return k;
}

static bool
s_mail_build(s_mail *m, const vgb_note *n)
{
    char date[64];
    time_t t = (time_t)(n->created_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    const char *host = strchr(n->from, '@') + 1;
    size_t cap = 2048 + 2 * strlen(n->body);
    if ((m->text = malloc(cap)) == NULL) {
        return false;
    }
    int h = snprintf(m->text, cap,
                     "Date: %s\r\nFrom: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
                     "Message-ID: <vigil-%llu-%lld@%s>\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n\r\n",
                     date, n->from, n->to, n->subject, (unsigned long long)n->id,
                     (long long)n->created_ms, host);
    m->len = h > 0 ? (size_t)h : 0;
    for (const char *p = n->body; *p != '\0' && m->len + 2 < cap; p++) {
        if (*p == '\n' && (p == n->body || p[-1] != '\r')) {
            m->text[m->len++] = '\r';
        }
        m->text[m->len++] = *p;
    }
    return true;
}

static void
s_send_email(s_worker *w, const vgb_note *n, const s_secret *pass, vgb_note_result *res)
{
    s_mail m = {0};
    if (!s_mail_build(&m, n)) {
        s_fail(res, "send_failed", "out of memory");
        return;
    }
    struct curl_slist *rcpt = curl_slist_append(NULL, n->to);
    char from[VG_ROTA_ADDRESS_MAX + 2];
    snprintf(from, sizeof from, "<%s>", n->from);
    CURL *c = w->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, n->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL); /* STARTTLS, or no mail */
    /* One connection per message: a relay's idle connection is gone by the
     * next step, and a dead cached one would hide why a send failed. */
    curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)w->timeout_ms);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, s_mail_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &m);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    if (n->ca_file[0] != '\0') {
        curl_easy_setopt(c, CURLOPT_CAINFO, n->ca_file);
    }
    if (n->user[0] != '\0') {
        curl_easy_setopt(c, CURLOPT_USERNAME, n->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, pass != NULL ? pass->value : "");
    }
    CURLcode cc = rcpt != NULL ? curl_easy_perform(c) : CURLE_OUT_OF_MEMORY;
    res->sent = cc == CURLE_OK;
    if (!res->sent) {
        s_fail(res, s_code_of(cc), curl_easy_strerror(cc));
    }
    curl_easy_reset(c); /* drops the password it was given */
    curl_slist_free_all(rcpt);
    free(m.text);
}

static void
s_send_webhook(s_worker *w, const vgb_note *n, const s_secret *key, const char *url,
               vgb_note_result *res)
{
    char auth[S_SECRET_VALUE_MAX + 32] = "";
    vg_webhook_req req = {.url = url,
                          .body = n->body,
                          .len = strlen(n->body),
                          .content_type = n->content_type,
                          .ts = (int64_t)time(NULL),
                          .ca_file = n->ca_file,
                          .user_agent = "vigil-broker",
                          .timeout_ms = w->timeout_ms};
    if (n->auth == VG_AUTH_BEARER) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key->value);
        req.headers[0] = auth;
    } else if (n->auth == VG_AUTH_HMAC) {
        req.hmac_key = (const uint8_t *)key->value;
        req.hmac_key_len = key->len;
    } else if (n->auth == VG_AUTH_BASIC) {
        req.user = n->user;
        req.password = key->value;
    }
    vg_webhook_res wr;
    res->sent = vg_webhook_post(w->curl, &req, &wr);
    if (wr.cc != CURLE_OK) {
        s_fail(res, s_code_of(wr.cc), wr.text);
    } else if (!res->sent) {
        char code[VGB_NOTE_CODE_MAX];
        snprintf(code, sizeof code, "http_%ld", wr.status);
        s_fail(res, code, "the endpoint answered without a 2xx status");
    }
    sodium_memzero(auth, sizeof auth);
}

/* Sends one note; *res says what came of it. */
static void
s_send(s_worker *w, const vgb_note *n, vgb_note_result *res)
{
    s_secrets_refresh(w);
    *res = (vgb_note_result){.id = n->id};
    const s_secret *key = n->secret[0] ? s_secret_of(w, n->agency, n->secret) : NULL;
    const s_secret *url = n->url_secret[0] ? s_secret_of(w, n->agency, n->url_secret) : NULL;
    if ((n->secret[0] && key == NULL) || (n->url_secret[0] && url == NULL)) {
        s_fail(res, "secret_missing", "a secret the channel names is not in the secrets file");
        return;
    }
    if (n->kind == VG_CHANNEL_EMAIL) {
        s_send_email(w, n, key, res);
    } else {
        s_send_webhook(w, n, key, url != NULL ? url->value : n->url, res);
    }
}

static void *
s_run(void *arg)
{
    s_worker *w = arg;
    pthread_setname_np(pthread_self(), "vigil-notify");
    vgb_note *n = malloc(sizeof *n);
    for (bool go = n != NULL; go;) {
        int got = zmq_recv(w->pair, n, sizeof *n, 0);
        if (got < 0 && zmq_errno() == EINTR) {
            continue;
        }
        if (got != (int)sizeof *n) { /* the empty frame, or the socket's end: stop */
            break;
        }
        vgb_note_result res;
        s_send(w, n, &res);
        if (!res.sent) {
            vg_log(VG_LOG_WARN, "broker", "notify.failed",
                   "agency=%s channel=%s code=%s "
                   "detail=\"%s\"",
                   n->agency, n->channel, res.code, res.detail);
        }
        go = zmq_send(w->pair, &res, sizeof res, 0) == (int)sizeof res;
    }
    free(n);
    zmq_close(w->pair);
    curl_easy_cleanup(w->curl);
    s_secrets_clear(w);
    return NULL;
}

vg_err
vgb_sender_start(vgb_sender **out, void *zmq_ctx, const char *endpoint, const char *secrets_path,
                 uint64_t timeout_ms, vg_reason *why)
{
    vgb_sender *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return VG_ERR_NOMEM;
    }
    s->w.timeout_ms = timeout_ms;
    s->w.secrets_path = secrets_path != NULL ? vg_strdup(secrets_path) : NULL;
    int linger = 0;
    vg_err rc = VG_OK;
    s->curl_global = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    if (!s->curl_global || (s->w.curl = curl_easy_init()) == NULL) {
        rc = vg_reason_set(why, VG_ERR_IO, "notifications: cannot set up libcurl");
    } else if ((s->w.pair = zmq_socket(zmq_ctx, ZMQ_PAIR)) == NULL ||
               zmq_setsockopt(s->w.pair, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
               zmq_connect(s->w.pair, endpoint) != 0) {
        rc = vg_reason_set(why, VG_ERR_IO, "notifications: cannot connect the worker: %s",
                           zmq_strerror(zmq_errno()));
    }
    if (rc == VG_OK) {
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        int err = pthread_create(&s->thread, NULL, s_run, &s->w);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        s->running = err == 0;
        if (err != 0) {
            rc = vg_reason_set(why, VG_ERR_IO, "notifications: cannot start the worker: %s",
                               strerror(err));
        }
    }
    if (rc != VG_OK) {
        vgb_sender_stop(&s);
        return rc;
    }
    *out = s;
    return VG_OK;
}

void
vgb_sender_stop(vgb_sender **s_p)
{
    if (s_p == NULL || *s_p == NULL) {
        return;
    }
    vgb_sender *s = *s_p;
    if (s->running) {
        pthread_join(s->thread, NULL); /* the worker freed its own state */
    } else {
        if (s->w.pair != NULL) {
            zmq_close(s->w.pair);
        }
        if (s->w.curl != NULL) {
            curl_easy_cleanup(s->w.curl);
        }
    }
    if (s->curl_global) {
        curl_global_cleanup();
    }
    free(s->w.secrets_path);
    free(s);
    *s_p = NULL;
}
