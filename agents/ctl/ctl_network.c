/*
 * ctl_network.c — vigilctl network show | sign.
 *
 * show verifies before it prints: what it prints is what broker and agents
 * would accept. sign re-signs an edited network.json with a version above
 * the document it replaces, so every holder of the old one accepts the new
 * one and refuses to go back.
 */
#include <dirent.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "vigil/broker_config.h"
#include "vigil/agent_config.h"
#include "vigil/clock.h"
#include "vigil/linktag.h"
#include "vigil/netdoc.h"
#include "vigil/util.h"
#include "vigil/wire.h"

static const vgt_who s_show_who = {CTL_PROGRAM, "network show"};
static const vgt_who s_sign_who = {CTL_PROGRAM, "network sign"};

static const char s_help[] =
    "usage: vigilctl network show [--dir DIR | -c CONF] [--json]\n"
    "       vigilctl network sign [--dir DIR] [--in JSON] [--key ADMINKEY] [--out SIGNED]\n"
    "       vigilctl network push -c BROKER_CONF [FILE]\n"
    "       vigilctl network link-key (new | retire ID | list) (--dir DIR | --file KEYS)\n"
    "       vigilctl network add CARD | rotate CARD | compromise AGENCY | revoke AGENCY\n"
    "                        | broker-rotate   (--dir DIR | --json NETWORK_JSON) [...]\n"
    "\n"
    "'vigilctl network show|sign|push|link-key|add|... --help' say more.\n";

static const char s_show_help[] =
    "usage: vigilctl network show [--dir DIR | -c CONF] [--json]\n"
    "\n"
    "Verifies the signed network document and prints it: network, version, issue\n"
    "time, agencies (role, revoked), policy, deadlines and escalation steps.\n"
    "\n"
    "  --dir DIR     a folder made by 'vigilctl init': DIR/network/network.signed,\n"
    "                verified with the public half of DIR/admin/admin.key\n"
    "  -c, --config CONF\n"
    "                an agent.conf or broker.conf: its [network] document, verified\n"
    "                with its pinned [network] admin_key\n"
    "  --json        print the document as editable JSON (docs/network.md)\n"
    "  -h, --help    this help\n";

static const char s_sign_help[] =
    "usage: vigilctl network sign [--dir DIR] [--in JSON] [--key ADMINKEY] [--out SIGNED]\n"
    "                             [--link-keys KEYS]\n"
    "\n"
    "Signs an edited network document (JSON, docs/network.md) with the admin key.\n"
    "The new version is one above the document already at --out (if any), or the\n"
    "JSON's version if that is higher; 'issued' is set to the signing time. The\n"
    "JSON is checked first: an invalid document or policy is refused and nothing\n"
    "is written. --out is replaced atomically.\n"
    "\n"
    "  --dir DIR       defaults: --in DIR/network/network.json, --key\n"
    "                  DIR/admin/admin.key, --out DIR/network/network.signed; also\n"
    "                  refreshes the copies used by DIR/broker and DIR/agents/*\n"
    "  --in JSON       the edited document\n"
    "  --key ADMINKEY  the admin secret key file\n"
    "  --out SIGNED    where the signed document goes\n"
    "  --link-keys KEYS  the network link keys to seal to every agency (default with\n"
    "                  --dir: DIR/admin/link.keys when it exists; none: alerts are\n"
    "                  not linked). See 'network link-key --help'\n"
    "  -h, --help      this help\n";

/* ---------------------------------------------------------------- show */

typedef struct s_source {
    char *doc_path;                   /* the signed document */
    uint8_t admin_pk[VG_SIGN_PK_LEN]; /* what it must verify with */
} s_source;

/* From -c CONF: an agent.conf, else a broker.conf. */
static int
s_source_from_conf(s_source *src, const char *conf)
{
    vg_reason agent_why = {{0}};
    vg_reason broker_why = {{0}};
    vga_config *acfg = NULL;
    vg_broker_config *bcfg = NULL;
    if (vga_config_load(&acfg, conf, &agent_why) == VG_OK) {
        src->doc_path = vg_strdup(acfg->document_path);
        memcpy(src->admin_pk, acfg->admin_pk, VG_SIGN_PK_LEN);
        vga_config_destroy(&acfg);
        return VGT_EXIT_OK;
    }
    if (vg_broker_config_load(&bcfg, conf, &broker_why) == VG_OK) {
        src->doc_path = vg_strdup(bcfg->document_path);
        memcpy(src->admin_pk, bcfg->admin_pk, VG_SIGN_PK_LEN);
        vg_broker_config_destroy(&bcfg);
        return VGT_EXIT_OK;
    }
    vgt_error(&s_show_who,
              "%s is neither a valid agent.conf nor a valid broker.conf:\n  as agent.conf: "
              "%s\n  as broker.conf: %s",
              conf, agent_why.text, broker_why.text);
    return VGT_EXIT_FAIL;
}

static int
s_source_from_dir(s_source *src, const char *dir)
{
    vg_reason why = {{0}};
    char *admin_key = ctl_path(dir, CTL_ADMIN_KEY);
    vg_err err = ctl_admin_pk_load(src->admin_pk, admin_key, &why);
    free(admin_key);
    if (err != VG_OK) {
        vgt_error(&s_show_who,
                  "%s (with --dir, the admin key verifies the document; use -c CONF "
                  "where there is no admin key)",
                  why.text);
        return VGT_EXIT_FAIL;
    }
    src->doc_path = ctl_path(dir, CTL_NETWORK_SIGNED);
    return VGT_EXIT_OK;
}

static void
s_print_list(const char *label, json_t *arr)
{
    printf("%s", label);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        printf("%s%s", i ? ", " : "", json_string_value(v));
    }
    if (json_array_size(arr) == 0) {
        printf("(none)");
    }
}

static void
s_print_policy(json_t *policy)
{
    size_t i;
    json_t *rule;
    printf("policy\n");
    if (json_array_size(policy) == 0) {
        printf("  (no rules: nothing is mandatory)\n");
    }
    json_array_foreach(policy, i, rule)
    {
        json_t *name = json_object_get(rule, "name");
        json_t *sev = json_object_get(rule, "min_severity");
        printf("  %s: ", json_is_string(name) ? json_string_value(name) : "(unnamed)");
        json_t *cats = json_object_get(rule, "categories");
        if (json_array_size(cats) == 0) {
            printf("any category");
        } else {
            s_print_list("categories ", cats);
        }
        printf(" at %s or above must reach ", json_is_string(sev) ? json_string_value(sev) : "low");
        s_print_list("", json_object_get(rule, "must_reach"));
        json_t *roles = json_object_get(rule, "must_reach_roles");
        if (json_array_size(roles) > 0) {
            s_print_list(" and every agency with role ", roles);
        }
        printf("\n");
    }
}

static void
s_print_deadlines(const char *label, json_t *deadlines)
{
    const char *key;
    json_t *v;
    const char *sep = "";
    printf("%s", label);
    json_object_foreach(deadlines, key, v)
    {
        printf("%s%s %s", sep, key, json_is_string(v) ? json_string_value(v) : "?");
        sep = ", ";
    }
    printf("\n");
}

static void
s_print_escalation(const vg_netdoc *doc)
{
    printf("escalation  (after a missed deadline)\n");
    for (size_t i = 0; i < vg_netdoc_n_escalation(doc); i++) {
        vg_escalation_step st;
        char after[32] = "0s";
        vg_netdoc_escalation_at(doc, i, &st);
        if (st.after_ms > 0) {
            vg_duration_format(after, sizeof after, st.after_ms);
        }
        const char *what = st.target == VG_ESC_REDELIVER ? "redeliver and tell the sender"
                           : st.target == VG_ESC_CONTACT ? "tell the agency's escalation contact"
                                                         : "tell every agency with role";
        printf("  +%-8s %s%s%s\n", after, what, st.target == VG_ESC_ROLE ? " " : "",
               st.target == VG_ESC_ROLE ? st.role : "");
    }
}

/* Compromised keys and previous key sets of a card, one line each. */
static void
s_print_key_times(const vg_netdoc *doc, const vg_agency *a)
{
    char t[VG_TIME_STR_LEN], r[VG_TIME_STR_LEN];
    if (a->sign_compromised_ms > 0) {
        vg_time_format(t, sizeof t, a->sign_compromised_ms);
        printf("  %-22s COMPROMISED sign key: refused on what is created from %s\n", "", t);
    }
    if (a->transport_compromised_ms > 0) {
        vg_time_format(t, sizeof t, a->transport_compromised_ms);
        printf("  %-22s COMPROMISED transport key: refused from %s\n", "", t);
    }
    for (size_t i = 0; i < a->n_previous; i++) {
        vg_previous_keys p;
        if (vg_netdoc_previous_keys(doc, a->id, i, &p) != VG_OK) {
            continue;
        }
        vg_time_format(r, sizeof r, p.rotated_ms);
        vg_time_format(t, sizeof t, p.valid_until_ms);
        printf("  %-22s previous %s%s%s%s%s keys: rotated %s, trusted until %s%s\n", "",
               p.sign_pk ? "sign" : "", p.sign_pk && (p.box_pk || p.transport_pk) ? "/" : "",
               p.box_pk ? "box" : "", p.box_pk && p.transport_pk ? "/" : "",
               p.transport_pk ? "transport" : "", r, t,
               p.sign_compromised_ms || p.box_compromised_ms || p.transport_compromised_ms
                   ? " (some COMPROMISED: see --json)"
                   : "");
    }
}

static void
s_print_broker_keys(const vg_netdoc *doc)
{
    for (size_t i = 0; i < vg_netdoc_n_previous_broker_keys(doc); i++) {
        vg_broker_keys bk;
        char t[VG_TIME_STR_LEN], hex[2 * VG_SIGN_PK_LEN + 1], z85[VG_Z85_KEY_LEN + 1];
        vg_netdoc_previous_broker_keys_at(doc, i, &bk);
        vg_time_format(t, sizeof t, bk.valid_until_ms);
        if (bk.sign_pk != NULL) {
            vg_hex_encode(hex, sizeof hex, bk.sign_pk, VG_SIGN_PK_LEN);
            printf("            previous sign key %s (until %s)\n", hex, t);
        }
        if (bk.transport_pk != NULL) {
            vg_z85_encode_key(z85, bk.transport_pk);
            printf("            previous transport key %s (until %s)\n", z85, t);
        }
    }
    if (vg_netdoc_key_transition(doc)[0] != '\0') {
        printf("            key transition signed by the previous sign key (verified)\n");
    }
}

static void
s_print_agencies(const vg_netdoc *doc)
{
    printf("agencies    %zu\n", vg_netdoc_n_agencies(doc));
    for (size_t i = 0; i < vg_netdoc_n_agencies(doc); i++) {
        vg_agency a;
        vg_netdoc_agency_at(doc, i, &a);
        printf("  %-22s role %-20s %s%s%s%s\n", a.id, a.role, a.display_name,
               a.escalation_contact[0] ? "  (contact " : "", a.escalation_contact,
               a.escalation_contact[0] ? ")" : "");
        if (a.revoked) {
            printf("  %-22s REVOKED: its keys are refused%s%s\n", "",
                   a.successor[0] ? "; its pending alerts go to " : "", a.successor);
        }
        s_print_key_times(doc, &a);
    }
}

static int
s_print_doc(const vg_netdoc *doc, const uint8_t admin_pk[VG_SIGN_PK_LEN], const char *path)
{
    char *text = NULL;
    if (vg_netdoc_to_json(&text, doc) != VG_OK) {
        vgt_error(&s_show_who, "out of memory");
        return VGT_EXIT_FAIL;
    }
    json_t *root = json_loads(text, 0, NULL);
    free(text);
    if (root == NULL) {
        vgt_error(&s_show_who, "internal error: the library's JSON does not parse");
        return VGT_EXIT_FAIL;
    }
    char issued[VG_TIME_STR_LEN];
    char admin_hex[2 * VG_SIGN_PK_LEN + 1];
    char broker_hex[2 * VG_SIGN_PK_LEN + 1];
    char broker_z85[VG_Z85_KEY_LEN + 1];
    vg_time_format(issued, sizeof issued, vg_netdoc_issued_ms(doc));
    vg_hex_encode(admin_hex, sizeof admin_hex, admin_pk, VG_SIGN_PK_LEN);
    vg_hex_encode(broker_hex, sizeof broker_hex, vg_netdoc_broker_sign_pk(doc), VG_SIGN_PK_LEN);
    vg_z85_encode_key(broker_z85, vg_netdoc_broker_transport_pk(doc));
    printf("document    %s\n", path);
    printf("verified    signed by admin key %s\n", admin_hex);
    printf("network     %s\n", vg_netdoc_network(doc));
    printf("version     %llu\n", (unsigned long long)vg_netdoc_version(doc));
    printf("issued      %s\n", issued);
    printf("broker      sign key %s\n", broker_hex);
    printf("            transport key %s\n", broker_z85);
    s_print_broker_keys(doc);
    s_print_list("categories  ", json_object_get(root, "categories"));
    printf("\n");
    s_print_agencies(doc);
    s_print_policy(json_object_get(root, "policy"));
    s_print_deadlines("deadlines   ", json_object_get(root, "deadlines"));
    if (json_object_get(root, "repeat_deadlines") != NULL) { /* when earlier: docs/network.md */
        s_print_deadlines("repeat      ", json_object_get(root, "repeat_deadlines"));
    }
    s_print_escalation(doc);
    printf("link keys   %zu", vg_netdoc_n_link_keys(doc));
    for (size_t i = 0; i < vg_netdoc_n_link_keys(doc); i++) {
        printf("%s%u", i == 0 ? " (ids " : ", ", (unsigned)vg_netdoc_link_key_id(doc, i));
    }
    printf("%s\n", vg_netdoc_n_link_keys(doc) > 0 ? "; sealed to the agencies)" : "");
    json_t *schemes = json_object_get(root, "reference_schemes");
    size_t i;
    json_t *r;
    json_array_foreach(schemes, i, r)
    {
        const char *strip = json_string_value(json_object_get(r, "strip"));
        printf("reference   %s:%s%s%s%s\n", json_string_value(json_object_get(r, "name")),
               json_is_true(json_object_get(r, "uppercase")) ? " upper case" : "",
               strip && strip[0] ? " strip \"" : "", strip && strip[0] ? strip : "",
               strip && strip[0] ? "\"" : "");
    }
    json_decref(root);
    return VGT_EXIT_OK;
}

static int
s_show(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL;
    const char *conf = NULL;
    bool as_json = false;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'c':
            conf = optarg;
            break;
        case 'j':
            as_json = true;
            break;
        case 'h':
            fputs(s_show_help, stdout);
            return VGT_EXIT_OK;
        default:
            return vgt_bad_option(&s_show_who, c, argv);
        }
    }
    if (optind != argc) {
        return vgt_unexpected_argument(&s_show_who, argv[optind], NULL);
    }
    if ((dir == NULL) == (conf == NULL)) {
        return vgt_usage_error(&s_show_who,
                               "say which document: --dir DIR or -c CONF (one of them)");
    }
    s_source src;
    memset(&src, 0, sizeof src);
    int rc = dir != NULL ? s_source_from_dir(&src, dir) : s_source_from_conf(&src, conf);
    vg_netdoc *doc = NULL;
    vg_reason why = {{0}};
    if (rc == VGT_EXIT_OK && src.doc_path == NULL) {
        vgt_error(&s_show_who, "out of memory");
        rc = VGT_EXIT_FAIL;
    }
    if (rc == VGT_EXIT_OK) {
        vg_err err = vg_netdoc_load(&doc, src.doc_path, src.admin_pk, 0, &why);
        if (err != VG_OK) {
            vgt_error(&s_show_who, "%s does not verify: %s (%s)", src.doc_path, why.text,
                      vg_err_code(err));
            rc = VGT_EXIT_FAIL;
        }
    }
    if (rc == VGT_EXIT_OK && as_json) {
        char *text = NULL;
        if (vg_netdoc_to_json(&text, doc) != VG_OK) {
            vgt_error(&s_show_who, "out of memory");
            rc = VGT_EXIT_FAIL;
        } else {
            printf("%s\n", text);
            free(text);
        }
    } else if (rc == VGT_EXIT_OK) {
        rc = s_print_doc(doc, src.admin_pk, src.doc_path);
    }
    vg_netdoc_destroy(&doc);
    free(src.doc_path);
    return rc;
}

/* ---------------------------------------------------------------- sign */

typedef struct s_sign {
    char *in_path;         /* edited JSON */
    char *key_path;        /* admin secret key */
    char *out_path;        /* signed output */
    char *link_path;       /* link keys, or NULL */
    bool link_given;       /* --link-keys named it: it must exist */
    const char *dir;       /* --dir or NULL */
    vg_keyset *admin;      /* loaded admin key */
    char *json;            /* JSON to sign ("issued" removed) */
    uint64_t json_version; /* the JSON's version, 0 when absent */
    uint64_t version;      /* the version signed */
    uint8_t *signed_doc;   /* the result */
    size_t signed_len;     /* its length */
    vg_netdoc *doc;        /* the result, verified */
} s_sign;

static int
s_sign_args(s_sign *s, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"in", required_argument, NULL, 'i'},
        {"key", required_argument, NULL, 'k'},
        {"out", required_argument, NULL, 'o'},
        {"link-keys", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            s->dir = optarg;
            break;
        case 'i':
            free(s->in_path);
            s->in_path = vg_strdup(optarg);
            break;
        case 'k':
            free(s->key_path);
            s->key_path = vg_strdup(optarg);
            break;
        case 'o':
            free(s->out_path);
            s->out_path = vg_strdup(optarg);
            break;
        case 'l':
            free(s->link_path);
            s->link_path = vg_strdup(optarg);
            s->link_given = true;
            break;
        case 'h':
            fputs(s_sign_help, stdout);
            return VGT_HELP_SHOWN;
        default:
            return vgt_bad_option(&s_sign_who, c, argv);
        }
    }
    if (optind != argc) {
        return vgt_unexpected_argument(&s_sign_who, argv[optind], NULL);
    }
    if (s->dir != NULL) {
        s->in_path = s->in_path ? s->in_path : ctl_path(s->dir, CTL_NETWORK_JSON);
        s->key_path = s->key_path ? s->key_path : ctl_path(s->dir, CTL_ADMIN_KEY);
        s->out_path = s->out_path ? s->out_path : ctl_path(s->dir, CTL_NETWORK_SIGNED);
        s->link_path = s->link_path ? s->link_path : ctl_path(s->dir, CTL_LINK_KEYS);
    }
    if (s->in_path == NULL || s->key_path == NULL || s->out_path == NULL) {
        return vgt_usage_error(&s_sign_who,
                               "say what to sign: --dir DIR, or all of --in JSON --key ADMINKEY "
                               "--out SIGNED");
    }
    return VGT_EXIT_OK;
}

/* Reads the JSON, notes its version and drops "issued" (the signing time is
 * the issue time). The library checks everything else. */
static int
s_sign_read_json(s_sign *s)
{
    json_error_t jerr;
    json_t *root = json_load_file(s->in_path, 0, &jerr);
    if (root == NULL) {
        vgt_error(&s_sign_who, "%s:%d:%d: %s; fix the JSON and sign again", s->in_path, jerr.line,
                  jerr.column, jerr.text);
        return VGT_EXIT_FAIL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        vgt_error(&s_sign_who, "%s: the document must be a JSON object (docs/network.md)",
                  s->in_path);
        return VGT_EXIT_FAIL;
    }
    json_t *v = json_object_get(root, "version");
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        s->json_version = (uint64_t)json_integer_value(v);
    }
    json_object_del(root, "issued");
    s->json = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    if (s->json == NULL) {
        vgt_error(&s_sign_who, "out of memory");
        return VGT_EXIT_FAIL;
    }
    return VGT_EXIT_OK;
}

/* The version to sign: above the document at --out, at least the JSON's. */
static int
s_sign_version(s_sign *s)
{
    s->version = s->json_version > 0 ? s->json_version : 1;
    if (!ctl_exists(s->out_path)) {
        return VGT_EXIT_OK;
    }
    vg_netdoc *old = NULL;
    vg_reason why = {{0}};
    vg_err err = vg_netdoc_load(&old, s->out_path, vg_keyset_sign_pk(s->admin), 0, &why);
    if (err != VG_OK) {
        vgt_error(&s_sign_who,
                  "the document at %s does not verify with %s: %s (%s). Nothing was written: "
                  "check --key and --out (to start over, remove %s yourself)",
                  s->out_path, s->key_path, why.text, vg_err_code(err), s->out_path);
        return VGT_EXIT_FAIL;
    }
    uint64_t next = vg_netdoc_version(old) + 1;
    vg_netdoc_destroy(&old);
    s->version = next > s->version ? next : s->version;
    return VGT_EXIT_OK;
}

static int
s_sign_write(s_sign *s)
{
    uint8_t *body = NULL;
    size_t body_len = 0;
    vg_reason why = {{0}};
    vg_err err = vg_netdoc_body_from_json(&body, &body_len, s->json, &why);
    if (err != VG_OK) {
        vgt_error(&s_sign_who, "%s is not a valid network document: %s (%s). Nothing was written",
                  s->in_path, why.text, vg_err_code(err));
        return VGT_EXIT_FAIL;
    }
    size_t n_links = 0;
    err = s->link_path != NULL ? ctl_link_seal(&body, &body_len, s->link_path, &n_links, &why)
                               : VG_ERR_NOT_FOUND;
    if (err == VG_ERR_NOT_FOUND && !s->link_given) {
        printf("no link keys (%s absent): alerts will not be linked\n",
               s->link_path ? s->link_path : "no --link-keys");
        err = VG_OK;
    } else if (err == VG_OK) {
        printf("sealed %zu link key%s to the agencies\n", n_links, n_links == 1 ? "" : "s");
    } else {
        vgt_error(&s_sign_who, "link keys: %s (%s). Nothing was written", why.text,
                  vg_err_code(err));
        free(body);
        return VGT_EXIT_FAIL;
    }
    err =
        vg_netdoc_sign(&s->signed_doc, &s->signed_len, body, body_len, s->version, s->admin, &why);
    free(body);
    if (err == VG_OK) {
        err = vg_file_write_atomic(s->out_path, s->signed_doc, s->signed_len, 0644, &why);
    }
    if (err == VG_OK) {
        err = vg_netdoc_load(&s->doc, s->out_path, vg_keyset_sign_pk(s->admin), s->version, &why);
    }
    if (err != VG_OK) {
        vgt_error(&s_sign_who, "%s (%s)", why.text, vg_err_code(err));
        return VGT_EXIT_FAIL;
    }
    printf("signed %s -> %s (version %llu)\n", s->in_path, s->out_path,
           (unsigned long long)s->version);
    return VGT_EXIT_OK;
}

/* Writes the new document to one holder's document path, if it pins this
 * admin key (a holder pinning another key would refuse it anyway). */
static bool
s_refresh_one(const s_sign *s, const char *who, const char *doc_path, const uint8_t *pinned)
{
    vg_reason why = {{0}};
    if (memcmp(pinned, vg_keyset_sign_pk(s->admin), VG_SIGN_PK_LEN) != 0) {
        vgt_error(&s_sign_who,
                  "%s: not refreshed: it pins a different admin key, so it would refuse "
                  "this document; fix its [network] admin_key",
                  who);
        return false;
    }
    if (ctl_link_document(s->out_path, doc_path, s->signed_doc, s->signed_len, &why) != VG_OK) {
        vgt_error(&s_sign_who, "%s: not refreshed: %s", who, why.text);
        return false;
    }
    printf("  refreshed %s (%s)\n", doc_path, who);
    return true;
}

static int
s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The agent folders under DIR/agents, sorted by name. */
static vg_err
s_agent_dirs(vg_strlist *out, const char *dir)
{
    char *agents = ctl_path(dir, CTL_AGENTS_DIR);
    DIR *d = opendir(agents);
    free(agents);
    if (d == NULL) {
        return VG_OK;
    }
    vg_err err = VG_OK;
    struct dirent *e;
    while (err == VG_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            err = vg_strlist_add(out, e->d_name);
        }
    }
    closedir(d);
    if (out->n > 1) {
        qsort(out->items, out->n, sizeof out->items[0], s_cmp_str);
    }
    return err;
}

static bool
s_refresh_copies(const s_sign *s)
{
    vg_reason why = {{0}};
    bool ok = true;
    char *broker_conf = ctl_path(s->dir, CTL_BROKER_CONF);
    vg_broker_config *bcfg = NULL;
    if (vg_broker_config_load(&bcfg, broker_conf, &why) == VG_OK) {
        ok = s_refresh_one(s, "broker", bcfg->document_path, bcfg->admin_pk) && ok;
        vg_broker_config_destroy(&bcfg);
    } else if (ctl_exists(broker_conf)) {
        vgt_error(&s_sign_who, "broker: not refreshed: %s", why.text);
        ok = false;
    }
    free(broker_conf);
    vg_strlist ids = {0};
    ok = s_agent_dirs(&ids, s->dir) == VG_OK && ok;
    for (size_t i = 0; i < ids.n; i++) {
        char *conf = ctl_path3(s->dir, CTL_AGENTS_DIR, ids.items[i]);
        char *conf_file = ctl_path(conf, CTL_AGENT_CONF);
        vga_config *acfg = NULL;
        char who[96];
        snprintf(who, sizeof who, "agency %s", ids.items[i]);
        vg_agency card;
        if (vg_netdoc_find(s->doc, ids.items[i], &card) != VG_OK) {
            printf("  left %s alone: %s is not in the new document\n", conf, ids.items[i]);
        } else if (vga_config_load(&acfg, conf_file, &why) == VG_OK) {
            ok = s_refresh_one(s, who, acfg->document_path, acfg->admin_pk) && ok;
            vga_config_destroy(&acfg);
        } else if (ctl_exists(conf_file)) {
            vgt_error(&s_sign_who, "%s: not refreshed: %s", who, why.text);
            ok = false;
        }
        free(conf);
        free(conf_file);
    }
    vg_strlist_fini(&ids);
    return ok;
}

static int
s_sign_cmd(int argc, char **argv)
{
    s_sign s;
    memset(&s, 0, sizeof s);
    vg_reason why = {{0}};
    int rc = s_sign_args(&s, argc, argv);
    if (rc == VGT_EXIT_OK) {
        vg_err err = vg_keyset_load(&s.admin, s.key_path, &why);
        if (err == VG_OK && vg_keyset_sign_pk(s.admin) == NULL) {
            err = vg_reason_set(&why, VG_ERR_MALFORMED, "%s holds no signing key", s.key_path);
        }
        if (err != VG_OK) {
            vgt_error(&s_sign_who, "cannot use the admin key: %s", why.text);
            rc = VGT_EXIT_FAIL;
        }
    }
    if (rc == VGT_EXIT_OK) {
        rc = s_sign_read_json(&s);
    }
    if (rc == VGT_EXIT_OK) {
        rc = s_sign_version(&s);
    }
    if (rc == VGT_EXIT_OK) {
        rc = s_sign_write(&s);
    }
    if (rc == VGT_EXIT_OK && s.dir != NULL && !s_refresh_copies(&s)) {
        rc = VGT_EXIT_FAIL;
    }
    vg_keyset_destroy(&s.admin);
    vg_netdoc_destroy(&s.doc);
    free(s.in_path);
    free(s.key_path);
    free(s.out_path);
    free(s.link_path);
    free(s.json);
    free(s.signed_doc);
    return rc == VGT_HELP_SHOWN ? VGT_EXIT_OK : rc;
}

int
ctl_cmd_network(int argc, char **argv)
{
    if (argc < 2) {
        fputs(s_help, stderr);
        return VGT_EXIT_USAGE;
    }
    if (vgt_is_help(argv[1])) {
        fputs(s_help, stdout);
        return VGT_EXIT_OK;
    }
    if (strcmp(argv[1], "show") == 0) {
        return s_show(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "sign") == 0) {
        return s_sign_cmd(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "link-key") == 0) {
        return ctl_cmd_link_key(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "push") == 0) {
        return ctl_cmd_network_push(argc - 1, argv + 1);
    }
    if (ctl_is_network_edit(argv[1])) {
        return ctl_cmd_network_edit(argc - 1, argv + 1);
    }
    static const vgt_who who = {CTL_PROGRAM, "network"};
    return vgt_unknown_command(&who, argv[1], s_help);
}
