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
