/*
 * ctl_audit.c — vigilctl audit verify | export: the broker's audit log,
 * checked offline or handed to an outside auditor (docs/audit.md).
 *
 * verify recomputes the Merkle tree from the stored leaves and checks every
 * stored checkpoint and any given with --checkpoint (the notes agencies
 * hold), through vgb_audit_verify; then checks that the leaves match the
 * state rows they describe where that is cheap: an accepted leaf against its
 * alerts row (sender, envelope hash, network version, recipients rows), a
 * delivered leaf against its recipients row, a receipt leaf against its
 * receipts row (by hash, agency and alert), a shared leaf against its shares
 * row; and that every alerts row has its accepted leaf. The first fault is
 * named with its leaf index and exits 1.
 *
 * Both read the store read-only, inside one read transaction, so they see
 * one consistent snapshot even while the broker runs (WAL).
 *
 * The origin and the broker's key come from the network document: the one
 * broker.conf names (-c), or with --store the one given by --network FILE
 * and --admin-key HEX, or else the broker.conf beside the store directory
 * (DIR/../broker.conf, the layout vigilctl init writes).
 *
 * Trade-off: the alert ids matched by accepted leaves are held in memory
 * (16 bytes an alert) to find alerts without a leaf in one pass.
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
#include <sqlite3.h>

#include "audit.h"
#include "ctl.h"
#include "vigil/broker_config.h"
#include "vigil/netdoc.h"
#include "vigil/util.h"

static const vgt_who s_who = {CTL_PROGRAM, "audit"};
#define S_DB_NAME "vigil.db"
#define S_BUSY_MS 5000
#define S_CHECKPOINTS_MAX 64 /* --checkpoint files accepted */

static const char s_help[] =
    "usage: vigilctl audit verify (-c BROKER_CONF | --store DIR [--network FILE\n"
    "                             --admin-key HEX]) [--checkpoint FILE ...]\n"
    "       vigilctl audit export (-c BROKER_CONF | --store DIR [...]) --out DIR\n"
    "\n"
    "verify  recomputes the broker's audit log (a Merkle tree of every event) from\n"
    "        its store, checks every signed checkpoint against it, and the\n"
    "        checkpoints agencies hold (--checkpoint FILE: the output of\n"
    "        'vigil-agent audit checkpoint', its --json, or a bare note), and that\n"
    "        each leaf matches the alerts, recipients, receipts and shares rows it\n"
    "        describes. Prints 'audit: N leaves, M checkpoints verified', or the\n"
    "        first fault with its leaf index.\n"
    "export  writes the leaves (OUT/leaves.txt), every checkpoint\n"
    "        (OUT/checkpoints/SIZE.note) and the key to check them with\n"
    "        (OUT/key.txt) in the format docs/audit.md describes, for an auditor\n"
    "        who has nothing but that page.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE   the broker's broker.conf: its store and network document\n"
    "  --store DIR         the broker's store directory (holding vigil.db)\n"
    "  --network FILE      with --store: the signed network document\n"
    "  --admin-key HEX     with --store: the administrator's public key that signs it\n"
    "                      (without both, DIR/../broker.conf is read)\n"
    "  --checkpoint FILE   verify: a checkpoint held outside the store (repeatable)\n"
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
    const char *network;                        /* --network */
    const char *admin_key;                      /* --admin-key */
    const char *out;                            /* --out */
    const char *checkpoints[S_CHECKPOINTS_MAX]; /* --checkpoint files */
    size_t n_checkpoints;                       /* count */
} s_opts;

/* Where the store is and which network it belongs to. */
typedef struct s_target {
    char *db_path;  /* DIR/vigil.db */
    vg_netdoc *doc; /* the verified network document */
} s_target;

/* ---- command line ------------------------------------------------------------ */

static int
s_parse_args(int argc, char **argv, s_opts *o)
{
    enum { O_STORE = 256, O_NETWORK, O_ADMIN, O_CHECKPOINT, O_OUT };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"store", required_argument, NULL, O_STORE},
        {"network", required_argument, NULL, O_NETWORK},
        {"admin-key", required_argument, NULL, O_ADMIN},
        {"checkpoint", required_argument, NULL, O_CHECKPOINT},
        {"out", required_argument, NULL, O_OUT},
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
        case O_NETWORK:
            o->network = optarg;
            break;
        case O_ADMIN:
            o->admin_key = optarg;
            break;
        case O_OUT:
            o->out = optarg;
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
        optind < argc                             ? "unexpected argument"
        : (o->conf == NULL) == (o->store == NULL) ? "give either -c BROKER_CONF or --store DIR"
        : (o->network == NULL) != (o->admin_key == NULL) ? "--network and --admin-key go together"
        : o->conf != NULL && o->network != NULL ? "--network and --admin-key go with --store"
        : strcmp(o->sub, "export") == 0 && o->out == NULL ? "export needs --out DIR"
        : strcmp(o->sub, "verify") == 0 && o->out != NULL ? "--out is for export"
                                                          : NULL;
    if (problem != NULL) {
        return vgt_usage_error(&s_who, "%s%s%s", problem, optind < argc ? " " : "",
                               optind < argc ? argv[optind] : "");
    }
    return VGT_EXIT_OK;
}

/* ---- the store and its network --------------------------------------------------- */

static vg_err
s_load_conf(s_target *t, const char *conf, bool store_from_conf, vg_reason *why)
{
    vg_broker_config *cfg = NULL;
    vg_err rc = vg_broker_config_load(&cfg, conf, why);
    if (rc == VG_OK) {
        rc = vg_netdoc_load(&t->doc, cfg->document_path, cfg->admin_pk, 0, why);
    }
    if (rc == VG_OK && store_from_conf) {
        t->db_path = ctl_path(cfg->store_path, S_DB_NAME);
    }
    vg_broker_config_destroy(&cfg);
    return rc;
}

static vg_err
s_target_open(s_target *t, const s_opts *o, vg_reason *why)
{
    memset(t, 0, sizeof *t);
    if (o->conf != NULL) {
        return s_load_conf(t, o->conf, true, why);
    }
    struct stat st;
    bool is_file = stat(o->store, &st) == 0 && S_ISREG(st.st_mode);
    t->db_path = is_file ? vg_strdup(o->store) : ctl_path(o->store, S_DB_NAME);
    if (t->db_path == NULL) {
        return VG_ERR_NOMEM;
    }
    if (o->network != NULL) {
        uint8_t pk[VG_SIGN_PK_LEN];
        if (vg_hex_decode(pk, sizeof pk, o->admin_key) != VG_OK) {
            return vg_reason_set(why, VG_ERR_INVALID,
                                 "--admin-key must be 64 hex characters (the admin public key)");
        }
        return vg_netdoc_load(&t->doc, o->network, pk, 0, why);
    }
    char *copy = vg_strdup(is_file ? o->store : t->db_path);
    if (copy == NULL) {
        return VG_ERR_NOMEM;
    }
    char *dir = dirname(dirname(copy)); /* DIR/vigil.db -> DIR/.. */
    char *conf = ctl_path(dir, "broker.conf");
    free(copy);
    vg_err rc = VG_OK;
    if (!ctl_exists(conf)) {
        rc = vg_reason_set(why, VG_ERR_NOT_FOUND,
                           "no broker.conf beside the store (%s): give --network FILE and "
                           "--admin-key HEX so the checkpoints can be checked",
                           conf);
    } else {
        rc = s_load_conf(t, conf, false, why);
    }
    free(conf);
    return rc;
}

static void
s_target_close(s_target *t)
{
    free(t->db_path);
    vg_netdoc_destroy(&t->doc);
}

/* Opens the database read-only and starts one read transaction. */
static sqlite3 *
s_open_db(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        vgt_error(&s_who, "no store at %s: give the broker's store directory or its broker.conf",
                  path);
        return NULL;
    }
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, S_BUSY_MS);
        rc = sqlite3_exec(db,
                          "BEGIN; SELECT count(*) FROM audit_leaves; SELECT count(*) FROM alerts",
                          NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        vgt_error(&s_who, "%s is not a readable vigil broker store with an audit log: %s", path,
                  db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return NULL;
    }
    return db;
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

/* ---- leaves against state rows ------------------------------------------------------- */

typedef struct s_state {
    sqlite3 *db;                          /* read-only store */
    uint8_t (*accepted)[VG_ALERT_ID_LEN]; /* alert ids with an accepted leaf */
    size_t n_accepted;                    /* count */
    size_t cap_accepted;                  /* allocated */
    uint64_t bad_index;                   /* the leaf that does not match, or VGB_AUDIT_NO_INDEX */
    char detail[VG_REASON_MAX];           /* what was wrong */
} s_state;

/* Runs sql with ?1.. bound from the leaf; true when it returns a row whose
 * first column is non-zero. */
static bool
s_row_exists(s_state *s, const char *sql, const vg_audit_event *ev, const char *agency)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        return false;
    }
    sqlite3_bind_blob(st, 1, ev->alert_id, VG_ALERT_ID_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, agency, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, ev->hash, VG_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, ev->sender, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)ev->version);
    bool ok = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
    sqlite3_finalize(st);
    return ok;
}

static bool
s_mismatch(s_state *s, const vg_audit_event *ev, const char *what)
{
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, ev->alert_id);
    s->bad_index = ev->index;
    snprintf(s->detail, sizeof s->detail, "%s leaf for alert %s: %s", vg_audit_kind_name(ev->kind),
             idhex, what);
    return false;
}

static bool
s_check_accepted(s_state *s, const vg_audit_event *ev)
{
    if (!s_row_exists(s, "SELECT count(*) FROM alerts WHERE alert_id = ?1", ev, "")) {
        return s_mismatch(s, ev, "the store has no such alert (its row was deleted)");
    }
    if (!s_row_exists(s,
                      "SELECT count(*) FROM alerts WHERE alert_id = ?1 AND envelope_hash = ?3"
                      " AND sender = ?4 AND network_version = ?5",
                      ev, "")) {
        return s_mismatch(s, ev, "the alerts row has another sender, envelope hash or version");
    }
    for (size_t i = 0; i < ev->agencies.n; i++) {
        if (!s_row_exists(s,
                          "SELECT count(*) FROM recipients r JOIN alerts a ON a.seq = r.alert_seq"
                          " WHERE a.alert_id = ?1 AND r.agency = ?2",
                          ev, ev->agencies.items[i])) {
            return s_mismatch(s, ev, "a listed recipient has no recipients row");
        }
    }
    if (s->n_accepted == s->cap_accepted) {
        size_t cap = s->cap_accepted ? 2 * s->cap_accepted : 1024;
        void *p = realloc(s->accepted, cap * sizeof *s->accepted);
        if (p == NULL) {
            return s_mismatch(s, ev, "out of memory");
        }
        s->accepted = p;
        s->cap_accepted = cap;
    }
    memcpy(s->accepted[s->n_accepted++], ev->alert_id, VG_ALERT_ID_LEN);
    return true;
}

/* A DELIVERED receipt's leaf: the receipt is stored, and each alert it lists
 * is one of its items with the delivery recorded for the agency. */
static bool
s_check_delivered(s_state *s, vg_audit_event *ev)
{
    for (size_t i = 0; i < ev->n_alerts; i++) {
        memcpy(ev->alert_id, ev->alerts[i], VG_ALERT_ID_LEN); /* for the query and the message */
        if (!s_row_exists(s,
                          "SELECT count(*) FROM receipts r JOIN receipt_items i"
                          " ON i.receipt_id = r.id JOIN alerts a ON a.seq = i.alert_seq"
                          " WHERE a.alert_id = ?1 AND r.agency = ?2 AND r.receipt_hash = ?3",
                          ev, ev->agency)) {
            return s_mismatch(s, ev, "no receipts row with this hash, agency and alert");
        }
        if (!s_row_exists(s,
                          "SELECT count(*) FROM recipients r JOIN alerts a ON a.seq = r.alert_seq"
                          " WHERE a.alert_id = ?1 AND r.agency = ?2"
                          " AND r.delivered_ms IS NOT NULL",
                          ev, ev->agency)) {
            return s_mismatch(s, ev, "no recipients row records the delivery");
        }
    }
    return true;
}

/* True when the leaf agrees with the rows it describes (or is of a kind not
 * checked); false with s->bad_index and s->detail set. */
static bool
s_check_leaf(s_state *s, vg_audit_event *ev)
{
    switch (ev->kind) {
    case VG_AUDIT_ACCEPTED:
        return s_check_accepted(s, ev);
    case VG_AUDIT_DELIVERED:
        return s_check_delivered(s, ev);
    case VG_AUDIT_ACKNOWLEDGED:
    case VG_AUDIT_IN_PROGRESS:
    case VG_AUDIT_DECLINED:
    case VG_AUDIT_UNOPENABLE:
        return s_row_exists(s,
                            "SELECT count(*) FROM receipts r JOIN receipt_items i"
                            " ON i.receipt_id = r.id JOIN alerts a ON a.seq = i.alert_seq"
                            " WHERE a.alert_id = ?1 AND r.agency = ?2 AND r.receipt_hash = ?3",
                            ev, ev->agency) ||
               s_mismatch(s, ev, "no receipts row with this hash, agency and alert");
    case VG_AUDIT_SHARED:
        return s_row_exists(s,
                            "SELECT count(*) FROM shares s JOIN alerts a ON a.seq = s.alert_seq"
                            " WHERE a.alert_id = ?1 AND s.sharer = ?2 AND s.share_hash = ?3",
                            ev, ev->agency) ||
               s_mismatch(s, ev, "no shares row with this hash, sharer and alert");
    default:
        return true; /* no cheap row to compare with */
    }
}

static int
s_cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, VG_ALERT_ID_LEN);
}

/* Every alerts row must have had its accepted leaf. */
static bool
s_check_alerts_have_leaves(s_state *s)
{
    qsort(s->accepted, s->n_accepted, sizeof *s->accepted, s_cmp_id);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT alert_id FROM alerts ORDER BY seq", -1, &st, NULL) !=
        SQLITE_OK) {
        snprintf(s->detail, sizeof s->detail, "cannot read alerts: %s", sqlite3_errmsg(s->db));
        return false;
    }
    bool ok = true;
    while (ok && sqlite3_step(st) == SQLITE_ROW) {
        const void *id = sqlite3_column_blob(st, 0);
        if (sqlite3_column_bytes(st, 0) != VG_ALERT_ID_LEN ||
            (s->n_accepted == 0 ||
             bsearch(id, s->accepted, s->n_accepted, sizeof *s->accepted, s_cmp_id) == NULL)) {
            char idhex[VG_ALERT_ID_HEX_LEN + 1] = "?";
            if (sqlite3_column_bytes(st, 0) == VG_ALERT_ID_LEN) {
                vg_alert_id_hex(idhex, id);
            }
            snprintf(s->detail, sizeof s->detail,
                     "alert %s is in the store but has no accepted leaf: added outside the log",
                     idhex);
            ok = false;
        }
    }
    sqlite3_finalize(st);
    return ok;
}

/* Walks the leaves (already verified by vgb_audit_verify) against the rows. */
static bool
s_check_state(s_state *s)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT idx, leaf FROM audit_leaves ORDER BY idx", -1, &st,
                           NULL) != SQLITE_OK) {
        snprintf(s->detail, sizeof s->detail, "cannot read leaves: %s", sqlite3_errmsg(s->db));
        return false;
    }
    bool ok = true;
    int rc;
    while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        vg_audit_event ev;
        vg_reason why = {{0}};
        const uint8_t *leaf = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        if (vg_audit_leaf_parse(&ev, leaf, len, &why) != VG_OK) {
            s->bad_index = (uint64_t)sqlite3_column_int64(st, 0);
            snprintf(s->detail, sizeof s->detail, "leaf does not parse: %.400s", why.text);
            ok = false;
            break;
        }
        ok = s_check_leaf(s, &ev);
        vg_audit_event_fini(&ev);
    }
    if (ok && rc != SQLITE_DONE) {
        snprintf(s->detail, sizeof s->detail, "cannot read leaves: %s", sqlite3_errmsg(s->db));
        ok = false;
    }
    sqlite3_finalize(st);
    return ok && s_check_alerts_have_leaves(s);
}

/* ---- verify ---------------------------------------------------------------------------- */

static const char *
s_fault_name(vgb_audit_fault f)
{
    static const char *const names[] = {"none",    "deleted", "altered",   "malformed", "reordered",
                                        "subtree", "root",    "truncated", "checkpoint"};
    return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "unknown";
}

static int
s_verify(const s_opts *o, sqlite3 *db, const vg_netdoc *doc)
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
    vgb_audit_verify_params p = {.origin = vg_netdoc_network(doc),
                                 .broker_pk = vg_netdoc_broker_sign_pk(doc),
                                 .notes = (const char *const *)notes,
                                 .note_lens = lens,
                                 .n_notes = o->n_checkpoints};
    vgb_audit_report rep;
    vg_reason why = {{0}};
    vg_err rc = exit_code == VGT_EXIT_OK ? vgb_audit_verify(db, &p, &rep, &why) : VG_ERR_INVALID;
    s_state st = {.db = db, .bad_index = VGB_AUDIT_NO_INDEX};
    if (rc == VG_ERR_CONFLICT) {
        printf("audit: FAULT %s at leaf %s%" PRIu64 ": %s\n", s_fault_name(rep.fault),
               rep.first_bad_index == VGB_AUDIT_NO_INDEX ? "?" : "",
               rep.first_bad_index == VGB_AUDIT_NO_INDEX ? 0 : rep.first_bad_index, rep.detail);
        exit_code = VGT_EXIT_FAIL;
    } else if (rc != VG_OK && exit_code == VGT_EXIT_OK) {
        vgt_error(&s_who, "cannot verify: %s (%s)", why.text, vg_err_code(rc));
        exit_code = VGT_EXIT_FAIL;
    } else if (rc == VG_OK && !s_check_state(&st)) {
        if (st.bad_index != VGB_AUDIT_NO_INDEX) {
            printf("audit: FAULT state at leaf %" PRIu64 ": %s\n", st.bad_index, st.detail);
        } else {
            printf("audit: FAULT state: %s\n", st.detail);
        }
        exit_code = VGT_EXIT_FAIL;
    } else if (rc == VG_OK) {
        printf("audit: %" PRIu64 " leaves, %" PRIu64 " checkpoints verified (%zu held outside "
               "the store); every leaf matches the store's rows\n",
               rep.n_leaves, rep.n_checkpoints, o->n_checkpoints);
    }
    free(st.accepted);
    for (size_t i = 0; i < o->n_checkpoints; i++) {
        free(notes[i]);
    }
    return exit_code;
}

/* ---- export ----------------------------------------------------------------------------- */

static vg_err
s_export_leaves(sqlite3 *db, const char *path, uint64_t *n_out, vg_reason *why)
{
    FILE *f = fopen(path, "wx");
    if (f == NULL) {
        return vg_reason_set(why, VG_ERR_IO, "cannot create %s", path);
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT leaf FROM audit_leaves ORDER BY idx", -1, &st, NULL);
    uint64_t n = 0;
    while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        size_t len = (size_t)sqlite3_column_bytes(st, 0);
        if (fwrite(sqlite3_column_blob(st, 0), 1, len, f) != len || fputc('\n', f) == EOF) {
            rc = SQLITE_IOERR;
        }
        n++;
    }
    sqlite3_finalize(st);
    bool ok = rc == SQLITE_OK && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    *n_out = n;
    return ok ? VG_OK : vg_reason_set(why, VG_ERR_IO, "cannot write %s", path);
}

static vg_err
s_export_checkpoints(sqlite3 *db, const char *dir, uint64_t *n_out, vg_reason *why)
{
    vg_err rc = vg_mkdir_p(dir, 0755, why);
    sqlite3_stmt *st = NULL;
    if (rc == VG_OK && sqlite3_prepare_v2(db,
                                          "SELECT size, note FROM audit_checkpoints ORDER BY"
                                          " size",
                                          -1, &st, NULL) != SQLITE_OK) {
        rc = vg_reason_set(why, VG_ERR_IO, "cannot read checkpoints: %s", sqlite3_errmsg(db));
    }
    uint64_t n = 0;
    while (rc == VG_OK && sqlite3_step(st) == SQLITE_ROW) {
        char name[32];
        snprintf(name, sizeof name, "%" PRIu64 ".note", (uint64_t)sqlite3_column_int64(st, 0));
        char *path = ctl_path(dir, name);
        rc = vg_file_write_atomic(path, sqlite3_column_blob(st, 1),
                                  (size_t)sqlite3_column_bytes(st, 1), 0644, why);
        free(path);
        n++;
    }
    sqlite3_finalize(st);
    *n_out = n;
    return rc;
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
s_export(const s_opts *o, sqlite3 *db, const vg_netdoc *doc)
{
    vg_reason why = {{0}};
    vg_err rc = vg_mkdir_p(o->out, 0755, &why);
    char *leaves = ctl_path(o->out, "leaves.txt");
    char *cps = ctl_path(o->out, "checkpoints");
    char *key = ctl_path(o->out, "key.txt");
    if (rc == VG_OK && (ctl_exists(leaves) || ctl_exists(cps) || ctl_exists(key))) {
        rc = vg_reason_set(&why, VG_ERR_DUPLICATE,
                           "%s already holds an export: give an empty "
                           "directory",
                           o->out);
    }
    uint64_t n_leaves = 0, n_cps = 0;
    rc = rc == VG_OK ? s_export_leaves(db, leaves, &n_leaves, &why) : rc;
    rc = rc == VG_OK ? s_export_checkpoints(db, cps, &n_cps, &why) : rc;
    rc = rc == VG_OK ? s_export_key(key, doc, &why) : rc;
    free(leaves);
    free(cps);
    free(key);
    if (rc != VG_OK) {
        vgt_error(&s_who, "export failed: %s", why.text);
        return VGT_EXIT_FAIL;
    }
    printf("audit: exported %" PRIu64 " leaves and %" PRIu64 " checkpoints to %s\n", n_leaves,
           n_cps, o->out);
    return VGT_EXIT_OK;
}

int
ctl_cmd_audit(int argc, char **argv)
{
    s_opts o = {0};
    int rc = s_parse_args(argc, argv, &o);
    if (rc != VGT_EXIT_OK) {
        return rc == VGT_HELP_SHOWN ? VGT_EXIT_OK : rc;
    }
    s_target t;
    vg_reason why = {{0}};
    if (s_target_open(&t, &o, &why) != VG_OK) {
        vgt_error(&s_who, "%s", why.text);
        s_target_close(&t);
        return VGT_EXIT_FAIL;
    }
    sqlite3 *db = s_open_db(t.db_path);
    rc = db == NULL                     ? VGT_EXIT_FAIL
         : strcmp(o.sub, "verify") == 0 ? s_verify(&o, db, t.doc)
                                        : s_export(&o, db, t.doc);
    if (db != NULL) {
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        sqlite3_close(db);
    }
    s_target_close(&t);
    return rc;
}
