/* conns.c — connections per agency, and readers that do not read (see conns.h). */
#include "conns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "vigil/log.h"

typedef struct s_conn {
    uint8_t rid[VGB_CONN_RID_MAX]; /* routing id */
    size_t rid_len;                /* 0: free slot */
    int fd;                        /* the socket its frames came on, or -1 */
    struct sockaddr_storage peer;  /* fd's peer address when it was seen */
    socklen_t peer_len;            /* 0: unknown */
    int64_t last_seen;             /* last frame from it */
    int64_t cut_until;             /* cut off until then (0: not) */
    int64_t refused_since;         /* the second its refusals are counted in */
    uint32_t refused;              /* rate_limited refusals in that second */
    char key[48];                  /* its transport key (Z85), "" unknown */
    int64_t key_until_ms;          /* closed then (wall ms; INT64_MAX: never) */
    uint64_t doc_sent;             /* the network version last sent to it unasked */
} s_conn;

/* One agency's slots, allocated as its connections come (a national network
 * has thousands of agencies, most with one connection or none: a table of
 * agencies x max slots of ~500 bytes was tens of MiB before anyone
 * connected). Slots are never freed while the broker runs: at most `max`. */
typedef struct s_agency {
    s_conn *slots; /* n of them, malloc'ed; NULL until the first connection */
    uint32_t n;    /* allocated (<= max) */
} s_agency;

struct vgb_conns {
    s_agency *ag;       /* one per agency */
    size_t n_agencies;  /* agencies */
    uint32_t max;       /* slots per agency at most */
    int64_t unread_max; /* a connection with more not read is cut off */
    int64_t silent_ms;  /* a connection silent this long is closed for us */
};

vg_err
vgb_conns_new(vgb_conns **out, size_t n_agencies, uint32_t max, uint64_t unread_bytes,
              int64_t silent_ms)
{
    vgb_conns *c = calloc(1, sizeof *c);
    if (c == NULL || (c->ag = calloc(n_agencies + 1, sizeof *c->ag)) == NULL) {
        free(c);
        return VG_ERR_NOMEM;
    }
    c->n_agencies = n_agencies;
    c->max = max;
    c->unread_max = (int64_t)unread_bytes;
    c->silent_ms = silent_ms;
    *out = c;
    return VG_OK;
}

void
vgb_conns_destroy(vgb_conns **c_p)
{
    if (c_p == NULL || *c_p == NULL) {
        return;
    }
    for (size_t i = 0; i < (*c_p)->n_agencies; i++) {
        free((*c_p)->ag[i].slots);
    }
    free((*c_p)->ag);
    free(*c_p);
    *c_p = NULL;
}

static bool
s_open(const vgb_conns *c, const s_conn *s, int64_t now)
{
    return s->rid_len != 0 && now - s->last_seen <= c->silent_ms;
}

static s_conn *
s_find(vgb_conns *c, size_t idx, const uint8_t *rid, size_t rid_len)
{
    if (idx >= c->n_agencies || rid_len == 0 || rid_len > VGB_CONN_RID_MAX) {
        return NULL;
    }
    s_agency *a = &c->ag[idx];
    for (uint32_t i = 0; i < a->n; i++) {
        if (a->slots[i].rid_len == rid_len && memcmp(a->slots[i].rid, rid, rid_len) == 0) {
            return &a->slots[i];
        }
    }
    return NULL;
}

/* Is fd still the socket s was seen on (same peer address)? False when the
 * descriptor was closed (ZeroMQ drops a connection whose peer went away) or
 * reused for another connection or file. */
static bool
s_same_peer(const s_conn *s)
{
    struct sockaddr_storage now;
    socklen_t len = sizeof now;
    return s->fd >= 0 && s->peer_len != 0 &&
           getpeername(s->fd, (struct sockaddr *)&now, &len) == 0 && len == s->peer_len &&
           memcmp(&now, &s->peer, len) == 0;
}

/* A free slot of agency idx: a silent one, else a new one while it has
 * fewer than max, else one whose connection is known to be gone (its
 * descriptor no longer has its peer: a client that ran one command and
 * exited). NULL when all are open, or out of memory. */
static s_conn *
s_free_slot(vgb_conns *c, size_t idx, int64_t now)
{
    s_agency *a = &c->ag[idx];
    for (uint32_t i = 0; i < a->n; i++) {
        if (!s_open(c, &a->slots[i], now)) {
            return &a->slots[i];
        }
    }
    if (a->n < c->max) {
        uint32_t cap = a->n == 0 ? 1 : a->n * 2 > c->max ? c->max : a->n * 2;
        s_conn *slots = realloc(a->slots, cap * sizeof *slots);
        if (slots != NULL) {
            memset(&slots[a->n], 0, (cap - a->n) * sizeof *slots);
            a->slots = slots;
            uint32_t first = a->n;
            a->n = cap;
            return &a->slots[first];
        }
    }
    for (uint32_t i = 0; i < a->n; i++) {
        if (a->slots[i].peer_len != 0 && !s_same_peer(&a->slots[i])) {
            return &a->slots[i];
        }
    }
    return NULL;
}

vg_err
vgb_conns_seen(vgb_conns *c, size_t idx, const char *agency, const uint8_t *rid, size_t rid_len,
               int fd, int64_t now, vg_reason *why)
{
    s_conn *s = s_find(c, idx, rid, rid_len);
    if (s == NULL && idx < c->n_agencies && rid_len > 0 && rid_len <= VGB_CONN_RID_MAX) {
        s = s_free_slot(c, idx, now);
        if (s == NULL) {
            vg_log(VG_LOG_WARN, "broker", "conn.refused", "agency=%s open=%u", agency, c->max);
            return vg_reason_set(why, VG_ERR_RATE_LIMITED,
                                 "%s has %u connections open, the most the broker allows "
                                 "(broker.conf connections_per_agency): close one, or wait for an "
                                 "idle one to time out",
                                 agency, c->max);
        }
        *s = (s_conn){.rid_len = rid_len, .key_until_ms = INT64_MAX};
        memcpy(s->rid, rid, rid_len);
    }
    if (s != NULL) {
        s->last_seen = now;
        if (s->fd != fd || s->peer_len == 0) {
            s->fd = fd;
            s->peer_len = sizeof s->peer;
            if (fd < 0 || getpeername(fd, (struct sockaddr *)&s->peer, &s->peer_len) != 0) {
                s->peer_len = 0;
            }
        }
    }
    return VG_OK;
}

/* Bytes the kernel holds for the peer and the peer has not taken (0 when
 * unknown: no descriptor, or not a TCP socket any more). */
static int64_t
s_unread(const s_conn *s)
{
    int n = 0;
    return s->fd >= 0 && ioctl(s->fd, TIOCOUTQ, &n) == 0 && n > 0 ? n : 0;
}

/* Shuts the connection's socket down when it is still the one that was
 * seen (same peer address); ZeroMQ then drops the connection. */
static bool
s_shut(const s_conn *s)
{
    return s_same_peer(s) && shutdown(s->fd, SHUT_RDWR) == 0;
}

static void
s_cut(s_conn *s, const char *agency, const char *reason, int64_t unread, int64_t now)
{
    if (s->cut_until <= now) {
        bool shut = s_shut(s);
        vg_log(VG_LOG_WARN, "broker", "conn.cutoff",
               "agency=%s reason=%s unread=%lld closed=%s for_ms=%d", agency, reason,
               (long long)unread, shut ? "yes" : "no", VGB_CONN_CUTOFF_MS);
    }
    s->cut_until = now + VGB_CONN_CUTOFF_MS;
}

vg_err
vgb_conns_may_ask(vgb_conns *c, size_t idx, const char *agency, const uint8_t *rid, size_t rid_len,
                  int64_t now, vg_reason *why)
{
    s_conn *s = s_find(c, idx, rid, rid_len);
    if (s == NULL) {
        return VG_OK; /* not an agency's connection: nothing to answer anyway */
    }
    int64_t unread = s->cut_until > now ? 0 : s_unread(s);
    if (unread > c->unread_max) {
        s_cut(s, agency, "not_reading", unread, now);
    }
    if (s->cut_until > now) {
        return vg_reason_set(why, VG_ERR_RATE_LIMITED,
                             "this connection has not read what it was sent: its queries are "
                             "refused for %lld s; read your replies, then ask again",
                             (long long)((s->cut_until - now + 999) / 1000));
    }
    return VG_OK;
}

void
vgb_conns_refused(vgb_conns *c, size_t idx, const char *agency, const uint8_t *rid, size_t rid_len,
                  int64_t now)
{
    s_conn *s = s_find(c, idx, rid, rid_len);
    if (s == NULL) {
        return;
    }
    if (now - s->refused_since >= 1000) {
        s->refused_since = now;
        s->refused = 0;
    }
    if (++s->refused > VGB_CONN_REFUSED_MAX) {
        s_cut(s, agency, "ignores_rate_limited", s_unread(s), now);
    }
}

void
vgb_conns_full(vgb_conns *c, size_t idx, const char *agency, const uint8_t *rid, size_t rid_len,
               int64_t now)
{
    s_conn *s = s_find(c, idx, rid, rid_len);
    if (s != NULL) {
        s_cut(s, agency, "queue_full", s_unread(s), now);
    }
}

size_t
vgb_conns_open(const vgb_conns *c, size_t idx, int64_t now)
{
    size_t n = 0;
    for (uint32_t i = 0; idx < c->n_agencies && i < c->ag[idx].n; i++) {
        n += s_open(c, &c->ag[idx].slots[i], now);
    }
    return n;
}

vg_err
vgb_conns_grow(vgb_conns *c, size_t n_agencies)
{
    if (n_agencies <= c->n_agencies) {
        return VG_OK;
    }
    s_agency *ag = realloc(c->ag, (n_agencies + 1) * sizeof *ag);
    if (ag == NULL) {
        return VG_ERR_NOMEM;
    }
    memset(&ag[c->n_agencies], 0, (n_agencies + 1 - c->n_agencies) * sizeof *ag);
    c->ag = ag;
    c->n_agencies = n_agencies;
    return VG_OK;
}

size_t
vgb_conns_close_agency(vgb_conns *c, size_t idx, const char *agency, const char *reason,
                       int64_t now)
{
    size_t closed = 0;
    for (uint32_t i = 0; idx < c->n_agencies && i < c->ag[idx].n; i++) {
        s_conn *s = &c->ag[idx].slots[i];
        if (s->rid_len != 0) {
            closed += s_shut(s);
            *s = (s_conn){0};
        }
    }
    vg_log(VG_LOG_WARN, "broker", "conn.closed", "agency=%s reason=%s closed=%zu", agency, reason,
           closed);
    (void)now;
    return closed;
}

void
vgb_conns_key(vgb_conns *c, size_t idx, const uint8_t *rid, size_t rid_len, const char *key,
              int64_t until_ms)
{
    s_conn *s = s_find(c, idx, rid, rid_len);
    if (s != NULL && key != NULL && s->key[0] == '\0') {
        snprintf(s->key, sizeof s->key, "%s", key);
        s->key_until_ms = until_ms;
    }
}

bool
vgb_conns_doc_due(vgb_conns *c, size_t idx, const uint8_t *rid, size_t rid_len, uint64_t have,
                  uint64_t current)
{
    s_conn *s = s_find(c, idx, rid, rid_len);
    if (s == NULL || have == 0 || have >= current || s->doc_sent >= current) {
        return false;
    }
    s->doc_sent = current;
    return true;
}

void
vgb_conns_doc_sent(vgb_conns *c, size_t idx, const uint8_t *rid, size_t rid_len, uint64_t version)
{
    s_conn *s = s_find(c, idx, rid, rid_len);
    if (s != NULL && s->doc_sent < version) {
        s->doc_sent = version;
    }
}

void
vgb_conns_each(vgb_conns *c, int64_t now,
               void (*fn)(void *ctx, size_t idx, const uint8_t *rid, size_t rid_len), void *ctx)
{
    for (size_t idx = 0; idx < c->n_agencies; idx++) {
        const s_agency *a = &c->ag[idx];
        for (uint32_t i = 0; i < a->n; i++) {
            if (s_open(c, &a->slots[i], now)) {
                fn(ctx, idx, a->slots[i].rid, a->slots[i].rid_len);
            }
        }
    }
}

size_t
vgb_conns_close_expired(vgb_conns *c, int64_t now_wall, const char *(*name)(void *ctx, size_t idx),
                        void *ctx)
{
    size_t closed = 0;
    for (size_t a = 0; a < c->n_agencies; a++) {
        for (uint32_t i = 0; i < c->ag[a].n; i++) {
            s_conn *s = &c->ag[a].slots[i];
            if (s->rid_len != 0 && s->key_until_ms <= now_wall) {
                bool shut = s_shut(s);
                vg_log(VG_LOG_WARN, "broker", "conn.closed",
                       "agency=%s reason=key_expired closed=%s", name(ctx, a), shut ? "yes" : "no");
                closed += shut;
                *s = (s_conn){0};
            }
        }
    }
    return closed;
}

void
vgb_conns_recheck(vgb_conns *c, int64_t (*fn)(void *ctx, size_t idx, const char *key), void *ctx)
{
    for (size_t a = 0; a < c->n_agencies; a++) {
        for (uint32_t i = 0; i < c->ag[a].n; i++) {
            s_conn *s = &c->ag[a].slots[i];
            if (s->rid_len != 0 && s->key[0] != '\0') {
                int64_t until = fn(ctx, a, s->key);
                s->key_until_ms = until < 0 ? INT64_MIN : until; /* closed at the next look */
            }
        }
    }
}
