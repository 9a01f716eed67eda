-- Ordinary least squares with intercept, compared with closed forms.

-- One feature: PostgreSQL's own regr_slope / regr_intercept are the reference.
CREATE TABLE one (id int PRIMARY KEY, x float8, y float8);
INSERT INTO one SELECT i, 1000 + sin(i) * 3, 5 - 0.25 * (1000 + sin(i) * 3) + cos(i * 7) FROM generate_series(1, 500) i;
SELECT name, algorithm, strategy, shards, rows_trained, rows_skipped
FROM unlearn.train('one_ols', 'one', 'y', ARRAY['x']);
SELECT rel_diff(c.coefficient, r.slope) < 1e-9 AS slope_ok,
       rel_diff(i.coefficient, r.intercept) < 1e-9 AS intercept_ok
FROM (SELECT regr_slope(y, x) AS slope, regr_intercept(y, x) AS intercept FROM one) r,
     unlearn.coefficients('one_ols') c, unlearn.coefficients('one_ols') i
WHERE c.feature = 'x' AND i.feature = '(intercept)';

-- DELETE forgets: the model equals the closed form on the remaining rows.
DELETE FROM one WHERE id % 4 = 0;
SELECT rel_diff(c.coefficient, r.slope) < 1e-9 AS slope_ok,
       rel_diff(i.coefficient, r.intercept) < 1e-9 AS intercept_ok
FROM (SELECT regr_slope(y, x) AS slope, regr_intercept(y, x) AS intercept FROM one) r,
     unlearn.coefficients('one_ols') c, unlearn.coefficients('one_ols') i
WHERE c.feature = 'x' AND i.feature = '(intercept)';
SELECT rows_trained, rows_held, rows_forgotten, version FROM unlearn.models WHERE name = 'one_ols';

-- Three features of mixed types with an exact linear target: the
-- coefficients are known in closed form.
CREATE TABLE exact (id bigint PRIMARY KEY, a int, b numeric, c bool, d real, y float8);
INSERT INTO exact
SELECT i, i % 17, (i * 7 % 13)::numeric / 4, i % 3 = 0, (i % 5)::real, 1 + 2 * (i % 17) - 3 * ((i * 7 % 13)::float8 / 4) + 0.5 * (i % 3 = 0)::int - (i % 5)
FROM generate_series(1, 300) i;
SELECT rows_trained FROM unlearn.train('exact_ols', 'exact', 'y', ARRAY['a', 'b', 'c', 'd']);
SELECT feature, round(coefficient::numeric, 9) FROM unlearn.coefficients('exact_ols') ORDER BY feature;
-- array and record forms agree with the closed form
SELECT unlearn.predict('exact_ols', ARRAY[1, 2, 1, 3]::float8[]) - (1 + 2 - 6 + 0.5 - 3) BETWEEN -1e-9 AND 1e-9 AS array_ok;
SELECT bool_and(abs(unlearn.predict('exact_ols', e) - e.y) < 1e-9) AS record_ok FROM exact e;
SELECT * FROM unlearn.verify('exact_ols') WHERE NOT passed;

-- NULL, NaN, infinite or huge (beyond ±1e100, whose squares would overflow)
-- features or targets are skipped and counted, and never in lineage.
CREATE TABLE gaps (id text PRIMARY KEY, x float8, y float8);
INSERT INTO gaps VALUES ('a', 1, 2), ('b', 2, 4.5), ('c', NULL, 1), ('d', 4, NULL), ('e', 5, 10.5), ('f', 'NaN', 3),
                        ('g', 'Infinity', 1), ('h', 1e200, 1), ('i', 3, -1e150);
SELECT rows_trained, rows_skipped FROM unlearn.train('gaps_ols', 'gaps', 'y', ARRAY['x']);
SELECT unlearn.trained_on('gaps_ols', 'a') AS a, unlearn.trained_on('gaps_ols', 'c') AS c,
       unlearn.trained_on('gaps_ols', 'f') AS f, unlearn.trained_on('gaps_ols', 'zz') AS unknown;
SELECT rel_diff(coefficient, (SELECT regr_slope(y, x) FROM gaps WHERE id IN ('a', 'b', 'e'))) < 1e-12 AS slope_ok
FROM unlearn.coefficients('gaps_ols') WHERE feature = 'x';
-- a record with a NULL feature predicts NULL; one with a value training
-- would skip (NaN, infinite, beyond ±1e100) is an error (sql/errors.sql)
SELECT id, unlearn.predict('gaps_ols', g) IS NULL AS is_null FROM gaps g WHERE id NOT IN ('f', 'g', 'h') ORDER BY id;
SELECT expect_error(format('SELECT unlearn.predict(%L, g) FROM gaps g WHERE id = %L', 'gaps_ols', id)) FROM unnest(ARRAY['f', 'g', 'h']) id;

-- Composite primary keys are keyed by their record text form.
CREATE TABLE comp (region text, n int, x float8, y float8, PRIMARY KEY (region, n));
INSERT INTO comp SELECT r, n, n * 1.5, 3 * n * 1.5 + (r = 'south')::int FROM unnest(ARRAY['north', 'south', 'east west']) r, generate_series(1, 10) n;
SELECT rows_trained FROM unlearn.train('comp_ols', 'comp', 'y', ARRAY['x']);
SELECT unlearn.trained_on('comp_ols', '(north,3)') AS plain, unlearn.trained_on('comp_ols', '("east west",3)') AS quoted;
SELECT key FROM unlearn.lineage WHERE model = 'comp_ols' AND key = (ROW('east west', 3))::text;
DELETE FROM comp WHERE region = 'east west' AND n = 3;
SELECT unlearn.trained_on('comp_ols', '("east west",3)') AS quoted_after_delete;
SELECT * FROM unlearn.verify('comp_ols') WHERE NOT passed;

-- predict from rows stored before ALTER TABLE ... ADD COLUMN ... DEFAULT:
-- the column they lack reads as its default, as it does in the table
CREATE TABLE grown (id int PRIMARY KEY, x float8, y float8);
INSERT INTO grown SELECT g, g, 2 * g + 1 FROM generate_series(1, 20) g;
ALTER TABLE grown ADD COLUMN w float8 DEFAULT 2;
UPDATE grown SET w = id % 3 WHERE id > 10;
SELECT rows_trained FROM unlearn.train('grown_ols', 'grown', 'y', ARRAY['x', 'w']);
SELECT w, unlearn.predict('grown_ols', g) = unlearn.predict('grown_ols', ARRAY[4, 2]) AS uses_default
FROM grown g WHERE id = 4;

-- one call naming its model per row: each row is predicted by its own model
-- (the call remembers the last model it looked up, by name); MATERIALIZED
-- keeps the planner from copying the call into each branch of the CASE
CREATE TABLE twice (id int PRIMARY KEY, x float8, y float8);
INSERT INTO twice SELECT g, g, 2 * g FROM generate_series(1, 10) g;
SELECT rows_trained FROM unlearn.train('twice_ols', 'twice', 'y', ARRAY['x']);
WITH s AS MATERIALIZED (
    SELECT g, g + 0.5 AS v, unlearn.predict(CASE WHEN g % 2 = 0 THEN 'one_ols' ELSE 'twice_ols' END, ARRAY[g + 0.5]) AS p
    FROM generate_series(1, 40) g)
SELECT count(*) AS rows,
       bool_and(CASE WHEN g % 2 = 0 THEN rel_diff(p, r.intercept + r.slope * v) < 1e-9
                     ELSE rel_diff(p, 2 * v) < 1e-9 END) AS each_its_own
FROM (SELECT regr_slope(y, x) AS slope, regr_intercept(y, x) AS intercept FROM one) r, s;
