/*
 * test_broker_wal.c — the store's WAL is checkpointed off the broker loop
 * and stays bounded, and nothing is lost doing it.
 *
 * The broker runs with a small checkpoint threshold (wal_checkpoint_pages =
 * T_PAGES) while police pipelines T_N_ALERTS publishes to licensing in
 * chunks and licensing receives and receipts them: many times more WAL
 * frames are committed than the bound allows. Then:
 * - the WAL file on disk is no larger than VGB_CKPT_WARN_FACTOR * T_PAGES
 *   frames (the file never shrinks: its size is the most the WAL ever held),
 *   the checkpointer ran many times (debug log) and never logged a failure
 *   or store.wal_large;
 * - every alert published was confirmed and delivered, once;
 * - after SIGKILL and a restart the store holds every alert, none is left
 *   pending, and `vigilctl audit verify` passes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "broker_harness.h"
#include "store_sqlite_ckpt.h"
#include "itest.h"
#include "rawclient.h"
#include "vigil/agent.h"

#define T_PAGES 32        /* wal_checkpoint_pages */
#define T_N_ALERTS 480    /* published in all */
#define T_CHUNK 40        /* pipelined, then confirmed and received */
#define T_REPLY_MS 10000  /* longest wait for a confirm or a delivery */
#define T_WAL_HEADER 32   /* bytes before the first frame */
#define T_FRAME_HEADER 24 /* bytes before each page in a frame */

static int
s_teardown(void **state)
{
    bh_destroy((bh_broker **)state);
    return 0;
}

static int64_t
s_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* The page size the WAL file's frames hold, from its own header (bytes
 * 8..11, big-endian: SQLite's WAL format, which this test measures); -1
 * when it cannot be read. */
static int64_t
s_wal_page_size(const char *path)
{
    uint8_t h[T_WAL_HEADER];
    FILE *f = fopen(path, "rb");
    size_t got = f != NULL ? fread(h, 1, sizeof h, f) : 0;
    if (f != NULL) {
        fclose(f);
    }
    if (got != sizeof h) {
        return -1;
    }
    return (int64_t)((uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 | (uint32_t)h[10] << 8 | h[11]);
}

/* Sends one chunk pipelined and collects its confirms (all ACCEPTED). */
static void
s_publish_chunk(rc_client *raw, uint8_t *const *envs, const size_t *lens, size_t n)
{
    uint64_t req[T_CHUNK];
    for (size_t i = 0; i < n; i++) {
        req[i] = rc_publish(raw, envs[i], lens[i]);
    }
    for (size_t i = 0; i < n; i++) {
        Vigil__BrokerFrame *f = rc_expect_confirm(raw, req[i], T_REPLY_MS);
        assert_int_equal(f->confirm->status, VIGIL__CONFIRM_STATUS__CONFIRM_ACCEPTED);
        rc_frame_free(f);
    }
}

/* Receives n alerts at licensing (the agent receipts each), marking got[]. */
static void
s_receive_chunk(vga_agent *rx, size_t n, bool *got)
{
    for (size_t i = 0; i < n; i++) {
        vg_alert a;
        memset(&a, 0, sizeof a);
        vg_reason why = {{0}};
        vg_err rc = vga_receive(rx, T_REPLY_MS, &a, &why);
        if (rc != VG_OK) {
            fail_msg("licensing received nothing: %s: %s", vg_err_code(rc), why.text);
        }
        assert_true(a.sequence >= 1 && a.sequence <= T_N_ALERTS);
        assert_false(got[a.sequence - 1]);
        got[a.sequence - 1] = true;
        vg_alert_fini(&a);
    }
}

static void
test_wal_stays_bounded_and_nothing_is_lost(void **state)
{
    char pages[64];
    snprintf(pages, sizeof pages, "wal_checkpoint_pages=%d", T_PAGES);
    const char *conf[] = {pages, "log_level=debug", NULL};
    bh_broker *b = bh_new_init(NULL, conf);
    *state = b;
    bh_start(b);
    char *wal = bh_own(b, it_path(b->net, "broker/store/vigil.db-wal"), free);
    vga_identity *police = bh_identity(b, "police");
    char *police_conf = bh_own(b, bh_agent_conf(b, "police"), free);
    rc_client *raw = rc_new_agency(police_conf);
    vga_agent *rx = bh_agent_open(b, "licensing", true);
    bool *got = bh_own(b, calloc(T_N_ALERTS, sizeof *got), free);
    const char *to[] = {"licensing"};
    for (size_t done = 0; done < T_N_ALERTS; done += T_CHUNK) {
        uint8_t *envs[T_CHUNK];
        size_t lens[T_CHUNK];
        for (size_t i = 0; i < T_CHUNK; i++) {
            rc_seal_spec spec = {.recipients = to,
                                 .n_recipients = 1,
                                 .category = "other",
                                 .sequence = done + i + 1,
                                 .headline = "wal test",
                                 .description = "a line of text, so that each alert takes room"};
            envs[i] = rc_seal(&lens[i], NULL, police, &spec);
        }
        s_publish_chunk(raw, envs, lens, T_CHUNK);
        s_receive_chunk(rx, T_CHUNK, got);
        for (size_t i = 0; i < T_CHUNK; i++) {
            free(envs[i]);
        }
    }
    vga_poll(rx, 500); /* the last receipts reach the broker */
    vga_agent_destroy(&rx);
    rc_destroy(&raw);
    vga_identity_destroy(&police);

    /* The WAL file never shrinks: its size is the most it ever held. */
    int64_t page = s_wal_page_size(wal);
    assert_true(page >= 512);
    int64_t wal_bytes = s_file_size(wal);
    int64_t frames = (wal_bytes - T_WAL_HEADER) / (page + T_FRAME_HEADER);
    size_t passive = bh_log_count(b, "store.checkpoint", "mode=passive");
    size_t rewind = bh_log_count(b, "store.checkpoint", "mode=rewind");
    size_t restart = bh_log_count(b, "store.checkpoint", "mode=restart");
    size_t locked = bh_log_count(b, "store.checkpoint", "result=ok mode=rewind") +
                    bh_log_count(b, "store.checkpoint", "result=ok mode=restart");
    printf("wal: %lld bytes = %lld frames of %lld bytes (bound %d); checkpoints: passive %zu, "
           "rewind %zu, restart %zu (%zu took the write lock)\n",
           (long long)wal_bytes, (long long)frames, (long long)page, VGB_CKPT_WARN_FACTOR * T_PAGES,
           passive, rewind, restart, locked);
    assert_true(wal_bytes > 0);
    assert_true(frames <= VGB_CKPT_WARN_FACTOR * T_PAGES);
    assert_true(passive + rewind + restart >= 10); /* the threshold was passed many times */
    assert_int_equal(bh_log_count(b, "store.checkpoint", "result=failed"), 0);
    assert_int_equal(bh_log_count(b, "store.wal_large", NULL), 0);
    for (size_t i = 0; i < T_N_ALERTS; i++) {
        if (!got[i]) {
            fail_msg("alert %zu was confirmed but never delivered", i + 1);
        }
    }

    /* A crash, then a restart on the same store: everything is there. */
    bh_kill(b);
    bh_start(b);
    assert_int_equal(bh_store_count_alerts(b), T_N_ALERTS);
    assert_int_equal(bh_store_count(b, VGB_COUNT_PENDING, NULL), 0);
    it_run r;
    it_vigilctl(&r, "audit", "verify", "-c", b->conf);
    it_assert_ok(&r);
    assert_true(it_contains(r.out, "checkpoints verified"));
    it_run_fini(&r);
    bh_stop(b);
    bh_pass(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_wal_stays_bounded_and_nothing_is_lost, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
