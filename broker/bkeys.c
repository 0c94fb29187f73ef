/* bkeys.c — the broker's own keys and their rotation (see bkeys.h). */
#include "bkeys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/util.h"

struct vgb_bkeys {
    char *path;         /* KEYS */
    char *next_path;    /* KEYS.next */
    vg_keyset *keys;    /* current: signs checkpoints (borrowed by the audit log) */
    vg_keyset *next;    /* loaded by vgb_bkeys_prepare, or NULL */
    vg_keyset *serving; /* the old keys while the ROUTER presents them, or NULL */
    int64_t switch_at;  /* when the ROUTER must present keys' transport key */
};

static bool
s_names(const vg_keyset *ks, const vg_netdoc *doc)
{
    return sodium_memcmp(vg_keyset_sign_pk(ks), vg_netdoc_broker_sign_pk(doc), VG_SIGN_PK_LEN) ==
               0 &&
           sodium_memcmp(vg_keyset_curve_pk(ks), vg_netdoc_broker_transport_pk(doc),
                         VG_CURVE_KEY_LEN) == 0;
}

static vg_err
s_load(vg_keyset **out, const char *path, vg_reason *why)
{
    vg_err rc = vg_keyset_load(out, path, why);
    if (rc == VG_OK &&
        (vg_keyset_kinds(*out) & (VG_KEY_SIGN | VG_KEY_CURVE)) != (VG_KEY_SIGN | VG_KEY_CURVE)) {
        vg_keyset_destroy(out);
        rc = vg_reason_set(why, VG_ERR_CONFIG, "%s must hold the broker's sign and curve keys",
                           path);
    }
    return rc;
}

/* KEYS gets the current keys; KEYS.next goes. Failures are logged: the
 * next start takes KEYS.next (it still names the document's keys). */
static void
s_commit_files(const vgb_bkeys *k)
{
    vg_reason why = {{0}};
    if (vg_keyset_save(k->keys, k->path, &why) != VG_OK) {
        vg_log(VG_LOG_ERROR, "broker", "keys.save_failed", "path=%s reason=\"%s\"", k->path,
               why.text);
        return;
    }
    if (unlink(k->next_path) != 0 && errno != ENOENT) {
        vg_log(VG_LOG_WARN, "broker", "keys.next_kept", "path=%s errno=%d", k->next_path, errno);
    }
}

vg_err
vgb_bkeys_open(vgb_bkeys **out, const char *path, const vg_netdoc *doc, vg_reason *why)
{
    vgb_bkeys *k = calloc(1, sizeof *k);
    size_t n = strlen(path) + sizeof ".next";
    if (k == NULL || (k->path = vg_strdup(path)) == NULL || (k->next_path = malloc(n)) == NULL) {
        vgb_bkeys_destroy(&k);
        return VG_ERR_NOMEM;
    }
    snprintf(k->next_path, n, "%s.next", path);
    k->switch_at = INT64_MAX;
    vg_err rc = s_load(&k->keys, path, why);
    if (rc == VG_OK && !s_names(k->keys, doc)) {
        vg_keyset *next = NULL;
        vg_reason nwhy = {{0}};
        if (access(k->next_path, F_OK) == 0 && s_load(&next, k->next_path, &nwhy) == VG_OK &&
            s_names(next, doc)) {
            vg_keyset_assign(k->keys, next);
            vg_log(VG_LOG_WARN, "broker", "keys.next_taken", "path=%s", k->next_path);
            s_commit_files(k);
        } else {
            rc = vg_reason_set(why, VG_ERR_CONFIG,
                               "the network document names other broker keys than %s holds "
                               "(and %s does not hold them either): start the broker with the "
                               "key file the document was made for",
                               path, k->next_path);
        }
        vg_keyset_destroy(&next);
    }
    if (rc != VG_OK) {
        vgb_bkeys_destroy(&k);
        return rc;
    }
    *out = k;
    return VG_OK;
}

void
vgb_bkeys_destroy(vgb_bkeys **k_p)
{
    if (k_p == NULL || *k_p == NULL) {
        return;
    }
    vgb_bkeys *k = *k_p;
    vg_keyset_destroy(&k->keys);
    vg_keyset_destroy(&k->next);
    vg_keyset_destroy(&k->serving);
    free(k->path);
    free(k->next_path);
    free(k);
    *k_p = NULL;
}

const vg_keyset *
vgb_bkeys_keys(const vgb_bkeys *k)
{
    return k->keys;
}

const vg_keyset *
vgb_bkeys_serving(const vgb_bkeys *k)
{
    return k->serving != NULL ? k->serving : k->keys;
}

vg_err
vgb_bkeys_prepare(vgb_bkeys *k, const vg_netdoc *next, vg_reason *why)
{
    vg_keyset_destroy(&k->next);
    if (s_names(k->keys, next)) {
        return VG_OK;
    }
    if (k->serving != NULL) {
        char when[VG_TIME_STR_LEN];
        vg_time_format(when, sizeof when, k->switch_at);
        return vg_reason_set(why, VG_ERR_INVALID,
                             "the document gives the broker new keys while its last transport "
                             "key change waits for its overlap to end (%s): push it after that",
                             when);
    }
    vg_reason lwhy = {{0}};
    vg_err rc = s_load(&k->next, k->next_path, &lwhy);
    if (rc != VG_OK) {
        return vg_reason_set(why, VG_ERR_INVALID,
                             "the document gives the broker new keys, but %s cannot be read "
                             "(%s): prepare them on the broker's host with 'vigilctl broker "
                             "rotate-keys' and put the note and transport key it prints in the "
                             "document",
                             k->next_path, lwhy.text);
    }
    if (!s_names(k->next, next)) {
        vg_keyset_destroy(&k->next);
        return vg_reason_set(why, VG_ERR_INVALID,
                             "the document gives the broker keys that neither %s nor %s holds: "
                             "use the note and transport key 'vigilctl broker rotate-keys' "
                             "printed for %s",
                             k->path, k->next_path, k->next_path);
    }
    return VG_OK;
}

/* When the document's overlap for the transport key `old` ends (now when
 * it lists none). */
static int64_t
s_overlap_end(const vg_netdoc *doc, const uint8_t *old, int64_t now_ms)
{
    for (size_t i = vg_netdoc_n_previous_broker_keys(doc); i-- > 0;) {
        vg_broker_keys bk;
        vg_netdoc_previous_broker_keys_at(doc, i, &bk);
        if (bk.transport_pk != NULL && sodium_memcmp(bk.transport_pk, old, VG_CURVE_KEY_LEN) == 0) {
            return bk.valid_until_ms > now_ms ? bk.valid_until_ms : now_ms;
        }
    }
    return now_ms;
}

bool
vgb_bkeys_adopt(vgb_bkeys *k, const vg_netdoc *next, int64_t now_ms)
{
    if (k->next == NULL) {
        return false;
    }
    bool transport = sodium_memcmp(vg_keyset_curve_pk(k->keys), vg_keyset_curve_pk(k->next),
                                   VG_CURVE_KEY_LEN) != 0;
    if (transport && vg_keyset_generate(&k->serving, VG_KEY_SIGN) == VG_OK) {
        vg_keyset_assign(k->serving, k->keys);
        k->switch_at = s_overlap_end(next, vg_keyset_curve_pk(k->keys), now_ms);
    } else if (transport) {
        k->switch_at = now_ms; /* no memory for the old keys: present the new at once */
    }
    vg_keyset_assign(k->keys, k->next);
    vg_keyset_destroy(&k->next);
    s_commit_files(k);
    char sign[2 * 8 + 1], when[VG_TIME_STR_LEN] = "-";
    vg_hex_encode(sign, sizeof sign, vg_keyset_sign_pk(k->keys), 8);
    if (transport) {
        vg_time_format(when, sizeof when, k->switch_at);
    }
    vg_log(VG_LOG_WARN, "broker", "keys.rotated", "sign_key=%s transport_key=%s transport_from=%s",
           sign, vg_keyset_curve_pk_z85(k->keys), when);
    return true;
}

int64_t
vgb_bkeys_switch_at(const vgb_bkeys *k)
{
    return k->switch_at;
}

void
vgb_bkeys_switched(vgb_bkeys *k)
{
    vg_keyset_destroy(&k->serving);
    k->switch_at = INT64_MAX;
}

vg_err
vgb_bkeys_switch_transport(vgb_bkeys *k, vgb_out *out, void *zmq_ctx)
{
    vgb_bkeys_switched(k);
    if (out->fn != NULL) { /* a test's sender: no ROUTER */
        return VG_OK;
    }
    vg_reason why = {{0}};
    vg_err rc = vgb_out_rebind(out, zmq_ctx, vg_keyset_curve_sk(vgb_bkeys_keys(k)), &why);
    if (rc != VG_OK) {
        vg_log(VG_LOG_ERROR, "broker", "keys.transport_failed", "reason=\"%s\"", why.text);
        return rc;
    }
    vg_log(VG_LOG_WARN, "broker", "keys.transport_switched", "endpoint=%s transport_key=%s",
           out->endpoint, vg_keyset_curve_pk_z85(vgb_bkeys_keys(k)));
    return VG_OK;
}
