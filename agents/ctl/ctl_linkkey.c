/*
 * ctl_linkkey.c — the network's link keys on the administrator's side
 * (docs/network.md "Link tags"): DIR/admin/link.keys holds them (0600, like
 * the admin key, and never given to the broker); `network sign` seals each
 * to every agency's box key; `network link-key new | retire | list` rotates
 * them. Nothing here prints a key: only ids and paths.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ctl.h"
#include "vigil/linktag.h"

static const vgt_who s_who = {CTL_PROGRAM, "network link-key"};

static const char s_help[] =
    "usage: vigilctl network link-key (new | retire ID | list) (--dir DIR | --file KEYS)\n"
    "\n"
    "The network link keys agencies tag subject references with (docs/network.md,\n"
    "\"Link tags\"). They live in DIR/admin/link.keys (0600; never give them to the\n"
    "broker); 'network sign' seals each to every agency that is neither revoked nor\n"
    "oversight. To rotate: 'new' adds a key (agents then tag under both: the\n"
    "overlap), sign and push; later 'retire' the old id, sign and push: from then\n"
    "on new alerts no longer link to alerts tagged only under the old key.\n"
    "\n"
    "  new          add a fresh random key (id: one above the largest)\n"
    "  retire ID    remove key ID\n"
    "  list         print the ids\n"
    "  --dir DIR    the network folder (keys in DIR/admin/link.keys)\n"
    "  --file KEYS  the key file itself\n"
    "  -h, --help   this help\n";

vg_err
ctl_link_seal(uint8_t **body, size_t *body_len, const char *path, size_t *n_keys, vg_reason *why)
{
    uint32_t ids[VG_LINK_KEYS_MAX];
    uint8_t *mem = sodium_malloc(VG_LINK_KEYS_MAX * VG_LINK_KEY_LEN);
    if (mem == NULL) {
        return VG_ERR_NOMEM;
    }
    uint8_t(*keys)[VG_LINK_KEY_LEN] = (uint8_t(*)[VG_LINK_KEY_LEN])mem;
    size_t n = 0;
    vg_err err = vg_linkkeys_load(ids, keys, &n, path, why);
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (err == VG_OK) {
        err = vg_netdoc_body_seal_link_keys(&out, &out_len, *body, *body_len, ids,
                                            (const uint8_t(*)[VG_LINK_KEY_LEN])keys, n, why);
    }
    if (err == VG_OK) {
        free(*body);
        *body = out;
        *body_len = out_len;
        *n_keys = n;
    }
    sodium_free(mem);
    return err;
}

vg_err
ctl_link_new_file(const char *path, vg_reason *why)
{
    uint8_t *mem = sodium_malloc(VG_LINK_KEY_LEN);
    if (mem == NULL) {
        return VG_ERR_NOMEM;
    }
    uint32_t id = 1;
    randombytes_buf(mem, VG_LINK_KEY_LEN);
    vg_err err = vg_linkkeys_save(&id, (const uint8_t(*)[VG_LINK_KEY_LEN])mem, 1, path, why);
    sodium_free(mem);
    return err;
}

/* new, retire ID or list on the file at path. */
static int
s_run(const char *sub, const char *arg, const char *path)
{
    uint32_t ids[VG_LINK_KEYS_MAX + 1];
    uint8_t *mem = sodium_malloc((VG_LINK_KEYS_MAX + 1) * VG_LINK_KEY_LEN);
    if (mem == NULL) {
        ctl_out_of_memory();
    }
    uint8_t(*keys)[VG_LINK_KEY_LEN] = (uint8_t(*)[VG_LINK_KEY_LEN])mem;
    size_t n = 0;
    vg_reason why = {{0}};
    vg_err err = vg_linkkeys_load(ids, keys, &n, path, &why);
    if (err == VG_ERR_NOT_FOUND && strcmp(sub, "new") == 0) {
        err = VG_OK; /* the first key of a network that had none */
        n = 0;
    }
    int rc = VGT_EXIT_OK;
    if (err == VG_OK && strcmp(sub, "new") == 0) {
        uint32_t next = 1;
        for (size_t i = 0; i < n; i++) {
            next = ids[i] >= next ? ids[i] + 1 : next;
        }
        ids[n] = next;
        randombytes_buf(keys[n], VG_LINK_KEY_LEN);
        n++;
        err = vg_linkkeys_save(ids, (const uint8_t(*)[VG_LINK_KEY_LEN])keys, n, path, &why);
        if (err == VG_OK) {
            printf("added link key %u to %s (%zu keys): sign and push the document\n",
                   (unsigned)next, path, n);
        }
    } else if (err == VG_OK && strcmp(sub, "retire") == 0) {
        char *end = NULL;
        unsigned long id = arg ? strtoul(arg, &end, 10) : 0;
        size_t k = 0;
        while (k < n && (end == NULL || *end != '\0' || ids[k] != id)) {
            k++;
        }
        if (k == n) {
            vgt_error(&s_who, "%s holds no link key '%s': see 'link-key list'", path,
                      arg ? arg : "");
            rc = VGT_EXIT_FAIL;
        } else {
            memmove(&ids[k], &ids[k + 1], (n - k - 1) * sizeof ids[0]);
            memmove(keys[k], keys[k + 1], (n - k - 1) * VG_LINK_KEY_LEN);
            n--;
            err = vg_linkkeys_save(ids, (const uint8_t(*)[VG_LINK_KEY_LEN])keys, n, path, &why);
            if (err == VG_OK) {
                printf("retired link key %lu (%zu left): sign and push the document\n", id, n);
            }
        }
    } else if (err == VG_OK) {
        for (size_t i = 0; i < n; i++) {
            printf("link key %u\n", (unsigned)ids[i]);
        }
    }
    if (err != VG_OK) {
        vgt_error(&s_who, "%s (%s)", why.text, vg_err_code(err));
        rc = VGT_EXIT_FAIL;
    }
    sodium_free(mem);
    return rc;
}

int
ctl_cmd_link_key(int argc, char **argv)
{
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {"file", required_argument, NULL, 'f'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *dir = NULL, *file = NULL;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == 'd') {
            dir = optarg;
        } else if (c == 'f') {
            file = optarg;
        } else if (c == 'h') {
            fputs(s_help, stdout);
            return VGT_EXIT_OK;
        } else {
            return vgt_bad_option(&s_who, c, argv);
        }
    }
    const char *sub = optind < argc ? argv[optind] : NULL;
    const char *arg = optind + 1 < argc ? argv[optind + 1] : NULL;
    bool known = sub != NULL && (strcmp(sub, "new") == 0 || strcmp(sub, "list") == 0 ||
                                 strcmp(sub, "retire") == 0);
    size_t want = sub != NULL && strcmp(sub, "retire") == 0 ? 2 : 1;
    if (!known || (size_t)(argc - optind) != want || (dir == NULL) == (file == NULL)) {
        return vgt_usage_error(&s_who, "say new, retire ID or list, and one of --dir or --file");
    }
    char *path = file ? vg_strdup(file) : ctl_path(dir, CTL_LINK_KEYS);
    if (path == NULL) {
        ctl_out_of_memory();
    }
    int rc = s_run(sub, arg, path);
    free(path);
    return rc;
}
