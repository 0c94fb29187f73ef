/*
 * fuzz_receipt.c — vg_receipt_verify on hostile bytes and the accessors a
 * broker reads from a receipt that verified. See fz_target.h for the mode byte.
 */
#include <stdlib.h>
#include <string.h>

#include "fz_fixture.h"
#include "fz_target.h"
#include "vigil/receipt.h"

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
        wrapped = fz_sign_wrap(&len, FZ_RECEIPT, w->ids[FZ_SIGNER_OF(data[0])], data + 1, size - 1);
        bytes = wrapped;
    }
    vg_receipt *r = NULL;
    vg_reason why = {{0}};
    if (vg_receipt_verify(&r, bytes, len, w->doc, &why) == VG_OK) {
        volatile size_t sink = strlen(vg_receipt_agency(r)) + strlen(vg_receipt_officer(r)) +
                               strlen(vg_receipt_note(r)) + strlen(vg_receipt_reason(r));
        for (size_t i = 0; i < vg_receipt_n_items(r); i++) {
            sink += vg_receipt_item_at(r, i)->alert_id[0];
        }
        (void)sink;
    }
    vg_receipt_destroy(&r);
    free(wrapped);
    return 0;
}
