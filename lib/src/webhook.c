/* webhook.c — the signature of vigil's outgoing HTTP requests (vigil/webhook.h). */
#include "vigil/webhook.h"

#include <inttypes.h>
#include <stdio.h>

#include <sodium.h>

void
vg_webhook_sign(char out[VG_WEBHOOK_SIG_HEX_LEN + 1], const uint8_t *key, size_t key_len,
                int64_t ts, const char *body, size_t len)
{
    crypto_auth_hmacsha256_state st;
    char prefix[32];
    int n = snprintf(prefix, sizeof prefix, "%" PRId64 ".", ts);
    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)prefix, (unsigned long long)n);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(out, VG_WEBHOOK_SIG_HEX_LEN + 1, mac, sizeof mac);
    sodium_memzero(&st, sizeof st);
}
