/*
 * fuzz_alert_json.c — vga_alert_from_json on hostile text (what `vigil-agent
 * publish --json` reads from an agency's systems), and vga_alert_to_json on
 * whatever it accepts (what `listen --json` and `--exec` write).
 *
 * Properties alert_json.h promises, checked on every accepted input:
 * - the output is one line of valid JSON (jansson parses it back);
 * - the output, less the keys the library sets (id, sender, sequence,
 *   sent), is accepted again, and gives the same output: writing and
 *   reading agree, so an agency system can round-trip what it is given.
 * A broken property is named on stderr and aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fz_target.h"
#include "vigil/alert_json.h"
#include "vigil/envelope.h"

static void
s_fail(const char *what, const char *a, const char *b)
{
    fprintf(stderr, "fuzz_alert_json: %s\n  first:  %s\n  second: %s\n", what, a ? a : "(null)",
            b ? b : "(null)");
    abort();
}

/* The output as input again: the library's keys removed. NULL when it is
 * not JSON (a broken property) or out of memory. */
static char *
s_as_input(const char *out)
{
    json_error_t err;
    json_t *o = json_loads(out, JSON_REJECT_DUPLICATES, &err);
    if (o == NULL) {
        s_fail("the output is not valid JSON", out, err.text);
    }
    json_object_del(o, "id");
    json_object_del(o, "sender");
    json_object_del(o, "sequence");
    json_object_del(o, "sent");
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static void
s_round_trip(const vg_alert *a)
{
    char *out = NULL;
    if (vga_alert_to_json(&out, a) != VG_OK) {
        return; /* out of memory */
    }
    if (strchr(out, '\n') != NULL) {
        s_fail("the output is more than one line", out, NULL);
    }
    char *input = s_as_input(out);
    vg_alert again = {0};
    vg_reason why = {{0}};
    if (input != NULL && strlen(input) <= VGA_ALERT_JSON_MAX_BYTES) {
        vg_err rc = vga_alert_from_json(&again, input, &why);
        if (rc == VG_ERR_NOMEM) {
            free(input);
            free(out);
            return;
        }
        if (rc != VG_OK) {
            s_fail(why.text, out, input);
        }
        char *out2 = NULL;
        if (vga_alert_to_json(&out2, &again) == VG_OK && strcmp(out, out2) != 0) {
            s_fail("reading the output back gives another alert", out, out2);
        }
        free(out2);
        vg_alert_fini(&again);
    }
    free(input);
    free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0'; /* an embedded NUL ends the text, as for a C caller */
    vg_alert a = {0};
    vg_reason why = {{0}};
    if (vga_alert_from_json(&a, text, &why) == VG_OK) {
        s_round_trip(&a);
        vg_alert_fini(&a);
    }
    free(text);
    return 0;
}
