/*
 * agent_link.c — the agent's connection to the broker, and following the
 * leader when there are several brokers (agent.conf `endpoint = tcp://a:7600,
 * tcp://b:7600`; docs/ha.md).
 *
 * One DEALER, connected to one endpoint at a time. A socket monitor says
 * when the CurveZMQ handshake succeeded (the link is up) and when the
 * connection dropped. The agent moves to another endpoint when
 *   - the one in use has been down for S_FAILOVER_MS (a broker that died, a
 *     machine gone), or
 *   - the broker answers REJECT_NOT_LEADER (a standby): to the leader it
 *     names when that is one of agent.conf's endpoints, else to the next;
 *     going round every endpoint without finding the leader, it waits
 *     S_ROUND_MS before the next round (a takeover takes a moment).
 * Every new link (a move, or ZeroMQ reconnecting the same endpoint after a
 * broker restart) gets a Hello at once, the outbox sent again (the same
 * alert ids and bytes: a broker that has one answers DUPLICATE) and the
 * request the caller is waiting for sent again with the same request id (a
 * query, a receipt, a share: each is idempotent at the broker). A
 * not_leader answer is never handed to the caller: it waits on, and its
 * request is sent again to the next broker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "agent_internal.h"
#include "vigil/log.h"

#define S_FAILOVER_MS 1000 /* down this long: try the next endpoint */
#define S_MOVE_MIN_MS 100  /* at most one move per this long */
#define S_ROUND_MS 300     /* a whole round of standbys: wait this long before the next */
#define S_EVENTS (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED)

static const char *
s_endpoint(const vga_agent *a, size_t i)
{
    return vga_identity_config(a->id)->endpoints.items[i];
}

static size_t
s_n_endpoints(const vga_agent *a)
{
    return vga_identity_config(a->id)->endpoints.n;
}

const char *
vga_agent_broker(const vga_agent *a)
{
    return s_endpoint(a, a->ep_cur);
}

uint64_t
vga_agent_links(const vga_agent *a)
{
    return a->n_links;
}

vg_err
vga_link_open(vga_agent *a, vg_reason *why)
{
    const vg_keyset *ks = vga_identity_keys(a->id);
    /* The document's broker key, not the pinned one: the pinned key is one
     * the document lists (vga_identity_load checks it), and after a broker
     * key rotation the document's is the one the broker presents. Every
     * broker of a network presents the same key. */
    const uint8_t *server_pk = vg_netdoc_broker_transport_pk(vga_identity_doc(a->id));
    int linger = 1000, hb_ivl = 2000, hb_timeout = 10000, reconnect_max = 2000;
    char mon[64];
    snprintf(mon, sizeof mon, "inproc://vga-link-%p", (void *)a);
    a->ctx = zmq_ctx_new();
    a->sock = a->ctx ? zmq_socket(a->ctx, ZMQ_DEALER) : NULL;
    if (a->sock == NULL ||
        zmq_setsockopt(a->sock, ZMQ_CURVE_SERVERKEY, server_pk, VG_CURVE_KEY_LEN) != 0 ||
        zmq_setsockopt(a->sock, ZMQ_CURVE_PUBLICKEY, vg_keyset_curve_pk(ks), VG_CURVE_KEY_LEN) !=
            0 ||
        zmq_setsockopt(a->sock, ZMQ_CURVE_SECRETKEY, vg_keyset_curve_sk(ks), VG_CURVE_KEY_LEN) !=
            0 ||
        zmq_setsockopt(a->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(a->sock, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl) != 0 ||
        zmq_setsockopt(a->sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout) != 0 ||
        zmq_setsockopt(a->sock, ZMQ_RECONNECT_IVL_MAX, &reconnect_max, sizeof reconnect_max) != 0 ||
        zmq_socket_monitor(a->sock, mon, S_EVENTS) != 0 ||
        (a->mon = zmq_socket(a->ctx, ZMQ_PAIR)) == NULL || zmq_connect(a->mon, mon) != 0) {
        return vg_reason_set(why, VG_ERR_IO, "cannot set up the connection: %s",
                             zmq_strerror(zmq_errno()));
    }
    int mon_linger = 0;
    zmq_setsockopt(a->mon, ZMQ_LINGER, &mon_linger, sizeof mon_linger);
    const vga_config *cfg = vga_identity_config(a->id);
    if (zmq_connect(a->sock, s_endpoint(a, 0)) != 0) {
        return vg_reason_set(why, VG_ERR_CONFIG, "%s: [broker] endpoint '%s': %s", cfg->path,
                             s_endpoint(a, 0), zmq_strerror(zmq_errno()));
    }
    a->ep_cur = 0;
    a->down_mono = a->moved_mono = vg_clock_mono_ms(a->clock);
    return VG_OK;
}

void
vga_link_close(vga_agent *a)
{
    if (a->mon != NULL) {
        zmq_close(a->mon);
        a->mon = NULL;
    }
    if (a->sock != NULL) {
        zmq_socket_monitor(a->sock, NULL, 0);
        zmq_close(a->sock);
        a->sock = NULL;
    }
    if (a->ctx != NULL) {
        zmq_ctx_term(a->ctx);
        a->ctx = NULL;
    }
    for (size_t i = 0; i < VGA_SENT_MAX; i++) {
        free(a->sent[i].frame);
    }
    memset(a->sent, 0, sizeof a->sent);
}

/* ---- requests sent, for a new link --------------------------------------------- */

void
vga_link_sent(vga_agent *a, uint64_t req, const uint8_t *frame, size_t len)
{
    vga_sent *slot = &a->sent[a->sent_next];
    a->sent_next = (a->sent_next + 1) % VGA_SENT_MAX;
    free(slot->frame);
    slot->frame = malloc(len ? len : 1);
    slot->req = slot->frame != NULL ? req : 0;
    slot->len = len;
    if (slot->frame != NULL) {
        memcpy(slot->frame, frame, len);
    }
}

/* Sends the request w waits for again, with its request id. */
static void
s_resend_waited(vga_agent *a, const vga_wait *w)
{
    for (size_t i = 0; w != NULL && w->req != 0 && !w->got && i < VGA_SENT_MAX; i++) {
        if (a->sent[i].req == w->req) {
            (void)zmq_send(a->sock, a->sent[i].frame, a->sent[i].len, ZMQ_DONTWAIT);
            return;
        }
    }
}

/* ---- moving ----------------------------------------------------------------------- */

static void
s_move(vga_agent *a, size_t to, const char *reason)
{
    int64_t now = vg_clock_mono_ms(a->clock);
    const char *from = s_endpoint(a, a->ep_cur);
    (void)zmq_disconnect(a->sock, from);
    if (zmq_connect(a->sock, s_endpoint(a, to)) != 0) {
        vg_log(VG_LOG_WARN, "agent", "broker.unusable", "endpoint=%s reason=\"%s\"",
               s_endpoint(a, to), zmq_strerror(zmq_errno()));
    }
    vg_log(VG_LOG_INFO, "agent", "broker.move", "agency=%s from=%s to=%s reason=%s",
           vga_agent_agency(a), from, s_endpoint(a, to), reason);
    a->ep_cur = to;
    a->up = false;
    a->down_mono = a->moved_mono = now;
    a->n_moves++;
}

/* The endpoint agent.conf lists as `leader`, or -1. */
static long
s_find(const vga_agent *a, const char *leader)
{
    for (size_t i = 0; leader != NULL && leader[0] != '\0' && i < s_n_endpoints(a); i++) {
        if (strcmp(s_endpoint(a, i), leader) == 0) {
            return (long)i;
        }
    }
    return -1;
}

void
vga_link_not_leader(vga_agent *a, const char *leader)
{
    long to = s_find(a, leader);
    if (to >= 0 && (size_t)to != a->ep_cur) {
        a->move_to = to;
    } else if (s_n_endpoints(a) > 1) {
        a->move_to = (long)((a->ep_cur + 1) % s_n_endpoints(a));
        a->standbys_seen++;
    } else {
        a->move_to = (long)a->ep_cur; /* the only broker: ask it again shortly */
        a->standbys_seen++;
    }
}

/* A move asked for by a not_leader answer, when the damping allows it. */
static void
s_move_if_asked(vga_agent *a, int64_t now, const vga_wait *w)
{
    if (a->move_to < 0) {
        return;
    }
    bool round_done = a->standbys_seen >= s_n_endpoints(a);
    int64_t wait = round_done ? S_ROUND_MS : S_MOVE_MIN_MS;
    if (now - a->moved_mono < wait) {
        return;
    }
    size_t to = (size_t)a->move_to;
    a->move_to = -1;
    if (round_done) {
        a->standbys_seen = 0;
    }
    if (to == a->ep_cur) { /* asked to try the same broker again */
        a->moved_mono = now;
        vga_conn_greet(a);
        s_resend_waited(a, w);
        return;
    }
    s_move(a, to, "not_leader");
}

/* Takes the monitor's events: the link came up (greet, resend) or dropped. */
static void
s_events(vga_agent *a, int64_t now, const vga_wait *w)
{
    for (;;) {
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, a->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        uint16_t event = 0;
        if (zmq_msg_size(&ev) >= 2) {
            memcpy(&event, zmq_msg_data(&ev), 2);
        }
        zmq_msg_close(&ev);
        zmq_msg_init(&addr);
        (void)zmq_msg_recv(&addr, a->mon, ZMQ_DONTWAIT); /* the endpoint: ours */
        zmq_msg_close(&addr);
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            a->up = true;
            a->n_links++;
            vga_conn_greet(a); /* Hello, and the outbox again */
            s_resend_waited(a, w);
        } else if (event == ZMQ_EVENT_DISCONNECTED && a->up) {
            a->up = false;
            a->down_mono = now;
        }
    }
}

void
vga_link_watch(vga_agent *a, const vga_wait *w)
{
    int64_t now = vg_clock_mono_ms(a->clock);
    s_events(a, now, w);
    s_move_if_asked(a, now, w);
    if (!a->up && s_n_endpoints(a) > 1 && now - a->down_mono >= S_FAILOVER_MS &&
        now - a->moved_mono >= S_FAILOVER_MS) {
        s_move(a, (a->ep_cur + 1) % s_n_endpoints(a), "unreachable");
    }
}

long
vga_link_next_ms(const vga_agent *a)
{
    int64_t now = vg_clock_mono_ms(a->clock);
    if (a->move_to >= 0) {
        return S_MOVE_MIN_MS;
    }
    if (!a->up && s_n_endpoints(a) > 1) {
        int64_t due = a->down_mono + S_FAILOVER_MS - now;
        return due > 0 ? (long)due : 0;
    }
    return -1;
}
