-- Memory: every operation that holds rows estimates its peak (README,
-- "Interrupts and memory") and is refused before it trains or writes when the
-- estimate exceeds unlearn.max_memory: SQLSTATE 54000, the hint names the setting.
CREATE TABLE wide (id int PRIMARY KEY, x1 float8, x2 float8, x3 float8, x4 float8, y int);
INSERT INTO wide SELECT i, sin(i), cos(i), sin(i * 0.7), cos(i * 1.3), (sin(i) + cos(i * 1.3) > 0)::int
FROM generate_series(1, 20000) i;

SET unlearn.max_memory = '4MB';
-- SISA holds every shard's rows until it trains them: refused during the scan
SELECT expect_error($$SELECT unlearn.train('wide_lr', 'wide', 'y', ARRAY['x1', 'x2', 'x3', 'x4'], 'logistic_regression')$$);
-- a network too large for the setting is refused before the scan
SELECT expect_error($$SELECT unlearn.train('wide_mlp', 'wide', 'y', ARRAY['x1', 'x2'], 'mlp', options => '{"hidden": 512}')$$);
SELECT count(*) AS models FROM unlearn.models WHERE name LIKE 'wide%';
RESET unlearn.max_memory;
SHOW unlearn.max_memory;

SELECT name FROM unlearn.train('wide_ridge', 'wide', 'y', ARRAY['x1', 'x2', 'x3', 'x4'], 'ridge');
SELECT name FROM unlearn.train('wide_lr', 'wide', 'y', ARRAY['x1', 'x2', 'x3', 'x4'], 'logistic_regression', shards => 4,
                               options => '{"retrain": "inline"}');
CREATE TEMP TABLE before AS SELECT model_id, shard, state FROM unlearn.state JOIN unlearn.models USING (model_id) WHERE name LIKE 'wide%';

-- a DELETE of 15 000 rows holds them while it forgets: refused, nothing changes
SET unlearn.max_memory = '4MB';
SELECT expect_error($$DELETE FROM wide WHERE id > 5000$$);
SELECT count(*) AS rows_left FROM wide;
SELECT count(*) AS states_changed FROM before b JOIN unlearn.state s USING (model_id, shard) WHERE b.state <> s.state;
-- a small DELETE fits: the ridge decrement and the retrain of one shard of wide_lr
DELETE FROM wide WHERE id = 7;
RESET unlearn.max_memory;
SELECT name, bool_and(passed) AS verified FROM unlearn.models, unlearn.verify(name) WHERE name LIKE 'wide%' GROUP BY 1 ORDER BY 1;

-- with room, the large DELETE goes through
DELETE FROM wide WHERE id > 5000;
SELECT name, rows_held FROM unlearn.models WHERE name LIKE 'wide%' ORDER BY 1;
SELECT name, bool_and(passed) AS verified FROM unlearn.models, unlearn.verify(name) WHERE name LIKE 'wide%' GROUP BY 1 ORDER BY 1;

SELECT unlearn.drop_model('wide_ridge');
SELECT unlearn.drop_model('wide_lr');
DROP TABLE wide;
