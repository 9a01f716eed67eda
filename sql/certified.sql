-- Certified removal (Guo et al. 2020): a DELETE is one Newton step per
-- touched shard, with a running bound on the gradient residual; past the
-- budget the shard is retrained exactly.
CREATE TABLE cert (id int PRIMARY KEY, x1 float8, x2 float8, label int);
INSERT INTO cert SELECT i, sin(i), cos(i * 1.7), 0 FROM generate_series(1, 3000) i;
UPDATE cert SET label = (x1 + 0.5 * x2 + 0.8 * sin(id * 7.3) > 0)::int;

SELECT name, algorithm_used, strategy_used, shards_used, rows_trained
FROM unlearn.train('crt', 'cert', 'label', ARRAY['x1', 'x2'], 'logistic_regression', 'certified', shards => 2,
                   options => '{"noise": 1, "epsilon": 1, "delta": 1e-4, "holdout": 0.2}');
-- no checkpoints: the state is the parameters, the Hessian and the Gram matrix
SELECT count(*) AS checkpoints FROM unlearn.checkpoints c JOIN unlearn.models m USING (model_id) WHERE m.name = 'crt';
-- one single-row DELETE, then a batch: each is one Newton step per touched shard
DELETE FROM cert WHERE id = (SELECT min(key::int) FROM unlearn.lineage WHERE model = 'crt' AND role = 'train');
DELETE FROM cert WHERE id IN (SELECT key::int FROM unlearn.lineage WHERE model = 'crt' AND role = 'train' ORDER BY key::int LIMIT 10);
SELECT rows, method, details->>'path' AS path, cardinality(shards) AS shards,
       (details->>'bound_after')::float8 > (details->>'bound_before')::float8 AS bound_grew,
       (details->>'bound_after')::float8 < (details->>'budget')::float8 AS within_budget,
       round((details->>'budget')::numeric, 6) AS budget, (details->>'evidence_auc')::float8 BETWEEN 0 AND 1 AS has_evidence
FROM unlearn.audit WHERE model = 'crt' AND event = 'unlearn' ORDER BY event_id;
-- the budget is sigma * epsilon / sqrt(2 ln(1.5 / delta))
SELECT abs((details->>'budget')::float8 - 1 * 1 / sqrt(2 * ln(1.5 / 1e-4))) < 1e-12 AS budget_formula
FROM unlearn.audit WHERE model = 'crt' AND event = 'unlearn' ORDER BY event_id LIMIT 1;
-- verify: the true gradient residual stays within the bound, and the distance
-- to an exact retrain within what the bound promises
SELECT check_name, passed FROM unlearn.verify('crt') WHERE check_name NOT LIKE 'shard %' ORDER BY 1;
-- approximate, not exact: a model trained on the remaining rows (same seed,
-- same noise) is close to the Newton-updated one but not equal
SELECT rows_trained FROM unlearn.train('crt_fresh', 'cert', 'label', ARRAY['x1', 'x2'], 'logistic_regression', 'certified',
                                       shards => 2, options => '{"noise": 1, "epsilon": 1, "delta": 1e-4, "holdout": 0.2}');
SELECT max(abs(a.coefficient - b.coefficient)) < 1e-3 AS close, max(abs(a.coefficient - b.coefficient)) > 0 AS not_identical
FROM unlearn.coefficients('crt') a JOIN unlearn.coefficients('crt_fresh') b USING (shard, feature);
SELECT unlearn.drop_model('crt_fresh');

-- A small budget is spent quickly: the shard is retrained exactly and its bound resets.
SELECT rows_trained FROM unlearn.train('tight', 'cert', 'label', ARRAY['x1', 'x2'], 'logistic_regression', 'certified',
                                       options => '{"noise": 0.001}');
DELETE FROM cert WHERE id BETWEEN 2000 AND 2004;
DELETE FROM cert WHERE id BETWEEN 2005 AND 2040;
SELECT rows, method, details->>'path' AS path, (details->>'bound_after')::float8 < 1e-6 AS bound_reset_after_retrain
FROM unlearn.audit WHERE model = 'tight' AND event = 'unlearn' ORDER BY event_id;
SELECT check_name, passed FROM unlearn.verify('tight') WHERE NOT passed;
-- after a retrain the model is the exact optimum: equal to a fresh model
SELECT rows_trained FROM unlearn.train('tight_fresh', 'cert', 'label', ARRAY['x1', 'x2'], 'logistic_regression', 'certified',
                                       options => '{"noise": 0.001}');
SELECT max(abs(a.coefficient - b.coefficient)) < 1e-8 AS same_as_retrain
FROM unlearn.coefficients('tight') a JOIN unlearn.coefficients('tight_fresh') b USING (shard, feature);
SELECT unlearn.drop_model('tight_fresh');
SELECT unlearn.drop_model('tight');

-- forget_feature retrains the shards exactly without the column
SELECT unlearn.forget_feature('crt', 'x2');
SELECT count(*) AS coefficients FROM unlearn.coefficients('crt');
SELECT check_name, passed FROM unlearn.verify('crt') WHERE NOT passed;

-- the feature-injection test: an approximate method leaves a trace, below the injected weight
SELECT rows_injected, weight_before > 0.1 AS learned_the_feature, ratio < 0.5 AS mostly_forgotten
FROM unlearn.feature_injection_test('cert', 'label', ARRAY['x1', 'x2'],
                                    ARRAY(SELECT i::text FROM generate_series(2100, 2400, 10) i), 'logistic_regression', 'certified');

-- TRUNCATE leaves empty shards
TRUNCATE cert;
SELECT rows_held FROM unlearn.models WHERE name = 'crt';
SELECT expect_error($$SELECT unlearn.predict('crt', ARRAY[0.0])$$);

-- bad input
INSERT INTO cert SELECT i, sin(i), cos(i), i % 3 FROM generate_series(1, 100) i;
SELECT expect_error($$SELECT unlearn.train('b', 'cert', 'label', ARRAY['x1'], 'logistic_regression', 'certified')$$);
SELECT expect_error($$SELECT unlearn.train('b', 'cert', 'label', ARRAY['x1'], 'mlp', 'certified')$$);
SELECT expect_error($$SELECT unlearn.train('b', 'cert', 'x1', ARRAY['x2'], 'ridge', 'certified')$$);
SELECT expect_error($$SELECT unlearn.train('b', 'cert', 'label', ARRAY['x1'], 'logistic_regression', 'certified', slices => 2)$$);
SELECT expect_error($$SELECT unlearn.train('b', 'cert', 'label', ARRAY['x1'], 'logistic_regression', 'certified', options => '{"on_insert": "learn"}')$$);
SELECT expect_error($$SELECT unlearn.train('b', 'cert', 'label', ARRAY['x1'], 'logistic_regression', 'certified', options => '{"noise": 0}')$$);
SELECT expect_error($$SELECT unlearn.train('b', 'cert', 'label', ARRAY['x1'], 'logistic_regression', 'certified', options => '{"delta": 1.5}')$$);
SELECT count(*) AS models_named_b FROM unlearn.models WHERE name = 'b';
SELECT unlearn.drop_model('crt');
DROP TABLE cert;
