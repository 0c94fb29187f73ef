/* webhook.c — the signature of vigil's outgoing HTTP requests (vigil/webhook.h). */
#include "vigil/webhook.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "vigil/util.h"

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

static size_t
s_discard(char *ptr, size_t size, size_t n, void *ctx)
{
    (void)ptr, (void)ctx;
    return size * n;
}

static struct curl_slist *
s_add(struct curl_slist *list, const char *line, bool *ok)
{
    if (!*ok || line == NULL || line[0] == '\0') {
        return list;
    }
    struct curl_slist *next = curl_slist_append(list, line);
    *ok = next != NULL;
    return next != NULL ? next : list;
}

bool
vg_webhook_post(CURL *curl, const vg_webhook_req *req, vg_webhook_res *res)
{
    memset(res, 0, sizeof *res);
    char ctype[160] = "", ts_h[64] = "", sig_h[VG_WEBHOOK_SIG_HEX_LEN + 40] = "";
    if (req->content_type != NULL && req->content_type[0] != '\0') {
        snprintf(ctype, sizeof ctype, "Content-Type: %s", req->content_type);
    }
    if (req->hmac_key != NULL) {
        char sig[VG_WEBHOOK_SIG_HEX_LEN + 1];
        vg_webhook_sign(sig, req->hmac_key, req->hmac_key_len, req->ts, req->body, req->len);
        snprintf(ts_h, sizeof ts_h, VG_WEBHOOK_TS_HEADER ": %" PRId64, req->ts);
        snprintf(sig_h, sizeof sig_h, VG_WEBHOOK_SIG_HEADER ": v1=%s", sig);
    }
    bool ok = true;
    struct curl_slist *hdrs = s_add(NULL, ctype, &ok);
    for (size_t i = 0; i < VG_WEBHOOK_HEADERS_MAX; i++) {
        hdrs = s_add(hdrs, req->headers[i], &ok);
    }
    hdrs = s_add(hdrs, ts_h, &ok);
    hdrs = s_add(hdrs, sig_h, &ok);
    hdrs = s_add(hdrs, "Expect:", &ok); /* no 100-continue round trip */
    if (!ok) {
        curl_slist_free_all(hdrs);
        res->cc = CURLE_OUT_OF_MEMORY;
        snprintf(res->text, sizeof res->text, "out of memory");
        return false;
    }
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, req->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_discard);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, req->user_agent != NULL ? req->user_agent : "vigil");
    if (req->ca_file != NULL && req->ca_file[0] != '\0') {
        curl_easy_setopt(curl, CURLOPT_CAINFO, req->ca_file);
    }
    if (req->user != NULL && req->user[0] != '\0') {
        curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(curl, CURLOPT_USERNAME, req->user);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, req->password != NULL ? req->password : "");
    }
    res->cc = curl_easy_perform(curl);
    if (res->cc == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res->status);
        snprintf(res->text, sizeof res->text, "HTTP %ld", res->status);
    } else {
        snprintf(res->text, sizeof res->text, "%s", curl_easy_strerror(res->cc));
    }
    curl_easy_reset(curl); /* drops the password it was given */
    curl_slist_free_all(hdrs);
    return res->cc == CURLE_OK && res->status >= 200 && res->status < 300;
}
