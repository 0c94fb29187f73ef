/*
 * gw_webhook.h — webhooks: one thread POSTs what gw_link queued in
 * gateway.db (each alert delivered to the agency, as vigil JSON or CAP 1.2,
 * and each event of its stream as JSON) to the agency's webhook URLs,
 * through libcurl, and records every attempt.
 *
 * Each POST carries
 *   Vigil-Webhook: NAME            Vigil-Delivery: ID (the same on a retry)
 *   Vigil-Kind: alert | EVENT_KIND Vigil-Alert-Id: HEX (when about an alert)
 *   Vigil-Timestamp: UNIX_SECONDS
 *   Vigil-Signature: v1=HEX(HMAC-SHA256(secret, TIMESTAMP "." BODY))
 * At least once, in order per webhook: a delivery that fails (no 2xx) is
 * retried with exponential backoff (1 s doubling up to webhook_backoff_max)
 * and blocks the ones behind it; when its first failure is older than
 * webhook_alarm, the webhook is in alarm: an ERROR log line
 * (gateway webhook.alarm), a notice on every live /v1/events stream, and
 * /v1/health and /metrics say so until a delivery succeeds again.
 * Alert bodies are made from the inbox when sent: no alert text is stored.
 */
#ifndef VIGIL_GATEWAY_GW_WEBHOOK_H
#define VIGIL_GATEWAY_GW_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "gw_db.h"
#include "gw_hub.h"
#include "gw_metrics.h"
#include "vigil/agent_config.h"

typedef struct gw_webhooks gw_webhooks;

/* Opens an agent for reading the inbox and starts the thread. Takes
 * ownership of *db_p. cfg is borrowed for the thread's life. */
vg_err gw_webhooks_start(gw_webhooks **out, const char *config_path, gw_db **db_p,
                         const vga_gateway_config *cfg, gw_hub *hub, vg_reason *why) VG_MUST_USE;

/* Something was queued: look now. Any thread. */
void gw_webhooks_wake(void *webhooks);

/* Stops the thread (an attempt under way finishes or times out). NULL-safe. */
void gw_webhooks_stop(gw_webhooks **w_p);

#endif
