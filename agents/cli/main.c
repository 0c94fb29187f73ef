/*
 * main.c — vigil-agent: parses nothing itself; cli_main() does the work.
 */
#include "cli.h"

int
main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
