/*
 * broker/reload.h — a new network document while the broker runs
 * (docs/deploy.md, "Changing the network"): checked, recorded and put in
 * force between two batches, without a restart.
 *
 * The document must verify against the pinned admin key, be for the same
 * network, name the broker's keys or keys prepared for it (bkeys.h), have a
 * higher version, and keep every agency
 * where it is (new ones only appended; a card is never removed or moved,
 * and a revoked one never comes back): vgb_netdocs_check_next. Anything
 * else is refused with a reason and the running document stays in force.
 *
 * Put in force in one transaction: the store's network version and the
 * document itself, a network_changed leaf and event (everyone hears of it
 * and fetches it), and, for each required agency the document newly revokes
 * before it acknowledged, a reassigned leaf and event on each of its open
 * alerts (the alert is surfaced, not left waiting for an agency that can no
 * longer act). Only once that committed do the modules switch to it; alerts
 * accepted before keep their recipients and deadlines; new ones follow the
 * new policy. A revoked agency's connections are closed at once. New
 * broker keys are adopted (vgb_bkeys_adopt).
 *
 * Owns: nothing (it works through the modules it is given).
 * Thread rules: the loop's thread, between batches.
 */
#ifndef VIGIL_BROKER_RELOAD_H
#define VIGIL_BROKER_RELOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "bkeys.h"
#include "conns.h"
#include "delivery.h"
#include "netdocs.h"
#include "quota.h"
#include "reader.h"
#include "record.h"
#include "store.h"
#include "streams.h"
#include "tracking.h"
#include "vigil/clock.h"
#include "vigil/err.h"
#include "vigil/keys.h"
#include "vigil/netdoc.h"
#include "zap.h"

/* What a reload changes (all borrowed from the broker). */
typedef struct vgb_reload_deps {
    const vg_clock *clock;     /* both clocks */
    const uint8_t *admin_pk;   /* VG_SIGN_PK_LEN: who signs documents */
    vgb_store *store;          /* the document, the version, the rows */
    vgb_batch *batch;          /* the transaction */
    vgb_record *record;        /* network_changed, reassigned */
    vgb_netdocs *netdocs;      /* which documents envelopes may be sealed under */
    vgb_quota *quota;          /* limits */
    vgb_conns *conns;          /* revoked agencies' connections */
    vgb_reader *reader;        /* the query thread's document */
    vgb_delivery *delivery;    /* windows */
    vgb_streams *streams;      /* event streams */
    vgb_tracking *tracking;    /* deadlines and escalation */
    vgb_zap *zap;              /* who may connect */
    vgb_bkeys *bkeys;          /* the broker's own keys (a document may rotate them) */
    bool (*commit)(void *ctx); /* commits the batch: true when it committed */
    void *commit_ctx;          /* its context */
} vgb_reload_deps;

/* Verifies bytes as the document to follow cur and puts it in force (see
 * above); *out is the new document (the caller's: it must outlive
 * everything that borrows it, which is every module; keep cur alive too, as
 * the query thread may still read it). Errors: what vg_netdoc_verify,
 * vgb_netdocs_check_next and vgb_bkeys_prepare return, or the store's
 * (nothing changed then), with why. */
vg_err vgb_reload(const vgb_reload_deps *d, const vg_netdoc *cur, const uint8_t *bytes, size_t len,
                  vg_netdoc **out, vg_reason *why) VG_MUST_USE;

#endif
