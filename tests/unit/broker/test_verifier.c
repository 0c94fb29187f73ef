/* test_verifier.c — the broker's shared signature checks (broker/verifier.h)
 * give, for every job, exactly what vg_envelope_verify gives on one thread
 * (shared runs, and runs started on the worker alone and waited for later):
 * mixed good and damaged envelopes, batches of every size around the
 * threshold, many runs back to back (so a late worker meets a new run). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verifier.h"
#include "vt.h"

#define N_ENVELOPES 40
#define N_RUNS 300

static void
same_results_as_one_thread(void **state)
{
    (void)state;
    vt_net *net = vt_net_new(4);
    static const char *const to[] = {"licensing", "childrens-services"};
    static const char *const cats[] = {"taxi", "cse"};
    uint8_t *env[N_ENVELOPES];
    size_t len[N_ENVELOPES];
    vg_err want[N_ENVELOPES];
    for (size_t i = 0; i < N_ENVELOPES; i++) {
        vt_seal_sample(&env[i], &len[i], net, "police", to, 2, cats, 2);
        if (i % 3 == 1) {
            env[i][len[i] / 2] ^= 0x40; /* damaged: refused, with a reason */
        }
        if (i % 7 == 2) {
            len[i] = 5; /* truncated: does not parse */
        }
        vg_envelope *e = NULL;
        want[i] = vg_envelope_verify(&e, env[i], len[i], net->doc, NULL);
        vg_envelope_destroy(&e);
    }
    vgb_verifier *v = NULL;
    assert_int_equal(vgb_verifier_new(&v), VG_OK);
    vgb_verify_job jobs[N_ENVELOPES];
    size_t good = 0;
    for (size_t run = 0; run < N_RUNS; run++) {
        size_t n = run % (N_ENVELOPES + 1); /* 0 .. all: below and above the threshold */
        size_t first = run % 5;
        n = first + n > N_ENVELOPES ? N_ENVELOPES - first : n;
        for (size_t i = 0; i < n; i++) {
            jobs[i] = (vgb_verify_job){.bytes = env[first + i], .len = len[first + i]};
        }
        if (run % 3 == 2) { /* on the worker alone, the caller waiting later */
            vgb_verifier_start(run % 11 == 0 ? NULL : v, net->doc, jobs, n);
            vgb_verifier_wait(run % 11 == 0 ? NULL : v);
            vgb_verifier_wait(v); /* a second wait returns at once */
        } else {
            vgb_verifier_run(run % 11 == 0 ? NULL : v, net->doc, jobs, n);
        }
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(jobs[i].rc, want[first + i]);
            assert_int_equal(jobs[i].env != NULL, want[first + i] == VG_OK);
            if (jobs[i].rc != VG_OK) {
                assert_true(jobs[i].why.text[0] != '\0');
            } else {
                size_t got_len = 0;
                assert_memory_equal(vg_envelope_bytes(jobs[i].env, &got_len), env[first + i],
                                    len[first + i]);
                good++;
            }
            vg_envelope_destroy(&jobs[i].env);
        }
    }
    assert_true(good > 0);
    vgb_verifier_destroy(&v);
    assert_null(v);
    vgb_verifier_destroy(&v); /* NULL-safe */
    for (size_t i = 0; i < N_ENVELOPES; i++) {
        free(env[i]);
    }
    vt_net_destroy(&net);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_results_as_one_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
