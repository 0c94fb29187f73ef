/*
 * ctl_report_linked.c — vigilctl report --linked: chains of linked alerts
 * (alerts that share a link tag: the same subject reference or incident;
 * docs/network.md "Link tags") with each required agency's outcome on each,
 * and the agencies that failed more than one warning in a chain — the
 * report an inquiry into repeated, unheeded warnings needs.
 *
 * A chain is a connected set of alerts: two alerts are in one chain when
 * they share a tag, or when each shares one with a third. Failed means not
 * acknowledged by its deadline: never acknowledged (overdue, declined,
 * unopenable) or acknowledged late. The store holds tags, never references,
 * so the report can say "these alerts are about one subject", never which.
 *
 * Reads the store read-only in the caller's read transaction. Trade-off:
 * every linked pair is held in memory (a union-find over alert seqs).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "ctl_report_linked.h"
#include "vigil/clock.h"
#include "vigil/util.h"

static const vgt_who s_who = {CTL_PROGRAM, "report --linked"};

static const char *const s_names[] = {"unknown", "acknowledged", "late", "never", "open"};

/* The linked alerts, each with the root of its chain. */
typedef struct s_links {
    uint64_t *seq;        /* linked alerts, sorted once collected */
    size_t *parent;       /* union-find over their indices */
    size_t n, cap;        /* used, allocated */
    uint64_t (*pairs)[2]; /* (later, earlier) */
    size_t n_pairs, cap_pairs;
    bool failed; /* out of memory */
} s_links;

static bool
s_take_pair(void *ctx, uint64_t later, uint64_t earlier)
{
    s_links *l = ctx;
    if (l->n_pairs == l->cap_pairs) {
        size_t cap = l->cap_pairs ? 2 * l->cap_pairs : 64;
        uint64_t(*p)[2] = realloc(l->pairs, cap * sizeof *p);
        if (p == NULL) {
            l->failed = true;
            return false;
        }
        l->pairs = p;
        l->cap_pairs = cap;
    }
    l->pairs[l->n_pairs][0] = later;
    l->pairs[l->n_pairs++][1] = earlier;
    return true;
}

static int
s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static size_t
s_index(const s_links *l, uint64_t seq)
{
    const uint64_t *p = bsearch(&seq, l->seq, l->n, sizeof *l->seq, s_cmp_u64);
    return (size_t)(p - l->seq);
}

static size_t
s_root(s_links *l, size_t i)
{
    while (l->parent[i] != i) {
        l->parent[i] = l->parent[l->parent[i]];
        i = l->parent[i];
    }
    return i;
}

/* Every alert of a pair, once, sorted; chains joined. */
static bool
s_build(s_links *l)
{
    l->seq = malloc((2 * l->n_pairs + 1) * sizeof *l->seq);
    l->parent = malloc((2 * l->n_pairs + 1) * sizeof *l->parent);
    if (l->seq == NULL || l->parent == NULL) {
        return false;
    }
    for (size_t i = 0; i < l->n_pairs; i++) {
        l->seq[2 * i] = l->pairs[i][0];
        l->seq[2 * i + 1] = l->pairs[i][1];
    }
    qsort(l->seq, 2 * l->n_pairs, sizeof *l->seq, s_cmp_u64);
    for (size_t i = 0; i < 2 * l->n_pairs; i++) {
        if (l->n == 0 || l->seq[l->n - 1] != l->seq[i]) {
            l->seq[l->n++] = l->seq[i];
        }
    }
    for (size_t i = 0; i < l->n; i++) {
        l->parent[i] = i;
    }
    for (size_t i = 0; i < l->n_pairs; i++) {
        size_t a = s_root(l, s_index(l, l->pairs[i][0]));
        size_t b = s_root(l, s_index(l, l->pairs[i][1]));
        l->parent[a > b ? a : b] = a < b ? a : b; /* the oldest alert is the root */
    }
    return true;
}

/* ---- one chain ------------------------------------------------------------------ */

typedef struct s_tally {
    char agency[VG_AGENCY_ID_MAX + 1]; /* a required agency somewhere in the chain */
    size_t asked;                      /* alerts of the chain it had to acknowledge */
    size_t never;                      /* never acknowledged */
    size_t late;                       /* acknowledged late */
} s_tally;

typedef struct s_chain {
    s_tally *t;     /* per agency */
    size_t n, cap;  /* used, allocated */
    json_t *alerts; /* JSON: the chain's alerts */
    bool json;      /* print JSON, not text */
    int64_t now_ms; /* outcomes as of */
    bool failed;    /* out of memory */
} s_chain;

static void
s_row(void *ctx, const vgb_rrow *r, const char *officer, const char *note, const char *reason)
{
    (void)officer, (void)note, (void)reason;
    s_chain *c = ctx;
    if (!r->required) {
        return;
    }
    vgb_link_outcome o = vgb_rrow_link_outcome(r, c->now_ms);
    size_t k = 0;
    while (k < c->n && strcmp(c->t[k].agency, r->agency) != 0) {
        k++;
    }
    if (k == c->n) {
        if (c->n == c->cap) {
            size_t cap = c->cap ? 2 * c->cap : 8;
            s_tally *t = realloc(c->t, cap * sizeof *t);
            if (t == NULL) {
                c->failed = true;
                return;
            }
            c->t = t;
            c->cap = cap;
        }
        memset(&c->t[k], 0, sizeof c->t[k]);
        snprintf(c->t[k].agency, sizeof c->t[k].agency, "%s", r->agency);
        c->n++;
    }
    c->t[k].asked++;
    c->t[k].never += o == VGB_LINK_NEVER;
    c->t[k].late += o == VGB_LINK_LATE;
    json_t *last = json_array_get(c->alerts, json_array_size(c->alerts) - 1);
    json_object_set_new(json_object_get(last, "outcomes"), r->agency, json_string(s_names[o]));
    if (!c->json) {
        printf(" %s:%s", r->agency, s_names[o]);
    }
}

/* Prints (or adds to out) the chain whose root is root. */
static bool
s_chain_report(vgb_store *store, s_links *l, size_t root, size_t number, s_chain *c, json_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) {
        n += s_root(l, i) == root;
    }
    if (!c->json) {
        printf("chain %zu: %zu linked alerts\n", number, n);
    }
    for (size_t i = 0; i < l->n; i++) {
        if (s_root(l, i) != root) {
            continue;
        }
        vgb_alert_meta m;
        if (vgb_store_alert_meta(store, l->seq[i], &m) != VG_OK) {
            return false;
        }
        char idhex[VG_ALERT_ID_HEX_LEN + 1], when[VG_TIME_STR_LEN];
        vg_alert_id_hex(idhex, m.id);
        vg_time_format(when, sizeof when, m.accepted_ms);
        json_array_append_new(c->alerts,
                              json_pack("{s:s, s:s, s:s, s:{}}", "alert", idhex, "sender", m.sender,
                                        "accepted", when, "outcomes"));
        if (!c->json) {
            printf("  %s  %s  %-20s", when, idhex, m.sender);
        }
        if (vgb_store_recipients_of(store, l->seq[i], s_row, c) != VG_OK || c->failed) {
            return false;
        }
        if (!c->json) {
            putchar('\n');
        }
    }
    json_t *flagged = json_array();
    for (size_t k = 0; k < c->n; k++) {
        const s_tally *t = &c->t[k];
        if (t->never + t->late < 2) {
            continue;
        }
        json_array_append_new(flagged,
                              json_pack("{s:s, s:I, s:I, s:I}", "agency", t->agency, "failed",
                                        (json_int_t)(t->never + t->late), "never",
                                        (json_int_t)t->never, "late", (json_int_t)t->late));
        if (!c->json) {
            printf("  FLAG %s failed %zu of the %zu warnings it had to acknowledge in this chain "
                   "(never acknowledged %zu, late %zu)\n",
                   t->agency, t->never + t->late, t->asked, t->never, t->late);
        }
    }
    json_array_append_new(out, json_pack("{s:o, s:o}", "alerts", c->alerts, "flagged", flagged));
    return true;
}

int
ctl_report_linked(vgb_store *store, bool json, bool verified)
{
    s_links l = {0};
    bool ok = vgb_store_link_pairs(store, s_take_pair, &l) == VG_OK && !l.failed && s_build(&l);
    json_t *chains = json_array();
    size_t number = 0;
    int64_t now_ms = vg_clock_wall_ms(vg_clock_system());
    if (ok && !json && !verified) {
        printf("NOT VERIFIED: the store was not checked against its audit log (--no-verify)\n\n");
    }
    if (ok && !json) {
        printf("Linked chains: alerts that share a subject reference or an incident (the broker\n"
               "holds keyed tags, never the references). FLAG: an agency that failed more than\n"
               "one warning of a chain (never acknowledged it, or late).\n\n");
    }
    for (size_t i = 0; ok && i < l.n; i++) {
        if (s_root(&l, i) != i) {
            continue;
        }
        s_chain c = {.alerts = json_array(), .json = json, .now_ms = now_ms};
        ok = s_chain_report(store, &l, i, ++number, &c, chains);
        free(c.t);
        if (!json) {
            putchar('\n');
        }
    }
    if (ok && json) {
        json_t *root = json_pack("{s:b, s:o}", "verified", verified, "chains", chains);
        ok = json_dumpf(root, stdout, JSON_INDENT(2)) == 0 && putchar('\n') != EOF;
        json_decref(root);
    } else {
        json_decref(chains);
    }
    if (ok && !json && number == 0) {
        printf("no linked alerts\n");
    }
    free(l.seq);
    free(l.parent);
    free(l.pairs);
    if (!ok) {
        vgt_error(&s_who, "the store could not be read (or memory ran out)");
    }
    return ok ? VGT_EXIT_OK : VGT_EXIT_FAIL;
}
