-- No escape: every way a row leaves or changes reaches the model.
CREATE TABLE parent (pid int PRIMARY KEY);
INSERT INTO parent SELECT g FROM generate_series(1, 10) g;
CREATE TABLE src (id int PRIMARY KEY, pid int REFERENCES parent ON DELETE CASCADE,
                  x float8, y float8, secret text);
INSERT INTO src SELECT i, 1 + i % 10, sin(i) * 5, 2 * sin(i) * 5 + cos(i), 'secret-' || i FROM generate_series(1, 1000) i;
SELECT rows_trained FROM unlearn.train('src_ols', 'src', 'y', ARRAY['x']);
CREATE VIEW held AS
SELECT (SELECT rows_held FROM unlearn.models WHERE name = 'src_ols') AS held, (SELECT count(*) FROM src) AS in_table;
CREATE VIEW verified AS SELECT bool_and(passed) AS verified FROM unlearn.verify('src_ols');

-- DELETE ... USING, RETURNING, and in a CTE
DELETE FROM src USING parent WHERE src.pid = parent.pid AND parent.pid = 10 AND src.id < 100;
DELETE FROM src WHERE id = 1 RETURNING id;
WITH gone AS (DELETE FROM src WHERE id BETWEEN 2 AND 5 RETURNING id) SELECT count(*) FROM gone;
SELECT * FROM held, verified;
SELECT unlearn.trained_on('src_ols', '1') AS holds_1, unlearn.trained_on('src_ols', '3') AS holds_3;

-- DELETE through an updatable view
CREATE VIEW src_view AS SELECT * FROM src WHERE pid = 2;
DELETE FROM src_view WHERE id < 300;
SELECT * FROM held, verified;

-- ON DELETE CASCADE from the parent table
DELETE FROM parent WHERE pid = 3;
SELECT * FROM held, verified;
SELECT count(*) AS rows_of_parent_3_held FROM unlearn.lineage l JOIN generate_series(1, 1000) i ON l.key = i::text
WHERE l.model = 'src_ols' AND 1 + i % 10 = 3;

-- MERGE that deletes some rows and updates others
MERGE INTO src s USING (SELECT g AS id FROM generate_series(400, 420) g) v ON s.id = v.id
WHEN MATCHED AND s.id % 2 = 0 THEN DELETE
WHEN MATCHED THEN UPDATE SET x = s.x + 1;
SELECT * FROM held, verified;
SELECT unlearn.trained_on('src_ols', '400') AS holds_deleted, unlearn.trained_on('src_ols', '401') AS holds_updated;

-- COPY-loaded rows deleted later (the model ignores inserts by default)
COPY src (id, pid, x, y, secret) FROM stdin;
9001	1	0.5	1.5	copied
9002	1	0.25	0.75	copied
\.
DELETE FROM src WHERE secret = 'copied';
SELECT * FROM held, verified;

-- replica mode (logical replication's apply worker, a data-only restore)
-- fires the replica row triggers: the rows are forgotten all the same
SET session_replication_role = replica;
DELETE FROM src WHERE id BETWEEN 600 AND 609;
RESET session_replication_role;
SELECT check_name, value, passed FROM unlearn.verify('src_ols') WHERE check_name = 'lineage_rows_missing_from_table';
-- disabling a trigger would let rows change unseen: refused (paths_guard.sql)
SELECT expect_error($$ALTER TABLE src DISABLE TRIGGER unlearn_forget_update$$);
UPDATE src SET x = x + 1 WHERE id BETWEEN 700 AND 704;
-- resync retrains from the table as it is (after a restore, say)
SELECT unlearn.resync('src_ols');
SELECT * FROM held, verified;
SELECT event, method FROM unlearn.audit WHERE model = 'src_ols' AND event IN ('drop', 'resync') ORDER BY event_id;

-- renaming a column or the table: the model follows
ALTER TABLE src RENAME COLUMN x TO x_renamed;
ALTER TABLE src RENAME TO src_renamed;
SELECT features, relation FROM unlearn.models WHERE name = 'src_ols';
DELETE FROM src_renamed WHERE id BETWEEN 800 AND 810;
SELECT bool_and(passed) AS verified FROM unlearn.verify('src_ols');
SELECT unlearn.predict('src_ols', s) IS NOT NULL AS predicts_by_new_name FROM src_renamed s WHERE id = 900;

-- retyping a feature to text forgets it; dropping a feature column forgets it
ALTER TABLE src_renamed ADD COLUMN z float8 DEFAULT 1;
UPDATE src_renamed SET z = id % 7;
SELECT rows_trained FROM unlearn.train('src2', 'src_renamed', 'y', ARRAY['x_renamed', 'z']);
ALTER TABLE src_renamed ALTER COLUMN z TYPE text;
SELECT features FROM unlearn.models WHERE name = 'src2';
ALTER TABLE src_renamed ADD COLUMN w float8;
UPDATE src_renamed SET w = id % 5;
SELECT rows_trained FROM unlearn.train('src3', 'src_renamed', 'y', ARRAY['x_renamed', 'w']);
ALTER TABLE src_renamed DROP COLUMN w;
SELECT features FROM unlearn.models WHERE name = 'src3';
SELECT name, bool_and(passed) AS verified FROM unlearn.models, unlearn.verify(name)
WHERE name IN ('src2', 'src3') GROUP BY 1 ORDER BY 1;
DELETE FROM src_renamed WHERE id BETWEEN 820 AND 830;
-- dropping the target drops the model, with an audit event
DROP VIEW src_view;
ALTER TABLE src_renamed DROP COLUMN y;
SELECT count(*) AS models_left FROM unlearn.models WHERE relation = 'src_renamed'::regclass;
SELECT model, method FROM unlearn.audit WHERE event = 'drop' AND model LIKE 'src%' ORDER BY event_id;

-- TRUNCATE ... CASCADE reaches models on the referencing table
CREATE TABLE child (id int PRIMARY KEY, pid int REFERENCES parent, x float8, y float8);
INSERT INTO child SELECT i, 1 + i % 2, i, 2 * i + sin(i) FROM generate_series(1, 50) i;
SELECT rows_trained FROM unlearn.train('child_ols', 'child', 'y', ARRAY['x']);
TRUNCATE parent CASCADE;
SELECT rows_held FROM unlearn.models WHERE name = 'child_ols';
DROP TABLE src_renamed, child, parent CASCADE;
SELECT count(*) AS models_left FROM unlearn.models WHERE name LIKE 'src%' OR name = 'child_ols';
