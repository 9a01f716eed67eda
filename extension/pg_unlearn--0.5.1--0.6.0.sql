-- pg_unlearn 0.5.1 -> 0.6.0. Every object added or changed here is also in
-- pg_unlearn--0.6.0.sql, the complete script for this version; sql/upgrade.sql
-- checks that both give the same definitions.
\echo Use "ALTER EXTENSION pg_unlearn UPDATE TO '0.6.0'" to load this file. \quit

-- A model never stalls its table (issue 15) ----------------------------------

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
    IS 'train a model over a table (linear_regression, ridge, naive_bayes incrementally; logistic_regression, mlp with SISA shards and slices; logistic_regression certified); later DELETEs on the table are forgotten by it; replace => true swaps a model of that name in the same transaction';


-- Random forests that forget exactly (issue 17) ------------------------------
