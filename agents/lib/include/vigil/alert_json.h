/*
 * vigil/alert_json.h — an opened alert as one line of JSON, and an alert to
 * publish read from JSON: how agency systems talk to vigil-agent (listen
 * --json, listen --exec, publish --json). docs/agent.md gives the format.
 *
 * Output (vga_alert_to_json) is one compact JSON object, keys in this order:
 *   id (32 lowercase hex), sender, sequence, sent (RFC 3339 UTC of the
 *   created time), status, msg_type, severity, urgency, certainty,
 *   categories[], recipients[], event, headline, description, instruction,
 *   areas[{desc, geocodes[]}], expires (RFC 3339; absent when none),
 *   incidents[], subjects[{scheme, value}], references[] (hex ids),
 *   sender_name, contact, web, language ("en-GB" when the alert has none).
 * Text fields the alert does not have (absent or empty) are left out; lists
 * are always there (perhaps empty); an unspecified status, msg_type, urgency
 * or certainty is written as its default (actual, alert, unknown, unknown),
 * so what is written is always input vga_alert_from_json takes. Text that is not valid UTF-8 is
 * written with U+FFFD in place of each bad byte, so the line is always valid JSON.
 *
 * Input (vga_alert_from_json) is one JSON object with the content keys
 * (event, headline, description, instruction, areas, expires, incidents,
 * subjects, sender_name, contact, web, language) and the routing keys
 * severity, status, msg_type, urgency, certainty (names as in vigil/wire.h),
 * categories, recipients (or "to"; both are merged) and references. A null
 * value means "absent". severity, headline and a non-empty categories are
 * required. An unknown key is refused naming the key; id, sender, sequence
 * and sent are refused too: the library sets them when it publishes.
 *
 * Owns nothing between calls; no shared state, any thread. Nothing here logs.
 * Trade-off: jansson's own copies of the text are freed without wiping (the
 * output buffer is the caller's to wipe); the CLI is short-lived and the
 * text is what it was asked to print.
 */
#ifndef VIGIL_AGENTS_ALERT_JSON_H
#define VIGIL_AGENTS_ALERT_JSON_H

#include "vigil/envelope.h"
#include "vigil/err.h"

/* Largest JSON text vga_alert_from_json accepts (an envelope's worth). */
#define VGA_ALERT_JSON_MAX_BYTES VG_ENVELOPE_MAX_BYTES

/* Writes a as one line of JSON, without a trailing newline. *out is
 * malloc'ed and NUL-terminated; free() it. VG_ERR_NOMEM, or VG_ERR_INVALID
 * for a NULL argument. *out is written only on success. */
vg_err vga_alert_to_json(char **out, const vg_alert *a) VG_MUST_USE;

/* Parses an alert to publish (see above) from NUL-terminated json.
 * VG_ERR_MALFORMED with why naming the key and what is accepted (bad JSON
 * gives its line and column), VG_ERR_TOO_LARGE over
 * VGA_ALERT_JSON_MAX_BYTES, VG_ERR_NOMEM. On success *out owns everything:
 * release it with vg_alert_fini(). *out is written only on success. */
vg_err vga_alert_from_json(vg_alert *out, const char *json, vg_reason *why) VG_MUST_USE;

#endif
