/* agent_relay.c — sealing without sending, and the inbox by row (see vigil/agent_relay.h). */
#include "vigil/agent_relay.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "agent_internal.h"
#include "agent_store.h"
#include "vigil/linktag.h"

vg_err
vga_recipients_at(vga_agent *a, const vg_alert *alert, int64_t at_ms, vg_strlist *out,
                  vg_reason *why)
{
    memset(out, 0, sizeof *out);
    vg_strlist required = {0}, covers = {0};
    vg_err rc = VG_OK;
    for (size_t i = 0; i < alert->recipients.n && rc == VG_OK; i++) {
        rc = vg_strlist_add_unique(out, alert->recipients.items[i]);
    }
    if (rc == VG_OK) { /* the policy's mandatory agencies: added, never removable */
        rc = vg_netdoc_required(vga_agent_doc(a), (const char *const *)alert->categories.items,
                                alert->categories.n, alert->severity, vga_agent_agency(a),
                                &required);
    }
    if (rc == VG_OK) { /* and the out-of-hours cover of those closed at at_ms */
        rc = vg_netdoc_cover(vga_agent_doc(a), &required, alert->severity, vga_agent_agency(a),
                             at_ms, &covers, NULL);
    }
    for (size_t i = 0; i < required.n && rc == VG_OK; i++) {
        rc = vg_strlist_add_unique(out, required.items[i]);
    }
    for (size_t i = 0; i < covers.n && rc == VG_OK; i++) {
        rc = vg_strlist_add_unique(out, covers.items[i]);
    }
    vg_strlist_fini(&required);
    vg_strlist_fini(&covers);
    if (rc == VG_OK && out->n == 0) {
        rc = vg_reason_set(why, VG_ERR_INVALID,
                           "no recipients: name agencies (publish --to, \"to\" in the alert "
                           "JSON, ?to= at the gateway), or use categories the network's policy "
                           "routes");
    }
    return rc;
}

vg_err
vga_seal_tagged(vga_agent *a, const vg_alert *alert, uint64_t seq, int64_t now, uint8_t **out,
                size_t *out_len, uint8_t id_out[VG_ALERT_ID_LEN], vg_reason *why)
{
    const vg_netdoc *doc = vga_agent_doc(a);
    uint8_t *keys = sodium_malloc(VG_LINK_KEYS_MAX * VG_LINK_KEY_LEN);
    if (keys == NULL) {
        return VG_ERR_NOMEM;
    }
    size_t n_keys = 0;
    uint8_t(*k)[VG_LINK_KEY_LEN] = (uint8_t(*)[VG_LINK_KEY_LEN])keys;
    vg_err rc =
        vg_netdoc_open_link_keys(k, &n_keys, doc, vga_agent_agency(a), vga_identity_keys(a->id));
    if (rc != VG_OK) {
        rc = vg_reason_set(why, rc,
                           "the network's link key sealed to %s does not open with its box key: "
                           "ask the administrator to sign the document again",
                           vga_agent_agency(a));
    } else {
        if (n_keys == 0 && vg_netdoc_n_link_keys(doc) > 0) {
            vg_log(VG_LOG_WARN, "agent", "publish.no_link_key",
                   "agency=%s detail=\"the network document seals no link key to this agency: "
                   "its alerts are not linked; ask the administrator to sign it again\"",
                   vga_agent_agency(a));
        }
        vg_seal_params p = {doc,
                            vga_agent_agency(a),
                            vga_identity_keys(a->id),
                            seq,
                            now,
                            NULL,
                            (const uint8_t(*)[32])k,
                            n_keys};
        rc = vg_envelope_seal(out, out_len, id_out, alert, &p, why);
    }
    sodium_free(keys);
    return rc;
}

vg_err
vga_seal(vga_agent *a, const vg_alert *alert, uint8_t **env_out, size_t *len_out,
         uint8_t id_out[VG_ALERT_ID_LEN], vg_reason *why)
{
    vg_alert sealed = *alert;                 /* shallow: only the recipient list differs */
    int64_t now = vg_clock_wall_ms(a->clock); /* its created time: cover is judged at it */
    vg_err rc = vga_recipients_at(a, alert, now, &sealed.recipients, why);
    if (rc == VG_OK && (rc = vga_store_begin(a->store, why)) == VG_OK) {
        uint64_t seq = 0;
        rc = vga_store_next_seq(a->store, now, &seq);
        if (rc == VG_OK) {
            rc = vga_seal_tagged(a, &sealed, seq, now, env_out, len_out, id_out, why);
        }
        if (rc == VG_OK) {
            rc = vga_store_commit(a->store, why); /* the sequence number is spent */
            if (rc != VG_OK) {
                free(*env_out);
                *env_out = NULL;
            }
        } else {
            vga_store_rollback(a->store);
        }
    }
    vg_strlist_fini(&sealed.recipients);
    return rc;
}

void
vga_inbox_item_fini(vga_inbox_item *it)
{
    if (it != NULL) {
        vg_alert_fini(&it->alert);
        memset(it, 0, sizeof *it);
    }
}

/* Opens entry e (which has an envelope) into out and frees e. */
static void
s_open_entry(vga_agent *a, vga_inbox_entry *e, vga_inbox_item *out)
{
    memset(out, 0, sizeof *out);
    out->row = e->row;
    vg_envelope *env = NULL;
    out->open_rc = vga_inbox_open(a, e, &out->alert, &env, &out->open_why);
    if (env != NULL) {
        memcpy(out->alert_id, vg_envelope_id(env), VG_ALERT_ID_LEN);
        vg_envelope_destroy(&env);
    } else {
        vg_alert_fini(&out->alert);
        /* The id is in the signed body; without a verified envelope, read
         * it from the unverified bytes only to name the entry. */
        vg_envelope *raw = NULL;
        vg_reason ignored;
        if (vg_envelope_verify(&raw, e->envelope, e->envelope_len, vga_agent_doc(a), &ignored) ==
            VG_OK) {
            memcpy(out->alert_id, vg_envelope_id(raw), VG_ALERT_ID_LEN);
        }
        vg_envelope_destroy(&raw);
    }
    vga_inbox_entry_fini(e);
}

vg_err
vga_inbox_next(vga_agent *a, int64_t after_row, vga_inbox_item *out, bool *found)
{
    vga_inbox_entry e;
    *found = false;
    vg_err rc = vga_store_inbox_after(a->store, after_row, &e);
    if (rc != VG_OK || e.envelope == NULL) {
        return rc;
    }
    s_open_entry(a, &e, out);
    *found = true;
    return VG_OK;
}

vg_err
vga_inbox_read(vga_agent *a, const uint8_t id[VG_ALERT_ID_LEN], vga_inbox_item *out, bool *found)
{
    vga_inbox_entry e;
    *found = false;
    vg_err rc = vga_store_inbox_get(a->store, id, &e);
    if (rc != VG_OK || e.envelope == NULL) {
        return rc;
    }
    s_open_entry(a, &e, out);
    *found = true;
    return VG_OK;
}
