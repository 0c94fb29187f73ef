/* netdocs.c — which network documents an envelope may be sealed under (see netdocs.h). */
#include "netdocs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/log.h"

/* An older document: the agencies whose box key it gives differently from
 * the current one (or that it does not have). */
typedef struct s_older {
    uint64_t version;   /* its version */
    vg_strlist changed; /* agency ids */
} s_older;

struct vgb_netdocs {
    uint64_t current; /* the version in force */
    s_older *older;   /* every older version the store holds */
    size_t n_older;   /* count */
    vg_err load_rc;   /* first error while reading the store's documents */
};

typedef struct s_load {
    vgb_netdocs *d;           /* being built */
    const vg_netdoc *current; /* the document in force */
    const uint8_t *admin_pk;  /* the pinned admin key */
} s_load;

/* Agencies of `cur` whose box key in `old` differs or is missing. */
static vg_err
s_changed(vg_strlist *out, const vg_netdoc *old, const vg_netdoc *cur)
{
    vg_err rc = VG_OK;
    for (size_t i = 0; i < vg_netdoc_n_agencies(cur) && rc == VG_OK; i++) {
        vg_agency now, then;
        vg_netdoc_agency_at(cur, i, &now);
        if (vg_netdoc_find(old, now.id, &then) != VG_OK ||
            memcmp(then.box_pk, now.box_pk, VG_BOX_PK_LEN) != 0) {
            rc = vg_strlist_add(out, now.id);
        }
    }
    return rc;
}

static void
s_load_one(void *ctx, uint64_t version, const uint8_t *bytes, size_t len)
{
    s_load *l = ctx;
    vgb_netdocs *d = l->d;
    if (version >= d->current || d->load_rc != VG_OK) {
        return;
    }
    vg_netdoc *old = NULL;
    vg_reason why = {{0}};
    if (vg_netdoc_verify(&old, bytes, len, l->admin_pk, 0, &why) != VG_OK ||
        vg_netdoc_version(old) != version) {
        vg_log(VG_LOG_WARN, "broker", "netdoc.unusable", "version=%llu reason=\"%s\"",
               (unsigned long long)version, why.text[0] ? why.text : "version differs");
        vg_netdoc_destroy(&old);
        return;
    }
    s_older *grown = realloc(d->older, (d->n_older + 1) * sizeof *grown);
    if (grown == NULL) {
        d->load_rc = VG_ERR_NOMEM;
        vg_netdoc_destroy(&old);
        return;
    }
    d->older = grown;
    s_older *o = &d->older[d->n_older++];
    *o = (s_older){.version = version};
    d->load_rc = s_changed(&o->changed, old, l->current);
    vg_netdoc_destroy(&old);
}

vg_err
vgb_netdocs_load(vgb_netdocs **out, vgb_store *store, const vg_netdoc *current,
                 const uint8_t admin_pk[VG_SIGN_PK_LEN], vg_reason *why)
{
    vgb_netdocs *d = calloc(1, sizeof *d);
    if (d == NULL) {
        return VG_ERR_NOMEM;
    }
    d->current = vg_netdoc_version(current);
    size_t len = 0;
    const uint8_t *bytes = vg_netdoc_signed_bytes(current, &len);
    vg_err rc = vgb_store_begin(store, why);
    if (rc == VG_OK) {
        rc = vgb_store_add_network_document(store, d->current, bytes, len, why);
        rc = rc == VG_OK ? vgb_store_commit(store, why) : rc;
        if (rc != VG_OK) {
            vgb_store_rollback(store);
        }
    }
    s_load l = {d, current, admin_pk};
    if (rc == VG_OK) {
        rc = vgb_store_network_documents(store, s_load_one, &l);
    }
    rc = rc == VG_OK ? d->load_rc : rc;
    if (rc != VG_OK) {
        vgb_netdocs_destroy(&d);
        return rc == VG_ERR_NOMEM ? rc
                                  : vg_reason_set(why, rc,
                                                  "cannot read the network documents in the "
                                                  "store: %s",
                                                  vg_strerror(rc));
    }
    vg_log(VG_LOG_INFO, "broker", "netdoc.known", "current=%llu older=%zu",
           (unsigned long long)d->current, d->n_older);
    *out = d;
    return VG_OK;
}

void
vgb_netdocs_destroy(vgb_netdocs **d_p)
{
    if (d_p == NULL || *d_p == NULL) {
        return;
    }
    vgb_netdocs *d = *d_p;
    for (size_t i = 0; i < d->n_older; i++) {
        vg_strlist_fini(&d->older[i].changed);
    }
    free(d->older);
    free(d);
    *d_p = NULL;
}

vg_err
vgb_netdocs_check_sealed(const vgb_netdocs *d, uint64_t version, const char *const *agencies,
                         size_t n_agencies, vg_reason *why)
{
    unsigned long long cur = (unsigned long long)d->current;
    if (version == d->current) {
        return VG_OK;
    }
    if (version == 0 || version > d->current) {
        return vg_reason_set(why, VG_ERR_STALE_VERSION,
                             "sealed under network document version %llu but the broker has "
                             "version %llu: %s",
                             (unsigned long long)version, cur,
                             version == 0 ? "every envelope names the document it was sealed "
                                            "under; seal it under the current one"
                                          : "the administrator must install the new document "
                                            "on the broker");
    }
    const s_older *o = NULL;
    for (size_t i = 0; i < d->n_older && o == NULL; i++) {
        o = d->older[i].version == version ? &d->older[i] : NULL;
    }
    if (o == NULL) {
        return vg_reason_set(why, VG_ERR_STALE_VERSION,
                             "sealed under network document version %llu, which this broker "
                             "never held (it has %llu): seal it again under the current "
                             "document (vigil-agent fetches it from the broker)",
                             (unsigned long long)version, cur);
    }
    char names[VG_REASON_MAX / 2] = "";
    size_t used = 0, n_bad = 0;
    for (size_t i = 0; i < n_agencies; i++) {
        if (!vg_strlist_contains(&o->changed, agencies[i])) {
            continue;
        }
        int w = snprintf(names + used, sizeof names - used, "%s%s", n_bad ? "," : "", agencies[i]);
        used += w > 0 && (size_t)w < sizeof names - used ? (size_t)w : 0;
        n_bad++;
    }
    if (n_bad == 0) {
        return VG_OK;
    }
    return vg_reason_set(why, VG_ERR_STALE_VERSION,
                         "sealed under network document version %llu, but the box key of %s "
                         "changed since (the broker has version %llu): they could not open it; "
                         "seal it again under the current document",
                         (unsigned long long)version, names, cur);
}

vg_err
vgb_netdocs_check_next(const vg_netdoc *cur, const vg_netdoc *next, vg_reason *why)
{
    if (strcmp(vg_netdoc_network(cur), vg_netdoc_network(next)) != 0) {
        return vg_reason_set(why, VG_ERR_INVALID,
                             "the document is for network '%s'; this broker serves '%s'",
                             vg_netdoc_network(next), vg_netdoc_network(cur));
    }
    if (vg_netdoc_version(next) <= vg_netdoc_version(cur)) {
        return vg_reason_set(why, VG_ERR_STALE_VERSION,
                             "the document is version %llu; the broker runs version %llu: sign a "
                             "newer one (vigilctl network sign raises the version)",
                             (unsigned long long)vg_netdoc_version(next),
                             (unsigned long long)vg_netdoc_version(cur));
    }
    size_t n = vg_netdoc_n_agencies(cur);
    if (vg_netdoc_n_agencies(next) < n) {
        return vg_reason_set(why, VG_ERR_INVALID,
                             "the document has %zu agencies, fewer than the %zu in force: a card "
                             "is never removed (revoke it instead)",
                             vg_netdoc_n_agencies(next), n);
    }
    for (size_t i = 0; i < n; i++) {
        vg_agency was, now;
        vg_netdoc_agency_at(cur, i, &was);
        vg_netdoc_agency_at(next, i, &now);
        if (strcmp(was.id, now.id) != 0) {
            return vg_reason_set(why, VG_ERR_INVALID,
                                 "agency %zu is '%s' in the document but '%s' in the one in "
                                 "force: keep every agency where it is and add new ones at the "
                                 "end (a card is never removed or moved: revoke it instead)",
                                 i + 1, now.id, was.id);
        }
        if (was.revoked && !now.revoked) {
            return vg_reason_set(why, VG_ERR_INVALID,
                                 "'%s' is revoked in the document in force and not in this one: "
                                 "a revoked agency is never brought back; give it a new id",
                                 was.id);
        }
    }
    return VG_OK;
}

vg_err
vgb_netdocs_advance(vgb_netdocs *d, const vg_netdoc *cur, const vg_netdoc *next)
{
    vg_strlist changed = {0};
    vg_err rc = s_changed(&changed, cur, next);
    s_older *grown = rc == VG_OK ? realloc(d->older, (d->n_older + 1) * sizeof *grown) : NULL;
    if (grown == NULL) {
        vg_strlist_fini(&changed);
        return VG_ERR_NOMEM;
    }
    d->older = grown;
    /* What changed since cur changed since every older one too (an older
     * key that cur had changed already stays listed). */
    vg_strlist *merged = calloc(d->n_older, sizeof *merged);
    for (size_t i = 0; merged != NULL && i < d->n_older && rc == VG_OK; i++) {
        const vg_strlist *was = &d->older[i].changed;
        for (size_t k = 0; k < was->n && rc == VG_OK; k++) {
            rc = vg_strlist_add(&merged[i], was->items[k]);
        }
        for (size_t k = 0; k < changed.n && rc == VG_OK; k++) {
            rc = vg_strlist_contains(&merged[i], changed.items[k])
                     ? VG_OK
                     : vg_strlist_add(&merged[i], changed.items[k]);
        }
    }
    if (merged == NULL || rc != VG_OK) {
        for (size_t i = 0; merged != NULL && i < d->n_older; i++) {
            vg_strlist_fini(&merged[i]);
        }
        free(merged);
        vg_strlist_fini(&changed);
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < d->n_older; i++) {
        vg_strlist_fini(&d->older[i].changed);
        d->older[i].changed = merged[i];
    }
    free(merged);
    d->older[d->n_older++] = (s_older){.version = d->current, .changed = changed};
    d->current = vg_netdoc_version(next);
    return VG_OK;
}

/* The newest stored document's bytes (vgb_netdoc_fn). */
typedef struct s_newest {
    uint64_t version; /* the highest seen */
    uint8_t *bytes;   /* its bytes (malloc'ed) */
    size_t len;       /* their length */
    bool nomem;       /* a copy failed */
} s_newest;

static void
s_newest_one(void *ctx, uint64_t version, const uint8_t *bytes, size_t len)
{
    s_newest *n = ctx;
    if (version <= n->version) {
        return;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL) {
        n->nomem = true;
        return;
    }
    memcpy(copy, bytes, len);
    free(n->bytes);
    *n = (s_newest){.version = version, .bytes = copy, .len = len};
}

vg_err
vgb_netdocs_adopt_newest(vgb_store *store, const uint8_t admin_pk[VG_SIGN_PK_LEN],
                         const uint8_t broker_curve_pk[VG_CURVE_KEY_LEN], vg_netdoc **doc_p,
                         vg_reason *why)
{
    s_newest n = {.version = vg_netdoc_version(*doc_p)};
    vg_err rc = vgb_store_network_documents(store, s_newest_one, &n);
    rc = rc == VG_OK && n.nomem ? VG_ERR_NOMEM : rc;
    vg_netdoc *doc = NULL;
    if (rc == VG_OK && n.bytes != NULL) {
        rc = vg_netdoc_verify(&doc, n.bytes, n.len, admin_pk, vg_netdoc_version(*doc_p), why);
    }
    if (rc == VG_OK && doc != NULL &&
        memcmp(vg_netdoc_broker_transport_pk(doc), broker_curve_pk, VG_CURVE_KEY_LEN) != 0) {
        rc = vg_reason_set(why, VG_ERR_CONFIG,
                           "the store's newest network document (version %llu) names another "
                           "broker transport key than this broker holds",
                           (unsigned long long)n.version);
    }
    if (rc == VG_OK && doc != NULL) {
        vg_log(VG_LOG_INFO, "broker", "netdoc.adopted", "version=%llu was=%llu source=store",
               (unsigned long long)vg_netdoc_version(doc),
               (unsigned long long)vg_netdoc_version(*doc_p));
        vg_netdoc_destroy(doc_p);
        *doc_p = doc;
        doc = NULL;
    }
    vg_netdoc_destroy(&doc);
    free(n.bytes);
    return rc;
}

vg_err
vgb_netdocs_check_version(vgb_store *store, const vg_netdoc *doc, const char *path, vg_reason *why)
{
    uint64_t seen = 0;
    uint64_t have = vg_netdoc_version(doc);
    vg_err rc = vgb_store_network_version(store, &seen);
    if (rc == VG_OK && have < seen) {
        return vg_reason_set(why, VG_ERR_STALE_VERSION,
                             "%s is network document version %llu but this store was already "
                             "served with version %llu: install the current signed document "
                             "(an older one could bring back revoked keys)",
                             path, (unsigned long long)have, (unsigned long long)seen);
    }
    if (rc == VG_OK && have > seen && (rc = vgb_store_begin(store, why)) == VG_OK) {
        rc = vgb_store_set_network_version(store, have, why);
        rc = rc == VG_OK ? vgb_store_commit(store, why) : rc;
        if (rc != VG_OK) {
            vgb_store_rollback(store);
        }
    }
    return rc;
}
