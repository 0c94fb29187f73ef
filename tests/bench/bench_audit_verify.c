/*
 * bench_audit_verify — what `vigilctl audit verify` costs on a large store
 * (issue 13, item 8: "slow on a 1M-alert store; make it linear with a small
 * constant").
 *
 * Builds, in a directory of its own, a broker store of N alerts that looks
 * like real traffic, in-process through the store and audit APIs the broker
 * uses (store.h, audit.h), in the order the broker's handlers call them
 * (publish.c, receipt.c, record.c, ledger.c):
 *
 *   - each alert a real sealed envelope (one recipient, childrens-services,
 *     required by the network's policy, with its deadline), from one of
 *     three senders with their own sequence numbers: vgb_store_insert_alert
 *     and its ACCEPTED leaf linked to it (vgb_store_link_leaf);
 *   - the recipient's signed DELIVERED receipt for it: mark_delivered,
 *     insert_receipt, its DELIVERED leaf, vgb_store_receipt_leaf;
 *   - for one alert in --ack-every (2 by default) the recipient's signed
 *     ACKNOWLEDGED receipt: apply_receipt, insert_receipt, check_complete
 *     and its ACKNOWLEDGED leaf linked to the alert;
 *   - the events the streams write for each fact (to the sender and the
 *     recipient: the network has no oversight agency), as audit verify
 *     checks them;
 *   - a signed checkpoint every 256 leaves (the broker's checkpoint_leaves
 *     default) and one at the end of each transaction that holds an
 *     acknowledgement (the broker signs in the batch of a person's
 *     receipt), ~1000 alerts per transaction, and the WAL checkpointer
 *     running beside it as in the broker (with wal_checkpoint_pages 4000,
 *     not 1000: see S_WAL_PAGES).
 *
 * It writes network.signed, broker.key and broker.conf beside the store
 * (DIR/store), so the real command runs on it:
 *
 *     build/release/bin/vigilctl audit verify -c DIR/broker.conf
 *
 * Then it times the verification twice: in-process (vgb_audit_verify and
 * vgb_audit_check_state, separately: what vigilctl runs), and the real
 * vigilctl binary (wall and CPU time, peak RSS of the child), which must print its
 * "N leaves ... verified" line and exit 0. Generation time is reported
 * apart (sealing and signing are most of it).
 *
 * Options: --alerts N (default 20000), --keep DIR (build the store in DIR,
 * which must not exist or be empty, and leave it there), --ack-every K,
 * --verify both|inproc|ctl|none, --bin DIR (where vigilctl is), --existing
 * DIR (build nothing: verify the store a --keep run left in DIR). Label
 * "bench": outside the default run (ctest -L bench -R audit_verify).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "audit.h"
#include "store.h"
#include "vigil.pb-c.h"
#include "vigil/audit_leaf.h"
#include "vigil/broker_config.h"
#include "vigil/checkpoint.h"
#include "vigil/envelope.h"
#include "vigil/receipt.h"
#include "vt.h"

#ifndef VG_BIN_DIR
#define VG_BIN_DIR "build/release/bin"
#endif

#define S_TXN_ALERTS 1000       /* alerts per store transaction */
#define S_CHECKPOINT_LEAVES 256 /* the broker's checkpoint_leaves default */
/* WAL frames between store checkpoints (broker.conf wal_checkpoint_pages,
 * 1000 by default). The checkpointer rewinds the WAL only when, right after a
 * commit, fewer than this many frames are left to copy; a transaction of 1000
 * alerts writes ~1800 frames, so with the default the WAL would never rewind
 * and would hold the whole history (vigilctl would then read every page
 * through it). 4000 keeps it bounded at this transaction size. */
#define S_WAL_PAGES 4000
#define S_PAUSE_NS 2000000 /* after each commit: the loop's wait between batches */
#define S_T0_MS (VT_ISSUED_MS + 60000)
#define S_GAP_MS 200   /* between two alerts: 5 a second */
#define S_ACK_MS 60000 /* a person acknowledges a minute later */
#define S_RECIPIENT "childrens-services"
#define S_RECIPIENT_IDX 2 /* its index in vt_net */

static const char *const s_senders[] = {"police", "licensing", "home-office"};
#define S_N_SENDERS (sizeof s_senders / sizeof s_senders[0])

/* ---- options ------------------------------------------------------------------- */

typedef struct s_opts {
    uint64_t alerts;      /* --alerts */
    const char *keep;     /* --keep DIR, or NULL: a temp dir, removed */
    uint64_t ack_every;   /* --ack-every: one alert in K is acknowledged (0: none) */
    bool inproc;          /* --verify includes in-process */
    bool ctl;             /* --verify includes vigilctl */
    const char *bin;      /* --bin */
    const char *existing; /* --existing DIR: verify a store built before, build nothing */
} s_opts;

static s_opts s_o = {
    .alerts = 20000, .ack_every = 2, .inproc = true, .ctl = true, .bin = VG_BIN_DIR};

static const char s_usage[] =
    "usage: bench_audit_verify [--alerts N] [--keep DIR] [--ack-every K]\n"
    "                          [--verify both|inproc|ctl|none] [--bin DIR]\n"
    "       bench_audit_verify --existing DIR [--verify ...] [--bin DIR]\n";

static bool
s_parse_u64(const char *text, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') {
        return false;
    }
    *out = v;
    return true;
}

static bool
s_parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--alerts") == 0 && v != NULL && s_parse_u64(v, &s_o.alerts) &&
            s_o.alerts > 0) {
            i++;
        } else if (strcmp(a, "--keep") == 0 && v != NULL) {
            s_o.keep = v;
            i++;
        } else if (strcmp(a, "--ack-every") == 0 && v != NULL && s_parse_u64(v, &s_o.ack_every)) {
            i++;
        } else if (strcmp(a, "--existing") == 0 && v != NULL) {
            s_o.existing = v;
            i++;
        } else if (strcmp(a, "--bin") == 0 && v != NULL) {
            s_o.bin = v;
            i++;
        } else if (strcmp(a, "--verify") == 0 && v != NULL) {
            s_o.inproc = strcmp(v, "both") == 0 || strcmp(v, "inproc") == 0;
            s_o.ctl = strcmp(v, "both") == 0 || strcmp(v, "ctl") == 0;
            if (!s_o.inproc && !s_o.ctl && strcmp(v, "none") != 0) {
                return false;
            }
            i++;
        } else {
            return false;
        }
    }
    return true;
}

/* ---- clocks -------------------------------------------------------------------- */

static double
s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
s_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
s_maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* ---- the store being built ----------------------------------------------------------- */

typedef struct s_gen {
    vt_net *net;          /* agencies, keys, the signed document (NULL with --existing) */
    const vg_netdoc *doc; /* the network document: net's, or loaded */
    vg_netdoc *loaded;    /* --existing: the one DIR/broker.conf names */
    uint8_t admin_pk[VG_SIGN_PK_LEN]; /* the administrator's key that signed it */
    char *dir;                        /* where everything is */
    char *store_dir;                  /* dir/store */
    void *zctx;                       /* for the WAL checkpointer */
    vgb_store *store;                 /* the broker's store */
    vgb_audit *audit;                 /* its log, signing with the broker key */
    uint64_t sender_seq[S_N_SENDERS]; /* per-sender sequence numbers */
    uint64_t ev_seq[VT_AGENCIES_MAX]; /* per-agency event stream */
    uint64_t leaves;                  /* appended */
    uint64_t checkpoints;             /* signed */
    uint64_t signed_size;             /* the latest one's size */
    bool urgent;                      /* the transaction holds an acknowledgement's leaf */
    uint64_t acks;                    /* ACKNOWLEDGED receipts */
    int64_t deadline_ms;              /* the policy's deadline for these alerts */
    double t_crypto;                  /* sealing, signing, verifying (s) */
    double t_store;                   /* store and audit calls, commits included (s) */
} s_gen;

static void
s_ok(vg_err rc, const vg_reason *why, const char *what)
{
    if (rc != VG_OK) {
        fail_msg("%s: %s: %s", what, vg_err_code(rc), why != NULL ? why->text : "");
    }
}

/* A checkpoint of the log as it is (ledger.c s_sign). */
static void
s_sign(s_gen *g, int64_t ms)
{
    vg_reason why = {{0}};
    s_ok(vgb_audit_checkpoint_sign(g->audit, ms, NULL, &why), &why, "sign checkpoint");
    g->checkpoints++;
    g->signed_size = g->leaves;
}

/* One more leaf, linked to alert seq (0: none); a checkpoint every 256. */
static void
s_leaf(s_gen *g, vg_audit_event *ev, uint64_t seq)
{
    vg_reason why = {{0}};
    uint64_t idx = 0;
    s_ok(vgb_audit_append(g->audit, ev, &idx, &why), &why, "audit append");
    if (seq != 0) {
        s_ok(vgb_store_link_leaf(g->store, seq, idx), NULL, "link leaf");
    }
    g->leaves = idx + 1;
    if (g->leaves % S_CHECKPOINT_LEAVES == 0) {
        s_sign(g, ev->time_ms > 0 ? (int64_t)ev->time_ms : 1);
    }
}

/* The event a fact writes to one agency's stream. */
static void
s_event(s_gen *g, size_t agency, int kind, uint64_t seq, int64_t ms, const char *about,
        const char *detail, const uint8_t *receipt, size_t receipt_len)
{
    vgb_event_row row = {.seq = ++g->ev_seq[agency],
                         .time_ms = ms,
                         .kind = kind,
                         .alert_seq = seq,
                         .about = about,
                         .detail = detail,
                         .receipt = receipt,
                         .receipt_len = receipt_len};
    s_ok(vgb_store_insert_events(g->store, g->net->ids[agency], &row, NULL, 0), NULL,
         "insert event");
}

static size_t
s_index_of(const s_gen *g, const char *id)
{
    for (size_t i = 0; i < g->net->n; i++) {
        if (strcmp(g->net->ids[i], id) == 0) {
            return i;
        }
    }
    fail_msg("no agency %s", id);
    return 0;
}

/* A signed receipt by the recipient, verified as the broker does. */
static vg_receipt *
s_receipt(s_gen *g, vg_receipt_kind kind, const vg_envelope *env, int64_t ms)
{
    vg_receipt_item item;
    memcpy(item.alert_id, vg_envelope_id(env), VG_ALERT_ID_LEN);
    memcpy(item.envelope_hash, vg_envelope_hash(env), VG_HASH_LEN);
    vg_receipt_spec spec = {.agency = S_RECIPIENT,
                            .kind = kind,
                            .created_ms = ms,
                            .items = &item,
                            .n_items = 1,
                            .officer = kind == VG_RECEIPT_ACKNOWLEDGED ? "DS Okafor" : NULL,
                            .network_version = vg_envelope_network_version(env)};
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    s_ok(vg_receipt_sign(&bytes, &len, &spec, g->net->keys[S_RECIPIENT_IDX], &why), &why,
         "sign receipt");
    vg_receipt *r = NULL;
    s_ok(vg_receipt_verify(&r, bytes, len, g->net->doc, &why), &why, "verify receipt");
    free(bytes);
    return r;
}

/* Alert i: sealed, accepted, delivered, maybe acknowledged. */
static void
s_alert(s_gen *g, uint64_t i)
{
    double t0 = s_now();
    size_t si = (size_t)(i % S_N_SENDERS);
    const char *sender = s_senders[si];
    int64_t accepted = S_T0_MS + (int64_t)i * S_GAP_MS;
    vg_alert a = {.status = VG_STATUS_ACTUAL,
                  .msg_type = VG_MSG_ALERT,
                  .severity = VG_SEV_HIGH,
                  .urgency = VG_URG_EXPECTED,
                  .certainty = VG_CERT_LIKELY};
    char headline[96];
    snprintf(headline, sizeof headline, "Missing child, report %" PRIu64, i + 1);
    a.headline = headline;
    a.event = "Missing child";
    a.description = "Reported missing from a care placement this evening; believed to be with "
                    "an older adult known to the service. Last seen near the bus station.";
    a.instruction = "Check placements and known addresses; call the duty desk with sightings.";
    s_ok(vg_strlist_add(&a.categories, "missing-child"), NULL, "category");
    s_ok(vg_strlist_add(&a.recipients, S_RECIPIENT), NULL, "recipient");
    vg_seal_params p = {.doc = g->net->doc,
                        .sender = sender,
                        .keys = vt_net_keys(g->net, sender),
                        .sequence = ++g->sender_seq[si],
                        .created_ms = accepted - 50};
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    s_ok(vg_envelope_seal(&bytes, &len, NULL, &a, &p, &why), &why, "seal");
    vg_strlist_fini(&a.categories);
    vg_strlist_fini(&a.recipients);
    vg_envelope *env = NULL;
    s_ok(vg_envelope_verify(&env, bytes, len, g->net->doc, &why), &why, "verify envelope");
    free(bytes);
    vg_strlist required = {0};
    s_ok(vg_envelope_check_policy(env, g->net->doc, &required, NULL, &why), &why, "policy");
    int64_t delivered = accepted + 40;
    vg_receipt *dr = s_receipt(g, VG_RECEIPT_DELIVERED, env, delivered);
    bool ack = s_o.ack_every > 0 && i % s_o.ack_every == 0;
    int64_t acked = accepted + S_ACK_MS;
    vg_receipt *ar = ack ? s_receipt(g, VG_RECEIPT_ACKNOWLEDGED, env, acked) : NULL;
    double t1 = s_now();
    g->t_crypto += t1 - t0;

    size_t from = s_index_of(g, sender);
    /* publish.c: the alert and its rows; record.c: its events and leaf */
    uint64_t seq = 0;
    s_ok(vgb_store_insert_alert(g->store, env, accepted, &required, accepted + g->deadline_ms, &seq,
                                &why),
         &why, "insert alert");
    s_event(g, from, VIGIL__EVENT_KIND__EVENT_ACCEPTED, seq, accepted, sender, NULL, NULL, 0);
    s_event(g, S_RECIPIENT_IDX, VIGIL__EVENT_KIND__EVENT_ACCEPTED, seq, accepted, sender, NULL,
            NULL, 0);
    vg_audit_event ev = {.kind = VG_AUDIT_ACCEPTED,
                         .time_ms = (uint64_t)accepted,
                         .has_alert_id = true,
                         .version = vg_envelope_network_version(env)};
    memcpy(ev.alert_id, vg_envelope_id(env), VG_ALERT_ID_LEN);
    memcpy(ev.hash, vg_envelope_hash(env), VG_HASH_LEN);
    snprintf(ev.sender, sizeof ev.sender, "%s", sender);
    s_ok(vg_strlist_add(&ev.agencies, S_RECIPIENT), NULL, "leaf recipient");
    s_leaf(g, &ev, seq);
    vg_strlist_fini(&ev.agencies);

    /* receipt.c: a DELIVERED receipt of one item; record.c: its leaf, found
     * from the alert through the receipt */
    bool changed = false;
    s_ok(vgb_store_mark_delivered(g->store, seq, S_RECIPIENT, delivered, &changed), NULL,
         "mark delivered");
    s_ok(vgb_store_insert_receipt(g->store, dr, &seq, 1, delivered), NULL, "insert receipt");
    s_event(g, from, VIGIL__EVENT_KIND__EVENT_DELIVERED, seq, delivered, S_RECIPIENT, NULL, NULL,
            0);
    s_event(g, S_RECIPIENT_IDX, VIGIL__EVENT_KIND__EVENT_DELIVERED, seq, delivered, S_RECIPIENT,
            NULL, NULL, 0);
    uint8_t ids[1][VG_ALERT_ID_LEN];
    memcpy(ids[0], vg_envelope_id(env), VG_ALERT_ID_LEN);
    ev = (vg_audit_event){
        .kind = VG_AUDIT_DELIVERED, .time_ms = (uint64_t)delivered, .alerts = ids, .n_alerts = 1};
    memcpy(ev.hash, vg_receipt_hash(dr), VG_HASH_LEN);
    snprintf(ev.agency, sizeof ev.agency, "%s", S_RECIPIENT);
    s_leaf(g, &ev, 0);
    bool set = false;
    s_ok(vgb_store_receipt_leaf(g->store, vg_receipt_hash(dr), g->leaves - 1, &set), NULL,
         "receipt leaf");
    if (!set) {
        s_ok(vgb_store_link_leaf(g->store, seq, g->leaves - 1), NULL, "link leaf");
    }

    if (ar != NULL) { /* receipt.c s_apply, record.c vgb_record_receipt */
        s_ok(vgb_store_apply_receipt(g->store, seq, S_RECIPIENT, VGB_ACKNOWLEDGED, acked,
                                     vg_receipt_officer(ar), vg_receipt_note(ar),
                                     vg_receipt_reason(ar), accepted + g->deadline_ms),
             NULL, "apply receipt");
        s_ok(vgb_store_insert_receipt(g->store, ar, &seq, 1, acked), NULL, "insert ack");
        bool complete = false;
        s_ok(vgb_store_check_complete(g->store, seq, acked, &complete), NULL, "complete");
        size_t rlen = 0;
        const uint8_t *rbytes = vg_receipt_bytes(ar, &rlen);
        /* streams.c: each event to the sender and the recipient (the one it is about) */
        s_event(g, from, VIGIL__EVENT_KIND__EVENT_ACKNOWLEDGED, seq, acked, S_RECIPIENT,
                vg_receipt_officer(ar), rbytes, rlen);
        s_event(g, S_RECIPIENT_IDX, VIGIL__EVENT_KIND__EVENT_ACKNOWLEDGED, seq, acked, S_RECIPIENT,
                vg_receipt_officer(ar), rbytes, rlen);
        if (complete) {
            s_event(g, from, VIGIL__EVENT_KIND__EVENT_COMPLETE, seq, acked, "", NULL, NULL, 0);
            s_event(g, S_RECIPIENT_IDX, VIGIL__EVENT_KIND__EVENT_COMPLETE, seq, acked, "", NULL,
                    NULL, 0);
        }
        ev = (vg_audit_event){
            .kind = VG_AUDIT_ACKNOWLEDGED, .time_ms = (uint64_t)acked, .has_alert_id = true};
        memcpy(ev.alert_id, vg_envelope_id(env), VG_ALERT_ID_LEN);
        memcpy(ev.hash, vg_receipt_hash(ar), VG_HASH_LEN);
        snprintf(ev.agency, sizeof ev.agency, "%s", S_RECIPIENT);
        s_leaf(g, &ev, seq);
        g->acks++;
        g->urgent = true; /* ledger.c: signed in the batch of a person's receipt */
    }
    g->t_store += s_now() - t1;
    vg_receipt_destroy(&ar);
    vg_receipt_destroy(&dr);
    vg_strlist_fini(&required);
    vg_envelope_destroy(&env);
}

/* ---- setting up and building --------------------------------------------------------- */

/* The network: four agencies; missing-child alerts must reach children's
 * services (so its row is required and has a deadline). */
static vt_net *
s_network(void)
{
    vt_net *net = vt_net_new_unpublished(4);
    vt_net_set_policy(net, "[{\"name\":\"missing-child\",\"categories\":[\"missing-child\"],"
                           "\"min_severity\":\"low\",\"must_reach\":[\"" S_RECIPIENT "\"],"
                           "\"must_reach_roles\":[]}]");
    vg_reason why = {{0}};
    s_ok(vt_net_publish(net, 0, &why), &why, "publish the network document");
    assert_string_equal(net->ids[S_RECIPIENT_IDX], S_RECIPIENT);
    return net;
}

/* broker.key, network.signed and broker.conf beside the store: what
 * `vigilctl audit verify -c DIR/broker.conf` reads. */
static void
s_write_files(s_gen *g)
{
    vg_reason why = {{0}};
    char *keys = vt_path(g->dir, "broker.key");
    s_ok(vg_keyset_save(g->net->broker, keys, &why), &why, "save broker.key");
    free(keys);
    char *doc = vt_path(g->dir, "network.signed");
    vt_write_file(doc, g->net->signed_doc, g->net->signed_len, 0644);
    free(doc);
    char admin[2 * VG_SIGN_PK_LEN + 1];
    vg_hex_encode(admin, sizeof admin, vg_keyset_sign_pk(g->net->admin), VG_SIGN_PK_LEN);
    char conf[1024];
    int n = snprintf(conf, sizeof conf,
                     "# written by bench_audit_verify\n[broker]\nbind = tcp://127.0.0.1:*\n"
                     "keys = broker.key\nstore = store\n"
                     "[network]\ndocument = network.signed\nadmin_key = %s\n",
                     admin);
    assert_true(n > 0 && (size_t)n < sizeof conf);
    char *path = vt_path(g->dir, "broker.conf");
    vt_write_file(path, conf, (size_t)n, 0600);
    free(path);
}

/* The directory to build in: --keep DIR (created; must be empty) or a temp one. */
static char *
s_workdir(void)
{
    if (s_o.keep == NULL) {
        return vt_tmpdir_new();
    }
    if (mkdir(s_o.keep, 0700) != 0 && errno != EEXIST) {
        fail_msg("--keep %s: %s", s_o.keep, strerror(errno));
    }
    char *store = vt_path(s_o.keep, "store");
    struct stat st;
    if (stat(store, &st) == 0) {
        fail_msg("--keep %s already holds a store: give a new or empty directory", s_o.keep);
    }
    free(store);
    char *dir = strdup(s_o.keep);
    assert_non_null(dir);
    return dir;
}

static void
s_open(s_gen *g)
{
    vg_reason why = {{0}};
    g->store_dir = vt_path(g->dir, "store");
    s_ok(vgb_store_open(&g->store, g->store_dir, &why), &why, "open store");
    /* what the broker does at start (netdocs.c, broker.c), then its checks pass */
    s_ok(vgb_store_begin(g->store, &why), &why, "begin");
    size_t len = 0;
    const uint8_t *doc = vg_netdoc_signed_bytes(g->net->doc, &len);
    uint64_t version = vg_netdoc_version(g->net->doc);
    s_ok(vgb_store_add_network_document(g->store, version, doc, len, &why), &why, "netdoc");
    s_ok(vgb_store_set_network_version(g->store, version, &why), &why, "network version");
    s_ok(vgb_store_commit(g->store, &why), &why, "commit");
    vgb_store_mark_sound(g->store);
    g->zctx = zmq_ctx_new();
    assert_non_null(g->zctx);
    vgb_store_background bg = {.zmq_ctx = g->zctx, .wal_checkpoint_pages = S_WAL_PAGES};
    s_ok(vgb_store_start_background(g->store, &bg, &why), &why, "start the WAL checkpointer");
    s_ok(vgb_audit_open(&g->audit, g->store, vg_netdoc_network(g->net->doc), g->net->broker, &why),
         &why, "open the audit log");
    g->deadline_ms = (int64_t)vg_netdoc_deadline_ms(g->net->doc, VG_SEV_HIGH, VG_URG_EXPECTED);
}

static void
s_close(s_gen *g)
{
    vgb_audit_destroy(&g->audit);
    vgb_store_destroy(&g->store); /* stops the checkpointer, then checkpoints the rest */
    if (g->zctx != NULL) {
        zmq_ctx_term(g->zctx);
        g->zctx = NULL;
    }
}

static void
s_generate(s_gen *g)
{
    vg_reason why = {{0}};
    double t0 = s_now();
    uint64_t step = s_o.alerts >= 10 ? s_o.alerts / 10 : 1;
    printf("generate: %" PRIu64 " alerts into %s (1 recipient each, 1 in %" PRIu64
           " acknowledged, a checkpoint every %d leaves, %d alerts a transaction)\n",
           s_o.alerts, g->store_dir, s_o.ack_every, S_CHECKPOINT_LEAVES, S_TXN_ALERTS);
    fflush(stdout);
    for (uint64_t i = 0; i < s_o.alerts;) {
        double tb = s_now();
        s_ok(vgb_store_begin(g->store, &why), &why, "begin");
        g->t_store += s_now() - tb;
        uint64_t end = i + S_TXN_ALERTS < s_o.alerts ? i + S_TXN_ALERTS : s_o.alerts;
        for (; i < end; i++) {
            s_alert(g, i);
            if ((i + 1) % step == 0 || i + 1 == s_o.alerts) {
                double el = s_now() - t0;
                printf("generate: %3" PRIu64 "%% %" PRIu64 " alerts, %" PRIu64 " leaves, %" PRIu64
                       " checkpoints, %.1f s (%.0f alerts/s; crypto %.1f s, store %.1f s)\n",
                       (i + 1) * 100 / s_o.alerts, i + 1, g->leaves, g->checkpoints, el,
                       (double)(i + 1) / (el > 0 ? el : 1), g->t_crypto, g->t_store);
                fflush(stdout);
            }
        }
        if (g->urgent && g->leaves > g->signed_size) { /* ledger.c vgb_ledger_before_commit */
            s_sign(g, S_T0_MS + (int64_t)i * S_GAP_MS);
        }
        g->urgent = false;
        double tc = s_now();
        s_ok(vgb_store_commit(g->store, &why), &why, "commit");
        vgb_store_after_commit(g->store);
        g->t_store += s_now() - tc;
        /* a moment between transactions, as the broker's loop has between
         * poll batches: the checkpointer's RESTART needs it to rewind the WAL */
        struct timespec pause = {0, S_PAUSE_NS};
        nanosleep(&pause, NULL);
    }
    double tc = s_now();
    s_close(g);
    double t_close = s_now() - tc;
    double el = s_now() - t0;
    char *db = vt_path(g->store_dir, "vigil.db");
    struct stat st;
    long long mb = stat(db, &st) == 0 ? (long long)(st.st_size >> 20) : -1;
    free(db);
    char *wal = vt_path(g->store_dir, "vigil.db-wal");
    long long wal_mb = stat(wal, &st) == 0 ? (long long)(st.st_size >> 20) : 0;
    free(wal);
    printf("generated: %" PRIu64 " alerts, %" PRIu64 " leaves (%" PRIu64
           " acknowledgements), %" PRIu64 " checkpoints in %.1f s: crypto %.1f s, store %.1f s, "
           "close %.1f s; vigil.db %lld MiB, its WAL file %lld MiB; peak RSS %ld MiB\n",
           s_o.alerts, g->leaves, g->acks, g->checkpoints, el, g->t_crypto, g->t_store, t_close, mb,
           wal_mb, s_maxrss_kb() / 1024);
    fflush(stdout);
}

/* ---- verifying --------------------------------------------------------------------------- */

/* What vigilctl audit verify runs, timed phase by phase, in this process. */
static void
s_verify_inproc(s_gen *g)
{
    vg_reason why = {{0}};
    vgb_store *store = NULL;
    double t0 = s_now(), c0 = s_cpu();
    s_ok(vgb_store_open_readonly(&store, g->store_dir, &why), &why, "open read-only");
    s_ok(vgb_store_read_begin(store, &why), &why, "read begin");
    vgb_audit_verify_params p = {.origin = vg_netdoc_network(g->doc),
                                 .broker_pk = vg_netdoc_broker_sign_pk(g->doc)};
    vgb_audit_report rep;
    double t1 = s_now(), c1 = s_cpu();
    vg_err rc = vgb_audit_verify(store, &p, &rep, &why);
    double t2 = s_now(), c2 = s_cpu();
    s_ok(rc, &why, "vgb_audit_verify");
    vgb_audit_report st;
    vgb_audit_state_params sp = {.admin_pk = g->admin_pk,
                                 .current_version = vg_netdoc_version(g->doc)};
    rc = vgb_audit_check_state(store, &sp, &st, &why);
    double t3 = s_now(), c3 = s_cpu();
    s_ok(rc, &why, "vgb_audit_check_state");
    vgb_store_read_end(store);
    vgb_store_destroy(&store);
    assert_int_equal(rep.n_leaves, g->leaves);
    assert_int_equal(rep.n_checkpoints, g->checkpoints);
    double n = (double)rep.n_leaves;
    printf("inproc: %" PRIu64 " leaves, %" PRIu64 " checkpoints; wall (CPU) s: open %.2f (%.2f); "
           "vgb_audit_verify %.2f (%.2f) = %.2f (%.2f) us/leaf; vgb_audit_check_state %.2f (%.2f) "
           "= %.2f (%.2f) us/leaf; total %.2f (%.2f) = %.2f (%.2f) us/leaf\n",
           rep.n_leaves, rep.n_checkpoints, t1 - t0, c1 - c0, t2 - t1, c2 - c1, (t2 - t1) * 1e6 / n,
           (c2 - c1) * 1e6 / n, t3 - t2, c3 - c2, (t3 - t2) * 1e6 / n, (c3 - c2) * 1e6 / n, t3 - t0,
           c3 - c0, (t3 - t0) * 1e6 / n, (c3 - c0) * 1e6 / n);
    fflush(stdout);
}

/* The real command: `vigilctl audit verify -c DIR/broker.conf`, its wall
 * time and peak RSS; it must say every leaf verified and exit 0. */
static void
s_verify_ctl(s_gen *g)
{
    char *ctl = vt_path(s_o.bin, "vigilctl");
    char *conf = vt_path(g->dir, "broker.conf");
    char *out = vt_path(g->dir, "verify.out");
    if (access(ctl, X_OK) != 0) {
        fail_msg("%s: not built (give --bin DIR, or --verify inproc)", ctl);
    }
    printf("ctl: %s audit verify -c %s\n", ctl, conf);
    fflush(stdout);
    double t0 = s_now();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0) {
            _exit(127);
        }
        execl(ctl, "vigilctl", "audit", "verify", "-c", conf, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    double wall = s_now() - t0;
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru); /* the only child this process ran */
    size_t len = 0;
    char *text = (char *)vt_read_file(out, &len);
    printf("ctl: exit %d: %s", WIFEXITED(status) ? WEXITSTATUS(status) : -1, text);
    char want[64];
    snprintf(want, sizeof want, "audit: %" PRIu64 " leaves, %" PRIu64 " checkpoints verified",
             g->leaves, g->checkpoints);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf("ctl: vigilctl audit verify: %.2f s wall, %.2f s CPU, %.2f us/leaf, %.2f us/alert, "
           "peak RSS %ld MiB (%" PRIu64 " alerts, %" PRIu64 " leaves)\n",
           wall, cpu, wall * 1e6 / (double)g->leaves, wall * 1e6 / (double)s_o.alerts,
           ru.ru_maxrss / 1024, s_o.alerts, g->leaves);
    fflush(stdout);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_non_null(strstr(text, want));
    free(text);
    free(out);
    free(conf);
    free(ctl);
}

/* --existing DIR: its network document (through DIR/broker.conf, as vigilctl
 * reads it) and what its store holds, to check the verification against. */
static void
s_existing(s_gen *g)
{
    vg_reason why = {{0}};
    g->dir = strdup(s_o.existing);
    assert_non_null(g->dir);
    char *conf = vt_path(g->dir, "broker.conf");
    vg_broker_config *cfg = NULL;
    s_ok(vg_broker_config_load(&cfg, conf, &why), &why, conf);
    s_ok(vg_netdoc_load(&g->loaded, cfg->document_path, cfg->admin_pk, 0, &why), &why,
         "the network document");
    g->doc = g->loaded;
    memcpy(g->admin_pk, cfg->admin_pk, VG_SIGN_PK_LEN);
    g->store_dir = strdup(cfg->store_path);
    assert_non_null(g->store_dir);
    vg_broker_config_destroy(&cfg);
    free(conf);
    vgb_store *store = NULL;
    s_ok(vgb_store_open_readonly(&store, g->store_dir, &why), &why, "open read-only");
    s_ok(vgb_store_count(store, VGB_COUNT_ALERTS, NULL, &s_o.alerts), NULL, "count alerts");
    s_ok(vgb_store_count(store, VGB_COUNT_LEAVES, NULL, &g->leaves), NULL, "count leaves");
    s_ok(vgb_store_count(store, VGB_COUNT_CHECKPOINTS, NULL, &g->checkpoints), NULL,
         "count checkpoints");
    vgb_store_destroy(&store);
    printf("existing: %s: %" PRIu64 " alerts, %" PRIu64 " leaves, %" PRIu64 " checkpoints\n",
           g->store_dir, s_o.alerts, g->leaves, g->checkpoints);
}

static void
bench_audit_verify(void **state)
{
    (void)state;
    s_gen g = {0};
    if (s_o.existing != NULL) {
        s_existing(&g);
    } else {
        g.net = s_network();
        g.doc = g.net->doc;
        memcpy(g.admin_pk, vg_keyset_sign_pk(g.net->admin), VG_SIGN_PK_LEN);
        g.dir = s_workdir();
        s_write_files(&g);
        s_open(&g);
        s_generate(&g);
    }
    char load[128] = "";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL && fgets(load, sizeof load, f) == NULL) {
        load[0] = '\0';
    }
    if (f != NULL) {
        fclose(f);
    }
    printf("load average before verifying: %s", load[0] ? load : "?\n");
    if (s_o.inproc) {
        s_verify_inproc(&g);
    }
    if (s_o.ctl) {
        s_verify_ctl(&g);
    }
    if (s_o.keep != NULL || s_o.existing != NULL) {
        if (s_o.keep != NULL) {
            printf("kept: %s (run: vigilctl audit verify -c %s/broker.conf)\n", g.dir, g.dir);
        }
        free(g.dir);
    } else {
        vt_tmpdir_destroy(&g.dir);
    }
    free(g.store_dir);
    vg_netdoc_destroy(&g.loaded);
    if (g.net != NULL) {
        vt_net_destroy(&g.net);
    }
}

int
main(int argc, char **argv)
{
    if (!s_parse_args(argc, argv)) {
        fputs(s_usage, stderr);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {cmocka_unit_test(bench_audit_verify)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
