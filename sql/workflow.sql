-- The data scientist's workflow (issue 16): answers that read naturally.

-- train returns the model's name, algorithm, strategy and shards under the
-- names of the arguments they echo
CREATE TABLE wf (id int PRIMARY KEY, x float8, y float8);
INSERT INTO wf SELECT i, i, 2 * i + sin(i) FROM generate_series(1, 100) i;
SELECT * FROM unlearn.train('wf_m', 'wf', 'y', ARRAY['x']);

-- replace => true swaps a model of the same name in one transaction: the old
-- one's drop and the new one's training are audited, and rows deleted since
-- the first training do not come back
SELECT name FROM unlearn.train('wf_m', 'wf', 'y', ARRAY['x']);
DELETE FROM wf WHERE id <= 10;
BEGIN;
SELECT * FROM unlearn.train('wf_m', 'wf', 'y', ARRAY['x'], 'ridge', replace => true);
ROLLBACK;
SELECT name, algorithm, rows_held FROM unlearn.models WHERE name = 'wf_m';
SELECT * FROM unlearn.train('wf_m', 'wf', 'y', ARRAY['x'], 'ridge', replace => true);
SELECT name, algorithm, rows_held FROM unlearn.models WHERE name = 'wf_m';
SELECT event, rows, method, details ? 'replaces_model_id' AS names_replaced
FROM unlearn.audit WHERE model = 'wf_m' ORDER BY event_id;
SELECT unlearn.trained_on('wf_m', '5') AS holds_deleted_row;
-- replace of a model that does not exist is a plain train
SELECT name FROM unlearn.train('wf_new', 'wf', 'y', ARRAY['x'], replace => true);
SELECT unlearn.drop_model('wf_new');

-- trained_on takes the key in its own type as well as in text
SELECT unlearn.trained_on('wf_m', 5) AS key_5, unlearn.trained_on('wf_m', 50) AS key_50,
       unlearn.trained_on('wf_m', 50::bigint) AS key_50_bigint, unlearn.trained_on('wf_m', '50') AS key_50_text;
