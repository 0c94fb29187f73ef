/* reload.c — a new network document put in force between batches (reload.h). */
#include "reload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/log.h"
#include "vigil/util.h"

/* Open alerts of a newly revoked required agency, collected first (the
 * store is not changed while it is read). */
typedef struct s_seqs {
    uint64_t *seq;
    size_t n, cap;
    bool nomem;
} s_seqs;

static bool
s_take_seq(void *ctx, uint64_t seq)
{
    s_seqs *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        uint64_t *grown = realloc(l->seq, cap * sizeof *grown);
        if (grown == NULL) {
            l->nomem = true;
            return false;
        }
        l->seq = grown;
        l->cap = cap;
    }
    l->seq[l->n++] = seq;
    return true;
}

/* The successor inherits alert seq: a required recipient with a fresh
 * deadline (its row names the revoked agency as shared_by), unless it is
 * one already. */
static vg_err
s_inherit(const vgb_reload_deps *d, const vg_netdoc *next, uint64_t seq, const char *agency,
          const char *successor, vg_audit_deadline *dl, bool *inherited)
{
    *inherited = false;
    vgb_rrow row;
    vg_err rc = vgb_store_rrow(d->store, seq, successor, &row);
    if (rc != VG_ERR_NOT_FOUND) {
        return rc; /* a recipient already (VG_OK), or a store error */
    }
    vgb_alert_meta m;
    rc = vgb_store_alert_meta(d->store, seq, &m);
    if (rc == VG_OK) { /* its own deadline, under the document that made it inherit */
        rc = vgb_tracking_deadline_meta(d->tracking, next, dl, successor, &m,
                                        vg_clock_wall_ms(d->clock));
    }
    if (rc != VG_OK) {
        return rc;
    }
    int64_t deadline = (int64_t)dl->deadline_ms;
    rc = vgb_store_add_recipient(d->store, seq, successor, agency, deadline);
    *inherited = rc == VG_OK;
    if (rc == VG_OK) {
        row =
            (vgb_rrow){.seq = seq, .required = true, .state = VGB_PENDING, .deadline_ms = deadline};
        snprintf(row.agency, sizeof row.agency, "%s", successor);
        vgb_tracking_watch(d->tracking, &row);
        int idx = vg_netdoc_index(next, successor);
        if (idx >= 0) {
            vgb_batch_after(d->batch, (size_t)idx, 0); /* its window fills */
        }
    }
    return rc;
}

/* Surfaces every alert the revoked agency still had to acknowledge, and
 * hands it to its successor when the document names one. */
static vg_err
s_reassign(const vgb_reload_deps *d, const vg_netdoc *next, const char *agency,
           const char *successor, uint64_t version, size_t *n_out)
{
    s_seqs l = {0};
    vg_err rc = VG_OK;
    for (uint64_t after = 0; rc == VG_OK;) {
        size_t before = l.n;
        rc = vgb_store_outstanding(d->store, agency, after, 1000, s_take_seq, &l);
        rc = rc == VG_OK && l.nomem ? VG_ERR_NOMEM : rc;
        if (rc != VG_OK || l.n == before) {
            break;
        }
        after = l.seq[l.n - 1];
    }
    for (size_t i = 0; i < l.n && rc == VG_OK; i++) {
        vgb_rrow row;
        vg_err found = vgb_store_rrow(d->store, l.seq[i], agency, &row);
        if (found == VG_ERR_NOT_FOUND ||
            (found == VG_OK && (!row.required || row.state == VGB_ACKNOWLEDGED))) {
            continue; /* it sent the alert, or is done with it */
        }
        rc = found;
        vg_audit_deadline dl;
        bool inherited = false;
        if (rc == VG_OK && successor != NULL) {
            rc = s_inherit(d, next, l.seq[i], agency, successor, &dl, &inherited);
        }
        if (rc == VG_OK) {
            rc = vgb_record_reassigned(d->record, l.seq[i], agency, successor, version,
                                       inherited ? &dl : NULL);
        }
        *n_out += rc == VG_OK;
    }
    free(l.seq);
    return rc;
}

/* The transaction: version, document, network_changed, reassignments. */
static vg_err
s_record(const vgb_reload_deps *d, const vg_netdoc *cur, const vg_netdoc *next, vg_reason *why)
{
    uint64_t version = vg_netdoc_version(next);
    size_t len = 0;
    const uint8_t *bytes = vg_netdoc_signed_bytes(next, &len);
    uint8_t hash[VG_HASH_LEN];
    vg_hash(hash, bytes, len);
    vg_err rc = vgb_batch_txn(d->batch) ? VG_OK : VG_ERR_IO;
    rc = rc == VG_OK ? vgb_store_set_network_version(d->store, version, why) : rc;
    rc = rc == VG_OK ? vgb_store_add_network_document(d->store, version, bytes, len, why) : rc;
    rc = rc == VG_OK ? vgb_record_network_changed(d->record, version, hash) : rc;
    size_t n_cur = vg_netdoc_n_agencies(cur), reassigned = 0;
    for (size_t i = 0; i < n_cur && rc == VG_OK; i++) {
        vg_agency was, now;
        vg_netdoc_agency_at(cur, i, &was);
        vg_netdoc_agency_at(next, i, &now);
        if (now.revoked && !was.revoked) {
            const char *successor = now.successor && now.successor[0] ? now.successor : NULL;
            rc = s_reassign(d, next, now.id, successor, version, &reassigned);
            vg_log(VG_LOG_WARN, "broker", "agency.revoked",
                   "agency=%s open_alerts=%zu successor=%s", now.id, reassigned,
                   successor ? successor : "none");
        }
    }
    if (rc != VG_OK) {
        vgb_batch_fail(d->batch);
        vg_reason_set(why, rc, "the store could not record the new document (%s); nothing changed",
                      vg_err_code(rc));
    }
    return rc;
}

typedef struct s_recheck {
    const vg_netdoc *doc; /* the new document */
    int64_t now_wall;     /* when */
} s_recheck;

/* Until when an open connection's transport key is trusted under the new
 * document (< 0: not at all: it is closed). */
static int64_t
s_until(void *ctx, size_t idx, const char *key)
{
    const s_recheck *r = ctx;
    uint8_t pk[VG_CURVE_KEY_LEN];
    vg_key_match m;
    vg_agency ag;
    vg_netdoc_agency_at(r->doc, idx, &ag);
    if (vg_z85_decode_key(pk, key) != VG_OK ||
        vg_netdoc_admit_transport(&m, r->doc, pk, r->now_wall, NULL) != VG_OK ||
        strcmp(m.agency.id, ag.id) != 0) {
        return -1;
    }
    return m.until_ms;
}

/* The modules switch to next (the store has it). A failure here is memory
 * only: logged, and the broker goes on with what it could switch. */
static void
s_switch(const vgb_reload_deps *d, const vg_netdoc *cur, const vg_netdoc *next)
{
    int64_t mono = vg_clock_mono_ms(d->clock);
    vg_err rc = vgb_netdocs_advance(d->netdocs, cur, next);
    rc = rc == VG_OK ? vgb_quota_renew(d->quota, next, mono) : rc;
    rc = rc == VG_OK ? vgb_conns_grow(d->conns, vg_netdoc_n_agencies(next)) : rc;
    rc = rc == VG_OK ? vgb_reader_renew(d->reader, next) : rc;
    rc = rc == VG_OK ? vgb_delivery_renew(d->delivery, next) : rc;
    rc = rc == VG_OK ? vgb_streams_renew(d->streams, next) : rc;
    rc = rc == VG_OK ? vgb_tracking_renew(d->tracking, next) : rc;
    vgb_zap_renew(d->zap, next);
    s_recheck rc_ctx = {next, vg_clock_wall_ms(d->clock)};
    vgb_conns_recheck(d->conns, s_until, &rc_ctx); /* keys the new document no longer trusts */
    if (rc != VG_OK) {
        vg_log(VG_LOG_ERROR, "broker", "netdoc.switch", "code=%s", vg_err_code(rc));
    }
    for (size_t i = 0; i < vg_netdoc_n_agencies(cur); i++) {
        vg_agency was, now;
        vg_netdoc_agency_at(cur, i, &was);
        vg_netdoc_agency_at(next, i, &now);
        if (now.revoked && !was.revoked) {
            (void)vgb_conns_close_agency(d->conns, i, now.id, "revoked", mono);
        }
    }
}

vg_err
vgb_reload(const vgb_reload_deps *d, const vg_netdoc *cur, const uint8_t *bytes, size_t len,
           vg_netdoc **out, vg_reason *why)
{
    vg_netdoc *next = NULL;
    vg_err rc = vg_netdoc_verify(&next, bytes, len, d->admin_pk, 0, why);
    if (rc == VG_OK) {
        rc = vgb_netdocs_check_next(cur, next, why);
    }
    if (rc == VG_OK) {
        rc = vgb_bkeys_prepare(d->bkeys, next, why);
    }
    if (rc == VG_OK) {
        rc = s_record(d, cur, next, why);
    }
    if (rc == VG_OK && !d->commit(d->commit_ctx)) {
        rc = vg_reason_set(why, VG_ERR_IO,
                           "the store could not commit the new document; nothing changed");
    }
    if (rc != VG_OK) {
        vg_log(VG_LOG_WARN, "broker", "netdoc.refused", "code=%s reason=\"%s\"", vg_err_code(rc),
               why->text);
        vg_netdoc_destroy(&next);
        return rc;
    }
    s_switch(d, cur, next);
    (void)vgb_bkeys_adopt(d->bkeys, next, vg_clock_wall_ms(d->clock));
    vg_log(VG_LOG_INFO, "broker", "netdoc.reload", "version=%llu agencies=%zu was=%llu",
           (unsigned long long)vg_netdoc_version(next), vg_netdoc_n_agencies(next),
           (unsigned long long)vg_netdoc_version(cur));
    *out = next;
    return VG_OK;
}
