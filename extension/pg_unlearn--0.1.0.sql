-- pg_unlearn 0.1.0: train over a table, forget on DELETE.
\echo Use "CREATE EXTENSION pg_unlearn" to load this file. \quit

-- Catalog ------------------------------------------------------------------

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
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX models_relation_idx ON unlearn.models (relation);
COMMENT ON TABLE unlearn.models IS 'one row per model trained with unlearn.train';

CREATE TABLE unlearn.state (
    model_id int NOT NULL REFERENCES unlearn.models ON DELETE CASCADE,
    shard    int NOT NULL,
    state    bytea NOT NULL,
    PRIMARY KEY (model_id, shard)
);
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
    state_hash_after  text
);
CREATE INDEX audit_model_idx ON unlearn.audit (model_id, event_id);
COMMENT ON TABLE unlearn.audit IS 'train and unlearn events: counts and state hashes, no values or keys of forgotten rows';

SELECT pg_catalog.pg_extension_config_dump('unlearn.models', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.models_model_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.state', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.lineage_blocks', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.audit', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.audit_event_id_seq', '');

-- Training and forgetting ---------------------------------------------------

CREATE FUNCTION unlearn.train(
    model text, relation regclass, target text, features text[],
    algorithm text DEFAULT 'linear_regression', strategy text DEFAULT 'auto',
    shards int DEFAULT 1, slices int DEFAULT 1, options jsonb DEFAULT '{}',
    OUT name text, OUT algorithm_used text, OUT strategy_used text, OUT shards_used int,
    OUT rows_trained bigint, OUT rows_skipped bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'unlearn_train'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.train(text, regclass, text, text[], text, text, int, int, jsonb)
    IS 'train a model over a table; later DELETEs on the table are forgotten by it';

-- SECURITY DEFINER: a role that may DELETE from the source but has no rights
-- on unlearn.* must still make every model forget.
CREATE FUNCTION unlearn.forget_rows() RETURNS trigger
AS 'MODULE_PATHNAME', 'unlearn_forget_rows'
LANGUAGE C SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION unlearn.forget_rows() FROM PUBLIC;
COMMENT ON FUNCTION unlearn.forget_rows() IS 'statement trigger: removes deleted or changed rows from every model on the table';

CREATE FUNCTION unlearn.install_triggers(rel regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = rel AND tgname = 'unlearn_forget_delete') THEN
        EXECUTE format('CREATE TRIGGER unlearn_forget_delete AFTER DELETE ON %s '
                       'REFERENCING OLD TABLE AS unlearn_old FOR EACH STATEMENT '
                       'EXECUTE FUNCTION unlearn.forget_rows()', rel);
        EXECUTE format('CREATE TRIGGER unlearn_forget_update AFTER UPDATE ON %s '
                       'REFERENCING OLD TABLE AS unlearn_old NEW TABLE AS unlearn_new FOR EACH STATEMENT '
                       'EXECUTE FUNCTION unlearn.forget_rows()', rel);
        EXECUTE format('CREATE TRIGGER unlearn_forget_truncate AFTER TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION unlearn.forget_rows()', rel);
    END IF;
END
$$;
REVOKE ALL ON FUNCTION unlearn.install_triggers(regclass) FROM PUBLIC;

CREATE FUNCTION unlearn.drop_model(model text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m unlearn.models;
BEGIN
    DELETE FROM unlearn.models WHERE name = model RETURNING * INTO m;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', model
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT name FROM unlearn.models lists the trained models.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM unlearn.models WHERE relation = m.relation)
       AND EXISTS (SELECT 1 FROM pg_class WHERE oid = m.relation) THEN
        EXECUTE format('DROP TRIGGER IF EXISTS unlearn_forget_delete ON %s', m.relation);
        EXECUTE format('DROP TRIGGER IF EXISTS unlearn_forget_update ON %s', m.relation);
        EXECUTE format('DROP TRIGGER IF EXISTS unlearn_forget_truncate ON %s', m.relation);
    END IF;
    INSERT INTO unlearn.audit (event, model_id, model, rows, method, shards, duration_ms)
    VALUES ('drop', m.model_id, m.name, m.rows_held, 'drop', '{}', 0);
END
$$;
COMMENT ON FUNCTION unlearn.drop_model(text) IS 'drop a model: its state and lineage go, the audit stays';

-- Reading ------------------------------------------------------------------

CREATE FUNCTION unlearn.predict(model text, features float8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'unlearn_predict'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION unlearn.predict(text, float8[]) IS 'predicted value (regression) or class label (classifier); NULL if a feature is NULL';

CREATE FUNCTION unlearn.predict(model text, "row" record) RETURNS float8
AS 'MODULE_PATHNAME', 'unlearn_predict_row'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION unlearn.predict(text, record) IS 'prediction with features taken from the row by column name; NULL if a feature is NULL';

CREATE FUNCTION unlearn.predict_proba(model text, features float8[]) RETURNS float8[]
AS 'MODULE_PATHNAME', 'unlearn_predict_proba'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION unlearn.predict_proba(text, float8[]) IS 'class probabilities, classes in ascending order';

CREATE FUNCTION unlearn.coefficients(model text)
RETURNS TABLE (shard int, feature text, coefficient float8)
AS 'MODULE_PATHNAME', 'unlearn_coefficients'
LANGUAGE C STABLE;
COMMENT ON FUNCTION unlearn.coefficients(text) IS 'fitted parameters: coefficients and intercept, or naive Bayes priors, means and variances';

CREATE FUNCTION unlearn.verify(model text)
RETURNS TABLE (check_name text, value float8, tolerance float8, passed bool)
AS 'MODULE_PATHNAME', 'unlearn_verify'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.verify(text) IS 'retrain from scratch on the rows lineage holds and compare with the model';

CREATE FUNCTION unlearn.trained_on(model text, key text) RETURNS bool
AS 'MODULE_PATHNAME', 'unlearn_trained_on'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.trained_on(text, text) IS 'does the model hold the row with this primary key (in its text form)';

CREATE FUNCTION unlearn.lineage_entries(model_id int)
RETURNS TABLE (key text, shard int, slice int, role text)
AS 'MODULE_PATHNAME', 'unlearn_lineage_entries'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;

CREATE VIEW unlearn.lineage AS
SELECT m.name AS model, l.key, l.shard, l.slice, l.role
FROM unlearn.models m, LATERAL unlearn.lineage_entries(m.model_id) l;
COMMENT ON VIEW unlearn.lineage IS 'which row (by primary key) each model holds, in which shard and role';

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
-- maximum. 0 for a feature the model does not use.
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
    SELECT * INTO m FROM unlearn.models WHERE name = model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', model
            USING ERRCODE = 'undefined_object', HINT = 'SELECT name FROM unlearn.models lists the trained models.';
    END IF;
    IF NOT feature = ANY (m.features) THEN
        RETURN 0;
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
