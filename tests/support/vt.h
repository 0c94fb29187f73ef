/*
 * tests/support/vt.h — shared helpers for vigil's cmocka tests.
 *
 * Builds in-memory test networks through libvigil's public API only: keys
 * from vg_keyset_generate(), a JSON document in the docs/network.md format,
 * vg_netdoc_body_from_json(), vg_netdoc_sign() and vg_netdoc_verify(). Also
 * temp directories, a fully populated sample alert, and the layout of a
 * serialised Signed* message (body, signature, signer) for tamper tests.
 *
 * Helpers fail the running cmocka test on any unexpected error; they are for
 * tests only. Prefix vt_ (vigil test). Thread rules: none; one test at a time.
 */
#ifndef VIGIL_TESTS_SUPPORT_VT_H
#define VIGIL_TESTS_SUPPORT_VT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "vigil/envelope.h"
#include "vigil/err.h"
#include "vigil/keys.h"
#include "vigil/netdoc.h"
#include "vigil/util.h"
#include "vigil/wire.h"

#define VT_AGENCIES_MAX 64
#define VT_ID_MAX 64
#define VT_NETWORK_NAME "vigil-test"
#define VT_ISSUED_MS INT64_C(1796000000000)

/* ---- temp directories and files ---------------------------------------- */

/* mkdtemp("/tmp/vigil-test-XXXXXX"); malloc'ed path. */
char *vt_tmpdir_new(void);

/* Removes the tree (files and subdirectories), frees the path, NULLs it. */
void vt_tmpdir_destroy(char **dir_p);

/* malloc'ed "dir/name". */
char *vt_path(const char *dir, const char *name);

/* Writes len bytes to path (truncating), then chmods it to mode. */
void vt_write_file(const char *path, const void *data, size_t len, mode_t mode);

/* Reads a whole file (asserts it exists); malloc'ed, NUL-terminated. */
uint8_t *vt_read_file(const char *path, size_t *len_out);

/* A signing key set from a fixed Ed25519 seed (32 bytes of fill), written to
 * dir/fixed.key and loaded: the same keys every run, for golden vectors. */
vg_keyset *vt_fixed_keys(const char *dir, uint8_t fill);

/* ---- test networks ------------------------------------------------------ */

/*
 * Agency i is named: 0 "police" (role police), 1 "licensing" (licensing),
 * 2 "childrens-services" (childrens-services), 3 "home-office" (government),
 * 4.. "agency-NN" (role partner). The default document has the categories
 * of docs/network.md, the "taxi-and-cse" rule (when n >= 3), the default
 * deadlines with "high/immediate": "30m", and the escalation steps of
 * docs/network.md, its role step to role "government" (only when n >= 4,
 * as it needs an agency with the role); police's escalation contact is home-office (n >= 4).
 */
typedef struct vt_net {
    size_t n;                             /* number of agencies */
    char ids[VT_AGENCIES_MAX][VT_ID_MAX]; /* agency ids, document order */
    vg_keyset *keys[VT_AGENCIES_MAX];     /* each agency's keys (VG_KEY_ALL) */
    vg_keyset *admin;                     /* network admin (VG_KEY_SIGN) */
    vg_keyset *broker;                    /* broker (VG_KEY_SIGN | VG_KEY_CURVE) */
    json_t *json;                         /* the editable JSON document; vt_net_publish signs it */
    uint8_t *body;                        /* last body from vg_netdoc_body_from_json */
    size_t body_len;                      /* its length */
    uint8_t *signed_doc;                  /* last serialised SignedNetworkDocument */
    size_t signed_len;                    /* its length */
    vg_netdoc *doc;                       /* last verified document */
} vt_net;

/* Generates keys and the default JSON, and publishes version 1. */
vt_net *vt_net_new(size_t n_agencies);

/* Generates keys and the default JSON without publishing it. */
vt_net *vt_net_new_unpublished(size_t n_agencies);

void vt_net_destroy(vt_net **net_p);

/* json -> body -> sign (version: 0 keeps the JSON's) -> verify, replacing
 * net->body, net->signed_doc and net->doc on success. Returns the first error. */
vg_err vt_net_publish(vt_net *net, uint64_t version, vg_reason *why);

/* The JSON object of agency `id` in net->json (borrowed); fails the test if absent. */
json_t *vt_net_agency_json(vt_net *net, const char *id);

/* Marks agency `id` revoked in the JSON and publishes version+1. */
void vt_net_revoke(vt_net *net, const char *id);

/* Rotates agency `id`'s three key pairs: fresh keys become current on its
 * card, the old public keys move to a new entry of its previous_keys with
 * the overlap [rotated_ms, valid_until_ms], and version+1 is published.
 * Returns the old keys (the caller's: vg_keyset_destroy them); net->keys
 * holds the new ones. */
vg_keyset *vt_net_rotate(vt_net *net, const char *id, int64_t rotated_ms, int64_t valid_until_ms);

/* Publishes version+1 of net->json, failing the test on any error. */
void vt_net_republish(vt_net *net);

/* The keys of agency `id`; fails the test if absent. */
const vg_keyset *vt_net_keys(const vt_net *net, const char *id);

/* net->json serialised compactly; malloc'ed, free() it. */
char *vt_net_json_text(const vt_net *net);

/* Replaces the "policy" array with the parsed JSON text. */
void vt_net_set_policy(vt_net *net, const char *policy_json);

/* ---- alerts ------------------------------------------------------------- */

/* A fully populated alert for seal (every field set), with heap copies of
 * every string so tests may change them. Release with vt_alert_fini. */
void vt_alert_sample(vg_alert *a, const char *const *recipients, size_t n_recipients);

/* Frees what vt_alert_sample allocated (not for vg_envelope_open output). */
void vt_alert_fini(vg_alert *a);

/* Asserts that an opened alert carries exactly the content and routing
 * metadata of the sealed one (defaults applied where `sent` left them unset). */
void vt_alert_assert_same(const vg_alert *sent, const vg_alert *got);

/* Seal params for `sender` in net (sequence 1, created VT_ISSUED_MS + 1000). */
vg_seal_params vt_seal_params(const vt_net *net, const char *sender);

/* Seals a sample alert from sender to the recipients (asserting success).
 * *out is malloc'ed. */
void vt_seal_sample(uint8_t **out, size_t *out_len, const vt_net *net, const char *sender,
                    const char *const *recipients, size_t n_recipients,
                    const char *const *categories, size_t n_categories);

/* ---- signed-message layout ---------------------------------------------- */

/* Where each part of a serialised Signed* message (field 1 body, 2 signature,
 * 3 signer) lies. Offsets of the field payloads; everything else is framing. */
typedef struct vt_layout {
    size_t body_off, body_len;     /* field 1 payload */
    size_t sig_off, sig_len;       /* field 2 payload */
    size_t signer_off, signer_len; /* field 3 payload (0,0 when absent) */
} vt_layout;

typedef enum vt_region {
    VT_REGION_FRAMING = 0, /* tags and lengths */
    VT_REGION_BODY = 1,
    VT_REGION_SIGNATURE = 2,
    VT_REGION_SIGNER = 3,
} vt_region;

/* Parses the top level of the message (asserting it is well formed). */
void vt_layout_of(vt_layout *out, const uint8_t *buf, size_t len);

vt_region vt_region_at(const vt_layout *l, size_t pos);

/* True when the text of why mentions needle (case-sensitive). */
bool vt_reason_has(const vg_reason *why, const char *needle);

#endif
