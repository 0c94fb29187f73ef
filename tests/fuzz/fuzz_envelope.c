/*
 * fuzz_envelope.c — vg_envelope_verify on hostile bytes, then what a
 * receiver does with an envelope that verified: the policy check (broker)
 * and opening it as each listed recipient whose keys the fixture holds
 * (agent). See fz_target.h for the mode byte.
 */
#include <stdlib.h>

#include "fz_fixture.h"
#include "fz_target.h"
#include "vigil/envelope.h"

static void
s_use(const vg_envelope *env, const fz_world *w)
{
    vg_strlist missing = {0};
    vg_reason why = {{0}};
    FZ_IGNORE(vg_envelope_check_policy(env, w->doc, NULL, &missing, &why));
    vg_strlist_fini(&missing);
    char hex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(hex, vg_envelope_id(env));
    for (size_t i = 0; i < FZ_N_AGENCIES; i++) {
        if (!vg_envelope_has_recipient(env, w->ids[i])) {
            continue;
        }
        vg_alert a = {0};
        if (vg_envelope_open(&a, env, w->ids[i], w->agency[i], &why) == VG_OK) {
            vg_alert_fini(&a);
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    const fz_world *w = fz_world_get();
    uint8_t *wrapped = NULL;
    const uint8_t *bytes = data + 1;
    size_t len = size - 1;
    if (FZ_IS_SIGN_THROUGH(data[0])) {
        wrapped =
            fz_sign_wrap(&len, FZ_ENVELOPE, w->ids[FZ_SIGNER_OF(data[0])], data + 1, size - 1);
        bytes = wrapped;
    }
    vg_envelope *env = NULL;
    vg_reason why = {{0}};
    if (vg_envelope_verify(&env, bytes, len, w->doc, &why) == VG_OK) {
        s_use(env, w);
    }
    vg_envelope_destroy(&env);
    free(wrapped);
    return 0;
}
