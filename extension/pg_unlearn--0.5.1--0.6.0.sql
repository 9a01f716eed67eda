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

-- The data scientist's workflow (issue 16) -----------------------------------

-- Random forests that forget exactly (issue 17) ------------------------------
