/*
 * hostile_util.h — what test_hostile_agency.c needs on top of the broker
 * harness and the raw client: an agency that behaves badly on purpose.
 *
 * It builds envelopes a recipient cannot open (a garbage sealed key, a key
 * that does not match its commitment, a ciphertext that does not
 * authenticate), share records with a garbage key, receipts with any
 * created time, queries of every kind; it edits and re-signs the network
 * document as an administrator would (network.json + `vigilctl network
 * sign`), rotates an agency's box key, starts the broker under given file
 * limits, and opens plain DEALER sockets for floods (any receive high-water
 * mark, no decoding of big replies).
 *
 * Written from docs/protocol.md, docs/audit.md, docs/network.md and
 * proto/vigil.proto only: nothing here knows how the broker or the agent
 * library work inside.
 *
 * Soft checks (hu_check) record a failed expectation, print it at once and
 * let the test go on observing; hu_checks_end fails the test if any check
 * failed, listing them. Setup steps use hard cmocka assertions. Every wait
 * is bounded. Thread rules: everything belongs to the test thread except the
 * hu_dealer sockets, each of which belongs to the one thread that uses it.
 */
#ifndef VIGIL_TESTS_HOSTILE_UTIL_H
#define VIGIL_TESTS_HOSTILE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include <jansson.h>

#include "broker_harness.h"
#include "rawclient.h"
#include "vigil.pb-c.h"
#include "vigil/agent.h"
#include "vigil/receipt.h"
#include "vigil/wire.h"

#ifdef VG_FAULT_TSAN      /* ThreadSanitizer slows every access several times over */
#define HU_REPLY_MS 20000 /* longest wait for a reply to one request */
#else
#define HU_REPLY_MS 5000 /* longest wait for a reply to one request */
#endif
#define HU_CHECKS_MAX 64   /* failed soft checks remembered per test */
#define HU_CHECK_TEXT 400  /* one failed check's message */
#define HU_STREAM_MAX 4096 /* event frames one stream keeps */

/* ---- soft checks ------------------------------------------------------------ */

typedef struct hu_checks {
    const char *test;                          /* printed with every line */
    size_t n;                                  /* checks made */
    size_t n_failed;                           /* of which failed */
    char failed[HU_CHECKS_MAX][HU_CHECK_TEXT]; /* the first HU_CHECKS_MAX failures */
} hu_checks;

void hu_checks_init(hu_checks *k, const char *test);

/* Records one expectation; on failure prints "hostile: FAIL <test>: <what>"
 * and keeps the message. Returns ok. */
bool hu_check(hu_checks *k, bool ok, const char *fmt, ...) VG_PRINTF(3, 4);

/* hu_check for a bound on time or memory. Under ThreadSanitizer (built with
 * VG_FAULT_TSAN), which slows every memory access several times over and
 * shadows the heap, a miss is printed ("hostile: NOT CHECKED under
 * ThreadSanitizer ...") but not counted: that build looks for races. */
bool hu_check_cost(hu_checks *k, bool ok, const char *fmt, ...) VG_PRINTF(3, 4);

/* Prints "hostile: <test>: N of M checks failed" and fails the cmocka test
 * listing every failure, or prints that all passed. */
void hu_checks_end(hu_checks *k);

/* ---- agents and raw clients owned by the broker harness ------------------------ */

/* An agent-library agent of `agency`, closed by bh_destroy. */
vga_agent *hu_agent(bh_broker *b, const char *agency, bool receive, bool events);

/* Closes an agent hu_agent made before the teardown would (the harness
 * still holds the pointer; it is set to NULL there so it is not freed twice). */
void hu_agent_close(bh_broker *b, vga_agent *a);

/* A raw client connected as `agency`, destroyed by bh_destroy. */
rc_client *hu_raw(bh_broker *b, const char *agency);

/* agency's keys and copy of the network document, freed by bh_destroy. */
vga_identity *hu_identity(bh_broker *b, const char *agency);

/* Hello with request id 0 and these flags. */
void hu_hello(rc_client *c, bool receive, bool console);

/* A GetNetwork round trip: once it is answered, everything sent before on
 * this connection (a Hello) was handled. Asserts the answer came. */
void hu_roundtrip(rc_client *c);

/* ---- hand-made envelopes -------------------------------------------------------- */

typedef enum hu_spoil {
    HU_INTACT = 0,         /* a valid envelope */
    HU_BAD_KEY = 1,        /* the victim's sealed key: 80 random bytes */
    HU_BAD_COMMITMENT = 2, /* a different content key, properly sealed to the victim */
    HU_UNDECRYPTABLE = 3,  /* a ciphertext byte flipped */
    HU_VERSION = 4,        /* network_version replaced by `version` */
    HU_CIPHERTEXT = 5,     /* ciphertext replaced by `size` random bytes */
} hu_spoil;

typedef struct hu_seal {
    const char *const *to; /* exactly these recipients */
    size_t n_to;           /* count */
    const char *category;  /* NULL: "other" (no policy rule) */
    vg_severity severity;  /* UNSPECIFIED: high */
    uint64_t sequence;     /* >= 1 */
    hu_spoil spoil;        /* what to break */
    const char *victim;    /* the recipient whose key is spoiled */
    uint64_t version;      /* HU_VERSION: the network_version to claim */
    size_t size;           /* HU_CIPHERTEXT: bytes of ciphertext */
    const char *headline;  /* NULL: "hostile test alert" */
} hu_seal;

/* Seals as `sender` (its own keys and copy of the document), then spoils
 * and re-signs the body with the sender's own key, as a hostile sender can.
 * An oversight agency among the recipients (which the agent library refuses)
 * is sealed to by hand. free() the result; id_out (may be NULL) gets the
 * alert id. */
uint8_t *hu_seal_envelope(size_t *len, uint8_t id_out[VG_ALERT_ID_LEN], const vga_identity *sender,
                          const hu_seal *spec);

/* BLAKE2b-256 of the envelope's signed body bytes (what receipts name). */
void hu_envelope_hash(uint8_t out[VG_HASH_LEN], const uint8_t *env, size_t len);

/* The alert id inside a SignedEnvelope (false when it does not parse). */
bool hu_envelope_id(uint8_t out[VG_ALERT_ID_LEN], const uint8_t *env, size_t len);

/* Publishes each envelope over c (pipelined) and fills status[i] and code[i]
 * from its Confirm (asserting every reply came within HU_REPLY_MS + n*20 ms). */
void hu_publish_all(rc_client *c, uint8_t *const *envs, const size_t *lens, size_t n, int *status,
                    int *code);

/* Publishes one and returns its Confirm frame (asserting it came). */
Vigil__BrokerFrame *hu_publish_one(rc_client *c, const uint8_t *env, size_t len);

/* ---- shares and receipts ------------------------------------------------------------ */

/* A share of env by `sharer` to `to`, signed by the sharer; with
 * garbage_key its sealed key is 80 random bytes (signed all the same).
 * For garbage_key the sharer need not be able to open env. free() it. */
uint8_t *hu_share(size_t *len, const uint8_t *env, size_t env_len, const vga_identity *sharer,
                  const char *to, bool garbage_key);

/* A share naming an alert id and envelope hash directly (for alerts the
 * sharer never saw), with a garbage key. free() it. */
uint8_t *hu_share_raw(size_t *len, const uint8_t id[VG_ALERT_ID_LEN],
                      const uint8_t hash[VG_HASH_LEN], const vga_identity *sharer, const char *to);

uint64_t hu_submit_share(rc_client *c, const uint8_t *bytes, size_t len);

/* A receipt of one alert by `who`, any created time. free() it. */
uint8_t *hu_receipt(size_t *len, const vga_identity *who, vg_receipt_kind kind,
                    const uint8_t id[VG_ALERT_ID_LEN], const uint8_t hash[VG_HASH_LEN],
                    int64_t created_ms);

uint64_t hu_submit_receipt(rc_client *c, const uint8_t *bytes, size_t len);

/* Submits and returns the reply (any kind) or NULL. */
Vigil__BrokerFrame *hu_submit_receipt_reply(rc_client *c, const uint8_t *bytes, size_t len);
Vigil__BrokerFrame *hu_submit_share_reply(rc_client *c, const uint8_t *bytes, size_t len);

/* ---- queries -------------------------------------------------------------------------- */

/* Sends the query with a fresh request id; the reply (any kind) or NULL. */
Vigil__BrokerFrame *hu_query(rc_client *c, const Vigil__Query *q, int64_t timeout_ms);
Vigil__BrokerFrame *hu_query_alert(rc_client *c, const uint8_t id[VG_ALERT_ID_LEN]);
Vigil__BrokerFrame *hu_query_inclusion_id(rc_client *c, const uint8_t id[VG_ALERT_ID_LEN]);
Vigil__BrokerFrame *hu_query_leaf(rc_client *c, uint64_t leaf_index, uint64_t tree_size);
Vigil__BrokerFrame *hu_query_kind(rc_client *c, Vigil__QueryKind kind);

/* A ClientFrame holding the query, packed. free() it. */
uint8_t *hu_pack_query(size_t *len, uint64_t request_id, const Vigil__Query *q);

/* The tree size of the latest checkpoint the broker gives `c` (0 if none). */
uint64_t hu_checkpoint_size(rc_client *c);

/* The recipient state of `agency` in a QUERY_ALERT result, or NULL. */
const Vigil__RecipientState *hu_recipient(const Vigil__BrokerFrame *f, const char *agency);

/* "result", "error not_found: reason", "confirm rejected unknown_alert: reason":
 * what a reply looks like, for messages and for comparing two replies. */
void hu_describe(char *out, size_t cap, const Vigil__BrokerFrame *f);

/* Like hu_describe with every run of digits replaced by '#'. */
void hu_describe_masked(char *out, size_t cap, const Vigil__BrokerFrame *f);

/* The name of a RejectCode ("REJECT_RATE_LIMITED"), never NULL. */
const char *hu_code_name(int code);

/* ---- deliveries and event streams ------------------------------------------------------ */

/* True when f is a Deliver of alert id. */
bool hu_is_deliver_of(const Vigil__BrokerFrame *f, const uint8_t id[VG_ALERT_ID_LEN]);

/* Waits for a Deliver of id (other frames dropped); NULL when none came. */
Vigil__BrokerFrame *hu_wait_deliver(rc_client *c, const uint8_t id[VG_ALERT_ID_LEN],
                                    int64_t timeout_ms);

/* The event frames one raw console connection received. */
typedef struct hu_stream {
    rc_client *c;                              /* Hello { console = true } sent */
    Vigil__BrokerFrame *frames[HU_STREAM_MAX]; /* event frames in arrival order */
    size_t n;                                  /* count */
} hu_stream;

/* A console connection of `agency` (owned by b). */
hu_stream *hu_stream_new(bh_broker *b, const char *agency);

/* Reads whatever arrives within ms. */
void hu_stream_pump(hu_stream *s, int64_t ms);

/* The first event of this kind (about agency, for alert id; NULL: any),
 * reading more for up to ms; NULL when none. */
const Vigil__Event *hu_stream_find(hu_stream *s, int kind, const char *agency, const uint8_t *id,
                                   int64_t ms);

/* ---- the network document ----------------------------------------------------------------- */

typedef void (*hu_json_edit)(json_t *root, void *ctx);

/* Edits net/network/network.json with `edit` and runs `vigilctl network sign
 * --dir NET` (which refreshes the broker's and agents' copies). Returns the
 * exit status; *err_out (may be NULL) gets vigilctl's stderr (free it). */
int hu_network_edit(bh_broker *b, hu_json_edit edit, void *ctx, char **err_out);

/* The agency card with this id in the JSON document (asserting it exists). */
json_t *hu_card(json_t *root, const char *id);

/* Gives `agency` a fresh box key pair: rewrites its agency.key (keeping its
 * signing and transport keys) and its card's box_key in network.json. Does
 * not sign. */
void hu_rotate_box_key(bh_broker *b, const char *agency);

/* ---- the broker process ------------------------------------------------------------------- */

/* Starts the broker like bh_start, but with RLIMIT_NOFILE soft/hard set
 * before exec (as `prlimit --nofile=SOFT:HARD -- vigil-broker` would). */
void hu_start_nofile(bh_broker *b, rlim_t soft, rlim_t hard);

/* The broker's "Max open files" soft and hard limits from /proc (false if
 * unreadable). */
bool hu_proc_nofile(pid_t pid, long *soft, long *hard);

/* utime + stime of pid in clock ticks (-1 if unreadable). */
int64_t hu_proc_cpu_ticks(pid_t pid);

/* ---- plain DEALER sockets for floods -------------------------------------------------------- */

typedef struct hu_dealer hu_dealer;

/* A DEALER authenticated as the agency of agent_conf, in context ctx, with
 * this receive high-water mark (0: ZeroMQ's default), connecting now. */
hu_dealer *hu_dealer_new(void *ctx, const char *agent_conf, int rcvhwm);

void hu_dealer_destroy(hu_dealer **d_p);

void *hu_dealer_socket(hu_dealer *d);

/* Sends without blocking; false when ZeroMQ would block or refused. */
bool hu_dealer_send(hu_dealer *d, const void *data, size_t len);

/* Disconnections the socket monitor saw so far (reading within ms). */
size_t hu_dealer_drops(hu_dealer *d, int64_t ms);

/* ---- misc ------------------------------------------------------------------------------------ */

/* Milliseconds percentile p (0..100) of n samples (sorts them). */
double hu_percentile(int64_t *samples_us, size_t n, double p);

/* vg_alert for vga_publish: one category, these recipients (csv), severity
 * high; strings borrowed. bh_alert_fini it. */
void hu_alert(vg_alert *a, const char *headline, const char *description, const char *category,
              const char *to_csv);

/* Publishes through the agent library and returns its result; *id_out (may
 * be NULL) the alert id, why the reason. */
vg_err hu_vga_publish(vga_agent *a, const char *category, const char *to_csv,
                      const char *description, uint8_t id_out[VG_ALERT_ID_LEN], vg_reason *why);

#endif
