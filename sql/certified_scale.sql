-- Certified removal on unscaled features: the objective's noise is the
-- same for every weight, so training warns (with a hint to standardise)
-- when feature scales are far from unit or differ widely.
CREATE TABLE cs (id int PRIMARY KEY, small float8, large float8, unit float8, y int);
INSERT INTO cs SELECT i, 0.001 * sin(i), 500 * cos(i * 0.7), sin(i * 0.3), (sin(i) + cos(i * 0.7) > 0)::int
FROM generate_series(1, 400) i;
SELECT rows_trained FROM unlearn.train('cs_raw', 'cs', 'y', ARRAY['small', 'large', 'unit'], 'logistic_regression', 'certified');
-- one wide feature is enough
SELECT rows_trained FROM unlearn.train('cs_wide', 'cs', 'y', ARRAY['unit', 'large'], 'logistic_regression', 'certified');
-- standardised features: no warning
CREATE TABLE cs_z AS SELECT id, (small - avg(small) OVER ()) / stddev_pop(small) OVER () AS small,
                            (large - avg(large) OVER ()) / stddev_pop(large) OVER () AS large, unit, y FROM cs;
ALTER TABLE cs_z ADD PRIMARY KEY (id);
SELECT rows_trained FROM unlearn.train('cs_std', 'cs_z', 'y', ARRAY['small', 'large', 'unit'], 'logistic_regression', 'certified');
-- a constant column has no scale to judge; other strategies never warn
UPDATE cs_z SET unit = 1;
SELECT rows_trained FROM unlearn.train('cs_const', 'cs_z', 'y', ARRAY['small', 'large', 'unit'], 'logistic_regression', 'certified');
SELECT rows_trained FROM unlearn.train('cs_sisa', 'cs', 'y', ARRAY['small', 'large', 'unit'], 'logistic_regression');
SELECT unlearn.drop_model(name) FROM unlearn.models WHERE name LIKE 'cs\_%' ORDER BY name;
DROP TABLE cs, cs_z;
