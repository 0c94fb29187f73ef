/*
 * gw_sse.c — GET /v1/events: the agency's event stream as Server-Sent
 * Events. Each event is
 *
 *     id: SEQ            (the broker's per-agency sequence number)
 *     event: KIND        (accepted, delivered, acknowledged, overdue, ...)
 *     data: JSON         (as vigil-agent events --json prints it)
 *
 * A stream starts after Last-Event-ID (header), or ?after=SEQ, or else at
 * the live end. Events older than the gateway's ring come from the
 * broker's store, so a client that reconnects with its last id — to this
 * gateway or to a restarted one — gets every later event once, in order.
 * A comment line goes out every 15 s so proxies keep the stream open;
 * gateway notices (webhook alarms) go out as `event: gateway` without an id.
 *
 * With ?heartbeat=1 (the web console) an `event: heartbeat` without an id
 * goes out every 2 s instead of the comment, saying whether the gateway
 * hears from the broker: {"time", "head", "broker_up", "contact_age_ms"}.
 * A browser never sees comments, and a page that cannot tell a quiet
 * network from a dead broker could not vouch for anything it shows.
 *
 * A stream opened with an officer's session ends when the session does
 * (idle or past its limit, logged out, the account changed): an
 * `event: session` {"ended": why} goes out last.
 *
 * The connection has its own thread (libmicrohttpd's thread per connection),
 * so the content reader may block: it waits on the hub with a timeout.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "vigil/clock.h"
#include "vigil/track_json.h"

#define S_KEEPALIVE_MS 15000 /* a comment this often */
#define S_HEARTBEAT_MS 2000  /* ?heartbeat=1: a heartbeat event this often */
#define S_BATCH 64           /* events taken per wait */
#define S_BUF_MAX (64 * 1024)

typedef struct s_stream {
    gw_gateway *g;                           /* the gateway */
    uint64_t pos;                            /* the last event sent */
    bool live_start;                         /* no position given: start at the live end */
    uint64_t notice_gen;                     /* notices sent */
    char *buf;                               /* formatted, not yet sent */
    size_t len;                              /* bytes in buf */
    size_t off;                              /* bytes of buf already sent */
    bool heartbeat;                          /* ?heartbeat=1 */
    int64_t beat_mono;                       /* when the last heartbeat went out */
    bool has_session;                        /* opened with an officer's session */
    uint8_t session_key[GW_SESSION_KEY_LEN]; /* which */
    bool ending; /* the session ended: the stream ends after its notice */
} s_stream;

static bool
s_append(s_stream *s, const char *text, size_t n)
{
    if (s->len + n > S_BUF_MAX) {
        return false;
    }
    memcpy(s->buf + s->len, text, n);
    s->len += n;
    return true;
}

static void
s_format_event(s_stream *s, const vga_event *e)
{
    char *json = NULL;
    if (vga_event_to_json(&json, e) != VG_OK) {
        return;
    }
    char head[96];
    int n = snprintf(head, sizeof head, "id: %" PRIu64 "\nevent: %s\ndata: ", e->seq,
                     vga_event_kind_name(e->kind));
    if (s_append(s, head, (size_t)n) && s_append(s, json, strlen(json)) && s_append(s, "\n\n", 2)) {
        s->pos = e->seq;
    }
    free(json);
}

/* Events after pos from the broker's store (older than the ring). When
 * none come (the broker is away, no connection is free) it waits a second
 * before the stream asks again, rather than asking in a loop. */
static void
s_fetch_older(s_stream *s)
{
    uint64_t before = s->pos;
    vga_agent *ag = gw_pool_take(s->g->pool, GW_POOL_WAIT_MS);
    if (ag == NULL) {
        return;
    }
    vga_event *evs = NULL;
    size_t n = 0;
    vg_reason why = {{0}};
    if (vga_events_since(ag, s->pos, GW_QUERY_WAIT_MS, &evs, &n, &why) == VG_OK) {
        for (size_t i = 0; i < n && evs[i].seq == s->pos + 1 && s->len < S_BUF_MAX / 2; i++) {
            s_format_event(s, &evs[i]);
        }
    }
    free(evs);
    gw_pool_give(s->g->pool, ag);
    if (s->pos == before) {
        struct timespec second = {1, 0};
        nanosleep(&second, NULL);
    }
}

static void
s_heartbeat(s_stream *s)
{
    gw_gateway *g = s->g;
    bool known = false;
    uint64_t head = gw_hub_head(g->hub, &known);
    int64_t now = vg_clock_wall_ms(vg_clock_system());
    int64_t contact = atomic_load(&g->m.last_broker_contact_ms);
    char when[VG_TIME_STR_LEN], head_text[24] = "null", age[24] = "null", line[256];
    vg_time_format(when, sizeof when, now);
    if (known) {
        snprintf(head_text, sizeof head_text, "%" PRIu64, head);
    }
    if (contact > 0) {
        snprintf(age, sizeof age, "%lld", (long long)(now > contact ? now - contact : 0));
    }
    int n = snprintf(line, sizeof line,
                     "event: heartbeat\ndata: {\"time\":\"%s\",\"head\":%s,\"broker_up\":%s,"
                     "\"contact_age_ms\":%s}\n\n",
                     when, head_text, atomic_load(&g->m.broker_up) ? "true" : "false", age);
    if (n > 0 && (size_t)n < sizeof line) {
        s_append(s, line, (size_t)n);
    }
    s->beat_mono = vg_clock_mono_ms(vg_clock_system());
}

/* How long the next wait may be: until the next heartbeat, or the keepalive. */
static int64_t
s_wait_ms(const s_stream *s)
{
    if (!s->heartbeat) {
        return S_KEEPALIVE_MS;
    }
    int64_t left = S_HEARTBEAT_MS - (vg_clock_mono_ms(vg_clock_system()) - s->beat_mono);
    return left < 1 ? 1 : left;
}

/* False once the stream's session has ended (with the notice queued). */
static bool
s_session_alive(s_stream *s)
{
    char why[64];
    if (!s->has_session || gw_console_session_alive(s->g, s->session_key, why, sizeof why)) {
        return true;
    }
    char line[160];
    int n = snprintf(line, sizeof line, "event: session\ndata: {\"ended\":\"%s\"}\n\n", why);
    s_append(s, line, (size_t)n);
    s->ending = true;
    return false;
}

/* Fills the buffer: blocks until there is something (at most the keepalive). */
static bool
s_fill(s_stream *s)
{
    s->len = s->off = 0;
    if (s->ending) {
        return false;
    }
    if (!s_session_alive(s)) {
        return true;
    }
    if (s->live_start) {
        bool known = false;
        uint64_t head = gw_hub_head(s->g->hub, &known);
        if (!known) {
            gw_hub_read rd = {.events = NULL, .max = 0, .notice_gen = s->notice_gen};
            if (gw_hub_wait(s->g->hub, UINT64_MAX - 1, &rd, 1000) == GW_HUB_CLOSED) {
                return false;
            }
            s->notice_gen = rd.notice_gen;
            if (s->heartbeat && s_wait_ms(s) <= 1) {
                s_heartbeat(s);
            }
            return s_append(s, ": waiting for the broker\n\n", 26);
        }
        s->pos = head;
        s->live_start = false;
    }
    vga_event evs[S_BATCH];
    gw_hub_read rd = {.events = evs, .max = S_BATCH, .notice_gen = s->notice_gen};
    switch (gw_hub_wait(s->g->hub, s->pos, &rd, s_wait_ms(s))) {
    case GW_HUB_CLOSED:
        return false;
    case GW_HUB_OLDER:
        s_fetch_older(s);
        break;
    case GW_HUB_EVENTS:
        s->notice_gen = rd.notice_gen;
        for (size_t i = 0; i < rd.n_notices; i++) {
            char line[GW_NOTICE_MAX + 32];
            int n = snprintf(line, sizeof line, "event: gateway\ndata: %s\n\n", rd.notices[i]);
            s_append(s, line, (size_t)n);
        }
        for (size_t i = 0; i < rd.n; i++) {
            s_format_event(s, &rd.events[i]);
        }
        break;
    default:
        break;
    }
    if (s->heartbeat && (s->len == 0 || s_wait_ms(s) <= 1)) {
        s_heartbeat(s);
    } else if (s->len == 0) {
        s_append(s, ": keepalive\n\n", 13);
    }
    return true;
}

static ssize_t
s_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    s_stream *s = cls;
    if (s->off == s->len && (atomic_load(&s->g->stopping) || !s_fill(s))) {
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t n = s->len - s->off < max ? s->len - s->off : max;
    memcpy(buf, s->buf + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static void
s_free(void *cls)
{
    s_stream *s = cls;
    atomic_fetch_sub(&s->g->streams, 1);
    free(s->buf);
    free(s);
}

/* Last-Event-ID, else ?after=; false with a problem queued when malformed. */
static bool
s_start_at(gw_req *r, s_stream *s, enum MHD_Result *res)
{
    const char *v = gw_header(r, "Last-Event-ID");
    const char *field = "Last-Event-ID";
    if (v == NULL) {
        v = gw_query(r, "after");
        field = "after";
    }
    if (v == NULL) {
        s->live_start = true;
        return true;
    }
    char *end = NULL;
    unsigned long long n = strtoull(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end != '\0') {
        *res = gw_problem(r, 400, "invalid_event_id", NULL,
                          "an event id is the broker's sequence number, a whole number", field,
                          "0, 1, 2, ...");
        return false;
    }
    s->pos = n;
    return true;
}

enum MHD_Result
gw_handle_events(gw_req *r)
{
    /* A stream holds a connection (and its thread) for as long as it runs:
     * at most half of max_connections, so streams never starve requests. */
    long limit = (long)r->g->gc->max_connections / 2;
    if (atomic_fetch_add(&r->g->streams, 1) >= limit) {
        atomic_fetch_sub(&r->g->streams, 1);
        const char *const h[] = {"Retry-After", "5", NULL};
        return gw_problem_with(r, 503, "too_many_streams", NULL,
                               "as many event streams are open as this gateway serves "
                               "(half of max_connections)",
                               NULL, NULL, h);
    }
    s_stream *s = calloc(1, sizeof *s);
    if (s == NULL || (s->buf = malloc(S_BUF_MAX)) == NULL) {
        free(s);
        atomic_fetch_sub(&r->g->streams, 1);
        return MHD_NO;
    }
    s->g = r->g;
    enum MHD_Result res = MHD_YES;
    if (!s_start_at(r, s, &res)) {
        s_free(s); /* gives the stream back */
        return res;
    }
    s->notice_gen = gw_hub_notices(r->g->hub); /* only notices from now on */
    const char *hb = gw_query(r, "heartbeat");
    s->heartbeat = hb != NULL && (strcmp(hb, "1") == 0 || strcmp(hb, "true") == 0);
    s->has_session = r->has_session;
    memcpy(s->session_key, r->session_key, sizeof s->session_key);
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, s_read, s, s_free);
    if (resp == NULL) {
        s_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    res = MHD_queue_response(r->conn, 200, resp);
    MHD_destroy_response(resp);
    r->status = 200;
    atomic_fetch_add(&r->g->m.http[0], 1);
    return res;
}
