/* gw_pool.c — broker connections for requests (see gw_pool.h). */
#include "gw_pool.h"
#include "gw_wait.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct gw_pool {
    pthread_mutex_t lock; /* guards free_ and n_free */
    pthread_cond_t given; /* an agent came back */
    vga_agent **all;      /* every agent (owned) */
    vga_agent **free_;    /* those not in use */
    size_t n;             /* agents */
    size_t n_free;        /* free ones */
};

vg_err
gw_pool_new(gw_pool **out, const char *config_path, size_t n, vg_reason *why)
{
    gw_pool *p = calloc(1, sizeof *p);
    if (p == NULL || (p->all = calloc(n, sizeof *p->all)) == NULL ||
        (p->free_ = calloc(n, sizeof *p->free_)) == NULL) {
        if (p != NULL) {
            free(p->all);
        }
        free(p);
        return VG_ERR_NOMEM;
    }
    pthread_mutex_init(&p->lock, NULL);
    gw_cond_init(&p->given);
    vga_options opts = {.software = "vigil-gateway"};
    for (size_t i = 0; i < n; i++) {
        vg_err rc = vga_agent_open(&p->all[i], config_path, &opts, why);
        if (rc != VG_OK) {
            gw_pool_destroy(&p);
            return rc;
        }
        p->n++;
        p->free_[p->n_free++] = p->all[i];
    }
    *out = p;
    return VG_OK;
}

void
gw_pool_destroy(gw_pool **pool_p)
{
    if (pool_p == NULL || *pool_p == NULL) {
        return;
    }
    gw_pool *p = *pool_p;
    for (size_t i = 0; i < p->n; i++) {
        vga_agent_destroy(&p->all[i]);
    }
    pthread_cond_destroy(&p->given);
    pthread_mutex_destroy(&p->lock);
    free(p->all);
    free(p->free_);
    free(p);
    *pool_p = NULL;
}

vga_agent *
gw_pool_take(gw_pool *p, int64_t timeout_ms)
{
    struct timespec until = gw_deadline(timeout_ms);
    pthread_mutex_lock(&p->lock);
    while (p->n_free == 0) {
        if (pthread_cond_timedwait(&p->given, &p->lock, &until) == ETIMEDOUT) {
            break;
        }
    }
    vga_agent *a = p->n_free > 0 ? p->free_[--p->n_free] : NULL;
    pthread_mutex_unlock(&p->lock);
    return a;
}

void
gw_pool_give(gw_pool *p, vga_agent *a)
{
    if (a == NULL) {
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->free_[p->n_free++] = a;
    pthread_cond_signal(&p->given);
    pthread_mutex_unlock(&p->lock);
}
