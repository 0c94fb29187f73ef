/*
 * test_links.c — warning memory across years (issue 21), through the real
 * programs: vigil-broker, vigil-agent and vigilctl, with every process's
 * wall clock moved by libfaketime (Debian package `faketime`).
 *
 * The Rotherham case: the Home Office warns in 2002 about taxi licence
 * TL-2002-0417, a researcher's organisation in 2006 and the police in 2010,
 * each writing the licence its own way ("TL-2002-0417", "tl 2002 0417",
 * "Tl2002-0417"); the network's taxi-licence rule (upper case, no spaces or
 * hyphens) makes them one link tag. Police and children's services
 * acknowledge every warning; licensing receives them and acknowledges
 * neither of the first two. The 2010 delivery to licensing names both
 * earlier warnings and that licensing never acknowledged them; a repeat
 * warning event reaches licensing, the sender and oversight (and no other
 * recipient); `vigil-agent status` shows the chain; `vigilctl report
 * --linked` flags licensing. The broker's store holds neither the licence
 * nor its plain BLAKE2b or SHA-256. An agency outside the chain learns
 * nothing of it, and a link-key rotation keeps linking across its overlap.
 *
 * One broker per test on a free port; every wait is bounded; the broker's
 * log is printed when a test fails.
 */
#define _DEFAULT_SOURCE

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "broker_harness.h"
#include "itest.h"
#include "rawclient.h"
#include "vigil.pb-c.h"
#include "vigil/util.h"
#include "vigil/wire.h"

#define T_FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
#define T_AGENCIES "police,licensing,childrens-services,home-office,researcher,education"
#define T_REPLY_MS 10000

/* High alerts are due in 2 s: each year's warning goes overdue for licensing
 * before the clock moves on (a wall-clock step shifts open deadlines). */
static const char *const s_init_opts[] = {"--agencies", T_AGENCIES, "--oversight", "oversight",
                                          "--deadline", "high=2s",  NULL};

/* ---- the clock of every process this test starts ---------------------------------------- */

/* Preloads libfaketime into every process started from here on (the broker
 * and each vigil-agent); their wall clock is read from offset_path on every
 * call, the monotonic clock stays real. */
static void
s_fake_clocks(const char *offset_path)
{
    if (access(T_FAKETIME_LIB, R_OK) != 0) {
        fail_msg("libfaketime is missing (%s): install the Debian package `faketime`",
                 T_FAKETIME_LIB);
    }
    char opts[512];
    const char *old = getenv("ASAN_OPTIONS");
    snprintf(opts, sizeof opts, "%s%sverify_asan_link_order=0", old ? old : "",
             old && old[0] ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1); /* preloaded before the ASan runtime */
    setenv("LD_PRELOAD", T_FAKETIME_LIB, 1);
    setenv("FAKETIME_TIMESTAMP_FILE", offset_path, 1);
    setenv("FAKETIME_NO_CACHE", "1", 1);
    setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1);
}

static void
s_real_clocks(void)
{
    unsetenv("LD_PRELOAD");
    unsetenv("FAKETIME_TIMESTAMP_FILE");
    unsetenv("FAKETIME_NO_CACHE");
    unsetenv("FAKETIME_DONT_FAKE_MONOTONIC");
}

/* Moves every faked clock to the given UTC date (10:00). */
static void
s_set_date(const char *offset_path, int year, int month, int day)
{
    struct tm t = {.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day, .tm_hour = 10};
    long long offset = (long long)timegm(&t) - (long long)time(NULL);
    char text[32];
    snprintf(text, sizeof text, "%llds", offset);
    vg_reason why = {{0}};
    assert_int_equal(vg_file_write_atomic(offset_path, text, strlen(text), 0644, &why), VG_OK);
}

/* ---- fixture ------------------------------------------------------------------------------ */

typedef struct s_fx {
    bh_broker *b;      /* the broker and its network */
    char *offset_path; /* the faked clocks' offset */
} s_fx;

static int
s_setup(void **state)
{
    s_fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *state = f;
    f->b = bh_new_init(s_init_opts, NULL);
    f->offset_path = it_path(f->b->tmp, "faketime.offset");
    s_set_date(f->offset_path, 2002, 3, 1);
    s_fake_clocks(f->offset_path);
    bh_start(f->b);
    return 0;
}

static int
s_teardown(void **state)
{
    s_fx *f = *state;
    s_real_clocks();
    bh_destroy(&f->b);
    free(f->offset_path);
    free(f);
    return 0;
}

/* ---- running vigil-agent and vigilctl --------------------------------------------------- */

/* vigil-agent -c <agency's conf> ARGS... (NULL-terminated). */
static void
s_agent(it_run *r, const bh_broker *b, const char *agency, ...)
{
    const char *args[32];
    char *conf = bh_agent_conf(b, agency);
    size_t n = 0;
    args[n++] = "-c";
    args[n++] = conf;
    va_list ap;
    va_start(ap, agency);
    for (const char *a = va_arg(ap, const char *); a != NULL; a = va_arg(ap, const char *)) {
        assert_true(n < 31);
        args[n++] = a;
    }
    va_end(ap);
    args[n] = NULL;
    it_exec(r, "vigil-agent", args);
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

/* sender publishes a high taxi/cse warning naming the licence as written;
 * the policy adds police, licensing and children's services. Its id (hex). */
static char *
s_warn(const bh_broker *b, const char *sender, const char *licence, const char *to)
{
    char subject[96];
    snprintf(subject, sizeof subject, "taxi-licence:%s", licence);
    it_run r;
    s_agent(&r, b, sender, "publish", "--severity", "high", "--category", "taxi,cse", "--to", to,
            "--headline", "Drivers seen with missing girls", "--subject", subject, "--timeout",
            "10s", NULL);
    s_expect(&r, 0, "publish");
    assert_int_equal(strlen(r.out), VG_ALERT_ID_HEX_LEN + 1);
    char *id = strndup(r.out, VG_ALERT_ID_HEX_LEN);
    it_run_fini(&r);
    return id;
}

/* agency takes its delivery (receipted DELIVERED: it has it). */
static void
s_receive(const bh_broker *b, const char *agency, const char *id)
{
    it_run r;
    s_agent(&r, b, agency, "listen", "--count", "1", "--json", "--timeout", "10s", NULL);
    s_expect(&r, 0, agency);
    assert_true(it_contains(r.out, id));
    it_run_fini(&r);
}

static void
s_ack(const bh_broker *b, const char *agency, const char *id)
{
    s_receive(b, agency, id);
    it_run r;
    s_agent(&r, b, agency, "ack", id, "--officer", "Duty officer", NULL);
    s_expect(&r, 0, "ack");
    it_run_fini(&r);
}

/* Waits (at most 15 s) until licensing has gone overdue on n alerts. */
static void
s_wait_overdue(const bh_broker *b, int64_t n)
{
    for (int i = 0; i < 150 && bh_store_count(b, VGB_COUNT_OVERDUE, "licensing") < n; i++) {
        usleep(100 * 1000);
    }
    assert_int_equal(bh_store_count(b, VGB_COUNT_OVERDUE, "licensing"), n);
}

/* The events of agency's stream as one text (JSON lines). */
static char *
s_events(const bh_broker *b, const char *agency)
{
    it_run r;
    s_agent(&r, b, agency, "events", "--since", "0", "--json", "--timeout", "1s", NULL);
    s_expect(&r, 0, "events");
    char *out = strdup(r.out);
    it_run_fini(&r);
    return out;
}

/* How many repeat_warning events in text are about `about` with count n. */
static size_t
s_repeats(const char *text, const char *about, json_int_t n)
{
    size_t found = 0;
    char *copy = strdup(text);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        json_t *ev = json_loads(line, 0, NULL);
        const char *kind = json_string_value(json_object_get(ev, "kind"));
        const char *ag = json_string_value(json_object_get(ev, "agency"));
        if (kind && strcmp(kind, "repeat_warning") == 0 && ag && strcmp(ag, about) == 0 &&
            json_integer_value(json_object_get(ev, "count")) == n) {
            found++;
        }
        json_decref(ev);
    }
    free(copy);
    return found;
}

/* ---- the broker's store as bytes ------------------------------------------------------- */

/* The store's files (database and write-ahead log), concatenated. */
static uint8_t *
s_store_bytes(const bh_broker *b, size_t *len)
{
    char *wal = it_path(b->net, "broker/store/vigil.db-wal");
    size_t a_len = 0, w_len = 0;
    uint8_t *a = NULL, *w = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vg_file_read(&a, &a_len, b->db_path, 1u << 30, &why), VG_OK);
    if (vg_file_read(&w, &w_len, wal, 1u << 30, &why) != VG_OK) {
        w_len = 0;
    }
    uint8_t *all = malloc(a_len + w_len + 1);
    assert_non_null(all);
    memcpy(all, a, a_len);
    if (w_len > 0) {
        memcpy(all + a_len, w, w_len);
    }
    free(a);
    free(w);
    free(wal);
    *len = a_len + w_len;
    return all;
}

static bool
s_has(const uint8_t *hay, size_t len, const void *needle, size_t n)
{
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(hay + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

/* Fails when the store holds text, or the raw or hex BLAKE2b-256 or SHA-256
 * of it. */
static void
s_assert_absent(const uint8_t *store, size_t len, const char *text)
{
    if (s_has(store, len, text, strlen(text))) {
        fail_msg("the broker's store holds '%s' in clear", text);
    }
    uint8_t h[2][32];
    crypto_generichash(h[0], 32, (const uint8_t *)text, strlen(text), NULL, 0);
    crypto_hash_sha256(h[1], (const uint8_t *)text, strlen(text));
    for (int k = 0; k < 2; k++) {
        char hex[65];
        vg_hex_encode(hex, sizeof hex, h[k], 32);
        if (s_has(store, len, h[k], 32) || s_has(store, len, hex, 64)) {
            fail_msg("the broker's store holds the plain %s of '%s'", k ? "SHA-256" : "BLAKE2b",
                     text);
        }
    }
}

/* ---- the tests ---------------------------------------------------------------------------- */

/* 2002, 2006, 2010: the chain, the delivery, the events, status, report. */
static void
test_rotherham_across_years(void **state)
{
    s_fx *f = *state;
    bh_broker *b = f->b;

    /* 2002: the Home Office; licensing receives it and does nothing. */
    char *w2002 = bh_own(b, s_warn(b, "home-office", "TL-2002-0417", "police"), free);
    s_receive(b, "licensing", w2002);
    s_ack(b, "police", w2002);
    s_ack(b, "childrens-services", w2002);
    s_wait_overdue(b, 1);

    /* 2006: a researcher's organisation, the licence in lower case with spaces. */
    s_set_date(f->offset_path, 2006, 6, 1);
    char *w2006 = bh_own(b, s_warn(b, "researcher", "tl 2002 0417", "police"), free);
    s_receive(b, "licensing", w2006);
    s_ack(b, "police", w2006);
    s_ack(b, "childrens-services", w2006);
    s_wait_overdue(b, 2);

    /* 2010: the police, the licence written another way again. */
    s_set_date(f->offset_path, 2010, 9, 1);
    char *lic_conf = bh_own(b, bh_agent_conf(b, "licensing"), free);
    rc_client *lic = rc_new_agency(lic_conf);
    rc_hello(lic, true);
    char *w2010 = bh_own(b, s_warn(b, "police", " Tl2002-0417 ", "home-office"), free);

    /* The delivery to licensing says: two earlier linked warnings, both
     * sent to licensing (ids known), licensing acknowledged neither. */
    Vigil__BrokerFrame *fr = NULL;
    for (int i = 0; i < 10 && fr == NULL; i++) {
        fr = rc_recv(lic, T_REPLY_MS);
        if (fr != NULL && fr->kind_case != VIGIL__BROKER_FRAME__KIND_DELIVER) {
            rc_frame_free(fr);
            fr = NULL;
        }
    }
    assert_non_null(fr);
    Vigil__Deliver *d = fr->deliver;
    assert_int_equal(d->n_linked, 2);
    char hex[VG_ALERT_ID_HEX_LEN + 1];
    const char *want[2] = {w2002, w2006};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(d->linked[i]->alert_id.len, VG_ALERT_ID_LEN);
        vg_hex_encode(hex, sizeof hex, d->linked[i]->alert_id.data, VG_ALERT_ID_LEN);
        assert_string_equal(hex, want[i]);
        assert_true(d->linked[i]->accepted_ms > 0);
        size_t never = 0, acked = 0;
        for (size_t k = 0; k < d->linked[i]->n_outcomes; k++) {
            const Vigil__LinkOutcome *o = d->linked[i]->outcomes[k];
            if (strcmp(o->agency, "licensing") == 0) {
                assert_int_equal(o->outcome, VIGIL__LINK_OUTCOME_KIND__LINK_NEVER);
                never++;
            } else {
                assert_int_equal(o->outcome, VIGIL__LINK_OUTCOME_KIND__LINK_ACKNOWLEDGED);
                acked++;
            }
        }
        assert_int_equal(never, 1);
        assert_int_equal(acked, 2); /* police, children's services */
    }
    /* the 2002 alert was accepted in 2002, the 2006 one in 2006 */
    assert_true(d->linked[0]->accepted_ms < (uint64_t)1041379200000); /* < 2003 */
    assert_true(d->linked[1]->accepted_ms > (uint64_t)1136073600000); /* > 2006 */
    rc_frame_free(fr);
    rc_destroy(&lic);

    /* licensing's own agent takes the same delivery and says so loudly */
    it_run r;
    s_agent(&r, b, "licensing", "listen", "--count", "1", "--json", "--timeout", "10s", NULL);
    s_expect(&r, 0, "listen 2010");
    assert_true(it_contains(r.out, w2010));
    assert_true(it_contains(r.err, "deliver.repeat"));
    assert_true(it_contains(r.err, "linked=2 unacknowledged_by_us=2"));
    it_run_fini(&r);

    /* status as licensing shows the chain */
    s_agent(&r, b, "licensing", "status", w2010, NULL);
    s_expect(&r, 0, "status");
    assert_true(it_contains(r.out, "linked      2 earlier alerts about the same subject"));
    assert_true(it_contains(r.out, w2002));
    assert_true(it_contains(r.out, w2006));
    assert_true(it_contains(r.out, "licensing never acknowledged 2 of them"));
    it_run_fini(&r);

    s_agent(&r, b, "licensing", "status", w2010, "--json", NULL);
    s_expect(&r, 0, "status --json");
    json_t *sj = json_loads(r.out, 0, NULL);
    json_t *linked = json_object_get(sj, "linked");
    assert_int_equal(json_array_size(linked), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *l = json_array_get(linked, i);
        assert_string_equal(json_string_value(json_object_get(l, "alert")), want[i]);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(l, "outcomes"), "licensing")),
            "never");
    }
    json_decref(sj);
    it_run_fini(&r);

    /* the snapshot (outstanding, the console) carries the chain too */
    char needle[64];
    snprintf(needle, sizeof needle, "\"linked\":[{\"alert\":\"%s\"", w2002);
    s_agent(&r, b, "licensing", "outstanding", "--json", NULL);
    s_expect(&r, 0, "outstanding --json");
    assert_true(it_contains(r.out, needle));
    it_run_fini(&r);

    /* the home office was party to 2002 only: it sees that id, not 2006's */
    s_agent(&r, b, "home-office", "status", w2010, NULL);
    s_expect(&r, 0, "status as home-office");
    assert_true(it_contains(r.out, w2002));
    assert_false(it_contains(r.out, w2006));
    assert_true(it_contains(r.out, "(not sent to you)"));
    it_run_fini(&r);

    /* repeat warnings: licensing, the sender and oversight hear of it */
    char *ev = bh_own(b, s_events(b, "licensing"), free);
    assert_int_equal(s_repeats(ev, "licensing", 2), 1);
    assert_int_equal(s_repeats(ev, "licensing", 1), 1); /* in 2006, after the first */
    assert_true(it_contains(ev, "you did not acknowledge 2 earlier warnings about this subject"));
    ev = bh_own(b, s_events(b, "police"), free);
    assert_int_equal(s_repeats(ev, "licensing", 2), 1); /* the 2010 sender */
    ev = bh_own(b, s_events(b, "oversight"), free);
    assert_int_equal(s_repeats(ev, "licensing", 2), 1);
    assert_int_equal(s_repeats(ev, "licensing", 1), 1);
    /* children's services is a recipient too, but not warned about licensing */
    ev = bh_own(b, s_events(b, "childrens-services"), free);
    assert_false(it_contains(ev, "repeat_warning"));
    /* nothing at all for an agency outside the chain */
    ev = bh_own(b, s_events(b, "education"), free);
    assert_false(it_contains(ev, "repeat_warning"));
    assert_int_equal(bh_log_count(b, "link.repeat", "agency=licensing missed=2"), 1);

    /* vigilctl report --linked: one chain of three, licensing flagged */
    char *store_dir = bh_own(b, it_path(b->net, "broker/store"), free);
    it_vigilctl(&r, "report", "--store", store_dir, "--linked");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "chain 1: 3 linked alerts"));
    assert_false(it_contains(r.out, "chain 2"));
    assert_true(it_contains(r.out, "FLAG licensing failed"));
    assert_false(it_contains(r.out, "FLAG police"));
    assert_false(it_contains(r.out, "FLAG childrens-services"));
    it_run_fini(&r);
    it_vigilctl(&r, "report", "--store", store_dir, "--linked", "--format", "json");
    it_assert_ok(&r);
    json_t *rep = json_loads(r.out, 0, NULL);
    assert_non_null(rep);
    json_t *chain = json_array_get(json_object_get(rep, "chains"), 0);
    assert_int_equal(json_array_size(json_object_get(rep, "chains")), 1);
    assert_int_equal(json_array_size(json_object_get(chain, "alerts")), 3);
    json_t *first = json_array_get(json_object_get(chain, "alerts"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "alert")), w2002);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(first, "outcomes"), "licensing")),
        "never");
    json_t *flagged = json_object_get(chain, "flagged");
    assert_int_equal(json_array_size(flagged), 1);
    json_t *flag = json_array_get(flagged, 0);
    assert_string_equal(json_string_value(json_object_get(flag, "agency")), "licensing");
    assert_true(json_integer_value(json_object_get(flag, "never")) >= 2);
    json_decref(rep);
    it_run_fini(&r);

    /* an agency outside the chain: the alert is unknown to it */
    s_agent(&r, b, "education", "status", w2010, NULL);
    assert_int_not_equal(r.status, 0);
    assert_false(it_contains(r.out, w2002));
    assert_true(it_contains(r.err, "no alert with this id is known to education"));
    it_run_fini(&r);

    /* the store: tags, never the licence nor an unkeyed hash of it */
    size_t len = 0;
    uint8_t *store = bh_own(b, s_store_bytes(b, &len), free);
    assert_true(s_has(store, len, "researcher", 10)); /* the search finds what is there */
    const char *forms[] = {
        "TL-2002-0417", "tl 2002 0417", "Tl2002-0417", "TL20020417", "taxi-licence:TL20020417",
        "tl20020417",   "2002-0417",    "20020417"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        s_assert_absent(store, len, forms[i]);
    }
    assert_int_equal(bh_store_count(b, VGB_COUNT_LEAVES, "kind=linked"), 2);
    /* the log with its linked leaves verifies end to end */
    it_vigilctl(&r, "audit", "verify", "-c", b->conf);
    it_assert_ok(&r);
    it_run_fini(&r);
    bh_pass(b);
}

/* vigilctl with ARGS (NULL-terminated), which must succeed. */
static void
s_ctl_ok(const char *const *args)
{
    it_run r;
    it_exec(&r, "vigilctl", args);
    it_assert_ok(&r);
    it_run_fini(&r);
}

/* Signs the edited network and puts it in force. */
static void
s_sign_push(const bh_broker *b)
{
    s_ctl_ok((const char *const[]){"network", "sign", "--dir", b->net, NULL});
    s_ctl_ok((const char *const[]){"network", "push", "-c", b->conf, NULL});
}

/* The earlier alerts status lists for alert id, as agency sees it. */
static char *
s_status(const bh_broker *b, const char *agency, const char *id)
{
    it_run r;
    s_agent(&r, b, agency, "status", id, NULL);
    s_expect(&r, 0, "status");
    char *out = strdup(r.out);
    it_run_fini(&r);
    return out;
}

/* A link-key rotation: during the overlap agents tag under both keys, so an
 * alert sent then links to the alerts before it (old key) and the alerts
 * after the old key is retired link to it (new key): one chain. An alert
 * about another licence, tagged only under the new key, links to nothing. */
static void
test_rotation_keeps_linking_across_the_overlap(void **state)
{
    s_fx *f = *state;
    bh_broker *b = f->b;
    char *a = bh_own(b, s_warn(b, "home-office", "TL-2002-0417", "police"), free);
    char *other = bh_own(b, s_warn(b, "home-office", "TL-1999-0001", "police"), free);

    s_ctl_ok((const char *const[]){"network", "link-key", "new", "--dir", b->net, NULL});
    s_sign_push(b);
    char *overlap = bh_own(b, s_warn(b, "researcher", "tl 2002 0417", "police"), free);
    char *st = bh_own(b, s_status(b, "licensing", overlap), free);
    assert_true(it_contains(st, "linked      1 earlier alert about the same subject"));
    assert_true(it_contains(st, a));

    s_ctl_ok((const char *const[]){"network", "link-key", "retire", "1", "--dir", b->net, NULL});
    s_sign_push(b);
    char *after = bh_own(b, s_warn(b, "police", "TL2002 0417", "home-office"), free);
    st = bh_own(b, s_status(b, "licensing", after), free);
    assert_true(it_contains(st, "linked      1 earlier alert about the same subject"));
    assert_true(it_contains(st, overlap)); /* through the new key */
    assert_false(it_contains(st, a));      /* tagged under the retired key only */
    char *other2 = bh_own(b, s_warn(b, "police", "TL-1999-0001", "home-office"), free);
    st = bh_own(b, s_status(b, "licensing", other2), free);
    assert_false(it_contains(st, "linked")); /* its only earlier tag was under key 1 */
    assert_false(it_contains(st, other));

    it_run r;
    char *store_dir = bh_own(b, it_path(b->net, "broker/store"), free);
    it_vigilctl(&r, "report", "--store", store_dir, "--linked");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "chain 1: 3 linked alerts")); /* a, overlap, after */
    assert_false(it_contains(r.out, "chain 2"));
    it_run_fini(&r);
    bh_pass(b);
}

/* Sets the document's repeat_deadlines (docs/network.md "Repeat warnings:
 * stricter deadlines") in network.json, for vigilctl network sign. */
static void
s_set_repeat_deadlines(const bh_broker *b, const char *severity, const char *deadline)
{
    char *path = it_path(b->net, "network/network.json");
    json_error_t err;
    json_t *doc = json_load_file(path, 0, &err);
    assert_non_null(doc);
    json_object_set_new(doc, "repeat_deadlines", json_pack("{s:s}", severity, deadline));
    assert_int_equal(json_dump_file(doc, path, JSON_INDENT(2)), 0);
    json_decref(doc);
    free(path);
}

static vgb_rrow
s_row(const bh_broker *b, const char *id_hex, const char *agency)
{
    uint8_t id[VG_ALERT_ID_LEN];
    assert_int_equal(vg_alert_id_parse(id, id_hex, NULL), VG_OK);
    vgb_rrow r;
    assert_true(bh_store_recipient(b, id, agency, &r));
    return r;
}

static int64_t
s_accepted(const bh_broker *b, const char *id_hex)
{
    uint8_t id[VG_ALERT_ID_LEN];
    assert_int_equal(vg_alert_id_parse(id, id_hex, NULL), VG_OK);
    vgb_alert_meta m;
    assert_true(bh_store_alert(b, id, &m));
    return m.accepted_ms;
}

/* Escalation for repeat warnings is stricter when the document says so:
 * high alerts are due in 2 s, repeat warnings in 500 ms. Licensing declines
 * the 2002 warning (a miss); the 2006 warning about the same licence is due
 * at licensing in 500 ms — the broker sets it on acceptance, records it and
 * acts on it (licensing goes overdue) — while police and children's
 * services, which acknowledged 2002, keep 2 s; a warning about another
 * licence keeps 2 s at licensing too, and so does a repeat warning to an
 * agency that acknowledged every earlier one. */
static void
test_repeat_warnings_get_the_stricter_deadline(void **state)
{
    s_fx *f = *state;
    bh_broker *b = f->b;
    s_set_repeat_deadlines(b, "high", "500ms");
    s_sign_push(b);
    char *a = bh_own(b, s_warn(b, "home-office", "TL-2002-0417", "police"), free);
    s_ack(b, "police", a);
    s_ack(b, "childrens-services", a);
    s_receive(b, "licensing", a);
    it_run r;
    s_agent(&r, b, "licensing", "decline", a, "--reason", "not a licensing matter", NULL);
    s_expect(&r, 0, "decline");
    it_run_fini(&r);

    s_set_date(f->offset_path, 2006, 5, 1);
    char *c = bh_own(b, s_warn(b, "researcher", "tl 2002 0417", "police"), free);
    int64_t at = s_accepted(b, c);
    assert_int_equal(s_row(b, c, "licensing").deadline_ms, at + 500); /* warned again */
    assert_int_equal(s_row(b, c, "police").deadline_ms, at + 2000);   /* acknowledged 2002 */
    assert_int_equal(s_row(b, c, "childrens-services").deadline_ms, at + 2000);
    assert_int_equal(bh_log_count(b, "deadline.repeat", "agency=licensing"), 1);
    assert_int_equal(bh_log_count(b, "deadline.repeat", "agency=police"), 0);

    char *other = bh_own(b, s_warn(b, "researcher", "TL-2006-9999", "police"), free);
    assert_int_equal(s_row(b, other, "licensing").deadline_ms, s_accepted(b, other) + 2000);

    /* the broker acts on the stricter deadline: licensing goes overdue on c */
    vgb_rrow lic = s_row(b, c, "licensing");
    for (int i = 0; i < 100 && lic.overdue_ms == 0; i++) {
        usleep(100 * 1000);
        lic = s_row(b, c, "licensing");
    }
    assert_true(lic.overdue_ms != 0);
    assert_true(lic.overdue_ms >= at + 500);

    /* the report says which rule set it: the repeat rule's 500ms */
    char *store_dir = bh_own(b, it_path(b->net, "broker/store"), free);
    it_vigilctl(&r, "report", "--store", store_dir, "--unshared");
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "licensing: 500ms from"));
    it_run_fini(&r);
    bh_pass(b);
}

int
main(void)
{
    if (sodium_init() < 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rotherham_across_years, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_rotation_keeps_linking_across_the_overlap, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_repeat_warnings_get_the_stricter_deadline, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
