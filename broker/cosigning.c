/* cosigning.c — a Cosign: an agency, as a witness, cosigns a checkpoint the
 * broker signed (handlers.h; docs/audit.md "Cosignatures"). The broker
 * verifies the line against the agency's key in the network document and
 * the checkpoint of that size it stored, then keeps it in the batch's
 * transaction; it never cosigns anything itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "store_witness.h"
#include "vigil/checkpoint.h"
#include "vigil/cosign.h"
#include "vigil/log.h"

/* The stored checkpoint the cosignature names, copied out of the row. */
typedef struct s_cp {
    char note[VG_CHECKPOINT_MAX_BYTES + 1]; /* the signed note */
    size_t note_len;                        /* its length */
} s_cp;

static void
s_take_cp(void *ctx, const vgb_checkpoint_row *row)
{
    s_cp *cp = ctx;
    cp->note_len = row->note_len < VG_CHECKPOINT_MAX_BYTES ? row->note_len : 0;
    memcpy(cp->note, row->note, cp->note_len);
    cp->note[cp->note_len] = '\0';
}

/* Every check, in order: who sent it, the checkpoint it names, its
 * signature under that agency's key, its time. *time_s: the time it
 * carries. */
static vg_err
s_check(const vgb_services *sv, const vgb_from *from, const Vigil__Cosign *c, s_cp *cp,
        uint64_t *time_s, vg_reason *why)
{
    const char *line = c->cosignature != NULL ? c->cosignature : "";
    char name[VG_COSIGN_NAME_MAX + 1];
    vg_err rc = vg_cosign_name(name, sizeof name, line, strlen(line), why);
    if (rc == VG_OK && strcmp(name, from->agency) != 0) {
        return vg_reason_set(why, VG_ERR_SENDER_MISMATCH,
                             "cosignature by '%s' arrived on the connection of '%s'", name,
                             from->agency);
    }
    if (rc == VG_OK && !vgb_batch_txn(sv->batch)) {
        return vg_reason_set(why, VG_ERR_INTERNAL, "store unavailable; send it again later");
    }
    bool found = false;
    if (rc == VG_OK &&
        vgb_store_audit_checkpoint_at(sv->store, c->tree_size, s_take_cp, cp, &found) != VG_OK) {
        return vg_reason_set(why, VG_ERR_INTERNAL, "store error; send it again later");
    }
    if (rc == VG_OK && !found) {
        return vg_reason_set(why, VG_ERR_NOT_FOUND,
                             "this broker signed no checkpoint of size %llu: cosign one it gave "
                             "you",
                             (unsigned long long)c->tree_size);
    }
    size_t body_len = 0;
    if (rc == VG_OK && vg_cosign_body(&body_len, cp->note, cp->note_len) != VG_OK) {
        return vg_reason_set(why, VG_ERR_INTERNAL, "stored checkpoint %llu is damaged",
                             (unsigned long long)c->tree_size);
    }
    if (rc == VG_OK) {
        rc = vg_cosign_verify_netdoc(name, time_s, line, strlen(line), cp->note, body_len, sv->doc,
                                     VG_COSIGN_NOW, why);
    }
    if (rc == VG_OK) {
        int64_t ms = *time_s > (uint64_t)INT64_MAX / 1000 ? INT64_MAX : (int64_t)*time_s * 1000;
        rc = vgb_check_skew(sv, ms, "cosignature", why);
    }
    return rc;
}

void
vgb_handle_cosign(const vgb_services *sv, const vgb_from *from, const Vigil__Cosign *c)
{
    s_cp *cp = malloc(sizeof *cp); /* 16 KiB of note */
    vg_reason why = {{0}};
    uint64_t time_s = 0;
    vg_err rc = cp == NULL ? vg_reason_set(&why, VG_ERR_NOMEM, "out of memory; send it again later")
                           : s_check(sv, from, c, cp, &time_s, &why);
    free(cp);
    bool added = false;
    if (rc == VG_OK) {
        const char *line = c->cosignature;
        rc = vgb_store_add_cosignature(sv->store, c->tree_size, from->agency, line, strlen(line),
                                       (int64_t)time_s, vg_clock_wall_ms(sv->clock), &added);
        if (rc != VG_OK) {
            vgb_batch_fail(sv->batch);
            vg_reason_set(&why, rc, "store error; send it again later");
        }
    }
    if (rc != VG_OK) {
        vgb_refuse(sv, from, NULL, NULL, rc, why.text, NULL, "cosign.reject");
        return;
    }
    vg_log(VG_LOG_INFO, "broker", added ? "cosign.accept" : "cosign.duplicate",
           "agency=%s size=%llu", from->agency, (unsigned long long)c->tree_size);
    vgb_batch_confirm(sv->batch, from, NULL,
                      added ? VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED
                            : VIGIL__CONFIRM_STATUS__CONFIRM_DUPLICATE,
                      0, added ? NULL : "this agency cosigned that checkpoint already", NULL);
}
