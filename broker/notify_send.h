/*
 * broker/notify_send.h — the notification worker: a thread of its own
 * (`vigil-notify`) that sends each message the loop hands it, by email (SMTP
 * submission through libcurl: STARTTLS required on smtp://, TLS on smtps://)
 * or by webhook (an HTTP POST through libcurl, authenticated as the channel
 * says), and hands back its outcome. Network I/O happens here and only
 * here, so a slow or dead relay never holds up the broker's loop; one
 * attempt is bounded by [notify] timeout.
 *
 * Secrets: the worker alone reads the secrets file ([notify] secrets, which
 * must be private to its owner: mode 0600 or 0400, else it is refused) and
 * reads it again when it changes. A job names its secrets; their values
 * live in sodium_malloc'ed memory of this thread, are wiped when replaced,
 * and are never logged, returned or put in an outcome (nor is a URL that
 * is a secret).
 *
 * Hand-off: one inproc PAIR socket. The loop sends a vgb_note (one frame of
 * exactly sizeof(vgb_note) bytes) and receives a vgb_note_result for each
 * (same id), in the order sent; an empty frame stops the worker. The loop
 * bounds how many notes are out at once ([notify] queue), so the socket's
 * queue is bounded by that. Nothing else is shared.
 *
 * Owns: the thread, its curl handle and the secrets it read.
 * Thread rules: vgb_sender_* are called from the loop's thread only.
 */
#ifndef VIGIL_BROKER_NOTIFY_SEND_H
#define VIGIL_BROKER_NOTIFY_SEND_H

#include <stdbool.h>
#include <stdint.h>

#include "vigil/err.h"
#include "vigil/rota.h"
#include "vigil/wire.h"

#define VGB_NOTE_BODY_MAX 8192 /* a rendered message body */
#define VGB_NOTE_CODE_MAX 48   /* an outcome's code */

/* A message to send, self-contained (no pointers): what the loop rendered
 * from the rota and the alert's metadata. */
typedef struct vgb_note {
    uint64_t id;                           /* the loop's number for it */
    int64_t created_ms;                    /* its Date: (email) */
    vg_channel_kind kind;                  /* email or webhook */
    vg_channel_auth auth;                  /* webhook: how it authenticates */
    char agency[VG_AGENCY_ID_MAX + 1];     /* whose rota and secrets */
    char channel[VG_ROTA_NAME_MAX];        /* the channel's name */
    char url[VG_ROTA_URL_MAX];             /* the URL, or "" when url_secret holds it */
    char url_secret[VG_ROTA_NAME_MAX];     /* the secret holding the URL, or "" */
    char secret[VG_ROTA_NAME_MAX];         /* password, token or HMAC key's name, or "" */
    char user[2 * VG_ROTA_NAME_MAX];       /* user name, or "" */
    char from[VG_ROTA_ADDRESS_MAX];        /* email: the sender */
    char ca_file[VG_ROTA_URL_MAX];         /* a CA bundle (absolute path), or "" */
    char content_type[VG_ROTA_NAME_MAX];   /* webhook: the body's type */
    char to[VG_ROTA_ADDRESS_MAX];          /* the address */
    char subject[VG_ROTA_SUBJECT_MAX * 2]; /* email: the subject, one line */
    char body[VGB_NOTE_BODY_MAX];          /* the body */
} vgb_note;

/* What came of a note. */
typedef struct vgb_note_result {
    uint64_t id;                  /* the note's */
    bool sent;                    /* the relay or the endpoint accepted it */
    char code[VGB_NOTE_CODE_MAX]; /* when not: connect_failed, tls_failed, auth_failed,
                                     rejected, http_NNN, timeout, secret_missing, send_failed */
    char detail[200];             /* for the log, never a secret */
} vgb_note_result;

typedef struct vgb_sender vgb_sender;

/* Starts the worker, connected to the loop's PAIR socket bound at endpoint
 * (inproc). secrets_path (may be NULL: no secrets) is read on the worker's
 * thread, at its first note and whenever it changed since. timeout_ms
 * bounds one attempt. Stop with vgb_sender_stop. */
vg_err vgb_sender_start(vgb_sender **out, void *zmq_ctx, const char *endpoint,
                        const char *secrets_path, uint64_t timeout_ms, vg_reason *why) VG_MUST_USE;

/* Stops the worker after the note it is sending (the loop has sent the
 * empty frame on its socket first) and frees it; NULL-safe; sets *s_p =
 * NULL. */
void vgb_sender_stop(vgb_sender **s_p);

#endif
