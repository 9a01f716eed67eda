-- pg_unlearn 0.5.1 -> 0.6.0. Every object added or changed here is also in
-- pg_unlearn--0.6.0.sql, the complete script for this version; sql/upgrade.sql
-- checks that both give the same definitions.
\echo Use "ALTER EXTENSION pg_unlearn UPDATE TO '0.6.0'" to load this file. \quit

-- A model never stalls its table (issue 15) ----------------------------------

-- The data scientist's workflow (issue 16) -----------------------------------

-- Random forests that forget exactly (issue 17) ------------------------------
-- A random forest's state is megabytes rewritten by every DELETE: pglz
-- would cost more than the forgetting (states under 2 kB were never compressed).
ALTER TABLE unlearn.state ALTER COLUMN state SET STORAGE EXTERNAL;

COMMENT ON FUNCTION unlearn.train(text, regclass, text, text[], text, text, int, int, jsonb)
    IS 'train a model over a table (linear_regression, ridge, naive_bayes incrementally; logistic_regression, mlp with SISA shards and slices; logistic_regression certified; random_forest, random_forest_regressor by retraining only the subtrees a change reaches); later DELETEs on the table are forgotten by it';

-- feature_injection_test knows random_forest is a classifier (its injected
-- rows take the largest label, and influence is measured on probabilities)
CREATE OR REPLACE FUNCTION unlearn.feature_injection_test(relation regclass, target text, features text[], keys text[],
    algorithm text DEFAULT 'ridge', strategy text DEFAULT 'auto', shards int DEFAULT 1, slices int DEFAULT 1,
    options jsonb DEFAULT '{}')
RETURNS TABLE (rows_injected bigint, weight_before float8, weight_after float8, ratio float8, weight_retrained float8)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    scratch text := 'unlearn_injection_' || pg_backend_pid();
    attempt int := 0;
    key_col text;
    as_floats text;
    influence text;
BEGIN
    -- every argument is spliced into SQL: NULL would become a syntax error
    IF relation IS NULL OR target IS NULL OR features IS NULL OR keys IS NULL OR algorithm IS NULL
       OR strategy IS NULL OR shards IS NULL OR slices IS NULL OR options IS NULL THEN
        RAISE EXCEPTION '% must not be NULL',
            CASE WHEN relation IS NULL THEN 'relation' WHEN target IS NULL THEN 'target'
                 WHEN features IS NULL THEN 'features' WHEN keys IS NULL THEN 'keys'
                 WHEN algorithm IS NULL THEN 'algorithm' WHEN strategy IS NULL THEN 'strategy'
                 WHEN shards IS NULL THEN 'shards' WHEN slices IS NULL THEN 'slices' ELSE 'options' END
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- the copy below carries the table's defaults, indexes and domain types,
    -- whose functions run as the caller: only the table's owner may run it
    IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
                   WHERE c.oid = relation AND r.rolname = current_user) THEN
        RAISE EXCEPTION 'feature_injection_test runs only as the owner of table %', relation
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'It copies the table with its defaults, indexes and domain types, whose functions would run with your rights: SET ROLE to the table''s owner first.';
    END IF;
    IF cardinality(features) = 0 OR array_position(features, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'features must name at least one column, and no NULL'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The injected indicator is added to these features.';
    END IF;
    -- the scratch models and table must not be anyone's: a model of that
    -- name would be trained over, or dropped, by this test
    WHILE EXISTS (SELECT 1 FROM unlearn.models WHERE name IN (scratch, scratch || '_retrained'))
          OR to_regclass(format('pg_temp.%I', scratch)) IS NOT NULL LOOP
        attempt := attempt + 1;
        scratch := format('unlearn_injection_%s_%s', pg_backend_pid(), attempt);
    END LOOP;
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
    IF algorithm IN ('naive_bayes', 'logistic_regression', 'mlp', 'random_forest') THEN
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
    influence := CASE WHEN algorithm IN ('naive_bayes', 'logistic_regression', 'mlp', 'random_forest') THEN
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
