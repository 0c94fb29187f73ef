/*
 * ctl_report_revoked.h — for vigilctl report: was a required agency revoked
 * while it still had to acknowledge an alert?
 *
 * The broker records that with a `reassigned` audit leaf linked to the alert
 * (broker/reload.c): the revoked agency, and the successor that inherited
 * the alert, or none. The report reads it from the store's leaves, so it
 * needs no network document and says the same from either back end.
 */
#ifndef VIGIL_CTL_REPORT_REVOKED_H
#define VIGIL_CTL_REPORT_REVOKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "vigil/audit_leaf.h"

/* True when a reassigned leaf about alert seq names agency; successor
 * (VG_AUDIT_NAME_MAX bytes) gets the agency that inherited it, or "".
 * False also when the store cannot be read (the row is reported as it is). */
bool vgt_report_revoked(vgb_store *store, uint64_t seq, const char *agency,
                        char successor[VG_AUDIT_NAME_MAX]);

#endif
