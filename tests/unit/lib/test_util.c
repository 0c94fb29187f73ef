/* test_util.c — vigil/util.h (plus the small err, wire and clock helpers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/clock.h"
#include "vigil/err.h"
#include "vigil/log.h"
#include "vigil/util.h"
#include "vigil/wire.h"
#include "vt.h"

/* ---- hex ---------------------------------------------------------------- */

static void
hex_encode_is_lowercase(void **state)
{
    (void)state;
    const uint8_t in[] = {0x00, 0x01, 0xab, 0xff, 0x7e};
    char out[11];
    vg_hex_encode(out, sizeof out, in, sizeof in);
    assert_string_equal(out, "0001abff7e");
}

static void
hex_decode_round_trip_either_case(void **state)
{
    (void)state;
    uint8_t out[5];
    assert_int_equal(vg_hex_decode(out, sizeof out, "0001ABff7E"), VG_OK);
    const uint8_t want[] = {0x00, 0x01, 0xab, 0xff, 0x7e};
    assert_memory_equal(out, want, sizeof want);
}

static void
hex_decode_wrong_length_is_malformed(void **state)
{
    (void)state;
    uint8_t out[4];
    assert_int_equal(vg_hex_decode(out, sizeof out, "0011223"), VG_ERR_MALFORMED);
    assert_int_equal(vg_hex_decode(out, sizeof out, "001122"), VG_ERR_MALFORMED);
    assert_int_equal(vg_hex_decode(out, sizeof out, "0011223344"), VG_ERR_MALFORMED);
    assert_int_equal(vg_hex_decode(out, sizeof out, ""), VG_ERR_MALFORMED);
}

static void
hex_decode_bad_character_is_malformed(void **state)
{
    (void)state;
    uint8_t out[4];
    assert_int_equal(vg_hex_decode(out, sizeof out, "0011223g"), VG_ERR_MALFORMED);
    assert_int_equal(vg_hex_decode(out, sizeof out, "00 11223"), VG_ERR_MALFORMED);
    assert_int_equal(vg_hex_decode(out, sizeof out, "-0112233"), VG_ERR_MALFORMED);
}

/* ---- durations ---------------------------------------------------------- */

static void
duration_parse_each_unit(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t ms;
    } cases[] = {
        {"250ms", 250},       {"5s", 5000},          {"15m", 900000},
        {"1h", 3600000},      {"3d", 259200000ULL},  {"0s", 0},
        {"90s", 90000},       {"72h", 259200000ULL}, {"1ms", 1},
        {"24h", 86400000ULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t ms = 12345;
        vg_reason why = {{0}};
        vg_err err = vg_duration_parse(&ms, cases[i].text, &why);
        if (err != VG_OK) {
            print_error("%s: %s\n", cases[i].text, why.text);
        }
        assert_int_equal(err, VG_OK);
        assert_int_equal(ms, cases[i].ms);
    }
}

static void
duration_parse_rejects_bad_text(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "5",
        "s",
        "ms",
        "5x",
        "5sec",
        "-5s",
        "1.5h",
        " 5s",
        "5s ",
        "5 s",
        "h1",
        "99999999999999999999d",
        "184467440737095517s",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t ms = 777;
        vg_reason why = {{0}};
        vg_err err = vg_duration_parse(&ms, bad[i], &why);
        if (err != VG_ERR_MALFORMED) {
            print_error("accepted or wrong code for \"%s\": %s\n", bad[i], vg_err_code(err));
        }
        assert_int_equal(err, VG_ERR_MALFORMED);
        assert_true(why.text[0] != '\0');
        assert_int_equal(ms, 777); /* out written only on success */
    }
}

static void
size_parse_and_format(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t bytes;
    } ok[] = {{"0", 0},
              {"65536", 65536},
              {"64KiB", 65536},
              {"1MiB", 1048576},
              {"1GiB", 1073741824ull},
              {"7B", 7},
              {"3GiB", 3221225472ull}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t b = 1;
        assert_int_equal(vg_size_parse(&b, ok[i].text, NULL), VG_OK);
        assert_true(b == ok[i].bytes);
    }
    static const char *const bad[] = {
        "", "KiB", "64kb", "64 KiB", "-1", "1TiB", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t b = 0;
        vg_reason why = {{0}};
        assert_int_equal(vg_size_parse(&b, bad[i], &why), VG_ERR_MALFORMED);
        assert_true(why.text[0] != '\0');
    }
    char out[32];
    vg_size_format(out, sizeof out, 65536);
    assert_string_equal(out, "64KiB");
    vg_size_format(out, sizeof out, 1073741824ull);
    assert_string_equal(out, "1GiB");
    vg_size_format(out, sizeof out, 1000);
    assert_string_equal(out, "1000B");
}

static void
duration_format_largest_exact_unit(void **state)
{
    (void)state;
    char out[32];
    vg_duration_format(out, sizeof out, 90000);
    assert_string_equal(out, "90s");
    vg_duration_format(out, sizeof out, 900000);
    assert_string_equal(out, "15m");
    vg_duration_format(out, sizeof out, 3600000);
    assert_string_equal(out, "1h");
    vg_duration_format(out, sizeof out, 250);
    assert_string_equal(out, "250ms");
    vg_duration_format(out, sizeof out, 259200000ULL);
    assert_string_equal(out, "3d");
    vg_duration_format(out, sizeof out, 5400000);
    assert_string_equal(out, "90m");
}

static void
duration_format_parses_back(void **state)
{
    (void)state;
    const uint64_t values[] = {1, 999, 1001, 60000, 61000, 7200000, 86400000ULL, 90061001};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char out[32];
        uint64_t back = 0;
        vg_duration_format(out, sizeof out, values[i]);
        assert_int_equal(vg_duration_parse(&back, out, NULL), VG_OK);
        assert_int_equal(back, values[i]);
    }
}

/* ---- strlist ------------------------------------------------------------ */

static void
strlist_add_contains_and_fini(void **state)
{
    (void)state;
    vg_strlist l = {0};
    assert_int_equal(vg_strlist_add(&l, "police"), VG_OK);
    assert_int_equal(vg_strlist_add(&l, "licensing"), VG_OK);
    assert_int_equal(vg_strlist_add(&l, "police"), VG_OK);
    assert_int_equal(l.n, 3);
    assert_true(vg_strlist_contains(&l, "licensing"));
    assert_false(vg_strlist_contains(&l, "home-office"));
    vg_strlist_fini(&l);
    assert_null(l.items);
    assert_int_equal(l.n, 0);
    assert_int_equal(l.cap, 0);
    vg_strlist_fini(&l);   /* twice is fine */
    vg_strlist_fini(NULL); /* NULL-safe */
}

static void
strlist_add_copies(void **state)
{
    (void)state;
    vg_strlist l = {0};
    char buf[16] = "police";
    assert_int_equal(vg_strlist_add(&l, buf), VG_OK);
    buf[0] = 'X';
    assert_string_equal(l.items[0], "police");
    vg_strlist_fini(&l);
}

static void
strlist_add_unique_skips_duplicates(void **state)
{
    (void)state;
    vg_strlist l = {0};
    assert_int_equal(vg_strlist_add_unique(&l, "a"), VG_OK);
    assert_int_equal(vg_strlist_add_unique(&l, "b"), VG_OK);
    assert_int_equal(vg_strlist_add_unique(&l, "a"), VG_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.items[0], "a");
    assert_string_equal(l.items[1], "b");
    vg_strlist_fini(&l);
}

static void
strlist_grows_past_many_items(void **state)
{
    (void)state;
    vg_strlist l = {0};
    char item[16];
    for (int i = 0; i < 1000; i++) {
        snprintf(item, sizeof item, "item-%d", i);
        assert_int_equal(vg_strlist_add(&l, item), VG_OK);
    }
    assert_int_equal(l.n, 1000);
    assert_string_equal(l.items[999], "item-999");
    vg_strlist_fini(&l);
}

static void
strlist_join(void **state)
{
    (void)state;
    vg_strlist l = {0};
    char out[64];
    vg_strlist_join(out, sizeof out, &l, ",");
    assert_string_equal(out, "");
    assert_int_equal(vg_strlist_add(&l, "a"), VG_OK);
    assert_int_equal(vg_strlist_add(&l, "bb"), VG_OK);
    assert_int_equal(vg_strlist_add(&l, "ccc"), VG_OK);
    vg_strlist_join(out, sizeof out, &l, ", ");
    assert_string_equal(out, "a, bb, ccc");
    vg_strlist_fini(&l);
}

static void
strlist_join_truncates_with_ellipsis(void **state)
{
    (void)state;
    vg_strlist l = {0};
    for (int i = 0; i < 20; i++) {
        assert_int_equal(vg_strlist_add(&l, "childrens-services"), VG_OK);
    }
    char out[40];
    memset(out, 'Z', sizeof out);
    vg_strlist_join(out, sizeof out, &l, ",");
    size_t n = strlen(out);
    assert_true(n < sizeof out);
    assert_true(n >= 3);
    assert_string_equal(out + n - 3, "...");
    vg_strlist_fini(&l);
}

static void
strlist_split_trims(void **state)
{
    (void)state;
    vg_strlist l = {0};
    assert_int_equal(vg_strlist_split(&l, " police, licensing ,childrens-services", NULL), VG_OK);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.items[0], "police");
    assert_string_equal(l.items[1], "licensing");
    assert_string_equal(l.items[2], "childrens-services");
    vg_strlist_fini(&l);
}

static void
strlist_split_single(void **state)
{
    (void)state;
    vg_strlist l = {0};
    assert_int_equal(vg_strlist_split(&l, "police", NULL), VG_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.items[0], "police");
    vg_strlist_fini(&l);
}

static void
strlist_split_empty_item_is_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {"a,,b", "a,", ",a", "a, ,b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vg_strlist l = {0};
        vg_reason why = {{0}};
        assert_int_equal(vg_strlist_split(&l, bad[i], &why), VG_ERR_MALFORMED);
        assert_true(why.text[0] != '\0');
        vg_strlist_fini(&l);
    }
}

static void
strdup_null_is_null(void **state)
{
    (void)state;
    assert_null(vg_strdup(NULL));
    char *d = vg_strdup("x");
    assert_string_equal(d, "x");
    free(d);
}

static void
agency_id_validity(void **state)
{
    (void)state;
    assert_true(vg_agency_id_is_valid("police"));
    assert_true(vg_agency_id_is_valid("childrens-services"));
    assert_true(vg_agency_id_is_valid("a"));
    assert_true(vg_agency_id_is_valid("south-yorkshire-police-2"));
    char max[64];
    memset(max, 'a', 63);
    max[63] = '\0';
    assert_true(vg_agency_id_is_valid(max));
    char over[65];
    memset(over, 'a', 64);
    over[64] = '\0';
    assert_false(vg_agency_id_is_valid(over));
    assert_false(vg_agency_id_is_valid(""));
    assert_false(vg_agency_id_is_valid("-police"));
    assert_false(vg_agency_id_is_valid("Police"));
    assert_false(vg_agency_id_is_valid("police force"));
    assert_false(vg_agency_id_is_valid("police_force"));
    assert_false(vg_agency_id_is_valid("police/x"));
    assert_false(vg_agency_id_is_valid("caf\xc3\xa9"));
}

/* ---- files -------------------------------------------------------------- */

static void
file_write_atomic_round_trip(void **state)
{
    (void)state;
    char *dir = vt_tmpdir_new();
    char *path = vt_path(dir, "data.bin");
    const char data[] = "hello\0world";
    assert_int_equal(vg_file_write_atomic(path, data, sizeof data, 0600, NULL), VG_OK);
    uint8_t *got = NULL;
    size_t len = 0;
    assert_int_equal(vg_file_read(&got, &len, path, 1024, NULL), VG_OK);
    assert_int_equal(len, sizeof data);
    assert_memory_equal(got, data, sizeof data);
    assert_int_equal(got[len], '\0');
    free(got);
    free(path);
    vt_tmpdir_destroy(&dir);
}

static void
s_assert_mode(mode_t mode)
{
    char *dir = vt_tmpdir_new();
    char *path = vt_path(dir, "f");
    mode_t old = umask(022);
    assert_int_equal(vg_file_write_atomic(path, "x", 1, mode, NULL), VG_OK);
    umask(old);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, mode);
    free(path);
    vt_tmpdir_destroy(&dir);
}

static void
file_write_atomic_mode_0600(void **state)
{
    (void)state;
    s_assert_mode(0600);
}

static void
file_write_atomic_mode_0644(void **state)
{
    (void)state;
    s_assert_mode(0644);
}

static void
file_write_atomic_mode_0400(void **state)
{
    (void)state;
    s_assert_mode(0400);
}

static void
file_write_atomic_replaces_and_leaves_no_temp(void **state)
{
    (void)state;
    char *dir = vt_tmpdir_new();
    char *path = vt_path(dir, "doc");
    vt_write_file(path, "old contents that are longer", 28, 0644);
    assert_int_equal(vg_file_write_atomic(path, "new", 3, 0600, NULL), VG_OK);
    size_t len = 0;
    uint8_t *got = vt_read_file(path, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(got, "new", 3);
    free(got);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* the new mode, not the old file's */
    char *tmp = vt_path(dir, "doc.tmp");
    assert_int_not_equal(access(tmp, F_OK), 0);
    free(tmp);
    free(path);
    vt_tmpdir_destroy(&dir);
}

static void
file_write_atomic_missing_dir_is_io(void **state)
{
    (void)state;
    vg_reason why = {{0}};
    assert_int_equal(vg_file_write_atomic("/tmp/vigil-no-such-dir-xyz/f", "x", 1, 0600, &why),
                     VG_ERR_IO);
    assert_true(why.text[0] != '\0');
}

static void
file_read_missing_is_not_found(void **state)
{
    (void)state;
    char *dir = vt_tmpdir_new();
    char *path = vt_path(dir, "absent");
    uint8_t *got = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    assert_int_equal(vg_file_read(&got, &len, path, 100, &why), VG_ERR_NOT_FOUND);
    assert_null(got);
    assert_true(why.text[0] != '\0');
    free(path);
    vt_tmpdir_destroy(&dir);
}

static void
file_read_too_large(void **state)
{
    (void)state;
    char *dir = vt_tmpdir_new();
    char *path = vt_path(dir, "big");
    char buf[101];
    memset(buf, 'x', sizeof buf);
    vt_write_file(path, buf, sizeof buf, 0600);
    uint8_t *got = NULL;
    size_t len = 0;
    assert_int_equal(vg_file_read(&got, &len, path, 100, NULL), VG_ERR_TOO_LARGE);
    assert_null(got);
    assert_int_equal(vg_file_read(&got, &len, path, 101, NULL), VG_OK);
    assert_int_equal(len, 101);
    free(got);
    free(path);
    vt_tmpdir_destroy(&dir);
}

static void
file_read_empty(void **state)
{
    (void)state;
    char *dir = vt_tmpdir_new();
    char *path = vt_path(dir, "empty");
    vt_write_file(path, "", 0, 0600);
    uint8_t *got = NULL;
    size_t len = 99;
    assert_int_equal(vg_file_read(&got, &len, path, 100, NULL), VG_OK);
    assert_int_equal(len, 0);
    assert_non_null(got);
    assert_int_equal(got[0], '\0');
    free(got);
    free(path);
    vt_tmpdir_destroy(&dir);
}

static void
mkdir_p_creates_parents(void **state)
{
    (void)state;
    char *dir = vt_tmpdir_new();
    char *deep = vt_path(dir, "a/b/c");
    assert_int_equal(vg_mkdir_p(deep, 0700, NULL), VG_OK);
    struct stat st;
    assert_int_equal(stat(deep, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(vg_mkdir_p(deep, 0700, NULL), VG_OK); /* exists: fine */
    free(deep);
    vt_tmpdir_destroy(&dir);
}

static void
path_relative_to_resolves_against_dirname(void **state)
{
    (void)state;
    char *p = vg_path_relative_to("/etc/vigil/agents/police/agent.conf", "keys/police.keys");
    assert_string_equal(p, "/etc/vigil/agents/police/keys/police.keys");
    free(p);
    p = vg_path_relative_to("/srv/net/broker/broker.conf", "../network.signed");
    assert_string_equal(p, "/srv/net/broker/../network.signed");
    free(p);
    p = vg_path_relative_to("net/agent.conf", "store");
    assert_string_equal(p, "net/store");
    free(p);
}

static void
path_relative_to_keeps_absolute(void **state)
{
    (void)state;
    char *p = vg_path_relative_to("/etc/vigil/agent.conf", "/var/lib/vigil/store");
    assert_string_equal(p, "/var/lib/vigil/store");
    free(p);
}

static void
path_relative_to_bare_base(void **state)
{
    (void)state;
    char *p = vg_path_relative_to("agent.conf", "store");
    assert_non_null(p);
    assert_true(strcmp(p, "store") == 0 || strcmp(p, "./store") == 0);
    free(p);
}

/* ---- err, wire, clock --------------------------------------------------- */

static void
err_names_are_stable(void **state)
{
    (void)state;
    assert_string_equal(vg_err_code(VG_OK), "ok");
    assert_string_equal(vg_err_code(VG_ERR_BAD_SIGNATURE), "bad_signature");
    assert_string_equal(vg_err_code(VG_ERR_MISSING_RECIPIENTS), "missing_recipients");
    assert_non_null(vg_strerror((vg_err)9999));
    assert_non_null(vg_err_code((vg_err)9999));
    assert_non_null(vg_strerror((vg_err)-1));
    for (int e = 0; e <= VG_ERR_DUPLICATE; e++) {
        assert_non_null(vg_strerror((vg_err)e));
        assert_true(vg_err_code((vg_err)e)[0] != '\0');
    }
}

static void
reason_set_returns_code_and_fills(void **state)
{
    (void)state;
    vg_reason why = {{0}};
    assert_int_equal(vg_reason_set(&why, VG_ERR_POLICY, "missing %s", "licensing"), VG_ERR_POLICY);
    assert_string_equal(why.text, "missing licensing");
    vg_reason_clear(&why);
    assert_string_equal(why.text, "");
    assert_int_equal(vg_reason_set(NULL, VG_ERR_IO, "x"), VG_ERR_IO);
}

static void
wire_names_and_parse(void **state)
{
    (void)state;
    assert_string_equal(vg_severity_name(VG_SEV_HIGH), "high");
    assert_string_equal(vg_severity_name((vg_severity)42), "unspecified");
    assert_string_equal(vg_status_name(VG_STATUS_EXERCISE), "exercise");
    assert_string_equal(vg_msg_type_name(VG_MSG_UPDATE), "update");
    assert_string_equal(vg_urgency_name(VG_URG_IMMEDIATE), "immediate");
    assert_string_equal(vg_receipt_kind_name(VG_RECEIPT_ACKNOWLEDGED), "acknowledged");
    vg_severity sev = VG_SEV_UNSPECIFIED;
    assert_int_equal(vg_severity_parse(&sev, "CRITICAL", NULL), VG_OK);
    assert_int_equal(sev, VG_SEV_CRITICAL);
    vg_reason why = {{0}};
    assert_int_equal(vg_severity_parse(&sev, "extreme", &why), VG_ERR_MALFORMED);
    assert_true(vt_reason_has(&why, "critical"));
    vg_urgency urg;
    assert_int_equal(vg_urgency_parse(&urg, "expected", NULL), VG_OK);
    assert_int_equal(urg, VG_URG_EXPECTED);
}

static void
wire_hash_is_blake2b_256(void **state)
{
    (void)state;
    uint8_t h[VG_HASH_LEN];
    char hex[2 * VG_HASH_LEN + 1];
    vg_hash(h, (const uint8_t *)"", 0);
    vg_hex_encode(hex, sizeof hex, h, sizeof h);
    assert_string_equal(hex, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

static void
wire_alert_id_hex_round_trip(void **state)
{
    (void)state;
    uint8_t id[VG_ALERT_ID_LEN], back[VG_ALERT_ID_LEN];
    for (size_t i = 0; i < sizeof id; i++) {
        id[i] = (uint8_t)(i * 17);
    }
    char hex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(hex, id);
    assert_int_equal(strlen(hex), VG_ALERT_ID_HEX_LEN);
    assert_int_equal(vg_alert_id_parse(back, hex, NULL), VG_OK);
    assert_memory_equal(back, id, sizeof id);
    vg_reason why = {{0}};
    assert_int_equal(vg_alert_id_parse(back, "abc", &why), VG_ERR_MALFORMED);
    assert_true(why.text[0] != '\0');
}

static void
time_format_rfc3339_ms(void **state)
{
    (void)state;
    char out[VG_TIME_STR_LEN];
    vg_time_format(out, sizeof out, 0);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    vg_time_format(out, sizeof out, INT64_C(1796000000123));
    assert_string_equal(out, "2026-11-30T00:53:20.123Z");
}

/* ---- log ---------------------------------------------------------------- */

typedef struct log_capture {
    int n;             /* lines received */
    vg_log_level last; /* level of the last line */
    char line[512];    /* the last line */
} log_capture;

static void
s_capture_sink(vg_log_level level, const char *line, void *ctx)
{
    log_capture *c = ctx;
    c->n++;
    c->last = level;
    snprintf(c->line, sizeof c->line, "%s", line);
}

static void
log_level_parse(void **state)
{
    (void)state;
    vg_log_level l = VG_LOG_ERROR;
    assert_int_equal(vg_log_level_parse(&l, "debug"), VG_OK);
    assert_int_equal(l, VG_LOG_DEBUG);
    assert_int_equal(vg_log_level_parse(&l, "WARN"), VG_OK);
    assert_int_equal(l, VG_LOG_WARN);
    assert_int_equal(vg_log_level_parse(&l, "verbose"), VG_ERR_MALFORMED);
    assert_int_equal(vg_log_level_parse(&l, ""), VG_ERR_MALFORMED);
    assert_int_equal(l, VG_LOG_WARN);
}

static void
log_line_format_and_level_filter(void **state)
{
    (void)state;
    log_capture c = {0};
    vg_log_set_sink(s_capture_sink, &c);
    vg_log_set_level(VG_LOG_WARN);
    vg_log(VG_LOG_INFO, "broker", "env.accept", "agency=%s", "police");
    assert_int_equal(c.n, 0);
    vg_log(VG_LOG_WARN, "broker", "env.reject", "agency=%s code=%s", "police", "replay");
    assert_int_equal(c.n, 1);
    assert_int_equal(c.last, VG_LOG_WARN);
    /* "<time> WARN broker env.reject agency=police code=replay" */
    const char *rest = strchr(c.line, ' ');
    assert_non_null(rest);
    assert_string_equal(rest, " WARN broker env.reject agency=police code=replay");
    assert_int_equal(rest - c.line, 24); /* 2026-11-29T10:00:00.123Z */
    assert_int_equal(c.line[23], 'Z');
    vg_log_set_sink(NULL, NULL);
    vg_log(VG_LOG_ERROR, "broker", "x", "%s", "");
    assert_int_equal(c.n, 1); /* no sink: dropped */
    vg_log_set_level(VG_LOG_INFO);
}

static void
clock_system_reads_real_clocks(void **state)
{
    (void)state;
    const vg_clock *c = vg_clock_system();
    assert_non_null(c);
    int64_t w = vg_clock_wall_ms(c);
    assert_true(w > INT64_C(1700000000000));
    int64_t m1 = vg_clock_mono_ms(c);
    int64_t m2 = vg_clock_mono_ms(c);
    assert_true(m2 >= m1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hex_encode_is_lowercase),
        cmocka_unit_test(hex_decode_round_trip_either_case),
        cmocka_unit_test(hex_decode_wrong_length_is_malformed),
        cmocka_unit_test(hex_decode_bad_character_is_malformed),
        cmocka_unit_test(duration_parse_each_unit),
        cmocka_unit_test(duration_parse_rejects_bad_text),
        cmocka_unit_test(size_parse_and_format),
        cmocka_unit_test(duration_format_largest_exact_unit),
        cmocka_unit_test(duration_format_parses_back),
        cmocka_unit_test(strlist_add_contains_and_fini),
        cmocka_unit_test(strlist_add_copies),
        cmocka_unit_test(strlist_add_unique_skips_duplicates),
        cmocka_unit_test(strlist_grows_past_many_items),
        cmocka_unit_test(strlist_join),
        cmocka_unit_test(strlist_join_truncates_with_ellipsis),
        cmocka_unit_test(strlist_split_trims),
        cmocka_unit_test(strlist_split_single),
        cmocka_unit_test(strlist_split_empty_item_is_malformed),
        cmocka_unit_test(strdup_null_is_null),
        cmocka_unit_test(agency_id_validity),
        cmocka_unit_test(file_write_atomic_round_trip),
        cmocka_unit_test(file_write_atomic_mode_0600),
        cmocka_unit_test(file_write_atomic_mode_0644),
        cmocka_unit_test(file_write_atomic_mode_0400),
        cmocka_unit_test(file_write_atomic_replaces_and_leaves_no_temp),
        cmocka_unit_test(file_write_atomic_missing_dir_is_io),
        cmocka_unit_test(file_read_missing_is_not_found),
        cmocka_unit_test(file_read_too_large),
        cmocka_unit_test(file_read_empty),
        cmocka_unit_test(mkdir_p_creates_parents),
        cmocka_unit_test(path_relative_to_resolves_against_dirname),
        cmocka_unit_test(path_relative_to_keeps_absolute),
        cmocka_unit_test(path_relative_to_bare_base),
        cmocka_unit_test(err_names_are_stable),
        cmocka_unit_test(reason_set_returns_code_and_fills),
        cmocka_unit_test(wire_names_and_parse),
        cmocka_unit_test(wire_hash_is_blake2b_256),
        cmocka_unit_test(wire_alert_id_hex_round_trip),
        cmocka_unit_test(time_format_rfc3339_ms),
        cmocka_unit_test(log_level_parse),
        cmocka_unit_test(log_line_format_and_level_filter),
        cmocka_unit_test(clock_system_reads_real_clocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
