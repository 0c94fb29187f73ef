/* receipt.c — signed DELIVERED / ACKNOWLEDGED / IN_PROGRESS / DECLINED /
 * UNOPENABLE receipts. */
#include "vigil/receipt.h"

#include <stdlib.h>
#include <string.h>

#include "signed_internal.h"
#include "vigil.pb-c.h"

#define S_RECEIPT_MAX_BYTES (VG_RECEIPT_ITEMS_MAX * 64 + 4 * VG_SHORT_TEXT_MAX + VG_TEXT_MAX)

struct vg_receipt {
    uint8_t *bytes;            /* exact serialised SignedReceipt, owned */
    size_t len;                /* its length */
    Vigil__ReceiptBody *body;  /* parsed, verified body, owned */
    vg_receipt_item *items;    /* decoded items */
    uint8_t hash[VG_HASH_LEN]; /* BLAKE2b-256 of the signed body bytes */
};

static size_t
s_len(const char *s)
{
    return s ? strlen(s) : 0;
}

/* The rules both signing and verifying enforce. */
static vg_err
s_check_rules(vg_receipt_kind kind, vg_open_failure failure, size_t n_items, size_t officer_len,
              size_t note_len, size_t reason_len, vg_err err, vg_reason *why)
{
    if (kind < VG_RECEIPT_DELIVERED || kind > VG_RECEIPT_UNOPENABLE) {
        return vg_reason_set(why, err, "receipt kind is invalid");
    }
    if (kind == VG_RECEIPT_UNOPENABLE &&
        (failure < VG_OPEN_BAD_KEY || failure > VG_OPEN_STALE_DOCUMENT)) {
        return vg_reason_set(why, err,
                             "an unopenable receipt must say why: bad_key, bad_commitment, "
                             "undecryptable or stale_document");
    }
    if (kind != VG_RECEIPT_UNOPENABLE && failure != VG_OPEN_UNSPECIFIED) {
        return vg_reason_set(why, err, "only an unopenable receipt carries a failure code");
    }
    if (n_items == 0 || n_items > VG_RECEIPT_ITEMS_MAX) {
        return vg_reason_set(why, err, "a receipt names 1 to %d alerts", VG_RECEIPT_ITEMS_MAX);
    }
    if (kind != VG_RECEIPT_DELIVERED && n_items != 1) {
        return vg_reason_set(why, err, "only a delivered receipt may cover several alerts");
    }
    if (kind == VG_RECEIPT_ACKNOWLEDGED && officer_len == 0) {
        return vg_reason_set(why, err,
                             "an acknowledgement must name the duty officer who read the alert");
    }
    if ((kind == VG_RECEIPT_IN_PROGRESS || kind == VG_RECEIPT_DECLINED) && reason_len == 0) {
        return vg_reason_set(why, err, "%s needs a reason",
                             kind == VG_RECEIPT_DECLINED ? "declining" : "in progress");
    }
    if (officer_len > VG_SHORT_TEXT_MAX || reason_len > VG_SHORT_TEXT_MAX ||
        note_len > VG_SHORT_TEXT_MAX) {
        return vg_reason_set(why, err, "officer, note and reason are limited to %d bytes",
                             VG_SHORT_TEXT_MAX);
    }
    return VG_OK;
}

vg_err
vg_receipt_sign(uint8_t **out, size_t *out_len, const vg_receipt_spec *spec, const vg_keyset *keys,
                vg_reason *why)
{
    if (spec->agency == NULL || !vg_agency_id_is_valid(spec->agency)) {
        return vg_reason_set(why, VG_ERR_INVALID, "a receipt needs the agency that signs it");
    }
    vg_err rc = s_check_rules(spec->kind, spec->failure, spec->n_items, s_len(spec->officer),
                              s_len(spec->note), s_len(spec->reason), VG_ERR_INVALID, why);
    if (rc != VG_OK) {
        return rc;
    }
    Vigil__ReceiptItem *items = calloc(spec->n_items, sizeof *items);
    Vigil__ReceiptItem **item_ps = calloc(spec->n_items, sizeof *item_ps);
    uint8_t *bbuf = NULL;
    if (items == NULL || item_ps == NULL) {
        rc = VG_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < spec->n_items; i++) {
        vigil__receipt_item__init(&items[i]);
        items[i].alert_id.data = (uint8_t *)spec->items[i].alert_id;
        items[i].alert_id.len = VG_ALERT_ID_LEN;
        items[i].envelope_hash.data = (uint8_t *)spec->items[i].envelope_hash;
        items[i].envelope_hash.len = VG_HASH_LEN;
        item_ps[i] = &items[i];
    }
    static char empty[] = "";
    Vigil__ReceiptBody body = VIGIL__RECEIPT_BODY__INIT;
    body.agency = (char *)spec->agency;
    body.kind = (Vigil__ReceiptKind)spec->kind;
    body.created_ms = spec->created_ms > 0 ? (uint64_t)spec->created_ms : 0;
    body.n_items = spec->n_items;
    body.items = item_ps;
    body.officer = spec->officer ? (char *)spec->officer : empty;
    body.note = spec->note ? (char *)spec->note : empty;
    body.reason = spec->reason ? (char *)spec->reason : empty;
    body.network_version = spec->network_version;
    body.failure = (Vigil__OpenFailure)spec->failure;
    size_t blen = vigil__receipt_body__get_packed_size(&body);
    bbuf = malloc(blen);
    if (bbuf == NULL) {
        rc = VG_ERR_NOMEM;
        goto out;
    }
    vigil__receipt_body__pack(&body, bbuf);
    uint8_t sig[VG_SIGNATURE_LEN];
    rc = vg_sign(sig, keys, VG_DOMAIN_RECEIPT, bbuf, blen);
    if (rc != VG_OK) {
        goto out;
    }
    Vigil__SignedReceipt sr = VIGIL__SIGNED_RECEIPT__INIT;
    sr.body.data = bbuf;
    sr.body.len = blen;
    sr.signature.data = sig;
    sr.signature.len = sizeof sig;
    sr.signer = (char *)spec->agency;
    size_t slen = vigil__signed_receipt__get_packed_size(&sr);
    uint8_t *sbuf = malloc(slen);
    if (sbuf == NULL) {
        rc = VG_ERR_NOMEM;
        goto out;
    }
    vigil__signed_receipt__pack(&sr, sbuf);
    *out = sbuf;
    *out_len = slen;
out:
    free(bbuf);
    free(items);
    free(item_ps);
    return rc;
}

static vg_err
s_check_body(vg_receipt *r, vg_reason *why)
{
    const Vigil__ReceiptBody *b = r->body;
    vg_err rc = s_check_rules((vg_receipt_kind)b->kind, (vg_open_failure)b->failure, b->n_items,
                              strlen(b->officer), strlen(b->note), strlen(b->reason),
                              VG_ERR_MALFORMED, why);
    if (rc != VG_OK) {
        return rc;
    }
    r->items = calloc(b->n_items, sizeof *r->items);
    if (r->items == NULL) {
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < b->n_items; i++) {
        const Vigil__ReceiptItem *it = b->items[i];
        if (it->alert_id.len != VG_ALERT_ID_LEN || it->envelope_hash.len != VG_HASH_LEN) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "receipt item %zu lacks a valid alert id or envelope hash", i + 1);
        }
        memcpy(r->items[i].alert_id, it->alert_id.data, VG_ALERT_ID_LEN);
        memcpy(r->items[i].envelope_hash, it->envelope_hash.data, VG_HASH_LEN);
    }
    return VG_OK;
}

vg_err
vg_receipt_verify(vg_receipt **out, const uint8_t *bytes, size_t len, const vg_netdoc *doc,
                  vg_reason *why)
{
    if (len > S_RECEIPT_MAX_BYTES) {
        return vg_reason_set(why, VG_ERR_TOO_LARGE, "receipt is %zu bytes; the limit is %d", len,
                             S_RECEIPT_MAX_BYTES);
    }
    Vigil__SignedReceipt *sr = vigil__signed_receipt__unpack(NULL, len, bytes);
    if (sr == NULL) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "not a signed receipt (does not parse)");
    }
    vg_receipt *r = NULL;
    vg_key_match key;
    vg_err rc = vg_signed_check(&key, doc, sr->signer, sr->signature.data, sr->signature.len,
                                VG_DOMAIN_RECEIPT, sr->body.data, sr->body.len, "receipt", why);
    if (rc != VG_OK) {
        goto out;
    }
    r = calloc(1, sizeof *r);
    if (r == NULL || (r->bytes = malloc(len ? len : 1)) == NULL) {
        rc = VG_ERR_NOMEM;
        goto out;
    }
    memcpy(r->bytes, bytes, len);
    r->len = len;
    vg_hash(r->hash, sr->body.data, sr->body.len);
    r->body = vigil__receipt_body__unpack(NULL, sr->body.len, sr->body.data);
    if (r->body == NULL) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED, "signed receipt body does not parse");
        goto out;
    }
    if (strcmp(r->body->agency, sr->signer) != 0) {
        rc = vg_reason_set(why, VG_ERR_SENDER_MISMATCH,
                           "receipt signed by '%s' claims agency '%.64s'", sr->signer,
                           r->body->agency);
        goto out;
    }
    rc = vg_signed_check_time(&key, r->body->created_ms, "receipt", why);
    if (rc == VG_OK) {
        rc = s_check_body(r, why);
    }
out:
    vigil__signed_receipt__free_unpacked(sr, NULL);
    if (rc != VG_OK) {
        vg_receipt_destroy(&r);
        return rc;
    }
    *out = r;
    return VG_OK;
}

void
vg_receipt_destroy(vg_receipt **r_p)
{
    if (r_p == NULL || *r_p == NULL) {
        return;
    }
    vg_receipt *r = *r_p;
    if (r->body != NULL) {
        vigil__receipt_body__free_unpacked(r->body, NULL);
    }
    free(r->items);
    free(r->bytes);
    free(r);
    *r_p = NULL;
}

const char *
vg_receipt_agency(const vg_receipt *r)
{
    return r->body->agency;
}

vg_receipt_kind
vg_receipt_kind_of(const vg_receipt *r)
{
    return (vg_receipt_kind)r->body->kind;
}

int64_t
vg_receipt_created_ms(const vg_receipt *r)
{
    return (int64_t)r->body->created_ms;
}

size_t
vg_receipt_n_items(const vg_receipt *r)
{
    return r->body->n_items;
}

const vg_receipt_item *
vg_receipt_item_at(const vg_receipt *r, size_t i)
{
    return &r->items[i];
}

const char *
vg_receipt_officer(const vg_receipt *r)
{
    return r->body->officer;
}

const char *
vg_receipt_note(const vg_receipt *r)
{
    return r->body->note;
}

const char *
vg_receipt_reason(const vg_receipt *r)
{
    return r->body->reason;
}

uint64_t
vg_receipt_network_version(const vg_receipt *r)
{
    return r->body->network_version;
}

vg_open_failure
vg_receipt_failure(const vg_receipt *r)
{
    return (vg_open_failure)r->body->failure;
}

const uint8_t *
vg_receipt_hash(const vg_receipt *r)
{
    return r->hash;
}

const uint8_t *
vg_receipt_bytes(const vg_receipt *r, size_t *len_out)
{
    *len_out = r->len;
    return r->bytes;
}
