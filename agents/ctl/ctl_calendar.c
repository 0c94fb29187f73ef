/*
 * ctl_calendar.c — vigilctl calendar import: the UK government's published
 * bank-holiday file (https://www.gov.uk/bank-holidays.json) into the
 * network document's calendars.
 *
 * It runs on the administrator's offline machine and edits network.json
 * only: the result is checked by the library (vg_netdoc_body_from_json)
 * before anything is written, and becomes part of the network when the
 * administrator signs it (vigilctl network sign). It never fetches: the
 * administrator brings the file.
 *
 * Each division of the file ("england-and-wales", "scotland",
 * "northern-ireland") becomes the calendar of that name: its closed dates
 * are replaced by the file's events (title, plus the notes such as
 * "Substitute day"), and its valid_until becomes 31 December of the last
 * year the file covers — the government publishes whole years. Other keys
 * of an existing calendar (time zone, rule, weekend) are kept; a new one
 * gets Europe/London, the zone's rule from the system tz database and a
 * Saturday-Sunday weekend.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "vigil/netdoc.h"
#include "vigil/tz.h"
#include "vigil/util.h"

static const vgt_who s_who = {CTL_PROGRAM, "calendar import"};
#define S_GOVUK_MAX_BYTES (4 * 1024 * 1024) /* the real file is ~20 KiB */
#define S_TITLE_MAX 128                     /* docs/network.md: a closed date's title */

static const char s_help[] =
    "usage: vigilctl calendar import FILE (--dir DIR | --json NETWORK_JSON) [options]\n"
    "\n"
    "Turns the UK government's bank-holiday file (the format of\n"
    "https://www.gov.uk/bank-holidays.json; bring the file, nothing is fetched)\n"
    "into the network document's calendars: each division (england-and-wales,\n"
    "scotland, northern-ireland) replaces the closed dates of the calendar of\n"
    "that name, one-off holidays and substitute days included, and sets its\n"
    "valid_until to 31 December of the last year in the file. A calendar that\n"
    "does not exist yet is created (Europe/London, Saturday-Sunday weekend).\n"
    "The edited document is checked before it is written; then sign it:\n"
    "'vigilctl network sign --dir DIR'.\n"
    "\n"
    "  --dir DIR            edit DIR/network/network.json (a 'vigilctl init' folder)\n"
    "  --json NETWORK_JSON  edit this network.json\n"
    "  --only DIV,...       import only these divisions\n"
    "  --valid-until DATE   end the lists at DATE (YYYY-MM-DD) instead; later\n"
    "                       dates are dropped (and counted)\n"
    "  --extend-to YEAR     add the years after the file up to YEAR from the fixed\n"
    "                       rules (Easter, substitute days, Scotland's and Northern\n"
    "                       Ireland's days); valid_until becomes YEAR-12-31. A\n"
    "                       forecast: one-off holidays cannot be generated\n"
    "  --union NAME         also write calendar NAME, closed when any imported\n"
    "                       division is (\"a holiday anywhere in the UK\")\n"
    "  --zone ZONE          time zone of the calendars (default Europe/London for a\n"
    "                       new one); its rule comes from the system tz database\n"
    "  --tz-rule RULE       the POSIX TZ rule to use instead of the tz database's\n"
    "  -n, --dry-run        say what would change; write nothing\n"
    "  -h, --help           this help\n";

typedef struct s_opts {
    const char *file;              /* the gov.uk file */
    const char *dir;               /* --dir */
    char *json_path;               /* the network.json edited (malloc'ed) */
    const char *only;              /* --only */
    uint32_t valid_until;          /* --valid-until, 0 unset */
    int extend_to;                 /* --extend-to, 0 unset */
    const char *union_name;        /* --union */
    const char *zone;              /* --zone */
    const char *tz_rule;           /* --tz-rule */
    bool dry_run;                  /* --dry-run */
    char rule[VG_TZ_RULE_MAX + 1]; /* the rule resolved for new calendars */
} s_opts;

/* ---- the system tz database --------------------------------------------- */

vg_err
ctl_tz_rule_from_system(char *out, size_t out_len, const char *zone, vg_reason *why)
{
    bool ok = zone != NULL && zone[0] != '\0' && zone[0] != '/' && strstr(zone, "..") == NULL &&
              strlen(zone) <= 64;
    if (!ok) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "'%s' is not a time zone name",
                             zone ? zone : "");
    }
    const char *dir = getenv("TZDIR") ? getenv("TZDIR") : "/usr/share/zoneinfo";
    char *path = ctl_path(dir, zone);
    uint8_t *data = NULL;
    size_t len = 0;
    vg_err err = vg_file_read(&data, &len, path, 1024 * 1024, why);
    if (err != VG_OK) {
        free(path);
        return vg_reason_set(why, VG_ERR_NOT_FOUND,
                             "no time zone %s in the tz database (%s; Debian: tzdata): give "
                             "--tz-rule",
                             zone, dir);
    }
    /* RFC 8536 §3.3: a version 2+ file ends with "\n" rule "\n" */
    size_t end = len, start = len;
    if (len >= 6 && memcmp(data, "TZif", 4) == 0 && data[4] >= '2' && data[len - 1] == '\n') {
        end = len - 1;
        start = end;
        while (start > 0 && data[start - 1] != '\n') {
            start--;
        }
    }
    size_t n = end - start;
    vg_tz tz;
    char rule[VG_TZ_RULE_MAX + 1] = "";
    if (n > 0 && n <= VG_TZ_RULE_MAX) {
        memcpy(rule, data + start, n);
        rule[n] = '\0';
    }
    free(data);
    vg_reason inner = {{0}};
    if (rule[0] == '\0' || vg_tz_parse(&tz, rule, &inner) != VG_OK) {
        err = vg_reason_set(why, VG_ERR_MALFORMED,
                            "%s has no rule vigil can use (%s): give --tz-rule", path,
                            rule[0] ? inner.text : "no TZif footer");
    } else {
        snprintf(out, out_len, "%s", rule);
    }
    free(path);
    return err;
}

/* ---- reading the gov.uk file ---------------------------------------------- */

static int
s_cmp_closed(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "date"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "date"));
    return strcmp(x, y);
}

/* "Christmas Day" + "Substitute day" -> "Christmas Day (Substitute day)". */
static void
s_title(char *out, size_t out_len, const char *title, const char *notes)
{
    if (notes != NULL && notes[0] != '\0') {
        snprintf(out, out_len, "%s (%s)", title, notes);
    } else {
        snprintf(out, out_len, "%s", title);
    }
}

/* One event of a division, checked. */
static vg_err
s_event(json_t *e, const char *where, uint32_t *date, char *title, size_t title_len, vg_reason *why)
{
    json_t *t = json_object_get(e, "title"), *d = json_object_get(e, "date");
    json_t *notes = json_object_get(e, "notes");
    if (!json_is_object(e) || !json_is_string(t) || !json_is_string(d) ||
        (notes != NULL && !json_is_string(notes))) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s: an event needs \"title\" and \"date\" strings (and \"notes\", "
                             "when present, a string)",
                             where);
    }
    vg_reason inner = {{0}};
    if (vg_date_parse(date, json_string_value(d), &inner) != VG_OK) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s: %s", where, inner.text);
    }
    s_title(title, title_len, json_string_value(t), json_string_value(notes));
    return VG_OK;
}

/* A division's events as the calendar's "closed" list, in date order, one
 * entry per date (two events on one date share it, titles joined). */
static vg_err
s_division(json_t **out, uint32_t *last, json_t *div, const char *name, vg_reason *why)
{
    json_t *events = json_object_get(div, "events");
    json_t *label = json_object_get(div, "division");
    if (!json_is_object(div) || !json_is_array(events) ||
        (label != NULL &&
         (!json_is_string(label) || strcmp(json_string_value(label), name) != 0))) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "division %s: expected {\"division\": \"%s\", \"events\": [...]}",
                             name, name);
    }
    json_t *closed = json_array();
    vg_err err = VG_OK;
    *last = 0;
    for (size_t i = 0; i < json_array_size(events) && err == VG_OK; i++) {
        char where[96], title[S_TITLE_MAX * 2 + 8], day[16];
        uint32_t date = 0;
        snprintf(where, sizeof where, "%s.events[%zu]", name, i);
        err = s_event(json_array_get(events, i), where, &date, title, sizeof title, why);
        if (err != VG_OK) {
            break;
        }
        title[S_TITLE_MAX] = '\0';
        vg_date_format(day, sizeof day, date);
        json_array_append_new(closed, json_pack("{s:s, s:s}", "date", day, "title", title));
        *last = date > *last ? date : *last;
    }
    if (err == VG_OK && json_array_size(closed) == 0) {
        err = vg_reason_set(why, VG_ERR_MALFORMED, "division %s has no events", name);
    }
    if (err != VG_OK) {
        json_decref(closed);
        return err;
    }
    json_t **items = calloc(json_array_size(closed), sizeof *items);
    if (items == NULL) {
        json_decref(closed);
        return VG_ERR_NOMEM;
    }
    size_t n = json_array_size(closed);
    for (size_t i = 0; i < n; i++) {
        items[i] = json_incref(json_array_get(closed, i));
    }
    qsort(items, n, sizeof *items, s_cmp_closed);
    json_array_clear(closed);
    for (size_t i = 0; i < n; i++) {
        json_t *prev =
            json_array_size(closed) ? json_array_get(closed, json_array_size(closed) - 1) : NULL;
        if (prev != NULL && s_cmp_closed(&prev, &items[i]) == 0) {
            char title[S_TITLE_MAX * 2 + 8];
            snprintf(title, sizeof title, "%s / %s",
                     json_string_value(json_object_get(prev, "title")),
                     json_string_value(json_object_get(items[i], "title")));
            title[S_TITLE_MAX] = '\0';
            json_object_set_new(prev, "title", json_string(title));
            json_decref(items[i]);
            continue;
        }
        json_array_append_new(closed, items[i]);
    }
    free(items);
    *out = closed;
    return VG_OK;
}

/* ---- editing network.json --------------------------------------------------- */

/* The calendar object called name in doc's "calendars", created (with
 * `created` set) when absent. */
static json_t *
s_calendar_slot(json_t *doc, const char *name, bool *created)
{
    json_t *cals = json_object_get(doc, "calendars");
    if (cals == NULL) {
        cals = json_array();
        json_object_set_new(doc, "calendars", cals);
    }
    for (size_t i = 0; i < json_array_size(cals); i++) {
        json_t *c = json_array_get(cals, i);
        if (json_is_string(json_object_get(c, "name")) &&
            strcmp(json_string_value(json_object_get(c, "name")), name) == 0) {
            *created = false;
            return c;
        }
    }
    json_t *c = json_pack("{s:s}", "name", name);
    json_array_append_new(cals, c);
    *created = true;
    return c;
}

/* The rule for calendars this run creates or re-zones. */
static vg_err
s_resolve_rule(s_opts *o, vg_reason *why)
{
    if (o->rule[0] != '\0') {
        return VG_OK;
    }
    if (o->tz_rule != NULL) {
        vg_tz tz;
        vg_reason inner = {{0}};
        if (vg_tz_parse(&tz, o->tz_rule, &inner) != VG_OK) {
            return vg_reason_set(why, VG_ERR_MALFORMED, "--tz-rule: %s", inner.text);
        }
        snprintf(o->rule, sizeof o->rule, "%s", o->tz_rule);
        return VG_OK;
    }
    return ctl_tz_rule_from_system(o->rule, sizeof o->rule, o->zone ? o->zone : "Europe/London",
                                   why);
}

/* Zone, rule and weekend for a new calendar, or a new zone for an old one. */
static vg_err
s_zone(s_opts *o, json_t *cal, bool created, vg_reason *why)
{
    if (!created && o->zone == NULL && o->tz_rule == NULL) {
        return VG_OK;
    }
    vg_err err = s_resolve_rule(o, why);
    if (err != VG_OK) {
        return err;
    }
    if (created || o->zone != NULL) {
        json_object_set_new(cal, "time_zone", json_string(o->zone ? o->zone : "Europe/London"));
    }
    json_object_set_new(cal, "tz_rule", json_string(o->rule));
    if (created) {
        json_object_set_new(cal, "weekend", json_pack("[s,s]", "sat", "sun"));
    }
    return VG_OK;
}

/* Appends generated years (after the file's last) up to --extend-to. */
static size_t
s_extend(json_t *closed, const char *name, int from_year, int to_year)
{
    size_t added = 0;
    for (int y = from_year; y <= to_year; y++) {
        ctl_holiday h[CTL_BANKHOL_MAX];
        size_t n = ctl_bankhol_generate(h, CTL_BANKHOL_MAX, name, y);
        for (size_t i = 0; i < n; i++) {
            char day[16], title[sizeof h[i].title + 16];
            vg_date_format(day, sizeof day, h[i].date);
            snprintf(title, sizeof title, "%s [generated]", h[i].title);
            json_array_append_new(closed, json_pack("{s:s, s:s}", "date", day, "title", title));
            added++;
        }
    }
    return added;
}

/* Drops dates after until; returns how many. */
static size_t
s_cut(json_t *closed, uint32_t until)
{
    char day[16];
    size_t dropped = 0;
    vg_date_format(day, sizeof day, until);
    while (json_array_size(closed) > 0) {
        size_t last = json_array_size(closed) - 1;
        const char *d = json_string_value(json_object_get(json_array_get(closed, last), "date"));
        if (strcmp(d, day) <= 0) {
            break;
        }
        json_array_remove(closed, last);
        dropped++;
    }
    return dropped;
}

/* Imports one division into doc and says what changed. */
static vg_err
s_import_division(s_opts *o, json_t *doc, json_t *div, const char *name, vg_reason *why)
{
    if (!vg_agency_id_is_valid(name)) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "division '%s' cannot name a calendar: use 1-63 of a-z, 0-9, '-'",
                             name);
    }
    if (o->extend_to != 0 && !ctl_bankhol_knows(name)) {
        return vg_reason_set(why, VG_ERR_INVALID,
                             "--extend-to: no rules for division '%s' (only england-and-wales, "
                             "scotland, northern-ireland)",
                             name);
    }
    json_t *closed = NULL;
    uint32_t last = 0;
    vg_err err = s_division(&closed, &last, div, name, why);
    if (err != VG_OK) {
        return err;
    }
    int file_year = (int)(last / 10000), last_year = file_year;
    size_t generated = 0;
    if (o->extend_to > file_year) {
        generated = s_extend(closed, name, file_year + 1, o->extend_to);
        last_year = o->extend_to;
    }
    uint32_t until = o->valid_until ? o->valid_until : (uint32_t)last_year * 10000 + 1231;
    size_t dropped = s_cut(closed, until);
    bool created = false;
    json_t *cal = s_calendar_slot(doc, name, &created);
    const char *old = json_string_value(json_object_get(cal, "valid_until"));
    char was[64] = "new", until_text[16], first[16] = "-", lastd[16] = "-";
    if (!created) {
        snprintf(was, sizeof was, "was %s", old ? old : "unset");
    }
    vg_date_format(until_text, sizeof until_text, until);
    if (json_array_size(closed) > 0) {
        snprintf(first, sizeof first, "%s",
                 json_string_value(json_object_get(json_array_get(closed, 0), "date")));
        snprintf(lastd, sizeof lastd, "%s",
                 json_string_value(
                     json_object_get(json_array_get(closed, json_array_size(closed) - 1), "date")));
    }
    printf("calendar %s: %zu closed dates from %s to %s, valid until %s (%s)\n", name,
           json_array_size(closed), first, lastd, until_text, was);
    if (generated > 0) {
        printf("  %zu of them generated from the fixed rules for %d-%d: one-off holidays cannot "
               "be; import the published file again when it covers those years\n",
               generated, file_year + 1, o->extend_to);
    }
    if (dropped > 0) {
        printf("  %zu dates after %s dropped (--valid-until)\n", dropped, until_text);
    }
    if (old != NULL && strcmp(old, until_text) > 0) {
        printf("  warning: valid_until moves back from %s to %s\n", old, until_text);
    }
    json_object_set_new(cal, "valid_until", json_string(until_text));
    json_object_set_new(cal, "closed", closed);
    return s_zone(o, cal, created, why);
}

/* --union NAME: the union of the imported divisions. */
static vg_err
s_union(s_opts *o, json_t *doc, const vg_strlist *names, vg_reason *why)
{
    if (vg_strlist_contains(names, o->union_name)) {
        return vg_reason_set(why, VG_ERR_INVALID,
                             "--union %s: a union needs a name of its own, not a division's",
                             o->union_name);
    }
    bool created = false;
    json_t *cal = s_calendar_slot(doc, o->union_name, &created);
    json_t *members = json_array();
    for (size_t i = 0; i < names->n; i++) {
        json_array_append_new(members, json_string(names->items[i]));
    }
    json_object_set_new(cal, "union_of", members);
    if (created) {
        json_object_set_new(cal, "closed", json_array());
    }
    char joined[512];
    vg_strlist_join(joined, sizeof joined, names, ", ");
    printf("calendar %s: closed when any of %s is (%s)\n", o->union_name, joined,
           created ? "new" : "updated");
    /* a union must share its members' rule: copy the first member's */
    json_t *first = NULL;
    for (size_t i = 0; i < json_array_size(json_object_get(doc, "calendars")); i++) {
        json_t *c = json_array_get(json_object_get(doc, "calendars"), i);
        if (strcmp(json_string_value(json_object_get(c, "name")), names->items[0]) == 0) {
            first = c;
        }
    }
    if (first != NULL) {
        json_object_set(cal, "time_zone", json_object_get(first, "time_zone"));
        json_object_set(cal, "tz_rule", json_object_get(first, "tz_rule"));
        if (created) {
            json_object_set(cal, "weekend", json_object_get(first, "weekend"));
        }
    }
    return VG_OK;
}

/* ---- the command ------------------------------------------------------------- */

static int
s_parse_args(s_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"json", required_argument, NULL, 'j'},
        {"only", required_argument, NULL, 'o'},
        {"valid-until", required_argument, NULL, 'v'},
        {"extend-to", required_argument, NULL, 'x'},
        {"union", required_argument, NULL, 'u'},
        {"zone", required_argument, NULL, 'z'},
        {"tz-rule", required_argument, NULL, 'r'},
        {"dry-run", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":nh", longopts, NULL)) != -1) {
        vg_reason why = {{0}};
        char *end = NULL;
        switch (opt) {
        case 'h':
            fputs(s_help, stdout);
            return -1;
        case 'd':
            o->dir = optarg;
            break;
        case 'j':
            o->json_path = vg_strdup(optarg);
            break;
        case 'o':
            o->only = optarg;
            break;
        case 'u':
            o->union_name = optarg;
            break;
        case 'z':
            o->zone = optarg;
            break;
        case 'r':
            o->tz_rule = optarg;
            break;
        case 'n':
            o->dry_run = true;
            break;
        case 'v':
            if (vg_date_parse(&o->valid_until, optarg, &why) != VG_OK) {
                vgt_error(&s_who, "--valid-until: %s", why.text);
                return vgt_usage_hint(&s_who);
            }
            break;
        case 'x':
            o->extend_to = (int)strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || o->extend_to < 1979 || o->extend_to > 2199) {
                vgt_error(&s_who, "--extend-to: '%s' is not a year from 1979 to 2199", optarg);
                return vgt_usage_hint(&s_who);
            }
            break;
        default:
            return vgt_bad_option(&s_who, opt, argv);
        }
    }
    if (optind != argc - 1) {
        vgt_error(&s_who,
                  "expected one bank-holiday file: vigilctl calendar import FILE --dir DIR");
        return vgt_usage_hint(&s_who);
    }
    o->file = argv[optind];
    if ((o->dir == NULL) == (o->json_path == NULL)) {
        vgt_error(&s_who, "give exactly one of --dir DIR and --json NETWORK_JSON: the document "
                          "to edit");
        return vgt_usage_hint(&s_who);
    }
    if (o->union_name != NULL && !vg_agency_id_is_valid(o->union_name)) {
        vgt_error(&s_who, "--union: '%s' is not a calendar name (1-63 of a-z, 0-9, '-')",
                  o->union_name);
        return vgt_usage_hint(&s_who);
    }
    if (o->dir != NULL) {
        o->json_path = ctl_path(o->dir, CTL_NETWORK_JSON);
    }
    return 0;
}

static json_t *
s_load_json(const char *path, const char *what, size_t max)
{
    uint8_t *data = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    if (vg_file_read(&data, &len, path, max, &why) != VG_OK) {
        vgt_error(&s_who, "%s", why.text);
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
    free(data);
    if (root == NULL || !json_is_object(root)) {
        vgt_error(&s_who, "%s: %s is not a JSON object (%s, line %d)", path, what,
                  root ? "not an object" : jerr.text, jerr.line);
        json_decref(root);
    }
    return json_is_object(root) ? root : NULL;
}

/* Imports the selected divisions of govuk into doc. */
static vg_err
s_import(s_opts *o, json_t *doc, json_t *govuk, vg_reason *why)
{
    vg_strlist names = {0};
    vg_err err = o->only ? vg_strlist_split(&names, o->only, why) : VG_OK;
    const char *key;
    json_t *div;
    if (o->only == NULL) {
        json_object_foreach(govuk, key, div)
        {
            err = err == VG_OK ? vg_strlist_add(&names, key) : err;
        }
    }
    for (size_t i = 0; i < names.n && err == VG_OK; i++) {
        div = json_object_get(govuk, names.items[i]);
        if (div == NULL) {
            err = vg_reason_set(why, VG_ERR_NOT_FOUND, "%s has no division '%s'", o->file,
                                names.items[i]);
            break;
        }
        err = s_import_division(o, doc, div, names.items[i], why);
    }
    if (err == VG_OK && names.n == 0) {
        err = vg_reason_set(why, VG_ERR_MALFORMED, "%s has no divisions", o->file);
    }
    if (err == VG_OK && o->union_name != NULL) {
        err = s_union(o, doc, &names, why);
    }
    vg_strlist_fini(&names);
    return err;
}

/* Checks the edited document with the library, then writes it. */
static int
s_check_and_write(const s_opts *o, json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(2));
    if (text == NULL) {
        vgt_error(&s_who, "out of memory");
        return VGT_EXIT_FAIL;
    }
    uint8_t *body = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    vg_err err = vg_netdoc_body_from_json(&body, &len, text, &why);
    free(body);
    if (err != VG_OK) {
        vgt_error(&s_who, "the edited document would be refused, nothing written: %s (%s)",
                  why.text, vg_err_code(err));
        free(text);
        return VGT_EXIT_FAIL;
    }
    size_t n = strlen(text);
    text[n] = '\n';
    if (!o->dry_run) {
        err = vg_file_write_atomic(o->json_path, text, n + 1, 0644, &why);
    }
    free(text);
    if (err != VG_OK) {
        vgt_error(&s_who, "%s", why.text);
        return VGT_EXIT_FAIL;
    }
    if (o->dry_run) {
        printf("dry run: %s not written\n", o->json_path);
    } else if (o->dir != NULL) {
        printf("wrote %s; sign it to put it in force: vigilctl network sign --dir %s\n",
               o->json_path, o->dir);
    } else {
        printf("wrote %s; sign it to put it in force: vigilctl network sign --in %s --key "
               "ADMINKEY --out SIGNED\n",
               o->json_path, o->json_path);
    }
    return VGT_EXIT_OK;
}

int
ctl_cmd_calendar(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "import") != 0) {
        bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
        fputs(s_help, help ? stdout : stderr);
        return help ? VGT_EXIT_OK : VGT_EXIT_USAGE;
    }
    s_opts o;
    memset(&o, 0, sizeof o);
    int rc = s_parse_args(&o, argc - 1, argv + 1);
    if (rc != 0) {
        free(o.json_path);
        return rc < 0 ? VGT_EXIT_OK : rc;
    }
    json_t *govuk = s_load_json(o.file, "a bank-holiday file", S_GOVUK_MAX_BYTES);
    json_t *doc =
        govuk ? s_load_json(o.json_path, "a network document", VG_NETDOC_MAX_BYTES) : NULL;
    rc = VGT_EXIT_FAIL;
    if (doc != NULL) {
        vg_reason why = {{0}};
        vg_err err = s_import(&o, doc, govuk, &why);
        if (err != VG_OK) {
            vgt_error(&s_who, "%s (%s); nothing written", why.text, vg_err_code(err));
        } else {
            rc = s_check_and_write(&o, doc);
        }
    }
    json_decref(doc);
    json_decref(govuk);
    free(o.json_path);
    return rc;
}
