-- pg_unlearn 0.2.0 -> 0.3.0: SISA (sharded, sliced, checkpointed training)
-- for logistic_regression and mlp.
\echo Use "ALTER EXTENSION pg_unlearn UPDATE TO '0.3.0'" to load this file. \quit

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
SELECT pg_catalog.pg_extension_config_dump('unlearn.checkpoints', '');

CREATE OR REPLACE FUNCTION unlearn.erasure_commands(relation regclass) RETURNS SETOF text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('VACUUM (FULL) %s', r)
    FROM unnest(ARRAY[relation, 'unlearn.models'::regclass, 'unlearn.state'::regclass,
                      'unlearn.lineage_blocks'::regclass, 'unlearn.checkpoints'::regclass]) AS r
    UNION ALL SELECT 'CHECKPOINT'
$$;

COMMENT ON FUNCTION unlearn.train(text, regclass, text, text[], text, text, int, int, jsonb)
    IS 'train a model over a table (linear_regression, ridge, naive_bayes incrementally; logistic_regression, mlp with SISA shards and slices); later DELETEs on the table are forgotten by it';

-- Privacy checks -------------------------------------------------------------

-- options.holdout keeps a share of rows out of training (lineage role
-- holdout); the attack below compares them with the rows trained on.
CREATE FUNCTION unlearn.membership_inference(model text,
    OUT auc float8, OUT tpr_at_1pct_fpr float8, OUT advantage float8, OUT members bigint, OUT nonmembers bigint)
AS 'MODULE_PATHNAME', 'unlearn_membership_inference'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.membership_inference(text)
    IS 'loss-threshold membership attack of the rows a model holds against its holdout rows (Yeom et al. 2018): AUC, TPR at 1% FPR, advantage';

-- Method-specific figures of an event (forgetting evidence, ...): numbers
-- only, never a value or key of a row.
ALTER TABLE unlearn.audit ADD COLUMN details jsonb;
COMMENT ON COLUMN unlearn.audit.details IS 'method-specific figures, e.g. evidence_auc: the attack AUC of the forgotten rows against holdout rows under the updated model';

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
-- more than options.impact_warning (default 0.05) raises a WARNING.
CREATE FUNCTION unlearn.group_impact(model text, event bigint DEFAULT NULL)
RETURNS TABLE (event_id bigint, at timestamptz, "group" text, metric text, holdout_rows bigint,
               before float8, after float8, change float8)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    chosen bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM unlearn.audit a WHERE a.model = group_impact.model) THEN
        RAISE EXCEPTION 'model "%" has no audit events', group_impact.model
            USING ERRCODE = 'undefined_object', HINT = 'SELECT name FROM unlearn.models lists the trained models.';
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
