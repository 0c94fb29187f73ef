/*
 * cli_events.c — vigil-agent events: this agency's event stream (alerts
 * accepted, delivered, acknowledged, declined, shared, overdue, escalated,
 * agencies offline and online, ...), one line per event.
 *
 * Every event carries the broker's sequence number for this agency, gap-free
 * from 1. The stream is live: it shows what happens after it starts;
 * --since SEQ first prints the stored events after SEQ. A live event whose
 * number skips some (the library dropped events while the reader was slow,
 * or the connection was replaced) makes it fetch the missing ones from the
 * broker's store before printing it, and say so on stderr, so the output
 * is always complete and in order. Events already printed are not printed
 * twice.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vigil/clock.h"
#include "vigil/track_json.h"
#include "vigil/util.h"
#include "vigil/wire.h"

static const vgt_who s_who = {CLI_PROGRAM, "events"};
#define S_SLICE_MS 200           /* longest wait before the stop flag is looked at again */
#define S_QUERY_TIMEOUT_MS 10000 /* fetching stored events */

static const char s_help[] =
    "usage: vigil-agent -c agent.conf events [--json] [--count N] [--timeout T]\n"
    "                   [--since SEQ]\n"
    "\n"
    "Follows this agency's event stream from the broker: one line per event with its\n"
    "sequence number, time (RFC 3339 UTC), kind (accepted, delivered, acknowledged,\n"
    "in_progress, declined, unopenable, shared, overdue, escalated,\n"
    "agency_offline, agency_online, complete, repeat_warning, ...), alert id ('-' for\n"
    "agency events), the agency "
    "it\n"
    "is about and the detail (officer, reason, escalation target, ...). Sequence\n"
    "numbers are checked: missing events are fetched from the broker (said on\n"
    "stderr) and printed in order.\n"
    "\n"
    "  --since SEQ   first print the stored events after SEQ (0 = from the start)\n"
    "  --json        one JSON object per line (docs/agent.md), flushed per event\n"
    "  --count N     stop after N events (stored ones included)\n"
    "  --timeout T   stop when no event arrived for T; without it, events runs\n"
    "                until SIGINT or SIGTERM\n"
    "  -c, --config FILE  the agency's agent.conf\n"
    "  -h, --help    this help\n"
    "\n"
    "exit status: 0 after N events, after --timeout without --count, or on\n"
    "SIGINT/SIGTERM; 1 failed; 2 bad command line; 3 --count N was given and fewer\n"
    "than N events came before the timeout, or the broker did not answer; 4\n"
    "agent.conf, keys or store unusable.\n";

typedef struct s_opts {
    const char *config; /* -c, overriding the global one */
    bool json;          /* --json */
    long count;         /* --count, 0 = no limit */
    int64_t idle_ms;    /* --timeout, -1 = none */
    bool since_set;     /* --since given */
    uint64_t since;     /* --since */
} s_opts;

/* Where the stream is. */
typedef struct s_stream {
    const s_opts *o;  /* options */
    vga_agent *agent; /* the open agent */
    bool have_last;   /* last is meaningful */
    uint64_t last;    /* highest seq printed (or --since) */
    long printed;     /* events printed */
    bool failed;      /* stdout is gone */
} s_stream;

/* ---- arguments ---------------------------------------------------------------------------- */

/* Returns VGT_EXIT_OK to go on, VGT_HELP_SHOWN after --help, or an exit status. */
static int
s_parse_args(s_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"count", required_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, 't'},
        {"since", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;
    opterr = 0;
    int c;
    bool ok = true;
    uint64_t n = 0;
    while (ok && (c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(s_help, stdout);
            return VGT_HELP_SHOWN;
        } else if (c == 'j') {
            o->json = true;
        } else if (c == 'n') {
            ok = vgt_parse_count(&s_who, "--count", optarg, 1, INT32_MAX, &n);
            o->count = (long)n;
        } else if (c == 't') {
            ok = vgt_parse_timeout(&s_who, "--timeout", optarg, &o->idle_ms);
        } else if (c == 's') {
            ok = vgt_parse_count(&s_who, "--since", optarg, 0, UINT64_MAX, &n);
            o->since = n;
            o->since_set = true;
        } else if (c == 'c') {
            o->config = optarg;
        } else {
            return vgt_bad_option(&s_who, c, argv);
        }
    }
    if (ok && optind < argc) {
        vgt_error(&s_who, "unexpected argument '%s'", argv[optind]);
        ok = false;
    }
    return ok ? VGT_EXIT_OK : vgt_usage_hint(&s_who);
}

/* ---- printing ----------------------------------------------------------------------------- */

static void
s_print_event(s_stream *s, const vga_event *e)
{
    if (s->o->json) {
        char *text = NULL;
        if (vga_event_to_json(&text, e) == VG_OK) {
            printf("%s\n", text);
        } else {
            vgt_error(&s_who, "cannot format event %" PRIu64, e->seq);
        }
        free(text);
    } else {
        char when[VG_TIME_STR_LEN];
        vg_time_format(when, sizeof when, e->time_ms);
        char idhex[VG_ALERT_ID_HEX_LEN + 1] = "-";
        if (e->has_alert) {
            vg_alert_id_hex(idhex, e->alert_id);
        }
        char detail[sizeof e->detail];
        vgt_one_line(detail, sizeof detail, e->detail);
        if (e->kind == VGA_EV_AGENCY_OFFLINE) {
            snprintf(detail, sizeof detail, "%u alert%s waiting", e->count,
                     e->count == 1 ? "" : "s");
        } else if (e->kind == VGA_EV_ESCALATED && e->level > 0) {
            char said[sizeof e->detail];
            vgt_one_line(said, sizeof said, e->detail);
            snprintf(detail, sizeof detail, "level %u %.200s", e->level, said);
        }
        const char *mark = e->has_alert ? vga_status_mark(e->status) : NULL;
        printf("%-6" PRIu64 " %s  %-14s %s  %s%s", e->seq, when, vga_event_kind_name(e->kind),
               idhex, mark ? mark : "", mark ? " " : "");
        if (detail[0] != '\0') {
            printf("%-20s %s\n", e->agency[0] ? e->agency : "-", detail);
        } else {
            printf("%s\n", e->agency[0] ? e->agency : "-");
        }
    }
    s->failed |= fflush(stdout) != 0;
    s->printed++;
    s->have_last = true;
    s->last = e->seq;
}

static bool
s_done(const s_stream *s)
{
    return s->failed || (s->o->count > 0 && s->printed >= s->o->count);
}

/* Prints the stored events after s->last up to (not including) `before`
 * (0 = all); false when the broker could not be asked. */
static bool
s_fetch(s_stream *s, uint64_t before)
{
    while (!s_done(s)) {
        vga_event *evs = NULL;
        size_t n = 0;
        vg_reason why = {{0}};
        vg_err rc = vga_events_since(s->agent, s->last, S_QUERY_TIMEOUT_MS, &evs, &n, &why);
        if (rc != VG_OK) {
            vgt_error(&s_who, "cannot fetch the events after %" PRIu64 ": %s (%s)", s->last,
                      why.text, vg_err_code(rc));
            return false;
        }
        size_t used = 0;
        for (size_t i = 0; i < n && !s_done(s); i++) {
            if (evs[i].seq > s->last && (before == 0 || evs[i].seq < before)) {
                s_print_event(s, &evs[i]);
                used++;
            }
        }
        bool more = used > 0 && n > 0 && (before == 0 || evs[n - 1].seq + 1 < before);
        free(evs);
        if (!more) {
            return true;
        }
    }
    return true;
}

/* A live event: skipped when already printed, after the missing ones when
 * it skips some. */
static void
s_on_live(s_stream *s, const vga_event *e)
{
    if (s->have_last && e->seq <= s->last) {
        return; /* printed from the store already */
    }
    if (s->have_last && e->seq > s->last + 1) {
        vgt_error(&s_who, "events %" PRIu64 " to %" PRIu64 " did not arrive live; fetching them",
                  s->last + 1, e->seq - 1);
        s_fetch(s, e->seq);
        if (s->last + 1 < e->seq) {
            vgt_error(&s_who, "events %" PRIu64 " to %" PRIu64 " are missing from the broker",
                      s->last + 1, e->seq - 1);
        }
    }
    if (!s_done(s)) {
        s_print_event(s, e);
    }
}

/* ---- the loop ----------------------------------------------------------------------------- */

static int64_t
s_now_ms(void)
{
    return vg_clock_mono_ms(vg_clock_system());
}

static int
s_follow(s_stream *s)
{
    const s_opts *o = s->o;
    if (o->since_set) {
        s->have_last = true;
        s->last = o->since;
        if (!s_fetch(s, 0)) {
            return VGT_EXIT_PENDING;
        }
    }
    int64_t idle_end = o->idle_ms >= 0 ? s_now_ms() + o->idle_ms : INT64_MAX;
    while (!vgt_stop && !s_done(s)) {
        int64_t left = idle_end - s_now_ms();
        if (left <= 0) {
            break;
        }
        vga_event e;
        vg_err rc = vga_next_event(s->agent, left < S_SLICE_MS ? left : S_SLICE_MS, &e);
        if (rc == VG_ERR_TIMEOUT) {
            continue;
        }
        if (rc != VG_OK) {
            vgt_error(&s_who, "cannot read the event stream (%s)", vg_err_code(rc));
            return VGT_EXIT_FAIL;
        }
        s_on_live(s, &e);
        idle_end = o->idle_ms >= 0 ? s_now_ms() + o->idle_ms : INT64_MAX;
    }
    if (s->failed) {
        vgt_error(&s_who, "cannot write to stdout: %s", strerror(errno));
        return VGT_EXIT_FAIL;
    }
    if (!vgt_stop && o->count > 0 && s->printed < o->count) {
        char idle[32];
        vg_duration_format(idle, sizeof idle, (uint64_t)o->idle_ms);
        vgt_error(&s_who, "%ld of %ld event%s arrived; none came for %s", s->printed, o->count,
                  o->count == 1 ? "" : "s", idle);
        return VGT_EXIT_PENDING;
    }
    return VGT_EXIT_OK;
}

int
cli_cmd_events(const char *config, int argc, char **argv)
{
    s_opts o = {.config = config, .idle_ms = -1};
    int rc = s_parse_args(&o, argc, argv);
    if (rc != VGT_EXIT_OK) {
        return rc == VGT_HELP_SHOWN ? VGT_EXIT_OK : rc;
    }
    vgt_stop_on_signals();
    cli_session s;
    rc = cli_session_open(&s, o.config, &s_who, false, true, NULL);
    if (rc == VGT_EXIT_OK) {
        s_stream st = {.o = &o, .agent = s.agent};
        rc = s_follow(&st);
    }
    cli_session_close(&s);
    return rc;
}
