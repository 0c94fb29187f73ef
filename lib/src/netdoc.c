/* netdoc.c — verifying, querying and evaluating the signed network document. */
#include "vigil/netdoc.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "netdoc_internal.h"
#include "vigil/clock.h"
#include "vigil/transition.h"
#include "vigil/wire.h"

/* A transport key (current or previous) and the card that lists it. */
typedef struct s_tkey {
    const uint8_t *pk; /* 32 bytes, borrowed from the card */
    uint32_t card;     /* index in pb->agencies */
} s_tkey;

/* The card indices one policy rule names (must_reach and must_reach_roles),
 * in document order: evaluating the policy reads these, not every card. */
typedef struct s_reach {
    uint32_t *cards; /* malloc'ed */
    size_t n;        /* how many */
} s_reach;

struct vg_netdoc {
    Vigil__NetworkDocument *pb; /* parsed body, owned */
    uint8_t *signed_bytes;      /* exact serialised SignedNetworkDocument, owned */
    size_t signed_len;          /* its length */
    vg_netdoc_cal *cal;         /* calendars and hours compiled at verification, owned */
    vg_netdoc_ids ids;          /* cards by id, owned */
    s_tkey *tkeys;              /* every transport key on a card, sorted by key, owned */
    size_t n_tkeys;             /* how many */
    s_reach *reach;             /* per policy rule, owned */
};

/* ---- the index by id ---------------------------------------------------- */

static int
s_idref_cmp(const void *a, const void *b)
{
    return strcmp(((const vg_netdoc_idref *)a)->id, ((const vg_netdoc_idref *)b)->id);
}

vg_err
vg_netdoc_ids_build(vg_netdoc_ids *out, const Vigil__NetworkDocument *d)
{
    *out = (vg_netdoc_ids){.d = d, .n = d->n_agencies};
    out->by_id = malloc((d->n_agencies ? d->n_agencies : 1) * sizeof *out->by_id);
    if (out->by_id == NULL) {
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < d->n_agencies; i++) {
        out->by_id[i] = (vg_netdoc_idref){d->agencies[i]->id, (uint32_t)i};
    }
    qsort(out->by_id, d->n_agencies, sizeof *out->by_id, s_idref_cmp);
    return VG_OK;
}

int
vg_netdoc_ids_index(const vg_netdoc_ids *ix, const char *id)
{
    if (id == NULL || ix->by_id == NULL) {
        return -1;
    }
    vg_netdoc_idref key = {id, 0};
    const vg_netdoc_idref *hit = bsearch(&key, ix->by_id, ix->n, sizeof key, s_idref_cmp);
    return hit != NULL ? (int)hit->card : -1;
}

const Vigil__AgencyCard *
vg_netdoc_ids_card(const vg_netdoc_ids *ix, const char *id)
{
    int i = vg_netdoc_ids_index(ix, id);
    return i >= 0 ? ix->d->agencies[i] : NULL;
}

void
vg_netdoc_ids_fini(vg_netdoc_ids *ix)
{
    if (ix != NULL) {
        free(ix->by_id);
        *ix = (vg_netdoc_ids){0};
    }
}

/* ---- validation --------------------------------------------------------- */

bool
vg_netdoc_name_is_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 63) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

static bool
s_has_role(const Vigil__NetworkDocument *d, const char *role)
{
    for (size_t i = 0; i < d->n_agencies; i++) {
        if (strcmp(d->agencies[i]->role, role) == 0) {
            return true;
        }
    }
    return false;
}

static bool
s_in_taxonomy(const Vigil__NetworkDocument *d, const char *cat)
{
    for (size_t i = 0; i < d->n_categories; i++) {
        if (strcmp(d->categories[i], cat) == 0) {
            return true;
        }
    }
    return false;
}

#define S_RATE_MAX 1000000u /* publishes per minute, or at once: beyond this is a typo */

/* Limits are optional field by field (0: the default); what is set must be sane. */
static vg_err
s_check_limits(const Vigil__Limits *l, const char *whose, vg_reason *why)
{
    if (l->publish_per_minute > S_RATE_MAX || l->publish_burst > S_RATE_MAX) {
        return vg_reason_set(why, VG_ERR_POLICY,
                             "%s limits: publish_per_minute and publish_burst are at most %u",
                             whose, S_RATE_MAX);
    }
    return VG_OK;
}

/* ---- keys that rotate, leak or are revoked ------------------------------- */

static vg_err s_validate_transition(const Vigil__NetworkDocument *d, const uint8_t *last_sign,
                                    vg_reason *why);

/* A key field that may be left empty (a previous set's unchanged key). */
static bool
s_key_len_ok(const ProtobufCBinaryData *k)
{
    return k->len == 0 || k->len == 32;
}

static vg_err
s_validate_previous(const Vigil__AgencyCard *a, vg_reason *why)
{
    const Vigil__KeyCompromise *c = a->compromised;
    if (c != NULL && c->box_ms != 0) {
        return vg_reason_set(why, VG_ERR_POLICY,
                             "agency %s: its current box key is marked compromised: nothing may "
                             "be sealed to it, so give the card a new box key (the old one moves "
                             "to previous_keys, where it may be marked) or revoke the agency",
                             a->id);
    }
    if (a->n_previous_keys > VG_PREVIOUS_KEYS_MAX) {
        return vg_reason_set(why, VG_ERR_POLICY, "agency %s: at most %d previous key sets", a->id,
                             VG_PREVIOUS_KEYS_MAX);
    }
    for (size_t i = 0; i < a->n_previous_keys; i++) {
        const Vigil__PreviousKeys *p = a->previous_keys[i];
        const Vigil__KeyCompromise *pc = p->compromised;
        if (!s_key_len_ok(&p->sign_key) || !s_key_len_ok(&p->box_key) ||
            !s_key_len_ok(&p->transport_key) ||
            p->sign_key.len + p->box_key.len + p->transport_key.len == 0) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "agency %s: previous key set %zu must list one to three keys of "
                                 "32 bytes",
                                 a->id, i + 1);
        }
        if (p->rotated_ms == 0 || p->valid_until_ms == 0 || p->valid_until_ms > INT64_MAX ||
            p->valid_until_ms < p->rotated_ms) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "agency %s: previous key set %zu: its overlap must have a start "
                                 "(rotated) and an end (valid_until) no earlier than the start",
                                 a->id, i + 1);
        }
        if (pc != NULL && ((pc->sign_ms != 0 && p->sign_key.len == 0) ||
                           (pc->box_ms != 0 && p->box_key.len == 0) ||
                           (pc->transport_ms != 0 && p->transport_key.len == 0))) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "agency %s: previous key set %zu marks compromised a key it does "
                                 "not list",
                                 a->id, i + 1);
        }
    }
    return VG_OK;
}

static vg_err
s_validate_successor(const vg_netdoc_ids *ix, const Vigil__AgencyCard *a, vg_reason *why)
{
    if (a->successor[0] == '\0') {
        return VG_OK;
    }
    const Vigil__AgencyCard *s = vg_netdoc_ids_card(ix, a->successor);
    const char *wrong = !a->revoked                               ? "only a revoked agency has one"
                        : strcmp(a->successor, a->id) == 0        ? "it is the agency itself"
                        : s == NULL                               ? "it is not an agency"
                        : s->revoked                              ? "it is revoked too"
                        : strcmp(s->role, VG_ROLE_OVERSIGHT) == 0 ? "it is an oversight agency, "
                                                                    "which is never a recipient"
                                                                  : NULL;
    if (wrong != NULL) {
        return vg_reason_set(why, VG_ERR_POLICY,
                             "agency %s: successor '%.64s' cannot inherit its pending alerts: %s",
                             a->id, a->successor, wrong);
    }
    return VG_OK;
}

/* Every public key of one kind on every card, current and previous, with
 * whose it is: so that no key is listed twice anywhere (a key names exactly
 * one agency, whether it is current or an overlap's). */
typedef struct s_key_ref {
    const uint8_t *pk;  /* 32 bytes */
    const char *agency; /* whose */
    bool previous;      /* one of its previous keys */
    size_t order;       /* where it is in the document, to name the earlier one first */
} s_key_ref;

/* By key, then by place in the document: duplicates end up side by side. */
static int
s_key_ref_cmp(const void *a, const void *b)
{
    const s_key_ref *x = a, *y = b;
    int c = memcmp(x->pk, y->pk, 32);
    return c != 0 ? c : (x->order > y->order) - (x->order < y->order);
}

static size_t
s_collect(s_key_ref *refs, const Vigil__NetworkDocument *d, int kind)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_agencies; i++) {
        const Vigil__AgencyCard *a = d->agencies[i];
        const ProtobufCBinaryData *cur = kind == 0   ? &a->sign_key
                                         : kind == 1 ? &a->box_key
                                                     : &a->transport_key;
        refs[n] = (s_key_ref){cur->data, a->id, false, n};
        n++;
        for (size_t j = 0; j < a->n_previous_keys; j++) {
            const Vigil__PreviousKeys *p = a->previous_keys[j];
            const ProtobufCBinaryData *k = kind == 0   ? &p->sign_key
                                           : kind == 1 ? &p->box_key
                                                       : &p->transport_key;
            if (k->len == 32) {
                refs[n] = (s_key_ref){k->data, a->id, true, n};
                n++;
            }
        }
    }
    return n;
}

static vg_err
s_validate_key_reuse(const Vigil__NetworkDocument *d, vg_reason *why)
{
    static const char *const kinds[] = {"sign", "box", "transport"};
    size_t cap = 0;
    for (size_t i = 0; i < d->n_agencies; i++) {
        cap += 1 + d->agencies[i]->n_previous_keys;
    }
    s_key_ref *refs = malloc(cap * sizeof *refs);
    if (refs == NULL) {
        return VG_ERR_NOMEM;
    }
    vg_err rc = VG_OK;
    /* Sorted, not compared pairwise: a document may list 256 agencies with
     * 16 previous sets each, and every holder verifies it. */
    for (int kind = 0; kind < 3 && rc == VG_OK; kind++) {
        size_t n = s_collect(refs, d, kind);
        qsort(refs, n, sizeof *refs, s_key_ref_cmp);
        for (size_t i = 1; i < n && rc == VG_OK; i++) {
            if (memcmp(refs[i].pk, refs[i - 1].pk, 32) != 0) {
                continue;
            }
            const s_key_ref *x = refs[i - 1].previous ? &refs[i - 1] : &refs[i];
            const s_key_ref *y = x == &refs[i] ? &refs[i - 1] : &refs[i];
            if (!x->previous) {
                rc = vg_reason_set(why, VG_ERR_POLICY, "agencies %s and %s share a public key",
                                   y->agency, x->agency);
            } else {
                rc = vg_reason_set(why, VG_ERR_POLICY,
                                   "agency %s: a previous %s key is also a %s %s key of %s: a "
                                   "key belongs to one place only",
                                   x->agency, kinds[kind], y->previous ? "previous" : "current",
                                   kinds[kind], y->agency);
            }
        }
    }
    free(refs);
    return rc;
}

static vg_err
s_validate_broker_keys(const Vigil__NetworkDocument *d, vg_reason *why)
{
    const uint8_t *last_sign = NULL; /* the sign key just before the current one */
    if (d->n_previous_broker_keys > VG_PREVIOUS_KEYS_MAX) {
        return vg_reason_set(why, VG_ERR_POLICY, "at most %d previous broker key sets",
                             VG_PREVIOUS_KEYS_MAX);
    }
    for (size_t i = 0; i < d->n_previous_broker_keys; i++) {
        const Vigil__PreviousBrokerKeys *p = d->previous_broker_keys[i];
        if (!s_key_len_ok(&p->sign_key) || !s_key_len_ok(&p->transport_key) ||
            p->sign_key.len + p->transport_key.len == 0) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "previous broker key set %zu must list one or two keys of 32 "
                                 "bytes",
                                 i + 1);
        }
        if (p->rotated_ms == 0 || p->valid_until_ms == 0 || p->valid_until_ms > INT64_MAX ||
            p->valid_until_ms < p->rotated_ms) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "previous broker key set %zu: its overlap must have a start "
                                 "(rotated) and an end (valid_until) no earlier than the start",
                                 i + 1);
        }
        const ProtobufCBinaryData *keys[2] = {&p->sign_key, &p->transport_key};
        const ProtobufCBinaryData *cur[2] = {&d->broker_sign_key, &d->broker_transport_key};
        for (int k = 0; k < 2; k++) {
            bool dup = keys[k]->len == 32 && memcmp(keys[k]->data, cur[k]->data, 32) == 0;
            for (size_t j = 0; j < i && !dup; j++) {
                const Vigil__PreviousBrokerKeys *q = d->previous_broker_keys[j];
                const ProtobufCBinaryData *o = k == 0 ? &q->sign_key : &q->transport_key;
                dup = keys[k]->len == 32 && o->len == 32 && memcmp(keys[k]->data, o->data, 32) == 0;
            }
            if (dup) {
                return vg_reason_set(why, VG_ERR_POLICY,
                                     "previous broker key set %zu repeats a broker %s key", i + 1,
                                     k == 0 ? "sign" : "transport");
            }
        }
        if (p->sign_key.len == 32) {
            last_sign = p->sign_key.data;
        }
    }
    return s_validate_transition(d, last_sign, why);
}

/* The key-transition note must hand the log from the broker's sign key
 * before the current one (the last previous set that lists one) to the
 * current one, signed by that previous key; and it is there exactly when
 * the sign key rotated. */
static vg_err
s_validate_transition(const Vigil__NetworkDocument *d, const uint8_t *last_sign, vg_reason *why)
{
    if (d->key_transition[0] == '\0') {
        if (last_sign != NULL) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "the broker's sign key rotated but the document has no "
                                 "key_transition note signed by the previous key: witnesses "
                                 "would refuse the new key's checkpoints");
        }
        return VG_OK;
    }
    if (last_sign == NULL) {
        return vg_reason_set(why, VG_ERR_POLICY,
                             "key_transition is given but previous_broker_keys lists no sign key "
                             "it could be signed by");
    }
    vg_key_transition t;
    vg_reason inner = {{0}};
    vg_err rc = vg_key_transition_verify(&t, d->key_transition, strlen(d->key_transition),
                                         d->network, last_sign, &inner);
    if (rc == VG_OK && memcmp(t.new_pk, d->broker_sign_key.data, VG_SIGN_PK_LEN) != 0) {
        rc = vg_reason_set(&inner, VG_ERR_SENDER_MISMATCH,
                           "it hands over to another key than the document's broker sign key");
    }
    if (rc != VG_OK) {
        return vg_reason_set(why, VG_ERR_POLICY,
                             "key_transition does not verify against the previous broker sign "
                             "key: %s",
                             inner.text);
    }
    return VG_OK;
}

static vg_err
s_validate_card(const Vigil__NetworkDocument *d, const vg_netdoc_ids *ix, size_t i, vg_reason *why)
{
    const Vigil__AgencyCard *a = d->agencies[i];
    if (!vg_agency_id_is_valid(a->id)) {
        return vg_reason_set(why, VG_ERR_POLICY,
                             "agency id '%s' is invalid: use 1-63 of a-z, 0-9 and '-'", a->id);
    }
    if (!vg_netdoc_name_is_valid(a->role)) {
        return vg_reason_set(why, VG_ERR_POLICY, "agency %s: role '%s' is invalid", a->id, a->role);
    }
    if (strlen(a->display_name) > 128) {
        return vg_reason_set(why, VG_ERR_POLICY, "agency %s: name is over 128 characters", a->id);
    }
    if (a->sign_key.len != VG_SIGN_PK_LEN || a->box_key.len != VG_BOX_PK_LEN ||
        a->transport_key.len != VG_CURVE_KEY_LEN) {
        return vg_reason_set(why, VG_ERR_POLICY, "agency %s: every public key must be 32 bytes",
                             a->id);
    }
    if (a->limits != NULL && s_check_limits(a->limits, a->id, why) != VG_OK) {
        return VG_ERR_POLICY;
    }
    if (a->escalation_contact[0] != '\0' && vg_netdoc_ids_card(ix, a->escalation_contact) == NULL) {
        return vg_reason_set(why, VG_ERR_POLICY,
                             "agency %s: escalation_contact '%s' is not an agency", a->id,
                             a->escalation_contact);
    }
    vg_err rc = s_validate_previous(a, why);
    if (rc == VG_OK) {
        rc = s_validate_successor(ix, a, why);
    }
    return rc;
}

static vg_err
s_validate_rule(const Vigil__NetworkDocument *d, const vg_netdoc_ids *ix,
                const Vigil__PolicyRule *r, size_t i, vg_reason *why)
{
    const char *name = r->name[0] ? r->name : "(unnamed)";
    if (r->min_severity < VIGIL__SEVERITY__SEVERITY_LOW ||
        r->min_severity > VIGIL__SEVERITY__SEVERITY_CRITICAL) {
        return vg_reason_set(why, VG_ERR_POLICY, "policy rule %zu (%s): min_severity is invalid",
                             i + 1, name);
    }
    if (r->n_must_reach + r->n_must_reach_roles == 0) {
        return vg_reason_set(why, VG_ERR_POLICY,
                             "policy rule %zu (%s): names no agency or role to reach", i + 1, name);
    }
    for (size_t j = 0; j < r->n_categories; j++) {
        if (!s_in_taxonomy(d, r->categories[j])) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "policy rule %zu (%s): category '%s' is not in the taxonomy",
                                 i + 1, name, r->categories[j]);
        }
    }
    for (size_t j = 0; j < r->n_must_reach; j++) {
        const Vigil__AgencyCard *c = vg_netdoc_ids_card(ix, r->must_reach[j]);
        if (c == NULL) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "policy rule %zu (%s): must_reach names unknown agency '%s'",
                                 i + 1, name, r->must_reach[j]);
        }
        if (strcmp(c->role, VG_ROLE_OVERSIGHT) == 0) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "policy rule %zu (%s): '%s' is an oversight agency, which sees "
                                 "every alert's metadata and never its content: it cannot be a "
                                 "recipient",
                                 i + 1, name, c->id);
        }
    }
    for (size_t j = 0; j < r->n_must_reach_roles; j++) {
        if (strcmp(r->must_reach_roles[j], VG_ROLE_OVERSIGHT) == 0) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "policy rule %zu (%s): oversight sees every alert's metadata and "
                                 "never its content: it cannot be a recipient",
                                 i + 1, name);
        }
        if (!s_has_role(d, r->must_reach_roles[j])) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "policy rule %zu (%s): no agency has role '%s'", i + 1, name,
                                 r->must_reach_roles[j]);
        }
    }
    return VG_OK;
}

static vg_err
s_validate_escalation(const Vigil__NetworkDocument *d, vg_reason *why)
{
    for (size_t i = 0; i < d->n_escalation; i++) {
        const Vigil__EscalationStep *s = d->escalation[i];
        if (vg_escalation_target_name((vg_escalation_target)s->target) == NULL) {
            return vg_reason_set(why, VG_ERR_POLICY, "escalation step %zu: target is invalid",
                                 i + 1);
        }
        if (s->target != VIGIL__ESCALATION_TARGET__ESCALATION_ROLE && s->role[0] != '\0') {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "escalation step %zu: a role is given only with target role",
                                 i + 1);
        }
        if (s->target == VIGIL__ESCALATION_TARGET__ESCALATION_ROLE && !s_has_role(d, s->role)) {
            return vg_reason_set(why, VG_ERR_POLICY, "escalation step %zu: no agency has role '%s'",
                                 i + 1, s->role);
        }
        if (s->target == VIGIL__ESCALATION_TARGET__ESCALATION_OVERSIGHT &&
            !s_has_role(d, VG_ROLE_OVERSIGHT)) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "escalation step %zu: target oversight, but no agency has role "
                                 "'oversight'",
                                 i + 1);
        }
        if (i > 0 && s->after_ms < d->escalation[i - 1]->after_ms) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "escalation step %zu: steps must be in increasing 'after' order",
                                 i + 1);
        }
    }
    return VG_OK;
}

/* The first id listed twice (ix sorted by id: duplicates are neighbours), or NULL. */
static const char *
s_duplicate_id(const vg_netdoc_ids *ix)
{
    for (size_t i = 1; i < ix->n; i++) {
        if (strcmp(ix->by_id[i - 1].id, ix->by_id[i].id) == 0) {
            return ix->by_id[i].id;
        }
    }
    return NULL;
}

/* witnessing: k agencies that can cosign, within a time that is not 0. */
static vg_err
s_validate_witnessing(const Vigil__NetworkDocument *d, vg_reason *why)
{
    const Vigil__Witnessing *w = d->witnessing;
    size_t live = 0;
    for (size_t i = 0; i < d->n_agencies; i++) {
        live += !d->agencies[i]->revoked;
    }
    if (w == NULL || w->cosignatures == 0) {
        return w == NULL || w->within_ms == 0
                   ? VG_OK
                   : vg_reason_set(why, VG_ERR_POLICY,
                                   "witnessing: a time without a number of cosignatures: give "
                                   "\"cosignatures\" >= 1, or drop \"witnessing\"");
    }
    if (w->cosignatures > live) {
        return vg_reason_set(why, VG_ERR_POLICY,
                             "witnessing: %u cosignatures required, but only %zu agencies are "
                             "not revoked: no checkpoint could ever have them",
                             w->cosignatures, live);
    }
    if (w->within_ms == 0) {
        return vg_reason_set(why, VG_ERR_POLICY,
                             "witnessing: \"within\" must be a duration over 0 (e.g. \"15m\"): "
                             "how long after its signing a checkpoint may wait for them");
    }
    return VG_OK;
}

static vg_err
s_validate_with(const Vigil__NetworkDocument *d, const vg_netdoc_ids *ix, vg_reason *why)
{
    const char *dup = s_duplicate_id(ix);
    if (dup != NULL) {
        return vg_reason_set(why, VG_ERR_POLICY, "agency id '%.63s' appears twice", dup);
    }
    vg_err rc = VG_OK;
    for (size_t i = 0; i < d->n_agencies && rc == VG_OK; i++) {
        rc = s_validate_card(d, ix, i, why);
    }
    if (rc == VG_OK) {
        rc = s_validate_key_reuse(d, why);
    }
    if (rc == VG_OK) {
        rc = s_validate_broker_keys(d, why);
    }
    for (size_t i = 0; i < d->n_policy && rc == VG_OK; i++) {
        rc = s_validate_rule(d, ix, d->policy[i], i, why);
    }
    if (rc == VG_OK) {
        rc = vg_netdoc_validate_calendars_pb(d, ix, why);
    }
    if (rc == VG_OK) {
        rc = vg_netdoc_validate_deadlines_pb(d, ix, why);
    }
    if (rc == VG_OK) {
        rc = s_validate_escalation(d, why);
    }
    if (rc == VG_OK) {
        rc = s_validate_witnessing(d, why);
    }
    return rc;
}

vg_err
vg_netdoc_validate_pb(const Vigil__NetworkDocument *d, vg_reason *why)
{
    if (!vg_netdoc_name_is_valid(d->network)) {
        return vg_reason_set(why, VG_ERR_POLICY,
                             "network name '%s' is invalid: use 1-63 of A-Z, a-z, 0-9, '.', '_', "
                             "'-'",
                             d->network);
    }
    if (d->version == 0) {
        return vg_reason_set(why, VG_ERR_POLICY, "version must be 1 or more");
    }
    if (d->broker_sign_key.len != VG_SIGN_PK_LEN ||
        d->broker_transport_key.len != VG_CURVE_KEY_LEN) {
        return vg_reason_set(why, VG_ERR_POLICY, "broker keys must be 32 bytes each");
    }
    if (d->n_agencies == 0 || d->n_agencies > VG_AGENCIES_MAX) {
        return vg_reason_set(why, VG_ERR_POLICY,
                             "a network needs 1 to %d agencies; this document lists %zu",
                             VG_AGENCIES_MAX, d->n_agencies);
    }
    for (size_t i = 0; i < d->n_categories; i++) {
        if (!vg_agency_id_is_valid(d->categories[i])) {
            return vg_reason_set(why, VG_ERR_POLICY,
                                 "category '%s' is invalid: use 1-63 of a-z, 0-9 and '-'",
                                 d->categories[i]);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(d->categories[i], d->categories[j]) == 0) {
                return vg_reason_set(why, VG_ERR_POLICY, "category '%s' appears twice",
                                     d->categories[i]);
            }
        }
    }
    vg_err rc = d->limits != NULL ? s_check_limits(d->limits, "the network's", why) : VG_OK;
    if (rc != VG_OK) {
        return VG_ERR_POLICY;
    }
    vg_netdoc_ids ix;
    if (vg_netdoc_ids_build(&ix, d) != VG_OK) {
        return VG_ERR_NOMEM;
    }
    rc = s_validate_with(d, &ix, why);
    vg_netdoc_ids_fini(&ix);
    if (rc == VG_OK) {
        rc = vg_netdoc_validate_links_pb(d, why);
    }
    return rc;
}

/* ---- signing and verifying --------------------------------------------- */

vg_err
vg_netdoc_sign(uint8_t **out, size_t *out_len, const uint8_t *body, size_t body_len,
               uint64_t version, const vg_keyset *admin, vg_reason *why)
{
    if (vg_keyset_sign_sk(admin) == NULL) {
        return vg_reason_set(why, VG_ERR_INVALID, "the admin key set has no signing key");
    }
    Vigil__NetworkDocument *d = vigil__network_document__unpack(NULL, body_len, body);
    if (d == NULL) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "document body does not parse");
    }
    if (version != 0) {
        d->version = version;
    }
    if (d->issued_ms == 0) {
        d->issued_ms = (uint64_t)vg_clock_wall_ms(vg_clock_system());
    }
    vg_err rc = vg_netdoc_validate_pb(d, why);
    uint8_t *packed = NULL;
    uint8_t *signed_bytes = NULL;
    if (rc != VG_OK) {
        goto out;
    }
    size_t plen = vigil__network_document__get_packed_size(d);
    packed = malloc(plen ? plen : 1);
    if (packed == NULL) {
        rc = VG_ERR_NOMEM;
        goto out;
    }
    vigil__network_document__pack(d, packed);
    uint8_t sig[VG_SIGNATURE_LEN];
    rc = vg_sign(sig, admin, VG_DOMAIN_NETDOC, packed, plen);
    if (rc != VG_OK) {
        goto out;
    }
    Vigil__SignedNetworkDocument s = VIGIL__SIGNED_NETWORK_DOCUMENT__INIT;
    s.body.data = packed;
    s.body.len = plen;
    s.signature.data = sig;
    s.signature.len = sizeof sig;
    size_t slen = vigil__signed_network_document__get_packed_size(&s);
    signed_bytes = malloc(slen);
    if (signed_bytes == NULL) {
        rc = VG_ERR_NOMEM;
        goto out;
    }
    vigil__signed_network_document__pack(&s, signed_bytes);
    *out = signed_bytes;
    *out_len = slen;
    signed_bytes = NULL;
out:
    free(signed_bytes);
    free(packed);
    vigil__network_document__free_unpacked(d, NULL);
    return rc;
}

static int s_tkey_cmp(const void *a, const void *b);
static bool s_rule_names(const Vigil__PolicyRule *r, const Vigil__AgencyCard *a);

/* The card indices rule r names, in document order. */
static vg_err
s_compile_reach(s_reach *out, const Vigil__NetworkDocument *d, const Vigil__PolicyRule *r)
{
    out->cards = malloc((d->n_agencies ? d->n_agencies : 1) * sizeof *out->cards);
    if (out->cards == NULL) {
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < d->n_agencies; i++) {
        if (s_rule_names(r, d->agencies[i])) {
            out->cards[out->n++] = (uint32_t)i;
        }
    }
    return VG_OK;
}

/* What a verified document is searched by: its cards by id, its transport
 * keys, and the agencies each policy rule names. Built once; read-only after. */
static vg_err
s_index(vg_netdoc *doc)
{
    const Vigil__NetworkDocument *d = doc->pb;
    if (vg_netdoc_ids_build(&doc->ids, d) != VG_OK) {
        return VG_ERR_NOMEM;
    }
    size_t cap = 0;
    for (size_t i = 0; i < d->n_agencies; i++) {
        cap += 1 + d->agencies[i]->n_previous_keys;
    }
    doc->tkeys = malloc(cap * sizeof *doc->tkeys);
    doc->reach = calloc(d->n_policy ? d->n_policy : 1, sizeof *doc->reach);
    if (doc->tkeys == NULL || doc->reach == NULL) {
        return VG_ERR_NOMEM;
    }
    for (size_t i = 0; i < d->n_agencies; i++) {
        const Vigil__AgencyCard *a = d->agencies[i];
        doc->tkeys[doc->n_tkeys++] = (s_tkey){a->transport_key.data, (uint32_t)i};
        for (size_t j = 0; j < a->n_previous_keys; j++) {
            const ProtobufCBinaryData *k = &a->previous_keys[j]->transport_key;
            if (k->len == VG_CURVE_KEY_LEN) {
                doc->tkeys[doc->n_tkeys++] = (s_tkey){k->data, (uint32_t)i};
            }
        }
    }
    qsort(doc->tkeys, doc->n_tkeys, sizeof *doc->tkeys, s_tkey_cmp);
    for (size_t r = 0; r < d->n_policy; r++) {
        if (s_compile_reach(&doc->reach[r], d, d->policy[r]) != VG_OK) {
            return VG_ERR_NOMEM;
        }
    }
    return VG_OK;
}

vg_err
vg_netdoc_verify(vg_netdoc **out, const uint8_t *bytes, size_t len,
                 const uint8_t admin_pk[VG_SIGN_PK_LEN], uint64_t min_version, vg_reason *why)
{
    if (len > VG_NETDOC_MAX_BYTES) {
        return vg_reason_set(why, VG_ERR_TOO_LARGE, "network document is %zu bytes; limit %d", len,
                             VG_NETDOC_MAX_BYTES);
    }
    Vigil__SignedNetworkDocument *s = vigil__signed_network_document__unpack(NULL, len, bytes);
    if (s == NULL || s->signature.len != VG_SIGNATURE_LEN) {
        if (s != NULL) {
            vigil__signed_network_document__free_unpacked(s, NULL);
        }
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "not a signed network document (damaged or the wrong file)");
    }
    vg_err rc = VG_OK;
    vg_netdoc *doc = NULL;
    if (vg_verify(s->signature.data, admin_pk, VG_DOMAIN_NETDOC, s->body.data, s->body.len) !=
        VG_OK) {
        rc = vg_reason_set(why, VG_ERR_BAD_SIGNATURE,
                           "network document is not signed by the pinned admin key");
        goto out;
    }
    doc = calloc(1, sizeof *doc);
    if (doc == NULL || (doc->signed_bytes = malloc(len ? len : 1)) == NULL) {
        rc = VG_ERR_NOMEM;
        goto out;
    }
    memcpy(doc->signed_bytes, bytes, len);
    doc->signed_len = len;
    doc->pb = vigil__network_document__unpack(NULL, s->body.len, s->body.data);
    if (doc->pb == NULL) {
        rc = vg_reason_set(why, VG_ERR_MALFORMED, "signed network document body does not parse");
        goto out;
    }
    rc = vg_netdoc_validate_pb(doc->pb, why);
    if (rc == VG_OK) {
        rc = vg_netdoc_cal_compile(&doc->cal, doc->pb);
    }
    if (rc == VG_OK) {
        rc = s_index(doc);
    }
    if (rc == VG_OK && doc->pb->version < min_version) {
        rc = vg_reason_set(why, VG_ERR_STALE_VERSION,
                           "network document version %llu is older than version %llu already "
                           "held; refusing to go back",
                           (unsigned long long)doc->pb->version, (unsigned long long)min_version);
    }
out:
    vigil__signed_network_document__free_unpacked(s, NULL);
    if (rc != VG_OK) {
        vg_netdoc_destroy(&doc);
        return rc;
    }
    *out = doc;
    return VG_OK;
}

vg_err
vg_netdoc_load(vg_netdoc **out, const char *path, const uint8_t admin_pk[VG_SIGN_PK_LEN],
               uint64_t min_version, vg_reason *why)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    vg_err rc = vg_file_read(&bytes, &len, path, VG_NETDOC_MAX_BYTES, why);
    if (rc != VG_OK) {
        return rc;
    }
    vg_reason inner = {{0}};
    rc = vg_netdoc_verify(out, bytes, len, admin_pk, min_version, &inner);
    free(bytes);
    if (rc != VG_OK) {
        vg_reason_set(why, rc, "%s: %s", path, inner.text);
    }
    return rc;
}

void
vg_netdoc_destroy(vg_netdoc **doc_p)
{
    if (doc_p == NULL || *doc_p == NULL) {
        return;
    }
    vg_netdoc *doc = *doc_p;
    for (size_t i = 0; doc->reach != NULL && i < doc->pb->n_policy; i++) {
        free(doc->reach[i].cards);
    }
    free(doc->reach);
    if (doc->pb != NULL) {
        vigil__network_document__free_unpacked(doc->pb, NULL);
    }
    vg_netdoc_cal_destroy(&doc->cal);
    vg_netdoc_ids_fini(&doc->ids);
    free(doc->tkeys);
    free(doc->signed_bytes);
    free(doc);
    *doc_p = NULL;
}

/* ---- accessors ------------------------------------------------------------ */

const Vigil__NetworkDocument *
vg_netdoc_pb(const vg_netdoc *doc)
{
    return doc->pb;
}

const vg_netdoc_cal *
vg_netdoc_cal_of(const vg_netdoc *doc)
{
    return doc->cal;
}

uint64_t
vg_netdoc_version(const vg_netdoc *doc)
{
    return doc->pb->version;
}

const char *
vg_netdoc_network(const vg_netdoc *doc)
{
    return doc->pb->network;
}

int64_t
vg_netdoc_issued_ms(const vg_netdoc *doc)
{
    return (int64_t)doc->pb->issued_ms;
}

const uint8_t *
vg_netdoc_broker_sign_pk(const vg_netdoc *doc)
{
    return doc->pb->broker_sign_key.data;
}

const uint8_t *
vg_netdoc_broker_transport_pk(const vg_netdoc *doc)
{
    return doc->pb->broker_transport_key.data;
}

const uint8_t *
vg_netdoc_signed_bytes(const vg_netdoc *doc, size_t *len_out)
{
    *len_out = doc->signed_len;
    return doc->signed_bytes;
}

/* Whether the comma-separated list has item. */
static bool
s_csv_has(const char *list, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = list; *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && memcmp(p, item, n) == 0) {
            return true;
        }
        p += len + (end != NULL);
    }
    return false;
}

void
vg_netdoc_retention(const vg_netdoc *doc, int status, const char *categories, uint64_t *content_ms,
                    uint64_t *tags_ms)
{
    *content_ms = 0;
    *tags_ms = 0;
    for (size_t i = 0; i < doc->pb->n_retention; i++) {
        const Vigil__RetentionRule *r = doc->pb->retention[i];
        if ((r->status != 0 && (int)r->status != status) ||
            (r->category[0] != '\0' && !s_csv_has(categories, r->category))) {
            continue;
        }
        *content_ms = r->content_ms > *content_ms ? r->content_ms : *content_ms;
        *tags_ms = r->tags_ms > *tags_ms ? r->tags_ms : *tags_ms;
    }
}

uint64_t
vg_netdoc_retention_shortest(const vg_netdoc *doc)
{
    uint64_t shortest = 0;
    for (size_t i = 0; i < doc->pb->n_retention; i++) {
        uint64_t c = doc->pb->retention[i]->content_ms;
        shortest = shortest == 0 || c < shortest ? c : shortest;
    }
    return shortest;
}

size_t
vg_netdoc_n_agencies(const vg_netdoc *doc)
{
    return doc->pb->n_agencies;
}

static void
s_view(const Vigil__AgencyCard *a, vg_agency *out)
{
    out->id = a->id;
    out->role = a->role;
    out->display_name = a->display_name;
    out->escalation_contact = a->escalation_contact;
    out->sign_pk = a->sign_key.data;
    out->box_pk = a->box_key.data;
    out->transport_pk = a->transport_key.data;
    out->revoked = a->revoked;
    out->calendar = a->calendar;
    out->out_of_hours_cover = a->out_of_hours_cover;
    out->sign_compromised_ms = a->compromised != NULL ? (int64_t)a->compromised->sign_ms : 0;
    out->transport_compromised_ms =
        a->compromised != NULL ? (int64_t)a->compromised->transport_ms : 0;
    out->n_previous = a->n_previous_keys;
    out->successor = a->successor;
}

void
vg_netdoc_agency_at(const vg_netdoc *doc, size_t i, vg_agency *out)
{
    s_view(doc->pb->agencies[i], out);
}

int
vg_netdoc_index(const vg_netdoc *doc, const char *id)
{
    return vg_netdoc_ids_index(&doc->ids, id);
}

vg_err
vg_netdoc_find(const vg_netdoc *doc, const char *id, vg_agency *out)
{
    const Vigil__AgencyCard *a = id ? vg_netdoc_ids_card(&doc->ids, id) : NULL;
    if (a == NULL) {
        return VG_ERR_NOT_FOUND;
    }
    s_view(a, out);
    return VG_OK;
}

static int
s_tkey_cmp(const void *a, const void *b)
{
    return memcmp(((const s_tkey *)a)->pk, ((const s_tkey *)b)->pk, VG_CURVE_KEY_LEN);
}

/* The card that lists transport key pk (current or previous), or NULL. A
 * key is on one card only (s_validate_key_reuse). Public keys: no need for a
 * constant-time comparison. */
static const Vigil__AgencyCard *
s_transport_card(const vg_netdoc *doc, const uint8_t *pk)
{
    s_tkey key = {pk, 0};
    const s_tkey *hit = bsearch(&key, doc->tkeys, doc->n_tkeys, sizeof key, s_tkey_cmp);
    return hit != NULL ? doc->pb->agencies[hit->card] : NULL;
}

vg_err
vg_netdoc_find_by_transport(const vg_netdoc *doc, const uint8_t pk[VG_CURVE_KEY_LEN],
                            vg_agency *out)
{
    const Vigil__AgencyCard *a = s_transport_card(doc, pk);
    if (a == NULL || memcmp(a->transport_key.data, pk, VG_CURVE_KEY_LEN) != 0) {
        return VG_ERR_NOT_FOUND;
    }
    s_view(a, out);
    return VG_OK;
}

/* ---- keys that rotate, leak or are revoked ------------------------------- */

static const uint8_t *
s_pk_or_null(const ProtobufCBinaryData *k)
{
    return k->len == 32 ? k->data : NULL;
}

vg_err
vg_netdoc_previous_keys(const vg_netdoc *doc, const char *id, size_t i, vg_previous_keys *out)
{
    const Vigil__AgencyCard *a = id != NULL ? vg_netdoc_ids_card(&doc->ids, id) : NULL;
    if (a == NULL || i >= a->n_previous_keys) {
        return VG_ERR_NOT_FOUND;
    }
    const Vigil__PreviousKeys *p = a->previous_keys[i];
    const Vigil__KeyCompromise *c = p->compromised;
    *out = (vg_previous_keys){
        .sign_pk = s_pk_or_null(&p->sign_key),
        .box_pk = s_pk_or_null(&p->box_key),
        .transport_pk = s_pk_or_null(&p->transport_key),
        .rotated_ms = (int64_t)p->rotated_ms,
        .valid_until_ms = (int64_t)p->valid_until_ms,
        .sign_compromised_ms = c != NULL ? (int64_t)c->sign_ms : 0,
        .box_compromised_ms = c != NULL ? (int64_t)c->box_ms : 0,
        .transport_compromised_ms = c != NULL ? (int64_t)c->transport_ms : 0,
    };
    return VG_OK;
}

/* Fills a match; until_ms is the earlier of the overlap's end and the compromise. */
static void
s_match(vg_key_match *out, const Vigil__AgencyCard *a, const uint8_t *pk, bool previous,
        int64_t valid_until_ms, int64_t compromised_ms)
{
    s_view(a, &out->agency);
    out->pk = pk;
    out->previous = previous;
    out->valid_until_ms = valid_until_ms;
    out->compromised_ms = compromised_ms;
    out->until_ms =
        compromised_ms > 0 && compromised_ms < valid_until_ms ? compromised_ms : valid_until_ms;
}

/* Finds pk among the keys of one kind (0 sign, 2 transport) of card a. */
static bool
s_match_card(vg_key_match *out, const Vigil__AgencyCard *a, int kind, const uint8_t *pk)
{
    const Vigil__KeyCompromise *c = a->compromised;
    const ProtobufCBinaryData *cur = kind == 0 ? &a->sign_key : &a->transport_key;
    if (cur->len == 32 && sodium_memcmp(cur->data, pk, 32) == 0) {
        uint64_t t = c == NULL ? 0 : kind == 0 ? c->sign_ms : c->transport_ms;
        s_match(out, a, cur->data, false, VG_TIME_NEVER, (int64_t)t);
        return true;
    }
    for (size_t i = 0; i < a->n_previous_keys; i++) {
        const Vigil__PreviousKeys *p = a->previous_keys[i];
        const ProtobufCBinaryData *k = kind == 0 ? &p->sign_key : &p->transport_key;
        if (k->len == 32 && sodium_memcmp(k->data, pk, 32) == 0) {
            const Vigil__KeyCompromise *pc = p->compromised;
            uint64_t t = pc == NULL ? 0 : kind == 0 ? pc->sign_ms : pc->transport_ms;
            s_match(out, a, k->data, true, (int64_t)p->valid_until_ms, (int64_t)t);
            return true;
        }
    }
    return false;
}

vg_err
vg_netdoc_find_transport_key(vg_key_match *out, const vg_netdoc *doc,
                             const uint8_t pk[VG_CURVE_KEY_LEN])
{
    const Vigil__AgencyCard *a = s_transport_card(doc, pk);
    return a != NULL && s_match_card(out, a, 2, pk) ? VG_OK : VG_ERR_NOT_FOUND;
}

vg_err
vg_netdoc_find_sign_key(vg_key_match *out, const vg_netdoc *doc, const char *id,
                        const uint8_t pk[VG_SIGN_PK_LEN])
{
    const Vigil__AgencyCard *a = id != NULL ? vg_netdoc_ids_card(&doc->ids, id) : NULL;
    return a != NULL && s_match_card(out, a, 0, pk) ? VG_OK : VG_ERR_NOT_FOUND;
}

/* The first 8 bytes of a key in hex, to name it in a reason. */
static void
s_key_label(char out[17], const uint8_t *pk)
{
    vg_hex_encode(out, 17, pk, 8);
}

vg_err
vg_netdoc_admit_transport(vg_key_match *out, const vg_netdoc *doc,
                          const uint8_t pk[VG_CURVE_KEY_LEN], int64_t now_ms, vg_reason *why)
{
    char z85[VG_Z85_KEY_LEN + 1];
    vg_z85_encode_key(z85, pk);
    if (vg_netdoc_find_transport_key(out, doc, pk) != VG_OK) {
        memset(out, 0, sizeof *out);
        return vg_reason_set(why, VG_ERR_NOT_FOUND,
                             "transport key %s is not on any card of network document version "
                             "%llu",
                             z85, (unsigned long long)doc->pb->version);
    }
    char t[VG_TIME_STR_LEN];
    if (out->agency.revoked) {
        return vg_reason_set(why, VG_ERR_REVOKED, "agency %s is revoked (transport key %s)",
                             out->agency.id, z85);
    }
    if (out->compromised_ms > 0 && now_ms >= out->compromised_ms) {
        vg_time_format(t, sizeof t, out->compromised_ms);
        return vg_reason_set(why, VG_ERR_KEY_COMPROMISED,
                             "transport key %s of %s is compromised since %s", z85, out->agency.id,
                             t);
    }
    if (out->previous && now_ms >= out->valid_until_ms) {
        vg_time_format(t, sizeof t, out->valid_until_ms);
        return vg_reason_set(why, VG_ERR_REVOKED,
                             "transport key %s is a previous key of %s whose overlap ended at %s: "
                             "connect with its current key",
                             z85, out->agency.id, t);
    }
    return VG_OK;
}

vg_err
vg_key_match_check_time(const vg_key_match *m, int64_t created_ms, const char *what, vg_reason *why)
{
    char key[17], t[VG_TIME_STR_LEN], c[VG_TIME_STR_LEN];
    if (m->agency.revoked) {
        return vg_reason_set(why, VG_ERR_REVOKED, "%s signer '%s' is revoked", what, m->agency.id);
    }
    vg_time_format(c, sizeof c, created_ms);
    s_key_label(key, m->pk);
    if (m->compromised_ms > 0 && created_ms >= m->compromised_ms) {
        vg_time_format(t, sizeof t, m->compromised_ms);
        return vg_reason_set(why, VG_ERR_KEY_COMPROMISED,
                             "%s by '%s' signed with its %s sign key %s.. created %s, at or after "
                             "that key was compromised (%s): not trusted",
                             what, m->agency.id, m->previous ? "previous" : "current", key, c, t);
    }
    if (m->previous && created_ms >= m->valid_until_ms) {
        vg_time_format(t, sizeof t, m->valid_until_ms);
        return vg_reason_set(why, VG_ERR_REVOKED,
                             "%s by '%s' signed with its previous sign key %s.. created %s, at or "
                             "after that key's overlap ended (%s): sign with the current key",
                             what, m->agency.id, key, c, t);
    }
    return VG_OK;
}

size_t
vg_netdoc_n_previous_broker_keys(const vg_netdoc *doc)
{
    return doc->pb->n_previous_broker_keys;
}

void
vg_netdoc_previous_broker_keys_at(const vg_netdoc *doc, size_t i, vg_broker_keys *out)
{
    const Vigil__PreviousBrokerKeys *p = doc->pb->previous_broker_keys[i];
    *out = (vg_broker_keys){
        .sign_pk = s_pk_or_null(&p->sign_key),
        .transport_pk = s_pk_or_null(&p->transport_key),
        .rotated_ms = (int64_t)p->rotated_ms,
        .valid_until_ms = (int64_t)p->valid_until_ms,
    };
}

const char *
vg_netdoc_key_transition(const vg_netdoc *doc)
{
    return doc->pb->key_transition;
}

bool
vg_netdoc_is_oversight(const vg_netdoc *doc, const char *id)
{
    const Vigil__AgencyCard *c = vg_netdoc_ids_card(&doc->ids, id);
    return c != NULL && strcmp(c->role, VG_ROLE_OVERSIGHT) == 0;
}

/* field of the card's limits, else of the network's, else the default */
#define S_LIMIT(card, net, field, dflt)                                                            \
    ((card) != NULL && (card)->field != 0 ? (card)->field                                          \
     : (net) != NULL && (net)->field != 0 ? (net)->field                                           \
                                          : (dflt))

vg_limits
vg_netdoc_limits(const vg_netdoc *doc, const char *id)
{
    const Vigil__AgencyCard *c = vg_netdoc_ids_card(&doc->ids, id);
    const Vigil__Limits *own = c != NULL ? c->limits : NULL, *net = doc->pb->limits;
    return (vg_limits){
        .publish_per_minute = S_LIMIT(own, net, publish_per_minute, VG_LIMIT_PUBLISH_PER_MINUTE),
        .publish_burst = S_LIMIT(own, net, publish_burst, VG_LIMIT_PUBLISH_BURST),
        .stored_bytes_per_day =
            S_LIMIT(own, net, stored_bytes_per_day, VG_LIMIT_STORED_BYTES_PER_DAY),
    };
}

vg_witnessing
vg_netdoc_witnessing(const vg_netdoc *doc)
{
    const Vigil__Witnessing *w = doc->pb->witnessing;
    return w != NULL ? (vg_witnessing){.cosignatures = w->cosignatures, .within_ms = w->within_ms}
                     : (vg_witnessing){0};
}

vg_oversight_view
vg_netdoc_oversight(const vg_netdoc *doc)
{
    const Vigil__OversightView *o = doc->pb->oversight;
    return (vg_oversight_view){.officer_names = o != NULL && o->officer_names,
                               .notes = o != NULL && o->notes};
}

bool
vg_netdoc_has_category(const vg_netdoc *doc, const char *category)
{
    return s_in_taxonomy(doc->pb, category);
}

size_t
vg_netdoc_n_categories(const vg_netdoc *doc)
{
    return doc->pb->n_categories;
}

const char *
vg_netdoc_category_at(const vg_netdoc *doc, size_t i)
{
    return doc->pb->categories[i];
}

/* ---- policy --------------------------------------------------------------- */

static bool
s_rule_matches(const Vigil__PolicyRule *r, const char *const *cats, size_t n_cats,
               vg_severity severity)
{
    if ((int)severity < (int)r->min_severity) {
        return false;
    }
    if (r->n_categories == 0) {
        return true;
    }
    for (size_t i = 0; i < r->n_categories; i++) {
        for (size_t j = 0; j < n_cats; j++) {
            if (strcmp(r->categories[i], cats[j]) == 0) {
                return true;
            }
        }
    }
    return false;
}

static bool
s_rule_names(const Vigil__PolicyRule *r, const Vigil__AgencyCard *a)
{
    for (size_t i = 0; i < r->n_must_reach; i++) {
        if (strcmp(r->must_reach[i], a->id) == 0) {
            return true;
        }
    }
    for (size_t i = 0; i < r->n_must_reach_roles; i++) {
        if (strcmp(r->must_reach_roles[i], a->role) == 0) {
            return true;
        }
    }
    return false;
}

static int
s_u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Appends to out the agencies in cards[0..n) (card indices, sorted, maybe
 * repeated) that are neither revoked nor the sender nor already in out. */
static vg_err
s_add_required(const Vigil__NetworkDocument *d, const uint32_t *cards, size_t n, const char *sender,
               vg_strlist *out)
{
    vg_strlist had = {0}; /* what out held before, sorted: a membership test in O(log n) */
    vg_err rc = VG_OK;
    for (size_t i = 0; i < out->n && rc == VG_OK; i++) {
        rc = vg_strlist_add(&had, out->items[i]);
    }
    if (had.n > 1) { /* qsort of NULL is undefined even for no items */
        qsort(had.items, had.n, sizeof *had.items, vg_str_ptr_cmp);
    }
    for (size_t i = 0; i < n && rc == VG_OK; i++) {
        const Vigil__AgencyCard *a = d->agencies[cards[i]];
        const char *key = a->id;
        if ((i > 0 && cards[i] == cards[i - 1]) || a->revoked ||
            (sender != NULL && strcmp(a->id, sender) == 0) ||
            (had.n > 0 && bsearch(&key, had.items, had.n, sizeof *had.items, vg_str_ptr_cmp))) {
            continue;
        }
        rc = vg_strlist_add(out, a->id);
    }
    vg_strlist_fini(&had);
    return rc;
}

/* Policy evaluation reads the card lists compiled for the rules that match
 * (s_reach), so it costs what it returns, not the size of the network. */
vg_err
vg_netdoc_required(const vg_netdoc *doc, const char *const *categories, size_t n_categories,
                   vg_severity severity, const char *sender, vg_strlist *out)
{
    const Vigil__NetworkDocument *d = doc->pb;
    size_t total = 0;
    for (size_t r = 0; r < d->n_policy; r++) {
        if (s_rule_matches(d->policy[r], categories, n_categories, severity)) {
            total += doc->reach[r].n;
        }
    }
    if (total == 0) {
        return VG_OK;
    }
    uint32_t *cards = malloc(total * sizeof *cards);
    if (cards == NULL) {
        return VG_ERR_NOMEM;
    }
    size_t n = 0;
    for (size_t r = 0; r < d->n_policy; r++) {
        if (doc->reach[r].n > 0 &&
            s_rule_matches(d->policy[r], categories, n_categories, severity)) {
            memcpy(cards + n, doc->reach[r].cards, doc->reach[r].n * sizeof *cards);
            n += doc->reach[r].n;
        }
    }
    qsort(cards, n, sizeof *cards, s_u32_cmp); /* document order, repeats side by side */
    vg_err rc = s_add_required(d, cards, n, sender, out);
    free(cards);
    return rc;
}

static const char *const s_targets[] = {NULL,      "redeliver",       "contact",
                                        "role",    "officer-on-duty", "out-of-hours-team",
                                        "manager", "oversight"};

const char *
vg_escalation_target_name(vg_escalation_target target)
{
    return (int)target > 0 && (size_t)target < sizeof s_targets / sizeof s_targets[0]
               ? s_targets[target]
               : NULL;
}

vg_escalation_target
vg_escalation_target_parse(const char *name)
{
    for (size_t i = 1; name != NULL && i < sizeof s_targets / sizeof s_targets[0]; i++) {
        if (strcmp(s_targets[i], name) == 0) {
            return (vg_escalation_target)i;
        }
    }
    return VG_ESC_UNSPECIFIED;
}

bool
vg_escalation_target_notifies(vg_escalation_target target)
{
    return target >= VG_ESC_DUTY_OFFICER && target <= VG_ESC_OVERSIGHT;
}

uint64_t
vg_netdoc_deadline_ms(const vg_netdoc *doc, vg_severity severity, vg_urgency urgency)
{
    const Vigil__NetworkDocument *d = doc->pb;
    if (severity < VG_SEV_LOW || severity > VG_SEV_CRITICAL) {
        severity = VG_SEV_CRITICAL; /* unknown severity: the shortest deadline is the safe one */
    }
    const Vigil__DeadlineRule *by_severity = NULL, *by_urgency = NULL;
    for (size_t i = 0; i < d->n_deadlines; i++) {
        const Vigil__DeadlineRule *r = d->deadlines[i];
        if ((int)r->severity != (int)severity || r->n_categories > 0 || r->agency[0] != '\0' ||
            r->repeat) {
            continue; /* rules for categories, agencies, repeats: vg_netdoc_deadline_at */
        }
        if (urgency != VG_URG_UNSPECIFIED && (int)r->urgency == (int)urgency) {
            by_urgency = r;
        }
        if (r->urgency == VIGIL__URGENCY__URGENCY_UNSPECIFIED) {
            by_severity = r;
        }
    }
    const Vigil__DeadlineRule *r = by_urgency != NULL ? by_urgency : by_severity;
    vg_deadline_rule unit;
    if (r == NULL || !vg_netdoc_rule_of(r, &unit) || unit.unit != VG_DL_DURATION) {
        return 0; /* a calendar unit has no fixed duration */
    }
    return unit.duration_ms;
}

size_t
vg_netdoc_n_escalation(const vg_netdoc *doc)
{
    return doc->pb->n_escalation;
}

void
vg_netdoc_escalation_at(const vg_netdoc *doc, size_t i, vg_escalation_step *out)
{
    const Vigil__EscalationStep *s = doc->pb->escalation[i];
    out->after_ms = s->after_ms;
    out->target = (vg_escalation_target)s->target;
    out->role = s->role;
}
