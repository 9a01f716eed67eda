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

-- Kept states (src/pg/state_cache.hpp): a backend keeps the states its last
-- changes wrote, for its next change, while they hold at most half of
-- unlearn.max_memory. A summation state of 800 one-hot columns counts too:
-- 320 000 exact sums a shard, about 12 MB decoded (0.6 MB stored). The
-- backend's anonymous memory (RssAnon, kB) grown by one DELETE, in a session
-- at the default and in one at 8 MB: the second holds the states no longer
-- (and keeps no more freed memory than glibc would: src/pg/freed_memory.hpp;
-- the first keeps more, which only widens the gap).
CREATE FUNCTION public.rss_kb() RETURNS bigint LANGUAGE sql
AS $$SELECT regexp_replace(pg_read_file('/proc/' || pg_backend_pid() || '/status'), '.*RssAnon:\s+(\d+) kB.*', '\1')::bigint$$;
CREATE TABLE onehot (id int PRIMARY KEY, c text, x float8, y float8);
INSERT INTO onehot SELECT i, 'c' || (i % 800), sin(i), cos(i) + i % 7 FROM generate_series(1, 4000) i;
SELECT rows_trained FROM unlearn.train('onehot_ridge', 'onehot', 'y', ARRAY['x', 'c'], 'ridge', shards => 2,
                                       options => '{"l2": 1}');
\c
LOAD 'pg_unlearn';
SELECT public.rss_kb() AS before \gset
DELETE FROM onehot WHERE id = 1;
SELECT public.rss_kb() - :before AS grown_at_the_default \gset
\c
LOAD 'pg_unlearn';
SET unlearn.max_memory = '8MB';
SELECT public.rss_kb() AS before \gset
DELETE FROM onehot WHERE id = 2;
SELECT :grown_at_the_default - (public.rss_kb() - :before) > 8192 AS not_kept_past_half_of_max_memory;
RESET unlearn.max_memory;
SELECT rows_held, bool_and(passed) AS verified FROM unlearn.models, unlearn.verify(name) WHERE name = 'onehot_ridge' GROUP BY 1;
SELECT unlearn.drop_model('onehot_ridge');
DROP TABLE onehot;
DROP FUNCTION public.rss_kb();
