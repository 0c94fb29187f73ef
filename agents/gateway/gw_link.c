/* gw_link.c — the agency's receiver inside the gateway (see gw_link.h). */
#include "gw_link.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_cap.h"
#include "vigil/agent_relay.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/track_json.h"

#define S_RECEIVE_WAIT_MS 200 /* one wait for a delivery; bounds event latency too */
#define S_PING_EVERY_MS 2000  /* broker ping for health */
#define S_PING_WAIT_MS 1000   /* how long a ping waits */
#define S_INBOX_BATCH 256     /* inbox rows handed on per pass */
#define S_FILL_WAIT_MS 2000   /* fetching missed events */

struct gw_link {
    pthread_t thread;       /* the loop */
    atomic_bool stop;       /* asked to stop */
    vga_agent *rx;          /* receive + events (owned) */
    gw_db *db;              /* its own connection (owned) */
    gw_hub *hub;            /* where events go */
    gw_metrics *m;          /* counters */
    gw_link_wake_fn wake;   /* the webhooks */
    void *wake_ctx;         /* their context */
    int64_t inbox_row;      /* handed on up to here */
    int64_t link_row;       /* indexed for links up to here */
    int64_t last_ping_mono; /* last broker ping */
};

/* ---- the inbox --------------------------------------------------------------------- */

/* Records the CAP reference of an alert that came from CAP, so a later CAP
 * Update or Cancel published here can reference it. */
static void
s_note_cap_ref(gw_link *l, const vga_inbox_item *it)
{
    if (it->open_rc != VG_OK) {
        return;
    }
    for (size_t i = 0; i < it->alert.n_subjects; i++) {
        const char *sc = it->alert.subjects[i].scheme;
        if (sc != NULL && strcmp(sc, "cap.identifier") == 0) {
            char triple[GW_CAP_TRIPLE_MAX];
            gw_cap_triple(triple, sizeof triple, &it->alert);
            if (gw_db_cap_ref_put(l->db, triple, it->alert_id) != VG_OK) {
                vg_log(VG_LOG_WARN, "gateway", "capref.error", "row=%lld", (long long)it->row);
            }
            return;
        }
    }
}

static void
s_hand_on_inbox(gw_link *l)
{
    bool queued = false;
    for (int i = 0; i < S_INBOX_BATCH && !atomic_load(&l->stop); i++) {
        vga_inbox_item it;
        bool found = false;
        if (vga_inbox_next(l->rx, l->inbox_row, &it, &found) != VG_OK || !found) {
            break;
        }
        if (it.open_rc != VG_OK) {
            vg_log(VG_LOG_WARN, "gateway", "inbox.unopenable", "row=%lld code=%s reason=\"%s\"",
                   (long long)it.row, vg_err_code(it.open_rc), it.open_why.text);
        }
        s_note_cap_ref(l, &it);
        vg_err rc =
            gw_db_queue_alert(l->db, it.row, it.alert_id, vg_clock_wall_ms(vg_clock_system()));
        int64_t row = it.row;
        vga_inbox_item_fini(&it);
        if (rc != VG_OK) {
            vg_log(VG_LOG_ERROR, "gateway", "queue.error", "row=%lld", (long long)row);
            break; /* tried again on the next pass: the cursor did not move */
        }
        l->inbox_row = row;
        atomic_store(&l->m->inbox_row, row);
        atomic_fetch_add(&l->m->alerts_received, 1);
        queued = true;
    }
    if (queued && l->wake != NULL) {
        l->wake(l->wake_ctx);
    }
}

/* ---- the link index --------------------------------------------------------------------- */

/* Appends "prefix" + text (lowercased when lower) to key; labels keep text. */
static void
s_key(char *key, const char *prefix, const char *text, bool lower)
{
    size_t n = (size_t)snprintf(key, GW_LINK_KEY_MAX, "%s", prefix);
    for (size_t i = 0; text != NULL && text[i] != '\0' && n + 1 < GW_LINK_KEY_MAX; i++) {
        key[n++] = lower ? (char)tolower((unsigned char)text[i]) : text[i];
    }
    key[n] = '\0';
}

size_t
gw_link_keys(const vg_alert *a, bool refs, char (*keys)[GW_LINK_KEY_MAX],
             char (*labels)[GW_LINK_KEY_MAX], size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < a->incidents.n && n < max; i++, n++) {
        s_key(keys[n], "incident:", a->incidents.items[i], true);
        if (labels != NULL) {
            snprintf(labels[n], GW_LINK_KEY_MAX, "incident %s", a->incidents.items[i]);
        }
    }
    for (size_t i = 0; i < a->n_subjects && n < max; i++) {
        const vg_subject *sb = &a->subjects[i];
        if (sb->scheme == NULL || sb->value == NULL || strncmp(sb->scheme, "cap.", 4) == 0) {
            continue; /* CAP's kept fields are not about a subject */
        }
        char prefix[GW_LINK_KEY_MAX];
        snprintf(prefix, sizeof prefix, "subject:%s\x1f", sb->scheme);
        s_key(keys[n], prefix, sb->value, true);
        if (labels != NULL) {
            snprintf(labels[n], GW_LINK_KEY_MAX, "subject %s %s", sb->scheme, sb->value);
        }
        n++;
    }
    for (size_t i = 0; refs && i < a->n_references && n < max; i++, n++) {
        char hex[VG_ALERT_ID_HEX_LEN + 1];
        vg_alert_id_hex(hex, a->references[i]);
        s_key(keys[n], "ref:", hex, false);
        if (labels != NULL) {
            snprintf(labels[n], GW_LINK_KEY_MAX, "references %s", hex);
        }
    }
    return n;
}

/* Indexes the inbox rows after link_row: each alert's keys, the cursor
 * moved in the same transaction. */
static void
s_index_inbox(gw_link *l)
{
    char(*keys)[GW_LINK_KEY_MAX] = malloc(GW_LINK_KEYS_MAX * sizeof *keys);
    const char *ptrs[GW_LINK_KEYS_MAX];
    for (int i = 0; keys != NULL && i < S_INBOX_BATCH && !atomic_load(&l->stop); i++) {
        vga_inbox_item it;
        bool found = false;
        if (vga_inbox_next(l->rx, l->link_row, &it, &found) != VG_OK || !found) {
            break;
        }
        size_t n =
            it.open_rc == VG_OK ? gw_link_keys(&it.alert, true, keys, NULL, GW_LINK_KEYS_MAX) : 0;
        for (size_t k = 0; k < n; k++) {
            ptrs[k] = keys[k];
        }
        vg_err rc = gw_db_links_put(l->db, it.open_rc == VG_OK ? it.alert.created_ms : 0,
                                    it.alert_id, ptrs, n, "link_row", it.row);
        int64_t row = it.row;
        vga_inbox_item_fini(&it);
        if (rc != VG_OK) {
            vg_log(VG_LOG_ERROR, "gateway", "links.error", "row=%lld", (long long)row);
            break; /* tried again on the next pass: the cursor did not move */
        }
        l->link_row = row;
    }
    free(keys);
}

/* ---- the event stream ----------------------------------------------------------------- */

static bool
s_push(gw_link *l, const vga_event *e)
{
    if (!gw_hub_push(l->hub, e)) {
        return false;
    }
    atomic_fetch_add(&l->m->events_received, 1);
    char *json = NULL;
    if (vga_event_to_json(&json, e) != VG_OK ||
        gw_db_queue_event(l->db, e->seq, vga_event_kind_name(e->kind), json,
                          vg_clock_wall_ms(vg_clock_system())) != VG_OK) {
        vg_log(VG_LOG_ERROR, "gateway", "queue.error", "event=%llu", (unsigned long long)e->seq);
    }
    free(json);
    return true;
}

/* Fetches the events after the hub's head up to (not including) `upto`
 * from the broker's store. With catch_up, finding none is no gap. */
static void
s_fill(gw_link *l, uint64_t upto, bool catch_up)
{
    bool known = false;
    uint64_t head = gw_hub_head(l->hub, &known);
    while (known && head + 1 < upto && !atomic_load(&l->stop)) {
        vga_event *evs = NULL;
        size_t n = 0;
        vg_reason why = {{0}};
        vg_err rc = vga_events_since(l->rx, head, S_FILL_WAIT_MS, &evs, &n, &why);
        if (rc != VG_OK || (n == 0 && !catch_up)) {
            vg_log(VG_LOG_WARN, "gateway", "events.gap", "after=%llu reason=\"%s\"",
                   (unsigned long long)head, why.text);
        }
        for (size_t i = 0; rc == VG_OK && i < n && evs[i].seq < upto; i++) {
            (void)s_push(l, &evs[i]);
        }
        free(evs);
        uint64_t next = gw_hub_head(l->hub, &known);
        if (rc != VG_OK || next == head) {
            return; /* nothing usable came: try again later */
        }
        head = next;
    }
}

/* Where the stream stood when the gateway last queued an event (its
 * cursor), or, the first time, the broker's current head. */
static void
s_start_stream(gw_link *l)
{
    bool known = false;
    (void)gw_hub_head(l->hub, &known);
    if (known) {
        return;
    }
    int64_t cursor = 0;
    bool found = false;
    if (gw_db_cursor(l->db, "event_seq", &cursor, &found) == VG_OK && found) {
        gw_hub_start(l->hub, (uint64_t)cursor);
        return;
    }
    vga_status_list list;
    vg_reason why = {{0}};
    if (vga_outstanding(l->rx, S_PING_WAIT_MS, &list, &why) != VG_OK) {
        return; /* the broker is not reachable yet: tried again at the next ping */
    }
    uint64_t head = list.last_event_seq;
    vga_status_list_fini(&list);
    if (gw_db_cursor_set(l->db, "event_seq", (int64_t)head) == VG_OK) {
        gw_hub_start(l->hub, head);
        vg_log(VG_LOG_INFO, "gateway", "events.start", "head=%llu", (unsigned long long)head);
    }
}

static void
s_take_events(gw_link *l)
{
    vga_event e;
    while (!atomic_load(&l->stop) && vga_next_event(l->rx, 0, &e) == VG_OK) {
        bool known = false;
        uint64_t head = gw_hub_head(l->hub, &known);
        if (!known || e.seq <= head) {
            continue; /* before the stream's start, or already in */
        }
        if (e.seq > head + 1) {
            s_fill(l, e.seq, false);
        }
        (void)s_push(l, &e); /* refused if the fill fell short: the next event fills again */
    }
}

/* ---- the loop ------------------------------------------------------------------------------ */

static void
s_ping(gw_link *l)
{
    int64_t now = vg_clock_mono_ms(vg_clock_system());
    if (now - l->last_ping_mono < S_PING_EVERY_MS) {
        return;
    }
    l->last_ping_mono = now;
    vg_reason why = {{0}};
    bool up = vga_sync_network(l->rx, S_PING_WAIT_MS, NULL, &why) == VG_OK;
    if (up) {
        atomic_store(&l->m->last_broker_contact_ms, vg_clock_wall_ms(vg_clock_system()));
    }
    if (up != (atomic_load(&l->m->broker_up) != 0)) {
        vg_log(up ? VG_LOG_INFO : VG_LOG_WARN, "gateway", up ? "broker.up" : "broker.down",
               "agency=%s", vga_agent_agency(l->rx));
    }
    atomic_store(&l->m->broker_up, up ? 1 : 0);
    size_t depth = 0;
    if (vga_outbox_count(l->rx, &depth) == VG_OK) {
        atomic_store(&l->m->outbox_depth, (long long)depth);
    }
    s_start_stream(l);
    if (up) {
        /* Events made while the gateway was away, or before the broker had
         * its subscription, never come live: ask the store. */
        s_fill(l, UINT64_MAX, true);
    }
}

static void *
s_run(void *arg)
{
    gw_link *l = arg;
    while (!atomic_load(&l->stop)) {
        vg_alert a = {0};
        vg_reason why = {{0}};
        if (vga_receive(l->rx, S_RECEIVE_WAIT_MS, &a, &why) == VG_OK) {
            vg_alert_fini(&a); /* it is in the inbox; handed on from there below */
        }
        s_hand_on_inbox(l);
        s_index_inbox(l);
        s_take_events(l);
        s_ping(l);
    }
    return NULL;
}

vg_err
gw_link_start(gw_link **out, const char *config_path, gw_db **db_p, gw_hub *hub, gw_metrics *m,
              gw_link_wake_fn wake, void *wake_ctx, vg_reason *why)
{
    gw_link *l = calloc(1, sizeof *l);
    if (l == NULL) {
        gw_db_destroy(db_p);
        return VG_ERR_NOMEM;
    }
    l->db = *db_p;
    *db_p = NULL;
    l->hub = hub;
    l->m = m;
    l->wake = wake;
    l->wake_ctx = wake_ctx;
    l->last_ping_mono = vg_clock_mono_ms(vg_clock_system()) - S_PING_EVERY_MS;
    bool found = false;
    vg_err rc = gw_db_cursor(l->db, "inbox_row", &l->inbox_row, &found);
    rc = rc == VG_OK ? gw_db_cursor(l->db, "link_row", &l->link_row, &found) : rc;
    vga_options opts = {.receive = true, .events = true, .software = "vigil-gateway"};
    if (rc == VG_OK) {
        rc = vga_agent_open(&l->rx, config_path, &opts, why);
    }
    if (rc == VG_OK && pthread_create(&l->thread, NULL, s_run, l) != 0) {
        rc = vg_reason_set(why, VG_ERR_INTERNAL, "cannot start the link thread");
    }
    if (rc != VG_OK) {
        vga_agent_destroy(&l->rx);
        gw_db_destroy(&l->db);
        free(l);
        return rc;
    }
    *out = l;
    return VG_OK;
}

void
gw_link_stop(gw_link **link_p)
{
    if (link_p == NULL || *link_p == NULL) {
        return;
    }
    gw_link *l = *link_p;
    atomic_store(&l->stop, true);
    pthread_join(l->thread, NULL);
    vga_agent_destroy(&l->rx);
    gw_db_destroy(&l->db);
    free(l);
    *link_p = NULL;
}
