/*
 * cli_status.c — vigil-agent status and outstanding: where an alert stands
 * for every agency that must acknowledge it, as the broker tracks it.
 *
 * The broker answers with metadata, and with the signed envelope when this
 * agency may open it; the headline is shown only when this agency can
 * decrypt it ("sealed" otherwise: an oversight agency sees the tracking of
 * every alert and the content of none).
 *
 * "Overdue" here means: a required recipient that has not acknowledged and
 * whose deadline has passed (the broker's flag, or the deadline by this
 * host's clock when the broker has not stepped yet). outstanding puts those
 * alerts first, then the others by their earliest open deadline, so the
 * alert that needs someone soonest is on top.
 *
 * An exercise, test, system or draft alert is tracked like an actual one
 * and listed with them, marked with its word (vga_status_mark) so nobody
 * takes it for a real warning: on its status header and before its
 * headline on an outstanding line.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vigil/clock.h"
#include "vigil/track_json.h"
#include "vigil/util.h"
#include "vigil/wire.h"

#define S_DEFAULT_TIMEOUT_MS 10000
#define S_HEADLINE_COLS 60 /* longest headline on an outstanding line */

static const char s_help_status[] =
    "usage: vigil-agent -c agent.conf status ID [--json] [--timeout T]\n"
    "\n"
    "Asks the broker where alert ID stands (for its sender, its recipients and\n"
    "oversight): its status ('actual', or e.g. 'EXERCISE: not an actual alert'),\n"
    "who sent it and when, its severity and categories, whether every\n"
    "required agency acknowledged it, its headline when this agency can decrypt it\n"
    "('sealed' otherwise), then one line per recipient: agency, state (pending,\n"
    "delivered, acknowledged, in_progress, declined, unopenable: its software could\n"
    "not open it, the reason says why), required or optional, deadline\n"
    "(RFC 3339 UTC), 'OVERDUE +5m12s' when it is past the deadline and not\n"
    "acknowledged, the officer, note or reason, and who shared it. When the broker\n"
    "linked it to earlier alerts about the same subject (link tags), the chain\n"
    "follows: each earlier alert (its id when this agency was a party to it) with\n"
    "every required agency's outcome (acknowledged, late, never, open).\n"
    "\n"
    "  --json             one JSON object with the same facts (docs/agent.md)\n"
    "  --timeout T        how long to wait for the broker (default 10s)\n"
    "  -c, --config FILE  the agency's agent.conf\n"
    "  -h, --help         this help\n"
    "\n"
    "exit status: 0 shown; 1 unknown alert, not this agency's to see, or failed;\n"
    "2 bad command line; 3 no answer in time; 4 agent.conf, keys or store unusable.\n";

static const char s_help_outstanding[] =
    "usage: vigil-agent -c agent.conf outstanding [--overdue] [--json] [--timeout T]\n"
    "\n"
    "Lists the alerts this agency sent or must acknowledge that are not complete\n"
    "(every alert's tracking for an oversight agency): overdue ones first, then by\n"
    "earliest open deadline. One line each: id, severity, sender, headline ('sealed'\n"
    "when this agency cannot decrypt it; after EXERCISE, TEST, SYSTEM or DRAFT\n"
    "for an alert that is not an actual one), the acknowledgement matrix, e.g.\n"
    "'police:ACK licensing:OVERDUE childrens-services:DELIVERED' (optional\n"
    "recipients end in '/opt'), and the time to ('due in 12m') or past ('overdue\n"
    "+5m12s') the earliest deadline not yet met.\n"
    "\n"
    "  --overdue          only alerts with a required agency past its deadline that\n"
    "                     has not acknowledged\n"
    "  --json             one JSON array of status objects (docs/agent.md)\n"
    "  --timeout T        how long to wait for the broker (default 10s)\n"
    "  -c, --config FILE  the agency's agent.conf\n"
    "  -h, --help         this help\n"
    "\n"
    "exit status: 0 listed (also when nothing is outstanding); 1 failed; 2 bad\n"
    "command line; 3 no answer in time; 4 agent.conf, keys or store unusable.\n";

typedef struct s_opts {
    vgt_who who;                 /* vigil-agent and "status" or "outstanding" */
    const char *config;          /* -c, overriding the global one */
    bool json;                   /* --json */
    bool overdue_only;           /* --overdue (outstanding) */
    int64_t timeout_ms;          /* --timeout */
    uint8_t id[VG_ALERT_ID_LEN]; /* the alert (status) */
} s_opts;

/* ---- arguments ---------------------------------------------------------------------------- */

/* Returns VGT_EXIT_OK to go on, VGT_HELP_SHOWN after --help, or an exit status. */
static int
s_parse_args(s_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},          {"overdue", no_argument, NULL, 'o'},
        {"timeout", required_argument, NULL, 't'}, {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    bool status = strcmp(o->who.command, "status") == 0;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(status ? s_help_status : s_help_outstanding, stdout);
            return VGT_HELP_SHOWN;
        } else if (c == 'j') {
            o->json = true;
        } else if (c == 'o' && !status) {
            o->overdue_only = true;
        } else if (c == 't') {
            if (!vgt_parse_timeout(&o->who, "--timeout", optarg, &o->timeout_ms)) {
                return vgt_usage_hint(&o->who);
            }
        } else if (c == 'c') {
            o->config = optarg;
        } else if (c == 'o') {
            return vgt_usage_error(&o->who, "--overdue is for 'outstanding'");
        } else {
            return vgt_bad_option(&o->who, c, argv);
        }
    }
    if (status && !vgt_take_alert_id(&o->who, argc, argv, o->id)) {
        return vgt_usage_hint(&o->who);
    }
    if (!status && optind < argc) {
        return vgt_unexpected_argument(&o->who, argv[optind], NULL);
    }
    return VGT_EXIT_OK;
}

/* Prints one line of JSON and frees it; false when it could not. */
static bool
s_print_text(char *text)
{
    bool ok = printf("%s\n", text) >= 0;
    free(text);
    return ok;
}

/* ---- for people --------------------------------------------------------------------------- */

static void
s_print_field(const char *label, const char *text)
{
    char line[VG_REASON_MAX];
    vgt_one_line(line, sizeof line, text);
    printf("%-12s%s\n", label, line);
}

/* ' officer "NAME"' and the like, when text is set. */
static void
s_print_quoted(const char *label, const char *text)
{
    if (text != NULL && text[0] != '\0') {
        char line[VG_REASON_MAX];
        vgt_one_line(line, sizeof line, text);
        printf("  %s \"%s\"", label, line);
    }
}

static void
s_print_recipient(const vga_recipient_status *r, int64_t now_ms)
{
    char deadline[VG_TIME_STR_LEN] = "-";
    if (r->deadline_ms > 0) {
        vg_time_format(deadline, sizeof deadline, r->deadline_ms);
    }
    printf("  %-20s %-13s%-8s  deadline %s", r->agency, vga_state_name(r->state),
           r->required ? "required" : "optional", deadline);
    if (vga_recipient_is_late(r, now_ms)) {
        char span[32];
        vgt_format_span(span, sizeof span, now_ms - r->deadline_ms);
        printf("  OVERDUE +%s", span);
    } else if (r->overdue && r->acknowledged_ms > r->deadline_ms && r->deadline_ms > 0) {
        char span[32];
        vgt_format_span(span, sizeof span, r->acknowledged_ms - r->deadline_ms);
        printf("  LATE +%s", span); /* acknowledged after its deadline */
    } else if (r->overdue) {
        printf("  (missed its deadline)");
    }
    s_print_quoted("officer", r->officer);
    s_print_quoted("note", r->note);
    s_print_quoted("reason", r->reason);
    if (r->shared_by[0] != '\0') {
        printf("  shared by %s", r->shared_by);
    }
    if (r->cover_for[0] != '\0') {
        printf("  out-of-hours cover for %s", r->cover_for);
    }
    putchar('\n');
}

/* The chain: earlier alerts about the same subject (docs/network.md "Link
 * tags"), and which required agencies never acknowledged how many. */
static void
s_print_linked(const vga_alert_status *st)
{
    if (st->n_linked == 0) {
        return;
    }
    printf("linked      %zu earlier alert%s about the same subject\n", st->n_linked,
           st->n_linked == 1 ? "" : "s");
    vg_strlist never = {0};
    for (size_t i = 0; i < st->n_linked; i++) {
        const vga_linked *l = &st->linked[i];
        char idhex[VG_ALERT_ID_HEX_LEN + 1] = "(not sent to you)";
        char when[VG_TIME_STR_LEN] = "";
        if (l->known) {
            vg_alert_id_hex(idhex, l->id);
            vg_time_format(when, sizeof when, l->accepted_ms);
        }
        printf("  %-32s %-24s", idhex, when);
        for (size_t k = 0; k < l->n_outcomes; k++) {
            printf(" %s:%s", l->outcomes[k].agency, vga_link_outcome_name(l->outcomes[k].outcome));
            if (l->outcomes[k].outcome == VGA_LINK_NEVER &&
                vg_strlist_add(&never, l->outcomes[k].agency) != VG_OK) {
                break; /* out of memory: the summary lines below are shorter */
            }
        }
        putchar('\n');
    }
    for (size_t i = 0; i < never.n; i++) {
        size_t count = 0;
        for (size_t k = 0; k < never.n; k++) {
            count += strcmp(never.items[k], never.items[i]) == 0;
        }
        bool first = true;
        for (size_t k = 0; k < i && first; k++) {
            first = strcmp(never.items[k], never.items[i]) != 0;
        }
        if (first) {
            printf("  %s never acknowledged %zu of them\n", never.items[i], count);
        }
    }
    vg_strlist_fini(&never);
}

static void
s_print_status(const vga_status_view *v, int64_t now_ms)
{
    const vga_alert_status *st = v->st;
    char buf[VG_REASON_MAX];
    vg_alert_id_hex(buf, st->id);
    s_print_field("alert", buf);
    const char *mark = vga_status_mark(st->status);
    if (mark != NULL) {
        snprintf(buf, sizeof buf, "%s: not an actual alert", mark);
    }
    s_print_field("status", mark != NULL ? buf : "actual");
    s_print_field("sender", st->sender);
    vg_time_format(buf, sizeof buf, st->created_ms);
    s_print_field("sent", buf);
    s_print_field("severity", vg_severity_name(st->severity));
    vg_strlist_join(buf, sizeof buf, &st->categories, ", ");
    s_print_field("categories", buf);
    s_print_field("complete", st->complete ? "yes" : "no");
    if (st->purged_ms != 0) {
        char at[VG_TIME_STR_LEN];
        vg_time_format(at, sizeof at, st->purged_ms);
        snprintf(buf, sizeof buf, "purged %s (retention): its record and proofs remain", at);
    }
    s_print_field("content", st->purged_ms != 0 ? buf : "kept");
    s_print_field("legal hold", st->held ? "yes" : "no");
    s_print_field("headline", v->headline ? v->headline : st->purged_ms != 0 ? "purged" : "sealed");
    printf("recipients\n");
    for (size_t i = 0; i < st->n_recipients; i++) {
        s_print_recipient(&st->recipients[i], now_ms);
    }
    s_print_linked(st);
}

/* "police:ACK licensing:OVERDUE ..." into out. */
static void
s_matrix(char *out, size_t out_len, const vga_alert_status *st, int64_t now_ms)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < st->n_recipients && used < out_len; i++) {
        const vga_recipient_status *r = &st->recipients[i];
        bool ended =
            r->state == VGA_ACKNOWLEDGED || r->state == VGA_DECLINED || r->state == VGA_UNOPENABLE;
        bool known = r->state >= VGA_PENDING && r->state <= VGA_UNOPENABLE;
        const char *token = !ended && vga_recipient_is_late(r, now_ms)
                                ? VGA_OVERDUE_TOKEN
                                : vga_state_token(known ? r->state : VGA_PENDING);
        int w = snprintf(out + used, out_len - used, "%s%s:%s%s", i ? " " : "", r->agency, token,
                         r->required ? "" : "/opt");
        used += w > 0 ? (size_t)w : 0;
    }
}

static void
s_print_outstanding_line(const vga_status_view *v, int64_t now_ms)
{
    const vga_alert_status *st = v->st;
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, st->id);
    char headline[S_HEADLINE_COLS + 16] = "sealed";
    const char *mark = vga_status_mark(st->status);
    if (v->headline != NULL) {
        char cut[S_HEADLINE_COLS + 1];
        vgt_one_line(cut, sizeof cut, v->headline);
        snprintf(headline, sizeof headline, "%s%s\"%s\"", mark ? mark : "", mark ? " " : "", cut);
    } else if (mark != NULL) {
        snprintf(headline, sizeof headline, "%s sealed", mark);
    }
    char matrix[VG_REASON_MAX];
    s_matrix(matrix, sizeof matrix, st, now_ms);
    char when[48] = "no open deadline";
    if (v->open_deadline_ms > 0) {
        char span[32];
        vgt_format_span(span, sizeof span, now_ms - v->open_deadline_ms);
        snprintf(when, sizeof when, now_ms >= v->open_deadline_ms ? "overdue +%s" : "due in %s",
                 span);
    }
    printf("%s  %-8s %-20s %s  %s  %s\n", idhex, vg_severity_name(st->severity), st->sender,
           headline, matrix, when);
}

/* ---- the commands ------------------------------------------------------------------------- */

/* Reports a failed query and returns the exit status. */
static int
s_query_failed(const s_opts *o, vg_err err, const vg_reason *why, const cli_session *s)
{
    if (err == VG_ERR_TIMEOUT) {
        vgt_error(&o->who, "no answer from the broker at %s in time; is it running?", s->endpoint);
        return VGT_EXIT_PENDING;
    }
    vgt_error(&o->who, "%s (%s)", why->text[0] ? why->text : vg_strerror(err), vg_err_code(err));
    return VGT_EXIT_FAIL;
}

static int
s_status(const s_opts *o, cli_session *s)
{
    vga_alert_status st;
    vg_reason why = {{0}};
    vg_err err = vga_status(s->agent, o->id, o->timeout_ms, &st, &why);
    if (err != VG_OK) {
        return s_query_failed(o, err, &why, s);
    }
    int64_t now_ms = vg_clock_wall_ms(vg_clock_system());
    vga_status_view v;
    vga_status_view_init(&v, s->agent, &st, now_ms);
    bool ok = true;
    if (o->json) {
        char *text = NULL;
        ok = vga_status_view_to_json(&text, &v, now_ms) == VG_OK && s_print_text(text);
    } else {
        s_print_status(&v, now_ms);
    }
    vga_status_view_fini(&v);
    vga_alert_status_fini(&st);
    return ok && fflush(stdout) == 0 ? VGT_EXIT_OK : VGT_EXIT_FAIL;
}

static bool
s_print_views(const s_opts *o, const vga_status_view *views, size_t n, int64_t now_ms)
{
    if (!o->json) {
        for (size_t i = 0; i < n; i++) {
            s_print_outstanding_line(&views[i], now_ms);
        }
        if (n == 0) {
            printf("nothing outstanding%s\n", o->overdue_only ? " is overdue" : "");
        }
        return true;
    }
    char *text = NULL;
    return vga_status_views_to_json(&text, views, n, now_ms) == VG_OK && s_print_text(text);
}

static int
s_outstanding(const s_opts *o, cli_session *s)
{
    vga_status_list list;
    vg_reason why = {{0}};
    vg_err err = vga_outstanding(s->agent, o->timeout_ms, &list, &why);
    if (err != VG_OK) {
        return s_query_failed(o, err, &why, s);
    }
    int64_t now_ms = vg_clock_wall_ms(vg_clock_system());
    vga_status_view *views = NULL;
    size_t n = 0;
    bool ok =
        vga_status_views_outstanding(&views, &n, s->agent, &list, o->overdue_only, now_ms) == VG_OK;
    if (ok) {
        ok = s_print_views(o, views, n, now_ms);
    }
    vga_status_views_free(views, n);
    vga_status_list_fini(&list);
    if (!ok) {
        vgt_error(&o->who, "out of memory");
    }
    return ok && fflush(stdout) == 0 ? VGT_EXIT_OK : VGT_EXIT_FAIL;
}

static int
s_run(const char *cmd, const char *config, int argc, char **argv)
{
    s_opts o = {.who = {CLI_PROGRAM, cmd}, .config = config, .timeout_ms = S_DEFAULT_TIMEOUT_MS};
    int rc = s_parse_args(&o, argc, argv);
    if (rc != VGT_EXIT_OK) {
        return rc == VGT_HELP_SHOWN ? VGT_EXIT_OK : rc;
    }
    cli_session s;
    rc = cli_session_open(&s, o.config, &o.who, false, false, NULL);
    if (rc != VGT_EXIT_OK) {
        return rc;
    }
    rc = strcmp(cmd, "status") == 0 ? s_status(&o, &s) : s_outstanding(&o, &s);
    cli_session_close(&s);
    return rc;
}

int
cli_cmd_status(const char *config, int argc, char **argv)
{
    return s_run("status", config, argc, argv);
}

int
cli_cmd_outstanding(const char *config, int argc, char **argv)
{
    return s_run("outstanding", config, argc, argv);
}
