-- Forgetting follows the table inside the deleting transaction.
CREATE TABLE f (id int PRIMARY KEY, x1 float8, x2 float8, y float8, note text);
INSERT INTO f SELECT i, sin(i), cos(i * 2) * 3, 2 * sin(i) - cos(i * 2) + 0.1 * sin(i * 5), 'n' FROM generate_series(1, 2000) i;
SELECT rows_trained FROM unlearn.train('f_ols', 'f', 'y', ARRAY['x1', 'x2']);
SELECT rows_trained FROM unlearn.train('f_ridge', 'f', 'y', ARRAY['x1'], 'ridge', options => '{"l2": 3}');
SELECT tgname FROM pg_trigger WHERE tgrelid = 'f'::regclass ORDER BY 1;

CREATE VIEW f_fingerprint AS
SELECT m.name, m.version, m.rows_held, md5(string_agg(s.state::text, ',' ORDER BY s.shard)) AS state_md5,
       (SELECT count(*) FROM unlearn.lineage l WHERE l.model = m.name) AS lineage_rows,
       (SELECT count(*) FROM unlearn.audit a WHERE a.model_id = m.model_id) AS audit_events
FROM unlearn.models m JOIN unlearn.state s USING (model_id) WHERE m.relation = 'f'::regclass GROUP BY m.model_id;
CREATE TEMP TABLE before AS SELECT * FROM f_fingerprint;

-- ROLLBACK restores state, lineage and audit exactly
BEGIN;
DELETE FROM f WHERE id <= 500;
SELECT name, rows_held, lineage_rows, audit_events FROM f_fingerprint ORDER BY name;
ROLLBACK;
SELECT (SELECT count(*) FROM (SELECT * FROM f_fingerprint EXCEPT SELECT * FROM before) d) AS changed_models;

-- and so does ROLLBACK TO SAVEPOINT
BEGIN;
DELETE FROM f WHERE id = 1;
SAVEPOINT s;
DELETE FROM f WHERE id BETWEEN 2 AND 50;
ROLLBACK TO SAVEPOINT s;
SELECT name, rows_held FROM f_fingerprint ORDER BY name;
ROLLBACK;
SELECT (SELECT count(*) FROM (SELECT * FROM f_fingerprint EXCEPT SELECT * FROM before) d) AS changed_models;

-- one statement, many rows: each model updated once, one audit event each
DELETE FROM f WHERE id % 10 = 0;
SELECT name, rows_held, version FROM f_fingerprint ORDER BY name;
SELECT model, event, rows, method, shards, state_hash_before <> state_hash_after AS state_changed
FROM unlearn.audit WHERE model LIKE 'f\_%' ORDER BY event_id;
SELECT m.name, v.check_name, v.passed FROM unlearn.models m, unlearn.verify(m.name) v
WHERE m.relation = 'f'::regclass ORDER BY 1, 2;

-- a DELETE whose transition table spills to disk (work_mem is small)
CREATE TABLE big (id int PRIMARY KEY, x float8, y float8);
INSERT INTO big SELECT i, sin(i), 3 * sin(i) + cos(i) FROM generate_series(1, 30000) i;
SELECT rows_trained FROM unlearn.train('big_ols', 'big', 'y', ARRAY['x']);
SET work_mem = '64kB';
DELETE FROM big WHERE id % 3 = 0;
RESET work_mem;
SELECT rows_held FROM unlearn.models WHERE name = 'big_ols';
SELECT check_name, passed FROM unlearn.verify('big_ols') ORDER BY 1;
SELECT unlearn.drop_model('big_ols');

-- rows inserted after training were never trained on: deleting them changes nothing
INSERT INTO f SELECT i, 100, 100, 100, 'late' FROM generate_series(5001, 5010) i;
CREATE TEMP TABLE mid AS SELECT * FROM f_fingerprint;
DELETE FROM f WHERE note = 'late';
SELECT (SELECT count(*) FROM (SELECT * FROM f_fingerprint EXCEPT SELECT * FROM mid) d) AS changed_models;

-- UPDATE of an unrelated column changes nothing; of a feature forgets the old version
UPDATE f SET note = 'touched' WHERE id < 100;
SELECT (SELECT count(*) FROM (SELECT * FROM f_fingerprint EXCEPT SELECT * FROM mid) d) AS changed_models;
UPDATE f SET x1 = x1 + 1 WHERE id = 7;
SELECT unlearn.trained_on('f_ols', '7') AS ols_holds_7, unlearn.trained_on('f_ridge', '7') AS ridge_holds_7;
UPDATE f SET x2 = x2 WHERE id = 8;  -- same value: still held
SELECT unlearn.trained_on('f_ols', '8') AS ols_holds_8;
UPDATE f SET id = 100007 WHERE id = 9;  -- a new key is a new row
SELECT unlearn.trained_on('f_ols', '9') AS holds_9, unlearn.trained_on('f_ols', '100007') AS holds_100007;
SELECT m.name, v.check_name, v.passed FROM unlearn.models m, unlearn.verify(m.name) v
WHERE m.relation = 'f'::regclass AND NOT v.passed;

-- the audit holds counts and hashes, never keys or values
SELECT count(*) AS audit_columns_with_row_data FROM information_schema.columns
WHERE table_schema = 'unlearn' AND table_name = 'audit' AND column_name IN ('key', 'keys', 'value', 'values', 'features', 'target');

-- TRUNCATE forgets everything
TRUNCATE f;
SELECT name, rows_held, lineage_rows FROM f_fingerprint ORDER BY name;
SELECT expect_error($$SELECT unlearn.predict('f_ols', ARRAY[1, 2]::float8[])$$);
SELECT model, method, rows FROM unlearn.audit WHERE method = 'truncate' ORDER BY event_id;

-- drop_model removes state and lineage; triggers go with the last model
SELECT unlearn.drop_model('f_ols');
SELECT tgname FROM pg_trigger WHERE tgrelid = 'f'::regclass ORDER BY 1;
SELECT unlearn.drop_model('f_ridge');
SELECT tgname FROM pg_trigger WHERE tgrelid = 'f'::regclass ORDER BY 1;
SELECT count(*) AS leftover_state FROM unlearn.state s LEFT JOIN unlearn.models m USING (model_id) WHERE m.model_id IS NULL;
SELECT expect_error($$SELECT unlearn.drop_model('f_ols')$$);
