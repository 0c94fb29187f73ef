/* gw_hub.c — the event ring for GET /v1/events (see gw_hub.h). */
#include "gw_hub.h"
#include "gw_wait.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct gw_hub {
    pthread_mutex_t lock;   /* guards everything below */
    pthread_cond_t changed; /* an event, a notice, or closing */
    vga_event *ring;        /* GW_HUB_RING slots; seq s is at s % GW_HUB_RING */
    uint64_t first;         /* seq of the oldest event in the ring (head+1 if none) */
    uint64_t head;          /* seq of the newest known event */
    bool known;             /* head is set */
    bool closed;            /* stopping */
    char notices[GW_HUB_NOTICES][GW_NOTICE_MAX]; /* the latest notices */
    uint64_t notice_gen;                         /* notices ever made */
};

vg_err
gw_hub_new(gw_hub **out)
{
    gw_hub *h = calloc(1, sizeof *h);
    if (h == NULL || (h->ring = calloc(GW_HUB_RING, sizeof *h->ring)) == NULL) {
        free(h);
        return VG_ERR_NOMEM;
    }
    pthread_mutex_init(&h->lock, NULL);
    gw_cond_init(&h->changed);
    *out = h;
    return VG_OK;
}

void
gw_hub_destroy(gw_hub **hub_p)
{
    if (hub_p == NULL || *hub_p == NULL) {
        return;
    }
    gw_hub *h = *hub_p;
    pthread_cond_destroy(&h->changed);
    pthread_mutex_destroy(&h->lock);
    free(h->ring);
    free(h);
    *hub_p = NULL;
}

void
gw_hub_start(gw_hub *h, uint64_t head)
{
    pthread_mutex_lock(&h->lock);
    h->head = head;
    h->first = head + 1;
    h->known = true;
    pthread_cond_broadcast(&h->changed);
    pthread_mutex_unlock(&h->lock);
}

bool
gw_hub_push(gw_hub *h, const vga_event *e)
{
    pthread_mutex_lock(&h->lock);
    bool ok = h->known && e->seq == h->head + 1;
    if (ok) {
        h->ring[e->seq % GW_HUB_RING] = *e;
        h->head = e->seq;
        if (h->head - h->first + 1 > GW_HUB_RING) {
            h->first = h->head - GW_HUB_RING + 1;
        }
        pthread_cond_broadcast(&h->changed);
    }
    pthread_mutex_unlock(&h->lock);
    return ok;
}

void
gw_hub_notice(gw_hub *h, const char *json)
{
    pthread_mutex_lock(&h->lock);
    snprintf(h->notices[h->notice_gen % GW_HUB_NOTICES], GW_NOTICE_MAX, "%s", json);
    h->notice_gen++;
    pthread_cond_broadcast(&h->changed);
    pthread_mutex_unlock(&h->lock);
}

uint64_t
gw_hub_notices(gw_hub *h)
{
    pthread_mutex_lock(&h->lock);
    uint64_t gen = h->notice_gen;
    pthread_mutex_unlock(&h->lock);
    return gen;
}

void
gw_hub_close(gw_hub *h)
{
    pthread_mutex_lock(&h->lock);
    h->closed = true;
    pthread_cond_broadcast(&h->changed);
    pthread_mutex_unlock(&h->lock);
}

uint64_t
gw_hub_head(gw_hub *h, bool *known)
{
    pthread_mutex_lock(&h->lock);
    uint64_t head = h->head;
    *known = h->known;
    pthread_mutex_unlock(&h->lock);
    return head;
}

/* Copies what is new for the reader; the lock is held. */
static bool
s_take(gw_hub *h, uint64_t after, gw_hub_read *rd)
{
    rd->n = 0;
    rd->n_notices = 0;
    if (rd->notice_gen + GW_HUB_NOTICES < h->notice_gen) {
        rd->notice_gen = h->notice_gen - GW_HUB_NOTICES;
    }
    while (rd->notice_gen < h->notice_gen && rd->n_notices < 4) {
        snprintf(rd->notices[rd->n_notices++], GW_NOTICE_MAX, "%s",
                 h->notices[rd->notice_gen++ % GW_HUB_NOTICES]);
    }
    for (uint64_t s = after + 1; h->known && s <= h->head && rd->n < rd->max; s++) {
        rd->events[rd->n++] = h->ring[s % GW_HUB_RING];
    }
    return rd->n > 0 || rd->n_notices > 0;
}

gw_hub_result
gw_hub_wait(gw_hub *h, uint64_t after, gw_hub_read *rd, int64_t timeout_ms)
{
    struct timespec until = gw_deadline(timeout_ms);
    pthread_mutex_lock(&h->lock);
    gw_hub_result res = GW_HUB_TIMEOUT;
    for (;;) {
        if (h->closed) {
            res = GW_HUB_CLOSED;
            break;
        }
        if (h->known && after + 1 < h->first) {
            res = GW_HUB_OLDER;
            break;
        }
        if (s_take(h, after, rd)) {
            res = GW_HUB_EVENTS;
            break;
        }
        if (pthread_cond_timedwait(&h->changed, &h->lock, &until) == ETIMEDOUT) {
            break;
        }
    }
    pthread_mutex_unlock(&h->lock);
    return res;
}
