/* rota.c — an agency's duty rota and notification channels (vigil/rota.h). */
#include "vigil/rota.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vigil/tz.h"
#include "vigil/util.h"

#define S_SPANS_MAX 64          /* weekly spans of one entry */
#define S_NEVER_MIN INT64_MIN   /* no "from" */
#define S_FOREVER_MIN INT64_MAX /* no "until" */
#define S_DAY_MIN 1440          /* minutes in a day */

/* When an entry is on duty, within its from/until. */
typedef enum s_when {
    S_ALWAYS = 1, /* "always" */
    S_OPEN = 2,   /* "open": while the agency is open */
    S_CLOSED = 3, /* "closed": while it is closed */
    S_SPANS = 4,  /* weekly spans of local time */
} s_when;

typedef struct s_entry {
    vg_duty_entry view;                        /* what callers see */
    vg_contact contacts[VG_ROTA_CONTACTS_MAX]; /* view.contacts points here */
    s_when when;                               /* how its hours are given */
    vg_span spans[S_SPANS_MAX];                /* S_SPANS: local weekly spans */
    size_t n_spans;                            /* how many */
    int64_t from_min;                          /* local minutes since 1970, or S_NEVER_MIN */
    int64_t until_min;                         /* ... exclusive, or S_FOREVER_MIN */
} s_entry;

struct vg_rota {
    json_t *root;                              /* the parsed file: strings borrow from it */
    const char *agency;                        /* the agency it is for */
    const char *console;                       /* the console's base URL */
    bool has_tz;                               /* tz_rule given */
    vg_tz tz;                                  /* ... parsed */
    vg_channel channels[VG_ROTA_CHANNELS_MAX]; /* the channels */
    char ca_paths[VG_ROTA_CHANNELS_MAX][VG_ROTA_URL_MAX]; /* ca_file as given */
    size_t n_channels;                                    /* how many */
    s_entry *entries;                                     /* the duty entries */
    size_t n_entries;                                     /* how many */
};

/* ---- defaults --------------------------------------------------------------- */

static const char s_subject_default[] = "{tag}vigil: a {severity} alert awaits {agency}";
static const char s_email_body_default[] =
    "{tag}{summary}\n"
    "\n"
    "Escalation: {target} (level {level}).\n"
    "Open it in the console: {link}\n"
    "\n"
    "This message only says that an alert awaits; what it says is in the console.\n";
static const char s_webhook_body_default[] = "{\"text\": \"{tag}{summary} {link}\"}";

static const char *const s_vars[] = {
    "event", "target", "agency",   "sender", "severity", "categories", "status",  "tag",
    "alert", "link",   "deadline", "level",  "name",     "to",         "summary", NULL};

/* ---- checks ----------------------------------------------------------------- */

static bool
s_printable(const char *s, size_t max, bool spaces)
{
    size_t n = strlen(s);
    if (n >= max) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || (!spaces && c == ' ')) {
            return false;
        }
    }
    return true;
}

static bool
s_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= VG_ROTA_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.')) {
            return false;
        }
    }
    return true;
}

static bool
s_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* An email address: one '@' between non-empty parts, nothing that would
 * let it escape its header (no space, quote, angle bracket or line break). */
static bool
s_email_ok(const char *s)
{
    const char *at = strchr(s, '@');
    if (!s_printable(s, VG_ROTA_ADDRESS_MAX, false) || at == NULL || at == s || at[1] == '\0' ||
        strchr(at + 1, '@') != NULL) {
        return false;
    }
    return strpbrk(s, "<>\"(),;:\\[]") == NULL;
}

/* Every {name} in a template is a known variable; other braces are text. */
static vg_err
s_template_ok(const char *tmpl, const char *where, vg_reason *why)
{
    for (const char *p = strchr(tmpl, '{'); p != NULL; p = strchr(p + 1, '{')) {
        size_t n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz_");
        if (n == 0 || p[1 + n] != '}') {
            continue;
        }
        bool known = false;
        for (size_t i = 0; s_vars[i] != NULL && !known; i++) {
            known = strlen(s_vars[i]) == n && strncmp(s_vars[i], p + 1, n) == 0;
        }
        if (!known) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "%s: unknown template variable {%.*s} (use event, target, "
                                 "agency, sender, severity, categories, status, tag, alert, link, "
                                 "deadline, level, name, to, summary)",
                                 where, (int)n, p + 1);
        }
    }
    return VG_OK;
}

/* ---- JSON helpers --------------------------------------------------------------- */

static vg_err
s_only_keys(json_t *obj, const char *const *allowed, const char *where, vg_reason *why)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i] != NULL && !ok; i++) {
            ok = strcmp(key, allowed[i]) == 0;
        }
        if (!ok) {
            return vg_reason_set(why, VG_ERR_MALFORMED, "%s: unknown key \"%s\"", where, key);
        }
    }
    return VG_OK;
}

/* A string member (borrowed from the tree), "" when absent and optional. */
static vg_err
s_string(const char **out, json_t *obj, const char *key, bool required, const char *where,
         vg_reason *why)
{
    json_t *v = json_object_get(obj, key);
    *out = "";
    if (v == NULL) {
        return required ? vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"%s\" is required", where, key)
                        : VG_OK;
    }
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"%s\" must be a string", where, key);
    }
    *out = json_string_value(v);
    return VG_OK;
}

/* ---- channels ---------------------------------------------------------------- */

static vg_err
s_channel_urls(vg_channel *c, const char *where, vg_reason *why)
{
    bool email = c->kind == VG_CHANNEL_EMAIL;
    if (c->url[0] == '\0' && (email || c->url_secret[0] == '\0')) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"url\" is required%s", where,
                             email ? "" : " (or \"url_secret\" naming the secret that holds it)");
    }
    if (c->url[0] != '\0' && c->url_secret[0] != '\0') {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s: give \"url\" or \"url_secret\", not both",
                             where);
    }
    if (c->url[0] != '\0' &&
        (!s_printable(c->url, VG_ROTA_URL_MAX, false) ||
         (email ? !(s_has_prefix(c->url, "smtp://") || s_has_prefix(c->url, "smtps://"))
                : !(s_has_prefix(c->url, "http://") || s_has_prefix(c->url, "https://"))))) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"url\" must be %s", where,
                             email ? "smtp://HOST:PORT (STARTTLS, required) or smtps://HOST:PORT"
                                   : "http://... or https://...");
    }
    if (c->url_secret[0] != '\0' && (email || !s_name_ok(c->url_secret))) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s: \"url_secret\" is for webhooks and names a secret "
                             "([a-z0-9._-])",
                             where);
    }
    return VG_OK;
}

static vg_err
s_channel_auth(vg_channel *c, const char *auth, const char *where, vg_reason *why)
{
    static const char *const names[] = {"none", "bearer", "basic", "hmac-sha256"};
    c->auth = VG_AUTH_NONE;
    if (c->kind == VG_CHANNEL_EMAIL) {
        return auth[0] == '\0' ? VG_OK
                               : vg_reason_set(why, VG_ERR_MALFORMED,
                                               "%s: \"auth\" is for webhooks (email uses user "
                                               "and secret)",
                                               where);
    }
    bool found = auth[0] == '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !found; i++) {
        if (strcmp(auth, names[i]) == 0) {
            c->auth = (vg_channel_auth)i;
            found = true;
        }
    }
    if (!found) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s: \"auth\" must be none, bearer, basic or hmac-sha256", where);
    }
    if (c->auth != VG_AUTH_NONE && c->secret[0] == '\0') {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s: auth %s needs \"secret\"", where, auth);
    }
    if (c->auth == VG_AUTH_BASIC && c->user[0] == '\0') {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s: auth basic needs \"user\"", where);
    }
    return VG_OK;
}

static vg_err
s_channel(vg_channel *c, json_t *obj, size_t i, vg_reason *why)
{
    static const char *const keys[] = {
        "name",    "type", "url",          "url_secret", "from",     "user", "secret",
        "ca_file", "auth", "content_type", "subject",    "template", NULL};
    char where[96];
    snprintf(where, sizeof where, "channels[%zu]", i);
    if (!json_is_object(obj)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s must be an object", where);
    }
    const char *type = NULL, *auth = NULL;
    vg_err rc = s_only_keys(obj, keys, where, why);
    rc = rc ? rc : s_string(&c->name, obj, "name", true, where, why);
    rc = rc ? rc : s_string(&type, obj, "type", true, where, why);
    rc = rc ? rc : s_string(&c->url, obj, "url", false, where, why);
    rc = rc ? rc : s_string(&c->url_secret, obj, "url_secret", false, where, why);
    rc = rc ? rc : s_string(&c->from, obj, "from", false, where, why);
    rc = rc ? rc : s_string(&c->user, obj, "user", false, where, why);
    rc = rc ? rc : s_string(&c->secret, obj, "secret", false, where, why);
    rc = rc ? rc : s_string(&c->ca_file, obj, "ca_file", false, where, why);
    rc = rc ? rc : s_string(&auth, obj, "auth", false, where, why);
    rc = rc ? rc : s_string(&c->content_type, obj, "content_type", false, where, why);
    rc = rc ? rc : s_string(&c->subject, obj, "subject", false, where, why);
    rc = rc ? rc : s_string(&c->body, obj, "template", false, where, why);
    if (rc != VG_OK) {
        return rc;
    }
    snprintf(where, sizeof where, "channel %.63s", c->name);
    if (!s_name_ok(c->name)) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "channels[%zu]: \"name\" must be 1-63 of a-z, 0-9, '.', '_', '-'", i);
    }
    if (strcmp(type, "email") == 0) {
        c->kind = VG_CHANNEL_EMAIL;
    } else if (strcmp(type, "webhook") == 0) {
        c->kind = VG_CHANNEL_WEBHOOK;
    } else {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"type\" must be email or webhook", where);
    }
    bool email = c->kind == VG_CHANNEL_EMAIL;
    if ((rc = s_channel_urls(c, where, why)) != VG_OK ||
        (rc = s_channel_auth(c, auth, where, why)) != VG_OK) {
        return rc;
    }
    if (email && !s_email_ok(c->from)) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s: \"from\" must be the sender's email address", where);
    }
    if (!email && (c->from[0] != '\0' || c->subject[0] != '\0')) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"from\" and \"subject\" are for email",
                             where);
    }
    if (email && c->content_type[0] != '\0') {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"content_type\" is for webhooks", where);
    }
    if ((c->secret[0] != '\0' && !s_name_ok(c->secret)) ||
        !s_printable(c->user, VG_ROTA_NAME_MAX * 2, false) ||
        !s_printable(c->ca_file, VG_ROTA_URL_MAX, true) ||
        !s_printable(c->content_type, VG_ROTA_NAME_MAX, true)) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s: \"secret\" names a secret ([a-z0-9._-]); user, ca_file and "
                             "content_type are single lines",
                             where);
    }
    if (c->subject[0] == '\0' && email) {
        c->subject = s_subject_default;
    }
    if (c->body[0] == '\0') {
        c->body = email ? s_email_body_default : s_webhook_body_default;
    }
    if (!email && c->content_type[0] == '\0') {
        c->content_type = "application/json";
    }
    if (strlen(c->subject) >= VG_ROTA_SUBJECT_MAX || strlen(c->body) >= VG_ROTA_TEMPLATE_MAX ||
        !s_printable(c->subject, VG_ROTA_SUBJECT_MAX, true)) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s: the subject is one line under %d characters, the template "
                             "under %d",
                             where, VG_ROTA_SUBJECT_MAX, VG_ROTA_TEMPLATE_MAX);
    }
    rc = s_template_ok(c->subject, where, why);
    return rc ? rc : s_template_ok(c->body, where, why);
}

static const vg_channel *
s_channel_named(const vg_rota *r, const char *name)
{
    for (size_t i = 0; i < r->n_channels; i++) {
        if (strcmp(r->channels[i].name, name) == 0) {
            return &r->channels[i];
        }
    }
    return NULL;
}

/* ---- entries ------------------------------------------------------------------ */

static bool
s_hhmm(int *out, const char *s)
{
    if (strlen(s) != 5 || s[2] != ':' || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' ||
        s[3] < '0' || s[3] > '5' || s[4] < '0' || s[4] > '9') {
        return false;
    }
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    *out = h * 60 + m;
    return h < 24 || (h == 24 && m == 0);
}

/* "09:00-17:00,18:00-24:00" for one weekday into e's spans. */
static bool
s_day_spans(s_entry *e, int weekday, const char *text)
{
    char buf[256];
    if (strlen(text) >= sizeof buf) {
        return false;
    }
    snprintf(buf, sizeof buf, "%s", text);
    for (char *save = NULL, *sp = strtok_r(buf, ",", &save); sp != NULL;
         sp = strtok_r(NULL, ",", &save)) {
        char *dash = strchr(sp, '-');
        int open = 0, close = 0;
        if (dash == NULL || e->n_spans == S_SPANS_MAX) {
            return false;
        }
        *dash = '\0';
        if (!s_hhmm(&open, sp) || !s_hhmm(&close, dash + 1) || open >= close) {
            return false;
        }
        e->spans[e->n_spans++] = (vg_span){
            .weekday = (uint8_t)weekday, .open_min = (uint16_t)open, .close_min = (uint16_t)close};
    }
    return true;
}

static vg_err
s_parse_when(s_entry *e, json_t *v, const char *where, vg_reason *why)
{
    if (json_is_string(v)) {
        const char *w = json_string_value(v);
        e->when = strcmp(w, "always") == 0   ? S_ALWAYS
                  : strcmp(w, "open") == 0   ? S_OPEN
                  : strcmp(w, "closed") == 0 ? S_CLOSED
                                             : 0;
    } else if (json_is_object(v)) {
        e->when = S_SPANS;
        const char *key;
        json_t *day;
        json_object_foreach(v, key, day)
        {
            int wd = vg_weekday_parse(key);
            if (wd == 0 || !json_is_string(day) || !s_day_spans(e, wd, json_string_value(day))) {
                return vg_reason_set(why, VG_ERR_MALFORMED,
                                     "%s: \"when\": \"%s\" must be a weekday (mon..sun) with "
                                     "spans \"HH:MM-HH:MM[,...]\", open before close, 24:00 "
                                     "allowed as a close",
                                     where, key);
            }
        }
    }
    if (e->when == 0 || (e->when == S_SPANS && e->n_spans == 0)) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s: \"when\" must be \"always\", \"open\", \"closed\" or weekly "
                             "spans such as {\"sat\": \"00:00-24:00\"}",
                             where);
    }
    return VG_OK;
}

/* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM" as local minutes since 1970; a bare
 * date means its start, or its end when end_of_day. */
static bool
s_local_minutes(int64_t *out, const char *text, bool end_of_day)
{
    char date[11];
    uint32_t ymd = 0;
    vg_reason why;
    size_t n = strlen(text);
    if ((n != 10 && n != 16) || (n == 16 && text[10] != 'T')) {
        return false;
    }
    memcpy(date, text, 10);
    date[10] = '\0';
    int min = end_of_day ? S_DAY_MIN : 0;
    if (vg_date_parse(&ymd, date, &why) != VG_OK || (n == 16 && !s_hhmm(&min, text + 11))) {
        return false;
    }
    *out = (int64_t)vg_date_days(ymd) * S_DAY_MIN + min;
    return true;
}

static vg_err
s_contacts(vg_rota *r, s_entry *e, json_t *arr, const char *where, vg_reason *why)
{
    static const char *const keys[] = {"channel", "to", NULL};
    if (!json_is_array(arr) || json_array_size(arr) == 0 ||
        json_array_size(arr) > VG_ROTA_CONTACTS_MAX) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"contacts\" must list 1-%d contacts",
                             where, VG_ROTA_CONTACTS_MAX);
    }
    size_t i;
    json_t *c;
    json_array_foreach(arr, i, c)
    {
        const char *channel = NULL, *to = NULL;
        vg_err rc = json_is_object(c)
                        ? s_only_keys(c, keys, where, why)
                        : vg_reason_set(why, VG_ERR_MALFORMED, "%s: a contact is an object", where);
        rc = rc ? rc : s_string(&channel, c, "channel", true, where, why);
        rc = rc ? rc : s_string(&to, c, "to", false, where, why);
        if (rc != VG_OK) {
            return rc;
        }
        const vg_channel *ch = s_channel_named(r, channel);
        if (ch == NULL) {
            return vg_reason_set(why, VG_ERR_MALFORMED, "%s: no channel named \"%s\"", where,
                                 channel);
        }
        if (ch->kind == VG_CHANNEL_EMAIL ? !s_email_ok(to)
                                         : !s_printable(to, VG_ROTA_ADDRESS_MAX, true)) {
            return vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"to\" \"%.80s\" is not %s", where, to,
                                 ch->kind == VG_CHANNEL_EMAIL ? "an email address"
                                                              : "a one-line address");
        }
        e->contacts[i] = (vg_contact){.channel = ch, .to = to};
    }
    e->view.n_contacts = json_array_size(arr);
    return VG_OK;
}

static vg_err
s_entry_parse(vg_rota *r, s_entry *e, json_t *obj, size_t i, vg_reason *why)
{
    static const char *const keys[] = {"name", "role", "when", "from", "until", "contacts", NULL};
    char where[96];
    snprintf(where, sizeof where, "duty[%zu]", i);
    if (!json_is_object(obj)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s must be an object", where);
    }
    const char *role = NULL, *from = NULL, *until = NULL;
    vg_err rc = s_only_keys(obj, keys, where, why);
    rc = rc ? rc : s_string(&e->view.name, obj, "name", true, where, why);
    rc = rc ? rc : s_string(&role, obj, "role", true, where, why);
    rc = rc ? rc : s_string(&from, obj, "from", false, where, why);
    rc = rc ? rc : s_string(&until, obj, "until", false, where, why);
    if (rc != VG_OK) {
        return rc;
    }
    if (e->view.name[0] == '\0' || !s_printable(e->view.name, VG_ROTA_NAME_MAX * 2, true)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"name\" is one line, 1-127 characters",
                             where);
    }
    e->view.duty = strcmp(role, "officer") == 0        ? VG_DUTY_OFFICER
                   : strcmp(role, "out-of-hours") == 0 ? VG_DUTY_OUT_OF_HOURS
                   : strcmp(role, "manager") == 0      ? VG_DUTY_MANAGER
                                                       : 0;
    if (e->view.duty == 0) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s: \"role\" must be officer, out-of-hours or manager", where);
    }
    e->from_min = S_NEVER_MIN;
    e->until_min = S_FOREVER_MIN;
    if ((from[0] && !s_local_minutes(&e->from_min, from, false)) ||
        (until[0] && !s_local_minutes(&e->until_min, until, true)) || e->from_min >= e->until_min) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s: \"from\" and \"until\" are local dates (YYYY-MM-DD, until "
                             "the end of it) or times (YYYY-MM-DDTHH:MM), from before until",
                             where);
    }
    e->view.dated = from[0] != '\0' || until[0] != '\0';
    json_t *when = json_object_get(obj, "when");
    rc = when != NULL ? s_parse_when(e, when, where, why)
                      : vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"when\" is required", where);
    rc = rc ? rc : s_contacts(r, e, json_object_get(obj, "contacts"), where, why);
    e->view.contacts = e->contacts;
    return rc;
}

/* ---- the file --------------------------------------------------------------------- */

static vg_err
s_top(vg_rota *r, const char *agency, vg_reason *why)
{
    static const char *const keys[] = {"agency", "console", "tz_rule", "channels", "duty", NULL};
    const char *tz_rule = NULL;
    vg_err rc = s_only_keys(r->root, keys, "rota", why);
    rc = rc ? rc : s_string(&r->agency, r->root, "agency", true, "rota", why);
    rc = rc ? rc : s_string(&r->console, r->root, "console", true, "rota", why);
    rc = rc ? rc : s_string(&tz_rule, r->root, "tz_rule", false, "rota", why);
    if (rc != VG_OK) {
        return rc;
    }
    if (strcmp(r->agency, agency) != 0) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "rota: \"agency\" is \"%.63s\" but the file is %s's", r->agency,
                             agency);
    }
    if (!(s_has_prefix(r->console, "https://") || s_has_prefix(r->console, "http://")) ||
        !s_printable(r->console, VG_ROTA_URL_MAX - 64, false)) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "rota: \"console\" must be the agency's web console URL, "
                             "https://HOST/console/");
    }
    vg_reason inner = {{0}};
    if (tz_rule[0] != '\0' && vg_tz_parse(&r->tz, tz_rule, &inner) != VG_OK) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "rota: \"tz_rule\": %s", inner.text);
    }
    r->has_tz = tz_rule[0] != '\0';
    return VG_OK;
}

static vg_err
s_lists(vg_rota *r, vg_reason *why)
{
    json_t *channels = json_object_get(r->root, "channels");
    json_t *duty = json_object_get(r->root, "duty");
    if (!json_is_array(channels) || json_array_size(channels) == 0 ||
        json_array_size(channels) > VG_ROTA_CHANNELS_MAX) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "rota: \"channels\" must list 1-%d channels",
                             VG_ROTA_CHANNELS_MAX);
    }
    if (!json_is_array(duty) || json_array_size(duty) > VG_ROTA_ENTRIES_MAX) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "rota: \"duty\" must list 0-%d entries",
                             VG_ROTA_ENTRIES_MAX);
    }
    vg_err rc = VG_OK;
    for (size_t i = 0; i < json_array_size(channels) && rc == VG_OK; i++) {
        rc = s_channel(&r->channels[i], json_array_get(channels, i), i, why);
        if (rc == VG_OK && s_channel_named(r, r->channels[i].name) != NULL) {
            rc = vg_reason_set(why, VG_ERR_MALFORMED, "rota: two channels are named \"%s\"",
                               r->channels[i].name);
        }
        r->n_channels += rc == VG_OK;
    }
    r->entries = calloc(json_array_size(duty) ? json_array_size(duty) : 1, sizeof *r->entries);
    if (rc == VG_OK && r->entries == NULL) {
        rc = VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < json_array_size(duty) && rc == VG_OK; i++) {
        rc = s_entry_parse(r, &r->entries[i], json_array_get(duty, i), i, why);
        r->n_entries += rc == VG_OK;
    }
    return rc;
}

vg_err
vg_rota_parse(vg_rota **out, const char *json, size_t len, const char *agency, vg_reason *why)
{
    if (len > VG_ROTA_MAX_BYTES) {
        return vg_reason_set(why, VG_ERR_TOO_LARGE, "rota: over %d bytes", VG_ROTA_MAX_BYTES);
    }
    vg_rota *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return VG_ERR_NOMEM;
    }
    json_error_t jerr;
    r->root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    vg_err rc = VG_OK;
    if (r->root == NULL || !json_is_object(r->root)) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED, "rota: not a JSON object (line %d: %s)",
                           jerr.line, r->root ? "not an object" : jerr.text);
    }
    rc = rc ? rc : s_top(r, agency, why);
    rc = rc ? rc : s_lists(r, why);
    if (rc != VG_OK) {
        vg_rota_destroy(&r);
        return rc;
    }
    *out = r;
    return VG_OK;
}

void
vg_rota_destroy(vg_rota **rota_p)
{
    if (rota_p == NULL || *rota_p == NULL) {
        return;
    }
    vg_rota *r = *rota_p;
    free(r->entries);
    json_decref(r->root);
    free(r);
    *rota_p = NULL;
}

const char *
vg_rota_agency(const vg_rota *rota)
{
    return rota->agency;
}

const char *
vg_rota_console(const vg_rota *rota)
{
    return rota->console;
}

const char *
vg_duty_name(vg_duty duty)
{
    return duty == VG_DUTY_OFFICER        ? "officer"
           : duty == VG_DUTY_OUT_OF_HOURS ? "out-of-hours"
           : duty == VG_DUTY_MANAGER      ? "manager"
                                          : "unknown";
}

/* ---- who is on duty ------------------------------------------------------------- */

/* Local minutes since 1970 of at_ms in the agency's zone. */
static int64_t
s_local_now(const vg_rota *r, const vg_netdoc *doc, int64_t at_ms)
{
    vg_agency ag;
    vg_calendar cal;
    const vg_tz *tz = r->has_tz ? &r->tz : NULL;
    if (vg_netdoc_find(doc, r->agency, &ag) == VG_OK && ag.calendar[0] != '\0' &&
        vg_netdoc_calendar(doc, ag.calendar, &cal) == VG_OK) {
        int32_t day = 0;
        int minute = 0;
        vg_calendar_local(&cal, at_ms, &day, &minute);
        return (int64_t)day * S_DAY_MIN + minute;
    }
    int64_t s = at_ms >= 0 ? at_ms / 1000 : -((-at_ms + 999) / 1000);
    s += tz != NULL ? vg_tz_offset_s(tz, s) : 0;
    return s >= 0 ? s / 60 : -((-s + 59) / 60);
}

static bool
s_on(const vg_rota *r, const s_entry *e, const vg_netdoc *doc, int64_t at_ms, int64_t local)
{
    if (local < e->from_min || local >= e->until_min) {
        return false;
    }
    switch (e->when) {
    case S_ALWAYS:
        return true;
    case S_OPEN:
        return vg_netdoc_agency_is_open(doc, r->agency, at_ms);
    case S_CLOSED:
        return !vg_netdoc_agency_is_open(doc, r->agency, at_ms);
    case S_SPANS: {
        int64_t day = local >= 0 ? local / S_DAY_MIN : -((-local + S_DAY_MIN - 1) / S_DAY_MIN);
        int minute = (int)(local - day * S_DAY_MIN);
        int wd = vg_weekday((int32_t)day);
        for (size_t i = 0; i < e->n_spans; i++) {
            if (e->spans[i].weekday == wd && minute >= e->spans[i].open_min &&
                minute < e->spans[i].close_min) {
                return true;
            }
        }
        return false;
    }
    }
    return false;
}

size_t
vg_rota_on_duty(const vg_rota *rota, const vg_netdoc *doc, vg_duty duty, int64_t at_ms,
                vg_duty_entry *out, size_t max)
{
    int64_t local = s_local_now(rota, doc, at_ms);
    size_t n = 0;
    for (int pass = 0; pass < 2 && n == 0; pass++) { /* dated entries first: they replace */
        for (size_t i = 0; i < rota->n_entries; i++) {
            const s_entry *e = &rota->entries[i];
            if (e->view.duty != duty || e->view.dated != (pass == 0) ||
                !s_on(rota, e, doc, at_ms, local)) {
                continue;
            }
            if (n < max) {
                out[n] = e->view;
            }
            n++;
        }
    }
    return n;
}
