/* share.c — onward sharing: a recipient re-seals the content key to another agency. */
#include "vigil/share.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "signed_internal.h"
#include "vigil.pb-c.h"

#define S_SHARE_MAX_BYTES (4 * VG_SHORT_TEXT_MAX + 512)

struct vg_share {
    uint8_t *bytes;            /* exact serialised SignedShare, owned */
    size_t len;                /* its length */
    Vigil__ShareBody *body;    /* parsed, verified body, owned */
    uint8_t hash[VG_HASH_LEN]; /* BLAKE2b-256 of the signed body bytes */
};

static vg_err
s_check_target(const vg_envelope *env, const char *to, const vg_netdoc *doc, vg_reason *why)
{
    vg_agency ag;
    if (to == NULL || vg_netdoc_find(doc, to, &ag) != VG_OK) {
        return vg_reason_set(why, VG_ERR_NOT_FOUND,
                             "cannot share with '%s': not an agency of "
                             "this network",
                             to ? to : "");
    }
    if (ag.revoked) {
        return vg_reason_set(why, VG_ERR_REVOKED, "cannot share with '%s': it is revoked", to);
    }
    if (strcmp(ag.role, VG_ROLE_OVERSIGHT) == 0) {
        return vg_reason_set(why, VG_ERR_INVALID,
                             "cannot share with '%s': an oversight agency sees every alert's "
                             "metadata and never its content",
                             to);
    }
    if (strcmp(vg_envelope_sender(env), to) == 0) {
        return vg_reason_set(why, VG_ERR_DUPLICATE, "'%s' sent this alert: it has it already", to);
    }
    if (vg_envelope_has_recipient(env, to)) {
        return vg_reason_set(why, VG_ERR_DUPLICATE, "'%s' is already a recipient of this alert",
                             to);
    }
    return VG_OK;
}

static vg_err
s_pack_signed(uint8_t **out, size_t *out_len, const Vigil__ShareBody *body, const vg_keyset *keys)
{
    size_t blen = vigil__share_body__get_packed_size(body);
    uint8_t *bbuf = malloc(blen);
    if (bbuf == NULL) {
        return VG_ERR_NOMEM;
    }
    vigil__share_body__pack(body, bbuf);
    uint8_t sig[VG_SIGNATURE_LEN];
    vg_err rc = vg_sign(sig, keys, VG_DOMAIN_SHARE, bbuf, blen);
    if (rc == VG_OK) {
        Vigil__SignedShare ss = VIGIL__SIGNED_SHARE__INIT;
        ss.body.data = bbuf;
        ss.body.len = blen;
        ss.signature.data = sig;
        ss.signature.len = sizeof sig;
        ss.signer = body->sharer;
        size_t slen = vigil__signed_share__get_packed_size(&ss);
        uint8_t *sbuf = malloc(slen);
        if (sbuf == NULL) {
            rc = VG_ERR_NOMEM;
        } else {
            vigil__signed_share__pack(&ss, sbuf);
            *out = sbuf;
            *out_len = slen;
        }
    }
    free(bbuf);
    return rc;
}

/* Shares env with `to`: the content key is unsealed with `one` (a key set)
 * or else `ring` (every set it holds), and the record is signed with `one`
 * or the ring's active set. */
static vg_err
s_create(uint8_t **out, size_t *out_len, const vg_envelope *env, const char *me,
         const vg_keyset *one, const vg_keyring *ring, const char *to, const char *reason,
         int64_t created_ms, const vg_netdoc *doc, vg_reason *why)
{
    if (reason == NULL || reason[0] == '\0' || strlen(reason) > VG_SHORT_TEXT_MAX) {
        return vg_reason_set(why, VG_ERR_INVALID, "sharing needs a reason of 1 to %d bytes",
                             VG_SHORT_TEXT_MAX);
    }
    vg_err rc = s_check_target(env, to, doc, why);
    if (rc != VG_OK) {
        return rc;
    }
    uint8_t *key = sodium_malloc(VG_CONTENT_KEY_LEN);
    if (key == NULL) {
        return VG_ERR_NOMEM;
    }
    uint8_t sealed[VG_SEALED_KEY_LEN];
    rc = one != NULL ? vg_envelope_content_key(key, env, me, one, why)
                     : vg_envelope_content_key_ring(key, env, me, ring, why);
    if (rc == VG_OK) {
        vg_agency ag;
        rc = vg_netdoc_find(doc, to, &ag);
        if (rc == VG_OK && crypto_box_seal(sealed, key, VG_CONTENT_KEY_LEN, ag.box_pk) != 0) {
            rc = VG_ERR_CRYPTO;
        }
    }
    sodium_free(key);
    if (rc != VG_OK) {
        return rc;
    }
    Vigil__ShareBody body = VIGIL__SHARE_BODY__INIT;
    body.alert_id.data = (uint8_t *)vg_envelope_id(env);
    body.alert_id.len = VG_ALERT_ID_LEN;
    body.envelope_hash.data = (uint8_t *)vg_envelope_hash(env);
    body.envelope_hash.len = VG_HASH_LEN;
    body.sharer = (char *)me;
    body.to_agency = (char *)to;
    body.sealed_key.data = sealed;
    body.sealed_key.len = sizeof sealed;
    body.reason = (char *)reason;
    body.created_ms = created_ms > 0 ? (uint64_t)created_ms : 0;
    body.network_version = vg_netdoc_version(doc);
    return s_pack_signed(out, out_len, &body, one != NULL ? one : vg_keyring_active(ring));
}

vg_err
vg_share_create(uint8_t **out, size_t *out_len, const vg_envelope *env, const char *me,
                const vg_keyset *my_keys, const char *to, const char *reason, int64_t created_ms,
                const vg_netdoc *doc, vg_reason *why)
{
    if (my_keys == NULL) {
        return vg_reason_set(why, VG_ERR_INVALID, "sharing needs the sharer's keys");
    }
    return s_create(out, out_len, env, me, my_keys, NULL, to, reason, created_ms, doc, why);
}

vg_err
vg_share_create_ring(uint8_t **out, size_t *out_len, const vg_envelope *env, const char *me,
                     const vg_keyring *my_keys, const char *to, const char *reason,
                     int64_t created_ms, const vg_netdoc *doc, vg_reason *why)
{
    if (my_keys == NULL || vg_keyring_active(my_keys) == NULL) {
        return vg_reason_set(why, VG_ERR_INVALID, "sharing needs the sharer's keys");
    }
    return s_create(out, out_len, env, me, NULL, my_keys, to, reason, created_ms, doc, why);
}

static vg_err
s_check_body(const Vigil__ShareBody *b, const vg_netdoc *doc, vg_reason *why)
{
    vg_agency ag;
    if (b->alert_id.len != VG_ALERT_ID_LEN || b->envelope_hash.len != VG_HASH_LEN ||
        b->sealed_key.len != VG_SEALED_KEY_LEN) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "share lacks a valid alert id, envelope hash or sealed key");
    }
    if (b->reason[0] == '\0' || strlen(b->reason) > VG_SHORT_TEXT_MAX) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "share needs a reason of 1 to %d bytes",
                             VG_SHORT_TEXT_MAX);
    }
    if (vg_netdoc_find(doc, b->to_agency, &ag) != VG_OK) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "share names unknown agency '%.64s'",
                             b->to_agency);
    }
    if (ag.revoked) {
        return vg_reason_set(why, VG_ERR_REVOKED, "share names revoked agency '%s'", b->to_agency);
    }
    if (strcmp(b->to_agency, b->sharer) == 0) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "an agency cannot share with itself");
    }
    return VG_OK;
}

vg_err
vg_share_verify(vg_share **out, const uint8_t *bytes, size_t len, const vg_netdoc *doc,
                vg_reason *why)
{
    if (len > S_SHARE_MAX_BYTES) {
        return vg_reason_set(why, VG_ERR_TOO_LARGE, "share is %zu bytes; the limit is %d", len,
                             S_SHARE_MAX_BYTES);
    }
    Vigil__SignedShare *ss = vigil__signed_share__unpack(NULL, len, bytes);
    if (ss == NULL) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "not a signed share (does not parse)");
    }
    vg_share *s = NULL;
    vg_key_match key;
    vg_err rc = vg_signed_check(&key, doc, ss->signer, ss->signature.data, ss->signature.len,
                                VG_DOMAIN_SHARE, ss->body.data, ss->body.len, "share", why);
    if (rc != VG_OK) {
        goto out;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL || (s->bytes = malloc(len ? len : 1)) == NULL) {
        rc = VG_ERR_NOMEM;
        goto out;
    }
    memcpy(s->bytes, bytes, len);
    s->len = len;
    vg_hash(s->hash, ss->body.data, ss->body.len);
    s->body = vigil__share_body__unpack(NULL, ss->body.len, ss->body.data);
    if (s->body == NULL) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED, "signed share body does not parse");
        goto out;
    }
    if (strcmp(s->body->sharer, ss->signer) != 0) {
        rc =
            vg_reason_set(why, VG_ERR_SENDER_MISMATCH, "share signed by '%s' claims sharer '%.64s'",
                          ss->signer, s->body->sharer);
        goto out;
    }
    rc = vg_signed_check_time(&key, s->body->created_ms, "share", why);
    if (rc == VG_OK) {
        rc = s_check_body(s->body, doc, why);
    }
out:
    vigil__signed_share__free_unpacked(ss, NULL);
    if (rc != VG_OK) {
        vg_share_destroy(&s);
        return rc;
    }
    *out = s;
    return VG_OK;
}

void
vg_share_destroy(vg_share **s_p)
{
    if (s_p == NULL || *s_p == NULL) {
        return;
    }
    vg_share *s = *s_p;
    if (s->body != NULL) {
        vigil__share_body__free_unpacked(s->body, NULL);
    }
    free(s->bytes);
    free(s);
    *s_p = NULL;
}

bool
vg_share_matches(const vg_share *s, const vg_envelope *env)
{
    return sodium_memcmp(s->body->alert_id.data, vg_envelope_id(env), VG_ALERT_ID_LEN) == 0 &&
           sodium_memcmp(s->body->envelope_hash.data, vg_envelope_hash(env), VG_HASH_LEN) == 0;
}

const uint8_t *
vg_share_alert_id(const vg_share *s)
{
    return s->body->alert_id.data;
}

const uint8_t *
vg_share_envelope_hash(const vg_share *s)
{
    return s->body->envelope_hash.data;
}

const char *
vg_share_sharer(const vg_share *s)
{
    return s->body->sharer;
}

const char *
vg_share_to(const vg_share *s)
{
    return s->body->to_agency;
}

const char *
vg_share_reason(const vg_share *s)
{
    return s->body->reason;
}

int64_t
vg_share_created_ms(const vg_share *s)
{
    return (int64_t)s->body->created_ms;
}

uint64_t
vg_share_network_version(const vg_share *s)
{
    return s->body->network_version;
}

const uint8_t *
vg_share_sealed_key(const vg_share *s, size_t *len_out)
{
    *len_out = s->body->sealed_key.len;
    return s->body->sealed_key.data;
}

const uint8_t *
vg_share_hash(const vg_share *s)
{
    return s->hash;
}

const uint8_t *
vg_share_bytes(const vg_share *s, size_t *len_out)
{
    *len_out = s->len;
    return s->bytes;
}
