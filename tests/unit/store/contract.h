/*
 * tests/unit/store/contract.h — the store contract suite (broker/store.h),
 * written once and run against every back end: each test executable
 * (test_store_sqlite.c, test_store_pg.c) describes how to make a fresh store
 * for one test, and vsc_run runs every contract test on it.
 *
 * What a test may assume of a back end is what store.h says; where store.h
 * is silent the suite pins what the broker relies on (orders, what counts as
 * changed, NOT_FOUND). Where the two back ends may differ by design (when a
 * failed change is reported: PostgreSQL may report it at the commit), the
 * test accepts both and checks the outcome: nothing of it is stored.
 */
#ifndef VIGIL_TESTS_UNIT_STORE_CONTRACT_H
#define VIGIL_TESTS_UNIT_STORE_CONTRACT_H

#include <stdbool.h>

#include "store.h"

typedef struct vsc_backend {
    const char *name; /* for messages: "sqlite", "postgresql" */
    void *ctx;        /* the back end's own state */
    /* A new place for one test's store: with a current, empty schema
     * (empty false: a store may be opened there for its owner), or with
     * nothing at all (empty true). */
    void (*fresh)(void *ctx, bool empty);
    /* Forgets the test's place (every store on it is closed). */
    void (*drop)(void *ctx);
    /* Opens the test's store for its owner, the broker. */
    vg_err (*open)(void *ctx, vgb_store **out, vg_reason *why);
    /* Opens it read-only, as vigilctl does. */
    vg_err (*open_readonly)(void *ctx, vgb_store **out, vg_reason *why);
    /* Writes a schema version into the test's store behind its back. */
    void (*set_schema_version)(void *ctx, int version);
    /* Makes the test's store (closed) a version-4 store behind its back:
     * what versions 5 and 7 added (recipients.cover_for, cosignatures) is
     * removed. */
    void (*to_schema_4)(void *ctx);
    /* Has the store's owner migrate it (SQLite: the broker opening it;
     * PostgreSQL: the owner role, as vigil-pg-migrate does). */
    void (*migrate)(void *ctx);
} vsc_backend;

/* Runs every contract test on b; returns cmocka's result (failed tests). */
int vsc_run(const vsc_backend *b);

#endif
