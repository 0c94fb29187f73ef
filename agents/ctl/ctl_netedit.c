/*
 * ctl_netedit.c — vigilctl network add | rotate | compromise | revoke |
 * broker-rotate: the edits a running network needs when agencies join,
 * rotate or lose keys, or leave (docs/vigilctl.md, docs/network.md "Keys
 * that rotate, leak or are revoked").
 *
 * Each one edits the network document's JSON (DIR/network/network.json, or
 * --json FILE) the way an administrator would by hand, has the library
 * check the result (vg_netdoc_body_from_json) and writes it atomically only
 * when it would be accepted; `vigilctl network sign` then puts it in force
 * and `vigilctl network push` hands it to the running broker. Nothing here
 * sees a secret key: cards and transition notes are public.
 *
 * Times written are wall-clock UTC milliseconds; "now" is when the edit is
 * made, which is when the administrator decided.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "vigil/clock.h"
#include "vigil/transition.h"
#include "vigil/util.h"

#define S_DEFAULT_OVERLAP "24h"
#define S_CARD_MAX_BYTES 65536

static const char s_help[] =
    "usage: vigilctl network add CARD (--dir DIR | --json NETWORK_JSON) [--role ROLE]\n"
    "                            [--name NAME] [--contact ID]\n"
    "       vigilctl network rotate CARD (--dir DIR | --json NETWORK_JSON)\n"
    "                            [--overlap DUR | --until TIME]\n"
    "       vigilctl network compromise AGENCY (--dir DIR | --json NETWORK_JSON)\n"
    "                            [--keys sign,transport | --key PUBLIC_KEY] [--since TIME]\n"
    "       vigilctl network revoke AGENCY (--dir DIR | --json NETWORK_JSON)\n"
    "                            [--successor ID]\n"
    "       vigilctl network broker-rotate (--dir DIR | --json NETWORK_JSON)\n"
    "                            [--transition NOTE] [--transport-key Z85]\n"
    "                            [--overlap DUR | --until TIME]\n"
    "\n"
    "Edit the network document (JSON) for a running network. Each edit is checked\n"
    "by the library and written only when the document would be accepted; then\n"
    "'vigilctl network sign' puts it in force and 'vigilctl network push' hands it\n"
    "to the running broker.\n"
    "\n"
    "  add CARD        a new agency joins: CARD is the card 'vigilctl init-agency'\n"
    "                  printed on its machine (a file, or - for stdin)\n"
    "  rotate CARD     an agency's new keys: CARD is what 'vigil-agent keys rotate'\n"
    "                  printed; the keys it replaces move to previous_keys, trusted\n"
    "                  until the overlap ends (default: 24h from now)\n"
    "  compromise AGENCY\n"
    "                  distrust keys from --since (default now): signatures on\n"
    "                  anything created from then on are refused, a transport key\n"
    "                  cannot connect; --keys names the agency's current keys (default\n"
    "                  sign,transport; a current box key is rotated, not marked), --key\n"
    "                  one key of the card, current or previous (hex or Z85)\n"
    "  revoke AGENCY   the agency's keys are refused at once; --successor names the\n"
    "                  agency that inherits the alerts it had not acknowledged\n"
    "  broker-rotate   the broker's new keys: --transition NOTE is the key-transition\n"
    "                  note its old signing key signed (docs/audit.md); --transport-key\n"
    "                  its new CurveZMQ key; the old keys move to previous_broker_keys\n"
    "\n"
    "  --dir DIR            edit DIR/network/network.json (a 'vigilctl init' folder)\n"
    "  --json NETWORK_JSON  edit this network.json\n"
    "  --overlap DUR        how long the replaced keys stay trusted (e.g. 24h, 7d)\n"
    "  --until TIME         or until when (RFC 3339, e.g. 2026-12-01T18:00:00Z)\n"
    "  --since TIME         compromise: from when (RFC 3339, or 'now')\n"
    "  -n, --dry-run        check and say what would change; write nothing\n"
    "  -h, --help           this help\n"
    "\n"
    "exit status: 0 written (or nothing to change); 1 refused or failed, nothing\n"
    "written; 2 bad command line.\n";

/* Which options a subcommand takes. */
enum {
    S_OPT_CARD = 1u << 0,    /* the operand is a card file */
    S_OPT_AGENCY = 1u << 1,  /* the operand is an agency id */
    S_OPT_ROLE = 1u << 2,    /* --role, --name, --contact */
    S_OPT_OVERLAP = 1u << 3, /* --overlap, --until */
    S_OPT_KEYS = 1u << 4,    /* --keys, --key, --since */
    S_OPT_SUCCESSOR = 1u << 5,
    S_OPT_BROKER = 1u << 6, /* --transition, --transport-key */
};

typedef struct s_edit {
    const char *sub;           /* the subcommand */
    vgt_who who;               /* "network <sub>" */
    char who_text[32];         /* backs who.command */
    unsigned allowed;          /* S_OPT_* */
    unsigned given;            /* S_OPT_* seen */
    const char *dir;           /* --dir */
    char *json_path;           /* the document edited */
    const char *operand;       /* CARD or AGENCY */
    const char *role;          /* --role */
    const char *name;          /* --name */
    const char *contact;       /* --contact */
    const char *overlap;       /* --overlap */
    const char *until;         /* --until */
    const char *since;         /* --since */
    const char *keys;          /* --keys */
    const char *key;           /* --key */
    const char *successor;     /* --successor */
    const char *transition;    /* --transition */
    const char *transport_key; /* --transport-key */
    bool dry_run;              /* -n */
    int64_t now_ms;            /* the edit's time */
} s_edit;

static const struct {
    const char *name; /* subcommand */
    unsigned allowed; /* S_OPT_* */
} s_subs[] = {
    {"add", S_OPT_CARD | S_OPT_ROLE},
    {"rotate", S_OPT_CARD | S_OPT_OVERLAP},
    {"compromise", S_OPT_AGENCY | S_OPT_KEYS},
    {"revoke", S_OPT_AGENCY | S_OPT_SUCCESSOR},
    {"broker-rotate", S_OPT_OVERLAP | S_OPT_BROKER},
};

bool
ctl_is_network_edit(const char *sub)
{
    for (size_t i = 0; i < sizeof s_subs / sizeof s_subs[0]; i++) {
        if (strcmp(sub, s_subs[i].name) == 0) {
            return true;
        }
    }
    return false;
}

/* Notes an option of group `opt` and its value. */
static void
s_take(s_edit *e, unsigned opt, const char **slot)
{
    e->given |= opt;
    *slot = optarg;
}

static int
s_parse_args(s_edit *e, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"json", required_argument, NULL, 'j'},
        {"role", required_argument, NULL, 'r'},
        {"name", required_argument, NULL, 'N'},
        {"contact", required_argument, NULL, 'C'},
        {"overlap", required_argument, NULL, 'o'},
        {"until", required_argument, NULL, 'u'},
        {"since", required_argument, NULL, 's'},
        {"keys", required_argument, NULL, 'k'},
        {"key", required_argument, NULL, 'K'},
        {"successor", required_argument, NULL, 'S'},
        {"transition", required_argument, NULL, 't'},
        {"transport-key", required_argument, NULL, 'T'},
        {"dry-run", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *json = NULL;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":nh", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            e->dir = optarg;
            break;
        case 'j':
            json = optarg;
            break;
        case 'r':
            s_take(e, S_OPT_ROLE, &e->role);
            break;
        case 'N':
            s_take(e, S_OPT_ROLE, &e->name);
            break;
        case 'C':
            s_take(e, S_OPT_ROLE, &e->contact);
            break;
        case 'o':
            s_take(e, S_OPT_OVERLAP, &e->overlap);
            break;
        case 'u':
            s_take(e, S_OPT_OVERLAP, &e->until);
            break;
        case 's':
            s_take(e, S_OPT_KEYS, &e->since);
            break;
        case 'k':
            s_take(e, S_OPT_KEYS, &e->keys);
            break;
        case 'K':
            s_take(e, S_OPT_KEYS, &e->key);
            break;
        case 'S':
            s_take(e, S_OPT_SUCCESSOR, &e->successor);
            break;
        case 't':
            s_take(e, S_OPT_BROKER, &e->transition);
            break;
        case 'T':
            s_take(e, S_OPT_BROKER, &e->transport_key);
            break;
        case 'n':
            e->dry_run = true;
            break;
        case 'h':
            fputs(s_help, stdout);
            return VGT_HELP_SHOWN;
        default:
            return vgt_bad_option(&e->who, c, argv);
        }
    }
    bool wants_operand = (e->allowed & (S_OPT_CARD | S_OPT_AGENCY)) != 0;
    if (wants_operand && optind < argc) {
        e->operand = argv[optind++];
    }
    if (optind < argc) {
        return vgt_unexpected_argument(&e->who, argv[optind], NULL);
    }
    if (wants_operand && e->operand == NULL) {
        return vgt_usage_error(&e->who, "say which %s: vigilctl network %s %s ...",
                               (e->allowed & S_OPT_CARD) ? "card" : "agency", e->sub,
                               (e->allowed & S_OPT_CARD) ? "CARD" : "AGENCY");
    }
    if ((e->given & ~e->allowed) != 0) {
        return vgt_usage_error(&e->who, "an option given does not go with 'network %s'", e->sub);
    }
    if ((e->dir == NULL) == (json == NULL)) {
        return vgt_usage_error(&e->who, "give exactly one of --dir DIR and --json NETWORK_JSON");
    }
    if (e->overlap != NULL && e->until != NULL) {
        return vgt_usage_error(&e->who, "give --overlap or --until, not both");
    }
    if (e->keys != NULL && e->key != NULL) {
        return vgt_usage_error(&e->who, "give --keys or --key, not both");
    }
    e->json_path = json != NULL ? vg_strdup(json) : ctl_path(e->dir, CTL_NETWORK_JSON);
    return e->json_path != NULL ? VGT_EXIT_OK : VGT_EXIT_FAIL;
}

/* ---- shared pieces ---------------------------------------------------------------- */

static json_t *
s_load_json(const s_edit *e, const char *path, const char *what, size_t max)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    if (strcmp(path, "-") == 0) {
        json_error_t jerr;
        json_t *v = json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr);
        if (v == NULL) {
            vgt_error(&e->who, "stdin is not %s: %d:%d: %s", what, jerr.line, jerr.column,
                      jerr.text);
        }
        return v;
    }
    if (vg_file_read(&bytes, &len, path, max, &why) != VG_OK) {
        vgt_error(&e->who, "%s", why.text);
        return NULL;
    }
    json_error_t jerr;
    json_t *v = json_loadb((const char *)bytes, len, JSON_REJECT_DUPLICATES, &jerr);
    free(bytes);
    if (v == NULL || !json_is_object(v)) {
        vgt_error(&e->who, "%s is not %s%s%s", path, what, v ? "" : ": ", v ? "" : jerr.text);
        json_decref(v);
        return NULL;
    }
    return v;
}

/* The card of agency id in the document, or NULL. */
static json_t *
s_card_of(json_t *doc, const char *id)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(doc, "agencies"), i, a)
    {
        json_t *v = json_object_get(a, "id");
        if (json_is_string(v) && strcmp(json_string_value(v), id) == 0) {
            return a;
        }
    }
    return NULL;
}

static json_t *
s_agency_or_fail(const s_edit *e, json_t *doc, const char *id)
{
    json_t *a = s_card_of(doc, id);
    if (a == NULL) {
        vgt_error(&e->who, "%s has no agency '%s'", e->json_path, id);
    }
    return a;
}

/* The end of the overlap: --until, else now + --overlap (default 24h). */
static int
s_overlap_end(const s_edit *e, int64_t *out)
{
    vg_reason why = {{0}};
    if (e->until != NULL) {
        if (vg_time_parse(out, e->until, VG_TIME_TIMESTAMP, &why) != VG_OK) {
            return vgt_usage_error(&e->who, "--until: %s", why.text);
        }
        if (*out < e->now_ms) {
            return vgt_usage_error(&e->who, "--until is in the past: the old keys would be "
                                            "refused at once (use 'network compromise' for that)");
        }
        return VGT_EXIT_OK;
    }
    uint64_t ms = 0;
    if (vg_duration_parse(&ms, e->overlap ? e->overlap : S_DEFAULT_OVERLAP, &why) != VG_OK) {
        return vgt_usage_error(&e->who, "--overlap: %s", why.text);
    }
    *out = e->now_ms + (int64_t)ms;
    return VGT_EXIT_OK;
}

static const char *
s_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Checks the edited document with the library, then writes it. */
static int
s_check_and_write(const s_edit *e, json_t *doc, const char *what)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        vgt_error(&e->who, "out of memory");
        return VGT_EXIT_FAIL;
    }
    uint8_t *body = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    vg_err err = vg_netdoc_body_from_json(&body, &len, text, &why);
    free(body);
    if (err != VG_OK) {
        vgt_error(&e->who, "the edited document would be refused, nothing written: %s (%s)",
                  why.text, vg_err_code(err));
        free(text);
        return VGT_EXIT_FAIL;
    }
    size_t n = strlen(text);
    char *out = realloc(text, n + 2);
    if (out == NULL) {
        free(text);
        vgt_error(&e->who, "out of memory");
        return VGT_EXIT_FAIL;
    }
    memcpy(out + n, "\n", 2);
    if (!e->dry_run) {
        err = vg_file_write_atomic(e->json_path, out, n + 1, 0644, &why);
    }
    free(out);
    if (err != VG_OK) {
        vgt_error(&e->who, "%s", why.text);
        return VGT_EXIT_FAIL;
    }
    printf("%s\n", what);
    if (e->dry_run) {
        printf("dry run: %s not written\n", e->json_path);
    } else if (e->dir != NULL) {
        printf("wrote %s; put it in force: vigilctl network sign --dir %s, then vigilctl network "
               "push -c BROKER_CONF\n",
               e->json_path, e->dir);
    } else {
        printf("wrote %s; put it in force: vigilctl network sign --in %s --key ADMINKEY --out "
               "SIGNED, then vigilctl network push -c BROKER_CONF SIGNED\n",
               e->json_path, e->json_path);
    }
    return VGT_EXIT_OK;
}

/* ---- add ------------------------------------------------------------------------------ */

static const char *const s_key_names[] = {"sign_key", "box_key", "transport_key"};

/* A card file: an object with an id and the three keys (checked for form
 * by the library when the document is). */
static json_t *
s_load_card(const s_edit *e)
{
    json_t *card = s_load_json(e, e->operand, "an agency card (JSON)", S_CARD_MAX_BYTES);
    if (card == NULL) {
        return NULL;
    }
    const char *missing = s_str(card, "id") == NULL ? "id" : NULL;
    for (size_t i = 0; missing == NULL && i < 3; i++) {
        missing = s_str(card, s_key_names[i]) == NULL ? s_key_names[i] : NULL;
    }
    if (missing != NULL) {
        vgt_error(&e->who,
                  "%s is not an agency card: it has no \"%s\" (a card is what 'vigilctl "
                  "init-agency' or 'vigil-agent keys rotate' printed)",
                  e->operand, missing);
        json_decref(card);
        return NULL;
    }
    return card;
}

static int
s_add(s_edit *e, json_t *doc)
{
    json_t *card = s_load_card(e);
    if (card == NULL) {
        return VGT_EXIT_FAIL;
    }
    const char *id = s_str(card, "id");
    int rc = VGT_EXIT_OK;
    if (s_card_of(doc, id) != NULL) {
        vgt_error(&e->who,
                  "%s already has an agency '%s': for its new keys use 'vigilctl network rotate'",
                  e->json_path, id);
        rc = VGT_EXIT_FAIL;
    }
    json_t *agencies = json_object_get(doc, "agencies");
    if (rc == VGT_EXIT_OK && !json_is_array(agencies)) {
        vgt_error(&e->who, "%s has no \"agencies\" list", e->json_path);
        rc = VGT_EXIT_FAIL;
    }
    char what[160];
    if (rc == VGT_EXIT_OK) {
        const char *role = e->role ? e->role : s_str(card, "role");
        const char *name = e->name ? e->name : s_str(card, "name");
        json_t *a = json_object();
        json_object_set_new(a, "id", json_string(id));
        json_object_set_new(a, "role", json_string(role ? role : ctl_default_role(id)));
        json_object_set_new(a, "name", json_string(name ? name : ctl_default_name(id)));
        for (size_t i = 0; i < 3; i++) {
            json_object_set(a, s_key_names[i], json_object_get(card, s_key_names[i]));
        }
        json_object_set_new(a, "revoked", json_false());
        if (e->contact != NULL) {
            json_object_set_new(a, "escalation_contact", json_string(e->contact));
        }
        json_array_append_new(agencies, a);
        snprintf(what, sizeof what, "added agency %s (role %s)", id,
                 json_string_value(json_object_get(a, "role")));
        rc = s_check_and_write(e, doc, what);
    }
    json_decref(card);
    return rc;
}

/* ---- rotate ---------------------------------------------------------------------------- */

/* Moves the card's keys that the new card replaces into a previous set,
 * with the compromise times they carried. Returns how many changed. */
static size_t
s_move_to_previous(json_t *a, json_t *card, int64_t now_ms, int64_t until_ms)
{
    json_t *prev = json_object();
    json_t *comp = json_object_get(a, "compromised_at");
    json_t *prev_comp = json_object();
    size_t changed = 0;
    for (size_t i = 0; i < 3; i++) {
        json_t *old = json_object_get(a, s_key_names[i]);
        json_t *new = json_object_get(card, s_key_names[i]);
        if (json_equal(old, new)) {
            continue;
        }
        changed++;
        json_object_set(prev, s_key_names[i], old);
        json_object_set(a, s_key_names[i], new);
        json_t *t = comp ? json_object_get(comp, s_key_names[i]) : NULL;
        if (t != NULL) {
            json_object_set(prev_comp, s_key_names[i], t);
            json_object_del(comp, s_key_names[i]); /* the new key is not compromised */
        }
    }
    if (comp != NULL && json_object_size(comp) == 0) {
        json_object_del(a, "compromised_at");
    }
    json_object_set_new(prev, "rotated", json_integer(now_ms));
    json_object_set_new(prev, "valid_until", json_integer(until_ms));
    if (json_object_size(prev_comp) > 0) {
        json_object_set(prev, "compromised_at", prev_comp);
    }
    json_decref(prev_comp);
    if (changed > 0) {
        json_t *list = json_object_get(a, "previous_keys");
        if (!json_is_array(list)) {
            list = json_array();
            json_object_set_new(a, "previous_keys", list);
        }
        json_array_append(list, prev);
    }
    json_decref(prev);
    return changed;
}

static int
s_rotate(s_edit *e, json_t *doc)
{
    int64_t until = 0;
    int rc = s_overlap_end(e, &until);
    json_t *card = rc == VGT_EXIT_OK ? s_load_card(e) : NULL;
    if (card == NULL) {
        return rc != VGT_EXIT_OK ? rc : VGT_EXIT_FAIL;
    }
    json_t *a = s_agency_or_fail(e, doc, s_str(card, "id"));
    if (a == NULL) {
        json_decref(card);
        return VGT_EXIT_FAIL;
    }
    size_t changed = s_move_to_previous(a, card, e->now_ms, until);
    if (changed == 0) {
        printf("the card's keys are already %s's current keys: nothing to change\n",
               s_str(card, "id"));
        json_decref(card);
        return VGT_EXIT_OK;
    }
    char what[256], t[VG_TIME_STR_LEN];
    vg_time_format(t, sizeof t, until);
    snprintf(what, sizeof what,
             "rotated %zu key%s of %s: the replaced ones stay trusted until %s (for what they "
             "signed before then, and to connect)",
             changed, changed == 1 ? "" : "s", s_str(card, "id"), t);
    rc = s_check_and_write(e, doc, what);
    json_decref(card);
    return rc;
}

/* ---- compromise ------------------------------------------------------------------------- */

/* The since time: --since (RFC 3339 or "now"), else now. */
static int
s_since(const s_edit *e, int64_t *out)
{
    vg_reason why = {{0}};
    *out = e->now_ms;
    if (e->since != NULL && strcmp(e->since, "now") != 0 &&
        vg_time_parse(out, e->since, VG_TIME_TIMESTAMP, &why) != VG_OK) {
        return vgt_usage_error(&e->who, "--since: %s", why.text);
    }
    return VGT_EXIT_OK;
}

/* Sets compromised_at.<key> = t on obj (a card or a previous set), keeping
 * an earlier time already there. */
static void
s_mark(json_t *obj, const char *key, int64_t t)
{
    json_t *comp = json_object_get(obj, "compromised_at");
    if (!json_is_object(comp)) {
        comp = json_object();
        json_object_set_new(obj, "compromised_at", comp);
    }
    json_t *have = json_object_get(comp, key);
    if (!json_is_integer(have) || json_integer_value(have) > t) {
        json_object_set_new(comp, key, json_integer(t));
    }
}

/* --key PUB: the set (the card or one of its previous sets) listing it. */
static json_t *
s_find_key(json_t *a, const char *pub, const char **key_name)
{
    for (size_t i = 0; i < 3; i++) {
        const char *v = s_str(a, s_key_names[i]);
        if (v != NULL && strcmp(v, pub) == 0) {
            *key_name = s_key_names[i];
            return a;
        }
    }
    size_t j;
    json_t *p;
    json_array_foreach(json_object_get(a, "previous_keys"), j, p)
    {
        for (size_t i = 0; i < 3; i++) {
            const char *v = s_str(p, s_key_names[i]);
            if (v != NULL && strcmp(v, pub) == 0) {
                *key_name = s_key_names[i];
                return p;
            }
        }
    }
    return NULL;
}

static int
s_compromise_key(s_edit *e, json_t *a, int64_t since, char *what, size_t what_len)
{
    const char *key_name = NULL;
    json_t *set = s_find_key(a, e->key, &key_name);
    if (set == NULL) {
        vgt_error(&e->who, "agency %s has no key %s, current or previous", e->operand, e->key);
        return VGT_EXIT_FAIL;
    }
    if (set == a && strcmp(key_name, "box_key") == 0) {
        vgt_error(&e->who,
                  "%s's current box key cannot be marked: nothing may be sealed to it. Rotate it "
                  "(the agency runs 'vigil-agent keys rotate', you 'vigilctl network rotate "
                  "CARD'), then mark the old one, or revoke the agency",
                  e->operand);
        return VGT_EXIT_FAIL;
    }
    s_mark(set, key_name, since);
    char t[VG_TIME_STR_LEN];
    vg_time_format(t, sizeof t, since);
    snprintf(what, what_len, "marked %s's %s %s compromised since %s", e->operand,
             set == a ? "current" : "previous", key_name, t);
    return VGT_EXIT_OK;
}

static int
s_compromise(s_edit *e, json_t *doc)
{
    int64_t since = 0;
    int rc = s_since(e, &since);
    json_t *a = rc == VGT_EXIT_OK ? s_agency_or_fail(e, doc, e->operand) : NULL;
    if (a == NULL) {
        return rc != VGT_EXIT_OK ? rc : VGT_EXIT_FAIL;
    }
    char what[256];
    if (e->key != NULL) {
        rc = s_compromise_key(e, a, since, what, sizeof what);
        return rc == VGT_EXIT_OK ? s_check_and_write(e, doc, what) : rc;
    }
    vg_strlist kinds = {0};
    vg_reason why = {{0}};
    if (vg_strlist_split(&kinds, e->keys ? e->keys : "sign,transport", &why) != VG_OK) {
        return vgt_usage_error(&e->who, "--keys: %s", why.text);
    }
    for (size_t i = 0; i < kinds.n && rc == VGT_EXIT_OK; i++) {
        const char *k = kinds.items[i];
        if (strcmp(k, "box") == 0) {
            rc = vgt_usage_error(&e->who, "a current box key is rotated, not marked: see --help");
        } else if (strcmp(k, "sign") != 0 && strcmp(k, "transport") != 0) {
            rc = vgt_usage_error(&e->who, "--keys takes sign and transport, not '%s'", k);
        } else {
            s_mark(a, strcmp(k, "sign") == 0 ? "sign_key" : "transport_key", since);
        }
    }
    char t[VG_TIME_STR_LEN], list[64];
    vg_time_format(t, sizeof t, since);
    vg_strlist_join(list, sizeof list, &kinds, " and ");
    snprintf(what, sizeof what, "marked %s's current %s key%s compromised since %s", e->operand,
             list, kinds.n == 1 ? "" : "s", t);
    vg_strlist_fini(&kinds);
    return rc == VGT_EXIT_OK ? s_check_and_write(e, doc, what) : rc;
}

/* ---- revoke ---------------------------------------------------------------------------- */

static int
s_revoke(s_edit *e, json_t *doc)
{
    json_t *a = s_agency_or_fail(e, doc, e->operand);
    if (a == NULL) {
        return VGT_EXIT_FAIL;
    }
    json_object_set_new(a, "revoked", json_true());
    if (e->successor != NULL) {
        json_object_set_new(a, "successor", json_string(e->successor));
    }
    char what[192];
    snprintf(what, sizeof what, "revoked %s%s%s", e->operand,
             e->successor ? "; its pending alerts go to "
                          : " (no successor: its pending alerts "
                            "are reported as needing a new owner)",
             e->successor ? e->successor : "");
    return s_check_and_write(e, doc, what);
}

/* ---- broker-rotate ----------------------------------------------------------------------- */

/* The new broker sign key from a transition note by the document's current one. */
static int
s_read_transition(const s_edit *e, json_t *doc, char **note_out, char new_hex[65])
{
    uint8_t *bytes = NULL, old_pk[VG_SIGN_PK_LEN];
    size_t len = 0;
    vg_reason why = {{0}};
    const char *network = s_str(doc, "network");
    const char *old_hex = s_str(json_object_get(doc, "broker"), "sign_key");
    if (network == NULL || old_hex == NULL || vg_hex_decode(old_pk, 32, old_hex) != VG_OK) {
        vgt_error(&e->who, "%s has no network name or broker sign key", e->json_path);
        return VGT_EXIT_FAIL;
    }
    if (vg_file_read(&bytes, &len, e->transition, VG_TRANSITION_MAX_BYTES, &why) != VG_OK) {
        vgt_error(&e->who, "%s", why.text);
        return VGT_EXIT_FAIL;
    }
    vg_key_transition t;
    vg_err err = vg_key_transition_verify(&t, (const char *)bytes, len, network, old_pk, &why);
    if (err != VG_OK) {
        vgt_error(&e->who,
                  "%s is not a key transition signed by the broker's current key in %s: %s (%s)",
                  e->transition, e->json_path, why.text, vg_err_code(err));
        free(bytes);
        return VGT_EXIT_FAIL;
    }
    vg_hex_encode(new_hex, 65, t.new_pk, VG_SIGN_PK_LEN);
    *note_out = malloc(len + 1);
    if (*note_out == NULL) {
        ctl_out_of_memory();
    }
    memcpy(*note_out, bytes, len);
    (*note_out)[len] = '\0';
    free(bytes);
    return VGT_EXIT_OK;
}

static int
s_broker_rotate(s_edit *e, json_t *doc)
{
    if (e->transition == NULL && e->transport_key == NULL) {
        return vgt_usage_error(&e->who, "say what rotated: --transition NOTE (the signing key) "
                                        "and/or --transport-key Z85");
    }
    int64_t until = 0;
    int rc = s_overlap_end(e, &until);
    json_t *broker = json_object_get(doc, "broker");
    if (rc == VGT_EXIT_OK && !json_is_object(broker)) {
        vgt_error(&e->who, "%s has no \"broker\"", e->json_path);
        rc = VGT_EXIT_FAIL;
    }
    char *note = NULL, new_hex[65];
    if (rc == VGT_EXIT_OK && e->transition != NULL) {
        rc = s_read_transition(e, doc, &note, new_hex);
    }
    if (rc != VGT_EXIT_OK) {
        return rc;
    }
    json_t *prev = json_object();
    if (note != NULL) {
        json_object_set(prev, "sign_key", json_object_get(broker, "sign_key"));
        json_object_set_new(broker, "sign_key", json_string(new_hex));
        json_object_set_new(doc, "key_transition", json_string(note));
    }
    if (e->transport_key != NULL) {
        json_object_set(prev, "transport_key", json_object_get(broker, "transport_key"));
        json_object_set_new(broker, "transport_key", json_string(e->transport_key));
    }
    json_object_set_new(prev, "rotated", json_integer(e->now_ms));
    json_object_set_new(prev, "valid_until", json_integer(until));
    json_t *list = json_object_get(doc, "previous_broker_keys");
    if (!json_is_array(list)) {
        list = json_array();
        json_object_set_new(doc, "previous_broker_keys", list);
    }
    json_array_append_new(list, prev);
    free(note);
    char what[192], t[VG_TIME_STR_LEN];
    vg_time_format(t, sizeof t, until);
    snprintf(what, sizeof what, "rotated the broker's keys (%s%s%s); the old ones kept until %s",
             e->transition ? "signing" : "", e->transition && e->transport_key ? ", " : "",
             e->transport_key ? "transport" : "", t);
    return s_check_and_write(e, doc, what);
}

/* ---- entry --------------------------------------------------------------------------------- */

int
ctl_cmd_network_edit(int argc, char **argv)
{
    s_edit e;
    memset(&e, 0, sizeof e);
    e.sub = argv[0];
    for (size_t i = 0; i < sizeof s_subs / sizeof s_subs[0]; i++) {
        if (strcmp(e.sub, s_subs[i].name) == 0) {
            e.allowed = s_subs[i].allowed;
        }
    }
    snprintf(e.who_text, sizeof e.who_text, "network %s", e.sub);
    e.who = (vgt_who){CTL_PROGRAM, e.who_text};
    e.now_ms = vg_clock_wall_ms(vg_clock_system());
    int rc = s_parse_args(&e, argc, argv);
    json_t *doc = NULL;
    if (rc == VGT_EXIT_OK) {
        doc = s_load_json(&e, e.json_path, "a network document (JSON)", VG_NETDOC_MAX_BYTES);
        rc = doc != NULL ? VGT_EXIT_OK : VGT_EXIT_FAIL;
    }
    if (rc == VGT_EXIT_OK) {
        rc = strcmp(e.sub, "add") == 0          ? s_add(&e, doc)
             : strcmp(e.sub, "rotate") == 0     ? s_rotate(&e, doc)
             : strcmp(e.sub, "compromise") == 0 ? s_compromise(&e, doc)
             : strcmp(e.sub, "revoke") == 0     ? s_revoke(&e, doc)
                                                : s_broker_rotate(&e, doc);
    }
    json_decref(doc);
    free(e.json_path);
    return rc == VGT_HELP_SHOWN ? VGT_EXIT_OK : rc;
}
