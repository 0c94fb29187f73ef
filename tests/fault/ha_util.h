/*
 * ha_util.h — two vigil-broker processes on one PostgreSQL store (docs/ha.md)
 * for the fault tests: a PostgreSQL server started by the test
 * (tests/support/vt_pg.h), the harness's network (broker_harness.h) with
 * broker A in its usual directory and broker B in net/broker-b (the same
 * keys and document, its own endpoint and local files), both with
 * [store] backend = postgresql and a short [ha] lease.
 *
 * Processes are stopped by pid; every wait is bounded; helpers fail the
 * running cmocka test on local errors. Thread rules: the test thread.
 */
#ifndef VIGIL_TESTS_FAULT_HA_UTIL_H
#define VIGIL_TESTS_FAULT_HA_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "broker_harness.h"
#include "vt_pg.h"

#define HA_LEASE "2s"    /* [ha] lease: a SIGSTOP past it loses the lead */
#define HA_LEASE_MS 2000 /* ... the same */
#define HA_POLL "100ms"  /* [ha] poll */
#define HA_ROLE_MS 15000 /* longest wait for a role change */

/* Two brokers, A (the harness's) and B (a copy of A's directory with its
 * own endpoint and local files), on one database. */
typedef struct ha_pair {
    vt_pg *pg;
    char *dsn;       /* vigil_broker's */
    char *audit_dsn; /* vigil_audit's */
    bh_broker *h;    /* the network and broker A's directory */
    char *conf[2];   /* broker.conf of A and B */
    char *log[2];    /* their logs */
    char endpoint[2][BH_ENDPOINT_MAX];
    pid_t pid[2];      /* running, or 0 */
    vga_identity *pub; /* home-office, the publisher */
    uint64_t seq;      /* its next sender sequence */
    vt_pg *standby;    /* a test's PostgreSQL standby, or NULL: ha_destroy stops it */
} ha_pair;

/* A server, the schema (made as vigil_owner), a network (bh_new(conf_set))
 * and both brokers' configurations; nothing started. Free with ha_destroy. */
ha_pair *ha_new(const char *const *conf_set);

/* Kills what runs (SIGCONT first), removes everything (with VG_HA_LOGS set,
 * prints the logs first); NULL-safe. */
void ha_destroy(ha_pair **ha_p);

/* Starts broker i (0: A, 1: B), its output appended to log[i]. */
void ha_start(ha_pair *ha, int i);

/* SIGKILLs broker i and reaps it. */
void ha_kill(ha_pair *ha, int i);

/* Starts A and waits for it to lead (broker.ready), then B and waits for
 * it to stand by (ha.standby). */
void ha_start_pair(ha_pair *ha);

/* Every agency's agent.conf names both endpoints ("A, B"): agents follow
 * the leader (agent_link.c). */
void ha_agents_follow(ha_pair *ha);

/* Lines of the log holding the message id (" id ") and needle (NULL: any). */
size_t ha_count(const char *log, const char *id, const char *needle);

/* Waits until the log has more than `had` lines of id; false after ms. */
bool ha_wait_log(const char *log, const char *id, size_t had, int64_t ms);

/* Prints both brokers' logs and the server's. */
void ha_print_logs(const ha_pair *ha);

/* `vigilctl broker status -c conf[i]`: its output (free it). */
char *ha_status(const ha_pair *ha, int i);

/* `vigilctl audit verify -c conf[i]` must pass. */
void ha_audit_verify(const ha_pair *ha, int i);

/* A file's text (free it), or NULL. */
char *ha_read(const char *path);

#endif
