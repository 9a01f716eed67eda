-- Random forests (strategy dare, Brophy & Lowd, ICML 2021): a DELETE walks
-- the forgotten rows' paths, updates each node's candidate statistics and
-- retrains only subtrees whose split changes; the forest stays bit for bit
-- the one a retrain on the remaining rows with the same seed builds, which
-- verify checks (structure and predictions).
CREATE TABLE trees (id int PRIMARY KEY, x1 float8, x2 float8, x3 float8, label int, y float8);
INSERT INTO trees SELECT i, round((4 * sin(i))::numeric, 2), round((3 * cos(i * 1.7))::numeric, 1), (i * 37 % 11) - 5, 0, 0
FROM generate_series(1, 1500) i;
UPDATE trees SET label = CASE WHEN x1 + 0.8 * x2 > 1 THEN 2 WHEN x1 - x3 / 3 > -1 THEN 1 ELSE 0 END,
                 y = 2 * x1 - x2 * x2 + 0.3 * sin(id * 7.3);

SELECT name, algorithm, strategy, shards, rows_trained, rows_skipped
FROM unlearn.train('rf', 'trees', 'label', ARRAY['x1', 'x2', 'x3'], 'random_forest',
                   options => '{"n_estimators": 12, "seed": 7, "on_insert": "learn"}');
SELECT name, algorithm, strategy, rows_trained
FROM unlearn.train('rfr', 'trees', 'y', ARRAY['x1', 'x2', 'x3'], 'random_forest_regressor',
                   options => '{"n_estimators": 8, "max_depth": 8, "min_samples_leaf": 2, "random_depth": 1, "seed": 7, "on_insert": "learn"}');
SELECT algorithm, strategy, shards, slices FROM unlearn.models WHERE name IN ('rf', 'rfr') ORDER BY name;
-- accuracy on the training rows, probabilities sum to one
SELECT avg((unlearn.predict('rf', ARRAY[x1, x2, x3]) = label)::int) > 0.95 AS fits_classes,
       bool_and(abs((SELECT sum(p) FROM unnest(unlearn.predict_proba('rf', ARRAY[x1, x2, x3])) p) - 1) < 1e-12) AS proba_sums_to_one
FROM trees;
SELECT sqrt(avg((unlearn.predict('rfr', ARRAY[x1, x2, x3]) - y) ^ 2)) < 0.5 AS fits_values FROM trees;
-- feature importances (scikit-learn's feature_importances_) sum to one
SELECT feature, coefficient > 0 AS used FROM unlearn.coefficients('rf') ORDER BY feature;
SELECT abs(sum(coefficient) - 1) < 1e-12 AS importances_sum_to_one FROM unlearn.coefficients('rfr');
-- a forest is exported by its importances and class list: its thresholds locate held rows
SELECT unlearn.export('rf')->'parameters' ? 'feature_importances' AS importances, unlearn.export('rf')->'classes' AS classes,
       unlearn.predict_label('rf', ARRAY[0.5, 0.5, 0.5]) IN ('0', '1', '2') AS labelled;
SELECT check_name, value, passed FROM unlearn.verify('rf') ORDER BY 1;

-- forget one row, then 1% of the rows in one statement
DELETE FROM trees WHERE id = 42;
DELETE FROM trees WHERE id % 100 = 7;
SELECT event, method, rows FROM unlearn.audit WHERE model = 'rf' ORDER BY event_id;
SELECT unlearn.trained_on('rf', '42') AS still_trained_on;
SELECT check_name, passed FROM unlearn.verify('rf') WHERE NOT passed;
SELECT check_name, passed FROM unlearn.verify('rfr') WHERE NOT passed;

-- learn inserts, forget then learn updates
INSERT INTO trees VALUES (5001, 1.5, -2, 3, 2, 0.25), (5002, -3.25, 0.5, -4, 0, 7);
UPDATE trees SET x1 = x1 + 0.5, y = y - 1 WHERE id BETWEEN 100 AND 104;
SELECT rows_held, rows_forgotten FROM unlearn.models WHERE name = 'rf';
SELECT check_name, passed FROM unlearn.verify('rf') WHERE NOT passed;
SELECT check_name, passed FROM unlearn.verify('rfr') WHERE NOT passed;

-- the same forest as a fresh train on the rows left, bit for bit
SELECT rows_trained FROM unlearn.train('rf_fresh', 'trees', 'label', ARRAY['x1', 'x2', 'x3'], 'random_forest',
                                       options => '{"n_estimators": 12, "seed": 7}');
SELECT count(*) AS rows, bool_and(unlearn.predict_proba('rf', ARRAY[x1, x2, x3]) = unlearn.predict_proba('rf_fresh', ARRAY[x1, x2, x3]))
    AS same_probabilities
FROM trees;
SELECT (SELECT state FROM unlearn.state s JOIN unlearn.models m USING (model_id) WHERE m.name = 'rf') =
       (SELECT state FROM unlearn.state s JOIN unlearn.models m USING (model_id) WHERE m.name = 'rf_fresh') AS same_state;
SELECT unlearn.drop_model('rf_fresh');

-- Thousands of single-row DELETEs and INSERTs, each its own statement, then
-- verify: still the retrain's forest.
CREATE TABLE churn (id int PRIMARY KEY, a float8, b float8, c int);
INSERT INTO churn SELECT i, round((10 * sin(i * 0.37))::numeric, 1), (i * 7919 % 1000) / 100.0, (sin(i * 0.37) + (i * 7919 % 1000) / 500.0 > 1)::int
FROM generate_series(1, 600) i;
SELECT rows_trained FROM unlearn.train('churn_rf', 'churn', 'c', ARRAY['a', 'b'], 'random_forest',
                                       options => '{"n_estimators": 4, "max_depth": 6, "seed": 3, "on_insert": "learn"}');
DO $$
DECLARE
    n int := 600;
    victim int;
BEGIN
    PERFORM setseed(0.25);
    FOR i IN 1..1200 LOOP
        IF random() < 0.5 THEN
            SELECT id INTO victim FROM churn ORDER BY id OFFSET floor(random() * 100) LIMIT 1;
            DELETE FROM churn WHERE id = victim;
        ELSE
            n := n + 1;
            INSERT INTO churn VALUES (n, round((10 * sin(n * 0.37))::numeric, 1), (n * 7919 % 1000) / 100.0,
                                      (sin(n * 0.37) + (n * 7919 % 1000) / 500.0 > 1)::int);
        END IF;
    END LOOP;
END $$;
SELECT (SELECT count(*) FROM churn) = rows_held AS holds_every_row, rows_forgotten > 500 AS forgot_many FROM unlearn.models WHERE name = 'churn_rf';
SELECT check_name, value, passed FROM unlearn.verify('churn_rf') ORDER BY 1;

-- TRUNCATE: a forest that holds no row
TRUNCATE churn;
SELECT rows_held FROM unlearn.models WHERE name = 'churn_rf';
SELECT check_name, passed FROM unlearn.verify('churn_rf') WHERE NOT passed;

-- forget_feature: the forest a train without the column builds
SELECT unlearn.forget_feature('rfr', 'x3');
SELECT feature FROM unlearn.coefficients('rfr') ORDER BY 1;
SELECT check_name, passed FROM unlearn.verify('rfr') WHERE NOT passed;

-- Izzo et al.'s feature injection: rows given an indicator and the largest
-- label; after their DELETE the forest gives the indicator no weight, as a
-- retrain does (exact forgetting)
SELECT rows_injected, weight_before > 0 AS injected_weight, weight_after, weight_retrained
FROM unlearn.feature_injection_test('trees', 'label', ARRAY['x1', 'x2', 'x3'],
                                    ARRAY(SELECT id::text FROM trees WHERE label = 0 ORDER BY id LIMIT 40),
                                    'random_forest', options => '{"n_estimators": 5, "seed": 1}');

-- bad input: clear errors before anything is written
CREATE TABLE flat (id int PRIMARY KEY, x float8, label int, y float8, cont float8);
INSERT INTO flat SELECT i, i, 1, 2.5, i / 7.0 FROM generate_series(1, 50) i;
SELECT unlearn.train('bad', 'flat', 'label', ARRAY['x'], 'random_forest');
SELECT unlearn.train('bad', 'flat', 'y', ARRAY['x'], 'random_forest_regressor');
SELECT unlearn.train('bad', 'flat', 'cont', ARRAY['x'], 'random_forest');
SELECT unlearn.train('bad', 'trees', 'label', ARRAY['x1'], 'random_forest', options => '{"max_depth": 0}');
SELECT unlearn.train('bad', 'trees', 'label', ARRAY['x1'], 'random_forest', options => '{"cell_bits": 53}');
-- a forest trained before 0.7.0 under that version's defaults (every value
-- its own cell, no random levels), whose options name neither: it keeps the
-- rules it was trained with, before and after it forgets rows
SELECT rows_trained FROM unlearn.train('old_rf', 'trees', 'label', ARRAY['x1', 'x2', 'x3'], 'random_forest',
                                       options => '{"n_estimators": 4, "seed": 3, "random_depth": 0, "cell_bits": 52}');
UPDATE unlearn.models SET options = '{"n_estimators": 4, "seed": 3}' WHERE name = 'old_rf';
SELECT check_name, passed FROM unlearn.verify('old_rf') WHERE NOT passed;
BEGIN;
DELETE FROM trees WHERE id % 50 = 1;
SELECT check_name, passed FROM unlearn.verify('old_rf') WHERE NOT passed;
ROLLBACK;
SELECT unlearn.drop_model('old_rf');
SELECT unlearn.train('bad', 'trees', 'label', ARRAY['x1'], 'random_forest', options => '{"n_estimators": 100000}');
SELECT unlearn.train('bad', 'trees', 'label', ARRAY['x1'], 'random_forest', options => '{"max_features": "half"}');
SELECT unlearn.train('bad', 'trees', 'label', ARRAY['x1'], 'random_forest', options => '{"l2": 1}');
SELECT unlearn.train('bad', 'trees', 'label', ARRAY['x1'], 'random_forest', 'sisa');
SELECT unlearn.train('bad', 'trees', 'label', ARRAY['x1'], 'random_forest', shards => 2);
SELECT unlearn.train('bad', 'trees', 'label', ARRAY['x1'], 'logistic_regression', 'dare');
SET unlearn.max_memory = '1MB';
SELECT unlearn.train('bad', 'trees', 'label', ARRAY['x1', 'x2', 'x3'], 'random_forest', options => '{"n_estimators": 2000}');
RESET unlearn.max_memory;
SELECT count(*) AS bad_models FROM unlearn.models WHERE name = 'bad';
-- NaN and infinite rows are skipped and counted
INSERT INTO flat VALUES (51, 'NaN', 0, 1, 1), (52, 'Infinity', 0, 1, 1), (53, 1, 0, 'NaN', 1);
UPDATE flat SET label = id % 2 WHERE id <= 50;
SELECT rows_trained, rows_skipped FROM unlearn.train('skips', 'flat', 'label', ARRAY['x', 'y'], 'random_forest',
                                                     options => '{"n_estimators": 3}');

SELECT unlearn.drop_model(name) FROM unlearn.models WHERE name IN ('rf', 'rfr', 'churn_rf', 'skips') ORDER BY name;
DROP TABLE trees, churn, flat;
