/* audit_state.c — the leaves against the state rows they describe (see
 * audit.h, vgb_audit_check_state). Reads only, through the store interface:
 * one pass over the leaves, a few indexed lookups per leaf, then one pass
 * over the alerts. */
#include "audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct s_state {
    vgb_store *store;                     /* read only */
    vgb_audit_report *rep;                /* what was found */
    uint8_t (*accepted)[VG_ALERT_ID_LEN]; /* alert ids with an accepted leaf */
    size_t n_accepted, cap_accepted;      /* count, allocated */
    vg_err rc;                            /* VG_OK, VG_ERR_CONFLICT or a read error */
} s_state;

/* Records the fault on leaf ev (about alert id) and returns VG_ERR_CONFLICT. */
static vg_err
s_mismatch(s_state *s, const vg_audit_event *ev, const uint8_t *id, const char *what)
{
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, id);
    s->rep->fault = VGB_AUDIT_FAULT_STATE;
    s->rep->first_bad_index = ev->index;
    snprintf(s->rep->detail, sizeof s->rep->detail, "%s leaf for alert %s: %s",
             vg_audit_kind_name(ev->kind), idhex, what);
    return VG_ERR_CONFLICT;
}

/* The alert's seq (VG_ERR_NOT_FOUND when the store has no such alert). */
static vg_err
s_alert(s_state *s, const uint8_t id[VG_ALERT_ID_LEN], vgb_alert_meta *m, uint8_t hash[VG_HASH_LEN],
        uint64_t *version)
{
    return vgb_store_alert_by_id(s->store, id, m, hash, version);
}

static vg_err
s_check_accepted(s_state *s, const vg_audit_event *ev)
{
    vgb_alert_meta m;
    uint8_t hash[VG_HASH_LEN];
    uint64_t version = 0;
    vg_err rc = s_alert(s, ev->alert_id, &m, hash, &version);
    if (rc == VG_ERR_NOT_FOUND) {
        return s_mismatch(s, ev, ev->alert_id, "the store has no such alert (its row was deleted)");
    }
    if (rc == VG_OK && (strcmp(m.sender, ev->sender) != 0 ||
                        memcmp(hash, ev->hash, VG_HASH_LEN) != 0 || version != ev->version)) {
        return s_mismatch(s, ev, ev->alert_id,
                          "the alerts row has another sender, envelope hash or version");
    }
    for (size_t i = 0; rc == VG_OK && i < ev->agencies.n; i++) {
        vgb_rrow row;
        rc = vgb_store_rrow(s->store, m.seq, ev->agencies.items[i], &row);
        if (rc == VG_ERR_NOT_FOUND) {
            return s_mismatch(s, ev, ev->alert_id, "a listed recipient has no recipients row");
        }
    }
    if (rc == VG_OK && s->n_accepted == s->cap_accepted) {
        size_t cap = s->cap_accepted ? 2 * s->cap_accepted : 1024;
        void *p = realloc(s->accepted, cap * sizeof *s->accepted);
        if (p == NULL) {
            return VG_ERR_NOMEM;
        }
        s->accepted = p;
        s->cap_accepted = cap;
    }
    if (rc == VG_OK) {
        memcpy(s->accepted[s->n_accepted++], ev->alert_id, VG_ALERT_ID_LEN);
    }
    return rc;
}

/* A receipt's leaf: the receipt is stored, by that agency, naming the alert. */
static vg_err
s_check_receipt(s_state *s, const vg_audit_event *ev, const uint8_t id[VG_ALERT_ID_LEN],
                bool delivered)
{
    vgb_alert_meta m;
    uint8_t hash[VG_HASH_LEN];
    uint64_t version = 0;
    bool named = false;
    vg_err rc = s_alert(s, id, &m, hash, &version);
    if (rc == VG_OK) {
        rc = vgb_store_receipt_names(s->store, ev->hash, ev->agency, m.seq, &named);
    }
    if (rc == VG_ERR_NOT_FOUND || (rc == VG_OK && !named)) {
        return s_mismatch(s, ev, id, "no receipts row with this hash, agency and alert");
    }
    vgb_rrow row;
    if (rc == VG_OK && delivered &&
        ((rc = vgb_store_rrow(s->store, m.seq, ev->agency, &row)) == VG_ERR_NOT_FOUND ||
         (rc == VG_OK && row.delivered_ms == 0))) {
        return s_mismatch(s, ev, id, "no recipients row records the delivery");
    }
    return rc;
}

static vg_err
s_check_share(s_state *s, const vg_audit_event *ev)
{
    vgb_alert_meta m;
    uint8_t hash[VG_HASH_LEN];
    uint64_t version = 0;
    bool found = false;
    vg_err rc = s_alert(s, ev->alert_id, &m, hash, &version);
    if (rc == VG_OK) {
        rc = vgb_store_share_exists(s->store, m.seq, ev->hash, ev->agency, &found);
    }
    if (rc == VG_ERR_NOT_FOUND || (rc == VG_OK && !found)) {
        return s_mismatch(s, ev, ev->alert_id, "no shares row with this hash, sharer and alert");
    }
    return rc;
}

static vg_err
s_check_event(s_state *s, const vg_audit_event *ev)
{
    switch (ev->kind) {
    case VG_AUDIT_ACCEPTED:
        return s_check_accepted(s, ev);
    case VG_AUDIT_DELIVERED:
        for (size_t i = 0; i < ev->n_alerts; i++) {
            vg_err rc = s_check_receipt(s, ev, ev->alerts[i], true);
            if (rc != VG_OK) {
                return rc;
            }
        }
        return VG_OK;
    case VG_AUDIT_ACKNOWLEDGED:
    case VG_AUDIT_IN_PROGRESS:
    case VG_AUDIT_DECLINED:
    case VG_AUDIT_UNOPENABLE:
        return s_check_receipt(s, ev, ev->alert_id, false);
    case VG_AUDIT_SHARED:
        return s_check_share(s, ev);
    default:
        return VG_OK; /* no row to compare with */
    }
}

static bool
s_on_leaf(void *ctx, uint64_t idx, const uint8_t *leaf, size_t len, const uint8_t *hash,
          bool hash_ok)
{
    (void)hash, (void)hash_ok;
    s_state *s = ctx;
    vg_audit_event ev;
    vg_reason why = {{0}};
    if (vg_audit_leaf_parse(&ev, leaf, len, &why) != VG_OK) {
        s->rep->fault = VGB_AUDIT_FAULT_MALFORMED;
        s->rep->first_bad_index = idx;
        snprintf(s->rep->detail, sizeof s->rep->detail, "leaf does not parse: %.400s", why.text);
        s->rc = VG_ERR_CONFLICT;
        return false;
    }
    s->rc = s_check_event(s, &ev);
    vg_audit_event_fini(&ev);
    return s->rc == VG_OK;
}

static int
s_cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, VG_ALERT_ID_LEN);
}

/* Every alerts row must have had its accepted leaf. */
static bool
s_on_alert(void *ctx, uint64_t seq, const uint8_t id[VG_ALERT_ID_LEN])
{
    (void)seq;
    s_state *s = ctx;
    if (s->n_accepted > 0 &&
        bsearch(id, s->accepted, s->n_accepted, sizeof *s->accepted, s_cmp_id) != NULL) {
        return true;
    }
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, id);
    s->rep->fault = VGB_AUDIT_FAULT_STATE;
    s->rep->first_bad_index = VGB_AUDIT_NO_INDEX;
    snprintf(s->rep->detail, sizeof s->rep->detail,
             "alert %s is in the store but has no accepted leaf: added outside the log", idhex);
    s->rc = VG_ERR_CONFLICT;
    return false;
}

vg_err
vgb_audit_check_state(vgb_store *store, vgb_audit_report *report, vg_reason *why)
{
    memset(report, 0, sizeof *report);
    report->first_bad_index = VGB_AUDIT_NO_INDEX;
    s_state s = {.store = store, .rep = report};
    vg_err rc = vgb_store_audit_leaves(store, s_on_leaf, &s);
    rc = rc == VG_OK ? s.rc : rc;
    if (rc == VG_OK) {
        qsort(s.accepted, s.n_accepted, sizeof *s.accepted, s_cmp_id);
        rc = vgb_store_alert_ids(store, s_on_alert, &s);
        rc = rc == VG_OK ? s.rc : rc;
    }
    free(s.accepted);
    if (rc == VG_ERR_CONFLICT) {
        return vg_reason_set(why, rc, "audit log: %s", report->detail);
    }
    return rc == VG_OK ? VG_OK
                       : vg_reason_set(why, rc, "cannot read the store: %s", vg_strerror(rc));
}
