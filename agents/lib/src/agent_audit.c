/* agent_audit.c — agencies as witnesses of the broker's audit log (see
 * vigil/agent.h, "audit"; docs/audit.md).
 *
 * The held chain lives in the local store (agent_store.h, checkpoints): a
 * checkpoint is kept as soon as its signature verifies, "unchecked", and is
 * marked checked once the broker's consistency proof between it and the
 * largest checked one verifies. A contradiction moves it out of the chain
 * into audit_faults, with the held note beside it: the evidence.
 *
 * Trade-off: a Confirm's checkpoint is proven at the next vga_audit_sync,
 * not at once, because the frame handler that sees it must not wait for
 * another reply (that would lose the reply its caller is waiting for). A
 * short-lived publisher therefore leaves its checkpoint unchecked for the
 * next process on the store to prove; nothing is lost meanwhile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "agent_internal.h"
#include "vigil/log.h"
#include "vigil/transition.h"

#define S_PROVE_POLL_MS 200 /* between syncs while no checkpoint covers an alert's leaves */
#define S_ROOT_HEX_LEN (2 * VG_MERKLE_HASH_LEN + 1)

/* Where a checkpoint note came from: a bad one from the broker is its fault. */
typedef enum s_source { S_FROM_BROKER = 1, S_FROM_ELSEWHERE = 2 } s_source;

/* What one QueryResult carried, copied out of the frame (hostile sizes checked). */
typedef struct s_answer {
    char *checkpoint;                          /* note, NUL-terminated, or NULL */
    size_t checkpoint_len;                     /* its length */
    vg_merkle_hash proof[VG_MERKLE_PROOF_MAX]; /* proof hashes */
    size_t n_proof;                            /* count */
    bool proof_bad;                            /* a hash of the wrong size, or too many */
    uint8_t *leaf;                             /* leaf bytes, or NULL */
    size_t leaf_len;                           /* their length */
    uint64_t leaf_index;                       /* the leaf's index as the broker says */
    uint64_t *indices;                         /* an alert's leaf indices */
    size_t n_indices;                          /* count */
    bool failed;                               /* out of memory */
} s_answer;

static void
s_answer_fini(s_answer *ans)
{
    free(ans->checkpoint);
    free(ans->leaf);
    free(ans->indices);
    memset(ans, 0, sizeof *ans);
}

static bool
s_on_result(void *ctx, const Vigil__QueryResult *r)
{
    s_answer *ans = ctx;
    if (r->checkpoint.len > 0 && r->checkpoint.len <= VG_CHECKPOINT_MAX_BYTES) {
        ans->checkpoint = malloc(r->checkpoint.len + 1);
        ans->failed |= ans->checkpoint == NULL;
        if (ans->checkpoint != NULL) {
            memcpy(ans->checkpoint, r->checkpoint.data, r->checkpoint.len);
            ans->checkpoint[r->checkpoint.len] = '\0';
            ans->checkpoint_len = r->checkpoint.len;
        }
    }
    ans->proof_bad = r->n_proof > VG_MERKLE_PROOF_MAX;
    for (size_t i = 0; !ans->proof_bad && i < r->n_proof; i++) {
        ans->proof_bad = r->proof[i].len != VG_MERKLE_HASH_LEN;
        if (!ans->proof_bad) {
            memcpy(ans->proof[i], r->proof[i].data, VG_MERKLE_HASH_LEN);
        }
    }
    ans->n_proof = ans->proof_bad ? 0 : r->n_proof;
    if (r->leaf.len > 0 && r->leaf.len <= VG_AUDIT_LEAF_MAX_BYTES) {
        ans->leaf = malloc(r->leaf.len);
        ans->failed |= ans->leaf == NULL;
        if (ans->leaf != NULL) {
            memcpy(ans->leaf, r->leaf.data, r->leaf.len);
            ans->leaf_len = r->leaf.len;
        }
    }
    ans->leaf_index = r->leaf_index;
    if (r->n_leaf_indices > 0) {
        ans->indices = calloc(r->n_leaf_indices, sizeof *ans->indices);
        ans->failed |= ans->indices == NULL;
        if (ans->indices != NULL) {
            memcpy(ans->indices, r->leaf_indices, r->n_leaf_indices * sizeof *ans->indices);
            ans->n_indices = r->n_leaf_indices;
        }
    }
    return !ans->failed;
}

/* Sends an audit query and waits for its result or the broker's error. */
static vg_err
s_query(vga_agent *a, Vigil__Query *q, int64_t timeout_ms, s_answer *ans, vg_reason *why)
{
    memset(ans, 0, sizeof *ans);
    return vga_conn_query(a, q, timeout_ms, s_on_result, ans, why);
}

/* ---- faults ------------------------------------------------------------------------ */

/* A NUL-terminated copy of hostile note bytes, for the evidence table. */
static char *
s_note_copy(const uint8_t *note, size_t len)
{
    len = len > VG_CHECKPOINT_MAX_BYTES ? VG_CHECKPOINT_MAX_BYTES : len;
    char *p = malloc(len + 1);
    if (p != NULL) {
        memcpy(p, note, len);
        p[len] = '\0';
        for (size_t i = 0; i < len; i++) {
            p[i] = p[i] == '\0' ? '?' : p[i];
        }
    }
    return p;
}

/* Records a fault for good and returns VG_ERR_CONFLICT with the reason. */
static vg_err
s_fault(vga_agent *a, const char *kind, const char *held, const char *bad, const char *reason,
        vg_reason *why)
{
    if (vga_store_fault_add(a->store, vg_clock_wall_ms(a->clock), kind, reason, held, bad) !=
        VG_OK) {
        vg_log(VG_LOG_ERROR, "agent", "audit.unrecorded", "agency=%s kind=%s", vga_agent_agency(a),
               kind);
    }
    return vg_reason_set(why, VG_ERR_CONFLICT, "audit %s: %s", kind, reason);
}

/* Two checkpoints that cannot both be true: held is in the chain, bad is not. */
static vg_err
s_fork(vga_agent *a, const vga_store_cp *held, uint64_t size,
       const uint8_t root[VG_MERKLE_HASH_LEN], const char *note, const char *detail, vg_reason *why)
{
    char held_hex[S_ROOT_HEX_LEN], new_hex[S_ROOT_HEX_LEN];
    vg_hex_encode(held_hex, sizeof held_hex, held->root, VG_MERKLE_HASH_LEN);
    vg_hex_encode(new_hex, sizeof new_hex, root, VG_MERKLE_HASH_LEN);
    vg_log(VG_LOG_ERROR, "agent", "audit.fork",
           "agency=%s held_size=%llu held_root=%s new_size=%llu new_root=%s reason=\"%s\"",
           vga_agent_agency(a), (unsigned long long)held->size, held_hex, (unsigned long long)size,
           new_hex, detail);
    char reason[VG_REASON_MAX];
    snprintf(reason, sizeof reason,
             "the broker's checkpoint of size %llu contradicts the one of size %llu this agency "
             "holds (%s): its log was rewritten; keep both notes as evidence",
             (unsigned long long)size, (unsigned long long)held->size, detail);
    return s_fault(a, "fork", held->note, note, reason, why);
}

/* ---- the broker's signing key ---------------------------------------------------------- */

/* The first 8 bytes of a key in hex, to name it. */
static void
s_key8(char out[17], const uint8_t *pk)
{
    vg_hex_encode(out, 17, pk, 8);
}

/* A store from before it recorded keys holds checkpoints: the key that
 * signed the latest checked one is the one it trusted. */
static vg_err
s_trust_held(vga_agent *a, const vg_netdoc *doc)
{
    vga_store_cp l = {0};
    bool found = false;
    vg_err rc = vga_store_cp_get(a->store, VGA_CP_LATEST_CHECKED, 0, &l, &found);
    const uint8_t *key = NULL;
    vg_checkpoint *cp = NULL;
    if (rc == VG_OK && found &&
        vg_checkpoint_verify_netdoc(&cp, l.note, l.note_len, doc, &key, NULL, NULL) == VG_OK) {
        rc = vga_store_broker_key_add(a->store, key, vg_clock_wall_ms(a->clock), "held", NULL);
    }
    vg_checkpoint_destroy(&cp);
    vga_store_cp_fini(&l);
    return rc;
}

/* Whether the document's key-transition note hands the log from a key this
 * agency trusts to `key`; *from names the key it claims to come from. */
static bool
s_handed_over(vga_agent *a, const vg_netdoc *doc, const uint8_t *key, uint8_t from[32])
{
    const char *note = vg_netdoc_key_transition(doc);
    size_t len = strlen(note);
    bool trusted = false, any = false;
    vg_key_transition t;
    return len > 0 && vg_key_transition_claimed_old(from, note, len) == VG_OK &&
           vga_store_broker_key_get(a->store, from, &trusted, &any) == VG_OK && trusted &&
           vg_key_transition_verify(&t, note, len, vg_netdoc_network(doc), from, NULL) == VG_OK &&
           sodium_memcmp(t.new_pk, key, VG_SIGN_PK_LEN) == 0;
}

/* A previous broker key signs checkpoints only until its overlap ends (by
 * this agency's clock). */
static bool
s_previous_expired(vga_agent *a, const vg_netdoc *doc, const uint8_t *key, int64_t *until)
{
    for (size_t i = 0; i < vg_netdoc_n_previous_broker_keys(doc); i++) {
        vg_broker_keys bk;
        vg_netdoc_previous_broker_keys_at(doc, i, &bk);
        if (bk.sign_pk != NULL && sodium_memcmp(bk.sign_pk, key, VG_SIGN_PK_LEN) == 0) {
            *until = bk.valid_until_ms;
            return vg_clock_wall_ms(a->clock) >= bk.valid_until_ms;
        }
    }
    return false;
}

/* A checkpoint signed by `key` (a key the document lists) is trusted when
 * the key is one this agency trusts: the first one it ever saw (taken on
 * trust, as the first checkpoint is), or one the document's key-transition
 * note, signed by a key it trusted, handed the log to. Anything else is a
 * new key nobody it trusts vouched for: a stolen admin key can put any key
 * in a document, but it cannot make the old broker key sign the hand-over.
 * From the broker that is a fork (recorded with the notes); from elsewhere
 * it is only refused. */
static vg_err
s_trust_key(vga_agent *a, const uint8_t *key, bool previous, const char *note, s_source src,
            vg_reason *why)
{
    const vg_netdoc *doc = vga_agent_doc(a);
    bool trusted = false, any = false;
    char k8[17], f8[17];
    s_key8(k8, key);
    vg_err rc = vga_store_broker_key_get(a->store, key, &trusted, &any);
    if (rc == VG_OK && !any && (rc = s_trust_held(a, doc)) == VG_OK) {
        rc = vga_store_broker_key_get(a->store, key, &trusted, &any);
    }
    if (rc != VG_OK) {
        return vg_reason_set(why, rc, "cannot read the trusted broker keys");
    }
    int64_t until = 0;
    if (trusted && previous && s_previous_expired(a, doc, key, &until)) {
        char t[VG_TIME_STR_LEN], reason[VG_REASON_MAX];
        vg_time_format(t, sizeof t, until);
        snprintf(reason, sizeof reason,
                 "checkpoint signed by the broker's previous key %s.. after its overlap ended "
                 "(%s)",
                 k8, t);
        vg_log(VG_LOG_ERROR, "agent", "audit.bad_checkpoint",
               "agency=%s source=%s code=revoked reason=\"%s\"", vga_agent_agency(a),
               src == S_FROM_BROKER ? "broker" : "elsewhere", reason);
        if (src == S_FROM_BROKER) {
            return s_fault(a, "bad_checkpoint", NULL, note, reason, why);
        }
        return vg_reason_set(why, VG_ERR_REVOKED, "checkpoint rejected: %s", reason);
    }
    if (trusted) {
        return VG_OK;
    }
    if (!any) {
        vg_log(VG_LOG_INFO, "agent", "audit.key_first", "agency=%s key=%s", vga_agent_agency(a),
               k8);
        return vga_store_broker_key_add(a->store, key, vg_clock_wall_ms(a->clock), "first", NULL);
    }
    uint8_t from[32] = {0};
    if (s_handed_over(a, doc, key, from)) {
        s_key8(f8, from);
        vg_log(VG_LOG_INFO, "agent", "audit.key_transition", "agency=%s from=%s to=%s",
               vga_agent_agency(a), f8, k8);
        return vga_store_broker_key_add(a->store, key, vg_clock_wall_ms(a->clock), "transition",
                                        vg_netdoc_key_transition(doc));
    }
    s_key8(f8, from);
    char reason[VG_REASON_MAX];
    snprintf(reason, sizeof reason,
             "the broker signed a checkpoint with key %s.., which no key this agency trusts "
             "handed the log to: the document's key_transition %s; a new broker key is "
             "accepted only after the old one signs the hand-over",
             k8,
             vg_netdoc_key_transition(doc)[0] == '\0'
                 ? "is missing"
                 : "is not a hand-over to it signed by a key this agency trusted");
    vg_log(VG_LOG_ERROR, "agent", "audit.fork", "agency=%s key=%s claimed_from=%s reason=\"%s\"",
           vga_agent_agency(a), k8, f8, "untrusted broker key");
    if (src != S_FROM_BROKER) {
        return vg_reason_set(why, VG_ERR_CONFLICT, "checkpoint rejected: %s", reason);
    }
    vga_store_cp held = {0};
    bool found = false;
    if (vga_store_cp_get(a->store, VGA_CP_LATEST_CHECKED, 0, &held, &found) != VG_OK) {
        found = false; /* the fault is recorded without the held note */
    }
    rc = s_fault(a, "fork", found ? held.note : NULL, note, reason, why);
    vga_store_cp_fini(&held);
    return rc;
}

/* ---- the held chain ------------------------------------------------------------------ */

/* Verifies a note and keeps it (unchecked) when its size is new; a note of
 * a size already held must have the same root. *size_out (may be NULL)
 * gets its size when it is admitted. */
static vg_err
s_admit(vga_agent *a, const uint8_t *note, size_t len, s_source src, uint64_t *size_out,
        vg_reason *why)
{
    const vg_netdoc *doc = vga_agent_doc(a);
    vg_checkpoint *cp = NULL;
    vg_reason r = {{0}};
    const uint8_t *key = NULL;
    bool previous = false;
    vg_err rc = vg_checkpoint_verify_netdoc(&cp, (const char *)note, len, doc, &key, &previous, &r);
    if (rc == VG_OK) {
        rc = s_trust_key(a, key, previous, vg_checkpoint_note(cp), src, why);
        if (rc != VG_OK) {
            vg_checkpoint_destroy(&cp);
            return rc;
        }
    }
    if (rc != VG_OK) {
        vg_log(VG_LOG_ERROR, "agent", "audit.bad_checkpoint",
               "agency=%s source=%s code=%s reason=\"%s\"", vga_agent_agency(a),
               src == S_FROM_BROKER ? "broker" : "elsewhere", vg_err_code(rc), r.text);
        if (src == S_FROM_BROKER) {
            char *copy = s_note_copy(note, len);
            char reason[VG_REASON_MAX];
            snprintf(reason, sizeof reason,
                     "the broker sent a checkpoint that does not verify: %.300s", r.text);
            (void)s_fault(a, "bad_checkpoint", NULL, copy, reason, NULL);
            free(copy);
        }
        return vg_reason_set(why, rc, "checkpoint rejected: %s", r.text);
    }
    vga_store_cp held = {0};
    bool found = false;
    rc = vga_store_cp_get(a->store, VGA_CP_SIZE, vg_checkpoint_size(cp), &held, &found);
    if (rc == VG_OK && found &&
        memcmp(held.root, vg_checkpoint_root(cp), VG_MERKLE_HASH_LEN) != 0) {
        rc = s_fork(a, &held, vg_checkpoint_size(cp), vg_checkpoint_root(cp),
                    vg_checkpoint_note(cp), "same size, different root", why);
    } else if (rc == VG_OK && !found) {
        rc = vga_store_cp_add(a->store, vg_checkpoint_size(cp), vg_checkpoint_root(cp),
                              vg_checkpoint_note(cp), vg_checkpoint_note_len(cp),
                              vg_clock_wall_ms(a->clock), false);
    } else if (rc != VG_OK) {
        vg_reason_set(why, rc, "cannot read the held checkpoints");
    }
    if (rc == VG_OK && size_out != NULL) {
        *size_out = vg_checkpoint_size(cp);
    }
    vga_store_cp_fini(&held);
    vg_checkpoint_destroy(&cp);
    return rc;
}

/* Broker answers that mean it could not serve the proof this time. */
static bool
s_transient(vg_err rc)
{
    return rc == VG_ERR_TIMEOUT || rc == VG_ERR_IO || rc == VG_ERR_NOMEM || rc == VG_ERR_INTERNAL ||
           rc == VG_ERR_STORAGE_FULL;
}

/* Proves u consistent with the latest checked checkpoint L (the smaller of
 * the two is the old tree). */
static vg_err
s_check_one(vga_agent *a, const vga_store_cp *u, const vga_store_cp *l, int64_t timeout_ms,
            vg_reason *why)
{
    const vga_store_cp *lo = u->size < l->size ? u : l;
    const vga_store_cp *hi = u->size < l->size ? l : u;
    Vigil__Query q = VIGIL__QUERY__INIT;
    q.kind = VIGIL__QUERY_KIND__QUERY_CONSISTENCY;
    q.old_size = lo->size;
    q.tree_size = hi->size;
    s_answer ans;
    vg_reason r = {{0}};
    vg_err rc = s_query(a, &q, timeout_ms, &ans, &r);
    if (rc == VG_OK && ans.proof_bad) {
        rc = vg_reason_set(&r, VG_ERR_MALFORMED, "the proof has hashes of the wrong size");
    }
    if (rc == VG_OK) {
        rc = vg_merkle_verify_consistency(lo->size, hi->size, (const vg_merkle_hash *)ans.proof,
                                          ans.n_proof, lo->root, hi->root, &r);
    }
    s_answer_fini(&ans);
    if (rc == VG_OK) {
        vg_log(VG_LOG_DEBUG, "agent", "audit.consistent", "agency=%s old_size=%llu new_size=%llu",
               vga_agent_agency(a), (unsigned long long)lo->size, (unsigned long long)hi->size);
        return vga_store_cp_mark_checked(a->store, u->size);
    }
    if (s_transient(rc)) {
        return vg_reason_set(why, rc, "no consistency proof yet: %s", r.text);
    }
    char detail[VG_REASON_MAX];
    snprintf(detail, sizeof detail, "no valid consistency proof from %llu to %llu: %s: %.300s",
             (unsigned long long)lo->size, (unsigned long long)hi->size, vg_err_code(rc), r.text);
    vg_err frc = s_fork(a, l, u->size, u->root, u->note, detail, why);
    if (vga_store_cp_delete(a->store, u->size) != VG_OK) {
        return vg_reason_set(why, VG_ERR_IO, "cannot drop a contradicted checkpoint");
    }
    return frc;
}

/* Checks every unchecked checkpoint, smallest first. Stops at the first
 * transient failure (left for the next sync); a fork is recorded and the
 * loop goes on with the rest. Returns the first error met. */
static vg_err
s_check_pending(vga_agent *a, int64_t timeout_ms, vg_reason *why)
{
    vg_err first = VG_OK;
    for (;;) {
        vga_store_cp u = {0}, l = {0};
        bool has_u = false, has_l = false;
        vg_err rc = vga_store_cp_get(a->store, VGA_CP_FIRST_UNCHECKED, 0, &u, &has_u);
        if (rc == VG_OK && has_u) {
            rc = vga_store_cp_get(a->store, VGA_CP_LATEST_CHECKED, 0, &l, &has_l);
        }
        if (rc == VG_OK && has_u && !has_l) { /* the first one held: taken on trust */
            vg_log(VG_LOG_INFO, "agent", "audit.first", "agency=%s size=%llu", vga_agent_agency(a),
                   (unsigned long long)u.size);
            rc = vga_store_cp_mark_checked(a->store, u.size);
        } else if (rc == VG_OK && has_u) {
            rc = s_check_one(a, &u, &l, timeout_ms, why);
        }
        vga_store_cp_fini(&u);
        vga_store_cp_fini(&l);
        first = first != VG_OK ? first : rc;
        if (!has_u || (rc != VG_OK && rc != VG_ERR_CONFLICT)) {
            return first;
        }
    }
}

/* ---- the API ---------------------------------------------------------------------------- */

void
vga_audit_on_confirm(vga_agent *a, const uint8_t *note, size_t len)
{
    uint8_t h[VG_MERKLE_HASH_LEN];
    vg_merkle_leaf_hash(h, note, len);
    if (a->audit_seen_set && memcmp(h, a->audit_seen, sizeof h) == 0) {
        return; /* every Confirm repeats the latest checkpoint: admit it once */
    }
    memcpy(a->audit_seen, h, sizeof h);
    a->audit_seen_set = true;
    (void)s_admit(a, note, len, S_FROM_BROKER, NULL, NULL);
}

void
vga_audit_checkpoint_fini(vga_audit_checkpoint *cp)
{
    if (cp != NULL) {
        free(cp->note);
        memset(cp, 0, sizeof *cp);
    }
}

vg_err
vga_audit_status(vga_agent *a, vg_reason *why)
{
    bool found = false;
    char kind[32], reason[VG_REASON_MAX];
    vg_err rc = vga_store_fault_last(a->store, &found, kind, sizeof kind, reason, sizeof reason);
    if (rc != VG_OK) {
        return vg_reason_set(why, rc, "cannot read the local store");
    }
    return found ? vg_reason_set(why, VG_ERR_CONFLICT, "audit %s: %s", kind, reason) : VG_OK;
}

/* Asks the broker for its latest checkpoint and admits it; *size gets its
 * size, *got whether there was one. */
static vg_err
s_query_latest(vga_agent *a, int64_t timeout_ms, uint64_t *size, bool *got, vg_reason *why)
{
    Vigil__Query q = VIGIL__QUERY__INIT;
    q.kind = VIGIL__QUERY_KIND__QUERY_CHECKPOINT;
    s_answer ans;
    *got = false;
    vg_err rc = s_query(a, &q, timeout_ms, &ans, why);
    if (rc == VG_OK && ans.checkpoint != NULL) {
        rc = s_admit(a, (const uint8_t *)ans.checkpoint, ans.checkpoint_len, S_FROM_BROKER, size,
                     why);
        *got = rc == VG_OK;
    }
    s_answer_fini(&ans);
    return rc;
}

/* Whether this agency holds a checkpoint larger than size (checked or
 * not: every held one verified as the broker's). */
static bool
s_holds_larger(vga_agent *a, uint64_t size)
{
    vga_store_cp l = {0};
    bool has_l = false;
    bool larger = vga_store_cp_get(a->store, VGA_CP_LARGEST, 0, &l, &has_l) == VG_OK && has_l &&
                  l.size > size;
    vga_store_cp_fini(&l);
    return larger;
}

/* The broker's latest checkpoint (of size `latest`, just admitted) is
 * smaller than one it signed before and this agency holds: a log never
 * shrinks, so its history was cut (no proof needed: both notes are signed).
 * That holds whether the latest is new to the agency or one it already
 * holds (an older copy of the store put back ends at a checkpoint every
 * agency that synced then holds), and whether the larger one held was
 * proven consistent yet or only came with a Confirm (no proof of it can
 * come now: the broker's log is smaller than it). Checked here rather than by a consistency
 * proof because the broker answers a proof request past its log's end with
 * a generic internal error. A new note is dropped from the chain; a held
 * one stays (it is genuine: the broker signed it when its log was that
 * size). */
static vg_err
s_check_rollback(vga_agent *a, uint64_t latest, vg_reason *why)
{
    vga_store_cp cur = {0}, l = {0};
    bool has_cur = false, has_l = false;
    vg_err rc = vga_store_cp_get(a->store, VGA_CP_LARGEST, 0, &l, &has_l);
    if (rc == VG_OK && has_l && latest < l.size) {
        rc = vga_store_cp_get(a->store, VGA_CP_SIZE, latest, &cur, &has_cur);
    }
    if (rc == VG_OK && has_cur) {
        rc = s_fork(a, &l, cur.size, cur.root, cur.note,
                    "the broker's latest checkpoint is smaller than one it signed before", why);
        if (!cur.checked && vga_store_cp_delete(a->store, cur.size) != VG_OK) {
            rc = vg_reason_set(why, VG_ERR_IO, "cannot drop a contradicted checkpoint");
        }
    }
    vga_store_cp_fini(&cur);
    vga_store_cp_fini(&l);
    return rc;
}

vg_err
vga_audit_sync(vga_agent *a, int64_t timeout_ms, vg_reason *why)
{
    uint64_t latest = 0;
    bool got = false;
    vg_err rc = s_query_latest(a, timeout_ms, &latest, &got, why);
    if (rc == VG_OK && got && s_holds_larger(a, latest)) {
        /* Ask once more before calling it a rollback: another process on
         * this store (a daemon and the CLI) may have taken and checked a
         * newer answer while this one was on its way. A log that really
         * shrank says so twice. */
        rc = s_query_latest(a, timeout_ms, &latest, &got, why);
    }
    bool rolled_back = false;
    if (rc == VG_OK && got) {
        rc = s_check_rollback(a, latest, why);
        rolled_back = rc == VG_ERR_CONFLICT;
    }
    /* after a rollback no proof against the cut log means anything: the
     * held checkpoints stay as they are, evidence of the larger log */
    vg_err rc2 = rolled_back ? VG_OK : s_check_pending(a, timeout_ms, rc == VG_OK ? why : NULL);
    rc = rc != VG_OK ? rc : rc2;
    if (rc == VG_OK || rc == VG_ERR_TIMEOUT) {
        vg_err st = vga_audit_status(a, rc == VG_OK ? why : NULL);
        rc = st != VG_OK ? st : rc;
    }
    vga_audit_cosign_after_sync(a, rc, why, timeout_ms); /* agent_cosign.c */
    return rc;
}

vg_err
vga_audit_witness(vga_agent *a, const char *note, size_t note_len, int64_t timeout_ms,
                  vg_reason *why)
{
    vg_err rc = s_admit(a, (const uint8_t *)note, note_len, S_FROM_ELSEWHERE, NULL, why);
    return rc != VG_OK ? rc : s_check_pending(a, timeout_ms, why);
}

/* The origin of a note: its first line. */
static void
s_origin(char *out, size_t out_len, const char *note)
{
    size_t n = strcspn(note, "\n");
    snprintf(out, out_len, "%.*s", (int)(n < out_len ? n : out_len - 1), note);
}

vg_err
vga_audit_latest(vga_agent *a, vga_audit_checkpoint *out, vg_reason *why)
{
    vga_store_cp l = {0};
    bool found = false;
    vg_err rc = vga_store_cp_get(a->store, VGA_CP_LATEST_CHECKED, 0, &l, &found);
    if (rc != VG_OK) {
        return vg_reason_set(why, rc, "cannot read the held checkpoints");
    }
    if (!found) {
        return vg_reason_set(why, VG_ERR_NOT_FOUND,
                             "%s holds no checkpoint yet: sync with the broker first",
                             vga_agent_agency(a));
    }
    memset(out, 0, sizeof *out);
    s_origin(out->origin, sizeof out->origin, l.note);
    out->size = l.size;
    memcpy(out->root, l.root, VG_MERKLE_HASH_LEN);
    out->note = l.note;
    out->note_len = l.note_len;
    out->received_ms = l.received_ms;
    return VG_OK;
}

/* ---- inclusion proofs --------------------------------------------------------------------- */

void
vga_audit_proof_fini(vga_audit_proof *p)
{
    if (p == NULL) {
        return;
    }
    vga_audit_checkpoint_fini(&p->checkpoint);
    for (size_t i = 0; i < p->n_leaves; i++) {
        free(p->leaves[i].leaf);
        vg_audit_event_fini(&p->leaves[i].event);
    }
    free(p->leaves);
    memset(p, 0, sizeof *p);
}

/* A proof that failed: logged, recorded, VG_ERR_CONFLICT. */
static vg_err
s_proof_fail(vga_agent *a, const vga_audit_checkpoint *cp, uint64_t index, const char *detail,
             vg_reason *why)
{
    vg_log(VG_LOG_ERROR, "agent", "audit.proof_fail",
           "agency=%s index=%llu size=%llu reason=\"%s\"", vga_agent_agency(a),
           (unsigned long long)index, (unsigned long long)cp->size, detail);
    char reason[VG_REASON_MAX];
    snprintf(reason, sizeof reason,
             "leaf %llu is not proven in the broker's checkpoint of size %llu: %.400s",
             (unsigned long long)index, (unsigned long long)cp->size, detail);
    return s_fault(a, "inclusion", cp->note, NULL, reason, why);
}

/* Fetches and checks one leaf of alert id against cp. */
static vg_err
s_prove_leaf(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], const vga_audit_checkpoint *cp,
             uint64_t index, int64_t timeout_ms, vga_audit_leaf *out, vg_reason *why)
{
    Vigil__Query q = VIGIL__QUERY__INIT;
    q.kind = VIGIL__QUERY_KIND__QUERY_INCLUSION;
    q.leaf_index = index;
    q.tree_size = cp->size;
    s_answer ans;
    vg_reason r = {{0}};
    vg_err rc = s_query(a, &q, timeout_ms, &ans, &r);
    if (s_transient(rc)) {
        s_answer_fini(&ans);
        return vg_reason_set(why, rc, "%s", r.text);
    }
    if (rc != VG_OK) {
        char refused[VG_REASON_MAX];
        snprintf(refused, sizeof refused, "the broker refused the proof: %s: %.300s",
                 vg_err_code(rc), r.text);
        snprintf(r.text, sizeof r.text, "%s", refused);
    } else if (ans.proof_bad || ans.leaf == NULL) {
        rc = vg_reason_set(&r, VG_ERR_MALFORMED, "the answer has no leaf or a malformed proof");
    }
    uint8_t h[VG_MERKLE_HASH_LEN];
    if (rc == VG_OK) {
        vg_merkle_leaf_hash(h, ans.leaf, ans.leaf_len);
        rc = vg_merkle_verify_inclusion(h, index, cp->size, (const vg_merkle_hash *)ans.proof,
                                        ans.n_proof, cp->root, &r);
    }
    memset(out, 0, sizeof *out);
    if (rc == VG_OK) {
        rc = vg_audit_leaf_parse(&out->event, ans.leaf, ans.leaf_len, &r);
    }
    if (rc == VG_OK && (out->event.index != index || !vg_audit_event_names(&out->event, id))) {
        rc = vg_reason_set(&r, VG_ERR_MALFORMED, "the leaf names index %llu and another alert",
                           (unsigned long long)out->event.index);
    }
    if (rc != VG_OK) {
        vg_audit_event_fini(&out->event);
        s_answer_fini(&ans);
        return s_proof_fail(a, cp, index, r.text, why);
    }
    out->index = index;
    out->leaf = ans.leaf;
    out->leaf_len = ans.leaf_len;
    ans.leaf = NULL;
    s_answer_fini(&ans);
    return VG_OK;
}

/* The indices of an alert's leaves, from the broker. */
static vg_err
s_alert_indices(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], int64_t timeout_ms, s_answer *ans,
                vg_reason *why)
{
    Vigil__Query q = VIGIL__QUERY__INIT;
    q.kind = VIGIL__QUERY_KIND__QUERY_INCLUSION;
    q.alert_id.data = (uint8_t *)id;
    q.alert_id.len = VG_ALERT_ID_LEN;
    vg_err rc = s_query(a, &q, timeout_ms, ans, why);
    if (rc == VG_OK && ans->n_indices == 0) {
        rc = vg_reason_set(why, VG_ERR_NOT_FOUND, "the broker lists no audit leaves for the alert");
    }
    return rc;
}

/* Syncs until the held checkpoint covers leaf `max_index` or the deadline. */
static vg_err
s_wait_covered(vga_agent *a, uint64_t max_index, int64_t end_mono, vga_audit_checkpoint *cp,
               vg_reason *why)
{
    for (;;) {
        int64_t left = end_mono - vg_clock_mono_ms(a->clock);
        vg_err rc = vga_audit_sync(a, left > 0 ? left : 1, why);
        if (rc == VG_OK) {
            rc = vga_audit_latest(a, cp, why);
        }
        if (rc != VG_OK && rc != VG_ERR_NOT_FOUND) {
            return rc;
        }
        if (rc == VG_OK && cp->size > max_index) {
            return VG_OK;
        }
        vga_audit_checkpoint_fini(cp);
        left = end_mono - vg_clock_mono_ms(a->clock);
        if (left <= 0) {
            return vg_reason_set(why, VG_ERR_TIMEOUT,
                                 "no signed checkpoint covers leaf %llu yet; the broker signs "
                                 "one every checkpoint_interval: try again shortly",
                                 (unsigned long long)max_index);
        }
        vga_poll(a, left < S_PROVE_POLL_MS ? left : S_PROVE_POLL_MS);
    }
}

vg_err
vga_audit_prove(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], int64_t timeout_ms,
                vga_audit_proof *out, vg_reason *why)
{
    memset(out, 0, sizeof *out);
    int64_t end = vg_clock_mono_ms(a->clock) + timeout_ms;
    s_answer idx;
    vg_err rc = s_alert_indices(a, id, timeout_ms, &idx, why);
    uint64_t max_index = 0;
    for (size_t i = 0; rc == VG_OK && i < idx.n_indices; i++) {
        max_index = idx.indices[i] > max_index ? idx.indices[i] : max_index;
    }
    if (rc == VG_OK) {
        rc = s_wait_covered(a, max_index, end, &out->checkpoint, why);
    }
    if (rc == VG_OK && (out->leaves = calloc(idx.n_indices, sizeof *out->leaves)) == NULL) {
        rc = VG_ERR_NOMEM;
    }
    for (size_t i = 0; rc == VG_OK && i < idx.n_indices; i++) {
        int64_t left = end - vg_clock_mono_ms(a->clock);
        rc = s_prove_leaf(a, id, &out->checkpoint, idx.indices[i], left > 0 ? left : 1,
                          &out->leaves[i], why);
        out->n_leaves = rc == VG_OK ? i + 1 : i;
    }
    s_answer_fini(&idx);
    if (rc != VG_OK) {
        vga_audit_proof_fini(out);
    }
    return rc;
}
