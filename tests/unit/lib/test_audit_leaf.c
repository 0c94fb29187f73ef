/* test_audit_leaf.c — vigil/audit_leaf.h: the canonical leaf encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/audit_leaf.h"
#include "vigil/util.h"

#define HASH_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define ALERT_HEX "00112233445566778899aabbccddeeff"

/* The golden accepted leaf: pins the format of docs/audit.md. */
static const char s_accepted[] = "vigil-audit/1\n"
                                 "index=41\n"
                                 "kind=accepted\n"
                                 "time_ms=1796000001000\n"
                                 "alert=" ALERT_HEX "\n"
                                 "sender=police\n"
                                 "envelope_hash=" HASH_HEX "\n"
                                 "recipients=childrens-services,licensing,police\n"
                                 "network_version=3\n";

/* The leaf as a C string (leaves are not NUL-terminated); free() it. */
static char *
s_cstr(const uint8_t *leaf, size_t len)
{
    char *s = malloc(len + 1);
    assert_non_null(s);
    memcpy(s, leaf, len);
    s[len] = '\0';
    return s;
}

static void
s_base(vg_audit_event *ev, vg_audit_kind kind)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    ev->index = 41;
    ev->time_ms = UINT64_C(1796000001000);
    ev->has_alert_id = true;
    assert_int_equal(vg_hex_decode(ev->alert_id, sizeof ev->alert_id, ALERT_HEX), VG_OK);
    assert_int_equal(vg_hex_decode(ev->hash, sizeof ev->hash, HASH_HEX), VG_OK);
}

/* A fully populated event of each kind. */
static void
s_sample(vg_audit_event *ev, vg_audit_kind kind)
{
    s_base(ev, kind);
    strcpy(ev->sender, "police");
    strcpy(ev->agency, "licensing");
    strcpy(ev->code, "bad_signature");
    strcpy(ev->transport, "agency-07");
    strcpy(ev->target, "home-office");
    ev->version = 3;
    ev->deadline_ms = UINT64_C(1796000002000);
    ev->level = 2;
    ev->pending = 17;
    ev->alerts = malloc(3 * sizeof *ev->alerts);
    assert_non_null(ev->alerts);
    ev->n_alerts = 3;
    for (size_t i = 0; i < 3; i++) { /* 0x33.., 0x22.., 0x11..: unsorted */
        memset(ev->alerts[i], (int)(0x33 - 0x11 * i), VG_ALERT_ID_LEN);
    }
    /* Deliberately unsorted: the encoder sorts. */
    assert_int_equal(vg_strlist_add(&ev->agencies, "police"), VG_OK);
    assert_int_equal(vg_strlist_add(&ev->agencies, "licensing"), VG_OK);
    assert_int_equal(vg_strlist_add(&ev->agencies, "childrens-services"), VG_OK);
}

static const vg_audit_kind s_all[] = {
    VG_AUDIT_ACCEPTED,    VG_AUDIT_REJECTED,       VG_AUDIT_DELIVERED,     VG_AUDIT_ACKNOWLEDGED,
    VG_AUDIT_IN_PROGRESS, VG_AUDIT_DECLINED,       VG_AUDIT_SHARED,        VG_AUDIT_OVERDUE,
    VG_AUDIT_ESCALATED,   VG_AUDIT_AGENCY_OFFLINE, VG_AUDIT_AGENCY_ONLINE, VG_AUDIT_NETWORK_CHANGED,
};
#define N_KINDS (sizeof s_all / sizeof s_all[0])

static void
accepted_golden_leaf(void **state)
{
    (void)state;
    vg_audit_event ev;
    s_sample(&ev, VG_AUDIT_ACCEPTED);
    uint8_t *leaf = NULL;
    size_t len = 0;
    assert_int_equal(vg_audit_leaf_encode(&leaf, &len, &ev, NULL), VG_OK);
    assert_int_equal(len, strlen(s_accepted));
    assert_memory_equal(leaf, s_accepted, len);
    free(leaf);
    vg_audit_event_fini(&ev);
}

/* encode -> parse -> encode gives the same bytes, for every kind. */
static void
every_kind_round_trips(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_KINDS; i++) {
        vg_audit_event ev, back;
        s_sample(&ev, s_all[i]);
        uint8_t *leaf = NULL, *again = NULL;
        size_t len = 0, len2 = 0;
        assert_int_equal(vg_audit_leaf_encode(&leaf, &len, &ev, NULL), VG_OK);
        assert_int_equal(vg_audit_leaf_parse(&back, leaf, len, NULL), VG_OK);
        assert_int_equal(back.kind, s_all[i]);
        assert_int_equal(back.index, 41);
        assert_int_equal(back.time_ms, ev.time_ms);
        assert_int_equal(vg_audit_leaf_encode(&again, &len2, &back, NULL), VG_OK);
        assert_int_equal(len, len2);
        assert_memory_equal(leaf, again, len);
        char kind_line[64];
        snprintf(kind_line, sizeof kind_line, "\nkind=%s\n", vg_audit_kind_name(s_all[i]));
        char *text = s_cstr(leaf, len);
        assert_non_null(strstr(text, kind_line));
        free(text);
        free(leaf);
        free(again);
        vg_audit_event_fini(&ev);
        vg_audit_event_fini(&back);
    }
}

/* One leaf per DELIVERED receipt: its hash and the alerts it recorded, sorted. */
static void
delivered_lists_alerts_sorted(void **state)
{
    (void)state;
    vg_audit_event ev, back;
    s_sample(&ev, VG_AUDIT_DELIVERED);
    uint8_t *leaf = NULL;
    size_t len = 0;
    assert_int_equal(vg_audit_leaf_encode(&leaf, &len, &ev, NULL), VG_OK);
    static const char want[] = "vigil-audit/1\n"
                               "index=41\n"
                               "kind=delivered\n"
                               "time_ms=1796000001000\n"
                               "agency=licensing\n"
                               "receipt_hash=" HASH_HEX "\n"
                               "alerts=11111111111111111111111111111111,"
                               "22222222222222222222222222222222,"
                               "33333333333333333333333333333333\n";
    assert_int_equal(len, strlen(want));
    assert_memory_equal(leaf, want, len);
    assert_int_equal(vg_audit_leaf_parse(&back, leaf, len, NULL), VG_OK);
    assert_int_equal(back.n_alerts, 3);
    assert_false(back.has_alert_id);
    uint8_t id[VG_ALERT_ID_LEN];
    memset(id, 0x22, sizeof id);
    assert_true(vg_audit_event_names(&back, id));
    memset(id, 0x44, sizeof id);
    assert_false(vg_audit_event_names(&back, id));
    vg_audit_event_fini(&back);
    free(leaf);

    /* the parser takes only the sorted, lowercase, duplicate-free form */
    char *text = s_cstr((const uint8_t *)want, strlen(want));
    static const char *bad[][2] = {
        {"alerts=1111", "alerts=4444"}, /* unsorted */
        {"11111111111111111111111111111111,22222222222222222222222222222222",
         "22222222222222222222222222222222,11111111111111111111111111111111"},      /* swapped */
        {",33333333333333333333333333333333", ",22222222222222222222222222222222"}, /* duplicate */
        {"alerts=11111111111111111111111111111111",
         "alerts=1111111111111111111111111111111A"}, /* uppercase */
        {"alerts=11111111111111111111111111111111",
         "alerts=111111111111111111111111111111"}, /* short */
        {"33333333333333333333333333333333\n",
         "33333333333333333333333333333333,\n"}, /* trailing comma */
        {"alerts=11111111111111111111111111111111,22222222222222222222222222222222,"
         "33333333333333333333333333333333",
         "alerts="}, /* empty */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *p = strstr(text, bad[i][0]);
        assert_non_null(p);
        size_t pre = (size_t)(p - text);
        size_t need = strlen(text) - strlen(bad[i][0]) + strlen(bad[i][1]) + 1;
        char *edit = malloc(need);
        assert_non_null(edit);
        snprintf(edit, need, "%.*s%s%s", (int)pre, text, bad[i][1], p + strlen(bad[i][0]));
        vg_reason why = {""};
        assert_int_equal(vg_audit_leaf_parse(&back, (const uint8_t *)edit, strlen(edit), &why),
                         VG_ERR_MALFORMED);
        assert_non_null(strstr(why.text, "line 7"));
        free(edit);
    }
    free(text);

    /* the encoder refuses an empty list, a repeated alert and too many alerts */
    ev.n_alerts = 0;
    assert_int_equal(vg_audit_leaf_encode(&leaf, &len, &ev, NULL), VG_ERR_INVALID);
    ev.n_alerts = 3;
    memcpy(ev.alerts[2], ev.alerts[0], VG_ALERT_ID_LEN);
    assert_int_equal(vg_audit_leaf_encode(&leaf, &len, &ev, NULL), VG_ERR_INVALID);
    free(ev.alerts);
    ev.alerts = calloc(VG_AUDIT_ALERTS_MAX + 1, sizeof *ev.alerts);
    assert_non_null(ev.alerts);
    for (size_t i = 0; i <= VG_AUDIT_ALERTS_MAX; i++) {
        memcpy(ev.alerts[i], &i, sizeof i);
    }
    ev.n_alerts = VG_AUDIT_ALERTS_MAX;
    assert_int_equal(vg_audit_leaf_encode(&leaf, &len, &ev, NULL), VG_OK); /* the most: fits */
    assert_int_equal(vg_audit_leaf_parse(&back, leaf, len, NULL), VG_OK);
    assert_int_equal(back.n_alerts, VG_AUDIT_ALERTS_MAX);
    vg_audit_event_fini(&back);
    free(leaf);
    leaf = NULL;
    ev.n_alerts = VG_AUDIT_ALERTS_MAX + 1;
    assert_int_equal(vg_audit_leaf_encode(&leaf, &len, &ev, NULL), VG_ERR_INVALID);
    assert_null(leaf);
    vg_audit_event_fini(&ev);
}

static void
rejected_without_alert_or_sender(void **state)
{
    (void)state;
    vg_audit_event ev, back;
    s_base(&ev, VG_AUDIT_REJECTED);
    ev.has_alert_id = false;
    strcpy(ev.code, "malformed");
    strcpy(ev.transport, "police");
    uint8_t *leaf = NULL;
    size_t len = 0;
    assert_int_equal(vg_audit_leaf_encode(&leaf, &len, &ev, NULL), VG_OK);
    char *text = s_cstr(leaf, len);
    assert_non_null(strstr(text, "\nclaimed_sender=\ntransport=police\nalert=\n"));
    free(text);
    assert_int_equal(vg_audit_leaf_parse(&back, leaf, len, NULL), VG_OK);
    assert_false(back.has_alert_id);
    assert_string_equal(back.sender, "");
    assert_string_equal(back.code, "malformed");
    free(leaf);
    vg_audit_event_fini(&back);
}

/* Parses text (a modified golden leaf) and expects VG_ERR_MALFORMED. */
static void
s_expect_malformed(const char *text, const char *needle)
{
    vg_audit_event ev;
    vg_reason why = {""};
    vg_err rc = vg_audit_leaf_parse(&ev, (const uint8_t *)text, strlen(text), &why);
    if (rc != VG_ERR_MALFORMED) {
        fail_msg("parsed (%d) what it must refuse:\n%s", (int)rc, text);
    }
    if (needle != NULL && strstr(why.text, needle) == NULL) {
        fail_msg("reason '%s' lacks '%s'", why.text, needle);
    }
}

/* Replaces the first `from` in s_accepted by `to`. */
static char *
s_edit(const char *from, const char *to)
{
    const char *at = strstr(s_accepted, from);
    assert_non_null(at);
    char *out = malloc(sizeof s_accepted + strlen(to));
    assert_non_null(out);
    size_t head = (size_t)(at - s_accepted);
    memcpy(out, s_accepted, head);
    strcpy(out + head, to);
    strcat(out, at + strlen(from));
    return out;
}

static void
parse_is_strict(void **state)
{
    (void)state;
    static const char *const edits[][3] = {
        {"sender=police\n", "sender=police\nextra=1\n", "line 7"}, /* unknown key */
        {"sender=police\nenvelope_hash=" HASH_HEX "\n",
         "envelope_hash=" HASH_HEX "\nsender=police\n", "wrong order"},          /* swapped lines */
        {"network_version=3\n", "network_version=3\nextra=1\n", "after"},        /* trailing line */
        {"network_version=3\n", "network_version=3", "line 9"},                  /* no newline */
        {"network_version=3\n", "", "line 9"},                                   /* missing line */
        {"vigil-audit/1", "vigil-audit/2", "line 1"},                            /* magic */
        {"kind=accepted", "kind=exploded", "unknown kind"},                      /* kind */
        {"index=41", "index=041", "index"},                                      /* leading zero */
        {"index=41", "index=18446744073709551616", "index"},                     /* overflow */
        {"index=41", "index=-1", "index"},                                       /* sign */
        {"alert=00112233", "alert=00112233445566778899AABBCCDDEEFF00", "alert"}, /* length */
        {"=" ALERT_HEX, "=00112233445566778899AABBCCDDEEFF", "alert"},           /* upper case */
        {"childrens-services,licensing", "licensing,childrens-services", "sorted"},
        {"childrens-services,licensing", "licensing,licensing", "sorted"}, /* duplicate */
        {"childrens-services,licensing", "childrens-services,,licensing", "item"},
        {"sender=police", "sender=", "sender"},        /* required name */
        {"sender=police", "sender=pol ice", "sender"}, /* space */
        {"kind=accepted", "kind =accepted", "kind"},   /* spaces */
        {"time_ms=", "time-ms=", "time_ms"},           /* key spelling */
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char *text = s_edit(edits[i][0], edits[i][1]);
        s_expect_malformed(text, edits[i][2]);
        free(text);
    }
    s_expect_malformed("", "line 1");
}

static void
parse_refuses_oversized(void **state)
{
    (void)state;
    size_t big = VG_AUDIT_LEAF_MAX_BYTES + 1;
    uint8_t *buf = calloc(1, big);
    assert_non_null(buf);
    vg_audit_event ev;
    assert_int_equal(vg_audit_leaf_parse(&ev, buf, big, NULL), VG_ERR_TOO_LARGE);
    free(buf);
}

static void
encode_refuses_invalid_events(void **state)
{
    (void)state;
    uint8_t *leaf = NULL;
    size_t len = 0;
    vg_audit_event ev;
    vg_reason why = {""};
    s_base(&ev, VG_AUDIT_DELIVERED); /* no agency */
    assert_int_equal(vg_audit_leaf_encode(&leaf, &len, &ev, &why), VG_ERR_INVALID);
    assert_non_null(strstr(why.text, "agency"));
    strcpy(ev.agency, "a,b");
    assert_int_equal(vg_audit_leaf_encode(&leaf, &len, &ev, NULL), VG_ERR_INVALID);
    strcpy(ev.agency, "licensing");
    ev.has_alert_id = false;
    assert_int_equal(vg_audit_leaf_encode(&leaf, &len, &ev, NULL), VG_ERR_INVALID);
    s_sample(&ev, VG_AUDIT_ACCEPTED);
    assert_int_equal(vg_strlist_add(&ev.agencies, "police"), VG_OK); /* duplicate */
    assert_int_equal(vg_audit_leaf_encode(&leaf, &len, &ev, NULL), VG_ERR_INVALID);
    vg_audit_event_fini(&ev);
    s_sample(&ev, VG_AUDIT_SHARED);
    vg_strlist_fini(&ev.agencies); /* shared to nobody */
    assert_int_equal(vg_audit_leaf_encode(&leaf, &len, &ev, NULL), VG_ERR_INVALID);
    ev.kind = (vg_audit_kind)12; /* COMPLETE is not logged */
    assert_int_equal(vg_audit_leaf_encode(&leaf, &len, &ev, NULL), VG_ERR_INVALID);
    assert_null(leaf);
    assert_null(vg_audit_kind_name((vg_audit_kind)12));
    vg_audit_event_fini(&ev);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepted_golden_leaf),
        cmocka_unit_test(every_kind_round_trips),
        cmocka_unit_test(delivered_lists_alerts_sorted),
        cmocka_unit_test(rejected_without_alert_or_sender),
        cmocka_unit_test(parse_is_strict),
        cmocka_unit_test(parse_refuses_oversized),
        cmocka_unit_test(encode_refuses_invalid_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
