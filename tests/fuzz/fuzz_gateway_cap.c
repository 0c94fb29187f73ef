/*
 * fuzz_gateway_cap.c — the gateway's CAP import (gw_cap_import: the
 * locked-down libxml2 parse, vigil's CAP 1.2 rules, the mapping) on hostile
 * bytes. Properties: what import accepts, vigil's rules accept; its export
 * passes vigil's rules again and imports again to the same headline and
 * severity. Hostile XML (entities, DTDs) must never reach the network: the
 * external entity loader refuses everything (gw_cap_init).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fz_fixture.h"
#include "fz_target.h"
#include "gw_cap.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        gw_cap_init();
        ready = 1;
    }
    const fz_world *w = fz_world_get();
    gw_cap_import_opts o = {.doc = w->doc, .default_category = "other"};
    gw_cap_problem pb = {0};
    vg_reason why = {{0}};
    vg_alert a = {0};
    if (gw_cap_import(&a, (const char *)data, size, &o, &pb, &why) != VG_OK) {
        return 0;
    }
    if (gw_cap_validate((const char *)data, size, &pb, &why) != VG_OK) {
        fprintf(stderr, "fuzz_gateway_cap: import accepted what the rules refuse: %s\n", why.text);
        abort();
    }
    a.sender = strdup("police");
    a.created_ms = FZ_ISSUED_MS;
    char *xml = NULL;
    size_t len = 0;
    if (gw_cap_export(&xml, &len, &a, NULL, NULL) == VG_OK) {
        vg_alert b = {0};
        if (gw_cap_import(&b, xml, len, &o, &pb, &why) != VG_OK) {
            fprintf(stderr, "fuzz_gateway_cap: an export does not import again: %s: %s\n%s\n",
                    pb.field, why.text, xml);
            abort();
        }
        if (b.severity != a.severity || strcmp(a.headline, b.headline) != 0) {
            fprintf(stderr, "fuzz_gateway_cap: the round trip changed the alert\n");
            abort();
        }
        vg_alert_fini(&b);
        free(xml);
    }
    vg_alert_fini(&a);
    return 0;
}
