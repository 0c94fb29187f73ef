/* audit_life.c — an alert's life replayed from its leaves (audit_state.h):
 * what each leaf changed in its recipients rows, as the handlers change
 * them (publish.c, receipt.c, sharing.c, tracking.c), so that the rows can
 * be compared with it and the events each fact wrote can be derived. */
#include "audit_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
vgb_av_names(const vg_audit_event *ev, const uint8_t id[VG_ALERT_ID_LEN])
{
    if (ev->kind == VG_AUDIT_REJECTED) {
        return false; /* its alert id is what a refused frame claimed: no alert of the store */
    }
    if (ev->kind == VG_AUDIT_LINKED) { /* about the new alert; the earlier ones are named in it,
                                          and the index links it to the new one only (record.c) */
        return memcmp(ev->alert_id, id, VG_ALERT_ID_LEN) == 0;
    }
    return vg_audit_event_names(ev, id);
}

void
vgb_av_life_init(vgb_av_life *l, uint64_t seq, const uint8_t id[VG_ALERT_ID_LEN],
                 const char *sender)
{
    memset(l, 0, sizeof *l);
    l->seq = seq;
    memcpy(l->id, id, VG_ALERT_ID_LEN);
    snprintf(l->sender, sizeof l->sender, "%s", sender);
}

vg_err
vgb_av_life_add(vgb_av_life *l, const vgb_rrow *r)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        vgb_av_row *grown = realloc(l->rows, cap * sizeof *grown);
        if (grown == NULL) {
            return VG_ERR_NOMEM;
        }
        l->rows = grown;
        l->cap = cap;
    }
    vgb_av_row *row = &l->rows[l->n++];
    *row = (vgb_av_row){.required = r->required,
                        .shared = r->shared_by[0] != '\0',
                        .state = VGB_PENDING,
                        .last_person = -1,
                        .ack = -1,
                        .officer_from = -1,
                        .note_from = -1,
                        .reason_from = -1};
    snprintf(row->agency, sizeof row->agency, "%s", r->agency);
    return VG_OK;
}

typedef struct s_load {
    vgb_av_life *l; /* being filled */
    vg_err rc;      /* VG_ERR_NOMEM when a row could not be kept */
} s_load;

static void
s_take_row(void *ctx, const vgb_rrow *r, const char *officer, const char *note, const char *reason)
{
    (void)officer, (void)note, (void)reason;
    s_load *ld = ctx;
    if (ld->rc == VG_OK) {
        ld->rc = vgb_av_life_add(ld->l, r);
    }
}

vg_err
vgb_av_life_load(vgb_av_life *l, vgb_store *store, uint64_t seq, const uint8_t id[VG_ALERT_ID_LEN],
                 const char *sender)
{
    vgb_av_life_init(l, seq, id, sender);
    s_load ld = {l, VG_OK};
    vg_err rc = vgb_store_recipients_of(store, seq, s_take_row, &ld);
    return rc == VG_OK ? ld.rc : rc;
}

vgb_av_row *
vgb_av_life_row(vgb_av_life *l, const char *agency)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->rows[i].agency, agency) == 0) {
            return &l->rows[i];
        }
    }
    return NULL;
}

static void
s_present(vgb_av_row *row, uint64_t idx, const char *sharer)
{
    if (row != NULL && !row->present) {
        row->present = true;
        row->added_leaf = idx;
        snprintf(row->sharer, sizeof row->sharer, "%s", sharer);
    }
}

/* vgb_store_check_complete: no required row (of those that exist) is
 * unacknowledged. */
static bool
s_all_acknowledged(const vgb_av_life *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const vgb_av_row *r = &l->rows[i];
        if (r->present && r->required && r->state != VGB_ACKNOWLEDGED) {
            return false;
        }
    }
    return true;
}

/* A person's receipt (or an unopenable one) applied to its row (receipt.c
 * s_apply): the state; IN_PROGRESS the first time extends the deadline and
 * starts the escalation again. */
static void
s_person(vgb_av_life *l, vgb_av_row *row, vgb_rstate state, uint64_t idx, vgb_av_effect *eff)
{
    if (row == NULL) {
        return;
    }
    if (state == VGB_IN_PROGRESS && !row->progress_used) {
        row->esc_level = 0;
    }
    row->progress_used = row->progress_used || state == VGB_IN_PROGRESS;
    row->state = state;
    if (state == VGB_ACKNOWLEDGED && !l->complete && s_all_acknowledged(l)) {
        l->complete = true;
        l->complete_leaf = idx;
        eff->completes = true;
    }
}

static void
s_step(vgb_av_row *row, uint32_t level, const vg_audit_event *ev)
{
    if (row == NULL) {
        return;
    }
    row->esc_level = level;
    if (!row->stepped) {
        row->stepped = true;
        row->first_step_leaf = ev->index;
        row->first_step_ms = (int64_t)ev->time_ms;
    }
}

void
vgb_av_life_apply(vgb_av_life *l, const vg_audit_event *ev, vgb_av_effect *eff)
{
    *eff = (vgb_av_effect){0};
    vgb_av_row *row = ev->agency[0] != '\0' ? vgb_av_life_row(l, ev->agency) : NULL;
    eff->row = row;
    eff->before = row != NULL ? row->state : VGB_PENDING;
    switch (ev->kind) {
    case VG_AUDIT_ACCEPTED:
        l->accepted = true;
        for (size_t i = 0; i < ev->agencies.n; i++) {
            s_present(vgb_av_life_row(l, ev->agencies.items[i]), ev->index, "");
        }
        break;
    case VG_AUDIT_SHARED:
        eff->row = ev->agencies.n > 0 ? vgb_av_life_row(l, ev->agencies.items[0]) : NULL;
        s_present(eff->row, ev->index, ev->agency);
        break;
    case VG_AUDIT_DELIVERED:
        if (row != NULL && row->state == VGB_PENDING) { /* mark_delivered: PENDING only */
            row->state = VGB_DELIVERED;
            row->delivered = true;
            row->delivered_leaf = ev->index;
            row->delivered_leaf_ms = (int64_t)ev->time_ms;
        }
        break;
    case VG_AUDIT_ACKNOWLEDGED:
        s_person(l, row, VGB_ACKNOWLEDGED, ev->index, eff);
        break;
    case VG_AUDIT_IN_PROGRESS:
        s_person(l, row, VGB_IN_PROGRESS, ev->index, eff);
        break;
    case VG_AUDIT_DECLINED:
        s_person(l, row, VGB_DECLINED, ev->index, eff);
        break;
    case VG_AUDIT_UNOPENABLE:
        s_person(l, row, VGB_UNOPENABLE, ev->index, eff);
        break;
    case VG_AUDIT_OVERDUE:
        s_step(row, 1, ev);
        break;
    case VG_AUDIT_ESCALATED:
        s_step(row, (uint32_t)ev->level, ev);
        break;
    case VG_AUDIT_REASSIGNED: /* reload.c s_inherit: the successor, unless a recipient already */
        if (ev->target[0] != '\0') {
            s_present(vgb_av_life_row(l, ev->target), ev->index, ev->agency);
        }
        break;
    default: /* the others name no alert */
        break;
    }
    if (eff->row != NULL) {
        eff->row->last_leaf = ev->index;
    }
    l->upto = ev->index + 1;
}

typedef struct s_idx {
    uint64_t *idx; /* leaf indexes */
    size_t n, cap;
    bool nomem;
} s_idx;

static void
s_take_link(void *ctx, uint64_t idx, uint64_t receipt_id)
{
    (void)receipt_id;
    s_idx *x = ctx;
    if (x->n > 0 && x->idx[x->n - 1] == idx) {
        return; /* in order: a leaf linked twice is applied once */
    }
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 16;
        uint64_t *grown = realloc(x->idx, cap * sizeof *grown);
        if (grown == NULL) {
            x->nomem = true;
            return;
        }
        x->idx = grown;
        x->cap = cap;
    }
    x->idx[x->n++] = idx;
}

vg_err
vgb_av_life_replay(vgb_av_check *c, vgb_av_life *l, uint64_t upto)
{
    s_idx x = {0};
    vg_err rc = vgb_store_alert_leaf_links(c->store, l->seq, s_take_link, &x);
    rc = rc == VG_OK && x.nomem ? VG_ERR_NOMEM : rc;
    char name[64];
    vgb_av_alert_name(name, sizeof name, l->id);
    for (size_t i = 0; i < x.n && rc == VG_OK && x.idx[i] < upto; i++) {
        if (x.idx[i] < l->upto) {
            continue;
        }
        vg_audit_event ev;
        rc = vgb_av_read_leaf(c, x.idx[i], &ev, "audit_alert_leaves", name);
        if (rc == VG_OK && vgb_av_names(&ev, l->id)) {
            vgb_av_effect eff;
            vgb_av_life_apply(l, &ev, &eff);
        }
        if (rc == VG_OK) {
            vg_audit_event_fini(&ev);
        }
    }
    free(x.idx);
    return rc;
}

void
vgb_av_life_fini(vgb_av_life *l)
{
    if (l != NULL) {
        free(l->rows);
        memset(l, 0, sizeof *l);
    }
}

/* ---- the policy --------------------------------------------------------------------- */

/* Whether the policy of doc marks exactly the stored original rows required:
 * its agencies, and the out-of-hours cover of those closed when the alert
 * was made (vg_envelope_check_policy, as the broker judged it). */
static bool
s_policy_matches(const vgb_av_envelope *e, const vgb_av_life *l, const vg_netdoc *doc,
                 const char **agency, bool *want)
{
    vg_strlist req = {0}, covers = {0};
    vg_err rc = vg_netdoc_required(doc, (const char *const *)e->categories.items, e->categories.n,
                                   (vg_severity)e->severity, e->sender, &req);
    rc = rc == VG_OK ? vg_netdoc_cover(doc, &req, (vg_severity)e->severity, e->sender,
                                       e->created_ms, &covers, NULL)
                     : rc;
    for (size_t i = 0; i < covers.n && rc == VG_OK; i++) {
        rc = vg_strlist_add(&req, covers.items[i]);
    }
    vg_strlist_fini(&covers);
    if (rc != VG_OK) {
        vg_strlist_fini(&req);
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < l->n && ok; i++) {
        const vgb_av_row *r = &l->rows[i];
        bool w = vg_strlist_contains(&req, r->agency);
        if (!r->shared && r->required != w) {
            ok = false;
            *agency = r->agency;
            *want = w;
        }
    }
    vg_strlist_fini(&req);
    return ok;
}

/* The document it was sealed under is stored: the broker verified the
 * envelope under it, and it never deletes a document (a later one does not
 * stand in for it: its keys and policy may differ). Then required: the
 * policy of the document in force when it was accepted, the one it was
 * sealed under or a later one (the broker takes envelopes sealed under an
 * older document it still holds). */
vg_err
vgb_av_check_required(vgb_av_check *c, const vgb_av_envelope *e, const vgb_av_life *l,
                      const char *name, uint64_t leaf)
{
    const char *agency = NULL;
    bool want = false;
    const vg_netdoc *first = NULL;
    bool sealed_under = false;
    for (size_t i = 0; i < c->docs.n && !sealed_under; i++) {
        sealed_under = vg_netdoc_version(c->docs.doc[i]) == e->version;
    }
    for (size_t i = 0; i < c->docs.n && sealed_under; i++) {
        const vg_netdoc *d = c->docs.doc[i];
        if (vg_netdoc_version(d) < e->version) {
            continue;
        }
        first = first != NULL ? first : d;
        const char *a = NULL;
        bool w = false;
        if (s_policy_matches(e, l, d, &a, &w)) {
            return VG_OK;
        }
        if (d == first) {
            agency = a;
            want = w;
        }
    }
    char row[VGB_AUDIT_ROW_MAX];
    if (!sealed_under) {
        snprintf(row, sizeof row, "version=%llu", (unsigned long long)e->version);
        return vgb_av_fault(c, "network_documents", row, leaf,
                            "the alert was sealed under this document but the store does not "
                            "hold it");
    }
    snprintf(row, sizeof row, "%s agency=%s", name, agency ? agency : "?");
    return vgb_av_fault(c, "recipients", row, leaf,
                        "required is %d but the policy of document version %llu says %d (and no "
                        "later document's says otherwise)",
                        !want, (unsigned long long)vg_netdoc_version(first), want);
}
