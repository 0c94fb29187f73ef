/* gw_officer.c — officers, passwords and logging in (see gw_officer.h). */
#include "gw_officer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "gw_token.h"
#include "gw_wait.h"

_Static_assert(GW_PWHASH_MAX == crypto_pwhash_STRBYTES, "the hash string's size is libsodium's");

/* The hash of 32 random bytes nobody kept: a name that is not an officer is
 * checked against it, so an unknown name costs as much as a wrong password. */
static const char s_dummy_hash[] = "$argon2id$v=19$m=65536,t=2,p=1$bYft5Unfbgnfp76i2TmDJw$"
                                   "0D9hKEPJDDypi9P5FHxa5IjjLOuDD5sp5ArbFrHBHKM";

const char *
gw_role_name(gw_role r)
{
    return r == GW_ROLE_DUTY ? "duty" : r == GW_ROLE_VIEWER ? "viewer" : "none";
}

gw_role
gw_role_parse(const char *text)
{
    if (text != NULL && strcmp(text, "duty") == 0) {
        return GW_ROLE_DUTY;
    }
    return text != NULL && strcmp(text, "viewer") == 0 ? GW_ROLE_VIEWER : GW_ROLE_NONE;
}

unsigned
gw_role_scopes(gw_role r)
{
    return r == GW_ROLE_DUTY     ? GW_SCOPE_READ | GW_SCOPE_RECEIPT
           : r == GW_ROLE_VIEWER ? GW_SCOPE_READ
                                 : 0u;
}

/* Length of the valid UTF-8 character at p (1..4) that is not a control
 * character, or 0. */
static size_t
s_char_len(const unsigned char *p, size_t left)
{
    size_t n = p[0] < 0x80                    ? 1
               : p[0] >= 0xc2 && p[0] <= 0xdf ? 2
               : p[0] >= 0xe0 && p[0] <= 0xef ? 3
               : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4
                                              : 0;
    if (n == 0 || n > left) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
    }
    if ((n == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (n == 4 && p[0] == 0xf0 && p[1] < 0x90) ||
        (n == 4 && p[0] == 0xf4 && p[1] > 0x8f) || (n == 3 && p[0] == 0xed && p[1] > 0x9f)) {
        return 0; /* overlong, beyond U+10FFFF, or a surrogate */
    }
    if ((n == 1 && (p[0] < 0x20 || p[0] == 0x7f)) || (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
        return 0; /* C0 or C1 control, DEL */
    }
    return n;
}

static bool
s_text_ok(const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        size_t n = s_char_len(p + i, len - i);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

bool
gw_officer_name_is_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n > 0 && n < GW_OFFICER_MAX && name[0] != ' ' && name[n - 1] != ' ' &&
           s_text_ok(name, n);
}

vg_err
gw_password_check(const char *pw, size_t len, vg_reason *why)
{
    if (len < GW_PASSWORD_MIN || len > GW_PASSWORD_MAX) {
        return vg_reason_set(why, VG_ERR_INVALID,
                             "a password is %d to %d characters: a phrase of a few words is "
                             "easy to remember and hard to guess",
                             GW_PASSWORD_MIN, GW_PASSWORD_MAX);
    }
    if (memchr(pw, '\0', len) != NULL || !s_text_ok(pw, len)) {
        return vg_reason_set(why, VG_ERR_INVALID,
                             "a password is text (UTF-8) without control characters");
    }
    return VG_OK;
}

vg_err
gw_password_hash(char out[GW_PWHASH_MAX], const char *pw, size_t len)
{
    return crypto_pwhash_str_alg(out, pw, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                 crypto_pwhash_MEMLIMIT_INTERACTIVE,
                                 crypto_pwhash_ALG_ARGON2ID13) == 0
               ? VG_OK
               : VG_ERR_NOMEM;
}

/* ---- the accounts and their lockouts ------------------------------------------------------ */

typedef struct s_lock {
    char name[GW_OFFICER_MAX]; /* the name tried (an officer's or not) */
    unsigned failures;         /* wrong passwords in a row */
    int64_t locked_until_ms;   /* monotonic; 0 = not locked */
    int64_t last_ms;           /* last failure */
} s_lock;

struct gw_officers {
    pthread_mutex_t lock;  /* guards everything below */
    gw_db *db;             /* its own connection (owned) */
    gw_officer_row *rows;  /* the accounts */
    size_t n_rows;         /* count */
    bool loaded;           /* rows were read at least once */
    s_lock *locks;         /* names with failures (GW_LOCKOUT_NAMES) */
    size_t n_locks;        /* used */
    unsigned max_failures; /* login_failures */
    int64_t lockout_ms;    /* login_lockout */
    pthread_cond_t turn;   /* a check finished */
    unsigned checks;       /* Argon2id checks running */
};

vg_err
gw_officers_new(gw_officers **out, gw_db **db_p, int64_t max_failures, int64_t lockout_ms)
{
    gw_officers *o = calloc(1, sizeof *o);
    if (o == NULL || (o->locks = calloc(GW_LOCKOUT_NAMES, sizeof *o->locks)) == NULL) {
        free(o);
        gw_db_destroy(db_p);
        return VG_ERR_NOMEM;
    }
    o->db = *db_p;
    *db_p = NULL;
    o->max_failures = max_failures > 0 ? (unsigned)max_failures : 1u;
    o->lockout_ms = lockout_ms;
    pthread_mutex_init(&o->lock, NULL);
    gw_cond_init(&o->turn);
    *out = o;
    return VG_OK;
}

void
gw_officers_destroy(gw_officers **o_p)
{
    if (o_p == NULL || *o_p == NULL) {
        return;
    }
    gw_officers *o = *o_p;
    gw_db_destroy(&o->db);
    if (o->rows != NULL) {
        sodium_memzero(o->rows, o->n_rows * sizeof *o->rows);
    }
    free(o->rows);
    free(o->locks);
    pthread_cond_destroy(&o->turn);
    pthread_mutex_destroy(&o->lock);
    free(o);
    *o_p = NULL;
}

/* The account row of name (lock held), reloading the cache when needed. */
static const gw_officer_row *
s_row(gw_officers *o, const char *name)
{
    if (!o->loaded || gw_db_changed(o->db)) {
        gw_officer_row *rows = NULL;
        size_t n = 0;
        if (gw_db_officers(o->db, &rows, &n) == VG_OK) {
            if (o->rows != NULL) {
                sodium_memzero(o->rows, o->n_rows * sizeof *o->rows);
            }
            free(o->rows);
            o->rows = rows;
            o->n_rows = n;
            o->loaded = true;
        }
    }
    for (size_t i = 0; name != NULL && i < o->n_rows; i++) {
        if (strcmp(o->rows[i].name, name) == 0) {
            return &o->rows[i];
        }
    }
    return NULL;
}

static void
s_fill(gw_officer *out, const gw_officer_row *row)
{
    snprintf(out->name, sizeof out->name, "%s", row->name);
    out->role = gw_role_parse(row->role);
    out->generation = row->generation;
    out->has_password = row->pwhash[0] != '\0';
}

bool
gw_officers_find(gw_officers *o, const char *name, gw_officer *out)
{
    pthread_mutex_lock(&o->lock);
    const gw_officer_row *row = s_row(o, name);
    bool found = row != NULL && gw_role_parse(row->role) != GW_ROLE_NONE;
    if (found) {
        s_fill(out, row);
    }
    pthread_mutex_unlock(&o->lock);
    return found;
}

/* The failure record of name (lock held); with make, a new one (evicting
 * the oldest unlocked record when full), else NULL when there is none. */
static s_lock *
s_lock_of(gw_officers *o, const char *name, bool make, int64_t now_ms)
{
    for (size_t i = 0; i < o->n_locks; i++) {
        if (strcmp(o->locks[i].name, name) == 0) {
            return &o->locks[i];
        }
    }
    if (!make) {
        return NULL;
    }
    s_lock *slot = o->n_locks < GW_LOCKOUT_NAMES ? &o->locks[o->n_locks++] : NULL;
    for (size_t i = 0; slot == NULL && i < o->n_locks; i++) {
        s_lock *l = &o->locks[i];
        if (l->locked_until_ms <= now_ms && (slot == NULL || l->last_ms < slot->last_ms)) {
            slot = l;
        }
    }
    if (slot == NULL) {
        return NULL; /* every tracked name is locked right now: count this one no more */
    }
    memset(slot, 0, sizeof *slot);
    snprintf(slot->name, sizeof slot->name, "%s", name);
    return slot;
}

static void
s_forget_failures(gw_officers *o, const char *name)
{
    for (size_t i = 0; i < o->n_locks; i++) {
        if (strcmp(o->locks[i].name, name) == 0) {
            o->locks[i] = o->locks[--o->n_locks];
            return;
        }
    }
}

/* Waits (lock held) for a turn to run Argon2id. */
static bool
s_take_turn(gw_officers *o)
{
    struct timespec until = gw_deadline(GW_PWHASH_WAIT_MS);
    while (o->checks >= GW_PWHASH_PARALLEL) {
        if (pthread_cond_timedwait(&o->turn, &o->lock, &until) != 0) {
            return false;
        }
    }
    o->checks++;
    return true;
}

gw_login
gw_officers_login(gw_officers *o, const char *name, const char *pw, size_t pw_len, int64_t now_ms,
                  gw_officer *out, unsigned *failures, int64_t *retry_after_ms)
{
    *failures = 0;
    *retry_after_ms = 0;
    char hash[GW_PWHASH_MAX];
    gw_officer who = {0};
    pthread_mutex_lock(&o->lock);
    s_lock *l = s_lock_of(o, name, false, now_ms);
    if (l != NULL && l->locked_until_ms > now_ms) {
        *retry_after_ms = l->locked_until_ms - now_ms;
        pthread_mutex_unlock(&o->lock);
        return GW_LOGIN_LOCKED;
    }
    const gw_officer_row *row = s_row(o, name);
    bool known = row != NULL && row->pwhash[0] != '\0' && gw_role_parse(row->role) != GW_ROLE_NONE;
    snprintf(hash, sizeof hash, "%s", known ? row->pwhash : s_dummy_hash);
    if (known) {
        s_fill(&who, row);
    }
    if (!s_take_turn(o)) {
        pthread_mutex_unlock(&o->lock);
        return GW_LOGIN_BUSY;
    }
    pthread_mutex_unlock(&o->lock);
    bool ok = crypto_pwhash_str_verify(hash, pw, pw_len) == 0 && known;
    pthread_mutex_lock(&o->lock);
    o->checks--;
    pthread_cond_signal(&o->turn);
    gw_login res = GW_LOGIN_OK;
    if (ok) {
        s_forget_failures(o, name);
        *out = who;
    } else {
        res = GW_LOGIN_WRONG;
        l = s_lock_of(o, name, true, now_ms);
        if (l != NULL) {
            l->last_ms = now_ms;
            *failures = ++l->failures;
            if (l->failures >= o->max_failures) {
                l->locked_until_ms = now_ms + o->lockout_ms;
                l->failures = 0;
                *retry_after_ms = o->lockout_ms;
            }
        }
    }
    pthread_mutex_unlock(&o->lock);
    sodium_memzero(hash, sizeof hash);
    return res;
}
