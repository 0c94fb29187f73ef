/*
 * fuzz_rota.c — vg_rota_parse on hostile text (an agency's duty rota file,
 * which the broker reads from a directory the agency controls: it must
 * never crash the broker). A rota it accepts is then asked who is on duty
 * at instants across a year and its every channel's templates are
 * rendered with all three escapes into a small buffer: nothing may read or
 * write out of bounds, and a rendering is always NUL-terminated within it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fz_fixture.h"
#include "fz_target.h"
#include "vigil/rota.h"

static void
s_render(const vg_channel *ch, const vg_notice *n)
{
    char out[96];
    const char *tmpl[] = {ch->subject, ch->body};
    for (size_t t = 0; t < 2; t++) {
        for (int esc = VG_ESCAPE_TEXT; esc <= VG_ESCAPE_FORM; esc++) {
            memset(out, 'x', sizeof out);
            (void)vg_notice_render(out, sizeof out, tmpl[t] ? tmpl[t] : "", n, (vg_escape)esc);
            if (memchr(out, '\0', sizeof out) == NULL) {
                fprintf(stderr, "fuzz_rota: a rendering is not terminated in its buffer\n");
                abort();
            }
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const fz_world *w = fz_world_get();
    vg_rota *r = NULL;
    vg_reason why = {{0}};
    if (vg_rota_parse(&r, (const char *)data, size, "licensing", &why) != VG_OK) {
        return 0;
    }
    vg_notice n = {.event = "overdue",
                   .target = "officer-on-duty",
                   .agency = "licensing",
                   .sender = "police",
                   .severity = "high",
                   .categories = "taxi,\"cse\"\n",
                   .status = "exercise",
                   .alert = "00112233445566778899aabbccddeeff",
                   .link = "https://c.example/#/alert/00112233445566778899aabbccddeeff",
                   .deadline_ms = 1809471600000,
                   .level = 3,
                   .name = "A & B \"team\"\r\n",
                   .to = "+44 7700"};
    vg_duty_entry e[4];
    for (int64_t at = 1798761600000; at < 1830297600000; at += 86400000LL * 7 + 3600000LL * 5) {
        for (int duty = VG_DUTY_OFFICER; duty <= VG_DUTY_MANAGER; duty++) {
            size_t k = vg_rota_on_duty(r, w->doc, (vg_duty)duty, at, e, 4);
            for (size_t i = 0; i < k && i < 4; i++) {
                for (size_t c = 0; c < e[i].n_contacts; c++) {
                    n.to = e[i].contacts[c].to;
                    n.name = e[i].name;
                    s_render(e[i].contacts[c].channel, &n);
                }
            }
        }
    }
    vg_rota_destroy(&r);
    return 0;
}
