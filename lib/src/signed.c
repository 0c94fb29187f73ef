/* signed.c — the signer check shared by envelopes, receipts and shares. */
#include "signed_internal.h"

#include "vigil/keys.h"

vg_err
vg_signed_check(const vg_netdoc *doc, const char *signer, const uint8_t *sig, size_t sig_len,
                const char *domain, const uint8_t *body, size_t body_len, const char *what,
                vg_reason *why)
{
    vg_agency ag;
    if (vg_netdoc_find(doc, signer, &ag) != VG_OK) {
        return vg_reason_set(why, VG_ERR_UNKNOWN_SENDER,
                             "%s signer '%.64s' is not an agency of this network", what, signer);
    }
    if (ag.revoked) {
        return vg_reason_set(why, VG_ERR_REVOKED, "%s signer '%s' is revoked", what, signer);
    }
    if (sig_len != VG_SIGNATURE_LEN ||
        vg_verify(sig, ag.sign_pk, domain, body, body_len) != VG_OK) {
        return vg_reason_set(why, VG_ERR_BAD_SIGNATURE, "%s signature by '%s' is not valid", what,
                             signer);
    }
    return VG_OK;
}
