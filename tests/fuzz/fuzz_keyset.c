/*
 * fuzz_keyset.c — vg_keyset_load and vg_keyring_load on a hostile secret key
 * file (written 0600 to the fixture's scratch directory, as a real one would
 * be).
 */
#include <stdlib.h>

#include "fz_fixture.h"
#include "fz_target.h"
#include "vigil/keys.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *path = fz_path("fuzz.key");
    fz_write_file(path, data, size, 0600);
    vg_keyset *ks = NULL;
    vg_reason why = {{0}};
    if (vg_keyset_load(&ks, path, &why) == VG_OK) {
        volatile unsigned sink = vg_keyset_kinds(ks);
        (void)sink;
    }
    vg_keyset_destroy(&ks);
    vg_keyring *ring = NULL;
    if (vg_keyring_load(&ring, path, &why) == VG_OK) {
        volatile size_t sink = vg_keyring_n(ring) + vg_keyring_active_index(ring);
        (void)sink;
    }
    vg_keyring_destroy(&ring);
    free(path);
    return 0;
}
