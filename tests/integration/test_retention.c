/* store-tamper: rewrites the stopped broker's store with SQL, as an insider, for audit verify */
/*
 * test_retention.c — retention without breaking proof, against the real
 * broker and the real CLIs (docs/audit.md "Retention"). The network
 * document keeps exercise alerts for 1 s and says nothing of actual ones
 * (kept for ever). Police publishes exercise and actual alerts that
 * licensing receives and acknowledges; then, as an administrator would:
 *
 * - `vigilctl purge --dry-run` lists what would go and changes nothing;
 * - `vigilctl hold add` keeps an exercise alert; `vigilctl purge` purges
 *   the others: the bytes of their stored envelopes are in neither the
 *   database file nor its WAL any more (SQLite), their link tags are gone,
 *   `vigil-agent status` says purged, `vigil-agent audit prove` still
 *   proves every leaf, `vigilctl audit verify` passes and counts them;
 * - a hold lifted lets the next purge take that alert too;
 * - the scheduled purge (purge_interval) does the same without being asked;
 * - as an insider with the broker stopped: emptying an envelope outside
 *   the log is "missing", not "purged"; deleting a purges or legal_holds
 *   row, or putting back a hold, is caught and named.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "broker_harness.h"
#include "itest.h"
#include "store_retain.h"
#include "vigil/agent.h"
#include "vigil/util.h"

#define T_REPLY_MS 5000
#define T_RETAIN_MS 1000   /* exercise alerts' content retention in this network */
#define T_SLICE_LEN 48     /* bytes of a stored envelope looked for in the files */
#define T_SCHEDULE_MS 8000 /* longest wait for the scheduled purge (interval 500ms) */

static int
s_teardown(void **state)
{
    bh_destroy((bh_broker **)state);
    return 0;
}

static void
s_agent_destroy(void *p)
{
    vga_agent *a = p;
    vga_agent_destroy(&a);
}

static bool
s_pg(void)
{
    const char *v = getenv("VG_TEST_STORE");
    return v != NULL && strcmp(v, "postgresql") == 0;
}

/* The network: exercise alerts kept T_RETAIN_MS, their link tags for
 * tags (NULL: as long); actual ones for ever (no rule). Signed as an
 * administrator does. */
static bh_broker *
s_network_tags(void **state, const char *const *conf, const char *tags)
{
    bh_broker *b = bh_new(conf);
    *state = b;
    char *path = it_path(b->net, "network/network.json");
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (doc == NULL) {
        fail_msg("%s: %s", path, jerr.text);
    }
    json_t *rule = json_pack("{s:s, s:s}", "status", "exercise", "content", "1s");
    if (tags != NULL) {
        json_object_set_new(rule, "tags", json_string(tags));
    }
    json_object_set_new(doc, "retention", json_pack("[o]", rule));
    assert_int_equal(json_dump_file(doc, path, JSON_INDENT(2)), 0);
    json_decref(doc);
    free(path);
    it_run r;
    it_vigilctl(&r, "network", "sign", "--dir", b->net);
    it_assert_ok(&r);
    it_run_fini(&r);
    bh_start(b);
    return b;
}

static bh_broker *
s_network(void **state, const char *const *conf)
{
    return s_network_tags(state, conf, NULL);
}

/* police publishes (status) to licensing, which receives and acknowledges;
 * childrens-services (the policy names it too) receives its copy. */
static void
s_publish_acked(vga_agent *police, vga_agent *licensing, vga_agent *cs, vg_status status,
                uint8_t id[VG_ALERT_ID_LEN])
{
    vg_alert alert;
    bh_alert_init(&alert, "Taxi TL-2002-0417 seen outside the children's home", "retention test",
                  "taxi", "licensing");
    alert.status = status;
    vga_confirm res;
    vg_reason why = {{0}};
    vg_err rc = vga_publish(police, &alert, T_REPLY_MS, &res, &why);
    bh_alert_fini(&alert);
    vga_confirm_fini(&res);
    if (rc != VG_OK) {
        fail_msg("publish: %s: %s", vg_err_code(rc), why.text);
    }
    memcpy(id, res.alert_id, VG_ALERT_ID_LEN);
    vg_alert got;
    memset(&got, 0, sizeof got);
    rc = vga_receive(licensing, T_REPLY_MS, &got, &why);
    if (rc != VG_OK) {
        fail_msg("licensing received nothing: %s: %s", vg_err_code(rc), why.text);
    }
    vg_alert_fini(&got);
    memset(&got, 0, sizeof got); /* the policy names it too: its copy, delivered */
    rc = vga_receive(cs, T_REPLY_MS, &got, &why);
    if (rc != VG_OK) {
        fail_msg("childrens-services received nothing: %s: %s", vg_err_code(rc), why.text);
    }
    vg_alert_fini(&got);
    rc = vga_ack(licensing, id, "Duty Officer Khan", NULL, T_REPLY_MS, &res, &why);
    vga_confirm_fini(&res);
    if (rc != VG_OK) {
        fail_msg("ack: %s: %s", vg_err_code(rc), why.text);
    }
}

/* A vigil-agent command as agency. */
static void
s_agent_cli(it_run *r, const bh_broker *b, const char *agency, const char *a1, const char *a2,
            const char *a3)
{
    char *conf = bh_agent_conf(b, agency);
    it_exec(r, "vigil-agent", (const char *const[]){"-c", conf, a1, a2, a3, NULL});
    free(conf);
}

static void
s_expect(const it_run *r, int status, const char *what)
{
    if (r->status != status) {
        fail_msg("%s: exit %d, wanted %d\nstdout: %s\nstderr: %s", what, r->status, status, r->out,
                 r->err);
    }
}

/* Whether the file holds the bytes (a missing file holds nothing). */
static bool
s_file_has(const char *path, const uint8_t *needle, size_t len)
{
    uint8_t *bytes = NULL;
    size_t n = 0;
    vg_reason why = {{0}};
    if (vg_file_read(&bytes, &n, path, (size_t)1 << 30, &why) != VG_OK) {
        return false;
    }
    bool found = n >= len && memmem(bytes, n, needle, len) != NULL;
    free(bytes);
    return found;
}

/* Whether the database file or its WAL holds the bytes. */
static bool
s_store_has(const bh_broker *b, const uint8_t *needle, size_t len)
{
    char wal[4200];
    snprintf(wal, sizeof wal, "%s-wal", b->db_path);
    return s_file_has(b->db_path, needle, len) || s_file_has(wal, needle, len);
}

static void
s_hex(char out[2 * VG_ALERT_ID_LEN + 1], const uint8_t id[VG_ALERT_ID_LEN])
{
    vg_hex_encode(out, 2 * VG_ALERT_ID_LEN + 1, id, VG_ALERT_ID_LEN);
}

/* `vigilctl audit verify`: its exit status; its output into out (malloc'ed). */
static int
s_verify(const bh_broker *b, char **out)
{
    it_run r;
    it_vigilctl(&r, "audit", "verify", "-c", b->conf);
    int st = r.status;
    size_t n = strlen(r.out) + strlen(r.err) + 2;
    *out = malloc(n);
    snprintf(*out, n, "%s\n%s", r.out, r.err);
    it_run_fini(&r);
    return st;
}

/* ---- purge, hold, verify, prove ---------------------------------------------------- */

static void
test_purge_keeps_the_proof(void **state)
{
    bh_broker *b = s_network(
        state, (const char *const[]){"checkpoint_interval=200ms", "purge_interval=0s", NULL});
    vga_agent *police = bh_own(b, bh_agent_open(b, "police", false), s_agent_destroy);
    vga_agent *lic = bh_own(b, bh_agent_open(b, "licensing", true), s_agent_destroy);
    vga_agent *cs = bh_own(b, bh_agent_open(b, "childrens-services", true), s_agent_destroy);
    uint8_t ex[VG_ALERT_ID_LEN], held[VG_ALERT_ID_LEN], actual[VG_ALERT_ID_LEN];
    s_publish_acked(police, lic, cs, VG_STATUS_EXERCISE, ex);
    s_publish_acked(police, lic, cs, VG_STATUS_EXERCISE, held);
    s_publish_acked(police, lic, cs, VG_STATUS_ACTUAL, actual);
    char ex_hex[33], held_hex[33], actual_hex[33];
    s_hex(ex_hex, ex);
    s_hex(held_hex, held);
    s_hex(actual_hex, actual);

    /* A slice of the exercise alert's stored envelope: ciphertext and sealed keys. */
    size_t env_len = 0;
    uint8_t *env = bh_store_envelope(b, ex, &env_len);
    assert_non_null(env);
    assert_true(env_len > 2 * T_SLICE_LEN);
    uint8_t slice[T_SLICE_LEN];
    memcpy(slice, env + env_len / 2, T_SLICE_LEN);
    free(env);
    if (!s_pg()) {
        assert_true(s_store_has(b, slice, sizeof slice)); /* the check below can fail */
    }

    it_run r;
    it_vigilctl(&r, "hold", "add", "-c", b->conf, held_hex, "--reason", "Inquiry 2026/7", "--by",
                "A. Clerk");
    it_assert_ok(&r);
    it_run_fini(&r);
    it_vigilctl(&r, "hold", "add", "-c", b->conf, held_hex, "--reason", "again");
    it_assert_status(&r, 1); /* held already: said, nothing changes */
    assert_true(it_contains(r.err, "already"));
    it_run_fini(&r);
    bh_sleep_ms(T_RETAIN_MS + 200);

    it_vigilctl(&r, "purge", "-c", b->conf, "--dry-run");
    it_assert_ok(&r);
    if (!it_contains(r.out, "would purge 1 alert;")) {
        fail_msg("dry run: %s %s", r.out, r.err);
    }
    assert_true(it_contains(r.out, ex_hex));
    assert_true(it_contains(r.out, "legal hold"));
    assert_false(it_contains(r.out, actual_hex));
    it_run_fini(&r);
    assert_int_equal(bh_store_count(b, VGB_COUNT_PURGES, NULL), 0); /* a dry run changes nothing */

    it_vigilctl(&r, "purge", "-c", b->conf);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "ok purged 1 alert;"));
    assert_true(it_contains(r.out, "kept under a legal hold: 1"));
    it_run_fini(&r);
    size_t len = 0;
    uint8_t *kept = bh_store_envelope(b, held, &len);
    assert_true(kept != NULL && len > 0);
    free(kept);
    if (!s_pg()) {
        assert_false(s_store_has(b, slice, sizeof slice));
    }
    assert_int_equal(bh_store_count_leaves(b, VG_AUDIT_PURGED, NULL), 1);
    assert_int_equal(bh_store_count_leaves(b, VG_AUDIT_HELD, NULL), 1);

    s_agent_cli(&r, b, "licensing", "status", ex_hex, NULL);
    s_expect(&r, 0, "status of the purged alert");
    assert_true(it_contains(r.out, "purged "));
    assert_true(it_contains(r.out, "its record and proofs remain"));
    it_run_fini(&r);
    s_agent_cli(&r, b, "licensing", "status", ex_hex, "--json");
    s_expect(&r, 0, "status --json of the purged alert");
    assert_true(it_contains(r.out, "\"purged\":\"20"));
    assert_true(it_contains(r.out, "\"legal_hold\":false"));
    it_run_fini(&r);
    s_agent_cli(&r, b, "police", "status", held_hex, NULL);
    s_expect(&r, 0, "status of the held alert");
    assert_true(it_contains(r.out, "legal hold  yes"));
    assert_true(it_contains(r.out, "content     kept"));
    it_run_fini(&r);
    /* Its recipient still holds it in its inbox: the broker refuses to share
     * what it can no longer deliver. */
    char *lic_conf = bh_agent_conf(b, "licensing");
    it_exec(&r, "vigil-agent",
            (const char *const[]){"-c", lic_conf, "share", ex_hex, "--to", "home-office",
                                  "--reason", "for their records", NULL});
    free(lic_conf);
    s_expect(&r, 1, "share of the purged alert");
    assert_true(it_contains(r.err, "purged"));
    it_run_fini(&r);
    assert_int_equal(bh_store_count(b, VGB_COUNT_SHARES, NULL), 0);
    bh_sleep_ms(400); /* a checkpoint over the purged leaf */
    s_agent_cli(&r, b, "licensing", "audit", "prove", ex_hex);
    s_expect(&r, 0, "audit prove of the purged alert");
    assert_true(it_contains(r.out, "purged"));
    it_run_fini(&r);

    char *out = NULL;
    if (s_verify(b, &out) != 0) {
        fail_msg("audit verify after the purge:\n%s", out);
    }
    assert_true(it_contains(out, "1 purged"));
    free(out);

    /* The hold lifted, the next purge takes it. */
    it_vigilctl(&r, "hold", "remove", "-c", b->conf, held_hex, "--reason", "inquiry closed");
    it_assert_ok(&r);
    it_run_fini(&r);
    it_vigilctl(&r, "hold", "list", "-c", b->conf);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "no legal holds"));
    it_run_fini(&r);
    it_vigilctl(&r, "purge", "-c", b->conf);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "ok purged 1 alert;"));
    it_run_fini(&r);
    assert_int_equal(bh_store_count(b, VGB_COUNT_PURGES, NULL), 2);
    if (s_verify(b, &out) != 0) {
        fail_msg("audit verify after the second purge:\n%s", out);
    }
    assert_true(it_contains(out, "2 purged"));
    free(out);
    bh_pass(b);
}

/* Bad requests get a reason and change nothing. */
static void
test_hold_refuses_bad_requests(void **state)
{
    bh_broker *b = s_network(state, NULL);
    it_run r;
    it_vigilctl(&r, "hold", "add", "-c", b->conf, "00112233445566778899aabbccddeeff", "--reason",
                "x");
    it_assert_status(&r, 1);
    assert_true(it_contains(r.err, "no alert 00112233445566778899aabbccddeeff"));
    it_run_fini(&r);
    it_vigilctl(&r, "hold", "add", "-c", b->conf, "nothex", "--reason", "x");
    it_assert_status(&r, 1);
    assert_true(it_contains(r.err, "32 hex digits"));
    it_run_fini(&r);
    it_vigilctl(&r, "hold", "add", "-c", b->conf, "00112233445566778899aabbccddeeff");
    it_assert_status(&r, 2);
    assert_true(it_contains(r.err, "--reason"));
    it_run_fini(&r);
    it_vigilctl(&r, "hold", "remove", "-c", b->conf, "00112233445566778899aabbccddeeff", "--reason",
                "x");
    it_assert_status(&r, 1);
    it_run_fini(&r);
    assert_int_equal(bh_store_count(b, VGB_COUNT_HOLDS, NULL), 0);
    assert_int_equal(bh_store_count_leaves(b, VG_AUDIT_HELD, NULL), 0);
    bh_pass(b);
}

/* ---- link tags outlive the content ------------------------------------------------- */

/* police publishes an exercise or actual warning about taxi licence
 * TL-2002-0417 (a link tag), which licensing and childrens-services take;
 * its id (hex, malloc'ed). */
static char *
s_warn(const bh_broker *b, const char *status)
{
    it_run r;
    char *conf = bh_agent_conf(b, "police");
    it_exec(&r, "vigil-agent",
            (const char *const[]){"-c", conf, "publish", "--status", status, "--severity", "high",
                                  "--category", "taxi", "--to", "licensing", "--headline",
                                  "Driver seen with missing girls", "--subject",
                                  "taxi-licence:TL-2002-0417", "--timeout", "10s", NULL});
    free(conf);
    s_expect(&r, 0, "publish");
    char *id = strndup(r.out, 2 * VG_ALERT_ID_LEN);
    it_run_fini(&r);
    const char *takers[] = {"licensing", "childrens-services"};
    for (size_t i = 0; i < 2; i++) {
        conf = bh_agent_conf(b, takers[i]);
        it_exec(&r, "vigil-agent",
                (const char *const[]){"-c", conf, "listen", "--count", "1", "--json", "--timeout",
                                      "10s", NULL});
        free(conf);
        s_expect(&r, 0, takers[i]);
        assert_true(it_contains(r.out, id));
        it_run_fini(&r);
    }
    return id;
}

/* Exercise content goes after 1 s, its tags after 4 s: in between a new
 * warning about the same licence still links to the purged one; after, it
 * does not. */
static void s_tamper(const bh_broker *b, const char *sql, const char *want_table,
                     const char *want_text);

static void
test_tags_outlive_content(void **state)
{
    bh_broker *b = s_network_tags(state, (const char *const[]){"purge_interval=0s", NULL}, "4s");
    int64_t t0 = bh_now_ms();
    char *x = bh_own(b, s_warn(b, "exercise"), free);
    bh_sleep_ms(T_RETAIN_MS + 200);
    it_run r;
    it_vigilctl(&r, "purge", "-c", b->conf, "--dry-run");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, " content"));
    assert_false(it_contains(r.out, "content+tags"));
    it_run_fini(&r);
    it_vigilctl(&r, "purge", "-c", b->conf);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "ok purged 1 alert;"));
    it_run_fini(&r);
    char *y = bh_own(b, s_warn(b, "exercise"), free);
    s_agent_cli(&r, b, "licensing", "status", y, NULL);
    s_expect(&r, 0, "status of the second warning");
    assert_true(it_contains(r.out, "linked      1 earlier alert about the same subject"));
    it_run_fini(&r);

    bh_sleep_ms(t0 + 4000 + 300 - bh_now_ms()); /* x's tags are due, y's are not */
    it_vigilctl(&r, "purge", "-c", b->conf);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "ok purged 2 alerts;")); /* x's tags, y's content */
    it_run_fini(&r);
    char *z = bh_own(b, s_warn(b, "actual"), free);
    s_agent_cli(&r, b, "licensing", "status", z, NULL);
    s_expect(&r, 0, "status of the third warning");
    assert_true(it_contains(r.out, "linked      1 earlier alert about the same subject"));
    assert_true(it_contains(r.out, y));
    assert_false(it_contains(r.out, x));
    it_run_fini(&r);
    char *out = NULL;
    if (s_verify(b, &out) != 0) {
        fail_msg("audit verify after the tags went:\n%s", out);
    }
    free(out);
    if (!s_pg()) { /* an insider's edits of the index around purged alerts */
        bh_stop(b);
        /* a tag row back on x, whose tags were purged */
        s_tamper(b,
                 "INSERT INTO link_tags(alert_seq, tag) SELECT 1, tag FROM link_tags"
                 " WHERE alert_seq = 2",
                 "link_tags", "added after the purge");
        /* y's rows (its content purged, its tags kept) gone: z's link to it
         * is no longer in the index */
        s_tamper(b, "DELETE FROM link_tags WHERE alert_seq = 2", "link_tags",
                 "but the broker recorded other ones");
    }
    bh_pass(b);
}

/* ---- the schedule ----------------------------------------------------------------------- */

static void
test_scheduled_purge(void **state)
{
    bh_broker *b = s_network(state, (const char *const[]){"purge_interval=500ms", NULL});
    vga_agent *police = bh_own(b, bh_agent_open(b, "police", false), s_agent_destroy);
    vga_agent *lic = bh_own(b, bh_agent_open(b, "licensing", true), s_agent_destroy);
    vga_agent *cs = bh_own(b, bh_agent_open(b, "childrens-services", true), s_agent_destroy);
    uint8_t ex[VG_ALERT_ID_LEN], actual[VG_ALERT_ID_LEN];
    s_publish_acked(police, lic, cs, VG_STATUS_EXERCISE, ex);
    s_publish_acked(police, lic, cs, VG_STATUS_ACTUAL, actual);
    int64_t until = bh_now_ms() + T_SCHEDULE_MS;
    while (bh_store_count(b, VGB_COUNT_PURGES, NULL) == 0 && bh_now_ms() < until) {
        bh_sleep_ms(100);
    }
    assert_int_equal(bh_store_count(b, VGB_COUNT_PURGES, NULL), 1);
    assert_int_equal(bh_log_count(b, "purge.done", "alerts=1"), 1);
    size_t len = 0;
    uint8_t *env = bh_store_envelope(b, actual, &len);
    assert_true(env != NULL && len > 0); /* actual: no rule, kept */
    free(env);
    bh_pass(b);
}

/* ---- an insider with the broker stopped ---------------------------------------------- */

static void
s_sql(const bh_broker *b, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(b->db_path, &db), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fail_msg("%s: %s", sql, err);
    }
    sqlite3_close(db);
}

/* Runs sql on a copy of the stopped store, verifies, puts the store back. */
static void
s_tamper(const bh_broker *b, const char *sql, const char *want_table, const char *want_text)
{
    char cmd[8600];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s.orig'", b->db_path, b->db_path);
    assert_int_equal(system(cmd), 0);
    s_sql(b, sql);
    char *out = NULL;
    int st = s_verify(b, &out);
    if (st == 0 || !it_contains(out, want_table) || !it_contains(out, want_text)) {
        fail_msg("tampering (%s): verify exit %d, wanted a fault naming %s (%s):\n%s", sql, st,
                 want_table, want_text, out);
    }
    free(out);
    snprintf(cmd, sizeof cmd, "mv '%s.orig' '%s'", b->db_path, b->db_path);
    assert_int_equal(system(cmd), 0);
}

static void
test_tampering_with_retention_is_caught(void **state)
{
    if (s_pg()) {
        skip(); /* rewrites the SQLite file itself */
    }
    bh_broker *b = s_network(state, (const char *const[]){"purge_interval=0s", NULL});
    vga_agent *police = bh_own(b, bh_agent_open(b, "police", false), s_agent_destroy);
    vga_agent *lic = bh_own(b, bh_agent_open(b, "licensing", true), s_agent_destroy);
    vga_agent *cs = bh_own(b, bh_agent_open(b, "childrens-services", true), s_agent_destroy);
    uint8_t ex[VG_ALERT_ID_LEN], held[VG_ALERT_ID_LEN], actual[VG_ALERT_ID_LEN];
    s_publish_acked(police, lic, cs, VG_STATUS_EXERCISE, ex);
    s_publish_acked(police, lic, cs, VG_STATUS_EXERCISE, held);
    s_publish_acked(police, lic, cs, VG_STATUS_ACTUAL, actual);
    char held_hex[33];
    s_hex(held_hex, held);
    it_run r;
    it_vigilctl(&r, "hold", "add", "-c", b->conf, held_hex, "--reason", "Inquiry", "--by", "B");
    it_assert_ok(&r);
    it_run_fini(&r);
    bh_sleep_ms(T_RETAIN_MS + 200);
    it_vigilctl(&r, "purge", "-c", b->conf);
    it_assert_ok(&r);
    it_run_fini(&r);
    bh_stop(b);
    char *out = NULL;
    if (s_verify(b, &out) != 0) {
        fail_msg("audit verify of the honest store:\n%s", out);
    }
    free(out);
    s_tamper(b, "UPDATE alerts SET envelope = X'' WHERE seq = 3", "alerts",
             "the envelope is missing");
    s_tamper(b, "DELETE FROM purges", "purges", "differs from what its purged leaves record");
    s_tamper(b, "DELETE FROM legal_holds", "legal_holds", "row is missing");
    s_tamper(b, "UPDATE legal_holds SET reason = 'nothing to see'", "legal_holds",
             "differs from the hold its held leaf records");
    s_tamper(b, "INSERT INTO legal_holds SELECT alert_id, 1, 'x', 'y' FROM alerts WHERE seq = 3",
             "legal_holds", "no held leaf records");
    s_tamper(b, "UPDATE alerts SET envelope = X'00' WHERE seq = 1", "alerts",
             "not the signed envelope");
    bh_pass(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_purge_keeps_the_proof, s_teardown),
        cmocka_unit_test_teardown(test_hold_refuses_bad_requests, s_teardown),
        cmocka_unit_test_teardown(test_tags_outlive_content, s_teardown),
        cmocka_unit_test_teardown(test_scheduled_purge, s_teardown),
        cmocka_unit_test_teardown(test_tampering_with_retention_is_caught, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
