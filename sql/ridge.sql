-- Ridge: (XcᵀXc + αI) w = Xcᵀyc on centred data, intercept not penalised.
CREATE TABLE rtab (id int PRIMARY KEY, x float8, y float8);
INSERT INTO rtab SELECT i, 50 + cos(i) * 2, 3 + 1.5 * (50 + cos(i) * 2) + sin(i * 3) FROM generate_series(1, 400) i;
SELECT name, algorithm FROM unlearn.train('ridge_a', 'rtab', 'y', ARRAY['x'], 'ridge', options => '{"l2": 25}');
SELECT name FROM unlearn.train('ridge_default', 'rtab', 'y', ARRAY['x'], 'ridge');

CREATE VIEW ridge_closed_form AS
WITH m AS (SELECT avg(x) AS mx, avg(y) AS my FROM rtab),
     s AS (SELECT sum((x - mx) * (y - my)) AS sxy, sum((x - mx) ^ 2) AS sxx, min(mx) AS mx, min(my) AS my FROM rtab, m)
SELECT alpha, sxy / (sxx + alpha) AS slope, my - mx * sxy / (sxx + alpha) AS intercept
FROM s, (VALUES (25.0::float8), (1.0)) a(alpha);
CREATE VIEW ridge_check AS
SELECT f.alpha, rel_diff(c.coefficient, f.slope) < 1e-9 AS slope_ok, rel_diff(i.coefficient, f.intercept) < 1e-9 AS intercept_ok
FROM ridge_closed_form f
JOIN LATERAL (SELECT CASE f.alpha WHEN 25 THEN 'ridge_a' ELSE 'ridge_default' END AS model) n ON true
JOIN LATERAL unlearn.coefficients(n.model) c ON c.feature = 'x'
JOIN LATERAL unlearn.coefficients(n.model) i ON i.feature = '(intercept)';

SELECT * FROM ridge_check ORDER BY alpha;

DELETE FROM rtab WHERE x > 51;
SELECT * FROM ridge_check ORDER BY alpha;
SELECT model, count(*) FROM unlearn.audit WHERE model LIKE 'ridge%' GROUP BY 1 ORDER BY 1;

-- ridge solves where OLS is singular (collinear features)
CREATE TABLE coll (id int PRIMARY KEY, a float8, b float8, y float8);
INSERT INTO coll SELECT i, i, 2 * i, 3 * i + 1 FROM generate_series(1, 20) i;
SELECT expect_error($$SELECT unlearn.train('coll_ols', 'coll', 'y', ARRAY['a', 'b'])$$);
SELECT rows_trained FROM unlearn.train('coll_ridge', 'coll', 'y', ARRAY['a', 'b'], 'ridge', options => '{"l2": 0.1}');
SELECT count(*) FROM unlearn.models WHERE name = 'coll_ols';
