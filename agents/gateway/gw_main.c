/*
 * gw_main.c — vigil-gateway's command line: run the gateway, manage its API
 * tokens and webhooks, check CAP files with vigil's rules. docs/gateway.md
 * is the manual.
 */
#include "gw_main.h"

#include <getopt.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "gateway.h"
#include "gw_cap.h"
#include "gw_officer.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/util.h"

#define S_EXIT_OK 0
#define S_EXIT_FAIL 1
#define S_EXIT_USAGE 2
#define S_EXIT_CONFIG 4

static const char s_help[] =
    "usage: vigil-gateway -c agent.conf [run] [--listen HOST:PORT]\n"
    "       vigil-gateway -c agent.conf token add NAME --scopes publish,read,receipt\n"
    "       vigil-gateway -c agent.conf token list\n"
    "       vigil-gateway -c agent.conf token revoke NAME\n"
    "       vigil-gateway -c agent.conf webhook add NAME URL [--cap] [--events]\n"
    "       vigil-gateway -c agent.conf webhook list\n"
    "       vigil-gateway -c agent.conf webhook remove NAME\n"
    "       vigil-gateway -c agent.conf officer add NAME --role duty|viewer [--no-password]\n"
    "       vigil-gateway -c agent.conf officer passwd NAME\n"
    "       vigil-gateway -c agent.conf officer role NAME duty|viewer\n"
    "       vigil-gateway -c agent.conf officer list\n"
    "       vigil-gateway -c agent.conf officer remove NAME\n"
    "       vigil-gateway cap check FILE...\n"
    "\n"
    "The agency's HTTP gateway: an HTTP/JSON API, CAP 1.2 in and out, Server-Sent\n"
    "Events, signed webhooks and the duty officers' web console at /console/, beside\n"
    "the agency's agent, with its keys, outbox and inbox (docs/gateway.md,\n"
    "docs/openapi.yaml, docs/console.md).\n"
    "\n"
    "run (the default)  serves on [gateway] listen of agent.conf (or --listen; port 0\n"
    "                   picks a free one) and logs 'gateway.ready ... url=URL'. While\n"
    "                   it runs it is the agency's delivery target. SIGINT or SIGTERM\n"
    "                   stop it. The web console is at URL/console/ (officers log in).\n"
    "token add          makes an API token for a client system and prints it once on\n"
    "                   stdout (only its hash is kept). Scopes: publish (POST\n"
    "                   /v1/alerts), read (GET), receipt (ack, progress, decline,\n"
    "                   share).\n"
    "token list         names, scopes, when made, when revoked (never the tokens).\n"
    "token revoke       refuses the token from the next request on.\n"
    "webhook add        POSTs every alert delivered to the agency (vigil JSON, or CAP\n"
    "                   1.2 with --cap) and with --events every event of its stream to\n"
    "                   URL, signed; prints the HMAC secret once on stdout.\n"
    "webhook list       each webhook with its pending, delivered and failed counts.\n"
    "webhook remove     stops it (its pending deliveries are dropped; the record of\n"
    "                   attempts stays).\n"
    "cap check          checks CAP files against vigil's CAP 1.2 rules; prints 'ok' or\n"
    "                   the reason per file.\n"
    "officer add        an officer account for the web console: NAME (1-63 characters,\n"
    "                   e.g. 'DS Aisha Khan') is how they log in and the name on their\n"
    "                   receipts; duty officers act, viewers only read. The password\n"
    "                   (10-1024 characters) is asked twice on a terminal, else read\n"
    "                   as one line of stdin, never from the command line; only its\n"
    "                   Argon2id hash is kept. --no-password: single sign-on only.\n"
    "officer passwd     a new password (asked as for add); their sessions end.\n"
    "officer role       duty or viewer; their sessions end.\n"
    "officer list       names, roles, whether they have a password, when made.\n"
    "officer remove     the account goes; their sessions end at once.\n"
    "\n"
    "  -c, --config FILE  the agency's agent.conf\n"
    "  --listen HOST:PORT overrides [gateway] listen (run)\n"
    "  -h, --help         this help;  --version  the version\n"
    "\n"
    "exit status: 0 done; 1 failed (or a CAP file broke a rule); 2 bad command line;\n"
    "4 agent.conf, keys or store unusable.\n";

static volatile sig_atomic_t s_stop;

static void
s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static int
s_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "vigil-gateway: ");
    fprintf(stderr, fmt, arg ? arg : "");
    fprintf(stderr, "\nsee 'vigil-gateway --help'\n");
    return S_EXIT_USAGE;
}

/* ---- run ----------------------------------------------------------------------------- */

static int
s_run(const char *config, const char *listen)
{
    vg_reason why = {{0}};
    vga_config *cfg = NULL;
    if (vga_config_load(&cfg, config, &why) != VG_OK) {
        fprintf(stderr, "vigil-gateway: cannot use %s: %s\n", config, why.text);
        return S_EXIT_CONFIG;
    }
    vg_log_set_sink(vg_log_stderr_sink, NULL);
    vg_log_set_level(cfg->log_level);
    vga_config_destroy(&cfg);
    struct sigaction sa = {0};
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    gw_gateway *g = NULL;
    vg_err rc = gw_gateway_start(&g, config, listen, &why);
    if (rc != VG_OK) {
        fprintf(stderr, "vigil-gateway: cannot start: %s (%s)\n", why.text, vg_err_code(rc));
        curl_global_cleanup();
        return rc == VG_ERR_CONFIG || rc == VG_ERR_KEY_PERMS ? S_EXIT_CONFIG : S_EXIT_FAIL;
    }
    while (!s_stop) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    vg_log(VG_LOG_INFO, "gateway", "gateway.stop", "agency=%s", g->cfg->id);
    gw_gateway_stop(&g);
    curl_global_cleanup();
    return S_EXIT_OK;
}

/* ---- tokens and webhooks ----------------------------------------------------------------- */

static int
s_open_db(const char *config, gw_db **db)
{
    vg_reason why = {{0}};
    vga_config *cfg = NULL;
    vg_err rc = vga_config_load(&cfg, config, &why);
    if (rc == VG_OK) {
        rc = gw_db_open(db, cfg->store_path, &why);
    }
    vga_config_destroy(&cfg);
    if (rc != VG_OK) {
        fprintf(stderr, "vigil-gateway: cannot use %s: %s\n", config, why.text);
        return S_EXIT_CONFIG;
    }
    return S_EXIT_OK;
}

static int
s_token_add(gw_db *db, int argc, char **argv)
{
    const char *scopes_text = NULL;
    const char *name = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--scopes") == 0 && i + 1 < argc) {
            scopes_text = argv[++i];
        } else if (strncmp(argv[i], "--scopes=", 9) == 0) {
            scopes_text = argv[i] + 9;
        } else if (name == NULL && argv[i][0] != '-') {
            name = argv[i];
        } else {
            return s_usage("token add: unexpected '%s'", argv[i]);
        }
    }
    if (name == NULL || !gw_name_is_valid(name)) {
        return s_usage("token add: give a NAME of 1-63 of a-z, 0-9, '.', '_', '-' (got '%s')",
                       name);
    }
    unsigned scopes = 0;
    vg_reason why = {{0}};
    if (scopes_text == NULL || gw_scopes_parse(&scopes, scopes_text, &why) != VG_OK) {
        return s_usage("token add: --scopes %s", scopes_text ? why.text : "is required");
    }
    char token[GW_TOKEN_LEN + 1];
    uint8_t hash[GW_TOKEN_HASH_LEN];
    gw_token_new(token, hash);
    vg_err rc = gw_db_token_add(db, name, hash, scopes, vg_clock_wall_ms(vg_clock_system()), &why);
    if (rc != VG_OK) {
        sodium_memzero(token, sizeof token);
        fprintf(stderr, "vigil-gateway: token add: %s\n", why.text);
        return S_EXIT_FAIL;
    }
    char sc[48];
    gw_scopes_format(sc, sizeof sc, scopes);
    printf("%s\n", token);
    fflush(stdout);
    sodium_memzero(token, sizeof token);
    fprintf(stderr,
            "vigil-gateway: token '%s' (scopes %s) made; it is shown this once and kept only as "
            "a hash: store it now\n",
            name, sc);
    return S_EXIT_OK;
}

static int
s_token_list(gw_db *db)
{
    gw_token_row *rows = NULL;
    size_t n = 0;
    if (gw_db_tokens(db, true, &rows, &n) != VG_OK) {
        fprintf(stderr, "vigil-gateway: token list: cannot read the store\n");
        return S_EXIT_FAIL;
    }
    for (size_t i = 0; i < n; i++) {
        char sc[48], made[VG_TIME_STR_LEN], revoked[VG_TIME_STR_LEN] = "";
        gw_scopes_format(sc, sizeof sc, rows[i].scopes);
        vg_time_format(made, sizeof made, rows[i].created_ms);
        if (rows[i].revoked_ms > 0) {
            vg_time_format(revoked, sizeof revoked, rows[i].revoked_ms);
        }
        printf("%-24s %-22s made %s%s%s\n", rows[i].name, sc, made, revoked[0] ? "  REVOKED " : "",
               revoked);
    }
    if (n == 0) {
        printf("no tokens\n");
    }
    free(rows);
    return S_EXIT_OK;
}

static int
s_webhook_add(gw_db *db, int argc, char **argv)
{
    gw_webhook_row w = {0};
    const char *name = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--cap") == 0) {
            w.cap = true;
        } else if (strcmp(argv[i], "--events") == 0) {
            w.events = true;
        } else if (argv[i][0] == '-') {
            return s_usage("webhook add: unknown option '%s'", argv[i]);
        } else if (name == NULL) {
            name = argv[i];
        } else if (w.url == NULL) {
            w.url = argv[i];
        } else {
            return s_usage("webhook add: unexpected '%s'", argv[i]);
        }
    }
    if (name == NULL || !gw_name_is_valid(name)) {
        return s_usage("webhook add: give a NAME of 1-63 of a-z, 0-9, '.', '_', '-' (got '%s')",
                       name);
    }
    if (w.url == NULL ||
        (strncmp(w.url, "http://", 7) != 0 && strncmp(w.url, "https://", 8) != 0)) {
        return s_usage("webhook add: give an http:// or https:// URL (got '%s')", w.url);
    }
    snprintf(w.name, sizeof w.name, "%s", name);
    randombytes_buf(w.secret, sizeof w.secret);
    w.created_ms = vg_clock_wall_ms(vg_clock_system());
    vg_reason why = {{0}};
    if (gw_db_webhook_add(db, &w, &why) != VG_OK) {
        fprintf(stderr, "vigil-gateway: webhook add: %s\n", why.text);
        return S_EXIT_FAIL;
    }
    char hex[2 * GW_WEBHOOK_SECRET_LEN + 1];
    sodium_bin2hex(hex, sizeof hex, w.secret, sizeof w.secret);
    printf("%s\n", hex);
    fflush(stdout);
    sodium_memzero(hex, sizeof hex);
    sodium_memzero(w.secret, sizeof w.secret);
    fprintf(stderr,
            "vigil-gateway: webhook '%s' -> %s (%s%s) added; above is its HMAC-SHA256 secret "
            "(hex), shown this once\n",
            name, w.url, w.cap ? "alerts as CAP 1.2" : "alerts as vigil JSON",
            w.events ? ", and events" : "");
    return S_EXIT_OK;
}

static int
s_webhook_list(gw_db *db)
{
    gw_webhook_row *rows = NULL;
    size_t n = 0;
    if (gw_db_webhooks(db, &rows, &n) != VG_OK) {
        fprintf(stderr, "vigil-gateway: webhook list: cannot read the store\n");
        return S_EXIT_FAIL;
    }
    for (size_t i = 0; i < n; i++) {
        gw_webhook_stats st;
        gw_db_webhook_stats(db, rows[i].name, &st);
        printf("%-20s %s  %s%s  pending %lld  delivered %lld  failed attempts %lld%s%s\n",
               rows[i].name, rows[i].url, rows[i].cap ? "cap" : "json",
               rows[i].events ? "+events" : "", (long long)st.pending, (long long)st.delivered,
               (long long)st.failures, st.failing_since_ms ? "  FAILING: " : "",
               st.failing_since_ms ? st.last_error : "");
    }
    if (n == 0) {
        printf("no webhooks\n");
    }
    gw_webhook_rows_free(rows, n);
    return S_EXIT_OK;
}

static int
s_manage(const char *config, const char *what, int argc, char **argv)
{
    if (argc < 1) {
        return s_usage("%s: say add, list, revoke or remove", what);
    }
    gw_db *db = NULL;
    int rc = s_open_db(config, &db);
    if (rc != S_EXIT_OK) {
        return rc;
    }
    const char *verb = argv[0];
    vg_reason why = {{0}};
    bool token = strcmp(what, "token") == 0;
    if (strcmp(verb, "add") == 0) {
        rc = token ? s_token_add(db, argc - 1, argv + 1) : s_webhook_add(db, argc - 1, argv + 1);
    } else if (strcmp(verb, "list") == 0 && argc == 1) {
        rc = token ? s_token_list(db) : s_webhook_list(db);
    } else if ((token ? strcmp(verb, "revoke") : strcmp(verb, "remove")) == 0 && argc == 2) {
        vg_err err =
            token ? gw_db_token_revoke(db, argv[1], vg_clock_wall_ms(vg_clock_system()), &why)
                  : gw_db_webhook_remove(db, argv[1], &why);
        if (err == VG_OK) {
            printf("%s %s %s\n", token ? "revoked token" : "removed webhook", argv[1],
                   token ? "(refused from the next request on)" : "");
        } else {
            fprintf(stderr, "vigil-gateway: %s %s: %s\n", what, verb, why.text);
            rc = S_EXIT_FAIL;
        }
    } else {
        rc = s_usage(token ? "token: use add NAME --scopes S, list or revoke NAME (got '%s')"
                           : "webhook: use add NAME URL, list or remove NAME (got '%s')",
                     verb);
    }
    gw_db_destroy(&db);
    return rc;
}

/* ---- officers -------------------------------------------------------------------------------- */

/* Reads one line of f into buf (cap bytes); the newline is dropped. False
 * at end of input or when the line is longer than cap - 2. */
static bool
s_read_line(FILE *f, char *buf, size_t cap, size_t *len)
{
    if (fgets(buf, (int)cap, f) == NULL) {
        return false;
    }
    size_t n = strlen(buf);
    bool whole = n > 0 && buf[n - 1] == '\n';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        buf[--n] = '\0';
    }
    *len = n;
    return whole || feof(f);
}

/* One line from the terminal without echo, after prompt. */
static bool
s_read_secret_tty(const char *prompt, char *buf, size_t cap, size_t *len)
{
    struct termios old, quiet;
    bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
    fputs(prompt, stderr);
    fflush(stderr);
    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    bool ok = s_read_line(stdin, buf, cap, len);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputs("\n", stderr);
    }
    return ok;
}

/* The new password of name (sodium_malloc'ed: sodium_free it): asked twice
 * on a terminal, else one line of stdin. NULL after saying why. */
static char *
s_new_password(const char *name, size_t *len)
{
    size_t cap = GW_PASSWORD_MAX + 2;
    char *pw = sodium_malloc(cap), *again = sodium_malloc(cap);
    size_t n2 = 0;
    bool ok = pw != NULL && again != NULL;
    char prompt[128];
    snprintf(prompt, sizeof prompt, "Password for %s: ", name);
    if (ok && isatty(STDIN_FILENO)) {
        ok = s_read_secret_tty(prompt, pw, cap, len) &&
             s_read_secret_tty("The same again: ", again, cap, &n2);
        if (ok && (n2 != *len || sodium_memcmp(pw, again, n2) != 0)) {
            fprintf(stderr, "vigil-gateway: officer: the two passwords differ; nothing changed\n");
            ok = false;
        }
    } else if (ok && !s_read_line(stdin, pw, cap, len)) {
        fprintf(stderr,
                "vigil-gateway: officer: give the password as one line on stdin (at most "
                "%d bytes)\n",
                GW_PASSWORD_MAX);
        ok = false;
    }
    vg_reason why = {{0}};
    if (ok && gw_password_check(pw, *len, &why) != VG_OK) {
        fprintf(stderr, "vigil-gateway: officer: %s\n", why.text);
        ok = false;
    }
    sodium_free(again);
    if (!ok) {
        sodium_free(pw);
        return NULL;
    }
    return pw;
}

/* The Argon2id hash of a new password for name into hash; false after saying why. */
static bool
s_hash_new_password(const char *name, char hash[GW_PWHASH_MAX])
{
    size_t len = 0;
    char *pw = s_new_password(name, &len);
    if (pw == NULL) {
        return false;
    }
    vg_err rc = gw_password_hash(hash, pw, len);
    sodium_free(pw);
    if (rc != VG_OK) {
        fprintf(stderr, "vigil-gateway: officer: cannot hash the password (out of memory)\n");
    }
    return rc == VG_OK;
}

static int
s_officer_add(gw_db *db, int argc, char **argv)
{
    gw_officer_row o = {0};
    const char *name = NULL, *role = NULL;
    bool no_password = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
            role = argv[++i];
        } else if (strncmp(argv[i], "--role=", 7) == 0) {
            role = argv[i] + 7;
        } else if (strcmp(argv[i], "--no-password") == 0) {
            no_password = true;
        } else if (name == NULL && argv[i][0] != '-') {
            name = argv[i];
        } else {
            return s_usage("officer add: unexpected '%s'", argv[i]);
        }
    }
    if (name == NULL || !gw_officer_name_is_valid(name)) {
        return s_usage("officer add: give a NAME of 1-63 characters of text, not starting or "
                       "ending with a space (got '%s')",
                       name);
    }
    if (role == NULL || gw_role_parse(role) == GW_ROLE_NONE) {
        return s_usage("officer add: --role duty (reads and acts) or --role viewer (reads) "
                       "(got '%s')",
                       role);
    }
    snprintf(o.name, sizeof o.name, "%s", name);
    snprintf(o.role, sizeof o.role, "%s", role);
    if (!no_password && !s_hash_new_password(name, o.pwhash)) {
        return S_EXIT_FAIL;
    }
    vg_reason why = {{0}};
    vg_err rc = gw_db_officer_add(db, &o, vg_clock_wall_ms(vg_clock_system()), &why);
    sodium_memzero(o.pwhash, sizeof o.pwhash);
    if (rc != VG_OK) {
        fprintf(stderr, "vigil-gateway: officer add: %s\n", why.text);
        return S_EXIT_FAIL;
    }
    printf("added officer '%s' (%s%s)\n", name, role, no_password ? ", single sign-on only" : "");
    return S_EXIT_OK;
}

static int
s_officer_list(gw_db *db)
{
    gw_officer_row *rows = NULL;
    size_t n = 0;
    if (gw_db_officers(db, &rows, &n) != VG_OK) {
        fprintf(stderr, "vigil-gateway: officer list: cannot read the store\n");
        return S_EXIT_FAIL;
    }
    for (size_t i = 0; i < n; i++) {
        char made[VG_TIME_STR_LEN];
        vg_time_format(made, sizeof made, rows[i].created_ms);
        printf("%-32s %-7s %-12s made %s\n", rows[i].name, rows[i].role,
               rows[i].pwhash[0] ? "password" : "sso only", made);
    }
    if (n == 0) {
        printf("no officers\n");
    }
    sodium_memzero(rows, n * sizeof *rows);
    free(rows);
    return S_EXIT_OK;
}

/* True when name is an officer; says so on stderr otherwise (before a
 * password is asked for nothing). */
static bool
s_officer_exists(gw_db *db, const char *name)
{
    gw_officer_row *rows = NULL;
    size_t n = 0;
    bool found = false;
    if (gw_db_officers(db, &rows, &n) == VG_OK) {
        for (size_t i = 0; i < n && !found; i++) {
            found = strcmp(rows[i].name, name) == 0;
        }
        sodium_memzero(rows, n * sizeof *rows);
        free(rows);
    }
    if (!found) {
        fprintf(stderr, "vigil-gateway: officer passwd: no officer is named '%s'\n", name);
    }
    return found;
}

static int
s_officer(const char *config, int argc, char **argv)
{
    if (argc < 1) {
        return s_usage("officer: say add, passwd, role, list or remove%s", "");
    }
    gw_db *db = NULL;
    int rc = s_open_db(config, &db);
    if (rc != S_EXIT_OK) {
        return rc;
    }
    const char *verb = argv[0];
    vg_reason why = {{0}};
    vg_err err = VG_OK;
    int64_t now = vg_clock_wall_ms(vg_clock_system());
    if (strcmp(verb, "add") == 0) {
        rc = s_officer_add(db, argc - 1, argv + 1);
    } else if (strcmp(verb, "list") == 0 && argc == 1) {
        rc = s_officer_list(db);
    } else if (strcmp(verb, "remove") == 0 && argc == 2) {
        err = gw_db_officer_remove(db, argv[1], &why);
        rc = err == VG_OK ? S_EXIT_OK : S_EXIT_FAIL;
        if (err == VG_OK) {
            printf("removed officer '%s' (their sessions end now)\n", argv[1]);
        }
    } else if (strcmp(verb, "role") == 0 && argc == 3 && gw_role_parse(argv[2]) != GW_ROLE_NONE) {
        err = gw_db_officer_set(db, argv[1], argv[2], NULL, now, &why);
        rc = err == VG_OK ? S_EXIT_OK : S_EXIT_FAIL;
        if (err == VG_OK) {
            printf("officer '%s' is now %s (their sessions end now)\n", argv[1], argv[2]);
        }
    } else if (strcmp(verb, "passwd") == 0 && argc == 2) {
        char hash[GW_PWHASH_MAX];
        rc = s_officer_exists(db, argv[1]) && s_hash_new_password(argv[1], hash) ? S_EXIT_OK
                                                                                 : S_EXIT_FAIL;
        err = rc == S_EXIT_OK ? gw_db_officer_set(db, argv[1], NULL, hash, now, &why) : VG_OK;
        sodium_memzero(hash, sizeof hash);
        rc = rc == S_EXIT_OK && err == VG_OK ? S_EXIT_OK : S_EXIT_FAIL;
        if (rc == S_EXIT_OK) {
            printf("new password for officer '%s' (their sessions end now)\n", argv[1]);
        }
    } else {
        rc = s_usage("officer: use add NAME --role duty|viewer, passwd NAME, role NAME "
                     "duty|viewer, list or remove NAME (got '%s')",
                     verb);
    }
    if (err != VG_OK) {
        fprintf(stderr, "vigil-gateway: officer %s: %s\n", verb, why.text);
    }
    gw_db_destroy(&db);
    return rc;
}

/* ---- cap check --------------------------------------------------------------------------- */

static int
s_cap_check(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "check") != 0 || argc < 2) {
        return s_usage("cap: use 'cap check FILE...'%s", "");
    }
    gw_cap_init();
    int rc = S_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        uint8_t *data = NULL;
        size_t len = 0;
        vg_reason why = {{0}};
        gw_cap_problem pb = {0};
        vg_err err = vg_file_read(&data, &len, argv[i], GW_CAP_MAX_BYTES + 1, &why);
        if (err == VG_OK) {
            err = gw_cap_validate((const char *)data, len, &pb, &why);
        }
        free(data);
        if (err == VG_OK) {
            printf("%s: ok\n", argv[i]);
        } else {
            printf("%s: refused: %s%s%s\n", argv[i], pb.field, pb.field[0] ? ": " : "", why.text);
            rc = S_EXIT_FAIL;
        }
    }
    return rc;
}

int
gw_main(int argc, char **argv)
{
    const char *config = NULL, *listen = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            config = argv[++i];
        } else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            listen = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(s_help, stdout);
            return S_EXIT_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("vigil-gateway %s\n", GW_VERSION);
            return S_EXIT_OK;
        } else {
            return s_usage("unknown option '%s'", argv[i]);
        }
    }
    const char *cmd = i < argc ? argv[i++] : "run";
    if (sodium_init() < 0) {
        fprintf(stderr, "vigil-gateway: libsodium cannot start\n");
        return S_EXIT_FAIL;
    }
    if (strcmp(cmd, "cap") == 0) {
        return s_cap_check(argc - i, argv + i);
    }
    if (config == NULL) {
        return s_usage("say which agency: vigil-gateway -c path/to/agent.conf %s", cmd);
    }
    if (strcmp(cmd, "run") == 0) {
        for (; i < argc; i++) {
            if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
                listen = argv[++i];
            } else {
                return s_usage("run: unexpected '%s'", argv[i]);
            }
        }
        return s_run(config, listen);
    }
    if (strcmp(cmd, "token") == 0 || strcmp(cmd, "webhook") == 0) {
        return s_manage(config, cmd, argc - i, argv + i);
    }
    if (strcmp(cmd, "officer") == 0) {
        return s_officer(config, argc - i, argv + i);
    }
    return s_usage("unknown command '%s': run, token, webhook, officer or cap", cmd);
}
