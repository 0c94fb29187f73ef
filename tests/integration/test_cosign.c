/* store-tamper: rewrites the stopped broker's cosignatures with SQL, as an insider, for audit
 * verify */
/*
 * test_cosign.c — witnesses cosign (docs/audit.md "Cosignatures"), against
 * the real broker (checkpoint_interval = 200ms) and real agents:
 *
 * - three agencies sync, each cosigns the broker's latest checkpoint, the
 *   broker keeps the three, `vigil-agent audit checkpoint` shows the two
 *   others, `vigilctl audit verify` and `audit export` name the cosigners
 *   of the latest checkpoint (the export as a C2SP cosigned note);
 * - as an insider with the stopped broker's store: an altered cosignature,
 *   one forged for an agency that never cosigned, and one moved to another
 *   checkpoint are each named by `audit verify`;
 * - a hostile agency on a raw connection: a cosignature made with another
 *   key, a forged signature, another agency's name, another root (what a
 *   forked view would cosign), a checkpoint the broker never signed, a time
 *   far off — each refused with its code and reason, nothing stored; the
 *   honest one is accepted once, then a duplicate;
 * - an agency that sees a fork refuses to cosign, says so (log, CLI), and
 *   sends no cosignature of any later checkpoint.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "broker_harness.h"
#include "itest.h"
#include "rawclient.h"
#include "store_witness.h"
#include "vigil.pb-c.h"
#include "vigil/agent.h"
#include "vigil/checkpoint.h"
#include "vigil/cosign.h"
#include "vigil/keys.h"
#include "vigil/log.h"
#include "vigil/merkle.h"
#include "vigil/util.h"

#define T_REPLY_MS 5000   /* longest wait for a confirm, a delivery or a proof */
#define T_CP_WAIT_MS 3000 /* longest wait for a checkpoint covering the log */

static const char *const s_conf[] = {"checkpoint_interval=200ms", NULL};

/* Log lines the agent library wrote, counted by message id. */
static size_t s_n_cosigned, s_n_withheld, s_n_fork;

static void
s_sink(vg_log_level level, const char *line, void *ctx)
{
    (void)level;
    (void)ctx;
    s_n_cosigned += strstr(line, " audit.cosigned ") != NULL;
    s_n_withheld += strstr(line, " audit.cosign_withheld ") != NULL;
    s_n_fork += strstr(line, " audit.fork ") != NULL;
}

static int
s_setup(void **state)
{
    *state = NULL;
    s_n_cosigned = s_n_withheld = s_n_fork = 0;
    vg_log_set_sink(s_sink, NULL);
    vg_log_set_level(VG_LOG_INFO);
    return 0;
}

static int
s_teardown(void **state)
{
    bh_destroy((bh_broker **)state);
    vg_log_set_sink(NULL, NULL);
    return 0;
}

static void
s_agent_destroy(void *p)
{
    vga_agent *a = p;
    vga_agent_destroy(&a);
}

static vga_agent *
s_agent(bh_broker *b, const char *agency, bool receive)
{
    return bh_own(b, bh_agent_open(b, agency, receive), s_agent_destroy);
}

/* police publishes a taxi alert to licensing, which acknowledges it. */
static void
s_publish_acked(vga_agent *police, vga_agent *licensing)
{
    vg_alert alert;
    bh_alert_init(&alert, "Taxi driver seen with missing child", "cosign test", "taxi",
                  "licensing");
    vga_confirm res;
    vg_reason why = {{0}};
    vg_err rc = vga_publish(police, &alert, T_REPLY_MS, &res, &why);
    bh_alert_fini(&alert);
    if (rc != VG_OK) {
        fail_msg("publish: %s: %s", vg_err_code(rc), why.text);
    }
    uint8_t id[VG_ALERT_ID_LEN];
    memcpy(id, res.alert_id, sizeof id);
    vga_confirm_fini(&res);
    vg_alert got;
    memset(&got, 0, sizeof got);
    assert_int_equal(vga_receive(licensing, T_REPLY_MS, &got, NULL), VG_OK);
    vg_alert_fini(&got);
    assert_int_equal(vga_ack(licensing, id, "Duty Officer Khan", NULL, T_REPLY_MS, &res, NULL),
                     VG_OK);
    vga_confirm_fini(&res);
}

/* Waits until the broker's latest checkpoint covers the whole log (a
 * cosignature writes no leaf, so it stays the latest); returns its size. */
static uint64_t
s_wait_covered(bh_broker *b, vga_agent *poller)
{
    int64_t end = bh_now_ms() + T_CP_WAIT_MS;
    int64_t size = bh_store_count(b, VGB_COUNT_LEAVES, NULL);
    while (bh_store_checkpoint_size(b) < size && bh_now_ms() < end) {
        vga_poll(poller, 100);
    }
    assert_int_equal(bh_store_checkpoint_size(b), size);
    return (uint64_t)size;
}

static void
s_sync_ok(vga_agent *a)
{
    vg_reason why = {{0}};
    vg_err rc = vga_audit_sync(a, T_REPLY_MS, &why);
    if (rc != VG_OK) {
        fail_msg("%s: audit sync: %s: %s", vga_agent_agency(a), vg_err_code(rc), why.text);
    }
}

/* The stored cosignatures, collected. */
typedef struct s_rows {
    size_t n;
    uint64_t size[16];
    char agency[16][64];
    char line[16][VG_COSIGN_LINE_MAX];
} s_rows;

static void
s_take_row(void *ctx, const vgb_cosign_row *r)
{
    s_rows *rows = ctx;
    if (rows->n < 16) {
        rows->size[rows->n] = r->size;
        snprintf(rows->agency[rows->n], sizeof rows->agency[0], "%s", r->agency);
        snprintf(rows->line[rows->n], sizeof rows->line[0], "%.*s", (int)r->line_len, r->line);
    }
    rows->n++;
}

static s_rows
s_stored(const bh_broker *b)
{
    s_rows rows = {0};
    vgb_store *s = NULL;
    assert_int_equal(bh_store_open(b, &s, NULL), VG_OK);
    assert_int_equal(vgb_store_read_begin(s, NULL), VG_OK);
    assert_int_equal(vgb_store_cosignatures(s, 0, s_take_row, &rows), VG_OK);
    vgb_store_read_end(s);
    vgb_store_destroy(&s);
    return rows;
}

/* The note of the broker's latest checkpoint, from its store. */
static void
s_take_note(void *ctx, const vgb_checkpoint_row *row)
{
    char **note = ctx;
    *note = malloc(row->note_len + 1);
    memcpy(*note, row->note, row->note_len);
    (*note)[row->note_len] = '\0';
}

static char *
s_latest_note(const bh_broker *b)
{
    char *note = NULL;
    vgb_store *s = NULL;
    bool found = false;
    assert_int_equal(bh_store_open(b, &s, NULL), VG_OK);
    assert_int_equal(vgb_store_read_begin(s, NULL), VG_OK);
    assert_int_equal(vgb_store_audit_latest_checkpoint(s, s_take_note, &note, &found), VG_OK);
    vgb_store_read_end(s);
    vgb_store_destroy(&s);
    assert_true(found);
    return note;
}

static void
s_copy(const char *from, const char *to)
{
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(vg_file_read(&data, &len, from, 1u << 30, NULL), VG_OK);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    free(data);
}

/* Restores the clean copy of the stopped broker's store (no WAL left over). */
static void
s_restore(const bh_broker *b, const char *backup)
{
    const char *suffix[] = {"-wal", "-shm"};
    for (size_t i = 0; i < 2; i++) {
        char p[1024];
        snprintf(p, sizeof p, "%s%s", b->db_path, suffix[i]);
        unlink(p);
    }
    s_copy(backup, b->db_path);
}

static void
s_tamper_sql(const bh_broker *b, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(b->db_path, &db), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fail_msg("tamper '%s': %s", sql, err ? err : "?");
    }
    sqlite3_close(db);
}

/* `vigilctl audit verify -c broker.conf`: exit 0 with `want` in stdout, or
 * exit 1 naming the fault `want`. */
static void
s_verify(const bh_broker *b, int want_status, const char *want)
{
    it_run r;
    it_vigilctl(&r, "audit", "verify", "-c", b->conf);
    if (r.status != want_status || !it_contains(r.out, want)) {
        fail_msg("audit verify: expected exit %d with '%s'; exit %d\nstdout: %s\nstderr: %s",
                 want_status, want, r.status, r.out, r.err);
    }
    it_run_fini(&r);
}

/* ---- three agencies cosign --------------------------------------------------------- */

static void
test_three_agencies_cosign(void **state)
{
    bh_broker *b = bh_new(s_conf);
    *state = b;
    bh_start(b);
    vga_agent *police = s_agent(b, "police", false);
    vga_agent *licensing = s_agent(b, "licensing", true);
    vga_agent *cs = s_agent(b, "childrens-services", false);
    s_publish_acked(police, licensing);
    uint64_t size = s_wait_covered(b, police);
    s_sync_ok(police);
    s_sync_ok(licensing);
    assert_int_equal(s_n_cosigned, 2);
    assert_int_equal(bh_log_wait(b, "cosign.accept", "agency=licensing", T_REPLY_MS), 1);
    s_sync_ok(licensing); /* the same checkpoint is cosigned once per process */
    assert_int_equal(s_n_cosigned, 2);

    /* the third through the CLI, which shows the two others */
    char *cs_conf = bh_own(b, bh_agent_conf(b, "childrens-services"), free);
    it_run r;
    it_exec(&r, "vigil-agent", (const char *const[]){"-c", cs_conf, "audit", "checkpoint", NULL});
    it_assert_ok(&r);
    char want[128];
    snprintf(want, sizeof want, "cosigned size %llu: this agency and 2 other agencies of 5 (",
             (unsigned long long)size);
    if (!it_contains(r.out, want) || !it_contains(r.out, "licensing") ||
        !it_contains(r.out, "police")) {
        fail_msg("audit checkpoint output lacks '%s':\n%s", want, r.out);
    }
    it_run_fini(&r);
    it_exec(&r, "vigil-agent",
            (const char *const[]){"-c", cs_conf, "audit", "checkpoint", "--json", NULL});
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "\"others\":2") && it_contains(r.out, "\"mine\":true"));
    it_run_fini(&r);

    /* the library's view from another agency: three, each verified */
    vga_cosigners co;
    assert_int_equal(vga_audit_cosigners(cs, T_REPLY_MS, &co, NULL), VG_OK);
    assert_int_equal(co.size, size);
    assert_int_equal(co.agencies.n, 3);
    assert_true(co.mine);
    assert_int_equal(co.n_bad, 0);
    vga_cosigners_fini(&co);
    s_rows rows = s_stored(b);
    assert_int_equal(rows.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(rows.size[i], size);
    }
    assert_string_equal(rows.agency[0], "childrens-services");
    assert_string_equal(rows.agency[1], "licensing");
    assert_string_equal(rows.agency[2], "police");

    /* vigilctl: verify and export name them */
    snprintf(want, sizeof want,
             "3 cosignatures verified; the latest checkpoint (size %llu) is cosigned by 3 of 5 "
             "agencies: childrens-services, licensing, police",
             (unsigned long long)size);
    s_verify(b, 0, want);
    char *out = bh_own(b, it_path(b->tmp, "export"), free);
    it_vigilctl(&r, "audit", "export", "-c", b->conf, "--out", out);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "and 3 cosignatures") && it_contains(r.out, want));
    it_run_fini(&r);
    char name[64];
    snprintf(name, sizeof name, "cosigned/%llu.note", (unsigned long long)size);
    char *path = it_path(out, name);
    uint8_t *text = NULL;
    size_t len = 0;
    assert_int_equal(vg_file_read(&text, &len, path, 1 << 20, NULL), VG_OK);
    free(path);
    char *note = s_latest_note(b);
    assert_true(len > strlen(note) && memcmp(text, note, strlen(note)) == 0); /* C2SP: the note, */
    for (size_t i = 0; i < 3; i++) { /* then one line per cosignature */
        assert_true(it_contains((const char *)text, rows.line[i]));
    }
    free(note);
    free(text);

    /* an insider rewrites the stopped broker's cosignatures: verify names each */
    bh_stop(b);
    char sql[512];
    char *backup = bh_own(b, it_path(b->tmp, "clean.db"), free);
    s_copy(b->db_path, backup);
    s_tamper_sql(b, "UPDATE cosignatures SET line = replace(line, substr(line, -10, 1),"
                    " CASE substr(line, -10, 1) WHEN 'A' THEN 'B' ELSE 'A' END)"
                    " WHERE agency = 'licensing'");
    s_verify(b, 1, "FAULT cosignature table=cosignatures agency=licensing");
    s_restore(b, backup);
    snprintf(sql, sizeof sql,
             "INSERT INTO cosignatures SELECT size, 'home-office', replace(line, '%s',"
             " 'home-office'), time_s, received_ms FROM cosignatures WHERE agency = 'police'",
             "police");
    s_tamper_sql(b, sql);
    s_verify(b, 1, "FAULT cosignature table=cosignatures agency=home-office");
    s_restore(b, backup);
    s_tamper_sql(b, "UPDATE cosignatures SET size = size - 1 WHERE agency = 'police'");
    s_verify(b, 1, "FAULT cosignature table=cosignatures agency=police");
    s_restore(b, backup);
    s_tamper_sql(b, "UPDATE cosignatures SET time_s = time_s + 1 WHERE agency = 'police'");
    s_verify(b, 1, "agency=police");
    s_restore(b, backup);
    s_verify(b, 0, want);
    bh_pass(b);
}

/* ---- a hostile agency on a raw connection --------------------------------------------- */

/* Sends Cosign { size, line } as the raw client's agency; the Confirm. */
static Vigil__BrokerFrame *
s_send_cosign(rc_client *c, uint64_t size, const char *line)
{
    Vigil__Cosign cs = VIGIL__COSIGN__INIT;
    cs.tree_size = size;
    cs.cosignature = (char *)line;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = rc_next_request(c);
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_COSIGN;
    f.cosign = &cs;
    rc_send_frame(c, &f);
    return rc_expect_confirm(c, f.request_id, T_REPLY_MS);
}

/* Expects the cosignature refused with code, its reason naming `reason`. */
static void
s_refused(rc_client *c, uint64_t size, const char *line, Vigil__RejectCode code, const char *reason)
{
    Vigil__BrokerFrame *f = s_send_cosign(c, size, line);
    Vigil__Confirm *cf = f->confirm;
    if (cf->status != VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED || cf->code != code ||
        !it_contains(cf->reason, reason)) {
        fail_msg("cosignature '%s' of size %llu: status %d code %d reason '%s' (want code %d, "
                 "'%s')",
                 line, (unsigned long long)size, cf->status, cf->code, cf->reason, code, reason);
    }
    rc_frame_free(f);
}

static void
s_identity_destroy(void *p)
{
    vga_identity *id = p;
    vga_identity_destroy(&id);
}

static void
test_forged_or_wrong_key_cosignatures_are_refused(void **state)
{
    bh_broker *b = bh_new(s_conf);
    *state = b;
    bh_start(b);
    vga_agent *police = s_agent(b, "police", false);
    vga_agent *licensing = s_agent(b, "licensing", true);
    s_publish_acked(police, licensing);
    uint64_t size = s_wait_covered(b, police);
    char *note = bh_own(b, s_latest_note(b), free);
    size_t body_len = 0;
    assert_int_equal(vg_cosign_body(&body_len, note, strlen(note)), VG_OK);
    vga_identity *id = bh_own(b, bh_identity(b, "licensing"), s_identity_destroy);
    const vg_keyset *keys = vga_identity_keys(id);
    char *conf = bh_own(b, bh_agent_conf(b, "licensing"), free);
    rc_client *c = rc_new_agency(conf);
    rc_hello(c, false);
    uint64_t now_s = (uint64_t)rc_wall_ms() / 1000;
    char line[VG_COSIGN_LINE_MAX];

    /* signed with another key under licensing's name */
    vg_keyset *other = NULL;
    assert_int_equal(vg_keyset_generate(&other, VG_KEY_SIGN), VG_OK);
    assert_int_equal(
        vg_cosign_sign(line, sizeof line, note, body_len, "licensing", now_s, other, NULL), VG_OK);
    vg_keyset_destroy(&other);
    s_refused(c, size, line, VIGIL__REJECT_CODE__REJECT_UNKNOWN_SENDER, "another key");

    /* a forged signature: one byte of it changed */
    assert_int_equal(
        vg_cosign_sign(line, sizeof line, note, body_len, "licensing", now_s, keys, NULL), VG_OK);
    char forged[VG_COSIGN_LINE_MAX];
    snprintf(forged, sizeof forged, "%s", line);
    char *sig = forged + strlen(forged) - 30;
    *sig = *sig == 'A' ? 'B' : 'A';
    s_refused(c, size, forged, VIGIL__REJECT_CODE__REJECT_BAD_SIGNATURE, "does not verify");

    /* police's name, on licensing's connection */
    char as_police[VG_COSIGN_LINE_MAX];
    assert_int_equal(
        vg_cosign_sign(as_police, sizeof as_police, note, body_len, "police", now_s, keys, NULL),
        VG_OK);
    s_refused(c, size, as_police, VIGIL__REJECT_CODE__REJECT_SENDER_MISMATCH,
              "arrived on the connection of 'licensing'");

    /* the same size with another root: what an agency shown a fork would cosign */
    char *forked = vg_strdup(note);
    char *root = strchr(strchr(forked, '\n') + 1, '\n') + 1;
    root[0] = root[0] == 'A' ? 'B' : 'A';
    char other_root[VG_COSIGN_LINE_MAX];
    assert_int_equal(vg_cosign_sign(other_root, sizeof other_root, forked, body_len, "licensing",
                                    now_s, keys, NULL),
                     VG_OK);
    free(forked);
    s_refused(c, size, other_root, VIGIL__REJECT_CODE__REJECT_BAD_SIGNATURE,
              "does not verify over this checkpoint");

    /* a checkpoint the broker never signed, a time a day off, not a cosignature */
    s_refused(c, size + 1000, line, VIGIL__REJECT_CODE__REJECT_NOT_FOUND,
              "signed no checkpoint of size");
    char stale[VG_COSIGN_LINE_MAX];
    assert_int_equal(
        vg_cosign_sign(stale, sizeof stale, note, body_len, "licensing", now_s - 86400, keys, NULL),
        VG_OK);
    s_refused(c, size, stale, VIGIL__REJECT_CODE__REJECT_CLOCK_SKEW, "cosignature");
    s_refused(c, size, "looks fine to me", VIGIL__REJECT_CODE__REJECT_MALFORMED,
              "tlog-cosignature");
    assert_int_equal(s_stored(b).n, 0); /* nothing of them was kept */

    /* the honest one: kept once */
    Vigil__BrokerFrame *f = s_send_cosign(c, size, line);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    rc_frame_free(f);
    f = s_send_cosign(c, size, line);
    assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE);
    rc_frame_free(f);
    rc_destroy(&c);
    s_rows rows = s_stored(b);
    assert_int_equal(rows.n, 1);
    assert_string_equal(rows.agency[0], "licensing");
    assert_string_equal(rows.line[0], line);
    assert_int_equal(bh_log_count(b, "cosign.reject", "agency=licensing"), 7);
    /* every refusal is in the log and the store still answers to it */
    bh_stop(b);
    s_verify(b, 0, "1 cosignature verified");
    bh_pass(b);
}

/* ---- an agency that sees a fork ----------------------------------------------------- */

static void
test_an_agency_that_sees_a_fork_refuses_to_cosign(void **state)
{
    bh_broker *b = bh_new(s_conf);
    *state = b;
    bh_start(b);
    vga_agent *police = s_agent(b, "police", false);
    vga_agent *licensing = s_agent(b, "licensing", true);
    vga_agent *cs = s_agent(b, "childrens-services", false);
    s_publish_acked(police, licensing);
    uint64_t first = s_wait_covered(b, police);
    s_sync_ok(cs);
    assert_int_equal(s_n_cosigned, 1);

    /* a note the broker's key signed, of the held size with another root */
    vga_audit_checkpoint held;
    assert_int_equal(vga_audit_latest(cs, &held, NULL), VG_OK);
    char *key_path = it_path(b->net, "broker/broker.key");
    vg_keyset *broker = NULL;
    assert_int_equal(vg_keyset_load(&broker, key_path, NULL), VG_OK);
    free(key_path);
    uint8_t other_root[VG_MERKLE_HASH_LEN];
    memcpy(other_root, held.root, sizeof other_root);
    other_root[0] ^= 1;
    vg_checkpoint *forged = NULL;
    assert_int_equal(vg_checkpoint_sign(&forged, held.origin, held.size, other_root, broker, NULL),
                     VG_OK);
    vg_keyset_destroy(&broker);
    vga_audit_checkpoint_fini(&held);
    vg_reason why = {{0}};
    assert_int_equal(vga_audit_witness(cs, vg_checkpoint_note(forged),
                                       vg_checkpoint_note_len(forged), T_REPLY_MS, &why),
                     VG_ERR_CONFLICT);
    vg_checkpoint_destroy(&forged);
    assert_int_equal(s_n_fork, 1);

    /* the log grows; cs refuses to cosign any of it, and says so once */
    s_publish_acked(police, licensing);
    uint64_t later = s_wait_covered(b, police);
    assert_true(later > first);
    assert_int_equal(vga_audit_sync(cs, T_REPLY_MS, &why), VG_ERR_CONFLICT);
    assert_true(it_contains(why.text, "fork"));
    assert_int_equal(vga_audit_sync(cs, T_REPLY_MS, NULL), VG_ERR_CONFLICT);
    assert_int_equal(s_n_withheld, 1);
    char *cs_conf = bh_own(b, bh_agent_conf(b, "childrens-services"), free);
    it_run r;
    it_exec(&r, "vigil-agent", (const char *const[]){"-c", cs_conf, "audit", "checkpoint", NULL});
    if (r.status != 1 || !it_contains(r.err, "AUDIT FAULT") ||
        !it_contains(r.err, "refuses to cosign")) {
        fail_msg("audit checkpoint after a fork: exit %d\nstdout: %s\nstderr: %s", r.status, r.out,
                 r.err);
    }
    it_run_fini(&r);

    /* police, not forked, cosigns the later checkpoint; cs only the first */
    s_sync_ok(police);
    s_rows rows = s_stored(b);
    assert_int_equal(rows.n, 2);
    assert_int_equal(rows.size[0], first);
    assert_string_equal(rows.agency[0], "childrens-services");
    assert_int_equal(rows.size[1], later);
    assert_string_equal(rows.agency[1], "police");
    bh_pass(b);
}

/* ---- the network document requires k cosignatures ---------------------------------- */

/* Sets net/network/network.json's "witnessing" and signs it again;
 * want_status 0, or 1 with `refusal` in what vigilctl says. */
static void
s_require(const bh_broker *b, const char *witnessing, int want_status, const char *refusal)
{
    char *p = it_path(b->net, "network/network.json");
    json_error_t jerr;
    json_t *root = json_load_file(p, 0, &jerr);
    assert_non_null(root);
    json_object_set_new(root, "witnessing", json_loads(witnessing, 0, &jerr));
    assert_int_equal(json_dump_file(root, p, JSON_INDENT(2)), 0);
    json_decref(root);
    free(p);
    it_run r;
    it_vigilctl(&r, "network", "sign", "--dir", b->net);
    if (r.status != want_status ||
        (refusal != NULL && !it_contains(r.err, refusal) && !it_contains(r.out, refusal))) {
        fail_msg("network sign with witnessing %s: exit %d (want %d, '%s')\nstdout: %s\nstderr: %s",
                 witnessing, r.status, want_status, refusal ? refusal : "", r.out, r.err);
    }
    it_run_fini(&r);
}

/* UNWITNESSED events of one agency's stream, their details joined. */
typedef struct s_alarms {
    size_t n;
    char detail[256];
} s_alarms;

static void
s_take_alarm(void *ctx, const vgb_event_row *ev)
{
    s_alarms *a = ctx;
    if (ev->kind == VIGIL__EVENT_KIND__EVENT_UNWITNESSED) {
        a->n++;
        snprintf(a->detail, sizeof a->detail, "%s", ev->detail);
    }
}

static s_alarms
s_alarms_of(const bh_broker *b, const char *agency)
{
    s_alarms a = {0};
    (void)bh_store_each_event(b, agency, s_take_alarm, &a);
    return a;
}

static void
test_a_checkpoint_short_of_cosignatures_alarms_oversight(void **state)
{
    bh_broker *b = bh_new(s_conf);
    *state = b;
    /* what the administrator cannot ask for */
    s_require(b, "{\"cosignatures\": 6, \"within\": \"1s\"}", 1, "only 5 agencies");
    s_require(b, "{\"cosignatures\": 2, \"within\": \"0s\"}", 1, "\"within\" must be a duration");
    s_require(b, "{\"cosignatures\": 2}", 1, "within");
    s_require(b, "{\"cosignatures\": 2, \"within\": \"1s\"}", 0, NULL);
    bh_start(b);
    vga_agent *police = s_agent(b, "police", false);
    vga_agent *licensing = s_agent(b, "licensing", true);
    s_publish_acked(police, licensing);
    uint64_t size = s_wait_covered(b, police);

    /* nobody cosigns: a second later oversight hears of it, and only oversight */
    if (bh_log_wait(b, "audit.unwitnessed", "required=2", 4000) != 1) {
        fail_msg("no audit.unwitnessed alarm 4 s after checkpoint %llu was signed",
                 (unsigned long long)size);
    }
    s_alarms a = s_alarms_of(b, "oversight");
    int64_t end = bh_now_ms() + T_REPLY_MS;
    while (a.n == 0 && bh_now_ms() < end) { /* the alarm's batch commits after its log line */
        bh_sleep_ms(50);
        a = s_alarms_of(b, "oversight");
    }
    assert_int_equal(a.n, 1);
    assert_true(it_contains(a.detail, "cosigned=0 required=2 within=1s"));
    assert_int_equal(s_alarms_of(b, "police").n, 0);
    assert_int_equal(s_alarms_of(b, "licensing").n, 0);
    assert_int_equal(bh_store_count_leaves(b, VG_AUDIT_UNWITNESSED, NULL), 1);

    /* two agencies cosign what covers the alarm too: no further alarm */
    s_wait_covered(b, police);
    s_sync_ok(police);
    s_sync_ok(licensing);
    bh_sleep_ms(2500);
    assert_int_equal(bh_log_count(b, "audit.unwitnessed", NULL), 1);
    assert_int_equal(s_alarms_of(b, "oversight").n, 1);

    /* the log, the events the alarm wrote and the cosignatures verify */
    bh_stop(b);
    s_verify(b, 0, "is cosigned by 2 of 5 agencies: licensing, police");
    bh_pass(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_three_agencies_cosign, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_forged_or_wrong_key_cosignatures_are_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_an_agency_that_sees_a_fork_refuses_to_cosign, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_a_checkpoint_short_of_cosignatures_alarms_oversight,
                                        s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
