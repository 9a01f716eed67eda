-- Bad input: a clear error with a SQLSTATE and a hint, and nothing created.
CREATE TABLE good (id int PRIMARY KEY, x float8, z float8, label text, y float8, d date);
INSERT INTO good SELECT i, i, i % 3, 'l' || i, 2 * i + (i % 3), date '2026-01-01' + i FROM generate_series(1, 50) i;
CREATE TABLE nokey (x float8, y float8);
INSERT INTO nokey VALUES (1, 2), (2, 3);
CREATE TABLE empty (id int PRIMARY KEY, x float8, y float8);
CREATE TABLE allnull (id int PRIMARY KEY, x float8, y float8);
INSERT INTO allnull VALUES (1, NULL, 1), (2, 2, NULL);
CREATE VIEW good_view AS SELECT * FROM good;
CREATE VIEW unlearn_counts AS
SELECT (SELECT count(*) FROM unlearn.models) AS models, (SELECT count(*) FROM unlearn.state) AS states,
       (SELECT count(*) FROM unlearn.lineage_blocks) AS blocks, (SELECT count(*) FROM unlearn.audit) AS audit,
       (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'unlearn%') AS triggers;
CREATE TEMP TABLE counts_before AS SELECT * FROM unlearn_counts;

SELECT expect_error($$SELECT unlearn.train('m', 'no_such_table', 'y', ARRAY['x'])$$);
SELECT expect_error($$SELECT unlearn.train('m', 'good', 'y', ARRAY['nope'])$$);
SELECT expect_error($$SELECT unlearn.train('m', 'good', 'nope', ARRAY['x'])$$);
SELECT expect_error($$SELECT unlearn.train('m', 'good', 'y', ARRAY['d'])$$);
SELECT expect_error($$SELECT unlearn.train('m', 'good', 'label', ARRAY['x'])$$);
SELECT expect_error($$SELECT unlearn.train('m', 'good', 'y', ARRAY[]::text[])$$);
SELECT expect_error($$SELECT unlearn.train('m', 'good', 'y', ARRAY['x', 'x'])$$);
SELECT expect_error($$SELECT unlearn.train('m', 'good', 'y', ARRAY['x', 'y'])$$);
SELECT expect_error($$SELECT unlearn.train('m', 'good', 'y', ARRAY['x', NULL])$$);
SELECT expect_error($$SELECT unlearn.train(NULL, 'good', 'y', ARRAY['x'])$$);
SELECT expect_error($$SELECT unlearn.train('m', 'nokey', 'y', ARRAY['x'])$$);
SELECT expect_error($$SELECT unlearn.train('m', 'good_view', 'y', ARRAY['x'])$$);
CREATE TABLE parted (id int PRIMARY KEY, x float8, y float8) PARTITION BY RANGE (id);
SELECT expect_error($$SELECT unlearn.train('m', 'parted', 'y', ARRAY['x'])$$);
SELECT expect_error($$SELECT unlearn.train('m', 'empty', 'y', ARRAY['x'])$$);
SELECT expect_error($$SELECT unlearn.train('m', 'allnull', 'y', ARRAY['x'])$$);
SELECT expect_error($$SELECT unlearn.train('m', 'good', 'y', ARRAY['x'], 'deep_learning')$$);
SELECT expect_error($$SELECT unlearn.train('m', 'good', 'y', ARRAY['x'], strategy => 'magic')$$);
SELECT expect_error($$SELECT unlearn.train('m', 'good', 'y', ARRAY['x'], strategy => 'sisa')$$);
SELECT expect_error($$SELECT unlearn.train('m', 'good', 'y', ARRAY['x'], options => '{"l2": 1}')$$);
SELECT expect_error($$SELECT unlearn.train('m', 'good', 'y', ARRAY['x'], 'ridge', options => '{"l2": -1}')$$);
SELECT expect_error($$SELECT unlearn.train('m', 'good', 'y', ARRAY['x'], 'ridge', options => '{"l2": "big"}')$$);
SELECT expect_error($$SELECT unlearn.train('m', 'good', 'y', ARRAY['x'], 'ridge', options => '[1, 2]')$$);
SELECT expect_error($$SELECT unlearn.train('m', 'good', 'y', ARRAY['x'], shards => 0)$$);
SELECT expect_error($$SELECT unlearn.train('m', 'good', 'y', ARRAY['x'], slices => 3)$$);
-- singular: a constant feature, or two collinear ones; the hint suggests ridge
ALTER TABLE good ADD COLUMN c float8 DEFAULT 4;
SELECT expect_error($$SELECT unlearn.train('m', 'good', 'y', ARRAY['x', 'c'])$$);
ALTER TABLE good ADD COLUMN x2 float8;
UPDATE good SET x2 = 3 * x;
SELECT expect_error($$SELECT unlearn.train('m', 'good', 'y', ARRAY['x', 'x2'])$$);

-- nothing half-created by any of the above
SELECT (SELECT count(*) FROM (SELECT * FROM unlearn_counts EXCEPT SELECT * FROM counts_before) d) AS changed_catalogs;

-- duplicate names; unknown models everywhere
SELECT rows_trained FROM unlearn.train('m', 'good', 'y', ARRAY['x', 'z']);
SELECT expect_error($$SELECT unlearn.train('m', 'good', 'y', ARRAY['x'])$$);
SELECT expect_error($$SELECT unlearn.predict('ghost', ARRAY[1.0])$$);
SELECT expect_error($$SELECT * FROM unlearn.verify('ghost')$$);
SELECT expect_error($$SELECT unlearn.trained_on('ghost', '1')$$);
SELECT expect_error($$SELECT * FROM unlearn.coefficients('ghost')$$);
-- wrong feature count, a row without the columns; NULL in, NULL out
SELECT expect_error($$SELECT unlearn.predict('m', ARRAY[1.0])$$);
SELECT unlearn.predict('m', ARRAY[1.0, NULL]) IS NULL AS null_feature_null_prediction;
SELECT expect_error($$SELECT unlearn.predict('m', ROW(1, 2))$$);
SELECT expect_error($$SELECT unlearn.predict('m', g) FROM (SELECT id, label AS x, z FROM good) g$$);
SELECT unlearn.predict('m', NULL::float8[]) IS NULL AS strict_null, unlearn.predict(NULL, ARRAY[1.0, 2.0]) IS NULL AS null_model;
