/* err.c — error names and reasons. */
#include "vigil/err.h"

#include <stdarg.h>
#include <stdio.h>

typedef struct s_err_info {
    const char *code; /* stable snake_case */
    const char *text; /* short description */
} s_err_info;

static const s_err_info s_errs[] = {
    [VG_OK] = {"ok", "success"},
    [VG_ERR_NOMEM] = {"no_memory", "out of memory"},
    [VG_ERR_INVALID] = {"invalid", "invalid argument"},
    [VG_ERR_IO] = {"io", "input/output error"},
    [VG_ERR_NOT_FOUND] = {"not_found", "not found"},
    [VG_ERR_MALFORMED] = {"malformed", "malformed input"},
    [VG_ERR_TOO_LARGE] = {"too_large", "too large"},
    [VG_ERR_BAD_SIGNATURE] = {"bad_signature", "bad signature"},
    [VG_ERR_UNKNOWN_SENDER] = {"unknown_sender", "unknown sender"},
    [VG_ERR_SENDER_MISMATCH] = {"sender_mismatch", "signer is not the claimed sender"},
    [VG_ERR_REVOKED] = {"revoked", "agency key revoked"},
    [VG_ERR_NOT_RECIPIENT] = {"not_recipient", "not a recipient of this alert"},
    [VG_ERR_UNSEAL] = {"unseal", "sealed content key does not open"},
    [VG_ERR_COMMITMENT] = {"commitment", "content key does not match its commitment"},
    [VG_ERR_DECRYPT] = {"decrypt", "ciphertext failed authentication"},
    [VG_ERR_KEY_PERMS] = {"key_permissions", "secret key file readable by others"},
    [VG_ERR_STALE_VERSION] = {"stale_network", "network document older than the one held"},
    [VG_ERR_MISSING_RECIPIENTS] = {"missing_recipients", "mandatory recipients missing"},
    [VG_ERR_REPLAY] = {"replay", "sequence number already used"},
    [VG_ERR_CLOCK_SKEW] = {"clock_skew", "created time outside the allowed window"},
    [VG_ERR_CONFLICT] = {"conflict", "alert id already used for different bytes"},
    [VG_ERR_STORAGE_FULL] = {"storage_full", "store is full"},
    [VG_ERR_CONFIG] = {"config", "invalid configuration"},
    [VG_ERR_UNKNOWN_ALERT] = {"unknown_alert", "unknown alert"},
    [VG_ERR_TIMEOUT] = {"timeout", "timed out"},
    [VG_ERR_POLICY] = {"policy", "network document is inconsistent"},
    [VG_ERR_CRYPTO] = {"crypto", "cryptographic library failure"},
    [VG_ERR_INTERNAL] = {"internal", "internal error"},
    [VG_ERR_DUPLICATE] = {"duplicate", "already done"},
    [VG_ERR_RATE_LIMITED] = {"rate_limited", "too many requests: slow down"},
    [VG_ERR_QUOTA_EXCEEDED] = {"quota_exceeded", "storage quota used up"},
    [VG_ERR_KEY_COMPROMISED] = {"key_compromised", "signed by a key after it was compromised"},
    [VG_ERR_NOT_LEADER] = {"not_leader", "this broker is a standby, not the leader"},
};

static const s_err_info *
s_info(vg_err err)
{
    if ((unsigned)err >= sizeof s_errs / sizeof s_errs[0] || s_errs[err].code == NULL) {
        return NULL;
    }
    return &s_errs[err];
}

const char *
vg_strerror(vg_err err)
{
    const s_err_info *i = s_info(err);
    return i ? i->text : "unknown error";
}

const char *
vg_err_code(vg_err err)
{
    const s_err_info *i = s_info(err);
    return i ? i->code : "unknown";
}

vg_err
vg_reason_set(vg_reason *why, vg_err err, const char *fmt, ...)
{
    if (why != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why->text, sizeof why->text, fmt, ap);
        va_end(ap);
    }
    return err;
}

void
vg_reason_clear(vg_reason *why)
{
    if (why != NULL) {
        why->text[0] = '\0';
    }
}
