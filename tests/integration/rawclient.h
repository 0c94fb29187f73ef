/*
 * rawclient.h — a raw protocol client for broker tests: a ZeroMQ DEALER over
 * CurveZMQ that sends arbitrary bytes or hand-built ClientFrames and reads
 * BrokerFrames with a timeout, plus helpers that build hand-made (and
 * deliberately broken) envelopes.
 *
 * Unlike libvigil-agent it keeps no outbox or inbox, adds no recipients,
 * never receipts by itself and sends nothing it was not told to (no Hello
 * either): tests decide every byte. It speaks the generated protobuf-c types
 * directly (vigil.pb-c.h).
 *
 * A client watches its own connection (a ZeroMQ socket monitor), so tests
 * can tell "handshake refused" and "connection dropped" from "no answer".
 * Helpers fail the running cmocka test on local errors. Thread rules: a
 * client belongs to one thread.
 */
#ifndef VIGIL_TESTS_RAWCLIENT_H
#define VIGIL_TESTS_RAWCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil.pb-c.h"
#include "vigil/agent_config.h"
#include "vigil/keys.h"
#include "vigil/wire.h"

typedef struct rc_client rc_client;

/* Connects to endpoint pinning broker_pk, authenticating with the CurveZMQ
 * pair (pk, sk) (binary, VG_CURVE_KEY_LEN each). Free with rc_destroy. */
rc_client *rc_new(const char *endpoint, const uint8_t *broker_pk, const uint8_t *pk,
                  const uint8_t *sk);

/* Connects as the agency of agent_conf (its endpoint, pinned broker key and
 * transport keys, as the agent library would). */
rc_client *rc_new_agency(const char *agent_conf);

/* Connects to agent_conf's broker with a fresh random CurveZMQ pair that no
 * network document knows. */
rc_client *rc_new_unknown(const char *agent_conf);

/* Closes the socket; NULL-safe; sets *c_p = NULL. */
void rc_destroy(rc_client **c_p);

/* Sends one frame of len bytes as it is. False when ZeroMQ refused it. */
bool rc_send_raw(rc_client *c, const void *data, size_t len);

/* Sends one message of n frames (parts[i], lens[i]). False when ZeroMQ
 * refused one. */
bool rc_send_parts(rc_client *c, const void *const *parts, const size_t *lens, size_t n);

/* Packs and sends a ClientFrame (asserting ZeroMQ took it). */
void rc_send_frame(rc_client *c, const Vigil__ClientFrame *f);

/* A fresh request id (never 0). */
uint64_t rc_next_request(rc_client *c);

/* Sends Hello (request id 0, no reply) with the given receive flag. */
void rc_hello(rc_client *c, bool receive);

/* Sends Publish { env } with a fresh request id and returns that id. */
uint64_t rc_publish(rc_client *c, const uint8_t *env, size_t len);

/* Signs a DELIVERED receipt for one alert with keys (as agency), sends it
 * with a fresh request id and returns that id. */
uint64_t rc_receipt_delivered(rc_client *c, const char *agency, const vg_keyset *keys,
                              const uint8_t alert_id[VG_ALERT_ID_LEN],
                              const uint8_t envelope_hash[VG_HASH_LEN]);

/* The next BrokerFrame, waiting at most timeout_ms; NULL when none came.
 * Fails the test when bytes arrive that do not parse. Free with rc_frame_free. */
Vigil__BrokerFrame *rc_recv(rc_client *c, int64_t timeout_ms);

/* The next frame with this request id, waiting at most timeout_ms; other
 * frames that arrive meanwhile are counted in rc_n_skipped() and dropped.
 * NULL when it did not come. */
Vigil__BrokerFrame *rc_recv_reply(rc_client *c, uint64_t request_id, int64_t timeout_ms);

/* The Confirm replying to request_id (asserting it came within timeout_ms
 * and is a Confirm). Free the frame with rc_frame_free. */
Vigil__BrokerFrame *rc_expect_confirm(rc_client *c, uint64_t request_id, int64_t timeout_ms);

/* Frames rc_recv_reply dropped so far. */
size_t rc_n_skipped(const rc_client *c);

/* NULL-safe. */
void rc_frame_free(Vigil__BrokerFrame *f);

/* Connection events seen by the monitor so far (read within timeout_ms):
 * a completed CURVE handshake, a refused or failed handshake, a drop. */
typedef struct rc_events {
    size_t handshakes;  /* ZMQ_EVENT_HANDSHAKE_SUCCEEDED */
    size_t auth_failed; /* ZMQ_EVENT_HANDSHAKE_FAILED_* */
    size_t dropped;     /* ZMQ_EVENT_DISCONNECTED */
} rc_events;

/* Reads monitor events for up to timeout_ms, or until stop_when_dropped and
 * a drop is seen, and returns the totals since the client was made. */
rc_events rc_watch(rc_client *c, int64_t timeout_ms, bool stop_when_dropped);

/* ---- hand-made envelopes ------------------------------------------------- */

typedef struct rc_seal_spec {
    const char *const *recipients; /* exactly these; no policy added */
    size_t n_recipients;           /* count */
    const char *category;          /* one category from the taxonomy */
    vg_severity severity;          /* VG_SEV_UNSPECIFIED: high */
    uint64_t sequence;             /* >= 1 */
    int64_t created_ms;            /* 0: now */
    const char *headline;          /* NULL: "raw test alert" */
    const char *description;       /* may be NULL */
} rc_seal_spec;

/* Seals an alert as the agency of id with its own keys and its copy of the
 * network document (asserting success). *out_len is the length; free() the
 * result. id_out (may be NULL) receives the alert id. */
uint8_t *rc_seal(size_t *out_len, uint8_t *id_out, const vga_identity *id,
                 const rc_seal_spec *spec);

/* Called on the unpacked body of an envelope before it is re-signed. */
typedef void (*rc_body_edit)(Vigil__EnvelopeBody *body, void *ctx);

/* Unpacks a SignedEnvelope, lets edit (may be NULL) change its body, packs
 * the body again and signs it with keys (VG_DOMAIN_ENVELOPE). The signer
 * field becomes `signer` when not NULL. free() the result. */
uint8_t *rc_envelope_resign(size_t *out_len, const uint8_t *env, size_t len, rc_body_edit edit,
                            void *ctx, const vg_keyset *keys, const char *signer);

/* A copy of the envelope with one bit of its signature flipped. */
uint8_t *rc_envelope_flip_signature(size_t *out_len, const uint8_t *env, size_t len);

/* Wall-clock ms now. */
int64_t rc_wall_ms(void);

#endif
