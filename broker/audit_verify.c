/* audit_verify.c — offline verification of the audit log in a store (see
 * audit.h, vgb_audit_verify). Reads only, through the store interface. */
#include "audit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/transition.h"

/* A checkpoint given by the caller or stored, verified or to be. */
typedef struct s_cp {
    uint64_t size;                    /* its tree size */
    uint8_t root[VG_MERKLE_HASH_LEN]; /* its root (a stored row's root column) */
    bool root_ok;                     /* that column is a hash */
    char *note;                       /* a stored one's note (malloc'ed), NULL for given */
    size_t note_len;                  /* its length */
} s_cp;

typedef struct s_verifier {
    vgb_store *store;                 /* read only */
    const vgb_audit_verify_params *p; /* what to trust */
    vgb_audit_report *rep;            /* what was found */
    vg_merkle_range range;            /* recomputed from the leaves read so far */
    s_cp *stored;                     /* the stored checkpoints, by size */
    size_t n_stored, cap_stored;      /* how many */
    size_t next_stored;               /* the first not yet checked */
    s_cp *given;                      /* the caller's checkpoints, by size */
    size_t n_given;                   /* how many */
    size_t next_given;                /* the first not yet checked */
    uint64_t good_size;               /* largest checkpoint size verified so far */
    uint64_t urgent_end;              /* 1 + the last urgent leaf's index, 0 = none yet */
    vg_err rc;                        /* VG_OK, VG_ERR_CONFLICT (a fault) or a read error */
} s_verifier;

/* The table a fault of this kind is in. */
static const char *
s_table_of(vgb_audit_fault fault)
{
    switch (fault) {
    case VGB_AUDIT_FAULT_SUBTREE:
        return "audit_nodes";
    case VGB_AUDIT_FAULT_CHECKPOINT:
        return "audit_checkpoints";
    default:
        return "audit_leaves";
    }
}

static vg_err VG_PRINTF(5, 6) s_fault(s_verifier *v, vgb_audit_fault fault, uint64_t index,
                                      uint64_t cp_size, const char *fmt, ...)
{
    v->rep->fault = fault;
    v->rep->first_bad_index = index;
    v->rep->checkpoint_size = cp_size;
    v->rep->has_checkpoint = cp_size > 0 || fault == VGB_AUDIT_FAULT_CHECKPOINT;
    v->rep->table = s_table_of(fault);
    v->rep->row[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->rep->detail, sizeof v->rep->detail, fmt, ap);
    va_end(ap);
    return VG_ERR_CONFLICT;
}

static int
s_cmp_cp(const void *a, const void *b)
{
    uint64_t x = ((const s_cp *)a)->size;
    uint64_t y = ((const s_cp *)b)->size;
    return x < y ? -1 : x > y;
}

/* Verifies a checkpoint note by the broker's key, or by any broker key the
 * document lists when the caller gave one. */
static vg_err
s_verify_note(const s_verifier *v, vg_checkpoint **cp, const char *note, size_t len, vg_reason *r)
{
    if (v->p->doc != NULL) {
        return vg_checkpoint_verify_netdoc(cp, note, len, v->p->doc, NULL, NULL, r);
    }
    return vg_checkpoint_verify(cp, note, len, v->p->origin, v->p->broker_pk, r);
}

/* Verifies the caller's checkpoints up front and sorts them by size. */
static vg_err
s_load_given(s_verifier *v)
{
    if (v->p->n_notes == 0) {
        return VG_OK;
    }
    v->given = calloc(v->p->n_notes, sizeof *v->given);
    if (v->given == NULL) {
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < v->p->n_notes; i++) {
        vg_checkpoint *cp = NULL;
        vg_reason r = {""};
        vg_err rc = s_verify_note(v, &cp, v->p->notes[i], v->p->note_lens[i], &r);
        if (rc != VG_OK) {
            s_fault(v, VGB_AUDIT_FAULT_CHECKPOINT, VGB_AUDIT_NO_INDEX, 0,
                    "given checkpoint %zu does not verify (%s): %s", i + 1, vg_err_code(rc),
                    r.text);
            v->rep->table = NULL; /* held outside the store */
            v->rep->has_checkpoint = false;
            snprintf(v->rep->row, sizeof v->rep->row, "given=%zu", i + 1);
            return VG_ERR_CONFLICT;
        }
        v->given[i].size = vg_checkpoint_size(cp);
        memcpy(v->given[i].root, vg_checkpoint_root(cp), VG_MERKLE_HASH_LEN);
        vg_checkpoint_destroy(&cp);
    }
    v->n_given = v->p->n_notes;
    qsort(v->given, v->n_given, sizeof *v->given, s_cmp_cp);
    return VG_OK;
}

static void
s_take_stored(void *ctx, const vgb_checkpoint_row *row)
{
    s_verifier *v = ctx;
    if (v->rc != VG_OK) {
        return;
    }
    if (v->n_stored == v->cap_stored) {
        size_t cap = v->cap_stored ? 2 * v->cap_stored : 64;
        s_cp *grown = realloc(v->stored, cap * sizeof *grown);
        if (grown == NULL) {
            v->rc = VG_ERR_NOMEM;
            return;
        }
        v->stored = grown;
        v->cap_stored = cap;
    }
    s_cp *c = &v->stored[v->n_stored];
    *c = (s_cp){.size = row->size, .root_ok = row->root_ok, .note_len = row->note_len};
    memcpy(c->root, row->root, sizeof c->root);
    if ((c->note = malloc(row->note_len + 1)) == NULL) {
        v->rc = VG_ERR_NOMEM;
        return;
    }
    memcpy(c->note, row->note, row->note_len);
    c->note[row->note_len] = '\0';
    v->n_stored++;
}

static vg_err
s_root_fault(s_verifier *v, uint64_t size, const char *whose)
{
    if (size == 0) {
        return s_fault(v, VGB_AUDIT_FAULT_CHECKPOINT, VGB_AUDIT_NO_INDEX, 0,
                       "the %s checkpoint at size 0 does not have the empty root", whose);
    }
    return s_fault(v, VGB_AUDIT_FAULT_ROOT, v->good_size, size,
                   "the leaves do not give the root of the %s checkpoint at size %llu: leaves "
                   "%llu..%llu were altered after it was signed",
                   whose, (unsigned long long)size, (unsigned long long)v->good_size,
                   (unsigned long long)(size - 1));
}

/* Checks a stored checkpoint row of size `size` against its note and the
 * recomputed root. */
static vg_err
s_check_stored(s_verifier *v, const s_cp *c, const uint8_t root[VG_MERKLE_HASH_LEN])
{
    vg_checkpoint *cp = NULL;
    vg_reason r = {""};
    vg_err rc = s_verify_note(v, &cp, c->note, c->note_len, &r);
    if (rc != VG_OK) {
        return s_fault(v, VGB_AUDIT_FAULT_CHECKPOINT, VGB_AUDIT_NO_INDEX, c->size,
                       "stored checkpoint at size %llu does not verify (%s): %s",
                       (unsigned long long)c->size, vg_err_code(rc), r.text);
    }
    bool row_ok = c->root_ok && vg_checkpoint_size(cp) == c->size &&
                  memcmp(vg_checkpoint_root(cp), c->root, sizeof c->root) == 0;
    bool root_ok = memcmp(vg_checkpoint_root(cp), root, VG_MERKLE_HASH_LEN) == 0;
    vg_checkpoint_destroy(&cp);
    if (!row_ok) {
        return s_fault(v, VGB_AUDIT_FAULT_CHECKPOINT, VGB_AUDIT_NO_INDEX, c->size,
                       "stored checkpoint row at size %llu disagrees with its signed note",
                       (unsigned long long)c->size);
    }
    if (!root_ok) {
        return s_root_fault(v, c->size, "stored");
    }
    v->rep->n_checkpoints++;
    return VG_OK;
}

/* Checks every checkpoint (stored and given) of the current size. */
static vg_err
s_check_at_size(s_verifier *v)
{
    uint64_t size = v->range.size;
    bool due = (v->next_stored < v->n_stored && v->stored[v->next_stored].size == size) ||
               (v->next_given < v->n_given && v->given[v->next_given].size == size);
    if (!due) {
        return VG_OK; /* the root is only needed where a checkpoint stands: linear overall */
    }
    uint8_t root[VG_MERKLE_HASH_LEN];
    vg_merkle_range_root(&v->range, root);
    bool any = false;
    for (; v->next_stored < v->n_stored && v->stored[v->next_stored].size == size;
         v->next_stored++) {
        vg_err rc = s_check_stored(v, &v->stored[v->next_stored], root);
        if (rc != VG_OK) {
            return rc;
        }
        any = true;
    }
    for (; v->next_given < v->n_given && v->given[v->next_given].size == size; v->next_given++) {
        if (memcmp(v->given[v->next_given].root, root, sizeof root) != 0) {
            return s_root_fault(v, size, "given");
        }
        v->rep->n_checkpoints++;
        any = true;
    }
    if (any) {
        v->good_size = size;
    }
    return VG_OK;
}

/* Compares the subtrees completed by the last leaf with the stored ones. */
static vg_err
s_check_nodes(s_verifier *v, const vg_merkle_node *nodes, size_t n_nodes)
{
    for (size_t i = 1; i < n_nodes; i++) {
        uint8_t stored[VG_MERKLE_HASH_LEN];
        vg_err rc = vgb_store_audit_node(v->store, nodes[i].level, nodes[i].index, stored);
        if (rc != VG_OK && rc != VG_ERR_NOT_FOUND && rc != VG_ERR_MALFORMED) {
            return rc;
        }
        if (rc != VG_OK || memcmp(stored, nodes[i].hash, sizeof stored) != 0) {
            uint64_t start = nodes[i].index << nodes[i].level;
            uint64_t end = start + (UINT64_C(1) << nodes[i].level);
            return s_fault(
                v, VGB_AUDIT_FAULT_SUBTREE, start > v->good_size ? start : v->good_size, 0,
                "stored subtree hash (level %u, index %llu) over leaves %llu..%llu is "
                "%s: those leaves or that hash were altered",
                nodes[i].level, (unsigned long long)nodes[i].index, (unsigned long long)start,
                (unsigned long long)(end - 1), rc == VG_ERR_NOT_FOUND ? "missing" : "different");
        }
    }
    return VG_OK;
}

/* The kinds the broker signs a checkpoint for in the leaf's own batch
 * (record.c: vgb_ledger_urgent): a person's receipt, an unopenable one, an
 * overdue or escalation step, a rejection, a new document, a reassignment. */
static bool
s_is_urgent(vg_audit_kind kind)
{
    switch (kind) {
    case VG_AUDIT_ACKNOWLEDGED:
    case VG_AUDIT_IN_PROGRESS:
    case VG_AUDIT_DECLINED:
    case VG_AUDIT_UNOPENABLE:
    case VG_AUDIT_OVERDUE:
    case VG_AUDIT_ESCALATED:
    case VG_AUDIT_REJECTED:
    case VG_AUDIT_NETWORK_CHANGED:
    case VG_AUDIT_REASSIGNED:
        return true;
    default:
        return false;
    }
}

/* Checks one leaf row and adds it to the recomputed tree. */
static vg_err
s_check_leaf(s_verifier *v, uint64_t idx, const uint8_t *leaf, size_t len, const uint8_t *stored,
             bool hash_ok)
{
    uint64_t want = v->range.size;
    if (idx != want) {
        return s_fault(v, VGB_AUDIT_FAULT_DELETED, want, 0,
                       "leaf %llu is missing (deleted); the next stored leaf is %llu",
                       (unsigned long long)want, (unsigned long long)idx);
    }
    uint8_t h[VG_MERKLE_HASH_LEN];
    vg_merkle_leaf_hash(h, leaf, len);
    if (!hash_ok || memcmp(stored, h, sizeof h) != 0) {
        return s_fault(v, VGB_AUDIT_FAULT_ALTERED, idx, 0,
                       "leaf %llu was altered: its bytes do not match its stored leaf hash",
                       (unsigned long long)idx);
    }
    vg_audit_event ev;
    vg_reason r = {""};
    if (vg_audit_leaf_parse(&ev, leaf, len, &r) != VG_OK) {
        return s_fault(v, VGB_AUDIT_FAULT_MALFORMED, idx, 0, "leaf %llu does not parse: %s",
                       (unsigned long long)idx, r.text);
    }
    uint64_t says = ev.index;
    if (s_is_urgent(ev.kind)) {
        v->urgent_end = idx + 1;
    }
    vg_audit_event_fini(&ev);
    if (says != idx) {
        return s_fault(v, VGB_AUDIT_FAULT_REORDERED, idx, 0,
                       "leaf at index %llu says it is leaf %llu: leaves were reordered, or one "
                       "was deleted and the rest renumbered",
                       (unsigned long long)idx, (unsigned long long)says);
    }
    vg_merkle_node nodes[VG_MERKLE_LEVELS_MAX];
    size_t n_nodes = 0;
    if (vg_merkle_range_append(&v->range, h, nodes, &n_nodes) != VG_OK) {
        return s_fault(v, VGB_AUDIT_FAULT_MALFORMED, idx, 0, "log over the size limit");
    }
    v->rep->n_leaves++;
    vg_err rc = s_check_nodes(v, nodes, n_nodes);
    return rc == VG_OK ? s_check_at_size(v) : rc;
}

static bool
s_on_leaf(void *ctx, uint64_t idx, const uint8_t *leaf, size_t len, const uint8_t *hash,
          bool hash_ok)
{
    s_verifier *v = ctx;
    v->rc = s_check_leaf(v, idx, leaf, len, hash, hash_ok);
    return v->rc == VG_OK;
}

/* After the last leaf: nothing may cover leaves that are not there. */
static vg_err
s_check_tail(s_verifier *v)
{
    uint64_t n = v->range.size;
    if (v->next_stored < v->n_stored) {
        uint64_t size = v->stored[v->next_stored].size;
        return s_fault(v, VGB_AUDIT_FAULT_TRUNCATED, n, size,
                       "the log has %llu leaves but a stored checkpoint covers %llu: leaves "
                       "from %llu on were removed",
                       (unsigned long long)n, (unsigned long long)size, (unsigned long long)n);
    }
    if (v->next_given < v->n_given) {
        uint64_t size = v->given[v->next_given].size;
        return s_fault(v, VGB_AUDIT_FAULT_TRUNCATED, n, size,
                       "the log has %llu leaves but a given checkpoint covers %llu: leaves "
                       "from %llu on were removed",
                       (unsigned long long)n, (unsigned long long)size, (unsigned long long)n);
    }
    bool beyond = false;
    vg_err rc = vgb_store_audit_nodes_beyond(v->store, n, &beyond);
    if (rc == VG_OK && beyond) {
        return s_fault(v, VGB_AUDIT_FAULT_TRUNCATED, n, 0,
                       "the log has %llu leaves but subtree hashes exist past its end: leaves "
                       "from %llu on were removed",
                       (unsigned long long)n, (unsigned long long)n);
    }
    if (rc != VG_OK) {
        return rc;
    }
    uint64_t signed_size = v->n_stored > 0 ? v->stored[v->n_stored - 1].size : 0;
    if (v->urgent_end > signed_size) {
        return s_fault(v, VGB_AUDIT_FAULT_CHECKPOINT, v->urgent_end - 1, signed_size,
                       "leaf %llu is one the broker signs a checkpoint for in its own batch (a "
                       "person's receipt, a step, a rejection, ...) but no stored checkpoint "
                       "covers it (the largest is of %llu leaves): a checkpoint was deleted",
                       (unsigned long long)(v->urgent_end - 1), (unsigned long long)signed_size);
    }
    return VG_OK;
}

vg_err
vgb_audit_verify(vgb_store *store, const vgb_audit_verify_params *p, vgb_audit_report *report,
                 vg_reason *why)
{
    if (store == NULL || p == NULL || p->origin == NULL || p->broker_pk == NULL || report == NULL ||
        (p->n_notes > 0 && (p->notes == NULL || p->note_lens == NULL))) {
        return vg_reason_set(why, VG_ERR_INVALID, "audit verify: missing parameters");
    }
    memset(report, 0, sizeof *report);
    report->first_bad_index = VGB_AUDIT_NO_INDEX;
    s_verifier v = {.store = store, .p = p, .rep = report};
    vg_merkle_range_init(&v.range);
    vg_err rc = s_load_given(&v);
    if (rc == VG_OK) { /* a few per thousand leaves: kept in memory, by size */
        rc = vgb_store_audit_checkpoints(store, s_take_stored, &v);
        rc = rc == VG_OK ? v.rc : rc;
    }
    if (rc == VG_OK) { /* checkpoints at size 0, then each leaf and those after it */
        rc = s_check_at_size(&v);
    }
    if (rc == VG_OK) {
        rc = vgb_store_audit_leaves(store, s_on_leaf, &v);
        rc = rc == VG_OK ? v.rc : rc;
    }
    if (rc == VG_OK) {
        rc = s_check_tail(&v);
    }
    if (rc == VG_ERR_CONFLICT) {
        vg_reason_set(why, rc, "audit log: %s", report->detail);
    } else if (rc != VG_OK) {
        vg_reason_set(why, rc, "audit log: cannot read the store: %s", vg_strerror(rc));
    }
    for (size_t i = 0; i < v.n_stored; i++) {
        free(v.stored[i].note);
    }
    free(v.stored);
    free(v.given);
    return rc;
}
