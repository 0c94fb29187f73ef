/*
 * ctl_check.c — vigilctl check DIR: verifies a network folder as its
 * administrator would, one line per check.
 *
 * Each check is independent where it can be: a broken agency is reported
 * and the others are still checked, so one run lists everything to fix.
 * The round trips seal a real (status Test) demo alert with the sender's
 * keys and open it with the recipient's, through the same library calls as
 * the agents, so a folder that passes can really exchange alerts.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ctl.h"
#include "vigil/broker_config.h"
#include "vigil/agent_config.h"
#include "vigil/clock.h"
#include "vigil/envelope.h"
#include "vigil/netdoc.h"
#include "vigil/util.h"

static const vgt_who s_who = {CTL_PROGRAM, "check"};

static const char s_help[] =
    "usage: vigilctl check DIR\n"
    "\n"
    "Verifies a network folder made by 'vigilctl init':\n"
    "  - DIR/network/network.signed verifies with the admin key (DIR/admin/admin.key);\n"
    "  - DIR/broker/broker.conf loads, its keys are the document's broker keys and\n"
    "    its copy of the document is current;\n"
    "  - every agency's agent.conf loads, its agency.key is private (0600) and\n"
    "    matches its card, and its copy of the document is current;\n"
    "  - for every pair of agencies, a demo alert (status Test) sealed by one is\n"
    "    verified and opened by the other;\n"
    "  - every calendar: fails once its valid_until has passed, warns when it ends\n"
    "    within 90 days, and compares its tz_rule with the system tz database;\n"
    "  - when a deadline rule is in working days, opening hours or next-open:\n"
    "    fails for an agency that lacks the calendar or hours its rules need.\n"
    "Prints one line per check (ok, FAIL, warn, skip) and a summary; exits 1 if\n"
    "any check failed (warnings do not fail).\n"
    "\n"
    "  -h, --help    this help\n";

typedef struct s_check {
    const char *dir;                  /* the network folder */
    uint8_t admin_pk[VG_SIGN_PK_LEN]; /* from DIR/admin/admin.key */
    vg_netdoc *doc;                   /* DIR/network/network.signed, verified */
    vga_identity **ids;               /* per doc agency; NULL when it failed */
    size_t n_passed;                  /* checks that passed */
    size_t n_failed;                  /* checks that failed */
    size_t n_skipped;                 /* checks not run */
} s_check;

static void
s_report(s_check *c, bool ok, const char *what, const char *detail)
{
    if (ok) {
        c->n_passed++;
    } else {
        c->n_failed++;
    }
    printf("%-5s %s: %s\n", ok ? "ok" : "FAIL", what, detail);
}

static void
s_skip(s_check *c, const char *what, const char *detail)
{
    c->n_skipped++;
    printf("%-5s %s: %s\n", "skip", what, detail);
}

static bool
s_check_network(s_check *c)
{
    vg_reason why = {{0}};
    char detail[VG_REASON_MAX + 128];
    char *admin_key = ctl_path(c->dir, CTL_ADMIN_KEY);
    char *doc_path = ctl_path(c->dir, CTL_NETWORK_SIGNED);
    vg_err err = ctl_admin_pk_load(c->admin_pk, admin_key, &why);
    if (err == VG_OK) {
        err = vg_netdoc_load(&c->doc, doc_path, c->admin_pk, 0, &why);
    }
    if (err == VG_OK) {
        snprintf(detail, sizeof detail, "%s verifies (network %s, version %llu, %zu agencies)",
                 doc_path, vg_netdoc_network(c->doc), (unsigned long long)vg_netdoc_version(c->doc),
                 vg_netdoc_n_agencies(c->doc));
    } else {
        snprintf(detail, sizeof detail, "%s (%s)", why.text, vg_err_code(err));
    }
    s_report(c, err == VG_OK, "network", detail);
    free(admin_key);
    free(doc_path);
    return err == VG_OK;
}

/* The holder's copy of the document: verifies with its pinned key and is
 * the same version as DIR/network's. */
static vg_err
s_check_copy(const s_check *c, const char *doc_path, const uint8_t *pinned, vg_reason *why)
{
    if (sodium_memcmp(pinned, c->admin_pk, VG_SIGN_PK_LEN) != 0) {
        return vg_reason_set(why, VG_ERR_CONFIG,
                             "its [network] admin_key is not the public key of %s/%s: it would "
                             "refuse this network's documents; fix admin_key",
                             c->dir, CTL_ADMIN_KEY);
    }
    vg_netdoc *copy = NULL;
    vg_err err = vg_netdoc_load(&copy, doc_path, pinned, 0, why);
    if (err != VG_OK) {
        return err;
    }
    uint64_t have = vg_netdoc_version(copy);
    uint64_t want = vg_netdoc_version(c->doc);
    vg_netdoc_destroy(&copy);
    if (have != want) {
        return vg_reason_set(why, VG_ERR_STALE_VERSION,
                             "%s is version %llu but %s/%s is version %llu: run 'vigilctl "
                             "network sign --dir %s' to refresh the copies",
                             doc_path, (unsigned long long)have, c->dir, CTL_NETWORK_SIGNED,
                             (unsigned long long)want, c->dir);
    }
    return VG_OK;
}

static vg_err
s_broker_keys_match(const s_check *c, const vg_broker_config *cfg, vg_reason *why)
{
    vg_keyset *ks = NULL;
    vg_err err = vg_keyset_load(&ks, cfg->keys_path, why);
    if (err != VG_OK) {
        return err;
    }
    const uint8_t *sign_pk = vg_keyset_sign_pk(ks);
    const uint8_t *curve_pk = vg_keyset_curve_pk(ks);
    if (sign_pk == NULL || curve_pk == NULL ||
        sodium_memcmp(sign_pk, vg_netdoc_broker_sign_pk(c->doc), VG_SIGN_PK_LEN) != 0 ||
        sodium_memcmp(curve_pk, vg_netdoc_broker_transport_pk(c->doc), VG_CURVE_KEY_LEN) != 0) {
        err = vg_reason_set(why, VG_ERR_CONFIG,
                            "%s does not hold the broker keys named in the network document: "
                            "restore the broker's key file or sign a document with its keys",
                            cfg->keys_path);
    }
    vg_keyset_destroy(&ks);
    return err;
}

static void
s_check_broker(s_check *c)
{
    vg_reason why = {{0}};
    char detail[VG_REASON_MAX + 128];
    char *conf = ctl_path(c->dir, CTL_BROKER_CONF);
    vg_broker_config *cfg = NULL;
    vg_err err = vg_broker_config_load(&cfg, conf, &why);
    if (err == VG_OK) {
        err = s_broker_keys_match(c, cfg, &why);
    }
    if (err == VG_OK) {
        err = s_check_copy(c, cfg->document_path, cfg->admin_pk, &why);
    }
    if (err == VG_OK) {
        snprintf(detail, sizeof detail, "%s loads, broker.key matches the document, binds %s", conf,
                 cfg->bind);
    } else {
        snprintf(detail, sizeof detail, "%s (%s)", why.text, vg_err_code(err));
    }
    s_report(c, err == VG_OK, "broker", detail);
    vg_broker_config_destroy(&cfg);
    free(conf);
}

static void
s_check_agency(s_check *c, size_t i, const vg_agency *card)
{
    vg_reason why = {{0}};
    char what[96];
    char detail[VG_REASON_MAX + 128];
    snprintf(what, sizeof what, "agency %s", card->id);
    char *conf = ctl_path3(c->dir, CTL_AGENTS_DIR, card->id);
    char *conf_file = ctl_path(conf, CTL_AGENT_CONF);
    vga_identity *id = NULL;
    vg_err err = vga_identity_load(&id, conf_file, 0, &why);
    if (err == VG_OK && strcmp(vga_identity_agency(id), card->id) != 0) {
        err = vg_reason_set(&why, VG_ERR_CONFIG,
                            "%s: [agent] id is '%s' but the folder is agency '%s''s: fix id",
                            conf_file, vga_identity_agency(id), card->id);
    }
    if (err == VG_OK) {
        const vga_config *cfg = vga_identity_config(id);
        err = s_check_copy(c, cfg->document_path, cfg->admin_pk, &why);
    }
    if (err == VG_OK) {
        snprintf(detail, sizeof detail, "%s loads, agency.key matches its card (role %s)",
                 conf_file, card->role);
        c->ids[i] = id;
    } else {
        snprintf(detail, sizeof detail, "%s (%s)", why.text, vg_err_code(err));
        vga_identity_destroy(&id);
    }
    s_report(c, err == VG_OK, what, detail);
    free(conf);
    free(conf_file);
}

/* The demo alert's category: "other" if the taxonomy has it, else its first. */
static const char *
s_demo_category(const vg_netdoc *doc)
{
    if (vg_netdoc_has_category(doc, "other")) {
        return "other";
    }
    return vg_netdoc_n_categories(doc) > 0 ? vg_netdoc_category_at(doc, 0) : NULL;
}

/* Seals a demo alert from `from` to `to` (plus whoever the policy requires),
 * then verifies, policy-checks and opens it as `to`. */
static vg_err
s_round_trip(const vga_identity *from, const vga_identity *to, vg_reason *why)
{
    const vg_netdoc *doc = vga_identity_doc(from);
    const char *category = s_demo_category(doc);
    if (category == NULL) {
        return vg_reason_set(why, VG_ERR_POLICY, "the network document has no categories");
    }
    char headline[160];
    snprintf(headline, sizeof headline, "vigilctl check: demo alert from %s to %s",
             vga_identity_agency(from), vga_identity_agency(to));
    vg_alert alert;
    memset(&alert, 0, sizeof alert);
    alert.status = VG_STATUS_TEST;
    alert.msg_type = VG_MSG_ALERT;
    alert.severity = VG_SEV_LOW;
    alert.urgency = VG_URG_UNKNOWN;
    alert.headline = headline;
    const char *cats[1] = {category};
    vg_err err = vg_strlist_add(&alert.categories, category);
    if (err == VG_OK) {
        err = vg_strlist_add(&alert.recipients, vga_identity_agency(to));
    }
    if (err == VG_OK) {
        err = vg_netdoc_required(doc, cats, 1, alert.severity, vga_identity_agency(from),
                                 &alert.recipients);
    }
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_seal_params params = {
        .doc = doc,
        .sender = vga_identity_agency(from),
        .keys = vga_identity_keys(from),
        .sequence = 1,
        .created_ms = vg_clock_wall_ms(vg_clock_system()),
        .alert_id = NULL,
    };
    if (err == VG_OK) {
        err = vg_envelope_seal(&bytes, &len, NULL, &alert, &params, why);
    }
    vg_strlist_fini(&alert.categories);
    vg_strlist_fini(&alert.recipients);
    vg_envelope *env = NULL;
    if (err == VG_OK) {
        err = vg_envelope_verify(&env, bytes, len, vga_identity_doc(to), why);
    }
    if (err == VG_OK) {
        err = vg_envelope_check_policy(env, vga_identity_doc(to), NULL, NULL, why);
    }
    vg_alert got;
    memset(&got, 0, sizeof got);
    if (err == VG_OK) {
        err = vg_envelope_open(&got, env, vga_identity_agency(to), vga_identity_keys(to), why);
    }
    if (err == VG_OK &&
        (got.headline == NULL || strcmp(got.headline, headline) != 0 || got.sender == NULL ||
         strcmp(got.sender, vga_identity_agency(from)) != 0)) {
        err = vg_reason_set(why, VG_ERR_INTERNAL, "the opened alert differs from the sealed one");
    }
    vg_alert_fini(&got);
    vg_envelope_destroy(&env);
    free(bytes);
    return err;
}

static void
s_check_pairs(s_check *c)
{
    size_t n = vg_netdoc_n_agencies(c->doc);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            vg_agency a;
            vg_agency b;
            vg_netdoc_agency_at(c->doc, i, &a);
            vg_netdoc_agency_at(c->doc, j, &b);
            if (i == j || a.revoked || b.revoked || strcmp(b.role, VG_ROLE_OVERSIGHT) == 0) {
                continue; /* oversight is never sent content: its box key is never used */
            }
            char what[160];
            snprintf(what, sizeof what, "round trip %s -> %s", a.id, b.id);
            if (c->ids[i] == NULL || c->ids[j] == NULL) {
                s_skip(c, what,
                       c->ids[i] == NULL ? "the sender's identity did not load"
                                         : "the recipient's identity did not load");
                continue;
            }
            vg_reason why = {{0}};
            char detail[VG_REASON_MAX + 64];
            vg_err err = s_round_trip(c->ids[i], c->ids[j], &why);
            if (err == VG_OK) {
                snprintf(detail, sizeof detail, "sealed, verified and opened");
            } else {
                snprintf(detail, sizeof detail, "%s (%s)", why.text, vg_err_code(err));
            }
            s_report(c, err == VG_OK, what, detail);
        }
    }
}

static void
s_check_agencies(s_check *c)
{
    size_t n = vg_netdoc_n_agencies(c->doc);
    for (size_t i = 0; i < n; i++) {
        vg_agency card;
        vg_netdoc_agency_at(c->doc, i, &card);
        if (card.revoked) {
            char what[96];
            snprintf(what, sizeof what, "agency %s", card.id);
            s_skip(c, what, "revoked in the network document");
            continue;
        }
        s_check_agency(c, i, &card);
    }
}

int
ctl_cmd_check(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (opt == 'h') {
            fputs(s_help, stdout);
            return VGT_EXIT_OK;
        }
        return vgt_bad_option(&s_who, opt, argv);
    }
    if (optind != argc - 1) {
        return vgt_usage_error(&s_who, "expected exactly one network folder: vigilctl check DIR");
    }
    s_check c;
    memset(&c, 0, sizeof c);
    c.dir = argv[optind];
    size_t n_warned = 0;
    if (s_check_network(&c)) {
        c.ids = calloc(vg_netdoc_n_agencies(c.doc), sizeof *c.ids);
        if (c.ids == NULL && vg_netdoc_n_agencies(c.doc) > 0) {
            vgt_error(&s_who, "out of memory");
            vg_netdoc_destroy(&c.doc);
            return VGT_EXIT_FAIL;
        }
        s_check_broker(&c);
        s_check_agencies(&c);
        s_check_pairs(&c);
        ctl_check_counts cal = {0};
        ctl_check_calendars(c.doc, vg_clock_wall_ms(vg_clock_system()), &cal);
        c.n_passed += cal.passed;
        c.n_failed += cal.failed;
        c.n_skipped += cal.skipped;
        n_warned = cal.warned;
    }
    char warned[48] = "";
    if (n_warned > 0) {
        snprintf(warned, sizeof warned, ", %zu warnings", n_warned);
    }
    printf("check %s: %zu passed, %zu failed, %zu skipped%s: %s\n", c.dir, c.n_passed, c.n_failed,
           c.n_skipped, warned,
           c.n_failed == 0 ? "the network folder is ready" : "fix the failures above");
    for (size_t i = 0; c.ids != NULL && i < vg_netdoc_n_agencies(c.doc); i++) {
        vga_identity_destroy(&c.ids[i]);
    }
    free(c.ids);
    vg_netdoc_destroy(&c.doc);
    return c.n_failed == 0 ? VGT_EXIT_OK : VGT_EXIT_FAIL;
}
