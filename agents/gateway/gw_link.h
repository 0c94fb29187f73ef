/*
 * gw_link.h — the gateway's own connection to the broker as the agency's
 * receiver: one thread that owns a vga_agent opened with receive and
 * events. It
 *   - takes the agency's deliveries into the durable inbox (verified,
 *     opened, stored, receipted by the library, as vigil-agent listen does);
 *   - walks the inbox with a durable cursor (gateway.db) and queues each new
 *     alert for every webhook — whichever process of the agency received it;
 *   - puts the agency's event stream into the hub in order with no gap
 *     (filling gaps from the broker's store) and queues each event for the
 *     webhooks that take events;
 *   - sends the outbox again (the library does, every 10 s) and pings the
 *     broker every 2 s for /v1/health and /metrics;
 *   - walks the inbox a second time, with its own cursor ("link_row"), to
 *     keep the link index of gateway.db: the incidents, subject references
 *     and references each alert names (gw_link_keys), which the console's
 *     detail view asks for earlier alerts about the same thing.
 * While the gateway runs it is the agency's delivery target: the broker
 * delivers to the newest connection that said Hello with receive, and this
 * one says Hello again every 5 s (docs/gateway.md: running beside
 * vigil-agent listen).
 */
#ifndef VIGIL_GATEWAY_GW_LINK_H
#define VIGIL_GATEWAY_GW_LINK_H

#include <stdbool.h>

#include "gw_db.h"
#include "gw_hub.h"
#include "gw_metrics.h"
#include "vigil/envelope.h"

#define GW_LINK_KEYS_MAX 64 /* keys of one alert that are indexed */

typedef struct gw_link gw_link;

/* Called after something was queued for the webhooks. */
typedef void (*gw_link_wake_fn)(void *ctx);

/* Opens the receiving agent (errors as vga_agent_open) and starts the
 * thread. Takes ownership of *db_p (a connection of its own). */
vg_err gw_link_start(gw_link **out, const char *config_path, gw_db **db_p, gw_hub *hub,
                     gw_metrics *m, gw_link_wake_fn wake, void *wake_ctx,
                     vg_reason *why) VG_MUST_USE;

/* Stops the thread (within about a second), closes the agent. NULL-safe. */
void gw_link_stop(gw_link **link_p);

/*
 * The link keys of an opened alert: "incident:<name>" per incident,
 * "subject:<scheme><US><value>" per subject reference (US: the unit
 * separator, 0x1f; incident names and subject values lowercased: the same
 * thing written in another case is the same thing),
 * and, with refs, "ref:<hex id>" per alert it references. When labels is
 * not NULL, labels[i] gets the key's words for people, as the alert writes
 * them ("incident rotherham-taxi-cse", "subject taxi-licence TL-0417").
 * Returns how many (at most max).
 */
size_t gw_link_keys(const vg_alert *a, bool refs, char (*keys)[GW_LINK_KEY_MAX],
                    char (*labels)[GW_LINK_KEY_MAX], size_t max);

#endif
