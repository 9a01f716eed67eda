\c t2
DROP TABLE IF EXISTS tr CASCADE;
CREATE TABLE tr (id int PRIMARY KEY, x float8, z float8, lab int);
INSERT INTO tr SELECT g, (g % 17) - 8 + sin(g), cos(g*1.3), CASE WHEN (g % 17) - 8 + sin(g) + cos(g*1.3) > 0 THEN 1 ELSE 0 END FROM generate_series(1,100000) g;
\timing on
SELECT rows_trained FROM unlearn.train('mtr','tr','lab',ARRAY['x','z'], algorithm => 'mlp', shards => 1, slices => 2, options => '{"on_insert":"learn", "epochs": 400, "hidden": 64, "tol": 0, "n_iter_no_change": 1000}');
\timing off
