/*
 * agent_store.h — an agency's local SQLite store (<store>/agent.db): the
 * outbox of alerts not yet confirmed, the record of what was sent, the inbox
 * of alerts received (with what was handed to an acknowledging program and
 * how each hand-over ended), the sequence counter, and the broker's
 * audit-log checkpoints this agency witnessed (with any fault it found:
 * evidence) and the broker signing keys it trusts as a witness. Schema
 * version 3 (PRAGMA user_version); an older store is migrated in place when
 * it is opened.
 *
 * WAL, synchronous=FULL: a write that returns is on disk. Several agent
 * processes of one agency (a listener and a publisher) may share the store.
 * Holds envelopes (ciphertext) only, never plaintext. Internal to
 * libvigil-agent.
 */
#ifndef VIGIL_AGENTS_AGENT_STORE_H
#define VIGIL_AGENTS_AGENT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"
#include "vigil/keys.h"
#include "vigil/merkle.h"
#include "vigil/wire.h"

typedef struct vga_store vga_store;

vg_err vga_store_open(vga_store **out, const char *dir, vg_reason *why) VG_MUST_USE;
void vga_store_destroy(vga_store **s_p);

vg_err vga_store_begin(vga_store *s, vg_reason *why) VG_MUST_USE;
vg_err vga_store_commit(vga_store *s, vg_reason *why) VG_MUST_USE;
void vga_store_rollback(vga_store *s);

/* Next sequence number: max(last + 1, now_ms), recorded as last. In a transaction. */
vg_err vga_store_next_seq(vga_store *s, int64_t now_ms, uint64_t *out) VG_MUST_USE;

/* Queues an envelope; VG_ERR_DUPLICATE when the id is already queued. */
vg_err vga_store_outbox_add(vga_store *s, const uint8_t id[VG_ALERT_ID_LEN], uint64_t seq,
                            const uint8_t *env, size_t len, int64_t now_ms) VG_MUST_USE;

/* Calls fn for each queued envelope in sequence order. */
typedef void (*vga_outbox_fn)(void *ctx, const uint8_t *id, const uint8_t *env, size_t len);
vg_err vga_store_outbox_each(vga_store *s, vga_outbox_fn fn, void *ctx) VG_MUST_USE;

vg_err vga_store_outbox_count(vga_store *s, size_t *out) VG_MUST_USE;
bool vga_store_outbox_has(vga_store *s, const uint8_t id[VG_ALERT_ID_LEN]);

/* Moves an alert out of the outbox into the sent record with its outcome
 * ("accepted", "duplicate" or a reject code) — one transaction. No-op when
 * it is not queued. */
vg_err vga_store_outbox_done(vga_store *s, const uint8_t id[VG_ALERT_ID_LEN], const char *outcome,
                             const char *reason, int64_t now_ms) VG_MUST_USE;

/* Inbox. VG_OK with *found and the stored envelope hash, or not found. */
vg_err vga_store_inbox_find(vga_store *s, const uint8_t id[VG_ALERT_ID_LEN], bool *found,
                            uint8_t hash_out[VG_HASH_LEN]) VG_MUST_USE;

/* Stores a received, verified, opened envelope durably, with the share
 * record that gave it to us (NULL when we are a listed recipient).
 * surfaced says it was handed to the application already. *row_out (may be
 * NULL) is the new inbox row's id. */
vg_err vga_store_inbox_add(vga_store *s, const uint8_t id[VG_ALERT_ID_LEN], const char *sender,
                           const uint8_t hash[VG_HASH_LEN], const uint8_t *env, size_t len,
                           const uint8_t *share, size_t share_len, int64_t now_ms, bool surfaced,
                           int64_t *row_out) VG_MUST_USE;

/* One inbox row's bytes (malloc'ed; vga_inbox_entry_fini frees them). */
typedef struct vga_inbox_entry {
    uint8_t *envelope;   /* signed envelope; NULL when there was no row */
    size_t envelope_len; /* its length */
    uint8_t *share;      /* share record, or NULL */
    size_t share_len;    /* its length */
    int64_t row;         /* inbox row id */
} vga_inbox_entry;

void vga_inbox_entry_fini(vga_inbox_entry *e);

/* The oldest stored alert not yet handed to the application (envelope NULL
 * when there is none). */
vg_err vga_store_inbox_next_unsurfaced(vga_store *s, vga_inbox_entry *out) VG_MUST_USE;

/* The stored alert with this id (envelope NULL when not in the inbox). */
vg_err vga_store_inbox_get(vga_store *s, const uint8_t id[VG_ALERT_ID_LEN],
                           vga_inbox_entry *out) VG_MUST_USE;

/* The stored alert with the smallest row id above after_row (envelope NULL
 * when there is none): how a relay walks the inbox with a durable cursor. */
vg_err vga_store_inbox_after(vga_store *s, int64_t after_row, vga_inbox_entry *out) VG_MUST_USE;

/* Marks inbox row `row` as handed to the application (or passed over). */
vg_err vga_store_inbox_mark_surfaced(vga_store *s, int64_t row) VG_MUST_USE;

/* ---- hand-over to an acknowledging program (agent_handover.c) --------- */

/*
 * An inbox row handed to a program that acknowledges it (vga_handover_next,
 * `listen --exec`) has a hand-over state (inbox.handover) and one
 * `handovers` row per attempt (when it was handed, when and how it ended):
 *   NULL      never handed to such a program (a plain listen printed it, or
 *             nobody has taken it yet: surfaced says which);
 *   handed    handed over; the program's outcome is not recorded yet (at
 *             start, such a row was interrupted: vga_store_handover_recover);
 *   failed    the last attempt failed; due again at retry_ms;
 *   parked    failed too often; waits for an operator (vga_store_handover_rearm);
 *   handled   the program acknowledged it; never handed over again.
 */
#define VGA_HO_HANDED "handed"
#define VGA_HO_FAILED "failed"
#define VGA_HO_PARKED "parked"
#define VGA_HO_HANDLED "handled"

/* Marks inbox row `row` surfaced and handed, and opens an attempt at
 * now_ms; *attempt is the number of attempts so far, this one included.
 * Run it in the transaction that surfaces the row (or adds it). */
vg_err vga_store_handover_begin(vga_store *s, int64_t row, int64_t now_ms,
                                uint32_t *attempt) VG_MUST_USE;

/* A row's hand-over as stored; row 0 when the alert is not in the inbox. */
typedef struct vga_store_handover {
    int64_t row;       /* inbox row id */
    char state[16];    /* VGA_HO_..., "" when never handed over */
    uint32_t failures; /* failed attempts since it was last armed */
    int64_t retry_ms;  /* when a failed one is due again, 0 = not set */
} vga_store_handover;

vg_err vga_store_handover_find(vga_store *s, const uint8_t id[VG_ALERT_ID_LEN],
                               vga_store_handover *out) VG_MUST_USE;

/* Ends the open attempt of a handed row with outcome ("handled", "exit 1",
 * "signal 9", ...) and moves the row to state (VGA_HO_HANDLED,
 * VGA_HO_FAILED with retry_ms, VGA_HO_PARKED); a failure adds one to its
 * failures. One transaction; a row that is not handed is left as it is. */
vg_err vga_store_handover_end(vga_store *s, int64_t row, int64_t now_ms, const char *outcome,
                              const char *state, int64_t retry_ms) VG_MUST_USE;

/* Called for each interrupted hand-over: the alert, its failures counting
 * this one, and whether that parks it. */
typedef void (*vga_handover_fn)(void *ctx, const uint8_t *id, uint32_t failures, bool parked);

/* Every row still handed (its process ended before the program's outcome
 * was recorded: a crash, kill -9) ends its attempt as "interrupted", counts
 * as a failure and is due at once, or parked when that makes failures_max.
 * One transaction; fn (may be NULL) sees each row first. */
vg_err vga_store_handover_recover(vga_store *s, int64_t now_ms, uint32_t failures_max,
                                  vga_handover_fn fn, void *ctx) VG_MUST_USE;

/* The failed row due first (retry_ms <= now_ms; envelope NULL when none) and
 * the earliest retry_ms of any failed row (0 when there is none). */
vg_err vga_store_handover_next_due(vga_store *s, int64_t now_ms, vga_inbox_entry *out,
                                   int64_t *next_retry_ms) VG_MUST_USE;

/* Every parked row becomes failed with no failures, due at now_ms. */
vg_err vga_store_handover_rearm(vga_store *s, int64_t now_ms, size_t *n_out) VG_MUST_USE;

/* The parked rows: the first max ids into ids, their number into *n_out. */
vg_err vga_store_handover_parked(vga_store *s, uint8_t (*ids)[VG_ALERT_ID_LEN], size_t max,
                                 size_t *n_out) VG_MUST_USE;

/* ---- audit checkpoints (agent_audit.c) --------------------------------- */

/* One held checkpoint. checked: its consistency with the chain of checked
 * checkpoints was proven (the first one ever held is checked by trust). */
typedef struct vga_store_cp {
    uint64_t size;                    /* tree size */
    uint8_t root[VG_MERKLE_HASH_LEN]; /* RFC 6962 root */
    char *note;                       /* the signed note as received, NUL-terminated */
    size_t note_len;                  /* its length */
    int64_t received_ms;              /* when this agency first held it */
    bool checked;                     /* consistency proven */
} vga_store_cp;

void vga_store_cp_fini(vga_store_cp *cp);

/* Which checkpoint vga_store_cp_get reads. */
typedef enum vga_store_cp_which {
    VGA_CP_SIZE = 1,            /* the one of that size */
    VGA_CP_LATEST_CHECKED = 2,  /* the largest checked one */
    VGA_CP_FIRST_UNCHECKED = 3, /* the smallest one not yet checked */
    VGA_CP_LARGEST = 4          /* the largest held, checked or not (each is broker-signed) */
} vga_store_cp_which;

/* Reads a checkpoint; *found false (out untouched) when there is none. */
vg_err vga_store_cp_get(vga_store *s, vga_store_cp_which which, uint64_t size, vga_store_cp *out,
                        bool *found) VG_MUST_USE;

/* Keeps a verified checkpoint (unchecked unless checked); a row of that size
 * already held is left as it is. */
vg_err vga_store_cp_add(vga_store *s, uint64_t size, const uint8_t root[VG_MERKLE_HASH_LEN],
                        const char *note, size_t note_len, int64_t now_ms,
                        bool checked) VG_MUST_USE;

vg_err vga_store_cp_mark_checked(vga_store *s, uint64_t size) VG_MUST_USE;
vg_err vga_store_cp_delete(vga_store *s, uint64_t size) VG_MUST_USE;

/* Records an audit fault for good: kind ("fork", "bad_checkpoint",
 * "inclusion"), what was wrong, and the notes involved (may be NULL). */
vg_err vga_store_fault_add(vga_store *s, int64_t now_ms, const char *kind, const char *reason,
                           const char *held_note, const char *bad_note) VG_MUST_USE;

/* ---- broker signing keys this agency trusts (agent_audit.c) ------------ */

/* *trusted: key is one; *any: some key is (none before the first
 * checkpoint, or in a store from before version 3). */
vg_err vga_store_broker_key_get(vga_store *s, const uint8_t key[VG_SIGN_PK_LEN], bool *trusted,
                                bool *any) VG_MUST_USE;

/* Trusts key from now_ms: how is "first" (the first key seen, like the first
 * checkpoint: on trust), "held" (the key of checkpoints held before the
 * store recorded keys) or "transition" (handed over by a trusted key: note
 * is the key-transition note, the evidence). Already trusted: unchanged. */
vg_err vga_store_broker_key_add(vga_store *s, const uint8_t key[VG_SIGN_PK_LEN], int64_t now_ms,
                                const char *how, const char *note) VG_MUST_USE;

/* The latest recorded fault: *found, its kind and reason (truncated to fit). */
vg_err vga_store_fault_last(vga_store *s, bool *found, char *kind, size_t kind_len, char *reason,
                            size_t reason_len) VG_MUST_USE;

#endif
