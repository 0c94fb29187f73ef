/*
 * gw_routes.c — the alert routes: publish (vigil JSON or CAP 1.2, with
 * Idempotency-Key), status and the outstanding list (the JSON of
 * vigil-agent status/outstanding --json), an alert as CAP, receipts from
 * people, and a receipt as a CAP Ack.
 *
 * Publishing follows vigil-agent publish: the same JSON, the same category
 * check, the policy's agencies added by the library, the outbox first. The
 * answer says what is true: 201 once the broker confirmed, 202 when the
 * alert is safe in the outbox but not confirmed (the gateway's link sends
 * it again every 10 s), a problem otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "gateway.h"
#include "gw_cap.h"
#include "vigil/agent_relay.h"
#include "vigil/alert_json.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/track_json.h"
#include "vigil/util.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static int64_t
s_now(void)
{
    return vg_clock_wall_ms(vg_clock_system());
}

vga_agent *
gw_take_agent(gw_req *r, enum MHD_Result *res)
{
    vga_agent *a = gw_pool_take(r->g->pool, GW_POOL_WAIT_MS);
    if (a == NULL) {
        const char *const h[] = {"Retry-After", "1", NULL};
        *res = gw_problem_with(r, 503, "busy", NULL, "every broker connection is in use; try again",
                               NULL, NULL, h);
    }
    return a;
}

/* The JSON key a reason of vga_alert_from_json is about, for the problem's
 * "field": the unknown key it names, else a key of the alert format it
 * quotes, else one it mentions ("unknown severity 'dire'"). */
static void
s_field_of(char *out, size_t out_len, const char *reason)
{
    static const char *const keys[] = {
        "severity",   "categories",  "headline",    "recipients", "to",
        "references", "status",      "msg_type",    "urgency",    "certainty",
        "event",      "description", "instruction", "areas",      "expires",
        "incidents",  "subjects",    "sender_name", "contact",    "web",
        "language",   "sequence",    "sender",      "sent",       "id"};
    const char *unknown = strstr(reason, "unknown key '");
    if (unknown != NULL) {
        unknown += 13;
        snprintf(out, out_len, "%.*s", (int)strcspn(unknown, "'"), unknown);
        return;
    }
    for (int quoted = 1; quoted >= 0; quoted--) {
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            char pat[32];
            snprintf(pat, sizeof pat, quoted ? "'%s'" : "%s", keys[i]);
            const char *at = strstr(reason, pat);
            size_t n = strlen(pat);
            bool word = at != NULL && (at == reason || at[-1] == ' ' || at[-1] == '\'') &&
                        (at[n] == '\0' || at[n] == ' ' || at[n] == ':' || at[n] == '\'');
            if (at != NULL && (quoted || word)) {
                snprintf(out, out_len, "%s", keys[i]);
                return;
            }
        }
    }
    out[0] = '\0';
}

static bool
s_is_cap_type(const gw_req *r)
{
    const char *ct = gw_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    return ct != NULL && (strncasecmp(ct, "application/cap+xml", 19) == 0 ||
                          strncasecmp(ct, "application/xml", 15) == 0);
}

/* Splits a comma-separated query argument into l. */
static vg_err
s_query_list(const gw_req *r, const char *name, vg_strlist *l, vg_reason *why)
{
    const char *v = gw_query(r, name);
    return v != NULL && v[0] != '\0' ? vg_strlist_split(l, v, why) : VG_OK;
}

static bool
s_resolve_ref(void *ctx, const char *triple, uint8_t id[VG_ALERT_ID_LEN])
{
    return gw_db_cap_ref_find(ctx, triple, id);
}

/* ---- publish ------------------------------------------------------------------------------ */

/* The alert of the body; a problem queued (res) when it is not one. */
static bool
s_read_alert(gw_req *r, vga_agent *ag, vg_alert *a, bool *from_cap, enum MHD_Result *res)
{
    vg_reason why = {{0}};
    vg_strlist to = {0}, cats = {0};
    vg_err rc = s_query_list(r, "to", &to, &why);
    rc = rc == VG_OK ? s_query_list(r, "category", &cats, &why) : rc;
    if (rc != VG_OK) {
        *res = gw_problem(r, 400, "invalid_query", NULL, why.text, "to",
                          "agency ids, comma-separated");
        vg_strlist_fini(&to);
        vg_strlist_fini(&cats);
        return false;
    }
    *from_cap = s_is_cap_type(r);
    if (*from_cap) {
        gw_cap_problem pb = {0};
        gw_cap_import_opts o = {.doc = vga_agent_doc(ag),
                                .categories = (const char *const *)cats.items,
                                .n_categories = cats.n,
                                .default_category = r->g->gc->cap_category,
                                .resolve = s_resolve_ref,
                                .resolve_ctx = r->g->db};
        rc = gw_cap_import(a, r->body ? r->body : "", r->body_len, &o, &pb, &why);
        if (rc != VG_OK) {
            unsigned status = rc == VG_ERR_TOO_LARGE ? 413 : rc == VG_ERR_INVALID ? 422 : 400;
            *res = gw_problem(r, status, rc == VG_ERR_INVALID ? "cap_not_carried" : "invalid_cap",
                              NULL, why.text, pb.field, pb.accepted);
        }
    } else if (r->body == NULL || memchr(r->body, '\0', r->body_len) != NULL) {
        rc = VG_ERR_MALFORMED;
        *res = gw_problem(r, 400, "invalid_json", NULL,
                          r->body ? "the body holds a NUL byte" : "no body: send the alert JSON",
                          NULL, NULL);
    } else if ((rc = vga_alert_from_json(a, r->body, &why)) != VG_OK) {
        char field[64];
        s_field_of(field, sizeof field, why.text);
        *res = gw_problem(r, rc == VG_ERR_TOO_LARGE ? 413 : 400, "invalid_alert", NULL, why.text,
                          field, NULL);
    }
    for (size_t i = 0; rc == VG_OK && i < to.n; i++) {
        rc = vg_strlist_add_unique(&a->recipients, to.items[i]);
    }
    for (size_t i = 0; rc == VG_OK && !*from_cap && i < cats.n; i++) {
        rc = vg_strlist_add_unique(&a->categories, cats.items[i]);
    }
    vg_strlist_fini(&to);
    vg_strlist_fini(&cats);
    if (rc != VG_OK && r->status == 0) {
        *res = gw_problem(r, 500, "internal", NULL, "out of memory", NULL, NULL);
    }
    return rc == VG_OK;
}

/* Names a category or recipient the network does not have (as vigil-agent
 * publish does, before the library would say "no recipients"). */
static bool
s_check_names(gw_req *r, vga_agent *ag, const vg_alert *a, enum MHD_Result *res)
{
    const vg_netdoc *doc = vga_agent_doc(ag);
    char known[VG_REASON_MAX] = "", detail[VG_REASON_MAX + 128];
    for (size_t i = 0; i < a->categories.n; i++) {
        if (vg_netdoc_has_category(doc, a->categories.items[i])) {
            continue;
        }
        size_t used = 0;
        for (size_t k = 0; k < vg_netdoc_n_categories(doc) && used < sizeof known; k++) {
            int w = snprintf(known + used, sizeof known - used, "%s%s", k ? ", " : "",
                             vg_netdoc_category_at(doc, k));
            used += w > 0 ? (size_t)w : 0;
        }
        snprintf(detail, sizeof detail, "category '%.64s' is not in this network's taxonomy",
                 a->categories.items[i]);
        *res = gw_problem(r, 422, "unknown_category", NULL, detail, "categories", known);
        return false;
    }
    for (size_t i = 0; i < a->recipients.n; i++) {
        vg_agency ag_card;
        if (vg_netdoc_find(doc, a->recipients.items[i], &ag_card) != VG_OK) {
            snprintf(detail, sizeof detail, "recipient '%.64s' is not an agency of this network",
                     a->recipients.items[i]);
            *res = gw_problem(r, 422, "unknown_recipient", NULL, detail, "recipients",
                              "agency ids of the network document");
            return false;
        }
    }
    return true;
}

/* What identifies a request for Idempotency-Key: path, type, query, body. */
static void
s_request_hash(const gw_req *r, uint8_t out[VG_HASH_LEN])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, VG_HASH_LEN);
    const char *parts[] = {r->path, gw_header(r, MHD_HTTP_HEADER_CONTENT_TYPE), gw_query(r, "to"),
                           gw_query(r, "category")};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        const char *p = parts[i] ? parts[i] : "";
        crypto_generichash_update(&st, (const unsigned char *)p, strlen(p) + 1);
    }
    crypto_generichash_update(&st, (const unsigned char *)(r->body ? r->body : ""), r->body_len);
    crypto_generichash_final(&st, out, VG_HASH_LEN);
}

/* The answer to a publish: 201, 202 or the broker's refusal. */
static enum MHD_Result
s_publish_answer(gw_req *r, vg_err rc, const vga_confirm *res, const vg_reason *why, bool replayed)
{
    gw_gateway *g = r->g;
    char idhex[VG_ALERT_ID_HEX_LEN + 1], location[64];
    vg_alert_id_hex(idhex, res->alert_id);
    snprintf(location, sizeof location, "/v1/alerts/%s", idhex);
    const char *const h[] = {"Location", location, "Idempotent-Replayed",
                             replayed ? "true" : "false", NULL};
    bool kept =
        rc == VG_ERR_TIMEOUT || (res->code == VG_ERR_STORAGE_FULL || res->code == VG_ERR_INTERNAL);
    if (rc == VG_OK || kept) {
        memcpy(r->result_id, res->alert_id, VG_ALERT_ID_LEN);
        r->has_result_id = true;
        atomic_fetch_add(rc == VG_OK ? &g->m.published_confirmed : &g->m.published_queued, 1);
        json_t *o = json_pack("{s:s, s:s, s:b, s:s}", "id", idhex, "state",
                              rc == VG_OK ? "confirmed" : "queued", "duplicate",
                              rc == VG_OK && res->duplicate, "location", location);
        if (o != NULL && rc != VG_OK) {
            json_object_set_new(o, "detail", json_string(why->text));
        }
        char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        return gw_reply_json(r, rc == VG_OK ? 201 : 202, text, h);
    }
    atomic_fetch_add(&g->m.published_rejected, 1);
    if (res->code != VG_OK) { /* the broker's rejection */
        char missing[VG_REASON_MAX] = "", detail[VG_REASON_MAX * 3];
        vg_strlist_join(missing, sizeof missing, &res->missing, ", ");
        snprintf(detail, sizeof detail, "the broker rejected alert %s: %s%s%s", idhex,
                 res->reason.text, missing[0] ? "; missing recipients: " : "", missing);
        return gw_problem(r, res->code == VG_ERR_CONFLICT || res->code == VG_ERR_REPLAY ? 409 : 422,
                          vg_err_code(res->code), NULL, detail,
                          res->code == VG_ERR_MISSING_RECIPIENTS ? "recipients" : NULL, missing);
    }
    if (rc == VG_ERR_INVALID || rc == VG_ERR_NOT_FOUND || rc == VG_ERR_REVOKED) {
        return gw_problem(r, 422, "invalid_alert", NULL, why->text, NULL, NULL);
    }
    return gw_problem_err(r, rc, why->text);
}

/* A repeated Idempotency-Key: the same alert, sent again (the broker
 * answers DUPLICATE if it has it). */
static enum MHD_Result
s_replay(gw_req *r, vga_agent *ag, const gw_idem *idem, const uint8_t req_hash[VG_HASH_LEN])
{
    if (sodium_memcmp(idem->request_hash, req_hash, VG_HASH_LEN) != 0) {
        return gw_problem(r, 422, "idempotency_key_reused", NULL,
                          "this Idempotency-Key was used for a different request; use a new key "
                          "for a new alert",
                          "Idempotency-Key", "a key not used before by this token");
    }
    vga_confirm res;
    vg_reason why = {{0}};
    vg_err rc = vga_publish_sealed(ag, idem->envelope, idem->envelope_len,
                                   (int64_t)r->g->gc->confirm_timeout_ms, &res, &why);
    memcpy(res.alert_id, idem->alert_id, VG_ALERT_ID_LEN);
    enum MHD_Result out = s_publish_answer(r, rc, &res, &why, true);
    vga_confirm_fini(&res);
    return out;
}

/* Seals, records the key with the envelope, sends. */
static enum MHD_Result
s_publish_keyed(gw_req *r, vga_agent *ag, const vg_alert *a, const char *key)
{
    gw_idem idem = {0};
    s_request_hash(r, idem.request_hash);
    bool found = false;
    gw_idem old = {0};
    vg_err rc = gw_db_idem_get(r->g->db, r->token, key, &old, &found);
    if (rc == VG_OK && found) {
        enum MHD_Result out = s_replay(r, ag, &old, idem.request_hash);
        gw_idem_fini(&old);
        return out;
    }
    vg_reason why = {{0}};
    rc =
        rc == VG_OK ? vga_seal(ag, a, &idem.envelope, &idem.envelope_len, idem.alert_id, &why) : rc;
    if (rc == VG_OK) {
        rc = gw_db_idem_put(r->g->db, r->token, key, &idem, s_now());
        if (rc == VG_ERR_DUPLICATE) { /* the same key, at the same moment: answer as it did */
            gw_idem_fini(&idem);
            if (gw_db_idem_get(r->g->db, r->token, key, &old, &found) == VG_OK && found) {
                enum MHD_Result out = s_replay(r, ag, &old, old.request_hash);
                gw_idem_fini(&old);
                return out;
            }
            rc = VG_ERR_IO;
        }
    }
    vga_confirm res = {0};
    if (rc == VG_OK) {
        rc = vga_publish_sealed(ag, idem.envelope, idem.envelope_len,
                                (int64_t)r->g->gc->confirm_timeout_ms, &res, &why);
        memcpy(res.alert_id, idem.alert_id, VG_ALERT_ID_LEN);
    }
    gw_idem_fini(&idem);
    enum MHD_Result out = s_publish_answer(r, rc, &res, &why, false);
    vga_confirm_fini(&res);
    return out;
}

/* Remembers the CAP reference of an alert published from CAP. */
static void
s_note_cap(gw_req *r, const vg_alert *a, const uint8_t id[VG_ALERT_ID_LEN])
{
    char triple[GW_CAP_TRIPLE_MAX];
    vg_alert copy = *a; /* gw_cap_triple reads the kept subjects */
    memcpy(copy.id, id, VG_ALERT_ID_LEN);
    gw_cap_triple(triple, sizeof triple, &copy);
    if (gw_db_cap_ref_put(r->g->db, triple, id) != VG_OK) {
        vg_log(VG_LOG_WARN, "gateway", "capref.error", "token=%s", r->token);
    }
}

/* Indexes an alert published here for the console's linked alerts (the
 * ones received are indexed from the inbox by gw_link). */
static void
s_note_links(gw_req *r, const vg_alert *a, const uint8_t id[VG_ALERT_ID_LEN])
{
    char(*keys)[GW_LINK_KEY_MAX] = malloc(GW_LINK_KEYS_MAX * sizeof *keys);
    const char *ptrs[GW_LINK_KEYS_MAX];
    size_t n = keys ? gw_link_keys(a, true, keys, NULL, GW_LINK_KEYS_MAX) : 0;
    for (size_t i = 0; i < n; i++) {
        ptrs[i] = keys[i];
    }
    if (n > 0 && gw_db_links_put(r->g->db, s_now(), id, ptrs, n, NULL, 0) != VG_OK) {
        vg_log(VG_LOG_WARN, "gateway", "links.error", "token=%s", r->token);
    }
    free(keys);
}

enum MHD_Result
gw_handle_publish(gw_req *r)
{
    vg_alert a = {0};
    bool from_cap = false;
    enum MHD_Result res = MHD_YES;
    vga_agent *ag = gw_take_agent(r, &res);
    if (ag == NULL) {
        return res;
    }
    if (s_read_alert(r, ag, &a, &from_cap, &res) && s_check_names(r, ag, &a, &res)) {
        const char *key = gw_header(r, "Idempotency-Key");
        if (key != NULL && (key[0] == '\0' || strlen(key) > GW_IDEM_KEY_MAX)) {
            res = gw_problem(r, 400, "invalid_idempotency_key", NULL,
                             "an Idempotency-Key is 1 to 255 characters", "Idempotency-Key",
                             "1 to 255 characters");
        } else if (key != NULL) {
            res = s_publish_keyed(r, ag, &a, key);
        } else {
            vga_confirm c;
            vg_reason why = {{0}};
            vg_err rc = vga_publish(ag, &a, (int64_t)r->g->gc->confirm_timeout_ms, &c, &why);
            res = s_publish_answer(r, rc, &c, &why, false);
            vga_confirm_fini(&c);
        }
        if (from_cap && r->has_result_id) {
            s_note_cap(r, &a, r->result_id);
        }
        if (r->has_result_id) {
            s_note_links(r, &a, r->result_id);
        }
    } else {
        atomic_fetch_add(&r->g->m.published_rejected, 1);
    }
    gw_pool_give(r->g->pool, ag);
    vg_alert_fini(&a);
    return res;
}
