-- ALTER EXTENSION pg_unlearn UPDATE on a database holding models trained
-- under 0.1.0: they keep predicting and forgetting, and gain on_insert.
CREATE DATABASE unlearn_upgrade;
\c unlearn_upgrade
CREATE EXTENSION pg_unlearn VERSION '0.1.0';
CREATE TABLE old_t (id int PRIMARY KEY, x float8, y float8);
INSERT INTO old_t SELECT i, i, 3 * i + 2 + sin(i) FROM generate_series(1, 200) i;
SELECT rows_trained FROM unlearn.train('old_ols', 'old_t', 'y', ARRAY['x']);
SELECT round(unlearn.predict('old_ols', ARRAY[10.0])::numeric, 6) AS before_update;

ALTER EXTENSION pg_unlearn UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pg_unlearn';
SELECT round(unlearn.predict('old_ols', ARRAY[10.0])::numeric, 6) AS after_update;
DELETE FROM old_t WHERE id <= 20;
SELECT check_name, passed FROM unlearn.verify('old_ols') ORDER BY 1;
-- the 0.1.0 model ignores inserts; a new model on the same table can learn them
SELECT rows_trained FROM unlearn.train('new_ols', 'old_t', 'y', ARRAY['x'], options => '{"on_insert": "learn"}');
INSERT INTO old_t VALUES (1000, 1000, 3002);
SELECT name, rows_held FROM unlearn.models ORDER BY name;
SELECT name, check_name, passed FROM unlearn.models, unlearn.verify(name) ORDER BY 1, 2;

-- the upgraded database holds the same objects as one created at the default version
SELECT count(*) AS objects FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
WHERE e.extname = 'pg_unlearn' AND d.deptype = 'e';
\c contrib_regression
SELECT count(*) AS objects FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
WHERE e.extname = 'pg_unlearn' AND d.deptype = 'e';
DROP DATABASE unlearn_upgrade;
