/* audit_leaf.c — canonical text encoding of audit events (see audit_leaf.h). */
#include "vigil/audit_leaf.h"

#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/calendar.h"

#define S_U64_DIGITS_MAX 20
#define S_FIELDS_MAX 10
#define S_OUT_FIRST 1024 /* an encoder's first buffer; it grows up to the leaf maximum */

/* How a value is written. */
typedef enum s_type {
    S_ALERT,     /* 32 lowercase hex of alert_id */
    S_ALERT_OPT, /* the same, or empty when has_alert_id is false */
    S_NAME,      /* a name (char array member) */
    S_NAME_OPT,  /* a name, or empty */
    S_HASH,      /* 64 lowercase hex of hash */
    S_HASH_OPT,  /* the same, or empty when has_hash is false */
    S_LIST,      /* sorted comma-separated names (agencies) */
    S_ALERTS,    /* sorted comma-separated alert ids (alerts, n_alerts) */
    S_U64,       /* canonical decimal (uint64_t member) */
} s_type;

typedef struct s_field {
    const char *key; /* the leaf's key */
    s_type type;     /* value form */
    size_t off;      /* member of vg_audit_event */
} s_field;

#define S_F(k, t, m)                                                                               \
    {                                                                                              \
        k, t, offsetof(vg_audit_event, m)                                                          \
    }
static const s_field F_ALERT = S_F("alert", S_ALERT, alert_id);
static const s_field F_ALERT_OPT = S_F("alert", S_ALERT_OPT, alert_id);
static const s_field F_SENDER = S_F("sender", S_NAME, sender);
static const s_field F_CLAIMED = S_F("claimed_sender", S_NAME_OPT, sender);
static const s_field F_AGENCY = S_F("agency", S_NAME, agency);
static const s_field F_SHARER = S_F("sharer", S_NAME, agency);
static const s_field F_CODE = S_F("code", S_NAME, code);
static const s_field F_CODE_OPT = S_F("code", S_NAME_OPT, code);
static const s_field F_CHANNEL = S_F("channel", S_NAME_OPT, channel);
static const s_field F_RECIPIENT = S_F("recipient", S_HASH_OPT, hash);
static const s_field F_OUTCOME = S_F("outcome", S_NAME, outcome);
static const s_field F_ROTA = S_F("rota", S_NAME_OPT, sender); /* notified: whose rota */
static const s_field F_CALENDAR = S_F("calendar", S_NAME, target);
static const s_field F_FAILURE = S_F("failure", S_NAME, code);
static const s_field F_TRANSPORT = S_F("transport", S_NAME, transport);
static const s_field F_TARGET = S_F("target", S_NAME, target);
static const s_field F_SUCCESSOR = S_F("successor", S_NAME_OPT, target);
static const s_field F_ENVELOPE_HASH = S_F("envelope_hash", S_HASH, hash);
static const s_field F_RECEIPT_HASH = S_F("receipt_hash", S_HASH, hash);
static const s_field F_SHARE_HASH = S_F("share_hash", S_HASH, hash);
static const s_field F_DOCUMENT_HASH = S_F("document_hash", S_HASH, hash);
static const s_field F_HOLD_HASH = S_F("hold_hash", S_HASH, hash);
static const s_field F_PURGED = S_F("purged", S_NAME, code);
static const s_field F_RECIPIENTS = S_F("recipients", S_LIST, agencies);
static const s_field F_TO = S_F("to", S_LIST, agencies);
static const s_field F_ALERTS = S_F("alerts", S_ALERTS, alerts);
static const s_field F_VERSION = S_F("network_version", S_U64, version);
static const s_field F_DEADLINE = S_F("deadline_ms", S_U64, deadline_ms);
static const s_field F_LEVEL = S_F("level", S_U64, level);
static const s_field F_PENDING = S_F("pending", S_U64, pending);
static const s_field F_SIZE = S_F("size", S_U64, size);
static const s_field F_COSIGNED = S_F("cosigned", S_U64, cosigned);
static const s_field F_REQUIRED = S_F("required", S_U64, required);
static const s_field F_WITHIN = S_F("within_ms", S_U64, deadline_ms);

typedef struct s_kind_info {
    vg_audit_kind kind;                  /* the enum value */
    const char *name;                    /* as written after kind= */
    const s_field *fields[S_FIELDS_MAX]; /* in leaf order, NULL-terminated */
    bool deadlines;                      /* deadline= lines may follow */
} s_kind_info;

static const s_kind_info s_kinds[] = {
    {VG_AUDIT_ACCEPTED,
     "accepted",
     {&F_ALERT, &F_SENDER, &F_ENVELOPE_HASH, &F_RECIPIENTS, &F_VERSION},
     true},
    {VG_AUDIT_REJECTED, "rejected", {&F_CODE, &F_CLAIMED, &F_TRANSPORT, &F_ALERT_OPT}, false},
    {VG_AUDIT_DELIVERED, "delivered", {&F_AGENCY, &F_RECEIPT_HASH, &F_ALERTS}, false},
    {VG_AUDIT_ACKNOWLEDGED, "acknowledged", {&F_ALERT, &F_AGENCY, &F_RECEIPT_HASH}, false},
    {VG_AUDIT_IN_PROGRESS, "in_progress", {&F_ALERT, &F_AGENCY, &F_RECEIPT_HASH}, true},
    {VG_AUDIT_DECLINED, "declined", {&F_ALERT, &F_AGENCY, &F_RECEIPT_HASH}, false},
    {VG_AUDIT_SHARED, "shared", {&F_ALERT, &F_SHARER, &F_TO, &F_SHARE_HASH}, true},
    {VG_AUDIT_OVERDUE, "overdue", {&F_ALERT, &F_AGENCY, &F_DEADLINE}, false},
    {VG_AUDIT_ESCALATED, "escalated", {&F_ALERT, &F_AGENCY, &F_LEVEL, &F_TARGET}, false},
    {VG_AUDIT_AGENCY_OFFLINE, "agency_offline", {&F_AGENCY, &F_PENDING}, false},
    {VG_AUDIT_AGENCY_ONLINE, "agency_online", {&F_AGENCY}, false},
    {VG_AUDIT_NETWORK_CHANGED, "network_changed", {&F_VERSION, &F_DOCUMENT_HASH}, false},
    {VG_AUDIT_UNOPENABLE, "unopenable", {&F_ALERT, &F_AGENCY, &F_RECEIPT_HASH, &F_FAILURE}, false},
    {VG_AUDIT_REASSIGNED, "reassigned", {&F_ALERT, &F_AGENCY, &F_SUCCESSOR, &F_VERSION}, true},
    {VG_AUDIT_NOTIFIED,
     "notified",
     {&F_ALERT, &F_AGENCY, &F_LEVEL, &F_TARGET, &F_CHANNEL, &F_RECIPIENT, &F_OUTCOME, &F_CODE_OPT,
      &F_ROTA},
     false},
    {VG_AUDIT_NETWORK_WARNING, "network_warning", {&F_CODE, &F_CALENDAR, &F_VERSION}, false},
    {VG_AUDIT_LINKED, "linked", {&F_ALERT, &F_ALERTS}, false},
    {VG_AUDIT_UNWITNESSED,
     "unwitnessed",
     {&F_SIZE, &F_COSIGNED, &F_REQUIRED, &F_WITHIN, &F_VERSION},
     false},
    {VG_AUDIT_PURGED, "purged", {&F_ALERT, &F_ENVELOPE_HASH, &F_PURGED}, false},
    {VG_AUDIT_HELD, "held", {&F_ALERT, &F_HOLD_HASH}, false},
    {VG_AUDIT_RELEASED, "released", {&F_ALERT, &F_HOLD_HASH}, false},
};
#define S_N_KINDS (sizeof s_kinds / sizeof s_kinds[0])

static const s_kind_info *
s_kind(vg_audit_kind kind)
{
    for (size_t i = 0; i < S_N_KINDS; i++) {
        if (s_kinds[i].kind == kind) {
            return &s_kinds[i];
        }
    }
    return NULL;
}

void
vg_audit_unwitnessed_detail(char *out, size_t len, const vg_audit_event *ev)
{
    char within[32];
    vg_duration_format(within, sizeof within, ev->deadline_ms);
    snprintf(out, len, "size=%llu cosigned=%llu required=%llu within=%s",
             (unsigned long long)ev->size, (unsigned long long)ev->cosigned,
             (unsigned long long)ev->required, within);
}

const char *
vg_audit_kind_name(vg_audit_kind kind)
{
    const s_kind_info *k = s_kind(kind);
    return k ? k->name : NULL;
}

/* Names: 1..VG_AUDIT_NAME_MAX-1 printable ASCII, no space, no comma. */
static bool
s_name_ok(const char *s, size_t len)
{
    if (len == 0 || len >= VG_AUDIT_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e || c == ',') {
            return false;
        }
    }
    return true;
}

bool
vg_audit_event_names(const vg_audit_event *ev, const uint8_t id[VG_ALERT_ID_LEN])
{
    if (ev->has_alert_id && memcmp(ev->alert_id, id, VG_ALERT_ID_LEN) == 0) {
        return true;
    }
    for (size_t i = 0; i < ev->n_alerts; i++) {
        if (memcmp(ev->alerts[i], id, VG_ALERT_ID_LEN) == 0) {
            return true;
        }
    }
    return false;
}

void
vg_audit_event_fini(vg_audit_event *ev)
{
    if (ev != NULL) {
        vg_strlist_fini(&ev->agencies);
        free(ev->alerts);
        free(ev->deadlines);
        memset(ev, 0, sizeof *ev);
    }
}

vg_err
vg_audit_event_add_deadline(vg_audit_event *ev, const vg_audit_deadline *d)
{
    if (ev->n_deadlines >= VG_AUDIT_DEADLINES_MAX) {
        return VG_ERR_INVALID;
    }
    vg_audit_deadline *n = realloc(ev->deadlines, (ev->n_deadlines + 1) * sizeof *n);
    if (n == NULL) {
        return VG_ERR_NOMEM;
    }
    n[ev->n_deadlines++] = *d;
    ev->deadlines = n;
    return VG_OK;
}

const vg_audit_deadline *
vg_audit_event_deadline(const vg_audit_event *ev, const char *agency)
{
    for (size_t i = 0; i < ev->n_deadlines; i++) {
        if (strcmp(ev->deadlines[i].agency, agency) == 0) {
            return &ev->deadlines[i];
        }
    }
    return NULL;
}

/* ---- encoding ------------------------------------------------------------------ */

/* An output buffer that grows up to VG_AUDIT_LEAF_MAX_BYTES. */
typedef struct s_out {
    char *buf;  /* malloc'ed */
    size_t len; /* bytes written */
    size_t cap; /* bytes allocated */
    bool full;  /* a write did not fit */
    bool nomem; /* the buffer could not grow */
} s_out;

static void
s_put(s_out *o, const char *key, const char *value, size_t value_len)
{
    size_t need = strlen(key) + 1 + value_len + 1;
    if (o->full || o->nomem || need > VG_AUDIT_LEAF_MAX_BYTES - o->len) {
        o->full = !o->nomem;
        return;
    }
    if (o->len + need + 1 > o->cap) {
        size_t cap = o->cap;
        while (cap < o->len + need + 1) {
            cap *= 2;
        }
        cap = cap > VG_AUDIT_LEAF_MAX_BYTES + 1 ? VG_AUDIT_LEAF_MAX_BYTES + 1 : cap;
        char *b = realloc(o->buf, cap);
        if (b == NULL) {
            o->nomem = true;
            return;
        }
        o->buf = b;
        o->cap = cap;
    }
    o->len +=
        (size_t)snprintf(o->buf + o->len, o->cap - o->len, "%s=%.*s\n", key, (int)value_len, value);
}

static int
s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Writes a list sorted, refusing empty lists, bad names and duplicates.
 * On the heap: a list may name VG_AUDIT_LIST_MAX agencies. */
static vg_err
s_put_list(s_out *o, const s_field *f, const vg_strlist *l, vg_reason *why)
{
    if (l->n == 0 || l->n > VG_AUDIT_LIST_MAX) {
        return vg_reason_set(why, VG_ERR_INVALID, "audit leaf: %s must list 1-%d agencies", f->key,
                             VG_AUDIT_LIST_MAX);
    }
    const char **sorted = malloc(l->n * sizeof *sorted);
    char *value = malloc(l->n * VG_AUDIT_NAME_MAX);
    vg_err rc = sorted != NULL && value != NULL ? VG_OK : VG_ERR_NOMEM;
    size_t len = 0;
    if (rc == VG_OK) {
        memcpy(sorted, l->items, l->n * sizeof sorted[0]);
        qsort(sorted, l->n, sizeof sorted[0], s_cmp_str);
    }
    for (size_t i = 0; rc == VG_OK && i < l->n; i++) {
        size_t n = strlen(sorted[i]);
        if (!s_name_ok(sorted[i], n) || (i > 0 && strcmp(sorted[i - 1], sorted[i]) == 0)) {
            rc = vg_reason_set(why, VG_ERR_INVALID,
                               "audit leaf: %s item '%.63s' is invalid or repeated", f->key,
                               sorted[i]);
            break;
        }
        if (i > 0) {
            value[len++] = ',';
        }
        memcpy(value + len, sorted[i], n);
        len += n;
    }
    if (rc == VG_OK) {
        s_put(o, f->key, value, len);
    }
    free(sorted);
    free(value);
    return rc;
}

static int
s_cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, VG_ALERT_ID_LEN);
}

/* Writes alert ids sorted, refusing an empty or oversized list and duplicates. */
static vg_err
s_put_alerts(s_out *o, const s_field *f, const vg_audit_event *ev, vg_reason *why)
{
    size_t n = ev->n_alerts;
    if (n == 0 || n > VG_AUDIT_ALERTS_MAX || ev->alerts == NULL) {
        return vg_reason_set(why, VG_ERR_INVALID, "audit leaf: %s must list 1-%d alerts", f->key,
                             VG_AUDIT_ALERTS_MAX);
    }
    uint8_t(*sorted)[VG_ALERT_ID_LEN] = malloc(n * sizeof *sorted);
    char *value = malloc(n * (2 * VG_ALERT_ID_LEN + 1));
    vg_err rc = sorted && value ? VG_OK : VG_ERR_NOMEM;
    size_t len = 0;
    if (rc == VG_OK) {
        memcpy(sorted, ev->alerts, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, s_cmp_id);
    }
    for (size_t i = 0; i < n && rc == VG_OK; i++) {
        if (i > 0 && memcmp(sorted[i - 1], sorted[i], VG_ALERT_ID_LEN) == 0) {
            rc = vg_reason_set(why, VG_ERR_INVALID, "audit leaf: %s lists an alert twice", f->key);
            break;
        }
        if (i > 0) {
            value[len++] = ',';
        }
        vg_hex_encode(value + len, 2 * VG_ALERT_ID_LEN + 1, sorted[i], VG_ALERT_ID_LEN);
        len += 2 * VG_ALERT_ID_LEN;
    }
    if (rc == VG_OK) {
        s_put(o, f->key, value, len);
    }
    free(sorted);
    free(value);
    return rc;
}

/* ---- deadline= lines ------------------------------------------------------------ */

static const struct {
    unsigned bit;     /* VG_DLW_* */
    const char *name; /* as written */
} s_warnings[] = {{VG_DLW_PAST_VALID_UNTIL, "past_valid_until"},
                  {VG_DLW_NO_CALENDAR, "no_calendar"},
                  {VG_DLW_NO_HOURS, "no_hours"}};
#define S_N_WARNINGS (sizeof s_warnings / sizeof s_warnings[0])
#define S_DEADLINE_LINE_MAX 512 /* one deadline= value, at most */

/* A rule in its canonical text ("1wd", "next-open+1h", "15m"). */
static bool
s_rule_ok(const char *text)
{
    vg_deadline_rule rule;
    char again[VG_DEADLINE_RULE_TEXT_MAX];
    vg_reason why;
    if (strlen(text) >= sizeof again || vg_deadline_rule_parse(&rule, text, &why) != VG_OK) {
        return false;
    }
    vg_deadline_rule_format(again, sizeof again, &rule);
    return strcmp(again, text) == 0;
}

static bool
s_deadline_ok(const vg_audit_deadline *d)
{
    bool cal = d->calendar[0] != '\0';
    static const uint8_t zero[VG_HASH_LEN];
    return s_name_ok(d->agency, strnlen(d->agency, VG_AUDIT_NAME_MAX)) && s_rule_ok(d->rule) &&
           d->rule_no > 0 && d->network_version > 0 &&
           (!cal || s_name_ok(d->calendar, strnlen(d->calendar, VG_AUDIT_NAME_MAX))) &&
           (cal || memcmp(d->calendar_version, zero, VG_HASH_LEN) == 0) &&
           (d->warnings &
            ~(unsigned)(VG_DLW_PAST_VALID_UNTIL | VG_DLW_NO_CALENDAR | VG_DLW_NO_HOURS)) == 0 &&
           (d->cover_for[0] == '\0' ||
            s_name_ok(d->cover_for, strnlen(d->cover_for, VG_AUDIT_NAME_MAX)));
}

/* One deadline's value, as the line carries it; its length. */
static size_t
s_deadline_text(char out[S_DEADLINE_LINE_MAX], const vg_audit_deadline *d)
{
    char version[2 * VG_HASH_LEN + 1] = "", warnings[64] = "";
    if (d->calendar[0] != '\0') {
        vg_hex_encode(version, sizeof version, d->calendar_version, VG_HASH_LEN);
    }
    size_t wl = 0;
    for (size_t i = 0; i < S_N_WARNINGS; i++) {
        if (d->warnings & s_warnings[i].bit) {
            wl += (size_t)snprintf(warnings + wl, sizeof warnings - wl, "%s%s", wl ? "+" : "",
                                   s_warnings[i].name);
        }
    }
    int n = snprintf(out, S_DEADLINE_LINE_MAX, "%s,%llu,%llu,%s,%llu,%llu,%s,%s,%s,%s", d->agency,
                     (unsigned long long)d->from_ms, (unsigned long long)d->deadline_ms, d->rule,
                     (unsigned long long)d->network_version, (unsigned long long)d->rule_no,
                     d->calendar, version, warnings, d->cover_for);
    return n < 0 ? 0 : (size_t)n;
}

static int
s_cmp_deadline(const void *a, const void *b)
{
    return strcmp(((const vg_audit_deadline *)a)->agency, ((const vg_audit_deadline *)b)->agency);
}

/* Writes ev's deadlines sorted by agency, refusing a bad or repeated one. */
static vg_err
s_put_deadlines(s_out *o, const vg_audit_event *ev, vg_reason *why)
{
    size_t n = ev->n_deadlines;
    if (n > VG_AUDIT_DEADLINES_MAX) {
        return vg_reason_set(why, VG_ERR_INVALID, "audit leaf: more than %d deadlines",
                             VG_AUDIT_DEADLINES_MAX);
    }
    vg_audit_deadline *sorted = malloc(n * sizeof *sorted);
    if (sorted == NULL) {
        return VG_ERR_NOMEM;
    }
    memcpy(sorted, ev->deadlines, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, s_cmp_deadline);
    vg_err rc = VG_OK;
    for (size_t i = 0; i < n && rc == VG_OK; i++) {
        if (!s_deadline_ok(&sorted[i]) ||
            (i > 0 && strcmp(sorted[i - 1].agency, sorted[i].agency) == 0)) {
            rc = vg_reason_set(why, VG_ERR_INVALID,
                               "audit leaf: deadline for '%.63s' is invalid or repeated",
                               sorted[i].agency);
            break;
        }
        char text[S_DEADLINE_LINE_MAX];
        s_put(o, "deadline", text, s_deadline_text(text, &sorted[i]));
    }
    free(sorted);
    return rc;
}

static vg_err
s_put_field(s_out *o, const s_field *f, const vg_audit_event *ev, vg_reason *why)
{
    const char *member = (const char *)ev + f->off;
    char text[2 * VG_HASH_LEN + 1];
    size_t n;
    switch (f->type) {
    case S_ALERT:
    case S_ALERT_OPT:
        if (!ev->has_alert_id && f->type == S_ALERT) {
            return vg_reason_set(why, VG_ERR_INVALID, "audit leaf: alert id missing");
        }
        vg_hex_encode(text, sizeof text, ev->alert_id, VG_ALERT_ID_LEN);
        s_put(o, f->key, text, ev->has_alert_id ? 2 * VG_ALERT_ID_LEN : 0);
        return VG_OK;
    case S_NAME:
    case S_NAME_OPT:
        n = strnlen(member, VG_AUDIT_NAME_MAX);
        if (!(n == 0 && f->type == S_NAME_OPT) && !s_name_ok(member, n)) {
            return vg_reason_set(why, VG_ERR_INVALID,
                                 "audit leaf: %s must be 1-%d printable characters without "
                                 "spaces or commas",
                                 f->key, VG_AUDIT_NAME_MAX - 1);
        }
        s_put(o, f->key, member, n);
        return VG_OK;
    case S_HASH:
    case S_HASH_OPT:
        vg_hex_encode(text, sizeof text, ev->hash, VG_HASH_LEN);
        s_put(o, f->key, text, f->type == S_HASH || ev->has_hash ? 2 * VG_HASH_LEN : 0);
        return VG_OK;
    case S_LIST:
        return s_put_list(o, f, (const vg_strlist *)(const void *)member, why);
    case S_ALERTS:
        return s_put_alerts(o, f, ev, why);
    case S_U64:
        n = (size_t)snprintf(text, sizeof text, "%llu",
                             (unsigned long long)*(const uint64_t *)(const void *)member);
        s_put(o, f->key, text, n);
        return VG_OK;
    }
    return VG_ERR_INTERNAL;
}

vg_err
vg_audit_leaf_encode(uint8_t **out, size_t *out_len, const vg_audit_event *ev, vg_reason *why)
{
    const s_kind_info *k = s_kind(ev->kind);
    if (k == NULL) {
        return vg_reason_set(why, VG_ERR_INVALID, "audit leaf: unknown kind %d", (int)ev->kind);
    }
    s_out o = {.buf = malloc(S_OUT_FIRST), .cap = S_OUT_FIRST};
    if (o.buf == NULL) {
        return VG_ERR_NOMEM;
    }
    char num[S_U64_DIGITS_MAX + 1];
    o.len = (size_t)snprintf(o.buf, o.cap, "%s\n", VG_AUDIT_LEAF_MAGIC);
    int n = snprintf(num, sizeof num, "%llu", (unsigned long long)ev->index);
    s_put(&o, "index", num, (size_t)n);
    s_put(&o, "kind", k->name, strlen(k->name));
    n = snprintf(num, sizeof num, "%llu", (unsigned long long)ev->time_ms);
    s_put(&o, "time_ms", num, (size_t)n);
    vg_err rc = VG_OK;
    for (size_t i = 0; i < S_FIELDS_MAX && k->fields[i] != NULL && rc == VG_OK; i++) {
        rc = s_put_field(&o, k->fields[i], ev, why);
    }
    if (rc == VG_OK && ev->n_deadlines > 0) {
        rc = k->deadlines ? s_put_deadlines(&o, ev, why)
                          : vg_reason_set(why, VG_ERR_INVALID,
                                          "audit leaf: a %s leaf records no deadlines", k->name);
    }
    if (rc == VG_OK && o.nomem) {
        rc = VG_ERR_NOMEM;
    }
    if (rc == VG_OK && o.full) {
        rc =
            vg_reason_set(why, VG_ERR_INVALID, "audit leaf over %d bytes", VG_AUDIT_LEAF_MAX_BYTES);
    }
    if (rc != VG_OK) {
        free(o.buf);
        return rc;
    }
    *out = (uint8_t *)o.buf;
    *out_len = o.len;
    return VG_OK;
}

/* ---- parsing --------------------------------------------------------------------- */

/* A cursor over the leaf's lines. */
typedef struct s_in {
    const char *p;   /* next line */
    const char *end; /* end of the leaf */
    int lineno;      /* of the line last taken, from 1 */
} s_in;

/* Takes the next line, which must be "key=value\n"; sets *value, *len. */
static vg_err
s_take(s_in *in, const char *key, const char **value, size_t *len, vg_reason *why)
{
    in->lineno++;
    const char *nl = in->p < in->end ? memchr(in->p, '\n', (size_t)(in->end - in->p)) : NULL;
    size_t klen = strlen(key);
    if (nl == NULL) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "audit leaf line %d: missing (expected %s=)",
                             in->lineno, key);
    }
    if ((size_t)(nl - in->p) <= klen || memcmp(in->p, key, klen) != 0 || in->p[klen] != '=') {
        if ((size_t)(nl - in->p) == klen && memcmp(in->p, key, klen) == 0) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "audit leaf line %d: expected %s=", in->lineno, key);
        }
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "audit leaf line %d: expected %s= (unknown key or wrong order)",
                             in->lineno, key);
    }
    *value = in->p + klen + 1;
    *len = (size_t)(nl - *value);
    in->p = nl + 1;
    return VG_OK;
}

static bool
s_parse_u64(uint64_t *out, const char *s, size_t len)
{
    if (len == 0 || len > S_U64_DIGITS_MAX || (len > 1 && s[0] == '0')) {
        return false;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Exactly 2 * n lowercase hex digits. */
static bool
s_parse_hex(uint8_t *out, size_t n, const char *s, size_t len)
{
    char buf[2 * VG_HASH_LEN + 1];
    if (len != 2 * n || len >= sizeof buf) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    return vg_hex_decode(out, n, buf) == VG_OK;
}

/* Sorted, duplicate-free, non-empty comma-separated names. */
static vg_err
s_parse_list(vg_strlist *out, const char *s, size_t len, const s_in *in, vg_reason *why)
{
    char prev[VG_AUDIT_NAME_MAX] = "";
    const char *end = s + len;
    for (const char *p = s; p <= end;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        char item[VG_AUDIT_NAME_MAX];
        size_t n = (size_t)(stop - p);
        if (!s_name_ok(p, n) || out->n >= VG_AUDIT_LIST_MAX) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "audit leaf line %d: list item %zu is empty or invalid, or the "
                                 "list is too long",
                                 in->lineno, out->n + 1);
        }
        memcpy(item, p, n);
        item[n] = '\0';
        if (out->n > 0 && strcmp(prev, item) >= 0) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "audit leaf line %d: list not sorted or has duplicates",
                                 in->lineno);
        }
        if (vg_strlist_add(out, item) != VG_OK) {
            return VG_ERR_NOMEM;
        }
        memcpy(prev, item, n + 1);
        p = stop + 1;
    }
    return VG_OK;
}

/* Strictly increasing, non-empty comma-separated alert ids. */
static vg_err
s_parse_alerts(vg_audit_event *ev, const char *s, size_t len, const s_in *in, vg_reason *why)
{
    size_t item = 2 * VG_ALERT_ID_LEN;
    size_t n = (len + 1) / (item + 1);
    if (n == 0 || n > VG_AUDIT_ALERTS_MAX || n * (item + 1) != len + 1) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "audit leaf line %d: alerts must list 1-%d alert ids", in->lineno,
                             VG_AUDIT_ALERTS_MAX);
    }
    if ((ev->alerts = malloc(n * sizeof *ev->alerts)) == NULL) {
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const char *p = s + i * (item + 1);
        if ((i + 1 < n && p[item] != ',') ||
            !s_parse_hex(ev->alerts[i], VG_ALERT_ID_LEN, p, item)) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "audit leaf line %d: alert %zu is not 32 lowercase hex digits",
                                 in->lineno, i + 1);
        }
        ev->n_alerts = i + 1;
        if (i > 0 && memcmp(ev->alerts[i - 1], ev->alerts[i], VG_ALERT_ID_LEN) >= 0) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "audit leaf line %d: alerts not sorted or has duplicates",
                                 in->lineno);
        }
    }
    return VG_OK;
}

static vg_err
s_take_field(s_in *in, const s_field *f, vg_audit_event *ev, vg_reason *why)
{
    const char *v = NULL;
    size_t len = 0;
    vg_err rc = s_take(in, f->key, &v, &len, why);
    if (rc != VG_OK) {
        return rc;
    }
    char *member = (char *)ev + f->off;
    bool ok = false;
    switch (f->type) {
    case S_ALERT_OPT:
    case S_ALERT:
        ev->has_alert_id = len > 0;
        ok = (len == 0 && f->type == S_ALERT_OPT) ||
             s_parse_hex(ev->alert_id, VG_ALERT_ID_LEN, v, len);
        break;
    case S_NAME_OPT:
    case S_NAME:
        ok = (len == 0 && f->type == S_NAME_OPT) || s_name_ok(v, len);
        if (ok) {
            memcpy(member, v, len);
            member[len] = '\0';
        }
        break;
    case S_HASH:
        ok = s_parse_hex(ev->hash, VG_HASH_LEN, v, len);
        break;
    case S_HASH_OPT:
        ev->has_hash = len > 0;
        ok = len == 0 || s_parse_hex(ev->hash, VG_HASH_LEN, v, len);
        break;
    case S_LIST:
        return s_parse_list((vg_strlist *)(void *)member, v, len, in, why);
    case S_ALERTS:
        return s_parse_alerts(ev, v, len, in, why);
    case S_U64:
        ok = s_parse_u64((uint64_t *)(void *)member, v, len);
        break;
    }
    if (!ok) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "audit leaf line %d: invalid value for %s",
                             in->lineno, f->key);
    }
    return VG_OK;
}

/* Splits s (len bytes) at commas into exactly n fields. */
static bool
s_split(const char *s, size_t len, const char **f, size_t *flen, size_t n)
{
    const char *end = s + len;
    for (size_t i = 0; i < n; i++) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        if ((comma == NULL) != (i + 1 == n)) {
            return false;
        }
        f[i] = s;
        flen[i] = (size_t)((comma ? comma : end) - s);
        s = comma ? comma + 1 : end;
    }
    return true;
}

/* Copies a field of up to VG_AUDIT_NAME_MAX - 1 bytes into out. */
static bool
s_copy(char out[VG_AUDIT_NAME_MAX], const char *v, size_t len)
{
    if (len >= VG_AUDIT_NAME_MAX) {
        return false;
    }
    memcpy(out, v, len);
    out[len] = '\0';
    return strlen(out) == len;
}

static bool
s_parse_warnings(unsigned *out, const char *v, size_t len)
{
    char text[64];
    if (len >= sizeof text) {
        return false;
    }
    memcpy(text, v, len);
    text[len] = '\0';
    *out = 0;
    size_t pos = 0;
    for (size_t i = 0; i < S_N_WARNINGS && pos < len; i++) {
        size_t n = strlen(s_warnings[i].name);
        if (strncmp(text + pos, s_warnings[i].name, n) == 0 &&
            (text[pos + n] == '\0' || text[pos + n] == '+')) {
            *out |= s_warnings[i].bit;
            pos += n + (text[pos + n] == '+');
        }
    }
    return pos == len && (len == 0 || text[len - 1] != '+');
}

/* One "deadline=" line: parsed strictly (it must be what the encoder writes
 * for the values it holds) and appended to ev in order. */
static vg_err
s_take_deadline(s_in *in, vg_audit_event *ev, vg_reason *why)
{
    const char *v = NULL;
    size_t len = 0;
    vg_err rc = s_take(in, "deadline", &v, &len, why);
    if (rc != VG_OK) {
        return rc;
    }
    const char *f[10];
    size_t fl[10];
    vg_audit_deadline d;
    memset(&d, 0, sizeof d);
    bool ok = len < S_DEADLINE_LINE_MAX && s_split(v, len, f, fl, 10) &&
              s_copy(d.agency, f[0], fl[0]) && s_parse_u64(&d.from_ms, f[1], fl[1]) &&
              s_parse_u64(&d.deadline_ms, f[2], fl[2]) && s_copy(d.rule, f[3], fl[3]) &&
              s_parse_u64(&d.network_version, f[4], fl[4]) &&
              s_parse_u64(&d.rule_no, f[5], fl[5]) && s_copy(d.calendar, f[6], fl[6]) &&
              (fl[7] == 0 || s_parse_hex(d.calendar_version, VG_HASH_LEN, f[7], fl[7])) &&
              (fl[6] == 0) == (fl[7] == 0) && s_parse_warnings(&d.warnings, f[8], fl[8]) &&
              s_copy(d.cover_for, f[9], fl[9]) && s_deadline_ok(&d);
    char again[S_DEADLINE_LINE_MAX];
    if (ok) { /* one encoding per deadline */
        ok = s_deadline_text(again, &d) == len && memcmp(again, v, len) == 0;
    }
    if (ok && ev->n_deadlines > 0) {
        ok = strcmp(ev->deadlines[ev->n_deadlines - 1].agency, d.agency) < 0;
    }
    if (!ok) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "audit leaf line %d: invalid deadline, or not sorted by agency",
                             in->lineno);
    }
    return vg_audit_event_add_deadline(ev, &d) == VG_OK
               ? VG_OK
               : vg_reason_set(why, VG_ERR_MALFORMED, "audit leaf line %d: too many deadlines",
                               in->lineno);
}

/* The magic line and index, kind, time_ms; *kind_out is the kind's table row. */
static vg_err
s_take_header(s_in *in, vg_audit_event *ev, const s_kind_info **kind_out, vg_reason *why)
{
    size_t mlen = strlen(VG_AUDIT_LEAF_MAGIC);
    in->lineno = 1;
    if ((size_t)(in->end - in->p) <= mlen || memcmp(in->p, VG_AUDIT_LEAF_MAGIC, mlen) != 0 ||
        in->p[mlen] != '\n') {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "audit leaf line 1: expected '" VG_AUDIT_LEAF_MAGIC "'");
    }
    in->p += mlen + 1;
    static const s_field index = S_F("index", S_U64, index);
    static const s_field time = S_F("time_ms", S_U64, time_ms);
    vg_err rc = s_take_field(in, &index, ev, why);
    const char *v = NULL;
    size_t len = 0;
    if (rc == VG_OK) {
        rc = s_take(in, "kind", &v, &len, why);
    }
    if (rc != VG_OK) {
        return rc;
    }
    const s_kind_info *k = NULL;
    for (size_t i = 0; i < S_N_KINDS && k == NULL; i++) {
        if (strlen(s_kinds[i].name) == len && memcmp(s_kinds[i].name, v, len) == 0) {
            k = &s_kinds[i];
        }
    }
    if (k == NULL) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "audit leaf line %d: unknown kind", in->lineno);
    }
    ev->kind = k->kind;
    *kind_out = k;
    return s_take_field(in, &time, ev, why);
}

vg_err
vg_audit_leaf_parse(vg_audit_event *out, const uint8_t *leaf, size_t len, vg_reason *why)
{
    if (len > VG_AUDIT_LEAF_MAX_BYTES) {
        return vg_reason_set(why, VG_ERR_TOO_LARGE, "audit leaf of %zu bytes is over %d", len,
                             VG_AUDIT_LEAF_MAX_BYTES);
    }
    vg_audit_event ev = {0};
    s_in in = {.p = (const char *)leaf, .end = (const char *)leaf + len};
    const s_kind_info *k = NULL;
    vg_err rc = s_take_header(&in, &ev, &k, why);
    for (size_t i = 0; rc == VG_OK && i < S_FIELDS_MAX && k->fields[i] != NULL; i++) {
        rc = s_take_field(&in, k->fields[i], &ev, why);
    }
    static const char dl_key[] = "deadline=";
    while (rc == VG_OK && k->deadlines && (size_t)(in.end - in.p) > strlen(dl_key) &&
           memcmp(in.p, dl_key, strlen(dl_key)) == 0) {
        rc = s_take_deadline(&in, &ev, why);
    }
    if (rc == VG_OK && in.p != in.end) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED,
                           "audit leaf: unexpected data after line %d (unknown key or extra "
                           "line)",
                           in.lineno);
    }
    if (rc != VG_OK) {
        vg_audit_event_fini(&ev);
        return rc;
    }
    *out = ev;
    return VG_OK;
}
