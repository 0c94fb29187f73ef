/* store_pg_sql.c — the PostgreSQL back end's schema, grants and statements
 * (see store_pg.h). The logical tables are the SQLite back end's
 * (store_sqlite.c), with PostgreSQL types: bigint for integers, boolean for
 * flags, bytea for bytes; recipients.pos keeps the order recipients were
 * added in (SQLite's rowid), and ids are the largest plus one, never a
 * sequence. Every statement is prepared on every connection. */
#include "store_pg.h"

/* Version 7: witness cosignatures of checkpoints (store_witness.h). One
 * statement, the migration's and the new store's alike. */
#define S_COSIGNATURES_TABLE                                                                       \
    "CREATE TABLE IF NOT EXISTS cosignatures("                                                     \
    " size bigint NOT NULL,"                                                                       \
    " agency text NOT NULL,"                                                                       \
    " line text NOT NULL,"                                                                         \
    " time_s bigint NOT NULL,"                                                                     \
    " received_ms bigint NOT NULL,"                                                                \
    " PRIMARY KEY(size, agency));"

/* Version 4 was the first on PostgreSQL; 5 adds recipients.cover_for. The
 * alerts_open index is PostgreSQL's own: outstanding queries skip complete
 * alerts without reading them. */
const char vgb_pg_schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key text PRIMARY KEY, value bigint NOT NULL);"
    "CREATE TABLE IF NOT EXISTS alerts("
    " seq bigint PRIMARY KEY,"
    " alert_id bytea NOT NULL UNIQUE,"
    " sender text NOT NULL,"
    " sender_seq bigint NOT NULL,"
    " created_ms bigint NOT NULL,"
    " accepted_ms bigint NOT NULL,"
    " status integer NOT NULL,"
    " msg_type integer NOT NULL,"
    " severity integer NOT NULL,"
    " urgency integer NOT NULL,"
    " categories text NOT NULL,"
    " network_version bigint NOT NULL,"
    " envelope_hash bytea NOT NULL,"
    " envelope bytea NOT NULL,"
    " complete_ms bigint,"
    " UNIQUE(sender, sender_seq));"
    "CREATE INDEX IF NOT EXISTS alerts_open ON alerts(seq) WHERE complete_ms IS NULL;"
    "CREATE TABLE IF NOT EXISTS recipients("
    " alert_seq bigint NOT NULL REFERENCES alerts(seq),"
    " agency text NOT NULL,"
    " pos integer NOT NULL," /* the order they were added in */
    " required boolean NOT NULL,"
    " state integer NOT NULL,"
    " delivered_ms bigint,"
    " deadline_ms bigint NOT NULL DEFAULT 0,"
    " state_ms bigint,"
    " acked_ms bigint,"
    " officer text,"
    " note text,"
    " reason text,"
    " progress_used boolean NOT NULL DEFAULT false,"
    " esc_level bigint NOT NULL DEFAULT 0,"
    " overdue_ms bigint,"
    " shared_by text,"
    " next_try_ms bigint NOT NULL DEFAULT 0,"
    " tries integer NOT NULL DEFAULT 0,"
    " cover_for text," /* out-of-hours cover for that agency */
    " PRIMARY KEY(alert_seq, agency));"
    "CREATE INDEX IF NOT EXISTS recipients_todo ON recipients(agency, next_try_ms, alert_seq)"
    " WHERE state = 1;"
    "CREATE INDEX IF NOT EXISTS recipients_open ON recipients(agency, alert_seq)"
    " WHERE required AND state <> 3;"
    "CREATE INDEX IF NOT EXISTS recipients_deadline ON recipients(deadline_ms, esc_level)"
    " WHERE required AND state <> 3 AND deadline_ms > 0;"
    "CREATE TABLE IF NOT EXISTS shares("
    " id bigint PRIMARY KEY,"
    " alert_seq bigint NOT NULL REFERENCES alerts(seq),"
    " sharer text NOT NULL,"
    " to_agency text NOT NULL,"
    " received_ms bigint NOT NULL,"
    " share_hash bytea NOT NULL UNIQUE,"
    " share bytea NOT NULL);"
    "CREATE INDEX IF NOT EXISTS shares_to ON shares(alert_seq, to_agency);"
    /* A row is a run of n consecutive events of one agency's stream that
     * differ only in their alert: seq and alert_seq are the first's, `more`
     * holds the other n - 1 alert seqs (8-byte little-endian each). */
    "CREATE TABLE IF NOT EXISTS events("
    " agency text NOT NULL,"
    " seq bigint NOT NULL,"
    " n bigint NOT NULL DEFAULT 1,"
    " time_ms bigint NOT NULL,"
    " kind integer NOT NULL,"
    " alert_seq bigint,"
    " about text NOT NULL,"
    " detail text NOT NULL,"
    " count bigint NOT NULL,"
    " level bigint NOT NULL,"
    " receipt bytea,"
    " more bytea,"
    " PRIMARY KEY(agency, seq));"
    "CREATE TABLE IF NOT EXISTS receipts("
    " id bigint PRIMARY KEY,"
    " agency text NOT NULL,"
    " kind integer NOT NULL,"
    " created_ms bigint NOT NULL,"
    " received_ms bigint NOT NULL,"
    " receipt_hash bytea NOT NULL UNIQUE,"
    " receipt bytea NOT NULL,"
    " leaf_idx bigint);"
    "CREATE TABLE IF NOT EXISTS receipt_items("
    " alert_seq bigint NOT NULL REFERENCES alerts(seq),"
    " receipt_id bigint NOT NULL REFERENCES receipts(id),"
    " PRIMARY KEY(alert_seq, receipt_id));"
    "CREATE TABLE IF NOT EXISTS network_documents("
    " version bigint PRIMARY KEY, document bytea NOT NULL);"
    "CREATE TABLE IF NOT EXISTS rejections("
    " id bigint PRIMARY KEY,"
    " at_ms bigint NOT NULL,"
    " agency text NOT NULL,"
    " alert_id bytea,"
    " code text NOT NULL,"
    " reason text NOT NULL);"
    "CREATE TABLE IF NOT EXISTS link_tags("
    " tag bytea NOT NULL,"
    " alert_seq bigint NOT NULL REFERENCES alerts(seq),"
    " PRIMARY KEY(tag, alert_seq));"
    "CREATE INDEX IF NOT EXISTS link_tags_alert ON link_tags(alert_seq, tag);"
    /* Retention (store_retain.h). */
    "CREATE TABLE IF NOT EXISTS purges("
    " alert_seq bigint PRIMARY KEY REFERENCES alerts(seq),"
    " content_ms bigint,"
    " tags_ms bigint);"
    "CREATE TABLE IF NOT EXISTS legal_holds("
    " alert_id bytea PRIMARY KEY,"
    " held_ms bigint NOT NULL,"
    " held_by text NOT NULL,"
    " reason text NOT NULL);"
    /* A purge empties an alert's envelope and its shares' bytes through this
     * function, run with its owner's rights: the broker's role may erase
     * sealed content, never write other bytes in its place. */
    "CREATE OR REPLACE FUNCTION purge_content(a bigint) RETURNS void"
    " LANGUAGE sql SECURITY DEFINER SET search_path = vigil AS $$"
    " UPDATE vigil.alerts SET envelope = ''::bytea WHERE seq = a;"
    " UPDATE vigil.shares SET share = ''::bytea WHERE alert_seq = a $$;"
    "REVOKE ALL ON FUNCTION purge_content(bigint) FROM PUBLIC;"
    "CREATE TABLE IF NOT EXISTS audit_leaves("
    " idx bigint PRIMARY KEY,"
    " leaf bytea NOT NULL,"
    " leaf_hash bytea NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_nodes("
    " level integer NOT NULL,"
    " idx bigint NOT NULL,"
    " hash bytea NOT NULL,"
    " PRIMARY KEY(level, idx));"
    "CREATE TABLE IF NOT EXISTS audit_checkpoints("
    " size bigint PRIMARY KEY,"
    " root bytea NOT NULL,"
    " note text NOT NULL,"
    " signed_ms bigint NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_alert_leaves("
    " alert_seq bigint NOT NULL, leaf_idx bigint NOT NULL,"
    " PRIMARY KEY(alert_seq, leaf_idx));" S_COSIGNATURES_TABLE
    /* The leader epoch (docs/ha.md): 0 until brokers elect a leader. A
     * broker's write transaction starts with check_epoch(its epoch): an
     * error, raised by the server so that nothing after it in the pipeline,
     * the COMMIT included, runs; FOR SHARE holds a newer leader's bump back
     * until this transaction ends. */
    "INSERT INTO meta(key, value) VALUES ('epoch', 0) ON CONFLICT (key) DO NOTHING;"
    "CREATE OR REPLACE FUNCTION check_epoch(mine bigint) RETURNS bigint"
    " LANGUAGE plpgsql AS $$ DECLARE current bigint; BEGIN"
    " SELECT value INTO current FROM vigil.meta WHERE key = 'epoch' FOR SHARE;"
    " IF current IS DISTINCT FROM mine THEN"
    "  RAISE EXCEPTION 'fenced: this broker has epoch %, the store is at epoch %', mine, current"
    "   USING ERRCODE = '" VGB_PG_FENCED "';"
    " END IF; RETURN current; END $$;";

/* Least privilege: the broker's login role is a member of vigil_writer, which
 * may read everything and add rows, but may change only the columns the
 * broker changes (store_sqlite*.c's UPDATEs: recipients' delivery and
 * acknowledgement state, alerts.complete_ms, receipts.leaf_idx, meta.value)
 * and delete nothing: the audit tables (leaves, nodes, checkpoints,
 * alert -> leaf links) are append-only for it. vigil_reader (vigilctl report,
 * audit verify) only reads. Applied by the owner after every migration, to
 * the roles deploy/postgres/create.sql made; a database without them (a test,
 * a single-user setup) skips this. */
const char vgb_pg_grants[] =
    "DO $$ BEGIN"
    " IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" VGB_PG_READER_ROLE "') THEN"
    "  GRANT USAGE ON SCHEMA vigil TO " VGB_PG_READER_ROLE ";"
    "  GRANT SELECT ON ALL TABLES IN SCHEMA vigil TO " VGB_PG_READER_ROLE ";"
    " END IF;"
    " IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" VGB_PG_WRITER_ROLE "') THEN"
    "  GRANT USAGE ON SCHEMA vigil TO " VGB_PG_WRITER_ROLE ";"
    "  GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA vigil TO " VGB_PG_WRITER_ROLE ";"
    "  GRANT UPDATE (complete_ms) ON alerts TO " VGB_PG_WRITER_ROLE ";"
    "  GRANT UPDATE (state, delivered_ms, deadline_ms, state_ms, acked_ms, officer, note, reason,"
    "   progress_used, esc_level, overdue_ms, next_try_ms, tries) ON recipients"
    "   TO " VGB_PG_WRITER_ROLE ";"
    "  GRANT UPDATE (leaf_idx) ON receipts TO " VGB_PG_WRITER_ROLE ";"
    "  GRANT UPDATE (value) ON meta TO " VGB_PG_WRITER_ROLE ";"
    /* retention: a purge empties an alert's sealed content (purge_content
     * only), drops its link tags, records itself; a hold is put on and
     * lifted (store_retain.h) */
    "  GRANT EXECUTE ON FUNCTION purge_content(bigint) TO " VGB_PG_WRITER_ROLE ";"
    "  GRANT UPDATE (content_ms, tags_ms) ON purges TO " VGB_PG_WRITER_ROLE ";"
    "  GRANT DELETE ON link_tags, legal_holds TO " VGB_PG_WRITER_ROLE ";"
    " END IF;"
    " END $$;";

/* vgb_pg_migrations[v] takes a store from schema v to v + 1, in the same
 * transaction as the CREATE ... IF NOT EXISTS of vgb_pg_schema that follows
 * it (which adds new tables). 4 is the first PostgreSQL schema; 6 adds
 * link_tags, 7 cosignatures, 8 purges and legal_holds, new tables the
 * schema makes. */
_Static_assert(VGB_PG_SCHEMA_VERSION == VGB_STORE_SCHEMA_VERSION, "one schema numbering");
const char *const vgb_pg_migrations[VGB_PG_SCHEMA_VERSION] = {
    [4] = "ALTER TABLE recipients ADD COLUMN IF NOT EXISTS cover_for text;",
    [6] = S_COSIGNATURES_TABLE,
};

#define S_RROW_COLS                                                                                \
    "alert_seq, agency, required, state, deadline_ms, coalesce(delivered_ms, 0),"                  \
    " coalesce(acked_ms, 0), coalesce(state_ms, 0), coalesce(overdue_ms, 0), progress_used,"       \
    " esc_level, coalesce(shared_by, ''), officer, note, reason, tries, coalesce(cover_for, '')"

#define S_CP_COLS "size, root, note, signed_ms"

/* An alert as retention sees it (store_retain.h). */
#define S_RETAIN_COLS                                                                              \
    "a.seq, a.alert_id, a.status, a.categories, a.accepted_ms,"                                    \
    " coalesce(p.content_ms, 0), coalesce(p.tags_ms, 0),"                                          \
    " EXISTS (SELECT 1 FROM legal_holds h WHERE h.alert_id = a.alert_id),"                         \
    " EXISTS (SELECT 1 FROM recipients r WHERE r.alert_seq = a.seq AND r.state = 1)"

/* A receipts row for audit verify (NULL when an item names none). */
#define S_RECEIPT_COLS                                                                             \
    "r.agency, r.kind, r.created_ms, r.received_ms, r.receipt_hash, r.receipt, r.leaf_idx, r.id"

const vgb_pg_sql vgb_pg_queries[VGB_PG_N_QUERIES] = {
    [VGB_PG_Q_FIND_ALERT] = {"SELECT seq, envelope_hash FROM alerts WHERE alert_id = $1", "b"},
    [VGB_PG_Q_ENVELOPE] = {"SELECT envelope, envelope_hash FROM alerts WHERE seq = $1", "i"},
    [VGB_PG_Q_SENDER_SEQ] = {"SELECT 1 FROM alerts WHERE sender = $1 AND sender_seq = $2", "ti"},
    /* The alert and its recipients in one statement; $14 is its seq when the
     * transaction knows it already, else the largest plus one. */
    [VGB_PG_Q_INSERT_ALERT] =
        {"WITH a AS (INSERT INTO alerts(seq, alert_id, sender, sender_seq, created_ms,"
         " accepted_ms, status, msg_type, severity, urgency, categories, network_version,"
         " envelope_hash, envelope) VALUES (coalesce($14, (SELECT coalesce(max(seq), 0) + 1"
         " FROM alerts)), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
         " RETURNING seq),"
         " r AS (INSERT INTO recipients(alert_seq, agency, pos, required, state, deadline_ms,"
         " cover_for) SELECT a.seq, x.agency, x.pos::integer, x.req, 1, x.deadline,"
         " nullif(x.cover, '') FROM a, unnest($15::text[], $16::boolean[], $17::bigint[],"
         " $18::text[]) WITH ORDINALITY AS x(agency, req, deadline, cover, pos))"
         " SELECT seq FROM a",
         "btiiinnnntibbiTOIT"},
    [VGB_PG_Q_FIND_FOR] = {"SELECT a.seq, a.envelope_hash, r.state IS NOT NULL FROM alerts a"
                           " LEFT JOIN recipients r ON r.alert_seq = a.seq AND r.agency = $2"
                           " WHERE a.alert_id = $1",
                           "bt"},
    [VGB_PG_Q_MARK_DELIVERED] = {"UPDATE recipients SET state = 2, delivered_ms = $3"
                                 " WHERE alert_seq = $1 AND agency = $2 AND state = 1",
                                 "iti"},
    /* The receipt once (by hash), and its items once each. */
    [VGB_PG_Q_INSERT_RECEIPT] =
        {"WITH ins AS (INSERT INTO receipts(id, agency, kind, created_ms, received_ms,"
         " receipt_hash, receipt) SELECT coalesce(max(id), 0) + 1, $1, $2, $3, $4, $5, $6"
         " FROM receipts ON CONFLICT (receipt_hash) DO NOTHING RETURNING id),"
         " rid AS (SELECT id FROM ins UNION ALL SELECT id FROM receipts WHERE receipt_hash = $5)"
         " INSERT INTO receipt_items(alert_seq, receipt_id)"
         " SELECT DISTINCT s, (SELECT id FROM rid LIMIT 1) FROM unnest($7::bigint[]) AS s"
         " ON CONFLICT DO NOTHING",
         "tniibbI"},
    [VGB_PG_Q_RECEIPT_LEAF] = {"UPDATE receipts SET leaf_idx = $2"
                               " WHERE receipt_hash = $1 AND leaf_idx IS NULL",
                               "bi"},
    [VGB_PG_Q_INSERT_REJECTION] = {"INSERT INTO rejections(id, at_ms, agency, alert_id, code,"
                                   " reason) SELECT coalesce(max(id), 0) + 1, $1, $2, $3, $4, $5"
                                   " FROM rejections",
                                   "itbtt"},
    [VGB_PG_Q_PENDING] = {"SELECT alert_seq FROM recipients WHERE agency = $1 AND state = 1"
                          " AND next_try_ms <= $2 ORDER BY next_try_ms, alert_seq LIMIT $3",
                          "tii"},
    [VGB_PG_Q_PARK] = {"UPDATE recipients SET next_try_ms = $3 + least($4 << least(tries, 40), $5),"
                       " tries = tries + 1 WHERE alert_seq = $1 AND agency = $2 AND state = 1"
                       " RETURNING next_try_ms",
                       "itiii"},
    [VGB_PG_Q_NEXT_TRY] = {"SELECT coalesce(min(next_try_ms), 0) FROM recipients"
                           " WHERE agency = $1 AND state = 1 AND next_try_ms > $2",
                           "ti"},
    [VGB_PG_Q_COUNT_PENDING] = {"SELECT count(*) FROM recipients WHERE agency = $1 AND state = 1",
                                "t"},
    [VGB_PG_Q_COUNT_ALERTS] = {"SELECT count(*) FROM alerts", ""},
    [VGB_PG_Q_NETWORK_VERSION] = {"SELECT value FROM meta WHERE key = 'network_version'", ""},
    [VGB_PG_Q_SET_NETWORK_VERSION] = {"INSERT INTO meta(key, value) VALUES ('network_version', $1)"
                                      " ON CONFLICT (key) DO UPDATE"
                                      " SET value = greatest(meta.value, excluded.value)",
                                      "i"},
    [VGB_PG_Q_ADD_NETDOC] = {"INSERT INTO network_documents(version, document) VALUES ($1, $2)"
                             " ON CONFLICT (version) DO NOTHING",
                             "ib"},
    [VGB_PG_Q_NETDOCS] = {"SELECT version, document FROM network_documents ORDER BY version", ""},
    [VGB_PG_Q_SENDER_BYTES] = {"SELECT accepted_ms / $3, sum(octet_length(envelope))::bigint"
                               " FROM alerts WHERE sender = $1 AND accepted_ms > $2"
                               " GROUP BY 1 ORDER BY 1",
                               "tii"},
    [VGB_PG_Q_ALERT_META] = {"SELECT seq, alert_id, sender, created_ms, accepted_ms, severity,"
                             " urgency, status, msg_type, categories, coalesce(complete_ms, 0)"
                             " FROM alerts WHERE seq = $1",
                             "i"},
    [VGB_PG_Q_RROW] = {"SELECT " S_RROW_COLS
                       " FROM recipients WHERE alert_seq = $1 AND agency = $2",
                       "it"},
    [VGB_PG_Q_RECIPIENTS_OF] = {"SELECT " S_RROW_COLS
                                " FROM recipients WHERE alert_seq = $1 ORDER BY pos",
                                "i"},
    /* The first three terms are the partial index recipients_deadline's own. */
    [VGB_PG_Q_OPEN_ROWS] = {"SELECT " S_RROW_COLS " FROM recipients"
                            " WHERE required AND state <> 3 AND deadline_ms > 0"
                            " AND deadline_ms > $2 AND deadline_ms <= $3 AND esc_level <= $1"
                            " ORDER BY deadline_ms LIMIT $4",
                            "iiii"},
    [VGB_PG_Q_APPLY_RECEIPT] = {"UPDATE recipients SET state = $3, state_ms = $4,"
                                " acked_ms = CASE WHEN $3 = 3 THEN $4 ELSE acked_ms END,"
                                " delivered_ms = CASE WHEN $3 = 6 THEN delivered_ms"
                                " ELSE coalesce(delivered_ms, $4) END,"
                                " officer = coalesce($5, officer), note = coalesce($6, note),"
                                " reason = coalesce($7, reason),"
                                " progress_used = progress_used OR $3 = 4, deadline_ms = $8"
                                " WHERE alert_seq = $1 AND agency = $2",
                                "itnittti"},
    [VGB_PG_Q_SET_ESCALATION] = {"UPDATE recipients SET esc_level = $3, overdue_ms = CASE"
                                 " WHEN $3 >= 1 AND overdue_ms IS NULL THEN $4 ELSE overdue_ms END"
                                 " WHERE alert_seq = $1 AND agency = $2",
                                 "itii"},
    /* Nothing (not an error) when the alert is unknown or agency is a
     * recipient already: the caller learns VG_ERR_CONFLICT and the
     * transaction stays usable, as on SQLite. */
    [VGB_PG_Q_ADD_RECIPIENT] = {"INSERT INTO recipients(alert_seq, agency, pos, required, state,"
                                " deadline_ms, shared_by) SELECT $1, $2, coalesce(max(pos), 0) + 1,"
                                " true, 1, $3, $4 FROM recipients WHERE alert_seq = $1"
                                " HAVING EXISTS (SELECT 1 FROM alerts WHERE seq = $1)"
                                " ON CONFLICT (alert_seq, agency) DO NOTHING",
                                "itit"},
    [VGB_PG_Q_INSERT_SHARE] = {"INSERT INTO shares(id, alert_seq, sharer, to_agency, received_ms,"
                               " share_hash, share) SELECT coalesce(max(id), 0) + 1, $1, $2, $3,"
                               " $4, $5, $6 FROM shares"
                               " HAVING EXISTS (SELECT 1 FROM alerts WHERE seq = $1)"
                               " ON CONFLICT (share_hash) DO NOTHING",
                               "ittibb"},
    [VGB_PG_Q_SHARES_TO] = {"SELECT share FROM shares WHERE alert_seq = $1 AND to_agency = $2"
                            " ORDER BY id",
                            "it"},
    [VGB_PG_Q_CHECK_COMPLETE] = {"UPDATE alerts SET complete_ms = $2 WHERE seq = $1"
                                 " AND complete_ms IS NULL AND NOT EXISTS (SELECT 1 FROM"
                                 " recipients WHERE alert_seq = $1 AND required AND state <> 3)",
                                 "ii"},
    [VGB_PG_Q_LAST_EVENT] = {"SELECT seq + n - 1 FROM events WHERE agency = $1"
                             " ORDER BY seq DESC LIMIT 1",
                             "t"},
    [VGB_PG_Q_INSERT_EVENTS] = {"INSERT INTO events(agency, seq, n, time_ms, kind, alert_seq,"
                                " about, detail, count, level, receipt, more)"
                                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                                "tiiinittiibb"},
    /* From the run that holds event after + 1 on; rows hold one event or more. */
    [VGB_PG_Q_EVENTS_AFTER] = {"SELECT seq, n, time_ms, kind, coalesce(alert_seq, 0), about,"
                               " detail, count, level, receipt, more FROM events"
                               " WHERE agency = $1 AND seq >= (SELECT coalesce(max(seq), 0)"
                               " FROM events WHERE agency = $1 AND seq <= $2 + 1)"
                               " ORDER BY seq LIMIT $3",
                               "tii"},
    [VGB_PG_Q_OUTSTANDING_ALL] = {"SELECT seq FROM alerts WHERE complete_ms IS NULL AND seq > $2"
                                  " ORDER BY seq LIMIT $1",
                                  "ii"},
    [VGB_PG_Q_OUTSTANDING_AGENCY] = {"SELECT seq FROM alerts WHERE complete_ms IS NULL"
                                     " AND seq > $3 AND (sender = $1 OR seq IN (SELECT alert_seq"
                                     " FROM recipients WHERE agency = $1 AND required"
                                     " AND state <> 3)) ORDER BY seq LIMIT $2",
                                     "tii"},
    /* A DELIVERED receipt's leaf is found through the receipt (receipts.leaf_idx). */
    [VGB_PG_Q_ALERT_LEAVES] = {"SELECT leaf_idx FROM audit_alert_leaves WHERE alert_seq = $1"
                               " UNION SELECT r.leaf_idx FROM receipt_items i JOIN receipts r"
                               " ON r.id = i.receipt_id WHERE i.alert_seq = $1"
                               " AND r.leaf_idx IS NOT NULL ORDER BY 1",
                               "i"},
    [VGB_PG_Q_COUNT_WAITING] = {"SELECT count(*) FROM (SELECT 1 FROM recipients WHERE agency = $1"
                                " AND state = 1 AND required LIMIT $2) w",
                                "ti"},
    /* vgb_store_shift_times: the rows recipients_deadline holds, and the
     * parked deliveries. */
    [VGB_PG_Q_SHIFT_DEADLINES] = {"UPDATE recipients SET deadline_ms = deadline_ms + $1"
                                  " WHERE required AND state <> 3 AND deadline_ms > 0",
                                  "i"},
    [VGB_PG_Q_SHIFT_TRIES] = {"UPDATE recipients SET next_try_ms = next_try_ms + $1"
                              " WHERE state = 1 AND next_try_ms > 0",
                              "i"},
    [VGB_PG_Q_AUDIT_SIZE] = {"SELECT idx + 1 FROM audit_leaves ORDER BY idx DESC LIMIT 1", ""},
    [VGB_PG_Q_AUDIT_LEAF_HASH] = {"SELECT leaf_hash FROM audit_leaves WHERE idx = $1", "i"},
    [VGB_PG_Q_AUDIT_NODE] = {"SELECT hash FROM audit_nodes WHERE level = $2 AND idx = $1", "in"},
    [VGB_PG_Q_AUDIT_LEAF] = {"SELECT leaf FROM audit_leaves WHERE idx = $1", "i"},
    /* One statement, so all or none of it. */
    [VGB_PG_Q_AUDIT_APPEND] = {"WITH l AS (INSERT INTO audit_leaves(idx, leaf, leaf_hash)"
                               " VALUES ($1, $2, $3)) INSERT INTO audit_nodes(level, idx, hash)"
                               " SELECT * FROM unnest($4::integer[], $5::bigint[], $6::bytea[])",
                               "ibbNIB"},
    [VGB_PG_Q_AUDIT_ADD_CHECKPOINT] = {"INSERT INTO audit_checkpoints(size, root, note, signed_ms)"
                                       " VALUES ($1, $2, $3, $4)",
                                       "ibti"},
    [VGB_PG_Q_AUDIT_LATEST_CHECKPOINT] = {"SELECT " S_CP_COLS " FROM audit_checkpoints"
                                          " ORDER BY size DESC LIMIT 1",
                                          ""},
    [VGB_PG_Q_AUDIT_CHECKPOINTS] = {"SELECT " S_CP_COLS " FROM audit_checkpoints"
                                    " WHERE size > $1 ORDER BY size LIMIT $2",
                                    "ii"},
    [VGB_PG_Q_AUDIT_CHECKPOINT_AT] = {"SELECT " S_CP_COLS " FROM audit_checkpoints"
                                      " WHERE size = $1",
                                      "i"},
    [VGB_PG_Q_ADD_COSIGNATURE] = {"INSERT INTO cosignatures(size, agency, line, time_s,"
                                  " received_ms) VALUES ($1, $2, $3, $4, $5)"
                                  " ON CONFLICT (size, agency) DO NOTHING",
                                  "ittii"},
    [VGB_PG_Q_COSIGNATURES] = {"SELECT size, agency, line, time_s, received_ms FROM cosignatures"
                               " WHERE size >= $1 ORDER BY size, agency",
                               "i"},
    [VGB_PG_Q_AUDIT_LEAVES] = {"SELECT idx, leaf, leaf_hash FROM audit_leaves WHERE idx > $1"
                               " ORDER BY idx LIMIT $2",
                               "ii"},
    [VGB_PG_Q_AUDIT_NODES_BEYOND] = {"SELECT EXISTS (SELECT 1 FROM audit_nodes"
                                     " WHERE ((idx + 1) << level) > $1)",
                                     "i"},
    [VGB_PG_Q_LINK_LEAF] = {"INSERT INTO audit_alert_leaves(alert_seq, leaf_idx) VALUES ($1, $2)"
                            " ON CONFLICT DO NOTHING",
                            "ii"},
    [VGB_PG_Q_ADD_LINK_TAGS] = {"INSERT INTO link_tags(tag, alert_seq)"
                                " SELECT DISTINCT t, $1 FROM unnest($2::bytea[]) AS t"
                                " ON CONFLICT DO NOTHING",
                                "iB"},
    [VGB_PG_Q_LINKED_EARLIER] = {"SELECT DISTINCT b.alert_seq FROM link_tags a"
                                 " JOIN link_tags b ON b.tag = a.tag"
                                 " WHERE a.alert_seq = $1 AND b.alert_seq < $1"
                                 " ORDER BY b.alert_seq LIMIT $2",
                                 "ii"},
    [VGB_PG_Q_LINK_PAIRS] = {"SELECT DISTINCT a.alert_seq, b.alert_seq FROM link_tags a"
                             " JOIN link_tags b ON b.tag = a.tag AND b.alert_seq < a.alert_seq"
                             " WHERE (a.alert_seq, b.alert_seq) > ($1, $2)"
                             " ORDER BY a.alert_seq, b.alert_seq LIMIT $3",
                             "iii"},
    [VGB_PG_Q_LINK_TAGS_OF] = {"SELECT tag FROM link_tags WHERE alert_seq = $1 ORDER BY tag", "i"},
    [VGB_PG_Q_TAGGED] = {"SELECT DISTINCT alert_seq FROM link_tags WHERE tag = ANY($1::bytea[])"
                         " ORDER BY alert_seq LIMIT $2",
                         "Bi"},
    [VGB_PG_Q_COUNT_LINK_TAGS] = {"SELECT count(*) FROM link_tags WHERE $1::text IS NULL", "t"},
    [VGB_PG_Q_RETAIN_CANDIDATES] = {"SELECT " S_RETAIN_COLS " FROM alerts a"
                                    " LEFT JOIN purges p ON p.alert_seq = a.seq"
                                    " WHERE a.seq > $1 AND a.accepted_ms < $2"
                                    " AND (p.content_ms IS NULL OR p.tags_ms IS NULL)"
                                    " ORDER BY a.seq LIMIT $3",
                                    "iii"},
    [VGB_PG_Q_RETAIN_STATE] = {"SELECT " S_RETAIN_COLS " FROM alerts a"
                               " LEFT JOIN purges p ON p.alert_seq = a.seq WHERE a.seq = $1",
                               "i"},
    [VGB_PG_Q_PURGE_ROW] = {"INSERT INTO purges(alert_seq) VALUES ($1) ON CONFLICT DO NOTHING",
                            "i"},
    [VGB_PG_Q_PURGE_CONTENT] = {"SELECT purge_content($1)", "i"},
    [VGB_PG_Q_PURGE_CONTENT_AT] = {"UPDATE purges SET content_ms = $2"
                                   " WHERE alert_seq = $1 AND content_ms IS NULL",
                                   "ii"},
    [VGB_PG_Q_PURGE_TAGS] = {"DELETE FROM link_tags WHERE alert_seq = $1", "i"},
    [VGB_PG_Q_PURGE_TAGS_AT] = {"UPDATE purges SET tags_ms = $2"
                                " WHERE alert_seq = $1 AND tags_ms IS NULL",
                                "ii"},
    [VGB_PG_Q_HOLD_ADD] = {"INSERT INTO legal_holds(alert_id, held_ms, held_by, reason)"
                           " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                           "bitt"},
    [VGB_PG_Q_HOLD_GET] = {"SELECT alert_id, held_ms, held_by, reason FROM legal_holds"
                           " WHERE alert_id = $1",
                           "b"},
    [VGB_PG_Q_HOLD_DELETE] = {"DELETE FROM legal_holds WHERE alert_id = $1", "b"},
    [VGB_PG_Q_HOLDS] = {"SELECT alert_id, held_ms, held_by, reason FROM legal_holds"
                        " ORDER BY alert_id",
                        ""},
    [VGB_PG_Q_ALERT_IDS] = {"SELECT seq, alert_id FROM alerts WHERE seq > $1 ORDER BY seq"
                            " LIMIT $2",
                            "ii"},
    [VGB_PG_Q_ALERT_BY_ID] = {"SELECT seq, envelope_hash, network_version FROM alerts"
                              " WHERE alert_id = $1",
                              "b"},
    [VGB_PG_Q_RECEIPT_NAMES] = {"SELECT EXISTS (SELECT 1 FROM receipts r JOIN receipt_items i"
                                " ON i.receipt_id = r.id WHERE r.receipt_hash = $1"
                                " AND r.agency = $2 AND i.alert_seq = $3)",
                                "bti"},
    [VGB_PG_Q_SHARE_EXISTS] = {"SELECT EXISTS (SELECT 1 FROM shares WHERE alert_seq = $1"
                               " AND share_hash = $2 AND sharer = $3)",
                               "ibt"},
    /* A page of rows after the key ($2, $3, $4) = (accepted_ms, seq, pos). */
    [VGB_PG_Q_REQUIRED_ROWS] =
        {"SELECT a.seq, a.alert_id, a.sender, a.created_ms, a.accepted_ms, a.severity, a.urgency,"
         " a.status, a.msg_type, a.categories, coalesce(a.complete_ms, 0),"
         " r.agency, r.state, r.deadline_ms, coalesce(r.delivered_ms, 0),"
         " coalesce(r.acked_ms, 0), coalesce(r.state_ms, 0), coalesce(r.overdue_ms, 0),"
         " r.progress_used, r.esc_level, coalesce(r.shared_by, ''), coalesce(r.officer, ''),"
         " coalesce(r.reason, ''),"
         " CASE WHEN r.shared_by IS NULL THEN a.accepted_ms ELSE coalesce((SELECT"
         " min(s.received_ms) FROM shares s WHERE s.alert_seq = r.alert_seq"
         " AND s.to_agency = r.agency), a.accepted_ms) END, r.pos, coalesce(r.cover_for, '')"
         " FROM recipients r JOIN alerts a ON a.seq = r.alert_seq"
         " WHERE r.required AND a.accepted_ms >= $1 AND (a.accepted_ms, a.seq, r.pos) > ($2, $3, "
         "$4)"
         " ORDER BY a.accepted_ms, a.seq, r.pos LIMIT $5",
         "iiini"},
    /* Counts: all rows when $1 is NULL, else those the filter names. */
    [VGB_PG_Q_COUNT_ALERTS_BY] = {"SELECT count(*) FROM alerts WHERE $1::text IS NULL"
                                  " OR sender = $1",
                                  "t"},
    [VGB_PG_Q_COUNT_RECIPIENTS] = {"SELECT count(*) FROM recipients WHERE $1::text IS NULL"
                                   " OR agency = $1",
                                   "t"},
    [VGB_PG_Q_COUNT_DELIVERED] = {"SELECT count(*) FROM recipients WHERE delivered_ms IS NOT NULL"
                                  " AND ($1::text IS NULL OR agency = $1)",
                                  "t"},
    [VGB_PG_Q_COUNT_ACKNOWLEDGED] = {"SELECT count(*) FROM recipients WHERE state = 3"
                                     " AND ($1::text IS NULL OR agency = $1)",
                                     "t"},
    [VGB_PG_Q_COUNT_OVERDUE] = {"SELECT count(*) FROM recipients WHERE overdue_ms IS NOT NULL"
                                " AND ($1::text IS NULL OR agency = $1)",
                                "t"},
    [VGB_PG_Q_COUNT_RECEIPTS] = {"SELECT count(*) FROM receipts WHERE $1::text IS NULL"
                                 " OR agency = $1",
                                 "t"},
    [VGB_PG_Q_COUNT_SHARES] = {"SELECT count(*) FROM shares WHERE $1::text IS NULL OR sharer = $1",
                               "t"},
    [VGB_PG_Q_COUNT_REJECTIONS] = {"SELECT count(*) FROM rejections WHERE $1::text IS NULL"
                                   " OR agency = $1",
                                   "t"},
    [VGB_PG_Q_COUNT_REJECTION_CODE] = {"SELECT count(*) FROM rejections WHERE $1::text IS NULL"
                                       " OR code = $1",
                                       "t"},
    [VGB_PG_Q_COUNT_EVENTS] = {"SELECT coalesce(sum(n), 0)::bigint FROM events"
                               " WHERE $1::text IS NULL OR agency = $1",
                               "t"},
    [VGB_PG_Q_COUNT_LEAVES] = {"SELECT count(*) FROM audit_leaves WHERE $1::text IS NULL"
                               " OR position(convert_to($1, 'UTF8') IN leaf) > 0",
                               "t"},
    [VGB_PG_Q_COUNT_CHECKPOINTS] = {"SELECT count(*) FROM audit_checkpoints"
                                    " WHERE $1::text IS NULL",
                                    "t"},
    [VGB_PG_Q_COUNT_PENDING_ANY] = {"SELECT count(*) FROM recipients WHERE state = 1"
                                    " AND ($1::text IS NULL OR agency = $1)",
                                    "t"},
    [VGB_PG_Q_COUNT_EVENT_RUNS] = {"SELECT count(*) FROM events WHERE $1::text IS NULL"
                                   " OR agency = $1",
                                   "t"},
    [VGB_PG_Q_COUNT_REJECTIONS_OF] = {"SELECT count(*) FROM rejections WHERE $1::text IS NULL"
                                      " OR agency || '/' || code = $1",
                                      "t"},
    [VGB_PG_Q_COUNT_RECEIPT_ITEMS] = {"SELECT count(*) FROM receipt_items WHERE $1::text IS NULL",
                                      "t"},
    [VGB_PG_Q_COUNT_LEAF_LINKS] = {"SELECT count(*) FROM audit_alert_leaves"
                                   " WHERE $1::text IS NULL",
                                   "t"},
    [VGB_PG_Q_COUNT_NODES] = {"SELECT count(*) FROM audit_nodes WHERE $1::text IS NULL", "t"},
    [VGB_PG_Q_COUNT_PURGES] = {"SELECT count(*) FROM purges WHERE $1::text IS NULL", "t"},
    [VGB_PG_Q_COUNT_HOLDS] = {"SELECT count(*) FROM legal_holds WHERE $1::text IS NULL", "t"},
    /* The write transaction's id: after a commit in doubt, txid_status says
     * what became of it. */
    [VGB_PG_Q_XACT_ID] = {"SELECT txid_current()", ""},
    /* Fencing (docs/ha.md): see check_epoch in vgb_pg_schema. */
    [VGB_PG_Q_EPOCH_CHECK] = {"SELECT check_epoch($1)", "i"},
    /* what audit verify reads: every row as stored, in key order */
    [VGB_PG_Q_ALERTS_AFTER] = {"SELECT seq, alert_id, sender, sender_seq, created_ms,"
                               " accepted_ms, status, msg_type, severity, urgency, categories,"
                               " network_version, envelope_hash, envelope,"
                               " coalesce(complete_ms, 0) FROM alerts WHERE seq > $1"
                               " ORDER BY seq LIMIT $2",
                               "ii"},
    [VGB_PG_Q_RECEIPTS_OF] = {"SELECT i.receipt_id, " S_RECEIPT_COLS " FROM receipt_items i"
                              " LEFT JOIN receipts r ON r.id = i.receipt_id"
                              " WHERE i.alert_seq = $1 ORDER BY i.receipt_id",
                              "i"},
    [VGB_PG_Q_RECEIPT_BY_HASH] = {"SELECT r.id, " S_RECEIPT_COLS
                                  " FROM receipts r WHERE r.receipt_hash = $1",
                                  "b"},
    [VGB_PG_Q_SHARES_OF] = {"SELECT id, sharer, to_agency, received_ms, share_hash, share"
                            " FROM shares WHERE alert_seq = $1 ORDER BY id",
                            "i"},
    [VGB_PG_Q_ALERT_LEAF_LINKS] = {"SELECT leaf_idx, 0::bigint FROM audit_alert_leaves"
                                   " WHERE alert_seq = $1 UNION ALL SELECT r.leaf_idx, r.id"
                                   " FROM receipt_items i JOIN receipts r ON r.id = i.receipt_id"
                                   " WHERE i.alert_seq = $1 AND r.leaf_idx IS NOT NULL"
                                   " ORDER BY 1, 2",
                                   "i"},
    [VGB_PG_Q_REJECTIONS_AFTER] = {"SELECT id, at_ms, agency, alert_id, code, reason"
                                   " FROM rejections WHERE id > $1 ORDER BY id LIMIT $2",
                                   "ii"},
    [VGB_PG_Q_EVENT_RUNS] = {"SELECT seq, n, time_ms, kind, coalesce(alert_seq, 0), about,"
                             " detail, count, level, receipt, more FROM events"
                             " WHERE agency = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                             "tii"},
};
