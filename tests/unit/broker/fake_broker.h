/*
 * tests/unit/broker/fake_broker.h — the real broker, in-process, on a clock
 * the test moves: deadlines, escalation, retries, offline alarms, restarts
 * and clock jumps tested in milliseconds instead of sleeping through them.
 *
 * fb_new builds, in a temp directory, a network (vt.h keys, a document with
 * the production rules unless the test edits them: deadlines critical 15m,
 * high 1h, high/immediate 30m, medium 24h, low 72h; escalation redeliver at
 * +0, the late agency's escalation contact at +30m, every oversight agency
 * at +2h), the broker's key file, the signed document and broker.conf, and
 * starts vgb_broker_new with an injected vg_clock. Its agencies are police,
 * licensing, childrens-services, home-office (role government), education,
 * council (the escalation contact of licensing, childrens-services and
 * education: a council's teams escalate to its chief executive; police's is
 * home-office, home-office's and council's is oversight) and oversight
 * (role oversight), then any the test adds.
 *
 * Every frame the broker sends goes to the harness (vgb_broker_set_sender),
 * which keeps it, unpacked, on the connection it was sent to. A connection
 * (fb_connect) is a routing id of one agency that said Hello with the
 * receive and console flags an agent uses; a frame to a closed connection is
 * refused as VG_ERR_NOT_FOUND, as the ROUTER refuses one to a peer that left.
 *
 * Time: fb_advance moves the wall and monotonic clocks together, calling
 * vgb_broker_step at every moment the broker says something is due (as its
 * poll loop would wake), and sends each open connection's keepalive Hello
 * every VG_KEEPALIVE_MS, as agents do. fb_jump_wall steps the wall clock
 * alone (an NTP step). fb_stop destroys the broker (a clean stop), the
 * clocks may move while it is down, and fb_start makes a new one on the same
 * store: every open connection then reconnects with a fresh routing id and
 * says Hello again, as the agent library does.
 *
 * Queries are answered on the broker's query thread: fb_query steps the
 * broker (without moving the clocks) until its answer came, waiting at most
 * FB_ANSWER_WAIT_MS of real time.
 *
 * The broker's log goes to the harness (fb_log_count); VG_FB_LOG=1 also
 * prints it. Harness failures fail the running cmocka test. Thread rules:
 * one fb per process at a time (it installs the log sink), used from the
 * test's thread; the broker's own threads are its business.
 */
#ifndef VIGIL_TESTS_UNIT_BROKER_FAKE_BROKER_H
#define VIGIL_TESTS_UNIT_BROKER_FAKE_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "vigil.pb-c.h"
#include "vigil/keys.h"
#include "vigil/netdoc.h"
#include "vigil/wire.h"

#define FB_ANSWER_WAIT_MS 5000 /* real time a query answer may take */
#define FB_MINUTE_MS (60 * INT64_C(1000))
#define FB_HOUR_MS (60 * FB_MINUTE_MS)
#define FB_WALL0_MS (INT64_C(1796000000000) + FB_HOUR_MS) /* the wall clock at fb_new */
#define FB_MONO0_MS INT64_C(5000000)                      /* the monotonic clock at fb_new */
#define FB_EXTRA_MAX 16                                   /* agencies a test may add */

typedef struct fb fb;
typedef struct fb_conn fb_conn;

/* Hello flags. */
#define FB_RECEIVE 1u /* the agency's delivery target (the newest such connection wins) */
#define FB_CONSOLE 2u /* the agency's event stream */

typedef struct fb_options {
    const char *const *conf;              /* more "key = value" lines for [broker], NULL-ended */
    const char *const *agencies;          /* more agencies (role = id), NULL-ended */
    void (*edit)(json_t *doc, void *ctx); /* changes the document's JSON before it is signed */
    void *edit_ctx;                       /* passed to edit */
} fb_options;

/* Builds the network and starts the broker (opts may be NULL). Free with
 * fb_destroy. */
fb *fb_new(const fb_options *opts);

/* Stops the broker if it runs, closes every connection, removes the temp
 * directory; NULL-safe; sets *f_p = NULL. */
void fb_destroy(fb **f_p);

/* The signed document the broker serves (borrowed). */
const vg_netdoc *fb_doc(const fb *f);

/* The keys of agency id (borrowed). */
const vg_keyset *fb_keys(const fb *f, const char *id);

/* ---- the broker's life ----------------------------------------------------- */

/* Destroys the broker (what it was doing is committed first). */
void fb_stop(fb *f);

/* Makes a new broker on the same store, its clock where the harness's is;
 * open connections reconnect (new routing ids) and say Hello again. */
void fb_start(fb *f);

/* fb_stop then fb_start. */
void fb_restart(fb *f);

/* While the broker is stopped: the machine restarted, and its monotonic
 * clock starts again at mono_ms (the wall clock goes on). */
void fb_reboot(fb *f, int64_t mono_ms);

/* ---- time -------------------------------------------------------------------- */

int64_t fb_wall_ms(const fb *f);
int64_t fb_mono_ms(const fb *f);

/* Moves both clocks by ms (>= 0), stepping the running broker whenever it
 * said something would be due and at ms, and keeping connections alive. */
void fb_advance(fb *f, int64_t ms);

/* fb_advance to the moment the wall clock reads wall_ms (not earlier than now). */
void fb_advance_to_wall(fb *f, int64_t wall_ms);

/* Steps the broker at the current time until nothing more is due now. */
void fb_step(fb *f);

/* Moves the wall clock alone by ms (either way), then steps. */
void fb_jump_wall(fb *f, int64_t ms);

/* ---- connections ---------------------------------------------------------------- */

/* A new connection of agency id that says Hello with flags (FB_RECEIVE,
 * FB_CONSOLE); owned by f. */
fb_conn *fb_connect(fb *f, const char *id, unsigned flags);

/* The peer goes away: no more keepalives; frames to it are refused. */
void fb_close(fb_conn *c);

/* A closed (or open) connection connects again: fresh routing id, Hello. */
void fb_reconnect(fb_conn *c);

const char *fb_agency(const fb_conn *c);

/* ---- alerts --------------------------------------------------------------------- */

/* An alert published through the harness. */
typedef struct fb_alert {
    uint8_t id[VG_ALERT_ID_LEN]; /* alert id */
    uint8_t hash[VG_HASH_LEN];   /* envelope hash, for receipts */
    char sender[64];             /* the sending agency */
    uint64_t sequence;           /* its per-sender sequence number */
    vg_severity severity;        /* as sealed */
    int64_t published_wall_ms;   /* the wall clock when it was sent */
    int64_t published_mono_ms;   /* the monotonic clock then */
    uint8_t *env;                /* the SignedEnvelope bytes */
    size_t env_len;              /* their length */
} fb_alert;

typedef struct fb_spec {
    const char *category;    /* NULL: "taxi" */
    vg_severity severity;    /* UNSPECIFIED: high */
    vg_urgency urgency;      /* UNSPECIFIED: unknown */
    const char *const *also; /* recipients beyond the policy's, NULL-ended (may be NULL) */
    int64_t created_ms;      /* 0: the wall clock now */
} fb_spec;

/* Seals an alert as c's agency to the recipients the policy requires (and
 * spec->also), publishes it on c and returns its Confirm (borrowed; it
 * lives as long as c). *out (may be NULL) is the alert, kept by f. */
const Vigil__Confirm *fb_publish(fb_conn *c, const fb_spec *spec, const fb_alert **out);

/* fb_publish, asserting ACCEPTED. */
const fb_alert *fb_publish_ok(fb_conn *c, const fb_spec *spec);

/* A receipt of kind for alert a, signed by c's agency, sent on c; text is
 * the officer (ACKNOWLEDGED) or the reason (IN_PROGRESS, DECLINED). Its
 * Confirm (borrowed). */
const Vigil__Confirm *fb_receipt(fb_conn *c, vg_receipt_kind kind, const fb_alert *a,
                                 const char *text);

/* One DELIVERED receipt for every alert delivered to c and not receipted
 * by this harness yet, as the agent does after taking them in; its Confirm,
 * or NULL when there was nothing to receipt. */
const Vigil__Confirm *fb_receipt_delivered(fb_conn *c);

/* c's agency shares a with agency `to`; the Confirm (borrowed). */
const Vigil__Confirm *fb_share(fb_conn *c, const fb_alert *a, const char *to, const char *reason);

/* The alert of this id published through the harness, or NULL. */
const fb_alert *fb_alert_by_id(const fb *f, const uint8_t id[VG_ALERT_ID_LEN]);

/* ---- queries ---------------------------------------------------------------------- */

/* Sends q on c and steps until its answer (QueryResult or ErrorReply) came;
 * the answer (borrowed). */
const Vigil__BrokerFrame *fb_query(fb_conn *c, Vigil__Query *q);

/* QUERY_ALERT for a, asserting an answer with one alert (borrowed). */
const Vigil__AlertSummary *fb_status(fb_conn *c, const fb_alert *a);

/* What a console does when it sees a gap: asks QUERY_EVENTS for the events
 * of c's agency after the highest one c received and appends them to c's
 * frames, in order (asserting they continue without a gap). How many. */
size_t fb_catch_up(fb_conn *c);

/* The row of agency in a status; fails when there is none. */
const Vigil__RecipientState *fb_rcpt(const Vigil__AlertSummary *s, const char *agency);

/* ---- what a connection received ------------------------------------------------------ */

size_t fb_n_frames(const fb_conn *c);
const Vigil__BrokerFrame *fb_frame(const fb_conn *c, size_t i);

/* Events c received of this kind (0: any) about agency `about` (NULL: any)
 * for alert a (NULL: any). */
size_t fb_count_events(const fb_conn *c, Vigil__EventKind kind, const char *about,
                       const fb_alert *a);

/* The next event c received, after the last one expected, that matches;
 * fails the test (printing c's events) when there is none. Events are
 * checked gap-free as they arrive. */
const Vigil__Event *fb_expect_event(fb_conn *c, Vigil__EventKind kind, const char *about,
                                    const fb_alert *a);

/* Deliver frames c received for a (NULL: any). */
size_t fb_count_delivers(const fb_conn *c, const fb_alert *a);

/* The i-th Deliver frame c received (0-based), and its alert (NULL when it
 * was not published through the harness). */
const Vigil__Deliver *fb_deliver_at(const fb_conn *c, size_t i, const fb_alert **alert);

/* The last Deliver frame for a c received, or NULL. */
const Vigil__Deliver *fb_last_deliver(const fb_conn *c, const fb_alert *a);

/* Prints c's frames (for a failing test). */
void fb_print(const fb_conn *c);

/* ---- the log ------------------------------------------------------------------------- */

/* Log lines with this message id (and containing needle, when not NULL). */
size_t fb_log_count(fb *f, const char *msg_id, const char *needle);

/* The last log line with this message id, or NULL (borrowed). */
const char *fb_log_last(fb *f, const char *msg_id);

#endif
