/*
 * test_gateway_publish.c — alerts through two agencies' gateways and the
 * real broker: police publishes (vigil JSON, and every valid CAP file of
 * ../shared/cap, read in place), licensing's gateway receives it and
 * exports it as CAP 1.2; xmllint validates every export against cap12.xsd
 * and the test compares it field by field with what was sent. A receipt
 * comes back as a CAP Ack that references the alert.
 */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "gw_cap.h"
#include "gw_cap_internal.h"
#include "gw_harness.h"
#include "itest.h"

typedef struct fixture {
    bh_broker *b;       /* broker and network */
    gh_gateway *police; /* publishes */
    gh_gateway *lic;    /* receives */
} fixture;

static int
s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->b = bh_new(NULL);
    bh_start(f->b);
    f->police = gh_new(f->b, "police", NULL);
    f->lic = gh_new(f->b, "licensing", NULL);
    gh_start(f->police);
    gh_start(f->lic);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture *f = *state;
    bh_destroy(&f->b);
    free(f);
    return 0;
}

/* ---- reading CAP in the test ------------------------------------------------------------ */

/* The text of the first CAP element at path ("info/event"), or NULL. */
static char *
s_get(xmlDoc *doc, const char *path)
{
    const xmlNode *n = xmlDocGetRootElement(doc);
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *part = strtok_r(buf, "/", &save); part && n; part = strtok_r(NULL, "/", &save)) {
        const xmlNode *c = gw_cap_first(n);
        while (c != NULL && !gw_cap_is(c, part)) {
            c = gw_cap_next(c);
        }
        n = c;
    }
    return n ? gw_cap_text(n) : NULL;
}

/* The value of the parameter (or eventCode) named name, or NULL. */
static char *
s_param(xmlDoc *doc, const char *block, const char *name)
{
    const xmlNode *info = gw_cap_first(xmlDocGetRootElement(doc));
    while (info && !gw_cap_is(info, "info")) {
        info = gw_cap_next(info);
    }
    for (const xmlNode *c = gw_cap_first(info); c; c = gw_cap_next(c)) {
        if (!gw_cap_is(c, block)) {
            continue;
        }
        char *vn = gw_cap_text(gw_cap_first(c));
        bool match = strcmp(vn, name) == 0;
        free(vn);
        if (match) {
            return gw_cap_text(gw_cap_next(gw_cap_first(c)));
        }
    }
    return NULL;
}

static void
s_assert_text(xmlDoc *doc, const char *path, const char *want)
{
    char *got = s_get(doc, path);
    if (got == NULL || strcmp(got, want) != 0) {
        fail_msg("%s: got '%s', want '%s'", path, got ? got : "(none)", want);
    }
    free(got);
}

/* Every leaf of a CAP document as "path=text" (info and block indices
 * dropped: several <info> blocks of one alert are one vigil alert). */
typedef struct s_leaves {
    char **items; /* malloc'ed strings */
    size_t n;     /* count */
} s_leaves;

static void
s_flatten(s_leaves *l, const xmlNode *n, const char *path)
{
    for (const xmlNode *c = gw_cap_first(n); c != NULL; c = gw_cap_next(c)) {
        char sub[256];
        snprintf(sub, sizeof sub, "%s/%s", path, c->name);
        if (gw_cap_first(c) != NULL) {
            if (gw_cap_is(c, "eventCode") || gw_cap_is(c, "parameter") || gw_cap_is(c, "geocode")) {
                char *vn = gw_cap_text(gw_cap_first(c));
                char *v = gw_cap_text(gw_cap_next(gw_cap_first(c)));
                size_t len = strlen(sub) + strlen(vn) + strlen(v) + 8;
                l->items = realloc(l->items, (l->n + 1) * sizeof *l->items);
                l->items[l->n] = malloc(len);
                snprintf(l->items[l->n++], len, "%s[%s]=%s", sub, vn, v);
                free(vn);
                free(v);
            } else {
                s_flatten(l, c, sub);
            }
            continue;
        }
        char *t = gw_cap_text(c);
        if (strcmp((const char *)c->name, "expires") == 0) { /* the instant, not its text */
            int64_t ms = 0;
            assert_true(gw_cap_time_parse(t, &ms));
            free(t);
            t = malloc(32);
            snprintf(t, 32, "%lld", (long long)ms);
        }
        size_t len = strlen(sub) + strlen(t) + 2;
        l->items = realloc(l->items, (l->n + 1) * sizeof *l->items);
        l->items[l->n] = malloc(len);
        snprintf(l->items[l->n++], len, "%s=%s", sub, t);
        free(t);
    }
}

static bool
s_has_leaf(const s_leaves *l, const char *leaf)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->items[i], leaf) == 0) {
            return true;
        }
    }
    return false;
}

static void
s_leaves_fini(s_leaves *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i]);
    }
    free(l->items);
}

static xmlDoc *
s_parse(const char *xml, size_t len)
{
    xmlDoc *doc = xmlReadMemory(xml, (int)len, "cap.xml", NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    return doc;
}

/* GET /v1/alerts/{id} as CAP from g; asserts 200, the type, and the XSD. */
static char *
s_get_cap(const gh_gateway *g, const char *idhex, size_t *len)
{
    char path[96], ctype[96] = "";
    snprintf(path, sizeof path, "/v1/alerts/%s", idhex);
    gh_resp r;
    gh_http(&r, g, "GET", path, g->token, NULL, NULL, 0,
            (const char *const[]){"Accept: application/cap+xml", NULL});
    if (r.status != 200) {
        fail_msg("GET %s as CAP at %s: %ld %s", path, g->agency, r.status, r.body);
    }
    assert_true(gh_resp_header(&r, "Content-Type", ctype, sizeof ctype));
    assert_string_equal(ctype, "application/cap+xml");
    char *lint = NULL;
    if (!gh_xsd_valid(r.body, r.len, &lint)) {
        fail_msg("the export of %s at %s does not validate: %s\n%s", idhex, g->agency, lint,
                 r.body);
    }
    free(lint);
    char *xml = r.body;
    *len = r.len;
    r.body = NULL;
    gh_resp_fini(&r);
    return xml;
}

/* POSTs body; asserts 201 and returns the id (into idhex). */
static void
s_publish(const gh_gateway *g, const char *query, const char *ctype, const char *body, size_t len,
          char idhex[33])
{
    char path[128];
    snprintf(path, sizeof path, "/v1/alerts%s", query);
    gh_resp r;
    gh_http(&r, g, "POST", path, g->token, ctype, body, len, NULL);
    if (r.status != 201) {
        fail_msg("publish: %ld %s", r.status, r.body);
    }
    json_t *doc = gh_json(&r);
    snprintf(idhex, 33, "%s", json_string_value(json_object_get(doc, "id")));
    char loc[96];
    assert_true(gh_resp_header(&r, "Location", loc, sizeof loc));
    assert_non_null(strstr(loc, idhex));
    assert_string_equal(json_string_value(json_object_get(doc, "state")), "confirmed");
    json_decref(doc);
    gh_resp_fini(&r);
}

/* ---- tests ------------------------------------------------------------------------------ */

static const char s_json_alert[] =
    "{\"severity\":\"high\",\"categories\":[\"taxi\"],\"to\":[\"licensing\"],"
    "\"status\":\"exercise\",\"urgency\":\"expected\",\"certainty\":\"likely\","
    "\"event\":\"Child sexual exploitation\",\"headline\":\"Licence TL-0417 suspended\","
    "\"description\":\"Intelligence links the driver <& co> to CSE.\","
    "\"instruction\":\"Review the licence today.\","
    "\"areas\":[{\"desc\":\"Rotherham\",\"geocodes\":[\"ons:E08000018\"]}],"
    "\"expires\":\"2030-01-01T12:00:00Z\",\"incidents\":[\"rotherham-taxi-cse\"],"
    "\"subjects\":[{\"scheme\":\"taxi-licence\",\"value\":\"TL-0417\"}],"
    "\"sender_name\":\"DS Khan\",\"contact\":\"0114 000 0000\","
    "\"web\":\"https://police.example/cse\",\"language\":\"en-GB\"}";

static void
test_json_alert_received_as_cap(void **state)
{
    fixture *f = *state;
    char id[33];
    s_publish(f->police, "", "application/json", s_json_alert, strlen(s_json_alert), id);
    assert_true(gh_wait_state(f->police, id, "licensing", "delivered", 10000));
    size_t len = 0;
    char *xml = s_get_cap(f->lic, id, &len);
    xmlDoc *doc = s_parse(xml, len);
    s_assert_text(doc, "identifier", id);
    s_assert_text(doc, "sender", "police");
    s_assert_text(doc, "status", "Exercise");
    s_assert_text(doc, "msgType", "Alert");
    s_assert_text(doc, "scope", "Private");
    char *addresses = s_get(doc, "addresses");
    assert_non_null(strstr(addresses, "licensing"));
    free(addresses);
    s_assert_text(doc, "incidents", "rotherham-taxi-cse");
    s_assert_text(doc, "info/language", "en-GB");
    s_assert_text(doc, "info/event", "Child sexual exploitation");
    s_assert_text(doc, "info/urgency", "Expected");
    s_assert_text(doc, "info/severity", "Severe");
    s_assert_text(doc, "info/certainty", "Likely");
    s_assert_text(doc, "info/expires", "2030-01-01T12:00:00-00:00");
    s_assert_text(doc, "info/senderName", "DS Khan");
    s_assert_text(doc, "info/headline", "Licence TL-0417 suspended");
    s_assert_text(doc, "info/description", "Intelligence links the driver <& co> to CSE.");
    s_assert_text(doc, "info/instruction", "Review the licence today.");
    s_assert_text(doc, "info/web", "https://police.example/cse");
    s_assert_text(doc, "info/contact", "0114 000 0000");
    s_assert_text(doc, "info/area/areaDesc", "Rotherham");
    s_assert_text(doc, "info/area/geocode/valueName", "ons");
    s_assert_text(doc, "info/area/geocode/value", "E08000018");
    char *v = s_param(doc, "eventCode", GW_CAP_VIGIL_CATEGORY);
    assert_string_equal(v, "taxi");
    free(v);
    v = s_param(doc, "parameter", "urn:vigil:alert-id");
    assert_string_equal(v, id);
    free(v);
    v = s_param(doc, "parameter", "urn:vigil:subject:taxi-licence");
    assert_string_equal(v, "TL-0417");
    free(v);
    xmlFreeDoc(doc);
    free(xml);
    /* GET /v1/alerts/{id} is vigil-agent status --json */
    char path[96];
    snprintf(path, sizeof path, "/v1/alerts/%s", id);
    gh_resp r;
    gh_http(&r, f->police, "GET", path, f->police->token, NULL, NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    json_t *from_gw = gh_json(&r);
    gh_resp_fini(&r);
    it_run run;
    it_exec(&run, "vigil-agent",
            (const char *const[]){"-c", f->police->conf, "status", id, "--json", NULL});
    it_assert_ok(&run);
    json_error_t jerr;
    json_t *from_cli = json_loads(run.out, 0, &jerr);
    assert_non_null(from_cli);
    assert_true(json_equal(from_gw, from_cli));
    json_decref(from_gw);
    json_decref(from_cli);
    it_run_fini(&run);
    /* the sender reads its own alert as CAP too */
    xml = s_get_cap(f->police, id, &len);
    free(xml);
    gh_stop(f->police); /* a clean stop: ASan/LSan would fail it */
    gh_stop(f->lic);    /* a clean stop: ASan/LSan would fail it */
    bh_pass(f->b);
}

static void
test_every_valid_cap_file_round_trips(void **state)
{
    fixture *f = *state;
    DIR *d = opendir(VG_CAP_DIR);
    assert_non_null(d);
    struct dirent *e;
    size_t n_sent = 0;
    while ((e = readdir(d)) != NULL) {
        size_t nl = strlen(e->d_name);
        if (nl < 5 || strcmp(e->d_name + nl - 4, ".cap") != 0) {
            continue;
        }
        size_t len = 0;
        char *orig = gh_cap_file(e->d_name, &len);
        gw_cap_problem pb = {0};
        vg_reason why = {{0}};
        if (!gh_xsd_valid(orig, len, NULL) ||
            gw_cap_validate(orig, len, &pb, &why) != VG_OK) { /* the invalid ones: hostile test */
            free(orig);
            continue;
        }
        char id[33];
        s_publish(f->police, "?to=licensing&category=other", "application/cap+xml", orig, len, id);
        assert_true(gh_wait_state(f->police, id, "licensing", "delivered", 10000));
        size_t out_len = 0;
        char *out = s_get_cap(f->lic, id, &out_len);
        xmlDoc *a = s_parse(orig, len), *b = s_parse(out, out_len);
        s_leaves la = {0}, lb = {0};
        s_flatten(&la, xmlDocGetRootElement(a), "alert");
        s_flatten(&lb, xmlDocGetRootElement(b), "alert");
        for (size_t i = 0; i < la.n; i++) {
            if (!s_has_leaf(&lb, la.items[i])) {
                fail_msg("%s: '%s' did not come back\n%s", e->d_name, la.items[i], out);
            }
        }
        s_leaves_fini(&la);
        s_leaves_fini(&lb);
        xmlFreeDoc(a);
        xmlFreeDoc(b);
        free(out);
        free(orig);
        n_sent++;
    }
    closedir(d);
    assert_true(n_sent >= 3);
    gh_stop(f->police); /* a clean stop: ASan/LSan would fail it */
    gh_stop(f->lic);    /* a clean stop: ASan/LSan would fail it */
    bh_pass(f->b);
}

static void
test_receipt_as_cap_ack(void **state)
{
    fixture *f = *state;
    char id[33];
    size_t len = 0;
    char *orig = gh_cap_file("43b080713727.cap", &len);
    s_publish(f->police, "?to=licensing&category=other", "application/xml", orig, len, id);
    free(orig);
    assert_true(gh_wait_state(f->police, id, "licensing", "delivered", 10000));
    char path[128];
    snprintf(path, sizeof path, "/v1/alerts/%s/ack", id);
    const char body[] = "{\"officer\":\"PC Ahmed\",\"note\":\"licence checked\"}";
    gh_resp r;
    gh_http(&r, f->lic, "POST", path, f->lic->token, "application/json", body, strlen(body), NULL);
    assert_int_equal(r.status, 200);
    json_t *doc = gh_json(&r);
    assert_string_equal(json_string_value(json_object_get(doc, "receipt")), "acknowledged");
    json_decref(doc);
    gh_resp_fini(&r);
    /* the sender asks for licensing's receipt as CAP */
    snprintf(path, sizeof path, "/v1/alerts/%s/receipts/licensing", id);
    gh_http(&r, f->police, "GET", path, f->police->token, NULL, NULL, 0,
            (const char *const[]){"Accept: application/cap+xml", NULL});
    assert_int_equal(r.status, 200);
    char *lint = NULL;
    if (!gh_xsd_valid(r.body, r.len, &lint)) {
        fail_msg("the Ack does not validate: %s\n%s", lint, r.body);
    }
    free(lint);
    xmlDoc *ack = s_parse(r.body, r.len);
    s_assert_text(ack, "msgType", "Ack");
    s_assert_text(ack, "sender", "licensing");
    s_assert_text(ack, "references", "hsas@dhs.gov,43b080713727,2003-04-02T14:39:01-05:00");
    s_assert_text(ack, "note", "acknowledged by PC Ahmed: licence checked");
    xmlFreeDoc(ack);
    gh_resp_fini(&r);
    /* and as JSON */
    gh_http(&r, f->police, "GET", path, f->police->token, NULL, NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    doc = gh_json(&r);
    assert_string_equal(json_string_value(json_object_get(doc, "state")), "acknowledged");
    assert_string_equal(json_string_value(json_object_get(doc, "officer")), "PC Ahmed");
    json_decref(doc);
    gh_resp_fini(&r);
    gh_stop(f->police); /* a clean stop: ASan/LSan would fail it */
    gh_stop(f->lic);    /* a clean stop: ASan/LSan would fail it */
    bh_pass(f->b);
}

int
main(void)
{
    gw_cap_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_json_alert_received_as_cap, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_every_valid_cap_file_round_trips, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_receipt_as_cap_ack, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
