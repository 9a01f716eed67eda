-- Kept states (src/pg/state_cache.hpp): a backend keeps the decoded states
-- its last change wrote and its next change takes them instead of reading
-- the row again. Kept or read, a change must start from what the row holds:
-- the same changes, made once in one session (every change after the first
-- takes kept states, past a rolled-back change and a rolled-back subtransaction)
-- and once with a new session for each (every change reads and decodes),
-- leave the same stored states, and every audit event's hash before is the
-- hash after of the one before it, the last one the SHA-256 of the rows.
CREATE TABLE kept_a (id int PRIMARY KEY, x1 float8, x2 float8, label int, y float8);
INSERT INTO kept_a SELECT i, round((4 * sin(i))::numeric, 2), round((3 * cos(i * 1.7))::numeric, 1), 0, 0
FROM generate_series(1, 400) i;
UPDATE kept_a SET label = (x1 + 0.8 * x2 > 1)::int, y = 2 * x1 - x2 + 0.3 * sin(id * 7.3);
CREATE TABLE kept_b AS SELECT * FROM kept_a;
ALTER TABLE kept_b ADD PRIMARY KEY (id);
SELECT t, count(*) AS models FROM (VALUES ('kept_a'), ('kept_b')) v(t), LATERAL (
    SELECT unlearn.train('lin_' || t, t::regclass, 'y', ARRAY['x1', 'x2'], 'linear_regression', shards => 2,
                         options => '{"on_insert": "learn"}')
    UNION ALL SELECT unlearn.train('nb_' || t, t::regclass, 'label', ARRAY['x1', 'x2'], 'naive_bayes', shards => 3,
                                   options => '{"on_insert": "learn"}')
    UNION ALL SELECT unlearn.train('sisa_' || t, t::regclass, 'label', ARRAY['x1', 'x2'], 'logistic_regression', 'sisa',
                                   shards => 2, slices => 3, options => '{"on_insert": "learn", "retrain": "inline", "seed": 3}')
    UNION ALL SELECT unlearn.train('crt_' || t, t::regclass, 'label', ARRAY['x1', 'x2'], 'logistic_regression', 'certified',
                                   shards => 2, options => '{"seed": 3}')
    UNION ALL SELECT unlearn.train('rf_' || t, t::regclass, 'label', ARRAY['x1', 'x2'], 'random_forest',
                                   options => '{"n_estimators": 5, "seed": 7, "on_insert": "learn"}')) m
GROUP BY t ORDER BY t;
-- The changes, each committed (the third rolled back, the sixth rolls a
-- subtransaction back between two DELETEs).
CREATE PROCEDURE kept_change(t text, step int) LANGUAGE plpgsql AS $$
BEGIN
    CASE step
    WHEN 1 THEN EXECUTE format('DELETE FROM %I WHERE id = 42', t);
    WHEN 2 THEN EXECUTE format('DELETE FROM %I WHERE id %% 50 = 7', t);
    WHEN 3 THEN EXECUTE format('DELETE FROM %I WHERE id BETWEEN 200 AND 260', t); ROLLBACK; RETURN;
    WHEN 4 THEN EXECUTE format('INSERT INTO %I VALUES (5001, 1.5, -2, 1, 0.25), (5002, -3.25, 0.5, 0, 7)', t);
    WHEN 5 THEN EXECUTE format('UPDATE %I SET x1 = x1 + 0.5, y = y - 1 WHERE id BETWEEN 100 AND 104', t);
    WHEN 6 THEN
        EXECUTE format('DELETE FROM %I WHERE id = 150', t);
        BEGIN
            EXECUTE format('DELETE FROM %I WHERE id BETWEEN 151 AND 170', t);
            RAISE EXCEPTION 'rolled back';
        EXCEPTION WHEN raise_exception THEN
        END;
        EXECUTE format('DELETE FROM %I WHERE id = 171', t);
    WHEN 7 THEN EXECUTE format('DELETE FROM %I WHERE label = 1 AND id %% 3 = 0', t);
    END CASE;
    COMMIT;
END $$;
-- kept_a: one session
\c
DO $$ BEGIN FOR step IN 1..7 LOOP CALL kept_change('kept_a', step); END LOOP; END $$;
-- kept_b: a new session for each change
\c
CALL kept_change('kept_b', 1);
\c
CALL kept_change('kept_b', 2);
\c
CALL kept_change('kept_b', 3);
\c
CALL kept_change('kept_b', 4);
\c
CALL kept_change('kept_b', 5);
\c
CALL kept_change('kept_b', 6);
\c
CALL kept_change('kept_b', 7);
SELECT a.name, count(*) AS shards, bool_and(sa.state = sb.state) AS same_states
FROM unlearn.models a JOIN unlearn.state sa USING (model_id)
JOIN unlearn.models b ON b.name = replace(a.name, '_kept_a', '_kept_b')
JOIN unlearn.state sb ON sb.model_id = b.model_id AND sb.shard = sa.shard
WHERE a.name LIKE '%_kept_a' GROUP BY 1 ORDER BY 1;
SELECT model, count(*) AS events,
       bool_and(before IS NOT DISTINCT FROM state_hash_before) AS each_before_is_the_last_after,
       (array_agg(state_hash_after ORDER BY event_id DESC))[1] =
           (SELECT encode(sha256(string_agg(s.state, ''::bytea ORDER BY s.shard)), 'hex')
            FROM unlearn.state s JOIN unlearn.models m USING (model_id) WHERE m.name = w.model) AS last_after_is_the_rows
FROM (SELECT model, event_id, state_hash_before, state_hash_after,
             lag(state_hash_after) OVER (PARTITION BY model ORDER BY event_id) AS before, event
      FROM unlearn.audit WHERE model LIKE '%_kept_a') w
WHERE event <> 'train' OR before IS NOT NULL
GROUP BY model ORDER BY model;
SELECT count(unlearn.drop_model(name)) AS dropped FROM unlearn.models WHERE name LIKE '%_kept_%';
DROP TABLE kept_a, kept_b;
DROP PROCEDURE kept_change;

-- VACUUM FULL (and CLUSTER) keep a row's xmin and move it: a transaction's
-- later version of a row can then stand at the ctid its earlier, kept
-- version had. Here a superuser's UPDATE of the state after a DELETE in the
-- same transaction (a restore, from a forest trained on the same rows with
-- another seed); in a database of its own, so that the ctids are known: the
-- forgotten model's rows leave the first line pointers free for the
-- DELETE's version, and VACUUM FULL moves the restored one there.
SELECT current_database() AS regress_db \gset
CREATE DATABASE kept_rewrite;
\c kept_rewrite
CREATE EXTENSION pg_unlearn;
CREATE TABLE t (id int PRIMARY KEY, x float8, y float8);
INSERT INTO t SELECT i, sin(i), cos(i * 1.3) FROM generate_series(1, 60) i;
CREATE TABLE twin (LIKE t INCLUDING ALL);
INSERT INTO twin SELECT * FROM t WHERE id <> 1;
SELECT count(*) AS trained FROM (VALUES ('gone_a'), ('gone_b')) v(n),
    LATERAL unlearn.train(n, 'twin', 'y', ARRAY['x'], 'random_forest_regressor', options => '{"n_estimators": 3, "seed": 2}');
CREATE TABLE restore AS SELECT state FROM unlearn.state JOIN unlearn.models USING (model_id) WHERE name = 'gone_a';
SELECT count(unlearn.drop_model(n)) AS dropped FROM (VALUES ('gone_a'), ('gone_b')) v(n);
SELECT rows_trained FROM unlearn.train('rf', 't', 'y', ARRAY['x'], 'random_forest_regressor',
                                       options => '{"n_estimators": 3, "seed": 1}');
VACUUM (INDEX_CLEANUP ON) unlearn.state;
BEGIN;
DELETE FROM t WHERE id = 1;
SELECT xmin AS kept_xmin, ctid AS kept_ctid FROM unlearn.state \gset
UPDATE unlearn.state SET state = (SELECT state FROM restore);
COMMIT;
VACUUM FULL unlearn.state;
SELECT xmin = :'kept_xmin' AND ctid = :'kept_ctid' AS the_kept_version, encode(sha256(state), 'hex') AS stored
FROM unlearn.state \gset
SELECT :'the_kept_version' AS the_kept_version;
DELETE FROM t WHERE id = 2;
SELECT state_hash_before = :'stored' AS started_from_the_stored_row
FROM unlearn.audit WHERE model = 'rf' ORDER BY event_id DESC LIMIT 1;
\c :regress_db
DROP DATABASE kept_rewrite;
