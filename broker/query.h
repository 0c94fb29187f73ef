/*
 * broker/query.h — the answers to Query frames (docs/protocol.md), as the
 * agency that asks may see them.
 *
 * Every answer depends on who asks:
 *  - an alert (QUERY_ALERT, QUERY_INCLUSION by alert id) is answered only to
 *    a party to it: its sender, its recipients (also those it was shared
 *    with) and oversight; anyone else gets exactly the answer for an alert
 *    that does not exist (vgb_unknown_alert), so it learns nothing, not even
 *    that the alert exists;
 *  - a leaf of the audit log (QUERY_INCLUSION by index) and its proof go only
 *    to an agency the leaf names or that is party to an alert it names, to
 *    an escalation's target, and to oversight; agency_offline/online and
 *    network_changed leaves are public (everyone hears of them); anyone else
 *    gets the answer for an index past the end of the log;
 *  - checkpoints and consistency proofs are for everyone: witnessing needs
 *    nothing else;
 *  - oversight sees metadata: officer names, notes and reasons only as far
 *    as the network document's "oversight" allows (vg_netdoc_oversight), and
 *    never an envelope;
 *  - QUERY_SNAPSHOT and QUERY_EVENTS are the requester's own.
 *
 * A snapshot is cut into pages of about max_bytes (QueryResult.more and
 * cursor), so one reply stays small.
 *
 * Reads only: it runs on the query thread (reader.h) over a read connection,
 * inside a read transaction, so an answer is one consistent committed state.
 * Thread rules: one call at a time per vgb_query_src.
 */
#ifndef VIGIL_BROKER_QUERY_H
#define VIGIL_BROKER_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "store.h"
#include "vigil.pb-c.h"
#include "vigil/err.h"
#include "vigil/netdoc.h"

typedef struct vgb_query_src {
    vgb_store *store;     /* a connection inside a read transaction */
    vgb_audit *audit;     /* the audit log on that connection */
    const vg_netdoc *doc; /* who is who, and what oversight may see */
    int64_t now_ms;       /* wall clock for linked alerts' outcomes (0: the system's) */
} vgb_query_src;

#define VGB_QUERY_LIMIT_MAX 2000          /* alerts or events in one answer */
#define VGB_QUERY_PAGE_BYTES (512 * 1024) /* a snapshot page stops growing here */

/* Answers q for `requester` (an agency of src->doc). *frame is a packed
 * BrokerFrame carrying request_id: a QueryResult, or an ErrorReply with the
 * code and reason; malloc'ed, free() it. VG_ERR_NOMEM when not even the
 * ErrorReply could be made. */
vg_err vgb_query_answer(const vgb_query_src *src, const char *requester, uint64_t request_id,
                        const Vigil__Query *q, uint8_t **frame, size_t *len) VG_MUST_USE;

/* The answer to an agency about an alert it is not party to, and about an
 * alert that does not exist: the same code and text, so that neither tells
 * a non-party the alert exists. */
vg_err vgb_unknown_alert(vg_reason *why, const char *agency);

#endif
