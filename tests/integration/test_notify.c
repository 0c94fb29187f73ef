/*
 * test_notify.c — deadlines in working days, out-of-hours cover and
 * reaching a person (issue 19), against the real broker over loopback:
 *
 * 1. Under libfaketime (wall and monotonic clocks moved together, so the
 *    broker sees time pass, not a clock step): a high taxi alert accepted
 *    at 16:55 on the Friday before the early May bank holiday. Licensing
 *    (1wd, england-and-wales, closed since 16:30 on Fridays) gets the end
 *    of Tuesday 4 May 2027 — 23:00Z — and is not overdue a minute before
 *    it; its out-of-hours cover, the emergency duty team, is a required
 *    recipient at once with its own 15-minute deadline, which runs out on
 *    Friday evening. The store rows, the audit leaf and vigilctl report's
 *    "why" say the same. An alert that leaves the cover out is refused; the
 *    police's own agent (vigil-agent publish, same faked clock) adds it.
 * 2. The officer on duty (from licensing's rota) gets an email at the
 *    escalation step through a local SMTP relay that insists on STARTTLS
 *    (Debian's python3-aiosmtpd, tests/integration/smtp_sink.py): the
 *    rota's address, the console link, none of the alert's sealed content.
 *    With the relay down, the failure is recorded (event and audit leaf)
 *    and the next step — the manager, by a signed webhook to a local HTTP
 *    receiver — is taken at once instead of at its time.
 * 3. A rota changed on disk takes effect without a restart; a rota that
 *    does not parse is refused and the one in force stays. A relay that
 *    offers no STARTTLS gets no mail (tls_failed, the next step instead).
 * 4. A calendar past its valid_until: calendar days, and every agency is
 *    warned once (an event each, one audit leaf).
 * 5. The out-of-hours-team target reaches a closed agency's cover's officer
 *    on duty; the oversight target the oversight agency's officer.
 * 6. IN_PROGRESS and a share set deadlines again, in working days from
 *    then, each recorded in its leaf (vigil-agent progress and share).
 *
 * Every wait is bounded; the SMTP sink is stopped by its pid.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "broker_harness.h"
#include "gw_harness.h"
#include "itest.h"
#include "rawclient.h"
#include "vigil/util.h"
#include "vigil/webhook.h"

#define T_FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
#define T_PYTHON "/usr/bin/python3"
#define T_AGENCIES "police,licensing,childrens-services,emergency-duty-team,home-office"
#define T_REPLY_MS 5000 /* a confirm */
#define T_WAIT_MS 8000  /* a step, a mail, a webhook */
#define T_SEALED_HEADLINE "SEALED-HEADLINE-do-not-send"
#define T_SEALED_TEXT "SEALED-DESCRIPTION-names-a-child"

/* The instants of test 1 (UTC seconds). */
#define T_FRI_1654_50 1809100490LL /* Fri 30 Apr 2027 15:54:50Z = 16:54:50 BST */
#define T_FRI_1710_30 1809101430LL /* 16:10:30Z: the cover's 15 minutes are up */
#define T_TUE_2259_00 1809471540LL /* Tue 4 May 22:59:00Z: a minute before */
#define T_TUE_2259_57 1809471597LL /* 22:59:57Z */
#define T_TUE_END 1809471600LL     /* Tue 4 May 23:00:00Z = 24:00 BST: 1wd's end */

static const char *const s_init_opts[] = {"--agencies", T_AGENCIES, NULL};
static const char *const s_conf_set[] = {"max_clock_skew=1m", NULL};

typedef struct fixture {
    bh_broker *b;
    pid_t sink;     /* the SMTP sink, 0 when none */
    gh_hook *hook;  /* the HTTP receiver, or NULL */
    char *sink_dir; /* its messages */
} fixture;

static int
s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *state = f;
    return 0;
}

static void
s_sink_stop(fixture *f)
{
    if (f->sink > 0) {
        kill(f->sink, SIGTERM);
        for (int i = 0; i < 100 && waitpid(f->sink, NULL, WNOHANG) == 0; i++) {
            bh_sleep_ms(50);
        }
        kill(f->sink, SIGKILL);
        waitpid(f->sink, NULL, 0);
        f->sink = 0;
    }
}

static int
s_teardown(void **state)
{
    fixture *f = *state;
    s_sink_stop(f);
    if (f->hook != NULL) {
        gh_hook_stop(f->hook);
    }
    free(f->sink_dir);
    bh_destroy(&f->b);
    free(f);
    return 0;
}

/* ---- the network --------------------------------------------------------------------- */

typedef void (*s_edit_fn)(json_t *root, void *ctx);

static json_t *
s_agency(json_t *root, const char *id)
{
    json_t *a;
    size_t i;
    json_array_foreach(json_object_get(root, "agencies"), i, a)
    {
        if (strcmp(json_string_value(json_object_get(a, "id")), id) == 0) {
            return a;
        }
    }
    fail_msg("no agency %s in network.json", id);
    return NULL;
}

/* Edits net/network/network.json and signs it again (vigilctl network sign). */
static void
s_edit_network(const bh_broker *b, s_edit_fn fn, void *ctx)
{
    char *p = it_path(b->net, "network/network.json");
    json_error_t jerr;
    json_t *root = json_load_file(p, 0, &jerr);
    assert_non_null(root);
    fn(root, ctx);
    assert_int_equal(json_dump_file(root, p, JSON_INDENT(2)), 0);
    json_decref(root);
    free(p);
    it_run run;
    it_vigilctl(&run, "network", "sign", "--dir", b->net);
    it_assert_ok(&run);
    it_run_fini(&run);
}

static json_t *
s_json(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    if (v == NULL) {
        fail_msg("test JSON: %s: %s", jerr.text, text);
    }
    return v;
}

/* England and Wales for 2027 (the early May bank holiday is Monday 3 May);
 * licensing works 1wd, office hours (Fridays until 16:30), covered out of
 * hours by the emergency duty team, which has 15 minutes. */
static void
s_council(json_t *root, void *ctx)
{
    (void)ctx;
    json_object_set_new(root, "calendars",
                        s_json("[{\"name\": \"england-and-wales\", \"time_zone\": "
                               "\"Europe/London\", \"tz_rule\": \"GMT0BST,M3.5.0/1,M10.5.0\", "
                               "\"weekend\": [\"sat\", \"sun\"], \"closed\": [\"2027-01-01\", "
                               "\"2027-03-26\", \"2027-03-29\", {\"date\": \"2027-05-03\", "
                               "\"title\": \"Early May bank holiday\"}, \"2027-05-31\", "
                               "\"2027-08-30\", \"2027-12-27\", \"2027-12-28\"], "
                               "\"valid_until\": \"2027-12-31\"}]"));
    json_object_set_new(json_object_get(root, "deadlines"), "high", json_string("15m"));
    json_t *lic = s_agency(root, "licensing");
    json_object_set_new(lic, "calendar", json_string("england-and-wales"));
    json_object_set_new(lic, "hours",
                        s_json("{\"mon\": \"09:00-17:00\", \"tue\": \"09:00-17:00\", \"wed\": "
                               "\"09:00-17:00\", \"thu\": \"09:00-17:00\", \"fri\": "
                               "\"09:00-16:30\"}"));
    json_object_set_new(lic, "out_of_hours_cover", json_string("emergency-duty-team"));
    json_object_set_new(lic, "deadlines", s_json("{\"high\": \"1wd\"}"));
}

/* ---- libfaketime ------------------------------------------------------------------------ */

static void
s_need(const char *path, const char *package)
{
    if (access(path, R_OK) != 0) {
        fail_msg("%s is missing: install the Debian package `%s` (deploy/deps.sh)", path, package);
    }
}

/* The broker's clock is real time + offset seconds, read from offset_path
 * at every call: wall and monotonic clocks both, so moving it is time
 * passing, not a clock step. */
static void
s_write_offset(const char *path, int64_t at_s)
{
    char text[32];
    snprintf(text, sizeof text, "%+lld", (long long)(at_s - time(NULL)));
    vg_reason why = {{0}};
    assert_int_equal(vg_file_write_atomic(path, text, strlen(text), 0644, &why), VG_OK);
}

static void
s_start_faked(bh_broker *b, const char *offset_path)
{
    char opts[512];
    const char *old = getenv("ASAN_OPTIONS"); /* libfaketime is preloaded before ASan */
    snprintf(opts, sizeof opts, "%s%sverify_asan_link_order=0", old ? old : "",
             old && old[0] ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
    setenv("LD_PRELOAD", T_FAKETIME_LIB, 1);
    setenv("FAKETIME_TIMESTAMP_FILE", offset_path, 1);
    setenv("FAKETIME_NO_CACHE", "1", 1);
    bh_start(b);
    unsetenv("LD_PRELOAD");
    unsetenv("FAKETIME_TIMESTAMP_FILE");
    unsetenv("FAKETIME_NO_CACHE");
}

/* ---- alerts and rows -------------------------------------------------------------------- */

typedef struct s_rows {
    vgb_rrow r[8];
    size_t n;
} s_rows;

static void
s_take(void *ctx, const vgb_rrow *r)
{
    s_rows *rows = ctx;
    if (rows->n < 8) {
        rows->r[rows->n++] = *r;
    }
}

static vgb_rrow
s_row(const bh_broker *b, const uint8_t *id, const char *agency)
{
    s_rows rows = {0};
    bh_store_each_recipient(b, id, s_take, &rows);
    for (size_t i = 0; i < rows.n; i++) {
        if (strcmp(rows.r[i].agency, agency) == 0) {
            return rows.r[i];
        }
    }
    fail_msg("alert has no row for %s", agency);
    return rows.r[0];
}

/* Publishes a taxi alert from police to exactly `to`, made at created_ms;
 * returns the confirm's status. */
static int
s_publish(rc_client *c, const vga_identity *police, const char *const *to, size_t n_to,
          vg_severity sev, uint64_t seq, int64_t created_ms, uint8_t id[VG_ALERT_ID_LEN])
{
    rc_seal_spec spec = {.recipients = to,
                         .n_recipients = n_to,
                         .category = "taxi",
                         .severity = sev,
                         .sequence = seq,
                         .created_ms = created_ms,
                         .headline = T_SEALED_HEADLINE,
                         .description = T_SEALED_TEXT};
    size_t len = 0;
    uint8_t *env = rc_seal(&len, id, police, &spec);
    Vigil__BrokerFrame *fr = rc_expect_confirm(c, rc_publish(c, env, len), T_REPLY_MS);
    int status = fr->confirm->status;
    rc_frame_free(fr);
    free(env);
    return status;
}

/* Waits (at most ms) until agency's row of the alert is overdue. */
static bool
s_wait_overdue(const bh_broker *b, const uint8_t *id, const char *agency, int64_t ms)
{
    for (int64_t end = bh_now_ms() + ms; bh_now_ms() < end; bh_sleep_ms(100)) {
        if (s_row(b, id, agency).esc_level > 0) {
            return true;
        }
    }
    return s_row(b, id, agency).esc_level > 0;
}

/* vigilctl audit verify on the stopped broker's store: every row answers
 * to the log, the out-of-hours cover's required rows, the notifications
 * (each event's address against the hash its leaf holds) and the calendar
 * warnings included. */
static void
s_audit_verifies(const bh_broker *b)
{
    it_run r;
    it_vigilctl(&r, "audit", "verify", "-c", b->conf);
    if (r.status != 0) {
        fail_msg("vigilctl audit verify refused the store:\n%s%s", r.out, r.err);
    }
    it_run_fini(&r);
}

/* ---- 1. working days and cover ------------------------------------------------------------ */

static void
test_working_day_deadline_and_cover_under_faketime(void **state)
{
    fixture *f = *state;
    s_need(T_FAKETIME_LIB, "faketime");
    f->b = bh_new_init(s_init_opts, s_conf_set);
    bh_broker *b = f->b;
    s_edit_network(b, s_council, NULL);
    char *offset = bh_own(b, it_path(b->tmp, "faketime.offset"), free);
    s_write_offset(offset, T_FRI_1654_50);
    s_start_faked(b, offset);

    char *conf = bh_own(b, bh_agent_conf(b, "police"), free);
    vga_identity *police = bh_identity(b, "police");
    rc_client *c = rc_new_agency(conf);
    char *edt_conf = bh_own(b, bh_agent_conf(b, "emergency-duty-team"), free);
    rc_client *edt_raw = rc_new_agency(edt_conf);
    rc_hello(edt_raw, true);
    int64_t made_ms = T_FRI_1654_50 * 1000 + 5000; /* 16:54:55 BST, give or take a second */

    /* Licensing is closed (Fridays until 16:30): its cover must be addressed. */
    static const char *const without[] = {"licensing", "childrens-services"};
    uint8_t refused[VG_ALERT_ID_LEN];
    assert_int_equal(s_publish(c, police, without, 2, VG_SEV_HIGH, 1, made_ms, refused),
                     VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED);
    assert_false(bh_store_has_alert(b, refused));

    static const char *const with[] = {"licensing", "childrens-services", "emergency-duty-team"};
    uint8_t id[VG_ALERT_ID_LEN];
    assert_int_equal(s_publish(c, police, with, 3, VG_SEV_HIGH, 2, made_ms, id),
                     VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    vgb_alert_meta m;
    assert_true(bh_store_alert(b, id, &m));
    assert_true(m.accepted_ms >= T_FRI_1654_50 * 1000 &&
                m.accepted_ms < T_FRI_1654_50 * 1000 + 60000);

    /* Each its own deadline: licensing the end of Tuesday (Monday is a bank
     * holiday), the cover 15 minutes, children's services the network's 15m. */
    vgb_rrow lic = s_row(b, id, "licensing");
    vgb_rrow edt = s_row(b, id, "emergency-duty-team");
    vgb_rrow cs = s_row(b, id, "childrens-services");
    assert_true(lic.required && edt.required && cs.required);
    assert_int_equal(lic.deadline_ms, T_TUE_END * 1000);
    assert_string_equal(lic.cover_for, "");
    assert_int_equal(edt.deadline_ms, m.accepted_ms + 15 * 60000);
    assert_string_equal(edt.cover_for, "licensing");
    assert_int_equal(cs.deadline_ms, m.accepted_ms + 15 * 60000);
    assert_string_equal(cs.cover_for, "");
    /* The emergency duty team has it at once. */
    bool delivered = false;
    for (int64_t end = bh_now_ms() + T_REPLY_MS; !delivered && bh_now_ms() < end;) {
        Vigil__BrokerFrame *fr = rc_recv(edt_raw, end - bh_now_ms());
        delivered = fr != NULL && fr->kind_case == VIGIL__BROKER_FRAME__KIND_DELIVER;
        rc_frame_free(fr);
    }
    assert_true(delivered);

    /* The police's own agent, on the same clock, adds the cover itself. */
    setenv("LD_PRELOAD", T_FAKETIME_LIB, 1);
    setenv("FAKETIME_TIMESTAMP_FILE", offset, 1);
    setenv("FAKETIME_NO_CACHE", "1", 1);
    it_run pub;
    it_exec(&pub, "vigil-agent",
            (const char *const[]){"-c", conf, "publish", "--severity", "high", "--category", "taxi",
                                  "--headline", T_SEALED_HEADLINE, "--to", "licensing", "--timeout",
                                  "10s", NULL});
    unsetenv("LD_PRELOAD");
    unsetenv("FAKETIME_TIMESTAMP_FILE");
    unsetenv("FAKETIME_NO_CACHE");
    it_assert_ok(&pub);
    uint8_t agent_id[VG_ALERT_ID_LEN];
    char hex[VG_ALERT_ID_HEX_LEN + 1] = "";
    sscanf(pub.out, "%32s", hex);
    assert_int_equal(vg_hex_decode(agent_id, sizeof agent_id, hex), VG_OK);
    it_run_fini(&pub);
    vgb_rrow agent_edt = s_row(b, agent_id, "emergency-duty-team");
    assert_true(agent_edt.required);
    assert_string_equal(agent_edt.cover_for, "licensing");
    assert_int_equal(s_row(b, agent_id, "licensing").deadline_ms, T_TUE_END * 1000);

    /* Friday 17:10:30 BST: the cover's deadline ran out, licensing's did not. */
    s_write_offset(offset, T_FRI_1710_30);
    assert_true(s_wait_overdue(b, id, "emergency-duty-team", T_WAIT_MS));
    edt = s_row(b, id, "emergency-duty-team");
    assert_true(edt.overdue_ms >= edt.deadline_ms);
    assert_int_equal(s_row(b, id, "licensing").esc_level, 0);

    /* Tuesday 23:59 BST: a minute before — not overdue. */
    s_write_offset(offset, T_TUE_2259_00);
    bh_sleep_ms(2500);
    assert_int_equal(s_row(b, id, "licensing").esc_level, 0);
    /* 23:59:57: overdue at 24:00 BST, not before. */
    s_write_offset(offset, T_TUE_2259_57);
    assert_true(s_wait_overdue(b, id, "licensing", T_WAIT_MS));
    lic = s_row(b, id, "licensing");
    assert_true(lic.overdue_ms >= T_TUE_END * 1000);
    assert_true(lic.overdue_ms < T_TUE_END * 1000 + 5000);
    rc_destroy(&c);
    vga_identity_destroy(&police);
    rc_destroy(&edt_raw);
    bh_stop(b);

    /* The report says why, from the audit leaf: rule, calendar version, cover. */
    char *store = bh_own(b, it_path(b->net, "broker/store"), free);
    it_run r;
    it_vigilctl(&r, "report", "--store", store, "--unshared", "--since", "2027-04-01");
    it_assert_ok(&r);
    if (!it_contains(r.out, "licensing: 1wd from 2027-04-30T15:5") ||
        !it_contains(r.out, "calendar england-and-wales@") ||
        !it_contains(r.out, "emergency-duty-team: 15m from 2027-04-30T15:5") ||
        !it_contains(r.out, "out-of-hours cover for licensing")) {
        fail_msg("vigilctl report does not say why:\n%s", r.out);
    }
    it_run_fini(&r);
    s_audit_verifies(b);
    bh_pass(b);
}

/* ---- 2. and 3. reaching a person ------------------------------------------------------------- */

#define T_OFFICER "duty.officer@licensing.example"
#define T_OFFICER_2 "night.officer@licensing.example"
#define T_CONSOLE "https://console.licensing.example/"
#define T_HOOK_KEY "manager-hook-key-for-the-test"
#define T_SMS_KEY "sms-provider-key"
#define T_CHAT_TOKEN "chat-bearer-token"

/* Deadlines of a second; the officer on duty at once, the manager after
 * 30 s (or at once when nobody was reached). */
static void
s_escalate_to_people(json_t *root, void *ctx)
{
    (void)ctx;
    json_object_set_new(json_object_get(root, "deadlines"), "high", json_string("1s"));
    json_object_set_new(root, "escalation",
                        s_json("[{\"after\": \"0s\", \"target\": \"officer-on-duty\"}, "
                               "{\"after\": \"30s\", \"target\": \"manager\"}]"));
}

static int
s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* A self-signed certificate for 127.0.0.1 (the relay's, and the CA the
 * channel trusts). */
static void
s_make_cert(const char *dir)
{
    char *key = it_path(dir, "relay-key.pem"), *cert = it_path(dir, "relay.pem");
    it_run r;
    it_exec_in(&r, "/usr/bin", "openssl",
               (const char *const[]){"req", "-x509", "-newkey", "ec", "-pkeyopt",
                                     "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                                     "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                                     "-addext", "subjectAltName=IP:127.0.0.1", NULL});
    it_assert_ok(&r);
    it_run_fini(&r);
    free(key);
    free(cert);
}

/* Starts smtp_sink.py on port, writing messages to f->sink_dir; without
 * STARTTLS when plain. */
static void
s_sink_start_as(fixture *f, int port, bool plain)
{
    s_need(T_PYTHON, "python3");
    char *cert = it_path(f->b->tmp, "relay.pem"), *key = it_path(f->b->tmp, "relay-key.pem");
    char *ready = it_path(f->sink_dir, "ready");
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    unlink(ready);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (plain) {
            execl(T_PYTHON, T_PYTHON, VG_SMTP_SINK, port_s, f->sink_dir, "--no-tls", (char *)NULL);
        } else {
            execl(T_PYTHON, T_PYTHON, VG_SMTP_SINK, port_s, f->sink_dir, cert, key, (char *)NULL);
        }
        _exit(127);
    }
    f->sink = pid;
    bool up = false;
    for (int i = 0; i < 100 && !up; i++) {
        up = access(ready, R_OK) == 0;
        if (!up) {
            if (waitpid(pid, NULL, WNOHANG) == pid) {
                f->sink = 0;
                fail_msg("smtp_sink.py exited: is python3-aiosmtpd installed "
                         "(deploy/deps.sh)?");
            }
            bh_sleep_ms(100);
        }
    }
    assert_true(up);
    free(cert);
    free(key);
    free(ready);
}

static void
s_sink_start(fixture *f, int port)
{
    s_sink_start_as(f, port, false);
}

/* Writes licensing's rota: the officer on duty by email through the relay
 * on smtp_port, the manager by a signed webhook to hook_port. */
static void
s_write_rota(const bh_broker *b, const char *officer, int smtp_port, int hook_port)
{
    char *dir = it_path(b->net, "broker/rotas");
    mkdir(dir, 0755);
    char *path = it_path(dir, "licensing.json");
    char *ca = it_path(b->tmp, "relay.pem");
    char text[4096];
    snprintf(
        text, sizeof text,
        "{\"agency\": \"licensing\", \"console\": \"" T_CONSOLE "\",\n"
        " \"channels\": [\n"
        "  {\"name\": \"mail\", \"type\": \"email\", \"url\": \"smtp://127.0.0.1:%d\",\n"
        "   \"from\": \"vigil@broker.example\", \"ca_file\": \"%s\",\n"
        "   \"subject\": \"vigil: a {severity} alert awaits {agency}\",\n"
        "   \"template\": \"Dear {name},\\nan alert of severity {severity} ({categories}) "
        "from {sender} awaits acknowledgement by {agency}: deadline {deadline}.\\n"
        "Open it in the console: {link}\\n\"},\n"
        "  {\"name\": \"manager-hook\", \"type\": \"webhook\", \"url\": "
        "\"http://127.0.0.1:%d/hook\",\n"
        "   \"auth\": \"hmac-sha256\", \"secret\": \"hook-key\", \"content_type\": "
        "\"application/json\",\n"
        "   \"template\": \"{\\\"text\\\": \\\"{summary}\\\", \\\"link\\\": \\\"{link}\\\"}\"},\n"
        "  {\"name\": \"sms\", \"type\": \"webhook\", \"url\": \"http://127.0.0.1:%d/sms\",\n"
        "   \"auth\": \"basic\", \"user\": \"council\", \"secret\": \"sms-key\",\n"
        "   \"content_type\": \"application/x-www-form-urlencoded\",\n"
        "   \"template\": \"to={to}&body={summary} {link}\"},\n"
        "  {\"name\": \"chat\", \"type\": \"webhook\", \"url\": \"http://127.0.0.1:%d/chat\",\n"
        "   \"auth\": \"bearer\", \"secret\": \"chat-token\"}],\n"
        " \"duty\": [\n"
        "  {\"name\": \"Licensing duty officer\", \"role\": \"officer\", \"when\": "
        "\"always\",\n"
        "   \"contacts\": [{\"channel\": \"mail\", \"to\": \"%s\"}]},\n"
        "  {\"name\": \"Licensing manager\", \"role\": \"manager\", \"when\": \"always\",\n"
        "   \"contacts\": [{\"channel\": \"manager-hook\", \"to\": \"\"},\n"
        "                {\"channel\": \"sms\", \"to\": \"+447700900123\"},\n"
        "                {\"channel\": \"chat\", \"to\": \"\"}]}]}\n",
        smtp_port, ca, hook_port, hook_port, hook_port, officer);
    vg_reason why = {{0}};
    assert_int_equal(vg_file_write_atomic(path, text, strlen(text), 0644, &why), VG_OK);
    free(ca);
    free(path);
    free(dir);
}

/* A network whose licensing rota and secrets are in place, rotas looked at
 * every 200 ms; the broker started. */
static void
s_people_network(fixture *f, int smtp_port)
{
    f->b = bh_new_init(s_init_opts, s_conf_set);
    bh_broker *b = f->b;
    s_edit_network(b, s_escalate_to_people, NULL);
    FILE *conf = fopen(b->conf, "a");
    assert_non_null(conf);
    fputs("\n[notify]\nrota_check = 200ms\ntimeout = 3s\n", conf);
    fclose(conf);
    char *secrets = it_path(b->net, "broker/notify.secrets");
    const char text[] = "[licensing]\nhook-key = " T_HOOK_KEY "\nsms-key = " T_SMS_KEY
                        "\nchat-token = " T_CHAT_TOKEN "\n";
    vg_reason why = {{0}};
    assert_int_equal(vg_file_write_atomic(secrets, text, strlen(text), 0600, &why), VG_OK);
    free(secrets);
    s_make_cert(b->tmp);
    f->sink_dir = it_path(b->tmp, "mail");
    mkdir(f->sink_dir, 0755);
    f->hook = gh_hook_start(b, 0);
    s_write_rota(b, T_OFFICER, smtp_port, gh_hook_port(f->hook));
    bh_start(b);
}

/* The n-th message the sink kept (1-based), waiting at most ms; NULL when
 * it did not come. malloc'ed. */
static char *
s_mail(const fixture *f, int n, int64_t ms)
{
    char name[32];
    snprintf(name, sizeof name, "%d.eml", n);
    char *path = it_path(f->sink_dir, name);
    char *text = NULL;
    for (int64_t end = bh_now_ms() + ms; text == NULL; bh_sleep_ms(100)) {
        size_t len = 0;
        uint8_t *bytes = NULL;
        vg_reason why = {{0}};
        if (vg_file_read(&bytes, &len, path, 1 << 20, &why) == VG_OK) {
            text = realloc(bytes, len + 1);
            assert_non_null(text);
            text[len] = '\0';
        } else if (bh_now_ms() >= end) {
            break;
        }
    }
    free(path);
    return text;
}

typedef struct s_notes {
    char detail[16][256];
    uint32_t level[16];
    size_t n;
} s_notes;

static void
s_take_note(void *ctx, const vgb_event_row *ev)
{
    s_notes *n = ctx;
    if (ev->kind == VIGIL__EVENT_KIND__EVENT_NOTIFIED && n->n < 16 &&
        strcmp(ev->about, "licensing") == 0) {
        snprintf(n->detail[n->n], sizeof n->detail[0], "%s", ev->detail);
        n->level[n->n++] = ev->level;
    }
}

/* licensing's stream's notifications about licensing, waiting until there
 * are at least `want` (at most ms). */
static s_notes
s_notes_of(const bh_broker *b, size_t want, int64_t ms)
{
    s_notes n = {0};
    for (int64_t end = bh_now_ms() + ms;; bh_sleep_ms(100)) {
        memset(&n, 0, sizeof n);
        bh_store_each_event(b, "licensing", s_take_note, &n);
        if (n.n >= want || bh_now_ms() >= end) {
            return n;
        }
    }
}

static void
s_assert_no_sealed(const char *text)
{
    if (it_contains(text, T_SEALED_HEADLINE) || it_contains(text, T_SEALED_TEXT)) {
        fail_msg("a notification carries sealed content:\n%s", text);
    }
}

/* The index of the receiver's request with this content type, signed or
 * not; fails the test when there is none. */
static size_t
s_hook_index(gh_hook *h, const char *ctype, bool signed_)
{
    for (size_t i = 0; i < gh_hook_count(h, NULL); i++) {
        gh_hook_req r;
        gh_hook_get(h, NULL, i, &r);
        bool match = strcmp(r.ctype, ctype) == 0 && (r.signature[0] != '\0') == signed_;
        gh_hook_req_fini(&r);
        if (match) {
            return i;
        }
    }
    fail_msg("no webhook of type %s%s", ctype, signed_ ? ", signed" : "");
    return 0;
}

/* The SMS provider's form post with HTTP basic authentication and the chat
 * hook's bearer token, each with the link to alert id and no content. */
static void
s_check_sms_and_chat(gh_hook *h, const uint8_t id[VG_ALERT_ID_LEN])
{
    char hex[VG_ALERT_ID_HEX_LEN + 1], basic[128], b64[96];
    vg_alert_id_hex(hex, id);
    const char creds[] = "council:" T_SMS_KEY;
    sodium_bin2base64(b64, sizeof b64, (const unsigned char *)creds, strlen(creds),
                      sodium_base64_VARIANT_ORIGINAL);
    snprintf(basic, sizeof basic, "Basic %s", b64);
    gh_hook_req r;
    gh_hook_get(h, NULL, s_hook_index(h, "application/x-www-form-urlencoded", false), &r);
    assert_string_equal(r.authorization, basic);
    if (strncmp(r.body, "to=%2B447700900123&body=A+high+alert", 36) != 0 ||
        !it_contains(r.body, hex)) {
        fail_msg("the SMS form is not the template's: %s", r.body);
    }
    s_assert_no_sealed(r.body);
    gh_hook_req_fini(&r);
    gh_hook_get(h, NULL, s_hook_index(h, "application/json", false), &r);
    assert_string_equal(r.authorization, "Bearer " T_CHAT_TOKEN);
    assert_true(it_contains(r.body, hex));
    s_assert_no_sealed(r.body);
    gh_hook_req_fini(&r);
}

static void
test_officer_emailed_then_relay_down_manager_by_webhook(void **state)
{
    fixture *f = *state;
    int smtp_port = s_free_port();
    s_people_network(f, smtp_port);
    bh_broker *b = f->b;
    s_sink_start(f, smtp_port);
    char *conf = bh_own(b, bh_agent_conf(b, "police"), free);
    vga_identity *police = bh_identity(b, "police");
    rc_client *c = rc_new_agency(conf);
    static const char *const to[] = {"licensing", "childrens-services"};

    /* 1. The officer on duty gets an email, through STARTTLS. */
    uint8_t id[VG_ALERT_ID_LEN];
    char hex[VG_ALERT_ID_HEX_LEN + 1], link[256];
    assert_int_equal(s_publish(c, police, to, 2, VG_SEV_HIGH, 1, 0, id),
                     VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    vg_alert_id_hex(hex, id);
    snprintf(link, sizeof link, T_CONSOLE "#/alert/%s", hex);
    char *mail = s_mail(f, 1, T_WAIT_MS);
    if (mail == NULL) {
        fail_msg("no email reached the relay");
    }
    if (!it_contains(mail, "X-Sink-Rcpt: " T_OFFICER "\r\n") ||
        !it_contains(mail, "X-Sink-TLS: yes") || !it_contains(mail, link) ||
        !it_contains(mail, "Subject: vigil: a high alert awaits licensing") ||
        !it_contains(mail, "Dear Licensing duty officer")) {
        fail_msg("the email is not the rota's officer's, over TLS, with the link:\n%s", mail);
    }
    s_assert_no_sealed(mail);
    free(mail);
    s_notes n = s_notes_of(b, 1, T_WAIT_MS);
    assert_true(n.n >= 1);
    assert_true(it_contains(n.detail[0], "officer-on-duty mail"));
    assert_true(it_contains(n.detail[0], "sent"));
    assert_true(bh_store_count_leaves(b, VG_AUDIT_NOTIFIED, "licensing") >= 1);
    /* The manager's step is 30 s away: nothing yet. */
    bh_sleep_ms(1000);
    assert_int_equal(gh_hook_count(f->hook, NULL), 0);

    /* 2. The relay is down: the failure is recorded and the manager's step
     * is taken at once, by the signed webhook. */
    s_sink_stop(f);
    uint8_t id2[VG_ALERT_ID_LEN];
    assert_int_equal(s_publish(c, police, to, 2, VG_SEV_HIGH, 2, 0, id2),
                     VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    if (!gh_hook_wait(f->hook, NULL, 3, T_WAIT_MS)) {
        fail_msg("the manager's three webhooks did not come after the relay failed");
    }
    gh_hook_req req;
    s_check_sms_and_chat(f->hook, id2);
    gh_hook_get(f->hook, NULL, s_hook_index(f->hook, "application/json", true), &req);
    char sig[VG_WEBHOOK_SIG_HEX_LEN + 1], want[VG_WEBHOOK_SIG_HEX_LEN + 4];
    vg_webhook_sign(sig, (const uint8_t *)T_HOOK_KEY, strlen(T_HOOK_KEY),
                    strtoll(req.timestamp, NULL, 10), req.body, req.len);
    snprintf(want, sizeof want, "v1=%s", sig);
    assert_string_equal(req.signature, want);
    assert_string_equal(req.ctype, "application/json");
    json_error_t jerr;
    json_t *body = json_loadb(req.body, req.len, 0, &jerr);
    if (body == NULL) {
        fail_msg("the webhook's body is not JSON: %s", req.body);
    }
    vg_alert_id_hex(hex, id2);
    snprintf(link, sizeof link, T_CONSOLE "#/alert/%s", hex);
    assert_string_equal(json_string_value(json_object_get(body, "link")), link);
    s_assert_no_sealed(req.body);
    json_decref(body);
    gh_hook_req_fini(&req);
    n = s_notes_of(b, 3, T_WAIT_MS);
    bool failed = false, manager = false;
    for (size_t i = 0; i < n.n; i++) {
        failed |=
            it_contains(n.detail[i], "officer-on-duty mail") && it_contains(n.detail[i], "failed");
        manager |=
            it_contains(n.detail[i], "manager manager-hook") && it_contains(n.detail[i], "sent");
    }
    if (!failed || !manager) {
        for (size_t i = 0; i < n.n; i++) {
            print_error("event: level %u %s\n", n.level[i], n.detail[i]);
        }
        fail_msg("the failure and the manager's notification are not both recorded");
    }
    assert_true(bh_store_count_leaves(b, VG_AUDIT_NOTIFIED, "licensing") >= 3);
    assert_true(bh_log_count(b, "notify.failed", "connect_failed") >= 1);
    rc_destroy(&c);
    vga_identity_destroy(&police);
    bh_stop(b); /* a clean exit (status 0; sanitizers find nothing) after sending */
    s_audit_verifies(b);
    bh_pass(b);
}

static void
test_rota_change_takes_effect_without_restart(void **state)
{
    fixture *f = *state;
    int smtp_port = s_free_port();
    s_people_network(f, smtp_port);
    bh_broker *b = f->b;
    s_sink_start(f, smtp_port);
    char *conf = bh_own(b, bh_agent_conf(b, "police"), free);
    vga_identity *police = bh_identity(b, "police");
    rc_client *c = rc_new_agency(conf);
    static const char *const to[] = {"licensing", "childrens-services"};
    uint8_t id[VG_ALERT_ID_LEN];
    assert_int_equal(s_publish(c, police, to, 2, VG_SEV_HIGH, 1, 0, id),
                     VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    char *mail = s_mail(f, 1, T_WAIT_MS);
    assert_non_null(mail);
    assert_true(it_contains(mail, "X-Sink-Rcpt: " T_OFFICER "\r\n"));
    free(mail);

    /* The night officer takes over: the file changes, the broker runs on. */
    pid_t pid = b->pid;
    s_write_rota(b, T_OFFICER_2, smtp_port, gh_hook_port(f->hook));
    bh_sleep_ms(1000);
    assert_int_equal(s_publish(c, police, to, 2, VG_SEV_HIGH, 2, 0, id),
                     VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    mail = s_mail(f, 2, T_WAIT_MS);
    assert_non_null(mail);
    if (!it_contains(mail, "X-Sink-Rcpt: " T_OFFICER_2 "\r\n")) {
        fail_msg("the changed rota was not used:\n%s", mail);
    }
    free(mail);

    /* A rota that does not parse is refused; the one in force stays. */
    char *path = it_path(b->net, "broker/rotas/licensing.json");
    vg_reason why = {{0}};
    assert_int_equal(vg_file_write_atomic(path, "{\"agency\": \"licensing\",", 23, 0644, &why),
                     VG_OK);
    free(path);
    bh_sleep_ms(1000);
    assert_true(bh_log_count(b, "rota.refused", NULL) >= 1);
    assert_int_equal(s_publish(c, police, to, 2, VG_SEV_HIGH, 3, 0, id),
                     VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    mail = s_mail(f, 3, T_WAIT_MS);
    assert_non_null(mail);
    assert_true(it_contains(mail, "X-Sink-Rcpt: " T_OFFICER_2 "\r\n"));
    free(mail);
    assert_int_equal(b->pid, pid);
    assert_int_equal(kill(pid, 0), 0); /* the same broker all along */
    rc_destroy(&c);
    vga_identity_destroy(&police);
    bh_stop(b); /* a clean exit (status 0; sanitizers find nothing) after sending */
    s_audit_verifies(b);
    bh_pass(b);
}

/* A relay that offers no STARTTLS gets nothing: the mail is not sent in
 * the clear, the failure is recorded as tls_failed, the manager is told. */
static void
test_relay_without_starttls_gets_no_mail(void **state)
{
    fixture *f = *state;
    int smtp_port = s_free_port();
    s_people_network(f, smtp_port);
    bh_broker *b = f->b;
    s_sink_start_as(f, smtp_port, true);
    char *conf = bh_own(b, bh_agent_conf(b, "police"), free);
    vga_identity *police = bh_identity(b, "police");
    rc_client *c = rc_new_agency(conf);
    static const char *const to[] = {"licensing", "childrens-services"};
    uint8_t id[VG_ALERT_ID_LEN];
    assert_int_equal(s_publish(c, police, to, 2, VG_SEV_HIGH, 1, 0, id),
                     VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    if (!gh_hook_wait(f->hook, NULL, 1, T_WAIT_MS)) {
        fail_msg("the manager's webhook did not come after the plain relay");
    }
    s_notes n = s_notes_of(b, 2, T_WAIT_MS);
    bool tls_failed = false;
    for (size_t i = 0; i < n.n; i++) {
        tls_failed |=
            it_contains(n.detail[i], "officer-on-duty mail") && it_contains(n.detail[i], "failed");
    }
    assert_true(tls_failed);
    assert_true(bh_log_count(b, "notify.failed", "code=tls_failed") >= 1);
    char *mail = s_mail(f, 1, 500);
    if (mail != NULL) {
        fail_msg("a mail went to a relay without STARTTLS:\n%s", mail);
    }
    rc_destroy(&c);
    vga_identity_destroy(&police);
    bh_stop(b);
    s_audit_verifies(b);
    bh_pass(b);
}

/* ---- 4. a calendar that ran out -------------------------------------------------------------- */

/* Licensing counts 1wd on a calendar whose valid_until has passed. */
static void
s_stale_calendar(json_t *root, void *ctx)
{
    (void)ctx;
    json_object_set_new(root, "calendars",
                        s_json("[{\"name\": \"england-and-wales\", \"time_zone\": "
                               "\"Europe/London\", \"tz_rule\": \"GMT0BST,M3.5.0/1,M10.5.0\", "
                               "\"weekend\": [\"sat\", \"sun\"], \"closed\": [\"2020-12-25\"], "
                               "\"valid_until\": \"2020-12-31\"}]"));
    json_t *lic = s_agency(root, "licensing");
    json_object_set_new(lic, "calendar", json_string("england-and-wales"));
    json_object_set_new(lic, "deadlines", s_json("{\"high\": \"1wd\"}"));
}

static void
s_count_warnings(void *ctx, const vgb_event_row *ev)
{
    if (ev->kind == VIGIL__EVENT_KIND__EVENT_NETWORK_WARNING &&
        it_contains(ev->detail, "past_valid_until") &&
        it_contains(ev->detail, "england-and-wales")) {
        (*(int *)ctx)++;
    }
}

/* Never a silently wrong date: the deadline falls back to calendar days,
 * and every agency hears once (an event each, one audit leaf) that the
 * administrator must renew the calendar. */
static void
test_a_calendar_past_valid_until_warns_everyone_once(void **state)
{
    fixture *f = *state;
    f->b = bh_new_init(s_init_opts, s_conf_set);
    bh_broker *b = f->b;
    s_edit_network(b, s_stale_calendar, NULL);
    bh_start(b);
    char *conf = bh_own(b, bh_agent_conf(b, "police"), free);
    vga_identity *police = bh_identity(b, "police");
    rc_client *c = rc_new_agency(conf);
    static const char *const to[] = {"licensing", "childrens-services"};
    uint8_t id[VG_ALERT_ID_LEN], id2[VG_ALERT_ID_LEN];
    assert_int_equal(s_publish(c, police, to, 2, VG_SEV_HIGH, 1, 0, id),
                     VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    assert_int_equal(s_publish(c, police, to, 2, VG_SEV_HIGH, 2, 0, id2),
                     VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    vgb_alert_meta m;
    assert_true(bh_store_alert(b, id, &m));
    /* Calendar days: the end of the next local date, at most 49 hours on. */
    vgb_rrow lic = s_row(b, id, "licensing");
    assert_true(lic.deadline_ms > m.accepted_ms + 3600000);
    assert_true(lic.deadline_ms <= m.accepted_ms + 49 * 3600000LL);
    const char *const everyone[] = {"police", "licensing", "childrens-services", "oversight"};
    for (size_t i = 0; i < 4; i++) {
        int n = 0;
        bh_store_each_event(b, everyone[i], s_count_warnings, &n);
        if (n != 1) {
            fail_msg("%s heard %d past_valid_until warnings, not 1", everyone[i], n);
        }
    }
    assert_int_equal(bh_store_count_leaves(b, VG_AUDIT_NETWORK_WARNING, NULL), 1);
    assert_true(bh_log_count(b, "network.warning", "past_valid_until") == 1);
    assert_true(bh_log_count(b, "deadline.fallback", "past_valid_until") >= 2);
    rc_destroy(&c);
    vga_identity_destroy(&police);
    bh_stop(b);
    s_audit_verifies(b);
    bh_pass(b);
}

/* ---- 5. the out-of-hours team and oversight ------------------------------------------------ */

#define T_SAT_1200 1809169200LL /* Saturday 1 May 2027 11:00Z = 12:00 BST */

/* The council network, with deadlines of a second and escalation to the
 * out-of-hours team at once, then oversight after 2 s. */
static void
s_council_escalating(json_t *root, void *ctx)
{
    s_council(root, ctx);
    json_object_set_new(json_object_get(root, "deadlines"), "high", json_string("1s"));
    json_object_del(s_agency(root, "licensing"), "deadlines");
    json_object_set_new(root, "escalation",
                        s_json("[{\"after\": \"0s\", \"target\": \"out-of-hours-team\"}, "
                               "{\"after\": \"2s\", \"target\": \"oversight\"}]"));
}

/* agency's rota: one entry of role `role`, on duty `when`, reached by an
 * unauthenticated webhook whose body names the step. */
static void
s_hook_rota(const bh_broker *b, const char *agency, const char *role, const char *when, int port)
{
    char *dir = it_path(b->net, "broker/rotas");
    mkdir(dir, 0755);
    char name[80];
    snprintf(name, sizeof name, "%s.json", agency);
    char *path = it_path(dir, name);
    char text[2048];
    snprintf(text, sizeof text,
             "{\"agency\": \"%s\", \"console\": \"https://console.example/%s/\",\n"
             " \"channels\": [{\"name\": \"hook\", \"type\": \"webhook\", \"url\": "
             "\"http://127.0.0.1:%d/%s\", \"template\": \"{\\\"rota\\\": \\\"%s\\\", "
             "\\\"target\\\": \\\"{target}\\\", \\\"agency\\\": \\\"{agency}\\\", \\\"name\\\": "
             "\\\"{name}\\\"}\"}],\n"
             " \"duty\": [{\"name\": \"%s %s\", \"role\": \"%s\", \"when\": \"%s\",\n"
             "   \"contacts\": [{\"channel\": \"hook\", \"to\": \"\"}]}]}\n",
             agency, agency, port, agency, agency, agency, role, role, when);
    vg_reason why = {{0}};
    assert_int_equal(vg_file_write_atomic(path, text, strlen(text), 0644, &why), VG_OK);
    free(path);
    free(dir);
}

/* How many webhooks came from `rota`'s file for late agency `agency` at
 * escalation target `target`. */
static size_t
s_hooks_for(gh_hook *h, const char *rota, const char *target, const char *agency)
{
    size_t n = 0;
    for (size_t i = 0; i < gh_hook_count(h, NULL); i++) {
        gh_hook_req r;
        gh_hook_get(h, NULL, i, &r);
        json_error_t jerr;
        json_t *v = json_loadb(r.body, r.len, 0, &jerr);
        if (v == NULL) {
            fail_msg("not JSON: %s", r.body);
        }
        n += strcmp(json_string_value(json_object_get(v, "rota")), rota) == 0 &&
             strcmp(json_string_value(json_object_get(v, "target")), target) == 0 &&
             strcmp(json_string_value(json_object_get(v, "agency")), agency) == 0;
        json_decref(v);
        gh_hook_req_fini(&r);
    }
    return n;
}

static bool
s_wait_hooks(gh_hook *h, const char *rota, const char *target, const char *agency, size_t want,
             int64_t ms)
{
    for (int64_t end = bh_now_ms() + ms; bh_now_ms() < end; bh_sleep_ms(100)) {
        if (s_hooks_for(h, rota, target, agency) >= want) {
            return true;
        }
    }
    return s_hooks_for(h, rota, target, agency) >= want;
}

/* On a Saturday licensing is closed. Its out-of-hours-team step finds no
 * out-of-hours entry in its own rota (its officer is on duty only while
 * open), so it reaches its cover's officer on duty, the emergency duty
 * team's; the oversight step reaches the oversight agency's officer. */
static void
test_out_of_hours_team_reaches_the_cover_then_oversight(void **state)
{
    fixture *f = *state;
    s_need(T_FAKETIME_LIB, "faketime");
    f->b = bh_new_init(s_init_opts, s_conf_set);
    bh_broker *b = f->b;
    s_edit_network(b, s_council_escalating, NULL);
    f->hook = gh_hook_start(b, 0);
    int port = gh_hook_port(f->hook);
    s_hook_rota(b, "licensing", "officer", "open", port);
    s_hook_rota(b, "emergency-duty-team", "officer", "always", port);
    s_hook_rota(b, "oversight", "officer", "always", port);
    char *offset = bh_own(b, it_path(b->tmp, "faketime.offset"), free);
    s_write_offset(offset, T_SAT_1200);
    s_start_faked(b, offset);
    char *conf = bh_own(b, bh_agent_conf(b, "police"), free);
    vga_identity *police = bh_identity(b, "police");
    rc_client *c = rc_new_agency(conf);
    static const char *const to[] = {"licensing", "childrens-services", "emergency-duty-team"};
    uint8_t id[VG_ALERT_ID_LEN];
    assert_int_equal(s_publish(c, police, to, 3, VG_SEV_HIGH, 1, T_SAT_1200 * 1000 + 2000, id),
                     VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
    int64_t sent_at = bh_now_ms();
    if (!s_wait_hooks(f->hook, "emergency-duty-team", "out-of-hours-team", "licensing", 1,
                      T_WAIT_MS)) {
        fail_msg("licensing's out-of-hours step did not reach the emergency duty team's officer");
    }
    assert_int_equal(s_hooks_for(f->hook, "licensing", "out-of-hours-team", "licensing"), 0);
    if (!s_wait_hooks(f->hook, "oversight", "oversight", "licensing", 1, T_WAIT_MS)) {
        fail_msg("licensing's oversight step did not reach the oversight officer");
    }
    assert_true(bh_now_ms() - sent_at >= 2500); /* at its time: licensing's step reached somebody */
    /* The emergency duty team's own row: nobody out of hours for it (no cover
     * of its own), so oversight at once. */
    assert_true(
        s_wait_hooks(f->hook, "oversight", "oversight", "emergency-duty-team", 1, T_WAIT_MS));
    assert_int_equal(s_hooks_for(f->hook, "licensing", "oversight", "licensing"), 0);
    rc_destroy(&c);
    vga_identity_destroy(&police);
    bh_stop(b);
    s_audit_verifies(b);
    bh_pass(b);
}

/* ---- 6. deadlines set again at progress and share ----------------------------------------- */

#define T_TUE_1000 1809421200LL   /* Tue 4 May 2027 09:00Z = 10:00 BST */
#define T_WED_1000 1809507600LL   /* Wed 5 May 10:00 BST */
#define T_SAT_1200_2 1809774000LL /* Sat 8 May 12:00 BST */

/* The council, and the Home Office on England and Wales' days with 2wd. */
static void
s_council_and_home_office(json_t *root, void *ctx)
{
    s_council(root, ctx);
    json_t *ho = s_agency(root, "home-office");
    json_object_set_new(ho, "calendar", json_string("england-and-wales"));
    json_object_set_new(ho, "deadlines", s_json("{\"high\": \"2wd\"}"));
}

/* Runs vigil-agent for agency under the broker's faked clock; its stdout. */
static char *
s_agent(const bh_broker *b, const char *offset, const char *agency, const char *const *args)
{
    char *conf = bh_agent_conf(b, agency);
    const char *argv[16] = {"-c", conf};
    size_t n = 2;
    for (size_t i = 0; args[i] != NULL && n < 15; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    setenv("LD_PRELOAD", T_FAKETIME_LIB, 1);
    setenv("FAKETIME_TIMESTAMP_FILE", offset, 1);
    setenv("FAKETIME_NO_CACHE", "1", 1);
    it_run r;
    it_exec(&r, "vigil-agent", argv);
    unsetenv("LD_PRELOAD");
    unsetenv("FAKETIME_TIMESTAMP_FILE");
    unsetenv("FAKETIME_NO_CACHE");
    free(conf);
    it_assert_ok(&r);
    char *out = vg_strdup(r.out);
    it_run_fini(&r);
    return out;
}

/* An IN_PROGRESS receipt sets licensing's deadline again under its own
 * rule from then (1wd from Wednesday: the end of Thursday); a share gives
 * the Home Office its own (2wd from Wednesday: the end of Friday). Each is
 * in its leaf, and the report says so. */
static void
test_progress_and_share_count_working_days_from_then(void **state)
{
    fixture *f = *state;
    s_need(T_FAKETIME_LIB, "faketime");
    f->b = bh_new_init(s_init_opts, s_conf_set);
    bh_broker *b = f->b;
    s_edit_network(b, s_council_and_home_office, NULL);
    char *offset = bh_own(b, it_path(b->tmp, "faketime.offset"), free);
    s_write_offset(offset, T_TUE_1000);
    s_start_faked(b, offset);
    char *id_text =
        s_agent(b, offset, "police",
                (const char *const[]){"publish", "--severity", "high", "--category", "taxi",
                                      "--headline", T_SEALED_HEADLINE, "--to", "licensing", NULL});
    char hex[VG_ALERT_ID_HEX_LEN + 1] = "";
    sscanf(id_text, "%32s", hex);
    free(id_text);
    uint8_t id[VG_ALERT_ID_LEN];
    assert_int_equal(vg_hex_decode(id, sizeof id, hex), VG_OK);
    /* Open at 10:00 on Tuesday: no cover; licensing has until Wednesday's end. */
    assert_int_equal(s_row(b, id, "licensing").deadline_ms,
                     1809558000000LL); /* Wed 5 May 24:00 BST */
    free(s_agent(b, offset, "licensing",
                 (const char *const[]){"listen", "--count", "1", "--timeout", "10s", NULL}));

    s_write_offset(offset, T_WED_1000);
    free(s_agent(b, offset, "licensing",
                 (const char *const[]){"progress", hex, "--reason", "checking the drivers", NULL}));
    free(s_agent(b, offset, "licensing",
                 (const char *const[]){"share", hex, "--to", "home-office", "--reason",
                                       "national picture", NULL}));
    vgb_rrow lic = s_row(b, id, "licensing"), ho = s_row(b, id, "home-office");
    assert_int_equal(lic.deadline_ms, 1809644400000LL); /* Thu 6 May 24:00 BST */
    assert_true(ho.required);
    assert_int_equal(ho.deadline_ms, 1809730800000LL); /* Fri 7 May 24:00 BST */

    /* Saturday: both late; the report says why, from the leaves. */
    s_write_offset(offset, T_SAT_1200_2);
    assert_true(s_wait_overdue(b, id, "home-office", T_WAIT_MS));
    bh_stop(b);
    char *store = bh_own(b, it_path(b->net, "broker/store"), free);
    it_run r;
    it_vigilctl(&r, "report", "--store", store, "--unshared", "--since", "2027-05-01");
    it_assert_ok(&r);
    if (!it_contains(r.out, "licensing: 1wd from 2027-05-05T09:") ||
        !it_contains(r.out, "home-office: 2wd from 2027-05-05T09:")) {
        fail_msg("the report does not show the deadlines set at progress and share:\n%s", r.out);
    }
    it_run_fini(&r);
    s_audit_verifies(b);
    bh_pass(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_working_day_deadline_and_cover_under_faketime, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_officer_emailed_then_relay_down_manager_by_webhook,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_rota_change_takes_effect_without_restart, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_relay_without_starttls_gets_no_mail, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_a_calendar_past_valid_until_warns_everyone_once,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_out_of_hours_team_reaches_the_cover_then_oversight,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_progress_and_share_count_working_days_from_then,
                                        s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
