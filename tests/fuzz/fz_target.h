/*
 * fz_target.h — the libFuzzer entry point every target defines, and the
 * input conventions they share.
 *
 * Targets that verify a signed record take a mode byte first: even = the
 * rest is the serialised Signed* message as it would arrive; odd = the rest
 * is a body, which the target signs with a fixture key (signer chosen by
 * the byte's upper bits) before verifying, so the fuzzer reaches the body
 * parser and the field checks behind a valid signature.
 *
 * A target returns 0 for every input. It aborts only when a property the
 * library promises is broken (named on stderr); sanitizers catch the rest.
 */
#ifndef VIGIL_TESTS_FUZZ_FZ_TARGET_H
#define VIGIL_TESTS_FUZZ_FZ_TARGET_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Signer index for a sign-through mode byte. */
#define FZ_SIGNER_OF(mode) (((size_t)(mode) >> 1) % FZ_N_AGENCIES)
#define FZ_IS_SIGN_THROUGH(mode) (((mode)&1u) != 0)

/* Calls a VG_MUST_USE function whose result a target does not need (a
 * (void) cast does not silence GCC's warn_unused_result). */
#define FZ_IGNORE(call)                                                                            \
    do {                                                                                           \
        if ((call) != VG_OK) {                                                                     \
        }                                                                                          \
    } while (0)

#endif
