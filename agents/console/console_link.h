/*
 * console_link.h — keeps a console model in step with the broker through
 * the agent library, and carries out the officer's actions.
 *
 * Sync: the first vga_outstanding snapshot (exact as of last_event_seq)
 * starts the state; then every event of the agency's stream is fed to the
 * model in order (vga_next_event). A gap in seq or a reconnect brings a
 * fresh snapshot plus vga_events_since(last_seq); an event the model cannot
 * apply alone (a new alert, a share, a new deadline, a note) brings
 * vga_status of that alert only. A gap or an
 * unanswered probe turns the header STALE at once; VGC_SILENCE_MS without a
 * word from the broker turns it NO DATA.
 *
 * Liveness: the library does not say when the broker last spoke, so every
 * VGC_PROBE_MS the link asks vga_events_since(last_seq) — cheap (usually no
 * events) and a consistency check too: whatever it returns that the stream
 * did not is fed in order. Out of touch it asks every VGC_RETRY_MS with a
 * short timeout; each probe blocks the caller for at most that timeout.
 *
 * Owns nothing: the agent and the model are the caller's. Never writes
 * output. Thread rules: the thread that owns the agent.
 */
#ifndef VIGIL_AGENTS_CONSOLE_LINK_H
#define VIGIL_AGENTS_CONSOLE_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "console_model.h"
#include "vigil/agent.h"
#include "vigil/clock.h"

#define VGC_PROBE_MS 5000            /* liveness probe interval while LIVE */
#define VGC_RETRY_MS 1000            /* probe interval while not LIVE */
#define VGC_PROBE_TIMEOUT_MS 2500    /* a LIVE probe's wait for the broker */
#define VGC_RETRY_TIMEOUT_MS 1000    /* an out-of-touch probe's wait */
#define VGC_SNAPSHOT_TIMEOUT_MS 3000 /* a snapshot's wait */
#define VGC_RESYNC_MIN_MS 1000       /* snapshots asked for by the model at most this often */
#define VGC_ACTION_TIMEOUT_MS 5000   /* an ack/decline/share's wait for the confirm */
#define VGC_TEXT_MAX 512             /* officer, note, reason texts */

/* What the officer asked for. */
typedef enum vgc_action_kind {
    VGC_ACT_NONE = 0,
    VGC_ACT_ACK = 1,      /* acknowledge: officer (required) and note */
    VGC_ACT_PROGRESS = 2, /* in progress: reason */
    VGC_ACT_DECLINE = 3,  /* decline: reason */
    VGC_ACT_SHARE = 4,    /* share with agency: reason */
    VGC_ACT_REFRESH = 5,  /* refetch the snapshot now */
} vgc_action_kind;

typedef struct vgc_action {
    vgc_action_kind kind;        /* what */
    uint8_t id[VG_ALERT_ID_LEN]; /* which alert */
    char officer[VGC_TEXT_MAX];  /* ACK: who */
    char text[VGC_TEXT_MAX];     /* ACK: note; others: reason */
    char agency[VGC_ID_LEN];     /* SHARE: with whom */
} vgc_action;

typedef struct vgc_link {
    vga_agent *agent;          /* borrowed */
    vgc_model *model;          /* borrowed */
    const vg_clock *clock;     /* time */
    int64_t next_probe_mono;   /* when to probe next */
    int64_t last_resync_mono;  /* last snapshot */
    void (*notify)(void *ctx); /* called after each step that may change the model */
    void *notify_ctx;          /* passed to notify */
} vgc_link;

/* Borrows agent (opened with events = true) and model. */
void vgc_link_init(vgc_link *l, vga_agent *agent, vgc_model *model, const vg_clock *clock);

/* Serves the connection for up to wait_ms (less when something happens),
 * feeding events, refetching, probing and checking silence as due. */
void vgc_link_service(vgc_link *l, int64_t wait_ms);

/* Carries out an action through the agent library and waits for the
 * broker's confirm (VGC_ACTION_TIMEOUT_MS). msg says what happened, for
 * people ("acknowledged 3f2a9c1e as PC Smith", or why not). Returns VG_OK,
 * VG_ERR_INVALID (bad input: no officer, no reason, unknown agency),
 * VG_ERR_TIMEOUT, or the broker's or library's error. */
vg_err vgc_link_act(vgc_link *l, const vgc_action *act, char *msg, size_t msg_len) VG_MUST_USE;

#endif
