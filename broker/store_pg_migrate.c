/* vigil-pg-migrate — creates or migrates the schema of a PostgreSQL store as
 * its owner role, and grants the broker's and the readers' group roles what
 * they may do (docs/ha.md). The broker's own role may not change the schema:
 * it is run once before the first start and after each upgrade. */
#include <stdio.h>
#include <string.h>

#include "store_pg.h"
#include "vigil/log.h"

static void
s_usage(FILE *to)
{
    fprintf(to, "usage: vigil-pg-migrate DSN\n"
                "\n"
                "Connects to the PostgreSQL database of DSN (a libpq connection string or\n"
                "postgresql:// URI naming the owner role, e.g. 'host=db1,db2 dbname=vigil\n"
                "user=vigil_owner target_session_attrs=read-write'), creates vigil's schema\n"
                "or migrates it to this version, and grants the roles vigil_writer and\n"
                "vigil_reader (deploy/postgres/create.sql makes them) what they may do.\n"
                "Safe to run again; brokers may be running (one migration at a time).\n"
                "\n"
                "Exit status: 0 done, 1 it could not (the reason is printed), 2 bad arguments.\n");
}

int
main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        s_usage(stdout);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        s_usage(stderr);
        return 2;
    }
    vg_log_set_sink(vg_log_stderr_sink, NULL);
    vgb_store *s = NULL;
    vg_reason why = {{0}};
    if (vgb_pg_open(&s, argv[1], VGB_PG_MIGRATE, &why) != VG_OK) {
        fprintf(stderr, "vigil-pg-migrate: %s\n", why.text);
        return 1;
    }
    printf("vigil-pg-migrate: %s is at schema version %d; grants applied\n", vgb_store_path(s),
           VGB_PG_SCHEMA_VERSION);
    vgb_store_destroy(&s);
    return 0;
}
