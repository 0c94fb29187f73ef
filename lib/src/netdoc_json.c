/* netdoc_json.c — the network document's editable JSON form (docs/network.md). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "netdoc_internal.h"
#include "vigil/calendar.h"
#include "vigil/clock.h"
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

/* ---- calendars and opening hours ------------------------------------------ */

/* "HH:MM" (00:00..24:00) → minutes. */
static bool
s_clock(const char *t, size_t n, uint32_t *out)
{
    if (n != 5 || t[2] != ':') {
        return false;
    }
    for (size_t i = 0; i < 5; i++) {
        if (i != 2 && (t[i] < '0' || t[i] > '9')) {
            return false;
        }
    }
    uint32_t h = (uint32_t)((t[0] - '0') * 10 + (t[1] - '0'));
    uint32_t m = (uint32_t)((t[3] - '0') * 10 + (t[4] - '0'));
    *out = h * 60 + m;
    return m < 60 && *out <= 1440;
}

/* "hours": {"mon": "09:00-17:00", "fri": "09:00-12:30,13:30-16:30"} */
static vg_err
s_hours(Vigil__AgencyCard *a, json_t *obj, const char *where, s_arena *ar, vg_reason *why)
{
    static const char *const keys[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL};
    char here[96];
    snprintf(here, sizeof here, "%s hours", where);
    if (!json_is_object(obj)) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s must be an object such as "
                             "{\"mon\": \"09:00-17:00\"}",
                             here);
    }
    vg_err rc = s_only_keys(obj, keys, here, why);
    a->hours = s_alloc(ar, VG_HOURS_SPANS_MAX * sizeof *a->hours);
    if (rc != VG_OK || a->hours == NULL) {
        return rc != VG_OK ? rc : VG_ERR_NOMEM;
    }
    for (int w = 1; w <= 7; w++) {
        json_t *v = json_object_get(obj, keys[w - 1]);
        if (v == NULL) {
            continue;
        }
        const char *t = json_is_string(v) ? json_string_value(v) : NULL;
        while (t != NULL && *t != '\0') {
            size_t n = strcspn(t, ",");
            const char *dash = memchr(t, '-', n);
            Vigil__OpeningSpan *s = a->n_hours < VG_HOURS_SPANS_MAX ? s_alloc(ar, sizeof *s) : NULL;
            if (s == NULL) {
                return a->n_hours < VG_HOURS_SPANS_MAX
                           ? VG_ERR_NOMEM
                           : vg_reason_set(why, VG_ERR_MALFORMED, "%s: more than %d spans", here,
                                           VG_HOURS_SPANS_MAX);
            }
            vigil__opening_span__init(s);
            s->weekday = (uint32_t)w;
            if (dash == NULL || !s_clock(t, (size_t)(dash - t), &s->open_min) ||
                !s_clock(dash + 1, n - (size_t)(dash - t) - 1, &s->close_min)) {
                t = NULL;
                break;
            }
            a->hours[a->n_hours++] = s;
            t = t[n] == ',' ? t + n + 1 : t + n;
        }
        if (t == NULL) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "%s \"%s\" must be spans such as \"09:00-17:00\" or "
                                 "\"09:00-12:30,13:30-17:00\"",
                                 here, keys[w - 1]);
        }
    }
    return VG_OK;
}

/* A card's calendar, hours and out_of_hours_cover. */
static vg_err
s_agency_calendar(Vigil__AgencyCard *a, json_t *obj, const char *where, s_arena *ar, vg_reason *why)
{
    const char *s = NULL;
    vg_err rc = s_string(&s, obj, "calendar", false, where, why);
    a->calendar = (char *)(s ? s : "");
    if (rc == VG_OK && (rc = s_string(&s, obj, "out_of_hours_cover", false, where, why)) == VG_OK) {
        a->out_of_hours_cover = (char *)s;
    }
    json_t *h = json_object_get(obj, "hours");
    if (rc == VG_OK && h != NULL) {
        rc = s_hours(a, h, where, ar, why);
    }
    return rc;
}

static int
s_cmp_closed(const void *a, const void *b)
{
    uint32_t x = (*(Vigil__ClosedDate *const *)a)->date, y = (*(Vigil__ClosedDate *const *)b)->date;
    return (x > y) - (x < y);
}

/* "closed": ["2025-12-25", {"date": "2025-12-26", "title": "Boxing Day"}],
 * in any order; kept sorted, each date once. */
static vg_err
s_closed(Vigil__Calendar *c, json_t *arr, const char *where, s_arena *ar, vg_reason *why)
{
    static const char *const keys[] = {"date", "title", NULL};
    if (!json_is_array(arr)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"closed\" must be a list", where);
    }
    size_t n = json_array_size(arr);
    c->closed = s_alloc(ar, n * sizeof *c->closed);
    if (c->closed == NULL) {
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        Vigil__ClosedDate *cd = s_alloc(ar, sizeof *cd);
        const char *date = json_is_string(e) ? json_string_value(e) : NULL, *title = "";
        if (cd == NULL) {
            return VG_ERR_NOMEM;
        }
        vigil__closed_date__init(cd);
        vg_err rc = VG_OK;
        if (json_is_object(e) && (rc = s_only_keys(e, keys, where, why)) == VG_OK &&
            (rc = s_string(&date, e, "date", true, where, why)) == VG_OK) {
            rc = s_string(&title, e, "title", false, where, why);
        }
        vg_reason inner = {{0}};
        if (rc == VG_OK && vg_date_parse(&cd->date, date, &inner) != VG_OK) {
            rc = vg_reason_set(why, VG_ERR_MALFORMED,
                               "%s: closed item %zu: %s (write \"YYYY-MM-DD\" or {\"date\": "
                               "\"YYYY-MM-DD\", \"title\": \"...\"})",
                               where, i + 1, date ? inner.text : "not a date");
        }
        if (rc != VG_OK) {
            return rc;
        }
        cd->title = (char *)title;
        c->closed[c->n_closed++] = cd;
    }
    qsort(c->closed, c->n_closed, sizeof *c->closed, s_cmp_closed);
    for (size_t i = 1; i < c->n_closed; i++) {
        if (c->closed[i]->date == c->closed[i - 1]->date) {
            char day[16];
            vg_date_format(day, sizeof day, c->closed[i]->date);
            return vg_reason_set(why, VG_ERR_MALFORMED, "%s: closed date %s is listed twice", where,
                                 day);
        }
    }
    return VG_OK;
}

static vg_err
s_weekend(Vigil__Calendar *c, json_t *obj, const char *where, s_arena *ar, vg_reason *why)
{
    char **names = NULL;
    size_t n = 0;
    vg_err rc = s_strings(&names, &n, obj, "weekend", where, ar, why);
    if (rc == VG_OK && json_object_get(obj, "weekend") == NULL) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED,
                           "%s: \"weekend\" is required, e.g. [\"sat\", \"sun\"] (or [])", where);
    }
    c->weekend = s_alloc(ar, n * sizeof *c->weekend);
    if (rc == VG_OK && c->weekend == NULL) {
        rc = VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < n && rc == VG_OK; i++) {
        int w = vg_weekday_parse(names[i]);
        if (w == 0) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "%s: weekend day \"%s\" must be mon, tue, wed, thu, fri, sat or "
                                 "sun",
                                 where, names[i]);
        }
        c->weekend[c->n_weekend++] = (uint32_t)w;
    }
    return rc;
}

static vg_err
s_calendar(Vigil__Calendar **out, json_t *obj, size_t i, s_arena *ar, vg_reason *why)
{
    static const char *const keys[] = {"name",   "time_zone",   "tz_rule",  "weekend",
                                       "closed", "valid_until", "union_of", NULL};
    char where[96];
    snprintf(where, sizeof where, "calendars[%zu]", i);
    if (!json_is_object(obj)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s must be an object", where);
    }
    Vigil__Calendar *c = s_alloc(ar, sizeof *c);
    if (c == NULL) {
        return VG_ERR_NOMEM;
    }
    vigil__calendar__init(c);
    *out = c;
    const char *s = NULL;
    vg_err rc = s_string(&s, obj, "name", true, where, why);
    if (rc == VG_OK) {
        c->name = (char *)s;
        snprintf(where, sizeof where, "calendar %s", s);
        rc = s_only_keys(obj, keys, where, why);
    }
    if (rc == VG_OK && (rc = s_string(&s, obj, "time_zone", true, where, why)) == VG_OK) {
        c->time_zone = (char *)s;
    }
    if (rc == VG_OK && (rc = s_string(&s, obj, "tz_rule", true, where, why)) == VG_OK) {
        c->tz_rule = (char *)s;
    }
    if (rc == VG_OK) {
        rc = s_weekend(c, obj, where, ar, why);
    }
    json_t *closed = json_object_get(obj, "closed");
    if (rc == VG_OK && closed != NULL) {
        rc = s_closed(c, closed, where, ar, why);
    }
    if (rc == VG_OK && (rc = s_string(&s, obj, "valid_until", false, where, why)) == VG_OK &&
        s[0] != '\0') {
        vg_reason inner = {{0}};
        if (vg_date_parse(&c->valid_until, s, &inner) != VG_OK) {
            rc = vg_reason_set(why, VG_ERR_MALFORMED, "%s: valid_until: %s", where, inner.text);
        }
    }
    if (rc == VG_OK) {
        rc = s_strings(&c->union_of, &c->n_union_of, obj, "union_of", where, ar, why);
    }
    return rc;
}

/* ---- keys that rotate, leak or are revoked ------------------------------- */

/* A time: UTC milliseconds (an integer) or an RFC 3339 timestamp; absent
 * leaves *out 0 (or is refused when required). */
static vg_err
s_time(uint64_t *out, json_t *obj, const char *key, bool required, const char *where,
       vg_reason *why)
{
    json_t *v = json_object_get(obj, key);
    int64_t ms = 0;
    *out = 0;
    if (v == NULL && !required) {
        return VG_OK;
    }
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        *out = (uint64_t)json_integer_value(v);
        return VG_OK;
    }
    if (json_is_string(v) &&
        vg_time_parse(&ms, json_string_value(v), VG_TIME_TIMESTAMP, NULL) == VG_OK && ms > 0) {
        *out = (uint64_t)ms;
        return VG_OK;
    }
    return vg_reason_set(why, VG_ERR_MALFORMED,
                         "%s: \"%s\" %smust be a time: UTC milliseconds or an RFC 3339 "
                         "timestamp such as \"2026-12-01T18:00:00Z\"",
                         where, key, v == NULL ? "is required and " : "");
}

/* A key that may be absent (an unchanged key of a previous set). */
static vg_err
s_opt_key(ProtobufCBinaryData *out, json_t *obj, const char *key, bool z85, const char *where,
          s_arena *ar, vg_reason *why)
{
    if (json_object_get(obj, key) == NULL) {
        out->data = NULL;
        out->len = 0;
        return VG_OK;
    }
    return s_key(out, obj, key, z85, where, ar, why);
}

/* "compromised_at": {"sign_key": T, "box_key": T, "transport_key": T};
 * absent leaves *out NULL. box_key is for previous sets (allow_box). */
static vg_err
s_compromised(Vigil__KeyCompromise **out, json_t *parent, bool allow_box, const char *where,
              s_arena *ar, vg_reason *why)
{
    static const char *const keys[] = {"sign_key", "box_key", "transport_key", NULL};
    static const char *const cur_keys[] = {"sign_key", "transport_key", NULL};
    json_t *obj = json_object_get(parent, "compromised_at");
    *out = NULL;
    if (obj == NULL) {
        return VG_OK;
    }
    char w[96];
    snprintf(w, sizeof w, "%s: compromised_at", where);
    if (!json_is_object(obj)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s must be an object of key names and times",
                             w);
    }
    Vigil__KeyCompromise *c = s_alloc(ar, sizeof *c);
    if (c == NULL) {
        return VG_ERR_NOMEM;
    }
    vigil__key_compromise__init(c);
    vg_err rc = s_only_keys(obj, allow_box ? keys : cur_keys, w, why);
    if (rc != VG_OK && !allow_box && json_object_get(obj, "box_key") != NULL) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED,
                           "%s: a current box key is not marked compromised: nothing may be "
                           "sealed to it, so give the card a new box key or revoke the agency",
                           w);
    }
    if (rc == VG_OK) {
        rc = s_time(&c->sign_ms, obj, "sign_key", false, w, why);
    }
    if (rc == VG_OK && allow_box) {
        rc = s_time(&c->box_ms, obj, "box_key", false, w, why);
    }
    if (rc == VG_OK) {
        rc = s_time(&c->transport_ms, obj, "transport_key", false, w, why);
    }
    *out = c;
    return rc;
}

static vg_err
s_previous_set(Vigil__PreviousKeys **out, json_t *obj, size_t i, const char *owner, s_arena *ar,
               vg_reason *why)
{
    static const char *const keys[] = {
        "sign_key", "box_key", "transport_key", "rotated", "valid_until", "compromised_at", NULL};
    char where[128]; /* owner (up to 80) and the index */
    snprintf(where, sizeof where, "%s: previous_keys[%zu]", owner, i);
    if (!json_is_object(obj)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s must be an object", where);
    }
    Vigil__PreviousKeys *p = s_alloc(ar, sizeof *p);
    if (p == NULL) {
        return VG_ERR_NOMEM;
    }
    vigil__previous_keys__init(p);
    vg_err rc = s_only_keys(obj, keys, where, why);
    if (rc == VG_OK) {
        rc = s_opt_key(&p->sign_key, obj, "sign_key", false, where, ar, why);
    }
    if (rc == VG_OK) {
        rc = s_opt_key(&p->box_key, obj, "box_key", false, where, ar, why);
    }
    if (rc == VG_OK) {
        rc = s_opt_key(&p->transport_key, obj, "transport_key", true, where, ar, why);
    }
    if (rc == VG_OK) {
        rc = s_time(&p->rotated_ms, obj, "rotated", true, where, why);
    }
    if (rc == VG_OK) {
        rc = s_time(&p->valid_until_ms, obj, "valid_until", true, where, why);
    }
    if (rc == VG_OK) {
        rc = s_compromised(&p->compromised, obj, true, where, ar, why);
    }
    *out = p;
    return rc;
}

/* A card's previous_keys, compromised_at and successor. */
static vg_err
s_agency_keys(Vigil__AgencyCard *a, json_t *obj, const char *where, s_arena *ar, vg_reason *why)
{
    const char *s = NULL;
    vg_err rc = s_string(&s, obj, "successor", false, where, why);
    a->successor = (char *)s;
    if (rc == VG_OK) {
        rc = s_compromised(&a->compromised, obj, false, where, ar, why);
    }
    json_t *arr = json_object_get(obj, "previous_keys");
    if (rc != VG_OK || arr == NULL) {
        return rc;
    }
    if (!json_is_array(arr)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"previous_keys\" must be a list", where);
    }
    size_t n = json_array_size(arr);
    a->previous_keys = s_alloc(ar, n * sizeof *a->previous_keys);
    if (a->previous_keys == NULL) {
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < n && rc == VG_OK; i++) {
        rc = s_previous_set(&a->previous_keys[i], json_array_get(arr, i), i, where, ar, why);
        a->n_previous_keys = i + 1;
    }
    return rc;
}

static vg_err
s_previous_broker(Vigil__PreviousBrokerKeys **out, json_t *obj, size_t i, s_arena *ar,
                  vg_reason *why)
{
    static const char *const keys[] = {"sign_key", "transport_key", "rotated", "valid_until", NULL};
    char where[64];
    snprintf(where, sizeof where, "previous_broker_keys[%zu]", i);
    if (!json_is_object(obj)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s must be an object", where);
    }
    Vigil__PreviousBrokerKeys *p = s_alloc(ar, sizeof *p);
    if (p == NULL) {
        return VG_ERR_NOMEM;
    }
    vigil__previous_broker_keys__init(p);
    vg_err rc = s_only_keys(obj, keys, where, why);
    if (rc == VG_OK) {
        rc = s_opt_key(&p->sign_key, obj, "sign_key", false, where, ar, why);
    }
    if (rc == VG_OK) {
        rc = s_opt_key(&p->transport_key, obj, "transport_key", true, where, ar, why);
    }
    if (rc == VG_OK) {
        rc = s_time(&p->rotated_ms, obj, "rotated", true, where, why);
    }
    if (rc == VG_OK) {
        rc = s_time(&p->valid_until_ms, obj, "valid_until", true, where, why);
    }
    *out = p;
    return rc;
}

static vg_err
s_agency(Vigil__AgencyCard **out, json_t *obj, size_t i, s_arena *ar, vg_reason *why)
{
    static const char *const keys[] = {"id",
                                       "role",
                                       "name",
                                       "sign_key",
                                       "box_key",
                                       "transport_key",
                                       "revoked",
                                       "escalation_contact",
                                       "limits",
                                       "calendar",
                                       "hours",
                                       "out_of_hours_cover",
                                       "deadlines",
                                       "category_deadlines",
                                       "previous_keys",
                                       "compromised_at",
                                       "successor",
                                       NULL};
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
    if (rc == VG_OK) {
        rc = s_agency_calendar(a, obj, where, ar, why);
    }
    if (rc == VG_OK) {
        rc = s_agency_keys(a, obj, where, ar, why);
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

/* "severity" or "severity/urgency" → the rule's two fields. */
static vg_err
s_rule_key(Vigil__DeadlineRule *r, const char *key, const char *where, vg_reason *why)
{
    char sev_text[32];
    snprintf(sev_text, sizeof sev_text, "%s", key);
    char *slash = strchr(sev_text, '/');
    vg_reason inner;
    vg_severity sev;
    vg_urgency urg = VG_URG_UNSPECIFIED;
    if (slash != NULL) {
        *slash = '\0';
        if (vg_urgency_parse(&urg, slash + 1, &inner) != VG_OK) {
            return vg_reason_set(why, VG_ERR_MALFORMED, "%s \"%s\": %s", where, key, inner.text);
        }
    }
    if (strlen(key) >= sizeof sev_text || vg_severity_parse(&sev, sev_text, &inner) != VG_OK) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s \"%s\": %s", where, key, inner.text);
    }
    r->severity = (Vigil__Severity)sev;
    r->urgency = (Vigil__Urgency)urg;
    return VG_OK;
}

/* A deadline text ("15m", "2wd", "8bh", "next-open+1h") → the rule's unit. */
static vg_err
s_rule_unit(Vigil__DeadlineRule *r, json_t *v, const char *where, const char *key, vg_reason *why)
{
    vg_deadline_rule unit;
    vg_reason inner = {{0}};
    if (!json_is_string(v)) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s \"%s\" must be a string such as \"15m\", \"2wd\", \"8bh\" or "
                             "\"next-open+1h\"",
                             where, key);
    }
    if (vg_deadline_rule_parse(&unit, json_string_value(v), &inner) != VG_OK) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s \"%s\": %s", where, key, inner.text);
    }
    r->working_days = unit.unit == VG_DL_WORKING_DAYS ? unit.count : 0;
    r->business_hours = unit.unit == VG_DL_BUSINESS_HOURS ? unit.count : 0;
    r->next_open = unit.unit == VG_DL_NEXT_OPEN;
    r->deadline_ms = unit.duration_ms;
    return VG_OK;
}

static Vigil__DeadlineRule *
s_new_rule(Vigil__NetworkDocument *d, const char *agency, s_arena *ar)
{
    Vigil__DeadlineRule *r = s_alloc(ar, sizeof *r);
    if (r != NULL) {
        vigil__deadline_rule__init(r);
        r->agency = (char *)(agency ? agency : "");
        d->deadlines[d->n_deadlines++] = r;
    }
    return r;
}

/* "deadlines": {"high": "1h", "high/immediate": "30m", "low": "5wd"}, at the
 * top (agency NULL) or on an agency's card. */
static vg_err
s_deadlines(Vigil__NetworkDocument *d, json_t *obj, const char *agency, const char *where,
            s_arena *ar, vg_reason *why)
{
    if (!json_is_object(obj)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s must be an object", where);
    }
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        Vigil__DeadlineRule *r = s_new_rule(d, agency, ar);
        if (r == NULL) {
            return VG_ERR_NOMEM;
        }
        vg_err rc = s_rule_key(r, key, where, why);
        if (rc == VG_OK) {
            rc = s_rule_unit(r, v, where, key, why);
        }
        if (rc != VG_OK) {
            return rc;
        }
    }
    return VG_OK;
}

/* "category_deadlines": [{"categories": [...], "severity": "high",
 * "urgency": "immediate", "deadline": "1wd"}] */
static vg_err
s_category_deadlines(Vigil__NetworkDocument *d, json_t *arr, const char *agency, const char *where,
                     s_arena *ar, vg_reason *why)
{
    static const char *const keys[] = {"categories", "severity", "urgency", "deadline", NULL};
    if (!json_is_array(arr)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s must be a list", where);
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *o = json_array_get(arr, i);
        char here[128];
        snprintf(here, sizeof here, "%s[%zu]", where, i);
        if (!json_is_object(o)) {
            return vg_reason_set(why, VG_ERR_MALFORMED, "%s must be an object", here);
        }
        Vigil__DeadlineRule *r = s_new_rule(d, agency, ar);
        const char *sev = NULL, *urg = NULL;
        if (r == NULL) {
            return VG_ERR_NOMEM;
        }
        vg_err rc = s_only_keys(o, keys, here, why);
        if (rc == VG_OK) {
            rc = s_strings(&r->categories, &r->n_categories, o, "categories", here, ar, why);
        }
        if (rc == VG_OK && r->n_categories == 0) {
            rc =
                vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"categories\" lists at least one", here);
        }
        if (rc == VG_OK) {
            rc = s_string(&sev, o, "severity", true, here, why);
        }
        if (rc == VG_OK) {
            rc = s_string(&urg, o, "urgency", false, here, why);
        }
        char key[64];
        snprintf(key, sizeof key, "%s%s%s", sev ? sev : "", urg && urg[0] ? "/" : "",
                 urg ? urg : "");
        if (rc == VG_OK) {
            rc = s_rule_key(r, key, here, why);
        }
        json_t *dl = json_object_get(o, "deadline");
        if (rc == VG_OK && dl == NULL) {
            rc = vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"deadline\" is required", here);
        }
        if (rc == VG_OK) {
            rc = s_rule_unit(r, dl, here, "deadline", why);
        }
        if (rc != VG_OK) {
            return rc;
        }
    }
    return VG_OK;
}

/* Room for every rule the document can hold: the top deadlines and
 * category_deadlines, and each card's. */
static size_t
s_count_rules(json_t *root)
{
    size_t n = json_object_size(json_object_get(root, "deadlines")) +
               json_array_size(json_object_get(root, "category_deadlines")) +
               json_object_size(json_object_get(root, "repeat_deadlines"));
    json_t *agencies = json_object_get(root, "agencies");
    for (size_t i = 0; i < json_array_size(agencies); i++) {
        json_t *a = json_array_get(agencies, i);
        n += json_object_size(json_object_get(a, "deadlines")) +
             json_array_size(json_object_get(a, "category_deadlines"));
    }
    return n;
}

/* Every deadline rule of the document, network-wide first, then each
 * agency's in card order. */
static vg_err
s_all_deadlines(Vigil__NetworkDocument *d, json_t *root, s_arena *ar, vg_reason *why)
{
    d->deadlines = s_alloc(ar, s_count_rules(root) * sizeof *d->deadlines);
    if (d->deadlines == NULL) {
        return VG_ERR_NOMEM;
    }
    json_t *dl = json_object_get(root, "deadlines");
    if (dl == NULL) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "\"deadlines\" is required (critical, high, medium, low)");
    }
    vg_err rc = s_deadlines(d, dl, NULL, "deadlines", ar, why);
    json_t *cd = json_object_get(root, "category_deadlines");
    if (rc == VG_OK && cd != NULL) {
        rc = s_category_deadlines(d, cd, NULL, "category_deadlines", ar, why);
    }
    json_t *rd = json_object_get(root, "repeat_deadlines"); /* {"high": "15m"}: by severity */
    size_t first = d->n_deadlines;
    if (rc == VG_OK && rd != NULL) {
        rc = s_deadlines(d, rd, NULL, "repeat_deadlines", ar, why);
    }
    for (size_t i = first; rc == VG_OK && i < d->n_deadlines; i++) {
        d->deadlines[i]->repeat = true;
    }
    for (size_t i = 0; rc == VG_OK && i < d->n_agencies; i++) {
        json_t *a = json_array_get(json_object_get(root, "agencies"), i);
        const char *id = d->agencies[i]->id;
        char where[128];
        if ((dl = json_object_get(a, "deadlines")) != NULL) {
            snprintf(where, sizeof where, "agency %s deadlines", id);
            rc = s_deadlines(d, dl, id, where, ar, why);
        }
        if (rc == VG_OK && (cd = json_object_get(a, "category_deadlines")) != NULL) {
            snprintf(where, sizeof where, "agency %s category_deadlines", id);
            rc = s_category_deadlines(d, cd, id, where, ar, why);
        }
    }
    return rc;
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
    s->target = (Vigil__EscalationTarget)vg_escalation_target_parse(target);
    if (s->target == VIGIL__ESCALATION_TARGET__ESCALATION_TARGET_UNSPECIFIED) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s: target \"%s\" must be redeliver, contact, role, "
                             "officer-on-duty, out-of-hours-team, manager or oversight",
                             where, target);
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

/* "witnessing": {"cosignatures": K, "within": "15m"}; absent: none required
 * (docs/network.md). The numbers are checked with the document. */
static vg_err
s_witnessing(Vigil__Witnessing **out, json_t *root, s_arena *ar, vg_reason *why)
{
    static const char *const keys[] = {"cosignatures", "within", NULL};
    json_t *obj = json_object_get(root, "witnessing");
    *out = NULL;
    if (obj == NULL) {
        return VG_OK;
    }
    if (!json_is_object(obj)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "\"witnessing\" must be an object");
    }
    Vigil__Witnessing *w = s_alloc(ar, sizeof *w);
    if (w == NULL) {
        return VG_ERR_NOMEM;
    }
    vigil__witnessing__init(w);
    vg_err rc = s_only_keys(obj, keys, "witnessing", why);
    json_t *k = json_object_get(obj, "cosignatures");
    if (rc == VG_OK && (k == NULL || !json_is_integer(k) || json_integer_value(k) < 1 ||
                        json_integer_value(k) > VG_AGENCIES_MAX)) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED,
                           "witnessing: \"cosignatures\" must be a number of agencies, 1 to %d",
                           VG_AGENCIES_MAX);
    }
    const char *within = NULL;
    if (rc == VG_OK) {
        rc = s_string(&within, obj, "within", true, "witnessing", why);
    }
    vg_reason inner = {{0}};
    if (rc == VG_OK && vg_duration_parse(&w->within_ms, within, &inner) != VG_OK) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED, "witnessing: \"within\": %s", inner.text);
    }
    w->cosignatures = k != NULL && json_is_integer(k) ? (uint32_t)json_integer_value(k) : 0;
    *out = w;
    return rc;
}

/* {"name": "taxi-licence", "uppercase": true, "strip": " -"} */
static vg_err
s_scheme(Vigil__ReferenceScheme **out, json_t *obj, size_t i, s_arena *ar, vg_reason *why)
{
    static const char *const keys[] = {"name", "uppercase", "strip", NULL};
    char where[40];
    snprintf(where, sizeof where, "reference_schemes[%zu]", i);
    if (!json_is_object(obj)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s must be an object", where);
    }
    Vigil__ReferenceScheme *r = s_alloc(ar, sizeof *r);
    if (r == NULL) {
        return VG_ERR_NOMEM;
    }
    vigil__reference_scheme__init(r);
    const char *s = NULL;
    vg_err rc = s_only_keys(obj, keys, where, why);
    if (rc == VG_OK && (rc = s_string(&s, obj, "name", true, where, why)) == VG_OK) {
        r->name = (char *)s;
    }
    if (rc == VG_OK && (rc = s_string(&s, obj, "strip", false, where, why)) == VG_OK) {
        r->strip = (char *)s;
    }
    json_t *up = json_object_get(obj, "uppercase");
    if (rc == VG_OK && up != NULL && !json_is_boolean(up)) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"uppercase\" must be true or false", where);
    }
    r->uppercase = up != NULL && json_is_true(up);
    *out = r;
    return rc;
}

/* {"status": "exercise", "category": "taxi", "content": "30d", "tags": "90d"}:
 * status and category optional (any), tags optional (as content). */
static vg_err
s_retention(Vigil__RetentionRule **out, json_t *obj, size_t i, s_arena *ar, vg_reason *why)
{
    static const char *const keys[] = {"status", "category", "content", "tags", NULL};
    char where[40];
    snprintf(where, sizeof where, "retention[%zu]", i);
    if (!json_is_object(obj)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s must be an object", where);
    }
    Vigil__RetentionRule *r = s_alloc(ar, sizeof *r);
    if (r == NULL) {
        return VG_ERR_NOMEM;
    }
    vigil__retention_rule__init(r);
    *out = r;
    const char *status = NULL, *category = NULL, *content = NULL, *tags = NULL;
    vg_err rc = s_only_keys(obj, keys, where, why);
    rc = rc == VG_OK ? s_string(&status, obj, "status", false, where, why) : rc;
    rc = rc == VG_OK ? s_string(&category, obj, "category", false, where, why) : rc;
    rc = rc == VG_OK ? s_string(&content, obj, "content", true, where, why) : rc;
    rc = rc == VG_OK ? s_string(&tags, obj, "tags", false, where, why) : rc;
    if (rc != VG_OK) {
        return rc;
    }
    r->category = (char *)category;
    vg_reason inner;
    vg_status st = 0;
    if (status[0] != '\0' && vg_status_parse(&st, status, &inner) != VG_OK) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s: %s", where, inner.text);
    }
    r->status = (Vigil__Status)st;
    if (vg_duration_parse(&r->content_ms, content, &inner) != VG_OK || r->content_ms == 0) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s: \"content\" must be a duration > 0 such as \"30d\" (%s)", where,
                             r->content_ms == 0 ? "it is zero" : inner.text);
    }
    r->tags_ms = r->content_ms;
    if (tags[0] != '\0' && vg_duration_parse(&r->tags_ms, tags, &inner) != VG_OK) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "%s: \"tags\": %s", where, inner.text);
    }
    if (r->tags_ms < r->content_ms) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "%s: \"tags\" may not be shorter than \"content\" (tags go with "
                             "the content at the latest)",
                             where);
    }
    return VG_OK;
}

static vg_err
s_build(Vigil__NetworkDocument *d, json_t *root, s_arena *ar, vg_reason *why)
{
    static const char *const keys[] = {"network",
                                       "version",
                                       "issued",
                                       "broker",
                                       "categories",
                                       "agencies",
                                       "policy",
                                       "deadlines",
                                       "escalation",
                                       "limits",
                                       "oversight",
                                       "calendars",
                                       "category_deadlines",
                                       "repeat_deadlines",
                                       "previous_broker_keys",
                                       "key_transition",
                                       "reference_schemes",
                                       "witnessing",
                                       "retention",
                                       NULL};
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
    if (rc == VG_OK) {
        S_EACH(d, calendars, n_calendars, root, "calendars", s_calendar, ar, why, rc);
    }
    if (rc == VG_OK) {
        rc = s_all_deadlines(d, root, ar, why);
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
    if (rc == VG_OK) {
        rc = s_witnessing(&d->witnessing, root, ar, why);
    }
    if (rc == VG_OK) {
        S_EACH(d, previous_broker_keys, n_previous_broker_keys, root, "previous_broker_keys",
               s_previous_broker, ar, why, rc);
    }
    if (rc == VG_OK) {
        S_EACH(d, reference_schemes, n_reference_schemes, root, "reference_schemes", s_scheme, ar,
               why, rc);
    }
    if (rc == VG_OK) {
        S_EACH(d, retention, n_retention, root, "retention", s_retention, ar, why, rc);
    }
    for (size_t i = 0; rc == VG_OK && i < d->n_retention; i++) {
        const char *cat = d->retention[i]->category;
        bool known = cat[0] == '\0';
        for (size_t k = 0; k < d->n_categories && !known; k++) {
            known = strcmp(d->categories[k], cat) == 0;
        }
        if (!known) {
            rc = vg_reason_set(why, VG_ERR_POLICY,
                               "retention[%zu]: category \"%s\" is not one of the network's "
                               "categories",
                               i, cat);
        }
    }
    if (rc == VG_OK &&
        (rc = s_string(&s, root, "key_transition", false, "document", why)) == VG_OK) {
        d->key_transition = (char *)s;
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

/* The deadline text of a rule: "15m", "2wd", "8bh", "next-open+1h". */
static json_t *
s_unit_json(const Vigil__DeadlineRule *r)
{
    vg_deadline_rule unit;
    char text[VG_DEADLINE_RULE_TEXT_MAX] = "";
    if (vg_netdoc_rule_of(r, &unit)) {
        vg_deadline_rule_format(text, sizeof text, &unit);
    }
    return json_string(text);
}

/* The rules for `agency` ("" network-wide): those without categories into
 * a "deadlines" object, those with into a "category_deadlines" list. */
static void
s_rules_json(json_t *into, const Vigil__NetworkDocument *d, const char *agency, bool always)
{
    json_t *dl = json_object(), *cd = json_array(), *rd = json_object();
    for (size_t i = 0; i < d->n_deadlines; i++) {
        const Vigil__DeadlineRule *r = d->deadlines[i];
        if (strcmp(r->agency, agency) != 0) {
            continue;
        }
        const char *sev = vg_severity_name((vg_severity)r->severity);
        const char *urg = r->urgency ? vg_urgency_name((vg_urgency)r->urgency) : "";
        if (r->n_categories == 0) {
            char key[64];
            snprintf(key, sizeof key, "%s%s%s", sev, urg[0] ? "/" : "", urg);
            json_object_set_new(r->repeat ? rd : dl, key, s_unit_json(r));
            continue;
        }
        json_t *o = json_object();
        json_object_set_new(o, "categories", s_str_array(r->categories, r->n_categories));
        json_object_set_new(o, "severity", json_string(sev));
        if (urg[0] != '\0') {
            json_object_set_new(o, "urgency", json_string(urg));
        }
        json_object_set_new(o, "deadline", s_unit_json(r));
        json_array_append_new(cd, o);
    }
    if (always || json_object_size(dl) > 0) {
        json_object_set(into, "deadlines", dl);
    }
    if (json_array_size(cd) > 0) {
        json_object_set(into, "category_deadlines", cd);
    }
    if (json_object_size(rd) > 0) {
        json_object_set(into, "repeat_deadlines", rd);
    }
    json_decref(dl);
    json_decref(cd);
    json_decref(rd);
}

static json_t *
s_hours_json(const Vigil__AgencyCard *c)
{
    json_t *o = json_object();
    for (int w = 1; w <= 7; w++) {
        char text[VG_HOURS_SPANS_MAX * 12 + 1] = "";
        size_t n = 0;
        for (size_t j = 0; j < c->n_hours; j++) {
            const Vigil__OpeningSpan *s = c->hours[j];
            if ((int)s->weekday == w && n < sizeof text) {
                n += (size_t)snprintf(text + n, sizeof text - n, "%s%02u:%02u-%02u:%02u",
                                      n ? "," : "", s->open_min / 60, s->open_min % 60,
                                      s->close_min / 60, s->close_min % 60);
            }
        }
        if (n > 0) {
            json_object_set_new(o, vg_weekday_name(w), json_string(text));
        }
    }
    return o;
}

static json_t *
s_time_json(uint64_t ms)
{
    return json_integer((json_int_t)ms);
}

/* "compromised_at" of a key set, or NULL when nothing is marked. */
static json_t *
s_compromised_json(const Vigil__KeyCompromise *c)
{
    if (c == NULL || (c->sign_ms == 0 && c->box_ms == 0 && c->transport_ms == 0)) {
        return NULL;
    }
    json_t *o = json_object();
    if (c->sign_ms != 0) {
        json_object_set_new(o, "sign_key", s_time_json(c->sign_ms));
    }
    if (c->box_ms != 0) {
        json_object_set_new(o, "box_key", s_time_json(c->box_ms));
    }
    if (c->transport_ms != 0) {
        json_object_set_new(o, "transport_key", s_time_json(c->transport_ms));
    }
    return o;
}

static void
s_agency_keys_json(json_t *a, const Vigil__AgencyCard *c)
{
    json_t *comp = s_compromised_json(c->compromised);
    if (comp != NULL) {
        json_object_set_new(a, "compromised_at", comp);
    }
    if (c->n_previous_keys > 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < c->n_previous_keys; i++) {
            const Vigil__PreviousKeys *p = c->previous_keys[i];
            json_t *o = json_object();
            if (p->sign_key.len > 0) {
                json_object_set_new(o, "sign_key", s_hex_key(&p->sign_key));
            }
            if (p->box_key.len > 0) {
                json_object_set_new(o, "box_key", s_hex_key(&p->box_key));
            }
            if (p->transport_key.len > 0) {
                json_object_set_new(o, "transport_key", s_z85_key(&p->transport_key));
            }
            json_object_set_new(o, "rotated", s_time_json(p->rotated_ms));
            json_object_set_new(o, "valid_until", s_time_json(p->valid_until_ms));
            if ((comp = s_compromised_json(p->compromised)) != NULL) {
                json_object_set_new(o, "compromised_at", comp);
            }
            json_array_append_new(arr, o);
        }
        json_object_set_new(a, "previous_keys", arr);
    }
    if (c->successor[0] != '\0') {
        json_object_set_new(a, "successor", json_string(c->successor));
    }
}

static void
s_broker_keys_json(json_t *root, const Vigil__NetworkDocument *d)
{
    if (d->n_previous_broker_keys > 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < d->n_previous_broker_keys; i++) {
            const Vigil__PreviousBrokerKeys *p = d->previous_broker_keys[i];
            json_t *o = json_object();
            if (p->sign_key.len > 0) {
                json_object_set_new(o, "sign_key", s_hex_key(&p->sign_key));
            }
            if (p->transport_key.len > 0) {
                json_object_set_new(o, "transport_key", s_z85_key(&p->transport_key));
            }
            json_object_set_new(o, "rotated", s_time_json(p->rotated_ms));
            json_object_set_new(o, "valid_until", s_time_json(p->valid_until_ms));
            json_array_append_new(arr, o);
        }
        json_object_set_new(root, "previous_broker_keys", arr);
    }
    if (d->key_transition[0] != '\0') {
        json_object_set_new(root, "key_transition", json_string(d->key_transition));
    }
}

static json_t *
s_agency_json(const Vigil__NetworkDocument *d, const Vigil__AgencyCard *c)
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
    if (c->calendar[0] != '\0') {
        json_object_set_new(a, "calendar", json_string(c->calendar));
    }
    if (c->n_hours > 0) {
        json_object_set_new(a, "hours", s_hours_json(c));
    }
    if (c->out_of_hours_cover[0] != '\0') {
        json_object_set_new(a, "out_of_hours_cover", json_string(c->out_of_hours_cover));
    }
    s_rules_json(a, d, c->id, false);
    s_agency_keys_json(a, c);
    return a;
}

static json_t *
s_calendar_json(const Vigil__Calendar *c)
{
    json_t *o = json_object();
    char day[16];
    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "time_zone", json_string(c->time_zone));
    json_object_set_new(o, "tz_rule", json_string(c->tz_rule));
    json_t *we = json_array();
    for (size_t i = 0; i < c->n_weekend; i++) {
        const char *name = vg_weekday_name((int)c->weekend[i]);
        json_array_append_new(we, json_string(name ? name : ""));
    }
    json_object_set_new(o, "weekend", we);
    if (c->n_union_of > 0) {
        json_object_set_new(o, "union_of", s_str_array(c->union_of, c->n_union_of));
    }
    if (c->valid_until != 0) {
        vg_date_format(day, sizeof day, c->valid_until);
        json_object_set_new(o, "valid_until", json_string(day));
    }
    json_t *closed = json_array();
    for (size_t i = 0; i < c->n_closed; i++) {
        vg_date_format(day, sizeof day, c->closed[i]->date);
        if (c->closed[i]->title[0] == '\0') {
            json_array_append_new(closed, json_string(day));
            continue;
        }
        json_t *e = json_object();
        json_object_set_new(e, "date", json_string(day));
        json_object_set_new(e, "title", json_string(c->closed[i]->title));
        json_array_append_new(closed, e);
    }
    json_object_set_new(o, "closed", closed);
    return o;
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
    json_t *root = json_object();
    json_object_set_new(root, "network", json_string(d->network));
    json_object_set_new(root, "version", json_integer((json_int_t)d->version));
    json_object_set_new(root, "issued", json_integer((json_int_t)d->issued_ms));
    json_t *broker = json_object();
    json_object_set_new(broker, "sign_key", s_hex_key(&d->broker_sign_key));
    json_object_set_new(broker, "transport_key", s_z85_key(&d->broker_transport_key));
    json_object_set_new(root, "broker", broker);
    s_broker_keys_json(root, d);
    json_object_set_new(root, "categories", s_str_array(d->categories, d->n_categories));
    json_t *agencies = json_array();
    for (size_t i = 0; i < d->n_agencies; i++) {
        json_array_append_new(agencies, s_agency_json(d, d->agencies[i]));
    }
    json_object_set_new(root, "agencies", agencies);
    json_t *policy = json_array();
    for (size_t i = 0; i < d->n_policy; i++) {
        json_array_append_new(policy, s_rule_json(d->policy[i]));
    }
    json_object_set_new(root, "policy", policy);
    s_rules_json(root, d, "", true);
    json_t *esc = json_array();
    for (size_t i = 0; i < d->n_escalation; i++) {
        const Vigil__EscalationStep *s = d->escalation[i];
        json_t *o = json_object();
        char dur[32];
        vg_duration_format(dur, sizeof dur, s->after_ms);
        json_object_set_new(o, "after", json_string(s->after_ms ? dur : "0s"));
        const char *target = vg_escalation_target_name((vg_escalation_target)s->target);
        json_object_set_new(o, "target", json_string(target ? target : "unspecified"));
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
    if (d->witnessing != NULL) {
        char within[32];
        vg_duration_format(within, sizeof within, d->witnessing->within_ms);
        json_object_set_new(root, "witnessing",
                            json_pack("{s:I, s:s}", "cosignatures",
                                      (json_int_t)d->witnessing->cosignatures, "within", within));
    }
    if (d->n_calendars > 0) {
        json_t *cals = json_array();
        for (size_t i = 0; i < d->n_calendars; i++) {
            json_array_append_new(cals, s_calendar_json(d->calendars[i]));
        }
        json_object_set_new(root, "calendars", cals);
    }
    if (d->n_reference_schemes > 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < d->n_reference_schemes; i++) {
            const Vigil__ReferenceScheme *r = d->reference_schemes[i];
            json_t *o = json_object();
            json_object_set_new(o, "name", json_string(r->name));
            json_object_set_new(o, "uppercase", json_boolean(r->uppercase));
            json_object_set_new(o, "strip", json_string(r->strip));
            json_array_append_new(arr, o);
        }
        json_object_set_new(root, "reference_schemes", arr);
    }
    if (d->n_retention > 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < d->n_retention; i++) {
            const Vigil__RetentionRule *r = d->retention[i];
            json_t *o = json_object();
            char dur[32];
            if (r->status != 0) {
                json_object_set_new(o, "status", json_string(vg_status_name((vg_status)r->status)));
            }
            if (r->category[0] != '\0') {
                json_object_set_new(o, "category", json_string(r->category));
            }
            vg_duration_format(dur, sizeof dur, r->content_ms);
            json_object_set_new(o, "content", json_string(dur));
            vg_duration_format(dur, sizeof dur, r->tags_ms);
            json_object_set_new(o, "tags", json_string(dur));
            json_array_append_new(arr, o);
        }
        json_object_set_new(root, "retention", arr);
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
