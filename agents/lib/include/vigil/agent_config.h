/*
 * vigil/agent_config.h — an agency's configuration (agent.conf) and its
 * verified identity.
 *
 * agent.conf is an INI file read through vg_config_load (vigil/config.h):
 *
 *     [agent]
 *     id = police                 ; agency id in the network document
 *     keys = agency.key           ; secret key file (0600)
 *     store = store               ; local outbox/inbox directory
 *     log_level = info
 *     [network]
 *     document = network.signed   ; this agent's copy of the signed document
 *     admin_key = <64 hex>        ; pinned admin Ed25519 public key
 *     [broker]
 *     endpoint = tcp://127.0.0.1:7600  ; several brokers (docs/ha.md): tcp://a:7600, tcp://b:7600
 *     public_key = <40 Z85>       ; pinned broker CurveZMQ public key
 *     [gateway]                   ; optional: read by vigil-gateway only
 *     listen = 127.0.0.1:7701     ; its HTTP API (docs/gateway.md has every key)
 *
 * Every path is resolved relative to the directory of agent.conf, so a
 * network folder can be moved as a whole. An unknown key, a malformed id or
 * key, or a missing required key is VG_ERR_CONFIG naming the file and key.
 *
 * A vga_identity joins the three things an agency needs before it can talk:
 * its config, its secret keys and the network document verified against the
 * pinned admin key, and checks they agree (the keys are the ones on this
 * agency's card). The key file may hold several key sets (vigil/keys.h,
 * keyrings: an agency that ran `vigil-agent keys rotate` keeps its old
 * ones); the set in use is the one the document lists as current, so the
 * agency signs and connects with its new keys only once the document says
 * so, and opens alerts with every box key it holds. A config is read-only
 * after load and may be shared between threads; an identity too, except
 * that vga_identity_follow changes the set in use (the agent calls it when
 * it adopts a newer document). Nothing here logs; no secret is ever put in
 * a vg_reason.
 */
#ifndef VIGIL_AGENTS_AGENT_CONFIG_H
#define VIGIL_AGENTS_AGENT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "vigil/err.h"
#include "vigil/keys.h"
#include "vigil/log.h"
#include "vigil/netdoc.h"
#include "vigil/util.h"

/* [gateway]: the agency's HTTP gateway (vigil-gateway, docs/gateway.md).
 * Every key has a default, so the section may be left out; other programs
 * load it and ignore it. */
typedef struct vga_gateway_config {
    char *listen;                    /* HOST:PORT of the HTTP API (port 0: any free port) */
    char *tls_cert;                  /* PEM certificate chain; NULL: plain HTTP */
    char *tls_key;                   /* PEM private key of tls_cert (mode 0600) */
    char *client_ca;                 /* PEM CA: clients must also present a certificate it signed */
    int64_t max_body_bytes;          /* largest request body accepted */
    int64_t max_connections;         /* concurrent HTTP connections */
    int64_t rate_per_s;              /* requests per second per token (sustained) */
    int64_t burst;                   /* requests a token may make at once */
    int64_t workers;                 /* broker connections serving requests */
    uint64_t confirm_timeout_ms;     /* how long a publish waits for the broker (then 202) */
    uint64_t webhook_timeout_ms;     /* one webhook POST, connect to answer */
    uint64_t webhook_backoff_max_ms; /* longest wait between two attempts */
    uint64_t webhook_alarm_ms;       /* failing this long raises the webhook alarm */
    char *cap_category;              /* vigil category of a CAP alert that names none ("" = none) */
    bool console;                    /* serve the web console and officers' sessions */
    char *console_dir;               /* its files; NULL: beside the binary (docs/console.md) */
    uint64_t session_idle_ms;        /* a session unused this long ends */
    uint64_t session_max_ms;         /* a session ends this long after login, used or not */
    int64_t login_failures;          /* wrong passwords in a row that lock an officer name */
    uint64_t login_lockout_ms;       /* how long such a name stays locked */
    bool secure_cookie;              /* Secure cookies over plain HTTP (TLS ends at a proxy) */
    char *sso_header;                /* header a trusted proxy names the officer in ("" = off) */
    char *sso_proxy;                 /* addresses whose sso_header is believed, comma-separated */
} vga_gateway_config;

typedef struct vga_config {
    char *path;                          /* agent.conf as given to load */
    char *id;                            /* [agent] id: this agency */
    char *keys_path;                     /* [agent] keys, resolved */
    char *store_path;                    /* [agent] store, resolved */
    vg_log_level log_level;              /* [agent] log_level */
    char *document_path;                 /* [network] document, resolved */
    char *admin_key_hex;                 /* [network] admin_key as written */
    uint8_t admin_pk[VG_SIGN_PK_LEN];    /* admin_key decoded */
    char *endpoint;                      /* [broker] endpoint as written: one address or several */
    vg_strlist endpoints;                /* ... each address, in order (at least one) */
    char *broker_key_z85;                /* [broker] public_key as written */
    uint8_t broker_pk[VG_CURVE_KEY_LEN]; /* public_key decoded */
    vga_gateway_config gateway;          /* [gateway] */
} vga_config;

/* Loads and checks agent.conf. VG_ERR_NOT_FOUND (no such file),
 * VG_ERR_CONFIG (what was wrong, where, and what is accepted), VG_ERR_NOMEM.
 * Free with vga_config_destroy. */
vg_err vga_config_load(vga_config **out, const char *path, vg_reason *why) VG_MUST_USE;

/* Frees everything; NULL-safe; sets *cfg_p = NULL. */
void vga_config_destroy(vga_config **cfg_p);

typedef struct vga_identity vga_identity;

/*
 * Loads agent.conf, the agency's secret keys and its copy of the network
 * document (verified against the pinned admin key, min_version as given:
 * 0 accepts any version), then checks that:
 *   - the agency is in the document and not revoked (VG_ERR_NOT_FOUND,
 *     VG_ERR_REVOKED);
 *   - the key file holds a set of all three pairs whose public keys are
 *     the ones on the agency's card (VG_ERR_CONFIG naming the key that
 *     differs); that set is the one in use;
 *   - the pinned broker key is the document's broker transport key, or one
 *     of its previous_broker_keys (VG_ERR_CONFIG).
 * Errors from loading pass through unchanged (VG_ERR_KEY_PERMS,
 * VG_ERR_BAD_SIGNATURE, VG_ERR_STALE_VERSION, ...), with why saying which
 * file. Free with vga_identity_destroy.
 */
vg_err vga_identity_load(vga_identity **out, const char *config_path, uint64_t min_version,
                         vg_reason *why) VG_MUST_USE;

/* Wipes the keys and frees everything; NULL-safe; sets *id_p = NULL. */
void vga_identity_destroy(vga_identity **id_p);

/* Borrowed; live as long as the identity (the keys: until the next
 * vga_identity_follow). vga_identity_keys is the set in use: what the
 * agency signs and connects with. */
const vga_config *vga_identity_config(const vga_identity *id);
const vg_keyset *vga_identity_keys(const vga_identity *id);
/* Every key set the agency holds (the set in use is its active one): what
 * it opens alerts with (vg_envelope_open_ring). */
const vg_keyring *vga_identity_keyring(const vga_identity *id);
const vg_netdoc *vga_identity_doc(const vga_identity *id);
const char *vga_identity_agency(const vga_identity *id); /* the agency id */

/* Makes the set doc lists as this agency's current keys the one in use
 * (re-reading the key file when it holds no such set: the agency rotated
 * since the identity was loaded). *switched says whether the set in use
 * changed. VG_ERR_NOT_FOUND or VG_ERR_REVOKED when doc has no live card for
 * the agency, VG_ERR_CONFIG when it lists keys the agency does not hold, a
 * key file error: in each case the set in use stays as it was. */
vg_err vga_identity_follow(vga_identity *id, const vg_netdoc *doc, bool *switched,
                           vg_reason *why) VG_MUST_USE;

#endif
