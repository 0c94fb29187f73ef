/*
 * gw_metrics.h — the gateway's counters and gauges, shared by its threads
 * (C11 atomics: any thread writes, /metrics and /v1/health read). Webhook
 * figures are read from gateway.db when asked, so they survive restarts.
 */
#ifndef VIGIL_GATEWAY_GW_METRICS_H
#define VIGIL_GATEWAY_GW_METRICS_H

#include <stdatomic.h>

/* HTTP statuses counted one by one; anything else is counted as "other". */
#define GW_HTTP_CODES                                                                              \
    {                                                                                              \
        200, 201, 202, 400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 429, 500, 503, 504        \
    }
#define GW_N_HTTP_CODES 17

typedef struct gw_metrics {
    atomic_llong published_confirmed;    /* POST /v1/alerts answered 201 */
    atomic_llong published_queued;       /* answered 202: in the outbox */
    atomic_llong published_rejected;     /* refused by the gateway or the broker */
    atomic_llong receipts[5];            /* by vga receipt: 0 ack, 1 progress, 2 decline, 3 share */
    atomic_llong alerts_received;        /* alerts handed on from the inbox */
    atomic_llong events_received;        /* events put into the stream */
    atomic_llong last_broker_contact_ms; /* wall ms of the last answer from the broker, 0 none */
    atomic_int broker_up;                /* the last ping was answered */
    atomic_llong outbox_depth;           /* alerts waiting in the outbox */
    atomic_llong inbox_row;              /* inbox handed on up to this row */
    atomic_llong http[GW_N_HTTP_CODES + 1]; /* responses by status, then other */
} gw_metrics;

#endif
