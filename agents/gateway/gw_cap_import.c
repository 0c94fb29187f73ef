/*
 * gw_cap_import.c — a valid CAP 1.2 alert onto a vigil alert (see gw_cap.h
 * and the mapping table in docs/gateway.md).
 *
 * Fields vigil has map onto them; the rest travel under the reserved "cap."
 * schemes (gw_cap_internal.h). What vigil cannot carry is refused with
 * VG_ERR_INVALID and a reason; nothing is dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw_cap_internal.h"
#include "vigil/util.h"
#include "vigil/wire.h"

typedef struct s_imp {
    vg_alert *a;                 /* being filled (owned by the caller's out) */
    const gw_cap_import_opts *o; /* the caller's options */
    gw_cap_problem *pb;          /* where a refusal is */
    vg_reason *why;              /* why */
} s_imp;

static vg_err
s_nomem(s_imp *im)
{
    return gw_cap_fail(im->pb, im->why, VG_ERR_NOMEM, "", "", "out of memory");
}

/* Adds a subject (scheme, value); copies both. */
static vg_err
s_subject(s_imp *im, const char *scheme, const char *value)
{
    vg_subject *grown = realloc(im->a->subjects, (im->a->n_subjects + 1) * sizeof *grown);
    if (grown == NULL) {
        return s_nomem(im);
    }
    im->a->subjects = grown;
    vg_subject *s = &grown[im->a->n_subjects];
    s->scheme = vg_strdup(scheme);
    s->value = vg_strdup(value);
    if (s->scheme == NULL || s->value == NULL) {
        free(s->scheme);
        free(s->value);
        return s_nomem(im);
    }
    im->a->n_subjects++;
    return VG_OK;
}

/* Subject "cap.<name>" (plus ":<suffix>" when suffix) with the text of n. */
static vg_err
s_keep(s_imp *im, const xmlNode *n, const char *suffix)
{
    char scheme[512];
    snprintf(scheme, sizeof scheme, GW_CAP_PREFIX "%s%s%s", (const char *)n->name,
             suffix ? ":" : "", suffix ? suffix : "");
    char *text = gw_cap_text(n);
    if (text == NULL) {
        return s_nomem(im);
    }
    vg_err rc = s_subject(im, scheme, text);
    free(text);
    return rc;
}

/* The text of the child named `name` of a valueName/value pair element. */
static char *
s_pair_part(const xmlNode *pair, const char *name)
{
    for (const xmlNode *c = gw_cap_first(pair); c != NULL; c = gw_cap_next(c)) {
        if (gw_cap_is(c, name)) {
            return gw_cap_text(c);
        }
    }
    return NULL;
}

static vg_err
s_set_text(s_imp *im, char **dst, const xmlNode *n)
{
    free(*dst);
    *dst = gw_cap_text(n);
    return *dst != NULL ? VG_OK : s_nomem(im);
}

/* ---- the alert block --------------------------------------------------------------- */

/* incidents: names separated by whitespace; a name with spaces in double quotes. */
static vg_err
s_incidents(s_imp *im, const char *text)
{
    const char *p = text;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        const char *start = p;
        const char *end;
        if (*p == '"') {
            start = ++p;
            end = strchr(p, '"');
            end = end ? end : p + strlen(p);
            p = *end ? end + 1 : end;
        } else {
            while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
                p++;
            }
            end = p;
        }
        char *name = strndup(start, (size_t)(end - start));
        vg_err rc = name ? vg_strlist_add_unique(&im->a->incidents, name) : VG_ERR_NOMEM;
        free(name);
        if (rc != VG_OK) {
            return s_nomem(im);
        }
    }
    return VG_OK;
}

/* references: each triple whose identifier is a vigil alert id, or that the
 * caller knows, becomes a vigil reference; the text itself is kept. */
static vg_err
s_references(s_imp *im, const xmlNode *n)
{
    vg_err rc = s_keep(im, n, NULL);
    char *text = rc == VG_OK ? gw_cap_text(n) : NULL;
    char *save = NULL;
    for (char *tok = text ? strtok_r(text, " \t\r\n", &save) : NULL; tok != NULL && rc == VG_OK;
         tok = strtok_r(NULL, " \t\r\n", &save)) {
        uint8_t id[VG_ALERT_ID_LEN];
        char *c1 = strchr(tok, ',');
        char *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        bool found = false;
        if (c1 != NULL && c2 != NULL && c2 - c1 - 1 == VG_ALERT_ID_HEX_LEN) {
            char hex[VG_ALERT_ID_HEX_LEN + 1];
            memcpy(hex, c1 + 1, VG_ALERT_ID_HEX_LEN);
            hex[VG_ALERT_ID_HEX_LEN] = '\0';
            found = vg_alert_id_parse(id, hex, NULL) == VG_OK;
        }
        if (!found && im->o->resolve != NULL) {
            found = im->o->resolve(im->o->resolve_ctx, tok, id);
        }
        if (found && im->a->n_references < VG_REFERENCES_MAX) {
            uint8_t(*grown)[VG_ALERT_ID_LEN] =
                realloc(im->a->references, (im->a->n_references + 1) * sizeof *grown);
            if (grown == NULL) {
                rc = s_nomem(im);
                break;
            }
            im->a->references = grown;
            memcpy(grown[im->a->n_references++], id, VG_ALERT_ID_LEN);
        }
    }
    free(text);
    return rc;
}

/* Private alerts name their recipients in <addresses>: vigil agency ids. */
static vg_err
s_addresses(s_imp *im, const xmlNode *n, bool private_scope)
{
    vg_err rc = s_keep(im, n, NULL);
    if (rc != VG_OK || !private_scope) {
        return rc;
    }
    char *text = gw_cap_text(n);
    char *save = NULL;
    for (char *tok = text ? strtok_r(text, " \t\r\n", &save) : NULL; tok != NULL && rc == VG_OK;
         tok = strtok_r(NULL, " \t\r\n", &save)) {
        vg_agency ag;
        if (vg_netdoc_find(im->o->doc, tok, &ag) != VG_OK) {
            rc = gw_cap_fail(im->pb, im->why, VG_ERR_INVALID, "alert/addresses",
                             "agency ids of this network",
                             "scope Private: <addresses> names '%.64s', which is not an agency "
                             "of this network; vigil delivers a Private alert to the agencies "
                             "its <addresses> names",
                             tok);
        } else if (vg_strlist_add_unique(&im->a->recipients, tok) != VG_OK) {
            rc = s_nomem(im);
        }
    }
    free(text);
    return rc;
}

static vg_err
s_alert_block(s_imp *im, const xmlNode *root)
{
    bool private_scope = false;
    vg_err rc = VG_OK;
    for (const xmlNode *c = gw_cap_first(root); c != NULL && rc == VG_OK; c = gw_cap_next(c)) {
        char *text = NULL;
        if (gw_cap_is(c, "status") || gw_cap_is(c, "msgType") || gw_cap_is(c, "scope")) {
            text = gw_cap_text(c);
            if (text == NULL) {
                return s_nomem(im);
            }
        }
        if (gw_cap_is(c, "status")) {
            rc = vg_status_parse(&im->a->status, text, im->why);
        } else if (gw_cap_is(c, "msgType")) {
            rc = vg_msg_type_parse(&im->a->msg_type, text, im->why);
        } else if (gw_cap_is(c, "scope")) {
            private_scope = strcmp(text, "Private") == 0;
            rc = s_keep(im, c, NULL);
        } else if (gw_cap_is(c, "addresses")) {
            rc = s_addresses(im, c, private_scope);
        } else if (gw_cap_is(c, "references")) {
            rc = s_references(im, c);
        } else if (gw_cap_is(c, "incidents")) {
            text = gw_cap_text(c);
            rc = text ? s_incidents(im, text) : s_nomem(im);
        } else if (gw_cap_is(c, "info")) {
            /* mapped by s_infos */
        } else if (gw_cap_is(c, NULL)) {
            rc = s_keep(im, c, NULL); /* identifier sender sent source restriction code note */
        } else {
            rc = gw_cap_fail(im->pb, im->why, VG_ERR_INVALID, "alert/Signature",
                             "an alert without an XML signature",
                             "the alert carries an XML signature, which vigil cannot carry (it "
                             "signs every alert with the sending agency's key instead); send it "
                             "unsigned");
        }
        free(text);
    }
    return rc;
}

/* ---- the info block ----------------------------------------------------------------- */

/* Appends "name=text\x1e" to *buf (malloc'ed, grown); false on no memory. */
static bool
s_cat(char **buf, size_t *used, const xmlNode *n)
{
    char *text = gw_cap_text(n);
    size_t need = *used + strlen((const char *)n->name) + (text ? strlen(text) : 0) + 3;
    char *grown = text ? realloc(*buf, need) : NULL;
    if (grown == NULL) {
        free(text);
        return false;
    }
    *used += (size_t)snprintf(grown + *used, need - *used, "%s=%s\x1e", n->name, text);
    *buf = grown;
    free(text);
    return true;
}

/* A canonical text of a child of <info>, for comparing two <info> blocks:
 * name=text, or for a block (eventCode, parameter, resource) its name and
 * then name=text of each of its children. NULL on no memory. */
static char *
s_canon(const xmlNode *n)
{
    char *buf = NULL;
    size_t used = 0;
    const xmlNode *c = gw_cap_first(n);
    bool ok = c == NULL ? s_cat(&buf, &used, n) : (buf = strdup((const char *)n->name)) != NULL;
    used = buf ? strlen(buf) : 0;
    for (; ok && c != NULL; c = gw_cap_next(c)) {
        ok = s_cat(&buf, &used, c);
    }
    if (!ok) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* The next child of <info> after n that is not an <area>. */
static const xmlNode *
s_next_non_area(const xmlNode *n)
{
    while (n != NULL && gw_cap_is(n, "area")) {
        n = gw_cap_next(n);
    }
    return n;
}

/* Several <info> blocks are carried only when they differ in nothing but
 * their <area>s: vigil holds one text per alert. */
static vg_err
s_same_info(s_imp *im, const xmlNode *first, const xmlNode *other, unsigned index)
{
    const xmlNode *a = s_next_non_area(gw_cap_first(first));
    const xmlNode *b = s_next_non_area(gw_cap_first(other));
    while (a != NULL || b != NULL) {
        char *ca = a ? s_canon(a) : NULL;
        char *cb = b ? s_canon(b) : NULL;
        bool same = ca != NULL && cb != NULL && strcmp(ca, cb) == 0;
        free(ca);
        free(cb);
        if (!same) {
            const xmlNode *at = b ? b : a;
            char where[GW_CAP_FIELD_MAX];
            snprintf(where, sizeof where, "alert/info[%u]/%s", index, at->name);
            return gw_cap_fail(im->pb, im->why, VG_ERR_INVALID, where,
                               "several <info> blocks only when they differ in their <area>s",
                               "<info> %u differs from <info> 1 in <%s>: vigil carries one text "
                               "per alert, so several <info> blocks are accepted only when they "
                               "differ in nothing but their <area>s (for translations, send one "
                               "alert per language)",
                               index, at->name);
        }
        a = s_next_non_area(gw_cap_next(a));
        b = s_next_non_area(gw_cap_next(b));
    }
    return VG_OK;
}

static vg_err
s_category(s_imp *im, const char *name, const char *where)
{
    if (!vg_netdoc_has_category(im->o->doc, name)) {
        char known[VG_REASON_MAX] = "";
        size_t used = 0;
        for (size_t k = 0; k < vg_netdoc_n_categories(im->o->doc) && used < sizeof known; k++) {
            int w = snprintf(known + used, sizeof known - used, "%s%s", k ? ", " : "",
                             vg_netdoc_category_at(im->o->doc, k));
            used += w > 0 ? (size_t)w : 0;
        }
        return gw_cap_fail(im->pb, im->why, VG_ERR_INVALID, where, known,
                           "category '%.64s' is not in this network's taxonomy: use %s", name,
                           known);
    }
    return vg_strlist_add_unique(&im->a->categories, name) == VG_OK ? VG_OK : s_nomem(im);
}

static vg_err
s_event_code(s_imp *im, const xmlNode *n, const char *where)
{
    char *name = s_pair_part(n, "valueName");
    char *value = s_pair_part(n, "value");
    vg_err rc = VG_OK;
    if (name == NULL || value == NULL) {
        rc = s_nomem(im);
    } else if (strcmp(name, GW_CAP_VIGIL_CATEGORY) == 0) {
        rc = s_category(im, value, where);
    } else {
        char scheme[512];
        snprintf(scheme, sizeof scheme, GW_CAP_PREFIX "eventCode:%s", name);
        rc = s_subject(im, scheme, value);
    }
    free(name);
    free(value);
    return rc;
}

static vg_err
s_parameter(s_imp *im, const xmlNode *n)
{
    char *name = s_pair_part(n, "valueName");
    char *value = s_pair_part(n, "value");
    vg_err rc = s_nomem(im);
    if (name != NULL && value != NULL) {
        char scheme[512];
        snprintf(scheme, sizeof scheme, GW_CAP_PREFIX "parameter:%s", name);
        rc = s_subject(im, scheme, value);
    }
    free(name);
    free(value);
    return rc;
}

/* A resource as one JSON object of its elements, in order. */
static vg_err
s_resource(s_imp *im, const xmlNode *n)
{
    json_t *o = json_object();
    for (const xmlNode *c = gw_cap_first(n); o != NULL && c != NULL; c = gw_cap_next(c)) {
        char *text = gw_cap_text(c);
        json_t *s = text ? json_string(text) : NULL;
        free(text);
        if (s == NULL || json_object_set_new(o, (const char *)c->name, s) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    char *dump = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    vg_err rc = dump ? s_subject(im, GW_CAP_PREFIX "resource", dump) : s_nomem(im);
    free(dump);
    return rc;
}

static vg_err
s_geocode(s_imp *im, vg_area *area, const char *scheme, const char *value)
{
    size_t len = strlen(scheme) + strlen(value) + 2;
    char *code = malloc(len);
    if (code == NULL) {
        return s_nomem(im);
    }
    snprintf(code, len, "%s:%s", scheme, value);
    vg_err rc = vg_strlist_add(&area->geocodes, code);
    free(code);
    return rc == VG_OK ? VG_OK : s_nomem(im);
}

static vg_err
s_area_child(s_imp *im, vg_area *area, const xmlNode *c, const char *where)
{
    if (gw_cap_is(c, "areaDesc")) {
        return s_set_text(im, &area->desc, c);
    }
    if (!gw_cap_is(c, "geocode")) { /* polygon circle altitude ceiling */
        char scheme[32];
        snprintf(scheme, sizeof scheme, GW_CAP_PREFIX "%s", (const char *)c->name);
        char *text = gw_cap_text(c);
        vg_err rc = text ? s_geocode(im, area, scheme, text) : s_nomem(im);
        free(text);
        return rc;
    }
    char *name = s_pair_part(c, "valueName");
    char *value = s_pair_part(c, "value");
    vg_err rc = VG_OK;
    if (name == NULL || value == NULL) {
        rc = s_nomem(im);
    } else if (strchr(value, ':') != NULL) {
        rc = gw_cap_fail(im->pb, im->why, VG_ERR_INVALID, where, "a value without ':'",
                         "geocode value '%.64s' has a ':': vigil writes a geocode as "
                         "valueName:value, so it cannot carry this one unchanged",
                         value);
    } else if (strncmp(name, GW_CAP_PREFIX, strlen(GW_CAP_PREFIX)) == 0) {
        rc = gw_cap_fail(
            im->pb, im->why, VG_ERR_INVALID, where, "a valueName not starting with 'cap.'",
            "geocode valueName '%.64s' starts with 'cap.', which vigil reserves", name);
    } else {
        rc = s_geocode(im, area, name, value);
    }
    free(name);
    free(value);
    return rc;
}

static vg_err
s_area(s_imp *im, const xmlNode *n, const char *where)
{
    vg_area *grown = realloc(im->a->areas, (im->a->n_areas + 1) * sizeof *grown);
    if (grown == NULL) {
        return s_nomem(im);
    }
    im->a->areas = grown;
    vg_area *area = &grown[im->a->n_areas++];
    memset(area, 0, sizeof *area);
    vg_err rc = VG_OK;
    for (const xmlNode *c = gw_cap_first(n); c != NULL && rc == VG_OK; c = gw_cap_next(c)) {
        rc = s_area_child(im, area, c, where);
    }
    return rc;
}

/* The enumerations: CAP's names, lowercased, are vigil's (Extreme..Minor aside). */
static vg_err
s_enum_child(s_imp *im, const xmlNode *c, const char *where)
{
    char *text = gw_cap_text(c);
    if (text == NULL) {
        return s_nomem(im);
    }
    vg_err rc = VG_OK;
    if (gw_cap_is(c, "urgency")) {
        rc = vg_urgency_parse(&im->a->urgency, text, im->why);
    } else if (gw_cap_is(c, "certainty")) {
        rc = vg_certainty_parse(&im->a->certainty, text, im->why);
    } else {
        static const struct {
            const char *cap;
            vg_severity sev;
        } map[] = {{"Extreme", VG_SEV_CRITICAL},
                   {"Severe", VG_SEV_HIGH},
                   {"Moderate", VG_SEV_MEDIUM},
                   {"Minor", VG_SEV_LOW}};
        rc = VG_ERR_INVALID;
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
            if (strcmp(text, map[i].cap) == 0) {
                im->a->severity = map[i].sev;
                rc = VG_OK;
            }
        }
        if (rc != VG_OK) {
            rc = gw_cap_fail(im->pb, im->why, VG_ERR_INVALID, where,
                             "Extreme, Severe, Moderate, Minor",
                             "severity Unknown: vigil needs a severity (its deadlines and routing "
                             "depend on it): Extreme, Severe, Moderate or Minor");
        }
    }
    free(text);
    return rc;
}

/* The first <info> (the others were found equal but for their areas). */
static vg_err
s_info(s_imp *im, const xmlNode *info)
{
    vg_err rc = VG_OK;
    unsigned n_code = 0;
    bool headline = false;
    char where[GW_CAP_FIELD_MAX];
    for (const xmlNode *c = gw_cap_first(info); c != NULL && rc == VG_OK; c = gw_cap_next(c)) {
        snprintf(where, sizeof where, "alert/info[1]/%s", c->name);
        if (gw_cap_is(c, "language")) {
            rc = s_set_text(im, &im->a->language, c);
        } else if (gw_cap_is(c, "event")) {
            rc = s_set_text(im, &im->a->event, c);
        } else if (gw_cap_is(c, "urgency") || gw_cap_is(c, "severity") ||
                   gw_cap_is(c, "certainty")) {
            rc = s_enum_child(im, c, where);
        } else if (gw_cap_is(c, "eventCode")) {
            snprintf(where, sizeof where, "alert/info[1]/eventCode[%u]", ++n_code);
            rc = s_event_code(im, c, where);
        } else if (gw_cap_is(c, "expires")) {
            char *text = gw_cap_text(c);
            if (text == NULL) {
                rc = s_nomem(im);
            } else if (!gw_cap_time_parse(text, &im->a->expires_ms)) { /* checked already */
                rc = gw_cap_fail(im->pb, im->why, VG_ERR_MALFORMED, where, "", "bad <expires>");
            }
            free(text);
        } else if (gw_cap_is(c, "senderName")) {
            rc = s_set_text(im, &im->a->sender_name, c);
        } else if (gw_cap_is(c, "headline")) {
            headline = true;
            rc = s_set_text(im, &im->a->headline, c);
        } else if (gw_cap_is(c, "description")) {
            rc = s_set_text(im, &im->a->description, c);
        } else if (gw_cap_is(c, "instruction")) {
            rc = s_set_text(im, &im->a->instruction, c);
        } else if (gw_cap_is(c, "web")) {
            rc = s_set_text(im, &im->a->web, c);
        } else if (gw_cap_is(c, "contact")) {
            rc = s_set_text(im, &im->a->contact, c);
        } else if (gw_cap_is(c, "parameter")) {
            rc = s_parameter(im, c);
        } else if (gw_cap_is(c, "resource")) {
            rc = s_resource(im, c);
        } else if (!gw_cap_is(c, "area")) { /* category responseType audience effective onset */
            rc = s_keep(im, c, NULL);
        }
    }
    if (rc == VG_OK && !headline) {
        rc = gw_cap_fail(im->pb, im->why, VG_ERR_INVALID, "alert/info[1]/headline", "a <headline>",
                         "vigil needs a <headline> (a one-line summary that "
                         "every recipient's console shows); add one");
    }
    if (rc == VG_OK && im->a->language == NULL) {
        im->a->language = vg_strdup("en-US"); /* CAP's default */
        rc = im->a->language ? VG_OK : s_nomem(im);
    }
    return rc;
}

static vg_err
s_infos(s_imp *im, const xmlNode *root)
{
    const xmlNode *first = NULL;
    unsigned index = 0;
    vg_err rc = VG_OK;
    for (const xmlNode *c = gw_cap_first(root); c != NULL && rc == VG_OK; c = gw_cap_next(c)) {
        if (!gw_cap_is(c, "info")) {
            continue;
        }
        index++;
        if (first == NULL) {
            first = c;
            rc = s_info(im, c);
        } else {
            rc = s_same_info(im, first, c, index);
        }
        for (const xmlNode *a = gw_cap_first(c); a != NULL && rc == VG_OK; a = gw_cap_next(a)) {
            if (gw_cap_is(a, "area")) {
                char where[GW_CAP_FIELD_MAX];
                snprintf(where, sizeof where, "alert/info[%u]/area[%zu]", index,
                         im->a->n_areas + 1);
                rc = s_area(im, a, where);
            }
        }
    }
    if (rc == VG_OK && first == NULL) {
        rc = gw_cap_fail(im->pb, im->why, VG_ERR_INVALID, "alert/info", "an <info> block",
                         "the alert has no <info>: vigil needs one for its severity, urgency "
                         "and headline");
    }
    return rc;
}

/* Vigil categories: eventCodes named GW_CAP_VIGIL_CATEGORY, the caller's,
 * else the default. */
static vg_err
s_categories(s_imp *im)
{
    vg_err rc = VG_OK;
    for (size_t i = 0; i < im->o->n_categories && rc == VG_OK; i++) {
        rc = s_category(im, im->o->categories[i], "category");
    }
    const char *def = im->o->default_category;
    if (rc == VG_OK && im->a->categories.n == 0 && def != NULL && def[0] != '\0') {
        rc = s_category(im, def, "category");
    }
    if (rc == VG_OK && im->a->categories.n == 0) {
        rc = gw_cap_fail(im->pb, im->why, VG_ERR_INVALID, "alert/info[1]/eventCode",
                         "<eventCode><valueName>" GW_CAP_VIGIL_CATEGORY
                         "</valueName><value>CATEGORY</value></eventCode>",
                         "the alert names no vigil category: add <eventCode> with valueName "
                         "'" GW_CAP_VIGIL_CATEGORY "' and a category of the network's "
                         "taxonomy, or ?category= to the request");
    }
    return rc;
}

vg_err
gw_cap_import(vg_alert *out, const char *xml, size_t len, const gw_cap_import_opts *opts,
              gw_cap_problem *problem, vg_reason *why)
{
    xmlDoc *doc = NULL;
    vg_err rc = gw_cap_parse(&doc, xml, len, problem, why);
    if (rc == VG_OK) {
        rc = gw_cap_check(doc, problem, why);
    }
    vg_alert a = {0};
    s_imp im = {&a, opts, problem, why};
    if (rc == VG_OK) {
        const xmlNode *root = xmlDocGetRootElement(doc);
        rc = s_alert_block(&im, root);
        if (rc == VG_OK) {
            rc = s_infos(&im, root);
        }
        if (rc == VG_OK) {
            rc = s_categories(&im);
        }
    }
    xmlFreeDoc(doc);
    if (rc != VG_OK) {
        vg_alert_fini(&a);
        return rc;
    }
    *out = a;
    return VG_OK;
}
