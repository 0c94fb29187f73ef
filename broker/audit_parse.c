/* audit_parse.c — the signed envelopes, receipts and shares a store keeps,
 * read for audit verify without their signers' keys (audit_state.h): the
 * leaves hold the hash of each signed body, so a body whose hash matches
 * is the one the broker verified when it took it. vgb_av_signed checks the
 * signature too, for `vigilctl audit verify --signatures`. */
#include "audit_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil.pb-c.h"
#include "vigil/envelope.h"
#include "vigil/receipt.h"
#include "vigil/share.h"
#include "vigil/wire.h"

/* Copies an agency id; false when it is too long to be one. */
static bool
s_name(char out[VG_AGENCY_ID_MAX + 1], const char *in)
{
    if (in == NULL || strlen(in) > VG_AGENCY_ID_MAX) {
        return false;
    }
    snprintf(out, VG_AGENCY_ID_MAX + 1, "%s", in);
    return true;
}

static bool
s_fixed(uint8_t *out, const ProtobufCBinaryData *b, size_t len)
{
    if (b->len != len) {
        return false;
    }
    memcpy(out, b->data, len);
    return true;
}

/* ---- envelopes ------------------------------------------------------------------- */

static vg_err
s_envelope_body(vgb_av_envelope *e, const Vigil__EnvelopeBody *b, vg_reason *why)
{
    if (!s_fixed(e->id, &b->alert_id, VG_ALERT_ID_LEN) || !s_name(e->sender, b->sender)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "its body lacks a valid alert id or sender");
    }
    e->sequence = b->sequence;
    e->created_ms = (int64_t)b->created_ms;
    e->status = b->status;
    e->msg_type = b->msg_type;
    e->severity = b->severity;
    e->urgency = b->urgency;
    e->version = b->network_version;
    vg_err rc = VG_OK;
    for (size_t i = 0; i < b->n_categories && rc == VG_OK; i++) {
        rc = vg_strlist_add(&e->categories, b->categories[i]);
    }
    for (size_t i = 0; i < b->n_recipients && rc == VG_OK; i++) {
        rc = vg_strlist_add(&e->recipients, b->recipients[i]->agency);
    }
    if (rc == VG_OK && b->n_link_tags > 0) {
        e->tags = calloc(b->n_link_tags, sizeof *e->tags);
        rc = e->tags != NULL ? VG_OK : VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < b->n_link_tags && rc == VG_OK; i++) {
        if (!s_fixed(e->tags[e->n_tags++], &b->link_tags[i], VG_HASH_LEN)) {
            rc = vg_reason_set(why, VG_ERR_MALFORMED, "its link tag %zu is not %d bytes", i,
                               VG_HASH_LEN);
        }
    }
    return rc;
}

vg_err
vgb_av_parse_envelope(vgb_av_envelope *out, const uint8_t *bytes, size_t len, vg_reason *why)
{
    memset(out, 0, sizeof *out);
    Vigil__SignedEnvelope *se = vigil__signed_envelope__unpack(NULL, len, bytes);
    if (se == NULL) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "not a signed envelope (does not parse)");
    }
    vg_hash(out->hash, se->body.data, se->body.len);
    Vigil__EnvelopeBody *b = vigil__envelope_body__unpack(NULL, se->body.len, se->body.data);
    vg_err rc = b != NULL ? s_envelope_body(out, b, why)
                          : vg_reason_set(why, VG_ERR_MALFORMED, "its body does not parse");
    if (b != NULL) {
        vigil__envelope_body__free_unpacked(b, NULL);
    }
    vigil__signed_envelope__free_unpacked(se, NULL);
    if (rc != VG_OK) {
        vgb_av_envelope_fini(out);
    }
    return rc;
}

void
vgb_av_envelope_fini(vgb_av_envelope *e)
{
    if (e != NULL) {
        vg_strlist_fini(&e->categories);
        vg_strlist_fini(&e->recipients);
        free(e->tags);
        memset(e, 0, sizeof *e);
    }
}

/* ---- receipts ---------------------------------------------------------------------- */

static char *
s_dup(const char *t)
{
    return vg_strdup(t != NULL ? t : "");
}

static vg_err
s_receipt_body(vgb_av_receipt *r, const Vigil__ReceiptBody *b, vg_reason *why)
{
    if (!s_name(r->agency, b->agency)) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "its body lacks a valid agency");
    }
    r->kind = b->kind;
    r->created_ms = (int64_t)b->created_ms;
    r->failure = b->failure;
    r->officer = s_dup(b->officer);
    r->note = s_dup(b->note);
    r->reason = s_dup(b->reason);
    r->ids = calloc(b->n_items ? b->n_items : 1, sizeof *r->ids);
    r->env_hashes = calloc(b->n_items ? b->n_items : 1, sizeof *r->env_hashes);
    if (r->officer == NULL || r->note == NULL || r->reason == NULL || r->ids == NULL ||
        r->env_hashes == NULL) {
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < b->n_items; i++) {
        if (!s_fixed(r->ids[i], &b->items[i]->alert_id, VG_ALERT_ID_LEN) ||
            !s_fixed(r->env_hashes[i], &b->items[i]->envelope_hash, VG_HASH_LEN)) {
            return vg_reason_set(why, VG_ERR_MALFORMED, "item %zu is malformed", i + 1);
        }
        r->n_items = i + 1;
    }
    return VG_OK;
}

vg_err
vgb_av_parse_receipt(vgb_av_receipt *out, const uint8_t *bytes, size_t len, vg_reason *why)
{
    memset(out, 0, sizeof *out);
    Vigil__SignedReceipt *sr = vigil__signed_receipt__unpack(NULL, len, bytes);
    if (sr == NULL) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "not a signed receipt (does not parse)");
    }
    vg_hash(out->hash, sr->body.data, sr->body.len);
    Vigil__ReceiptBody *b = vigil__receipt_body__unpack(NULL, sr->body.len, sr->body.data);
    vg_err rc = b != NULL ? s_receipt_body(out, b, why)
                          : vg_reason_set(why, VG_ERR_MALFORMED, "its body does not parse");
    if (b != NULL) {
        vigil__receipt_body__free_unpacked(b, NULL);
    }
    vigil__signed_receipt__free_unpacked(sr, NULL);
    if (rc != VG_OK) {
        vgb_av_receipt_fini(out);
    }
    return rc;
}

void
vgb_av_receipt_fini(vgb_av_receipt *r)
{
    if (r != NULL) {
        free(r->ids);
        free(r->env_hashes);
        free(r->officer);
        free(r->note);
        free(r->reason);
        memset(r, 0, sizeof *r);
    }
}

void
vgb_av_unopenable_text(char *out, size_t len, const vgb_av_receipt *r)
{
    /* receipt.c s_apply: the failure's name, then the agency's words */
    snprintf(out, len, "%s%s%s", vg_open_failure_name((vg_open_failure)r->failure),
             r->reason[0] ? ": " : "", r->reason);
}

/* ---- shares ------------------------------------------------------------------------ */

vg_err
vgb_av_parse_share(vgb_av_share *out, const uint8_t *bytes, size_t len, vg_reason *why)
{
    memset(out, 0, sizeof *out);
    Vigil__SignedShare *ss = vigil__signed_share__unpack(NULL, len, bytes);
    if (ss == NULL) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "not a signed share (does not parse)");
    }
    vg_hash(out->hash, ss->body.data, ss->body.len);
    Vigil__ShareBody *b = vigil__share_body__unpack(NULL, ss->body.len, ss->body.data);
    vg_err rc = VG_OK;
    if (b == NULL || !s_fixed(out->id, &b->alert_id, VG_ALERT_ID_LEN) ||
        !s_fixed(out->env_hash, &b->envelope_hash, VG_HASH_LEN) ||
        !s_name(out->sharer, b->sharer) || !s_name(out->to, b->to_agency)) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED, "its body does not parse or lacks a field");
    }
    if (b != NULL) {
        vigil__share_body__free_unpacked(b, NULL);
    }
    vigil__signed_share__free_unpacked(ss, NULL);
    return rc;
}

/* ---- signatures --------------------------------------------------------------------- */

static bool
s_verifies(vgb_av_signed_kind kind, const uint8_t *bytes, size_t len, const vg_netdoc *doc)
{
    vg_err rc;
    if (kind == VGB_AV_ENVELOPE) {
        vg_envelope *env = NULL;
        rc = vg_envelope_verify(&env, bytes, len, doc, NULL);
        vg_envelope_destroy(&env);
    } else if (kind == VGB_AV_RECEIPT) {
        vg_receipt *r = NULL;
        rc = vg_receipt_verify(&r, bytes, len, doc, NULL);
        vg_receipt_destroy(&r);
    } else {
        vg_share *sh = NULL;
        rc = vg_share_verify(&sh, bytes, len, doc, NULL);
        vg_share_destroy(&sh);
    }
    return rc == VG_OK;
}

bool
vgb_av_signed(const vgb_av_docs *docs, vgb_av_signed_kind kind, const uint8_t *bytes, size_t len)
{
    for (size_t i = docs->n; i-- > 0;) { /* the newest first: usually the one */
        if (s_verifies(kind, bytes, len, docs->doc[i])) {
            return true;
        }
    }
    return false;
}
