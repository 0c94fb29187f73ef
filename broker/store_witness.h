/*
 * broker/store_witness.h — the store's witness cosignatures (docs/audit.md,
 * "Cosignatures"): part of the store contract (store.h, whose rules hold
 * here too), kept apart so that store.h stays one readable file. Each row
 * is a cosignature line an agency sent for a checkpoint the broker signed,
 * kept exactly as received; the broker verified it before storing it and
 * `vigilctl audit verify` verifies every stored one again. Insert-only:
 * nothing here updates or deletes a row.
 */
#ifndef VIGIL_BROKER_STORE_WITNESS_H
#define VIGIL_BROKER_STORE_WITNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* A stored cosignature. */
typedef struct vgb_cosign_row {
    uint64_t size;       /* the checkpoint it cosigns (audit_checkpoints.size) */
    const char *agency;  /* the cosigning agency: the witness name */
    const char *line;    /* the cosignature line as received (borrowed for the call) */
    size_t line_len;     /* its length */
    int64_t time_s;      /* the time it carries, POSIX seconds, as stored */
    int64_t received_ms; /* when the broker stored it */
} vgb_cosign_row;

/* Stores agency's cosignature of the checkpoint of `size`, inside the
 * transaction; *added is false (and nothing changes) when the agency's
 * cosignature of that checkpoint is stored already. */
vg_err vgb_store_add_cosignature(vgb_store *s, uint64_t size, const char *agency, const char *line,
                                 size_t line_len, int64_t time_s, int64_t received_ms,
                                 bool *added) VG_MUST_USE;

/* Calls fn for every stored cosignature of a checkpoint of size >= min_size
 * (0: all of them), by size, then agency; fn may read the store (audit
 * verify looks up each one's checkpoint). */
typedef void (*vgb_cosign_fn)(void *ctx, const vgb_cosign_row *row);
vg_err vgb_store_cosignatures(vgb_store *s, uint64_t min_size, vgb_cosign_fn fn,
                              void *ctx) VG_MUST_USE;

/* Calls fn with the stored checkpoint of exactly `size`, or not at all
 * (*found false). */
vg_err vgb_store_audit_checkpoint_at(vgb_store *s, uint64_t size, vgb_checkpoint_fn fn, void *ctx,
                                     bool *found) VG_MUST_USE;

#endif
