/*
 * ctl_util.c — paths, messages and the admin key for vigilctl.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "vigil/keys.h"

void
ctl_out_of_memory(void)
{
    static const vgt_who who = {CTL_PROGRAM, NULL};
    vgt_error(&who, "out of memory");
    exit(VGT_EXIT_FAIL);
}

static char *
s_alloc_or_exit(size_t len)
{
    char *p = malloc(len);
    if (p == NULL) {
        ctl_out_of_memory();
    }
    return p;
}

char *
ctl_path(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p = s_alloc_or_exit(len);
    snprintf(p, len, "%s/%s", dir, name);
    return p;
}

char *
ctl_path3(const char *dir, const char *a, const char *b)
{
    size_t len = strlen(dir) + strlen(a) + strlen(b) + 3;
    char *p = s_alloc_or_exit(len);
    snprintf(p, len, "%s/%s/%s", dir, a, b);
    return p;
}

bool
ctl_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

vg_err
ctl_link_document(const char *src_path, const char *dst_path, const uint8_t *data, size_t len,
                  vg_reason *why)
{
    size_t n = strlen(dst_path) + 16;
    char *tmp = malloc(n);
    if (tmp == NULL) {
        ctl_out_of_memory();
    }
    snprintf(tmp, n, "%s.link~", dst_path);
    (void)unlink(tmp); /* a leftover of an interrupted run */
    bool linked = link(src_path, tmp) == 0;
    if (linked && rename(tmp, dst_path) != 0) {
        (void)unlink(tmp);
        linked = false;
    }
    free(tmp);
    return linked ? VG_OK : vg_file_write_atomic(dst_path, data, len, 0644, why);
}

vg_err
ctl_admin_pk_load(uint8_t pk[VG_SIGN_PK_LEN], const char *admin_key_path, vg_reason *why)
{
    vg_keyset *admin = NULL;
    vg_err err = vg_keyset_load(&admin, admin_key_path, why);
    if (err != VG_OK) {
        return err;
    }
    const uint8_t *sign_pk = vg_keyset_sign_pk(admin);
    if (sign_pk == NULL) {
        err = vg_reason_set(why, VG_ERR_MALFORMED,
                            "%s holds no Ed25519 signing key: it is not an admin key file",
                            admin_key_path);
    } else {
        memcpy(pk, sign_pk, VG_SIGN_PK_LEN);
    }
    vg_keyset_destroy(&admin);
    return err;
}
