/* agent_keys.c — rotating an agency's keys, its card, and what the document
 * says of each key set it holds (see vigil/agent_keys.h). */
#include "vigil/agent_keys.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "vigil/log.h"
#include "vigil/util.h"

const char *
vga_key_state_name(vga_key_state s)
{
    switch (s) {
    case VGA_KEYS_CURRENT:
        return "current";
    case VGA_KEYS_PREVIOUS:
        return "previous";
    case VGA_KEYS_PENDING:
        return "pending";
    case VGA_KEYS_RETIRED:
        return "retired";
    }
    return "unknown";
}

vg_err
vga_card_json(char **out, const char *id, const char *role, const char *name, const vg_keyset *ks)
{
    if (id == NULL || ks == NULL || (vg_keyset_kinds(ks) & VG_KEY_ALL) != VG_KEY_ALL) {
        return VG_ERR_INVALID;
    }
    char sign[2 * VG_SIGN_PK_LEN + 1], box[2 * VG_BOX_PK_LEN + 1];
    vg_hex_encode(sign, sizeof sign, vg_keyset_sign_pk(ks), VG_SIGN_PK_LEN);
    vg_hex_encode(box, sizeof box, vg_keyset_box_pk(ks), VG_BOX_PK_LEN);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(id));
    if (role != NULL && role[0] != '\0') {
        json_object_set_new(o, "role", json_string(role));
    }
    if (name != NULL && name[0] != '\0') {
        json_object_set_new(o, "name", json_string(name));
    }
    json_object_set_new(o, "sign_key", json_string(sign));
    json_object_set_new(o, "box_key", json_string(box));
    json_object_set_new(o, "transport_key", json_string(vg_keyset_curve_pk_z85(ks)));
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (text == NULL) {
        return VG_ERR_NOMEM;
    }
    size_t n = strlen(text);
    *out = malloc(n + 2);
    if (*out != NULL) {
        memcpy(*out, text, n);
        memcpy(*out + n, "\n", 2);
    }
    free(text);
    return *out != NULL ? VG_OK : VG_ERR_NOMEM;
}

static bool
s_same(const uint8_t *a, const uint8_t *b)
{
    return a != NULL && b != NULL && sodium_memcmp(a, b, 32) == 0;
}

/* The earliest of the non-zero times, 0 when none is set. */
static int64_t
s_earliest(int64_t a, int64_t b, int64_t c)
{
    int64_t t = 0;
    int64_t v[3] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        t = v[i] > 0 && (t == 0 || v[i] < t) ? v[i] : t;
    }
    return t;
}

/* Whether a held set is one of the card's previous sets (any of its keys). */
static bool
s_previous(const vg_netdoc *doc, const vg_agency *card, const vg_keyset *ks, vga_key_info *out)
{
    for (size_t i = 0; i < card->n_previous; i++) {
        vg_previous_keys p;
        if (vg_netdoc_previous_keys(doc, card->id, i, &p) != VG_OK) {
            continue;
        }
        if (s_same(p.sign_pk, vg_keyset_sign_pk(ks)) || s_same(p.box_pk, vg_keyset_box_pk(ks)) ||
            s_same(p.transport_pk, vg_keyset_curve_pk(ks))) {
            out->valid_until_ms = p.valid_until_ms;
            out->compromised_ms =
                s_earliest(p.sign_compromised_ms, p.box_compromised_ms, p.transport_compromised_ms);
            return true;
        }
    }
    return false;
}

void
vga_identity_key_states(const vga_identity *id, vga_key_info *out, size_t max, size_t *n_out)
{
    const vg_keyring *ring = vga_identity_keyring(id);
    const vg_netdoc *doc = vga_identity_doc(id);
    size_t active = vg_keyring_active_index(ring);
    vg_agency card;
    bool has_card = vg_netdoc_find(doc, vga_identity_agency(id), &card) == VG_OK;
    *n_out = vg_keyring_n(ring);
    for (size_t i = 0; i < vg_keyring_n(ring) && i < max; i++) {
        const vg_keyset *ks = vg_keyring_at(ring, i);
        vga_key_info *k = &out[i];
        memset(k, 0, sizeof *k);
        const uint8_t *pks[3] = {vg_keyset_sign_pk(ks), vg_keyset_box_pk(ks),
                                 vg_keyset_curve_pk(ks)};
        uint8_t *dst[3] = {k->sign_pk, k->box_pk, k->transport_pk};
        for (int j = 0; j < 3; j++) {
            if (pks[j] != NULL) {
                memcpy(dst[j], pks[j], 32);
            }
        }
        if (has_card && i == active) {
            k->state = VGA_KEYS_CURRENT;
            k->compromised_ms =
                s_earliest(card.sign_compromised_ms, card.transport_compromised_ms, 0);
        } else if (has_card && s_previous(doc, &card, ks, k)) {
            k->state = VGA_KEYS_PREVIOUS;
        } else {
            k->state = i > active ? VGA_KEYS_PENDING : VGA_KEYS_RETIRED;
        }
    }
}

/* The card of a held set, with the role and name the document gives. */
static vg_err
s_card_of(char **out, const vga_identity *id, const vg_keyset *ks)
{
    vg_agency card;
    bool has = vg_netdoc_find(vga_identity_doc(id), vga_identity_agency(id), &card) == VG_OK;
    return vga_card_json(out, vga_identity_agency(id), has ? card.role : NULL,
                         has ? card.display_name : NULL, ks);
}

/* Appends a fresh set to the key file as it is on disk now; *card_out is
 * its card. */
static vg_err
s_append_new(char **card_out, const vga_identity *id, vg_reason *why)
{
    const vga_config *cfg = vga_identity_config(id);
    vg_keyring *ring = NULL;
    vg_keyset *fresh = NULL;
    char *card = NULL;
    vg_err rc = vg_keyring_load(&ring, cfg->keys_path, why);
    if (rc == VG_OK && vg_keyring_n(ring) >= VG_KEYRING_MAX) {
        rc = vg_reason_set(why, VG_ERR_TOO_LARGE,
                           "%s holds %d key sets already, the most one file holds", cfg->keys_path,
                           VG_KEYRING_MAX);
    }
    if (rc == VG_OK) {
        rc = vg_keyset_generate(&fresh, VG_KEY_ALL);
    }
    if (rc == VG_OK) {
        rc = s_card_of(&card, id, fresh);
    }
    if (rc == VG_OK) {
        rc = vg_keyring_add(ring, &fresh);
    }
    if (rc == VG_OK) {
        rc = vg_keyring_save(ring, cfg->keys_path, why);
    }
    if (rc == VG_OK) {
        *card_out = card;
        card = NULL;
        vg_log(VG_LOG_INFO, "agent", "keys.rotated", "agency=%s sets=%zu", cfg->id,
               vg_keyring_n(ring));
    }
    free(card);
    vg_keyset_destroy(&fresh);
    vg_keyring_destroy(&ring);
    return rc;
}

vg_err
vga_keys_rotate(char **card_out, bool *again_out, const char *config_path, vg_reason *why)
{
    vga_identity *id = NULL;
    vg_err rc = vga_identity_load(&id, config_path, 0, why);
    if (rc != VG_OK) {
        return rc;
    }
    *again_out = false;
    const vg_keyring *ring = vga_identity_keyring(id);
    size_t n = vg_keyring_n(ring);
    vga_key_info *info = calloc(n, sizeof *info);
    if (info == NULL) {
        vga_identity_destroy(&id);
        return VG_ERR_NOMEM;
    }
    vga_identity_key_states(id, info, n, &n);
    if (info[n - 1].state == VGA_KEYS_PENDING) {
        *again_out = true;
        rc = s_card_of(card_out, id, vg_keyring_at(ring, n - 1));
    } else {
        rc = s_append_new(card_out, id, why);
    }
    free(info);
    vga_identity_destroy(&id);
    return rc;
}
