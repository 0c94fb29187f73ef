/*
 * identity.c — config + secret keys + verified network document, checked
 * against each other so that a swapped key file or a document from another
 * network is found before anything is sealed or sent.
 */
#include "vigil/agent_config.h"

#include <sodium.h>
#include <stdlib.h>

struct vga_identity {
    vga_config *config; /* owned */
    vg_keyset *keys;    /* owned; secrets in sodium_malloc memory */
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

static vg_err
s_check(const vga_identity *id, vg_reason *why)
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
    vg_err err =
        s_match(vg_keyset_sign_pk(id->keys), card.sign_pk, VG_SIGN_PK_LEN, "sign", cfg, why);
    if (err == VG_OK) {
        err = s_match(vg_keyset_box_pk(id->keys), card.box_pk, VG_BOX_PK_LEN, "box", cfg, why);
    }
    if (err == VG_OK) {
        err = s_match(vg_keyset_curve_pk(id->keys), card.transport_pk, VG_CURVE_KEY_LEN, "curve",
                      cfg, why);
    }
    if (err != VG_OK) {
        return err;
    }
    if (sodium_memcmp(cfg->broker_pk, vg_netdoc_broker_transport_pk(id->doc), VG_CURVE_KEY_LEN) !=
        0) {
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
        err = vg_keyset_load(&id->keys, id->config->keys_path, why);
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
    vg_keyset_destroy(&id->keys);
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
    return id->keys;
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
