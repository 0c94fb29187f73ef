/*
 * gw_cap_rules.c — the locked-down XML parse, and vigil's rules for CAP 1.2
 * documents, written from the OASIS CAP 1.2 specification (section 3):
 * the elements of each block in the schema's order and numbers, their value
 * types, and the rules the schema does not express (see gw_cap.h).
 *
 * The rules are a table (s_alert and the tables it names) walked over the
 * tree, so each rule is stated once and its error names the element's path
 * and what is accepted there.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>

#include "gw_cap_internal.h"

/* ---- the locked-down parser ------------------------------------------------------ */

/* Refuses every external entity, DTD and schema libxml2 would load: nothing
 * is ever read from the network or the file system on a document's behalf. */
static xmlParserInputPtr
s_no_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    (void)url;
    (void)id;
    (void)ctxt;
    return NULL;
}

/* libxml2 reports some errors (encoding conversion, for one) through its
 * generic handler, which prints to stderr: a hostile document must not
 * write into the gateway's log. The reason still reaches the caller. */
static void
s_silent(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static void
s_silent_structured(void *ctx, xmlErrorPtr err)
{
    (void)ctx;
    (void)err;
}

/* The handlers are per thread; new threads take the defaults set here. */
static void
s_quiet_thread(void)
{
    xmlSetGenericErrorFunc(NULL, s_silent);
    xmlSetStructuredErrorFunc(NULL, s_silent_structured);
}

void
gw_cap_init(void)
{
    xmlInitParser();
    xmlSetExternalEntityLoader(s_no_loader);
    xmlThrDefSetGenericErrorFunc(NULL, s_silent);
    xmlThrDefSetStructuredErrorFunc(NULL, s_silent_structured);
    s_quiet_thread();
}

typedef struct s_parse {
    int depth;     /* current element depth */
    bool doctype;  /* a DOCTYPE was met: parsing stopped there */
    bool too_deep; /* an element deeper than GW_CAP_DEPTH_MAX: stopped */
} s_parse;

/* A DOCTYPE: stop before its internal subset (entity declarations) is read. */
static void
s_on_doctype(void *ctx, const xmlChar *name, const xmlChar *ext_id, const xmlChar *sys_id)
{
    (void)name;
    (void)ext_id;
    (void)sys_id;
    xmlParserCtxtPtr c = ctx;
    ((s_parse *)c->_private)->doctype = true;
    xmlStopParser(c);
}

static void
s_on_start(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri, int nb_ns,
           const xmlChar **ns, int nb_attrs, int nb_defaulted, const xmlChar **attrs)
{
    xmlParserCtxtPtr c = ctx;
    s_parse *p = c->_private;
    if (++p->depth > GW_CAP_DEPTH_MAX) {
        p->too_deep = true;
        xmlStopParser(c);
        return;
    }
    xmlSAX2StartElementNs(ctx, local, prefix, uri, nb_ns, ns, nb_attrs, nb_defaulted, attrs);
}

static void
s_on_end(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri)
{
    xmlParserCtxtPtr c = ctx;
    ((s_parse *)c->_private)->depth--;
    xmlSAX2EndElementNs(ctx, local, prefix, uri);
}

vg_err
gw_cap_fail(gw_cap_problem *pb, vg_reason *why, vg_err err, const char *field, const char *accepted,
            const char *fmt, ...)
{
    if (pb != NULL) {
        snprintf(pb->field, sizeof pb->field, "%s", field ? field : "");
        snprintf(pb->accepted, sizeof pb->accepted, "%s", accepted ? accepted : "");
    }
    if (why != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why->text, sizeof why->text, fmt, ap);
        va_end(ap);
    }
    return err;
}

vg_err
gw_cap_parse(xmlDoc **out, const char *xml, size_t len, gw_cap_problem *pb, vg_reason *why)
{
    if (len > GW_CAP_MAX_BYTES) {
        return gw_cap_fail(pb, why, VG_ERR_TOO_LARGE, "", "at most 262144 bytes",
                           "the CAP document is %zu bytes; at most %d are accepted", len,
                           GW_CAP_MAX_BYTES);
    }
    s_quiet_thread(); /* this thread may predate gw_cap_init */
    xmlParserCtxtPtr c = xmlCreateMemoryParserCtxt(xml, (int)len);
    if (c == NULL) {
        return gw_cap_fail(pb, why, VG_ERR_MALFORMED, "", "", "empty or unreadable XML");
    }
    s_parse p = {0};
    /* Options first (they adjust the SAX handler), then our callbacks. Not
     * set, on purpose: XML_PARSE_NOENT, _DTDLOAD, _DTDATTR, _DTDVALID,
     * _XINCLUDE, _HUGE. */
    xmlCtxtUseOptions(c, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                             XML_PARSE_NOCDATA | XML_PARSE_NOXINCNODE);
    c->_private = &p;
    c->sax->internalSubset = s_on_doctype;
    c->sax->externalSubset = s_on_doctype;
    c->sax->startElementNs = s_on_start;
    c->sax->endElementNs = s_on_end;
    c->sax->initialized = XML_SAX2_MAGIC;
    int rc = xmlParseDocument(c);
    xmlDoc *doc = c->myDoc;
    bool well_formed = rc == 0 && c->wellFormed && !p.doctype && !p.too_deep && doc != NULL;
    vg_err err = VG_OK;
    if (p.doctype) {
        err = gw_cap_fail(pb, why, VG_ERR_MALFORMED, "DOCTYPE", "a CAP document without a DOCTYPE",
                          "the document has a DOCTYPE: DTDs and entity declarations are refused "
                          "(nothing was fetched); send CAP without a DOCTYPE");
    } else if (p.too_deep) {
        err =
            gw_cap_fail(pb, why, VG_ERR_MALFORMED, "", "at most 8 levels of elements",
                        "elements are nested deeper than %d levels: not CAP 1.2", GW_CAP_DEPTH_MAX);
    } else if (!well_formed) {
        const xmlError *e = xmlCtxtGetLastError(c);
        char msg[200] = "not well-formed";
        if (e != NULL && e->message != NULL) {
            snprintf(msg, sizeof msg, "%s", e->message);
            msg[strcspn(msg, "\n")] = '\0';
        }
        err = gw_cap_fail(pb, why, VG_ERR_MALFORMED, "", "well-formed XML",
                          "not well-formed XML: line %d: %s", e ? e->line : 0, msg);
    }
    if (err != VG_OK) {
        xmlFreeDoc(doc);
        c->myDoc = NULL;
    } else {
        *out = doc;
    }
    xmlFreeParserCtxt(c);
    return err;
}

/* ---- tree helpers ------------------------------------------------------------------ */

bool
gw_cap_is(const xmlNode *n, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL && n->ns->href != NULL &&
           strcmp((const char *)n->ns->href, GW_CAP_NS) == 0 &&
           (name == NULL || strcmp((const char *)n->name, name) == 0);
}

xmlNode *
gw_cap_next(const xmlNode *n)
{
    for (n = n ? n->next : NULL; n != NULL; n = n->next) {
        if (n->type == XML_ELEMENT_NODE) {
            return (xmlNode *)n;
        }
    }
    return NULL;
}

xmlNode *
gw_cap_first(const xmlNode *n)
{
    for (n = n ? n->children : NULL; n != NULL; n = n->next) {
        if (n->type == XML_ELEMENT_NODE) {
            return (xmlNode *)n;
        }
    }
    return NULL;
}

char *
gw_cap_text(const xmlNode *n)
{
    xmlChar *t = xmlNodeGetContent(n);
    if (t == NULL) {
        return strdup("");
    }
    char *copy = strdup((const char *)t);
    xmlFree(t);
    return copy;
}

/* ---- times ------------------------------------------------------------------------- */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's algorithm). */
static int64_t
s_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool
s_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* XML whitespace, as the schema's "collapse" trims it. */
static bool
s_is_xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Copies text without leading and trailing XML whitespace into out. */
static void
s_trim(char *out, size_t out_len, const char *text)
{
    while (s_is_xml_space(*text)) {
        text++;
    }
    size_t n = strlen(text);
    while (n > 0 && s_is_xml_space(text[n - 1])) {
        n--;
    }
    snprintf(out, out_len, "%.*s", (int)(n < out_len ? n : out_len - 1), text);
}

bool
gw_cap_time_parse(const char *text, int64_t *ms_out)
{
    char t[40];
    s_trim(t, sizeof t, text);
    /* YYYY-MM-DDThh:mm:ss+hh:mm, exactly 25 characters */
    int y, mo, d, h, mi, s, th, tm;
    if (strlen(t) != 25 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' ||
        t[16] != ':' || (t[19] != '+' && t[19] != '-') || t[22] != ':' || !s_digits(t, 4, &y) ||
        !s_digits(t + 5, 2, &mo) || !s_digits(t + 8, 2, &d) || !s_digits(t + 11, 2, &h) ||
        !s_digits(t + 14, 2, &mi) || !s_digits(t + 17, 2, &s) || !s_digits(t + 20, 2, &th) ||
        !s_digits(t + 23, 2, &tm)) {
        return false;
    }
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || s > 59 || th > 14 || tm > 59 || (th == 14 && tm != 0)) {
        return false;
    }
    int64_t secs = s_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s;
    int64_t off = (int64_t)(th * 3600 + tm * 60) * (t[19] == '-' ? -1 : 1);
    if (ms_out != NULL) {
        *ms_out = (secs - off) * 1000;
    }
    return true;
}

void
gw_cap_time_format(char *out, size_t out_len, int64_t ms)
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tmv;
    if (gmtime_r(&secs, &tmv) == NULL) {
        snprintf(out, out_len, "1970-01-01T00:00:00-00:00");
        return;
    }
    snprintf(out, out_len, "%04d-%02d-%02dT%02d:%02d:%02d-00:00", tmv.tm_year + 1900,
             tmv.tm_mon + 1, tmv.tm_mday, tmv.tm_hour, tmv.tm_min, tmv.tm_sec);
}

/* ---- value types and the specification's own rules ---------------------------------- */

typedef enum s_kind {
    S_STR = 1,      /* any text */
    S_ENUM = 2,     /* one of values, exactly */
    S_TIME = 3,     /* CAP dateTime */
    S_LANG = 4,     /* xs:language (RFC 3066) */
    S_URI = 5,      /* an absolute URI */
    S_INT = 6,      /* xs:integer */
    S_DEC = 7,      /* xs:decimal */
    S_ID = 8,       /* identifier, sender: no whitespace, ',', '<' or '&' */
    S_REFS = 9,     /* references: sender,identifier,sent triples */
    S_LIST = 10,    /* incidents: at least one name */
    S_POLYGON = 11, /* closed polygon, >= 4 points */
    S_CIRCLE = 12,  /* "lat,lon radius" */
    S_COMPLEX = 13  /* element children per `children` */
} s_kind;

typedef struct s_el {
    const char *name;            /* local name in the CAP namespace */
    unsigned min;                /* fewest */
    unsigned max;                /* most; 0 = unbounded */
    s_kind kind;                 /* value type */
    const char *const *values;   /* S_ENUM: NULL-terminated */
    const struct s_el *children; /* S_COMPLEX: ends with a NULL name */
} s_el;

static const char *const s_status[] = {"Actual", "Exercise", "System", "Test", "Draft", NULL};
static const char *const s_msg_type[] = {"Alert", "Update", "Cancel", "Ack", "Error", NULL};
static const char *const s_scope[] = {"Public", "Restricted", "Private", NULL};
static const char *const s_category[] = {"Geo",   "Met",    "Safety", "Security",  "Rescue",
                                         "Fire",  "Health", "Env",    "Transport", "Infra",
                                         "CBRNE", "Other",  NULL};
static const char *const s_response[] = {"Shelter", "Evacuate", "Prepare",  "Execute", "Avoid",
                                         "Monitor", "Assess",   "AllClear", "None",    NULL};
static const char *const s_urgency[] = {"Immediate", "Expected", "Future", "Past", "Unknown", NULL};
static const char *const s_severity[] = {"Extreme", "Severe", "Moderate", "Minor", "Unknown", NULL};
static const char *const s_certainty[] = {"Observed", "Likely",  "Possible",
                                          "Unlikely", "Unknown", NULL};

static const s_el s_pair[] = {
    {"valueName", 1, 1, S_STR, NULL, NULL},
    {"value", 1, 1, S_STR, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const s_el s_resource[] = {
    {"resourceDesc", 1, 1, S_STR, NULL, NULL},
    {"mimeType", 1, 1, S_STR, NULL, NULL},
    {"size", 0, 1, S_INT, NULL, NULL},
    {"uri", 0, 1, S_URI, NULL, NULL},
    {"derefUri", 0, 1, S_STR, NULL, NULL},
    {"digest", 0, 1, S_STR, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const s_el s_area[] = {
    {"areaDesc", 1, 1, S_STR, NULL, NULL},
    {"polygon", 0, 0, S_POLYGON, NULL, NULL},
    {"circle", 0, 0, S_CIRCLE, NULL, NULL},
    {"geocode", 0, 0, S_COMPLEX, NULL, s_pair},
    {"altitude", 0, 1, S_DEC, NULL, NULL},
    {"ceiling", 0, 1, S_DEC, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const s_el s_info[] = {
    {"language", 0, 1, S_LANG, NULL, NULL},
    {"category", 1, 0, S_ENUM, s_category, NULL},
    {"event", 1, 1, S_STR, NULL, NULL},
    {"responseType", 0, 0, S_ENUM, s_response, NULL},
    {"urgency", 1, 1, S_ENUM, s_urgency, NULL},
    {"severity", 1, 1, S_ENUM, s_severity, NULL},
    {"certainty", 1, 1, S_ENUM, s_certainty, NULL},
    {"audience", 0, 1, S_STR, NULL, NULL},
    {"eventCode", 0, 0, S_COMPLEX, NULL, s_pair},
    {"effective", 0, 1, S_TIME, NULL, NULL},
    {"onset", 0, 1, S_TIME, NULL, NULL},
    {"expires", 0, 1, S_TIME, NULL, NULL},
    {"senderName", 0, 1, S_STR, NULL, NULL},
    {"headline", 0, 1, S_STR, NULL, NULL},
    {"description", 0, 1, S_STR, NULL, NULL},
    {"instruction", 0, 1, S_STR, NULL, NULL},
    {"web", 0, 1, S_URI, NULL, NULL},
    {"contact", 0, 1, S_STR, NULL, NULL},
    {"parameter", 0, 0, S_COMPLEX, NULL, s_pair},
    {"resource", 0, 0, S_COMPLEX, NULL, s_resource},
    {"area", 0, 0, S_COMPLEX, NULL, s_area},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const s_el s_alert[] = {
    {"identifier", 1, 1, S_ID, NULL, NULL},
    {"sender", 1, 1, S_ID, NULL, NULL},
    {"sent", 1, 1, S_TIME, NULL, NULL},
    {"status", 1, 1, S_ENUM, s_status, NULL},
    {"msgType", 1, 1, S_ENUM, s_msg_type, NULL},
    {"source", 0, 1, S_STR, NULL, NULL},
    {"scope", 1, 1, S_ENUM, s_scope, NULL},
    {"restriction", 0, 1, S_STR, NULL, NULL},
    {"addresses", 0, 1, S_STR, NULL, NULL},
    {"code", 0, 0, S_STR, NULL, NULL},
    {"note", 0, 1, S_STR, NULL, NULL},
    {"references", 0, 1, S_REFS, NULL, NULL},
    {"incidents", 0, 1, S_LIST, NULL, NULL},
    {"info", 0, 0, S_COMPLEX, NULL, s_info},
    {NULL, 0, 0, 0, NULL, NULL},
};

static void
s_join_values(char *out, size_t out_len, const char *const *values)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; values[i] != NULL && used < out_len; i++) {
        int w = snprintf(out + used, out_len - used, "%s%s", i ? ", " : "", values[i]);
        used += w > 0 ? (size_t)w : 0;
    }
}

bool
gw_cap_is_language(const char *t)
{
    size_t i = 0, run = 0;
    bool first = true;
    for (;; i++) {
        char c = t[i];
        if (c == '\0' || c == '-') {
            if (run < 1 || run > 8) {
                return false;
            }
            if (c == '\0') {
                return true;
            }
            first = false;
            run = 0;
        } else if (isalpha((unsigned char)c) || (!first && isdigit((unsigned char)c))) {
            run++;
        } else {
            return false;
        }
    }
}

static bool
s_match_number(const char *t, bool decimal)
{
    size_t i = (*t == '+' || *t == '-') ? 1 : 0;
    size_t digits = 0;
    bool dot = false;
    for (; t[i] != '\0'; i++) {
        if (isdigit((unsigned char)t[i])) {
            digits++;
        } else if (decimal && t[i] == '.' && !dot) {
            dot = true;
        } else {
            return false;
        }
    }
    return digits > 0;
}

bool
gw_cap_is_uri(const char *t)
{
    if (!isalpha((unsigned char)t[0])) {
        return false;
    }
    size_t i = 1;
    while (isalnum((unsigned char)t[i]) || t[i] == '+' || t[i] == '-' || t[i] == '.') {
        i++;
    }
    if (t[i] != ':' || t[i + 1] == '\0') {
        return false;
    }
    for (; t[i] != '\0'; i++) {
        if (s_is_xml_space(t[i])) {
            return false;
        }
    }
    return true;
}

static bool
s_match_id(const char *t)
{
    return t[0] != '\0' && strpbrk(t, " \t\r\n,<&") == NULL;
}

/* Splits text at XML whitespace; calls fn for each token until it says no. */
static bool
s_each_token(const char *text, bool (*fn)(const char *tok, size_t len, void *ctx), void *ctx,
             size_t *n_out)
{
    size_t n = 0;
    const char *p = text;
    for (;;) {
        while (s_is_xml_space(*p)) {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        const char *start = p;
        while (*p != '\0' && !s_is_xml_space(*p)) {
            p++;
        }
        n++;
        if (fn != NULL && !fn(start, (size_t)(p - start), ctx)) {
            return false;
        }
    }
    *n_out = n;
    return true;
}

/* One reference: exactly sender,identifier,sent with a valid sent. */
static bool
s_ref_ok(const char *tok, size_t len, void *ctx)
{
    (void)ctx;
    char buf[GW_CAP_TRIPLE_MAX];
    if (len >= sizeof buf) {
        return false;
    }
    memcpy(buf, tok, len);
    buf[len] = '\0';
    char *c1 = strchr(buf, ',');
    char *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
    if (c1 == NULL || c2 == NULL || c1 == buf || c2 == c1 + 1 || strchr(c2 + 1, ',') != NULL) {
        return false;
    }
    return gw_cap_time_parse(c2 + 1, NULL);
}

static bool
s_coord(const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    *out = v;
    return end != s && v >= lo && v <= hi;
}

/* "lat,lon": WGS 84 degrees. */
static bool
s_point(const char *tok, size_t len, double *lat, double *lon)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf) {
        return false;
    }
    memcpy(buf, tok, len);
    buf[len] = '\0';
    char *comma = strchr(buf, ',');
    if (comma == NULL || strchr(comma + 1, ',') != NULL) {
        return false;
    }
    *comma = '\0';
    return s_match_number(buf, true) && s_match_number(comma + 1, true) &&
           s_coord(buf, -90, 90, lat) && s_coord(comma + 1, -180, 180, lon);
}

typedef struct s_poly {
    size_t n;        /* points so far */
    double first[2]; /* the first point */
    double last[2];  /* the latest point */
} s_poly;

static bool
s_poly_point(const char *tok, size_t len, void *ctx)
{
    s_poly *p = ctx;
    double lat, lon;
    if (!s_point(tok, len, &lat, &lon)) {
        return false;
    }
    if (p->n++ == 0) {
        p->first[0] = lat;
        p->first[1] = lon;
    }
    p->last[0] = lat;
    p->last[1] = lon;
    return true;
}

static bool
s_match_polygon(const char *t)
{
    s_poly p = {0};
    size_t n = 0;
    return s_each_token(t, s_poly_point, &p, &n) && n >= 4 && p.first[0] == p.last[0] &&
           p.first[1] == p.last[1];
}

static bool
s_match_circle(const char *t)
{
    const char *sp = t;
    while (*sp != '\0' && !s_is_xml_space(*sp)) {
        sp++;
    }
    double lat, lon;
    if (!s_point(t, (size_t)(sp - t), &lat, &lon)) {
        return false;
    }
    while (s_is_xml_space(*sp)) {
        sp++;
    }
    return s_match_number(sp, true) && strtod(sp, NULL) >= 0;
}

/* Checks the text of a simple element against its kind; t is the text as
 * the schema's whitespace "collapse" leaves it, for the typed kinds. */
static vg_err
s_check_kind(const s_el *e, const char *text, const char *t, const char *path, gw_cap_problem *pb,
             vg_reason *why)
{
    char accepted[256];
    size_t n = 0;
    switch (e->kind) {
    case S_ENUM:
        for (size_t i = 0; e->values[i] != NULL; i++) {
            if (strcmp(text, e->values[i]) == 0) {
                return VG_OK;
            }
        }
        s_join_values(accepted, sizeof accepted, e->values);
        return gw_cap_fail(pb, why, VG_ERR_MALFORMED, path, accepted,
                           "<%s> is '%.40s': accepted values are %s", e->name, text, accepted);
    case S_TIME:
        if (gw_cap_time_parse(text, NULL)) {
            return VG_OK;
        }
        return gw_cap_fail(pb, why, VG_ERR_MALFORMED, path, "YYYY-MM-DDThh:mm:ss+hh:mm",
                           "<%s> '%.40s' is not a CAP date and time: write it as "
                           "2003-06-17T14:57:00-07:00 (no fractions, no 'Z'; UTC is -00:00)",
                           e->name, t);
    case S_LANG:
        if (gw_cap_is_language(t)) {
            return VG_OK;
        }
        return gw_cap_fail(pb, why, VG_ERR_MALFORMED, path, "an RFC 3066 language, e.g. en-GB",
                           "<%s> '%.40s' is not a language code", e->name, t);
    case S_URI:
        if (gw_cap_is_uri(t)) {
            return VG_OK;
        }
        return gw_cap_fail(pb, why, VG_ERR_MALFORMED, path, "an absolute URI",
                           "<%s> is not an absolute URI", e->name);
    case S_INT:
    case S_DEC:
        if (s_match_number(t, e->kind == S_DEC)) {
            return VG_OK;
        }
        return gw_cap_fail(pb, why, VG_ERR_MALFORMED, path,
                           e->kind == S_INT ? "an integer" : "a decimal number",
                           "<%s> '%.40s' is not a number", e->name, t);
    case S_ID:
        if (s_match_id(text)) {
            return VG_OK;
        }
        return gw_cap_fail(pb, why, VG_ERR_MALFORMED, path,
                           "text without spaces, commas, '<' or '&'",
                           "<%s> must not be empty nor include spaces, commas, '<' or '&' "
                           "(CAP 1.2, 3.2.1)",
                           e->name);
    case S_REFS:
        if (s_each_token(text, s_ref_ok, NULL, &n) && n > 0) {
            return VG_OK;
        }
        return gw_cap_fail(pb, why, VG_ERR_MALFORMED, path,
                           "one or more sender,identifier,sent separated by spaces",
                           n == 0 && s_each_token(text, NULL, NULL, &n) && n == 0
                               ? "<references> is empty: it must name at least one earlier "
                                 "message as sender,identifier,sent, or be left out"
                               : "<references> must be sender,identifier,sent triples "
                                 "separated by spaces");
    case S_LIST:
        if (s_each_token(text, NULL, NULL, &n) && n > 0) {
            return VG_OK;
        }
        return gw_cap_fail(pb, why, VG_ERR_MALFORMED, path, "one or more names",
                           "<%s> is empty: name at least one, or leave it out", e->name);
    case S_POLYGON:
        if (s_match_polygon(t)) {
            return VG_OK;
        }
        return gw_cap_fail(pb, why, VG_ERR_MALFORMED, path,
                           "four or more lat,lon points, the first and last the same",
                           "<polygon> must be at least four lat,lon points separated by spaces, "
                           "the last the same as the first");
    case S_CIRCLE:
        if (s_match_circle(t)) {
            return VG_OK;
        }
        return gw_cap_fail(pb, why, VG_ERR_MALFORMED, path, "lat,lon radius",
                           "<circle> must be a lat,lon point, a space and a radius in km");
    default:
        return VG_OK;
    }
}

static vg_err
s_check_value(const s_el *e, const char *text, const char *path, gw_cap_problem *pb, vg_reason *why)
{
    size_t len = strlen(text);
    char *t = malloc(len + 1);
    if (t == NULL) {
        return gw_cap_fail(pb, why, VG_ERR_NOMEM, path, "", "out of memory");
    }
    s_trim(t, len + 1, text);
    vg_err rc = s_check_kind(e, text, t, path, pb, why);
    free(t);
    return rc;
}

static vg_err s_check_block(const s_el *spec, const xmlNode *parent, const char *path,
                            gw_cap_problem *pb, vg_reason *why);

/* Attributes, and what may sit between elements. */
static vg_err
s_check_node_shape(const xmlNode *n, bool complex, const char *path, gw_cap_problem *pb,
                   vg_reason *why)
{
    if (n->properties != NULL) {
        return gw_cap_fail(pb, why, VG_ERR_MALFORMED, path, "no attributes",
                           "<%s> has an attribute (%s): CAP elements have none", n->name,
                           n->properties->name);
    }
    for (const xmlNode *c = n->children; c != NULL; c = c->next) {
        if (c->type == XML_TEXT_NODE && complex) {
            for (const xmlChar *p = c->content; p && *p; p++) {
                if (!s_is_xml_space((char)*p)) {
                    return gw_cap_fail(pb, why, VG_ERR_MALFORMED, path, "elements only",
                                       "text directly inside <%s>: only elements belong there",
                                       n->name);
                }
            }
        } else if (c->type == XML_ELEMENT_NODE && !complex) {
            return gw_cap_fail(pb, why, VG_ERR_MALFORMED, path, "text only",
                               "<%s> holds an element <%s>: it takes text only", n->name, c->name);
        } else if (c->type != XML_TEXT_NODE && c->type != XML_ELEMENT_NODE &&
                   c->type != XML_COMMENT_NODE && c->type != XML_PI_NODE) {
            return gw_cap_fail(pb, why, VG_ERR_MALFORMED, path, "text, elements and comments",
                               "<%s> holds something other than text or elements", n->name);
        }
    }
    return VG_OK;
}

static vg_err
s_check_element(const s_el *e, const xmlNode *n, const char *path, gw_cap_problem *pb,
                vg_reason *why)
{
    vg_err rc = s_check_node_shape(n, e->kind == S_COMPLEX, path, pb, why);
    if (rc != VG_OK || e->kind == S_COMPLEX) {
        return rc != VG_OK ? rc : s_check_block(e->children, n, path, pb, why);
    }
    char *text = gw_cap_text(n);
    if (text == NULL) {
        return VG_ERR_NOMEM;
    }
    rc = s_check_value(e, text, path, pb, why);
    free(text);
    return rc;
}

/* What may come at spec entry e and after, for error messages. */
static void
s_expected(char *out, size_t out_len, const s_el *e)
{
    size_t used = 0;
    out[0] = '\0';
    for (; e->name != NULL && used < out_len; e++) {
        int w = snprintf(out + used, out_len - used, "%s<%s>", used ? ", " : "", e->name);
        used += w > 0 ? (size_t)w : 0;
        if (e->min > 0) {
            break;
        }
    }
}

/* Block-level rules the sequence does not express. */
static vg_err
s_check_cross(const s_el *spec, const xmlNode *parent, const char *path, gw_cap_problem *pb,
              vg_reason *why)
{
    const xmlNode *scope = NULL, *restriction = NULL, *addresses = NULL, *alt = NULL, *ceil = NULL;
    for (const xmlNode *c = gw_cap_first(parent); c != NULL; c = gw_cap_next(c)) {
        scope = gw_cap_is(c, "scope") ? c : scope;
        restriction = gw_cap_is(c, "restriction") ? c : restriction;
        addresses = gw_cap_is(c, "addresses") ? c : addresses;
        alt = gw_cap_is(c, "altitude") ? c : alt;
        ceil = gw_cap_is(c, "ceiling") ? c : ceil;
    }
    char where[GW_CAP_FIELD_MAX];
    if (spec == s_area && ceil != NULL && alt == NULL) {
        snprintf(where, sizeof where, "%s/ceiling", path);
        return gw_cap_fail(pb, why, VG_ERR_MALFORMED, where, "<ceiling> with <altitude>",
                           "<ceiling> is given without <altitude> (CAP 1.2, 3.2.4)");
    }
    if (spec != s_alert || scope == NULL) {
        return VG_OK;
    }
    char *sc = gw_cap_text(scope);
    const xmlNode *need = NULL;
    const char *need_name = NULL;
    if (sc != NULL && strcmp(sc, "Restricted") == 0) {
        need = restriction;
        need_name = "restriction";
    } else if (sc != NULL && strcmp(sc, "Private") == 0) {
        need = addresses;
        need_name = "addresses";
    }
    vg_err rc = VG_OK;
    if (need_name != NULL) {
        char *t = need ? gw_cap_text(need) : NULL;
        size_t n = 0;
        if (t == NULL || !s_each_token(t, NULL, NULL, &n) || n == 0) {
            snprintf(where, sizeof where, "%s/%s", path, need_name);
            rc = gw_cap_fail(pb, why, VG_ERR_MALFORMED, where, "non-empty text",
                             "scope %s needs a non-empty <%s> (CAP 1.2, 3.2.1)", sc, need_name);
        }
        free(t);
    }
    free(sc);
    return rc;
}

static vg_err
s_check_block(const s_el *spec, const xmlNode *parent, const char *path, gw_cap_problem *pb,
              vg_reason *why)
{
    const xmlNode *n = gw_cap_first(parent);
    char where[GW_CAP_FIELD_MAX];
    char expected[200];
    for (const s_el *e = spec; e->name != NULL; e++) {
        unsigned count = 0;
        while (gw_cap_is(n, e->name) && (e->max == 0 || count < e->max)) {
            count++;
            if (e->max == 1) {
                snprintf(where, sizeof where, "%s/%s", path, e->name);
            } else {
                snprintf(where, sizeof where, "%s/%s[%u]", path, e->name, count);
            }
            vg_err rc = s_check_element(e, n, where, pb, why);
            if (rc != VG_OK) {
                return rc;
            }
            n = gw_cap_next(n);
        }
        if (n != NULL && !gw_cap_is(n, NULL) &&
            !(spec == s_alert && n->ns != NULL &&
              strcmp((const char *)n->ns->href, GW_CAP_DSIG_NS) == 0)) {
            break; /* a foreign element: named below */
        }
        if (count < e->min) {
            snprintf(where, sizeof where, "%s/%s", path, e->name);
            return gw_cap_fail(pb, why, VG_ERR_MALFORMED, where, "",
                               "<%s> is required in <%s>%s%s%s", e->name, parent->name,
                               n ? " (found <" : "", n ? (const char *)n->name : "",
                               n ? "> in its place)" : "");
        }
    }
    /* After <info>, an alert may carry XML signatures (checked by import). */
    while (spec == s_alert && n != NULL && n->ns != NULL &&
           strcmp((const char *)n->ns->href, GW_CAP_DSIG_NS) == 0) {
        n = gw_cap_next(n);
    }
    if (n != NULL) {
        snprintf(where, sizeof where, "%s/%s", path, n->name);
        s_expected(expected, sizeof expected, spec);
        if (!gw_cap_is(n, NULL)) {
            return gw_cap_fail(pb, why, VG_ERR_MALFORMED, where, "",
                               "<%s> (namespace %s) is not part of CAP 1.2", n->name,
                               n->ns && n->ns->href ? (const char *)n->ns->href : "none");
        }
        return gw_cap_fail(pb, why, VG_ERR_MALFORMED, where, "the elements of CAP 1.2 in order",
                           "<%s> is not allowed here in <%s>: out of order, repeated, or not "
                           "an element of <%s>",
                           n->name, parent->name, parent->name);
    }
    return s_check_cross(spec, parent, path, pb, why);
}

vg_err
gw_cap_check(xmlDoc *doc, gw_cap_problem *pb, vg_reason *why)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    if (root == NULL) {
        return gw_cap_fail(pb, why, VG_ERR_MALFORMED, "", "", "the document has no element");
    }
    if (!gw_cap_is(root, "alert")) {
        bool other_cap =
            root->ns && root->ns->href &&
            strncmp((const char *)root->ns->href, "urn:oasis:names:tc:emergency:cap:", 33) == 0;
        return gw_cap_fail(pb, why, VG_ERR_MALFORMED, "alert", "<alert xmlns=\"" GW_CAP_NS "\">",
                           other_cap ? "this is CAP %s, not CAP 1.2: only CAP 1.2 is accepted"
                                     : "the root element must be <alert> in the CAP 1.2 "
                                       "namespace (%s)",
                           root->ns && root->ns->href ? (const char *)root->ns->href
                                                      : "no namespace");
    }
    vg_err rc = s_check_node_shape(root, true, "alert", pb, why);
    return rc != VG_OK ? rc : s_check_block(s_alert, root, "alert", pb, why);
}

vg_err
gw_cap_validate(const char *xml, size_t len, gw_cap_problem *pb, vg_reason *why)
{
    xmlDoc *doc = NULL;
    vg_err rc = gw_cap_parse(&doc, xml, len, pb, why);
    if (rc == VG_OK) {
        rc = gw_cap_check(doc, pb, why);
        xmlFreeDoc(doc);
    }
    return rc;
}
