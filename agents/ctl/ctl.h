/*
 * ctl.h — vigilctl's commands and the helpers they share (internal to
 * agents/ctl; not installed).
 *
 * vigilctl is the network administrator's tool: it creates a local network
 * folder (init), shows and re-signs the network document (network show,
 * network sign), checks a folder end to end (check) and reports, from the
 * broker's store read-only, the alerts acknowledged late or never (report).
 * Every command takes --help. Output for people goes to stdout; errors go
 * to stderr as "vigilctl <command>: what was wrong: what to do", through
 * the agency-side toolkit (agents/common/tool.h). No secret key is ever
 * printed: only public keys, ids and paths.
 *
 * Exit codes: the toolkit's VGT_EXIT_OK (0, success), VGT_EXIT_FAIL (1,
 * the command failed) and VGT_EXIT_USAGE (2, the command line was wrong);
 * vigilctl never exits 3 or 4.
 *
 * Trade-off: vigilctl is short-lived, so the path helpers below exit with a
 * message when memory runs out instead of threading VG_ERR_NOMEM through
 * every caller. Nothing in libvigil or libvigil-agent does this.
 *
 * Thread rules: single-threaded (getopt keeps global state).
 */
#ifndef VIGIL_AGENTS_CTL_H
#define VIGIL_AGENTS_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tool.h"
#include "vigil/broker_config.h"
#include "vigil/err.h"
#include "vigil/keys.h"
#include "vigil/log.h"
#include "vigil/netdoc.h"

#define CTL_PROGRAM "vigilctl"

/* The folder layout vigilctl init writes (relative to the network DIR). */
#define CTL_ADMIN_KEY "admin/admin.key"
#define CTL_LINK_KEYS "admin/link.keys" /* the network link keys (ctl_linkkey.c) */
#define CTL_NETWORK_JSON "network/network.json"
#define CTL_NETWORK_SIGNED "network/network.signed"
#define CTL_BROKER_CONF "broker/broker.conf"
#define CTL_AGENTS_DIR "agents"
#define CTL_AGENT_CONF "agent.conf"

/* Entry point: argv[0] is the program, argv[1] the command. */
int ctl_main(int argc, char **argv);

/* Commands: argv[0] is the command name ("init", "network", "check",
 * "report"). */
int ctl_cmd_init(int argc, char **argv);
int ctl_cmd_network(int argc, char **argv);
int ctl_cmd_check(int argc, char **argv);
int ctl_cmd_report(int argc, char **argv);
int ctl_cmd_audit(int argc, char **argv);        /* ctl_audit.c */
int ctl_cmd_calendar(int argc, char **argv);     /* ctl_calendar.c */
int ctl_cmd_network_push(int argc, char **argv); /* ctl_broker.c */
int ctl_cmd_broker(int argc, char **argv);       /* ctl_broker.c */
int ctl_cmd_purge(int argc, char **argv);        /* ctl_retain.c */
int ctl_cmd_hold(int argc, char **argv);         /* ctl_retain.c */

/* Sends command and body to the running broker of cfg on its control
 * socket (broker/control.h) and prints its answer: VGT_EXIT_OK when it
 * answered "ok ...", VGT_EXIT_FAIL otherwise (said on stderr). */
int ctl_control_request(const vgt_who *who, const vg_broker_config *cfg, const char *command,
                        const uint8_t *body, size_t len);
int ctl_cmd_broker_rotate_keys(int argc, char **argv); /* ctl_broker_keys.c */

int ctl_cmd_init_agency(int argc, char **argv); /* ctl_agency.c */
/* network add | rotate | compromise | revoke | broker-rotate (ctl_netedit.c):
 * argv[0] is the subcommand. */
int ctl_cmd_network_edit(int argc, char **argv);
/* True for the subcommands ctl_cmd_network_edit runs. */
bool ctl_is_network_edit(const char *sub);

/* The role and display name vigilctl gives an agency id: the well-known
 * ones (police, licensing, childrens-services, home-office: role
 * government), else the id itself. Static strings or id. */
const char *ctl_default_role(const char *id);
const char *ctl_default_name(const char *id);

/* Prints "vigilctl: out of memory" and exits VGT_EXIT_FAIL (see the
 * trade-off above). */
_Noreturn void ctl_out_of_memory(void);

/* dir + "/" + name, malloc'ed (free() it); exits on out of memory. */
char *ctl_path(const char *dir, const char *name);

/* dir/a/b, malloc'ed (free() it); exits on out of memory. */
char *ctl_path3(const char *dir, const char *a, const char *b);

/* True when something exists at path. */
bool ctl_exists(const char *path);

/* Puts the document at src_path (written and synced already; its bytes are
 * data, len) at dst_path as a hard link, replacing dst_path atomically
 * (link to a temporary name, rename): a network of thousands of agency
 * folders would otherwise hold thousands of copies. Writes a copy
 * atomically where a link cannot be made. Every later change to either file
 * replaces it, so the other keeps its content. */
vg_err ctl_link_document(const char *src_path, const char *dst_path, const uint8_t *data,
                         size_t len, vg_reason *why) VG_MUST_USE;

/* Loads an admin secret key file and copies out its Ed25519 public key. */
vg_err ctl_admin_pk_load(uint8_t pk[VG_SIGN_PK_LEN], const char *admin_key_path,
                         vg_reason *why) VG_MUST_USE;

/* ---- link keys (ctl_linkkey.c) -------------------------------------------- */

/* network link-key new | retire ID | list: argv[0] is "link-key". */
int ctl_cmd_link_key(int argc, char **argv);

/* Replaces *body (a document body, malloc'ed) by one with the link keys of
 * the file at path sealed to its agencies; *n_keys: how many.
 * VG_ERR_NOT_FOUND when there is no such file. */
vg_err ctl_link_seal(uint8_t **body, size_t *body_len, const char *path, size_t *n_keys,
                     vg_reason *why) VG_MUST_USE;

/* Writes a new key file at path holding one fresh key, id 1. */
vg_err ctl_link_new_file(const char *path, vg_reason *why) VG_MUST_USE;
/* ---- audit verify, shared by audit and report (ctl_audit.c) ---------------- */

struct vgb_store;

/* The store and the network it belongs to: the broker.conf given (conf),
 * or the store directory (store) or PostgreSQL store (dsn) with the signed
 * document and the admin key given (network, admin_key_hex: both or
 * neither; with dsn, both), or else the broker.conf beside the store
 * directory (DIR/../broker.conf). */
typedef struct ctl_audit_target {
    char *store_dir;                  /* the broker's store directory, or */
    char *dsn;                        /* its PostgreSQL store */
    vg_netdoc *doc;                   /* the verified network document */
    uint8_t admin_pk[VG_SIGN_PK_LEN]; /* the administrator's key that verified it */
} ctl_audit_target;
vg_err ctl_audit_target_open(ctl_audit_target *t, const char *conf, const char *store,
                             const char *dsn, const char *network, const char *admin_key_hex,
                             vg_reason *why) VG_MUST_USE;
void ctl_audit_target_close(ctl_audit_target *t);

/* Opens t's store read-only and begins one read transaction (end it with
 * vgb_store_read_end, then vgb_store_destroy). */
vg_err ctl_audit_store_open(struct vgb_store **out, const ctl_audit_target *t,
                            vg_reason *why) VG_MUST_USE;

/* What vgb_audit_verify and vgb_audit_check_state found. */
typedef struct ctl_audit_result {
    bool verified;          /* every check passed */
    bool fault;             /* else: a fault (line names it), or the store could not be read */
    uint64_t n_leaves;      /* verified */
    uint64_t n_checkpoints; /* verified */
    char line[2048];        /* "audit: FAULT <kind> table=T ROW leaf=N: ...", the summary, or
                               the error */
    char cosigned[1024];    /* verified: who cosigned the latest checkpoint, one line */
} ctl_audit_result;

/* Runs the checks (the log, every row against it, every stored
 * cosignature) on store (open read-only, inside its read transaction)
 * against t; notes: checkpoints held elsewhere (n_notes of them, may be 0);
 * signatures: verify every stored signature too. */
void ctl_audit_check(ctl_audit_result *out, struct vgb_store *store, const ctl_audit_target *t,
                     const char *const *notes, const size_t *note_lens, size_t n_notes,
                     bool signatures);

/* ---- calendars (ctl_calendar.c, ctl_bankhol.c) ---------------------------- */

/* The POSIX TZ rule of an IANA zone from the system's tz database: the
 * footer of its TZif file (RFC 8536 §3.3) under $TZDIR or
 * /usr/share/zoneinfo, checked with vg_tz_parse. VG_ERR_NOT_FOUND when the
 * zone is not there (Debian: tzdata), VG_ERR_MALFORMED for a file without a
 * usable footer or a zone name that is not one. out_len >= VG_TZ_RULE_MAX + 1. */
vg_err ctl_tz_rule_from_system(char *out, size_t out_len, const char *zone,
                               vg_reason *why) VG_MUST_USE;

/* What vigilctl check's calendar lines added up to. */
typedef struct ctl_check_counts {
    size_t passed;  /* ok lines */
    size_t failed;  /* FAIL lines */
    size_t skipped; /* skip lines */
    size_t warned;  /* warn lines: not failures */
} ctl_check_counts;

#define CTL_CALENDAR_WARN_DAYS 90 /* check warns when a calendar ends this soon */

/* vigilctl check's calendar lines (ctl_check_calendar.c): each calendar's
 * valid_until against now_ms, its tz_rule against the system tz database,
 * and — when a rule is in a calendar unit — each recipient agency's
 * calendar and hours against the rules that can apply to it. Prints one
 * line per check; adds to *counts. */
void ctl_check_calendars(const vg_netdoc *doc, int64_t now_ms, ctl_check_counts *counts);

/* One generated bank holiday. */
typedef struct ctl_holiday {
    uint32_t date;  /* YYYYMMDD */
    char title[96]; /* "Christmas Day (substitute day)" */
} ctl_holiday;

#define CTL_BANKHOL_MAX 16 /* holidays one division has in one year, at most */

/* True for england-and-wales, scotland and northern-ireland. */
bool ctl_bankhol_knows(const char *division);

/* The bank holidays of `division` in `year` (1979..2199) by the fixed rules
 * (ctl_bankhol.c says which, and what they cannot know), in date order, into
 * out[cap]; returns how many, 0 for an unknown division or year. */
size_t ctl_bankhol_generate(ctl_holiday *out, size_t cap, const char *division, int year);

#endif
