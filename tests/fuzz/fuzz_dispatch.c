/*
 * fuzz_dispatch.c — the broker's frame dispatch without sockets: one broker
 * is made once (from the fixture network, fz_fixture.h, its store in a
 * scratch directory, its ROUTER on an ipc:// path nobody connects to) and
 * every input is handed to vgb_broker_handle_frame as one frame from an
 * authenticated agency, through the real dispatch and batch commit.
 *
 * Input: a selector byte, then the frame bytes as they would arrive. The
 * selector picks the sender among the fixture's four live agencies (police,
 * licensing, childrens-services, home-office) and one of two connections
 * (routing ids), so receipts and shares from a recipient reach their
 * handlers too. The broker's wall clock is fixed just after the fixture's
 * issue time, so the seeds (fz_gen_dispatch_seeds) pass the skew check in
 * every run; its monotonic clock advances 1 ms per call.
 *
 * State carries over from input to input (the store is the broker's queue),
 * as it does in the real broker: a Publish seed is ACCEPTED once, then a
 * DUPLICATE. Properties checked: no crash, no sanitizer report, no abort.
 * VG_FUZZ_LOG=1 sends the broker's log to stderr (to see what seeds reach).
 */
#define _XOPEN_SOURCE 700

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "broker.h"
#include "fz_fixture.h"
#include "fz_target.h"
#include "vigil/broker_config.h"
#include "vigil/log.h"
#include "vigil/util.h"

#define S_N_SENDERS 4 /* the fixture's live agencies; old-agency is revoked */
#define S_WALL_MS (FZ_ISSUED_MS + 2000)

static int64_t
s_wall(void *ctx)
{
    (void)ctx;
    return S_WALL_MS;
}

static int64_t
s_mono(void *ctx)
{
    int64_t *t = ctx;
    return ++*t;
}

/* libFuzzer gives no context: like the fixture, the broker is process state. */
static int64_t s_mono_now = 1000000;
static const vg_clock s_clock = {s_wall, s_mono, &s_mono_now};
static vg_broker_config *s_cfg;
static vgb_broker *s_broker;

static void
s_die(const char *what, vg_err rc, const vg_reason *why)
{
    fprintf(stderr, "fuzz_dispatch: %s: %s: %s\n", what, vg_err_code(rc), why ? why->text : "");
    abort();
}

/* Writes the broker's key file, the signed document and broker.conf. */
static char *
s_write_network(void)
{
    const fz_world *w = fz_world_get();
    char *dir = fz_path("dispatch");
    mkdir(dir, 0700);
    char *keys = fz_path("dispatch/broker.key");
    vg_reason why = {{0}};
    vg_err rc = vg_keyset_save(w->broker, keys, &why);
    if (rc != VG_OK) {
        s_die("save broker keys", rc, &why);
    }
    char *doc = fz_path("dispatch/network.signed");
    fz_write_file(doc, w->signed_doc, w->signed_len, 0644);
    char admin[2 * VG_SIGN_PK_LEN + 1];
    vg_hex_encode(admin, sizeof admin, vg_keyset_sign_pk(w->admin), VG_SIGN_PK_LEN);
    char conf[1024];
    int n = snprintf(conf, sizeof conf,
                     "[broker]\nbind = ipc://%s/router.ipc\nkeys = broker.key\nstore = store\n"
                     "log_level = error\nmax_clock_skew = 5m\n"
                     "[network]\ndocument = network.signed\nadmin_key = %s\n",
                     dir, admin);
    char *path = fz_path("dispatch/broker.conf");
    fz_write_file(path, conf, (size_t)n, 0600);
    free(doc);
    free(keys);
    free(dir);
    return path;
}

static void
s_broker_fini(void)
{
    vgb_broker_destroy(&s_broker);
    vg_broker_config_destroy(&s_cfg);
}

static vgb_broker *
s_broker_get(void)
{
    if (s_broker != NULL) {
        return s_broker;
    }
    if (getenv("VG_FUZZ_LOG") != NULL) {
        vg_log_set_sink(vg_log_stderr_sink, NULL);
        vg_log_set_level(VG_LOG_DEBUG);
    }
    char *path = s_write_network();
    vg_reason why = {{0}};
    vg_err rc = vg_broker_config_load(&s_cfg, path, &why);
    if (rc != VG_OK) {
        s_die("load broker.conf", rc, &why);
    }
    rc = vgb_broker_new(&s_broker, s_cfg, &s_clock, &why);
    if (rc != VG_OK) {
        s_die("start broker", rc, &why);
    }
    free(path);
    atexit(s_broker_fini); /* registered after the fixture's: runs before its rm */
    return s_broker;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    vgb_broker *b = s_broker_get();
    const fz_world *w = fz_world_get();
    size_t sender = (size_t)(data[0] % S_N_SENDERS);
    uint8_t rid[5] = {0x00, 0x6b, 0x8b, 0x45, (uint8_t)(1 + ((data[0] >> 2) & 1u))};
    vgb_broker_handle_frame(b, w->ids[sender], rid, sizeof rid, data + 1, size - 1);
    return 0;
}
