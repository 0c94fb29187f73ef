/*
 * agent_store.h — an agency's local SQLite store (<store>/agent.db): the
 * outbox of alerts not yet confirmed, the record of what was sent, the inbox
 * of alerts received, the sequence counter, and the broker's audit-log
 * checkpoints this agency witnessed (with any fault it found: evidence).
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
 * surfaced says it was handed to the application already. */
vg_err vga_store_inbox_add(vga_store *s, const uint8_t id[VG_ALERT_ID_LEN], const char *sender,
                           const uint8_t hash[VG_HASH_LEN], const uint8_t *env, size_t len,
                           const uint8_t *share, size_t share_len, int64_t now_ms,
                           bool surfaced) VG_MUST_USE;

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
    VGA_CP_SIZE = 1,           /* the one of that size */
    VGA_CP_LATEST_CHECKED = 2, /* the largest checked one */
    VGA_CP_FIRST_UNCHECKED = 3 /* the smallest one not yet checked */
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

/* The latest recorded fault: *found, its kind and reason (truncated to fit). */
vg_err vga_store_fault_last(vga_store *s, bool *found, char *kind, size_t kind_len, char *reason,
                            size_t reason_len) VG_MUST_USE;

#endif
