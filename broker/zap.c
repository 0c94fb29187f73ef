/* zap.c — ZAP handler admitting only the network's non-revoked agencies. */
#include "zap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "vigil/keys.h"
#include "vigil/log.h"

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define S_FRAMES_MAX 8

struct vgb_zap {
    void *sock;            /* REP bound to S_ZAP_ENDPOINT */
    const vg_netdoc *doc;  /* borrowed: who may connect */
    const vg_clock *clock; /* borrowed: keys expire */
};

vg_err
vgb_zap_new(vgb_zap **out, void *zmq_ctx, const vg_netdoc *doc, const vg_clock *clock,
            vg_reason *why)
{
    vgb_zap *z = calloc(1, sizeof *z);
    if (z == NULL) {
        return VG_ERR_NOMEM;
    }
    z->doc = doc;
    z->clock = clock;
    z->sock = zmq_socket(zmq_ctx, ZMQ_REP);
    int linger = 0;
    if (z->sock == NULL || zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(z->sock, S_ZAP_ENDPOINT) != 0) {
        vg_err rc = vg_reason_set(why, VG_ERR_IO, "cannot start the ZAP handler: %s",
                                  zmq_strerror(zmq_errno()));
        vgb_zap_destroy(&z);
        return rc;
    }
    *out = z;
    return VG_OK;
}

void
vgb_zap_destroy(vgb_zap **zap_p)
{
    if (zap_p == NULL || *zap_p == NULL) {
        return;
    }
    if ((*zap_p)->sock != NULL) {
        zmq_close((*zap_p)->sock);
    }
    free(*zap_p);
    *zap_p = NULL;
}

void
vgb_zap_renew(vgb_zap *zap, const vg_netdoc *doc)
{
    zap->doc = doc;
}

void *
vgb_zap_socket(vgb_zap *zap)
{
    return zap->sock;
}

/* One ZMTP metadata property (name length, name, 4-byte big-endian value
 * length, value) into buf at *used. */
static void
s_property(uint8_t *buf, size_t cap, size_t *used, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    if (*used + 1 + nl + 4 + vl > cap) {
        return;
    }
    uint8_t *p = buf + *used;
    *p++ = (uint8_t)nl;
    memcpy(p, name, nl);
    p += nl;
    *p++ = (uint8_t)(vl >> 24);
    *p++ = (uint8_t)(vl >> 16);
    *p++ = (uint8_t)(vl >> 8);
    *p++ = (uint8_t)vl;
    memcpy(p, value, vl);
    *used += 1 + nl + 4 + vl;
}

/* A reply; an accepted one carries, as the connection's metadata, the
 * transport key (VGB_ZAP_KEY) and until when it is trusted (VGB_ZAP_UNTIL,
 * wall ms; absent when for ever). */
static void
s_reply(void *sock, const zmq_msg_t *request_id, const char *code, const char *text,
        const char *user, const char *key_z85, int64_t until_ms)
{
    uint8_t meta[256];
    size_t used = 0;
    if (key_z85 != NULL) {
        s_property(meta, sizeof meta, &used, VGB_ZAP_KEY, key_z85);
    }
    if (key_z85 != NULL && until_ms != VG_TIME_NEVER) {
        char until[32];
        snprintf(until, sizeof until, "%lld", (long long)until_ms);
        s_property(meta, sizeof meta, &used, VGB_ZAP_UNTIL, until);
    }
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sock, zmq_msg_data((zmq_msg_t *)request_id), zmq_msg_size((zmq_msg_t *)request_id),
             ZMQ_SNDMORE);
    zmq_send(sock, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(sock, meta, used, 0);
}

static bool
s_frame_is(zmq_msg_t *m, const char *s)
{
    return zmq_msg_size(m) == strlen(s) && memcmp(zmq_msg_data(m), s, strlen(s)) == 0;
}

/* Decides one request of n frames: version, request id, domain, address,
 * routing id, mechanism, credentials... */
static void
s_decide(vgb_zap *z, zmq_msg_t *f, int n)
{
    char addr[64] = "";
    if (n >= 4) {
        size_t alen = zmq_msg_size(&f[3]) < sizeof addr - 1 ? zmq_msg_size(&f[3]) : sizeof addr - 1;
        memcpy(addr, zmq_msg_data(&f[3]), alen);
        addr[alen] = '\0';
    }
    if (n < 7 || !s_frame_is(&f[0], "1.0")) {
        vg_log(VG_LOG_WARN, "broker", "zap.deny", "address=%s reason=malformed_request", addr);
        zmq_msg_t empty;
        zmq_msg_init(&empty);
        s_reply(z->sock, n >= 2 ? &f[1] : &empty, "400", "malformed ZAP request", "", NULL, 0);
        zmq_msg_close(&empty);
        return;
    }
    if (!s_frame_is(&f[2], VGB_ZAP_DOMAIN) || !s_frame_is(&f[5], "CURVE") ||
        zmq_msg_size(&f[6]) != VG_CURVE_KEY_LEN) {
        vg_log(VG_LOG_WARN, "broker", "zap.deny", "address=%s reason=not_curve", addr);
        s_reply(z->sock, &f[1], "400", "only CURVE clients in domain vigil", "", NULL, 0);
        return;
    }
    const uint8_t *pk = zmq_msg_data(&f[6]);
    char z85[VG_Z85_KEY_LEN + 1];
    vg_z85_encode_key(z85, pk);
    vg_key_match m;
    vg_reason why = {{0}};
    vg_err rc = vg_netdoc_admit_transport(&m, z->doc, pk, vg_clock_wall_ms(z->clock), &why);
    if (rc != VG_OK) {
        vg_log(VG_LOG_WARN, "broker", "zap.deny", "address=%s reason=%s key=%s agency=%s", addr,
               rc == VG_ERR_NOT_FOUND ? "unknown_key" : vg_err_code(rc), z85,
               m.agency.id ? m.agency.id : "-");
        s_reply(z->sock, &f[1], "400",
                rc == VG_ERR_NOT_FOUND ? "unknown transport key"
                : m.agency.revoked     ? "agency revoked"
                                       : "transport key no longer trusted",
                "", NULL, 0);
        return;
    }
    vg_log(VG_LOG_DEBUG, "broker", "zap.allow", "address=%s agency=%s previous_key=%s", addr,
           m.agency.id, m.previous ? "yes" : "no");
    s_reply(z->sock, &f[1], "200", "OK", m.agency.id, z85, m.until_ms);
}

void
vgb_zap_handle(vgb_zap *zap)
{
    for (;;) {
        zmq_msg_t f[S_FRAMES_MAX];
        int n = 0;
        int more = 1;
        while (more) {
            zmq_msg_t tmp;
            zmq_msg_init(&tmp);
            if (zmq_msg_recv(&tmp, zap->sock, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
                zmq_msg_close(&tmp);
                for (int i = 0; i < n && i < S_FRAMES_MAX; i++) {
                    zmq_msg_close(&f[i]);
                }
                return; /* nothing (more) waiting */
            }
            more = zmq_msg_more(&tmp);
            if (n < S_FRAMES_MAX) {
                f[n] = tmp;
            } else {
                zmq_msg_close(&tmp);
            }
            n++;
        }
        s_decide(zap, f, n < S_FRAMES_MAX ? n : S_FRAMES_MAX);
        for (int i = 0; i < n && i < S_FRAMES_MAX; i++) {
            zmq_msg_close(&f[i]);
        }
    }
}
