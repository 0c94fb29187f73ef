/*
 * fuzz_broker_config.c — the typed INI loader (vg_config_load, inih
 * underneath) through its biggest table, broker.conf
 * (vg_broker_config_load), on a hostile file.
 */
#include <stdlib.h>

#include "fz_fixture.h"
#include "fz_target.h"
#include "vigil/broker_config.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *path = fz_path("broker.conf");
    fz_write_file(path, data, size, 0644);
    vg_broker_config *cfg = NULL;
    vg_reason why = {{0}};
    if (vg_broker_config_load(&cfg, path, &why) == VG_OK) {
        volatile int64_t sink = cfg->inflight + cfg->batch;
        (void)sink;
    }
    vg_broker_config_destroy(&cfg);
    free(path);
    return 0;
}
