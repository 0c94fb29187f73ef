/*
 * main.c — vigilctl: parses nothing itself; ctl_main() does the work.
 */
#include "ctl.h"

int
main(int argc, char **argv)
{
    return ctl_main(argc, argv);
}
