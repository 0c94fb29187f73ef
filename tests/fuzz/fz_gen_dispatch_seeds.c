/*
 * fz_gen_dispatch_seeds.c — writes valid seed frames for fuzz_dispatch into
 * OUTDIR/dispatch/seed-*: Hello (receive, console), Publish (a minimal and
 * a policy alert), SubmitReceipt (delivered, acknowledged), SubmitShare,
 * every Query kind, GetNetwork and Cosign, each as selector byte + ClientFrame,
 * made with the library against the fixture network (fz_fixture.h).
 *
 *     fz_gen_dispatch_seeds tests/fuzz/corpus
 *
 * File names are numbered so the replay (sorted) publishes before it
 * receipts, shares and queries. Run it again only when a wire format
 * changes; the seeds are committed.
 */
#define _XOPEN_SOURCE 700

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fz_fixture.h"
#include "vigil.pb-c.h"
#include "vigil/cosign.h"
#include "vigil/envelope.h"
#include "vigil/receipt.h"
#include "vigil/share.h"

#define S_POLICE 0 /* selector bytes: fuzz_dispatch's sender index */
#define S_LICENSING 1
#define S_HOME_OFFICE 3
#define S_CREATED_MS (FZ_ISSUED_MS + 1000)

static const char *s_out;

static void
s_check(vg_err rc, const vg_reason *why, const char *what)
{
    if (rc != VG_OK) {
        fprintf(stderr, "fz_gen_dispatch_seeds: %s: %s: %s\n", what, vg_err_code(rc),
                why ? why->text : "");
        exit(1);
    }
}

/* Packs f and writes OUT/dispatch/seed-name as selector + frame. */
static void
s_seed(const char *name, int selector, const Vigil__ClientFrame *f)
{
    size_t len = vigil__client_frame__get_packed_size(f);
    uint8_t *buf = malloc(len + 1);
    if (buf == NULL) {
        exit(1);
    }
    buf[0] = (uint8_t)selector;
    vigil__client_frame__pack(f, buf + 1);
    char path[1024];
    snprintf(path, sizeof path, "%s/dispatch", s_out);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/dispatch/seed-%s", s_out, name);
    fz_write_file(path, buf, len + 1, 0644);
    free(buf);
}

static uint8_t *
s_seal(size_t *len, const char *sender, size_t sender_i, uint8_t id_byte, const char *cat,
       const char *to_csv, uint64_t seq)
{
    const fz_world *w = fz_world_get();
    vg_alert a = {0};
    vg_reason why = {{0}};
    a.severity = VG_SEV_HIGH;
    a.headline = "Taxi drivers linked to child sexual exploitation";
    s_check(vg_strlist_add(&a.categories, cat), NULL, "category");
    s_check(vg_strlist_split(&a.recipients, to_csv, &why), &why, "recipients");
    uint8_t id[VG_ALERT_ID_LEN];
    memset(id, id_byte, sizeof id);
    vg_seal_params p = {w->doc, sender, w->agency[sender_i], seq, S_CREATED_MS, id, NULL, 0};
    uint8_t *env = NULL;
    s_check(vg_envelope_seal(&env, len, NULL, &a, &p, &why), &why, "seal");
    vg_strlist_fini(&a.categories);
    vg_strlist_fini(&a.recipients);
    return env;
}

static void
s_publish(const char *name, int selector, const uint8_t *env, size_t len, uint64_t rq)
{
    Vigil__Publish p = VIGIL__PUBLISH__INIT;
    p.signed_envelope.data = (uint8_t *)env;
    p.signed_envelope.len = len;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = rq;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_PUBLISH;
    f.publish = &p;
    s_seed(name, selector, &f);
}

static void
s_receipt(const char *name, const vg_envelope *e, vg_receipt_kind kind, uint64_t rq)
{
    vg_receipt_item item;
    memcpy(item.alert_id, vg_envelope_id(e), VG_ALERT_ID_LEN);
    memcpy(item.envelope_hash, vg_envelope_hash(e), VG_HASH_LEN);
    vg_receipt_spec spec = {.agency = "licensing",
                            .kind = kind,
                            .created_ms = S_CREATED_MS + 1000,
                            .items = &item,
                            .n_items = 1,
                            .officer = kind == VG_RECEIPT_ACKNOWLEDGED ? "Sgt A. Example" : NULL,
                            .network_version = 1};
    uint8_t *r = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    s_check(vg_receipt_sign(&r, &len, &spec, fz_keys("licensing"), &why), &why, "receipt");
    Vigil__SubmitReceipt sr = VIGIL__SUBMIT_RECEIPT__INIT;
    sr.signed_receipt.data = r;
    sr.signed_receipt.len = len;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = rq;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_RECEIPT;
    f.receipt = &sr;
    s_seed(name, S_LICENSING, &f);
    free(r);
}

static void
s_share(const vg_envelope *e)
{
    uint8_t *share = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    s_check(vg_share_create(&share, &len, e, "licensing", fz_keys("licensing"), "home-office",
                            "the Home Office must see this", S_CREATED_MS + 2000,
                            fz_world_get()->doc, &why),
            &why, "share");
    Vigil__SubmitShare ss = VIGIL__SUBMIT_SHARE__INIT;
    ss.signed_share.data = share;
    ss.signed_share.len = len;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = 40;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_SHARE;
    f.share = &ss;
    s_seed("5-share", S_LICENSING, &f);
    free(share);
}

static void
s_hellos(void)
{
    Vigil__Hello h = VIGIL__HELLO__INIT;
    h.agent = "vigil-agent/fuzz";
    h.network_version = 1;
    h.receive = true;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_HELLO;
    f.hello = &h;
    s_seed("0-hello-receive", S_LICENSING, &f);
    h.receive = false;
    h.console = true;
    s_seed("0-hello-console", S_POLICE, &f);
}

static void
s_queries(const vg_envelope *e)
{
    static const struct {
        const char *name;
        Vigil__QueryKind kind;
    } qs[] = {{"6-query-snapshot", VIGIL__QUERY_KIND__QUERY_SNAPSHOT},
              {"6-query-alert", VIGIL__QUERY_KIND__QUERY_ALERT},
              {"6-query-events", VIGIL__QUERY_KIND__QUERY_EVENTS},
              {"6-query-checkpoint", VIGIL__QUERY_KIND__QUERY_CHECKPOINT},
              {"6-query-inclusion", VIGIL__QUERY_KIND__QUERY_INCLUSION},
              {"6-query-consistency", VIGIL__QUERY_KIND__QUERY_CONSISTENCY}};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        Vigil__Query q = VIGIL__QUERY__INIT;
        q.kind = qs[i].kind;
        if (q.kind == VIGIL__QUERY_KIND__QUERY_ALERT) {
            q.alert_id.data = (uint8_t *)vg_envelope_id(e);
            q.alert_id.len = VG_ALERT_ID_LEN;
        }
        q.old_size = 1;
        q.tree_size = 3;
        q.leaf_index = 1;
        q.limit = 16;
        Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
        f.request_id = 50 + i;
        f.kind_case = VIGIL__CLIENT_FRAME__KIND_QUERY;
        f.query = &q;
        s_seed(qs[i].name, S_POLICE, &f);
    }
    Vigil__GetNetwork gn = VIGIL__GET_NETWORK__INIT;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = 60;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_GET_NETWORK;
    f.get_network = &gn;
    s_seed("7-get-network", S_HOME_OFFICE, &f);
}

/* police's cosignature of a checkpoint of size 1 (the broker under the
 * fuzzer may have signed none: the seed reaches the handler either way). */
static void
s_cosign(void)
{
    const fz_world *w = fz_world_get();
    char body[512], line[VG_COSIGN_LINE_MAX];
    snprintf(body, sizeof body, "%s\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
             vg_netdoc_network(w->doc));
    vg_reason why = {{0}};
    s_check(vg_cosign_sign(line, sizeof line, body, strlen(body), "police", FZ_ISSUED_MS / 1000,
                           w->agency[S_POLICE], &why),
            &why, "cosign");
    Vigil__Cosign c = VIGIL__COSIGN__INIT;
    c.tree_size = 1;
    c.cosignature = line;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = 70;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_COSIGN;
    f.cosign = &c;
    s_seed("8-cosign", S_POLICE, &f);
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fz_gen_dispatch_seeds OUTDIR (e.g. tests/fuzz/corpus)\n");
        return 2;
    }
    s_out = argv[1];
    mkdir(s_out, 0755);
    const fz_world *w = fz_world_get();
    size_t len[2];
    uint8_t *env[2];
    env[0] = s_seal(&len[0], "police", S_POLICE, 0xd1, "other", "licensing", 1);
    env[1] = s_seal(&len[1], "home-office", S_HOME_OFFICE, 0xd2, "taxi",
                    "police,licensing,childrens-services", 1);
    s_hellos();
    s_publish("1-publish-minimal", S_POLICE, env[0], len[0], 10);
    s_publish("2-publish-policy", S_HOME_OFFICE, env[1], len[1], 20);
    vg_envelope *e = NULL;
    vg_reason why = {{0}};
    s_check(vg_envelope_verify(&e, env[0], len[0], w->doc, &why), &why, "verify");
    s_receipt("3-receipt-delivered", e, VG_RECEIPT_DELIVERED, 30);
    s_receipt("4-receipt-acknowledged", e, VG_RECEIPT_ACKNOWLEDGED, 31);
    s_share(e);
    s_queries(e);
    s_cosign();
    vg_envelope_destroy(&e);
    free(env[0]);
    free(env[1]);
    printf("dispatch seeds written to %s/dispatch\n", s_out);
    return 0;
}
