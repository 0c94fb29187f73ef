/* fake_broker.c — see fake_broker.h. */
#define _POSIX_C_SOURCE 200809L

#include "fake_broker.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "broker.h"
#include "vigil/broker_config.h"
#include "vigil/envelope.h"
#include "vigil/log.h"
#include "vigil/receipt.h"
#include "vigil/share.h"
#include "vt.h"

#define S_N_NAMED 7         /* agencies of every network here (fake_broker.h) */
#define S_SETTLE_MAX 100000 /* steps at one moment before the broker is called stuck */
#define S_PROBLEM_MAX 512   /* what went wrong inside a callback */

/* One frame a connection received. */
typedef struct s_rx {
    Vigil__BrokerFrame *f;             /* unpacked; owned */
    const fb_alert *alert;             /* Deliver: its alert, when published here */
    uint8_t alert_id[VG_ALERT_ID_LEN]; /* Deliver: the envelope's alert id */
    uint8_t hash[VG_HASH_LEN];         /* Deliver: the envelope's hash */
    bool receipted;                    /* Deliver: covered by fb_receipt_delivered */
} s_rx;

struct fb_conn {
    fb *f;                  /* the harness */
    char agency[VT_ID_MAX]; /* whose connection */
    unsigned flags;         /* FB_RECEIVE, FB_CONSOLE */
    uint8_t rid[5];         /* routing id, as a ROUTER makes them */
    bool open;              /* connected: keepalives sent, frames taken */
    uint64_t next_request;  /* last request id used */
    s_rx *rx;               /* frames received, in order */
    size_t n_rx, cap_rx;
    size_t ev_pos;        /* fb_expect_event looks from here */
    uint64_t last_ev_seq; /* last event number seen live (0: none since connecting) */
    uint64_t max_ev_seq;  /* highest event number received, live or caught up */
};

struct fb {
    vt_net *net;           /* keys and document */
    char *dir;             /* temp directory: broker.conf, keys, store */
    vg_broker_config *cfg; /* loaded broker.conf */
    vgb_broker *b;         /* the broker, NULL while stopped */
    int64_t wall, mono;    /* the fake clocks */
    vg_clock clock;        /* reads them */
    int64_t keepalive_due; /* monotonic: next keepalive Hellos */
    uint32_t next_rid;     /* routing ids handed out */
    fb_conn **conns;       /* every connection ever made */
    size_t n_conns, cap_conns;
    fb_alert **alerts; /* every alert published */
    size_t n_alerts, cap_alerts;
    uint64_t seqs[VT_AGENCIES_MAX]; /* last sequence number per agency index */
    pthread_mutex_t log_mu;         /* the broker's threads log too */
    char **log;                     /* every log line */
    size_t n_log, cap_log;
    bool log_echo;               /* VG_FB_LOG=1 */
    char problem[S_PROBLEM_MAX]; /* found inside a callback, reported after it */
};

/* ---- small helpers ------------------------------------------------------------- */

static void *
s_grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) {
        return p;
    }
    *cap = *cap ? 2 * *cap : 16;
    void *q = realloc(p, *cap * size);
    assert_non_null(q);
    return q;
}

static void
s_problem(fb *f, const char *fmt, ...)
{
    if (f->problem[0] != '\0') {
        return; /* the first one says most */
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->problem, sizeof f->problem, fmt, ap);
    va_end(ap);
}

/* Fails the test with what a callback found wrong. */
static void
s_check(fb *f)
{
    if (f->problem[0] != '\0') {
        fail_msg("fake broker: %s", f->problem);
    }
}

static int64_t
s_wall(void *ctx)
{
    return ((const fb *)ctx)->wall;
}

static int64_t
s_mono(void *ctx)
{
    return ((const fb *)ctx)->mono;
}

static int64_t
s_real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
s_agency_index(const fb *f, const char *id)
{
    for (size_t i = 0; i < f->net->n; i++) {
        if (strcmp(f->net->ids[i], id) == 0) {
            return (int)i;
        }
    }
    fail_msg("no agency %s in the fake broker's network", id);
    return -1;
}

/* ---- the log -------------------------------------------------------------------- */

static void
s_log_sink(vg_log_level level, const char *line, void *ctx)
{
    (void)level;
    fb *f = ctx;
    char *copy = strdup(line);
    pthread_mutex_lock(&f->log_mu);
    if (copy != NULL && f->n_log == f->cap_log) {
        size_t cap = f->cap_log ? 2 * f->cap_log : 256;
        char **n = realloc(f->log, cap * sizeof *n);
        if (n != NULL) {
            f->log = n;
            f->cap_log = cap;
        }
    }
    if (copy != NULL && f->n_log < f->cap_log) {
        f->log[f->n_log++] = copy;
        copy = NULL;
    }
    pthread_mutex_unlock(&f->log_mu);
    free(copy);
    if (f->log_echo) {
        fprintf(stderr, "%s\n", line);
    }
}

/* The message id of a line: its fourth field ("time LEVEL component id ..."). */
static bool
s_has_id(const char *line, const char *msg_id)
{
    const char *p = line;
    for (int i = 0; i < 3 && p != NULL; i++) {
        p = strchr(p, ' ');
        p = p ? p + 1 : NULL;
    }
    size_t n = strlen(msg_id);
    return p != NULL && strncmp(p, msg_id, n) == 0 && (p[n] == ' ' || p[n] == '\0');
}

size_t
fb_log_count(fb *f, const char *msg_id, const char *needle)
{
    size_t n = 0;
    pthread_mutex_lock(&f->log_mu);
    for (size_t i = 0; i < f->n_log; i++) {
        n += s_has_id(f->log[i], msg_id) && (needle == NULL || strstr(f->log[i], needle) != NULL);
    }
    pthread_mutex_unlock(&f->log_mu);
    return n;
}

const char *
fb_log_last(fb *f, const char *msg_id)
{
    const char *last = NULL;
    pthread_mutex_lock(&f->log_mu);
    for (size_t i = 0; i < f->n_log; i++) {
        last = s_has_id(f->log[i], msg_id) ? f->log[i] : last;
    }
    pthread_mutex_unlock(&f->log_mu);
    return last;
}

/* ---- the network ---------------------------------------------------------------- */

/* Agencies 4.. of every network here; 0..3 are vt.h's. */
static const struct {
    const char *id, *role, *name;
} s_named[S_N_NAMED] = {
    [4] = {"education", "education", "Education"},
    [5] = {"council", "council", "Council chief executive"},
    [6] = {"oversight", VG_ROLE_OVERSIGHT, "Oversight"},
};

/* Whom agency i's escalation contact step tells (fake_broker.h). */
static const char *
s_contact_of(const vt_net *net, size_t i)
{
    const char *id = net->ids[i];
    if (strcmp(id, "licensing") == 0 || strcmp(id, "childrens-services") == 0 ||
        strcmp(id, "education") == 0) {
        return "council";
    }
    if (strcmp(id, "home-office") == 0 || strcmp(id, "council") == 0) {
        return "oversight";
    }
    return strcmp(id, "oversight") == 0 ? NULL : "home-office";
}

static void
s_name(vt_net *net, size_t i, const char *id, const char *role, const char *name)
{
    json_t *a = json_array_get(json_object_get(net->json, "agencies"), i);
    assert_non_null(a);
    snprintf(net->ids[i], VT_ID_MAX, "%s", id);
    json_object_set_new(a, "id", json_string(id));
    json_object_set_new(a, "role", json_string(role));
    json_object_set_new(a, "name", json_string(name));
}

static vt_net *
s_network(const fb_options *opts)
{
    size_t n_extra = 0;
    while (opts != NULL && opts->agencies != NULL && opts->agencies[n_extra] != NULL) {
        n_extra++;
    }
    assert_true(n_extra <= FB_EXTRA_MAX);
    vt_net *net = vt_net_new_unpublished(S_N_NAMED + n_extra);
    for (size_t i = 4; i < S_N_NAMED; i++) {
        s_name(net, i, s_named[i].id, s_named[i].role, s_named[i].name);
    }
    for (size_t i = 0; i < n_extra; i++) {
        s_name(net, S_N_NAMED + i, opts->agencies[i], opts->agencies[i], opts->agencies[i]);
    }
    for (size_t i = 0; i < net->n; i++) {
        json_t *a = json_array_get(json_object_get(net->json, "agencies"), i);
        const char *contact = s_contact_of(net, i);
        if (contact != NULL) {
            json_object_set_new(a, "escalation_contact", json_string(contact));
        } else {
            json_object_del(a, "escalation_contact");
        }
    }
    json_t *esc = json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s,s:s}]", "after", "0s", "target",
                            "redeliver", "after", "30m", "target", "contact", "after", "2h",
                            "target", "role", "role", VG_ROLE_OVERSIGHT);
    assert_non_null(esc);
    json_object_set_new(net->json, "escalation", esc);
    if (opts != NULL && opts->edit != NULL) {
        opts->edit(net->json, opts->edit_ctx);
    }
    vg_reason why = {{0}};
    vg_err rc = vt_net_publish(net, 0, &why);
    if (rc != VG_OK) {
        fail_msg("the fake broker's network document: %s: %s", vg_err_code(rc), why.text);
    }
    return net;
}

/* Writes broker.key, network.signed and broker.conf, and loads the latter. */
static void
s_write_broker_files(fb *f, const fb_options *opts)
{
    char *keys = vt_path(f->dir, "broker.key");
    vg_reason why = {{0}};
    assert_int_equal(vg_keyset_save(f->net->broker, keys, &why), VG_OK);
    free(keys);
    char *doc = vt_path(f->dir, "network.signed");
    vt_write_file(doc, f->net->signed_doc, f->net->signed_len, 0644);
    free(doc);
    char admin[2 * VG_SIGN_PK_LEN + 1];
    vg_hex_encode(admin, sizeof admin, vg_keyset_sign_pk(f->net->admin), VG_SIGN_PK_LEN);
    char conf[4096];
    int n = snprintf(conf, sizeof conf,
                     "[broker]\nbind = tcp://127.0.0.1:*\nkeys = broker.key\nstore = store\n"
                     "log_level = debug\n");
    for (size_t i = 0; opts != NULL && opts->conf != NULL && opts->conf[i] != NULL; i++) {
        n += snprintf(conf + n, sizeof conf - (size_t)n, "%s\n", opts->conf[i]);
    }
    n += snprintf(conf + n, sizeof conf - (size_t)n,
                  "[network]\ndocument = network.signed\nadmin_key = %s\n", admin);
    assert_true((size_t)n < sizeof conf);
    char *path = vt_path(f->dir, "broker.conf");
    vt_write_file(path, conf, (size_t)n, 0600);
    vg_err rc = vg_broker_config_load(&f->cfg, path, &why);
    free(path);
    if (rc != VG_OK) {
        fail_msg("broker.conf: %s: %s", vg_err_code(rc), why.text);
    }
}

const vg_netdoc *
fb_doc(const fb *f)
{
    return f->net->doc;
}

const vg_keyset *
fb_keys(const fb *f, const char *id)
{
    return vt_net_keys(f->net, id);
}

/* ---- frames the broker sends ------------------------------------------------------ */

static fb_conn *
s_conn_of(const fb *f, const uint8_t *rid, size_t rid_len)
{
    for (size_t i = 0; i < f->n_conns; i++) {
        fb_conn *c = f->conns[i];
        if (c->open && rid_len == sizeof c->rid && memcmp(c->rid, rid, rid_len) == 0) {
            return c;
        }
    }
    return NULL;
}

/* A Deliver's envelope must verify against the document: its id and hash. */
static void
s_take_deliver(fb *f, fb_conn *c, s_rx *rx)
{
    const Vigil__Deliver *d = rx->f->deliver;
    vg_envelope *env = NULL;
    vg_reason why = {{0}};
    if (vg_envelope_verify(&env, d->signed_envelope.data, d->signed_envelope.len, f->net->doc,
                           &why) != VG_OK) {
        s_problem(f, "%s was delivered an envelope that does not verify: %s", c->agency, why.text);
        return;
    }
    memcpy(rx->alert_id, vg_envelope_id(env), VG_ALERT_ID_LEN);
    memcpy(rx->hash, vg_envelope_hash(env), VG_HASH_LEN);
    rx->alert = fb_alert_by_id(f, rx->alert_id);
    vg_envelope_destroy(&env);
}

static void
s_take_event(fb *f, fb_conn *c, const Vigil__Event *e)
{
    if (c->last_ev_seq != 0 && e->seq != c->last_ev_seq + 1) {
        s_problem(f, "%s's event stream: event %llu after %llu", c->agency,
                  (unsigned long long)e->seq, (unsigned long long)c->last_ev_seq);
    }
    c->last_ev_seq = e->seq;
    c->max_ev_seq = e->seq > c->max_ev_seq ? e->seq : c->max_ev_seq;
}

static void
s_append(fb_conn *c, Vigil__BrokerFrame *bf)
{
    c->rx = s_grow(c->rx, &c->cap_rx, c->n_rx, sizeof *c->rx);
    c->rx[c->n_rx] = (s_rx){.f = bf};
    c->n_rx++;
}

/* vgb_send_fn: every frame the broker sends comes here. */
static vg_err
s_sender(void *ctx, const uint8_t *rid, size_t rid_len, const uint8_t *frame, size_t len)
{
    fb *f = ctx;
    fb_conn *c = s_conn_of(f, rid, rid_len);
    if (c == NULL) {
        return VG_ERR_NOT_FOUND; /* as the ROUTER says of a peer that left */
    }
    Vigil__BrokerFrame *bf = vigil__broker_frame__unpack(NULL, len, frame);
    if (bf == NULL) {
        s_problem(f, "the broker sent %s a frame that does not parse (%zu bytes)", c->agency, len);
        return VG_OK;
    }
    s_append(c, bf);
    if (bf->kind_case == VIGIL__BROKER_FRAME__KIND_DELIVER) {
        s_take_deliver(f, c, &c->rx[c->n_rx - 1]);
    } else if (bf->kind_case == VIGIL__BROKER_FRAME__KIND_EVENT) {
        s_take_event(f, c, bf->event);
    }
    return VG_OK;
}

/* ---- sending ------------------------------------------------------------------------ */

static void
s_send(fb_conn *c, const Vigil__ClientFrame *cf)
{
    fb *f = c->f;
    if (f->b == NULL) {
        fail_msg("%s sends a frame while the broker is stopped", c->agency);
    }
    if (!c->open) {
        fail_msg("%s sends on a closed connection", c->agency);
    }
    size_t len = vigil__client_frame__get_packed_size(cf);
    uint8_t *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    vigil__client_frame__pack(cf, buf);
    vgb_broker_handle_frame(f->b, c->agency, c->rid, sizeof c->rid, buf, len);
    free(buf);
    s_check(f);
}

static void
s_hello(fb_conn *c)
{
    Vigil__Hello h = VIGIL__HELLO__INIT;
    h.agent = "vigil-fake-broker-test";
    h.network_version = vg_netdoc_version(c->f->net->doc);
    h.receive = (c->flags & FB_RECEIVE) != 0;
    h.console = (c->flags & FB_CONSOLE) != 0;
    Vigil__ClientFrame cf = VIGIL__CLIENT_FRAME__INIT;
    cf.kind_case = VIGIL__CLIENT_FRAME__KIND_HELLO;
    cf.hello = &h;
    s_send(c, &cf);
}

static void
s_new_rid(fb_conn *c)
{
    uint32_t n = ++c->f->next_rid;
    c->rid[0] = 0x00; /* ZeroMQ's generated routing ids start with a zero byte */
    memcpy(c->rid + 1, &n, sizeof n);
}

/* The reply to request id on c, or NULL. */
static const Vigil__BrokerFrame *
s_reply(const fb_conn *c, uint64_t request_id)
{
    for (size_t i = c->n_rx; i-- > 0;) {
        const Vigil__BrokerFrame *bf = c->rx[i].f;
        if (bf->request_id == request_id && bf->kind_case != VIGIL__BROKER_FRAME__KIND_DELIVER &&
            bf->kind_case != VIGIL__BROKER_FRAME__KIND_EVENT) {
            return bf;
        }
    }
    return NULL;
}

/* Sends cf with a fresh request id and returns its Confirm (the broker
 * answers publishes, receipts and shares within the call). */
static const Vigil__Confirm *
s_confirmed(fb_conn *c, Vigil__ClientFrame *cf, const char *what)
{
    cf->request_id = ++c->next_request;
    s_send(c, cf);
    const Vigil__BrokerFrame *bf = s_reply(c, cf->request_id);
    if (bf == NULL || bf->kind_case != VIGIL__BROKER_FRAME__KIND_CONFIRM) {
        fail_msg("%s: %s got no Confirm (frame kind %d)", what, c->agency,
                 bf ? (int)bf->kind_case : -1);
    }
    return bf->confirm;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static long
s_settle(fb *f)
{
    for (int i = 0; i < S_SETTLE_MAX; i++) {
        long next = vgb_broker_step(f->b);
        s_check(f);
        if (next > 0) {
            return next;
        }
    }
    fail_msg("the broker still has work due after %d steps at one moment", S_SETTLE_MAX);
    return 0;
}

void
fb_step(fb *f)
{
    if (f->b != NULL) {
        (void)s_settle(f);
    }
}

void
fb_start(fb *f)
{
    assert_null(f->b);
    vg_reason why = {{0}};
    vg_err rc = vgb_broker_new(&f->b, f->cfg, &f->clock, &why);
    if (rc != VG_OK) {
        fail_msg("vgb_broker_new: %s: %s", vg_err_code(rc), why.text);
    }
    vgb_broker_set_sender(f->b, s_sender, f);
    /* The loop's first pass comes before any client is back (ZeroMQ
     * reconnects after 100 ms at best): what was due while it was down is
     * done with nobody connected, as with the real binary. */
    fb_step(f);
    f->keepalive_due = f->mono + VG_KEEPALIVE_MS;
    for (size_t i = 0; i < f->n_conns; i++) {
        if (f->conns[i]->open) {
            fb_reconnect(f->conns[i]);
        }
    }
}

void
fb_stop(fb *f)
{
    vgb_broker_destroy(&f->b);
}

void
fb_restart(fb *f)
{
    fb_stop(f);
    fb_start(f);
}

void
fb_reboot(fb *f, int64_t mono_ms)
{
    assert_null(f->b);
    f->mono = mono_ms;
}

fb *
fb_new(const fb_options *opts)
{
    fb *f = calloc(1, sizeof *f);
    assert_non_null(f);
    pthread_mutex_init(&f->log_mu, NULL);
    f->log_echo = getenv("VG_FB_LOG") != NULL && strcmp(getenv("VG_FB_LOG"), "1") == 0;
    f->wall = FB_WALL0_MS;
    f->mono = FB_MONO0_MS;
    f->clock = (vg_clock){s_wall, s_mono, f};
    f->dir = vt_tmpdir_new();
    f->net = s_network(opts);
    s_write_broker_files(f, opts);
    vg_log_set_sink(s_log_sink, f); /* before the broker's threads start */
    vg_log_set_level(VG_LOG_DEBUG);
    fb_start(f);
    return f;
}

static void
s_conn_free(fb_conn *c)
{
    for (size_t i = 0; i < c->n_rx; i++) {
        vigil__broker_frame__free_unpacked(c->rx[i].f, NULL);
    }
    free(c->rx);
    free(c);
}

void
fb_destroy(fb **f_p)
{
    if (f_p == NULL || *f_p == NULL) {
        return;
    }
    fb *f = *f_p;
    fb_stop(f);
    vg_log_set_sink(NULL, NULL);
    for (size_t i = 0; i < f->n_conns; i++) {
        s_conn_free(f->conns[i]);
    }
    free(f->conns);
    for (size_t i = 0; i < f->n_alerts; i++) {
        free(f->alerts[i]->env);
        free(f->alerts[i]);
    }
    free(f->alerts);
    for (size_t i = 0; i < f->n_log; i++) {
        free(f->log[i]);
    }
    free(f->log);
    pthread_mutex_destroy(&f->log_mu);
    vg_broker_config_destroy(&f->cfg);
    vt_net_destroy(&f->net);
    vt_tmpdir_destroy(&f->dir);
    free(f);
    *f_p = NULL;
}

/* ---- time ---------------------------------------------------------------------------- */

int64_t
fb_wall_ms(const fb *f)
{
    return f->wall;
}

int64_t
fb_mono_ms(const fb *f)
{
    return f->mono;
}

static void
s_keepalive(fb *f)
{
    for (size_t i = 0; i < f->n_conns; i++) {
        if (f->conns[i]->open) {
            s_hello(f->conns[i]);
        }
    }
    f->keepalive_due = f->mono + VG_KEEPALIVE_MS;
}

void
fb_advance(fb *f, int64_t ms)
{
    assert_true(ms >= 0);
    int64_t end = f->mono + ms;
    for (;;) {
        int64_t next = f->b != NULL ? s_settle(f) : INT64_MAX;
        if (f->mono >= end) {
            return;
        }
        int64_t dt = end - f->mono;
        dt = next < dt ? next : dt;
        if (f->b != NULL && f->keepalive_due - f->mono < dt) {
            dt = f->keepalive_due - f->mono;
        }
        dt = dt > 0 ? dt : 1;
        f->mono += dt;
        f->wall += dt;
        if (f->b != NULL && f->mono >= f->keepalive_due) {
            s_keepalive(f);
        }
    }
}

void
fb_advance_to_wall(fb *f, int64_t wall_ms)
{
    if (wall_ms < f->wall) {
        fail_msg("fb_advance_to_wall: %lld is %lld ms in the past", (long long)wall_ms,
                 (long long)(f->wall - wall_ms));
    }
    fb_advance(f, wall_ms - f->wall);
}

void
fb_jump_wall(fb *f, int64_t ms)
{
    f->wall += ms;
    fb_step(f);
}

/* ---- connections ------------------------------------------------------------------------ */

fb_conn *
fb_connect(fb *f, const char *id, unsigned flags)
{
    (void)s_agency_index(f, id);
    fb_conn *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->f = f;
    snprintf(c->agency, sizeof c->agency, "%s", id);
    c->flags = flags;
    f->conns = s_grow(f->conns, &f->cap_conns, f->n_conns, sizeof *f->conns);
    f->conns[f->n_conns++] = c;
    fb_reconnect(c);
    return c;
}

void
fb_close(fb_conn *c)
{
    c->open = false;
}

void
fb_reconnect(fb_conn *c)
{
    s_new_rid(c);
    c->open = true;
    c->last_ev_seq = 0; /* a new subscription: what it missed, it asks for */
    s_hello(c);
}

const char *
fb_agency(const fb_conn *c)
{
    return c->agency;
}

/* ---- alerts ------------------------------------------------------------------------------ */

const fb_alert *
fb_alert_by_id(const fb *f, const uint8_t id[VG_ALERT_ID_LEN])
{
    for (size_t i = 0; i < f->n_alerts; i++) {
        if (memcmp(f->alerts[i]->id, id, VG_ALERT_ID_LEN) == 0) {
            return f->alerts[i];
        }
    }
    return NULL;
}

/* Seals an alert from c's agency as spec says and keeps it. */
static fb_alert *
s_seal(fb_conn *c, const fb_spec *spec)
{
    fb *f = c->f;
    fb_spec none = {0};
    spec = spec ? spec : &none;
    const char *category = spec->category ? spec->category : "taxi";
    vg_alert al;
    memset(&al, 0, sizeof al);
    al.severity = spec->severity != VG_SEV_UNSPECIFIED ? spec->severity : VG_SEV_HIGH;
    al.urgency = spec->urgency;
    assert_int_equal(vg_strlist_add(&al.categories, category), VG_OK);
    assert_int_equal(
        vg_netdoc_required(f->net->doc, &category, 1, al.severity, c->agency, &al.recipients),
        VG_OK);
    for (size_t i = 0; spec->also != NULL && spec->also[i] != NULL; i++) {
        assert_int_equal(vg_strlist_add_unique(&al.recipients, spec->also[i]), VG_OK);
    }
    fb_alert *a = calloc(1, sizeof *a);
    assert_non_null(a);
    char headline[96];
    snprintf(headline, sizeof headline, "Taxi drivers linked to exploitation (%zu)",
             f->n_alerts + 1);
    al.headline = headline;
    al.description = "Three reports name drivers licensed by the council.";
    int idx = s_agency_index(f, c->agency);
    vg_seal_params p = {.doc = f->net->doc,
                        .sender = c->agency,
                        .keys = f->net->keys[idx],
                        .sequence = ++f->seqs[idx],
                        .created_ms = spec->created_ms ? spec->created_ms : f->wall};
    vg_reason why = {{0}};
    vg_err rc = vg_envelope_seal(&a->env, &a->env_len, a->id, &al, &p, &why);
    al.headline = al.description = NULL;
    vg_strlist_fini(&al.categories);
    vg_strlist_fini(&al.recipients);
    if (rc != VG_OK) {
        fail_msg("seal: %s: %s", vg_err_code(rc), why.text);
    }
    vg_envelope *env = NULL;
    assert_int_equal(vg_envelope_verify(&env, a->env, a->env_len, f->net->doc, &why), VG_OK);
    memcpy(a->hash, vg_envelope_hash(env), VG_HASH_LEN);
    vg_envelope_destroy(&env);
    snprintf(a->sender, sizeof a->sender, "%s", c->agency);
    a->sequence = p.sequence;
    a->severity = (vg_severity)al.severity;
    a->published_wall_ms = f->wall;
    a->published_mono_ms = f->mono;
    f->alerts = s_grow(f->alerts, &f->cap_alerts, f->n_alerts, sizeof *f->alerts);
    f->alerts[f->n_alerts++] = a;
    return a;
}

const Vigil__Confirm *
fb_publish(fb_conn *c, const fb_spec *spec, const fb_alert **out)
{
    fb_alert *a = s_seal(c, spec);
    Vigil__Publish p = VIGIL__PUBLISH__INIT;
    p.signed_envelope.data = a->env;
    p.signed_envelope.len = a->env_len;
    Vigil__ClientFrame cf = VIGIL__CLIENT_FRAME__INIT;
    cf.kind_case = VIGIL__CLIENT_FRAME__KIND_PUBLISH;
    cf.publish = &p;
    if (out != NULL) {
        *out = a;
    }
    return s_confirmed(c, &cf, "publish");
}

const fb_alert *
fb_publish_ok(fb_conn *c, const fb_spec *spec)
{
    const fb_alert *a = NULL;
    const Vigil__Confirm *cf = fb_publish(c, spec, &a);
    if (cf->status != VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED) {
        fail_msg("publish by %s: status %d code %d: %s", c->agency, cf->status, cf->code,
                 cf->reason);
    }
    return a;
}

static const Vigil__Confirm *
s_send_receipt(fb_conn *c, const vg_receipt_spec *spec)
{
    fb *f = c->f;
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    vg_err rc =
        vg_receipt_sign(&bytes, &len, spec, f->net->keys[s_agency_index(f, c->agency)], &why);
    if (rc != VG_OK) {
        fail_msg("sign a receipt: %s: %s", vg_err_code(rc), why.text);
    }
    Vigil__SubmitReceipt r = VIGIL__SUBMIT_RECEIPT__INIT;
    r.signed_receipt.data = bytes;
    r.signed_receipt.len = len;
    Vigil__ClientFrame cf = VIGIL__CLIENT_FRAME__INIT;
    cf.kind_case = VIGIL__CLIENT_FRAME__KIND_RECEIPT;
    cf.receipt = &r;
    const Vigil__Confirm *confirm = s_confirmed(c, &cf, "receipt");
    free(bytes);
    return confirm;
}

const Vigil__Confirm *
fb_receipt(fb_conn *c, vg_receipt_kind kind, const fb_alert *a, const char *text)
{
    vg_receipt_item item;
    memcpy(item.alert_id, a->id, VG_ALERT_ID_LEN);
    memcpy(item.envelope_hash, a->hash, VG_HASH_LEN);
    vg_receipt_spec spec = {.agency = c->agency,
                            .kind = kind,
                            .created_ms = c->f->wall,
                            .items = &item,
                            .n_items = 1,
                            .officer = kind == VG_RECEIPT_ACKNOWLEDGED ? text : NULL,
                            .reason = kind != VG_RECEIPT_ACKNOWLEDGED ? text : NULL,
                            .network_version = vg_netdoc_version(c->f->net->doc)};
    return s_send_receipt(c, &spec);
}

const Vigil__Confirm *
fb_receipt_delivered(fb_conn *c)
{
    vg_receipt_item *items = calloc(VG_RECEIPT_ITEMS_MAX, sizeof *items);
    assert_non_null(items);
    size_t n = 0;
    for (size_t i = 0; i < c->n_rx && n < VG_RECEIPT_ITEMS_MAX; i++) {
        s_rx *rx = &c->rx[i];
        bool seen = rx->f->kind_case != VIGIL__BROKER_FRAME__KIND_DELIVER || rx->receipted;
        for (size_t k = 0; !seen && k < n; k++) { /* one item per alert */
            seen = memcmp(items[k].alert_id, rx->alert_id, VG_ALERT_ID_LEN) == 0;
        }
        rx->receipted = rx->f->kind_case == VIGIL__BROKER_FRAME__KIND_DELIVER;
        if (!seen) {
            memcpy(items[n].alert_id, rx->alert_id, VG_ALERT_ID_LEN);
            memcpy(items[n].envelope_hash, rx->hash, VG_HASH_LEN);
            n++;
        }
    }
    const Vigil__Confirm *confirm = NULL;
    if (n > 0) {
        vg_receipt_spec spec = {.agency = c->agency,
                                .kind = VG_RECEIPT_DELIVERED,
                                .created_ms = c->f->wall,
                                .items = items,
                                .n_items = n,
                                .network_version = vg_netdoc_version(c->f->net->doc)};
        confirm = s_send_receipt(c, &spec);
    }
    free(items);
    return confirm;
}

const Vigil__Confirm *
fb_share(fb_conn *c, const fb_alert *a, const char *to, const char *reason)
{
    fb *f = c->f;
    vg_envelope *env = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vg_envelope_verify(&env, a->env, a->env_len, f->net->doc, &why), VG_OK);
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_err rc =
        vg_share_create(&bytes, &len, env, c->agency, f->net->keys[s_agency_index(f, c->agency)],
                        to, reason, f->wall, f->net->doc, &why);
    vg_envelope_destroy(&env);
    if (rc != VG_OK) {
        fail_msg("share by %s to %s: %s: %s", c->agency, to, vg_err_code(rc), why.text);
    }
    Vigil__SubmitShare s = VIGIL__SUBMIT_SHARE__INIT;
    s.signed_share.data = bytes;
    s.signed_share.len = len;
    Vigil__ClientFrame cf = VIGIL__CLIENT_FRAME__INIT;
    cf.kind_case = VIGIL__CLIENT_FRAME__KIND_SHARE;
    cf.share = &s;
    const Vigil__Confirm *confirm = s_confirmed(c, &cf, "share");
    free(bytes);
    return confirm;
}

/* ---- queries ------------------------------------------------------------------------------- */

const Vigil__BrokerFrame *
fb_query(fb_conn *c, Vigil__Query *q)
{
    fb *f = c->f;
    Vigil__ClientFrame cf = VIGIL__CLIENT_FRAME__INIT;
    cf.request_id = ++c->next_request;
    cf.kind_case = VIGIL__CLIENT_FRAME__KIND_QUERY;
    cf.query = q;
    s_send(c, &cf);
    int64_t until = s_real_ms() + FB_ANSWER_WAIT_MS;
    for (;;) {
        const Vigil__BrokerFrame *bf = s_reply(c, cf.request_id);
        if (bf != NULL) {
            return bf;
        }
        if (s_real_ms() > until) {
            fail_msg("%s's query (kind %d) got no answer within %d ms", c->agency, q->kind,
                     FB_ANSWER_WAIT_MS);
        }
        (void)vgb_broker_step(f->b); /* the clocks stay where they are */
        s_check(f);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

const Vigil__AlertSummary *
fb_status(fb_conn *c, const fb_alert *a)
{
    Vigil__Query q = VIGIL__QUERY__INIT;
    q.kind = VIGIL__QUERY_KIND__QUERY_ALERT;
    q.alert_id.data = (uint8_t *)a->id;
    q.alert_id.len = VG_ALERT_ID_LEN;
    const Vigil__BrokerFrame *bf = fb_query(c, &q);
    if (bf->kind_case != VIGIL__BROKER_FRAME__KIND_RESULT || bf->result->n_alerts != 1) {
        fail_msg("QUERY_ALERT by %s: %s", c->agency,
                 bf->kind_case == VIGIL__BROKER_FRAME__KIND_ERROR ? bf->error->reason
                                                                  : "not one alert");
    }
    return bf->result->alerts[0];
}

size_t
fb_catch_up(fb_conn *c)
{
    size_t n = 0;
    for (;;) {
        Vigil__Query q = VIGIL__QUERY__INIT;
        q.kind = VIGIL__QUERY_KIND__QUERY_EVENTS;
        q.after_seq = c->max_ev_seq;
        const Vigil__BrokerFrame *bf = fb_query(c, &q);
        if (bf->kind_case != VIGIL__BROKER_FRAME__KIND_RESULT) {
            fail_msg("QUERY_EVENTS by %s refused: %s", c->agency,
                     bf->kind_case == VIGIL__BROKER_FRAME__KIND_ERROR ? bf->error->reason : "?");
        }
        size_t got = bf->result->n_events;
        for (size_t i = 0; i < got; i++) { /* as if it had come live: a frame of its own */
            Vigil__BrokerFrame one = VIGIL__BROKER_FRAME__INIT;
            one.kind_case = VIGIL__BROKER_FRAME__KIND_EVENT;
            one.event = bf->result->events[i];
            size_t len = vigil__broker_frame__get_packed_size(&one);
            uint8_t *buf = malloc(len ? len : 1);
            assert_non_null(buf);
            vigil__broker_frame__pack(&one, buf);
            Vigil__BrokerFrame *copy = vigil__broker_frame__unpack(NULL, len, buf);
            free(buf);
            assert_non_null(copy);
            assert_int_equal(copy->event->seq, c->max_ev_seq + 1); /* in order, no gap */
            c->max_ev_seq = copy->event->seq;
            s_append(c, copy);
        }
        n += got;
        if (got == 0) {
            return n;
        }
    }
}

const Vigil__RecipientState *
fb_rcpt(const Vigil__AlertSummary *s, const char *agency)
{
    for (size_t i = 0; i < s->n_recipients; i++) {
        if (strcmp(s->recipients[i]->agency, agency) == 0) {
            return s->recipients[i];
        }
    }
    fail_msg("%s is not a recipient in the status", agency);
    return NULL;
}

/* ---- what a connection received -------------------------------------------------------------- */

size_t
fb_n_frames(const fb_conn *c)
{
    return c->n_rx;
}

const Vigil__BrokerFrame *
fb_frame(const fb_conn *c, size_t i)
{
    assert_true(i < c->n_rx);
    return c->rx[i].f;
}

static bool
s_event_matches(const Vigil__BrokerFrame *bf, Vigil__EventKind kind, const char *about,
                const fb_alert *a)
{
    if (bf->kind_case != VIGIL__BROKER_FRAME__KIND_EVENT) {
        return false;
    }
    const Vigil__Event *e = bf->event;
    return (kind == 0 || e->kind == kind) && (about == NULL || strcmp(e->agency, about) == 0) &&
           (a == NULL || (e->alert_id.len == VG_ALERT_ID_LEN &&
                          memcmp(e->alert_id.data, a->id, VG_ALERT_ID_LEN) == 0));
}

size_t
fb_count_events(const fb_conn *c, Vigil__EventKind kind, const char *about, const fb_alert *a)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_rx; i++) {
        n += s_event_matches(c->rx[i].f, kind, about, a);
    }
    return n;
}

const Vigil__Event *
fb_expect_event(fb_conn *c, Vigil__EventKind kind, const char *about, const fb_alert *a)
{
    for (size_t i = c->ev_pos; i < c->n_rx; i++) {
        if (s_event_matches(c->rx[i].f, kind, about, a)) {
            c->ev_pos = i + 1;
            return c->rx[i].f->event;
        }
    }
    fb_print(c);
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&vigil__event_kind__descriptor, (int)kind);
    fail_msg("%s received no %s event about %s (wall %lld)", c->agency, v ? v->name : "?",
             about ? about : "-", (long long)c->f->wall);
    return NULL;
}

size_t
fb_count_delivers(const fb_conn *c, const fb_alert *a)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_rx; i++) {
        n += c->rx[i].f->kind_case == VIGIL__BROKER_FRAME__KIND_DELIVER &&
             (a == NULL || memcmp(c->rx[i].alert_id, a->id, VG_ALERT_ID_LEN) == 0);
    }
    return n;
}

const Vigil__Deliver *
fb_deliver_at(const fb_conn *c, size_t i, const fb_alert **alert)
{
    for (size_t k = 0; k < c->n_rx; k++) {
        if (c->rx[k].f->kind_case == VIGIL__BROKER_FRAME__KIND_DELIVER && i-- == 0) {
            if (alert != NULL) {
                *alert = c->rx[k].alert;
            }
            return c->rx[k].f->deliver;
        }
    }
    fail_msg("%s received fewer Deliver frames than asked for", c->agency);
    return NULL;
}

const Vigil__Deliver *
fb_last_deliver(const fb_conn *c, const fb_alert *a)
{
    for (size_t k = c->n_rx; k-- > 0;) {
        if (c->rx[k].f->kind_case == VIGIL__BROKER_FRAME__KIND_DELIVER &&
            memcmp(c->rx[k].alert_id, a->id, VG_ALERT_ID_LEN) == 0) {
            return c->rx[k].f->deliver;
        }
    }
    return NULL;
}

void
fb_print(const fb_conn *c)
{
    print_message("---- frames received by %s (%zu) ----\n", c->agency, c->n_rx);
    for (size_t i = 0; i < c->n_rx; i++) {
        const Vigil__BrokerFrame *bf = c->rx[i].f;
        if (bf->kind_case == VIGIL__BROKER_FRAME__KIND_EVENT) {
            const Vigil__Event *e = bf->event;
            const ProtobufCEnumValue *v =
                protobuf_c_enum_descriptor_get_value(&vigil__event_kind__descriptor, (int)e->kind);
            print_message("  event #%llu t=%+lld %s about=%s level=%u detail=\"%s\" count=%u\n",
                          (unsigned long long)e->seq, (long long)e->time_ms - FB_WALL0_MS,
                          v ? v->name : "?", e->agency, e->escalation_level, e->detail, e->count);
        } else if (bf->kind_case == VIGIL__BROKER_FRAME__KIND_DELIVER) {
            print_message("  deliver seq=%llu shares=%zu\n",
                          (unsigned long long)(c->rx[i].alert ? c->rx[i].alert->sequence : 0),
                          bf->deliver->n_signed_shares);
        } else {
            print_message("  frame kind=%d request=%llu\n", (int)bf->kind_case,
                          (unsigned long long)bf->request_id);
        }
    }
}
