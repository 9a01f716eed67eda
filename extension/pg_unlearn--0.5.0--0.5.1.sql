-- pg_unlearn 0.5.0 -> 0.5.1
-- A feature or target whose column is a domain over a numeric type is
-- numeric: train accepted it, but the ALTER TABLE event trigger compared the
-- column's declared type, so the first model's own trigger installation (or
-- any later ALTER TABLE) forgot such a feature, or dropped a model on such a
-- target, right after training. It now compares the type beneath the domains.
\echo Use "ALTER EXTENSION pg_unlearn UPDATE TO '0.5.1'" to load this file. \quit

-- The type beneath a column's domains, by the catalog alone (no function a
-- table owner defines runs): what the library reads, trains on and checks.
CREATE FUNCTION unlearn.base_type(t oid) RETURNS regtype
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH RECURSIVE d(oid, base, typtype) AS (
        SELECT oid, typbasetype, typtype FROM pg_type WHERE oid = t
        UNION ALL
        SELECT p.oid, p.typbasetype, p.typtype FROM pg_type p JOIN d ON p.oid = d.base WHERE d.typtype = 'd')
    SELECT oid::regtype FROM d WHERE typtype <> 'd'
$$;
REVOKE ALL ON FUNCTION unlearn.base_type(oid) FROM PUBLIC;

-- ALTER TABLE ... RENAME COLUMN: models follow the column by its attribute
-- number. A numeric feature (a domain over a numeric type is numeric) retyped
-- to something else is forgotten like a
-- dropped one, so a later DELETE never fails on it (categorical features,
-- which have a vocabulary, are text by design). A rewrite retrains the
-- table's models; partitioned sources get the triggers on new partitions and
-- are retrained when a partition left.
CREATE OR REPLACE FUNCTION unlearn.on_alter_table() RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER  -- fires for every role's DDL; reads and maintains the extension's tables
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
    m unlearn.models;
    names text[];
    numeric_types regtype[] := ARRAY['int2', 'int4', 'int8', 'float4', 'float8', 'numeric', 'bool']::regtype[];
    f text;
    n int;
    rewritten oid[] := string_to_array(nullif(current_setting('unlearn.rewritten', true), ''), ',')::oid[];
BEGIN
    PERFORM set_config('unlearn.rewritten', '', true);
    PERFORM unlearn.check_no_inheritance(ARRAY(SELECT objid FROM pg_event_trigger_ddl_commands()));
    PERFORM unlearn.check_primary_keys(ARRAY(SELECT objid FROM pg_event_trigger_ddl_commands()));
    FOR c IN SELECT DISTINCT objid FROM pg_event_trigger_ddl_commands()
             WHERE command_tag = 'ALTER TABLE' AND objid IN (SELECT relation FROM unlearn.models) LOOP
        FOR m IN SELECT * FROM unlearn.models WHERE relation = c.objid AND column_attnums IS NOT NULL ORDER BY model_id LOOP
            SELECT array_agg(a.attname::text ORDER BY u.ord) INTO names
            FROM unnest(m.column_attnums) WITH ORDINALITY AS u(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = m.relation AND a.attnum = u.attnum AND NOT a.attisdropped;
            n := cardinality(m.key_columns);
            -- attribute numbers recorded before a forget_feature no longer line
            -- up with the features: they are re-recorded below, not followed
            IF cardinality(m.column_attnums) = n + 1 + cardinality(m.features)
               AND cardinality(names) = cardinality(m.column_attnums) THEN
                UPDATE unlearn.models
                SET key_columns = names[1:n], target = names[n + 1], features = names[n + 2:]
                WHERE model_id = m.model_id
                  AND (key_columns, target, features) IS DISTINCT FROM (names[1:n], names[n + 1], names[n + 2:]);
                -- a categorical feature's vocabulary follows its column's name
                UPDATE unlearn.vocabulary v
                SET feature = names[n + 1 + u.i]
                FROM generate_subscripts(m.features, 1) AS u(i)
                WHERE v.model_id = m.model_id AND v.feature = m.features[u.i] AND m.features[u.i] <> names[n + 1 + u.i];
            END IF;
            SELECT * INTO m FROM unlearn.models WHERE model_id = m.model_id;
            IF (SELECT unlearn.base_type(atttypid) FROM pg_attribute WHERE attrelid = m.relation AND attname = m.target) <> ALL (numeric_types) THEN
                PERFORM unlearn.drop_model_because(m, format('target %s is no longer numeric', m.target));
                CONTINUE;
            END IF;
            FOREACH f IN ARRAY m.features LOOP
                CONTINUE WHEN EXISTS (SELECT 1 FROM unlearn.vocabulary v WHERE v.model_id = m.model_id AND v.feature = f);
                IF (SELECT unlearn.base_type(atttypid) FROM pg_attribute WHERE attrelid = m.relation AND attname = f) <> ALL (numeric_types) THEN
                    IF cardinality(m.features) = 1 THEN
                        PERFORM unlearn.drop_model_because(m, format('last feature %s is no longer numeric', f));
                        EXIT;
                    END IF;
                    PERFORM unlearn.forget_feature(m.name, f);
                    SELECT * INTO m FROM unlearn.models WHERE model_id = m.model_id;
                END IF;
            END LOOP;
        END LOOP;
        PERFORM unlearn.record_attnums(c.objid::regclass);
        -- a primary key moved to other columns: the models hold rows by the
        -- old ones, which the table may now repeat, so a DELETE of a row
        -- carrying a model's key could forget another. Retrained on the new key.
        FOR m IN SELECT mo.* FROM unlearn.models mo
                 WHERE mo.relation = c.objid AND mo.column_attnums IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = mo.relation AND i.indisprimary
                                   AND ARRAY(SELECT k::int FROM unnest(i.indkey::int2[]) AS k)
                                       = mo.column_attnums[1:cardinality(mo.key_columns)]::int[])
                 ORDER BY mo.model_id LOOP
            PERFORM unlearn.resync_or_drop(m.name);
        END LOOP;
    END LOOP;
    -- a rewrite may have changed stored values of the key, target or
    -- features: retrain from the rows as they are now
    IF rewritten IS NOT NULL THEN
        -- (only tables this command altered: the setting is the session's)
        FOR m IN SELECT * FROM unlearn.models
                 WHERE (relation = ANY (rewritten) OR partitions::oid[] && rewritten)
                   AND relation IN (SELECT objid FROM pg_event_trigger_ddl_commands())
                 ORDER BY model_id LOOP
            PERFORM unlearn.resync_or_drop(m.name);
        END LOOP;
    END IF;
    -- partitioned sources: a detached partition took rows without a DELETE
    -- (retrain from what remains); new partitions get the triggers
    FOR m IN SELECT mo.* FROM unlearn.models mo JOIN pg_class pc ON pc.oid = mo.relation
             WHERE pc.relkind = 'p' ORDER BY mo.model_id LOOP
        IF EXISTS (SELECT 1 FROM unnest(coalesce(m.partitions, '{}')) AS p(rel)
                   WHERE p.rel NOT IN (SELECT relid FROM pg_partition_tree(m.relation))) THEN
            PERFORM unlearn.resync_or_drop(m.name);
        END IF;
        PERFORM unlearn.install_triggers(m.relation);
    END LOOP;
    PERFORM unlearn.check_triggers_enabled(ARRAY(SELECT objid FROM pg_event_trigger_ddl_commands()));
END
$$;
REVOKE ALL ON FUNCTION unlearn.on_alter_table() FROM PUBLIC;

-- The mlp now trains until its loss stops improving (epochs is the bound,
-- tol and n_iter_no_change the rule, as scikit-learn's MLPClassifier). An mlp
-- trained before ran a fixed number of epochs (10 unless given): that is
-- pinned into its options, so that retraining one of its shards after a
-- DELETE repeats the training it had (n_iter_no_change >= epochs never stops
-- early).
UPDATE unlearn.models
SET options = options || jsonb_build_object(
        'epochs', coalesce(options->'epochs', to_jsonb(10)),
        'n_iter_no_change', least(coalesce((options->>'epochs')::numeric, 10), 10000))
WHERE algorithm = 'mlp' AND NOT options ? 'n_iter_no_change';

-- feature_injection_test copies the table with its defaults, indexes and
-- domain types, whose functions run as the caller: a superuser running it
-- on another role's table ran that role's code with superuser rights. It now
-- runs only as the table's owner.
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

-- ALTER TRIGGER on one of the extension's triggers (they all run
-- unlearn.forget_rows): every guard knows them by name, so a renamed one
-- could then be dropped or disabled and the table's rows would leave its
-- models silently. Refused while a model needs it.
CREATE FUNCTION unlearn.on_alter_trigger() RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER  -- fires for every role's DDL; reads the catalog only
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT tg.tgname, tg.tgrelid::regclass AS rel
             FROM pg_event_trigger_ddl_commands() c
             JOIN pg_trigger tg ON tg.oid = c.objid
             WHERE c.classid = 'pg_trigger'::regclass
               AND tg.tgfoid = 'unlearn.forget_rows()'::regprocedure LOOP
        RAISE EXCEPTION 'cannot rename pg_unlearn''s triggers on %', t.rel
            USING ERRCODE = 'object_in_use',
                  HINT = 'Drop the models on the table first (unlearn.drop_model): the last one drops the triggers.';
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION unlearn.on_alter_trigger() FROM PUBLIC;
CREATE EVENT TRIGGER unlearn_alter_trigger ON ddl_command_end WHEN TAG IN ('ALTER TRIGGER')
    EXECUTE FUNCTION unlearn.on_alter_trigger();
