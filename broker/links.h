/*
 * broker/links.h — warning memory (docs/network.md "Link tags"): an
 * accepted alert is indexed under its link tags, linked to every earlier
 * alert that shares one, and each agency is told what it may know of those
 * earlier alerts.
 *
 * The broker never sees a reference: tags are keyed hashes under a link key
 * only agencies hold. It sees which alerts share one, which is the point.
 *
 * What an agency may know of a linked earlier alert (vgb_links_view): its id
 * and acceptance time only when it was a party to it (sender, recipient,
 * shared with) or is oversight; every required agency's outcome
 * (acknowledged, late, never, still open) always: that is what makes a
 * repeat warning visible to the agency that is warned again.
 *
 * Owns: a vgb_linkview owns its protobuf items (vgb_linkview_fini).
 * Thread rules: the store's: the loop's on the owner's store, the query
 * thread's on its reader.
 */
#ifndef VIGIL_BROKER_LINKS_H
#define VIGIL_BROKER_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "store.h"
#include "vigil.pb-c.h"
#include "vigil/envelope.h"
#include "vigil/netdoc.h"

#define VGB_LINKS_MAX 256 /* earlier alerts one alert is linked to, at most (the oldest) */

/* Alert seq (env, its required agencies in required) was just stored, in
 * the batch's transaction: indexes its tags, and when earlier alerts share
 * one records the link and the repeat warnings (record.h): one for each
 * required recipient, in the envelope's order, that missed some of the
 * earlier alerts as the audit log shows it (not acknowledged, and overdue,
 * declined or unopenable), so that audit verify derives the same events
 * from the leaves (audit_leaves.c). *linked tells
 * whether it has any (its deliveries then differ per recipient). A failure
 * fails the batch. */
vg_err vgb_links_on_accept(vgb_store *s, vgb_record *rec, uint64_t seq, const vg_envelope *env,
                           const vg_strlist *required, bool *linked) VG_MUST_USE;

/* Before alert env is stored, in the batch's transaction: adds to *out (in
 * required's order) each required agency the alert is a repeat warning
 * for — one that missed, as vgb_links_on_accept counts it, an earlier
 * alert sharing one of env's link tags — so that its deadline can be the
 * document's stricter repeat deadline (vg_netdoc_deadline_repeat_at). */
vg_err vgb_links_repeats(vgb_store *s, const vg_envelope *env, const vg_strlist *required,
                         vg_strlist *out) VG_MUST_USE;

/* The earlier alerts linked to seq, as `asker` may know them. */
typedef struct vgb_linkview {
    Vigil__LinkedAlert **items; /* n of them, owned */
    size_t n;                   /* how many */
} vgb_linkview;

/* doc may be NULL when asker is known not to be oversight (a delivery). */
vg_err vgb_links_view(vgb_linkview *out, vgb_store *s, const vg_netdoc *doc, uint64_t seq,
                      const char *asker, int64_t now_ms) VG_MUST_USE;

/* Frees the items; leaves v empty. NULL-safe. */
void vgb_linkview_fini(vgb_linkview *v);

#endif
