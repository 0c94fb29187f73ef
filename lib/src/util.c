/* util.c — hex, durations, string lists and files. */
#include "vigil/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

void
vg_hex_encode(char *out, size_t out_len, const uint8_t *in, size_t len)
{
    if (out_len == 0) {
        return;
    }
    if (out_len < 2 * len + 1) {
        len = (out_len - 1) / 2;
    }
    sodium_bin2hex(out, 2 * len + 1, in, len);
}

vg_err
vg_hex_decode(uint8_t *out, size_t out_len, const char *hex)
{
    size_t got = 0;
    if (hex == NULL || strlen(hex) != 2 * out_len) {
        return VG_ERR_MALFORMED;
    }
    if (sodium_hex2bin(out, out_len, hex, 2 * out_len, NULL, &got, NULL) != 0 || got != out_len) {
        return VG_ERR_MALFORMED;
    }
    return VG_OK;
}

vg_err
vg_duration_parse(uint64_t *out_ms, const char *text, vg_reason *why)
{
    static const struct {
        const char *suffix;
        uint64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    const char *p = text;
    uint64_t n = 0;
    if (text == NULL || *p < '0' || *p > '9') {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "duration '%s' must be a number and a unit: 250ms, 5s, 15m, 1h, 3d",
                             text ? text : "");
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        if (n > (UINT64_MAX - 9) / 10) {
            return vg_reason_set(why, VG_ERR_MALFORMED, "duration '%s' is too large", text);
        }
        n = n * 10 + (uint64_t)(*p - '0');
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(p, units[i].suffix) == 0) {
            if (n > UINT64_MAX / units[i].ms / 2) {
                return vg_reason_set(why, VG_ERR_MALFORMED, "duration '%s' is too large", text);
            }
            *out_ms = n * units[i].ms;
            return VG_OK;
        }
    }
    return vg_reason_set(why, VG_ERR_MALFORMED,
                         "duration '%s' has no valid unit: use ms, s, m, h or d (e.g. 5s, 15m)",
                         text);
}

static const struct {
    const char *suffix;
    uint64_t bytes;
} s_size_units[] = {{"GiB", 1ull << 30}, {"MiB", 1ull << 20}, {"KiB", 1ull << 10}, {"B", 1}};

vg_err
vg_size_parse(uint64_t *out_bytes, const char *text, vg_reason *why)
{
    const char *p = text;
    uint64_t n = 0;
    if (text == NULL || *p < '0' || *p > '9') {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "size '%s' must be a number, optionally with B, KiB, MiB or GiB",
                             text ? text : "");
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        if (n > (UINT64_MAX - 9) / 10) {
            return vg_reason_set(why, VG_ERR_MALFORMED, "size '%s' is too large", text);
        }
        n = n * 10 + (uint64_t)(*p - '0');
    }
    uint64_t unit = *p == '\0' ? 1 : 0;
    for (size_t i = 0; unit == 0 && i < sizeof s_size_units / sizeof s_size_units[0]; i++) {
        unit = strcmp(p, s_size_units[i].suffix) == 0 ? s_size_units[i].bytes : 0;
    }
    if (unit == 0) {
        return vg_reason_set(why, VG_ERR_MALFORMED,
                             "size '%s' has no valid unit: use B, KiB, MiB or GiB (e.g. 64KiB)",
                             text);
    }
    if (n > UINT64_MAX / unit / 2) {
        return vg_reason_set(why, VG_ERR_MALFORMED, "size '%s' is too large", text);
    }
    *out_bytes = n * unit;
    return VG_OK;
}

void
vg_size_format(char *out, size_t out_len, uint64_t bytes)
{
    for (size_t i = 0; i < sizeof s_size_units / sizeof s_size_units[0]; i++) {
        if (bytes >= s_size_units[i].bytes && bytes % s_size_units[i].bytes == 0) {
            snprintf(out, out_len, "%llu%s", (unsigned long long)(bytes / s_size_units[i].bytes),
                     s_size_units[i].suffix);
            return;
        }
    }
    snprintf(out, out_len, "0B");
}

void
vg_duration_format(char *out, size_t out_len, uint64_t ms)
{
    static const struct {
        const char *suffix;
        uint64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ms != 0 && ms % units[i].ms == 0) {
            snprintf(out, out_len, "%" PRIu64 "%s", ms / units[i].ms, units[i].suffix);
            return;
        }
    }
    snprintf(out, out_len, "%" PRIu64 "ms", ms);
}

static vg_err s_read(uint8_t **out, size_t *out_len, const char *path, size_t max_bytes,
                     bool private_only, vg_reason *why);

vg_err
vg_file_read(uint8_t **out, size_t *out_len, const char *path, size_t max_bytes, vg_reason *why)
{
    return s_read(out, out_len, path, max_bytes, false, why);
}

vg_err
vg_file_read_private(uint8_t **out, size_t *out_len, const char *path, size_t max_bytes,
                     vg_reason *why)
{
    return s_read(out, out_len, path, max_bytes, true, why);
}

static vg_err
s_read(uint8_t **out, size_t *out_len, const char *path, size_t max_bytes, bool private_only,
       vg_reason *why)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return vg_reason_set(why, errno == ENOENT ? VG_ERR_NOT_FOUND : VG_ERR_IO,
                             "cannot open %s: %s", path, strerror(errno));
    }
    vg_err rc = VG_OK;
    uint8_t *buf = NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = vg_reason_set(why, VG_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = vg_reason_set(why, VG_ERR_IO, "%s is not a regular file", path);
        goto out;
    }
    if (private_only && (st.st_mode & 077) != 0) {
        rc = vg_reason_set(why, VG_ERR_KEY_PERMS,
                           "%s has mode %04o: a secret file must not be accessible to group or "
                           "others; run 'chmod 600 %s'",
                           path, (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    if ((uint64_t)st.st_size > max_bytes) {
        rc = vg_reason_set(why, VG_ERR_TOO_LARGE, "%s is %lld bytes; the limit is %zu", path,
                           (long long)st.st_size, max_bytes);
        goto out;
    }
    size_t want = (size_t)st.st_size;
    buf = malloc(want + 1);
    if (buf == NULL) {
        rc = VG_ERR_NOMEM;
        goto out;
    }
    size_t got = 0;
    while (got < want) {
        ssize_t n = read(fd, buf + got, want - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            rc = vg_reason_set(why, VG_ERR_IO, "cannot read %s: %s", path,
                               n < 0 ? strerror(errno) : "file shrank while reading");
            goto out;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    *out = buf;
    *out_len = got;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

static vg_err
s_fsync_dir_of(const char *path, vg_reason *why)
{
    char *dir = vg_strdup(path);
    if (dir == NULL) {
        return VG_ERR_NOMEM;
    }
    char *slash = strrchr(dir, '/');
    if (slash == NULL) {
        strcpy(dir, ".");
    } else if (slash == dir) {
        slash[1] = '\0';
    } else {
        *slash = '\0';
    }
    vg_err rc = VG_OK;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        rc = vg_reason_set(why, VG_ERR_IO, "cannot sync directory %s: %s", dir, strerror(errno));
    }
    if (fd >= 0) {
        close(fd);
    }
    free(dir);
    return rc;
}

vg_err
vg_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, vg_reason *why)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (tmp == NULL) {
        return VG_ERR_NOMEM;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    vg_err rc = VG_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        rc = vg_reason_set(why, VG_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    /* open() applies the umask; the mode asked for is the mode we get. */
    if (fchmod(fd, mode) != 0) {
        rc = vg_reason_set(why, VG_ERR_IO, "cannot chmod %s: %s", tmp, strerror(errno));
        goto out;
    }
    const uint8_t *p = data;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = vg_reason_set(why, VG_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
            goto out;
        }
        done += (size_t)n;
    }
    if (fsync(fd) != 0) {
        rc = vg_reason_set(why, VG_ERR_IO, "cannot sync %s: %s", tmp, strerror(errno));
        goto out;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc =
            vg_reason_set(why, VG_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        goto out;
    }
    rc = s_fsync_dir_of(path, why);
out:
    if (fd >= 0) {
        close(fd);
    }
    if (rc != VG_OK) {
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

vg_err
vg_mkdir_p(const char *path, mode_t mode, vg_reason *why)
{
    char *p = vg_strdup(path);
    if (p == NULL) {
        return VG_ERR_NOMEM;
    }
    vg_err rc = VG_OK;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, mode) != 0 && errno != EEXIST) {
                rc = vg_reason_set(why, VG_ERR_IO, "cannot create directory %s: %s", p,
                                   strerror(errno));
                break;
            }
            *s = c;
            if (c == '\0') {
                break;
            }
        }
    }
    struct stat st;
    if (rc == VG_OK && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))) {
        rc = vg_reason_set(why, VG_ERR_IO, "%s is not a directory", path);
    }
    free(p);
    return rc;
}

char *
vg_path_relative_to(const char *base_file, const char *rel)
{
    if (rel[0] == '/') {
        return vg_strdup(rel);
    }
    const char *slash = strrchr(base_file, '/');
    if (slash == NULL) {
        return vg_strdup(rel);
    }
    size_t dlen = (size_t)(slash - base_file);
    size_t rlen = strlen(rel);
    char *out = malloc(dlen + 1 + rlen + 1);
    if (out == NULL) {
        return NULL;
    }
    memcpy(out, base_file, dlen);
    out[dlen] = '/';
    memcpy(out + dlen + 1, rel, rlen + 1); /* base "/x.conf" gives "/rel" */
    return out;
}

char *
vg_strdup(const char *s)
{
    if (s == NULL) {
        return NULL;
    }
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL) {
        memcpy(d, s, n);
    }
    return d;
}

bool
vg_agency_id_is_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 63 || id[0] == '-') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return false;
        }
    }
    return true;
}

vg_err
vg_strlist_add(vg_strlist *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        char **items = realloc(l->items, cap * sizeof *items);
        if (items == NULL) {
            return VG_ERR_NOMEM;
        }
        l->items = items;
        l->cap = cap;
    }
    char *copy = vg_strdup(s ? s : "");
    if (copy == NULL) {
        return VG_ERR_NOMEM;
    }
    l->items[l->n++] = copy;
    return VG_OK;
}

vg_err
vg_strlist_add_unique(vg_strlist *l, const char *s)
{
    return vg_strlist_contains(l, s) ? VG_OK : vg_strlist_add(l, s);
}

bool
vg_strlist_contains(const vg_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->items[i], s) == 0) {
            return true;
        }
    }
    return false;
}

int
vg_str_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

vg_err
vg_strlist_find_duplicate(const vg_strlist *l, const char **dup_out)
{
    *dup_out = NULL;
    if (l->n < 2) {
        return VG_OK;
    }
    const char **sorted = malloc(l->n * sizeof *sorted);
    if (sorted == NULL) {
        return VG_ERR_NOMEM;
    }
    memcpy(sorted, l->items, l->n * sizeof *sorted);
    qsort(sorted, l->n, sizeof *sorted, vg_str_ptr_cmp);
    for (size_t i = 1; i < l->n && *dup_out == NULL; i++) {
        *dup_out = strcmp(sorted[i - 1], sorted[i]) == 0 ? sorted[i] : NULL;
    }
    free(sorted);
    return VG_OK;
}

void
vg_strlist_join(char *out, size_t out_len, const vg_strlist *l, const char *sep)
{
    if (out_len == 0) {
        return;
    }
    out[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < l->n; i++) {
        int n = snprintf(out + used, out_len - used, "%s%s", i ? sep : "", l->items[i]);
        if (n < 0 || (size_t)n >= out_len - used) {
            if (out_len >= 4) {
                strcpy(out + out_len - 4, "...");
            }
            return;
        }
        used += (size_t)n;
    }
}

static vg_err
s_split(vg_strlist *out, const char *text, vg_reason *why)
{
    const char *p = text ? text : "";
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
            len--;
        }
        if (len == 0) {
            return vg_reason_set(why, VG_ERR_MALFORMED,
                                 "empty item in list '%s': separate items with single commas",
                                 text ? text : "");
        }
        char *item = malloc(len + 1);
        if (item == NULL) {
            return VG_ERR_NOMEM;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        vg_err rc = vg_strlist_add(out, item);
        free(item);
        if (rc != VG_OK) {
            return rc;
        }
        if (comma == NULL) {
            return VG_OK;
        }
        p = comma + 1;
    }
}

vg_err
vg_strlist_split(vg_strlist *out, const char *text, vg_reason *why)
{
    size_t before = out->n;
    vg_err rc = s_split(out, text, why);
    while (rc != VG_OK && out->n > before) { /* leave out as it was */
        free(out->items[--out->n]);
    }
    return rc;
}

void
vg_strlist_fini(vg_strlist *l)
{
    if (l == NULL) {
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i]);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
    l->cap = 0;
}
