/*
 * broker/bkeys.h — the broker's own keys: the signing key of its
 * checkpoints and the transport key its ROUTER presents, and their rotation
 * while it runs (docs/deploy.md, "Rotating the broker's keys").
 *
 * broker.conf `[broker] keys` names the key file, KEYS. A rotation is
 * prepared beside it, in KEYS.next (`vigilctl broker rotate-keys`, which
 * also has the current signing key sign the key-transition note). A network
 * document that gives the broker other keys is put in force only when
 * KEYS.next holds exactly those keys (vgb_bkeys_prepare refuses it
 * otherwise, and the running document stays in force). Once it is
 * (vgb_bkeys_adopt):
 *
 *  - checkpoints are signed with the new signing key from the next one on
 *    (the document's key_transition hands the log over);
 *  - KEYS is rewritten with the new keys (a restart keeps them) and
 *    KEYS.next removed;
 *  - the ROUTER goes on presenting the old transport key until the
 *    document's overlap for it ends (the `valid_until` of the
 *    previous_broker_keys entry that lists it): connected agents are sent
 *    the new document meanwhile, and agents try the document's other broker
 *    keys when a handshake fails. Then the broker binds its ROUTER again
 *    with the new key (vgb_bkeys_switch_at, vgb_bkeys_switched).
 *
 * At start, KEYS must hold the keys the document names, or KEYS.next must
 * (the broker stopped after a document with new keys was recorded and
 * before KEYS was rewritten): then KEYS.next is taken and written to KEYS.
 * A restart during an overlap presents the new transport key at once.
 *
 * One rotation at a time: new keys are refused while a transport key
 * change is still waiting for its overlap to end.
 *
 * Owns: the key sets. Thread rules: the loop's thread. The key set
 * vgb_bkeys_keys returns is borrowed by the audit log (and by the query
 * thread's read-only handle, which never signs); its address never changes.
 */
#ifndef VIGIL_BROKER_BKEYS_H
#define VIGIL_BROKER_BKEYS_H

#include <stdbool.h>
#include <stdint.h>

#include "out.h"
#include "vigil/err.h"
#include "vigil/keys.h"
#include "vigil/netdoc.h"

typedef struct vgb_bkeys vgb_bkeys;

/* Loads the broker's keys from path (sign and curve kinds), checked against
 * doc as above. VG_ERR_CONFIG with why when neither KEYS nor KEYS.next
 * holds the document's keys; the key file's own errors. */
vg_err vgb_bkeys_open(vgb_bkeys **out, const char *path, const vg_netdoc *doc,
                      vg_reason *why) VG_MUST_USE;

/* NULL-safe; wipes the keys; sets *k_p = NULL. */
void vgb_bkeys_destroy(vgb_bkeys **k_p);

/* The current keys: the signing key checkpoints are signed with. */
const vg_keyset *vgb_bkeys_keys(const vgb_bkeys *k);

/* The keys whose transport (curve) key the ROUTER presents now. */
const vg_keyset *vgb_bkeys_serving(const vgb_bkeys *k);

/* May next be put in force, as far as the broker's keys go? VG_OK when it
 * names the current keys, or KEYS.next holds exactly the keys it names
 * (then they are loaded, for vgb_bkeys_adopt). VG_ERR_INVALID with why
 * otherwise. */
vg_err vgb_bkeys_prepare(vgb_bkeys *k, const vg_netdoc *next, vg_reason *why) VG_MUST_USE;

/* next is in force (the store has it): switches to the keys
 * vgb_bkeys_prepare loaded, if any, at wall time now_ms. True when the
 * broker's keys changed. Writing KEYS may fail: logged, and the next start
 * takes KEYS.next then. */
bool vgb_bkeys_adopt(vgb_bkeys *k, const vg_netdoc *next, int64_t now_ms);

/* Wall ms at which the ROUTER must present the current transport key, or
 * INT64_MAX when it does. */
int64_t vgb_bkeys_switch_at(const vgb_bkeys *k);

/* The ROUTER was bound again: it presents the current transport key. */
void vgb_bkeys_switched(vgb_bkeys *k);

/* The overlap of the broker's old transport key ended: binds out's ROUTER
 * again (in zmq_ctx) with the current key, so that it presents the new one
 * from now on, and calls vgb_bkeys_switched. Its connections close; agents
 * connect again with the document's key. A test's sender (out->fn) has no
 * ROUTER: nothing to bind. VG_ERR_IO (logged keys.transport_failed) when
 * it could not be bound again: the broker stops (its supervisor restarts
 * it, on the new key). */
vg_err vgb_bkeys_switch_transport(vgb_bkeys *k, vgb_out *out, void *zmq_ctx) VG_MUST_USE;

#endif
