/* ha.c — a broker process's life as standby and leader in turn (ha.h). */
#include "ha.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "audit.h"
#include "bkeys.h"
#include "broker.h"
#include "control.h"
#include "highwater.h"
#include "intake.h"
#include "netdocs.h"
#include "store.h"
#include "vigil.pb-c.h"
#include "vigil/keys.h"
#include "vigil/log.h"
#include "vigil/netdoc.h"
#include "vigil/wire.h"
#include "zap.h"

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93 /* draft in zmq.h, supported by libzmq >= 4.3 */
#endif

#define S_BIND_TRIES 50      /* binding the endpoint a term just closed: at most 50 x 100 ms */
#define S_REOPEN_MAX_MS 2000 /* longest wait between two tries to open the store */
#define S_RETRY_AFTER_FAIL_MS 3000 /* a takeover that failed is tried again after this */

/* A standby's state: what it answers with, and the store it watches. */
typedef struct s_standby {
    const vg_broker_config *cfg;   /* borrowed */
    const vg_clock *clock;         /* borrowed */
    const char *role;              /* "standby", or "fenced" after a term that ended so */
    vgb_bkeys *keys;               /* the broker's keys: the same CurveZMQ key as the leader */
    vg_netdoc *doc;                /* who may connect (ZAP) */
    void *ctx;                     /* ZeroMQ context of this standby term */
    void *router;                  /* the endpoint agents reach */
    char endpoint[256];            /* as bound */
    vgb_zap *zap;                  /* authentication */
    vgb_control *control;          /* vigilctl broker status */
    vgb_store *store;              /* the owner's connection, NULL until it opens */
    vgb_audit *audit;              /* the log over it (read only), for the high-water mark */
    vgb_highwater hw;              /* this broker's mark */
    bool damaged;                  /* the store's log is shorter than the mark: never lead */
    vgb_lead_state seen;           /* the last look at who leads */
    char store_why[VG_REASON_MAX]; /* why the store cannot be used now ("" when it can) */
    int64_t next_try_mono;         /* the next try for the lead */
    int64_t next_open_mono;        /* the next try to open the store */
    int64_t open_wait_ms;          /* ... the wait after this one fails */
} s_standby;

/* ---- answers ------------------------------------------------------------------ */

static void
s_send(s_standby *sb, zmq_msg_t *rid, const Vigil__BrokerFrame *f)
{
    size_t len = vigil__broker_frame__get_packed_size(f);
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL) {
        return; /* the client asks again */
    }
    vigil__broker_frame__pack(f, buf);
    if (zmq_send(sb->router, zmq_msg_data(rid), zmq_msg_size(rid), ZMQ_SNDMORE | ZMQ_DONTWAIT) >=
        0) {
        (void)zmq_send(sb->router, buf, len, ZMQ_DONTWAIT);
    }
    free(buf);
}

/* Every frame: REJECT_NOT_LEADER, naming the leader when the store says who
 * it is. Nothing is handled, nothing stored. */
static void
s_answer(s_standby *sb)
{
    for (int n = 0; n < 256; n++) {
        zmq_msg_t rid, payload;
        zmq_msg_init(&rid);
        zmq_msg_init(&payload);
        if (zmq_msg_recv(&rid, sb->router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&rid);
            zmq_msg_close(&payload);
            return;
        }
        int more = 0;
        size_t more_len = sizeof more;
        zmq_getsockopt(sb->router, ZMQ_RCVMORE, &more, &more_len);
        if (more && zmq_msg_recv(&payload, sb->router, ZMQ_DONTWAIT) >= 0) {
            zmq_getsockopt(sb->router, ZMQ_RCVMORE, &more, &more_len);
            while (more) { /* a multi-part message: the rest is not read */
                zmq_msg_t rest;
                zmq_msg_init(&rest);
                (void)zmq_msg_recv(&rest, sb->router, ZMQ_DONTWAIT);
                zmq_msg_close(&rest);
                zmq_getsockopt(sb->router, ZMQ_RCVMORE, &more, &more_len);
            }
            bool known = sb->seen.leader[0] != '\0';
            char reason[200];
            snprintf(reason, sizeof reason, "this broker is a standby: nothing was handled; %s%s",
                     known ? "the leader is " : "send it to the next broker endpoint",
                     known ? sb->seen.leader : "");
            Vigil__ErrorReply e = VIGIL__ERROR_REPLY__INIT;
            e.code = VIGIL__REJECT_CODE__REJECT_NOT_LEADER;
            e.reason = reason;
            e.leader = sb->seen.leader;
            Vigil__BrokerFrame f = VIGIL__BROKER_FRAME__INIT;
            f.request_id = vgb_peek_request_id(zmq_msg_data(&payload), zmq_msg_size(&payload));
            f.kind_case = VIGIL__BROKER_FRAME__KIND_ERROR;
            f.error = &e;
            s_send(sb, &rid, &f);
        }
        zmq_msg_close(&rid);
        zmq_msg_close(&payload);
    }
}

static void
s_control(void *ctx, const char *command, const uint8_t *body, size_t len, char *reply,
          size_t reply_len)
{
    (void)body, (void)len;
    s_standby *sb = ctx;
    const char *leader = sb->seen.leader[0] ? sb->seen.leader : "unknown";
    if (strcmp(command, "status") == 0) {
        snprintf(reply, reply_len,
                 "ok role=%s epoch=%" PRId64 " leader=%s network=%s version=%llu endpoint=%s "
                 "store=%s%s%s",
                 sb->role, sb->seen.epoch, leader, vg_netdoc_network(sb->doc),
                 (unsigned long long)vg_netdoc_version(sb->doc), sb->endpoint,
                 sb->damaged        ? "damaged"
                 : sb->store_why[0] ? "unreachable"
                                    : "reachable",
                 sb->store_why[0] ? " reason=" : "", sb->store_why);
    } else if (strcmp(command, "push") == 0) {
        snprintf(reply, reply_len,
                 "refused: this broker is a standby (role=%s): push the document to the leader "
                 "(%s), and copy it to every broker's [network] document",
                 sb->role, leader);
    } else if (strcmp(command, "purge") == 0 || strcmp(command, "hold") == 0) {
        snprintf(reply, reply_len,
                 "refused: this broker is a standby (role=%s): ask the leader (%s), with its "
                 "broker.conf; it writes the store",
                 sb->role, leader);
    } else {
        snprintf(reply, reply_len, "refused: unknown command '%s' (push, status, purge, hold)",
                 command);
    }
}

/* ---- the standby's sockets ---------------------------------------------------- */

static vg_err
s_bind(s_standby *sb, vg_reason *why)
{
    int one = 1, linger = 0, server = 1, hb_ivl = 2000, hb_timeout = 10000;
    int handshake = (int)sb->cfg->handshake_timeout_ms;
    int64_t maxmsg = VG_FRAME_MAX_BYTES;
    sb->router = zmq_socket(sb->ctx, ZMQ_ROUTER);
    if (sb->router == NULL ||
        zmq_setsockopt(sb->router, ZMQ_CURVE_SERVER, &server, sizeof server) != 0 ||
        zmq_setsockopt(sb->router, ZMQ_CURVE_SECRETKEY,
                       vg_keyset_curve_sk(vgb_bkeys_serving(sb->keys)), VG_CURVE_KEY_LEN) != 0 ||
        zmq_setsockopt(sb->router, ZMQ_ZAP_DOMAIN, VGB_ZAP_DOMAIN, strlen(VGB_ZAP_DOMAIN)) != 0 ||
        zmq_setsockopt(sb->router, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0 ||
        zmq_setsockopt(sb->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0 ||
        zmq_setsockopt(sb->router, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl) != 0 ||
        zmq_setsockopt(sb->router, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout) != 0 ||
        zmq_setsockopt(sb->router, ZMQ_HANDSHAKE_IVL, &handshake, sizeof handshake) != 0 ||
        zmq_setsockopt(sb->router, ZMQ_LINGER, &linger, sizeof linger) != 0) {
        return vg_reason_set(why, VG_ERR_IO, "cannot set up the broker socket: %s",
                             zmq_strerror(zmq_errno()));
    }
    for (int i = 0; zmq_bind(sb->router, sb->cfg->bind) != 0; i++) {
        if (zmq_errno() != EADDRINUSE || i == S_BIND_TRIES) { /* the last term's, going away */
            return vg_reason_set(why, VG_ERR_IO, "cannot bind %s: %s", sb->cfg->bind,
                                 zmq_strerror(zmq_errno()));
        }
        struct timespec t = {0, 100 * 1000000L};
        nanosleep(&t, NULL);
    }
    size_t elen = sizeof sb->endpoint;
    zmq_getsockopt(sb->router, ZMQ_LAST_ENDPOINT, sb->endpoint, &elen);
    return VG_OK;
}

static vg_err
s_open(s_standby *sb, const vg_broker_config *cfg, const vg_clock *clock, const char *role,
       vg_reason *why)
{
    *sb = (s_standby){.cfg = cfg, .clock = clock, .role = role, .open_wait_ms = 100};
    sb->hw.fd = -1;
    vg_err rc = vg_netdoc_load(&sb->doc, cfg->document_path, cfg->admin_pk, 0, why);
    rc = rc == VG_OK ? vgb_bkeys_open(&sb->keys, cfg->keys_path, sb->doc, why) : rc;
    rc = rc == VG_OK ? vg_mkdir_p(cfg->store_path, 0700, why) : rc;
    rc = rc == VG_OK ? vgb_highwater_open(&sb->hw, cfg->store_path, why) : rc;
    if (rc == VG_OK && (sb->ctx = zmq_ctx_new()) == NULL) {
        rc = vg_reason_set(why, VG_ERR_IO, "cannot create a ZeroMQ context");
    }
    rc = rc == VG_OK ? vgb_zap_new(&sb->zap, sb->ctx, sb->doc, clock, why) : rc;
    vg_reason cwhy = {{0}};
    if (rc == VG_OK && vgb_control_new(&sb->control, sb->ctx, cfg->store_path, &cwhy) != VG_OK) {
        vg_log(VG_LOG_WARN, "broker", "control.unavailable", "reason=\"%s\"", cwhy.text);
    }
    return rc == VG_OK ? s_bind(sb, why) : rc;
}

/* Closes everything but the store (*store_p: kept when it won). */
static void
s_close(s_standby *sb, vgb_store **store_p)
{
    if (sb->router != NULL) {
        zmq_close(sb->router);
    }
    vgb_zap_destroy(&sb->zap);
    vgb_control_destroy(&sb->control);
    if (sb->ctx != NULL) {
        zmq_ctx_term(sb->ctx); /* the endpoint is free once this returns */
    }
    vgb_audit_destroy(&sb->audit);
    vgb_highwater_close(&sb->hw);
    if (store_p != NULL) {
        *store_p = sb->store;
    } else {
        vgb_store_destroy(&sb->store);
    }
    vg_netdoc_destroy(&sb->doc);
    vgb_bkeys_destroy(&sb->keys);
}

/* ---- the store ------------------------------------------------------------------ */

/* Logs a change of the store's state once (not at every poll). */
static void
s_store_state(s_standby *sb, const char *why_text)
{
    if (strcmp(sb->store_why, why_text) == 0) {
        return;
    }
    snprintf(sb->store_why, sizeof sb->store_why, "%s", why_text);
    if (why_text[0] != '\0') {
        vg_log(VG_LOG_WARN, "broker", "ha.store_unavailable", "reason=\"%s\"", why_text);
    } else {
        vg_log(VG_LOG_INFO, "broker", "ha.store_available", "endpoint=%s", sb->endpoint);
    }
}

static void
s_try_open(s_standby *sb, int64_t now)
{
    vg_reason why = {{0}};
    vg_err rc = vgb_store_open_config(&sb->store, sb->cfg, &why);
    rc = rc == VG_OK ? vgb_audit_open(&sb->audit, sb->store, vg_netdoc_network(sb->doc), NULL, &why)
                     : rc;
    if (rc == VG_OK && !vgb_store_lead_supported(sb->store)) {
        rc = vg_reason_set(&why, VG_ERR_CONFIG, "this store does not elect a leader");
    }
    if (rc == VG_OK && vgb_netdocs_adopt_newest(sb->store, sb->cfg->admin_pk,
                                                vg_keyset_curve_pk(vgb_bkeys_serving(sb->keys)),
                                                &sb->doc, &why) == VG_OK) {
        vgb_zap_renew(sb->zap, sb->doc); /* agencies added by a push to an earlier leader */
    }
    if (rc != VG_OK) {
        vgb_audit_destroy(&sb->audit);
        vgb_store_destroy(&sb->store);
        s_store_state(sb, why.text[0] ? why.text : vg_strerror(rc));
        sb->next_open_mono = now + sb->open_wait_ms;
        sb->open_wait_ms =
            sb->open_wait_ms * 2 < S_REOPEN_MAX_MS ? sb->open_wait_ms * 2 : S_REOPEN_MAX_MS;
        return;
    }
    sb->open_wait_ms = 100;
    sb->next_try_mono = now;
}

/* The mark follows what the leader recorded as durable; a log that lost
 * or changed history under it is never led. */
static void
s_follow_mark(s_standby *sb)
{
    uint64_t durable = 0;
    uint8_t root[VG_MERKLE_HASH_LEN];
    vg_reason why = {{0}};
    if (vgb_store_audit_durable(sb->store, &durable) == VG_OK &&
        (!sb->hw.valid || durable > sb->hw.size) &&
        vgb_audit_root_at(sb->audit, durable, root, NULL) == VG_OK) {
        vgb_highwater_raise(&sb->hw, durable, root);
    }
    bool damaged =
        vgb_highwater_check(&sb->hw, sb->audit, sb->cfg->store_path, &why) == VG_ERR_MALFORMED;
    if (damaged && !sb->damaged) {
        vg_log(VG_LOG_ERROR, "broker", "ha.refuse_lead", "reason=\"%s\"", why.text);
    }
    sb->damaged = damaged;
}

/* One try for the lead; true when this broker leads now. */
static bool
s_try_lead(s_standby *sb, int64_t now)
{
    sb->next_try_mono = now + (int64_t)sb->cfg->ha_poll_ms;
    s_follow_mark(sb);
    if (sb->damaged) {
        return false;
    }
    vgb_lead_params p = {.advertise = sb->cfg->ha_advertise, .lease_ms = sb->cfg->ha_lease_ms};
    vg_reason why = {{0}};
    vgb_lead_state st;
    vg_err rc = vgb_store_lead_try(sb->store, &p, &st, &why);
    s_store_state(sb, rc == VG_OK ? "" : why.text[0] ? why.text : vg_strerror(rc));
    if (rc != VG_OK) {
        return false;
    }
    if (st.epoch != sb->seen.epoch || strcmp(st.leader, sb->seen.leader) != 0) {
        vg_log(VG_LOG_INFO, "broker", "ha.leader_seen", "epoch=%" PRId64 " leader=%s", st.epoch,
               st.leader[0] ? st.leader : "unknown");
    }
    sb->seen = st;
    return st.mine;
}

/* Serves as a standby until it leads (true, sb->store held) or *stop. */
static bool
s_serve(s_standby *sb, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload)
{
    while (!*stop) {
        int64_t now = vg_clock_mono_ms(sb->clock);
        if (sb->store == NULL && now >= sb->next_open_mono) {
            s_try_open(sb, now);
        }
        if (sb->store != NULL && now >= sb->next_try_mono && s_try_lead(sb, now)) {
            return true;
        }
        if (reload != NULL) {
            *reload = 0; /* the document is read again when this broker takes over */
        }
        int64_t next = sb->store != NULL ? sb->next_try_mono : sb->next_open_mono;
        long timeout = next > now ? (long)(next - now) : 0;
        int fd = sb->store != NULL ? vgb_store_lead_fd(sb->store) : -1;
        zmq_pollitem_t items[4] = {{sb->router, 0, ZMQ_POLLIN, 0},
                                   {vgb_zap_socket(sb->zap), 0, ZMQ_POLLIN, 0}};
        int n = 2, i_control = -1, i_store = -1;
        if (sb->control != NULL) {
            i_control = n;
            items[n++] = (zmq_pollitem_t){vgb_control_socket(sb->control), 0, ZMQ_POLLIN, 0};
        }
        if (fd >= 0) {
            i_store = n;
            items[n++] = (zmq_pollitem_t){NULL, fd, ZMQ_POLLIN, 0};
        }
        if (zmq_poll(items, n, timeout) < 0) {
            if (zmq_errno() != EINTR) {
                vg_log(VG_LOG_ERROR, "broker", "poll.error", "msg=\"%s\"",
                       zmq_strerror(zmq_errno()));
            }
            continue;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            vgb_zap_handle(sb->zap);
        }
        if (items[0].revents & ZMQ_POLLIN) {
            s_answer(sb);
        }
        if (i_control >= 0 && (items[i_control].revents & ZMQ_POLLIN)) {
            vgb_control_handle(sb->control, s_control, sb);
        }
        if (i_store >= 0 && (items[i_store].revents & ZMQ_POLLIN) &&
            vgb_store_lead_woken(sb->store)) {
            sb->next_try_mono = vg_clock_mono_ms(sb->clock); /* the leader gave it up: now */
        }
    }
    return false;
}

/* ---- standby and leader in turn ------------------------------------------------ */

/* One term as the leader, on the store the standby won. VG_ERR_NOT_LEADER
 * when it ended by losing the lead (*lost says why). */
static vg_err
s_lead(const vg_broker_config *cfg, const vg_clock *clock, vgb_store **store_p, int64_t epoch,
       int64_t won_mono, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload,
       const char **lost)
{
    vgb_broker *b = NULL;
    vg_reason why = {{0}};
    vg_err rc = vgb_broker_new_on(&b, cfg, clock, store_p, epoch, &why);
    if (rc != VG_OK) {
        vg_log(VG_LOG_ERROR, "broker", "ha.takeover_failed",
               "epoch=%" PRId64 " code=%s "
               "reason=\"%s\"",
               epoch, vg_err_code(rc), why.text);
        *lost = "takeover_failed";
        return VG_ERR_NOT_LEADER;
    }
    vg_log(VG_LOG_INFO, "broker", "ha.leader", "epoch=%" PRId64 " endpoint=%s takeover_ms=%" PRId64,
           epoch, cfg->ha_advertise[0] ? cfg->ha_advertise : cfg->bind,
           vg_clock_mono_ms(clock) - won_mono);
    rc = vgb_broker_run(b, stop, reload);
    *lost = vgb_broker_lost(b);
    vgb_broker_destroy(&b);
    return rc;
}

vg_err
vgb_ha_run(const vg_broker_config *cfg, const vg_clock *clock, volatile sig_atomic_t *stop,
           volatile sig_atomic_t *reload, vg_reason *why)
{
    const char *role = "standby";
    while (!*stop) {
        s_standby sb;
        vg_err rc = s_open(&sb, cfg, clock, role, why);
        if (rc != VG_OK) {
            s_close(&sb, NULL);
            return rc; /* keys, document or endpoint: nothing to wait for */
        }
        vg_log(VG_LOG_INFO, "broker", "ha.standby", "endpoint=%s role=%s network=%s version=%llu",
               sb.endpoint, role, vg_netdoc_network(sb.doc),
               (unsigned long long)vg_netdoc_version(sb.doc));
        bool won = s_serve(&sb, stop, reload);
        int64_t epoch = sb.seen.epoch;
        int64_t won_mono = vg_clock_mono_ms(clock);
        vgb_store *store = NULL;
        s_close(&sb, won ? &store : NULL);
        if (!won) {
            break;
        }
        const char *lost = NULL;
        rc = s_lead(cfg, clock, &store, epoch, won_mono, stop, reload, &lost);
        if (rc != VG_ERR_NOT_LEADER) {
            return VG_OK; /* stopped */
        }
        role = lost != NULL && strcmp(lost, "fenced") == 0 ? "fenced" : "standby";
        if (lost != NULL && strcmp(lost, "takeover_failed") == 0) {
            struct timespec t = {S_RETRY_AFTER_FAIL_MS / 1000, 0};
            nanosleep(&t, NULL);
        }
    }
    vg_log(VG_LOG_INFO, "broker", "broker.stop", "endpoint=%s reason=stop role=%s", cfg->bind,
           role);
    return VG_OK;
}
