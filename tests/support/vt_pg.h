/*
 * tests/support/vt_pg.h — PostgreSQL test servers for vigil's tests.
 *
 * vt_pg_start runs initdb and the postgres server of Debian's postgresql-15
 * (/usr/lib/postgresql/15/bin, or $VT_PG_BIN) in a fresh temp directory, on
 * 127.0.0.1 and a free port, with trust authentication, as an unprivileged
 * user: initdb and postgres refuse root, so a test run as root (CI) runs
 * them as $VT_PG_USER, else "postgres" (the Debian package's system user),
 * else "nobody". It waits for the server with a deadline and stops it by
 * pid (SIGQUIT: PostgreSQL's immediate shutdown, then SIGKILL). A server
 * that fails to start or dies prints its log. initdb costs about a second:
 * start one server per test executable and give each test a database of its
 * own (vt_pg_createdb ... TEMPLATE).
 *
 * Roles: the superuser is "postgres"; vt_pg_start also runs
 * deploy/postgres/create.sql (the roles vigil_owner, vigil_broker,
 * vigil_audit and their group roles, and the database "vigil"), so the tests
 * run on the documented grants.
 *
 * Helpers fail the running cmocka test on any unexpected error. Prefix
 * vt_pg_. Thread rules: none; one test at a time.
 */
#ifndef VIGIL_TESTS_SUPPORT_VT_PG_H
#define VIGIL_TESTS_SUPPORT_VT_PG_H

#include <stdbool.h>
#include <sys/types.h>

#include <libpq-fe.h>

typedef struct vt_pg_opts {
    bool fsync;              /* false (the default for tests): fsync=off, faster */
    const char *const *conf; /* more postgresql.conf settings ("name=value"), NULL-ended */
    bool no_roles;           /* true: skip deploy/postgres/create.sql */
} vt_pg_opts;

typedef struct vt_pg {
    char *dir;  /* temp dir (owned by the server's user) */
    char *data; /* dir/data */
    char *log;  /* dir/server.log */
    int port;   /* 127.0.0.1:port */
    pid_t pid;  /* the postmaster, 0 when stopped */
    uid_t uid;  /* whom it runs as */
    gid_t gid;  /* ... */
} vt_pg;

/* Starts a server (opts may be NULL). */
vt_pg *vt_pg_start(const vt_pg_opts *opts);

/* Starts a hot standby of primary, streaming from it with application_name
 * app_name (pg_basebackup -R), and waits until it accepts connections. */
vt_pg *vt_pg_start_standby(const vt_pg *primary, const char *app_name);

/* Stops the server by pid (immediate) and removes its directory (kept when
 * $VT_PG_KEEP is set). NULL-safe; sets *pg_p = NULL. */
void vt_pg_stop(vt_pg **pg_p);

/* Stops the server only (the directory stays): a server that went down. */
void vt_pg_kill(vt_pg *pg);

/* A libpq connection string for db as user (malloc'ed). */
char *vt_pg_dsn(const vt_pg *pg, const char *db, const char *user);

/* A connection as user (NULL: the superuser) to db; asserts it works. */
PGconn *vt_pg_connect(const vt_pg *pg, const char *db, const char *user);

/* Runs sql as the superuser in db; asserts success. */
void vt_pg_exec(const vt_pg *pg, const char *db, const char *sql);

/* Runs sql on conn: the result (PQclear it); asserts it is not an error. */
PGresult *vt_pg_query(PGconn *conn, const char *sql);

/* CREATE DATABASE name TEMPLATE template (NULL: template0's copy of an
 * empty database). */
void vt_pg_createdb(const vt_pg *pg, const char *name, const char *template_db);

/* Runs a psql script file as the superuser in db (psql -v name=value ...). */
void vt_pg_psql_file(const vt_pg *pg, const char *db, const char *path);

/* Prints the server's log to stderr (the end of it, at most max_bytes). */
void vt_pg_print_log(const vt_pg *pg, size_t max_bytes);

/* A TCP port on 127.0.0.1 that nothing listens on now. */
int vt_pg_free_port(void);

#endif
