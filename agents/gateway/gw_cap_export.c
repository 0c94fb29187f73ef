/*
 * gw_cap_export.c — a vigil alert as a CAP 1.2 document, and a receipt as a
 * CAP Ack (see gw_cap.h). Elements are written in the schema's order; what
 * the alert kept under the reserved "cap." schemes comes back where it was,
 * and vigil's own facts that CAP has no element for go into <parameter>s
 * named urn:vigil:* (docs/gateway.md).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/tree.h>

#include "gw_cap_internal.h"
#include "vigil/util.h"
#include "vigil/wire.h"

/* ---- text XML 1.0 can hold ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at p that XML 1.0 allows, 0 if none. */
static size_t
s_xml_char(const unsigned char *p)
{
    unsigned cp;
    size_t n;
    if (p[0] < 0x80) {
        cp = p[0];
        n = 1;
    } else if ((p[0] & 0xE0) == 0xC0) {
        cp = p[0] & 0x1Fu;
        n = 2;
    } else if ((p[0] & 0xF0) == 0xE0) {
        cp = p[0] & 0x0Fu;
        n = 3;
    } else if ((p[0] & 0xF8) == 0xF0) {
        cp = p[0] & 0x07u;
        n = 4;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
    bool allowed = cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
                   (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
    return cp >= min[n] && allowed ? n : 0;
}

/* A copy of text with every byte XML 1.0 cannot hold as U+FFFD; NULL on no memory. */
static char *
s_safe(const char *text)
{
    const unsigned char *p = (const unsigned char *)(text ? text : "");
    char *out = malloc(strlen((const char *)p) * 3 + 1);
    size_t used = 0;
    while (out != NULL && *p != '\0') {
        size_t n = s_xml_char(p);
        if (n == 0) {
            memcpy(out + used, "\xEF\xBF\xBD", 3);
            used += 3;
            p++;
        } else {
            memcpy(out + used, p, n);
            used += n;
            p += n;
        }
    }
    if (out != NULL) {
        out[used] = '\0';
    }
    return out;
}

typedef struct s_out {
    xmlNs *ns;  /* the CAP namespace */
    bool nomem; /* something could not be allocated */
} s_out;

static void
s_add(s_out *o, xmlNode *parent, const char *name, const char *text)
{
    char *safe = s_safe(text);
    if (safe == NULL || xmlNewTextChild(parent, o->ns, BAD_CAST name, BAD_CAST safe) == NULL) {
        o->nomem = true;
    }
    free(safe);
}

static xmlNode *
s_block(s_out *o, xmlNode *parent, const char *name)
{
    xmlNode *n = xmlNewChild(parent, o->ns, BAD_CAST name, NULL);
    o->nomem |= n == NULL;
    return n;
}

static void
s_pair(s_out *o, xmlNode *parent, const char *name, const char *value_name, const char *value)
{
    xmlNode *n = s_block(o, parent, name);
    if (n != NULL) {
        s_add(o, n, "valueName", value_name);
        s_add(o, n, "value", value);
    }
}

/* Text that is there: not NULL and not empty (opened alerts hold "" for absent). */
static bool
s_has(const char *t)
{
    return t != NULL && t[0] != '\0';
}

/* ---- what the alert kept ----------------------------------------------------------------- */

/* The value of the first subject with this scheme, or NULL. */
static const char *
s_kept(const vg_alert *a, const char *scheme)
{
    for (size_t i = 0; i < a->n_subjects; i++) {
        if (a->subjects[i].scheme != NULL && strcmp(a->subjects[i].scheme, scheme) == 0) {
            return a->subjects[i].value ? a->subjects[i].value : "";
        }
    }
    return NULL;
}

/* Writes one element per subject with this scheme. */
static void
s_add_kept(s_out *o, xmlNode *parent, const vg_alert *a, const char *scheme, const char *name)
{
    for (size_t i = 0; i < a->n_subjects; i++) {
        if (a->subjects[i].scheme != NULL && strcmp(a->subjects[i].scheme, scheme) == 0) {
            s_add(o, parent, name, a->subjects[i].value);
        }
    }
}

/* Writes a valueName/value element per subject "cap.<name>:<valueName>". */
static void
s_add_kept_pairs(s_out *o, xmlNode *parent, const vg_alert *a, const char *name)
{
    char prefix[64];
    int plen = snprintf(prefix, sizeof prefix, GW_CAP_PREFIX "%s:", name);
    for (size_t i = 0; i < a->n_subjects; i++) {
        const char *sc = a->subjects[i].scheme;
        if (sc != NULL && strncmp(sc, prefix, (size_t)plen) == 0) {
            s_pair(o, parent, name, sc + plen, a->subjects[i].value);
        }
    }
}

static bool
s_is_kept(const char *scheme)
{
    return scheme != NULL && strncmp(scheme, GW_CAP_PREFIX, strlen(GW_CAP_PREFIX)) == 0;
}

/* "Actual" from "actual": CAP's names are vigil's, capitalised. */
static void
s_cap_name(char *out, size_t out_len, const char *vigil_name, const char *fallback)
{
    snprintf(out, out_len, "%s", strcmp(vigil_name, "unspecified") == 0 ? fallback : vigil_name);
    out[0] = (char)toupper((unsigned char)out[0]);
}

void
gw_cap_triple(char *out, size_t out_len, const vg_alert *a)
{
    const char *id = s_kept(a, GW_CAP_PREFIX "identifier");
    const char *sender = s_kept(a, GW_CAP_PREFIX "sender");
    const char *sent = s_kept(a, GW_CAP_PREFIX "sent");
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    char when[40];
    vg_alert_id_hex(idhex, a->id);
    gw_cap_time_format(when, sizeof when, a->created_ms);
    if (id != NULL && sender != NULL && sent != NULL) {
        char t[40];
        size_t n = strspn(sent, " \t\r\n");
        snprintf(t, sizeof t, "%s", sent + n);
        t[strcspn(t, " \t\r\n")] = '\0';
        snprintf(out, out_len, "%s,%s,%s", sender, id, t);
    } else {
        snprintf(out, out_len, "%s,%s,%s", a->sender ? a->sender : "vigil", idhex, when);
    }
}

/* ---- the alert block ------------------------------------------------------------------------ */

/* incidents: space-separated, a name with whitespace in double quotes.
 * Names with '"' cannot be written so: they go into parameters. */
static void
s_incidents(s_out *o, xmlNode *alert, const vg_alert *a)
{
    size_t len = 1;
    for (size_t i = 0; i < a->incidents.n; i++) {
        len += strlen(a->incidents.items[i]) + 3;
    }
    char *buf = calloc(1, len);
    size_t used = 0;
    for (size_t i = 0; buf != NULL && i < a->incidents.n; i++) {
        const char *name = a->incidents.items[i];
        if (name[0] == '\0' || strchr(name, '"') != NULL) {
            continue;
        }
        bool quote = strpbrk(name, " \t\r\n") != NULL;
        used += (size_t)snprintf(buf + used, len - used, "%s%s%s%s", used ? " " : "",
                                 quote ? "\"" : "", name, quote ? "\"" : "");
    }
    if (buf == NULL) {
        o->nomem = true;
    } else if (used > 0) {
        s_add(o, alert, "incidents", buf);
    }
    free(buf);
}

typedef struct s_refs {
    gw_cap_resolve_id resolve; /* the caller's */
    void *ctx;                 /* its context */
} s_refs;

static void
s_references(s_out *o, xmlNode *alert, const vg_alert *a, const s_refs *r)
{
    const char *kept = s_kept(a, GW_CAP_PREFIX "references");
    if (kept != NULL) {
        s_add(o, alert, "references", kept);
        return;
    }
    size_t len = a->n_references * GW_CAP_TRIPLE_MAX + 1;
    char *buf = a->n_references ? calloc(1, len) : NULL;
    size_t used = 0;
    for (size_t i = 0; buf != NULL && i < a->n_references; i++) {
        char triple[GW_CAP_TRIPLE_MAX];
        if (r->resolve != NULL && r->resolve(r->ctx, a->references[i], triple, sizeof triple) &&
            strpbrk(triple, " \t\r\n") == NULL) {
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? " " : "", triple);
        }
    }
    if (used > 0) {
        s_add(o, alert, "references", buf);
    }
    free(buf);
}

static void
s_alert_block(s_out *o, xmlNode *alert, const vg_alert *a, const s_refs *r)
{
    char buf[80], idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, a->id);
    const char *kept = s_kept(a, GW_CAP_PREFIX "identifier");
    s_add(o, alert, "identifier", kept ? kept : idhex);
    kept = s_kept(a, GW_CAP_PREFIX "sender");
    s_add(o, alert, "sender", kept ? kept : (a->sender ? a->sender : "vigil"));
    gw_cap_time_format(buf, sizeof buf, a->created_ms);
    kept = s_kept(a, GW_CAP_PREFIX "sent");
    s_add(o, alert, "sent", kept ? kept : buf);
    s_cap_name(buf, sizeof buf, vg_status_name(a->status), "Actual");
    s_add(o, alert, "status", buf);
    s_cap_name(buf, sizeof buf, vg_msg_type_name(a->msg_type), "Alert");
    s_add(o, alert, "msgType", buf);
    s_add_kept(o, alert, a, GW_CAP_PREFIX "source", "source");
    const char *scope = s_kept(a, GW_CAP_PREFIX "scope");
    s_add(o, alert, "scope", scope ? scope : "Private");
    s_add_kept(o, alert, a, GW_CAP_PREFIX "restriction", "restriction");
    if (scope != NULL) {
        s_add_kept(o, alert, a, GW_CAP_PREFIX "addresses", "addresses");
    } else { /* a vigil alert: private to its recipients */
        char list[VG_REASON_MAX] = "";
        vg_strlist_join(list, sizeof list, &a->recipients, " ");
        s_add(o, alert, "addresses", list[0] ? list : (a->sender ? a->sender : "vigil"));
    }
    s_add_kept(o, alert, a, GW_CAP_PREFIX "code", "code");
    s_add_kept(o, alert, a, GW_CAP_PREFIX "note", "note");
    s_references(o, alert, a, r);
    s_incidents(o, alert, a);
}

/* ---- the info block ------------------------------------------------------------------------- */

static const char *
s_severity(vg_severity s)
{
    switch (s) {
    case VG_SEV_CRITICAL:
        return "Extreme";
    case VG_SEV_HIGH:
        return "Severe";
    case VG_SEV_MEDIUM:
        return "Moderate";
    case VG_SEV_LOW:
        return "Minor";
    default:
        return "Unknown";
    }
}

static void
s_resource(s_out *o, xmlNode *info, const char *json)
{
    json_t *obj = json_loads(json, 0, NULL);
    static const char *const order[] = {"resourceDesc", "mimeType", "size",
                                        "uri",          "derefUri", "digest"};
    xmlNode *res = obj && json_is_object(obj) ? s_block(o, info, "resource") : NULL;
    for (size_t i = 0; res != NULL && i < sizeof order / sizeof order[0]; i++) {
        const char *v = json_string_value(json_object_get(obj, order[i]));
        if (v != NULL) {
            s_add(o, res, order[i], v);
        }
    }
    json_decref(obj);
}

/* The vigil facts CAP has no element for, as urn:vigil:* parameters. */
static void
s_vigil_parameters(s_out *o, xmlNode *info, const vg_alert *a, bool web_ok, bool lang_ok)
{
    char buf[80];
    vg_alert_id_hex(buf, a->id);
    s_pair(o, info, "parameter", "urn:vigil:alert-id", buf);
    s_pair(o, info, "parameter", "urn:vigil:sender", a->sender ? a->sender : "");
    vg_time_format(buf, sizeof buf, a->created_ms);
    s_pair(o, info, "parameter", "urn:vigil:sent", buf);
    for (size_t i = 0; i < a->recipients.n; i++) {
        s_pair(o, info, "parameter", "urn:vigil:recipient", a->recipients.items[i]);
    }
    for (size_t i = 0; i < a->n_references; i++) {
        vg_alert_id_hex(buf, a->references[i]);
        s_pair(o, info, "parameter", "urn:vigil:reference", buf);
    }
    for (size_t i = 0; i < a->n_subjects; i++) {
        if (!s_is_kept(a->subjects[i].scheme)) {
            char name[600];
            snprintf(name, sizeof name, "urn:vigil:subject:%s",
                     a->subjects[i].scheme ? a->subjects[i].scheme : "");
            s_pair(o, info, "parameter", name, a->subjects[i].value);
        }
    }
    for (size_t i = 0; i < a->incidents.n; i++) {
        if (a->incidents.items[i][0] == '\0' || strchr(a->incidents.items[i], '"') != NULL) {
            s_pair(o, info, "parameter", "urn:vigil:incident", a->incidents.items[i]);
        }
    }
    if (!web_ok) {
        s_pair(o, info, "parameter", "urn:vigil:web", a->web);
    }
    if (!lang_ok) {
        s_pair(o, info, "parameter", "urn:vigil:language", a->language);
    }
}

/* Geocodes of one kind ("cap.polygon" ...) as elements of that name. */
static void
s_area_kind(s_out *o, xmlNode *area, const vg_area *va, const char *kind)
{
    char prefix[32];
    int plen = snprintf(prefix, sizeof prefix, GW_CAP_PREFIX "%s:", kind);
    for (size_t i = 0; i < va->geocodes.n; i++) {
        if (strncmp(va->geocodes.items[i], prefix, (size_t)plen) == 0) {
            s_add(o, area, kind, va->geocodes.items[i] + plen);
        }
    }
}

static void
s_area(s_out *o, xmlNode *info, const vg_area *va)
{
    xmlNode *area = s_block(o, info, "area");
    if (area == NULL) {
        return;
    }
    s_add(o, area, "areaDesc", va->desc ? va->desc : "");
    s_area_kind(o, area, va, "polygon");
    s_area_kind(o, area, va, "circle");
    for (size_t i = 0; i < va->geocodes.n; i++) {
        const char *g = va->geocodes.items[i];
        if (s_is_kept(g)) {
            continue;
        }
        const char *colon = strrchr(g, ':');
        if (colon == NULL) {
            s_pair(o, area, "geocode", "urn:vigil:geocode", g);
            continue;
        }
        char *name = strndup(g, (size_t)(colon - g));
        if (name == NULL) {
            o->nomem = true;
            return;
        }
        s_pair(o, area, "geocode", name, colon + 1);
        free(name);
    }
    s_area_kind(o, area, va, "altitude");
    s_area_kind(o, area, va, "ceiling");
}

static void
s_info_block(s_out *o, xmlNode *alert, const vg_alert *a)
{
    xmlNode *info = s_block(o, alert, "info");
    if (info == NULL) {
        return;
    }
    const char *lang = a->language && a->language[0] ? a->language : "en-GB";
    bool lang_ok = gw_cap_is_language(lang);
    bool web_ok = !s_has(a->web) || gw_cap_is_uri(a->web);
    char buf[VG_REASON_MAX];
    if (lang_ok) {
        s_add(o, info, "language", lang);
    }
    if (s_kept(a, GW_CAP_PREFIX "category") != NULL) {
        s_add_kept(o, info, a, GW_CAP_PREFIX "category", "category");
    } else {
        s_add(o, info, "category", "Safety"); /* safeguarding: public safety */
    }
    vg_strlist_join(buf, sizeof buf, &a->categories, ", ");
    s_add(o, info, "event", s_has(a->event) ? a->event : buf);
    s_add_kept(o, info, a, GW_CAP_PREFIX "responseType", "responseType");
    s_cap_name(buf, sizeof buf, vg_urgency_name(a->urgency), "Unknown");
    s_add(o, info, "urgency", buf);
    s_add(o, info, "severity", s_severity(a->severity));
    s_cap_name(buf, sizeof buf, vg_certainty_name(a->certainty), "Unknown");
    s_add(o, info, "certainty", buf);
    s_add_kept(o, info, a, GW_CAP_PREFIX "audience", "audience");
    s_add_kept_pairs(o, info, a, "eventCode");
    for (size_t i = 0; i < a->categories.n; i++) {
        s_pair(o, info, "eventCode", GW_CAP_VIGIL_CATEGORY, a->categories.items[i]);
    }
    s_add_kept(o, info, a, GW_CAP_PREFIX "effective", "effective");
    s_add_kept(o, info, a, GW_CAP_PREFIX "onset", "onset");
    if (a->expires_ms > 0) {
        gw_cap_time_format(buf, sizeof buf, a->expires_ms);
        s_add(o, info, "expires", buf);
    }
    const char *texts[][2] = {{"senderName", a->sender_name},  {"headline", a->headline},
                              {"description", a->description}, {"instruction", a->instruction},
                              {"web", web_ok ? a->web : NULL}, {"contact", a->contact}};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (s_has(texts[i][1])) {
            s_add(o, info, texts[i][0], texts[i][1]);
        }
    }
    s_add_kept_pairs(o, info, a, "parameter");
    s_vigil_parameters(o, info, a, web_ok, lang_ok);
    for (size_t i = 0; i < a->n_subjects; i++) {
        if (a->subjects[i].scheme && strcmp(a->subjects[i].scheme, GW_CAP_PREFIX "resource") == 0) {
            s_resource(o, info, a->subjects[i].value ? a->subjects[i].value : "{}");
        }
    }
    for (size_t i = 0; i < a->n_areas; i++) {
        s_area(o, info, &a->areas[i]);
    }
}

/* ---- documents ------------------------------------------------------------------------------ */

static xmlDoc *
s_new_doc(s_out *o, xmlNode **root)
{
    xmlDoc *doc = xmlNewDoc(BAD_CAST "1.0");
    *root = doc ? xmlNewNode(NULL, BAD_CAST "alert") : NULL;
    o->ns = *root ? xmlNewNs(*root, BAD_CAST GW_CAP_NS, NULL) : NULL;
    if (o->ns == NULL) {
        xmlFreeNode(*root);
        xmlFreeDoc(doc);
        return NULL;
    }
    xmlSetNs(*root, o->ns);
    xmlDocSetRootElement(doc, *root);
    return doc;
}

static vg_err
s_dump(xmlDoc *doc, const s_out *o, char **out, size_t *len_out)
{
    xmlChar *mem = NULL;
    int len = 0;
    if (!o->nomem) {
        xmlDocDumpFormatMemoryEnc(doc, &mem, &len, "UTF-8", 1);
    }
    xmlFreeDoc(doc);
    char *copy = mem ? malloc((size_t)len + 1) : NULL;
    if (copy == NULL) {
        xmlFree(mem);
        return VG_ERR_NOMEM;
    }
    memcpy(copy, mem, (size_t)len);
    copy[len] = '\0';
    xmlFree(mem);
    *out = copy;
    if (len_out != NULL) {
        *len_out = (size_t)len;
    }
    return VG_OK;
}

vg_err
gw_cap_export(char **out, size_t *len_out, const vg_alert *a, gw_cap_resolve_id resolve, void *ctx)
{
    s_out o = {0};
    xmlNode *root = NULL;
    xmlDoc *doc = s_new_doc(&o, &root);
    if (doc == NULL) {
        return VG_ERR_NOMEM;
    }
    s_refs r = {resolve, ctx};
    s_alert_block(&o, root, a, &r);
    s_info_block(&o, root, a);
    return s_dump(doc, &o, out, len_out);
}

vg_err
gw_cap_export_ack(char **out, size_t *len_out, const char *alert_triple,
                  const uint8_t alert_id[VG_ALERT_ID_LEN], vg_status status,
                  const char *alert_sender, const vga_recipient_status *r)
{
    if (r->state == VGA_PENDING) {
        return VG_ERR_NOT_FOUND;
    }
    s_out o = {0};
    xmlNode *root = NULL;
    xmlDoc *doc = s_new_doc(&o, &root);
    if (doc == NULL) {
        return VG_ERR_NOMEM;
    }
    char idhex[VG_ALERT_ID_HEX_LEN + 1], buf[VG_REASON_MAX * 2];
    vg_alert_id_hex(idhex, alert_id);
    snprintf(buf, sizeof buf, "vigil-%s-%s-%s", vga_state_name(r->state), idhex, r->agency);
    s_add(&o, root, "identifier", buf);
    s_add(&o, root, "sender", r->agency);
    gw_cap_time_format(buf, sizeof buf,
                       r->acknowledged_ms > 0 ? r->acknowledged_ms : r->delivered_ms);
    s_add(&o, root, "sent", buf);
    s_cap_name(buf, sizeof buf, vg_status_name(status), "Actual");
    s_add(&o, root, "status", buf);
    s_add(&o, root, "msgType", "Ack");
    s_add(&o, root, "scope", "Private");
    s_add(&o, root, "addresses", alert_sender);
    switch (r->state) {
    case VGA_ACKNOWLEDGED:
        snprintf(buf, sizeof buf, "acknowledged by %s%s%s", r->officer ? r->officer : "",
                 r->note && r->note[0] ? ": " : "", r->note ? r->note : "");
        break;
    case VGA_IN_PROGRESS:
    case VGA_DECLINED:
        snprintf(buf, sizeof buf, "%s: %s", vga_state_name(r->state), r->reason ? r->reason : "");
        break;
    default:
        snprintf(buf, sizeof buf, "%s", vga_state_name(r->state));
        break;
    }
    s_add(&o, root, "note", buf);
    s_add(&o, root, "references", alert_triple);
    return s_dump(doc, &o, out, len_out);
}
