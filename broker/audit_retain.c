/* audit_retain.c — retention in audit verify (audit_state.h, "retention"):
 * purged content against its purged leaf, and legal holds against their
 * held and released leaves. */
#include "audit_state.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "store_retain.h"

void
vgb_av_retain_init(vgb_av_retain *r)
{
    *r = (vgb_av_retain){.content_leaf = VGB_AUDIT_NO_INDEX,
                         .tags_leaf = VGB_AUDIT_NO_INDEX,
                         .hold_leaf = VGB_AUDIT_NO_INDEX};
}

static vg_err
s_purged(vgb_av_check *c, vgb_av_retain *r, const char *name, const uint8_t env_hash[VG_HASH_LEN],
         const vg_audit_event *ev)
{
    bool content = strcmp(ev->code, "content") == 0 || strcmp(ev->code, "content+tags") == 0;
    bool tags = strcmp(ev->code, "tags") == 0 || strcmp(ev->code, "content+tags") == 0;
    if (!content && !tags) {
        return vgb_av_fault(c, "audit_leaves", name, ev->index,
                            "the purged leaf says '%s' went: content, tags or content+tags only",
                            ev->code);
    }
    if (memcmp(ev->hash, env_hash, VG_HASH_LEN) != 0) {
        return vgb_av_fault(c, "alerts", name, ev->index,
                            "envelope_hash differs from the envelope hash its purged leaf names");
    }
    if ((content && r->content_leaf != VGB_AUDIT_NO_INDEX) ||
        (tags && r->tags_leaf != VGB_AUDIT_NO_INDEX)) {
        return vgb_av_fault(c, "audit_alert_leaves", name, ev->index,
                            "a second purged leaf purges what an earlier one did");
    }
    if (content) {
        r->content_leaf = ev->index;
        r->content_ms = ev->time_ms;
    }
    if (tags) {
        r->tags_leaf = ev->index;
        r->tags_ms = ev->time_ms;
    }
    return VG_OK;
}

vg_err
vgb_av_retain_leaf(vgb_av_check *c, vgb_av_retain *r, const char *name,
                   const uint8_t env_hash[VG_HASH_LEN], const vg_audit_event *ev)
{
    if (ev->kind == VG_AUDIT_PURGED) {
        return s_purged(c, r, name, env_hash, ev);
    }
    bool on = ev->kind == VG_AUDIT_HELD;
    if (on == r->held) {
        return vgb_av_fault(c, "audit_alert_leaves", name, ev->index,
                            on ? "a second held leaf without a released one between"
                               : "a released leaf without a hold to lift");
    }
    r->held = on;
    r->hold_leaf = ev->index;
    r->hold_ms = ev->time_ms;
    memcpy(r->hold_hash, ev->hash, VG_HASH_LEN);
    return VG_OK;
}

/* ---- the rows -------------------------------------------------------------------------- */

typedef struct s_find {
    const uint8_t *id;         /* the alert */
    bool found;                /* its hold */
    uint8_t hash[VG_HASH_LEN]; /* BLAKE2b-256("BY\nREASON") of it */
    int64_t held_ms;           /* its time */
} s_find;

static void
s_take_hold(void *ctx, const vgb_hold_row *h)
{
    s_find *f = ctx;
    if (f->found || memcmp(h->id, f->id, VG_ALERT_ID_LEN) != 0) {
        return;
    }
    f->found = true;
    f->held_ms = h->held_ms;
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, VG_HASH_LEN);
    crypto_generichash_update(&st, (const uint8_t *)h->by, strlen(h->by));
    crypto_generichash_update(&st, (const uint8_t *)"\n", 1);
    crypto_generichash_update(&st, (const uint8_t *)h->reason, strlen(h->reason));
    crypto_generichash_final(&st, f->hash, VG_HASH_LEN);
}

static vg_err
s_check_hold(vgb_av_check *c, const vgb_av_retain *r, const vgb_alert_full *a, bool row_held,
             const char *name)
{
    if (!r->held && !row_held) {
        return VG_OK;
    }
    if (!r->held) {
        return vgb_av_fault(c, "legal_holds", name, r->hold_leaf,
                            r->hold_leaf == VGB_AUDIT_NO_INDEX
                                ? "a hold no held leaf records: it was added outside the log"
                                : "a hold its released leaf lifted is still stored");
    }
    if (!row_held) {
        return vgb_av_fault(c, "legal_holds", name, r->hold_leaf,
                            "the held leaf puts a hold on this alert; the legal_holds row is "
                            "missing");
    }
    s_find f = {.id = a->id};
    vg_err rc = vgb_store_holds(c->store, s_take_hold, &f);
    if (rc == VG_OK && (!f.found || memcmp(f.hash, r->hold_hash, VG_HASH_LEN) != 0)) {
        return vgb_av_fault(c, "legal_holds", name, r->hold_leaf,
                            "held_by or reason differs from the hold its held leaf records");
    }
    if (rc == VG_OK && !vgb_av_near(f.held_ms, r->hold_ms)) {
        return vgb_av_fault(c, "legal_holds", name, r->hold_leaf,
                            "held_ms is far from its held leaf's time");
    }
    c->rep->n_held += rc == VG_OK;
    return rc;
}

vg_err
vgb_av_retain_check(vgb_av_check *c, const vgb_av_retain *r, const vgb_alert_full *a,
                    const char *name)
{
    bool content = r->content_leaf != VGB_AUDIT_NO_INDEX;
    bool tags = r->tags_leaf != VGB_AUDIT_NO_INDEX;
    if (a->envelope_len == 0 && !content) {
        return vgb_av_fault(c, "alerts", name, VGB_AUDIT_NO_INDEX,
                            "the envelope is missing: its column is empty and no purged leaf "
                            "records a purge (it was removed outside the log)");
    }
    if (a->envelope_len > 0 && content) {
        return vgb_av_fault(c, "alerts", name, r->content_leaf,
                            "its purged leaf says the content is gone, but the envelope is "
                            "still stored");
    }
    vgb_retain_row st;
    vg_err rc = vgb_store_retain_state(c->store, a->seq, &st);
    if (rc != VG_OK) {
        return rc;
    }
    const char *differs = (st.content_gone_ms != 0) != content ? "content_ms"
                          : (st.tags_gone_ms != 0) != tags     ? "tags_ms"
                          : content && !vgb_av_near(st.content_gone_ms, r->content_ms)
                              ? "content_ms (time)"
                          : tags && !vgb_av_near(st.tags_gone_ms, r->tags_ms) ? "tags_ms (time)"
                                                                              : NULL;
    if (differs != NULL) {
        return vgb_av_fault(c, "purges", name,
                            content ? r->content_leaf
                            : tags  ? r->tags_leaf
                                    : VGB_AUDIT_NO_INDEX,
                            "column %s differs from what its purged leaves record", differs);
    }
    c->n_purge_rows += content || tags;
    c->rep->n_purged += content;
    return s_check_hold(c, r, a, st.held, name);
}

vg_err
vgb_av_retain_stand_in(vgb_av_envelope *e, const vgb_alert_full *a)
{
    memset(e, 0, sizeof *e);
    memcpy(e->hash, a->envelope_hash, VG_HASH_LEN);
    memcpy(e->id, a->id, VG_ALERT_ID_LEN);
    snprintf(e->sender, sizeof e->sender, "%s", a->sender);
    e->sequence = a->sender_seq;
    e->created_ms = a->created_ms;
    e->status = a->status;
    e->msg_type = a->msg_type;
    e->severity = a->severity;
    e->urgency = a->urgency;
    e->version = a->network_version;
    return a->categories[0] == '\0' ? VG_OK : vg_strlist_split(&e->categories, a->categories, NULL);
}

vg_err
vgb_av_retain_counts(vgb_av_check *c)
{
    uint64_t n = 0;
    vg_err rc = vgb_store_count(c->store, VGB_COUNT_PURGES, NULL, &n);
    if (rc == VG_OK && n != c->n_purge_rows) {
        return vgb_av_fault(c, "purges", NULL, VGB_AUDIT_NO_INDEX,
                            "the table holds %llu rows but purged leaves account for %llu",
                            (unsigned long long)n, (unsigned long long)c->n_purge_rows);
    }
    rc = rc == VG_OK ? vgb_store_count(c->store, VGB_COUNT_HOLDS, NULL, &n) : rc;
    if (rc == VG_OK && n != c->rep->n_held) {
        return vgb_av_fault(c, "legal_holds", NULL, VGB_AUDIT_NO_INDEX,
                            "the table holds %llu rows but held leaves account for %llu: %s",
                            (unsigned long long)n, (unsigned long long)c->rep->n_held,
                            n > c->rep->n_held ? "rows were added outside the log"
                                               : "rows are missing");
    }
    return rc;
}
