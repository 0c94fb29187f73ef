/* test_store_vigilctl.c — vigilctl report, audit verify and audit export read
 * the same from either back end (issue 14): the same alerts, receipts,
 * audit leaves, events and checkpoint are written through store.h and
 * audit.h into an SQLite store and a PostgreSQL one, as the broker writes
 * them (so both verify: every row against its leaves), and vigilctl
 * (--store DIR, --dsn DSN, and -c broker.conf naming each) must print the
 * same report, verify both stores and export the same files. vigilctl runs in-process
 * (ctl_main), its stdout captured. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit.h"
#include "ctl.h"
#include "store.h"
#include "vigil/audit_leaf.h"
#include "vigil/receipt.h"
#include "vt.h"
#include "vt_pg.h"

#define T0 INT64_C(1796000100000)
#define N_ALERTS 3

typedef struct fx {
    vt_pg *srv;                             /* the PostgreSQL server */
    char *dsn;                              /* the PostgreSQL store, as vigil_broker */
    char *audit_dsn;                        /* ... as vigil_audit */
    char *dir;                              /* temp dir: SQLite store, files */
    char *store;                            /* dir/store */
    char *netfile;                          /* dir/network.signed */
    char admin_hex[2 * VG_SIGN_PK_LEN + 1]; /* the admin key */
    vt_net *net;                            /* the network */
    vg_envelope *env[N_ALERTS];             /* the alerts, the same in both */
} fx;

/* The agencies that hear each fact about these alerts (streams.c): the
 * sender and both recipients; the network has no oversight agency. */
static const char *const s_heard[] = {"police", "licensing", "childrens-services"};

/* The event a fact writes to each of their streams (numbered per agency). */
static void
s_events(vgb_store *s, uint64_t ev_seq[3], int kind, uint64_t alert_seq, int64_t ms,
         const char *about, const char *detail, const uint8_t *receipt, size_t receipt_len)
{
    for (size_t i = 0; i < 3; i++) {
        vgb_event_row row = {.seq = ++ev_seq[i],
                             .time_ms = ms,
                             .kind = kind,
                             .alert_seq = alert_seq,
                             .about = about,
                             .detail = detail,
                             .receipt = receipt,
                             .receipt_len = receipt_len};
        assert_int_equal(vgb_store_insert_events(s, s_heard[i], &row, NULL, 0), VG_OK);
    }
}

/* agency's signed receipt of kind for env at ms. */
static vg_receipt *
s_receipt(const fx *f, const char *agency, vg_receipt_kind kind, const vg_envelope *env, int64_t ms,
          const char *officer)
{
    vg_receipt_item item;
    memcpy(item.alert_id, vg_envelope_id(env), VG_ALERT_ID_LEN);
    memcpy(item.envelope_hash, vg_envelope_hash(env), VG_HASH_LEN);
    vg_receipt_spec spec = {.agency = agency,
                            .kind = kind,
                            .created_ms = ms,
                            .items = &item,
                            .n_items = 1,
                            .officer = officer,
                            .network_version = vg_envelope_network_version(env)};
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(vg_receipt_sign(&bytes, &len, &spec, vt_net_keys(f->net, agency), NULL),
                     VG_OK);
    vg_receipt *r = NULL;
    assert_int_equal(vg_receipt_verify(&r, bytes, len, f->net->doc, NULL), VG_OK);
    free(bytes);
    return r;
}

/* One leaf, linked to alert seq (0: not linked); its index. */
static uint64_t
s_leaf(vgb_store *s, vgb_audit *a, vg_audit_event *ev, uint64_t seq)
{
    uint64_t idx = 0;
    vg_reason why = {{0}};
    assert_int_equal(vgb_audit_append(a, ev, &idx, &why), VG_OK);
    if (seq != 0) {
        assert_int_equal(vgb_store_link_leaf(s, seq, idx), VG_OK);
    }
    return idx;
}

typedef struct s_fill_ctx {
    fx *f;          /* the fixture */
    vgb_store *s;   /* the store being filled */
    vgb_audit *a;   /* its log */
    uint64_t ev[3]; /* the streams' last event numbers */
} s_fill_ctx;

/* agency's DELIVERED receipt for alert seq (env) at ms (receipt.c). */
static void
s_delivered(s_fill_ctx *x, uint64_t seq, const vg_envelope *env, const char *agency, int64_t ms)
{
    vg_receipt *dr = s_receipt(x->f, agency, VG_RECEIPT_DELIVERED, env, ms, NULL);
    bool changed = false, set = false;
    assert_int_equal(vgb_store_mark_delivered(x->s, seq, agency, ms, &changed), VG_OK);
    assert_int_equal(vgb_store_insert_receipt(x->s, dr, &seq, 1, ms), VG_OK);
    s_events(x->s, x->ev, 3, seq, ms, agency, "", NULL, 0);
    uint8_t ids[1][VG_ALERT_ID_LEN];
    memcpy(ids[0], vg_envelope_id(env), VG_ALERT_ID_LEN);
    vg_audit_event ev = {
        .kind = VG_AUDIT_DELIVERED, .time_ms = (uint64_t)ms, .alerts = ids, .n_alerts = 1};
    memcpy(ev.hash, vg_receipt_hash(dr), VG_HASH_LEN);
    snprintf(ev.agency, sizeof ev.agency, "%s", agency);
    uint64_t idx = s_leaf(x->s, x->a, &ev, 0);
    assert_int_equal(vgb_store_receipt_leaf(x->s, vg_receipt_hash(dr), idx, &set), VG_OK);
    vg_receipt_destroy(&dr);
}

/* agency's acknowledgement of alert seq (env) at ms (receipt.c, record.c). */
static void
s_acked(s_fill_ctx *x, uint64_t seq, const vg_envelope *env, const char *agency, int64_t ms,
        const char *officer)
{
    vg_receipt *ar = s_receipt(x->f, agency, VG_RECEIPT_ACKNOWLEDGED, env, ms, officer);
    bool complete = false;
    assert_int_equal(vgb_store_apply_receipt(x->s, seq, agency, VGB_ACKNOWLEDGED, ms, officer, NULL,
                                             NULL, T0 + 100),
                     VG_OK);
    assert_int_equal(vgb_store_insert_receipt(x->s, ar, &seq, 1, ms), VG_OK);
    assert_int_equal(vgb_store_check_complete(x->s, seq, ms, &complete), VG_OK);
    size_t len = 0;
    const uint8_t *bytes = vg_receipt_bytes(ar, &len);
    s_events(x->s, x->ev, 4, seq, ms, agency, officer, bytes, len);
    if (complete) {
        s_events(x->s, x->ev, 12, seq, ms, "", "", NULL, 0); /* COMPLETE */
    }
    vg_audit_event ev = {
        .kind = VG_AUDIT_ACKNOWLEDGED, .time_ms = (uint64_t)ms, .has_alert_id = true};
    memcpy(ev.alert_id, vg_envelope_id(env), VG_ALERT_ID_LEN);
    memcpy(ev.hash, vg_receipt_hash(ar), VG_HASH_LEN);
    snprintf(ev.agency, sizeof ev.agency, "%s", agency);
    (void)s_leaf(x->s, x->a, &ev, seq);
    vg_receipt_destroy(&ar);
}

/* Alert i's link tags (its envelope's) and, after the first, its linked
 * leaf naming every earlier alert: they all carry the same subjects
 * (links.c; no repeat warning: every earlier one was acknowledged). */
static void
s_link(s_fill_ctx *x, int i, uint64_t seq)
{
    const vg_envelope *env = x->f->env[i];
    size_t n = vg_envelope_n_link_tags(env);
    assert_true(n > 0 && n <= 8);
    uint8_t tags[8][VG_HASH_LEN];
    for (size_t k = 0; k < n; k++) {
        memcpy(tags[k], vg_envelope_link_tag(env, k), VG_HASH_LEN);
    }
    assert_int_equal(vgb_store_add_link_tags(x->s, seq, (const uint8_t(*)[VG_HASH_LEN])tags, n),
                     VG_OK);
    if (i == 0) {
        return;
    }
    vg_audit_event ev = {.kind = VG_AUDIT_LINKED,
                         .time_ms = (uint64_t)(T0 + i),
                         .has_alert_id = true,
                         .n_alerts = (size_t)i};
    memcpy(ev.alert_id, vg_envelope_id(env), VG_ALERT_ID_LEN);
    ev.alerts = calloc((size_t)i, VG_ALERT_ID_LEN);
    assert_non_null(ev.alerts);
    for (int k = 0; k < i; k++) {
        memcpy(ev.alerts[k], vg_envelope_id(x->f->env[k]), VG_ALERT_ID_LEN);
    }
    (void)s_leaf(x->s, x->a, &ev, seq);
    free(ev.alerts);
}

/* Alert i as the broker records it (publish.c, receipt.c, record.c,
 * links.c): accepted (licensing and childrens-services required, deadline
 * T0 + 100) and linked, delivered to both, acknowledged by
 * childrens-services on time and by licensing at ack_ms (late, on time,
 * late), each with its events and leaf. */
static void
s_fill_alert(s_fill_ctx *x, int i, int64_t ack_ms, const char *officer)
{
    const vg_envelope *env = x->f->env[i];
    vg_strlist req = {0}; /* the policy's */
    assert_int_equal(vg_envelope_check_policy(env, x->f->net->doc, &req, NULL, NULL), VG_OK);
    uint64_t seq = 0;
    vg_reason why = {{0}};
    assert_int_equal(vgb_store_insert_alert(x->s, env, T0 + i, &req, T0 + 100, &seq, &why), VG_OK);
    vg_strlist_fini(&req);
    s_events(x->s, x->ev, 1, seq, T0 + i, "police", "", NULL, 0);
    vg_audit_event ev = {.kind = VG_AUDIT_ACCEPTED,
                         .time_ms = (uint64_t)(T0 + i),
                         .has_alert_id = true,
                         .version = vg_envelope_network_version(env)};
    memcpy(ev.alert_id, vg_envelope_id(env), VG_ALERT_ID_LEN);
    snprintf(ev.sender, sizeof ev.sender, "%s", vg_envelope_sender(env));
    memcpy(ev.hash, vg_envelope_hash(env), VG_HASH_LEN);
    const vg_strlist *rc = vg_envelope_recipients(env);
    for (size_t k = 0; k < rc->n; k++) {
        assert_int_equal(vg_strlist_add(&ev.agencies, rc->items[k]), VG_OK);
    }
    (void)s_leaf(x->s, x->a, &ev, seq);
    vg_audit_event_fini(&ev);
    s_link(x, i, seq);
    s_delivered(x, seq, env, "licensing", T0 + 10 + i);
    s_delivered(x, seq, env, "childrens-services", T0 + 10 + i);
    s_acked(x, seq, env, "childrens-services", T0 + 20 + i, "SW D");
    s_acked(x, seq, env, "licensing", ack_ms, officer);
}

/* Writes the network document, the alerts, their receipts, events and
 * leaves and a checkpoint into s, as the broker does: a store that
 * verifies. */
static void
s_fill(fx *f, vgb_store *s)
{
    s_fill_ctx x = {.f = f, .s = s};
    vg_reason why = {{0}};
    assert_int_equal(vgb_audit_open(&x.a, s, vg_netdoc_network(f->net->doc), f->net->broker, &why),
                     VG_OK);
    assert_int_equal(vgb_store_begin(s, &why), VG_OK);
    uint64_t version = vg_netdoc_version(f->net->doc);
    size_t len = 0;
    const uint8_t *doc = vg_netdoc_signed_bytes(f->net->doc, &len);
    assert_int_equal(vgb_store_add_network_document(s, version, doc, len, &why), VG_OK);
    assert_int_equal(vgb_store_set_network_version(s, version, &why), VG_OK);
    /* Late, on time, late: acknowledged rows' "late by" is fixed, not now's. */
    static const int64_t ack[N_ALERTS] = {T0 + 500, T0 + 50, T0 + 300};
    static const char *const officer[N_ALERTS] = {"Sgt A", "Sgt B", "Sgt C"};
    for (int i = 0; i < N_ALERTS; i++) {
        s_fill_alert(&x, i, ack[i], officer[i]);
    }
    assert_int_equal(vgb_audit_checkpoint_sign(x.a, T0 + 1000, NULL, &why), VG_OK);
    assert_int_equal(vgb_store_commit(s, &why), VG_OK);
    vgb_audit_destroy(&x.a);
}

static int
s_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->srv = vt_pg_start(NULL);
    char *owner = vt_pg_dsn(f->srv, "vigil", "vigil_owner");
    vgb_store *s = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vgb_store_open_dsn(&s, owner, &why), VG_OK); /* makes the schema */
    vgb_store_destroy(&s);
    free(owner);
    f->dsn = vt_pg_dsn(f->srv, "vigil", "vigil_broker");
    f->audit_dsn = vt_pg_dsn(f->srv, "vigil", "vigil_audit");
    f->dir = vt_tmpdir_new();
    f->store = vt_path(f->dir, "store");
    f->netfile = vt_path(f->dir, "network.signed");
    f->net = vt_net_new(4);
    vt_write_file(f->netfile, f->net->signed_doc, f->net->signed_len, 0644);
    vg_hex_encode(f->admin_hex, sizeof f->admin_hex, vg_keyset_sign_pk(f->net->admin),
                  VG_SIGN_PK_LEN);
    static const char *const rcpts[] = {"licensing", "childrens-services"};
    for (int i = 0; i < N_ALERTS; i++) {
        vg_alert a;
        vt_alert_sample(&a, rcpts, 2);
        vg_seal_params p = vt_seal_params(f->net, "police");
        static const uint8_t link_key[1][32] = {{0x33}}; /* the same subjects: one chain */
        p.sequence = (uint64_t)i + 1;
        p.link_keys = link_key;
        p.n_link_keys = 1;
        uint8_t *bytes = NULL;
        size_t len = 0;
        assert_int_equal(vg_envelope_seal(&bytes, &len, NULL, &a, &p, NULL), VG_OK);
        assert_int_equal(vg_envelope_verify(&f->env[i], bytes, len, f->net->doc, NULL), VG_OK);
        vt_alert_fini(&a);
        free(bytes);
    }
    assert_int_equal(vgb_store_open(&s, f->store, &why), VG_OK);
    s_fill(f, s);
    vgb_store_destroy(&s);
    assert_int_equal(vgb_store_open_dsn(&s, f->dsn, &why), VG_OK);
    s_fill(f, s);
    vgb_store_destroy(&s);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fx *f = *state;
    for (int i = 0; i < N_ALERTS; i++) {
        vg_envelope_destroy(&f->env[i]);
    }
    vt_net_destroy(&f->net);
    vt_pg_stop(&f->srv);
    vt_tmpdir_destroy(&f->dir);
    free(f->dsn);
    free(f->audit_dsn);
    free(f->store);
    free(f->netfile);
    free(f);
    return 0;
}

/* Runs vigilctl with args (NULL-ended); its stdout (malloc'ed) and *rc. */
static char *
s_ctl(int *rc, const char *first, ...)
{
    const char *argv[32] = {"vigilctl", first};
    int argc = 2;
    va_list ap;
    va_start(ap, first);
    for (const char *a; argc < 31 && (a = va_arg(ap, const char *)) != NULL;) {
        argv[argc++] = a;
    }
    va_end(ap);
    char path[] = "/tmp/vigil-ctl-out-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stdout);
    int saved = dup(1);
    assert_true(dup2(fd, 1) >= 0);
    *rc = ctl_main(argc, (char **)argv);
    fflush(stdout);
    assert_true(dup2(saved, 1) >= 0);
    close(saved);
    close(fd);
    size_t len = 0;
    char *out = (char *)vt_read_file(path, &len);
    unlink(path);
    return out;
}

/* The report's JSON without its "generated" line (the time it was made). */
static char *
s_report_json(const char *out)
{
    char *copy = malloc(strlen(out) + 1);
    assert_non_null(copy);
    size_t o = 0;
    for (const char *l = out; *l != '\0';) {
        const char *eol = strchr(l, '\n');
        size_t n = eol != NULL ? (size_t)(eol - l) + 1 : strlen(l);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)n, l);
        if (strstr(line, "\"generated\"") == NULL) {
            memcpy(copy + o, l, n);
            o += n;
        }
        l += n;
    }
    copy[o] = '\0';
    return copy;
}

static void
the_report_is_the_same_from_either_back_end(void **state)
{
    fx *f = *state;
    int rc1 = -1, rc2 = -1;
    char *a = s_ctl(&rc1, "report", "--store", f->store, "--network", f->netfile, "--admin-key",
                    f->admin_hex, "--unshared", "--format", "csv", NULL);
    char *b = s_ctl(&rc2, "report", "--dsn", f->audit_dsn, "--network", f->netfile, "--admin-key",
                    f->admin_hex, "--unshared", "--format", "csv", NULL);
    assert_int_equal(rc1, 0);
    assert_int_equal(rc2, 0);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "Sgt A")); /* the two late rows */
    assert_non_null(strstr(a, "Sgt C"));
    free(a);
    free(b);
    a = s_ctl(&rc1, "report", "--store", f->store, "--network", f->netfile, "--admin-key",
              f->admin_hex, "--unshared", "--format", "json", NULL);
    b = s_ctl(&rc2, "report", "--dsn", f->audit_dsn, "--network", f->netfile, "--admin-key",
              f->admin_hex, "--unshared", "--format", "json", NULL);
    assert_int_equal(rc1, 0);
    assert_int_equal(rc2, 0);
    char *ja = s_report_json(a), *jb = s_report_json(b);
    assert_string_equal(ja, jb);
    free(ja);
    free(jb);
    free(a);
    free(b);
}

/* report --linked: one chain of the three alerts, licensing late on two of
 * them and so flagged, the same from either back end. */
static void
the_linked_report_is_the_same_from_either_back_end(void **state)
{
    fx *f = *state;
    int rc1 = -1, rc2 = -1;
    char *a = s_ctl(&rc1, "report", "--store", f->store, "--network", f->netfile, "--admin-key",
                    f->admin_hex, "--linked", NULL);
    char *b = s_ctl(&rc2, "report", "--dsn", f->audit_dsn, "--network", f->netfile, "--admin-key",
                    f->admin_hex, "--linked", NULL);
    assert_int_equal(rc1, 0);
    assert_int_equal(rc2, 0);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "chain 1: 3 linked alerts"));
    assert_null(strstr(a, "chain 2"));
    assert_non_null(strstr(a, "FLAG licensing failed 2 of the 3 warnings it had to acknowledge in "
                              "this chain (never acknowledged 0, late 2)"));
    free(a);
    free(b);
    a = s_ctl(&rc1, "report", "--store", f->store, "--network", f->netfile, "--admin-key",
              f->admin_hex, "--linked", "--format", "json", NULL);
    b = s_ctl(&rc2, "report", "--dsn", f->audit_dsn, "--network", f->netfile, "--admin-key",
              f->admin_hex, "--linked", "--format", "json", NULL);
    assert_int_equal(rc1, 0);
    assert_int_equal(rc2, 0);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "\"late\": 2"));
    free(a);
    free(b);
    a = s_ctl(&rc1, "report", "--store", f->store, "--network", f->netfile, "--admin-key",
              f->admin_hex, "--linked", "--format", "csv", NULL);
    assert_int_equal(rc1, 2); /* csv is for --unshared */
    free(a);
}

static void
audit_verify_and_export_are_the_same_from_either_back_end(void **state)
{
    fx *f = *state;
    int rc1 = -1, rc2 = -1;
    char *a = s_ctl(&rc1, "audit", "verify", "--store", f->store, "--network", f->netfile,
                    "--admin-key", f->admin_hex, NULL);
    char *b = s_ctl(&rc2, "audit", "verify", "--dsn", f->audit_dsn, "--network", f->netfile,
                    "--admin-key", f->admin_hex, NULL);
    assert_int_equal(rc1, 0);
    assert_int_equal(rc2, 0);
    /* accepted, 2 delivered, 2 acknowledged, x3; and 2 linked */
    assert_non_null(strstr(a, "17 leaves"));
    assert_string_equal(a, b);
    free(a);
    free(b);
    char *out_a = vt_path(f->dir, "export-sqlite"), *out_b = vt_path(f->dir, "export-pg");
    a = s_ctl(&rc1, "audit", "export", "--store", f->store, "--network", f->netfile, "--admin-key",
              f->admin_hex, "--out", out_a, NULL);
    b = s_ctl(&rc2, "audit", "export", "--dsn", f->audit_dsn, "--network", f->netfile,
              "--admin-key", f->admin_hex, "--out", out_b, NULL);
    assert_int_equal(rc1, 0);
    assert_int_equal(rc2, 0);
    free(a);
    free(b);
    static const char *const files[] = {"leaves.txt", "key.txt", "checkpoints/17.note"};
    for (size_t i = 0; i < 3; i++) {
        char *pa = vt_path(out_a, files[i]), *pb = vt_path(out_b, files[i]);
        size_t la = 0, lb = 0;
        uint8_t *da = vt_read_file(pa, &la), *db = vt_read_file(pb, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(da, db, la);
        free(da);
        free(db);
        free(pa);
        free(pb);
    }
    free(out_a);
    free(out_b);
}

/* -c broker.conf naming the PostgreSQL store; --dsn needs the network. */
static void
vigilctl_reads_a_postgresql_store_from_broker_conf(void **state)
{
    fx *f = *state;
    char *conf = vt_path(f->dir, "broker.conf");
    char text[1024];
    int len = snprintf(text, sizeof text,
                       "[broker]\nbind = tcp://127.0.0.1:*\n[store]\nbackend = postgresql\n"
                       "dsn = %s\n[network]\ndocument = network.signed\nadmin_key = %s\n",
                       f->audit_dsn, f->admin_hex);
    vt_write_file(conf, text, (size_t)len, 0600);
    int rc = -1;
    char *out = s_ctl(&rc, "audit", "verify", "-c", conf, NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "17 leaves"));
    free(out);
    out = s_ctl(&rc, "report", "-c", conf, "--unshared", NULL);
    assert_int_equal(rc, 0);
    free(out);
    out = s_ctl(&rc, "audit", "verify", "--dsn", f->audit_dsn, NULL);
    assert_int_equal(rc, 2); /* the command line was wrong */
    free(out);
    out = s_ctl(&rc, "report", "--dsn", f->audit_dsn, "--store", f->store, "--unshared", NULL);
    assert_int_equal(rc, 2);
    free(out);
    free(conf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_report_is_the_same_from_either_back_end),
        cmocka_unit_test(the_linked_report_is_the_same_from_either_back_end),
        cmocka_unit_test(audit_verify_and_export_are_the_same_from_either_back_end),
        cmocka_unit_test(vigilctl_reads_a_postgresql_store_from_broker_conf),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
