/* fz_fixture.c — see fz_fixture.h. */
#define _XOPEN_SOURCE 700

#include "fz_fixture.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "vigil.pb-c.h"
#include "vigil/util.h"
#include "vigil/wire.h"

#define S_JSON_MAX 16384

/* libFuzzer calls the entry point without a context: the fixture is the
 * process's one piece of mutable state, like a log sink. */
static fz_world s_world;
static int s_built;

static void
s_die(const char *what, vg_err rc, const vg_reason *why)
{
    fprintf(stderr, "fz_fixture: %s: %s: %s\n", what, vg_err_code(rc), why ? why->text : "");
    abort();
}

char *
fz_path(const char *name)
{
    const fz_world *w = fz_world_get();
    size_t n = strlen(w->dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p == NULL) {
        abort();
    }
    snprintf(p, n, "%s/%s", w->dir, name);
    return p;
}

void
fz_write_file(const char *path, const void *data, size_t len, unsigned mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (fd < 0 || fchmod(fd, (mode_t)mode) != 0) {
        perror(path);
        abort();
    }
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0) {
            perror(path);
            abort();
        }
        p += n;
        len -= (size_t)n;
    }
    close(fd);
}

/* 32 bytes derived from the owner's name and a purpose. */
static void
s_derive(uint8_t out[32], const char *name, const char *purpose)
{
    char label[160];
    snprintf(label, sizeof label, "vigil-fuzz/%s/%s", name, purpose);
    crypto_generichash(out, 32, (const uint8_t *)label, strlen(label), NULL, 0);
}

/* Writes a key file for name with the wanted kinds and loads it. */
static vg_keyset *
s_keys(const char *dir, const char *name, unsigned kinds)
{
    char text[1024];
    int n = snprintf(text, sizeof text, "vigil-secret-keys 1\n");
    uint8_t seed[32], pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    char hex[2 * crypto_sign_SECRETKEYBYTES + 1];
    if (kinds & VG_KEY_SIGN) {
        s_derive(seed, name, "sign");
        crypto_sign_seed_keypair(pk, sk, seed);
        vg_hex_encode(hex, sizeof hex, sk, sizeof sk);
        n += snprintf(text + n, sizeof text - (size_t)n, "sign-secret %s\n", hex);
    }
    if (kinds & VG_KEY_BOX) {
        s_derive(seed, name, "box");
        vg_hex_encode(hex, sizeof hex, seed, 32);
        n += snprintf(text + n, sizeof text - (size_t)n, "box-secret %s\n", hex);
    }
    if (kinds & VG_KEY_CURVE) {
        char z85[64];
        s_derive(seed, name, "curve");
        vg_z85_encode_key(z85, seed);
        n += snprintf(text + n, sizeof text - (size_t)n, "curve-secret %s\n", z85);
    }
    snprintf(text + n, sizeof text - (size_t)n, "end\n");
    char path[128];
    snprintf(path, sizeof path, "%s/%s.key", dir, name);
    fz_write_file(path, text, strlen(text), 0600);
    sodium_memzero(text, sizeof text);
    sodium_memzero(sk, sizeof sk);
    vg_keyset *ks = NULL;
    vg_reason why = {{0}};
    vg_err rc = vg_keyset_load(&ks, path, &why);
    if (rc != VG_OK) {
        s_die("load fixture keys", rc, &why);
    }
    unlink(path);
    return ks;
}

/* Appends one agency card to the JSON text. */
static int
s_card(char *out, size_t cap, const char *id, const char *role, const vg_keyset *ks, bool revoked,
       bool last)
{
    char sign[2 * VG_SIGN_PK_LEN + 1], box[2 * VG_BOX_PK_LEN + 1];
    vg_hex_encode(sign, sizeof sign, vg_keyset_sign_pk(ks), VG_SIGN_PK_LEN);
    vg_hex_encode(box, sizeof box, vg_keyset_box_pk(ks), VG_BOX_PK_LEN);
    return snprintf(out, cap,
                    "{\"id\":\"%s\",\"role\":\"%s\",\"name\":\"%s\",\"sign_key\":\"%s\","
                    "\"box_key\":\"%s\",\"transport_key\":\"%s\",\"revoked\":%s}%s",
                    id, role, id, sign, box, vg_keyset_curve_pk_z85(ks), revoked ? "true" : "false",
                    last ? "" : ",");
}

static char *
s_json(const fz_world *w)
{
    static const char *const roles[FZ_N_AGENCIES] = {"police", "licensing", "childrens-services",
                                                     "government", "partner"};
    char *j = malloc(S_JSON_MAX);
    if (j == NULL) {
        abort();
    }
    char bsign[2 * VG_SIGN_PK_LEN + 1];
    vg_hex_encode(bsign, sizeof bsign, vg_keyset_sign_pk(w->broker), VG_SIGN_PK_LEN);
    int n = snprintf(j, S_JSON_MAX,
                     "{\"network\":\"vigil-fuzz\",\"version\":1,\"issued\":%lld,"
                     "\"broker\":{\"sign_key\":\"%s\",\"transport_key\":\"%s\"},"
                     "\"categories\":[\"taxi\",\"cse\",\"missing-child\",\"other\"],"
                     "\"agencies\":[",
                     (long long)FZ_ISSUED_MS, bsign, vg_keyset_curve_pk_z85(w->broker));
    for (size_t i = 0; i < FZ_N_AGENCIES; i++) {
        n += s_card(j + n, S_JSON_MAX - (size_t)n, w->ids[i], roles[i], w->agency[i],
                    i == FZ_N_AGENCIES - 1, i == FZ_N_AGENCIES - 1);
    }
    snprintf(j + n, S_JSON_MAX - (size_t)n,
             "],\"policy\":[{\"name\":\"taxi-and-cse\",\"categories\":[\"taxi\",\"cse\"],"
             "\"min_severity\":\"low\",\"must_reach\":[\"licensing\",\"police\","
             "\"childrens-services\"],\"must_reach_roles\":[]}],"
             "\"deadlines\":{\"critical\":\"15m\",\"high\":\"1h\",\"medium\":\"24h\","
             "\"low\":\"72h\",\"high/immediate\":\"30m\"},"
             "\"escalation\":[{\"after\":\"0s\",\"target\":\"redeliver\"},"
             "{\"after\":\"2h\",\"target\":\"role\",\"role\":\"government\"}]}");
    return j;
}

static int
s_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 ? 0 : 0; /* best effort: a scratch directory */
}

static void
s_rm_dir(void)
{
    nftw(s_world.dir, s_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
s_build(fz_world *w)
{
    static const char *const ids[FZ_N_AGENCIES] = {"police", "licensing", "childrens-services",
                                                   "home-office", "old-agency"};
    if (sodium_init() < 0) {
        abort();
    }
    snprintf(w->dir, sizeof w->dir, "/tmp/vigil-fuzz-XXXXXX");
    if (mkdtemp(w->dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
    atexit(s_rm_dir);
    for (size_t i = 0; i < FZ_N_AGENCIES; i++) {
        w->ids[i] = ids[i];
        w->agency[i] = s_keys(w->dir, ids[i], VG_KEY_SIGN | VG_KEY_BOX | VG_KEY_CURVE);
    }
    w->admin = s_keys(w->dir, "admin", VG_KEY_SIGN);
    w->broker = s_keys(w->dir, "broker", VG_KEY_SIGN | VG_KEY_CURVE);
    w->json = s_json(w);
    uint8_t *body = NULL;
    size_t body_len = 0;
    vg_reason why = {{0}};
    vg_err rc = vg_netdoc_body_from_json(&body, &body_len, w->json, &why);
    if (rc != VG_OK) {
        s_die("fixture document", rc, &why);
    }
    rc = vg_netdoc_sign(&w->signed_doc, &w->signed_len, body, body_len, 1, w->admin, &why);
    free(body);
    if (rc == VG_OK) {
        rc = vg_netdoc_verify(&w->doc, w->signed_doc, w->signed_len, vg_keyset_sign_pk(w->admin), 0,
                              &why);
    }
    if (rc != VG_OK) {
        s_die("sign fixture document", rc, &why);
    }
}

const fz_world *
fz_world_get(void)
{
    if (!s_built) {
        s_build(&s_world);
        s_built = 1;
    }
    return &s_world;
}

const vg_keyset *
fz_keys(const char *id)
{
    const fz_world *w = fz_world_get();
    for (size_t i = 0; i < FZ_N_AGENCIES; i++) {
        if (strcmp(w->ids[i], id) == 0) {
            return w->agency[i];
        }
    }
    return NULL;
}

uint8_t *
fz_sign_wrap(size_t *out_len, fz_kind kind, const char *signer, const uint8_t *body,
             size_t body_len)
{
    const fz_world *w = fz_world_get();
    static const char *const domains[] = {"", VG_DOMAIN_ENVELOPE, VG_DOMAIN_RECEIPT,
                                          VG_DOMAIN_SHARE, VG_DOMAIN_NETDOC};
    const vg_keyset *ks = kind == FZ_NETDOC ? w->admin : fz_keys(signer);
    uint8_t sig[VG_SIGNATURE_LEN];
    if (ks == NULL || vg_sign(sig, ks, domains[kind], body, body_len) != VG_OK) {
        abort();
    }
    ProtobufCBinaryData b = {body_len, (uint8_t *)body}, s = {sizeof sig, sig};
    uint8_t *out = NULL;
    size_t len = 0;
    if (kind == FZ_NETDOC) {
        Vigil__SignedNetworkDocument m = VIGIL__SIGNED_NETWORK_DOCUMENT__INIT;
        m.body = b;
        m.signature = s;
        len = vigil__signed_network_document__get_packed_size(&m);
        out = malloc(len + 1);
        if (out != NULL) {
            vigil__signed_network_document__pack(&m, out);
        }
    } else {
        /* The three signed records share one layout: body, signature, signer. */
        Vigil__SignedEnvelope m = VIGIL__SIGNED_ENVELOPE__INIT;
        m.body = b;
        m.signature = s;
        m.signer = (char *)signer;
        len = vigil__signed_envelope__get_packed_size(&m);
        out = malloc(len + 1);
        if (out != NULL) {
            vigil__signed_envelope__pack(&m, out);
        }
    }
    if (out == NULL) {
        abort();
    }
    *out_len = len;
    return out;
}
