/*
 * ctl_report_why.h — why a deadline fell where it did, for vigilctl report:
 * the rule, calendar version and result the broker wrote into the audit
 * leaves of an alert when it set the deadline (at acceptance, a share, an
 * IN_PROGRESS receipt or a reassignment), read back from the store.
 *
 * Internal to vigilctl. Thread rules: the caller's thread.
 */
#ifndef VIGIL_AGENTS_CTL_REPORT_WHY_H
#define VIGIL_AGENTS_CTL_REPORT_WHY_H

#include <stdint.h>

#include "store.h"

/* The last deadline the leaves of alert id record for agency, in words:
 * "1wd from 2027-08-27T15:55:00Z (network 2, deadline rule 3), calendar
 * england-and-wales@3f2a5b6c7d8e9f01" with " WARNING=past_valid_until" and
 * " out-of-hours cover for licensing" when they apply; "" when the leaves
 * record none (an alert accepted before deadlines were recorded).
 * malloc'ed (free() it); exits on out of memory. Inside the caller's read
 * transaction. */
char *ctl_deadline_why(vgb_store *store, const uint8_t id[VG_ALERT_ID_LEN], const char *agency);

#endif
