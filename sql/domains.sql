-- A feature or target whose column is a domain over a numeric type is
-- numeric, in training (which reads the base type) and in the ALTER TABLE
-- event trigger alike: the first model's trigger installation, and any
-- later ALTER TABLE, keep the model whole.
CREATE DOMAIN measure AS float8 CHECK (VALUE > -1e9);
CREATE DOMAIN reading AS measure;  -- a domain over a domain
CREATE TABLE dom_t (id int PRIMARY KEY, x measure, z float8, y reading);
INSERT INTO dom_t SELECT g, g, g % 7, 2 * g + g % 5 FROM generate_series(1, 50) g;
SELECT name, rows_trained FROM unlearn.train('dom_m', 'dom_t', 'y', ARRAY['x', 'z']);
SELECT name, target, features FROM unlearn.models WHERE name = 'dom_m';
SELECT event FROM unlearn.audit WHERE model = 'dom_m' ORDER BY event_id;
ALTER TABLE dom_t ADD COLUMN note text;
SELECT name, target, features FROM unlearn.models WHERE name = 'dom_m';
DELETE FROM dom_t WHERE id <= 5;
SELECT bool_and(passed) AS verified FROM unlearn.verify('dom_m');
-- a domain feature retyped to text is no longer numeric: forgotten, as a plain one is
ALTER TABLE dom_t ALTER COLUMN x TYPE text;
SELECT name, target, features FROM unlearn.models WHERE name = 'dom_m';
SELECT bool_and(passed) AS verified FROM unlearn.verify('dom_m');
SELECT unlearn.drop_model('dom_m');
DROP TABLE dom_t;
DROP DOMAIN reading;
DROP DOMAIN measure;
