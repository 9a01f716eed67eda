-- pg_unlearn 0.6.0 -> 0.7.0. Every object added or changed here is also in
-- pg_unlearn--0.7.0.sql, the complete script for this version; sql/upgrade.sql
-- checks that both give the same definitions.
\echo Use "ALTER EXTENSION pg_unlearn UPDATE TO '0.7.0'" to load this file. \quit

-- A model never stalls its table (issue 15) ----------------------------------

-- The database's worker lock for this session (tests, maintenance): while a
-- session holds it no background worker works in the database. Its lock
-- kind is one SQL's pg_advisory_lock cannot take, and only superusers may
-- call these: a role that could take it would stop every catch-up.
CREATE FUNCTION unlearn.hold_worker() RETURNS void
AS 'MODULE_PATHNAME', 'unlearn_hold_worker'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
CREATE FUNCTION unlearn.release_worker() RETURNS bool
AS 'MODULE_PATHNAME', 'unlearn_release_worker'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION unlearn.hold_worker() FROM PUBLIC;
REVOKE ALL ON FUNCTION unlearn.release_worker() FROM PUBLIC;
COMMENT ON FUNCTION unlearn.hold_worker() IS 'take the database''s background-worker lock for the session (waits while a worker works): no catch-up runs until release_worker or the session ends';
COMMENT ON FUNCTION unlearn.release_worker() IS 'let go of the database''s background-worker lock taken by hold_worker; false when the session did not hold it';

-- Lineage blocks stay in their heap rows (see pg_unlearn--0.7.0.sql); blocks
-- already moved to TOAST come back the next time they are written.
ALTER TABLE unlearn.lineage_blocks SET (toast_tuple_target = 8160);
