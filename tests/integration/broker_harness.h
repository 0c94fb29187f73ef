/*
 * broker_harness.h — runs the real vigil-broker for integration tests.
 *
 * A bh_broker owns a scratch directory holding a network made by
 * `vigilctl init` (police, licensing, childrens-services, home-office,
 * oversight) whose endpoint is tcp://127.0.0.1:PORT, PORT a free port found
 * by binding a socket to 127.0.0.1:0. The broker runs from VG_BIN_DIR with
 * its stdout and stderr appended to one log file, so a restart on the same
 * store keeps the whole history in one place.
 *
 * Every wait is bounded: start waits for the log's broker.ready at most
 * BH_READY_MS, stop sends SIGTERM and SIGKILLs after BH_STOP_MS. Processes
 * are stopped by pid only. A test that fails before bh_pass() gets the
 * broker log printed by bh_destroy (call it from the teardown).
 *
 * Store reads go through the store's interface (store.h), opened read-only,
 * so they see only what the broker committed. Thread rules: one test thread
 * owns a bh_broker.
 */
#ifndef VIGIL_TESTS_BROKER_HARNESS_H
#define VIGIL_TESTS_BROKER_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "store.h"
#include "vigil/agent.h"
#include "vigil/agent_config.h"
#include "vigil/audit_leaf.h"
#include "vigil/envelope.h"

#define BH_READY_MS 10000        /* longest wait for broker.ready */
#if defined(__SANITIZE_THREAD__) /* a TSan broker after a flood exits slowly */
#define BH_STOP_MS 30000
#else
#define BH_STOP_MS 5000 /* SIGTERM grace before SIGKILL */
#endif
#define BH_ENDPOINT_MAX 64
#define BH_OWNED_MAX 32 /* things bh_own() can hold */

/* Something bh_destroy frees for a test that may not get that far. */
typedef struct bh_owned {
    void (*free_fn)(void *p); /* how to free it */
    void *p;                  /* what */
} bh_owned;

typedef struct bh_broker {
    char *bin_dir;                  /* where vigil-broker and vigilctl are */
    char *tmp;                      /* scratch directory, removed by bh_destroy */
    char *net;                      /* tmp/net: the network vigilctl made */
    char *conf;                     /* net/broker/broker.conf */
    char *db_path;                  /* net/broker/store/vigil.db */
    char *log_path;                 /* tmp/broker.log: output of every run */
    char endpoint[BH_ENDPOINT_MAX]; /* tcp://127.0.0.1:PORT */
    int port;                       /* the free port chosen at bh_new */
    pid_t pid;                      /* the running broker, 0 when none */
    int n_starts;                   /* how many times it was started */
    bool passed;                    /* bh_pass() was called: no log dump */
    bh_owned owned[BH_OWNED_MAX];   /* freed by bh_destroy, last first */
    size_t n_owned;                 /* used entries */
} bh_broker;

/*
 * With VG_TEST_STORE=postgresql in the environment the broker's store is a
 * PostgreSQL database of its own (docs/ha.md) on a server the harness
 * starts once per test process (tests/support/vt_pg.h) and stops at exit;
 * the store helpers below follow broker.conf, so they read it there.
 *
 * Makes a network in a fresh scratch directory and rewrites broker.conf's
 * [broker] keys from conf_set ("key=value" strings, NULL-terminated, may be
 * NULL; see vigil/broker_config.h for the keys). Does not start the broker.
 * Fails the test on any error. Free with bh_destroy.
 */
bh_broker *bh_new_in(const char *bin_dir, const char *const *conf_set);
#define bh_new(conf_set) bh_new_in(VG_BIN_DIR, (conf_set))

/* Like bh_new_in, with more `vigilctl init` options (NULL-terminated, may be
 * NULL), e.g. {"--deadline", "high=2s", "--agencies", "...", NULL}: a later
 * --agencies replaces the default list. */
bh_broker *bh_new_init_in(const char *bin_dir, const char *const *init_opts,
                          const char *const *conf_set);
#define bh_new_init(init_opts, conf_set) bh_new_init_in(VG_BIN_DIR, (init_opts), (conf_set))

/* Spawns the broker and waits (at most BH_READY_MS) for a new broker.ready
 * line. Fails the test, printing the log, if it exits or is not ready. */
void bh_start(bh_broker *b);

/* SIGTERM, waits up to BH_STOP_MS, then SIGKILL. Fails the test (printing
 * the log) unless the broker exited by itself with status 0. */
void bh_stop(bh_broker *b);

/* SIGKILL (a crash: nothing is flushed or closed) and reaps it. */
void bh_kill(bh_broker *b);

/* Hands p to b: bh_destroy calls free_fn(p) (last owned, first freed), so a
 * test that fails half-way leaks nothing. Returns p. */
void *bh_own(bh_broker *b, void *p, void (*free_fn)(void *p));

/* Marks the running test as passed: bh_destroy will not print the log. */
void bh_pass(bh_broker *b);

/* Stops a running broker (SIGTERM, then SIGKILL; no assertions), prints the
 * log unless bh_pass() was called, frees what bh_own() holds, removes the
 * scratch directory, frees b.
 * NULL-safe; sets *b_p = NULL. For teardowns. */
void bh_destroy(bh_broker **b_p);

/* net/agents/<agency>/agent.conf, malloc'ed; free() it. */
char *bh_agent_conf(const bh_broker *b, const char *agency);

/* Prints the broker log to the cmocka error output. */
void bh_print_log(const bh_broker *b);

/* Number of log lines whose message id is msg_id (or starts with msg_id when
 * it ends with '.', e.g. "env.") and which contain needle (NULL: any). */
size_t bh_log_count(const bh_broker *b, const char *msg_id, const char *needle);

/* bh_log_count, once it is at least 1 or ms have passed (the broker writes
 * its log line after what the test saw happen, e.g. a closed connection). */
size_t bh_log_wait(const bh_broker *b, const char *msg_id, const char *needle, int64_t ms);

/* ---- the broker's store, read through its interface (store.h) ----------
 *
 * No test knows a table, a column or SQL: every read goes through store.h.
 * Each helper opens the store broker.conf names read-only
 * (vgb_store_open_readonly_config: DIR/broker/store, or [store]'s PostgreSQL),
 * reads one committed state (vgb_store_read_begin/_end) and closes it again,
 * so it sees only what the broker committed, whether it runs or not. The
 * helpers fail the test when the store cannot be opened or read. */

/* Opens the store read-only for a test that reads it itself (and may expect
 * it to be unreadable): VG_OK and *out (free with vgb_store_destroy), or the
 * error and why. No assertion. */
vg_err bh_store_open(const bh_broker *b, vgb_store **out, vg_reason *why);

/* How many `what` the store holds that filter names (NULL: all of them);
 * store.h (vgb_count_what) says what each counts and what its filter is. */
int64_t bh_store_count(const bh_broker *b, vgb_count_what what, const char *filter);

/* How many `what` the store holds that filter does NOT name (all of them
 * minus those it names, read in one committed state), e.g. the alerts not
 * sent by police: bh_store_count_other(b, VGB_COUNT_ALERTS, "police"). */
int64_t bh_store_count_other(const bh_broker *b, vgb_count_what what, const char *filter);

/* The recipient rows of agency that left PENDING: delivered, acknowledged,
 * in progress, declined or unopenable. */
int64_t bh_store_count_reached(const bh_broker *b, const char *agency);

/* Rejections recorded for frames that came on agency's connection with this
 * code ("clock_skew", "missing_recipients"). */
int64_t bh_store_count_rejections(const bh_broker *b, const char *agency, const char *code);

/* Number of alerts stored. */
int64_t bh_store_count_alerts(const bh_broker *b);

/* True when the store holds an alert with this id. */
bool bh_store_has_alert(const bh_broker *b, const uint8_t *alert_id);

/* The stored alert's metadata (out->seq is its acceptance order); false
 * when the store holds no alert with this id. */
bool bh_store_alert(const bh_broker *b, const uint8_t *alert_id, vgb_alert_meta *out);

/* The alert's stored envelope bytes, exactly as signed (malloc'ed, free()
 * it), or NULL when the store holds no alert with this id. */
uint8_t *bh_store_envelope(const bh_broker *b, const uint8_t *alert_id, size_t *len_out);

/* True when sender's sequence number seq is that of a stored alert. */
bool bh_store_sequence_used(const bh_broker *b, const char *sender, uint64_t seq);

/* agency's recipient row of the alert; false when the alert is not stored
 * or agency is not one of its recipients. */
bool bh_store_recipient(const bh_broker *b, const uint8_t *alert_id, const char *agency,
                        vgb_rrow *out);

/* Calls fn for each recipient row of the alert, or of every stored alert
 * (in acceptance order) when alert_id is NULL. Returns how many rows. */
typedef void (*bh_rrow_fn)(void *ctx, const vgb_rrow *r);
int64_t bh_store_each_recipient(const bh_broker *b, const uint8_t *alert_id, bh_rrow_fn fn,
                                void *ctx);

/* Calls fn for each event of agency's stream, in order (a stored run comes
 * one event at a time). Returns how many events. */
int64_t bh_store_each_event(const bh_broker *b, const char *agency, vgb_event_fn fn, void *ctx);

/* The audit leaves of this kind about agency (NULL: any agency): a leaf is
 * about the agency it names (the sharer for "shared"), or, for a rejected
 * frame, about the transport it came on. How many there are, and the index
 * of the first (-1 when there is none). Every leaf must parse. */
int64_t bh_store_count_leaves(const bh_broker *b, vg_audit_kind kind, const char *agency);
int64_t bh_store_first_leaf(const bh_broker *b, vg_audit_kind kind, const char *agency);

/* The lowest index of the audit leaves about the alert: its accepted leaf;
 * -1 when the alert is not stored or has none. */
int64_t bh_store_alert_first_leaf(const bh_broker *b, const uint8_t *alert_id);

/* The acknowledgement receipts of agency recorded for the alert: its
 * acknowledged audit leaves whose receipt is stored, by agency, linked to
 * the alert (0 when the alert is not stored). */
int64_t bh_store_ack_receipts(const bh_broker *b, const uint8_t *alert_id, const char *agency);

/* The tree size of the latest stored audit checkpoint, 0 when none. */
int64_t bh_store_checkpoint_size(const bh_broker *b);

/* ---- agents of the network -------------------------------------------- */

/* Opens the agent library as agency (asserting success). */
vga_agent *bh_agent_open(const bh_broker *b, const char *agency, bool receive);

/* Loads agency's identity: its keys and its copy of the network document
 * (asserting success). Free with vga_identity_destroy. */
vga_identity *bh_identity(const bh_broker *b, const char *agency);

/* Fills an alert for vga_publish: severity high, the headline and
 * description (borrowed), one category, and the comma-separated recipients
 * (may be "" for none). Release with bh_alert_fini. */
void bh_alert_init(vg_alert *a, const char *headline, const char *description, const char *category,
                   const char *recipients_csv);

/* Frees the lists bh_alert_init made (not the borrowed strings). */
void bh_alert_fini(vg_alert *a);

/* Monotonic milliseconds, and a bounded sleep, for tests. */
int64_t bh_now_ms(void);
void bh_sleep_ms(int64_t ms);

#endif
