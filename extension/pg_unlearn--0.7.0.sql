-- pg_unlearn 0.7.0, complete: every object as it is in this version. A
-- database at an earlier version reaches the same objects through the
-- upgrade scripts (pg_unlearn--0.1.0.sql, then pg_unlearn--X--Y.sql in turn);
-- sql/upgrade.sql checks that both give the same definitions. A change to
-- the extension goes into a new upgrade script and into this file's
-- successor for the new version.
\echo Use "CREATE EXTENSION pg_unlearn" to load this file. \quit

-- Catalog ------------------------------------------------------------------

-- Column positions survive renames; names survive dump/restore. Both are
-- kept: column_attnums holds [key columns..., target, features...] as
-- attribute numbers.
CREATE TABLE unlearn.models (
    model_id        serial PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    relation        regclass NOT NULL,
    key_columns     text[] NOT NULL,
    target          text NOT NULL,
    features        text[] NOT NULL,
    algorithm       text NOT NULL,
    strategy        text NOT NULL,
    shards          int NOT NULL CHECK (shards >= 1),
    slices          int NOT NULL CHECK (slices >= 1),
    options         jsonb NOT NULL DEFAULT '{}',
    lineage_buckets int NOT NULL CHECK (lineage_buckets >= 1),
    version         bigint NOT NULL DEFAULT 1,
    rows_trained    bigint NOT NULL,
    rows_skipped    bigint NOT NULL,
    rows_held       bigint NOT NULL,
    rows_forgotten  bigint NOT NULL DEFAULT 0,
    trained_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    column_attnums  int2[],
    partitions      regclass[],
    metrics         jsonb,
    key_types       regtype[],
    monitor_attnum  int2,
    owner           regrole NOT NULL,
    replaces        int[]
);
CREATE INDEX models_relation_idx ON unlearn.models (relation);
COMMENT ON TABLE unlearn.models IS 'one row per model trained with unlearn.train';
COMMENT ON COLUMN unlearn.models.column_attnums IS 'attribute numbers of key columns, target and features, in that order';
COMMENT ON COLUMN unlearn.models.partitions IS 'for a partitioned source, its partitions when the triggers were last installed';
COMMENT ON COLUMN unlearn.models.key_types IS 'declared types of the key columns when the lineage was last written: a retyped key (even without a rewrite) retrains the model';
COMMENT ON COLUMN unlearn.models.monitor_attnum IS 'attribute number of the options.monitor_group column, which renames follow';
COMMENT ON COLUMN unlearn.models.owner IS 'the role that trained the model: it, the owner of the table or a superuser may drop, retrain or replace it (the extension''s tables are written by the extension only, as its owner)';
COMMENT ON COLUMN unlearn.models.replaces IS 'ids of the models this one replaced on its table under its name (resync, replace, the event triggers'' retrains): their audit events are its';

CREATE TABLE unlearn.state (
    model_id int NOT NULL REFERENCES unlearn.models ON DELETE CASCADE,
    shard    int NOT NULL,
    state    bytea NOT NULL,
    PRIMARY KEY (model_id, shard)
);
-- A random forest's state is megabytes rewritten by every DELETE: pglz
-- would cost more than the forgetting (states under 2 kB were never compressed).
ALTER TABLE unlearn.state ALTER COLUMN state SET STORAGE EXTERNAL;
COMMENT ON TABLE unlearn.state IS 'per-shard model state: versioned, checksummed summation-form statistics';

-- Lineage keys are hashed into buckets of a few hundred keys; a DELETE rewrites
-- the blocks its keys fall in. Blocks are stored uncompressed: hashed keys do
-- not compress and pglz would cost every rewrite.
CREATE TABLE unlearn.lineage_blocks (
    model_id int NOT NULL REFERENCES unlearn.models ON DELETE CASCADE,
    bucket   int NOT NULL,
    block    bytea NOT NULL,
    PRIMARY KEY (model_id, bucket)
);
ALTER TABLE unlearn.lineage_blocks ALTER COLUMN block SET STORAGE EXTERNAL;
-- A block (about 256 keys, ~2.5 kB for 8-byte keys) stays in its heap row:
-- moved out to TOAST it costs a second tuple and index entry on every write
-- and an index look-up on every read, which doubled a training's lineage cost.
ALTER TABLE unlearn.lineage_blocks SET (toast_tuple_target = 8160);
COMMENT ON TABLE unlearn.lineage_blocks IS 'which rows (by primary key) each model holds, in sorted key blocks';

-- The audit keeps counts, methods and state hashes: never a value, label or
-- key of a forgotten row.
CREATE TABLE unlearn.audit (
    event_id          bigserial PRIMARY KEY,
    event             text NOT NULL,
    model_id          int NOT NULL,
    model             text NOT NULL,
    at                timestamptz NOT NULL DEFAULT clock_timestamp(),
    rows              bigint NOT NULL,
    method            text NOT NULL,
    shards            int[] NOT NULL,
    duration_ms       float8 NOT NULL,
    state_hash_before text,
    state_hash_after  text,
    details           jsonb
);
CREATE INDEX audit_model_idx ON unlearn.audit (model_id, event_id);
COMMENT ON TABLE unlearn.audit IS 'train and unlearn events: counts and state hashes, no values or keys of forgotten rows';
COMMENT ON COLUMN unlearn.audit.details IS 'method-specific figures, e.g. evidence_auc: the attack AUC of the forgotten rows against holdout rows under the updated model; rows_requested: the rows the DELETE, UPDATE or INSERT touched, held by the model or not';
COMMENT ON COLUMN unlearn.audit.rows IS 'rows of the model the event changed: forgotten (unlearn), learned, trained, or held when dropped; rows a statement touched that the model did not hold (holdout rows, rows never trained on) are in details.rows_requested only';
COMMENT ON COLUMN unlearn.audit.duration_ms IS 'time this event took for this model alone (one statement changing several models writes one event each, each timed on its own)';

-- The categories of each text or enum feature, in byte order. Categories are
-- data: when the last held row carrying one is forgotten, it leaves here too.
CREATE TABLE unlearn.vocabulary (
    model_id   int NOT NULL REFERENCES unlearn.models ON DELETE CASCADE,
    feature    text NOT NULL,
    categories text[] NOT NULL,
    PRIMARY KEY (model_id, feature)
);
COMMENT ON TABLE unlearn.vocabulary IS 'categories of each categorical feature; a category leaves with its last held row';

-- A SISA shard trains slice by slice; after each slice its constituent
-- model is kept here with a digest of the exact rows it has seen. A DELETE
-- discards the checkpoints from the deleted row's slice on: they are data
-- about that row. unlearn.state holds each shard's last checkpoint.
CREATE TABLE unlearn.checkpoints (
    model_id int NOT NULL REFERENCES unlearn.models ON DELETE CASCADE,
    shard    int NOT NULL,
    slice    int NOT NULL,
    rows     bigint NOT NULL,
    digest   text NOT NULL,
    state    bytea NOT NULL,
    PRIMARY KEY (model_id, shard, slice)
);
COMMENT ON TABLE unlearn.checkpoints IS 'SISA checkpoints: per shard and slice, the constituent model and a digest of the rows it has seen';

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

SELECT pg_catalog.pg_extension_config_dump('unlearn.models', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.models_model_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.state', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.lineage_blocks', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.audit', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.audit_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.vocabulary', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.checkpoints', '');

-- Concurrent writers of a summation-form model do not wait for each other:
-- one that cannot lock a shard's state at once (another transaction holds
-- it) appends its change here instead, and readers add the deltas their
-- snapshot sees to the base. The next writer that gets the locks, or
-- unlearn.compact(), folds committed deltas into the base. A delta holds
-- the sums of the rows a statement changed (state NULL: only counts for
-- unlearn.models): it is data about those rows until it is folded.
CREATE TABLE unlearn.state_delta (
    delta_id       bigserial PRIMARY KEY,
    model_id       int NOT NULL REFERENCES unlearn.models ON DELETE CASCADE,
    shard          int,
    sign           int NOT NULL CHECK (sign IN (-1, 1)),
    state          bytea,
    rows_held      bigint NOT NULL DEFAULT 0,
    rows_forgotten bigint NOT NULL DEFAULT 0,
    CHECK ((state IS NULL) = (shard IS NULL))
);
CREATE INDEX state_delta_model_idx ON unlearn.state_delta (model_id, delta_id);
COMMENT ON TABLE unlearn.state_delta IS 'changes of concurrent writers not yet folded into unlearn.state and unlearn.models (unlearn.compact folds them)';
SELECT pg_catalog.pg_extension_config_dump('unlearn.state_delta', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.state_delta_delta_id_seq', '');

-- A SISA shard a DELETE reached serves, from the DELETE's commit, the
-- checkpoint of the slice before the earliest slice it changed (a model that
-- never saw the forgotten rows); a background worker trains its remaining
-- slices after commit. Each row here is a shard catching up: from which
-- slice, since when, and how many changes of its rows it has seen.
CREATE TABLE unlearn.catchup (
    model_id   int NOT NULL REFERENCES unlearn.models ON DELETE CASCADE,
    shard      int NOT NULL,
    from_slice int NOT NULL CHECK (from_slice >= 0),
    generation bigint NOT NULL DEFAULT 1,
    since      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (model_id, shard)
);
COMMENT ON TABLE unlearn.catchup IS 'SISA shards serving an earlier clean checkpoint until the background worker retrains their later slices';
SELECT pg_catalog.pg_extension_config_dump('unlearn.catchup', '');

CREATE VIEW unlearn.catching_up AS
SELECT m.name AS model, c.shard, c.from_slice AS slices_served, m.slices, c.since,
       c.generation AS changes_pending
FROM unlearn.catchup c JOIN unlearn.models m USING (model_id);
COMMENT ON VIEW unlearn.catching_up IS 'SISA shards catching up after commit: how many of their slices the served model covers';

-- Training and forgetting ---------------------------------------------------

-- What train returns: a row type of its own, so that its columns carry the
-- names of the arguments they echo (OUT parameters may not share IN names).
CREATE TYPE unlearn.trained_model AS (
    name text, algorithm text, strategy text, shards int, rows_trained bigint, rows_skipped bigint);
COMMENT ON TYPE unlearn.trained_model IS 'what unlearn.train returns: the model as trained';

CREATE FUNCTION unlearn.train(
    model text, relation regclass, target text, features text[],
    algorithm text DEFAULT 'linear_regression', strategy text DEFAULT 'auto',
    shards int DEFAULT 1, slices int DEFAULT 1, options jsonb DEFAULT '{}',
    replace bool DEFAULT false)
RETURNS unlearn.trained_model
AS 'MODULE_PATHNAME', 'unlearn_train'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.train(text, regclass, text, text[], text, text, int, int, jsonb, bool)
    IS 'train a model over a table (linear_regression, ridge, naive_bayes incrementally; logistic_regression, mlp with SISA shards and slices; logistic_regression certified; random_forest, random_forest_regressor by retraining only the subtrees a change reaches); later DELETEs on the table are forgotten by it; replace => true swaps a model of that name in the same transaction';

-- SECURITY DEFINER: a role that may DELETE from the source but has no rights
-- on unlearn.* must still make every model forget.
CREATE FUNCTION unlearn.forget_rows() RETURNS trigger
AS 'MODULE_PATHNAME', 'unlearn_forget_rows'
LANGUAGE C SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION unlearn.forget_rows() FROM PUBLIC;
-- EXECUTE for every role: PostgreSQL asks a table's owner for it when it
-- clones the extension's row triggers onto a new partition (CREATE TABLE
-- ... PARTITION OF, ATTACH PARTITION), which a non-superuser owner of a
-- modelled table could not otherwise do. The function runs only as a
-- trigger, and on_alter_trigger refuses any trigger running it that is not
-- one of the extension's, under its name and definition.
GRANT EXECUTE ON FUNCTION unlearn.forget_rows() TO PUBLIC;
COMMENT ON FUNCTION unlearn.forget_rows() IS 'statement trigger: removes deleted or changed rows from every model on the table';

-- The declared types of a model's key columns as they are now: lineage
-- encodes keys by type (key_codec.hpp), so a key retyped without a rewrite
-- (int4 -> oid, text -> bpchar) would leave every recorded key unmatched.
CREATE FUNCTION unlearn.key_types_now(m unlearn.models) RETURNS regtype[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT array_agg(a.atttypid::regtype ORDER BY k.ord)
    FROM unnest(m.key_columns) WITH ORDINALITY AS k(name, ord)
    JOIN pg_attribute a ON a.attrelid = m.relation AND a.attname = k.name AND NOT a.attisdropped
$$;

CREATE FUNCTION unlearn.record_attnums(rel regclass) RETURNS void
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
CREATE FUNCTION unlearn.own_triggers()
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

-- The extension's triggers by what they are, not by their names: the
-- function they run, the events and level they fire on, their transition
-- tables, and no arguments, WHEN condition, column list or constraint. A
-- trigger bearing one of their names that is anything else is not theirs,
-- whoever made it. Reads the catalog only (the event triggers call it).
CREATE FUNCTION unlearn.is_own_trigger(tg oid) RETURNS bool
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
CREATE FUNCTION unlearn.own_trigger_mode(trigger_name name) RETURNS "char"
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT own.mode FROM unlearn.own_triggers() own WHERE own.name = trigger_name::text), 'O')
$$;

-- Sets one of the extension's triggers, just created (in origin mode, as
-- CREATE TRIGGER makes every trigger), to fire in its own mode.
CREATE FUNCTION unlearn.enable_own_trigger(rel regclass, trigger_name name) RETURNS void
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

-- train() calls install_triggers(): it records the attribute numbers and the
-- partitions, and adds the INSERT triggers only while a model on the table
-- learns new rows, so tables whose models ignore inserts pay nothing on COPY
-- and INSERT.
--
-- Logical replication's apply worker runs with session_replication_role =
-- replica and fires row triggers only, never statement triggers: a model on a
-- subscriber's table would forget nothing of what the publisher deleted. Each
-- table therefore also gets row triggers enabled for the replica role only
-- (ENABLE REPLICA): in origin and local mode the statement triggers fire, in
-- replica mode the row triggers, so every change reaches the models once.
CREATE FUNCTION unlearn.install_triggers(rel regclass) RETURNS void
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
REVOKE ALL ON FUNCTION unlearn.install_triggers(regclass) FROM PUBLIC;

-- The forget triggers (statement and replica) go with the table's last
-- model, the learn triggers with its last learning model (a trigger cloned
-- onto a partition goes with its parent's).
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
REVOKE ALL ON FUNCTION unlearn.drop_model_rows(text) FROM PUBLIC;
COMMENT ON FUNCTION unlearn.drop_model_rows(text) IS 'internal: drop_model''s body, run as the extension''s owner once the caller may drop the model';

-- The caller's right to the model is checked in C (model_owner.cpp), then
-- the body runs as the extension's owner: roles that train need no grant
-- to write the extension's tables.
CREATE FUNCTION unlearn.drop_model(model text) RETURNS void
AS 'MODULE_PATHNAME', 'unlearn_drop_model'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.drop_model(text) IS 'drop a model: its state and lineage go, the audit stays';

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

-- Forgetting that bypassed the triggers (session_replication_role = replica,
-- ALTER TABLE ... DISABLE TRIGGER) shows in verify as lineage rows missing
-- from the table or parameters that differ; resync retrains the model from
-- the table as it is, under the same name and settings.
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

CREATE FUNCTION unlearn.resync(model text) RETURNS void
AS 'MODULE_PATHNAME', 'unlearn_resync'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
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
        PERFORM unlearn.resync_rows(model);
    EXCEPTION WHEN OTHERS THEN
        PERFORM unlearn.drop_model_because(m, 'retrain failed: ' || SQLERRM);
    END;
END
$$;

CREATE FUNCTION unlearn.compact(model text) RETURNS bigint
AS 'MODULE_PATHNAME', 'unlearn_compact'
LANGUAGE C STRICT VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.compact(text) IS 'fold the committed deltas of concurrent writers into the model''s state and counts; returns how many were folded';

CREATE FUNCTION unlearn.wait(model text, timeout float8 DEFAULT 60) RETURNS bool
AS 'MODULE_PATHNAME', 'unlearn_wait'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.wait(text, float8) IS 'wait (up to timeout seconds) until the model''s shards have caught up and its deltas are folded; true when they have';

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

-- Reading ------------------------------------------------------------------

-- The read path is PARALLEL SAFE: each process (a parallel worker too) loads
-- the model through read-only SPI queries under the query's snapshot into
-- its own cache, pins search_path with GUC_ACTION_SAVE (allowed in parallel
-- mode, as a function's SET clause is), and writes nothing; a row type
-- passed to the row forms is resolved through the shared record typmod
-- registry. trained_on stays unmarked: its text form runs the key type's
-- input function, which a user-defined type may not have made safe.
CREATE FUNCTION unlearn.predict(model text, features float8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'unlearn_predict'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION unlearn.predict(text, float8[]) IS 'predicted value (regression) or class label (classifier); NULL if a feature is NULL';

CREATE FUNCTION unlearn.predict(model text, "row" record) RETURNS float8
AS 'MODULE_PATHNAME', 'unlearn_predict_row'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION unlearn.predict(text, record) IS 'prediction with features taken from the row by column name; NULL if a feature is NULL';

CREATE FUNCTION unlearn.predict_proba(model text, features float8[]) RETURNS float8[]
AS 'MODULE_PATHNAME', 'unlearn_predict_proba'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION unlearn.predict_proba(text, float8[]) IS 'class probabilities, in the order of unlearn.classes(model)';

-- A classifier's classes are fixed at training, in this order: a text or
-- enum target's labels in byte order (an enum's by label OID), a numeric
-- target's ascending; a class forgotten since keeps its place with
-- probability 0.
CREATE FUNCTION unlearn.classes(model text) RETURNS text[]
AS 'MODULE_PATHNAME', 'unlearn_classes'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION unlearn.classes(text) IS 'a classifier''s classes as text, in the order predict_proba gives their probabilities';

CREATE FUNCTION unlearn.predict_proba(model text, "row" record) RETURNS float8[]
AS 'MODULE_PATHNAME', 'unlearn_predict_proba_row'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION unlearn.predict_proba(text, record) IS 'class probabilities with features taken from the row by column name, in the order of unlearn.classes(model)';

CREATE FUNCTION unlearn.predict_proba_by_class(model text, features float8[])
RETURNS TABLE (class text, probability float8)
AS 'MODULE_PATHNAME', 'unlearn_predict_proba_by_class'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION unlearn.predict_proba_by_class(text, float8[]) IS 'one row per class: the class label and its probability';

CREATE FUNCTION unlearn.predict_proba_by_class(model text, "row" record)
RETURNS TABLE (class text, probability float8)
AS 'MODULE_PATHNAME', 'unlearn_predict_proba_by_class_row'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION unlearn.predict_proba_by_class(text, record) IS 'one row per class: the class label and its probability, features taken from the row by column name';

CREATE FUNCTION unlearn.predict_label(model text, features float8[]) RETURNS text
AS 'MODULE_PATHNAME', 'unlearn_predict_label'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION unlearn.predict_label(text, float8[]) IS 'a classifier''s predicted class as text: a text or enum label, a number, or true/false';

CREATE FUNCTION unlearn.predict_label(model text, "row" record) RETURNS text
AS 'MODULE_PATHNAME', 'unlearn_predict_label_row'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION unlearn.predict_label(text, record) IS 'a classifier''s predicted class as text, features taken from the row by column name';

-- The label in the target's own type: the third argument names the type
-- (NULL::species), its value is ignored; the text is read by that type's
-- input function, as the caller. Not strict, so that NULL::t may name it.
-- Parallel restricted: a user-defined type's input function, or a domain's
-- CHECK, may not be parallel safe (cast the text form to stay parallel).
CREATE FUNCTION unlearn.predict_label(model text, features float8[], label_type anyelement) RETURNS anyelement
AS 'MODULE_PATHNAME', 'unlearn_predict_label_as'
LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION unlearn.predict_label(text, float8[], anyelement) IS 'a classifier''s predicted class in the type of the third argument, e.g. NULL::int or NULL::species';

CREATE FUNCTION unlearn.predict_label(model text, "row" record, label_type anyelement) RETURNS anyelement
AS 'MODULE_PATHNAME', 'unlearn_predict_label_as_row'
LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION unlearn.predict_label(text, record, anyelement) IS 'a classifier''s predicted class in the type of the third argument, features taken from the row by column name';

CREATE FUNCTION unlearn.coefficients(model text)
RETURNS TABLE (shard int, feature text, coefficient float8)
AS 'MODULE_PATHNAME', 'unlearn_coefficients'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION unlearn.coefficients(text) IS 'fitted parameters: coefficients and intercept, or naive Bayes priors, means and variances';

-- Export: what a model computes with, as one document for use outside the
-- database (layer shapes and weights for an mlp, coefficients, naive Bayes
-- means and variances, the class list, feature names and options); it
-- carries no row, key, lineage or summation-form sum.
CREATE FUNCTION unlearn.export(model text) RETURNS jsonb
AS 'MODULE_PATHNAME', 'unlearn_export'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION unlearn.export(text) IS 'the model''s fitted parameters, class list, feature names and options as jsonb; no row data';

CREATE FUNCTION unlearn.verify(model text)
RETURNS TABLE (check_name text, value float8, tolerance float8, passed bool)
AS 'MODULE_PATHNAME', 'unlearn_verify'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.verify(text) IS 'retrain from scratch on the rows lineage holds and compare with the model';

-- A key is identified by its stored value in a canonical binary form, not
-- its text (which TimeZone, DateStyle, bytea_output, extra_float_digits and
-- enum renames change). trained_on takes the key as text (parsed with the key
-- column's input function, as the caller) or as a typed value.
CREATE FUNCTION unlearn.trained_on(model text, key text) RETURNS bool
AS 'MODULE_PATHNAME', 'unlearn_trained_on'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.trained_on(text, text)
    IS 'does the model hold the row with this primary key (written as text; a composite key as ROW(k1, k2)::text)';
CREATE FUNCTION unlearn.trained_on(model text, key anyelement) RETURNS bool
AS 'MODULE_PATHNAME', 'unlearn_trained_on'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.trained_on(text, anyelement)
    IS 'does the model hold the row with this primary key (of the key''s type, or any integer type for an integer key)';

CREATE FUNCTION unlearn.lineage_entries(model_id int)
RETURNS TABLE (key text, shard int, slice int, role text)
AS 'MODULE_PATHNAME', 'unlearn_lineage_entries'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;

-- Lineage shows keys: a role sees the rows of the models it may read
-- (unlearn.may_read_model), as it would see them in the table.
-- lineage_entries decides for the current user (not SECURITY DEFINER: the
-- session's user would be the wrong one inside another role's code) and
-- reads the blocks as the extension's owner, so that a reader needs no
-- SELECT on unlearn.lineage_blocks.
CREATE VIEW unlearn.lineage AS
SELECT m.name AS model, l.key, l.shard, l.slice, l.role
FROM unlearn.models m, LATERAL unlearn.lineage_entries(m.model_id) l
WHERE (SELECT bool_and(has_column_privilege(m.relation, k, 'SELECT')) FROM unnest(m.key_columns) AS k);
COMMENT ON VIEW unlearn.lineage IS 'which row (by primary key) each model holds, in which shard and role; only for tables whose key the reader may select';

-- Forgetting a feature -----------------------------------------------------

CREATE FUNCTION unlearn.forget_feature(model text, feature text) RETURNS void
AS 'MODULE_PATHNAME', 'unlearn_forget_feature'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.forget_feature(text, text)
    IS 'the model stops using a feature: exactly the model trained without that column';

-- How much the model's predictions move when only this feature moves over
-- its observed range, on a sample of the source rows: the mean absolute
-- difference between predicting with the feature at its minimum and at its
-- maximum. 0 for a feature the model does not use. It varies one feature in
-- an array of features: models with categorical features predict from rows
-- only.
CREATE FUNCTION unlearn.feature_influence(model text, feature text, sample_rows int DEFAULT 1000)
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
    -- the arguments are spliced into SQL: NULL would become a syntax error
    IF model IS NULL OR feature IS NULL OR sample_rows IS NULL THEN
        RAISE EXCEPTION '% must not be NULL',
            CASE WHEN model IS NULL THEN 'model' WHEN feature IS NULL THEN 'feature' ELSE 'sample_rows' END
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF sample_rows < 1 THEN
        RAISE EXCEPTION 'sample_rows must be at least 1'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'The number of the table''s rows the change is averaged over.';
    END IF;
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
COMMENT ON FUNCTION unlearn.feature_influence(text, text, int)
    IS 'mean change in prediction when only this feature moves from its minimum to its maximum; 0 if unused';

-- Every way a row or column changes reaches the models ----------------------

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

-- The event triggers read unlearn.models with the DDL's snapshot: under
-- REPEATABLE READ a model committed after it would be missed by their
-- guards, and the DDL refused with 40001 instead (ddl_snapshot.cpp).
CREATE FUNCTION unlearn.refuse_models_after_snapshot(rels oid[]) RETURNS void
AS 'MODULE_PATHNAME', 'unlearn_refuse_models_after_snapshot'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION unlearn.refuse_models_after_snapshot(oid[]) FROM PUBLIC;
COMMENT ON FUNCTION unlearn.refuse_models_after_snapshot(oid[]) IS 'internal: an event trigger''s DDL under REPEATABLE READ fails (40001) when a model on its tables committed after the snapshot';

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
-- every event trigger of the extension fires in replica mode too: a session
-- there (session_replication_role = replica, a superuser's) would otherwise
-- drop or change what forgetting depends on unseen
ALTER EVENT TRIGGER unlearn_table_rewrite ENABLE ALWAYS;

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
REVOKE ALL ON FUNCTION unlearn.on_alter_table() FROM PUBLIC;
CREATE EVENT TRIGGER unlearn_alter_table ON ddl_command_end WHEN TAG IN ('ALTER TABLE', 'CREATE TABLE')
    EXECUTE FUNCTION unlearn.on_alter_table();
ALTER EVENT TRIGGER unlearn_alter_table ENABLE ALWAYS;

-- DROP TABLE drops the table's models; DROP COLUMN of a feature forgets the
-- feature exactly (forget_feature), of the target or a key drops the model.
-- DROP TRIGGER on one of the extension's triggers would let rows leave
-- without being forgotten: refused while a model is on the table (dropping
-- the table, or the model, drops them).
CREATE FUNCTION unlearn.on_sql_drop() RETURNS event_trigger
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
REVOKE ALL ON FUNCTION unlearn.on_sql_drop() FROM PUBLIC;
CREATE EVENT TRIGGER unlearn_sql_drop ON sql_drop EXECUTE FUNCTION unlearn.on_sql_drop();
ALTER EVENT TRIGGER unlearn_sql_drop ENABLE ALWAYS;

-- ALTER TRIGGER on one of the extension's triggers (they all run
-- unlearn.forget_rows): a renamed one could then be dropped or disabled and
-- the table's rows would leave its models silently. CREATE OR REPLACE
-- TRIGGER under one of their names would make it run another function or
-- fire on other events, with nothing dropped or disabled for a guard to see;
-- a trigger created or renamed to one of their names would be taken for
-- theirs. All refused while a model is on the table, unless the trigger is
-- the extension's own definition (install_triggers' CREATE TRIGGER comes
-- through here too).
CREATE FUNCTION unlearn.on_alter_trigger() RETURNS event_trigger
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
REVOKE ALL ON FUNCTION unlearn.on_alter_trigger() FROM PUBLIC;
CREATE EVENT TRIGGER unlearn_alter_trigger ON ddl_command_end WHEN TAG IN ('ALTER TRIGGER', 'CREATE TRIGGER')
    EXECUTE FUNCTION unlearn.on_alter_trigger();
ALTER EVENT TRIGGER unlearn_alter_trigger ENABLE ALWAYS;

-- Complete erasure ---------------------------------------------------------

-- A DELETE leaves the row's old version in the table's heap until it is
-- rewritten, and the models' old states, lineage blocks and vocabularies
-- likewise (two states differ by exactly the forgotten rows' terms), and
-- the table's statistics may hold its values. VACUUM cannot run
-- inside a function, so this returns the commands to run, e.g. in psql:
--     SELECT * FROM unlearn.erasure_commands('t') \gexec
-- WAL, archives, replicas and backups keep the data until they expire.
CREATE FUNCTION unlearn.erasure_commands(relation regclass) RETURNS SETOF text
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
COMMENT ON FUNCTION unlearn.erasure_commands(regclass)
    IS 'commands that rewrite a source table and the model tables so no old row version remains in their files';

-- Proving the row is gone ---------------------------------------------------

-- options.holdout keeps a share of rows out of training (lineage role
-- holdout); the attack below compares them with the rows trained on.
CREATE FUNCTION unlearn.membership_inference(model text,
    OUT auc float8, OUT tpr_at_1pct_fpr float8, OUT advantage float8, OUT members bigint, OUT nonmembers bigint)
AS 'MODULE_PATHNAME', 'unlearn_membership_inference'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.membership_inference(text)
    IS 'loss-threshold membership attack of the rows a model holds against its holdout rows (Yeom et al. 2018): AUC, TPR at 1% FPR, advantage';

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
-- more than options.impact_warning (default 0.05) raises a WARNING. Group
-- figures name values of the monitor_group column: the caller must be able
-- to read that column.
CREATE FUNCTION unlearn.group_impact(model text, event bigint DEFAULT NULL)
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
-- The scratch model and table get a name no model or temporary table has.
CREATE FUNCTION unlearn.feature_injection_test(relation regclass, target text, features text[], keys text[],
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
COMMENT ON FUNCTION unlearn.feature_injection_test(regclass, text, text[], text[], text, text, int, int, jsonb)
    IS 'Izzo et al. feature-injection test on a scratch copy: the injected feature''s weight after / before deleting its rows, and the weight a retrain without them gives';

-- Internal functions: callable only by the extension's own code and event
-- triggers; \dx+ lists them, so each says so.
COMMENT ON FUNCTION unlearn.base_type(oid) IS 'internal: the base type under a domain, for the event triggers';
COMMENT ON FUNCTION unlearn.check_no_inheritance(oid[]) IS 'internal: refuses DDL that makes a model''s table an inheritance child or parent, or a partition';
COMMENT ON FUNCTION unlearn.check_primary_keys(oid[]) IS 'internal: refuses DDL that removes or changes the primary key a model''s lineage is keyed by';
COMMENT ON FUNCTION unlearn.check_triggers_enabled(oid[]) IS 'internal: refuses disabling the forget triggers of a table with models';
COMMENT ON FUNCTION unlearn.drop_model_because(unlearn.models, text) IS 'internal: drops a model that can no longer follow its table, and audits why';
COMMENT ON FUNCTION unlearn.install_triggers(regclass) IS 'internal: installs the forget (and learn) triggers on a table and its partitions; called by train';
COMMENT ON FUNCTION unlearn.own_triggers() IS 'internal: pg_unlearn''s triggers: name, definition, type, transition tables, mode, whether they serve learning models';
COMMENT ON FUNCTION unlearn.is_own_trigger(oid) IS 'internal: whether a trigger is one of pg_unlearn''s, by function, events, level and transition tables';
COMMENT ON FUNCTION unlearn.own_trigger_mode(name) IS 'internal: the mode (pg_trigger.tgenabled) one of pg_unlearn''s triggers fires in';
COMMENT ON FUNCTION unlearn.enable_own_trigger(regclass, name) IS 'internal: sets one of pg_unlearn''s triggers on a table to fire in its own mode';
COMMENT ON FUNCTION unlearn.key_types_now(unlearn.models) IS 'internal: the declared types of a model''s key columns, recorded to notice a retyped key';
COMMENT ON FUNCTION unlearn.lineage_entries(int) IS 'internal: the rows of one model''s lineage blocks; read through the view unlearn.lineage';
COMMENT ON FUNCTION unlearn.on_alter_table() IS 'internal: event trigger that keeps models in step with ALTER TABLE (renames, retypes, rewrites, partitions)';
COMMENT ON FUNCTION unlearn.on_alter_trigger() IS 'internal: event trigger that refuses renaming the forget triggers of a table with models, or replacing or imitating them';
COMMENT ON FUNCTION unlearn.on_sql_drop() IS 'internal: event trigger that drops models whose table or column is dropped, and audits why';
COMMENT ON FUNCTION unlearn.on_table_rewrite() IS 'internal: event trigger that notes tables a rewrite will retrain the models of';
COMMENT ON FUNCTION unlearn.record_attnums(regclass) IS 'internal: records the attribute numbers of each model''s columns, so that models follow renames';
REVOKE ALL ON FUNCTION unlearn.resync_or_drop(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION unlearn.drop_model_because(unlearn.models, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION unlearn.record_attnums(regclass) FROM PUBLIC;
COMMENT ON FUNCTION unlearn.resync_or_drop(text) IS 'internal: retrains a model after rows left without a DELETE, or drops it (audited) when what remains cannot be fitted';

-- The data scientist's workflow --------------------------------------------

-- quality, progress, report

-- Quality on held-out rows: train stores the figures of options.holdout's
-- rows here; a change of state (DELETE, learn, TRUNCATE, forget_feature)
-- marks them stale with the time instead of recomputing them inside the
-- DELETE; unlearn.refresh_metrics recomputes them.
COMMENT ON COLUMN unlearn.models.metrics IS 'quality on the holdout rows: r2, rmse, mae or accuracy, log_loss, roc_auc, macro_f1, with rows, fraction, computed_at, model_version; stale and stale_since once the model changed';

CREATE FUNCTION unlearn.refresh_metrics(model text) RETURNS jsonb
AS 'MODULE_PATHNAME', 'unlearn_refresh_metrics'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.refresh_metrics(text)
    IS 'recompute the model''s metrics on its holdout rows as it is now, store them in unlearn.models.metrics and record them in the audit';

-- Runs with the caller's rights (never SECURITY DEFINER over user data):
-- SELECT on the target and feature columns is checked.
CREATE FUNCTION unlearn.evaluate(model text, relation regclass) RETURNS jsonb
AS 'MODULE_PATHNAME', 'unlearn_evaluate'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.evaluate(text, regclass)
    IS 'the model''s metrics on every row of a table with its target and feature columns (a test table, a later month)';

-- The same on the rows of a query (a view, a join, a later month's
-- filter): they are copied into a temporary table, measured and dropped.
-- The query runs as the caller.
CREATE FUNCTION unlearn.evaluate_query(model text, query text) RETURNS jsonb
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
COMMENT ON FUNCTION unlearn.evaluate_query(text, text)
    IS 'the model''s metrics on the rows a query returns (with the target and feature columns by name), run as the caller';

-- One row per model, as a dashboard reads it: counts, the headline metric
-- and whether it is stale (marked so, or changes of other writers still
-- waiting in unlearn.state_delta for a fold), the last change, and for SISA the shards that
-- hold rows, for certified the share of the removal budget spent by the
-- latest Newton step (0 until the first removal; 0 again after a retrain).
CREATE VIEW unlearn.model_summary AS
SELECT m.name, m.algorithm, m.strategy, m.relation AS source, m.shards, m.slices,
       m.rows_held, m.rows_forgotten, m.rows_skipped,
       CASE WHEN m.metrics IS NULL THEN NULL
            WHEN m.metrics ? 'r2' THEN 'r2' ELSE 'accuracy' END AS metric,
       (m.metrics->>(CASE WHEN m.metrics ? 'r2' THEN 'r2' ELSE 'accuracy' END))::float8 AS metric_value,
       coalesce((m.metrics->>'stale')::bool, false)
           OR (m.metrics IS NOT NULL AND EXISTS (SELECT 1 FROM unlearn.state_delta d WHERE d.model_id = m.model_id)) AS metrics_stale,
       m.metrics, m.version, m.trained_at, m.updated_at AS last_change,
       last.event AS last_event,
       ck.shards_holding_rows,
       CASE WHEN m.strategy = 'certified' THEN coalesce(cb.budget_spent, 0) END AS budget_spent
FROM unlearn.models m
LEFT JOIN LATERAL (SELECT a.event FROM unlearn.audit a WHERE a.model_id = m.model_id
                   ORDER BY a.event_id DESC LIMIT 1) last ON true
LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE c.rows > 0) AS shards_holding_rows FROM unlearn.checkpoints c
                   WHERE c.model_id = m.model_id AND c.slice = m.slices - 1) ck ON m.strategy = 'sisa'
LEFT JOIN LATERAL (SELECT (a.details->>'bound_after')::float8 / nullif((a.details->>'budget')::float8, 0) AS budget_spent
                   FROM unlearn.audit a WHERE a.model_id = m.model_id AND a.details ? 'budget'
                   ORDER BY a.event_id DESC LIMIT 1) cb ON m.strategy = 'certified';
COMMENT ON VIEW unlearn.model_summary
    IS 'one row per model: algorithm, strategy, rows held and forgotten, headline metric (stale or not), last change, SISA shards holding rows, certified budget spent';

-- Long work reports its progress (src/pg/progress.hpp says why this way):
-- a NOTICE every unlearn.progress_interval, and an entry per backend that
-- other sessions read here while the work runs.
CREATE FUNCTION unlearn.progress_entries(
    OUT pid int, OUT model text, OUT operation text, OUT phase text, OUT rows_read bigint,
    OUT shard int, OUT shards int, OUT slice int, OUT slices int, OUT epoch int, OUT epochs int,
    OUT iteration int, OUT loss float8, OUT elapsed_s float8, OUT remaining_s float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'unlearn_progress_entries'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.progress_entries()
    IS 'internal: the progress entries of running pg_unlearn work, for unlearn.progress';
CREATE VIEW unlearn.progress AS
SELECT p.*, a.usename AS role, a.query_start FROM unlearn.progress_entries() p
LEFT JOIN pg_stat_activity a USING (pid);
COMMENT ON VIEW unlearn.progress
    IS 'running pg_unlearn training, retrains and verify, one row per backend: phase, rows read, shard, slice, epoch, loss, elapsed and estimated remaining seconds (updated every unlearn.progress_interval)';

-- The report: one self-contained HTML page (inline SVG and CSS, nothing
-- fetched) built from the model row, its audit and the membership attack
-- on its holdout rows. It holds counts, figures and state hashes, never a
-- key or a value of a row; group names (values of options.monitor_group,
-- for groups of at least 5 holdout rows) only for a caller who may read
-- that column. Runs with the caller's rights.
CREATE FUNCTION unlearn.membership_roc(model text, OUT fpr float8, OUT tpr float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'unlearn_membership_roc'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.membership_roc(text)
    IS 'the ROC curve of the loss-threshold membership attack (members against holdout rows), thinned to steps of 1/200';

CREATE FUNCTION unlearn.report_escape(s text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$ SELECT replace(replace(replace(replace(replace(s, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;') $$;
COMMENT ON FUNCTION unlearn.report_escape(text) IS 'internal: text escaped for HTML, for unlearn.report';

-- A line chart: series a (and b, dashed, if given) over x; marks are x
-- positions drawn as thin vertical lines (forgetting events).
CREATE FUNCTION unlearn.report_chart(title text, x_label text, y_label text, xs float8[], a float8[], a_name text,
                                     b float8[] DEFAULT NULL, b_name text DEFAULT NULL, marks float8[] DEFAULT '{}',
                                     y_min float8 DEFAULT NULL, y_max float8 DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    w int := 560; h int := 280; l int := 60; r int := 16; t int := 34; bm int := 44;
    pw int := w - l - r; ph int := h - t - bm;
    x0 float8; x1 float8; y0 float8; y1 float8;
    svg text;
    pts text;
    i int;
BEGIN
    SELECT min(v), max(v) INTO x0, x1 FROM unnest(xs) v WHERE v IS NOT NULL;
    SELECT coalesce(y_min, min(v)), coalesce(y_max, max(v)) INTO y0, y1
    FROM unnest(a || coalesce(b, '{}')) v WHERE v IS NOT NULL AND v = v;
    IF x0 IS NULL OR y0 IS NULL THEN RETURN ''; END IF;
    IF x1 <= x0 THEN x0 := x0 - 1; x1 := x1 + 1; END IF;
    IF y1 <= y0 THEN y0 := y0 - 0.5; y1 := y1 + 0.5; END IF;
    svg := format('<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="%s" height="%s" viewBox="0 0 %s %s" role="img" aria-label="%s">',
                  w, h, w, h, unlearn.report_escape(title))
        || format('<text class="title" x="%s" y="20">%s</text>', l, unlearn.report_escape(title))
        || format('<rect class="frame" x="%s" y="%s" width="%s" height="%s"/>', l, t, pw, ph);
    FOR i IN 0..4 LOOP  -- y grid and labels
        svg := svg || format('<line class="grid" x1="%s" x2="%s" y1="%s" y2="%s"/><text class="tick" x="%s" y="%s" text-anchor="end">%s</text>',
                             l, l + pw, round((t + ph - ph * i / 4.0)::numeric, 1), round((t + ph - ph * i / 4.0)::numeric, 1),
                             l - 6, round((t + ph - ph * i / 4.0 + 4)::numeric, 1), rtrim(to_char(y0 + (y1 - y0) * i / 4.0, 'FM9999990.999'), '.'));
    END LOOP;
    svg := svg || format('<text class="tick" x="%s" y="%s" text-anchor="middle">%s</text><text class="tick" x="%s" y="%s" text-anchor="middle">%s</text>',
                         l, t + ph + 16, rtrim(to_char(x0, 'FM9999990.99'), '.'), l + pw, t + ph + 16, rtrim(to_char(x1, 'FM9999990.99'), '.'))
        || format('<text class="axis" x="%s" y="%s" text-anchor="middle">%s</text>', l + pw / 2, h - 8, unlearn.report_escape(x_label))
        || format('<text class="axis" transform="rotate(-90)" x="%s" y="14" text-anchor="middle">%s</text>', -(t + ph / 2), unlearn.report_escape(y_label));
    SELECT string_agg(format('<line class="mark" x1="%1$s" x2="%1$s" y1="%2$s" y2="%3$s"/>',
                             round((l + pw * (m - x0) / (x1 - x0))::numeric, 1), t, t + ph), '')
      INTO pts FROM unnest(marks) m WHERE m BETWEEN x0 AND x1;
    svg := svg || coalesce(pts, '');
    FOR i IN 1..2 LOOP
        CONTINUE WHEN i = 2 AND b IS NULL;
        SELECT string_agg(format('%s,%s', round((l + pw * (x - x0) / (x1 - x0))::numeric, 1),
                                 round((t + ph - ph * (greatest(least(y, y1), y0) - y0) / (y1 - y0))::numeric, 1)), ' ' ORDER BY o)
          INTO pts FROM unnest(xs, CASE WHEN i = 1 THEN a ELSE b END) WITH ORDINALITY AS u(x, y, o) WHERE y IS NOT NULL AND y = y;
        CONTINUE WHEN pts IS NULL;
        svg := svg || format('<polyline class="series s%s" points="%s"/>', i, pts);
        IF cardinality(xs) <= 60 THEN
            svg := svg || (SELECT string_agg(format('<circle class="dot s%s" r="3" cx="%s" cy="%s"/>', i,
                                                    round((l + pw * (x - x0) / (x1 - x0))::numeric, 1),
                                                    round((t + ph - ph * (greatest(least(y, y1), y0) - y0) / (y1 - y0))::numeric, 1)), '')
                           FROM unnest(xs, CASE WHEN i = 1 THEN a ELSE b END) AS u(x, y) WHERE y IS NOT NULL AND y = y);
        END IF;
        svg := svg || format('<line class="series s%s" x1="%s" x2="%s" y1="%s" y2="%s"/><text class="legend" x="%s" y="%s">%s</text>',
                             i, l + pw - 150, l + pw - 130, t + 12 + 16 * (i - 1), t + 12 + 16 * (i - 1), l + pw - 124, t + 16 + 16 * (i - 1),
                             unlearn.report_escape(CASE WHEN i = 1 THEN a_name ELSE b_name END));
    END LOOP;
    RETURN svg || '</svg>';
END
$$;
COMMENT ON FUNCTION unlearn.report_chart(text, text, text, float8[], float8[], text, float8[], text, float8[], float8, float8)
    IS 'internal: an inline SVG line chart, for unlearn.report';

-- A bar chart: per label a bar of a (and of b beside it, if given).
CREATE FUNCTION unlearn.report_bars(title text, y_label text, labels text[], a float8[], a_name text,
                                    b float8[] DEFAULT NULL, b_name text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n int := coalesce(cardinality(labels), 0);
    w int := greatest(360, least(1100, 90 + n * 46)); h int := 280; l int := 60; t int := 34; bm int := 60;
    pw int; ph int := h - t - bm;
    top float8;
    slot float8; bw float8;
    svg text;
BEGIN
    IF n = 0 THEN RETURN ''; END IF;
    pw := w - l - 16;
    SELECT max(v) INTO top FROM unnest(a || coalesce(b, '{}')) v WHERE v = v;
    top := CASE WHEN top IS NULL OR top <= 0 THEN 1 ELSE top END;
    slot := pw::float8 / n;
    bw := slot * CASE WHEN b IS NULL THEN 0.6 ELSE 0.35 END;
    svg := format('<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="%s" height="%s" viewBox="0 0 %s %s" role="img" aria-label="%s">',
                  w, h, w, h, unlearn.report_escape(title))
        || format('<text class="title" x="%s" y="20">%s</text>', l, unlearn.report_escape(title))
        || format('<rect class="frame" x="%s" y="%s" width="%s" height="%s"/>', l, t, pw, ph)
        || format('<text class="tick" x="%s" y="%s" text-anchor="end">%s</text><text class="tick" x="%s" y="%s" text-anchor="end">0</text>',
                  l - 6, t + 4, rtrim(to_char(top, 'FM99999999990.999'), '.'), l - 6, t + ph + 4)
        || format('<text class="axis" transform="rotate(-90)" x="%s" y="14" text-anchor="middle">%s</text>', -(t + ph / 2), unlearn.report_escape(y_label));
    svg := svg || (SELECT string_agg(
        format('<rect class="bar s1" x="%s" y="%s" width="%s" height="%s"><title>%s: %s</title></rect>',
               round((l + slot * (o - 1) + slot * 0.1)::numeric, 1), round((t + ph - ph * greatest(coalesce(av, 0), 0) / top)::numeric, 1),
               round(bw::numeric, 1), round((ph * greatest(coalesce(av, 0), 0) / top)::numeric, 1), unlearn.report_escape(lb), av)
        || CASE WHEN b IS NULL THEN '' ELSE
           format('<rect class="bar s2" x="%s" y="%s" width="%s" height="%s"><title>%s: %s</title></rect>',
                  round((l + slot * (o - 1) + slot * 0.1 + bw)::numeric, 1), round((t + ph - ph * greatest(coalesce(b[o], 0), 0) / top)::numeric, 1),
                  round(bw::numeric, 1), round((ph * greatest(coalesce(b[o], 0), 0) / top)::numeric, 1), unlearn.report_escape(lb), b[o]) END
        || format('<text class="tick" x="%s" y="%s" text-anchor="middle">%s</text>',
                  round((l + slot * (o - 0.5))::numeric, 1), t + ph + 16, unlearn.report_escape(left(lb, 12))), '' ORDER BY o)
        FROM unnest(labels, a) WITH ORDINALITY AS u(lb, av, o));
    svg := svg || format('<rect class="bar s1" x="%s" y="%s" width="10" height="10"/><text class="legend" x="%s" y="%s">%s</text>',
                         l + 6, h - 22, l + 20, h - 13, unlearn.report_escape(a_name));
    IF b IS NOT NULL THEN
        svg := svg || format('<rect class="bar s2" x="%s" y="%s" width="10" height="10"/><text class="legend" x="%s" y="%s">%s</text>',
                             l + 160, h - 22, l + 174, h - 13, unlearn.report_escape(b_name));
    END IF;
    RETURN svg || '</svg>';
END
$$;
COMMENT ON FUNCTION unlearn.report_bars(text, text, text[], float8[], text, float8[], text)
    IS 'internal: an inline SVG bar chart, for unlearn.report';

CREATE FUNCTION unlearn.report(model text) RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m unlearn.models;
    headline text;
    html text;
    section text;
    xs float8[]; a float8[]; b float8[]; marks float8[]; labels text[];
    auc float8;
    ev record;
    shown int := 0;
    may_name bool;
BEGIN
    SELECT * INTO m FROM unlearn.models mo WHERE mo.name = report.model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', report.model
            USING ERRCODE = 'undefined_object', HINT = 'SELECT name FROM unlearn.models lists the trained models.';
    END IF;
    headline := CASE WHEN m.algorithm IN ('linear_regression', 'ridge') THEN 'r2' ELSE 'accuracy' END;
    html := '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>pg_unlearn report: '
        || unlearn.report_escape(m.name) || '</title><style>'
        || 'body{font-family:system-ui,sans-serif;margin:24px;color:#1d2330;background:#fff;max-width:1150px}'
        || 'h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d8dce3;padding-bottom:4px}'
        || 'p.note{color:#5b6472;font-size:13px;margin:4px 0}table{border-collapse:collapse;font-size:12.5px}'
        || 'td,th{border:1px solid #d8dce3;padding:3px 7px;text-align:left}th{background:#f2f4f7}'
        || 'dl.facts{display:grid;grid-template-columns:max-content auto max-content auto;gap:3px 14px;font-size:13.5px}dt{color:#5b6472}dd{margin:0}'
        || '.charts{display:flex;flex-wrap:wrap;gap:14px}svg.chart{background:#fbfcfd;border:1px solid #e3e6eb}'
        || '.title{font-size:13px;font-weight:600;fill:#1d2330}.tick{font-size:10.5px;fill:#5b6472}.axis{font-size:11px;fill:#3b4350}'
        || '.legend{font-size:11px;fill:#3b4350}.frame{fill:none;stroke:#c4c9d2}.grid{stroke:#eceef2}'
        || '.mark{stroke:#d9534f;stroke-dasharray:3 3;stroke-width:1}.series{fill:none;stroke-width:2}'
        || '.series.s1{stroke:#2f6fdf}.series.s2{stroke:#8a94a6;stroke-dasharray:5 4}.dot.s1{fill:#2f6fdf}.dot.s2{fill:#8a94a6}'
        || '.bar.s1{fill:#2f6fdf}.bar.s2{fill:#f0a33a}</style></head><body>'
        || '<h1>Model ' || unlearn.report_escape(m.name) || '</h1>'
        || '<p class="note">pg_unlearn report generated ' || to_char(now(), 'YYYY-MM-DD HH24:MI:SS TZ')
        || '. It holds counts, figures and state hashes: no key or value of any row.</p>'
        || '<dl class="facts">'
        || format('<dt>algorithm</dt><dd>%s</dd><dt>strategy</dt><dd>%s</dd>', m.algorithm, m.strategy)
        || format('<dt>source table</dt><dd>%s</dd><dt>shards / slices</dt><dd>%s / %s</dd>', unlearn.report_escape(m.relation::text), m.shards, m.slices)
        || format('<dt>rows held</dt><dd>%s</dd><dt>rows forgotten</dt><dd>%s</dd>', m.rows_held, m.rows_forgotten)
        || format('<dt>rows trained</dt><dd>%s</dd><dt>rows skipped</dt><dd>%s</dd>', m.rows_trained, m.rows_skipped)
        || format('<dt>trained at</dt><dd>%s</dd><dt>last change</dt><dd>%s (version %s)</dd>',
                  to_char(m.trained_at, 'YYYY-MM-DD HH24:MI:SS'), to_char(m.updated_at, 'YYYY-MM-DD HH24:MI:SS'), m.version)
        || format('<dt>%s (holdout)</dt><dd>%s</dd><dt>holdout rows</dt><dd>%s</dd>', headline,
                  coalesce(to_char((m.metrics->>headline)::float8, 'FM0.0000') || CASE WHEN m.metrics ? 'stale' THEN ' (stale since '
                           || to_char((m.metrics->>'stale_since')::timestamptz, 'YYYY-MM-DD HH24:MI:SS') || ')' ELSE '' END, 'not measured'),
                  coalesce(m.metrics->>'rows', '0'))
        || '</dl>';

    -- Quality over time: every audit event that measured the model, against
    -- the sequence of events, with the forgetting events marked.
    html := html || '<h2>Quality over time</h2><div class="charts">';
    SELECT array_agg(s.seq ORDER BY s.seq) FILTER (WHERE s.details ? 'metrics'),
           array_agg((s.details->'metrics'->>headline)::float8 ORDER BY s.seq) FILTER (WHERE s.details ? 'metrics'),
           array_agg(CASE WHEN headline = 'r2' THEN (s.details->'metrics'->>'rmse')::float8
                          ELSE (s.details->'metrics'->>'macro_f1')::float8 END ORDER BY s.seq) FILTER (WHERE s.details ? 'metrics'),
           array_agg(s.seq ORDER BY s.seq) FILTER (WHERE s.event IN ('unlearn', 'truncate', 'forget_feature', 'learn'))
      INTO xs, a, b, marks
      FROM (SELECT row_number() OVER (ORDER BY au.event_id)::float8 AS seq, au.event, au.details
            FROM unlearn.audit au WHERE au.model_id = m.model_id) s;
    IF xs IS NULL THEN
        html := html || '</div><p class="note">No metrics recorded: train with options.holdout, and call unlearn.refresh_metrics after changes.</p>';
    ELSE
        html := html || unlearn.report_chart(headline || ' on holdout rows, by audit event', 'audit event (dashed red: rows forgotten or learned)',
                                             headline, xs, a, headline,
                                             CASE WHEN headline = 'accuracy' THEN b END, CASE WHEN headline = 'accuracy' THEN 'macro F1' END,
                                             coalesce(marks, '{}'), CASE WHEN headline = 'accuracy' THEN 0 END, CASE WHEN headline = 'accuracy' THEN 1 END)
            || '</div><p class="note">Points: train and each unlearn.refresh_metrics. A change marks the stored metrics stale; refresh them to add a point.</p>';
    END IF;

    -- Membership inference on the rows held against the holdout rows.
    html := html || '<h2>Membership inference</h2>';
    BEGIN
        SELECT array_agg(r.fpr ORDER BY r.fpr, r.tpr), array_agg(r.tpr ORDER BY r.fpr, r.tpr) INTO xs, a FROM unlearn.membership_roc(m.name) r;
        IF xs IS NULL THEN
            html := html || '<p class="note">No holdout rows: the attack needs rows the model never saw (options.holdout).</p>';
        ELSE
            SELECT mi.auc INTO auc FROM unlearn.membership_inference(m.name) mi;
            html := html || '<div class="charts">'
                || unlearn.report_chart(format('loss-threshold attack ROC, AUC %s', to_char(auc, 'FM0.000')), 'false positive rate (holdout rows accused)',
                                        'true positive rate', xs, a, 'attack', xs, 'chance', '{}'::float8[], 0, 1)
                || '</div><p class="note">Near the diagonal (AUC 0.5) the rows held look like rows the model never saw.</p>';
        END IF;
    EXCEPTION WHEN OTHERS THEN
        html := html || '<p class="note">Not shown: ' || unlearn.report_escape(SQLERRM) || '</p>';
    END;

    -- Group impact of each forgetting event (options.monitor_group).
    html := html || '<h2>Group impact</h2>';
    IF NOT m.options ? 'monitor_group' THEN
        html := html || '<p class="note">No options.monitor_group: group figures are not recorded.</p>';
    ELSE
        may_name := NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = m.relation AND attname = m.options->>'monitor_group' AND NOT attisdropped)
                    OR has_column_privilege(m.relation, m.options->>'monitor_group', 'SELECT');
        IF NOT may_name THEN
            html := html || '<p class="note">Not shown: group figures name values of column '
                || unlearn.report_escape(m.options->>'monitor_group') || ', which you may not read.</p>';
        ELSE
            html := html || '<div class="charts">';
            FOR ev IN SELECT au.event_id, au.at, au.details FROM unlearn.audit au
                      WHERE au.model_id = m.model_id AND au.details ? 'groups' ORDER BY au.event_id DESC LIMIT 6 LOOP
                SELECT array_agg(g->>'group' ORDER BY g->>'group'), array_agg((g->>'before')::float8 ORDER BY g->>'group'),
                       array_agg((g->>'after')::float8 ORDER BY g->>'group')
                  INTO labels, a, b FROM jsonb_array_elements(ev.details->'groups') g;
                html := html || unlearn.report_bars(format('event %s: %s per group of %s', ev.event_id, ev.details->>'group_metric',
                                                           m.options->>'monitor_group'),
                                                    ev.details->>'group_metric', labels, a, 'before', b, 'after');
                shown := shown + 1;
            END LOOP;
            html := html || '</div>' || CASE WHEN shown = 0 THEN '<p class="note">No forgetting event has recorded group figures yet.</p>'
                                             ELSE '<p class="note">Holdout rows of each group, before and after the event (latest six events).</p>' END;
        END IF;
    END IF;

    -- Shards and budget.
    IF m.strategy = 'sisa' THEN
        SELECT array_agg('shard ' || c.shard ORDER BY c.shard), array_agg(c.rows::float8 ORDER BY c.shard),
               array_agg((SELECT count(*) FROM unlearn.audit au WHERE au.model_id = m.model_id AND au.event <> 'train'
                          AND c.shard = ANY (au.shards))::float8 ORDER BY c.shard)
          INTO labels, a, b FROM unlearn.checkpoints c WHERE c.model_id = m.model_id AND c.slice = m.slices - 1;
        html := html || '<h2>Shards</h2><div class="charts">'
            || unlearn.report_bars('rows per shard (last checkpoint)', 'rows', labels, a, 'rows held') || unlearn.report_bars('retrains per shard', 'retrains', labels, b, 'retrains')
            || '</div><p class="note">A forgetting event retrains only the shards that held the rows, from their last clean checkpoint.</p>';
    ELSIF m.strategy = 'certified' THEN
        SELECT array_agg(s.seq ORDER BY s.seq), array_agg(s.spent ORDER BY s.seq), array_agg(1.0::float8 ORDER BY s.seq),
               array_agg(s.seq ORDER BY s.seq) FILTER (WHERE s.path = 'retrain')
          INTO xs, a, b, marks
          FROM (SELECT row_number() OVER (ORDER BY au.event_id)::float8 AS seq,
                       greatest((au.details->>'bound_after')::float8, coalesce((au.details->>'bound_reached')::float8, 0))
                           / nullif((au.details->>'budget')::float8, 0) AS spent, au.details->>'path' AS path, au.details
                FROM unlearn.audit au WHERE au.model_id = m.model_id) s WHERE s.details ? 'budget';
        html := html || '<h2>Certified removal budget</h2>';
        IF xs IS NULL THEN
            html := html || '<p class="note">No removal yet: the budget is unspent.</p>';
        ELSE
            html := html || '<div class="charts">'
                || unlearn.report_chart('bound / budget after each removal', 'audit event (dashed red: exact retrain)', 'share of budget',
                                        xs, a, 'bound / budget', b, 'budget', coalesce(marks, '{}'), 0, NULL)
                || '</div><p class="note">Past 1 the shard is retrained exactly and the bound starts again.</p>';
        END IF;
    ELSE
        html := html || '<h2>Shards</h2><p class="note">Summation form: every forgetting is an exact subtraction; no shard is retrained.</p>';
    END IF;

    -- The audit events.
    SELECT string_agg(format('<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td><code>%s</code></td><td><code>%s</code></td><td>%s</td></tr>',
                             au.event_id, to_char(au.at, 'YYYY-MM-DD HH24:MI:SS'), au.event, unlearn.report_escape(au.method), au.rows,
                             cardinality(au.shards), to_char(au.duration_ms, 'FM999999990.0'), left(coalesce(au.state_hash_before, ''), 12),
                             left(coalesce(au.state_hash_after, ''), 12),
                             concat_ws(', ', 'path ' || (au.details->>'path'), 'evidence AUC ' || to_char((au.details->>'evidence_auc')::float8, 'FM0.000'),
                                       headline || ' ' || to_char((au.details->'metrics'->>headline)::float8, 'FM0.0000'))),
                      '' ORDER BY au.event_id)
      INTO section FROM unlearn.audit au WHERE au.model_id = m.model_id;
    html := html || '<h2>Audit events</h2><table><tr><th>event</th><th>at</th><th>kind</th><th>method</th><th>rows</th><th>shards</th>'
        || '<th>ms</th><th>state before</th><th>state after</th><th>figures</th></tr>' || coalesce(section, '') || '</table>'
        || '</body></html>';
    RETURN html;
END
$$;
COMMENT ON FUNCTION unlearn.report(text)
    IS 'a self-contained HTML page (inline SVG): metrics over time, membership-inference ROC, group impact, shard state or certified budget, audit events; no key or value of any row';

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
