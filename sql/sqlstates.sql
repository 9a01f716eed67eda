-- Every error kind the SQL surface can provoke reaches the client with its
-- SQLSTATE (the mapping itself, out-of-memory included, is asserted by the
-- unit test Sqlstate.*; SerializationFailure, 40001, needs two sessions: see
-- the isolation spec snapshot_races; Internal is a bug, not provokable).
CREATE FUNCTION sqlstate_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
CREATE TABLE ss (id int PRIMARY KEY, x1 float8, x2 float8, y float8, label int, word text, blob bytea);
INSERT INTO ss SELECT i, sin(i), 2 * sin(i), cos(i), (sin(i * 3) > 0)::int, 'w', '\\x00' FROM generate_series(1, 50) i;
CREATE TABLE ss_one (id int PRIMARY KEY, x float8, label int);
INSERT INTO ss_one SELECT i, i, 1 FROM generate_series(1, 10) i;
CREATE VIEW ss_view AS SELECT * FROM ss;
SELECT rows_trained FROM unlearn.train('ss_m', 'ss', 'y', ARRAY['x1']);
SELECT rows_trained FROM unlearn.train('ss_bad', 'ss', 'y', ARRAY['x1']);
CREATE ROLE unlearn_ss_reader;
GRANT SELECT (id, x1) ON ss TO unlearn_ss_reader;
GRANT USAGE ON SCHEMA unlearn TO unlearn_ss_reader;
-- a state a superuser overwrote: decoding refuses it
UPDATE unlearn.state SET state = '\x0102' WHERE model_id = (SELECT model_id FROM unlearn.models WHERE name = 'ss_bad');

SELECT kind, sqlstate_of(q) AS sqlstate, want, sqlstate_of(q) = want AS as_documented
FROM (VALUES
    ('InvalidParameter', $$SELECT unlearn.train('e1', 'ss', 'y', ARRAY['x1'], options => '{"l2": -1}')$$, '22023'),
    ('DataException', $$SELECT unlearn.train('e2', 'ss_one', 'label', ARRAY['x'], 'naive_bayes')$$, '22000'),
    ('Singular', $$SELECT unlearn.train('e3', 'ss', 'y', ARRAY['x1', 'x2'])$$, '22023'),
    ('CorruptState', $$SELECT unlearn.predict('ss_bad', ARRAY[1.0])$$, 'XX001'),
    ('UndefinedObject', $$SELECT unlearn.predict('no_such_model', ARRAY[1.0])$$, '42704'),
    ('UndefinedColumn', $$SELECT unlearn.train('e6', 'ss', 'y', ARRAY['nope'])$$, '42703'),
    ('DuplicateObject', $$SELECT unlearn.train('ss_m', 'ss', 'y', ARRAY['x1'])$$, '42710'),
    ('WrongObjectType', $$SELECT unlearn.train('e8', 'ss', 'y', ARRAY['blob'])$$, '42809'),
    ('WrongObjectType', $$SELECT unlearn.train('e8b', 'ss_view', 'y', ARRAY['x1'])$$, '42809'),
    ('FeatureNotSupported', $$SELECT unlearn.train('e9', 'ss', 'y', ARRAY['x1'], 'linear_regression', 'incremental', 1, 3)$$, '0A000')
) AS c(kind, q, want)
ORDER BY 1;
-- a role that may read only some of the columns a model needs
SET ROLE unlearn_ss_reader;
SELECT 'InsufficientPrivilege' AS kind, sqlstate_of($$SELECT unlearn.train('e10', 'ss', 'y', ARRAY['x1'])$$) AS sqlstate, '42501' AS want;
RESET ROLE;
SELECT unlearn.drop_model('ss_m'), unlearn.drop_model('ss_bad');
DROP VIEW ss_view;
DROP TABLE ss, ss_one;
REVOKE USAGE ON SCHEMA unlearn FROM unlearn_ss_reader;
DROP ROLE unlearn_ss_reader;
DROP FUNCTION sqlstate_of(text);
