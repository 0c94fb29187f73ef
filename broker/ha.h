/*
 * broker/ha.h — several brokers on one PostgreSQL store, exactly one of them
 * the leader (docs/ha.md): a broker process's life, standby and leader in
 * turn.
 *
 * A standby loads its keys and the network document (it serves its
 * endpoint with the same CurveZMQ key as the leader: agents pin one broker
 * key), binds its ROUTER, ZAP handler and control socket, and answers every
 * frame with ErrorReply REJECT_NOT_LEADER, naming the leader's endpoint
 * when the store says it, so that agents move on at once instead of
 * waiting for a timeout; it handles nothing. `vigilctl broker status` gets
 * "role=standby" ("role=fenced" after a term that ended because another
 * broker had taken over). It opens the store as the broker does (waiting
 * while the store cannot be reached), tries for the lead every [ha] poll,
 * and at once when the leader gives it up (a NOTIFY: a hint, lost at a
 * failover). When it wins it closes its sockets and leads: vgb_broker_new_on
 * on the same connection, everything rebuilt from the store exactly as at a
 * restart, then vgb_broker_run. When that term ends (lease.h: fenced, the
 * lock lost, the store unreachable, a commit in doubt) it has confirmed
 * nothing more and becomes a standby again.
 *
 * The high-water mark (ledger.h) is each broker's file; a standby keeps its
 * own up to date from what the leader records as durable in the store, so
 * the mark a new leader checks at takeover is as new as the last leader's
 * last durable commit (up to a batch behind), and it lives outside the
 * database: a database that comes back with a shorter or different log is
 * refused.
 *
 * Every role change is logged: ha.standby, ha.leader (epoch, how long the
 * takeover took), ha.step_down and ha.fenced or ha.lease_lost (lease.h).
 *
 * Owns, as a standby: its sockets, keys, document and store connection.
 * Thread rules: the caller's (main's) thread.
 */
#ifndef VIGIL_BROKER_HA_H
#define VIGIL_BROKER_HA_H

#include <signal.h>

#include "vigil/broker_config.h"
#include "vigil/clock.h"
#include "vigil/err.h"

/* Runs the broker of cfg ([store] backend = postgresql) as standby and
 * leader in turn until *stop becomes non-zero; *reload (SIGHUP) as
 * vgb_broker_run has it while leading (a standby reads broker.conf's
 * document when it takes over). VG_OK after a clean stop; an error with
 * why when it cannot start at all (keys, document, endpoint). */
vg_err vgb_ha_run(const vg_broker_config *cfg, const vg_clock *clock, volatile sig_atomic_t *stop,
                  volatile sig_atomic_t *reload, vg_reason *why) VG_MUST_USE;

#endif
