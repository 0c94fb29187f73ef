/*
 * broker_internal.h — the broker's state, shared by broker.c (loop, batch,
 * frame handlers) and delivery.c (windows, redelivery). Not a contract for
 * anything outside broker/.
 */
#ifndef VIGIL_BROKER_BROKER_INTERNAL_H
#define VIGIL_BROKER_BROKER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker.h"
#include "store.h"
#include "vigil/keys.h"
#include "vigil/netdoc.h"
#include "zap.h"

#define VGB_RID_MAX 256 /* ZeroMQ routing ids are at most 255 bytes */

typedef struct vgb_inflight {
    uint64_t seq;     /* alert sent and not yet receipted */
    int64_t due_mono; /* when to send it again */
    uint32_t attempt; /* sends so far (for backoff) */
} vgb_inflight;

/* One agency of the network document and its receiving connection. */
typedef struct vgb_agency {
    const char *id;           /* borrowed from the network document */
    uint8_t rid[VGB_RID_MAX]; /* routing id of the receiving connection */
    size_t rid_len;           /* 0 = no receiving connection */
    int64_t last_seen_mono;   /* last frame from that connection */
    vgb_inflight *inflight;   /* cfg->inflight slots */
    size_t n_inflight;        /* used slots */
    uint64_t cursor;          /* highest seq sent on this connection */
    bool dirty;               /* the store may hold work beyond cursor */
} vgb_agency;

/* A reply waiting for the batch's commit. */
typedef struct vgb_reply {
    uint8_t rid[VGB_RID_MAX]; /* to whom */
    size_t rid_len;           /* routing id length */
    uint8_t *frame;           /* packed BrokerFrame, malloc'ed */
    size_t len;               /* its length */
    bool needs_commit;        /* ACCEPTED/DUPLICATE: void if the commit fails */
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
};

/* Index of agency id in b->agencies, or -1. */
int vgb_agency_index(const vgb_broker *b, const char *id);

/* Sends a packed frame to a routing id without blocking. VG_ERR_NOT_FOUND
 * when the peer is gone, VG_ERR_TIMEOUT when its queue is full. */
vg_err vgb_send(vgb_broker *b, const uint8_t *rid, size_t rid_len, const uint8_t *frame,
                size_t len) VG_MUST_USE;

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

#endif
