/*
 * test_hostile_agency.c — issue 12: the real broker and the real agents
 * driven as a careless or hostile agency would, over real sockets.
 *
 * Written from the issue, docs/protocol.md, docs/audit.md, docs/network.md,
 * docs/agent.md and proto/vigil.proto only; never from the broker's or the
 * agent library's code, so these tests do not share their bugs. One test per
 * finding (or per facet of one):
 *
 *   HIGH   unopenable alerts jam the window; are recorded, told, escalated;
 *          a silent recipient cannot starve the window; envelopes sealed
 *          under version 0 or a superseded box key; an unopenable share.
 *   HIGH   a share reaches an agency that stays connected (agent library
 *          and `vigil-agent listen`); every redelivery carries the share.
 *   MEDIUM queries answered by who asks (inclusion, alert, receipts, shares).
 *   MEDIUM a query flood does not slow a good agency's publishes.
 *   MEDIUM replies a client does not read do not grow the broker.
 *   MEDIUM an idle TCP flood does not lock agencies out.
 *   LOW    publish rate and storage quota; receipt clock skew; envelopes to a
 *          revoked agency; oversight sees metadata, never content.
 *
 * Expectations are soft checks (hostile_util.h): each failed one is printed
 * as "hostile: FAIL test: ..." and the test goes on observing, so one run
 * says everything that is wrong; the test fails at its end. Figures are
 * printed one per line ("hostile: query_flood quiet_p99_ms=..."). Every wait
 * is bounded; nothing is retried.
 *
 * HOSTILE_ONLY=name runs the tests whose name contains `name`.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>
#include <zmq.h>

#include "broker_harness.h"
#include "fault_util.h"
#include "hostile_util.h"
#include "itest.h"
#include "rawclient.h"
#include "vigil/agent.h"
#include "vigil/envelope.h"
#include "vigil/netdoc.h"
#include "vigil/receipt.h"
#include "vigil/share.h"
#include "vigil/util.h"

/* ThreadSanitizer slows every memory access several times over: its build
 * (label threads) looks for races, so its waits stretch by T_SLOW; the dev
 * and asan builds hold the issue's bounds as written. */
#ifdef VG_FAULT_TSAN
#define T_SLOW 4
#else
#define T_SLOW 1
#endif
#define T_REPLY_MS HU_REPLY_MS           /* longest wait for one answer */
#define T_INFLIGHT 64                    /* broker.conf inflight default (docs/deploy.md) */
#define T_WINDOW_WAIT_MS (8000 * T_SLOW) /* a good alert behind a jammed window: at most */
#define T_UNOPENABLE_MS (6000 * T_SLOW)  /* the agent's "cannot open" reaching the sender */
#define T_AT_ONCE_MS (2000 * T_SLOW)     /* "at once": overdue after unopenable, share delivered */
#define T_SHARE_MS (1500 * T_SLOW)       /* "within about a second" */
#define T_N_BULK 300                     /* alerts behind each snapshot (issue 12) */
#define T_FLOOD_CONNS 8                  /* connections of the flooding agency */
#define T_FLOOD_PIPE 32                  /* queries in flight per connection */
#define T_QUIET_SAMPLES 200              /* good publishes measured alone */
#define T_FLOOD_SAMPLES 200              /* ... and during each flood, */
#define T_FLOOD_PHASE_MS 10000           /* ... or for this long, whichever ends first */
#define T_FLOOD_SLACK_MS 50.0    /* a 2-core machine where the flooder runs in this process */
#define T_BIG_BYTES (900 * 1024) /* "its own 0.9 MB alert" */
#define T_BIG_ASKS 400           /* times it is asked for, without reading */
#define T_BIG_CONNS 20           /* the same from this many connections */
/* Growth allowed (issue 12: "bounded"); ASan's quarantine (16 MiB here,
 * s_small_quarantine) and shadow memory grow with every free. */
#ifdef VG_FAULT_SANITIZED
#define T_RSS_BOUND_MIB 128
#else
#define T_RSS_BOUND_MIB 64
#endif
#define T_MANY_CONNS 100        /* connections of one agency: more than any sane cap */
#define T_SEQ_CONNS 80          /* one after another: more than the cap (32) */
#define T_RSS_WATCHDOG_MIB 512  /* the attack is stopped (and the broker killed) past this */
#define T_IDLE_CONNS 1100       /* plain TCP connections that never start CURVE */
#define T_IDLE_BATCH 50         /* ... opened this many at a time */
#define T_IDLE_CLOSE_MS 12000   /* "closed by the broker within ~10 s" */
#define T_PUBLISH_TIMEOUT "10s" /* a good agency's publish during the flood */
#define T_CPU_BOUND_PCT 50.0    /* the broker's CPU while the idle flood sits there */

/* vga_state / vga_event_kind values the fixes add (issue 12), by number until
 * agents/lib/include/vigil/agent.h has them. */
#define T_VGA_UNOPENABLE ((vga_state)6)
#define T_VGA_EV_UNOPENABLE ((vga_event_kind)14)

static const char *const s_short_deadlines[] = {"--deadline", "high=3s,low=500ms", NULL};

static int
s_teardown(void **state)
{
    bh_destroy((bh_broker **)state);
    return 0;
}

/* ---- small helpers ------------------------------------------------------------------- */

static const char *
s_state_name(int state)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&vigil__alert_state__descriptor, state);
    return v != NULL ? v->name : "?";
}

static const char *
s_hex(char out[VG_ALERT_ID_HEX_LEN + 1], const uint8_t id[VG_ALERT_ID_LEN])
{
    vg_alert_id_hex(out, id);
    return out;
}

static bool
s_confirm_is(const Vigil__BrokerFrame *f, int status, int code)
{
    return f != NULL && f->kind_case == VIGIL__BROKER_FRAME__KIND_CONFIRM &&
           (int)f->confirm->status == status && (code < 0 || (int)f->confirm->code == code);
}

#define S_ACCEPTED VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED
#define S_REJECTED VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED

/* Publishes one envelope and checks the Confirm: status and (code >= 0) code. */
static void
s_expect_publish(hu_checks *k, rc_client *c, const uint8_t *env, size_t len, int status, int code,
                 const char *what)
{
    Vigil__BrokerFrame *f = rc_recv_reply(c, rc_publish(c, env, len), T_REPLY_MS);
    char d[1024];
    hu_describe(d, sizeof d, f);
    hu_check(k, s_confirm_is(f, status, code), "%s: got %s", what, d);
    rc_frame_free(f);
}

/* The recipient state of `agency` for alert id, as `asker` sees it
 * (QUERY_ALERT), or -1 when there is none; *overdue (may be NULL) too. */
static int
s_state_of(rc_client *asker, const uint8_t id[VG_ALERT_ID_LEN], const char *agency, bool *overdue)
{
    Vigil__BrokerFrame *f = hu_query_alert(asker, id);
    const Vigil__RecipientState *r = hu_recipient(f, agency);
    int state = r != NULL ? (int)r->state : -1;
    if (overdue != NULL) {
        *overdue = r != NULL && r->overdue;
    }
    rc_frame_free(f);
    return state;
}

/* Waits for the alert on an agent, skipping nothing: the next alert surfaced
 * must be `id`. Returns the ms it took, or -1. */
static int64_t
s_receive_id(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], int64_t timeout_ms)
{
    int64_t t0 = bh_now_ms();
    for (;;) {
        int64_t left = t0 + timeout_ms - bh_now_ms();
        if (left <= 0) {
            return -1;
        }
        vg_alert got;
        memset(&got, 0, sizeof got);
        vg_reason why = {{0}};
        vg_err rc = vga_receive(a, left, &got, &why);
        if (rc != VG_OK) {
            return -1;
        }
        bool same = memcmp(got.id, id, VG_ALERT_ID_LEN) == 0;
        vg_alert_fini(&got);
        if (same) {
            return bh_now_ms() - t0;
        }
    }
}

/* vigilctl report --unshared --format json, parsed. */
static json_t *
s_report(const bh_broker *b)
{
    char *store = it_path(b->net, "broker/store");
    it_run r;
    it_vigilctl(&r, "report", "--store", store, "--unshared", "--format", "json");
    free(store);
    json_error_t jerr;
    json_t *doc = r.status == 0 ? json_loads(r.out, 0, &jerr) : NULL;
    it_run_fini(&r);
    return doc;
}

static json_t *
s_report_row(json_t *doc, const uint8_t id[VG_ALERT_ID_LEN], const char *agency)
{
    char hex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(hex, id);
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(doc, "unshared"), i, row)
    {
        const char *a = json_string_value(json_object_get(row, "alert_id"));
        const char *g = json_string_value(json_object_get(row, "agency"));
        if (a != NULL && g != NULL && strcmp(a, hex) == 0 && strcmp(g, agency) == 0) {
            return row;
        }
    }
    return NULL;
}

/* The line of `vigil-agent status` output about `agency`, copied to out. */
static bool
s_status_line(const char *text, const char *agency, char *out, size_t cap)
{
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        const char *p = line;
        while (p < line + len && *p == ' ') {
            p++;
        }
        size_t alen = strlen(agency);
        if ((size_t)(line + len - p) > alen && strncmp(p, agency, alen) == 0 && p[alen] == ' ') {
            snprintf(out, cap, "%.*s", (int)len, line);
            return true;
        }
        line = nl ? nl + 1 : NULL;
    }
    return false;
}

/* Runs `vigil-agent -c AGENCY status ID` and returns its stdout (free it). */
static char *
s_cli_status(const bh_broker *b, const char *agency, const uint8_t id[VG_ALERT_ID_LEN])
{
    char *conf = bh_agent_conf(b, agency);
    char hex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(hex, id);
    it_run r;
    it_exec(&r, "vigil-agent",
            (const char *const[]){"-c", conf, "status", hex, "--timeout", "5s", NULL});
    free(conf);
    char *out = NULL;
    if (asprintf(&out, "exit %d\n%s%s", r.status, r.out, r.err) < 0) {
        out = NULL;
    }
    it_run_fini(&r);
    assert_non_null(out);
    return out;
}

/* =====================================================================================
 * HIGH — alerts a recipient cannot open jam its delivery window
 * ===================================================================================== */

/* police publishes `inflight` alerts to licensing whose sealed key is
 * garbage (the broker cannot know), then home-office a good one: licensing's
 * real agent, connected, must get the good one. */
static void
test_unopenable_alerts_do_not_jam_the_window(void **state)
{
    hu_checks k;
    hu_checks_init(&k, "unopenable_window");
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    vga_identity *police = hu_identity(b, "police");
    rc_client *pol = hu_raw(b, "police");
    const char *to[] = {"licensing"};
    uint8_t *envs[T_INFLIGHT];
    size_t lens[T_INFLIGHT];
    int st[T_INFLIGHT], code[T_INFLIGHT];
    uint8_t ids[T_INFLIGHT][VG_ALERT_ID_LEN];
    for (size_t i = 0; i < T_INFLIGHT; i++) {
        hu_seal spec = {
            .to = to, .n_to = 1, .sequence = i + 1, .spoil = HU_BAD_KEY, .victim = "licensing"};
        envs[i] = hu_seal_envelope(&lens[i], ids[i], police, &spec);
    }
    hu_publish_all(pol, envs, lens, T_INFLIGHT, st, code);
    for (size_t i = 0; i < T_INFLIGHT; i++) {
        /* The broker never holds a content key: it cannot tell, and accepts. */
        assert_int_equal(st[i], S_ACCEPTED);
        free(envs[i]);
    }
    vga_agent *ho = hu_agent(b, "home-office", false, false);
    vga_agent *lic = hu_agent(b, "licensing", true, false);
    uint8_t good[VG_ALERT_ID_LEN];
    vg_reason why = {{0}};
    vg_err rc =
        hu_vga_publish(ho, "other", "licensing", "a good alert behind 64 bad ones", good, &why);
    if (rc != VG_OK) {
        fail_msg("home-office publish: %s: %s", vg_err_code(rc), why.text);
    }
    int64_t ms = s_receive_id(lic, good, T_WINDOW_WAIT_MS);
    printf("hostile: unopenable_window good_alert_received=%s after_ms=%lld "
           "(behind %d unopenable alerts, inflight %d)\n",
           ms >= 0 ? "yes" : "no", (long long)ms, T_INFLIGHT, T_INFLIGHT);
    hu_check(&k, ms >= 0,
             "licensing's connected agent did not get a good home-office alert within %d ms "
             "behind %d alerts it cannot open: the delivery window is jammed",
             T_WINDOW_WAIT_MS, T_INFLIGHT);
    /* The agent's receipts may still be on their way: look for up to 3 s. */
    size_t n_unopenable = 0, n_pending = 0;
    for (int64_t end = bh_now_ms() + 3000; n_unopenable < T_INFLIGHT && bh_now_ms() < end;) {
        n_unopenable = n_pending = 0;
        for (size_t i = 0; i < T_INFLIGHT; i++) {
            int s = s_state_of(pol, ids[i], "licensing", NULL);
            n_unopenable += s == VIGIL__ALERT_STATE__STATE_UNOPENABLE;
            n_pending += s == VIGIL__ALERT_STATE__STATE_PENDING;
        }
        vg_alert more; /* keep licensing's agent serving its connection meanwhile */
        memset(&more, 0, sizeof more);
        if (n_unopenable < T_INFLIGHT && vga_receive(lic, 200, &more, NULL) == VG_OK) {
            vg_alert_fini(&more);
        }
    }
    printf("hostile: unopenable_window licensing_unopenable=%zu licensing_pending=%zu of %d\n",
           n_unopenable, n_pending, T_INFLIGHT);
    hu_check(&k, n_unopenable == T_INFLIGHT,
             "only %zu of %d garbage-key alerts are recorded unopenable for licensing "
             "(%zu still pending)",
             n_unopenable, T_INFLIGHT, n_pending);
    hu_checks_end(&k);
    bh_stop(b);
    bh_pass(b);
}

typedef struct s_spoiled {
    hu_spoil how;                /* what was broken */
    vg_open_failure failure;     /* what the agent must say */
    uint8_t id[VG_ALERT_ID_LEN]; /* the alert */
} s_spoiled;

/* True when every alert's EVENT_UNOPENABLE about licensing reached stream s. */
static bool
s_all_unopenable_seen(hu_stream *s, const s_spoiled *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (hu_stream_find(s, VIGIL__EVENT_KIND__EVENT_UNOPENABLE, "licensing", x[i].id, 0) ==
            NULL) {
            return false;
        }
    }
    return true;
}

/* Runs licensing's agent (it receives nothing it can surface) while waiting
 * for the sender's stream to hear about every alert. */
static void
s_run_agent_until_told(vga_agent *lic, hu_stream *s, const s_spoiled *x, size_t n, int64_t ms)
{
    int64_t end = bh_now_ms() + ms;
    while (bh_now_ms() < end && !s_all_unopenable_seen(s, x, n)) {
        vg_alert got;
        memset(&got, 0, sizeof got);
        if (vga_receive(lic, 100, &got, NULL) == VG_OK) {
            vg_alert_fini(&got);
        }
        hu_stream_pump(s, 0);
    }
}

static void
s_check_unopenable_event(hu_checks *k, hu_stream *s, const char *who, const s_spoiled *x,
                         int64_t wait_ms)
{
    char hex[VG_ALERT_ID_HEX_LEN + 1];
    const Vigil__Event *e =
        hu_stream_find(s, VIGIL__EVENT_KIND__EVENT_UNOPENABLE, "licensing", x->id, wait_ms);
    const char *want = vg_open_failure_name(x->failure);
    if (hu_check(k, e != NULL,
                 "%s's event stream has no EVENT_UNOPENABLE about licensing for %s (%s)", who,
                 s_hex(hex, x->id), want)) {
        hu_check(k, strcmp(e->detail, want) == 0,
                 "%s's EVENT_UNOPENABLE for %s says detail \"%s\", expected \"%s\"", who, hex,
                 e->detail, want);
    }
}

/* A bad key, a key that does not match its commitment, a ciphertext that
 * does not authenticate: each is told to the sender, licensing and
 * oversight, recorded as licensing's state, overdue at once, shown by
 * `vigil-agent status` and in the unshared report. */
static void
test_unopenable_is_recorded_told_and_escalated(void **state)
{
    hu_checks k;
    hu_checks_init(&k, "unopenable_recorded");
    bh_broker *b = bh_new(NULL); /* high deadline 1 h: overdue now means "at once" */
    *state = b;
    bh_start(b);
    vga_identity *police = hu_identity(b, "police");
    rc_client *pol = hu_raw(b, "police");
    hu_stream *pol_s = hu_stream_new(b, "police");
    hu_stream *ovs_s = hu_stream_new(b, "oversight");
    hu_stream *lic_s = hu_stream_new(b, "licensing");
    hu_roundtrip(pol_s->c);
    hu_roundtrip(ovs_s->c);
    hu_roundtrip(lic_s->c);
    vga_agent *ovs_a = hu_agent(b, "oversight", false, true); /* a console's view */
    s_spoiled x[] = {{HU_BAD_KEY, VG_OPEN_BAD_KEY, {0}},
                     {HU_BAD_COMMITMENT, VG_OPEN_BAD_COMMITMENT, {0}},
                     {HU_UNDECRYPTABLE, VG_OPEN_UNDECRYPTABLE, {0}}};
    size_t n = sizeof x / sizeof x[0];
    /* taxi: licensing is a required recipient with a deadline (1 h). */
    const char *to[] = {"licensing", "childrens-services"};
    for (size_t i = 0; i < n; i++) {
        hu_seal spec = {.to = to,
                        .n_to = 2,
                        .category = "taxi",
                        .sequence = i + 1,
                        .spoil = x[i].how,
                        .victim = "licensing"};
        size_t len = 0;
        uint8_t *env = hu_seal_envelope(&len, x[i].id, police, &spec);
        Vigil__BrokerFrame *f = hu_publish_one(pol, env, len);
        assert_int_equal(f->confirm->status, S_ACCEPTED); /* the broker cannot tell */
        rc_frame_free(f);
        free(env);
    }
    vga_agent *lic = hu_agent(b, "licensing", true, false);
    int64_t t0 = bh_now_ms();
    s_run_agent_until_told(lic, pol_s, x, n, T_UNOPENABLE_MS);
    printf("hostile: unopenable_recorded all_told_to_sender=%s after_ms=%lld\n",
           s_all_unopenable_seen(pol_s, x, n) ? "yes" : "no", (long long)(bh_now_ms() - t0));
    for (size_t i = 0; i < n; i++) {
        char hex[VG_ALERT_ID_HEX_LEN + 1];
        s_hex(hex, x[i].id);
        s_check_unopenable_event(&k, pol_s, "the sender (police)", &x[i], 0);
        /* Other connections may hear a moment after the sender. */
        s_check_unopenable_event(&k, ovs_s, "oversight", &x[i], i == 0 ? 1000 : 300);
        s_check_unopenable_event(&k, lic_s, "the recipient (licensing)", &x[i],
                                 i == 0 ? 1000 : 300);
        const Vigil__Event *e = hu_stream_find(pol_s, VIGIL__EVENT_KIND__EVENT_OVERDUE, "licensing",
                                               x[i].id, i == 0 ? T_AT_ONCE_MS : 200);
        const Vigil__Event *esc = hu_stream_find(pol_s, VIGIL__EVENT_KIND__EVENT_ESCALATED,
                                                 "licensing", x[i].id, i == 0 ? T_AT_ONCE_MS : 200);
        hu_check(&k, esc != NULL,
                 "%s: licensing's unopenable alert was not escalated at once (like a decline)",
                 hex);
        bool overdue = false;
        int s = s_state_of(pol, x[i].id, "licensing", &overdue);
        hu_check(&k, s == VIGIL__ALERT_STATE__STATE_UNOPENABLE,
                 "QUERY_ALERT %s (%s): licensing is %s, expected STATE_UNOPENABLE", hex,
                 vg_open_failure_name(x[i].failure), s_state_name(s));
        hu_check(&k, e != NULL && overdue,
                 "%s: licensing is not overdue at once (EVENT_OVERDUE %s, overdue flag %d) "
                 "although it cannot open the alert (deadline 1 h)",
                 hex, e ? "seen" : "not seen", overdue);
    }
    /* What the agent library shows: the state and the event, by name. */
    vga_agent *pol_a = hu_agent(b, "police", false, false);
    vga_alert_status st;
    vg_reason why = {{0}};
    vg_err rc = vga_status(pol_a, x[0].id, T_REPLY_MS, &st, &why);
    const vga_recipient_status *lr = NULL;
    for (size_t i = 0; rc == VG_OK && i < st.n_recipients; i++) {
        lr = strcmp(st.recipients[i].agency, "licensing") == 0 ? &st.recipients[i] : lr;
    }
    hu_check(&k,
             lr != NULL && lr->state == T_VGA_UNOPENABLE &&
                 strcmp(vga_state_name(T_VGA_UNOPENABLE), "unopenable") == 0,
             "vga_status (police): licensing is %s (%d), expected unopenable (%d, named \"%s\" "
             "today)",
             lr ? vga_state_name(lr->state) : vg_err_code(rc), lr ? (int)lr->state : -1,
             (int)T_VGA_UNOPENABLE, vga_state_name(T_VGA_UNOPENABLE));
    if (rc == VG_OK) {
        vga_alert_status_fini(&st);
    }
    bool lib_event = false;
    for (int64_t end = bh_now_ms() + 1000; !lib_event && bh_now_ms() < end;) {
        vga_event ev;
        if (vga_next_event(ovs_a, end - bh_now_ms(), &ev) != VG_OK) {
            break;
        }
        lib_event = ev.kind == T_VGA_EV_UNOPENABLE && strcmp(ev.agency, "licensing") == 0;
    }
    hu_check(&k, lib_event && strcmp(vga_event_kind_name(T_VGA_EV_UNOPENABLE), "unopenable") == 0,
             "oversight's agent library surfaced no unopenable event (%d, named \"%s\" today) "
             "about licensing",
             (int)T_VGA_EV_UNOPENABLE, vga_event_kind_name(T_VGA_EV_UNOPENABLE));
    char *out = s_cli_status(b, "police", x[0].id);
    char line[512] = "";
    bool has = s_status_line(strchr(out, '\n') + 1, "licensing", line, sizeof line);
    hu_check(&k, has && strstr(line, "unopenable") != NULL,
             "`vigil-agent status` (police) does not show licensing as unopenable: \"%s\"",
             has ? line : out);
    free(out);
    json_t *rep = s_report(b);
    json_t *row = rep ? s_report_row(rep, x[0].id, "licensing") : NULL;
    const char *rs = row ? json_string_value(json_object_get(row, "state")) : NULL;
    hu_check(&k, rs != NULL && strcmp(rs, "unopenable") == 0,
             "vigilctl report --unshared has %s for licensing (state %s)", row ? "a row" : "no row",
             rs ? rs : "-");
    json_decref(rep);
    hu_checks_end(&k);
    bh_stop(b);
    bh_pass(b);
}

/* A recipient that never receipts anything (an old or broken agent): every
 * alert in its window is sent twice, then a fresh alert must still get a
 * slot. Broker alone, raw licensing client. */
static void
test_silent_recipient_cannot_starve_the_window(void **state)
{
    hu_checks k;
    hu_checks_init(&k, "silent_recipient");
    const char *conf[] = {"redeliver=500ms", "redeliver_max=2s", NULL};
    bh_broker *b = bh_new(conf);
    *state = b;
    bh_start(b);
    vga_identity *police = hu_identity(b, "police");
    vga_identity *ho_id = hu_identity(b, "home-office");
    rc_client *pol = hu_raw(b, "police");
    rc_client *ho = hu_raw(b, "home-office");
    rc_client *lic = hu_raw(b, "licensing");
    hu_hello(lic, true, false);
    hu_roundtrip(lic);
    const char *to[] = {"licensing"};
    uint8_t *envs[T_INFLIGHT];
    size_t lens[T_INFLIGHT];
    int st[T_INFLIGHT], code[T_INFLIGHT];
    uint8_t ids[T_INFLIGHT][VG_ALERT_ID_LEN];
    for (size_t i = 0; i < T_INFLIGHT; i++) {
        hu_seal spec = {.to = to, .n_to = 1, .sequence = i + 1};
        envs[i] = hu_seal_envelope(&lens[i], ids[i], police, &spec);
    }
    hu_publish_all(pol, envs, lens, T_INFLIGHT, st, code);
    for (size_t i = 0; i < T_INFLIGHT; i++) {
        assert_int_equal(st[i], S_ACCEPTED);
        free(envs[i]);
    }
    size_t sent[T_INFLIGHT] = {0};
    size_t twice = 0;
    int64_t end = bh_now_ms() + T_WINDOW_WAIT_MS;
    while (twice < T_INFLIGHT && bh_now_ms() < end) {
        Vigil__BrokerFrame *f = rc_recv(lic, end - bh_now_ms());
        for (size_t i = 0; f != NULL && i < T_INFLIGHT; i++) {
            if (hu_is_deliver_of(f, ids[i]) && ++sent[i] == 2) {
                twice++;
            }
        }
        rc_frame_free(f);
    }
    printf("hostile: silent_recipient window_alerts_sent_twice=%zu of %d\n", twice, T_INFLIGHT);
    assert_int_equal(twice, T_INFLIGHT); /* the setup: a full window, all sent twice */
    hu_seal spec = {.to = to, .n_to = 1, .sequence = 1, .headline = "fresh"};
    size_t len = 0;
    uint8_t fresh[VG_ALERT_ID_LEN];
    uint8_t *env = hu_seal_envelope(&len, fresh, ho_id, &spec);
    Vigil__BrokerFrame *f = hu_publish_one(ho, env, len);
    assert_int_equal(f->confirm->status, S_ACCEPTED);
    rc_frame_free(f);
    free(env);
    /* The fresh alert gets a slot; the stuck ones are still retried (with
     * backoff, redeliver_max 2 s), not dropped. */
    int64_t t0 = bh_now_ms(), fresh_ms = -1;
    size_t retried = 0;
    for (int64_t end2 = t0 + 4000; bh_now_ms() < end2 && (fresh_ms < 0 || retried == 0);) {
        Vigil__BrokerFrame *g = rc_recv(lic, end2 - bh_now_ms());
        if (g == NULL) {
            break;
        }
        if (fresh_ms < 0 && hu_is_deliver_of(g, fresh)) {
            fresh_ms = bh_now_ms() - t0;
        }
        for (size_t i = 0; i < T_INFLIGHT; i++) {
            retried += hu_is_deliver_of(g, ids[i]);
        }
        rc_frame_free(g);
    }
    printf("hostile: silent_recipient fresh_alert_delivered=%s after_ms=%lld "
           "stuck_alerts_retried=%zu\n",
           fresh_ms >= 0 ? "yes" : "no", (long long)fresh_ms, retried);
    hu_check(&k, fresh_ms >= 0,
             "a fresh alert was not delivered within 4000 ms to an agency whose %d-alert "
             "window holds alerts sent twice without a receipt",
             T_INFLIGHT);
    hu_check(&k, retried > 0,
             "the alerts sent twice without a receipt were not retried again within 4000 ms");
    hu_checks_end(&k);
    bh_stop(b);
    bh_pass(b);
}

static void
s_noop_edit(json_t *root, void *ctx)
{
    (void)root;
    (void)ctx;
}

/* Which network versions an envelope may be sealed under: 0 never; an older
 * one not when a recipient's box key changed since (stale_network, naming
 * it); one sealed before the rotation and delivered after it is unopenable
 * (stale_document). */
static void
test_envelopes_sealed_under_stale_documents(void **state)
{
    hu_checks k;
    hu_checks_init(&k, "stale_documents");
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    vga_identity *police = hu_identity(b, "police"); /* holds version 1 */
    rc_client *pol = hu_raw(b, "police");
    const char *to_lic[] = {"licensing"}, *to_cs[] = {"childrens-services"};
    size_t len = 0;
    uint8_t pending_id[VG_ALERT_ID_LEN], old_id[VG_ALERT_ID_LEN];

    hu_seal v0 = {.to = to_lic, .n_to = 1, .sequence = 1, .spoil = HU_VERSION, .version = 0};
    uint8_t *env = hu_seal_envelope(&len, NULL, police, &v0);
    Vigil__BrokerFrame *f = hu_publish_one(pol, env, len);
    char d[1024];
    hu_describe(d, sizeof d, f);
    printf("hostile: stale_documents network_version_0: %s\n", d);
    hu_check(&k,
             s_confirm_is(f, S_REJECTED, VIGIL__REJECT_CODE__REJECT_MALFORMED) ||
                 s_confirm_is(f, S_REJECTED, VIGIL__REJECT_CODE__REJECT_STALE_NETWORK),
             "an envelope sealed under network_version 0: %s (expected malformed or "
             "stale_network)",
             d);
    rc_frame_free(f);
    free(env);

    hu_seal pend = {.to = to_lic, .n_to = 1, .sequence = 2};
    env = hu_seal_envelope(&len, pending_id, police, &pend);
    f = hu_publish_one(pol, env, len); /* licensing is away: it waits */
    assert_int_equal(f->confirm->status, S_ACCEPTED);
    rc_frame_free(f);
    free(env);
    hu_seal old = {.to = to_lic, .n_to = 1, .sequence = 3};
    size_t old_len = 0, ok_len = 0, new_len = 0;
    uint8_t *old_env = hu_seal_envelope(&old_len, old_id, police, &old);
    hu_seal ok = {.to = to_cs, .n_to = 1, .sequence = 4};
    uint8_t *ok_env = hu_seal_envelope(&ok_len, NULL, police, &ok);
    hu_seal newer = {.to = to_cs, .n_to = 1, .sequence = 5, .spoil = HU_VERSION, .version = 3};
    uint8_t *new_env = hu_seal_envelope(&new_len, NULL, police, &newer);

    bh_stop(b);
    hu_rotate_box_key(b, "licensing");
    assert_int_equal(hu_network_edit(b, s_noop_edit, NULL, NULL), 0); /* version 2 */
    bh_start(b);
    hu_stream *pol_s = hu_stream_new(b, "police");
    hu_roundtrip(pol_s->c);

    f = hu_publish_one(pol, old_env, old_len);
    hu_describe(d, sizeof d, f);
    printf("hostile: stale_documents sealed_under_v1_to_rotated_licensing: %s\n", d);
    hu_check(&k,
             s_confirm_is(f, S_REJECTED, VIGIL__REJECT_CODE__REJECT_STALE_NETWORK) &&
                 strstr(f->confirm->reason, "licensing") != NULL,
             "an envelope sealed under version 1 to licensing, whose box key changed in "
             "version 2: %s (expected stale_network naming licensing)",
             d);
    rc_frame_free(f);
    s_expect_publish(&k, pol, ok_env, ok_len, S_ACCEPTED, -1,
                     "an envelope sealed under version 1 to childrens-services (key unchanged)");
    f = hu_publish_one(pol, new_env, new_len);
    hu_describe(d, sizeof d, f);
    printf("hostile: stale_documents sealed_under_future_v3: %s\n", d);
    hu_check(&k, s_confirm_is(f, S_REJECTED, -1),
             "an envelope claiming version 3 (the broker holds 2): %s", d);
    rc_frame_free(f);
    free(old_env);
    free(ok_env);
    free(new_env);

    /* The alert accepted before the rotation reaches licensing's new key. */
    vga_agent *lic = hu_agent(b, "licensing", true, false);
    s_spoiled x = {HU_INTACT, VG_OPEN_STALE_DOCUMENT, {0}};
    memcpy(x.id, pending_id, VG_ALERT_ID_LEN);
    s_run_agent_until_told(lic, pol_s, &x, 1, T_UNOPENABLE_MS);
    s_check_unopenable_event(&k, pol_s, "the sender (police)", &x, 0);
    int s = s_state_of(pol, pending_id, "licensing", NULL);
    hu_check(&k, s == VIGIL__ALERT_STATE__STATE_UNOPENABLE,
             "the alert sealed to licensing's old box key: licensing is %s, expected "
             "STATE_UNOPENABLE",
             s_state_name(s));
    hu_checks_end(&k);
    bh_stop(b);
    bh_pass(b);
}

/* police, a recipient, shares home-office's alert with licensing under a
 * garbage sealed key: licensing's agent cannot open it and says so. */
static void
test_unopenable_share_is_recorded_and_told(void **state)
{
    hu_checks k;
    hu_checks_init(&k, "unopenable_share");
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    vga_identity *ho_id = hu_identity(b, "home-office");
    vga_identity *police = hu_identity(b, "police");
    rc_client *ho = hu_raw(b, "home-office");
    rc_client *pol = hu_raw(b, "police");
    hu_hello(pol, true, false);
    hu_roundtrip(pol);
    hu_stream *ho_s = hu_stream_new(b, "home-office");
    hu_stream *ovs_s = hu_stream_new(b, "oversight");
    hu_roundtrip(ho_s->c);
    hu_roundtrip(ovs_s->c);
    const char *to[] = {"police"};
    hu_seal spec = {.to = to, .n_to = 1, .sequence = 1};
    size_t len = 0;
    s_spoiled x = {HU_INTACT, VG_OPEN_BAD_KEY, {0}};
    uint8_t *env = hu_seal_envelope(&len, x.id, ho_id, &spec);
    Vigil__BrokerFrame *f = hu_publish_one(ho, env, len);
    assert_int_equal(f->confirm->status, S_ACCEPTED);
    rc_frame_free(f);
    f = hu_wait_deliver(pol, x.id, T_REPLY_MS);
    assert_non_null(f);
    rc_frame_free(f);
    uint8_t hash[VG_HASH_LEN];
    hu_envelope_hash(hash, env, len);
    f = rc_expect_confirm(
        pol, rc_receipt_delivered(pol, "police", vga_identity_keys(police), x.id, hash),
        T_REPLY_MS);
    assert_int_equal(f->confirm->status, S_ACCEPTED);
    rc_frame_free(f);
    size_t sh_len = 0;
    uint8_t *sh = hu_share(&sh_len, env, len, police, "licensing", true);
    f = hu_submit_share_reply(pol, sh, sh_len);
    char d[1024];
    hu_describe(d, sizeof d, f);
    if (!s_confirm_is(f, S_ACCEPTED, -1)) { /* the broker cannot open the key either */
        fail_msg("police's share with a garbage key: %s", d);
    }
    rc_frame_free(f);
    free(sh);
    free(env);
    vga_agent *lic = hu_agent(b, "licensing", true, false);
    int64_t t0 = bh_now_ms();
    s_run_agent_until_told(lic, ho_s, &x, 1, T_UNOPENABLE_MS);
    printf("hostile: unopenable_share told_to_sender=%s after_ms=%lld\n",
           s_all_unopenable_seen(ho_s, &x, 1) ? "yes" : "no", (long long)(bh_now_ms() - t0));
    s_check_unopenable_event(&k, ho_s, "the sender (home-office)", &x, 0);
    s_check_unopenable_event(&k, ovs_s, "oversight", &x, 500);
    const Vigil__Event *over =
        hu_stream_find(ho_s, VIGIL__EVENT_KIND__EVENT_OVERDUE, "licensing", x.id, T_AT_ONCE_MS);
    bool overdue = false;
    int s = s_state_of(ho, x.id, "licensing", &overdue);
    hu_check(&k, s == VIGIL__ALERT_STATE__STATE_UNOPENABLE,
             "licensing, given a garbage key by police's share: %s, expected STATE_UNOPENABLE",
             s_state_name(s));
    hu_check(&k, over != NULL && overdue,
             "licensing is not overdue at once after its share proved unopenable (EVENT_OVERDUE "
             "%s, overdue flag %d)",
             over ? "seen" : "not seen", overdue);
    hu_checks_end(&k);
    bh_stop(b);
    bh_pass(b);
}

/* =====================================================================================
 * HIGH — a shared alert never reaches an agency that stays connected
 * ===================================================================================== */

/* licensing's agent stays connected and has received a newer alert B when
 * police shares the older A with it. */
static void
test_share_reaches_a_connected_agent(void **state)
{
    hu_checks k;
    hu_checks_init(&k, "share_connected_agent");
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    vga_agent *lic = hu_agent(b, "licensing", true, false);
    vga_agent *pol = hu_agent(b, "police", true, false);
    vga_agent *ho = hu_agent(b, "home-office", false, false);
    uint8_t a[VG_ALERT_ID_LEN], bb[VG_ALERT_ID_LEN];
    vg_reason why = {{0}};
    assert_int_equal(hu_vga_publish(ho, "other", "police", "alert A", a, &why), VG_OK);
    assert_true(s_receive_id(pol, a, T_REPLY_MS) >= 0);
    assert_int_equal(hu_vga_publish(ho, "other", "licensing", "alert B", bb, &why), VG_OK);
    assert_true(s_receive_id(lic, bb, T_REPLY_MS) >= 0);
    vga_confirm res;
    vg_err rc = vga_share(pol, a, "licensing", "licensing must see this", T_REPLY_MS, &res, &why);
    if (rc != VG_OK) {
        fail_msg("share: %s: %s %s", vg_err_code(rc), why.text, res.reason.text);
    }
    vga_confirm_fini(&res);
    int64_t ms = s_receive_id(lic, a, T_REPLY_MS);
    printf("hostile: share_connected_agent delivered=%s after_ms=%lld\n", ms >= 0 ? "yes" : "no",
           (long long)ms);
    hu_check(&k, ms >= 0 && ms <= T_SHARE_MS,
             "alert A shared with licensing's connected agent (which already had the newer B) "
             "was %s (bound %d ms)",
             ms >= 0 ? "late" : "not delivered within 5000 ms", T_SHARE_MS);
    hu_checks_end(&k);
    bh_stop(b);
    bh_pass(b);
}

/* The same with `vigil-agent listen --json` as licensing. */
static void
test_share_reaches_vigil_agent_listen(void **state)
{
    hu_checks k;
    hu_checks_init(&k, "share_connected_listen");
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    vga_agent *pol = hu_agent(b, "police", true, false);
    vga_agent *ho = hu_agent(b, "home-office", false, false);
    char *conf = bh_own(b, bh_agent_conf(b, "licensing"), free);
    char *out_path = bh_own(b, it_path(b->tmp, "listen.out"), free);
    char *err_path = bh_own(b, it_path(b->tmp, "listen.err"), free);
    char *bin = bh_own(b, it_path(VG_BIN_DIR, "vigil-agent"), free);
    char *argv[] = {bin, "-c", conf, "listen", "--json", "--timeout", "30s", NULL};
    pid_t pid = fu_spawn(argv, out_path, err_path);
    uint8_t a[VG_ALERT_ID_LEN], bb[VG_ALERT_ID_LEN];
    char ha[VG_ALERT_ID_HEX_LEN + 1], hb[VG_ALERT_ID_HEX_LEN + 1];
    vg_reason why = {{0}};
    assert_int_equal(hu_vga_publish(ho, "other", "police", "alert A", a, &why), VG_OK);
    assert_true(s_receive_id(pol, a, T_REPLY_MS) >= 0);
    assert_int_equal(hu_vga_publish(ho, "other", "licensing", "alert B", bb, &why), VG_OK);
    s_hex(ha, a);
    s_hex(hb, bb);
    int64_t end = bh_now_ms() + T_REPLY_MS;
    bool got_b = false, got_a = false;
    while (!got_b && bh_now_ms() < end) {
        uint8_t *text = NULL;
        size_t len = 0;
        if (vg_file_read(&text, &len, out_path, 1 << 20, &why) == VG_OK) {
            got_b = strstr((char *)text, hb) != NULL;
            free(text);
        }
        bh_sleep_ms(20);
    }
    if (!got_b) {
        fu_kill(pid);
        fail_msg("vigil-agent listen did not print alert B within %d ms", T_REPLY_MS);
    }
    vga_confirm res;
    vg_err rc = vga_share(pol, a, "licensing", "licensing must see this", T_REPLY_MS, &res, &why);
    assert_int_equal(rc, VG_OK);
    vga_confirm_fini(&res);
    int64_t t0 = bh_now_ms();
    end = t0 + T_REPLY_MS;
    while (!got_a && bh_now_ms() < end) {
        uint8_t *text = NULL;
        size_t len = 0;
        if (vg_file_read(&text, &len, out_path, 1 << 20, &why) == VG_OK) {
            got_a = strstr((char *)text, ha) != NULL;
            free(text);
        }
        bh_sleep_ms(20);
    }
    int64_t ms = bh_now_ms() - t0;
    kill(pid, SIGTERM);
    if (fu_wait(pid, 3000) == -1) {
        fu_kill(pid);
    }
    printf("hostile: share_connected_listen printed=%s after_ms=%lld\n", got_a ? "yes" : "no",
           (long long)ms);
    hu_check(&k, got_a && ms <= T_SHARE_MS,
             "alert A shared with licensing while its `vigil-agent listen` stayed connected "
             "(after the newer B) was %s (bound %d ms)",
             got_a ? "late" : "not printed within 5000 ms", T_SHARE_MS);
    hu_checks_end(&k);
    bh_stop(b);
    bh_pass(b);
}

/* True when the Deliver carries a share record naming licensing that opens
 * the envelope with licensing's keys. */
static bool
s_deliver_opens_with_share(const Vigil__Deliver *d, const vga_identity *lic)
{
    const vg_netdoc *doc = vga_identity_doc(lic);
    vg_envelope *env = NULL;
    if (vg_envelope_verify(&env, d->signed_envelope.data, d->signed_envelope.len, doc, NULL) !=
        VG_OK) {
        return false;
    }
    bool opened = false;
    for (size_t i = 0; i < d->n_signed_shares && !opened; i++) {
        vg_share *sh = NULL;
        if (vg_share_verify(&sh, d->signed_shares[i].data, d->signed_shares[i].len, doc, NULL) !=
            VG_OK) {
            continue;
        }
        size_t key_len = 0;
        const uint8_t *key = vg_share_sealed_key(sh, &key_len);
        vg_alert a;
        memset(&a, 0, sizeof a);
        if (strcmp(vg_share_to(sh), "licensing") == 0 && vg_share_matches(sh, env) &&
            vg_envelope_open_sealed(&a, env, key, key_len, vga_identity_keys(lic), NULL) == VG_OK) {
            opened = true;
            vg_alert_fini(&a);
        }
        vg_share_destroy(&sh);
    }
    vg_envelope_destroy(&env);
    return opened;
}

typedef struct s_redeliveries {
    size_t n;          /* Deliver frames of the alert */
    size_t with_share; /* ... whose share record opens it */
    int64_t first_ms;  /* after the share, -1 if none */
    int64_t last_ms;   /* ... */
    int64_t last_wall; /* wall-clock ms the last one arrived */
} s_redeliveries;

static void
s_count_deliveries(rc_client *c, const uint8_t id[VG_ALERT_ID_LEN], const vga_identity *lic,
                   int64_t t0, int64_t ms, s_redeliveries *r)
{
    int64_t end = bh_now_ms() + ms;
    for (;;) {
        int64_t left = end - bh_now_ms();
        if (left <= 0) {
            return;
        }
        Vigil__BrokerFrame *f = rc_recv(c, left);
        if (f == NULL) {
            return;
        }
        if (hu_is_deliver_of(f, id)) {
            int64_t at = bh_now_ms() - t0;
            r->first_ms = r->n == 0 ? at : r->first_ms;
            r->last_ms = at;
            r->last_wall = rc_wall_ms();
            r->n++;
            r->with_share += s_deliver_opens_with_share(f->deliver, lic);
        }
        rc_frame_free(f);
    }
}

/* licensing (raw, never receipting A) stays connected through the share,
 * the redelivery interval, its deadline's "redeliver" step and a broker
 * restart: every Deliver of A must carry the share record that opens it. */
static void
test_every_redelivery_carries_the_share(void **state)
{
    hu_checks k;
    hu_checks_init(&k, "share_redeliveries");
    const char *conf[] = {"redeliver=500ms", "redeliver_max=1s", NULL};
    bh_broker *b = bh_new_init(s_short_deadlines, conf);
    *state = b;
    bh_start(b);
    vga_identity *ho_id = hu_identity(b, "home-office");
    vga_identity *police = hu_identity(b, "police");
    vga_identity *lic_id = hu_identity(b, "licensing");
    rc_client *ho = hu_raw(b, "home-office");
    rc_client *pol = hu_raw(b, "police");
    rc_client *lic = hu_raw(b, "licensing");
    hu_hello(pol, true, false);
    hu_hello(lic, true, false);
    hu_roundtrip(pol);
    hu_roundtrip(lic);
    const char *to_pol[] = {"police"}, *to_lic[] = {"licensing"};
    hu_seal sa = {.to = to_pol, .n_to = 1, .sequence = 1, .headline = "alert A"};
    hu_seal sb = {.to = to_lic, .n_to = 1, .sequence = 2, .headline = "alert B"};
    size_t la = 0, lb = 0;
    uint8_t a[VG_ALERT_ID_LEN], bb[VG_ALERT_ID_LEN], hash[VG_HASH_LEN];
    uint8_t *env_a = bh_own(b, hu_seal_envelope(&la, a, ho_id, &sa), free);
    uint8_t *env_b = bh_own(b, hu_seal_envelope(&lb, bb, ho_id, &sb), free);
    Vigil__BrokerFrame *f = hu_publish_one(ho, env_a, la);
    assert_int_equal(f->confirm->status, S_ACCEPTED);
    rc_frame_free(f);
    f = hu_wait_deliver(pol, a, T_REPLY_MS);
    assert_non_null(f);
    rc_frame_free(f);
    hu_envelope_hash(hash, env_a, la);
    f = rc_expect_confirm(
        pol, rc_receipt_delivered(pol, "police", vga_identity_keys(police), a, hash), T_REPLY_MS);
    rc_frame_free(f);
    f = hu_publish_one(ho, env_b, lb);
    assert_int_equal(f->confirm->status, S_ACCEPTED);
    rc_frame_free(f);
    f = hu_wait_deliver(lic, bb, T_REPLY_MS);
    assert_non_null(f);
    rc_frame_free(f);
    hu_envelope_hash(hash, env_b, lb);
    f = rc_expect_confirm(
        lic, rc_receipt_delivered(lic, "licensing", vga_identity_keys(lic_id), bb, hash),
        T_REPLY_MS);
    rc_frame_free(f);

    size_t sh_len = 0;
    uint8_t *sh = hu_share(&sh_len, env_a, la, police, "licensing", false);
    f = hu_submit_share_reply(pol, sh, sh_len);
    free(sh);
    assert_true(s_confirm_is(f, S_ACCEPTED, -1));
    rc_frame_free(f);
    int64_t t0 = bh_now_ms();
    s_redeliveries r = {.first_ms = -1};
    /* 3 s deadline, then the "redeliver" step; 500 ms..1 s interval meanwhile. */
    s_count_deliveries(lic, a, lic_id, t0, 5000, &r);
    f = hu_query_alert(ho, a);
    const Vigil__RecipientState *rs = hu_recipient(f, "licensing");
    int64_t deadline = rs != NULL ? (int64_t)rs->deadline_ms : 0;
    rc_frame_free(f);
    assert_true(deadline > 0); /* licensing is a required recipient since the share */
    printf("hostile: share_redeliveries connected deliveries=%zu with_share=%zu first_ms=%lld "
           "last_ms=%lld\n",
           r.n, r.with_share, (long long)r.first_ms, (long long)r.last_ms);
    hu_check(&k, r.n >= 1 && r.first_ms <= T_SHARE_MS,
             "the shared alert reached licensing's connection %s (bound %d ms)",
             r.n ? "late" : "never in 5 s", T_SHARE_MS);
    hu_check(&k, r.n >= 3, "only %zu deliveries of an unreceipted alert in 5 s (redeliver 500 ms)",
             r.n);
    /* Same host clock; 20 ms for the broker's and this process's ms rounding. */
    hu_check(&k, r.n > 0 && r.last_wall + 20 >= deadline,
             "no delivery at or after licensing's deadline (the redeliver escalation step): "
             "last at %lld, deadline %lld",
             (long long)r.last_wall, (long long)deadline);
    hu_check(&k, r.with_share == r.n,
             "%zu of %zu deliveries of the shared alert carried no share record that opens it",
             r.n - r.with_share, r.n);

    bh_stop(b);
    bh_start(b);
    hu_hello(lic, true, false);
    s_redeliveries after = {.first_ms = -1};
    t0 = bh_now_ms();
    s_count_deliveries(lic, a, lic_id, t0, 3000, &after);
    printf("hostile: share_redeliveries after_restart deliveries=%zu with_share=%zu\n", after.n,
           after.with_share);
    hu_check(&k, after.n >= 1, "after a broker restart the shared alert was not redelivered");
    hu_check(&k, after.with_share == after.n,
             "after a broker restart %zu of %zu deliveries carried no share record that opens it",
             after.n - after.with_share, after.n);
    hu_checks_end(&k);
    bh_stop(b);
    bh_pass(b);
}

/* =====================================================================================
 * MEDIUM — queries answered by who asks
 * ===================================================================================== */

/* Compares what a non-party sees for a real alert with what it sees for one
 * that does not exist: the same reply, word for word (digits aside when
 * `masked`). */
static void
s_same_reply(hu_checks *k, const char *what, Vigil__BrokerFrame *real, Vigil__BrokerFrame *none,
             bool masked)
{
    char dr[1024], dn[1024];
    if (masked) {
        hu_describe_masked(dr, sizeof dr, real);
        hu_describe_masked(dn, sizeof dn, none);
    } else {
        hu_describe(dr, sizeof dr, real);
        hu_describe(dn, sizeof dn, none);
    }
    printf("hostile: who_asks %s: real alert -> %s | no such alert -> %s\n", what, dr, dn);
    hu_check(k, strcmp(dr, dn) == 0, "%s: a non-party can tell a real alert (%s) from none (%s)",
             what, dr, dn);
    rc_frame_free(real);
    rc_frame_free(none);
}

static bool
s_is_leaf(const Vigil__BrokerFrame *f)
{
    return f != NULL && f->kind_case == VIGIL__BROKER_FRAME__KIND_RESULT && f->result->leaf.len > 0;
}

static void
s_expect_leaf(hu_checks *k, rc_client *c, const char *who, uint64_t idx, uint64_t size)
{
    Vigil__BrokerFrame *f = hu_query_leaf(c, idx, size);
    char d[1024];
    hu_describe(d, sizeof d, f);
    hu_check(k, s_is_leaf(f), "%s asked for leaf %llu (tree %llu) and got %s", who,
             (unsigned long long)idx, (unsigned long long)size, d);
    rc_frame_free(f);
}

static void
test_queries_are_answered_by_who_asks(void **state)
{
    hu_checks k;
    hu_checks_init(&k, "who_asks");
    const char *conf[] = {"checkpoint_interval=200ms", "offline_alarm=1s", NULL};
    bh_broker *b = bh_new(conf);
    *state = b;
    bh_start(b);
    vga_identity *ho_id = hu_identity(b, "home-office");
    vga_identity *police = hu_identity(b, "police");
    vga_identity *lic_id = hu_identity(b, "licensing");
    rc_client *ho = hu_raw(b, "home-office");
    rc_client *pol = hu_raw(b, "police");
    rc_client *lic = hu_raw(b, "licensing");
    rc_client *ovs = hu_raw(b, "oversight");
    hu_hello(pol, true, false);
    hu_roundtrip(pol);
    /* Y: a taxi alert childrens-services must acknowledge; it never connects,
     * so an agency_offline leaf about it (public) is written after 1 s. */
    const char *to_pol[] = {"police"}, *to_y[] = {"police", "licensing", "childrens-services"};
    hu_seal sx = {.to = to_pol, .n_to = 1, .sequence = 1};
    hu_seal sy = {.to = to_y, .n_to = 3, .category = "taxi", .sequence = 2};
    size_t lx = 0, ly = 0;
    uint8_t x[VG_ALERT_ID_LEN], hx[VG_HASH_LEN];
    uint8_t *env_x = bh_own(b, hu_seal_envelope(&lx, x, ho_id, &sx), free);
    uint8_t *env_y = bh_own(b, hu_seal_envelope(&ly, NULL, ho_id, &sy), free);
    Vigil__BrokerFrame *f = hu_publish_one(ho, env_x, lx);
    assert_int_equal(f->confirm->status, S_ACCEPTED);
    rc_frame_free(f);
    f = hu_publish_one(ho, env_y, ly);
    assert_int_equal(f->confirm->status, S_ACCEPTED);
    rc_frame_free(f);
    f = hu_wait_deliver(pol, x, T_REPLY_MS);
    assert_non_null(f);
    rc_frame_free(f);
    hu_envelope_hash(hx, env_x, lx);
    f = rc_expect_confirm(
        pol, rc_receipt_delivered(pol, "police", vga_identity_keys(police), x, hx), T_REPLY_MS);
    rc_frame_free(f);

    /* A rejected leaf names licensing (claimed sender and transport). */
    const char *to_pol1[] = {"police"};
    hu_seal sr = {.to = to_pol1, .n_to = 1, .sequence = 1};
    size_t lr = 0, lbad = 0;
    uint8_t *good_r = hu_seal_envelope(&lr, NULL, lic_id, &sr);
    uint8_t *bad_r = rc_envelope_flip_signature(&lbad, good_r, lr);
    f = hu_publish_one(lic, bad_r, lbad);
    assert_int_equal(f->confirm->status, S_REJECTED);
    rc_frame_free(f);
    free(good_r);
    free(bad_r);

    f = hu_query_inclusion_id(pol, x);
    if (f == NULL || f->kind_case != VIGIL__BROKER_FRAME__KIND_RESULT ||
        f->result->n_leaf_indices < 2) {
        char d[512];
        hu_describe(d, sizeof d, f);
        fail_msg("police (a recipient) asked for alert X's leaves and got %s", d);
    }
    uint64_t idx[8];
    size_t n_idx = f->result->n_leaf_indices < 8 ? f->result->n_leaf_indices : 8;
    uint64_t max_idx = 0;
    for (size_t i = 0; i < n_idx; i++) {
        idx[i] = f->result->leaf_indices[i];
        max_idx = idx[i] > max_idx ? idx[i] : max_idx;
    }
    rc_frame_free(f);
    int64_t offline_idx = -1, rejected_idx = -1;
    uint64_t size = 0;
    for (int64_t end = bh_now_ms() + T_REPLY_MS; bh_now_ms() < end;) {
        offline_idx = bh_store_first_leaf(b, VG_AUDIT_AGENCY_OFFLINE, "childrens-services");
        rejected_idx = bh_store_first_leaf(b, VG_AUDIT_REJECTED, "licensing");
        size = hu_checkpoint_size(lic);
        if (offline_idx >= 0 && rejected_idx >= 0 && size > max_idx &&
            size > (uint64_t)offline_idx && size > (uint64_t)rejected_idx) {
            break;
        }
        bh_sleep_ms(100);
    }
    assert_true(offline_idx >= 0 && rejected_idx >= 0 && size > max_idx &&
                size > (uint64_t)offline_idx && size > (uint64_t)rejected_idx);
    printf("hostile: who_asks alert X leaves=%zu tree_size=%llu offline_leaf=%lld "
           "rejected_leaf=%lld\n",
           n_idx, (unsigned long long)size, (long long)offline_idx, (long long)rejected_idx);

    uint8_t none[VG_ALERT_ID_LEN], none_hash[VG_HASH_LEN];
    randombytes_buf(none, sizeof none);
    randombytes_buf(none_hash, sizeof none_hash);
    /* licensing is no party to X. */
    s_same_reply(&k, "QUERY_INCLUSION by alert id", hu_query_inclusion_id(lic, x),
                 hu_query_inclusion_id(lic, none), false);
    s_same_reply(&k, "QUERY_ALERT", hu_query_alert(lic, x), hu_query_alert(lic, none), false);
    /* "An index past the end of the log" is asked two ways: within a tree
     * that also goes past the end (today: not_found, "audit log has N
     * leaves, not M") and within the current tree (today: malformed, "leaf N
     * is not in a tree of M leaves"). A hidden leaf must be not_found and
     * read like one of them. */
    char past_a[1024], past_b[1024];
    Vigil__BrokerFrame *pa = hu_query_leaf(lic, size + 1000, size + 1001);
    Vigil__BrokerFrame *pb = hu_query_leaf(lic, size + 1000, size);
    hu_describe_masked(past_a, sizeof past_a, pa);
    hu_describe_masked(past_b, sizeof past_b, pb);
    rc_frame_free(pa);
    rc_frame_free(pb);
    printf("hostile: who_asks leaf past the end: %s | within the tree: %s\n", past_a, past_b);
    for (size_t i = 0; i < n_idx; i++) {
        Vigil__BrokerFrame *real = hu_query_leaf(lic, idx[i], size);
        char dr[1024];
        hu_describe_masked(dr, sizeof dr, real);
        printf("hostile: who_asks QUERY_INCLUSION of X's leaf %llu by a non-party: %s\n",
               (unsigned long long)idx[i], dr);
        hu_check(&k, !s_is_leaf(real), "licensing (no party) read X's leaf %llu",
                 (unsigned long long)idx[i]);
        hu_check(&k,
                 real != NULL && real->kind_case == VIGIL__BROKER_FRAME__KIND_ERROR &&
                     real->error->code == VIGIL__REJECT_CODE__REJECT_NOT_FOUND &&
                     (strcmp(dr, past_a) == 0 || strcmp(dr, past_b) == 0),
                 "X's leaf %llu asked by a non-party: %s; expected not_found reading like an "
                 "index past the end (%s, or %s)",
                 (unsigned long long)idx[i], dr, past_a, past_b);
        rc_frame_free(real);
    }
    size_t l1 = 0, l2 = 0;
    uint8_t *r1 = hu_receipt(&l1, lic_id, VG_RECEIPT_DELIVERED, x, hx, rc_wall_ms());
    uint8_t *r2 = hu_receipt(&l2, lic_id, VG_RECEIPT_DELIVERED, none, none_hash, rc_wall_ms());
    s_same_reply(&k, "DELIVERED receipt", hu_submit_receipt_reply(lic, r1, l1),
                 hu_submit_receipt_reply(lic, r2, l2), false);
    free(r1);
    free(r2);
    r1 = hu_receipt(&l1, lic_id, VG_RECEIPT_ACKNOWLEDGED, x, hx, rc_wall_ms());
    r2 = hu_receipt(&l2, lic_id, VG_RECEIPT_ACKNOWLEDGED, none, none_hash, rc_wall_ms());
    s_same_reply(&k, "ACKNOWLEDGED receipt", hu_submit_receipt_reply(lic, r1, l1),
                 hu_submit_receipt_reply(lic, r2, l2), false);
    free(r1);
    free(r2);
    r1 = hu_share_raw(&l1, x, hx, lic_id, "childrens-services");
    r2 = hu_share_raw(&l2, none, none_hash, lic_id, "childrens-services");
    s_same_reply(&k, "share", hu_submit_share_reply(lic, r1, l1),
                 hu_submit_share_reply(lic, r2, l2), false);
    free(r1);
    free(r2);

    /* What stays open: parties, oversight, agency leaves, checkpoints, proofs. */
    s_expect_leaf(&k, pol, "police (recipient)", idx[0], size);
    s_expect_leaf(&k, ho, "home-office (sender)", idx[0], size);
    s_expect_leaf(&k, ovs, "oversight", idx[n_idx - 1], size);
    s_expect_leaf(&k, lic, "licensing (its own rejected envelope)", (uint64_t)rejected_idx, size);
    f = hu_query_leaf(pol, (uint64_t)rejected_idx, size);
    char dpol[1024];
    hu_describe_masked(dpol, sizeof dpol, f);
    hu_check(&k, !s_is_leaf(f) && (strcmp(dpol, past_a) == 0 || strcmp(dpol, past_b) == 0),
             "police (no party) asked for the leaf of licensing's rejected envelope: %s", dpol);
    rc_frame_free(f);
    s_expect_leaf(&k, lic, "licensing (an agency_offline leaf is public)", (uint64_t)offline_idx,
                  size);
    f = hu_query_kind(lic, VIGIL__QUERY_KIND__QUERY_CHECKPOINT);
    hu_check(&k,
             f != NULL && f->kind_case == VIGIL__BROKER_FRAME__KIND_RESULT &&
                 f->result->checkpoint.len > 0,
             "licensing was refused the checkpoint");
    rc_frame_free(f);
    Vigil__Query q = VIGIL__QUERY__INIT;
    q.kind = VIGIL__QUERY_KIND__QUERY_CONSISTENCY;
    q.old_size = 1;
    q.tree_size = size;
    f = hu_query(lic, &q, T_REPLY_MS);
    hu_check(&k, f != NULL && f->kind_case == VIGIL__BROKER_FRAME__KIND_RESULT,
             "licensing was refused a consistency proof");
    rc_frame_free(f);
    hu_checks_end(&k);
    bh_stop(b);
    bh_pass(b);
}

/* =====================================================================================
 * MEDIUM — one agency's query flood slows every agency
 * ===================================================================================== */

typedef struct s_flood {
    void *ctx;                /* ZeroMQ context of the flood sockets */
    const char *conf;         /* the flooding agency's agent.conf */
    Vigil__QueryKind kind;    /* SNAPSHOT or EVENTS */
    atomic_bool stop;         /* set by the test thread */
    atomic_size_t replies;    /* every reply read */
    atomic_size_t limited;    /* ErrorReply rate_limited */
    atomic_size_t bytes;      /* reply bytes read */
    char limited_reason[256]; /* the first rate_limited reason (written once, before `limited`) */
} s_flood;

/* The code of a small reply when it is an ErrorReply, else -1. */
static int
s_error_code(const void *data, size_t len, char *reason, size_t cap)
{
    if (len > 4096) {
        return -1;
    }
    Vigil__BrokerFrame *f = vigil__broker_frame__unpack(NULL, len, data);
    int code = -1;
    if (f != NULL && f->kind_case == VIGIL__BROKER_FRAME__KIND_ERROR) {
        code = (int)f->error->code;
        snprintf(reason, cap, "%s", f->error->reason);
    }
    if (f != NULL) {
        vigil__broker_frame__free_unpacked(f, NULL);
    }
    return code;
}

static void *
s_flood_main(void *arg)
{
    s_flood *fl = arg;
    hu_dealer *d[T_FLOOD_CONNS];
    size_t outstanding[T_FLOOD_CONNS] = {0};
    for (size_t i = 0; i < T_FLOOD_CONNS; i++) {
        d[i] = hu_dealer_new(fl->ctx, fl->conf, 0);
    }
    Vigil__Query q = VIGIL__QUERY__INIT;
    q.kind = fl->kind;
    size_t qlen = 0;
    uint8_t *frame = hu_pack_query(&qlen, 7, &q);
    zmq_pollitem_t items[T_FLOOD_CONNS];
    while (!atomic_load(&fl->stop)) {
        for (size_t i = 0; i < T_FLOOD_CONNS; i++) {
            while (outstanding[i] < T_FLOOD_PIPE && hu_dealer_send(d[i], frame, qlen)) {
                outstanding[i]++;
            }
            items[i] = (zmq_pollitem_t){hu_dealer_socket(d[i]), 0, ZMQ_POLLIN, 0};
        }
        if (zmq_poll(items, T_FLOOD_CONNS, 20) <= 0) {
            continue;
        }
        for (size_t i = 0; i < T_FLOOD_CONNS; i++) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            while (zmq_msg_recv(&m, hu_dealer_socket(d[i]), ZMQ_DONTWAIT) >= 0) {
                outstanding[i] -= outstanding[i] > 0;
                atomic_fetch_add(&fl->replies, 1);
                atomic_fetch_add(&fl->bytes, zmq_msg_size(&m));
                char reason[256];
                if (s_error_code(zmq_msg_data(&m), zmq_msg_size(&m), reason, sizeof reason) ==
                    VIGIL__REJECT_CODE__REJECT_RATE_LIMITED) {
                    if (atomic_load(&fl->limited) == 0) {
                        snprintf(fl->limited_reason, sizeof fl->limited_reason, "%s", reason);
                    }
                    atomic_fetch_add(&fl->limited, 1);
                }
                zmq_msg_close(&m);
                zmq_msg_init(&m);
            }
            zmq_msg_close(&m);
        }
    }
    free(frame);
    for (size_t i = 0; i < T_FLOOD_CONNS; i++) {
        hu_dealer_destroy(&d[i]);
    }
    return NULL;
}

/* Publishes from police to childrens-services, one at a time, for at most n
 * samples or ms; fills us[] (microseconds each, a timeout counts as its
 * full wait) and returns how many. */
static size_t
s_measure_publishes(vga_agent *pol, int64_t *us, size_t n, int64_t ms)
{
    size_t got = 0;
    int64_t end = bh_now_ms() + ms;
    while (got < n && bh_now_ms() < end) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        vg_reason why = {{0}};
        vg_err rc = hu_vga_publish(pol, "other", "childrens-services", "good traffic", NULL, &why);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (rc != VG_OK && rc != VG_ERR_TIMEOUT) {
            fail_msg("the good agency's publish: %s: %s", vg_err_code(rc), why.text);
        }
        us[got++] = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000;
    }
    return got;
}

typedef struct s_phase {
    double p50_ms, p99_ms; /* the good agency's publish -> confirm */
    size_t samples;        /* publishes measured */
    size_t replies;        /* flood replies read meanwhile */
    size_t limited;        /* of which rate_limited */
    size_t mib;            /* reply MiB read */
} s_phase;

static s_phase
s_flood_phase(bh_broker *b, vga_agent *pol, Vigil__QueryKind kind, char *limited_reason, size_t cap)
{
    s_flood fl = {.kind = kind};
    fl.ctx = zmq_ctx_new();
    assert_non_null(fl.ctx);
    char *conf = bh_agent_conf(b, "home-office");
    fl.conf = conf;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, s_flood_main, &fl), 0);
    for (int64_t end = bh_now_ms() + T_REPLY_MS;
         atomic_load(&fl.replies) < 2 * T_FLOOD_CONNS && bh_now_ms() < end;) {
        bh_sleep_ms(10);
    }
    int64_t us[T_FLOOD_SAMPLES];
    s_phase ph = {0};
    ph.samples = s_measure_publishes(pol, us, T_FLOOD_SAMPLES, T_FLOOD_PHASE_MS);
    atomic_store(&fl.stop, true);
    assert_int_equal(pthread_join(th, NULL), 0);
    zmq_ctx_term(fl.ctx);
    free(conf);
    ph.p50_ms = hu_percentile(us, ph.samples, 50);
    ph.p99_ms = hu_percentile(us, ph.samples, 99);
    ph.replies = atomic_load(&fl.replies);
    ph.limited = atomic_load(&fl.limited);
    ph.mib = atomic_load(&fl.bytes) >> 20;
    if (ph.limited > 0 && limited_reason[0] == '\0') {
        snprintf(limited_reason, cap, "%s", fl.limited_reason);
    }
    return ph;
}

static void
test_query_flood_does_not_slow_a_good_agency(void **state)
{
    hu_checks k;
    hu_checks_init(&k, "query_flood");
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    vga_identity *ho_id = hu_identity(b, "home-office");
    rc_client *ho = hu_raw(b, "home-office");
    const char *to[] = {"licensing"};
    uint8_t **envs = bh_own(b, calloc(T_N_BULK, sizeof *envs), free);
    size_t lens[T_N_BULK];
    int st[T_N_BULK], code[T_N_BULK];
    for (size_t i = 0; i < T_N_BULK; i++) {
        hu_seal spec = {.to = to, .n_to = 1, .sequence = i + 1};
        envs[i] = hu_seal_envelope(&lens[i], NULL, ho_id, &spec);
    }
    hu_publish_all(ho, envs, lens, T_N_BULK, st, code);
    for (size_t i = 0; i < T_N_BULK; i++) {
        assert_int_equal(st[i], S_ACCEPTED);
        free(envs[i]);
    }
    vga_agent *pol = hu_agent(b, "police", false, false);
    int64_t us[T_QUIET_SAMPLES];
    (void)s_measure_publishes(pol, us, 5, T_REPLY_MS); /* warm up */
    size_t n_quiet = s_measure_publishes(pol, us, T_QUIET_SAMPLES, 3 * T_REPLY_MS);
    double quiet_p50 = hu_percentile(us, n_quiet, 50), quiet_p99 = hu_percentile(us, n_quiet, 99);
    char reason[256] = "";
    s_phase snap = s_flood_phase(b, pol, VIGIL__QUERY_KIND__QUERY_SNAPSHOT, reason, sizeof reason);
    s_phase evs = s_flood_phase(b, pol, VIGIL__QUERY_KIND__QUERY_EVENTS, reason, sizeof reason);
    double bound = 2.0 * quiet_p99 + T_FLOOD_SLACK_MS;
    printf("hostile: query_flood quiet_p50_ms=%.1f quiet_p99_ms=%.1f (n=%zu)\n", quiet_p50,
           quiet_p99, n_quiet);
    printf("hostile: query_flood snapshot_flood_p50_ms=%.1f snapshot_flood_p99_ms=%.1f "
           "(n=%zu, x%.1f quiet p99) flood_replies=%zu rate_limited=%zu reply_mib=%zu\n",
           snap.p50_ms, snap.p99_ms, snap.samples, snap.p99_ms / quiet_p99, snap.replies,
           snap.limited, snap.mib);
    printf("hostile: query_flood events_flood_p50_ms=%.1f events_flood_p99_ms=%.1f "
           "(n=%zu, x%.1f quiet p99) flood_replies=%zu rate_limited=%zu reply_mib=%zu\n",
           evs.p50_ms, evs.p99_ms, evs.samples, evs.p99_ms / quiet_p99, evs.replies, evs.limited,
           evs.mib);
    hu_check_cost(&k, snap.p99_ms <= bound,
                  "good agency's p99 publish->confirm %.1f ms during a QUERY_SNAPSHOT flood "
                  "(quiet %.1f ms; bound 2x + %.0f ms = %.1f ms)",
                  snap.p99_ms, quiet_p99, T_FLOOD_SLACK_MS, bound);
    hu_check_cost(&k, evs.p99_ms <= bound,
                  "good agency's p99 publish->confirm %.1f ms during a QUERY_EVENTS flood "
                  "(quiet %.1f ms; bound %.1f ms)",
                  evs.p99_ms, quiet_p99, bound);
    hu_check(&k, snap.limited + evs.limited > 0 && reason[0] != '\0',
             "the flooding agency was never told rate_limited (%zu + %zu replies)", snap.replies,
             evs.replies);
    if (reason[0] != '\0') {
        printf("hostile: query_flood rate_limited reason: %s\n", reason);
    }
    hu_checks_end(&k);
    bh_stop(b);
    bh_pass(b);
}

/* =====================================================================================
 * MEDIUM — broker memory grows with replies a client does not read
 * ===================================================================================== */

typedef struct s_attack {
    int64_t base_kib; /* RSS before */
    int64_t peak_kib; /* highest RSS seen */
    bool blown;       /* the watchdog stopped it */
    size_t drops;     /* disconnections the attackers saw (a cut-off) */
    vg_err good;      /* a good agency's publish during the attack */
    int64_t good_ms;  /* ... how long it took */
} s_attack;

static bool
s_watch(const bh_broker *b, s_attack *a)
{
    int64_t rss = fu_rss_kib(b->pid);
    a->peak_kib = rss > a->peak_kib ? rss : a->peak_kib;
    a->blown = a->blown || a->peak_kib - a->base_kib > (int64_t)T_RSS_WATCHDOG_MIB * 1024;
    return !a->blown;
}

/* n_conns connections of home-office, receive high-water mark 1, ask
 * T_BIG_ASKS times each for the big alert and never read. */
static s_attack
s_unread_attack(bh_broker *b, const uint8_t id[VG_ALERT_ID_LEN], size_t n_conns)
{
    s_attack a = {.base_kib = fu_rss_kib(b->pid)};
    a.peak_kib = a.base_kib;
    void *ctx = zmq_ctx_new();
    assert_non_null(ctx);
    char *conf = bh_agent_conf(b, "home-office");
    hu_dealer **d = calloc(n_conns, sizeof *d);
    assert_non_null(d);
    for (size_t i = 0; i < n_conns; i++) {
        d[i] = hu_dealer_new(ctx, conf, 1);
    }
    Vigil__Query q = VIGIL__QUERY__INIT;
    q.kind = VIGIL__QUERY_KIND__QUERY_ALERT;
    q.alert_id.data = (uint8_t *)id;
    q.alert_id.len = VG_ALERT_ID_LEN;
    size_t qlen = 0;
    uint8_t *frame = hu_pack_query(&qlen, 1, &q);
    for (size_t r = 0; r < T_BIG_ASKS && s_watch(b, &a); r++) {
        for (size_t i = 0; i < n_conns; i++) {
            (void)hu_dealer_send(d[i], frame, qlen);
        }
        if (r % 20 == 19) {
            bh_sleep_ms(5);
        }
    }
    for (int64_t end = bh_now_ms() + 3000; bh_now_ms() < end && s_watch(b, &a);) {
        bh_sleep_ms(50);
    }
    for (size_t i = 0; i < n_conns; i++) { /* before a kill would drop them all */
        a.drops += hu_dealer_drops(d[i], 0);
    }
    /* A cut-off may come a little later. */
    for (int64_t end = bh_now_ms() + 7000; !a.blown && a.drops == 0 && bh_now_ms() < end;) {
        bh_sleep_ms(100);
        for (size_t i = 0; i < n_conns; i++) {
            a.drops += hu_dealer_drops(d[i], 0); /* totals; all were 0 until now */
        }
        (void)s_watch(b, &a);
    }
    if (!a.blown) {
        vga_agent *pol = hu_agent(b, "police", false, false);
        int64_t t0 = bh_now_ms();
        vg_reason why = {{0}};
        a.good =
            hu_vga_publish(pol, "other", "childrens-services", "during the attack", NULL, &why);
        a.good_ms = bh_now_ms() - t0;
        hu_agent_close(b, pol);
        (void)s_watch(b, &a);
    } else {
        a.good = VG_ERR_INTERNAL; /* not tried: the broker is killed */
        bh_kill(b);               /* before it eats the machine */
    }
    for (size_t i = 0; i < n_conns; i++) {
        hu_dealer_destroy(&d[i]);
    }
    free(d);
    free(frame);
    free(conf);
    zmq_ctx_term(ctx);
    return a;
}

static void
s_report_attack(hu_checks *k, const char *what, const s_attack *a)
{
    int64_t growth_mib = (a->peak_kib - a->base_kib) / 1024;
    printf("hostile: unread_replies %s rss_before_mib=%lld rss_peak_mib=%lld growth_mib=%lld%s "
           "cut_offs=%zu good_publish=%s good_ms=%lld\n",
           what, (long long)(a->base_kib / 1024), (long long)(a->peak_kib / 1024),
           (long long)growth_mib, a->blown ? " (watchdog: attack stopped, broker killed)" : "",
           a->drops, a->blown ? "not_tried" : vg_err_code(a->good), (long long)a->good_ms);
    hu_check_cost(k, !a->blown && growth_mib < T_RSS_BOUND_MIB,
                  "%s: broker RSS grew %lld MiB (bound %d MiB)%s", what, (long long)growth_mib,
                  T_RSS_BOUND_MIB, a->blown ? ", past the watchdog" : "");
    hu_check_cost(k, a->good == VG_OK, "%s: a good agency's publish during the attack: %s", what,
                  a->blown ? "not tried (the watchdog killed the broker)" : vg_err_code(a->good));
}

/* The broker inherits it: freed replies do not sit in a 256 MiB quarantine. */
static void
s_small_quarantine(void)
{
    char opts[512];
    const char *old = getenv("ASAN_OPTIONS");
    snprintf(opts, sizeof opts, "%s%squarantine_size_mb=16", old ? old : "",
             old && old[0] ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
}

static void
test_unread_replies_do_not_grow_the_broker(void **state)
{
    hu_checks k;
    hu_checks_init(&k, "unread_replies");
    s_small_quarantine();
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    vga_identity *ho_id = hu_identity(b, "home-office");
    rc_client *ho = hu_raw(b, "home-office");
    const char *to[] = {"police"};
    hu_seal spec = {
        .to = to, .n_to = 1, .sequence = 1, .spoil = HU_CIPHERTEXT, .size = T_BIG_BYTES};
    size_t len = 0;
    uint8_t id[VG_ALERT_ID_LEN];
    uint8_t *env = hu_seal_envelope(&len, id, ho_id, &spec);
    Vigil__BrokerFrame *f = hu_publish_one(ho, env, len);
    assert_int_equal(f->confirm->status, S_ACCEPTED);
    rc_frame_free(f);
    free(env);
    f = hu_query_alert(ho, id);
    assert_non_null(f);
    size_t reply_len = vigil__broker_frame__get_packed_size(f);
    rc_frame_free(f);
    printf("hostile: unread_replies alert_bytes=%zu reply_bytes=%zu\n", len, reply_len);
    assert_true(reply_len > len); /* the sender is given its own envelope: the reply is big */

    s_attack one = s_unread_attack(b, id, 1);
    s_report_attack(&k, "one_connection", &one);
    /* A client that does not read does not see its connection go either (its
     * side reads nothing, EOF included): the broker's log line says it. */
    size_t cut_one = one.drops > 0 ? bh_log_wait(b, "conn.cutoff", NULL, T_REPLY_MS)
                                   : bh_log_count(b, "conn.cutoff", NULL);
    if (b->pid != 0) {
        bh_stop(b);
    }
    bh_start(b);
    s_attack many = s_unread_attack(b, id, T_BIG_CONNS);
    s_report_attack(&k, "twenty_connections", &many);
    /* the log line may trail the cut the client saw (a slow build) */
    size_t cut_all = bh_log_count(b, "conn.cutoff", NULL);
    for (int64_t end = bh_now_ms() + T_REPLY_MS;
         many.drops > 0 && cut_all <= cut_one && bh_now_ms() < end;) {
        bh_sleep_ms(20);
        cut_all = bh_log_count(b, "conn.cutoff", NULL);
    }
    printf("hostile: unread_replies cut_off_logged one=%zu twenty=%zu closed=%zu\n", cut_one,
           cut_all - cut_one, bh_log_count(b, "conn.cutoff", "closed=yes"));
    hu_check(&k, cut_all > cut_one,
             "none of twenty connections that do not read was cut off with a log line (%zu; %zu "
             "disconnections seen)",
             cut_all - cut_one, many.drops);
    /* One connection fills its queue only as fast as the broker answers:
     * under ThreadSanitizer the attack can end first (a cost, hostile_util.h). */
    hu_check_cost(&k, cut_one > 0,
                  "one connection that does not read was not cut off with a log line (%zu "
                  "disconnections seen)",
                  one.drops);
    hu_checks_end(&k);
    if (b->pid != 0) {
        bh_stop(b);
    }
    bh_pass(b);
}

/* One agency opens T_MANY_CONNS connections, each asking for the
 * checkpoint: the first are served, the extra ones told rate_limited. */
static void
test_connections_per_agency_are_capped(void **state)
{
    hu_checks k;
    hu_checks_init(&k, "connection_cap");
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    void *ctx = zmq_ctx_new();
    assert_non_null(ctx);
    char *conf = bh_own(b, bh_agent_conf(b, "home-office"), free);
    hu_dealer *d[T_MANY_CONNS];
    for (size_t i = 0; i < T_MANY_CONNS; i++) {
        d[i] = hu_dealer_new(ctx, conf, 0);
    }
    Vigil__Query q = VIGIL__QUERY__INIT;
    q.kind = VIGIL__QUERY_KIND__QUERY_CHECKPOINT;
    size_t qlen = 0;
    uint8_t *frame = hu_pack_query(&qlen, 1, &q);
    for (size_t i = 0; i < T_MANY_CONNS; i++) {
        zmq_send(hu_dealer_socket(d[i]), frame, qlen, 0); /* queued until connected */
    }
    free(frame);
    size_t results = 0, limited = 0, other = 0, answered = 0;
    bool done[T_MANY_CONNS] = {false};
    char reason[256] = "";
    for (int64_t end = bh_now_ms() + T_REPLY_MS; answered < T_MANY_CONNS && bh_now_ms() < end;) {
        zmq_pollitem_t items[T_MANY_CONNS];
        for (size_t i = 0; i < T_MANY_CONNS; i++) {
            items[i] = (zmq_pollitem_t){hu_dealer_socket(d[i]), 0, done[i] ? 0 : ZMQ_POLLIN, 0};
        }
        if (zmq_poll(items, T_MANY_CONNS, 50) <= 0) {
            continue;
        }
        for (size_t i = 0; i < T_MANY_CONNS; i++) {
            if (done[i] || (items[i].revents & ZMQ_POLLIN) == 0) {
                continue;
            }
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, hu_dealer_socket(d[i]), ZMQ_DONTWAIT) >= 0) {
                Vigil__BrokerFrame *f =
                    vigil__broker_frame__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
                bool lim = f != NULL && f->kind_case == VIGIL__BROKER_FRAME__KIND_ERROR &&
                           f->error->code == VIGIL__REJECT_CODE__REJECT_RATE_LIMITED;
                if (lim && reason[0] == '\0') {
                    snprintf(reason, sizeof reason, "%s", f->error->reason);
                }
                results += f != NULL && f->kind_case == VIGIL__BROKER_FRAME__KIND_RESULT;
                limited += lim;
                other += f == NULL || (f->kind_case != VIGIL__BROKER_FRAME__KIND_RESULT && !lim);
                if (f != NULL) {
                    vigil__broker_frame__free_unpacked(f, NULL);
                }
                done[i] = true;
                answered++;
            }
            zmq_msg_close(&m);
        }
    }
    size_t drops = 0;
    for (size_t i = 0; i < T_MANY_CONNS; i++) {
        drops += hu_dealer_drops(d[i], 0);
        hu_dealer_destroy(&d[i]);
    }
    zmq_ctx_term(ctx);
    printf("hostile: connection_cap connections=%d served=%zu rate_limited=%zu other=%zu "
           "unanswered=%zu dropped=%zu\n",
           T_MANY_CONNS, results, limited, other, T_MANY_CONNS - answered, drops);
    if (reason[0] != '\0') {
        printf("hostile: connection_cap rate_limited reason: %s\n", reason);
    }
    hu_check(&k, limited > 0,
             "%d connections of one agency were all served (%zu results, %zu rate_limited): "
             "no cap",
             T_MANY_CONNS, results, limited);
    hu_check(&k, results > 0, "none of the agency's %d connections was served", T_MANY_CONNS);
    /* The cap counts connections that are open, not ones that have closed:
     * a script running one command after another (each a connection that
     * closes when the command ends) is never refused, even within the
     * seconds an idle connection takes to time out. */
    ctx = zmq_ctx_new();
    assert_non_null(ctx);
    size_t seq_served = 0, seq_limited = 0;
    for (size_t i = 0; i < T_SEQ_CONNS; i++) {
        hu_dealer *one = hu_dealer_new(ctx, conf, 0);
        frame = hu_pack_query(&qlen, 1, &q);
        zmq_send(hu_dealer_socket(one), frame, qlen, 0);
        free(frame);
        zmq_pollitem_t it = {hu_dealer_socket(one), 0, ZMQ_POLLIN, 0};
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_poll(&it, 1, T_REPLY_MS) == 1 &&
            zmq_msg_recv(&m, hu_dealer_socket(one), ZMQ_DONTWAIT) >= 0) {
            Vigil__BrokerFrame *f =
                vigil__broker_frame__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
            seq_served += f != NULL && f->kind_case == VIGIL__BROKER_FRAME__KIND_RESULT;
            seq_limited += f != NULL && f->kind_case == VIGIL__BROKER_FRAME__KIND_ERROR &&
                           f->error->code == VIGIL__REJECT_CODE__REJECT_RATE_LIMITED;
            if (f != NULL) {
                vigil__broker_frame__free_unpacked(f, NULL);
            }
        }
        zmq_msg_close(&m);
        hu_dealer_destroy(&one);
    }
    zmq_ctx_term(ctx);
    printf("hostile: connection_cap one_after_another=%d served=%zu rate_limited=%zu\n",
           T_SEQ_CONNS, seq_served, seq_limited);
    hu_check(&k, seq_served == T_SEQ_CONNS,
             "%d connections opened one after another, each closed after its answer: only %zu "
             "served (%zu rate_limited): closed connections still count against the cap",
             T_SEQ_CONNS, seq_served, seq_limited);
    hu_checks_end(&k);
    bh_stop(b);
    bh_pass(b);
}

/* Three 0.9 MB alerts of home-office's own: its snapshot must come in pages
 * no larger than a frame (VG_FRAME_MAX_BYTES), and following the cursor
 * gives every alert; the agent library's outstanding list has them all. */
static void
test_snapshot_is_paged(void **state)
{
    hu_checks k;
    hu_checks_init(&k, "snapshot_pages");
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    vga_identity *ho_id = hu_identity(b, "home-office");
    rc_client *ho = hu_raw(b, "home-office");
    enum { N = 3 };
    const char *to[] = {"police"};
    uint8_t ids[N][VG_ALERT_ID_LEN];
    for (size_t i = 0; i < N; i++) {
        hu_seal spec = {
            .to = to, .n_to = 1, .sequence = i + 1, .spoil = HU_CIPHERTEXT, .size = T_BIG_BYTES};
        size_t len = 0;
        uint8_t *env = hu_seal_envelope(&len, ids[i], ho_id, &spec);
        Vigil__BrokerFrame *f = hu_publish_one(ho, env, len);
        assert_int_equal(f->confirm->status, S_ACCEPTED);
        rc_frame_free(f);
        free(env);
    }
    bool seen[N] = {false};
    size_t pages = 0, largest = 0;
    uint64_t after = 0;
    bool more = true;
    while (more && pages < 16) {
        Vigil__Query q = VIGIL__QUERY__INIT;
        q.kind = VIGIL__QUERY_KIND__QUERY_SNAPSHOT;
        q.after_seq = after;
        Vigil__BrokerFrame *f = hu_query(ho, &q, T_REPLY_MS);
        if (f == NULL || f->kind_case != VIGIL__BROKER_FRAME__KIND_RESULT) {
            char d[512];
            hu_describe(d, sizeof d, f);
            hu_check(&k, false, "snapshot page %zu: %s", pages + 1, d);
            rc_frame_free(f);
            break;
        }
        size_t size = vigil__broker_frame__get_packed_size(f);
        largest = size > largest ? size : largest;
        pages++;
        for (size_t a = 0; a < f->result->n_alerts; a++) {
            for (size_t i = 0; i < N; i++) {
                seen[i] |= f->result->alerts[a]->alert_id.len == VG_ALERT_ID_LEN &&
                           memcmp(f->result->alerts[a]->alert_id.data, ids[i], 16) == 0;
            }
        }
        more = f->result->more;
        after = f->result->cursor;
        rc_frame_free(f);
    }
    size_t n_seen = 0;
    for (size_t i = 0; i < N; i++) {
        n_seen += seen[i];
    }
    printf("hostile: snapshot_pages alerts=%d of %d bytes: pages=%zu largest_page_bytes=%zu "
           "found=%zu\n",
           N, T_BIG_BYTES, pages, largest, n_seen);
    hu_check(&k, largest <= VG_FRAME_MAX_BYTES,
             "a snapshot reply of %zu bytes, over the %d-byte frame limit (not paged)", largest,
             VG_FRAME_MAX_BYTES);
    hu_check(&k, n_seen == N, "the snapshot pages held %zu of the %d alerts", n_seen, N);
    vga_agent *a = hu_agent(b, "home-office", false, false);
    vga_status_list list;
    vg_reason why = {{0}};
    vg_err rc = vga_outstanding(a, T_REPLY_MS, &list, &why);
    size_t listed = rc == VG_OK ? list.n : 0;
    if (rc == VG_OK) {
        vga_status_list_fini(&list);
    }
    printf("hostile: snapshot_pages vga_outstanding=%s listed=%zu\n", vg_err_code(rc), listed);
    hu_check(&k, rc == VG_OK && listed == N, "vga_outstanding for home-office: %s, %zu of %d",
             vg_err_code(rc), listed, N);
    hu_checks_end(&k);
    bh_stop(b);
    bh_pass(b);
}

/* =====================================================================================
 * MEDIUM — an unauthenticated idle-TCP flood locks new agencies out
 * ===================================================================================== */

typedef struct s_idle {
    int *fds;           /* the idle connections */
    size_t n;           /* opened */
    size_t connected;   /* TCP handshake completed */
    size_t closed;      /* ... then closed by the broker */
    int64_t last_close; /* ms after connecting */
} s_idle;

static void
s_idle_open(s_idle *s, int port)
{
    struct rlimit lim;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &lim), 0);
    lim.rlim_cur = lim.rlim_max;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
    assert_true(lim.rlim_cur >= T_IDLE_CONNS + 256);
    s->fds = calloc(T_IDLE_CONNS, sizeof *s->fds);
    assert_non_null(s->fds);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    for (s->n = 0; s->n < T_IDLE_CONNS; s->n++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
        assert_true(rc == 0 || errno == EINPROGRESS);
        s->fds[s->n] = fd;
        if (s->n % T_IDLE_BATCH == T_IDLE_BATCH - 1) {
            bh_sleep_ms(20); /* paced: the broker's listen backlog (100) never overflows */
        }
    }
}

/* Waits up to ms for the TCP handshakes; returns how many completed. */
static size_t
s_idle_connected(s_idle *s, int64_t ms)
{
    struct pollfd *p = calloc(s->n, sizeof *p);
    assert_non_null(p);
    bool *done = calloc(s->n, sizeof *done);
    assert_non_null(done);
    size_t n_done = 0;
    for (int64_t end = bh_now_ms() + ms; n_done < s->n && bh_now_ms() < end;) {
        for (size_t i = 0; i < s->n; i++) {
            p[i] = (struct pollfd){.fd = done[i] ? -1 : s->fds[i], .events = POLLOUT};
        }
        if (poll(p, s->n, 50) <= 0) {
            continue;
        }
        for (size_t i = 0; i < s->n; i++) {
            if (!done[i] && p[i].revents != 0) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(s->fds[i], SOL_SOCKET, SO_ERROR, &err, &el);
                done[i] = true;
                n_done++;
                s->connected += err == 0;
            }
        }
    }
    free(p);
    free(done);
    return s->connected;
}

static void
test_idle_tcp_flood_does_not_lock_agencies_out(void **state)
{
    hu_checks k;
    hu_checks_init(&k, "idle_tcp_flood");
    bh_broker *b = bh_new(NULL);
    *state = b;
    hu_start_nofile(b, 1024, 4096); /* systemd's default soft limit, a common hard one */
    long soft = 0, hard = 0;
    assert_true(hu_proc_nofile(b->pid, &soft, &hard));
    s_idle s = {0};
    s_idle_open(&s, b->port);
    int64_t t_conn = bh_now_ms();
    s_idle_connected(&s, 3000);
    bh_sleep_ms(500);
    long tck = sysconf(_SC_CLK_TCK);
    int64_t c0 = hu_proc_cpu_ticks(b->pid), w0 = bh_now_ms();
    bh_sleep_ms(2000);
    int64_t c1 = hu_proc_cpu_ticks(b->pid), w1 = bh_now_ms();
    double cpu_pct = 100.0 * (double)(c1 - c0) / (double)tck / ((double)(w1 - w0) / 1000.0);

    char *conf = bh_own(b, bh_agent_conf(b, "police"), free);
    char *out_path = bh_own(b, it_path(b->tmp, "publish.out"), free);
    char *bin = bh_own(b, it_path(VG_BIN_DIR, "vigil-agent"), free);
    char *argv[] = {bin,          "-c",
                    conf,         "publish",
                    "--severity", "high",
                    "--category", "other",
                    "--to",       "childrens-services",
                    "--headline", "published during an idle TCP flood",
                    "--timeout",  T_PUBLISH_TIMEOUT,
                    NULL};
    int64_t t_pub = bh_now_ms();
    pid_t pub = fu_spawn(argv, out_path, NULL);
    int pub_status = -2;
    int64_t pub_ms = -1;
    bool *closed = bh_own(b, calloc(s.n, sizeof *closed), free);
    struct pollfd *p = bh_own(b, calloc(s.n, sizeof *p), free);
    int64_t end = t_conn + T_IDLE_CLOSE_MS;
    while (pub_status == -2 || (s.closed < s.connected && bh_now_ms() < end)) {
        for (size_t i = 0; i < s.n; i++) {
            p[i] = (struct pollfd){.fd = closed[i] ? -1 : s.fds[i], .events = POLLIN};
        }
        if (poll(p, s.n, 50) > 0) {
            for (size_t i = 0; i < s.n; i++) {
                if (closed[i] || p[i].revents == 0) {
                    continue;
                }
                char buf[256];
                ssize_t r = read(s.fds[i], buf, sizeof buf); /* ZMTP greeting bytes, or the end */
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                    closed[i] = true;
                    s.closed++;
                    s.last_close = bh_now_ms() - t_conn;
                }
            }
        }
        int wst = 0;
        if (pub_status == -2 && waitpid(pub, &wst, WNOHANG) == pub) {
            pub_status = WIFEXITED(wst) ? WEXITSTATUS(wst) : -1;
            pub_ms = bh_now_ms() - t_pub;
        }
        if (pub_status == -2 && bh_now_ms() > t_pub + 15000) {
            fu_kill(pub);
            pub_status = -1;
            pub_ms = bh_now_ms() - t_pub;
        }
    }
    for (size_t i = 0; i < s.n; i++) {
        close(s.fds[i]);
    }
    free(s.fds);
    printf("hostile: idle_tcp_flood broker_nofile_soft=%ld hard=%ld connections=%zu "
           "tcp_connected=%zu\n",
           soft, hard, s.n, s.connected);
    printf("hostile: idle_tcp_flood good_publish_exit=%d publish_ms=%lld broker_cpu_pct=%.0f "
           "closed_by_broker=%zu/%zu last_close_ms=%lld\n",
           pub_status, (long long)pub_ms, cpu_pct, s.closed, s.connected, (long long)s.last_close);
    hu_check(&k, soft == hard,
             "the broker started with RLIMIT_NOFILE %ld:%ld did not raise its soft limit to the "
             "hard one",
             soft, hard);
    hu_check(&k, pub_status == 0,
             "`vigil-agent publish --timeout %s` during a flood of %d idle TCP connections "
             "exited %d after %lld ms (0 = confirmed)",
             T_PUBLISH_TIMEOUT, T_IDLE_CONNS, pub_status, (long long)pub_ms);
    hu_check(&k, s.connected > 0 && s.closed == s.connected,
             "the broker closed %zu of %zu idle connections (no CURVE handshake) within %d ms",
             s.closed, s.connected, T_IDLE_CLOSE_MS);
    hu_check(&k, cpu_pct < T_CPU_BOUND_PCT,
             "the broker used %.0f%% of a core while %d idle connections sat there (bound %.0f%%)",
             cpu_pct, T_IDLE_CONNS, T_CPU_BOUND_PCT);
    hu_checks_end(&k);
    bh_stop(b);
    bh_pass(b);
}

/* The unit an administrator installs (docs/deploy.md) sets LimitNOFILE. */
static void
test_systemd_unit_sets_limit_nofile(void **state)
{
    (void)state;
    char *path = it_path(VG_SOURCE_DIR, "deploy/systemd/vigil-broker.service");
    uint8_t *text = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    assert_int_equal(vg_file_read(&text, &len, path, 1 << 20, &why), VG_OK);
    const char *service = strstr((char *)text, "[Service]");
    const char *limit = service ? strstr(service, "\nLimitNOFILE=") : NULL;
    printf("hostile: systemd_unit LimitNOFILE=%s\n", limit ? "set" : "missing");
    bool ok = limit != NULL;
    free(text);
    free(path);
    if (!ok) {
        fail_msg("deploy/systemd/vigil-broker.service has no LimitNOFILE= in [Service]");
    }
}

/* =====================================================================================
 * LOW
 * ===================================================================================== */

static void
s_limits_edit(json_t *root, void *ctx)
{
    (void)ctx;
    json_object_set_new(root, "limits",
                        json_pack("{s:i, s:i}", "publish_per_minute", 6, "publish_burst", 10));
    json_object_set_new(hu_card(root, "childrens-services"), "limits",
                        json_pack("{s:s}", "stored_bytes_per_day", "64KiB"));
}

static void
test_publish_rate_and_quota_from_the_document(void **state)
{
    hu_checks k;
    hu_checks_init(&k, "rate_and_quota");
    bh_broker *b = bh_new(NULL);
    *state = b;
    char *err = NULL;
    int st_sign = hu_network_edit(b, s_limits_edit, NULL, &err);
    bh_own(b, err, free);
    if (st_sign != 0) {
        fail_msg("vigilctl network sign refused \"limits\" (exit %d): %s", st_sign, err);
    }
    bh_start(b);
    enum { N = 40 };
    vga_identity *ho_id = hu_identity(b, "home-office");
    rc_client *ho = hu_raw(b, "home-office");
    const char *to[] = {"police"};
    uint8_t *envs[N];
    size_t lens[N];
    int st[N], code[N];
    for (size_t i = 0; i < N; i++) {
        hu_seal spec = {.to = to, .n_to = 1, .sequence = i + 1};
        envs[i] = hu_seal_envelope(&lens[i], NULL, ho_id, &spec);
    }
    vga_agent *pol = hu_agent(b, "police", false, false);
    vga_agent *ho_a = hu_agent(b, "home-office", false, false); /* connected before the flood */
    hu_roundtrip(ho);
    hu_publish_all(ho, envs, lens, N, st, code);
    vg_reason why = {{0}};
    vg_err pol_rc = hu_vga_publish(pol, "other", "licensing", "same second", NULL, &why);
    size_t accepted = 0, limited = 0;
    for (size_t i = 0; i < N; i++) {
        accepted += st[i] == S_ACCEPTED;
        limited += st[i] == S_REJECTED && code[i] == VIGIL__REJECT_CODE__REJECT_RATE_LIMITED;
        free(envs[i]);
    }
    vg_err ho_rc = hu_vga_publish(ho_a, "other", "police", "one more", NULL, &why);
    size_t ho_outbox = 0;
    assert_int_equal(vga_outbox_count(ho_a, &ho_outbox), VG_OK);
    printf("hostile: rate_and_quota flood=%d accepted=%zu rate_limited=%zu (6/min, burst 10) "
           "other_agency=%s agent_publish=%s outbox=%zu\n",
           N, accepted, limited, vg_err_code(pol_rc), vg_err_code(ho_rc), ho_outbox);
    hu_check(&k, limited > 0 && accepted >= 5 && accepted <= 11,
             "%d publishes at once under publish_burst 10: %zu accepted, %zu rate_limited", N,
             accepted, limited);
    hu_check(&k, pol_rc == VG_OK, "police's publish in the same second: %s", vg_err_code(pol_rc));
    hu_check(&k, ho_rc == VG_ERR_RATE_LIMITED && ho_outbox >= 1,
             "home-office's agent past its rate: %s, outbox %zu (expected rate_limited, kept)",
             vg_err_code(ho_rc), ho_outbox);

    /* childrens-services: 64 KiB a day, 20 KB alerts. */
    char *big = bh_own(b, malloc(20001), free);
    memset(big, 'q', 20000);
    big[20000] = '\0';
    vga_agent *cs = hu_agent(b, "childrens-services", false, false);
    size_t cs_ok = 0, cs_quota = 0, first_quota = 0;
    for (size_t i = 0; i < 8; i++) {
        vg_err rc = hu_vga_publish(cs, "other", "police", big, NULL, &why);
        cs_ok += rc == VG_OK;
        if (rc == VG_ERR_QUOTA_EXCEEDED && cs_quota++ == 0) {
            first_quota = i + 1;
        }
    }
    size_t cs_outbox = 0;
    assert_int_equal(vga_outbox_count(cs, &cs_outbox), VG_OK);
    pol_rc = hu_vga_publish(pol, "other", "licensing", "still fine", NULL, &why);
    printf("hostile: rate_and_quota 8x20KB under 64KiB/day: accepted=%zu quota_exceeded=%zu "
           "first_refused=#%zu outbox=%zu other_agency=%s\n",
           cs_ok, cs_quota, first_quota, cs_outbox, vg_err_code(pol_rc));
    hu_check(&k, cs_quota > 0 && cs_ok >= 2 && cs_ok <= 4,
             "8 alerts of 20 KB under stored_bytes_per_day 64KiB: %zu accepted, %zu "
             "quota_exceeded",
             cs_ok, cs_quota);
    hu_check(&k, cs_quota == 0 || cs_outbox >= 1,
             "an alert refused with quota_exceeded left the outbox");
    hu_check(&k, pol_rc == VG_OK, "police after childrens-services' quota: %s",
             vg_err_code(pol_rc));
    hu_checks_end(&k);
    bh_stop(b);
    bh_pass(b);
}

static void
s_receipt_expect(hu_checks *k, rc_client *c, const vga_identity *who, vg_receipt_kind kind,
                 const uint8_t id[VG_ALERT_ID_LEN], const uint8_t hash[VG_HASH_LEN],
                 int64_t created_ms, int status, int code, const char *what)
{
    size_t len = 0;
    uint8_t *r = hu_receipt(&len, who, kind, id, hash, created_ms);
    Vigil__BrokerFrame *f = hu_submit_receipt_reply(c, r, len);
    char d[1024];
    hu_describe(d, sizeof d, f);
    printf("hostile: receipt_clock_skew %s: %s\n", what, d);
    hu_check(k, s_confirm_is(f, status, code), "%s: %s", what, d);
    rc_frame_free(f);
    free(r);
}

static void
test_receipts_dated_1970_or_next_hour_are_refused(void **state)
{
    hu_checks k;
    hu_checks_init(&k, "receipt_clock_skew");
    bh_broker *b = bh_new(NULL); /* max_clock_skew 5m */
    *state = b;
    bh_start(b);
    vga_identity *police = hu_identity(b, "police");
    vga_identity *lic_id = hu_identity(b, "licensing");
    rc_client *pol = hu_raw(b, "police");
    rc_client *lic = hu_raw(b, "licensing");
    hu_hello(lic, true, false);
    hu_roundtrip(lic);
    /* One alert per receipt, so no outcome depends on another. */
    enum { N = 5 };
    const char *to[] = {"licensing"};
    uint8_t id[N][VG_ALERT_ID_LEN], hash[N][VG_HASH_LEN];
    for (size_t i = 0; i < N; i++) {
        hu_seal spec = {.to = to, .n_to = 1, .sequence = i + 1};
        size_t len = 0;
        uint8_t *env = hu_seal_envelope(&len, id[i], police, &spec);
        Vigil__BrokerFrame *f = hu_publish_one(pol, env, len);
        assert_int_equal(f->confirm->status, S_ACCEPTED);
        rc_frame_free(f);
        hu_envelope_hash(hash[i], env, len);
        free(env);
        f = hu_wait_deliver(lic, id[i], T_REPLY_MS);
        assert_non_null(f);
        rc_frame_free(f);
    }
    int64_t hour = 3600 * 1000;
    int skew = VIGIL__REJECT_CODE__REJECT_CLOCK_SKEW;
    s_receipt_expect(&k, lic, lic_id, VG_RECEIPT_DELIVERED, id[0], hash[0], 1000, S_REJECTED, skew,
                     "DELIVERED dated 1970");
    s_receipt_expect(&k, lic, lic_id, VG_RECEIPT_DELIVERED, id[1], hash[1], rc_wall_ms() + hour,
                     S_REJECTED, skew, "DELIVERED dated an hour ahead");
    for (size_t i = 2; i < N; i++) { /* acknowledging needs the delivery first */
        s_receipt_expect(&k, lic, lic_id, VG_RECEIPT_DELIVERED, id[i], hash[i], rc_wall_ms(),
                         S_ACCEPTED, -1, "control: DELIVERED dated now");
    }
    s_receipt_expect(&k, lic, lic_id, VG_RECEIPT_ACKNOWLEDGED, id[2], hash[2], 1000, S_REJECTED,
                     skew, "ACKNOWLEDGED dated 1970");
    s_receipt_expect(&k, lic, lic_id, VG_RECEIPT_ACKNOWLEDGED, id[3], hash[3], rc_wall_ms() + hour,
                     S_REJECTED, skew, "ACKNOWLEDGED dated an hour ahead");
    s_receipt_expect(&k, lic, lic_id, VG_RECEIPT_ACKNOWLEDGED, id[4], hash[4], rc_wall_ms(),
                     S_ACCEPTED, -1, "control: ACKNOWLEDGED dated now");
    bool overdue = false;
    int st = s_state_of(pol, id[2], "licensing", &overdue);
    hu_check(&k, st == VIGIL__ALERT_STATE__STATE_DELIVERED,
             "after an acknowledgement dated 1970 licensing is %s, expected still "
             "STATE_DELIVERED",
             s_state_name(st));
    hu_checks_end(&k);
    bh_stop(b);
    bh_pass(b);
}

static void
s_revoke_cs(json_t *root, void *ctx)
{
    (void)ctx;
    json_object_set_new(hu_card(root, "childrens-services"), "revoked", json_true());
}

static void
test_envelope_to_a_revoked_agency_is_refused(void **state)
{
    hu_checks k;
    hu_checks_init(&k, "revoked_recipient");
    bh_broker *b = bh_new(NULL);
    *state = b;
    vga_identity *police = hu_identity(b, "police"); /* loaded before the revocation */
    assert_int_equal(hu_network_edit(b, s_revoke_cs, NULL, NULL), 0); /* version 2 */
    bh_start(b);
    rc_client *pol = hu_raw(b, "police");
    const char *to_both[] = {"licensing", "childrens-services"}, *to_lic[] = {"licensing"};
    hu_seal v2 = {.to = to_both, .n_to = 2, .sequence = 1, .spoil = HU_VERSION, .version = 2};
    size_t len = 0;
    uint8_t id[VG_ALERT_ID_LEN];
    uint8_t *env = hu_seal_envelope(&len, id, police, &v2);
    Vigil__BrokerFrame *f = hu_publish_one(pol, env, len);
    char d[1024];
    hu_describe(d, sizeof d, f);
    printf("hostile: revoked_recipient to licensing+childrens-services (revoked): %s\n", d);
    hu_check(&k,
             s_confirm_is(f, S_REJECTED, VIGIL__REJECT_CODE__REJECT_REVOKED) &&
                 strstr(f->confirm->reason, "childrens-services") != NULL,
             "an envelope addressed to revoked childrens-services: %s (expected revoked, "
             "naming it)",
             d);
    hu_check(&k, !bh_store_has_alert(b, id), "the alert to a revoked agency was stored");
    rc_frame_free(f);
    free(env);
    hu_seal ok = {.to = to_lic, .n_to = 1, .sequence = 2, .spoil = HU_VERSION, .version = 2};
    env = hu_seal_envelope(&len, NULL, police, &ok);
    s_expect_publish(&k, pol, env, len, S_ACCEPTED, -1, "control: the same to licensing alone");
    free(env);
    hu_checks_end(&k);
    bh_stop(b);
    bh_pass(b);
}

#define T_OFFICER "DS Hidden-Officer"
#define T_NOTE "hidden note about a child"
#define T_PROGRESS "hidden progress reason"
#define T_DECLINE "hidden decline reason"

static bool
s_has_hidden(const char *s)
{
    return s != NULL && (strstr(s, "Hidden") != NULL || strstr(s, "hidden") != NULL);
}

/* Officer names, notes or reasons in an alert summary's recipients. */
static size_t
s_hidden_in_summary(const Vigil__AlertSummary *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_recipients; i++) {
        const Vigil__RecipientState *r = s->recipients[i];
        n += s_has_hidden(r->officer) + s_has_hidden(r->note) + s_has_hidden(r->reason);
    }
    return n;
}

static void
s_receive_ok(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN])
{
    if (s_receive_id(a, id, T_REPLY_MS) < 0) {
        fail_msg("%s did not receive the alert", vga_agent_agency(a));
    }
}

static void
test_oversight_sees_metadata_never_content(void **state)
{
    hu_checks k;
    hu_checks_init(&k, "oversight_metadata");
    bh_broker *b = bh_new(NULL);
    *state = b;
    bh_start(b);
    vga_identity *police = hu_identity(b, "police");
    vga_identity *ho_id = hu_identity(b, "home-office");
    rc_client *pol = hu_raw(b, "police");
    rc_client *ho = hu_raw(b, "home-office");
    rc_client *ovs = hu_raw(b, "oversight");
    const char *to_o[] = {"oversight"}, *to_lo[] = {"licensing", "oversight"};
    uint8_t id1[VG_ALERT_ID_LEN], id2[VG_ALERT_ID_LEN];
    size_t len = 0;
    hu_seal s1 = {.to = to_o, .n_to = 1, .sequence = 1};
    uint8_t *env = hu_seal_envelope(&len, id1, police, &s1);
    s_expect_publish(&k, pol, env, len, S_REJECTED, -1, "an envelope addressed to oversight");
    free(env);
    hu_seal s2 = {.to = to_lo, .n_to = 2, .sequence = 2};
    env = hu_seal_envelope(&len, id2, police, &s2);
    s_expect_publish(&k, pol, env, len, S_REJECTED, -1,
                     "an envelope addressed to licensing and oversight");
    free(env);
    hu_check(&k, !bh_store_has_alert(b, id1) && !bh_store_has_alert(b, id2),
             "an alert addressed to oversight was stored");

    hu_stream *ovs_s = hu_stream_new(b, "oversight");
    hu_roundtrip(ovs_s->c);
    const char *to_t[] = {"licensing", "police", "childrens-services"};
    hu_seal st = {.to = to_t, .n_to = 3, .category = "taxi", .sequence = 1};
    uint8_t t[VG_ALERT_ID_LEN];
    uint8_t *env_t = bh_own(b, hu_seal_envelope(&len, t, ho_id, &st), free);
    Vigil__BrokerFrame *f = hu_publish_one(ho, env_t, len);
    assert_int_equal(f->confirm->status, S_ACCEPTED);
    rc_frame_free(f);
    vga_agent *pa = hu_agent(b, "police", true, false);
    vga_agent *la = hu_agent(b, "licensing", true, false);
    vga_agent *ca = hu_agent(b, "childrens-services", true, false);
    s_receive_ok(pa, t);
    s_receive_ok(la, t);
    s_receive_ok(ca, t);
    vga_confirm res;
    vg_reason why = {{0}};
    assert_int_equal(vga_ack(pa, t, T_OFFICER, T_NOTE, T_REPLY_MS, &res, &why), VG_OK);
    vga_confirm_fini(&res);
    assert_int_equal(vga_progress(la, t, T_PROGRESS, T_REPLY_MS, &res, &why), VG_OK);
    vga_confirm_fini(&res);
    assert_int_equal(vga_decline(ca, t, T_DECLINE, T_REPLY_MS, &res, &why), VG_OK);
    vga_confirm_fini(&res);
    size_t sh_len = 0;
    uint8_t *sh = hu_share(&sh_len, env_t, len, police, "oversight", false);
    f = hu_submit_share_reply(pol, sh, sh_len);
    char d[1024];
    hu_describe(d, sizeof d, f);
    printf("hostile: oversight_metadata share to oversight: %s\n", d);
    hu_check(&k, s_confirm_is(f, S_REJECTED, -1), "police's share with oversight: %s", d);
    rc_frame_free(f);
    free(sh);

    int kinds[] = {VIGIL__EVENT_KIND__EVENT_ACKNOWLEDGED, VIGIL__EVENT_KIND__EVENT_IN_PROGRESS,
                   VIGIL__EVENT_KIND__EVENT_DECLINED};
    const char *about[] = {"police", "licensing", "childrens-services"};
    for (size_t i = 0; i < 3; i++) {
        hu_check(&k, hu_stream_find(ovs_s, kinds[i], about[i], t, T_REPLY_MS) != NULL,
                 "oversight's stream has no event about %s's receipt", about[i]);
    }
    hu_stream_pump(ovs_s, 300);
    size_t leaks = 0, receipts = 0;
    for (size_t i = 0; i < ovs_s->n; i++) {
        const Vigil__Event *e = ovs_s->frames[i]->event;
        if (s_has_hidden(e->detail)) {
            printf("hostile: oversight_metadata event kind=%d about=%s detail=\"%s\"\n",
                   (int)e->kind, e->agency, e->detail);
            leaks++;
        }
        receipts += e->signed_receipt.len > 0;
    }
    printf("hostile: oversight_metadata events=%zu with_names_or_notes=%zu "
           "with_signed_receipts=%zu\n",
           ovs_s->n, leaks, receipts);
    hu_check(&k, leaks == 0, "%zu of oversight's events carry officer names, notes or reasons",
             leaks);
    hu_check(&k, receipts == 0, "%zu of oversight's events forward signed receipts", receipts);
    f = hu_query_alert(ovs, t);
    size_t in_alert =
        f && f->kind_case == VIGIL__BROKER_FRAME__KIND_RESULT && f->result->n_alerts > 0
            ? s_hidden_in_summary(f->result->alerts[0])
            : 0;
    hu_check(&k, f && f->kind_case == VIGIL__BROKER_FRAME__KIND_RESULT,
             "oversight was refused QUERY_ALERT (metadata it may see)");
    hu_check(&k, in_alert == 0, "oversight's QUERY_ALERT shows %zu officer names/notes/reasons",
             in_alert);
    rc_frame_free(f);
    f = hu_query_kind(ovs, VIGIL__QUERY_KIND__QUERY_SNAPSHOT);
    size_t in_snap = 0;
    for (size_t i = 0;
         f && f->kind_case == VIGIL__BROKER_FRAME__KIND_RESULT && i < f->result->n_alerts; i++) {
        in_snap += s_hidden_in_summary(f->result->alerts[i]);
    }
    hu_check(&k, in_snap == 0, "oversight's QUERY_SNAPSHOT shows %zu officer names/notes/reasons",
             in_snap);
    rc_frame_free(f);
    char *out = s_cli_status(b, "oversight", t);
    hu_check(&k, !s_has_hidden(out), "`vigil-agent status` as oversight shows names or notes");
    free(out);
    /* Whatever was accepted, oversight must not be able to read T. */
    vga_agent *oa = hu_agent(b, "oversight", false, false);
    vga_alert_status ost;
    vg_err orc = vga_status(oa, t, T_REPLY_MS, &ost, &why);
    vg_err open_rc = VG_ERR_NOT_RECIPIENT;
    if (orc == VG_OK) {
        vg_alert content;
        memset(&content, 0, sizeof content);
        open_rc =
            ost.envelope != NULL ? vga_status_open(oa, &ost, &content, &why) : VG_ERR_NOT_RECIPIENT;
        if (open_rc == VG_OK) {
            printf("hostile: oversight_metadata oversight read the headline: \"%s\"\n",
                   content.headline ? content.headline : "");
            vg_alert_fini(&content);
        }
        vga_alert_status_fini(&ost);
    }
    hu_check(&k, open_rc != VG_OK,
             "oversight opened the content of an alert it was never addressed (status %s, "
             "open %s)",
             vg_err_code(orc), vg_err_code(open_rc));
    f = hu_query_alert(ho, t); /* the sender sees them */
    const Vigil__RecipientState *r = hu_recipient(f, "police");
    hu_check(&k, r != NULL && strcmp(r->officer, T_OFFICER) == 0,
             "control: the sender does not see police's officer");
    rc_frame_free(f);
    hu_checks_end(&k);
    bh_stop(b);
    bh_pass(b);
}

static void
s_oversight_view_edit(json_t *root, void *ctx)
{
    (void)ctx;
    json_object_set_new(root, "oversight", json_pack("{s:b, s:b}", "officer_names", 1, "notes", 1));
}

static void
test_oversight_sees_names_when_the_document_allows(void **state)
{
    hu_checks k;
    hu_checks_init(&k, "oversight_allowed");
    bh_broker *b = bh_new(NULL);
    *state = b;
    char *err = NULL;
    int st_sign = hu_network_edit(b, s_oversight_view_edit, NULL, &err);
    bh_own(b, err, free);
    if (st_sign != 0) {
        fail_msg("vigilctl network sign refused \"oversight\" (exit %d): %s", st_sign, err);
    }
    bh_start(b);
    hu_stream *ovs_s = hu_stream_new(b, "oversight");
    hu_roundtrip(ovs_s->c);
    rc_client *ovs = hu_raw(b, "oversight");
    vga_agent *ho = hu_agent(b, "home-office", false, false);
    vga_agent *pa = hu_agent(b, "police", true, false);
    uint8_t id[VG_ALERT_ID_LEN];
    vg_reason why = {{0}};
    assert_int_equal(hu_vga_publish(ho, "other", "police", "names allowed", id, &why), VG_OK);
    s_receive_ok(pa, id);
    vga_confirm res;
    assert_int_equal(vga_ack(pa, id, "DS Visible", "visible note", T_REPLY_MS, &res, &why), VG_OK);
    vga_confirm_fini(&res);
    const Vigil__Event *e =
        hu_stream_find(ovs_s, VIGIL__EVENT_KIND__EVENT_ACKNOWLEDGED, "police", id, T_REPLY_MS);
    hu_check(&k, e != NULL && strstr(e->detail, "DS Visible") != NULL,
             "with officer_names allowed, oversight's acknowledged event says \"%s\"",
             e ? e->detail : "(no event)");
    Vigil__BrokerFrame *f = hu_query_alert(ovs, id);
    const Vigil__RecipientState *r = hu_recipient(f, "police");
    hu_check(&k,
             r != NULL && strcmp(r->officer, "DS Visible") == 0 &&
                 strcmp(r->note, "visible note") == 0,
             "with officer_names and notes allowed, oversight's QUERY_ALERT shows officer "
             "\"%s\" note \"%s\"",
             r ? r->officer : "-", r ? r->note : "-");
    rc_frame_free(f);
    hu_checks_end(&k);
    bh_stop(b);
    bh_pass(b);
}

/* ---- main ------------------------------------------------------------------------------ */

#define S_TEST(f) cmocka_unit_test_teardown(f, s_teardown)

int
main(void)
{
    assert_int_not_equal(sodium_init(), -1);
    const struct CMUnitTest all[] = {
        S_TEST(test_unopenable_alerts_do_not_jam_the_window),
        S_TEST(test_unopenable_is_recorded_told_and_escalated),
        S_TEST(test_silent_recipient_cannot_starve_the_window),
        S_TEST(test_envelopes_sealed_under_stale_documents),
        S_TEST(test_unopenable_share_is_recorded_and_told),
        S_TEST(test_share_reaches_a_connected_agent),
        S_TEST(test_share_reaches_vigil_agent_listen),
        S_TEST(test_every_redelivery_carries_the_share),
        S_TEST(test_queries_are_answered_by_who_asks),
        S_TEST(test_query_flood_does_not_slow_a_good_agency),
        S_TEST(test_unread_replies_do_not_grow_the_broker),
        S_TEST(test_connections_per_agency_are_capped),
        S_TEST(test_snapshot_is_paged),
        S_TEST(test_idle_tcp_flood_does_not_lock_agencies_out),
        S_TEST(test_systemd_unit_sets_limit_nofile),
        S_TEST(test_publish_rate_and_quota_from_the_document),
        S_TEST(test_receipts_dated_1970_or_next_hour_are_refused),
        S_TEST(test_envelope_to_a_revoked_agency_is_refused),
        S_TEST(test_oversight_sees_metadata_never_content),
        S_TEST(test_oversight_sees_names_when_the_document_allows),
    };
    const char *only = getenv("HOSTILE_ONLY");
    struct CMUnitTest chosen[sizeof all / sizeof all[0]];
    size_t n = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (only == NULL || only[0] == '\0' || strstr(all[i].name, only) != NULL) {
            chosen[n++] = all[i];
        }
    }
    return _cmocka_run_group_tests("test_hostile_agency", chosen, n, NULL, NULL);
}
