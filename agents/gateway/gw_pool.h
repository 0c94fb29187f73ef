/*
 * gw_pool.h — the broker connections that serve HTTP requests: a fixed set
 * of vga_agents (no delivery, no event stream: the link thread has those),
 * each used by one request at a time. A request takes one, with a bounded
 * wait, and gives it back; ZeroMQ sockets may change threads between uses
 * because the pool's mutex orders the hand-over.
 */
#ifndef VIGIL_GATEWAY_GW_POOL_H
#define VIGIL_GATEWAY_GW_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/agent.h"

typedef struct gw_pool gw_pool;

/* Opens n agents from config_path. Errors as vga_agent_open. */
vg_err gw_pool_new(gw_pool **out, const char *config_path, size_t n, vg_reason *why) VG_MUST_USE;
void gw_pool_destroy(gw_pool **pool_p);

/* An agent, waiting up to timeout_ms for one to be free; NULL if none was. */
vga_agent *gw_pool_take(gw_pool *p, int64_t timeout_ms);
void gw_pool_give(gw_pool *p, vga_agent *a);

#endif
