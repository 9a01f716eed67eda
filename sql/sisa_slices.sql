-- SISA resumes a touched shard from the checkpoint before the first slice a
-- change touches. Every change here touches slices >= 1 only (DELETE, INSERT
-- with on_insert = learn, UPDATE), for mlp and logistic regression: the
-- checkpoints before the touched slice must stay byte for byte, and the model
-- must equal one trained from scratch on the remaining rows, bit for bit
-- (a resume from the checkpoint that saw a deleted row would not).
CREATE TABLE sl (id int PRIMARY KEY, a float8, b float8, y int);
INSERT INTO sl SELECT i, 2 * sin(i * 0.37) * (1 + (i % 5) / 5.0), 2 * cos(i * 0.37) * (1 + (i % 5) / 5.0), 0
FROM generate_series(1, 360) i;
UPDATE sl SET y = (a * a + b * b < 5 + sin(id * 3.3))::int;
-- rows to insert later, drawn the same way
CREATE TABLE sl_new (LIKE sl INCLUDING ALL);
INSERT INTO sl_new SELECT i, 2 * sin(i * 0.37) * (1 + (i % 5) / 5.0), 2 * cos(i * 0.37) * (1 + (i % 5) / 5.0), 0
FROM generate_series(1001, 1060) i;
UPDATE sl_new SET y = (a * a + b * b < 5 + sin(id * 3.3))::int;

CREATE FUNCTION checkpoint_md5(model text) RETURNS TABLE (shard int, slice int, md5 text) LANGUAGE sql AS $$
    SELECT c.shard, c.slice, md5(c.state) FROM unlearn.checkpoints c JOIN unlearn.models m USING (model_id)
    WHERE m.name = model $$;

-- One scenario, run for each algorithm. Placement hashes the key with the
-- seed, so a probe model over sl_new says which new keys land in slice >= 1.
CREATE FUNCTION slices_case(algorithm text, options jsonb)
RETURNS TABLE (step text, untouched_identical bool, touched_changed int, lowest_slice_touched int) LANGUAGE plpgsql AS $$
DECLARE
    o jsonb := options || '{"on_insert": "learn", "retrain": "inline"}';
BEGIN
    PERFORM unlearn.train('slc_probe', 'sl_new', 'y', ARRAY['a', 'b'], algorithm, 'sisa', 2, 3, o);
    CREATE TEMP TABLE newcomers AS SELECT key::int AS id, l.shard, l.slice FROM unlearn.lineage l WHERE model = 'slc_probe' AND l.slice >= 1;
    PERFORM unlearn.drop_model('slc_probe');
    PERFORM unlearn.train('slc_model', 'sl', 'y', ARRAY['a', 'b'], algorithm, 'sisa', 2, 3, o);

    -- DELETE: shard 0 loses rows of slice 2, shard 1 rows of slice 1 and 2
    CREATE TEMP TABLE cp0 AS SELECT * FROM checkpoint_md5('slc_model');
    CREATE TEMP TABLE gone AS
        (SELECT key::int AS id, l.shard, l.slice FROM unlearn.lineage l WHERE model = 'slc_model' AND l.shard = 0 AND l.slice = 2 ORDER BY key LIMIT 3)
        UNION ALL
        (SELECT key::int, l.shard, l.slice FROM unlearn.lineage l WHERE model = 'slc_model' AND l.shard = 1 AND l.slice >= 1 ORDER BY key LIMIT 4);
    DELETE FROM sl WHERE id IN (SELECT id FROM gone);
    RETURN QUERY SELECT 'delete',
        bool_and(b.md5 IS NOT DISTINCT FROM a.md5) FILTER (WHERE b.slice < (SELECT min(g.slice) FROM gone g WHERE g.shard = b.shard)),
        count(*) FILTER (WHERE b.md5 IS DISTINCT FROM a.md5)::int,
        (SELECT min(slice) FROM gone)
    FROM cp0 b LEFT JOIN checkpoint_md5('slc_model') a USING (shard, slice);

    -- INSERT of rows that land in slices >= 1 only
    CREATE TEMP TABLE cp1 AS SELECT * FROM checkpoint_md5('slc_model');
    INSERT INTO sl SELECT n.* FROM sl_new n JOIN newcomers USING (id);
    RETURN QUERY SELECT 'insert',
        bool_and(b.md5 IS NOT DISTINCT FROM a.md5) FILTER (WHERE b.slice < coalesce((SELECT min(n.slice) FROM newcomers n WHERE n.shard = b.shard), 99)),
        count(*) FILTER (WHERE b.md5 IS DISTINCT FROM a.md5)::int,
        (SELECT min(slice) FROM newcomers)
    FROM cp1 b LEFT JOIN checkpoint_md5('slc_model') a USING (shard, slice);

    -- UPDATE of a slice-2 row's label: forgotten and learned again
    CREATE TEMP TABLE cp2 AS SELECT * FROM checkpoint_md5('slc_model');
    CREATE TEMP TABLE flipped AS
        SELECT key::int AS id, l.shard, l.slice FROM unlearn.lineage l WHERE model = 'slc_model' AND l.slice = 2 ORDER BY key LIMIT 2;
    UPDATE sl SET y = 1 - y WHERE id IN (SELECT id FROM flipped);
    RETURN QUERY SELECT 'update',
        bool_and(b.md5 IS NOT DISTINCT FROM a.md5) FILTER (WHERE b.slice < coalesce((SELECT min(f.slice) FROM flipped f WHERE f.shard = b.shard), 99)),
        count(*) FILTER (WHERE b.md5 IS DISTINCT FROM a.md5)::int,
        (SELECT min(slice) FROM flipped)
    FROM cp2 b LEFT JOIN checkpoint_md5('slc_model') a USING (shard, slice);
    DROP TABLE newcomers, gone, flipped, cp0, cp1, cp2;
END $$;

-- The independent computation: the same model trained from scratch on what
-- the table holds now, compared on every row and checkpoint.
CREATE FUNCTION slices_vs_retrain(algorithm text, options jsonb)
RETURNS TABLE (rows_compared bigint, proba_bit_identical bool, proba_max_abs_diff float8, checkpoints_identical bigint,
               checkpoints bigint) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM unlearn.train('slc_fresh', 'sl', 'y', ARRAY['a', 'b'], algorithm, 'sisa', 2, 3, options || '{"on_insert": "learn", "retrain": "inline"}');
    RETURN QUERY
    WITH p AS (SELECT unlearn.predict_proba('slc_model', ARRAY[a, b]) AS ours, unlearn.predict_proba('slc_fresh', ARRAY[a, b]) AS theirs FROM sl)
    SELECT count(*), bool_and(ours = theirs),
           max((SELECT max(abs(u - t)) FROM unnest(ours, theirs) AS z(u, t))),
           (SELECT count(*) FROM checkpoint_md5('slc_model') m JOIN checkpoint_md5('slc_fresh') f USING (shard, slice, md5)),
           (SELECT count(*) FROM checkpoint_md5('slc_fresh'))
    FROM p;
END $$;

-- mlp: a retrain is bit-identical
SELECT * FROM slices_case('mlp', '{"hidden": 8, "epochs": 40, "learning_rate": 0.03, "batch_size": 16, "seed": 11}');
SELECT count(*) FILTER (WHERE key::int > 1000) AS inserted_learned, min(slice) FILTER (WHERE key::int > 1000) AS lowest_inserted_slice
FROM unlearn.lineage WHERE model = 'slc_model';
SELECT check_name, value, passed FROM unlearn.verify('slc_model') ORDER BY 1;
SELECT * FROM slices_vs_retrain('mlp', '{"hidden": 8, "epochs": 40, "learning_rate": 0.03, "batch_size": 16, "seed": 11}');
SELECT unlearn.drop_model('slc_model'), unlearn.drop_model('slc_fresh');

-- logistic regression, from the same starting table
TRUNCATE sl;
INSERT INTO sl SELECT i, 2 * sin(i * 0.37) * (1 + (i % 5) / 5.0), 2 * cos(i * 0.37) * (1 + (i % 5) / 5.0), 0
FROM generate_series(1, 360) i;
UPDATE sl SET y = (a * a + b * b < 5 + sin(id * 3.3))::int;
SELECT * FROM slices_case('logistic_regression', '{}');
SELECT check_name, value < 1e-12 AS below_1e_12, passed FROM unlearn.verify('slc_model') ORDER BY 1;
SELECT * FROM slices_vs_retrain('logistic_regression', '{}');
SELECT unlearn.drop_model('slc_model'), unlearn.drop_model('slc_fresh');
DROP TABLE sl, sl_new;
DROP FUNCTION slices_case, slices_vs_retrain, checkpoint_md5;
