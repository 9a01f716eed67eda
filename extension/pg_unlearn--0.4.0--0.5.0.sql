-- pg_unlearn 0.4.0 -> 0.5.0: forgetting that cannot fail silently.
-- Privileged code evaluates nothing a table owner defines, a key's identity
-- is its stored value, every way a row changes reaches the model (or the
-- change is refused), interrupts and memory limits, clearer errors.
\echo Use "ALTER EXTENSION pg_unlearn UPDATE TO '0.5.0'" to load this file. \quit

-- Privileged code ------------------------------------------------------------

-- Lineage shows keys: a role sees the rows of the models whose table's key
-- it may SELECT, as it would see them in the table.
CREATE OR REPLACE VIEW unlearn.lineage AS
SELECT m.name AS model, l.key, l.shard, l.slice, l.role
FROM unlearn.models m, LATERAL unlearn.lineage_entries(m.model_id) l
WHERE (SELECT bool_and(has_column_privilege(m.relation, k, 'SELECT')) FROM unnest(m.key_columns) AS k);
COMMENT ON VIEW unlearn.lineage IS 'which row (by primary key) each model holds, in which shard and role; only for tables whose key the reader may select';

-- Group figures name values of the monitor_group column: the caller must be
-- able to read that column.
CREATE OR REPLACE FUNCTION unlearn.group_impact(model text, event bigint DEFAULT NULL)
RETURNS TABLE (event_id bigint, at timestamptz, "group" text, metric text, holdout_rows bigint,
               before float8, after float8, change float8)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    chosen bigint;
    m unlearn.models;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM unlearn.audit a WHERE a.model = group_impact.model) THEN
        RAISE EXCEPTION 'model "%" has no audit events', group_impact.model
            USING ERRCODE = 'undefined_object', HINT = 'SELECT name FROM unlearn.models lists the trained models.';
    END IF;
    SELECT * INTO m FROM unlearn.models mo WHERE mo.name = group_impact.model;
    IF FOUND AND m.options ? 'monitor_group'
       AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = m.relation AND attname = m.options->>'monitor_group'
                                                  AND NOT attisdropped)
       AND NOT has_column_privilege(m.relation, m.options->>'monitor_group', 'SELECT') THEN
        RAISE EXCEPTION 'permission denied for column % of table %', quote_ident(m.options->>'monitor_group'), m.relation
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Group figures name the values of the monitor_group column: GRANT SELECT on it.';
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

-- Key identity ---------------------------------------------------------------

-- A key is identified by its stored value in a canonical binary form, not
-- its text (which TimeZone, DateStyle, bytea_output, extra_float_digits and
-- enum renames change). trained_on takes the key as text (parsed with the key
-- column's input function, as the caller) or as a typed value.
COMMENT ON FUNCTION unlearn.trained_on(text, text)
    IS 'does the model hold the row with this primary key (written as text; a composite key as ROW(k1, k2)::text)';
CREATE FUNCTION unlearn.trained_on(model text, key anyelement) RETURNS bool
AS 'MODULE_PATHNAME', 'unlearn_trained_on'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.trained_on(text, anyelement)
    IS 'does the model hold the row with this primary key (of the key''s type, or any integer type for an integer key)';

-- Paths that change rows without a DELETE -------------------------------------

-- Logical replication's apply worker runs with session_replication_role =
-- replica and fires row triggers only, never statement triggers: a model on a
-- subscriber's table would forget nothing of what the publisher deleted. Each
-- table therefore also gets row triggers enabled for the replica role only
-- (ENABLE REPLICA): in origin and local mode the statement triggers fire, in
-- replica mode the row triggers, so every change reaches the models once.
CREATE OR REPLACE FUNCTION unlearn.install_triggers(rel regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r regclass;
    learns bool := EXISTS (SELECT 1 FROM unlearn.models WHERE relation = rel AND options->>'on_insert' = 'learn');
BEGIN
    PERFORM unlearn.record_attnums(rel);
    UPDATE unlearn.models
    SET partitions = ARRAY(SELECT relid FROM pg_partition_tree(rel) WHERE relid <> rel ORDER BY relid::oid)
    WHERE relation = rel;
    -- a statement trigger on a partitioned table sees rows deleted through it,
    -- not rows deleted from a partition directly: every level gets the set;
    -- row triggers on a partitioned table are cloned to its partitions, so the
    -- top level comes first
    FOR r IN SELECT t.relid FROM (SELECT rel AS relid, 0 AS level UNION SELECT p.relid, p.level FROM pg_partition_tree(rel) p) t
             ORDER BY t.level, t.relid::oid LOOP
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
        IF learns AND NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = r AND tgname = 'unlearn_learn_insert') THEN
            EXECUTE format('CREATE TRIGGER unlearn_learn_insert AFTER INSERT ON %s '
                           'REFERENCING NEW TABLE AS unlearn_new FOR EACH STATEMENT '
                           'EXECUTE FUNCTION unlearn.forget_rows()', r);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = r AND tgname = 'unlearn_replica_forget') THEN
            EXECUTE format('CREATE TRIGGER unlearn_replica_forget AFTER DELETE OR UPDATE ON %s '
                           'FOR EACH ROW EXECUTE FUNCTION unlearn.forget_rows()', r);
            EXECUTE format('ALTER TABLE %s ENABLE REPLICA TRIGGER unlearn_replica_forget', r);
        END IF;
        IF learns AND NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = r AND tgname = 'unlearn_replica_learn') THEN
            EXECUTE format('CREATE TRIGGER unlearn_replica_learn AFTER INSERT ON %s '
                           'FOR EACH ROW EXECUTE FUNCTION unlearn.forget_rows()', r);
            EXECUTE format('ALTER TABLE %s ENABLE REPLICA TRIGGER unlearn_replica_learn', r);
        END IF;
    END LOOP;
END
$$;

-- The triggers are the only way deleted rows reach the models: they must fire
-- in the mode they were installed for. Checked after every ALTER TABLE.
CREATE FUNCTION unlearn.check_triggers_enabled(rels oid[]) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT tg.tgrelid::regclass AS rel, tg.tgname, tg.tgenabled
             FROM pg_trigger tg
             WHERE tg.tgrelid = ANY (rels) AND tg.tgname IN ('unlearn_forget_delete', 'unlearn_forget_update', 'unlearn_forget_truncate',
                                 'unlearn_learn_insert', 'unlearn_replica_forget', 'unlearn_replica_learn')
               AND tg.tgenabled <> CASE WHEN tg.tgname LIKE 'unlearn\_replica\_%' THEN 'R' ELSE 'O' END
               AND EXISTS (SELECT 1 FROM unlearn.models m
                           WHERE m.relation = tg.tgrelid
                              OR m.relation IN (SELECT relid FROM pg_partition_ancestors(tg.tgrelid)))
    LOOP
        RAISE EXCEPTION 'trigger % on % must stay enabled as pg_unlearn installed it', t.tgname, t.rel
            USING ERRCODE = 'object_in_use',
                  DETAIL = 'Rows changed while it does not fire would stay in the models trained on the table.',
                  HINT = 'Drop the models first (unlearn.drop_model), or leave the trigger as it is.';
    END LOOP;
END
$$;

-- Plain table inheritance: a DELETE on a child fires no trigger of its
-- parent's, and keys may repeat across the hierarchy. Training refuses such a
-- table; this refuses making a modeled table a parent or child later.
CREATE FUNCTION unlearn.check_no_inheritance(rels oid[]) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel regclass;
BEGIN
    SELECT m.relation INTO rel
    FROM unlearn.models m JOIN pg_class c ON c.oid = m.relation
    WHERE c.relkind = 'r' AND NOT c.relispartition
      AND (m.relation = ANY (rels) OR m.relation IN (SELECT inhparent FROM pg_inherits WHERE inhrelid = ANY (rels)))
      AND EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = m.relation OR i.inhrelid = m.relation)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'table % has models and cannot take part in table inheritance', rel
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'A DELETE on a child table fires no trigger of its parent''s: its rows would never be forgotten.',
                  HINT = 'Use a partitioned table, or drop the models first (unlearn.drop_model).';
    END IF;
END
$$;

-- Lineage identifies rows by primary key: without it a duplicate key would
-- make a later DELETE forget the wrong row. Refused while a model is on the table.
CREATE FUNCTION unlearn.check_primary_keys(rels oid[]) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel regclass;
BEGIN
    SELECT m.relation INTO rel FROM unlearn.models m
    WHERE m.relation = ANY (rels) AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = m.relation AND i.indisprimary)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'table % has models and must keep its primary key', rel
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = 'Models record the rows they hold by primary key; a duplicate key would make a DELETE forget the wrong row.',
                  HINT = 'Drop the models first (unlearn.drop_model), or replace the key in the same ALTER TABLE.';
    END IF;
END
$$;

-- ALTER TABLE ... ALTER COLUMN ... TYPE ... USING rewrites the table and can
-- change every stored value (x * 2, -y, float8 -> int) with no DELETE or
-- UPDATE: a later DELETE would subtract values that were never added. The
-- rewrite is noted here and the models on the table are retrained from the
-- rewritten rows at the end of the command (on_alter_table).
CREATE FUNCTION unlearn.on_table_rewrite() RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM set_config('unlearn.rewritten',
                       concat_ws(',', nullif(current_setting('unlearn.rewritten', true), ''),
                                 pg_event_trigger_table_rewrite_oid()::text),
                       true);
END
$$;
REVOKE ALL ON FUNCTION unlearn.on_table_rewrite() FROM PUBLIC;
CREATE EVENT TRIGGER unlearn_table_rewrite ON table_rewrite EXECUTE FUNCTION unlearn.on_table_rewrite();

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

-- DROP TRIGGER on one of the extension's triggers would let rows leave
-- without being forgotten: refused while a model is on the table (dropping
-- the table, or the model, drops them).
CREATE OR REPLACE FUNCTION unlearn.on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER  -- fires for every role's DDL; reads and maintains the extension's tables
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d record;
    m unlearn.models;
    col text;
    rel regclass;
BEGIN
    FOR d IN SELECT * FROM pg_event_trigger_dropped_objects()
             WHERE object_type = 'trigger' AND original AND address_names[3] LIKE 'unlearn\_%' LOOP
        rel := to_regclass(format('%I.%I', d.address_names[1], d.address_names[2]));
        -- the learn triggers serve only models that learn inserted rows
        IF rel IS NOT NULL AND EXISTS (SELECT 1 FROM unlearn.models mo
                                       WHERE (mo.relation = rel
                                              OR mo.relation IN (SELECT relid FROM pg_partition_ancestors(rel)))
                                         AND (d.address_names[3] NOT LIKE 'unlearn\_%learn%'
                                              OR mo.options->>'on_insert' = 'learn')) THEN
            RAISE EXCEPTION 'cannot drop trigger % on %: models trained on the table depend on it', d.address_names[3], rel
                USING ERRCODE = 'dependent_objects_still_exist',
                      DETAIL = 'Rows deleted without it would stay in the models.',
                      HINT = 'Drop the models first (unlearn.drop_model), which drops the triggers with the last one.';
        END IF;
    END LOOP;
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

-- The replica triggers go with the table's last model, like the others (a
-- trigger cloned onto a partition goes with its parent's).
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
    -- the forget triggers go with the table's last model, the learn triggers
    -- with its last learning model
    FOR trigger_name, trigger_rel IN
        SELECT t.tgname, t.tgrelid::regclass FROM pg_trigger t
        WHERE (t.tgrelid = m.relation OR t.tgrelid IN (SELECT relid FROM pg_partition_tree(m.relation)))
          AND t.tgparentid = 0
          AND ((t.tgname IN ('unlearn_forget_delete', 'unlearn_forget_update', 'unlearn_forget_truncate',
                             'unlearn_replica_forget')
                AND NOT EXISTS (SELECT 1 FROM unlearn.models o WHERE o.relation = m.relation))
            OR (t.tgname IN ('unlearn_learn_insert', 'unlearn_replica_learn')
                AND NOT EXISTS (SELECT 1 FROM unlearn.models o
                                WHERE o.relation = m.relation AND o.options->>'on_insert' = 'learn')))
        ORDER BY t.tgrelid::oid, t.tgname
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', trigger_name, trigger_rel);
    END LOOP;
    INSERT INTO unlearn.audit (event, model_id, model, rows, method, shards, duration_ms)
    VALUES ('drop', m.model_id, m.name, m.rows_held, 'drop', '{}', 0);
END
$$;

-- Existing tables get the replica triggers now.
SELECT unlearn.install_triggers(relation) FROM (SELECT DISTINCT relation FROM unlearn.models) r;

-- Interrupts, memory and errors ----------------------------------------------

-- Existing models (last: everything above is in place) ----------------------

-- Lineage written before 0.5.0 holds text keys (block kind 0, which the
-- library now refuses), and shards, holdout and SISA slices were drawn from
-- those texts: every model is retrained from its table, which rebuilds
-- lineage, shards, holdout, vocabulary (enum categories by OID) and state.
-- A model that can no longer be trained (a key type pg_unlearn cannot
-- identify rows by, an empty table) is dropped; the audit says why.
DO $$
DECLARE
    m record;
BEGIN
    FOR m IN SELECT name FROM unlearn.models ORDER BY model_id LOOP
        PERFORM unlearn.resync_or_drop(m.name);
        IF NOT EXISTS (SELECT 1 FROM unlearn.models WHERE name = m.name) THEN
            RAISE WARNING 'model "%" was dropped: it could not be retrained with keys identified by value', m.name
                USING HINT = 'unlearn.audit holds the reason; train the model again once it is fixed.';
        END IF;
    END LOOP;
END
$$;
