-- Progress of long work: the setting, and nothing shown when nothing runs.
-- (A training seen from another session while it runs, and its NOTICE
-- lines, are checked by test/python/check_progress.py: their timing cannot
-- be part of an expected output.)
CREATE TABLE pr (id int PRIMARY KEY, x float8, y int);
INSERT INTO pr SELECT i, sin(i), (sin(i * 3.1) > 0)::int FROM generate_series(1, 300) i;
SELECT rows_trained FROM unlearn.train('pr_nb', 'pr', 'y', ARRAY['x'], 'naive_bayes');
SHOW unlearn.progress_interval;
SET unlearn.progress_interval = '1min';
SHOW unlearn.progress_interval;
SELECT expect_error($$SET unlearn.progress_interval = -2$$);
-- 0 reports at every step (silenced here: the lines carry times)
SET unlearn.progress_interval = 0;
SET client_min_messages = warning;
SELECT rows_trained FROM unlearn.train('pr_mlp', 'pr', 'y', ARRAY['x'], 'mlp', shards => 2, slices => 2,
                                       options => '{"epochs": 4, "hidden": 4}');
DELETE FROM pr WHERE id = 7;
SELECT bool_and(passed) AS verified FROM unlearn.verify('pr_mlp');
RESET client_min_messages;
-- -1: never, however long
SET unlearn.progress_interval = -1;
SELECT rows_trained FROM unlearn.train('pr_quiet', 'pr', 'y', ARRAY['x'], 'mlp', options => '{"epochs": 3, "hidden": 4}');
RESET unlearn.progress_interval;
-- no work running: no entry; the view's columns
SELECT count(*) AS running FROM unlearn.progress;
SELECT attname FROM pg_attribute WHERE attrelid = 'unlearn.progress'::regclass AND attnum > 0 ORDER BY attnum;
SELECT unlearn.drop_model(name) FROM unlearn.models WHERE name LIKE 'pr\_%' ORDER BY name;
DROP TABLE pr;
