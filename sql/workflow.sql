-- The data scientist's workflow (issue 16): answers that read naturally.

-- train returns the model's name, algorithm, strategy and shards under the
-- names of the arguments they echo
CREATE TABLE wf (id int PRIMARY KEY, x float8, y float8);
INSERT INTO wf SELECT i, i, 2 * i + sin(i) FROM generate_series(1, 100) i;
SELECT * FROM unlearn.train('wf_m', 'wf', 'y', ARRAY['x']);

-- replace => true swaps a model of the same name in one transaction: the old
-- one's drop and the new one's training are audited, and rows deleted since
-- the first training do not come back
SELECT name FROM unlearn.train('wf_m', 'wf', 'y', ARRAY['x']);
DELETE FROM wf WHERE id <= 10;
BEGIN;
SELECT * FROM unlearn.train('wf_m', 'wf', 'y', ARRAY['x'], 'ridge', replace => true);
ROLLBACK;
SELECT name, algorithm, rows_held FROM unlearn.models WHERE name = 'wf_m';
SELECT * FROM unlearn.train('wf_m', 'wf', 'y', ARRAY['x'], 'ridge', replace => true);
SELECT name, algorithm, rows_held FROM unlearn.models WHERE name = 'wf_m';
SELECT event, rows, method, details ? 'replaces_model_id' AS names_replaced
FROM unlearn.audit WHERE model = 'wf_m' ORDER BY event_id;
SELECT unlearn.trained_on('wf_m', '5') AS holds_deleted_row;
-- replace of a model that does not exist is a plain train
SELECT name FROM unlearn.train('wf_new', 'wf', 'y', ARRAY['x'], replace => true);
SELECT unlearn.drop_model('wf_new');

-- trained_on takes the key in its own type as well as in text
SELECT unlearn.trained_on('wf_m', 5) AS key_5, unlearn.trained_on('wf_m', 50) AS key_50,
       unlearn.trained_on('wf_m', 50::bigint) AS key_50_bigint, unlearn.trained_on('wf_m', '50') AS key_50_text;

-- Class labels: text, enum, boolean and integer targets for every
-- classifier; the class list is fixed at training, in the order
-- predict_proba gives probabilities, and comes back as labels
CREATE TYPE wf_mood AS ENUM ('sad', 'calm', 'glad');
CREATE TABLE flowers (id int PRIMARY KEY, a float8, b float8, species text, big bool, code int, mood wf_mood);
INSERT INTO flowers
SELECT i, (i % 3) + sin(i) * 0.3, (i % 3) * 2 + cos(i) * 0.3, (ARRAY['setosa', 'versicolor', 'virginica'])[i % 3 + 1],
       i % 3 = 2, (i % 3) * 5 - 5, (ARRAY['sad', 'calm', 'glad'])[i % 3 + 1]::wf_mood
FROM generate_series(1, 300) i;
SELECT name, algorithm, strategy, rows_trained FROM unlearn.train('fl_nb', 'flowers', 'species', ARRAY['a', 'b'], 'naive_bayes');
SELECT name, algorithm, strategy, rows_trained FROM unlearn.train('fl_lr', 'flowers', 'species', ARRAY['a', 'b'], 'logistic_regression');
SELECT name, algorithm, strategy, rows_trained FROM unlearn.train('fl_mlp', 'flowers', 'species', ARRAY['a', 'b'], 'mlp', shards => 2,
       options => '{"hidden": 8, "epochs": 30}');
SELECT name FROM unlearn.train('fl_bool', 'flowers', 'big', ARRAY['a', 'b'], 'naive_bayes');
SELECT name FROM unlearn.train('fl_int', 'flowers', 'code', ARRAY['a', 'b'], 'naive_bayes');
SELECT name FROM unlearn.train('fl_enum', 'flowers', 'mood', ARRAY['a', 'b'], 'logistic_regression');
SELECT name FROM unlearn.train('fl_cert', 'flowers', 'big', ARRAY['a', 'b'], 'logistic_regression', 'certified');
-- a regression needs a numeric target
SELECT expect_error($$SELECT unlearn.train('fl_reg', 'flowers', 'species', ARRAY['a', 'b'])$$);
SELECT m, unlearn.classes(m), unlearn.predict_label(m, ARRAY[2.0, 4.0]) AS label,
       (SELECT array_agg(round(p::numeric, 2)) FROM unnest(unlearn.predict_proba(m, ARRAY[2.0, 4.0])) p) AS proba
FROM unnest(ARRAY['fl_nb', 'fl_lr', 'fl_bool', 'fl_int', 'fl_enum', 'fl_cert']) m;
SELECT unlearn.classes('fl_mlp'), unlearn.predict_label('fl_mlp', ARRAY[2.0, 4.0]) = ANY (unlearn.classes('fl_mlp')) AS a_class,
       abs((SELECT sum(p) FROM unnest(unlearn.predict_proba('fl_mlp', ARRAY[2.0, 4.0])) p) - 1) < 1e-12 AS sums_to_one;
-- the row forms, and the probabilities by name
SELECT id, unlearn.predict_label('fl_lr', f) AS label, f.species,
       (SELECT array_agg(round(p::numeric, 2)) FROM unnest(unlearn.predict_proba('fl_lr', f)) p) AS proba
FROM flowers f WHERE id <= 3 ORDER BY id;
SELECT class, round(probability::numeric, 4) AS probability FROM unlearn.predict_proba_by_class('fl_nb', ARRAY[2.0, 4.0]);
SELECT class, probability > 0.5 AS likely
FROM flowers f, unlearn.predict_proba_by_class('fl_enum', f) WHERE f.id = 1;
SELECT count(*) FILTER (WHERE unlearn.predict_label('fl_nb', f) = f.species) AS agree, count(*) AS total FROM flowers f;
-- labels in the target's own type: the third argument names it
SELECT unlearn.predict_label('fl_enum', ARRAY[2.0, 4.0], NULL::wf_mood) AS mood,
       pg_typeof(unlearn.predict_label('fl_enum', ARRAY[2.0, 4.0], NULL::wf_mood)) AS mood_type,
       unlearn.predict_label('fl_int', ARRAY[2.0, 4.0], NULL::int) + 1 AS code_plus_one,
       unlearn.predict_label('fl_bool', ARRAY[2.0, 4.0], NULL::bool) AS big;
SELECT count(*) FILTER (WHERE unlearn.predict_label('fl_enum', f, NULL::wf_mood) = f.mood) AS agree FROM flowers f;
SELECT unlearn.predict_label('fl_nb', NULL::float8[], NULL::text) IS NULL AS null_features_null_label;
-- numbers stay numbers; a text-labelled model names its labels only as text
SELECT unlearn.predict('fl_int', ARRAY[2.0, 4.0]) AS int_label, unlearn.predict('fl_bool', ARRAY[2.0, 4.0]) AS bool_label;
SELECT expect_error($$SELECT unlearn.predict('fl_nb', ARRAY[2.0, 4.0])$$);
SELECT expect_error($$SELECT unlearn.classes('wf_m')$$);
SELECT feature FROM unlearn.coefficients('fl_nb') WHERE feature LIKE 'prior%' ORDER BY 1;

-- forgetting a whole class keeps its place: same list, probability 0
DELETE FROM flowers WHERE species = 'versicolor';
SELECT bool_and(unlearn.wait(name)) AS caught_up FROM unlearn.models WHERE name LIKE 'fl_%';
SELECT m, unlearn.classes(m), (unlearn.predict_proba(m, ARRAY[1.0, 2.0]))[2] AS versicolor
FROM unnest(ARRAY['fl_nb', 'fl_lr']) m;
SELECT unlearn.classes('fl_int') AS int_classes, (unlearn.predict_proba('fl_int', ARRAY[1.0, 2.0]))[2] AS p_0;
SELECT feature FROM unlearn.coefficients('fl_nb') WHERE feature LIKE 'prior%' ORDER BY 1;
SELECT m, check_name FROM unnest(ARRAY['fl_nb', 'fl_lr', 'fl_mlp', 'fl_bool', 'fl_int', 'fl_enum', 'fl_cert']) m, unlearn.verify(m)
WHERE NOT passed;
-- the class list follows a renamed target; a target retyped to numbers drops the model
ALTER TABLE flowers RENAME species TO kind;
DELETE FROM flowers WHERE id <= 6;
SELECT bool_and(unlearn.wait(name)) AS caught_up FROM unlearn.models WHERE name LIKE 'fl_%';
SELECT name, target, rows_held FROM unlearn.models WHERE name LIKE 'fl_%' ORDER BY name;
SELECT unlearn.predict_label('fl_nb', f) FROM flowers f WHERE id = 9;
ALTER TABLE flowers ALTER COLUMN kind TYPE int USING length(kind);
SELECT model, method FROM unlearn.audit WHERE event = 'drop' AND model LIKE 'fl_%' ORDER BY event_id;

-- The audit: each model's event is timed on its own, and records both the
-- rows the model held and the rows the statement asked to forget
CREATE TABLE two_models (id int PRIMARY KEY, a float8, b float8, y int);
INSERT INTO two_models SELECT i, sin(i), cos(i * 3), (sin(i) + cos(i * 3) > 0)::int FROM generate_series(1, 2000) i;
SELECT name FROM unlearn.train('slow_mlp', 'two_models', 'y', ARRAY['a', 'b'], 'mlp',
                               options => '{"hidden": 64, "epochs": 60, "retrain": "inline"}');
SELECT name FROM unlearn.train('fast_ols', 'two_models', 'y', ARRAY['a', 'b'], options => '{"holdout": 0.3}');
DELETE FROM two_models WHERE id <= 40;
SELECT model, rows < (details->>'rows_requested')::int AS holdout_rows_not_held, (details->>'rows_requested')::int AS rows_requested
FROM unlearn.audit WHERE model IN ('slow_mlp', 'fast_ols') AND event = 'unlearn' ORDER BY event_id;
SELECT (SELECT duration_ms FROM unlearn.audit WHERE model = 'fast_ols' AND event = 'unlearn') * 5
     < (SELECT duration_ms FROM unlearn.audit WHERE model = 'slow_mlp' AND event = 'unlearn') AS fast_model_timed_alone;
SELECT unlearn.drop_model('slow_mlp'), unlearn.drop_model('fast_ols');

-- \dx+ pg_unlearn: every function has a comment, and internal ones say so
SELECT count(*) AS uncommented FROM pg_proc
WHERE pronamespace = 'unlearn'::regnamespace AND obj_description(oid, 'pg_proc') IS NULL;
SELECT proname FROM pg_proc
WHERE pronamespace = 'unlearn'::regnamespace AND obj_description(oid, 'pg_proc') LIKE 'internal: %' ORDER BY 1;

-- The read path is parallel safe: a parallel scan scores in its workers
SELECT p.oid::regprocedure AS function, p.proparallel FROM pg_proc p
WHERE p.pronamespace = 'unlearn'::regnamespace
  AND p.proname IN ('predict', 'predict_proba', 'predict_label', 'predict_proba_by_class', 'classes', 'coefficients')
ORDER BY 1::text;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT sum(unlearn.predict('wf_m', ARRAY[x])) FROM wf;
SELECT round(sum(unlearn.predict('wf_m', ARRAY[x]))::numeric, 6) AS parallel_sum,
       round(sum(unlearn.predict('wf_m', w))::numeric, 6) AS parallel_sum_rows FROM wf w;
SET force_parallel_mode = regress;
SELECT unlearn.classes('fl_int') AS classes_in_a_worker, unlearn.predict_label('fl_int', ARRAY[2.0, 4.0]) AS label_in_a_worker;
RESET force_parallel_mode;
SET max_parallel_workers_per_gather = 0;
SELECT round(sum(unlearn.predict('wf_m', ARRAY[x]))::numeric, 6) AS serial_sum,
       round(sum(unlearn.predict('wf_m', w))::numeric, 6) AS serial_sum_rows FROM wf w;
RESET max_parallel_workers_per_gather;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;

-- Export: any model's parameters as one document, with no row data
CREATE TABLE secrets (who text PRIMARY KEY, a float8, b float8, kind text);
INSERT INTO secrets SELECT 'person-' || i, (i % 3) + sin(i) * 0.3, (i % 3) * 2 + cos(i) * 0.3,
                           (ARRAY['setosa', 'versicolor', 'virginica'])[i % 3 + 1]
FROM generate_series(1, 300) i;
SELECT name FROM unlearn.train('ex_nn', 'secrets', 'kind', ARRAY['a', 'b'], 'mlp', options => '{"hidden": 4, "epochs": 20}');
SELECT name FROM unlearn.train('ex_lr', 'secrets', 'kind', ARRAY['a', 'b'], 'logistic_regression', shards => 2);
SELECT name FROM unlearn.train('ex_nb', 'secrets', 'kind', ARRAY['a', 'b'], 'naive_bayes');
SELECT name FROM unlearn.train('ex_ols', 'secrets', 'a', ARRAY['b']);
SELECT m, e->>'algorithm' AS algorithm, e->'classes' AS classes, e->'features' AS features, e->'options' AS options,
       jsonb_path_query_array(e, '$.parameters.shards[*].layers[*].shape') AS layer_shapes,
       e::text NOT LIKE '%person-%' AS no_key
FROM unnest(ARRAY['ex_nn', 'ex_lr', 'ex_nb', 'ex_ols']) m, unlearn.export(m) e;
-- the exported numbers are the model's: OLS coefficients, and the network's
-- forward pass gives predict_proba
SELECT abs((unlearn.export('ex_ols')->'parameters'->'coef'->>0)::float8 - c.coefficient) < 1e-15 AS same_slope
FROM unlearn.coefficients('ex_ols') c WHERE c.feature = 'b';
CREATE FUNCTION pg_temp.forward(e jsonb, x float8[]) RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE
    s jsonb := e->'parameters'->'shards'->0;
    layer jsonb;
    h float8[];
    nxt float8[];
    total float8;
BEGIN
    h := ARRAY(SELECT (x[i] - (s->'input_mean'->>(i - 1))::float8) / (s->'input_scale'->>(i - 1))::float8
               FROM generate_subscripts(x, 1) i ORDER BY i);
    FOR layer IN SELECT l FROM jsonb_array_elements(s->'layers') l LOOP
        nxt := ARRAY(SELECT (layer->'bias'->>(r - 1))::float8
                            + (SELECT sum((layer->'weights'->(r - 1)->>(c - 1))::float8 * h[c]) FROM generate_subscripts(h, 1) c)
                     FROM generate_series(1, (layer->'shape'->>0)::int) r ORDER BY r);
        IF layer->>'activation' = 'relu' THEN
            h := ARRAY(SELECT greatest(v, 0) FROM unnest(nxt) WITH ORDINALITY u(v, o) ORDER BY o);
        ELSE
            total := (SELECT sum(exp(v - (SELECT max(w) FROM unnest(nxt) w))) FROM unnest(nxt) v);
            h := ARRAY(SELECT exp(v - (SELECT max(w) FROM unnest(nxt) w)) / total FROM unnest(nxt) WITH ORDINALITY u(v, o) ORDER BY o);
        END IF;
    END LOOP;
    RETURN h;
END $$;
SELECT max(abs(p - q)) < 1e-12 AS export_reproduces_predict_proba
FROM unnest(pg_temp.forward(unlearn.export('ex_nn'), ARRAY[1.5, 2.5]), unlearn.predict_proba('ex_nn', ARRAY[1.5, 2.5])) u(p, q);

-- A text-labelled model that learns inserts: a label outside its class list
-- is not learned (the list is fixed at training), and the audit says how
-- many rows the INSERT had
CREATE TABLE stream_labels (id int PRIMARY KEY, a float8, kind text);
INSERT INTO stream_labels SELECT i, (i % 2) * 3 + sin(i), (ARRAY['low', 'high'])[i % 2 + 1] FROM generate_series(1, 100) i;
SELECT name FROM unlearn.train('sl_nb', 'stream_labels', 'kind', ARRAY['a'], 'naive_bayes', options => '{"on_insert": "learn"}');
INSERT INTO stream_labels VALUES (101, 3.5, 'high'), (102, 9.0, 'unheard of');
SELECT rows, (details->>'rows_requested')::int AS rows_requested FROM unlearn.audit WHERE model = 'sl_nb' AND event = 'learn';
SELECT unlearn.trained_on('sl_nb', 101) AS learned_known, unlearn.trained_on('sl_nb', 102) AS learned_unknown,
       unlearn.classes('sl_nb') AS classes;
UPDATE stream_labels SET kind = 'low' WHERE id = 101;
SELECT check_name FROM unlearn.verify('sl_nb') WHERE NOT passed;
