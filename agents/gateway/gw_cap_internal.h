/*
 * gw_cap_internal.h — what gw_cap_rules.c (the locked-down parse and vigil's
 * CAP 1.2 rules), gw_cap_import.c (CAP -> vigil) and gw_cap_export.c
 * (vigil -> CAP) share. Internal to the gateway.
 *
 * The reserved "cap." schemes: subject references and area geocodes whose
 * scheme starts "cap." carry what a CAP alert holds that vigil has no field
 * for, so that export gives it back unchanged:
 *   subjects  cap.identifier cap.sender cap.sent cap.source cap.scope
 *             cap.restriction cap.addresses cap.code cap.note cap.references
 *             cap.category cap.responseType cap.audience cap.effective
 *             cap.onset cap.eventCode:<valueName> cap.parameter:<valueName>
 *             cap.resource (a JSON object of the resource's elements)
 *   geocodes  cap.polygon:<points> cap.circle:<circle> cap.altitude:<n>
 *             cap.ceiling:<n>; any other geocode is <valueName>:<value>.
 */
#ifndef VIGIL_GATEWAY_GW_CAP_INTERNAL_H
#define VIGIL_GATEWAY_GW_CAP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "gw_cap.h"

#define GW_CAP_PREFIX "cap."
#define GW_CAP_DSIG_NS "http://www.w3.org/2000/09/xmldsig#"

/* Parses xml with the parser locked down (see gw_cap.h) into *out. VG_ERR_MALFORMED
 * (not well-formed, a DOCTYPE, too deep) or VG_ERR_TOO_LARGE, with why and problem. */
vg_err gw_cap_parse(xmlDoc **out, const char *xml, size_t len, gw_cap_problem *problem,
                    vg_reason *why) VG_MUST_USE;

/* Checks a parsed document against vigil's CAP 1.2 rules (gw_cap_validate). */
vg_err gw_cap_check(xmlDoc *doc, gw_cap_problem *problem, vg_reason *why) VG_MUST_USE;

/* True for an element in the CAP 1.2 namespace (with that local name, unless NULL). */
bool gw_cap_is(const xmlNode *n, const char *name);

/* The first element child of n (any namespace) and the next element after n. */
xmlNode *gw_cap_first(const xmlNode *n);
xmlNode *gw_cap_next(const xmlNode *n);

/* The text of n (malloc'ed; free()); NULL on no memory. */
char *gw_cap_text(const xmlNode *n);

/* xs:language as CAP uses it: letters (1-8), then -alphanumerics (1-8) ... */
bool gw_cap_is_language(const char *text);

/* An absolute URI as <web> and <uri> need: scheme ":" rest, no whitespace. */
bool gw_cap_is_uri(const char *text);

/* CAP's dateTime pattern (after trimming XML whitespace), and its instant
 * in UTC milliseconds. */
bool gw_cap_time_parse(const char *text, int64_t *ms_out);

/* Writes ms as CAP dateTime in UTC: "2026-11-29T10:00:00-00:00" (the
 * specification's form for UTC; seconds, no fraction). */
void gw_cap_time_format(char *out, size_t out_len, int64_t ms);

/* Sets *dst to a copy of the problem's place and returns err with why. */
vg_err gw_cap_fail(gw_cap_problem *pb, vg_reason *why, vg_err err, const char *field,
                   const char *accepted, const char *fmt, ...) VG_PRINTF(6, 7);

#endif
