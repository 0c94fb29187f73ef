/* agent_cosign.c — the agency as a witness that cosigns (vigil/agent.h,
 * "Cosignatures"; docs/audit.md). A cosignature says: this agency verified
 * the checkpoint consistent with every one it held before. So it is made
 * only after a vga_audit_sync that proved the held chain, over the latest
 * checkpoint that sync checked, and never after a fault: an agency that saw
 * a fork keeps its evidence and signs nothing more the broker could show
 * as its approval. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_internal.h"
#include "vigil/cosign.h"
#include "vigil/log.h"
#include "vigil/transition.h"

/* Signs the cosignature of cp and sends it; the broker's word in *res. */
static vg_err
s_send(vga_agent *a, const vga_audit_checkpoint *cp, int64_t timeout_ms, vga_confirm *res,
       vg_reason *why)
{
    size_t body_len = 0;
    if (vg_cosign_body(&body_len, cp->note, cp->note_len) != VG_OK) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "the held checkpoint is not a signed note");
    }
    char line[VG_COSIGN_LINE_MAX];
    uint64_t now_s = (uint64_t)vg_clock_wall_ms(a->clock) / 1000;
    vg_err rc = vg_cosign_sign(line, sizeof line, cp->note, body_len, vga_agent_agency(a), now_s,
                               vga_identity_keys(a->id), why);
    if (rc != VG_OK) {
        return rc;
    }
    Vigil__Cosign c = VIGIL__COSIGN__INIT;
    c.tree_size = cp->size;
    c.cosignature = line;
    Vigil__ClientFrame f = VIGIL__CLIENT_FRAME__INIT;
    f.request_id = vga_conn_next_req(a) | VGA_REQ_NOT_OUTBOX;
    f.kind_case = VIGIL__CLIENT_FRAME__KIND_COSIGN;
    f.cosign = &c;
    if ((rc = vga_conn_send(a, &f)) != VG_OK) {
        return vg_reason_set(why, rc, "cannot send to the broker");
    }
    return vga_conn_wait_confirm(a, f.request_id, timeout_ms, res, why);
}

void
vga_audit_cosign_after_sync(vga_agent *a, vg_err sync_rc, const vg_reason *sync_why,
                            int64_t timeout_ms)
{
    if (sync_rc == VG_ERR_CONFLICT) {
        if (!a->cosign_withheld) {
            vg_log(VG_LOG_WARN, "agent", "audit.cosign_withheld", "agency=%s reason=\"%s\"",
                   vga_agent_agency(a), sync_why != NULL ? sync_why->text : "audit fault");
        }
        a->cosign_withheld = true;
        return;
    }
    vga_audit_checkpoint cp;
    if (sync_rc != VG_OK || vga_audit_latest(a, &cp, NULL) != VG_OK) {
        return;
    }
    if (cp.size > a->cosigned_size) {
        vga_confirm res = {0};
        vg_reason why = {{0}};
        vg_err rc = s_send(a, &cp, timeout_ms, &res, &why);
        if (rc == VG_OK) {
            a->cosigned_size = cp.size;
            vg_log(VG_LOG_INFO, "agent", "audit.cosigned", "agency=%s size=%llu%s",
                   vga_agent_agency(a), (unsigned long long)cp.size,
                   res.duplicate ? " again=1" : "");
        } else {
            vg_log(VG_LOG_WARN, "agent", "audit.cosign_refused",
                   "agency=%s size=%llu code=%s reason=\"%s\"", vga_agent_agency(a),
                   (unsigned long long)cp.size, vg_err_code(rc), why.text);
        }
        vga_confirm_fini(&res);
    }
    vga_audit_checkpoint_fini(&cp);
}

/* ---- who cosigned ------------------------------------------------------------------ */

/* What a QUERY_CHECKPOINT answer carried, copied out of the frame. */
typedef struct s_answer {
    char *note;       /* the checkpoint, NUL-terminated, or NULL */
    size_t note_len;  /* its length */
    uint64_t size;    /* its size as the broker says */
    vg_strlist lines; /* the cosignature lines */
    bool failed;      /* out of memory */
} s_answer;

static bool
s_on_result(void *ctx, const Vigil__QueryResult *r)
{
    s_answer *ans = ctx;
    if (r->checkpoint.len > 0 && r->checkpoint.len <= VG_CHECKPOINT_MAX_BYTES) {
        ans->note = malloc(r->checkpoint.len + 1);
        ans->failed |= ans->note == NULL;
        if (ans->note != NULL) {
            memcpy(ans->note, r->checkpoint.data, r->checkpoint.len);
            ans->note[r->checkpoint.len] = '\0';
            ans->note_len = r->checkpoint.len;
        }
    }
    ans->size = r->tree_size;
    for (size_t i = 0; i < r->n_cosignatures && !ans->failed; i++) {
        ans->failed |= vg_strlist_add(&ans->lines, r->cosignatures[i]) != VG_OK;
    }
    return !ans->failed;
}

void
vga_cosigners_fini(vga_cosigners *c)
{
    if (c != NULL) {
        vg_strlist_fini(&c->agencies);
        memset(c, 0, sizeof *c);
    }
}

/* Verifies each line over the checkpoint's body; fills out. */
static vg_err
s_judge(vga_agent *a, const vg_checkpoint *cp, const vg_strlist *lines, vga_cosigners *out)
{
    size_t body_len = 0;
    const char *note = vg_checkpoint_note(cp);
    if (vg_cosign_body(&body_len, note, vg_checkpoint_note_len(cp)) != VG_OK) {
        return VG_ERR_MALFORMED;
    }
    out->size = vg_checkpoint_size(cp);
    for (size_t i = 0; i < lines->n; i++) {
        char name[VG_COSIGN_NAME_MAX + 1] = "";
        vg_reason why = {{0}};
        const char *l = lines->items[i];
        if (vg_cosign_verify_netdoc(name, NULL, l, strlen(l), note, body_len, vga_agent_doc(a),
                                    VG_COSIGN_AS_SIGNED, &why) != VG_OK ||
            vg_strlist_contains(&out->agencies, name)) {
            vg_log(VG_LOG_WARN, "agent", "audit.bad_cosignature",
                   "agency=%s size=%llu witness=%s reason=\"%s\"", vga_agent_agency(a),
                   (unsigned long long)out->size, name[0] ? name : "-",
                   why.text[0] ? why.text : "the same witness twice");
            out->n_bad++;
            continue;
        }
        if (vg_strlist_add(&out->agencies, name) != VG_OK) {
            return VG_ERR_NOMEM;
        }
        out->mine |= strcmp(name, vga_agent_agency(a)) == 0;
    }
    return VG_OK;
}

vg_err
vga_audit_cosigners(vga_agent *a, int64_t timeout_ms, vga_cosigners *out, vg_reason *why)
{
    memset(out, 0, sizeof *out);
    Vigil__Query q = VIGIL__QUERY__INIT;
    q.kind = VIGIL__QUERY_KIND__QUERY_CHECKPOINT;
    s_answer ans = {0};
    vg_err rc = vga_conn_query(a, &q, timeout_ms, s_on_result, &ans, why);
    vg_checkpoint *cp = NULL;
    if (rc == VG_OK && ans.note != NULL) {
        rc = vg_checkpoint_verify_netdoc(&cp, ans.note, ans.note_len, vga_agent_doc(a), NULL, NULL,
                                         why);
    }
    if (rc == VG_OK && cp != NULL) {
        rc = s_judge(a, cp, &ans.lines, out);
        rc = rc == VG_OK ? VG_OK : vg_reason_set(why, rc, "cannot judge the cosignatures");
    }
    vg_checkpoint_destroy(&cp);
    free(ans.note);
    vg_strlist_fini(&ans.lines);
    if (rc != VG_OK) {
        vga_cosigners_fini(out);
    }
    return rc;
}
