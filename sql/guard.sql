-- The C++/PostgreSQL boundary: both error paths, and the backend stays sane.
CREATE TABLE g (id int PRIMARY KEY, x float8, y float8);
INSERT INTO g SELECT i, i, 2 * i + sin(i) FROM generate_series(1, 100) i;
SELECT rows_trained FROM unlearn.train('g_ols', 'g', 'y', ARRAY['x']);
SELECT round(unlearn.predict('g_ols', ARRAY[10.0])::numeric, 6) AS before;

-- C++ exception -> ERROR: the core rejects a corrupt state blob (XX001)
BEGIN;
UPDATE unlearn.state SET state = set_byte(state, 40, get_byte(state, 40) # 255)
WHERE model_id = (SELECT model_id FROM unlearn.models WHERE name = 'g_ols');
SELECT expect_error($$SELECT unlearn.predict('g_ols', ARRAY[10.0])$$);
UPDATE unlearn.state SET state = substr(state, 1, 10)
WHERE model_id = (SELECT model_id FROM unlearn.models WHERE name = 'g_ols');
SELECT expect_error($$SELECT unlearn.predict('g_ols', ARRAY[10.0])$$);
UPDATE unlearn.state SET state = '\x'
WHERE model_id = (SELECT model_id FROM unlearn.models WHERE name = 'g_ols');
SELECT expect_error($$SELECT unlearn.predict('g_ols', ARRAY[10.0])$$);
-- a DELETE that meets a corrupt state fails cleanly and deletes nothing
SELECT expect_error($$DELETE FROM g WHERE id = 1$$);
SELECT count(*) FROM g;
ROLLBACK;
-- a corrupt lineage block too
BEGIN;
UPDATE unlearn.lineage_blocks SET block = 'garbage'::bytea;
SELECT expect_error($$SELECT unlearn.trained_on('g_ols', '1')$$);
ROLLBACK;

-- PostgreSQL error inside C++ (through pg_call): training on a table the
-- role cannot put triggers on; the error keeps its SQLSTATE (42501)
CREATE ROLE unlearn_guard_reader;
GRANT USAGE ON SCHEMA unlearn TO unlearn_guard_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA unlearn TO unlearn_guard_reader;
CREATE TABLE g_other (id int PRIMARY KEY, x float8, y float8);
INSERT INTO g_other SELECT i, i, i * 3 + cos(i) FROM generate_series(1, 20) i;
GRANT SELECT ON g_other TO unlearn_guard_reader;
SET ROLE unlearn_guard_reader;
SELECT expect_error($$SELECT unlearn.train('g_other_ols', 'g_other', 'y', ARRAY['x'])$$);
-- without SELECT on the source, training is refused before any work (42501)
RESET ROLE;
REVOKE SELECT ON g_other FROM unlearn_guard_reader;
SET ROLE unlearn_guard_reader;
SELECT expect_error($$SELECT unlearn.train('g_other_ols', 'g_other', 'y', ARRAY['x'])$$);
RESET ROLE;
SELECT count(*) AS half_created FROM unlearn.models WHERE name = 'g_other_ols';

-- after all of that the same backend predicts, trains and forgets as before
SELECT round(unlearn.predict('g_ols', ARRAY[10.0])::numeric, 6) AS after;
SELECT rows_trained FROM unlearn.train('g_other_ols', 'g_other', 'y', ARRAY['x']);
DELETE FROM g WHERE id <= 10;
SELECT check_name, passed FROM unlearn.verify('g_ols') ORDER BY 1;

-- calling the trigger function directly is refused
SELECT expect_error($$SELECT unlearn.forget_rows()$$);

-- dropping a source table drops its models (an event trigger), audited
DROP TABLE g_other;
SELECT count(*) AS models_left FROM unlearn.models WHERE name = 'g_other_ols';
SELECT event, method FROM unlearn.audit WHERE model = 'g_other_ols' ORDER BY event_id;
REVOKE ALL ON ALL TABLES IN SCHEMA unlearn FROM unlearn_guard_reader;
REVOKE ALL ON SCHEMA unlearn FROM unlearn_guard_reader;
DROP ROLE unlearn_guard_reader;
