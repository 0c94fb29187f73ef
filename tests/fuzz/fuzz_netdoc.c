/*
 * fuzz_netdoc.c — vg_netdoc_verify on hostile bytes (even mode byte: a
 * SignedNetworkDocument as received; odd: a body the fixture's admin key
 * signs), then what broker and agents do with a document that verified:
 * the JSON view, agency lookups, the policy and the deadlines.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fz_fixture.h"
#include "fz_target.h"
#include "vigil/netdoc.h"

static void
s_use(const vg_netdoc *doc)
{
    char *json = NULL;
    if (vg_netdoc_to_json(&json, doc) == VG_OK) {
        /* netdoc.h: the JSON view is "the format vg_netdoc_body_from_json
         * reads", and that checks what verify checks: a document that
         * verified must come back from its own JSON. */
        uint8_t *body = NULL;
        size_t body_len = 0;
        vg_reason why = {{0}};
        vg_err rc = vg_netdoc_body_from_json(&body, &body_len, json, &why);
        if (rc != VG_OK) {
            fprintf(stderr, "fuzz_netdoc: a verified document's own JSON is refused: %s: %s\n",
                    vg_err_code(rc), why.text);
            abort();
        }
        free(body);
        free(json);
    }
    vg_agency ag;
    for (size_t i = 0; i < vg_netdoc_n_agencies(doc); i++) {
        vg_netdoc_agency_at(doc, i, &ag);
        FZ_IGNORE(vg_netdoc_find_by_transport(doc, ag.transport_pk, &ag));
    }
    for (size_t i = 0; i < vg_netdoc_n_categories(doc); i++) {
        const char *cat = vg_netdoc_category_at(doc, i);
        vg_strlist required = {0};
        for (int sev = VG_SEV_LOW; sev <= VG_SEV_CRITICAL; sev++) {
            FZ_IGNORE(vg_netdoc_required(doc, &cat, 1, (vg_severity)sev, "police", &required));
            (void)vg_netdoc_deadline_ms(doc, (vg_severity)sev, VG_URG_IMMEDIATE);
        }
        vg_strlist_fini(&required);
    }
    vg_escalation_step step;
    for (size_t i = 0; i < vg_netdoc_n_escalation(doc); i++) {
        vg_netdoc_escalation_at(doc, i, &step);
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
        wrapped = fz_sign_wrap(&len, FZ_NETDOC, NULL, data + 1, size - 1);
        bytes = wrapped;
    }
    vg_netdoc *doc = NULL;
    vg_reason why = {{0}};
    if (vg_netdoc_verify(&doc, bytes, len, vg_keyset_sign_pk(w->admin), 0, &why) == VG_OK) {
        s_use(doc);
    }
    vg_netdoc_destroy(&doc);
    free(wrapped);
    return 0;
}
