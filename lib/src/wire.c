/* wire.c — names of the vg_ enums, hashing, alert ids. */
#include "vigil/wire.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "vigil/util.h"

static const char *const s_status[] = {"unspecified", "actual", "exercise",
                                       "test",        "system", "draft"};
static const char *const s_msg_type[] = {"unspecified", "alert", "update",
                                         "cancel",      "ack",   "error"};
static const char *const s_severity[] = {"unspecified", "low", "medium", "high", "critical"};
static const char *const s_urgency[] = {"unspecified", "unknown",  "past",
                                        "future",      "expected", "immediate"};
static const char *const s_certainty[] = {"unspecified", "unknown", "unlikely",
                                          "possible",    "likely",  "observed"};
static const char *const s_receipt[] = {"unspecified", "delivered", "acknowledged", "in_progress",
                                        "declined"};

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
