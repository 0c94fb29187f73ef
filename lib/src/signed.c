/* signed.c — the signer check shared by envelopes, receipts and shares. */
#include "signed_internal.h"

#include "vigil/keys.h"

vg_err
vg_signed_check(vg_key_match *key_out, const vg_netdoc *doc, const char *signer, const uint8_t *sig,
                size_t sig_len, const char *domain, const uint8_t *body, size_t body_len,
                const char *what, vg_reason *why)
{
    vg_agency ag;
    if (vg_netdoc_find(doc, signer, &ag) != VG_OK) {
        return vg_reason_set(why, VG_ERR_UNKNOWN_SENDER,
                             "%s signer '%.64s' is not an agency of this network", what, signer);
    }
    if (ag.revoked) {
        return vg_reason_set(why, VG_ERR_REVOKED, "%s signer '%s' is revoked", what, signer);
    }
    /* The current key first (the common case: one verify), then each
     * previous one: at most 1 + VG_PREVIOUS_KEYS_MAX verifies for a bad
     * signature, a bound the document sets, not the sender. */
    for (size_t i = 0; sig_len == VG_SIGNATURE_LEN && i <= ag.n_previous; i++) {
        vg_previous_keys prev = {0};
        const uint8_t *pk = ag.sign_pk;
        if (i > 0) {
            pk = vg_netdoc_previous_keys(doc, signer, i - 1, &prev) == VG_OK ? prev.sign_pk : NULL;
        }
        if (pk != NULL && vg_verify(sig, pk, domain, body, body_len) == VG_OK) {
            if (vg_netdoc_find_sign_key(key_out, doc, signer, pk) != VG_OK) {
                return vg_reason_set(why, VG_ERR_INTERNAL, "%s: the signer's key went missing",
                                     what);
            }
            return VG_OK;
        }
    }
    return vg_reason_set(why, VG_ERR_BAD_SIGNATURE, "%s signature by '%s' is not valid", what,
                         signer);
}

vg_err
vg_signed_check_time(const vg_key_match *key, uint64_t created_ms, const char *what, vg_reason *why)
{
    int64_t t = created_ms > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)created_ms;
    return vg_key_match_check_time(key, t, what, why);
}
