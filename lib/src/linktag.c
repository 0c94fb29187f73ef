/* linktag.c — link tags and the network's link keys (vigil/linktag.h). */
#include "vigil/linktag.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "netdoc_internal.h"
#include "vigil.pb-c.h"

static const Vigil__ReferenceScheme *
s_scheme(const vg_netdoc *doc, const char *name)
{
    const Vigil__NetworkDocument *d = vg_netdoc_pb(doc);
    for (size_t i = 0; i < d->n_reference_schemes; i++) {
        if (strcmp(d->reference_schemes[i]->name, name) == 0) {
            return d->reference_schemes[i];
        }
    }
    return NULL;
}

vg_err
vg_linktag_normalise(char *out, size_t out_len, const vg_netdoc *doc, const char *scheme,
                     const char *value)
{
    if (scheme == NULL || value == NULL || scheme[0] == '\0' || out_len == 0) {
        return VG_ERR_INVALID;
    }
    const Vigil__ReferenceScheme *r = s_scheme(doc, scheme);
    const char *strip = r != NULL ? r->strip : "";
    int n = snprintf(out, out_len, "%s:", scheme);
    if (n < 0 || (size_t)n >= out_len) {
        return VG_ERR_INVALID;
    }
    size_t len = (size_t)n, start = len;
    while (isspace((unsigned char)*value)) {
        value++;
    }
    for (const char *p = value; *p != '\0'; p++) {
        char c = *p;
        if (c != '\0' && strchr(strip, c) != NULL) {
            continue;
        }
        if (r != NULL && r->uppercase && c >= 'a' && c <= 'z') {
            c = (char)(c - 'a' + 'A');
        }
        if (len + 1 >= out_len || len + 1 >= VG_LINK_REF_MAX) {
            return VG_ERR_INVALID;
        }
        out[len++] = c;
    }
    while (len > start && isspace((unsigned char)out[len - 1])) {
        len--;
    }
    out[len] = '\0';
    return len > start ? VG_OK : VG_ERR_INVALID;
}

vg_err
vg_linktag_compute(uint8_t out[VG_LINK_TAG_LEN], const uint8_t key[VG_LINK_KEY_LEN],
                   const vg_netdoc *doc, const char *scheme, const char *value)
{
    char ref[VG_LINK_REF_MAX];
    vg_err rc = vg_linktag_normalise(ref, sizeof ref, doc, scheme, value);
    if (rc == VG_OK) {
        crypto_generichash(out, VG_LINK_TAG_LEN, (const uint8_t *)ref, strlen(ref), key,
                           VG_LINK_KEY_LEN);
    }
    sodium_memzero(ref, sizeof ref);
    return rc;
}

/* Adds the tag of (scheme, value) under each key unless it is there, or
 * there is no room, or the value is not a reference (empty, too long). */
static void
s_add(uint8_t (*out)[VG_LINK_TAG_LEN], size_t *n, const vg_netdoc *doc,
      const uint8_t (*keys)[VG_LINK_KEY_LEN], size_t n_keys, const char *scheme, const char *value)
{
    for (size_t k = 0; k < n_keys && *n < VG_LINK_TAGS_MAX; k++) {
        uint8_t tag[VG_LINK_TAG_LEN];
        if (vg_linktag_compute(tag, keys[k], doc, scheme, value) != VG_OK) {
            return;
        }
        bool seen = false;
        for (size_t i = 0; i < *n && !seen; i++) {
            seen = sodium_memcmp(out[i], tag, VG_LINK_TAG_LEN) == 0;
        }
        if (!seen) {
            memcpy(out[(*n)++], tag, VG_LINK_TAG_LEN);
        }
    }
}

vg_err
vg_linktag_alert(uint8_t (*out)[VG_LINK_TAG_LEN], size_t *n_out, const vg_alert *a,
                 const vg_netdoc *doc, const uint8_t (*keys)[VG_LINK_KEY_LEN], size_t n_keys,
                 vg_reason *why)
{
    (void)why;
    size_t n = 0;
    for (size_t i = 0; i < a->n_subjects; i++) {
        if (a->subjects[i].scheme != NULL && s_scheme(doc, a->subjects[i].scheme) != NULL) {
            s_add(out, &n, doc, keys, n_keys, a->subjects[i].scheme, a->subjects[i].value);
        }
    }
    for (size_t i = 0; i < a->incidents.n; i++) {
        s_add(out, &n, doc, keys, n_keys, VG_LINK_INCIDENT, a->incidents.items[i]);
    }
    *n_out = n;
    return VG_OK;
}

vg_err
vg_netdoc_open_link_keys(uint8_t (*out)[VG_LINK_KEY_LEN], size_t *n_out, const vg_netdoc *doc,
                         const char *me, const vg_keyset *keys)
{
    const Vigil__NetworkDocument *d = vg_netdoc_pb(doc);
    size_t n = 0;
    for (size_t i = 0; i < d->n_link_keys && n < VG_LINK_KEYS_MAX; i++) {
        const Vigil__LinkKey *lk = d->link_keys[i];
        for (size_t j = 0; j < lk->n_sealed; j++) {
            const Vigil__SealedKey *s = lk->sealed[j];
            if (strcmp(s->agency, me) != 0) {
                continue;
            }
            if (s->sealed_key.len != VG_LINK_KEY_LEN + crypto_box_SEALBYTES ||
                crypto_box_seal_open(out[n], s->sealed_key.data, s->sealed_key.len,
                                     vg_keyset_box_pk(keys), vg_keyset_box_sk(keys)) != 0) {
                sodium_memzero(out, n * VG_LINK_KEY_LEN);
                return VG_ERR_CRYPTO;
            }
            n++;
            break;
        }
    }
    *n_out = n;
    return VG_OK;
}

size_t
vg_netdoc_n_link_keys(const vg_netdoc *doc)
{
    return vg_netdoc_pb(doc)->n_link_keys;
}

uint32_t
vg_netdoc_link_key_id(const vg_netdoc *doc, size_t i)
{
    const Vigil__NetworkDocument *d = vg_netdoc_pb(doc);
    return i < d->n_link_keys ? d->link_keys[i]->id : 0;
}

/* ---- sealing the keys into a document body ------------------------------- */

static vg_err
s_check_ids(const uint32_t *ids, size_t n, vg_reason *why)
{
    if (n > VG_LINK_KEYS_MAX) {
        return vg_reason_set(why, VG_ERR_INVALID,
                             "at most %d link keys at once (a rotation needs 2)", VG_LINK_KEYS_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (ids[i] == ids[j]) {
                return vg_reason_set(why, VG_ERR_INVALID, "link key id %u appears twice",
                                     (unsigned)ids[i]);
            }
        }
        if (ids[i] == 0) {
            return vg_reason_set(why, VG_ERR_INVALID, "link key ids start at 1");
        }
    }
    return VG_OK;
}

vg_err
vg_netdoc_body_seal_link_keys(uint8_t **out, size_t *out_len, const uint8_t *body, size_t body_len,
                              const uint32_t *ids, const uint8_t (*keys)[VG_LINK_KEY_LEN], size_t n,
                              vg_reason *why)
{
    vg_err rc = s_check_ids(ids, n, why);
    if (rc != VG_OK || sodium_init() < 0) {
        return rc != VG_OK ? rc : VG_ERR_CRYPTO;
    }
    Vigil__NetworkDocument *d = vigil__network_document__unpack(NULL, body_len, body);
    if (d == NULL) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "the document body does not parse");
    }
    size_t n_ag = d->n_agencies;
    Vigil__LinkKey lk[VG_LINK_KEYS_MAX], *lk_p[VG_LINK_KEYS_MAX];
    Vigil__SealedKey *sk = calloc(n * n_ag + 1, sizeof *sk);
    Vigil__SealedKey **sk_p = calloc(n * n_ag + 1, sizeof *sk_p);
    uint8_t *sealed = malloc((n * n_ag + 1) * (VG_LINK_KEY_LEN + crypto_box_SEALBYTES));
    if (sk == NULL || sk_p == NULL || sealed == NULL) {
        rc = VG_ERR_NOMEM;
        goto out;
    }
    size_t m = 0;
    for (size_t k = 0; k < n; k++) {
        vigil__link_key__init(&lk[k]);
        lk[k].id = ids[k];
        lk[k].sealed = &sk_p[m];
        for (size_t i = 0; i < n_ag; i++) {
            const Vigil__AgencyCard *c = d->agencies[i];
            if (c->revoked || strcmp(c->role, "oversight") == 0 ||
                c->box_key.len != VG_BOX_PK_LEN) {
                continue;
            }
            uint8_t *slot = sealed + m * (VG_LINK_KEY_LEN + crypto_box_SEALBYTES);
            if (crypto_box_seal(slot, keys[k], VG_LINK_KEY_LEN, c->box_key.data) != 0) {
                rc = VG_ERR_CRYPTO;
                goto out;
            }
            vigil__sealed_key__init(&sk[m]);
            sk[m].agency = c->id;
            sk[m].sealed_key.data = slot;
            sk[m].sealed_key.len = VG_LINK_KEY_LEN + crypto_box_SEALBYTES;
            sk_p[m] = &sk[m];
            lk[k].n_sealed++;
            m++;
        }
        lk_p[k] = &lk[k];
    }
    size_t old_n = d->n_link_keys;
    Vigil__LinkKey **old = d->link_keys;
    d->n_link_keys = n;
    d->link_keys = lk_p;
    *out_len = vigil__network_document__get_packed_size(d);
    *out = malloc(*out_len ? *out_len : 1);
    if (*out == NULL) {
        rc = VG_ERR_NOMEM;
    } else {
        vigil__network_document__pack(d, *out);
    }
    d->n_link_keys = old_n;
    d->link_keys = old;
out:
    free(sk);
    free(sk_p);
    free(sealed);
    vigil__network_document__free_unpacked(d, NULL);
    return rc;
}

/* ---- the administrator's key file ----------------------------------------- */

vg_err
vg_linkkeys_load(uint32_t *ids, uint8_t (*keys)[VG_LINK_KEY_LEN], size_t *n_out, const char *path,
                 vg_reason *why)
{
    uint8_t *text = NULL;
    size_t len = 0;
    vg_err rc = vg_file_read_private(&text, &len, path, 4096, why);
    if (rc != VG_OK) {
        return rc;
    }
    size_t n = 0;
    char *save = NULL;
    for (char *line = strtok_r((char *)text, "\n", &save); line != NULL && rc == VG_OK;
         line = strtok_r(NULL, "\n", &save)) {
        unsigned id = 0;
        char hex[2 * VG_LINK_KEY_LEN + 2] = "";
        if (line[0] == '#' || line[0] == '\0') {
            continue;
        }
        if (n == VG_LINK_KEYS_MAX || sscanf(line, "%u %65s", &id, hex) != 2 || id == 0 ||
            vg_hex_decode(keys[n], VG_LINK_KEY_LEN, hex) != VG_OK) {
            rc = vg_reason_set(why, VG_ERR_MALFORMED,
                               "%s: each line must be \"ID HEX\" (a link key id >= 1 and 64 hex "
                               "digits), at most %d lines",
                               path, VG_LINK_KEYS_MAX);
        } else {
            ids[n++] = id;
        }
        sodium_memzero(hex, sizeof hex);
    }
    sodium_memzero(text, len);
    free(text);
    if (rc == VG_OK) {
        rc = s_check_ids(ids, n, why);
    }
    if (rc == VG_OK) {
        *n_out = n;
    } else {
        sodium_memzero(keys, VG_LINK_KEYS_MAX * VG_LINK_KEY_LEN);
    }
    return rc;
}

vg_err
vg_linkkeys_save(const uint32_t *ids, const uint8_t (*keys)[VG_LINK_KEY_LEN], size_t n,
                 const char *path, vg_reason *why)
{
    char text[VG_LINK_KEYS_MAX * (2 * VG_LINK_KEY_LEN + 16) + 128];
    size_t len = (size_t)snprintf(text, sizeof text,
                                  "# vigil network link keys (secret: never give them to the "
                                  "broker)\n");
    vg_err rc = s_check_ids(ids, n, why);
    for (size_t i = 0; i < n && rc == VG_OK; i++) {
        char hex[2 * VG_LINK_KEY_LEN + 1];
        vg_hex_encode(hex, sizeof hex, keys[i], VG_LINK_KEY_LEN);
        len += (size_t)snprintf(text + len, sizeof text - len, "%u %s\n", (unsigned)ids[i], hex);
        sodium_memzero(hex, sizeof hex);
    }
    if (rc == VG_OK) {
        rc = vg_file_write_atomic(path, text, len, 0600, why);
    }
    sodium_memzero(text, sizeof text);
    return rc;
}

/* ---- validation (netdoc_internal.h) --------------------------------------- */

vg_err
vg_netdoc_validate_links_pb(const Vigil__NetworkDocument *d, vg_reason *why)
{
    for (size_t i = 0; i < d->n_reference_schemes; i++) {
        const Vigil__ReferenceScheme *r = d->reference_schemes[i];
        if (!vg_agency_id_is_valid(r->name) || strlen(r->strip) > 16) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "reference scheme '%s': a name of 1-63 of a-z, 0-9 and '-', and "
                                 "at most 16 characters to strip",
                                 r->name);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(d->reference_schemes[j]->name, r->name) == 0) {
                return vg_reason_set(why, VG_ERR_POLICY, "reference scheme '%s' appears twice",
                                     r->name);
            }
        }
    }
    if (d->n_link_keys > VG_LINK_KEYS_MAX) {
        return vg_reason_set(why, VG_ERR_POLICY, "at most %d link keys", VG_LINK_KEYS_MAX);
    }
    for (size_t i = 0; i < d->n_link_keys; i++) {
        const Vigil__LinkKey *k = d->link_keys[i];
        for (size_t j = 0; j < i; j++) {
            if (d->link_keys[j]->id == k->id) {
                return vg_reason_set(why, VG_ERR_POLICY, "link key %u appears twice",
                                     (unsigned)k->id);
            }
        }
        for (size_t j = 0; j < k->n_sealed; j++) {
            const Vigil__SealedKey *s = k->sealed[j];
            bool known = false;
            for (size_t a = 0; a < d->n_agencies && !known; a++) {
                known = strcmp(d->agencies[a]->id, s->agency) == 0;
            }
            if (k->id == 0 || !known ||
                s->sealed_key.len != VG_LINK_KEY_LEN + crypto_box_SEALBYTES) {
                return vg_reason_set(why, VG_ERR_POLICY,
                                     "link key %u: an id >= 1, sealed only to agencies of the "
                                     "network (80 bytes each)",
                                     (unsigned)k->id);
            }
        }
    }
    return VG_OK;
}
