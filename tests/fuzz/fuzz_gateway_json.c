/*
 * fuzz_gateway_json.c — the gateway's JSON import (vga_alert_from_json, the
 * body of POST /v1/alerts) on hostile text, then what the gateway does with
 * an accepted alert that is not the library's: its CAP export. Property:
 * every export of an accepted alert passes vigil's CAP 1.2 rules, whatever
 * its text holds (control characters, bad UTF-8, odd geocodes, languages
 * and links).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fz_fixture.h"
#include "fz_target.h"
#include "gw_cap.h"
#include "vigil/alert_json.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        gw_cap_init();
        ready = 1;
    }
    char *text = malloc(size + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    vg_alert a = {0};
    vg_reason why = {{0}};
    if (vga_alert_from_json(&a, text, &why) == VG_OK) {
        a.sender = strdup("home-office");
        a.created_ms = FZ_ISSUED_MS;
        char *xml = NULL;
        size_t len = 0;
        if (gw_cap_export(&xml, &len, &a, NULL, NULL) == VG_OK) {
            gw_cap_problem pb = {0};
            if (gw_cap_validate(xml, len, &pb, &why) != VG_OK) {
                fprintf(stderr,
                        "fuzz_gateway_json: an export breaks vigil's CAP rules: %s: %s\n%s\n",
                        pb.field, why.text, xml);
                abort();
            }
            free(xml);
        }
        vg_alert_fini(&a);
    }
    free(text);
    return 0;
}
