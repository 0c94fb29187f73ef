/*
 * vigil/agent.h — the agency client library: connect to the broker, publish
 * alerts with a durable outbox, receive alerts into a durable inbox.
 *
 * Connection: a ZeroMQ DEALER over CurveZMQ to the broker endpoint of
 * agent.conf, pinning the broker's public key; the agency's transport key
 * authenticates it (docs/protocol.md). The agent fetches the broker's signed
 * network document and adopts it only when it verifies against the pinned
 * admin key and is newer than its own copy (which it then replaces on disk).
 *
 * Publish: the policy's mandatory recipients are added, the next sequence
 * number is taken, the alert is sealed and signed, and the envelope is
 * written to the local outbox (SQLite, fsynced) before it is sent. It stays
 * there until the broker confirms it; any later agent process on the same
 * store (publish, listen, the console) resends it with the same id and
 * bytes, so a crash or an unreachable broker loses nothing and never makes
 * two alerts.
 *
 * Receive: every delivery is verified (sender's signature, against the
 * network document), opened, and written to the local inbox before the
 * signed DELIVERED receipt goes back; a duplicate delivery is receipted again
 * and not returned twice.
 *
 * Store: <[agent] store>/agent.db. One vga_agent per thread; the objects are
 * not thread-safe. Secrets stay in the keyset; nothing here logs content.
 */
#ifndef VIGIL_AGENTS_AGENT_H
#define VIGIL_AGENTS_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/agent_config.h"
#include "vigil/audit_leaf.h"
#include "vigil/checkpoint.h"
#include "vigil/clock.h"
#include "vigil/envelope.h"
#include "vigil/err.h"
#include "vigil/merkle.h"
#include "vigil/util.h"

typedef struct vga_agent vga_agent;

/* How alerts are handed to a program that acknowledges them (see "hand-over"
 * below): how often a failed hand-over is retried, and how fast. */
typedef struct vga_handover_policy {
    uint32_t attempts_max;  /* failed hand-overs before an alert is parked (>= 1) */
    int64_t backoff_ms;     /* wait after the first failure; doubles after each one */
    int64_t backoff_max_ms; /* the longest wait */
} vga_handover_policy;

#define VGA_HANDOVER_ATTEMPTS_DEFAULT 8
#define VGA_HANDOVER_BACKOFF_MS_DEFAULT 1000
#define VGA_HANDOVER_BACKOFF_MAX_MS_DEFAULT 300000

typedef struct vga_options {
    bool receive;                        /* ask the broker for this agency's deliveries */
    bool events;                         /* subscribe to this agency's event stream (consoles) */
    const vg_clock *clock;               /* NULL = the system clock */
    const char *software;                /* name/version sent in Hello, for broker logs */
    const vga_handover_policy *handover; /* hand alerts over at least once (needs receive);
                                            NULL = vga_receive, at most once */
} vga_options;

/* Loads the identity (vga_identity_load; when the agency is not in its
 * document, after fetching the broker's: vga_network_fetch), opens the
 * local store, connects.
 * Connecting does not wait for the broker: ZeroMQ connects in the background
 * and queued frames go out once it is reachable. With opts->handover it also
 * takes the store's hand-over lock (VG_ERR_CONFLICT when another process
 * holds it) and recovers interrupted hand-overs (vga_handover_next). Free
 * with vga_agent_destroy. */
vg_err vga_agent_open(vga_agent **out, const char *config_path, const vga_options *opts,
                      vg_reason *why) VG_MUST_USE;

/* A new agency (vigilctl init-agency) holds its keys but no document that
 * lists it: this asks the broker at agent.conf's endpoint for its document
 * with the newest key set held, verifies it against the pinned admin key
 * (not older than any document held), and keeps it (replacing
 * agent.conf's [network] document) only when it has a live card for the
 * agency. vga_agent_open does this by itself when the agency is not in its
 * document (VG_ERR_NOT_FOUND), waiting up to 3 s. VG_ERR_TIMEOUT when the
 * broker gave nothing in time (down, or it does not admit the agency's keys
 * yet), VG_ERR_NOT_FOUND when its document has no live card for the agency,
 * verify and file errors otherwise. *version_out (may be NULL) is the
 * version kept. */
vg_err vga_network_fetch(const char *config_path, int64_t timeout_ms, uint64_t *version_out,
                         vg_reason *why) VG_MUST_USE;

/* Closes the connection and the store; NULL-safe; sets *agent_p = NULL.
 * Whatever is in the outbox stays there for the next process. */
void vga_agent_destroy(vga_agent **agent_p);

const char *vga_agent_agency(const vga_agent *a);

/* The broker endpoint the agent talks to now: agent.conf's [broker]
 * endpoint, or with several the one it follows (docs/ha.md). Borrowed. */
const char *vga_agent_broker(const vga_agent *a);
/* The network document in use (borrowed; replaced when a newer one arrives). */
const vg_netdoc *vga_agent_doc(const vga_agent *a);

/* The result of a publish or of an outbox resend. */
typedef struct vga_confirm {
    uint8_t alert_id[VG_ALERT_ID_LEN]; /* the alert */
    bool duplicate;                    /* the broker already had it (a resend) */
    vg_err code;                       /* VG_OK, or why it was rejected */
    vg_reason reason;                  /* the broker's reason when rejected */
    vg_strlist missing;                /* VG_ERR_MISSING_RECIPIENTS: agency ids */
} vga_confirm;

/* Frees the missing list. */
void vga_confirm_fini(vga_confirm *c);

/*
 * Publishes alert (its sender, sequence, created time and id are filled in
 * here; recipients may be empty: the policy's mandatory agencies are added).
 * Waits up to timeout_ms for the broker's confirm. Returns:
 *   VG_OK: accepted (or a duplicate of an accepted resend); res->alert_id set;
 *   VG_ERR_TIMEOUT: not confirmed in time; the alert is safe in the outbox
 *     and res->alert_id says which; a later process sends it;
 *   the broker's rejection (VG_ERR_MISSING_RECIPIENTS, VG_ERR_CLOCK_SKEW, ...)
 *     with res->reason; a rejected alert leaves the outbox (it would never be
 *     accepted) except for the transient ones (vga_reject_is_transient:
 *     storage_full, internal, rate_limited, quota_exceeded), which are kept
 *     and resent;
 *   local errors (VG_ERR_INVALID, VG_ERR_IO, ...) with why: nothing stored.
 * res is always initialised; vga_confirm_fini() it.
 */
vg_err vga_publish(vga_agent *a, const vg_alert *alert, int64_t timeout_ms, vga_confirm *res,
                   vg_reason *why) VG_MUST_USE;

/* True for a broker rejection that means "not now" rather than "never"
 * (VG_ERR_STORAGE_FULL, VG_ERR_INTERNAL, VG_ERR_RATE_LIMITED,
 * VG_ERR_QUOTA_EXCEEDED): the alert stays in the outbox and is sent again. */
bool vga_reject_is_transient(vg_err code);

/* Publishes an envelope the caller sealed itself (tests and tools): it goes
 * through the outbox like any other. Same results as vga_publish. */
vg_err vga_publish_sealed(vga_agent *a, const uint8_t *signed_envelope, size_t len,
                          int64_t timeout_ms, vga_confirm *res, vg_reason *why) VG_MUST_USE;

/* Resends everything in the outbox, in order, and waits up to timeout_ms for
 * the confirms. *n_left (may be NULL) is what is still unconfirmed. */
vg_err vga_flush_outbox(vga_agent *a, int64_t timeout_ms, size_t *n_left,
                        vg_reason *why) VG_MUST_USE;

/* Number of alerts waiting in the outbox. */
vg_err vga_outbox_count(vga_agent *a, size_t *out) VG_MUST_USE;

/*
 * Waits up to timeout_ms for the next new alert for this agency (needs
 * opts.receive; an agent opened with opts.handover gets VG_ERR_INVALID: use
 * vga_handover_next). On VG_OK *out owns the opened alert (vg_alert_fini
 * it); it is already in the inbox and receipted, and marked surfaced: it
 * is not returned again (at most once). VG_ERR_TIMEOUT when none came.
 * Deliveries that fail verification or opening are logged
 * ("agent.deliver_reject"), kept out of the inbox, not receipted, and never
 * returned. Outbox confirms arriving meanwhile are handled too.
 */
vg_err vga_receive(vga_agent *a, int64_t timeout_ms, vg_alert *out, vg_reason *why) VG_MUST_USE;

/* ---- hand-over: at least once, acknowledged by the program --------------
 *
 * vga_receive hands each alert to the application once: an alert it
 * returned is marked surfaced before the caller sees it, so a crash right
 * after loses it for that application (at most once). An agent opened with
 * opts.handover instead hands alerts to a program that acknowledges each
 * one, and records both in the inbox (at least once):
 *
 * - vga_handover_next returns the next alert with the attempt number; the
 *   inbox records it as handed (and the attempt, with its time) in the same
 *   transaction that takes it, before the caller sees it;
 * - the caller reports the program's outcome: vga_handover_done (handled:
 *   never handed over again) or vga_handover_failed (a non-zero exit, a
 *   signal, a program that did not start: retried after backoff_ms,
 *   doubling up to backoff_max_ms, until attempts_max failures park it);
 * - an alert still handed when an agent opens the store for hand-over (the
 *   process that handed it ended before recording the outcome: a crash,
 *   kill -9, between the program's exit and the write) is handed over
 *   again at once; that counts as a failure, so an alert that crashes its
 *   handler every time is parked too. The program may therefore see an
 *   alert more than once and must be idempotent (the alert id is stable);
 * - a parked alert is logged at ERROR ("agent handover.parked") and is not
 *   handed over again until an operator calls vga_handover_rearm.
 *
 * Order: alerts due for a retry first, then stored alerts nobody took yet,
 * then new deliveries, each in their order. One process per store hands
 * over (a lock file, <store>/handover.lock, released when it exits).
 * Alerts surfaced by vga_receive elsewhere (a plain `listen`) are not
 * handed over; the console leaves alerts unsurfaced and does not interfere.
 */

/* One hand-over. */
typedef struct vga_handover {
    uint8_t id[VG_ALERT_ID_LEN]; /* the alert */
    uint32_t attempt;            /* 1 the first time it is handed over */
    bool parked;                 /* after vga_handover_failed: not retried until re-armed */
    int64_t retry_ms;            /* after vga_handover_failed: when it is due again (wall) */
    uint32_t failures;           /* after vga_handover_failed: failures since it was armed */
} vga_handover;

/* The next alert to hand over, waiting up to timeout_ms for one (less when
 * a retry comes due sooner). On VG_OK *out owns the opened alert
 * (vg_alert_fini it) and *info says which attempt this is; the alert is
 * recorded as handed. VG_ERR_TIMEOUT when none is due; VG_ERR_INVALID when
 * the agent was not opened with opts.handover. A stored alert that no
 * longer opens (its sender revoked since) is parked, logged, and skipped. */
vg_err vga_handover_next(vga_agent *a, int64_t timeout_ms, vg_alert *out, vga_handover *info,
                         vg_reason *why) VG_MUST_USE;

/* The program acknowledged alert id (it handled it): recorded, never handed
 * over again. VG_ERR_INVALID when it is not handed over now. */
vg_err vga_handover_done(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN],
                         vg_reason *why) VG_MUST_USE;

/* The program did not acknowledge alert id; outcome says how ("exit 1",
 * "signal 9", "not started: ..."; at most 200 bytes kept). Recorded with
 * the next try's time, or parked (logged at ERROR) once the policy's
 * attempts are used; *info (may be NULL) says which. */
vg_err vga_handover_failed(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], const char *outcome,
                           vga_handover *info, vg_reason *why) VG_MUST_USE;

/* An operator acted: every parked alert is due again at once, with no
 * failures counted. *n_out (may be NULL) is how many. */
vg_err vga_handover_rearm(vga_agent *a, size_t *n_out, vg_reason *why) VG_MUST_USE;

/* The parked alerts: the first max ids into ids (may be NULL when max is
 * 0), how many there are into *n_out. */
vg_err vga_handover_parked(vga_agent *a, uint8_t (*ids)[VG_ALERT_ID_LEN], size_t max, size_t *n_out,
                           vg_reason *why) VG_MUST_USE;

/* Serves the connection (keepalive, confirms, network updates) for up to
 * timeout_ms without returning alerts; for tools that only publish. */
void vga_poll(vga_agent *a, int64_t timeout_ms);

/* Asks the broker for its network document and waits up to timeout_ms;
 * adopts it when it is newer (and saves it). *version_out (may be NULL) is
 * the version in use afterwards. */
vg_err vga_sync_network(vga_agent *a, int64_t timeout_ms, uint64_t *version_out,
                        vg_reason *why) VG_MUST_USE;

/* ---- acknowledgement tracking ------------------------------------------ */

/*
 * Receipts from people, signed by this agency and confirmed by the broker,
 * for an alert this agency received (it must be in the local inbox:
 * VG_ERR_NOT_RECIPIENT otherwise). Results as vga_publish: VG_OK (res->
 * duplicate when it was already acknowledged: harmless, res->reason says
 * when), VG_ERR_TIMEOUT, or the broker's rejection with res->reason.
 *   ack:      a named duty officer has read it (officer required, note optional);
 *   progress: being handled; extends this agency's deadline once (reason required);
 *   decline:  will not act (reason required); escalated like an overdue alert.
 */
vg_err vga_ack(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], const char *officer,
               const char *note, int64_t timeout_ms, vga_confirm *res, vg_reason *why) VG_MUST_USE;
vg_err vga_progress(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], const char *reason,
                    int64_t timeout_ms, vga_confirm *res, vg_reason *why) VG_MUST_USE;
vg_err vga_decline(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], const char *reason,
                   int64_t timeout_ms, vga_confirm *res, vg_reason *why) VG_MUST_USE;

/* Shares an alert this agency received (as a listed recipient) with agency
 * `to`: the content key is sealed to `to` in a signed share record; the
 * broker makes `to` a required recipient with its own deadline. */
vg_err vga_share(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], const char *to,
                 const char *reason, int64_t timeout_ms, vga_confirm *res,
                 vg_reason *why) VG_MUST_USE;

/* A recipient's state, as the broker tracks it. */
typedef enum vga_state {
    VGA_PENDING = 1,      /* not yet delivered */
    VGA_DELIVERED = 2,    /* its software has it */
    VGA_ACKNOWLEDGED = 3, /* a named officer read it */
    VGA_IN_PROGRESS = 4,  /* being handled */
    VGA_DECLINED = 5,     /* will not act */
    VGA_UNOPENABLE = 6,   /* its software could not open it (signed receipt, reason says why) */
} vga_state;

/*
 * A recipient's state written for each audience, from one table (the only
 * place these words are spelt; the programs use nothing else):
 *   vga_state_name   "in_progress"  machine-readable: JSON, CSV, --plain, logs
 *   vga_state_token  "IN_PROGRESS"  an ack-matrix token ("ACK" for acknowledged)
 *   vga_state_words  "in progress"  for people on a screen ("cannot open")
 * An unknown value is "unknown" / "UNKNOWN"; never NULL. The one standing a
 * display derives rather than receives — a required recipient past its
 * deadline that has not acknowledged, declined or failed to open it — is
 * written VGA_OVERDUE_TOKEN everywhere.
 */
const char *vga_state_name(vga_state s);
const char *vga_state_token(vga_state s);
const char *vga_state_words(vga_state s);
#define VGA_OVERDUE_TOKEN "OVERDUE"

/*
 * Exercise, test, system and draft alerts are tracked exactly like actual
 * ones (the status is in the alert's signed metadata); what the programs
 * show keeps them apart, and these two functions are the one place that
 * decides how:
 *   vga_status_is_actual  true for VG_STATUS_ACTUAL, for VG_STATUS_UNSPECIFIED
 *                         (the envelope's default) and for any value this
 *                         build does not know: an alert is never kept out of
 *                         the figures for actual alerts because its status
 *                         cannot be read.
 *   vga_status_mark       the word every screen shows for an alert that is
 *                         not actual: "EXERCISE", "TEST", "SYSTEM", "DRAFT";
 *                         NULL exactly when vga_status_is_actual is true.
 */
bool vga_status_is_actual(vg_status s);
const char *vga_status_mark(vg_status s);

typedef struct vga_recipient_status {
    char agency[VG_AGENCY_ID_MAX + 1];    /* the recipient */
    vga_state state;                      /* where it is */
    bool required;                        /* must acknowledge */
    bool overdue;                         /* missed its deadline (stays true once late) */
    int64_t deadline_ms;                  /* wall-clock deadline */
    int64_t delivered_ms;                 /* 0 = not yet */
    int64_t acknowledged_ms;              /* 0 = not yet */
    char *officer;                        /* who acknowledged ("" if nobody) */
    char *note;                           /* officer's note */
    char *reason;                         /* in progress / declined reason */
    uint32_t escalation_level;            /* 0 on time, 1 overdue, 1+i after step i */
    char shared_by[VG_AGENCY_ID_MAX + 1]; /* "" unless added by a share */
    char cover_for[VG_AGENCY_ID_MAX + 1]; /* "" unless out-of-hours cover for that agency */
} vga_recipient_status;

/* What a required agency did with a linked earlier alert (docs/network.md
 * "Link tags"): the wire's LinkOutcomeKind. */
typedef enum vga_link_outcome {
    VGA_LINK_ACKNOWLEDGED = 1, /* acknowledged by its deadline */
    VGA_LINK_LATE = 2,         /* acknowledged after it */
    VGA_LINK_NEVER = 3,        /* never acknowledged (deadline passed, declined, unopenable) */
    VGA_LINK_OPEN = 4,         /* not yet, and not yet due */
} vga_link_outcome;

/* "acknowledged", "late", "never", "open"; "unknown" otherwise. */
const char *vga_link_outcome_name(vga_link_outcome o);

typedef struct vga_link_agency {
    char agency[VG_AGENCY_ID_MAX + 1]; /* a required agency of the linked alert */
    vga_link_outcome outcome;          /* what it did */
} vga_link_agency;

/* An earlier alert that shares a link tag (a subject or incident) with
 * this one, as far as we may know it. */
typedef struct vga_linked {
    bool known;                  /* we were a party to it: id and accepted_ms are set */
    uint8_t id[VG_ALERT_ID_LEN]; /* its id (known only) */
    int64_t accepted_ms;         /* when the broker accepted it (known only) */
    vga_link_agency *outcomes;   /* every required agency's outcome */
    size_t n_outcomes;           /* count */
} vga_linked;

typedef struct vga_alert_status {
    uint8_t id[VG_ALERT_ID_LEN];       /* alert */
    char sender[VG_AGENCY_ID_MAX + 1]; /* sender agency */
    int64_t created_ms;                /* sender's time */
    int64_t accepted_ms;               /* broker's time */
    vg_severity severity;              /* routing metadata */
    vg_urgency urgency;
    vg_status status;
    vg_msg_type msg_type;
    vg_strlist categories;
    vga_recipient_status *recipients; /* per agency */
    size_t n_recipients;
    bool complete;     /* every required agency acknowledged */
    int64_t purged_ms; /* its sealed content was purged then (retention), 0: kept */
    bool held;         /* a legal hold keeps it from being purged */
    uint8_t *envelope; /* signed envelope, when we may open it (else NULL) */
    size_t envelope_len;
    uint8_t **shares; /* share records naming us */
    size_t *share_lens;
    size_t n_shares;
    vga_linked *linked; /* earlier alerts linked to it, oldest first (vga_status only) */
    size_t n_linked;    /* count */
} vga_alert_status;

void vga_alert_status_fini(vga_alert_status *st);

/* The broker's tracking of one alert (for its sender, its recipients and
 * oversight). VG_ERR_UNKNOWN_ALERT, VG_ERR_NOT_RECIPIENT, VG_ERR_TIMEOUT. */
vg_err vga_status(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], int64_t timeout_ms,
                  vga_alert_status *out, vg_reason *why) VG_MUST_USE;

typedef struct vga_status_list {
    vga_alert_status *items; /* alerts */
    size_t n;                /* count */
    uint64_t last_event_seq; /* the snapshot is exact as of this event */
} vga_status_list;

void vga_status_list_fini(vga_status_list *l);

/* Alerts not complete that this agency sent or must acknowledge (every
 * alert, metadata only, for an oversight agency). */
vg_err vga_outstanding(vga_agent *a, int64_t timeout_ms, vga_status_list *out,
                       vg_reason *why) VG_MUST_USE;

/* Opens the alert of a status (when out->envelope is set): the content this
 * agency may read. */
vg_err vga_status_open(vga_agent *a, const vga_alert_status *st, vg_alert *out,
                       vg_reason *why) VG_MUST_USE;

/* Event kinds: the wire's EventKind. */
typedef enum vga_event_kind {
    VGA_EV_ACCEPTED = 1,
    VGA_EV_REJECTED = 2,
    VGA_EV_DELIVERED = 3,
    VGA_EV_ACKNOWLEDGED = 4,
    VGA_EV_IN_PROGRESS = 5,
    VGA_EV_DECLINED = 6,
    VGA_EV_SHARED = 7,
    VGA_EV_OVERDUE = 8,
    VGA_EV_ESCALATED = 9,
    VGA_EV_AGENCY_OFFLINE = 10,
    VGA_EV_AGENCY_ONLINE = 11,
    VGA_EV_COMPLETE = 12,
    VGA_EV_NETWORK_CHANGED = 13,
    VGA_EV_UNOPENABLE = 14,      /* a recipient could not open it; detail: the failure */
    VGA_EV_REASSIGNED = 15,      /* a required agency was revoked; detail: "successor:ID" or not */
    VGA_EV_NOTIFIED = 16,        /* a person was notified, or could not be; detail: "TARGET CHANNEL
                                    TO OUTCOME" (TO "-" for oversight unless it sees names) */
    VGA_EV_NETWORK_WARNING = 17, /* the network document needs its administrator (detail) */
    VGA_EV_LINKED = 18,          /* audit leaves only: never an event */
    VGA_EV_REPEAT_WARNING = 19,  /* agency did not acknowledge `count` earlier linked alerts */
    VGA_EV_UNWITNESSED = 20,     /* oversight: an audit checkpoint short of its cosignatures
                                    (detail "size=S cosigned=C required=K within=D") */
} vga_event_kind;

/* "accepted", "overdue", ... (the only place event kinds are spelt on the
 * agency side); "unknown" for an unknown value, never NULL. */
const char *vga_event_kind_name(vga_event_kind k);

typedef struct vga_event {
    uint64_t seq;        /* this agency's stream, gap-free from 1 */
    int64_t time_ms;     /* broker time */
    vga_event_kind kind; /* what happened */
    bool has_alert;      /* alert_id, sender, severity, status are set */
    uint8_t alert_id[VG_ALERT_ID_LEN];
    char sender[VG_AGENCY_ID_MAX + 1];
    vg_severity severity;
    vg_status status; /* actual, exercise, test, ... (unspecified from an old broker) */
    char agency[VG_AGENCY_ID_MAX + 1]; /* the agency it is about */
    char detail[256];                  /* officer, reason, escalation target, ... */
    uint32_t count;                    /* AGENCY_OFFLINE: alerts waiting */
    uint32_t level;                    /* escalation level */
} vga_event;

/* The next event of this agency's stream (needs opts.events), in order.
 * VG_ERR_TIMEOUT when none came. Events arriving while the agent waits for
 * something else are kept (up to 4096; older ones are dropped, which the
 * caller sees as a gap in seq: fetch vga_events_since and a snapshot). */
vg_err vga_next_event(vga_agent *a, int64_t timeout_ms, vga_event *out) VG_MUST_USE;

/* Events of this agency's stream after seq `after` (at most 2000), from the
 * broker's store: how a subscriber fills a gap. *out is malloc'ed (free it). */
vg_err vga_events_since(vga_agent *a, uint64_t after, int64_t timeout_ms, vga_event **out,
                        size_t *n_out, vg_reason *why) VG_MUST_USE;

/* ---- audit: agencies as witnesses of the broker's log -------------------- */

/*
 * The broker keeps a Merkle log of everything it did and signs checkpoints
 * of it (docs/audit.md). Every agency witnesses it: the agent keeps each
 * checkpoint it is given (the latest comes with every Confirm; vga_audit_sync
 * asks for it) in its local store, after verifying it against the network's
 * name (the origin) and the network document's broker_sign_key. A checkpoint
 * of a size not held yet joins the held chain only when the broker's
 * consistency proof between it and the largest held one verifies (RFC 9162
 * §2.1.4.2); one of a size already held must have the same root. The first
 * checkpoint an agency ever holds is taken on trust.
 *
 * A Confirm is handled inside the frame loop, which never waits: its
 * checkpoint is verified and kept at once, and its consistency proof is
 * fetched by the next vga_audit_sync (`vigil-agent audit checkpoint` and the
 * console call it).
 *
 * A failure is loud: an ERROR log line ("agent audit.fork" with both sizes
 * and roots, or "agent audit.bad_checkpoint"), and a fault recorded in the
 * store with the notes involved (two signed checkpoints that disagree are
 * proof against the broker). From then on vga_audit_status and
 * vga_audit_sync return VG_ERR_CONFLICT with the reason, in every process on
 * that store: faults are evidence and are never cleared by the library.
 */

/* A checkpoint this agency holds. */
typedef struct vga_audit_checkpoint {
    char origin[VG_CHECKPOINT_ORIGIN_MAX + 1]; /* the network name */
    uint64_t size;                             /* tree size */
    uint8_t root[VG_MERKLE_HASH_LEN];          /* RFC 6962 root */
    char *note;                                /* the signed note as received (malloc'ed) */
    size_t note_len;                           /* its length, without the NUL */
    int64_t received_ms;                       /* when this agency first held it */
} vga_audit_checkpoint;

/* Frees the note; NULL-safe. */
void vga_audit_checkpoint_fini(vga_audit_checkpoint *cp);

/*
 * Asks the broker for its latest checkpoint, keeps it, and checks the
 * consistency proof of every held checkpoint not yet checked. VG_OK when the
 * held chain is consistent; VG_ERR_CONFLICT when this or an earlier check
 * found a fault (why: what); VG_ERR_TIMEOUT when the broker did not answer
 * (nothing is lost: the next sync checks again); a checkpoint that does not
 * verify gives its vg_checkpoint_verify error (and is recorded as a fault).
 */
vg_err vga_audit_sync(vga_agent *a, int64_t timeout_ms, vg_reason *why) VG_MUST_USE;

/* The largest checked checkpoint this agency holds (no network). On VG_OK
 * *out owns its note (vga_audit_checkpoint_fini). VG_ERR_NOT_FOUND when none
 * is held yet. */
vg_err vga_audit_latest(vga_agent *a, vga_audit_checkpoint *out, vg_reason *why) VG_MUST_USE;

/* VG_OK, or VG_ERR_CONFLICT with why when an audit fault was ever recorded
 * in this agency's store (no network). */
vg_err vga_audit_status(vga_agent *a, vg_reason *why) VG_MUST_USE;

/*
 * Witnesses a checkpoint note obtained some other way (from another agency,
 * a file): verified as above (its error when it does not: a bad signature,
 * another key, another network; logged as agent audit.bad_checkpoint but not
 * recorded as a fault, since anyone can make a bad note), then kept and
 * checked for consistency with the held chain like one from the broker,
 * waiting up to timeout_ms for the proof. A validly signed note that
 * contradicts the held chain is a fork: VG_ERR_CONFLICT, recorded.
 */
vg_err vga_audit_witness(vga_agent *a, const char *note, size_t note_len, int64_t timeout_ms,
                         vg_reason *why) VG_MUST_USE;

/*
 * Cosignatures (docs/audit.md "Cosignatures"). After every vga_audit_sync
 * that found the held chain consistent, the agent cosigns the latest
 * checkpoint it checked (C2SP tlog-cosignature, with this agency's signing
 * key, witness name = the agency id) and sends it to the broker, which
 * keeps it. An agency whose store holds an audit fault (a fork) never
 * cosigns again: WARN agent audit.cosign_withheld, and vga_audit_sync keeps
 * returning VG_ERR_CONFLICT with the fault.
 */

/* Who cosigned the broker's latest checkpoint, as this agency can check. */
typedef struct vga_cosigners {
    uint64_t size;       /* the checkpoint (0 when the broker signed none) */
    vg_strlist agencies; /* agencies whose cosignature of it verified, in the broker's order */
    bool mine;           /* this agency is among them */
    size_t n_bad;        /* lines the broker served that do not verify (named in the log) */
} vga_cosigners;

/* Frees the list; NULL-safe. */
void vga_cosigners_fini(vga_cosigners *c);

/*
 * Asks the broker for its latest checkpoint and the cosignatures it keeps
 * of it, and verifies each against the network document this agent holds
 * (the agency's current or previous signing key). A line that does not
 * verify is counted in n_bad and logged (WARN agent audit.bad_cosignature):
 * the broker served it. VG_OK with *out filled (vga_cosigners_fini it);
 * VG_ERR_TIMEOUT; a checkpoint that does not verify gives its
 * vg_checkpoint_verify error.
 */
vg_err vga_audit_cosigners(vga_agent *a, int64_t timeout_ms, vga_cosigners *out,
                           vg_reason *why) VG_MUST_USE;

/* One leaf of an alert, proven. */
typedef struct vga_audit_leaf {
    uint64_t index;       /* its index in the log */
    uint8_t *leaf;        /* the leaf's bytes (malloc'ed) */
    size_t leaf_len;      /* their length */
    vg_audit_event event; /* the leaf parsed */
} vga_audit_leaf;

/* The leaves of one alert, each proven included in `checkpoint`. */
typedef struct vga_audit_proof {
    vga_audit_checkpoint checkpoint; /* the held checkpoint the proofs lead to */
    vga_audit_leaf *leaves;          /* in log order (malloc'ed) */
    size_t n_leaves;                 /* count */
} vga_audit_proof;

/* Frees everything; NULL-safe. */
void vga_audit_proof_fini(vga_audit_proof *p);

/*
 * Proves the audit record of one alert: syncs (vga_audit_sync), asks the
 * broker for the indices of that alert's leaves, waits (up to timeout_ms in
 * all) until a held checkpoint covers them all, then fetches each leaf's
 * inclusion proof against that checkpoint's size and checks it against its
 * root, and that the leaf parses, names its own index and this alert.
 * VG_OK with *out filled (vga_audit_proof_fini it); VG_ERR_UNKNOWN_ALERT;
 * VG_ERR_TIMEOUT (no answer, or no checkpoint covers the leaves yet: the
 * broker signs one every checkpoint_interval); VG_ERR_CONFLICT when a proof
 * fails (recorded as a fault, logged "agent audit.proof_fail") or a fault
 * was recorded before.
 */
vg_err vga_audit_prove(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], int64_t timeout_ms,
                       vga_audit_proof *out, vg_reason *why) VG_MUST_USE;

#endif
