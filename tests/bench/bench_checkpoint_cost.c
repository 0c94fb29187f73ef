/*
 * bench_checkpoint_cost — what signing audit checkpoints costs the publish
 * path (issue 5): the same publish loop through the real broker, once with
 * a checkpoint every second (checkpoint_interval = 1s) and once effectively
 * never (checkpoint_interval = 1d, checkpoint_leaves = 1000000). Every run
 * appends the same leaves (those are part of every transaction either way);
 * the difference is the signing and storing of checkpoints.
 *
 * One agency publishes S_N alerts one after the other, each waiting for its
 * confirm (as `vigil-agent publish` does), to one recipient that is not
 * connected (no delivery traffic). Each mode runs S_ROUNDS times,
 * interleaved, and the best round counts (least disturbed by the machine).
 * Prints alerts/s per mode and the relative cost. Label "bench": outside the
 * default run (ctest -L bench).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "broker_harness.h"
#include "vigil/agent.h"

#define S_N 1000   /* publishes per round: over a second, so checkpoints are signed */
#define S_ROUNDS 3 /* rounds per mode */
#define S_REPLY_MS 5000

static const char *const s_every_second[] = {"checkpoint_interval=1s", NULL};
static const char *const s_never[] = {"checkpoint_interval=1d", "checkpoint_leaves=1000000", NULL};

/* One round on a fresh broker: alerts per second. */
static double
s_round(const char *const *conf, int64_t *n_checkpoints)
{
    bh_broker *b = bh_new(conf);
    bh_start(b);
    vga_agent *police = bh_agent_open(b, "police", false);
    vg_alert alert;
    bh_alert_init(&alert, "bench", "checkpoint cost", "taxi", "licensing");
    vga_confirm res;
    assert_int_equal(vga_publish(police, &alert, S_REPLY_MS, &res, NULL), VG_OK); /* warm up */
    vga_confirm_fini(&res);
    int64_t t0 = bh_now_ms();
    for (int i = 0; i < S_N; i++) {
        assert_int_equal(vga_publish(police, &alert, S_REPLY_MS, &res, NULL), VG_OK);
        vga_confirm_fini(&res);
    }
    int64_t ms = bh_now_ms() - t0;
    bh_alert_fini(&alert);
    vga_agent_destroy(&police);
    *n_checkpoints = bh_store_count(b, VGB_COUNT_CHECKPOINTS, NULL);
    bh_pass(b);
    bh_destroy(&b);
    return ms > 0 ? S_N * 1000.0 / (double)ms : 0;
}

static void
bench_checkpoint_cost(void **state)
{
    (void)state;
    double best_on = 0, best_off = 0;
    int64_t cps_on = 0, cps_off = 0;
    for (int r = 0; r < S_ROUNDS; r++) {
        double on = s_round(s_every_second, &cps_on);
        double off = s_round(s_never, &cps_off);
        printf("round %d: checkpoints every 1s %.0f alerts/s (%lld signed), never %.0f "
               "alerts/s (%lld signed)\n",
               r + 1, on, (long long)cps_on, off, (long long)cps_off);
        best_on = on > best_on ? on : best_on;
        best_off = off > best_off ? off : best_off;
    }
    printf("best of %d x %d sequential publishes: every 1s %.0f alerts/s, never %.0f alerts/s: "
           "checkpoints cost %.1f%%\n",
           S_ROUNDS, S_N, best_on, best_off,
           best_off > 0 ? 100.0 * (best_off - best_on) / best_off : 0.0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(bench_checkpoint_cost)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
