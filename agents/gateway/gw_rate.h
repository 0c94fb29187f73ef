/*
 * gw_rate.h — requests per second per name: a token bucket per name (rate
 * tokens a second, up to burst). The gateway keeps two: one for requests,
 * named by their API token or "~" and the officer of their session, and one
 * for logins, named by the client's address. A name over its rate gets 429
 * with Retry-After; the others are not affected. Requests without a valid
 * token or session are refused before they reach the bucket (and cost only
 * a hash).
 * Any thread; it locks itself. Memory: one bucket per name seen, at most
 * GW_RATE_BUCKETS_MAX: a new name then takes the bucket of a name that has
 * been quiet long enough to be full again (which is the same as a new
 * one), and is refused while there is none — so names nobody controls
 * (client addresses, for logins) cannot grow it without bound.
 */
#ifndef VIGIL_GATEWAY_GW_RATE_H
#define VIGIL_GATEWAY_GW_RATE_H

#include <stdbool.h>
#include <stdint.h>

#include "vigil/err.h"

#define GW_RATE_BUCKETS_MAX 4096 /* names tracked at once */

typedef struct gw_rate gw_rate;

vg_err gw_rate_new(gw_rate **out, int64_t rate_per_s, int64_t burst) VG_MUST_USE;
void gw_rate_destroy(gw_rate **rate_p);

/* Takes one request from name's bucket at mono time now_ms: true when
 * allowed; else *retry_after_s says when the next one will be. */
bool gw_rate_take(gw_rate *r, const char *name, int64_t now_ms, int64_t *retry_after_s);

#endif
