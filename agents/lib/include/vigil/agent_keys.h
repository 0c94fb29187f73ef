/*
 * vigil/agent_keys.h — an agency's keys over time: rotating them, the card
 * the administrator needs, and what the document says of each key set the
 * agency holds (docs/agent.md "keys", docs/network.md "Keys that rotate,
 * leak or are revoked").
 *
 * Rotation happens on the agency's own machine: new sign, box and
 * transport pairs are made and appended to the agency's key file (a
 * keyring, vigil/keys.h: written 0600 like the single set before it); the
 * old sets stay, so alerts sealed to an old box key stay readable. Only the
 * public card leaves the machine. The agency keeps using its old keys until
 * the network document lists the new ones as current (vga_identity_load,
 * vga_identity_follow); nothing is ever re-sealed.
 *
 * Owns: nothing between calls. Never prints or returns a secret key. Thread
 * rules: none; do not run two rotations of one agency at once (the key
 * file is replaced atomically, and the second would not see the first).
 */
#ifndef VIGIL_AGENTS_AGENT_KEYS_H
#define VIGIL_AGENTS_AGENT_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/agent_config.h"
#include "vigil/err.h"
#include "vigil/keys.h"

/* An agency's public card for the administrator: one JSON object in the form
 * of docs/network.md's agency cards, the form `vigilctl network add` and
 * `vigilctl network rotate` read:
 *     {"id": ID, "role": ROLE, "name": NAME,
 *      "sign_key": HEX, "box_key": HEX, "transport_key": Z85}
 * role and name are left out when NULL or "". ks needs all three pairs
 * (VG_ERR_INVALID otherwise). *out is malloc'ed, ends in a newline; free() it. */
vg_err vga_card_json(char **out, const char *id, const char *role, const char *name,
                     const vg_keyset *ks) VG_MUST_USE;

/* What the document says of one key set the agency holds. */
typedef enum vga_key_state {
    VGA_KEYS_CURRENT = 1,  /* the card's current keys: the ones in use */
    VGA_KEYS_PREVIOUS = 2, /* one of the card's previous sets: trusted until valid_until */
    VGA_KEYS_PENDING = 3,  /* newer than the card's: made by a rotation not yet in force */
    VGA_KEYS_RETIRED = 4,  /* older, no longer on the card: kept to open old alerts */
} vga_key_state;

/* "current", "previous", "pending", "retired". */
const char *vga_key_state_name(vga_key_state s);

typedef struct vga_key_info {
    vga_key_state state;             /* see above */
    uint8_t sign_pk[VG_SIGN_PK_LEN]; /* the set's public keys */
    uint8_t box_pk[VG_BOX_PK_LEN];   /* ... */
    uint8_t transport_pk[VG_CURVE_KEY_LEN];
    int64_t valid_until_ms; /* PREVIOUS: the overlap's end; else 0 */
    int64_t compromised_ms; /* the earliest compromise time the card gives one of its keys, 0 */
} vga_key_info;

/* The state of each key set the identity holds, oldest first, into
 * out[max]; *n_out is how many it holds (may exceed max). */
void vga_identity_key_states(const vga_identity *id, vga_key_info *out, size_t max, size_t *n_out);

/*
 * `vigil-agent keys rotate`: loads agent.conf's identity, makes new key
 * pairs of all three kinds, appends them to the key file (atomically, 0600)
 * and returns their card (vga_card_json, with the role and name the
 * document gives the agency) in *card_out (malloc'ed; free() it).
 *
 * When the newest set held is already PENDING (an earlier rotation the
 * administrator has not put in force), no new set is made: its card is
 * returned again and *again_out is true — printing the card twice is
 * harmless, two pending sets would strand the first.
 *
 * Errors: those of vga_identity_load; VG_ERR_TOO_LARGE when the key file
 * holds VG_KEYRING_MAX sets already; a write error (nothing changed).
 */
vg_err vga_keys_rotate(char **card_out, bool *again_out, const char *config_path,
                       vg_reason *why) VG_MUST_USE;

#endif
