/* alert_json.c — alerts to and from JSON (see vigil/alert_json.h). */
#include "vigil/alert_json.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vigil/clock.h"
#include "vigil/util.h"
#include "vigil/wire.h"

/* ---- UTF-8 ------------------------------------------------------------------ */

/* Length (1..4) of the well-formed UTF-8 sequence at s, or 0 when it is not
 * one (overlong, surrogate, beyond U+10FFFF, truncated). */
static size_t
s_utf8_seq_len(const unsigned char *s)
{
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    unsigned char c = s[0];
    size_t n = c < 0x80             ? 1
               : (c & 0xE0) == 0xC0 ? 2
               : (c & 0xF0) == 0xE0 ? 3
               : (c & 0xF8) == 0xF0 ? 4
                                    : 0;
    if (n <= 1) {
        return n;
    }
    uint32_t cp = c & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) { /* also stops at the NUL */
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return n;
}

/* A malloc'ed copy of s with U+FFFD in place of each byte that does not start
 * a well-formed sequence; NULL when out of memory. */
static char *
s_utf8_sanitize(const char *s)
{
    size_t len = strlen(s);
    char *out = malloc(3 * len + 1);
    if (out == NULL) {
        return NULL;
    }
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    while (*p != '\0') {
        size_t n = s_utf8_seq_len(p);
        if (n == 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            p++;
        } else {
            memcpy(out + o, p, n);
            o += n;
            p += n;
        }
    }
    out[o] = '\0';
    return out;
}

#define S_OR_EMPTY(s) ((s) != NULL ? (s) : "")

/* ---- to JSON ----------------------------------------------------------------- */

/* A JSON string of s, repaired when it is not UTF-8; NULL when out of memory. */
static json_t *
s_jstr(const char *s)
{
    json_t *v = json_string(s);
    if (v == NULL) {
        char *clean = s_utf8_sanitize(s);
        v = clean ? json_string(clean) : NULL;
        free(clean);
    }
    return v;
}

/* Sets obj[key] = v (taking v); clears *ok when v is NULL or it fails. */
static void
s_put(json_t *obj, const char *key, json_t *v, bool *ok)
{
    if (v == NULL || json_object_set_new(obj, key, v) != 0) {
        *ok = false;
    }
}

/* Sets obj[key] to the text s, or leaves the key out when s is NULL or
 * empty (an opened alert has "" for a field its sender left out). */
static void
s_put_text(json_t *obj, const char *key, const char *s, bool *ok)
{
    if (s != NULL && s[0] != '\0') {
        s_put(obj, key, s_jstr(s), ok);
    }
}

/* Appends v (taking it) to arr; returns false when v is NULL or it fails. */
static bool
s_append(json_t *arr, json_t *v)
{
    return v != NULL && json_array_append_new(arr, v) == 0;
}

static json_t *
s_strlist_json(const vg_strlist *l)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < l->n; i++) {
        if (!s_append(arr, s_jstr(l->items[i]))) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

static json_t *
s_time_json(int64_t wall_ms)
{
    char buf[VG_TIME_STR_LEN];
    vg_time_format(buf, sizeof buf, wall_ms);
    return json_string(buf);
}

static json_t *
s_id_json(const uint8_t id[VG_ALERT_ID_LEN])
{
    char hex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(hex, id);
    return json_string(hex);
}

static json_t *
s_areas_json(const vg_alert *a)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < a->n_areas; i++) {
        bool ok = true;
        json_t *area = json_object();
        if (area != NULL) {
            s_put(area, "desc", s_jstr(a->areas[i].desc ? a->areas[i].desc : ""), &ok);
            s_put(area, "geocodes", s_strlist_json(&a->areas[i].geocodes), &ok);
        }
        if (!ok || !s_append(arr, area)) {
            json_decref(ok ? NULL : area);
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

static json_t *
s_subjects_json(const vg_alert *a)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < a->n_subjects; i++) {
        bool ok = true;
        json_t *subject = json_object();
        if (subject != NULL) {
            s_put(subject, "scheme", s_jstr(S_OR_EMPTY(a->subjects[i].scheme)), &ok);
            s_put(subject, "value", s_jstr(S_OR_EMPTY(a->subjects[i].value)), &ok);
        }
        if (!ok || !s_append(arr, subject)) {
            json_decref(ok ? NULL : subject);
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

static json_t *
s_references_json(const vg_alert *a)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < a->n_references; i++) {
        if (!s_append(arr, s_id_json(a->references[i]))) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

/* The routing metadata: what the envelope body says in the clear. */
static void
s_put_routing(json_t *o, const vg_alert *a, bool *ok)
{
    s_put(o, "id", s_id_json(a->id), ok);
    s_put(o, "sender", s_jstr(S_OR_EMPTY(a->sender)), ok);
    s_put(o, "sequence", json_integer((json_int_t)a->sequence), ok);
    s_put(o, "sent", s_time_json(a->created_ms), ok);
    /* An unspecified value is written as the default sealing gives it (as
     * "language" is), so the output is always input publish --json takes. */
    vg_status status = a->status ? a->status : VG_STATUS_ACTUAL;
    vg_msg_type msg_type = a->msg_type ? a->msg_type : VG_MSG_ALERT;
    vg_urgency urgency = a->urgency ? a->urgency : VG_URG_UNKNOWN;
    vg_certainty certainty = a->certainty ? a->certainty : VG_CERT_UNKNOWN;
    s_put(o, "status", json_string(vg_status_name(status)), ok);
    s_put(o, "msg_type", json_string(vg_msg_type_name(msg_type)), ok);
    s_put(o, "severity", json_string(vg_severity_name(a->severity)), ok);
    s_put(o, "urgency", json_string(vg_urgency_name(urgency)), ok);
    s_put(o, "certainty", json_string(vg_certainty_name(certainty)), ok);
    s_put(o, "categories", s_strlist_json(&a->categories), ok);
    s_put(o, "recipients", s_strlist_json(&a->recipients), ok);
}

/* The content: what only recipients read. */
static void
s_put_content(json_t *o, const vg_alert *a, bool *ok)
{
    s_put_text(o, "event", a->event, ok);
    s_put(o, "headline", s_jstr(a->headline ? a->headline : ""), ok);
    s_put_text(o, "description", a->description, ok);
    s_put_text(o, "instruction", a->instruction, ok);
    s_put(o, "areas", s_areas_json(a), ok);
    if (a->expires_ms > 0) {
        s_put(o, "expires", s_time_json(a->expires_ms), ok);
    }
    s_put(o, "incidents", s_strlist_json(&a->incidents), ok);
    s_put(o, "subjects", s_subjects_json(a), ok);
    s_put(o, "references", s_references_json(a), ok);
    s_put_text(o, "sender_name", a->sender_name, ok);
    s_put_text(o, "contact", a->contact, ok);
    s_put_text(o, "web", a->web, ok);
    s_put_text(o, "language", a->language && a->language[0] ? a->language : "en-GB", ok);
}

vg_err
vga_alert_to_json(char **out, const vg_alert *a)
{
    if (out == NULL || a == NULL) {
        return VG_ERR_INVALID;
    }
    json_t *o = json_object();
    bool ok = o != NULL;
    if (ok) {
        s_put_routing(o, a, &ok);
        s_put_content(o, a, &ok);
    }
    char *text = ok ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text == NULL) {
        return VG_ERR_NOMEM;
    }
    *out = text;
    return VG_OK;
}

/* ---- from JSON: values ----------------------------------------------------------- */

/* One accepted key: fn stores v into the alert member at offset off. */
typedef vg_err (*s_take_fn)(vg_alert *a, size_t off, const char *key, json_t *v, vg_reason *why);

typedef struct s_field {
    const char *key; /* the JSON key */
    s_take_fn fn;    /* how its value is read */
    size_t off;      /* offsetof the vg_alert member it fills (when fn needs it) */
} s_field;

static vg_err
s_want_string(const char **out, const char *key, json_t *v, vg_reason *why)
{
    if (!json_is_string(v)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "'%s' must be a string", key);
    }
    *out = json_string_value(v);
    return VG_OK;
}

static vg_err
s_take_text(vg_alert *a, size_t off, const char *key, json_t *v, vg_reason *why)
{
    char **dst = (char **)((char *)a + off);
    const char *s = NULL;
    vg_err rc = s_want_string(&s, key, v, why);
    if (rc != VG_OK) {
        return rc;
    }
    free(*dst);
    *dst = vg_strdup(s);
    return *dst ? VG_OK : VG_ERR_NOMEM;
}

static vg_err
s_list_from(vg_strlist *dst, const char *key, json_t *v, vg_reason *why)
{
    if (!json_is_array(v)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "'%s' must be an array of strings", key);
    }
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        if (!json_is_string(item)) {
            return vg_reason_set(why, VG_ERR_MALFORMED, "'%s' item %zu must be a string", key,
                                 i + 1);
        }
        if (vg_strlist_add_unique(dst, json_string_value(item)) != VG_OK) {
            return VG_ERR_NOMEM;
        }
    }
    return VG_OK;
}

static vg_err
s_take_list(vg_alert *a, size_t off, const char *key, json_t *v, vg_reason *why)
{
    return s_list_from((vg_strlist *)((char *)a + off), key, v, why);
}

/* The five enums: a string parsed by vigil/wire.h, whose reason names the
 * accepted values. */
#define S_TAKE_ENUM(name)                                                                          \
    static vg_err s_take_##name(vg_alert *a, size_t off, const char *key, json_t *v,               \
                                vg_reason *why)                                                    \
    {                                                                                              \
        (void)off;                                                                                 \
        const char *s = NULL;                                                                      \
        vg_err rc = s_want_string(&s, key, v, why);                                                \
        return rc != VG_OK ? rc : vg_##name##_parse(&a->name, s, why);                             \
    }

S_TAKE_ENUM(severity)
S_TAKE_ENUM(status)
S_TAKE_ENUM(msg_type)
S_TAKE_ENUM(urgency)
S_TAKE_ENUM(certainty)

static vg_err
s_take_references(vg_alert *a, size_t off, const char *key, json_t *v, vg_reason *why)
{
    (void)off;
    if (!json_is_array(v)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "'%s' must be an array of alert ids", key);
    }
    size_t n = json_array_size(v);
    free(a->references);
    a->n_references = 0;
    a->references = calloc(n ? n : 1, VG_ALERT_ID_LEN);
    if (a->references == NULL) {
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(v, i);
        const char *hex = json_is_string(item) ? json_string_value(item) : "";
        if (vg_alert_id_parse(a->references[i], hex, NULL) != VG_OK) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "'%s' item %zu must be an alert id (32 hex characters)", key,
                                 i + 1);
        }
        a->n_references = i + 1;
    }
    return VG_OK;
}

/* ---- from JSON: time ---------------------------------------------------------------- */

static vg_err
s_take_expires(vg_alert *a, size_t off, const char *key, json_t *v, vg_reason *why)
{
    (void)off;
    const char *s = NULL;
    vg_err rc = s_want_string(&s, key, v, why);
    if (rc != VG_OK) {
        return rc;
    }
    vg_reason inner = {{0}};
    int64_t ms = 0;
    if (vg_time_parse(&ms, s, VG_TIME_TIMESTAMP, &inner) != VG_OK) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "'%s': %s", key, inner.text);
    }
    if (ms <= 0) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "'%s' must be after 1970, e.g. \"2026-11-29T18:00:00Z\"", key);
    }
    a->expires_ms = ms;
    return VG_OK;
}

/* ---- from JSON: areas and subjects ------------------------------------------------------ */

/* Refuses any key of obj that is not in allowed (NULL-terminated). */
static vg_err
s_only_keys(json_t *obj, const char *const *allowed, const char *where, vg_reason *why)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        bool known = false;
        for (size_t i = 0; allowed[i] != NULL && !known; i++) {
            known = strcmp(k, allowed[i]) == 0;
        }
        if (!known) {
            return vg_reason_set(why, VG_ERR_MALFORMED, "%s: unknown key '%s'", where, k);
        }
    }
    return VG_OK;
}

static vg_err
s_area_from(vg_area *area, json_t *v, const char *where, vg_reason *why)
{
    static const char *const keys[] = {"desc", "geocodes", NULL};
    if (!json_is_object(v)) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s must be an object {\"desc\": TEXT, \"geocodes\": [...]}", where);
    }
    vg_err rc = s_only_keys(v, keys, where, why);
    if (rc != VG_OK) {
        return rc;
    }
    vg_reason inner = {{0}};
    const char *desc = NULL;
    rc = s_want_string(&desc, "desc", json_object_get(v, "desc"), &inner);
    if (rc == VG_OK && (area->desc = vg_strdup(desc)) == NULL) {
        return VG_ERR_NOMEM;
    }
    json_t *codes = json_object_get(v, "geocodes");
    if (rc == VG_OK && codes != NULL && !json_is_null(codes)) {
        rc = s_list_from(&area->geocodes, "geocodes", codes, &inner);
    }
    return rc == VG_OK || rc == VG_ERR_NOMEM ? rc
                                             : vg_reason_set(why, rc, "%s: %s", where, inner.text);
}

static vg_err
s_subject_from(vg_subject *subject, json_t *v, const char *where, vg_reason *why)
{
    static const char *const keys[] = {"scheme", "value", NULL};
    if (!json_is_object(v)) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s must be an object {\"scheme\": TEXT, \"value\": TEXT}", where);
    }
    const char *scheme = NULL, *value = NULL;
    vg_err rc = s_only_keys(v, keys, where, why);
    if (rc != VG_OK) {
        return rc;
    }
    vg_reason inner = {{0}};
    rc = s_want_string(&scheme, "scheme", json_object_get(v, "scheme"), &inner);
    if (rc == VG_OK) {
        rc = s_want_string(&value, "value", json_object_get(v, "value"), &inner);
    }
    if (rc != VG_OK) {
        return vg_reason_set(why, rc, "%s: %s", where, inner.text);
    }
    subject->scheme = vg_strdup(scheme);
    subject->value = vg_strdup(value);
    return subject->scheme && subject->value ? VG_OK : VG_ERR_NOMEM;
}

static vg_err
s_take_areas(vg_alert *a, size_t off, const char *key, json_t *v, vg_reason *why)
{
    (void)off;
    if (!json_is_array(v)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "'%s' must be an array of objects", key);
    }
    size_t n = json_array_size(v);
    a->areas = calloc(n ? n : 1, sizeof *a->areas);
    if (a->areas == NULL) {
        return VG_ERR_NOMEM;
    }
    a->n_areas = n; /* zeroed entries: vg_alert_fini copes on any failure below */
    vg_err rc = VG_OK;
    for (size_t i = 0; i < n && rc == VG_OK; i++) {
        char where[64];
        snprintf(where, sizeof where, "'%s' item %zu", key, i + 1);
        rc = s_area_from(&a->areas[i], json_array_get(v, i), where, why);
    }
    return rc;
}

static vg_err
s_take_subjects(vg_alert *a, size_t off, const char *key, json_t *v, vg_reason *why)
{
    (void)off;
    if (!json_is_array(v)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "'%s' must be an array of objects", key);
    }
    size_t n = json_array_size(v);
    a->subjects = calloc(n ? n : 1, sizeof *a->subjects);
    if (a->subjects == NULL) {
        return VG_ERR_NOMEM;
    }
    a->n_subjects = n;
    vg_err rc = VG_OK;
    for (size_t i = 0; i < n && rc == VG_OK; i++) {
        char where[64];
        snprintf(where, sizeof where, "'%s' item %zu", key, i + 1);
        rc = s_subject_from(&a->subjects[i], json_array_get(v, i), where, why);
    }
    return rc;
}

/* ---- from JSON: the object ----------------------------------------------------------------- */

#define S_AT(member) offsetof(vg_alert, member)

static const s_field s_fields[] = {
    {"severity", s_take_severity, 0},
    {"status", s_take_status, 0},
    {"msg_type", s_take_msg_type, 0},
    {"urgency", s_take_urgency, 0},
    {"certainty", s_take_certainty, 0},
    {"categories", s_take_list, S_AT(categories)},
    {"recipients", s_take_list, S_AT(recipients)},
    {"to", s_take_list, S_AT(recipients)},
    {"references", s_take_references, 0},
    {"event", s_take_text, S_AT(event)},
    {"headline", s_take_text, S_AT(headline)},
    {"description", s_take_text, S_AT(description)},
    {"instruction", s_take_text, S_AT(instruction)},
    {"areas", s_take_areas, 0},
    {"expires", s_take_expires, 0},
    {"incidents", s_take_list, S_AT(incidents)},
    {"subjects", s_take_subjects, 0},
    {"sender_name", s_take_text, S_AT(sender_name)},
    {"contact", s_take_text, S_AT(contact)},
    {"web", s_take_text, S_AT(web)},
    {"language", s_take_text, S_AT(language)},
};

#define S_N_FIELDS (sizeof s_fields / sizeof s_fields[0])

/* Keys that appear in listen's output but are the library's to set. */
static const char *const s_library_keys[] = {"id", "sender", "sequence", "sent", NULL};

static vg_err
s_unknown_key(const char *key, vg_reason *why)
{
    for (size_t i = 0; s_library_keys[i] != NULL; i++) {
        if (strcmp(key, s_library_keys[i]) == 0) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "'%s' is set by the agent when it publishes: remove it from the "
                                 "input",
                                 key);
        }
    }
    char accepted[400] = "";
    size_t used = 0;
    for (size_t i = 0; i < S_N_FIELDS && used < sizeof accepted; i++) {
        int w = snprintf(accepted + used, sizeof accepted - used, "%s%s", i ? ", " : "",
                         s_fields[i].key);
        used += w > 0 ? (size_t)w : 0;
    }
    return vg_reason_set(why, VG_ERR_MALFORMED, "unknown key '%s': accepted keys are %s", key,
                         accepted);
}

static vg_err
s_take_key(vg_alert *a, const char *key, json_t *v, vg_reason *why)
{
    for (size_t i = 0; i < S_N_FIELDS; i++) {
        if (strcmp(key, s_fields[i].key) == 0) {
            return json_is_null(v) ? VG_OK : s_fields[i].fn(a, s_fields[i].off, key, v, why);
        }
    }
    return s_unknown_key(key, why);
}

static vg_err
s_check_required(const vg_alert *a, vg_reason *why)
{
    if (a->severity == VG_SEV_UNSPECIFIED) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "'severity' is required: low, medium, high or critical");
    }
    if (a->headline == NULL || a->headline[0] == '\0') {
        return vg_reason_set(why, VG_ERR_MALFORMED, "'headline' is required (a one-line summary)");
    }
    if (a->categories.n == 0) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "'categories' is required: an array of the network's categories, "
                             "e.g. [\"taxi\", \"cse\"]");
    }
    return VG_OK;
}

static vg_err
s_parse_object(vg_alert *a, const char *json, vg_reason *why)
{
    json_error_t jerr;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "not valid JSON: line %d column %d: %s",
                             jerr.line, jerr.column, jerr.text);
    }
    vg_err rc = VG_OK;
    if (!json_is_object(root)) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED, "the alert must be one JSON object {...}");
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        rc = rc == VG_OK ? s_take_key(a, key, v, why) : rc;
    }
    json_decref(root);
    return rc;
}

vg_err
vga_alert_from_json(vg_alert *out, const char *json, vg_reason *why)
{
    if (out == NULL || json == NULL) {
        return vg_reason_set(why, VG_ERR_INVALID, "no JSON given");
    }
    if (strlen(json) > VGA_ALERT_JSON_MAX_BYTES) {
        return vg_reason_set(why, VG_ERR_TOO_LARGE, "the alert JSON is over %d bytes",
                             VGA_ALERT_JSON_MAX_BYTES);
    }
    vg_alert a = {0};
    vg_err rc = s_parse_object(&a, json, why);
    if (rc == VG_OK) {
        rc = s_check_required(&a, why);
    }
    if (rc != VG_OK) {
        vg_alert_fini(&a);
        return rc;
    }
    *out = a;
    return VG_OK;
}
