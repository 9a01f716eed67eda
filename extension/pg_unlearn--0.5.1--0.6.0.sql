-- pg_unlearn 0.5.1 -> 0.6.0. Every object added or changed here is also in
-- pg_unlearn--0.6.0.sql, the complete script for this version; sql/upgrade.sql
-- checks that both give the same definitions.
\echo Use "ALTER EXTENSION pg_unlearn UPDATE TO '0.6.0'" to load this file. \quit

-- A model never stalls its table (issue 15) ----------------------------------

-- The data scientist's workflow (issue 16) -----------------------------------

-- quality, progress, report

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

-- One row per model, as a dashboard reads it: counts, the headline metric
-- and whether it is stale, the last change, and for SISA the shards that
-- hold rows, for certified the share of the removal budget spent by the
-- latest Newton step (0 until the first removal; 0 again after a retrain).
CREATE VIEW unlearn.model_summary AS
SELECT m.name, m.algorithm, m.strategy, m.relation AS source, m.shards, m.slices,
       m.rows_held, m.rows_forgotten, m.rows_skipped,
       CASE WHEN m.metrics IS NULL THEN NULL
            WHEN m.metrics ? 'r2' THEN 'r2' ELSE 'accuracy' END AS metric,
       (m.metrics->>(CASE WHEN m.metrics ? 'r2' THEN 'r2' ELSE 'accuracy' END))::float8 AS metric_value,
       coalesce((m.metrics->>'stale')::bool, false) AS metrics_stale,
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


-- Random forests that forget exactly (issue 17) ------------------------------
