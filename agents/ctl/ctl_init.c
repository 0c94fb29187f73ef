/*
 * ctl_init.c — vigilctl init: creates a complete local network folder.
 *
 * Everything is generated and validated (the library's own JSON checks)
 * before the first file is written, so a bad option never leaves half a
 * network behind. Files are written atomically; secret key files 0600.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "ctl.h"
#include "vigil/clock.h"
#include "vigil/linktag.h"
#include "vigil/netdoc.h"
#include "vigil/util.h"
#include "vigil/wire.h"

static const vgt_who s_who = {CTL_PROGRAM, "init"};
#define S_DEADLINES_MAX (4 + 4 * 5) /* every severity, and every severity/urgency */
#define S_DEADLINE_KEY_MAX 48
#define S_CONF_MAX 2048
#define S_DEFAULT_ENDPOINT "tcp://127.0.0.1:7600"
#define S_DEFAULT_NETWORK "vigil-local"
#define S_CONTACT_AFTER_MS (30ull * 60 * 1000)  /* contact step at the default scale */
#define S_ROLE_AFTER_MS (2ull * 60 * 60 * 1000) /* oversight step at the default scale */

static const char s_help[] =
    "usage: vigilctl init DIR --agencies ID[,ID...] | --agencies-file FILE [options]\n"
    "\n"
    "Creates a complete local vigil network in DIR:\n"
    "  DIR/admin/admin.key           the network admin's signing key (keep it offline)\n"
    "  DIR/network/network.json      the network document, editable source\n"
    "  DIR/network/network.signed    the same, signed by the admin key (version 1)\n"
    "  DIR/broker/broker.conf        broker config, broker.key, a copy of network.signed\n"
    "  DIR/agents/ID/agent.conf      per agency: config, agency.key, network.signed (a\n"
    "                                hard link to DIR/network's);\n"
    "                                its [gateway] listens on 127.0.0.1, port = the\n"
    "                                broker's + 101 for the first agency, + 102 ...\n"
    "Paths inside the configs are relative to the config file: DIR can be moved.\n"
    "\n"
    "options:\n"
    "  --agencies ID,...     agency ids (a-z, 0-9, '-'), e.g.\n"
    "                        police,licensing,childrens-services,home-office\n"
    "  --agencies-file FILE  more agency ids, one a line (or separated by commas or\n"
    "                        spaces; '#' starts a comment): for a national network,\n"
    "                        whose list would not fit on a command line. A network\n"
    "                        holds at most 4096 agencies\n"
    "  --oversight ID        an oversight agency (role 'oversight'), told last when\n"
    "                        an alert stays unacknowledged; added if not listed\n"
    "  --endpoint ADDR[,ADDR...]  the broker's address (default " S_DEFAULT_ENDPOINT "); with\n"
    "                        several (brokers sharing a PostgreSQL store, docs/ha.md) the\n"
    "                        agents get them all and follow the leader; broker.conf\n"
    "                        binds the first\n"
    "  --deadline S=D,...    acknowledgement deadlines per severity (critical, high,\n"
    "                        medium, low; or severity/urgency), e.g. high=5s,low=1d\n"
    "                        (default critical=15m,high=1h,medium=24h,low=72h)\n"
    "  --limits K=V,...      what each agency may publish (docs/network.md \"limits\"):\n"
    "                        publish_per_minute, publish_burst, stored_bytes_per_day,\n"
    "                        e.g. publish_per_minute=600,stored_bytes_per_day=256MiB\n"
    "                        (default 6000, 6000, 1GiB)\n"
    "  --network NAME        network name (default " S_DEFAULT_NETWORK ")\n"
    "  --force               replace an existing network in DIR (new keys for all)\n"
    "  -h, --help            this help\n"
    "\n"
    "Default policy: alerts in categories taxi or cse must reach licensing, police\n"
    "and childrens-services (those of them that are in the network). Roles:\n"
    "home-office is 'government', the --oversight agency 'oversight', any other\n"
    "agency's role is its id. Escalation after a missed deadline: redeliver at once,\n"
    "tell the agency's escalation contact (the government agency, else the\n"
    "oversight agency) after 30m, every 'oversight' agency after 2h; both scale down\n"
    "to 2x and 8x the shortest deadline when that is under 15m.\n";

typedef struct s_deadline {
    char key[S_DEADLINE_KEY_MAX]; /* "high" or "high/immediate" */
    uint64_t ms;                  /* the deadline */
    bool from_user;               /* set by --deadline (a second setting is an error) */
} s_deadline;

typedef struct s_opts {
    const char *dir;       /* the network folder */
    const char *agencies;  /* --agencies as given */
    const char *ids_file;  /* --agencies-file or NULL */
    const char *oversight; /* --oversight or NULL */
    const char *endpoint;  /* --endpoint */
    const char *network;   /* --network */
    const char *deadlines; /* --deadline or NULL */
    const char *limits;    /* --limits or NULL */
    bool force;            /* --force */
} s_opts;

typedef struct s_init {
    s_opts opts;                           /* the command line */
    vg_strlist ids;                        /* every agency, oversight included */
    s_deadline deadlines[S_DEADLINES_MAX]; /* default and --deadline */
    size_t n_deadlines;                    /* used entries of deadlines */
    vg_keyset *admin;                      /* admin signing key */
    vg_keyset *broker;                     /* broker SIGN + CURVE */
    vg_keyset **agency_keys;               /* one per ids item */
    char bind[256];                        /* the first --endpoint: what broker.conf binds */
    char endpoints[1024];                  /* every --endpoint, ", "-separated: agent.conf's */
    char *json;                            /* network.json text */
    uint8_t *signed_doc;                   /* network.signed bytes */
    size_t signed_len;                     /* their length */
    uint8_t *link_key;                     /* the first link key, sodium_malloc'ed */
} s_init;

static const struct {
    const char *id;   /* well-known agency id */
    const char *role; /* its role */
    const char *name; /* its display name */
} s_known[] = {
    {"police", "police", "Police"},
    {"licensing", "licensing", "Taxi and private hire licensing"},
    {"childrens-services", "childrens-services", "Children's services"},
    {"home-office", "government", "Home Office"},
};

const char *
ctl_default_role(const char *id)
{
    for (size_t i = 0; i < sizeof s_known / sizeof s_known[0]; i++) {
        if (strcmp(id, s_known[i].id) == 0) {
            return s_known[i].role;
        }
    }
    return id;
}

const char *
ctl_default_name(const char *id)
{
    for (size_t i = 0; i < sizeof s_known / sizeof s_known[0]; i++) {
        if (strcmp(id, s_known[i].id) == 0) {
            return s_known[i].name;
        }
    }
    return id;
}

static const char *const s_categories[] = {"taxi",        "cse",          "missing-child",
                                           "online-harm", "exploitation", "other"};
static const char *const s_taxi_cse_reach[] = {"licensing", "police", "childrens-services"};

static int
s_parse_args(s_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"agencies", required_argument, NULL, 'a'},
        {"agencies-file", required_argument, NULL, 'A'},
        {"oversight", required_argument, NULL, 'o'},
        {"endpoint", required_argument, NULL, 'e'},
        {"deadline", required_argument, NULL, 'd'},
        {"network", required_argument, NULL, 'n'},
        {"force", no_argument, NULL, 'f'},
        {"limits", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    o->endpoint = S_DEFAULT_ENDPOINT;
    o->network = S_DEFAULT_NETWORK;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            o->agencies = optarg;
            break;
        case 'A':
            o->ids_file = optarg;
            break;
        case 'o':
            o->oversight = optarg;
            break;
        case 'e':
            o->endpoint = optarg;
            break;
        case 'd':
            o->deadlines = optarg;
            break;
        case 'n':
            o->network = optarg;
            break;
        case 'l':
            o->limits = optarg;
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
    if (optind == argc) {
        return vgt_usage_error(&s_who,
                               "say where to create the network: vigilctl init DIR --agencies ...");
    }
    if (optind < argc - 1) {
        return vgt_usage_error(&s_who, "expected one DIR, got more (first extra: '%s')",
                               argv[optind + 1]);
    }
    o->dir = argv[optind];
    if (o->agencies == NULL && o->ids_file == NULL) {
        return vgt_usage_error(&s_who, "--agencies is required, e.g. --agencies "
                                       "police,licensing,childrens-services,home-office (or "
                                       "--agencies-file FILE)");
    }
    return VGT_EXIT_OK;
}

static int
s_bad_id(const char *opt, const char *id)
{
    vgt_error(&s_who,
              "%s: '%s' is not a valid agency id: use 1 to 63 of a-z, 0-9 and '-', not "
              "starting with '-' (e.g. childrens-services)",
              opt, id);
    return VGT_EXIT_USAGE;
}

#define S_IDS_FILE_MAX (VG_AGENCIES_MAX * 128) /* ids, separators and comments */

/* Appends the ids of --agencies-file: words separated by white space or
 * commas, '#' to the end of the line a comment. */
static int
s_read_ids_file(vg_strlist *out, const char *path)
{
    uint8_t *text = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    if (vg_file_read(&text, &len, path, S_IDS_FILE_MAX, &why) != VG_OK) {
        vgt_error(&s_who, "--agencies-file: %s", why.text);
        return VGT_EXIT_USAGE;
    }
    int rc = VGT_EXIT_OK;
    char *p = (char *)text, *end = (char *)text + len;
    while (p < end && rc == VGT_EXIT_OK) {
        if (*p == '#') {
            while (p < end && *p != '\n') {
                p++;
            }
        } else if (strchr(" \t\r\n,", *p) != NULL) {
            p++;
        } else {
            char *w = p;
            while (p < end && strchr(" \t\r\n,#", *p) == NULL) {
                p++;
            }
            char word[VG_AGENCY_ID_MAX + 2]; /* one too long still reads as invalid */
            snprintf(word, sizeof word, "%.*s", (int)(p - w), w);
            rc = vg_strlist_add(out, word) == VG_OK ? VGT_EXIT_OK : VGT_EXIT_FAIL;
        }
    }
    free(text);
    return rc;
}

static int
s_parse_agencies(s_init *in)
{
    vg_strlist raw = {0};
    vg_reason why = {{0}};
    int rc = VGT_EXIT_OK;
    if (in->opts.agencies != NULL && vg_strlist_split(&raw, in->opts.agencies, &why) != VG_OK) {
        vg_strlist_fini(&raw); /* split may have added items before it failed */
        vgt_error(&s_who, "--agencies '%.200s': %s", in->opts.agencies, why.text);
        return VGT_EXIT_USAGE;
    }
    if (in->opts.ids_file != NULL && (rc = s_read_ids_file(&raw, in->opts.ids_file)) != 0) {
        vg_strlist_fini(&raw);
        return rc;
    }
    const char *dup = NULL;
    for (size_t i = 0; i < raw.n && rc == VGT_EXIT_OK; i++) {
        if (!vg_agency_id_is_valid(raw.items[i])) {
            rc = s_bad_id("--agencies", raw.items[i]);
        }
    }
    if (rc == VGT_EXIT_OK && vg_strlist_find_duplicate(&raw, &dup) != VG_OK) {
        vgt_error(&s_who, "out of memory");
        rc = VGT_EXIT_FAIL;
    } else if (rc == VGT_EXIT_OK && dup != NULL) {
        vgt_error(&s_who, "--agencies: '%s' is listed twice; list each agency once", dup);
        rc = VGT_EXIT_USAGE;
    }
    if (rc == VGT_EXIT_OK) {
        in->ids = raw; /* ours now */
        raw = (vg_strlist){0};
    }
    vg_strlist_fini(&raw);
    if (rc != VGT_EXIT_OK) {
        return rc;
    }
    if (in->opts.oversight != NULL) {
        if (!vg_agency_id_is_valid(in->opts.oversight)) {
            return s_bad_id("--oversight", in->opts.oversight);
        }
        if (vg_strlist_add_unique(&in->ids, in->opts.oversight) != VG_OK) {
            vgt_error(&s_who, "out of memory");
            return VGT_EXIT_FAIL;
        }
    }
    if (in->ids.n > VG_AGENCIES_MAX) {
        vgt_error(&s_who,
                  "--agencies: %zu agencies (the --oversight one included); a network document "
                  "holds at most %d",
                  in->ids.n, VG_AGENCIES_MAX);
        return VGT_EXIT_USAGE;
    }
    return VGT_EXIT_OK;
}

static s_deadline *
s_deadline_slot(s_init *in, const char *key)
{
    for (size_t i = 0; i < in->n_deadlines; i++) {
        if (strcmp(in->deadlines[i].key, key) == 0) {
            return &in->deadlines[i];
        }
    }
    if (in->n_deadlines == S_DEADLINES_MAX) {
        return NULL;
    }
    s_deadline *d = &in->deadlines[in->n_deadlines++];
    snprintf(d->key, sizeof d->key, "%s", key);
    d->ms = 0;
    d->from_user = false;
    return d;
}

/* Turns "high" or "high/immediate" into its canonical key, or explains. */
static int
s_deadline_key(char *out, size_t out_len, char *spec)
{
    vg_reason why = {{0}};
    char *slash = strchr(spec, '/');
    if (slash != NULL) {
        *slash = '\0';
    }
    vg_severity sev = VG_SEV_UNSPECIFIED;
    if (vg_severity_parse(&sev, spec, &why) != VG_OK || sev == VG_SEV_UNSPECIFIED) {
        vgt_error(&s_who, "--deadline: '%s' is not a severity: use critical, high, medium or low",
                  spec);
        return VGT_EXIT_USAGE;
    }
    if (slash == NULL) {
        snprintf(out, out_len, "%s", vg_severity_name(sev));
        return VGT_EXIT_OK;
    }
    vg_urgency urg = VG_URG_UNSPECIFIED;
    if (vg_urgency_parse(&urg, slash + 1, &why) != VG_OK || urg == VG_URG_UNSPECIFIED) {
        vgt_error(&s_who,
                  "--deadline: '%s' is not an urgency: use immediate, expected, future, past "
                  "or unknown",
                  slash + 1);
        return VGT_EXIT_USAGE;
    }
    snprintf(out, out_len, "%s/%s", vg_severity_name(sev), vg_urgency_name(urg));
    return VGT_EXIT_OK;
}

static int
s_parse_deadline_item(s_init *in, char *item)
{
    vg_reason why = {{0}};
    char *eq = strchr(item, '=');
    if (eq == NULL) {
        vgt_error(&s_who, "--deadline: '%s' should be SEVERITY=DURATION, e.g. high=5s", item);
        return VGT_EXIT_USAGE;
    }
    *eq = '\0';
    uint64_t ms = 0;
    if (vg_duration_parse(&ms, eq + 1, &why) != VG_OK) {
        vgt_error(&s_who, "--deadline %s: %s", item, why.text);
        return VGT_EXIT_USAGE;
    }
    if (ms == 0) {
        vgt_error(&s_who, "--deadline %s: a deadline must be longer than 0 (e.g. 5s)", item);
        return VGT_EXIT_USAGE;
    }
    char key[S_DEADLINE_KEY_MAX];
    int rc = s_deadline_key(key, sizeof key, item);
    if (rc != VGT_EXIT_OK) {
        return rc;
    }
    s_deadline *d = s_deadline_slot(in, key);
    if (d == NULL || d->from_user) {
        vgt_error(&s_who, "--deadline: %s is given twice; give each deadline once", key);
        return VGT_EXIT_USAGE;
    }
    d->ms = ms;
    d->from_user = true;
    return VGT_EXIT_OK;
}

static int
s_parse_deadlines(s_init *in)
{
    static const struct {
        const char *key; /* severity */
        uint64_t ms;     /* DESIGN.md's default */
    } defaults[] = {
        {"critical", 15ull * 60 * 1000},
        {"high", 60ull * 60 * 1000},
        {"medium", 24ull * 60 * 60 * 1000},
        {"low", 72ull * 60 * 60 * 1000},
    };
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        s_deadline *d = s_deadline_slot(in, defaults[i].key);
        d->ms = defaults[i].ms;
    }
    if (in->opts.deadlines == NULL) {
        return VGT_EXIT_OK;
    }
    vg_strlist items = {0};
    vg_reason why = {{0}};
    if (vg_strlist_split(&items, in->opts.deadlines, &why) != VG_OK) {
        vg_strlist_fini(&items); /* split may have added items before it failed */
        vgt_error(&s_who, "--deadline '%s': %s", in->opts.deadlines, why.text);
        return VGT_EXIT_USAGE;
    }
    int rc = VGT_EXIT_OK;
    for (size_t i = 0; i < items.n && rc == VGT_EXIT_OK; i++) {
        rc = s_parse_deadline_item(in, items.items[i]);
    }
    vg_strlist_fini(&items);
    return rc;
}

static bool
s_endpoint_is_valid(const char *ep)
{
    if (strncmp(ep, "tcp://", 6) != 0) {
        return false;
    }
    const char *host = ep + 6;
    const char *colon = strrchr(host, ':');
    if (colon == NULL || colon == host || colon[1] == '\0') {
        return false;
    }
    char *end = NULL;
    unsigned long port = strtoul(colon + 1, &end, 10);
    return *end == '\0' && port >= 1 && port <= 65535;
}

static bool
s_network_name_is_valid(const char *name)
{
    size_t len = strlen(name);
    if (len < 1 || len > 63) {
        return false;
    }
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

/* --endpoint A[,B...]: each tcp://HOST:PORT; the first is the broker's bind. */
static bool
s_parse_endpoints(s_init *in)
{
    vg_strlist items = {0};
    bool ok = vg_strlist_split(&items, in->opts.endpoint, NULL) == VG_OK && items.n > 0;
    if (!ok) {
        vgt_error(&s_who, "--endpoint '%s': give tcp://HOST:PORT, or several separated by commas",
                  in->opts.endpoint);
    }
    for (size_t i = 0; ok && i < items.n; i++) {
        const char *p = items.items[i];
        if (!s_endpoint_is_valid(p) || strlen(p) >= sizeof in->bind ||
            strlen(in->endpoints) + strlen(p) + 3 > sizeof in->endpoints) {
            vgt_error(&s_who,
                      "--endpoint '%s' is not tcp://HOST:PORT with a port from 1 to 65535, e.g. "
                      "tcp://127.0.0.1:7600 (several: tcp://a:7600,tcp://b:7600)",
                      p);
            ok = false;
            break;
        }
        if (i == 0) {
            snprintf(in->bind, sizeof in->bind, "%.255s", p); /* shorter: checked above */
        }
        size_t len = strlen(in->endpoints);
        snprintf(in->endpoints + len, sizeof in->endpoints - len, "%s%s", i ? ", " : "", p);
    }
    vg_strlist_fini(&items);
    return ok;
}

static int
s_check_target(s_init *in)
{
    if (!s_parse_endpoints(in)) {
        return VGT_EXIT_USAGE;
    }
    if (!s_network_name_is_valid(in->opts.network)) {
        vgt_error(&s_who, "--network '%s': use 1 to 63 of A-Z, a-z, 0-9, '.', '_' and '-'",
                  in->opts.network);
        return VGT_EXIT_USAGE;
    }
    static const char *const existing[] = {CTL_NETWORK_SIGNED, CTL_NETWORK_JSON, CTL_ADMIN_KEY};
    for (size_t i = 0; i < sizeof existing / sizeof existing[0] && !in->opts.force; i++) {
        char *p = ctl_path(in->opts.dir, existing[i]);
        bool found = ctl_exists(p);
        if (found) {
            vgt_error(&s_who,
                      "%s already holds a network (%s exists); nothing was changed. Use "
                      "another DIR, or --force to replace it (new keys for everyone)",
                      in->opts.dir, p);
        }
        free(p);
        if (found) {
            return VGT_EXIT_FAIL;
        }
    }
    return VGT_EXIT_OK;
}

static const char *
s_role_of(const s_init *in, const char *id)
{
    if (in->opts.oversight != NULL && strcmp(id, in->opts.oversight) == 0) {
        return "oversight";
    }
    for (size_t i = 0; i < sizeof s_known / sizeof s_known[0]; i++) {
        if (strcmp(id, s_known[i].id) == 0) {
            return s_known[i].role;
        }
    }
    return id;
}

static const char *
s_name_of(const s_init *in, const char *id)
{
    for (size_t i = 0; i < sizeof s_known / sizeof s_known[0]; i++) {
        if (strcmp(id, s_known[i].id) == 0) {
            return s_known[i].name;
        }
    }
    if (in->opts.oversight != NULL && strcmp(id, in->opts.oversight) == 0) {
        return "Oversight";
    }
    return id;
}

/* The agency told at the CONTACT step: the government agency, else the
 * oversight agency; never the agency itself. NULL when there is none. */
static const char *
s_contact_of(const s_init *in, const char *id)
{
    for (size_t i = 0; i < in->ids.n; i++) {
        const char *other = in->ids.items[i];
        if (strcmp(other, id) != 0 && strcmp(s_role_of(in, other), "government") == 0) {
            return other;
        }
    }
    if (in->opts.oversight != NULL && strcmp(in->opts.oversight, id) != 0) {
        return in->opts.oversight;
    }
    return NULL;
}

static int
s_generate_keys(s_init *in)
{
    in->agency_keys = calloc(in->ids.n, sizeof *in->agency_keys);
    if (in->agency_keys == NULL || vg_keyset_generate(&in->admin, VG_KEY_SIGN) != VG_OK ||
        vg_keyset_generate(&in->broker, VG_KEY_SIGN | VG_KEY_CURVE) != VG_OK) {
        vgt_error(&s_who, "could not generate keys (out of memory?)");
        return VGT_EXIT_FAIL;
    }
    for (size_t i = 0; i < in->ids.n; i++) {
        if (vg_keyset_generate(&in->agency_keys[i], VG_KEY_ALL) != VG_OK) {
            vgt_error(&s_who, "could not generate keys (out of memory?)");
            return VGT_EXIT_FAIL;
        }
    }
    return VGT_EXIT_OK;
}

static json_t *
s_json_hex(const uint8_t *key, size_t len)
{
    char hex[2 * 64 + 1];
    vg_hex_encode(hex, sizeof hex, key, len);
    return json_string(hex);
}

static json_t *
s_json_duration(uint64_t ms)
{
    char text[32];
    if (ms == 0) {
        return json_string("0s");
    }
    vg_duration_format(text, sizeof text, ms);
    return json_string(text);
}

static json_t *
s_json_agencies(const s_init *in)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < in->ids.n; i++) {
        const char *id = in->ids.items[i];
        const vg_keyset *ks = in->agency_keys[i];
        json_t *a = json_object();
        json_object_set_new(a, "id", json_string(id));
        json_object_set_new(a, "role", json_string(s_role_of(in, id)));
        json_object_set_new(a, "name", json_string(s_name_of(in, id)));
        json_object_set_new(a, "sign_key", s_json_hex(vg_keyset_sign_pk(ks), VG_SIGN_PK_LEN));
        json_object_set_new(a, "box_key", s_json_hex(vg_keyset_box_pk(ks), VG_BOX_PK_LEN));
        json_object_set_new(a, "transport_key", json_string(vg_keyset_curve_pk_z85(ks)));
        json_object_set_new(a, "revoked", json_false());
        const char *contact = s_contact_of(in, id);
        if (contact != NULL) {
            json_object_set_new(a, "escalation_contact", json_string(contact));
        }
        json_array_append_new(arr, a);
    }
    return arr;
}

static json_t *
s_json_policy(const s_init *in)
{
    json_t *rules = json_array();
    json_t *reach = json_array();
    for (size_t i = 0; i < sizeof s_taxi_cse_reach / sizeof s_taxi_cse_reach[0]; i++) {
        if (vg_strlist_contains(&in->ids, s_taxi_cse_reach[i])) {
            json_array_append_new(reach, json_string(s_taxi_cse_reach[i]));
        }
    }
    if (json_array_size(reach) == 0) {
        json_decref(reach);
        return rules;
    }
    json_t *rule = json_object();
    json_object_set_new(rule, "name", json_string("taxi-and-cse"));
    json_object_set_new(rule, "categories", json_pack("[ss]", "taxi", "cse"));
    json_object_set_new(rule, "min_severity", json_string("low"));
    json_object_set_new(rule, "must_reach", reach);
    json_object_set_new(rule, "must_reach_roles", json_array());
    json_array_append_new(rules, rule);
    return rules;
}

/* The reference schemes and their normalisation (docs/network.md "Link
 * tags"): licences and registrations in any case and spacing are one. */
static json_t *
s_json_schemes(void)
{
    static const struct {
        const char *name;  /* scheme */
        bool upper;        /* to upper case */
        const char *strip; /* characters removed */
    } schemes[] = {{"taxi-licence", true, " -"},
                   {"vehicle-reg", true, " -"},
                   {"person-ref", true, " "},
                   {"case-ref", true, " "},
                   {"address-uprn", false, " "}};
    json_t *arr = json_array();
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        json_array_append_new(arr,
                              json_pack("{s:s, s:b, s:s}", "name", schemes[i].name, "uppercase",
                                        schemes[i].upper, "strip", schemes[i].strip));
    }
    return arr;
}

static json_t *
s_json_escalation(const s_init *in)
{
    uint64_t shortest = UINT64_MAX;
    for (size_t i = 0; i < in->n_deadlines; i++) {
        shortest = in->deadlines[i].ms < shortest ? in->deadlines[i].ms : shortest;
    }
    uint64_t contact_ms = 2 * shortest < S_CONTACT_AFTER_MS ? 2 * shortest : S_CONTACT_AFTER_MS;
    uint64_t role_ms = 8 * shortest < S_ROLE_AFTER_MS ? 8 * shortest : S_ROLE_AFTER_MS;
    bool any_contact = false;
    for (size_t i = 0; i < in->ids.n; i++) {
        any_contact = any_contact || s_contact_of(in, in->ids.items[i]) != NULL;
    }
    json_t *steps = json_array();
    json_array_append_new(steps, json_pack("{s:s,s:s}", "after", "0s", "target", "redeliver"));
    if (any_contact) {
        json_array_append_new(steps, json_pack("{s:o,s:s}", "after", s_json_duration(contact_ms),
                                               "target", "contact"));
    }
    if (in->opts.oversight != NULL) {
        json_array_append_new(steps, json_pack("{s:o,s:s,s:s}", "after", s_json_duration(role_ms),
                                               "target", "role", "role", "oversight"));
    }
    return steps;
}

/* The network's "limits", written out in full so the administrator sees
 * them: the defaults, with --limits K=V,... over them. NULL (said) when
 * --limits is wrong. */
static json_t *
s_json_limits(const char *spec)
{
    char size[32];
    vg_size_format(size, sizeof size, VG_LIMIT_STORED_BYTES_PER_DAY);
    json_t *l = json_pack("{s:I,s:I,s:s}", "publish_per_minute",
                          (json_int_t)VG_LIMIT_PUBLISH_PER_MINUTE, "publish_burst",
                          (json_int_t)VG_LIMIT_PUBLISH_BURST, "stored_bytes_per_day", size);
    vg_strlist items = {0};
    vg_reason why = {{0}};
    if (spec != NULL && vg_strlist_split(&items, spec, &why) != VG_OK) {
        vgt_error(&s_who, "--limits '%s': %s", spec, why.text);
        json_decref(l);
        return NULL;
    }
    for (size_t i = 0; l != NULL && i < items.n; i++) {
        char *eq = strchr(items.items[i], '=');
        const char *key = items.items[i], *val = eq ? eq + 1 : "";
        if (eq != NULL) {
            *eq = '\0';
        }
        uint64_t n = 0;
        bool is_size = strcmp(key, "stored_bytes_per_day") == 0;
        bool is_rate = strcmp(key, "publish_per_minute") == 0 || strcmp(key, "publish_burst") == 0;
        if (eq == NULL || (!is_size && !is_rate) || vg_size_parse(&n, val, &why) != VG_OK ||
            (is_rate && (strspn(val, "0123456789") != strlen(val) || n == 0 || n > 1000000))) {
            vgt_error(&s_who,
                      "--limits: '%s%s%s' should be publish_per_minute=N, publish_burst=N "
                      "(1 to 1000000) or stored_bytes_per_day=SIZE (e.g. 256MiB)",
                      key, eq ? "=" : "", val);
            json_decref(l);
            l = NULL;
        } else if (is_size) {
            json_object_set_new(l, key, json_string(val));
        } else {
            json_object_set_new(l, key, json_integer((json_int_t)n));
        }
    }
    vg_strlist_fini(&items);
    return l;
}

static int
s_build_document(s_init *in)
{
    json_t *doc = json_object();
    json_t *broker = json_object();
    json_object_set_new(broker, "sign_key",
                        s_json_hex(vg_keyset_sign_pk(in->broker), VG_SIGN_PK_LEN));
    json_object_set_new(broker, "transport_key", json_string(vg_keyset_curve_pk_z85(in->broker)));
    json_t *cats = json_array();
    for (size_t i = 0; i < sizeof s_categories / sizeof s_categories[0]; i++) {
        json_array_append_new(cats, json_string(s_categories[i]));
    }
    json_t *deadlines = json_object();
    for (size_t i = 0; i < in->n_deadlines; i++) {
        json_object_set_new(deadlines, in->deadlines[i].key, s_json_duration(in->deadlines[i].ms));
    }
    json_object_set_new(doc, "network", json_string(in->opts.network));
    json_object_set_new(doc, "version", json_integer(1));
    json_object_set_new(doc, "broker", broker);
    json_object_set_new(doc, "categories", cats);
    json_object_set_new(doc, "agencies", s_json_agencies(in));
    json_object_set_new(doc, "policy", s_json_policy(in));
    json_object_set_new(doc, "deadlines", deadlines);
    json_object_set_new(doc, "escalation", s_json_escalation(in));
    json_t *limits = s_json_limits(in->opts.limits);
    if (limits == NULL) {
        json_decref(doc);
        return VGT_EXIT_USAGE;
    }
    json_object_set_new(doc, "limits", limits);
    json_object_set_new(doc, "reference_schemes", s_json_schemes());
    in->json = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    if (in->json == NULL) {
        vgt_error(&s_who, "out of memory building the network document");
        return VGT_EXIT_FAIL;
    }
    uint8_t *body = NULL;
    size_t body_len = 0;
    vg_reason why = {{0}};
    vg_err err = vg_netdoc_body_from_json(&body, &body_len, in->json, &why);
    in->link_key = sodium_malloc(VG_LINK_KEY_LEN);
    if (err == VG_OK && in->link_key == NULL) {
        err = VG_ERR_NOMEM;
    }
    if (err == VG_OK) { /* the network's first link key (docs/network.md "Link tags") */
        uint8_t *sealed = NULL;
        size_t sealed_len = 0;
        uint32_t id = 1;
        randombytes_buf(in->link_key, VG_LINK_KEY_LEN);
        err =
            vg_netdoc_body_seal_link_keys(&sealed, &sealed_len, body, body_len, &id,
                                          (const uint8_t(*)[VG_LINK_KEY_LEN])in->link_key, 1, &why);
        free(body);
        body = sealed;
        body_len = sealed_len;
    }
    if (err == VG_OK) {
        err = vg_netdoc_sign(&in->signed_doc, &in->signed_len, body, body_len, 1, in->admin, &why);
    }
    free(body);
    if (err != VG_OK) {
        vgt_error(&s_who, "the network document was refused: %s (%s)", why.text, vg_err_code(err));
        return VGT_EXIT_FAIL;
    }
    return VGT_EXIT_OK;
}

/* Creates dir (mode) and reports failures; returns a vg_err for chaining. */
static vg_err
s_mkdir(const char *dir, mode_t mode)
{
    vg_reason why = {{0}};
    vg_err err = vg_mkdir_p(dir, mode, &why);
    if (err != VG_OK) {
        vgt_error(&s_who, "%s", why.text);
    }
    return err;
}

static vg_err
s_write(const char *path, const void *data, size_t len, mode_t mode)
{
    vg_reason why = {{0}};
    vg_err err = vg_file_write_atomic(path, data, len, mode, &why);
    if (err != VG_OK) {
        vgt_error(&s_who, "%s", why.text);
    }
    return err;
}

static vg_err
s_save_keys(const vg_keyset *ks, const char *path)
{
    vg_reason why = {{0}};
    vg_err err = vg_keyset_save(ks, path, &why);
    if (err != VG_OK) {
        vgt_error(&s_who, "%s", why.text);
    }
    return err;
}

/* A component's copy of network.signed: a hard link to DIR/network's, which
 * was written (and synced) first (ctl_link_document): a national network has
 * thousands of agency folders and a document of hundreds of KiB. */
static vg_err
s_write_doc(const s_init *in, const char *doc_path)
{
    vg_reason why = {{0}};
    char *src = ctl_path(in->opts.dir, CTL_NETWORK_SIGNED);
    vg_err err = ctl_link_document(src, doc_path, in->signed_doc, in->signed_len, &why);
    free(src);
    if (err != VG_OK) {
        vgt_error(&s_who, "%s", why.text);
    }
    return err;
}

/* Writes one component folder: DIR/<sub>/{conf_name, key_name, network.signed,
 * store/}. */
static vg_err
s_write_component(const s_init *in, const char *sub, const char *conf_name, const char *conf,
                  const char *key_name, const vg_keyset *ks)
{
    char *dir = ctl_path(in->opts.dir, sub);
    char *store = ctl_path(dir, "store");
    char *conf_path = ctl_path(dir, conf_name);
    char *key_path = ctl_path(dir, key_name);
    char *doc_path = ctl_path(dir, "network.signed");
    vg_err err = s_mkdir(dir, 0755);
    if (err == VG_OK) {
        err = s_mkdir(store, 0700);
    }
    if (err == VG_OK) {
        err = s_save_keys(ks, key_path);
    }
    if (err == VG_OK) {
        err = s_write_doc(in, doc_path);
    }
    if (err == VG_OK) {
        err = s_write(conf_path, conf, strlen(conf), 0644);
    }
    free(dir);
    free(store);
    free(conf_path);
    free(key_path);
    free(doc_path);
    return err;
}

static vg_err
s_write_broker(const s_init *in, const char *admin_hex)
{
    char conf[S_CONF_MAX];
    snprintf(conf, sizeof conf,
             "; vigil broker, written by vigilctl init. Paths are relative to this file.\n"
             "[broker]\n"
             "bind = %s\n"
             "keys = broker.key\n"
             "store = store\n"
             "log_level = info\n"
             "max_clock_skew = 5m\n"
             "\n"
             "[network]\n"
             "document = network.signed\n"
             "; the network admin's Ed25519 public key: documents it did not sign are refused\n"
             "admin_key = %s\n",
             in->bind, admin_hex);
    return s_write_component(in, "broker", "broker.conf", conf, "broker.key", in->broker);
}

/* The port of agency i's gateway: the broker's port + 101 + i (7701, 7702,
 * ... for the default endpoint), so every agency of a local network gets its
 * own; 0 (any free port) when that does not fit. */
static int
s_gateway_port(const char *endpoint, size_t i)
{
    const char *colon = strrchr(endpoint, ':');
    long port = colon != NULL ? strtol(colon + 1, NULL, 10) : 0;
    long gw = port > 0 ? port + 101 + (long)i : 0;
    return gw > 0 && gw <= 65535 ? (int)gw : 0;
}

static vg_err
s_write_agent(const s_init *in, size_t i, const char *admin_hex)
{
    const char *id = in->ids.items[i];
    char conf[S_CONF_MAX];
    snprintf(conf, sizeof conf,
             "; vigil agent for agency '%s', written by vigilctl init.\n"
             "; Paths are relative to this file.\n"
             "[agent]\n"
             "id = %s\n"
             "keys = agency.key\n"
             "store = store\n"
             "log_level = info\n"
             "\n"
             "[network]\n"
             "document = network.signed\n"
             "; the network admin's Ed25519 public key: documents it did not sign are refused\n"
             "admin_key = %s\n"
             "\n"
             "[broker]\n"
             "endpoint = %s\n"
             "; the broker's CurveZMQ public key\n"
             "public_key = %s\n"
             "\n"
             "[gateway]\n"
             "; vigil-gateway, this agency's HTTP API (docs/gateway.md lists every key)\n"
             "listen = 127.0.0.1:%d\n",
             id, id, admin_hex, in->endpoints, vg_keyset_curve_pk_z85(in->broker),
             s_gateway_port(in->bind, i));
    char sub[sizeof CTL_AGENTS_DIR + 64];
    snprintf(sub, sizeof sub, "%s/%s", CTL_AGENTS_DIR, id);
    return s_write_component(in, sub, "agent.conf", conf, "agency.key", in->agency_keys[i]);
}

static vg_err
s_write_all(const s_init *in)
{
    char admin_hex[2 * VG_SIGN_PK_LEN + 1];
    vg_hex_encode(admin_hex, sizeof admin_hex, vg_keyset_sign_pk(in->admin), VG_SIGN_PK_LEN);
    char *admin_dir = ctl_path(in->opts.dir, "admin");
    char *net_dir = ctl_path(in->opts.dir, "network");
    char *admin_key = ctl_path(in->opts.dir, CTL_ADMIN_KEY);
    char *json_path = ctl_path(in->opts.dir, CTL_NETWORK_JSON);
    char *signed_path = ctl_path(in->opts.dir, CTL_NETWORK_SIGNED);
    vg_err err = s_mkdir(in->opts.dir, 0755);
    if (err == VG_OK) {
        err = s_mkdir(admin_dir, 0700);
    }
    if (err == VG_OK) {
        err = s_mkdir(net_dir, 0755);
    }
    if (err == VG_OK) {
        err = s_save_keys(in->admin, admin_key);
    }
    if (err == VG_OK) {
        uint32_t id = 1;
        vg_reason why = {{0}};
        char *link_path = ctl_path(in->opts.dir, CTL_LINK_KEYS);
        err = vg_linkkeys_save(&id, (const uint8_t(*)[VG_LINK_KEY_LEN])in->link_key, 1, link_path,
                               &why);
        if (err != VG_OK) {
            vgt_error(&s_who, "%s", why.text);
        }
        free(link_path);
    }
    if (err == VG_OK) {
        err = s_write(json_path, in->json, strlen(in->json), 0644);
    }
    if (err == VG_OK) {
        err = s_write(signed_path, in->signed_doc, in->signed_len, 0644);
    }
    if (err == VG_OK) {
        err = s_write_broker(in, admin_hex);
    }
    for (size_t i = 0; err == VG_OK && i < in->ids.n; i++) {
        err = s_write_agent(in, i, admin_hex);
    }
    free(admin_dir);
    free(net_dir);
    free(admin_key);
    free(json_path);
    free(signed_path);
    return err;
}

static void
s_print_summary(const s_init *in)
{
    const char *d = in->opts.dir;
    printf("created network '%s' (version 1) in %s\n", in->opts.network, d);
    printf("  admin key   %s/%s  (signs the network document: keep it offline)\n", d,
           CTL_ADMIN_KEY);
    printf("  document    %s/%s  (source: %s/%s)\n", d, CTL_NETWORK_SIGNED, d, CTL_NETWORK_JSON);
    printf("  broker      %s/%s  (binds %s)\n", d, CTL_BROKER_CONF, in->bind);
    if (strcmp(in->bind, in->endpoints) != 0) {
        printf("  agents follow the leader among %s (docs/ha.md)\n", in->endpoints);
    }
    for (size_t i = 0; i < in->ids.n; i++) {
        const char *id = in->ids.items[i];
        printf("  agency      %s/%s/%s/%s  (%s, role %s)\n", d, CTL_AGENTS_DIR, id, CTL_AGENT_CONF,
               id, s_role_of(in, id));
    }
    printf("  deadlines  ");
    for (size_t i = 0; i < in->n_deadlines; i++) {
        char text[32];
        vg_duration_format(text, sizeof text, in->deadlines[i].ms);
        printf(" %s=%s", in->deadlines[i].key, text);
    }
    printf("\nnext: vigilctl check %s\n", d);
}

static void
s_fini(s_init *in)
{
    for (size_t i = 0; in->agency_keys != NULL && i < in->ids.n; i++) {
        vg_keyset_destroy(&in->agency_keys[i]);
    }
    free(in->agency_keys);
    vg_keyset_destroy(&in->admin);
    vg_keyset_destroy(&in->broker);
    vg_strlist_fini(&in->ids);
    free(in->json);
    free(in->signed_doc);
    sodium_free(in->link_key);
}

int
ctl_cmd_init(int argc, char **argv)
{
    s_init in;
    memset(&in, 0, sizeof in);
    int rc = s_parse_args(&in.opts, argc, argv);
    if (rc == VGT_HELP_SHOWN) {
        return VGT_EXIT_OK;
    }
    if (rc == VGT_EXIT_OK) {
        rc = s_parse_agencies(&in);
    }
    if (rc == VGT_EXIT_OK) {
        rc = s_parse_deadlines(&in);
    }
    if (rc == VGT_EXIT_OK) {
        rc = s_check_target(&in);
    }
    if (rc == VGT_EXIT_OK) {
        rc = s_generate_keys(&in);
    }
    if (rc == VGT_EXIT_OK) {
        rc = s_build_document(&in);
    }
    if (rc == VGT_EXIT_OK) {
        rc = s_write_all(&in) == VG_OK ? VGT_EXIT_OK : VGT_EXIT_FAIL;
    }
    if (rc == VGT_EXIT_OK) {
        s_print_summary(&in);
    }
    s_fini(&in);
    return rc;
}
