/* store-tamper: deletes, alters and forges link_tags rows of a real store (SQL, both back ends) */
/*
 * test_link_audit.c — `vigilctl audit verify` holds the link-tag index to
 * the envelopes (issue 21), on the store broker.conf names: SQLite, and
 * PostgreSQL when VG_TEST_STORE=postgresql (test_link_audit_pg).
 *
 * A real broker takes three warnings about one taxi licence (each written
 * its own way; the network's rule makes them one tag), one of them about a
 * vehicle too, and one alert about nothing; it is stopped and the store
 * verifies. Then, as an insider with the database's owner rights would,
 * one case at a time (each undone before the next): the newest, the oldest
 * and a middle link_tags row deleted, one byte of a tag altered, the
 * chain's tag added to the alert outside it (linking it into a chain no
 * agency put it in), a tag no envelope carries added; on SQLite, a row of
 * an alert that does not exist. `vigilctl audit verify` must exit 1 with a
 * FAULT that names link_tags, the alert and a leaf (the row of no alert:
 * link_tags and its count); after the last undo the store verifies again.
 */
#define _DEFAULT_SOURCE

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "broker_harness.h"
#include "itest.h"
#include "vigil/util.h"

#define T_AGENCIES "police,licensing,childrens-services,home-office,researcher,education"
#define T_ROWS_MAX 16

static const char *const s_init_opts[] = {"--agencies", T_AGENCIES, NULL};

/* ---- the store, in SQL of both back ends ------------------------------------------------ */

typedef struct s_db {
    bool pg;       /* PostgreSQL, else SQLite */
    sqlite3 *lite; /* SQLite: the broker's vigil.db */
    PGconn *conn;  /* PostgreSQL: the broker's database, as its superuser */
} s_db;

/* broker.conf's dsn, for the superuser (the tamperer has the owner's rights). */
static char *
s_pg_dsn(const bh_broker *b)
{
    FILE *f = fopen(b->conf, "r");
    assert_non_null(f);
    char line[512], *dsn = NULL;
    while (dsn == NULL && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "dsn = ", 6) == 0) {
            line[strcspn(line, "\n")] = '\0';
            char *user = strstr(line, "user=vigil_broker");
            assert_non_null(user);
            char out[512];
            snprintf(out, sizeof out, "%.*suser=postgres%s", (int)(user - line - 6), line + 6,
                     user + strlen("user=vigil_broker"));
            dsn = vg_strdup(out);
        }
    }
    fclose(f);
    assert_non_null(dsn);
    return dsn;
}

static void
s_db_open(s_db *d, const bh_broker *b)
{
    const char *store = getenv("VG_TEST_STORE");
    memset(d, 0, sizeof *d);
    d->pg = store != NULL && strcmp(store, "postgresql") == 0;
    if (d->pg) {
        char *dsn = s_pg_dsn(b);
        d->conn = PQconnectdb(dsn);
        free(dsn);
        assert_int_equal(PQstatus(d->conn), CONNECTION_OK);
        PQclear(PQexec(d->conn, "SET search_path TO vigil"));
    } else {
        assert_int_equal(sqlite3_open(b->db_path, &d->lite), SQLITE_OK);
    }
}

static void
s_db_close(s_db *d)
{
    if (d->pg) {
        PQfinish(d->conn);
    } else {
        assert_int_equal(sqlite3_close(d->lite), SQLITE_OK);
    }
}

static void
s_exec(s_db *d, const char *sql)
{
    if (d->pg) {
        PGresult *r = PQexec(d->conn, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fail_msg("%s: %s", sql, PQerrorMessage(d->conn));
        }
        assert_string_equal(PQcmdTuples(r), "1"); /* one row each time */
        PQclear(r);
        return;
    }
    char *err = NULL;
    if (sqlite3_exec(d->lite, sql, NULL, NULL, &err) != SQLITE_OK) {
        fail_msg("%s: %s", sql, err);
    }
    assert_int_equal(sqlite3_changes(d->lite), 1);
}

/* A bytea/blob literal of the hex text. */
static void
s_lit(const s_db *d, char *out, size_t len, const char *hex)
{
    snprintf(out, len, d->pg ? "'\\x%s'::bytea" : "X'%s'", hex);
}

typedef struct s_row {
    char tag[2 * VG_HASH_LEN + 1]; /* hex */
    long long seq;                 /* alert_seq */
} s_row;

/* Every link_tags row, by alert then tag. */
static size_t
s_rows(s_db *d, s_row *rows)
{
    static const char sql_lite[] =
        "SELECT lower(hex(tag)), alert_seq FROM link_tags ORDER BY alert_seq, tag";
    static const char sql_pg[] =
        "SELECT encode(tag, 'hex'), alert_seq FROM link_tags ORDER BY alert_seq, tag";
    size_t n = 0;
    if (d->pg) {
        PGresult *r = PQexec(d->conn, sql_pg);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        for (int i = 0; i < PQntuples(r) && n < T_ROWS_MAX; i++, n++) {
            snprintf(rows[n].tag, sizeof rows[n].tag, "%s", PQgetvalue(r, i, 0));
            rows[n].seq = atoll(PQgetvalue(r, i, 1));
        }
        PQclear(r);
        return n;
    }
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(d->lite, sql_lite, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW && n < T_ROWS_MAX) {
        snprintf(rows[n].tag, sizeof rows[n].tag, "%s", (const char *)sqlite3_column_text(st, 0));
        rows[n++].seq = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return n;
}

/* The one alert without a link tag. */
static long long
s_untagged(s_db *d)
{
    static const char sql[] =
        "SELECT seq FROM alerts WHERE seq NOT IN (SELECT alert_seq FROM link_tags)";
    long long seq = -1;
    if (d->pg) {
        PGresult *r = PQexec(d->conn, sql);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        assert_int_equal(PQntuples(r), 1);
        seq = atoll(PQgetvalue(r, 0, 0));
        PQclear(r);
        return seq;
    }
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(d->lite, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    seq = sqlite3_column_int64(st, 0);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    return seq;
}

/* ---- the network ----------------------------------------------------------------------- */

static void
s_agent(it_run *r, const bh_broker *b, const char *agency, const char *const *args)
{
    const char *argv[32];
    char *conf = bh_agent_conf(b, agency);
    size_t n = 0;
    argv[n++] = "-c";
    argv[n++] = conf;
    for (size_t i = 0; args[i] != NULL; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    it_exec(r, "vigil-agent", argv);
    free(conf);
}

/* sender publishes a taxi/cse warning about the subjects (NULL: none). */
static void
s_warn(const bh_broker *b, const char *sender, const char *s1, const char *s2)
{
    const char *args[24] = {"publish",    "--severity",   "high",      "--category", "taxi,cse",
                            "--headline", "Drivers seen", "--timeout", "10s"};
    size_t n = 9;
    if (s1 != NULL) {
        args[n++] = "--subject";
        args[n++] = s1;
    }
    if (s2 != NULL) {
        args[n++] = "--subject";
        args[n++] = s2;
    }
    args[n] = NULL;
    it_run r;
    s_agent(&r, b, sender, args);
    it_assert_ok(&r);
    it_run_fini(&r);
}

/* vigilctl audit verify -c: caught naming link_tags (want_fault), or passes;
 * with no alert to name (a row of an alert that does not exist), its
 * count. */
static void
s_verify_as(const bh_broker *b, bool want_fault, const char *what, const char *want)
{
    it_run r;
    it_vigilctl(&r, "audit", "verify", "-c", b->conf);
    if (!want_fault) {
        it_assert_ok(&r);
        it_run_fini(&r);
        return;
    }
    print_message("link-audit: %-24s exit %d: %.*s\n", what, r.status, (int)strcspn(r.out, "\n"),
                  r.out);
    if (r.status != 1 || !it_contains(r.out, want) ||
        (strcmp(want, "FAULT state table=link_tags alert=") == 0 &&
         !it_contains(r.out, " leaf="))) {
        fail_msg("%s: not caught with \"%s\" (exit %d)\nstdout: %s\nstderr: %s", what, want,
                 r.status, r.out, r.err);
    }
    it_run_fini(&r);
}

static void
s_verify(const bh_broker *b, bool want_fault, const char *what)
{
    s_verify_as(b, want_fault, what, "FAULT state table=link_tags alert=");
}

/* ---- the test ---------------------------------------------------------------------------- */

static void
test_verify_holds_link_tags_to_the_envelopes(void **state)
{
    (void)state;
    bh_broker *b = bh_new_init(s_init_opts, NULL);
    bh_start(b);
    s_warn(b, "home-office", "taxi-licence:TL-2002-0417", "vehicle-reg:YS02 ABC");
    s_warn(b, "researcher", "taxi-licence:tl 2002 0417", NULL);
    s_warn(b, "police", NULL, NULL); /* outside every chain */
    s_warn(b, "police", "taxi-licence:Tl2002-0417", NULL);
    bh_stop(b);
    s_verify(b, false, "honest");

    s_db d;
    s_db_open(&d, b);
    s_row rows[T_ROWS_MAX];
    size_t n = s_rows(&d, rows);
    assert_int_equal(n, 4); /* the licence three times, the vehicle once */
    char sql[512], lit[160], lit2[160];
    const size_t pick[3] = {n - 1, 0, n / 2};
    const char *const names[3] = {"delete newest", "delete oldest", "delete middle"};
    for (size_t k = 0; k < 3; k++) {
        const s_row *r = &rows[pick[k]];
        s_lit(&d, lit, sizeof lit, r->tag);
        snprintf(sql, sizeof sql, "DELETE FROM link_tags WHERE tag = %s AND alert_seq = %lld", lit,
                 r->seq);
        s_exec(&d, sql);
        s_verify(b, true, names[k]);
        snprintf(sql, sizeof sql, "INSERT INTO link_tags(tag, alert_seq) VALUES (%s, %lld)", lit,
                 r->seq);
        s_exec(&d, sql);
    }

    /* one byte of the middle row's tag */
    const s_row *mid = &rows[n / 2];
    char altered[sizeof mid->tag];
    snprintf(altered, sizeof altered, "%s", mid->tag);
    altered[0] = altered[0] == '0' ? '1' : '0';
    s_lit(&d, lit, sizeof lit, mid->tag);
    s_lit(&d, lit2, sizeof lit2, altered);
    snprintf(sql, sizeof sql, "UPDATE link_tags SET tag = %s WHERE tag = %s AND alert_seq = %lld",
             lit2, lit, mid->seq);
    s_exec(&d, sql);
    s_verify(b, true, "alter a tag byte");
    snprintf(sql, sizeof sql, "UPDATE link_tags SET tag = %s WHERE tag = %s AND alert_seq = %lld",
             lit, lit2, mid->seq);
    s_exec(&d, sql);

    /* the chain's tag given to the alert outside it */
    long long outside = s_untagged(&d);
    s_lit(&d, lit, sizeof lit, rows[n - 1].tag);
    snprintf(sql, sizeof sql, "INSERT INTO link_tags(tag, alert_seq) VALUES (%s, %lld)", lit,
             outside);
    s_exec(&d, sql);
    s_verify(b, true, "add a chain's tag");
    snprintf(sql, sizeof sql, "DELETE FROM link_tags WHERE tag = %s AND alert_seq = %lld", lit,
             outside);
    s_exec(&d, sql);

    /* a tag no envelope carries, on the newest alert */
    s_lit(&d, lit, sizeof lit, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    snprintf(sql, sizeof sql, "INSERT INTO link_tags(tag, alert_seq) VALUES (%s, %lld)", lit,
             rows[n - 1].seq);
    s_exec(&d, sql);
    s_verify(b, true, "add a forged tag");
    snprintf(sql, sizeof sql, "DELETE FROM link_tags WHERE tag = %s AND alert_seq = %lld", lit,
             rows[n - 1].seq);
    s_exec(&d, sql);

    /* a row of an alert that does not exist (PostgreSQL's foreign key
     * refuses it; SQLite's is not enforced outside the broker) */
    if (!d.pg) {
        s_lit(&d, lit, sizeof lit, rows[0].tag);
        snprintf(sql, sizeof sql, "INSERT INTO link_tags(tag, alert_seq) VALUES (%s, 999)", lit);
        s_exec(&d, sql);
        s_verify_as(b, true, "add a row of no alert",
                    "FAULT state table=link_tags: the table holds 5 rows but the log accounts "
                    "for 4");
        s_exec(&d, "DELETE FROM link_tags WHERE alert_seq = 999");
    }
    s_db_close(&d);

    s_verify(b, false, "undone");
    bh_pass(b);
    bh_destroy(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_holds_link_tags_to_the_envelopes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
