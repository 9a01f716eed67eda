-- pg_unlearn 0.5.1 -> 0.6.0. Every object added or changed here is also in
-- pg_unlearn--0.6.0.sql, the complete script for this version; sql/upgrade.sql
-- checks that both give the same definitions.
\echo Use "ALTER EXTENSION pg_unlearn UPDATE TO '0.6.0'" to load this file. \quit

-- A model never stalls its table (issue 15) ----------------------------------

-- The trigger an error names no longer depends on the plan.
CREATE OR REPLACE FUNCTION unlearn.check_triggers_enabled(rels oid[]) RETURNS void
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
             ORDER BY tg.tgrelid, tg.tgname  -- the first in name order is named, whatever the plan
    LOOP
        RAISE EXCEPTION 'trigger % on % must stay enabled as pg_unlearn installed it', t.tgname, t.rel
            USING ERRCODE = 'object_in_use',
                  DETAIL = 'Rows changed while it does not fire would stay in the models trained on the table.',
                  HINT = 'Drop the models first (unlearn.drop_model), or leave the trigger as it is.';
    END LOOP;
END
$$;


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

CREATE FUNCTION unlearn.compact(model text) RETURNS bigint
AS 'MODULE_PATHNAME', 'unlearn_compact'
LANGUAGE C STRICT VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.compact(text) IS 'fold the committed deltas of concurrent writers into the model''s state and counts; returns how many were folded';

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

CREATE FUNCTION unlearn.wait(model text, timeout float8 DEFAULT 60) RETURNS bool
AS 'MODULE_PATHNAME', 'unlearn_wait'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.wait(text, float8) IS 'wait (up to timeout seconds) until the model''s shards have caught up and its deltas are folded; true when they have';

-- The data scientist's workflow (issue 16) -----------------------------------

-- train returns a row type whose columns are named as its arguments, and
-- takes replace => true
DROP FUNCTION unlearn.train(text, regclass, text, text[], text, text, int, int, jsonb);
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


-- classes: text, boolean and integer targets; labels and probabilities by class
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

-- on_alter_table: a text target's classes follow its column's name, and a
-- model is dropped when its target changes between numbers and text
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
    target_type regtype;
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
                -- a categorical feature's vocabulary follows its column's name,
                -- and so do a text target's classes
                UPDATE unlearn.vocabulary v
                SET feature = names[n + 1 + u.i]
                FROM generate_subscripts(m.features, 1) AS u(i)
                WHERE v.model_id = m.model_id AND v.feature = m.features[u.i] AND m.features[u.i] <> names[n + 1 + u.i];
                UPDATE unlearn.vocabulary v SET feature = names[n + 1]
                WHERE v.model_id = m.model_id AND v.feature = m.target AND m.target <> names[n + 1];
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

-- audit: each event's own duration; rows_requested beside the rows the model held
COMMENT ON COLUMN unlearn.audit.details IS 'method-specific figures, e.g. evidence_auc: the attack AUC of the forgotten rows against holdout rows under the updated model; rows_requested: the rows the DELETE, UPDATE or INSERT touched, held by the model or not';
COMMENT ON COLUMN unlearn.audit.rows IS 'rows of the model the event changed: forgotten (unlearn), learned, trained, or held when dropped; rows a statement touched that the model did not hold (holdout rows, rows never trained on) are in details.rows_requested only';
COMMENT ON COLUMN unlearn.audit.duration_ms IS 'time this event took for this model alone (one statement changing several models writes one event each, each timed on its own)';

-- internal functions say so in \dx+
COMMENT ON FUNCTION unlearn.base_type(oid) IS 'internal: the base type under a domain, for the event triggers';
COMMENT ON FUNCTION unlearn.check_no_inheritance(oid[]) IS 'internal: refuses DDL that makes a model''s table an inheritance child or parent';
COMMENT ON FUNCTION unlearn.check_primary_keys(oid[]) IS 'internal: refuses DDL that removes or changes the primary key a model''s lineage is keyed by';
COMMENT ON FUNCTION unlearn.check_triggers_enabled(oid[]) IS 'internal: refuses disabling the forget triggers of a table with models';
COMMENT ON FUNCTION unlearn.drop_model_because(unlearn.models, text) IS 'internal: drops a model that can no longer follow its table, and audits why';
COMMENT ON FUNCTION unlearn.install_triggers(regclass) IS 'internal: installs the forget (and learn) triggers on a table and its partitions; called by train';
COMMENT ON FUNCTION unlearn.lineage_entries(int) IS 'internal: the rows of one model''s lineage blocks; read through the view unlearn.lineage';
COMMENT ON FUNCTION unlearn.on_alter_table() IS 'internal: event trigger that keeps models in step with ALTER TABLE (renames, retypes, rewrites, partitions)';
COMMENT ON FUNCTION unlearn.on_alter_trigger() IS 'internal: event trigger that refuses dropping or altering the forget triggers of a table with models';
COMMENT ON FUNCTION unlearn.on_sql_drop() IS 'internal: event trigger that drops models whose table or column is dropped, and audits why';
COMMENT ON FUNCTION unlearn.on_table_rewrite() IS 'internal: event trigger that notes tables a rewrite will retrain the models of';
COMMENT ON FUNCTION unlearn.record_attnums(regclass) IS 'internal: records the attribute numbers of each model''s columns, so that models follow renames';
COMMENT ON FUNCTION unlearn.resync_or_drop(text) IS 'internal: retrains a model after rows left without a DELETE, or drops it (audited) when what remains cannot be fitted';

-- the read path runs in parallel workers (see the full script for why it may)
ALTER FUNCTION unlearn.predict(text, float8[]) PARALLEL SAFE;
ALTER FUNCTION unlearn.predict(text, record) PARALLEL SAFE;
ALTER FUNCTION unlearn.predict_proba(text, float8[]) PARALLEL SAFE;
ALTER FUNCTION unlearn.coefficients(text) PARALLEL SAFE;

-- Export: what a model computes with, as one document for use outside the
-- database (layer shapes and weights for an mlp, coefficients, naive Bayes
-- means and variances, the class list, feature names and options); it
-- carries no row, key, lineage or summation-form sum.
CREATE FUNCTION unlearn.export(model text) RETURNS jsonb
AS 'MODULE_PATHNAME', 'unlearn_export'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION unlearn.export(text) IS 'the model''s fitted parameters, class list, feature names and options as jsonb; no row data';

-- Random forests that forget exactly (issue 17) ------------------------------
-- A random forest's state is megabytes rewritten by every DELETE: pglz
-- would cost more than the forgetting (states under 2 kB were never compressed).
ALTER TABLE unlearn.state ALTER COLUMN state SET STORAGE EXTERNAL;


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
                          features || 'unlearn_injected'::text, algorithm, strategy, shards, slices, options);
    EXECUTE influence INTO weight_retrained USING scratch || '_retrained';
    PERFORM unlearn.drop_model(scratch);
    PERFORM unlearn.drop_model(scratch || '_retrained');
    EXECUTE format('DROP TABLE pg_temp.%I', scratch);
    ratio := weight_after / nullif(weight_before, 0);
    RETURN NEXT;
END
$$;


-- The data scientist's workflow (issue 16), continued: quality, progress, report ----

-- Quality on held-out rows: train stores the figures of options.holdout's
-- rows here; a change of state (DELETE, learn, TRUNCATE, forget_feature)
-- marks them stale with the time instead of recomputing them inside the
-- DELETE; unlearn.refresh_metrics recomputes them.
ALTER TABLE unlearn.models ADD COLUMN metrics jsonb;
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
    WHILE to_regclass(format('pg_temp.%I', scratch)) IS NOT NULL LOOP
        attempt := attempt + 1;
        scratch := format('query_rows_%s', attempt);
    END LOOP;
    EXECUTE format('CREATE TEMP TABLE %I AS %s', scratch, query);
    result := unlearn.evaluate(model, format('pg_temp.%I', scratch)::regclass);
    EXECUTE format('DROP TABLE pg_temp.%I', scratch);
    RETURN jsonb_set(result, '{computed_on}', to_jsonb('query'::text));
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

