/*
 * console_app.c — vigil-console's options, set-up and loops (see
 * console_app.h).
 */
#include "console_app.h"

#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_link.h"
#include "console_model.h"
#include "console_plain.h"
#include "console_view.h"
#include "tool.h"
#include "vigil/agent.h"
#include "vigil/agent_config.h"
#include "vigil/log.h"
#include "vigil/netdoc.h"

#define S_TUI_WAIT_MS 50    /* broker wait per loop turn: keys are read between */
#define S_PLAIN_WAIT_MS 200 /* the same for --plain */
#define S_REDRAW_MS 1000    /* times on screen move even when nothing happens */

static const vgt_who s_who = {"vigil-console", NULL};

static const char s_usage[] =
    "usage: vigil-console -c agent.conf [--plain] [--oversight]\n"
    "\n"
    "The duty officer console: what needs this agency now -- overdue alerts first,\n"
    "who has acknowledged what, the live event feed -- and acknowledge, in progress,\n"
    "decline and share from the keyboard. Press ? in the console for its keys.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE  the agency's agent.conf\n"
    "  --plain            timestamped lines instead of the full screen (logs, screen\n"
    "                     readers, scripts); runs until SIGINT or SIGTERM\n"
    "  --oversight        every overdue alert raises attention, not only this\n"
    "                     agency's (automatic for an agency with role oversight)\n"
    "  -h, --help         this help\n"
    "\n"
    "exit status: 0 quit; 1 failed; 2 bad command line; 4 agent.conf, keys,\n"
    "network document or local store unusable. docs/console.md says more.\n";

typedef struct s_opts {
    const char *config; /* agent.conf */
    bool plain;         /* --plain */
    bool oversight;     /* --oversight */
} s_opts;

typedef struct s_app {
    vga_agent *agent;      /* the connection */
    vgc_model model;       /* what the console knows */
    vgc_link link;         /* keeps it in step */
    vgc_plain plain;       /* --plain output */
    bool is_plain;         /* --plain */
    char endpoint[256];    /* the broker, for the header */
    char role[VGC_ID_LEN]; /* this agency's role */
    char share_to[512];    /* agencies one may share with */
    FILE *log;             /* full-screen mode's log file, or NULL */
} s_app;

/* Parses argv into o; returns VGT_EXIT_OK to go on, VGT_HELP_SHOWN after
 * --help, or the exit code. */
static int
s_parse(int argc, char **argv, s_opts *o)
{
    enum { O_PLAIN = 256, O_OVERSIGHT };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"plain", no_argument, NULL, O_PLAIN},
        {"oversight", no_argument, NULL, O_OVERSIGHT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(s_usage, stdout);
            return VGT_HELP_SHOWN;
        } else if (c == 'c') {
            o->config = optarg;
        } else if (c == O_PLAIN) {
            o->plain = true;
        } else if (c == O_OVERSIGHT) {
            o->oversight = true;
        } else {
            return vgt_bad_option(&s_who, c, argv);
        }
    }
    if (optind < argc) {
        return vgt_unexpected_argument(&s_who, argv[optind], NULL);
    }
    return VGT_EXIT_OK;
}

static void
s_file_sink(vg_log_level level, const char *line, void *ctx)
{
    (void)level;
    FILE *f = ctx;
    if (f != NULL) {
        fprintf(f, "%s\n", line);
        fflush(f);
    }
}

/* Reads agent.conf for the header and the log, then opens the agent. */
static int
s_open(s_app *app, const s_opts *o)
{
    vga_config *cfg = NULL;
    int rc = vgt_config_load(&s_who, o->config, &cfg);
    if (rc != VGT_EXIT_OK) {
        return rc;
    }
    snprintf(app->endpoint, sizeof app->endpoint, "%s", cfg->endpoint);
    if (!o->plain && vg_mkdir_p(cfg->store_path, 0700, NULL) == VG_OK) {
        char path[4096];
        snprintf(path, sizeof path, "%s/console.log", cfg->store_path);
        app->log = fopen(path, "a");
    }
    vg_log_set_sink(o->plain ? vg_log_stderr_sink : s_file_sink, app->log);
    vg_log_set_level(cfg->log_level);
    vga_config_destroy(&cfg);
    vga_options opts = {.receive = true, .events = true, .software = s_who.program};
    return vgt_agent_open(&s_who, o->config, &opts, &app->agent);
}

/* Role and the agencies one may share with, from the network document. */
static void
s_network_info(s_app *app)
{
    const vg_netdoc *doc = vga_agent_doc(app->agent);
    const char *me = vga_agent_agency(app->agent);
    vg_agency ag;
    snprintf(app->role, sizeof app->role, "%s",
             vg_netdoc_find(doc, me, &ag) == VG_OK ? ag.role : "?");
    app->share_to[0] = '\0';
    for (size_t i = 0; i < vg_netdoc_n_agencies(doc); i++) {
        vg_netdoc_agency_at(doc, i, &ag);
        if (strcmp(ag.id, me) == 0 || ag.revoked) {
            continue;
        }
        size_t used = strlen(app->share_to);
        snprintf(app->share_to + used, sizeof app->share_to - used, "%s%s", used ? ", " : "",
                 ag.id);
    }
}

static void
s_plain_notify(void *ctx)
{
    s_app *app = ctx;
    vgc_plain_update(&app->plain, &app->model, vg_clock_wall_ms(vg_clock_system()));
}

static int
s_run_plain(s_app *app)
{
    vgc_plain_init(&app->plain, stdout);
    app->link.notify = s_plain_notify;
    app->link.notify_ctx = app;
    char note[1024];
    snprintf(app->endpoint, sizeof app->endpoint, "%s", vga_agent_broker(app->agent));
    snprintf(note, sizeof note, "vigil-console --plain: agency %s (%s), broker %s", app->model.me,
             app->role, app->endpoint);
    vgc_plain_note(&app->plain, vg_clock_wall_ms(vg_clock_system()), note);
    s_plain_notify(app);
    while (!vgt_stop) {
        vgc_link_service(&app->link, S_PLAIN_WAIT_MS);
        s_plain_notify(app);
        if (strcmp(app->endpoint, vga_agent_broker(app->agent)) != 0) { /* moved: docs/ha.md */
            snprintf(app->endpoint, sizeof app->endpoint, "%s", vga_agent_broker(app->agent));
            snprintf(note, sizeof note, "now with the broker at %s", app->endpoint);
            vgc_plain_note(&app->plain, vg_clock_wall_ms(vg_clock_system()), note);
        }
    }
    vgc_plain_note(&app->plain, vg_clock_wall_ms(vg_clock_system()), "stopped");
    return VGT_EXIT_OK;
}

/* Reads every waiting key; carries out an action at once. True when
 * something was pressed. */
static bool
s_keys(s_app *app, vgc_view *v)
{
    bool any = false;
    int key;
    while (!vgc_view_quit(v) && (key = vgc_view_key(v)) != -1) {
        any = true;
        int64_t now = vg_clock_wall_ms(vg_clock_system());
        vgc_action act;
        memset(&act, 0, sizeof act);
        if (!vgc_view_handle(v, key, &app->model, now, &act)) {
            continue;
        }
        vgc_view_draw(v, &app->model, now); /* "sending..." while it waits */
        char msg[768];
        vg_err rc = vgc_link_act(&app->link, &act, msg, sizeof msg);
        vgc_view_result(v, msg, rc == VG_OK, vg_clock_wall_ms(vg_clock_system()));
    }
    return any;
}

static int
s_run_screen(s_app *app, bool oversight)
{
    snprintf(app->endpoint, sizeof app->endpoint, "%s", vga_agent_broker(app->agent));
    vgc_view_info info = {.agency = app->model.me,
                          .role = app->role,
                          .endpoint = app->endpoint,
                          .oversight = oversight,
                          .share_to = app->share_to};
    vgc_view *v = NULL;
    if (vgc_view_open(&v, &info) != VG_OK) {
        vgt_error(&s_who, "this terminal cannot show the console (check TERM): use --plain for "
                          "line output");
        return VGT_EXIT_FAIL;
    }
    uint64_t drawn_changes = UINT64_MAX;
    int64_t drawn_ms = 0;
    while (!vgt_stop && !vgc_view_quit(v)) {
        vgc_link_service(&app->link, S_TUI_WAIT_MS);
        bool pressed = s_keys(app, v);
        int64_t now = vg_clock_wall_ms(vg_clock_system());
        bool moved = strcmp(app->endpoint, vga_agent_broker(app->agent)) != 0;
        if (moved) { /* the header names the broker it is live with (docs/ha.md) */
            snprintf(app->endpoint, sizeof app->endpoint, "%s", vga_agent_broker(app->agent));
            vgc_view_set_broker(v, app->endpoint);
        }
        if (pressed || moved || app->model.changes != drawn_changes ||
            now - drawn_ms >= S_REDRAW_MS) {
            vgc_view_draw(v, &app->model, now);
            drawn_changes = app->model.changes;
            drawn_ms = now;
        }
    }
    vgc_view_close(&v);
    return VGT_EXIT_OK;
}

int
vgc_main(int argc, char **argv)
{
    s_opts o;
    int rc = s_parse(argc, argv, &o);
    if (rc != VGT_EXIT_OK) {
        return rc == VGT_HELP_SHOWN ? VGT_EXIT_OK : rc;
    }
    setlocale(LC_ALL, "");
    vgt_stop_on_signals();
    signal(SIGPIPE, SIG_IGN);
    s_app app;
    memset(&app, 0, sizeof app);
    app.is_plain = o.plain;
    rc = s_open(&app, &o);
    if (rc == VGT_EXIT_OK) {
        s_network_info(&app);
        bool oversight = o.oversight || strcmp(app.role, "oversight") == 0;
        vgc_model_init(&app.model, vga_agent_agency(app.agent), oversight,
                       vg_clock_wall_ms(vg_clock_system()));
        vgc_link_init(&app.link, app.agent, &app.model, NULL);
        rc = o.plain ? s_run_plain(&app) : s_run_screen(&app, oversight);
        vgc_model_fini(&app.model);
    }
    vga_agent_destroy(&app.agent);
    vg_log_set_sink(NULL, NULL);
    if (app.log != NULL) {
        fclose(app.log);
    }
    return rc;
}
