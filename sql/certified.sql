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
       round((details->>'budget')::numeric, 6) AS budget,
       -- no attack AUC for one row: it would be that row's own loss rank
       coalesce((details->>'evidence_auc')::float8 BETWEEN 0 AND 1, false) AS has_evidence, details->>'evidence_withheld' AS withheld
FROM unlearn.audit WHERE model = 'crt' AND event = 'unlearn' ORDER BY event_id;
-- deleting only a holdout row changes no shard, and the audit says so
DELETE FROM cert WHERE id = (SELECT min(key::int) FROM unlearn.lineage WHERE model = 'crt' AND role = 'holdout');
SELECT rows, method, details->>'path' AS path, state_hash_before = state_hash_after AS state_unchanged
FROM unlearn.audit WHERE model = 'crt' AND event = 'unlearn' ORDER BY event_id DESC LIMIT 1;
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
SELECT rows, method, details->>'path' AS path, (details->>'bound_after')::float8 < 1e-6 AS bound_reset_after_retrain,
       (details->>'bound_reached')::float8 > (details->>'budget')::float8 AS reached_past_budget
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

-- the feature-injection test: what is left of the injected weight is what a
-- retrain without the rows keeps too (the objective's noise, -b/λ, weighs the
-- all-zero column), on the Newton path (a few rows, large budget) and on the
-- retrain path (many rows, the default budget)
SELECT rows_injected, weight_before > 0.1 AS learned_the_feature, ratio < 0.5 AS mostly_forgotten,
       weight_retrained > 0 AS noise_leaves_a_weight, abs(weight_after - weight_retrained) < 1e-6 AS as_the_retrain
FROM unlearn.feature_injection_test('cert', 'label', ARRAY['x1', 'x2'],
                                    ARRAY(SELECT i::text FROM generate_series(2100, 2400, 10) i), 'logistic_regression', 'certified');
SELECT rows_injected, abs(weight_after - weight_retrained) < 0.05 * weight_retrained AS near_the_retrain,
       weight_after <> weight_retrained AS approximate
FROM unlearn.feature_injection_test('cert', 'label', ARRAY['x1', 'x2'], ARRAY['2100', '2250', '2400'],
                                    'logistic_regression', 'certified', options => '{"epsilon": 1000}');
SELECT details->>'path' AS path FROM unlearn.audit WHERE model LIKE 'unlearn_injection_%' AND event = 'unlearn'
ORDER BY event_id DESC LIMIT 1;

-- a DELETE that leaves a shard with one class (a partner withdraws every
-- positive row) is not refused: the shard is refitted and predicts its class
CREATE TABLE onecls (id int PRIMARY KEY, x float8, label int);
INSERT INTO onecls SELECT i, sin(i), (i % 4 = 0)::int FROM generate_series(1, 400) i;
SELECT rows_trained FROM unlearn.train('onecls_c', 'onecls', 'label', ARRAY['x'], 'logistic_regression', 'certified');
DELETE FROM onecls WHERE label = 1;
SELECT rows, details->>'path' AS path FROM unlearn.audit WHERE model = 'onecls_c' AND event = 'unlearn';
SELECT round(unlearn.predict('onecls_c', ARRAY[0.5])) AS predicts, round((unlearn.predict_proba('onecls_c', ARRAY[0.5]))[1]::numeric, 6) AS p_zero;
SELECT check_name, passed FROM unlearn.verify('onecls_c') WHERE check_name NOT LIKE 'shard %' ORDER BY 1;
DELETE FROM onecls WHERE id <= 40;
SELECT rows_held = (SELECT count(*) FROM onecls) AS holds_the_table FROM unlearn.models WHERE name = 'onecls_c';
SELECT check_name, passed FROM unlearn.verify('onecls_c') WHERE NOT passed;
SELECT unlearn.drop_model('onecls_c');
DROP TABLE onecls;

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

-- Forgetting evidence on the Newton path: members of a model with 40 features
-- on 178 training rows are exposed (attack AUC > 0.6; the holdout draw of
-- seed 1 exposes its first 20 members clearly, at 0.66). One Newton step removes
-- 20 of them; the attack on those rows, scored at DELETE time, is checked
-- against the same AUC counted here over all pairs, and against an exact
-- retrain (sisa) of the same data.
CREATE TABLE leak (id int PRIMARY KEY, label int);
SELECT format('ALTER TABLE leak %s', string_agg(format('ADD COLUMN f%s float8', k), ', ')) FROM generate_series(1, 40) k \gexec
INSERT INTO leak (id, label) SELECT i, (sin(i * 12.9898) * 43758.5453 - floor(sin(i * 12.9898) * 43758.5453) > 0.5)::int
FROM generate_series(1, 300) i;
SELECT format('UPDATE leak SET %s', string_agg(format('f%s = sin(id * %s + %s)', k, k * 0.731, k), ', ')) FROM generate_series(1, 40) k \gexec
SELECT rows_trained FROM unlearn.train('leak_cert', 'leak', 'label', ARRAY(SELECT 'f' || k FROM generate_series(1, 40) k),
                                       'logistic_regression', 'certified', options => '{"l2": 0.1, "holdout": 0.4, "noise": 1, "epsilon": 1000, "seed": 1}');
SELECT rows_trained FROM unlearn.train('leak_exact', 'leak', 'label', ARRAY(SELECT 'f' || k FROM generate_series(1, 40) k),
                                       'logistic_regression', 'sisa', options => '{"l2": 0.1, "holdout": 0.4, "seed": 1, "retrain": "inline"}');
-- the 20 rows to forget and every holdout row, features as arrays (test data only)
CREATE TEMP TABLE scored AS
SELECT l.role, l.key::int AS id, h.label,
       ARRAY[f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18, f19, f20,
             f21, f22, f23, f24, f25, f26, f27, f28, f29, f30, f31, f32, f33, f34, f35, f36, f37, f38, f39, f40] AS x
FROM leak h JOIN unlearn.lineage l ON l.key = h.id::text AND l.model = 'leak_cert';
DELETE FROM scored WHERE role = 'train' AND id NOT IN (SELECT id FROM scored WHERE role = 'train' ORDER BY id LIMIT 20);
CREATE FUNCTION pg_temp.attack_auc(model text) RETURNS float8 LANGUAGE sql AS $$
    WITH s AS (SELECT role, ln((unlearn.predict_proba(model, x))[label + 1]) AS score FROM scored)
    SELECT avg(CASE WHEN m.score > n.score THEN 1 WHEN m.score = n.score THEN 0.5 ELSE 0 END)
    FROM s m, s n WHERE m.role = 'train' AND n.role = 'holdout' $$;
CREATE TEMP TABLE exposed AS SELECT pg_temp.attack_auc('leak_cert') AS auc;
DELETE FROM leak WHERE id IN (SELECT id FROM scored WHERE role = 'train');
SELECT c.details->>'path' AS path, (c.details->>'evidence_forgotten')::int AS forgotten,
       (c.details->>'evidence_unseen')::int = (SELECT count(*) FROM scored WHERE role = 'holdout') AS every_holdout_row,
       abs((c.details->>'evidence_auc')::float8 - pg_temp.attack_auc('leak_cert')) < 1e-9 AS evidence_matches_sql,
       (SELECT auc FROM exposed) > 0.6 AS exposed_before,
       (c.details->>'evidence_auc')::float8 < (SELECT auc FROM exposed) - 0.1 AS lower_after,
       abs((c.details->>'evidence_auc')::float8 - (e.details->>'evidence_auc')::float8) < 0.05 AS near_the_exact_retrain
FROM unlearn.audit c, unlearn.audit e
WHERE c.model = 'leak_cert' AND c.event = 'unlearn' AND e.model = 'leak_exact' AND e.event = 'unlearn';
SELECT check_name, passed FROM unlearn.verify('leak_cert') WHERE NOT passed;
SELECT unlearn.drop_model('leak_cert'), unlearn.drop_model('leak_exact');
DROP TABLE leak;
