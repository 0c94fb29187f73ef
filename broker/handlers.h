/*
 * broker/handlers.h — one home per message kind: a Publish (publish.c), a
 * Receipt of any kind (receipt.c), a Share (sharing.c), a Cosign
 * (cosigning.c). Each handler runs inside the poll batch: it checks the
 * frame, changes the store's rows, records the fact (record.h: its events
 * and its one leaf; a cosignature is signed evidence itself and writes
 * none, docs/audit.md), watches the rows' deadlines (tracking.h), and
 * queues its confirm and post-commit work in the batch (batch.h); nothing
 * is sent before the batch commits.
 * Queries go to ask.h, Hello and GetNetwork are the loop's own (broker.c).
 *
 * The handlers share no state: what they use is the modules below, each of
 * which owns its own.
 * Thread rules: the loop's thread only.
 */
#ifndef VIGIL_BROKER_HANDLERS_H
#define VIGIL_BROKER_HANDLERS_H

#include "batch.h"
#include "delivery.h"
#include "netdocs.h"
#include "quota.h"
#include "record.h"
#include "space.h"
#include "store.h"
#include "tracking.h"
#include "verifier.h"
#include "vigil.pb-c.h"
#include "vigil/broker_config.h"
#include "vigil/clock.h"
#include "vigil/netdoc.h"

/* The modules a handler works with (all borrowed from the broker). */
typedef struct vgb_services {
    const vg_broker_config *cfg; /* limits (clock skew) */
    const vg_clock *clock;       /* both clocks */
    const vg_netdoc *doc;        /* the current network document */
    const vgb_netdocs *netdocs;  /* the documents an envelope may be sealed under */
    vgb_store *store;            /* the rows */
    vgb_batch *batch;            /* replies, post-commit work, the transaction */
    vgb_record *record;          /* events and leaves */
    vgb_tracking *tracking;      /* deadlines */
    vgb_delivery *delivery;      /* frames of recent alerts */
    vgb_quota *quota;            /* what each agency may publish */
    vgb_space *space;            /* a full disk refuses publishes */
} vgb_services;

/* A Publish; pre, when not NULL, holds its envelope already checked (the
 * verifier's job: its env is taken). */
void vgb_handle_publish(const vgb_services *sv, const vgb_from *from,
                        const ProtobufCBinaryData *bytes, vgb_verify_job *pre);

/* A Receipt: DELIVERED, or a person's (ACKNOWLEDGED, IN_PROGRESS,
 * DECLINED) or the software's UNOPENABLE. */
void vgb_handle_receipt(const vgb_services *sv, const vgb_from *from,
                        const ProtobufCBinaryData *bytes);

/* A Share (onward sharing to one more agency). */
void vgb_handle_share(const vgb_services *sv, const vgb_from *from,
                      const ProtobufCBinaryData *bytes);

/* A Cosign: an agency's witness cosignature of a checkpoint the broker
 * signed (cosigning.c), verified against the agency's key in the document
 * and that stored checkpoint, kept once per agency and checkpoint
 * (store_witness.h). */
void vgb_handle_cosign(const vgb_services *sv, const vgb_from *from, const Vigil__Cosign *c);

/* Shared by the handlers: VG_ERR_CLOCK_SKEW (why naming `what`: "envelope",
 * "receipt", "share") when created_ms is further from the broker's clock
 * than max_clock_skew. */
vg_err vgb_check_skew(const vgb_services *sv, int64_t created_ms, const char *what,
                      vg_reason *why) VG_MUST_USE;

/* Refuses what from sent: one log line (msg id `what`), the record of the
 * refusal (record.h) and a REJECTED confirm with the wire code of err.
 * claimed: the sender an envelope named (NULL: none); missing may be NULL. */
void vgb_refuse(const vgb_services *sv, const vgb_from *from, const char *claimed,
                const uint8_t *alert_id, vg_err err, const char *reason, const vg_strlist *missing,
                const char *what);

#endif
