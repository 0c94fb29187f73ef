/*
 * cli_audit.c — vigil-agent audit: the agency as a witness of the broker's
 * audit log (docs/audit.md, docs/agent.md "Audit").
 *
 *   audit checkpoint [--json]   sync (which cosigns), then print the latest
 *                               checkpoint held and who cosigned the broker's
 *   audit prove ID [--json]     prove every event of alert ID in that log
 *
 * A fault (a fork of the broker's log, a checkpoint or proof that does not
 * verify) is printed loudly on stderr and exits VGT_EXIT_FAIL: a script must
 * not mistake it for success. The text output of `audit checkpoint` ends
 * with the signed note itself, so it can be handed to
 * `vigilctl audit verify --checkpoint FILE` as it is.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "vigil/clock.h"
#include "vigil/util.h"

static const vgt_who s_who = {CLI_PROGRAM, "audit"};
#define S_DEFAULT_TIMEOUT_MS 10000
#define S_ROOT_B64_MAX 64 /* base64 of 32 bytes is 44 characters */

static const char s_help[] =
    "usage: vigil-agent -c agent.conf audit checkpoint [--json] [--timeout T]\n"
    "       vigil-agent -c agent.conf audit prove ID [--json] [--timeout T]\n"
    "\n"
    "The broker keeps a tamper-evident log of everything it did and signs\n"
    "checkpoints of it; this agency keeps every checkpoint it is given and checks\n"
    "the broker's proof that each new one extends the last (docs/audit.md).\n"
    "\n"
    "  checkpoint   fetch the broker's latest checkpoint, check it, cosign the\n"
    "               latest one proven (never after a fault), and print the latest\n"
    "               one this agency holds: origin, size, root hash, who cosigned\n"
    "               the broker's latest checkpoint, and the signed note (give that\n"
    "               output to 'vigilctl audit verify --checkpoint FILE')\n"
    "  prove ID     fetch the audit leaves of alert ID and check that each is in\n"
    "               the log the held checkpoint signs (inclusion proofs)\n"
    "\n"
    "  --json             one JSON object on stdout\n"
    "  --timeout T        how long to wait for the broker (default 10s); prove also\n"
    "                     waits this long for a checkpoint that covers the alert\n"
    "  -c, --config FILE  the agency's agent.conf\n"
    "  -h, --help         this help\n"
    "\n"
    "exit status: 0 verified; 1 an audit fault (the broker's log was rewritten, or\n"
    "a checkpoint or proof does not verify: keep the output as evidence) or another\n"
    "failure; 2 bad command line; 3 the broker did not answer in time; 4 agent.conf,\n"
    "keys or store unusable.\n";

typedef struct s_opts {
    const char *config;          /* -c */
    bool json;                   /* --json */
    int64_t timeout_ms;          /* --timeout */
    const char *sub;             /* "checkpoint" or "prove" */
    uint8_t id[VG_ALERT_ID_LEN]; /* prove: the alert */
} s_opts;

/* Returns VGT_EXIT_OK to go on, VGT_HELP_SHOWN after --help, or an exit status. */
static int
s_parse_args(s_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(s_help, stdout);
            return VGT_HELP_SHOWN;
        } else if (c == 'j') {
            o->json = true;
        } else if (c == 't') {
            if (!vgt_parse_timeout(&s_who, "--timeout", optarg, &o->timeout_ms)) {
                return vgt_usage_hint(&s_who);
            }
        } else if (c == 'c') {
            o->config = optarg;
        } else {
            return vgt_bad_option(&s_who, c, argv);
        }
    }
    if (optind >= argc) {
        return vgt_usage_error(&s_who, "which audit command? 'checkpoint' or 'prove ID'");
    }
    o->sub = argv[optind++];
    if (strcmp(o->sub, "checkpoint") == 0) {
        if (optind < argc) {
            return vgt_unexpected_argument(&s_who, argv[optind], NULL);
        }
        return VGT_EXIT_OK;
    }
    if (strcmp(o->sub, "prove") == 0) {
        return vgt_take_alert_id(&s_who, argc, argv, o->id) ? VGT_EXIT_OK : vgt_usage_hint(&s_who);
    }
    return vgt_usage_error(&s_who, "unknown audit command '%s': 'checkpoint' or 'prove ID'",
                           o->sub);
}

/* The note's third line: the root hash in base64, as the broker wrote it. */
static void
s_root_b64(char *out, size_t out_len, const char *note)
{
    const char *p = note;
    for (int line = 0; line < 2 && p != NULL; line++) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    size_t n = p ? strcspn(p, "\n") : 0;
    snprintf(out, out_len, "%.*s", (int)(n < out_len ? n : out_len - 1), p ? p : "");
}

static json_t *
s_json_checkpoint(const vga_audit_checkpoint *cp)
{
    char root[S_ROOT_B64_MAX], at[VG_TIME_STR_LEN];
    s_root_b64(root, sizeof root, cp->note);
    vg_time_format(at, sizeof at, cp->received_ms);
    return json_pack("{s:s, s:I, s:s, s:s, s:s}", "origin", cp->origin, "size",
                     (json_int_t)cp->size, "root", root, "received", at, "note", cp->note);
}

/* Prints the fault (or the failure) loudly and returns the exit status. */
static int
s_report_failure(vg_err rc, const vg_reason *why, const char *endpoint)
{
    if (rc == VG_ERR_CONFLICT) {
        vgt_error(&s_who, "AUDIT FAULT: %s", why->text);
        vgt_error(&s_who, "the broker's record cannot be trusted; keep this agency's store "
                          "(agent.db: checkpoints, audit_faults) as evidence and tell the "
                          "network's administrator");
        vgt_error(&s_who, "this agency refuses to cosign the broker's checkpoints while the "
                          "fault stands");
        return VGT_EXIT_FAIL;
    }
    if (rc == VG_ERR_TIMEOUT) {
        vgt_error(&s_who, "%s (is the broker at %s running?)", why->text, endpoint);
        return VGT_EXIT_PENDING;
    }
    if (rc == VG_ERR_UNKNOWN_ALERT) {
        vgt_error(&s_who, "the broker knows no such alert: check the id");
        return VGT_EXIT_FAIL;
    }
    vgt_error(&s_who, "%s: %s", vg_err_code(rc), why->text);
    return VGT_EXIT_FAIL;
}

/* Who cosigned the broker's latest checkpoint, as JSON. */
static json_t *
s_json_cosigners(const vga_cosigners *c)
{
    json_t *names = json_array();
    for (size_t i = 0; i < c->agencies.n; i++) {
        json_array_append_new(names, json_string(c->agencies.items[i]));
    }
    return json_pack("{s:I, s:o, s:I, s:b, s:I}", "size", (json_int_t)c->size, "agencies", names,
                     "others", (json_int_t)(c->agencies.n - (c->mine ? 1 : 0)), "mine", c->mine,
                     "unverified", (json_int_t)c->n_bad);
}

/* "cosigned  by this agency and 2 others (licensing, police) of 4 agencies" */
static void
s_print_cosigners(const vga_cosigners *c, const vg_netdoc *doc)
{
    char names[1024];
    vg_strlist_join(names, sizeof names, &c->agencies, ", ");
    size_t others = c->agencies.n - (c->mine ? 1 : 0);
    printf("cosigned size %llu: %s%zu other agenc%s of %zu%s%s%s\n", (unsigned long long)c->size,
           c->mine ? "this agency and " : "not yet by this agency; ", others,
           others == 1 ? "y" : "ies", vg_netdoc_n_agencies(doc), c->agencies.n ? " (" : "", names,
           c->agencies.n ? ")" : "");
    if (c->n_bad > 0) {
        printf("WARNING: %zu cosignature%s the broker keeps do not verify\n", c->n_bad,
               c->n_bad == 1 ? "" : "s");
    }
}

static int
s_checkpoint(const s_opts *o, cli_session *s)
{
    vg_reason why = {{0}};
    vg_err sync = vga_audit_sync(s->agent, o->timeout_ms, &why);
    vga_audit_checkpoint cp;
    vg_reason why_latest = {{0}};
    vg_err rc = vga_audit_latest(s->agent, &cp, &why_latest);
    vga_cosigners co = {0};
    bool has_co = sync == VG_OK && rc == VG_OK &&
                  vga_audit_cosigners(s->agent, o->timeout_ms, &co, NULL) == VG_OK && co.size > 0;
    if (rc == VG_OK && o->json) {
        json_t *j = s_json_checkpoint(&cp);
        json_object_set_new(j, "status",
                            json_string(sync == VG_OK ? "verified" : vg_err_code(sync)));
        json_object_set_new(j, "fault",
                            sync == VG_ERR_CONFLICT ? json_string(why.text) : json_null());
        json_object_set_new(j, "cosigners", has_co ? s_json_cosigners(&co) : json_null());
        json_dumpf(j, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(j);
    } else if (rc == VG_OK) {
        char root[S_ROOT_B64_MAX], at[VG_TIME_STR_LEN];
        s_root_b64(root, sizeof root, cp.note);
        vg_time_format(at, sizeof at, cp.received_ms);
        printf("origin   %s\nsize     %llu\nroot     %s\nreceived %s\n", cp.origin,
               (unsigned long long)cp.size, root, at);
        if (has_co) {
            s_print_cosigners(&co, vga_agent_doc(s->agent));
        }
        printf("\n%s", cp.note);
    }
    vga_cosigners_fini(&co);
    vga_audit_checkpoint_fini(&cp);
    if (sync != VG_OK) {
        return s_report_failure(sync, &why, s->endpoint);
    }
    if (rc != VG_OK) {
        return s_report_failure(rc, &why_latest, s->endpoint);
    }
    return VGT_EXIT_OK;
}

/* "agency=police" and the like: who the event is about. */
static void
s_about(char *out, size_t out_len, const vg_audit_event *ev)
{
    switch (ev->kind) {
    case VG_AUDIT_ACCEPTED:
        snprintf(out, out_len, "sender=%s", ev->sender);
        break;
    case VG_AUDIT_SHARED:
        snprintf(out, out_len, "sharer=%s to=%s", ev->agency,
                 ev->agencies.n > 0 ? ev->agencies.items[0] : "");
        break;
    case VG_AUDIT_ESCALATED:
        snprintf(out, out_len, "agency=%s target=%s", ev->agency, ev->target);
        break;
    case VG_AUDIT_REJECTED:
        snprintf(out, out_len, "code=%s", ev->code);
        break;
    case VG_AUDIT_DELIVERED:
        snprintf(out, out_len, "agency=%s (receipt for %zu alert%s)", ev->agency, ev->n_alerts,
                 ev->n_alerts == 1 ? "" : "s");
        break;
    default:
        snprintf(out, out_len, "agency=%s", ev->agency);
        break;
    }
}

static void
s_print_proof(const s_opts *o, const vga_audit_proof *p)
{
    char idhex[VG_ALERT_ID_HEX_LEN + 1], root[S_ROOT_B64_MAX];
    vg_alert_id_hex(idhex, o->id);
    s_root_b64(root, sizeof root, p->checkpoint.note);
    if (o->json) {
        json_t *events = json_array();
        for (size_t i = 0; i < p->n_leaves; i++) {
            const vga_audit_leaf *l = &p->leaves[i];
            char at[VG_TIME_STR_LEN];
            vg_time_format(at, sizeof at, (int64_t)l->event.time_ms);
            json_array_append_new(
                events, json_pack("{s:I, s:s, s:s, s:b, s:s%}", "index", (json_int_t)l->index,
                                  "kind", vg_audit_kind_name(l->event.kind), "time", at, "verified",
                                  1, "leaf", (const char *)l->leaf, l->leaf_len));
        }
        json_t *j = json_pack("{s:s, s:o, s:o}", "alert", idhex, "checkpoint",
                              s_json_checkpoint(&p->checkpoint), "events", events);
        json_dumpf(j, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(j);
        return;
    }
    printf("alert %s: %zu event%s in the audit log, verified against checkpoint size %llu "
           "(root %s)\n",
           idhex, p->n_leaves, p->n_leaves == 1 ? "" : "s", (unsigned long long)p->checkpoint.size,
           root);
    for (size_t i = 0; i < p->n_leaves; i++) {
        const vga_audit_leaf *l = &p->leaves[i];
        char at[VG_TIME_STR_LEN], about[160];
        vg_time_format(at, sizeof at, (int64_t)l->event.time_ms);
        s_about(about, sizeof about, &l->event);
        printf("  leaf %-8llu %-14s %s  %-40s verified (size %llu)\n", (unsigned long long)l->index,
               vg_audit_kind_name(l->event.kind), at, about,
               (unsigned long long)p->checkpoint.size);
    }
}

static int
s_prove(const s_opts *o, cli_session *s)
{
    vga_audit_proof p;
    vg_reason why = {{0}};
    vg_err rc = vga_audit_prove(s->agent, o->id, o->timeout_ms, &p, &why);
    if (rc != VG_OK) {
        return s_report_failure(rc, &why, s->endpoint);
    }
    s_print_proof(o, &p);
    vga_audit_proof_fini(&p);
    return VGT_EXIT_OK;
}

int
cli_cmd_audit(const char *config, int argc, char **argv)
{
    s_opts o = {.config = config, .timeout_ms = S_DEFAULT_TIMEOUT_MS};
    int rc = s_parse_args(&o, argc, argv);
    if (rc != VGT_EXIT_OK) {
        return rc == VGT_HELP_SHOWN ? VGT_EXIT_OK : rc;
    }
    cli_session s;
    rc = cli_session_open(&s, o.config, &s_who, false, false, NULL);
    if (rc != VGT_EXIT_OK) {
        return rc;
    }
    rc = strcmp(o.sub, "checkpoint") == 0 ? s_checkpoint(&o, &s) : s_prove(&o, &s);
    cli_session_close(&s);
    return rc;
}
