/*
 * cli_util.c — what only vigil-agent's commands share: the limits of
 * receipt texts, reporting receipts that were not confirmed, and opening
 * the agent with its log on stderr. Messages, option values and exit codes
 * are the toolkit's (agents/common/tool.h).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "vigil/agent_config.h"
#include "vigil/log.h"
#include "vigil/util.h"
#include "vigil/wire.h"

bool
cli_check_text(const vgt_who *w, const char *opt, const char *text, bool required)
{
    if (text == NULL || text[0] == '\0') {
        if (required) {
            vgt_error(w, "%s TEXT is required", opt);
        }
        return !required && text == NULL;
    }
    if (strlen(text) > VG_SHORT_TEXT_MAX) {
        vgt_error(w, "%s is %zu bytes; the limit is %d", opt, strlen(text), VG_SHORT_TEXT_MAX);
        return false;
    }
    return true;
}

int
cli_report_not_confirmed(const vgt_who *w, vg_err rc, const vga_confirm *res, const vg_reason *why,
                         const char *endpoint, int64_t timeout_ms)
{
    char idhex[VG_ALERT_ID_HEX_LEN + 1];
    vg_alert_id_hex(idhex, res->alert_id);
    if (rc == VG_ERR_TIMEOUT) {
        char waited[32];
        vg_duration_format(waited, sizeof waited, (uint64_t)timeout_ms);
        vgt_error(w,
                  "no answer from the broker at %s within %s: nothing was recorded for alert %s; "
                  "run the command again once the broker is reachable (doing it twice is "
                  "harmless)",
                  endpoint, waited, idhex);
        return VGT_EXIT_PENDING;
    }
    if (res->code != VG_OK) {
        static const vgt_who agent_who = {CLI_PROGRAM, NULL}; /* "vigil-agent: rejected: ..." */
        vgt_error(&agent_who, "rejected: %s: %s", vg_err_code(res->code), res->reason.text);
        return VGT_EXIT_FAIL;
    }
    vgt_error(w, "refused: %s (%s)", why->text[0] ? why->text : vg_strerror(rc), vg_err_code(rc));
    return rc == VG_ERR_INVALID ? VGT_EXIT_USAGE : VGT_EXIT_FAIL;
}

int
cli_session_open(cli_session *s, const char *config, const vgt_who *w, bool receive, bool events,
                 const vga_handover_policy *handover)
{
    memset(s, 0, sizeof *s);
    vga_config *cfg = NULL;
    int rc = vgt_config_load(w, config, &cfg);
    if (rc != VGT_EXIT_OK) {
        return rc;
    }
    vg_log_set_sink(vg_log_stderr_sink, NULL);
    vg_log_set_level(cfg->log_level);
    snprintf(s->endpoint, sizeof s->endpoint, "%s", cfg->endpoint);
    vga_config_destroy(&cfg);
    vga_options opts = {
        .receive = receive, .events = events, .software = CLI_PROGRAM, .handover = handover};
    return vgt_agent_open(w, config, &opts, &s->agent);
}

void
cli_session_close(cli_session *s)
{
    if (s != NULL) {
        vga_agent_destroy(&s->agent);
    }
}
