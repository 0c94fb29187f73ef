/*
 * gw_status.c — GET /v1/health (JSON) and GET /metrics (Prometheus text
 * format 0.0.4): the gateway, its broker link, the outbox, what it handed
 * on, and each webhook with its alarm. Webhook figures come from
 * gateway.db, so they survive restarts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gateway.h"
#include "vigil/clock.h"

static json_t *
s_time(int64_t ms)
{
    if (ms <= 0) {
        return json_null();
    }
    char buf[VG_TIME_STR_LEN];
    vg_time_format(buf, sizeof buf, ms);
    return json_string(buf);
}

static bool
s_alarm(const gw_gateway *g, const gw_webhook_stats *st, int64_t now)
{
    return st->failing_since_ms > 0 &&
           now - st->failing_since_ms >= (int64_t)g->gc->webhook_alarm_ms;
}

static json_t *
s_webhooks_json(gw_gateway *g, int64_t now, json_t *alarms)
{
    json_t *arr = json_array();
    gw_webhook_row *rows = NULL;
    size_t n = 0;
    if (arr == NULL || gw_db_webhooks(g->db, &rows, &n) != VG_OK) {
        return arr;
    }
    for (size_t i = 0; i < n; i++) {
        gw_webhook_stats st;
        gw_db_webhook_stats(g->db, rows[i].name, &st);
        bool alarm = s_alarm(g, &st, now);
        json_array_append_new(
            arr,
            json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:o, s:b, s:o}", "name", rows[i].name,
                      "url", rows[i].url, "format", rows[i].cap ? "cap" : "json", "events",
                      rows[i].events, "pending", (json_int_t)st.pending, "delivered",
                      (json_int_t)st.delivered, "failures", (json_int_t)st.failures,
                      "failing_since", s_time(st.failing_since_ms), "alarm", alarm, "last_error",
                      st.failing_since_ms && st.last_error[0] ? json_string(st.last_error)
                                                              : json_null()));
        if (alarm) {
            char text[160];
            snprintf(text, sizeof text, "webhook %s failing since its first failure", rows[i].name);
            json_array_append_new(alarms, json_string(text));
        }
    }
    gw_webhook_rows_free(rows, n);
    return arr;
}

enum MHD_Result
gw_handle_health(gw_req *r)
{
    gw_gateway *g = r->g;
    int64_t now = vg_clock_wall_ms(vg_clock_system());
    bool up = atomic_load(&g->m.broker_up) != 0;
    bool known = false;
    uint64_t head = gw_hub_head(g->hub, &known);
    json_t *alarms = json_array();
    json_t *hooks = s_webhooks_json(g, now, alarms);
    if (!up && alarms != NULL) {
        json_array_append_new(alarms, json_string("the broker does not answer"));
    }
    json_t *o = json_pack(
        "{s:s, s:s, s:{s:s, s:s, s:o, s:I}, s:{s:s, s:b, s:o}, s:{s:I}, s:{s:I, s:I}, s:{s:o}, "
        "s:o, s:o}",
        "status", json_array_size(alarms) == 0 ? "ok" : "degraded", "agency", g->cfg->id, "gateway",
        "version", GW_VERSION, "url", g->url, "started", s_time(g->started_ms), "uptime_s",
        (json_int_t)((now - g->started_ms) / 1000), "broker", "endpoint", g->cfg->endpoint,
        "reachable", up, "last_contact", s_time(atomic_load(&g->m.last_broker_contact_ms)),
        "outbox", "depth", (json_int_t)atomic_load(&g->m.outbox_depth), "inbox", "handed_on_row",
        (json_int_t)atomic_load(&g->m.inbox_row), "received",
        (json_int_t)atomic_load(&g->m.alerts_received), "events", "head",
        known ? json_integer((json_int_t)head) : json_null(), "webhooks",
        hooks ? hooks : json_array(), "alarms", alarms ? alarms : json_array());
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return gw_reply_json(r, 200, text, NULL);
}

/* ---- /metrics ------------------------------------------------------------------------------- */

typedef struct s_buf {
    char *text; /* malloc'ed */
    size_t len; /* used */
    size_t cap; /* allocated */
    bool nomem; /* an append failed */
} s_buf;

static void VG_PRINTF(2, 3) s_printf(s_buf *b, const char *fmt, ...)
{
    for (int tries = 0; tries < 2 && !b->nomem; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->text + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)(n > 0 ? n : 0)) * 2;
        char *grown = realloc(b->text, cap);
        if (grown == NULL) {
            b->nomem = true;
            return;
        }
        b->text = grown;
        b->cap = cap;
    }
}

static void
s_metric(s_buf *b, const char *name, const char *type, const char *help)
{
    s_printf(b, "# HELP vigil_gateway_%s %s\n# TYPE vigil_gateway_%s %s\n", name, help, name, type);
}

/* A label value: \ " and newline escaped, as the text format wants. */
static void
s_label(char *out, size_t out_len, const char *v)
{
    size_t j = 0;
    for (size_t i = 0; v[i] != '\0' && j + 3 < out_len; i++) {
        if (v[i] == '\\' || v[i] == '"' || v[i] == '\n') {
            out[j++] = '\\';
            out[j++] = v[i] == '\n' ? 'n' : v[i];
        } else {
            out[j++] = v[i];
        }
    }
    out[j] = '\0';
}

static void
s_webhook_metrics(s_buf *b, gw_gateway *g, int64_t now)
{
    gw_webhook_row *rows = NULL;
    size_t n = 0;
    if (gw_db_webhooks(g->db, &rows, &n) != VG_OK) {
        return;
    }
    gw_webhook_stats *st = calloc(n ? n : 1, sizeof *st);
    for (size_t i = 0; st != NULL && i < n; i++) {
        gw_db_webhook_stats(g->db, rows[i].name, &st[i]);
    }
    static const char *const names[] = {"webhook_deliveries_total", "webhook_failures_total",
                                        "webhook_pending", "webhook_alarm"};
    static const char *const types[] = {"counter", "counter", "gauge", "gauge"};
    static const char *const helps[] = {
        "Webhook deliveries made (2xx answers).", "Webhook attempts that failed.",
        "Webhook deliveries waiting.",
        "1 while the webhook has been failing longer than webhook_alarm."};
    for (size_t k = 0; st != NULL && k < 4; k++) {
        s_metric(b, names[k], types[k], helps[k]);
        for (size_t i = 0; i < n; i++) {
            char label[2 * GW_NAME_MAX];
            s_label(label, sizeof label, rows[i].name);
            int64_t v = k == 0   ? st[i].delivered
                        : k == 1 ? st[i].failures
                        : k == 2 ? st[i].pending
                                 : (int64_t)s_alarm(g, &st[i], now);
            s_printf(b, "vigil_gateway_%s{webhook=\"%s\"} %" PRId64 "\n", names[k], label, v);
        }
    }
    free(st);
    gw_webhook_rows_free(rows, n);
}

enum MHD_Result
gw_handle_metrics(gw_req *r)
{
    gw_gateway *g = r->g;
    gw_metrics *m = &g->m;
    s_buf b = {malloc(4096), 0, 4096, false};
    b.nomem = b.text == NULL;
    int64_t now = vg_clock_wall_ms(vg_clock_system());
    s_metric(&b, "outbox_depth", "gauge", "Alerts in the agency's outbox not yet confirmed.");
    s_printf(&b, "vigil_gateway_outbox_depth %lld\n", atomic_load(&m->outbox_depth));
    s_metric(&b, "broker_up", "gauge", "1 when the broker answered the last ping.");
    s_printf(&b, "vigil_gateway_broker_up %d\n", atomic_load(&m->broker_up));
    s_metric(&b, "last_broker_contact_seconds", "gauge",
             "Unix time of the broker's last answer (0: none yet).");
    s_printf(&b, "vigil_gateway_last_broker_contact_seconds %.3f\n",
             (double)atomic_load(&m->last_broker_contact_ms) / 1000.0);
    s_metric(&b, "published_total", "counter", "POST /v1/alerts by outcome.");
    s_printf(&b,
             "vigil_gateway_published_total{result=\"confirmed\"} %lld\n"
             "vigil_gateway_published_total{result=\"queued\"} %lld\n"
             "vigil_gateway_published_total{result=\"rejected\"} %lld\n",
             atomic_load(&m->published_confirmed), atomic_load(&m->published_queued),
             atomic_load(&m->published_rejected));
    s_metric(&b, "deliveries_total", "counter", "Alerts delivered to the agency, handed on.");
    s_printf(&b, "vigil_gateway_deliveries_total %lld\n", atomic_load(&m->alerts_received));
    s_metric(&b, "events_total", "counter", "Events of the agency's stream taken in.");
    s_printf(&b, "vigil_gateway_events_total %lld\n", atomic_load(&m->events_received));
    s_metric(&b, "receipts_total", "counter", "Receipts made through the gateway, by kind.");
    static const char *const kinds[] = {"acknowledged", "in_progress", "declined", "shared"};
    for (size_t i = 0; i < 4; i++) {
        s_printf(&b, "vigil_gateway_receipts_total{kind=\"%s\"} %lld\n", kinds[i],
                 atomic_load(&m->receipts[i]));
    }
    s_metric(&b, "http_responses_total", "counter", "HTTP responses by status code.");
    static const unsigned codes[] = GW_HTTP_CODES;
    for (size_t i = 0; i <= GW_N_HTTP_CODES; i++) {
        long long v = atomic_load(&m->http[i]);
        if (i == GW_N_HTTP_CODES) {
            s_printf(&b, "vigil_gateway_http_responses_total{code=\"other\"} %lld\n", v);
        } else {
            s_printf(&b, "vigil_gateway_http_responses_total{code=\"%u\"} %lld\n", codes[i], v);
        }
    }
    s_webhook_metrics(&b, g, now);
    if (b.nomem) {
        free(b.text);
        return gw_problem(r, 500, "internal", NULL, "out of memory", NULL, NULL);
    }
    return gw_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.text, b.len, NULL);
}
