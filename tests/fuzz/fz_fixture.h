/*
 * fz_fixture.h — a fixed, deterministic network for the fuzz targets and the
 * seed generator.
 *
 * Every key is derived from its owner's name (BLAKE2b of "vigil-fuzz/" and the
 * name), written as a vigil secret key file and loaded with vg_keyset_load,
 * so the same bytes verify in every run and every build: seeds made by
 * fz_gen_seeds stay valid. The document (version 1, fixed issued time) has
 * the agencies police, licensing, childrens-services, home-office and a
 * revoked "old-agency", the taxi-and-cse rule of docs/network.md, and the
 * broker's keys. These keys are test keys, public by design.
 *
 * The fixture also owns one scratch directory (for targets that must go
 * through a file) and signs arbitrary bodies, so a target can reach the body
 * parser behind a valid signature ("sign-through" mode).
 *
 * Failures to build the fixture abort(): they are bugs in the test, not
 * findings. Thread rules: single-threaded (libFuzzer runs one input at a time).
 */
#ifndef VIGIL_TESTS_FUZZ_FZ_FIXTURE_H
#define VIGIL_TESTS_FUZZ_FZ_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/keys.h"
#include "vigil/netdoc.h"

#define FZ_N_AGENCIES 5 /* police, licensing, childrens-services, home-office, old-agency */
#define FZ_ISSUED_MS INT64_C(1796000000000)

typedef struct fz_world {
    const char *ids[FZ_N_AGENCIES];   /* agency ids, document order */
    vg_keyset *agency[FZ_N_AGENCIES]; /* each agency's keys (sign, box, curve) */
    vg_keyset *admin;                 /* network administrator (sign) */
    vg_keyset *broker;                /* broker (sign, curve) */
    vg_netdoc *doc;                   /* the verified document */
    uint8_t *signed_doc;              /* its serialised SignedNetworkDocument */
    size_t signed_len;                /* its length */
    char *json;                       /* the JSON it was built from */
    char dir[64];                     /* scratch directory, removed at exit */
} fz_world;

/* The fixture, built on first use (aborts on failure). Borrowed; lives until exit. */
const fz_world *fz_world_get(void);

/* A path inside the scratch directory; malloc'ed, free() it. */
char *fz_path(const char *name);

/* Writes len bytes to path with mode (truncating); aborts on failure. */
void fz_write_file(const char *path, const void *data, size_t len, unsigned mode);

/* Which Signed* message to wrap a body in. */
typedef enum fz_kind {
    FZ_ENVELOPE = 1, /* SignedEnvelope, VG_DOMAIN_ENVELOPE */
    FZ_RECEIPT = 2,  /* SignedReceipt, VG_DOMAIN_RECEIPT */
    FZ_SHARE = 3,    /* SignedShare, VG_DOMAIN_SHARE */
    FZ_NETDOC = 4,   /* SignedNetworkDocument, VG_DOMAIN_NETDOC (no signer field) */
} fz_kind;

/* Signs body as signer (an agency id of the fixture; ignored for FZ_NETDOC,
 * which the admin signs) and serialises the Signed* message. malloc'ed; free(). */
uint8_t *fz_sign_wrap(size_t *out_len, fz_kind kind, const char *signer, const uint8_t *body,
                      size_t body_len);

/* The keys of agency id, or NULL. */
const vg_keyset *fz_keys(const char *id);

#endif
