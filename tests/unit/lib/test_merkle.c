/* test_merkle.c — vigil/merkle.h against the RFC 6962 vectors in
 * tests/vectors/merkle_rfc6962.txt, plus generated trees and hostile proofs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/merkle.h"
#include "vigil/util.h"

#define N_LEAVES 8
#define VECTORS_MAX 64
#define BIG 300

typedef struct vector {
    uint64_t a, b;                             /* (index, size) or (old, new) */
    size_t n;                                  /* proof length */
    vg_merkle_hash proof[VG_MERKLE_PROOF_MAX]; /* expected proof */
} vector;

typedef struct vectors {
    uint8_t leaf[N_LEAVES][32];         /* leaf inputs */
    size_t leaf_len[N_LEAVES];          /* their lengths */
    vg_merkle_hash leaf_hash[N_LEAVES]; /* computed */
    vg_merkle_hash root[N_LEAVES + 1];  /* expected roots, sizes 0..8 */
    vector incl[VECTORS_MAX];           /* inclusion vectors */
    size_t n_incl;                      /* how many */
    vector cons[VECTORS_MAX];           /* consistency vectors */
    size_t n_cons;                      /* how many */
} vectors;

static vectors s_v;

static void
s_hex(uint8_t *out, size_t n, const char *hex)
{
    assert_int_equal(vg_hex_decode(out, n, hex), VG_OK);
}

/* Reads "<a> <b> <n> <hash>..." after the line's tag. */
static void
s_read_vector(vector *v, char *rest)
{
    char *save = NULL;
    v->a = strtoull(strtok_r(rest, " \n", &save), NULL, 10);
    v->b = strtoull(strtok_r(NULL, " \n", &save), NULL, 10);
    v->n = strtoull(strtok_r(NULL, " \n", &save), NULL, 10);
    for (size_t i = 0; i < v->n; i++) {
        s_hex(v->proof[i], 32, strtok_r(NULL, " \n", &save));
    }
    assert_null(strtok_r(NULL, " \n", &save));
}

static int
s_load(void **state)
{
    (void)state;
    FILE *f = fopen(VG_VECTORS_DIR "/merkle_rfc6962.txt", "r");
    assert_non_null(f);
    char line[8192];
    while (fgets(line, sizeof line, f) != NULL) {
        char *save = NULL;
        char *tag = strtok_r(line, " \n", &save);
        if (tag == NULL || tag[0] == '#') {
            continue;
        }
        char *rest = save;
        if (strcmp(tag, "leaf") == 0) {
            size_t i = strtoull(strtok_r(NULL, " \n", &save), NULL, 10);
            const char *hex = strtok_r(NULL, " \n", &save);
            s_v.leaf_len[i] = strcmp(hex, "-") == 0 ? 0 : strlen(hex) / 2;
            if (s_v.leaf_len[i] > 0) {
                s_hex(s_v.leaf[i], s_v.leaf_len[i], hex);
            }
            vg_merkle_leaf_hash(s_v.leaf_hash[i], s_v.leaf[i], s_v.leaf_len[i]);
        } else if (strcmp(tag, "root") == 0) {
            size_t n = strtoull(strtok_r(NULL, " \n", &save), NULL, 10);
            s_hex(s_v.root[n], 32, strtok_r(NULL, " \n", &save));
        } else if (strcmp(tag, "inclusion") == 0) {
            s_read_vector(&s_v.incl[s_v.n_incl++], rest);
        } else if (strcmp(tag, "consistency") == 0) {
            s_read_vector(&s_v.cons[s_v.n_cons++], rest);
        } else {
            fail_msg("unknown vector line tag %s", tag);
        }
    }
    fclose(f);
    assert_int_equal(s_v.n_incl, 36); /* every leaf of every size 1..8 */
    assert_int_equal(s_v.n_cons, 45); /* every 0 <= old <= new <= 8 */
    return 0;
}

/* vg_merkle_subtree_fn over an array of leaf hashes. */
static vg_err
s_array_subtree(void *ctx, uint64_t start, uint64_t end, uint8_t out[32])
{
    const vg_merkle_hash *leaves = ctx;
    vg_merkle_root(out, leaves + start, (size_t)(end - start));
    return VG_OK;
}

/* A node store filled from vg_merkle_range_append's reports. */
typedef struct nodes {
    vg_merkle_hash h[10][BIG + 1]; /* [level][index] */
    bool has[10][BIG + 1];         /* which are stored */
} nodes;

static vg_err
s_nodes_get(void *ctx, unsigned level, uint64_t index, uint8_t out[32])
{
    nodes *ns = ctx;
    if (level >= 10 || index > BIG || !ns->has[level][index]) {
        return VG_ERR_NOT_FOUND;
    }
    memcpy(out, ns->h[level][index], 32);
    return VG_OK;
}

static vg_err
s_nodes_subtree(void *ctx, uint64_t start, uint64_t end, uint8_t out[32])
{
    return vg_merkle_subtree_from_nodes(out, start, end, s_nodes_get, ctx);
}

static void
roots_match_vectors(void **state)
{
    (void)state;
    for (size_t n = 0; n <= N_LEAVES; n++) {
        uint8_t root[32];
        vg_merkle_root(root, s_v.leaf_hash, n);
        assert_memory_equal(root, s_v.root[n], 32);
        vg_merkle_range r;
        vg_merkle_range_init(&r);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(vg_merkle_range_append(&r, s_v.leaf_hash[i], NULL, NULL), VG_OK);
        }
        vg_merkle_range_root(&r, root);
        assert_memory_equal(root, s_v.root[n], 32);
    }
    uint8_t empty[32];
    vg_merkle_empty_root(empty);
    assert_memory_equal(empty, s_v.root[0], 32);
}

static void
inclusion_proofs_match_vectors(void **state)
{
    (void)state;
    for (size_t k = 0; k < s_v.n_incl; k++) {
        const vector *v = &s_v.incl[k];
        vg_merkle_hash got[VG_MERKLE_PROOF_MAX];
        size_t n = 99;
        assert_int_equal(
            vg_merkle_inclusion_proof(got, &n, v->a, v->b, s_array_subtree, (void *)s_v.leaf_hash),
            VG_OK);
        assert_int_equal(n, v->n);
        assert_memory_equal(got, v->proof, n * 32);
        assert_int_equal(vg_merkle_verify_inclusion(s_v.leaf_hash[v->a], v->a, v->b, v->proof, v->n,
                                                    s_v.root[v->b], NULL),
                         VG_OK);
    }
}

/* Every corruption of a valid inclusion proof must fail. */
static void
inclusion_rejects_corruption(void **state)
{
    (void)state;
    for (size_t k = 0; k < s_v.n_incl; k++) {
        const vector *v = &s_v.incl[k];
        const uint8_t *leaf = s_v.leaf_hash[v->a];
        const uint8_t *root = s_v.root[v->b];
        vg_merkle_hash p[VG_MERKLE_PROOF_MAX + 1];
        memcpy(p, v->proof, v->n * 32);
        if (v->a + 1 < v->b) {
            assert_int_not_equal(
                vg_merkle_verify_inclusion(leaf, v->a + 1, v->b, p, v->n, root, NULL), VG_OK);
        }
        if (v->a > 0) {
            assert_int_not_equal(
                vg_merkle_verify_inclusion(leaf, v->a - 1, v->b, p, v->n, root, NULL), VG_OK);
        }
        assert_int_not_equal(vg_merkle_verify_inclusion(leaf, v->a, v->b * 2, p, v->n, root, NULL),
                             VG_OK);
        assert_int_equal(vg_merkle_verify_inclusion(s_v.root[0], v->a, v->b, p, v->n, root, NULL),
                         VG_ERR_CONFLICT);
        assert_int_equal(vg_merkle_verify_inclusion(leaf, v->a, v->b, p, v->n, s_v.root[0], NULL),
                         VG_ERR_CONFLICT);
        memcpy(p[v->n], root, 32);
        assert_int_equal(vg_merkle_verify_inclusion(leaf, v->a, v->b, p, v->n + 1, root, NULL),
                         VG_ERR_MALFORMED);
        if (v->n > 0) {
            assert_int_equal(vg_merkle_verify_inclusion(leaf, v->a, v->b, p, v->n - 1, root, NULL),
                             VG_ERR_MALFORMED);
        }
        for (size_t i = 0; i < v->n; i++) {
            p[i][0] ^= 8;
            assert_int_equal(vg_merkle_verify_inclusion(leaf, v->a, v->b, p, v->n, root, NULL),
                             VG_ERR_CONFLICT);
            p[i][0] ^= 8;
        }
    }
}

static void
inclusion_rejects_impossible_index(void **state)
{
    (void)state;
    vg_reason why = {""};
    assert_int_equal(vg_merkle_verify_inclusion(s_v.leaf_hash[0], 0, 0, NULL, 0, s_v.root[0], &why),
                     VG_ERR_MALFORMED);
    assert_non_null(strstr(why.text, "no such leaf"));
    assert_int_equal(vg_merkle_verify_inclusion(s_v.leaf_hash[0], 3, 3, NULL, 0, s_v.root[3], NULL),
                     VG_ERR_MALFORMED);
    vg_merkle_hash out[VG_MERKLE_PROOF_MAX];
    size_t n = 0;
    assert_int_equal(
        vg_merkle_inclusion_proof(out, &n, 8, 8, s_array_subtree, (void *)s_v.leaf_hash),
        VG_ERR_INVALID);
}

static void
consistency_proofs_match_vectors(void **state)
{
    (void)state;
    for (size_t k = 0; k < s_v.n_cons; k++) {
        const vector *v = &s_v.cons[k];
        vg_merkle_hash got[VG_MERKLE_PROOF_MAX];
        size_t n = 99;
        assert_int_equal(vg_merkle_consistency_proof(got, &n, v->a, v->b, s_array_subtree,
                                                     (void *)s_v.leaf_hash),
                         VG_OK);
        assert_int_equal(n, v->n);
        assert_memory_equal(got, v->proof, n * 32);
        assert_int_equal(vg_merkle_verify_consistency(v->a, v->b, v->proof, v->n, s_v.root[v->a],
                                                      s_v.root[v->b], NULL),
                         VG_OK);
    }
}

static void
consistency_rejects_corruption(void **state)
{
    (void)state;
    for (size_t k = 0; k < s_v.n_cons; k++) {
        const vector *v = &s_v.cons[k];
        if (v->n == 0) {
            continue; /* trivial cases: consistency_trivial_cases */
        }
        const uint8_t *r1 = s_v.root[v->a];
        const uint8_t *r2 = s_v.root[v->b];
        vg_merkle_hash p[VG_MERKLE_PROOF_MAX + 1];
        memcpy(p, v->proof, v->n * 32);
        assert_int_not_equal(vg_merkle_verify_consistency(v->a, v->b, p, v->n, r2, r1, NULL),
                             VG_OK);
        assert_int_not_equal(vg_merkle_verify_consistency(v->a - 1, v->b, p, v->n, r1, r2, NULL),
                             VG_OK);
        assert_int_not_equal(vg_merkle_verify_consistency(v->a + 1, v->b, p, v->n, r1, r2, NULL),
                             VG_OK);
        assert_int_not_equal(vg_merkle_verify_consistency(v->a, v->b * 2, p, v->n, r1, r2, NULL),
                             VG_OK);
        assert_int_not_equal(vg_merkle_verify_consistency(v->a, v->b, p, v->n - 1, r1, r2, NULL),
                             VG_OK);
        assert_int_not_equal(vg_merkle_verify_consistency(v->a, v->b, p, 0, r1, r2, NULL), VG_OK);
        memcpy(p[v->n], r1, 32);
        assert_int_not_equal(vg_merkle_verify_consistency(v->a, v->b, p, v->n + 1, r1, r2, NULL),
                             VG_OK);
        for (size_t i = 0; i < v->n; i++) {
            p[i][0] ^= 16;
            assert_int_equal(vg_merkle_verify_consistency(v->a, v->b, p, v->n, r1, r2, NULL),
                             VG_ERR_CONFLICT);
            p[i][0] ^= 16;
        }
    }
}

static void
consistency_trivial_cases(void **state)
{
    (void)state;
    const uint8_t *empty = s_v.root[0];
    vg_merkle_hash one[1];
    memcpy(one[0], empty, 32);
    assert_int_equal(vg_merkle_verify_consistency(0, 0, NULL, 0, empty, empty, NULL), VG_OK);
    assert_int_equal(vg_merkle_verify_consistency(0, 5, NULL, 0, empty, s_v.root[5], NULL), VG_OK);
    assert_int_equal(vg_merkle_verify_consistency(0, 5, NULL, 0, s_v.root[1], s_v.root[5], NULL),
                     VG_ERR_CONFLICT);
    assert_int_equal(vg_merkle_verify_consistency(0, 5, one, 1, empty, s_v.root[5], NULL),
                     VG_ERR_MALFORMED);
    assert_int_equal(vg_merkle_verify_consistency(4, 4, NULL, 0, s_v.root[4], s_v.root[4], NULL),
                     VG_OK);
    vg_reason why = {""};
    assert_int_equal(vg_merkle_verify_consistency(4, 4, NULL, 0, s_v.root[4], s_v.root[3], &why),
                     VG_ERR_CONFLICT);
    assert_non_null(strstr(why.text, "forked"));
    assert_int_equal(vg_merkle_verify_consistency(4, 4, one, 1, s_v.root[4], s_v.root[4], NULL),
                     VG_ERR_MALFORMED);
    assert_int_equal(vg_merkle_verify_consistency(5, 4, NULL, 0, s_v.root[5], s_v.root[4], NULL),
                     VG_ERR_MALFORMED);
    assert_int_equal(vg_merkle_verify_consistency(2, 5, NULL, 0, s_v.root[2], s_v.root[5], NULL),
                     VG_ERR_MALFORMED);
}

/* The nodes reported by appends are exactly the complete subtrees. */
static void
range_reports_complete_subtrees(void **state)
{
    (void)state;
    vg_merkle_range r;
    vg_merkle_range_init(&r);
    for (uint64_t i = 0; i < N_LEAVES; i++) {
        vg_merkle_node out[VG_MERKLE_LEVELS_MAX];
        size_t n = 0;
        assert_int_equal(vg_merkle_range_append(&r, s_v.leaf_hash[i], out, &n), VG_OK);
        assert_int_equal(n, 1 + (size_t)__builtin_ctzll(~i));
        for (size_t k = 0; k < n; k++) {
            uint64_t w = UINT64_C(1) << out[k].level;
            assert_int_equal(out[k].level, k);
            assert_int_equal(out[k].index, i >> k);
            assert_int_equal((out[k].index + 1) * w, i + 1); /* ends at the new leaf */
            uint8_t want[32];
            vg_merkle_root(want, s_v.leaf_hash + out[k].index * w, (size_t)w);
            assert_memory_equal(out[k].hash, want, 32);
        }
    }
}

static void
s_build_big(vg_merkle_hash *leaves, nodes *ns, size_t n)
{
    vg_merkle_range r;
    vg_merkle_range_init(&r);
    for (size_t i = 0; i < n; i++) {
        uint8_t data[8];
        memcpy(data, &i, sizeof data);
        vg_merkle_leaf_hash(leaves[i], data, sizeof data);
        vg_merkle_node out[VG_MERKLE_LEVELS_MAX];
        size_t k = 0;
        assert_int_equal(vg_merkle_range_append(&r, leaves[i], out, &k), VG_OK);
        for (size_t j = 0; j < k; j++) {
            memcpy(ns->h[out[j].level][out[j].index], out[j].hash, 32);
            ns->has[out[j].level][out[j].index] = true;
        }
    }
}

/* Proofs served from stored subtrees verify for every pair in a bigger tree. */
static void
stored_subtrees_serve_every_proof(void **state)
{
    (void)state;
    static vg_merkle_hash leaves[BIG];
    static nodes ns;
    s_build_big(leaves, &ns, BIG);
    static vg_merkle_hash roots[BIG + 1];
    for (size_t size = 0; size <= BIG; size++) {
        vg_merkle_root(roots[size], leaves, size);
        vg_merkle_range r;
        assert_int_equal(vg_merkle_range_load(&r, size, s_nodes_get, &ns), VG_OK);
        uint8_t got[32];
        vg_merkle_range_root(&r, got);
        assert_memory_equal(got, roots[size], 32);
    }
    for (uint64_t size = 1; size <= BIG; size += 7) {
        for (uint64_t i = 0; i < size; i += 3) {
            vg_merkle_hash p[VG_MERKLE_PROOF_MAX];
            size_t n = 0;
            assert_int_equal(vg_merkle_inclusion_proof(p, &n, i, size, s_nodes_subtree, &ns),
                             VG_OK);
            assert_int_equal(
                vg_merkle_verify_inclusion(leaves[i], i, size, p, n, roots[size], NULL), VG_OK);
        }
        for (uint64_t old = 0; old <= size; old += 5) {
            vg_merkle_hash p[VG_MERKLE_PROOF_MAX];
            size_t n = 0;
            assert_int_equal(vg_merkle_consistency_proof(p, &n, old, size, s_nodes_subtree, &ns),
                             VG_OK);
            assert_int_equal(
                vg_merkle_verify_consistency(old, size, p, n, roots[old], roots[size], NULL),
                VG_OK);
        }
    }
}

static void
subtree_from_nodes_refuses_unaligned(void **state)
{
    (void)state;
    static nodes ns;
    static vg_merkle_hash leaves[16];
    s_build_big(leaves, &ns, 16);
    uint8_t out[32];
    assert_int_equal(vg_merkle_subtree_from_nodes(out, 2, 6, s_nodes_get, &ns), VG_ERR_INVALID);
    assert_int_equal(vg_merkle_subtree_from_nodes(out, 3, 3, s_nodes_get, &ns), VG_ERR_INVALID);
    assert_int_equal(vg_merkle_subtree_from_nodes(out, 4, 7, s_nodes_get, &ns), VG_OK);
    uint8_t want[32];
    vg_merkle_root(want, leaves + 4, 3);
    assert_memory_equal(out, want, 32);
    /* A missing node is the store's error, passed on. */
    ns.has[2][1] = false;
    assert_int_equal(vg_merkle_subtree_from_nodes(out, 4, 8, s_nodes_get, &ns), VG_ERR_NOT_FOUND);
}

static void
range_refuses_overflow(void **state)
{
    (void)state;
    vg_merkle_range r;
    vg_merkle_range_init(&r);
    r.size = VG_MERKLE_SIZE_MAX;
    assert_int_equal(vg_merkle_range_append(&r, s_v.leaf_hash[0], NULL, NULL), VG_ERR_TOO_LARGE);
    assert_int_equal(r.size, VG_MERKLE_SIZE_MAX);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roots_match_vectors),
        cmocka_unit_test(inclusion_proofs_match_vectors),
        cmocka_unit_test(inclusion_rejects_corruption),
        cmocka_unit_test(inclusion_rejects_impossible_index),
        cmocka_unit_test(consistency_proofs_match_vectors),
        cmocka_unit_test(consistency_rejects_corruption),
        cmocka_unit_test(consistency_trivial_cases),
        cmocka_unit_test(range_reports_complete_subtrees),
        cmocka_unit_test(stored_subtrees_serve_every_proof),
        cmocka_unit_test(subtree_from_nodes_refuses_unaligned),
        cmocka_unit_test(range_refuses_overflow),
    };
    return cmocka_run_group_tests(tests, s_load, NULL);
}
