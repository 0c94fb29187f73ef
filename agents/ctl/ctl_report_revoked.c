/* ctl_report_revoked.c — a required agency revoked before it acknowledged
 * (ctl_report_revoked.h). */
#include "ctl_report_revoked.h"

#include <stdlib.h>
#include <string.h>

/* The leaf indices linked to one alert (a vgb_index_fn). */
typedef struct {
    uint64_t *idx;
    size_t n, cap;
    bool nomem;
} s_leaves;

static void
s_take(void *ctx, uint64_t idx)
{
    s_leaves *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        uint64_t *grown = realloc(l->idx, cap * sizeof *grown);
        if (grown == NULL) {
            l->nomem = true;
            return;
        }
        l->idx = grown;
        l->cap = cap;
    }
    l->idx[l->n++] = idx;
}

bool
vgt_report_revoked(vgb_store *store, uint64_t seq, const char *agency,
                   char successor[VG_AUDIT_NAME_MAX])
{
    s_leaves l = {0};
    bool found = false;
    successor[0] = '\0';
    if (vgb_store_alert_leaves(store, seq, s_take, &l) != VG_OK || l.nomem) {
        free(l.idx);
        return false;
    }
    for (size_t i = l.n; i-- > 0 && !found;) { /* it is among the newest */
        uint8_t *leaf = NULL;
        size_t len = 0;
        vg_audit_event ev;
        if (vgb_store_audit_leaf(store, l.idx[i], &leaf, &len) != VG_OK) {
            continue;
        }
        if (vg_audit_leaf_parse(&ev, leaf, len, NULL) == VG_OK) {
            if (ev.kind == VG_AUDIT_REASSIGNED && strcmp(ev.agency, agency) == 0) {
                memcpy(successor, ev.target, VG_AUDIT_NAME_MAX);
                found = true;
            }
            vg_audit_event_fini(&ev);
        }
        free(leaf);
    }
    free(l.idx);
    return found;
}
