/* store-tamper: sets a store's schema version by hand, to check what a newer one gets */
/* test_store_sqlite.c — the store contract suite (contract.h) on the SQLite
 * back end: each test's store in a temp directory of its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "contract.h"
#include "vt.h"

typedef struct s_ctx {
    char *dir; /* the test's store directory */
} s_ctx;

static void
s_fresh(void *ctx, bool empty)
{
    (void)empty; /* the owner's open makes the schema; an empty directory is no store */
    ((s_ctx *)ctx)->dir = vt_tmpdir_new();
}

static void
s_drop(void *ctx)
{
    vt_tmpdir_destroy(&((s_ctx *)ctx)->dir);
}

static vg_err
s_open(void *ctx, vgb_store **out, vg_reason *why)
{
    return vgb_store_open(out, ((s_ctx *)ctx)->dir, why);
}

static vg_err
s_open_readonly(void *ctx, vgb_store **out, vg_reason *why)
{
    return vgb_store_open_readonly(out, ((s_ctx *)ctx)->dir, why);
}

static void
s_set_schema_version(void *ctx, int version)
{
    char *path = vt_path(((s_ctx *)ctx)->dir, "vigil.db");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", version);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    free(path);
}

static void
s_to_schema_4(void *ctx)
{
    /* the schema as version 4 made it, behind the store's back */
    char *path = vt_path(((s_ctx *)ctx)->dir, "vigil.db");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "ALTER TABLE recipients DROP COLUMN cover_for;"
                                  "DROP TABLE cosignatures;"
                                  "PRAGMA user_version=4",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    free(path);
}

static void
s_migrate(void *ctx)
{
    vgb_store *s = NULL;
    vg_reason why = {{0}};
    if (vgb_store_open(&s, ((s_ctx *)ctx)->dir, &why) != VG_OK) {
        fail_msg("migrate: %s", why.text);
    }
    vgb_store_destroy(&s);
}

int
main(void)
{
    s_ctx ctx = {0};
    vsc_backend b = {.name = "store contract: sqlite",
                     .ctx = &ctx,
                     .fresh = s_fresh,
                     .drop = s_drop,
                     .open = s_open,
                     .open_readonly = s_open_readonly,
                     .set_schema_version = s_set_schema_version,
                     .to_schema_4 = s_to_schema_4,
                     .migrate = s_migrate};
    return vsc_run(&b);
}
