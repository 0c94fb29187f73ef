/*
 * broker/streams.h — the per-agency event streams (docs/protocol.md,
 * "Events"): every event is numbered in the stream of each agency that must
 * hear of it (its sender and recipients, oversight, an escalation's
 * target), written to the store before the batch commits and sent to the
 * agency's subscribed connections after it; a subscriber that missed some
 * asks for them (QUERY_EVENTS). Oversight's copy carries what the network
 * document lets oversight see.
 *
 * A wide alert (more than VGB_PEER_EVENTS_MAX recipients: a national alert
 * to hundreds of agencies) would otherwise number every recipient's state
 * change in every other recipient's stream: recipients squared events and
 * rows per alert. Its per-recipient events (delivered, acknowledged, in
 * progress, declined, unopenable, overdue, escalated) go to its sender, the
 * recipient concerned, oversight and an escalation's targets; the alert's
 * own events (accepted, shared, complete, reassigned) still go to every
 * party, and QUERY_ALERT / QUERY_SNAPSHOT give any party every state.
 *
 * Owns: the subscribers (connections that said Hello with console = true;
 * room for them is made at an agency's first), each stream's last number,
 * this batch's events (as stored runs and as packed frames) and a small
 * cache of recent alerts' metadata and parties, so that an event does not
 * read its alert back from the store. An event costs what its audience
 * does, not the size of the network (except the few sent to everyone).
 * Never does: write audit leaves (record.h pairs each fact's events with
 * its one leaf).
 * Thread rules: the loop's thread only.
 */
#ifndef VIGIL_BROKER_STREAMS_H
#define VIGIL_BROKER_STREAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "out.h"
#include "store.h"
#include "vigil.pb-c.h"
#include "vigil/clock.h"
#include "vigil/envelope.h"
#include "vigil/err.h"
#include "vigil/netdoc.h"

#define VGB_SUBSCRIBERS_MAX 8  /* event-stream connections per agency */
#define VGB_PEER_EVENTS_MAX 64 /* recipients up to which all hear each one's state */

typedef struct vgb_streams vgb_streams;

/* An event to record. */
typedef struct vgb_event {
    Vigil__EventKind kind;        /* what happened */
    uint64_t seq;                 /* alert, 0 for agency events */
    const char *about;            /* the agency concerned */
    const char *detail;           /* e.g. "contact:home-office" */
    uint32_t level;               /* escalation level */
    uint32_t count;               /* alerts waiting */
    const uint8_t *receipt;       /* forwarded signed receipt */
    size_t receipt_len;           /* its length */
    const char *extra_agency;     /* also told (escalation contact) */
    const char *extra_role;       /* also told (escalation role) */
    bool everyone;                /* agency events: the whole network */
    bool named_only;              /* about an alert, but only `about`, extra_agency and
                                     oversight hear (not its sender and recipients) */
    const char *oversight_detail; /* what oversight sees instead of detail unless the
                                     document shows it officers' names, or NULL */
} vgb_event;

/* What an event says about its alert. */
typedef struct vgb_alert_brief {
    uint8_t id[VG_ALERT_ID_LEN];       /* alert id */
    char sender[VG_AGENCY_ID_MAX + 1]; /* sender agency */
    int severity;                      /* wire Severity */
    int status;                        /* wire Status (actual, exercise, ...) */
} vgb_alert_brief;

/* Reads each stream's last number from store. store, doc, o and clock are
 * borrowed and outlive the streams. Free with vgb_streams_destroy. */
vg_err vgb_streams_new(vgb_streams **out, vgb_store *store, const vg_netdoc *doc, const vgb_out *o,
                       const vg_clock *clock) VG_MUST_USE;

/* Drops this batch's events unsent; NULL-safe; sets *s_p = NULL. */
void vgb_streams_destroy(vgb_streams **s_p);

/* The network document changed (agencies only appended; call it between
 * batches): new agencies get a stream (numbered on from what the store
 * has), oversight is who the new document says. doc is borrowed and
 * outlives the streams. VG_ERR_NOMEM, or a store error. */
vg_err vgb_streams_renew(vgb_streams *s, const vg_netdoc *doc) VG_MUST_USE;

/* Numbers ev in the stream of everyone who must hear of it, for this
 * batch. *alert gets what it says about its alert and *has_alert whether it
 * is about one that exists. An error (the batch must then fail: a stream
 * must not lose an event) is returned. */
vg_err vgb_streams_emit(vgb_streams *s, const vgb_event *ev, vgb_alert_brief *alert,
                        bool *has_alert) VG_MUST_USE;

/* Alert seq was just accepted (env): kept so its events need not read it
 * back. */
void vgb_streams_alert_accepted(vgb_streams *s, uint64_t seq, const vg_envelope *env);

/* Alert seq has another party (a share): what was kept about it is dropped. */
void vgb_streams_audience_changed(vgb_streams *s, uint64_t seq);

/* Connection rid of agency (an index) subscribes to its stream (at most
 * VGB_SUBSCRIBERS_MAX: the one seen longest ago makes room). */
void vgb_streams_subscribe(vgb_streams *s, size_t agency, const uint8_t *rid, size_t rid_len);

/* A frame came from rid of agency: its subscription, if any, stays alive. */
void vgb_streams_seen(vgb_streams *s, size_t agency, const uint8_t *rid, size_t rid_len);

/* Drops subscriptions silent for longer than 3 keepalives. */
void vgb_streams_expire(vgb_streams *s);

/* True when the batch has events not yet written to the store. */
bool vgb_streams_unwritten(const vgb_streams *s);

/* Before the commit, inside the transaction: writes the batch's events. */
vg_err vgb_streams_write(vgb_streams *s) VG_MUST_USE;

/* After the batch: sends its events to their subscribers (committed) or
 * forgets them and their numbers (rolled back). */
void vgb_streams_flush(vgb_streams *s, bool committed);

#endif
