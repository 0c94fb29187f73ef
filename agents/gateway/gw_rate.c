/* gw_rate.c — a token bucket per token name (see gw_rate.h). */
#include "gw_rate.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_db.h"

typedef struct s_bucket {
    char name[GW_NAME_MAX]; /* the token's name */
    double level;           /* requests it may make now */
    int64_t at_ms;          /* when level was computed */
} s_bucket;

struct gw_rate {
    pthread_mutex_t lock; /* guards buckets */
    double rate;          /* per second */
    double burst;         /* most */
    s_bucket *buckets;    /* one per name seen */
    size_t n;             /* count */
};

vg_err
gw_rate_new(gw_rate **out, int64_t rate_per_s, int64_t burst)
{
    gw_rate *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return VG_ERR_NOMEM;
    }
    pthread_mutex_init(&r->lock, NULL);
    r->rate = (double)rate_per_s;
    r->burst = (double)burst;
    *out = r;
    return VG_OK;
}

void
gw_rate_destroy(gw_rate **rate_p)
{
    if (rate_p == NULL || *rate_p == NULL) {
        return;
    }
    pthread_mutex_destroy(&(*rate_p)->lock);
    free((*rate_p)->buckets);
    free(*rate_p);
    *rate_p = NULL;
}

bool
gw_rate_take(gw_rate *r, const char *name, int64_t now_ms, int64_t *retry_after_s)
{
    pthread_mutex_lock(&r->lock);
    s_bucket *b = NULL;
    for (size_t i = 0; i < r->n && b == NULL; i++) {
        b = strcmp(r->buckets[i].name, name) == 0 ? &r->buckets[i] : NULL;
    }
    for (size_t i = 0; b == NULL && r->n == GW_RATE_BUCKETS_MAX && i < r->n; i++) {
        s_bucket *q = &r->buckets[i]; /* full again: as good as new */
        if (q->level + (double)(now_ms - q->at_ms) * r->rate / 1000.0 >= r->burst) {
            b = q;
            snprintf(b->name, sizeof b->name, "%s", name);
            b->level = r->burst;
            b->at_ms = now_ms;
        }
    }
    if (b == NULL) {
        s_bucket *grown =
            r->n < GW_RATE_BUCKETS_MAX ? realloc(r->buckets, (r->n + 1) * sizeof *grown) : NULL;
        if (grown == NULL) {
            pthread_mutex_unlock(&r->lock);
            *retry_after_s = 1;
            return false;
        }
        r->buckets = grown;
        b = &grown[r->n++];
        snprintf(b->name, sizeof b->name, "%s", name);
        b->level = r->burst;
        b->at_ms = now_ms;
    }
    b->level += (double)(now_ms - b->at_ms) * r->rate / 1000.0;
    b->level = b->level > r->burst ? r->burst : b->level;
    b->at_ms = now_ms;
    bool ok = b->level >= 1.0;
    if (ok) {
        b->level -= 1.0;
    } else {
        *retry_after_s = (int64_t)((1.0 - b->level) / r->rate) + 1;
    }
    pthread_mutex_unlock(&r->lock);
    return ok;
}
