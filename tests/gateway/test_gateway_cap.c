/*
 * test_gateway_cap.c — vigil's CAP 1.2 rules held against the official
 * cap12.xsd (read in place from ../shared/cap, run through xmllint) on every
 * example file and on every document vigil exports; the locked-down parser
 * against hostile documents; what import refuses because vigil cannot
 * carry it; import -> export -> import keeps every field.
 *
 * No broker: the CAP module (gw_cap.h) is driven directly, with the network
 * document of a network made by vigilctl init.
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

#include "gw_cap.h"
#include "gw_harness.h"
#include "itest.h"
#include "vigil/agent_config.h"
#include "vigil/alert_json.h"

typedef struct fixture {
    char *tmp;        /* scratch */
    vga_identity *id; /* police, for its network document */
} fixture;

static int
s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->tmp = it_tmpdir();
    char *net = it_path(f->tmp, "net");
    it_init_net(net, NULL);
    char *conf = it_path(net, "agents/police/agent.conf");
    vg_reason why = {{0}};
    assert_int_equal(vga_identity_load(&f->id, conf, 0, &why), VG_OK);
    free(conf);
    free(net);
    gw_cap_init();
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture *f = *state;
    vga_identity_destroy(&f->id);
    it_rmrf(f->tmp);
    free(f->tmp);
    free(f);
    return 0;
}

static gw_cap_import_opts
s_opts(const fixture *f)
{
    gw_cap_import_opts o = {.doc = vga_identity_doc(f->id), .default_category = "other"};
    return o;
}

/* ---- vigil's rules against the XSD, on every file of ../shared/cap ------------------------- */

static void
test_rules_agree_with_xsd(void **state)
{
    (void)state;
    /* Where vigil's rules say more than the schema, and why. */
    static const struct {
        const char *file;
        const char *field; /* where vigil refuses it */
    } stricter[] = {
        {"canada_errors.cap", "alert/references"}, /* an empty <references/> */
    };
    DIR *d = opendir(VG_CAP_DIR);
    assert_non_null(d);
    struct dirent *e;
    size_t n_files = 0, n_valid = 0;
    while ((e = readdir(d)) != NULL) {
        size_t nl = strlen(e->d_name);
        bool cap = nl > 4 && strcmp(e->d_name + nl - 4, ".cap") == 0;
        bool edxl = nl > 7 && strcmp(e->d_name + nl - 7, ".edxlde") == 0;
        if (!cap && !edxl) {
            continue;
        }
        size_t len = 0;
        char *xml = gh_cap_file(e->d_name, &len);
        char *lint = NULL;
        bool xsd = gh_xsd_valid(xml, len, &lint);
        gw_cap_problem pb = {0};
        vg_reason why = {{0}};
        bool ours = gw_cap_validate(xml, len, &pb, &why) == VG_OK;
        const char *expect_field = NULL;
        for (size_t i = 0; i < sizeof stricter / sizeof stricter[0]; i++) {
            expect_field =
                strcmp(stricter[i].file, e->d_name) == 0 ? stricter[i].field : expect_field;
        }
        if (expect_field != NULL) {
            assert_true(xsd);
            assert_false(ours);
            assert_string_equal(pb.field, expect_field);
        } else if (xsd != ours) {
            fail_msg("%s: the XSD says %s, vigil's rules say %s (%s: %s); xmllint: %s", e->d_name,
                     xsd ? "valid" : "invalid", ours ? "valid" : "invalid", pb.field, why.text,
                     lint);
        }
        if (!ours) {
            assert_true(why.text[0] != '\0'); /* every refusal names its reason */
        }
        n_valid += ours;
        n_files++;
        free(lint);
        free(xml);
    }
    closedir(d);
    assert_true(n_files >= 8);
    assert_true(n_valid >= 3);
}

/* ---- hostile documents: refused, nothing fetched ----------------------------------------------
 */

static char *
s_subst(const char *text, const char *from, const char *to)
{
    size_t n = 0, fl = strlen(from), tl = strlen(to);
    for (const char *p = strstr(text, from); p; p = strstr(p + fl, from)) {
        n++;
    }
    char *out = malloc(strlen(text) + n * (tl + 1) + 1);
    char *w = out;
    for (const char *p = text;;) {
        const char *q = strstr(p, from);
        if (q == NULL) {
            strcpy(w, p);
            break;
        }
        memcpy(w, p, (size_t)(q - p));
        w += q - p;
        memcpy(w, to, tl);
        w += tl;
        p = q + fl;
    }
    return out;
}

static const char s_laughs[] =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE alert [\n"
    " <!ENTITY lol \"lol\">\n"
    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
    " <!ENTITY ext SYSTEM \"http://127.0.0.1:TRAP/x\">\n"
    "]>\n"
    "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>&lol9;&ext;</identifier>"
    "</alert>\n";

static void
test_hostile_documents_fetch_nothing(void **state)
{
    fixture *f = *state;
    bh_broker *b = bh_new(NULL); /* only as the owner of the trap */
    gh_trap *trap = gh_trap_open(b);
    char port[16];
    snprintf(port, sizeof port, "127.0.0.1:%d", trap->port);
    char *xee = gh_cap_file("xee.cap", NULL);
    char *xee_here = s_subst(xee, "localhost:8080", port);
    char *laughs = s_subst(s_laughs, "127.0.0.1:TRAP", port);
    const char *docs[] = {xee, xee_here, laughs,
                          "<?xml version=\"1.0\"?><!DOCTYPE alert SYSTEM \"http://127.0.0.1:1/\">"
                          "<alert/>",
                          "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\" "
                          "xmlns:xi=\"http://www.w3.org/2001/XInclude\"><xi:include href=\"file:///"
                          "etc/passwd\"/></alert>"};
    const char *fields[] = {"DOCTYPE", "DOCTYPE", "DOCTYPE", "DOCTYPE", "alert/include"};
    /* (the last: an element of another namespace where <identifier> belongs) */
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        gw_cap_problem pb = {0};
        vg_reason why = {{0}};
        vg_alert a = {0};
        gw_cap_import_opts o = s_opts(f);
        assert_int_equal(gw_cap_import(&a, docs[i], strlen(docs[i]), &o, &pb, &why),
                         VG_ERR_MALFORMED);
        assert_string_equal(pb.field, fields[i]);
    }
    assert_int_equal(gh_trap_connections(trap, 300), 0);
    /* deep nesting and size */
    size_t depth = 10000;
    char *deep = malloc(depth * 7 + 200);
    strcpy(deep, "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">");
    for (size_t i = 0; i < depth; i++) {
        strcat(deep, "<a>");
    }
    gw_cap_problem pb = {0};
    vg_reason why = {{0}};
    assert_int_equal(gw_cap_validate(deep, strlen(deep), &pb, &why), VG_ERR_MALFORMED);
    assert_non_null(strstr(why.text, "deeper"));
    assert_int_equal(gw_cap_validate(deep, GW_CAP_MAX_BYTES + 1, &pb, &why), VG_ERR_TOO_LARGE);
    free(deep);
    free(laughs);
    free(xee_here);
    free(xee);
    bh_pass(b);
    bh_destroy(&b);
}

/* ---- rules the schema does not state, and what vigil cannot carry -------------------------------
 */

static const char s_base[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\n"
    "<identifier>ID-1</identifier><sender>desk@police.example</sender>"
    "<sent>2026-11-29T10:00:00+00:00</sent><status>Actual</status><msgType>Alert</msgType>"
    "<scope>SCOPE</scope>EXTRA_ALERT"
    "<info><category>Safety</category><event>Exploitation</event><urgency>Immediate</urgency>"
    "<severity>SEVERITY</severity><certainty>Likely</certainty>"
    "<headline>Taxi drivers linked to exploitation</headline>EXTRA_INFO</info>MORE\n"
    "</alert>\n";

/* s_base with its placeholders replaced. */
static char *
s_doc(const char *scope, const char *extra_alert, const char *severity, const char *extra_info,
      const char *more)
{
    char *a = s_subst(s_base, "SCOPE", scope);
    char *b = s_subst(a, "EXTRA_ALERT", extra_alert);
    char *c = s_subst(b, "SEVERITY", severity);
    char *d = s_subst(c, "EXTRA_INFO", extra_info);
    char *e = s_subst(d, "MORE", more);
    free(a);
    free(b);
    free(c);
    free(d);
    return e;
}

static void
s_expect(const fixture *f, char *doc, vg_err err, const char *field)
{
    gw_cap_problem pb = {0};
    vg_reason why = {{0}};
    vg_alert a = {0};
    gw_cap_import_opts o = s_opts(f);
    vg_err got = gw_cap_import(&a, doc, strlen(doc), &o, &pb, &why);
    if (got != err || strcmp(pb.field, field) != 0) {
        fail_msg("got %s at '%s' (%s), expected %s at '%s'\n%s", vg_err_code(got), pb.field,
                 why.text, vg_err_code(err), field, doc);
    }
    vg_alert_fini(&a);
    free(doc);
}

static void
test_rules_beyond_the_schema(void **state)
{
    fixture *f = *state;
    s_expect(f, s_doc("Public", "", "Severe", "", ""), VG_OK, "");
    s_expect(f, s_doc("Public", "<references/>", "Severe", "", ""), VG_ERR_MALFORMED,
             "alert/references");
    s_expect(f, s_doc("Public", "<references>a,b</references>", "Severe", "", ""), VG_ERR_MALFORMED,
             "alert/references");
    s_expect(f, s_doc("Public", "<incidents> </incidents>", "Severe", "", ""), VG_ERR_MALFORMED,
             "alert/incidents");
    s_expect(f, s_doc("Restricted", "", "Severe", "", ""), VG_ERR_MALFORMED, "alert/restriction");
    s_expect(f, s_doc("Private", "", "Severe", "", ""), VG_ERR_MALFORMED, "alert/addresses");
    s_expect(f,
             s_doc("Public", "", "Severe",
                   "<area><areaDesc>x</areaDesc><polygon>1,1 2,2 3,3 4,4</polygon></area>", ""),
             VG_ERR_MALFORMED, "alert/info[1]/area[1]/polygon[1]");
    s_expect(f,
             s_doc("Public", "", "Severe",
                   "<area><areaDesc>x</areaDesc><ceiling>100</ceiling></area>", ""),
             VG_ERR_MALFORMED, "alert/info[1]/area[1]/ceiling");
    char *plain = s_doc("Public", "", "Severe", "", "");
    s_expect(f, s_subst(plain, "+00:00</sent>", "Z</sent>"), VG_ERR_MALFORMED, "alert/sent");
    s_expect(f, s_subst(plain, "+00:00</sent>", ".5+00:00</sent>"), VG_ERR_MALFORMED, "alert/sent");
    s_expect(f, s_subst(plain, "<sender>desk@police.example", "<sender>desk, police"),
             VG_ERR_MALFORMED, "alert/sender");
    s_expect(f, s_subst(plain, "<identifier>ID-1", "<identifier>ID &amp; 1"), VG_ERR_MALFORMED,
             "alert/identifier");
    s_expect(f, s_subst(plain, "<status>", "<status a=\"b\">"), VG_ERR_MALFORMED, "alert/status");
    free(plain);
    s_expect(f, s_doc("Public", "", "Serious", "", ""), VG_ERR_MALFORMED, "alert/info[1]/severity");
    s_expect(f, s_doc("Public", "", "Severe", "<bogus/>", ""), VG_ERR_MALFORMED,
             "alert/info[1]/bogus");
    char *cap11 = s_subst(s_base, "cap:1.2", "cap:1.1");
    s_expect(f, cap11, VG_ERR_MALFORMED, "alert");
    /* valid CAP that vigil cannot carry: refused with a reason, never dropped */
    s_expect(f, s_doc("Public", "", "Unknown", "", ""), VG_ERR_INVALID, "alert/info[1]/severity");
    plain = s_doc("Public", "", "Severe", "", "");
    s_expect(f, s_subst(plain, "<headline>Taxi drivers linked to exploitation</headline>", ""),
             VG_ERR_INVALID, "alert/info[1]/headline");
    free(plain);
    s_expect(f,
             s_doc("Public", "", "Severe", "",
                   "<info><language>fr-FR</language><category>Safety</category><event>Exploitation"
                   "</event><urgency>Immediate</urgency><severity>Severe</severity><certainty>"
                   "Likely</certainty><headline>Chauffeurs</headline></info>"),
             VG_ERR_INVALID, "alert/info[2]/language");
    s_expect(f,
             s_doc("Public", "", "Severe",
                   "<area><areaDesc>x</areaDesc><geocode><valueName>t</valueName><value>a:b"
                   "</value></geocode></area>",
                   ""),
             VG_ERR_INVALID, "alert/info[1]/area[1]");
    s_expect(f,
             s_doc("Public", "", "Severe", "",
                   "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"/>"),
             VG_ERR_INVALID, "alert/Signature");
    s_expect(f, s_doc("Private", "<addresses>licensing nobody</addresses>", "Severe", "", ""),
             VG_ERR_INVALID, "alert/addresses");
    plain = s_doc("Public", "", "Severe", "", "");
    s_expect(f,
             s_subst(plain, "<headline>",
                     "<eventCode><valueName>urn:vigil:category</valueName><value>weather</value>"
                     "</eventCode><headline>"),
             VG_ERR_INVALID, "alert/info[1]/eventCode[1]");
    free(plain);
    /* areas may differ between blocks: merged */
    s_expect(f,
             s_doc("Public", "", "Severe", "<area><areaDesc>a</areaDesc></area>",
                   "<info><category>Safety</category><event>Exploitation</event><urgency>"
                   "Immediate</urgency><severity>Severe</severity><certainty>Likely</certainty>"
                   "<headline>Taxi drivers linked to exploitation</headline><area><areaDesc>b"
                   "</areaDesc></area></info>"),
             VG_OK, "");
}

/* ---- the mapping --------------------------------------------------------------------------------
 */

static const char *
s_subject(const vg_alert *a, const char *scheme)
{
    for (size_t i = 0; i < a->n_subjects; i++) {
        if (strcmp(a->subjects[i].scheme, scheme) == 0) {
            return a->subjects[i].value ? a->subjects[i].value : "";
        }
    }
    return NULL;
}

static void
test_import_maps_thunderstorm(void **state)
{
    fixture *f = *state;
    size_t len = 0;
    char *xml = gh_cap_file("thunderstorm.cap", &len);
    gw_cap_problem pb = {0};
    vg_reason why = {{0}};
    vg_alert a = {0};
    gw_cap_import_opts o = s_opts(f);
    assert_int_equal(gw_cap_import(&a, xml, len, &o, &pb, &why), VG_OK);
    assert_int_equal(a.severity, VG_SEV_HIGH); /* Severe */
    assert_int_equal(a.urgency, VG_URG_IMMEDIATE);
    assert_int_equal(a.certainty, VG_CERT_OBSERVED);
    assert_int_equal(a.status, VG_STATUS_ACTUAL);
    assert_int_equal(a.msg_type, VG_MSG_ALERT);
    assert_string_equal(a.event, "SEVERE THUNDERSTORM");
    assert_string_equal(a.headline, "SEVERE THUNDERSTORM WARNING");
    assert_string_equal(a.contact, "BARUFFALDI/JUSKIE");
    assert_string_equal(a.categories.items[0], "other"); /* the default category */
    assert_string_equal(s_subject(&a, "cap.identifier"), "KSTO1055887203");
    assert_string_equal(s_subject(&a, "cap.sender"), "KSTO@NWS.NOAA.GOV");
    assert_string_equal(s_subject(&a, "cap.sent"), "2003-06-17T14:57:00-07:00");
    assert_string_equal(s_subject(&a, "cap.scope"), "Public");
    assert_string_equal(s_subject(&a, "cap.category"), "Met");
    assert_string_equal(s_subject(&a, "cap.responseType"), "Shelter");
    assert_string_equal(s_subject(&a, "cap.eventCode:SAME"), "SVR");
    assert_int_equal(a.expires_ms, 1055890800000LL); /* 16:00 -07:00 */
    assert_int_equal(a.n_areas, 1);
    assert_int_equal(a.areas[0].geocodes.n, 4);
    assert_string_equal(a.areas[0].geocodes.items[0],
                        "cap.polygon:38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 "
                        "38.47,-120.14");
    assert_string_equal(a.areas[0].geocodes.items[1], "SAME:006109");
    vg_alert_fini(&a);
    free(xml);
}

/* Import, export (valid per XSD), import again: the same alert. */
static void
test_export_validates_and_round_trips(void **state)
{
    fixture *f = *state;
    static const char *const files[] = {"thunderstorm.cap", "43b080713727.cap", "australia.cap"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        size_t len = 0;
        char *xml = gh_cap_file(files[i], &len);
        gw_cap_problem pb = {0};
        vg_reason why = {{0}};
        vg_alert a = {0}, b = {0};
        gw_cap_import_opts o = s_opts(f);
        assert_int_equal(gw_cap_import(&a, xml, len, &o, &pb, &why), VG_OK);
        a.sender = strdup("police");
        a.created_ms = 1795921869147;
        char *out = NULL;
        size_t out_len = 0;
        assert_int_equal(gw_cap_export(&out, &out_len, &a, NULL, NULL), VG_OK);
        char *lint = NULL;
        if (!gh_xsd_valid(out, out_len, &lint)) {
            fail_msg("%s: export does not validate: %s\n%s", files[i], lint, out);
        }
        free(lint);
        assert_int_equal(gw_cap_validate(out, out_len, &pb, &why), VG_OK);
        assert_int_equal(gw_cap_import(&b, out, out_len, &o, &pb, &why), VG_OK);
        char *ja = NULL, *jb = NULL;
        b.sender = strdup("police");
        b.created_ms = a.created_ms;
        /* vigil's own parameters come back as kept parameters: compare the rest */
        size_t keep = 0;
        for (size_t k = 0; k < b.n_subjects; k++) {
            if (strncmp(b.subjects[k].scheme, "cap.parameter:urn:vigil:", 24) == 0) {
                free(b.subjects[k].scheme);
                free(b.subjects[k].value);
                continue;
            }
            b.subjects[keep++] = b.subjects[k];
        }
        b.n_subjects = keep;
        assert_int_equal(vga_alert_to_json(&ja, &a), VG_OK);
        assert_int_equal(vga_alert_to_json(&jb, &b), VG_OK);
        assert_string_equal(ja, jb);
        free(ja);
        free(jb);
        free(out);
        vg_alert_fini(&a);
        vg_alert_fini(&b);
        free(xml);
    }
}

/* A vigil alert with text XML cannot hold, odd geocodes, no event: valid CAP. */
static void
test_export_of_awkward_alerts_validates(void **state)
{
    (void)state;
    vg_alert a = {0};
    a.sender = strdup("home-office");
    a.created_ms = 1795921869147;
    a.severity = VG_SEV_CRITICAL;
    a.status = VG_STATUS_EXERCISE;
    a.msg_type = VG_MSG_UPDATE;
    assert_int_equal(vg_strlist_add(&a.categories, "cse"), VG_OK);
    assert_int_equal(vg_strlist_add(&a.recipients, "police"), VG_OK);
    assert_int_equal(vg_strlist_add(&a.incidents, "rotherham taxi"), VG_OK);
    assert_int_equal(vg_strlist_add(&a.incidents, "has \"quotes\""), VG_OK);
    a.headline = strdup("control \x01\x02 and bad \xff\xfe utf-8 & <tags>");
    a.description = strdup("line\r\nbreak\ttab \xed\xa0\x80 surrogate");
    a.web = strdup("not a uri");
    a.language = strdup("english please");
    a.areas = calloc(1, sizeof *a.areas);
    a.n_areas = 1;
    a.areas[0].desc = strdup("Rotherham");
    assert_int_equal(vg_strlist_add(&a.areas[0].geocodes, "ons:E08000018"), VG_OK);
    assert_int_equal(vg_strlist_add(&a.areas[0].geocodes, "no-colon"), VG_OK);
    a.subjects = calloc(1, sizeof *a.subjects);
    a.n_subjects = 1;
    a.subjects[0].scheme = strdup("taxi-licence");
    a.subjects[0].value = strdup("TL-0417");
    a.references = calloc(1, VG_ALERT_ID_LEN);
    a.n_references = 1;
    a.expires_ms = 1795925469000;
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(gw_cap_export(&out, &len, &a, NULL, NULL), VG_OK);
    char *lint = NULL;
    if (!gh_xsd_valid(out, len, &lint)) {
        fail_msg("export does not validate: %s\n%s", lint, out);
    }
    free(lint);
    assert_non_null(strstr(out, "<status>Exercise</status>"));
    assert_non_null(strstr(out, "<msgType>Update</msgType>"));
    assert_non_null(strstr(out, "<severity>Extreme</severity>"));
    assert_non_null(strstr(out, "<incidents>\"rotherham taxi\"</incidents>"));
    assert_non_null(strstr(out, "<value>TL-0417</value>"));
    free(out);
    /* a receipt as a CAP Ack */
    vga_recipient_status r = {.state = VGA_ACKNOWLEDGED, .acknowledged_ms = 1795921870000};
    snprintf(r.agency, sizeof r.agency, "licensing");
    r.officer = "DS Khan";
    r.note = "seen & <noted>";
    char triple[GW_CAP_TRIPLE_MAX];
    gw_cap_triple(triple, sizeof triple, &a);
    assert_int_equal(gw_cap_export_ack(&out, &len, triple, a.id, a.status, a.sender, &r), VG_OK);
    if (!gh_xsd_valid(out, len, &lint)) {
        fail_msg("ack does not validate: %s\n%s", lint, out);
    }
    free(lint);
    assert_non_null(strstr(out, "<msgType>Ack</msgType>"));
    assert_non_null(strstr(out, triple));
    free(out);
    vg_alert_fini(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rules_agree_with_xsd, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_hostile_documents_fetch_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_rules_beyond_the_schema, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_import_maps_thunderstorm, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_export_validates_and_round_trips, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_export_of_awkward_alerts_validates, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
