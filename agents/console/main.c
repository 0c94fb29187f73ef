/*
 * main.c — vigil-console: parses nothing itself; vgc_main() does the work.
 */
#include "console_app.h"

int
main(int argc, char **argv)
{
    return vgc_main(argc, argv);
}
