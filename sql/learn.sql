-- options.on_insert: 'learn' adds inserted rows and new versions of updated
-- rows; 'ignore' (the default) keeps the model to the rows it was trained on.
CREATE TABLE stream (id int PRIMARY KEY, x1 float8, x2 float8, y float8, label int, note text);
INSERT INTO stream SELECT i, sin(i), cos(i * 3), 1 + 2 * sin(i) - cos(i * 3) + 0.1 * sin(i * 7), i % 2, 'a'
FROM generate_series(1, 1000) i;
SELECT rows_trained FROM unlearn.train('s_learn', 'stream', 'y', ARRAY['x1', 'x2'], options => '{"on_insert": "learn"}');
SELECT rows_trained FROM unlearn.train('s_ignore', 'stream', 'y', ARRAY['x1', 'x2']);
SELECT rows_trained FROM unlearn.train('s_nb', 'stream', 'label', ARRAY['x1', 'x2'], 'naive_bayes',
                                       shards => 3, options => '{"on_insert": "learn"}');
SELECT tgname FROM pg_trigger WHERE tgrelid = 'stream'::regclass ORDER BY 1;

-- INSERT (and COPY) are learned by s_learn and s_nb, not by s_ignore
INSERT INTO stream SELECT i, sin(i), cos(i * 3), 1 + 2 * sin(i) - cos(i * 3), i % 3 % 2, 'b'
FROM generate_series(1001, 1300) i;
COPY stream FROM stdin;
5000	0.5	0.25	2	1	c
5001	-0.5	0.75	-1	0	c
\.
SELECT name, rows_held FROM unlearn.models WHERE relation = 'stream'::regclass ORDER BY name;
SELECT unlearn.trained_on('s_learn', '5000') AS learn_holds, unlearn.trained_on('s_ignore', '5000') AS ignore_holds;
-- a NULL row inserted is skipped, as in training
INSERT INTO stream VALUES (6000, NULL, 1, 1, 1, 'd');
SELECT unlearn.trained_on('s_learn', '6000') AS holds_null_row;

-- relabelling: the old version is forgotten, the corrected one learned, so
-- the model is exactly a retrain on the corrected table
UPDATE stream SET y = -y, label = 1 - label WHERE id % 50 = 0;
UPDATE stream SET note = 'unrelated' WHERE id < 10;
DELETE FROM stream WHERE id % 7 = 0;
INSERT INTO stream SELECT i, sin(i), cos(i), sin(i) * 3, i % 2, 'e' FROM generate_series(7001, 7050) i;
UPDATE stream SET id = id + 100000 WHERE id BETWEEN 100 AND 120;
SELECT m.name, v.check_name, v.passed FROM unlearn.models m, unlearn.verify(m.name) v
WHERE m.relation = 'stream'::regclass ORDER BY 1, 2;
SELECT rows_trained FROM unlearn.train('s_fresh', 'stream', 'y', ARRAY['x1', 'x2']);
SELECT max(rel_diff(a.coefficient, b.coefficient)) < 1e-9 AS learn_equals_retrain
FROM unlearn.coefficients('s_learn') a JOIN unlearn.coefficients('s_fresh') b USING (feature);
SELECT (SELECT rows_held FROM unlearn.models WHERE name = 's_learn')
     = (SELECT count(*) FROM stream WHERE x1 IS NOT NULL) AS learn_holds_every_row;
SELECT (SELECT rows_held FROM unlearn.models WHERE name = 's_ignore')
     < (SELECT rows_held FROM unlearn.models WHERE name = 's_learn') AS ignore_holds_fewer;
SELECT event, count(*) FROM unlearn.audit WHERE model = 's_learn' GROUP BY 1 ORDER BY 1;

-- the INSERT trigger goes with the last learning model
SELECT unlearn.drop_model('s_learn');
SELECT unlearn.drop_model('s_nb');
SELECT tgname FROM pg_trigger WHERE tgrelid = 'stream'::regclass ORDER BY 1;

-- a small model that learns many rows spreads its lineage over more blocks
CREATE TABLE grows (id int PRIMARY KEY, x float8, y float8);
INSERT INTO grows SELECT i, sin(i), 2 * sin(i) + cos(i) FROM generate_series(1, 20) i;
SELECT rows_trained FROM unlearn.train('grows_ols', 'grows', 'y', ARRAY['x'], options => '{"on_insert": "learn"}');
SELECT lineage_buckets FROM unlearn.models WHERE name = 'grows_ols';
INSERT INTO grows SELECT i, sin(i), 2 * sin(i) + cos(i) FROM generate_series(21, 5000) i;
SELECT lineage_buckets > 1 AS rebucketed, rows_held FROM unlearn.models WHERE name = 'grows_ols';
SELECT unlearn.trained_on('grows_ols', '7') AS old_key, unlearn.trained_on('grows_ols', '4999') AS new_key;
DELETE FROM grows WHERE id % 3 = 0;
SELECT bool_and(passed) AS verified FROM unlearn.verify('grows_ols');
SELECT count(*) = (SELECT count(*) FROM grows) AS lineage_matches FROM unlearn.lineage WHERE model = 'grows_ols';

SELECT expect_error($$SELECT unlearn.train('bad', 'stream', 'y', ARRAY['x1'], options => '{"on_insert": "maybe"}')$$);
SELECT expect_error($$SELECT unlearn.train('bad', 'stream', 'y', ARRAY['x1'], options => '{"on_insert": 1}')$$);
