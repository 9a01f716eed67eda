-- pg_unlearn 0.6.0 -> 0.7.0. Every object added or changed here is also in
-- pg_unlearn--0.7.0.sql, the complete script for this version; sql/upgrade.sql
-- checks that both give the same definitions.
\echo Use "ALTER EXTENSION pg_unlearn UPDATE TO '0.7.0'" to load this file. \quit

-- A model never stalls its table (issue 15) ----------------------------------

-- The database's worker lock for this session (tests, maintenance): while a
-- session holds it no background worker works in the database. Its lock
-- kind is one SQL's pg_advisory_lock cannot take, and only superusers may
-- call these: a role that could take it would stop every catch-up.
CREATE FUNCTION unlearn.hold_worker() RETURNS void
AS 'MODULE_PATHNAME', 'unlearn_hold_worker'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
CREATE FUNCTION unlearn.release_worker() RETURNS bool
AS 'MODULE_PATHNAME', 'unlearn_release_worker'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION unlearn.hold_worker() FROM PUBLIC;
REVOKE ALL ON FUNCTION unlearn.release_worker() FROM PUBLIC;
COMMENT ON FUNCTION unlearn.hold_worker() IS 'take the database''s background-worker lock for the session (waits while a worker works): no catch-up runs until release_worker or the session ends';
COMMENT ON FUNCTION unlearn.release_worker() IS 'let go of the database''s background-worker lock taken by hold_worker; false when the session did not hold it';

-- Lineage blocks stay in their heap rows (see pg_unlearn--0.7.0.sql); blocks
-- already moved to TOAST come back the next time they are written.
ALTER TABLE unlearn.lineage_blocks SET (toast_tuple_target = 8160);

-- Fixes of the adversarial review (triggers known by definition, keys, sources,
-- erasure); each object as pg_unlearn--0.7.0.sql defines it.

-- The extension's triggers, the one list every function that makes, knows or
-- guards them reads: the name, what fires it (for CREATE TRIGGER), its
-- pg_trigger.tgtype and transition tables, the mode it fires in (tgenabled:
-- the statement triggers in origin and local mode, the row triggers in
-- replica mode only, as logical replication's apply worker fires row
-- triggers, never statement triggers; the TRUNCATE trigger always, since no
-- row trigger can stand for it and a publication replicates TRUNCATE),
-- whether it serves only models that learn inserted rows, and the order they
-- are made in (row triggers on a partitioned table are cloned to its
-- partitions).
CREATE OR REPLACE FUNCTION unlearn.own_triggers()
RETURNS TABLE (name text, fires text, type int2, old_table text, new_table text, mode "char", learns bool, ord int)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    VALUES ('unlearn_forget_delete', 'AFTER DELETE ON %s REFERENCING OLD TABLE AS unlearn_old FOR EACH STATEMENT',
            8::int2, 'unlearn_old', NULL, 'O'::"char", false, 1),
           ('unlearn_forget_update', 'AFTER UPDATE ON %s REFERENCING OLD TABLE AS unlearn_old NEW TABLE AS unlearn_new FOR EACH STATEMENT',
            16::int2, 'unlearn_old', 'unlearn_new', 'O'::"char", false, 2),
           ('unlearn_forget_truncate', 'AFTER TRUNCATE ON %s FOR EACH STATEMENT',
            32::int2, NULL, NULL, 'A'::"char", false, 3),
           ('unlearn_learn_insert', 'AFTER INSERT ON %s REFERENCING NEW TABLE AS unlearn_new FOR EACH STATEMENT',
            4::int2, NULL, 'unlearn_new', 'O'::"char", true, 4),
           ('unlearn_replica_forget', 'AFTER DELETE OR UPDATE ON %s FOR EACH ROW',
            25::int2, NULL, NULL, 'R'::"char", false, 5),
           ('unlearn_replica_learn', 'AFTER INSERT ON %s FOR EACH ROW',
            5::int2, NULL, NULL, 'R'::"char", true, 6)
$$;

CREATE OR REPLACE FUNCTION unlearn.is_own_trigger(tg oid) RETURNS bool
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1 FROM pg_trigger t
        JOIN unlearn.own_triggers() own ON own.name = t.tgname::text
        WHERE t.oid = tg
          AND t.tgfoid = 'unlearn.forget_rows()'::regprocedure AND t.tgtype = own.type
          AND t.tgoldtable::text IS NOT DISTINCT FROM own.old_table
          AND t.tgnewtable::text IS NOT DISTINCT FROM own.new_table
          AND t.tgnargs = 0 AND t.tgqual IS NULL AND cardinality(t.tgattr::int2[]) = 0
          AND t.tgconstraint = 0)
$$;

-- The mode each of the extension's triggers fires in (pg_trigger.tgenabled):
-- the statement triggers in origin and local mode, the row triggers in
-- replica mode only (logical replication's apply worker fires row triggers,
-- never statement triggers), and the TRUNCATE trigger always: no row trigger
-- can stand for it, and a publication replicates TRUNCATE.
CREATE OR REPLACE FUNCTION unlearn.own_trigger_mode(trigger_name name) RETURNS "char"
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT own.mode FROM unlearn.own_triggers() own WHERE own.name = trigger_name::text), 'O')
$$;

-- Sets one of the extension's triggers, just created (in origin mode, as
-- CREATE TRIGGER makes every trigger), to fire in its own mode.
CREATE OR REPLACE FUNCTION unlearn.enable_own_trigger(rel regclass, trigger_name name) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mode "char" := unlearn.own_trigger_mode(trigger_name);
BEGIN
    IF (SELECT tgenabled FROM pg_trigger WHERE tgrelid = rel AND tgname = trigger_name) IS DISTINCT FROM mode THEN
        EXECUTE format('ALTER TABLE %s ENABLE %s TRIGGER %I', rel,
                       CASE mode WHEN 'R' THEN 'REPLICA' WHEN 'A' THEN 'ALWAYS' ELSE '' END, trigger_name);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION unlearn.install_triggers(rel regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r regclass;
    k record;
    existing oid;
    a_model_learns bool := EXISTS (SELECT 1 FROM unlearn.models WHERE relation = rel AND options->>'on_insert' = 'learn');
BEGIN
    PERFORM unlearn.record_attnums(rel);
    -- a model that recorded a partition the tree no longer shows (a DETACH
    -- ... CONCURRENTLY interrupted before its second transaction: no event
    -- trigger ran) keeps its record, so that FINALIZE retrains it from what
    -- is left; training another model on the table must not erase it
    UPDATE unlearn.models
    SET partitions = ARRAY(SELECT relid FROM pg_partition_tree(rel) WHERE relid <> rel ORDER BY relid::oid)
    WHERE relation = rel AND coalesce(partitions, '{}') <@ ARRAY(SELECT relid FROM pg_partition_tree(rel));
    -- a statement trigger on a partitioned table sees rows deleted through it,
    -- not rows deleted from a partition directly: every level gets the set;
    -- row triggers on a partitioned table are cloned to its partitions, so the
    -- top level comes first
    FOR r IN SELECT t.relid FROM (SELECT rel AS relid, 0 AS level UNION SELECT p.relid, p.level FROM pg_partition_tree(rel) p) t
             ORDER BY t.level, t.relid::oid LOOP
        -- each trigger on its own: a trigger of that name is taken for the
        -- extension's only if it is its definition (is_own_trigger), and a
        -- name the table's models need is never left to another trigger,
        -- wanted now or not (the learn triggers come with a learning model)
        FOR k IN SELECT own.name, own.fires, NOT own.learns OR a_model_learns AS wanted
                 FROM unlearn.own_triggers() own ORDER BY own.ord LOOP
            SELECT tg.oid INTO existing FROM pg_trigger tg WHERE tg.tgrelid = r AND tg.tgname = k.name;
            IF FOUND THEN
                IF NOT unlearn.is_own_trigger(existing) THEN
                    RAISE EXCEPTION 'trigger % on % is not pg_unlearn''s but bears the name of one of its triggers', k.name, r
                        USING ERRCODE = 'duplicate_object',
                              DETAIL = 'Taken for pg_unlearn''s, it would let rows leave the table without being forgotten.',
                              HINT = format('Drop or rename your trigger (ALTER TRIGGER %I ON %s RENAME TO ...), then try again.', k.name, r);
                END IF;
                -- made by the table's owner before any model (its definition
                -- is pg_unlearn's): it fires as pg_unlearn's must
                PERFORM unlearn.enable_own_trigger(r, k.name);
            ELSIF k.wanted THEN
                EXECUTE format('CREATE TRIGGER %I ' || k.fires || ' EXECUTE FUNCTION unlearn.forget_rows()', k.name, r);
                PERFORM unlearn.enable_own_trigger(r, k.name);
            END IF;
        END LOOP;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION unlearn.check_primary_keys(rels oid[]) RETURNS void
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
    -- a deferrable key lets a transaction hold two rows of one key until
    -- commit: deleting the newcomer would forget the trained row
    SELECT m.relation INTO rel FROM unlearn.models m
    WHERE m.relation = ANY (rels)
      AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = m.relation AND i.indisprimary AND NOT i.indimmediate)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'table % has models and its primary key cannot be deferrable', rel
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'Models record the rows they hold by primary key, which must be unique at every moment.',
                  HINT = 'Make the key NOT DEFERRABLE, or drop the models first (unlearn.drop_model).';
    END IF;
END
$$;
ALTER TABLE unlearn.models ADD COLUMN key_types regtype[];
COMMENT ON COLUMN unlearn.models.key_types IS 'declared types of the key columns when the lineage was last written: a retyped key (even without a rewrite) retrains the model';

CREATE OR REPLACE FUNCTION unlearn.key_types_now(m unlearn.models) RETURNS regtype[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT array_agg(a.atttypid::regtype ORDER BY k.ord)
    FROM unnest(m.key_columns) WITH ORDINALITY AS k(name, ord)
    JOIN pg_attribute a ON a.attrelid = m.relation AND a.attname = k.name AND NOT a.attisdropped
$$;
COMMENT ON FUNCTION unlearn.key_types_now(unlearn.models) IS 'internal: the declared types of a model''s key columns, recorded to notice a retyped key';

-- The monitor_group column by attribute number, as column_attnums holds
-- the others: a rename is followed, and a column given the old name later
-- is not taken for it.
ALTER TABLE unlearn.models ADD COLUMN monitor_attnum int2;
COMMENT ON COLUMN unlearn.models.monitor_attnum IS 'attribute number of the options.monitor_group column, which renames follow';

CREATE OR REPLACE FUNCTION unlearn.record_attnums(rel regclass) RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE unlearn.models m
    SET column_attnums = (SELECT array_agg(a.attnum ORDER BY c.ord)
                          FROM unnest(m.key_columns || m.target || m.features) WITH ORDINALITY AS c(name, ord)
                          JOIN pg_attribute a ON a.attrelid = m.relation AND a.attname = c.name AND NOT a.attisdropped),
        key_types = unlearn.key_types_now(m),
        -- kept when the column is gone (sql_drop runs this before
        -- on_alter_table, which then takes the option away)
        monitor_attnum = coalesce((SELECT a.attnum FROM pg_attribute a
                                   WHERE a.attrelid = m.relation AND a.attname = m.options->>'monitor_group'
                                     AND NOT a.attisdropped), m.monitor_attnum)
    WHERE m.relation = rel
$$;
SELECT unlearn.record_attnums(relation) FROM (SELECT DISTINCT relation FROM unlearn.models) r;

-- The event triggers read unlearn.models with the DDL's snapshot: under
-- REPEATABLE READ a model committed after it would be missed by their
-- guards, and the DDL refused with 40001 instead (ddl_snapshot.cpp).
CREATE FUNCTION unlearn.refuse_models_after_snapshot(rels oid[]) RETURNS void
AS 'MODULE_PATHNAME', 'unlearn_refuse_models_after_snapshot'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION unlearn.refuse_models_after_snapshot(oid[]) FROM PUBLIC;
COMMENT ON FUNCTION unlearn.refuse_models_after_snapshot(oid[]) IS 'internal: an event trigger''s DDL under REPEATABLE READ fails (40001) when a model on its tables committed after the snapshot';

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
    target_type regtype;
    f text;
    dropped bool;
    n int;
    rewritten oid[] := string_to_array(nullif(current_setting('unlearn.rewritten', true), ''), ',')::oid[];
BEGIN
    PERFORM unlearn.refuse_models_after_snapshot(ARRAY(SELECT objid FROM pg_event_trigger_ddl_commands()));
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
            -- followed only when a recorded name is gone (a rename): after a
            -- restore the numbers are the dumped table's, and the names,
            -- which all still exist, are the ones to trust
            IF cardinality(m.column_attnums) = n + 1 + cardinality(m.features)
               AND cardinality(names) = cardinality(m.column_attnums)
               AND EXISTS (SELECT 1 FROM unnest(m.key_columns || m.target || m.features) AS recorded(col)
                           WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a
                                             WHERE a.attrelid = m.relation AND a.attname = recorded.col AND NOT a.attisdropped)) THEN
                UPDATE unlearn.models
                SET key_columns = names[1:n], target = names[n + 1], features = names[n + 2:]
                WHERE model_id = m.model_id
                  AND (key_columns, target, features) IS DISTINCT FROM (names[1:n], names[n + 1], names[n + 2:]);
                -- a categorical feature's vocabulary follows its column's name,
                -- and so do a text target's classes
                UPDATE unlearn.vocabulary v
                SET feature = names[n + 1 + u.i]
                FROM generate_subscripts(m.features, 1) AS u(i)
                WHERE v.model_id = m.model_id AND v.feature = m.features[u.i] AND m.features[u.i] <> names[n + 1 + u.i];
                UPDATE unlearn.vocabulary v SET feature = names[n + 1]
                WHERE v.model_id = m.model_id AND v.feature = m.target AND m.target <> names[n + 1];
            END IF;
            -- the monitor_group column is followed by its attribute number
            -- too, once its name is gone: renamed, the option follows it;
            -- dropped, the option goes (group figures stop). A column given its old name later is
            -- another column, whose readers must not read the figures of
            -- the first (the audit's policy asks for SELECT on the option's
            -- column).
            IF m.monitor_attnum IS NOT NULL AND m.options ? 'monitor_group'
               AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = m.relation
                               AND a.attname = m.options->>'monitor_group' AND NOT a.attisdropped) THEN
                SELECT a.attname, a.attisdropped INTO f, dropped
                FROM pg_attribute a WHERE a.attrelid = m.relation AND a.attnum = m.monitor_attnum;
                IF NOT FOUND OR dropped THEN
                    UPDATE unlearn.models SET options = options - 'monitor_group' WHERE model_id = m.model_id;
                ELSIF f <> m.options->>'monitor_group' THEN
                    UPDATE unlearn.models SET options = jsonb_set(options, '{monitor_group}', to_jsonb(f))
                    WHERE model_id = m.model_id;
                END IF;
            END IF;
            SELECT * INTO m FROM unlearn.models WHERE model_id = m.model_id;
            target_type := (SELECT unlearn.base_type(atttypid) FROM pg_attribute WHERE attrelid = m.relation AND attname = m.target);
            -- a text or enum target's classes are by value: another type has other values
            IF EXISTS (SELECT 1 FROM unlearn.vocabulary v WHERE v.model_id = m.model_id AND v.feature = m.target) THEN
                IF target_type NOT IN ('text', 'varchar', 'bpchar')
                   AND NOT EXISTS (SELECT 1 FROM pg_type WHERE oid = target_type AND typtype = 'e') THEN
                    PERFORM unlearn.drop_model_because(m, format('target %s is no longer text', m.target));
                    CONTINUE;
                END IF;
            ELSIF target_type <> ALL (numeric_types) THEN
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
        -- a key column retyped: lineage holds its keys in the old type's
        -- encoding, which the triggers no longer produce; retrained as a
        -- rewrite is, even when the new type needed none (int4 -> oid)
        FOR m IN SELECT * FROM unlearn.models
                 WHERE relation = c.objid AND key_types IS NOT NULL AND relation <> ALL (coalesce(rewritten, '{}'))
                   AND NOT coalesce(partitions::oid[] && rewritten, false)  -- retrained below, with its rewritten partitions
                 ORDER BY model_id LOOP
            IF unlearn.key_types_now(m) IS DISTINCT FROM m.key_types THEN
                PERFORM unlearn.resync_or_drop(m.name);
            END IF;
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
    -- (only the models over tables this command altered or created a
    -- partition of: during a restore, another table's statements must not
    -- reach them before their keys are back)
    FOR m IN SELECT mo.* FROM unlearn.models mo JOIN pg_class pc ON pc.oid = mo.relation
             WHERE pc.relkind = 'p'
               AND EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() cmd
                           WHERE cmd.classid = 'pg_class'::regclass
                             AND (cmd.objid = mo.relation
                                  OR mo.relation IN (SELECT relid FROM pg_partition_ancestors(cmd.objid))))
             ORDER BY mo.model_id LOOP
        IF EXISTS (SELECT 1 FROM unnest(coalesce(m.partitions, '{}')) AS p(rel)
                   WHERE p.rel NOT IN (SELECT relid FROM pg_partition_tree(m.relation))) THEN
            PERFORM unlearn.resync_or_drop(m.name);
        END IF;
        PERFORM unlearn.install_triggers(m.relation);
    END LOOP;
    PERFORM unlearn.check_triggers_enabled(ARRAY(SELECT objid FROM pg_event_trigger_ddl_commands()));
END
$$;
COMMENT ON FUNCTION unlearn.own_triggers() IS 'internal: pg_unlearn''s triggers: name, definition, type, transition tables, mode, whether they serve learning models';
COMMENT ON FUNCTION unlearn.is_own_trigger(oid) IS 'internal: whether a trigger is one of pg_unlearn''s, by function, events, level and transition tables';
COMMENT ON FUNCTION unlearn.own_trigger_mode(name) IS 'internal: the mode (pg_trigger.tgenabled) one of pg_unlearn''s triggers fires in';
COMMENT ON FUNCTION unlearn.enable_own_trigger(regclass, name) IS 'internal: sets one of pg_unlearn''s triggers on a table to fire in its own mode';

CREATE OR REPLACE FUNCTION unlearn.check_triggers_enabled(rels oid[]) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT tg.tgrelid::regclass AS rel, tg.tgname, tg.tgenabled
             FROM pg_trigger tg
             WHERE tg.tgrelid = ANY (rels) AND unlearn.is_own_trigger(tg.oid)
               AND tg.tgenabled <> unlearn.own_trigger_mode(tg.tgname)
               AND EXISTS (SELECT 1 FROM unlearn.models m
                           WHERE m.relation = tg.tgrelid
                              OR m.relation IN (SELECT relid FROM pg_partition_ancestors(tg.tgrelid)))
             ORDER BY tg.tgrelid, tg.tgname  -- the first in name order is named, whatever the plan
    LOOP
        RAISE EXCEPTION 'trigger % on % must stay enabled as pg_unlearn installed it', t.tgname, t.rel
            USING ERRCODE = 'object_in_use',
                  DETAIL = 'Rows changed while it does not fire would stay in the models trained on the table.',
                  HINT = 'Drop the models first (unlearn.drop_model), or leave the trigger as it is.';
    END LOOP;
END
$$;

CREATE FUNCTION unlearn.drop_model_rows(model text) RETURNS void
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
          AND t.tgparentid = 0 AND unlearn.is_own_trigger(t.oid)
          AND ((t.tgname IN (SELECT own.name FROM unlearn.own_triggers() own WHERE NOT own.learns)
                AND NOT EXISTS (SELECT 1 FROM unlearn.models o WHERE o.relation = m.relation))
            OR (t.tgname IN (SELECT own.name FROM unlearn.own_triggers() own WHERE own.learns)
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
    PERFORM unlearn.refuse_models_after_snapshot(ARRAY(
        SELECT CASE WHEN object_type = 'trigger'
                    THEN to_regclass(format('%I.%I', address_names[1], address_names[2]))::oid ELSE objid END
        FROM pg_event_trigger_dropped_objects() WHERE object_type IN ('trigger', 'table', 'table column')));
    FOR d IN SELECT * FROM pg_event_trigger_dropped_objects()
             WHERE object_type = 'trigger' AND original
               AND address_names[3] IN (SELECT own.name FROM unlearn.own_triggers() own) LOOP
        rel := to_regclass(format('%I.%I', d.address_names[1], d.address_names[2]));
        -- the learn triggers serve only models that learn inserted rows
        IF rel IS NOT NULL AND EXISTS (SELECT 1 FROM unlearn.models mo
                                       WHERE (mo.relation = rel
                                              OR mo.relation IN (SELECT relid FROM pg_partition_ancestors(rel)))
                                         AND (NOT (SELECT own.learns FROM unlearn.own_triggers() own WHERE own.name = d.address_names[3])
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

CREATE OR REPLACE FUNCTION unlearn.on_alter_trigger() RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER  -- fires for every role's DDL; reads the catalog only
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
BEGIN
    PERFORM unlearn.refuse_models_after_snapshot(ARRAY(
        SELECT tg.tgrelid FROM pg_event_trigger_ddl_commands() c JOIN pg_trigger tg ON tg.oid = c.objid
        WHERE c.classid = 'pg_trigger'::regclass));
    FOR t IN SELECT c.command_tag, tg.oid, tg.tgname, tg.tgrelid::regclass AS rel,
                    tg.tgfoid = 'unlearn.forget_rows()'::regprocedure AS runs_forget
             FROM pg_event_trigger_ddl_commands() c
             JOIN pg_trigger tg ON tg.oid = c.objid
             WHERE c.classid = 'pg_trigger'::regclass LOOP
        -- a trigger of the table's owner running pg_unlearn's function (its
        -- EXECUTE is PUBLIC's) would forget the same rows twice, or with
        -- transition tables it does not read
        IF t.command_tag = 'CREATE TRIGGER' AND t.runs_forget AND NOT unlearn.is_own_trigger(t.oid) THEN
            RAISE EXCEPTION 'trigger % on % runs unlearn.forget_rows() but is not one of pg_unlearn''s triggers', t.tgname, t.rel
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'pg_unlearn installs its triggers when a model is trained on the table (unlearn.train).';
        END IF;
        -- CREATE [OR REPLACE] TRIGGER writes origin mode, and one of
        -- pg_unlearn's must fire in its own: a replica row trigger in origin
        -- mode forgot an UPDATE's rows twice, a TRUNCATE trigger not ALWAYS
        -- misses a replicated TRUNCATE (helper h3); at every level of the
        -- tree it was made on (a partitioned table's row triggers are cloned)
        IF t.command_tag = 'CREATE TRIGGER' AND t.runs_forget THEN
            PERFORM unlearn.enable_own_trigger(p.relid, t.tgname)
            FROM (SELECT t.rel AS relid UNION SELECT relid FROM pg_partition_tree(t.rel)) p
            WHERE EXISTS (SELECT 1 FROM pg_trigger x WHERE x.tgrelid = p.relid AND x.tgname = t.tgname);
        END IF;
        IF t.command_tag = 'ALTER TRIGGER' AND t.runs_forget THEN
            RAISE EXCEPTION 'cannot rename pg_unlearn''s triggers on %', t.rel
                USING ERRCODE = 'object_in_use',
                      HINT = 'Drop the models on the table first (unlearn.drop_model): the last one drops the triggers.';
        END IF;
        IF t.tgname IN (SELECT own.name FROM unlearn.own_triggers() own)
           AND NOT unlearn.is_own_trigger(t.oid)
           AND EXISTS (SELECT 1 FROM unlearn.models m
                       WHERE m.relation = t.rel
                          OR m.relation IN (SELECT relid FROM pg_partition_ancestors(t.rel))) THEN
            RAISE EXCEPTION 'trigger name % on % is pg_unlearn''s while models are on the table', t.tgname, t.rel
                USING ERRCODE = 'object_in_use',
                      DETAIL = 'A trigger of that name that is not pg_unlearn''s would let rows leave without being forgotten.',
                      HINT = 'Give your trigger another name; pg_unlearn''s triggers go with the table''s last model (unlearn.drop_model).';
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION unlearn.on_alter_trigger() IS 'internal: event trigger that refuses renaming the forget triggers of a table with models, or replacing or imitating them';
DROP EVENT TRIGGER unlearn_alter_trigger;
CREATE EVENT TRIGGER unlearn_alter_trigger ON ddl_command_end WHEN TAG IN ('ALTER TRIGGER', 'CREATE TRIGGER')
    EXECUTE FUNCTION unlearn.on_alter_trigger();
-- every event trigger of the extension fires in replica mode too: a session
-- there (session_replication_role = replica, a superuser's) would otherwise
-- drop or change what forgetting depends on unseen
ALTER EVENT TRIGGER unlearn_alter_trigger ENABLE ALWAYS;
ALTER EVENT TRIGGER unlearn_table_rewrite ENABLE ALWAYS;
ALTER EVENT TRIGGER unlearn_alter_table ENABLE ALWAYS;
ALTER EVENT TRIGGER unlearn_sql_drop ENABLE ALWAYS;

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
    -- (a SISA shard retrains inside the DELETE: the influence is measured right after it)
    PERFORM unlearn.train(scratch, format('pg_temp.%I', scratch)::regclass, target, features || 'unlearn_injected'::text,
                          algorithm, strategy, shards, slices, options || '{"retrain": "inline"}');
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
                          features || 'unlearn_injected'::text, algorithm, strategy, shards, slices,
                          options || '{"retrain": "inline"}');  -- the scratch table is temporary: no worker reads it
    EXECUTE influence INTO weight_retrained USING scratch || '_retrained';
    PERFORM unlearn.drop_model(scratch);
    PERFORM unlearn.drop_model(scratch || '_retrained');
    EXECUTE format('DROP TABLE pg_temp.%I', scratch);
    ratio := weight_after / nullif(weight_before, 0);
    RETURN NEXT;
END
$$;

CREATE OR REPLACE FUNCTION unlearn.erasure_commands(relation regclass) RETURNS SETOF text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- format() turns NULL into '', and 'VACUUM (FULL) ' rewrites every table
    IF relation IS NULL THEN
        RAISE EXCEPTION 'relation must not be NULL'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Name the table whose deleted rows must leave its files.';
    END IF;
    -- every table of the extension's that holds bytes derived from rows
    -- (figures, states, keys, categories and classes, concurrent writers'
    -- deltas), each analyzed again so that its statistics (most common
    -- values, histogram bounds) keep no forgotten value; then the old
    -- statistics leave pg_statistic's files too
    RETURN QUERY
        SELECT format('VACUUM (FULL, ANALYZE) %s', r)
        FROM unnest(ARRAY[relation, 'unlearn.models'::regclass, 'unlearn.state'::regclass,
                          'unlearn.lineage_blocks'::regclass, 'unlearn.checkpoints'::regclass,
                          'unlearn.vocabulary'::regclass, 'unlearn.state_delta'::regclass]) AS r
        UNION ALL SELECT 'VACUUM (FULL) pg_catalog.pg_statistic'
        UNION ALL SELECT 'VACUUM (FULL) pg_catalog.pg_statistic_ext_data'  -- CREATE STATISTICS' most common values
        UNION ALL SELECT 'CHECKPOINT';
END
$$;

-- A TRUNCATE trigger installed before 0.7.0 fired in origin mode only: a
-- TRUNCATE replicated to a subscriber was not forgotten. It fires always now.
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT tgrelid::regclass AS rel, tgname FROM pg_trigger
             WHERE tgname = 'unlearn_forget_truncate' AND unlearn.is_own_trigger(oid) LOOP
        PERFORM unlearn.enable_own_trigger(t.rel, t.tgname);
    END LOOP;
END
$$;

-- A model row names a table and the columns that the background worker and
-- the event triggers, running as the extension's owner, read for it: whoever
-- writes one must be able to read them, as train checks of its caller (the
-- key, target, features and monitor_group, also as column_attnums numbers
-- them, which the event triggers rename columns by; and no row-level
-- security in force for the writer, which train refuses too). Without this a
-- role given training's grants on the unlearn tables could point a model at
-- data it may not read and have the worker or a resync read it for the
-- model. The counters' updates (every change) do not fire it.
CREATE FUNCTION unlearn.check_model_source() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c text;
    named text[] := NEW.key_columns || NEW.target || NEW.features;
BEGIN
    IF NEW.options ? 'monitor_group' THEN
        named := named || (NEW.options->>'monitor_group');
    END IF;
    named := named || ARRAY(SELECT a.attname::text FROM pg_attribute a
                            WHERE a.attrelid = NEW.relation AND a.attnum = ANY (NEW.column_attnums) AND NOT a.attisdropped);
    IF coalesce(row_security_active(NEW.relation), false) THEN
        RAISE EXCEPTION 'table % has row-level security for %', NEW.relation, current_user
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'A model reads every row of its table: only a role that sees them all can write it.';
    END IF;
    FOREACH c IN ARRAY named LOOP
        IF NOT coalesce(has_table_privilege(NEW.relation, 'SELECT')
                        OR has_column_privilege(NEW.relation,
                                                (SELECT a.attnum FROM pg_attribute a
                                                 WHERE a.attrelid = NEW.relation AND a.attname = c AND NOT a.attisdropped),
                                                'SELECT'), false) THEN
            RAISE EXCEPTION 'permission denied for column % of table %', c, NEW.relation
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'A model names the columns pg_unlearn reads for it: only a role that may SELECT them can write it.';
        END IF;
    END LOOP;
    RETURN NEW;
END
$$;
CREATE TRIGGER check_model_source
    BEFORE INSERT OR UPDATE OF relation, key_columns, target, features, options, column_attnums ON unlearn.models
    FOR EACH ROW EXECUTE FUNCTION unlearn.check_model_source();
COMMENT ON FUNCTION unlearn.check_model_source() IS 'internal: a model row may name only columns its writer may select';

-- Models have owners, and the extension's tables are written by the
-- extension only: statements that change or lock their rows run as the
-- extension's owner (Spi::exec), so a role given training needs no grant to
-- write them, and changes another role's model only through drop_model,
-- resync or train(replace => true), which check that it may
-- (model_owner.cpp). A model trained before 0.7.0 belongs to its table's owner.
ALTER TABLE unlearn.models ADD COLUMN owner regrole;
UPDATE unlearn.models m SET owner = c.relowner::regrole FROM pg_class c WHERE c.oid = m.relation;
ALTER TABLE unlearn.models ALTER COLUMN owner SET NOT NULL;
COMMENT ON COLUMN unlearn.models.owner IS 'the role that trained the model: it, the owner of the table or a superuser may drop, retrain or replace it (the extension''s tables are written by the extension only, as its owner)';
-- The ids a model replaced on its table under its name: the audit of a
-- model follows it across retrains (unlearn.audit's policy).
ALTER TABLE unlearn.models ADD COLUMN replaces int[];
COMMENT ON COLUMN unlearn.models.replaces IS 'ids of the models this one replaced on its table under its name (resync, replace, the event triggers'' retrains): their audit events are its';

REVOKE ALL ON FUNCTION unlearn.drop_model_rows(text) FROM PUBLIC;
COMMENT ON FUNCTION unlearn.drop_model_rows(text) IS 'internal: drop_model''s body, run as the extension''s owner once the caller may drop the model';
CREATE OR REPLACE FUNCTION unlearn.drop_model(model text) RETURNS void
AS 'MODULE_PATHNAME', 'unlearn_drop_model'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION unlearn.resync_rows(model text) RETURNS void
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
    -- trained as the extension's owner: the model keeps its owner, and the
    -- audit of the model it replaces (unlearn.audit's policy)
    UPDATE unlearn.models SET owner = m.owner, replaces = coalesce(m.replaces, '{}') || m.model_id WHERE name = model;
    INSERT INTO unlearn.audit (event, model_id, model, rows, method, shards, duration_ms)
    SELECT 'resync', model_id, name, rows_held, 'retrain from table', '{}', 0 FROM unlearn.models WHERE name = model;
END
$$;
REVOKE ALL ON FUNCTION unlearn.resync_rows(text) FROM PUBLIC;
COMMENT ON FUNCTION unlearn.resync_rows(text) IS 'internal: resync''s body, run as the extension''s owner once the caller may retrain the model';

CREATE OR REPLACE FUNCTION unlearn.resync(model text) RETURNS void
AS 'MODULE_PATHNAME', 'unlearn_resync'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION unlearn.resync_or_drop(model text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m unlearn.models;
BEGIN
    SELECT * INTO m FROM unlearn.models WHERE name = model;
    BEGIN
        PERFORM unlearn.resync_rows(model);
    EXCEPTION WHEN OTHERS THEN
        PERFORM unlearn.drop_model_because(m, 'retrain failed: ' || SQLERRM);
    END;
END
$$;

REVOKE ALL ON FUNCTION unlearn.resync_or_drop(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION unlearn.drop_model_because(unlearn.models, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION unlearn.record_attnums(regclass) FROM PUBLIC;

-- evaluate_query keeps the caller's search_path (the query names the
-- caller's tables): its own calls name their schema, so that a function of
-- another schema on that path is never chosen over pg_catalog's
CREATE OR REPLACE FUNCTION unlearn.evaluate_query(model text, query text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    scratch text := 'query_rows';  -- what an error about a missing column names
    attempt int := 0;
    result jsonb;
BEGIN
    IF model IS NULL OR query IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', CASE WHEN model IS NULL THEN 'model' ELSE 'query' END
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- the caller's search_path stays (the query names the caller's tables),
    -- so every function and operator here is named with its schema: a
    -- format(text, text) in a schema on that path would otherwise be chosen
    -- over pg_catalog's variadic one
    WHILE pg_catalog.to_regclass(pg_catalog.format('pg_temp.%I', scratch)) IS NOT NULL LOOP
        attempt := attempt OPERATOR(pg_catalog.+) 1;
        scratch := pg_catalog.format('query_rows_%s', attempt);
    END LOOP;
    EXECUTE pg_catalog.format('CREATE TEMP TABLE %I AS %s', scratch, query);
    result := unlearn.evaluate(model, pg_catalog.format('pg_temp.%I', scratch)::regclass);
    EXECUTE pg_catalog.format('DROP TABLE pg_temp.%I', scratch);
    RETURN pg_catalog.jsonb_set(result, '{computed_on}', pg_catalog.to_jsonb('query'::text));
END
$$;

-- a table with models of its own cannot become a partition (as train
-- refuses a partition): a DELETE through the root fires the root's triggers
CREATE OR REPLACE FUNCTION unlearn.check_no_inheritance(rels oid[]) RETURNS void
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
    -- a table with models of its own attached as a partition: a DELETE
    -- through the root fires the root's triggers, not its (train refuses a
    -- partition for the same reason)
    SELECT m.relation INTO rel
    FROM unlearn.models m JOIN pg_class c ON c.oid = m.relation
    WHERE c.relispartition
      AND (m.relation = ANY (rels) OR m.relation IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = ANY (rels)))
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'table % has models and cannot be a partition', rel
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'A DELETE or UPDATE through the partitioned table fires its triggers, not the partition''s: the rows would never be forgotten.',
                  HINT = 'Drop the models first (unlearn.drop_model), then train on the partitioned table.';
    END IF;
END
$$;
COMMENT ON FUNCTION unlearn.check_no_inheritance(oid[]) IS 'internal: refuses DDL that makes a model''s table an inheritance child or parent, or a partition';

-- EXECUTE for every role: PostgreSQL asks a table's owner for it when it
-- clones the extension's row triggers onto a new partition (CREATE TABLE
-- ... PARTITION OF, ATTACH PARTITION), which a non-superuser owner of a
-- modelled table could not otherwise do. The function runs only as a
-- trigger, and on_alter_trigger refuses any trigger running it that is not
-- one of the extension's, under its name and definition.
GRANT EXECUTE ON FUNCTION unlearn.forget_rows() TO PUBLIC;

-- Readers ------------------------------------------------------------------

-- A model's rows in the extension's tables (its state, lineage, vocabulary,
-- checkpoints, pending deltas, catch-up and audit figures) are data about
-- its table's rows. A role sees them only for the models it may read, as
-- pg_stats shows statistics only of the columns a role may read: the
-- model's owner, its table's owner, a superuser, or a role that may SELECT
-- its key, target and feature columns and whom no row-level security of
-- the table applies to. The extension's own reads and writes run as the extension's
-- owner (the tables' owner), which the policies do not apply to.
CREATE FUNCTION unlearn.may_read_model(owner oid, relation oid, column_attnums int2[], columns text[])
RETURNS bool
AS 'MODULE_PATHNAME', 'unlearn_may_read_model'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION unlearn.may_read_model(oid, oid, int2[], text[])
    IS 'internal: may the current user read the model (member of its owner or of its table''s owner, superuser, or SELECT on every column it reads with no row-level security applying)';

-- Whether an audit event's model is still there, under its id or as the
-- model that replaced it on the same table (resync, replace and the event
-- triggers' retrains give a model a new id: unlearn.models.replaces),
-- whoever may read it: the audit of a model dropped since stays readable
-- (its group figures excepted); that of a model still there is its
-- readers' only.
CREATE FUNCTION unlearn.model_taken(model_id int) RETURNS bool
LANGUAGE sql STABLE PARALLEL SAFE
SECURITY DEFINER  -- reads unlearn.models whatever the caller may read of it; answers only yes or no
SET search_path = pg_catalog, pg_temp
AS $$ SELECT EXISTS (SELECT 1 FROM unlearn.models m WHERE m.model_id = $1 OR $1 = ANY (m.replaces)) $$;
COMMENT ON FUNCTION unlearn.model_taken(int) IS 'internal: is the model of this id, or one that replaced it, there, for the audit''s policy';

ALTER TABLE unlearn.models ENABLE ROW LEVEL SECURITY;
CREATE POLICY readers ON unlearn.models FOR SELECT
    USING (unlearn.may_read_model(owner::oid, relation::oid, column_attnums, key_columns || target || features));
ALTER TABLE unlearn.state ENABLE ROW LEVEL SECURITY;
CREATE POLICY readers ON unlearn.state FOR SELECT
    USING (EXISTS (SELECT 1 FROM unlearn.models m WHERE m.model_id = state.model_id));
ALTER TABLE unlearn.state_delta ENABLE ROW LEVEL SECURITY;
CREATE POLICY readers ON unlearn.state_delta FOR SELECT
    USING (EXISTS (SELECT 1 FROM unlearn.models m WHERE m.model_id = state_delta.model_id));
ALTER TABLE unlearn.lineage_blocks ENABLE ROW LEVEL SECURITY;
CREATE POLICY readers ON unlearn.lineage_blocks FOR SELECT
    USING (EXISTS (SELECT 1 FROM unlearn.models m WHERE m.model_id = lineage_blocks.model_id));
ALTER TABLE unlearn.vocabulary ENABLE ROW LEVEL SECURITY;
CREATE POLICY readers ON unlearn.vocabulary FOR SELECT
    USING (EXISTS (SELECT 1 FROM unlearn.models m WHERE m.model_id = vocabulary.model_id));
ALTER TABLE unlearn.checkpoints ENABLE ROW LEVEL SECURITY;
CREATE POLICY readers ON unlearn.checkpoints FOR SELECT
    USING (EXISTS (SELECT 1 FROM unlearn.models m WHERE m.model_id = checkpoints.model_id));
ALTER TABLE unlearn.catchup ENABLE ROW LEVEL SECURITY;
CREATE POLICY readers ON unlearn.catchup FOR SELECT
    USING (EXISTS (SELECT 1 FROM unlearn.models m WHERE m.model_id = catchup.model_id));
-- An event belongs to the model of its id or to the model that replaced
-- it on the same table; one whose model is gone stays readable, without
-- its group figures. Group figures (values of the monitor_group column)
-- need SELECT on that column too.
ALTER TABLE unlearn.audit ENABLE ROW LEVEL SECURITY;
CREATE POLICY readers ON unlearn.audit FOR SELECT
    USING (CASE WHEN coalesce(audit.details ? 'groups', false)
                THEN EXISTS (SELECT 1 FROM unlearn.models m
                             WHERE (m.model_id = audit.model_id OR audit.model_id = ANY (m.replaces))
                               AND unlearn.may_read_model(m.owner::oid, m.relation::oid, NULL,
                                                          ARRAY[coalesce(m.options->>'monitor_group', '')]))
                ELSE EXISTS (SELECT 1 FROM unlearn.models m WHERE m.model_id = audit.model_id OR audit.model_id = ANY (m.replaces))
                     OR NOT unlearn.model_taken(audit.model_id)
           END);

-- The views read as their reader, so that the policies apply to it.
ALTER VIEW unlearn.catching_up SET (security_invoker = true);
ALTER VIEW unlearn.model_summary SET (security_invoker = true);
ALTER VIEW unlearn.lineage SET (security_invoker = true);
