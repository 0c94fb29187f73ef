/*
 * broker/audit_state.h — what the files of vgb_audit_check_state (audit.h)
 * share: audit_state.c (the passes in order, the documents, the row
 * counts), audit_parse.c (stored signed bytes read without their keys),
 * audit_life.c (an alert's life replayed from its leaves), audit_alerts.c
 * (the per-alert pass) and audit_stream.c (the leaf pass: rejections,
 * documents, events). Not a contract beyond those files.
 *
 * Owns nothing beyond what each function says. Single-threaded, like the
 * store it reads.
 */
#ifndef VIGIL_BROKER_AUDIT_STATE_H
#define VIGIL_BROKER_AUDIT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "store.h"
#include "vigil/audit_leaf.h"
#include "vigil/netdoc.h"

/* ---- the check in progress (audit_state.c) --------------------------------------- */

/* Every network document the store holds, verified with the admin key. */
typedef struct vgb_av_docs {
    vg_netdoc **doc; /* by version, ascending */
    size_t n;        /* how many */
} vgb_av_docs;

/* The document of this version, or NULL. */
const vg_netdoc *vgb_av_doc(const vgb_av_docs *d, uint64_t version);

typedef struct vgb_av_check {
    vgb_store *store;                /* read only */
    const vgb_audit_state_params *p; /* what to trust */
    vgb_audit_report *rep;           /* the first fault */
    vgb_av_docs docs;                /* the network documents */
    uint64_t n_leaves;               /* the log's size */
    /* gathered by the per-alert pass (audit_alerts.c) */
    uint64_t n_alerts;       /* alerts rows */
    uint64_t n_recipients;   /* recipients rows of those alerts */
    uint64_t n_items;        /* receipt_items rows of those alerts */
    uint64_t n_receipts;     /* receipts rows, each counted once */
    uint64_t n_shares;       /* shares rows of those alerts */
    uint64_t n_direct_links; /* audit_alert_leaves rows of those alerts */
    uint64_t n_pairs_linked; /* (alert, leaf naming it) pairs the index gives */
    uint64_t n_link_tags;    /* link_tags rows of those alerts */
    /* gathered by the leaf pass (audit_stream.c) */
    uint64_t n_accepted;    /* accepted leaves */
    uint64_t n_pairs_named; /* (alert, leaf naming it) pairs in the leaves */
    uint64_t n_events;      /* events the leaves account for */
    uint64_t n_event_rows;  /* stored rows holding them */
    /* retention, gathered by the per-alert pass (audit_retain.c) */
    uint64_t n_purge_rows; /* alerts whose content or tags the leaves say were purged */
} vgb_av_check;

/* Records the fault (table: a static name; row: e.g. "alert=ID agency=X",
 * may be NULL; leaf: VGB_AUDIT_NO_INDEX when none) and returns
 * VG_ERR_CONFLICT. */
vg_err vgb_av_fault(vgb_av_check *c, const char *table, const char *row, uint64_t leaf,
                    const char *fmt, ...) VG_PRINTF(5, 6);

/* "alert=<32 hex>" into out. */
void vgb_av_alert_name(char *out, size_t len, const uint8_t id[VG_ALERT_ID_LEN]);

/* Whether |row_ms - leaf_ms| <= VGB_AUDIT_CLOCK_SLACK_MS. */
bool vgb_av_near(int64_t row_ms, uint64_t leaf_ms);

/* Reads and parses leaf idx; VG_ERR_CONFLICT (a fault naming `table`,
 * `row`) when it is missing or does not parse. Release with
 * vg_audit_event_fini. */
vg_err vgb_av_read_leaf(vgb_av_check *c, uint64_t idx, vg_audit_event *ev, const char *table,
                        const char *row);

/* ---- stored signed bytes (audit_parse.c) -------------------------------------------
 * Parsed without checking their signatures (that is vgb_av_signed, 50 us
 * each): the leaves hold the hash of each signed body, so a body whose
 * hash matches is the one the broker verified when it took it. */

typedef struct vgb_av_envelope {
    uint8_t hash[VG_HASH_LEN];         /* of the signed body */
    uint8_t id[VG_ALERT_ID_LEN];       /* alert id */
    char sender[VG_AGENCY_ID_MAX + 1]; /* sender */
    uint64_t sequence;                 /* the sender's number */
    int64_t created_ms;                /* the sender's time */
    int64_t status, msg_type;          /* wire values */
    int64_t severity, urgency;         /* wire values */
    uint64_t version;                  /* the document it was sealed under */
    vg_strlist categories;             /* in order */
    vg_strlist recipients;             /* in order */
    uint8_t (*tags)[VG_HASH_LEN];      /* its link tags, in order (malloc'ed, NULL when none) */
    size_t n_tags;                     /* how many */
} vgb_av_envelope;

typedef struct vgb_av_receipt {
    uint8_t hash[VG_HASH_LEN];          /* of the signed body */
    char agency[VG_AGENCY_ID_MAX + 1];  /* the receipting agency */
    int64_t kind;                       /* wire ReceiptKind */
    int64_t created_ms;                 /* its time */
    int64_t failure;                    /* wire OpenFailure */
    size_t n_items;                     /* items */
    uint8_t (*ids)[VG_ALERT_ID_LEN];    /* their alerts, in order */
    uint8_t (*env_hashes)[VG_HASH_LEN]; /* the envelopes they name */
    char *officer, *note, *reason;      /* malloc'ed; "" when absent */
} vgb_av_receipt;

typedef struct vgb_av_share {
    uint8_t hash[VG_HASH_LEN];         /* of the signed body */
    uint8_t id[VG_ALERT_ID_LEN];       /* the alert */
    uint8_t env_hash[VG_HASH_LEN];     /* its envelope */
    char sharer[VG_AGENCY_ID_MAX + 1]; /* who shared it */
    char to[VG_AGENCY_ID_MAX + 1];     /* with whom */
} vgb_av_share;

/* Each: VG_ERR_MALFORMED (why says what) when the bytes are not one;
 * VG_ERR_NOMEM. Release with the _fini (NULL-safe, zeroes). */
vg_err vgb_av_parse_envelope(vgb_av_envelope *out, const uint8_t *bytes, size_t len,
                             vg_reason *why) VG_MUST_USE;
void vgb_av_envelope_fini(vgb_av_envelope *e);
vg_err vgb_av_parse_receipt(vgb_av_receipt *out, const uint8_t *bytes, size_t len,
                            vg_reason *why) VG_MUST_USE;
void vgb_av_receipt_fini(vgb_av_receipt *r);
vg_err vgb_av_parse_share(vgb_av_share *out, const uint8_t *bytes, size_t len,
                          vg_reason *why) VG_MUST_USE;

typedef enum vgb_av_signed_kind {
    VGB_AV_ENVELOPE = 1,
    VGB_AV_RECEIPT = 2,
    VGB_AV_SHARE = 3,
} vgb_av_signed_kind;

/* Whether the signature over the bytes verifies under one of the stored
 * documents (the signer's key may have changed since). */
bool vgb_av_signed(const vgb_av_docs *docs, vgb_av_signed_kind kind, const uint8_t *bytes,
                   size_t len);

/* The row's `reason` an UNOPENABLE receipt writes: "<failure>[: <reason>]". */
void vgb_av_unopenable_text(char *out, size_t len, const vgb_av_receipt *r);

/* ---- an alert's life, replayed from its leaves (audit_life.c) ------------------------ */

/* One recipients row, as far as the leaves applied so far say. */
typedef struct vgb_av_row {
    char agency[VG_AGENCY_ID_MAX + 1]; /* the recipient */
    bool required;                     /* as stored (the per-alert pass checks it) */
    bool shared;                       /* stored with a shared_by */
    bool present;                      /* a leaf added it: the accepted leaf, or its share */
    uint64_t added_leaf;               /* that leaf */
    char sharer[VG_AGENCY_ID_MAX + 1]; /* its share leaf's sharer ("" for original rows) */
    vgb_rstate state;                  /* its state */
    uint32_t esc_level;                /* 0 on time; 1 overdue; 1 + i step i */
    bool progress_used;                /* IN_PROGRESS extended the deadline */
    bool delivered;                    /* a delivered leaf recorded its delivery */
    uint64_t delivered_leaf;           /* that leaf */
    int64_t delivered_leaf_ms;         /* its time */
    uint64_t last_leaf;                /* the last leaf applied to it */
    bool stepped;                      /* an overdue or escalated leaf was written for it */
    uint64_t first_step_leaf;          /* the first */
    int64_t first_step_ms;             /* its time */
    /* the per-alert pass's: indexes into its receipts (-1 none) */
    int last_person;             /* the last receipt applied (state_ms) */
    int ack;                     /* the acknowledgement (acked_ms) */
    int officer_from, note_from; /* the last receipt with an officer, with a note */
    int reason_from;             /* the last with a reason (or an unopenable one) */
} vgb_av_row;

typedef struct vgb_av_life {
    uint64_t seq;                      /* the alert */
    uint8_t id[VG_ALERT_ID_LEN];       /* its id */
    char sender[VG_AGENCY_ID_MAX + 1]; /* its sender */
    vgb_av_row *rows;                  /* its stored recipients rows */
    size_t n, cap;                     /* count, allocated */
    bool accepted;                     /* its accepted leaf was applied */
    bool complete;                     /* an acknowledgement completed it */
    uint64_t complete_leaf;            /* that one */
    uint64_t upto;                     /* leaves before this index are applied */
} vgb_av_life;

/* What applying one leaf did. */
typedef struct vgb_av_effect {
    vgb_av_row *row;   /* the row the leaf is about, or NULL (none, or not stored) */
    vgb_rstate before; /* its state before */
    bool completes;    /* an acknowledgement that completed the alert */
} vgb_av_effect;

/* An empty life of alert seq; then its stored rows, none present yet: all
 * of them (vgb_av_life_load: recipients_of), or one at a time
 * (vgb_av_life_add: VG_ERR_NOMEM). */
void vgb_av_life_init(vgb_av_life *l, uint64_t seq, const uint8_t id[VG_ALERT_ID_LEN],
                      const char *sender);
vg_err vgb_av_life_add(vgb_av_life *l, const vgb_rrow *r) VG_MUST_USE;
vg_err vgb_av_life_load(vgb_av_life *l, vgb_store *store, uint64_t seq,
                        const uint8_t id[VG_ALERT_ID_LEN], const char *sender) VG_MUST_USE;
vgb_av_row *vgb_av_life_row(vgb_av_life *l, const char *agency);
/* Applies leaf ev (index idx, which names the alert) as the broker's
 * handlers changed the rows for it. */
void vgb_av_life_apply(vgb_av_life *l, const vg_audit_event *ev, vgb_av_effect *eff);
/* Applies the alert's leaves (through the index) before index `upto`. */
vg_err vgb_av_life_replay(vgb_av_check *c, vgb_av_life *l, uint64_t upto) VG_MUST_USE;
void vgb_av_life_fini(vgb_av_life *l);

/* The document the envelope e was sealed under is stored (a fault naming
 * network_documents otherwise), and the stored rows' `required` (the
 * original rows': a shared row is always required) is the policy of a
 * stored document of that version or later (the broker takes envelopes
 * sealed under an older document it holds, and applies the policy in
 * force). VG_OK, or a fault naming the row (name: "alert=ID") and leaf. */
vg_err vgb_av_check_required(vgb_av_check *c, const vgb_av_envelope *e, const vgb_av_life *l,
                             const char *name, uint64_t leaf) VG_MUST_USE;

/* Whether leaf ev names alert id (its alert, or one of its alerts; a
 * linked leaf names only its new alert: the index links it to that one). */
bool vgb_av_names(const vg_audit_event *ev, const uint8_t id[VG_ALERT_ID_LEN]);

/* ---- every agency's event stream (audit_stream.c) ------------------------------------ */

/* An event a fact wrote (record.c), and who heard it (streams.c): the
 * alert's sender and recipients then, oversight, the agency it is about,
 * an escalation's contact or role; or everyone. */
typedef struct vgb_av_event {
    int64_t kind;                   /* wire EventKind */
    uint64_t alert_seq;             /* 0 none */
    size_t aud, n_aud;              /* the alert's sender and recipients then: aud[aud ..] */
    const char *about;              /* "" none */
    const char *detail;             /* "" none (oversight sees "" for names and notes it may not) */
    int64_t count, level;           /* as written */
    const uint8_t *receipt;         /* the forwarded signed receipt, or NULL */
    size_t receipt_len;             /* its length */
    bool everyone;                  /* every agency hears it */
    const char *extra_agency;       /* also told, or NULL */
    const char *extra_role;         /* also told (every agency with the role), or NULL */
    const vg_audit_event *notified; /* a notified leaf: its detail names the address the
                                       leaf holds a hash of (record.c vgb_record_notified);
                                       oversight without officers' names sees it without */
} vgb_av_event;

typedef struct vgb_av_streams vgb_av_streams;

/* The streams of every agency any stored document names, the first
 * document in force. Free with vgb_av_streams_destroy. */
vg_err vgb_av_streams_new(vgb_av_streams **out, vgb_av_check *c) VG_MUST_USE;
void vgb_av_streams_destroy(vgb_av_streams **ps_p);

/* Leaf ev's events against the next events of every stream that heard
 * them, under the document in force; when they do not match, under a
 * later document (one a broker was started on writes no leaf: it is found
 * where the events need it, and stays in force). VG_OK (consumed);
 * VG_ERR_CONFLICT (a fault naming the stream, the event and the leaf). */
vg_err vgb_av_streams_send(vgb_av_streams *ps, const vgb_av_event *events, size_t n_events,
                           const char (*aud)[VG_AGENCY_ID_MAX + 1],
                           const vg_audit_event *ev) VG_MUST_USE;

/* A network_changed leaf's document is in force from the next leaf on. */
void vgb_av_streams_switch(vgb_av_streams *ps, uint64_t version);

/* After the last leaf: no stream holds more; adds the events and rows
 * accounted for to the check's totals. */
vg_err vgb_av_streams_finish(vgb_av_streams *ps) VG_MUST_USE;

/* ---- the passes ----------------------------------------------------------------------- */

/* Per alert, in seq order (audit_alerts.c). */
vg_err vgb_av_check_alerts(vgb_av_check *c) VG_MUST_USE;

struct vgb_av_retain; /* below: what retention says of an alert */

/* Alert seq's link_tags rows against the tags of its signed envelope e
 * (each row one of them, each of them a row), then its linked leaf (one
 * of its leaves, the n_leaves of `leaves`) against the earlier alerts the
 * index links it to (audit_tags.c). Run in seq order: the earlier alerts'
 * rows are checked already. A fault names link_tags, the row ("alert=ID
 * tag=HEX", name is "alert=ID") and the accepted leaf. Retention (ret, the
 * alert's purged leaves): with its content purged its rows cannot be held
 * to the signed tags, only to the links the log recorded; with its tags
 * purged it has no rows; a linked leaf naming an alert whose tags were
 * purged since is history, not a fault. */
vg_err vgb_av_check_tags(vgb_av_check *c, uint64_t seq, const vgb_av_envelope *e, const char *name,
                         const uint64_t *leaves, size_t n_leaves,
                         const struct vgb_av_retain *ret) VG_MUST_USE;

/* The leaves in order (audit_stream.c). */
vg_err vgb_av_check_leaves(vgb_av_check *c) VG_MUST_USE;

/* ---- retention (audit_retain.c) --------------------------------------------------------
 * A purged alert's envelope and shares' bytes are empty: its purged leaf
 * stands in for them (it names the envelope hash, which the accepted leaf
 * and the alerts row still hold). An empty envelope without one is
 * missing, a fault; so is content still stored after its purged leaf. */

/* What one alert's purged, held and released leaves say. */
typedef struct vgb_av_retain {
    uint64_t content_leaf;          /* the purged leaf that took its content, or NO_INDEX */
    uint64_t tags_leaf;             /* ... its link tags, or NO_INDEX */
    uint64_t content_ms, tags_ms;   /* their times */
    uint64_t hold_leaf;             /* its last held or released leaf, or NO_INDEX */
    uint64_t hold_ms;               /* that leaf's time */
    bool held;                      /* that leaf is a held one */
    uint8_t hold_hash[VG_HASH_LEN]; /* its hold_hash */
} vgb_av_retain;

void vgb_av_retain_init(vgb_av_retain *r);

/* A purged, held or released leaf of the alert (name: "alert=<hex>";
 * env_hash: its envelope_hash column). VG_ERR_CONFLICT: a fault. */
vg_err vgb_av_retain_leaf(vgb_av_check *c, vgb_av_retain *r, const char *name,
                          const uint8_t env_hash[VG_HASH_LEN],
                          const vg_audit_event *ev) VG_MUST_USE;

/* After the alert's leaves: its envelope column (empty or not), its
 * purges row and its legal_holds row against what they say; counts it. */
vg_err vgb_av_retain_check(vgb_av_check *c, const vgb_av_retain *r, const vgb_alert_full *a,
                           const char *name) VG_MUST_USE;

/* For an alert whose envelope column is empty: a stand-in envelope from
 * its columns (its recipients come from its accepted leaf), so that the
 * checks that compare them with the leaves still run. VG_ERR_NOMEM. */
vg_err vgb_av_retain_stand_in(vgb_av_envelope *e, const vgb_alert_full *a) VG_MUST_USE;

/* After every alert: the purges and legal_holds tables hold no row the
 * leaves do not account for. */
vg_err vgb_av_retain_counts(vgb_av_check *c) VG_MUST_USE;

/* The first leaf that names alert seq (id) but that the alert -> leaf index
 * does not give it: a fault naming the table that lost the link; VG_OK
 * when there is none (audit_state.c). One pass over the leaves: only on
 * the way to another fault. */
vg_err vgb_av_find_unlinked(vgb_av_check *c, uint64_t seq,
                            const uint8_t id[VG_ALERT_ID_LEN]) VG_MUST_USE;

#endif
