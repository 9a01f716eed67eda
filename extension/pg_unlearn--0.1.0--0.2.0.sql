-- pg_unlearn 0.1.0 -> 0.2.0: models can learn inserted rows (options.on_insert).
\echo Use "ALTER EXTENSION pg_unlearn UPDATE TO '0.2.0'" to load this file. \quit

CREATE OR REPLACE FUNCTION unlearn.drop_model(model text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m unlearn.models;
    trigger_name name;
    trigger_rel regclass;
BEGIN
    DELETE FROM unlearn.models WHERE name = model RETURNING * INTO m;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', model
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT name FROM unlearn.models lists the trained models.';
    END IF;
    -- the forget triggers go with the table's last model, the learn trigger
    -- with its last learning model
    FOR trigger_name, trigger_rel IN
        SELECT t.tgname, t.tgrelid::regclass FROM pg_trigger t
        WHERE (t.tgrelid = m.relation OR t.tgrelid IN (SELECT relid FROM pg_partition_tree(m.relation)))
          AND ((t.tgname IN ('unlearn_forget_delete', 'unlearn_forget_update', 'unlearn_forget_truncate')
                AND NOT EXISTS (SELECT 1 FROM unlearn.models o WHERE o.relation = m.relation))
            OR (t.tgname = 'unlearn_learn_insert'
                AND NOT EXISTS (SELECT 1 FROM unlearn.models o
                                WHERE o.relation = m.relation AND o.options->>'on_insert' = 'learn')))
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', trigger_name, trigger_rel);
    END LOOP;
    INSERT INTO unlearn.audit (event, model_id, model, rows, method, shards, duration_ms)
    VALUES ('drop', m.model_id, m.name, m.rows_held, 'drop', '{}', 0);
END
$$;

COMMENT ON FUNCTION unlearn.train(text, regclass, text, text[], text, text, int, int, jsonb)
    IS 'train a model over a table; later DELETEs on the table are forgotten by it, and with options.on_insert = learn, INSERTs are learned';

-- Every way a column or table leaves reaches the models -------------------

-- Column positions survive renames; names survive dump/restore. Keep both:
-- [key columns..., target, features...] as attribute numbers.
ALTER TABLE unlearn.models ADD COLUMN column_attnums int2[];
COMMENT ON COLUMN unlearn.models.column_attnums IS 'attribute numbers of key columns, target and features, in that order';
ALTER TABLE unlearn.models ADD COLUMN partitions regclass[];
COMMENT ON COLUMN unlearn.models.partitions IS 'for a partitioned source, its partitions when the triggers were last installed';

CREATE FUNCTION unlearn.record_attnums(rel regclass) RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE unlearn.models m
    SET column_attnums = (SELECT array_agg(a.attnum ORDER BY c.ord)
                          FROM unnest(m.key_columns || m.target || m.features) WITH ORDINALITY AS c(name, ord)
                          JOIN pg_attribute a ON a.attrelid = m.relation AND a.attname = c.name AND NOT a.attisdropped)
    WHERE m.relation = rel
$$;
SELECT unlearn.record_attnums(relation) FROM (SELECT DISTINCT relation FROM unlearn.models) r;

-- train() calls install_triggers(): it now records the attribute numbers, and
-- adds the INSERT trigger only while a model on the table learns new rows, so
-- tables whose models ignore inserts pay nothing on COPY and INSERT.
CREATE OR REPLACE FUNCTION unlearn.install_triggers(rel regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r regclass;
BEGIN
    PERFORM unlearn.record_attnums(rel);
    UPDATE unlearn.models
    SET partitions = ARRAY(SELECT relid FROM pg_partition_tree(rel) WHERE relid <> rel ORDER BY relid::oid)
    WHERE relation = rel;
    -- a statement trigger on a partitioned table sees rows deleted through it,
    -- not rows deleted from a partition directly: every level gets the set
    FOR r IN SELECT rel UNION SELECT relid FROM pg_partition_tree(rel) LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = r AND tgname = 'unlearn_forget_delete') THEN
            EXECUTE format('CREATE TRIGGER unlearn_forget_delete AFTER DELETE ON %s '
                           'REFERENCING OLD TABLE AS unlearn_old FOR EACH STATEMENT '
                           'EXECUTE FUNCTION unlearn.forget_rows()', r);
            EXECUTE format('CREATE TRIGGER unlearn_forget_update AFTER UPDATE ON %s '
                           'REFERENCING OLD TABLE AS unlearn_old NEW TABLE AS unlearn_new FOR EACH STATEMENT '
                           'EXECUTE FUNCTION unlearn.forget_rows()', r);
            EXECUTE format('CREATE TRIGGER unlearn_forget_truncate AFTER TRUNCATE ON %s '
                           'FOR EACH STATEMENT EXECUTE FUNCTION unlearn.forget_rows()', r);
        END IF;
        IF EXISTS (SELECT 1 FROM unlearn.models WHERE relation = rel AND options->>'on_insert' = 'learn')
           AND NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = r AND tgname = 'unlearn_learn_insert') THEN
            EXECUTE format('CREATE TRIGGER unlearn_learn_insert AFTER INSERT ON %s '
                           'REFERENCING NEW TABLE AS unlearn_new FOR EACH STATEMENT '
                           'EXECUTE FUNCTION unlearn.forget_rows()', r);
        END IF;
    END LOOP;
END
$$;

-- A model whose source, target or key is gone cannot be kept in step with
-- the table: it is dropped, and the audit says why.
CREATE FUNCTION unlearn.drop_model_because(m unlearn.models, reason text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM unlearn.models WHERE model_id = m.model_id;
    INSERT INTO unlearn.audit (event, model_id, model, rows, method, shards, duration_ms)
    VALUES ('drop', m.model_id, m.name, m.rows_held, reason, '{}', 0);
END
$$;

-- DROP TABLE drops the table's models; DROP COLUMN of a feature forgets the
-- feature exactly (forget_feature), of the target or a key drops the model.
CREATE FUNCTION unlearn.on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER  -- fires for every role's DDL; reads and maintains the extension's tables
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d record;
    m unlearn.models;
    col text;
BEGIN
    FOR d IN SELECT * FROM pg_event_trigger_dropped_objects() WHERE object_type IN ('table', 'table column') LOOP
        -- a dropped partition took rows without a DELETE: retrain from what remains
        FOR m IN SELECT * FROM unlearn.models
                 WHERE d.object_type = 'table' AND d.objid = ANY (partitions::oid[])
                   AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = relation) ORDER BY model_id LOOP
            PERFORM unlearn.resync_or_drop(m.name);
        END LOOP;
        FOR m IN SELECT * FROM unlearn.models WHERE relation = d.objid ORDER BY model_id LOOP
            IF d.object_type = 'table' THEN
                PERFORM unlearn.drop_model_because(m, 'source table dropped');
                CONTINUE;
            END IF;
            col := d.address_names[3];
            IF col = m.target OR col = ANY (m.key_columns) THEN
                PERFORM unlearn.drop_model_because(m, format('column %s dropped', col));
            ELSIF col = ANY (m.features) THEN
                IF cardinality(m.features) = 1 THEN
                    PERFORM unlearn.drop_model_because(m, format('last feature %s dropped', col));
                ELSE
                    PERFORM unlearn.forget_feature(m.name, col);
                END IF;
            END IF;
        END LOOP;
        IF d.object_type = 'table column' THEN
            PERFORM unlearn.record_attnums(d.objid::regclass);
        END IF;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION unlearn.on_sql_drop() FROM PUBLIC;
CREATE EVENT TRIGGER unlearn_sql_drop ON sql_drop EXECUTE FUNCTION unlearn.on_sql_drop();

-- ALTER TABLE ... RENAME COLUMN: models follow the column by its attribute
-- number. A numeric feature retyped to something else is forgotten like a
-- dropped one, so a later DELETE never fails on it (categorical features,
-- which have a vocabulary, are text by design).
CREATE FUNCTION unlearn.on_alter_table() RETURNS event_trigger
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
BEGIN
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
            IF (SELECT atttypid::regtype FROM pg_attribute WHERE attrelid = m.relation AND attname = m.target) <> ALL (numeric_types) THEN
                PERFORM unlearn.drop_model_because(m, format('target %s is no longer numeric', m.target));
                CONTINUE;
            END IF;
            FOREACH f IN ARRAY m.features LOOP
                CONTINUE WHEN EXISTS (SELECT 1 FROM unlearn.vocabulary v WHERE v.model_id = m.model_id AND v.feature = f);
                IF (SELECT atttypid::regtype FROM pg_attribute WHERE attrelid = m.relation AND attname = f) <> ALL (numeric_types) THEN
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
END
$$;
REVOKE ALL ON FUNCTION unlearn.on_alter_table() FROM PUBLIC;
CREATE EVENT TRIGGER unlearn_alter_table ON ddl_command_end WHEN TAG IN ('ALTER TABLE', 'CREATE TABLE')
    EXECUTE FUNCTION unlearn.on_alter_table();

-- Forgetting that bypassed the triggers (session_replication_role = replica,
-- ALTER TABLE ... DISABLE TRIGGER) shows in verify as lineage rows missing
-- from the table or parameters that differ; resync retrains the model from
-- the table as it is, under the same name and settings.
CREATE FUNCTION unlearn.resync(model text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m unlearn.models;
BEGIN
    SELECT * INTO m FROM unlearn.models WHERE name = model FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', model
            USING ERRCODE = 'undefined_object', HINT = 'SELECT name FROM unlearn.models lists the trained models.';
    END IF;
    DELETE FROM unlearn.models WHERE model_id = m.model_id;
    PERFORM unlearn.train(m.name, m.relation, m.target, m.features, m.algorithm, m.strategy, m.shards, m.slices, m.options);
    INSERT INTO unlearn.audit (event, model_id, model, rows, method, shards, duration_ms)
    SELECT 'resync', model_id, name, rows_held, 'retrain from table', '{}', 0 FROM unlearn.models WHERE name = model;
END
$$;
COMMENT ON FUNCTION unlearn.resync(text) IS 'retrain a model from its table as it is now (after changes that bypassed its triggers)';

-- When rows leave without a DELETE (a partition truncated, detached or
-- dropped) the model is retrained; if what remains cannot be fitted (empty,
-- singular) the model is dropped and the audit says why, rather than
-- refusing the user's TRUNCATE or DROP.
CREATE FUNCTION unlearn.resync_or_drop(model text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m unlearn.models;
BEGIN
    SELECT * INTO m FROM unlearn.models WHERE name = model;
    BEGIN
        PERFORM unlearn.resync(model);
    EXCEPTION WHEN OTHERS THEN
        PERFORM unlearn.drop_model_because(m, 'retrain failed: ' || SQLERRM);
    END;
END
$$;

-- Complete erasure ---------------------------------------------------------

-- A DELETE leaves the row's old version in the table's heap until it is
-- rewritten, and the models' old states and lineage blocks likewise (two
-- states differ by exactly the forgotten rows' terms). VACUUM cannot run
-- inside a function, so this returns the commands to run, e.g. in psql:
--     SELECT * FROM unlearn.erasure_commands('t') \gexec
-- WAL, archives, replicas and backups keep the data until they expire.
CREATE FUNCTION unlearn.erasure_commands(relation regclass) RETURNS SETOF text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('VACUUM (FULL) %s', r)
    FROM unnest(ARRAY[relation, 'unlearn.models'::regclass, 'unlearn.state'::regclass,
                      'unlearn.lineage_blocks'::regclass]) AS r
    UNION ALL SELECT 'CHECKPOINT'
$$;
COMMENT ON FUNCTION unlearn.erasure_commands(regclass)
    IS 'commands that rewrite a source table and the model tables so no old row version remains in their files';

-- Categorical features ------------------------------------------------------

-- The categories of each text or enum feature, in byte order. Categories are
-- data: when the last held row carrying one is forgotten, it leaves here too.
CREATE TABLE unlearn.vocabulary (
    model_id   int NOT NULL REFERENCES unlearn.models ON DELETE CASCADE,
    feature    text NOT NULL,
    categories text[] NOT NULL,
    PRIMARY KEY (model_id, feature)
);
COMMENT ON TABLE unlearn.vocabulary IS 'categories of each categorical feature; a category leaves with its last held row';
SELECT pg_catalog.pg_extension_config_dump('unlearn.vocabulary', '');

-- feature_influence varies one feature in an array of features: models with
-- categorical features predict from rows only.
CREATE OR REPLACE FUNCTION unlearn.feature_influence(model text, feature text, sample_rows int DEFAULT 1000)
RETURNS float8
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m unlearn.models;
    lo float8;
    hi float8;
    at_lo text;
    at_hi text;
    result float8;
BEGIN
    SELECT * INTO m FROM unlearn.models WHERE name = model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', model
            USING ERRCODE = 'undefined_object', HINT = 'SELECT name FROM unlearn.models lists the trained models.';
    END IF;
    IF NOT feature = ANY (m.features) THEN
        RETURN 0;
    END IF;
    IF EXISTS (SELECT 1 FROM unlearn.vocabulary v WHERE v.model_id = m.model_id) THEN
        RAISE EXCEPTION 'feature_influence needs a model without categorical features'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Compare unlearn.predict(model, row) over rows that differ only in the feature instead.';
    END IF;
    EXECUTE format('SELECT min(%1$I::%3$s::float8), max(%1$I::%3$s::float8) FROM %2$s', feature, m.relation,
                   CASE WHEN (SELECT atttypid FROM pg_attribute WHERE attrelid = m.relation AND attname = feature)
                             = 'bool'::regtype THEN 'int' ELSE 'float8' END)
      INTO lo, hi;
    -- booleans have no direct cast to float8
    SELECT string_agg(CASE WHEN f = feature THEN '$1' ELSE format('%I::%s::float8', f, cast_via) END, ', ' ORDER BY o),
           string_agg(CASE WHEN f = feature THEN '$2' ELSE format('%I::%s::float8', f, cast_via) END, ', ' ORDER BY o)
      INTO at_lo, at_hi
      FROM unnest(m.features) WITH ORDINALITY AS u(f, o)
      JOIN LATERAL (SELECT CASE WHEN a.atttypid = 'bool'::regtype THEN 'int' ELSE 'float8' END AS cast_via
                    FROM pg_attribute a WHERE a.attrelid = m.relation AND a.attname = u.f) t ON true;
    EXECUTE format('SELECT avg(abs(unlearn.predict(%1$L, ARRAY[%2$s]) - unlearn.predict(%1$L, ARRAY[%3$s]))) '
                   'FROM (SELECT * FROM %4$s LIMIT %5$s) s', model, at_hi, at_lo, m.relation, sample_rows)
      INTO result USING lo, hi;
    RETURN coalesce(result, 0);
END
$$;
