/*
 * vigil/linktag.h — link tags: keyed hashes of an alert's subject references
 * and incidents, so that the broker can link alerts about the same subject
 * without reading them (docs/network.md, "Link tags").
 *
 * tag = BLAKE2b-256 keyed with a network link key, over "scheme:" followed
 * by the value normalised under the scheme's rule in the network document
 * (upper-casing ASCII letters, removing listed characters; leading and
 * trailing white space always go). Incidents are tagged as scheme
 * "incident". The link keys are in the document sealed to each agency's box
 * key; the broker holds none, so it can compare tags but cannot test a
 * guessed reference against them.
 *
 * Owns: nothing beyond what each function returns. Keys passed in are the
 * caller's; opened keys are written to caller memory (wipe it).
 * Thread rules: none (no shared state).
 */
#ifndef VIGIL_LIB_LINKTAG_H
#define VIGIL_LIB_LINKTAG_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/envelope.h"
#include "vigil/err.h"
#include "vigil/keys.h"
#include "vigil/netdoc.h"

#define VG_LINK_KEY_LEN 32          /* a network link key */
#define VG_LINK_TAG_LEN 32          /* one tag (BLAKE2b-256) */
#define VG_LINK_TAGS_MAX 64         /* tags in one envelope */
#define VG_LINK_KEYS_MAX 4          /* link keys one document lists (a rotation needs 2) */
#define VG_LINK_REF_MAX 256         /* bytes of a normalised "scheme:value" */
#define VG_LINK_INCIDENT "incident" /* the scheme incidents are tagged under */

/* "scheme:" + value normalised under doc's rule for scheme (none listed:
 * white space trimmed only) into out (NUL-terminated). VG_ERR_INVALID when
 * the result is empty or longer than VG_LINK_REF_MAX - 1. */
vg_err vg_linktag_normalise(char *out, size_t out_len, const vg_netdoc *doc, const char *scheme,
                            const char *value) VG_MUST_USE;

/* One tag: the keyed hash of the normalised reference. */
vg_err vg_linktag_compute(uint8_t out[VG_LINK_TAG_LEN], const uint8_t key[VG_LINK_KEY_LEN],
                          const vg_netdoc *doc, const char *scheme, const char *value) VG_MUST_USE;

/* Every tag of alert a, without duplicates, into out (room for
 * VG_LINK_TAGS_MAX): each subject whose scheme the document lists in its
 * reference schemes, and each incident, under each of the n_keys keys.
 * Never refuses an alert: a value that normalises to nothing or to more
 * than VG_LINK_REF_MAX - 1 bytes is not a reference and is not tagged, nor
 * is anything beyond VG_LINK_TAGS_MAX tags (subjects first, then
 * incidents). Subjects of other schemes (a CAP parameter, say) are never
 * tagged: they would link alerts that only share a common value. */
vg_err vg_linktag_alert(uint8_t (*out)[VG_LINK_TAG_LEN], size_t *n_out, const vg_alert *a,
                        const vg_netdoc *doc, const uint8_t (*keys)[VG_LINK_KEY_LEN], size_t n_keys,
                        vg_reason *why) VG_MUST_USE;

/* Opens the link keys doc seals to agency `me` with its box secret key
 * (keys, VG_KEY_BOX) into out (room for VG_LINK_KEYS_MAX); *n_out may be 0
 * (the document has none). VG_ERR_CRYPTO when one sealed to `me` does not
 * open. Wipe out after use. */
vg_err vg_netdoc_open_link_keys(uint8_t (*out)[VG_LINK_KEY_LEN], size_t *n_out,
                                const vg_netdoc *doc, const char *me,
                                const vg_keyset *keys) VG_MUST_USE;

/* How many link keys the document lists, and the id of the i-th. */
size_t vg_netdoc_n_link_keys(const vg_netdoc *doc);
uint32_t vg_netdoc_link_key_id(const vg_netdoc *doc, size_t i);

/* A document body (serialised NetworkDocument) with its link keys replaced
 * by keys (n of them, ids[i] each), each sealed to every agency that is
 * neither revoked nor oversight. *out is malloc'ed; free() it.
 * VG_ERR_MALFORMED for a body that does not parse, VG_ERR_INVALID for more
 * than VG_LINK_KEYS_MAX keys or a repeated or 0 id. */
vg_err vg_netdoc_body_seal_link_keys(uint8_t **out, size_t *out_len, const uint8_t *body,
                                     size_t body_len, const uint32_t *ids,
                                     const uint8_t (*keys)[VG_LINK_KEY_LEN], size_t n,
                                     vg_reason *why) VG_MUST_USE;

/* A key file of link keys: lines "ID HEX" (mode 0600). Loads up to
 * VG_LINK_KEYS_MAX into ids/keys; VG_ERR_NOT_FOUND when path does not exist,
 * VG_ERR_MALFORMED for a bad line. */
vg_err vg_linkkeys_load(uint32_t *ids, uint8_t (*keys)[VG_LINK_KEY_LEN], size_t *n_out,
                        const char *path, vg_reason *why) VG_MUST_USE;

/* Writes the file atomically (0600). */
vg_err vg_linkkeys_save(const uint32_t *ids, const uint8_t (*keys)[VG_LINK_KEY_LEN], size_t n,
                        const char *path, vg_reason *why) VG_MUST_USE;

#endif
