-- The extension installs as PostgreSQL users expect: \dx, comments, config dump.
SELECT extname, extversion, extnamespace::regnamespace FROM pg_extension WHERE extname = 'pg_unlearn';
SELECT array(SELECT unnest(extconfig)::regclass::text ORDER BY 1) AS dumped
FROM pg_extension WHERE extname = 'pg_unlearn';
-- every function and table of the contract is there and commented
SELECT p.proname, obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented
FROM pg_proc p WHERE p.pronamespace = 'unlearn'::regnamespace
  AND p.proname IN ('train', 'predict', 'predict_proba', 'coefficients', 'verify', 'trained_on', 'drop_model')
ORDER BY 1, 2;
SELECT c.relname, obj_description(c.oid, 'pg_class') IS NOT NULL AS commented
FROM pg_class c WHERE c.relnamespace = 'unlearn'::regnamespace AND c.relkind IN ('r', 'v')
ORDER BY 1;

-- Shared by the other files: an error as SQLSTATE, message and hint.
CREATE FUNCTION public.expect_error(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; hint text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
    RETURN st || ': ' || msg || coalesce(E'\nHINT:  ' || nullif(hint, ''), '');
END $$;

-- Relative difference used to compare with independent computations.
CREATE FUNCTION public.rel_diff(a float8, b float8) RETURNS float8 LANGUAGE sql IMMUTABLE AS
$$ SELECT abs(a - b) / greatest(abs(b), 1e-12) $$;
