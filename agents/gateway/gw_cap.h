/*
 * gw_cap.h — CAP 1.2 in and out: vigil's own rules for CAP documents
 * (written from the OASIS CAP 1.2 specification, not from its XSD), the
 * mapping of a CAP alert onto a vigil alert and back, and vigil receipts as
 * CAP Ack messages. docs/gateway.md has the mapping table.
 *
 * Parsing is locked down: libxml2 with no network, no DTD loading, no
 * entity substitution, no XInclude, a size limit (GW_CAP_MAX_BYTES) and a
 * depth limit (GW_CAP_DEPTH_MAX); a document that has a DOCTYPE at all is
 * refused as soon as the parser meets it, before any declaration in it is
 * read, and the external entity loader refuses everything, so nothing is
 * ever fetched. Call gw_cap_init() once before threads start.
 *
 * What vigil cannot carry is refused with a reason, never dropped: see
 * gw_cap_import. Everything a valid CAP alert holds that has no vigil field
 * of its own travels in the alert's subject references and area geocodes
 * under the reserved "cap." schemes, so export gives it back.
 *
 * No state; any thread (after gw_cap_init). Nothing here logs.
 */
#ifndef VIGIL_GATEWAY_GW_CAP_H
#define VIGIL_GATEWAY_GW_CAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/agent.h"
#include "vigil/envelope.h"
#include "vigil/err.h"
#include "vigil/netdoc.h"

#define GW_CAP_NS "urn:oasis:names:tc:emergency:cap:1.2"
#define GW_CAP_MAX_BYTES (256 * 1024) /* largest CAP document accepted */
#define GW_CAP_DEPTH_MAX 8            /* alert/info/area/geocode/value is 5 */
#define GW_CAP_TRIPLE_MAX 1200        /* "sender,identifier,sent" */
#define GW_CAP_FIELD_MAX 96           /* where a problem is: "alert/info[2]/severity" */

/* The eventCode valueName that carries vigil categories. */
#define GW_CAP_VIGIL_CATEGORY "urn:vigil:category"

/* Where a document broke a rule, and what is accepted there. */
typedef struct gw_cap_problem {
    char field[GW_CAP_FIELD_MAX]; /* path of the element, "" when the whole document */
    char accepted[256];           /* what is accepted there, "" when nothing to say */
} gw_cap_problem;

/* Sets up libxml2 for the process: parser initialised, external entity
 * loader that refuses every entity. Idempotent; call before threads start. */
void gw_cap_init(void);

/*
 * Checks xml against vigil's CAP 1.2 rules only (no mapping): well-formed,
 * no DOCTYPE, within the limits, the CAP 1.2 namespace, the elements in the
 * schema's order and numbers, enumerations, the dateTime pattern, and the
 * rules the XSD does not enforce (identifier and sender without spaces,
 * commas, '<' or '&'; a non-empty <references> of sender,identifier,sent
 * triples; a non-empty <incidents>; <restriction> for Restricted and
 * <addresses> for Private; polygons closed with at least four points;
 * circles "lat,lon radius"; <ceiling> only with <altitude>).
 * VG_ERR_MALFORMED with why and problem; VG_ERR_TOO_LARGE.
 */
vg_err gw_cap_validate(const char *xml, size_t len, gw_cap_problem *problem,
                       vg_reason *why) VG_MUST_USE;

/* Resolves a CAP reference "sender,identifier,sent" to a vigil alert id. */
typedef bool (*gw_cap_resolve_ref)(void *ctx, const char *triple, uint8_t id[VG_ALERT_ID_LEN]);

typedef struct gw_cap_import_opts {
    const vg_netdoc *doc;          /* the network: categories and agency ids */
    const char *const *categories; /* vigil categories to add (e.g. ?category=), may be NULL */
    size_t n_categories;
    const char *default_category; /* when the document names none; NULL/"" = none */
    gw_cap_resolve_ref resolve;   /* references to vigil alerts; may be NULL */
    void *resolve_ctx;
} gw_cap_import_opts;

/*
 * Validates xml (gw_cap_validate) and maps it onto *out, an alert ready for
 * vga_publish. VG_ERR_MALFORMED: not valid CAP 1.2 (HTTP 400); VG_ERR_INVALID:
 * valid CAP that vigil cannot carry (HTTP 422) — no <info>; severity
 * Unknown; no <headline>; several <info> blocks that differ in more than
 * their <area>s (translations: send one alert per language); an XML
 * signature; a geocode value with ':' or a valueName starting "cap."; an
 * <addresses> of a Private alert naming something that is not an agency of
 * the network; no vigil category (see docs/gateway.md) or one the network
 * does not have. On success *out owns everything (vg_alert_fini).
 */
vg_err gw_cap_import(vg_alert *out, const char *xml, size_t len, const gw_cap_import_opts *opts,
                     gw_cap_problem *problem, vg_reason *why) VG_MUST_USE;

/* Finds the CAP reference of a vigil alert: its sender,identifier,sent. */
typedef bool (*gw_cap_resolve_id)(void *ctx, const uint8_t id[VG_ALERT_ID_LEN], char *triple,
                                  size_t triple_len);

/* The CAP reference an export of alert a carries: "sender,identifier,sent". */
void gw_cap_triple(char *out, size_t out_len, const vg_alert *a);

/*
 * Writes opened alert a (id, sender, created time set) as a CAP 1.2
 * document that validates against cap12.xsd. References to other vigil
 * alerts become CAP references through resolve (may be NULL) and
 * urn:vigil:reference parameters. Text that XML 1.0 cannot hold (control
 * characters, bad UTF-8) is written as U+FFFD. *out is malloc'ed,
 * NUL-terminated; free() it. VG_ERR_NOMEM.
 */
vg_err gw_cap_export(char **out, size_t *len_out, const vg_alert *a, gw_cap_resolve_id resolve,
                     void *ctx) VG_MUST_USE;

/*
 * A recipient's receipt of an alert as a CAP Ack message: sender the
 * recipient agency, references the alert (alert_triple), a note saying what
 * the receipt is (delivered, acknowledged by whom with the note, in progress
 * or declined with the reason). status is the alert's. VG_ERR_NOT_FOUND
 * when the recipient has no receipt yet (pending).
 */
vg_err gw_cap_export_ack(char **out, size_t *len_out, const char *alert_triple,
                         const uint8_t alert_id[VG_ALERT_ID_LEN], vg_status status,
                         const char *alert_sender, const vga_recipient_status *r) VG_MUST_USE;

#endif
