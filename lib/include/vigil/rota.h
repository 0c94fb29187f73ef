/*
 * vigil/rota.h — an agency's duty rota: who is on duty when (officers or
 * teams, each with the contact points a notification reaches them by), and
 * the notification channels the agency uses (email through its SMTP relay,
 * webhook-style HTTP for SMS or voice providers and chat hooks). The file
 * format is docs/network.md "Duty rotas and notifications"; the broker reads
 * one file per agency and acts on it at escalation steps that target people.
 *
 * A rota holds no secret: a channel names its password, token or HMAC key
 * (`secret`), which the broker keeps in a separate private file, and a
 * webhook whose URL is itself the credential names it (`url_secret`).
 *
 * Times in a rota are the agency's local times: its calendar's zone in the
 * network document (else the rota's own tz_rule, else UTC). "open" and
 * "closed" follow the agency's opening hours and working days in the
 * document (vg_netdoc_agency_is_open).
 *
 * Owns: a vg_rota owns every string it returns (borrowed views live as long
 * as it). Thread rules: none; a parsed rota is immutable and may be read
 * from any thread.
 */
#ifndef VIGIL_LIB_ROTA_H
#define VIGIL_LIB_ROTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/calendar.h"
#include "vigil/err.h"
#include "vigil/netdoc.h"

#define VG_ROTA_MAX_BYTES (256 * 1024) /* largest rota file read */
#define VG_ROTA_CHANNELS_MAX 16        /* channels in one rota */
#define VG_ROTA_ENTRIES_MAX 256        /* duty entries in one rota */
#define VG_ROTA_CONTACTS_MAX 8         /* contact points of one entry */
#define VG_ROTA_NAME_MAX 64            /* channel and secret names (with NUL) */
#define VG_ROTA_ADDRESS_MAX 256        /* a contact's address (with NUL) */
#define VG_ROTA_URL_MAX 512            /* a channel's URL or the console's (with NUL) */
#define VG_ROTA_TEMPLATE_MAX 2048      /* a channel's body template (with NUL) */
#define VG_ROTA_SUBJECT_MAX 256        /* an email channel's subject template (with NUL) */

typedef struct vg_rota vg_rota;

/* What a duty entry is for: the people an escalation target reaches. */
typedef enum vg_duty {
    VG_DUTY_OFFICER = 1,      /* "officer": the officer on duty */
    VG_DUTY_OUT_OF_HOURS = 2, /* "out-of-hours": the out-of-hours team */
    VG_DUTY_MANAGER = 3,      /* "manager" */
} vg_duty;

typedef enum vg_channel_kind {
    VG_CHANNEL_EMAIL = 1,   /* SMTP submission to the agency's relay, STARTTLS or TLS */
    VG_CHANNEL_WEBHOOK = 2, /* an HTTP POST with a body made from a template */
} vg_channel_kind;

/* How a webhook proves it comes from us. */
typedef enum vg_channel_auth {
    VG_AUTH_NONE = 0,   /* "none": the URL alone (a chat hook whose URL is a secret) */
    VG_AUTH_BEARER = 1, /* "bearer": Authorization: Bearer <secret> */
    VG_AUTH_BASIC = 2,  /* "basic": user and <secret> (SMS providers) */
    VG_AUTH_HMAC = 3,   /* "hmac-sha256": Vigil-Timestamp and Vigil-Signature
                           (vigil/webhook.h), as the agency gateway's webhooks */
} vg_channel_auth;

/* One channel (borrowed view). */
typedef struct vg_channel {
    const char *name;         /* [a-z0-9._-], unique in the rota */
    vg_channel_kind kind;     /* email or webhook */
    const char *url;          /* smtp://, smtps:// (email); http://, https:// (webhook); ""
                                 when url_secret names it */
    const char *url_secret;   /* webhook: the secret holding the URL, or "" */
    const char *from;         /* email: the sender address */
    const char *user;         /* email, basic: the user name, or "" */
    const char *secret;       /* the secret's name (password, token, HMAC key), or "" */
    const char *ca_file;      /* a CA bundle to trust (absolute, or relative to the rota
                                 file), or "" for the system's */
    vg_channel_auth auth;     /* webhook: how it authenticates */
    const char *content_type; /* webhook: the body's type ("application/json") */
    const char *subject;      /* email: subject template */
    const char *body;         /* body template */
} vg_channel;

/* One way to reach an entry's people: a channel and an address on it (an
 * email address, a phone number, a chat id; "" for a chat hook that needs
 * none). */
typedef struct vg_contact {
    const vg_channel *channel; /* borrowed from the rota */
    const char *to;            /* the address */
} vg_contact;

/* One duty entry (borrowed view). */
typedef struct vg_duty_entry {
    const char *name;           /* who: "Licensing duty officer", "A. Khan" */
    vg_duty duty;               /* what for */
    const vg_contact *contacts; /* how to reach them */
    size_t n_contacts;          /* 1..VG_ROTA_CONTACTS_MAX */
    bool dated;                 /* it has from/until: it replaces the standing entries */
} vg_duty_entry;

/* Parses a rota file's text for `agency` (the file's "agency" must be it),
 * checking everything the broker will rely on: channel kinds and URLs,
 * templates (every {variable} known), addresses, times. VG_ERR_MALFORMED
 * with the place and what to do. Free with vg_rota_destroy. */
vg_err vg_rota_parse(vg_rota **out, const char *json, size_t len, const char *agency,
                     vg_reason *why) VG_MUST_USE;

/* NULL-safe; sets *rota_p = NULL. */
void vg_rota_destroy(vg_rota **rota_p);

/* The agency it is for, and its console's base URL (alert links are
 * <console>#/alert/<id>). */
const char *vg_rota_agency(const vg_rota *rota);
const char *vg_rota_console(const vg_rota *rota);

/* The entries with this duty on duty at at_ms (UTC ms), judged against doc
 * for the agency's zone and hours: when a dated entry is on duty, only
 * dated ones count. Up to max of them go to out; returns how many there are. */
size_t vg_rota_on_duty(const vg_rota *rota, const vg_netdoc *doc, vg_duty duty, int64_t at_ms,
                       vg_duty_entry *out, size_t max);

/* "officer", "out-of-hours", "manager". */
const char *vg_duty_name(vg_duty duty);

/* ---- messages ---------------------------------------------------------------- */

/* What a notification may say: metadata only, never an alert's content. */
typedef struct vg_notice {
    const char *event;      /* "overdue", "escalated" */
    const char *target;     /* the escalation target: "officer-on-duty", ... */
    const char *agency;     /* the agency whose acknowledgement is awaited */
    const char *sender;     /* the alert's sender */
    const char *severity;   /* "high" */
    const char *categories; /* "taxi,cse" */
    const char *status;     /* "actual", "exercise", "test" */
    const char *alert;      /* the alert id, 32 hex */
    const char *link;       /* the console link */
    int64_t deadline_ms;    /* the deadline that passed */
    uint32_t level;         /* the escalation level */
    const char *name;       /* the entry's name */
    const char *to;         /* the address */
} vg_notice;

/* How template values are escaped. */
typedef enum vg_escape {
    VG_ESCAPE_TEXT = 0, /* as they are, without line breaks (a subject, plain text) */
    VG_ESCAPE_JSON = 1, /* inside a JSON string */
    VG_ESCAPE_FORM = 2, /* application/x-www-form-urlencoded */
} vg_escape;

/* The escaping a webhook's content type asks for. */
vg_escape vg_escape_for(const char *content_type);

/* Expands a template's {variables} (docs/network.md lists them: event,
 * target, agency, sender, severity, categories, status, alert, link,
 * deadline, level, name, to, summary) with n's values into out. False when
 * it did not fit (out is then cut). */
bool vg_notice_render(char *out, size_t out_len, const char *tmpl, const vg_notice *n,
                      vg_escape escape);

/* The link to an alert in an agency's web console. */
void vg_console_link(char *out, size_t out_len, const char *console, const char *alert_hex);

#endif
