/* wire.c — names of the vg_ enums, hashing, alert ids. */
#include "vigil/wire.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "vigil.pb-c.h"
#include "vigil/util.h"

/* The vg_ enums mirror proto/vigil.proto value for value. */
_Static_assert((int)VG_STATUS_DRAFT == (int)VIGIL__STATUS__STATUS_DRAFT, "status");
_Static_assert((int)VG_MSG_ERROR == (int)VIGIL__MSG_TYPE__MSG_TYPE_ERROR, "msg type");
_Static_assert((int)VG_SEV_CRITICAL == (int)VIGIL__SEVERITY__SEVERITY_CRITICAL, "severity");
_Static_assert((int)VG_URG_IMMEDIATE == (int)VIGIL__URGENCY__URGENCY_IMMEDIATE, "urgency");
_Static_assert((int)VG_CERT_OBSERVED == (int)VIGIL__CERTAINTY__CERTAINTY_OBSERVED, "certainty");
_Static_assert((int)VG_RECEIPT_UNOPENABLE == (int)VIGIL__RECEIPT_KIND__RECEIPT_UNOPENABLE,
               "receipt kind");
_Static_assert((int)VG_OPEN_STALE_DOCUMENT == (int)VIGIL__OPEN_FAILURE__OPEN_FAILURE_STALE_DOCUMENT,
               "open failure");

static const char *const s_status[] = {"unspecified", "actual", "exercise",
                                       "test",        "system", "draft"};
static const char *const s_msg_type[] = {"unspecified", "alert", "update",
                                         "cancel",      "ack",   "error"};
static const char *const s_severity[] = {"unspecified", "low", "medium", "high", "critical"};
static const char *const s_urgency[] = {"unspecified", "unknown",  "past",
                                        "future",      "expected", "immediate"};
static const char *const s_certainty[] = {"unspecified", "unknown", "unlikely",
                                          "possible",    "likely",  "observed"};
static const char *const s_receipt[] = {"unspecified", "delivered", "acknowledged",
                                        "in_progress", "declined",  "unopenable"};
static const char *const s_open_failure[] = {"unspecified", "bad_key", "bad_commitment",
                                             "undecryptable", "stale_document"};

#define S_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *
s_name(const char *const *names, size_t n, int v)
{
    return (v >= 0 && (size_t)v < n) ? names[v] : "unspecified";
}

/* Accepts names[1..n-1]; index 0 ("unspecified") is never valid input. */
static vg_err
s_parse(int *out, const char *const *names, size_t n, const char *what, const char *s,
        vg_reason *why)
{
    for (size_t i = 1; i < n; i++) {
        if (s != NULL && strcasecmp(s, names[i]) == 0) {
            *out = (int)i;
            return VG_OK;
        }
    }
    char accepted[256] = "";
    size_t used = 0;
    for (size_t i = 1; i < n && used < sizeof accepted; i++) {
        int w =
            snprintf(accepted + used, sizeof accepted - used, "%s%s", i > 1 ? ", " : "", names[i]);
        if (w < 0) {
            break;
        }
        used += (size_t)w;
    }
    return vg_reason_set(why, VG_ERR_MALFORMED, "unknown %s '%s': use one of %s", what, s ? s : "",
                         accepted);
}

#define S_ENUM_FUNCS(type, fname, table, what)                                                     \
    const char *vg_##fname##_name(type v)                                                          \
    {                                                                                              \
        return s_name(table, S_COUNT(table), (int)v);                                              \
    }                                                                                              \
    vg_err vg_##fname##_parse(type *out, const char *s, vg_reason *why)                            \
    {                                                                                              \
        int v = 0;                                                                                 \
        vg_err rc = s_parse(&v, table, S_COUNT(table), what, s, why);                              \
        if (rc == VG_OK) {                                                                         \
            *out = (type)v;                                                                        \
        }                                                                                          \
        return rc;                                                                                 \
    }

S_ENUM_FUNCS(vg_status, status, s_status, "status")
S_ENUM_FUNCS(vg_msg_type, msg_type, s_msg_type, "message type")
S_ENUM_FUNCS(vg_severity, severity, s_severity, "severity")
S_ENUM_FUNCS(vg_urgency, urgency, s_urgency, "urgency")
S_ENUM_FUNCS(vg_certainty, certainty, s_certainty, "certainty")

const char *
vg_receipt_kind_name(vg_receipt_kind v)
{
    return s_name(s_receipt, S_COUNT(s_receipt), (int)v);
}

const char *
vg_open_failure_name(vg_open_failure v)
{
    return s_name(s_open_failure, S_COUNT(s_open_failure), (int)v);
}

vg_open_failure
vg_open_failure_of(vg_err err, uint64_t sealed_version, uint64_t held_version)
{
    switch (err) {
    case VG_ERR_UNSEAL:
        return sealed_version < held_version ? VG_OPEN_STALE_DOCUMENT : VG_OPEN_BAD_KEY;
    case VG_ERR_COMMITMENT:
        return VG_OPEN_BAD_COMMITMENT;
    case VG_ERR_DECRYPT:
    case VG_ERR_MALFORMED:
        return VG_OPEN_UNDECRYPTABLE;
    default:
        return VG_OPEN_UNSPECIFIED;
    }
}

void
vg_hash(uint8_t out[VG_HASH_LEN], const uint8_t *data, size_t len)
{
    crypto_generichash(out, VG_HASH_LEN, data, len, NULL, 0);
}

void
vg_alert_id_hex(char out[VG_ALERT_ID_HEX_LEN + 1], const uint8_t id[VG_ALERT_ID_LEN])
{
    vg_hex_encode(out, VG_ALERT_ID_HEX_LEN + 1, id, VG_ALERT_ID_LEN);
}

vg_err
vg_alert_id_parse(uint8_t out[VG_ALERT_ID_LEN], const char *hex, vg_reason *why)
{
    if (vg_hex_decode(out, VG_ALERT_ID_LEN, hex) != VG_OK) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "alert id '%s' must be 32 hexadecimal characters", hex ? hex : "");
    }
    return VG_OK;
}

/* Indexed by RejectCode (proto/vigil.proto); never reordered. */
static const vg_err s_reject_errs[] = {
    VG_ERR_INTERNAL,           /* REJECT_UNSPECIFIED */
    VG_ERR_BAD_SIGNATURE,      /* REJECT_BAD_SIGNATURE */
    VG_ERR_UNKNOWN_SENDER,     /* REJECT_UNKNOWN_SENDER */
    VG_ERR_SENDER_MISMATCH,    /* REJECT_SENDER_MISMATCH */
    VG_ERR_REPLAY,             /* REJECT_REPLAY */
    VG_ERR_CLOCK_SKEW,         /* REJECT_CLOCK_SKEW */
    VG_ERR_MISSING_RECIPIENTS, /* REJECT_MISSING_RECIPIENTS */
    VG_ERR_CONFLICT,           /* REJECT_CONFLICT */
    VG_ERR_TOO_LARGE,          /* REJECT_TOO_LARGE */
    VG_ERR_MALFORMED,          /* REJECT_MALFORMED */
    VG_ERR_STORAGE_FULL,       /* REJECT_STORAGE_FULL */
    VG_ERR_NOT_RECIPIENT,      /* REJECT_NOT_RECIPIENT */
    VG_ERR_UNKNOWN_ALERT,      /* REJECT_UNKNOWN_ALERT */
    VG_ERR_STALE_VERSION,      /* REJECT_STALE_NETWORK */
    VG_ERR_INTERNAL,           /* REJECT_INTERNAL */
    VG_ERR_NOT_FOUND,          /* REJECT_NOT_FOUND */
    VG_ERR_RATE_LIMITED,       /* REJECT_RATE_LIMITED */
    VG_ERR_QUOTA_EXCEEDED,     /* REJECT_QUOTA_EXCEEDED */
    VG_ERR_REVOKED,            /* REJECT_REVOKED */
    VG_ERR_KEY_COMPROMISED,    /* REJECT_KEY_COMPROMISED */
    VG_ERR_NOT_LEADER,         /* REJECT_NOT_LEADER */
};

#define S_N_REJECT ((int)S_COUNT(s_reject_errs))
_Static_assert(S_COUNT(s_reject_errs) == VIGIL__REJECT_CODE__REJECT_NOT_LEADER + 1, "reject codes");

int
vg_reject_code(vg_err err)
{
    if (err == VG_ERR_INVALID) {
        return VIGIL__REJECT_CODE__REJECT_MALFORMED;
    }
    for (int i = 1; i < S_N_REJECT; i++) {
        if (s_reject_errs[i] == err) {
            return i;
        }
    }
    return VIGIL__REJECT_CODE__REJECT_INTERNAL;
}

vg_err
vg_reject_err(int reject_code)
{
    return (reject_code > 0 && reject_code < S_N_REJECT) ? s_reject_errs[reject_code]
                                                         : VG_ERR_INTERNAL;
}
