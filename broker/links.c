/* links.c — warning memory: link tags to earlier alerts (links.h). */
#include "links.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/log.h"

_Static_assert((int)VGB_LINK_ACKNOWLEDGED == VIGIL__LINK_OUTCOME_KIND__LINK_ACKNOWLEDGED, "kind");
_Static_assert((int)VGB_LINK_LATE == VIGIL__LINK_OUTCOME_KIND__LINK_LATE, "kind");
_Static_assert((int)VGB_LINK_NEVER == VIGIL__LINK_OUTCOME_KIND__LINK_NEVER, "kind");
_Static_assert((int)VGB_LINK_OPEN == VIGIL__LINK_OUTCOME_KIND__LINK_OPEN, "kind");

/* ---- the earlier alerts and their rows --------------------------------------- */

typedef struct s_seqs {
    uint64_t v[VGB_LINKS_MAX]; /* earlier alerts */
    size_t n;                  /* how many */
} s_seqs;

static bool
s_take(void *ctx, uint64_t seq)
{
    s_seqs *c = ctx;
    if (c->n < VGB_LINKS_MAX) {
        c->v[c->n++] = seq;
    }
    return c->n < VGB_LINKS_MAX;
}

/* One earlier alert's rows: every party, and the required ones' outcomes. */
typedef struct s_rows {
    vgb_rrow *rows; /* every recipient row */
    size_t n;       /* how many */
    size_t cap;     /* allocated */
    bool failed;    /* out of memory */
} s_rows;

static void
s_take_row(void *ctx, const vgb_rrow *r, const char *officer, const char *note, const char *reason)
{
    (void)officer, (void)note, (void)reason;
    s_rows *c = ctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 8;
        vgb_rrow *rows = realloc(c->rows, cap * sizeof *rows);
        if (rows == NULL) {
            c->failed = true;
            return;
        }
        c->rows = rows;
        c->cap = cap;
    }
    c->rows[c->n++] = *r;
}

static vg_err
s_rows_of(s_rows *out, vgb_store *s, uint64_t seq)
{
    memset(out, 0, sizeof *out);
    vg_err rc = vgb_store_recipients_of(s, seq, s_take_row, out);
    return rc == VG_OK && out->failed ? VG_ERR_NOMEM : rc;
}

/* ---- on accept --------------------------------------------------------------------- */

/* Whether required row r missed its alert, by what the audit log shows
 * (audit verify derives the same repeat warnings from the leaves:
 * audit_leaves.c): not acknowledged, and overdue, declined or unopenable. */
static bool
s_missed_row(const vgb_rrow *r)
{
    return r->required && r->state != VGB_ACKNOWLEDGED &&
           (r->esc_level > 0 || r->overdue_ms != 0 || r->state == VGB_DECLINED ||
            r->state == VGB_UNOPENABLE);
}

/* For each required agency, how many of the earlier alerts it was required
 * on and never acknowledged (missed[i] for required->items[i]); each
 * earlier alert's rows are read once. */
static vg_err
s_missed(uint32_t *missed, vgb_store *s, const s_seqs *earlier, const vg_strlist *required)
{
    for (size_t i = 0; i < earlier->n; i++) {
        s_rows r;
        vg_err rc = s_rows_of(&r, s, earlier->v[i]);
        for (size_t k = 0; k < r.n && rc == VG_OK; k++) {
            if (!s_missed_row(&r.rows[k])) {
                continue;
            }
            for (size_t q = 0; q < required->n; q++) {
                missed[q] += strcmp(r.rows[k].agency, required->items[q]) == 0;
            }
        }
        free(r.rows);
        if (rc != VG_OK) {
            return rc;
        }
    }
    return VG_OK;
}

static vg_err
s_record_link(vgb_store *s, vgb_record *rec, uint64_t seq, const vg_envelope *env,
              const vg_strlist *required, const s_seqs *earlier)
{
    uint8_t(*ids)[VG_ALERT_ID_LEN] = calloc(earlier->n, VG_ALERT_ID_LEN);
    vgb_repeat *rep = calloc(required->n ? required->n : 1, sizeof *rep);
    uint32_t *missed = calloc(required->n ? required->n : 1, sizeof *missed);
    vg_err rc = ids != NULL && rep != NULL && missed != NULL ? VG_OK : VG_ERR_NOMEM;
    for (size_t i = 0; i < earlier->n && rc == VG_OK; i++) {
        vgb_alert_meta m;
        rc = vgb_store_alert_meta(s, earlier->v[i], &m);
        if (rc == VG_OK) {
            memcpy(ids[i], m.id, VG_ALERT_ID_LEN);
        }
    }
    size_t n_rep = 0;
    if (rc == VG_OK) {
        rc = s_missed(missed, s, earlier, required);
    }
    for (size_t i = 0; i < required->n && rc == VG_OK; i++) {
        if (missed[i] > 0) {
            rep[n_rep++] = (vgb_repeat){required->items[i], missed[i]};
        }
    }
    if (rc == VG_OK) {
        rc = vgb_record_linked(rec, seq, vg_envelope_id(env), vg_envelope_sender(env), earlier->v,
                               (const uint8_t(*)[VG_ALERT_ID_LEN])ids, earlier->n, rep, n_rep);
    }
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, vg_envelope_id(env));
    for (size_t i = 0; i < n_rep && rc == VG_OK; i++) {
        vg_log(VG_LOG_WARN, "broker", "link.repeat", "alert=%s agency=%s missed=%u", idhex,
               rep[i].agency, rep[i].count);
    }
    if (rc == VG_OK) {
        vg_log(VG_LOG_INFO, "broker", "link.found", "alert=%s earlier=%zu", idhex, earlier->n);
    }
    free(ids);
    free(rep);
    free(missed);
    return rc;
}

/* env's n link tags, malloc'ed (NULL: none, or no memory when n > 0). */
static uint8_t (*s_tags_of(const vg_envelope *env, size_t *n))[VG_HASH_LEN]
{
    *n = vg_envelope_n_link_tags(env);
    uint8_t(*tags)[VG_HASH_LEN] = *n > 0 ? malloc(*n * VG_HASH_LEN) : NULL;
    for (size_t i = 0; tags != NULL && i < *n; i++) {
        memcpy(tags[i], vg_envelope_link_tag(env, i), VG_HASH_LEN);
    }
    return tags;
}

vg_err
vgb_links_repeats(vgb_store *s, const vg_envelope *env, const vg_strlist *required, vg_strlist *out)
{
    size_t n = 0;
    uint8_t(*tags)[VG_HASH_LEN] = s_tags_of(env, &n);
    if (n == 0 || required->n == 0) {
        free(tags);
        return VG_OK;
    }
    s_seqs *earlier = calloc(1, sizeof *earlier);
    uint32_t *missed = calloc(required->n, sizeof *missed);
    vg_err rc = tags != NULL && earlier != NULL && missed != NULL ? VG_OK : VG_ERR_NOMEM;
    if (rc == VG_OK) {
        rc = vgb_store_tagged(s, (const uint8_t(*)[VG_HASH_LEN])tags, n, VGB_LINKS_MAX, s_take,
                              earlier);
    }
    if (rc == VG_OK && earlier->n > 0) {
        rc = s_missed(missed, s, earlier, required);
    }
    for (size_t i = 0; i < required->n && rc == VG_OK && earlier->n > 0; i++) {
        if (missed[i] > 0) {
            rc = vg_strlist_add(out, required->items[i]);
        }
    }
    free(tags);
    free(earlier);
    free(missed);
    return rc;
}

vg_err
vgb_links_on_accept(vgb_store *s, vgb_record *rec, uint64_t seq, const vg_envelope *env,
                    const vg_strlist *required, bool *linked)
{
    *linked = false;
    size_t n = 0;
    uint8_t(*tags)[VG_HASH_LEN] = s_tags_of(env, &n);
    if (n == 0) {
        return VG_OK;
    }
    if (tags == NULL) {
        return VG_ERR_NOMEM;
    }
    vg_err rc = vgb_store_add_link_tags(s, seq, (const uint8_t(*)[VG_HASH_LEN])tags, n);
    free(tags);
    s_seqs *earlier = calloc(1, sizeof *earlier);
    if (rc == VG_OK && earlier == NULL) {
        rc = VG_ERR_NOMEM;
    }
    if (rc == VG_OK) {
        rc = vgb_store_linked_earlier(s, seq, VGB_LINKS_MAX, s_take, earlier);
    }
    /* the required recipients in the envelope's order: the order audit
     * verify finds the rows in, so the repeat warnings come in one order */
    vg_strlist ordered = {0};
    const vg_strlist *rcpts = vg_envelope_recipients(env);
    for (size_t i = 0; i < rcpts->n && rc == VG_OK && earlier != NULL && earlier->n > 0; i++) {
        if (vg_strlist_contains(required, rcpts->items[i])) {
            rc = vg_strlist_add(&ordered, rcpts->items[i]);
        }
    }
    if (rc == VG_OK && earlier->n > 0) {
        *linked = true;
        rc = s_record_link(s, rec, seq, env, &ordered, earlier);
    }
    vg_strlist_fini(&ordered);
    free(earlier);
    return rc;
}

/* ---- what an agency may know ---------------------------------------------------- */

static void
s_item_free(Vigil__LinkedAlert *it)
{
    if (it == NULL) {
        return;
    }
    for (size_t i = 0; i < it->n_outcomes; i++) {
        free(it->outcomes[i]->agency);
        free(it->outcomes[i]);
    }
    free(it->outcomes);
    free(it->alert_id.data);
    free(it);
}

/* The item for one earlier alert: its id and time when asker was a party. */
static vg_err
s_item(Vigil__LinkedAlert **out, vgb_store *s, uint64_t seq, const char *asker, bool oversight,
       int64_t now_ms)
{
    vgb_alert_meta m;
    s_rows r;
    vg_err rc = vgb_store_alert_meta(s, seq, &m);
    if (rc != VG_OK) {
        return rc;
    }
    if ((rc = s_rows_of(&r, s, seq)) != VG_OK) {
        free(r.rows);
        return rc;
    }
    Vigil__LinkedAlert *it = calloc(1, sizeof *it);
    rc = it != NULL ? VG_OK : VG_ERR_NOMEM;
    bool party = oversight || strcmp(m.sender, asker) == 0;
    if (rc == VG_OK) {
        vigil__linked_alert__init(it);
        it->outcomes = calloc(r.n ? r.n : 1, sizeof *it->outcomes);
        rc = it->outcomes != NULL ? VG_OK : VG_ERR_NOMEM;
    }
    for (size_t k = 0; k < r.n && rc == VG_OK; k++) {
        party = party || strcmp(r.rows[k].agency, asker) == 0;
        if (!r.rows[k].required) {
            continue;
        }
        Vigil__LinkOutcome *o = calloc(1, sizeof *o);
        char *agency = vg_strdup(r.rows[k].agency);
        if (o == NULL || agency == NULL) {
            free(o);
            free(agency);
            rc = VG_ERR_NOMEM;
            break;
        }
        vigil__link_outcome__init(o);
        o->agency = agency;
        o->outcome = (Vigil__LinkOutcomeKind)vgb_rrow_link_outcome(&r.rows[k], now_ms);
        it->outcomes[it->n_outcomes++] = o;
    }
    if (rc == VG_OK && party) {
        it->alert_id.data = malloc(VG_ALERT_ID_LEN);
        rc = it->alert_id.data != NULL ? VG_OK : VG_ERR_NOMEM;
        if (rc == VG_OK) {
            memcpy(it->alert_id.data, m.id, VG_ALERT_ID_LEN);
            it->alert_id.len = VG_ALERT_ID_LEN;
            it->accepted_ms = (uint64_t)m.accepted_ms;
        }
    }
    free(r.rows);
    if (rc != VG_OK) {
        s_item_free(it);
        return rc;
    }
    *out = it;
    return VG_OK;
}

vg_err
vgb_links_view(vgb_linkview *out, vgb_store *s, const vg_netdoc *doc, uint64_t seq,
               const char *asker, int64_t now_ms)
{
    memset(out, 0, sizeof *out);
    s_seqs *earlier = calloc(1, sizeof *earlier);
    if (earlier == NULL) {
        return VG_ERR_NOMEM;
    }
    vg_err rc = vgb_store_linked_earlier(s, seq, VGB_LINKS_MAX, s_take, earlier);
    if (rc == VG_OK && earlier->n > 0) {
        out->items = calloc(earlier->n, sizeof *out->items);
        rc = out->items != NULL ? VG_OK : VG_ERR_NOMEM;
    }
    bool oversight = doc != NULL && vg_netdoc_is_oversight(doc, asker);
    for (size_t i = 0; i < earlier->n && rc == VG_OK; i++) {
        rc = s_item(&out->items[i], s, earlier->v[i], asker, oversight, now_ms);
        out->n = rc == VG_OK ? i + 1 : out->n;
    }
    free(earlier);
    if (rc != VG_OK) {
        vgb_linkview_fini(out);
    }
    return rc;
}

void
vgb_linkview_fini(vgb_linkview *v)
{
    if (v == NULL) {
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        s_item_free(v->items[i]);
    }
    free(v->items);
    v->items = NULL;
    v->n = 0;
}
