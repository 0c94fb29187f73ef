/* store_open.c — which back end a store is opened with (store.h): SQLite
 * (store_sqlite*.c) or PostgreSQL (store_pg*.c). */
#include "store_pg.h"
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

vg_err
vgb_store_open_dsn(vgb_store **out, const char *dsn, vg_reason *why)
{
    return vgb_pg_open(out, dsn, VGB_PG_OWNER, why);
}

vg_err
vgb_store_open_readonly_dsn(vgb_store **out, const char *dsn, vg_reason *why)
{
    return vgb_pg_open(out, dsn, VGB_PG_READONLY, why);
}

vg_err
vgb_store_open_config(vgb_store **out, const vg_broker_config *cfg, vg_reason *why)
{
    if (cfg->store_backend != VG_STORE_POSTGRESQL) {
        return vgb_store_open(out, cfg->store_path, why);
    }
    vg_err err = vg_mkdir_p(cfg->store_path, 0700, why); /* the broker's local files */
    err = err == VG_OK ? vgb_store_open_dsn(out, cfg->store_dsn, why) : err;
    if (err == VG_OK) {
        vgb_pg_set_commit_wait(*out, cfg->store_commit_wait_ms);
    }
    return err;
}

vg_err
vgb_store_open_readonly_config(vgb_store **out, const vg_broker_config *cfg, vg_reason *why)
{
    return cfg->store_backend == VG_STORE_POSTGRESQL
               ? vgb_store_open_readonly_dsn(out, cfg->store_dsn, why)
               : vgb_store_open_readonly(out, cfg->store_path, why);
}
