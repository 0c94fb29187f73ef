/*
 * vigil/agent.h — the agency client library: connect to the broker, publish
 * alerts with a durable outbox, receive alerts into a durable inbox.
 *
 * Connection: a ZeroMQ DEALER over CurveZMQ to the broker endpoint of
 * agent.conf, pinning the broker's public key; the agency's transport key
 * authenticates it (docs/protocol.md). The agent fetches the broker's signed
 * network document and adopts it only when it verifies against the pinned
 * admin key and is newer than its own copy (which it then replaces on disk).
 *
 * Publish: the policy's mandatory recipients are added, the next sequence
 * number is taken, the alert is sealed and signed, and the envelope is
 * written to the local outbox (SQLite, fsynced) before it is sent. It stays
 * there until the broker confirms it; any later agent process on the same
 * store (publish, listen, the console) resends it with the same id and
 * bytes, so a crash or an unreachable broker loses nothing and never makes
 * two alerts.
 *
 * Receive: every delivery is verified (sender's signature, against the
 * network document), opened, and written to the local inbox before the
 * signed DELIVERED receipt goes back; a duplicate delivery is receipted again
 * and not returned twice.
 *
 * Store: <[agent] store>/agent.db. One vga_agent per thread; the objects are
 * not thread-safe. Secrets stay in the keyset; nothing here logs content.
 */
#ifndef VIGIL_AGENTS_AGENT_H
#define VIGIL_AGENTS_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/agent_config.h"
#include "vigil/clock.h"
#include "vigil/envelope.h"
#include "vigil/err.h"
#include "vigil/util.h"

typedef struct vga_agent vga_agent;

typedef struct vga_options {
    bool receive;          /* ask the broker for this agency's deliveries */
    const vg_clock *clock; /* NULL = the system clock */
    const char *software;  /* name/version sent in Hello, for broker logs */
} vga_options;

/* Loads the identity (vga_identity_load), opens the local store, connects.
 * Connecting does not wait for the broker: ZeroMQ connects in the background
 * and queued frames go out once it is reachable. Free with vga_agent_destroy. */
vg_err vga_agent_open(vga_agent **out, const char *config_path, const vga_options *opts,
                      vg_reason *why) VG_MUST_USE;

/* Closes the connection and the store; NULL-safe; sets *agent_p = NULL.
 * Whatever is in the outbox stays there for the next process. */
void vga_agent_destroy(vga_agent **agent_p);

const char *vga_agent_agency(const vga_agent *a);
/* The network document in use (borrowed; replaced when a newer one arrives). */
const vg_netdoc *vga_agent_doc(const vga_agent *a);

/* The result of a publish or of an outbox resend. */
typedef struct vga_confirm {
    uint8_t alert_id[VG_ALERT_ID_LEN]; /* the alert */
    bool duplicate;                    /* the broker already had it (a resend) */
    vg_err code;                       /* VG_OK, or why it was rejected */
    vg_reason reason;                  /* the broker's reason when rejected */
    vg_strlist missing;                /* VG_ERR_MISSING_RECIPIENTS: agency ids */
} vga_confirm;

/* Frees the missing list. */
void vga_confirm_fini(vga_confirm *c);

/*
 * Publishes alert (its sender, sequence, created time and id are filled in
 * here; recipients may be empty: the policy's mandatory agencies are added).
 * Waits up to timeout_ms for the broker's confirm. Returns:
 *   VG_OK: accepted (or a duplicate of an accepted resend); res->alert_id set;
 *   VG_ERR_TIMEOUT: not confirmed in time; the alert is safe in the outbox
 *     and res->alert_id says which; a later process sends it;
 *   the broker's rejection (VG_ERR_MISSING_RECIPIENTS, VG_ERR_CLOCK_SKEW, ...)
 *     with res->reason; a rejected alert leaves the outbox (it would never be
 *     accepted) except for VG_ERR_STORAGE_FULL and VG_ERR_INTERNAL, which
 *     are kept and resent;
 *   local errors (VG_ERR_INVALID, VG_ERR_IO, ...) with why: nothing stored.
 * res is always initialised; vga_confirm_fini() it.
 */
vg_err vga_publish(vga_agent *a, const vg_alert *alert, int64_t timeout_ms, vga_confirm *res,
                   vg_reason *why) VG_MUST_USE;

/* Publishes an envelope the caller sealed itself (tests and tools): it goes
 * through the outbox like any other. Same results as vga_publish. */
vg_err vga_publish_sealed(vga_agent *a, const uint8_t *signed_envelope, size_t len,
                          int64_t timeout_ms, vga_confirm *res, vg_reason *why) VG_MUST_USE;

/* Resends everything in the outbox, in order, and waits up to timeout_ms for
 * the confirms. *n_left (may be NULL) is what is still unconfirmed. */
vg_err vga_flush_outbox(vga_agent *a, int64_t timeout_ms, size_t *n_left,
                        vg_reason *why) VG_MUST_USE;

/* Number of alerts waiting in the outbox. */
vg_err vga_outbox_count(vga_agent *a, size_t *out) VG_MUST_USE;

/*
 * Waits up to timeout_ms for the next new alert for this agency (needs
 * opts.receive). On VG_OK *out owns the opened alert (vg_alert_fini it); it
 * is already in the inbox and receipted. VG_ERR_TIMEOUT when none came.
 * Deliveries that fail verification or opening are logged
 * ("agent.deliver_reject"), kept out of the inbox, not receipted, and never
 * returned. Outbox confirms arriving meanwhile are handled too.
 */
vg_err vga_receive(vga_agent *a, int64_t timeout_ms, vg_alert *out, vg_reason *why) VG_MUST_USE;

/* Serves the connection (keepalive, confirms, network updates) for up to
 * timeout_ms without returning alerts; for tools that only publish. */
void vga_poll(vga_agent *a, int64_t timeout_ms);

/* Asks the broker for its network document and waits up to timeout_ms;
 * adopts it when it is newer (and saves it). *version_out (may be NULL) is
 * the version in use afterwards. */
vg_err vga_sync_network(vga_agent *a, int64_t timeout_ms, uint64_t *version_out,
                        vg_reason *why) VG_MUST_USE;

#endif
