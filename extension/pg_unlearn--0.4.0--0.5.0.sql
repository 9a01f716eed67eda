-- pg_unlearn 0.4.0 -> 0.5.0: forgetting that cannot fail silently.
-- Privileged code evaluates nothing a table owner defines, a key's identity
-- is its stored value, every way a row changes reaches the model (or the
-- change is refused), interrupts and memory limits, clearer errors.
\echo Use "ALTER EXTENSION pg_unlearn UPDATE TO '0.5.0'" to load this file. \quit

-- Privileged code ------------------------------------------------------------

-- Key identity ---------------------------------------------------------------

-- A key is identified by its stored value in a canonical binary form, not
-- its text (which TimeZone, DateStyle, bytea_output, extra_float_digits and
-- enum renames change). trained_on takes the key as text (parsed with the key
-- column's input function, as the caller) or as a typed value.
COMMENT ON FUNCTION unlearn.trained_on(text, text)
    IS 'does the model hold the row with this primary key (written as text; a composite key as ROW(k1, k2)::text)';
CREATE FUNCTION unlearn.trained_on(model text, key anyelement) RETURNS bool
AS 'MODULE_PATHNAME', 'unlearn_trained_on'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION unlearn.trained_on(text, anyelement)
    IS 'does the model hold the row with this primary key (of the key''s type, or any integer type for an integer key)';

-- Lineage written before 0.5.0 holds text keys (block kind 0, which the
-- library now refuses), and shards, holdout and SISA slices were drawn from
-- those texts: every model is retrained from its table, which rebuilds
-- lineage, shards, holdout, vocabulary (enum categories by OID) and state.
-- A model that can no longer be trained (a key type pg_unlearn cannot
-- identify rows by, an empty table) is dropped; the audit says why.
DO $$
DECLARE
    m record;
BEGIN
    FOR m IN SELECT name FROM unlearn.models ORDER BY model_id LOOP
        PERFORM unlearn.resync_or_drop(m.name);
        IF NOT EXISTS (SELECT 1 FROM unlearn.models WHERE name = m.name) THEN
            RAISE WARNING 'model "%" was dropped: it could not be retrained with keys identified by value', m.name
                USING HINT = 'unlearn.audit holds the reason; train the model again once it is fixed.';
        END IF;
    END LOOP;
END
$$;

-- Paths that change rows without a DELETE -------------------------------------

-- Interrupts, memory and errors ----------------------------------------------

