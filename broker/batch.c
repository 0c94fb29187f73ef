/* batch.c — replies and post-commit work of one poll batch (batch.h). */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "vigil/log.h"

/* A Confirm, packed only when the batch ends: it carries the log's size
 * after the commit and the checkpoint published by it. */
typedef struct s_confirm {
    Vigil__ConfirmStatus status; /* wire ConfirmStatus */
    Vigil__RejectCode code;      /* wire RejectCode */
    char *reason;                /* malloc'ed */
    vg_strlist missing;          /* mandatory recipients left out */
} s_confirm;

/* A reply waiting for the batch's commit. */
typedef struct s_reply {
    uint8_t rid[VGB_RID_MAX];          /* to whom */
    size_t rid_len;                    /* routing id length */
    uint8_t *frame;                    /* packed BrokerFrame, malloc'ed; NULL for a confirm */
    size_t len;                        /* its length */
    bool is_confirm;                   /* a Confirm: packed at the end from c */
    bool has_alert_id;                 /* alert_id below is set */
    s_confirm c;                       /* the Confirm's fields */
    bool needs_commit;                 /* ACCEPTED/DUPLICATE: void if the commit fails */
    uint64_t request_id;               /* the request it answers */
    uint8_t alert_id[VG_ALERT_ID_LEN]; /* what it was about */
} s_reply;

/* Work to apply only once the batch's commit returned. */
typedef struct s_after {
    size_t agency; /* index into the agencies */
    uint64_t seq;  /* 0: its queue has new work; else: receipted, leave the window */
} s_after;

struct vgb_batch {
    vgb_store *store;   /* borrowed */
    vgb_ledger *ledger; /* borrowed */
    const vgb_out *out; /* borrowed */
    s_reply *replies;   /* this batch's replies */
    size_t n_replies, cap_replies;
    s_after *after; /* this batch's post-commit work */
    size_t n_after, cap_after;
    bool failed; /* roll the batch back */
};

static void
s_reply_fini(s_reply *r)
{
    free(r->frame);
    free(r->c.reason);
    vg_strlist_fini(&r->c.missing);
}

/* A new slot at the end of the replies (not yet counted), or NULL. */
static s_reply *
s_slot(vgb_batch *x, const vgb_from *from)
{
    if (x->n_replies == x->cap_replies) {
        size_t cap = x->cap_replies ? x->cap_replies * 2 : 64;
        s_reply *r = realloc(x->replies, cap * sizeof *r);
        if (r == NULL) {
            vg_log(VG_LOG_ERROR, "broker", "reply.nomem", "agency=%s", from->agency);
            return NULL; /* the client times out and resends: nothing is lost */
        }
        x->replies = r;
        x->cap_replies = cap;
    }
    s_reply *r = &x->replies[x->n_replies];
    memset(r, 0, sizeof *r);
    memcpy(r->rid, from->rid, from->rid_len);
    r->rid_len = from->rid_len;
    r->request_id = from->request_id;
    return r;
}

vg_err
vgb_batch_new(vgb_batch **out, vgb_store *store, vgb_ledger *ledger, const vgb_out *o)
{
    vgb_batch *x = calloc(1, sizeof *x);
    if (x == NULL) {
        return VG_ERR_NOMEM;
    }
    x->store = store;
    x->ledger = ledger;
    x->out = o;
    *out = x;
    return VG_OK;
}

void
vgb_batch_destroy(vgb_batch **x_p)
{
    if (x_p == NULL || *x_p == NULL) {
        return;
    }
    vgb_batch *x = *x_p;
    for (size_t i = 0; i < x->n_replies; i++) {
        s_reply_fini(&x->replies[i]);
    }
    free(x->replies);
    free(x->after);
    free(x);
    *x_p = NULL;
}

bool
vgb_batch_txn(vgb_batch *x)
{
    return vgb_store_txn(x->store);
}

void
vgb_batch_fail(vgb_batch *x)
{
    x->failed = true;
}

bool
vgb_batch_failed(const vgb_batch *x)
{
    return x->failed;
}

void
vgb_batch_reply(vgb_batch *x, const vgb_from *from, Vigil__BrokerFrame *f, bool needs_commit,
                const uint8_t *alert_id)
{
    if (from->request_id == 0 && f->kind_case != VIGIL__BROKER_FRAME__KIND_DELIVER &&
        f->kind_case != VIGIL__BROKER_FRAME__KIND_SIGNED_NETWORK) {
        return; /* no reply wanted (deliveries and documents are sent unasked) */
    }
    s_reply *r = s_slot(x, from);
    if (r == NULL) {
        return;
    }
    f->request_id = from->request_id;
    r->len = vigil__broker_frame__get_packed_size(f);
    r->frame = malloc(r->len ? r->len : 1);
    if (r->frame == NULL) {
        vg_log(VG_LOG_ERROR, "broker", "reply.nomem", "agency=%s", from->agency);
        return; /* as above */
    }
    vigil__broker_frame__pack(f, r->frame);
    r->needs_commit = needs_commit;
    r->has_alert_id = alert_id != NULL;
    if (alert_id != NULL) {
        memcpy(r->alert_id, alert_id, VG_ALERT_ID_LEN);
    }
    x->n_replies++;
}

void
vgb_batch_confirm(vgb_batch *x, const vgb_from *from, const uint8_t *alert_id,
                  Vigil__ConfirmStatus st, Vigil__RejectCode code, const char *reason,
                  const vg_strlist *missing)
{
    if (from->request_id == 0) {
        return; /* no reply wanted */
    }
    s_reply *r = s_slot(x, from);
    if (r == NULL) {
        return;
    }
    r->is_confirm = true;
    r->needs_commit = st != VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED;
    r->c.status = st;
    r->c.code = code;
    r->has_alert_id = alert_id != NULL;
    if (alert_id != NULL) {
        memcpy(r->alert_id, alert_id, VG_ALERT_ID_LEN);
    }
    bool ok = (r->c.reason = vg_strdup(reason ? reason : "")) != NULL;
    for (size_t i = 0; ok && missing != NULL && i < missing->n; i++) {
        ok = vg_strlist_add(&r->c.missing, missing->items[i]) == VG_OK;
    }
    if (!ok) {
        s_reply_fini(r);
        vg_log(VG_LOG_ERROR, "broker", "reply.nomem", "agency=%s", from->agency);
        return; /* the client times out and resends: nothing is lost */
    }
    x->n_replies++;
}

/* Packs a confirm now: the log's size and latest checkpoint are those the
 * commit just published. */
static uint8_t *
s_pack_confirm(vgb_batch *x, const s_reply *r, size_t *len)
{
    Vigil__Confirm c = VIGIL__CONFIRM__INIT;
    if (r->has_alert_id) {
        c.alert_id.data = (uint8_t *)r->alert_id;
        c.alert_id.len = VG_ALERT_ID_LEN;
    }
    c.status = r->c.status;
    c.code = r->c.code;
    c.tree_size = vgb_ledger_size(x->ledger);
    const char *note = vgb_ledger_checkpoint(x->ledger);
    if (note != NULL) {
        c.checkpoint.data = (uint8_t *)note;
        c.checkpoint.len = strlen(note);
    }
    c.reason = r->c.reason;
    c.n_missing = r->c.missing.n;
    c.missing = r->c.missing.items;
    Vigil__BrokerFrame f = VIGIL__BROKER_FRAME__INIT;
    f.request_id = r->request_id;
    f.kind_case = VIGIL__BROKER_FRAME__KIND_CONFIRM;
    f.confirm = &c;
    *len = vigil__broker_frame__get_packed_size(&f);
    uint8_t *buf = malloc(*len);
    if (buf != NULL) {
        vigil__broker_frame__pack(&f, buf);
    }
    return buf;
}

void
vgb_batch_error(vgb_batch *x, const vgb_from *from, Vigil__RejectCode code, const char *reason)
{
    Vigil__ErrorReply e = VIGIL__ERROR_REPLY__INIT;
    e.code = code;
    e.reason = (char *)reason;
    Vigil__BrokerFrame f = VIGIL__BROKER_FRAME__INIT;
    f.kind_case = VIGIL__BROKER_FRAME__KIND_ERROR;
    f.error = &e;
    vgb_batch_reply(x, from, &f, false, NULL);
}

void
vgb_batch_after(vgb_batch *x, size_t agency, uint64_t seq)
{
    if (x->n_after == x->cap_after) {
        size_t cap = x->cap_after ? x->cap_after * 2 : 64;
        s_after *a = realloc(x->after, cap * sizeof *a);
        if (a == NULL) {
            return; /* worst case: redelivered later; the store is the truth */
        }
        x->after = a;
        x->cap_after = cap;
    }
    x->after[x->n_after++] = (s_after){agency, seq};
}

/* Sends a frame now; a connection that is gone or full loses it (its client
 * times out and asks again), which is logged. */
static void
s_send(vgb_batch *x, const uint8_t *rid, size_t rid_len, const uint8_t *frame, size_t len)
{
    vg_err rc = vgb_out_send(x->out, rid, rid_len, frame, len);
    if (rc != VG_OK) {
        vg_log(VG_LOG_DEBUG, "broker", "reply.drop", "reason=%s",
               rc == VG_ERR_NOT_FOUND ? "peer_gone" : "queue_full");
    }
}

/* Tells a client that what it sent was not recorded (the commit failed):
 * storage_full or internal, both of which a client keeps and resends. */
static void
s_send_abort(vgb_batch *x, const s_reply *r, vg_err rc)
{
    bool full = rc == VG_ERR_STORAGE_FULL;
    Vigil__Confirm c = VIGIL__CONFIRM__INIT;
    if (r->has_alert_id) { /* no id: none is named, not an all-zero one */
        c.alert_id.data = (uint8_t *)r->alert_id;
        c.alert_id.len = VG_ALERT_ID_LEN;
    }
    c.status = VIGIL__CONFIRM_STATUS__CONFIRM_REJECTED;
    c.code = full ? VIGIL__REJECT_CODE__REJECT_STORAGE_FULL : VIGIL__REJECT_CODE__REJECT_INTERNAL;
    c.reason = full ? "the broker's store is full: nothing was recorded; it stays in your outbox "
                      "and is sent again when there is space"
               : rc == VG_ERR_NOT_LEADER
                   ? "the broker does not know whether this was recorded (its commit is in doubt): "
                     "send it again; if it was, the answer is a duplicate"
                   : "the broker could not write its store: nothing was recorded; send it again";
    Vigil__BrokerFrame f = VIGIL__BROKER_FRAME__INIT;
    f.request_id = r->request_id;
    f.kind_case = VIGIL__BROKER_FRAME__KIND_CONFIRM;
    f.confirm = &c;
    size_t len = vigil__broker_frame__get_packed_size(&f);
    uint8_t *buf = malloc(len);
    if (buf == NULL) {
        vg_log(VG_LOG_ERROR, "broker", "reply.nomem", "detail=abort");
        return; /* the client times out and resends */
    }
    vigil__broker_frame__pack(&f, buf);
    s_send(x, r->rid, r->rid_len, buf, len);
    free(buf);
}

void
vgb_batch_end(vgb_batch *x, bool committed, vg_err rc, vgb_after_fn fn, void *ctx)
{
    size_t voided = 0;
    for (size_t i = 0; !committed && i < x->n_replies; i++) {
        voided += x->replies[i].needs_commit;
    }
    if (voided > 0) {
        vg_log(VG_LOG_ERROR, "broker", "batch.abort", "code=%s confirms_voided=%zu",
               vg_err_code(rc), voided);
    }
    for (size_t i = 0; i < x->n_replies; i++) {
        s_reply *r = &x->replies[i];
        if (!committed && r->needs_commit) {
            /* Never confirm what is not durable: say so; the client keeps it and resends. */
            s_send_abort(x, r, rc);
        } else if (r->is_confirm && (r->frame = s_pack_confirm(x, r, &r->len)) == NULL) {
            vg_log(VG_LOG_ERROR, "broker", "reply.nomem", "detail=confirm");
        } else {
            s_send(x, r->rid, r->rid_len, r->frame, r->len);
        }
        s_reply_fini(r);
    }
    x->n_replies = 0;
    for (size_t i = 0; committed && i < x->n_after; i++) {
        fn(ctx, x->after[i].agency, x->after[i].seq);
    }
    x->n_after = 0;
    x->failed = false;
}
