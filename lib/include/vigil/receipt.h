/*
 * vigil/receipt.h — signed receipts: DELIVERED, ACKNOWLEDGED, IN_PROGRESS,
 * DECLINED and UNOPENABLE.
 *
 * A receipt is signed by the recipient agency (VG_DOMAIN_RECEIPT) and names
 * each alert by id and envelope hash, so the record proves who received
 * exactly what, and when. One DELIVERED receipt may cover a batch; the other
 * kinds name one alert. ACKNOWLEDGED names the duty officer; IN_PROGRESS and
 * DECLINED carry a reason.
 *
 * A vg_receipt is immutable after verification and may be shared between
 * threads; its pointers are borrowed and live as long as it.
 */
#ifndef VIGIL_LIB_RECEIPT_H
#define VIGIL_LIB_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"
#include "vigil/keys.h"
#include "vigil/netdoc.h"
#include "vigil/wire.h"

typedef struct vg_receipt_item {
    uint8_t alert_id[VG_ALERT_ID_LEN];  /* the alert */
    uint8_t envelope_hash[VG_HASH_LEN]; /* vg_envelope_hash() of what was received */
} vg_receipt_item;

typedef struct vg_receipt_spec {
    const char *agency;           /* the receipting agency (signer) */
    vg_receipt_kind kind;         /* what is being receipted */
    int64_t created_ms;           /* wall-clock UTC ms */
    const vg_receipt_item *items; /* 1, or up to VG_RECEIPT_ITEMS_MAX for DELIVERED */
    size_t n_items;               /* count of items */
    const char *officer;          /* ACKNOWLEDGED: required */
    const char *note;             /* optional */
    const char *reason;           /* IN_PROGRESS, DECLINED: required */
    uint64_t network_version;     /* the document the agency holds */
    vg_open_failure failure;      /* UNOPENABLE: required; otherwise UNSPECIFIED */
} vg_receipt_spec;

/* Signs a receipt. *out is the serialised SignedReceipt, malloc'ed; free() it.
 * VG_ERR_INVALID (with why) when the spec breaks the rules above. */
vg_err vg_receipt_sign(uint8_t **out, size_t *out_len, const vg_receipt_spec *spec,
                       const vg_keyset *keys, vg_reason *why) VG_MUST_USE;

typedef struct vg_receipt vg_receipt;

/* Verifies a serialised SignedReceipt: VG_ERR_TOO_LARGE, VG_ERR_MALFORMED,
 * VG_ERR_UNKNOWN_SENDER, VG_ERR_REVOKED, VG_ERR_BAD_SIGNATURE,
 * VG_ERR_SENDER_MISMATCH (body agency != signer), and, as for envelopes
 * (vg_envelope_verify), VG_ERR_KEY_COMPROMISED or VG_ERR_REVOKED when the
 * key that signed it was not trusted at the receipt's created time. Copies the bytes.
 * Free with vg_receipt_destroy. */
vg_err vg_receipt_verify(vg_receipt **out, const uint8_t *bytes, size_t len, const vg_netdoc *doc,
                         vg_reason *why) VG_MUST_USE;

void vg_receipt_destroy(vg_receipt **r_p);

const char *vg_receipt_agency(const vg_receipt *r);
vg_receipt_kind vg_receipt_kind_of(const vg_receipt *r);
int64_t vg_receipt_created_ms(const vg_receipt *r);
size_t vg_receipt_n_items(const vg_receipt *r);
const vg_receipt_item *vg_receipt_item_at(const vg_receipt *r, size_t i);
const char *vg_receipt_officer(const vg_receipt *r); /* "" when absent */
const char *vg_receipt_note(const vg_receipt *r);
const char *vg_receipt_reason(const vg_receipt *r);
uint64_t vg_receipt_network_version(const vg_receipt *r);
vg_open_failure vg_receipt_failure(const vg_receipt *r); /* UNOPENABLE's; else UNSPECIFIED */
/* BLAKE2b-256 of the signed body bytes: the receipt's identity in the audit log. */
const uint8_t *vg_receipt_hash(const vg_receipt *r);
const uint8_t *vg_receipt_bytes(const vg_receipt *r, size_t *len_out);

#endif
