/*
 * fault_util.h — what the fault tests share on top of the broker harness
 * (tests/integration/broker_harness.h): a seeded random source whose seed is
 * printed (VG_SEED repeats a run), child processes with bounded waits,
 * a broker start that may fail (for corrupt stores), the broker's RSS, and
 * the ledger every checker classifies with.
 *
 * Every wait is bounded; processes are stopped by pid; helpers fail the
 * running cmocka test on local errors. Thread rules: the ledger is
 * thread-safe (publisher and listener threads record into it); everything
 * else belongs to the test thread.
 */
#ifndef VIGIL_TESTS_FAULT_UTIL_H
#define VIGIL_TESTS_FAULT_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "broker_harness.h"
#include "vigil/wire.h"

/* ---- seeded randomness ------------------------------------------------- */

/* The run's seed: VG_SEED from the environment, else the time. Printed once
 * ("fault: seed=N (VG_SEED=N repeats this run)"). */
uint64_t fu_seed(const char *test_name);

typedef struct fu_rng {
    uint64_t s; /* xorshift64* state, never 0 */
} fu_rng;

void fu_rng_init(fu_rng *r, uint64_t seed);
uint64_t fu_rand(fu_rng *r);
/* Uniform in [lo, hi]. */
int64_t fu_range(fu_rng *r, int64_t lo, int64_t hi);

/* True when VG_FAULT_LONG=1 (the "long" ctest variants set it). */
bool fu_long(void);

/* ---- processes ------------------------------------------------------------ */

/* Spawns argv (argv[0] a path) with stdout appended to out_path (NULL:
 * /dev/null) and stderr appended to err_path (NULL: same as stdout). */
pid_t fu_spawn(char *const argv[], const char *out_path, const char *err_path);

/* Waits for pid at most ms: its wait status, or -1 if it still runs. */
int fu_wait(pid_t pid, int64_t ms);

/* SIGKILL and reap (bounded). */
void fu_kill(pid_t pid);

/* VmRSS of pid in KiB, or -1. */
int64_t fu_rss_kib(pid_t pid);

/* ---- a broker that may refuse to start ----------------------------------- */

typedef enum fu_start {
    FU_STARTED = 0, /* broker.ready logged; b->pid is set */
    FU_REFUSED = 1, /* exited by itself with a non-zero status before ready */
    FU_CRASHED = 2, /* killed by a signal, or a sanitizer reported */
    FU_HUNG = 3,    /* neither ready nor gone within BH_READY_MS (then killed) */
    FU_EXIT0 = 4,   /* exited 0 without being ready: also wrong */
} fu_start;

/* Starts the broker like bh_start, but reports what happened instead of
 * failing. *log_out (may be NULL) gets the log written by this start
 * (malloc'ed; free it). */
fu_start fu_try_start(bh_broker *b, char **log_out);

/* ---- the ledger ---------------------------------------------------------- */

typedef enum fu_outcome {
    FU_CONFIRMED = 1,     /* ACCEPTED or DUPLICATE came back */
    FU_REJECTED = 2,      /* a final rejection: must never be delivered */
    FU_INDETERMINATE = 3, /* timeout or transient rejection: left in the outbox */
} fu_outcome;

typedef struct fu_pub {
    uint8_t id[VG_ALERT_ID_LEN]; /* the alert */
    char sender[32];             /* who published */
    fu_outcome outcome;          /* last outcome seen */
    vg_err code;                 /* the rejection, for FU_REJECTED */
} fu_pub;

typedef struct fu_recv {
    uint8_t id[VG_ALERT_ID_LEN]; /* what vga_receive returned */
    char agency[32];             /* to whom */
    char sender[32];             /* its sender */
    uint64_t sequence;           /* its sender sequence */
    int64_t latency_ms;          /* receive wall time - created time */
} fu_recv;

typedef struct fu_ledger {
    pthread_mutex_t mu; /* guards everything below */
    fu_pub *pubs;       /* every publish, in order */
    size_t n_pubs, cap_pubs;
    fu_recv *recvs; /* every alert surfaced to the application */
    size_t n_recvs, cap_recvs;
} fu_ledger;

void fu_ledger_init(fu_ledger *l);
void fu_ledger_fini(fu_ledger *l);
/* Records (or updates, for an id already there) a publish outcome. */
void fu_ledger_pub(fu_ledger *l, const uint8_t id[VG_ALERT_ID_LEN], const char *sender,
                   fu_outcome outcome, vg_err code);
void fu_ledger_recv(fu_ledger *l, const uint8_t id[VG_ALERT_ID_LEN], const char *agency,
                    const char *sender, uint64_t sequence, int64_t latency_ms);
/* Number of alerts agency received so far. */
size_t fu_ledger_n_received(fu_ledger *l, const char *agency);

/* The checker's verdict (Jepsen-style). */
typedef struct fu_verdict {
    size_t published;     /* distinct alerts attempted */
    size_t confirmed;     /* ... confirmed */
    size_t rejected;      /* ... finally rejected */
    size_t indeterminate; /* ... never answered */
    size_t deliveries;    /* alerts surfaced, all agencies */
    size_t lost;          /* confirmed, missing at a required listening agency */
    size_t unexpected;    /* surfaced, never published (or finally rejected) */
    size_t duplicated;    /* surfaced twice to one agency */
    size_t recovered;     /* indeterminate, delivered */
    size_t out_of_order;  /* per sender, a lower sequence after a higher one */
} fu_verdict;

/* Classifies: every confirmed alert must have reached each of the n
 * `agencies` (the required recipients that listened). */
fu_verdict fu_ledger_check(fu_ledger *l, const char *const *agencies, size_t n);

/* One line: "published=.. confirmed=.. ... lost=.. unexpected=.. duplicated=..". */
void fu_verdict_print(const char *what, const fu_verdict *v);

#endif
