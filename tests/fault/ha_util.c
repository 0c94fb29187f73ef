/* ha_util.c — two brokers on one PostgreSQL store for the fault tests (ha_util.h). */
#define _XOPEN_SOURCE 700

#include "ha_util.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "fault_util.h"
#include "itest.h"
#include "store.h"
#include "vigil/util.h"

char *
ha_read(const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    return vg_file_read(&data, &len, path, 64u << 20, NULL) == VG_OK ? (char *)data : NULL;
}

static void
s_append(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Lines of the log holding " id " (a message id) and needle (NULL: any). */
size_t
ha_count(const char *log, const char *id, const char *needle)
{
    char *text = ha_read(log);
    char key[96];
    snprintf(key, sizeof key, " %s ", id);
    size_t n = 0;
    for (char *line = text; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }
        n += strstr(line, key) != NULL && (needle == NULL || strstr(line, needle) != NULL);
        line = nl != NULL ? nl + 1 : NULL;
    }
    free(text);
    return n;
}

/* Waits until the log has more than `had` lines of id; false after ms. */
bool
ha_wait_log(const char *log, const char *id, size_t had, int64_t ms)
{
    int64_t end = bh_now_ms() + ms;
    while (ha_count(log, id, NULL) <= had) {
        if (bh_now_ms() >= end) {
            return false;
        }
        bh_sleep_ms(20);
    }
    return true;
}

void
ha_print_logs(const ha_pair *ha)
{
    for (int i = 0; i < 2; i++) {
        char *t = ha_read(ha->log[i]);
        print_error("---- broker %c log ----\n", 'A' + i);
        for (char *line = t; line != NULL && *line != '\0';) { /* cmocka's buffer is bounded */
            char *nl = strchr(line, '\n');
            int len = nl ? (int)(nl - line) : (int)strlen(line);
            print_error("%.*s\n", len, line);
            line = nl ? nl + 1 : NULL;
        }
        print_error("---- end of broker %c log ----\n", 'A' + i);
        free(t);
    }
    vt_pg_print_log(ha->pg, 8192);
}

void
ha_start(ha_pair *ha, int i)
{
    char bin[4096];
    snprintf(bin, sizeof bin, "%s/vigil-broker", VG_BIN_DIR);
    char *argv[] = {bin, "-c", ha->conf[i], NULL};
    ha->pid[i] = fu_spawn(argv, ha->log[i], NULL);
}

void
ha_kill(ha_pair *ha, int i)
{
    fu_kill(ha->pid[i]);
    ha->pid[i] = 0;
}

/* `vigilctl broker status -c conf[i]`: its output (free it). */
char *
ha_status(const ha_pair *ha, int i)
{
    it_run r;
    it_vigilctl(&r, "broker", "status", "-c", ha->conf[i]);
    char *out = vg_strdup(r.out ? r.out : "");
    it_run_fini(&r);
    return out;
}

void
ha_audit_verify(const ha_pair *ha, int i)
{
    it_run r;
    it_vigilctl(&r, "audit", "verify", "-c", ha->conf[i]);
    if (r.status != 0) {
        ha_print_logs(ha);
    }
    it_assert_ok(&r);
    it_run_fini(&r);
}

ha_pair *
ha_new(const char *const *conf_set)
{
    ha_pair *ha = calloc(1, sizeof *ha);
    assert_non_null(ha);
    ha->pg = vt_pg_start(NULL);
    char *owner = vt_pg_dsn(ha->pg, "vigil", "vigil_owner");
    vgb_store *s = NULL;
    vg_reason why = {{0}};
    assert_int_equal(vgb_store_open_dsn(&s, owner, &why), VG_OK); /* the schema, as migrate */
    vgb_store_destroy(&s);
    free(owner);
    ha->dsn = vt_pg_dsn(ha->pg, "vigil", "vigil_broker");
    ha->audit_dsn = vt_pg_dsn(ha->pg, "vigil", "vigil_audit");
    ha->h = bh_new(conf_set);
    snprintf(ha->endpoint[0], BH_ENDPOINT_MAX, "%s", ha->h->endpoint);
    snprintf(ha->endpoint[1], BH_ENDPOINT_MAX, "tcp://127.0.0.1:%d", vt_pg_free_port());
    ha->conf[0] = vg_strdup(ha->h->conf);
    ha->log[0] = vg_strdup(ha->h->log_path);
    ha->log[1] = it_path(ha->h->tmp, "broker-b.log");
    /* B: the same keys and document, its own endpoint and local files. */
    char *dir_b = it_path(ha->h->net, "broker-b");
    assert_int_equal(mkdir(dir_b, 0700), 0);
    ha->conf[1] = it_path(dir_b, "broker.conf");
    const char *files[] = {"broker.key", "network.signed"};
    for (size_t f = 0; f < 2; f++) {
        char src[4096], dst[4096];
        snprintf(src, sizeof src, "%s/broker/%s", ha->h->net, files[f]);
        snprintf(dst, sizeof dst, "%s/%s", dir_b, files[f]);
        uint8_t *data = NULL;
        size_t len = 0;
        assert_int_equal(vg_file_read(&data, &len, src, 1u << 20, NULL), VG_OK);
        assert_int_equal(vg_file_write_atomic(dst, data, len, 0600, &why), VG_OK);
        free(data);
    }
    char *text = ha_read(ha->conf[0]);
    assert_non_null(text);
    char *bind = strstr(text, ha->endpoint[0]);
    assert_non_null(bind);
    size_t cap = strlen(text) + 64;
    char *text_b = calloc(1, cap);
    snprintf(text_b, cap, "%.*s%s%s", (int)(bind - text), text, ha->endpoint[1],
             bind + strlen(ha->endpoint[0]));
    assert_int_equal(vg_file_write_atomic(ha->conf[1], text_b, strlen(text_b), 0600, &why), VG_OK);
    free(text_b);
    free(text);
    for (int i = 0; i < 2; i++) {
        char extra[2048];
        snprintf(extra, sizeof extra,
                 "\n[store]\nbackend = postgresql\ndsn = %s\n\n[ha]\nadvertise = %s\n"
                 "lease = " HA_LEASE "\npoll = " HA_POLL "\n",
                 ha->dsn, ha->endpoint[i]);
        s_append(ha->conf[i], extra);
    }
    free(dir_b);
    ha->pub = bh_identity(ha->h, "home-office");
    ha->seq = 1;
    return ha;
}

void
ha_destroy(ha_pair **ha_p)
{
    ha_pair *ha = *ha_p;
    if (ha == NULL) {
        return;
    }
    if (getenv("VG_HA_LOGS") != NULL) { /* to read what a passing test did */
        ha_print_logs(ha);
    }
    for (int i = 0; i < 2; i++) {
        if (ha->pid[i] > 0) {
            kill(ha->pid[i], SIGCONT);
            fu_kill(ha->pid[i]);
        }
        free(ha->conf[i]);
        free(ha->log[i]);
    }
    vga_identity_destroy(&ha->pub);
    bh_pass(ha->h); /* the logs of both were printed where a check failed */
    bh_destroy(&ha->h);
    vt_pg_stop(&ha->standby);
    vt_pg_stop(&ha->pg);
    free(ha->dsn);
    free(ha->audit_dsn);
    free(ha);
    *ha_p = NULL;
}

/* Starts A, waits for it to lead; starts B, waits for it to stand by. */
void
ha_start_pair(ha_pair *ha)
{
    ha_start(ha, 0);
    if (!ha_wait_log(ha->log[0], "broker.ready", 0, HA_ROLE_MS)) {
        ha_print_logs(ha);
        fail_msg("broker A did not lead");
    }
    ha_start(ha, 1);
    if (!ha_wait_log(ha->log[1], "ha.standby", 0, HA_ROLE_MS)) {
        ha_print_logs(ha);
        fail_msg("broker B did not stand by");
    }
}

void
ha_agents_follow(ha_pair *ha)
{
    static const char *const agencies[] = {"police", "licensing", "childrens-services",
                                           "home-office", "oversight"};
    char both[2 * BH_ENDPOINT_MAX + 4];
    snprintf(both, sizeof both, "%s, %s", ha->endpoint[0], ha->endpoint[1]);
    for (size_t i = 0; i < sizeof agencies / sizeof agencies[0]; i++) {
        char *conf = bh_agent_conf(ha->h, agencies[i]);
        char *text = ha_read(conf);
        assert_non_null(text);
        char key[BH_ENDPOINT_MAX + 16];
        snprintf(key, sizeof key, "endpoint = %s\n", ha->endpoint[0]);
        char *at = strstr(text, key);
        assert_non_null(at);
        size_t cap = strlen(text) + sizeof both + 16;
        char *out = calloc(1, cap);
        assert_non_null(out);
        snprintf(out, cap, "%.*sendpoint = %s\n%s", (int)(at - text), text, both, at + strlen(key));
        vg_reason why = {{0}};
        assert_int_equal(vg_file_write_atomic(conf, out, strlen(out), 0600, &why), VG_OK);
        free(out);
        free(text);
        free(conf);
    }
}
