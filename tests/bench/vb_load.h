/*
 * vb_load.h — the load vigil-bench puts on the broker: pre-sealed envelopes
 * packed as Publish frames, pre-signed DELIVERED receipts packed as
 * SubmitReceipt frames, and one measured phase (a sender thread and a raw
 * ZeroMQ DEALER per recipient agency speaking the protocol directly).
 *
 * Everything a client would sign is made before the clock starts, so the
 * phase measures the broker. Alert ids are an 8-byte set tag followed by the
 * big-endian index, so a receiver finds an alert's slot without a lookup.
 *
 * Thread rules: sets and receipts are read-only once made and are shared by
 * the phase's threads; each thread writes only its own timestamp slots, read
 * after the threads are joined.
 */
#ifndef VIGIL_TESTS_BENCH_VB_LOAD_H
#define VIGIL_TESTS_BENCH_VB_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vb_net.h"
#include "vigil/wire.h"

#define VB_DESCRIPTION_BYTES 1024 /* the alert's description */
#define VB_TAG_LEN 8              /* alert id prefix that names the set */

/* N alerts from vb_sender to the four recipients, ready to send. */
typedef struct vb_set {
    size_t n;                     /* alerts */
    uint8_t tag[VB_TAG_LEN];      /* id prefix of this set */
    bool sealed;                  /* each one really sealed (else re-signed clones) */
    uint8_t **frame;              /* packed ClientFrame{Publish}, request_id = index + 1 */
    size_t *frame_len;            /* their lengths */
    uint8_t (*hash)[VG_HASH_LEN]; /* envelope hash of each */
    size_t envelope_bytes;        /* size of one signed envelope (the first) */
} vb_set;

/* Makes n alerts with sequences from net->next_seq on (advanced). sealed:
 * each alert sealed with vg_envelope_seal (four crypto_box_seal and one
 * signature each), on `threads` threads; else one alert is sealed and the
 * others are copies of its body with their own id, sequence and time,
 * re-signed by the sender: valid to the broker (which never decrypts) but
 * they do not open for recipients. Free with vb_set_destroy. */
vg_err vb_set_new(vb_set **out, vb_net *net, size_t n, bool sealed, int threads,
                  vg_reason *why) VG_MUST_USE;
void vb_set_destroy(vb_set **s_p);

/* Pre-signed DELIVERED receipts of one agency for a set: receipt c covers
 * alerts [c*batch, min(n, (c+1)*batch)). */
typedef struct vb_receipts {
    size_t batch;      /* items per receipt */
    size_t n;          /* receipts */
    uint8_t **frame;   /* packed ClientFrame{SubmitReceipt}, request_id = c + 1 */
    size_t *frame_len; /* their lengths */
} vb_receipts;

/* Signs the receipts of every recipient agency (one thread each). */
vg_err vb_receipts_new(vb_receipts *out[VB_RECIPIENTS], const vb_net *net, const vb_set *set,
                       size_t batch, vg_reason *why) VG_MUST_USE;
void vb_receipts_destroy(vb_receipts *r[VB_RECIPIENTS]);

/* What to run. */
typedef struct vb_phase_spec {
    const char *name;             /* for the report */
    const vb_set *set;            /* what to publish */
    vb_receipts *const *receipts; /* VB_RECIPIENTS of them */
    bool online[VB_RECIPIENTS];   /* which agencies connect */
    bool open;                    /* receivers verify + open (needs a sealed set) */
    double rate;                  /* offered alerts/s, 0 = as fast as confirms allow */
    size_t window;                /* unconfirmed publishes at most (rate 0) */
    int64_t timeout_ms;           /* the phase gives up after this */
} vb_phase_spec;

/* Percentiles in milliseconds. */
typedef struct vb_pct {
    double p50, p99, p999, max; /* of the samples */
    size_t n;                   /* samples */
} vb_pct;

typedef struct vb_result {
    bool complete;         /* every alert confirmed, delivered and receipted */
    double seconds;        /* first publish to last receipt confirm */
    double alerts_per_s;   /* n / seconds */
    vb_pct confirm;        /* publish -> confirm */
    vb_pct delivered;      /* publish -> delivered to every online agency */
    double cpu_s;          /* broker CPU during the phase */
    double cpu_per_1k;     /* broker CPU seconds per 1000 alerts */
    double clients_per_1k; /* the bench's own CPU (clients and their I/O threads) per 1000 */
    double machine_cores;  /* cores busy on the whole machine, on average (/proc/stat) */
    long rss_start_kib;    /* broker VmRSS before */
    long rss_end_kib;      /* ... after */
    long hwm_kib;          /* broker VmHWM during the phase (reset before) */
    size_t rejected;       /* confirms that were not ACCEPTED */
    size_t bad_deliveries; /* deliveries that failed verify/open/hash check */
    size_t redelivered;    /* deliveries seen twice */
    int64_t store_pending; /* recipient rows still PENDING after */
} vb_result;

/* Runs one phase against net's broker. */
vg_err vb_phase_run(vb_result *out, vb_net *net, const vb_phase_spec *spec,
                    vg_reason *why) VG_MUST_USE;

/* A DEALER to the broker over CurveZMQ with keys, no high-water marks (the
 * bench's clients bound what they queue themselves). */
void *vb_dealer(void *ctx, const vb_net *net, const vg_keyset *keys);

/* A Hello on sock: receive deliveries or not, holding network `version`. */
void vb_hello(void *sock, bool receive, uint64_t version);

#endif
