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
