/*
 * ctl_report_linked.h — vigilctl report --linked (ctl_report_linked.c):
 * chains of linked alerts, each required agency's outcome on each, and the
 * agencies that failed more than one warning of a chain.
 */
#ifndef VIGIL_CTL_REPORT_LINKED_H
#define VIGIL_CTL_REPORT_LINKED_H

#include <stdbool.h>

#include "store.h"

/* Prints the report (text, or JSON {"verified": bool, "chains": [...]})
 * from store, which is inside a read transaction; verified: the store was
 * first checked against its audit log (else the report says NOT
 * VERIFIED). Returns a VGT_EXIT_* code. */
int ctl_report_linked(vgb_store *store, bool json, bool verified);

#endif
