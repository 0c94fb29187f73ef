/* retain.c — purges past retention and legal holds (retain.h). */
#include "retain.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store_retain.h"
#include "vigil/log.h"
#include "vigil/util.h"
#include "vigil/wire.h"

#define S_PAGE 256 /* candidates read at a time */

struct vgb_retain {
    vgb_retain_deps d; /* what it works through */
    int64_t next_mono; /* the next scheduled purge (monotonic ms), 0: not yet set */
};

vg_err
vgb_retain_new(vgb_retain **out, const vgb_retain_deps *d)
{
    vgb_retain *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return VG_ERR_NOMEM;
    }
    r->d = *d;
    *out = r;
    return VG_OK;
}

void
vgb_retain_destroy(vgb_retain **r_p)
{
    if (r_p != NULL) {
        free(*r_p);
        *r_p = NULL;
    }
}

/* ---- what is due ------------------------------------------------------------------- */

/* One alert a run purges. */
typedef struct s_due {
    uint64_t seq;                /* the alert */
    uint8_t id[VG_ALERT_ID_LEN]; /* its id */
    bool content, tags;          /* what goes now */
} s_due;

/* A run: what is due, what is kept and why, and its listing. */
typedef struct s_run {
    const vg_netdoc *doc;  /* the rules */
    int64_t now_ms;        /* wall clock */
    bool dry_run;          /* list only */
    s_due *due;            /* VGB_RETAIN_RUN_MAX of them */
    size_t n_due;          /* found */
    size_t n_more;         /* due beyond VGB_RETAIN_RUN_MAX: the next run's */
    size_t n_held;         /* due but under a legal hold */
    size_t n_pending;      /* due but a recipient still waits for its delivery */
    uint64_t after;        /* the paging cursor */
    size_t n_page;         /* rows in this page */
    char *list;            /* the dry run's lines, malloc'ed (list_len bytes) */
    size_t list_len, used; /* its size and what is written */
    size_t n_unlisted;     /* lines that did not fit */
} s_run;

static void
s_say(s_run *run, const char *fmt, ...)
{
    if (run->list == NULL) {
        return;
    }
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || run->used + (size_t)n >= run->list_len) {
        run->n_unlisted++;
        return;
    }
    memcpy(run->list + run->used, line, (size_t)n + 1);
    run->used += (size_t)n;
}

static bool
s_take(void *ctx, const vgb_retain_row *row)
{
    s_run *run = ctx;
    run->after = row->seq;
    run->n_page++;
    uint64_t content_ms = 0, tags_ms = 0;
    vg_netdoc_retention(run->doc, row->status, row->categories, &content_ms, &tags_ms);
    /* how long it has been kept, compared unsigned: a retention of any
     * length never wraps into "due" */
    uint64_t age = row->accepted_ms <= run->now_ms ? (uint64_t)(run->now_ms - row->accepted_ms) : 0;
    bool content = content_ms > 0 && row->content_gone_ms == 0 && age >= content_ms;
    bool tags = tags_ms > 0 && row->tags_gone_ms == 0 && age >= tags_ms;
    if (!content && !tags) {
        return true;
    }
    char hex[2 * VG_ALERT_ID_LEN + 1];
    vg_hex_encode(hex, sizeof hex, row->id, VG_ALERT_ID_LEN);
    const char *what = content && tags ? "content+tags" : content ? "content" : "tags";
    if (row->held || (content && row->pending)) {
        run->n_held += row->held;
        run->n_pending += !row->held;
        s_say(run, "\nkeep alert=%s (%s due): %s", hex, what,
              row->held ? "legal hold" : "a recipient still waits for its delivery");
        return true;
    }
    if (run->n_due == VGB_RETAIN_RUN_MAX) {
        run->n_more++;
        return true;
    }
    s_due *d = &run->due[run->n_due++];
    *d = (s_due){.seq = row->seq, .content = content, .tags = tags};
    memcpy(d->id, row->id, VG_ALERT_ID_LEN);
    char at[VG_TIME_STR_LEN];
    vg_time_format(at, sizeof at, row->accepted_ms);
    s_say(run, "\npurge alert=%s status=%s accepted=%s %s", hex,
          vg_status_name((vg_status)row->status), at, what);
    return true;
}

static vg_err
s_find(vgb_retain *r, s_run *run)
{
    uint64_t shortest = vg_netdoc_retention_shortest(run->doc);
    if (shortest == 0 || run->now_ms < 0 || shortest > (uint64_t)run->now_ms) {
        return VG_OK; /* no rule, or none that anything accepted since 1970 is past */
    }
    /* nothing accepted after now - shortest is due: the store skips it */
    int64_t before = run->now_ms - (int64_t)shortest + 1;
    vg_err rc = VG_OK;
    do {
        run->n_page = 0;
        rc = vgb_store_retain_candidates(r->d.store, before, run->after, S_PAGE, s_take, run);
    } while (rc == VG_OK && run->n_page == S_PAGE);
    return rc;
}

/* Purges what run found, in one batch, then scrubs. VG_ERR_IO with why
 * from the scrub alone means: purged and committed, the WAL not emptied. */
static vg_err
s_apply(vgb_retain *r, s_run *run, bool *committed, vg_reason *why)
{
    *committed = false;
    if (run->n_due == 0) {
        return VG_OK;
    }
    (void)r->d.commit(r->d.commit_ctx); /* nothing of another batch rides along */
    if (!vgb_batch_txn(r->d.batch)) {
        return vg_reason_set(why, VG_ERR_IO, "the store cannot open a transaction");
    }
    vg_err rc = VG_OK;
    for (size_t i = 0; i < run->n_due && rc == VG_OK; i++) {
        const s_due *d = &run->due[i];
        vgb_alert_meta meta;
        uint8_t hash[VG_HASH_LEN];
        uint64_t version = 0;
        const char *what = d->content && d->tags ? "content+tags" : d->content ? "content" : "tags";
        rc = vgb_store_alert_by_id(r->d.store, d->id, &meta, hash, &version);
        rc = rc == VG_OK ? vgb_store_purge(r->d.store, d->seq, d->content, d->tags, run->now_ms)
                         : rc;
        rc = rc == VG_OK ? vgb_record_purged(r->d.record, d->seq, d->id, hash, what) : rc;
    }
    if (rc != VG_OK) {
        vgb_batch_fail(r->d.batch);
    }
    if (!r->d.commit(r->d.commit_ctx) || rc != VG_OK) {
        rc = rc != VG_OK ? rc : VG_ERR_IO;
        return vg_reason_set(why, rc, "the store could not purge (%s); nothing was purged",
                             vg_strerror(rc));
    }
    *committed = true;
    return vgb_store_scrub(r->d.store, why);
}

/* One run; reply (may be NULL: the schedule's) says what happened. */
static vg_err
s_purge(vgb_retain *r, const vg_netdoc *doc, bool dry_run, char *reply, size_t reply_len)
{
    s_run run = {.doc = doc,
                 .now_ms = vg_clock_wall_ms(r->d.clock),
                 .dry_run = dry_run,
                 .due = calloc(VGB_RETAIN_RUN_MAX, sizeof(s_due)),
                 .list = reply ? calloc(1, reply_len) : NULL,
                 .list_len = reply_len};
    vg_reason why = {{0}};
    bool committed = false;
    vg_err rc = run.due != NULL && (reply == NULL || run.list != NULL) ? VG_OK : VG_ERR_NOMEM;
    rc = rc == VG_OK ? s_find(r, &run) : rc;
    if (rc == VG_OK && !dry_run) {
        rc = s_apply(r, &run, &committed, &why);
    }
    if (rc == VG_OK || committed) {
        vg_log(committed ? VG_LOG_INFO : VG_LOG_DEBUG, "broker", "purge.done",
               "alerts=%zu held=%zu pending=%zu more=%zu dry_run=%d", committed ? run.n_due : 0,
               run.n_held, run.n_pending, run.n_more, dry_run);
    } else {
        vg_log(VG_LOG_ERROR, "broker", "purge.failed", "code=%s reason=\"%s\"", vg_err_code(rc),
               why.text);
    }
    if (reply != NULL && (rc == VG_OK || committed)) {
        int n = snprintf(
            reply, reply_len,
            "ok %s %zu alert%s%s; kept under a legal hold: %zu; kept while a recipient waits for "
            "delivery: %zu%s%s%s",
            dry_run ? "would purge" : "purged", run.n_due, run.n_due == 1 ? "" : "s",
            run.n_more ? " (more are due: they go at the next run)" : "", run.n_held, run.n_pending,
            vg_netdoc_retention_shortest(doc) == 0 ? "; the network document sets no retention"
                                                   : "",
            rc != VG_OK ? "; warning: " : "", rc != VG_OK ? why.text : "");
        if (dry_run && n > 0 && (size_t)n < reply_len) {
            snprintf(reply + n, reply_len - (size_t)n, "%s", run.list);
        }
    } else if (reply != NULL) {
        snprintf(reply, reply_len, "refused: %s", why.text[0] ? why.text : vg_strerror(rc));
    }
    free(run.due);
    free(run.list);
    return committed ? VG_OK : rc;
}

long
vgb_retain_service(vgb_retain *r, const vg_netdoc *doc)
{
    if (r->d.interval_ms == 0) {
        return LONG_MAX;
    }
    int64_t now = vg_clock_mono_ms(r->d.clock);
    if (r->next_mono == 0) {
        r->next_mono = now + (int64_t)r->d.interval_ms;
    }
    if (now >= r->next_mono) {
        (void)s_purge(r, doc, false, NULL, 0); /* logged */
        r->next_mono = now + (int64_t)r->d.interval_ms;
    }
    int64_t wait = r->next_mono - now;
    return wait > LONG_MAX ? LONG_MAX : (long)wait;
}

/* ---- legal holds ------------------------------------------------------------------- */

/* The next line of text (up to '\n' or its end) into out; false when it is
 * missing, too long or not printable. */
static bool
s_line(const char **p, const char *end, char *out, size_t out_len)
{
    if (*p > end) {
        return false;
    }
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t len = (size_t)((nl ? nl : end) - *p);
    if (len == 0 || len >= out_len) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)(*p)[i] < 0x20 || (*p)[i] == 0x7f) {
            return false;
        }
    }
    memcpy(out, *p, len);
    out[len] = '\0';
    *p = nl ? nl + 1 : end + 1;
    return true;
}

typedef struct s_list {
    char *reply;      /* the reply */
    size_t len, used; /* its size, what is written */
    size_t n, n_cut;  /* holds listed, holds that did not fit */
} s_list;

static void
s_list_hold(void *ctx, const vgb_hold_row *h)
{
    s_list *l = ctx;
    char hex[2 * VG_ALERT_ID_LEN + 1], at[VG_TIME_STR_LEN];
    vg_hex_encode(hex, sizeof hex, h->id, VG_ALERT_ID_LEN);
    vg_time_format(at, sizeof at, h->held_ms);
    int n = snprintf(l->reply + l->used, l->len - l->used, "\nalert=%s since=%s by=%s reason=%s",
                     hex, at, h->by, h->reason);
    if (n < 0 || l->used + (size_t)n + 48 >= l->len) {
        l->reply[l->used] = '\0';
        l->n_cut++;
        return;
    }
    l->used += (size_t)n;
    l->n++;
}

static void
s_hold_list(vgb_retain *r, char *reply, size_t reply_len)
{
    int n = snprintf(reply, reply_len, "ok legal holds:");
    s_list l = {.reply = reply, .len = reply_len, .used = (size_t)n};
    vg_err rc = vgb_store_holds(r->d.store, s_list_hold, &l);
    if (rc != VG_OK) {
        snprintf(reply, reply_len, "refused: the store could not be read (%s)", vg_strerror(rc));
    } else if (l.n == 0 && l.n_cut == 0) {
        snprintf(reply, reply_len, "ok no legal holds");
    } else if (l.n_cut > 0) {
        snprintf(reply + l.used, reply_len - l.used, "\n... and %zu more", l.n_cut);
    }
}

/* The hold record's hash, as its leaf holds it: BLAKE2b-256("BY\nREASON"). */
static void
s_hold_hash(uint8_t out[VG_HASH_LEN], const char *by, const char *reason)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, VG_HASH_LEN);
    crypto_generichash_update(&st, (const uint8_t *)by, strlen(by));
    crypto_generichash_update(&st, (const uint8_t *)"\n", 1);
    crypto_generichash_update(&st, (const uint8_t *)reason, strlen(reason));
    crypto_generichash_final(&st, out, VG_HASH_LEN);
}

/* add or remove: in one batch with its leaf. */
static void
s_hold_change(vgb_retain *r, bool add, const uint8_t id[VG_ALERT_ID_LEN], const char *hex,
              const char *by, const char *reason, char *reply, size_t reply_len)
{
    vgb_alert_meta meta;
    uint8_t env_hash[VG_HASH_LEN], hash[VG_HASH_LEN];
    uint64_t version = 0;
    vg_err rc = vgb_store_alert_by_id(r->d.store, id, &meta, env_hash, &version);
    if (rc == VG_ERR_NOT_FOUND) {
        snprintf(reply, reply_len, "refused: no alert %s in this store", hex);
        return;
    }
    s_hold_hash(hash, by, reason);
    (void)r->d.commit(r->d.commit_ctx);
    rc = rc != VG_OK ? rc : vgb_batch_txn(r->d.batch) ? VG_OK : VG_ERR_IO;
    if (rc == VG_OK && add) {
        vgb_hold_row h = {.held_ms = vg_clock_wall_ms(r->d.clock), .by = by, .reason = reason};
        memcpy(h.id, id, VG_ALERT_ID_LEN);
        rc = vgb_store_hold_add(r->d.store, &h);
    } else if (rc == VG_OK) {
        rc = vgb_store_hold_remove(r->d.store, id, NULL, NULL);
    }
    vg_err leaf = rc == VG_OK ? vgb_record_hold(r->d.record, meta.seq, id, add, hash) : VG_OK;
    if (rc != VG_OK || leaf != VG_OK) {
        vgb_batch_fail(r->d.batch);
    }
    bool committed = r->d.commit(r->d.commit_ctx);
    if (rc == VG_ERR_CONFLICT || rc == VG_ERR_NOT_FOUND) {
        snprintf(reply, reply_len, "refused: alert %s %s", hex,
                 add ? "is under a legal hold already (list them with: vigilctl hold list)"
                     : "is under no legal hold");
    } else if (rc != VG_OK || leaf != VG_OK || !committed) {
        snprintf(reply, reply_len, "refused: the store could not record it (%s); nothing changed",
                 vg_strerror(rc != VG_OK     ? rc
                             : leaf != VG_OK ? leaf
                                             : VG_ERR_IO));
    } else {
        vg_log(VG_LOG_INFO, "broker", add ? "hold.add" : "hold.remove", "alert=%s", hex);
        snprintf(reply, reply_len, "ok alert %s %s", hex,
                 add ? "is under a legal hold: it is not purged until the hold is lifted"
                     : "is under no legal hold now: retention applies to it again");
    }
}

static void
s_hold(vgb_retain *r, const uint8_t *body, size_t len, char *reply, size_t reply_len)
{
    const char *p = (const char *)body, *end = p + len;
    char verb[16], hex[2 * VG_ALERT_ID_LEN + 2], by[VGB_HOLD_TEXT_MAX], why[VGB_HOLD_TEXT_MAX];
    uint8_t id[VG_ALERT_ID_LEN];
    if (!s_line(&p, end, verb, sizeof verb)) {
        snprintf(reply, reply_len, "refused: a hold request starts with add, remove or list");
    } else if (strcmp(verb, "list") == 0) {
        s_hold_list(r, reply, reply_len);
    } else if (strcmp(verb, "add") != 0 && strcmp(verb, "remove") != 0) {
        snprintf(reply, reply_len, "refused: unknown hold request '%s' (add, remove, list)", verb);
    } else if (!s_line(&p, end, hex, sizeof hex) || strlen(hex) != 2 * VG_ALERT_ID_LEN ||
               vg_hex_decode(id, sizeof id, hex) != VG_OK) {
        snprintf(reply, reply_len, "refused: the alert id must be %d hex digits",
                 2 * VG_ALERT_ID_LEN);
    } else if (!s_line(&p, end, by, sizeof by) || !s_line(&p, end, why, sizeof why) || p <= end) {
        snprintf(reply, reply_len,
                 "refused: say who asks (--by) and why (--reason): one line of printable text "
                 "each, at most %d bytes",
                 VGB_HOLD_TEXT_MAX - 1);
    } else {
        s_hold_change(r, verb[0] == 'a', id, hex, by, why, reply, reply_len);
    }
}

bool
vgb_retain_control(vgb_retain *r, const vg_netdoc *doc, const char *command, const uint8_t *body,
                   size_t len, char *reply, size_t reply_len)
{
    if (strcmp(command, "purge") == 0) {
        bool dry = len == 7 && memcmp(body, "dry-run", 7) == 0;
        if (len != 0 && !dry) {
            snprintf(reply, reply_len, "refused: a purge request's body is empty or \"dry-run\"");
        } else {
            (void)s_purge(r, doc, dry, reply, reply_len);
        }
        return true;
    }
    if (strcmp(command, "hold") == 0) {
        s_hold(r, body, len, reply, reply_len);
        return true;
    }
    return false;
}
