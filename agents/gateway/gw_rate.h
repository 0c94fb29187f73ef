/*
 * gw_rate.h — requests per second per token: a token bucket per token name
 * (rate tokens a second, up to burst). A token over its rate gets 429 with
 * Retry-After; the others are not affected. Requests without a valid token
 * are refused before they reach the bucket (and cost only a hash).
 * Any thread; it locks itself. Memory: one bucket per token name seen.
 */
#ifndef VIGIL_GATEWAY_GW_RATE_H
#define VIGIL_GATEWAY_GW_RATE_H

#include <stdbool.h>
#include <stdint.h>

#include "vigil/err.h"

typedef struct gw_rate gw_rate;

vg_err gw_rate_new(gw_rate **out, int64_t rate_per_s, int64_t burst) VG_MUST_USE;
void gw_rate_destroy(gw_rate **rate_p);

/* Takes one request from name's bucket at mono time now_ms: true when
 * allowed; else *retry_after_s says when the next one will be. */
bool gw_rate_take(gw_rate *r, const char *name, int64_t now_ms, int64_t *retry_after_s);

#endif
