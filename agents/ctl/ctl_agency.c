/*
 * ctl_agency.c — vigilctl init-agency: a new agency's folder, made on the
 * agency's own machine.
 *
 * `vigilctl init` makes every key of a local network in one place, which
 * suits a demo and a test. A real agency joining a running network makes
 * its keys where they will be used: this command writes its agency.key
 * (0600) and agent.conf there and prints the public card, which is all the
 * administrator needs (`vigilctl network add CARD`). Private keys never
 * travel. Once the administrator has signed and pushed a document with the
 * card, the agent fetches that document from the broker the first time it
 * runs and connects at once.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ctl.h"
#include "vigil/agent_keys.h"
#include "vigil/util.h"

static const vgt_who s_who = {CTL_PROGRAM, "init-agency"};

#define S_CONF_MAX 2048

static const char s_help[] =
    "usage: vigilctl init-agency DIR --id ID --admin-key HEX --endpoint tcp://HOST:PORT\n"
    "                            (--broker-key Z85 | --network SIGNED)\n"
    "                            [--role ROLE] [--name NAME] [--force]\n"
    "\n"
    "Run on the new agency's own machine: makes its keys and agent.conf in DIR and\n"
    "prints its public card (JSON) for the network administrator, who adds it with\n"
    "'vigilctl network add CARD', signs and pushes. Private keys never leave DIR.\n"
    "\n"
    "  DIR/agency.key   the agency's secret keys (mode 0600)\n"
    "  DIR/agent.conf   its configuration (paths relative to it)\n"
    "  DIR/card.json    the public card, also printed on stdout\n"
    "  DIR/store/       its local store (mode 0700)\n"
    "  DIR/network.signed  a copy of --network, when given\n"
    "\n"
    "  --id ID              the agency's id: 1-63 of a-z, 0-9 and '-'\n"
    "  --admin-key HEX      the network administrator's Ed25519 public key (64 hex),\n"
    "                       obtained from the administrator out of band: the agent\n"
    "                       refuses documents it did not sign\n"
    "  --endpoint ADDR      the broker's address, tcp://HOST:PORT\n"
    "  --broker-key Z85     the broker's CurveZMQ public key (40 Z85 characters)\n"
    "  --network SIGNED     a signed network document: verified with --admin-key,\n"
    "                       copied into DIR; the broker key comes from it\n"
    "  --role ROLE          the role on the card (default: police, licensing,\n"
    "                       childrens-services as themselves, home-office\n"
    "                       government, any other id itself)\n"
    "  --name NAME          the display name on the card\n"
    "  --force              replace DIR's keys and agent.conf (new keys)\n"
    "  -h, --help           this help\n"
    "\n"
    "exit status: 0 written; 1 failed; 2 bad command line.\n";

typedef struct s_opts {
    const char *dir;        /* DIR */
    const char *id;         /* --id */
    const char *admin_hex;  /* --admin-key */
    const char *endpoint;   /* --endpoint */
    const char *broker_z85; /* --broker-key */
    const char *network;    /* --network */
    const char *role;       /* --role */
    const char *name;       /* --name */
    bool force;             /* --force */
} s_opts;

static int
s_parse_args(s_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"id", required_argument, NULL, 'i'},       {"admin-key", required_argument, NULL, 'a'},
        {"endpoint", required_argument, NULL, 'e'}, {"broker-key", required_argument, NULL, 'b'},
        {"network", required_argument, NULL, 'n'},  {"role", required_argument, NULL, 'r'},
        {"name", required_argument, NULL, 'N'},     {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'i':
            o->id = optarg;
            break;
        case 'a':
            o->admin_hex = optarg;
            break;
        case 'e':
            o->endpoint = optarg;
            break;
        case 'b':
            o->broker_z85 = optarg;
            break;
        case 'n':
            o->network = optarg;
            break;
        case 'r':
            o->role = optarg;
            break;
        case 'N':
            o->name = optarg;
            break;
        case 'f':
            o->force = true;
            break;
        case 'h':
            fputs(s_help, stdout);
            return VGT_HELP_SHOWN;
        default:
            return vgt_bad_option(&s_who, c, argv);
        }
    }
    if (optind < argc) {
        o->dir = argv[optind++];
    }
    if (optind < argc) {
        return vgt_unexpected_argument(&s_who, argv[optind], NULL);
    }
    if (o->dir == NULL || o->id == NULL || o->admin_hex == NULL || o->endpoint == NULL) {
        return vgt_usage_error(&s_who, "DIR, --id, --admin-key and --endpoint are required");
    }
    if (o->broker_z85 == NULL && o->network == NULL) {
        return vgt_usage_error(&s_who, "say which broker: --broker-key Z85 or --network SIGNED");
    }
    return VGT_EXIT_OK;
}

/* Everything the command checks before it writes anything. */
typedef struct s_agency {
    s_opts o;                            /* the command line */
    uint8_t admin_pk[VG_SIGN_PK_LEN];    /* --admin-key */
    uint8_t broker_pk[VG_CURVE_KEY_LEN]; /* the broker key agent.conf pins */
    uint8_t *doc_bytes;                  /* --network's bytes, or NULL */
    size_t doc_len;                      /* their length */
    vg_keyset *keys;                     /* the new keys */
    char *card;                          /* their card */
} s_agency;

static bool
s_endpoint_ok(const char *ep)
{
    const char *colon = strncmp(ep, "tcp://", 6) == 0 ? strrchr(ep + 6, ':') : NULL;
    return colon != NULL && colon > ep + 6 && colon[1] != '\0' &&
           strspn(colon + 1, "0123456789") == strlen(colon + 1);
}

/* The broker key from --broker-key and/or the document, checked to agree. */
static int
s_broker_key(s_agency *a)
{
    vg_reason why = {{0}};
    if (a->o.broker_z85 != NULL && vg_z85_decode_key(a->broker_pk, a->o.broker_z85) != VG_OK) {
        return vgt_usage_error(&s_who, "--broker-key must be 40 Z85 characters");
    }
    if (a->o.network == NULL) {
        return VGT_EXIT_OK;
    }
    vg_netdoc *doc = NULL;
    vg_err err = vg_file_read(&a->doc_bytes, &a->doc_len, a->o.network, VG_NETDOC_MAX_BYTES, &why);
    if (err == VG_OK) {
        err = vg_netdoc_verify(&doc, a->doc_bytes, a->doc_len, a->admin_pk, 0, &why);
    }
    if (err != VG_OK) {
        vgt_error(&s_who, "%s: %s (%s): get the signed document from the administrator again",
                  a->o.network, why.text, vg_err_code(err));
        return VGT_EXIT_FAIL;
    }
    const uint8_t *doc_pk = vg_netdoc_broker_transport_pk(doc);
    int rc = VGT_EXIT_OK;
    if (a->o.broker_z85 != NULL && sodium_memcmp(doc_pk, a->broker_pk, VG_CURVE_KEY_LEN) != 0) {
        vgt_error(&s_who, "--broker-key is not the broker key in %s: give one of them",
                  a->o.network);
        rc = VGT_EXIT_USAGE;
    }
    memcpy(a->broker_pk, doc_pk, VG_CURVE_KEY_LEN);
    vg_agency card;
    if (rc == VGT_EXIT_OK && vg_netdoc_find(doc, a->o.id, &card) == VG_OK) {
        vgt_error(&s_who,
                  "%s already has an agency '%s' (version %llu): a new agency needs an id of "
                  "its own; to give an agency new keys, run 'vigil-agent keys rotate' there",
                  a->o.network, a->o.id, (unsigned long long)vg_netdoc_version(doc));
        rc = VGT_EXIT_FAIL;
    }
    vg_netdoc_destroy(&doc);
    return rc;
}

static int
s_check(s_agency *a)
{
    if (!vg_agency_id_is_valid(a->o.id)) {
        return vgt_usage_error(&s_who, "--id '%s' is not an agency id: use 1-63 of a-z, 0-9, '-'",
                               a->o.id);
    }
    if (vg_hex_decode(a->admin_pk, VG_SIGN_PK_LEN, a->o.admin_hex) != VG_OK) {
        return vgt_usage_error(&s_who, "--admin-key must be 64 hexadecimal characters");
    }
    if (!s_endpoint_ok(a->o.endpoint)) {
        return vgt_usage_error(&s_who, "--endpoint must be tcp://HOST:PORT, not '%s'",
                               a->o.endpoint);
    }
    char *conf = ctl_path(a->o.dir, CTL_AGENT_CONF);
    char *keys = ctl_path(a->o.dir, "agency.key");
    bool exists = ctl_exists(conf) || ctl_exists(keys);
    free(conf);
    free(keys);
    if (exists && !a->o.force) {
        vgt_error(&s_who,
                  "%s already holds an agency (agent.conf or agency.key); nothing was changed. "
                  "--force replaces it with new keys (the old ones are lost)",
                  a->o.dir);
        return VGT_EXIT_FAIL;
    }
    return s_broker_key(a);
}

static vg_err
s_write_conf(const s_agency *a, const char *path, vg_reason *why)
{
    char broker[VG_Z85_KEY_LEN + 1], admin[2 * VG_SIGN_PK_LEN + 1];
    vg_z85_encode_key(broker, a->broker_pk);
    vg_hex_encode(admin, sizeof admin, a->admin_pk, VG_SIGN_PK_LEN);
    char conf[S_CONF_MAX];
    int n = snprintf(conf, sizeof conf,
                     "; vigil agent for agency '%s', written by vigilctl init-agency.\n"
                     "; Paths are relative to this file.\n"
                     "[agent]\n"
                     "id = %s\n"
                     "keys = agency.key\n"
                     "store = store\n"
                     "log_level = info\n"
                     "\n"
                     "[network]\n"
                     "; fetched from the broker once the administrator has added this agency\n"
                     "document = network.signed\n"
                     "; the network admin's Ed25519 public key: documents it did not sign are "
                     "refused\n"
                     "admin_key = %s\n"
                     "\n"
                     "[broker]\n"
                     "endpoint = %s\n"
                     "; the broker's CurveZMQ public key\n"
                     "public_key = %s\n",
                     a->o.id, a->o.id, admin, a->o.endpoint, broker);
    return vg_file_write_atomic(path, conf, (size_t)n, 0644, why);
}

static int
s_write(s_agency *a)
{
    vg_reason why = {{0}};
    char *store = ctl_path(a->o.dir, "store");
    char *keys = ctl_path(a->o.dir, "agency.key");
    char *conf = ctl_path(a->o.dir, CTL_AGENT_CONF);
    char *card = ctl_path(a->o.dir, "card.json");
    char *doc = ctl_path(a->o.dir, "network.signed");
    const char *role = a->o.role ? a->o.role : ctl_default_role(a->o.id);
    const char *name = a->o.name ? a->o.name : ctl_default_name(a->o.id);
    vg_err err = vg_keyset_generate(&a->keys, VG_KEY_ALL);
    if (err == VG_OK) {
        err = vga_card_json(&a->card, a->o.id, role, name, a->keys);
    }
    if (err == VG_OK) {
        err = vg_mkdir_p(a->o.dir, 0755, &why);
    }
    if (err == VG_OK) {
        err = vg_mkdir_p(store, 0700, &why);
    }
    /* keys first: an agent.conf never names keys that are not there */
    if (err == VG_OK) {
        err = vg_keyset_save(a->keys, keys, &why);
    }
    if (err == VG_OK && a->doc_bytes != NULL) {
        err = vg_file_write_atomic(doc, a->doc_bytes, a->doc_len, 0644, &why);
    }
    if (err == VG_OK) {
        err = vg_file_write_atomic(card, a->card, strlen(a->card), 0644, &why);
    }
    if (err == VG_OK) {
        err = s_write_conf(a, conf, &why);
    }
    if (err != VG_OK) {
        vgt_error(&s_who, "%s (%s)", why.text[0] ? why.text : vg_strerror(err), vg_err_code(err));
    }
    free(store);
    free(keys);
    free(conf);
    free(card);
    free(doc);
    return err == VG_OK ? VGT_EXIT_OK : VGT_EXIT_FAIL;
}

int
ctl_cmd_init_agency(int argc, char **argv)
{
    s_agency a;
    memset(&a, 0, sizeof a);
    int rc = s_parse_args(&a.o, argc, argv);
    if (rc == VGT_EXIT_OK) {
        rc = s_check(&a);
    }
    if (rc == VGT_EXIT_OK) {
        rc = s_write(&a);
    }
    if (rc == VGT_EXIT_OK) {
        fputs(a.card, stdout);
        vgt_error(&s_who,
                  "agency '%s' made in %s: its secret keys stay there. Give the card above "
                  "(%s/card.json) to the network administrator, who runs 'vigilctl network add "
                  "CARD', signs and pushes; then start the agent: vigil-agent -c %s/%s listen",
                  a.o.id, a.o.dir, a.o.dir, a.o.dir, CTL_AGENT_CONF);
    }
    vg_keyset_destroy(&a.keys);
    free(a.card);
    free(a.doc_bytes);
    return rc == VGT_HELP_SHOWN ? VGT_EXIT_OK : rc;
}
