/*
 * vigil/netdoc.h — the signed network document: who is in the network, with
 * which keys, and the sharing policy, deadlines and escalation steps, and
 * the calendars and opening hours that deadlines in working days need.
 *
 * The document is signed offline by the network administrator's Ed25519 key.
 * Broker and agents pin the admin public key and accept a document only when
 * its signature verifies over the exact received bytes, it is internally
 * consistent, and its version is not older than the one they hold. Because
 * the broker cannot forge it, it cannot slip in a fake recipient key.
 *
 * Administrators edit the document as JSON (see docs/network.md for the
 * format); vg_netdoc_body_from_json() turns that into the bytes to sign.
 *
 * A vg_netdoc is immutable after verification and may be shared between
 * threads. Every pointer it returns is borrowed and lives as long as it.
 */
#ifndef VIGIL_LIB_NETDOC_H
#define VIGIL_LIB_NETDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/calendar.h"
#include "vigil/err.h"
#include "vigil/keys.h"
#include "vigil/util.h"
#include "vigil/wire.h"

typedef struct vg_netdoc vg_netdoc;

/* A borrowed view of one agency card. */
typedef struct vg_agency {
    const char *id;                   /* unique agency id */
    const char *role;                 /* "police", "licensing", "oversight", ... */
    const char *display_name;         /* for people */
    const char *escalation_contact;   /* agency id or "" */
    const uint8_t *sign_pk;           /* VG_SIGN_PK_LEN */
    const uint8_t *box_pk;            /* VG_BOX_PK_LEN */
    const uint8_t *transport_pk;      /* VG_CURVE_KEY_LEN */
    bool revoked;                     /* keys no longer trusted */
    const char *calendar;             /* the calendar its working days follow, or "" */
    const char *out_of_hours_cover;   /* agency id covering it when closed, or "" */
    int64_t sign_compromised_ms;      /* 0, or from when its current sign key is distrusted */
    int64_t transport_compromised_ms; /* 0, or from when its current transport key is refused */
    size_t n_previous;                /* key sets it had before (vg_netdoc_previous_keys) */
    const char *successor;            /* revoked: the agency inheriting its pending alerts, or "" */
} vg_agency;

/* ---- keys that rotate, leak or are revoked (docs/network.md) ----------------
 *
 * A card's current keys are trusted for new work. Its previous keys (each
 * set with the end of its overlap, valid_until) stay on the card so that
 * what they signed keeps verifying: a previous sign key is trusted only for
 * objects created before valid_until (the created_ms the signer signed), a
 * previous transport key connects only until valid_until, a previous box key
 * is never sealed to. Any key may be marked compromised from a time: what a
 * sign key signed with a created time at or after it is refused
 * (VG_ERR_KEY_COMPROMISED), a transport key is refused from then on. */

/* One previous key set of a card (borrowed). A key the rotation did not
 * change is NULL. */
typedef struct vg_previous_keys {
    const uint8_t *sign_pk;           /* VG_SIGN_PK_LEN, or NULL */
    const uint8_t *box_pk;            /* VG_BOX_PK_LEN, or NULL */
    const uint8_t *transport_pk;      /* VG_CURVE_KEY_LEN, or NULL */
    int64_t rotated_ms;               /* the overlap's start: the next keys became current */
    int64_t valid_until_ms;           /* the overlap's end, UTC ms */
    int64_t sign_compromised_ms;      /* 0, or from when sign_pk is distrusted */
    int64_t box_compromised_ms;       /* 0, or from when box_pk may have been read */
    int64_t transport_compromised_ms; /* 0, or from when transport_pk is refused */
} vg_previous_keys;

/* Previous key set i (< n_previous) of agency id. VG_OK or VG_ERR_NOT_FOUND
 * (no such agency or set). Sets are in the document's order (oldest first
 * by convention; nothing depends on it). */
vg_err vg_netdoc_previous_keys(const vg_netdoc *doc, const char *id, size_t i,
                               vg_previous_keys *out) VG_MUST_USE;

#define VG_TIME_NEVER INT64_MAX /* valid_until of a current key: no end */
#define VG_PREVIOUS_KEYS_MAX 16 /* previous key sets on one card, and of the broker */

/* Where a public key sits on a card, and how long it is trusted. */
typedef struct vg_key_match {
    vg_agency agency;       /* the card that lists the key (revoked ones too) */
    const uint8_t *pk;      /* the key itself (borrowed from the document) */
    bool previous;          /* one of its previous keys, not its current one */
    int64_t valid_until_ms; /* previous: the overlap's end; current: VG_TIME_NEVER */
    int64_t compromised_ms; /* 0, or from when the key is distrusted */
    int64_t until_ms;       /* the earlier of valid_until_ms and compromised_ms (when set):
                               the first instant the key is no longer trusted */
} vg_key_match;

/* Finds the card listing transport key pk, current or previous (revoked
 * cards included: check out->agency.revoked). VG_OK or VG_ERR_NOT_FOUND.
 * vg_netdoc_find_by_transport() matches current keys only. */
vg_err vg_netdoc_find_transport_key(vg_key_match *out, const vg_netdoc *doc,
                                    const uint8_t pk[VG_CURVE_KEY_LEN]) VG_MUST_USE;

/* What the broker's ZAP handler asks: may transport key pk connect at now_ms
 * (wall clock)? VG_OK with out filled — out->until_ms is when the key stops
 * being admitted (VG_TIME_NEVER: no end), so a connection made with it can
 * be closed then; VG_ERR_NOT_FOUND (no card lists it); VG_ERR_REVOKED (its
 * agency is revoked, or a previous key whose overlap ended); or
 * VG_ERR_KEY_COMPROMISED (marked compromised at or before now_ms). why names
 * the agency, the key and the time. On an error out is still filled when a
 * card lists the key (out->agency.id is NULL otherwise). */
vg_err vg_netdoc_admit_transport(vg_key_match *out, const vg_netdoc *doc,
                                 const uint8_t pk[VG_CURVE_KEY_LEN], int64_t now_ms,
                                 vg_reason *why) VG_MUST_USE;

/* Finds sign key pk on agency id's card, current or previous. VG_OK or
 * VG_ERR_NOT_FOUND. */
vg_err vg_netdoc_find_sign_key(vg_key_match *out, const vg_netdoc *doc, const char *id,
                               const uint8_t pk[VG_SIGN_PK_LEN]) VG_MUST_USE;

/* Whether a signature by the key in m over an object created at created_ms
 * is trusted: VG_OK; VG_ERR_KEY_COMPROMISED (created at or after the key's
 * compromise time); VG_ERR_REVOKED (a previous key, created at or after its
 * overlap ended, or the agency is revoked). why names `what` ("envelope"),
 * the agency, the key (first 8 bytes in hex) and the time. The signature
 * checks of envelopes, receipts and shares all end here. */
vg_err vg_key_match_check_time(const vg_key_match *m, int64_t created_ms, const char *what,
                               vg_reason *why) VG_MUST_USE;

/* The broker's keys before a rotation (borrowed). */
typedef struct vg_broker_keys {
    const uint8_t *sign_pk;      /* VG_SIGN_PK_LEN, or NULL when it did not change */
    const uint8_t *transport_pk; /* VG_CURVE_KEY_LEN, or NULL when it did not change */
    int64_t rotated_ms;          /* the overlap's start */
    int64_t valid_until_ms;      /* the overlap's end, UTC ms */
} vg_broker_keys;

size_t vg_netdoc_n_previous_broker_keys(const vg_netdoc *doc);
void vg_netdoc_previous_broker_keys_at(const vg_netdoc *doc, size_t i, vg_broker_keys *out);

/* The key-transition note (vigil/transition.h) that hands the log over from
 * the broker's previous sign key to vg_netdoc_broker_sign_pk(), or "" when
 * the document has none. Verified against that previous key when the
 * document was. */
const char *vg_netdoc_key_transition(const vg_netdoc *doc);

typedef enum vg_escalation_target {
    VG_ESC_UNSPECIFIED = 0,
    VG_ESC_REDELIVER = 1, /* redeliver to the late agency, tell the sender */
    VG_ESC_CONTACT = 2,   /* the late agency's escalation_contact */
    VG_ESC_ROLE = 3,      /* every agency with the step's role */
    /* People, through the duty rotas' notification channels (the broker's
     * [notify]; docs/network.md "Duty rotas and notifications"): */
    VG_ESC_DUTY_OFFICER = 4, /* "officer-on-duty": the late agency's officer on duty */
    VG_ESC_OUT_OF_HOURS = 5, /* "out-of-hours-team": its out-of-hours team, else its cover's
                                officer on duty */
    VG_ESC_MANAGER = 6,      /* "manager": the late agency's manager */
    VG_ESC_OVERSIGHT = 7,    /* "oversight": every oversight agency's officer on duty */
} vg_escalation_target;

/* The target's name as the JSON form writes it ("redeliver", "officer-on-duty"),
 * or NULL for an unknown value; and back (VG_ESC_UNSPECIFIED when unknown). */
const char *vg_escalation_target_name(vg_escalation_target target);
vg_escalation_target vg_escalation_target_parse(const char *name);

/* True for the targets that notify people (VG_ESC_DUTY_OFFICER and after). */
bool vg_escalation_target_notifies(vg_escalation_target target);

/* The role of an oversight agency: it sees every alert's metadata (subject
 * to vg_netdoc_oversight) and never its content, so it is never a recipient. */
#define VG_ROLE_OVERSIGHT "oversight"

/* What one agency may put on the network (NetworkDocument.limits, overridden
 * field by field by its card's). */
typedef struct vg_limits {
    uint32_t publish_per_minute;   /* sustained publish rate */
    uint32_t publish_burst;        /* publishes allowed at once above it */
    uint64_t stored_bytes_per_day; /* envelope bytes accepted in any 24 hours */
} vg_limits;

#define VG_LIMIT_PUBLISH_PER_MINUTE 6000           /* default: 100 a second */
#define VG_LIMIT_PUBLISH_BURST 6000                /* default */
#define VG_LIMIT_STORED_BYTES_PER_DAY (1ull << 30) /* default: 1 GiB */

/* What an oversight agency sees beyond metadata. Default: neither. */
typedef struct vg_oversight_view {
    bool officer_names; /* who acknowledged */
    bool notes;         /* officers' notes and the reasons given */
} vg_oversight_view;

typedef struct vg_escalation_step {
    uint64_t after_ms;           /* after the deadline */
    vg_escalation_target target; /* who is told */
    const char *role;            /* VG_ESC_ROLE only, else "" */
} vg_escalation_step;

/* Builds the unsigned document body from its JSON form. Checks everything
 * vg_netdoc_verify() checks (so an administrator learns of a mistake before
 * signing), except the signature. *out is malloc'ed; free() it. */
vg_err vg_netdoc_body_from_json(uint8_t **out, size_t *out_len, const char *json,
                                vg_reason *why) VG_MUST_USE;

/* Signs a document body with the admin key, forcing its version to `version`
 * (0 keeps the body's) and setting its issued time to now when it has none. *out is the serialised
 * SignedNetworkDocument, malloc'ed; free() it. */
vg_err vg_netdoc_sign(uint8_t **out, size_t *out_len, const uint8_t *body, size_t body_len,
                      uint64_t version, const vg_keyset *admin, vg_reason *why) VG_MUST_USE;

/* Verifies a serialised SignedNetworkDocument against the pinned admin key:
 * VG_ERR_TOO_LARGE, VG_ERR_MALFORMED, VG_ERR_BAD_SIGNATURE, VG_ERR_POLICY
 * (internally inconsistent), VG_ERR_STALE_VERSION (version < min_version).
 * Free with vg_netdoc_destroy. */
vg_err vg_netdoc_verify(vg_netdoc **out, const uint8_t *bytes, size_t len,
                        const uint8_t admin_pk[VG_SIGN_PK_LEN], uint64_t min_version,
                        vg_reason *why) VG_MUST_USE;

/* Reads a file and vg_netdoc_verify()s it. */
vg_err vg_netdoc_load(vg_netdoc **out, const char *path, const uint8_t admin_pk[VG_SIGN_PK_LEN],
                      uint64_t min_version, vg_reason *why) VG_MUST_USE;

/* NULL-safe; sets *doc_p = NULL. */
void vg_netdoc_destroy(vg_netdoc **doc_p);

/* The document as editable JSON (the format vg_netdoc_body_from_json reads).
 * *out is malloc'ed; free() it. */
vg_err vg_netdoc_to_json(char **out, const vg_netdoc *doc) VG_MUST_USE;

uint64_t vg_netdoc_version(const vg_netdoc *doc);
const char *vg_netdoc_network(const vg_netdoc *doc);
int64_t vg_netdoc_issued_ms(const vg_netdoc *doc);
const uint8_t *vg_netdoc_broker_sign_pk(const vg_netdoc *doc);      /* VG_SIGN_PK_LEN */
const uint8_t *vg_netdoc_broker_transport_pk(const vg_netdoc *doc); /* VG_CURVE_KEY_LEN */

/* The exact signed bytes this document was verified from (to serve to others). */
const uint8_t *vg_netdoc_signed_bytes(const vg_netdoc *doc, size_t *len_out);

/* How long an alert of this status (wire Status value) whose categories
 * are `categories` (comma-separated, as the broker stores them) keeps its
 * sealed content and its link tags, in ms after acceptance: the longest of
 * the document's retention rules that apply to it (docs/network.md
 * "Retention"). 0 and 0: no rule applies, it is kept for ever. */
void vg_netdoc_retention(const vg_netdoc *doc, int status, const char *categories,
                         uint64_t *content_ms, uint64_t *tags_ms);
/* The shortest content retention of any rule, 0 when the document has
 * none (then nothing is ever purged). */
uint64_t vg_netdoc_retention_shortest(const vg_netdoc *doc);

size_t vg_netdoc_n_agencies(const vg_netdoc *doc);
/* Fills out with agency i (< n_agencies). */
void vg_netdoc_agency_at(const vg_netdoc *doc, size_t i, vg_agency *out);
/* The index (for vg_netdoc_agency_at) of agency id, or -1 when it is not in
 * the document (id may be NULL). */
int vg_netdoc_index(const vg_netdoc *doc, const char *id);
/* VG_OK, or VG_ERR_NOT_FOUND. Revoked agencies are found (check out->revoked). */
vg_err vg_netdoc_find(const vg_netdoc *doc, const char *id, vg_agency *out) VG_MUST_USE;
/* Current transport keys only (see vg_netdoc_admit_transport for previous
 * keys and their overlap). VG_OK or VG_ERR_NOT_FOUND. */
vg_err vg_netdoc_find_by_transport(const vg_netdoc *doc, const uint8_t pk[VG_CURVE_KEY_LEN],
                                   vg_agency *out) VG_MUST_USE;

/* True when agency id has the oversight role. */
bool vg_netdoc_is_oversight(const vg_netdoc *doc, const char *id);

/* The limits that apply to agency id (defaults filled in; an unknown agency
 * gets the network's). */
vg_limits vg_netdoc_limits(const vg_netdoc *doc, const char *id);

/* What oversight agencies may see beyond metadata. */
vg_oversight_view vg_netdoc_oversight(const vg_netdoc *doc);

/* How many agencies must cosign each audit checkpoint, and how soon
 * (docs/audit.md "Cosignatures"): cosignatures 0 when the document requires
 * none. */
typedef struct vg_witnessing {
    uint32_t cosignatures; /* k, or 0: none required */
    uint64_t within_ms;    /* after its signing, a checkpoint short of k raises an alarm */
} vg_witnessing;
vg_witnessing vg_netdoc_witnessing(const vg_netdoc *doc);

/* True when the category is in the network's taxonomy. */
bool vg_netdoc_has_category(const vg_netdoc *doc, const char *category);
size_t vg_netdoc_n_categories(const vg_netdoc *doc);
const char *vg_netdoc_category_at(const vg_netdoc *doc, size_t i);

/* The agencies the policy says must receive an alert with these categories
 * and severity, sender excluded, revoked agencies excluded, each once, in the
 * document's agency order. Appends to *out (caller inits and finis it). */
vg_err vg_netdoc_required(const vg_netdoc *doc, const char *const *categories, size_t n_categories,
                          vg_severity severity, const char *sender, vg_strlist *out) VG_MUST_USE;

/* The acknowledgement deadline (a duration) for this severity and urgency:
 * the network-wide rule for (severity, urgency) if there is one, else for
 * severity; rules for categories or agencies are not consulted. An
 * unspecified severity gets the critical deadline: the shortest is the safe
 * one. A rule in a calendar unit (Nwd, Nbh, next-open) is no duration: it
 * returns 0 — callers must use vg_netdoc_deadline_at(), which this function
 * predates. */
uint64_t vg_netdoc_deadline_ms(const vg_netdoc *doc, vg_severity severity, vg_urgency urgency);

/* ---- calendars and deadlines in calendar units ------------------------------
 * Calendars are compiled once, when the document is verified (a union's
 * closed dates merged, its valid_until the earliest of its members', the
 * zone rule parsed, the version hashed), so the deadline function below
 * only reads. */

size_t vg_netdoc_n_calendars(const vg_netdoc *doc);
/* Fills out with calendar i (< n_calendars); out borrows from doc. */
void vg_netdoc_calendar_at(const vg_netdoc *doc, size_t i, vg_calendar *out);
/* VG_OK, or VG_ERR_NOT_FOUND. */
vg_err vg_netdoc_calendar(const vg_netdoc *doc, const char *name, vg_calendar *out) VG_MUST_USE;
/* The text of the network warning the broker raises once a calendar is
 * past its valid_until (the event's detail; audit verify rebuilds it from
 * the document the warning's leaf names). */
void vg_netdoc_calendar_warning(char *out, size_t len, const vg_netdoc *doc, const char *calendar);

/* The calendar names a union calendar is made of (NULL and 0 for a plain
 * calendar). */
const char *const *vg_netdoc_calendar_union_of(const vg_netdoc *doc, const char *name,
                                               size_t *n_out);

/* Agency id's opening hours (n_spans 0 when it has none or is unknown). */
void vg_netdoc_agency_hours(const vg_netdoc *doc, const char *id, vg_hours *out);

/* One deadline rule of the document (docs/network.md), borrowed. */
typedef struct vg_deadline_rule_view {
    vg_severity severity;          /* the severity it is for */
    vg_urgency urgency;            /* VG_URG_UNSPECIFIED: any urgency */
    const char *const *categories; /* matches an alert with any of them */
    size_t n_categories;           /* 0: every alert */
    const char *agency;            /* the recipient it is for, "" every agency */
    bool repeat;                   /* a repeat_deadlines rule (vg_netdoc_deadline_repeat_at) */
    vg_deadline_rule rule;         /* the unit */
} vg_deadline_rule_view;

size_t vg_netdoc_n_deadline_rules(const vg_netdoc *doc);
void vg_netdoc_deadline_rule_at(const vg_netdoc *doc, size_t i, vg_deadline_rule_view *out);

/* Writes the rule's selector: "high", "high/immediate categories=cse,taxi
 * agency=licensing", "repeat high". */
void vg_deadline_rule_view_label(char *out, size_t out_len, const vg_deadline_rule_view *v);

#define VG_DEADLINE_TEXT_MAX 384 /* vg_deadline.text */

/* What the deadline function applied, for the audit leaf and the report. */
typedef struct vg_deadline {
    int64_t deadline_ms;                         /* the deadline, UTC milliseconds */
    unsigned warnings;                           /* VG_DLW_* flags; 0: none */
    vg_deadline_rule rule;                       /* the unit applied */
    char rule_text[VG_DEADLINE_RULE_TEXT_MAX];   /* it, canonical: "2wd" */
    char selector[160];                          /* the rule chosen: "high agency=licensing" */
    char calendar[64];                           /* the agency's calendar, "" none */
    uint8_t calendar_hash[VG_CALENDAR_HASH_LEN]; /* its version (zero without one) */
    uint64_t network_version;                    /* the document's version */
    uint32_t rule_no;                            /* the rule applied: 1 + its index in the
                                                    document's rules (vg_netdoc_deadline_rule_at) */
    char text[VG_DEADLINE_TEXT_MAX];             /* all of the above on one key=value line */
} vg_deadline;

/* The absolute deadline for recipient `agency` of an alert with this
 * severity, urgency and categories, accepted at accepted_ms (UTC ms). The
 * rule is chosen by precedence (docs/network.md "Which rule applies"):
 * among the rules for the severity that match (urgency equal or unset, a
 * shared category or none, the agency or none), the most specific wins —
 * an agency's own rule over a network-wide one, then a category rule over
 * one without, then an urgency rule over one without; rules equally
 * specific all apply and the earliest deadline wins. An unspecified severity
 * is critical. The agency's calendar and hours feed the unit, with the
 * fallbacks of vigil/calendar.h flagged in out->warnings — never a silently
 * wrong date. An unknown agency gets the network-wide rules and no
 * calendar. VG_ERR_INVALID only when accepted_ms (or the deadline) is
 * outside 1970..2199. Pure; safe from any thread. */
vg_err vg_netdoc_deadline_at(vg_deadline *out, const vg_netdoc *doc, const char *agency,
                             vg_severity severity, vg_urgency urgency,
                             const char *const *categories, size_t n_categories,
                             int64_t accepted_ms) VG_MUST_USE;

/* Whether the document has a repeat_deadlines rule for severity: without
 * one, whether an alert is a repeat warning does not change a deadline. */
bool vg_netdoc_has_repeat_deadline(const vg_netdoc *doc, vg_severity severity);

/* vg_netdoc_deadline_at for a recipient the alert is a repeat warning for
 * (it did not acknowledge an earlier alert linked to this one:
 * docs/network.md "Repeat warnings: stricter deadlines"): the document's
 * repeat_deadlines rule for the severity, computed with the agency's
 * calendar and hours, applies when it falls earlier than the ordinary
 * deadline (out->selector then "repeat high"); otherwise, and without such
 * a rule, the ordinary deadline. Errors as vg_netdoc_deadline_at. */
vg_err vg_netdoc_deadline_repeat_at(vg_deadline *out, const vg_netdoc *doc, const char *agency,
                                    vg_severity severity, vg_urgency urgency,
                                    const char *const *categories, size_t n_categories,
                                    int64_t accepted_ms) VG_MUST_USE;

/* ---- opening hours and out-of-hours cover --------------------------------- */

/* True when agency id is open at at_ms (UTC ms): within its opening hours on
 * a working day of its calendar (vg_hours_is_open). An agency without a
 * calendar or hours is always open; an unknown one too. */
bool vg_netdoc_agency_is_open(const vg_netdoc *doc, const char *id, int64_t at_ms);

/* Out-of-hours cover (docs/network.md "Out-of-hours cover"): for an alert of
 * this severity created at at_ms, each agency of `required` that is closed
 * then and names an out_of_hours_cover brings its cover in as a required
 * recipient — for high and critical alerts only (an unspecified severity
 * counts as critical). A cover that is the sender, revoked, or required
 * already is not added. Appends each cover once to *covers and, at the same
 * index, the agency it covers (the first, when it covers several) to
 * *covered (may be NULL). The caller inits and finis both. VG_ERR_NOMEM. */
vg_err vg_netdoc_cover(const vg_netdoc *doc, const vg_strlist *required, vg_severity severity,
                       const char *sender, int64_t at_ms, vg_strlist *covers,
                       vg_strlist *covered) VG_MUST_USE;

/* Escalation steps in order of after_ms. */
size_t vg_netdoc_n_escalation(const vg_netdoc *doc);
void vg_netdoc_escalation_at(const vg_netdoc *doc, size_t i, vg_escalation_step *out);

#endif
