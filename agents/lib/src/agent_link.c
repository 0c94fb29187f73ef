/*
 * agent_link.c — the agent's socket to the broker (agent_internal.h): which
 * broker transport key it expects, and moving on to another one the
 * document lists when the handshake fails.
 *
 * The broker presents one transport key at a time. After a rotation
 * (broker/bkeys.h) it keeps presenting the old one until the document's
 * overlap for it ends, and a broker restarted meanwhile presents the new
 * one at once; so an agent cannot tell from the document alone which key it
 * will meet. It starts with the document's current key; when TCP connects
 * but the handshake fails twice in a row without one succeeding (a broker
 * that cannot open our HELLO closes the connection: wrong server key), it
 * marks the link for a new socket with the next candidate: the current key,
 * then each previous broker transport key whose overlap has not ended,
 * newest first.
 *
 * A refusal by the broker's authentication (HANDSHAKE_FAILED_AUTH: the
 * server key was right) twice in a row means the broker no longer admits
 * the agency's transport key: it rotated, and the overlap ended before this
 * agent learned the document that lists its new keys (it was offline, say).
 * The agent then tries the other transport keys its keyring holds; once
 * one is admitted, the broker sends the newer document, and the agent
 * follows it (agent.c, s_follow_keys).
 *
 * Several brokers (agent.conf `endpoint = tcp://a:7600, tcp://b:7600`,
 * docs/ha.md): one leads, the others are standbys that answer every frame
 * with REJECT_NOT_LEADER, naming the leader when they know it. The socket
 * connects to one endpoint at a time (link_ep). It moves on, with a new
 * socket, when a standby answers (to the leader it names, when agent.conf
 * lists it, else to the next endpoint), and when TCP connects to the
 * endpoint keep failing (S_RETRIES_TO_MOVE in a row: the broker is down),
 * or when a connection closes before its handshake finished (a broker that
 * is hung or paused still accepts TCP connections; the handshake then
 * times out after S_HANDSHAKE_MS, and a live connection to it ends by
 * ZeroMQ's heartbeat).
 * The broker keys are the same at every endpoint, so the key candidates
 * above carry over. A new socket sends Hello and the whole outbox again
 * (agent.c): an alert whose confirm was lost with the old broker is sent
 * with the same id and bytes, and the new leader answers DUPLICATE when it
 * already has it.
 */
#include <stdio.h>
#include <string.h>

#include <zmq.h>

#include "agent_internal.h"
#include "vigil/clock.h"
#include "vigil/log.h"

#define S_FAILS_TO_MOVE 2   /* failed handshakes in a row before the next key is tried */
#define S_RETRIES_TO_MOVE 2 /* failed TCP connects in a row before the next endpoint */
#define S_MOVE_MIN_MS 250   /* moves on a standby's answer: not more often than this */
/* Several endpoints: a broker that accepts TCP but does not finish the
 * handshake (hung, paused) is left after this. */
#define S_HANDSHAKE_MS 5000
#define S_MAX_CANDIDATES 17
#define S_BACKOFF_MAX_MS 30000 /* the longest pause before trying refused keys again */

/* The broker transport keys to try, in order; how many. */
static size_t
s_candidates(const vg_netdoc *doc, int64_t now_ms, const uint8_t *out[S_MAX_CANDIDATES])
{
    size_t n = 0;
    out[n++] = vg_netdoc_broker_transport_pk(doc);
    for (size_t i = vg_netdoc_n_previous_broker_keys(doc); i-- > 0 && n < S_MAX_CANDIDATES;) {
        vg_broker_keys bk;
        vg_netdoc_previous_broker_keys_at(doc, i, &bk);
        if (bk.transport_pk == NULL || bk.valid_until_ms <= now_ms) {
            continue;
        }
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++) {
            seen = memcmp(out[k], bk.transport_pk, VG_CURVE_KEY_LEN) == 0;
        }
        if (!seen) {
            out[n++] = bk.transport_pk;
        }
    }
    return n;
}

/* The key set whose transport key the socket presents: the identity's, or
 * (link_own > 0) another of the keyring's that has one. */
static const vg_keyset *
s_own_keys(const vga_agent *a)
{
    const vg_keyring *ring = vga_identity_keyring(a->id);
    size_t n = vg_keyring_n(ring), active = vg_keyring_active_index(ring);
    size_t step = n > 1 ? a->link_own % n : 0;
    const vg_keyset *ks = step > 0 ? vg_keyring_at(ring, (active + step) % n) : NULL;
    return ks != NULL && (vg_keyset_kinds(ks) & VG_KEY_CURVE) != 0 ? ks : vga_identity_keys(a->id);
}

vg_err
vga_link_open(vga_agent *a, vg_reason *why)
{
    const vga_config *cfg = vga_identity_config(a->id);
    const vg_keyset *ks = s_own_keys(a);
    const uint8_t *keys[S_MAX_CANDIDATES];
    size_t n = s_candidates(vga_agent_doc(a), vg_clock_wall_ms(a->clock), keys);
    const uint8_t *server_pk = keys[a->link_key % n];
    memcpy(a->link_pk, server_pk, VG_CURVE_KEY_LEN);
    int linger = 1000, hb_ivl = 2000, hb_timeout = 10000, reconnect_max = 2000;
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
        zmq_setsockopt(a->sock, ZMQ_RECONNECT_IVL_MAX, &reconnect_max, sizeof reconnect_max) != 0) {
        return vg_reason_set(why, VG_ERR_IO, "cannot set up the connection: %s",
                             zmq_strerror(zmq_errno()));
    }
    /* The monitor: without it the agent could not tell a wrong server key
     * from a broker that is down (ZeroMQ retries both silently). */
    char mon_ep[64];
    snprintf(mon_ep, sizeof mon_ep, "inproc://vga-link-%p", (void *)a);
    int events = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED |
                 ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    int handshake = S_HANDSHAKE_MS;
    if (cfg->endpoints.n > 1 &&
        zmq_setsockopt(a->sock, ZMQ_HANDSHAKE_IVL, &handshake, sizeof handshake) != 0) {
        return vg_reason_set(why, VG_ERR_IO, "cannot set up the connection: %s",
                             zmq_strerror(zmq_errno()));
    }
    if (zmq_socket_monitor(a->sock, mon_ep, events) == 0 &&
        (a->mon = zmq_socket(a->ctx, ZMQ_PAIR)) != NULL &&
        (zmq_setsockopt(a->mon, ZMQ_LINGER, &(int){0}, sizeof(int)) != 0 ||
         zmq_connect(a->mon, mon_ep) != 0)) {
        zmq_close(a->mon);
        a->mon = NULL;
    }
    a->link_shaken = false;
    a->link_retries = 0;
    a->relink = false;
    const char *endpoint = vga_link_endpoint(a);
    if (zmq_connect(a->sock, endpoint) != 0) {
        return vg_reason_set(why, VG_ERR_CONFIG, "%s: [broker] endpoint '%s': %s", cfg->path,
                             endpoint, zmq_strerror(zmq_errno()));
    }
    return VG_OK;
}

const char *
vga_link_endpoint(const vga_agent *a)
{
    const vg_strlist *eps = &vga_identity_config(a->id)->endpoints;
    return eps->n > 0 ? eps->items[a->link_ep % eps->n] : vga_identity_config(a->id)->endpoint;
}

void
vga_link_close(vga_agent *a)
{
    if (a->sock != NULL) {
        (void)zmq_socket_monitor(a->sock, NULL, 0);
    }
    if (a->mon != NULL) {
        zmq_close(a->mon);
        a->mon = NULL;
    }
    if (a->sock != NULL) {
        zmq_close(a->sock);
        a->sock = NULL;
    }
    if (a->ctx != NULL) {
        zmq_ctx_term(a->ctx);
        a->ctx = NULL;
    }
}

/* A new socket at mono time `at` (a failed handshake ended the old one's
 * connection for good: ZeroMQ does not reconnect after a protocol error). */
static void
s_relink_at(vga_agent *a, int64_t at)
{
    a->relink = true;
    a->relink_at = at;
}

/* Waits before trying the same keys again: 1 s, doubling, at most 30 s. */
static int64_t
s_backoff(unsigned tries)
{
    int64_t ms = 1000;
    for (unsigned i = 1; i < tries && ms < S_BACKOFF_MAX_MS; i++) {
        ms *= 2;
    }
    return ms < S_BACKOFF_MAX_MS ? ms : S_BACKOFF_MAX_MS;
}

/* The handshake keeps failing with link_pk: the key after it among those
 * the document (perhaps newer than when the socket was made) offers now.
 * When there is no other, the same key again after a pause if `dead` (the
 * connection will not come back by itself), else nothing (ZeroMQ keeps
 * reconnecting). */
static void
s_move_on(vga_agent *a, bool dead)
{
    int64_t now = vg_clock_mono_ms(a->clock);
    const uint8_t *keys[S_MAX_CANDIDATES];
    size_t n = s_candidates(vga_agent_doc(a), vg_clock_wall_ms(a->clock), keys);
    size_t at = n; /* where the key in use is among them (n: not any more) */
    for (size_t i = 0; i < n && at == n; i++) {
        at = memcmp(keys[i], a->link_pk, VG_CURVE_KEY_LEN) == 0 ? i : n;
    }
    size_t next = at == n ? 0 : (at + 1) % n;
    if (memcmp(keys[next], a->link_pk, VG_CURVE_KEY_LEN) == 0) {
        if (dead) {
            s_relink_at(a, now + s_backoff(a->link_fails));
        }
        return; /* the only key there is */
    }
    a->link_key = (unsigned)next;
    s_relink_at(a, now);
    vg_log(VG_LOG_WARN, "agent", "broker.handshake_failed",
           "agency=%s detail=\"trying the document's broker transport key %zu of %zu\"",
           vga_agent_agency(a), next + 1, n);
}

/* The broker's authentication refused our transport key: the keyring's
 * next one at once while there are untried ones, else the same ones again
 * after a pause (the agency may be revoked: the broker is not hammered). */
static void
s_refused(vga_agent *a)
{
    size_t n = vg_keyring_n(vga_identity_keyring(a->id));
    int64_t now = vg_clock_mono_ms(a->clock);
    a->link_own++;
    if (a->link_refusals < n) {
        s_relink_at(a, now);
        vg_log(VG_LOG_WARN, "agent", "broker.refused_key",
               "agency=%s detail=\"the broker refuses this transport key: trying the keyring's "
               "next\"",
               vga_agent_agency(a));
    } else {
        s_relink_at(a, now + s_backoff(a->link_refusals - (unsigned)n + 1));
    }
}

/* A new socket to endpoint `to` at mono time `at` (logged once). */
static void
s_move_to(vga_agent *a, size_t to, int64_t at, const char *reason)
{
    const vg_strlist *eps = &vga_identity_config(a->id)->endpoints;
    vg_log(VG_LOG_WARN, "agent", "broker.move", "agency=%s from=%s to=%s reason=%s",
           vga_agent_agency(a), vga_link_endpoint(a), eps->items[to % eps->n], reason);
    a->link_ep = to % eps->n;
    a->link_moved_mono = at;
    s_relink_at(a, at);
}

void
vga_link_not_leader(vga_agent *a, const char *leader)
{
    const vg_strlist *eps = &vga_identity_config(a->id)->endpoints;
    if (eps->n < 2 || a->relink) {
        return; /* one broker: the caller waits for it to lead; or a move is due already */
    }
    size_t to = (a->link_ep + 1) % eps->n;
    for (size_t i = 0; leader != NULL && leader[0] != '\0' && i < eps->n; i++) {
        if (strcmp(eps->items[i], leader) == 0 && i != a->link_ep % eps->n) {
            to = i;
        }
    }
    int64_t now = vg_clock_mono_ms(a->clock);
    int64_t at = a->link_moved_mono + S_MOVE_MIN_MS;
    s_move_to(a, to, at > now ? at : now, "not_leader");
}

void
vga_link_watch(vga_agent *a)
{
    for (;;) {
        zmq_msg_t ev, ep;
        zmq_msg_init(&ev);
        zmq_msg_init(&ep);
        if (a->mon == NULL || zmq_msg_recv(&ev, a->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            zmq_msg_close(&ep);
            return;
        }
        uint16_t event = 0;
        if (zmq_msg_size(&ev) >= sizeof event) {
            memcpy(&event, zmq_msg_data(&ev), sizeof event);
        }
        if (zmq_msg_more(&ev)) {
            (void)zmq_msg_recv(&ep, a->mon, ZMQ_DONTWAIT);
        }
        zmq_msg_close(&ev);
        zmq_msg_close(&ep);
        if (a->relink) {
            continue; /* a new socket is due already */
        }
        const vg_strlist *eps = &vga_identity_config(a->id)->endpoints;
        if (event == ZMQ_EVENT_CONNECT_RETRIED) {
            if (eps->n > 1 && ++a->link_retries >= S_RETRIES_TO_MOVE) {
                s_move_to(a, a->link_ep + 1, vg_clock_mono_ms(a->clock), "unreachable");
            }
        } else if (event == ZMQ_EVENT_CONNECTED) {
            a->link_shaken = false;
            a->link_retries = 0;
        } else if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            a->link_shaken = true;
            a->link_fails = 0;
            a->link_refusals = 0;
        } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            a->link_refusals++;
            s_refused(a);
        } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL && eps->n > 1 &&
                   a->link_fails + 1 < S_FAILS_TO_MOVE * (unsigned)eps->n) {
            a->link_fails++; /* timed out (S_HANDSHAKE_MS): a hung broker; the next one */
            s_move_to(a, a->link_ep + 1, vg_clock_mono_ms(a->clock), "no_handshake");
        } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
                   event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
            a->link_fails++;
            s_move_on(a, true);
        } else if (!a->link_shaken) { /* closed before the handshake */
            a->link_fails++;
            if (eps->n > 1) { /* a hung broker? the next one; keys once every one failed */
                s_move_to(a, a->link_ep + 1, vg_clock_mono_ms(a->clock), "no_handshake");
            }
            if (a->link_fails >= S_FAILS_TO_MOVE * (unsigned)(eps->n > 1 ? eps->n : 1)) {
                s_move_on(a, false); /* wrong server key? */
            }
        }
    }
}
