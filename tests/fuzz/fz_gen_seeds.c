/*
 * fz_gen_seeds.c — writes valid seed inputs for every fuzz target, made with
 * the library itself against the fixture network (fz_fixture.h), into
 * OUTDIR/<target>/seed-*.
 *
 *     fz_gen_seeds tests/fuzz/corpus
 *
 * Run it again only when a wire format changes; the seeds are committed.
 * Alert ids are fixed, content keys and nonces are fresh each run.
 */
#define _XOPEN_SOURCE 700

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fz_fixture.h"
#include "store.h"
#include "vigil.pb-c.h"
#include "vigil/envelope.h"
#include "vigil/receipt.h"
#include "vigil/share.h"
#include "vigil/util.h"

static const char *s_out;

static void
s_check(vg_err rc, const vg_reason *why, const char *what)
{
    if (rc != VG_OK) {
        fprintf(stderr, "fz_gen_seeds: %s: %s: %s\n", what, vg_err_code(rc), why ? why->text : "");
        exit(1);
    }
}

/* Writes OUT/target/name with a mode byte (mode < 0: none) before data. */
static void
s_seed(const char *target, const char *name, int mode, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", s_out, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/seed-%s", s_out, target, name);
    uint8_t *buf = malloc(len + 1);
    if (buf == NULL) {
        exit(1);
    }
    size_t n = 0;
    if (mode >= 0) {
        buf[n++] = (uint8_t)mode;
    }
    memcpy(buf + n, data, len);
    fz_write_file(path, buf, n + len, 0644);
    free(buf);
}

/* The body of a serialised Signed* message (envelope, receipt and share
 * share one layout); malloc'ed. */
static uint8_t *
s_body_of(const uint8_t *msg, size_t len, size_t *body_len)
{
    Vigil__SignedEnvelope *m = vigil__signed_envelope__unpack(NULL, len, msg);
    if (m == NULL) {
        exit(1);
    }
    uint8_t *body = malloc(m->body.len + 1);
    memcpy(body, m->body.data, m->body.len);
    *body_len = m->body.len;
    vigil__signed_envelope__free_unpacked(m, NULL);
    return body;
}

/* Mode byte that makes fz_sign_wrap sign as agency index i. */
static int
s_mode_for(size_t agency_index)
{
    return (int)(agency_index << 1 | 1u);
}

/* Seeds a signed message raw (mode 0) and its body signed through (odd mode). */
static void
s_seed_both(const char *target, const char *name, size_t signer, const uint8_t *msg, size_t len)
{
    char n2[128];
    snprintf(n2, sizeof n2, "%s-raw", name);
    s_seed(target, n2, 0, msg, len);
    size_t body_len = 0;
    uint8_t *body = s_body_of(msg, len, &body_len);
    snprintf(n2, sizeof n2, "%s-body", name);
    s_seed(target, n2, s_mode_for(signer), body, body_len);
    free(body);
}

static uint8_t *
s_seal(size_t *len, const char *sender, size_t sender_i, uint8_t id_byte, const char *cat,
       const char *to_csv, bool full, uint64_t seq)
{
    const fz_world *w = fz_world_get();
    vg_alert a = {0};
    vg_reason why = {{0}};
    a.severity = full ? VG_SEV_CRITICAL : VG_SEV_HIGH;
    a.headline = "Taxi drivers linked to child sexual exploitation";
    s_check(vg_strlist_add(&a.categories, cat), NULL, "category");
    s_check(vg_strlist_split(&a.recipients, to_csv, &why), &why, "recipients");
    vg_subject subj = {"taxi-licence", "TL-0417"};
    char *geo[] = {"ons:E08000018"};
    vg_area area = {"Rotherham", {geo, 1, 1}};
    uint8_t refs[1][VG_ALERT_ID_LEN] = {{0x11}};
    if (full) {
        a.status = VG_STATUS_EXERCISE;
        a.msg_type = VG_MSG_UPDATE;
        a.urgency = VG_URG_IMMEDIATE;
        a.certainty = VG_CERT_LIKELY;
        a.event = "Child sexual exploitation";
        a.description = "Three reports name drivers licensed by the council.";
        a.instruction = "Review the licences named.";
        a.subjects = &subj;
        a.n_subjects = 1;
        a.areas = &area;
        a.n_areas = 1;
        a.references = refs;
        a.n_references = 1;
        a.expires_ms = FZ_ISSUED_MS + 86400000;
        a.sender_name = "Duty desk";
        a.contact = "duty@example.org";
        a.web = "https://example.org/a";
        a.language = "en-GB";
        s_check(vg_strlist_add(&a.incidents, "op-taxi"), NULL, "incident");
    }
    uint8_t id[VG_ALERT_ID_LEN];
    memset(id, id_byte, sizeof id);
    vg_seal_params p = {w->doc, sender, w->agency[sender_i], seq, FZ_ISSUED_MS + 1000, id, NULL, 0};
    uint8_t *env = NULL;
    s_check(vg_envelope_seal(&env, len, NULL, &a, &p, &why), &why, "seal");
    vg_strlist_fini(&a.categories);
    vg_strlist_fini(&a.recipients);
    vg_strlist_fini(&a.incidents);
    return env;
}

static vg_envelope *
s_verified(const uint8_t *env, size_t len)
{
    vg_envelope *e = NULL;
    vg_reason why = {{0}};
    s_check(vg_envelope_verify(&e, env, len, fz_world_get()->doc, &why), &why, "verify");
    return e;
}

static void
s_receipt(const char *name, const vg_envelope *const *envs, size_t n, vg_receipt_kind kind)
{
    vg_receipt_item items[4];
    for (size_t i = 0; i < n; i++) {
        memcpy(items[i].alert_id, vg_envelope_id(envs[i]), VG_ALERT_ID_LEN);
        memcpy(items[i].envelope_hash, vg_envelope_hash(envs[i]), VG_HASH_LEN);
    }
    vg_receipt_spec spec = {.agency = "licensing",
                            .kind = kind,
                            .created_ms = FZ_ISSUED_MS + 2000,
                            .items = items,
                            .n_items = n,
                            .officer = kind == VG_RECEIPT_ACKNOWLEDGED ? "Sgt A. Example" : NULL,
                            .note = "seen",
                            .reason =
                                (kind == VG_RECEIPT_DECLINED || kind == VG_RECEIPT_IN_PROGRESS)
                                    ? "another team handles this"
                                    : NULL,
                            .network_version = 1};
    uint8_t *r = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    s_check(vg_receipt_sign(&r, &len, &spec, fz_keys("licensing"), &why), &why, "receipt");
    s_seed_both("receipt", name, 1, r, len);
    free(r);
}

static uint8_t *
s_file(const char *path, size_t *len)
{
    uint8_t *data = NULL;
    vg_reason why = {{0}};
    s_check(vg_file_read(&data, len, path, 64 * 1024 * 1024, &why), &why, path);
    return data;
}

/* A real store with alerts, recipients, a receipt and a rejection; seeded
 * closed (database only) and open (database + WAL, as after a SIGKILL). */
static void
s_store(vg_envelope *const *envs, size_t n, const uint8_t *receipt, size_t receipt_len)
{
    char *dir = fz_path("genstore");
    char *db = fz_path("genstore/vigil.db");
    char *wal = fz_path("genstore/vigil.db-wal");
    vgb_store *s = NULL;
    vg_reason why = {{0}};
    s_check(vgb_store_open(&s, dir, &why), &why, "store open");
    s_check(vgb_store_begin(s, &why), &why, "begin");
    vg_strlist required = {0};
    s_check(vg_strlist_add(&required, "licensing"), NULL, "required");
    uint64_t seqs[8];
    for (size_t i = 0; i < n; i++) {
        s_check(
            vgb_store_insert_alert(s, envs[i], FZ_ISSUED_MS + 1500, &required, 0, &seqs[i], &why),
            &why, "insert");
    }
    s_check(vgb_store_insert_rejection(s, FZ_ISSUED_MS, "police", NULL, "malformed", "seed"), NULL,
            "rejection");
    s_check(vgb_store_commit(s, &why), &why, "commit");
    size_t db_len = 0, wal_len = 0;
    uint8_t *d = s_file(db, &db_len), *wl = s_file(wal, &wal_len);
    uint8_t *both = malloc(4 + db_len + wal_len);
    both[0] = (uint8_t)db_len;
    both[1] = (uint8_t)(db_len >> 8);
    both[2] = (uint8_t)(db_len >> 16);
    both[3] = (uint8_t)(db_len >> 24);
    memcpy(both + 4, d, db_len);
    memcpy(both + 4 + db_len, wl, wal_len);
    s_seed("store", "open-with-wal", 1, both, 4 + db_len + wal_len);
    free(both);
    free(d);
    free(wl);
    /* A delivered receipt in a second transaction, then a clean close. */
    vg_receipt *r = NULL;
    s_check(vg_receipt_verify(&r, receipt, receipt_len, fz_world_get()->doc, &why), &why,
            "receipt verify");
    bool changed = false;
    s_check(vgb_store_begin(s, &why), &why, "begin");
    s_check(vgb_store_mark_delivered(s, seqs[0], "licensing", FZ_ISSUED_MS + 3000, &changed), NULL,
            "mark");
    s_check(vgb_store_insert_receipt(s, r, seqs, 1, FZ_ISSUED_MS + 3000), NULL, "insert receipt");
    s_check(vgb_store_commit(s, &why), &why, "commit");
    vg_receipt_destroy(&r);
    vg_strlist_fini(&required);
    vgb_store_mark_sound(s); /* so that closing it checkpoints the WAL into the database */
    vgb_store_destroy(&s);
    d = s_file(db, &db_len);
    s_seed("store", "closed", 0, d, db_len);
    free(d);
    free(wal);
    free(db);
    free(dir);
}

static void
s_text_seeds(void)
{
    const fz_world *w = fz_world_get();
    s_seed("netdoc_json", "fixture", -1, w->json, strlen(w->json));
    s_seed("netdoc", "fixture-raw", 0, w->signed_doc, w->signed_len);
    Vigil__SignedNetworkDocument *m =
        vigil__signed_network_document__unpack(NULL, w->signed_len, w->signed_doc);
    s_seed("netdoc", "fixture-body", 1, m->body.data, m->body.len);
    vigil__signed_network_document__free_unpacked(m, NULL);
    char *path = fz_path("gen.key");
    vg_reason why = {{0}};
    const char *names[] = {"agency", "admin", "broker"};
    const vg_keyset *sets[] = {w->agency[0], w->admin, w->broker};
    for (size_t i = 0; i < 3; i++) {
        s_check(vg_keyset_save(sets[i], path, &why), &why, "save keys");
        size_t len = 0;
        uint8_t *text = s_file(path, &len);
        s_seed("keyset", names[i], -1, text, len);
        free(text);
    }
    free(path);
    static const char conf[] =
        "; broker.conf with every key set\n"
        "[broker]\n"
        "bind = tcp://127.0.0.1:7600\n"
        "keys = broker.key\n"
        "store = store\n"
        "log_level = info\n"
        "max_clock_skew = 5m\n"
        "inflight = 64\n"
        "redeliver = 5s\n"
        "redeliver_max = 5m\n"
        "batch = 256\n"
        "offline_alarm = 5m\n"
        "checkpoint_leaves = 256\n"
        "checkpoint_interval = 10s\n"
        "timers = 4096\n"
        "wal_checkpoint_pages = 1000\n"
        "[network]\n"
        "document = network.signed\n"
        "admin_key = 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
    s_seed("broker_config", "full", -1, conf, sizeof conf - 1);
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fz_gen_seeds OUTDIR (e.g. tests/fuzz/corpus)\n");
        return 2;
    }
    s_out = argv[1];
    mkdir(s_out, 0755);
    const fz_world *w = fz_world_get();
    size_t len[3];
    uint8_t *env[3];
    env[0] = s_seal(&len[0], "police", 0, 0xa1, "other", "licensing", false, 1);
    env[1] = s_seal(&len[1], "home-office", 3, 0xa2, "taxi", "police,licensing,childrens-services",
                    true, 2);
    env[2] = s_seal(&len[2], "police", 0, 0xa3, "cse", "licensing,childrens-services", false, 3);
    s_seed_both("envelope", "minimal", 0, env[0], len[0]);
    s_seed_both("envelope", "full", 3, env[1], len[1]);
    s_seed_both("envelope", "policy", 0, env[2], len[2]);
    vg_envelope *v[3];
    for (size_t i = 0; i < 3; i++) {
        v[i] = s_verified(env[i], len[i]);
    }
    s_receipt("delivered-batch", (const vg_envelope *const *)v, 3, VG_RECEIPT_DELIVERED);
    s_receipt("acknowledged", (const vg_envelope *const *)v, 1, VG_RECEIPT_ACKNOWLEDGED);
    s_receipt("declined", (const vg_envelope *const *)v + 1, 1, VG_RECEIPT_DECLINED);
    s_receipt("in-progress", (const vg_envelope *const *)v + 2, 1, VG_RECEIPT_IN_PROGRESS);
    uint8_t *share = NULL;
    size_t share_len = 0;
    vg_reason why = {{0}};
    s_check(vg_share_create(&share, &share_len, v[0], "licensing", fz_keys("licensing"),
                            "home-office", "the Home Office must see this", FZ_ISSUED_MS + 4000,
                            w->doc, &why),
            &why, "share");
    s_seed_both("share", "to-home-office", 1, share, share_len);
    /* One delivered receipt for the store seed. */
    vg_receipt_item item;
    memcpy(item.alert_id, vg_envelope_id(v[0]), VG_ALERT_ID_LEN);
    memcpy(item.envelope_hash, vg_envelope_hash(v[0]), VG_HASH_LEN);
    vg_receipt_spec spec = {.agency = "licensing",
                            .kind = VG_RECEIPT_DELIVERED,
                            .created_ms = FZ_ISSUED_MS + 2000,
                            .items = &item,
                            .n_items = 1,
                            .network_version = 1};
    uint8_t *r = NULL;
    size_t r_len = 0;
    s_check(vg_receipt_sign(&r, &r_len, &spec, fz_keys("licensing"), &why), &why, "receipt");
    s_store(v, 3, r, r_len);
    s_text_seeds();
    free(r);
    free(share);
    for (size_t i = 0; i < 3; i++) {
        vg_envelope_destroy(&v[i]);
        free(env[i]);
    }
    printf("seeds written to %s\n", s_out);
    return 0;
}
