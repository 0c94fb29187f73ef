/* audit_cosign.c — audit verify's check of the stored witness cosignatures
 * (audit.h, "witness cosignatures"; docs/audit.md "Cosignatures"). A
 * cosignature is signed evidence by itself, so it has no leaf: verify
 * checks each one again, over the stored checkpoint it names, under the
 * agency's key in the network document. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "store_witness.h"
#include "vigil/cosign.h"

typedef struct s_ctx {
    vgb_store *store;         /* read inside the caller's read transaction */
    const vg_netdoc *doc;     /* who the witnesses are */
    vgb_cosign_summary *out;  /* what passed */
    vgb_audit_report *report; /* the first fault */
    vg_err rc;                /* VG_OK, the fault's VG_ERR_CONFLICT, or a read error */
    uint64_t cp_size;         /* the checkpoint cached below */
    bool cp_found;            /* it is stored */
    char note[VG_CHECKPOINT_MAX_BYTES + 1]; /* its note */
    size_t note_len;                        /* its length */
} s_ctx;

void
vgb_cosign_summary_fini(vgb_cosign_summary *s)
{
    if (s != NULL) {
        vg_strlist_fini(&s->latest);
        memset(s, 0, sizeof *s);
    }
}

static void
s_take_cp(void *ctx, const vgb_checkpoint_row *row)
{
    s_ctx *c = ctx;
    c->note_len = row->note_len <= VG_CHECKPOINT_MAX_BYTES ? row->note_len : 0;
    memcpy(c->note, row->note, c->note_len);
    c->note[c->note_len] = '\0';
}

static void
s_fault(s_ctx *c, const vgb_cosign_row *row, const char *detail)
{
    vgb_audit_report *r = c->report;
    r->fault = VGB_AUDIT_FAULT_COSIGNATURE;
    r->table = "cosignatures";
    r->has_checkpoint = true;
    r->checkpoint_size = row->size;
    snprintf(r->row, sizeof r->row, "agency=%.63s", row->agency);
    snprintf(r->detail, sizeof r->detail, "%s", detail);
    c->rc = VG_ERR_CONFLICT;
}

/* One stored row: its checkpoint (cached: rows come by size), then the line. */
static void
s_check_row(void *ctx, const vgb_cosign_row *row)
{
    s_ctx *c = ctx;
    if (c->rc != VG_OK) {
        return;
    }
    if (row->size != c->cp_size || c->note_len == 0) {
        c->cp_size = row->size;
        c->note_len = 0;
        c->rc = vgb_store_audit_checkpoint_at(c->store, row->size, s_take_cp, c, &c->cp_found);
        if (c->rc != VG_OK) {
            return;
        }
    }
    size_t body_len = 0;
    if (!c->cp_found || vg_cosign_body(&body_len, c->note, c->note_len) != VG_OK) {
        s_fault(c, row, "the cosignature names a checkpoint the store does not hold");
        return;
    }
    char name[VG_COSIGN_NAME_MAX + 1] = "", detail[VG_REASON_MAX];
    uint64_t t = 0;
    vg_reason why = {{0}};
    vg_err rc = vg_cosign_verify_netdoc(name, &t, row->line, row->line_len, c->note, body_len,
                                        c->doc, VG_COSIGN_AS_SIGNED, &why);
    if (rc != VG_OK) {
        snprintf(detail, sizeof detail, "the cosignature does not verify: %.400s", why.text);
        s_fault(c, row, detail);
    } else if (strcmp(name, row->agency) != 0 || (int64_t)t != row->time_s) {
        snprintf(detail, sizeof detail,
                 "the row says agency %.63s at %" PRId64 " s; its signed line, %s at %" PRIu64 " s",
                 row->agency, row->time_s, name, t);
        s_fault(c, row, detail);
    } else {
        c->out->n_checked++;
        if (c->out->has_latest && row->size == c->out->latest_size &&
            vg_strlist_add(&c->out->latest, row->agency) != VG_OK) {
            c->rc = VG_ERR_NOMEM;
        }
    }
}

static void
s_take_latest(void *ctx, const vgb_checkpoint_row *row)
{
    vgb_cosign_summary *out = ctx;
    out->latest_size = row->size;
}

vg_err
vgb_audit_check_cosignatures(vgb_store *store, const vg_netdoc *doc, vgb_cosign_summary *out,
                             vgb_audit_report *report, vg_reason *why)
{
    memset(out, 0, sizeof *out);
    memset(report, 0, sizeof *report);
    report->first_bad_index = VGB_AUDIT_NO_INDEX;
    s_ctx *c = calloc(1, sizeof *c); /* 16 KiB of note */
    if (c == NULL) {
        return VG_ERR_NOMEM;
    }
    *c = (s_ctx){.store = store, .doc = doc, .out = out, .report = report, .cp_size = UINT64_MAX};
    vg_err rc = vgb_store_audit_latest_checkpoint(store, s_take_latest, out, &out->has_latest);
    rc = rc == VG_OK ? vgb_store_cosignatures(store, 0, s_check_row, c) : rc;
    rc = rc == VG_OK ? c->rc : rc;
    free(c);
    if (rc == VG_ERR_CONFLICT) {
        return vg_reason_set(why, rc, "cosignatures: %s", report->detail);
    }
    return rc == VG_OK ? VG_OK : vg_reason_set(why, rc, "cannot read the cosignatures");
}
