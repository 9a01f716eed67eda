-- Partitioned sources: rows leave through the root, from a partition
-- directly, by TRUNCATE, DETACH or DROP of a partition; all reach the model.
CREATE TABLE part (id int PRIMARY KEY, x float8, y float8, note text) PARTITION BY RANGE (id);
CREATE TABLE part_a PARTITION OF part FOR VALUES FROM (1) TO (501);
CREATE TABLE part_b PARTITION OF part FOR VALUES FROM (501) TO (1001);
-- a partition whose columns are in another order (other attribute numbers)
CREATE TABLE part_c (note text, y float8, x float8, id int NOT NULL PRIMARY KEY);
ALTER TABLE part ATTACH PARTITION part_c FOR VALUES FROM (1001) TO (1501);
INSERT INTO part SELECT i, sin(i), 2 * sin(i) + cos(i), 'n' FROM generate_series(1, 1500) i;
-- a partition alone is refused: a DELETE or UPDATE through the root fires
-- the root's statement triggers, not the partition's, and would not reach it
SELECT expect_error($$SELECT unlearn.train('part_a_only', 'part_a', 'y', ARRAY['x'])$$);
-- nor may a table with models of its own become one
CREATE TABLE part_x (id int PRIMARY KEY, x float8, y float8, note text);
INSERT INTO part_x SELECT i, sin(i), cos(i), 'x' FROM generate_series(3001, 3100) i;
SELECT rows_trained FROM unlearn.train('part_x_m', 'part_x', 'y', ARRAY['x']);
SELECT expect_error($$ALTER TABLE part ATTACH PARTITION part_x FOR VALUES FROM (3001) TO (3101)$$);
SELECT unlearn.drop_model('part_x_m');
DROP TABLE part_x;
SELECT rows_trained FROM unlearn.train('part_ols', 'part', 'y', ARRAY['x']);
SELECT tgrelid::regclass AS relation, count(*) AS triggers FROM pg_trigger
WHERE tgname LIKE 'unlearn%' AND tgrelid IN (SELECT relid FROM pg_partition_tree('part')) GROUP BY 1 ORDER BY 1;
CREATE VIEW part_state AS
SELECT (SELECT rows_held FROM unlearn.models WHERE name = 'part_ols') AS held, (SELECT count(*) FROM part) AS in_table,
       (SELECT bool_and(passed) FROM unlearn.verify('part_ols')) AS verified;

DELETE FROM part WHERE id % 10 = 0;         -- through the root
DELETE FROM part_a WHERE id < 50;           -- from a partition directly
DELETE FROM part_c WHERE id > 1400;         -- from the partition with other column numbers
UPDATE part_c SET x = x + 1 WHERE id = 1101;
SELECT * FROM part_state;

-- a partition created later gets the triggers; its rows were never trained on
CREATE TABLE part_d PARTITION OF part FOR VALUES FROM (1501) TO (2001);
INSERT INTO part SELECT i, sin(i), cos(i), 'late' FROM generate_series(1501, 1510) i;
SELECT count(*) AS part_d_triggers FROM pg_trigger WHERE tgrelid = 'part_d'::regclass AND tgname LIKE 'unlearn%';
DELETE FROM part_d WHERE id < 1505;
SELECT held FROM part_state;

-- rows that leave without a DELETE: the model is retrained from what remains
TRUNCATE part_b;
SELECT * FROM part_state;
ALTER TABLE part DETACH PARTITION part_a;
SELECT * FROM part_state;
DROP TABLE part_c;
SELECT * FROM part_state;
SELECT event, method FROM unlearn.audit WHERE model = 'part_ols' AND event IN ('resync', 'unlearn') ORDER BY event_id;

SELECT unlearn.drop_model('part_ols');
SELECT count(*) AS triggers_left FROM pg_trigger
WHERE tgname LIKE 'unlearn%' AND tgrelid IN (SELECT relid FROM pg_partition_tree('part'));
-- a partition whose loss leaves nothing to fit: the model is dropped, audited,
-- and the user's DROP goes through
SELECT rows_trained FROM unlearn.train('part_small', 'part', 'y', ARRAY['x']);
DROP TABLE part_d;
SELECT count(*) AS models_left FROM unlearn.models WHERE name = 'part_small';
SELECT event, method FROM unlearn.audit WHERE model = 'part_small' ORDER BY event_id;
DROP VIEW part_state;
DROP TABLE part, part_a;
