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

#include "broker.h"
#include "audit.h"
#include "checkpointer.h"
#include "store.h"
#include "vigil.pb-c.h"
#include "vigil/envelope.h"
#include "vigil/keys.h"
#include "vigil/receipt.h"
#include "vigil/netdoc.h"
#include "zap.h"

#define VGB_RID_MAX 256 /* ZeroMQ routing ids are at most 255 bytes */

typedef struct vgb_inflight {
    uint64_t seq;     /* alert sent and not yet receipted */
    int64_t due_mono; /* when to send it again */
    uint32_t attempt; /* sends so far (for backoff) */
} vgb_inflight;

#define VGB_SUBSCRIBERS_MAX 8 /* event-stream connections per agency */

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
    uint64_t cursor;                          /* highest seq sent on this connection */
    bool dirty;                               /* the store may hold work beyond cursor */
    vgb_subscriber subs[VGB_SUBSCRIBERS_MAX]; /* event-stream connections */
    int64_t away_since_mono;                  /* no receiving connection since (for the alarm) */
    bool alarmed;                             /* an AGENCY_OFFLINE alarm is raised */
} vgb_agency;

/* A deadline or escalation step to act on. Entries are never removed when
 * a receipt makes them moot: on firing, the row is read again and an entry
 * whose (deadline, level) no longer match it is dropped. */
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
    vgb_pending_event *events; /* this batch's events */
    size_t n_events, cap_events;
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
    vgb_ckpt *ckpt;                /* WAL checkpoints, off the loop */
};

/* One received frame and who sent it. */
typedef struct vgb_from {
    uint8_t rid[VGB_RID_MAX]; /* routing id (for replies only) */
    size_t rid_len;           /* its length */
    const char *agency;       /* ZAP User-Id: the authenticated sender */
    int agency_idx;           /* index into agencies, or -1 */
    uint64_t request_id;      /* echoed in the reply */
    const char *claimed;      /* the sender an envelope claims (for the audit), or NULL */
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

/* ledger.c: the audit log's side of every event */
/* Opens the log over the store (creating its tables). */
vg_err vgb_ledger_open(vgb_broker *b, vg_reason *why) VG_MUST_USE;
void vgb_ledger_close(vgb_broker *b);
/* Appends ev as a leaf (linked to alert seq when not 0) in the batch
 * transaction; a failure marks the batch failed (it is rolled back). */
void vgb_ledger_append(vgb_broker *b, uint64_t seq, vg_audit_event *ev);
/* Signs a checkpoint when due (every cfg leaves or interval). */
void vgb_ledger_service(vgb_broker *b);
/* After the batch: publishes (committed) or forgets the pending checkpoint. */
void vgb_ledger_after_commit(vgb_broker *b, bool committed);
/* Milliseconds until a checkpoint is due (the log grew), or -1 when none is. */
long vgb_ledger_next_ms(vgb_broker *b);
/* Current tree size (0 when unknown). */
uint64_t vgb_ledger_size(vgb_broker *b);
/* Answers QUERY_CHECKPOINT, QUERY_INCLUSION and QUERY_CONSISTENCY. */
void vgb_ledger_query(vgb_broker *b, const vgb_from *from, const Vigil__Query *q);

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
/* Sends what is due (new work within the window, redeliveries) and returns
 * the poll timeout in ms until the next timer. */
long vgb_delivery_service(vgb_broker *b);

/* tracker.c */
/* Rebuilds deadline and escalation timers from the store (at start). */
vg_err vgb_track_start(vgb_broker *b) VG_MUST_USE;
void vgb_track_fini(vgb_broker *b);
/* A new alert: deadlines for its required recipients, timers, event. */
vg_err vgb_track_accepted(vgb_broker *b, uint64_t seq, const vg_envelope *env) VG_MUST_USE;
/* A DELIVERED receipt changed the state of (seq, agency). */
void vgb_track_delivered(vgb_broker *b, uint64_t seq, const char *agency);
/* ACKNOWLEDGED / IN_PROGRESS / DECLINED receipts: verified already. */
void vgb_track_receipt(vgb_broker *b, const vgb_from *from, const vg_receipt *r);
/* SubmitShare. */
void vgb_track_share(vgb_broker *b, const vgb_from *from, const ProtobufCBinaryData *bytes);
/* Query. */
void vgb_track_query(vgb_broker *b, const vgb_from *from, const Vigil__Query *q);
/* Hello with console = true: subscribe rid to the agency's events. */
void vgb_track_subscribe(vgb_broker *b, const vgb_from *from);
/* A frame arrived from rid: keeps its subscription alive. */
void vgb_track_seen(vgb_broker *b, const vgb_from *from);
/* The agency got or lost its receiving connection. */
void vgb_track_presence(vgb_broker *b, vgb_agency *a, bool online);
/* Fires due timers and alarms (in a transaction of their own); returns ms
 * to the next timer. */
long vgb_track_service(vgb_broker *b);
/* After the batch: sends its events (committed) or drops them. */
void vgb_track_flush_events(vgb_broker *b, bool committed);

#endif
