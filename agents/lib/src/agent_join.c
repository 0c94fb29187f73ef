/* agent_join.c — a new agency fetches the document that admits it (see
 * vga_network_fetch in vigil/agent.h).
 *
 * An agency made by `vigilctl init-agency` holds its keys but no document
 * listing it (or an older one): its identity cannot be checked yet, so the
 * agent cannot open as usual. Once the administrator has pushed a document
 * with its card, the broker admits its transport key; the agent asks for
 * that document with its newest key set, verifies it against the pinned
 * admin key like any other, and keeps it only when it lists the agency.
 */
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "agent_internal.h"
#include "vigil/log.h"

#define S_POLL_MS 100

/* Sends GetNetwork (n copies: one to each broker the socket is connected
 * to, the DEALER taking turns; standbys answer not_leader, which is passed
 * over) and waits for the signed document; *out is its bytes. */
static vg_err
s_ask(void *sock, size_t n, uint64_t have, int64_t timeout_ms, const vg_clock *clock, uint8_t **out,
      size_t *out_len)
{
    Vigil__GetNetwork g = VIGIL__GET_NETWORK__INIT;
    g.have_version = have;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = 1;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_GET_NETWORK;
    f.get_network = &g;
    uint8_t buf[64];
    size_t len = vigil__client_frame__get_packed_size(&f);
    if (len > sizeof buf) {
        return VG_ERR_INTERNAL;
    }
    vigil__client_frame__pack(&f, buf);
    for (size_t i = 0; i < n; i++) {
        if (zmq_send(sock, buf, len, ZMQ_DONTWAIT) < 0) {
            return VG_ERR_IO;
        }
    }
    int64_t end = vg_clock_mono_ms(clock) + timeout_ms;
    while (vg_clock_mono_ms(clock) < end) {
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, S_POLL_MS) <= 0 || !(item.revents & ZMQ_POLLIN)) {
            continue;
        }
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            continue;
        }
        Vigil__BrokerFrame *bf =
            vigil__broker_frame__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
        zmq_msg_close(&msg);
        bool got = bf != NULL && bf->kind_case == VIGIL__BROKER_FRAME__KIND_SIGNED_NETWORK;
        if (got && (*out = malloc(bf->signed_network.len ? bf->signed_network.len : 1)) != NULL) {
            memcpy(*out, bf->signed_network.data, bf->signed_network.len);
            *out_len = bf->signed_network.len;
        }
        if (bf != NULL) {
            vigil__broker_frame__free_unpacked(bf, NULL);
        }
        if (got) {
            return *out != NULL ? VG_OK : VG_ERR_NOMEM;
        }
    }
    return VG_ERR_TIMEOUT;
}

/* A connection with the newest key set held (the one a new card lists), to
 * every broker agent.conf names. */
static void *
s_connect(void *ctx, const vga_config *cfg, const vg_keyset *ks)
{
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    if (sock == NULL ||
        zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, cfg->broker_pk, VG_CURVE_KEY_LEN) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, vg_keyset_curve_pk(ks), VG_CURVE_KEY_LEN) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, vg_keyset_curve_sk(ks), VG_CURVE_KEY_LEN) != 0 ||
        zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0) {
        if (sock != NULL) {
            zmq_close(sock);
        }
        return NULL;
    }
    for (size_t i = 0; i < cfg->endpoints.n; i++) {
        if (zmq_connect(sock, cfg->endpoints.items[i]) != 0) {
            zmq_close(sock);
            return NULL;
        }
    }
    return sock;
}

/* Keeps a fetched document when it verifies, is not older than the one
 * held, and has a live card for the agency. */
static vg_err
s_keep(const vga_config *cfg, const uint8_t *bytes, size_t len, uint64_t have, uint64_t *version,
       vg_reason *why)
{
    vg_netdoc *doc = NULL;
    vg_err rc = vg_netdoc_verify(&doc, bytes, len, cfg->admin_pk, have, why);
    vg_agency card;
    if (rc == VG_OK && (vg_netdoc_find(doc, cfg->id, &card) != VG_OK || card.revoked)) {
        rc = vg_reason_set(why, VG_ERR_NOT_FOUND,
                           "the broker's network document (version %llu) has no live card for "
                           "'%s' yet: the administrator adds it ('vigilctl network add CARD'), "
                           "signs and pushes it",
                           (unsigned long long)vg_netdoc_version(doc), cfg->id);
    }
    if (rc == VG_OK) {
        *version = vg_netdoc_version(doc);
        rc = vg_file_write_atomic(cfg->document_path, bytes, len, 0644, why);
    }
    vg_netdoc_destroy(&doc);
    return rc;
}

vg_err
vga_network_fetch(const char *config_path, int64_t timeout_ms, uint64_t *version_out,
                  vg_reason *why)
{
    vga_config *cfg = NULL;
    vg_keyring *ring = NULL;
    vg_netdoc *held = NULL;
    void *ctx = NULL, *sock = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;
    uint64_t version = 0, have = 0;
    vg_err rc = vga_config_load(&cfg, config_path, why);
    if (rc == VG_OK) {
        rc = vg_keyring_load(&ring, cfg->keys_path, why);
    }
    if (rc == VG_OK && vg_netdoc_load(&held, cfg->document_path, cfg->admin_pk, 0, NULL) == VG_OK) {
        have = vg_netdoc_version(held);
    }
    if (rc == VG_OK) {
        ctx = zmq_ctx_new();
        sock = ctx != NULL ? s_connect(ctx, cfg, vg_keyring_active(ring)) : NULL;
        rc = sock != NULL ? VG_OK
                          : vg_reason_set(why, VG_ERR_IO, "cannot connect to %s", cfg->endpoint);
    }
    if (rc == VG_OK) {
        rc = s_ask(sock, cfg->endpoints.n, have, timeout_ms, vg_clock_system(), &bytes, &len);
        if (rc == VG_ERR_TIMEOUT) {
            vg_reason_set(why, rc,
                          "the broker at %s gave no network document in time: it is down, or "
                          "does not admit '%s''s keys yet (is its card in force?)",
                          cfg->endpoint, cfg->id);
        }
    }
    if (rc == VG_OK) {
        rc = s_keep(cfg, bytes, len, have, &version, why);
    }
    if (rc == VG_OK) {
        vg_log(VG_LOG_INFO, "agent", "network.joined", "agency=%s version=%llu", cfg->id,
               (unsigned long long)version);
        if (version_out != NULL) {
            *version_out = version;
        }
    }
    free(bytes);
    if (sock != NULL) {
        zmq_close(sock);
    }
    if (ctx != NULL) {
        zmq_ctx_term(ctx);
    }
    vg_netdoc_destroy(&held);
    vg_keyring_destroy(&ring);
    vga_config_destroy(&cfg);
    return rc;
}
