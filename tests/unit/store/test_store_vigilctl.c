/* test_store_vigilctl.c — vigilctl report, audit verify and audit export read
 * the same from either back end (issue 14): the same alerts, receipts,
 * audit leaves and checkpoint are written through store.h and audit.h into
 * an SQLite store and a PostgreSQL one, and vigilctl (--store DIR, --dsn
 * DSN, and -c broker.conf naming each) must print the same report, verify
 * both logs and export the same files. vigilctl runs in-process
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

/* Writes the alerts, receipts, leaves and a checkpoint into s. */
static void
s_fill(fx *f, vgb_store *s)
{
    vgb_audit *a = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vgb_audit_open(&a, s, vg_netdoc_network(f->net->doc), f->net->broker, &why),
                     VG_OK);
    assert_int_equal(vgb_store_begin(s, &why), VG_OK);
    vg_strlist req = {0};
    assert_int_equal(vg_strlist_add(&req, "licensing"), VG_OK);
    for (int i = 0; i < N_ALERTS; i++) {
        uint64_t seq = 0, idx = 0;
        assert_int_equal(vgb_store_insert_alert(s, f->env[i], T0 + i, &req, T0 + 100, &seq, &why),
                         VG_OK);
        vg_audit_event ev = {.kind = VG_AUDIT_ACCEPTED,
                             .time_ms = (uint64_t)(T0 + i),
                             .has_alert_id = true,
                             .version = vg_envelope_network_version(f->env[i])};
        memcpy(ev.alert_id, vg_envelope_id(f->env[i]), VG_ALERT_ID_LEN);
        snprintf(ev.sender, sizeof ev.sender, "%s", vg_envelope_sender(f->env[i]));
        memcpy(ev.hash, vg_envelope_hash(f->env[i]), VG_HASH_LEN);
        const vg_strlist *rc = vg_envelope_recipients(f->env[i]);
        for (size_t k = 0; k < rc->n; k++) {
            assert_int_equal(vg_strlist_add(&ev.agencies, rc->items[k]), VG_OK);
        }
        assert_int_equal(vgb_audit_append(a, &ev, &idx, &why), VG_OK);
        assert_int_equal(vgb_store_link_leaf(s, seq, idx), VG_OK);
        vg_audit_event_fini(&ev);
        /* every alert names one subject; the last names a second as well */
        uint8_t tags[2][VG_HASH_LEN];
        memset(tags, 0x5a, sizeof tags);
        tags[1][0] = 0x01;
        assert_int_equal(vgb_store_add_link_tags(s, seq, (const uint8_t(*)[VG_HASH_LEN])tags,
                                                 i == N_ALERTS - 1 ? 2 : 1),
                         VG_OK);
    }
    /* Late, on time, late: acknowledged rows' "late by" is fixed, not now's. */
    assert_int_equal(vgb_store_apply_receipt(s, 1, "licensing", VGB_ACKNOWLEDGED, T0 + 500, "Sgt A",
                                             NULL, NULL, T0 + 100),
                     VG_OK);
    assert_int_equal(vgb_store_apply_receipt(s, 2, "licensing", VGB_ACKNOWLEDGED, T0 + 50, "Sgt B",
                                             NULL, NULL, T0 + 100),
                     VG_OK);
    assert_int_equal(vgb_store_apply_receipt(s, 3, "licensing", VGB_ACKNOWLEDGED, T0 + 300, "Sgt C",
                                             NULL, NULL, T0 + 100),
                     VG_OK);
    assert_int_equal(vgb_store_commit(s, &why), VG_OK);
    assert_int_equal(vgb_store_begin(s, &why), VG_OK);
    assert_int_equal(vgb_audit_checkpoint_sign(a, T0 + 1000, NULL, &why), VG_OK);
    assert_int_equal(vgb_store_commit(s, &why), VG_OK);
    vg_strlist_fini(&req);
    vgb_audit_destroy(&a);
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
        p.sequence = (uint64_t)i + 1;
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
    char *a = s_ctl(&rc1, "report", "--store", f->store, "--unshared", "--format", "csv", NULL);
    char *b = s_ctl(&rc2, "report", "--dsn", f->audit_dsn, "--unshared", "--format", "csv", NULL);
    assert_int_equal(rc1, 0);
    assert_int_equal(rc2, 0);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "Sgt A")); /* the two late rows */
    assert_non_null(strstr(a, "Sgt C"));
    free(a);
    free(b);
    a = s_ctl(&rc1, "report", "--store", f->store, "--unshared", "--format", "json", NULL);
    b = s_ctl(&rc2, "report", "--dsn", f->audit_dsn, "--unshared", "--format", "json", NULL);
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
    char *a = s_ctl(&rc1, "report", "--store", f->store, "--linked", NULL);
    char *b = s_ctl(&rc2, "report", "--dsn", f->audit_dsn, "--linked", NULL);
    assert_int_equal(rc1, 0);
    assert_int_equal(rc2, 0);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "chain 1: 3 linked alerts"));
    assert_null(strstr(a, "chain 2"));
    assert_non_null(strstr(a, "FLAG licensing failed 2 of the 3 warnings it had to acknowledge in "
                              "this chain (never acknowledged 0, late 2)"));
    free(a);
    free(b);
    a = s_ctl(&rc1, "report", "--store", f->store, "--linked", "--format", "json", NULL);
    b = s_ctl(&rc2, "report", "--dsn", f->audit_dsn, "--linked", "--format", "json", NULL);
    assert_int_equal(rc1, 0);
    assert_int_equal(rc2, 0);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "\"late\": 2"));
    free(a);
    free(b);
    a = s_ctl(&rc1, "report", "--store", f->store, "--linked", "--format", "csv", NULL);
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
    assert_non_null(strstr(a, "3 leaves"));
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
    static const char *const files[] = {"leaves.txt", "key.txt", "checkpoints/3.note"};
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
    assert_non_null(strstr(out, "3 leaves"));
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
