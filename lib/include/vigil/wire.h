/*
 * vigil/wire.h — the vocabulary shared by every module: the vg_ enums that
 * mirror proto/vigil.proto (same numeric values), their names, the signature
 * domain strings and the size limits.
 *
 * Public headers speak these types; only the modules that (de)serialise see
 * the generated protobuf-c types.
 */
#ifndef VIGIL_LIB_WIRE_H
#define VIGIL_LIB_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

#define VG_ALERT_ID_LEN 16
#define VG_AGENCY_ID_MAX 63 /* agency ids: 1..63 of [a-z0-9-] (vg_agency_id_is_valid) */
#define VG_ALERT_ID_HEX_LEN 32
#define VG_HASH_LEN 32        /* BLAKE2b-256 */
#define VG_CONTENT_KEY_LEN 32 /* XChaCha20-Poly1305 key */
#define VG_NONCE_LEN 24
#define VG_SEALED_KEY_LEN 80 /* crypto_box_SEALBYTES + content key */

#define VG_FRAME_MAX_BYTES (1024 * 1024)      /* largest ZeroMQ frame accepted */
#define VG_ENVELOPE_MAX_BYTES (960 * 1024)    /* largest signed envelope */
#define VG_NETDOC_MAX_BYTES (4 * 1024 * 1024) /* largest signed network document */
/* A national network is one to two thousand agencies, and a national alert
 * (a missing child) may have to reach every one of them: both limits are
 * twice that. An envelope to VG_RECIPIENTS_MAX agencies with the longest
 * ids is about 610 KiB of sealed keys, inside VG_ENVELOPE_MAX_BYTES with
 * room for the largest texts; a document of VG_AGENCIES_MAX cards is 0.6 MiB
 * (short names) to 1.4 MiB (the longest), leaving room for rotations. */
#define VG_AGENCIES_MAX 4096   /* agency cards in one network document */
#define VG_RECIPIENTS_MAX 4096 /* recipients of one alert */
#define VG_CATEGORIES_MAX 32
#define VG_REFERENCES_MAX 64
#define VG_RECEIPT_ITEMS_MAX 1024
#define VG_TEXT_MAX 65536      /* longest description and similar */
#define VG_SHORT_TEXT_MAX 1024 /* headline, officer, reason, ... */
#define VG_KEEPALIVE_MS 5000   /* clients send Hello at least this often */

/* Domain strings: signatures cover (domain || body). Never change them. */
#define VG_DOMAIN_ENVELOPE "vigil/envelope/v1"
#define VG_DOMAIN_RECEIPT "vigil/receipt/v1"
#define VG_DOMAIN_SHARE "vigil/share/v1"
#define VG_DOMAIN_NETDOC "vigil/network/v1"
/* Personalisation of the content-key commitment. */
#define VG_DOMAIN_KEY_COMMIT "vigil/key-commit/v1"
/* Prefix of the AEAD associated data. */
#define VG_DOMAIN_AEAD "vigil/alert/v1"

typedef enum vg_status {
    VG_STATUS_UNSPECIFIED = 0,
    VG_STATUS_ACTUAL = 1,
    VG_STATUS_EXERCISE = 2,
    VG_STATUS_TEST = 3,
    VG_STATUS_SYSTEM = 4,
    VG_STATUS_DRAFT = 5,
} vg_status;

typedef enum vg_msg_type {
    VG_MSG_UNSPECIFIED = 0,
    VG_MSG_ALERT = 1,
    VG_MSG_UPDATE = 2,
    VG_MSG_CANCEL = 3,
    VG_MSG_ACK = 4,
    VG_MSG_ERROR = 5,
} vg_msg_type;

typedef enum vg_severity {
    VG_SEV_UNSPECIFIED = 0,
    VG_SEV_LOW = 1,
    VG_SEV_MEDIUM = 2,
    VG_SEV_HIGH = 3,
    VG_SEV_CRITICAL = 4,
} vg_severity;
#define VG_SEV_COUNT 5

typedef enum vg_urgency {
    VG_URG_UNSPECIFIED = 0,
    VG_URG_UNKNOWN = 1,
    VG_URG_PAST = 2,
    VG_URG_FUTURE = 3,
    VG_URG_EXPECTED = 4,
    VG_URG_IMMEDIATE = 5,
} vg_urgency;

typedef enum vg_certainty {
    VG_CERT_UNSPECIFIED = 0,
    VG_CERT_UNKNOWN = 1,
    VG_CERT_UNLIKELY = 2,
    VG_CERT_POSSIBLE = 3,
    VG_CERT_LIKELY = 4,
    VG_CERT_OBSERVED = 5,
} vg_certainty;

typedef enum vg_receipt_kind {
    VG_RECEIPT_UNSPECIFIED = 0,
    VG_RECEIPT_DELIVERED = 1,
    VG_RECEIPT_ACKNOWLEDGED = 2,
    VG_RECEIPT_IN_PROGRESS = 3,
    VG_RECEIPT_DECLINED = 4,
    VG_RECEIPT_UNOPENABLE = 5, /* verified, but it could not be opened */
} vg_receipt_kind;

/* Why a recipient could not open an alert (the wire's OpenFailure). */
typedef enum vg_open_failure {
    VG_OPEN_UNSPECIFIED = 0,
    VG_OPEN_BAD_KEY = 1,        /* the sealed content key does not open */
    VG_OPEN_BAD_COMMITMENT = 2, /* the key does not match its commitment */
    VG_OPEN_UNDECRYPTABLE = 3,  /* the ciphertext fails authentication or does not parse */
    VG_OPEN_STALE_DOCUMENT = 4, /* sealed to a box key the recipient no longer holds */
} vg_open_failure;

/* Names are lowercase ("high", "exercise", "update", "immediate",
 * "acknowledged"). *_name() returns "unspecified" for out-of-range values and
 * never NULL; *_parse() accepts the names, case-insensitively, and returns
 * VG_ERR_MALFORMED with the accepted names in why otherwise. */
const char *vg_status_name(vg_status v);
const char *vg_msg_type_name(vg_msg_type v);
const char *vg_severity_name(vg_severity v);
const char *vg_urgency_name(vg_urgency v);
const char *vg_certainty_name(vg_certainty v);
const char *vg_receipt_kind_name(vg_receipt_kind v);
const char *vg_open_failure_name(vg_open_failure v); /* "bad_key", "stale_document", ... */
/* The failure an error from vg_envelope_open / _open_sealed stands for
 * (VG_ERR_UNSEAL: bad_key, or stale_document when the envelope was sealed
 * under an older network document than `held_version`), or
 * VG_OPEN_UNSPECIFIED for an error that is not about the alert (no memory, ...). */
vg_open_failure vg_open_failure_of(vg_err err, uint64_t sealed_version, uint64_t held_version);
vg_err vg_status_parse(vg_status *out, const char *s, vg_reason *why) VG_MUST_USE;
vg_err vg_msg_type_parse(vg_msg_type *out, const char *s, vg_reason *why) VG_MUST_USE;
vg_err vg_severity_parse(vg_severity *out, const char *s, vg_reason *why) VG_MUST_USE;
vg_err vg_urgency_parse(vg_urgency *out, const char *s, vg_reason *why) VG_MUST_USE;
vg_err vg_certainty_parse(vg_certainty *out, const char *s, vg_reason *why) VG_MUST_USE;

/* The wire's RejectCode (proto/vigil.proto) for an error, and back. Errors
 * with no code of their own map to REJECT_INTERNAL; VG_ERR_INVALID maps to
 * REJECT_MALFORMED.
 * vg_err_code() of the mapped-back error is the code's wire name. */
int vg_reject_code(vg_err err);
vg_err vg_reject_err(int reject_code);

/* BLAKE2b-256 of data (e.g. an envelope body: its "envelope hash"). */
void vg_hash(uint8_t out[VG_HASH_LEN], const uint8_t *data, size_t len);

/* 32 lowercase hex characters of an alert id, NUL-terminated. */
void vg_alert_id_hex(char out[VG_ALERT_ID_HEX_LEN + 1], const uint8_t id[VG_ALERT_ID_LEN]);

/* Parses 32 hex characters. VG_ERR_MALFORMED with a reason otherwise. */
vg_err vg_alert_id_parse(uint8_t out[VG_ALERT_ID_LEN], const char *hex, vg_reason *why) VG_MUST_USE;

#endif
