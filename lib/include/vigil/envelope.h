/*
 * vigil/envelope.h — sealing and opening alerts.
 *
 * Seal: the alert is serialised and encrypted once with XChaCha20-Poly1305
 * under a fresh content key; the associated data binds the alert id, the
 * sender and the ordered recipient list. The content key is sealed
 * (crypto_box_seal) to each recipient agency's X25519 key and committed to
 * (BLAKE2b-256, personalised, over the alert id and key), so every recipient
 * provably reads the same text. The sender seals a copy to itself too (it is
 * not a recipient), so its own console can read what it sent. The envelope body is serialised and
 * the sender signs those exact bytes (with VG_DOMAIN_ENVELOPE).
 *
 * Verify: the signature is checked over the received body bytes before they
 * are parsed; the signer must be the body's sender. This is all the broker
 * does: it never holds a content key. Open (recipients only): unseal the
 * content key, check the commitment, decrypt.
 *
 * A vg_envelope is immutable after verification and may be shared between
 * threads. Plaintext and content keys are wiped on every path.
 */
#ifndef VIGIL_LIB_ENVELOPE_H
#define VIGIL_LIB_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"
#include "vigil/keys.h"
#include "vigil/netdoc.h"
#include "vigil/util.h"
#include "vigil/wire.h"

typedef struct vg_subject {
    char *scheme; /* "vehicle-reg", "taxi-licence", "person-ref", ... */
    char *value;  /* the reference itself */
} vg_subject;

typedef struct vg_area {
    char *desc;          /* CAP areaDesc */
    vg_strlist geocodes; /* "scheme:value" */
} vg_area;

/*
 * An alert in the clear. As input to vg_envelope_seal() every field is
 * borrowed and left untouched (strings may be NULL for "absent"). As output of
 * vg_envelope_open() every field is owned by the struct: release it with
 * vg_alert_fini(), which wipes the text.
 */
typedef struct vg_alert {
    /* Routing metadata: signed in the envelope body, visible to the broker. */
    uint8_t id[VG_ALERT_ID_LEN]; /* set by open; ignored by seal */
    char *sender;                /* set by open; seal takes the sender from vg_seal_params */
    uint64_t sequence;           /* set by open */
    int64_t created_ms;          /* set by open */
    uint64_t network_version;    /* set by open */
    vg_status status;            /* default ACTUAL when UNSPECIFIED */
    vg_msg_type msg_type;        /* default ALERT when UNSPECIFIED */
    vg_severity severity;        /* required */
    vg_urgency urgency;          /* default UNKNOWN when UNSPECIFIED */
    vg_strlist categories;       /* 1..VG_CATEGORIES_MAX, from the taxonomy */
    vg_strlist recipients;       /* agency ids the content key is sealed to */
    uint8_t (*references)[VG_ALERT_ID_LEN]; /* alert ids updated or cancelled */
    size_t n_references;                    /* count of references */
    /* Content: encrypted, only recipients read it. */
    char *event;            /* CAP event, e.g. "Child sexual exploitation" */
    vg_certainty certainty; /* default UNKNOWN when UNSPECIFIED */
    char *headline;         /* required, <= VG_SHORT_TEXT_MAX */
    char *description;      /* <= VG_TEXT_MAX */
    char *instruction;      /* what recipients should do */
    vg_area *areas;         /* CAP areas */
    size_t n_areas;         /* count of areas */
    int64_t expires_ms;     /* 0 = none */
    vg_strlist incidents;   /* names that link related alerts */
    vg_subject *subjects;   /* who or what it is about */
    size_t n_subjects;      /* count of subjects */
    char *sender_name;      /* the person or desk that wrote it */
    char *contact;          /* how to reach them */
    char *web;              /* a link */
    char *language;         /* RFC 5646; "en-GB" when absent */
} vg_alert;

/* Frees and wipes everything vg_envelope_open() put in a; leaves it zeroed. */
void vg_alert_fini(vg_alert *a);

typedef struct vg_seal_params {
    const vg_netdoc *doc;           /* recipients' keys and the taxonomy */
    const char *sender;             /* sender agency id (must be in doc, not revoked) */
    const vg_keyset *keys;          /* sender's keys (VG_KEY_SIGN) */
    uint64_t sequence;              /* next per-sender sequence number, >= 1 */
    int64_t created_ms;             /* wall-clock UTC ms */
    const uint8_t *alert_id;        /* VG_ALERT_ID_LEN bytes, or NULL for a random one */
    const uint8_t (*link_keys)[32]; /* network link keys (vg_netdoc_open_link_keys), or NULL */
    size_t n_link_keys;             /* how many: each subject and incident is tagged under each */
} vg_seal_params;

/* Seals alert to exactly alert->recipients (the caller adds the policy's
 * required agencies first: see vg_netdoc_required). Checks every recipient is
 * known and not revoked, categories are in the taxonomy, required fields are
 * set and within limits. *out is the serialised SignedEnvelope, malloc'ed;
 * free() it. id_out (may be NULL) receives the alert id. */
vg_err vg_envelope_seal(uint8_t **out, size_t *out_len, uint8_t id_out[VG_ALERT_ID_LEN],
                        const vg_alert *alert, const vg_seal_params *params,
                        vg_reason *why) VG_MUST_USE;

typedef struct vg_envelope vg_envelope;

/* Verifies a serialised SignedEnvelope: size, outer parse, signer known
 * (VG_ERR_UNKNOWN_SENDER) and not revoked (VG_ERR_REVOKED), signature over
 * the received body bytes by the signer's current sign key or one of its
 * previous ones (VG_ERR_BAD_SIGNATURE), body parse and field checks
 * (VG_ERR_MALFORMED), body sender = signer (VG_ERR_SENDER_MISMATCH), and
 * the key trusted at the body's created time: VG_ERR_KEY_COMPROMISED when
 * created at or after the key's compromised_at, VG_ERR_REVOKED when a
 * previous key signed it at or after its overlap ended (netdoc.h, "keys
 * that rotate"), each naming the key and the time.
 * Copies the bytes. Free with vg_envelope_destroy. */
vg_err vg_envelope_verify(vg_envelope **out, const uint8_t *bytes, size_t len, const vg_netdoc *doc,
                          vg_reason *why) VG_MUST_USE;

/* vg_envelope_verify, and the signer the envelope names in claimed (""
 * when it does not parse or names no valid agency id), verified or not: a
 * rejection's audit leaf records who it claimed to be. claimed may be NULL. */
vg_err vg_envelope_verify_claimed(vg_envelope **out, const uint8_t *bytes, size_t len,
                                  const vg_netdoc *doc, char claimed[VG_AGENCY_ID_MAX + 1],
                                  vg_reason *why) VG_MUST_USE;

/* NULL-safe; sets *env_p = NULL. */
void vg_envelope_destroy(vg_envelope **env_p);

const uint8_t *vg_envelope_id(const vg_envelope *env); /* VG_ALERT_ID_LEN */
const char *vg_envelope_sender(const vg_envelope *env);
uint64_t vg_envelope_sequence(const vg_envelope *env);
int64_t vg_envelope_created_ms(const vg_envelope *env);
vg_status vg_envelope_status(const vg_envelope *env);
vg_msg_type vg_envelope_msg_type(const vg_envelope *env);
vg_severity vg_envelope_severity(const vg_envelope *env);
vg_urgency vg_envelope_urgency(const vg_envelope *env);
uint64_t vg_envelope_network_version(const vg_envelope *env);
const vg_strlist *vg_envelope_categories(const vg_envelope *env);
const vg_strlist *vg_envelope_recipients(const vg_envelope *env);
bool vg_envelope_has_recipient(const vg_envelope *env, const char *agency);
/* The envelope's link tags (32 bytes each, at most 64; vigil/linktag.h):
 * tag i is at vg_envelope_link_tag(env, i). */
size_t vg_envelope_n_link_tags(const vg_envelope *env);
const uint8_t *vg_envelope_link_tag(const vg_envelope *env, size_t i);
/* BLAKE2b-256 of the signed body bytes: what receipts and shares name. */
const uint8_t *vg_envelope_hash(const vg_envelope *env);
/* The exact serialised SignedEnvelope it was verified from. */
const uint8_t *vg_envelope_bytes(const vg_envelope *env, size_t *len_out);

/* Evaluates the network's sharing policy for the envelope once: its
 * required agencies (vg_netdoc_required, then the out-of-hours cover of
 * those closed at the envelope's created time: vg_netdoc_cover) go to
 * *required (may be NULL; the
 * caller's to vg_strlist_fini, filled on VG_OK only), and the ones the
 * envelope does not address make VG_ERR_MISSING_RECIPIENTS, named in why and
 * appended to *missing (may be NULL). */
vg_err vg_envelope_check_policy(const vg_envelope *env, const vg_netdoc *doc, vg_strlist *required,
                                vg_strlist *missing, vg_reason *why) VG_MUST_USE;

/* Opens the envelope as agency `me` (a listed recipient, or the sender):
 * VG_ERR_NOT_RECIPIENT when neither,
 * VG_ERR_UNSEAL when the sealed key does not open with my box key,
 * VG_ERR_COMMITMENT, VG_ERR_DECRYPT, VG_ERR_MALFORMED (plaintext). On success
 * *out owns the alert; vg_alert_fini() it. */
vg_err vg_envelope_open(vg_alert *out, const vg_envelope *env, const char *me,
                        const vg_keyset *my_keys, vg_reason *why) VG_MUST_USE;

/* Opens with a content key sealed to `me` by someone else (a share record's
 * key; see vigil/share.h). Same checks and errors as vg_envelope_open(). */
vg_err vg_envelope_open_sealed(vg_alert *out, const vg_envelope *env, const uint8_t *sealed_key,
                               size_t sealed_key_len, const vg_keyset *my_keys,
                               vg_reason *why) VG_MUST_USE;

/* Unseals my copy of the content key (for re-sealing to a new recipient) into
 * key_out, which the caller must sodium_memzero. Same errors as open. */
vg_err vg_envelope_content_key(uint8_t key_out[VG_CONTENT_KEY_LEN], const vg_envelope *env,
                               const char *me, const vg_keyset *my_keys,
                               vg_reason *why) VG_MUST_USE;

/* The same three with every box key an agency holds (vigil/keys.h,
 * keyrings): the keyring's active set first, then its other sets, newest
 * first — so an alert sealed to a box key the agency has since rotated away
 * from still opens (nothing is ever re-sealed). VG_ERR_UNSEAL when none of
 * them opens it; VG_ERR_INVALID for an empty keyring. */
vg_err vg_envelope_open_ring(vg_alert *out, const vg_envelope *env, const char *me,
                             const vg_keyring *ring, vg_reason *why) VG_MUST_USE;
vg_err vg_envelope_open_sealed_ring(vg_alert *out, const vg_envelope *env,
                                    const uint8_t *sealed_key, size_t sealed_key_len,
                                    const vg_keyring *ring, vg_reason *why) VG_MUST_USE;
vg_err vg_envelope_content_key_ring(uint8_t key_out[VG_CONTENT_KEY_LEN], const vg_envelope *env,
                                    const char *me, const vg_keyring *ring,
                                    vg_reason *why) VG_MUST_USE;

#endif
