/* notify.c — escalation steps that reach people: rotas, messages, outcomes
 * (notify.h). The sending is notify_send.c's, on its own thread. */
#include "notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zmq.h>

#include "notify_send.h"
#include "vigil/log.h"
#include "vigil/rota.h"
#include "vigil/util.h"

#define S_ENDPOINT_FMT "inproc://vigil-notify-%p"
#define S_PEOPLE_MAX 32 /* entries one step reaches, at most */

/* One agency's rota file and what was made of it. */
typedef struct s_rota_slot {
    vg_rota *rota;  /* in force, or NULL */
    struct stat st; /* the file as last looked at */
    bool present;   /* it was there */
} s_rota_slot;

/* A message: what its record needs. */
typedef struct s_job {
    uint64_t id;                            /* its note's */
    uint64_t seq;                           /* the alert */
    char agency[VG_AGENCY_ID_MAX + 1];      /* the late agency */
    uint32_t level;                         /* the step */
    char target[32];                        /* the step's target */
    char channel[VG_ROTA_NAME_MAX];         /* the channel */
    char to[VG_ROTA_ADDRESS_MAX];           /* the address */
    char rota_agency[VG_AGENCY_ID_MAX + 1]; /* whose rota named the person */
    bool sent;                              /* its outcome */
    char code[VGB_NOTE_CODE_MAX];           /* ... and why not */
} s_job;

typedef struct s_jobs {
    s_job *v;   /* malloc'ed */
    size_t n;   /* used */
    size_t cap; /* allocated */
} s_jobs;

/* A step in flight: its messages without a recorded outcome. */
typedef struct s_step {
    uint64_t seq;                      /* the alert */
    char agency[VG_AGENCY_ID_MAX + 1]; /* the late agency */
    uint32_t level;                    /* the step */
    size_t left;                       /* outcomes still to come */
    bool reached;                      /* one was sent */
} s_step;

struct vgb_notify {
    const vg_broker_config *cfg; /* borrowed */
    const vg_netdoc *doc;        /* borrowed */
    const vg_clock *clock;       /* borrowed */
    vgb_store *store;            /* borrowed */
    vgb_record *record;          /* borrowed */
    vgb_batch *batch;            /* borrowed */
    vgb_unreached_fn unreached;  /* a step that reached nobody */
    void *unreached_ctx;         /* its context */
    s_rota_slot *rotas;          /* one per agency of the document */
    size_t n_rotas;              /* how many */
    void *pair;                  /* the loop's end of the hand-off */
    vgb_sender *sender;          /* the worker */
    uint64_t next_id;            /* the next note's number */
    vgb_note *notes;             /* this batch's notes, sent after it commits */
    s_jobs staged;               /* ... and their jobs */
    s_jobs out;                  /* with the worker */
    s_jobs done;                 /* outcomes to record */
    size_t n_done_recorded;      /* of done, recorded in the open batch */
    s_step *steps;               /* steps in flight */
    size_t n_steps, cap_steps;   /* used, allocated */
    int64_t next_check_mono;     /* when the rota files are looked at next */
};

/* ---- small lists ------------------------------------------------------------- */

static bool
s_push(s_jobs *l, const s_job *j)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        s_job *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL) {
            return false;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *j;
    return true;
}

static void
s_drop_front(s_jobs *l, size_t k)
{
    if (k > 0 && k < l->n) { /* nothing to move (and maybe no array yet) otherwise */
        memmove(l->v, l->v + k, (l->n - k) * sizeof *l->v);
    }
    l->n -= k;
}

static s_step *
s_step_of(vgb_notify *n, const s_job *j, bool make)
{
    for (size_t i = 0; i < n->n_steps; i++) {
        s_step *s = &n->steps[i];
        if (s->seq == j->seq && s->level == j->level && strcmp(s->agency, j->agency) == 0) {
            return s;
        }
    }
    if (!make) {
        return NULL;
    }
    if (n->n_steps == n->cap_steps) {
        size_t cap = n->cap_steps ? 2 * n->cap_steps : 16;
        s_step *v = realloc(n->steps, cap * sizeof *v);
        if (v == NULL) {
            return NULL;
        }
        n->steps = v;
        n->cap_steps = cap;
    }
    s_step *s = &n->steps[n->n_steps++];
    *s = (s_step){.seq = j->seq, .level = j->level};
    snprintf(s->agency, sizeof s->agency, "%s", j->agency);
    return s;
}

/* ---- rotas ------------------------------------------------------------------- */

static bool
s_same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Reads agency i's rota again when its file changed. */
static void
s_check_rota(vgb_notify *n, size_t i)
{
    vg_agency ag;
    vg_netdoc_agency_at(n->doc, i, &ag);
    s_rota_slot *slot = &n->rotas[i];
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.json", n->cfg->notify_rotas, ag.id);
    struct stat st;
    if (stat(path, &st) != 0) {
        if (slot->present) {
            vg_log(VG_LOG_WARN, "broker", "rota.removed", "agency=%s path=%s", ag.id, path);
            vg_rota_destroy(&slot->rota);
        }
        slot->present = false;
        return;
    }
    if (slot->present && s_same_file(&slot->st, &st)) {
        return;
    }
    slot->present = true;
    slot->st = st;
    uint8_t *text = NULL;
    size_t len = 0;
    vg_rota *rota = NULL;
    vg_reason why = {{0}};
    vg_err rc = vg_file_read(&text, &len, path, VG_ROTA_MAX_BYTES, &why);
    rc = rc == VG_OK ? vg_rota_parse(&rota, (const char *)text, len, ag.id, &why) : rc;
    free(text);
    if (rc != VG_OK) { /* the one in force stays */
        vg_log(VG_LOG_ERROR, "broker", "rota.refused", "agency=%s path=%s code=%s reason=\"%s\"%s",
               ag.id, path, vg_err_code(rc), why.text,
               slot->rota ? " detail=\"the previous rota stays in force\"" : "");
        return;
    }
    vg_rota_destroy(&slot->rota);
    slot->rota = rota;
    vg_log(VG_LOG_INFO, "broker", "rota.loaded", "agency=%s path=%s", ag.id, path);
}

static void
s_check_rotas(vgb_notify *n)
{
    for (size_t i = 0; i < n->n_rotas; i++) {
        s_check_rota(n, i);
    }
}

static const vg_rota *
s_rota(const vgb_notify *n, const char *agency)
{
    int i = vg_netdoc_index(n->doc, agency);
    return i >= 0 && (size_t)i < n->n_rotas ? n->rotas[i].rota : NULL;
}

/* ---- who is told --------------------------------------------------------------- */

/* One person (an entry) to tell, and whose rota named them. */
typedef struct s_person {
    const vg_rota *rota; /* borrowed */
    vg_duty_entry entry; /* borrowed view */
} s_person;

typedef struct s_people {
    s_person v[S_PEOPLE_MAX]; /* found */
    size_t n;                 /* how many */
    bool any_rota;            /* a rota was consulted */
} s_people;

/* The entries of agency's rota on duty for duty (else for `instead`, when
 * not 0) at at_ms, added to p. */
static void
s_on_duty(const vgb_notify *n, s_people *p, const char *agency, vg_duty duty, vg_duty instead,
          int64_t at_ms)
{
    const vg_rota *r = s_rota(n, agency);
    if (r == NULL) {
        return;
    }
    p->any_rota = true;
    vg_duty_entry found[S_PEOPLE_MAX];
    size_t k = vg_rota_on_duty(r, n->doc, duty, at_ms, found, S_PEOPLE_MAX);
    if (k == 0 && instead != 0) {
        k = vg_rota_on_duty(r, n->doc, instead, at_ms, found, S_PEOPLE_MAX);
    }
    for (size_t i = 0; i < k && i < S_PEOPLE_MAX && p->n < S_PEOPLE_MAX; i++) {
        p->v[p->n++] = (s_person){r, found[i]};
    }
}

static void
s_people_for(const vgb_notify *n, s_people *p, const char *agency, vg_escalation_target target,
             int64_t at_ms)
{
    vg_agency ag;
    switch (target) {
    case VG_ESC_DUTY_OFFICER:
        s_on_duty(n, p, agency, VG_DUTY_OFFICER, VG_DUTY_OUT_OF_HOURS, at_ms);
        break;
    case VG_ESC_OUT_OF_HOURS:
        s_on_duty(n, p, agency, VG_DUTY_OUT_OF_HOURS, 0, at_ms);
        if (p->n == 0 && vg_netdoc_find(n->doc, agency, &ag) == VG_OK &&
            ag.out_of_hours_cover[0] != '\0') {
            s_on_duty(n, p, ag.out_of_hours_cover, VG_DUTY_OFFICER, VG_DUTY_OUT_OF_HOURS, at_ms);
        }
        break;
    case VG_ESC_MANAGER:
        s_on_duty(n, p, agency, VG_DUTY_MANAGER, 0, at_ms);
        break;
    case VG_ESC_OVERSIGHT:
        for (size_t i = 0; i < vg_netdoc_n_agencies(n->doc); i++) {
            vg_netdoc_agency_at(n->doc, i, &ag);
            if (vg_netdoc_is_oversight(n->doc, ag.id) && !ag.revoked) {
                s_on_duty(n, p, ag.id, VG_DUTY_OFFICER, VG_DUTY_OUT_OF_HOURS, at_ms);
            }
        }
        break;
    default:
        break;
    }
}

/* ---- messages -------------------------------------------------------------------- */

/* The note for one contact of a person, rendered from the channel's
 * templates and the alert's metadata. False when it does not fit. */
static bool
s_note(const vgb_notify *n, vgb_note *note, const s_job *job, const s_person *who,
       const vg_contact *c, const vgb_alert_meta *m, int64_t deadline_ms)
{
    const vg_channel *ch = c->channel;
    char alert[VG_ALERT_ID_HEX_LEN + 1], link[VG_ROTA_URL_MAX + 64];
    vg_alert_id_hex(alert, m->id);
    vg_console_link(link, sizeof link, vg_rota_console(who->rota), alert);
    vg_notice nt = {.event = "overdue",
                    .target = job->target,
                    .agency = job->agency,
                    .sender = m->sender,
                    .severity = vg_severity_name((vg_severity)m->severity),
                    .categories = m->categories,
                    .status = vg_status_name((vg_status)m->status),
                    .alert = alert,
                    .link = link,
                    .deadline_ms = deadline_ms,
                    .level = job->level,
                    .name = who->entry.name,
                    .to = c->to};
    memset(note, 0, sizeof *note);
    note->id = job->id;
    note->created_ms = vg_clock_wall_ms(n->clock);
    note->kind = ch->kind;
    note->auth = ch->auth;
    snprintf(note->agency, sizeof note->agency, "%s", vg_rota_agency(who->rota));
    snprintf(note->channel, sizeof note->channel, "%s", ch->name);
    snprintf(note->url, sizeof note->url, "%s", ch->url);
    snprintf(note->url_secret, sizeof note->url_secret, "%s", ch->url_secret);
    snprintf(note->secret, sizeof note->secret, "%s", ch->secret);
    snprintf(note->user, sizeof note->user, "%s", ch->user);
    snprintf(note->from, sizeof note->from, "%s", ch->from);
    snprintf(note->content_type, sizeof note->content_type, "%s", ch->content_type);
    snprintf(note->to, sizeof note->to, "%s", c->to);
    int k = ch->ca_file[0] == '\0' || ch->ca_file[0] == '/'
                ? snprintf(note->ca_file, sizeof note->ca_file, "%s", ch->ca_file)
                : snprintf(note->ca_file, sizeof note->ca_file, "%s/%s", n->cfg->notify_rotas,
                           ch->ca_file);
    bool ok = k >= 0 && (size_t)k < sizeof note->ca_file;
    if (ch->kind == VG_CHANNEL_EMAIL) {
        ok = ok && vg_notice_render(note->subject, sizeof note->subject, ch->subject, &nt,
                                    VG_ESCAPE_TEXT);
    }
    vg_escape esc = ch->kind == VG_CHANNEL_EMAIL ? VG_ESCAPE_TEXT : vg_escape_for(ch->content_type);
    return ok && vg_notice_render(note->body, sizeof note->body, ch->body, &nt, esc);
}

/* Records an outcome that came of no message (nobody to tell, a message
 * that could not be made). */
static vg_err
s_record_failure(vgb_notify *n, const s_job *j, const char *code)
{
    vgb_notified f = {.seq = j->seq,
                      .agency = j->agency,
                      .level = j->level,
                      .target = j->target,
                      .channel = j->channel,
                      .to = j->to,
                      .rota_agency = j->rota_agency[0] ? j->rota_agency : NULL,
                      .sent = false,
                      .code = code};
    vg_log(VG_LOG_WARN, "broker", "notify.failed", "agency=%s level=%u target=%s code=%s",
           j->agency, j->level, j->target, code);
    return vgb_record_notified(n->record, &f);
}

static bool
s_stage(vgb_notify *n, const vgb_note *note, const s_job *job)
{
    vgb_note *notes = realloc(n->notes, (n->staged.n + 1) * sizeof *notes);
    if (notes == NULL) {
        return false;
    }
    n->notes = notes;
    if (!s_push(&n->staged, job)) {
        return false;
    }
    n->notes[n->staged.n - 1] = *note;
    return true;
}

vg_err
vgb_notify_step(vgb_notify *n, uint64_t seq, const char *agency, uint32_t level,
                vg_escalation_target target, size_t *tried)
{
    *tried = 0;
    if (n == NULL) {
        return VG_OK;
    }
    vgb_alert_meta m;
    vgb_rrow row;
    vg_err rc = vgb_store_alert_meta(n->store, seq, &m);
    rc = rc == VG_OK ? vgb_store_rrow(n->store, seq, agency, &row) : rc;
    if (rc != VG_OK) {
        vgb_batch_fail(n->batch);
        return rc;
    }
    s_job job = {.seq = seq, .level = level};
    snprintf(job.agency, sizeof job.agency, "%s", agency);
    snprintf(job.target, sizeof job.target, "%s", vg_escalation_target_name(target));
    s_people *p = calloc(1, sizeof *p);
    vgb_note *note = malloc(sizeof *note);
    rc = p != NULL && note != NULL ? VG_OK : VG_ERR_NOMEM;
    if (rc == VG_OK) {
        s_people_for(n, p, agency, target, vg_clock_wall_ms(n->clock));
    }
    for (size_t i = 0; rc == VG_OK && i < p->n; i++) {
        for (size_t c = 0; rc == VG_OK && c < p->v[i].entry.n_contacts; c++) {
            const vg_contact *ct = &p->v[i].entry.contacts[c];
            job.id = ++n->next_id;
            snprintf(job.channel, sizeof job.channel, "%s", ct->channel->name);
            snprintf(job.to, sizeof job.to, "%s", ct->to);
            snprintf(job.rota_agency, sizeof job.rota_agency, "%s", vg_rota_agency(p->v[i].rota));
            if (!s_note(n, note, &job, &p->v[i], ct, &m, row.deadline_ms)) {
                rc = s_record_failure(n, &job, "message_too_long");
            } else if (!s_stage(n, note, &job)) {
                rc = VG_ERR_NOMEM;
            } else {
                (*tried)++;
            }
        }
    }
    if (rc == VG_OK && *tried == 0 && (p->n == 0)) {
        job.channel[0] = job.to[0] = job.rota_agency[0] = '\0';
        rc = s_record_failure(n, &job, p->any_rota ? "no_one_on_duty" : "no_rota");
    }
    if (rc != VG_OK) {
        vgb_batch_fail(n->batch);
    }
    free(note);
    free(p);
    return rc;
}

/* ---- outcomes ------------------------------------------------------------------- */

/* A job's outcome is known: it waits to be recorded. */
static void
s_done(vgb_notify *n, s_job *j, bool sent, const char *code)
{
    j->sent = sent;
    snprintf(j->code, sizeof j->code, "%s", sent ? "" : code);
    if (!s_push(&n->done, j)) {
        vg_log(VG_LOG_ERROR, "broker", "notify.lost", "agency=%s channel=%s detail=no_memory",
               j->agency, j->channel);
    }
}

static void
s_take_outcomes(vgb_notify *n)
{
    vgb_note_result res;
    for (;;) {
        int got = zmq_recv(n->pair, &res, sizeof res, ZMQ_DONTWAIT);
        if (got != (int)sizeof res) {
            break;
        }
        size_t i = 0;
        while (i < n->out.n && n->out.v[i].id != res.id) {
            i++;
        }
        if (i == n->out.n) {
            continue; /* not ours (cannot happen: the worker answers every note once) */
        }
        res.code[sizeof res.code - 1] = '\0';
        s_done(n, &n->out.v[i], res.sent, res.code);
        memmove(n->out.v + i, n->out.v + i + 1, (n->out.n - i - 1) * sizeof *n->out.v);
        n->out.n--;
    }
}

static void
s_record_outcomes(vgb_notify *n)
{
    while (n->n_done_recorded < n->done.n) {
        const s_job *j = &n->done.v[n->n_done_recorded];
        vgb_notified f = {.seq = j->seq,
                          .agency = j->agency,
                          .level = j->level,
                          .target = j->target,
                          .channel = j->channel,
                          .to = j->to,
                          .rota_agency = j->rota_agency,
                          .sent = j->sent,
                          .code = j->code};
        if (vgb_record_notified(n->record, &f) != VG_OK) {
            return; /* the batch failed: all of them again after it */
        }
        if (j->sent) {
            vg_log(VG_LOG_INFO, "broker", "notify.sent", "agency=%s level=%u target=%s channel=%s",
                   j->agency, j->level, j->target, j->channel);
        }
        n->n_done_recorded++;
    }
}

/* The outcomes recorded in a committed batch count towards their steps. */
static void
s_count_outcomes(vgb_notify *n)
{
    for (size_t i = 0; i < n->n_done_recorded; i++) {
        s_job *j = &n->done.v[i];
        s_step *s = s_step_of(n, j, false);
        if (s == NULL) {
            continue;
        }
        s->reached = s->reached || j->sent;
        if (--s->left > 0) {
            continue;
        }
        s_step done = *s;
        *s = n->steps[--n->n_steps];
        if (!done.reached && n->unreached != NULL) {
            n->unreached(n->unreached_ctx, done.seq, done.agency, done.level);
        }
    }
    s_drop_front(&n->done, n->n_done_recorded);
    n->n_done_recorded = 0;
}

/* The committed batch's notes go to the worker (or fail as queue_full). */
static void
s_send_staged(vgb_notify *n)
{
    for (size_t i = 0; i < n->staged.n; i++) {
        s_job *j = &n->staged.v[i];
        s_step *s = s_step_of(n, j, true);
        if (s == NULL) {
            vg_log(VG_LOG_ERROR, "broker", "notify.lost",
                   "agency=%s channel=%s "
                   "detail=no_memory",
                   j->agency, j->channel);
            continue;
        }
        s->left++;
        if (n->out.n >= (size_t)n->cfg->notify_queue) {
            s_done(n, j, false, "queue_full");
        } else if (zmq_send(n->pair, &n->notes[i], sizeof n->notes[i], ZMQ_DONTWAIT) !=
                       (int)sizeof n->notes[i] ||
                   !s_push(&n->out, j)) {
            s_done(n, j, false, "send_failed");
        }
        memset(&n->notes[i], 0, sizeof n->notes[i]); /* addresses of people: not kept */
    }
    n->staged.n = 0;
}

void
vgb_notify_after_commit(vgb_notify *n, bool committed)
{
    if (n == NULL) {
        return;
    }
    if (committed) {
        s_count_outcomes(n);
        s_send_staged(n);
    } else {
        n->staged.n = 0; /* the steps are taken again, with their messages */
        n->n_done_recorded = 0;
    }
}

long
vgb_notify_service(vgb_notify *n)
{
    s_take_outcomes(n);
    s_record_outcomes(n);
    int64_t now = vg_clock_mono_ms(n->clock);
    if (now >= n->next_check_mono) {
        n->next_check_mono = now + (int64_t)n->cfg->notify_rota_check_ms;
        s_check_rotas(n);
    }
    return (long)(n->next_check_mono - now);
}

void *
vgb_notify_socket(const vgb_notify *n)
{
    return n->pair;
}

/* ---- setup ------------------------------------------------------------------------ */

vg_err
vgb_notify_renew(vgb_notify *n, const vg_netdoc *doc)
{
    size_t k = vg_netdoc_n_agencies(doc);
    if (k > n->n_rotas) {
        s_rota_slot *r = realloc(n->rotas, k * sizeof *r);
        if (r == NULL) {
            return VG_ERR_NOMEM;
        }
        memset(r + n->n_rotas, 0, (k - n->n_rotas) * sizeof *r);
        n->rotas = r;
        n->n_rotas = k;
    }
    n->doc = doc;
    n->next_check_mono = 0; /* new agencies' rotas at the next look */
    return VG_OK;
}

vg_err
vgb_notify_new(vgb_notify **out, const vgb_notify_params *p, vg_reason *why)
{
    vgb_notify *n = calloc(1, sizeof *n);
    if (n == NULL) {
        return VG_ERR_NOMEM;
    }
    *n = (vgb_notify){.cfg = p->cfg,
                      .doc = p->doc,
                      .clock = p->clock,
                      .store = p->store,
                      .record = p->record,
                      .batch = p->batch,
                      .unreached = p->unreached,
                      .unreached_ctx = p->unreached_ctx};
    vg_err rc = vgb_notify_renew(n, p->doc);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, S_ENDPOINT_FMT, (void *)n);
    int linger = 0, hwm = 0; /* the loop bounds what it hands over ([notify] queue) */
    if (rc == VG_OK && ((n->pair = zmq_socket(p->zmq_ctx, ZMQ_PAIR)) == NULL ||
                        zmq_setsockopt(n->pair, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
                        zmq_setsockopt(n->pair, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
                        zmq_bind(n->pair, endpoint) != 0)) {
        rc = vg_reason_set(why, VG_ERR_IO, "notifications: cannot make their socket: %s",
                           zmq_strerror(zmq_errno()));
    }
    if (rc == VG_OK) {
        rc = vgb_sender_start(&n->sender, p->zmq_ctx, endpoint, p->cfg->notify_secrets,
                              p->cfg->notify_timeout_ms, why);
    }
    if (rc != VG_OK) {
        vgb_notify_destroy(&n);
        return rc;
    }
    s_check_rotas(n);
    n->next_check_mono = vg_clock_mono_ms(p->clock) + (int64_t)p->cfg->notify_rota_check_ms;
    *out = n;
    return VG_OK;
}

void
vgb_notify_destroy(vgb_notify **n_p)
{
    if (n_p == NULL || *n_p == NULL) {
        return;
    }
    vgb_notify *n = *n_p;
    if (n->sender != NULL) {
        if (zmq_send(n->pair, "", 0, 0) != 0) { /* stop */
            vg_log(VG_LOG_ERROR, "broker", "notify.stop", "msg=\"%s\"", zmq_strerror(zmq_errno()));
        }
        vgb_sender_stop(&n->sender);
    }
    if (n->out.n + n->staged.n > 0) {
        vg_log(VG_LOG_WARN, "broker", "notify.unsent",
               "messages=%zu detail=\"the broker stopped "
               "before their outcome came back\"",
               n->out.n + n->staged.n);
    }
    if (n->pair != NULL) {
        zmq_close(n->pair);
    }
    for (size_t i = 0; i < n->n_rotas; i++) {
        vg_rota_destroy(&n->rotas[i].rota);
    }
    free(n->rotas);
    free(n->notes);
    free(n->staged.v);
    free(n->out.v);
    free(n->done.v);
    free(n->steps);
    free(n);
    *n_p = NULL;
}
