/*
 * cli_publish.c — vigil-agent publish: builds an alert from flags (or reads
 * it as JSON from stdin), publishes it through the outbox and reports the
 * broker's answer.
 *
 * The alert id goes to stdout only once the broker has confirmed it, so
 * `id=$(vigil-agent ... publish ...)` is empty unless the alert is durable
 * at the broker. When the broker cannot be reached in time the alert stays
 * in the outbox (exit 3) and the id goes to stderr with what happens next.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vigil/alert_json.h"
#include "vigil/netdoc.h"
#include "vigil/util.h"
#include "vigil/wire.h"

static const vgt_who s_who = {CLI_PROGRAM, "publish"};
static const vgt_who s_agent_who = {CLI_PROGRAM, NULL}; /* "vigil-agent: rejected: ..." */
#define S_DEFAULT_TIMEOUT_MS 10000

static const char s_help[] =
    "usage: vigil-agent -c agent.conf publish --severity S --category C[,C...]\n"
    "                   --headline TEXT [options]\n"
    "       vigil-agent -c agent.conf publish --json < alert.json\n"
    "\n"
    "Seals the alert to its recipients, signs it, keeps it in the local outbox and\n"
    "sends it to the broker. The network's policy adds the agencies that must receive\n"
    "alerts of these categories (e.g. taxi -> licensing); --to can add more, never\n"
    "remove them. Prints the alert id (32 hex characters) once the broker has stored\n"
    "it.\n"
    "\n"
    "alert:\n"
    "  --severity S           low, medium, high or critical (required)\n"
    "  --category C,...       categories of the network's taxonomy (required; e.g.\n"
    "                         taxi,cse; 'vigilctl network show' lists them)\n"
    "  --headline TEXT        one-line summary (required)\n"
    "  --to AGENCY,...        recipients besides those the policy requires\n"
    "  --description TEXT     the full text\n"
    "  --description-file F   read the description from file F ('-' = stdin)\n"
    "  --status S             actual (default), exercise or test\n"
    "  --msg-type T           alert (default), update or cancel\n"
    "  --reference ID         the alert an update or cancel refers to (repeatable)\n"
    "  --urgency U            immediate, expected, future, past or unknown\n"
    "  --certainty C          observed, likely, possible, unlikely or unknown\n"
    "  --event TEXT           what kind of event, e.g. 'Child sexual exploitation'\n"
    "  --instruction TEXT     what recipients should do\n"
    "  --incident NAME        links related alerts (repeatable)\n"
    "  --subject SCHEME:VALUE who or what it is about, e.g. taxi-licence:TL-0417\n"
    "                         (repeatable; each subject of a scheme the network lists,\n"
    "                         and each incident, is also sent as a link tag, a keyed\n"
    "                         hash the broker matches but cannot read)\n"
    "  --area TEXT            the area concerned (repeatable)\n"
    "\n"
    "options:\n"
    "  --json                 read the whole alert as one JSON object from stdin\n"
    "                         (docs/agent.md); the alert options above are refused\n"
    "  --timeout T            how long to wait for the broker's confirm (default 10s)\n"
    "  -c, --config FILE      the agency's agent.conf\n"
    "  -h, --help             this help\n"
    "\n"
    "exit status: 0 confirmed (also when the broker already had it); 1 rejected by\n"
    "the broker ('vigil-agent: rejected: CODE: reason') or failed; 2 bad command line\n"
    "or alert; 3 not confirmed within --timeout: the alert is safe in the outbox and\n"
    "the next vigil-agent process (publish, listen, flush) sends it; 4 agent.conf,\n"
    "keys or store unusable.\n";

typedef struct s_opts {
    const char *config;           /* -c, overriding the global one */
    int64_t timeout_ms;           /* --timeout */
    bool json;                    /* --json */
    const char *description_file; /* --description-file */
    char alert_flag[32];          /* the first alert option given (refused with --json) */
    vg_alert alert;               /* built from the options; owned */
} s_opts;

enum {
    S_OPT_SEVERITY = 256,
    S_OPT_CATEGORY,
    S_OPT_TO,
    S_OPT_HEADLINE,
    S_OPT_DESCRIPTION,
    S_OPT_DESCRIPTION_FILE,
    S_OPT_STATUS,
    S_OPT_MSG_TYPE,
    S_OPT_REFERENCE,
    S_OPT_URGENCY,
    S_OPT_CERTAINTY,
    S_OPT_EVENT,
    S_OPT_INSTRUCTION,
    S_OPT_INCIDENT,
    S_OPT_SUBJECT,
    S_OPT_AREA,
    S_OPT_JSON,
    S_OPT_TIMEOUT,
};

static const struct option s_longopts[] = {
    {"severity", required_argument, NULL, S_OPT_SEVERITY},
    {"category", required_argument, NULL, S_OPT_CATEGORY},
    {"to", required_argument, NULL, S_OPT_TO},
    {"headline", required_argument, NULL, S_OPT_HEADLINE},
    {"description", required_argument, NULL, S_OPT_DESCRIPTION},
    {"description-file", required_argument, NULL, S_OPT_DESCRIPTION_FILE},
    {"status", required_argument, NULL, S_OPT_STATUS},
    {"msg-type", required_argument, NULL, S_OPT_MSG_TYPE},
    {"reference", required_argument, NULL, S_OPT_REFERENCE},
    {"urgency", required_argument, NULL, S_OPT_URGENCY},
    {"certainty", required_argument, NULL, S_OPT_CERTAINTY},
    {"event", required_argument, NULL, S_OPT_EVENT},
    {"instruction", required_argument, NULL, S_OPT_INSTRUCTION},
    {"incident", required_argument, NULL, S_OPT_INCIDENT},
    {"subject", required_argument, NULL, S_OPT_SUBJECT},
    {"area", required_argument, NULL, S_OPT_AREA},
    {"json", no_argument, NULL, S_OPT_JSON},
    {"timeout", required_argument, NULL, S_OPT_TIMEOUT},
    {"config", required_argument, NULL, 'c'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* ---- building the alert from options ------------------------------------------------ */

/* Reports a bad option value (why says what is accepted); returns false. */
static bool
s_bad_value(const char *opt, const char *value, const vg_reason *why)
{
    vgt_error(&s_who, "%s '%s': %s", opt, value, why->text);
    return false;
}

static bool
s_set_text(char **dst, const char *value)
{
    free(*dst);
    *dst = vg_strdup(value);
    return *dst != NULL;
}

static bool
s_add_subject(vg_alert *a, const char *value)
{
    const char *colon = strchr(value, ':');
    if (colon == NULL || colon == value || colon[1] == '\0') {
        vgt_error(&s_who, "--subject '%s': write it as SCHEME:VALUE, e.g. taxi-licence:TL-0417",
                  value);
        return false;
    }
    vg_subject *grown = realloc(a->subjects, (a->n_subjects + 1) * sizeof *grown);
    if (grown == NULL) {
        return false;
    }
    a->subjects = grown;
    vg_subject *s = &a->subjects[a->n_subjects++];
    s->scheme = strndup(value, (size_t)(colon - value));
    s->value = vg_strdup(colon + 1);
    return s->scheme != NULL && s->value != NULL;
}

static bool
s_add_area(vg_alert *a, const char *value)
{
    vg_area *grown = realloc(a->areas, (a->n_areas + 1) * sizeof *grown);
    if (grown == NULL) {
        return false;
    }
    a->areas = grown;
    vg_area *area = &a->areas[a->n_areas++];
    memset(area, 0, sizeof *area);
    area->desc = vg_strdup(value);
    return area->desc != NULL;
}

static bool
s_add_reference(vg_alert *a, const char *value)
{
    uint8_t id[VG_ALERT_ID_LEN];
    vg_reason why = {{0}};
    if (vg_alert_id_parse(id, value, &why) != VG_OK) {
        return s_bad_value("--reference", value, &why);
    }
    uint8_t(*grown)[VG_ALERT_ID_LEN] =
        realloc(a->references, (a->n_references + 1) * sizeof *grown);
    if (grown == NULL) {
        return false;
    }
    a->references = grown;
    memcpy(a->references[a->n_references++], id, VG_ALERT_ID_LEN);
    return true;
}

/* The enum and list options: parsed by libvigil, whose reasons name the
 * accepted values. */
static bool
s_take_parsed(vg_alert *a, int c, const char *opt, const char *v)
{
    vg_reason why = {{0}};
    vg_err rc = VG_OK;
    switch (c) {
    case S_OPT_SEVERITY:
        rc = vg_severity_parse(&a->severity, v, &why);
        break;
    case S_OPT_STATUS:
        rc = vg_status_parse(&a->status, v, &why);
        break;
    case S_OPT_MSG_TYPE:
        rc = vg_msg_type_parse(&a->msg_type, v, &why);
        break;
    case S_OPT_URGENCY:
        rc = vg_urgency_parse(&a->urgency, v, &why);
        break;
    case S_OPT_CERTAINTY:
        rc = vg_certainty_parse(&a->certainty, v, &why);
        break;
    case S_OPT_CATEGORY:
        rc = vg_strlist_split(&a->categories, v, &why);
        break;
    default: /* S_OPT_TO */
        rc = vg_strlist_split(&a->recipients, v, &why);
        break;
    }
    return rc == VG_OK || s_bad_value(opt, v, &why);
}

/* One alert option; false after reporting what was wrong. */
static bool
s_take_alert_opt(s_opts *o, int c, const char *opt, const char *v)
{
    vg_alert *a = &o->alert;
    switch (c) {
    case S_OPT_HEADLINE:
        return s_set_text(&a->headline, v);
    case S_OPT_DESCRIPTION:
        return s_set_text(&a->description, v);
    case S_OPT_DESCRIPTION_FILE:
        o->description_file = v;
        return true;
    case S_OPT_EVENT:
        return s_set_text(&a->event, v);
    case S_OPT_INSTRUCTION:
        return s_set_text(&a->instruction, v);
    case S_OPT_INCIDENT:
        return vg_strlist_add_unique(&a->incidents, v) == VG_OK;
    case S_OPT_SUBJECT:
        return s_add_subject(a, v);
    case S_OPT_AREA:
        return s_add_area(a, v);
    case S_OPT_REFERENCE:
        return s_add_reference(a, v);
    default:
        return s_take_parsed(a, c, opt, v);
    }
}

/* ---- arguments ------------------------------------------------------------------------- */

/* Returns VGT_EXIT_OK to go on, VGT_HELP_SHOWN after --help, or an exit status. */
static int
s_parse_args(s_opts *o, int argc, char **argv)
{
    optind = 0;
    opterr = 0;
    int c;
    int li = -1;
    while ((c = getopt_long(argc, argv, ":c:h", s_longopts, &li)) != -1) {
        char opt[32];
        snprintf(opt, sizeof opt, "--%s", li >= 0 ? s_longopts[li].name : "?");
        li = -1;
        if (c == 'h') {
            fputs(s_help, stdout);
            return VGT_HELP_SHOWN;
        } else if (c == 'c') {
            o->config = optarg;
        } else if (c == S_OPT_JSON) {
            o->json = true;
        } else if (c == S_OPT_TIMEOUT) {
            if (!vgt_parse_timeout(&s_who, "--timeout", optarg, &o->timeout_ms)) {
                return vgt_usage_hint(&s_who);
            }
        } else if (c >= S_OPT_SEVERITY && c < S_OPT_JSON) {
            if (o->alert_flag[0] == '\0') {
                snprintf(o->alert_flag, sizeof o->alert_flag, "%s", opt);
            }
            if (!s_take_alert_opt(o, c, opt, optarg)) {
                return vgt_usage_hint(&s_who);
            }
        } else {
            return vgt_bad_option(&s_who, c, argv);
        }
    }
    if (optind < argc) {
        return vgt_usage_error(&s_who, "unexpected argument '%s' (quote text that has spaces)",
                               argv[optind]);
    }
    return VGT_EXIT_OK;
}

/* Reads all of a stream, at most max bytes; NUL-terminated, malloc'ed. */
static char *
s_read_all(FILE *f, size_t max, const char *what)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        if (len + 1 == cap) {
            char *grown = cap > max ? NULL : realloc(buf, cap * 2);
            if (grown == NULL) {
                vgt_error(&s_who, "%s is larger than %zu bytes", what, max);
                free(buf);
                return NULL;
            }
            buf = grown;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - 1 - len, f);
        len += n;
        if (n == 0) {
            break;
        }
    }
    if (buf != NULL && (ferror(f) || len > max)) {
        vgt_error(&s_who, "cannot read %s%s", what, len > max ? ": too large" : "");
        free(buf);
        return NULL;
    }
    if (buf != NULL) {
        buf[len] = '\0';
    }
    return buf;
}

static int
s_read_description(s_opts *o)
{
    if (o->alert.description != NULL) {
        return vgt_usage_error(&s_who, "give --description or --description-file, not both");
    }
    if (strcmp(o->description_file, "-") == 0) {
        o->alert.description = s_read_all(stdin, VG_TEXT_MAX, "the description on stdin");
        return o->alert.description ? VGT_EXIT_OK : VGT_EXIT_USAGE;
    }
    uint8_t *text = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    if (vg_file_read(&text, &len, o->description_file, VG_TEXT_MAX, &why) != VG_OK) {
        vgt_error(&s_who, "--description-file: %s", why.text);
        return VGT_EXIT_USAGE;
    }
    o->alert.description = (char *)text;
    return VGT_EXIT_OK;
}

static int
s_alert_from_stdin(s_opts *o)
{
    if (o->alert_flag[0] != '\0') {
        return vgt_usage_error(
            &s_who,
            "--json reads the whole alert from stdin: put %s into the JSON instead, or "
            "drop --json",
            o->alert_flag);
    }
    char *json = s_read_all(stdin, VGA_ALERT_JSON_MAX_BYTES, "the alert JSON on stdin");
    if (json == NULL) {
        return VGT_EXIT_USAGE;
    }
    vg_reason why = {{0}};
    vg_err rc = vga_alert_from_json(&o->alert, json, &why);
    free(json);
    if (rc != VG_OK) {
        vgt_error(&s_who, "the alert JSON on stdin: %s", why.text);
        return VGT_EXIT_USAGE;
    }
    return VGT_EXIT_OK;
}

/* What the flags must say when they make the whole alert. */
static int
s_check_required(s_opts *o)
{
    if (o->description_file != NULL) {
        int rc = s_read_description(o);
        if (rc != VGT_EXIT_OK) {
            return rc;
        }
    }
    const char *missing = NULL;
    if (o->alert.severity == VG_SEV_UNSPECIFIED) {
        missing = "--severity (low, medium, high or critical)";
    } else if (o->alert.categories.n == 0) {
        missing = "--category (e.g. --category taxi,cse)";
    } else if (o->alert.headline == NULL) {
        missing = "--headline TEXT";
    }
    if (missing != NULL) {
        return vgt_usage_error(&s_who, "%s is required", missing);
    }
    return VGT_EXIT_OK;
}

/* ---- the broker's answer ------------------------------------------------------------------ */

static int
s_report_rejected(const vga_confirm *res, const char *idhex, const char *config)
{
    char missing[VG_REASON_MAX] = "";
    if (res->missing.n > 0) {
        vg_strlist_join(missing, sizeof missing, &res->missing, ", ");
    }
    vgt_error(&s_agent_who, "rejected: %s: %s%s%s", vg_err_code(res->code), res->reason.text,
              missing[0] ? "; missing recipients: " : "", missing);
    if (vga_reject_is_transient(res->code)) {
        vgt_error(&s_who,
                  "the broker did not take alert %s for now; it stays in the outbox and the "
                  "next vigil-agent process sends it again (or run 'vigil-agent -c %s flush')",
                  idhex, config);
        return VGT_EXIT_PENDING;
    }
    vgt_error(&s_who, "alert %s was not accepted and left the outbox; fix it and publish again",
              idhex);
    return VGT_EXIT_FAIL;
}

static int
s_report(vg_err rc, const vga_confirm *res, const vg_reason *why, const s_opts *o,
         const cli_session *s)
{
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, res->alert_id);
    if (rc == VG_OK) {
        printf("%s\n", idhex);
        return fflush(stdout) == 0 ? VGT_EXIT_OK : VGT_EXIT_FAIL;
    }
    if (rc == VG_ERR_TIMEOUT) {
        char waited[32];
        vg_duration_format(waited, sizeof waited, (uint64_t)o->timeout_ms);
        vgt_error(&s_who,
                  "no confirm from the broker at %s within %s: alert %s is safe in the outbox; "
                  "the next vigil-agent process for this agency (publish, listen or flush) sends "
                  "it, e.g. 'vigil-agent -c %s flush' once the broker is reachable",
                  s->endpoint, waited, idhex, o->config);
        return VGT_EXIT_PENDING;
    }
    if (res->code != VG_OK) {
        return s_report_rejected(res, idhex, o->config);
    }
    vgt_error(&s_who, "cannot publish: %s (%s)", why->text, vg_err_code(rc));
    bool alert_wrong = rc == VG_ERR_INVALID || rc == VG_ERR_NOT_FOUND || rc == VG_ERR_REVOKED ||
                       rc == VG_ERR_TOO_LARGE || rc == VG_ERR_MALFORMED;
    return alert_wrong ? VGT_EXIT_USAGE : VGT_EXIT_FAIL;
}

/* Names a category the network does not have, with the ones it has: the
 * library would otherwise first say "no recipients" for an unrouted one. */
static bool
s_categories_known(const vg_alert *a, const vg_netdoc *doc)
{
    for (size_t i = 0; i < a->categories.n; i++) {
        if (vg_netdoc_has_category(doc, a->categories.items[i])) {
            continue;
        }
        char known[VG_REASON_MAX] = "";
        size_t used = 0;
        for (size_t k = 0; k < vg_netdoc_n_categories(doc) && used < sizeof known; k++) {
            int w = snprintf(known + used, sizeof known - used, "%s%s", k ? ", " : "",
                             vg_netdoc_category_at(doc, k));
            used += w > 0 ? (size_t)w : 0;
        }
        vgt_error(&s_who, "category '%s' is not in this network's taxonomy: use %s",
                  a->categories.items[i], known);
        return false;
    }
    return true;
}

static int
s_publish(s_opts *o)
{
    cli_session s;
    int rc = cli_session_open(&s, o->config, &s_who, false, false, NULL);
    if (rc != VGT_EXIT_OK) {
        return rc;
    }
    if (!s_categories_known(&o->alert, vga_agent_doc(s.agent))) {
        cli_session_close(&s);
        return VGT_EXIT_USAGE;
    }
    vga_confirm res;
    vg_reason why = {{0}};
    vg_err err = vga_publish(s.agent, &o->alert, o->timeout_ms, &res, &why);
    rc = s_report(err, &res, &why, o, &s);
    vga_confirm_fini(&res);
    cli_session_close(&s);
    return rc;
}

int
cli_cmd_publish(const char *config, int argc, char **argv)
{
    s_opts o = {.config = config, .timeout_ms = S_DEFAULT_TIMEOUT_MS};
    int rc = s_parse_args(&o, argc, argv);
    if (rc == VGT_EXIT_OK) {
        rc = o.json ? s_alert_from_stdin(&o) : s_check_required(&o);
    }
    if (rc == VGT_EXIT_OK) {
        rc = s_publish(&o);
    }
    vg_alert_fini(&o.alert);
    return rc == VGT_HELP_SHOWN ? VGT_EXIT_OK : rc;
}
