/* envelope.c — sealing, verifying and opening alerts (see vigil/envelope.h). */
#include "vigil/envelope.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "signed_internal.h"
#include "vigil/linktag.h"
#include "vigil.pb-c.h"

struct vg_envelope {
    uint8_t *bytes;            /* exact serialised SignedEnvelope, owned */
    size_t len;                /* its length */
    Vigil__EnvelopeBody *body; /* parsed, verified body, owned */
    vg_strlist categories;     /* copy of body categories */
    vg_strlist recipients;     /* recipient agency ids, in body order */
    uint8_t hash[VG_HASH_LEN]; /* BLAKE2b-256 of the signed body bytes */
};

/* ---- shared pieces ---------------------------------------------------------- */

static void
s_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* AEAD associated data: domain || id || len32 sender || sender || n32 ||
 * (len32 id || id) per recipient, in body order. malloc'ed. */
static uint8_t *
s_aead_ad(size_t *len_out, const uint8_t id[VG_ALERT_ID_LEN], const char *sender,
          char *const *recipients, size_t n)
{
    size_t dlen = strlen(VG_DOMAIN_AEAD);
    size_t slen = strlen(sender);
    size_t len = dlen + VG_ALERT_ID_LEN + 4 + slen + 4;
    for (size_t i = 0; i < n; i++) {
        len += 4 + strlen(recipients[i]);
    }
    uint8_t *ad = malloc(len);
    if (ad == NULL) {
        return NULL;
    }
    uint8_t *p = ad;
    memcpy(p, VG_DOMAIN_AEAD, dlen);
    p += dlen;
    memcpy(p, id, VG_ALERT_ID_LEN);
    p += VG_ALERT_ID_LEN;
    s_put_u32(p, (uint32_t)slen);
    memcpy(p + 4, sender, slen);
    p += 4 + slen;
    s_put_u32(p, (uint32_t)n);
    p += 4;
    for (size_t i = 0; i < n; i++) {
        size_t rlen = strlen(recipients[i]);
        s_put_u32(p, (uint32_t)rlen);
        memcpy(p + 4, recipients[i], rlen);
        p += 4 + rlen;
    }
    *len_out = len;
    return ad;
}

/* BLAKE2b-256(domain || alert id || content key). */
static void
s_commit(uint8_t out[VG_HASH_LEN], const uint8_t id[VG_ALERT_ID_LEN],
         const uint8_t key[VG_CONTENT_KEY_LEN])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, VG_HASH_LEN);
    crypto_generichash_update(&st, (const uint8_t *)VG_DOMAIN_KEY_COMMIT,
                              strlen(VG_DOMAIN_KEY_COMMIT));
    crypto_generichash_update(&st, id, VG_ALERT_ID_LEN);
    crypto_generichash_update(&st, key, VG_CONTENT_KEY_LEN);
    crypto_generichash_final(&st, out, VG_HASH_LEN);
    sodium_memzero(&st, sizeof st);
}

static size_t
s_strlen0(const char *s)
{
    return s ? strlen(s) : 0;
}

/* ---- seal ------------------------------------------------------------------ */

static vg_err
s_check_alert(const vg_alert *a, const vg_seal_params *p, vg_reason *why)
{
    vg_agency ag;
    if (a->severity < VG_SEV_LOW || a->severity > VG_SEV_CRITICAL) {
        return vg_reason_set(why, VG_ERR_INVALID,
                             "severity is required: critical, high, medium or low");
    }
    if (s_strlen0(a->headline) == 0) {
        return vg_reason_set(why, VG_ERR_INVALID, "a headline is required");
    }
    if (s_strlen0(a->headline) > VG_SHORT_TEXT_MAX) {
        return vg_reason_set(why, VG_ERR_TOO_LARGE, "the headline is limited to %d bytes",
                             VG_SHORT_TEXT_MAX);
    }
    if (s_strlen0(a->description) > VG_TEXT_MAX || s_strlen0(a->instruction) > VG_TEXT_MAX) {
        return vg_reason_set(why, VG_ERR_TOO_LARGE,
                             "description and instruction are limited to %d bytes each",
                             VG_TEXT_MAX);
    }
    if (a->n_references > VG_REFERENCES_MAX) {
        return vg_reason_set(why, VG_ERR_INVALID, "an alert references at most %d others",
                             VG_REFERENCES_MAX);
    }
    if (a->categories.n == 0 || a->categories.n > VG_CATEGORIES_MAX) {
        return vg_reason_set(why, VG_ERR_INVALID, "an alert needs 1 to %d categories",
                             VG_CATEGORIES_MAX);
    }
    for (size_t i = 0; i < a->categories.n; i++) {
        if (!vg_netdoc_has_category(p->doc, a->categories.items[i])) {
            return vg_reason_set(why, VG_ERR_INVALID,
                                 "category '%s' is not in the network's taxonomy (see "
                                 "'vigilctl network show')",
                                 a->categories.items[i]);
        }
    }
    if (a->recipients.n == 0 || a->recipients.n > VG_RECIPIENTS_MAX) {
        return vg_reason_set(why, VG_ERR_INVALID, "an alert needs 1 to %d recipients",
                             VG_RECIPIENTS_MAX);
    }
    for (size_t i = 0; i < a->recipients.n; i++) {
        const char *r = a->recipients.items[i];
        if (vg_netdoc_find(p->doc, r, &ag) != VG_OK) {
            return vg_reason_set(why, VG_ERR_NOT_FOUND,
                                 "recipient '%s' is not an agency of this network", r);
        }
        if (ag.revoked) {
            return vg_reason_set(why, VG_ERR_REVOKED,
                                 "recipient '%s' is revoked in the network document", r);
        }
        if (strcmp(ag.role, VG_ROLE_OVERSIGHT) == 0) {
            return vg_reason_set(why, VG_ERR_INVALID,
                                 "recipient '%s' is an oversight agency: oversight sees every "
                                 "alert's metadata and never its content, so it cannot be "
                                 "addressed",
                                 r);
        }
    }
    const char *dup = NULL;
    if (vg_strlist_find_duplicate(&a->recipients, &dup) != VG_OK) {
        return VG_ERR_NOMEM;
    }
    if (dup != NULL) {
        return vg_reason_set(why, VG_ERR_INVALID, "recipient '%s' is listed twice", dup);
    }
    return VG_OK;
}

static vg_err
s_check_sender(const vg_seal_params *p, vg_reason *why)
{
    vg_agency ag;
    if (p->doc == NULL || p->keys == NULL || p->sender == NULL || p->sequence == 0) {
        return vg_reason_set(why, VG_ERR_INVALID,
                             "sealing needs the network document, sender, keys and a sequence "
                             "number >= 1");
    }
    if (vg_netdoc_find(p->doc, p->sender, &ag) != VG_OK) {
        return vg_reason_set(why, VG_ERR_UNKNOWN_SENDER,
                             "sender '%s' is not an agency of this network", p->sender);
    }
    if (ag.revoked) {
        return vg_reason_set(why, VG_ERR_REVOKED, "sender '%s' is revoked", p->sender);
    }
    const uint8_t *pk = vg_keyset_sign_pk(p->keys);
    if (pk == NULL || sodium_memcmp(pk, ag.sign_pk, VG_SIGN_PK_LEN) != 0) {
        return vg_reason_set(why, VG_ERR_SENDER_MISMATCH,
                             "these keys are not the signing keys of '%s' in the network document",
                             p->sender);
    }
    vg_key_match m;
    if (vg_netdoc_find_sign_key(&m, p->doc, p->sender, pk) != VG_OK) {
        return VG_ERR_INTERNAL; /* it is the card's current key */
    }
    /* Sealing what every recipient would refuse helps nobody: say so now. */
    return vg_key_match_check_time(&m, p->created_ms, "envelope", why);
}

/* The content part of the alert, serialised into sodium_malloc'ed memory. */
static vg_err
s_pack_content(uint8_t **out, size_t *out_len, const vg_alert *a)
{
    Vigil__Alert pb = VIGIL__ALERT__INIT;
    vg_err rc = VG_ERR_NOMEM;
    Vigil__Area *areas = calloc(a->n_areas ? a->n_areas : 1, sizeof *areas);
    Vigil__Area **area_ps = calloc(a->n_areas ? a->n_areas : 1, sizeof *area_ps);
    Vigil__SubjectRef *subs = calloc(a->n_subjects ? a->n_subjects : 1, sizeof *subs);
    Vigil__SubjectRef **sub_ps = calloc(a->n_subjects ? a->n_subjects : 1, sizeof *sub_ps);
    if (areas == NULL || area_ps == NULL || subs == NULL || sub_ps == NULL) {
        goto out;
    }
    static char empty[] = "";
#define S_OR(s) ((s) ? (s) : empty)
    pb.event = S_OR(a->event);
    pb.certainty =
        a->certainty ? (Vigil__Certainty)a->certainty : VIGIL__CERTAINTY__CERTAINTY_UNKNOWN;
    pb.headline = S_OR(a->headline);
    pb.description = S_OR(a->description);
    pb.instruction = S_OR(a->instruction);
    pb.expires_ms = a->expires_ms > 0 ? (uint64_t)a->expires_ms : 0;
    pb.n_incidents = a->incidents.n;
    pb.incidents = a->incidents.items;
    pb.sender_name = S_OR(a->sender_name);
    pb.contact = S_OR(a->contact);
    pb.web = S_OR(a->web);
    pb.language = S_OR(a->language);
    for (size_t i = 0; i < a->n_areas; i++) {
        vigil__area__init(&areas[i]);
        areas[i].area_desc = S_OR(a->areas[i].desc);
        areas[i].n_geocodes = a->areas[i].geocodes.n;
        areas[i].geocodes = a->areas[i].geocodes.items;
        area_ps[i] = &areas[i];
    }
    pb.n_areas = a->n_areas;
    pb.areas = area_ps;
    for (size_t i = 0; i < a->n_subjects; i++) {
        vigil__subject_ref__init(&subs[i]);
        subs[i].scheme = S_OR(a->subjects[i].scheme);
        subs[i].value = S_OR(a->subjects[i].value);
        sub_ps[i] = &subs[i];
    }
#undef S_OR
    pb.n_subjects = a->n_subjects;
    pb.subjects = sub_ps;
    size_t len = vigil__alert__get_packed_size(&pb);
    uint8_t *buf = sodium_malloc(len ? len : 1);
    if (buf == NULL) {
        goto out;
    }
    vigil__alert__pack(&pb, buf);
    *out = buf;
    *out_len = len;
    rc = VG_OK;
out:
    free(areas);
    free(area_ps);
    free(subs);
    free(sub_ps);
    return rc;
}

/* Serialises and signs the body into a SignedEnvelope. */
static vg_err
s_sign_body(uint8_t **out, size_t *out_len, const Vigil__EnvelopeBody *body,
            const vg_seal_params *p)
{
    size_t blen = vigil__envelope_body__get_packed_size(body);
    uint8_t *bbuf = malloc(blen);
    if (bbuf == NULL) {
        return VG_ERR_NOMEM;
    }
    vigil__envelope_body__pack(body, bbuf);
    uint8_t sig[VG_SIGNATURE_LEN];
    vg_err rc = vg_sign(sig, p->keys, VG_DOMAIN_ENVELOPE, bbuf, blen);
    if (rc == VG_OK) {
        Vigil__SignedEnvelope se = VIGIL__SIGNED_ENVELOPE__INIT;
        se.body.data = bbuf;
        se.body.len = blen;
        se.signature.data = sig;
        se.signature.len = sizeof sig;
        se.signer = (char *)p->sender;
        size_t slen = vigil__signed_envelope__get_packed_size(&se);
        uint8_t *sbuf = malloc(slen);
        if (sbuf == NULL) {
            rc = VG_ERR_NOMEM;
        } else {
            vigil__signed_envelope__pack(&se, sbuf);
            *out = sbuf;
            *out_len = slen;
        }
    }
    free(bbuf);
    return rc;
}

typedef struct s_seal_work {
    uint8_t *key;                                    /* content key, sodium_malloc'ed */
    uint8_t *plain;                                  /* serialised Alert, sodium_malloc'ed */
    size_t plain_len;                                /* its length */
    uint8_t *cipher;                                 /* ciphertext */
    uint8_t *ad;                                     /* associated data */
    uint8_t *sealed;                                 /* n * VG_SEALED_KEY_LEN */
    Vigil__SealedKey *rk;                            /* n recipient entries */
    Vigil__SealedKey **rk_p;                         /* pointers to them */
    ProtobufCBinaryData *refs;                       /* references */
    ProtobufCBinaryData tags_pb[VG_LINK_TAGS_MAX];   /* link tags, pointing into tags */
    uint8_t tags[VG_LINK_TAGS_MAX][VG_LINK_TAG_LEN]; /* link tags */
    uint8_t sender_key[VG_SEALED_KEY_LEN];           /* the content key sealed to the sender */
} s_seal_work;

static void
s_seal_work_fini(s_seal_work *w)
{
    sodium_free(w->key);
    sodium_free(w->plain);
    free(w->cipher);
    free(w->ad);
    free(w->sealed);
    free(w->rk);
    free(w->rk_p);
    free(w->refs);
}

static vg_err
s_seal_keys(s_seal_work *w, Vigil__EnvelopeBody *body, const vg_alert *a, const vg_netdoc *doc)
{
    size_t n = a->recipients.n;
    w->sealed = malloc(n * VG_SEALED_KEY_LEN);
    w->rk = calloc(n, sizeof *w->rk);
    w->rk_p = calloc(n, sizeof *w->rk_p);
    if (w->sealed == NULL || w->rk == NULL || w->rk_p == NULL) {
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        vg_agency ag;
        if (vg_netdoc_find(doc, a->recipients.items[i], &ag) != VG_OK) {
            return VG_ERR_INTERNAL; /* checked by s_check_alert */
        }
        uint8_t *slot = w->sealed + i * VG_SEALED_KEY_LEN;
        if (crypto_box_seal(slot, w->key, VG_CONTENT_KEY_LEN, ag.box_pk) != 0) {
            return VG_ERR_CRYPTO;
        }
        vigil__sealed_key__init(&w->rk[i]);
        w->rk[i].agency = a->recipients.items[i];
        w->rk[i].sealed_key.data = slot;
        w->rk[i].sealed_key.len = VG_SEALED_KEY_LEN;
        w->rk_p[i] = &w->rk[i];
    }
    body->n_recipients = n;
    body->recipients = w->rk_p;
    vg_agency self;
    if (vg_netdoc_find(doc, body->sender, &self) != VG_OK ||
        crypto_box_seal(w->sender_key, w->key, VG_CONTENT_KEY_LEN, self.box_pk) != 0) {
        return VG_ERR_INTERNAL; /* the sender was checked by s_check_sender */
    }
    body->sender_key.data = w->sender_key;
    body->sender_key.len = VG_SEALED_KEY_LEN;
    return VG_OK;
}

static vg_err
s_encrypt(s_seal_work *w, Vigil__EnvelopeBody *body, const vg_alert *a, const char *sender,
          uint8_t nonce[VG_NONCE_LEN], uint8_t commit[VG_HASH_LEN])
{
    vg_err rc = s_pack_content(&w->plain, &w->plain_len, a);
    if (rc != VG_OK) {
        return rc;
    }
    size_t ad_len = 0;
    w->ad = s_aead_ad(&ad_len, body->alert_id.data, sender, a->recipients.items, a->recipients.n);
    w->cipher = malloc(w->plain_len + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    if (w->ad == NULL || w->cipher == NULL) {
        return VG_ERR_NOMEM;
    }
    randombytes_buf(nonce, VG_NONCE_LEN);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(w->cipher, &clen, w->plain, w->plain_len, w->ad,
                                               ad_len, NULL, nonce, w->key);
    s_commit(commit, body->alert_id.data, w->key);
    body->nonce.data = nonce;
    body->nonce.len = VG_NONCE_LEN;
    body->ciphertext.data = w->cipher;
    body->ciphertext.len = (size_t)clen;
    body->key_commitment.data = commit;
    body->key_commitment.len = VG_HASH_LEN;
    return VG_OK;
}

vg_err
vg_envelope_seal(uint8_t **out, size_t *out_len, uint8_t id_out[VG_ALERT_ID_LEN],
                 const vg_alert *alert, const vg_seal_params *params, vg_reason *why)
{
    if (sodium_init() < 0) {
        return VG_ERR_CRYPTO;
    }
    vg_err rc = s_check_sender(params, why);
    if (rc == VG_OK) {
        rc = s_check_alert(alert, params, why);
    }
    if (rc != VG_OK) {
        return rc;
    }
    uint8_t id[VG_ALERT_ID_LEN], nonce[VG_NONCE_LEN], commit[VG_HASH_LEN];
    if (params->alert_id != NULL) {
        memcpy(id, params->alert_id, sizeof id);
    } else {
        randombytes_buf(id, sizeof id);
    }
    s_seal_work w = {0};
    Vigil__EnvelopeBody body = VIGIL__ENVELOPE_BODY__INIT;
    body.alert_id.data = id;
    body.alert_id.len = sizeof id;
    body.sender = (char *)params->sender;
    body.sequence = params->sequence;
    body.created_ms = params->created_ms > 0 ? (uint64_t)params->created_ms : 0;
    body.status = alert->status ? (Vigil__Status)alert->status : VIGIL__STATUS__STATUS_ACTUAL;
    body.msg_type =
        alert->msg_type ? (Vigil__MsgType)alert->msg_type : VIGIL__MSG_TYPE__MSG_TYPE_ALERT;
    body.severity = (Vigil__Severity)alert->severity;
    body.urgency =
        alert->urgency ? (Vigil__Urgency)alert->urgency : VIGIL__URGENCY__URGENCY_UNKNOWN;
    body.n_categories = alert->categories.n;
    body.categories = alert->categories.items;
    body.network_version = vg_netdoc_version(params->doc);
    w.key = sodium_malloc(VG_CONTENT_KEY_LEN);
    w.refs = calloc(alert->n_references ? alert->n_references : 1, sizeof *w.refs);
    if (w.key == NULL || w.refs == NULL) {
        rc = VG_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < alert->n_references; i++) {
        w.refs[i].data = alert->references[i];
        w.refs[i].len = VG_ALERT_ID_LEN;
    }
    body.n_references = alert->n_references;
    body.references = w.refs;
    size_t n_tags = 0;
    rc = vg_linktag_alert(w.tags, &n_tags, alert, params->doc, params->link_keys,
                          params->link_keys != NULL ? params->n_link_keys : 0, why);
    if (rc != VG_OK) {
        goto out;
    }
    for (size_t i = 0; i < n_tags; i++) {
        w.tags_pb[i].data = w.tags[i];
        w.tags_pb[i].len = VG_LINK_TAG_LEN;
    }
    body.n_link_tags = n_tags;
    body.link_tags = w.tags_pb;
    crypto_aead_xchacha20poly1305_ietf_keygen(w.key);
    rc = s_encrypt(&w, &body, alert, params->sender, nonce, commit);
    if (rc == VG_OK) {
        rc = s_seal_keys(&w, &body, alert, params->doc);
    }
    if (rc == VG_OK) {
        rc = s_sign_body(out, out_len, &body, params);
    }
    if (rc == VG_OK && id_out != NULL) {
        memcpy(id_out, id, sizeof id);
    }
out:
    s_seal_work_fini(&w);
    return rc;
}

/* ---- verify ---------------------------------------------------------------- */

static bool
s_enum_ok(int v, int max)
{
    return v >= 1 && v <= max;
}

static vg_err
s_check_body(const Vigil__EnvelopeBody *b, const vg_netdoc *doc, vg_reason *why)
{
    if (b->sender_key.len != 0 && b->sender_key.len != VG_SEALED_KEY_LEN) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "the sender's sealed key is malformed");
    }
    if (b->alert_id.len != VG_ALERT_ID_LEN || b->sequence == 0 || b->nonce.len != VG_NONCE_LEN ||
        b->key_commitment.len != VG_HASH_LEN ||
        b->ciphertext.len < crypto_aead_xchacha20poly1305_ietf_ABYTES) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "envelope body lacks a valid alert id, sequence, nonce, commitment "
                             "or ciphertext");
    }
    if (!s_enum_ok((int)b->status, VIGIL__STATUS__STATUS_DRAFT) ||
        !s_enum_ok((int)b->msg_type, VIGIL__MSG_TYPE__MSG_TYPE_ERROR) ||
        !s_enum_ok((int)b->severity, VIGIL__SEVERITY__SEVERITY_CRITICAL) ||
        !s_enum_ok((int)b->urgency, VIGIL__URGENCY__URGENCY_IMMEDIATE)) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "envelope has an invalid status, message type, severity or urgency");
    }
    if (b->n_categories == 0 || b->n_categories > VG_CATEGORIES_MAX) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "envelope needs 1 to %d categories",
                             VG_CATEGORIES_MAX);
    }
    for (size_t i = 0; i < b->n_categories; i++) {
        if (!vg_netdoc_has_category(doc, b->categories[i])) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "category '%s' is not in the network's taxonomy",
                                 b->categories[i]);
        }
    }
    if (b->n_recipients == 0 || b->n_recipients > VG_RECIPIENTS_MAX) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "envelope needs 1 to %d recipients",
                             VG_RECIPIENTS_MAX);
    }
    vg_agency ag;
    for (size_t i = 0; i < b->n_recipients; i++) {
        const Vigil__SealedKey *r = b->recipients[i];
        if (r->sealed_key.len != VG_SEALED_KEY_LEN ||
            vg_netdoc_find(doc, r->agency, &ag) != VG_OK) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "recipient '%s' is unknown or its sealed key is malformed",
                                 r->agency);
        }
    }
    if (b->n_references > VG_REFERENCES_MAX) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "an alert references at most %d others",
                             VG_REFERENCES_MAX);
    }
    for (size_t i = 0; i < b->n_references; i++) {
        if (b->references[i].len != VG_ALERT_ID_LEN) {
            return vg_reason_set(why, VG_ERR_MALFORMED, "reference %zu is not an alert id", i + 1);
        }
    }
    if (b->n_link_tags > VG_LINK_TAGS_MAX) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "an envelope carries at most %d link tags",
                             VG_LINK_TAGS_MAX);
    }
    for (size_t i = 0; i < b->n_link_tags; i++) {
        if (b->link_tags[i].len != VG_LINK_TAG_LEN) {
            return vg_reason_set(why, VG_ERR_MALFORMED, "link tag %zu is not %d bytes", i + 1,
                                 VG_LINK_TAG_LEN);
        }
    }
    return VG_OK;
}

static vg_err
s_fill(vg_envelope *env)
{
    const Vigil__EnvelopeBody *b = env->body;
    for (size_t i = 0; i < b->n_categories; i++) {
        if (vg_strlist_add(&env->categories, b->categories[i]) != VG_OK) {
            return VG_ERR_NOMEM;
        }
    }
    for (size_t i = 0; i < b->n_recipients; i++) {
        if (vg_strlist_add(&env->recipients, b->recipients[i]->agency) != VG_OK) {
            return VG_ERR_NOMEM;
        }
    }
    return VG_OK;
}

vg_err
vg_envelope_verify(vg_envelope **out, const uint8_t *bytes, size_t len, const vg_netdoc *doc,
                   vg_reason *why)
{
    return vg_envelope_verify_claimed(out, bytes, len, doc, NULL, why);
}

vg_err
vg_envelope_verify_claimed(vg_envelope **out, const uint8_t *bytes, size_t len,
                           const vg_netdoc *doc, char claimed[VG_AGENCY_ID_MAX + 1], vg_reason *why)
{
    if (claimed != NULL) {
        claimed[0] = '\0';
    }
    if (len > VG_ENVELOPE_MAX_BYTES) {
        return vg_reason_set(why, VG_ERR_TOO_LARGE, "envelope is %zu bytes; the limit is %d", len,
                             VG_ENVELOPE_MAX_BYTES);
    }
    Vigil__SignedEnvelope *se = vigil__signed_envelope__unpack(NULL, len, bytes);
    if (se == NULL) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "not a signed envelope (does not parse)");
    }
    if (claimed != NULL && vg_agency_id_is_valid(se->signer)) {
        snprintf(claimed, VG_AGENCY_ID_MAX + 1, "%s", se->signer);
    }
    vg_envelope *env = NULL;
    vg_key_match key;
    vg_err rc = vg_signed_check(&key, doc, se->signer, se->signature.data, se->signature.len,
                                VG_DOMAIN_ENVELOPE, se->body.data, se->body.len, "envelope", why);
    if (rc != VG_OK) {
        goto out;
    }
    env = calloc(1, sizeof *env);
    if (env == NULL || (env->bytes = malloc(len ? len : 1)) == NULL) {
        rc = VG_ERR_NOMEM;
        goto out;
    }
    memcpy(env->bytes, bytes, len);
    env->len = len;
    vg_hash(env->hash, se->body.data, se->body.len);
    /* Parse only what the signature covered. */
    env->body = vigil__envelope_body__unpack(NULL, se->body.len, se->body.data);
    if (env->body == NULL) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED, "signed envelope body does not parse");
        goto out;
    }
    if (strcmp(env->body->sender, se->signer) != 0) {
        rc = vg_reason_set(why, VG_ERR_SENDER_MISMATCH,
                           "envelope signed by '%s' claims sender '%.64s'", se->signer,
                           env->body->sender);
        goto out;
    }
    rc = vg_signed_check_time(&key, env->body->created_ms, "envelope", why);
    if (rc == VG_OK) {
        rc = s_check_body(env->body, doc, why);
    }
    if (rc == VG_OK) {
        rc = s_fill(env);
    }
    const char *dup = NULL;
    if (rc == VG_OK && (rc = vg_strlist_find_duplicate(&env->recipients, &dup)) == VG_OK &&
        dup != NULL) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED, "recipient '%s' is listed twice", dup);
    }
out:
    vigil__signed_envelope__free_unpacked(se, NULL);
    if (rc != VG_OK) {
        vg_envelope_destroy(&env);
        return rc;
    }
    *out = env;
    return VG_OK;
}

void
vg_envelope_destroy(vg_envelope **env_p)
{
    if (env_p == NULL || *env_p == NULL) {
        return;
    }
    vg_envelope *env = *env_p;
    if (env->body != NULL) {
        vigil__envelope_body__free_unpacked(env->body, NULL);
    }
    vg_strlist_fini(&env->categories);
    vg_strlist_fini(&env->recipients);
    free(env->bytes);
    free(env);
    *env_p = NULL;
}

const uint8_t *
vg_envelope_id(const vg_envelope *env)
{
    return env->body->alert_id.data;
}

const char *
vg_envelope_sender(const vg_envelope *env)
{
    return env->body->sender;
}

uint64_t
vg_envelope_sequence(const vg_envelope *env)
{
    return env->body->sequence;
}

int64_t
vg_envelope_created_ms(const vg_envelope *env)
{
    return (int64_t)env->body->created_ms;
}

vg_status
vg_envelope_status(const vg_envelope *env)
{
    return (vg_status)env->body->status;
}

vg_msg_type
vg_envelope_msg_type(const vg_envelope *env)
{
    return (vg_msg_type)env->body->msg_type;
}

vg_severity
vg_envelope_severity(const vg_envelope *env)
{
    return (vg_severity)env->body->severity;
}

vg_urgency
vg_envelope_urgency(const vg_envelope *env)
{
    return (vg_urgency)env->body->urgency;
}

uint64_t
vg_envelope_network_version(const vg_envelope *env)
{
    return env->body->network_version;
}

const vg_strlist *
vg_envelope_categories(const vg_envelope *env)
{
    return &env->categories;
}

const vg_strlist *
vg_envelope_recipients(const vg_envelope *env)
{
    return &env->recipients;
}

bool
vg_envelope_has_recipient(const vg_envelope *env, const char *agency)
{
    return vg_strlist_contains(&env->recipients, agency);
}

const uint8_t *
vg_envelope_hash(const vg_envelope *env)
{
    return env->hash;
}

size_t
vg_envelope_n_link_tags(const vg_envelope *env)
{
    return env->body->n_link_tags;
}

const uint8_t *
vg_envelope_link_tag(const vg_envelope *env, size_t i)
{
    return i < env->body->n_link_tags ? env->body->link_tags[i].data : NULL;
}

const uint8_t *
vg_envelope_bytes(const vg_envelope *env, size_t *len_out)
{
    *len_out = env->len;
    return env->bytes;
}

vg_err
vg_envelope_check_policy(const vg_envelope *env, const vg_netdoc *doc, vg_strlist *required_out,
                         vg_strlist *missing, vg_reason *why)
{
    vg_strlist required = {0};
    vg_strlist absent = {0};
    vg_strlist covers = {0};
    vg_err rc =
        vg_netdoc_required(doc, (const char *const *)env->categories.items, env->categories.n,
                           vg_envelope_severity(env), vg_envelope_sender(env), &required);
    if (rc == VG_OK) { /* agencies closed when it was made: their out-of-hours cover too */
        rc = vg_netdoc_cover(doc, &required, vg_envelope_severity(env), vg_envelope_sender(env),
                             vg_envelope_created_ms(env), &covers, NULL);
    }
    for (size_t i = 0; i < covers.n && rc == VG_OK; i++) {
        rc = vg_strlist_add(&required, covers.items[i]);
    }
    vg_strlist_fini(&covers);
    /* The recipients sorted, so each required agency is looked up in O(log n). */
    size_t n_rcpt = env->recipients.n;
    char **sorted = rc == VG_OK ? malloc((n_rcpt ? n_rcpt : 1) * sizeof *sorted) : NULL;
    rc = rc == VG_OK && sorted == NULL ? VG_ERR_NOMEM : rc;
    if (sorted != NULL) {
        memcpy(sorted, env->recipients.items, n_rcpt * sizeof *sorted);
        qsort(sorted, n_rcpt, sizeof *sorted, vg_str_ptr_cmp);
    }
    for (size_t i = 0; i < required.n && rc == VG_OK; i++) {
        if (bsearch(&required.items[i], sorted, n_rcpt, sizeof *sorted, vg_str_ptr_cmp) == NULL) {
            rc = vg_strlist_add(&absent, required.items[i]);
            if (rc == VG_OK && missing != NULL) {
                rc = vg_strlist_add(missing, required.items[i]);
            }
        }
    }
    if (rc == VG_OK && absent.n > 0) {
        char names[VG_REASON_MAX / 2];
        vg_strlist_join(names, sizeof names, &absent, ",");
        rc = vg_reason_set(why, VG_ERR_MISSING_RECIPIENTS,
                           "missing mandatory recipient%s: %s (the network's sharing policy "
                           "requires %s for these categories; add %s)",
                           absent.n > 1 ? "s" : "", names, absent.n > 1 ? "them" : "it",
                           absent.n > 1 ? "them" : "it");
    }
    free(sorted);
    if (rc == VG_OK && required_out != NULL) {
        *required_out = required; /* the caller's now */
        required = (vg_strlist){0};
    }
    vg_strlist_fini(&required);
    vg_strlist_fini(&absent);
    return rc;
}

/* ---- open ------------------------------------------------------------------- */

/* The content key sealed to `me`: as a listed recipient, or as the sender
 * (which seals a copy to itself so it can read what it sent). */
static const ProtobufCBinaryData *
s_my_key(const vg_envelope *env, const char *me)
{
    for (size_t i = 0; i < env->body->n_recipients; i++) {
        if (strcmp(env->body->recipients[i]->agency, me) == 0) {
            return &env->body->recipients[i]->sealed_key;
        }
    }
    if (strcmp(env->body->sender, me) == 0 && env->body->sender_key.len > 0) {
        return &env->body->sender_key;
    }
    return NULL;
}

/* The box keys to try, in order: one set, or a keyring's active set first
 * and then its others, newest first. */
typedef struct s_box_keys {
    const vg_keyset *one;   /* a single set, or NULL */
    const vg_keyring *ring; /* a keyring, or NULL */
} s_box_keys;

static const vg_keyset *
s_box_keys_at(const s_box_keys *bk, size_t i)
{
    if (bk->one != NULL) {
        return i == 0 ? bk->one : NULL;
    }
    size_t n = vg_keyring_n(bk->ring), active = vg_keyring_active_index(bk->ring);
    if (i == 0 || i >= n) {
        return i == 0 ? vg_keyring_active(bk->ring) : NULL;
    }
    size_t j = n - i; /* n-1, n-2, ... skipping the active one */
    return vg_keyring_at(bk->ring, j <= active ? j - 1 : j);
}

/* Unseals a content key into sodium_malloc'ed key with the first box key
 * that opens it, and checks the commitment. */
static vg_err
s_unseal(uint8_t *key, const vg_envelope *env, const uint8_t *sealed, size_t sealed_len,
         const s_box_keys *bk, vg_reason *why)
{
    bool opened = false, any_box = false;
    for (size_t i = 0; !opened; i++) {
        const vg_keyset *ks = s_box_keys_at(bk, i);
        if (ks == NULL) {
            break;
        }
        const uint8_t *pk = vg_keyset_box_pk(ks);
        const uint8_t *sk = vg_keyset_box_sk(ks);
        any_box |= pk != NULL;
        opened = pk != NULL && sealed_len == VG_SEALED_KEY_LEN &&
                 crypto_box_seal_open(key, sealed, sealed_len, pk, sk) == 0;
    }
    if (!any_box) {
        return vg_reason_set(why, VG_ERR_INVALID, "these keys have no X25519 receiving key");
    }
    if (!opened) {
        return vg_reason_set(why, VG_ERR_UNSEAL,
                             "the content key sealed to us does not open with our key%s (wrong "
                             "keys for this agency, or a damaged envelope)",
                             bk->ring != NULL && vg_keyring_n(bk->ring) > 1
                                 ? " nor with any earlier one we hold"
                                 : "");
    }
    uint8_t commit[VG_HASH_LEN];
    s_commit(commit, env->body->alert_id.data, key);
    if (sodium_memcmp(commit, env->body->key_commitment.data, VG_HASH_LEN) != 0) {
        return vg_reason_set(why, VG_ERR_COMMITMENT,
                             "the content key given to us differs from the one the sender "
                             "committed to: refusing to read a different text from others");
    }
    return VG_OK;
}

static vg_err
s_content_key(uint8_t key[VG_CONTENT_KEY_LEN], const vg_envelope *env, const char *me,
              const s_box_keys *bk, vg_reason *why)
{
    const ProtobufCBinaryData *sk = me ? s_my_key(env, me) : NULL;
    if (sk == NULL) {
        return vg_reason_set(why, VG_ERR_NOT_RECIPIENT,
                             "agency '%s' is not a recipient of this alert", me ? me : "");
    }
    return s_unseal(key, env, sk->data, sk->len, bk, why);
}

static char *
s_dup_or_null(const char *s, vg_err *rc)
{
    char *d = vg_strdup(s ? s : "");
    if (d == NULL) {
        *rc = VG_ERR_NOMEM;
    }
    return d;
}

static vg_err
s_fill_alert(vg_alert *a, const vg_envelope *env, const Vigil__Alert *pb)
{
    const Vigil__EnvelopeBody *b = env->body;
    vg_err rc = VG_OK;
    memcpy(a->id, b->alert_id.data, VG_ALERT_ID_LEN);
    a->sender = s_dup_or_null(b->sender, &rc);
    a->sequence = b->sequence;
    a->created_ms = (int64_t)b->created_ms;
    a->network_version = b->network_version;
    a->status = (vg_status)b->status;
    a->msg_type = (vg_msg_type)b->msg_type;
    a->severity = (vg_severity)b->severity;
    a->urgency = (vg_urgency)b->urgency;
    for (size_t i = 0; i < b->n_categories && rc == VG_OK; i++) {
        rc = vg_strlist_add(&a->categories, b->categories[i]);
    }
    for (size_t i = 0; i < b->n_recipients && rc == VG_OK; i++) {
        rc = vg_strlist_add(&a->recipients, b->recipients[i]->agency);
    }
    if (b->n_references > 0 && rc == VG_OK) {
        a->references = calloc(b->n_references, VG_ALERT_ID_LEN);
        rc = a->references ? VG_OK : VG_ERR_NOMEM;
        for (size_t i = 0; i < b->n_references && rc == VG_OK; i++) {
            memcpy(a->references[i], b->references[i].data, VG_ALERT_ID_LEN);
            a->n_references = i + 1;
        }
    }
    a->event = s_dup_or_null(pb->event, &rc);
    a->certainty = (vg_certainty)pb->certainty;
    a->headline = s_dup_or_null(pb->headline, &rc);
    a->description = s_dup_or_null(pb->description, &rc);
    a->instruction = s_dup_or_null(pb->instruction, &rc);
    a->expires_ms = (int64_t)pb->expires_ms;
    a->sender_name = s_dup_or_null(pb->sender_name, &rc);
    a->contact = s_dup_or_null(pb->contact, &rc);
    a->web = s_dup_or_null(pb->web, &rc);
    a->language = s_dup_or_null(pb->language[0] ? pb->language : "en-GB", &rc);
    for (size_t i = 0; i < pb->n_incidents && rc == VG_OK; i++) {
        rc = vg_strlist_add(&a->incidents, pb->incidents[i]);
    }
    if (pb->n_areas > 0 && rc == VG_OK) {
        a->areas = calloc(pb->n_areas, sizeof *a->areas);
        rc = a->areas ? VG_OK : VG_ERR_NOMEM;
        for (size_t i = 0; i < pb->n_areas && rc == VG_OK; i++) {
            a->n_areas = i + 1;
            a->areas[i].desc = s_dup_or_null(pb->areas[i]->area_desc, &rc);
            for (size_t j = 0; j < pb->areas[i]->n_geocodes && rc == VG_OK; j++) {
                rc = vg_strlist_add(&a->areas[i].geocodes, pb->areas[i]->geocodes[j]);
            }
        }
    }
    if (pb->n_subjects > 0 && rc == VG_OK) {
        a->subjects = calloc(pb->n_subjects, sizeof *a->subjects);
        rc = a->subjects ? VG_OK : VG_ERR_NOMEM;
        for (size_t i = 0; i < pb->n_subjects && rc == VG_OK; i++) {
            a->n_subjects = i + 1;
            a->subjects[i].scheme = s_dup_or_null(pb->subjects[i]->scheme, &rc);
            a->subjects[i].value = s_dup_or_null(pb->subjects[i]->value, &rc);
        }
    }
    return rc;
}

/* The decrypted Alert's strings are plaintext: this allocator remembers each
 * block's size so it can wipe it on free. */
typedef struct s_block {
    size_t size;         /* bytes after the header */
    max_align_t align[]; /* keeps the payload aligned */
} s_block;

static void *
s_wiping_alloc(void *ctx, size_t size)
{
    (void)ctx;
    s_block *b = malloc(sizeof *b + size);
    if (b == NULL) {
        return NULL;
    }
    b->size = size;
    return b->align;
}

static void
s_wiping_free(void *ctx, void *p)
{
    (void)ctx;
    if (p != NULL) {
        s_block *b = (s_block *)((char *)p - offsetof(s_block, align));
        sodium_memzero(p, b->size);
        free(b);
    }
}

static ProtobufCAllocator s_wiping_allocator = {s_wiping_alloc, s_wiping_free, NULL};

static vg_err
s_decrypt(vg_alert *out, const vg_envelope *env, const uint8_t *key, vg_reason *why)
{
    const Vigil__EnvelopeBody *b = env->body;
    size_t ad_len = 0;
    vg_err rc = VG_OK;
    uint8_t *ad =
        s_aead_ad(&ad_len, b->alert_id.data, b->sender, env->recipients.items, env->recipients.n);
    size_t plen = b->ciphertext.len - crypto_aead_xchacha20poly1305_ietf_ABYTES;
    uint8_t *plain = sodium_malloc(plen ? plen : 1);
    Vigil__Alert *pb = NULL;
    if (ad == NULL || plain == NULL) {
        rc = VG_ERR_NOMEM;
        goto out;
    }
    unsigned long long got = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &got, NULL, b->ciphertext.data,
                                                   b->ciphertext.len, ad, ad_len, b->nonce.data,
                                                   key) != 0) {
        rc = vg_reason_set(why, VG_ERR_DECRYPT,
                           "the alert's ciphertext failed authentication: it was altered");
        goto out;
    }
    pb = vigil__alert__unpack(&s_wiping_allocator, (size_t)got, plain);
    if (pb == NULL) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED, "the decrypted alert does not parse");
        goto out;
    }
    memset(out, 0, sizeof *out);
    rc = s_fill_alert(out, env, pb);
    if (rc != VG_OK) {
        vg_alert_fini(out);
    }
out:
    if (pb != NULL) {
        vigil__alert__free_unpacked(pb, &s_wiping_allocator);
    }
    sodium_free(plain);
    free(ad);
    return rc;
}

static vg_err
s_open_sealed(vg_alert *out, const vg_envelope *env, const uint8_t *sealed_key,
              size_t sealed_key_len, const s_box_keys *bk, vg_reason *why)
{
    uint8_t *key = sodium_malloc(VG_CONTENT_KEY_LEN);
    if (key == NULL) {
        return VG_ERR_NOMEM;
    }
    vg_err rc = s_unseal(key, env, sealed_key, sealed_key_len, bk, why);
    if (rc == VG_OK) {
        rc = s_decrypt(out, env, key, why);
    }
    sodium_free(key);
    return rc;
}

static vg_err
s_open(vg_alert *out, const vg_envelope *env, const char *me, const s_box_keys *bk, vg_reason *why)
{
    const ProtobufCBinaryData *sk = me ? s_my_key(env, me) : NULL;
    if (sk == NULL) {
        return vg_reason_set(why, VG_ERR_NOT_RECIPIENT,
                             "agency '%s' is not a recipient of this alert", me ? me : "");
    }
    return s_open_sealed(out, env, sk->data, sk->len, bk, why);
}

/* A keyring must hold a set to open anything. */
static bool
s_ring_ok(const vg_keyring *ring)
{
    return ring != NULL && vg_keyring_n(ring) > 0;
}

vg_err
vg_envelope_open_sealed(vg_alert *out, const vg_envelope *env, const uint8_t *sealed_key,
                        size_t sealed_key_len, const vg_keyset *my_keys, vg_reason *why)
{
    s_box_keys bk = {.one = my_keys};
    return s_open_sealed(out, env, sealed_key, sealed_key_len, &bk, why);
}

vg_err
vg_envelope_open(vg_alert *out, const vg_envelope *env, const char *me, const vg_keyset *my_keys,
                 vg_reason *why)
{
    s_box_keys bk = {.one = my_keys};
    return s_open(out, env, me, &bk, why);
}

vg_err
vg_envelope_content_key(uint8_t key_out[VG_CONTENT_KEY_LEN], const vg_envelope *env, const char *me,
                        const vg_keyset *my_keys, vg_reason *why)
{
    s_box_keys bk = {.one = my_keys};
    return s_content_key(key_out, env, me, &bk, why);
}

vg_err
vg_envelope_open_ring(vg_alert *out, const vg_envelope *env, const char *me, const vg_keyring *ring,
                      vg_reason *why)
{
    if (!s_ring_ok(ring)) {
        return vg_reason_set(why, VG_ERR_INVALID, "opening needs a keyring with a key set");
    }
    s_box_keys bk = {.ring = ring};
    return s_open(out, env, me, &bk, why);
}

vg_err
vg_envelope_open_sealed_ring(vg_alert *out, const vg_envelope *env, const uint8_t *sealed_key,
                             size_t sealed_key_len, const vg_keyring *ring, vg_reason *why)
{
    if (!s_ring_ok(ring)) {
        return vg_reason_set(why, VG_ERR_INVALID, "opening needs a keyring with a key set");
    }
    s_box_keys bk = {.ring = ring};
    return s_open_sealed(out, env, sealed_key, sealed_key_len, &bk, why);
}

vg_err
vg_envelope_content_key_ring(uint8_t key_out[VG_CONTENT_KEY_LEN], const vg_envelope *env,
                             const char *me, const vg_keyring *ring, vg_reason *why)
{
    if (!s_ring_ok(ring)) {
        return vg_reason_set(why, VG_ERR_INVALID, "opening needs a keyring with a key set");
    }
    s_box_keys bk = {.ring = ring};
    return s_content_key(key_out, env, me, &bk, why);
}

/* ---- alert ------------------------------------------------------------------ */

static void
s_wipe_free(char *s)
{
    if (s != NULL) {
        sodium_memzero(s, strlen(s));
        free(s);
    }
}

static void
s_wipe_list(vg_strlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        sodium_memzero(l->items[i], strlen(l->items[i]));
    }
    vg_strlist_fini(l);
}

void
vg_alert_fini(vg_alert *a)
{
    if (a == NULL) {
        return;
    }
    free(a->sender);
    vg_strlist_fini(&a->categories);
    vg_strlist_fini(&a->recipients);
    free(a->references);
    s_wipe_free(a->event);
    s_wipe_free(a->headline);
    s_wipe_free(a->description);
    s_wipe_free(a->instruction);
    for (size_t i = 0; i < a->n_areas; i++) {
        s_wipe_free(a->areas[i].desc);
        s_wipe_list(&a->areas[i].geocodes);
    }
    free(a->areas);
    s_wipe_list(&a->incidents);
    for (size_t i = 0; i < a->n_subjects; i++) {
        s_wipe_free(a->subjects[i].scheme);
        s_wipe_free(a->subjects[i].value);
    }
    free(a->subjects);
    s_wipe_free(a->sender_name);
    s_wipe_free(a->contact);
    s_wipe_free(a->web);
    s_wipe_free(a->language);
    memset(a, 0, sizeof *a);
}
