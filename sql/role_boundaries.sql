-- What one role can do to, or learn from, a model over another role's table.
--
-- 1. Code pg_unlearn runs as a table's owner (a policy, an index expression, a
-- function met while it reads rows by key) must not change a modelled table
-- in the middle of a model's change: the change holds lineage and states it
-- read before, and writing them back would undo the nested change (a
-- deleted row's key would stay in lineage). The nested change is refused,
-- and the statement with it: nothing is half forgotten.
CREATE ROLE unlearn_oc;
CREATE SCHEMA oc AUTHORIZATION unlearn_oc;
SET ROLE unlearn_oc;
CREATE TABLE oc.s (id int PRIMARY KEY, x float8, y float8);
INSERT INTO oc.s SELECT i, (i % 17)::float8, (i % 17) * 0.5 + (i % 5) FROM generate_series(1, 400) i;
CREATE TABLE oc.victim (id int);
-- deletes the victim row, only inside pg_unlearn's read (its search_path is pinned)
CREATE FUNCTION oc.sneak(int) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE v int;
BEGIN
    IF current_setting('search_path') = 'pg_catalog, pg_temp' THEN
        DELETE FROM oc.victim RETURNING id INTO v;
        IF v IS NOT NULL THEN DELETE FROM oc.s WHERE id = v; END IF;
    END IF;
    RETURN true;
END $$;
RESET ROLE;
-- holdout rows are read by key for the DELETE's audit figures, as the owner
SELECT rows_trained FROM unlearn.train('oc_ridge', 'oc.s', 'y', ARRAY['x'], 'ridge', 'incremental', 1,
                                       options => '{"holdout": 0.3}');
CREATE TEMP TABLE pick AS
SELECT min(key::int) AS k, max(key::int) AS v FROM unlearn.lineage WHERE model = 'oc_ridge' AND role = 'train';
GRANT SELECT ON pick TO unlearn_oc;
SET ROLE unlearn_oc;
INSERT INTO oc.victim SELECT v FROM pick;
ALTER TABLE oc.s ENABLE ROW LEVEL SECURITY;
ALTER TABLE oc.s FORCE ROW LEVEL SECURITY;
CREATE POLICY p ON oc.s USING (oc.sneak(id));
\set VERBOSITY default
DELETE FROM oc.s WHERE id = (SELECT k FROM pick);
\set VERBOSITY terse
RESET ROLE;
-- both rows are still in the table and in the model, which a retrain matches
SELECT (SELECT count(*) FROM oc.s WHERE id IN (k, v)) AS rows_in_table,
       unlearn.trained_on('oc_ridge', k::text) AS holds_k, unlearn.trained_on('oc_ridge', v::text) AS holds_v
FROM pick;
SELECT count(*) AS failed_checks FROM unlearn.verify('oc_ridge') WHERE NOT passed;
-- nor may that code change a model (the table's owner may resync one, but
-- not under a change that holds the model's state and lineage)
GRANT USAGE ON SCHEMA unlearn TO unlearn_oc;
GRANT SELECT ON ALL TABLES IN SCHEMA unlearn TO unlearn_oc;
SET ROLE unlearn_oc;
CREATE FUNCTION oc.sneak_resync(int) RETURNS bool LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('search_path') = 'pg_catalog, pg_temp' THEN PERFORM unlearn.resync('oc_ridge'); END IF;
    RETURN true;
END $$;
DROP POLICY p ON oc.s;
CREATE POLICY p ON oc.s USING (oc.sneak_resync(id));
\set VERBOSITY default
DELETE FROM oc.s WHERE id = (SELECT k FROM pick);
\set VERBOSITY terse
RESET ROLE;
SELECT count(*) AS failed_checks FROM unlearn.verify('oc_ridge') WHERE NOT passed;
REVOKE ALL ON ALL TABLES IN SCHEMA unlearn FROM unlearn_oc;
REVOKE ALL ON SCHEMA unlearn FROM unlearn_oc;
-- outside pg_unlearn's read the same DELETE goes through, and both leave
SET ROLE unlearn_oc;
DROP POLICY p ON oc.s;
ALTER TABLE oc.s NO FORCE ROW LEVEL SECURITY;
ALTER TABLE oc.s DISABLE ROW LEVEL SECURITY;
DELETE FROM oc.s WHERE id IN (SELECT k FROM pick UNION ALL SELECT v FROM pick);
RESET ROLE;
SELECT unlearn.trained_on('oc_ridge', k::text) AS holds_k, unlearn.trained_on('oc_ridge', v::text) AS holds_v
FROM pick;
SELECT count(*) AS failed_checks FROM unlearn.verify('oc_ridge') WHERE NOT passed;
-- 2. unlearn.lineage_entries, under the unlearn.lineage view, shows a
-- model's keys only to a reader who may read the model (SELECT on its key,
-- target and features), as the view does: called directly it is no way
-- around the view's filter.
CREATE ROLE unlearn_oc_reader;
GRANT USAGE ON SCHEMA unlearn TO unlearn_oc_reader;
GRANT SELECT ON unlearn.models, unlearn.lineage TO unlearn_oc_reader;  -- not lineage_blocks: every model's keys
SELECT model_id AS oc_ridge_id FROM unlearn.models WHERE name = 'oc_ridge' \gset
SET ROLE unlearn_oc_reader;
SELECT count(*) AS keys_listed FROM unlearn.lineage_entries(:oc_ridge_id);
SELECT count(*) AS keys_in_view FROM unlearn.lineage WHERE model = 'oc_ridge';
RESET ROLE;
GRANT USAGE ON SCHEMA oc TO unlearn_oc_reader;
GRANT SELECT (id) ON oc.s TO unlearn_oc_reader;
SET ROLE unlearn_oc_reader;
-- the key alone is not the model: its target and features are read too
SELECT count(*) AS keys_listed FROM unlearn.lineage_entries(:oc_ridge_id);
RESET ROLE;
GRANT SELECT ON oc.s TO unlearn_oc_reader;
SET ROLE unlearn_oc_reader;
SELECT count(*) AS keys_listed FROM unlearn.lineage_entries(:oc_ridge_id);
SELECT count(*) AS keys_in_view FROM unlearn.lineage WHERE model = 'oc_ridge';
RESET ROLE;
REVOKE ALL ON unlearn.models, unlearn.lineage FROM unlearn_oc_reader;
REVOKE ALL ON SCHEMA unlearn FROM unlearn_oc_reader;
REVOKE ALL ON oc.s FROM unlearn_oc_reader;
REVOKE ALL ON SCHEMA oc FROM unlearn_oc_reader;
DROP ROLE unlearn_oc_reader;
-- 3. A model row names the table and columns pg_unlearn reads for it (the
-- background worker and the event triggers, as the extension's owner): a
-- role given training's grants on the unlearn tables cannot point a model
-- at columns it may not read, by UPDATE or by a forged row.
CREATE TABLE oc_secret (id int PRIMARY KEY, salary float8, y float8);
INSERT INTO oc_secret VALUES (1, 123456.78, 1), (2, 98765.43, 2);
GRANT USAGE ON SCHEMA unlearn TO unlearn_oc;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA unlearn TO unlearn_oc;
SET ROLE unlearn_oc;
-- (since 0.7.0 the row-level security of the extension's tables lets no
-- role but the extension's owner change a row at all: no policy allows an
-- UPDATE or DELETE, so these find no row; a forged INSERT still meets the
-- trigger)
UPDATE unlearn.models SET relation = 'oc_secret'::regclass, features = ARRAY['salary'] WHERE name = 'oc_ridge';
INSERT INTO unlearn.models
SELECT (jsonb_populate_record(NULL::unlearn.models,
                              to_jsonb(m) || jsonb_build_object('model_id', 9999, 'name', 'forged', 'relation', 'oc_secret',
                                                                'features', ARRAY['salary']))).*
FROM unlearn.models m WHERE name = 'oc_ridge';
-- a column of its own table it may still name
UPDATE unlearn.models SET features = ARRAY['x'] WHERE name = 'oc_ridge';
RESET ROLE;
-- nor by the other columns pg_unlearn reads a model's table by: its
-- monitor_group (the audit's group figures), the attribute numbers the event
-- triggers rename columns by; nor on a table whose rows a policy hides
CREATE TABLE oc_part (id int PRIMARY KEY, x float8, y float8, secret float8);
INSERT INTO oc_part SELECT i, i % 7, 2 * (i % 7) + (i % 3), i * 1000 FROM generate_series(1, 50) i;
GRANT SELECT (id, x, y) ON oc_part TO unlearn_oc;
SELECT rows_trained FROM unlearn.train('oc_part_m', 'oc_part', 'y', ARRAY['x']);
SET ROLE unlearn_oc;
UPDATE unlearn.models SET options = options || '{"monitor_group": "secret"}' WHERE name = 'oc_part_m';
UPDATE unlearn.models SET column_attnums = ARRAY[1, 3, 4]::int2[] WHERE name = 'oc_part_m';
RESET ROLE;
ALTER TABLE oc_part ENABLE ROW LEVEL SECURITY;
CREATE POLICY few ON oc_part FOR SELECT USING (id <= 5);
SET ROLE unlearn_oc;
UPDATE unlearn.models SET relation = 'oc_part'::regclass WHERE name = 'oc_ridge';
RESET ROLE;
SELECT name, relation, features, options ? 'monitor_group' AS grouped, column_attnums
FROM unlearn.models WHERE name IN ('oc_ridge', 'oc_part_m') ORDER BY name;
SELECT unlearn.drop_model('oc_part_m');
DROP TABLE oc_part;
SELECT relation, features FROM unlearn.models WHERE name IN ('oc_ridge', 'forged');
REVOKE ALL ON ALL TABLES IN SCHEMA unlearn FROM unlearn_oc;
REVOKE ALL ON SCHEMA unlearn FROM unlearn_oc;
DROP TABLE oc_secret;
SELECT unlearn.drop_model('oc_ridge');
DROP TABLE pick;
DROP SCHEMA oc CASCADE;
DROP ROLE unlearn_oc;

-- 4. Models have owners, and the extension's tables are written by the
-- extension only (as its owner). A role given only what reading takes
-- (USAGE on the schema, SELECT on its tables) trains on its own table,
-- forgets, retrains and drops its model; another such role, which may read
-- that table, can neither write the extension's tables (deleting a model's
-- lineage would make its DELETEs forget nothing) nor drop, retrain, replace
-- or change the model through the extension's functions. The table's owner
-- can; a model trained by a role keeps that role as owner across resync.
CREATE ROLE unlearn_alice;
CREATE ROLE unlearn_bob;
GRANT USAGE ON SCHEMA unlearn TO unlearn_alice, unlearn_bob;
GRANT SELECT ON ALL TABLES IN SCHEMA unlearn TO unlearn_alice, unlearn_bob;
CREATE SCHEMA own AUTHORIZATION unlearn_alice;
GRANT USAGE ON SCHEMA own TO unlearn_bob;
SET ROLE unlearn_alice;
CREATE TABLE own.t (id int PRIMARY KEY, x float8, z float8, y float8);
INSERT INTO own.t SELECT i, i % 13, i % 7, (i % 13) * 2 + (i % 7) + (i % 3) FROM generate_series(1, 300) i;
GRANT SELECT ON own.t TO unlearn_bob;
SELECT rows_trained FROM unlearn.train('alice_m', 'own.t', 'y', ARRAY['x', 'z']);
DELETE FROM own.t WHERE id <= 10;
SELECT unlearn.trained_on('alice_m', 5) AS forgotten_row_held;
RESET ROLE;
SELECT name, owner, rows_held FROM unlearn.models WHERE name = 'alice_m';
SET ROLE unlearn_bob;
SELECT expect_error($$DELETE FROM unlearn.lineage_blocks$$);
SELECT expect_error($$UPDATE unlearn.state SET state = '\x'$$);
SELECT expect_error($$SELECT unlearn.drop_model('alice_m')$$);
SELECT expect_error($$SELECT unlearn.resync('alice_m')$$);
SELECT expect_error($$SELECT unlearn.forget_feature('alice_m', 'z')$$);
-- both would lock the model row, and every writer of the table, until bob's transaction ends
SELECT expect_error($$SELECT unlearn.compact('alice_m')$$);
SELECT expect_error($$SELECT unlearn.refresh_metrics('alice_m')$$);
SELECT expect_error($$SELECT unlearn.train('alice_m', 'own.t', 'y', ARRAY['x'], replace => true)$$);
-- training attaches triggers to the table: SELECT alone does not allow it
SELECT expect_error($$SELECT unlearn.train('bob_m', 'own.t', 'y', ARRAY['x'])$$);
-- the internal bodies are not the caller's to run
SELECT expect_error($$SELECT unlearn.drop_model_rows('alice_m')$$);
SELECT expect_error($$SELECT unlearn.resync_or_drop('alice_m')$$);
RESET ROLE;
SELECT name, owner, features, rows_held FROM unlearn.models WHERE name = 'alice_m';
SELECT check_name, passed FROM unlearn.verify('alice_m') ORDER BY 1;
-- the owner retrains (the model keeps its owner), changes and drops it
SET ROLE unlearn_alice;
SELECT unlearn.resync('alice_m');
SELECT unlearn.compact('alice_m');
SELECT unlearn.forget_feature('alice_m', 'z');
RESET ROLE;
SELECT name, owner, features, rows_held FROM unlearn.models WHERE name = 'alice_m';
-- bob, given TRIGGER on the table, trains a model of his own on it, which
-- alice, the table's owner, may drop
SET ROLE unlearn_alice;
GRANT TRIGGER ON own.t TO unlearn_bob;
SET ROLE unlearn_bob;
SELECT rows_trained FROM unlearn.train('bob_m', 'own.t', 'y', ARRAY['x']);
SELECT expect_error($$SELECT unlearn.drop_model('alice_m')$$);
SELECT expect_error($$SELECT unlearn.train('alice_m', 'own.t', 'y', ARRAY['x'], replace => true)$$);
-- once a policy of alice's hides rows from bob, his resync is refused as his
-- train would be: it retrains as the extension's owner, which would read
-- every row into bob's model (trained_on, lineage, coefficients)
SET ROLE unlearn_alice;
ALTER TABLE own.t ENABLE ROW LEVEL SECURITY;
CREATE POLICY bob_sees_some ON own.t TO unlearn_bob USING (id > 100);
SET ROLE unlearn_bob;
SELECT expect_error($$SELECT unlearn.resync('bob_m')$$);
SET ROLE unlearn_alice;
DROP POLICY bob_sees_some ON own.t;
ALTER TABLE own.t DISABLE ROW LEVEL SECURITY;
SELECT unlearn.drop_model('bob_m');
SELECT unlearn.drop_model('alice_m');
RESET ROLE;
SELECT count(*) AS models_left FROM unlearn.models WHERE name IN ('alice_m', 'bob_m');
SELECT event, model, method FROM unlearn.audit WHERE model IN ('alice_m', 'bob_m') ORDER BY event_id;
DROP SCHEMA own CASCADE;
REVOKE ALL ON ALL TABLES IN SCHEMA unlearn FROM unlearn_alice, unlearn_bob;
REVOKE ALL ON SCHEMA unlearn FROM unlearn_alice, unlearn_bob;
DROP ROLE unlearn_alice;
DROP ROLE unlearn_bob;

-- 5. A non-superuser who owns a modelled partitioned table adds partitions
-- (PostgreSQL clones the extension's row triggers onto them, asking the
-- owner for EXECUTE on unlearn.forget_rows()), and the model forgets rows
-- deleted from them. A trigger of the owner's running that function under
-- another name or definition is refused: it would forget rows twice.
CREATE ROLE unlearn_carol;
GRANT USAGE ON SCHEMA unlearn TO unlearn_carol;
GRANT SELECT ON ALL TABLES IN SCHEMA unlearn TO unlearn_carol;
CREATE SCHEMA carol AUTHORIZATION unlearn_carol;
SET ROLE unlearn_carol;
CREATE TABLE carol.q (id int PRIMARY KEY, x float8, y float8) PARTITION BY RANGE (id);
CREATE TABLE carol.q1 PARTITION OF carol.q FOR VALUES FROM (0) TO (1000);
INSERT INTO carol.q SELECT i, i % 13, (i % 13) * 2 + (i % 3) FROM generate_series(1, 999, 3) i;
SELECT rows_trained FROM unlearn.train('carol_q', 'carol.q', 'y', ARRAY['x']);
CREATE TABLE carol.q2 PARTITION OF carol.q FOR VALUES FROM (1000) TO (2000);
CREATE TABLE carol.q3 (id int PRIMARY KEY, x float8, y float8);
ALTER TABLE carol.q ATTACH PARTITION carol.q3 FOR VALUES FROM (2000) TO (3000);
INSERT INTO carol.q SELECT i, i % 13, (i % 13) * 2 + (i % 3) FROM generate_series(1000, 2999, 7) i;
SELECT unlearn.resync('carol_q');
DELETE FROM carol.q2 WHERE id < 1100;
DELETE FROM carol.q WHERE id BETWEEN 2000 AND 2100;
SELECT unlearn.trained_on('carol_q', 1001) AS deleted_from_q2_held, unlearn.trained_on('carol_q', 2003) AS deleted_from_q3_held,
       (SELECT rows_held FROM unlearn.models WHERE name = 'carol_q') = (SELECT count(*) FROM carol.q) AS holds_the_table;
-- one of the extension's own re-created by the owner (CREATE OR REPLACE
-- writes origin mode) fires as the extension's must, at every level: a
-- replica row trigger in origin mode fired beside the statement trigger
-- (a learning model's INSERTs failed), a TRUNCATE trigger not ALWAYS missed
-- a replicated TRUNCATE
CREATE OR REPLACE TRIGGER unlearn_replica_forget AFTER DELETE OR UPDATE ON carol.q
    FOR EACH ROW EXECUTE FUNCTION unlearn.forget_rows();
CREATE OR REPLACE TRIGGER unlearn_forget_truncate AFTER TRUNCATE ON carol.q
    FOR EACH STATEMENT EXECUTE FUNCTION unlearn.forget_rows();
SELECT tgrelid::regclass AS relation, tgname, tgenabled FROM pg_trigger
WHERE tgname IN ('unlearn_replica_forget', 'unlearn_forget_truncate') AND tgrelid IN (SELECT relid FROM pg_partition_tree('carol.q'))
ORDER BY 1, 2;
DELETE FROM carol.q WHERE id BETWEEN 1100 AND 1200;
SELECT (SELECT rows_held FROM unlearn.models WHERE name = 'carol_q') = (SELECT count(*) FROM carol.q) AS holds_the_table;
SELECT expect_error($$CREATE TRIGGER twice AFTER DELETE ON carol.q1 REFERENCING OLD TABLE AS unlearn_old
                      FOR EACH STATEMENT EXECUTE FUNCTION unlearn.forget_rows()$$);
RESET ROLE;
SELECT check_name, passed FROM unlearn.verify('carol_q') ORDER BY 1;
SELECT unlearn.drop_model('carol_q');
DROP SCHEMA carol CASCADE;
REVOKE ALL ON ALL TABLES IN SCHEMA unlearn FROM unlearn_carol;
REVOKE ALL ON SCHEMA unlearn FROM unlearn_carol;
DROP ROLE unlearn_carol;

-- 6. A model is data about its table's rows: its row, state, lineage,
-- vocabulary, checkpoints and audit are shown (row-level security of the
-- extension's tables) only to its owner, its table's owner, a superuser,
-- and a role that may SELECT its key, target and features with no
-- row-level security of the table applying to it; a role given SELECT on
-- the extension's tables to train reads no other role's model.
CREATE ROLE unlearn_ann;
CREATE ROLE unlearn_ben;
CREATE ROLE unlearn_cy;
GRANT USAGE ON SCHEMA unlearn TO unlearn_ann, unlearn_ben, unlearn_cy;
GRANT SELECT ON ALL TABLES IN SCHEMA unlearn TO unlearn_ann, unlearn_ben, unlearn_cy;
CREATE SCHEMA ann AUTHORIZATION unlearn_ann;
GRANT USAGE ON SCHEMA ann TO unlearn_ben, unlearn_cy;
SET ROLE unlearn_ann;
CREATE TABLE ann.t (id int PRIMARY KEY, x float8, city text, label int);
INSERT INTO ann.t SELECT i, i % 11, 'c' || (i % 3), (i % 11 > 5)::int FROM generate_series(1, 120) i;
SELECT rows_trained FROM unlearn.train('ann_nb', 'ann.t', 'label', ARRAY['x', 'city'], 'naive_bayes');
SELECT rows_trained FROM unlearn.train('ann_sisa', 'ann.t', 'label', ARRAY['x'], 'logistic_regression', 'sisa',
                                       shards => 2, slices => 2);
RESET ROLE;
SET ROLE unlearn_ben;
SELECT (SELECT count(*) FROM unlearn.models) AS models, (SELECT count(*) FROM unlearn.state) AS states,
       (SELECT count(*) FROM unlearn.lineage_blocks) AS blocks, (SELECT count(*) FROM unlearn.vocabulary) AS vocabularies,
       (SELECT count(*) FROM unlearn.checkpoints) AS checkpoints,
       (SELECT count(*) FROM unlearn.audit WHERE model LIKE 'ann%') AS events,
       (SELECT count(*) FROM unlearn.lineage) AS keys, (SELECT count(*) FROM unlearn.model_summary) AS summaries;
SELECT expect_error($$SELECT unlearn.predict('ann_nb', ARRAY[1, 0]::float8[])$$);
SELECT expect_error($$SELECT unlearn.predict('ann_sisa', ARRAY[1]::float8[])$$);
SELECT expect_error($$SELECT * FROM unlearn.coefficients('ann_nb')$$);
SELECT expect_error($$SELECT unlearn.export('ann_sisa')$$);
SELECT expect_error($$SELECT unlearn.trained_on('ann_nb', 7)$$);
SELECT expect_error($$SELECT * FROM unlearn.verify('ann_nb')$$);
RESET ROLE;
-- a statement's memo of the model it read is the reader's: a loop that
-- changes role between two calls is asked again
DO $$
DECLARE
    v float8;
BEGIN
    FOR i IN 1 .. 2 LOOP
        IF i = 2 THEN
            SET ROLE unlearn_ben;
        END IF;
        v := unlearn.predict('ann_sisa', ARRAY[3]::float8[]);
        RAISE NOTICE 'call % as % predicted', i, current_user;
    END LOOP;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'refused: %', SQLERRM;
END
$$;
RESET ROLE;
SET ROLE unlearn_ben;
-- its name is still taken, and it is still not ben's to change
SELECT expect_error($$SELECT unlearn.train('ann_nb', 'ann.t', 'label', ARRAY['x'], 'naive_bayes')$$);
SELECT expect_error($$SELECT unlearn.drop_model('ann_nb')$$);
RESET ROLE;
-- a role that may read the columns the model reads reads the model
GRANT SELECT (id, x, city, label) ON ann.t TO unlearn_cy;
SET ROLE unlearn_cy;
SELECT (SELECT count(*) FROM unlearn.models) AS models, (SELECT count(*) > 0 FROM unlearn.state) AS states,
       (SELECT count(*) > 0 FROM unlearn.vocabulary) AS vocabularies, (SELECT count(*) > 0 FROM unlearn.checkpoints) AS checkpoints,
       (SELECT count(*) FROM unlearn.lineage WHERE model = 'ann_nb') AS keys;
SELECT unlearn.predict('ann_nb', t) AS predicted FROM ann.t t WHERE id = 9;
-- row_security = off in the session does not make pg_unlearn's reads fail
SET row_security = off;
SELECT unlearn.predict('ann_nb', t) AS predicted, unlearn.trained_on('ann_nb', 7) AS held FROM ann.t t WHERE id = 9;
RESET row_security;
RESET ROLE;
-- nor once a policy of the table hides rows from it: the model holds them
ALTER TABLE ann.t ENABLE ROW LEVEL SECURITY;
CREATE POLICY few ON ann.t FOR SELECT TO unlearn_cy USING (id <= 10);
SET ROLE unlearn_cy;
SELECT (SELECT count(*) FROM unlearn.models) AS models, (SELECT count(*) FROM unlearn.lineage) AS keys;
SELECT expect_error($$SELECT unlearn.predict('ann_nb', t) FROM ann.t t WHERE id = 9$$);
RESET ROLE;
-- the owner still reads and changes its models, and forgets
SET ROLE unlearn_ann;
DELETE FROM ann.t WHERE id <= 30;
SELECT name, rows_held FROM unlearn.models WHERE name = 'ann_nb';
RESET ROLE;
SELECT check_name, passed FROM unlearn.verify('ann_nb') WHERE NOT passed;
SELECT check_name, passed FROM unlearn.verify('ann_sisa') WHERE NOT passed;
-- ann's own call is no way around it: a SECURITY DEFINER function of ben's
-- that ann calls lists keys with ben's rights (lineage_entries decides for
-- the current user, not the session's, which is ann's here; autovacuum's
-- ANALYZE running ben's index expression is the same case)
SELECT min(model_id) AS lo, max(model_id) AS hi FROM unlearn.models WHERE name LIKE 'ann%' \gset
CREATE SCHEMA ben AUTHORIZATION unlearn_ben;
GRANT USAGE ON SCHEMA ben TO unlearn_ann;
SET ROLE unlearn_ben;
CREATE FUNCTION ben.keys_seen(lo int, hi int) RETURNS bigint LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT count(*) FROM generate_series(lo, hi) i, unlearn.lineage_entries(i) $$;
RESET ROLE;
SET ROLE unlearn_ann;
SELECT ben.keys_seen(:lo, :hi) AS keys_through_ben, (SELECT count(*) FROM generate_series(:lo, :hi) i, unlearn.lineage_entries(i)) AS keys_as_ann;
-- a retrain gives the model a new id under its name: its earlier events
-- stay its readers'
SELECT unlearn.resync('ann_nb');
RESET ROLE;
SET ROLE unlearn_ben;
SELECT count(*) AS events_seen FROM unlearn.audit WHERE model = 'ann_nb';
RESET ROLE;
DROP SCHEMA ben CASCADE;
-- an event of a model dropped since stays readable (without group figures)
SET ROLE unlearn_ann;
SELECT unlearn.drop_model('ann_sisa');
RESET ROLE;
SET ROLE unlearn_ben;
-- (the background worker's catch-up events, as many as it ran before the drop, left out)
SELECT event FROM unlearn.audit WHERE model = 'ann_sisa' AND event <> 'catch-up' ORDER BY event_id;
RESET ROLE;
-- and stays so when another role takes its name for a model of its own
CREATE TABLE ben_t (id int PRIMARY KEY, x float8, label int);
INSERT INTO ben_t SELECT i, i % 5, (i % 5 > 2)::int FROM generate_series(1, 40) i;
ALTER TABLE ben_t OWNER TO unlearn_ben;
SET ROLE unlearn_ben;
SELECT rows_trained FROM unlearn.train('ann_sisa', 'ben_t', 'label', ARRAY['x'], 'naive_bayes');
RESET ROLE;
SET ROLE unlearn_ann;
-- (the background worker's catch-up events, as many as it ran before the drop, left out)
SELECT event FROM unlearn.audit WHERE model = 'ann_sisa' AND event <> 'catch-up' ORDER BY event_id;
RESET ROLE;
SELECT unlearn.drop_model('ann_sisa');
DROP TABLE ben_t;
SELECT unlearn.drop_model('ann_nb');
DROP SCHEMA ann CASCADE;
REVOKE ALL ON ALL TABLES IN SCHEMA unlearn FROM unlearn_ann, unlearn_ben, unlearn_cy;
REVOKE ALL ON SCHEMA unlearn FROM unlearn_ann, unlearn_ben, unlearn_cy;
DROP ROLE unlearn_ann, unlearn_ben, unlearn_cy;
