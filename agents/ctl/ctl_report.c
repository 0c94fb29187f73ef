/*
 * ctl_report.c — vigilctl report --unshared: the report an inquiry asks for.
 *
 * Every alert where a required agency had not acknowledged by its deadline
 * (acknowledged late, declined, or never acknowledged), and per-agency
 * figures: alerts it had to acknowledge, how many it did, median and worst
 * time to acknowledge, how many it let run late.
 *
 * Reads the broker's store read-only through broker/store.h (SQLite or
 * PostgreSQL), in one read transaction, so the report is one consistent
 * snapshot even while the broker runs and writes.
 * It never changes the store and never sees content: the store holds none.
 *
 * Definitions (docs/vigilctl.md says the same for readers of the report):
 * - deadline: the recipient row's deadline; when the broker recorded the
 *   row overdue earlier than that (an IN_PROGRESS receipt extended it
 *   afterwards), the overdue time stands for the deadline that was missed;
 * - late by: acknowledged time (or now, if never) minus that deadline;
 * - time to acknowledge: acknowledged time minus the time the agency was
 *   asked: the alert's acceptance, or for an agency added by a share the
 *   time the broker accepted the share.
 * Exercises and tests: the broker tracks an exercise, test, system or draft
 * alert exactly like an actual one (its status is in the signed metadata).
 * The report keeps them apart (vga_status_is_actual decides): the rows and
 * figures for actual alerts never count them, and they get a part of their
 * own with the same rows and figures, per status and agency. A period with
 * no actual alert says so rather than showing an empty, clean-looking table.
 * Trade-off: all rows in the range are held in memory (the median needs
 * them); a report is run by hand, on history an inquiry asks about.
 *
 * Evidence: before it reports, it runs `vigilctl audit verify`'s checks
 * (ctl_audit_check: the Merkle log and every row against the leaves that
 * record it) in the same read transaction, so the report is made from
 * exactly the state that verified; a store that does not verify is
 * refused (exit 1, the fault on stderr). This costs a pass over the store
 * (seconds; about a minute at a million alerts: docs/performance.md), which
 * a report run by hand can afford. --no-verify skips it, and then every
 * format says loudly that the report was not verified.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <libgen.h>

#include "ctl.h"
#include "ctl_report_linked.h"
#include "ctl_report_revoked.h"
#include "ctl_report_why.h"
#include "store.h"
#include "vigil/agent.h"
#include "vigil/broker_config.h"
#include "vigil/clock.h"
#include "vigil/util.h"
#include "vigil/wire.h"

static const vgt_who s_who = {CTL_PROGRAM, "report"};
#define S_TEXT_COLS_MAX 12 /* columns of a text table */
/* What a report of a period without actual alerts says (csv: on stderr). */
/* What a report made with --no-verify says, in every format. */
#define S_NOT_VERIFIED                                                                             \
    "NOT VERIFIED: this store was not checked against its audit log (--no-verify); do not rely "   \
    "on this report before 'vigilctl audit verify' passes on the store"
#define S_NO_ACTUAL                                                                                \
    "no actual alerts in this period: nothing here shows how agencies handled actual alerts, "     \
    "so this is not a clean record"

static const char s_help[] =
    "usage: vigilctl report (-c BROKER_CONF | (--store DIR | --dsn DSN) [--network FILE\n"
    "                       --admin-key HEX]) --unshared [--since DATE]\n"
    "                       [--format text|csv|json] [--no-verify]\n"
    "       vigilctl report (same store options) --linked [--format text|json]\n"
    "                       [--no-verify]\n"
    "\n"
    "Reads the broker's store (read-only; the broker may be running) and lists\n"
    "every alert where a required agency had not acknowledged by its deadline:\n"
    "the alert, its sender, acceptance time, severity and categories, the late\n"
    "agency, its deadline, how late, and whether it was acknowledged later (by\n"
    "whom), declined (why), could not be opened by it (why: the sender must send\n"
    "it again), how far it was escalated and who shared it, and why the deadline\n"
    "fell where it did (the rule, calendar and version its audit leaf records;\n"
    "deadline_why in csv and json). Then,\n"
    "per agency: alerts it had to acknowledge, acknowledged, median and worst\n"
    "time to acknowledge, number overdue. Only actual alerts count there:\n"
    "exercise, test, system and draft alerts get their own section with their\n"
    "own figures (\"Exercises and tests\"; a status column in csv, \"exercises\"\n"
    "in json).\n"
    "\n"
    "options:\n"
    "  -c, --config FILE   the broker's broker.conf (its [broker] store is read)\n"
    "  --store DIR         the broker's store directory (holding vigil.db)\n"
    "  --dsn DSN           a PostgreSQL store: a libpq connection string or URI\n"
    "  --unshared          the unshared-alert report\n"
    "  --linked            chains of linked alerts (the same subject reference or\n"
    "                      incident, docs/network.md \"Link tags\"): each alert with\n"
    "                      every required agency's outcome (acknowledged, late,\n"
    "                      never, open), and FLAG lines for agencies that failed\n"
    "                      more than one warning of a chain; the whole store\n"
    "  --since DATE        only alerts accepted at or after DATE: YYYY-MM-DD (UTC\n"
    "                      midnight) or an RFC 3339 time, e.g. 2026-01-31T08:00:00Z\n"
    "                      (an offset like +01:00 is converted to UTC)\n"
    "  --network FILE      with --store or --dsn: the signed network document, and\n"
    "  --admin-key HEX     its administrator's key, to verify the store with\n"
    "                      (without them, DIR/../broker.conf is read)\n"
    "  --no-verify         do not check the store against its audit log first; the\n"
    "                      report then says NOT VERIFIED\n"
    "  --format F          text (default, tables), csv (four tables: unshared and\n"
    "                      per agency for actual alerts, then for exercises and\n"
    "                      tests; each with a header row, separated by an empty\n"
    "                      line) or json ({\"unshared\": [...], \"agencies\": [...],\n"
    "                      \"exercises\": {...}})\n"
    "  -h, --help          this help\n"
    "\n"
    "The store is first checked as 'vigilctl audit verify' checks it, in the same\n"
    "snapshot the report is made from: a store that does not answer to its audit\n"
    "log is refused (its fault is printed), since such a report is no evidence.\n"
    "\n"
    "Exit status: 0 the report was written (late alerts or not), 1 the store\n"
    "could not be read or does not verify, 2 the command line was wrong.\n";

typedef enum s_format { S_TEXT, S_CSV, S_JSON } s_format;

typedef struct s_opts {
    const char *conf;      /* -c broker.conf, or NULL */
    const char *store;     /* --store DIR, or NULL */
    const char *dsn;       /* --dsn DSN, or NULL */
    const char *network;   /* --network FILE, or NULL */
    const char *admin_key; /* --admin-key HEX, or NULL */
    bool no_verify;        /* --no-verify */
    bool unshared;         /* --unshared given */
    bool linked;           /* --linked given */
    int64_t since_ms;      /* --since, 0 = everything */
    s_format format;       /* --format */
} s_opts;

/* One required recipient row that missed its deadline. */
typedef struct s_late {
    char alert_id[VG_ALERT_ID_HEX_LEN + 1]; /* hex */
    char *sender;                           /* sender agency */
    int64_t accepted_ms;                    /* broker acceptance time */
    int severity;                           /* wire value */
    char *categories;                       /* comma-separated */
    char *agency;                           /* the late agency */
    int64_t deadline_ms;                    /* the deadline it missed */
    int64_t late_ms;                        /* how late (> 0, or 0 for a prompt decline) */
    vgb_rstate state;                       /* the recipient's state */
    vg_status status;                       /* the alert's (ACTUAL in the actual part) */
    int64_t acked_ms;                       /* 0 = never acknowledged */
    char *officer;                          /* who acknowledged, "" if nobody */
    char *reason;                           /* declined / in progress reason */
    int esc_level;                          /* escalation level reached */
    char *shared_by;                        /* "" unless added by a share */
    uint8_t id[VG_ALERT_ID_LEN];            /* the alert id */
    char *why;                              /* why the deadline fell there (its leaf), or "" */
    bool revoked;                           /* revoked before it acknowledged */
    char successor[VG_AUDIT_NAME_MAX];      /* revoked: who inherited it, or "" */
} s_late;

/* Per-agency figures (per status and agency for exercises and tests). */
typedef struct s_fig {
    char *agency;        /* the agency */
    vg_status status;    /* the alerts' status (ACTUAL in the actual part) */
    uint64_t n_required; /* rows where it was a required recipient */
    uint64_t n_acked;    /* of them acknowledged */
    uint64_t n_overdue;  /* of them late (the rows of the report) */
    int64_t *ack_ms;     /* times to acknowledge, n_acked of them */
    size_t cap_ack;      /* allocated */
} s_fig;

/* One part of the report: actual alerts, or exercises and tests. */
typedef struct s_part {
    s_late *late;                              /* the unshared rows, in acceptance order */
    size_t n_late;                             /* count */
    size_t cap_late;                           /* allocated */
    s_fig *figs;                               /* per agency (and status) */
    size_t n_figs;                             /* count */
    size_t cap_figs;                           /* allocated */
    uint64_t n_alerts;                         /* alerts with a required recipient */
    uint64_t last_seq;                         /* the alert last counted (its rows come together) */
    uint64_t n_by_status[VG_STATUS_DRAFT + 1]; /* alerts per status */
} s_part;

typedef struct s_report {
    int64_t now_ms;                   /* when the report was made */
    bool verified;                    /* the store answered to its audit log */
    uint64_t n_leaves, n_checkpoints; /* what verified */
    vgb_store *store;                 /* read for the rows of revoked agencies */
    s_part actual;                    /* actual alerts: the report's figures */
    s_part exercises;                 /* exercise, test, system and draft alerts, apart */
} s_report;

/* ---- command line ---------------------------------------------------------- */

/* Parses argv into o; returns VGT_EXIT_OK to go on, VGT_HELP_SHOWN after
 * --help, or the exit code. */
static int
s_parse_args(int argc, char **argv, s_opts *o)
{
    enum {
        O_STORE = 256,
        O_UNSHARED,
        O_SINCE,
        O_FORMAT,
        O_NETWORK,
        O_ADMIN,
        O_NO_VERIFY,
        O_DSN,
        O_LINKED
    };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"store", required_argument, NULL, O_STORE},
        {"dsn", required_argument, NULL, O_DSN},
        {"unshared", no_argument, NULL, O_UNSHARED},
        {"linked", no_argument, NULL, O_LINKED},
        {"since", required_argument, NULL, O_SINCE},
        {"format", required_argument, NULL, O_FORMAT},
        {"network", required_argument, NULL, O_NETWORK},
        {"admin-key", required_argument, NULL, O_ADMIN},
        {"no-verify", no_argument, NULL, O_NO_VERIFY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(s_help, stdout);
            return VGT_HELP_SHOWN;
        case 'c':
            o->conf = optarg;
            break;
        case O_STORE:
            o->store = optarg;
            break;
        case O_DSN:
            o->dsn = optarg;
            break;
        case O_UNSHARED:
            o->unshared = true;
            break;
        case O_LINKED:
            o->linked = true;
            break;
        case O_NETWORK:
            o->network = optarg;
            break;
        case O_ADMIN:
            o->admin_key = optarg;
            break;
        case O_NO_VERIFY:
            o->no_verify = true;
            break;
        case O_SINCE:
            if (!vgt_parse_time(&s_who, "--since", optarg, VG_TIME_OR_DATE, &o->since_ms)) {
                return vgt_usage_hint(&s_who);
            }
            break;
        case O_FORMAT:
            if (strcmp(optarg, "text") == 0) {
                o->format = S_TEXT;
            } else if (strcmp(optarg, "csv") == 0) {
                o->format = S_CSV;
            } else if (strcmp(optarg, "json") == 0) {
                o->format = S_JSON;
            } else {
                return vgt_usage_error(&s_who, "--format '%s': use text, csv or json", optarg);
            }
            break;
        default:
            return vgt_bad_option(&s_who, c, argv);
        }
    }
    if (optind != argc) {
        return vgt_unexpected_argument(&s_who, argv[optind], NULL);
    }
    if ((o->conf != NULL) + (o->store != NULL) + (o->dsn != NULL) != 1) {
        return vgt_usage_error(&s_who, "say where the store is: -c BROKER_CONF, --store DIR or "
                                       "--dsn DSN (one of them)");
    }
    if (o->unshared == o->linked) {
        return vgt_usage_error(&s_who, "say which report: --unshared or --linked (one of them)");
    }
    if (o->linked && (o->format == S_CSV || o->since_ms != 0)) {
        return vgt_usage_error(&s_who, "--linked reports the whole store as text or json");
    }
    if ((o->network == NULL) != (o->admin_key == NULL) || (o->network != NULL && o->conf != NULL)) {
        return vgt_usage_error(&s_who,
                               "--network and --admin-key go together, with --store or --dsn");
    }
    if (o->dsn != NULL && o->network == NULL && !o->no_verify) {
        return vgt_usage_error(&s_who, "--dsn needs --network FILE and --admin-key HEX to "
                                       "verify the store (or --no-verify)");
    }
    return VGT_EXIT_OK;
}

/* ---- the store ------------------------------------------------------------------ */

/* Opens the store read-only, inside one read transaction: --store DIR (or
 * the directory of DIR/vigil.db when given the file), --dsn DSN (a
 * PostgreSQL store), or the one broker.conf names; NULL (said) when it is
 * not a store this reads. */
static vgb_store *
s_open(const s_opts *o)
{
    vgb_store *store = NULL;
    vg_reason why = {{0}};
    vg_err rc = VG_OK;
    if (o->dsn != NULL) {
        rc = vgb_store_open_readonly_dsn(&store, o->dsn, &why);
    } else if (o->store != NULL) {
        struct stat st;
        char *p = vg_strdup(o->store);
        if (p != NULL && stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            char *dir = vg_strdup(dirname(p));
            free(p);
            p = dir;
        }
        if (p == NULL) {
            ctl_out_of_memory();
        }
        rc = vgb_store_open_readonly(&store, p, &why);
        free(p);
    } else {
        vg_broker_config *cfg = NULL;
        rc = vg_broker_config_load(&cfg, o->conf, &why);
        rc = rc == VG_OK ? vgb_store_open_readonly_config(&store, cfg, &why) : rc;
        vg_broker_config_destroy(&cfg);
    }
    if (rc == VG_OK && (rc = vgb_store_read_begin(store, &why)) != VG_OK) {
        vgb_store_destroy(&store);
    }
    if (rc != VG_OK) {
        vgt_error(&s_who, "%s%s", why.text[0] ? why.text : vg_strerror(rc),
                  rc == VG_ERR_NOT_FOUND ? ": give the broker's store directory (--store DIR), "
                                           "its broker.conf (-c) or --dsn DSN"
                                         : "");
        return NULL;
    }
    return store;
}

/* The store of t (the one to verify), opened as s_open does. */
static vgb_store *
s_open_target(const ctl_audit_target *t)
{
    vgb_store *store = NULL;
    vg_reason why = {{0}};
    vg_err rc = ctl_audit_store_open(&store, t, &why);
    if (rc != VG_OK) {
        vgt_error(&s_who, "%s%s", why.text[0] ? why.text : vg_strerror(rc),
                  rc == VG_ERR_NOT_FOUND ? ": give the broker's store directory (--store DIR), "
                                           "its broker.conf (-c) or --dsn DSN"
                                         : "");
        return NULL;
    }
    return store;
}

/* ---- collecting ------------------------------------------------------------------ */

static void *
s_grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) {
        return p;
    }
    size_t ncap = *cap ? *cap * 2 : 16;
    void *np = realloc(p, ncap * size);
    if (np == NULL) {
        ctl_out_of_memory();
    }
    *cap = ncap;
    return np;
}

static s_fig *
s_fig_of(s_part *p, const char *agency, vg_status status)
{
    for (size_t i = 0; i < p->n_figs; i++) {
        if (p->figs[i].status == status && strcmp(p->figs[i].agency, agency) == 0) {
            return &p->figs[i];
        }
    }
    p->figs = s_grow(p->figs, &p->cap_figs, p->n_figs, sizeof *p->figs);
    s_fig *f = &p->figs[p->n_figs++];
    memset(f, 0, sizeof *f);
    f->status = status;
    f->agency = vg_strdup(agency);
    if (f->agency == NULL) {
        ctl_out_of_memory();
    }
    return f;
}

static char *
s_dup(const char *t)
{
    char *p = vg_strdup(t != NULL ? t : "");
    if (p == NULL) {
        fputs("vigilctl: out of memory\n", stderr);
        exit(VGT_EXIT_FAIL);
    }
    return p;
}

/* The part an alert belongs in, counting the alert once (its rows come
 * together: the store orders them by alert); *status is what the part
 * records for it: ACTUAL for every actual alert. */
static s_part *
s_part_of(s_report *r, const vgb_alert_meta *m, vg_status *status)
{
    bool actual = vga_status_is_actual((vg_status)m->status);
    s_part *p = actual ? &r->actual : &r->exercises;
    *status = actual ? VG_STATUS_ACTUAL : (vg_status)m->status;
    if (p->n_alerts == 0 || p->last_seq != m->seq) {
        p->n_alerts++;
        p->n_by_status[*status]++;
        p->last_seq = m->seq;
    }
    return p;
}

/* Adds one required row with a deadline to the figures of its part and,
 * when it was late, that part's rows (a vgb_report_fn). */
static void
s_take_row(void *ctx, const vgb_report_row *row)
{
    s_report *r = ctx;
    const vgb_rrow *rr = row->row;
    vg_status status;
    s_part *p = s_part_of(r, row->alert, &status);
    if (rr->deadline_ms <= 0) {
        return; /* no deadline: nothing to be late for */
    }
    s_fig *f = s_fig_of(p, rr->agency, status);
    int64_t acked = rr->acked_ms;
    int64_t deadline = rr->deadline_ms;
    int64_t overdue = rr->overdue_ms;
    f->n_required++;
    if (acked > 0) {
        f->ack_ms = s_grow(f->ack_ms, &f->cap_ack, f->n_acked, sizeof *f->ack_ms);
        int64_t took = acked - row->asked_ms;
        f->ack_ms[f->n_acked++] = took > 0 ? took : 0;
    }
    if (overdue > 0 && overdue < deadline) {
        deadline = overdue; /* the deadline missed before an extension */
    }
    int64_t late = (acked > 0 ? acked : r->now_ms) - deadline;
    char successor[VG_AUDIT_NAME_MAX] = "";
    bool revoked = acked == 0 && rr->state != VGB_DECLINED && rr->state != VGB_UNOPENABLE &&
                   rr->state != VGB_ACKNOWLEDGED &&
                   vgt_report_revoked(r->store, row->alert->seq, rr->agency, successor);
    if (late <= 0 && overdue == 0 && rr->state != VGB_DECLINED && rr->state != VGB_UNOPENABLE &&
        !revoked) {
        return; /* a revoked agency's row is always listed: it will never act */
    }
    f->n_overdue++;
    p->late = s_grow(p->late, &p->cap_late, p->n_late, sizeof *p->late);
    s_late *l = &p->late[p->n_late++];
    memset(l, 0, sizeof *l);
    l->status = status;
    vg_alert_id_hex(l->alert_id, row->alert->id);
    memcpy(l->id, row->alert->id, VG_ALERT_ID_LEN);
    l->sender = s_dup(row->alert->sender);
    l->accepted_ms = row->alert->accepted_ms;
    l->severity = row->alert->severity;
    l->categories = s_dup(row->alert->categories);
    l->agency = s_dup(rr->agency);
    l->deadline_ms = deadline;
    l->late_ms = late > 0 ? late : 0;
    l->state = rr->state;
    l->acked_ms = acked;
    l->officer = s_dup(row->officer);
    l->reason = s_dup(row->reason);
    l->esc_level = (int)rr->esc_level;
    l->shared_by = s_dup(rr->shared_by);
    l->revoked = revoked;
    memcpy(l->successor, successor, sizeof l->successor);
}

static int
s_cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* By status (exercise, test, system, draft), then agency. */
static int
s_cmp_fig(const void *x, const void *y)
{
    const s_fig *a = x, *b = y;
    if (a->status != b->status) {
        return a->status < b->status ? -1 : 1;
    }
    return strcmp(a->agency, b->agency);
}

static void
s_part_sort(s_part *p)
{
    if (p->n_figs > 0) { /* qsort of NULL is undefined even for 0 items */
        qsort(p->figs, p->n_figs, sizeof *p->figs, s_cmp_fig);
    }
    for (size_t i = 0; i < p->n_figs; i++) {
        if (p->figs[i].n_acked > 0) {
            qsort(p->figs[i].ack_ms, p->figs[i].n_acked, sizeof(int64_t), s_cmp_i64);
        }
    }
}

/* Reads the report in one read transaction; false (with a message) when
 * the store cannot be read. */
static bool
s_collect(vgb_store *store, const s_opts *o, s_report *r)
{
    vg_err rc = vgb_store_required_rows(store, o->since_ms, s_take_row, r);
    s_part *parts[] = {&r->actual, &r->exercises};
    for (size_t k = 0; k < 2 && rc == VG_OK; k++) { /* the late ones: why their deadline */
        for (size_t i = 0; i < parts[k]->n_late; i++) {
            s_late *l = &parts[k]->late[i];
            l->why = ctl_deadline_why(store, l->id, l->agency);
        }
    }
    if (rc != VG_OK) {
        vgt_error(&s_who, "cannot read %s: %s", vgb_store_path(store), vg_err_code(rc));
    }
    s_part_sort(&r->actual);
    s_part_sort(&r->exercises);
    return rc == VG_OK;
}

static void
s_part_fini(s_part *p)
{
    for (size_t i = 0; i < p->n_late; i++) {
        s_late *l = &p->late[i];
        free(l->sender);
        free(l->categories);
        free(l->agency);
        free(l->officer);
        free(l->reason);
        free(l->shared_by);
        free(l->why);
    }
    free(p->late);
    for (size_t i = 0; i < p->n_figs; i++) {
        free(p->figs[i].agency);
        free(p->figs[i].ack_ms);
    }
    free(p->figs);
}

static void
s_report_fini(s_report *r)
{
    s_part_fini(&r->actual);
    s_part_fini(&r->exercises);
}

/* Median of sorted values (the mean of the middle two for an even count). */
static int64_t
s_median(const s_fig *f)
{
    size_t n = f->n_acked;
    return n % 2 ? f->ack_ms[n / 2] : (f->ack_ms[n / 2 - 1] + f->ack_ms[n / 2]) / 2;
}

static const char *
s_outcome(const s_late *l)
{
    return l->acked_ms > 0                 ? "acknowledged late"
           : l->state == VGB_DECLINED      ? "declined"
           : l->state == VGB_UNOPENABLE    ? "could not open it: sender must resend"
           : l->revoked && l->successor[0] ? "required agency revoked; its successor inherited it"
           : l->revoked                    ? "required agency revoked; alert needs a new owner"
           : l->state == VGB_IN_PROGRESS   ? "in progress, not acknowledged"
                                           : "never acknowledged";
}

/* The store's recipients.state values are the wire's RecipientState, which
 * vga_state mirrors: one spelling for them all. */
static const char *
s_state_name(int state)
{
    return vga_state_name((vga_state)state);
}

/* The mark of a status for people: "EXERCISE", "TEST", ...; "ACTUAL". */
static const char *
s_status_mark(vg_status st)
{
    const char *mark = vga_status_mark(st);
    return mark != NULL ? mark : "ACTUAL";
}

/* ---- text ------------------------------------------------------------------------- */

/* "850ms", "12.3s", "4m05s", "3h07m", "2d05h". */
static void
s_human_ms(char *out, size_t len, int64_t ms)
{
    if (ms < 1000) {
        snprintf(out, len, "%" PRId64 "ms", ms);
    } else if (ms < 60000) {
        snprintf(out, len, "%" PRId64 ".%" PRId64 "s", ms / 1000, ms % 1000 / 100);
    } else if (ms < 3600000) {
        snprintf(out, len, "%" PRId64 "m%02" PRId64 "s", ms / 60000, ms % 60000 / 1000);
    } else if (ms < 86400000) {
        snprintf(out, len, "%" PRId64 "h%02" PRId64 "m", ms / 3600000, ms % 3600000 / 60000);
    } else {
        snprintf(out, len, "%" PRId64 "d%02" PRId64 "h", ms / 86400000, ms % 86400000 / 3600000);
    }
}

/* A text table: cells are copied, control characters (from officers'
 * names and reasons, which are other agencies' words) shown as '?'. */
typedef struct s_table {
    size_t n_cols;                 /* columns */
    char **cells;                  /* row-major, n_rows * n_cols */
    size_t n_cells, cap_cells;     /* used, allocated */
    size_t width[S_TEXT_COLS_MAX]; /* widest cell per column */
} s_table;

static void
s_cell(s_table *t, const char *text)
{
    t->cells = s_grow(t->cells, &t->cap_cells, t->n_cells, sizeof *t->cells);
    char *c = vg_strdup(text);
    if (c == NULL) {
        ctl_out_of_memory();
    }
    for (char *p = c; *p != '\0'; p++) {
        *p = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
    }
    size_t col = t->n_cells % t->n_cols, len = strlen(c);
    t->width[col] = len > t->width[col] ? len : t->width[col];
    t->cells[t->n_cells++] = c;
}

static void
s_table_print(s_table *t)
{
    for (size_t i = 0; i < t->n_cells; i++) {
        size_t col = i % t->n_cols;
        bool last = col == t->n_cols - 1;
        printf("%-*s%s", last ? 0 : (int)t->width[col], t->cells[i], last ? "\n" : "  ");
        free(t->cells[i]);
    }
    free(t->cells);
}

/* One unshared row; with_status puts the alert's mark (EXERCISE, TEST, ...)
 * in a first column. */
static void
s_text_late_row(s_table *t, const s_late *l, bool with_status)
{
    char when[VG_TIME_STR_LEN], deadline[VG_TIME_STR_LEN], late[32], esc[16], outcome[512];
    vg_time_format(when, sizeof when, l->accepted_ms);
    vg_time_format(deadline, sizeof deadline, l->deadline_ms);
    s_human_ms(late, sizeof late, l->late_ms);
    snprintf(esc, sizeof esc, "%d", l->esc_level);
    char acked[VG_TIME_STR_LEN] = "";
    vg_time_format(acked, sizeof acked, l->acked_ms);
    if (l->acked_ms > 0) {
        snprintf(outcome, sizeof outcome, "acknowledged late at %s by %s", acked,
                 l->officer[0] ? l->officer : "?");
    } else if (l->revoked && l->successor[0] != '\0') {
        snprintf(outcome, sizeof outcome, "%s: %s", s_outcome(l), l->successor);
    } else if (l->reason[0] != '\0') {
        snprintf(outcome, sizeof outcome, "%s: %s", s_outcome(l), l->reason);
    } else {
        snprintf(outcome, sizeof outcome, "%s (%s)", s_outcome(l), s_state_name(l->state));
    }
    if (with_status) {
        s_cell(t, s_status_mark(l->status));
    }
    const char *cells[] = {l->alert_id,   l->sender,
                           when,          vg_severity_name((vg_severity)l->severity),
                           l->categories, l->agency,
                           deadline,      late,
                           esc,           l->shared_by[0] ? l->shared_by : "-",
                           outcome};
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
        s_cell(t, cells[i]);
    }
}

/* The unshared rows of a part as a table. */
static void
s_text_late(const s_part *p, bool with_status)
{
    s_table t = {.n_cols = with_status ? 12 : 11};
    const char *head[] = {"ALERT",    "SENDER",  "ACCEPTED", "SEVERITY",  "CATEGORIES", "AGENCY",
                          "DEADLINE", "LATE BY", "ESC",      "SHARED BY", "OUTCOME"};
    if (with_status) {
        s_cell(&t, "STATUS");
    }
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++) {
        s_cell(&t, head[i]);
    }
    for (size_t i = 0; i < p->n_late; i++) {
        s_text_late_row(&t, &p->late[i], with_status);
    }
    s_table_print(&t);
    bool any = false;
    for (size_t i = 0; i < p->n_late; i++) {
        const s_late *l = &p->late[i];
        if (l->why != NULL && l->why[0] != '\0') {
            if (!any) {
                printf("\nWhy each deadline fell where it did (from the audit log):\n");
                any = true;
            }
            printf("  %s %s: %s\n", l->alert_id, l->agency, l->why);
        }
    }
}

/* The per-agency figures of a part as a table (with_status: a first
 * column with the status the figures are for). */
static void
s_text_figs(const s_part *p, bool with_status)
{
    s_table a = {.n_cols = with_status ? 7 : 6};
    const char *ahead[] = {"AGENCY", "REQUIRED", "ACKNOWLEDGED", "MEDIAN", "WORST", "OVERDUE"};
    if (with_status) {
        s_cell(&a, "STATUS");
    }
    for (size_t i = 0; i < sizeof ahead / sizeof ahead[0]; i++) {
        s_cell(&a, ahead[i]);
    }
    for (size_t i = 0; i < p->n_figs; i++) {
        const s_fig *f = &p->figs[i];
        char req[24], ack[24], med[32] = "-", worst[32] = "-", ovd[24];
        snprintf(req, sizeof req, "%" PRIu64, f->n_required);
        snprintf(ack, sizeof ack, "%" PRIu64, f->n_acked);
        snprintf(ovd, sizeof ovd, "%" PRIu64, f->n_overdue);
        if (f->n_acked > 0) {
            s_human_ms(med, sizeof med, s_median(f));
            s_human_ms(worst, sizeof worst, f->ack_ms[f->n_acked - 1]);
        }
        if (with_status) {
            s_cell(&a, s_status_mark(f->status));
        }
        const char *cells[] = {f->agency, req, ack, med, worst, ovd};
        for (size_t j = 0; j < sizeof cells / sizeof cells[0]; j++) {
            s_cell(&a, cells[j]);
        }
    }
    s_table_print(&a);
}

/* "2 exercise, 1 test": the exercises' alerts per status. */
static void
s_by_status(char *out, size_t len, const s_part *p)
{
    out[0] = '\0';
    for (int st = VG_STATUS_EXERCISE; st <= VG_STATUS_DRAFT; st++) {
        size_t used = strlen(out);
        if (p->n_by_status[st] > 0 && used < len) {
            snprintf(out + used, len - used, "%s%" PRIu64 " %s", used ? ", " : "",
                     p->n_by_status[st], vg_status_name((vg_status)st));
        }
    }
}

static void
s_text_actual(const s_report *r, const s_opts *o)
{
    char now[VG_TIME_STR_LEN], since[VG_TIME_STR_LEN];
    const s_part *p = &r->actual;
    vg_time_format(now, sizeof now, r->now_ms);
    vg_time_format(since, sizeof since, o->since_ms);
    printf("Unshared alerts: a required agency had not acknowledged by its deadline\n"
           "(actual alerts only: %zu row%s from %" PRIu64 " alert%s accepted since %s; report "
           "made %s)\n\n",
           p->n_late, p->n_late == 1 ? "" : "s", p->n_alerts, p->n_alerts == 1 ? "" : "s",
           o->since_ms ? since : "the start", now);
    if (p->n_alerts == 0) {
        printf("NO ACTUAL ALERTS in this period: nothing here shows how agencies handled\n"
               "actual alerts, so this is not a clean record.");
        if (r->exercises.n_alerts > 0) {
            printf("\n%" PRIu64 " exercise/test alert%s %s reported apart below.",
                   r->exercises.n_alerts, r->exercises.n_alerts == 1 ? "" : "s",
                   r->exercises.n_alerts == 1 ? "is" : "are");
        }
        printf("\n");
        return;
    }
    s_text_late(p, false);
    printf("\nPer agency (required recipient; time to acknowledge from acceptance, or from\n"
           "the share for an agency added by a share)\n\n");
    s_text_figs(p, false);
}

static void
s_text_exercises(const s_report *r)
{
    const s_part *p = &r->exercises;
    printf("\nExercises and tests: NOT ACTUAL ALERTS, counted in nothing above\n");
    if (p->n_alerts == 0) {
        printf("(none in this period)\n");
        return;
    }
    char by[128];
    s_by_status(by, sizeof by, p);
    printf("(%zu row%s from %" PRIu64 " alert%s: %s)\n\n", p->n_late, p->n_late == 1 ? "" : "s",
           p->n_alerts, p->n_alerts == 1 ? "" : "s", by);
    s_text_late(p, true);
    printf("\nPer agency and status, exercises and tests\n\n");
    s_text_figs(p, true);
}

static void
s_print_text(const s_report *r, const s_opts *o)
{
    if (r->verified) {
        printf("Verified against the audit log: %" PRIu64 " leaves, %" PRIu64
               " checkpoints; every row of the store answers to the log.\n\n",
               r->n_leaves, r->n_checkpoints);
    } else {
        printf("%s.\n\n", S_NOT_VERIFIED);
    }
    s_text_actual(r, o);
    s_text_exercises(r);
}

/* ---- csv --------------------------------------------------------------------------- */

/* RFC 4180: quoted when it holds a comma, quote or line break. */
static void
s_csv_field(const char *s, bool last)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, stdout);
    } else {
        putchar('"');
        for (; *s != '\0'; s++) {
            if (*s == '"') {
                putchar('"');
            }
            putchar(*s);
        }
        putchar('"');
    }
    fputs(last ? "\r\n" : ",", stdout);
}

static void
s_csv_time(int64_t ms, bool last)
{
    char t[VG_TIME_STR_LEN] = "";
    if (ms > 0) {
        vg_time_format(t, sizeof t, ms);
    }
    s_csv_field(t, last);
}

static void
s_csv_int(int64_t v, bool present, bool last)
{
    char t[32] = "";
    if (present) {
        snprintf(t, sizeof t, "%" PRId64, v);
    }
    s_csv_field(t, last);
}

/* The unshared rows of a part; the alert's status is the last column. */
static void
s_csv_late(const s_part *p)
{
    fputs("alert_id,sender,accepted,severity,categories,agency,deadline,late_ms,state,outcome,"
          "acknowledged_at,officer,declined,reason,escalation_level,shared_by,deadline_why,"
          "status\r\n",
          stdout);
    for (size_t i = 0; i < p->n_late; i++) {
        const s_late *l = &p->late[i];
        s_csv_field(l->alert_id, false);
        s_csv_field(l->sender, false);
        s_csv_time(l->accepted_ms, false);
        s_csv_field(vg_severity_name((vg_severity)l->severity), false);
        s_csv_field(l->categories, false);
        s_csv_field(l->agency, false);
        s_csv_time(l->deadline_ms, false);
        s_csv_int(l->late_ms, true, false);
        s_csv_field(s_state_name(l->state), false);
        s_csv_field(s_outcome(l), false);
        s_csv_time(l->acked_ms, false);
        s_csv_field(l->officer, false);
        s_csv_field(l->state == VGB_DECLINED ? "yes" : "no", false);
        s_csv_field(l->reason, false);
        s_csv_int(l->esc_level, true, false);
        s_csv_field(l->shared_by, false);
        s_csv_field(l->why != NULL ? l->why : "", false);
        s_csv_field(vg_status_name(l->status), true);
    }
}

/* The per-agency figures of a part; the status they are for is the last
 * column. */
static void
s_csv_figs(const s_part *p)
{
    fputs("agency,required,acknowledged,median_ack_ms,worst_ack_ms,overdue,status\r\n", stdout);
    for (size_t i = 0; i < p->n_figs; i++) {
        const s_fig *f = &p->figs[i];
        bool any = f->n_acked > 0;
        s_csv_field(f->agency, false);
        s_csv_int((int64_t)f->n_required, true, false);
        s_csv_int((int64_t)f->n_acked, true, false);
        s_csv_int(any ? s_median(f) : 0, any, false);
        s_csv_int(any ? f->ack_ms[f->n_acked - 1] : 0, any, false);
        s_csv_int((int64_t)f->n_overdue, true, false);
        s_csv_field(vg_status_name(f->status), true);
    }
}

/* Four tables: actual alerts first (where a reader of the older two-table
 * report looks), then exercises and tests. CSV has no room for a remark,
 * so a period without actual alerts is said on stderr. */
static void
s_print_csv(const s_report *r)
{
    s_csv_late(&r->actual);
    fputs("\r\n", stdout);
    s_csv_figs(&r->actual);
    fputs("\r\n", stdout);
    s_csv_late(&r->exercises);
    fputs("\r\n", stdout);
    s_csv_figs(&r->exercises);
    if (!r->verified) {
        vgt_error(&s_who, "%s", S_NOT_VERIFIED);
    }
    if (r->actual.n_alerts == 0) {
        vgt_error(&s_who,
                  "%s (the first two tables are empty; exercises and tests are in the "
                  "last two)",
                  S_NO_ACTUAL);
    }
}

/* ---- json --------------------------------------------------------------------------- */

static json_t *
s_json_time(int64_t ms)
{
    char t[VG_TIME_STR_LEN];
    if (ms <= 0) {
        return json_null();
    }
    vg_time_format(t, sizeof t, ms);
    return json_string(t);
}

static json_t *
s_json_late(const s_late *l)
{
    json_t *cats = json_array();
    char *copy = vg_strdup(l->categories);
    for (char *save = NULL, *c = copy ? strtok_r(copy, ",", &save) : NULL; c != NULL;
         c = strtok_r(NULL, ",", &save)) {
        json_array_append_new(cats, json_string(c));
    }
    free(copy);
    json_t *o = json_object();
    json_object_set_new(o, "alert_id", json_string(l->alert_id));
    json_object_set_new(o, "sender", json_string(l->sender));
    json_object_set_new(o, "accepted", s_json_time(l->accepted_ms));
    json_object_set_new(o, "severity", json_string(vg_severity_name((vg_severity)l->severity)));
    json_object_set_new(o, "categories", cats);
    json_object_set_new(o, "agency", json_string(l->agency));
    json_object_set_new(o, "deadline", s_json_time(l->deadline_ms));
    json_object_set_new(o, "late_ms", json_integer(l->late_ms));
    json_object_set_new(o, "state", json_string(s_state_name(l->state)));
    json_object_set_new(o, "outcome", json_string(s_outcome(l)));
    json_object_set_new(o, "acknowledged", json_boolean(l->acked_ms > 0));
    json_object_set_new(o, "acknowledged_at", s_json_time(l->acked_ms));
    json_object_set_new(o, "officer", l->officer[0] ? json_string(l->officer) : json_null());
    json_object_set_new(o, "declined", json_boolean(l->state == VGB_DECLINED));
    json_object_set_new(o, "unopenable", json_boolean(l->state == VGB_UNOPENABLE));
    json_object_set_new(o, "revoked", json_boolean(l->revoked));
    json_object_set_new(o, "successor", l->successor[0] ? json_string(l->successor) : json_null());
    json_object_set_new(o, "reason", l->reason[0] ? json_string(l->reason) : json_null());
    json_object_set_new(o, "escalation_level", json_integer(l->esc_level));
    json_object_set_new(o, "shared_by", l->shared_by[0] ? json_string(l->shared_by) : json_null());
    json_object_set_new(o, "status", json_string(vg_status_name(l->status)));
    json_object_set_new(o, "deadline_why",
                        l->why != NULL && l->why[0] ? json_string(l->why) : json_null());
    return o;
}

static json_t *
s_json_fig(const s_fig *f)
{
    bool any = f->n_acked > 0;
    json_t *o = json_object();
    json_object_set_new(o, "agency", json_string(f->agency));
    json_object_set_new(o, "required", json_integer((json_int_t)f->n_required));
    json_object_set_new(o, "acknowledged", json_integer((json_int_t)f->n_acked));
    json_object_set_new(o, "median_ack_ms", any ? json_integer(s_median(f)) : json_null());
    json_object_set_new(o, "worst_ack_ms",
                        any ? json_integer(f->ack_ms[f->n_acked - 1]) : json_null());
    json_object_set_new(o, "overdue", json_integer((json_int_t)f->n_overdue));
    json_object_set_new(o, "status", json_string(vg_status_name(f->status)));
    return o;
}

/* Sets "unshared" and "agencies" of a part on obj. */
static void
s_json_part(json_t *obj, const s_part *p)
{
    json_t *late = json_array(), *figs = json_array();
    for (size_t i = 0; i < p->n_late; i++) {
        json_array_append_new(late, s_json_late(&p->late[i]));
    }
    for (size_t i = 0; i < p->n_figs; i++) {
        json_array_append_new(figs, s_json_fig(&p->figs[i]));
    }
    json_object_set_new(obj, "unshared", late);
    json_object_set_new(obj, "agencies", figs);
}

/* {"alerts", "by_status": {"exercise": 2, ...}, "unshared", "agencies"}. */
static json_t *
s_json_exercises(const s_part *p)
{
    json_t *ex = json_object(), *by = json_object();
    for (int st = VG_STATUS_EXERCISE; st <= VG_STATUS_DRAFT; st++) {
        if (p->n_by_status[st] > 0) {
            json_object_set_new(by, vg_status_name((vg_status)st),
                                json_integer((json_int_t)p->n_by_status[st]));
        }
    }
    json_object_set_new(ex, "alerts", json_integer((json_int_t)p->n_alerts));
    json_object_set_new(ex, "by_status", by);
    s_json_part(ex, p);
    return ex;
}

static bool
s_print_json(const s_report *r, const s_opts *o)
{
    json_t *root = json_object();
    json_object_set_new(root, "generated", s_json_time(r->now_ms));
    json_object_set_new(root, "since", s_json_time(o->since_ms));
    json_object_set_new(root, "verified", json_boolean(r->verified));
    json_object_set_new(root, "audit",
                        r->verified ? json_pack("{s:I, s:I}", "leaves", (json_int_t)r->n_leaves,
                                                "checkpoints", (json_int_t)r->n_checkpoints)
                                    : json_string(S_NOT_VERIFIED));
    json_object_set_new(root, "actual_alerts", json_integer((json_int_t)r->actual.n_alerts));
    json_object_set_new(root, "notice",
                        r->actual.n_alerts == 0 ? json_string(S_NO_ACTUAL) : json_null());
    s_json_part(root, &r->actual);
    json_object_set_new(root, "exercises", s_json_exercises(&r->exercises));
    int rc = json_dumpf(root, stdout, JSON_INDENT(2));
    json_decref(root);
    putchar('\n');
    return rc == 0;
}

/* ---- the command ------------------------------------------------------------------------ */

/* The store answers to its audit log (in the read transaction the report
 * is then made in); false (said) when it does not or cannot be read. */
static bool
s_verify(vgb_store *store, const ctl_audit_target *t, s_report *r)
{
    ctl_audit_result res;
    ctl_audit_check(&res, store, t, NULL, NULL, 0, false);
    if (res.fault) {
        vgt_error(&s_who,
                  "the store does not answer to its audit log, so no report is made from it (it "
                  "would be no evidence): %s; see 'vigilctl audit verify', or give --no-verify "
                  "for a report marked NOT VERIFIED",
                  res.line);
    } else if (!res.verified) {
        vgt_error(&s_who, "cannot verify the store first: %s (or give --no-verify)", res.line);
    }
    r->verified = res.verified;
    r->n_leaves = res.n_leaves;
    r->n_checkpoints = res.n_checkpoints;
    return res.verified;
}

int
ctl_cmd_report(int argc, char **argv)
{
    s_opts o = {0};
    int rc = s_parse_args(argc, argv, &o);
    if (rc != VGT_EXIT_OK) {
        return rc == VGT_HELP_SHOWN ? VGT_EXIT_OK : rc;
    }
    ctl_audit_target t = {0};
    vg_reason why = {{0}};
    if (!o.no_verify &&
        ctl_audit_target_open(&t, o.conf, o.store, o.dsn, o.network, o.admin_key, &why) != VG_OK) {
        vgt_error(&s_who, "cannot verify the store first: %s (or give --no-verify)", why.text);
        ctl_audit_target_close(&t);
        return VGT_EXIT_FAIL;
    }
    vgb_store *store = o.no_verify ? s_open(&o) : s_open_target(&t);
    s_report r = {.now_ms = vg_clock_wall_ms(vg_clock_system()), .store = store};
    bool ok = store != NULL && (o.no_verify || s_verify(store, &t, &r));
    ctl_audit_target_close(&t);
    if (store == NULL) {
        return VGT_EXIT_FAIL;
    }
    if (o.linked) {
        rc = ok ? ctl_report_linked(store, o.format == S_JSON, r.verified) : VGT_EXIT_FAIL;
        vgb_store_read_end(store);
        vgb_store_destroy(&store);
        s_report_fini(&r);
        return rc;
    }
    ok = ok && s_collect(store, &o, &r);
    vgb_store_read_end(store);
    vgb_store_destroy(&store);
    if (ok && o.format == S_TEXT) {
        s_print_text(&r, &o);
    } else if (ok && o.format == S_CSV) {
        s_print_csv(&r);
    } else if (ok) {
        ok = s_print_json(&r, &o);
    }
    if (ok && fflush(stdout) != 0) {
        vgt_error(&s_who, "cannot write the report to stdout");
        ok = false;
    }
    s_report_fini(&r);
    return ok ? VGT_EXIT_OK : VGT_EXIT_FAIL;
}
