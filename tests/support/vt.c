/* vt.c — shared helpers for vigil's cmocka tests (see vt.h). */
#include "vt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

/* ---- temp directories and files ---------------------------------------- */

char *
vt_tmpdir_new(void)
{
    char tmpl[] = "/tmp/vigil-test-XXXXXX";
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    char *copy = vg_strdup(dir);
    assert_non_null(copy);
    return copy;
}

static void
s_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d != NULL) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
                    continue;
                }
                char *child = vt_path(path, e->d_name);
                s_rmtree(child);
                free(child);
            }
            closedir(d);
        }
        (void)rmdir(path);
    } else {
        (void)unlink(path);
    }
}

void
vt_tmpdir_destroy(char **dir_p)
{
    if (dir_p == NULL || *dir_p == NULL) {
        return;
    }
    s_rmtree(*dir_p);
    free(*dir_p);
    *dir_p = NULL;
}

char *
vt_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + 1 + strlen(name) + 1;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void
vt_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        assert_true(w > 0);
        p += w;
        len -= (size_t)w;
    }
    assert_int_equal(close(fd), 0);
    assert_int_equal(chmod(path, mode), 0);
}

uint8_t *
vt_read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap + 1);
    assert_non_null(buf);
    size_t r;
    while ((r = fread(buf + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
    }
    fclose(f);
    buf[len] = '\0';
    *len_out = len;
    return buf;
}

/* ---- test networks ------------------------------------------------------ */

static const char *const s_named_ids[] = {"police", "licensing", "childrens-services",
                                          "home-office"};
static const char *const s_named_roles[] = {"police", "licensing", "childrens-services",
                                            "government"};
static const char *const s_named_names[] = {"Police", "Taxi Licensing", "Children's Services",
                                            "Home Office"};

static json_t *
s_hex_json(const uint8_t *key, size_t len)
{
    char hex[2 * 64 + 1];
    assert_true(len <= 64);
    vg_hex_encode(hex, sizeof hex, key, len);
    return json_string(hex);
}

static json_t *
s_agency_json(const vt_net *net, size_t i)
{
    json_t *a = json_object();
    const vg_keyset *ks = net->keys[i];
    char name[80];
    const char *role = "partner";
    if (i < 4) {
        role = s_named_roles[i];
        snprintf(name, sizeof name, "%s", s_named_names[i]);
    } else {
        snprintf(name, sizeof name, "Partner agency %zu", i);
    }
    json_object_set_new(a, "id", json_string(net->ids[i]));
    json_object_set_new(a, "role", json_string(role));
    json_object_set_new(a, "name", json_string(name));
    json_object_set_new(a, "sign_key", s_hex_json(vg_keyset_sign_pk(ks), VG_SIGN_PK_LEN));
    json_object_set_new(a, "box_key", s_hex_json(vg_keyset_box_pk(ks), VG_BOX_PK_LEN));
    json_object_set_new(a, "transport_key", json_string(vg_keyset_curve_pk_z85(ks)));
    json_object_set_new(a, "revoked", json_false());
    if (i == 0 && net->n >= 4) {
        json_object_set_new(a, "escalation_contact", json_string("home-office"));
    }
    return a;
}

static json_t *
s_default_json(const vt_net *net)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "network", json_string(VT_NETWORK_NAME));
    json_object_set_new(doc, "version", json_integer(1));
    json_object_set_new(doc, "issued", json_integer(VT_ISSUED_MS));

    json_t *broker = json_object();
    json_object_set_new(broker, "sign_key",
                        s_hex_json(vg_keyset_sign_pk(net->broker), VG_SIGN_PK_LEN));
    json_object_set_new(broker, "transport_key", json_string(vg_keyset_curve_pk_z85(net->broker)));
    json_object_set_new(doc, "broker", broker);

    json_t *cats = json_pack("[ssssss]", "taxi", "cse", "missing-child", "online-harm",
                             "exploitation", "other");
    assert_non_null(cats);
    json_object_set_new(doc, "categories", cats);

    json_t *agencies = json_array();
    for (size_t i = 0; i < net->n; i++) {
        json_array_append_new(agencies, s_agency_json(net, i));
    }
    json_object_set_new(doc, "agencies", agencies);

    json_t *policy = json_array();
    if (net->n >= 3) {
        json_t *rule = json_pack("{s:s, s:[ss], s:s, s:[sss], s:[]}", "name", "taxi-and-cse",
                                 "categories", "taxi", "cse", "min_severity", "low", "must_reach",
                                 "licensing", "police", "childrens-services", "must_reach_roles");
        assert_non_null(rule);
        json_array_append_new(policy, rule);
    }
    json_object_set_new(doc, "policy", policy);

    json_t *deadlines = json_pack("{s:s, s:s, s:s, s:s, s:s}", "critical", "15m", "high", "1h",
                                  "medium", "24h", "low", "72h", "high/immediate", "30m");
    assert_non_null(deadlines);
    json_object_set_new(doc, "deadlines", deadlines);

    json_t *esc = json_pack("[{s:s, s:s}, {s:s, s:s}]", "after", "0s", "target", "redeliver",
                            "after", "30m", "target", "contact");
    assert_non_null(esc);
    if (net->n >= 4) { /* a role step needs an agency with the role */
        json_array_append_new(esc, json_pack("{s:s, s:s, s:s}", "after", "2h", "target", "role",
                                             "role", "government"));
    }
    json_object_set_new(doc, "escalation", esc);
    return doc;
}

vt_net *
vt_net_new_unpublished(size_t n_agencies)
{
    assert_true(n_agencies >= 1 && n_agencies <= VT_AGENCIES_MAX);
    assert_true(sodium_init() >= 0);
    vt_net *net = calloc(1, sizeof *net);
    assert_non_null(net);
    net->n = n_agencies;
    for (size_t i = 0; i < n_agencies; i++) {
        if (i < 4) {
            snprintf(net->ids[i], VT_ID_MAX, "%s", s_named_ids[i]);
        } else {
            snprintf(net->ids[i], VT_ID_MAX, "agency-%02zu", i);
        }
        assert_int_equal(vg_keyset_generate(&net->keys[i], VG_KEY_ALL), VG_OK);
    }
    assert_int_equal(vg_keyset_generate(&net->admin, VG_KEY_SIGN), VG_OK);
    assert_int_equal(vg_keyset_generate(&net->broker, VG_KEY_SIGN | VG_KEY_CURVE), VG_OK);
    net->json = s_default_json(net);
    return net;
}

vt_net *
vt_net_new(size_t n_agencies)
{
    vt_net *net = vt_net_new_unpublished(n_agencies);
    vg_reason why = {{0}};
    vg_err err = vt_net_publish(net, 0, &why);
    if (err != VG_OK) {
        print_error("vt_net_publish: %s: %s\n", vg_err_code(err), why.text);
    }
    assert_int_equal(err, VG_OK);
    return net;
}

void
vt_net_destroy(vt_net **net_p)
{
    if (net_p == NULL || *net_p == NULL) {
        return;
    }
    vt_net *net = *net_p;
    for (size_t i = 0; i < net->n; i++) {
        vg_keyset_destroy(&net->keys[i]);
    }
    vg_keyset_destroy(&net->admin);
    vg_keyset_destroy(&net->broker);
    json_decref(net->json);
    free(net->body);
    free(net->signed_doc);
    vg_netdoc_destroy(&net->doc);
    free(net);
    *net_p = NULL;
}

char *
vt_net_json_text(const vt_net *net)
{
    char *text = json_dumps(net->json, JSON_COMPACT);
    assert_non_null(text);
    return text;
}

vg_err
vt_net_publish(vt_net *net, uint64_t version, vg_reason *why)
{
    char *text = vt_net_json_text(net);
    uint8_t *body = NULL, *signed_doc = NULL;
    size_t body_len = 0, signed_len = 0;
    vg_netdoc *doc = NULL;
    vg_err err = vg_netdoc_body_from_json(&body, &body_len, text, why);
    free(text);
    if (err != VG_OK) {
        return err;
    }
    err = vg_netdoc_sign(&signed_doc, &signed_len, body, body_len, version, net->admin, why);
    if (err != VG_OK) {
        free(body);
        return err;
    }
    err = vg_netdoc_verify(&doc, signed_doc, signed_len, vg_keyset_sign_pk(net->admin), 0, why);
    if (err != VG_OK) {
        free(body);
        free(signed_doc);
        return err;
    }
    free(net->body);
    free(net->signed_doc);
    vg_netdoc_destroy(&net->doc);
    net->body = body;
    net->body_len = body_len;
    net->signed_doc = signed_doc;
    net->signed_len = signed_len;
    net->doc = doc;
    return VG_OK;
}

json_t *
vt_net_agency_json(vt_net *net, const char *id)
{
    json_t *agencies = json_object_get(net->json, "agencies");
    size_t i;
    json_t *a;
    json_array_foreach(agencies, i, a)
    {
        if (strcmp(json_string_value(json_object_get(a, "id")), id) == 0) {
            return a;
        }
    }
    fail_msg("no agency %s in the test network", id);
    return NULL;
}

void
vt_net_revoke(vt_net *net, const char *id)
{
    json_object_set_new(vt_net_agency_json(net, id), "revoked", json_true());
    uint64_t next = vg_netdoc_version(net->doc) + 1;
    json_object_set_new(net->json, "version", json_integer((json_int_t)next));
    vg_reason why = {{0}};
    vg_err err = vt_net_publish(net, 0, &why);
    if (err != VG_OK) {
        print_error("revoke %s: %s: %s\n", id, vg_err_code(err), why.text);
    }
    assert_int_equal(err, VG_OK);
    assert_int_equal(vg_netdoc_version(net->doc), next);
}

void
vt_net_republish(vt_net *net)
{
    uint64_t next = vg_netdoc_version(net->doc) + 1;
    json_object_set_new(net->json, "version", json_integer((json_int_t)next));
    vg_reason why = {{0}};
    vg_err err = vt_net_publish(net, 0, &why);
    if (err != VG_OK) {
        print_error("publish version %llu: %s: %s\n", (unsigned long long)next, vg_err_code(err),
                    why.text);
    }
    assert_int_equal(err, VG_OK);
}

vg_keyset *
vt_net_rotate(vt_net *net, const char *id, int64_t rotated_ms, int64_t valid_until_ms)
{
    size_t i = 0;
    while (i < net->n && strcmp(net->ids[i], id) != 0) {
        i++;
    }
    if (i == net->n) {
        fail_msg("no agency %s in the test network", id);
    }
    vg_keyset *old = net->keys[i];
    assert_int_equal(vg_keyset_generate(&net->keys[i], VG_KEY_ALL), VG_OK);
    json_t *card = vt_net_agency_json(net, id);
    json_t *prev = json_object();
    json_object_set_new(prev, "sign_key", s_hex_json(vg_keyset_sign_pk(old), VG_SIGN_PK_LEN));
    json_object_set_new(prev, "box_key", s_hex_json(vg_keyset_box_pk(old), VG_BOX_PK_LEN));
    json_object_set_new(prev, "transport_key", json_string(vg_keyset_curve_pk_z85(old)));
    json_object_set_new(prev, "rotated", json_integer((json_int_t)rotated_ms));
    json_object_set_new(prev, "valid_until", json_integer((json_int_t)valid_until_ms));
    json_t *list = json_object_get(card, "previous_keys");
    if (list == NULL) {
        list = json_array();
        json_object_set_new(card, "previous_keys", list);
    }
    json_array_append_new(list, prev);
    const vg_keyset *ks = net->keys[i];
    json_object_set_new(card, "sign_key", s_hex_json(vg_keyset_sign_pk(ks), VG_SIGN_PK_LEN));
    json_object_set_new(card, "box_key", s_hex_json(vg_keyset_box_pk(ks), VG_BOX_PK_LEN));
    json_object_set_new(card, "transport_key", json_string(vg_keyset_curve_pk_z85(ks)));
    vt_net_republish(net);
    return old;
}

const vg_keyset *
vt_net_keys(const vt_net *net, const char *id)
{
    for (size_t i = 0; i < net->n; i++) {
        if (strcmp(net->ids[i], id) == 0) {
            return net->keys[i];
        }
    }
    fail_msg("no agency %s in the test network", id);
    return NULL;
}

void
vt_net_set_policy(vt_net *net, const char *policy_json)
{
    json_error_t jerr;
    json_t *p = json_loads(policy_json, 0, &jerr);
    if (p == NULL) {
        fail_msg("bad policy JSON in test: %s", jerr.text);
    }
    json_object_set_new(net->json, "policy", p);
}

/* ---- alerts ------------------------------------------------------------- */

static char *
s_dup(const char *s)
{
    char *d = vg_strdup(s);
    assert_non_null(d);
    return d;
}

void
vt_alert_sample(vg_alert *a, const char *const *recipients, size_t n_recipients)
{
    memset(a, 0, sizeof *a);
    a->status = VG_STATUS_EXERCISE;
    a->msg_type = VG_MSG_UPDATE;
    a->severity = VG_SEV_HIGH;
    a->urgency = VG_URG_IMMEDIATE;
    assert_int_equal(vg_strlist_add(&a->categories, "taxi"), VG_OK);
    assert_int_equal(vg_strlist_add(&a->categories, "cse"), VG_OK);
    for (size_t i = 0; i < n_recipients; i++) {
        assert_int_equal(vg_strlist_add(&a->recipients, recipients[i]), VG_OK);
    }
    a->n_references = 2;
    a->references = calloc(2, VG_ALERT_ID_LEN);
    assert_non_null(a->references);
    for (size_t i = 0; i < VG_ALERT_ID_LEN; i++) {
        a->references[0][i] = (uint8_t)(0xa0 + i);
        a->references[1][i] = (uint8_t)(0x10 + 3 * i);
    }
    a->event = s_dup("Child sexual exploitation");
    a->certainty = VG_CERT_LIKELY;
    a->headline = s_dup("Taxi driver linked to exploitation of looked-after children");
    a->description = s_dup("Three independent reports name the same private-hire driver "
                           "collecting children from a care home at night. Caf\xc3\xa9 "
                           "staff saw the vehicle twice. Line two.\nLine three.");
    a->instruction = s_dup("Licensing: review the licence today. Children's services: "
                           "safeguarding strategy meeting within 24 hours.");
    a->n_areas = 2;
    a->areas = calloc(2, sizeof *a->areas);
    assert_non_null(a->areas);
    a->areas[0].desc = s_dup("Rotherham town centre");
    assert_int_equal(vg_strlist_add(&a->areas[0].geocodes, "ons:E08000018"), VG_OK);
    assert_int_equal(vg_strlist_add(&a->areas[0].geocodes, "postcode:S60 1AE"), VG_OK);
    a->areas[1].desc = s_dup("Sheffield Road taxi rank");
    a->expires_ms = VT_ISSUED_MS + 86400000;
    assert_int_equal(vg_strlist_add(&a->incidents, "rotherham-2002"), VG_OK);
    assert_int_equal(vg_strlist_add(&a->incidents, "rotherham-2006"), VG_OK);
    a->n_subjects = 2;
    a->subjects = calloc(2, sizeof *a->subjects);
    assert_non_null(a->subjects);
    a->subjects[0].scheme = s_dup("vehicle-reg");
    a->subjects[0].value = s_dup("YX12 ABC");
    a->subjects[1].scheme = s_dup("taxi-licence");
    a->subjects[1].value = s_dup("PH-0421");
    a->sender_name = s_dup("DS Example, Public Protection Unit");
    a->contact = s_dup("ppu@police.example");
    a->web = s_dup("https://police.example/cases/0421");
    a->language = s_dup("cy-GB");
}

void
vt_alert_fini(vg_alert *a)
{
    vg_strlist_fini(&a->categories);
    vg_strlist_fini(&a->recipients);
    vg_strlist_fini(&a->incidents);
    free(a->references);
    free(a->sender);
    free(a->event);
    free(a->headline);
    free(a->description);
    free(a->instruction);
    for (size_t i = 0; i < a->n_areas; i++) {
        free(a->areas[i].desc);
        vg_strlist_fini(&a->areas[i].geocodes);
    }
    free(a->areas);
    for (size_t i = 0; i < a->n_subjects; i++) {
        free(a->subjects[i].scheme);
        free(a->subjects[i].value);
    }
    free(a->subjects);
    free(a->sender_name);
    free(a->contact);
    free(a->web);
    free(a->language);
    memset(a, 0, sizeof *a);
}

static void
s_assert_str(const char *want, const char *got)
{
    assert_string_equal(want ? want : "", got ? got : "");
}

static void
s_assert_strlist(const vg_strlist *want, const vg_strlist *got)
{
    assert_int_equal(want->n, got->n);
    for (size_t i = 0; i < want->n; i++) {
        assert_string_equal(want->items[i], got->items[i]);
    }
}

void
vt_alert_assert_same(const vg_alert *sent, const vg_alert *got)
{
    assert_int_equal(got->status, sent->status ? sent->status : VG_STATUS_ACTUAL);
    assert_int_equal(got->msg_type, sent->msg_type ? sent->msg_type : VG_MSG_ALERT);
    assert_int_equal(got->severity, sent->severity);
    assert_int_equal(got->urgency, sent->urgency ? sent->urgency : VG_URG_UNKNOWN);
    s_assert_strlist(&sent->categories, &got->categories);
    s_assert_strlist(&sent->recipients, &got->recipients);
    assert_int_equal(got->n_references, sent->n_references);
    if (sent->n_references > 0) {
        assert_non_null(got->references);
        assert_memory_equal(got->references, sent->references,
                            sent->n_references * VG_ALERT_ID_LEN);
    }
    s_assert_str(sent->event, got->event);
    assert_int_equal(got->certainty, sent->certainty ? sent->certainty : VG_CERT_UNKNOWN);
    s_assert_str(sent->headline, got->headline);
    s_assert_str(sent->description, got->description);
    s_assert_str(sent->instruction, got->instruction);
    assert_int_equal(got->n_areas, sent->n_areas);
    for (size_t i = 0; i < sent->n_areas; i++) {
        s_assert_str(sent->areas[i].desc, got->areas[i].desc);
        s_assert_strlist(&sent->areas[i].geocodes, &got->areas[i].geocodes);
    }
    assert_int_equal(got->expires_ms, sent->expires_ms);
    s_assert_strlist(&sent->incidents, &got->incidents);
    assert_int_equal(got->n_subjects, sent->n_subjects);
    for (size_t i = 0; i < sent->n_subjects; i++) {
        s_assert_str(sent->subjects[i].scheme, got->subjects[i].scheme);
        s_assert_str(sent->subjects[i].value, got->subjects[i].value);
    }
    s_assert_str(sent->sender_name, got->sender_name);
    s_assert_str(sent->contact, got->contact);
    s_assert_str(sent->web, got->web);
    s_assert_str(sent->language ? sent->language : "en-GB", got->language);
}

vg_seal_params
vt_seal_params(const vt_net *net, const char *sender)
{
    vg_seal_params p = {
        .doc = net->doc,
        .sender = sender,
        .keys = vt_net_keys(net, sender),
        .sequence = 1,
        .created_ms = VT_ISSUED_MS + 1000,
        .alert_id = NULL,
    };
    return p;
}

void
vt_seal_sample(uint8_t **out, size_t *out_len, const vt_net *net, const char *sender,
               const char *const *recipients, size_t n_recipients, const char *const *categories,
               size_t n_categories)
{
    vg_alert a;
    vt_alert_sample(&a, recipients, n_recipients);
    if (categories != NULL) {
        vg_strlist_fini(&a.categories);
        for (size_t i = 0; i < n_categories; i++) {
            assert_int_equal(vg_strlist_add(&a.categories, categories[i]), VG_OK);
        }
    }
    vg_seal_params p = vt_seal_params(net, sender);
    vg_reason why = {{0}};
    vg_err err = vg_envelope_seal(out, out_len, NULL, &a, &p, &why);
    if (err != VG_OK) {
        print_error("seal: %s: %s\n", vg_err_code(err), why.text);
    }
    assert_int_equal(err, VG_OK);
    vt_alert_fini(&a);
}

/* ---- signed-message layout ---------------------------------------------- */

static uint64_t
s_varint(const uint8_t *buf, size_t len, size_t *pos)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        assert_true(*pos < len);
        uint8_t b = buf[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            return v;
        }
    }
    fail_msg("varint too long");
    return 0;
}

void
vt_layout_of(vt_layout *out, const uint8_t *buf, size_t len)
{
    memset(out, 0, sizeof *out);
    size_t pos = 0;
    while (pos < len) {
        uint64_t tag = s_varint(buf, len, &pos);
        uint64_t field = tag >> 3;
        unsigned wt = (unsigned)(tag & 7);
        if (wt == 0) {
            (void)s_varint(buf, len, &pos);
            continue;
        }
        assert_int_equal(wt, 2);
        uint64_t n = s_varint(buf, len, &pos);
        assert_true(n <= len - pos);
        if (field == 1) {
            out->body_off = pos;
            out->body_len = (size_t)n;
        } else if (field == 2) {
            out->sig_off = pos;
            out->sig_len = (size_t)n;
        } else if (field == 3) {
            out->signer_off = pos;
            out->signer_len = (size_t)n;
        }
        pos += (size_t)n;
    }
    assert_true(out->body_len > 0);
    assert_int_equal(out->sig_len, VG_SIGNATURE_LEN);
}

vt_region
vt_region_at(const vt_layout *l, size_t pos)
{
    if (pos >= l->body_off && pos < l->body_off + l->body_len) {
        return VT_REGION_BODY;
    }
    if (pos >= l->sig_off && pos < l->sig_off + l->sig_len) {
        return VT_REGION_SIGNATURE;
    }
    if (l->signer_len > 0 && pos >= l->signer_off && pos < l->signer_off + l->signer_len) {
        return VT_REGION_SIGNER;
    }
    return VT_REGION_FRAMING;
}

bool
vt_reason_has(const vg_reason *why, const char *needle)
{
    return strstr(why->text, needle) != NULL;
}

vg_keyset *
vt_fixed_keys(const char *dir, uint8_t fill)
{
    uint8_t seed[32], pk[32], sk[64];
    memset(seed, fill, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
    char hex[129], text[256];
    vg_hex_encode(hex, sizeof hex, sk, sizeof sk);
    snprintf(text, sizeof text, "vigil-secret-keys 1\nsign-secret %s\nend\n", hex);
    char *path = vt_path(dir, "fixed.key");
    vt_write_file(path, text, strlen(text), 0600);
    vg_keyset *ks = NULL;
    assert_int_equal(vg_keyset_load(&ks, path, NULL), VG_OK);
    free(path);
    sodium_memzero(sk, sizeof sk);
    return ks;
}
