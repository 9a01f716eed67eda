-- Numerics must not drift: delete 99% of a table one row per statement and
-- the model still equals a retrain on what is left, to 1e-9 relative.
CREATE TABLE drift (id int PRIMARY KEY, a float8, b float8, c float8, y float8);
INSERT INTO drift
SELECT i, 1000 + sin(i), 1e-3 * cos(i * 3), 50 * sin(i * 7) + 7, 4 + 0.5 * (1000 + sin(i)) - 300 * 1e-3 * cos(i * 3) + 0.02 * (50 * sin(i * 7) + 7) + 0.01 * sin(i * 11)
FROM generate_series(1, 2000) i;
SELECT rows_trained FROM unlearn.train('drift_ols', 'drift', 'y', ARRAY['a', 'b', 'c']);

DO $$
BEGIN
    FOR i IN 1..2000 LOOP
        IF i % 100 <> 0 THEN
            DELETE FROM drift WHERE id = i;
        END IF;
    END LOOP;
END $$;
SELECT count(*) AS remaining, (SELECT count(*) FROM unlearn.audit WHERE model = 'drift_ols' AND event = 'unlearn') AS unlearn_events
FROM drift;

SELECT rows_trained FROM unlearn.train('drift_fresh', 'drift', 'y', ARRAY['a', 'b', 'c']);
SELECT max(rel_diff(o.coefficient, f.coefficient)) < 1e-9 AS within_1e9
FROM unlearn.coefficients('drift_ols') o JOIN unlearn.coefficients('drift_fresh') f USING (feature);
SELECT check_name, passed FROM unlearn.verify('drift_ols') ORDER BY 1;

-- one feature: against PostgreSQL's regr_slope on the remaining rows
CREATE TABLE drift1 (id int PRIMARY KEY, x float8, y float8);
INSERT INTO drift1 SELECT i, 1e6 + sin(i), 3 - 2 * (1e6 + sin(i)) + cos(i) FROM generate_series(1, 1000) i;
SELECT rows_trained FROM unlearn.train('drift1_ols', 'drift1', 'y', ARRAY['x']);
DO $$
BEGIN
    FOR i IN 1..1000 LOOP
        IF i % 50 <> 0 THEN
            DELETE FROM drift1 WHERE id = i;
        END IF;
    END LOOP;
END $$;
SELECT rel_diff(c.coefficient, (SELECT regr_slope(y, x) FROM drift1)) < 1e-9 AS slope_within_1e9
FROM unlearn.coefficients('drift1_ols') c WHERE feature = 'x';
