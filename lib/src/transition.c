/* transition.c — broker key-transition notes and checkpoints under a
 * rotated broker key (see vigil/transition.h). */
#include "vigil/transition.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "netdoc_internal.h"
#include "vigil/util.h"

#define S_HEX_LEN (2 * VG_SIGN_PK_LEN)
#define S_TIME_DIGITS_MAX 19 /* INT64_MAX has 19 digits */

vg_err
vg_key_transition_sign(char **out, size_t *out_len, const char *network, const vg_keyset *old_keys,
                       const uint8_t new_pk[VG_SIGN_PK_LEN], int64_t time_ms, vg_reason *why)
{
    const uint8_t *old_pk = old_keys != NULL ? vg_keyset_sign_pk(old_keys) : NULL;
    if (old_pk == NULL) {
        return vg_reason_set(why, VG_ERR_INVALID, "the old broker key set has no signing key");
    }
    if (!vg_netdoc_name_is_valid(network)) {
        return vg_reason_set(why, VG_ERR_INVALID, "network name '%s' is not valid", network);
    }
    if (sodium_memcmp(old_pk, new_pk, VG_SIGN_PK_LEN) == 0) {
        return vg_reason_set(why, VG_ERR_INVALID,
                             "the new broker key is the old one: nothing to hand over");
    }
    if (time_ms <= 0) {
        return vg_reason_set(why, VG_ERR_INVALID, "a key transition needs its signing time");
    }
    char old_hex[S_HEX_LEN + 1], new_hex[S_HEX_LEN + 1];
    vg_hex_encode(old_hex, sizeof old_hex, old_pk, VG_SIGN_PK_LEN);
    vg_hex_encode(new_hex, sizeof new_hex, new_pk, VG_SIGN_PK_LEN);
    char text[512];
    int n = snprintf(text, sizeof text, "%s\nnetwork %s\nold %s\nnew %s\ntime %lld\n",
                     VG_TRANSITION_HEADER, network, old_hex, new_hex, (long long)time_ms);
    return vg_checkpoint_note_sign(out, out_len, text, (size_t)n, network, old_keys, why);
}

/* One "name value" line of the body at *p (within end); advances *p. */
static bool
s_field(const char **p, const char *end, const char *name, const char **value, size_t *value_len)
{
    size_t nlen = strlen(name);
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (nl == NULL || (size_t)(nl - *p) <= nlen + 1 || memcmp(*p, name, nlen) != 0 ||
        (*p)[nlen] != ' ') {
        return false;
    }
    *value = *p + nlen + 1;
    *value_len = (size_t)(nl - *value);
    *p = nl + 1;
    return true;
}

static bool
s_hex_key(uint8_t out[VG_SIGN_PK_LEN], const char *v, size_t len)
{
    char buf[S_HEX_LEN + 1];
    for (size_t i = 0; i < len; i++) {
        if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f'))) {
            return false; /* one spelling only: lowercase */
        }
    }
    if (len != S_HEX_LEN) {
        return false;
    }
    memcpy(buf, v, len);
    buf[len] = '\0';
    return vg_hex_decode(out, VG_SIGN_PK_LEN, buf) == VG_OK;
}

static bool
s_time(int64_t *out, const char *v, size_t len)
{
    if (len == 0 || len > S_TIME_DIGITS_MAX || (len > 1 && v[0] == '0')) {
        return false;
    }
    int64_t t = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9' || t > (INT64_MAX - (v[i] - '0')) / 10) {
            return false;
        }
        t = t * 10 + (v[i] - '0');
    }
    *out = t;
    return t > 0;
}

/* Parses the five lines of a note's text (text_len bytes, ending in '\n'). */
static vg_err
s_parse(vg_key_transition *out, const char *text, size_t text_len, vg_reason *why)
{
    const char *p = text, *end = text + text_len;
    size_t hlen = strlen(VG_TRANSITION_HEADER);
    const char *v[4];
    size_t vlen[4];
    bool ok = text_len > hlen && memcmp(p, VG_TRANSITION_HEADER "\n", hlen + 1) == 0;
    p += ok ? hlen + 1 : 0;
    ok = ok && s_field(&p, end, "network", &v[0], &vlen[0]);
    ok = ok && s_field(&p, end, "old", &v[1], &vlen[1]);
    ok = ok && s_field(&p, end, "new", &v[2], &vlen[2]);
    ok = ok && s_field(&p, end, "time", &v[3], &vlen[3]) && p == end;
    ok = ok && vlen[0] < sizeof out->network;
    if (ok) {
        memcpy(out->network, v[0], vlen[0]);
        out->network[vlen[0]] = '\0';
    }
    ok = ok && vg_netdoc_name_is_valid(out->network);
    ok = ok && s_hex_key(out->old_pk, v[1], vlen[1]) && s_hex_key(out->new_pk, v[2], vlen[2]);
    ok = ok && s_time(&out->time_ms, v[3], vlen[3]);
    if (!ok) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "not a key-transition note: its text must be exactly the lines '%s', "
                             "'network NAME', 'old HEX', 'new HEX', 'time MS' (docs/audit.md)",
                             VG_TRANSITION_HEADER);
    }
    return VG_OK;
}

/* The signed text of a note, unverified: up to the blank line. */
static bool
s_text_of(const char *note, size_t len, size_t *text_len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (note[i] == '\n' && note[i + 1] == '\n') {
            *text_len = i + 1;
            return true;
        }
    }
    return false;
}

vg_err
vg_key_transition_claimed_old(uint8_t old_pk[VG_SIGN_PK_LEN], const char *note, size_t len)
{
    vg_key_transition t;
    size_t text_len = 0;
    if (note == NULL || len > VG_TRANSITION_MAX_BYTES || !s_text_of(note, len, &text_len) ||
        s_parse(&t, note, text_len, NULL) != VG_OK) {
        return VG_ERR_MALFORMED;
    }
    memcpy(old_pk, t.old_pk, VG_SIGN_PK_LEN);
    return VG_OK;
}

vg_err
vg_key_transition_verify(vg_key_transition *out, const char *note, size_t len, const char *network,
                         const uint8_t old_pk[VG_SIGN_PK_LEN], vg_reason *why)
{
    if (note == NULL || network == NULL || !vg_netdoc_name_is_valid(network)) {
        return vg_reason_set(why, VG_ERR_INVALID, "a transition is checked for a valid network");
    }
    if (len > VG_TRANSITION_MAX_BYTES) {
        return vg_reason_set(why, VG_ERR_TOO_LARGE,
                             "key-transition note of %zu bytes is over the %d-byte limit", len,
                             VG_TRANSITION_MAX_BYTES);
    }
    size_t text_len = 0;
    vg_err rc = vg_checkpoint_note_open(&text_len, note, len, network, old_pk, why);
    if (rc != VG_OK) {
        return rc;
    }
    vg_key_transition t;
    rc = s_parse(&t, note, text_len, why);
    if (rc != VG_OK) {
        return rc;
    }
    if (strcmp(t.network, network) != 0) {
        return vg_reason_set(why, VG_ERR_SENDER_MISMATCH,
                             "key-transition note is for network '%s', not '%s'", t.network,
                             network);
    }
    if (sodium_memcmp(t.old_pk, old_pk, VG_SIGN_PK_LEN) != 0 ||
        sodium_memcmp(t.new_pk, old_pk, VG_SIGN_PK_LEN) == 0) {
        return vg_reason_set(why, VG_ERR_SENDER_MISMATCH,
                             "key-transition note signed by the old key names another old key, "
                             "or hands over to the old key itself");
    }
    *out = t;
    return VG_OK;
}

vg_err
vg_checkpoint_verify_netdoc(vg_checkpoint **out, const char *note, size_t len, const vg_netdoc *doc,
                            const uint8_t **key_out, bool *previous_out, vg_reason *why)
{
    const uint8_t *cur = vg_netdoc_broker_sign_pk(doc);
    vg_err rc = vg_checkpoint_verify(out, note, len, vg_netdoc_network(doc), cur, why);
    if (rc == VG_OK || (rc != VG_ERR_UNKNOWN_SENDER && rc != VG_ERR_SENDER_MISMATCH)) {
        if (rc == VG_OK && key_out != NULL) {
            *key_out = cur;
        }
        if (rc == VG_OK && previous_out != NULL) {
            *previous_out = false;
        }
        return rc; /* verified, or a note that no key can make right */
    }
    for (size_t i = 0; i < vg_netdoc_n_previous_broker_keys(doc); i++) {
        vg_broker_keys pk;
        vg_netdoc_previous_broker_keys_at(doc, i, &pk);
        if (pk.sign_pk != NULL && vg_checkpoint_verify(out, note, len, vg_netdoc_network(doc),
                                                       pk.sign_pk, NULL) == VG_OK) {
            if (key_out != NULL) {
                *key_out = pk.sign_pk;
            }
            if (previous_out != NULL) {
                *previous_out = true;
            }
            return VG_OK;
        }
    }
    return rc;
}
