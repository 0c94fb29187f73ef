/*
 * vb_wide.h — vigil-bench's scaling row (issue 20): a national network of
 * thousands of agencies, many of them connected, and alerts that the
 * network's policy sends to hundreds of them at once.
 *
 *  - vb_idle: connections of agencies that only keep their connection open
 *    (Hello with receive, a keepalive, whatever comes is read and dropped),
 *    so that a phase runs with that many agencies connected;
 *  - vb_wide_phase: alerts from vb_sender that the policy requires to reach
 *    every agency of VB_WIDE_ROLE, each really sealed to all of them, sent
 *    at a set rate; the first n_connected agencies of the role receive on
 *    one thread (one DEALER each, one poll over all), check each delivery
 *    against what was sealed and send a pre-signed DELIVERED receipt for it.
 *
 * Thread rules: a vb_idle owns one thread and its sockets; vb_wide_phase
 * runs a sender thread and a receiver thread and joins them before it
 * returns. Nothing is shared with other phases.
 */
#ifndef VIGIL_TESTS_BENCH_VB_WIDE_H
#define VIGIL_TESTS_BENCH_VB_WIDE_H

#include <stdbool.h>
#include <stddef.h>

#include "vb_load.h"
#include "vb_net.h"

/* Connections kept open by agencies of the wide role, from index `from` on. */
typedef struct vb_idle vb_idle;
vg_err vb_idle_start(vb_idle **out, const vb_net *net, size_t from, size_t n,
                     vg_reason *why) VG_MUST_USE;
/* Closes them; NULL-safe; sets *i_p = NULL. */
void vb_idle_stop(vb_idle **i_p);

typedef struct vb_wide_spec {
    size_t n_alerts;    /* wide alerts to send */
    size_t n_role;      /* agencies of the wide role (each alert's recipients) */
    size_t n_connected; /* of them, the first n connected and receiving */
    double rate;        /* alerts offered per second */
    int64_t timeout_ms; /* the phase gives up after this */
} vb_wide_spec;

typedef struct vb_wide_result {
    bool complete;           /* every alert confirmed, delivered to all connected, receipted */
    size_t recipients;       /* recipients of one alert (what the policy required) */
    size_t envelope_bytes;   /* one signed envelope */
    double seal_ms;          /* vg_envelope_seal, one alert, median */
    double seconds;          /* first publish to last receipt confirm */
    vb_pct confirm;          /* publish -> confirm */
    vb_pct delivered;        /* publish -> delivered to every connected recipient */
    double cpu_per_alert_ms; /* broker CPU per alert */
    long hwm_kib;            /* broker peak RSS during the phase */
    double rows_per_alert;   /* store rows written per alert (receipts included) */
    char rows_by_kind[512];  /* ... by kind */
    size_t rejected;         /* confirms not accepted */
    size_t bad;              /* deliveries that failed the check */
} vb_wide_result;

/* Seals the alerts and signs the receipts (not timed), then runs the phase. */
vg_err vb_wide_phase(vb_wide_result *out, vb_net *net, const vb_wide_spec *spec,
                     vg_reason *why) VG_MUST_USE;

#endif
