/* intake.c — messages taken from the ROUTER together (intake.h). */
#include "intake.h"

#include <stdlib.h>

#include "out.h"
#include "zap.h"
#include "vigil/envelope.h"

vg_err
vgb_intake_init(vgb_intake *x, size_t max)
{
    *x = (vgb_intake){.max = max};
    x->in = calloc(max ? max : 1, sizeof *x->in);
    x->jobs = calloc(max ? max : 1, sizeof *x->jobs);
    if (x->in == NULL || x->jobs == NULL) {
        vgb_intake_fini(x);
        return VG_ERR_NOMEM;
    }
    return VG_OK;
}

void
vgb_intake_close(vgb_inmsg *m)
{
    if (m->job != NULL) {
        vg_envelope_destroy(&m->job->env);
        m->job = NULL;
    }
    if (m->cf != NULL) {
        vigil__client_frame__free_unpacked(m->cf, NULL);
        m->cf = NULL;
    }
    zmq_msg_close(&m->payload);
    zmq_msg_close(&m->rid);
}

void
vgb_intake_fini(vgb_intake *x)
{
    for (size_t j = 0; x->in != NULL && j < x->n; j++) { /* taken, never handled */
        vgb_intake_close(&x->in[j]);
    }
    free(x->in);
    free(x->jobs);
    *x = (vgb_intake){0};
}

uint64_t
vgb_peek_request_id(const uint8_t *data, size_t len)
{
    if (len < 2 || data[0] != 0x08) {
        return 0;
    }
    uint64_t v = 0;
    for (size_t i = 1; i < len && i <= 10; i++) {
        v |= (uint64_t)(data[i] & 0x7f) << (7 * (i - 1));
        if ((data[i] & 0x80) == 0) {
            return v;
        }
    }
    return 0;
}

/* Receives one [routing id][payload] message into m; false when none is waiting. */
static bool
s_recv_one(void *router, vgb_inmsg *m)
{
    zmq_msg_init(&m->rid);
    if (zmq_msg_recv(&m->rid, router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m->rid);
        return false;
    }
    zmq_msg_init(&m->payload);
    m->ok = zmq_msg_more(&m->rid) && zmq_msg_recv(&m->payload, router, 0) >= 0;
    m->extra = m->ok && zmq_msg_more(&m->payload);
    while (m->ok && zmq_msg_more(&m->payload)) { /* a well-behaved DEALER sends one frame */
        zmq_msg_t junk;
        zmq_msg_init(&junk);
        m->ok = zmq_msg_recv(&junk, router, 0) >= 0;
        bool more = m->ok && zmq_msg_more(&junk);
        zmq_msg_close(&junk);
        if (!more) {
            break;
        }
    }
    m->user = m->ok ? zmq_msg_gets(&m->payload, "User-Id") : NULL;
    m->key = m->ok ? zmq_msg_gets(&m->payload, VGB_ZAP_KEY) : NULL;
    const char *until = m->ok ? zmq_msg_gets(&m->payload, VGB_ZAP_UNTIL) : NULL;
    m->key_until_ms = until != NULL ? strtoll(until, NULL, 10) : INT64_MAX;
    m->ok = m->ok && m->user != NULL && zmq_msg_size(&m->rid) <= VGB_RID_MAX;
    m->cf = NULL;
    m->job = NULL;
    return true;
}

void
vgb_intake_take(vgb_intake *x, void *router)
{
    x->n = x->n_jobs = 0;
    while (x->n < x->max && s_recv_one(router, &x->in[x->n])) {
        vgb_inmsg *m = &x->in[x->n++];
        if (!m->ok || m->extra) {
            continue;
        }
        m->cf =
            vigil__client_frame__unpack(NULL, zmq_msg_size(&m->payload), zmq_msg_data(&m->payload));
        if (m->cf != NULL && m->cf->kind_case == VIGIL__CLIENT_FRAME__KIND_PUBLISH) {
            m->job = &x->jobs[x->n_jobs];
            x->jobs[x->n_jobs++] = (vgb_verify_job){.bytes = m->cf->publish->signed_envelope.data,
                                                    .len = m->cf->publish->signed_envelope.len};
        }
    }
}
