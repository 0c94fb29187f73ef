/*
 * fuzz_netdoc_json.c — vg_netdoc_body_from_json on hostile text (what
 * `vigilctl network sign` reads from an administrator). netdoc.h promises it
 * checks everything vg_netdoc_verify checks except the signature, so a body
 * it accepts, once signed by the fixture's admin key, must verify.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fz_fixture.h"
#include "fz_target.h"
#include "vigil/netdoc.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const fz_world *w = fz_world_get();
    char *text = malloc(size + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    uint8_t *body = NULL;
    size_t body_len = 0;
    vg_reason why = {{0}};
    if (vg_netdoc_body_from_json(&body, &body_len, text, &why) == VG_OK) {
        size_t len = 0;
        uint8_t *signed_doc = fz_sign_wrap(&len, FZ_NETDOC, NULL, body, body_len);
        vg_netdoc *doc = NULL;
        vg_err rc = vg_netdoc_verify(&doc, signed_doc, len, vg_keyset_sign_pk(w->admin), 0, &why);
        if (rc != VG_OK) {
            fprintf(stderr,
                    "fuzz_netdoc_json: body_from_json accepted a document that verify "
                    "refuses: %s: %s\n",
                    vg_err_code(rc), why.text);
            abort();
        }
        vg_netdoc_destroy(&doc);
        free(signed_doc);
        free(body);
    }
    free(text);
    return 0;
}
