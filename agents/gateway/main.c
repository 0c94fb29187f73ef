/* vigil-gateway: hands over to gw_main (gw_main.c). */
#include "gw_main.h"

int
main(int argc, char **argv)
{
    return gw_main(argc, argv);
}
