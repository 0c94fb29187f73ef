/* audit_tags.c — an alert's link_tags rows against its signed envelope,
 * and its linked leaf against the index those rows make (audit_state.h,
 * vgb_av_check_tags).
 *
 * The link_tags table is an index the envelopes determine: the broker
 * stores one row per distinct tag of an accepted envelope (links.c). A row
 * deleted there unlinks later warnings about the subject from now on; a
 * row added or altered links alerts the senders never linked. Each row is
 * held to the tags the sender signed, each signed tag must have its row,
 * and the link the broker recorded when it took the alert (its linked
 * leaf) must be the one the checked rows give. */
#include "audit_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "links.h"
#include "store_retain.h"

/* The alert's rows, as stored. */
typedef struct s_rows {
    uint8_t (*tag)[VG_HASH_LEN]; /* the 32-byte ones */
    size_t n, cap;               /* count, allocated */
    size_t n_read;               /* rows read, of any length */
    bool bad_len;                /* a row is not 32 bytes: */
    uint8_t bad[VG_HASH_LEN];    /* its first bytes (for the fault) */
    size_t bad_n;                /* how many of them */
    vg_err rc;                   /* no memory */
} s_rows;

static void
s_take_tag(void *ctx, const uint8_t *tag, size_t len)
{
    s_rows *r = ctx;
    r->n_read++;
    if (len != VG_HASH_LEN) {
        if (!r->bad_len) {
            r->bad_len = true;
            r->bad_n = len < VG_HASH_LEN ? len : VG_HASH_LEN;
            if (r->bad_n > 0) {
                memcpy(r->bad, tag, r->bad_n);
            }
        }
        return;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 8;
        void *grown = realloc(r->tag, cap * sizeof *r->tag);
        if (grown == NULL) {
            r->rc = VG_ERR_NOMEM;
            return;
        }
        r->tag = grown;
        r->cap = cap;
    }
    memcpy(r->tag[r->n++], tag, VG_HASH_LEN);
}

static bool
s_has(const uint8_t (*tags)[VG_HASH_LEN], size_t n, const uint8_t *tag)
{
    for (size_t i = 0; i < n; i++) {
        if (memcmp(tags[i], tag, VG_HASH_LEN) == 0) {
            return true;
        }
    }
    return false;
}

static vg_err
s_tag_fault(vgb_av_check *c, const char *name, const uint8_t *tag, size_t len, uint64_t leaf,
            const char *what)
{
    char hex[2 * VG_HASH_LEN + 1] = "";
    for (size_t i = 0; i < len; i++) {
        snprintf(hex + 2 * i, 3, "%02x", tag[i]);
    }
    char row[VGB_AUDIT_ROW_MAX];
    snprintf(row, sizeof row, "%s tag=%s", name, hex);
    return vgb_av_fault(c, "link_tags", row, leaf, "%s", what);
}

/* Each row is a tag the envelope carries, each tag it carries is a row. */
static vg_err
s_rows_match(vgb_av_check *c, const s_rows *r, const vgb_av_envelope *e, const char *name,
             uint64_t leaf)
{
    if (r->bad_len) {
        return s_tag_fault(c, name, r->bad, r->bad_n, leaf,
                           "the row's tag is not a 32-byte link tag: altered");
    }
    for (size_t i = 0; i < r->n; i++) {
        if (!s_has((const uint8_t(*)[VG_HASH_LEN])e->tags, e->n_tags, r->tag[i])) {
            return s_tag_fault(c, name, r->tag[i], VG_HASH_LEN, leaf,
                               "the alert's signed envelope carries no such link tag: the row "
                               "was added or altered outside the broker");
        }
    }
    for (size_t i = 0; i < e->n_tags; i++) {
        if (!s_has((const uint8_t(*)[VG_HASH_LEN])r->tag, r->n, e->tags[i])) {
            return s_tag_fault(c, name, e->tags[i], VG_HASH_LEN, leaf,
                               "the alert's signed envelope carries this link tag but no row "
                               "indexes it: the row was deleted or altered");
        }
    }
    return VG_OK;
}

/* ---- the linked leaf ------------------------------------------------------------------- */

typedef struct s_earlier {
    uint64_t seq[VGB_LINKS_MAX]; /* the earlier alerts the index links, oldest first */
    size_t n;                    /* how many */
} s_earlier;

static bool
s_take_seq(void *ctx, uint64_t seq)
{
    s_earlier *x = ctx;
    x->seq[x->n++] = seq;
    return x->n < VGB_LINKS_MAX;
}

/* The alert's linked leaf, if any: *found, and ev filled (release it). */
static vg_err
s_linked_leaf(vgb_av_check *c, const vgb_av_envelope *e, const char *name, const uint64_t *leaves,
              size_t n_leaves, vg_audit_event *ev, bool *found)
{
    *found = false;
    for (size_t i = 0; i < n_leaves; i++) {
        vg_err rc = vgb_av_read_leaf(c, leaves[i], ev, "audit_alert_leaves", name);
        if (rc != VG_OK) {
            return rc;
        }
        if (ev->kind == VG_AUDIT_LINKED && ev->has_alert_id &&
            memcmp(ev->alert_id, e->id, VG_ALERT_ID_LEN) == 0) {
            ev->index = leaves[i];
            *found = true;
            return VG_OK;
        }
        vg_audit_event_fini(ev);
    }
    return VG_OK;
}

static vg_err
s_no_alert(vgb_av_check *c, s_earlier *x, vg_audit_event *ev, const char *row)
{
    vg_audit_event_fini(ev);
    free(x);
    return vgb_av_fault(c, "alerts", row, VGB_AUDIT_NO_INDEX,
                        "link_tags rows name this alert but there is no alerts row: deleted");
}

/* How many of the alerts the linked leaf ev names are no longer in the
 * index x because retention purged their link tags (their purges row,
 * itself held to their purged leaf): such a link is history, not a fault. */
static vg_err
s_tags_gone(vgb_av_check *c, const vg_audit_event *ev, const s_earlier *x, size_t *n_gone)
{
    *n_gone = 0;
    for (size_t i = 0; i < ev->n_alerts; i++) {
        vgb_alert_row row;
        vg_err rc = vgb_store_find_alert(c->store, ev->alerts[i], &row);
        if (rc == VG_ERR_NOT_FOUND) {
            continue; /* a deleted alert: the count below says so */
        }
        bool indexed = false;
        for (size_t k = 0; rc == VG_OK && k < x->n && !indexed; k++) {
            indexed = x->seq[k] == row.seq;
        }
        vgb_retain_row ret;
        rc = rc == VG_OK && !indexed ? vgb_store_retain_state(c->store, row.seq, &ret) : rc;
        if (rc != VG_OK) {
            return rc;
        }
        *n_gone += !indexed && ret.tags_gone_ms != 0;
    }
    return VG_OK;
}

/* The linked leaf names exactly the earlier alerts the checked rows link
 * (as many, each of them); no leaf when they link none. */
static vg_err
s_link_matches(vgb_av_check *c, uint64_t seq, const vgb_av_envelope *e, const char *name,
               const uint64_t *leaves, size_t n_leaves, uint64_t accepted)
{
    s_earlier *x = calloc(1, sizeof *x);
    if (x == NULL) {
        return VG_ERR_NOMEM;
    }
    vg_err rc = vgb_store_linked_earlier(c->store, seq, VGB_LINKS_MAX, s_take_seq, x);
    vg_audit_event ev;
    bool found = false;
    rc = rc == VG_OK ? s_linked_leaf(c, e, name, leaves, n_leaves, &ev, &found) : rc;
    size_t n_gone = 0; /* alerts the leaf names whose tags retention purged since */
    rc = rc == VG_OK && found ? s_tags_gone(c, &ev, x, &n_gone) : rc;
    bool same = rc == VG_OK && (found ? ev.n_alerts == x->n + n_gone : x->n == 0);
    for (size_t i = 0; rc == VG_OK && same && found && i < x->n; i++) {
        vgb_alert_meta m;
        rc = vgb_store_alert_meta(c->store, x->seq[i], &m);
        if (rc == VG_ERR_NOT_FOUND) {
            char row[64];
            snprintf(row, sizeof row, "seq=%llu", (unsigned long long)x->seq[i]);
            return s_no_alert(c, x, &ev, row);
        }
        same = rc == VG_OK && memcmp(m.id, ev.alert_id, VG_ALERT_ID_LEN) != 0 &&
               vg_audit_event_names(&ev, m.id); /* the leaf lists them sorted */
    }
    if (rc == VG_OK && !same) {
        rc = vgb_av_fault(c, "link_tags", name, found ? ev.index : accepted,
                          "the link tags link this alert to %zu earlier alert%s, but the broker "
                          "recorded %s when it took the alert",
                          x->n, x->n == 1 ? "" : "s",
                          found ? "other ones (its linked leaf)" : "no link (no linked leaf)");
    }
    if (found) {
        vg_audit_event_fini(&ev);
    }
    free(x);
    return rc;
}

vg_err
vgb_av_check_tags(vgb_av_check *c, uint64_t seq, const vgb_av_envelope *e, const char *name,
                  const uint64_t *leaves, size_t n_leaves, const struct vgb_av_retain *ret)
{
    uint64_t accepted = n_leaves > 0 ? leaves[0] : VGB_AUDIT_NO_INDEX;
    bool content_gone = ret->content_leaf != VGB_AUDIT_NO_INDEX;
    bool tags_gone = ret->tags_leaf != VGB_AUDIT_NO_INDEX;
    s_rows r = {0};
    vg_err rc = vgb_store_link_tags_of(c->store, seq, s_take_tag, &r);
    rc = rc == VG_OK ? r.rc : rc;
    c->n_link_tags += r.n_read;
    if (rc == VG_OK && tags_gone && r.n_read > 0) {
        rc = vgb_av_fault(c, "link_tags", name, ret->tags_leaf,
                          "the alert's link tags were purged (its purged leaf) but %zu row%s "
                          "index it: added after the purge",
                          r.n_read, r.n_read == 1 ? "" : "s");
    }
    /* With its content purged the signed tags are gone too: its rows stand
     * until their own purge, held to the links the log recorded. */
    rc = rc == VG_OK && !content_gone ? s_rows_match(c, &r, e, name, accepted) : rc;
    free(r.tag);
    if (rc == VG_OK && !tags_gone && (e->n_tags > 0 || r.n_read > 0 || content_gone)) {
        rc = s_link_matches(c, seq, e, name, leaves, n_leaves, accepted);
    }
    return rc;
}
