/*
 * gw_wait.h — bounded waits on the monotonic clock, as the gateway's
 * threads use them (the hub, the pool, the webhook sender): a condition
 * variable that times out on CLOCK_MONOTONIC, and the deadline ms from now.
 */
#ifndef VIGIL_GATEWAY_GW_WAIT_H
#define VIGIL_GATEWAY_GW_WAIT_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* pthread_cond_init with CLOCK_MONOTONIC for pthread_cond_timedwait. */
static inline void
gw_cond_init(pthread_cond_t *c)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
}

/* The CLOCK_MONOTONIC time ms milliseconds from now. */
static inline struct timespec
gw_deadline(int64_t ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += (time_t)(ms / 1000);
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

#endif
