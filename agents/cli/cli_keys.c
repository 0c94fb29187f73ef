/*
 * cli_keys.c — vigil-agent keys: the agency's own keys over time
 * (docs/agent.md "keys").
 *
 *   keys rotate         make new key pairs here, keep the old ones, print the
 *                       public card for the administrator
 *   keys list [--json]  every key set held and what the document says of it
 *
 * Neither talks to the broker: rotation is the agency's own business until
 * the administrator puts the new card in the document, and the agent
 * switches to the new keys by itself once the document it holds lists them
 * (any vigil-agent command fetches the broker's newer document).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "vigil/agent_keys.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/util.h"

static const vgt_who s_who = {CLI_PROGRAM, "keys"};

static const char s_help[] =
    "usage: vigil-agent -c agent.conf keys rotate\n"
    "       vigil-agent -c agent.conf keys list [--json]\n"
    "\n"
    "The agency's own keys. Private keys never leave this machine.\n"
    "\n"
    "  rotate   make new sign, box and transport key pairs and add them to the\n"
    "           agency's key file (mode 0600); the old ones stay, so alerts sealed\n"
    "           to the old box key stay readable. Prints the public card (JSON) on\n"
    "           stdout: give it to the network administrator ('vigilctl network\n"
    "           rotate CARD'). The agent keeps using its old keys until the network\n"
    "           document lists the new ones, then switches by itself. Run again\n"
    "           before that, it prints the same card and makes nothing new.\n"
    "  list     every key set the key file holds, oldest first, and what the\n"
    "           network document says of it: current (in use), previous (trusted\n"
    "           until the end of its overlap), pending (made by rotate, not in the\n"
    "           document yet) or retired (kept to open old alerts)\n"
    "\n"
    "  --json             list: one JSON array on stdout\n"
    "  -c, --config FILE  the agency's agent.conf\n"
    "  -h, --help         this help\n"
    "\n"
    "exit status: 0 done; 1 failed (the key file was not changed); 2 bad command\n"
    "line; 4 agent.conf, keys or network document unusable.\n";

typedef struct s_opts {
    const char *config; /* -c */
    bool json;          /* --json */
    const char *sub;    /* "rotate" or "list" */
} s_opts;

static int
s_parse_args(s_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(s_help, stdout);
            return VGT_HELP_SHOWN;
        } else if (c == 'j') {
            o->json = true;
        } else if (c == 'c') {
            o->config = optarg;
        } else {
            return vgt_bad_option(&s_who, c, argv);
        }
    }
    if (optind >= argc) {
        return vgt_usage_error(&s_who, "say what to do: keys rotate or keys list");
    }
    o->sub = argv[optind++];
    if (strcmp(o->sub, "rotate") != 0 && strcmp(o->sub, "list") != 0) {
        return vgt_usage_error(&s_who, "unknown keys command '%s': rotate or list", o->sub);
    }
    if (optind < argc) {
        return vgt_unexpected_argument(&s_who, argv[optind], NULL);
    }
    if (o->json && strcmp(o->sub, "list") != 0) {
        return vgt_usage_error(&s_who, "--json goes with keys list");
    }
    return VGT_EXIT_OK;
}

/* Exit status for an identity that cannot be loaded or used. */
static int
s_fail(const s_opts *o, vg_err rc, const vg_reason *why)
{
    vgt_error(&s_who, "%s: %s (%s)", o->config, why->text, vg_err_code(rc));
    return rc == VG_ERR_NOMEM || rc == VG_ERR_TOO_LARGE || rc == VG_ERR_IO ? VGT_EXIT_FAIL
                                                                           : VGT_EXIT_CONFIG;
}

static int
s_rotate(const s_opts *o)
{
    char *card = NULL;
    bool again = false;
    vg_reason why = {{0}};
    vg_err rc = vga_keys_rotate(&card, &again, o->config, &why);
    if (rc != VG_OK) {
        return s_fail(o, rc, &why);
    }
    fputs(card, stdout);
    free(card);
    if (again) {
        vgt_error(&s_who,
                  "new keys were made before and are not in the network document yet: this is "
                  "their card again; nothing new was made");
    } else {
        vgt_error(&s_who,
                  "new keys made and kept beside the old ones; give the card above to the "
                  "network administrator ('vigilctl network rotate CARD'). This agency uses its "
                  "old keys until the network document lists the new ones");
    }
    return VGT_EXIT_OK;
}

static void
s_hex8(char out[17], const uint8_t *k)
{
    vg_hex_encode(out, 17, k, 8);
}

static void
s_list_text(const vga_key_info *k, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char sign[17], box[17], z85[VG_Z85_KEY_LEN + 1], t[VG_TIME_STR_LEN];
        s_hex8(sign, k[i].sign_pk);
        s_hex8(box, k[i].box_pk);
        vg_z85_encode_key(z85, k[i].transport_pk);
        printf("%-2zu %-9s sign %s.. box %s.. transport %s", i + 1, vga_key_state_name(k[i].state),
               sign, box, z85);
        if (k[i].state == VGA_KEYS_PREVIOUS) {
            vg_time_format(t, sizeof t, k[i].valid_until_ms);
            printf("  until %s", t);
        }
        if (k[i].compromised_ms > 0) {
            vg_time_format(t, sizeof t, k[i].compromised_ms);
            printf("  COMPROMISED since %s", t);
        }
        printf("\n");
    }
}

static int
s_list_json(const vga_key_info *k, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char sign[65], box[65], z85[VG_Z85_KEY_LEN + 1], t[VG_TIME_STR_LEN];
        vg_hex_encode(sign, sizeof sign, k[i].sign_pk, 32);
        vg_hex_encode(box, sizeof box, k[i].box_pk, 32);
        vg_z85_encode_key(z85, k[i].transport_pk);
        json_t *o = json_object();
        json_object_set_new(o, "state", json_string(vga_key_state_name(k[i].state)));
        json_object_set_new(o, "sign_key", json_string(sign));
        json_object_set_new(o, "box_key", json_string(box));
        json_object_set_new(o, "transport_key", json_string(z85));
        vg_time_format(t, sizeof t, k[i].valid_until_ms);
        json_object_set_new(o, "valid_until",
                            k[i].state == VGA_KEYS_PREVIOUS ? json_string(t) : json_null());
        vg_time_format(t, sizeof t, k[i].compromised_ms);
        json_object_set_new(o, "compromised_at",
                            k[i].compromised_ms > 0 ? json_string(t) : json_null());
        json_array_append_new(arr, o);
    }
    char *text = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(arr);
    if (text == NULL) {
        vgt_error(&s_who, "out of memory");
        return VGT_EXIT_FAIL;
    }
    printf("%s\n", text);
    free(text);
    return VGT_EXIT_OK;
}

static int
s_list(const s_opts *o)
{
    vga_identity *id = NULL;
    vg_reason why = {{0}};
    vg_err rc = vga_identity_load(&id, o->config, 0, &why);
    if (rc != VG_OK) {
        return s_fail(o, rc, &why);
    }
    vga_key_info info[VG_KEYRING_MAX];
    size_t n = 0;
    vga_identity_key_states(id, info, VG_KEYRING_MAX, &n);
    n = n > VG_KEYRING_MAX ? VG_KEYRING_MAX : n;
    int ex = VGT_EXIT_OK;
    if (o->json) {
        ex = s_list_json(info, n);
    } else {
        s_list_text(info, n);
    }
    vga_identity_destroy(&id);
    return ex;
}

int
cli_cmd_keys(const char *config, int argc, char **argv)
{
    s_opts o = {.config = config};
    int rc = s_parse_args(&o, argc, argv);
    if (rc != VGT_EXIT_OK) {
        return rc == VGT_HELP_SHOWN ? VGT_EXIT_OK : rc;
    }
    vga_config *cfg = NULL;
    rc = vgt_config_load(&s_who, o.config, &cfg);
    if (rc != VGT_EXIT_OK) {
        return rc;
    }
    vg_log_set_sink(vg_log_stderr_sink, NULL);
    vg_log_set_level(cfg->log_level);
    vga_config_destroy(&cfg);
    return strcmp(o.sub, "rotate") == 0 ? s_rotate(&o) : s_list(&o);
}
