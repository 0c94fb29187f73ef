/*
 * ctl_audit.c — vigilctl audit verify | export: the broker's audit log,
 * checked offline or handed to an outside auditor (docs/audit.md).
 *
 * verify recomputes the Merkle tree from the stored leaves and checks every
 * stored checkpoint and any given with --checkpoint (the notes agencies
 * hold), through vgb_audit_verify; then every row of the store against the
 * leaves that record it, both ways (vgb_audit_check_state: docs/audit.md
 * lists the checks table by table); then every stored witness cosignature
 * (vgb_audit_check_cosignatures). The first fault is printed as one line
 * naming its kind, table, row and leaf, and exits 1:
 *
 *     audit: FAULT state table=recipients alert=ID agency=X leaf=N: what differs
 *
 * report (ctl_report.c) runs the same checks through ctl_audit_check.
 *
 * Both read the store read-only, inside one read transaction, so they see
 * one consistent snapshot even while the broker runs (WAL).
 *
 * The origin and the broker's key come from the network document: the one
 * broker.conf names (-c), or with --store the one given by --network FILE
 * and --admin-key HEX, or else the broker.conf beside the store directory
 * (DIR/../broker.conf, the layout vigilctl init writes).
 *
 * Costs: linear in the store, memory bounded (audit.h); --signatures adds
 * one Ed25519 verification per stored envelope, receipt and share (about
 * 50 us each: minutes on a million alerts), which is why it is not the
 * default: without it each signed body is checked against the hash its
 * leaf holds.
 */
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "store_witness.h"
#include "ctl.h"
#include "vigil/broker_config.h"
#include "vigil/netdoc.h"
#include "vigil/util.h"

static const vgt_who s_who = {CTL_PROGRAM, "audit"};
#define S_CHECKPOINTS_MAX 64 /* --checkpoint files accepted */

static const char s_help[] =
    "usage: vigilctl audit verify (-c BROKER_CONF | (--store DIR | --dsn DSN) [--network FILE\n"
    "                             --admin-key HEX]) [--checkpoint FILE ...]\n"
    "                             [--signatures]\n"
    "       vigilctl audit export (-c BROKER_CONF | --store DIR [...] | --dsn DSN [...])\n"
    "                             --out DIR\n"
    "\n"
    "verify  recomputes the broker's audit log (a Merkle tree of every event) from\n"
    "        its store, checks every signed checkpoint against it, and the\n"
    "        checkpoints agencies hold (--checkpoint FILE: the output of\n"
    "        'vigil-agent audit checkpoint', its --json, or a bare note); then\n"
    "        that every row of the store answers to the leaves that record it\n"
    "        and every leaf to its rows: alerts, recipients, receipts and their\n"
    "        items, shares, rejections, every agency's event stream, the\n"
    "        network documents and the alert -> leaf index; then every stored\n"
    "        witness cosignature under its agency's key. Prints 'audit: N\n"
    "        leaves, M checkpoints verified' and who cosigned the latest\n"
    "        checkpoint, or the first fault:\n"
    "        'audit: FAULT KIND table=T ROW leaf=N: what differs'.\n"
    "export  writes the leaves (OUT/leaves.txt), every checkpoint\n"
    "        (OUT/checkpoints/SIZE.note), each cosigned one with its agencies'\n"
    "        cosignatures (OUT/cosigned/SIZE.note) and the key to check them\n"
    "        with (OUT/key.txt) in the format docs/audit.md describes, for an\n"
    "        auditor who has nothing but that page; then who cosigned the latest\n"
    "        checkpoint.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE   the broker's broker.conf: its store and network document\n"
    "  --store DIR         the broker's store directory (holding vigil.db)\n"
    "  --dsn DSN           a PostgreSQL store (libpq connection string or URI);\n"
    "                      give --network and --admin-key with it\n"
    "  --network FILE      with --store or --dsn: the signed network document\n"
    "  --admin-key HEX     with --store or --dsn: the administrator's key that signs it\n"
    "                      (without both, DIR/../broker.conf is read)\n"
    "  --checkpoint FILE   verify: a checkpoint held outside the store (repeatable)\n"
    "  --signatures        verify: also check every stored envelope, receipt and\n"
    "                      share signature (about 50 us each; slow on a big store)\n"
    "  --out DIR           export: where to write (created; must be empty)\n"
    "  -h, --help          this help\n"
    "\n"
    "The store is opened read-only; the broker may be running.\n"
    "Exit status: 0 verified (exported), 1 a fault was found or the store could not\n"
    "be read, 2 the command line was wrong.\n";

typedef struct s_opts {
    const char *sub;                            /* "verify" or "export" */
    const char *conf;                           /* -c */
    const char *store;                          /* --store */
    const char *dsn;                            /* --dsn */
    const char *network;                        /* --network */
    const char *admin_key;                      /* --admin-key */
    const char *out;                            /* --out */
    const char *checkpoints[S_CHECKPOINTS_MAX]; /* --checkpoint files */
    size_t n_checkpoints;                       /* count */
    bool signatures;                            /* --signatures */
} s_opts;

/* ---- command line ------------------------------------------------------------ */

static int
s_parse_args(int argc, char **argv, s_opts *o)
{
    enum { O_STORE = 256, O_NETWORK, O_ADMIN, O_CHECKPOINT, O_OUT, O_SIGNATURES, O_DSN };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"store", required_argument, NULL, O_STORE},
        {"dsn", required_argument, NULL, O_DSN},
        {"network", required_argument, NULL, O_NETWORK},
        {"admin-key", required_argument, NULL, O_ADMIN},
        {"checkpoint", required_argument, NULL, O_CHECKPOINT},
        {"out", required_argument, NULL, O_OUT},
        {"signatures", no_argument, NULL, O_SIGNATURES},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(s_help, stdout);
            return VGT_HELP_SHOWN;
        case 'c':
            o->conf = optarg;
            break;
        case O_STORE:
            o->store = optarg;
            break;
        case O_DSN:
            o->dsn = optarg;
            break;
        case O_NETWORK:
            o->network = optarg;
            break;
        case O_ADMIN:
            o->admin_key = optarg;
            break;
        case O_OUT:
            o->out = optarg;
            break;
        case O_SIGNATURES:
            o->signatures = true;
            break;
        case O_CHECKPOINT:
            if (o->n_checkpoints == S_CHECKPOINTS_MAX) {
                return vgt_usage_error(&s_who, "at most %d --checkpoint files", S_CHECKPOINTS_MAX);
            }
            o->checkpoints[o->n_checkpoints++] = optarg;
            break;
        default:
            return vgt_bad_option(&s_who, c, argv);
        }
    }
    if (optind >= argc ||
        (strcmp(argv[optind], "verify") != 0 && strcmp(argv[optind], "export") != 0)) {
        return vgt_usage_error(&s_who, "which audit command? 'verify' or 'export'");
    }
    o->sub = argv[optind++];
    const char *problem =
        optind < argc ? "unexpected argument"
        : (o->conf != NULL) + (o->store != NULL) + (o->dsn != NULL) != 1
            ? "give one of -c BROKER_CONF, --store DIR or --dsn DSN"
        : o->dsn != NULL && o->network == NULL ? "--dsn needs --network FILE and --admin-key HEX"
        : (o->network == NULL) != (o->admin_key == NULL) ? "--network and --admin-key go together"
        : o->conf != NULL && o->network != NULL
            ? "--network and --admin-key go with --store or --dsn"
        : strcmp(o->sub, "export") == 0 && o->out == NULL ? "export needs --out DIR"
        : strcmp(o->sub, "verify") == 0 && o->out != NULL ? "--out is for export"
        : strcmp(o->sub, "export") == 0 && o->signatures  ? "--signatures is for verify"
                                                          : NULL;
    if (problem != NULL) {
        return vgt_usage_error(&s_who, "%s%s%s", problem, optind < argc ? " " : "",
                               optind < argc ? argv[optind] : "");
    }
    return VGT_EXIT_OK;
}

/* ---- the store and its network --------------------------------------------------- */

static vg_err
s_load_conf(ctl_audit_target *t, const char *conf, bool store_from_conf, vg_reason *why)
{
    vg_broker_config *cfg = NULL;
    vg_err rc = vg_broker_config_load(&cfg, conf, why);
    if (rc == VG_OK) {
        memcpy(t->admin_pk, cfg->admin_pk, VG_SIGN_PK_LEN);
        rc = vg_netdoc_load(&t->doc, cfg->document_path, cfg->admin_pk, 0, why);
    }
    if (rc == VG_OK && store_from_conf && cfg->store_backend == VG_STORE_POSTGRESQL) {
        t->dsn = vg_strdup(cfg->store_dsn);
        rc = t->dsn != NULL ? VG_OK : VG_ERR_NOMEM;
    } else if (rc == VG_OK && store_from_conf) {
        t->store_dir = vg_strdup(cfg->store_path);
        rc = t->store_dir != NULL ? VG_OK : VG_ERR_NOMEM;
    }
    vg_broker_config_destroy(&cfg);
    return rc;
}

vg_err
ctl_audit_target_open(ctl_audit_target *t, const char *conf, const char *store, const char *dsn,
                      const char *network, const char *admin_key_hex, vg_reason *why)
{
    memset(t, 0, sizeof *t);
    if (conf != NULL) {
        return s_load_conf(t, conf, true, why);
    }
    if (dsn != NULL && (t->dsn = vg_strdup(dsn)) == NULL) {
        return VG_ERR_NOMEM;
    }
    struct stat st;
    bool is_file = store && stat(store, &st) == 0 && S_ISREG(st.st_mode); /* DIR/vigil.db */
    char *given = store ? vg_strdup(store) : NULL;
    t->store_dir = given != NULL ? vg_strdup(is_file ? dirname(given) : store) : NULL;
    free(given);
    if (t->store_dir == NULL && t->dsn == NULL) {
        return VG_ERR_NOMEM;
    }
    if (network != NULL) {
        if (vg_hex_decode(t->admin_pk, sizeof t->admin_pk, admin_key_hex) != VG_OK) {
            return vg_reason_set(why, VG_ERR_INVALID,
                                 "--admin-key must be 64 hex characters (the admin public key)");
        }
        return vg_netdoc_load(&t->doc, network, t->admin_pk, 0, why);
    }
    char *copy = vg_strdup(t->store_dir);
    if (copy == NULL) {
        return VG_ERR_NOMEM;
    }
    char *dir = dirname(copy); /* DIR -> DIR/.. */
    char *path = ctl_path(dir, "broker.conf");
    free(copy);
    vg_err rc = VG_OK;
    if (!ctl_exists(path)) {
        rc = vg_reason_set(why, VG_ERR_NOT_FOUND,
                           "no broker.conf beside the store (%s): give --network FILE and "
                           "--admin-key HEX so the store can be checked against its log",
                           path);
    } else {
        rc = s_load_conf(t, path, false, why);
    }
    free(path);
    return rc;
}

void
ctl_audit_target_close(ctl_audit_target *t)
{
    free(t->store_dir);
    free(t->dsn);
    vg_netdoc_destroy(&t->doc);
    memset(t, 0, sizeof *t);
}

vg_err
ctl_audit_store_open(struct vgb_store **out, const ctl_audit_target *t, vg_reason *why)
{
    vgb_store *store = NULL;
    vg_err rc = t->dsn != NULL ? vgb_store_open_readonly_dsn(&store, t->dsn, why)
                               : vgb_store_open_readonly(&store, t->store_dir, why);
    if (rc == VG_OK && (rc = vgb_store_read_begin(store, why)) != VG_OK) {
        vgb_store_destroy(&store);
    }
    if (rc == VG_OK) {
        *out = store;
    }
    return rc;
}

/* Opens the store read-only and starts one read transaction: everything
 * below reads one consistent state, the broker running or not. */
static vgb_store *
s_open_store(const ctl_audit_target *t)
{
    vgb_store *store = NULL;
    vg_reason why = {{0}};
    vg_err rc = ctl_audit_store_open(&store, t, &why);
    if (rc != VG_OK) {
        vgt_error(&s_who, "%s%s", why.text,
                  rc == VG_ERR_NOT_FOUND ? ": give the broker's store directory or its broker.conf"
                                         : "");
        return NULL;
    }
    return store;
}

/* ---- checkpoints held elsewhere ------------------------------------------------------ */

/* The note in a --checkpoint file: a bare note, the text output of
 * `vigil-agent audit checkpoint` (a header, a blank line, the note) or its
 * --json ("note" field). *out is malloc'ed. */
static vg_err
s_read_note(char **out, size_t *out_len, const char *path, vg_reason *why)
{
    uint8_t *text = NULL;
    size_t len = 0;
    vg_err rc = vg_file_read(&text, &len, path, 4 * VG_CHECKPOINT_MAX_BYTES, why);
    if (rc != VG_OK) {
        return rc;
    }
    char *s = (char *)text; /* vg_file_read NUL-terminates */
    const char *note = s;
    json_t *j = NULL;
    if (s[0] == '{') {
        j = json_loads(s, 0, NULL);
        note = json_string_value(json_object_get(j, "note"));
        if (note == NULL) {
            json_decref(j);
            free(text);
            return vg_reason_set(why, VG_ERR_MALFORMED, "JSON without a \"note\" string");
        }
    } else if (strncmp(s, "origin ", 7) == 0 && strstr(s, "\n\n") != NULL) {
        note = strstr(s, "\n\n") + 2;
    }
    *out = vg_strdup(note);
    *out_len = *out ? strlen(*out) : 0;
    json_decref(j);
    free(text);
    return *out ? VG_OK : VG_ERR_NOMEM;
}

/* ---- verify ---------------------------------------------------------------------------- */

static const char *
s_fault_name(vgb_audit_fault f)
{
    static const char *const names[] = {"none",       "deleted", "altered",    "malformed",
                                        "reordered",  "subtree", "root",       "truncated",
                                        "checkpoint", "state",   "cosignature"};
    return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "unknown";
}

/* "audit: FAULT <kind> table=T [row] [leaf=N] [checkpoint=SIZE]: detail" */
static void
s_fault_line(char *out, size_t len, const vgb_audit_report *r)
{
    char leaf[48] = "", cp[48] = "";
    if (r->first_bad_index != VGB_AUDIT_NO_INDEX) {
        snprintf(leaf, sizeof leaf, " leaf=%" PRIu64, r->first_bad_index);
    }
    if (r->has_checkpoint) {
        snprintf(cp, sizeof cp, " checkpoint=%" PRIu64, r->checkpoint_size);
    }
    snprintf(out, len, "audit: FAULT %s%s%s%s%s%s%s: %s", s_fault_name(r->fault),
             r->table ? " table=" : "", r->table ? r->table : "", r->row[0] ? " " : "", r->row,
             leaf, cp, r->detail);
}

/* "audit: N cosignatures verified; the latest checkpoint (size S) is
 * cosigned by K of M agencies: a, b" */
static void
s_cosigned_line(char *out, size_t len, const vgb_cosign_summary *co, const vg_netdoc *doc)
{
    char names[768];
    vg_strlist_join(names, sizeof names, &co->latest, ", ");
    if (!co->has_latest) {
        snprintf(out, len, "audit: no checkpoint signed yet, so none cosigned");
        return;
    }
    snprintf(out, len,
             "audit: %" PRIu64 " cosignature%s verified; the latest checkpoint (size %" PRIu64
             ") is cosigned by %zu of %zu agencies%s%s",
             co->n_checked, co->n_checked == 1 ? "" : "s", co->latest_size, co->latest.n,
             vg_netdoc_n_agencies(doc), co->latest.n > 0 ? ": " : "", names);
}

void
ctl_audit_check(ctl_audit_result *out, struct vgb_store *store, const ctl_audit_target *t,
                const char *const *notes, const size_t *note_lens, size_t n_notes, bool signatures)
{
    memset(out, 0, sizeof *out);
    vgb_audit_verify_params p = {.origin = vg_netdoc_network(t->doc),
                                 .broker_pk = vg_netdoc_broker_sign_pk(t->doc),
                                 .doc = t->doc,
                                 .notes = notes,
                                 .note_lens = note_lens,
                                 .n_notes = n_notes};
    vgb_audit_state_params sp = {.admin_pk = t->admin_pk,
                                 .signatures = signatures,
                                 .current_version = vg_netdoc_version(t->doc)};
    vgb_audit_report rep = {0}, st = {0}, cor = {0}; /* the log, the rows, the cosignatures */
    vg_reason why = {{0}};
    vgb_cosign_summary co = {0};
    vg_err rc = vgb_audit_verify(store, &p, &rep, &why);
    if (rc == VG_OK) {
        rc = vgb_audit_check_state(store, &sp, &st, &why);
    }
    if (rc == VG_OK) { /* its own report: st keeps the rows' counts (purged, held) */
        rc = vgb_audit_check_cosignatures(store, t->doc, &co, &cor, &why);
    }
    out->n_leaves = rep.n_leaves;
    out->n_checkpoints = rep.n_checkpoints;
    s_cosigned_line(out->cosigned, sizeof out->cosigned, &co, t->doc);
    vgb_cosign_summary_fini(&co);
    if (rc == VG_ERR_CONFLICT) {
        out->fault = true;
        s_fault_line(out->line, sizeof out->line,
                     rep.fault != VGB_AUDIT_FAULT_NONE  ? &rep
                     : st.fault != VGB_AUDIT_FAULT_NONE ? &st
                                                        : &cor);
    } else if (rc != VG_OK) {
        snprintf(out->line, sizeof out->line, "cannot verify: %s (%s)", why.text, vg_err_code(rc));
    } else {
        out->verified = true;
        snprintf(out->line, sizeof out->line,
                 "audit: %" PRIu64 " leaves, %" PRIu64 " checkpoints verified (%zu held outside "
                 "the store); every row of the store answers to the log; %" PRIu64
                 " purged (content gone by retention: their leaves and hashes stand in for it), "
                 "%" PRIu64 " under a legal hold",
                 rep.n_leaves, rep.n_checkpoints, n_notes, st.n_purged, st.n_held);
    }
}

static int
s_verify(const s_opts *o, vgb_store *store, const ctl_audit_target *t)
{
    char *notes[S_CHECKPOINTS_MAX] = {0};
    size_t lens[S_CHECKPOINTS_MAX] = {0};
    int exit_code = VGT_EXIT_OK;
    for (size_t i = 0; i < o->n_checkpoints && exit_code == VGT_EXIT_OK; i++) {
        vg_reason why = {{0}};
        if (s_read_note(&notes[i], &lens[i], o->checkpoints[i], &why) != VG_OK) {
            vgt_error(&s_who, "--checkpoint %s: %s", o->checkpoints[i], why.text);
            exit_code = VGT_EXIT_FAIL;
        }
    }
    if (exit_code == VGT_EXIT_OK) {
        ctl_audit_result res;
        ctl_audit_check(&res, store, t, (const char *const *)notes, lens, o->n_checkpoints,
                        o->signatures);
        if (res.verified) {
            printf("%s\n%s\n", res.line, res.cosigned);
        } else if (res.fault) {
            printf("%s\n", res.line);
        } else {
            vgt_error(&s_who, "%s", res.line);
        }
        exit_code = res.verified ? VGT_EXIT_OK : VGT_EXIT_FAIL;
    }
    for (size_t i = 0; i < o->n_checkpoints; i++) {
        free(notes[i]);
    }
    return exit_code;
}

/* ---- export ----------------------------------------------------------------------------- */

typedef struct s_out {
    FILE *f;         /* leaves.txt */
    const char *dir; /* checkpoints/ */
    uint64_t n;      /* written */
    vg_err rc;       /* the first failure */
    vg_reason *why;  /* what it was */
} s_out;

static bool
s_write_leaf(void *ctx, uint64_t idx, const uint8_t *leaf, size_t len, const uint8_t *hash,
             bool hash_ok)
{
    (void)idx, (void)hash, (void)hash_ok;
    s_out *o = ctx;
    if (fwrite(leaf, 1, len, o->f) != len || fputc('\n', o->f) == EOF) {
        o->rc = VG_ERR_IO;
        return false;
    }
    o->n++;
    return true;
}

static vg_err
s_export_leaves(vgb_store *store, const char *path, uint64_t *n_out, vg_reason *why)
{
    FILE *f = fopen(path, "wx");
    if (f == NULL) {
        return vg_reason_set(why, VG_ERR_IO, "cannot create %s", path);
    }
    s_out o = {.f = f};
    vg_err rc = vgb_store_audit_leaves(store, s_write_leaf, &o);
    rc = rc == VG_OK ? o.rc : rc;
    bool ok = rc == VG_OK && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    *n_out = o.n;
    return ok ? VG_OK : vg_reason_set(why, VG_ERR_IO, "cannot write %s", path);
}

static void
s_write_checkpoint(void *ctx, const vgb_checkpoint_row *row)
{
    s_out *o = ctx;
    if (o->rc != VG_OK) {
        return;
    }
    char name[32];
    snprintf(name, sizeof name, "%" PRIu64 ".note", row->size);
    char *path = ctl_path(o->dir, name);
    o->rc = vg_file_write_atomic(path, row->note, row->note_len, 0644, o->why);
    free(path);
    o->n++;
}

static vg_err
s_export_checkpoints(vgb_store *store, const char *dir, uint64_t *n_out, vg_reason *why)
{
    vg_err rc = vg_mkdir_p(dir, 0755, why);
    s_out o = {.dir = dir, .why = why};
    if (rc == VG_OK && (rc = vgb_store_audit_checkpoints(store, s_write_checkpoint, &o)) != VG_OK) {
        vg_reason_set(why, rc, "cannot read checkpoints: %s", vg_strerror(rc));
    }
    *n_out = o.n;
    return rc == VG_OK ? o.rc : rc;
}

/* cosigned/SIZE.note: a checkpoint with the cosignatures the store keeps
 * of it, as one C2SP cosigned note (the broker's signature line, then each
 * agency's cosignature line, in agency order). */
typedef struct s_cosigned {
    vgb_store *store; /* to read each checkpoint */
    const char *dir;  /* cosigned/ */
    uint64_t size;    /* the checkpoint being gathered */
    char *text;       /* its note and the lines so far (malloc'ed), or NULL */
    size_t len;       /* its length */
    uint64_t n;       /* cosignatures written */
    vg_err rc;        /* the first failure */
    vg_reason *why;   /* what it was */
} s_cosigned;

static void
s_cosigned_flush(s_cosigned *c)
{
    if (c->text != NULL && c->rc == VG_OK) {
        char name[32];
        snprintf(name, sizeof name, "%" PRIu64 ".note", c->size);
        char *path = ctl_path(c->dir, name);
        c->rc = vg_file_write_atomic(path, c->text, c->len, 0644, c->why);
        free(path);
    }
    free(c->text);
    c->text = NULL;
    c->len = 0;
}

static bool
s_cosigned_append(s_cosigned *c, const char *bytes, size_t len)
{
    char *t = realloc(c->text, c->len + len + 1);
    if (t == NULL) {
        c->rc = VG_ERR_NOMEM;
        return false;
    }
    memcpy(t + c->len, bytes, len);
    c->len += len;
    t[c->len] = '\0';
    c->text = t;
    return true;
}

static void
s_cosigned_note(void *ctx, const vgb_checkpoint_row *row)
{
    (void)s_cosigned_append(ctx, row->note, row->note_len);
}

static void
s_cosigned_row(void *ctx, const vgb_cosign_row *row)
{
    s_cosigned *c = ctx;
    if (c->rc != VG_OK) {
        return;
    }
    if (c->text == NULL || row->size != c->size) {
        s_cosigned_flush(c);
        c->size = row->size;
        bool found = false;
        c->rc = vgb_store_audit_checkpoint_at(c->store, row->size, s_cosigned_note, c, &found);
        if (c->rc == VG_OK && !found) { /* audit verify names it; nothing to attach it to */
            return;
        }
    }
    if (c->rc == VG_OK && c->text != NULL && s_cosigned_append(c, row->line, row->line_len) &&
        s_cosigned_append(c, "\n", 1)) {
        c->n++;
    }
}

static vg_err
s_export_cosigned(vgb_store *store, const char *dir, uint64_t *n_out, vg_reason *why)
{
    vg_err rc = vg_mkdir_p(dir, 0755, why);
    s_cosigned c = {.store = store, .dir = dir, .why = why};
    if (rc == VG_OK && (rc = vgb_store_cosignatures(store, 0, s_cosigned_row, &c)) != VG_OK) {
        vg_reason_set(why, rc, "cannot read cosignatures: %s", vg_strerror(rc));
    }
    s_cosigned_flush(&c);
    *n_out = c.n;
    return rc == VG_OK ? c.rc : rc;
}

static vg_err
s_export_key(const char *path, const vg_netdoc *doc, vg_reason *why)
{
    char hex[2 * VG_SIGN_PK_LEN + 1], vkey[VG_CHECKPOINT_VKEY_MAX], text[1024];
    vg_hex_encode(hex, sizeof hex, vg_netdoc_broker_sign_pk(doc), VG_SIGN_PK_LEN);
    vg_err rc = vg_checkpoint_verifier_key(vkey, sizeof vkey, vg_netdoc_network(doc),
                                           vg_netdoc_broker_sign_pk(doc));
    if (rc != VG_OK) {
        return vg_reason_set(why, rc, "the network name is not a valid key name");
    }
    int n =
        snprintf(text, sizeof text,
                 "origin=%s\nbroker_sign_key=%s\nverifier_key=%s\nnetwork_version=%" PRIu64 "\n",
                 vg_netdoc_network(doc), hex, vkey, vg_netdoc_version(doc));
    return vg_file_write_atomic(path, text, (size_t)n, 0644, why);
}

static int
s_export(const s_opts *o, vgb_store *store, const vg_netdoc *doc)
{
    vg_reason why = {{0}};
    vg_err rc = vg_mkdir_p(o->out, 0755, &why);
    char *leaves = ctl_path(o->out, "leaves.txt");
    char *cps = ctl_path(o->out, "checkpoints");
    char *key = ctl_path(o->out, "key.txt");
    char *cosigned = ctl_path(o->out, "cosigned");
    if (rc == VG_OK &&
        (ctl_exists(leaves) || ctl_exists(cps) || ctl_exists(key) || ctl_exists(cosigned))) {
        rc = vg_reason_set(&why, VG_ERR_DUPLICATE,
                           "%s already holds an export: give an empty "
                           "directory",
                           o->out);
    }
    uint64_t n_leaves = 0, n_cps = 0, n_cosigs = 0;
    rc = rc == VG_OK ? s_export_leaves(store, leaves, &n_leaves, &why) : rc;
    rc = rc == VG_OK ? s_export_checkpoints(store, cps, &n_cps, &why) : rc;
    rc = rc == VG_OK ? s_export_cosigned(store, cosigned, &n_cosigs, &why) : rc;
    rc = rc == VG_OK ? s_export_key(key, doc, &why) : rc;
    free(leaves);
    free(cps);
    free(key);
    free(cosigned);
    if (rc != VG_OK) {
        vgt_error(&s_who, "export failed: %s", why.text);
        return VGT_EXIT_FAIL;
    }
    printf("audit: exported %" PRIu64 " leaves, %" PRIu64 " checkpoints and %" PRIu64
           " cosignatures to %s\n",
           n_leaves, n_cps, n_cosigs, o->out);
    /* who cosigned the latest checkpoint, as far as their signatures verify */
    vgb_cosign_summary co = {0};
    vgb_audit_report rep;
    vg_err crc = vgb_audit_check_cosignatures(store, doc, &co, &rep, &why);
    char line[1024];
    s_cosigned_line(line, sizeof line, &co, doc);
    vgb_cosign_summary_fini(&co);
    if (crc == VG_OK) {
        printf("%s\n", line);
        return VGT_EXIT_OK;
    }
    char fault[2048];
    s_fault_line(fault, sizeof fault, &rep);
    vgt_error(&s_who, "%s", crc == VG_ERR_CONFLICT ? fault : why.text);
    return VGT_EXIT_FAIL;
}

int
ctl_cmd_audit(int argc, char **argv)
{
    s_opts o = {0};
    int rc = s_parse_args(argc, argv, &o);
    if (rc != VGT_EXIT_OK) {
        return rc == VGT_HELP_SHOWN ? VGT_EXIT_OK : rc;
    }
    ctl_audit_target t;
    vg_reason why = {{0}};
    if (ctl_audit_target_open(&t, o.conf, o.store, o.dsn, o.network, o.admin_key, &why) != VG_OK) {
        vgt_error(&s_who, "%s", why.text);
        ctl_audit_target_close(&t);
        return VGT_EXIT_FAIL;
    }
    vgb_store *store = s_open_store(&t);
    rc = store == NULL                  ? VGT_EXIT_FAIL
         : strcmp(o.sub, "verify") == 0 ? s_verify(&o, store, &t)
                                        : s_export(&o, store, t.doc);
    if (store != NULL) {
        vgb_store_read_end(store);
        vgb_store_destroy(&store);
    }
    ctl_audit_target_close(&t);
    return rc;
}
