-- Quality measured and stored: metrics on the holdout rows at train, marked
-- stale by a change of state, recomputed by refresh_metrics; evaluate on any
-- table; the model_summary dashboard.
CREATE TABLE q_reg (id int PRIMARY KEY, x1 float8, x2 float8, y float8);
INSERT INTO q_reg SELECT i, sin(i), cos(i * 0.7), 2 * sin(i) - cos(i * 0.7) + 0.3 * sin(i * 13.1) FROM generate_series(1, 600) i;
SELECT rows_trained FROM unlearn.train('q_ols', 'q_reg', 'y', ARRAY['x1', 'x2'], options => '{"holdout": 0.25}');
-- what the figures were computed on
SELECT metrics->>'computed_on' AS computed_on, (metrics->>'fraction')::float8 AS fraction,
       (metrics->>'rows')::int = (SELECT count(*) FROM unlearn.lineage WHERE model = 'q_ols' AND role = 'holdout') AS every_holdout_row,
       (metrics->>'model_version')::int AS model_version, metrics ? 'computed_at' AS has_time, metrics ? 'stale' AS stale
FROM unlearn.models WHERE name = 'q_ols';
-- R², RMSE and MAE equal the same figures counted in SQL over the holdout rows
CREATE TEMP VIEW q_ols_holdout AS
SELECT h.y, unlearn.predict('q_ols', h) AS p FROM q_reg h JOIN unlearn.lineage l ON l.key = h.id::text
WHERE l.model = 'q_ols' AND l.role = 'holdout';
CREATE FUNCTION pg_temp.reg_figures(OUT r2 float8, OUT rmse float8, OUT mae float8) LANGUAGE sql AS $$
    SELECT 1 - sum((y - p) ^ 2) / sum((y - (SELECT avg(y) FROM q_ols_holdout)) ^ 2),
           sqrt(avg((y - p) ^ 2)), avg(abs(y - p)) FROM q_ols_holdout $$;
SELECT rel_diff((m.metrics->>'r2')::float8, f.r2) < 1e-9 AS r2_matches, rel_diff((m.metrics->>'rmse')::float8, f.rmse) < 1e-9 AS rmse_matches,
       rel_diff((m.metrics->>'mae')::float8, f.mae) < 1e-9 AS mae_matches, round((m.metrics->>'r2')::numeric, 3) AS r2
FROM unlearn.models m, pg_temp.reg_figures() f WHERE m.name = 'q_ols';
-- the train event carries the same figures: the first point of the model's quality over time
SELECT a.details->'metrics'->'r2' = m.metrics->'r2' AS train_event_has_metrics
FROM unlearn.audit a JOIN unlearn.models m ON m.model_id = a.model_id WHERE m.name = 'q_ols' AND a.event = 'train';
-- a DELETE changes the model: its metrics are marked stale (with the time), not recomputed
DELETE FROM q_reg WHERE id % 5 = 0;
SELECT (metrics->>'stale')::bool AS stale, (metrics->>'stale_since')::timestamptz >= (metrics->>'computed_at')::timestamptz AS stale_since_later,
       (metrics->>'model_version')::int AS still_describes_version
FROM unlearn.models WHERE name = 'q_ols';
-- a second change keeps the first stale_since
CREATE TEMP TABLE q_since AS SELECT metrics->>'stale_since' AS since FROM unlearn.models WHERE name = 'q_ols';
DELETE FROM q_reg WHERE id % 7 = 0;
SELECT metrics->>'stale_since' = (SELECT since FROM q_since) AS first_stale_since_kept FROM unlearn.models WHERE name = 'q_ols';
-- refresh_metrics recomputes on the holdout rows left, for the model as it is now
SELECT (r->>'rows')::int = (SELECT count(*) FROM q_ols_holdout) AS holdout_rows_left, r ? 'stale' AS stale,
       (r->>'model_version')::int AS model_version, rel_diff((r->>'r2')::float8, (SELECT r2 FROM pg_temp.reg_figures())) < 1e-9 AS r2_matches
FROM unlearn.refresh_metrics('q_ols') r;
SELECT event, method, rows, state_hash_before = state_hash_after AS describes_one_state,
       state_hash_after = (SELECT state_hash_after FROM unlearn.audit WHERE model = 'q_ols' AND event = 'unlearn' ORDER BY event_id DESC LIMIT 1) AS of_the_latest_state,
       details->'metrics' ? 'r2' AS has_metrics
FROM unlearn.audit WHERE model = 'q_ols' AND event = 'metrics';
-- a model without holdout rows stores no metrics and cannot be refreshed
SELECT rows_trained FROM unlearn.train('q_plain', 'q_reg', 'y', ARRAY['x1', 'x2']);
SELECT metrics IS NULL AS no_metrics FROM unlearn.models WHERE name = 'q_plain';
SELECT expect_error($$SELECT unlearn.refresh_metrics('q_plain')$$);

-- evaluate: the same figures on any table with the target and feature columns
CREATE TABLE q_test (x1 float8, x2 float8, y float8, note text);
INSERT INTO q_test SELECT sin(i), cos(i * 0.7), 2 * sin(i) - cos(i * 0.7) + 0.3 * sin(i * 13.1), 'later' FROM generate_series(601, 800) i;
INSERT INTO q_test VALUES (NULL, 1, 1, 'no x1'), (1, 1, 'NaN', 'no y');
SELECT e->>'computed_on' AS computed_on, (e->>'rows')::int AS rows, (e->>'rows_skipped')::int AS rows_skipped,
       rel_diff((e->>'r2')::float8, (SELECT 1 - sum((y - unlearn.predict('q_plain', t)) ^ 2) / sum((y - (SELECT avg(y) FROM q_test WHERE x1 IS NOT NULL AND y <> 'NaN')) ^ 2)
                                     FROM q_test t WHERE x1 IS NOT NULL AND y <> 'NaN')) < 1e-9 AS r2_matches,
       rel_diff((e->>'mae')::float8, (SELECT avg(abs(y - unlearn.predict('q_plain', t))) FROM q_test t WHERE x1 IS NOT NULL AND y <> 'NaN')) < 1e-9 AS mae_matches
FROM unlearn.evaluate('q_plain', 'q_test') e;
-- or on the rows of a query, run as the caller
SELECT e->>'computed_on' AS computed_on, (e->>'rows')::int AS rows,
       e->'r2' = (SELECT unlearn.evaluate('q_plain', 'q_test')->'r2') AS same_r2_as_the_table
FROM unlearn.evaluate_query('q_plain', 'SELECT * FROM q_test WHERE note = ''later''') e;
SELECT (unlearn.evaluate_query('q_plain', 'SELECT x1, x2, y FROM q_test WHERE x1 > 0')->>'rows')::int AS rows_x1_positive,
       (SELECT count(*) FROM q_test WHERE x1 > 0 AND y <> 'NaN') AS expected;
SELECT expect_error($$SELECT unlearn.evaluate_query('q_plain', 'SELECT x1, y FROM q_test')$$);
-- it keeps the caller's search_path for the query, and calls nothing of a
-- schema on that path: a format(text, text) there is not chosen over
-- pg_catalog's (variadic) one
CREATE SCHEMA q_trap;
CREATE TABLE q_trap.called (who name);
CREATE FUNCTION q_trap.format(f text, a text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN INSERT INTO q_trap.called VALUES (current_user); RETURN pg_catalog.format(f, a); END $f$;
SET search_path = q_trap, public;
SELECT (unlearn.evaluate_query('q_plain', 'SELECT * FROM q_test')->>'rows')::int > 0 AS evaluated;
RESET search_path;
SELECT count(*) AS trap_calls FROM q_trap.called;
DROP SCHEMA q_trap CASCADE;
SELECT count(*) AS scratch_tables_left FROM pg_class WHERE relname LIKE 'query\_rows%';
SELECT expect_error($$SELECT unlearn.evaluate('q_plain', 'pg_class')$$);
CREATE TABLE q_wrong (x1 float8, y float8);
SELECT expect_error($$SELECT unlearn.evaluate('q_plain', 'q_wrong')$$);
CREATE VIEW q_view AS SELECT * FROM q_test;
SELECT expect_error($$SELECT unlearn.evaluate('q_plain', 'q_view')$$);
SELECT expect_error($$SELECT unlearn.evaluate('no_such_model', 'q_test')$$);
-- evaluate reads with the caller's rights: SELECT on the columns is needed
CREATE ROLE q_reader;
GRANT USAGE ON SCHEMA unlearn TO q_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA unlearn TO q_reader;
GRANT SELECT (x1, y) ON q_test TO q_reader;
SET ROLE q_reader;
-- the model first: it is read only by a role that may read its training columns
SELECT expect_error($$SELECT unlearn.evaluate('q_plain', 'q_test')$$);
RESET ROLE;
GRANT SELECT ON q_reg TO q_reader;
SET ROLE q_reader;
SELECT expect_error($$SELECT unlearn.evaluate('q_plain', 'q_test')$$);
RESET ROLE;
GRANT SELECT (x2) ON q_test TO q_reader;
SET ROLE q_reader;
SELECT (unlearn.evaluate('q_plain', 'q_test')->>'rows')::int AS rows_with_column_grants;
RESET ROLE;
-- and is refused on a table under row-level security for the caller
ALTER TABLE q_test ENABLE ROW LEVEL SECURITY;
CREATE POLICY q_some ON q_test FOR SELECT TO q_reader USING (x1 > 0);
SET ROLE q_reader;
SELECT expect_error($$SELECT unlearn.evaluate('q_plain', 'q_test')$$);
RESET ROLE;
DROP POLICY q_some ON q_test;
ALTER TABLE q_test DISABLE ROW LEVEL SECURITY;
REVOKE ALL ON q_test, q_reg FROM q_reader;
REVOKE ALL ON ALL TABLES IN SCHEMA unlearn FROM q_reader;
REVOKE USAGE ON SCHEMA unlearn FROM q_reader;
DROP ROLE q_reader;

-- classifiers: accuracy, log-loss, ROC AUC (two classes) and macro F1
CREATE TABLE q_cls (id int PRIMARY KEY, x1 float8, x2 float8, y int);
INSERT INTO q_cls SELECT i, sin(i), cos(i * 0.7), (sin(i) + 0.6 * sin(i * 7.7) > 0)::int FROM generate_series(1, 600) i;
SELECT rows_trained FROM unlearn.train('q_nb', 'q_cls', 'y', ARRAY['x1', 'x2'], 'naive_bayes', options => '{"holdout": 0.25}');
CREATE TEMP VIEW q_nb_holdout AS
SELECT h.y, unlearn.predict('q_nb', ARRAY[x1, x2]) AS p, (unlearn.predict_proba('q_nb', ARRAY[x1, x2]))[2] AS p1
FROM q_cls h JOIN unlearn.lineage l ON l.key = h.id::text WHERE l.model = 'q_nb' AND l.role = 'holdout';
SELECT rel_diff((m.metrics->>'accuracy')::float8, (SELECT avg((y = p)::int) FROM q_nb_holdout)) < 1e-12 AS accuracy_matches,
       rel_diff((m.metrics->>'log_loss')::float8,
                (SELECT avg(-ln(greatest(CASE WHEN y = 1 THEN p1 ELSE 1 - p1 END, 1e-15))) FROM q_nb_holdout)) < 1e-9 AS log_loss_matches,
       rel_diff((m.metrics->>'roc_auc')::float8,
                (SELECT avg(CASE WHEN a.p1 > b.p1 THEN 1 WHEN a.p1 = b.p1 THEN 0.5 ELSE 0 END)
                 FROM q_nb_holdout a, q_nb_holdout b WHERE a.y = 1 AND b.y = 0)) < 1e-12 AS roc_auc_matches,
       rel_diff((m.metrics->>'macro_f1')::float8,
                (SELECT avg(2 * tp / nullif(2 * tp + fp + fn, 0)) FROM
                    (SELECT c, count(*) FILTER (WHERE y = c AND p = c)::float8 AS tp, count(*) FILTER (WHERE y <> c AND p = c) AS fp,
                            count(*) FILTER (WHERE y = c AND p <> c) AS fn FROM q_nb_holdout, (VALUES (0), (1)) v(c) GROUP BY c) k)) < 1e-12
           AS macro_f1_matches,
       round((m.metrics->>'accuracy')::numeric, 3) AS accuracy, m.metrics ? 'r2' AS has_r2
FROM unlearn.models m WHERE m.name = 'q_nb';
-- three classes: no ROC AUC
CREATE TABLE q_three (id int PRIMARY KEY, x1 float8, x2 float8, y int);
INSERT INTO q_three SELECT i, sin(i), cos(i * 0.7), CASE WHEN sin(i) > 0.3 THEN 2 WHEN cos(i * 0.7) > 0 THEN 1 ELSE 0 END FROM generate_series(1, 600) i;
SELECT rows_trained FROM unlearn.train('q_lr3', 'q_three', 'y', ARRAY['x1', 'x2'], 'logistic_regression', options => '{"holdout": 0.25}');
SELECT metrics->'roc_auc' = 'null'::jsonb AS no_auc_for_three_classes, (metrics->>'accuracy')::float8 > 0.8 AS accurate,
       (metrics->>'macro_f1')::float8 > 0.8 AS balanced
FROM unlearn.models WHERE name = 'q_lr3';

-- the dashboard: one row per model
DELETE FROM q_cls WHERE id <= 30;
SELECT name, algorithm, strategy, source, shards, rows_held > 0 AS holds_rows, rows_forgotten > 0 AS forgot, metric,
       round(metric_value::numeric, 2) AS metric_value, metrics_stale, last_event, shards_holding_rows, budget_spent
FROM unlearn.model_summary WHERE name LIKE 'q\_%' ORDER BY name;
SELECT rows_trained FROM unlearn.train('q_sisa', 'q_cls', 'y', ARRAY['x1', 'x2'], 'logistic_regression', shards => 3);
SELECT rows_trained FROM unlearn.train('q_cert', 'q_cls', 'y', ARRAY['x1', 'x2'], 'logistic_regression', 'certified');
DELETE FROM q_cls WHERE id = 40;
SELECT unlearn.wait('q_sisa') AS caught_up;  -- the SISA shard retrains after commit
SELECT name, shards_holding_rows, budget_spent > 0 AND budget_spent < 1 AS budget_partly_spent, last_event
FROM unlearn.model_summary WHERE name IN ('q_sisa', 'q_cert') ORDER BY name;
-- shards > 1 with holdout rows: a NOTICE says what accuracy sharding gave up
-- against the same rows trained as one shard, also kept in the metrics
CREATE TABLE q_ring (id int PRIMARY KEY, x1 float8, x2 float8, y int);
INSERT INTO q_ring SELECT i, sin(i), cos(i * 0.7), (sin(i) ^ 2 + cos(i * 0.7) ^ 2 < 0.8)::int FROM generate_series(1, 800) i;
SELECT rows_trained FROM unlearn.train('q_mlp4', 'q_ring', 'y', ARRAY['x1', 'x2'], 'mlp', shards => 8,
                                       options => '{"holdout": 0.25, "hidden": 16}');
SELECT (metrics->>'one_shard_accuracy')::float8 > (metrics->>'accuracy')::float8 AS one_shard_better FROM unlearn.models WHERE name = 'q_mlp4';
-- one shard, or no holdout rows: nothing to compare
SELECT rows_trained FROM unlearn.train('q_mlp1', 'q_ring', 'y', ARRAY['x1', 'x2'], 'mlp', options => '{"holdout": 0.25, "hidden": 16}');
SELECT rows_trained FROM unlearn.train('q_mlp4n', 'q_ring', 'y', ARRAY['x1', 'x2'], 'mlp', shards => 4, options => '{"hidden": 16}');
SELECT name, metrics ? 'one_shard_accuracy' AS compared FROM unlearn.models WHERE name LIKE 'q\_mlp%' ORDER BY name;
SELECT unlearn.drop_model(name) FROM unlearn.models WHERE name LIKE 'q\_%' ORDER BY name;
DROP TABLE q_reg, q_test, q_wrong, q_cls, q_three, q_ring CASCADE;
