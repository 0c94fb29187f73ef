/*
 * vigil/agent_relay.h — what a program that relays for an agency (the HTTP
 * gateway) needs beyond vigil/agent.h: sealing an alert without sending it,
 * so the caller can record the exact envelope before it goes out (an
 * idempotency key then maps to one alert for good), and reading the durable
 * inbox by row with a cursor the caller keeps (so every stored alert is
 * handed on, whichever process of the agency received it and whether or not
 * it was already returned by vga_receive).
 *
 * Same thread rules as vigil/agent.h: one vga_agent per thread at a time.
 * Nothing here logs content.
 */
#ifndef VIGIL_AGENTS_AGENT_RELAY_H
#define VIGIL_AGENTS_AGENT_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/agent.h"

/*
 * Seals alert as vga_publish would (the policy's mandatory agencies added,
 * the next sequence number taken from the store, sender and created time
 * set) but sends nothing and queues nothing: publish the result with
 * vga_publish_sealed. The sequence number is used up even if the envelope
 * is never sent. *env_out is malloc'ed (free it); id_out gets the alert id.
 * Errors as the local errors of vga_publish (VG_ERR_INVALID for no
 * recipients, an unknown category or recipient, ...), with why.
 */
vg_err vga_seal(vga_agent *a, const vg_alert *alert, uint8_t **env_out, size_t *len_out,
                uint8_t id_out[VG_ALERT_ID_LEN], vg_reason *why) VG_MUST_USE;

/* One alert of the local inbox. */
typedef struct vga_inbox_item {
    int64_t row;                       /* its inbox row: rows only grow */
    uint8_t alert_id[VG_ALERT_ID_LEN]; /* the alert */
    vg_err open_rc;                    /* VG_OK: alert is filled; else why it no longer opens */
    vg_reason open_why;                /* when open_rc != VG_OK */
    vg_alert alert;                    /* the opened alert (owned; vga_inbox_item_fini) */
} vga_inbox_item;

/* Frees the alert; NULL-safe. */
void vga_inbox_item_fini(vga_inbox_item *it);

/*
 * The inbox alert with the smallest row above after_row, opened. *found is
 * false when there is none (out untouched). An entry that no longer opens
 * (its sender revoked since, say) is returned with open_rc set, so the
 * caller can record it and move on. VG_ERR_IO or VG_ERR_NOMEM when the
 * store cannot be read.
 */
vg_err vga_inbox_next(vga_agent *a, int64_t after_row, vga_inbox_item *out,
                      bool *found) VG_MUST_USE;

/* The inbox alert with this id, opened; *found false when it is not in the
 * inbox. Errors as vga_inbox_next. */
vg_err vga_inbox_read(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], vga_inbox_item *out,
                      bool *found) VG_MUST_USE;

#endif
