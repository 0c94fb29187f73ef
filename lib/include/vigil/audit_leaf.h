/*
 * vigil/audit_leaf.h — the bytes of one audit-log leaf: a canonical text
 * encoding of one audit event, and its strict parser.
 *
 * A leaf is UTF-8 (in fact printable ASCII) lines "key=value\n" in a fixed
 * order per kind; docs/audit.md is the normative table. Example:
 *
 *     vigil-audit/1
 *     index=41
 *     kind=accepted
 *     time_ms=1796000001000
 *     alert=00112233445566778899aabbccddeeff
 *     sender=police
 *     envelope_hash=<64 lowercase hex>
 *     recipients=childrens-services,licensing
 *     network_version=3
 *
 * Every leaf carries its own log index, so a reordered or renumbered log is
 * caught leaf by leaf. Leaves hold metadata and hashes, never alert content,
 * officer names, notes or reasons. One event has exactly one encoding:
 * decimal without leading zeroes, lowercase hex, lists sorted (byte order)
 * without duplicates; the parser accepts exactly what the encoder writes.
 *
 * Owns: a parsed vg_audit_event owns its lists (vg_audit_event_fini).
 * Never does: it does not hash, store or sign (see merkle.h, checkpoint.h).
 * Thread rules: none (no shared state).
 */
#ifndef VIGIL_LIB_AUDIT_LEAF_H
#define VIGIL_LIB_AUDIT_LEAF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"
#include "vigil/util.h"
#include "vigil/wire.h"

#define VG_AUDIT_LEAF_MAGIC "vigil-audit/1"
#define VG_AUDIT_NAME_MAX 64                     /* agency ids, codes, identities (with NUL) */
#define VG_AUDIT_LIST_MAX VG_RECIPIENTS_MAX      /* items in recipients= / to= */
#define VG_AUDIT_ALERTS_MAX VG_RECEIPT_ITEMS_MAX /* items in alerts= */
/* largest leaf encoded or parsed: an accepted leaf lists every recipient
 * with its deadlines (131072 held 256 of them) */
#define VG_AUDIT_LEAF_MAX_BYTES (VG_AUDIT_LIST_MAX * 512)

/* Event kinds; values follow the wire's EventKind (12, COMPLETE, is derived
 * state and not logged). Stable: stored in leaves by name, never renumbered. */
typedef enum vg_audit_kind {
    VG_AUDIT_ACCEPTED = 1,
    VG_AUDIT_REJECTED = 2,
    VG_AUDIT_DELIVERED = 3,
    VG_AUDIT_ACKNOWLEDGED = 4,
    VG_AUDIT_IN_PROGRESS = 5,
    VG_AUDIT_DECLINED = 6,
    VG_AUDIT_SHARED = 7,
    VG_AUDIT_OVERDUE = 8,
    VG_AUDIT_ESCALATED = 9,
    VG_AUDIT_AGENCY_OFFLINE = 10,
    VG_AUDIT_AGENCY_ONLINE = 11,
    VG_AUDIT_NETWORK_CHANGED = 13,
    VG_AUDIT_UNOPENABLE = 14,
    VG_AUDIT_REASSIGNED = 15,
    VG_AUDIT_NOTIFIED = 16,
    VG_AUDIT_NETWORK_WARNING = 17,
    VG_AUDIT_LINKED = 18,
    VG_AUDIT_UNWITNESSED = 20,
    VG_AUDIT_PURGED = 21,   /* 19 is the wire's REPEAT_WARNING, an event without a leaf */
    VG_AUDIT_HELD = 22,     /* a legal hold put on */
    VG_AUDIT_RELEASED = 23, /* ... and lifted */
} vg_audit_kind;

#define VG_AUDIT_DEADLINES_MAX VG_RECIPIENTS_MAX /* deadline= lines in one leaf */

/* A deadline a recipient was given, as a leaf records it: the rule applied,
 * the calendar version counted and the result, so that a report can show
 * why it fell where it did (docs/audit.md "Deadlines"). */
typedef struct vg_audit_deadline {
    char agency[VG_AUDIT_NAME_MAX];        /* the recipient */
    uint64_t from_ms;                      /* computed from: acceptance, share or progress */
    uint64_t deadline_ms;                  /* the result, UTC ms */
    char rule[VG_AUDIT_NAME_MAX];          /* the unit applied, canonical: "1wd", "15m" */
    uint64_t network_version;              /* the document the rule is in */
    uint64_t rule_no;                      /* 1 + the rule's index among its deadline rules */
    char calendar[VG_AUDIT_NAME_MAX];      /* the calendar counted, "" when the unit needs none */
    uint8_t calendar_version[VG_HASH_LEN]; /* its version (vg_calendar_hash); zero without */
    unsigned warnings;                     /* VG_DLW_* fallbacks taken (vigil/calendar.h) */
    char cover_for[VG_AUDIT_NAME_MAX];     /* out-of-hours cover: the agency it covers, or "" */
} vg_audit_deadline;

/*
 * One event. Which fields a kind uses (in leaf order after index, kind and
 * time_ms; names are the leaf's keys):
 *
 *   accepted         alert, sender, envelope_hash(hash), recipients(agencies),
 *                    network_version(version)
 *   rejected         code, claimed_sender(sender, may be ""), transport,
 *                    alert (has_alert_id false: "alert=" empty)
 *   delivered        agency, receipt_hash(hash), alerts (the alerts whose
 *                    delivery the agency's DELIVERED receipt recorded;
 *                    has_alert_id is false)
 *   acknowledged,
 *   in_progress,
 *   declined         alert, agency, receipt_hash(hash)
 *   shared           alert, sharer(agency), to(agencies), share_hash(hash)
 *   overdue          alert, agency, deadline_ms
 *   escalated        alert, agency (the overdue one), level, target
 *   agency_offline   agency, pending
 *   agency_online    agency
 *   network_changed  network_version(version), document_hash(hash)
 *   unopenable       alert, agency, receipt_hash(hash), failure(code: the
 *                    vg_open_failure_name, e.g. "bad_key")
 *   reassigned       alert, agency (the revoked required agency),
 *                    successor(target: the agency that inherits the alert, or
 *                    empty when the document names none),
 *                    network_version(version: the document that revoked it)
 *   notified         alert, agency (the late agency), level, target (the
 *                    escalation target: "officer-on-duty", ...), channel
 *                    (may be ""), recipient(hash: BLAKE2b-256 of the address;
 *                    has_hash false: empty), outcome ("sent" or "failed"),
 *                    code (why it failed, "" when sent), rota(sender: the
 *                    agency whose duty rota named the person, "" when none)
 *   network_warning  code (e.g. "past_valid_until"), calendar(target),
 *                    network_version(version)
 *   linked           alert (the new one), alerts (the earlier alerts it shares
 *                    a link tag with; the tags themselves are never logged)
 *   unwitnessed      size (the checkpoint), cosigned (agencies that cosigned
 *                    it or a later one in time), required (the document's
 *                    k), within_ms(deadline_ms: the document's time),
 *                    network_version(version)
 *   purged           alert, envelope_hash(hash: of the envelope that is gone),
 *                    purged(code: what went, "content", "tags" or
 *                    "content+tags"; docs/audit.md "Retention")
 *   held, released   alert, hold_hash(hash: BLAKE2b-256 of the hold record,
 *                    "BY\nREASON": who put it on or lifted it, and why)
 *
 * accepted, shared, in_progress and reassigned leaves end with one
 * "deadline=" line per deadline the fact set (deadlines, sorted by agency;
 * none for a leaf written before deadlines were recorded, or for a fact
 * that set none), each AGENCY,FROM_MS,DEADLINE_MS,RULE,NETWORK_VERSION,
 * RULE_NO,CALENDAR,CALENDAR_VERSION,WARNINGS,COVER_FOR (CALENDAR and its
 * 64-hex VERSION both empty or both set; WARNINGS the fallbacks' names
 * joined by '+' in the order past_valid_until, no_calendar, no_hours, or
 * empty; COVER_FOR a name or empty).
 *
 * Names (sender, agency, code, transport, target, list items) are 1..63
 * printable ASCII characters without spaces or commas.
 */
typedef struct vg_audit_event {
    vg_audit_kind kind;                /* what happened */
    uint64_t index;                    /* log position; set by the log on append */
    uint64_t time_ms;                  /* wall-clock UTC ms when the broker recorded it */
    bool has_alert_id;                 /* false only for a rejected frame without one */
    uint8_t alert_id[VG_ALERT_ID_LEN]; /* the alert concerned */
    char sender[VG_AUDIT_NAME_MAX]; /* accepted: sender; rejected: claimed sender; notified: rota */
    char agency[VG_AUDIT_NAME_MAX]; /* the agency the event is about (sharer for shared) */
    char code[VG_AUDIT_NAME_MAX];   /* rejected: vg_err_code(); unopenable: the failure */
    char transport[VG_AUDIT_NAME_MAX];  /* rejected: authenticated transport identity */
    char target[VG_AUDIT_NAME_MAX];     /* escalated: who it was escalated to */
    uint8_t hash[VG_HASH_LEN];          /* envelope, receipt, share or document hash */
    vg_strlist agencies;                /* accepted: recipients; shared: to */
    uint8_t (*alerts)[VG_ALERT_ID_LEN]; /* delivered: malloc'ed; written sorted */
    size_t n_alerts;                    /* delivered: 1..VG_AUDIT_ALERTS_MAX */
    uint64_t version;                   /* network document (policy) version */
    uint64_t deadline_ms;               /* overdue: the deadline that passed */
    uint64_t level;                     /* escalated: escalation step, from 1 */
    uint64_t pending;                   /* agency_offline: alerts waiting for it */
    uint64_t size;                      /* unwitnessed: the checkpoint's tree size */
    uint64_t cosigned;                  /* unwitnessed: agencies that cosigned in time */
    uint64_t required;                  /* unwitnessed: how many the document requires */
    bool has_hash;                      /* notified: a recipient was tried (hash is its) */
    char channel[VG_AUDIT_NAME_MAX];    /* notified: the channel, or "" */
    char outcome[VG_AUDIT_NAME_MAX];    /* notified: "sent" or "failed" */
    vg_audit_deadline *deadlines;       /* deadline= lines: malloc'ed; written sorted */
    size_t n_deadlines;                 /* 0..VG_AUDIT_DEADLINES_MAX */
} vg_audit_event;

/* Appends a deadline to ev (copied). VG_ERR_NOMEM, or VG_ERR_INVALID over
 * VG_AUDIT_DEADLINES_MAX. */
vg_err vg_audit_event_add_deadline(vg_audit_event *ev, const vg_audit_deadline *d) VG_MUST_USE;

/* The deadline of ev for agency, or NULL. */
const vg_audit_deadline *vg_audit_event_deadline(const vg_audit_event *ev, const char *agency);

#define VG_AUDIT_DETAIL_MAX 160 /* vg_audit_unwitnessed_detail's longest text, with its NUL */

/* The detail of the UNWITNESSED event an unwitnessed leaf ev writes (the
 * broker, and audit verify that derives it): "size=S cosigned=C required=K
 * within=D". */
void vg_audit_unwitnessed_detail(char *out, size_t len, const vg_audit_event *ev);

/* The kind's name as written in leaves ("in_progress"), or NULL if unknown. */
const char *vg_audit_kind_name(vg_audit_kind kind);

/* Encodes ev as a leaf. Lists are written sorted whatever their order in ev.
 * *out is malloc'ed (not NUL-terminated); free() it. VG_ERR_INVALID (with the
 * field in why) for an unknown kind, a missing or invalid name, an empty or
 * duplicated list item, or a list over VG_AUDIT_LIST_MAX; VG_ERR_NOMEM. */
vg_err vg_audit_leaf_encode(uint8_t **out, size_t *out_len, const vg_audit_event *ev,
                            vg_reason *why) VG_MUST_USE;

/* Parses a leaf strictly: the magic line, then exactly the kind's keys in
 * order, each value in canonical form, every line ending in a newline and
 * nothing after the last. VG_ERR_MALFORMED (naming the line) otherwise;
 * VG_ERR_TOO_LARGE over VG_AUDIT_LEAF_MAX_BYTES. *out is written only on
 * success; release it with vg_audit_event_fini. */
vg_err vg_audit_leaf_parse(vg_audit_event *out, const uint8_t *leaf, size_t len,
                           vg_reason *why) VG_MUST_USE;

/* True when the event is about alert id: its alert, or one of its alerts. */
bool vg_audit_event_names(const vg_audit_event *ev, const uint8_t id[VG_ALERT_ID_LEN]);

/* Frees the lists of an event; leaves it zeroed. NULL-safe. */
void vg_audit_event_fini(vg_audit_event *ev);

#endif
