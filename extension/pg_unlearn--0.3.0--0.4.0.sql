-- pg_unlearn 0.3.0 -> 0.4.0: proving the row is gone. Strategy certified
-- (Newton-step removal with a tracked bound), options.holdout, membership
-- inference, forgetting evidence and group impact in the audit, the
-- feature-injection test and audit certificates.
\echo Use "ALTER EXTENSION pg_unlearn UPDATE TO '0.4.0'" to load this file. \quit

-- Privacy checks -------------------------------------------------------------

-- options.holdout keeps a share of rows out of training (lineage role
-- holdout); the attack below compares them with the rows trained on.
CREATE FUNCTION unlearn.membership_inference(model text,
    OUT auc float8, OUT tpr_at_1pct_fpr float8, OUT advantage float8, OUT members bigint, OUT nonmembers bigint)
AS 'MODULE_PATHNAME', 'unlearn_membership_inference'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.membership_inference(text)
    IS 'loss-threshold membership attack of the rows a model holds against its holdout rows (Yeom et al. 2018): AUC, TPR at 1% FPR, advantage';

-- Method-specific figures of an event (forgetting evidence, ...): numbers
-- only, never a value or key of a row.
ALTER TABLE unlearn.audit ADD COLUMN details jsonb;
COMMENT ON COLUMN unlearn.audit.details IS 'method-specific figures, e.g. evidence_auc: the attack AUC of the forgotten rows against holdout rows under the updated model';

-- One audit event as a document a data-protection officer can file.
CREATE FUNCTION unlearn.audit_certificate(event bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a unlearn.audit;
    m unlearn.models;
BEGIN
    SELECT * INTO a FROM unlearn.audit au WHERE au.event_id = audit_certificate.event;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit event % does not exist', audit_certificate.event
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT event_id, event, model, at FROM unlearn.audit lists the events.';
    END IF;
    SELECT * INTO m FROM unlearn.models WHERE model_id = a.model_id;  -- gone if the model was dropped since
    RETURN jsonb_strip_nulls(jsonb_build_object(
        'document', 'pg_unlearn audit certificate',
        'extension_version', (SELECT extversion FROM pg_extension WHERE extname = 'pg_unlearn'),
        'database', current_database(),
        'event_id', a.event_id,
        'event', a.event,
        'model', a.model,
        'algorithm', m.algorithm,
        'strategy', m.strategy,
        'source_table', m.relation::text,
        'at', a.at,
        'rows', a.rows,
        'rows_forgotten', CASE WHEN a.event = 'unlearn' THEN a.rows END,
        'method', a.method,
        'shards', to_jsonb(a.shards),
        'duration_ms', a.duration_ms,
        'state_hash_before', a.state_hash_before,
        'state_hash_after', a.state_hash_after,
        'figures', a.details,
        'holds', 'counts, method, state hashes and aggregate figures; no value, label or key of any row'));
END
$$;
COMMENT ON FUNCTION unlearn.audit_certificate(bigint)
    IS 'one audit event as a JSON document: model, time, rows forgotten, method, state hashes, evidence figures; no row data';

-- Group impact: with options.monitor_group (and options.holdout), every
-- DELETE records per group of that column the holdout rows and their
-- accuracy (classifiers) or RMSE before and after; a group that worsens by
-- more than options.impact_warning (default 0.05) raises a WARNING.
CREATE FUNCTION unlearn.group_impact(model text, event bigint DEFAULT NULL)
RETURNS TABLE (event_id bigint, at timestamptz, "group" text, metric text, holdout_rows bigint,
               before float8, after float8, change float8)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    chosen bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM unlearn.audit a WHERE a.model = group_impact.model) THEN
        RAISE EXCEPTION 'model "%" has no audit events', group_impact.model
            USING ERRCODE = 'undefined_object', HINT = 'SELECT name FROM unlearn.models lists the trained models.';
    END IF;
    SELECT a.event_id INTO chosen FROM unlearn.audit a
    WHERE a.model = group_impact.model AND a.details ? 'groups'
      AND (group_impact.event IS NULL OR a.event_id = group_impact.event)
    ORDER BY a.event_id DESC LIMIT 1;
    IF chosen IS NULL THEN
        RAISE EXCEPTION 'model "%" has no group impact recorded%', group_impact.model,
                        CASE WHEN group_impact.event IS NULL THEN '' ELSE ' for event ' || group_impact.event END
            USING ERRCODE = 'no_data_found',
                  HINT = 'Train with options.holdout and options.monitor_group; each DELETE then records it.';
    END IF;
    RETURN QUERY
    SELECT a.event_id, a.at, g->>'group', a.details->>'group_metric', (g->>'rows')::bigint,
           (g->>'before')::float8, (g->>'after')::float8, (g->>'after')::float8 - (g->>'before')::float8
    FROM unlearn.audit a, jsonb_array_elements(a.details->'groups') g
    WHERE a.event_id = chosen
    ORDER BY g->>'group';
END
$$;
COMMENT ON FUNCTION unlearn.group_impact(text, bigint)
    IS 'per group of options.monitor_group: holdout rows and accuracy (or RMSE) before and after the latest (or the given) unlearning event';

-- The feature-injection test (Izzo et al., AISTATS 2021): on a scratch copy
-- of the table, an indicator feature is 1 exactly on the chosen rows, whose
-- target is made to depend on it (classifiers: the largest label;
-- regressions: the target plus ten standard deviations). A model is trained
-- with the given algorithm and strategy, the chosen rows are deleted, and the
-- injected feature's weight is measured before and after: the mean absolute
-- change of the prediction (classifiers: of the most affected class
-- probability) when only the indicator moves from 0 to 1, over up to 1000
-- rows. ratio = after / before. weight_retrained is the same measure on a
-- model trained from scratch on the rows left, with the same settings: the
-- reference for "perfect". It is 0 for exact strategies, and for certified
-- the weight the objective's noise alone gives an all-zero column (-b/λ), so
-- weight_after is judged against it. Scratch objects are dropped afterwards.
CREATE FUNCTION unlearn.feature_injection_test(relation regclass, target text, features text[], keys text[],
    algorithm text DEFAULT 'ridge', strategy text DEFAULT 'auto', shards int DEFAULT 1, slices int DEFAULT 1,
    options jsonb DEFAULT '{}')
RETURNS TABLE (rows_injected bigint, weight_before float8, weight_after float8, ratio float8, weight_retrained float8)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    scratch text := 'unlearn_injection_' || pg_backend_pid();
    key_col text;
    as_floats text;
    influence text;
BEGIN
    IF algorithm = 'linear_regression' THEN
        RAISE EXCEPTION 'feature_injection_test needs a regularised model'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Once the injected rows leave, the feature is zero everywhere and least squares has no unique weight for it; use ridge.';
    END IF;
    SELECT a.attname INTO key_col FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
    WHERE i.indrelid = relation AND i.indisprimary AND i.indnkeyatts = 1;
    IF key_col IS NULL THEN
        RAISE EXCEPTION 'feature_injection_test needs a table with a one-column primary key'
            USING ERRCODE = 'feature_not_supported', HINT = 'The rows to inject are chosen by their key.';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(features) u(f) JOIN pg_attribute a ON a.attrelid = relation AND a.attname = u.f
               JOIN pg_type t ON t.oid = a.atttypid
               WHERE NOT a.attisdropped AND CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END NOT IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype,
                     'float4'::regtype, 'float8'::regtype, 'numeric'::regtype, 'bool'::regtype)) THEN
        RAISE EXCEPTION 'feature_injection_test takes numeric and boolean features only'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'The injected weight is measured by predicting from feature arrays; leave categorical features out.';
    END IF;
    EXECUTE format('CREATE TEMP TABLE %I (LIKE %s INCLUDING DEFAULTS INCLUDING INDEXES)', scratch, relation);
    EXECUTE format('INSERT INTO pg_temp.%I SELECT * FROM %s', scratch, relation);
    EXECUTE format('ALTER TABLE pg_temp.%I ADD COLUMN unlearn_injected float8 NOT NULL DEFAULT 0', scratch);
    EXECUTE format('UPDATE pg_temp.%I SET unlearn_injected = 1 WHERE %I::text = ANY ($1)', scratch, key_col) USING keys;
    GET DIAGNOSTICS rows_injected = ROW_COUNT;
    IF rows_injected = 0 THEN
        RAISE EXCEPTION 'none of the keys is a row of %', relation
            USING ERRCODE = 'no_data_found', HINT = 'Pass primary-key values in their text form.';
    END IF;
    IF algorithm IN ('naive_bayes', 'logistic_regression', 'mlp') THEN
        EXECUTE format('UPDATE pg_temp.%1$I SET %2$I = (SELECT max(%2$I) FROM pg_temp.%1$I) WHERE unlearn_injected = 1',
                       scratch, target);
    ELSE
        EXECUTE format('UPDATE pg_temp.%1$I SET %2$I = %2$I + 10 * (SELECT coalesce(nullif(stddev(%2$I), 0), 1) FROM pg_temp.%1$I) '
                       'WHERE unlearn_injected = 1', scratch, target);
    END IF;
    PERFORM unlearn.train(scratch, format('pg_temp.%I', scratch)::regclass, target, features || 'unlearn_injected'::text,
                          algorithm, strategy, shards, slices, options);
    SELECT string_agg(format('%I::%s::float8', f, CASE WHEN a.atttypid = 'bool'::regtype THEN 'int' ELSE 'float8' END),
                      ', ' ORDER BY o)
      INTO as_floats
      FROM unnest(features) WITH ORDINALITY AS u(f, o)
      JOIN pg_attribute a ON a.attrelid = relation AND a.attname = u.f;
    -- classifiers: the largest change of a class probability, regressions: of the prediction;
    -- $1 is the model; the sample, the same for every measure, is the first
    -- 1000 rows by key that do not carry the indicator (they stay in the table)
    influence := CASE WHEN algorithm IN ('naive_bayes', 'logistic_regression', 'mlp') THEN
        format('SELECT avg((SELECT max(abs(p1 - p0)) FROM unnest(unlearn.predict_proba($1, ARRAY[%1$s, 1.0]), '
               'unlearn.predict_proba($1, ARRAY[%1$s, 0.0])) AS u(p1, p0))) '
               'FROM (SELECT * FROM pg_temp.%2$I WHERE unlearn_injected = 0 ORDER BY %3$I LIMIT 1000) s',
               as_floats, scratch, key_col)
    ELSE
        format('SELECT avg(abs(unlearn.predict($1, ARRAY[%1$s, 1.0]) - unlearn.predict($1, ARRAY[%1$s, 0.0]))) '
               'FROM (SELECT * FROM pg_temp.%2$I WHERE unlearn_injected = 0 ORDER BY %3$I LIMIT 1000) s',
               as_floats, scratch, key_col)
    END;
    EXECUTE influence INTO weight_before USING scratch;
    EXECUTE format('DELETE FROM pg_temp.%I WHERE unlearn_injected = 1', scratch);
    EXECUTE influence INTO weight_after USING scratch;
    PERFORM unlearn.train(scratch || '_retrained', format('pg_temp.%I', scratch)::regclass, target,
                          features || 'unlearn_injected'::text, algorithm, strategy, shards, slices, options);
    EXECUTE influence INTO weight_retrained USING scratch || '_retrained';
    PERFORM unlearn.drop_model(scratch);
    PERFORM unlearn.drop_model(scratch || '_retrained');
    EXECUTE format('DROP TABLE pg_temp.%I', scratch);
    ratio := weight_after / nullif(weight_before, 0);
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION unlearn.feature_injection_test(regclass, text, text[], text[], text, text, int, int, jsonb)
    IS 'Izzo et al. feature-injection test on a scratch copy: the injected feature''s weight after / before deleting its rows, and the weight a retrain without them gives';

COMMENT ON FUNCTION unlearn.train(text, regclass, text, text[], text, text, int, int, jsonb)
    IS 'train a model over a table (linear_regression, ridge, naive_bayes incrementally; logistic_regression, mlp with SISA shards and slices; logistic_regression certified); later DELETEs on the table are forgotten by it';
