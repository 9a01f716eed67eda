-- SISA: logistic_regression and mlp train per shard, slice by slice, with a
-- checkpoint after every slice; a DELETE retrains only the affected shards
-- from the last checkpoint that never saw the deleted rows: by default after
-- commit, in a background worker, the shard serving that checkpoint until then.
CREATE TABLE cls (id int PRIMARY KEY, x1 float8, x2 float8, y int);
INSERT INTO cls SELECT i, 4 * sin(i), 3 * cos(i * 1.7), 0 FROM generate_series(1, 1200) i;
UPDATE cls SET y = (x1 + 0.8 * x2 + 2 * sin(id * 7.3) > 0)::int;

SELECT name, algorithm, strategy, shards, rows_trained
FROM unlearn.train('lr', 'cls', 'y', ARRAY['x1', 'x2'], 'logistic_regression', shards => 4, slices => 3);
SELECT strategy, shards, slices FROM unlearn.models WHERE name = 'lr';
-- one checkpoint per shard and slice; slice k has seen slices 0..k
SELECT count(*) AS checkpoints, bool_and(rows > 0) AS all_nonempty FROM unlearn.checkpoints c
JOIN unlearn.models m USING (model_id) WHERE m.name = 'lr';
SELECT bool_and(c.rows = (SELECT count(*) FROM unlearn.lineage l WHERE l.model = 'lr' AND l.shard = c.shard AND l.slice <= c.slice))
    AS rows_match_lineage
FROM unlearn.checkpoints c JOIN unlearn.models m USING (model_id) WHERE m.name = 'lr';
-- every shard and slice gets a fair share (assignment hashes the key)
SELECT count(DISTINCT (shard, slice)) AS cells, min(n) > 60 AS balanced
FROM (SELECT shard, slice, count(*) AS n FROM unlearn.lineage WHERE model = 'lr' GROUP BY 1, 2) s;

-- Forget one row of shard s, slice 1: that shard's checkpoints from slice 1
-- on are replaced, slice 0 and the other shards are untouched.
CREATE TEMP TABLE victim AS
SELECT key::int AS id, shard, slice FROM unlearn.lineage WHERE model = 'lr' AND slice = 1 ORDER BY key LIMIT 1;
CREATE TEMP TABLE before AS
SELECT c.shard, c.slice, c.rows, c.digest, c.state FROM unlearn.checkpoints c JOIN unlearn.models m USING (model_id) WHERE m.name = 'lr';
BEGIN;
DELETE FROM cls WHERE id = (SELECT id FROM victim);
-- in the deleting transaction (and from its commit) the victim's shard serves
-- its slice-0 checkpoint, which never saw the row; its later checkpoints are gone
SELECT model, shard = (SELECT shard FROM victim) AS victim_shard, slices_served, slices FROM unlearn.catching_up;
SELECT s.state = c.state AS serves_slice_0_checkpoint, (SELECT count(*) FROM unlearn.checkpoints k
        WHERE k.model_id = m.model_id AND k.shard = v.shard) AS checkpoints_kept
FROM unlearn.models m JOIN unlearn.state s USING (model_id) JOIN unlearn.checkpoints c USING (model_id, shard), victim v
WHERE m.name = 'lr' AND s.shard = v.shard AND c.slice = 0;
SELECT unlearn.trained_on('lr', (SELECT id::text FROM victim)) AS still_trained_on;
-- verify retrains the served configuration: slice 0 of the victim's shard, the other shards whole
SELECT check_name, passed FROM unlearn.verify('lr') WHERE NOT passed;
SELECT expect_error($$SELECT unlearn.wait('lr')$$);
COMMIT;
SELECT unlearn.wait('lr') AS caught_up;
SELECT count(*) AS catching_up FROM unlearn.catching_up;
SELECT b.shard = v.shard AS victim_shard, b.slice, b.digest = c.digest AS same_digest, c.rows - b.rows AS rows_change,
       b.state = c.state AS same_state
FROM before b JOIN unlearn.checkpoints c USING (shard, slice) JOIN unlearn.models m ON m.model_id = c.model_id, victim v
WHERE m.name = 'lr' ORDER BY b.shard <> v.shard, b.shard, b.slice;
SELECT event, rows, method, shards = ARRAY[(SELECT shard FROM victim)] AS only_victim_shard
FROM unlearn.audit WHERE model = 'lr' ORDER BY event_id;
SELECT unlearn.trained_on('lr', (SELECT id::text FROM victim)) AS still_trained_on;
SELECT check_name, passed FROM unlearn.verify('lr') ORDER BY 1;

-- Independent computation: a model trained from scratch on the remaining
-- rows (same seed, so same shards and slices) has the same coefficients.
SELECT rows_trained FROM unlearn.train('lr_fresh', 'cls', 'y', ARRAY['x1', 'x2'], 'logistic_regression', 'sisa', 4, 3);
SELECT count(*) AS coefficients, max(abs(a.coefficient - b.coefficient)) < 1e-8 AS same_as_retrain
FROM unlearn.coefficients('lr') a JOIN unlearn.coefficients('lr_fresh') b USING (shard, feature);
SELECT unlearn.drop_model('lr_fresh');

-- A bulk DELETE retrains each affected shard once.
DELETE FROM cls WHERE id % 10 = 0;
SELECT unlearn.wait('lr') AS caught_up;
SELECT rows, cardinality(shards) AS shards_retrained FROM unlearn.audit WHERE model = 'lr' AND event = 'unlearn'
ORDER BY event_id DESC LIMIT 1;
SELECT count(*) AS shard_catch_ups FROM unlearn.audit
WHERE model = 'lr' AND event = 'catch-up' AND event_id > (SELECT max(event_id) FROM unlearn.audit WHERE model = 'lr' AND event = 'unlearn');
SELECT check_name, passed FROM unlearn.verify('lr') WHERE NOT passed;

-- predictions: averaged probabilities; the label is the most probable class
SELECT abs(p[1] + p[2] - 1) < 1e-12 AS sums_to_one, unlearn.predict('lr', ARRAY[3.0, 3.0]) AS label_hi,
       unlearn.predict('lr', ARRAY[-3.0, -3.0]) AS label_lo
FROM unlearn.predict_proba('lr', ARRAY[3.0, 3.0]) p;
SELECT avg((unlearn.predict('lr', ARRAY[x1, x2]) = y)::int) > 0.8 AS accurate FROM cls;

-- Closed form: with one binary feature and a negligible penalty, logistic
-- regression is the log-odds of each group (binary), and for three classes
-- the centred log-counts.
CREATE TABLE grp (id int PRIMARY KEY, g float8, y int);
INSERT INTO grp SELECT i, i % 2, CASE WHEN i % 2 = 0 THEN (i % 7 < 2)::int ELSE (i % 5 < 3)::int END FROM generate_series(1, 700) i;
SELECT rows_trained FROM unlearn.train('lr_grp', 'grp', 'y', ARRAY['g'], 'logistic_regression', options => '{"l2": 1e-9}');
WITH c AS (SELECT g, ln(avg(y) / (1 - avg(y))) AS logit FROM grp GROUP BY g)
SELECT abs(i.coefficient - (SELECT logit FROM c WHERE g = 0)) < 1e-6 AS intercept_is_logit,
       abs(w.coefficient - ((SELECT logit FROM c WHERE g = 1) - (SELECT logit FROM c WHERE g = 0))) < 1e-6 AS weight_is_log_odds_ratio
FROM unlearn.coefficients('lr_grp') i, unlearn.coefficients('lr_grp') w
WHERE i.feature = '(intercept)' AND w.feature = 'g';
UPDATE grp SET y = id % 3 WHERE id % 2 = 0;
UPDATE grp SET y = (id % 5) % 3 WHERE id % 2 = 1;
SELECT rows_trained FROM unlearn.train('lr_grp3', 'grp', 'y', ARRAY['g'], 'logistic_regression', options => '{"l2": 1e-9}');
-- (the weights are compared up to their common shift, which a 1e-9 penalty barely pins down)
WITH n AS (SELECT g, y, ln(count(*)) AS l FROM grp GROUP BY g, y),
     want AS (SELECT n0.y, n0.l - avg(n0.l) OVER () AS b, (n1.l - n0.l) - avg(n1.l - n0.l) OVER () AS w
              FROM n n0 JOIN n n1 ON n0.y = n1.y AND n0.g = 0 AND n1.g = 1),
     got AS (SELECT ci.coefficient AS b, cw.coefficient - avg(cw.coefficient) OVER () AS w, want.b AS want_b, want.w AS want_w
             FROM want JOIN unlearn.coefficients('lr_grp3') ci ON ci.feature = '(intercept)[' || want.y || ']'
                       JOIN unlearn.coefficients('lr_grp3') cw ON cw.feature = 'g[' || want.y || ']')
SELECT count(*) AS classes, max(abs(b - want_b)) < 1e-6 AS intercepts_are_centred_log_counts,
       max(abs(w - want_w)) < 1e-6 AS weights_are_centred_log_ratios
FROM got;
SELECT round(sum(q)::numeric, 12) AS proba_sum, count(*) AS classes FROM unnest(unlearn.predict_proba('lr_grp3', ARRAY[1.0])) q;

-- mlp: deterministic, so a retrain after forgetting is bit-identical
CREATE TABLE ring (id int PRIMARY KEY, a float8, b float8, inside int);
INSERT INTO ring SELECT i, 2 * sin(i * 0.37) * (1 + (i % 5) / 5.0), 2 * cos(i * 0.37) * (1 + (i % 5) / 5.0), 0 FROM generate_series(1, 600) i;
UPDATE ring SET inside = (a * a + b * b < 8)::int;
SELECT name, algorithm, strategy FROM unlearn.train('nn', 'ring', 'inside', ARRAY['a', 'b'], 'mlp', shards => 2, slices => 2,
    options => '{"hidden": 16, "epochs": 60, "learning_rate": 0.02, "batch_size": 32, "seed": 7}');
DELETE FROM ring WHERE id IN (3, 30, 300);
SELECT unlearn.wait('nn') AS caught_up;
SELECT check_name, value, passed FROM unlearn.verify('nn') ORDER BY 1;
SELECT rows_trained FROM unlearn.train('nn_fresh', 'ring', 'inside', ARRAY['a', 'b'], 'mlp', 'sisa', 2, 2,
    '{"hidden": 16, "epochs": 60, "learning_rate": 0.02, "batch_size": 32, "seed": 7}');
SELECT bool_and(unlearn.predict_proba('nn', ARRAY[a, b]) = unlearn.predict_proba('nn_fresh', ARRAY[a, b])) AS bit_identical FROM ring;
SELECT unlearn.drop_model('nn_fresh');
-- a circle is not linearly separable: the network learns it, logistic regression cannot
SELECT rows_trained FROM unlearn.train('ring_lr', 'ring', 'inside', ARRAY['a', 'b'], 'logistic_regression', shards => 2, slices => 2);
SELECT avg((unlearn.predict('nn', ARRAY[a, b]) = inside)::int) > 0.9 AS mlp_learns_circle,
       avg((unlearn.predict('ring_lr', ARRAY[a, b]) = inside)::int) < 0.7 AS logistic_cannot
FROM ring;
SELECT expect_error($$SELECT * FROM unlearn.coefficients('nn')$$);

-- majority vote: probabilities are shares of the shards' votes
SELECT rows_trained FROM unlearn.train('vote', 'cls', 'y', ARRAY['x1', 'x2'], 'logistic_regression', shards => 3,
    options => '{"aggregation": "vote"}');
SELECT bool_and(abs(v * 3 - round(v * 3)) < 1e-12) AS multiples_of_a_third
FROM cls, unnest(unlearn.predict_proba('vote', ARRAY[x1, x2])) v WHERE id < 100;

-- forget_feature: every shard trains again without the column, the same as a model never given it
SELECT unlearn.forget_feature('vote', 'x2');
SELECT rows_trained FROM unlearn.train('vote_x1', 'cls', 'y', ARRAY['x1'], 'logistic_regression', shards => 3,
    options => '{"aggregation": "vote"}');
SELECT count(*) AS coefficients, max(abs(a.coefficient - b.coefficient)) < 1e-8 AS same_as_never_given
FROM unlearn.coefficients('vote') a JOIN unlearn.coefficients('vote_x1') b USING (shard, feature);
SELECT check_name, passed FROM unlearn.verify('vote') WHERE NOT passed;

-- on_insert = learn: the new row's shard is retrained from its slice; UPDATE relearns
SELECT rows_trained FROM unlearn.train('learner', 'cls', 'y', ARRAY['x1', 'x2'], 'logistic_regression', shards => 2, slices => 2,
    options => '{"on_insert": "learn"}');
INSERT INTO cls SELECT i, 4 * sin(i), 3 * cos(i * 1.7), (sin(i) > 0)::int FROM generate_series(5001, 5020) i;
UPDATE cls SET y = 1 - y WHERE id IN (1, 2, 3);
INSERT INTO cls VALUES (6000, 1, 1, 7);  -- a label the classifier was not trained on is not learned
SELECT unlearn.trained_on('learner', '5001') AS learned, unlearn.trained_on('learner', '6000') AS unknown_label_learned;
SELECT unlearn.wait('learner') AS caught_up;
SELECT check_name, passed FROM unlearn.verify('learner') WHERE NOT passed;
SELECT rows_held = (SELECT count(*) FROM cls WHERE y IN (0, 1)) AS holds_every_row FROM unlearn.models WHERE name = 'learner';

-- TRUNCATE empties every shard and discards every checkpoint
TRUNCATE ring;
SELECT count(*) AS checkpoints_left FROM unlearn.checkpoints c JOIN unlearn.models m USING (model_id) WHERE m.name IN ('nn', 'ring_lr');
SELECT expect_error($$SELECT unlearn.predict('nn', ARRAY[0.0, 0.0])$$);
-- and the model is what a train on no rows builds: verify passes (it used
-- to count each empty slice's checkpoint as missing)
SELECT m.name, c.check_name, c.value FROM unlearn.models m, unlearn.verify(m.name) c
WHERE m.name IN ('nn', 'ring_lr') AND NOT c.passed;

-- Bad input: clear errors, nothing created
CREATE TEMP TABLE models_before AS SELECT count(*) AS n FROM unlearn.models;
SELECT expect_error($$SELECT unlearn.train('b', 'cls', 'y', ARRAY['x1'], 'logistic_regression', slices => 0)$$);
SELECT expect_error($$SELECT unlearn.train('b', 'cls', 'y', ARRAY['x1'], 'logistic_regression', shards => 0)$$);
SELECT expect_error($$SELECT unlearn.train('b', 'grp', 'y', ARRAY['g'], 'logistic_regression', shards => 800)$$);
SELECT expect_error($$SELECT unlearn.train('b', 'grp', 'y', ARRAY['g'], 'logistic_regression', slices => 701)$$);
SELECT expect_error($$SELECT unlearn.train('b', 'cls', 'y', ARRAY['x1'], 'logistic_regression', strategy => 'incremental')$$);
SELECT expect_error($$SELECT unlearn.train('b', 'cls', 'y', ARRAY['x1'], 'ridge', strategy => 'sisa')$$);
SELECT expect_error($$SELECT unlearn.train('b', 'cls', 'y', ARRAY['x1'], 'logistic_regression', options => '{"hidden": 3}')$$);
SELECT expect_error($$SELECT unlearn.train('b', 'cls', 'y', ARRAY['x1'], 'logistic_regression', options => '{"l2": 0}')$$);
SELECT expect_error($$SELECT unlearn.train('b', 'cls', 'y', ARRAY['x1'], 'logistic_regression', options => '{"aggregation": "median"}')$$);
SELECT expect_error($$SELECT unlearn.train('b', 'cls', 'y', ARRAY['x1'], 'mlp', options => '{"layers": 3}')$$);
SELECT expect_error($$SELECT unlearn.train('b', 'cls', 'y', ARRAY['x1'], 'mlp', options => '{"epochs": 2.5}')$$);
SELECT expect_error($$SELECT unlearn.train('b', 'cls', 'y', ARRAY['x1'], 'mlp', options => '{"hidden": 4096, "layers": 2, "batch_size": 100000}')$$);
SELECT expect_error($$SELECT unlearn.train('b', 'cls', 'x1', ARRAY['x2'], 'logistic_regression')$$);
SELECT expect_error($$SELECT unlearn.train('b', 'cls', 'id', ARRAY['x2'], 'logistic_regression')$$);
CREATE TABLE sisa_one_class (id int PRIMARY KEY, x float8, y int);
INSERT INTO sisa_one_class SELECT i, i, 1 FROM generate_series(1, 10) i;
SELECT expect_error($$SELECT unlearn.train('b', 'sisa_one_class', 'y', ARRAY['x'], 'mlp')$$);
CREATE TABLE sisa_text (id int PRIMARY KEY, x float8, c text, y int);
INSERT INTO sisa_text SELECT i, i, 'c' || i % 3, i % 2 FROM generate_series(1, 10) i;
SELECT expect_error($$SELECT unlearn.train('b', 'sisa_text', 'y', ARRAY['x', 'c'], 'logistic_regression')$$);
SELECT (SELECT count(*) FROM unlearn.models) = n AS nothing_created FROM models_before;
SELECT count(*) AS orphan_checkpoints FROM unlearn.checkpoints WHERE model_id NOT IN (SELECT model_id FROM unlearn.models);

SELECT unlearn.drop_model(name) FROM unlearn.models WHERE relation IN ('cls'::regclass, 'grp'::regclass, 'ring'::regclass) ORDER BY name;
SELECT count(*) AS checkpoints_left FROM unlearn.checkpoints;
DROP TABLE cls, grp, ring, sisa_one_class, sisa_text;
