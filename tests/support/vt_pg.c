/* store-server: starts PostgreSQL test servers and makes their roles and databases */
/* vt_pg.c — PostgreSQL test servers (see vt_pg.h). */
#define _DEFAULT_SOURCE /* setgroups */
#include "vt_pg.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vt.h"

#ifndef VG_SOURCE_DIR
#error "VG_SOURCE_DIR: the source tree, for deploy/postgres/create.sql"
#endif

#define S_START_MS 20000 /* longest wait for a server to accept connections */
#define S_STOP_MS 5000   /* longest wait for it to exit after SIGQUIT */
#define S_STEP_MS 20     /* polling step */

static void
s_sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static char *
s_bin(const char *name)
{
    const char *dir = getenv("VT_PG_BIN");
    char *path = vt_path(dir != NULL ? dir : "/usr/lib/postgresql/15/bin", name);
    if (access(path, X_OK) != 0) {
        fail_msg("%s not found: install postgresql-15 (deploy/deps.sh) or set VT_PG_BIN", path);
    }
    return path;
}

/* Whom the server runs as: ourselves, or when we are root an unprivileged user. */
static void
s_pick_user(vt_pg *pg)
{
    pg->uid = geteuid();
    pg->gid = getegid();
    if (pg->uid != 0) {
        return;
    }
    const char *names[] = {getenv("VT_PG_USER"), "postgres", "nobody"};
    for (size_t i = 0; i < 3; i++) {
        struct passwd *pw = names[i] ? getpwnam(names[i]) : NULL;
        if (pw != NULL && pw->pw_uid != 0) {
            pg->uid = pw->pw_uid;
            pg->gid = pw->pw_gid;
            return;
        }
    }
    fail_msg("running as root and no unprivileged user to run PostgreSQL as (set VT_PG_USER)");
}

int
vt_pg_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* Starts argv as the server's user, stdout and stderr appended to log. */
static pid_t
s_spawn(const vt_pg *pg, char *const argv[], const char *log)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 &&
            (setgroups(0, NULL) != 0 || setgid(pg->gid) != 0 || setuid(pg->uid) != 0)) {
            _exit(126);
        }
        /* A test that dies (a crash, a ctest timeout) takes its server with it:
         * SIGQUIT is PostgreSQL's immediate shutdown. Set after setuid, which
         * clears it. */
        prctl(PR_SET_PDEATHSIG, SIGQUIT);
        int fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0) {
            dup2(null, 0);
            close(null);
        }
        setenv("LC_ALL", "C", 1);
        unsetenv("PGHOST"), unsetenv("PGPORT"), unsetenv("PGDATA"), unsetenv("PGUSER");
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Runs argv to its end; its exit status (or -1). */
static int
s_run(const vt_pg *pg, char *const argv[], const char *log)
{
    pid_t pid = s_spawn(pg, argv, log);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void
vt_pg_print_log(const vt_pg *pg, size_t max_bytes)
{
    FILE *f = fopen(pg->log, "r");
    if (f == NULL) {
        return;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    if (size > (long)max_bytes) {
        fseek(f, size - (long)max_bytes, SEEK_SET);
    } else {
        fseek(f, 0, SEEK_SET);
    }
    fprintf(stderr, "---- PostgreSQL log %s ----\n", pg->log);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        fwrite(buf, 1, n, stderr);
    }
    fprintf(stderr, "---- end of log ----\n");
    fclose(f);
}

char *
vt_pg_dsn(const vt_pg *pg, const char *db, const char *user)
{
    char buf[256];
    snprintf(buf, sizeof buf, "host=127.0.0.1 port=%d dbname=%s user=%s connect_timeout=5",
             pg->port, db, user ? user : "postgres");
    char *dsn = strdup(buf);
    assert_non_null(dsn);
    return dsn;
}

/* Waits until the server answers, or fails the test with its log. */
static void
s_wait_ready(vt_pg *pg)
{
    char *dsn = vt_pg_dsn(pg, "postgres", NULL);
    for (int waited = 0;; waited += S_STEP_MS) {
        if (PQping(dsn) == PQPING_OK) {
            break;
        }
        int st = 0;
        if (waitpid(pg->pid, &st, WNOHANG) == pg->pid || waited >= S_START_MS) {
            pg->pid = waited >= S_START_MS ? pg->pid : 0;
            vt_pg_print_log(pg, 8192);
            free(dsn);
            fail_msg("PostgreSQL on port %d did not start (log above)", pg->port);
        }
        s_sleep_ms(S_STEP_MS);
    }
    free(dsn);
}

static vt_pg *
s_new(void)
{
    vt_pg *pg = calloc(1, sizeof *pg);
    assert_non_null(pg);
    s_pick_user(pg);
    pg->dir = vt_tmpdir_new();
    assert_int_equal(chown(pg->dir, pg->uid, pg->gid), 0);
    pg->data = vt_path(pg->dir, "data");
    pg->log = vt_path(pg->dir, "server.log");
    return pg;
}

/* Starts the postmaster on a free port with the settings of opts. */
static void
s_postmaster(vt_pg *pg, bool fsync, const char *const *conf)
{
    char *bin = s_bin("postgres");
    char port[16], sockdir[512];
    pg->port = vt_pg_free_port();
    snprintf(port, sizeof port, "%d", pg->port);
    snprintf(sockdir, sizeof sockdir, "unix_socket_directories=%s", pg->dir);
    char *argv[64] = {bin,
                      "-D",
                      pg->data,
                      "-p",
                      port,
                      "-c",
                      "listen_addresses=127.0.0.1",
                      "-c",
                      sockdir,
                      "-c",
                      "shared_buffers=16MB",
                      "-c",
                      "max_connections=40",
                      "-c",
                      "log_line_prefix=%m [%p] ",
                      "-c",
                      fsync ? "fsync=on" : "fsync=off",
                      "-c",
                      fsync ? "full_page_writes=on" : "full_page_writes=off"};
    size_t n = 19;
    for (size_t i = 0; conf != NULL && conf[i] != NULL && n + 3 < 64; i++) {
        argv[n++] = "-c";
        argv[n++] = (char *)conf[i];
    }
    argv[n] = NULL;
    pg->pid = s_spawn(pg, argv, pg->log);
    free(bin);
    s_wait_ready(pg);
}

vt_pg *
vt_pg_start(const vt_pg_opts *opts)
{
    vt_pg_opts o = opts ? *opts : (vt_pg_opts){0};
    vt_pg *pg = s_new();
    char *initdb = s_bin("initdb");
    char *argv[] = {initdb, "-D",   pg->data,     "-U",        "postgres",          "--auth=trust",
                    "-E",   "UTF8", "--locale=C", "--no-sync", "--no-instructions", NULL};
    int st = s_run(pg, argv, pg->log);
    free(initdb);
    if (st != 0) {
        vt_pg_print_log(pg, 8192);
        fail_msg("initdb failed (%d)", st);
    }
    s_postmaster(pg, o.fsync, o.conf);
    if (!o.no_roles) {
        char *sql = vt_path(VG_SOURCE_DIR, "deploy/postgres/create.sql");
        vt_pg_psql_file(pg, "postgres", sql);
        free(sql);
    }
    return pg;
}

vt_pg *
vt_pg_start_standby(const vt_pg *primary, const char *app_name)
{
    vt_pg *pg = s_new();
    char *bin = s_bin("pg_basebackup");
    char conn[256];
    snprintf(conn, sizeof conn, "host=127.0.0.1 port=%d user=postgres application_name=%s",
             primary->port, app_name);
    char *argv[] = {bin,  "-D", pg->data, "-d",        conn,
                    "-R", "-X", "stream", "--no-sync", "--checkpoint=fast",
                    NULL}; /* not a spread checkpoint: minutes */
    int st = s_run(pg, argv, pg->log);
    free(bin);
    if (st != 0) {
        vt_pg_print_log(pg, 8192);
        fail_msg("pg_basebackup failed (%d)", st);
    }
    char cluster[96];
    snprintf(cluster, sizeof cluster, "cluster_name=%s", app_name); /* its walreceiver's name */
    s_postmaster(pg, false, (const char *const[]){"hot_standby=on", cluster, NULL});
    return pg;
}

void
vt_pg_kill(vt_pg *pg)
{
    if (pg == NULL || pg->pid <= 0) {
        return;
    }
    kill(pg->pid, SIGQUIT); /* immediate shutdown */
    int st = 0;
    for (int waited = 0; waitpid(pg->pid, &st, WNOHANG) == 0; waited += S_STEP_MS) {
        if (waited >= S_STOP_MS) {
            kill(pg->pid, SIGKILL);
            waitpid(pg->pid, &st, 0);
            break;
        }
        s_sleep_ms(S_STEP_MS);
    }
    pg->pid = 0;
}

void
vt_pg_stop(vt_pg **pg_p)
{
    if (pg_p == NULL || *pg_p == NULL) {
        return;
    }
    vt_pg *pg = *pg_p;
    int st = 0;
    if (pg->pid > 0 && waitpid(pg->pid, &st, WNOHANG) == pg->pid) {
        pg->pid = 0; /* it died under the test: say so */
        fprintf(stderr, "PostgreSQL on port %d exited during the test\n", pg->port);
        vt_pg_print_log(pg, 8192);
    }
    vt_pg_kill(pg);
    if (getenv("VT_PG_KEEP") == NULL) {
        vt_tmpdir_destroy(&pg->dir);
    } else {
        fprintf(stderr, "PostgreSQL test directory kept: %s\n", pg->dir);
        free(pg->dir);
    }
    free(pg->data);
    free(pg->log);
    free(pg);
    *pg_p = NULL;
}

PGconn *
vt_pg_connect(const vt_pg *pg, const char *db, const char *user)
{
    char *dsn = vt_pg_dsn(pg, db, user);
    PGconn *c = PQconnectdb(dsn);
    free(dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        print_error("connect to %s as %s: %s", db, user ? user : "postgres", PQerrorMessage(c));
        PQfinish(c);
        fail();
    }
    return c;
}

PGresult *
vt_pg_query(PGconn *conn, const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        print_error("%s: %s", sql, PQerrorMessage(conn));
        PQclear(r);
        fail();
    }
    return r;
}

void
vt_pg_exec(const vt_pg *pg, const char *db, const char *sql)
{
    PGconn *c = vt_pg_connect(pg, db, NULL);
    PQclear(vt_pg_query(c, sql));
    PQfinish(c);
}

void
vt_pg_createdb(const vt_pg *pg, const char *name, const char *template_db)
{
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE %s", name,
             template_db ? template_db : "template0");
    vt_pg_exec(pg, "postgres", sql);
}

void
vt_pg_psql_file(const vt_pg *pg, const char *db, const char *path)
{
    char *psql = s_bin("psql");
    char port[16];
    snprintf(port, sizeof port, "%d", pg->port);
    char *argv[] = {psql, "-X", "-q",       "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",  "-p",
                    port, "-U", "postgres", "-d", (char *)db,        "-f", (char *)path, NULL};
    int st = s_run(pg, argv, pg->log); /* psql's output goes to the server's log */
    free(psql);
    if (st != 0) {
        vt_pg_print_log(pg, 8192);
        fail_msg("psql -f %s failed (%d)", path, st);
    }
}
