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
