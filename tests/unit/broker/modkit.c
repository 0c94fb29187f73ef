/* modkit.c — see modkit.h. */
#include "modkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/log.h"
#include "vigil/share.h"

/* ---- the clock ----------------------------------------------------------------- */

static int64_t
s_wall(void *ctx)
{
    return ((const mk_clock *)ctx)->wall;
}

static int64_t
s_mono(void *ctx)
{
    return ((const mk_clock *)ctx)->mono;
}

void
mk_clock_init(mk_clock *c)
{
    c->wall = MK_WALL0_MS;
    c->mono = MK_MONO0_MS;
    c->clock = (vg_clock){s_wall, s_mono, c};
}

void
mk_advance(mk_clock *c, int64_t ms)
{
    c->wall += ms;
    c->mono += ms;
}

/* ---- frames sent ------------------------------------------------------------------ */

static bool
s_same_rid(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    return a_len == b_len && memcmp(a, b, a_len) == 0;
}

static vg_err
s_send(void *ctx, const uint8_t *rid, size_t rid_len, const uint8_t *frame, size_t len)
{
    mk_sink *s = ctx;
    s->attempts++;
    assert_true(rid_len > 0 && rid_len <= VGB_RID_MAX);
    for (size_t i = 0; i < s->n_rules; i++) {
        if (s_same_rid(s->rules[i].rid, s->rules[i].rid_len, rid, rid_len)) {
            vg_err rc = s->rules[i].rc;
            if (s->rules[i].times > 0 && --s->rules[i].times == 0) {
                s->rules[i] = s->rules[--s->n_rules];
            }
            s->refused++;
            return rc;
        }
    }
    Vigil__BrokerFrame *f = vigil__broker_frame__unpack(NULL, len, frame);
    if (f == NULL) {
        fail_msg("a module sent a frame that does not parse (%zu bytes)", len);
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->frames = realloc(s->frames, s->cap * sizeof *s->frames);
        assert_non_null(s->frames);
    }
    mk_frame *k = &s->frames[s->n++];
    memcpy(k->rid, rid, rid_len);
    k->rid_len = rid_len;
    k->f = f;
    return VG_OK;
}

void
mk_sink_init(mk_sink *s)
{
    memset(s, 0, sizeof *s);
    s->out = (vgb_out){.router = NULL, .fn = s_send, .ctx = s};
}

void
mk_sink_clear(mk_sink *s)
{
    for (size_t i = 0; i < s->n; i++) {
        vigil__broker_frame__free_unpacked(s->frames[i].f, NULL);
    }
    s->n = 0;
    s->attempts = 0;
    s->refused = 0;
}

void
mk_sink_fini(mk_sink *s)
{
    mk_sink_clear(s);
    free(s->frames);
    memset(s, 0, sizeof *s);
}

void
mk_sink_refuse(mk_sink *s, const uint8_t *rid, size_t rid_len, vg_err rc)
{
    for (size_t i = 0; i < s->n_rules; i++) {
        if (s_same_rid(s->rules[i].rid, s->rules[i].rid_len, rid, rid_len)) {
            if (rc == VG_OK) {
                s->rules[i] = s->rules[--s->n_rules];
            } else {
                s->rules[i].rc = rc;
                s->rules[i].times = 0;
            }
            return;
        }
    }
    if (rc == VG_OK) {
        return;
    }
    assert_true(s->n_rules < MK_RULES_MAX);
    memcpy(s->rules[s->n_rules].rid, rid, rid_len);
    s->rules[s->n_rules].rid_len = rid_len;
    s->rules[s->n_rules].rc = rc;
    s->rules[s->n_rules].times = 0;
    s->n_rules++;
}

void
mk_sink_refuse_next(mk_sink *s, const uint8_t *rid, size_t rid_len, vg_err rc, size_t n)
{
    assert_true(rc != VG_OK && n > 0);
    mk_sink_refuse(s, rid, rid_len, rc);
    for (size_t i = 0; i < s->n_rules; i++) {
        if (s_same_rid(s->rules[i].rid, s->rules[i].rid_len, rid, rid_len)) {
            s->rules[i].times = n;
        }
    }
}

static bool
s_matches(const mk_frame *k, const uint8_t *rid, size_t rid_len, int kind)
{
    return (rid == NULL || s_same_rid(k->rid, k->rid_len, rid, rid_len)) &&
           (kind == 0 || (int)k->f->kind_case == kind);
}

size_t
mk_sink_count(const mk_sink *s, const uint8_t *rid, size_t rid_len, int kind)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        n += s_matches(&s->frames[i], rid, rid_len, kind);
    }
    return n;
}

const Vigil__BrokerFrame *
mk_sink_nth(const mk_sink *s, const uint8_t *rid, size_t rid_len, int kind, size_t i)
{
    for (size_t k = 0; k < s->n; k++) {
        if (s_matches(&s->frames[k], rid, rid_len, kind) && i-- == 0) {
            return s->frames[k].f;
        }
    }
    return NULL;
}

void
mk_rid(uint8_t out[MK_RID_LEN], uint32_t n)
{
    out[0] = 0x00;
    memcpy(out + 1, &n, sizeof n);
}

/* ---- the log ---------------------------------------------------------------------- */

#define S_LOG_MAX 4096

static char *s_log[S_LOG_MAX];
static size_t s_n_log;

static void
s_log_sink(vg_log_level level, const char *line, void *ctx)
{
    (void)level, (void)ctx;
    if (s_n_log < S_LOG_MAX) {
        s_log[s_n_log++] = strdup(line);
    }
    if (getenv("VG_MK_LOG") != NULL) {
        fprintf(stderr, "%s\n", line);
    }
}

void
mk_log_capture(void)
{
    mk_log_release();
    vg_log_set_sink(s_log_sink, NULL);
    vg_log_set_level(VG_LOG_DEBUG);
}

void
mk_log_release(void)
{
    vg_log_set_sink(NULL, NULL);
    for (size_t i = 0; i < s_n_log; i++) {
        free(s_log[i]);
    }
    s_n_log = 0;
}

/* The message id of a line is its fourth field ("time LEVEL component id ..."). */
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
mk_log_count(const char *msg_id, const char *needle)
{
    size_t n = 0;
    for (size_t i = 0; i < s_n_log; i++) {
        n += s_log[i] != NULL && s_has_id(s_log[i], msg_id) &&
             (needle == NULL || strstr(s_log[i], needle) != NULL);
    }
    return n;
}

/* ---- the world ---------------------------------------------------------------------- */

static const struct {
    const char *id, *role, *name;
} s_more[MK_N] = {
    [MK_EDUCATION] = {"education", "education", "Education"},
    [MK_COUNCIL] = {"council", "council", "Council chief executive"},
    [MK_OVERSIGHT] = {"oversight", VG_ROLE_OVERSIGHT, "Oversight"},
};

static vt_net *
s_network(const mk_world_opts *opts)
{
    vt_net *net = vt_net_new_unpublished(MK_N);
    json_t *agencies = json_object_get(net->json, "agencies");
    for (size_t i = MK_EDUCATION; i < MK_N; i++) {
        json_t *a = json_array_get(agencies, i);
        assert_non_null(a);
        snprintf(net->ids[i], VT_ID_MAX, "%s", s_more[i].id);
        json_object_set_new(a, "id", json_string(s_more[i].id));
        json_object_set_new(a, "role", json_string(s_more[i].role));
        json_object_set_new(a, "name", json_string(s_more[i].name));
    }
    json_t *view = json_pack("{s:b,s:b}", "officer_names", opts && opts->officer_names, "notes",
                             opts && opts->notes);
    assert_non_null(view);
    json_object_set_new(net->json, "oversight", view);
    vg_reason why = {{0}};
    vg_err rc = vt_net_publish(net, 0, &why);
    if (rc != VG_OK) {
        fail_msg("the network document: %s: %s", vg_err_code(rc), why.text);
    }
    return net;
}

vgb_store *
mk_store_open(const char *dir)
{
    vgb_store *s = NULL;
    vg_reason why = {{0}};
    vg_err rc = vgb_store_open(&s, dir, &why);
    if (rc != VG_OK) {
        fail_msg("vgb_store_open(%s): %s: %s", dir, vg_err_code(rc), why.text);
    }
    return s;
}

mk_world *
mk_world_new(const mk_world_opts *opts)
{
    mk_world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->dir = vt_tmpdir_new();
    w->net = s_network(opts);
    w->doc = w->net->doc;
    mk_clock_init(&w->clk);
    /* broker.conf's defaults (vigil/broker_config.h). */
    w->cfg = (vg_broker_config){.store_path = w->dir,
                                .log_level = VG_LOG_DEBUG,
                                .max_clock_skew_ms = 5 * 60 * 1000,
                                .inflight = 64,
                                .redeliver_ms = 5000,
                                .redeliver_max_ms = 5 * 60 * 1000,
                                .batch = 256,
                                .offline_alarm_ms = 5 * 60 * 1000,
                                .checkpoint_leaves = 256,
                                .checkpoint_interval_ms = 10000,
                                .timers = 4096,
                                .wal_checkpoint_pages = 1000,
                                .connections_per_agency = 32,
                                .queries_queued = 16,
                                .query_time_ms = 200,
                                .unread_bytes = 1 << 20,
                                .handshake_timeout_ms = 5000};
    w->store =
        opts != NULL && opts->open_store != NULL ? opts->open_store(w->dir) : mk_store_open(w->dir);
    mk_sink_init(&w->sink);
    return w;
}

void
mk_world_destroy(mk_world **w_p)
{
    mk_world *w = *w_p;
    if (w == NULL) {
        return;
    }
    vgb_store_destroy(&w->store);
    mk_sink_fini(&w->sink);
    vt_net_destroy(&w->net);
    vt_tmpdir_destroy(&w->dir);
    free(w);
    *w_p = NULL;
}

const char *
mk_id(size_t agency)
{
    static const char *const ids[MK_N] = {"police",      "licensing", "childrens-services",
                                          "home-office", "education", "council",
                                          "oversight"};
    assert_true(agency < MK_N);
    return ids[agency];
}

/* ---- alerts --------------------------------------------------------------------------- */

mk_alert *
mk_seal(mk_world *w, const char *sender, const char *const *also, vg_severity severity)
{
    mk_alert *a = calloc(1, sizeof *a);
    assert_non_null(a);
    const char *category = "taxi";
    vg_alert al;
    memset(&al, 0, sizeof al);
    al.severity = severity != VG_SEV_UNSPECIFIED ? severity : VG_SEV_HIGH;
    assert_int_equal(vg_strlist_add(&al.categories, category), VG_OK);
    assert_int_equal(vg_netdoc_required(w->doc, &category, 1, al.severity, sender, &a->required),
                     VG_OK);
    for (size_t i = 0; i < a->required.n; i++) {
        assert_int_equal(vg_strlist_add(&al.recipients, a->required.items[i]), VG_OK);
    }
    for (size_t i = 0; also != NULL && also[i] != NULL; i++) {
        assert_int_equal(vg_strlist_add_unique(&al.recipients, also[i]), VG_OK);
    }
    al.headline = "Taxi drivers linked to exploitation";
    al.description = "Three reports name drivers licensed by the council.";
    int idx = vg_netdoc_index(w->doc, sender);
    assert_true(idx >= 0);
    vg_seal_params p = {.doc = w->doc,
                        .sender = sender,
                        .keys = w->net->keys[idx],
                        .sequence = ++w->next_seq[idx],
                        .created_ms = w->clk.wall};
    vg_reason why = {{0}};
    vg_err rc = vg_envelope_seal(&a->bytes, &a->len, a->id, &al, &p, &why);
    al.headline = al.description = NULL;
    vg_strlist_fini(&al.categories);
    vg_strlist_fini(&al.recipients);
    if (rc != VG_OK) {
        fail_msg("seal: %s: %s", vg_err_code(rc), why.text);
    }
    rc = vg_envelope_verify(&a->env, a->bytes, a->len, w->doc, &why);
    if (rc != VG_OK) {
        fail_msg("verify: %s: %s", vg_err_code(rc), why.text);
    }
    return a;
}

void
mk_alert_free(mk_alert **a_p)
{
    mk_alert *a = *a_p;
    if (a == NULL) {
        return;
    }
    vg_envelope_destroy(&a->env);
    vg_strlist_fini(&a->required);
    free(a->bytes);
    free(a);
    *a_p = NULL;
}

uint64_t
mk_insert(mk_world *w, mk_alert *a, int64_t deadline_ms)
{
    vg_reason why = {{0}};
    uint64_t seq = 0;
    vg_err rc = vgb_store_insert_alert(w->store, a->env, w->clk.wall, &a->required, deadline_ms,
                                       &seq, &why);
    if (rc != VG_OK) {
        fail_msg("vgb_store_insert_alert: %s: %s", vg_err_code(rc), why.text);
    }
    assert_true(seq > 0);
    a->seq = seq;
    return seq;
}

void
mk_begin(vgb_store *s)
{
    vg_reason why = {{0}};
    vg_err rc = vgb_store_begin(s, &why);
    if (rc != VG_OK) {
        fail_msg("vgb_store_begin: %s: %s", vg_err_code(rc), why.text);
    }
}

void
mk_commit(vgb_store *s)
{
    vg_reason why = {{0}};
    vg_err rc = vgb_store_commit(s, &why);
    if (rc != VG_OK) {
        fail_msg("vgb_store_commit: %s: %s", vg_err_code(rc), why.text);
    }
}

uint64_t
mk_insert_committed(mk_world *w, mk_alert *a, int64_t deadline_ms)
{
    mk_begin(w->store);
    uint64_t seq = mk_insert(w, a, deadline_ms);
    mk_commit(w->store);
    return seq;
}

void
mk_share(mk_world *w, const mk_alert *a, const char *sharer, const char *to, int64_t deadline_ms,
         uint8_t **bytes, size_t *len, uint8_t hash[VG_HASH_LEN])
{
    int idx = vg_netdoc_index(w->doc, sharer);
    assert_true(idx >= 0);
    uint8_t *b = NULL;
    size_t n = 0;
    vg_reason why = {{0}};
    vg_err rc = vg_share_create(&b, &n, a->env, sharer, w->net->keys[idx], to, "they need it",
                                w->clk.wall, w->doc, &why);
    if (rc != VG_OK) {
        fail_msg("vg_share_create: %s: %s", vg_err_code(rc), why.text);
    }
    vg_share *sh = NULL;
    assert_int_equal(vg_share_verify(&sh, b, n, w->doc, &why), VG_OK);
    assert_int_equal(
        vgb_store_insert_share(w->store, a->seq, sharer, to, vg_share_hash(sh), b, n, w->clk.wall),
        VG_OK);
    assert_int_equal(vgb_store_add_recipient(w->store, a->seq, to, sharer, deadline_ms), VG_OK);
    if (hash != NULL) {
        memcpy(hash, vg_share_hash(sh), VG_HASH_LEN);
    }
    vg_share_destroy(&sh);
    if (bytes != NULL) {
        *bytes = b;
        *len = n;
    } else {
        free(b);
    }
}

vg_receipt *
mk_receipt(mk_world *w, const char *agency, vg_receipt_kind kind, const mk_alert *const *alerts,
           size_t n, const char *text)
{
    assert_true(n >= 1 && n <= VG_RECEIPT_ITEMS_MAX);
    vg_receipt_item *items = calloc(n, sizeof *items);
    assert_non_null(items);
    for (size_t i = 0; i < n; i++) {
        memcpy(items[i].alert_id, alerts[i]->id, VG_ALERT_ID_LEN);
        memcpy(items[i].envelope_hash, vg_envelope_hash(alerts[i]->env), VG_HASH_LEN);
    }
    int idx = vg_netdoc_index(w->doc, agency);
    assert_true(idx >= 0);
    vg_receipt_spec spec = {
        .agency = agency,
        .kind = kind,
        .created_ms = w->clk.wall,
        .items = items,
        .n_items = n,
        .officer = kind == VG_RECEIPT_ACKNOWLEDGED ? text : NULL,
        .reason = kind == VG_RECEIPT_IN_PROGRESS || kind == VG_RECEIPT_DECLINED ? text : NULL,
        .network_version = vg_netdoc_version(w->doc),
        .failure = kind == VG_RECEIPT_UNOPENABLE ? VG_OPEN_BAD_KEY : VG_OPEN_UNSPECIFIED};
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    vg_err rc = vg_receipt_sign(&bytes, &len, &spec, w->net->keys[idx], &why);
    free(items);
    if (rc != VG_OK) {
        fail_msg("vg_receipt_sign: %s: %s", vg_err_code(rc), why.text);
    }
    vg_receipt *r = NULL;
    rc = vg_receipt_verify(&r, bytes, len, w->doc, &why);
    free(bytes);
    if (rc != VG_OK) {
        fail_msg("vg_receipt_verify: %s: %s", vg_err_code(rc), why.text);
    }
    return r;
}
