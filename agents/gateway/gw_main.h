/* gw_main.h — vigil-gateway's command line (gw_main.c), callable from tests. */
#ifndef VIGIL_GATEWAY_GW_MAIN_H
#define VIGIL_GATEWAY_GW_MAIN_H

/* argv[0] is the program. Returns the exit status. */
int gw_main(int argc, char **argv);

#endif
