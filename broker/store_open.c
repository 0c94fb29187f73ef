/* store_open.c — which back end a store is opened with (store.h). */
#include "store_sqlite.h"

vg_err
vgb_store_open(vgb_store **out, const char *dir, vg_reason *why)
{
    return vgb_sqlite_open(out, dir, false, why);
}

vg_err
vgb_store_open_readonly(vgb_store **out, const char *dir, vg_reason *why)
{
    return vgb_sqlite_open(out, dir, true, why);
}
