/*
 * agent_internal.h — what agent.c (connection, publish, receive) and
 * agent_track.c (acknowledgements, shares, status, events), agent_audit.c
 * and agent_handover.c (at-least-once hand-over) share. Internal
 * to libvigil-agent; the generated wire types are used freely here.
 */
#ifndef VIGIL_AGENTS_AGENT_INTERNAL_H
#define VIGIL_AGENTS_AGENT_INTERNAL_H

#include "agent_store.h"
#include "vigil.pb-c.h"
#include "vigil/agent.h"
#include "vigil/receipt.h"

/* Request ids with this bit are not publishes: their confirms never touch
 * the outbox (receipts, shares). */
#define VGA_REQ_NOT_OUTBOX (UINT64_C(1) << 62)

#define VGA_EVENT_RING 4096 /* events kept while nobody reads them */

/* Deliveries taken in one go are receipted by one DELIVERED receipt: one
 * signature and one check at the broker for the lot. */
#define VGA_DELIVERED_BATCH 256

struct vga_agent {
    vga_identity *id;                               /* config, keys, the document loaded at start */
    vg_netdoc *newer;                               /* a newer document from the broker, or NULL */
    const vg_clock *clock;                          /* injectable time */
    vga_store *store;                               /* outbox and inbox */
    void *ctx;                                      /* ZeroMQ context */
    void *sock;                                     /* DEALER to the broker */
    bool receive;                                   /* asks for deliveries */
    bool events;                                    /* subscribes to the event stream */
    char software[64];                              /* sent in Hello */
    uint64_t next_req;                              /* request ids */
    int64_t last_hello_mono;                        /* keepalive */
    int64_t last_resend_mono;                       /* last time the whole outbox was sent again */
    vga_event *ring;                                /* events not yet read (VGA_EVENT_RING slots) */
    size_t ring_head;                               /* oldest */
    size_t ring_n;                                  /* count */
    uint8_t audit_seen[VG_MERKLE_HASH_LEN];         /* hash of the last checkpoint note admitted */
    bool audit_seen_set;                            /* audit_seen is valid */
    uint64_t cosigned_size;                         /* largest checkpoint this process cosigned */
    bool cosign_withheld;                           /* a fork withheld it (logged once) */
    vg_receipt_item delivered[VGA_DELIVERED_BATCH]; /* received, receipt not sent yet */
    size_t n_delivered;                             /* count */
    bool handing_over;                              /* opened with opts.handover */
    vga_handover_policy handover;                   /* its policy */
    int handover_lock;                              /* fd locking <store>/handover.lock, or -1 */
    void *mon;                         /* the socket's monitor (agent_link.c), or NULL */
    unsigned link_key;                 /* which broker transport key (agent_link.c) */
    uint8_t link_pk[VG_CURVE_KEY_LEN]; /* the one the socket expects */
    unsigned link_own;                 /* which of our transport keys (agent_link.c) */
    unsigned link_fails;               /* failed handshakes in a row */
    unsigned link_refusals;            /* handshakes refused by ZAP in a row */
    bool link_shaken;                  /* the handshake succeeded since connecting */
    bool relink;                       /* a new socket is due (agent_link.c) */
    int64_t relink_at;                 /* from then (mono ms) */
    size_t link_ep;                    /* which of agent.conf's broker endpoints (agent_link.c) */
    unsigned link_retries;             /* TCP connects to it that failed in a row */
    int64_t link_moved_mono;           /* when the agent last moved to another endpoint */
    uint64_t n_relinks;                /* new sockets so far (a publish waiting matches by id) */
};

/* ---- the socket (agent_link.c) ---- */

/* Creates the context, the DEALER (expecting the broker transport key
 * link_key picks among those the document offers) and its monitor, and
 * connects. Errors: VG_ERR_IO, VG_ERR_CONFIG (a bad endpoint), with why. */
vg_err vga_link_open(vga_agent *a, vg_reason *why) VG_MUST_USE;

/* Closes the monitor, the socket and the context; NULL-safe parts. */
void vga_link_close(vga_agent *a);

/* Reads the monitor's events: sets relink (and moves link_key on) after
 * handshakes that failed with this key while the document offers another. */
void vga_link_watch(vga_agent *a);

/* The endpoint the socket connects to now (agent.conf's [broker] endpoint,
 * one of several: link_ep). Borrowed. */
const char *vga_link_endpoint(const vga_agent *a);

/* A broker answered REJECT_NOT_LEADER (a standby, docs/ha.md): with
 * several endpoints, sets relink to the leader it names when agent.conf
 * lists it, else to the next endpoint (not sooner than S_MOVE_MIN_MS after
 * the last move: during a takeover every broker may be a standby). */
void vga_link_not_leader(vga_agent *a, const char *leader);

/* Copies what a QueryResult carries into ctx (the frame is freed after);
 * false when it ran out of memory. */
typedef bool (*vga_result_fn)(void *ctx, const Vigil__QueryResult *r);

/* What incoming frames turned out to be, for the waiting caller. */
typedef struct vga_wait {
    uint64_t req;            /* the request id waited for, 0 = none */
    bool got;                /* its reply arrived */
    vga_confirm *res;        /* filled from a Confirm or ErrorReply */
    vg_alert *alert;         /* where a newly received alert goes, NULL = inbox only */
    vga_handover *handover;  /* hand-over mode: the attempt of *alert (handing_over) */
    bool got_alert;          /* an alert was returned in *alert */
    bool got_network;        /* a network document arrived */
    bool want_event;         /* stop when an event is queued */
    bool by_id;              /* a publish: a Confirm for res->alert_id after a relink is its
                                reply too (the outbox sent it again on the new socket) */
    uint64_t relinks_at;     /* n_relinks when the wait began */
    vg_err error;            /* an ErrorReply to req */
    char error_text[256];    /* its reason */
    vga_result_fn on_result; /* a QueryResult to req */
    void *result_ctx;        /* passed to on_result */
    bool result_failed;      /* on_result ran out of memory */
} vga_wait;

vg_err vga_conn_send(vga_agent *a, Vigil__ClientFrame *f) VG_MUST_USE;
uint64_t vga_conn_next_req(vga_agent *a);
/* Serves the socket until done(w) or timeout_ms passes (or a signal). */
void vga_conn_serve(vga_agent *a, int64_t timeout_ms, vga_wait *w, bool (*done)(const vga_wait *));
bool vga_done_reply(const vga_wait *w);
/* Done when a new alert was returned in w->alert. */
bool vga_done_alert(const vga_wait *w);
/* Waits for the Confirm to req; fills res; VG_ERR_TIMEOUT or res->code. */
vg_err vga_conn_wait_confirm(vga_agent *a, uint64_t req, int64_t timeout_ms, vga_confirm *res,
                             vg_reason *why) VG_MUST_USE;

/* Sends query q and waits up to timeout_ms for its QueryResult, which
 * on_result copies into ctx. The one way every query (status, snapshot,
 * events, audit) is asked: VG_OK; VG_ERR_TIMEOUT naming the broker;
 * the broker's ErrorReply code with its reason; VG_ERR_NOMEM when on_result
 * failed; a send error. */
vg_err vga_conn_query(vga_agent *a, Vigil__Query *q, int64_t timeout_ms, vga_result_fn on_result,
                      void *ctx, vg_reason *why) VG_MUST_USE;

/* Verifies and opens an inbox entry (through its share when it has one);
 * *env_out (may be NULL) receives the verified envelope. */
vg_err vga_inbox_open(vga_agent *a, const vga_inbox_entry *e, vg_alert *out, vg_envelope **env_out,
                      vg_reason *why) VG_MUST_USE;

/* Seals alert (its recipients set) as this agency, sequence seq, created
 * now, tagging its subjects and incidents under every link key the network
 * document seals to us (vigil/linktag.h). As vg_envelope_seal. */
vg_err vga_seal_tagged(vga_agent *a, const vg_alert *alert, uint64_t seq, int64_t now,
                       uint8_t **out, size_t *out_len, uint8_t id_out[VG_ALERT_ID_LEN],
                       vg_reason *why) VG_MUST_USE;

/* agent_relay.c: the recipients alert is sealed to: its own, and the
 * policy's mandatory agencies (added, never removable), and the out-of-hours
 * cover of those closed at at_ms (the envelope's created time: the broker
 * judges it at the same instant; vg_netdoc_cover). *out is set (the caller
 * frees it with vg_strlist_fini, also on error); VG_ERR_INVALID when there
 * are none. */
vg_err vga_recipients_at(vga_agent *a, const vg_alert *alert, int64_t at_ms, vg_strlist *out,
                         vg_reason *why) VG_MUST_USE;

/* agent_audit.c: a Confirm carried the broker's latest checkpoint note.
 * Verifies and keeps it without waiting (the proof comes at the next sync). */
void vga_audit_on_confirm(vga_agent *a, const uint8_t *note, size_t len);

/* agent_cosign.c: after a sync that found the held chain consistent
 * (status VG_OK), cosigns the latest checked checkpoint unless this process
 * did already, and sends it to the broker (logged agent audit.cosigned, or
 * WARN agent audit.cosign_refused with the broker's reason). After a sync
 * that found a fault (sync_rc VG_ERR_CONFLICT) it cosigns nothing, ever,
 * and says so once per process: WARN agent audit.cosign_withheld. */
void vga_audit_cosign_after_sync(vga_agent *a, vg_err sync_rc, const vg_reason *sync_why,
                                 int64_t timeout_ms);

/* agent_handover.c: takes the hand-over lock and recovers interrupted
 * hand-overs (vga_agent_open with opts.handover). */
vg_err vga_handover_open(vga_agent *a, const vga_handover_policy *p, vg_reason *why) VG_MUST_USE;

/* agent_handover.c: releases the lock; safe when it was never taken. */
void vga_handover_close(vga_agent *a);

/* agent_track.c: queues an event from the broker. */
void vga_events_push(vga_agent *a, const Vigil__Event *e);

#endif
