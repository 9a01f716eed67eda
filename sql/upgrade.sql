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
-- 0.5.0 identifies keys by value: every model was retrained from its table
SELECT model, event FROM unlearn.audit WHERE event = 'resync' ORDER BY event_id;
SELECT unlearn.trained_on('old_ols', 21) AS typed_key, unlearn.trained_on('old_ols', '21') AS text_key;
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

-- 0.3.0 -> 0.4.0 with a SISA model in place: the new library forgets on the
-- old schema (no audit.details yet), and after the update the old model's
-- events have certificates and new models can be certified.
CREATE DATABASE unlearn_upgrade3;
\c unlearn_upgrade3
CREATE EXTENSION pg_unlearn VERSION '0.3.0';
CREATE TABLE old_c (id int PRIMARY KEY, x float8, y int);
INSERT INTO old_c SELECT i, i % 17, (i % 17 > 8 OR i % 5 = 0)::int FROM generate_series(1, 300) i;
SELECT rows_trained FROM unlearn.train('old_lr', 'old_c', 'y', ARRAY['x'], 'logistic_regression', shards => 2);
DELETE FROM old_c WHERE id <= 10;
SELECT count(*) AS unlearn_events FROM unlearn.audit WHERE model = 'old_lr' AND event = 'unlearn';
ALTER EXTENSION pg_unlearn UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pg_unlearn';
SELECT check_name, passed FROM unlearn.verify('old_lr') ORDER BY 1;
SELECT c->>'event' AS event, (c->>'rows_forgotten')::int AS rows_forgotten, c->>'method' AS method
FROM unlearn.audit a, unlearn.audit_certificate(a.event_id) c
WHERE a.model = 'old_lr' AND a.event = 'unlearn';
SELECT rows_trained FROM unlearn.train('new_cert', 'old_c', 'y', ARRAY['x'], 'logistic_regression', 'certified');
DELETE FROM old_c WHERE id = 11;
SELECT model, method FROM unlearn.audit WHERE event = 'unlearn' AND rows = 1 ORDER BY event_id;
SELECT count(*) AS objects FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
WHERE e.extname = 'pg_unlearn' AND d.deptype = 'e';
\c contrib_regression
DROP DATABASE unlearn_upgrade3;
