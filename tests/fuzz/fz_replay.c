/*
 * fz_replay.c — main() for the fuzz targets when they are built without
 * libFuzzer (the dev and asan builds): feeds every file named on the command
 * line, or found in a directory named there (sorted, not recursive), to
 * LLVMFuzzerTestOneInput once. This is how the default ctest run replays the
 * seed corpus and the minimised crashes of tests/fuzz/{corpus,regress}.
 *
 * Exit status 0 when every input ran (a crash or a sanitizer report ends the
 * process with its own status first), 2 for an unreadable path.
 */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fz_target.h"
#include "vigil/util.h"

#define S_INPUT_MAX (16 * 1024 * 1024)

static int
s_run_file(const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    vg_reason why = {{0}};
    if (vg_file_read(&data, &len, path, S_INPUT_MAX, &why) != VG_OK) {
        fprintf(stderr, "fz_replay: %s\n", why.text);
        return 2;
    }
    /* An exact-size copy, so ASan sees a read past the end of the input. */
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL) {
        free(data);
        return 2;
    }
    memcpy(copy, data, len);
    free(data);
    LLVMFuzzerTestOneInput(copy, len);
    free(copy);
    return 0;
}

static int
s_by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int
s_run_dir(const char *dir, size_t *n_run)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, s_by_name);
    if (n < 0) {
        perror(dir);
        return 2;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        struct stat st;
        if (names[i]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            rc = rc ? rc : s_run_file(path);
            ++*n_run;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int
main(int argc, char **argv)
{
    size_t n_run = 0;
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "fz_replay: %s: no such file or directory\n", argv[i]);
            rc = 2;
        } else if (S_ISDIR(st.st_mode)) {
            rc = s_run_dir(argv[i], &n_run);
        } else {
            rc = s_run_file(argv[i]);
            n_run++;
        }
    }
    printf("%s: %zu inputs replayed%s\n", argc > 0 ? argv[0] : "fuzz", n_run,
           rc == 0 ? "" : " (stopped on an unreadable input)");
    return rc;
}
