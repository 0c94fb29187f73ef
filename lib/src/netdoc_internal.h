/*
 * netdoc_internal.h — what netdoc.c and netdoc_json.c share inside libvigil.
 * Not installed; not part of any contract outside lib/src.
 */
#ifndef VIGIL_LIB_SRC_NETDOC_INTERNAL_H
#define VIGIL_LIB_SRC_NETDOC_INTERNAL_H

#include "vigil.pb-c.h"
#include "vigil/netdoc.h"

/* The cards of a parsed document sorted by id, so that finding one is
 * O(log n): a network has up to VG_AGENCIES_MAX of them and every frame,
 * recipient and rule looks one up. Borrows d. */
typedef struct vg_netdoc_idref {
    const char *id; /* the card's id (borrowed) */
    uint32_t card;  /* its index in d->agencies */
} vg_netdoc_idref;

typedef struct vg_netdoc_ids {
    const Vigil__NetworkDocument *d; /* the document (borrowed) */
    vg_netdoc_idref *by_id;          /* every card, sorted by id; malloc'ed */
    size_t n;                        /* = d->n_agencies */
} vg_netdoc_ids;

/* Builds the index. VG_ERR_NOMEM. Release with vg_netdoc_ids_fini. */
vg_err vg_netdoc_ids_build(vg_netdoc_ids *out, const Vigil__NetworkDocument *d) VG_MUST_USE;
/* The card with this id, or NULL (id may be NULL). */
const Vigil__AgencyCard *vg_netdoc_ids_card(const vg_netdoc_ids *ix, const char *id);
/* Its index in d->agencies, or -1. */
int vg_netdoc_ids_index(const vg_netdoc_ids *ix, const char *id);
/* NULL-safe; leaves ix zeroed. */
void vg_netdoc_ids_fini(vg_netdoc_ids *ix);

/* Checks a parsed document for internal consistency (docs/network.md's
 * rules). VG_ERR_POLICY with a reason naming the first problem. */
vg_err vg_netdoc_validate_pb(const Vigil__NetworkDocument *d, vg_reason *why) VG_MUST_USE;

/* The parsed document inside a verified vg_netdoc (borrowed). */
const Vigil__NetworkDocument *vg_netdoc_pb(const vg_netdoc *doc);

/* True when s is 1..63 of [A-Za-z0-9._-] (network names). */
bool vg_netdoc_name_is_valid(const char *s);

/* ---- netdoc_calendar.c ---------------------------------------------------- */

/* Calendars, and each card's calendar, hours and out-of-hours cover. */
vg_err vg_netdoc_validate_calendars_pb(const Vigil__NetworkDocument *d, const vg_netdoc_ids *ix,
                                       vg_reason *why) VG_MUST_USE;

/* Deadline rules: a network-wide rule per severity, exactly one unit each,
 * known categories and agencies, none set twice. */
vg_err vg_netdoc_validate_deadlines_pb(const Vigil__NetworkDocument *d, const vg_netdoc_ids *ix,
                                       vg_reason *why) VG_MUST_USE;

/* The unit of a rule; false when it has not exactly one valid unit. */
bool vg_netdoc_rule_of(const Vigil__DeadlineRule *r, vg_deadline_rule *out);

/* Calendars and hours compiled for the deadline function, built once from a
 * validated document; immutable afterwards. */
typedef struct vg_netdoc_cal vg_netdoc_cal;
vg_err vg_netdoc_cal_compile(vg_netdoc_cal **out, const Vigil__NetworkDocument *d) VG_MUST_USE;
void vg_netdoc_cal_destroy(vg_netdoc_cal **p);

/* The compiled calendars of a verified document (borrowed). */
const vg_netdoc_cal *vg_netdoc_cal_of(const vg_netdoc *doc);

/* ---- linktag.c ------------------------------------------------------------ */

/* Reference schemes (valid, unique names) and link keys (unique ids, sealed
 * to known agencies only, the right length). */
vg_err vg_netdoc_validate_links_pb(const Vigil__NetworkDocument *d, vg_reason *why) VG_MUST_USE;

#endif
