-- deploy/postgres/create.sql — the database and roles of a vigil
-- PostgreSQL store (docs/ha.md). Run once, on the primary, as a superuser
-- (or a role with CREATEROLE and CREATEDB):
--
--     psql -X -v ON_ERROR_STOP=1 -d postgres -f deploy/postgres/create.sql
--     psql -X -v ON_ERROR_STOP=1 -d postgres -v db=vigil_north -f create.sql
--
-- Safe to run again: what exists is left as it is. It makes
--
--   vigil_owner   LOGIN  owns the database, the schema `vigil` and every
--                        table; runs vigil-pg-migrate. Keep its credentials
--                        off the broker machines.
--   vigil_writer  group  what the broker may do: read everything, add rows,
--                        change only the columns the broker changes (delivery
--                        and acknowledgement state), never delete, and never
--                        change a row of the audit tables (audit_leaves,
--                        audit_nodes, audit_checkpoints, audit_alert_leaves).
--                        The grants themselves are made by vigil-pg-migrate
--                        (broker/store_pg_sql.c), table by table, after each
--                        migration.
--   vigil_reader  group  read only (vigilctl report, audit verify/export).
--   vigil_broker  LOGIN  member of vigil_writer: the role in broker.conf's dsn.
--   vigil_audit   LOGIN  member of vigil_reader: for vigilctl --dsn.
--
-- The login roles get no password here: set one (ALTER ROLE vigil_broker
-- PASSWORD '...', or \password) and keep it in the broker's ~/.pgpass or
-- the passfile= of its DSN, or authenticate by client certificate in
-- pg_hba.conf (hostssl ... cert). Then, as vigil_owner:
--
--     vigil-pg-migrate 'host=db1,db2 dbname=vigil user=vigil_owner target_session_attrs=read-write'

\if :{?db}
\else
\set db vigil
\endif

SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vigil_owner') AS make_owner,
       NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vigil_writer') AS make_writer,
       NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vigil_reader') AS make_reader,
       NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vigil_broker') AS make_broker,
       NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vigil_audit') AS make_audit,
       NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') AS make_db
\gset

\if :make_owner
CREATE ROLE vigil_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
\endif
\if :make_writer
CREATE ROLE vigil_writer NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
\endif
\if :make_reader
CREATE ROLE vigil_reader NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
\endif
\if :make_broker
CREATE ROLE vigil_broker LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
  IN ROLE vigil_writer;
\endif
\if :make_audit
CREATE ROLE vigil_audit LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
  IN ROLE vigil_reader;
\endif
\if :make_db
-- UTF8: text columns hold agency ids, officers' names and notes.
CREATE DATABASE :"db" OWNER vigil_owner ENCODING 'UTF8' TEMPLATE template0;
\endif

\connect :"db"
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO vigil_writer, vigil_reader;
-- Nobody but the owner creates anything in this database.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SET ROLE vigil_owner;
CREATE SCHEMA IF NOT EXISTS vigil AUTHORIZATION vigil_owner;
GRANT USAGE ON SCHEMA vigil TO vigil_writer, vigil_reader;
RESET ROLE;
