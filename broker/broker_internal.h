/*
 * broker_internal.h — the broker's state, shared by broker.c (loop, batch,
 * frame handlers), delivery.c (windows, redelivery) and tracker.c
 * (acknowledgements, deadlines, escalation, shares, events, queries). Not a
 * contract for anything outside broker/; the generated wire types are used
 * freely here.
 */
#ifndef VIGIL_BROKER_BROKER_INTERNAL_H
#define VIGIL_BROKER_BROKER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "broker.h"
#include "audit.h"
#include "conns.h"
#include "netdocs.h"
#include "query.h"
#include "quota.h"
#include "reader.h"
#include "store.h"
#include "verifier.h"
#include "vigil.pb-c.h"
#include "vigil/envelope.h"
#include "vigil/keys.h"
#include "vigil/receipt.h"
#include "vigil/netdoc.h"
#include "zap.h"

#define VGB_RID_MAX 256 /* ZeroMQ routing ids are at most 255 bytes */
#define VGB_BACKLOG 128 /* connections the kernel queues before the broker accepts them */

typedef struct vgb_inflight {
    uint64_t seq;     /* alert sent and not yet receipted */
    int64_t due_mono; /* when to send it again */
    uint32_t attempt; /* sends so far (for backoff) */
} vgb_inflight;

#define VGB_SUBSCRIBERS_MAX 8 /* event-stream connections per agency */
#define VGB_PARK_AFTER_SENDS 2 /* sends without a receipt before a delivery leaves the window */
#define VGB_FULL_RETRY_MS 20   /* a delivery whose connection's queue was full: next try */

/* A connection that asked for the agency's event stream (Hello.console). */
typedef struct vgb_subscriber {
    uint8_t rid[VGB_RID_MAX]; /* routing id */
    size_t rid_len;           /* 0 = free slot */
    int64_t last_seen_mono;   /* keepalive */
} vgb_subscriber;

/* One agency of the network document and its receiving connection. */
typedef struct vgb_agency {
    const char *id;                           /* borrowed from the network document */
    uint8_t rid[VGB_RID_MAX];                 /* routing id of the receiving connection */
    size_t rid_len;                           /* 0 = no receiving connection */
    int64_t last_seen_mono;                   /* last frame from that connection */
    vgb_inflight *inflight;                   /* cfg->inflight slots */
    size_t n_inflight;                        /* used slots */
    bool dirty;                               /* the store may hold work not in the window */
    int64_t wake_mono;                        /* a parked delivery is due then (INT64_MAX) */
    vgb_subscriber subs[VGB_SUBSCRIBERS_MAX]; /* event-stream connections */
    int64_t away_since_mono;                  /* no receiving connection since (for the alarm) */
    bool alarmed;                             /* an AGENCY_OFFLINE alarm is raised */
    uint64_t ev_seq;                          /* its stream's last event number */
    uint64_t ev_seq_committed;                /* ... as of the last commit */
    long ev_run;                              /* its open run in this batch, or -1 */
} vgb_agency;

/* A deadline or escalation step to act on. Entries are never removed when
 * a receipt makes them moot: on firing, the row is read again and an entry
 * whose (deadline, level) no longer match it is dropped (so an entry that is
 * there twice also acts once). The heap holds only the rows whose deadline
 * is at most the watermark; the others wait in the store (tracker.c). */
typedef struct vgb_timer {
    int64_t due_mono;    /* when, on the monotonic clock */
    uint64_t seq;        /* alert */
    uint32_t agency;     /* index into agencies */
    uint32_t level;      /* the row's esc_level when scheduled */
    int64_t deadline_ms; /* the row's deadline when scheduled */
} vgb_timer;

/* An event waiting for the batch's commit, then for its subscribers. */
typedef struct vgb_pending_event {
    size_t agency;  /* whose stream */
    uint8_t *frame; /* packed BrokerFrame */
    size_t len;     /* its length */
} vgb_pending_event;

/* Consecutive events of one agency's stream from this batch that differ
 * only in their alert, written as one row before the commit
 * (vgb_store_insert_events). */
typedef struct vgb_event_run {
    size_t agency;       /* whose stream */
    vgb_event_row first; /* its about, detail and receipt are owned copies */
    uint64_t *more;      /* the alerts of the events after the first */
    size_t n_more, cap_more;
} vgb_event_run;

/* What an event needs about its alert, kept for recent alerts (a slot per
 * seq modulo VGB_HINTS) so that each event does not read the store again. */
#define VGB_HINTS 4096
typedef struct vgb_alert_hint {
    uint64_t seq;                /* 0: empty */
    uint8_t id[VG_ALERT_ID_LEN]; /* alert id */
    char sender[64];             /* sender agency */
    int severity;                /* wire Severity */
    uint64_t audience;           /* bit i: agency i sent or receives it */
} vgb_alert_hint;

/* The Deliver frame of a recent alert, packed once at acceptance (a slot
 * per seq modulo VGB_FRAMES): most deliveries are sent from here instead of
 * reading the envelope back from the store. Not used for an alert with
 * share records (they are per recipient). */
#define VGB_FRAMES 1024
typedef struct vgb_frame_slot {
    uint64_t seq;   /* 0: empty */
    uint8_t *frame; /* packed BrokerFrame{Deliver} */
    size_t len;     /* its length */
} vgb_frame_slot;

/* One message of a poll batch, between its receipt and its handling. */
typedef struct vgb_inmsg {
    zmq_msg_t rid, payload; /* routing id and the frame */
    bool ok;                /* well-formed and authenticated */
    bool extra;             /* came with more than one frame */
    const char *user;       /* ZAP User-Id (in payload's metadata) */
    Vigil__ClientFrame *cf; /* unpacked, or NULL */
    vgb_verify_job *job;    /* its envelope's check, or NULL */
} vgb_inmsg;

/* Messages taken from the socket together, and their envelopes' checks. */
typedef struct vgb_batch {
    vgb_inmsg *in;        /* cfg->batch slots */
    vgb_verify_job *jobs; /* cfg->batch slots */
    size_t n, n_jobs;     /* used */
} vgb_batch;

/* A reply waiting for the batch's commit. */
typedef struct vgb_reply {
    uint8_t rid[VGB_RID_MAX];          /* to whom */
    size_t rid_len;                    /* routing id length */
    uint8_t *frame;                    /* packed BrokerFrame, malloc'ed */
    size_t len;                        /* its length */
    bool needs_commit;                 /* ACCEPTED/DUPLICATE: void if the commit fails */
    uint64_t request_id;               /* to answer again if the commit fails */
    uint8_t alert_id[VG_ALERT_ID_LEN]; /* the confirm's alert (needs_commit only) */
} vgb_reply;

/* Work to apply only once the batch's commit returned. */
typedef struct vgb_after {
    size_t agency; /* index into agencies */
    uint64_t seq;  /* 0: mark dirty; else: receipted, leave the window */
} vgb_after;

struct vgb_broker {
    const vg_broker_config *cfg; /* borrowed */
    const vg_clock *clock;       /* borrowed */
    vg_keyset *keys;             /* broker sign + curve keys */
    vg_netdoc *doc;              /* current network document */
    vgb_netdocs *netdocs;        /* the documents an envelope may be sealed under */
    vgb_store *store;            /* durable state */
    void *ctx;                   /* ZeroMQ context */
    void *router;                /* the ROUTER clients connect to */
    vgb_zap *zap;                /* authentication */
    char endpoint[256];          /* bound endpoint */
    vgb_agency *agencies;        /* one per agency in doc */
    size_t n_agencies;           /* count */
    vgb_reply *replies;          /* this batch's replies */
    size_t n_replies, cap_replies;
    vgb_after *after; /* this batch's post-commit work */
    size_t n_after, cap_after;
    vgb_timer *timers; /* min-heap on due_mono */
    size_t n_timers, cap_timers;
    int64_t timers_wm_ms;      /* watermark: open rows with deadline_ms <= it are in the heap */
    int64_t timers_wm_mono;    /* when the wall clock reaches it (INT64_MAX: never) */
    size_t timers_trim_at;     /* a heap this big is trimmed */
    int64_t timers_retry_mono; /* a refill failed: not again before this */
    vgb_pending_event *events; /* this batch's events, for subscribers */
    size_t n_events, cap_events;
    vgb_event_run *runs; /* this batch's events, for the store */
    size_t n_runs, cap_runs;
    vgb_alert_hint *hints;         /* VGB_HINTS slots; NULL when more than 64 agencies */
    vgb_batch batches[2];          /* messages taken from the socket, two so that one is
                                      checked (verifier) while the other is handled */
    int pending;                   /* the batch whose checks were started, or -1 */
    vgb_verifier *verifier;        /* the second thread for those, or NULL */
    vgb_frame_slot *frames;        /* VGB_FRAMES slots, or NULL */
    int64_t next_alarm_check_mono; /* offline alarms are checked once a second */
    vgb_audit *audit;              /* the Merkle log, in the store's transactions */
    bool batch_failed;             /* a leaf could not be written: roll the batch back */
    char *cp_note;                 /* latest committed checkpoint (signed note) */
    uint64_t cp_size;              /* its tree size */
    int64_t cp_mono;               /* when it was signed */
    char *cp_pending;              /* signed in this batch, published after the commit */
    uint64_t cp_pending_size;      /* its tree size */
    bool disk_full;                /* publishes refused; receipts run on the reserve */
    int64_t next_space_check_mono; /* while full, free space is looked at once a second */
    int hw_fd;                     /* store/highwater: the log size last committed */
    uint64_t hw_size;              /* what it says */
    vgb_reader *reader;            /* queries, answered on a thread of their own */
    vgb_conns *conns;              /* connections per agency and what they are sent */
    vgb_quota *quota;              /* what each agency may publish */
    vgb_send_fn send_fn;           /* tests: where frames go instead of the ROUTER, or NULL */
    void *send_ctx;                /* its context */
};

/* One received frame and who sent it. */
typedef struct vgb_from {
    uint8_t rid[VGB_RID_MAX]; /* routing id (for replies only) */
    size_t rid_len;           /* its length */
    const char *agency;       /* ZAP User-Id: the authenticated sender */
    int agency_idx;           /* index into agencies, or -1 */
    uint64_t request_id;      /* echoed in the reply */
    const char *claimed;      /* the sender an envelope claims (for the audit), or NULL */
    int fd;                   /* the socket it came on (ZMQ_SRCFD), -1 when unknown */
} vgb_from;

/* Index of agency id in b->agencies, or -1. */
int vgb_agency_index(const vgb_broker *b, const char *id);

/* Sends a packed frame to a routing id without blocking. VG_ERR_NOT_FOUND
 * when the peer is gone, VG_ERR_TIMEOUT when its queue is full. */
vg_err vgb_send(vgb_broker *b, const uint8_t *rid, size_t rid_len, const uint8_t *frame,
                size_t len) VG_MUST_USE;

/* broker.c: replies and post-commit work of the current batch. */
/* Queues a packed reply (sent after the commit); needs_commit replies are
 * dropped if the commit fails. */
void vgb_reply_queue(vgb_broker *b, const vgb_from *from, Vigil__BrokerFrame *f, bool needs_commit);
/* A Confirm: status is the wire ConfirmStatus, code the RejectCode. */
void vgb_reply_confirm(vgb_broker *b, const vgb_from *from, const uint8_t *alert_id,
                       Vigil__ConfirmStatus status, Vigil__RejectCode code, const char *reason,
                       const vg_strlist *missing);
/* A rejection: confirm, one log line (msg id `what`) and a stored record. */
void vgb_reply_reject(vgb_broker *b, const vgb_from *from, const uint8_t *alert_id, vg_err err,
                      const char *reason, const vg_strlist *missing, const char *what);
/* An ErrorReply with a RejectCode. */
void vgb_reply_error(vgb_broker *b, const vgb_from *from, Vigil__RejectCode code,
                     const char *reason);
/* Work for after the commit: seq 0 marks the agency's queue dirty, else
 * leaves seq's delivery window. */
void vgb_after_add(vgb_broker *b, size_t agency, uint64_t seq);
/* Makes sure the batch transaction is open. */
bool vgb_txn(vgb_broker *b);
/* VG_ERR_CLOCK_SKEW (why naming `what`: "envelope", "receipt", "share")
 * when created_ms is further from the broker's clock than max_clock_skew. */
vg_err vgb_check_skew(const vgb_broker *b, int64_t created_ms, const char *what,
                      vg_reason *why) VG_MUST_USE;

/* ledger.c: the audit log's side of every event */
/* Opens the log over the store (creating its tables). */
vg_err vgb_ledger_open(vgb_broker *b, vg_reason *why) VG_MUST_USE;
void vgb_ledger_close(vgb_broker *b);
/* Appends ev as a leaf (linked to alert seq when not 0) in the batch
 * transaction; a failure marks the batch failed (it is rolled back). */
void vgb_ledger_append(vgb_broker *b, uint64_t seq, vg_audit_event *ev);
/* The same for a leaf about several alerts (linked to each of seqs); its
 * index in *idx_out when not NULL. An error has failed the batch. */
vg_err vgb_ledger_append_alerts(vgb_broker *b, const uint64_t *seqs, size_t n_seqs,
                                vg_audit_event *ev, uint64_t *idx_out);
/* Links alerts seqs to leaf idx (for proofs by alert id). */
vg_err vgb_ledger_link(vgb_broker *b, const uint64_t *seqs, size_t n_seqs, uint64_t idx);
/* Signs a checkpoint when due (every cfg leaves or interval). */
void vgb_ledger_service(vgb_broker *b);
/* After the batch: publishes (committed) or forgets the pending checkpoint. */
void vgb_ledger_after_commit(vgb_broker *b, bool committed);
/* Milliseconds until a checkpoint is due (the log grew), or -1 when none is. */
long vgb_ledger_next_ms(vgb_broker *b);
/* Current tree size (0 when unknown). */
uint64_t vgb_ledger_size(vgb_broker *b);

/* space.c: a full disk refuses publishes, not receipts */
/* Takes the reserve at start (best effort). */
void vgb_space_start(vgb_broker *b);
/* A commit failed with rc: on VG_ERR_STORAGE_FULL, releases the reserve and
 * refuses publishes from now on. */
void vgb_space_commit_failed(vgb_broker *b, vg_err rc);
/* While full: when there is room again, takes the reserve back and resumes. */
void vgb_space_check(vgb_broker *b);

/* delivery.c */
/* Makes rid the agency's receiving connection: everything unreceipted is sent again. */
void vgb_delivery_attach(vgb_broker *b, vgb_agency *a, const uint8_t *rid, size_t rid_len);
/* Forgets the receiving connection (gone or replaced). */
void vgb_delivery_detach(vgb_broker *b, vgb_agency *a, const char *why);
/* A DELIVERED receipt for seq was committed. */
void vgb_delivery_receipted(vgb_agency *a, uint64_t seq);
/* Keeps alert seq's Deliver frame (just accepted: no shares) for sending. */
void vgb_delivery_remember(vgb_broker *b, uint64_t seq, const uint8_t *env, size_t len);
/* Forgets seq's frame (it got a share record), or every frame (seq 0: the
 * batch was rolled back, its seqs are free again). */
void vgb_delivery_forget(vgb_broker *b, uint64_t seq);
/* Frees the frames (at stop). */
void vgb_delivery_fini(vgb_broker *b);
/* Sends what is due (new work within the window, redeliveries) and returns
 * the poll timeout in ms until the next timer. */
long vgb_delivery_service(vgb_broker *b);
/* Sends alert seq to the agency's connection now, with the share records it
 * needs (an escalation step "redeliver"), outside the window's accounting. */
void vgb_delivery_redeliver(vgb_broker *b, vgb_agency *a, uint64_t seq);

/* tracker.c */
/* Loads the first cfg->timers deadline and escalation timers from the
 * store (at start); vgb_track_service loads the rest as they come due. */
vg_err vgb_track_start(vgb_broker *b) VG_MUST_USE;
void vgb_track_fini(vgb_broker *b);
/* The acknowledgement deadline (wall clock) of an alert accepted now. */
int64_t vgb_track_deadline(vgb_broker *b, const vg_envelope *env);
/* A new alert, stored with deadline for its required recipients: their
 * timers, its audit leaf and event. */
vg_err vgb_track_accepted(vgb_broker *b, uint64_t seq, const vg_envelope *env,
                          const vg_strlist *required, int64_t deadline) VG_MUST_USE;
/* A DELIVERED receipt changed the state of (seq, agency). */
void vgb_track_delivered(vgb_broker *b, uint64_t seq, const char *agency);
/* ACKNOWLEDGED / IN_PROGRESS / DECLINED / UNOPENABLE receipts: verified already. */
void vgb_track_receipt(vgb_broker *b, const vgb_from *from, const vg_receipt *r);

/* SubmitShare. */
void vgb_track_share(vgb_broker *b, const vgb_from *from, const ProtobufCBinaryData *bytes);
/* Hello with console = true: subscribe rid to the agency's events. */
void vgb_track_subscribe(vgb_broker *b, const vgb_from *from);
/* A frame arrived from rid: keeps its subscription alive. */
void vgb_track_seen(vgb_broker *b, const vgb_from *from);
/* The agency got or lost its receiving connection. */
void vgb_track_presence(vgb_broker *b, vgb_agency *a, bool online);
/* Loads timers from the store when the heap runs short, fires due timers
 * and alarms (in a transaction of their own); returns ms to the next timer. */
long vgb_track_service(vgb_broker *b);
/* Before the commit: writes the batch's events to the store. */
vg_err vgb_track_write_events(vgb_broker *b) VG_MUST_USE;
/* After the batch: sends its events (committed) or drops them. */
void vgb_track_flush_events(vgb_broker *b, bool committed);

#endif
