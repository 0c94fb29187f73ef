/*
 * tests/unit/broker/modkit.h — what the module-level broker tests
 * (test_ledger.c, test_batch.c, test_streams.c, test_delivery.c,
 * test_store.c) drive a module with, from outside its header: a fake clock
 * (vg_clock), a real network document of seven agencies, a real store in a
 * temp directory, real sealed envelopes inserted through the store API, a
 * vgb_out whose sender keeps every frame (and refuses the ones the test says,
 * as the ROUTER would), and a log sink that counts lines.
 *
 * The network: police, licensing, childrens-services, home-office (role
 * government), education, council, oversight (role oversight), in that
 * order (MK_POLICE .. MK_OVERSIGHT are their indices). Its one policy rule
 * sends "taxi" and "cse" alerts to licensing, police and
 * childrens-services. The document's "oversight" view is set by
 * mk_world_opts.
 *
 * Opening the store is the one back-end-specific call here (mk_store_open);
 * everything else goes through store.h. Helpers fail the running cmocka test
 * on an unexpected error. Prefix mk_. Thread rules: one world at a time, used
 * from the test's thread (the log sink is process-wide).
 */
#ifndef VIGIL_TESTS_UNIT_BROKER_MODKIT_H
#define VIGIL_TESTS_UNIT_BROKER_MODKIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "out.h"
#include "store.h"
#include "vigil.pb-c.h"
#include "vigil/broker_config.h"
#include "vigil/clock.h"
#include "vigil/envelope.h"
#include "vigil/netdoc.h"
#include "vigil/receipt.h"
#include "vt.h"

enum {
    MK_POLICE,
    MK_LICENSING,
    MK_CS,
    MK_HOME,
    MK_EDUCATION,
    MK_COUNCIL,
    MK_OVERSIGHT,
    MK_N /* agencies */
};

#define MK_WALL0_MS (VT_ISSUED_MS + 3600 * INT64_C(1000)) /* the wall clock at start */
#define MK_MONO0_MS INT64_C(5000000)                      /* the monotonic clock at start */

/* ---- the clock ----------------------------------------------------------------- */

typedef struct mk_clock {
    int64_t wall, mono; /* what it reads */
    vg_clock clock;     /* reads them */
} mk_clock;

void mk_clock_init(mk_clock *c);
/* Moves both clocks by ms. */
void mk_advance(mk_clock *c, int64_t ms);

/* ---- frames sent ------------------------------------------------------------------ */

typedef struct mk_frame {
    uint8_t rid[VGB_RID_MAX]; /* to whom */
    size_t rid_len;           /* its length */
    Vigil__BrokerFrame *f;    /* unpacked; owned */
} mk_frame;

#define MK_RULES_MAX 16

/* A vgb_out whose sender keeps what it is given. */
typedef struct mk_sink {
    vgb_out out;      /* give &sink->out to the module */
    mk_frame *frames; /* accepted frames, in order */
    size_t n, cap;
    size_t attempts; /* every call, accepted or refused */
    size_t refused;  /* calls answered with an error */
    struct {
        uint8_t rid[VGB_RID_MAX];
        size_t rid_len;
        vg_err rc;
        size_t times;      /* this many more times, then accepted again (0: until changed) */
    } rules[MK_RULES_MAX]; /* routing ids refused, and how */
    size_t n_rules;
} mk_sink;

void mk_sink_init(mk_sink *s);
void mk_sink_fini(mk_sink *s);
/* Drops what was kept (the counters too). */
void mk_sink_clear(mk_sink *s);
/* From now on frames to rid are answered rc (VG_OK: accepted again). */
void mk_sink_refuse(mk_sink *s, const uint8_t *rid, size_t rid_len, vg_err rc);
/* Only the next n frames to rid are answered rc. */
void mk_sink_refuse_next(mk_sink *s, const uint8_t *rid, size_t rid_len, vg_err rc, size_t n);
/* Frames kept for rid (NULL: anyone) of this kind (0: any). */
size_t mk_sink_count(const mk_sink *s, const uint8_t *rid, size_t rid_len, int kind);
/* The i-th (0-based) of those, or NULL. */
const Vigil__BrokerFrame *mk_sink_nth(const mk_sink *s, const uint8_t *rid, size_t rid_len,
                                      int kind, size_t i);

/* A routing id as a ROUTER makes them (5 bytes, a zero first). */
#define MK_RID_LEN 5
void mk_rid(uint8_t out[MK_RID_LEN], uint32_t n);

/* ---- the log ---------------------------------------------------------------------- */

/* Installs a sink that keeps every line (debug and up). */
void mk_log_capture(void);
void mk_log_release(void);
/* Lines with this message id (and containing needle, when not NULL). */
size_t mk_log_count(const char *msg_id, const char *needle);

/* ---- the world ---------------------------------------------------------------------- */

typedef struct mk_world_opts {
    bool officer_names;                        /* the document's "oversight" view */
    bool notes;                                /* ... */
    vgb_store *(*open_store)(const char *dir); /* NULL: mk_store_open */
} mk_world_opts;

typedef struct mk_world {
    char *dir;               /* temp directory; the store is in it */
    vt_net *net;             /* keys and the signed document */
    const vg_netdoc *doc;    /* net->doc */
    mk_clock clk;            /* the injected clock */
    vg_broker_config cfg;    /* broker.conf's defaults, store_path = dir */
    vgb_store *store;        /* the store in dir */
    mk_sink sink;            /* where frames go */
    uint64_t next_seq[MK_N]; /* the senders' sequence numbers */
} mk_world;

/* opts may be NULL (oversight sees neither names nor notes). */
mk_world *mk_world_new(const mk_world_opts *opts);
void mk_world_destroy(mk_world **w_p);

/* The one back-end-specific call: opens (creating) the store in dir. */
vgb_store *mk_store_open(const char *dir);

const char *mk_id(size_t agency);

/* ---- alerts --------------------------------------------------------------------------- */

typedef struct mk_alert {
    uint8_t *bytes;              /* the SignedEnvelope */
    size_t len;                  /* its length */
    vg_envelope *env;            /* verified against the document */
    uint8_t id[VG_ALERT_ID_LEN]; /* its id */
    vg_strlist required;         /* the policy's agencies */
    uint64_t seq;                /* store seq once inserted, else 0 */
} mk_alert;

/* Seals a "taxi" alert from sender to the policy's agencies and `also`
 * (NULL-ended, may be NULL). severity UNSPECIFIED: high. */
mk_alert *mk_seal(mk_world *w, const char *sender, const char *const *also, vg_severity severity);
void mk_alert_free(mk_alert **a_p);

/* Inserts a into the open transaction (deadline for its required rows). */
uint64_t mk_insert(mk_world *w, mk_alert *a, int64_t deadline_ms);
/* begin, mk_insert, commit. */
uint64_t mk_insert_committed(mk_world *w, mk_alert *a, int64_t deadline_ms);

/* sharer (a recipient of a) shares a with `to`, in the open transaction: the
 * share record stored and `to` added as a required recipient (deadline).
 * *bytes (malloc'ed, may be NULL) and hash (may be NULL) get the record. */
void mk_share(mk_world *w, const mk_alert *a, const char *sharer, const char *to,
              int64_t deadline_ms, uint8_t **bytes, size_t *len, uint8_t hash[VG_HASH_LEN]);

/* A verified receipt of kind by agency for the alerts (n of them), signed
 * now; text: the officer (ACKNOWLEDGED) or the reason (IN_PROGRESS,
 * DECLINED). Free with vg_receipt_destroy. */
vg_receipt *mk_receipt(mk_world *w, const char *agency, vg_receipt_kind kind,
                       const mk_alert *const *alerts, size_t n, const char *text);

/* begin / commit, asserting VG_OK. */
void mk_begin(vgb_store *s);
void mk_commit(vgb_store *s);

#endif
