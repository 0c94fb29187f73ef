/*
 * vb_load.c — see vb_load.h.
 */
#define _GNU_SOURCE

#include "vb_load.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "vigil.pb-c.h"
#include "vigil/envelope.h"
#include "vigil/receipt.h"

#define S_THREADS_MAX 8
#define S_KEEPALIVE_MS 2000 /* well inside VG_KEEPALIVE_MS */
#define S_SAMPLE_MS 100     /* broker /proc sampling while a phase runs */

static const char *const s_categories[] = {"taxi", "cse", "missing-child", "online-harm"};

/* ---- sets ---------------------------------------------------------------------------- */

static void
s_alert_id(uint8_t id[VG_ALERT_ID_LEN], const uint8_t tag[VB_TAG_LEN], size_t i)
{
    memcpy(id, tag, VB_TAG_LEN);
    for (int b = 0; b < 8; b++) {
        id[VB_TAG_LEN + b] = (uint8_t)((uint64_t)i >> (56 - 8 * b));
    }
}

/* The set index an alert id names, or SIZE_MAX when it is not of this set. */
static size_t
s_alert_index(const vb_set *set, const uint8_t *id, size_t len)
{
    if (len != VG_ALERT_ID_LEN || memcmp(id, set->tag, VB_TAG_LEN) != 0) {
        return SIZE_MAX;
    }
    uint64_t i = 0;
    for (int b = 0; b < 8; b++) {
        i = (i << 8) | id[VB_TAG_LEN + b];
    }
    return i < set->n ? (size_t)i : SIZE_MAX;
}

/* Packs ClientFrame{request_id, Publish{env}} into set slot i and hashes the body. */
static vg_err
s_set_store(vb_set *set, size_t i, const uint8_t *env, size_t env_len)
{
    Vigil__SignedEnvelope *se = vigil__signed_envelope__unpack(NULL, env_len, env);
    if (se == NULL) {
        return VG_ERR_MALFORMED;
    }
    vg_hash(set->hash[i], se->body.data, se->body.len);
    vigil__signed_envelope__free_unpacked(se, NULL);
    Vigil__Publish p = VIGIL__PUBLISH__INIT;
    p.signed_envelope.data = (uint8_t *)env;
    p.signed_envelope.len = env_len;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = i + 1;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_PUBLISH;
    f.publish = &p;
    set->frame_len[i] = vigil__client_frame__get_packed_size(&f);
    set->frame[i] = malloc(set->frame_len[i]);
    if (set->frame[i] == NULL) {
        return VG_ERR_NOMEM;
    }
    vigil__client_frame__pack(&f, set->frame[i]);
    return VG_OK;
}

typedef struct s_sealer {
    vb_set *set;        /* where to put them */
    const vb_net *net;  /* keys and document */
    size_t from, to;    /* index range */
    uint64_t seq0;      /* sequence of index 0 */
    int64_t created_ms; /* one creation time for all */
    const char *text;   /* the 1 KiB description */
    vg_err rc;          /* first failure */
    vg_reason why;      /* and why */
} s_sealer;

static vg_err
s_seal_one(s_sealer *s, size_t i, uint8_t **env, size_t *env_len)
{
    vg_alert a = {0};
    vg_err rc = VG_OK;
    for (size_t c = 0; c < 2 + i % 3 && rc == VG_OK; c++) { /* 2-4 categories */
        rc = vg_strlist_add(&a.categories, s_categories[c]);
    }
    for (size_t r = 0; r < VB_RECIPIENTS && rc == VG_OK; r++) {
        rc = vg_strlist_add(&a.recipients, vb_recipients[r]);
    }
    a.severity = VG_SEV_HIGH;
    a.urgency = VG_URG_IMMEDIATE;
    a.event = "Child sexual exploitation";
    a.headline = "Vehicle seen repeatedly collecting children outside school";
    a.description = (char *)s->text;
    a.instruction = "Check licensing record and share intelligence";
    uint8_t id[VG_ALERT_ID_LEN];
    s_alert_id(id, s->set->tag, i);
    vg_seal_params p = {.doc = s->net->doc,
                        .sender = vb_sender,
                        .keys = s->net->sender_keys,
                        .sequence = s->seq0 + i,
                        .created_ms = s->created_ms,
                        .alert_id = id};
    if (rc == VG_OK) {
        rc = vg_envelope_seal(env, env_len, NULL, &a, &p, &s->why);
    }
    vg_strlist_fini(&a.categories);
    vg_strlist_fini(&a.recipients);
    return rc;
}

static void *
s_seal_range(void *arg)
{
    s_sealer *s = arg;
    for (size_t i = s->from; i < s->to && s->rc == VG_OK; i++) {
        uint8_t *env = NULL;
        size_t len = 0;
        s->rc = s_seal_one(s, i, &env, &len);
        if (s->rc == VG_OK) {
            s->rc = s_set_store(s->set, i, env, len);
            s->set->envelope_bytes = i == 0 ? len : s->set->envelope_bytes;
        }
        free(env);
    }
    return NULL;
}

/* Copies of body 0 with id, sequence and time of index i, re-signed. */
static vg_err
s_clone_one(s_sealer *s, Vigil__EnvelopeBody *body, size_t i)
{
    uint8_t id[VG_ALERT_ID_LEN];
    s_alert_id(id, s->set->tag, i);
    body->alert_id.data = id;
    body->alert_id.len = sizeof id;
    body->sequence = s->seq0 + i;
    size_t blen = vigil__envelope_body__get_packed_size(body);
    uint8_t *bbytes = malloc(blen);
    uint8_t sig[VG_SIGNATURE_LEN];
    vg_err rc = bbytes ? VG_OK : VG_ERR_NOMEM;
    if (rc == VG_OK) {
        vigil__envelope_body__pack(body, bbytes);
        rc = vg_sign(sig, s->net->sender_keys, VG_DOMAIN_ENVELOPE, bbytes, blen);
    }
    Vigil__SignedEnvelope se = VIGIL__SIGNED_ENVELOPE__INIT;
    se.body.data = bbytes;
    se.body.len = blen;
    se.signature.data = sig;
    se.signature.len = sizeof sig;
    se.signer = (char *)vb_sender;
    size_t elen = vigil__signed_envelope__get_packed_size(&se);
    uint8_t *env = rc == VG_OK ? malloc(elen) : NULL;
    if (env != NULL) {
        vigil__signed_envelope__pack(&se, env);
        rc = s_set_store(s->set, i, env, elen);
    } else if (rc == VG_OK) {
        rc = VG_ERR_NOMEM;
    }
    free(env);
    free(bbytes);
    return rc;
}

static void *
s_clone_range(void *arg)
{
    s_sealer *s = arg;
    size_t len = 0;
    uint8_t *env0 = NULL;
    s->rc = s_seal_one(s, 0, &env0, &len); /* each thread its own body to edit */
    Vigil__SignedEnvelope *se =
        s->rc == VG_OK ? vigil__signed_envelope__unpack(NULL, len, env0) : NULL;
    Vigil__EnvelopeBody *body =
        se ? vigil__envelope_body__unpack(NULL, se->body.len, se->body.data) : NULL;
    if (body == NULL && s->rc == VG_OK) {
        s->rc = VG_ERR_MALFORMED;
    }
    if (body != NULL) {
        ProtobufCBinaryData saved = body->alert_id; /* freed by free_unpacked */
        for (size_t i = s->from; i < s->to && s->rc == VG_OK; i++) {
            s->rc = s_clone_one(s, body, i);
        }
        body->alert_id = saved;
        s->set->envelope_bytes = s->from == 0 ? len : s->set->envelope_bytes;
    }
    vigil__envelope_body__free_unpacked(body, NULL);
    vigil__signed_envelope__free_unpacked(se, NULL);
    free(env0);
    return NULL;
}

static vg_err
s_set_alloc(vb_set **out, size_t n, bool sealed)
{
    vb_set *set = calloc(1, sizeof *set);
    if (set == NULL) {
        return VG_ERR_NOMEM;
    }
    set->n = n;
    set->sealed = sealed;
    randombytes_buf(set->tag, sizeof set->tag);
    set->frame = calloc(n, sizeof *set->frame);
    set->frame_len = calloc(n, sizeof *set->frame_len);
    set->hash = calloc(n, sizeof *set->hash);
    if (set->frame == NULL || set->frame_len == NULL || set->hash == NULL) {
        vb_set_destroy(&set);
        return VG_ERR_NOMEM;
    }
    *out = set;
    return VG_OK;
}

vg_err
vb_set_new(vb_set **out, vb_net *net, size_t n, bool sealed, int threads, vg_reason *why)
{
    vb_set *set = NULL;
    if (n == 0 || s_set_alloc(&set, n, sealed) != VG_OK) {
        return vg_reason_set(why, VG_ERR_NOMEM, "cannot hold %zu alerts", n);
    }
    char text[VB_DESCRIPTION_BYTES + 1];
    for (size_t i = 0; i < VB_DESCRIPTION_BYTES; i++) {
        text[i] = "Seen at the school gate; registration noted by staff. "[i % 54];
    }
    text[VB_DESCRIPTION_BYTES] = '\0';
    int nt = threads < 1 ? 1 : threads > S_THREADS_MAX ? S_THREADS_MAX : threads;
    s_sealer s[S_THREADS_MAX];
    pthread_t th[S_THREADS_MAX];
    for (int t = 0; t < nt; t++) {
        s[t] = (s_sealer){.set = set,
                          .net = net,
                          .from = n * (size_t)t / (size_t)nt,
                          .to = n * (size_t)(t + 1) / (size_t)nt,
                          .seq0 = net->next_seq,
                          .created_ms = vb_wall_ms(),
                          .text = text};
        pthread_create(&th[t], NULL, sealed ? s_seal_range : s_clone_range, &s[t]);
    }
    vg_err rc = VG_OK;
    for (int t = 0; t < nt; t++) {
        pthread_join(th[t], NULL);
        if (rc == VG_OK && s[t].rc != VG_OK) {
            rc = vg_reason_set(why, s[t].rc, "sealing: %s", s[t].why.text);
        }
    }
    net->next_seq += n;
    if (rc != VG_OK) {
        vb_set_destroy(&set);
        return rc;
    }
    *out = set;
    return VG_OK;
}

void
vb_set_destroy(vb_set **s_p)
{
    if (s_p == NULL || *s_p == NULL) {
        return;
    }
    vb_set *s = *s_p;
    for (size_t i = 0; s->frame != NULL && i < s->n; i++) {
        free(s->frame[i]);
    }
    free(s->frame);
    free(s->frame_len);
    free(s->hash);
    free(s);
    *s_p = NULL;
}

/* ---- receipts ------------------------------------------------------------------------ */

typedef struct s_signer {
    vb_receipts *r;        /* what to fill */
    const vb_set *set;     /* what the receipts name */
    const char *agency;    /* who signs */
    const vg_keyset *keys; /* with these */
    uint64_t version;      /* the network document's version */
    vg_err rc;             /* first failure */
} s_signer;

static vg_err
s_sign_receipt(s_signer *s, size_t c, vg_receipt_item *items)
{
    size_t from = c * s->r->batch, to = from + s->r->batch;
    to = to > s->set->n ? s->set->n : to;
    for (size_t i = from; i < to; i++) {
        s_alert_id(items[i - from].alert_id, s->set->tag, i);
        memcpy(items[i - from].envelope_hash, s->set->hash[i], VG_HASH_LEN);
    }
    vg_receipt_spec spec = {.agency = s->agency,
                            .kind = VG_RECEIPT_DELIVERED,
                            .created_ms = vb_wall_ms(),
                            .items = items,
                            .n_items = to - from,
                            .network_version = s->version};
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    vg_err rc = vg_receipt_sign(&bytes, &len, &spec, s->keys, &why);
    if (rc != VG_OK) {
        return rc;
    }
    Vigil__SubmitReceipt sr = VIGIL__SUBMIT_RECEIPT__INIT;
    sr.signed_receipt.data = bytes;
    sr.signed_receipt.len = len;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = c + 1;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_RECEIPT;
    f.receipt = &sr;
    s->r->frame_len[c] = vigil__client_frame__get_packed_size(&f);
    s->r->frame[c] = malloc(s->r->frame_len[c]);
    if (s->r->frame[c] != NULL) {
        vigil__client_frame__pack(&f, s->r->frame[c]);
    }
    free(bytes);
    return s->r->frame[c] ? VG_OK : VG_ERR_NOMEM;
}

static void *
s_sign_all(void *arg)
{
    s_signer *s = arg;
    vg_receipt_item *items = calloc(s->r->batch, sizeof *items);
    s->rc = items ? VG_OK : VG_ERR_NOMEM;
    for (size_t c = 0; c < s->r->n && s->rc == VG_OK; c++) {
        s->rc = s_sign_receipt(s, c, items);
    }
    free(items);
    return NULL;
}

vg_err
vb_receipts_new(vb_receipts *out[VB_RECIPIENTS], const vb_net *net, const vb_set *set, size_t batch,
                vg_reason *why)
{
    s_signer s[VB_RECIPIENTS];
    pthread_t th[VB_RECIPIENTS];
    batch = batch < 1 ? 1 : batch > VG_RECEIPT_ITEMS_MAX ? VG_RECEIPT_ITEMS_MAX : batch;
    memset(out, 0, sizeof(vb_receipts *) * VB_RECIPIENTS);
    for (size_t a = 0; a < VB_RECIPIENTS; a++) {
        vb_receipts *r = calloc(1, sizeof *r);
        out[a] = r;
        if (r != NULL) {
            r->batch = batch;
            r->n = (set->n + batch - 1) / batch;
            r->frame = calloc(r->n, sizeof *r->frame);
            r->frame_len = calloc(r->n, sizeof *r->frame_len);
        }
        if (r == NULL || r->frame == NULL || r->frame_len == NULL) {
            vb_receipts_destroy(out);
            return vg_reason_set(why, VG_ERR_NOMEM, "cannot hold the receipts");
        }
        s[a] =
            (s_signer){r, set, vb_recipients[a], net->keys[a], vg_netdoc_version(net->doc), VG_OK};
        pthread_create(&th[a], NULL, s_sign_all, &s[a]);
    }
    vg_err rc = VG_OK;
    for (size_t a = 0; a < VB_RECIPIENTS; a++) {
        pthread_join(th[a], NULL);
        rc = rc == VG_OK ? s[a].rc : rc;
    }
    if (rc != VG_OK) {
        vb_receipts_destroy(out);
        return vg_reason_set(why, rc, "signing receipts failed: %s", vg_err_code(rc));
    }
    return VG_OK;
}

void
vb_receipts_destroy(vb_receipts *r[VB_RECIPIENTS])
{
    for (size_t a = 0; a < VB_RECIPIENTS; a++) {
        if (r[a] == NULL) {
            continue;
        }
        for (size_t c = 0; r[a]->frame != NULL && c < r[a]->n; c++) {
            free(r[a]->frame[c]);
        }
        free(r[a]->frame);
        free(r[a]->frame_len);
        free(r[a]);
        r[a] = NULL;
    }
}

/* ---- one phase ----------------------------------------------------------------------- */

typedef struct s_run {
    vb_net *net;                   /* the broker under test */
    const vb_phase_spec *spec;     /* what to run */
    size_t n_online;               /* receivers */
    int64_t deadline_ns;           /* everything stops here */
    int64_t t_start;               /* first publish (sender thread) */
    int64_t *t_pub;                /* per alert: sent */
    int64_t *t_conf;               /* per alert: confirmed */
    int64_t *t_del[VB_RECIPIENTS]; /* per agency, per alert: first delivery */
    int64_t t_done[VB_RECIPIENTS]; /* per agency: last receipt confirmed */
    atomic_int ready;              /* receivers that said Hello */
    atomic_int finished;           /* threads done */
    atomic_bool stop;              /* give up */
    atomic_size_t rejected;        /* confirms not accepted */
    atomic_size_t bad;             /* deliveries that failed the check */
    atomic_size_t redelivered;     /* deliveries seen twice */
} s_run;

typedef struct s_receiver {
    s_run *run; /* the phase */
    size_t a;   /* which recipient */
} s_receiver;

void *
vb_dealer(void *ctx, const vb_net *net, const vg_keyset *keys)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, net->broker_pk, VG_CURVE_KEY_LEN);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, vg_keyset_curve_pk(keys), VG_CURVE_KEY_LEN);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, vg_keyset_curve_sk(keys), VG_CURVE_KEY_LEN);
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_connect(s, net->endpoint);
    return s;
}

void
vb_hello(void *sock, bool receive, uint64_t version)
{
    /* The version the client holds: an older one is answered with the current
     * document (hundreds of KiB in a national network) at every connection. */
    Vigil__Hello h = VIGIL__HELLO__INIT;
    h.agent = "vigil-bench";
    h.network_version = version;
    h.receive = receive;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_HELLO;
    f.hello = &h;
    uint8_t buf[128];
    size_t len = vigil__client_frame__get_packed_size(&f);
    if (len <= sizeof buf) {
        vigil__client_frame__pack(&f, buf);
        zmq_send(sock, buf, len, 0);
    }
}

/* The next BrokerFrame within wait_ms, or NULL. */
static Vigil__BrokerFrame *
s_recv(void *sock, long wait_ms)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, wait_ms) <= 0 || zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return NULL;
        }
    }
    Vigil__BrokerFrame *f = vigil__broker_frame__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
    zmq_msg_close(&m);
    return f;
}

static bool
s_confirm_ok(const Vigil__Confirm *c)
{
    return c->status == VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED ||
           c->status == VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE;
}

/* How many alerts the sender may have sent by now. */
static size_t
s_allowed(const s_run *r, size_t confirmed, int64_t now)
{
    const vb_phase_spec *sp = r->spec;
    size_t n = sp->set->n;
    size_t allowed = sp->rate > 0 ? (size_t)((double)(now - r->t_start) * sp->rate / 1e9) + 1
                                  : confirmed + sp->window;
    return allowed < n ? allowed : n;
}

static void *
s_sender(void *arg)
{
    s_run *r = arg;
    const vb_set *set = r->spec->set;
    void *ctx = zmq_ctx_new();
    void *sock = vb_dealer(ctx, r->net, r->net->sender_keys);
    vb_hello(sock, false, vg_netdoc_version(r->net->doc));
    while ((size_t)atomic_load(&r->ready) < r->n_online && vb_mono_ns() < r->deadline_ns) {
        vb_sleep_ms(1);
    }
    vb_sleep_ms(200); /* the receivers' Hellos reach the broker first */
    r->t_start = vb_mono_ns();
    int64_t keepalive = r->t_start;
    size_t sent = 0, confirmed = 0;
    while (confirmed < set->n && !atomic_load(&r->stop)) {
        int64_t now = vb_mono_ns();
        for (size_t allowed = s_allowed(r, confirmed, now); sent < allowed; sent++) {
            r->t_pub[sent] = vb_mono_ns();
            zmq_send(sock, set->frame[sent], set->frame_len[sent], 0);
        }
        if (now - keepalive > (int64_t)S_KEEPALIVE_MS * 1000000) {
            vb_hello(sock, false, vg_netdoc_version(r->net->doc));
            keepalive = now;
        }
        long wait = r->spec->rate > 0 && sent < set->n ? 1 : 100;
        for (Vigil__BrokerFrame *f = s_recv(sock, wait); f != NULL; f = s_recv(sock, 0)) {
            uint64_t id = f->request_id;
            if (f->kind_case == VIGIL__BROKER_FRAME__KIND_CONFIRM && id >= 1 && id <= set->n &&
                r->t_conf[id - 1] == 0) {
                r->t_conf[id - 1] = vb_mono_ns();
                confirmed++;
                if (f->confirm->status != VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED) {
                    atomic_fetch_add(&r->rejected, 1);
                }
            }
            vigil__broker_frame__free_unpacked(f, NULL);
        }
    }
    zmq_close(sock);
    zmq_ctx_term(ctx);
    atomic_fetch_add(&r->finished, 1);
    return NULL;
}

/* Checks one delivery as agency a would and returns its set index, or
 * SIZE_MAX when it is not one of ours or fails the check. open: verify the
 * signature and open the envelope (the agent's path); else only check the
 * body is byte-for-byte the one sealed (its BLAKE2b hash). */
static size_t
s_check_delivery(s_run *r, size_t a, const ProtobufCBinaryData *bytes)
{
    const vb_set *set = r->spec->set;
    size_t i = SIZE_MAX;
    if (r->spec->open) {
        vg_envelope *env = NULL;
        vg_alert alert = {0};
        vg_reason why = {{0}};
        if (vg_envelope_verify(&env, bytes->data, bytes->len, r->net->doc, &why) == VG_OK &&
            vg_envelope_open(&alert, env, vb_recipients[a], r->net->keys[a], &why) == VG_OK) {
            i = s_alert_index(set, vg_envelope_id(env), VG_ALERT_ID_LEN);
            if (i != SIZE_MAX && sodium_memcmp(vg_envelope_hash(env), set->hash[i], VG_HASH_LEN)) {
                i = SIZE_MAX;
            }
            vg_alert_fini(&alert);
        }
        vg_envelope_destroy(&env);
        return i;
    }
    Vigil__SignedEnvelope *se = vigil__signed_envelope__unpack(NULL, bytes->len, bytes->data);
    Vigil__EnvelopeBody *b =
        se ? vigil__envelope_body__unpack(NULL, se->body.len, se->body.data) : NULL;
    if (b != NULL) {
        uint8_t h[VG_HASH_LEN];
        i = s_alert_index(set, b->alert_id.data, b->alert_id.len);
        vg_hash(h, se->body.data, se->body.len);
        if (i != SIZE_MAX && sodium_memcmp(h, set->hash[i], VG_HASH_LEN) != 0) {
            i = SIZE_MAX;
        }
    }
    vigil__envelope_body__free_unpacked(b, NULL);
    vigil__signed_envelope__free_unpacked(se, NULL);
    return i;
}

typedef struct s_recv_state {
    uint8_t *seen;   /* per alert: delivered once */
    uint32_t *count; /* per receipt: alerts delivered */
    uint8_t *done;   /* per receipt: confirmed */
    size_t n_done;   /* receipts confirmed */
} s_recv_state;

static void
s_on_deliver(s_run *r, size_t a, s_recv_state *st, void *sock, const Vigil__Deliver *d)
{
    size_t i = s_check_delivery(r, a, &d->signed_envelope);
    if (i == SIZE_MAX) {
        atomic_fetch_add(&r->bad, 1);
        return;
    }
    if (st->seen[i]) {
        atomic_fetch_add(&r->redelivered, 1);
        return;
    }
    st->seen[i] = 1;
    r->t_del[a][i] = vb_mono_ns();
    const vb_receipts *rc = r->spec->receipts[a];
    size_t c = i / rc->batch;
    size_t len = c + 1 < rc->n ? rc->batch : r->spec->set->n - c * rc->batch;
    if (++st->count[c] == len) {
        zmq_send(sock, rc->frame[c], rc->frame_len[c], 0);
    }
}

static void
s_on_frame(s_run *r, size_t a, s_recv_state *st, void *sock, const Vigil__BrokerFrame *f)
{
    const vb_receipts *rc = r->spec->receipts[a];
    if (f->kind_case == VIGIL__BROKER_FRAME__KIND_DELIVER) {
        s_on_deliver(r, a, st, sock, f->deliver);
    } else if (f->kind_case == VIGIL__BROKER_FRAME__KIND_CONFIRM && f->request_id >= 1 &&
               f->request_id <= rc->n && !st->done[f->request_id - 1]) {
        st->done[f->request_id - 1] = 1;
        st->n_done++;
        r->t_done[a] = vb_mono_ns();
        if (!s_confirm_ok(f->confirm)) {
            atomic_fetch_add(&r->rejected, 1);
        }
    }
}

static void *
s_receiver_main(void *arg)
{
    s_receiver *me = arg;
    s_run *r = me->run;
    const vb_receipts *rc = r->spec->receipts[me->a];
    s_recv_state st = {calloc(r->spec->set->n, 1), calloc(rc->n, sizeof(uint32_t)),
                       calloc(rc->n, 1), 0};
    void *ctx = zmq_ctx_new();
    void *sock = vb_dealer(ctx, r->net, r->net->keys[me->a]);
    vb_hello(sock, true, vg_netdoc_version(r->net->doc));
    atomic_fetch_add(&r->ready, 1);
    int64_t keepalive = vb_mono_ns();
    while (st.seen && st.count && st.done && st.n_done < rc->n && !atomic_load(&r->stop)) {
        for (Vigil__BrokerFrame *f = s_recv(sock, 100); f != NULL; f = s_recv(sock, 0)) {
            s_on_frame(r, me->a, &st, sock, f);
            vigil__broker_frame__free_unpacked(f, NULL);
        }
        if (vb_mono_ns() - keepalive > (int64_t)S_KEEPALIVE_MS * 1000000) {
            vb_hello(sock, false,
                     vg_netdoc_version(
                         r->net->doc)); /* same connection: keeps it attached, no re-send */
            keepalive = vb_mono_ns();
        }
    }
    zmq_close(sock);
    zmq_ctx_term(ctx);
    free(st.seen);
    free(st.count);
    free(st.done);
    atomic_fetch_add(&r->finished, 1);
    return NULL;
}

static int
s_cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

/* Percentiles of n nanosecond samples (sorted in place), in ms. */
static vb_pct
s_pct(int64_t *v, size_t n)
{
    vb_pct p = {.n = n};
    if (n == 0) {
        return p;
    }
    qsort(v, n, sizeof *v, s_cmp_i64);
    p.p50 = (double)v[n / 2] / 1e6;
    p.p99 = (double)v[n * 99 / 100] / 1e6;
    p.p999 = (double)v[n * 999 / 1000] / 1e6;
    p.max = (double)v[n - 1] / 1e6;
    return p;
}

/* Latencies and throughput from the threads' timestamps. */
static void
s_summarise(vb_result *out, const s_run *r, int64_t *tmp)
{
    const vb_set *set = r->spec->set;
    size_t nc = 0, nd = 0;
    for (size_t i = 0; i < set->n; i++) {
        if (r->t_conf[i] != 0) {
            tmp[nc++] = r->t_conf[i] - r->t_pub[i];
        }
    }
    out->confirm = s_pct(tmp, nc);
    for (size_t i = 0; i < set->n; i++) {
        int64_t last = 0;
        bool all = true;
        for (size_t a = 0; a < VB_RECIPIENTS; a++) {
            if (r->spec->online[a]) {
                all = all && r->t_del[a][i] != 0;
                last = r->t_del[a][i] > last ? r->t_del[a][i] : last;
            }
        }
        if (all) {
            tmp[nd++] = last - r->t_pub[i];
        }
    }
    out->delivered = s_pct(tmp, nd);
    int64_t end = 0;
    for (size_t a = 0; a < VB_RECIPIENTS; a++) {
        end = r->spec->online[a] && r->t_done[a] > end ? r->t_done[a] : end;
    }
    out->complete = nc == set->n && nd == set->n && !atomic_load(&r->stop);
    out->seconds = (double)(end - r->t_start) / 1e9;
    out->alerts_per_s = out->seconds > 0 ? (double)set->n / out->seconds : 0;
    out->rejected = atomic_load(&r->rejected);
    out->bad_deliveries = atomic_load(&r->bad);
    out->redelivered = atomic_load(&r->redelivered);
}

/* Samples the broker until every thread finished or the deadline. */
static void
s_watch(s_run *r, int n_threads, vb_result *out)
{
    while (atomic_load(&r->finished) < n_threads) {
        if (vb_mono_ns() > r->deadline_ns) {
            atomic_store(&r->stop, true);
            break;
        }
        vb_proc p;
        if (vb_proc_read(r->net->pid, &p) && p.hwm_kib > out->hwm_kib) {
            out->hwm_kib = p.hwm_kib;
        }
        vb_sleep_ms(S_SAMPLE_MS);
    }
}

static void
s_run_free(s_run *r)
{
    free(r->t_pub);
    free(r->t_conf);
    for (size_t a = 0; a < VB_RECIPIENTS; a++) {
        free(r->t_del[a]);
    }
}

/* The machine's busy and total CPU time in clock ticks (/proc/stat), and
 * this process's CPU seconds (the clients and their I/O threads). */
typedef struct s_cpu {
    double busy, total; /* ticks */
    double self_s;      /* seconds */
} s_cpu;

static void
s_cpu_read(s_cpu *c)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = {0};
    if (f != NULL && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                            &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
        for (int i = 0; i < 8; i++) {
            c->total += (double)v[i];
        }
        c->busy = c->total - (double)v[3] - (double)v[4]; /* minus idle and iowait */
    }
    if (f != NULL) {
        fclose(f);
    }
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        c->self_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    }
}

vg_err
vb_phase_run(vb_result *out, vb_net *net, const vb_phase_spec *spec, vg_reason *why)
{
    size_t n = spec->set->n;
    s_run r = {.net = net, .spec = spec};
    r.t_pub = calloc(n, sizeof(int64_t));
    r.t_conf = calloc(n, sizeof(int64_t));
    bool ok = r.t_pub && r.t_conf && (!spec->open || spec->set->sealed);
    for (size_t a = 0; a < VB_RECIPIENTS; a++) {
        r.t_del[a] = calloc(n, sizeof(int64_t));
        ok = ok && r.t_del[a] != NULL;
        r.n_online += spec->online[a];
    }
    if (!ok) {
        s_run_free(&r);
        return vg_reason_set(why, VG_ERR_INVALID, "%s: out of memory or open on clones",
                             spec->name);
    }
    memset(out, 0, sizeof *out);
    vb_proc p0 = {0}, p1 = {0};
    s_cpu c0, c1;
    vb_proc_reset_hwm(net->pid);
    vb_proc_read(net->pid, &p0);
    s_cpu_read(&c0);
    r.deadline_ns = vb_mono_ns() + spec->timeout_ms * 1000000;
    pthread_t th[VB_RECIPIENTS + 1];
    s_receiver rv[VB_RECIPIENTS];
    int nt = 0;
    for (size_t a = 0; a < VB_RECIPIENTS; a++) {
        rv[a] = (s_receiver){&r, a};
        if (spec->online[a]) {
            pthread_create(&th[nt++], NULL, s_receiver_main, &rv[a]);
        }
    }
    pthread_create(&th[nt++], NULL, s_sender, &r);
    s_watch(&r, nt, out);
    for (int t = 0; t < nt; t++) {
        pthread_join(th[t], NULL);
    }
    vb_proc_read(net->pid, &p1);
    s_cpu_read(&c1);
    out->cpu_s = p1.cpu_s - p0.cpu_s;
    out->cpu_per_1k = out->cpu_s * 1000.0 / (double)n;
    out->clients_per_1k = (c1.self_s - c0.self_s) * 1000.0 / (double)n;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    out->machine_cores =
        c1.total > c0.total ? (c1.busy - c0.busy) / (c1.total - c0.total) * (double)ncpu : 0;
    out->rss_start_kib = p0.rss_kib;
    out->rss_end_kib = p1.rss_kib;
    out->hwm_kib = p1.hwm_kib > out->hwm_kib ? p1.hwm_kib : out->hwm_kib;
    int64_t *tmp = malloc(n * sizeof *tmp);
    if (tmp != NULL) {
        s_summarise(out, &r, tmp);
    }
    free(tmp);
    s_run_free(&r);
    out->store_pending = vb_store_pending(net);
    return VG_OK;
}
