/*
 * gw_hub.h — the agency's event stream inside the gateway: the link thread
 * (gw_link) puts each event in, in sequence order with no gap, and every
 * GET /v1/events stream reads from it. The hub keeps the latest events in a
 * ring; a reader that asks for events older than the ring is told so and
 * fetches them from the broker's store (vga_events_since), so a stream
 * resumed with Last-Event-ID has no gap and no repeat.
 *
 * Notices are the gateway's own messages for live streams (a webhook alarm
 * raised or cleared): they carry no sequence number, so they never change
 * where a stream resumes.
 *
 * One writer (the link thread), any number of readers; it locks itself.
 */
#ifndef VIGIL_GATEWAY_GW_HUB_H
#define VIGIL_GATEWAY_GW_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/agent.h"

#define GW_HUB_RING 4096  /* events kept */
#define GW_HUB_NOTICES 16 /* notices kept */
#define GW_NOTICE_MAX 512 /* one notice's JSON */

typedef struct gw_hub gw_hub;

vg_err gw_hub_new(gw_hub **out) VG_MUST_USE;
void gw_hub_destroy(gw_hub **hub_p);

/* Writer: the stream is known up to head (inclusive); the ring starts
 * after it. Called once the head is known, and again only to restart. */
void gw_hub_start(gw_hub *h, uint64_t head);

/* Writer: appends e, which must be head + 1 (else ignored: false). */
bool gw_hub_push(gw_hub *h, const vga_event *e);

/* Writer: a notice (JSON object text) for the live streams. */
void gw_hub_notice(gw_hub *h, const char *json);

/* How many notices were ever made: a new reader starts there. */
uint64_t gw_hub_notices(gw_hub *h);

/* Ends every wait; readers get GW_HUB_CLOSED from then on. */
void gw_hub_close(gw_hub *h);

/* The head, and whether it is known yet. */
uint64_t gw_hub_head(gw_hub *h, bool *known);

typedef enum gw_hub_result {
    GW_HUB_EVENTS = 1,  /* *n events after `after` (and perhaps notices) */
    GW_HUB_OLDER = 2,   /* events after `after` are older than the ring: fetch them */
    GW_HUB_TIMEOUT = 3, /* nothing new within the wait */
    GW_HUB_CLOSED = 4,  /* the gateway is stopping */
} gw_hub_result;

typedef struct gw_hub_read {
    vga_event *events;              /* caller's array */
    size_t max;                     /* its size */
    size_t n;                       /* events returned, seq after+1, after+2, ... */
    uint64_t notice_gen;            /* in: notices seen; out: updated */
    char notices[4][GW_NOTICE_MAX]; /* new notices */
    size_t n_notices;               /* how many */
} gw_hub_read;

/* Waits up to timeout_ms for events after `after` or new notices. */
gw_hub_result gw_hub_wait(gw_hub *h, uint64_t after, gw_hub_read *rd, int64_t timeout_ms);

#endif
