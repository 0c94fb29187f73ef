/*
 * broker/zap.h — the ZAP handler (RFC 27) that turns CurveZMQ into
 * authentication: it admits a client only when its transport public key is
 * that of a non-revoked agency in the network document, and names the
 * agency as the connection's User-Id.
 *
 * CURVE alone authenticates nobody: any key completes the handshake unless a
 * ZAP handler says no. The handler must be bound before the broker's ROUTER
 * binds, and the ROUTER sets ZMQ_ZAP_DOMAIN (VGB_ZAP_DOMAIN) and
 * ZMQ_ZAP_ENFORCE_DOMAIN, so a missing handler fails closed.
 *
 * Runs in the broker loop's thread: the broker polls vgb_zap_socket() with
 * its ROUTER and calls vgb_zap_handle() when it is readable. Borrows the
 * network document; never logs secrets (public keys appear as Z85).
 */
#ifndef VIGIL_BROKER_ZAP_H
#define VIGIL_BROKER_ZAP_H

#include "vigil/err.h"
#include "vigil/clock.h"
#include "vigil/netdoc.h"

#define VGB_ZAP_DOMAIN "vigil"

typedef struct vgb_zap vgb_zap;

/* The metadata an admitted connection's frames carry (zmq_msg_gets): its
 * transport key (Z85) and, when the key is trusted only until a time (a
 * previous key's overlap, a compromise), that time in wall ms. */
#define VGB_ZAP_KEY "X-Vigil-Key"
#define VGB_ZAP_UNTIL "X-Vigil-Until"

/* Binds the ZAP REP socket in zmq_ctx. doc and clock are borrowed and must
 * outlive the handler. A key is admitted as vg_netdoc_admit_transport says
 * at the moment of the handshake (a previous key during its overlap). */
vg_err vgb_zap_new(vgb_zap **out, void *zmq_ctx, const vg_netdoc *doc, const vg_clock *clock,
                   vg_reason *why) VG_MUST_USE;

/* NULL-safe; closes the socket; sets *zap_p = NULL. */
void vgb_zap_destroy(vgb_zap **zap_p);

/* Who may connect from now on (a reloaded network document; connections
 * already made are the broker's to close). doc is borrowed and outlives
 * the handler. */
void vgb_zap_renew(vgb_zap *zap, const vg_netdoc *doc);

/* The socket to poll for ZMQ_POLLIN. */
void *vgb_zap_socket(vgb_zap *zap);

/* Answers every request waiting on the socket (never blocks). */
void vgb_zap_handle(vgb_zap *zap);

#endif
