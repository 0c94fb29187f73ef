/*
 * netdoc_internal.h — what netdoc.c and netdoc_json.c share inside libvigil.
 * Not installed; not part of any contract outside lib/src.
 */
#ifndef VIGIL_LIB_SRC_NETDOC_INTERNAL_H
#define VIGIL_LIB_SRC_NETDOC_INTERNAL_H

#include "vigil.pb-c.h"
#include "vigil/netdoc.h"

/* Checks a parsed document for internal consistency (docs/network.md's
 * rules). VG_ERR_POLICY with a reason naming the first problem. */
vg_err vg_netdoc_validate_pb(const Vigil__NetworkDocument *d, vg_reason *why) VG_MUST_USE;

/* The parsed document inside a verified vg_netdoc (borrowed). */
const Vigil__NetworkDocument *vg_netdoc_pb(const vg_netdoc *doc);

/* True when s is 1..63 of [A-Za-z0-9._-] (network names). */
bool vg_netdoc_name_is_valid(const char *s);

#endif
