/* netdoc_json.c — the network document's editable JSON form (docs/network.md). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "netdoc_internal.h"
#include "vigil/keys.h"
#include "vigil/util.h"

/* Everything the protobuf message points into while it is built: freed in
 * one go. Strings stay borrowed from the json_t tree, which outlives it. */
typedef struct s_arena {
    void **blocks; /* malloc'ed blocks */
    size_t n;      /* how many */
    size_t cap;    /* slots */
} s_arena;

static void *
s_alloc(s_arena *a, size_t size)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        void **b = realloc(a->blocks, cap * sizeof *b);
        if (b == NULL) {
            return NULL;
        }
        a->blocks = b;
        a->cap = cap;
    }
    void *p = calloc(1, size ? size : 1);
    if (p != NULL) {
        a->blocks[a->n++] = p;
    }
    return p;
}

static void
s_arena_fini(s_arena *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->blocks[i]);
    }
    free(a->blocks);
}

/* Rejects keys of obj not in allowed (NULL-terminated). */
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

static vg_err
s_string(const char **out, json_t *obj, const char *key, bool required, const char *where,
         vg_reason *why)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (required) {
            return vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"%s\" is required", where, key);
        }
        *out = "";
        return VG_OK;
    }
    if (!json_is_string(v)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"%s\" must be a string", where, key);
    }
    *out = json_string_value(v);
    return VG_OK;
}

static vg_err
s_strings(char ***out, size_t *n_out, json_t *obj, const char *key, const char *where, s_arena *ar,
          vg_reason *why)
{
    json_t *v = json_object_get(obj, key);
    *n_out = 0;
    *out = NULL;
    if (v == NULL) {
        return VG_OK;
    }
    if (!json_is_array(v)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"%s\" must be a list of strings", where,
                             key);
    }
    size_t n = json_array_size(v);
    char **items = s_alloc(ar, n * sizeof *items);
    if (items == NULL) {
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(v, i);
        if (!json_is_string(s)) {
            return vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"%s\" item %zu must be a string",
                                 where, key, i + 1);
        }
        items[i] = (char *)json_string_value(s);
    }
    *out = items;
    *n_out = n;
    return VG_OK;
}

static vg_err
s_key(ProtobufCBinaryData *out, json_t *obj, const char *key, bool z85, const char *where,
      s_arena *ar, vg_reason *why)
{
    const char *text = NULL;
    vg_err rc = s_string(&text, obj, key, true, where, why);
    if (rc != VG_OK) {
        return rc;
    }
    uint8_t *buf = s_alloc(ar, 32);
    if (buf == NULL) {
        return VG_ERR_NOMEM;
    }
    rc = z85 ? vg_z85_decode_key(buf, text) : vg_hex_decode(buf, 32, text);
    if (rc != VG_OK) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"%s\" must be %s", where, key,
                             z85 ? "40 Z85 characters" : "64 hexadecimal characters");
    }
    out->data = buf;
    out->len = 32;
    return VG_OK;
}

/* A count (an integer 0..2^32-1) or absent (0). */
static vg_err
s_u32(uint32_t *out, json_t *obj, const char *key, const char *where, vg_reason *why)
{
    json_t *v = json_object_get(obj, key);
    if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0 ||
                      json_integer_value(v) > (json_int_t)UINT32_MAX)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"%s\" must be a whole number", where,
                             key);
    }
    *out = v ? (uint32_t)json_integer_value(v) : 0;
    return VG_OK;
}

/* "limits": {"publish_per_minute": N, "publish_burst": N,
 * "stored_bytes_per_day": "1GiB" or a number}; absent leaves *out NULL. */
static vg_err
s_limits(Vigil__Limits **out, json_t *parent, const char *where, s_arena *ar, vg_reason *why)
{
    static const char *const keys[] = {"publish_per_minute", "publish_burst",
                                       "stored_bytes_per_day", NULL};
    json_t *obj = json_object_get(parent, "limits");
    *out = NULL;
    if (obj == NULL) {
        return VG_OK;
    }
    char here[96];
    snprintf(here, sizeof here, "%s limits", where);
    if (!json_is_object(obj)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s must be an object", here);
    }
    Vigil__Limits *l = s_alloc(ar, sizeof *l);
    if (l == NULL) {
        return VG_ERR_NOMEM;
    }
    vigil__limits__init(l);
    vg_err rc = s_only_keys(obj, keys, here, why);
    if (rc == VG_OK) {
        rc = s_u32(&l->publish_per_minute, obj, "publish_per_minute", here, why);
    }
    if (rc == VG_OK) {
        rc = s_u32(&l->publish_burst, obj, "publish_burst", here, why);
    }
    json_t *v = json_object_get(obj, "stored_bytes_per_day");
    if (rc == VG_OK && v != NULL && json_is_string(v)) {
        vg_reason inner = {{0}};
        if (vg_size_parse(&l->stored_bytes_per_day, json_string_value(v), &inner) != VG_OK) {
            rc = vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"stored_bytes_per_day\": %s", here,
                               inner.text);
        }
    } else if (rc == VG_OK && v != NULL && json_is_integer(v) && json_integer_value(v) >= 0) {
        l->stored_bytes_per_day = (uint64_t)json_integer_value(v);
    } else if (rc == VG_OK && v != NULL) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED,
                           "%s: \"stored_bytes_per_day\" must be a size such as \"1GiB\"", here);
    }
    *out = l;
    return rc;
}

static vg_err
s_agency(Vigil__AgencyCard **out, json_t *obj, size_t i, s_arena *ar, vg_reason *why)
{
    static const char *const keys[] = {"id",      "role",          "name",    "sign_key",
                                       "box_key", "transport_key", "revoked", "escalation_contact",
                                       "limits",  NULL};
    char where[64];
    snprintf(where, sizeof where, "agencies[%zu]", i);
    if (!json_is_object(obj)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s must be an object", where);
    }
    Vigil__AgencyCard *a = s_alloc(ar, sizeof *a);
    if (a == NULL) {
        return VG_ERR_NOMEM;
    }
    vigil__agency_card__init(a);
    const char *s = NULL;
    vg_err rc = s_only_keys(obj, keys, where, why);
    if (rc == VG_OK && (rc = s_string(&s, obj, "id", true, where, why)) == VG_OK) {
        a->id = (char *)s;
        snprintf(where, sizeof where, "agency %s", s);
    }
    if (rc == VG_OK && (rc = s_string(&s, obj, "role", true, where, why)) == VG_OK) {
        a->role = (char *)s;
    }
    if (rc == VG_OK && (rc = s_string(&s, obj, "name", false, where, why)) == VG_OK) {
        a->display_name = (char *)s;
    }
    if (rc == VG_OK && (rc = s_string(&s, obj, "escalation_contact", false, where, why)) == VG_OK) {
        a->escalation_contact = (char *)s;
    }
    if (rc == VG_OK) {
        rc = s_key(&a->sign_key, obj, "sign_key", false, where, ar, why);
    }
    if (rc == VG_OK) {
        rc = s_key(&a->box_key, obj, "box_key", false, where, ar, why);
    }
    if (rc == VG_OK) {
        rc = s_key(&a->transport_key, obj, "transport_key", true, where, ar, why);
    }
    json_t *rev = json_object_get(obj, "revoked");
    if (rc == VG_OK && rev != NULL && !json_is_boolean(rev)) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"revoked\" must be true or false", where);
    }
    a->revoked = rev != NULL && json_is_true(rev);
    if (rc == VG_OK) {
        rc = s_limits(&a->limits, obj, where, ar, why);
    }
    *out = a;
    return rc;
}

static vg_err
s_rule(Vigil__PolicyRule **out, json_t *obj, size_t i, s_arena *ar, vg_reason *why)
{
    static const char *const keys[] = {"name",       "categories",       "min_severity",
                                       "must_reach", "must_reach_roles", NULL};
    char where[64];
    snprintf(where, sizeof where, "policy[%zu]", i);
    if (!json_is_object(obj)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s must be an object", where);
    }
    Vigil__PolicyRule *r = s_alloc(ar, sizeof *r);
    if (r == NULL) {
        return VG_ERR_NOMEM;
    }
    vigil__policy_rule__init(r);
    *out = r;
    const char *s = NULL;
    vg_err rc = s_only_keys(obj, keys, where, why);
    if (rc == VG_OK && (rc = s_string(&s, obj, "name", false, where, why)) == VG_OK) {
        r->name = (char *)s;
    }
    if (rc == VG_OK) {
        rc = s_strings(&r->categories, &r->n_categories, obj, "categories", where, ar, why);
    }
    if (rc == VG_OK) {
        rc = s_strings(&r->must_reach, &r->n_must_reach, obj, "must_reach", where, ar, why);
    }
    if (rc == VG_OK) {
        rc = s_strings(&r->must_reach_roles, &r->n_must_reach_roles, obj, "must_reach_roles", where,
                       ar, why);
    }
    if (rc == VG_OK && (rc = s_string(&s, obj, "min_severity", false, where, why)) == VG_OK) {
        vg_severity sev = VG_SEV_LOW;
        vg_reason inner;
        if (s[0] != '\0' && vg_severity_parse(&sev, s, &inner) != VG_OK) {
            return vg_reason_set(why, VG_ERR_MALFORMED, "%s: %s", where, inner.text);
        }
        r->min_severity = (Vigil__Severity)sev;
    }
    return rc;
}

static vg_err
s_deadlines(Vigil__NetworkDocument *d, json_t *obj, s_arena *ar, vg_reason *why)
{
    if (!json_is_object(obj)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "\"deadlines\" must be an object");
    }
    size_t n = json_object_size(obj);
    d->deadlines = s_alloc(ar, n * sizeof *d->deadlines);
    if (d->deadlines == NULL) {
        return VG_ERR_NOMEM;
    }
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        Vigil__DeadlineRule *r = s_alloc(ar, sizeof *r);
        char sev_text[32];
        if (r == NULL) {
            return VG_ERR_NOMEM;
        }
        vigil__deadline_rule__init(r);
        snprintf(sev_text, sizeof sev_text, "%s", key);
        char *slash = strchr(sev_text, '/');
        vg_reason inner;
        vg_severity sev;
        vg_urgency urg = VG_URG_UNSPECIFIED;
        if (slash != NULL) {
            *slash = '\0';
            if (vg_urgency_parse(&urg, slash + 1, &inner) != VG_OK) {
                return vg_reason_set(why, VG_ERR_MALFORMED, "deadlines \"%s\": %s", key,
                                     inner.text);
            }
        }
        if (vg_severity_parse(&sev, sev_text, &inner) != VG_OK) {
            return vg_reason_set(why, VG_ERR_MALFORMED, "deadlines \"%s\": %s", key, inner.text);
        }
        if (!json_is_string(v) ||
            vg_duration_parse(&r->deadline_ms, json_string_value(v), &inner) != VG_OK) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "deadlines \"%s\" must be a duration such as \"15m\" or \"1h\"",
                                 key);
        }
        r->severity = (Vigil__Severity)sev;
        r->urgency = (Vigil__Urgency)urg;
        d->deadlines[d->n_deadlines++] = r;
    }
    return VG_OK;
}

static vg_err
s_escalation_step(Vigil__EscalationStep **out, json_t *obj, size_t i, s_arena *ar, vg_reason *why)
{
    static const char *const keys[] = {"after", "target", "role", NULL};
    char where[64];
    snprintf(where, sizeof where, "escalation[%zu]", i);
    if (!json_is_object(obj)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s must be an object", where);
    }
    Vigil__EscalationStep *s = s_alloc(ar, sizeof *s);
    if (s == NULL) {
        return VG_ERR_NOMEM;
    }
    vigil__escalation_step__init(s);
    *out = s;
    const char *after = NULL, *target = NULL, *role = NULL;
    vg_err rc = s_only_keys(obj, keys, where, why);
    if (rc == VG_OK) {
        rc = s_string(&after, obj, "after", true, where, why);
    }
    if (rc == VG_OK) {
        rc = s_string(&target, obj, "target", true, where, why);
    }
    if (rc == VG_OK) {
        rc = s_string(&role, obj, "role", false, where, why);
    }
    if (rc != VG_OK) {
        return rc;
    }
    vg_reason inner;
    if (vg_duration_parse(&s->after_ms, after, &inner) != VG_OK) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s: %s", where, inner.text);
    }
    if (strcmp(target, "redeliver") == 0) {
        s->target = VIGIL__ESCALATION_TARGET__ESCALATION_REDELIVER;
    } else if (strcmp(target, "contact") == 0) {
        s->target = VIGIL__ESCALATION_TARGET__ESCALATION_CONTACT;
    } else if (strcmp(target, "role") == 0) {
        s->target = VIGIL__ESCALATION_TARGET__ESCALATION_ROLE;
    } else {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s: target \"%s\" must be redeliver, contact or role", where, target);
    }
    if ((s->target == VIGIL__ESCALATION_TARGET__ESCALATION_ROLE) != (role[0] != '\0')) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s: \"role\" is required with target role, and only then", where);
    }
    s->role = (char *)role;
    return VG_OK;
}

/* Runs fn over each element of the array at key into a freshly allocated
 * pointer array. */
#define S_EACH(d, field, nfield, root, key, fn, ar, why, rc)                                       \
    do {                                                                                           \
        json_t *arr_ = json_object_get(root, key);                                                 \
        if (arr_ == NULL) {                                                                        \
            break;                                                                                 \
        }                                                                                          \
        if (!json_is_array(arr_)) {                                                                \
            rc = vg_reason_set(why, VG_ERR_MALFORMED, "\"%s\" must be a list", key);               \
            break;                                                                                 \
        }                                                                                          \
        size_t n_ = json_array_size(arr_);                                                         \
        (d)->field = s_alloc(ar, n_ * sizeof *(d)->field);                                         \
        if ((d)->field == NULL) {                                                                  \
            rc = VG_ERR_NOMEM;                                                                     \
            break;                                                                                 \
        }                                                                                          \
        for (size_t i_ = 0; i_ < n_ && rc == VG_OK; i_++) {                                        \
            rc = fn(&(d)->field[i_], json_array_get(arr_, i_), i_, ar, why);                       \
            (d)->nfield = i_ + 1;                                                                  \
        }                                                                                          \
    } while (0)

/* "oversight": {"officer_names": bool, "notes": bool}; absent: neither. */
static vg_err
s_oversight(Vigil__OversightView **out, json_t *root, s_arena *ar, vg_reason *why)
{
    static const char *const keys[] = {"officer_names", "notes", NULL};
    json_t *obj = json_object_get(root, "oversight");
    *out = NULL;
    if (obj == NULL) {
        return VG_OK;
    }
    if (!json_is_object(obj)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "\"oversight\" must be an object");
    }
    Vigil__OversightView *o = s_alloc(ar, sizeof *o);
    if (o == NULL) {
        return VG_ERR_NOMEM;
    }
    vigil__oversight_view__init(o);
    vg_err rc = s_only_keys(obj, keys, "oversight", why);
    json_t *names = json_object_get(obj, "officer_names"), *notes = json_object_get(obj, "notes");
    if (rc == VG_OK && ((names != NULL && !json_is_boolean(names)) ||
                        (notes != NULL && !json_is_boolean(notes)))) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED,
                           "oversight: \"officer_names\" and \"notes\" must be true or false");
    }
    o->officer_names = names != NULL && json_is_true(names);
    o->notes = notes != NULL && json_is_true(notes);
    *out = o;
    return rc;
}

static vg_err
s_build(Vigil__NetworkDocument *d, json_t *root, s_arena *ar, vg_reason *why)
{
    static const char *const keys[] = {"network",    "version",  "issued", "broker",
                                       "categories", "agencies", "policy", "deadlines",
                                       "escalation", "limits",   "oversight", NULL};
    static const char *const broker_keys[] = {"sign_key", "transport_key", NULL};
    if (!json_is_object(root)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "the document must be a JSON object");
    }
    const char *s = NULL;
    vg_err rc = s_only_keys(root, keys, "document", why);
    if (rc == VG_OK && (rc = s_string(&s, root, "network", true, "document", why)) == VG_OK) {
        d->network = (char *)s;
    }
    json_t *v = json_object_get(root, "version");
    if (rc == VG_OK && (v == NULL || !json_is_integer(v) || json_integer_value(v) < 1)) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED, "\"version\" must be an integer >= 1");
    }
    d->version = v ? (uint64_t)json_integer_value(v) : 0;
    v = json_object_get(root, "issued");
    if (rc == VG_OK && v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0)) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED, "\"issued\" must be UTC milliseconds");
    }
    d->issued_ms = v ? (uint64_t)json_integer_value(v) : 0;
    json_t *broker = json_object_get(root, "broker");
    if (rc == VG_OK && !json_is_object(broker)) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED, "\"broker\" with its two keys is required");
    }
    if (rc == VG_OK) {
        rc = s_only_keys(broker, broker_keys, "broker", why);
    }
    if (rc == VG_OK) {
        rc = s_key(&d->broker_sign_key, broker, "sign_key", false, "broker", ar, why);
    }
    if (rc == VG_OK) {
        rc = s_key(&d->broker_transport_key, broker, "transport_key", true, "broker", ar, why);
    }
    if (rc == VG_OK) {
        rc = s_strings(&d->categories, &d->n_categories, root, "categories", "document", ar, why);
    }
    if (rc == VG_OK) {
        S_EACH(d, agencies, n_agencies, root, "agencies", s_agency, ar, why, rc);
    }
    if (rc == VG_OK) {
        S_EACH(d, policy, n_policy, root, "policy", s_rule, ar, why, rc);
    }
    json_t *dl = json_object_get(root, "deadlines");
    if (rc == VG_OK && dl == NULL) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED,
                           "\"deadlines\" is required (critical, high, medium, low)");
    }
    if (rc == VG_OK) {
        rc = s_deadlines(d, dl, ar, why);
    }
    if (rc == VG_OK) {
        S_EACH(d, escalation, n_escalation, root, "escalation", s_escalation_step, ar, why, rc);
    }
    if (rc == VG_OK) {
        rc = s_limits(&d->limits, root, "the network's", ar, why);
    }
    if (rc == VG_OK) {
        rc = s_oversight(&d->oversight, root, ar, why);
    }
    return rc;
}

vg_err
vg_netdoc_body_from_json(uint8_t **out, size_t *out_len, const char *json, vg_reason *why)
{
    json_error_t jerr;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "JSON error at line %d column %d: %s",
                             jerr.line, jerr.column, jerr.text);
    }
    s_arena ar = {0};
    Vigil__NetworkDocument d = VIGIL__NETWORK_DOCUMENT__INIT;
    vg_err rc = s_build(&d, root, &ar, why);
    if (rc == VG_OK) {
        rc = vg_netdoc_validate_pb(&d, why);
    }
    if (rc == VG_OK) {
        size_t len = vigil__network_document__get_packed_size(&d);
        uint8_t *buf = malloc(len ? len : 1);
        if (buf == NULL) {
            rc = VG_ERR_NOMEM;
        } else {
            vigil__network_document__pack(&d, buf);
            *out = buf;
            *out_len = len;
        }
    }
    s_arena_fini(&ar);
    json_decref(root);
    return rc;
}

/* ---- to JSON -------------------------------------------------------------- */

static json_t *
s_hex_key(const ProtobufCBinaryData *b)
{
    char hex[65];
    vg_hex_encode(hex, sizeof hex, b->data, b->len < 32 ? b->len : 32);
    return json_string(hex);
}

static json_t *
s_z85_key(const ProtobufCBinaryData *b)
{
    char z85[VG_Z85_KEY_LEN + 1] = "";
    if (b->len == VG_CURVE_KEY_LEN) {
        vg_z85_encode_key(z85, b->data);
    }
    return json_string(z85);
}

static json_t *
s_str_array(char **items, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, json_string(items[i]));
    }
    return a;
}

static json_t *
s_limits_json(const Vigil__Limits *l)
{
    json_t *o = json_object();
    if (l->publish_per_minute != 0) {
        json_object_set_new(o, "publish_per_minute", json_integer(l->publish_per_minute));
    }
    if (l->publish_burst != 0) {
        json_object_set_new(o, "publish_burst", json_integer(l->publish_burst));
    }
    if (l->stored_bytes_per_day != 0) {
        char size[32];
        vg_size_format(size, sizeof size, l->stored_bytes_per_day);
        json_object_set_new(o, "stored_bytes_per_day", json_string(size));
    }
    return o;
}

static json_t *
s_agency_json(const Vigil__AgencyCard *c)
{
    json_t *a = json_object();
    json_object_set_new(a, "id", json_string(c->id));
    json_object_set_new(a, "role", json_string(c->role));
    json_object_set_new(a, "name", json_string(c->display_name));
    json_object_set_new(a, "sign_key", s_hex_key(&c->sign_key));
    json_object_set_new(a, "box_key", s_hex_key(&c->box_key));
    json_object_set_new(a, "transport_key", s_z85_key(&c->transport_key));
    json_object_set_new(a, "revoked", json_boolean(c->revoked));
    if (c->escalation_contact[0] != '\0') {
        json_object_set_new(a, "escalation_contact", json_string(c->escalation_contact));
    }
    if (c->limits != NULL) {
        json_object_set_new(a, "limits", s_limits_json(c->limits));
    }
    return a;
}

static json_t *
s_rule_json(const Vigil__PolicyRule *r)
{
    json_t *o = json_object();
    if (r->name[0] != '\0') {
        json_object_set_new(o, "name", json_string(r->name));
    }
    json_object_set_new(o, "categories", s_str_array(r->categories, r->n_categories));
    json_object_set_new(o, "min_severity",
                        json_string(vg_severity_name((vg_severity)r->min_severity)));
    json_object_set_new(o, "must_reach", s_str_array(r->must_reach, r->n_must_reach));
    json_object_set_new(o, "must_reach_roles",
                        s_str_array(r->must_reach_roles, r->n_must_reach_roles));
    return o;
}

static json_t *
s_doc_json(const Vigil__NetworkDocument *d)
{
    static const char *const targets[] = {"unspecified", "redeliver", "contact", "role"};
    json_t *root = json_object();
    json_object_set_new(root, "network", json_string(d->network));
    json_object_set_new(root, "version", json_integer((json_int_t)d->version));
    json_object_set_new(root, "issued", json_integer((json_int_t)d->issued_ms));
    json_t *broker = json_object();
    json_object_set_new(broker, "sign_key", s_hex_key(&d->broker_sign_key));
    json_object_set_new(broker, "transport_key", s_z85_key(&d->broker_transport_key));
    json_object_set_new(root, "broker", broker);
    json_object_set_new(root, "categories", s_str_array(d->categories, d->n_categories));
    json_t *agencies = json_array();
    for (size_t i = 0; i < d->n_agencies; i++) {
        json_array_append_new(agencies, s_agency_json(d->agencies[i]));
    }
    json_object_set_new(root, "agencies", agencies);
    json_t *policy = json_array();
    for (size_t i = 0; i < d->n_policy; i++) {
        json_array_append_new(policy, s_rule_json(d->policy[i]));
    }
    json_object_set_new(root, "policy", policy);
    json_t *dl = json_object();
    for (size_t i = 0; i < d->n_deadlines; i++) {
        const Vigil__DeadlineRule *r = d->deadlines[i];
        char key[64], dur[32];
        snprintf(key, sizeof key, "%s%s%s", vg_severity_name((vg_severity)r->severity),
                 r->urgency ? "/" : "", r->urgency ? vg_urgency_name((vg_urgency)r->urgency) : "");
        vg_duration_format(dur, sizeof dur, r->deadline_ms);
        json_object_set_new(dl, key, json_string(dur));
    }
    json_object_set_new(root, "deadlines", dl);
    json_t *esc = json_array();
    for (size_t i = 0; i < d->n_escalation; i++) {
        const Vigil__EscalationStep *s = d->escalation[i];
        json_t *o = json_object();
        char dur[32];
        vg_duration_format(dur, sizeof dur, s->after_ms);
        json_object_set_new(o, "after", json_string(s->after_ms ? dur : "0s"));
        json_object_set_new(o, "target", json_string(targets[s->target <= 3 ? s->target : 0]));
        if (s->role[0] != '\0') {
            json_object_set_new(o, "role", json_string(s->role));
        }
        json_array_append_new(esc, o);
    }
    json_object_set_new(root, "escalation", esc);
    if (d->limits != NULL) {
        json_object_set_new(root, "limits", s_limits_json(d->limits));
    }
    if (d->oversight != NULL) {
        json_t *o = json_object();
        json_object_set_new(o, "officer_names", json_boolean(d->oversight->officer_names));
        json_object_set_new(o, "notes", json_boolean(d->oversight->notes));
        json_object_set_new(root, "oversight", o);
    }
    return root;
}

vg_err
vg_netdoc_to_json(char **out, const vg_netdoc *doc)
{
    json_t *root = s_doc_json(vg_netdoc_pb(doc));
    if (root == NULL) {
        return VG_ERR_NOMEM;
    }
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (text == NULL) {
        return VG_ERR_NOMEM;
    }
    /* json_dumps allocates with jansson's allocator (malloc by default);
     * copy so the caller's free() is always right. */
    *out = vg_strdup(text);
    free(text);
    return *out ? VG_OK : VG_ERR_NOMEM;
}
