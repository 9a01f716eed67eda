-- Interrupts: a statement_timeout (or pg_cancel_backend) stops a long train
-- and a DELETE's retrain promptly with query_canceled (57014), the model
-- state is exactly what it was, and the backend goes on working. Timings
-- are measured outside the suite (README, "Interrupts and memory"); here the
-- work takes seconds and the timeout is 200 ms, so only the outcome is checked.
CREATE TABLE slow (id int PRIMARY KEY, x1 float8, x2 float8, x3 float8, x4 float8, y int);
INSERT INTO slow SELECT i, sin(i), cos(i), sin(i * 0.7), cos(i * 1.3), (sin(i) + cos(i * 1.3) > 0)::int
FROM generate_series(1, 20000) i;
-- the SQLSTATE alone: where the cancel lands (scan, epoch, SPI) varies
\set VERBOSITY sqlstate

-- a long mlp train: cancelled, nothing created
SET statement_timeout = '200ms';
SELECT name FROM unlearn.train('slow_train', 'slow', 'y', ARRAY['x1', 'x2', 'x3', 'x4'], 'mlp',
                               options => '{"epochs": 400, "hidden": 64}');
RESET statement_timeout;
SELECT count(*) AS models FROM unlearn.models WHERE name = 'slow_train';
SELECT 1 AS backend_usable;

-- a DELETE whose forgetting retrains an mlp shard: cancelled, state unchanged
SELECT name FROM unlearn.train('slow_del', 'slow', 'y', ARRAY['x1', 'x2', 'x3', 'x4'], 'mlp',
                               options => '{"epochs": 150, "hidden": 64, "retrain": "inline"}');
SELECT md5(string_agg(md5(s.state), ',' ORDER BY s.shard)) AS state_md5
FROM unlearn.state s JOIN unlearn.models m USING (model_id) WHERE m.name = 'slow_del' \gset before_
SELECT md5(string_agg(md5(c.state), ',' ORDER BY c.shard, c.slice)) AS checkpoints_md5
FROM unlearn.checkpoints c JOIN unlearn.models m USING (model_id) WHERE m.name = 'slow_del' \gset before_
SET statement_timeout = '200ms';
DELETE FROM slow WHERE id = 5;
RESET statement_timeout;
\set VERBOSITY default
SELECT md5(string_agg(md5(s.state), ',' ORDER BY s.shard)) = :'before_state_md5' AS state_unchanged
FROM unlearn.state s JOIN unlearn.models m USING (model_id) WHERE m.name = 'slow_del';
SELECT md5(string_agg(md5(c.state), ',' ORDER BY c.shard, c.slice)) = :'before_checkpoints_md5' AS checkpoints_unchanged
FROM unlearn.checkpoints c JOIN unlearn.models m USING (model_id) WHERE m.name = 'slow_del';
SELECT count(*) AS rows_left, unlearn.trained_on('slow_del', '5') AS still_trained_on FROM slow;
SELECT event, count(*) FROM unlearn.audit a JOIN unlearn.models m USING (model_id) WHERE m.name = 'slow_del' GROUP BY 1;
SELECT check_name, passed FROM unlearn.verify('slow_del') ORDER BY 1;

-- without a timeout the same DELETE completes
DELETE FROM slow WHERE id = 5;
SELECT unlearn.trained_on('slow_del', '5') AS still_trained_on;

SELECT unlearn.drop_model('slow_del');
DROP TABLE slow;
