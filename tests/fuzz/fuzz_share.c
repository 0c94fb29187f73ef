/*
 * fuzz_share.c — vg_share_verify on hostile bytes and the accessors of a
 * share that verified. See fz_target.h for the mode byte.
 */
#include <stdlib.h>
#include <string.h>

#include "fz_fixture.h"
#include "fz_target.h"
#include "vigil/share.h"

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
        wrapped = fz_sign_wrap(&len, FZ_SHARE, w->ids[FZ_SIGNER_OF(data[0])], data + 1, size - 1);
        bytes = wrapped;
    }
    vg_share *s = NULL;
    vg_reason why = {{0}};
    if (vg_share_verify(&s, bytes, len, w->doc, &why) == VG_OK) {
        size_t key_len = 0;
        volatile size_t sink = strlen(vg_share_sharer(s)) + strlen(vg_share_to(s)) +
                               strlen(vg_share_reason(s)) + vg_share_alert_id(s)[0] +
                               vg_share_envelope_hash(s)[0];
        sink += vg_share_sealed_key(s, &key_len) != NULL ? key_len : 0;
        (void)sink;
    }
    vg_share_destroy(&s);
    free(wrapped);
    return 0;
}
