/*
 * identity.c — config + secret keys + verified network document, checked
 * against each other so that a swapped key file or a document from another
 * network is found before anything is sealed or sent.
 *
 * The key file may hold several key sets (an agency that rotated keeps its
 * old ones): the set in use is the one the document lists as the agency's
 * current keys, so an agent switches to new keys only once its document
 * says so, and opens with every box key it holds.
 */
#include "vigil/agent_config.h"

#include <sodium.h>
#include <stdlib.h>

#include "vigil/log.h"

struct vga_identity {
    vga_config *config; /* owned */
    vg_keyring *ring;   /* owned; every key set held, active = the card's; secrets in
                           sodium_malloc memory */
    vg_netdoc *doc;     /* owned; verified against config->admin_pk */
};

/* Compares one public key of the key file with the card's. */
static vg_err
s_match(const uint8_t *mine, const uint8_t *card, size_t len, const char *what,
        const vga_config *cfg, vg_reason *why)
{
    if (mine == NULL) {
        return vg_reason_set(why, VG_ERR_CONFIG,
                             "%s: the key file has no %s key: an agency key file needs "
                             "sign, box and curve keys (vigilctl init writes one)",
                             cfg->keys_path, what);
    }
    if (sodium_memcmp(mine, card, len) != 0) {
        return vg_reason_set(why, VG_ERR_CONFIG,
                             "%s: the %s key is not the one on agency '%s''s card in %s: the "
                             "key file was replaced or belongs to another agency or network; "
                             "restore the right key file or have the admin issue a new card",
                             cfg->keys_path, what, cfg->id, cfg->document_path);
    }
    return VG_OK;
}

/* The index of the held set whose three public keys are the card's current
 * ones, newest first, or -1. */
static int
s_card_set(const vg_keyring *ring, const vg_agency *card)
{
    for (size_t i = vg_keyring_n(ring); i-- > 0;) {
        const vg_keyset *ks = vg_keyring_at(ring, i);
        const uint8_t *sign = vg_keyset_sign_pk(ks), *box = vg_keyset_box_pk(ks),
                      *curve = vg_keyset_curve_pk(ks);
        if (sign != NULL && box != NULL && curve != NULL &&
            sodium_memcmp(sign, card->sign_pk, VG_SIGN_PK_LEN) == 0 &&
            sodium_memcmp(box, card->box_pk, VG_BOX_PK_LEN) == 0 &&
            sodium_memcmp(curve, card->transport_pk, VG_CURVE_KEY_LEN) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Why no held set is the card's: with one set, which key differs. */
static vg_err
s_no_card_set(const vga_identity *id, const vg_agency *card, vg_reason *why)
{
    const vga_config *cfg = id->config;
    size_t n = vg_keyring_n(id->ring);
    if (n > 1) {
        return vg_reason_set(why, VG_ERR_CONFIG,
                             "%s: none of its %zu key sets is the one on agency '%s''s card in "
                             "%s (version %llu): the card lists keys this agency does not hold; "
                             "restore the key file, or have the admin put this agency's card "
                             "back ('vigil-agent keys list' shows what it holds)",
                             cfg->keys_path, n, cfg->id, cfg->document_path,
                             (unsigned long long)vg_netdoc_version(id->doc));
    }
    const vg_keyset *ks = vg_keyring_at(id->ring, 0);
    vg_err err = s_match(vg_keyset_sign_pk(ks), card->sign_pk, VG_SIGN_PK_LEN, "sign", cfg, why);
    if (err == VG_OK) {
        err = s_match(vg_keyset_box_pk(ks), card->box_pk, VG_BOX_PK_LEN, "box", cfg, why);
    }
    if (err == VG_OK) {
        err = s_match(vg_keyset_curve_pk(ks), card->transport_pk, VG_CURVE_KEY_LEN, "curve", cfg,
                      why);
    }
    return err;
}

/* True when pk is the document's broker transport key, or one it had before
 * a rotation: an agent.conf written before the rotation still works (the
 * connection uses the document's current key). */
static bool
s_broker_key_known(const vg_netdoc *doc, const uint8_t pk[VG_CURVE_KEY_LEN])
{
    if (sodium_memcmp(pk, vg_netdoc_broker_transport_pk(doc), VG_CURVE_KEY_LEN) == 0) {
        return true;
    }
    for (size_t i = 0; i < vg_netdoc_n_previous_broker_keys(doc); i++) {
        vg_broker_keys bk;
        vg_netdoc_previous_broker_keys_at(doc, i, &bk);
        if (bk.transport_pk != NULL && sodium_memcmp(pk, bk.transport_pk, VG_CURVE_KEY_LEN) == 0) {
            return true;
        }
    }
    return false;
}

static vg_err
s_check(vga_identity *id, vg_reason *why)
{
    const vga_config *cfg = id->config;
    vg_agency card;
    if (vg_netdoc_find(id->doc, cfg->id, &card) != VG_OK) {
        return vg_reason_set(why, VG_ERR_NOT_FOUND,
                             "%s: agency '%s' is not in the network document %s (network %s, "
                             "version %llu): check [agent] id or get the current document",
                             cfg->path, cfg->id, cfg->document_path, vg_netdoc_network(id->doc),
                             (unsigned long long)vg_netdoc_version(id->doc));
    }
    if (card.revoked) {
        return vg_reason_set(why, VG_ERR_REVOKED,
                             "agency '%s' is revoked in %s (version %llu): its keys are no "
                             "longer trusted; the admin must issue new keys",
                             cfg->id, cfg->document_path,
                             (unsigned long long)vg_netdoc_version(id->doc));
    }
    int i = s_card_set(id->ring, &card);
    if (i < 0) {
        return s_no_card_set(id, &card, why);
    }
    if (vg_keyring_set_active(id->ring, (size_t)i) != VG_OK) {
        return VG_ERR_INTERNAL;
    }
    if (!s_broker_key_known(id->doc, cfg->broker_pk)) {
        return vg_reason_set(why, VG_ERR_CONFIG,
                             "%s: [broker] public_key is not the broker transport key in %s: "
                             "copy it from 'vigilctl network show'",
                             cfg->path, cfg->document_path);
    }
    return VG_OK;
}

vg_err
vga_identity_load(vga_identity **out, const char *config_path, uint64_t min_version, vg_reason *why)
{
    if (out == NULL || config_path == NULL) {
        return vg_reason_set(why, VG_ERR_INVALID,
                             "vga_identity_load: out and config_path are required");
    }
    vga_identity *id = calloc(1, sizeof *id);
    if (id == NULL) {
        return vg_reason_set(why, VG_ERR_NOMEM, "out of memory loading %s", config_path);
    }
    vg_err err = vga_config_load(&id->config, config_path, why);
    if (err == VG_OK) {
        err = vg_keyring_load(&id->ring, id->config->keys_path, why);
    }
    if (err == VG_OK) {
        err = vg_netdoc_load(&id->doc, id->config->document_path, id->config->admin_pk, min_version,
                             why);
    }
    if (err == VG_OK) {
        err = s_check(id, why);
    }
    if (err != VG_OK) {
        vga_identity_destroy(&id);
        return err;
    }
    *out = id;
    return VG_OK;
}

void
vga_identity_destroy(vga_identity **id_p)
{
    if (id_p == NULL || *id_p == NULL) {
        return;
    }
    vga_identity *id = *id_p;
    vg_netdoc_destroy(&id->doc);
    vg_keyring_destroy(&id->ring);
    vga_config_destroy(&id->config);
    free(id);
    *id_p = NULL;
}

const vga_config *
vga_identity_config(const vga_identity *id)
{
    return id->config;
}

const vg_keyset *
vga_identity_keys(const vga_identity *id)
{
    return vg_keyring_active(id->ring);
}

const vg_keyring *
vga_identity_keyring(const vga_identity *id)
{
    return id->ring;
}

vg_err
vga_identity_follow(vga_identity *id, const vg_netdoc *doc, bool *switched, vg_reason *why)
{
    const vga_config *cfg = id->config;
    vg_agency card;
    *switched = false;
    if (vg_netdoc_find(doc, cfg->id, &card) != VG_OK) {
        return vg_reason_set(why, VG_ERR_NOT_FOUND,
                             "agency '%s' is not in network document version %llu", cfg->id,
                             (unsigned long long)vg_netdoc_version(doc));
    }
    if (card.revoked) {
        return vg_reason_set(why, VG_ERR_REVOKED,
                             "agency '%s' is revoked in network document version %llu", cfg->id,
                             (unsigned long long)vg_netdoc_version(doc));
    }
    int i = s_card_set(id->ring, &card);
    if (i < 0) {
        /* rotated since this process loaded its keys: read the file again */
        vg_keyring *ring = NULL;
        vg_err err = vg_keyring_load(&ring, cfg->keys_path, why);
        if (err != VG_OK) {
            return err;
        }
        if ((i = s_card_set(ring, &card)) < 0) {
            vg_keyring_destroy(&ring);
            return vg_reason_set(why, VG_ERR_CONFIG,
                                 "network document version %llu lists keys for '%s' that %s does "
                                 "not hold: signing with the previous ones",
                                 (unsigned long long)vg_netdoc_version(doc), cfg->id,
                                 cfg->keys_path);
        }
        vg_keyring_destroy(&id->ring);
        id->ring = ring;
        *switched = true;
    }
    *switched |= (size_t)i != vg_keyring_active_index(id->ring);
    return vg_keyring_set_active(id->ring, (size_t)i);
}

const vg_netdoc *
vga_identity_doc(const vga_identity *id)
{
    return id->doc;
}

const char *
vga_identity_agency(const vga_identity *id)
{
    return id->config->id;
}
