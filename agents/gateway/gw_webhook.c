/* gw_webhook.c — signed webhook deliveries from gateway.db (see gw_webhook.h). */
#include "gw_webhook.h"
#include "gw_wait.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "gw_cap.h"
#include "vigil/agent_relay.h"
#include "vigil/alert_json.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/webhook.h"

#define S_IDLE_WAIT_MS 1000 /* longest sleep when nothing is due */
#define S_ALARMS_MAX 64     /* webhooks whose alarm state is remembered */

typedef struct s_alarm {
    char name[GW_NAME_MAX]; /* webhook */
    bool on;                /* its alarm was raised */
} s_alarm;

struct gw_webhooks {
    pthread_t thread;              /* the sender */
    pthread_mutex_t lock;          /* guards woken */
    pthread_cond_t cond;           /* wake-ups */
    bool woken;                    /* something was queued */
    atomic_bool stop;              /* asked to stop */
    gw_db *db;                     /* its own connection (owned) */
    vga_agent *agent;              /* reads the inbox (owned) */
    const vga_gateway_config *cfg; /* timings */
    gw_hub *hub;                   /* where alarm notices go */
    CURL *curl;                    /* one handle, reused */
    s_alarm alarms[S_ALARMS_MAX];  /* raised alarms */
};

/* ---- bodies -------------------------------------------------------------------------- */

/* The CAP reference of another alert, from the inbox. */
static bool
s_resolve(void *ctx, const uint8_t id[VG_ALERT_ID_LEN], char *triple, size_t len)
{
    vga_inbox_item it;
    bool found = false;
    if (vga_inbox_read(ctx, id, &it, &found) != VG_OK || !found) {
        return false;
    }
    bool ok = it.open_rc == VG_OK;
    if (ok) {
        gw_cap_triple(triple, len, &it.alert);
    }
    vga_inbox_item_fini(&it);
    return ok;
}

/* The body of a delivery: *body malloc'ed, *ctype static. */
static vg_err
s_body(gw_webhooks *w, const gw_delivery *d, bool cap, char **body, const char **ctype)
{
    *ctype = "application/json";
    if (d->is_event) {
        *body = strdup(d->event_json ? d->event_json : "{}");
        return *body ? VG_OK : VG_ERR_NOMEM;
    }
    vga_inbox_item it;
    bool found = false;
    vg_err rc = vga_inbox_read(w->agent, d->alert_id, &it, &found);
    if (rc != VG_OK) {
        return rc;
    }
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, d->alert_id);
    if (!found || it.open_rc != VG_OK) { /* said, never skipped */
        char text[VG_REASON_MAX + 128];
        snprintf(text, sizeof text, "{\"id\":\"%s\",\"unopenable\":true,\"code\":\"%s\"}", idhex,
                 vg_err_code(found ? it.open_rc : VG_ERR_NOT_FOUND));
        *body = strdup(text);
        rc = *body ? VG_OK : VG_ERR_NOMEM;
    } else if (cap) {
        *ctype = "application/cap+xml";
        rc = gw_cap_export(body, NULL, &it.alert, s_resolve, w->agent);
    } else {
        rc = vga_alert_to_json(body, &it.alert);
    }
    if (found) {
        vga_inbox_item_fini(&it);
    }
    return rc;
}

/* ---- one attempt ------------------------------------------------------------------------ */

/* POSTs body (signed, vigil/webhook.h); returns the HTTP status (0 when
 * none) and fills err. */
static long
s_post(gw_webhooks *w, const gw_webhook_row *hook, const gw_delivery *d, const char *body,
       const char *ctype, char *err, size_t err_len)
{
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, d->alert_id);
    char h[4][160];
    snprintf(h[0], sizeof h[0], "Vigil-Webhook: %s", hook->name);
    snprintf(h[1], sizeof h[1], "Vigil-Delivery: %" PRId64, d->id);
    snprintf(h[2], sizeof h[2], "Vigil-Kind: %s", d->kind);
    snprintf(h[3], sizeof h[3], "Vigil-Alert-Id: %s", idhex);
    vg_webhook_req req = {.url = hook->url,
                          .body = body,
                          .len = strlen(body),
                          .content_type = ctype,
                          .headers = {h[0], h[1], h[2], d->is_event ? NULL : h[3]},
                          .hmac_key = hook->secret,
                          .hmac_key_len = GW_WEBHOOK_SECRET_LEN,
                          .ts = vg_clock_wall_ms(vg_clock_system()) / 1000,
                          .user_agent = "vigil-gateway",
                          .timeout_ms = w->cfg->webhook_timeout_ms};
    vg_webhook_res res;
    (void)vg_webhook_post(w->curl, &req, &res); /* the caller judges the status */
    snprintf(err, err_len, "%s", res.text);
    return res.status;
}

/* ---- alarms --------------------------------------------------------------------------------- */

static s_alarm *
s_alarm_of(gw_webhooks *w, const char *name)
{
    s_alarm *spare = NULL;
    for (size_t i = 0; i < S_ALARMS_MAX; i++) {
        if (strcmp(w->alarms[i].name, name) == 0) {
            return &w->alarms[i];
        }
        spare = spare == NULL && w->alarms[i].name[0] == '\0' ? &w->alarms[i] : spare;
    }
    if (spare != NULL) {
        snprintf(spare->name, sizeof spare->name, "%s", name);
    }
    return spare;
}

/* Raises or clears a webhook's alarm, once each way. */
static void
s_alarm_set(gw_webhooks *w, const char *name, bool on, int64_t since_ms, const char *error)
{
    s_alarm *a = s_alarm_of(w, name);
    if (a == NULL || a->on == on) {
        return;
    }
    a->on = on;
    char since[VG_TIME_STR_LEN], notice[GW_NOTICE_MAX];
    vg_time_format(since, sizeof since, since_ms);
    if (on) {
        vg_log(VG_LOG_ERROR, "gateway", "webhook.alarm", "webhook=%s failing_since=%s error=\"%s\"",
               name, since, error);
        snprintf(notice, sizeof notice,
                 "{\"kind\":\"webhook_alarm\",\"webhook\":\"%s\",\"failing_since\":\"%s\"}", name,
                 since);
    } else {
        vg_log(VG_LOG_INFO, "gateway", "webhook.recovered", "webhook=%s", name);
        snprintf(notice, sizeof notice, "{\"kind\":\"webhook_recovered\",\"webhook\":\"%s\"}",
                 name);
    }
    gw_hub_notice(w->hub, notice);
}

/* ---- the loop ----------------------------------------------------------------------------------
 */

static int64_t
s_backoff_ms(const gw_webhooks *w, int64_t attempts)
{
    int64_t ms = 1000;
    for (int64_t i = 1; i < attempts && ms < (int64_t)w->cfg->webhook_backoff_max_ms; i++) {
        ms *= 2;
    }
    return ms < (int64_t)w->cfg->webhook_backoff_max_ms ? ms
                                                        : (int64_t)w->cfg->webhook_backoff_max_ms;
}

static void
s_deliver(gw_webhooks *w, const gw_delivery *d)
{
    gw_webhook_row *hooks = NULL;
    size_t n = 0;
    if (gw_db_webhooks(w->db, &hooks, &n) != VG_OK) {
        return;
    }
    const gw_webhook_row *hook = NULL;
    for (size_t i = 0; i < n && hook == NULL; i++) {
        hook = strcmp(hooks[i].name, d->webhook) == 0 ? &hooks[i] : NULL;
    }
    char *body = NULL;
    const char *ctype = NULL;
    char err[256] = "";
    long status = 0;
    int64_t start = vg_clock_mono_ms(vg_clock_system());
    if (hook == NULL) {
        snprintf(err, sizeof err, "the webhook was removed");
    } else if (s_body(w, d, hook->cap, &body, &ctype) != VG_OK) {
        snprintf(err, sizeof err, "cannot make the body (inbox unreadable)");
    } else {
        status = s_post(w, hook, d, body, ctype, err, sizeof err);
    }
    free(body);
    int64_t now = vg_clock_wall_ms(vg_clock_system());
    int64_t took = vg_clock_mono_ms(vg_clock_system()) - start;
    bool ok = status >= 200 && status < 300;
    int64_t next = now + s_backoff_ms(w, d->attempts + 1);
    if (gw_db_attempt(w->db, d, ok, status, ok ? NULL : err, now, took, next) != VG_OK) {
        vg_log(VG_LOG_ERROR, "gateway", "webhook.record", "webhook=%s delivery=%" PRId64,
               d->webhook, d->id);
    }
    vg_log(ok ? VG_LOG_INFO : VG_LOG_WARN, "gateway", ok ? "webhook.delivered" : "webhook.failed",
           "webhook=%s delivery=%" PRId64 " kind=%s attempt=%" PRId64 " status=%ld ms=%" PRId64
           "%s%s%s",
           d->webhook, d->id, d->kind, d->attempts + 1, status, took, ok ? "" : " error=\"",
           ok ? "" : err, ok ? "" : "\"");
    int64_t since = d->first_failure_ms > 0 ? d->first_failure_ms : now;
    if (hook != NULL) {
        s_alarm_set(w, d->webhook, !ok && now - since >= (int64_t)w->cfg->webhook_alarm_ms, since,
                    err);
    }
    gw_webhook_rows_free(hooks, n);
}

static void
s_sleep(gw_webhooks *w, int64_t ms)
{
    struct timespec until = gw_deadline(ms);
    pthread_mutex_lock(&w->lock);
    while (!w->woken && !atomic_load(&w->stop)) {
        if (pthread_cond_timedwait(&w->cond, &w->lock, &until) == ETIMEDOUT) {
            break;
        }
    }
    w->woken = false;
    pthread_mutex_unlock(&w->lock);
}

static void *
s_run(void *arg)
{
    gw_webhooks *w = arg;
    while (!atomic_load(&w->stop)) {
        int64_t now = vg_clock_wall_ms(vg_clock_system());
        gw_delivery d;
        bool found = false;
        int64_t next_due = 0;
        if (gw_db_next_due(w->db, now, &d, &found, &next_due) == VG_OK && found) {
            s_deliver(w, &d);
            gw_delivery_fini(&d);
            continue;
        }
        int64_t wait = next_due > 0 ? next_due - now : S_IDLE_WAIT_MS;
        s_sleep(w, wait < 1 ? 1 : wait > S_IDLE_WAIT_MS ? S_IDLE_WAIT_MS : wait);
    }
    return NULL;
}

void
gw_webhooks_wake(void *webhooks)
{
    gw_webhooks *w = webhooks;
    pthread_mutex_lock(&w->lock);
    w->woken = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

vg_err
gw_webhooks_start(gw_webhooks **out, const char *config_path, gw_db **db_p,
                  const vga_gateway_config *cfg, gw_hub *hub, vg_reason *why)
{
    gw_webhooks *w = calloc(1, sizeof *w);
    if (w == NULL) {
        gw_db_destroy(db_p);
        return VG_ERR_NOMEM;
    }
    w->db = *db_p;
    *db_p = NULL;
    w->cfg = cfg;
    w->hub = hub;
    pthread_mutex_init(&w->lock, NULL);
    gw_cond_init(&w->cond);
    vga_options opts = {.software = "vigil-gateway"};
    vg_err rc = vga_agent_open(&w->agent, config_path, &opts, why);
    if (rc == VG_OK && (w->curl = curl_easy_init()) == NULL) {
        rc = vg_reason_set(why, VG_ERR_NOMEM, "cannot set up libcurl");
    }
    if (rc == VG_OK && pthread_create(&w->thread, NULL, s_run, w) != 0) {
        rc = vg_reason_set(why, VG_ERR_INTERNAL, "cannot start the webhook thread");
    }
    if (rc != VG_OK) {
        if (w->curl != NULL) {
            curl_easy_cleanup(w->curl);
        }
        vga_agent_destroy(&w->agent);
        gw_db_destroy(&w->db);
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return rc;
    }
    *out = w;
    return VG_OK;
}

void
gw_webhooks_stop(gw_webhooks **w_p)
{
    if (w_p == NULL || *w_p == NULL) {
        return;
    }
    gw_webhooks *w = *w_p;
    atomic_store(&w->stop, true);
    gw_webhooks_wake(w);
    pthread_join(w->thread, NULL);
    curl_easy_cleanup(w->curl);
    vga_agent_destroy(&w->agent);
    gw_db_destroy(&w->db);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w);
    *w_p = NULL;
}
