/*
 * vb_wide.c — see vb_wide.h.
 */
#define _GNU_SOURCE

#include "vb_wide.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zmq.h>

#include "vigil.pb-c.h"
#include "vigil/envelope.h"
#include "vigil/receipt.h"

#define S_KEEPALIVE_MS 2000 /* well inside VG_KEEPALIVE_MS */
#define S_SEAL_THREADS 2

/* ---- clients --------------------------------------------------------------------- */

/* Keys of the i-th agency of the wide role. */
static vg_err
s_wide_keys(vg_keyset **out, const vb_net *net, size_t i, vg_reason *why)
{
    char id[64], path[VB_PATH_MAX + 128];
    vb_wide_agency(id, sizeof id, i);
    snprintf(path, sizeof path, "%s/agents/%s/agency.key", net->net, id);
    return vg_keyset_load(out, path, why);
}

/* A set of connections of wide-role agencies [from, from + n) on one context. */
typedef struct s_conns {
    void *ctx;          /* their context */
    void **sock;        /* n sockets */
    zmq_pollitem_t *it; /* n poll items */
    size_t n;           /* how many */
    uint64_t version;   /* the network document's version, said in every Hello */
} s_conns;

static void
s_conns_close(s_conns *c)
{
    for (size_t i = 0; c->sock != NULL && i < c->n; i++) {
        if (c->sock[i] != NULL) {
            zmq_close(c->sock[i]);
        }
    }
    if (c->ctx != NULL) {
        zmq_ctx_term(c->ctx);
    }
    free(c->sock);
    free(c->it);
    memset(c, 0, sizeof *c);
}

static vg_err
s_conns_open(s_conns *c, const vb_net *net, size_t from, size_t n, vg_reason *why)
{
    memset(c, 0, sizeof *c);
    c->ctx = zmq_ctx_new();
    c->sock = calloc(n ? n : 1, sizeof *c->sock);
    c->it = calloc(n ? n : 1, sizeof *c->it);
    if (c->ctx == NULL || c->sock == NULL || c->it == NULL) {
        s_conns_close(c);
        return vg_reason_set(why, VG_ERR_NOMEM, "cannot hold %zu connections", n);
    }
    c->n = n;
    c->version = vg_netdoc_version(net->doc);
    for (size_t i = 0; i < n; i++) {
        vg_keyset *keys = NULL;
        vg_err rc = s_wide_keys(&keys, net, from + i, why);
        if (rc != VG_OK) {
            s_conns_close(c);
            return rc;
        }
        c->sock[i] = vb_dealer(c->ctx, net, keys);
        vg_keyset_destroy(&keys);
        c->it[i] = (zmq_pollitem_t){c->sock[i], 0, ZMQ_POLLIN, 0};
        vb_hello(c->sock[i], true, c->version);
    }
    return VG_OK;
}

/* ---- idle connections ---------------------------------------------------------------- */

struct vb_idle {
    s_conns c;        /* the connections */
    pthread_t thread; /* keeps them alive */
    atomic_bool stop; /* told to end */
};

static void *
s_idle_main(void *arg)
{
    vb_idle *idle = arg;
    int64_t keepalive = vb_mono_ns();
    while (!atomic_load(&idle->stop)) {
        zmq_poll(idle->c.it, (int)idle->c.n, 100);
        for (size_t i = 0; i < idle->c.n; i++) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            while (zmq_msg_recv(&m, idle->c.sock[i], ZMQ_DONTWAIT) >= 0) {
            }
            zmq_msg_close(&m);
        }
        if (vb_mono_ns() - keepalive > (int64_t)S_KEEPALIVE_MS * 1000000) {
            for (size_t i = 0; i < idle->c.n; i++) {
                vb_hello(idle->c.sock[i], true, idle->c.version);
            }
            keepalive = vb_mono_ns();
        }
    }
    return NULL;
}

vg_err
vb_idle_start(vb_idle **out, const vb_net *net, size_t from, size_t n, vg_reason *why)
{
    vb_idle *idle = calloc(1, sizeof *idle);
    if (idle == NULL) {
        return VG_ERR_NOMEM;
    }
    vg_err rc = s_conns_open(&idle->c, net, from, n, why);
    if (rc == VG_OK && pthread_create(&idle->thread, NULL, s_idle_main, idle) != 0) {
        s_conns_close(&idle->c);
        rc = vg_reason_set(why, VG_ERR_IO, "cannot start the idle connections' thread");
    }
    if (rc != VG_OK) {
        free(idle);
        return rc;
    }
    *out = idle;
    return VG_OK;
}

void
vb_idle_stop(vb_idle **i_p)
{
    if (i_p == NULL || *i_p == NULL) {
        return;
    }
    atomic_store(&(*i_p)->stop, true);
    pthread_join((*i_p)->thread, NULL);
    s_conns_close(&(*i_p)->c);
    free(*i_p);
    *i_p = NULL;
}

/* ---- the alerts and the receipts ------------------------------------------------------ */

typedef struct s_set {
    size_t n;                     /* alerts */
    uint8_t tag[8];               /* alert id prefix */
    uint8_t **frame;              /* packed ClientFrame{Publish}, request_id = i + 1 */
    size_t *frame_len;            /* their lengths */
    uint8_t (*hash)[VG_HASH_LEN]; /* envelope hashes */
    size_t envelope_bytes;        /* the first envelope's size */
    vg_strlist recipients;        /* what the policy requires, the same for all */
} s_set;

static void
s_alert_id(uint8_t id[VG_ALERT_ID_LEN], const uint8_t tag[8], size_t i)
{
    memcpy(id, tag, 8);
    for (int b = 0; b < 8; b++) {
        id[8 + b] = (uint8_t)((uint64_t)i >> (56 - 8 * b));
    }
}

static size_t
s_alert_index(const s_set *set, const uint8_t *id, size_t len)
{
    if (len != VG_ALERT_ID_LEN || memcmp(id, set->tag, 8) != 0) {
        return SIZE_MAX;
    }
    uint64_t i = 0;
    for (int b = 0; b < 8; b++) {
        i = (i << 8) | id[8 + b];
    }
    return i < set->n ? (size_t)i : SIZE_MAX;
}

typedef struct s_sealer {
    s_set *set;         /* where they go */
    const vb_net *net;  /* keys and document */
    size_t from, to;    /* range */
    uint64_t seq0;      /* sequence of alert 0 */
    int64_t created_ms; /* one creation time */
    double seconds;     /* spent sealing */
    vg_err rc;          /* first failure */
    vg_reason why;      /* and why */
} s_sealer;

static vg_err
s_seal_one(s_sealer *s, size_t i)
{
    vg_alert a = {0};
    vg_err rc = vg_strlist_add(&a.categories, VB_WIDE_CATEGORY);
    a.recipients = s->set->recipients; /* borrowed: not freed here */
    a.severity = VG_SEV_CRITICAL;
    a.urgency = VG_URG_IMMEDIATE;
    a.event = "Missing child";
    a.headline = "Missing child: national alert";
    a.description = "Girl, 12, last seen at the bus station at 16:40; may be travelling with an "
                    "adult man in a grey hatchback.";
    a.instruction = "Check CCTV, licensed vehicles and known addresses; report sightings";
    uint8_t id[VG_ALERT_ID_LEN];
    s_alert_id(id, s->set->tag, i);
    vg_seal_params p = {.doc = s->net->doc,
                        .sender = vb_sender,
                        .keys = s->net->sender_keys,
                        .sequence = s->seq0 + i,
                        .created_ms = s->created_ms,
                        .alert_id = id};
    uint8_t *env = NULL;
    size_t len = 0;
    int64_t t0 = vb_mono_ns();
    rc = rc == VG_OK ? vg_envelope_seal(&env, &len, NULL, &a, &p, &s->why) : rc;
    s->seconds += (double)(vb_mono_ns() - t0) / 1e9;
    vg_strlist_fini(&a.categories);
    Vigil__SignedEnvelope *se = rc == VG_OK ? vigil__signed_envelope__unpack(NULL, len, env) : NULL;
    if (rc == VG_OK && se == NULL) {
        rc = VG_ERR_MALFORMED;
    }
    if (se != NULL) {
        vg_hash(s->set->hash[i], se->body.data, se->body.len);
        vigil__signed_envelope__free_unpacked(se, NULL);
        Vigil__Publish pub = VIGIL__PUBLISH__INIT;
        pub.signed_envelope.data = env;
        pub.signed_envelope.len = len;
        Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
        f.request_id = i + 1;
        f.kind_case = VIGIL__CLIENT_FRAME__KIND_PUBLISH;
        f.publish = &pub;
        s->set->frame_len[i] = vigil__client_frame__get_packed_size(&f);
        s->set->frame[i] = malloc(s->set->frame_len[i]);
        rc = s->set->frame[i] != NULL ? VG_OK : VG_ERR_NOMEM;
        if (rc == VG_OK) {
            vigil__client_frame__pack(&f, s->set->frame[i]);
        }
        s->set->envelope_bytes = i == 0 ? len : s->set->envelope_bytes;
    }
    free(env);
    return rc;
}

static void *
s_seal_range(void *arg)
{
    s_sealer *s = arg;
    for (size_t i = s->from; i < s->to && s->rc == VG_OK; i++) {
        s->rc = s_seal_one(s, i);
    }
    return NULL;
}

static void
s_set_free(s_set *set)
{
    for (size_t i = 0; set->frame != NULL && i < set->n; i++) {
        free(set->frame[i]);
    }
    free(set->frame);
    free(set->frame_len);
    free(set->hash);
    vg_strlist_fini(&set->recipients);
    memset(set, 0, sizeof *set);
}

/* n alerts to what the policy requires of VB_WIDE_CATEGORY (timed: its
 * evaluation), each sealed to all of them (timed: *seal_ms per alert). */
static vg_err
s_set_make(s_set *set, vb_net *net, size_t n, double *seal_ms, vg_reason *why)
{
    memset(set, 0, sizeof *set);
    set->n = n;
    randombytes_buf(set->tag, sizeof set->tag);
    set->frame = calloc(n, sizeof *set->frame);
    set->frame_len = calloc(n, sizeof *set->frame_len);
    set->hash = calloc(n, sizeof *set->hash);
    const char *cat = VB_WIDE_CATEGORY;
    vg_err rc = set->frame && set->frame_len && set->hash ? VG_OK : VG_ERR_NOMEM;
    rc = rc == VG_OK
             ? vg_netdoc_required(net->doc, &cat, 1, VG_SEV_CRITICAL, vb_sender, &set->recipients)
             : rc;
    s_sealer s[S_SEAL_THREADS];
    pthread_t th[S_SEAL_THREADS];
    for (int t = 0; rc == VG_OK && t < S_SEAL_THREADS; t++) {
        s[t] = (s_sealer){.set = set,
                          .net = net,
                          .from = n * (size_t)t / S_SEAL_THREADS,
                          .to = n * (size_t)(t + 1) / S_SEAL_THREADS,
                          .seq0 = net->next_seq,
                          .created_ms = vb_wall_ms()};
        pthread_create(&th[t], NULL, s_seal_range, &s[t]);
    }
    double secs = 0;
    for (int t = 0; rc == VG_OK && t < S_SEAL_THREADS; t++) {
        pthread_join(th[t], NULL);
        secs += s[t].seconds;
        if (s[t].rc != VG_OK && rc == VG_OK) {
            rc = vg_reason_set(why, s[t].rc, "sealing: %s", s[t].why.text);
        }
    }
    net->next_seq += n;
    *seal_ms = secs * 1000.0 / (double)n;
    if (rc != VG_OK) {
        s_set_free(set);
    }
    return rc == VG_OK || why->text[0] ? rc : vg_reason_set(why, rc, "cannot make the alerts");
}

/* Pre-signed DELIVERED receipts: agency c's for alert i at [c * n + i]. */
static vg_err
s_receipts_make(uint8_t ***frames, size_t **lens, const vb_net *net, const s_set *set,
                size_t n_conn, vg_reason *why)
{
    size_t total = n_conn * set->n;
    *frames = calloc(total, sizeof **frames);
    *lens = calloc(total, sizeof **lens);
    if (*frames == NULL || *lens == NULL) {
        return vg_reason_set(why, VG_ERR_NOMEM, "cannot hold %zu receipts", total);
    }
    for (size_t c = 0; c < n_conn; c++) {
        vg_keyset *keys = NULL;
        char id[64];
        vb_wide_agency(id, sizeof id, c);
        vg_err rc = s_wide_keys(&keys, net, c, why);
        for (size_t i = 0; rc == VG_OK && i < set->n; i++) {
            vg_receipt_item item;
            s_alert_id(item.alert_id, set->tag, i);
            memcpy(item.envelope_hash, set->hash[i], VG_HASH_LEN);
            vg_receipt_spec spec = {.agency = id,
                                    .kind = VG_RECEIPT_DELIVERED,
                                    .created_ms = vb_wall_ms(),
                                    .items = &item,
                                    .n_items = 1,
                                    .network_version = vg_netdoc_version(net->doc)};
            uint8_t *bytes = NULL;
            size_t len = 0;
            rc = vg_receipt_sign(&bytes, &len, &spec, keys, why);
            if (rc != VG_OK) {
                break;
            }
            Vigil__SubmitReceipt sr = VIGIL__SUBMIT_RECEIPT__INIT;
            sr.signed_receipt.data = bytes;
            sr.signed_receipt.len = len;
            Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
            f.request_id = i + 1;
            f.kind_case = VIGIL__CLIENT_FRAME__KIND_RECEIPT;
            f.receipt = &sr;
            size_t k = c * set->n + i;
            (*lens)[k] = vigil__client_frame__get_packed_size(&f);
            (*frames)[k] = malloc((*lens)[k]);
            if ((*frames)[k] != NULL) {
                vigil__client_frame__pack(&f, (*frames)[k]);
            }
            free(bytes);
            rc = (*frames)[k] != NULL ? VG_OK : VG_ERR_NOMEM;
        }
        vg_keyset_destroy(&keys);
        if (rc != VG_OK) {
            return rc;
        }
    }
    return VG_OK;
}

/* ---- the phase ------------------------------------------------------------------------ */

typedef struct s_run {
    vb_net *net;              /* the broker under test */
    const vb_wide_spec *spec; /* what to run */
    const s_set *set;         /* what to send */
    uint8_t **rc_frame;       /* receipts, [c * n + i] */
    size_t *rc_len;           /* their lengths */
    int64_t deadline_ns;      /* everything stops here */
    int64_t t_start;          /* first publish */
    int64_t t_end;            /* last receipt confirmed */
    int64_t *t_pub, *t_conf;  /* per alert */
    int64_t *t_del;           /* per alert: the last connected agency's first delivery */
    size_t *n_del;            /* per alert: connected agencies that have it */
    atomic_bool ready;        /* the receivers said Hello */
    atomic_bool stop;         /* give up */
    atomic_size_t rejected;   /* confirms not accepted */
    size_t bad;               /* deliveries that failed the check (receiver thread) */
    bool received_all;        /* every receipt confirmed (receiver thread) */
} s_run;

static void *
s_sender(void *arg)
{
    s_run *r = arg;
    void *ctx = zmq_ctx_new();
    void *sock = vb_dealer(ctx, r->net, r->net->sender_keys);
    vb_hello(sock, false, vg_netdoc_version(r->net->doc));
    while (!atomic_load(&r->ready) && vb_mono_ns() < r->deadline_ns) {
        vb_sleep_ms(5);
    }
    vb_sleep_ms(500); /* the receivers' Hellos reach the broker first */
    r->t_start = vb_mono_ns();
    int64_t keepalive = r->t_start;
    size_t sent = 0, confirmed = 0, n = r->set->n;
    while (confirmed < n && !atomic_load(&r->stop) && vb_mono_ns() < r->deadline_ns) {
        int64_t now = vb_mono_ns();
        size_t allowed = (size_t)((double)(now - r->t_start) * r->spec->rate / 1e9) + 1;
        for (allowed = allowed < n ? allowed : n; sent < allowed; sent++) {
            r->t_pub[sent] = vb_mono_ns();
            zmq_send(sock, r->set->frame[sent], r->set->frame_len[sent], 0);
        }
        if (now - keepalive > (int64_t)S_KEEPALIVE_MS * 1000000) {
            vb_hello(sock, false, vg_netdoc_version(r->net->doc));
            keepalive = now;
        }
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
        zmq_poll(&it, 1, 1);
        zmq_msg_t m;
        zmq_msg_init(&m);
        while (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) >= 0) {
            Vigil__BrokerFrame *f =
                vigil__broker_frame__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
            uint64_t id = f != NULL ? f->request_id : 0;
            if (f != NULL && f->kind_case == VIGIL__BROKER_FRAME__KIND_CONFIRM && id >= 1 &&
                id <= n && r->t_conf[id - 1] == 0) {
                r->t_conf[id - 1] = vb_mono_ns();
                confirmed++;
                if (f->confirm->status != VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED) {
                    atomic_fetch_add(&r->rejected, 1);
                }
            }
            vigil__broker_frame__free_unpacked(f, NULL);
        }
        zmq_msg_close(&m);
    }
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return NULL;
}

/* One delivery to connection c: checked against what was sealed, timed,
 * receipted. */
static void
s_on_deliver(s_run *r, size_t c, uint8_t *seen, void *sock, const Vigil__Deliver *d)
{
    const ProtobufCBinaryData *b = &d->signed_envelope;
    Vigil__SignedEnvelope *se = vigil__signed_envelope__unpack(NULL, b->len, b->data);
    Vigil__EnvelopeBody *body =
        se ? vigil__envelope_body__unpack(NULL, se->body.len, se->body.data) : NULL;
    size_t i = body ? s_alert_index(r->set, body->alert_id.data, body->alert_id.len) : SIZE_MAX;
    uint8_t h[VG_HASH_LEN];
    if (i != SIZE_MAX) {
        vg_hash(h, se->body.data, se->body.len);
        i = sodium_memcmp(h, r->set->hash[i], VG_HASH_LEN) == 0 ? i : SIZE_MAX;
    }
    vigil__envelope_body__free_unpacked(body, NULL);
    vigil__signed_envelope__free_unpacked(se, NULL);
    if (i == SIZE_MAX) {
        r->bad++;
        return;
    }
    if (!seen[c * r->set->n + i]) {
        seen[c * r->set->n + i] = 1;
        r->t_del[i] = vb_mono_ns();
        r->n_del[i]++;
    }
    size_t k = c * r->set->n + i;
    zmq_send(sock, r->rc_frame[k], r->rc_len[k], 0); /* a redelivery is receipted again */
}

static void *
s_receiver(void *arg)
{
    s_run *r = arg;
    s_conns c;
    vg_reason why = {{0}};
    size_t n = r->set->n, nc = r->spec->n_connected;
    uint8_t *seen = calloc(nc * n, 1), *done = calloc(nc * n, 1);
    if (seen == NULL || done == NULL || s_conns_open(&c, r->net, 0, nc, &why) != VG_OK) {
        atomic_store(&r->stop, true);
        free(seen);
        free(done);
        return NULL;
    }
    atomic_store(&r->ready, true);
    size_t n_done = 0;
    int64_t keepalive = vb_mono_ns();
    while (n_done < nc * n && !atomic_load(&r->stop) && vb_mono_ns() < r->deadline_ns) {
        zmq_poll(c.it, (int)c.n, 50);
        for (size_t k = 0; k < c.n; k++) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            while (zmq_msg_recv(&m, c.sock[k], ZMQ_DONTWAIT) >= 0) {
                Vigil__BrokerFrame *f =
                    vigil__broker_frame__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
                if (f != NULL && f->kind_case == VIGIL__BROKER_FRAME__KIND_DELIVER) {
                    s_on_deliver(r, k, seen, c.sock[k], f->deliver);
                } else if (f != NULL && f->kind_case == VIGIL__BROKER_FRAME__KIND_CONFIRM &&
                           f->request_id >= 1 && f->request_id <= n &&
                           !done[k * n + f->request_id - 1]) {
                    done[k * n + f->request_id - 1] = 1;
                    n_done++;
                    r->t_end = vb_mono_ns();
                    if (f->confirm->status != VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED &&
                        f->confirm->status != VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE) {
                        atomic_fetch_add(&r->rejected, 1);
                    }
                }
                vigil__broker_frame__free_unpacked(f, NULL);
            }
            zmq_msg_close(&m);
        }
        if (vb_mono_ns() - keepalive > (int64_t)S_KEEPALIVE_MS * 1000000) {
            for (size_t k = 0; k < c.n; k++) {
                vb_hello(c.sock[k], true, c.version);
            }
            keepalive = vb_mono_ns();
        }
    }
    r->received_all = n_done == nc * n;
    s_conns_close(&c);
    free(seen);
    free(done);
    return NULL;
}

static int
s_cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

static vb_pct
s_pct(int64_t *v, size_t n)
{
    vb_pct p = {.n = n};
    if (n > 0) {
        qsort(v, n, sizeof *v, s_cmp_i64);
        p.p50 = (double)v[n / 2] / 1e6;
        p.p99 = (double)v[n * 99 / 100] / 1e6;
        p.p999 = (double)v[n * 999 / 1000] / 1e6;
        p.max = (double)v[n - 1] / 1e6;
    }
    return p;
}

static void
s_summarise(vb_wide_result *out, s_run *r)
{
    size_t n = r->set->n, nc = 0, nd = 0;
    int64_t *tmp = malloc(n * sizeof *tmp);
    if (tmp == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (r->t_conf[i] != 0) {
            tmp[nc++] = r->t_conf[i] - r->t_pub[i];
        }
    }
    out->confirm = s_pct(tmp, nc);
    for (size_t i = 0; i < n; i++) {
        if (r->n_del[i] == r->spec->n_connected) {
            tmp[nd++] = r->t_del[i] - r->t_pub[i];
        }
    }
    out->delivered = s_pct(tmp, nd);
    free(tmp);
    out->seconds = (double)(r->t_end - r->t_start) / 1e9;
    out->complete = nc == n && nd == n && r->received_all && !atomic_load(&r->stop);
    out->rejected = atomic_load(&r->rejected);
    out->bad = r->bad;
}

static vg_err
s_run_phase(vb_wide_result *out, vb_net *net, const vb_wide_spec *spec, s_run *r)
{
    size_t n = r->set->n;
    r->t_pub = calloc(n, sizeof(int64_t));
    r->t_conf = calloc(n, sizeof(int64_t));
    r->t_del = calloc(n, sizeof(int64_t));
    r->n_del = calloc(n, sizeof(size_t));
    vg_err rc = r->t_pub && r->t_conf && r->t_del && r->n_del ? VG_OK : VG_ERR_NOMEM;
    vb_rows before, after;
    vb_proc p0 = {0}, p1 = {0}, p = {0};
    if (rc == VG_OK) {
        vb_store_rows(net, &before);
        vb_proc_reset_hwm(net->pid);
        vb_proc_read(net->pid, &p0);
        r->deadline_ns = vb_mono_ns() + spec->timeout_ms * 1000000;
        pthread_t ts, tr;
        pthread_create(&tr, NULL, s_receiver, r);
        pthread_create(&ts, NULL, s_sender, r);
        pthread_join(ts, NULL);
        pthread_join(tr, NULL);
        vb_proc_read(net->pid, &p1);
        s_summarise(out, r);
        out->cpu_per_alert_ms = (p1.cpu_s - p0.cpu_s) * 1000.0 / (double)n;
        out->hwm_kib = vb_proc_read(net->pid, &p) ? p.hwm_kib : 0;
        vb_store_rows(net, &after);
        out->rows_per_alert =
            vb_rows_per_alert(&before, &after, out->rows_by_kind, sizeof out->rows_by_kind);
    }
    free(r->t_pub);
    free(r->t_conf);
    free(r->t_del);
    free(r->n_del);
    return rc;
}

vg_err
vb_wide_phase(vb_wide_result *out, vb_net *net, const vb_wide_spec *spec, vg_reason *why)
{
    memset(out, 0, sizeof *out);
    s_set set;
    vg_err rc = s_set_make(&set, net, spec->n_alerts, &out->seal_ms, why);
    if (rc != VG_OK) {
        return rc;
    }
    out->recipients = set.recipients.n;
    out->envelope_bytes = set.envelope_bytes;
    s_run r = {.net = net, .spec = spec, .set = &set};
    size_t total = spec->n_connected * set.n;
    rc = s_receipts_make(&r.rc_frame, &r.rc_len, net, &set, spec->n_connected, why);
    if (rc == VG_OK) {
        rc = s_run_phase(out, net, spec, &r);
    }
    for (size_t k = 0; r.rc_frame != NULL && k < total; k++) {
        free(r.rc_frame[k]);
    }
    free(r.rc_frame);
    free(r.rc_len);
    s_set_free(&set);
    return rc;
}
