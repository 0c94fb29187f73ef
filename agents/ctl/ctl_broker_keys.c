/*
 * ctl_broker_keys.c — vigilctl broker rotate-keys: new keys for the broker,
 * made on the broker's own machine (its secret keys never travel), and the
 * key-transition note in which its current signing key hands the audit log
 * over to the new one (docs/audit.md, "Broker key transitions"). The
 * administrator puts the note and the new transport key in the document
 * (vigilctl network broker-rotate); the running broker adopts the keys when
 * it is given that document (broker/bkeys.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "vigil/broker_config.h"
#include "vigil/clock.h"
#include "vigil/keys.h"
#include "vigil/netdoc.h"
#include "vigil/transition.h"
#include "vigil/util.h"

static const vgt_who s_who = {CTL_PROGRAM, "broker rotate-keys"};

static const char s_help[] =
    "usage: vigilctl broker rotate-keys -c BROKER_CONF [--note FILE]\n"
    "\n"
    "Prepares new keys for the broker, on the broker's machine: a new signing key\n"
    "and a new transport key in KEYS.next beside broker.conf's [broker] keys file\n"
    "(mode 0600; secret keys never leave this machine), and the key-transition\n"
    "note in which the current signing key hands the audit log over to the new\n"
    "one. Prints the note's file and the new public keys. Then, on the\n"
    "administrator's machine:\n"
    "\n"
    "  vigilctl network broker-rotate --dir DIR --transition NOTE \\\n"
    "      --transport-key KEY --overlap 24h\n"
    "  vigilctl network sign --dir DIR\n"
    "\n"
    "and here: copy network.signed to broker.conf's [network] document and\n"
    "vigilctl network push -c BROKER_CONF. The broker signs checkpoints with the\n"
    "new key from then on, sends every connected agent the new document, and\n"
    "presents the new transport key once the overlap ends (docs/deploy.md,\n"
    "\"Rotating the broker's keys\").\n"
    "\n"
    "  -c, --config BROKER_CONF  the broker's configuration\n"
    "      --note FILE           where the note goes (default KEYS.next.note)\n"
    "  -h, --help                this help\n"
    "\n"
    "Exit status: 0 prepared, 1 refused (a rotation is prepared already, the keys\n"
    "or the document cannot be read), 2 bad arguments.\n";

static int
s_args(int argc, char **argv, const char **conf, const char **note)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"note", required_argument, NULL, 'n'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0}};
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        if (opt == 'c') {
            *conf = optarg;
        } else if (opt == 'n') {
            *note = optarg;
        } else if (opt == 'h') {
            fputs(s_help, stdout);
            return VGT_HELP_SHOWN;
        } else {
            return vgt_bad_option(&s_who, opt, argv);
        }
    }
    if (*conf == NULL) {
        return vgt_usage_error(&s_who, "give the broker's configuration: -c BROKER_CONF");
    }
    if (optind < argc) {
        return vgt_unexpected_argument(&s_who, argv[optind], NULL);
    }
    return -1;
}

/* Makes KEYS.next and the note; prints what the administrator needs. */
static int
s_prepare(const vg_broker_config *cfg, const char *note_arg)
{
    char *next_path = NULL, *note_path = NULL, *note = NULL;
    vg_keyset *old = NULL, *next = NULL;
    vg_netdoc *doc = NULL;
    vg_reason why = {{0}};
    size_t note_len = 0;
    int rc = VGT_EXIT_FAIL;
    size_t n = strlen(cfg->keys_path) + sizeof ".next.note";
    if ((next_path = malloc(n)) == NULL || (note_path = malloc(n)) == NULL) {
        vgt_error(&s_who, "out of memory");
        goto done;
    }
    snprintf(next_path, n, "%s.next", cfg->keys_path);
    snprintf(note_path, n, "%s.next.note", cfg->keys_path);
    if (access(next_path, F_OK) == 0) {
        vgt_error(&s_who,
                  "%s exists: a rotation is prepared already (put the document that names its "
                  "keys in force, or delete it to start again)",
                  next_path);
        goto done;
    }
    if (vg_keyset_load(&old, cfg->keys_path, &why) != VG_OK ||
        vg_netdoc_load(&doc, cfg->document_path, cfg->admin_pk, 0, &why) != VG_OK) {
        vgt_error(&s_who, "%s", why.text);
        goto done;
    }
    if ((vg_keyset_kinds(old) & VG_KEY_SIGN) == 0 ||
        memcmp(vg_keyset_sign_pk(old), vg_netdoc_broker_sign_pk(doc), VG_SIGN_PK_LEN) != 0) {
        vgt_error(&s_who,
                  "%s does not hold the signing key %s names: the note must be signed by the "
                  "key in force",
                  cfg->keys_path, cfg->document_path);
        goto done;
    }
    if (vg_keyset_generate(&next, VG_KEY_SIGN | VG_KEY_CURVE) != VG_OK ||
        vg_key_transition_sign(&note, &note_len, vg_netdoc_network(doc), old,
                               vg_keyset_sign_pk(next), vg_clock_wall_ms(vg_clock_system()),
                               &why) != VG_OK) {
        vgt_error(&s_who, "cannot make the new keys or the note: %s", why.text);
        goto done;
    }
    const char *note_out = note_arg != NULL ? note_arg : note_path;
    if (vg_keyset_save(next, next_path, &why) != VG_OK ||
        vg_file_write_atomic(note_out, note, note_len, 0644, &why) != VG_OK) {
        vgt_error(&s_who, "%s", why.text);
        (void)unlink(next_path);
        goto done;
    }
    char sign_hex[2 * VG_SIGN_PK_LEN + 1];
    vg_hex_encode(sign_hex, sizeof sign_hex, vg_keyset_sign_pk(next), VG_SIGN_PK_LEN);
    printf("keys %s\nnote %s\nsign_key %s\ntransport_key %s\n", next_path, note_out, sign_hex,
           vg_keyset_curve_pk_z85(next));
    rc = VGT_EXIT_OK;
done:
    vg_keyset_destroy(&old);
    vg_keyset_destroy(&next);
    vg_netdoc_destroy(&doc);
    free(note);
    free(next_path);
    free(note_path);
    return rc;
}

int
ctl_cmd_broker_rotate_keys(int argc, char **argv)
{
    const char *conf = NULL, *note = NULL;
    int rc = s_args(argc, argv, &conf, &note);
    if (rc >= 0) {
        return rc == VGT_HELP_SHOWN ? VGT_EXIT_OK : rc;
    }
    vg_broker_config *cfg = NULL;
    vg_reason why = {{0}};
    if (vg_broker_config_load(&cfg, conf, &why) != VG_OK) {
        vgt_error(&s_who, "%s", why.text);
        return VGT_EXIT_FAIL;
    }
    rc = s_prepare(cfg, note);
    vg_broker_config_destroy(&cfg);
    return rc;
}
